/**
 * The bridge end to end on port 0 with real `ws` clients: operator → viewer state, roles, the
 * lease, the watchdog, the e-stop, chunk execution, recording, HTTP, and the wire error codes.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McapIndexedReader } from '@mcap/core';
import { ACTION_DIM, ACTION_LAYOUT, createRig, type HandFrame, parseHandFramesJsonl, pose, type Side } from '@dexbridge/retarget';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDexbridge, type RunningDexbridge } from '../src/bridge/startDexbridge.js';
import {
  createDecodedRobotState, decodeActionChunk, decodeHandBlock, type DecodedHandTracking, type DecodedRobotState, decodeHandTracking, decodeRobotState, encodeActionChunk, encodeHandFrame,
  encodeHandTracking, MESSAGE_KIND,
} from '../src/protocol/index.js';
import { FileReadable, retargetInputFromRecording, ZSTD_DECOMPRESS_HANDLERS } from '../src/recording/index.js';
import { runCli } from './support/runCli.js';
import { TestClient } from './support/wsClient.js';

const DEMO = new URL('../data/quest3-hands.jsonl', import.meta.url);
const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(DEMO, 'utf8')).filter((f) => f.left !== null && f.right !== null);
const OP = 'operator-token-123';
const POLICY = 'policy-token-456';

/**
 * Streams demo frames as an operator would: stamped with its own monotonic clock (here the test
 * process's), at least `step` ms apart.
 */
class Operator {
  seq = 0;
  t = 0;
  i = 0;
  constructor(readonly c: TestClient) {}
  send(n = 1, step = 11): void {
    for (let k = 0; k < n; k++) {
      const f = frames[this.i++ % frames.length]!;
      this.t = Math.max(this.t + step, performance.now());
      this.c.sendBinary(encodeHandFrame(undefined, { seq: ++this.seq, tMs: this.t, left: f.left, right: f.right }));
    }
  }
  /**
   * Sends `ms / 11` frames about 11 ms apart (~90 Hz), each stamped when sent: the same number of
   * frames however busy the machine is (then it only takes longer), and never a stale stamp.
   */
  async stream(ms: number): Promise<void> {
    for (let k = Math.round(ms / 11); k > 0; k--) {
      this.send(1, 11);
      await new Promise((r) => setTimeout(r, 11));
    }
  }
}

let run: RunningDexbridge;
let ws: string;
let dir: string;

// A fresh server for every test: one test's leftovers (a lease, an e-stop, a mode) never reach the next.
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dexbridge-bridge-'));
  run = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: dir, maxMessagesPerSecond: 400 });
  ws = `ws://127.0.0.1:${run.port}/ws`;
});

afterEach(async () => {
  await run.close();
  rmSync(dir, { recursive: true, force: true });
});

type Listed = { name: string; complete: boolean; operator: string | null };

/** The complete recording of `operator`'s session, once the server lists it as complete (at most 30 s). */
async function completedRecording(operator: string): Promise<Listed> {
  let mine: Listed | undefined;
  for (const t0 = Date.now(); Date.now() - t0 < 30_000; await new Promise((r) => setTimeout(r, 50))) {
    const list = (await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: Listed[] };
    mine = list.recordings.find((r) => r.operator === operator);
    if (mine?.complete) return mine;
  }
  throw new Error(`no complete recording of ${operator} within 30 s (last listed: ${JSON.stringify(mine)})`);
}

describe('bridge', () => {
  it('streams an operator’s frames to a viewer as robot state answering each frame', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'alice'));
    await op.stream(150);
    op.c.send({ type: 'engage' });
    await viewer.waitEvent('engage');
    const before = viewer.states.length;
    await op.stream(400);
    await viewer.until(() => viewer.states.slice(before).some((s) => s.sourceSeq === op.seq), 2000, 'the last frame answered');
    const answered = viewer.states.slice(before).filter((s) => s.sourceSeq > 0);
    expect(answered.length).toBeGreaterThan(10);
    expect(answered.every((s) => s.mode === 'teleop' && s.leaseHeld)).toBe(true);
    // The robot moves: the commanded joints change over the stream.
    const first = answered[0]!.commanded, last = answered[answered.length - 1]!.commanded;
    expect(Math.max(...Array.from(first, (v, i) => Math.abs(v - last[i]!)))).toBeGreaterThan(1e-3);
    await viewer.close();
    await op.c.close();
    await viewer.until(() => run.server.leaseHolder() === null, 2000, 'lease released on disconnect');
  });

  it('sends HAND_TRACKING right after each state answering a frame, only to a connection whose hello asked, in the hand base frame', async () => {
    /** Every binary message a connection receives, in order, decoded (ROBOT_STATE or HAND_TRACKING). */
    const record = (c: TestClient): (DecodedRobotState | DecodedHandTracking | number)[] => {
      const got: (DecodedRobotState | DecodedHandTracking | number)[] = [];
      c.ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        const b = data as Buffer;
        if (b[0] === MESSAGE_KIND.ROBOT_STATE) {
          const r = decodeRobotState(b, createDecodedRobotState());
          got.push(r.ok ? r : -1);
        } else if (b[0] === MESSAGE_KIND.HAND_TRACKING) {
          const r = decodeHandTracking(b);
          got.push(r.ok ? r : -1);
        } else {
          got.push(b[0] ?? -1);
        }
      });
      return got;
    };
    const isTracking = (m: DecodedRobotState | DecodedHandTracking | number): m is DecodedHandTracking => typeof m === 'object' && 'leftBuffer' in m;
    const isState = (m: DecodedRobotState | DecodedHandTracking | number): m is DecodedRobotState => typeof m === 'object' && 'commanded' in m;

    const tracker = await TestClient.connect(ws);
    const trackerGot = record(tracker);
    tracker.send({ type: 'hello', protocol: 1, role: 'viewer', name: 'hands', tracking: true });
    await tracker.waitJson((m) => m.type === 'welcome');
    const plain = await TestClient.hello(ws, 'viewer');
    const plainGot = record(plain);
    const declined = await TestClient.connect(ws);
    const declinedGot = record(declined);
    declined.send({ type: 'hello', protocol: 1, role: 'viewer', tracking: false });
    await declined.waitJson((m) => m.type === 'welcome');
    // A wrong type is refused like any other field, and leaves the connection unauthenticated.
    const wrong = await TestClient.connect(ws);
    wrong.send({ type: 'hello', protocol: 1, role: 'viewer', tracking: 'yes' });
    expect((await wrong.waitError('PROTO_BAD_MESSAGE'))['message']).toContain('hello.tracking');
    // Kind 4 is the server's: a client sending it gets PROTO_BAD_KIND, as for kind 2.
    tracker.sendBinary(encodeHandTracking(undefined, { sourceSeq: 1, sourceTMs: 1, left: null, right: null }));
    expect(await tracker.waitError('PROTO_BAD_KIND')).toMatchObject({ ref: 'binary:4' });

    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'hands-op'));
    await op.stream(150);
    op.c.send({ type: 'engage' });
    await tracker.waitEvent('engage');
    await op.stream(500);
    await tracker.until(() => trackerGot.some((m) => isTracking(m) && m.sourceSeq === op.seq), 2000, 'the last frame tracked');
    await plain.until(() => plainGot.some((m) => isState(m) && m.sourceSeq === op.seq), 2000, 'the last frame answered');
    await declined.until(() => declinedGot.some((m) => isState(m) && m.sourceSeq === op.seq), 2000, 'the last frame answered');
    const trackerEnd = trackerGot.length;
    await op.c.close();

    expect(trackerGot).not.toContain(-1);
    for (const got of [plainGot, declinedGot]) {
      expect(got.filter(isState).length).toBeGreaterThan(20);
      expect(got.some((m) => !isState(m))).toBe(false);
    }
    // Each HAND_TRACKING directly follows the state answering the same frame, and each state
    // answering a frame is followed by one (nothing is skipped on a fast local connection).
    const got = trackerGot.slice(0, trackerEnd);
    const tracks = got.filter(isTracking);
    expect(tracks.length).toBeGreaterThan(20);
    got.forEach((m, i) => {
      const prev = got[i - 1], next = got[i + 1];
      if (isTracking(m)) {
        expect(prev !== undefined && isState(prev) && prev.sourceSeq === m.sourceSeq && prev.sourceTMs === m.sourceTMs).toBe(true);
      } else if (isState(m) && m.sourceSeq > 0) {
        expect(next !== undefined && isTracking(next) && next.sourceSeq === m.sourceSeq, `state answering ${m.sourceSeq} followed by its HAND_TRACKING`).toBe(true);
      }
    });
    // The demo frames have both hands: both sides carry data.
    expect(tracks.filter((t) => t.left !== null && t.right !== null).length).toBeGreaterThan(tracks.length * 0.9);

    // In the hand base frame: the wrist at the origin, the tip joints are the fingertip targets,
    // and placed with the forward kinematics of the commanded arm (world = T(base_link → <side>_hand_base) · p)
    // the targets lie within a few cm of the achieved fingertips of the action (in base_link).
    const rig = createRig();
    const T = new Float64Array(12), flange = new Float64Array(12), p = new Float64Array(3);
    const errors: number[] = [];
    got.forEach((m, i) => {
      const st = got[i - 1];
      if (!isTracking(m) || st === undefined || !isState(st)) return;
      for (const side of ['left', 'right'] as const satisfies readonly Side[]) {
        const data = m[side];
        if (data === null) {
          expect(Array.from(m[side === 'left' ? 'leftBuffer' : 'rightBuffer'].tips).every(Number.isNaN)).toBe(true);
          continue;
        }
        expect(Math.hypot(data.joints[0]!, data.joints[1]!, data.joints[2]!)).toBe(0);
        // The thumb's target is its tip joint; a splayed long finger's is turned about the palm
        // normal (y) into the robot's abduction range (soft abduction), which keeps its y.
        [4, 9, 14, 19, 24].forEach((joint, f) => {
          for (let a = 0; a < 3; a++) if (f === 0 || a === 1) expect(Math.abs(data.joints[joint * 3 + a]! - data.tips[f * 3 + a]!)).toBeLessThan(1e-6);
        });
        const model = rig.sides[side];
        const armQ = st.commanded.subarray(side === 'left' ? 0 : 7, side === 'left' ? 7 : 14);
        const poses = model.armTree.fk(Float64Array.from(armQ));
        pose.multiply(flange, 0, model.armBaseInRig, 0, poses, (model.armTree.linkCount - 1) * pose.POSE_STRIDE);
        pose.multiply(T, 0, flange, 0, model.handInFlange, 0);
        const achieved = side === 'left' ? ACTION_LAYOUT.leftFingertips.offset : ACTION_LAYOUT.rightFingertips.offset;
        for (let f = 0; f < 5; f++) {
          pose.transformPoint(p, 0, T, 0, data.tips[f * 3]!, data.tips[f * 3 + 1]!, data.tips[f * 3 + 2]!);
          errors.push(Math.hypot(p[0]! - st.action[achieved + f * 3]!, p[1]! - st.action[achieved + f * 3 + 1]!, p[2]! - st.action[achieved + f * 3 + 2]!));
        }
      }
    });
    errors.sort((a, b) => a - b);
    const median = errors[Math.floor(errors.length / 2)]!;
    expect(errors.length).toBeGreaterThan(100);
    expect(median).toBeLessThan(0.03);

    await Promise.all([tracker.close(), plain.close(), declined.close(), wrong.close()]);
    await tracker.until(() => run.server.leaseHolder() === null, 2000, 'lease released on disconnect');
  });

  it('refuses a second operator while the lease is held, and hands it over on takeover', async () => {
    const a = new Operator(await TestClient.hello(ws, 'operator', OP, 'a'));
    a.send(3);
    await a.c.until(() => run.server.leaseHolder() === 'a', 2000, 'a holds the lease');
    const b = new Operator(await TestClient.hello(ws, 'operator', OP, 'b'));
    b.send(1);
    await b.c.waitError('LEASE_HELD');
    b.c.send({ type: 'lease_request' });
    await b.c.waitError('LEASE_HELD');
    b.c.send({ type: 'lease_request', takeover: true });
    const ev = await a.c.waitJson((m) => m.type === 'event' && m['event'] === 'lease' && (m['detail'] as Record<string, unknown>)['holder'] === 'b');
    expect((ev['detail'] as Record<string, unknown>)['takeover']).toBe(true);
    a.send(1);
    await a.c.waitError('LEASE_HELD');
    a.c.send({ type: 'lease_release' });
    await a.c.waitError('LEASE_HELD');
    await a.c.close();
    await b.c.close();
    await b.c.until(() => run.server.leaseHolder() === null, 2000);
  });

  it('refuses commands from viewers, and unauthenticated or wrongly authenticated clients', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    for (const type of ['engage', 'set_mode', 'reset_estop', 'lease_request', 'record_start']) {
      viewer.send({ type, ...(type === 'set_mode' ? { mode: 'teleop' } : {}) });
      const e = await viewer.waitError('ROLE_FORBIDDEN');
      expect(e['ref']).toBe(type);
    }
    // A refused binary message is named by its own number, so a client can tell which one it was.
    viewer.sendBinary(encodeHandFrame(undefined, { seq: 41, tMs: 1, left: frames[0]!.left, right: null }));
    expect(await viewer.waitError('ROLE_FORBIDDEN')).toMatchObject({ ref: 'binary:1', seq: 41 });
    viewer.send({ type: 'hello', protocol: 1, role: 'viewer' });
    await viewer.waitError('AUTH_ALREADY');

    const anon = await TestClient.connect(ws);
    anon.sendBinary(encodeHandFrame(undefined, { seq: 9, tMs: 1, left: null, right: null }));
    expect(await anon.waitError('AUTH_REQUIRED')).toMatchObject({ ref: 'binary:1', seq: 9 });
    anon.send({ type: 'engage' });
    await anon.waitError('AUTH_REQUIRED');
    for (const [role, token] of [['operator', 'wrong-token!'], ['operator', undefined], ['policy', OP]] as const) {
      const c = await TestClient.connect(ws);
      c.send({ type: 'hello', protocol: 1, role, ...(token !== undefined ? { token } : {}) });
      await c.waitError('AUTH_BAD_TOKEN');
      await c.close();
    }
    await viewer.close();
    await anon.close();
  });

  it('holds the robot when the operator goes silent (watchdog) and follows again only after frames return', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'wd'));
    await op.stream(150);
    op.c.send({ type: 'engage' });
    await op.stream(200);
    const ev = await viewer.waitEvent('watchdog', { holding: true }, 2000);
    expect(ev).toBeDefined();
    await viewer.until(() => viewer.states.at(-1)?.watchdogHold === true, 1000, 'watchdog flag');
    // While silent, the command stays still.
    const held = await viewer.waitStates(5);
    for (const s of held) expect(Array.from(s.commanded)).toEqual(Array.from(held[0]!.commanded));
    const resumed = viewer.waitEvent('watchdog', { holding: false }, 2000);
    await op.stream(100);
    await resumed;
    await op.c.close();
    await viewer.close();
    await viewer.until(() => run.server.leaseHolder() === null, 2000);
  });

  it('e-stop from a viewer holds the robot while the operator keeps moving, latches, and only an operator resets it', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'es'));
    await op.stream(150);
    op.c.send({ type: 'engage' });
    await op.stream(150);
    viewer.send({ type: 'estop' });
    await viewer.waitEvent('estop');
    const from = viewer.states.length;
    await op.stream(300);
    const after = viewer.states.slice(from).filter((s) => s.estopLatched);
    expect(after.length).toBeGreaterThan(5);
    for (const s of after) expect(Array.from(s.commanded)).toEqual(Array.from(after[0]!.commanded));
    op.c.send({ type: 'engage' });
    await op.c.waitError('ESTOP_LATCHED');
    viewer.send({ type: 'reset_estop' });
    await viewer.waitError('ROLE_FORBIDDEN');
    op.c.send({ type: 'reset_estop' });
    await viewer.waitEvent('estop_reset');
    await op.c.close();
    await viewer.close();
    await viewer.until(() => run.server.leaseHolder() === null, 2000);
  });

  it('executes a policy’s chunks only in policy mode and refuses stale and invalid ones', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    // A dashboard that asked for tracking also gets, for each accepted chunk, the gate's preview of it (numbered by the server).
    const tracker = await TestClient.connect(ws);
    const relayed: number[] = [];
    tracker.ws.on('message', (data, isBinary) => {
      const b = data as Buffer;
      if (!isBinary || b[0] !== MESSAGE_KIND.ACTION_CHUNK) return;
      const c = decodeActionChunk(b);
      relayed.push(c.ok ? c.chunkId : -1);
    });
    tracker.send({ type: 'hello', protocol: 1, role: 'viewer', tracking: true });
    await tracker.waitJson((m) => m.type === 'welcome');
    const policy = await TestClient.hello(ws, 'policy', POLICY, 'pi');
    const welcome = policy.json.find((m) => m.type === 'welcome')!;
    expect(welcome['role']).toBe('policy');
    const state = (await viewer.waitStates(1))[0]!;
    // 1.5 s of rows: the motion starts with the engage's 1 s ramp-in.
    const k = 75;
    const data = new Float32Array(k * ACTION_DIM);
    for (let r = 0; r < k; r++) data.set(state.action, r * ACTION_DIM);
    // Move the left arm's joint 1 by +0.3 rad over the chunk.
    for (let r = 0; r < k; r++) data[r * ACTION_DIM + ACTION_LAYOUT.leftArm.offset] = state.action[ACTION_LAYOUT.leftArm.offset]! + (0.3 * r) / (k - 1);
    const chunkAt = (startTimeMs: number, id: number): Uint8Array => encodeActionChunk(undefined, { chunkId: id, startTimeMs, periodMs: 20, k, data });
    // A policy acts under an operator's lease, in policy mode, after that operator's engage.
    policy.sendBinary(chunkAt(run.loop.now(), 1));
    expect(await policy.waitError('LEASE_NOT_HELD')).toMatchObject({ seq: 1 });
    const op = await TestClient.hello(ws, 'operator', OP, 'boss');
    op.send({ type: 'lease_request' });
    await viewer.waitEvent('lease', { holder: 'boss' });
    policy.sendBinary(chunkAt(run.loop.now(), 1));
    await policy.waitError('MODE_FORBIDDEN');
    op.send({ type: 'set_mode', mode: 'policy' });
    await viewer.waitEvent('mode', { to: 'policy' });
    op.send({ type: 'engage' });
    await viewer.waitEvent('engage');
    policy.sendBinary(chunkAt(run.loop.now() - 5000, 2));
    expect(await policy.waitError('CHUNK_STALE')).toMatchObject({ ref: 'binary:3', seq: 2 });
    // A chunk cut short is still named by its chunkId.
    policy.sendBinary(chunkAt(run.loop.now(), 6).subarray(0, 400));
    expect(await policy.waitError('CHUNK_BAD_SHAPE')).toMatchObject({ ref: 'binary:3', seq: 6 });
    const bad = Float32Array.from(data);
    bad[3] = Number.NaN;
    policy.sendBinary(encodeActionChunk(undefined, { chunkId: 3, startTimeMs: run.loop.now(), periodMs: 20, k, data: bad }));
    expect(await policy.waitError('CHUNK_NOT_FINITE')).toMatchObject({ seq: 3 });
    const far = Float32Array.from(data);
    far[ACTION_LAYOUT.leftArm.offset] = 10;
    policy.sendBinary(encodeActionChunk(undefined, { chunkId: 4, startTimeMs: run.loop.now(), periodMs: 20, k, data: far }));
    await policy.waitError('CHUNK_OUT_OF_LIMITS');
    const j1 = state.commanded[0]!;
    policy.sendBinary(chunkAt(run.loop.now(), 5));
    await viewer.until(() => (viewer.states.at(-1)?.commanded[0] ?? j1) > j1 + 0.1, 6000, 'the arm following the chunk');
    expect(viewer.states.some((s) => s.chunkQueueDepth >= 1)).toBe(true);
    await tracker.until(() => relayed.length > 0, 2000, 'the chunk preview');
    // Only chunk 5 was accepted: its preview carries the server's own number (its first, 0), not the policy's.
    expect(relayed[0]).toBe(0);
    op.send({ type: 'set_mode', mode: 'idle' });
    await viewer.waitEvent('mode', { to: 'idle' });
    await Promise.all([viewer.close(), policy.close(), op.close(), tracker.close()]);
  });

  it('answers malformed and out-of-order messages with their codes, and keeps serving the others', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'bad'));
    const c = op.c;
    c.ws.send('{not json');
    await c.waitError('PROTO_BAD_JSON');
    c.send({ type: 'teleport' });
    await c.waitError('PROTO_UNKNOWN_TYPE');
    c.send({ type: 'set_mode', mode: 'warp' });
    await c.waitError('PROTO_BAD_MESSAGE');
    c.sendBinary(Uint8Array.of(9, 1, 0, 0));
    await c.waitError('PROTO_BAD_KIND');
    c.sendBinary(new Uint8Array(70_000));
    await c.waitError('PROTO_TOO_LARGE');
    const good = encodeHandFrame(undefined, { seq: 1, tMs: 5, left: frames[0]!.left, right: null });
    const v2 = Uint8Array.from(good);
    v2[1] = 2;
    c.sendBinary(v2);
    await c.waitError('PROTO_BAD_VERSION');
    c.sendBinary(good.subarray(0, 100));
    await c.waitError('FRAME_BAD_SIZE');
    const nan = encodeHandFrame(undefined, { seq: 2, tMs: 6, left: frames[0]!.left!.map((v, i) => (i === 5 ? Number.NaN : v)), right: null });
    c.sendBinary(nan);
    await c.waitError('FRAME_NOT_FINITE');
    op.send(3);
    c.sendBinary(encodeHandFrame(undefined, { seq: 1, tMs: op.t + 10, left: null, right: null }));
    await c.waitError('FRAME_OUT_OF_ORDER');
    c.sendBinary(encodeHandFrame(undefined, { seq: op.seq + 10, tMs: op.t - 50, left: null, right: null }));
    await c.waitError('FRAME_TIME_BACKWARDS');
    op.seq += 10;
    // A frame stamped 11 ms after the last one that arrives 400 ms later was held up on the way: stale.
    op.send(1);
    await new Promise((r) => setTimeout(r, 400));
    op.t += 11;
    c.sendBinary(encodeHandFrame(undefined, { seq: ++op.seq, tMs: op.t, left: frames[2]!.left, right: frames[2]!.right }));
    await c.waitError('FRAME_STALE');
    // Implausible: a hand blown up 5× in teleop mode.
    const huge = frames[1]!.right!.map((v, i) => (i % 8 < 3 ? v * 5 : v));
    op.t = Math.max(op.t + 11, performance.now());
    c.sendBinary(encodeHandFrame(undefined, { seq: ++op.seq, tMs: op.t, left: frames[1]!.left, right: huge }));
    await c.waitError('FRAME_IMPLAUSIBLE');
    // The viewer never noticed: it kept receiving states throughout.
    await viewer.waitStates(3);
    expect(viewer.json.filter((m) => m.type === 'error')).toEqual([]);
    await Promise.all([c.close(), viewer.close()]);
    await viewer.until(() => run.server.leaseHolder() === null, 2000);
  });

  it('replay mode plays a session through the pipeline under the operator’s lease, after their engage, and stops when left', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = await TestClient.hello(ws, 'operator', OP, 'replayer');
    op.send({ type: 'lease_request' });
    await viewer.waitEvent('lease', { holder: 'replayer' });
    op.send({ type: 'set_mode', mode: 'replay' });
    await viewer.waitEvent('mode', { to: 'replay' });
    // Nothing moves before the engage.
    const before = await viewer.waitStates(20);
    for (const s of before) expect(Array.from(s.commanded)).toEqual(Array.from(before[0]!.commanded));
    op.send({ type: 'engage' });
    await viewer.waitEvent('engage');
    const states = await viewer.waitStates(60, 5000);
    const moving = states.filter((s) => s.mode === 'replay' && s.sourceSeq > 0);
    expect(moving.length).toBeGreaterThan(20);
    expect(Math.max(...Array.from(moving[0]!.commanded, (v, i) => Math.abs(v - moving.at(-1)!.commanded[i]!)))).toBeGreaterThan(1e-3);
    expect(run.server.leaseHolder()).toBe('replayer');
    op.send({ type: 'set_mode', mode: 'idle' });
    await viewer.waitEvent('mode', { to: 'idle' });
    await op.close();
    await viewer.waitEvent('lease', { holder: null });
    await viewer.close();
  });

  it('validates an operator calibration, and applies it at the next engage', async () => {
    const op = await TestClient.hello(ws, 'operator', OP, 'cal');
    op.send({ type: 'lease_request' });
    await op.waitEvent('lease', { holder: 'cal' });
    op.send({ type: 'calibrate', handScale: { left: 1.05, right: 1.1 }, translationScale: 1.5 });
    const pending = await op.waitEvent('tracking');
    expect((pending['detail'] as Record<string, unknown>)['calibrationPending']).toEqual({ handScale: { left: 1.05, right: 1.1 }, translationScale: 1.5 });
    op.send({ type: 'calibrate', translationScale: -1 });
    await op.waitError('PROTO_BAD_MESSAGE');
    // Finite but absurd scales are refused with their documented range (1e308 made non-finite HAND_TRACKING).
    op.send({ type: 'calibrate', handScale: 1e308 });
    expect((await op.waitError('CALIBRATION_OUT_OF_RANGE'))['message']).toContain('[0.5, 2]');
    op.send({ type: 'calibrate', translationScale: 8 });
    // Refused by the command's handler, and still named by the message it answers.
    expect(await op.waitError('CALIBRATION_OUT_OF_RANGE')).toMatchObject({ ref: 'calibrate' });
    op.send({ type: 'engage' });
    const applied = await op.waitJson((m) => m.type === 'event' && m['event'] === 'tracking' && (m['detail'] as Record<string, unknown>)['calibrated'] !== undefined);
    expect((applied['detail'] as Record<string, unknown>)['calibrated']).toEqual({ handScale: { left: 1.05, right: 1.1 }, translationScale: 1.5 });
    await op.close();
    await op.until(() => run.server.leaseHolder() === null, 2000);
  });

  it('records a calibration where an engage applied it, and dexbridge retarget on the recording applies it from that frame', async () => {
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'calrec'));
    op.send(1);
    const isEvent = (m: Record<string, unknown>, event: string, key: string): boolean => m.type === 'event' && m['event'] === event && (m['detail'] as Record<string, unknown>)[key] !== undefined;
    await op.c.waitJson((m) => isEvent(m, 'recording', 'active') && (m['detail'] as Record<string, unknown>)['active'] === true, 30_000, 0);
    await op.stream(200);
    const calibration = { handScale: { left: 1.05, right: 1.1 }, translationScale: 1.5 };
    op.c.send({ type: 'calibrate', ...calibration });
    await op.c.waitJson((m) => isEvent(m, 'tracking', 'calibrationPending'), 5000, 0);
    op.c.send({ type: 'engage' });
    await op.c.waitJson((m) => isEvent(m, 'tracking', 'calibrated'), 5000, 0);
    await op.stream(300);
    await op.c.close();
    const file = join(dir, (await completedRecording('calrec')).name);
    const { frames: recorded, calibrations } = await retargetInputFromRecording(file);
    expect(calibrations.map((c) => c.calibration)).toEqual([calibration]);
    // Between the frames streamed before the engage and those after it.
    const at = calibrations[0]!.beforeFrame;
    expect(at).toBeGreaterThan(10);
    expect(recorded.length - at).toBeGreaterThan(10);
    const r = await runCli('retarget', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`recorded calibration      1 in the recording; from frame ${at}: hand scale left 1.050, right 1.100, translation ×1.5`);
  });

  it('measures the operator\'s own hands with calibrate_hands and makes them the pending calibration', async () => {
    const c = await TestClient.hello(ws, 'operator', OP, 'hands');
    c.send({ type: 'lease_request' });
    await c.waitEvent('lease', { holder: 'hands' });
    c.send({ type: 'calibrate_hands', seconds: 9 });
    expect((await c.waitError('CALIBRATION_OUT_OF_RANGE'))['message']).toContain('[0.5, 5]');
    c.send({ type: 'calibrate_hands', seconds: 0.5 });
    await c.waitJson((m) => m.type === 'event' && m['event'] === 'tracking' && (m['detail'] as Record<string, Record<string, unknown>>)['handCalibration']?.['measuring'] === true);
    const isResult = (m: Record<string, unknown>): boolean =>
      m.type === 'event' && m['event'] === 'tracking' && (m['detail'] as Record<string, Record<string, unknown>>)['handCalibration']?.['left'] !== undefined;
    // The demo operator's hands, streamed until the half second has passed on the server's clock.
    const op = new Operator(c);
    while (!c.json.some(isResult)) await op.stream(110);
    const report = (c.json.find(isResult)!['detail'] as Record<string, Record<string, { scale: number; digitScales: number[]; frames: number }>>)['handCalibration']!;
    for (const side of ['left', 'right'] as const) {
      expect(report[side]!.frames).toBeGreaterThanOrEqual(10);
      expect(report[side]!.scale).toBeGreaterThan(0.5);
      expect(report[side]!.digitScales).toHaveLength(5);
    }
    const pending = await c.waitJson((m) => m.type === 'event' && m['event'] === 'tracking' && (m['detail'] as Record<string, unknown>)['calibrationPending'] !== undefined, 3000, 0);
    expect((pending['detail'] as Record<string, Record<string, unknown>>)['calibrationPending']!['handScale']).toEqual({ left: report['left']!.scale, right: report['right']!.scale });
    await c.close();
  });

  it('rate-limits a flooding connection while another keeps its rate', async () => {
    const flooder = await TestClient.hello(ws, 'viewer', undefined, 'flood');
    const viewer = await TestClient.hello(ws, 'viewer');
    for (let i = 0; i < 1000; i++) flooder.send({ type: 'ping', id: i, clientTimeMs: i });
    await flooder.waitError('PROTO_RATE_LIMITED');
    const pongs = flooder.json.filter((m) => m.type === 'pong').length;
    expect(pongs).toBeLessThan(1000);
    viewer.send({ type: 'ping', id: 1, clientTimeMs: 1 });
    await viewer.waitJson((m) => m.type === 'pong');
    await Promise.all([flooder.close(), viewer.close()]);
  });

  it('records each operator session as MCAP that the indexed reader opens, and lists it over HTTP', async () => {
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'rec'));
    // The recording opens with the lease (the first frame); what is streamed after it is recorded.
    op.send(1);
    await op.c.waitJson((m) => m.type === 'event' && m['event'] === 'recording' && (m['detail'] as Record<string, unknown>)['active'] === true, 30_000, 0);
    await op.stream(300);
    await op.c.close();
    const mine = await completedRecording('rec');
    const file = join(dir, mine.name);
    const readable = await FileReadable.open(file);
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: ZSTD_DECOMPRESS_HANDLERS });
    const topics = [...reader.channelsById.values()].map((c) => c.topic);
    expect(topics).toEqual(expect.arrayContaining(['/dexbridge/hand_frames', '/dexbridge/joint_states', '/dexbridge/action', '/dexbridge/events']));
    let n = 0;
    for await (const m of reader.readMessages({ topics: ['/dexbridge/hand_frames'] })) n += decodeHandBlock(m.data).length;
    expect(n).toBeGreaterThan(10);
    await readable.close();
    // Download; deleting needs the operator token; no path escapes.
    const dl = await fetch(`${run.url}/api/recordings/${mine.name}`);
    expect(dl.status).toBe(200);
    expect((await dl.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    // Byte ranges, as the recordings view reads a long recording: the MCAP magic, then the tail, then past the end.
    const size = Number(dl.headers.get('content-length'));
    expect(dl.headers.get('accept-ranges')).toBe('bytes');
    const head = await fetch(`${run.url}/api/recordings/${mine.name}`, { headers: { range: 'bytes=0-7' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-7/${size}`);
    expect(Buffer.from(await head.arrayBuffer())).toEqual(Buffer.from([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]));
    const tail = await fetch(`${run.url}/api/recordings/${mine.name}`, { headers: { range: 'bytes=-8' } });
    expect([tail.status, (await tail.arrayBuffer()).byteLength]).toEqual([206, 8]);
    const past = await fetch(`${run.url}/api/recordings/${mine.name}`, { headers: { range: `bytes=${size}-` } });
    expect([past.status, past.headers.get('content-range')]).toEqual([416, `bytes */${size}`]);
    await past.arrayBuffer();
    expect((await fetch(`${run.url}/api/recordings/${mine.name}`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${run.url}/api/recordings/${mine.name}`, { method: 'DELETE', headers: { authorization: 'Bearer nope-nope' } })).status).toBe(403);
    for (const evil of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E%2Fpackage.json', 'x.mcap%00.txt']) {
      expect([400, 404]).toContain((await fetch(`${run.url}/api/recordings/${evil}`)).status);
    }
    expect((await fetch(`${run.url}/api/recordings/${mine.name}`, { method: 'DELETE', headers: { authorization: `Bearer ${OP}` } })).status).toBe(204);
    expect(readdirSync(dir)).not.toContain(mine.name);
  });

  it('refuses a second operator without the lease every command that needs it, and mode games hand it nothing', async () => {
    const a = new Operator(await TestClient.hello(ws, 'operator', OP, 'holder-a'));
    a.send(3);
    await a.c.until(() => run.server.leaseHolder() === 'holder-a', 3000, 'a holds the lease');
    const b = await TestClient.hello(ws, 'operator', OP, 'intruder-b');
    const commands: Record<string, unknown>[] = [
      { type: 'engage' }, { type: 'disengage' }, { type: 'calibrate', translationScale: 2, handScale: 0.6 }, { type: 'record_stop' },
      { type: 'set_recording_meta', file: 'x.mcap', success: true }, { type: 'set_mode', mode: 'replay' }, { type: 'set_mode', mode: 'teleop' },
      { type: 'reset_estop' }, { type: 'lease_release' }, { type: 'record_start' },
    ];
    for (const m of commands) {
      b.send(m);
      expect((await b.waitError('LEASE_HELD'))['ref']).toBe(m['type']);
    }
    expect(run.server.leaseHolder()).toBe('holder-a');
    expect(run.loop.mode).toBe('teleop');
    expect(run.loop.pendingCalibrationRequest).toBeNull();
    expect(b.json.some((m) => m.type === 'event' && m['event'] === 'lease' && (m['detail'] as Record<string, unknown>)['holder'] === 'intruder-b')).toBe(false);
    await Promise.all([a.c.close(), b.close()]);
    await b.until(() => run.server.leaseHolder() === null, 3000);
  });

  it('never drops an e-stop: a viewer past its rate limit still stops the robot, and is acknowledged', async () => {
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'es-flood'));
    op.send(3);
    await op.c.until(() => run.server.leaseHolder() === 'es-flood', 3000, 'the lease');
    const viewer = await TestClient.hello(ws, 'viewer', undefined, 'flooder');
    for (let i = 0; i < 1000; i++) viewer.send({ type: 'ping', id: i, clientTimeMs: i });
    viewer.send({ type: 'estop' });
    await viewer.waitJson((m) => m.type === 'ack' && m['ref'] === 'estop', 5000);
    expect(viewer.json.some((m) => m['code'] === 'PROTO_RATE_LIMITED')).toBe(true);
    await op.c.waitJson((m) => m.type === 'event' && m['event'] === 'estop', 5000, 0);
    expect(run.loop.state.estop).toBe(true);
    // Only the lease holder resets it, and then nothing moves until it engages.
    viewer.send({ type: 'reset_estop' });
    await viewer.waitError('ROLE_FORBIDDEN');
    op.c.send({ type: 'reset_estop' });
    const reset = await op.c.waitEvent('estop_reset');
    expect((reset['detail'] as Record<string, unknown>)['engageRequired']).toBe(true);
    const status = await op.c.waitJson((m) => m.type === 'status');
    expect(status['motion']).toMatchObject({ engageRequired: true, hold: 'estop_reset' });
    await Promise.all([op.c.close(), viewer.close()]);
    await viewer.until(() => run.server.leaseHolder() === null, 3000);
  }, 30_000);

  it('refuses one frame stamped 1e300 and keeps accepting the operator’s honest frames after it', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'stamps'));
    await op.stream(100);
    const f = frames[0]!;
    op.c.sendBinary(encodeHandFrame(undefined, { seq: ++op.seq, tMs: 1e300, left: f.left, right: f.right }));
    await op.c.waitError('FRAME_TIME_IMPLAUSIBLE');
    const errorsBefore = op.c.json.filter((m) => m.type === 'error').length;
    await op.stream(200);
    await viewer.until(() => viewer.states.some((s) => s.sourceSeq === op.seq), 3000, 'the last honest frame answered');
    expect(op.c.json.filter((m) => m.type === 'error').length).toBe(errorsBefore);
    await Promise.all([op.c.close(), viewer.close()]);
    await viewer.until(() => run.server.leaseHolder() === null, 3000);
  });

  it('puts a label on the recording it names, never on the next one', async () => {
    const op = new Operator(await TestClient.hello(ws, 'operator', OP, 'labeller'));
    op.send(3);
    await op.c.until(() => run.server.leaseHolder() === 'labeller', 3000, 'the lease');
    const isRec = (active: boolean) => (m: Record<string, unknown>): boolean =>
      m['type'] === 'event' && m['event'] === 'recording' && (m['detail'] as Record<string, unknown>)['active'] === active;
    // The lease started a session recording: stop it, label it afterwards, start another.
    const first = String(((await op.c.waitJson(isRec(true), 5000, 0))['detail'] as Record<string, unknown>)['file']);
    op.c.send({ type: 'record_stop' });
    await op.c.waitJson(isRec(false), 5000);
    op.c.send({ type: 'record_start', task: 'second' });
    const second = String(((await op.c.waitJson(isRec(true), 5000))['detail'] as Record<string, unknown>)['file']);
    expect(second).not.toBe(first);
    op.c.send({ type: 'set_recording_meta', file: first, task: 'first', success: true });
    op.c.send({ type: 'set_recording_meta', file: 'no-such-recording.mcap', success: true });
    await op.c.waitError('NOT_FOUND');
    op.c.send({ type: 'record_stop' });
    await op.c.waitJson(isRec(false), 5000);
    const list = async (): Promise<{ name: string; task: string | null; success: boolean | null }[]> =>
      ((await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: { name: string; task: string | null; success: boolean | null }[] }).recordings;
    // The label is written into the finished file in the background: wait for the listing to show it.
    let recs = await list();
    for (const end = Date.now() + 30_000; Date.now() < end && recs.find((r) => r.name === first)?.task !== 'first'; recs = await list()) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(recs.find((r) => r.name === first)).toMatchObject({ task: 'first', success: true });
    expect(recs.find((r) => r.name === second)).toMatchObject({ task: 'second', success: null });
    await op.c.close();
    await op.c.until(() => run.server.leaseHolder() === null, 3000);
  });

  it('answers a repeated estop with an ack only: the estop event comes once, when the e-stop latches', async () => {
    const viewer = await TestClient.hello(ws, 'viewer', undefined, 'stopper');
    const isEstop = (m: Record<string, unknown>): boolean => m['type'] === 'event' && m['event'] === 'estop';
    const acks = (c: TestClient): number => c.json.filter((m) => m.type === 'ack' && m['ref'] === 'estop').length;
    viewer.send({ type: 'estop' });
    await viewer.until(() => acks(viewer) === 1, 3000, 'the first ack');
    await viewer.waitJson(isEstop, 3000, 0);
    viewer.send({ type: 'estop' });
    await viewer.until(() => acks(viewer) === 2, 3000, 'the second ack');
    // An estop's event goes out before its ack, on the same connection: a second event would be here.
    expect(viewer.json.filter(isEstop)).toHaveLength(1);
    // Also from a connection without hello: acknowledged, no new event.
    const anon = await TestClient.connect(ws);
    anon.send({ type: 'estop' });
    await anon.until(() => acks(anon) === 1, 3000, 'the ack before hello');
    viewer.send({ type: 'ping', id: 1, clientTimeMs: 1 });
    await viewer.waitJson((m) => m.type === 'pong');
    expect(viewer.json.filter(isEstop)).toHaveLength(1);
    expect(run.loop.state.estop).toBe(true);
    await Promise.all([viewer.close(), anon.close()]);
  });

  it('an estop too long for the fast path stops the robot the same way, named after the connection', async () => {
    const viewer = await TestClient.hello(ws, 'viewer');
    const op = await TestClient.hello(ws, 'operator', OP, 'longstop');
    if (run.loop.state.estop) {
      op.send({ type: 'lease_request' });
      await op.waitEvent('lease', { holder: 'longstop' });
      op.send({ type: 'reset_estop' });
      await viewer.waitEvent('estop_reset');
    }
    // 300 bytes: past the 256 bytes the server sniffs for an e-stop before anything else.
    const long = `{"type":"estop"${' '.repeat(300)}}`;
    const anon = await TestClient.connect(ws);
    anon.ws.send(long);
    const e = await viewer.waitEvent('estop');
    expect(String((e['detail'] as Record<string, unknown>)['by'])).toMatch(/^unauthenticated-\S+$/);
    await anon.until(() => anon.json.some((m) => m.type === 'ack' && m['ref'] === 'estop'), 3000, 'the ack');
    expect(run.loop.state.estop).toBe(true);
    await Promise.all([viewer.close(), op.close(), anon.close()]);
    await viewer.until(() => run.server.leaseHolder() === null, 3000);
  });

  it('before hello, answers size and JSON faults with their own codes and what passes them with AUTH_REQUIRED', async () => {
    const anon = await TestClient.connect(ws);
    anon.ws.send('{not json');
    expect(await anon.waitError('PROTO_BAD_JSON')).not.toHaveProperty('ref');
    anon.send({ type: 'teleport' });
    expect(await anon.waitError('PROTO_UNKNOWN_TYPE')).toMatchObject({ ref: 'teleport' });
    anon.send({ type: 'set_mode', mode: 'warp' });
    expect(await anon.waitError('PROTO_BAD_MESSAGE')).toMatchObject({ ref: 'set_mode' });
    // Too large, though its first bytes are a HAND_FRAME header with seq 7: no ref, no seq.
    const big = new Uint8Array(70_000);
    big.set(encodeHandFrame(undefined, { seq: 7, tMs: 1, left: null, right: null }));
    anon.sendBinary(big);
    const large = await anon.waitError('PROTO_TOO_LARGE');
    expect(large).not.toHaveProperty('ref');
    expect(large).not.toHaveProperty('seq');
    // Any binary kind, even a server's, gets AUTH_REQUIRED before hello (no seq: kind 2 has none).
    anon.sendBinary(Uint8Array.of(MESSAGE_KIND.ROBOT_STATE, 1, 0, 0, 9, 0, 0, 0));
    const kind2 = await anon.waitError('AUTH_REQUIRED');
    expect(kind2).toMatchObject({ ref: 'binary:2' });
    expect(kind2).not.toHaveProperty('seq');
    anon.send({ type: 'engage' });
    expect(await anon.waitError('AUTH_REQUIRED')).toMatchObject({ ref: 'engage' });
    expect(anon.json.filter((m) => m['code'] === 'AUTH_REQUIRED')).toHaveLength(2);
    await anon.close();
  });

  it('refuses a hello whose protocol is not a number with PROTO_BAD_MESSAGE, another number with PROTO_BAD_VERSION, and takes the next good one', async () => {
    const c = await TestClient.connect(ws);
    c.send({ type: 'hello', protocol: '1', role: 'viewer' });
    expect(await c.waitError('PROTO_BAD_MESSAGE')).toMatchObject({ ref: 'hello', message: expect.stringContaining('hello.protocol') });
    c.send({ type: 'hello', role: 'viewer' });
    expect(await c.waitError('PROTO_BAD_MESSAGE')).toMatchObject({ ref: 'hello' });
    c.send({ type: 'hello', protocol: 2, role: 'viewer' });
    expect(await c.waitError('PROTO_BAD_VERSION')).toMatchObject({ ref: 'hello' });
    // Refused hellos leave the connection unauthenticated, and open.
    c.send({ type: 'ping', id: 1, clientTimeMs: 1 });
    await c.waitError('AUTH_REQUIRED');
    c.send({ type: 'hello', protocol: 1, role: 'viewer' });
    await c.waitJson((m) => m.type === 'welcome');
    expect(c.json.filter((m) => m['code'] === 'PROTO_BAD_VERSION')).toHaveLength(1);
    await c.close();
  });

  it('refuses calibrate {} with CALIBRATION_OUT_OF_RANGE and a scale that is not a number > 0 with PROTO_BAD_MESSAGE; nothing becomes pending', async () => {
    const op = await TestClient.hello(ws, 'operator', OP, 'cal0');
    op.send({ type: 'lease_request' });
    await op.waitEvent('lease', { holder: 'cal0' });
    op.send({ type: 'calibrate' });
    expect(await op.waitError('CALIBRATION_OUT_OF_RANGE')).toMatchObject({ ref: 'calibrate', message: expect.stringContaining('needs handScale, translationScale or digitScales') });
    // Empty side maps set nothing either: no empty calibration becomes pending.
    for (const fields of [{ handScale: {} }, { digitScales: {} }, { handScale: {}, digitScales: {} }]) {
      op.send({ type: 'calibrate', ...fields });
      expect(await op.waitError('CALIBRATION_OUT_OF_RANGE')).toMatchObject({ ref: 'calibrate', message: expect.stringContaining('needs handScale, translationScale or digitScales') });
    }
    const bad: Record<string, unknown>[] = [
      { handScale: 0 }, { handScale: { left: -1 } }, { translationScale: 0 }, { digitScales: { left: [1, 1, 0, 1, 1] } }, { digitScales: { right: [1, 1, 1, 1] } },
    ];
    for (const fields of bad) {
      op.send({ type: 'calibrate', ...fields });
      expect(await op.waitError('PROTO_BAD_MESSAGE')).toMatchObject({ ref: 'calibrate' });
    }
    op.send({ type: 'calibrate_hands', seconds: 0 });
    expect(await op.waitError('PROTO_BAD_MESSAGE')).toMatchObject({ ref: 'calibrate_hands' });
    op.send({ type: 'calibrate_hands', seconds: 0.1 });
    expect(await op.waitError('CALIBRATION_OUT_OF_RANGE')).toMatchObject({ ref: 'calibrate_hands' });
    expect(run.loop.pendingCalibrationRequest).toBeNull();
    expect(op.json.some((m) => m.type === 'event' && m['event'] === 'tracking')).toBe(false);
    await op.close();
    await op.until(() => run.server.leaseHolder() === null, 3000);
  });

  it('names a refused binary message by ref, and by seq once its bytes hold one', async () => {
    const op = await TestClient.hello(ws, 'operator', OP, 'refs');
    const good = encodeHandFrame(undefined, { seq: 12, tMs: 5, left: frames[0]!.left, right: null });
    const v2 = Uint8Array.from(good);
    v2[1] = 2;
    op.sendBinary(v2);
    expect(await op.waitError('PROTO_BAD_VERSION')).toMatchObject({ ref: 'binary:1', seq: 12 });
    op.sendBinary(good.subarray(0, 8));
    expect(await op.waitError('FRAME_BAD_SIZE')).toMatchObject({ ref: 'binary:1', seq: 12 });
    op.sendBinary(good.subarray(0, 7));
    const short = await op.waitError('FRAME_BAD_SIZE');
    expect(short).toMatchObject({ ref: 'binary:1' });
    expect(short).not.toHaveProperty('seq');
    op.sendBinary(Uint8Array.of(MESSAGE_KIND.CAMERA_FRAME, 1, 0, 0));
    expect(await op.waitError('PROTO_BAD_KIND')).toMatchObject({ ref: 'binary:5' });
    op.sendBinary(new Uint8Array(0));
    expect(await op.waitError('PROTO_BAD_KIND')).toMatchObject({ ref: 'binary:empty' });
    expect(run.server.leaseHolder()).toBeNull();
    await op.close();
  });

  it('refuses WebSocket upgrades from a foreign browser origin', async () => {
    await expect(TestClient.connect(ws, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const same = await TestClient.connect(ws, { origin: `http://127.0.0.1:${run.port}` });
    await same.close();
  });
});
