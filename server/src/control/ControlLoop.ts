/**
 * The control loop: one place that owns the robot command. Sources of desired joints (the
 * operator's hand frames through the retargeting, a policy's action chunks, a replayed session)
 * all pass the same safety gate; every change of mode, lease, engagement or e-stop is an event
 * that viewers see and the recording keeps.
 *
 * Teleop frames are processed the moment they arrive (latency matters more than a fixed tick);
 * a timer at the control rate runs the watchdog, policy chunks, holds and idle broadcasts.
 */
import {
  type ActionChunk, ACTIVE_DIM, createRig, type HandFrame, Retargeter, type RetargeterOptions, type Rig, type Side, SIDES, STATE_DIM, ACTION_DIM,
} from '@dexbridge/retarget';
import { activeFromAction, ChunkExecutor, Safety, type SafetyOptions, TeleopChunker } from './index.js';
import { activeArmOffset, activeHandOffset, ARM_DOF, HAND_ACTIVE_DOF, StateAssembler } from '@dexbridge/retarget';
import { GestureDetector } from './GestureDetector.js';

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
  /** The robot's measured joints from ROS (state order), and whether they are fresh. */
  readonly measured: Float64Array;
  measuredValid: boolean;
}

export interface LoopEvent {
  readonly event: 'mode' | 'lease' | 'estop' | 'estop_reset' | 'engage' | 'disengage' | 'recording' | 'ros' | 'watchdog' | 'tracking' | 'chunk';
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
}

type StateListener = (s: LoopState) => void;
type EventListener = (e: LoopEvent) => void;
type ChunkListener = (tMs: number, chunk: ActionChunk, source: 'teleop' | 'policy') => void;
type FrameListener = (recvMs: number, seq: number, frame: HandFrame) => void;
/** An operator frame was retargeted and the state answering it published; its `seq` and client `tMs`. */
type RetargetListener = (sourceSeq: number, sourceTMs: number) => void;

export class ControlLoop {
  readonly rig: Rig;
  readonly controlRateHz: number;
  readonly watchdogMs: number;
  readonly state: LoopState;
  private readonly clock: () => number;
  private readonly retargeter: Retargeter;
  private readonly safety: Safety;
  private readonly chunks: ChunkExecutor;
  private readonly assembler: StateAssembler;
  private readonly teleopChunker: TeleopChunker;
  private readonly gestures: GestureDetector | undefined;
  private readonly desired = new Float64Array(ACTIVE_DIM);
  private readonly commanded = new Float64Array(ACTIVE_DIM);
  private readonly policyAction = new Float32Array(ACTION_DIM);
  private readonly stateListeners: StateListener[] = [];
  private readonly eventListeners: EventListener[] = [];
  private readonly chunkListeners: ChunkListener[] = [];
  private readonly frameListeners: FrameListener[] = [];
  private readonly retargetListeners: RetargetListener[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastApplyMs: number;
  private lastFrameRecvMs = Number.NEGATIVE_INFINITY;
  private lastStateMs = Number.NEGATIVE_INFINITY;
  private timeOffsetMs = Number.NaN;
  private lastRetargetTMs = Number.NEGATIVE_INFINITY;
  private watchdogTripped = false;
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
    this.clock = options.clock ?? (() => performance.now());
    this.retargeter = new Retargeter(this.rig, { ...options.retarget, autoEngage: options.autoEngage ?? false });
    this.safety = new Safety(this.rig, options.safety);
    this.chunks = new ChunkExecutor(this.rig);
    this.assembler = new StateAssembler(this.rig);
    this.gestures = options.gestures === false ? undefined : new GestureDetector();
    this.teleopChunker = new TeleopChunker(options.teleopChunkK ?? 1, 1000 / this.controlRateHz, (chunk) => {
      for (const l of this.chunkListeners) l(chunk.startTimeMs, chunk, 'teleop');
    });
    // Start from the retargeter's home posture: the robot's commanded state.
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
    };
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
  /** Chunks that leave the loop: teleop's stream and the policy's accepted chunks. */
  onChunk(l: ChunkListener): void { this.chunkListeners.push(l); }
  /** Raw operator frames as accepted (for the recording). */
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

  setMode(mode: Mode, by: string): void {
    if (mode === this.state.mode) return;
    const from = this.state.mode;
    this.state.mode = mode;
    if (mode !== 'policy') this.chunks.clear();
    // Policy and replay drive the robot without an operator: choosing them ends a lost operator's hold.
    if ((mode === 'policy' || mode === 'replay') && this.operatorLostHold) {
      this.operatorLostHold = false;
      this.safety.release();
    }
    if (mode === 'idle') {
      for (const side of SIDES) this.disengageSide(side);
    }
    this.safety.beginRamp();
    this.emit('mode', { from, to: mode, by });
  }

  engage(side: Side | undefined, by: string): void {
    if (this.state.estop) return;
    // An explicit engage is what ends the hold after the operator was lost.
    if (this.operatorLostHold) {
      this.operatorLostHold = false;
      this.safety.release();
    }
    for (const s of side ? [side] : SIDES) this.retargeter.engage(s);
    this.safety.beginRamp();
    this.emit('engage', { side: side ?? 'both', by });
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

  estop(by: string): void {
    const already = this.state.estop;
    this.safety.estop();
    this.state.estop = true;
    for (const side of SIDES) this.disengageSide(side);
    this.chunks.clear();
    if (!already) this.emit('estop', { by });
    this.publish(this.clock());
  }

  resetEstop(by: string): void {
    if (!this.state.estop) return;
    this.safety.resetEstop();
    this.safety.beginRamp();
    this.state.estop = false;
    this.emit('estop_reset', { by });
  }

  /** Operator calibration: hand scale (both or per side) and the arms' translation scale. */
  calibrate(c: { handScale?: number | Partial<Record<Side, number>>; translationScale?: number }, by: string): void {
    if (c.handScale !== undefined) this.retargeter.setHandScale(c.handScale);
    if (c.translationScale !== undefined) this.retargeter.setTranslationScale(c.translationScale);
    this.emit('tracking', { calibrated: { ...c }, by });
  }

  /** The robot's measured joints (56, state order; NaN where unknown), e.g. from ROS. */
  setMeasured(q: ArrayLike<number>): void {
    this.state.measured.set(q);
    this.measuredAtMs = this.clock();
  }

  private measuredAtMs = Number.NEGATIVE_INFINITY;

  /**
   * The operator is gone (disconnected, lease released or taken over): hold at once (braking at
   * the arm's acceleration limit) and stay held until someone engages again.
   */
  operatorLost(reason: string): void {
    for (const side of SIDES) this.disengageSide(side);
    this.operatorLostHold = true;
    this.safety.hold('operator_lost');
    this.emit('disengage', { side: 'both', by: reason });
    // A gated step (not a bare publish): the state sent at once already shows the hold (flag bit 3),
    // and its time and command are those of a real step, so the next step's velocity is honest.
    this.applyAndPublish(this.clock());
  }

  private operatorLostHold = false;

  /** A new operator session starts (its clock is new): re-estimate the time offset. */
  resetOperatorClock(): void {
    this.timeOffsetMs = Number.NaN;
  }

  /**
   * One accepted operator frame (already decoded and validated by the server). In teleop mode it
   * is retargeted and published at once; in other modes it only feeds the watchdog.
   */
  handFrame(seq: number, tMs: number, left: ArrayLike<number> | null, right: ArrayLike<number> | null, recvMs: number): void {
    this.lastFrameRecvMs = recvMs;
    // Operator time on the server clock: a fixed offset per operator session keeps the operator's
    // own (precise) frame intervals for the filters while staying monotonic across sessions.
    // The offset is re-anchored when operator time strays more than a second from the server's
    // (a clock jump, a bogus far-future stamp): the retargeting's time must stay near real time,
    // or one absurd stamp would stop time advancing for every later operator.
    const mapped = tMs + this.timeOffsetMs;
    if (Number.isNaN(this.timeOffsetMs) || mapped <= this.lastRetargetTMs || Math.abs(mapped - recvMs) > 1000) {
      this.timeOffsetMs = Math.max(recvMs - tMs, this.lastRetargetTMs + 1 - tMs);
    }
    const t = tMs + this.timeOffsetMs;
    const f = this.frame;
    f.tMs = t;
    f.left = left ? copyInto(this.left, left) : null;
    f.right = right ? copyInto(this.right, right) : null;
    for (const l of this.frameListeners) l(recvMs, seq, f);
    if (this.state.mode !== 'teleop' && this.state.mode !== 'replay') return;
    if (this.watchdogTripped) {
      this.watchdogTripped = false;
      // Frames are back: the watchdog's hold ends (a lost operator's hold waits for engage).
      if (!this.operatorLostHold) {
        this.safety.release();
        this.safety.beginRamp();
      }
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
        // (A dropout of a frame or two is continuous tracking, as the retargeting treats it.)
        if (tracked && recvMs - this.lostAtMs[side] > SHORT_GAP_MS) this.safety.beginRamp();
      }
    }
    const g = this.gestures?.update(f.tMs, out.status);
    if (g === 'toggle') {
      if (this.engaged()) this.disengage(undefined, 'gesture');
      else this.engage(undefined, 'gesture');
    }
    this.applyAndPublish(this.clock());
    this.teleopChunker.push(f.tMs, this.state.action);
    for (const l of this.retargetListeners) l(seq, sourceTMs);
  }

  /** A policy chunk (decoded). Refused outside policy mode or when invalid or stale. */
  submitChunk(chunk: ActionChunk, recvMs: number): { ok: true } | { ok: false; code: string; message: string } {
    if (this.state.mode !== 'policy') return { ok: false, code: 'MODE_FORBIDDEN', message: `control: chunks drive the robot only in policy mode (mode is ${this.state.mode})` };
    if (this.state.estop) return { ok: false, code: 'ESTOP_LATCHED', message: 'control: the emergency stop is latched' };
    const r = this.chunks.submit(chunk, recvMs);
    if (r.ok) for (const l of this.chunkListeners) l(recvMs, chunk, 'policy');
    return r;
  }

  /** The control-rate tick: watchdog, policy execution, holds and idle publishing. */
  tick(): void {
    const now = this.clock();
    const st = this.state;
    if (st.mode === 'teleop' && !this.watchdogTripped && now - this.lastFrameRecvMs > this.watchdogMs && Number.isFinite(this.lastFrameRecvMs)) {
      this.watchdogTripped = true;
      this.safety.hold('watchdog');
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
    const report = this.safety.apply(this.desired, dtS, now, this.commanded);
    this.state.holding = report.held;
    this.publish(now);
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
    // Measured joints older than half a second are not shown as current.
    st.measuredValid = now - this.measuredAtMs < 500;
    for (const l of this.stateListeners) l(st);
  }
}

function copyInto(out: Float64Array, src: ArrayLike<number>): Float64Array {
  for (let i = 0; i < 200; i++) out[i] = src[i]!;
  return out;
}
