/**
 * Reading a finished recording back (Node): its metadata, channels and attachments for the
 * recordings API, its messages, and its hand frames for offline re-retargeting. Uses
 * `McapIndexedReader`, so the file must have its summary; a file cut short by a crash is first
 * repaired with `recoverMcap` (`dexbridge recover <file>`).
 */
import { hasMcapPrefix, McapIndexedReader } from '@mcap/core';
import { ACTION_DIM, type HandFrame, XR_HAND_LENGTH } from '@dexbridge/retarget';
import { type CalibrationRequest, validateCalibration } from '../protocol/calibration.js';
import { decodeActionBlock, decodeHandBlock, ROW_BLOCK_ENCODING } from '../protocol/rowBlock.js';
import { FileReadable } from './FileReadable.js';
import { errorMessage, RecordingError } from './RecordingError.js';
import { TOPICS } from './schemas.js';
import { ZSTD_DECOMPRESS_HANDLERS } from './zstd.js';

export interface RecordedChannel {
  readonly id: number;
  readonly topic: string;
  /** `json` or `ros1`. */
  readonly messageEncoding: string;
  /** e.g. `dexbridge.HandFrame`, `sensor_msgs/JointState`; empty if the channel has no schema. */
  readonly schemaName: string;
  /** `jsonschema` or `ros1msg`; empty if the channel has no schema. */
  readonly schemaEncoding: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** From the file's statistics. */
  readonly messageCount: number;
}

export interface RecordedAttachment {
  readonly name: string;
  readonly mediaType: string;
  readonly logTimeNs: bigint;
  readonly sizeBytes: number;
}

export interface RecordedMessage {
  readonly topic: string;
  readonly channelId: number;
  readonly sequence: number;
  readonly logTimeNs: bigint;
  readonly publishTimeNs: bigint;
  /** The serialised message (JSON text, ROS 1 bytes or a row block, per the channel's `messageEncoding`). */
  readonly data: Uint8Array;
}

/** What a recording holds, without its messages. */
export interface RecordingInfo {
  readonly path: string;
  /** Header `library`, e.g. `dexbridge 0.1.0`. */
  readonly library: string;
  /**
   * Metadata records by name (`dexbridge`, `robot_description`). A name written more than once
   * (the opening and the closing `dexbridge` record) holds the last record's values.
   */
  readonly metadata: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly channels: readonly RecordedChannel[];
  readonly attachments: readonly RecordedAttachment[];
  readonly messageCount: number;
  readonly chunkCount: number;
  /** Log time of the first and last message (ns), from the file's statistics; 0 if unknown. */
  readonly startTimeNs: bigint;
  readonly endTimeNs: bigint;
}

/** An open recording. Call {@link close} when done. */
export interface Recording extends RecordingInfo {
  /**
   * Messages in log-time order, optionally of some topics only, and within
   * [startTimeNs, endTimeNs] (inclusive).
   */
  messages(options?: { topics?: readonly string[]; startTimeNs?: bigint; endTimeNs?: bigint }): AsyncGenerator<RecordedMessage>;
  /** The data of the first attachment called `name`, or undefined. */
  readAttachment(name: string): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

async function openIndexed(path: string): Promise<{ file: FileReadable; reader: McapIndexedReader }> {
  let file: FileReadable;
  try {
    file = await FileReadable.open(path);
  } catch (error) {
    throw new RecordingError('RECORDING_OPEN_FAILED', `recording: cannot open ${path}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const size = await file.size();
    const prefix = size >= 8n ? await file.read(0n, 8n) : new Uint8Array(0);
    if (prefix.length < 8 || !hasMcapPrefix(new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength))) {
      throw new RecordingError('RECORDING_NOT_MCAP', `recording: ${path} is not an MCAP file (${size} bytes, no MCAP magic at the start)`);
    }
    try {
      return { file, reader: await McapIndexedReader.Initialize({ readable: file, decompressHandlers: ZSTD_DECOMPRESS_HANDLERS }) };
    } catch (error) {
      throw new RecordingError(
        'RECORDING_NOT_INDEXED',
        `recording: ${path} has no valid summary (${errorMessage(error)}); it was probably cut short: recover it with \`dexbridge recover ${path}\``,
        { cause: error },
      );
    }
  } catch (error) {
    await file.close();
    throw error;
  }
}

/**
 * Opens a finished (indexed) recording.
 * @throws RecordingError `RECORDING_OPEN_FAILED`, `RECORDING_NOT_MCAP`, or `RECORDING_NOT_INDEXED`
 *   (a truncated file: run `recoverMcap` first).
 */
export async function readRecording(path: string): Promise<Recording> {
  const { file, reader } = await openIndexed(path);
  try {
    const metadata: Record<string, Record<string, string>> = {};
    for await (const record of reader.readMetadata()) metadata[record.name] = Object.fromEntries(record.metadata);
    const counts = reader.statistics?.channelMessageCounts;
    const channels: RecordedChannel[] = [...reader.channelsById.values()].map((c) => {
      const schema = reader.schemasById.get(c.schemaId);
      return {
        id: c.id,
        topic: c.topic,
        messageEncoding: c.messageEncoding,
        schemaName: schema?.name ?? '',
        schemaEncoding: schema?.encoding ?? '',
        metadata: Object.fromEntries(c.metadata),
        messageCount: Number(counts?.get(c.id) ?? 0n),
      };
    });
    const attachments: RecordedAttachment[] = reader.attachmentIndexes.map((a) => ({
      name: a.name,
      mediaType: a.mediaType,
      logTimeNs: a.logTime,
      sizeBytes: Number(a.dataSize),
    }));
    const stats = reader.statistics;
    const topicOf = (channelId: number): string => reader.channelsById.get(channelId)?.topic ?? '';
    return {
      path,
      library: reader.header.library,
      metadata,
      channels,
      attachments,
      messageCount: Number(stats?.messageCount ?? 0n),
      chunkCount: stats?.chunkCount ?? reader.chunkIndexes.length,
      startTimeNs: stats?.messageStartTime ?? 0n,
      endTimeNs: stats?.messageEndTime ?? 0n,
      async *messages(options = {}) {
        const args = {
          ...(options.topics ? { topics: options.topics } : {}),
          ...(options.startTimeNs !== undefined ? { startTime: options.startTimeNs } : {}),
          ...(options.endTimeNs !== undefined ? { endTime: options.endTimeNs } : {}),
        };
        for await (const m of reader.readMessages(args)) {
          yield {
            topic: topicOf(m.channelId),
            channelId: m.channelId,
            sequence: m.sequence,
            logTimeNs: m.logTime,
            publishTimeNs: m.publishTime,
            data: m.data,
          };
        }
      },
      async readAttachment(name: string) {
        for await (const a of reader.readAttachments({ name })) return a.data;
        return undefined;
      },
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** {@link readRecording} without the messages: opens, reads the summary and metadata, closes. */
export async function readRecordingInfo(path: string): Promise<RecordingInfo> {
  const recording = await readRecording(path);
  await recording.close();
  const { messages: _m, readAttachment: _a, close: _c, ...info } = recording;
  return info;
}

const utf8 = new TextDecoder();

function parseHand(value: unknown, where: string, side: string): Float64Array | null {
  if (value === null) return null;
  if (!Array.isArray(value) || value.length !== XR_HAND_LENGTH || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    const shape = Array.isArray(value) ? `an array of ${value.length}` : typeof value;
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: "${side}" must be null or ${XR_HAND_LENGTH} finite numbers, got ${shape}`);
  }
  return Float64Array.from(value as number[]);
}

/** A hand frame read from a recording: `tMs` the headset's time, `seq` its number (−1 if not recorded). */
export type RecordedHandFrame = HandFrame & { readonly seq: number };

/**
 * Decodes one `/dexbridge/hand_frames` message: a row block (`dexbridge.rowblock.v1`, the
 * current layout) or one JSON frame (recordings made before row blocks).
 * @param messageEncoding the channel's message encoding.
 * @param where names the message in error messages.
 * @throws RecordingError `RECORDING_BAD_MESSAGE`.
 */
export function decodeHandFrameMessage(data: Uint8Array, messageEncoding: string, where: string): RecordedHandFrame[] {
  if (messageEncoding !== ROW_BLOCK_ENCODING) return [decodeJsonHandFrame(data, where)];
  return handRows(data, where).map(({ tMs, seq, left, right }) => ({ tMs, seq, left, right }));
}

/** A hand-frame row block's rows (each with its own log time); `RECORDING_BAD_MESSAGE` naming `where` when it does not decode. */
function handRows(data: Uint8Array, where: string): ReturnType<typeof decodeHandBlock> {
  try {
    return decodeHandBlock(data);
  } catch (error) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Decodes one `/dexbridge/action` message into its rows (`logTimeMs` on the server clock): a row
 * block, or one JSON action (`{t_ms, action}`, recordings made before row blocks, logged at `logTimeMs`).
 * @throws RecordingError `RECORDING_BAD_MESSAGE`.
 */
export function decodeActionMessage(data: Uint8Array, messageEncoding: string, logTimeMs: number, where: string): { logTimeMs: number; action: Float64Array }[] {
  if (messageEncoding === ROW_BLOCK_ENCODING) {
    try {
      return decodeActionBlock(data);
    } catch (error) {
      throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: ${errorMessage(error)}`, { cause: error });
    }
  }
  const value = parseJsonMessage(data, where);
  const action = (value as { action?: unknown } | null)?.action;
  if (!Array.isArray(action) || action.length !== ACTION_DIM || !action.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: "action" must be ${ACTION_DIM} finite numbers`);
  }
  return [{ logTimeMs, action: Float64Array.from(action as number[]) }];
}

/** A JSON message's value; `RECORDING_BAD_MESSAGE` naming `where` when it is not JSON. */
function parseJsonMessage(data: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(utf8.decode(data));
  } catch (error) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: not valid JSON (${errorMessage(error)})`, { cause: error });
  }
}

function decodeJsonHandFrame(data: Uint8Array, where: string): RecordedHandFrame {
  const value = parseJsonMessage(data, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: expected a JSON object`);
  }
  const { t_ms: tMs, seq, left, right } = value as Record<string, unknown>;
  if (typeof tMs !== 'number' || !Number.isFinite(tMs)) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: "t_ms" must be a finite number, got ${JSON.stringify(tMs)}`);
  }
  return {
    tMs,
    seq: typeof seq === 'number' ? seq : -1,
    left: parseHand(left, where, 'left'),
    right: parseHand(right, where, 'right'),
  };
}

/**
 * The operator's hand frames of a recording, in log-time order, for offline retargeting. `tMs` is
 * the frame time the headset stamped (`t_ms`).
 * @throws RecordingError from {@link readRecording}; `RECORDING_MISSING_CHANNEL` if the file has no
 *   `/dexbridge/hand_frames`; `RECORDING_BAD_MESSAGE` for a message that does not decode.
 */
export async function handFramesFromRecording(path: string): Promise<HandFrame[]> {
  return (await retargetInputFromRecording(path)).frames;
}

/**
 * A calibration recorded on `/dexbridge/calibration`: the operator's `calibrate` (or the result of
 * `calibrate_hands`) as the server applied it, at an engage, placed among the recording's frames.
 */
export interface RecordedCalibration {
  /** Index of the first hand frame logged at or after it (the number of frames when none is). */
  readonly beforeFrame: number;
  /** When the server applied it, ms since the epoch (its log time). */
  readonly logTimeMs: number;
  readonly calibration: CalibrationRequest;
}

/**
 * What offline retargeting needs from a recording: its hand frames (as {@link handFramesFromRecording})
 * and the calibrations in force while it was recorded, each placed before the first frame logged
 * at or after it, so a replay applies it where the operator's session did.
 * A calibration that sets no scale (hand, digits, translation) is left out.
 * @throws RecordingError as {@link handFramesFromRecording}; `RECORDING_BAD_MESSAGE` also for a
 *   calibration message that is not `{t_ms, calibration}`, or whose scales are out of range.
 */
export async function retargetInputFromRecording(path: string): Promise<{ frames: HandFrame[]; calibrations: RecordedCalibration[] }> {
  const recording = await readRecording(path);
  try {
    const handChannel = recording.channels.find((c) => c.topic === TOPICS.handFrames);
    if (handChannel === undefined) {
      throw new RecordingError('RECORDING_MISSING_CHANNEL', `recording: ${path} has no ${TOPICS.handFrames} channel`);
    }
    const encoding = handChannel.messageEncoding;
    const frames: HandFrame[] = [];
    const frameLogMs: number[] = [];
    const found: { logTimeMs: number; calibration: CalibrationRequest }[] = [];
    for await (const m of recording.messages({ topics: [TOPICS.handFrames, TOPICS.calibration] })) {
      const where = `${path}: ${m.topic} message at log time ${m.logTimeNs} ns`;
      const logTimeMs = Number(m.logTimeNs / 1_000_000n) + Number(m.logTimeNs % 1_000_000n) / 1e6;
      if (m.topic === TOPICS.calibration) {
        const calibration = decodeCalibrationMessage(m.data, where);
        if (calibration !== null) found.push({ logTimeMs, calibration });
        continue;
      }
      if (encoding === ROW_BLOCK_ENCODING) {
        // A row block is logged when it is flushed; each row keeps its own log time.
        for (const r of handRows(m.data, where)) {
          frames.push({ tMs: r.tMs, left: r.left, right: r.right });
          frameLogMs.push(r.logTimeMs);
        }
      } else {
        const { tMs, left, right } = decodeJsonHandFrame(m.data, where);
        frames.push({ tMs, left, right });
        frameLogMs.push(logTimeMs);
      }
    }
    const calibrations = found.map(({ logTimeMs, calibration }) => {
      let beforeFrame = 0;
      while (beforeFrame < frameLogMs.length && frameLogMs[beforeFrame]! < logTimeMs) beforeFrame++;
      return { beforeFrame, logTimeMs, calibration };
    });
    return { frames, calibrations };
  } finally {
    await recording.close();
  }
}

/** A recorded calibration's scales; null when it sets none of them (nothing for a retarget to apply). */
function decodeCalibrationMessage(data: Uint8Array, where: string): CalibrationRequest | null {
  const value = parseJsonMessage(data, where);
  const calibration = (value as { calibration?: unknown } | null)?.calibration;
  if (typeof calibration !== 'object' || calibration === null || Array.isArray(calibration)) {
    throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: expected {"t_ms", "calibration": {…}}`);
  }
  const c = calibration as CalibrationRequest;
  if (c.handScale === undefined && c.translationScale === undefined && c.digitScales === undefined) return null;
  const bad = validateCalibration(c);
  if (bad !== null) throw new RecordingError('RECORDING_BAD_MESSAGE', `recording: ${where}: ${bad.replace(/^control: /, '')}`);
  return c;
}
