/**
 * Records one teleoperation session as a chunked, indexed MCAP file (layout: `docs/recording.md`).
 *
 * The server's control loop calls the `write…` methods synchronously and never awaits them: each
 * call serialises its message at once (the caller may reuse its buffers afterwards), appends it to
 * the open chunk, and returns. Hand frames and actions are rows of a row block instead
 * (`protocol/rowBlock.ts`), written as one message per channel just before each chunk closes. Closed chunks go to the {@link RecordingSink} through an ordered
 * queue, one sink call at a time. A chunk is closed when it reaches `chunkSizeBytes` and, whatever
 * its size, every `flushIntervalMs` (default 500 ms), followed by `sink.flush()`. A crash loses
 * what came after the last closed chunk: at most one interval, or two if it strikes while a chunk is
 * being written, so under a second with the default.
 *
 * Failures never reach the caller's call: a sink error (or a stalled sink) sets {@link failed},
 * stops the recording and calls `onError` once, asynchronously; the server then reports "not
 * recording" and keeps teleoperating. A write with bad arguments drops that message and is reported
 * through `onError` (once per topic; all are counted in `stats.rejected`).
 *
 * Call order: `Recorder.open` → `write…` / `setOutcome` / `flush` in any order → `close` once.
 * Writes after `close()` or after a failure are ignored and return false.
 *
 * Times are milliseconds on the server clock; use Unix epoch milliseconds (`Date.now()`, or
 * `performance.timeOrigin + performance.now()`) so the file shows wall-clock times in Foxglove.
 * They become MCAP log/publish times in nanoseconds.
 *
 * Pure TypeScript: no Node built-ins (the timer is the global `setInterval`).
 */
import { ACTION_DIM, type ActionChunk, STATE_JOINT_NAMES, XR_HAND_LENGTH } from '@dexbridge/retarget';
import {
  ACTION_BLOCK_COLUMNS,
  fillActionRow,
  fillHandRow,
  HAND_BLOCK_COLUMNS,
  RowBlockBuilder,
} from '../protocol/rowBlock.js';
import { firstSliceType, NAL_TYPE } from '../protocol/h264.js';
import { ChunkedMcapWriter, type ChunkCompressor, DEFAULT_CHUNK_SIZE_BYTES } from './ChunkedMcapWriter.js';
import { errorMessage, RecordingError } from './RecordingError.js';
import type { RecordingSink } from './RecordingSink.js';
import { base64 } from './base64.js';
import { encodeRos1String, JointStateEncoder } from './ros1.js';
import {
  CHANNELS,
  cameraChannel,
  ROBOT_DESCRIPTION_METADATA_NAME,
  type RecordingTopicKey,
  SESSION_METADATA_NAME,
  URDF_ATTACHMENT_NAME,
  URDF_MEDIA_TYPE,
} from './schemas.js';

export interface RecorderOptions {
  /** Version of the dexbridge software that records (metadata `software_version`). */
  readonly softwareVersion: string;
  /** Start of the session, ISO 8601 (metadata `started_at`; time of the URDF attachment). */
  readonly startedAtIso: string;
  /** The rig's URDF text (`rigUrdf()`), stored as an attachment, a metadata entry and on `/robot_description`. */
  readonly urdf: string;
  /** Who operates (metadata `operator`); default empty. */
  readonly operator?: string;
  /** What the task is (metadata `task`); default empty; may be changed by {@link Recorder.setOutcome}. */
  readonly task?: string;
  /** Called once, asynchronously, when recording fails, and for each topic's first rejected write. */
  readonly onError?: (error: RecordingError) => void;
  /** Close a chunk when it reaches this many bytes. Default 256 KiB. */
  readonly chunkSizeBytes?: number;
  /**
   * Close the open chunk and flush the sink this often (ms); 0 disables the timer. Default 500, so
   * that even a crash during a chunk's write loses less than 1 s.
   */
  readonly flushIntervalMs?: number;
  /** Fail with `RECORDING_SINK_STALLED` when more than this many bytes wait for the sink. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** Names of the joint-state positions, in order. Default `STATE_JOINT_NAMES` (56). */
  readonly jointNames?: readonly string[];
  /** Chunk compression (e.g. zstd where available); default none. */
  readonly compressChunk?: ChunkCompressor;
  /**
   * The cameras whose frames are recorded, one channel each: an id (JPEG/PNG images,
   * `foxglove.CompressedImage`), or an id with its codec (`h264`: `foxglove.CompressedVideo`).
   */
  readonly cameras?: readonly (string | { readonly id: string; readonly codec: 'jpeg' | 'png' | 'h264' })[];
}

/** How the session ended; kept for the closing `dexbridge` metadata record. */
export interface RecordingOutcome {
  readonly task?: string;
  /** Who drove, replacing the opening `operator` label in the closing metadata. */
  readonly operator?: string;
  /** Whether the demonstration succeeded; `'unknown'` (the default) if nobody said. */
  readonly success?: boolean | 'unknown';
}

/** Counters of a recorder. */
export interface RecorderStats {
  /** Writes accepted into the file (a hand frame or action row counts once, though rows share a block message). */
  readonly messages: number;
  /** Write calls dropped for bad arguments. */
  readonly rejected: number;
  /** Chunks closed so far. */
  readonly chunks: number;
  /** Bytes the sink has acknowledged. */
  readonly bytesWritten: number;
  /** Bytes waiting for the sink. */
  readonly queuedBytes: number;
}

/** Well-known event names of `/dexbridge/events`; any other string is allowed too. */
export type RecordingEventName =
  | 'session_start'
  | 'mode'
  | 'engage'
  | 'disengage'
  | 'estop'
  | 'tracking_lost'
  | 'tracking_restored'
  | 'lease'
  | (string & {});

type SinkOp = { readonly kind: 'write'; readonly bytes: Uint8Array } | { readonly kind: 'flush' };

const DEFAULT_FLUSH_INTERVAL_MS = 500;
/** A row block is written at every flush, and sooner when it has this many rows (flush timer off). */
const MAX_BLOCK_ROWS = 256;
/** Largest magnitude of a hand or action number the row blocks take (m, rad): beyond it the input is nonsense. */
const MAX_BLOCK_NUMBER = 1e6;
/** Largest time (ms) a row block takes: its microseconds must stay exact doubles. */
const MAX_BLOCK_TIME_MS = 4e12;
/**
 * Joint positions (and velocities) are recorded on a grid of 2^-16 rad (1.5e-5 rad, 0.0009°),
 * exact in float32 and float64: the low mantissa bytes are then zeros that zstd removes, halving
 * the channel, and no encoder resolves finer.
 */
const JOINT_GRID = 65_536;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** Milliseconds → integer nanoseconds, exact for epoch-scale times (no 2^53 overflow). */
export function msToNs(tMs: number): bigint {
  const whole = Math.floor(tMs);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((tMs - whole) * 1e6));
}

const utf8 = new TextEncoder();

/** JSON.stringify replacer: typed arrays as plain arrays (not `{"0": …}` objects). */
function typedArraysAsArrays(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<number>) : value;
}

/** Index of the first non-finite entry, or −1. */
function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** Index of the first entry that is not finite or beyond ±{@link MAX_BLOCK_NUMBER}, or −1. */
function firstOutOfRange(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]!) <= MAX_BLOCK_NUMBER)) return i;
  return -1;
}

function onJointGrid(values: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]! * JOINT_GRID) / JOINT_GRID;
  return out;
}

function checkHand(name: string, hand: ArrayLike<number> | null): string | undefined {
  if (hand === null) return undefined;
  if (hand.length !== XR_HAND_LENGTH) return `${name} has ${hand.length} numbers, expected ${XR_HAND_LENGTH} or null`;
  const bad = firstOutOfRange(hand);
  return bad < 0 ? undefined : `${name}[${bad}] is not a finite number within ±${MAX_BLOCK_NUMBER}: ${hand[bad]}`;
}

export class Recorder {
  readonly #sink: RecordingSink;
  readonly #writer: ChunkedMcapWriter;
  readonly #onError: ((error: RecordingError) => void) | undefined;
  readonly #flushIntervalMs: number;
  readonly #maxQueuedBytes: number;
  readonly #jointNames: readonly string[];
  readonly #jointState: JointStateEncoder;
  readonly #jointPosition: Float64Array;
  readonly #jointVelocity: Float64Array;
  /** Rows not yet written, and the log time of each builder's first row. */
  readonly #handRows = new RowBlockBuilder(HAND_BLOCK_COLUMNS);
  readonly #actionRows = new RowBlockBuilder(ACTION_BLOCK_COLUMNS);
  #handRowsStartNs = 0n;
  #actionRowsStartNs = 0n;
  readonly #urdf: string;
  readonly #startedAtIso: string;
  readonly #startNs: bigint;
  readonly #softwareVersion: string;
  #operator: string;
  #task: string;
  #success: boolean | 'unknown' = 'unknown';
  readonly #channelIds = new Map<RecordingTopicKey, number>();
  readonly #sequences = new Map<RecordingTopicKey, number>();
  readonly #reportedTopics = new Set<RecordingTopicKey>();
  /** Camera id → channel id, next sequence number, whether it is video, and (video) whether a key frame was written. */
  readonly #cameraChannels = new Map<string, { id: number; seq: number; video: boolean; keyed: boolean }>();
  readonly #cameras: readonly { readonly id: string; readonly video: boolean }[];
  #cameraReported = false;
  #jointStateSeq = 0;
  #messages = 0;
  #rejected = 0;
  #bytesWritten = 0;
  #queuedBytes = 0;
  readonly #ops: SinkOp[] = [];
  #pump: Promise<void> | undefined;
  #unflushed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #error: RecordingError | undefined;
  /** Settles when the recording fails, so waiting never hangs on a sink call that never returns. */
  readonly #failedSignal: Promise<void>;
  #signalFailed: () => void = () => undefined;
  #opening = true;
  #closed = false;
  #closing: Promise<RecorderStats> | undefined;

  private constructor(sink: RecordingSink, options: RecorderOptions) {
    const o = options;
    if (typeof sink?.write !== 'function' || typeof sink.close !== 'function') {
      throw new TypeError('recording: Recorder.open needs a sink with write() and close()');
    }
    if (typeof o.softwareVersion !== 'string') throw new TypeError('recording: option softwareVersion must be a string');
    if (typeof o.urdf !== 'string' || o.urdf.length === 0) throw new TypeError('recording: option urdf must be the URDF text');
    const startMs = typeof o.startedAtIso === 'string' ? Date.parse(o.startedAtIso) : Number.NaN;
    if (!Number.isFinite(startMs)) {
      throw new RangeError(`recording: option startedAtIso must be an ISO 8601 date, got ${JSON.stringify(o.startedAtIso)}`);
    }
    const flushIntervalMs = o.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(Number.isFinite(flushIntervalMs) && flushIntervalMs >= 0)) {
      throw new RangeError(`recording: option flushIntervalMs must be a finite number ≥ 0, got ${flushIntervalMs}`);
    }
    const maxQueuedBytes = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!(maxQueuedBytes > 0)) throw new RangeError(`recording: option maxQueuedBytes must be > 0, got ${maxQueuedBytes}`);
    const jointNames = o.jointNames ?? STATE_JOINT_NAMES;
    if (jointNames.length === 0 || jointNames.some((n) => typeof n !== 'string')) {
      throw new TypeError('recording: option jointNames must be a non-empty list of strings');
    }
    const cameras = (o.cameras ?? []).map((c) => (typeof c === 'string' ? { id: c, video: false } : { id: c?.id, video: c?.codec === 'h264', codec: c?.codec }));
    if (
      !cameras.every((c) => typeof c.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(c.id) && (!('codec' in c) || ['jpeg', 'png', 'h264'].includes(c.codec as string))) ||
      new Set(cameras.map((c) => c.id)).size !== cameras.length
    ) {
      throw new TypeError(`recording: option cameras must be distinct camera ids [A-Za-z0-9_-]{1,64}, each alone or as {id, codec: jpeg|png|h264}, got ${JSON.stringify(o.cameras)}`);
    }
    this.#cameras = cameras.map((c) => ({ id: c.id, video: c.video }));
    this.#failedSignal = new Promise((resolve) => {
      this.#signalFailed = resolve;
    });
    this.#sink = sink;
    this.#writer = new ChunkedMcapWriter({
      output: (bytes) => this.#enqueue({ kind: 'write', bytes }),
      chunkSizeBytes: o.chunkSizeBytes ?? DEFAULT_CHUNK_SIZE_BYTES,
      ...(o.compressChunk ? { compressChunk: o.compressChunk } : {}),
    });
    this.#onError = o.onError;
    this.#flushIntervalMs = flushIntervalMs;
    this.#maxQueuedBytes = maxQueuedBytes;
    this.#jointNames = jointNames;
    this.#jointState = new JointStateEncoder(jointNames);
    this.#jointPosition = new Float64Array(jointNames.length);
    this.#jointVelocity = new Float64Array(jointNames.length);
    this.#urdf = o.urdf;
    this.#startedAtIso = new Date(startMs).toISOString();
    this.#startNs = msToNs(startMs);
    this.#softwareVersion = o.softwareVersion;
    this.#operator = o.operator ?? '';
    this.#task = o.task ?? '';
  }

  /**
   * Starts a recording on `sink`: writes the header, every channel, the URDF (attachment, metadata,
   * `/robot_description`) and the opening `dexbridge` metadata (success `unknown`), and waits until
   * the sink has them. Then the flush timer starts.
   * @throws TypeError/RangeError naming a bad option; the {@link RecordingError} of the sink if it
   *   fails during opening (the sink is then closed).
   */
  static async open(sink: RecordingSink, options: RecorderOptions): Promise<Recorder> {
    const recorder = new Recorder(sink, options);
    await recorder.#begin();
    return recorder;
  }

  /** True once the recording has stopped because of a sink failure; see {@link error}. */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** The failure that stopped the recording, if any. */
  get error(): RecordingError | undefined {
    return this.#error;
  }

  /** True while writes are accepted: opened, not closed, not failed. */
  get recording(): boolean {
    return !this.#closed && this.#error === undefined;
  }

  get stats(): RecorderStats {
    return {
      messages: this.#messages,
      rejected: this.#rejected,
      chunks: this.#writer.statistics.chunkCount,
      bytesWritten: this.#bytesWritten,
      queuedBytes: this.#queuedBytes,
    };
  }

  /**
   * Raw operator input on `/dexbridge/hand_frames`: a row of the channel's next row block
   * (`docs/recording.md`), numbers on a 0.1 mm / 1e-4 grid.
   * @param tMs server time of receipt (ms): the row's log time.
   * @param seq the headset's frame sequence number.
   * @param left 200 numbers (25 joints × [px, py, pz, qx, qy, qz, qw, radius]) or null if untracked.
   * @param frameTimeMs the frame's own time as the headset stamped it; default `tMs`.
   * @returns false if the frame was not recorded.
   */
  writeHandFrame(
    tMs: number,
    seq: number,
    left: ArrayLike<number> | null,
    right: ArrayLike<number> | null,
    frameTimeMs: number = tMs,
  ): boolean {
    if (!this.#accept('handFrames', tMs)) return false;
    const problem =
      (Math.abs(frameTimeMs) <= MAX_BLOCK_TIME_MS ? undefined : `frameTimeMs is not a finite number within ±${MAX_BLOCK_TIME_MS}: ${frameTimeMs}`) ??
      (Number.isInteger(seq) && seq >= 0 && seq <= 0xffff_ffff ? undefined : `seq is not an integer in 0..2^32−1: ${seq}`) ??
      checkHand('left', left) ??
      checkHand('right', right);
    if (problem !== undefined) return this.#reject('handFrames', problem);
    if (this.#handRows.rows === 0) this.#handRowsStartNs = msToNs(tMs);
    fillHandRow(this.#handRows.addRow(), this.#handRows, tMs, frameTimeMs, seq, left, right);
    this.#messages++;
    if (this.#handRows.rows >= MAX_BLOCK_ROWS) this.#writeBlocks();
    return true;
  }

  /**
   * The commanded joint positions on `/dexbridge/joint_states` (`sensor_msgs/JointState`, names =
   * `jointNames`, header stamp = `tMs`, empty frame id and effort).
   * @param positionRad one position per joint name (rad).
   * @param velocityRadS optional, one velocity per joint (rad/s); absent → empty array.
   */
  writeJointState(tMs: number, positionRad: ArrayLike<number>, velocityRadS?: ArrayLike<number>): boolean {
    if (!this.#accept('jointStates', tMs)) return false;
    const n = this.#jointNames.length;
    if (positionRad.length !== n) return this.#reject('jointStates', `position has ${positionRad.length} numbers, expected ${n}`);
    if (velocityRadS !== undefined && velocityRadS.length !== n) {
      return this.#reject('jointStates', `velocity has ${velocityRadS.length} numbers, expected ${n}`);
    }
    const ns = msToNs(tMs);
    const data = this.#jointState.encode(
      this.#jointStateSeq++,
      Number(ns / 1_000_000_000n),
      Number(ns % 1_000_000_000n),
      onJointGrid(positionRad, this.#jointPosition),
      velocityRadS === undefined ? undefined : onJointGrid(velocityRadS, this.#jointVelocity),
    );
    return this.#add('jointStates', ns, data);
  }

  /** The commanded 88-dim action on `/dexbridge/action`: a row of the channel's next row block, on a 1e-6 grid. */
  writeAction(tMs: number, action: ArrayLike<number>): boolean {
    if (!this.#accept('action', tMs)) return false;
    if (action.length !== ACTION_DIM) return this.#reject('action', `action has ${action.length} numbers, expected ${ACTION_DIM}`);
    const bad = firstOutOfRange(action);
    if (bad >= 0) return this.#reject('action', `action[${bad}] is not a finite number within ±${MAX_BLOCK_NUMBER}: ${action[bad]}`);
    if (this.#actionRows.rows === 0) this.#actionRowsStartNs = msToNs(tMs);
    fillActionRow(this.#actionRows.addRow(), tMs, action);
    this.#messages++;
    if (this.#actionRows.rows >= MAX_BLOCK_ROWS) this.#writeBlocks();
    return true;
  }

  /**
   * An action chunk received from a policy, on `/dexbridge/action_chunks`
   * (`{t_ms, chunk_id, start_time_ms, period_ms, k, data}`).
   * @param chunkId the policy's id of the chunk.
   */
  writeChunk(tMs: number, chunk: ActionChunk, chunkId: number): boolean {
    if (!this.#accept('actionChunks', tMs)) return false;
    const { k, startTimeMs, periodMs, data } = chunk;
    if (!Number.isInteger(k) || k < 1 || data.length !== k * ACTION_DIM) {
      return this.#reject('actionChunks', `chunk ${chunkId}: k = ${k} with ${data.length} numbers, expected k × ${ACTION_DIM}`);
    }
    if (!Number.isFinite(chunkId) || !Number.isFinite(startTimeMs) || !Number.isFinite(periodMs)) {
      return this.#reject('actionChunks', `chunk ${chunkId}: chunkId, startTimeMs and periodMs must be finite, got ${startTimeMs}, ${periodMs}`);
    }
    const bad = firstNonFinite(data);
    if (bad >= 0) return this.#reject('actionChunks', `chunk ${chunkId}: data[${bad}] is not finite: ${data[bad]}`);
    const payload = `{"t_ms":${tMs},"chunk_id":${chunkId},"start_time_ms":${startTimeMs},"period_ms":${periodMs},"k":${k},"data":[${Array.prototype.join.call(data, ',')}]}`;
    return this.#add('actionChunks', msToNs(tMs), utf8.encode(payload));
  }

  /**
   * A session event on `/dexbridge/events` (`{t_ms, event, detail}`): mode change, engage, e-stop,
   * tracking loss, lease, … `detail` must be JSON-serialisable (typed arrays become arrays).
   */
  writeEvent(tMs: number, event: RecordingEventName, detail: Readonly<Record<string, unknown>> = {}): boolean {
    if (!this.#accept('events', tMs)) return false;
    if (typeof event !== 'string' || event.length === 0) return this.#reject('events', `event must be a non-empty string, got ${String(event)}`);
    return this.#addJson('events', tMs, { t_ms: tMs, event, detail });
  }

  /** The operator calibration in force from `tMs` on (hand scale, arm mapping), on `/dexbridge/calibration`. */
  writeCalibration(tMs: number, calibration: Readonly<Record<string, unknown>>): boolean {
    if (!this.#accept('calibration', tMs)) return false;
    return this.#addJson('calibration', tMs, { t_ms: tMs, calibration });
  }

  /**
   * One camera frame on `/dexbridge/cameras/<cameraId>`: a JPEG/PNG image as
   * `foxglove.CompressedImage` (`format` `jpeg` or `png`), an H.264 access unit (Annex B) as
   * `foxglove.CompressedVideo` (`format` `h264`); `timestamp`, log and publish time =
   * `captureTimeMs`. The frame is encoded at once (base64 in JSON); the caller may reuse `data`.
   * An H.264 camera's frames are written from its first key frame (an IDR slice, read from the
   * data itself) on: the ones before could not be decoded from the file; they return false and
   * are not errors. A camera not given in `options.cameras`, a format its channel does not take,
   * an H.264 frame without a slice, or a bad time is dropped and reported like any bad write.
   */
  writeCameraFrame(cameraId: string, captureTimeMs: number, format: 'jpeg' | 'png' | 'h264', data: Uint8Array): boolean {
    if (!this.recording) return false;
    const ch = this.#cameraChannels.get(cameraId);
    const slice = ch?.video === true && format === 'h264' && data.length > 0 ? firstSliceType(data) : 0;
    const formatOk = ch !== undefined && (ch.video ? format === 'h264' && slice !== 0 : format === 'jpeg' || format === 'png');
    if (ch === undefined || !formatOk || !(typeof captureTimeMs === 'number' && Number.isFinite(captureTimeMs) && captureTimeMs >= 0) || data.length === 0) {
      this.#rejected++;
      if (!this.#cameraReported) {
        this.#cameraReported = true;
        this.#report(new RecordingError('RECORDING_BAD_INPUT', `recording: camera ${JSON.stringify(cameraId)}: not a recorded camera, format ${JSON.stringify(format)} not its channel's (or an H.264 frame without a slice), time ${captureTimeMs} or ${data.length} bytes; frame dropped (further bad frames are only counted)`));
      }
      return false;
    }
    if (ch.video && !ch.keyed) {
      if (slice !== NAL_TYPE.IDR) return false;
      ch.keyed = true;
    }
    const ns = msToNs(captureTimeMs);
    const sec = Math.floor(captureTimeMs / 1000);
    const nsec = Number(ns - BigInt(sec) * 1_000_000_000n);
    const text = `{"timestamp":{"sec":${sec},"nsec":${nsec}},"frame_id":${JSON.stringify(cameraId)},"data":"${base64(data)}","format":"${format}"}`;
    try {
      this.#writer.addMessage({ channelId: ch.id, sequence: ch.seq++ >>> 0, logTime: ns, publishTime: ns, data: utf8.encode(text) });
    } catch (error) {
      this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: could not add a message: ${errorMessage(error)}`, { cause: error }));
      return false;
    }
    this.#messages++;
    return true;
  }

  /** Sets the task and/or success written in the closing `dexbridge` metadata record. */
  setOutcome(outcome: RecordingOutcome): void {
    if (outcome.task !== undefined) this.#task = outcome.task;
    if (outcome.operator !== undefined) this.#operator = outcome.operator;
    if (outcome.success !== undefined) this.#success = outcome.success;
  }

  /**
   * Closes the open chunk now, flushes the sink, and resolves when the sink has everything written
   * so far. Never rejects (failures go to `onError` / {@link failed}). The timer calls this.
   */
  async flush(): Promise<void> {
    if (this.recording) {
      this.#writeBlocks();
      this.#writer.closeChunk();
      if (this.#unflushed) {
        this.#unflushed = false;
        this.#enqueue({ kind: 'flush' });
      }
    }
    await this.#drain();
  }

  /**
   * Ends the recording: closes the last chunk, writes the closing `dexbridge` metadata (outcome,
   * `ended_at`), the summary and the footer, flushes and closes the sink (the sink is closed even
   * after a failure). Idempotent.
   * @returns the final counters.
   * @throws the {@link RecordingError} that stopped the recording, if any: the file is then
   *   incomplete (recover it with `recoverMcap`).
   */
  close(): Promise<RecorderStats> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<RecorderStats> {
    this.#stopTimer();
    if (this.recording) {
      this.#writeBlocks();
      this.#closed = true;
      try {
        this.#writer.addMetadata(this.#sessionMetadata(true));
        this.#writer.end();
      } catch (error) {
        this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: could not end the file: ${errorMessage(error)}`, { cause: error }));
      }
      this.#enqueue({ kind: 'flush' });
    }
    this.#closed = true;
    await this.#drain();
    try {
      await this.#sink.close();
    } catch (error) {
      this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: the sink failed to close: ${errorMessage(error)}`, { cause: error }));
    }
    if (this.#error) throw this.#error;
    return this.stats;
  }

  async #begin(): Promise<void> {
    const writer = this.#writer;
    try {
      writer.start({ profile: '', library: `dexbridge ${this.#softwareVersion}` });
      for (const [key, spec] of Object.entries(CHANNELS) as [RecordingTopicKey, (typeof CHANNELS)[RecordingTopicKey]][]) {
        // Row-block channels have no schema record (schema id 0): their layout is documented.
        const schemaId = spec.schemaEncoding === '' ? 0 : writer.registerSchema({ name: spec.schemaName, encoding: spec.schemaEncoding, data: utf8.encode(spec.schemaText) });
        const channelId = writer.registerChannel({
          schemaId,
          topic: spec.topic,
          messageEncoding: spec.messageEncoding,
          metadata: new Map(spec.metadata),
        });
        this.#channelIds.set(key, channelId);
        this.#sequences.set(key, 0);
      }
      for (const { id, video } of this.#cameras) {
        const spec = cameraChannel(id, video ? 'video' : 'image');
        const schemaId = writer.registerSchema({ name: spec.schemaName, encoding: spec.schemaEncoding, data: utf8.encode(spec.schemaText) });
        const channelId = writer.registerChannel({ schemaId, topic: spec.topic, messageEncoding: spec.messageEncoding, metadata: new Map(spec.metadata) });
        this.#cameraChannels.set(id, { id: channelId, seq: 0, video, keyed: false });
      }
      writer.addAttachment({
        name: URDF_ATTACHMENT_NAME,
        mediaType: URDF_MEDIA_TYPE,
        logTime: this.#startNs,
        createTime: this.#startNs,
        data: utf8.encode(this.#urdf),
      });
      writer.addMetadata({ name: ROBOT_DESCRIPTION_METADATA_NAME, metadata: new Map([['urdf', this.#urdf]]) });
      writer.addMetadata(this.#sessionMetadata(false));
      this.#add('robotDescription', this.#startNs, encodeRos1String(this.#urdf));
    } catch (error) {
      this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: could not start the file: ${errorMessage(error)}`, { cause: error }));
    }
    await this.flush();
    this.#opening = false;
    if (this.#error) {
      this.#closed = true;
      await this.#sink.close().catch(() => undefined); // the open failure is what the caller needs to see
      throw this.#error;
    }
    if (this.#flushIntervalMs > 0) {
      this.#timer = setInterval(() => void this.flush(), this.#flushIntervalMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #sessionMetadata(final: boolean): { name: string; metadata: Map<string, string> } {
    const metadata = new Map<string, string>([
      ['operator', this.#operator],
      ['task', this.#task],
      ['success', String(this.#success)],
      ['software_version', this.#softwareVersion],
      ['started_at', this.#startedAtIso],
      ['urdf_attachment', URDF_ATTACHMENT_NAME],
      ['complete', String(final)],
    ]);
    if (final) metadata.set('ended_at', new Date().toISOString());
    return { name: SESSION_METADATA_NAME, metadata };
  }

  /** Whether a write on `key` at `tMs` may proceed (recording, valid time). */
  #accept(key: RecordingTopicKey, tMs: number): boolean {
    if (!this.recording) return false;
    if (typeof tMs !== 'number' || !Number.isFinite(tMs) || tMs < 0) {
      this.#reject(key, `tMs must be a finite number of milliseconds ≥ 0, got ${String(tMs)}`);
      return false;
    }
    return true;
  }

  #reject(key: RecordingTopicKey, problem: string): false {
    this.#rejected++;
    if (!this.#reportedTopics.has(key)) {
      this.#reportedTopics.add(key);
      const error = new RecordingError(
        'RECORDING_BAD_INPUT',
        `recording: ${CHANNELS[key].topic}: ${problem}; message dropped (further bad ${CHANNELS[key].topic} messages are only counted)`,
      );
      this.#report(error);
    }
    return false;
  }

  #addJson(key: RecordingTopicKey, tMs: number, value: unknown): boolean {
    let text: string;
    try {
      text = JSON.stringify(value, typedArraysAsArrays);
    } catch (error) {
      return this.#reject(key, `not JSON-serialisable: ${errorMessage(error)}`);
    }
    return this.#add(key, msToNs(tMs), utf8.encode(text));
  }

  /** @param count whether the message counts as a write in `stats.messages` (a block's rows were counted as written). */
  #add(key: RecordingTopicKey, ns: bigint, data: Uint8Array, sequence?: number, count = true): boolean {
    const next = this.#sequences.get(key) ?? 0;
    this.#sequences.set(key, next + 1);
    try {
      this.#writer.addMessage({
        channelId: this.#channelIds.get(key)!,
        sequence: (sequence ?? next) >>> 0,
        logTime: ns,
        publishTime: ns,
        data,
      });
    } catch (error) {
      this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: could not add a message: ${errorMessage(error)}`, { cause: error }));
      return false;
    }
    if (count) this.#messages++;
    return true;
  }

  /** Writes the pending rows of both row-block channels as one message each (logged at their first row). */
  #writeBlocks(): void {
    for (const [key, rows, startNs] of [
      ['handFrames', this.#handRows, this.#handRowsStartNs],
      ['action', this.#actionRows, this.#actionRowsStartNs],
    ] as const) {
      let block: Uint8Array | undefined;
      try {
        block = rows.take();
      } catch (error) {
        // Only a headset clock that jumps by ~2^52 µs between frames gets here: that block's rows are lost, never the file.
        const dropped = rows.discard();
        this.#messages -= dropped;
        this.#rejected += dropped;
        this.#report(new RecordingError('RECORDING_BAD_INPUT', `recording: ${CHANNELS[key].topic}: ${errorMessage(error)}; the rows since the last flush were dropped`));
      }
      if (block !== undefined) this.#add(key, startNs, block, undefined, false);
    }
  }

  #enqueue(op: SinkOp): void {
    if (this.#error) return;
    if (op.kind === 'write') {
      this.#queuedBytes += op.bytes.length;
      this.#unflushed = true;
      if (this.#queuedBytes > this.#maxQueuedBytes) {
        this.#fail(
          new RecordingError(
            'RECORDING_SINK_STALLED',
            `recording: ${this.#queuedBytes} bytes wait for the sink, more than maxQueuedBytes = ${this.#maxQueuedBytes}`,
          ),
        );
        return;
      }
    }
    this.#ops.push(op);
    if (this.#pump === undefined) this.#pump = this.#runQueue();
  }

  async #runQueue(): Promise<void> {
    await Promise.resolve(); // start after the caller's call has returned
    while (this.#ops.length > 0 && !this.#error) {
      const op = this.#ops.shift()!;
      try {
        if (op.kind === 'write') {
          await this.#sink.write(op.bytes);
          this.#bytesWritten += op.bytes.length;
          this.#queuedBytes -= op.bytes.length;
        } else {
          await this.#sink.flush?.();
        }
      } catch (error) {
        this.#fail(new RecordingError('RECORDING_SINK_FAILED', `recording: the sink failed to ${op.kind}: ${errorMessage(error)}`, { cause: error }));
      }
    }
    this.#pump = undefined;
  }

  /** Waits until the queue is empty, or until the recording fails (a stalled write may never settle). */
  async #drain(): Promise<void> {
    while (this.#pump !== undefined && this.#error === undefined) await Promise.race([this.#pump, this.#failedSignal]);
  }

  #fail(error: RecordingError): void {
    if (this.#error) return;
    this.#error = error;
    this.#ops.length = 0;
    this.#queuedBytes = 0;
    this.#stopTimer();
    this.#signalFailed();
    // While opening, the rejection of `open` reports the failure instead.
    if (!this.#opening) this.#report(error);
  }

  #report(error: RecordingError): void {
    const onError = this.#onError;
    if (onError) queueMicrotask(() => onError(error));
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
