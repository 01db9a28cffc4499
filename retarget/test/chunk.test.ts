import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTION_DIM, ACTION_INDEX, ACTION_LAYOUT, type ActionSchema, createActionSchema } from '../src/actionSchema.js';
import {
  DEFAULT_CHUNK_PERIOD_MS,
  chunkEndTimeMs,
  chunkFromActions,
  chunkRow,
  chunkRowTimeMs,
  createChunk,
  sampleChunk,
  validateActionChunk,
  validateChunkTiming,
} from '../src/chunk.js';

const schema: ActionSchema = createActionSchema(() => ({ lower: -5, upper: 5 }));
const idx = (name: string): number => ACTION_INDEX.get(name)!;
const LRX = idx('left_flange_rx');
const RRX = idx('right_flange_rx');
const LINEAR_PROBES = [idx('left_arm_joint3'), idx('right_flange_z'), idx('left_hand_ring_pip'), idx('right_fingertip_little_y')];

type V3 = readonly [number, number, number];
type Q = readonly [number, number, number, number];

/** Test-side reference math (independent of chunk.ts). */
function quatOf(r: V3): Q {
  const t = Math.hypot(...r);
  if (t === 0) return [0, 0, 0, 1];
  const s = Math.sin(t / 2) / t;
  return [r[0] * s, r[1] * s, r[2] * s, Math.cos(t / 2)];
}
/** Angle (rad) of the rotation taking a to b. */
function angleBetween(a: V3, b: V3): number {
  const qa = quatOf(a);
  const qb = quatOf(b);
  const d = Math.abs(qa[0] * qb[0] + qa[1] * qb[1] + qa[2] * qb[2] + qa[3] * qb[3]);
  return 2 * Math.acos(Math.min(1, d));
}
const rotAt = (a: ArrayLike<number>, off: number): V3 => [a[off]!, a[off + 1]!, a[off + 2]!];

function actionWith(fill: number, leftRot: V3, rightRot: V3): Float32Array {
  const a = new Float32Array(ACTION_DIM).fill(fill);
  a.set(leftRot, LRX);
  a.set(rightRot, RRX);
  return a;
}

const rotvecArb = fc
  .tuple(
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: 0, max: 3.14, noNaN: true }),
  )
  .filter(([x, y, z]) => Math.hypot(x, y, z) > 1e-3)
  .map(([x, y, z, t]): V3 => {
    const n = Math.hypot(x, y, z);
    return [(x / n) * t, (y / n) * t, (z / n) * t];
  });

describe('createChunk and friends', () => {
  it('creates a zero-filled k×88 chunk with default timing', () => {
    const c = createChunk(4);
    expect(c).toMatchObject({ k: 4, startTimeMs: 0, periodMs: DEFAULT_CHUNK_PERIOD_MS });
    expect(c.data).toHaveLength(4 * ACTION_DIM);
    expect(c.data.every((v) => v === 0)).toBe(true);
  });

  it.each([0, 257, 2.5])('refuses k = %s', (k) => {
    expect(() => createChunk(k)).toThrow(RangeError);
  });

  it('refuses a period that is not > 0', () => {
    expect(() => createChunk(2, 0, 0)).toThrow(/periodMs/);
  });

  it('returns rows as views into the chunk', () => {
    const c = createChunk(3);
    chunkRow(c, 2)[5] = 1.5;
    expect(c.data[2 * ACTION_DIM + 5]).toBe(1.5);
  });

  it('refuses a row index outside 0..k−1', () => {
    expect(() => chunkRow(createChunk(3), 3)).toThrow(RangeError);
  });

  it('copies actions into rows in order', () => {
    const rows = [0, 1, 2].map((i) => new Float32Array(ACTION_DIM).fill(i + 0.5));
    const c = chunkFromActions(rows, 100, 10);
    expect(c.k).toBe(3);
    expect(Array.from(chunkRow(c, 1))).toEqual(Array.from(rows[1]!));
    rows[1]![0] = 9;
    expect(chunkRow(c, 1)[0]).toBe(1.5);
  });

  it('refuses an action of the wrong length', () => {
    expect(() => chunkFromActions([new Float32Array(87)], 0, 10)).toThrow(/87/);
  });

  it('gives row and end times on the chunk grid', () => {
    const c = createChunk(5, 1000, 20);
    expect(chunkRowTimeMs(c, 2)).toBe(1040);
    expect(chunkEndTimeMs(c)).toBe(1080);
  });
});

describe('validateChunkTiming and validateActionChunk', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects periodMs = %s with CHUNK_BAD_TIMING', (periodMs) => {
    expect(validateChunkTiming({ startTimeMs: 0, periodMs })).toMatchObject({
      ok: false,
      code: 'CHUNK_BAD_TIMING',
      name: 'periodMs',
    });
  });

  it('rejects a non-finite startTimeMs with CHUNK_BAD_TIMING', () => {
    const r = validateChunkTiming({ startTimeMs: Number.NaN, periodMs: 10 });
    expect(r).toMatchObject({ ok: false, code: 'CHUNK_BAD_TIMING', name: 'startTimeMs' });
    if (r.ok) return;
    expect(r.message).toMatch(/^action: /);
  });

  it('accepts a well-formed chunk', () => {
    expect(validateActionChunk(schema, createChunk(3, 5, 10))).toEqual({ ok: true });
  });

  it('checks timing before values', () => {
    const c = createChunk(2, 0, 10);
    c.data[0] = Number.NaN;
    c.periodMs = -1;
    expect(validateActionChunk(schema, c)).toMatchObject({ ok: false, code: 'CHUNK_BAD_TIMING' });
  });

  it('reports a value error in the chunk data with its row', () => {
    const c = createChunk(2, 0, 10);
    c.data[ACTION_DIM + 3] = 6;
    expect(validateActionChunk(schema, c)).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS', row: 1, index: 3 });
  });
});

describe('sampleChunk', () => {
  const twoRows = (): ReturnType<typeof chunkFromActions> =>
    chunkFromActions([actionWith(0, [0, 0, 0], [0.1, 0, 0]), actionWith(1, [0, 0, 1], [0.1, 0, 0])], 100, 10);

  it('returns row 0 before the chunk starts', () => {
    const c = twoRows();
    expect(Array.from(sampleChunk(new Float32Array(ACTION_DIM), c, 50))).toEqual(Array.from(chunkRow(c, 0)));
  });

  it('returns the last row after the chunk ends', () => {
    const c = twoRows();
    expect(Array.from(sampleChunk(new Float32Array(ACTION_DIM), c, 1e6))).toEqual(Array.from(chunkRow(c, 1)));
  });

  it('returns row 0 for a NaN time', () => {
    const c = twoRows();
    expect(Array.from(sampleChunk(new Float32Array(ACTION_DIM), c, Number.NaN))).toEqual(Array.from(chunkRow(c, 0)));
  });

  it('returns the only row of a one-row chunk at any time', () => {
    const c = chunkFromActions([actionWith(0.25, [0, 0.5, 0], [0, 0, 0])], 0, 10);
    expect(Array.from(sampleChunk(new Float64Array(ACTION_DIM), c, 7))).toEqual(Array.from(chunkRow(c, 0)));
  });

  it('interpolates joints and positions linearly', () => {
    const out = sampleChunk(new Float64Array(ACTION_DIM), twoRows(), 102.5);
    for (const j of LINEAR_PROBES) expect(out[j]).toBeCloseTo(0.25, 6);
  });

  it('interpolates a rotation about a fixed axis at constant angular rate', () => {
    const out = sampleChunk(new Float64Array(ACTION_DIM), twoRows(), 102.5);
    expect(rotAt(out, LRX)).toEqual([expect.closeTo(0, 7), expect.closeTo(0, 7), expect.closeTo(0.25, 6)]);
  });

  it('keeps a constant rotation constant', () => {
    const out = sampleChunk(new Float64Array(ACTION_DIM), twoRows(), 107);
    expect(rotAt(out, RRX)).toEqual([expect.closeTo(0.1, 6), expect.closeTo(0, 7), expect.closeTo(0, 7)]);
  });

  it('interpolates identity to identity without NaN', () => {
    const c = chunkFromActions([actionWith(0, [0, 0, 0], [0, 0, 0]), actionWith(0, [0, 0, 0], [1e-9, 0, 0])], 0, 10);
    const out = sampleChunk(new Float64Array(ACTION_DIM), c, 5);
    expect(rotAt(out, LRX)).toEqual([0, 0, 0]);
    expect(out[RRX]).toBeCloseTo(5e-10, 15);
  });

  it('interpolates across the π wrap through π, not through identity', () => {
    const t = 0.99 * Math.PI;
    const c = chunkFromActions([actionWith(0, [t, 0, 0], [0, 0, 0]), actionWith(0, [-t, 0, 0], [0, 0, 0])], 0, 10);
    const mid = rotAt(sampleChunk(new Float64Array(ACTION_DIM), c, 5), LRX);
    expect(Math.abs(mid[0])).toBeCloseTo(Math.PI, 5);
    expect(angleBetween(mid, [Math.PI, 0, 0])).toBeLessThan(1e-6);
  });

  it('moves along the geodesic: angle from a is f × angle from a to b', () => {
    fc.assert(
      fc.property(rotvecArb, rotvecArb, fc.double({ min: 0.01, max: 0.99, noNaN: true }), (ra, rb, f) => {
        const c = chunkFromActions([actionWith(0, ra, ra), actionWith(0, rb, rb)], 0, 10);
        const out = rotAt(sampleChunk(new Float64Array(ACTION_DIM), c, 10 * f), LRX);
        const a = Math.fround; // rows are stored as float32
        const fa: V3 = [a(ra[0]), a(ra[1]), a(ra[2])];
        const fb: V3 = [a(rb[0]), a(rb[1]), a(rb[2])];
        const total = angleBetween(fa, fb);
        return (
          Math.abs(angleBetween(fa, out) - f * total) < 1e-5 &&
          Math.abs(angleBetween(out, fb) - (1 - f) * total) < 1e-5 &&
          Math.hypot(...out) <= Math.PI + 1e-9
        );
      }),
    );
  });

  it('returns each row exactly at its row time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.double({ min: -1e6, max: 1e9, noNaN: true }),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.infiniteStream(fc.float({ min: -3, max: 3, noNaN: true })),
        (k, startTimeMs, periodMs, values) => {
          const c = createChunk(k, startTimeMs, periodMs);
          const it = values[Symbol.iterator]();
          for (let j = 0; j < c.data.length; j++) c.data[j] = it.next().value as number;
          const out = new Float32Array(ACTION_DIM);
          for (let i = 0; i < k; i++) {
            sampleChunk(out, c, chunkRowTimeMs(c, i));
            const row = chunkRow(c, i);
            for (let j = 0; j < ACTION_DIM; j++) if (out[j] !== row[j]) return false;
          }
          return true;
        },
      ),
    );
  });

  it('gives the same result when out is a row view of the same chunk', () => {
    const fresh = sampleChunk(new Float32Array(ACTION_DIM), twoRows(), 103);
    const c = twoRows();
    const aliased = sampleChunk(chunkRow(c, 0), c, 103);
    expect(Array.from(aliased)).toEqual(Array.from(fresh));
  });

  it('writes into out and returns it', () => {
    const out = new Float32Array(ACTION_DIM);
    expect(sampleChunk(out, twoRows(), 101)).toBe(out);
  });

  it('places the slerped rotation only in the flange rotation entries', () => {
    const out = sampleChunk(new Float64Array(ACTION_DIM), twoRows(), 105);
    const { offset } = ACTION_LAYOUT.leftFlange;
    expect(out[offset]).toBeCloseTo(0.5, 6);
    expect(out[offset + 2]).toBeCloseTo(0.5, 6);
  });
});
