/**
 * One Euro filter for a unit quaternion (orientation), filtered in the tangent space of the
 * previous filtered orientation: the innovation δ = log(q̂⁻¹ ⊗ q) is a rotation vector (rad), its
 * rate δ/Δt (rad/s) drives the cutoff, and the update is q̂ ← q̂ ⊗ exp(α·δ), i.e. a slerp from q̂
 * towards q by α along the shortest arc. Because q̂ only ever moves by small increments, the output
 * never flips between q and −q (no double-cover jumps), whatever sign the input arrives with.
 */

import { quatOfRotationVector, rotationVectorOfQuat } from '../math/rotation.js';
import {
  type FilterVector,
  type OneEuroOptions,
  oneEuroAlpha,
  resolveOneEuroOptions,
} from './OneEuroFilter.js';

/**
 * Defaults for a tracked wrist orientation (speed in rad/s).
 *
 * - `minCutoffHz` 1.0: Quest wrist orientation jitters by about half a degree at rest; 1 Hz hides
 *   it on a still hand (same reasoning as for positions).
 * - `beta` 3 (Hz per rad/s): a slow wrist turn (0.5 rad/s) gets 2.5 Hz, a brisk one (3 rad/s)
 *   10 Hz, i.e. ~16 ms of lag where lag would be felt.
 * - `dCutoffHz` 1.0: the paper's recommended value.
 */
export const ONE_EURO_ROTATION_DEFAULTS: Readonly<Required<OneEuroOptions>> = Object.freeze({
  minCutoffHz: 1.0,
  beta: 3,
  dCutoffHz: 1.0,
});

/** Below this angle (rad), sin(θ/2)/θ and θ/sin(θ/2) use their Taylor series. */
/** A quaternion shorter than this is treated as missing. */
const MIN_NORM = 1e-9;

/**
 * One Euro filter for one orientation stored as a unit quaternion (x, y, z, w). The speed used for
 * the cutoff is the magnitude of the low-passed angular velocity (rad/s), expressed in the
 * filtered orientation's frame. Allocation-free.
 */
export class QuaternionOneEuroFilter {
  readonly minCutoffHz: number;
  readonly beta: number;
  readonly dCutoffHz: number;
  private hx = 0;
  private hy = 0;
  private hz = 0;
  private hw = 1;
  private wx = 0;
  private wy = 0;
  private wz = 0;
  private lastTMs = 0;
  private initialized = false;

  /**
   * @param options defaults {@link ONE_EURO_ROTATION_DEFAULTS}; `beta` in Hz per rad/s.
   * @throws RangeError naming the bad option.
   */
  constructor(options?: OneEuroOptions) {
    const o = resolveOneEuroOptions('QuaternionOneEuroFilter', ONE_EURO_ROTATION_DEFAULTS, options);
    this.minCutoffHz = o.minCutoffHz;
    this.beta = o.beta;
    this.dCutoffHz = o.dCutoffHz;
  }

  /** Scratch for the log (rotation vector) and exp (quaternion) of each update. */
  private readonly delta = new Float64Array(3);
  private readonly step = new Float64Array(4);

  /**
   * Filter the quaternion `q[qOffset..qOffset+3]` = (x, y, z, w), sampled at `tMs` (ms), writing
   * the filtered unit quaternion to `out[outOffset..outOffset+3]`. The input need not be exactly
   * unit length (it is normalised); its sign does not matter.
   *
   * - First call (or after {@link reset}): passes the normalised input through.
   * - dt ≤ 0 (repeated or out-of-order `tMs`), non-finite `tMs`, or an input that is not finite or
   *   has norm ≈ 0: writes the previous output, state unchanged (before any valid sample: the
   *   identity).
   *
   * Allocation-free; `out` may alias `q`.
   * @returns `out`.
   */
  filter<T extends FilterVector>(out: T, q: ArrayLike<number>, tMs: number, outOffset = 0, qOffset = 0): T {
    let x = q[qOffset]!;
    let y = q[qOffset + 1]!;
    let z = q[qOffset + 2]!;
    let w = q[qOffset + 3]!;
    const n = Math.sqrt(x * x + y * y + z * z + w * w);
    const dtS = (tMs - this.lastTMs) / 1000;
    const valid = n > MIN_NORM && Number.isFinite(n) && Number.isFinite(tMs);
    if (valid && !this.initialized) {
      this.hx = x / n;
      this.hy = y / n;
      this.hz = z / n;
      this.hw = w / n;
      this.wx = 0;
      this.wy = 0;
      this.wz = 0;
      this.lastTMs = tMs;
      this.initialized = true;
    } else if (valid && dtS > 0) {
      x /= n;
      y /= n;
      z /= n;
      w /= n;
      this.lastTMs = tMs;
      const { hx, hy, hz, hw } = this;
      // d = conj(q̂) ⊗ q, the innovation in q̂'s frame.
      const dx = hw * x - hx * w - hy * z + hz * y;
      const dy = hw * y + hx * z - hy * w - hz * x;
      const dz = hw * z - hx * y + hy * x - hz * w;
      const dw = hw * w + hx * x + hy * y + hz * z;
      // log: rotation vector δ (rad) of d (the shorter of d and −d).
      rotationVectorOfQuat(this.delta, 0, dx, dy, dz, dw);
      const ex = this.delta[0]!;
      const ey = this.delta[1]!;
      const ez = this.delta[2]!;
      const aD = oneEuroAlpha(this.dCutoffHz, dtS);
      this.wx += aD * (ex / dtS - this.wx);
      this.wy += aD * (ey / dtS - this.wy);
      this.wz += aD * (ez / dtS - this.wz);
      const speed = Math.sqrt(this.wx * this.wx + this.wy * this.wy + this.wz * this.wz);
      const a = oneEuroAlpha(this.minCutoffHz + this.beta * speed, dtS);
      // exp(α·δ)
      quatOfRotationVector(this.step, 0, a * ex, a * ey, a * ez);
      const sx = this.step[0]!;
      const sy = this.step[1]!;
      const sz = this.step[2]!;
      const sw = this.step[3]!;
      // q̂ ← q̂ ⊗ exp(α·δ), renormalised against drift.
      let rx = hw * sx + hx * sw + hy * sz - hz * sy;
      let ry = hw * sy - hx * sz + hy * sw + hz * sx;
      let rz = hw * sz + hx * sy - hy * sx + hz * sw;
      let rw = hw * sw - hx * sx - hy * sy - hz * sz;
      const m = Math.sqrt(rx * rx + ry * ry + rz * rz + rw * rw);
      rx /= m;
      ry /= m;
      rz /= m;
      rw /= m;
      this.hx = rx;
      this.hy = ry;
      this.hz = rz;
      this.hw = rw;
    }
    out[outOffset] = this.hx;
    out[outOffset + 1] = this.hy;
    out[outOffset + 2] = this.hz;
    out[outOffset + 3] = this.hw;
    return out;
  }

  /** Forget all state: the next {@link QuaternionOneEuroFilter.filter} passes its input through. */
  reset(): void {
    this.hx = 0;
    this.hy = 0;
    this.hz = 0;
    this.hw = 1;
    this.wx = 0;
    this.wy = 0;
    this.wz = 0;
    this.lastTMs = 0;
    this.initialized = false;
  }
}
