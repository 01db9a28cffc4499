/**
 * Action chunks: K consecutive 88-dim actions (K×88 float32, row-major) on a regular time grid,
 * and sampling between rows (linear for joints and positions, slerp for rotation vectors).
 */

import {
  ACTION_DIM,
  ACTION_ENTRIES,
  MAX_CHUNK_K,
  ROTATION_VECTOR_OFFSETS,
  type ActionSchema,
  type ActionValidationOptions,
  type ActionValidationResult,
  validateChunk,
} from './actionSchema.js';
import { slerpRotationVector } from './math/rotation.js';

export interface ActionChunk {
  /** Time of row 0 (ms, on the same clock as the `tMs` given to {@link sampleChunk}). */
  startTimeMs: number;
  /** Time between consecutive rows (ms), > 0. Row i is due at `startTimeMs + i × periodMs`. */
  periodMs: number;
  /** Number of rows, 1..256. */
  k: number;
  /** k×88 numbers, row-major (row i starts at `i × 88`). */
  data: Float32Array;
}

/**
 * Default step period (ms): 20 ms = 50 Hz, the control rate of ACT/ALOHA-style chunked policies.
 * The FR3 itself runs its joint controller at 1 kHz and interpolates.
 */
export const DEFAULT_CHUNK_PERIOD_MS = 20;

function checkK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_CHUNK_K) {
    throw new RangeError(`action: ${fn} k must be an integer in 1..${MAX_CHUNK_K}, got ${k}`);
  }
}

function checkTiming(fn: string, startTimeMs: number, periodMs: number): void {
  if (!Number.isFinite(startTimeMs)) throw new RangeError(`action: ${fn} startTimeMs must be finite, got ${startTimeMs}`);
  if (!(Number.isFinite(periodMs) && periodMs > 0)) {
    throw new RangeError(`action: ${fn} periodMs must be finite and > 0, got ${periodMs}`);
  }
}

/**
 * A zero-filled chunk of `k` rows.
 * @param startTimeMs time of row 0 (ms), default 0.
 * @param periodMs step period (ms), default {@link DEFAULT_CHUNK_PERIOD_MS}.
 * @throws RangeError for k outside 1..256 or bad timing.
 */
export function createChunk(k: number, startTimeMs = 0, periodMs: number = DEFAULT_CHUNK_PERIOD_MS): ActionChunk {
  checkK('createChunk', k);
  checkTiming('createChunk', startTimeMs, periodMs);
  return { startTimeMs, periodMs, k, data: new Float32Array(k * ACTION_DIM) };
}

/**
 * Row `i` of the chunk as a subarray view (no copy; writing it writes the chunk). Allocates the
 * view object, so keep it out of per-frame loops; {@link sampleChunk} does not need it.
 * @throws RangeError if `i` is not an integer in 0..k−1.
 */
export function chunkRow(chunk: ActionChunk, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= chunk.k) {
    throw new RangeError(`action: chunkRow row ${i} is outside 0..${chunk.k - 1}`);
  }
  return chunk.data.subarray(i * ACTION_DIM, (i + 1) * ACTION_DIM);
}

/** Time (ms) at which row `i` is due. */
export const chunkRowTimeMs = (chunk: ActionChunk, i: number): number => chunk.startTimeMs + i * chunk.periodMs;

/** Time (ms) of the chunk's last row. */
export const chunkEndTimeMs = (chunk: ActionChunk): number => chunk.startTimeMs + (chunk.k - 1) * chunk.periodMs;

/**
 * Copy `actions` (each 88 numbers) into a new chunk, row i = actions[i].
 * @throws RangeError if there are not 1..256 actions, one is not 88 long, or the timing is bad.
 */
export function chunkFromActions(actions: readonly ArrayLike<number>[], startTimeMs: number, periodMs: number): ActionChunk {
  checkK('chunkFromActions', actions.length);
  checkTiming('chunkFromActions', startTimeMs, periodMs);
  const chunk = createChunk(actions.length, startTimeMs, periodMs);
  actions.forEach((a, i) => {
    if (a.length !== ACTION_DIM) {
      throw new RangeError(`action: chunkFromActions action ${i} has ${a.length} numbers, expected ${ACTION_DIM}`);
    }
    chunk.data.set(a, i * ACTION_DIM);
  });
  return chunk;
}

const TIMING_OK: ActionValidationResult = Object.freeze({ ok: true });

/**
 * Check the chunk's timing: `startTimeMs` finite and `periodMs` finite and > 0. Never throws;
 * returns `CHUNK_BAD_TIMING` (index −1, name `startTimeMs` or `periodMs`).
 */
export function validateChunkTiming(chunk: Pick<ActionChunk, 'startTimeMs' | 'periodMs'>): ActionValidationResult {
  const { startTimeMs, periodMs } = chunk;
  if (typeof startTimeMs !== 'number' || !Number.isFinite(startTimeMs)) {
    return {
      ok: false,
      code: 'CHUNK_BAD_TIMING',
      message: `action: chunk startTimeMs = ${startTimeMs} is not finite`,
      index: -1,
      name: 'startTimeMs',
      value: Number(startTimeMs),
    };
  }
  if (typeof periodMs !== 'number' || !(Number.isFinite(periodMs) && periodMs > 0)) {
    return {
      ok: false,
      code: 'CHUNK_BAD_TIMING',
      message: `action: chunk periodMs = ${periodMs} must be finite and > 0`,
      index: -1,
      name: 'periodMs',
      value: Number(periodMs),
    };
  }
  return TIMING_OK;
}

/** Timing ({@link validateChunkTiming}), then shape and values (`validateChunk`). Never throws. */
export function validateActionChunk(
  schema: ActionSchema,
  chunk: ActionChunk,
  opts?: ActionValidationOptions,
): ActionValidationResult {
  const timing = validateChunkTiming(chunk);
  if (!timing.ok) return timing;
  return validateChunk(schema, chunk.data, chunk.k, opts);
}

/** 1 where the entry is interpolated linearly (joints, positions), 0 for rotation-vector entries. */
const LINEAR = Uint8Array.from(ACTION_ENTRIES, (e) => (e.kind === 'rotvec' ? 0 : 1));
const ROT_OFFSETS = Int32Array.from(ROTATION_VECTOR_OFFSETS);

/** Below this angle (rad) sin(θ/2)/θ and its inverse use their Taylor series. */
/**
 * Row-time snapping tolerance (rows), so that t = start + i×period yields row i exactly: 1e-9 plus
 * the rounding error of (t − start)/period for large times (e.g. epoch milliseconds).
 */
const SNAP_ROWS = 1e-9;
const SNAP_ULPS = 4 * Number.EPSILON;


/**
 * The action due at time `tMs` (ms), written into `out` (88 numbers). `tMs` is clamped to
 * [startTimeMs, startTimeMs + (k−1)·periodMs], so before the chunk this is row 0 and after it the
 * last row. Between rows i and i+1, joints and positions are interpolated linearly and each
 * rotation vector by slerp of its quaternion along the shortest arc (so rotations either side of
 * the π wrap interpolate through π, not through identity); the result's angle is in [0, π].
 * At row times (within 1e-9 of a period, plus float rounding of large times) the row is copied
 * exactly. A NaN `tMs` yields row 0.
 * Allocation-free; `out` may be a row view of the same chunk.
 * @returns `out`.
 */
export function sampleChunk<T extends Float32Array | Float64Array>(out: T, chunk: ActionChunk, tMs: number): T {
  const { data, k, startTimeMs, periodMs } = chunk;
  let u = (tMs - startTimeMs) / periodMs;
  if (!(u > 0)) u = 0;
  const last = k - 1;
  if (u > last) u = last;
  const nearest = Math.round(u);
  const snap = SNAP_ROWS + (SNAP_ULPS * (Math.abs(tMs) + Math.abs(startTimeMs))) / periodMs;
  if (Math.abs(u - nearest) <= snap) u = nearest;
  const i = Math.floor(u);
  const f = u - i;
  const aBase = i * ACTION_DIM;
  if (f === 0) {
    for (let j = 0; j < ACTION_DIM; j++) out[j] = data[aBase + j]!;
    return out;
  }
  const bBase = aBase + ACTION_DIM;
  for (let j = 0; j < ACTION_DIM; j++) {
    if (LINEAR[j] === 1) {
      const a = data[aBase + j]!;
      out[j] = a + (data[bBase + j]! - a) * f;
    }
  }
  for (let r = 0; r < ROT_OFFSETS.length; r++) {
    const off = ROT_OFFSETS[r]!;
    slerpRotationVector(out, off, data, aBase + off, data, bBase + off, f);
  }
  return out;
}
