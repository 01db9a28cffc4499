/**
 * Per-joint velocity, acceleration and jerk limiting of a stream of joint targets, with a state
 * that can be read, set and copied (the safety gate previews a chunk on a copy of itself).
 */

/**
 * Moves a command towards a target each step within per-joint limits: velocity `maxVelocity`,
 * acceleration `maxAcceleration` (Infinity: none) and jerk `maxJerk` (Infinity: none). With an
 * acceleration limit the speed is also capped by the discrete braking curve that stops at the
 * target, so a held target is reached without overshoot (while jerk does not bind; it binds only
 * at steps shorter than 2·a/j, 4 ms for Franka's 10 rad/s² and 5000 rad/s³).
 *
 * State per joint: `q` (rad), `v` (rad/s, the last step's velocity) and `a` (rad/s², the last
 * step's change of velocity over its period). Allocation-free per {@link apply}.
 */
export class JointLimiter {
  readonly dim: number;
  /** Per joint, rad/s; may be rescaled in place (the gate's ramp-in does). */
  readonly maxVelocity: Float64Array;
  readonly maxAcceleration: Float64Array;
  readonly maxJerk: Float64Array;
  readonly q: Float64Array;
  readonly v: Float64Array;
  readonly a: Float64Array;

  /**
   * @param maxVelocity rad/s per joint, each > 0; its length is the dimension.
   * @param maxAcceleration rad/s², one for all joints, each > 0 (Infinity: none).
   * @param maxJerk rad/s³, one for all joints, > 0 (Infinity: none).
   * @throws RangeError naming the bad argument.
   */
  constructor(maxVelocity: ArrayLike<number>, maxAcceleration = Number.POSITIVE_INFINITY, maxJerk = Number.POSITIVE_INFINITY) {
    const n = maxVelocity.length;
    if (n < 1) throw new RangeError('JointLimiter: maxVelocity must have at least one entry');
    if (!(maxAcceleration > 0)) throw new RangeError(`JointLimiter: maxAcceleration must be > 0, got ${maxAcceleration}`);
    if (!(maxJerk > 0)) throw new RangeError(`JointLimiter: maxJerk must be > 0, got ${maxJerk}`);
    this.dim = n;
    this.maxVelocity = Float64Array.from(maxVelocity);
    for (let i = 0; i < n; i++) if (!(this.maxVelocity[i]! > 0)) throw new RangeError(`JointLimiter: maxVelocity[${i}] must be > 0, got ${this.maxVelocity[i]}`);
    this.maxAcceleration = new Float64Array(n).fill(maxAcceleration);
    this.maxJerk = new Float64Array(n).fill(maxJerk);
    this.q = new Float64Array(n);
    this.v = new Float64Array(n);
    this.a = new Float64Array(n);
  }

  /** Sets the state to `q` at rest. */
  reset(q: ArrayLike<number>): void {
    if (q.length !== this.dim) throw new RangeError(`JointLimiter: reset needs ${this.dim} numbers, got ${q.length}`);
    for (let i = 0; i < this.dim; i++) this.q[i] = q[i]!;
    this.v.fill(0);
    this.a.fill(0);
  }

  /** Copies another limiter's state and velocity scale (same dimension). */
  copyFrom(o: JointLimiter): void {
    this.q.set(o.q);
    this.v.set(o.v);
    this.a.set(o.a);
    this.maxVelocity.set(o.maxVelocity);
  }

  /**
   * One step of `dtS` seconds towards `target` (non-finite entries hold that joint); writes the
   * new command into `out` (may alias `target`). `dtS` ≤ 0 or non-finite: no motion.
   * @returns `out`.
   */
  apply<T extends Float64Array | Float32Array>(out: T, target: ArrayLike<number>, dtS: number): T {
    const n = this.dim;
    const { q, v, a } = this;
    if (!(dtS > 0) || !Number.isFinite(dtS)) {
      for (let i = 0; i < n; i++) out[i] = q[i]!;
      return out;
    }
    for (let i = 0; i < n; i++) {
      const t = target[i]!;
      const qi = q[i]!;
      const v0 = v[i]!;
      let vel: number;
      let lands = false;
      if (!Number.isFinite(t)) {
        vel = 0;
      } else {
        const err = t - qi;
        const dist = Math.abs(err);
        let speed = dist / dtS;
        lands = true;
        const vm = this.maxVelocity[i]!;
        if (speed > vm) {
          speed = vm;
          lands = false;
        }
        const am = this.maxAcceleration[i]!;
        if (am !== Number.POSITIVE_INFINITY) {
          const adt = am * dtS;
          // With a jerk limit the deceleration takes up to 2a/j to build up: brake that much earlier.
          const jm = this.maxJerk[i]!;
          const d = jm === Number.POSITIVE_INFINITY ? dist : Math.max(0, dist - Math.abs(v0) * ((2 * am) / jm + dtS));
          // Largest speed from which steps v, v − a·dt, v − 2a·dt, … stop within `d`.
          const m = Math.floor((Math.sqrt(1 + (8 * d) / (adt * dtS)) - 1) / 2);
          const brake = d / ((m + 1) * dtS) + (adt * m) / 2;
          if (brake < speed) {
            speed = brake;
            lands = false;
          }
        }
        vel = err < 0 ? -speed : speed;
      }
      const am = this.maxAcceleration[i]!;
      if (am !== Number.POSITIVE_INFINITY) {
        const jm = this.maxJerk[i]!;
        const a0 = a[i]!;
        // Acceleration within ±a and within ±j·dt of the last step's; and, with a jerk limit, no
        // more than can be wound down to 0 before the velocity limit: v₁ + acc·|acc|/(2j) ≤ vmax.
        let lo = Math.min(am, Math.max(-am, a0 - jm * dtS));
        let hi = Math.max(-am, Math.min(am, a0 + jm * dtS));
        if (jm !== Number.POSITIVE_INFINITY) {
          const vm = this.maxVelocity[i]!;
          const capHi = jm * (-dtS + Math.sqrt(dtS * dtS + (2 * Math.max(0, vm - v0)) / jm));
          const capLo = -jm * (-dtS + Math.sqrt(dtS * dtS + (2 * Math.max(0, vm + v0)) / jm));
          if (capHi < hi) hi = Math.max(capHi, lo);
          if (capLo > lo) lo = Math.min(capLo, hi);
        }
        const acc = (vel - v0) / dtS;
        const clamped = Math.max(lo, Math.min(acc, hi));
        if (clamped !== acc) {
          vel = v0 + clamped * dtS;
          lands = false;
        }
        a[i] = clamped;
      } else {
        a[i] = (vel - v0) / dtS;
      }
      v[i] = vel;
      const next = lands ? t : qi + vel * dtS;
      q[i] = next;
      out[i] = next;
    }
    return out;
  }

  /** Overwrites the state after a step the owner changed (a clamp, a brake): `qNew` reached over `dtS`. */
  commit(qNew: ArrayLike<number>, dtS: number, qPrev: ArrayLike<number>, vPrev: ArrayLike<number>): void {
    for (let i = 0; i < this.dim; i++) {
      const vel = dtS > 0 ? (qNew[i]! - qPrev[i]!) / dtS : 0;
      this.a[i] = dtS > 0 ? (vel - vPrev[i]!) / dtS : 0;
      this.v[i] = vel;
      this.q[i] = qNew[i]!;
    }
  }
}
