/**
 * The control loop on an injected clock: nothing moves until engage, the gate starts from the
 * robot, only gated chunks leave, calibration waits for the next engage, chunk times are the
 * server's, and the operator clock refuses one bad stamp without locking the operator out.
 */
import { readFileSync } from 'node:fs';
import {
  ACTION_DIM, ACTION_LAYOUT, type ActionChunk, createRig, type HandFrame, parseHandFramesJsonl, placeHand, type Side, STATE_JOINT_NAMES, syntheticHumanHand,
} from '@dexbridge/retarget';
import { describe, expect, it } from 'vitest';
import { activeLimits } from '../src/control/activeJoints.js';
import { ControlLoop, type ControlLoopOptions, type LoopEvent } from '../src/control/ControlLoop.js';
import { OperatorClock } from '../src/control/OperatorClock.js';

const rig = createRig();
const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);
const { maxVelocity } = activeLimits(rig);
const J1 = ACTION_LAYOUT.leftArm.offset;

/** A loop on a clock the test moves, with its events and states recorded. */
function makeLoop(options: ControlLoopOptions = {}): { loop: ControlLoop; clock: { t: number }; events: LoopEvent[]; states: Float64Array[] } {
  const clock = { t: 1000 };
  const loop = new ControlLoop({ rig, gestures: false, clock: () => clock.t, ...options });
  const events: LoopEvent[] = [];
  const states: Float64Array[] = [];
  loop.onEvent((e) => events.push(e));
  loop.onState((s) => states.push(Float64Array.from(s.q)));
  return { loop, clock, events, states };
}

/** Feeds `n` operator frames 11 ms apart (server and operator clocks), from frame index `from`. */
function feed(loop: ControlLoop, clock: { t: number }, n: number, from = 0, seq = { v: 0 }, still = false): void {
  for (let i = 0; i < n; i++) {
    clock.t += 11;
    const f = frames[still ? from : (from + i) % frames.length]!;
    loop.handFrame(++seq.v, clock.t, f.left, f.right, clock.t);
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('nothing moves until engage', () => {
  it('after an e-stop reset, neither arms nor hands follow the operator until an explicit engage', () => {
    const { loop, clock, states } = makeLoop();
    loop.setMode('teleop', 'test');
    const seq = { v: 0 };
    feed(loop, clock, 10, 0, seq);
    expect(loop.engage(undefined, 'test').ok).toBe(true);
    feed(loop, clock, 60, 10, seq);
    loop.estop('test');
    loop.resetEstop('test');
    const from = states.length;
    feed(loop, clock, 150, 70, seq); // 1.6 s of a moving operator
    const after = states.slice(from);
    expect(after.length).toBeGreaterThan(100);
    for (const q of after) expect(maxDiff(q, after[0]!)).toBe(0);
    expect(loop.state.engageRequired).toBe(true);
    expect(loop.state.holdReason).toBe('estop_reset');
    expect(loop.engage(undefined, 'test').ok).toBe(true);
    feed(loop, clock, 150, 220, seq);
    expect(maxDiff(states.at(-1)!, after[0]!)).toBeGreaterThan(1e-3);
  });

  it('holds the hands too before the first engage', () => {
    const { loop, clock, states } = makeLoop();
    loop.setMode('teleop', 'test');
    feed(loop, clock, 100);
    for (const q of states) expect(maxDiff(q, states[0]!)).toBe(0);
  });

  it('says holding (ROBOT_STATE flag bit 3) for every hold, not only the watchdog, with the reason', () => {
    const { loop, clock } = makeLoop();
    const hold = (): [boolean, string | null] => [loop.state.holding, loop.state.holdReason];
    loop.setMode('teleop', 'test');
    expect(hold()).toEqual([true, 'not_engaged']);
    const seq = { v: 0 };
    feed(loop, clock, 10, 0, seq);
    expect(loop.engage(undefined, 'test').ok).toBe(true);
    feed(loop, clock, 10, 10, seq);
    expect(hold()).toEqual([false, null]);
    clock.t += loop.watchdogMs + 50;
    loop.tick();
    expect(hold()).toEqual([true, 'watchdog']);
    feed(loop, clock, 10, 20, seq);
    expect(hold()).toEqual([false, null]);
    loop.estop('test');
    // At once, in the state the e-stop publishes, not from the next tick.
    expect(hold()).toEqual([true, 'estop']);
    clock.t += 20;
    loop.tick();
    expect(hold()).toEqual([true, 'estop']);
    loop.resetEstop('test');
    expect(hold()).toEqual([true, 'estop_reset']);
  });
});

describe('one gate for everything that leaves', () => {
  it('sends a policy chunk on only as the gate would command it: from the command now, within every velocity limit', () => {
    const { loop, clock } = makeLoop();
    const out: { tMs: number; chunk: ActionChunk; source: string }[] = [];
    loop.onChunk((tMs, chunk, source) => out.push({ tMs, source, chunk: { ...chunk, data: chunk.data.slice() } }));
    loop.setMode('policy', 'test');
    expect(loop.engage(undefined, 'test').ok).toBe(true);
    clock.t += 10;
    loop.tick();
    const now = loop.state.action;
    const k = 20;
    const data = new Float32Array(k * ACTION_DIM);
    // Every row asks for left joint 1 one radian away: a step a raw trajectory would execute.
    for (let r = 0; r < k; r++) {
      data.set(now, r * ACTION_DIM);
      data[r * ACTION_DIM + J1] = now[J1]! + 1;
    }
    clock.t += 1;
    expect(loop.submitChunk({ startTimeMs: clock.t, periodMs: 20, k, data }, clock.t)).toEqual({ ok: true });
    const policy = out.filter((o) => o.source === 'policy');
    expect(policy).toHaveLength(1);
    const c = policy[0]!.chunk;
    expect(policy[0]!.tMs).toBe(clock.t);
    expect(c.startTimeMs).toBe(clock.t);
    expect(c.k).toBe(k);
    expect(c.data[J1]).toBeCloseTo(loop.state.action[J1]!, 6);
    for (let r = 1; r < c.k; r++) {
      const step = Math.abs(c.data[r * ACTION_DIM + J1]! - c.data[(r - 1) * ACTION_DIM + J1]!);
      expect(step).toBeLessThanOrEqual(maxVelocity[0]! * 0.02 + 1e-6);
    }
    expect(c.data[(k - 1) * ACTION_DIM + J1]! - now[J1]!).toBeLessThan(0.5);
  });

  it('when a hold begins, sends on the gate’s preview of the hold, so a trajectory controller stops with the gate', () => {
    const { loop, clock } = makeLoop();
    const out: { source: string; chunk: ActionChunk }[] = [];
    loop.onChunk((_t, chunk, source) => out.push({ source, chunk: { ...chunk, data: chunk.data.slice() } }));
    loop.setMode('policy', 'test');
    loop.engage(undefined, 'test');
    const k = 50;
    const data = new Float32Array(k * ACTION_DIM);
    for (let r = 0; r < k; r++) {
      data.set(loop.state.action, r * ACTION_DIM);
      data[r * ACTION_DIM + J1] = loop.state.action[J1]! + (0.5 * r) / k;
    }
    expect(loop.submitChunk({ startTimeMs: clock.t, periodMs: 20, k, data }, clock.t).ok).toBe(true);
    for (let i = 0; i < 60; i++) {
      clock.t += 11;
      loop.tick();
    }
    const moving = Float32Array.from(loop.state.action);
    loop.operatorLost('test'); // the lease holder is gone
    const hold = out.at(-1)!;
    expect(hold.source).toBe('hold');
    const c = hold.chunk;
    const row = (r: number): Float32Array => c.data.subarray(r * ACTION_DIM, (r + 1) * ACTION_DIM);
    expect(c.k).toBeGreaterThan(10);
    // It brakes from where the arm is to rest, and stays.
    expect(Math.abs(row(0)[J1]! - moving[J1]!)).toBeLessThan(0.05);
    expect(Array.from(row(c.k - 1))).toEqual(Array.from(row(c.k - 2)));
    // An e-stop's preview is the command now, exactly, on every row.
    loop.engage(undefined, 'test');
    loop.estop('test');
    const stop = out.at(-1)!;
    expect(stop.source).toBe('hold');
    for (let r = 1; r < stop.chunk.k; r++) expect(Array.from(stop.chunk.data.subarray(r * ACTION_DIM, (r + 1) * ACTION_DIM))).toEqual(Array.from(stop.chunk.data.subarray(0, ACTION_DIM)));
  });

  it('stamps teleop chunks with the server time of the command, whatever the operator’s clock says', () => {
    const { loop, clock } = makeLoop();
    const chunks: { tMs: number; start: number }[] = [];
    const stateTimes: number[] = [];
    loop.onChunk((tMs, chunk) => chunks.push({ tMs, start: chunk.startTimeMs }));
    loop.onState((s) => stateTimes.push(s.serverTimeMs));
    loop.setMode('teleop', 'test');
    loop.engage(undefined, 'test');
    // The operator's clock runs 10 s ahead and 20 % slow: its frames say 9 ms apart, the server sees 11.
    for (let i = 0; i < 50; i++) {
      clock.t += 11;
      const f = frames[i]!;
      loop.handFrame(i + 1, 10_000 + clock.t * 0.8, f.left, f.right, clock.t);
    }
    expect(chunks.length).toBeGreaterThan(40);
    for (const c of chunks) {
      expect(c.tMs).toBe(c.start);
      expect(stateTimes).toContain(c.tMs);
    }
  });
});

describe('the gate starts from the robot', () => {
  it('starts the command at the fresh measured joints on engage, not at the home posture', () => {
    const { loop, clock, states } = makeLoop();
    loop.setMode('policy', 'test');
    const home = Float64Array.from(loop.state.q);
    const q = Float64Array.from(home);
    q[0] = home[0]! + 0.6;
    q[3] = home[3]! - 0.4;
    loop.setMeasured(q);
    clock.t += 5;
    expect(loop.engage(undefined, 'test').ok).toBe(true);
    clock.t += 11;
    loop.tick();
    const first = states.at(-1)!;
    expect(first[0]).toBeCloseTo(q[0]!, 9);
    expect(first[3]).toBeCloseTo(q[3]!, 9);
  });

  it('refuses to engage without fresh measured joints when requireMeasured is on', () => {
    const { loop, clock } = makeLoop({ requireMeasured: true });
    loop.setMode('teleop', 'test');
    expect(loop.engage(undefined, 'test')).toMatchObject({ ok: false, code: 'MEASURED_STALE' });
    loop.setMeasured(Float64Array.from(loop.state.q), false);
    expect(loop.engage(undefined, 'test')).toMatchObject({ ok: false, code: 'MEASURED_STALE' });
    loop.setMeasured(Float64Array.from(loop.state.q));
    clock.t += 300;
    expect(loop.engage(undefined, 'test')).toMatchObject({ ok: false, code: 'MEASURED_STALE' });
    loop.setMeasured(Float64Array.from(loop.state.q));
    expect(loop.engage(undefined, 'test').ok).toBe(true);
  });

  it('holds, and says why, when the measured joints stay too far from the command', () => {
    const { loop, clock, events } = makeLoop({ followingErrorRad: 0.2, followingErrorMs: 50 });
    loop.setMode('policy', 'test');
    loop.setMeasured(Float64Array.from(loop.state.q));
    loop.engage(undefined, 'test');
    const stuck = Float64Array.from(loop.state.q);
    stuck[2] = stuck[2]! + 0.3; // the robot is not where it was told to be
    for (let i = 0; i < 10; i++) {
      clock.t += 11;
      loop.setMeasured(stuck);
      loop.tick();
    }
    const hold = events.find((e) => e.event === 'hold');
    expect(hold?.detail).toMatchObject({ reason: 'following_error', joint: STATE_JOINT_NAMES[2], engageRequired: true });
    expect(loop.state.holdReason).toBe('following_error');
    expect(loop.state.engageRequired).toBe(true);
  });

  it('re-anchors at the gated command: engaging with a still hand moves nothing', () => {
    const { loop, clock, states } = makeLoop();
    loop.setMode('teleop', 'test');
    feed(loop, clock, 5, 40, { v: 0 }, true);
    loop.engage(undefined, 'test');
    const seq = { v: 100 };
    feed(loop, clock, 100, 40, seq, true);
    const base = states.at(-1)!;
    feed(loop, clock, 50, 40, seq, true);
    expect(maxDiff(states.at(-1)!.subarray(0, 14), base.subarray(0, 14))).toBeLessThan(1e-6);
  });
});

describe('calibration', () => {
  it('waits for the next engage: a new translation scale while engaged moves nothing', () => {
    const { loop, clock, states, events } = makeLoop();
    loop.setMode('teleop', 'test');
    const seq = { v: 0 };
    feed(loop, clock, 5, 40, seq, true);
    loop.engage(undefined, 'test');
    feed(loop, clock, 150, 40, seq, true); // a still hand: the robot settles
    const settled = states.at(-1)!;
    expect(loop.calibrate({ translationScale: 3 }, 'test')).toBeNull();
    feed(loop, clock, 100, 40, seq, true);
    expect(maxDiff(states.at(-1)!, settled)).toBeLessThan(1e-6);
    expect(events.some((e) => e.event === 'tracking' && e.detail['calibrated'] !== undefined)).toBe(false);
    loop.engage(undefined, 'test');
    expect(events.some((e) => e.event === 'tracking' && e.detail['calibrated'] !== undefined)).toBe(true);
    feed(loop, clock, 100, 40, seq, true);
    expect(maxDiff(states.at(-1)!.subarray(0, 14), settled.subarray(0, 14))).toBeLessThan(1e-6);
  });

  it('calibrate_hands measures a second of open hands into per-hand scales and digit scales, applied at the next engage', () => {
    const { loop, clock, events } = makeLoop();
    // The operator's hands: the robot's own open hand at 0.8 of its size, index 10 % longer on the left.
    const right = placeHand(syntheticHumanHand(rig, 'right', new Float64Array(16), { scale: 0.8 }), [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 1.1, -0.3]);
    const leftOpen = syntheticHumanHand(rig, 'left', new Float64Array(16), { scale: 0.8 });
    for (let j = 7; j <= 9; j++) for (let c = 0; c < 3; c++) leftOpen[j * 8 + c] = leftOpen[6 * 8 + c]! + 1.1 * (leftOpen[j * 8 + c]! - leftOpen[6 * 8 + c]!);
    const left = placeHand(leftOpen, [1, 0, 0, 0, 1, 0, 0, 0, 1, -0.2, 1.1, -0.3]);
    expect(loop.calibrateHands(1, 'op')).toBeNull();
    // A slow client: 20 frames of each hand in the second, then more until 30, then it ends.
    const slow = makeLoop();
    slow.loop.calibrateHands(1, 'op');
    for (let k = 1; k <= 31; k++) {
      slow.clock.t += 50;
      slow.loop.handFrame(k, slow.clock.t, left, right, slow.clock.t);
    }
    const slowDone = slow.events.find((e) => e.event === 'tracking' && (e.detail['handCalibration'] as Record<string, unknown> | undefined)?.['left'] !== undefined);
    expect(slowDone?.detail['handCalibration']).toMatchObject({ left: { frames: 30 }, right: { frames: 30 } });
    expect(events.at(-1)).toMatchObject({ event: 'tracking', detail: { handCalibration: { measuring: true, seconds: 1 } } });
    let seq = 0;
    for (let i = 0; i < 95; i++) {
      clock.t += 11;
      loop.handFrame(++seq, clock.t, left, right, clock.t);
    }
    const done = events.find((e) => e.event === 'tracking' && (e.detail['handCalibration'] as Record<string, unknown> | undefined)?.['left'] !== undefined);
    const report = done!.detail['handCalibration'] as Record<Side, { scale: number; digitScales: number[]; frames: number }>;
    expect(report.right.scale).toBeCloseTo(1 / 0.8, 2);
    expect(report.left.digitScales[1]!).toBeCloseTo(1 / (0.8 * 1.1), 3);
    expect(report.left.digitScales[2]!).toBeCloseTo(1 / 0.8, 3);
    // 1 s of frames 11 ms apart: the frames before the end, not one after.
    expect(report.right.frames).toBe(90);
    const pending = loop.pendingCalibrationRequest!;
    expect(pending.digitScales?.left?.[1]).toBeCloseTo(1 / (0.8 * 1.1), 3);
    expect(events.some((e) => e.event === 'tracking' && e.detail['calibrated'] !== undefined)).toBe(false);
    loop.setMode('teleop', 'op');
    loop.engage(undefined, 'op');
    const applied = events.find((e) => e.event === 'tracking' && e.detail['calibrated'] !== undefined)!;
    expect(applied.detail['calibrated']).toMatchObject({ handScale: { left: report.left.scale, right: report.right.scale } });
    expect(loop.pendingCalibrationRequest).toBeNull();
  });

  it('calibrate_hands reports a hand it never saw with a code and calibrates the other', () => {
    const { loop, clock, events } = makeLoop();
    const right = placeHand(syntheticHumanHand(rig, 'right', new Float64Array(16), { scale: 0.9 }), [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 1.1, -0.3]);
    loop.calibrateHands(0.5, 'op');
    const isDone = (e: LoopEvent): boolean => e.event === 'tracking' && (e.detail['handCalibration'] as Record<string, unknown> | undefined)?.['left'] !== undefined;
    let i = 0;
    // Past 0.5 s it waits for the missing hand, up to 5 s.
    for (; i < 454; i++) {
      clock.t += 11;
      loop.handFrame(i + 1, clock.t, null, right, clock.t);
    }
    expect(events.some(isDone)).toBe(false);
    clock.t += 11;
    loop.handFrame(++i, clock.t, null, right, clock.t);
    const done = events.find(isDone)!;
    expect(done.detail['handCalibration']).toMatchObject({ left: { code: 'CALIBRATION_NO_HANDS' }, right: { frames: 454 } });
    expect(loop.pendingCalibrationRequest?.handScale).toEqual({ right: expect.closeTo(1 / 0.9, 2) });
  });

  it('calibrate_hands is cancelled when its operator is lost: the next operator\'s hands are not measured for it', () => {
    const { loop, clock, events } = makeLoop();
    const right = placeHand(syntheticHumanHand(rig, 'right', new Float64Array(16)), [1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 1.1, -0.3]);
    loop.calibrateHands(0.5, 'op');
    loop.operatorLost('lease_taken');
    expect(events.at(-2)).toMatchObject({ event: 'tracking', detail: { handCalibration: { cancelled: true, why: 'lease_taken' } } });
    for (let i = 0; i < 100; i++) {
      clock.t += 11;
      loop.handFrame(i + 1, clock.t, right, right, clock.t);
    }
    expect(events.some((e) => e.event === 'tracking' && (e.detail['handCalibration'] as Record<string, unknown> | undefined)?.['left'] !== undefined)).toBe(false);
    expect(loop.pendingCalibrationRequest).toBeNull();
  });

  it('calibrate_hands refuses a duration outside 0.5–5 s', () => {
    const { loop } = makeLoop();
    for (const s of [0.1, 6, Number.NaN]) expect(loop.calibrateHands(s, 'op')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE' });
  });

  it('refuses digit scales outside their range or of the wrong length', () => {
    const { loop } = makeLoop();
    expect(loop.calibrate({ digitScales: { left: [1, 1, 1, 1] } }, 'test')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE' });
    expect(loop.calibrate({ digitScales: { right: [1, 1, 3, 1, 1] } }, 'test')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE', message: expect.stringContaining('digitScales.right[2]') });
    expect(loop.calibrate({ digitScales: { right: [1, 1.1, 1, 1, 0.9] } }, 'test')).toBeNull();
  });

  it('refuses scales outside their documented ranges with a coded error', () => {
    const { loop } = makeLoop();
    expect(loop.calibrate({ handScale: 1e308 }, 'test')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE' });
    expect(loop.calibrate({ handScale: { left: 0.1 } }, 'test')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE' });
    expect(loop.calibrate({ translationScale: 8 }, 'test')).toMatchObject({ code: 'CALIBRATION_OUT_OF_RANGE' });
    expect(loop.calibrate({ handScale: 1.2, translationScale: 1.5 }, 'test')).toBeNull();
  });
});

describe('OperatorClock', () => {
  /** Honest frames: operator time = server time − 40 ms, 11 ms apart. */
  const honest = (c: OperatorClock, from: number, n: number, seq: { v: number }): string[] => {
    const codes: string[] = [];
    for (let i = 0; i < n; i++) {
      const recv = from + i * 11;
      const r = c.check(++seq.v, recv - 40, recv);
      codes.push(r.ok ? 'ok' : r.code);
    }
    return codes;
  };

  for (const bogus of [1e300, 10_000]) {
    it(`refuses one frame stamped ${bogus === 1e300 ? '1e300' : '+10 s'} and accepts the honest frames after it`, () => {
      const c = new OperatorClock();
      const seq = { v: 0 };
      expect(honest(c, 1000, 10, seq).every((x) => x === 'ok')).toBe(true);
      const r = c.check(++seq.v, bogus === 1e300 ? 1e300 : 1100 - 40 + bogus, 1100);
      expect(r).toMatchObject({ ok: false, code: 'FRAME_TIME_IMPLAUSIBLE' });
      expect(honest(c, 1111, 20, seq).every((x) => x === 'ok')).toBe(true);
    });
  }

  it('re-learns a clock that really stepped, after a run of consistent frames', () => {
    const c = new OperatorClock({ relearnFrames: 5 });
    const seq = { v: 0 };
    honest(c, 1000, 10, seq);
    // The headset's clock jumps back 60 s (resumed from sleep): frames look "backwards", then are believed.
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const recv = 2000 + i * 11;
      const r = c.check(++seq.v, recv - 60_000, recv);
      codes.push(r.ok ? 'ok' : r.code);
    }
    expect(codes.slice(0, 4).every((x) => x === 'FRAME_TIME_BACKWARDS')).toBe(true);
    expect(codes.slice(4).every((x) => x === 'ok')).toBe(true);
  });

  it('counts a stale frame\'s seq for the order: a later frame needs a greater one', () => {
    const c = new OperatorClock({ staleMs: 150 });
    const seq = { v: 0 };
    expect(honest(c, 1000, 5, seq).every((x) => x === 'ok')).toBe(true);
    // seq 10, 300 ms later than the best delay: stale, yet its seq is taken.
    expect(c.check(10, 1500 - 40 - 300, 1500)).toMatchObject({ ok: false, code: 'FRAME_STALE' });
    expect(c.check(8, 1511 - 40, 1511)).toMatchObject({ ok: false, code: 'FRAME_OUT_OF_ORDER' });
    expect(c.check(10, 1522 - 40, 1522)).toMatchObject({ ok: false, code: 'FRAME_OUT_OF_ORDER' });
    expect(c.check(11, 1533 - 40, 1533)).toEqual({ ok: true });
  });

  it('keeps refusing frames late by a slow network (not a clock step)', () => {
    const c = new OperatorClock({ relearnFrames: 3, staleMs: 150 });
    const seq = { v: 0 };
    honest(c, 1000, 5, seq);
    for (let i = 0; i < 10; i++) {
      const recv = 2000 + i * 11;
      expect(c.check(++seq.v, recv - 40 - 300, recv)).toMatchObject({ ok: false, code: 'FRAME_STALE' });
    }
  });
});
