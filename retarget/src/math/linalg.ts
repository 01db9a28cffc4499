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
 * J·Jᵀ of a 6×n row-major `j` into the 6×6 `out` (both triangles). The 21 sums run in registers,
 * one pass over the columns: about a third of the time of a loop per entry for n = 7. Each entry
 * adds its n products in column order from 0, as that loop does.
 */
export function gram6(j: Float64Array, n: number, out: Float64Array): Float64Array {
  let s00 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s22 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0, s40 = 0, s41 = 0, s42 = 0, s43 = 0, s44 = 0;
  let s50 = 0, s51 = 0, s52 = 0, s53 = 0, s54 = 0, s55 = 0;
  for (let c = 0; c < n; c++) {
    const j0 = j[c]!, j1 = j[n + c]!, j2 = j[2 * n + c]!, j3 = j[3 * n + c]!, j4 = j[4 * n + c]!, j5 = j[5 * n + c]!;
    s00 += j0 * j0; s10 += j1 * j0; s11 += j1 * j1; s20 += j2 * j0; s21 += j2 * j1; s22 += j2 * j2;
    s30 += j3 * j0; s31 += j3 * j1; s32 += j3 * j2; s33 += j3 * j3;
    s40 += j4 * j0; s41 += j4 * j1; s42 += j4 * j2; s43 += j4 * j3; s44 += j4 * j4;
    s50 += j5 * j0; s51 += j5 * j1; s52 += j5 * j2; s53 += j5 * j3; s54 += j5 * j4; s55 += j5 * j5;
  }
  out[0] = s00; out[1] = s10; out[2] = s20; out[3] = s30; out[4] = s40; out[5] = s50;
  out[6] = s10; out[7] = s11; out[8] = s21; out[9] = s31; out[10] = s41; out[11] = s51;
  out[12] = s20; out[13] = s21; out[14] = s22; out[15] = s32; out[16] = s42; out[17] = s52;
  out[18] = s30; out[19] = s31; out[20] = s32; out[21] = s33; out[22] = s43; out[23] = s53;
  out[24] = s40; out[25] = s41; out[26] = s42; out[27] = s43; out[28] = s44; out[29] = s54;
  out[30] = s50; out[31] = s51; out[32] = s52; out[33] = s53; out[34] = s54; out[35] = s55;
  return out;
}

/** J·x of a 6×n row-major `j` and an n-vector `x` into the 6-vector `out` (sums in column order, as {@link gram6}). */
export function mul6(j: Float64Array, n: number, x: Float64Array, out: Float64Array): Float64Array {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0;
  for (let c = 0; c < n; c++) {
    const v = x[c]!;
    s0 += j[c]! * v; s1 += j[n + c]! * v; s2 += j[2 * n + c]! * v; s3 += j[3 * n + c]! * v; s4 += j[4 * n + c]! * v; s5 += j[5 * n + c]! * v;
  }
  out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3; out[4] = s4; out[5] = s5;
  return out;
}

/** Jᵀ·y of a 6×n row-major `j` and a 6-vector `y` into the n-vector `out` (each sum over the rows in order, from 0). */
export function mul6T(j: Float64Array, n: number, y: Float64Array, out: Float64Array): Float64Array {
  const y0 = y[0]!, y1 = y[1]!, y2 = y[2]!, y3 = y[3]!, y4 = y[4]!, y5 = y[5]!;
  for (let c = 0; c < n; c++) {
    out[c] = 0 + j[c]! * y0 + j[n + c]! * y1 + j[2 * n + c]! * y2 + j[3 * n + c]! * y3 + j[4 * n + c]! * y4 + j[5 * n + c]! * y5;
  }
  return out;
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
