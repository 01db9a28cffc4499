import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACTION_DIM, ACTION_LAYOUT, createActionSchema, createRig, type HandFrame, parseHandFramesJsonl, Retargeter, type RetargetOutput,
  STATE_DIM, STATE_JOINT_NAMES, validateAction,
} from '@dexbridge/retarget';

const DEMO = new URL('../../server/data/quest3-hands.jsonl', import.meta.url);
const rig = createRig();
const limits = STATE_JOINT_NAMES.map((n) => rig.jointLimit(n)!);
const schema = createActionSchema((n) => rig.jointLimit(n));

interface Snapshot { tMs: number; q: Float64Array; action: Float32Array; left: RetargetOutput['status']['left']; right: RetargetOutput['status']['right'] }

function snapshot(o: RetargetOutput): Snapshot {
  return {
    tMs: o.tMs, q: Float64Array.from(o.q), action: Float32Array.from(o.action),
    left: structuredClone(o.status.left), right: structuredClone(o.status.right),
  };
}

function run(frames: readonly HandFrame[], rt = new Retargeter(rig)): Snapshot[] {
  return frames.map((f) => snapshot(rt.process(f)));
}

describe('Retargeter on the real Quest 3 session', () => {
  let frames: HandFrame[];
  let out: Snapshot[];
  beforeAll(() => {
    frames = parseHandFramesJsonl(readFileSync(DEMO, 'utf8'));
    out = run(frames);
  });

  it('gives one output per frame with 56 joints and 88 action entries', () => {
    expect(out).toHaveLength(frames.length);
    expect(out[0]!.q).toHaveLength(STATE_DIM);
    expect(out[0]!.action).toHaveLength(ACTION_DIM);
  });

  it('keeps every output finite', () => {
    for (const s of out) {
      expect(s.q.every(Number.isFinite)).toBe(true);
      expect(s.action.every(Number.isFinite)).toBe(true);
    }
  });

  it('keeps every joint inside its limits', () => {
    for (const s of out) {
      for (let i = 0; i < STATE_DIM; i++) {
        expect(s.q[i]!, STATE_JOINT_NAMES[i]).toBeGreaterThanOrEqual(limits[i]!.lower - 1e-9);
        expect(s.q[i]!, STATE_JOINT_NAMES[i]).toBeLessThanOrEqual(limits[i]!.upper + 1e-9);
      }
    }
  });

  it('never steps a joint faster than its velocity limit', () => {
    let worst = 0;
    for (let k = 1; k < out.length; k++) {
      const dt = (out[k]!.tMs - out[k - 1]!.tMs) / 1000;
      for (let i = 0; i < STATE_DIM; i++) {
        const ratio = Math.abs(out[k]!.q[i]! - out[k - 1]!.q[i]!) / (limits[i]!.velocity * dt);
        worst = Math.max(worst, ratio);
      }
    }
    expect(worst).toBeLessThanOrEqual(1 + 1e-9);
    expect(worst).toBeGreaterThan(0.5); // the limit is really reached: the check is not vacuous
  });

  it('produces actions that pass the action schema', () => {
    for (const s of out) expect(validateAction(schema, s.action)).toEqual({ ok: true });
  });

  it('moves both arms and both hands', () => {
    const first = out[0]!, mid = out[Math.floor(out.length / 2)]!;
    for (const g of [ACTION_LAYOUT.leftArm, ACTION_LAYOUT.rightArm, ACTION_LAYOUT.leftHand, ACTION_LAYOUT.rightHand]) {
      const moved = Math.max(...Array.from({ length: g.length }, (_, i) => Math.abs(mid.action[g.offset + i]! - first.action[g.offset + i]!)));
      expect(moved).toBeGreaterThan(0.05);
    }
  });

  it('holds the left side during its tracking dropout and says so', () => {
    // Frames where the left hand goes from tracked to missing.
    const lost = frames.map((f, k) => (k > 0 && f.left === null && frames[k - 1]!.left !== null ? k : -1)).filter((k) => k >= 0);
    expect(lost.length).toBeGreaterThan(0);
    const start = lost[0]!;
    let end = start;
    while (frames[end]!.left === null) end++;
    expect(end - start).toBeGreaterThan(30); // the ~1 s dropout
    // Let the limiter finish the motion already under way, then the left side must stand still.
    const settled = start + 30;
    for (let k = settled; k < end; k++) {
      const s = out[k]!;
      expect(s.left.tracked).toBe(false);
      expect(s.left.hold).toBe('missing');
      for (const g of [ACTION_LAYOUT.leftArm, ACTION_LAYOUT.leftHand]) {
        for (let i = 0; i < g.length; i++) expect(s.action[g.offset + i]).toBe(out[settled]!.action[g.offset + i]);
      }
      expect(s.right.tracked).toBe(true);
    }
  });

  it('recovers the left side after the dropout with a cold solve and keeps following', () => {
    let k = frames.findIndex((f, i) => i > 0 && f.left === null);
    while (frames[k]!.left === null) k++;
    expect(out[k]!.left.tracked).toBe(true);
    expect(out[k]!.left.hand.cold).toBe(true);
    expect(out[k]!.left.engaged).toBe(true);
    const later = out[k + 60]!;
    expect(later.left.hand.cold).toBe(false);
    const moved = Math.max(...Array.from({ length: 16 }, (_, i) => Math.abs(later.action[ACTION_LAYOUT.leftHand.offset + i]! - out[k - 1]!.action[ACTION_LAYOUT.leftHand.offset + i]!)));
    expect(moved).toBeGreaterThan(0.01);
  });

  it('bounds every warm hand solve at 8 iterations by default (a deterministic worst case per frame)', () => {
    let warm = 0;
    for (const o of out) {
      for (const st of [o.left, o.right]) {
        if (!st.tracked || st.hand.cold) continue;
        warm++;
        expect(st.hand.iterations).toBeLessThanOrEqual(8);
      }
    }
    expect(warm).toBeGreaterThan(1000);
  });

  it('engages the arms at the first tracked frame without a jump', () => {
    const k = frames.findIndex((f) => f.right !== null);
    expect(out[k]!.right.engaged).toBe(true);
    const before = new Retargeter(rig).output.action;
    for (let i = 0; i < 7; i++) expect(out[k]!.action[ACTION_LAYOUT.rightArm.offset + i]!).toBeCloseTo(before[ACTION_LAYOUT.rightArm.offset + i]!, 2);
  });
});

describe('Retargeter behaviour', () => {
  const frames = parseHandFramesJsonl(readFileSync(DEMO, 'utf8')).slice(0, 60).filter((f) => f.left !== null && f.right !== null);

  it('holds a side whose hand has a NaN and reports not_finite, while the other side moves', () => {
    const rt = new Retargeter(rig);
    run(frames.slice(0, 20), rt);
    const before = Float32Array.from(rt.output.action);
    const bad = Float64Array.from(frames[20]!.left!);
    bad[3 * 8 + 1] = Number.NaN;
    const o = rt.process({ tMs: frames[20]!.tMs, left: bad, right: frames[20]!.right });
    expect(o.status.left.hold).toBe('not_finite');
    expect(o.status.right.tracked).toBe(true);
    expect(o.action.every(Number.isFinite)).toBe(true);
    // The held side's target stays; only motion already under way may finish within limits.
    expect(Math.abs(o.action[ACTION_LAYOUT.leftHand.offset]! - before[ACTION_LAYOUT.leftHand.offset]!)).toBeLessThan(0.1);
  });

  it('rejects an implausible hand (bones stretched 3×) as implausible', () => {
    const rt = new Retargeter(rig);
    run(frames.slice(0, 5), rt);
    const stretched = Float64Array.from(frames[5]!.right!);
    for (let j = 0; j < 25; j++) for (let c = 0; c < 3; c++) stretched[j * 8 + c] = stretched[j * 8 + c]! * 3;
    const o = rt.process({ tMs: frames[5]!.tMs, left: frames[5]!.left, right: stretched });
    expect(['implausible_bones', 'implausible_size']).toContain(o.status.right.hold);
  });

  it('holds when time does not advance', () => {
    const rt = new Retargeter(rig);
    run(frames.slice(0, 10), rt);
    const before = Float64Array.from(rt.output.q);
    const o = rt.process({ tMs: frames[9]!.tMs - 5, left: frames[30]!.left, right: frames[30]!.right });
    expect(Array.from(o.q)).toEqual(Array.from(before));
  });

  it('applies an explicit operator hand scale', () => {
    const rt = new Retargeter(rig, { hand: { scale: 1.3 } });
    rt.process(frames[0]!);
    expect(rt.handScale('right')).toBe(1.3);
    const auto = new Retargeter(rig);
    auto.process(frames[0]!);
    expect(auto.handScale('right')).toBeGreaterThan(0.9);
    expect(auto.handScale('right')).toBeLessThan(1.4);
  });

  it('does not move a disengaged arm, and re-anchors on engage without a jump', () => {
    const rt = new Retargeter(rig);
    run(frames.slice(0, 10), rt);
    rt.disengage('right');
    const held = Array.from(rt.output.action.subarray(ACTION_LAYOUT.rightArm.offset, ACTION_LAYOUT.rightArm.offset + 7));
    const later = run(frames.slice(10, 40), rt);
    const arm = (s: Snapshot): number[] => Array.from(s.action.subarray(ACTION_LAYOUT.rightArm.offset, ACTION_LAYOUT.rightArm.offset + 7));
    // Under the 10 rad/s² acceleration limit the arm brakes to a stop near where it was, then stays.
    for (const s of later) {
      expect(s.right.engaged).toBe(false);
      for (let i = 0; i < 7; i++) expect(Math.abs(arm(s)[i]! - held[i]!)).toBeLessThan(0.05);
    }
    const stopped = arm(later[later.length - 10]!);
    for (const s of later.slice(-10)) expect(arm(s)).toEqual(stopped);
    rt.engage('right');
    const o = rt.process(frames[40]!);
    expect(o.status.right.engaged).toBe(true);
    for (let i = 0; i < 7; i++) expect(o.action[ACTION_LAYOUT.rightArm.offset + i]!).toBeCloseTo(stopped[i]!, 2);
  });

  it('rides over single-frame tracking dropouts instead of re-acquiring', () => {
    const all = parseHandFramesJsonl(readFileSync(DEMO, 'utf8')).filter((f) => f.right !== null).slice(0, 300);
    const travel = (fs: HandFrame[]): number => {
      const out = run(fs);
      let sum = 0;
      for (let k = 1; k < out.length; k++) {
        for (let i = 0; i < 7; i++) sum += Math.abs(out[k]!.action[ACTION_LAYOUT.rightArm.offset + i]! - out[k - 1]!.action[ACTION_LAYOUT.rightArm.offset + i]!);
      }
      return sum;
    };
    const dropped = all.map((f, k) => (k % 10 === 5 ? { ...f, right: null } : f));
    const rt = new Retargeter(rig);
    const outs = dropped.map((f) => snapshot(rt.process(f)));
    // The dropped frames hold, but tracking resumes warm: no cold solve after a one-frame gap.
    expect(outs.filter((o, k) => k > 10 && o.right.hand.cold).length).toBe(0);
    expect(travel(dropped)).toBeGreaterThan(0.8 * travel(all));
  });

  it('validates its options', () => {
    expect(() => new Retargeter(rig, { handIterations: 0 })).toThrow(RangeError);
    expect(() => new Retargeter(rig, { hand: { scale: -1 } })).toThrow(/scale/);
    expect(() => new Retargeter(rig, { arm: { translationScale: Number.NaN } })).toThrow(/translationScale/);
    expect(() => new Retargeter(rig, { armStart: { left: [0, 0] } })).toThrow(/armStart/);
  });
});
