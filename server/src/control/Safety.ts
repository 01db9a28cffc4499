/**
 * The safety gate: every desired joint vector (teleop retargeting, policy chunks, replay) passes
 * through it before it reaches the robot. Rules, order and defaults: docs/safety.md.
 */
import { ACTIVE_DIM, ARM_DOF, pose, type Rig, SIDES, type Side } from '@dexbridge/retarget';
import { ACTIVE_LAYOUT, activeHome, activeLimits } from './activeJoints.js';
import { JointLimiter } from './JointLimiter.js';

/** Axis-aligned box in the rig's `base_link`, m. */
export interface WorkspaceBox {
  readonly minM: readonly [number, number, number];
  readonly maxM: readonly [number, number, number];
}

/**
 * Default box for each flange (m, `base_link`): x ∈ [−0.2, 1.1], y ∈ [−0.9, 0.9],
 * z ∈ [0.75, 2.0]. The home flanges, (0.307, ±0.300, 1.390) m, sit well inside. See docs/safety.md.
 */
export const DEFAULT_FLANGE_WORKSPACE: WorkspaceBox = Object.freeze({
  minM: Object.freeze([-0.2, -0.9, 0.75] as const),
  maxM: Object.freeze([1.1, 0.9, 2.0] as const),
});

/** Franka's joint acceleration limit, rad/s². */
export const FR3_MAX_ACCELERATION_RAD_S2 = 10;
/** Franka's joint jerk limit, rad/s³. */
export const FR3_MAX_JERK_RAD_S3 = 5000;
/** Default ramp-in duration, ms. */
export const DEFAULT_RAMP_DURATION_MS = 1000;
/** Default longest step the limits are applied over, s. */
export const DEFAULT_MAX_STEP_S = 0.1;

export interface SafetyOptions {
  /** Flange box per side, m in `base_link`. Default {@link DEFAULT_FLANGE_WORKSPACE} for both. */
  readonly workspace?: Partial<Record<Side, WorkspaceBox>>;
  /** Arm joint acceleration limit, rad/s², > 0 (Infinity: none). Default 10 (Franka). */
  readonly armMaxAccelerationRadS2?: number;
  /** Arm joint jerk limit, rad/s³, > 0 (Infinity: none). Default 5000 (Franka). */
  readonly armMaxJerkRadS3?: number;
  /** Duration of a ramp-in when {@link Safety.beginRamp} is called without one, ms ≥ 0. Default 1000. */
  readonly rampDurationMs?: number;
  /**
   * Longest time step the limits are applied over, s, > 0. A longer step (a stalled loop, a
   * resumed process) counts as this long, so a gap never licenses a jump. Default 0.1.
   */
  readonly maxStepS?: number;
}

/** What the gate did in the last {@link Safety.apply}. One object, overwritten by every call: copy to keep. */
export interface SafetyReport {
  /** The e-stop is latched: the output is the last command, exactly. */
  estop: boolean;
  /** The whole robot holds (e-stop or a hold request); while stopping, the arms still decelerate. */
  held: boolean;
  /** `'estop'`, the reason given to {@link Safety.hold}, or `null`. */
  holdReason: string | null;
  /** A ramp-in is in progress (scaled velocity limits). */
  ramping: boolean;
  /** Velocity-limit scale of this step, 0..1 (1 when not ramping). */
  rampFraction: number;
  /** Joints whose command this step differs from the desired value (for any reason). */
  limitedJoints: number;
  /** Joints whose desired value was outside the position limits (clamped). */
  clampedJoints: number;
  /** Joints whose desired value was NaN or ±Infinity (held). */
  nonFiniteJoints: number;
  /** Per arm: held back by the workspace box this step (rejected, or braking to a stop). */
  readonly workspaceViolation: { left: boolean; right: boolean };
}

interface ArmState {
  readonly side: Side;
  readonly offset: number;
  readonly box: WorkspaceBox;
  readonly limiter: JointLimiter;
  /** Views of the arm's joints in the gate's vectors (made once). */
  readonly target: Float64Array;
  readonly cmd: Float64Array;
  readonly q: Float64Array;
  /** After a workspace rejection: decelerating at the limit until at rest, outside the limiter. */
  braking: boolean;
  /** The stop's start (rad, rad/s), its grid step (s), time since its start (s) and duration (s). */
  readonly brakeQ0: Float64Array;
  readonly brakeV0: Float64Array;
  brakeStepS: number;
  brakeS: number;
  brakeEndS: number;
  /** Distance outside the box of the last accepted flange position, m (0 inside). */
  excessM: number;
}

function checkBox(name: string, box: WorkspaceBox): WorkspaceBox {
  for (const key of ['minM', 'maxM'] as const) {
    const v = box[key] as readonly number[] | undefined;
    if (!Array.isArray(v) || v.length !== 3 || !v.every(Number.isFinite)) {
      throw new RangeError(`Safety: option ${name}.${key} must be three finite numbers [x, y, z] in m, got ${JSON.stringify(v)}`);
    }
  }
  for (let i = 0; i < 3; i++) {
    if (!(box.minM[i]! < box.maxM[i]!)) {
      throw new RangeError(`Safety: option ${name}.minM[${i}] (${box.minM[i]}) must be < ${name}.maxM[${i}] (${box.maxM[i]})`);
    }
  }
  return Object.freeze({
    minM: Object.freeze([box.minM[0], box.minM[1], box.minM[2]] as const),
    maxM: Object.freeze([box.maxM[0], box.maxM[1], box.maxM[2]] as const),
  });
}

/** Most points checked along an arm's stopping path (a stop lasts at most 5.26 / 10 s). */
const BRAKE_SAMPLES = 32;

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/**
 * The always-on gate between a source of desired joints and the robot. Each {@link apply}, in
 * this order:
 *
 * 1. e-stop latched → the output is the last command, exactly (no motion), until {@link resetEstop};
 * 2. hold requested ({@link hold}) → every joint stops: arm joints decelerate at the acceleration
 *    limit to rest, hand joints stop at once, then all hold exactly;
 * 3. ramp-in after {@link beginRamp}: the velocity limits scale from 0 to 1 over the duration;
 * 4. position limits: the desired joints are clamped into their URDF limits;
 * 5. velocity limits (URDF, per joint), the arm acceleration and jerk limits, by `JointLimiter`;
 * 6. workspace: an arm whose next command, or the path along which it would stop from there,
 *    puts its flange outside its box (further outside, if it already is) is refused that command
 *    and stops at the acceleration limit along the path checked one step earlier, so it rests at
 *    its last inside position, then follows again from rest;
 * 7. a non-finite desired joint holds that joint (arm joints decelerate to rest as in 2);
 * 8. the final arm output: whatever the steps above did (a clamp, a workspace stop), each arm
 *    joint's acceleration stays within the limit and its change within jerk × dt of the last
 *    step's, on every step of any period — except the e-stop's halt and a workspace stop, which
 *    follows the stopping path the box check accepted (at a steady period its acceleration is
 *    within the limit; its jerk at the stop's start is up to 2a/dt).
 *
 * At a steady period, position, velocity and arm acceleration limits hold for every output except
 * the e-stop's instantaneous halt. Allocation-free per {@link apply}. Starts at the home posture
 * with a ramp-in pending.
 */
export class Safety {
  readonly rig: Rig;
  /** Per-joint position and velocity limits (rad, rad/s), active order. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly maxVelocity: Float64Array;
  readonly armMaxAccelerationRadS2: number;
  readonly armMaxJerkRadS3: number;
  readonly rampDurationMs: number;
  readonly maxStepS: number;
  readonly workspace: Readonly<Record<Side, WorkspaceBox>>;
  private readonly report: SafetyReport;
  /** Last command (rad) and its velocity (rad/s). */
  private readonly q = new Float64Array(ACTIVE_DIM);
  private readonly vel = new Float64Array(ACTIVE_DIM);
  /** The last step's acceleration (rad/s²), arm joints. */
  private readonly acc = new Float64Array(ACTIVE_DIM);
  private readonly target = new Float64Array(ACTIVE_DIM);
  private readonly cmd = new Float64Array(ACTIVE_DIM);
  /** Per joint: 1 while it holds at `holdTarget` (hold request or non-finite desired). */
  private readonly frozen = new Uint8Array(ACTIVE_DIM);
  private readonly holdTarget = new Float64Array(ACTIVE_DIM);
  /** Acceleration limit per joint (Infinity for the hands), rad/s². */
  private readonly accel = new Float64Array(ACTIVE_DIM);
  private readonly arms: readonly ArmState[];
  private readonly hands: JointLimiter;
  private readonly handTarget: Float64Array;
  private readonly handCmd: Float64Array;
  private readonly handQ: Float64Array;
  private readonly stopQ = new Float64Array(ARM_DOF);
  private readonly brakeV = new Float64Array(ARM_DOF);
  private readonly point = new Float64Array(3);
  private latched = false;
  private holdWhy: string | null = null;
  private rampPending = false;
  private rampActive = false;
  private rampStartMs = 0;
  private rampLengthMs = 0;
  private rampScale = 1;
  /** The period of the last step that moved, s. */
  private lastDtS = 0;
  /** Velocity scale the limiters were last set to. */
  private limiterScale = 1;

  /** @throws RangeError naming the option if an option is invalid. */
  constructor(rig: Rig, options: SafetyOptions = {}) {
    this.rig = rig;
    const acc = options.armMaxAccelerationRadS2 ?? FR3_MAX_ACCELERATION_RAD_S2;
    if (typeof acc !== 'number' || !(acc > 0)) throw new RangeError(`Safety: option armMaxAccelerationRadS2 must be > 0 rad/s², got ${acc}`);
    const ramp = options.rampDurationMs ?? DEFAULT_RAMP_DURATION_MS;
    if (typeof ramp !== 'number' || !(Number.isFinite(ramp) && ramp >= 0)) throw new RangeError(`Safety: option rampDurationMs must be a finite number ≥ 0 ms, got ${ramp}`);
    const maxStep = options.maxStepS ?? DEFAULT_MAX_STEP_S;
    if (typeof maxStep !== 'number' || !(Number.isFinite(maxStep) && maxStep > 0)) throw new RangeError(`Safety: option maxStepS must be a finite number > 0 s, got ${maxStep}`);
    // Without an acceleration limit there is no jerk limit either.
    const jerk = acc === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : (options.armMaxJerkRadS3 ?? FR3_MAX_JERK_RAD_S3);
    if (typeof jerk !== 'number' || !(jerk > 0)) throw new RangeError(`Safety: option armMaxJerkRadS3 must be > 0 rad/s³, got ${jerk}`);
    this.armMaxAccelerationRadS2 = acc;
    this.armMaxJerkRadS3 = jerk;
    this.rampDurationMs = ramp;
    this.maxStepS = maxStep;
    this.workspace = Object.freeze({
      left: checkBox('workspace.left', options.workspace?.left ?? DEFAULT_FLANGE_WORKSPACE),
      right: checkBox('workspace.right', options.workspace?.right ?? DEFAULT_FLANGE_WORKSPACE),
    });
    const limits = activeLimits(rig);
    this.lower = limits.lower;
    this.upper = limits.upper;
    this.maxVelocity = limits.maxVelocity;
    this.accel.fill(Number.POSITIVE_INFINITY);
    this.arms = SIDES.map((side): ArmState => {
      const offset = ACTIVE_LAYOUT[`${side}Arm`].offset;
      this.accel.fill(acc, offset, offset + ARM_DOF);
      return {
        side,
        offset,
        box: this.workspace[side],
        limiter: new JointLimiter(this.maxVelocity.subarray(offset, offset + ARM_DOF), acc, jerk),
        target: this.target.subarray(offset, offset + ARM_DOF),
        cmd: this.cmd.subarray(offset, offset + ARM_DOF),
        q: this.q.subarray(offset, offset + ARM_DOF),
        braking: false,
        brakeQ0: new Float64Array(ARM_DOF),
        brakeV0: new Float64Array(ARM_DOF),
        brakeStepS: 0,
        brakeS: 0,
        brakeEndS: 0,
        excessM: 0,
      };
    });
    // The hands' 32 joints are contiguous after the arms.
    const handStart = Math.min(ACTIVE_LAYOUT.leftHand.offset, ACTIVE_LAYOUT.rightHand.offset);
    const handLength = ACTIVE_LAYOUT.leftHand.length + ACTIVE_LAYOUT.rightHand.length;
    if (handStart + handLength !== ACTIVE_DIM) throw new Error('Safety: the hand joints must close the active vector');
    this.hands = new JointLimiter(this.maxVelocity.subarray(handStart));
    this.handTarget = this.target.subarray(handStart);
    this.handCmd = this.cmd.subarray(handStart);
    this.handQ = this.q.subarray(handStart);
    this.report = {
      estop: false, held: false, holdReason: null, ramping: false, rampFraction: 1,
      limitedJoints: 0, clampedJoints: 0, nonFiniteJoints: 0, workspaceViolation: { left: false, right: false },
    };
    this.reset(activeHome(rig));
  }

  /**
   * Sets the commanded state to `q46` (rad, active order; clamped into the limits) at rest, e.g.
   * the measured joints at startup; clears holds of individual joints and workspace braking, and
   * begins a ramp-in. Does not clear an e-stop or a hold request.
   * @throws RangeError if `q46` is not 46 finite numbers.
   */
  reset(q46: ArrayLike<number>): void {
    if (q46.length !== ACTIVE_DIM) throw new RangeError(`Safety: reset needs ${ACTIVE_DIM} joints, got ${q46.length}`);
    for (let i = 0; i < ACTIVE_DIM; i++) {
      const v = q46[i]!;
      if (!Number.isFinite(v)) throw new RangeError(`Safety: reset joint ${i} is not finite: ${v}`);
      this.q[i] = clamp(v, this.lower[i]!, this.upper[i]!);
    }
    this.frozen.fill(0);
    this.stopAll();
    for (const arm of this.arms) arm.excessM = this.flangeExcess(arm, arm.q);
    this.beginRamp();
  }

  /** Copies the last command (46 joints, rad) into `out`. @returns `out`. */
  commanded<T extends Float64Array | Float32Array>(out: T): T {
    for (let i = 0; i < ACTIVE_DIM; i++) out[i] = this.q[i]!;
    return out;
  }

  /** Latches the e-stop: from the next {@link apply} on, the output is the last command, exactly. */
  estop(): void {
    this.latched = true;
    this.stopAll();
  }

  /** Whether the e-stop is latched. */
  get estopped(): boolean {
    return this.latched;
  }

  /** Clears a latched e-stop and begins a ramp-in (the robot resumes from where it stopped). */
  resetEstop(): void {
    if (!this.latched) return;
    this.latched = false;
    this.beginRamp();
  }

  /**
   * Requests a hold (e.g. `'idle'`, `'watchdog'`, `'mode'`): every joint comes to rest (arms at
   * the acceleration limit) and stays there until {@link release}. A later call replaces the
   * reason; there is one hold, not a stack.
   */
  hold(reason: string): void {
    this.holdWhy = reason;
  }

  /** Ends a hold and begins a ramp-in. No effect when not holding. */
  release(): void {
    if (this.holdWhy === null) return;
    this.holdWhy = null;
    this.beginRamp();
  }

  /** The current hold request's reason, or `null`. */
  get holdReason(): string | null {
    return this.holdWhy;
  }

  /**
   * Begins a ramp-in: from the next {@link apply}'s `nowMs` on, the velocity limits scale
   * linearly from 0 to 1 over `durationMs`, so the robot sets off gently from where it is
   * toward a target however far. Called by {@link release}, {@link resetEstop} and
   * {@link reset}; call it on engage.
   * @param durationMs ≥ 0, default the `rampDurationMs` option (1000 ms); 0 ends any ramp.
   * @throws RangeError for a negative or non-finite duration.
   */
  beginRamp(durationMs: number = this.rampDurationMs): void {
    if (!(Number.isFinite(durationMs) && durationMs >= 0)) throw new RangeError(`Safety: beginRamp durationMs must be a finite number ≥ 0, got ${durationMs}`);
    this.rampLengthMs = durationMs;
    this.rampPending = durationMs > 0;
    this.rampActive = false;
    this.rampScale = durationMs > 0 ? 0 : 1;
  }

  /**
   * Gates one step: moves the command from the last one toward `desired46` (rad, active order)
   * over `dtS` seconds within all rules, and writes it into `out46` (which may alias `desired46`).
   * @param dtS time since the last step, s; ≤ 0 or non-finite: no motion; capped at `maxStepS`.
   * @param nowMs the control clock, ms; drives the ramp-in (non-finite: the ramp does not advance).
   * @returns the shared report (overwritten by the next call).
   * @throws RangeError if `desired46` or `out46` is not 46 long.
   */
  apply(desired46: ArrayLike<number>, dtS: number, nowMs: number, out46: Float64Array | Float32Array): SafetyReport {
    if (desired46.length !== ACTIVE_DIM) throw new RangeError(`Safety: apply needs ${ACTIVE_DIM} desired joints, got ${desired46.length}`);
    if (out46.length !== ACTIVE_DIM) throw new RangeError(`Safety: apply needs an output of ${ACTIVE_DIM} joints, got ${out46.length}`);
    const r = this.report;
    r.clampedJoints = 0;
    r.nonFiniteJoints = 0;
    r.workspaceViolation.left = false;
    r.workspaceViolation.right = false;
    const q = this.q;
    if (this.latched) {
      r.estop = true;
      r.held = true;
      r.holdReason = 'estop';
      r.ramping = false;
      r.rampFraction = 0;
      r.limitedJoints = this.countLimited(desired46);
      for (let i = 0; i < ACTIVE_DIM; i++) out46[i] = q[i]!;
      return r;
    }
    const dt = Number.isFinite(dtS) && dtS > 0 ? Math.min(dtS, this.maxStepS) : 0;
    this.advanceRamp(nowMs);

    // Targets: the desired joints, clamped; held joints aim at their stopping point.
    const holding = this.holdWhy !== null;
    const lower = this.lower;
    const upper = this.upper;
    for (let i = 0; i < ACTIVE_DIM; i++) {
      const d = desired46[i]!;
      const finite = Number.isFinite(d);
      if (!finite) r.nonFiniteJoints++;
      if (holding || !finite) {
        if (this.frozen[i] === 0) {
          this.frozen[i] = 1;
          this.holdTarget[i] = this.stopPoint(i, q[i]!, this.vel[i]!);
        }
        this.target[i] = this.holdTarget[i]!;
        continue;
      }
      this.frozen[i] = 0;
      const t = clamp(d, lower[i]!, upper[i]!);
      if (t !== d) r.clampedJoints++;
      this.target[i] = t;
    }

    // Velocity and acceleration limits, scaled by the ramp.
    this.scaleLimiters(this.rampScale);
    const cmd = this.cmd;
    for (const arm of this.arms) {
      if (arm.braking) this.brakeArm(arm, dt);
      else arm.limiter.apply(arm.cmd, arm.target, dt);
    }
    this.hands.apply(this.handCmd, this.handTarget, dt);
    // Position limits are absolute; the limiters stop at clamped targets, so this only trims rounding.
    for (let i = 0; i < ACTIVE_DIM; i++) cmd[i] = clamp(cmd[i]!, lower[i]!, upper[i]!);

    // Workspace: the next command and its stopping point must keep the flange in the box.
    if (dt > 0) {
      for (const arm of this.arms) {
        if (arm.braking) {
          r.workspaceViolation[arm.side] = true;
          continue;
        }
        const excess = this.acceptedExcess(arm, dt);
        if (excess >= 0) {
          arm.excessM = excess;
          continue;
        }
        r.workspaceViolation[arm.side] = true;
        this.startBraking(arm, dt);
        this.brakeArm(arm, dt);
      }
    }

    // The final arm output: acceleration and jerk, whatever changed the command above.
    if (dt > 0) this.finalArmStage(dt);

    // Commit: velocities, state, output; the limiters continue from what went out.
    if (dt > 0) {
      for (let i = 0; i < ACTIVE_DIM; i++) {
        const v = (cmd[i]! - q[i]!) / dt;
        this.acc[i] = (v - this.vel[i]!) / dt;
        this.vel[i] = v;
      }
      this.lastDtS = dt;
      for (const arm of this.arms) {
        const l = arm.limiter;
        for (let j = 0; j < ARM_DOF; j++) {
          l.q[j] = cmd[arm.offset + j]!;
          l.v[j] = this.vel[arm.offset + j]!;
          l.a[j] = this.acc[arm.offset + j]!;
        }
      }
      this.hands.q.set(this.handCmd);
    }
    q.set(cmd);
    for (const arm of this.arms) {
      if (!arm.braking) continue;
      arm.excessM = this.flangeExcess(arm, arm.q);
      if (dt > 0) this.finishBraking(arm, dt);
    }
    r.limitedJoints = this.countLimited(desired46);
    for (let i = 0; i < ACTIVE_DIM; i++) out46[i] = q[i]!;
    r.estop = false;
    r.held = holding;
    r.holdReason = this.holdWhy;
    r.ramping = this.rampActive || this.rampPending;
    r.rampFraction = this.rampScale;
    return r;
  }

  /** Stops every joint where it is (velocity 0, limiters at rest, holds aim there), ends workspace braking. */
  private stopAll(): void {
    this.vel.fill(0);
    this.acc.fill(0);
    for (const arm of this.arms) {
      arm.limiter.reset(arm.q);
      arm.braking = false;
    }
    this.hands.reset(this.handQ);
    for (let i = 0; i < ACTIVE_DIM; i++) if (this.frozen[i] === 1) this.holdTarget[i] = this.q[i]!;
  }

  /**
   * Rule 8 on `cmd`: per arm joint, the step's acceleration (velocity change over `dt`) is kept
   * within ±a and within ±j·dt of the last step's; then the position limits. Only a command that
   * breaks them is changed.
   */
  private finalArmStage(dt: number): void {
    const aMax = this.armMaxAccelerationRadS2;
    if (aMax === Number.POSITIVE_INFINITY) return;
    const jdt = this.armMaxJerkRadS3 * dt;
    const cmd = this.cmd;
    for (const arm of this.arms) {
      // A workspace stop follows the path the box check accepted (see the class comment).
      if (arm.braking) continue;
      for (let j = 0; j < ARM_DOF; j++) {
        const i = arm.offset + j;
        const q0 = this.q[i]!;
        const v0 = this.vel[i]!;
        const a = ((cmd[i]! - q0) / dt - v0) / dt;
        // The jerk window around the last acceleration, inside ±aMax (after a workspace stop the
        // last acceleration may lie outside; the acceleration limit then wins).
        const lo = clamp(this.acc[i]! - jdt, -aMax, aMax);
        const hi = clamp(this.acc[i]! + jdt, -aMax, aMax);
        if (a >= lo && a <= hi) continue;
        // Position and velocity limits come first: where they conflict with jerk, jerk gives way.
        const vm = this.maxVelocity[i]!;
        const v1 = clamp(v0 + (a < lo ? lo : hi) * dt, -vm, vm);
        cmd[i] = clamp(q0 + v1 * dt, this.lower[i]!, this.upper[i]!);
      }
    }
  }

  /** Whether every joint is at rest (the last step moved nothing) and no arm is braking for the box. */
  atRest(): boolean {
    for (let i = 0; i < ACTIVE_DIM; i++) if (this.vel[i] !== 0) return false;
    for (const arm of this.arms) if (arm.braking) return false;
    return true;
  }

  /**
   * Makes this gate an exact copy of `o` (same rig and options): commands, velocities, holds,
   * ramp, workspace stops and limiter states. For previewing what the gate would do with future
   * desired joints without touching the real one.
   */
  copyFrom(o: Safety): void {
    this.q.set(o.q);
    this.vel.set(o.vel);
    this.acc.set(o.acc);
    this.target.set(o.target);
    this.cmd.set(o.cmd);
    this.frozen.set(o.frozen);
    this.holdTarget.set(o.holdTarget);
    this.latched = o.latched;
    this.holdWhy = o.holdWhy;
    this.rampPending = o.rampPending;
    this.rampActive = o.rampActive;
    this.rampStartMs = o.rampStartMs;
    this.rampLengthMs = o.rampLengthMs;
    this.rampScale = o.rampScale;
    this.lastDtS = o.lastDtS;
    this.limiterScale = o.limiterScale;
    for (let k = 0; k < this.arms.length; k++) {
      const a = this.arms[k]!;
      const b = o.arms[k]!;
      a.limiter.copyFrom(b.limiter);
      a.braking = b.braking;
      a.brakeQ0.set(b.brakeQ0);
      a.brakeV0.set(b.brakeV0);
      a.brakeStepS = b.brakeStepS;
      a.brakeS = b.brakeS;
      a.brakeEndS = b.brakeEndS;
      a.excessM = b.excessM;
    }
    this.hands.copyFrom(o.hands);
  }

  private countLimited(desired: ArrayLike<number>): number {
    let n = 0;
    for (let i = 0; i < ACTIVE_DIM; i++) if (this.q[i] !== desired[i]) n++;
    return n;
  }

  /** Where joint i comes to rest decelerating at its limit from velocity v (continuous, so never short of the discrete stop). */
  private stopPoint(i: number, qi: number, v: number): number {
    const a = this.accel[i]!;
    const d = a === Number.POSITIVE_INFINITY ? 0 : (v * Math.abs(v)) / (2 * a);
    return clamp(qi + d, this.lower[i]!, this.upper[i]!);
  }

  private advanceRamp(nowMs: number): void {
    if (!Number.isFinite(nowMs)) return;
    if (this.rampPending) {
      this.rampPending = false;
      this.rampActive = true;
      this.rampStartMs = nowMs;
    }
    if (!this.rampActive) return;
    const f = (nowMs - this.rampStartMs) / this.rampLengthMs;
    if (f >= 1) {
      this.rampActive = false;
      this.rampScale = 1;
    } else {
      this.rampScale = Math.max(f, 0);
    }
  }

  /** Sets the limiters' velocity limits to `scale` × the URDF limits (only when it changes). */
  private scaleLimiters(scale: number): void {
    if (scale === this.limiterScale) return;
    this.limiterScale = scale;
    const v = this.maxVelocity;
    for (const arm of this.arms) {
      const m = arm.limiter.maxVelocity;
      for (let j = 0; j < ARM_DOF; j++) m[j] = v[arm.offset + j]! * scale;
    }
    const m = this.hands.maxVelocity;
    const o = ACTIVE_DIM - m.length;
    for (let j = 0; j < m.length; j++) m[j] = v[o + j]! * scale;
  }

  /** Begins a workspace stop of an arm from its last command and velocity, on the grid of the step that set them. */
  private startBraking(arm: ArmState, dt: number): void {
    arm.braking = true;
    arm.brakeS = 0;
    arm.brakeStepS = this.lastDtS > 0 ? this.lastDtS : dt;
    for (let j = 0; j < ARM_DOF; j++) {
      arm.brakeQ0[j] = arm.q[j]!;
      arm.brakeV0[j] = this.vel[arm.offset + j]!;
    }
    arm.brakeEndS = this.brakeSteps(arm.brakeV0, arm.brakeStepS) * arm.brakeStepS;
  }

  /** Grid steps until every joint of a stop from velocities `v` (rad/s) with grid step `h` (s) is at rest. */
  private brakeSteps(v: ArrayLike<number>, h: number): number {
    const ah = this.armMaxAccelerationRadS2 * h;
    let n = 0;
    for (let j = 0; j < ARM_DOF; j++) n = Math.max(n, Math.floor(Math.abs(v[j]!) / ah));
    return n;
  }

  /** One step of a workspace stop, into the arm's `cmd`. */
  private brakeArm(arm: ArmState, dt: number): void {
    arm.brakeS += dt;
    this.brakePath(arm.brakeQ0, arm.brakeV0, arm.brakeStepS, arm.brakeS, arm.offset, arm.cmd);
  }

  /**
   * Arm joints `t` s into a stop from (q0, v0) into `out` (clamped into the limits): on a grid of
   * step `h`, each joint's speed drops by a·h per grid step until it rests (the limiter's own
   * discrete deceleration), moving linearly within a grid step. So the path is one curve whatever
   * the later step sizes, and at a steady period it is exactly the sequence the limiter would
   * brake along; {@link acceptedExcess} checks it before the arm commits to a command.
   */
  private brakePath(q0: ArrayLike<number>, v0: ArrayLike<number>, h: number, t: number, offset: number, out: Float64Array): void {
    const ah = this.armMaxAccelerationRadS2 * h;
    const k = Math.floor(t / h);
    const frac = t / h - k;
    for (let j = 0; j < ARM_DOF; j++) {
      const v = v0[j]!;
      const speed = Math.abs(v);
      const m = Math.floor(speed / ah);
      const kk = Math.min(k, m);
      // kk whole grid steps at speeds speed − a·h, speed − 2a·h, …, then a fraction of the next.
      let moved = kk > 0 ? h * (kk * speed - (ah * kk * (kk + 1)) / 2) : 0;
      if (k < m) moved += frac * h * (speed - ah * (k + 1));
      out[j] = clamp(q0[j]! + (v < 0 ? -moved : moved), this.lower[offset + j]!, this.upper[offset + j]!);
    }
  }

  /**
   * Once a braking arm has been at rest for a whole step (so its last step's velocity is 0, as
   * the limiter's will be): hand it back to its limiter, at rest; holds aim where it stopped.
   */
  private finishBraking(arm: ArmState, dt: number): void {
    if (arm.brakeS - dt < arm.brakeEndS) return;
    arm.braking = false;
    arm.limiter.reset(arm.q);
    for (let j = 0; j < ARM_DOF; j++) {
      const i = arm.offset + j;
      if (this.frozen[i] === 1) this.holdTarget[i] = this.q[i]!;
    }
  }

  /**
   * Whether an arm's new command keeps its flange in the box — the command itself and the path
   * along which the arm would stop from it ({@link brakePath} on this step's period), at its grid
   * points up to the stop (at most {@link BRAKE_SAMPLES}, evenly spread, the last one the stop)
   * — or, if the arm is already outside, takes it no further out. Returns the command's distance
   * outside the box (m, 0 inside) if so, else −1.
   */
  private acceptedExcess(arm: ArmState, dt: number): number {
    const allowed = arm.excessM;
    const excess = this.flangeExcess(arm, arm.cmd);
    if (excess > allowed) return -1;
    const v = this.brakeV;
    for (let j = 0; j < ARM_DOF; j++) v[j] = (arm.cmd[j]! - arm.q[j]!) / dt;
    const steps = this.brakeSteps(v, dt);
    const n = Math.min(steps, BRAKE_SAMPLES);
    for (let k = 1; k <= n; k++) {
      const gridStep = k === n ? steps : Math.round((k * steps) / n);
      this.brakePath(arm.cmd, v, dt, gridStep * dt, arm.offset, this.stopQ);
      if (this.flangeExcess(arm, this.stopQ) > allowed) return -1;
    }
    return excess;
  }

  /** Distance (m, summed over the axes) of the flange outside the arm's box for its 7 joints `armQ`; 0 inside. */
  private flangeExcess(arm: ArmState, armQ: Float64Array): number {
    const model = this.rig.sides[arm.side];
    const tree = model.armTree;
    const poses = tree.fk(armQ);
    const f = (tree.linkCount - 1) * pose.POSE_STRIDE;
    const p = pose.transformPoint(this.point, 0, model.armBaseInRig, 0, poses[f + 9]!, poses[f + 10]!, poses[f + 11]!);
    let e = 0;
    for (let k = 0; k < 3; k++) {
      const x = p[k]!;
      const lo = arm.box.minM[k]!;
      const hi = arm.box.maxM[k]!;
      if (x < lo) e += lo - x;
      else if (x > hi) e += x - hi;
    }
    return e;
  }
}
