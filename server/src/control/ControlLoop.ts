/**
 * The control loop: one place that owns the robot command. Sources of desired joints (the
 * operator's hand frames through the retargeting, a policy's action chunks, a replayed session,
 * a calibration, a re-anchored clutch) all pass the same safety gate, and only the gate's output
 * leaves: states, teleop chunks and the policy's future rows (checked on a copy of the gate).
 * Every change of mode, lease, engagement or e-stop is an event that viewers see and the
 * recording keeps.
 *
 * Nothing moves until an explicit engage: at start, after every mode change, after the e-stop is
 * reset, after the operator is lost and after a following error. Engaging starts the gate from
 * the robot's measured joints when they are fresh (and, with `requireMeasured`, only then).
 *
 * Teleop frames are processed the moment they arrive (latency matters more than a fixed tick);
 * a timer at the control rate runs the watchdog, policy chunks, holds and idle broadcasts.
 */
import {
  type ActionChunk, ACTIVE_DIM, createRig, type HandFrame, MAX_CHUNK_K, Retargeter, type RetargeterOptions, type Rig, type Side, SIDES, STATE_DIM, ACTION_DIM,
  STATE_JOINT_NAMES,
} from '@dexbridge/retarget';
import { activeArmOffset, activeHandOffset, ARM_DOF, HAND_ACTIVE_DOF, StateAssembler } from '@dexbridge/retarget';
import { activeFromAction } from './activeFromAction.js';
import { ACTIVE_JOINT_NAMES } from './activeJoints.js';
import { CALIBRATE_HANDS_SECONDS, type CalibrationRequest, validateCalibration } from './calibration.js';
import { HandCalibrationCapture } from './HandCalibrationCapture.js';
import { ChunkExecutor } from './ChunkExecutor.js';
import { GestureDetector } from './GestureDetector.js';
import { Safety, type SafetyOptions } from './Safety.js';
import { TeleopChunker } from './TeleopChunker.js';

/** A tracking gap up to this long is a dropout, not a loss (as in the Retargeter), ms. */
const SHORT_GAP_MS = 100;

export type Mode = 'idle' | 'teleop' | 'policy' | 'replay';
export const MODES: readonly Mode[] = ['idle', 'teleop', 'policy', 'replay'];

/** The state published after every processed frame or tick. Reused: copy to keep. */
export interface LoopState {
  seq: number;
  serverTimeMs: number;
  mode: Mode;
  estop: boolean;
  /** The watchdog (or another hold) keeps the robot still. */
  holding: boolean;
  /** Operator frame this state answers (NaN / 0 when none). */
  sourceTMs: number;
  sourceSeq: number;
  /** Server receive time of that frame, for latency figures. */
  sourceRecvMs: number;
  retargetMs: number;
  readonly q: Float64Array;
  readonly action: Float32Array;
  readonly status: Retargeter['output']['status'];
  chunkQueueDepth: number;
  chunkLatencyMs: number;
  /** The robot's measured joints from ROS (state order), and whether they are complete and fresh. */
  readonly measured: Float64Array;
  measuredValid: boolean;
  /** Why the gate holds (`'not_engaged'`, `'estop_reset'`, `'operator_lost'`, `'following_error'`, `'watchdog'`, `'estop'`), or null. */
  holdReason: string | null;
  /** Nothing moves until an explicit engage. */
  engageRequired: boolean;
}

/** Why an engage was refused. */
export type EngageRefusal = { readonly ok: false; readonly code: 'ESTOP_LATCHED' | 'MODE_FORBIDDEN' | 'MEASURED_STALE'; readonly message: string };
export type EngageResult = { readonly ok: true } | EngageRefusal;

/** Default: measured joints older than this are not fresh, ms. */
export const DEFAULT_MEASURED_MAX_AGE_MS = 250;
/** Default following-error bound on a measured arm joint, rad. */
export const DEFAULT_FOLLOWING_ERROR_RAD = 0.25;
/** Default following-error bound on a measured hand joint, rad. */
export const DEFAULT_HAND_FOLLOWING_ERROR_RAD = 0.5;
/** Default: a following error must last this long to hold, ms. */
export const DEFAULT_FOLLOWING_ERROR_MS = 100;

export interface LoopEvent {
  readonly event: 'mode' | 'lease' | 'estop' | 'estop_reset' | 'engage' | 'disengage' | 'recording' | 'ros' | 'watchdog' | 'tracking' | 'hold';
  readonly serverTimeMs: number;
  readonly detail: Record<string, unknown>;
}

export interface ControlLoopOptions {
  readonly rig?: Rig;
  /** Timer rate for holds, policy execution and idle state, Hz. Default 90. */
  readonly controlRateHz?: number;
  /** No operator frame for this long → hold. Default 200 ms. */
  readonly watchdogMs?: number;
  /** Engage the arms without an explicit engage (the demo). Default false. */
  readonly autoEngage?: boolean;
  readonly retarget?: RetargeterOptions;
  readonly safety?: SafetyOptions;
  /** Actions per teleop chunk sent to ROS and the recording. Default 1. */
  readonly teleopChunkK?: number;
  /** Server clock, ms (monotonic). Default `performance.now`. */
  readonly clock?: () => number;
  /** Engage/disengage by the documented hand gesture. Default true. */
  readonly gestures?: boolean;
  /** Refuse to engage without fresh, complete measured joints (recommended on a real FR3). Default false. */
  readonly requireMeasured?: boolean;
  /** Measured joints older than this are not fresh, ms > 0. Default 250. */
  readonly measuredMaxAgeMs?: number;
  /** Hold when a measured arm joint differs from its command by more than this, rad > 0. Default 0.25. */
  readonly followingErrorRad?: number;
  /** The same for hand joints, rad > 0. Default 0.5. */
  readonly handFollowingErrorRad?: number;
  /** …for longer than this, ms ≥ 0. Default 100. */
  readonly followingErrorMs?: number;
}

type StateListener = (s: LoopState) => void;
type EventListener = (e: LoopEvent) => void;
/**
 * `teleop`: the gated teleop stream; `policy`: the gate's preview of an accepted policy chunk;
 * `hold`: the gate's preview of a hold that just began (so a trajectory controller still executing
 * an earlier preview stops with the gate).
 */
export type ChunkSource = 'teleop' | 'policy' | 'hold';
type ChunkListener = (tMs: number, chunk: ActionChunk, source: ChunkSource) => void;

/** How far ahead a hold's preview reaches: an FR3 joint stops from full speed within 0.53 s, ms. */
const HOLD_PREVIEW_MS = 600;
type FrameListener = (recvMs: number, seq: number, frame: HandFrame) => void;
/** Where a hand frame comes from: the operator's headset (or the demo), or replay mode's player. */
export type FrameSource = 'operator' | 'replay';
/** An operator frame was retargeted and the state answering it published; its `seq` and client `tMs`. */
type RetargetListener = (sourceSeq: number, sourceTMs: number) => void;

/** For each of the 46 active joints, its index in the 56 state joints (computed once). */
const STATE_INDEX_OF_ACTIVE: Int32Array = Int32Array.from(ACTIVE_JOINT_NAMES, (n) => {
  const i = STATE_JOINT_NAMES.indexOf(n);
  if (i < 0) throw new Error(`control: active joint ${n} is not a state joint`);
  return i;
});
const IS_ARM_ACTIVE: Uint8Array = Uint8Array.from(ACTIVE_JOINT_NAMES, (_, i) =>
  SIDES.some((side) => i >= activeArmOffset(side) && i < activeArmOffset(side) + ARM_DOF) ? 1 : 0,
);

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !(Number.isFinite(v) && v > 0)) throw new RangeError(`ControlLoop: option ${name} must be a finite number > 0, got ${v}`);
  return v;
}

export class ControlLoop {
  readonly rig: Rig;
  readonly controlRateHz: number;
  readonly watchdogMs: number;
  readonly requireMeasured: boolean;
  readonly measuredMaxAgeMs: number;
  readonly followingErrorRad: number;
  readonly handFollowingErrorRad: number;
  readonly followingErrorMs: number;
  readonly state: LoopState;
  private readonly clock: () => number;
  private readonly retargeter: Retargeter;
  private readonly safety: Safety;
  /** A copy of the gate for previewing a policy's future rows (never drives the robot). */
  private readonly preview: Safety;
  private readonly chunks: ChunkExecutor;
  private readonly assembler: StateAssembler;
  private readonly teleopChunker: TeleopChunker;
  private readonly gestures: GestureDetector | undefined;
  private readonly desired = new Float64Array(ACTIVE_DIM);
  private readonly commanded = new Float64Array(ACTIVE_DIM);
  private readonly policyAction = new Float32Array(ACTION_DIM);
  private readonly startQ = new Float64Array(ACTIVE_DIM);
  private readonly previewQ = new Float64Array(ACTIVE_DIM);
  private readonly previewDesired = new Float64Array(ACTIVE_DIM);
  private readonly previewState = new Float64Array(STATE_DIM);
  private readonly previewRow = new Float32Array(ACTION_DIM);
  private readonly previewData = new Float32Array(MAX_CHUNK_K * ACTION_DIM);
  private readonly stateListeners: StateListener[] = [];
  private readonly eventListeners: EventListener[] = [];
  private readonly chunkListeners: ChunkListener[] = [];
  private readonly frameListeners: FrameListener[] = [];
  /** The `calibrate_hands` measurement in progress, and who asked for it. */
  private handCapture: { readonly capture: HandCalibrationCapture; readonly by: string } | null = null;
  private readonly retargetListeners: RetargetListener[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastApplyMs: number;
  private lastFrameRecvMs = Number.NEGATIVE_INFINITY;
  private lastStateMs = Number.NEGATIVE_INFINITY;
  private timeOffsetMs = Number.NaN;
  private lastRetargetTMs = Number.NEGATIVE_INFINITY;
  private watchdogTripped = false;
  /** Motion is enabled (an explicit engage since the last disarm). */
  private armed = false;
  private disarmReason = 'not_engaged';
  private pendingCalibration: CalibrationRequest | null = null;
  private measuredAtMs = Number.NEGATIVE_INFINITY;
  private measuredComplete = false;
  private followingSinceMs = Number.NaN;
  private readonly frame: { tMs: number; left: Float64Array | null; right: Float64Array | null };
  private readonly left = new Float64Array(200);
  private readonly right = new Float64Array(200);
  private readonly wasTracked: Record<Side, boolean> = { left: false, right: false };
  private readonly lostAtMs: Record<Side, number> = { left: Number.NEGATIVE_INFINITY, right: Number.NEGATIVE_INFINITY };

  constructor(options: ControlLoopOptions = {}) {
    this.rig = options.rig ?? createRig();
    this.controlRateHz = options.controlRateHz ?? 90;
    this.watchdogMs = options.watchdogMs ?? 200;
    if (!(this.controlRateHz >= 1 && this.controlRateHz <= 1000)) throw new RangeError(`ControlLoop: controlRateHz must be in 1..1000, got ${this.controlRateHz}`);
    if (!(this.watchdogMs >= 10 && this.watchdogMs <= 10_000)) throw new RangeError(`ControlLoop: watchdogMs must be in 10..10000, got ${this.watchdogMs}`);
    this.requireMeasured = options.requireMeasured === true;
    this.measuredMaxAgeMs = positive('measuredMaxAgeMs', options.measuredMaxAgeMs ?? DEFAULT_MEASURED_MAX_AGE_MS);
    this.followingErrorRad = positive('followingErrorRad', options.followingErrorRad ?? DEFAULT_FOLLOWING_ERROR_RAD);
    this.handFollowingErrorRad = positive('handFollowingErrorRad', options.handFollowingErrorRad ?? DEFAULT_HAND_FOLLOWING_ERROR_RAD);
    const fm = options.followingErrorMs ?? DEFAULT_FOLLOWING_ERROR_MS;
    if (typeof fm !== 'number' || !(Number.isFinite(fm) && fm >= 0)) throw new RangeError(`ControlLoop: option followingErrorMs must be a finite number ≥ 0, got ${fm}`);
    this.followingErrorMs = fm;
    this.clock = options.clock ?? (() => performance.now());
    this.retargeter = new Retargeter(this.rig, { ...options.retarget, autoEngage: options.autoEngage ?? false });
    this.safety = new Safety(this.rig, options.safety);
    this.preview = new Safety(this.rig, options.safety);
    this.chunks = new ChunkExecutor(this.rig);
    this.assembler = new StateAssembler(this.rig);
    this.gestures = options.gestures === false ? undefined : new GestureDetector();
    this.teleopChunker = new TeleopChunker(options.teleopChunkK ?? 1, 1000 / this.controlRateHz, (chunk) => {
      for (const l of this.chunkListeners) l(chunk.startTimeMs, chunk, 'teleop');
    });
    // Start from the retargeter's home posture: the robot's commanded state (until measured joints arrive).
    this.commanded.set(this.activeOf(this.retargeter.output.action));
    this.safety.reset(this.commanded);
    this.lastApplyMs = this.clock();
    this.frame = { tMs: 0, left: null, right: null };
    this.state = {
      seq: 0, serverTimeMs: this.lastApplyMs, mode: 'idle', estop: false, holding: false,
      sourceTMs: Number.NaN, sourceSeq: 0, sourceRecvMs: Number.NaN, retargetMs: 0,
      q: new Float64Array(STATE_DIM), action: new Float32Array(ACTION_DIM), status: this.retargeter.output.status,
      chunkQueueDepth: 0, chunkLatencyMs: Number.NaN,
      measured: new Float64Array(STATE_DIM).fill(Number.NaN), measuredValid: false,
      holdReason: null, engageRequired: true,
    };
    // The demo drives without an explicit engage (it is the operator).
    if (options.autoEngage === true) {
      this.armed = true;
      this.state.engageRequired = false;
    }
    this.updateHold();
    this.assembler.assemble(this.commanded, this.state.q, this.state.action);
  }

  private readonly activeScratch = new Float64Array(ACTIVE_DIM);
  private activeOf(action: Float32Array): Float64Array {
    return activeFromAction(action, this.activeScratch);
  }

  get mode(): Mode {
    return this.state.mode;
  }

  now(): number {
    return this.clock();
  }

  onState(l: StateListener): void { this.stateListeners.push(l); }
  onEvent(l: EventListener): void { this.eventListeners.push(l); }
  /**
   * Gated chunks that leave the loop: teleop's stream of gated actions, and for each accepted
   * policy chunk the rows the gate would command from now on (row 0 = the command now, `tMs` =
   * now; later rows checked on a copy of the gate). The chunk is reused: copy to keep.
   */
  onChunk(l: ChunkListener): void { this.chunkListeners.push(l); }
  /** Operator frames as accepted (for the recording); in replay mode the replayed frames instead. */
  onFrame(l: FrameListener): void { this.frameListeners.push(l); }
  /**
   * Called after each operator frame was retargeted, right after the state answering it went to
   * the state listeners: the moment {@link handTracking} describes that frame.
   */
  onRetarget(l: RetargetListener): void { this.retargetListeners.push(l); }

  /**
   * The operator's hand and the fingertip targets of the last retargeted frame for one side, in
   * the robot hand base frame (`<side>_hand_base`), m: `joints` receives the 25 human joints × xyz
   * (75), `tips` the 5 fingertip targets × xyz (15). Computed on demand (cheap, allocation-free);
   * meaningful inside an {@link onRetarget} listener.
   * @returns false (outputs untouched) when the side was not tracked or not used in that frame.
   */
  handTracking(side: Side, joints: Float32Array | Float64Array, tips: Float32Array | Float64Array): boolean {
    if (!this.retargeter.humanJointsInHand(side, joints)) return false;
    tips.set(this.retargeter.fingertipTargets(side).tips);
    return true;
  }

  /** Emits an event to every listener (also used by the server for lease, recording and ROS events). */
  emit(event: LoopEvent['event'], detail: Record<string, unknown> = {}): void {
    const e: LoopEvent = { event, serverTimeMs: this.clock(), detail };
    for (const l of this.eventListeners) l(e);
  }

  /** Starts the control-rate timer. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), 1000 / this.controlRateHz);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether motion waits for an explicit engage. */
  get engageRequired(): boolean {
    return !this.armed;
  }

  /** Every mode change holds the robot (arms and hands) until the next engage. */
  setMode(mode: Mode, by: string): void {
    if (mode === this.state.mode) return;
    const from = this.state.mode;
    this.state.mode = mode;
    if (mode !== 'policy') this.chunks.clear();
    for (const side of SIDES) this.disengageSide(side);
    this.teleopChunker.reset();
    this.disarm('not_engaged');
    this.emit('mode', { from, to: mode, by, engageRequired: true });
    this.applyAndPublish(this.clock());
  }

  /**
   * Enables motion (after a mode change, an e-stop reset, a lost operator or a following error,
   * nothing moves without it) and, in teleop and replay, clutches in the arms. A first engage
   * starts the gate from the robot's measured joints when they are fresh and applies a pending
   * calibration; the motion ramps in.
   */
  engage(side: Side | undefined, by: string): EngageResult {
    if (this.state.estop) return { ok: false, code: 'ESTOP_LATCHED', message: 'control: reset the e-stop before engaging' };
    if (this.state.mode === 'idle') return { ok: false, code: 'MODE_FORBIDDEN', message: 'control: engage needs teleop, policy or replay mode (mode is idle)' };
    const now = this.clock();
    if (this.requireMeasured && !this.measuredFresh(now)) {
      const age = Number.isFinite(this.measuredAtMs) ? `${Math.round(now - this.measuredAtMs)} ms old${this.measuredComplete ? '' : ', incomplete'}` : 'none received';
      return { ok: false, code: 'MEASURED_STALE', message: `control: engage needs fresh measured joints (requireMeasured; measured: ${age}, limit ${this.measuredMaxAgeMs} ms)` };
    }
    // A new scale applies with a new clutch anchor: every engaged arm re-anchors where it is.
    const calibrated = this.pendingCalibration !== null;
    if (calibrated) this.applyCalibration(by);
    if (!this.armed) {
      this.startFromRobot(now);
      this.armed = true;
      this.followingSinceMs = Number.NaN;
      this.state.engageRequired = false;
    }
    if (this.state.mode !== 'policy') {
      const cmd = this.safety.commanded(this.startQ);
      const sides = calibrated ? SIDES.filter((s) => s === side || side === undefined || this.retargeter.engaged(s)) : side ? [side] : SIDES;
      for (const s of sides) {
        if (this.retargeter.engaged(s) && !calibrated) continue;
        // Re-anchoring: the clutch anchors at the gated command, so engaging moves nothing by itself.
        const o = activeArmOffset(s);
        this.retargeter.seedArm(s, cmd.subarray(o, o + ARM_DOF));
        this.retargeter.engage(s);
      }
    }
    this.safety.beginRamp();
    this.updateHold();
    this.emit('engage', { side: side ?? 'both', by });
    return { ok: true };
  }

  disengage(side: Side | undefined, by: string): void {
    for (const s of side ? [side] : SIDES) this.disengageSide(s);
    this.emit('disengage', { side: side ?? 'both', by });
  }

  /**
   * Disengages one side of the retargeting, and shows it at once: the retargeter refreshes its
   * side status only when it processes a frame, so without this a state sent while no frames come
   * (the operator lost, an e-stop) would still say `engaged`.
   */
  private disengageSide(side: Side): void {
    this.retargeter.disengage(side);
    const st = this.retargeter.output.status[side];
    st.engaged = false;
    st.arm.status = 'not_engaged';
  }

  /** Whether either arm follows the operator. */
  engaged(): boolean {
    return this.retargeter.engaged('left') || this.retargeter.engaged('right');
  }

  /** Latches the e-stop (idempotent): the command freezes at once; after a reset, nothing moves until engage. */
  estop(by: string): void {
    const already = this.state.estop;
    this.safety.estop();
    this.state.estop = true;
    for (const side of SIDES) this.disengageSide(side);
    this.chunks.clear();
    this.disarm('estop_reset');
    if (!already) this.emit('estop', { by });
    this.publish(this.clock());
  }

  /** Clears the latch; the robot stays still (arms and hands) until an explicit engage. */
  resetEstop(by: string): void {
    if (!this.state.estop) return;
    this.safety.resetEstop();
    this.state.estop = false;
    this.disarm('estop_reset');
    this.emit('estop_reset', { by, engageRequired: true });
    this.applyAndPublish(this.clock());
  }

  /**
   * Operator calibration, validated now (ranges in `calibration.ts`) and applied at the next
   * engage, never while the robot moves.
   * @returns the refusal, or null when accepted (pending).
   */
  calibrate(c: CalibrationRequest, by: string): { code: 'CALIBRATION_OUT_OF_RANGE'; message: string } | null {
    const bad = validateCalibration(c);
    if (bad !== null) return { code: 'CALIBRATION_OUT_OF_RANGE', message: bad };
    const prev = this.pendingCalibration;
    const merged: CalibrationRequest = { ...prev, ...c };
    if (prev?.handScale !== undefined && c.handScale !== undefined && typeof prev.handScale === 'object' && typeof c.handScale === 'object') {
      merged.handScale = { ...prev.handScale, ...c.handScale };
    }
    if (prev?.digitScales !== undefined && c.digitScales !== undefined) merged.digitScales = { ...prev.digitScales, ...c.digitScales };
    this.pendingCalibration = merged;
    this.emit('tracking', { calibrationPending: { ...merged }, appliesAt: 'engage', by });
    return null;
  }

  /**
   * Starts measuring the operator's hands for a calibration (`calibrate_hands`): the next
   * `seconds` of operator frames, hands held open and flat, become each hand's scale and digit
   * scales (`calibrateHand`), made the pending calibration like a `calibrate`. A new request
   * replaces one in progress. `tracking` events say `{handCalibration: {measuring, seconds}}` now
   * and `{handCalibration: {left, right}}` at the end (each `{scale, digitScales, frames}` or
   * `{code, message}`).
   * @returns the refusal (seconds out of range), or null when the measurement started.
   */
  calibrateHands(seconds: number, by: string): { code: 'CALIBRATION_OUT_OF_RANGE'; message: string } | null {
    const r = CALIBRATE_HANDS_SECONDS;
    if (!(Number.isFinite(seconds) && seconds >= r.min && seconds <= r.max)) {
      return { code: 'CALIBRATION_OUT_OF_RANGE', message: `control: seconds must be a number in [${r.min}, ${r.max}], got ${seconds}` };
    }
    this.handCapture = { capture: new HandCalibrationCapture(this.retargeter.rig, this.clock(), seconds), by };
    this.emit('tracking', { handCalibration: { measuring: true, seconds }, by });
    return null;
  }

  /** Feeds the hand measurement one operator frame; at its end, turns it into a pending calibration. */
  private measureHands(recvMs: number, left: ArrayLike<number> | null, right: ArrayLike<number> | null): void {
    const m = this.handCapture;
    if (m === null) return;
    if (!m.capture.ends(recvMs)) {
      m.capture.add(left, right);
      return;
    }
    this.handCapture = null;
    const outcome = m.capture.finish();
    const report: Record<string, unknown> = {};
    const handScale: Partial<Record<Side, number>> = {};
    const digitScales: Partial<Record<Side, number[]>> = {};
    for (const side of SIDES) {
      const o = outcome[side];
      if (!o.ok) {
        report[side] = { code: o.code, message: o.message };
        continue;
      }
      const c = { handScale: { [side]: o.calibration.scale }, digitScales: { [side]: Array.from(o.calibration.digitScales) } };
      const bad = validateCalibration(c);
      if (bad !== null) {
        report[side] = { code: 'CALIBRATION_OUT_OF_RANGE', message: `control: calibrate_hands: the ${side} hand measured out of range: ${bad.replace(/^control: /, '')}` };
        continue;
      }
      handScale[side] = o.calibration.scale;
      digitScales[side] = c.digitScales[side]!;
      report[side] = { scale: o.calibration.scale, digitScales: digitScales[side], frames: o.calibration.frames };
    }
    this.emit('tracking', { handCalibration: report, by: m.by });
    if (Object.keys(handScale).length > 0) this.calibrate({ handScale, digitScales }, m.by);
  }

  /** The calibration waiting for the next engage, or null. */
  get pendingCalibrationRequest(): CalibrationRequest | null {
    return this.pendingCalibration;
  }

  private applyCalibration(by: string): void {
    const c = this.pendingCalibration;
    if (c === null) return;
    this.pendingCalibration = null;
    if (c.handScale !== undefined) this.retargeter.setHandScale(c.handScale);
    if (c.translationScale !== undefined) this.retargeter.setTranslationScale(c.translationScale);
    if (c.digitScales !== undefined) this.retargeter.setDigitScales(c.digitScales);
    this.emit('tracking', { calibrated: { ...c }, by });
  }

  /**
   * The robot's measured joints (56, state order; NaN where unknown), e.g. from ROS.
   * @param complete every joint the robot config expects was in the message (default true).
   */
  setMeasured(q: ArrayLike<number>, complete = true): void {
    this.state.measured.set(q);
    this.measuredAtMs = this.clock();
    this.measuredComplete = complete;
  }

  private measuredFresh(now: number): boolean {
    return this.measuredComplete && now - this.measuredAtMs <= this.measuredMaxAgeMs;
  }

  /**
   * The gate starts from the robot: when measured joints are fresh and the gate is at rest, the
   * command becomes the measured joints (where measured; the last command elsewhere).
   */
  private startFromRobot(now: number): void {
    if (!this.measuredFresh(now) || !this.safety.atRest()) return;
    const q = this.safety.commanded(this.startQ);
    const m = this.state.measured;
    for (let i = 0; i < ACTIVE_DIM; i++) {
      const v = m[STATE_INDEX_OF_ACTIVE[i]!]!;
      if (Number.isFinite(v)) q[i] = v;
    }
    this.safety.reset(q);
    this.safety.commanded(this.commanded);
    for (const side of SIDES) {
      const o = activeArmOffset(side);
      this.retargeter.seedArm(side, this.commanded.subarray(o, o + ARM_DOF));
    }
  }

  /**
   * The operator is gone (disconnected, lease released or taken over): hold at once (braking at
   * the arm's acceleration limit) and stay held until someone engages again.
   */
  operatorLost(reason: string): void {
    // A hand measurement in progress was the lost operator's: the next one's hands are not theirs.
    if (this.handCapture !== null) {
      this.handCapture = null;
      this.emit('tracking', { handCalibration: { cancelled: true, why: reason } });
    }
    for (const side of SIDES) this.disengageSide(side);
    this.disarm('operator_lost');
    this.emit('disengage', { side: 'both', by: reason });
    // A gated step (not a bare publish): the state sent at once already shows the hold (flag bit 3),
    // and its time and command are those of a real step, so the next step's velocity is honest.
    this.applyAndPublish(this.clock());
  }

  private disarm(reason: string): void {
    const was = this.armed;
    this.armed = false;
    this.disarmReason = reason;
    this.state.engageRequired = true;
    this.updateHold();
    if (was && this.chunkListeners.length > 0) this.emitPreview(this.clock(), 1000 / this.controlRateHz, HOLD_PREVIEW_MS, 'hold');
  }

  /** The gate's hold follows the loop's state: not armed, or the watchdog. */
  private updateHold(): void {
    const why = !this.armed ? this.disarmReason : this.watchdogTripped ? 'watchdog' : null;
    if (why === this.safety.holdReason) return;
    if (why === null) this.safety.release();
    else this.safety.hold(why);
  }

  /** A new operator session starts (its clock is new): re-estimate the time offset. */
  resetOperatorClock(): void {
    this.timeOffsetMs = Number.NaN;
  }

  /**
   * One accepted hand frame (already decoded and validated by the server). Operator frames are
   * retargeted in teleop, replayed frames in replay; in other modes operator frames only feed the
   * watchdog and the recording.
   */
  handFrame(seq: number, tMs: number, left: ArrayLike<number> | null, right: ArrayLike<number> | null, recvMs: number, source: FrameSource = 'operator'): void {
    const mode = this.state.mode;
    const drives = source === 'replay' ? mode === 'replay' : mode === 'teleop';
    if (source === 'operator') {
      this.lastFrameRecvMs = recvMs;
      if (this.handCapture !== null) this.measureHands(recvMs, left, right);
    }
    if (source === 'replay' && !drives) return;
    // Frame time on the server clock: a fixed offset per operator session keeps the operator's
    // own (precise) frame intervals for the filters while staying monotonic across sessions.
    // The offset is re-anchored when frame time strays more than a second from the server's.
    const mapped = tMs + this.timeOffsetMs;
    if (Number.isNaN(this.timeOffsetMs) || mapped <= this.lastRetargetTMs || Math.abs(mapped - recvMs) > 1000) {
      this.timeOffsetMs = Math.max(recvMs - tMs, this.lastRetargetTMs + 1 - tMs);
    }
    const t = tMs + this.timeOffsetMs;
    const f = this.frame;
    f.tMs = t;
    f.left = left ? copyInto(this.left, left) : null;
    f.right = right ? copyInto(this.right, right) : null;
    if (source === 'replay' || mode !== 'replay') for (const l of this.frameListeners) l(recvMs, seq, f);
    if (!drives) return;
    if (this.watchdogTripped && source === 'operator') {
      this.watchdogTripped = false;
      this.updateHold();
      this.emit('watchdog', { holding: false });
    }
    this.runRetarget(f, seq, tMs, recvMs);
  }

  private runRetarget(f: HandFrame, seq: number, sourceTMs: number, recvMs: number): void {
    const t0 = this.clock();
    const out = this.retargeter.process(f);
    this.lastRetargetTMs = f.tMs;
    const st = this.state;
    st.retargetMs = this.clock() - t0;
    st.sourceTMs = sourceTMs;
    st.sourceSeq = seq;
    st.sourceRecvMs = recvMs;
    this.desired.set(this.activeOf(out.action));
    for (const side of SIDES) {
      const tracked = out.status[side].tracked;
      // A side without a usable hand holds where the robot IS (the gate brakes it), not where the
      // retargeting last aimed: during a ramp-in that target can be far ahead of the robot.
      if (!tracked) this.holdSide(side);
      if (!tracked && this.wasTracked[side]) this.lostAtMs[side] = recvMs;
      if (tracked !== this.wasTracked[side]) {
        this.wasTracked[side] = tracked;
        this.emit('tracking', { side, tracked, hold: out.status[side].hold });
        // Back from a real loss: ease in, so the robot does not race to the re-acquired target.
        if (tracked && recvMs - this.lostAtMs[side] > SHORT_GAP_MS) this.safety.beginRamp();
      }
    }
    const g = this.gestures?.update(f.tMs, out.status);
    if (g === 'toggle') {
      if (this.engaged()) this.disengage(undefined, 'gesture');
      else {
        const r = this.engage(undefined, 'gesture');
        if (!r.ok) this.emit('hold', { reason: this.disarmReason, refused: 'engage', code: r.code, by: 'gesture' });
      }
    }
    const now = this.clock();
    this.applyAndPublish(now);
    this.teleopChunker.push(now, this.state.action);
    for (const l of this.retargetListeners) l(seq, sourceTMs);
  }

  /**
   * A policy chunk (decoded). Refused outside policy mode, while the e-stop is latched, or when
   * invalid or stale. An accepted chunk's gated preview goes to the chunk listeners.
   */
  submitChunk(chunk: ActionChunk, recvMs: number): { ok: true } | { ok: false; code: string; message: string } {
    if (this.state.mode !== 'policy') return { ok: false, code: 'MODE_FORBIDDEN', message: `control: chunks drive the robot only in policy mode (mode is ${this.state.mode})` };
    if (this.state.estop) return { ok: false, code: 'ESTOP_LATCHED', message: 'control: the emergency stop is latched' };
    const r = this.chunks.submit(chunk, recvMs);
    if (r.ok) this.emitPreview(recvMs, chunk.periodMs, this.chunks.coveredUntilMs() - recvMs, 'policy');
    return r;
  }

  /**
   * What the gate would command from `now` on, every `periodMs` for `horizonMs`: row 0 is the
   * command now; each later row is the desired joints then (for `policy` the queued chunks'
   * blend, for `hold` the command) passed through a copy of the gate (holds, ramp, limits,
   * workspace) from the gated state.
   */
  private emitPreview(now: number, periodMs: number, horizonMs: number, source: 'policy' | 'hold'): void {
    const k = Math.max(1, Math.min(MAX_CHUNK_K, Math.floor(horizonMs / periodMs) + 1));
    const data = this.previewData;
    this.preview.copyFrom(this.safety);
    this.safety.commanded(this.previewQ);
    this.assembler.assemble(this.previewQ, this.previewState, this.previewRow);
    data.set(this.previewRow, 0);
    let rows = 1;
    for (let r = 1; r < k; r++) {
      const t = now + r * periodMs;
      if (source === 'policy' && this.chunks.peek(t, this.policyAction)) activeFromAction(this.policyAction, this.previewDesired);
      else this.previewDesired.set(this.previewQ);
      this.preview.apply(this.previewDesired, periodMs / 1000, t, this.previewQ);
      this.assembler.assemble(this.previewQ, this.previewState, this.previewRow);
      data.set(this.previewRow, r * ACTION_DIM);
      rows++;
    }
    const chunk: ActionChunk = { startTimeMs: now, periodMs, k: rows, data: data.subarray(0, rows * ACTION_DIM) };
    for (const l of this.chunkListeners) l(now, chunk, source);
  }

  /** The control-rate tick: watchdog, policy execution, holds and idle publishing. */
  tick(): void {
    const now = this.clock();
    const st = this.state;
    if (st.mode === 'teleop' && !this.watchdogTripped && now - this.lastFrameRecvMs > this.watchdogMs && Number.isFinite(this.lastFrameRecvMs)) {
      this.watchdogTripped = true;
      this.updateHold();
      this.emit('watchdog', { holding: true, silentMs: Math.round(now - this.lastFrameRecvMs) });
    }
    if (st.mode === 'policy') {
      if (this.chunks.sample(now, this.policyAction)) this.desired.set(this.activeOf(this.policyAction));
      else this.desired.set(this.commanded); // no chunk covers now: hold
      this.applyAndPublish(now);
      return;
    }
    // Teleop with frames flowing publishes per frame; otherwise publish the held state at the control rate.
    if (now - this.lastStateMs >= 1000 / this.controlRateHz - 0.5) {
      if (st.mode !== 'teleop' || this.watchdogTripped) this.desired.set(this.commanded);
      st.sourceTMs = Number.NaN;
      st.sourceSeq = 0;
      st.sourceRecvMs = Number.NaN;
      this.applyAndPublish(now);
    }
  }

  /** desired := commanded for one side's arm and hand joints. */
  private holdSide(side: Side): void {
    const a = activeArmOffset(side), h = activeHandOffset(side);
    for (let i = 0; i < ARM_DOF; i++) this.desired[a + i] = this.commanded[a + i]!;
    for (let i = 0; i < HAND_ACTIVE_DOF; i++) this.desired[h + i] = this.commanded[h + i]!;
  }

  private applyAndPublish(now: number): void {
    const dtS = Math.max(0, (now - this.lastApplyMs) / 1000);
    this.lastApplyMs = now;
    // Not armed: the desired joints are the command (the gate's hold already ignores them).
    if (!this.armed) this.desired.set(this.commanded);
    this.updateHold();
    const report = this.safety.apply(this.desired, dtS, now, this.commanded);
    this.state.holding = report.held;
    this.state.holdReason = report.holdReason;
    this.checkFollowing(now);
    this.publish(now);
  }

  /**
   * The following-error monitor: while armed, a fresh measured joint further than its bound from
   * its command for longer than `followingErrorMs` disarms (the robot holds, and says why).
   */
  private checkFollowing(now: number): void {
    if (!this.armed || !this.measuredFresh(now)) {
      this.followingSinceMs = Number.NaN;
      return;
    }
    const m = this.state.measured;
    let worst = -1;
    let worstErr = 0;
    for (let i = 0; i < ACTIVE_DIM; i++) {
      const v = m[STATE_INDEX_OF_ACTIVE[i]!]!;
      if (!Number.isFinite(v)) continue;
      const err = Math.abs(v - this.commanded[i]!);
      const bound = IS_ARM_ACTIVE[i] === 1 ? this.followingErrorRad : this.handFollowingErrorRad;
      if (err > bound && err - bound > worstErr) {
        worst = i;
        worstErr = err - bound;
      }
    }
    if (worst < 0) {
      this.followingSinceMs = Number.NaN;
      return;
    }
    if (Number.isNaN(this.followingSinceMs)) this.followingSinceMs = now;
    if (now - this.followingSinceMs < this.followingErrorMs) return;
    const joint = ACTIVE_JOINT_NAMES[worst]!;
    const errorRad = Math.abs(m[STATE_INDEX_OF_ACTIVE[worst]!]! - this.commanded[worst]!);
    this.followingSinceMs = Number.NaN;
    this.disarm('following_error');
    this.emit('hold', {
      reason: 'following_error', joint, errorRad, boundRad: IS_ARM_ACTIVE[worst] === 1 ? this.followingErrorRad : this.handFollowingErrorRad,
      engageRequired: true,
    });
  }

  private publish(now: number): void {
    const st = this.state;
    this.assembler.assemble(this.commanded, st.q, st.action);
    st.seq++;
    st.serverTimeMs = now;
    const cs = this.chunks.stats();
    st.chunkQueueDepth = cs.queueDepth;
    st.chunkLatencyMs = cs.lastLatencyMs;
    this.lastStateMs = now;
    st.measuredValid = this.measuredFresh(now);
    // A latched e-stop holds (bit 3) in every state from the one its latch publishes on.
    if (this.safety.estopped) st.holding = true;
    st.holdReason = this.safety.estopped ? 'estop' : this.safety.holdReason;
    st.engageRequired = !this.armed;
    for (const l of this.stateListeners) l(st);
  }
}

function copyInto(out: Float64Array, src: ArrayLike<number>): Float64Array {
  for (let i = 0; i < 200; i++) out[i] = src[i]!;
  return out;
}
