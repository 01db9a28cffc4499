/**
 * Small dense linear algebra on row-major Float64Arrays, for the solvers' normal equations.
 * No allocation.
 */

/**
 * Solves A·x = b for symmetric positive definite n×n A (row-major) by Cholesky, in place:
 * A is overwritten by its factor, b by the solution. Returns false (A, b then undefined) when A
 * is not numerically positive definite.
 */
export function choleskySolveInPlace(a: Float64Array, b: Float64Array, n: number): boolean {
  if (!choleskyFactor(a, n)) return false;
  choleskySolve(a, b, n);
  return true;
}

/** Cholesky factor of SPD n×n `a` in place (lower triangle). Returns false if not positive definite. */
export function choleskyFactor(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! * a[j * n + k]!;
    if (!(d > 1e-300)) return false;
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    const inv = 1 / l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s * inv;
    }
  }
  return true;
}

/** Solves L·Lᵀ·x = b in place for a factor from `choleskyFactor`. */
export function choleskySolve(l: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
  return b;
}

/**
 * Euclidean norm of (x, y, z). `Math.hypot` is a generic builtin that V8 does not inline: about
 * 20× slower than this and it boxes its result (a heap allocation per call), so the per-frame
 * code uses this instead (no overflow guard is needed at robot scales).
 */
export function norm3(x: number, y: number, z: number): number {
  return Math.sqrt(x * x + y * y + z * z);
}

/**
 * Closest points of segments [p[a0], p[a1]] and [p[b0], p[b1]] (xyz at those offsets of `p`):
 * the first segment's into `out[0..2]`, the second's into `out[3..5]`, their distance into
 * `out[6]`. Degenerate (zero-length) segments are their start point. Allocation-free (it returns
 * nothing: a number returned from a call that is not inlined is boxed, and the hand solver calls
 * this per segment pair per iteration).
 */
export function segmentClosestPoints(p: Float64Array, a0: number, a1: number, b0: number, b1: number, out: Float64Array): void {
  const ux = p[a1]! - p[a0]!, uy = p[a1 + 1]! - p[a0 + 1]!, uz = p[a1 + 2]! - p[a0 + 2]!;
  const vx = p[b1]! - p[b0]!, vy = p[b1 + 1]! - p[b0 + 1]!, vz = p[b1 + 2]! - p[b0 + 2]!;
  const wx = p[a0]! - p[b0]!, wy = p[a0 + 1]! - p[b0 + 1]!, wz = p[a0 + 2]! - p[b0 + 2]!;
  const aa = ux * ux + uy * uy + uz * uz, bb = ux * vx + uy * vy + uz * vz, cc = vx * vx + vy * vy + vz * vz;
  const dd = ux * wx + uy * wy + uz * wz, ee = vx * wx + vy * wy + vz * wz;
  const den = aa * cc - bb * bb;
  let s = den > 1e-15 ? Math.max(0, Math.min(1, (bb * ee - cc * dd) / den)) : 0;
  let t = cc > 1e-15 ? (bb * s + ee) / cc : 0;
  if (t < 0) { t = 0; s = aa > 1e-15 ? Math.max(0, Math.min(1, -dd / aa)) : 0; }
  else if (t > 1) { t = 1; s = aa > 1e-15 ? Math.max(0, Math.min(1, (bb - dd) / aa)) : 0; }
  out[0] = p[a0]! + s * ux; out[1] = p[a0 + 1]! + s * uy; out[2] = p[a0 + 2]! + s * uz;
  out[3] = p[b0]! + t * vx; out[4] = p[b0 + 1]! + t * vy; out[5] = p[b0 + 2]! + t * vz;
  out[6] = norm3(out[0] - out[3], out[1] - out[4], out[2] - out[5]);
}
