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
