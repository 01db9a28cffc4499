/**
 * Export of dexbridge recordings (MCAP) as a LeRobotDataset v3.0 folder: one episode per
 * recording, resampled to a fixed rate. Layout and mapping: `docs/dataset.md`.
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACTION_DIM, ACTION_ENTRIES, ACTION_NAMES, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { decodeActionMessage, readSidecar, readRecording } from '../recording/index.js';
import { SESSION_METADATA_NAME, TOPICS } from '../recording/schemas.js';
import { resample, type TimedSeries } from './resample.js';

export type ExportErrorCode = 'EXPORT_NO_RECORDINGS' | 'EXPORT_MISSING_CHANNEL' | 'EXPORT_OUT_NOT_EMPTY' | 'EXPORT_BAD_FPS' | 'EXPORT_BAD_MESSAGE';

/** An expected failure of {@link exportLeRobot}; nothing is written when it is thrown. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  readonly code: ExportErrorCode;
  constructor(code: ExportErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

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
}

/** What {@link exportLeRobot} is doing, for {@link LeRobotExportOptions.onProgress}. */
export type ExportPhase = 'reading' | 'encoding' | 'writing';

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
}

export const LEROBOT_ROBOT_TYPE = 'dexbridge_bimanual_fr3_bytedexter';
export const LEROBOT_CHUNKS_SIZE = 1000;
/** Task text of a recording whose metadata has no task. */
export const DEFAULT_TASK = 'dexbridge teleoperation';
const DATA_PATH = 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet';

/** Start offsets of the action's rotation vectors, from the kinds of `ACTION_ENTRIES`. */
const ROTATION_OFFSETS: readonly number[] = ACTION_ENTRIES.filter((e, i) => e.kind === 'rotvec' && ACTION_ENTRIES[i - 1]?.kind !== 'rotvec').map(
  (e) => e.index,
);

interface Episode {
  readonly path: string;
  readonly task: string;
  readonly length: number;
  /** length × 88 */
  readonly action: Float32Array;
  /** length × 56 */
  readonly state: Float32Array;
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

/** `onRead(read, total)` is called every {@link PROGRESS_MESSAGES} messages of the two topics. */
async function readEpisodeSeries(
  path: string,
  onRead?: (read: number, total: number) => void,
): Promise<{ task: string; success: string; state: TimedSeries; action: TimedSeries }> {
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
    let read = 0;
    const stateDim = STATE_JOINT_NAMES.length;
    const stateTimes: number[] = [];
    const stateValues: number[] = [];
    const actionTimes: number[] = [];
    const actionValues: number[] = [];
    let columns: number[] | undefined;
    const actionEncoding = recording.channels.find((c) => c.topic === TOPICS.action)!.messageEncoding;
    for await (const m of recording.messages({ topics: [TOPICS.jointStates, TOPICS.action] })) {
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
      } else {
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
    };
  } finally {
    await recording.close();
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

async function checkOutDir(outDir: string): Promise<void> {
  let entries: string[];
  try {
    const s = await stat(outDir);
    if (!s.isDirectory()) throw new ExportError('EXPORT_OUT_NOT_EMPTY', `export: ${outDir} exists and is not a folder`);
    entries = await readdir(outDir);
  } catch (error) {
    if (error instanceof ExportError) throw error;
    if ((error as { code?: unknown }).code === 'ENOENT') return;
    throw error;
  }
  if (entries.length > 0) throw new ExportError('EXPORT_OUT_NOT_EMPTY', `export: ${outDir} is not empty (${entries.length} entries); give an empty or new folder`);
}

/**
 * Writes a LeRobotDataset v3.0 from `recordings` into `outDir` (created; must be empty or absent).
 * Every recording is read and checked before anything is written.
 * @throws ExportError `EXPORT_BAD_FPS`, `EXPORT_NO_RECORDINGS` (none given, or none selected),
 *   `EXPORT_MISSING_CHANNEL`, `EXPORT_BAD_MESSAGE`, `EXPORT_OUT_NOT_EMPTY`; RecordingError for a
 *   file that is not a readable recording.
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
  await checkOutDir(outDir);

  const episodes: Episode[] = [];
  const skipped: { path: string; success: string }[] = [];
  for (const [i, path] of recordings.entries()) {
    progress((0.8 * i) / recordings.length, 'reading');
    const series = await readEpisodeSeries(path, (read, total) => progress((0.8 * (i + Math.min(1, read / total))) / recordings.length, 'reading'));
    if (options.all !== true && series.success !== 'true') {
      skipped.push({ path, success: series.success });
      continue;
    }
    const times = frameTimes(series.state, series.action, fps);
    episodes.push({
      path,
      task: series.task,
      length: times.length,
      state: Float32Array.from(resample(series.state, times)),
      action: Float32Array.from(resample(series.action, times, ROTATION_OFFSETS)),
    });
  }
  if (episodes.length === 0) {
    throw new ExportError('EXPORT_NO_RECORDINGS', `export: none of the ${recordings.length} recordings is marked successful; pass --all to export them anyway`);
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
    ],
    schema: [
      { name: 'schema', num_children: 9 },
      int64('episode_index'),
      ...listOf('tasks', 'BYTE_ARRAY'),
      int64('length'),
      int64('dataset_from_index'),
      int64('dataset_to_index'),
      int64('data/chunk_index'),
      int64('data/file_index'),
      int64('meta/episodes/chunk_index'),
      int64('meta/episodes/file_index'),
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
    video_path: null,
    features: {
      action: { dtype: 'float32', shape: [ACTION_DIM], names: [...ACTION_NAMES] },
      'observation.state': { dtype: 'float32', shape: [stateDim], names: [...STATE_JOINT_NAMES] },
      timestamp: scalar('float32'),
      frame_index: scalar('int64'),
      episode_index: scalar('int64'),
      index: scalar('int64'),
      task_index: scalar('int64'),
    },
  };
  const stats = {
    action: columnStats(action, ACTION_DIM),
    'observation.state': columnStats(state, stateDim),
    timestamp: columnStats(timestamp, 1),
    frame_index: columnStats(frameIndex, 1),
    episode_index: columnStats(episodeIndex, 1),
    index: columnStats(index, 1),
    task_index: columnStats(taskIndex, 1),
  };

  const outputs: [string, Uint8Array | string][] = [
    ['meta/info.json', `${JSON.stringify(info, null, 2)}\n`],
    ['meta/stats.json', `${JSON.stringify(stats, null, 2)}\n`],
    ['meta/tasks.parquet', new Uint8Array(tasksFile)],
    ['meta/episodes/chunk-000/file-000.parquet', new Uint8Array(episodesFile)],
    ['data/chunk-000/file-000.parquet', new Uint8Array(dataFile)],
  ];
  const files: { path: string; bytes: number }[] = [];
  for (const [k, [rel, content]] of outputs.entries()) {
    progress(0.9 + (0.1 * k) / outputs.length, 'writing');
    const full = join(outDir, rel);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content, { flag: 'wx' });
    files.push({ path: rel, bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.length });
  }
  progress(1, 'writing');
  return { episodes: episodes.length, frames: total, tasks, skipped, files };
}
