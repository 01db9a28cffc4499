/**
 * The hand oracle: per joint, the path closest (least squares) to a sequence of solutions that
 * keeps the joint's velocity limit, knowing the whole sequence in advance. The hand's command can
 * only chase its solution; this path starts moving before the solution does, so that it is never
 * far behind. No controller knows the operator's future, so this is a reference for the hand
 * figures (`hand_oracle.*` in the bench, docs/retarget.md), never a command.
 *
 * Each joint is its own problem, min Σ_k (x_k − s_k)² subject to |x_k − x_{k−1}| ≤ v·(t_k − t_{k−1}),
 * convex: the constraints as squared-hinge penalties of growing weight, each solved by Newton's
 * method on the piecewise quadratic (a tridiagonal system per step) with a backtracking line search.
 */
import { allFinite } from './statistics.js';

export interface VelocityLimitedPath {
  /** The path, sample-major (samples × joints). */
  readonly q: Float64Array;
  /** Largest |step| ÷ (velocity limit × its time) over the path. */
  readonly maxVelocityRatio: number;
}

/** Penalty weights of the stages: the last leaves steps within about 10⁻⁷ rad of their bound. */
const PENALTY_STAGES = [1e2, 1e4, 1e6, 1e8, 1e10] as const;
const NEWTON_ITERATIONS = 100;

/**
 * The velocity-limited path closest to `solutions` (samples × joints, sample-major) at times `tS`
 * (s, increasing), each joint within `maxVelocity` (per joint). Deterministic.
 */
export function velocityLimitedPath(tS: ArrayLike<number>, solutions: ArrayLike<number>, maxVelocity: ArrayLike<number>): VelocityLimitedPath {
  const count = tS.length, n = maxVelocity.length;
  if (solutions.length !== count * n) throw new RangeError('velocityLimitedPath: solutions must hold one joint vector per sample');
  for (let k = 1; k < count; k++) if (!(tS[k]! > tS[k - 1]!)) throw new RangeError('velocityLimitedPath: times must increase');
  if (!allFinite(solutions)) throw new RangeError('velocityLimitedPath: solutions must be finite');
  for (let i = 0; i < n; i++) if (!(maxVelocity[i]! > 0)) throw new RangeError('velocityLimitedPath: velocity limits must be positive');
  const q = new Float64Array(count * n);
  const s = new Float64Array(count), x = new Float64Array(count), bound = new Float64Array(count);
  const work = new JointProblem(count);
  let maxVelocityRatio = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < count; k++) {
      s[k] = solutions[k * n + i]!;
      bound[k] = k === 0 ? 0 : maxVelocity[i]! * (tS[k]! - tS[k - 1]!);
    }
    x.set(s);
    for (const mu of PENALTY_STAGES) work.solve(s, bound, x, mu);
    for (let k = 0; k < count; k++) {
      q[k * n + i] = x[k]!;
      if (k > 0) maxVelocityRatio = Math.max(maxVelocityRatio, Math.abs(x[k]! - x[k - 1]!) / bound[k]!);
    }
  }
  return { q, maxVelocityRatio };
}

/** One joint's problem at one penalty weight; scratch sized for `count` samples. */
class JointProblem {
  private readonly diag: Float64Array;
  private readonly off: Float64Array; // off[k]: between k − 1 and k
  private readonly rhs: Float64Array;
  private readonly next: Float64Array;
  private readonly y: Float64Array;

  constructor(count: number) {
    this.y = new Float64Array(count);
    this.diag = new Float64Array(count);
    this.off = new Float64Array(count);
    this.rhs = new Float64Array(count);
    this.next = new Float64Array(count);
  }

  /** Newton from `x` (in place) on ½‖x − s‖² + ½μ Σ_k max(0, |x_k − x_{k−1}| − bound_k)². */
  solve(s: Float64Array, bound: Float64Array, x: Float64Array, mu: number): void {
    const { diag, off, rhs, next } = this;
    const count = x.length;
    let f = cost(s, bound, x, mu);
    for (let it = 0; it < NEWTON_ITERATIONS; it++) {
      // The quadratic of the current active set and signs: its minimiser is the Newton point.
      for (let k = 0; k < count; k++) { diag[k] = 1; off[k] = 0; rhs[k] = s[k]!; }
      for (let k = 1; k < count; k++) {
        const d = x[k]! - x[k - 1]!;
        if (Math.abs(d) <= bound[k]!) continue;
        const target = Math.sign(d) * bound[k]!; // μ·(x_k − x_{k−1} − target)² on this piece
        diag[k]! += mu;
        diag[k - 1]! += mu;
        off[k] = -mu;
        rhs[k]! += mu * target;
        rhs[k - 1]! -= mu * target;
      }
      solveTridiagonal(diag, off, rhs, this.y, next);
      // Backtrack toward x until the true cost falls (the pieces may change along the way).
      let step = 1, fNew = Number.POSITIVE_INFINITY;
      for (let tries = 0; tries < 30; tries++) {
        for (let k = 0; k < count; k++) rhs[k] = x[k]! + step * (next[k]! - x[k]!);
        fNew = cost(s, bound, rhs, mu);
        if (fNew < f) break;
        step *= 0.5;
      }
      if (!(fNew < f)) return;
      x.set(rhs);
      const reduction = f - fNew;
      f = fNew;
      if (reduction <= 1e-15 * Math.max(1, f)) return;
    }
  }
}

function cost(s: Float64Array, bound: Float64Array, x: ArrayLike<number>, mu: number): number {
  let f = 0;
  for (let k = 0; k < x.length; k++) {
    const e = x[k]! - s[k]!;
    f += 0.5 * e * e;
    if (k > 0) {
      const h = Math.abs(x[k]! - x[k - 1]!) - bound[k]!;
      if (h > 0) f += 0.5 * mu * h * h;
    }
  }
  return f;
}

/**
 * Solves the symmetric tridiagonal system (diagonal `diag`, `off[k]` between k − 1 and k) into
 * `out` by LDLᵀ: the pivots go into `out` first and are overwritten by the solution from the back;
 * `y` is scratch.
 */
function solveTridiagonal(diag: Float64Array, off: Float64Array, rhs: Float64Array, y: Float64Array, out: Float64Array): void {
  const count = diag.length;
  const d = out;
  d[0] = diag[0]!;
  y[0] = rhs[0]!;
  for (let k = 1; k < count; k++) {
    const l = off[k]! / d[k - 1]!;
    d[k] = diag[k]! - l * off[k]!;
    y[k] = rhs[k]! - l * y[k - 1]!;
  }
  out[count - 1] = y[count - 1]! / d[count - 1]!;
  for (let k = count - 2; k >= 0; k--) out[k] = (y[k]! - off[k + 1]! * out[k + 1]!) / d[k]!;
}
