/**
 * Per-joint velocity (and optional acceleration) limiting of a stream of joint targets: the
 * output chases the target as fast as the limits allow, never faster.
 */

import type { FilterVector } from './OneEuroFilter.js';

export interface VelocityLimiterOptions {
  /**
   * Maximum acceleration per joint (rad/s² or m/s²), one number for all joints or one per joint;
   * each > 0 (Infinity allowed). Omitted: velocity limiting only. When given, the output also
   * brakes in time to stop at a held target instead of overshooting it.
   */
  readonly maxAcceleration?: number | ArrayLike<number>;
}

function positiveVector(name: string, v: number | ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  if (typeof v === 'number') {
    out.fill(v);
  } else {
    if (v.length !== n) throw new RangeError(`VelocityLimiter: option ${name} must have ${n} entries, got ${v.length}`);
    for (let i = 0; i < n; i++) out[i] = v[i]!;
  }
  for (let i = 0; i < n; i++) {
    const x = out[i]!;
    if (!(x > 0)) throw new RangeError(`VelocityLimiter: option ${name}[${i}] must be > 0, got ${x}`);
  }
  return out;
}

/**
 * Limits how fast each joint of the output may move towards the target.
 *
 * Without an acceleration limit each step moves joint i by at most `maxVelocity[i] × dt`. With
 * one, the joint's velocity also changes by at most `maxAcceleration[i] × dt` per step, and is
 * capped by the speed from which it can still stop at the target (discrete-time braking curve),
 * so a held target is reached without overshoot. State is preallocated; {@link apply} allocates
 * nothing.
 */
export class VelocityLimiter {
  readonly dim: number;
  /** Per joint (rad/s or m/s). */
  readonly maxVelocity: Float64Array;
  /** Per joint (rad/s² or m/s²), or `undefined` for no acceleration limit. */
  readonly maxAcceleration: Float64Array | undefined;
  private readonly q: Float64Array;
  private readonly v: Float64Array;
  private hasState = false;

  /**
   * @param maxVelocity per-joint velocity limit (rad/s or m/s), each > 0 (Infinity allowed); its
   *   length sets the dimension.
   * @throws RangeError naming the bad option.
   */
  constructor(maxVelocity: ArrayLike<number>, options: VelocityLimiterOptions = {}) {
    const n = maxVelocity.length;
    if (n < 1) throw new RangeError('VelocityLimiter: option maxVelocity must have at least one entry');
    this.dim = n;
    this.maxVelocity = positiveVector('maxVelocity', maxVelocity, n);
    this.maxAcceleration =
      options.maxAcceleration === undefined ? undefined : positiveVector('maxAcceleration', options.maxAcceleration, n);
    this.q = new Float64Array(n);
    this.v = new Float64Array(n);
  }

  /** Whether the limiter holds a state (after the first {@link apply} or a {@link reset} with `q`). */
  get initialized(): boolean {
    return this.hasState;
  }

  /**
   * Move the previous output towards `target` (dim numbers) over `dtS` seconds, within the
   * limits, and write the new output into `out`.
   *
   * - No state yet: passes `target` through and takes it as the state (velocity 0).
   * - `dtS` ≤ 0 or NaN: holds (writes the previous output, no motion).
   * - A non-finite target component holds that joint.
   *
   * `targetVelocity` (dim numbers, optional): how fast each target moves. With an acceleration
   * limit the output then brakes to stop where the target would stop if it braked now as hard as
   * the joint may (w·|w|/2a beyond the target, w its velocity), instead of at the target itself:
   * a moving target is followed without the lag of braking at every frame's target (that lag is
   * the braking distance, v²/2a, at the output's speed). A target that stops harder than the joint
   * can is passed by at most the difference of their braking distances; velocity and acceleration
   * limits hold either way. Omitted, 0 or non-finite: braking stops at the target (no overshoot of
   * a held target).
   *
   * Allocation-free; `out` may alias `target`.
   * @returns `out`.
   */
  apply<T extends FilterVector>(out: T, target: ArrayLike<number>, dtS: number, targetVelocity?: ArrayLike<number>): T {
    const n = this.dim;
    const q = this.q;
    const v = this.v;
    if (!this.hasState) {
      for (let i = 0; i < n; i++) {
        const t = target[i]!;
        q[i] = t;
        v[i] = 0;
        out[i] = t;
      }
      this.hasState = true;
      return out;
    }
    if (!(dtS > 0) || dtS === Number.POSITIVE_INFINITY) {
      for (let i = 0; i < n; i++) out[i] = q[i]!;
      return out;
    }
    const vMax = this.maxVelocity;
    const aMax = this.maxAcceleration;
    for (let i = 0; i < n; i++) {
      const t = target[i]!;
      const qi = q[i]!;
      if (!Number.isFinite(t)) {
        v[i] = 0;
        out[i] = qi;
        continue;
      }
      const err = t - qi;
      const dist = Math.abs(err);
      // Start from the speed that lands exactly on the target this step; every cap below clears
      // `lands`, so a step that does land writes the target itself (no rounding residue).
      let speed = dist / dtS;
      let lands = true;
      const vm = vMax[i]!;
      if (speed > vm) {
        speed = vm;
        lands = false;
      }
      let vel = err < 0 ? -speed : speed;
      if (aMax !== undefined) {
        const adt = aMax[i]! * dtS;
        if (adt !== Number.POSITIVE_INFINITY) {
          // Where to be able to stop: at the target, or where a moving target would stop braking
          // at this joint's limit (its velocity w, within the joint's own velocity limit).
          let w = targetVelocity === undefined ? 0 : targetVelocity[i]!;
          w = Number.isNaN(w) ? 0 : Math.min(vm, Math.max(-vm, w));
          const stopAt = Math.abs(err + (w * Math.abs(w)) / (2 * aMax[i]!));
          // Largest speed v from which steps v, v − a·dt, v − 2a·dt, … stop within `stopAt`. With
          // m = ⌊v/(a·dt)⌋ they cover dt·(m+1)·(v − a·dt·m/2); m(m+1)/2·a·dt² ≤ stopAt picks m.
          const m = Math.floor((Math.sqrt(1 + (8 * stopAt) / (adt * dtS)) - 1) / 2);
          const brake = stopAt / ((m + 1) * dtS) + (adt * m) / 2;
          if (brake < speed) {
            speed = brake;
            lands = false;
            vel = err < 0 ? -speed : speed;
          }
        }
        const v0 = v[i]!;
        const clamped = Math.min(Math.max(vel, v0 - adt), v0 + adt);
        if (clamped !== vel) {
          vel = clamped;
          lands = false;
        }
      }
      v[i] = vel;
      const next = lands ? t : qi + vel * dtS;
      q[i] = next;
      out[i] = next;
    }
    return out;
  }

  /**
   * Set the state to `q` (dim numbers) at rest (velocity 0), e.g. the measured joint positions on
   * engage; without `q`, forget the state so the next {@link apply} passes its target through.
   */
  reset(q?: ArrayLike<number>): void {
    this.v.fill(0);
    if (q === undefined) {
      this.hasState = false;
      this.q.fill(0);
      return;
    }
    if (q.length !== this.dim) throw new RangeError(`VelocityLimiter: reset needs ${this.dim} numbers, got ${q.length}`);
    for (let i = 0; i < this.dim; i++) this.q[i] = q[i]!;
    this.hasState = true;
  }
}
