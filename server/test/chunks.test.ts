import {
  ACTION_DIM, ACTION_INDEX, ACTION_LAYOUT, ACTION_NAMES, ACTIVE_DIM, type ActionChunk, chunkFromActions, createRig, HAND_ACTIVE_DOF,
  HAND_DOF, parseHandFramesJsonl, Retargeter, SIDES, validateAction, createActionSchema,
} from '@dexbridge/retarget';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTION_INDEX_OF_ACTIVE, ACTIVE_JOINT_NAMES, ACTIVE_LAYOUT, activeFromAction, ChunkExecutor, DEFAULT_ENSEMBLE_DECAY, TeleopChunker,
} from '../src/control/index.js';

const rig = createRig();
/** A valid action: the retargeter's home output. */
const HOME_ACTION = Float32Array.from(new Retargeter(rig).output.action);
const J0 = ACTION_LAYOUT.leftArm.offset; // left arm joint 1
const RX = ACTION_LAYOUT.rightFlange.offset + 3; // right flange rotation vector

/** A chunk of `k` rows from `start` every `period` ms; `edit(row, i)` changes row i of a home action. */
function chunk(k: number, startTimeMs: number, periodMs: number, edit: (row: Float32Array, i: number) => void = () => {}): ActionChunk {
  const rows = Array.from({ length: k }, (_, i) => {
    const row = Float32Array.from(HOME_ACTION);
    edit(row, i);
    return row;
  });
  return chunkFromActions(rows, startTimeMs, periodMs);
}

describe('activeFromAction', () => {
  it('maps every active joint to the action entry of the same joint', () => {
    expect(ACTIVE_JOINT_NAMES).toHaveLength(ACTIVE_DIM);
    for (let i = 0; i < ACTIVE_DIM; i++) expect(ACTION_NAMES[ACTION_INDEX_OF_ACTIVE[i]!]).toBe(ACTIVE_JOINT_NAMES[i]);
    expect(new Set(ACTION_INDEX_OF_ACTIVE).size).toBe(ACTIVE_DIM);
  });

  it("recovers the retargeter's commanded joints from its action (arms and all 21 hand joints via the linkage)", () => {
    const frames = parseHandFramesJsonl(readFileSync(new URL('../data/quest3-hands.jsonl', import.meta.url), 'utf8'));
    const rt = new Retargeter(rig);
    const active = new Float64Array(ACTIVE_DIM);
    const q = new Float64Array(HAND_DOF);
    for (const f of frames.slice(0, 120)) {
      const out = rt.process(f);
      activeFromAction(out.action, active);
      for (const side of SIDES) {
        const arm = ACTIVE_LAYOUT[`${side}Arm`];
        const stateArm = side === 'left' ? 0 : arm.length;
        for (let j = 0; j < arm.length; j++) expect(active[arm.offset + j]).toBe(Math.fround(out.q[stateArm + j]!));
        const hand = ACTIVE_LAYOUT[`${side}Hand`];
        const s = rig.sides[side];
        s.handTree.jointPositions(active.subarray(hand.offset, hand.offset + HAND_ACTIVE_DOF), s.handJointMap, q);
        const stateHand = 2 * 7 + (side === 'left' ? 0 : HAND_DOF);
        for (let j = 0; j < HAND_DOF; j++) expect(q[j]).toBeCloseTo(out.q[stateHand + j]!, 6);
      }
    }
  });

  it('refuses buffers of the wrong length', () => {
    expect(() => activeFromAction(new Float32Array(87), new Float64Array(ACTIVE_DIM))).toThrow(RangeError);
    expect(() => activeFromAction(HOME_ACTION, new Float64Array(45))).toThrow(RangeError);
  });
});

describe('ChunkExecutor.submit', () => {
  it('accepts a valid chunk and reports the latency', () => {
    const ex = new ChunkExecutor(rig);
    expect(ex.submit(chunk(10, 950, 20), 1000)).toEqual({ ok: true });
    const st = ex.stats();
    expect(st.accepted).toBe(1);
    expect(st.queueDepth).toBe(1);
    expect(st.lastLatencyMs).toBe(50);
  });

  it('refuses a chunk whose data does not match k (CHUNK_BAD_SHAPE)', () => {
    const ex = new ChunkExecutor(rig);
    const c = chunk(3, 0, 20);
    expect(ex.submit({ ...c, k: 4 }, 0)).toMatchObject({ ok: false, code: 'CHUNK_BAD_SHAPE' });
    expect(ex.submit({ ...c, k: 0 }, 0)).toMatchObject({ ok: false, code: 'CHUNK_BAD_SHAPE' });
  });

  it('refuses bad timing (CHUNK_BAD_TIMING)', () => {
    const ex = new ChunkExecutor(rig);
    expect(ex.submit({ ...chunk(3, 0, 20), periodMs: 0 }, 0)).toMatchObject({ ok: false, code: 'CHUNK_BAD_TIMING' });
    expect(ex.submit({ ...chunk(3, 0, 20), startTimeMs: Number.NaN }, 0)).toMatchObject({ ok: false, code: 'CHUNK_BAD_TIMING' });
  });

  it('refuses bad values: NaN, a joint past its limit, a rotation vector longer than π', () => {
    const ex = new ChunkExecutor(rig);
    const nan = ex.submit(chunk(3, 0, 20, (r, i) => { if (i === 2) r[J0 + 3] = Number.NaN; }), 0);
    expect(nan).toMatchObject({ ok: false, code: 'ACTION_NOT_FINITE' });
    const limit = rig.jointLimit('left_arm_joint4')!;
    const out = ex.submit(chunk(3, 0, 20, (r) => { r[J0 + 3] = limit.upper + 0.1; }), 0);
    expect(out).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS' });
    const rot = ex.submit(chunk(3, 0, 20, (r) => { r[RX] = 3; r[RX + 1] = 1; }), 0);
    expect(rot).toMatchObject({ ok: false, code: 'ACTION_BAD_ROTATION' });
    expect(ex.stats().refused).toBe(3);
    expect(ex.stats().queueDepth).toBe(0);
  });

  it('refuses a chunk entirely in the past (CHUNK_STALE)', () => {
    const ex = new ChunkExecutor(rig);
    const r = ex.submit(chunk(5, 0, 20), 81); // last row at 80 ms
    expect(r).toMatchObject({ ok: false, code: 'CHUNK_STALE' });
    expect(r.ok ? '' : r.message).toMatch(/^chunks: .*81 ms/);
  });

  it('refuses a chunk that starts more than maxAgeMs before its arrival, even if it still covers now (CHUNK_STALE)', () => {
    const ex = new ChunkExecutor(rig, { maxAgeMs: 500 });
    expect(ex.submit(chunk(50, 0, 20), 501)).toMatchObject({ ok: false, code: 'CHUNK_STALE' });
    expect(ex.submit(chunk(50, 0, 20), 500)).toEqual({ ok: true });
    expect(ex.stats().lastLatencyMs).toBe(500);
  });

  it('refuses a chunk that starts more than maxLeadMs in the future (CHUNK_FUTURE)', () => {
    const ex = new ChunkExecutor(rig, { maxLeadMs: 1000 });
    expect(ex.submit(chunk(5, 2001, 20), 1000)).toMatchObject({ ok: false, code: 'CHUNK_FUTURE' });
    expect(ex.submit(chunk(5, 2000, 20), 1000)).toEqual({ ok: true });
  });

  it('validates options with a RangeError naming the option', () => {
    expect(() => new ChunkExecutor(rig, { maxAgeMs: -1 })).toThrow(/maxAgeMs/);
    expect(() => new ChunkExecutor(rig, { maxQueue: 0 })).toThrow(/maxQueue/);
    expect(() => new ChunkExecutor(rig, { ensembleDecay: Number.NaN })).toThrow(/ensembleDecay/);
    expect(() => new ChunkExecutor(rig, { maxLeadMs: Number.POSITIVE_INFINITY })).toThrow(/maxLeadMs/);
  });

  it('copies the chunk: changing the caller’s buffer afterwards changes nothing', () => {
    const ex = new ChunkExecutor(rig);
    const c = chunk(3, 0, 20, (r) => { r[J0] = 0.5; });
    ex.submit(c, 0);
    c.data.fill(0);
    const out = new Float32Array(ACTION_DIM);
    expect(ex.sample(20, out)).toBe(true);
    expect(out[J0]).toBe(Math.fround(0.5));
  });
});

describe('ChunkExecutor.sample', () => {
  it('reproduces a single chunk’s rows exactly at the row times, and interpolates between', () => {
    const ex = new ChunkExecutor(rig);
    const c = chunk(5, 1000, 20, (r, i) => { r[J0] = 0.1 * i; });
    ex.submit(c, 1000);
    const out = new Float32Array(ACTION_DIM);
    for (let i = 0; i < 5; i++) {
      expect(ex.sample(1000 + 20 * i, out)).toBe(true);
      expect(Array.from(out)).toEqual(Array.from(c.data.subarray(i * ACTION_DIM, (i + 1) * ACTION_DIM)));
    }
    ex.submit(c, 1000);
    expect(ex.sample(1010, out)).toBe(true);
    expect(out[J0]).toBeCloseTo(0.05, 6);
  });

  it('returns false and leaves the output untouched when no chunk covers the time', () => {
    const ex = new ChunkExecutor(rig);
    const out = new Float32Array(ACTION_DIM).fill(7);
    expect(ex.sample(0, out)).toBe(false);
    ex.submit(chunk(5, 1000, 20), 900);
    expect(ex.sample(999, out)).toBe(false); // before its first row
    expect(ex.sample(1081, out)).toBe(false); // after its last row
    expect(out.every((v) => v === 7)).toBe(true);
  });

  it('drops expired chunks and counts them', () => {
    const ex = new ChunkExecutor(rig);
    ex.submit(chunk(5, 1000, 20), 1000);
    ex.submit(chunk(50, 1000, 20), 1000);
    expect(ex.stats().queueDepth).toBe(2);
    ex.sample(1100, new Float32Array(ACTION_DIM));
    expect(ex.stats()).toMatchObject({ queueDepth: 1, expired: 1 });
  });

  it('blends two overlapping chunks by the documented weights: w = exp(−m·i), i = 0 the older', () => {
    const ex = new ChunkExecutor(rig);
    const angleA = 0.4;
    const angleB = 1.1;
    ex.submit(chunk(10, 1000, 20, (r) => { r[J0] = 0.2; r[RX] = 0; r[RX + 1] = 0; r[RX + 2] = angleA; }), 1000);
    ex.submit(chunk(10, 1060, 20, (r) => { r[J0] = -0.6; r[RX] = 0; r[RX + 1] = 0; r[RX + 2] = angleB; }), 1060);
    const out = new Float64Array(ACTION_DIM);
    expect(ex.sample(1100, out)).toBe(true);
    const w0 = 1;
    const w1 = Math.exp(-DEFAULT_ENSEMBLE_DECAY);
    const a = Math.fround(0.2);
    const b = Math.fround(-0.6);
    expect(out[J0]).toBeCloseTo((w0 * a + w1 * b) / (w0 + w1), 12);
    // Rotations about one axis: the quaternion mean is a rotation about it by
    // 2·atan2(Σ w·sin(θ/2), Σ w·cos(θ/2)).
    const A = Math.fround(angleA);
    const B = Math.fround(angleB);
    const angle = 2 * Math.atan2(w0 * Math.sin(A / 2) + w1 * Math.sin(B / 2), w0 * Math.cos(A / 2) + w1 * Math.cos(B / 2));
    expect(out[RX]).toBeCloseTo(0, 12);
    expect(out[RX + 1]).toBeCloseTo(0, 12);
    expect(out[RX + 2]).toBeCloseTo(angle, 7);
    // Outside the overlap the single covering chunk is reproduced.
    expect(ex.sample(1040, out)).toBe(true);
    expect(out[J0]).toBe(a);
  });

  it('averages evenly with m = 0 and favours the newer chunk with m < 0', () => {
    const even = new ChunkExecutor(rig, { ensembleDecay: 0 });
    const newer = new ChunkExecutor(rig, { ensembleDecay: -1 });
    for (const ex of [even, newer]) {
      ex.submit(chunk(10, 0, 20, (r) => { r[J0] = 0; }), 0);
      ex.submit(chunk(10, 0, 20, (r) => { r[J0] = 1; }), 0);
    }
    const out = new Float64Array(ACTION_DIM);
    even.sample(40, out);
    expect(out[J0]).toBeCloseTo(0.5, 12);
    newer.sample(40, out);
    expect(out[J0]).toBeCloseTo(Math.E / (1 + Math.E), 12);
  });

  it('averages rotations on the sphere: two rotations either side of π give one near π, not the identity', () => {
    const ex = new ChunkExecutor(rig, { ensembleDecay: 0 });
    const t = Math.PI - 0.05;
    ex.submit(chunk(10, 0, 20, (r) => { r[RX] = 0; r[RX + 1] = 0; r[RX + 2] = t; }), 0);
    ex.submit(chunk(10, 0, 20, (r) => { r[RX] = 0; r[RX + 1] = 0; r[RX + 2] = -t; }), 0);
    const out = new Float64Array(ACTION_DIM);
    ex.sample(40, out);
    expect(Math.abs(out[RX + 2]!)).toBeCloseTo(Math.PI, 5);
    expect(Math.hypot(out[RX]!, out[RX + 1]!, out[RX + 2]!)).toBeLessThanOrEqual(Math.PI + 1e-9);
  });

  it('keeps at most maxQueue chunks, dropping the oldest', () => {
    const ex = new ChunkExecutor(rig);
    for (let n = 1; n <= 10; n++) ex.submit(chunk(50, 0, 20, (r) => { r[J0] = 0.1 * n; }), 0);
    expect(ex.stats()).toMatchObject({ queueDepth: 8, accepted: 10, dropped: 2 });
    const out = new Float64Array(ACTION_DIM);
    ex.sample(100, out);
    let num = 0;
    let den = 0;
    for (let i = 0; i < 8; i++) {
      const w = Math.exp(-DEFAULT_ENSEMBLE_DECAY * i);
      num += w * Math.fround(0.1 * (i + 3));
      den += w;
    }
    expect(out[J0]).toBeCloseTo(num / den, 12);
  });

  it('clear() empties the queue', () => {
    const ex = new ChunkExecutor(rig);
    ex.submit(chunk(5, 0, 20), 0);
    ex.clear();
    expect(ex.stats().queueDepth).toBe(0);
    expect(ex.sample(20, new Float32Array(ACTION_DIM))).toBe(false);
  });

  it('writes valid actions', () => {
    const schema = createActionSchema((n) => rig.jointLimit(n));
    const ex = new ChunkExecutor(rig);
    ex.submit(chunk(10, 0, 20, (r, i) => { r[J0] = 0.05 * i; r[RX + 2] = 0.1 * i; }), 0);
    ex.submit(chunk(10, 30, 20, (r, i) => { r[J0] = -0.05 * i; r[ACTION_INDEX.get('right_hand_index_pip')!] = 0.1 * i; }), 30);
    const out = new Float32Array(ACTION_DIM);
    for (let t = 0; t <= 200; t += 7) if (ex.sample(t, out)) expect(validateAction(schema, out).ok).toBe(true);
  });
});

describe('TeleopChunker', () => {
  const action = (v: number): Float32Array => {
    const a = Float32Array.from(HOME_ACTION);
    a[J0] = v;
    return a;
  };

  it('with K = 1 emits every action as a one-row chunk at its own time', () => {
    const got: { start: number; period: number; k: number; v: number }[] = [];
    const tc = new TeleopChunker(1, 10, (c) => got.push({ start: c.startTimeMs, period: c.periodMs, k: c.k, v: c.data[J0]! }));
    for (let i = 0; i < 3; i++) tc.push(100 + 10 * i, action(i));
    expect(got).toEqual([
      { start: 100, period: 10, k: 1, v: 0 },
      { start: 110, period: 10, k: 1, v: 1 },
      { start: 120, period: 10, k: 1, v: 2 },
    ]);
  });

  it('with K = 4 emits a chunk every 4 actions, starting at the first one’s time, rows in order', () => {
    const got: { start: number; rows: number[] }[] = [];
    const tc = new TeleopChunker(4, 10, (c) => got.push({ start: c.startTimeMs, rows: Array.from({ length: c.k }, (_, i) => c.data[i * ACTION_DIM + J0]!) }));
    for (let i = 0; i < 9; i++) tc.push(1000 + 10 * i + (i % 2 ? 1 : -1), action(i)); // ±1 ms jitter
    expect(got).toEqual([
      { start: 999, rows: [0, 1, 2, 3] },
      { start: 1039, rows: [4, 5, 6, 7] },
    ]);
    expect(tc.pending).toBe(1);
  });

  it('reuses two buffers alternately: a chunk stays intact until the next chunk has been delivered', () => {
    const chunks: ActionChunk[] = [];
    const snapshots: number[][] = [];
    const tc = new TeleopChunker(2, 10, (c) => {
      chunks.push(c);
      snapshots.push(chunks.map((x) => x.data[J0]!)); // every chunk delivered so far, as seen now
    });
    for (let i = 0; i < 6; i++) tc.push(10 * i, action(i));
    expect(chunks[0]).not.toBe(chunks[1]);
    expect(chunks[0]).toBe(chunks[2]);
    expect(snapshots[1]).toEqual([0, 2]); // the first chunk is intact while the second is delivered
  });

  it("with buffers: 'fresh' gives chunks the listener may keep", () => {
    const chunks: ActionChunk[] = [];
    const tc = new TeleopChunker(2, 10, (c) => chunks.push(c), { buffers: 'fresh' });
    for (let i = 0; i < 6; i++) tc.push(10 * i, action(i));
    expect(chunks.map((c) => [c.startTimeMs, c.data[J0], c.data[ACTION_DIM + J0]])).toEqual([[0, 0, 1], [20, 2, 3], [40, 4, 5]]);
  });

  it('discards a partial chunk at a gap in the stream, so chunk timing stays true', () => {
    const starts: number[] = [];
    const tc = new TeleopChunker(3, 10, (c) => starts.push(c.startTimeMs));
    tc.push(0, action(0));
    tc.push(10, action(1));
    tc.push(50, action(2)); // 30 ms late: the stream had a gap
    tc.push(60, action(3));
    tc.push(70, action(4));
    expect(starts).toEqual([50]);
    expect(tc.discarded).toBe(2);
  });

  it('refuses bad arguments with a RangeError', () => {
    expect(() => new TeleopChunker(0, 10, () => {})).toThrow(RangeError);
    expect(() => new TeleopChunker(2, 0, () => {})).toThrow(RangeError);
    const tc = new TeleopChunker(2, 10, () => {});
    expect(() => tc.push(Number.NaN, HOME_ACTION)).toThrow(RangeError);
    expect(() => tc.push(0, new Float32Array(3))).toThrow(RangeError);
  });

  it('feeds a ChunkExecutor that reproduces the stream at its times', () => {
    const ex = new ChunkExecutor(rig);
    const tc = new TeleopChunker(4, 20, (c) => {
      expect(ex.submit(c, c.startTimeMs)).toEqual({ ok: true });
    });
    for (let i = 0; i < 8; i++) tc.push(1000 + 20 * i, action(0.05 * i));
    const out = new Float32Array(ACTION_DIM);
    for (let i = 0; i < 8; i++) {
      expect(ex.sample(1000 + 20 * i, out)).toBe(true);
      expect(out[J0]).toBe(Math.fround(0.05 * i));
    }
  });
});
