/** Deterministic randomness for tests, so every failure reproduces. */

/** Uniform numbers in [0, 1) from a seed (mulberry32). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Joint positions drawn uniformly within [lower, upper], shrunk about mid-range by `span` (0..1]. */
export function randomJoints(limits: { readonly lower: Float64Array; readonly upper: Float64Array }, next: () => number, span = 1): Float64Array {
  return Float64Array.from(limits.lower, (lo, i) => {
    const hi = limits.upper[i]!;
    const mid = (lo + hi) / 2;
    return mid + (hi - lo) * span * (next() - 0.5);
  });
}
