/**
 * Small statistics for the fidelity figures: nearest-rank percentiles, means and Pearson
 * correlation. Not for the frame loop (they sort and allocate).
 */

/** Nearest-rank percentile p ∈ [0, 1] of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Arithmetic mean; NaN for none. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Pearson correlation of two equally long series; NaN when either has (almost) no variance
 * (a series that never moves says nothing about how well the other follows it).
 */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 3) return Number.NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  if (saa < 1e-12 * n || sbb < 1e-12 * n) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

/** Minimum over the finite values; NaN when none is finite. */
export function finiteMin(values: readonly number[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const v of values) if (Number.isFinite(v) && v < m) m = v;
  return m === Number.POSITIVE_INFINITY ? Number.NaN : m;
}

/** Maximum over the finite values; NaN when none is finite. */
export function finiteMax(values: readonly number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of values) if (Number.isFinite(v) && v > m) m = v;
  return m === Number.NEGATIVE_INFINITY ? Number.NaN : m;
}

/** Whether every value is a finite number (no NaN, no ±Infinity). */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}
