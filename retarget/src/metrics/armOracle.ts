/**
 * The arm oracle: the joint trajectory that follows a recorded flange path best while knowing the
 * whole recording in advance, within the arm's position, velocity and acceleration limits. No
 * controller can know the operator's future, so this is a reference for the arm figures
 * (`arm_oracle.*` in the bench, docs/retarget.md), never a command: it shows how much of the
 * commanded arm's error the robot's limits force on a recording and how much is the cost of
 * deciding each frame without foresight.
 *
 * It minimises, over every sample's joints at once,
 *   Σ_k ‖p_k − p*_k‖² + w²·‖R_k − R*_k‖²_F          (positions in mm, w in mm/rad)
 * with the limits as squared-hinge penalties whose weight grows in stages, each solved by
 * Levenberg–Marquardt on the whole trajectory (its normal equations are banded: a joint's
 * velocity and acceleration couple it to the two samples before), from a starting trajectory
 * (for instance the commanded one). Velocity and acceleration are `VelocityLimiter`'s:
 * v_k = (q_k − q_{k−1}) / dt_k and a_k = (v_k − v_{k−1}) / dt_k. A step longer than `gapS` (a
 * tracking gap) uncouples the samples on either side. The optimum is local (the problem is not
 * convex): a controller with foresight can do at least this well, perhaps better.
 */
import type { KinematicTree } from '../kinematics/KinematicTree.js';
import { norm3 } from '../math/linalg.js';
import { POSE_STRIDE, poseError } from '../math/pose.js';
import { allFinite } from './statistics.js';

export interface ArmOracleOptions {
  /** Rotation weight, m/rad. Default 0.02, the tracking solves' (1 rad counts as 20 mm). */
  readonly rotationWeight?: number;
  /** Joint acceleration limit, rad/s² (one for all joints). Default 10, the FR3's. */
  readonly maxAcceleration?: number;
  /** A time step longer than this, s, uncouples the samples before and after it. Default 0.1. */
  readonly gapS?: number;
  /** Levenberg–Marquardt iterations per penalty stage. Default 200. */
  readonly iterations?: number;
}

export interface ArmOracleResult {
  /** The trajectory, sample-major (samples × variables). */
  readonly q: Float64Array;
  /** Per sample: flange position error, m. */
  readonly positionErrorM: Float64Array;
  /** Per sample: flange rotation error, rad. */
  readonly rotationErrorRad: Float64Array;
  /** Largest |joint velocity| ÷ its limit over coupled steps. */
  readonly maxVelocityRatio: number;
  /** Largest |joint acceleration| over coupled steps, rad/s². */
  readonly maxAccelerationRadS2: number;
  /** Largest distance of a joint beyond its position limits, rad. */
  readonly maxLimitExcessRad: number;
}

/** Penalty weights of the stages; the last leaves violations well under 10⁻³ of a limit. */
const PENALTY_STAGES = [1e1, 1e3, 1e5, 1e7, 1e9] as const;
/**
 * A limit's hinge adds its curvature to the Gauss–Newton matrix from this share of the limit
 * before it (from this far before a position limit, rad): the model then knows the limit is near,
 * and its steps do not overshoot into it. The gradient stays the cost's own.
 */
const NEAR = 0.2;
const POSITION_MARGIN = 0.05;
/** The acceleration penalty's share of a stage's weight (accelerations are larger numbers). */
const ACCELERATION_PENALTY_SCALE = 0.01;

/**
 * The oracle trajectory of `tree`'s link `link` through `targets` (12 numbers per sample: row-major
 * rotation, then translation in m, in the tree's root frame) at times `tS` (s, increasing), from
 * `initial` (samples × variables). Deterministic.
 */
export function armOracle(
  tree: KinematicTree, link: number, tS: ArrayLike<number>, targets: ArrayLike<number>, initial: ArrayLike<number>, options: ArmOracleOptions = {},
): ArmOracleResult {
  const n = tree.variableCount;
  const count = tS.length;
  if (targets.length !== count * POSE_STRIDE || initial.length !== count * n) throw new RangeError('armOracle: targets and initial must hold one pose and one joint vector per sample');
  if (!allFinite(tS) || !allFinite(targets) || !allFinite(initial)) throw new RangeError('armOracle: times, targets and initial must be finite');
  for (let k = 1; k < count; k++) if (!(tS[k]! > tS[k - 1]!)) throw new RangeError('armOracle: times must increase');
  const gapS = options.gapS ?? 0.1;
  // dt[k]: the step into sample k, or 0 when k starts a stretch (first sample, or after a gap).
  const dt = new Float64Array(count);
  for (let k = 1; k < count; k++) {
    const d = tS[k]! - tS[k - 1]!;
    dt[k] = d <= gapS ? d : 0;
  }
  const goal = Float64Array.from(targets);
  const problem = new OracleProblem(tree, link, dt, goal, (options.rotationWeight ?? 0.02) * 1000, options.maxAcceleration ?? 10);
  const x = Float64Array.from(initial);
  for (const mu of PENALTY_STAGES) problem.solve(x, mu, options.iterations ?? 200);

  // The result's own figures.
  const positionErrorM = new Float64Array(count), rotationErrorRad = new Float64Array(count);
  const e = new Float64Array(6);
  let maxVelocityRatio = 0, maxAccelerationRadS2 = 0, maxLimitExcessRad = 0;
  for (let k = 0; k < count; k++) {
    poseError(e, 0, goal, k * POSE_STRIDE, tree.fk(x.subarray(k * n, k * n + n)), link * POSE_STRIDE);
    positionErrorM[k] = norm3(e[0]!, e[1]!, e[2]!);
    rotationErrorRad[k] = norm3(e[3]!, e[4]!, e[5]!);
    for (let i = 0; i < n; i++) {
      const j = k * n + i;
      maxLimitExcessRad = Math.max(maxLimitExcessRad, x[j]! - tree.upper[i]!, tree.lower[i]! - x[j]!);
      if (dt[k] === 0) continue;
      const v = (x[j]! - x[j - n]!) / dt[k]!;
      maxVelocityRatio = Math.max(maxVelocityRatio, Math.abs(v) / tree.maxVelocity[i]!);
      if (dt[k - 1] !== 0 && k > 1) maxAccelerationRadS2 = Math.max(maxAccelerationRadS2, Math.abs(v - (x[j - n]! - x[j - 2 * n]!) / dt[k - 1]!) / dt[k]!);
    }
  }
  return { q: x, positionErrorM, rotationErrorRad, maxVelocityRatio, maxAccelerationRadS2, maxLimitExcessRad };
}

/**
 * The oracle's least-squares problem at one penalty weight. Residuals: per sample the flange
 * position (mm) and w·(R − R*) (9 numbers); per joint and step the squared hinges of the limits.
 * Its Gauss–Newton matrix is a band of half-width 2n in sample-major order.
 */
class OracleProblem {
  private readonly n: number;
  private readonly count: number;
  private readonly band: number; // half-bandwidth
  private readonly h: Float64Array; // lower band of JᵀJ: h[r·(band+1) + (r − c)]
  private readonly a: Float64Array; // damped copy, factorised in place
  private readonly g: Float64Array; // Jᵀr
  private readonly step: Float64Array;
  private readonly trial: Float64Array;
  private readonly jac: Float64Array;
  private readonly res = new Float64Array(12);
  private readonly rj: Float64Array; // 12 × n residual Jacobian of one sample

  constructor(
    private readonly tree: KinematicTree, private readonly link: number, private readonly dt: Float64Array, private readonly targets: Float64Array,
    private readonly wRot: number, private readonly aMax: number,
  ) {
    this.n = tree.variableCount;
    this.count = dt.length;
    this.band = 2 * this.n;
    const dim = this.n * this.count;
    this.h = new Float64Array(dim * (this.band + 1));
    this.a = new Float64Array(dim * (this.band + 1));
    this.g = new Float64Array(dim);
    this.step = new Float64Array(dim);
    this.trial = new Float64Array(dim);
    this.jac = new Float64Array(6 * this.n);
    this.rj = new Float64Array(12 * this.n);
  }

  /** Levenberg–Marquardt from `x` (in place) at penalty weight `mu`. */
  solve(x: Float64Array, mu: number, iterations: number): void {
    let f = this.assemble(x, mu, true);
    let lambda = 1e-3;
    for (let it = 0; it < iterations; it++) {
      let fNew = Number.POSITIVE_INFINITY;
      while (lambda < 1e12) {
        if (this.dampedStep(lambda)) {
          for (let j = 0; j < x.length; j++) this.trial[j] = x[j]! + this.step[j]!;
          fNew = this.assemble(this.trial, mu, false);
          if (fNew < f) break;
        }
        lambda *= 4;
      }
      if (!(fNew < f)) return;
      x.set(this.trial);
      const reduction = f - fNew;
      f = this.assemble(x, mu, true);
      lambda = Math.max(lambda / 3, 1e-12);
      if (reduction <= 1e-12 * f) return;
    }
  }

  /** The cost at `x`; with `normal`, also the Gauss–Newton matrix and gradient at it. */
  private assemble(x: Float64Array, mu: number, normal: boolean): number {
    const { n, count, tree, targets, dt, res, rj, jac } = this;
    const o = this.link * POSE_STRIDE;
    const w = this.wRot;
    if (normal) { this.h.fill(0); this.g.fill(0); }
    let f = 0;
    for (let k = 0; k < count; k++) {
      const poses = tree.fk(x.subarray(k * n, k * n + n));
      const t = k * POSE_STRIDE;
      for (let r = 0; r < 3; r++) res[r] = 1000 * (poses[o + 9 + r]! - targets[t + 9 + r]!);
      for (let e = 0; e < 9; e++) res[3 + e] = w * (poses[o + e]! - targets[t + e]!);
      for (let r = 0; r < 12; r++) f += res[r]! * res[r]!;
      if (!normal) continue;
      tree.jacobian(this.link, jac);
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < 3; r++) rj[r * n + i] = 1000 * jac[r * n + i]!;
        // d R[:, c] / dq_i = ω_i × R[:, c]; the residual's entry e = 3·row + c.
        const wx = jac[3 * n + i]!, wy = jac[4 * n + i]!, wz = jac[5 * n + i]!;
        for (let c = 0; c < 3; c++) {
          const rx = poses[o + c]!, ry = poses[o + 3 + c]!, rz = poses[o + 6 + c]!;
          rj[(3 + c) * n + i] = w * (wy * rz - wz * ry);
          rj[(6 + c) * n + i] = w * (wz * rx - wx * rz);
          rj[(9 + c) * n + i] = w * (wx * ry - wy * rx);
        }
      }
      const base = k * n;
      for (let i = 0; i < n; i++) {
        let gi = 0;
        for (let r = 0; r < 12; r++) gi += rj[r * n + i]! * res[r]!;
        this.g[base + i]! += gi;
        for (let j = 0; j <= i; j++) {
          let hij = 0;
          for (let r = 0; r < 12; r++) hij += rj[r * n + i]! * rj[r * n + j]!;
          this.h[(base + i) * (this.band + 1) + (i - j)]! += hij;
        }
      }
    }
    // The limits, joint by joint: squared hinges of position, velocity and acceleration.
    const { lower, upper, maxVelocity } = tree;
    const muA = mu * ACCELERATION_PENALTY_SCALE;
    for (let k = 0; k < count; k++) {
      for (let i = 0; i < n; i++) {
        const j = k * n + i, q = x[j]!;
        const over = q > upper[i]! ? q - upper[i]! : q < lower[i]! ? q - lower[i]! : 0;
        if (over !== 0) f += mu * over * over;
        if (normal && (over !== 0 || q > upper[i]! - POSITION_MARGIN || q < lower[i]! + POSITION_MARGIN)) this.hinge(j, mu * over, mu, 1, 1, 0, 0);
        const d1 = dt[k]!;
        if (d1 === 0) continue;
        const v = (q - x[j - n]!) / d1;
        const ex = Math.abs(v) - maxVelocity[i]!;
        const hv = ex > 0 ? Math.sign(v) * ex : 0;
        f += mu * hv * hv;
        if (normal && ex > -NEAR * maxVelocity[i]!) this.hinge(j, mu * hv, mu, 2, 1 / d1, -1 / d1, 0);
        const d0 = k > 1 ? dt[k - 1]! : 0;
        if (d0 === 0) continue;
        const acc = (v - (x[j - n]! - x[j - 2 * n]!) / d0) / d1;
        const ea = Math.abs(acc) - this.aMax;
        const ha = ea > 0 ? Math.sign(acc) * ea : 0;
        f += muA * ha * ha;
        if (normal && ea > -NEAR * this.aMax) this.hinge(j, muA * ha, muA, 3, 1 / (d1 * d1), -(1 / d1 + 1 / d0) / d1, 1 / (d0 * d1));
      }
    }
    return f;
  }

  /**
   * Adds a hinge residual's terms: gradient `gw`·c and matrix `hw`·c·cᵀ, where c has its first
   * `terms` coefficients c0, c1, c2 on variables j, j − n, j − 2n (the same joint at the sample
   * and the two before).
   */
  private hinge(j: number, gw: number, hw: number, terms: number, c0: number, c1: number, c2: number): void {
    const n = this.n, stride = this.band + 1;
    for (let a = 0; a < terms; a++) {
      const ca = a === 0 ? c0 : a === 1 ? c1 : c2;
      this.g[j - a * n]! += gw * ca;
      for (let b = a; b < terms; b++) {
        const cb = b === 0 ? c0 : b === 1 ? c1 : c2;
        this.h[(j - a * n) * stride + (b - a) * n]! += hw * ca * cb;
      }
    }
  }

  /** step = −(H + λ·diag(H))⁻¹ g by banded Cholesky; false when the factorisation fails. */
  private dampedStep(lambda: number): boolean {
    const { a, h, g, step } = this;
    const bw = this.band, stride = bw + 1, dim = g.length;
    a.set(h);
    for (let r = 0; r < dim; r++) a[r * stride]! += lambda * h[r * stride]! + 1e-12;
    for (let r = 0; r < dim; r++) {
      const r0 = Math.max(0, r - bw);
      for (let c = r0; c <= r; c++) {
        let s = a[r * stride + (r - c)]!;
        const k0 = Math.max(r0, c - bw);
        for (let k = k0; k < c; k++) s -= a[r * stride + (r - k)]! * a[c * stride + (c - k)]!;
        if (c === r) {
          if (!(s > 0)) return false;
          a[r * stride] = Math.sqrt(s);
        } else a[r * stride + (r - c)] = s / a[c * stride]!;
      }
    }
    for (let r = 0; r < dim; r++) {
      let s = -g[r]!;
      for (let k = Math.max(0, r - bw); k < r; k++) s -= a[r * stride + (r - k)]! * step[k]!;
      step[r] = s / a[r * stride]!;
    }
    for (let r = dim - 1; r >= 0; r--) {
      let s = step[r]!;
      for (let k = r + 1; k <= Math.min(dim - 1, r + bw); k++) s -= a[k * stride + (k - r)]! * step[k]!;
      step[r] = s / a[r * stride]!;
    }
    return true;
  }
}
