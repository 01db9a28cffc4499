/**
 * Export of dexbridge recordings (MCAP) as a LeRobotDataset v3.0 folder: one episode per
 * recording, resampled to a fixed rate. Layout and mapping: `docs/dataset.md`.
 */
import { mkdir, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACTION_DIM, ACTION_ENTRIES, ACTION_NAMES, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { decodeActionMessage, readRecordingInfo, readSidecar, readRecording } from '../recording/index.js';
import { cameraTopic, SESSION_METADATA_NAME, TOPICS } from '../recording/schemas.js';
import { accessUnitSps, firstSliceType, NAL_TYPE } from '../protocol/h264.js';
import { imageSize } from '../cameras/imageSize.js';
import { ExportError } from './errors.js';
import { resample, type TimedSeries } from './resample.js';
import {
  type ChosenEncoder,
  chooseEncoder,
  decodeArgs,
  decodeH264Args,
  EpisodeHistogram,
  encodeArgs,
  encodeRgbArgs,
  FfmpegPipe,
  type ImageFormat,
  imageStats,
  QUANTILES,
  quantileKey,
  statsSampleIndices,
  VIDEO_CODECS,
  VIDEO_PIX_FMT,
  type VideoCodec,
  videoSize,
} from './video.js';

export { ExportError, type ExportErrorCode } from './errors.js';
export { VIDEO_CODECS, type VideoCodec } from './video.js';

export interface LeRobotExportOptions {
  readonly recordings: readonly string[];
  readonly outDir: string;
  /** Frames per second, an integer in 1..1000. */
  readonly fps: number;
  /** Export every recording, not only those whose `success` is `'true'`. */
  readonly all?: boolean;
  /**
   * Called as the export advances: `fraction` in 0..1 (non-decreasing; 1 once every file is
   * written) and what it is doing. Reading the recordings is 0..0.8 (by messages read), encoding
   * the Parquet files 0.8..0.9, writing them 0.9..1.
   */
  readonly onProgress?: (fraction: number, phase: ExportPhase) => void;
  /** Stops the export at its next progress step (throwing the signal's reason); files written so far stay. */
  readonly signal?: AbortSignal;
  /** Codec of the camera videos: `av1` (default, as LeRobot) or `h264`. */
  readonly videoCodec?: VideoCodec;
  /** The ffmpeg binary that encodes the camera videos (default `ffmpeg`, found on the PATH). */
  readonly ffmpegPath?: string;
  /** Called once per camera per episode when its frames are in the video encoder. */
  readonly onVideo?: (progress: VideoProgress) => void;
}

/** One camera's episode handed to the encoder, for {@link LeRobotExportOptions.onVideo}. */
export interface VideoProgress {
  /** The feature, `observation.images.<camera>`. */
  readonly key: string;
  /** 0-based episode index, and how many episodes there are. */
  readonly episode: number;
  readonly episodes: number;
  /** Frames of the episode (= its rows), and how many distinct recorded images they show. */
  readonly frames: number;
  readonly images: number;
}

/**
 * What {@link exportLeRobot} is doing, for {@link LeRobotExportOptions.onProgress}. `video`
 * (encoding the camera videos) only when the recordings have cameras.
 */
export type ExportPhase = 'reading' | 'video' | 'encoding' | 'writing';

/** Progress is reported at most once per this many messages read. */
const PROGRESS_MESSAGES = 2048;

export interface LeRobotExportResult {
  readonly episodes: number;
  readonly frames: number;
  readonly tasks: readonly string[];
  /** Recordings left out (not marked successful), with their `success` value. */
  readonly skipped: readonly { readonly path: string; readonly success: string }[];
  /** Files written, relative to `outDir`, with their sizes. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
  /** One per camera: its video feature, file, codec, the ffmpeg encoder used, frames, and encode wall time. */
  readonly videos: readonly ExportedVideo[];
}

export interface ExportedVideo {
  readonly key: string;
  readonly path: string;
  readonly codec: VideoCodec;
  readonly encoder: string;
  /** The video's size: the images' size, less an odd last column or row (yuv420p needs even sizes). */
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly bytes: number;
  /** From starting the encoder to its exit (all cameras encode at the same time). */
  readonly ms: number;
}

export const LEROBOT_ROBOT_TYPE = 'dexbridge_bimanual_fr3_bytedexter';
export const LEROBOT_CHUNKS_SIZE = 1000;
/** Task text of a recording whose metadata has no task. */
export const DEFAULT_TASK = 'dexbridge teleoperation';
const DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';
const VIDEO_PATH = 'videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4';
const CAMERA_PREFIX = cameraTopic('');
/** The LeRobot feature of a camera. */
export const cameraFeature = (cameraId: string): string => `observation.images.${cameraId}`;
/** Where a camera's video goes (all episodes in chunk 0, file 0). */
const videoFile = (key: string): string => `videos/${key}/chunk-000/file-000.mp4`;

/** Start offsets of the action's rotation vectors, from the kinds of `ACTION_ENTRIES`. */
const ROTATION_OFFSETS: readonly number[] = ACTION_ENTRIES.filter((e, i) => e.kind === 'rotvec' && ACTION_ENTRIES[i - 1]?.kind !== 'rotvec').map(
  (e) => e.index,
);

/** What a camera channel holds: JPEG/PNG images (`foxglove.CompressedImage`) or H.264 access units (`foxglove.CompressedVideo`). */
type CameraFormat = ImageFormat | 'h264';

/** The images of one camera in one recording, as the first reading pass found them. */
interface CameraTrack {
  readonly id: string;
  readonly format: CameraFormat;
  readonly width: number;
  readonly height: number;
  /** Log time (ms) of every image, in order (H.264: of every access unit from the first key frame on). */
  readonly timesMs: Float64Array;
  /** H.264 access units before the first key frame: they cannot be decoded, and are left out. 0 for images. */
  readonly leading: number;
}

/** A camera of one episode: how many of the episode's frames show each image, and how many sampled frames for the statistics. */
interface EpisodeCamera extends CameraTrack {
  readonly repeats: Uint32Array;
  readonly samples: Uint32Array;
}

interface Episode {
  readonly path: string;
  readonly task: string;
  readonly length: number;
  /** length × 88 */
  readonly action: Float32Array;
  /** length × 56 */
  readonly state: Float32Array;
  /** By camera id. */
  readonly cameras: ReadonlyMap<string, EpisodeCamera>;
}

/** Decodes the names and positions of a ROS 1 `sensor_msgs/JointState`. */
export function decodeJointState(data: Uint8Array): { names: string[]; position: Float64Array } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder();
  let at = 12; // seq, stamp.sec, stamp.nsec
  const string = (): string => {
    const n = view.getUint32(at, true);
    const s = utf8.decode(data.subarray(at + 4, at + 4 + n));
    at += 4 + n;
    return s;
  };
  string(); // frame_id
  const count = view.getUint32(at, true);
  at += 4;
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push(string());
  const n = view.getUint32(at, true);
  at += 4;
  const position = new Float64Array(n);
  for (let i = 0; i < n; i++, at += 8) position[i] = view.getFloat64(at, true);
  return { names, position };
}

const nsToMs = (ns: bigint): number => Number(ns / 1000n) / 1000;

/** `{data, format}` of a `foxglove.CompressedImage` (jpeg, png) or `foxglove.CompressedVideo` (h264) message, checked; `where` names it in errors. */
function parseImageMessage(data: Uint8Array, where: string): { data: string; format: CameraFormat } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: not valid JSON`);
  }
  const { data: base64, format } = (value ?? {}) as { data?: unknown; format?: unknown };
  if (typeof base64 !== 'string' || (format !== 'jpeg' && format !== 'png' && format !== 'h264')) {
    throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: expected a CompressedImage (format "jpeg" or "png") or CompressedVideo (format "h264") with base64 "data", got format ${JSON.stringify(format)}`);
  }
  return { data: base64, format };
}

/** Width and height of a base64 image: the header is near the start, so decode only that first. */
function base64ImageSize(format: ImageFormat, base64: string): { width: number; height: number } | null {
  const head = imageSize(format, Buffer.from(base64.slice(0, 4096), 'base64'));
  return head ?? (base64.length > 4096 ? imageSize(format, Buffer.from(base64, 'base64')) : null);
}

/**
 * The first slice type of a base64 H.264 access unit and, for a key frame with an SPS, the picture
 * size. Parameter sets and the slice header are at the start: only that part is decoded first.
 * `slice` 0: no slice, or a malformed SPS.
 */
function base64H264Info(b64: string): { slice: number; size: { width: number; height: number } | null } {
  const look = (bytes: Uint8Array): { slice: number; size: { width: number; height: number } | null } | null => {
    const slice = firstSliceType(bytes);
    if (slice === 0) return null;
    if (slice !== NAL_TYPE.IDR) return { slice, size: null };
    try {
      const sps = accessUnitSps(bytes);
      return { slice, size: sps === null ? null : { width: sps.width, height: sps.height } };
    } catch {
      return null; // cut off inside the SPS (the head only), or malformed (the whole unit)
    }
  };
  return (b64.length > 8192 ? look(Buffer.from(b64.slice(0, 8192), 'base64')) : null) ?? look(Buffer.from(b64, 'base64')) ?? { slice: 0, size: null };
}

/** `onRead(read, total)` is called every {@link PROGRESS_MESSAGES} messages read. */
async function readEpisodeSeries(
  path: string,
  onRead?: (read: number, total: number) => void,
): Promise<{ task: string; success: string; state: TimedSeries; action: TimedSeries; cameras: CameraTrack[] }> {
  const recording = await readRecording(path);
  try {
    const meta = recording.metadata[SESSION_METADATA_NAME] ?? {};
    let total = 0;
    for (const topic of [TOPICS.jointStates, TOPICS.action]) {
      const channel = recording.channels.find((c) => c.topic === topic);
      if (channel === undefined || channel.messageCount === 0) {
        throw new ExportError('EXPORT_MISSING_CHANNEL', `export: ${path} has no ${topic} messages`);
      }
      total += channel.messageCount;
    }
    // A camera channel without images (a camera that never delivered) is no camera of this episode.
    const cameraChannels = recording.channels.filter((c) => c.topic.startsWith(CAMERA_PREFIX) && c.messageCount > 0);
    for (const c of cameraChannels) total += c.messageCount;
    const cameraTopics = cameraChannels.map((c) => c.topic);
    const images = new Map<string, { format: CameraFormat; width: number; height: number; times: number[]; leading: number }>();
    let read = 0;
    const stateDim = STATE_JOINT_NAMES.length;
    const stateTimes: number[] = [];
    const stateValues: number[] = [];
    const actionTimes: number[] = [];
    const actionValues: number[] = [];
    let columns: number[] | undefined;
    const actionEncoding = recording.channels.find((c) => c.topic === TOPICS.action)!.messageEncoding;
    for await (const m of recording.messages({ topics: [TOPICS.jointStates, TOPICS.action, ...cameraTopics] })) {
      if (++read % PROGRESS_MESSAGES === 0) onRead?.(read, total);
      const where = `${path}: ${m.topic} at log time ${m.logTimeNs} ns`;
      if (m.topic === TOPICS.jointStates) {
        const { names, position } = decodeJointState(m.data);
        columns ??= STATE_JOINT_NAMES.map((name) => names.indexOf(name));
        const missing = columns.indexOf(-1);
        if (missing >= 0 || position.length !== names.length) {
          throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: joint ${STATE_JOINT_NAMES[Math.max(missing, 0)]} missing or positions do not match names`);
        }
        stateTimes.push(nsToMs(m.logTimeNs));
        for (let i = 0; i < stateDim; i++) stateValues.push(position[columns[i]!]!);
      } else if (m.topic === TOPICS.action) {
        let rows: { logTimeMs: number; action: Float64Array }[];
        try {
          rows = decodeActionMessage(m.data, actionEncoding, nsToMs(m.logTimeNs), where);
        } catch (error) {
          throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${(error as Error).message}`);
        }
        for (const { logTimeMs, action } of rows) {
          actionTimes.push(logTimeMs);
          for (const v of action) actionValues.push(v);
        }
      } else {
        // Checked here, in the reading pass, so that a bad image fails the export before any file is written.
        const id = m.topic.slice(CAMERA_PREFIX.length);
        const image = parseImageMessage(m.data, where);
        if (image.format === 'h264') {
          const track = images.get(id) ?? { format: 'h264', width: 0, height: 0, times: [], leading: 0 };
          images.set(id, track);
          if (track.format !== 'h264') {
            throw new ExportError('EXPORT_CAMERA_MISMATCH', `export: ${where}: camera ${id} changes from ${track.format} images to h264 video within the recording`);
          }
          const { slice, size } = base64H264Info(image.data);
          if (slice === 0) throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: "data" is not an H.264 access unit with a slice (or its SPS is malformed)`);
          if (track.times.length === 0 && slice !== NAL_TYPE.IDR) {
            // Before the first key frame nothing decodes (a file from another recorder may start so).
            track.leading++;
            continue;
          }
          if (slice === NAL_TYPE.IDR && size !== null) {
            if (track.times.length === 0) {
              track.width = size.width;
              track.height = size.height;
            } else if (size.width !== track.width || size.height !== track.height) {
              throw new ExportError('EXPORT_CAMERA_MISMATCH', `export: ${where}: camera ${id} changes from ${track.width}×${track.height} to ${size.width}×${size.height} h264 within the recording`);
            }
          }
          if (track.width === 0 || track.height === 0) throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: the first H.264 key frame of camera ${id} has no SPS (no picture size)`);
          track.times.push(nsToMs(m.logTimeNs));
          continue;
        }
        const size = base64ImageSize(image.format, image.data);
        if (size === null || size.width === 0 || size.height === 0) {
          throw new ExportError('EXPORT_BAD_MESSAGE', `export: ${where}: "data" is not a ${image.format} image with a readable size`);
        }
        const track = images.get(id);
        if (track === undefined) {
          images.set(id, { format: image.format, width: size.width, height: size.height, times: [nsToMs(m.logTimeNs)], leading: 0 });
          continue;
        }
        // One video per camera: its frames must all be alike (LeRobot's video features have one shape).
        if (track.format !== image.format || track.width !== size.width || track.height !== size.height) {
          throw new ExportError(
            'EXPORT_CAMERA_MISMATCH',
            `export: ${where}: camera ${id} changes from ${track.width}×${track.height} ${track.format} to ${size.width}×${size.height} ${image.format} within the recording`,
          );
        }
        track.times.push(nsToMs(m.logTimeNs));
      }
    }
    // Edits made after recording (the dashboard's task/success) win over the file's metadata.
    const edits = await readSidecar(path);
    const task = edits.task ?? meta.task;
    const success = edits.success !== undefined ? (edits.success === null ? 'unknown' : String(edits.success)) : (meta.success ?? 'unknown');
    return {
      task: task !== undefined && task !== '' ? task : DEFAULT_TASK,
      success,
      state: { dim: stateDim, timesMs: Float64Array.from(stateTimes), values: Float64Array.from(stateValues) },
      action: { dim: ACTION_DIM, timesMs: Float64Array.from(actionTimes), values: Float64Array.from(actionValues) },
      cameras: [...images.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        // A video channel that never reached a key frame shows nothing: no camera of this episode.
        .filter(([, t]) => t.times.length > 0)
        .map(([id, t]) => ({ id, format: t.format, width: t.width, height: t.height, timesMs: Float64Array.from(t.times), leading: t.leading })),
    };
  } finally {
    await recording.close();
  }
}

/**
 * For each image (at `imageTimes`), how many of `frameTimes` show it: a frame shows the latest
 * image at or before its time, and the first image before that one, the rule `resample` applies
 * to the joint states.
 */
function framesPerImage(imageTimes: Float64Array, frameTimes: ArrayLike<number>): Uint32Array {
  const counts = new Uint32Array(imageTimes.length);
  let j = 0;
  for (let i = 0; i < frameTimes.length; i++) {
    const t = frameTimes[i]!;
    while (j + 1 < imageTimes.length && imageTimes[j + 1]! <= t) j++;
    counts[j]!++;
  }
  return counts;
}

/**
 * Every exported episode must have the same cameras, each with the same image size and format:
 * a LeRobot feature has one shape for the whole dataset, and an episode without a camera has no
 * frames to give it.
 * @throws ExportError `EXPORT_CAMERA_MISMATCH`
 */
function checkCameras(episodes: readonly Episode[]): void {
  const first = episodes[0]!;
  const describe = (e: Episode): string => (e.cameras.size === 0 ? 'no cameras' : [...e.cameras.values()].map((c) => `${c.id} ${c.width}×${c.height} ${c.format}`).join(', '));
  for (const e of episodes.slice(1)) {
    const same =
      e.cameras.size === first.cameras.size &&
      [...first.cameras.values()].every((c) => {
        const o = e.cameras.get(c.id);
        return o !== undefined && o.width === c.width && o.height === c.height && o.format === c.format;
      });
    if (!same) {
      throw new ExportError(
        'EXPORT_CAMERA_MISMATCH',
        `export: every exported recording must have the same cameras with the same image size: ${first.path} has ${describe(first)}, ${e.path} has ${describe(e)}; export them into separate datasets`,
      );
    }
  }
}

/**
 * The frame times of an episode: every 1/fps from the later of the two streams' first samples to
 * the earlier of their last samples (at least one frame).
 */
function frameTimes(state: TimedSeries, action: TimedSeries, fps: number): Float64Array {
  const start = Math.max(state.timesMs[0]!, action.timesMs[0]!);
  const end = Math.min(state.timesMs[state.timesMs.length - 1]!, action.timesMs[action.timesMs.length - 1]!);
  const count = end >= start ? Math.floor(((end - start) * fps) / 1000 + 1e-9) + 1 : 1;
  return Float64Array.from({ length: count }, (_, i) => start + (i * 1000) / fps);
}

/** Per-dimension statistics in LeRobot's `stats.json` form. */
export interface FeatureStats {
  readonly mean: number[];
  readonly std: number[];
  readonly min: number[];
  readonly max: number[];
  readonly count: number[];
}

/**
 * LeRobot's quantiles (`q01` … `q99`) of each of `dim` columns of row-major `values`, as LeRobot
 * v3 aggregates them: per episode (`episodes`: first row and row count of each), then the mean of
 * the episodes' quantiles weighted by their rows. Within an episode the quantile is interpolated
 * linearly between the sorted values (LeRobot approximates the same with a 5000-bin histogram);
 * an episode of one row gives its value. Policies that normalise by quantiles (pi0.5) need these.
 */
export function columnQuantiles(values: ArrayLike<number>, dim: number, episodes: readonly { readonly from: number; readonly length: number }[]): Record<string, number[]> {
  const total = episodes.reduce((n, e) => n + e.length, 0);
  const out = QUANTILES.map(() => new Array<number>(dim).fill(0));
  for (const { from, length } of episodes) {
    if (length === 0) continue;
    const column = new Float64Array(length);
    for (let k = 0; k < dim; k++) {
      for (let r = 0; r < length; r++) column[r] = values[(from + r) * dim + k]!;
      column.sort();
      QUANTILES.forEach((q, i) => {
        const at = q * (length - 1);
        const lo = Math.floor(at);
        const hi = Math.min(length - 1, lo + 1);
        const value = column[lo]! + (column[hi]! - column[lo]!) * (at - lo);
        out[i]![k]! += (value * length) / total;
      });
    }
  }
  return Object.fromEntries(QUANTILES.map((q, i) => [quantileKey(q), out[i]!]));
}

/** Population statistics of each of `dim` columns of row-major `values`. */
export function columnStats(values: ArrayLike<number>, dim: number): FeatureStats {
  const rows = values.length / dim;
  const mean = new Array<number>(dim).fill(0);
  const min = new Array<number>(dim).fill(Number.POSITIVE_INFINITY);
  const max = new Array<number>(dim).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < dim; k++) {
      const v = values[r * dim + k]!;
      mean[k]! += v;
      if (v < min[k]!) min[k] = v;
      if (v > max[k]!) max[k] = v;
    }
  }
  for (let k = 0; k < dim; k++) mean[k] = mean[k]! / rows;
  const sq = new Array<number>(dim).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < dim; k++) sq[k]! += (values[r * dim + k]! - mean[k]!) ** 2;
  }
  return { mean, std: sq.map((s) => Math.sqrt(s / rows)), min, max, count: [rows] };
}

const listOf = (name: string, type: 'FLOAT' | 'BYTE_ARRAY') => [
  { name, repetition_type: 'REQUIRED' as const, converted_type: 'LIST' as const, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
  type === 'FLOAT'
    ? { name: 'element', type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const }
    : { name: 'element', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const },
];
const int64 = (name: string) => ({ name, type: 'INT64' as const, repetition_type: 'REQUIRED' as const });
const float32 = (name: string) => ({ name, type: 'FLOAT' as const, repetition_type: 'REQUIRED' as const });
const float64 = (name: string) => ({ name, type: 'DOUBLE' as const, repetition_type: 'REQUIRED' as const });
const utf8Column = (name: string) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'REQUIRED' as const });

const rowsOf = (values: Float32Array, dim: number): number[][] =>
  Array.from({ length: values.length / dim }, (_, r) => Array.from(values.subarray(r * dim, (r + 1) * dim)));

const bigints = (values: ArrayLike<number>): BigInt64Array => BigInt64Array.from(Array.from(values, (v) => BigInt(v)));

/** Pandas metadata so that `pd.read_parquet(meta/tasks.parquet)` is indexed by `task`, as LeRobot expects. */
const TASKS_PANDAS_METADATA = JSON.stringify({
  index_columns: ['task'],
  column_indexes: [{ name: null, field_name: null, pandas_type: 'unicode', numpy_type: 'object', metadata: { encoding: 'UTF-8' } }],
  columns: [
    { name: 'task_index', field_name: 'task_index', pandas_type: 'int64', numpy_type: 'int64', metadata: null },
    { name: 'task', field_name: 'task', pandas_type: 'unicode', numpy_type: 'object', metadata: null },
  ],
  creator: { library: 'pyarrow', version: '17.0.0' },
  pandas_version: '2.2.2',
});

/** @returns whether `outDir` exists (empty). */
async function checkOutDir(outDir: string): Promise<boolean> {
  let entries: string[];
  try {
    const s = await stat(outDir);
    if (!s.isDirectory()) throw new ExportError('EXPORT_OUT_NOT_EMPTY', `export: ${outDir} exists and is not a folder`);
    entries = await readdir(outDir);
  } catch (error) {
    if (error instanceof ExportError) throw error;
    if ((error as { code?: unknown }).code === 'ENOENT') return false;
    throw error;
  }
  if (entries.length > 0) throw new ExportError('EXPORT_OUT_NOT_EMPTY', `export: ${outDir} is not empty (${entries.length} entries); give an empty or new folder`);
  return true;
}

/** One camera's encoder, statistics decoder and per-episode histograms during {@link writeVideos}. */
interface CameraJob {
  readonly id: string;
  readonly key: string;
  readonly encoder: FfmpegPipe;
  /** Images: decodes the sampled images for the statistics. H.264: decodes every access unit, for the encoder and the statistics. */
  readonly decoder: FfmpegPipe;
  /**
   * Episode and multiplicity (`weight`: in the statistics; `repeats`: in the video, H.264 only) of
   * every image handed to the decoder and not yet decoded, in order.
   */
  readonly pending: { episode: number; weight: number; repeats: number }[];
  readonly histograms: EpisodeHistogram[];
  readonly started: number;
  /** H.264: the decoded frames' writes into the encoder, in order, and the first failure among them. */
  readonly video?: { writing: Promise<void>; failure: unknown };
}

/**
 * Encodes every camera's frames of every episode, in order, into one MP4 per camera under
 * `outDir`, and computes each camera's image statistics from the frames LeRobot's sampling picks.
 * All cameras encode at once, each in its own ffmpeg child; the recordings are read once more,
 * one at a time, and an image goes to the encoder as many times as frames show it.
 * @param progress called with the fraction (0..1) of frames handed to the encoders.
 * @throws ExportError `EXPORT_VIDEO_FAILED`, `EXPORT_FFMPEG_MISSING`; on any failure the
 *   children are killed and the `videos` folder removed.
 */
async function writeVideos(
  episodes: readonly Episode[],
  outDir: string,
  fps: number,
  chosen: ChosenEncoder,
  ffmpegPath: string,
  progress: (fraction: number) => void,
  onVideo: ((p: VideoProgress) => void) | undefined,
): Promise<{ videos: ExportedVideo[]; stats: Record<string, ReturnType<typeof imageStats>> }> {
  const cameras = [...episodes[0]!.cameras.values()];
  const jobs: CameraJob[] = [];
  const videosDir = join(outDir, 'videos');
  try {
    for (const camera of cameras) {
      const key = cameraFeature(camera.id);
      const file = join(outDir, videoFile(key));
      await mkdir(join(file, '..'), { recursive: true });
      const { width, height } = camera;
      const frameBytes = width * height * 3;
      const histograms = episodes.map(() => new EpisodeHistogram());
      const pending: CameraJob['pending'] = [];
      const format = camera.format;
      const video = format === 'h264' ? { writing: Promise.resolve(), failure: undefined as unknown } : undefined;
      let queued = 0;
      let paused = false;
      let decoder: FfmpegPipe | undefined;
      const encoder = new FfmpegPipe(
        ffmpegPath,
        format === 'h264' ? encodeRgbArgs(chosen, fps, width, height, file) : encodeArgs(chosen, format, fps, width, height, file),
        `encoding camera ${camera.id}`,
      );
      // The decoder's output arrives in pieces: gather whole RGB frames, then count their pixels
      // (and, for H.264, hand each to the encoder as many times as dataset frames show it).
      let frame = Buffer.alloc(frameBytes);
      let filled = 0;
      const onRgb = (chunk: Buffer): void => {
        for (let at = 0; at < chunk.length; ) {
          const n = Math.min(frameBytes - filled, chunk.length - at);
          chunk.copy(frame, filled, at, at + n);
          filled += n;
          at += n;
          if (filled < frameBytes) continue;
          const item = pending.shift();
          if (item !== undefined && item.weight > 0) histograms[item.episode]!.add(frame, width, height, item.weight);
          if (video !== undefined && item !== undefined && item.repeats > 0) {
            const rgb = frame;
            const repeats = item.repeats;
            // The encoder is slower than the decoder: stop reading decoded frames while 8 wait, so memory stays bounded.
            if (++queued >= 8 && !paused) {
              paused = true;
              decoder?.pauseOutput();
            }
            video.writing = video.writing
              .then(async () => {
                for (let r = 0; r < repeats; r++) await encoder.write(rgb);
              })
              .catch((error: unknown) => {
                video.failure ??= error;
              })
              .finally(() => {
                if (--queued < 4 && paused) {
                  paused = false;
                  decoder?.resumeOutput();
                }
              });
          }
          frame = Buffer.alloc(frameBytes);
          filled = 0;
        }
      };
      decoder =
        format === 'h264'
          ? new FfmpegPipe(ffmpegPath, decodeH264Args(), `decoding camera ${camera.id}`, onRgb)
          : new FfmpegPipe(ffmpegPath, decodeArgs(format), `decoding camera ${camera.id} for its statistics`, onRgb);
      jobs.push({ id: camera.id, key, encoder, decoder, pending, histograms, started: performance.now(), ...(video ? { video } : {}) });
    }
    const totalFrames = episodes.reduce((n, e) => n + e.length, 0) * cameras.length;
    let framesDone = 0;
    const byTopic = new Map(jobs.map((j) => [cameraTopic(j.id), j]));
    for (const [ei, e] of episodes.entries()) {
      const next = new Map(jobs.map((j) => [j.id, 0]));
      const recording = await readRecording(e.path);
      try {
        for await (const m of recording.messages({ topics: [...byTopic.keys()] })) {
          const job = byTopic.get(m.topic)!;
          const camera = e.cameras.get(job.id)!;
          const read = next.get(job.id)!;
          next.set(job.id, read + 1);
          if (read < camera.leading) continue; // H.264 before the first key frame: left out in the first pass too
          const k = read - camera.leading;
          const repeats = camera.repeats[k] ?? 0;
          const samples = camera.samples[k] ?? 0;
          if (job.video !== undefined) {
            // Every access unit is decoded, shown or not: the next ones are predicted from it.
            if (job.video.failure !== undefined) throw job.video.failure;
            job.pending.push({ episode: ei, weight: samples, repeats });
            await job.decoder.write(Buffer.from(parseImageMessage(m.data, `${e.path}: ${m.topic}`).data, 'base64'));
            framesDone += repeats;
            if (repeats > 0) progress(framesDone / totalFrames);
            continue;
          }
          // Images no frame shows (a camera faster than fps) are not even decoded from base64.
          if (repeats === 0 && samples === 0) continue;
          const image = Buffer.from(parseImageMessage(m.data, `${e.path}: ${m.topic}`).data, 'base64');
          for (let r = 0; r < repeats; r++) await job.encoder.write(image);
          if (samples > 0) {
            job.pending.push({ episode: ei, weight: samples, repeats: 0 });
            await job.decoder.write(image);
          }
          framesDone += repeats;
          if (repeats > 0) progress(framesDone / totalFrames);
        }
      } finally {
        await recording.close();
      }
      for (const job of jobs) {
        const camera = e.cameras.get(job.id)!;
        // The first pass counted these images; a file that changed in between would misalign the video.
        if (next.get(job.id) !== camera.leading + camera.timesMs.length) {
          throw new ExportError('EXPORT_VIDEO_FAILED', `export: ${e.path}: camera ${job.id} had ${camera.leading + camera.timesMs.length} images when first read, ${next.get(job.id)} now`);
        }
        onVideo?.({ key: job.key, episode: ei, episodes: episodes.length, frames: e.length, images: camera.repeats.reduce((n, r) => n + (r > 0 ? 1 : 0), 0) });
      }
    }
    const videos: ExportedVideo[] = [];
    const stats: Record<string, ReturnType<typeof imageStats>> = {};
    for (const [c, job] of jobs.entries()) {
      if (job.video !== undefined) {
        // The decoder feeds the encoder: it must finish, and its frames be written, before the encoder's input ends.
        await job.decoder.end();
        await job.video.writing;
        if (job.video.failure !== undefined) throw job.video.failure;
        if (job.pending.length > 0) throw new ExportError('EXPORT_VIDEO_FAILED', `export: camera ${job.id}: ffmpeg decoded ${job.pending.length} fewer frames than the H.264 access units it was given`);
      }
      await job.encoder.end();
      const ms = performance.now() - job.started;
      if (job.video === undefined) await job.decoder.end();
      if (job.pending.length > 0) throw new ExportError('EXPORT_VIDEO_FAILED', `export: camera ${job.id}: ffmpeg decoded ${job.pending.length} fewer images than it was given`);
      const path = videoFile(job.key);
      const camera = cameras[c]!;
      const frames = episodes.reduce((n, e) => n + e.length, 0);
      const size = videoSize(camera.width, camera.height);
      videos.push({ key: job.key, path, codec: chosen.codec, encoder: chosen.encoder, ...size, frames, bytes: (await stat(join(outDir, path))).size, ms });
      stats[job.key] = imageStats(job.histograms);
    }
    return { videos, stats };
  } catch (error) {
    await Promise.all(jobs.flatMap((j) => [j.encoder.kill(), j.decoder.kill()]));
    await rm(videosDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Writes a LeRobotDataset v3.0 from `recordings` into `outDir` (created; must be empty or absent).
 * Every recording is read and checked, and ffmpeg's encoder found when there are cameras, before
 * anything is written. Each camera becomes the video feature `observation.images.<camera>`.
 * @throws ExportError `EXPORT_BAD_FPS`, `EXPORT_BAD_VIDEO_CODEC`, `EXPORT_NO_RECORDINGS` (none
 *   given, or none selected), `EXPORT_MISSING_CHANNEL`, `EXPORT_BAD_MESSAGE`,
 *   `EXPORT_CAMERA_MISMATCH`, `EXPORT_OUT_NOT_EMPTY`, `EXPORT_FFMPEG_MISSING`,
 *   `EXPORT_VIDEO_CODEC_MISSING`, `EXPORT_VIDEO_FAILED` (the videos written so far are removed);
 *   RecordingError for a file that is not a readable recording.
 */
export async function exportLeRobot(options: LeRobotExportOptions): Promise<LeRobotExportResult> {
  const { recordings, outDir, fps } = options;
  let reported = 0;
  const progress = (fraction: number, phase: ExportPhase): void => {
    options.signal?.throwIfAborted();
    reported = Math.max(reported, Math.min(1, fraction));
    options.onProgress?.(reported, phase);
  };
  if (!Number.isInteger(fps) || fps < 1 || fps > 1000) throw new ExportError('EXPORT_BAD_FPS', `export: fps must be an integer in 1..1000, got ${fps}`);
  if (recordings.length === 0) throw new ExportError('EXPORT_NO_RECORDINGS', 'export: no recordings given');
  const videoCodec = options.videoCodec ?? 'av1';
  if (!VIDEO_CODECS.includes(videoCodec)) throw new ExportError('EXPORT_BAD_VIDEO_CODEC', `export: video codec must be one of ${VIDEO_CODECS.join(', ')}, got ${JSON.stringify(videoCodec)}`);
  const outDirExisted = await checkOutDir(outDir);

  // With cameras, reading is 0..0.4 and encoding the videos 0.4..0.8: the summaries say which.
  let withCameras = false;
  for (const path of recordings) {
    const info = await readRecordingInfo(path);
    if (info.channels.some((c) => c.topic.startsWith(CAMERA_PREFIX) && c.messageCount > 0)) withCameras = true;
  }
  const readShare = withCameras ? 0.4 : 0.8;
  const episodes: Episode[] = [];
  const skipped: { path: string; success: string }[] = [];
  for (const [i, path] of recordings.entries()) {
    progress((readShare * i) / recordings.length, 'reading');
    const series = await readEpisodeSeries(path, (read, total) => progress((readShare * (i + Math.min(1, read / total))) / recordings.length, 'reading'));
    if (options.all !== true && series.success !== 'true') {
      skipped.push({ path, success: series.success });
      continue;
    }
    const times = frameTimes(series.state, series.action, fps);
    const sampled = statsSampleIndices(times.length).map((f) => times[f]!);
    episodes.push({
      path,
      task: series.task,
      length: times.length,
      state: Float32Array.from(resample(series.state, times)),
      action: Float32Array.from(resample(series.action, times, ROTATION_OFFSETS)),
      cameras: new Map(series.cameras.map((c) => [c.id, { ...c, repeats: framesPerImage(c.timesMs, times), samples: framesPerImage(c.timesMs, sampled) }])),
    });
  }
  if (episodes.length === 0) {
    throw new ExportError('EXPORT_NO_RECORDINGS', `export: none of the ${recordings.length} recordings is marked successful; pass --all to export them anyway`);
  }
  checkCameras(episodes);

  let videos: ExportedVideo[] = [];
  let videoStats: Record<string, ReturnType<typeof imageStats>> = {};
  if (episodes[0]!.cameras.size > 0) {
    const ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    // Before any file is written: a missing ffmpeg or encoder is a coded error, never a half dataset.
    const chosen = await chooseEncoder(ffmpegPath, videoCodec);
    progress(readShare, 'video');
    try {
      ({ videos, stats: videoStats } = await writeVideos(episodes, outDir, fps, chosen, ffmpegPath, (f) => progress(readShare + (0.8 - readShare) * f, 'video'), options.onVideo));
    } catch (error) {
      // writeVideos removed its videos; the folder this export created goes too (only if empty: never
      // anything else), so a failed run can be repeated as is.
      if (!outDirExisted) await rmdir(outDir).catch(() => undefined);
      throw error;
    }
  }

  progress(0.8, 'encoding');
  const tasks = [...new Set(episodes.map((e) => e.task))];
  const total = episodes.reduce((n, e) => n + e.length, 0);
  const stateDim = STATE_JOINT_NAMES.length;
  const action = new Float32Array(total * ACTION_DIM);
  const state = new Float32Array(total * stateDim);
  const timestamp = new Float32Array(total);
  const frameIndex = new Float64Array(total);
  const episodeIndex = new Float64Array(total);
  const taskIndex = new Float64Array(total);
  const from: number[] = [];
  let at = 0;
  episodes.forEach((e, ei) => {
    from.push(at);
    action.set(e.action, at * ACTION_DIM);
    state.set(e.state, at * stateDim);
    for (let i = 0; i < e.length; i++) {
      timestamp[at + i] = i / fps;
      frameIndex[at + i] = i;
      episodeIndex[at + i] = ei;
      taskIndex[at + i] = tasks.indexOf(e.task);
    }
    at += e.length;
  });
  const index = Float64Array.from({ length: total }, (_, i) => i);

  const dataFile = parquetWriteBuffer({
    columnData: [
      { name: 'action', data: rowsOf(action, ACTION_DIM) },
      { name: 'observation.state', data: rowsOf(state, stateDim) },
      { name: 'timestamp', data: timestamp },
      { name: 'frame_index', data: bigints(frameIndex) },
      { name: 'episode_index', data: bigints(episodeIndex) },
      { name: 'index', data: bigints(index) },
      { name: 'task_index', data: bigints(taskIndex) },
    ],
    schema: [
      { name: 'schema', num_children: 7 },
      ...listOf('action', 'FLOAT'),
      ...listOf('observation.state', 'FLOAT'),
      float32('timestamp'),
      int64('frame_index'),
      int64('episode_index'),
      int64('index'),
      int64('task_index'),
    ],
    rowGroupSize: 100_000,
  });
  progress(0.88, 'encoding');
  const tasksFile = parquetWriteBuffer({
    columnData: [
      { name: 'task_index', data: bigints(tasks.map((_, i) => i)) },
      { name: 'task', data: tasks },
    ],
    schema: [{ name: 'schema', num_children: 2 }, int64('task_index'), utf8Column('task')],
    kvMetadata: [{ key: 'pandas', value: TASKS_PANDAS_METADATA }],
  });
  const zeros = bigints(episodes.map(() => 0));
  // Each camera's video holds the episodes back to back at fps: episode e starts where the frames
  // of the episodes before it end (LeRobot seeks to from_timestamp + the frame's timestamp).
  const episodeFrom = Float64Array.from(from, (f) => f / fps);
  const episodeTo = Float64Array.from(episodes, (e, i) => (from[i]! + e.length) / fps);
  const videoColumns = videos.flatMap((v) => [
    { name: `videos/${v.key}/chunk_index`, data: zeros },
    { name: `videos/${v.key}/file_index`, data: zeros },
    { name: `videos/${v.key}/from_timestamp`, data: episodeFrom },
    { name: `videos/${v.key}/to_timestamp`, data: episodeTo },
  ]);
  const videoSchema = videos.flatMap((v) => [
    int64(`videos/${v.key}/chunk_index`),
    int64(`videos/${v.key}/file_index`),
    float64(`videos/${v.key}/from_timestamp`),
    float64(`videos/${v.key}/to_timestamp`),
  ]);
  const episodesFile = parquetWriteBuffer({
    columnData: [
      { name: 'episode_index', data: bigints(episodes.map((_, i) => i)) },
      { name: 'tasks', data: episodes.map((e) => [e.task]) },
      { name: 'length', data: bigints(episodes.map((e) => e.length)) },
      { name: 'dataset_from_index', data: bigints(from) },
      { name: 'dataset_to_index', data: bigints(episodes.map((e, i) => from[i]! + e.length)) },
      { name: 'data/chunk_index', data: zeros },
      { name: 'data/file_index', data: zeros },
      { name: 'meta/episodes/chunk_index', data: zeros },
      { name: 'meta/episodes/file_index', data: zeros },
      ...videoColumns,
    ],
    schema: [
      { name: 'schema', num_children: 9 + videoSchema.length },
      int64('episode_index'),
      ...listOf('tasks', 'BYTE_ARRAY'),
      int64('length'),
      int64('dataset_from_index'),
      int64('dataset_to_index'),
      int64('data/chunk_index'),
      int64('data/file_index'),
      int64('meta/episodes/chunk_index'),
      int64('meta/episodes/file_index'),
      ...videoSchema,
    ],
  });

  const scalar = (dtype: string) => ({ dtype, shape: [1], names: null });
  const info = {
    codebase_version: 'v3.0',
    robot_type: LEROBOT_ROBOT_TYPE,
    total_episodes: episodes.length,
    total_frames: total,
    total_tasks: tasks.length,
    chunks_size: LEROBOT_CHUNKS_SIZE,
    data_files_size_in_mb: 100,
    video_files_size_in_mb: 500,
    fps,
    splits: { train: `0:${episodes.length}` },
    data_path: DATA_PATH,
    video_path: videos.length > 0 ? VIDEO_PATH : null,
    features: {
      action: { dtype: 'float32', shape: [ACTION_DIM], names: [...ACTION_NAMES] },
      'observation.state': { dtype: 'float32', shape: [stateDim], names: [...STATE_JOINT_NAMES] },
      // The `info` keys are those LeRobot's v3.0 writer reads back from the encoded file.
      ...Object.fromEntries(
        videos.map((v) => [
          v.key,
          {
            dtype: 'video',
            shape: [v.height, v.width, 3],
            names: ['height', 'width', 'channels'],
            info: {
              'video.height': v.height,
              'video.width': v.width,
              'video.codec': v.codec,
              'video.pix_fmt': VIDEO_PIX_FMT,
              'video.is_depth_map': false,
              'video.fps': fps,
              'video.channels': 3,
              has_audio: false,
            },
          },
        ]),
      ),
      timestamp: scalar('float32'),
      frame_index: scalar('int64'),
      episode_index: scalar('int64'),
      index: scalar('int64'),
      task_index: scalar('int64'),
    },
  };
  const bounds = episodes.map((e, i) => ({ from: from[i]!, length: e.length }));
  const numeric = (values: ArrayLike<number>, dim: number) => ({ ...columnStats(values, dim), ...columnQuantiles(values, dim, bounds) });
  const stats = {
    action: numeric(action, ACTION_DIM),
    'observation.state': numeric(state, stateDim),
    ...videoStats,
    timestamp: numeric(timestamp, 1),
    frame_index: numeric(frameIndex, 1),
    episode_index: numeric(episodeIndex, 1),
    index: numeric(index, 1),
    task_index: numeric(taskIndex, 1),
  };

  const outputs: [string, Uint8Array | string][] = [
    ['meta/info.json', `${JSON.stringify(info, null, 2)}\n`],
    ['meta/stats.json', `${JSON.stringify(stats, null, 2)}\n`],
    ['meta/tasks.parquet', new Uint8Array(tasksFile)],
    ['meta/episodes/chunk-000/file-000.parquet', new Uint8Array(episodesFile)],
    ['data/chunk-000/file-000.parquet', new Uint8Array(dataFile)],
  ];
  const files: { path: string; bytes: number }[] = videos.map((v) => ({ path: v.path, bytes: v.bytes }));
  for (const [k, [rel, content]] of outputs.entries()) {
    progress(0.9 + (0.1 * k) / outputs.length, 'writing');
    const full = join(outDir, rel);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content, { flag: 'wx' });
    files.push({ path: rel, bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.length });
  }
  progress(1, 'writing');
  return { episodes: episodes.length, frames: total, tasks, skipped, files, videos };
}
