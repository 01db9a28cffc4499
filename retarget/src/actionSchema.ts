/**
 * The 88-dim action as code: names, units, groups, bounds, group views and validation.
 *
 * Every index is derived from the canonical lists in `robotNames.ts`; the layout is built once at
 * module load. Frame: the robot world frame is the rig's `base_link` (x forward, z up).
 */

import {
  ARM_DOF,
  FINGERS,
  HAND_ACTIVE_SUFFIXES,
  SIDES,
  armJointName,
  fingertipLinkName,
  flangeLinkName,
  handJointName,
  type Side,
} from './robotNames.js';

export type ActionUnit = 'rad' | 'm';
export type ActionKind = 'joint' | 'position' | 'rotvec';
export type ActionGroup =
  | 'left_arm'
  | 'right_arm'
  | 'left_flange'
  | 'right_flange'
  | 'left_hand'
  | 'right_hand'
  | 'left_fingertips'
  | 'right_fingertips';
/** camelCase key of a group, as used by {@link ACTION_LAYOUT} and {@link actionView}. */
export type ActionGroupKey = `${Side}${'Arm' | 'Flange' | 'Hand' | 'Fingertips'}`;

/** The static description of one action entry (independent of any robot model). */
export interface ActionEntryInfo {
  readonly index: number;
  /** e.g. `left_arm_joint1`, `left_flange_rx`, `left_hand_thumb_cmc_abd`, `left_fingertip_thumb_x`. */
  readonly name: string;
  readonly unit: ActionUnit;
  readonly group: ActionGroup;
  readonly kind: ActionKind;
  /** The URDF joint (kind `joint`) or link (kinds `position`, `rotvec`) the entry reports. */
  readonly source: string;
  /** One line of prose for docs and UI. */
  readonly meaning: string;
}

/** One action entry with its bounds (rad or m, per `unit`). */
export interface ActionEntry extends ActionEntryInfo {
  readonly lower: number;
  readonly upper: number;
}

export interface ActionGroupLayout {
  readonly group: ActionGroup;
  readonly side: Side;
  /** Index of the group's first entry in the 88-vector. */
  readonly offset: number;
  readonly length: number;
}

/** Axis-aligned box (m) that bounds flange and fingertip positions, in the rig's `base_link`. */
export interface ActionWorkspace {
  readonly minM: readonly [number, number, number];
  readonly maxM: readonly [number, number, number];
}

/** Supplies a joint's position limits (rad) by URDF joint name; `undefined` if the model lacks it. */
export type JointLimitLookup = (jointName: string) => { lower: number; upper: number } | undefined;

export interface ActionSchema {
  readonly dim: typeof ACTION_DIM;
  readonly entries: readonly ActionEntry[];
  /** Lower bound of every entry (rad or m), for vectorised clamping. */
  readonly lower: Float64Array;
  /** Upper bound of every entry (rad or m). */
  readonly upper: Float64Array;
  readonly workspace: ActionWorkspace;
}

export const ACTION_DIM = 88;
/** Largest number of rows in one action chunk. */
export const MAX_CHUNK_K = 256;

const AXES = ['x', 'y', 'z'] as const;
const ROT_AXES = ['rx', 'ry', 'rz'] as const;

/**
 * Default position box (m) in `base_link`: generous, so it only catches garbage (unit mix-ups,
 * frames left in the headset's space), not reach. Both FR3 (reach 0.855 m) shoulders sit well
 * inside ±1.5 m in x and y, and z from −0.5 m (below the mount, e.g. reaching under a table edge)
 * to 2.5 m (above any plausible shoulder height plus reach). The safety layer enforces the real,
 * tighter workspace.
 */
export const DEFAULT_ACTION_WORKSPACE: ActionWorkspace = Object.freeze({
  minM: Object.freeze([-1.5, -1.5, -0.5] as const),
  maxM: Object.freeze([1.5, 1.5, 2.5] as const),
});

const JOINT_WORDS: Readonly<Record<string, string>> = {
  cmc_abd: 'CMC abduction',
  cmc_flex: 'CMC flexion',
  cmc_roll: 'CMC roll',
  mcp: 'MCP flexion',
  mcp_abd: 'MCP abduction',
  mcp_flex: 'MCP flexion',
  pip: 'PIP flexion',
};

function handJointMeaning(side: Side, suffix: string): string {
  const cut = suffix.indexOf('_');
  const finger = suffix.slice(0, cut);
  const rest = suffix.slice(cut + 1);
  return `${side} hand ${finger} ${JOINT_WORDS[rest] ?? rest} angle`;
}

interface GroupSpec {
  readonly key: ActionGroupKey;
  readonly group: ActionGroup;
  readonly side: Side;
  readonly build: (side: Side, group: ActionGroup) => Omit<ActionEntryInfo, 'index'>[];
}

/** An entry that is a joint's angle: named after the joint, which is also its source. */
const jointEntry = (joint: string, group: ActionGroup, meaning: string): Omit<ActionEntryInfo, 'index'> => ({
  name: joint, unit: 'rad', group, kind: 'joint', source: joint, meaning,
});

const armEntries = (side: Side, group: ActionGroup): Omit<ActionEntryInfo, 'index'>[] =>
  Array.from({ length: ARM_DOF }, (_, i) => jointEntry(armJointName(side, i), group, `${side} FR3 joint ${i + 1} angle`));

const flangeEntries = (side: Side, group: ActionGroup): Omit<ActionEntryInfo, 'index'>[] => {
  const link = flangeLinkName(side);
  return [
    ...AXES.map((a) => ({
      name: `${side}_flange_${a}`,
      unit: 'm' as const,
      group,
      kind: 'position' as const,
      source: link,
      meaning: `${side} flange (${link}) position ${a} in base_link`,
    })),
    ...ROT_AXES.map((a, i) => ({
      name: `${side}_flange_${a}`,
      unit: 'rad' as const,
      group,
      kind: 'rotvec' as const,
      source: link,
      meaning: `${side} flange orientation in base_link, rotation vector (axis × angle) ${AXES[i]}`,
    })),
  ];
};

const handEntries = (side: Side, group: ActionGroup): Omit<ActionEntryInfo, 'index'>[] =>
  HAND_ACTIVE_SUFFIXES.map((suffix) => jointEntry(handJointName(side, suffix), group, handJointMeaning(side, suffix)));

const fingertipEntries = (side: Side, group: ActionGroup): Omit<ActionEntryInfo, 'index'>[] =>
  FINGERS.flatMap((finger) => {
    const link = fingertipLinkName(side, finger);
    return AXES.map((a) => ({
      name: `${side}_fingertip_${finger}_${a}`,
      unit: 'm' as const,
      group,
      kind: 'position' as const,
      source: link,
      meaning: `${side} ${finger} fingertip pad centre (${link}) position ${a} in base_link`,
    }));
  });

const GROUP_SPECS: readonly GroupSpec[] = [
  ...SIDES.map((side): GroupSpec => ({ key: `${side}Arm`, group: `${side}_arm`, side, build: armEntries })),
  ...SIDES.map((side): GroupSpec => ({ key: `${side}Flange`, group: `${side}_flange`, side, build: flangeEntries })),
  ...SIDES.map((side): GroupSpec => ({ key: `${side}Hand`, group: `${side}_hand`, side, build: handEntries })),
  ...SIDES.map(
    (side): GroupSpec => ({ key: `${side}Fingertips`, group: `${side}_fingertips`, side, build: fingertipEntries }),
  ),
];

function buildLayout(): {
  entries: readonly ActionEntryInfo[];
  layout: { readonly [K in ActionGroupKey]: ActionGroupLayout };
} {
  const entries: ActionEntryInfo[] = [];
  const layout = {} as Record<ActionGroupKey, ActionGroupLayout>;
  for (const spec of GROUP_SPECS) {
    const offset = entries.length;
    for (const e of spec.build(spec.side, spec.group)) entries.push(Object.freeze({ index: entries.length, ...e }));
    layout[spec.key] = Object.freeze({ group: spec.group, side: spec.side, offset, length: entries.length - offset });
  }
  if (entries.length !== ACTION_DIM) {
    throw new Error(`actionSchema: layout has ${entries.length} entries, expected ${ACTION_DIM}`);
  }
  return { entries: Object.freeze(entries), layout: Object.freeze(layout) };
}

const BUILT = buildLayout();

/** The 88 entries without bounds, in action order. */
export const ACTION_ENTRIES: readonly ActionEntryInfo[] = BUILT.entries;
/** The 88 entry names, in action order. */
export const ACTION_NAMES: readonly string[] = Object.freeze(ACTION_ENTRIES.map((e) => e.name));
/** Offset and length of every group, computed from the canonical name lists. */
export const ACTION_LAYOUT: { readonly [K in ActionGroupKey]: ActionGroupLayout } = BUILT.layout;
/** Group keys in action order. */
export const ACTION_GROUP_KEYS: readonly ActionGroupKey[] = Object.freeze(GROUP_SPECS.map((s) => s.key));
/** Index of each entry by name. */
export const ACTION_INDEX: ReadonlyMap<string, number> = new Map(ACTION_ENTRIES.map((e) => [e.name, e.index]));
/** Index of the `rx` entry of every rotation vector (each followed by `ry`, `rz`). */
export const ROTATION_VECTOR_OFFSETS: readonly number[] = Object.freeze(
  ACTION_ENTRIES.filter((e, i) => e.kind === 'rotvec' && ACTION_ENTRIES[i - 1]?.kind !== 'rotvec').map((e) => e.index),
);

/** Per-entry check kind, computed once: what validation does at each index. */
const CHECK_JOINT = 0;
const CHECK_POSITION = 1;
const CHECK_ROT_START = 2;
const CHECK_ROT_REST = 3;
const CHECK_KIND = Uint8Array.from(ACTION_ENTRIES, (e) =>
  e.kind === 'joint'
    ? CHECK_JOINT
    : e.kind === 'position'
      ? CHECK_POSITION
      : ROTATION_VECTOR_OFFSETS.includes(e.index)
        ? CHECK_ROT_START
        : CHECK_ROT_REST,
);

function checkWorkspace(ws: ActionWorkspace): ActionWorkspace {
  for (const key of ['minM', 'maxM'] as const) {
    const v = ws[key];
    if (!Array.isArray(v) || v.length !== 3) {
      throw new TypeError(`actionSchema: option workspace.${key} must be [x, y, z] in metres`);
    }
    for (let i = 0; i < 3; i++) {
      if (!Number.isFinite(v[i])) {
        throw new RangeError(`actionSchema: option workspace.${key}[${i}] must be finite, got ${v[i]}`);
      }
    }
  }
  for (let i = 0; i < 3; i++) {
    if (!(ws.minM[i]! < ws.maxM[i]!)) {
      throw new RangeError(
        `actionSchema: option workspace.minM[${i}] (${ws.minM[i]}) must be < workspace.maxM[${i}] (${ws.maxM[i]})`,
      );
    }
  }
  return Object.freeze({
    minM: Object.freeze([...ws.minM] as [number, number, number]),
    maxM: Object.freeze([...ws.maxM] as [number, number, number]),
  });
}

/**
 * Build the schema with bounds. Call once (e.g. after parsing the URDF), not per frame.
 *
 * - joint entries: `[lower, upper]` (rad) from `limits(jointName)`; continuous joints may report
 *   ±Infinity.
 * - flange and fingertip positions: the `workspace` box (m), default {@link DEFAULT_ACTION_WORKSPACE}.
 * - rotation-vector components: [−π, π] each; validation also checks the vector's norm ≤ π.
 *
 * @throws TypeError if `limits` knows no entry for a joint (the message names it).
 * @throws RangeError if a joint's limits are NaN or lower > upper, or the workspace is malformed.
 */
export function createActionSchema(limits: JointLimitLookup, workspace?: Partial<ActionWorkspace>): ActionSchema {
  const ws = checkWorkspace({ ...DEFAULT_ACTION_WORKSPACE, ...workspace });
  const lower = new Float64Array(ACTION_DIM);
  const upper = new Float64Array(ACTION_DIM);
  const entries = ACTION_ENTRIES.map((info): ActionEntry => {
    let lo: number;
    let hi: number;
    if (info.kind === 'joint') {
      const lim = limits(info.source);
      if (lim === undefined) {
        throw new TypeError(`actionSchema: no joint limits for joint ${info.source} (action entry ${info.index})`);
      }
      lo = lim.lower;
      hi = lim.upper;
      if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
        throw new RangeError(`actionSchema: joint ${info.source} has invalid limits [${lo}, ${hi}]`);
      }
    } else if (info.kind === 'position') {
      const axis = AXES.indexOf(info.name.slice(-1) as (typeof AXES)[number]);
      lo = ws.minM[axis]!;
      hi = ws.maxM[axis]!;
    } else {
      lo = -Math.PI;
      hi = Math.PI;
    }
    lower[info.index] = lo;
    upper[info.index] = hi;
    return Object.freeze({ ...info, lower: lo, upper: hi });
  });
  return Object.freeze({ dim: ACTION_DIM, entries: Object.freeze(entries), lower, upper, workspace: ws });
}

// ---------------------------------------------------------------------------------------------
// Group views, pack and unpack

/** Named group views into one action buffer. Writing a view writes the action. */
export type ActionView = { readonly [K in ActionGroupKey]: Float32Array };
/** Values per group for {@link packAction}; absent groups are left untouched. */
export type ActionParts = { readonly [K in ActionGroupKey]?: ArrayLike<number> };
/** A writable numeric vector (typed array or number[]). */
export interface WritableVector {
  readonly length: number;
  [index: number]: number;
}
/** Destinations per group for {@link unpackAction}. */
export type ActionPartsOut = { readonly [K in ActionGroupKey]?: WritableVector };

function checkActionBuffer(fn: string, action: ArrayLike<number>): void {
  if (action.length !== ACTION_DIM) {
    throw new RangeError(`action: ${fn} needs a buffer of ${ACTION_DIM} numbers, got ${action.length}`);
  }
}

/**
 * Named subarray views (no copies) of one 88-number action. Creating the views allocates eight
 * small objects: make them once per buffer (e.g. when a chunk arrives), not per frame.
 * @throws RangeError if `action.length !== 88`.
 */
export function actionView(action: Float32Array): ActionView {
  checkActionBuffer('actionView', action);
  const view = {} as Record<ActionGroupKey, Float32Array>;
  for (const key of ACTION_GROUP_KEYS) {
    const { offset, length } = ACTION_LAYOUT[key];
    view[key] = action.subarray(offset, offset + length);
  }
  return Object.freeze(view);
}

/**
 * Copy the given groups into `out` (88 numbers) at their offsets; groups not given keep their
 * values. Allocation-free. Units as in the schema (rad, m).
 * @returns `out`.
 * @throws RangeError if `out` is not 88 long or a part has the wrong length.
 */
export function packAction<T extends Float32Array | Float64Array>(out: T, parts: ActionParts): T {
  checkActionBuffer('packAction', out);
  for (const key of ACTION_GROUP_KEYS) {
    const part = parts[key];
    if (part === undefined) continue;
    const { offset, length } = ACTION_LAYOUT[key];
    if (part.length !== length) {
      throw new RangeError(`action: packAction part ${key} needs ${length} numbers, got ${part.length}`);
    }
    // Element loop rather than `set`: correct even if `part` is a view overlapping `out`.
    for (let j = 0; j < length; j++) out[offset + j] = part[j]!;
  }
  return out;
}

/**
 * Copy groups of `action` (88 numbers) into the destinations given in `out`. Allocation-free.
 * For zero-copy access use {@link actionView} instead.
 * @returns `out`.
 * @throws RangeError if `action` is not 88 long or a destination has the wrong length.
 */
export function unpackAction<T extends ActionPartsOut>(out: T, action: ArrayLike<number>): T {
  checkActionBuffer('unpackAction', action);
  for (const key of ACTION_GROUP_KEYS) {
    const dst = out[key];
    if (dst === undefined) continue;
    const { offset, length } = ACTION_LAYOUT[key];
    if (dst.length !== length) {
      throw new RangeError(`action: unpackAction destination ${key} needs ${length} numbers, got ${dst.length}`);
    }
    for (let j = 0; j < length; j++) dst[j] = action[offset + j]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

export type ActionErrorCode =
  | 'ACTION_BAD_SHAPE'
  | 'ACTION_NOT_FINITE'
  | 'ACTION_OUT_OF_LIMITS'
  | 'ACTION_BAD_ROTATION'
  | 'CHUNK_BAD_SHAPE'
  | 'CHUNK_BAD_TIMING';

/** Every code {@link validateAction}, {@link validateChunk} and `validateChunkTiming` can return. */
export const ACTION_ERROR_CODES: readonly ActionErrorCode[] = Object.freeze([
  'ACTION_BAD_SHAPE',
  'ACTION_NOT_FINITE',
  'ACTION_OUT_OF_LIMITS',
  'ACTION_BAD_ROTATION',
  'CHUNK_BAD_SHAPE',
  'CHUNK_BAD_TIMING',
] as const);

export interface ActionValidationError {
  readonly ok: false;
  readonly code: ActionErrorCode;
  /** Starts with `action:` and names the entry, index, row and value. */
  readonly message: string;
  /** Entry index 0–87; −1 for shape and timing errors. */
  readonly index: number;
  /** Chunk row, for chunk errors that concern one row. */
  readonly row?: number;
  /** Entry name, or for shape/timing errors the offending quantity (`length`, `k`, `periodMs`, …). */
  readonly name: string;
  /** The offending value (for rotation errors: the vector's norm, rad). */
  readonly value: number;
}
export type ActionValidationResult = { readonly ok: true } | ActionValidationError;

export interface ActionValidationOptions {
  /** Slack (rad) beyond joint limits. Default 1e-6 (float32 rounding of the limits). */
  readonly jointTolRad?: number;
  /** Slack (m) beyond the position box. Default 1e-6. */
  readonly positionTolM?: number;
  /** Slack (rad) beyond π for rotation-vector norms. Default 1e-6. */
  readonly rotationTolRad?: number;
}

const OK: ActionValidationResult = Object.freeze({ ok: true });
const DEFAULT_TOL = 1e-6;

function fail(
  code: ActionErrorCode,
  message: string,
  index: number,
  row: number | undefined,
  name: string,
  value: number,
): ActionValidationError {
  const err = { ok: false as const, code, message, index, name, value };
  return Object.freeze(row === undefined ? err : { ...err, row });
}

const where = (index: number, row: number | undefined): string =>
  row === undefined ? `index ${index}` : `index ${index}, row ${row}`;

function validateRow(
  schema: ActionSchema,
  a: ArrayLike<number>,
  base: number,
  row: number | undefined,
  opts: ActionValidationOptions | undefined,
): ActionValidationResult {
  for (let i = 0; i < ACTION_DIM; i++) {
    const v = a[base + i]!;
    if (!Number.isFinite(v)) {
      const name = ACTION_NAMES[i]!;
      return fail('ACTION_NOT_FINITE', `action: ${name} (${where(i, row)}) = ${v} is not finite`, i, row, name, v);
    }
  }
  const jointTol = opts?.jointTolRad ?? DEFAULT_TOL;
  const positionTol = opts?.positionTolM ?? DEFAULT_TOL;
  const rotationTol = opts?.rotationTolRad ?? DEFAULT_TOL;
  const { lower, upper } = schema;
  for (let i = 0; i < ACTION_DIM; i++) {
    const kind = CHECK_KIND[i]!;
    const v = a[base + i]!;
    if (kind === CHECK_JOINT || kind === CHECK_POSITION) {
      const tol = kind === CHECK_JOINT ? jointTol : positionTol;
      const lo = lower[i]!;
      const hi = upper[i]!;
      if (v < lo - tol || v > hi + tol) {
        const e = schema.entries[i]!;
        return fail(
          'ACTION_OUT_OF_LIMITS',
          `action: ${e.name} (${where(i, row)}) = ${v} ${e.unit} outside [${lo}, ${hi}] (tolerance ${tol})`,
          i,
          row,
          e.name,
          v,
        );
      }
    } else if (kind === CHECK_ROT_START) {
      const y = a[base + i + 1]!;
      const z = a[base + i + 2]!;
      const norm = Math.sqrt(v * v + y * y + z * z);
      if (norm > Math.PI + rotationTol) {
        const name = ACTION_NAMES[i]!;
        return fail(
          'ACTION_BAD_ROTATION',
          `action: rotation vector ${name}..${ACTION_NAMES[i + 2]} (${where(i, row)}) = [${v}, ${y}, ${z}] has norm ${norm} rad > π + ${rotationTol}`,
          i,
          row,
          name,
          norm,
        );
      }
    }
  }
  return OK;
}

/**
 * Check one action (88 numbers, rad and m): shape, finiteness, joint limits, position box and
 * rotation-vector norm ≤ π. Never throws; allocation-free when the action is valid.
 * Checks run in this order: shape, then finiteness of all entries, then bounds by index.
 */
export function validateAction(
  schema: ActionSchema,
  action: ArrayLike<number>,
  opts?: ActionValidationOptions,
): ActionValidationResult {
  if (action.length !== ACTION_DIM) {
    return fail(
      'ACTION_BAD_SHAPE',
      `action: expected ${ACTION_DIM} numbers, got length ${action.length}`,
      -1,
      undefined,
      'length',
      action.length,
    );
  }
  return validateRow(schema, action, 0, undefined, opts);
}

/**
 * Check a chunk of `k` actions (k×88, row-major): `k` an integer in 1..{@link MAX_CHUNK_K} and
 * `chunk.length === k × 88` (else `CHUNK_BAD_SHAPE`), then every row as {@link validateAction}.
 * Never throws; reports the first failing row. Timing is checked by `validateChunkTiming`.
 */
export function validateChunk(
  schema: ActionSchema,
  chunk: ArrayLike<number>,
  k: number,
  opts?: ActionValidationOptions,
): ActionValidationResult {
  if (!Number.isInteger(k) || k < 1 || k > MAX_CHUNK_K) {
    return fail('CHUNK_BAD_SHAPE', `action: chunk k = ${k} is not an integer in 1..${MAX_CHUNK_K}`, -1, undefined, 'k', k);
  }
  if (chunk.length !== k * ACTION_DIM) {
    return fail(
      'CHUNK_BAD_SHAPE',
      `action: chunk of k = ${k} rows needs ${k * ACTION_DIM} numbers, got length ${chunk.length}`,
      -1,
      undefined,
      'length',
      chunk.length,
    );
  }
  for (let r = 0; r < k; r++) {
    const res = validateRow(schema, chunk, r * ACTION_DIM, r, opts);
    if (!res.ok) return res;
  }
  return OK;
}

// ---------------------------------------------------------------------------------------------
// Docs

export interface ActionTableRow extends ActionEntryInfo {
  /** Lower bound (rad or m), or `null` when the table was made without a schema. */
  readonly lower: number | null;
  readonly upper: number | null;
}

/**
 * One row per entry, in action order, for docs and UI. Without a schema the bounds are `null`
 * (the layout alone does not depend on the robot model).
 */
export function schemaTable(schema?: ActionSchema): ActionTableRow[] {
  return ACTION_ENTRIES.map((e) => {
    const bounded = schema?.entries[e.index];
    return {
      index: e.index,
      name: e.name,
      unit: e.unit,
      group: e.group,
      kind: e.kind,
      source: e.source,
      meaning: e.meaning,
      lower: bounded ? bounded.lower : null,
      upper: bounded ? bounded.upper : null,
    };
  });
}
