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
  /**
   * Position limits per joint (same length as `maxVelocity`; ±Infinity allowed, lower ≤ upper).
   * Omitted: none. The output never leaves them, and with an acceleration limit it brakes in
   * time to stop at a limit within that acceleration (a target on a limit, or one it would
   * overshoot, never makes the joint hit the limit and stop at once).
   */
  readonly lower?: ArrayLike<number>;
  readonly upper?: ArrayLike<number>;
}

/**
 * Share of the acceleration limit the braking toward a position limit plans with: the rest is a
 * reserve for frame times that vary from step to step (the plan assumes the next steps last as
 * long as this one).
 */
const LIMIT_BRAKING_SHARE = 0.8;

/**
 * The largest speed from which steps of v, v − a·dt, v − 2a·dt, … (each `dtS` long; `adt` = a·dt)
 * stop within distance `d`: with m = ⌊v/(a·dt)⌋ they cover dt·(m+1)·(v − a·dt·m/2), and
 * m(m+1)/2·a·dt² ≤ d picks m. Without an acceleration limit, d/dt.
 */
function stoppingSpeed(d: number, adt: number, dtS: number): number {
  if (adt === Number.POSITIVE_INFINITY) return d / dtS;
  const m = Math.floor((Math.sqrt(1 + (8 * d) / (adt * dtS)) - 1) / 2);
  return d / ((m + 1) * dtS) + (adt * m) / 2;
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
 * so a held target is reached without overshoot. With position limits the output stays inside
 * them, and toward a limit it is capped by the speed from which it can still stop there. State is
 * preallocated; {@link apply} allocates nothing.
 */
export class VelocityLimiter {
  readonly dim: number;
  /** Per joint (rad/s or m/s). */
  readonly maxVelocity: Float64Array;
  /** Per joint (rad/s² or m/s²), or `undefined` for no acceleration limit. */
  readonly maxAcceleration: Float64Array | undefined;
  /** Position limits per joint, or `undefined` for none. */
  readonly lower: Float64Array | undefined;
  readonly upper: Float64Array | undefined;
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
    if ((options.lower === undefined) !== (options.upper === undefined)) throw new RangeError('VelocityLimiter: options lower and upper go together');
    if (options.lower !== undefined && options.upper !== undefined) {
      if (options.lower.length !== n || options.upper.length !== n) throw new RangeError(`VelocityLimiter: options lower and upper must have ${n} entries`);
      this.lower = Float64Array.from(options.lower);
      this.upper = Float64Array.from(options.upper);
      for (let i = 0; i < n; i++) {
        if (!(this.lower[i]! <= this.upper[i]!)) throw new RangeError(`VelocityLimiter: lower[${i}] must be ≤ upper[${i}], got ${this.lower[i]} and ${this.upper[i]}`);
      }
    } else {
      this.lower = undefined;
      this.upper = undefined;
    }
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
    const lower = this.lower, upper = this.upper;
    if (!this.hasState) {
      for (let i = 0; i < n; i++) {
        const t = lower === undefined || upper === undefined ? target[i]! : Math.min(upper[i]!, Math.max(lower[i]!, target[i]!));
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
      // The velocity change one step allows (Infinity without an acceleration limit).
      const adt = aMax === undefined ? Number.POSITIVE_INFINITY : aMax[i]! * dtS;
      const v0 = v[i]!;
      if (aMax !== undefined) {
        if (adt !== Number.POSITIVE_INFINITY) {
          // Where to be able to stop: at the target, or where a moving target would stop braking
          // at this joint's limit (its velocity w, within the joint's own velocity limit).
          let w = targetVelocity === undefined ? 0 : targetVelocity[i]!;
          w = Number.isNaN(w) ? 0 : Math.min(vm, Math.max(-vm, w));
          const brake = stoppingSpeed(Math.abs(err + (w * Math.abs(w)) / (2 * aMax[i]!)), adt, dtS);
          if (brake < speed) {
            speed = brake;
            lands = false;
            vel = err < 0 ? -speed : speed;
          }
        }
        const clamped = Math.min(Math.max(vel, v0 - adt), v0 + adt);
        if (clamped !== vel) {
          vel = clamped;
          lands = false;
        }
      }
      let next: number;
      if (lower === undefined || upper === undefined) {
        next = lands ? t : qi + vel * dtS;
      } else {
        // Toward a position limit, no faster than the joint can still stop there (braking as
        // hard as it may when it already cannot); never past it.
        const up = stoppingSpeed(Math.max(0, upper[i]! - qi), LIMIT_BRAKING_SHARE * adt, dtS);
        const down = stoppingSpeed(Math.max(0, qi - lower[i]!), LIMIT_BRAKING_SHARE * adt, dtS);
        if (vel > up) { vel = Math.max(up, v0 - adt); lands = false; }
        else if (vel < -down) { vel = Math.min(-down, v0 + adt); lands = false; }
        const free = lands ? t : qi + vel * dtS;
        next = Math.min(upper[i]!, Math.max(lower[i]!, free));
        if (next !== free) vel = (next - qi) / dtS; // a clamp only shortens the step: the joint's real velocity
      }
      v[i] = vel;
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
