/**
 * Faults, end to end: what the robot does when the world misbehaves. Each fault is one test, on
 * a real server (in-process on port 0, or a child process for the crash), with real `ws` clients:
 *
 * 1. the operator disconnects mid-motion → the robot holds at once (arms brake at the acceleration
 *    limit, hands stop), a new operator's frames do not move it, `engage` ramps it back in;
 * 2. tracking of one hand is lost → that side holds, the other keeps following;
 * 4. `kill -9` while recording → `dexbridge recover` gives a valid MCAP with all but the last
 *    second; a restart never overwrites an existing file;
 * 5. the operator's clock jumps (forward 10 s, forward 1 h, back) and frames arrive late → the
 *    robot never moves a joint faster than its limit;
 * 6. the recordings disk fills up (a real 512 KiB tmpfs, all but 256 KiB of it filled first;
 *    skipped with a note where it cannot be mounted) → a `recording` error, teleop goes on, the
 *    partial file is recoverable.
 *
 * (3, rosbridge killed and restarted, is in server/test/serve.test.ts and server/test/ros.test.ts.)
 *
 * Velocities are measured from consecutive ROBOT_STATEs (commanded joints, `serverTimeMs`), which
 * a viewer on this machine receives without gaps.
 */
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createRig, type HandFrame, parseHandFramesJsonl, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { main } from '@dexbridge/server';
import { type DecodedRobotState, encodeHandFrame, ROW_BLOCK_ENCODING } from '@dexbridge/server/protocol';
import { McapIndexedReader } from '@mcap/core';
import { describe, expect, it } from 'vitest';
import { type DexbridgeOptions, type RunningDexbridge, startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { DEFAULT_RELEARN_FRAMES } from '../server/src/control/OperatorClock.js';
import { DEFAULT_MAX_STEP_S } from '../server/src/control/Safety.js';
import { decodeHandFrameMessage, FileReadable, readRecording, recordingBaseName, recoverMcap } from '../server/src/recording/index.js';
import { type Json, TestClient } from '../server/test/support/wsClient.js';
import { tempDirs } from '../server/test/support/tempDirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVE_CHILD = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));
const FRAMES: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter(
  (f) => f.left !== null && f.right !== null,
);
const OP = 'faults-operator-token';
const POLICY = 'faults-policy-token';
const PERIOD_MS = 1000 / 90; // the default control rate
const MAX_STEP_S = DEFAULT_MAX_STEP_S; // Safety's maxStepS (0.1 s): no step licenses more than v × maxStepS
const ARM_ACCEL = 10; // rad/s², Safety's armMaxAccelerationRadS2
/** Commanded positions travel as f32: an exact difference can read this much off. */
const F32_EPS = 2e-6;

const rig = createRig();
const VMAX = Float64Array.from(STATE_JOINT_NAMES, (name) => rig.jointLimit(name)!.velocity);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
// ROBOT_STATE.commanded: left arm 7, right arm 7, left hand 21, right hand 21.
const ARMS = range(0, 14);
const HANDS = range(14, 56);
const LEFT_ARM = range(0, 7);
const RIGHT_ARM = range(7, 14);
const LEFT_HAND = range(14, 35);
const LEFT = [...LEFT_ARM, ...LEFT_HAND];
const ALL = range(0, 56);

const children: { child: ChildProcessByStdio<null, Readable, Readable>; exited: Promise<unknown> }[] = [];
// A child that a failed case left running is stopped first: no folder goes while one writes to it.
const tmp = tempDirs('faults', async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const detail = (m: Json): Record<string, unknown> => m['detail'] as Record<string, unknown>;
const isEvent = (m: Json, event: string, fields: Record<string, unknown> = {}): boolean =>
  m.type === 'event' && m['event'] === event && Object.entries(fields).every(([k, v]) => detail(m)[k] === v);
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Largest |a − b| over the joints `idx`. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, idx: readonly number[] = ALL): number {
  let m = 0;
  for (const j of idx) m = Math.max(m, Math.abs(a[j]! - b[j]!));
  return m;
}

/**
 * The worst joint speed between consecutive states as a fraction of its URDF limit, and the worst
 * single step as a fraction of `limit × 0.1 s`.
 */
function motionFigures(states: readonly DecodedRobotState[]): { velocityRatio: number; stepRatio: number; worst: string } {
  let velocityRatio = 0, stepRatio = 0, worst = 'none';
  for (let k = 1; k < states.length; k++) {
    const a = states[k - 1]!, b = states[k]!;
    const dtS = (b.serverTimeMs - a.serverTimeMs) / 1000;
    for (const j of ALL) {
      const d = Math.max(0, Math.abs(b.commanded[j]! - a.commanded[j]!) - F32_EPS);
      if (d === 0) continue;
      const vr = dtS > 0 ? d / (VMAX[j]! * dtS) : Number.POSITIVE_INFINITY;
      stepRatio = Math.max(stepRatio, d / (VMAX[j]! * MAX_STEP_S));
      if (vr > velocityRatio) {
        velocityRatio = vr;
        worst = `${STATE_JOINT_NAMES[j]} moved ${d.toExponential(3)} rad in ${(dtS * 1000).toFixed(2)} ms (states ${a.seq}→${b.seq})`;
      }
    }
  }
  return { velocityRatio, stepRatio, worst };
}

/** Step velocities (rad/s) of the joints `idx` between consecutive states. */
function stepVelocities(states: readonly DecodedRobotState[], idx: readonly number[]): { v: Float64Array; dtS: number; oneStep: boolean }[] {
  const out: { v: Float64Array; dtS: number; oneStep: boolean }[] = [];
  for (let k = 1; k < states.length; k++) {
    const a = states[k - 1]!, b = states[k]!;
    const dtS = (b.serverTimeMs - a.serverTimeMs) / 1000;
    // A viewer may miss a state (latest wins when it lags): then this is the mean over two steps.
    // A step longer than the gate's maxStepS is one the gate took as maxStepS (docs/safety.md: a
    // stalled loop never licenses a jump): its clock velocity is not the gate's, so it measures no
    // acceleration either. Only a loaded machine stalls the loop that long (seen once in CI: 80 rad/s²
    // "measured" across it).
    out.push({ dtS, oneStep: b.seq === a.seq + 1 && dtS <= MAX_STEP_S, v: Float64Array.from(idx, (j) => (b.commanded[j]! - a.commanded[j]!) / dtS) });
  }
  return out;
}

/** The largest change of step velocity per second of the step, rad/s², f32 noise removed. */
function maxAcceleration(states: readonly DecodedRobotState[], idx: readonly number[]): number {
  const steps = stepVelocities(states, idx);
  let worst = 0;
  let measured = 0;
  for (let k = 1; k < steps.length; k++) {
    const p = steps[k - 1]!, s = steps[k]!;
    // Across a missed state the difference of a two-step mean and a one-step velocity spans 1.5
    // steps of change over one step's time: only consecutive control steps, each within the
    // gate's maxStepS, measure acceleration.
    if (!(p.dtS > 0 && s.dtS > 0 && p.oneStep && s.oneStep)) continue;
    measured++;
    const noise = F32_EPS * (1 / p.dtS + 1 / s.dtS);
    for (let i = 0; i < idx.length; i++) worst = Math.max(worst, Math.max(0, Math.abs(s.v[i]! - p.v[i]!) - noise) / s.dtS);
  }
  // Not vacuous: enough pairs of consecutive steps were there to measure.
  if (measured < Math.min(5, steps.length - 1)) throw new Error(`maxAcceleration: only ${measured} of ${steps.length - 1} step pairs are consecutive control steps within maxStepS`);
  return worst;
}

/** The fastest joint of `idx` over the given states, rad/s. */
function maxSpeed(states: readonly DecodedRobotState[], idx: readonly number[]): number {
  let m = 0;
  for (const s of stepVelocities(states, idx)) for (const v of s.v) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Streams the bundled Quest session as a headset would, stamped with its own monotonic clock
 * (this process's `performance.now()`, plus `clockOffsetMs` to simulate a clock jump). Both wrists
 * sway a few centimetres so the arms are always moving.
 */
class Operator {
  seq = 0;
  t = Number.NEGATIVE_INFINITY;
  i = 0;
  clockOffsetMs = 0;
  leftTracked = true;
  /** When each frame was sent, this process's clock (ms), by seq. */
  readonly sentAt = new Map<number, number>();
  private readonly l = new Float64Array(200);
  private readonly r = new Float64Array(200);
  constructor(readonly c: TestClient) {}

  /** The next frame, stamped now (or at `tMs`), not sent. */
  frame(tMs?: number): { seq: number; bytes: Uint8Array } {
    const f = FRAMES[this.i++ % FRAMES.length]!;
    const now = performance.now();
    this.t = tMs ?? Math.max(now + this.clockOffsetMs, this.t + 0.01);
    const s = this.seq * 0.011; // the sway follows the frame count: the same motion every run
    const dx = 0.06 * Math.sin(2 * Math.PI * 0.6 * s), dy = 0.05 * Math.sin(2 * Math.PI * 0.45 * s);
    for (const [src, out] of [[f.left!, this.l], [f.right!, this.r]] as const) {
      out.set(src);
      for (let j = 0; j < 200; j += 8) {
        out[j] = out[j]! + dx;
        out[j + 1] = out[j + 1]! + dy;
      }
    }
    const seq = ++this.seq;
    return { seq, bytes: encodeHandFrame(undefined, { seq, tMs: this.t, left: this.leftTracked ? this.l : null, right: this.r }) };
  }

  send(tMs?: number): number {
    const { seq, bytes } = this.frame(tMs);
    this.c.sendBinary(bytes);
    this.sentAt.set(seq, performance.now());
    return seq;
  }

  /**
   * Sends `ms / 11` frames about 11 ms apart (~90 Hz): the same frames however busy the machine is
   * (then they only take longer), each stamped when it is sent.
   */
  async stream(ms: number, stamp?: () => number): Promise<void> {
    for (let k = Math.round(ms / 11); k > 0; k--) {
      this.send(stamp?.());
      await sleep(11);
    }
  }

  /** Codes of the errors this operator got. */
  errors(): string[] {
    return this.c.json.filter((m) => m.type === 'error').map((m) => String(m['code']));
  }
}

async function start(extra: Partial<DexbridgeOptions> = {}): Promise<{ run: RunningDexbridge; url: string }> {
  const run = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off', ...extra });
  return { run, url: `ws://127.0.0.1:${run.port}/ws` };
}

/** An operator that has taken the lease, engaged both arms, and streamed until the ramp-in is over. */
async function engagedOperator(url: string, viewer: TestClient, name: string, followMs = 1300): Promise<Operator> {
  const op = new Operator(await TestClient.hello(url, 'operator', OP, name));
  await op.stream(150);
  const from = viewer.json.length;
  op.c.send({ type: 'engage' });
  await viewer.waitJson((m) => isEvent(m, 'engage', { by: name }), 3000, from, 'engage');
  await op.stream(followMs);
  return op;
}

/** `dexbridge serve` in a child process; resolves once it prints its URL. */
async function spawnServe(args: readonly string[]): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; url: string; exited: Promise<NodeJS.Signals | number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', SERVE_CHILD, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  children.push({ child, exited });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${stdout} ${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /dexbridge (?:ready|running) on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace(/^http/, 'ws') + '/ws');
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited early: ${stdout} ${stderr}`));
    });
  });
  return { child, url, exited, stderr: () => stderr };
}

describe('faults', () => {
  it('operator disconnects mid-motion: the robot holds within one control tick; a new operator moves it only after engage, ramping in', async () => {
    const { run, url } = await start();
    try {
      const viewer = await TestClient.hello(url, 'viewer');
      const op = await engagedOperator(url, viewer, 'first', 1500);
      // It moves: the arms follow the swaying wrists.
      const moving = viewer.states.filter((s) => s.sourceSeq > 0).slice(-10);
      const armSpeed = maxSpeed(moving, ARMS);
      expect(armSpeed, 'arm speed before the disconnect, rad/s').toBeGreaterThan(0.05);
      expect(moving.every((s) => !s.watchdogHold && s.status.left.engaged && s.status.right.engaged)).toBe(true);

      // The operator's socket dies (no close handshake).
      const fromJson = viewer.json.length;
      op.c.ws.terminate();
      const lost = await viewer.waitJson((m) => isEvent(m, 'disengage', { by: 'disconnect' }), 3000, fromJson, 'disengage on disconnect');
      await viewer.waitJson((m) => isEvent(m, 'lease', { holder: null }), 3000, fromJson, 'lease freed');
      const tLost = lost['serverTimeMs'] as number;
      // States covering 0.8 s of server time after the event: longer than any braking (v/a ≤ 0.53 s).
      await viewer.until(() => (viewer.states.at(-1)?.serverTimeMs ?? 0) >= tLost + 800, 30_000, 'states 0.8 s past the disconnect');
      const all = viewer.states.slice();
      const k0 = all.findIndex((s) => s.serverTimeMs >= tLost);
      expect(k0).toBeGreaterThan(0);
      const lastBefore = all[k0 - 1]!;
      const after = all.slice(k0);
      expect(after.length).toBeGreaterThan(10);

      // From the first state after the event on, every state says the robot is held.
      const early = after.filter((s) => s.serverTimeMs <= tLost + PERIOD_MS);
      expect(after.every((s) => s.watchdogHold)).toBe(true);
      expect(after.every((s) => !s.leaseHeld)).toBe(true);
      expect(after.map((s) => s.status.left.engaged || s.status.right.engaged).filter(Boolean).length, 'states showing an arm engaged').toBe(0);
      // Hands stop at once: not one hand joint moves after the last command before the event.
      expect(Math.max(...after.map((s) => maxDiff(s.commanded, lastBefore.commanded, HANDS)))).toBeLessThan(F32_EPS);
      // Arms decelerate at the acceleration limit and come to rest within 0.6 s.
      const braking = [lastBefore, ...after];
      let lastMove = tLost;
      for (let k = 1; k < braking.length; k++) {
        if (maxDiff(braking[k]!.commanded, braking[k - 1]!.commanded, ARMS) > F32_EPS) lastMove = braking[k]!.serverTimeMs;
      }
      const brakingMs = lastMove - tLost;
      const accel = maxAcceleration([all[k0 - 2]!, ...braking], ARMS);
      const motion = motionFigures(braking);
      console.info(
        `fault 1 (operator lost): arm speed before ${armSpeed.toFixed(3)} rad/s; braking ${brakingMs.toFixed(0)} ms; ` +
          `max arm deceleration ${accel.toFixed(2)} rad/s²; max velocity ratio ${motion.velocityRatio.toFixed(3)} (${motion.worst}); ` +
          `states within one period of the event: ${early.length}`,
      );
      // It came to rest, with states at rest after the last move (how many ms braking took depends on
      // the physics above, v/a, measured from the states themselves, not on a wall-clock bound).
      expect(all.filter((s) => s.serverTimeMs > lastMove).length).toBeGreaterThan(5);
      expect(accel).toBeLessThanOrEqual(ARM_ACCEL * 1.05);
      expect(motion.velocityRatio, motion.worst).toBeLessThanOrEqual(1.001);
      const rest = Float32Array.from(all.at(-1)!.commanded);
      expect(Math.max(...all.filter((s) => s.serverTimeMs >= lastMove).map((s) => maxDiff(s.commanded, rest)))).toBeLessThan(F32_EPS);

      // A new operator streams without engaging: its frames are retargeted, the robot stays put.
      const fromLease = viewer.json.length;
      const op2 = new Operator(await TestClient.hello(url, 'operator', OP, 'second'));
      // The lease changes hands with op2's first frame, not its hello: count from the lease event.
      const streamed = op2.stream(700);
      const leased = await viewer.waitJson((m) => isEvent(m, 'lease', { holder: 'second' }), 3000, fromLease, 'lease taken');
      const tLeased = leased['serverTimeMs'] as number;
      await streamed;
      await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op2.seq), 2000, 'the second operator’s last frame answered');
      const unengaged = viewer.states.filter((s) => s.serverTimeMs > tLeased);
      const answered2 = unengaged.filter((s) => s.sourceSeq > 0);
      expect(answered2.length).toBeGreaterThan(30);
      expect(answered2.every((s) => s.status.right.hold === 'none' && !s.status.left.engaged && !s.status.right.engaged)).toBe(true);
      expect(Math.max(...unengaged.map((s) => maxDiff(s.commanded, rest)))).toBeLessThan(F32_EPS);
      expect(unengaged.every((s) => s.watchdogHold && s.leaseHeld)).toBe(true);

      // engage: it ramps in from rest (step sizes grow from zero) and follows again.
      const fromEngage = viewer.json.length;
      const streaming = op2.stream(1500);
      await sleep(100);
      op2.c.send({ type: 'engage' });
      await streaming;
      const engaged = viewer.json.slice(fromEngage).find((m) => isEvent(m, 'engage', { by: 'second' }));
      expect(engaged).toBeDefined();
      const tEngage = engaged!['serverTimeMs'] as number;
      await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op2.seq), 2000, 'the last frame answered');
      const states = viewer.states.slice();
      const e0 = states.findIndex((s) => s.serverTimeMs > tEngage);
      const ramp = states.slice(e0 - 1);
      let rampRatio = 0;
      for (let k = 1; k < ramp.length; k++) {
        const a = ramp[k - 1]!, b = ramp[k]!;
        const fraction = Math.min(1, (b.serverTimeMs - tEngage) / 1000);
        const dtS = (b.serverTimeMs - a.serverTimeMs) / 1000;
        for (const j of ALL) {
          const d = Math.max(0, Math.abs(b.commanded[j]! - a.commanded[j]!) - F32_EPS);
          if (d > 0) rampRatio = Math.max(rampRatio, d / (VMAX[j]! * fraction * dtS));
        }
      }
      const firstStep = maxDiff(ramp[1]!.commanded, ramp[0]!.commanded);
      const steps = ramp.slice(1).map((s, k) => ({ t: s.serverTimeMs - tEngage, d: maxDiff(s.commanded, ramp[k]!.commanded) }));
      const earlyStep = Math.max(...steps.filter((s) => s.t < 100).map((s) => s.d));
      const lateStep = Math.max(...steps.filter((s) => s.t > 700).map((s) => s.d));
      const followed = maxDiff(states.at(-1)!.commanded, rest, ARMS);
      console.info(
        `fault 1 (re-engage): first step ${firstStep.toExponential(2)} rad, largest step in the first 100 ms ${earlyStep.toExponential(2)} rad, ` +
          `after 700 ms ${lateStep.toExponential(2)} rad; worst step / ramp limit ${rampRatio.toFixed(3)}; arms moved ${followed.toFixed(3)} rad`,
      );
      expect(firstStep).toBeLessThan(F32_EPS);
      expect(rampRatio).toBeLessThanOrEqual(1.001);
      expect(lateStep).toBeGreaterThan(earlyStep);
      expect(followed).toBeGreaterThan(5e-3);
      expect(states.at(-1)!.watchdogHold).toBe(false);
      // And over the whole session, no joint ever moved faster than its limit.
      const session = motionFigures(states);
      expect(session.velocityRatio, session.worst).toBeLessThanOrEqual(1.001);
      await Promise.all([viewer.close(), op2.c.close()]);
    } finally {
      await run.close();
    }
  }, 120_000);

  // Lost at 1.3 s the arm has just left the ramp-in and its command still trails the retargeting;
  // at 2.5 s it has caught up. Either way the side must brake where it is.
  for (const followMs of [1300, 2500]) it(`tracking lost on one hand ${followMs} ms after engage: that side holds, the other keeps following`, async () => {
    const { run, url } = await start();
    try {
      const viewer = await TestClient.hello(url, 'viewer');
      const op = await engagedOperator(url, viewer, 'tracker', followMs);
      const fromJson = viewer.json.length;
      op.leftTracked = false;
      const firstNull = op.seq + 1;
      await op.stream(1000);
      const lastNull = op.seq;
      op.leftTracked = true;
      await op.stream(150);
      await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op.seq), 2000, 'the last frame answered');
      expect(viewer.json.slice(fromJson).some((m) => isEvent(m, 'tracking', { side: 'left', tracked: false }))).toBe(true);

      const states = viewer.states.slice();
      const n0 = states.findIndex((s) => s.sourceSeq === firstNull);
      const n1 = states.findIndex((s) => s.sourceSeq === lastNull);
      expect(n0).toBeGreaterThan(0);
      const lost = states.slice(n0, n1 + 1);
      const answered = lost.filter((s) => s.sourceSeq > 0);
      expect(answered.length).toBeGreaterThan(50);
      expect(answered.every((s) => s.status.left.hold === 'missing')).toBe(true);
      expect(answered.every((s) => s.status.right.hold === 'none')).toBe(true);
      const t0 = lost[0]!.serverTimeMs;
      let leftLastMove = t0;
      for (let k = 1; k < lost.length; k++) if (maxDiff(lost[k]!.commanded, lost[k - 1]!.commanded, LEFT) > F32_EPS) leftLastMove = lost[k]!.serverTimeMs;
      // The left arm and hand come to rest well before the hand returns, and stay there; the right side moves on.
      const still = lost.filter((s) => s.serverTimeMs >= leftLastMove);
      expect(lost.filter((s) => s.serverTimeMs > leftLastMove).length, 'states with the left side at rest before its hand came back').toBeGreaterThan(10);
      expect(Math.max(...still.map((s) => maxDiff(s.commanded, still[0]!.commanded, LEFT)))).toBeLessThan(F32_EPS);
      const rightArmMoved = Math.max(...still.map((s) => maxDiff(s.commanded, still[0]!.commanded, RIGHT_ARM)));
      expect(rightArmMoved).toBeGreaterThan(5e-3);
      // Coming to rest, the left side kept every limit.
      const stopping = states.slice(n0 - 2, n0 + lost.length - still.length + 1);
      const leftAccel = maxAcceleration(stopping, LEFT_ARM);
      const motion = motionFigures(states.slice(n0 - 1));
      const speedAtLoss = maxSpeed(states.slice(n0 - 3, n0 + 1), LEFT_ARM);
      const peakLater = maxSpeed(lost.filter((s) => s.serverTimeMs >= t0 + 100), LEFT_ARM);
      const armTravel = maxDiff(lost[0]!.commanded, still[0]!.commanded, LEFT_ARM);
      const handTravel = maxDiff(lost[0]!.commanded, still[0]!.commanded, LEFT_HAND);
      console.info(
        `fault 2 (left hand lost): left at rest ${(leftLastMove - t0).toFixed(0)} ms after the first untracked frame, ` +
          `arm ${armTravel.toFixed(3)} rad and hand ${handTravel.toFixed(3)} rad from where they were (left arm ${speedAtLoss.toFixed(2)} rad/s at the loss, up to ${peakLater.toFixed(2)} rad/s from 100 ms after it; ` +
          `max deceleration ${leftAccel.toFixed(2)} rad/s²); right arm moved ${rightArmMoved.toFixed(3)} rad meanwhile; max velocity ratio ${motion.velocityRatio.toFixed(3)}`,
      );
      // Braking, never speeding up toward an old target.
      expect(peakLater).toBeLessThanOrEqual(speedAtLoss + 0.05);
      expect(leftAccel).toBeLessThanOrEqual(ARM_ACCEL * 1.05);
      expect(motion.velocityRatio, motion.worst).toBeLessThanOrEqual(1.001);
      // Tracking back: the left side follows again.
      expect(states.at(-1)!.status.left.hold).toBe('none');
      await Promise.all([viewer.close(), op.c.close()]);
    } finally {
      await run.close();
    }
  }, 120_000);

  it('kill -9 while recording: recover gives a valid MCAP with all but the last second; a restart never overwrites a file', async () => {
    const dir = tmp();
    const args = ['--port', '0', '--operator-token', OP, '--recordings', dir, '--record', 'session'];
    const first = await spawnServe(args);
    let killed = false;
    try {
      const op = new Operator(await TestClient.hello(first.url, 'operator', OP, 'crash'));
      const started = op.c.waitJson((m) => isEvent(m, 'recording', { active: true }), 5000, 0, 'recording started');
      await op.stream(100);
      await started;
      await op.stream(3000);
      const lastSent = op.seq;
      first.child.kill('SIGKILL');
      killed = true;
      expect(await first.exited).toBe('SIGKILL');
      const names = readdirSync(dir);
      expect(names.length).toBe(1);
      const file = join(dir, names[0]!);
      const size = statSync(file).size;
      const hash = sha256(file);
      await expect(readRecording(file)).rejects.toMatchObject({ code: 'RECORDING_NOT_INDEXED' });

      // dexbridge recover <file>
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: (t: string) => void err.push(t) } };
      expect(await main(['recover', file], io), err.join('')).toBe(0);
      const recovered = file.replace(/\.mcap$/, '.recovered.mcap');
      const readable = await FileReadable.open(recovered);
      const reader = await McapIndexedReader.Initialize({ readable }); // valid: summary, index and CRCs check
      expect(reader.chunkIndexes.length).toBeGreaterThan(0);
      await readable.close();
      const recording = await readRecording(recovered);
      const seqs: number[] = [];
      for await (const m of recording.messages({ topics: ['/dexbridge/hand_frames'] })) for (const f of decodeHandFrameMessage(m.data, ROW_BLOCK_ENCODING, 'hand frame')) seqs.push(f.seq);
      await recording.close();
      expect(recording.metadata['dexbridge']).toMatchObject({ operator: 'crash', complete: 'false' });
      expect(recording.metadata['dexbridge_recovery']).toMatchObject({ input_complete: 'false' });
      expect(seqs.length).toBeGreaterThan(100);
      // No accepted frame missing before the last recovered one. (A busy machine can stall this
      // process long enough that the server refuses a frame as stale: it said so, with its seq.)
      const lastRecovered = seqs.at(-1)!;
      const refused = new Set(op.c.json.filter((m) => m.type === 'error' && typeof m['seq'] === 'number').map((m) => m['seq'] as number));
      expect(seqs).toEqual(range(seqs[0]!, lastRecovered + 1).filter((n) => !refused.has(n)));
      const gapMs = op.sentAt.get(lastSent)! - op.sentAt.get(lastRecovered)!;
      console.info(`fault 4 (kill -9): sent frames up to seq ${lastSent}, recovered ${seqs.length} frames up to seq ${lastRecovered}: ${gapMs.toFixed(0)} ms lost; file ${size} bytes`);
      // The loss itself (at most one flush interval) is the recorder's unit test's to bound, with its
      // own clock; here, on a possibly busy machine, what counts is order: a prefix, nothing skipped.
      expect(lastRecovered).toBeLessThanOrEqual(lastSent);

      // Restart on the same folder, where every name for the next minute is taken too.
      const decoys = new Map<string, string>();
      const now = Date.now();
      for (let s = -1; s < 60; s++) {
        const path = join(dir, `${recordingBaseName(new Date(now + s * 1000))}.mcap`);
        if (path === file) continue;
        decoys.set(path, `decoy ${s}\n`);
        writeFileSync(path, `decoy ${s}\n`);
      }
      const before = new Set(readdirSync(dir));
      const second = await spawnServe(args);
      try {
        const op2 = new Operator(await TestClient.hello(second.url, 'operator', OP, 'restart'));
        const started2 = op2.c.waitJson((m) => isEvent(m, 'recording', { active: true }), 5000, 0, 'second recording started');
        await op2.stream(100);
        const ev = await started2;
        await op2.stream(800);
        await op2.c.close();
        second.child.kill('SIGTERM');
        expect(await second.exited, second.stderr()).toBe(0);
        const created = readdirSync(dir).filter((n) => !before.has(n));
        expect(created).toEqual([detail(ev)['file']]);
        expect(created[0]).toMatch(/^dexbridge-\d{8}-\d{6}-\d+\.mcap$/);
        const info = await readRecording(join(dir, created[0]!));
        await info.close();
        expect(info.metadata['dexbridge']).toMatchObject({ operator: 'restart', complete: 'true' });
      } finally {
        second.child.kill('SIGKILL');
      }
      expect(statSync(file).size).toBe(size);
      expect(sha256(file)).toBe(hash);
      for (const [path, text] of decoys) expect(readFileSync(path, 'utf8')).toBe(text);
    } finally {
      if (!killed) first.child.kill('SIGKILL');
    }
  }, 120_000);

  it('clock jumps and late frames: the robot never jumps', async () => {
    const { run, url } = await start();
    try {
      const viewer = await TestClient.hello(url, 'viewer');
      const op = await engagedOperator(url, viewer, 'clock', 1200);
      const from = viewer.states.findIndex((s) => s.sourceSeq > 0 && s.status.left.engaged);
      const errorsAt = (): number => op.c.json.length;
      const errorsSince = (k: number): Json[] => op.c.json.slice(k).filter((m) => m.type === 'error');

      // Late frames: stamped as usual, held back 300 ms, then sent in a burst.
      const k = errorsAt();
      const held: Uint8Array[] = [];
      const holdStart = performance.now();
      while (performance.now() - holdStart < 300) {
        held.push(op.frame().bytes);
        await sleep(11);
      }
      for (const b of held) op.c.sendBinary(b);
      await op.stream(300);
      const late = errorsSince(k);
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((m) => m['code'] === 'FRAME_STALE')).toBe(true);

      // The clock jumps forward by 10 s, then by an hour: implausible at first (a single such
      // frame is refused and changes nothing), then, after 10 frames that agree, the new clock
      // is believed and the frames are accepted again. On a busy machine frames that arrive more
      // than 100 ms apart from the others do not agree, so it can take more than 10: the stream
      // goes on until a frame sent after the jump is answered.
      const relearn = async (code: string, stamp?: () => number): Promise<Json[]> => {
        const k = errorsAt();
        const firstSeq = op.seq + 1;
        const t0 = performance.now();
        while (!viewer.states.some((s) => s.sourceSeq >= firstSeq)) {
          if (performance.now() - t0 > 20_000) throw new Error(`no frame answered within 20 s after the clock changed (${code})`);
          await op.stream(55, stamp);
        }
        await op.stream(100, stamp);
        const errors = errorsSince(k);
        // At least the 9 refusals before the 10th agreeing frame re-learns the clock; a frame held
        // up on a busy machine may also be refused as stale, and nothing else.
        expect(errors.filter((m) => m['code'] === code).length).toBeGreaterThanOrEqual(DEFAULT_RELEARN_FRAMES - 1);
        expect(errors.filter((m) => m['code'] !== code && m['code'] !== 'FRAME_STALE')).toEqual([]);
        return errors;
      };
      op.clockOffsetMs += 10_000;
      await relearn('FRAME_TIME_IMPLAUSIBLE');
      op.clockOffsetMs += 3_600_000;
      await relearn('FRAME_TIME_IMPLAUSIBLE');

      // The clock goes back (to where it was): refused, then re-learnt the same way; then it is
      // ahead again and frames resume.
      op.clockOffsetMs -= 3_610_000;
      const backFrom = op.t;
      const back = await relearn('FRAME_TIME_BACKWARDS', () => performance.now() + op.clockOffsetMs);
      expect(op.t).toBeLessThan(backFrom);
      op.clockOffsetMs += 3_610_000;
      await relearn('FRAME_TIME_IMPLAUSIBLE');
      await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op.seq), 2000, 'the last frame answered');

      const states = viewer.states.slice(from);
      const motion = motionFigures(states);
      console.info(
        `fault 5 (clock jumps, late frames): ${states.length} states, ${late.length} FRAME_STALE, ${back.length} FRAME_TIME_BACKWARDS; ` +
          `max velocity ratio ${motion.velocityRatio.toFixed(3)} (${motion.worst}); max step / (v × 0.1 s) ${motion.stepRatio.toFixed(3)}`,
      );
      expect(motion.velocityRatio, motion.worst).toBeLessThanOrEqual(1.001);
      expect(motion.stepRatio).toBeLessThanOrEqual(1);
      // It still follows at the end.
      expect(maxDiff(states.at(-1)!.commanded, states.at(-30)!.commanded, ARMS)).toBeGreaterThan(1e-3);
      await Promise.all([viewer.close(), op.c.close()]);
    } finally {
      await run.close();
    }
  }, 120_000);

  it('a full recordings disk: a recording error, teleop goes on, and the partial file is recoverable', async (ctx) => {
    const mnt = tmp();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (error) {
      rmSync(mnt, { recursive: true, force: true });
      // CI runs as root on this kind of machine: there the test must run, never skip.
      if (process.env['CI'] === 'true') throw error;
      ctx.skip(`cannot mount a small tmpfs here (needs root): ${(error as Error).message.split('\n')[0]}`);
    }
    try {
      // All but 256 KiB of the disk taken before the session (the recorder's first writes need over 128): it fills within seconds of recording, not 15.
      const { bavail, bsize } = statfsSync(mnt);
      writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 256 * 1024)));
      const { run, url } = await start({ recordingsDir: mnt, record: 'session' });
      let seqAtFailure = 0;
      let fromState = 0;
      let file = '';
      const refused = new Set<number>();
      try {
        const viewer = await TestClient.hello(url, 'viewer');
        const op = new Operator(await TestClient.hello(url, 'operator', OP, 'disk'));
        let failed: Json | undefined;
        const failure = viewer
          .waitJson((m) => isEvent(m, 'recording') && typeof detail(m)['error'] === 'string', 60_000, 0, 'a recording error')
          .then((m) => (failed = m));
        const t0 = performance.now();
        while (failed === undefined && performance.now() - t0 < 60_000) await op.stream(50);
        await failure;
        seqAtFailure = op.seq;
        fromState = viewer.states.length;
        file = String(detail(failed!)['file']);
        expect(String(detail(failed!)['error'])).toMatch(/ENOSPC|no space/i);
        // Teleop goes on: every frame is still answered, and the states say nothing is recorded.
        await op.stream(400);
        await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op.seq), 2000, 'the last frame answered');
        const during = viewer.states.slice(fromState);
        expect(during.filter((s) => s.sourceSeq > seqAtFailure).length).toBeGreaterThan(25);
        expect(during.every((s) => !s.recording && s.leaseHeld)).toBe(true);
        const status = await viewer.waitJson((m) => m.type === 'status', 2000, viewer.json.length, 'status');
        expect((status['recording'] as Record<string, unknown>)['error']).toMatch(/ENOSPC|no space/i);
        console.info(`fault 6 (disk full): recording failed after frame ${seqAtFailure}: ${String(detail(failed!)['error'])}`);
        for (const m of op.c.json) if (m.type === 'error' && typeof m['seq'] === 'number') refused.add(m['seq']);
        await Promise.all([viewer.close(), op.c.close()]);
      } finally {
        await run.close();
      }
      // The partial file is recoverable (written elsewhere: this disk is full).
      const out = join(tmp(), 'recovered.mcap');
      const report = await recoverMcap(join(mnt, file), out);
      expect(report.inputComplete).toBe(false);
      expect(report.channels).toBe(7);
      const recording = await readRecording(out);
      const seqs: number[] = [];
      for await (const m of recording.messages({ topics: ['/dexbridge/hand_frames'] })) for (const f of decodeHandFrameMessage(m.data, ROW_BLOCK_ENCODING, 'hand frame')) seqs.push(f.seq);
      await recording.close();
      expect(seqs.length).toBeGreaterThan(10);
      // No accepted frame missing (a busy machine can stall this process long enough that the
      // server refuses a frame as stale: it said so, with its seq).
      expect(seqs).toEqual(range(seqs[0]!, seqs.at(-1)! + 1).filter((n) => !refused.has(n)));
      expect(seqs.at(-1)!).toBeLessThanOrEqual(seqAtFailure);
      console.info(`fault 6 (disk full): recovered ${seqs.length} frames up to ${seqs.at(-1)} from ${statSync(join(mnt, file)).size} bytes`);
    } finally {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
      rmSync(mnt, { recursive: true, force: true });
    }
  }, 120_000);
});
