/**
 * Executes a policy's action chunks: validation on arrival, a bounded queue, and at each control
 * tick the action due now, blended over overlapping chunks by ACT's temporal ensembling.
 * Rules and the choice of weights: docs/safety.md.
 */
import {
  ACTION_DIM, ACTION_ENTRIES, type ActionChunk, type ActionErrorCode, type ActionSchema, type ActionValidationOptions,
  type ActionWorkspace, createActionSchema, MAX_CHUNK_K, quatOfRotationVector, ROTATION_VECTOR_OFFSETS, type Rig, rotationVectorOfQuat,
  sampleChunk, validateChunk, validateChunkTiming,
} from '@dexbridge/retarget';

/** Default: a chunk whose first row is older than this when it arrives is refused, ms. */
export const DEFAULT_CHUNK_MAX_AGE_MS = 500;
/** Default: a chunk that starts further than this in the future when it arrives is refused, ms. */
export const DEFAULT_CHUNK_MAX_LEAD_MS = 1000;
/** Default queue bound, chunks. */
export const DEFAULT_CHUNK_QUEUE = 8;
/**
 * Default temporal-ensembling decay m, per chunk: w_i = exp(−m·i), i = 0 the oldest chunk that
 * covers the time. ACT's value (Zhao et al. 2023), see docs/safety.md.
 */
export const DEFAULT_ENSEMBLE_DECAY = 0.01;

export interface ChunkExecutorOptions {
  /** Refuse a chunk whose start is more than this before its arrival, ms ≥ 0. Default 500. */
  readonly maxAgeMs?: number;
  /** Refuse a chunk whose start is more than this after its arrival (a wrong clock), ms ≥ 0. Default 1000. */
  readonly maxLeadMs?: number;
  /** Most chunks kept; on overflow the oldest is dropped. Integer 1..64, default 8. */
  readonly maxQueue?: number;
  /**
   * Temporal-ensembling decay m per chunk (finite): weight exp(−m·i) for the i-th oldest chunk
   * covering the time. m > 0 favours older predictions (ACT), 0 averages evenly, m < 0 favours
   * newer ones. Default 0.01.
   */
  readonly ensembleDecay?: number;
  /** Bounds for the position entries of the action schema (default: the schema's box). */
  readonly workspace?: Partial<ActionWorkspace>;
  /** Tolerances of the action validation (default: the schema's). */
  readonly validation?: ActionValidationOptions;
}

/** Why {@link ChunkExecutor.submit} refused a chunk: a schema code, or a timing rule of the executor. */
export type ChunkRefusalCode = ActionErrorCode | 'CHUNK_STALE' | 'CHUNK_FUTURE';

export type ChunkSubmitResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ChunkRefusalCode; readonly message: string };

/** Counters of a {@link ChunkExecutor}. One object, overwritten by every {@link ChunkExecutor.stats} call. */
export interface ChunkStats {
  /** Chunks in the queue now (including ones that start in the future). */
  queueDepth: number;
  /** Arrival time − startTimeMs of the last chunk with valid timing (accepted or refused for timing), ms; NaN before any. */
  lastLatencyMs: number;
  accepted: number;
  refused: number;
  /** Chunks removed because their last row passed. */
  expired: number;
  /** Chunks removed from a full queue to make room (oldest first). */
  dropped: number;
}

interface Slot {
  /** The chunk as stored: `data` holds up to 256 rows, `k` of them valid. */
  readonly chunk: ActionChunk;
  endTimeMs: number;
}

const OK: ChunkSubmitResult = Object.freeze({ ok: true });
const LINEAR = Uint8Array.from(ACTION_ENTRIES, (e) => (e.kind === 'rotvec' ? 0 : 1));
const ROT_OFFSETS = Int32Array.from(ROTATION_VECTOR_OFFSETS);

function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !(Number.isFinite(v) && v >= 0)) throw new RangeError(`ChunkExecutor: option ${name} must be a finite number ≥ 0, got ${v}`);
  return v;
}

/**
 * Policy chunks in, the action due now out.
 *
 * - {@link submit} validates (timing, shape, values against the rig's limits), refuses stale and
 *   far-future chunks, and copies the chunk into a preallocated slot (the caller may reuse its
 *   buffer at once). The queue holds at most `maxQueue` chunks; the oldest is dropped on overflow.
 * - {@link sample} drops chunks whose last row has passed and blends every chunk covering `nowMs`
 *   (first row ≤ now ≤ last row), each sampled with `sampleChunk`, by temporal ensembling:
 *   weights exp(−m·i) in order of arrival (i = 0 the oldest); joints and positions are weighted
 *   means, rotation vectors the normalised weighted quaternion mean after aligning each quaternion's
 *   sign with the highest-weight chunk's. Allocation-free.
 */
export class ChunkExecutor {
  readonly schema: ActionSchema;
  readonly maxAgeMs: number;
  readonly maxLeadMs: number;
  readonly maxQueue: number;
  readonly ensembleDecay: number;
  private readonly validation: ActionValidationOptions | undefined;
  private readonly slots: Slot[];
  /** Slots in the queue, oldest first (`count` valid); the rest are free. */
  private readonly order: Slot[];
  private count = 0;
  private readonly counters: ChunkStats = { queueDepth: 0, lastLatencyMs: Number.NaN, accepted: 0, refused: 0, expired: 0, dropped: 0 };
  private readonly row = new Float64Array(ACTION_DIM);
  private readonly sum = new Float64Array(ACTION_DIM);
  /** Per covering chunk (≤ maxQueue): its weight and the quaternions of its rotation vectors. */
  private readonly weights: Float64Array;
  private readonly quats: Float64Array;

  /**
   * @param rig joint limits for the action schema.
   * @throws RangeError naming the option if an option is invalid.
   */
  constructor(rig: Rig, options: ChunkExecutorOptions = {}) {
    this.maxAgeMs = nonNegative('maxAgeMs', options.maxAgeMs ?? DEFAULT_CHUNK_MAX_AGE_MS);
    this.maxLeadMs = nonNegative('maxLeadMs', options.maxLeadMs ?? DEFAULT_CHUNK_MAX_LEAD_MS);
    const maxQueue = options.maxQueue ?? DEFAULT_CHUNK_QUEUE;
    if (!Number.isInteger(maxQueue) || maxQueue < 1 || maxQueue > 64) throw new RangeError(`ChunkExecutor: option maxQueue must be an integer in 1..64, got ${maxQueue}`);
    this.maxQueue = maxQueue;
    const m = options.ensembleDecay ?? DEFAULT_ENSEMBLE_DECAY;
    if (typeof m !== 'number' || !Number.isFinite(m)) throw new RangeError(`ChunkExecutor: option ensembleDecay must be a finite number, got ${m}`);
    this.ensembleDecay = m;
    this.validation = options.validation;
    this.schema = createActionSchema((name) => rig.jointLimit(name), options.workspace);
    this.slots = Array.from({ length: maxQueue }, () => ({
      chunk: { startTimeMs: 0, periodMs: 1, k: 1, data: new Float32Array(MAX_CHUNK_K * ACTION_DIM) },
      endTimeMs: 0,
    }));
    this.order = this.slots.slice();
    this.weights = new Float64Array(maxQueue);
    this.quats = new Float64Array(maxQueue * ROT_OFFSETS.length * 4);
  }

  /**
   * Validates a chunk and queues a copy of it. `nowMs` is its arrival time on the control clock.
   * Refusals, in order: `CHUNK_BAD_TIMING`, then the schema's shape and value codes
   * (`CHUNK_BAD_SHAPE`, `ACTION_NOT_FINITE`, `ACTION_OUT_OF_LIMITS`, `ACTION_BAD_ROTATION`), then
   * `CHUNK_STALE` (last row before `nowMs`, or first row more than `maxAgeMs` before it) and
   * `CHUNK_FUTURE` (first row more than `maxLeadMs` after it). Never throws.
   */
  submit(chunk: ActionChunk, nowMs: number): ChunkSubmitResult {
    const c = this.counters;
    const timing = validateChunkTiming(chunk);
    if (!timing.ok) return this.refuse(timing.code, timing.message);
    const values = validateChunk(this.schema, chunk.data, chunk.k, this.validation);
    if (!values.ok) return this.refuse(values.code, values.message);
    const end = chunk.startTimeMs + (chunk.k - 1) * chunk.periodMs;
    c.lastLatencyMs = nowMs - chunk.startTimeMs;
    if (end < nowMs) {
      return this.refuse('CHUNK_STALE', `chunks: chunk rows span ${chunk.startTimeMs}..${end} ms, all before its arrival at ${nowMs} ms`);
    }
    if (nowMs - chunk.startTimeMs > this.maxAgeMs) {
      return this.refuse('CHUNK_STALE', `chunks: chunk starts at ${chunk.startTimeMs} ms, ${nowMs - chunk.startTimeMs} ms before its arrival at ${nowMs} ms (maxAgeMs ${this.maxAgeMs})`);
    }
    if (chunk.startTimeMs - nowMs > this.maxLeadMs) {
      return this.refuse('CHUNK_FUTURE', `chunks: chunk starts at ${chunk.startTimeMs} ms, ${chunk.startTimeMs - nowMs} ms after its arrival at ${nowMs} ms (maxLeadMs ${this.maxLeadMs})`);
    }
    if (this.count === this.maxQueue) {
      this.removeAt(0);
      c.dropped++;
    }
    const slot = this.order[this.count]!;
    const stored = slot.chunk;
    stored.startTimeMs = chunk.startTimeMs;
    stored.periodMs = chunk.periodMs;
    stored.k = chunk.k;
    stored.data.set(chunk.data);
    slot.endTimeMs = end;
    this.count++;
    c.accepted++;
    return OK;
  }

  /**
   * Writes the action due at `nowMs` into `out` (88 numbers) and returns true; returns false and
   * leaves `out` untouched when no queued chunk covers `nowMs` (the caller holds). Drops chunks
   * whose last row is before `nowMs`. Allocation-free.
   */
  sample(nowMs: number, out: Float32Array | Float64Array): boolean {
    for (let i = 0; i < this.count; ) {
      if (this.order[i]!.endTimeMs < nowMs) {
        this.removeAt(i);
        this.counters.expired++;
      } else {
        i++;
      }
    }
    return this.peek(nowMs, out);
  }

  /**
   * Like {@link sample} but drops nothing: the blended action due at `tMs` (e.g. a future row,
   * to check it against the gate before it is published), or false when no chunk covers `tMs`.
   */
  peek(tMs: number, out: Float32Array | Float64Array): boolean {
    const nowMs = tMs;
    let covering = 0;
    let only: ActionChunk | undefined;
    for (let i = 0; i < this.count; i++) {
      const s = this.order[i]!;
      if (s.chunk.startTimeMs <= nowMs && nowMs <= s.endTimeMs) {
        covering++;
        only = s.chunk;
      }
    }
    if (only === undefined) return false;
    if (covering === 1) {
      sampleChunk(out, only, nowMs);
      return true;
    }
    this.blend(nowMs, out);
    return true;
  }

  /** The last time any queued chunk covers (ms), or −Infinity when the queue is empty. */
  coveredUntilMs(): number {
    let end = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.count; i++) end = Math.max(end, this.order[i]!.endTimeMs);
    return end;
  }

  /** Queue depth, latency and counters; the same object every call (copy to keep). */
  stats(): Readonly<ChunkStats> {
    this.counters.queueDepth = this.count;
    return this.counters;
  }

  /** Empties the queue (e.g. on leaving policy mode or an e-stop). Counters are kept. */
  clear(): void {
    this.count = 0;
  }

  private refuse(code: ChunkRefusalCode, message: string): ChunkSubmitResult {
    this.counters.refused++;
    return { ok: false, code, message };
  }

  /** Removes the i-th oldest queued chunk, keeping the order; its slot becomes free. */
  private removeAt(i: number): void {
    const order = this.order;
    const slot = order[i]!;
    for (let j = i; j < order.length - 1; j++) order[j] = order[j + 1]!;
    order[order.length - 1] = slot;
    this.count--;
  }

  /** Temporal ensembling of the chunks (≥ 2) that cover `nowMs`, into `out`. */
  private blend(nowMs: number, out: Float32Array | Float64Array): void {
    const m = this.ensembleDecay;
    const sum = this.sum;
    const row = this.row;
    const quats = this.quats;
    const weights = this.weights;
    const nRot = ROT_OFFSETS.length;
    sum.fill(0);
    let total = 0;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const s = this.order[i]!;
      if (!(s.chunk.startTimeMs <= nowMs && nowMs <= s.endTimeMs)) continue;
      const w = Math.exp(-m * n);
      weights[n] = w;
      total += w;
      sampleChunk(row, s.chunk, nowMs);
      for (let j = 0; j < ACTION_DIM; j++) if (LINEAR[j] === 1) sum[j] = sum[j]! + w * row[j]!;
      for (let r = 0; r < nRot; r++) {
        const o = ROT_OFFSETS[r]!;
        quatOfRotationVector(quats, (n * nRot + r) * 4, row[o]!, row[o + 1]!, row[o + 2]!);
      }
      n++;
    }
    for (let j = 0; j < ACTION_DIM; j++) if (LINEAR[j] === 1) out[j] = sum[j]! / total;
    // Quaternion signs are aligned with the highest-weight chunk's (q and −q are one rotation).
    let best = 0;
    for (let i = 1; i < n; i++) if (weights[i]! > weights[best]!) best = i;
    for (let r = 0; r < nRot; r++) {
      const b = (best * nRot + r) * 4;
      const rx = quats[b]!;
      const ry = quats[b + 1]!;
      const rz = quats[b + 2]!;
      const rw = quats[b + 3]!;
      let x = 0;
      let y = 0;
      let z = 0;
      let w = 0;
      for (let i = 0; i < n; i++) {
        const c = (i * nRot + r) * 4;
        const qx = quats[c]!;
        const qy = quats[c + 1]!;
        const qz = quats[c + 2]!;
        const qw = quats[c + 3]!;
        const wi = qx * rx + qy * ry + qz * rz + qw * rw < 0 ? -weights[i]! : weights[i]!;
        x += wi * qx;
        y += wi * qy;
        z += wi * qz;
        w += wi * qw;
      }
      rotationVectorOfQuat(out, ROT_OFFSETS[r]!, x, y, z, w);
    }
  }
}

