import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTION_DIM,
  ACTION_ENTRIES,
  ACTION_ERROR_CODES,
  ACTION_GROUP_KEYS,
  ACTION_INDEX,
  ACTION_LAYOUT,
  ACTION_NAMES,
  type ActionSchema,
  type JointLimitLookup,
  MAX_CHUNK_K,
  ROTATION_VECTOR_OFFSETS,
  actionView,
  createActionSchema,
  packAction,
  schemaTable,
  unpackAction,
  validateAction,
  validateChunk,
} from '../src/actionSchema.js';
import { ARM_DOF, HAND_ACTIVE_SUFFIXES, SIDES, armJointName, handJointName } from '../src/robotNames.js';
import { ACTION_DOC_PATH, extractActionTable, renderActionTable } from '../scripts/action-doc.js';

/** FR3 limits (docs/design.md) for arm joints, ±2 rad for hand joints. */
const FR3_LIMITS: readonly (readonly [number, number])[] = [
  [-2.7437, 2.7437],
  [-1.7837, 1.7837],
  [-2.9007, 2.9007],
  [-3.0421, -0.1518],
  [-2.8065, 2.8065],
  [0.5445, 4.5169],
  [-3.0159, 3.0159],
];
const LIMITS = new Map<string, { lower: number; upper: number }>();
for (const side of SIDES) {
  for (let i = 0; i < ARM_DOF; i++) {
    const [lower, upper] = FR3_LIMITS[i]!;
    LIMITS.set(armJointName(side, i), { lower, upper });
  }
  for (const s of HAND_ACTIVE_SUFFIXES) LIMITS.set(handJointName(side, s), { lower: -2, upper: 2 });
}
const lookup: JointLimitLookup = (name) => LIMITS.get(name);
const schema: ActionSchema = createActionSchema(lookup);

/** A valid action: joints mid-range, positions inside the box, small rotations. */
function validAction(): Float32Array {
  const a = new Float32Array(ACTION_DIM);
  for (const e of schema.entries) {
    if (e.kind === 'joint') a[e.index] = (e.lower + e.upper) / 2;
    else if (e.kind === 'position') a[e.index] = 0.3;
    else a[e.index] = 0.2;
  }
  return a;
}
const idx = (name: string): number => {
  const i = ACTION_INDEX.get(name);
  if (i === undefined) throw new Error(`no entry ${name}`);
  return i;
};

describe('action layout', () => {
  it('has 88 uniquely named entries', () => {
    expect(ACTION_DIM).toBe(88);
    expect(ACTION_NAMES).toHaveLength(88);
    expect(new Set(ACTION_NAMES).size).toBe(88);
  });

  it('places the groups at the offsets docs/design.md gives', () => {
    const got = ACTION_GROUP_KEYS.map((k) => [k, ACTION_LAYOUT[k].offset, ACTION_LAYOUT[k].length]);
    expect(got).toEqual([
      ['leftArm', 0, 7],
      ['rightArm', 7, 7],
      ['leftFlange', 14, 6],
      ['rightFlange', 20, 6],
      ['leftHand', 26, 16],
      ['rightHand', 42, 16],
      ['leftFingertips', 58, 15],
      ['rightFingertips', 73, 15],
    ]);
  });

  it('names entries as documented at the group boundaries', () => {
    expect(ACTION_NAMES[0]).toBe('left_arm_joint1');
    expect(ACTION_NAMES[13]).toBe('right_arm_joint7');
    expect(ACTION_NAMES.slice(14, 20)).toEqual([
      'left_flange_x', 'left_flange_y', 'left_flange_z', 'left_flange_rx', 'left_flange_ry', 'left_flange_rz',
    ]);
    expect(ACTION_NAMES[26]).toBe('left_hand_thumb_cmc_abd');
    expect(ACTION_NAMES[41]).toBe('left_hand_little_pip');
    expect(ACTION_NAMES[58]).toBe('left_fingertip_thumb_x');
    expect(ACTION_NAMES[87]).toBe('right_fingertip_little_z');
  });

  it('orders the hand joints as HAND_ACTIVE_SUFFIXES', () => {
    const { offset } = ACTION_LAYOUT.rightHand;
    expect(ACTION_NAMES.slice(offset, offset + HAND_ACTIVE_SUFFIXES.length)).toEqual(
      HAND_ACTIVE_SUFFIXES.map((s) => handJointName('right', s)),
    );
  });

  it('gives joints and rotation vectors rad and positions m', () => {
    for (const e of ACTION_ENTRIES) expect(e.unit).toBe(e.kind === 'position' ? 'm' : 'rad');
  });

  it('keeps each entry inside the group layout it claims', () => {
    for (const key of ACTION_GROUP_KEYS) {
      const { offset, length, group } = ACTION_LAYOUT[key];
      for (let i = offset; i < offset + length; i++) expect(ACTION_ENTRIES[i]!.group).toBe(group);
    }
  });

  it('finds the rx entry of both flange rotation vectors', () => {
    expect(ROTATION_VECTOR_OFFSETS).toEqual([idx('left_flange_rx'), idx('right_flange_rx')]);
  });
});

describe('createActionSchema', () => {
  it('takes joint bounds from the lookup by joint name', () => {
    const e = schema.entries[idx('right_arm_joint4')]!;
    expect([e.lower, e.upper]).toEqual([-3.0421, -0.1518]);
    expect(schema.lower[idx('left_hand_index_pip')]).toBe(-2);
  });

  it('bounds positions by the default box and rotation components by ±π', () => {
    expect([schema.lower[idx('left_flange_z')], schema.upper[idx('left_flange_z')]]).toEqual([-0.5, 2.5]);
    expect([schema.lower[idx('right_fingertip_ring_y')], schema.upper[idx('right_fingertip_ring_y')]]).toEqual([-1.5, 1.5]);
    expect([schema.lower[idx('left_flange_ry')], schema.upper[idx('left_flange_ry')]]).toEqual([-Math.PI, Math.PI]);
  });

  it('uses a workspace box the caller gives', () => {
    const s = createActionSchema(lookup, { minM: [-1, -2, 0], maxM: [1, 2, 2] });
    expect([s.lower[idx('left_fingertip_index_y')], s.upper[idx('left_fingertip_index_y')]]).toEqual([-2, 2]);
    expect(s.upper[idx('right_flange_x')]).toBe(1);
  });

  it('throws a TypeError naming a joint the lookup lacks', () => {
    const partial: JointLimitLookup = (n) => (n === 'left_hand_ring_pip' ? undefined : lookup(n));
    expect(() => createActionSchema(partial)).toThrow(TypeError);
    expect(() => createActionSchema(partial)).toThrow(/left_hand_ring_pip/);
  });

  it('rejects joint limits with lower > upper', () => {
    const bad: JointLimitLookup = (n) => (n === 'left_arm_joint2' ? { lower: 1, upper: -1 } : lookup(n));
    expect(() => createActionSchema(bad)).toThrow(/left_arm_joint2/);
  });

  it('rejects a workspace whose min is not below its max, naming the option', () => {
    expect(() => createActionSchema(lookup, { minM: [0, 0, 3], maxM: [1, 1, 2] })).toThrow(RangeError);
    expect(() => createActionSchema(lookup, { minM: [0, 0, 3], maxM: [1, 1, 2] })).toThrow(/workspace\.minM\[2\]/);
  });
});

describe('actionView, packAction, unpackAction', () => {
  it('returns views that write through to the action', () => {
    const a = new Float32Array(ACTION_DIM);
    const v = actionView(a);
    v.rightHand[2] = 1.25;
    expect(a[ACTION_LAYOUT.rightHand.offset + 2]).toBe(1.25);
    expect(v.leftFingertips).toHaveLength(15);
  });

  it('round-trips groups through pack and unpack', () => {
    const arm = Float64Array.from({ length: 7 }, (_, i) => i * 0.25);
    const tips = Float64Array.from({ length: 15 }, (_, i) => -i / 8);
    const a = packAction(new Float32Array(ACTION_DIM), { rightArm: arm, leftFingertips: tips });
    const out = { rightArm: new Float64Array(7), leftFingertips: new Float64Array(15), leftArm: new Float64Array(7) };
    unpackAction(out, a);
    expect(Array.from(out.rightArm)).toEqual(Array.from(arm));
    expect(Array.from(out.leftFingertips)).toEqual(Array.from(tips));
    expect(Array.from(out.leftArm)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('leaves groups not given to packAction untouched', () => {
    const a = new Float32Array(ACTION_DIM).fill(7);
    packAction(a, { leftHand: new Float32Array(16) });
    expect(a[ACTION_LAYOUT.leftHand.offset - 1]).toBe(7);
    expect(a[ACTION_LAYOUT.rightHand.offset]).toBe(7);
  });

  it('throws when a part has the wrong length', () => {
    expect(() => packAction(new Float32Array(ACTION_DIM), { leftFlange: [1, 2, 3] })).toThrow(/leftFlange/);
  });
});

describe('validateAction', () => {
  it('accepts a valid action', () => {
    expect(validateAction(schema, validAction())).toEqual({ ok: true });
  });

  it('rejects a wrong length with ACTION_BAD_SHAPE', () => {
    const r = validateAction(schema, new Float32Array(87));
    expect(r).toMatchObject({ ok: false, code: 'ACTION_BAD_SHAPE', index: -1, value: 87 });
  });

  it('reports a NaN with ACTION_NOT_FINITE, its index and name', () => {
    const a = validAction();
    a[idx('right_hand_thumb_mcp')] = Number.NaN;
    const r = validateAction(schema, a);
    expect(r).toMatchObject({ ok: false, code: 'ACTION_NOT_FINITE', index: 45, name: 'right_hand_thumb_mcp' });
  });

  it('reports a joint above its limit with the value in the message', () => {
    const a = validAction();
    a[idx('left_arm_joint4')] = 0.5;
    const r = validateAction(schema, a);
    expect(r).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS', index: 3, name: 'left_arm_joint4', value: 0.5 });
    if (r.ok) return;
    expect(r.message).toMatch(/^action: left_arm_joint4 \(index 3\) = 0\.5 rad outside \[-3\.0421, -0\.1518\]/);
  });

  it('accepts a joint exactly at its limit after float32 rounding', () => {
    const a = validAction();
    a[idx('left_arm_joint6')] = 4.5169;
    expect(validateAction(schema, a).ok).toBe(true);
  });

  it('rejects a joint just beyond the tolerance', () => {
    const a = validAction();
    a[idx('left_arm_joint6')] = 4.5169 + 1e-5;
    expect(validateAction(schema, a)).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS' });
  });

  it('honours a caller-given joint tolerance', () => {
    const a = validAction();
    a[idx('left_arm_joint6')] = 4.5169 + 1e-5;
    expect(validateAction(schema, a, { jointTolRad: 1e-4 }).ok).toBe(true);
  });

  it('rejects a fingertip outside the workspace box', () => {
    const a = validAction();
    a[idx('left_fingertip_middle_z')] = 3;
    expect(validateAction(schema, a)).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS', name: 'left_fingertip_middle_z' });
  });

  it('rejects a rotation vector longer than π with its norm', () => {
    const a = validAction();
    const rx = idx('right_flange_rx');
    a[rx] = 2;
    a[rx + 1] = 2;
    a[rx + 2] = 2;
    const r = validateAction(schema, a);
    expect(r).toMatchObject({ ok: false, code: 'ACTION_BAD_ROTATION', index: rx, name: 'right_flange_rx' });
    if (r.ok) return;
    expect(r.value).toBeCloseTo(Math.sqrt(12), 5);
  });

  it('accepts a rotation vector of norm π stored as float32', () => {
    const a = validAction();
    const rx = idx('left_flange_rx');
    a[rx] = 0;
    a[rx + 1] = -Math.PI;
    a[rx + 2] = 0;
    expect(validateAction(schema, a).ok).toBe(true);
  });

  it('accepts every action drawn inside the bounds', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 88, maxLength: 88 }), (u) => {
        const a = new Float32Array(ACTION_DIM);
        for (const e of schema.entries) {
          a[e.index] = e.kind === 'rotvec' ? (u[e.index]! - 0.5) * 3.6 : e.lower + (e.upper - e.lower) * u[e.index]!;
        }
        return validateAction(schema, a).ok;
      }),
    );
  });
});

describe('validateChunk', () => {
  const chunkOf = (k: number): Float32Array => {
    const c = new Float32Array(k * ACTION_DIM);
    for (let r = 0; r < k; r++) c.set(validAction(), r * ACTION_DIM);
    return c;
  };

  it('accepts a valid chunk', () => {
    expect(validateChunk(schema, chunkOf(3), 3).ok).toBe(true);
  });

  it.each([0, MAX_CHUNK_K + 1, 1.5, Number.NaN])('rejects k = %s with CHUNK_BAD_SHAPE', (k) => {
    expect(validateChunk(schema, chunkOf(1), k)).toMatchObject({ ok: false, code: 'CHUNK_BAD_SHAPE', name: 'k' });
  });

  it('rejects a length that is not k × 88 with CHUNK_BAD_SHAPE', () => {
    expect(validateChunk(schema, chunkOf(2), 3)).toMatchObject({ ok: false, code: 'CHUNK_BAD_SHAPE', name: 'length', value: 176 });
  });

  it('reports the row and entry of the first bad value', () => {
    const c = chunkOf(4);
    c[2 * ACTION_DIM + idx('right_arm_joint1')] = 9;
    const r = validateChunk(schema, c, 4);
    expect(r).toMatchObject({ ok: false, code: 'ACTION_OUT_OF_LIMITS', row: 2, index: 7, name: 'right_arm_joint1', value: 9 });
    if (r.ok) return;
    expect(r.message).toContain('index 7, row 2');
  });

  it('never throws and returns a known code for arbitrary data and k', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 600 }), fc.integer({ min: -3, max: 300 }), (data, k) => {
        const r = validateChunk(schema, data, k);
        return r.ok || ACTION_ERROR_CODES.includes(r.code);
      }),
    );
  });

  it('never reports a shape error for arbitrary well-shaped chunks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((k) =>
          fc.tuple(fc.constant(k), fc.float32Array({ minLength: k * ACTION_DIM, maxLength: k * ACTION_DIM })),
        ),
        ([k, data]) => {
          const r = validateChunk(schema, data, k);
          return r.ok || (r.code !== 'CHUNK_BAD_SHAPE' && r.row !== undefined && r.row < k);
        },
      ),
    );
  });

  it('reports a non-finite value in row 0 before any bound violation', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 2 * ACTION_DIM, maxLength: 2 * ACTION_DIM }),
        fc.integer({ min: 0, max: ACTION_DIM - 1 }),
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        (data, at, bad) => {
          data[at] = bad;
          const r = validateChunk(schema, data, 2);
          return !r.ok && r.code === 'ACTION_NOT_FINITE' && r.row === 0 && r.index <= at;
        },
      ),
    );
  });
});

describe('schemaTable and docs/action.md', () => {
  it('lists 88 rows with the schema bounds', () => {
    const rows = schemaTable(schema);
    expect(rows).toHaveLength(88);
    expect(rows[3]).toMatchObject({ name: 'left_arm_joint4', unit: 'rad', group: 'left_arm', lower: -3.0421, upper: -0.1518 });
  });

  it('lists null bounds without a schema', () => {
    expect(schemaTable()[0]).toMatchObject({ name: 'left_arm_joint1', lower: null, upper: null });
  });

  it('matches the table checked in to docs/action.md', () => {
    const doc = readFileSync(ACTION_DOC_PATH, 'utf8');
    expect(extractActionTable(doc)).toBe(renderActionTable(schemaTable()));
  });
});
