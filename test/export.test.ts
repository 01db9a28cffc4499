/**
 * `dexbridge export --format lerobot`: recordings written with `Recorder`, exported, and read back
 * with independent Parquet readers (hyparquet for the values, parquet-wasm / arrow-rs for the
 * structure).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTION_DIM, ACTION_ENTRIES, ACTION_NAMES, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { parquetReadObjects } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../server/src/cli/main.js';
import { FileSink, Recorder } from '../server/src/recording/index.js';

const T0 = 1_700_000_000_000;
const FPS = 30;

/** The recorded signals, known in closed form so that the resampled frames can be checked exactly. */
function stateAt(s: number): number[] {
  return STATE_JOINT_NAMES.map((_, k) => 0.01 * k + (0.1 + 0.001 * k) * s);
}
function actionAt(s: number): number[] {
  const out = new Array<number>(ACTION_DIM).fill(0);
  for (const e of ACTION_ENTRIES) {
    if (e.kind === 'rotvec') continue;
    out[e.index] = 0.02 * e.index - 0.5 + (0.05 + 0.001 * e.index) * s;
  }
  // Each rotation vector turns about a fixed axis at a constant rate: slerp reproduces it exactly.
  ACTION_ENTRIES.forEach((e, i) => {
    if (e.kind !== 'rotvec' || ACTION_ENTRIES[i - 1]?.kind === 'rotvec') return;
    const axis = [Math.cos(i), Math.sin(i), 0.5];
    const n = Math.hypot(...axis);
    const angle = 0.3 + 0.6 * s;
    for (let k = 0; k < 3; k++) out[e.index + k] = (axis[k]! / n) * angle;
  });
  return out;
}

async function writeRecording(
  path: string,
  options: { task: string; success: boolean | 'unknown'; seconds: number; action?: boolean },
): Promise<void> {
  const recorder = await Recorder.open(await FileSink.create(path), {
    softwareVersion: 'test',
    startedAtIso: new Date(T0).toISOString(),
    urdf: '<robot name="test"/>',
    task: options.task,
    flushIntervalMs: 0,
  });
  // ~100 Hz with jitter (so that resampling has to interpolate), ending exactly at `seconds`.
  const end = options.seconds * 1000;
  const times: number[] = [];
  for (let i = 0; i * 10 + (i % 3) < end; i++) times.push(i * 10 + (i % 3));
  times.push(end);
  for (const t of times) {
    const s = t / 1000;
    recorder.writeJointState(T0 + t, stateAt(s));
    if (options.action !== false) recorder.writeAction(T0 + t, actionAt(s));
  }
  recorder.setOutcome({ success: options.success });
  await recorder.close();
}

function sink(): { text: string; write(t: string): void } {
  return {
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(args, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

async function readRows(path: string): Promise<Record<string, unknown>[]> {
  const bytes = await readFile(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  // arrow-rs (parquet-wasm) must accept the file too.
  const table = readParquet(new Uint8Array(bytes));
  const rows = (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[];
  const batches = table.recordBatches();
  expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(rows.length);
  for (const name of Object.keys(rows[0] ?? {})) expect(table.schema.indexOf(name)).toBeGreaterThanOrEqual(0);
  for (const b of batches) b.free();
  table.free();
  return rows;
}

let dir: string;
let good: string;
let failed: string;
let noAction: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dexbridge-export-'));
  good = join(dir, 'good.mcap');
  failed = join(dir, 'failed.mcap');
  noAction = join(dir, 'no-action.mcap');
  await writeRecording(good, { task: 'pick the cube', success: true, seconds: 2 });
  await writeRecording(failed, { task: 'pour the water', success: false, seconds: 1.5 });
  await writeRecording(noAction, { task: 'x', success: true, seconds: 0.5, action: false });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dexbridge export --format lerobot', () => {
  it('exports only successful recordings by default', async () => {
    const out = join(dir, 'ds-default');
    const r = await run(['export', good, failed, '--format', 'lerobot', '--fps', String(FPS), '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('skipped');
    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    expect(info.total_episodes).toBe(1);
    expect(info.total_frames).toBe(61); // 0 … 2 s at 30 fps
  });

  it('writes a LeRobotDataset v3.0 whose every column reads back', async () => {
    const out = join(dir, 'ds-all');
    const r = await run(['export', good, failed, '--format', 'lerobot', '--fps', String(FPS), '--out', out, '--all']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    expect(info).toMatchObject({
      codebase_version: 'v3.0',
      robot_type: 'dexbridge_bimanual_fr3_bytedexter',
      fps: FPS,
      total_episodes: 2,
      total_tasks: 2,
      chunks_size: 1000,
      data_path: 'data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet',
    });
    expect(info.features.action).toEqual({ dtype: 'float32', shape: [88], names: [...ACTION_NAMES] });
    expect(info.features['observation.state']).toEqual({ dtype: 'float32', shape: [56], names: [...STATE_JOINT_NAMES] });
    expect(info.features.timestamp).toMatchObject({ dtype: 'float32', shape: [1] });
    for (const k of ['frame_index', 'episode_index', 'index', 'task_index']) expect(info.features[k]).toMatchObject({ dtype: 'int64', shape: [1] });
    const lengths = [61, 46]; // 2 s and 1.5 s at 30 fps
    expect(info.total_frames).toBe(lengths[0]! + lengths[1]!);

    const tasks = await readRows(join(out, 'meta/tasks.parquet'));
    expect(tasks).toEqual([
      { task_index: 0n, task: 'pick the cube' },
      { task_index: 1n, task: 'pour the water' },
    ]);

    const episodes = await readRows(join(out, 'meta/episodes/chunk-000/file-000.parquet'));
    expect(episodes).toEqual([
      {
        episode_index: 0n,
        tasks: ['pick the cube'],
        length: 61n,
        dataset_from_index: 0n,
        dataset_to_index: 61n,
        'data/chunk_index': 0n,
        'data/file_index': 0n,
        'meta/episodes/chunk_index': 0n,
        'meta/episodes/file_index': 0n,
      },
      {
        episode_index: 1n,
        tasks: ['pour the water'],
        length: 46n,
        dataset_from_index: 61n,
        dataset_to_index: 107n,
        'data/chunk_index': 0n,
        'data/file_index': 0n,
        'meta/episodes/chunk_index': 0n,
        'meta/episodes/file_index': 0n,
      },
    ]);

    const rows = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    expect(rows).toHaveLength(107);
    rows.forEach((row, index) => {
      const episode = index < 61 ? 0 : 1;
      const frame = episode === 0 ? index : index - 61;
      expect(Object.keys(row).sort()).toEqual(['action', 'episode_index', 'frame_index', 'index', 'observation.state', 'task_index', 'timestamp']);
      expect(row.index).toBe(BigInt(index));
      expect(row.episode_index).toBe(BigInt(episode));
      expect(row.task_index).toBe(BigInt(episode));
      expect(row.frame_index).toBe(BigInt(frame));
      expect(row.timestamp).toBeCloseTo(frame / FPS, 6);
      const s = frame / FPS;
      const action = row.action as number[];
      const state = row['observation.state'] as number[];
      expect(action).toHaveLength(88);
      expect(state).toHaveLength(56);
      const wantA = actionAt(s);
      const wantS = stateAt(s);
      // float32 storage: a few ulps of values of order 1.
      expect(Math.max(...action.map((v, k) => Math.abs(v - wantA[k]!)))).toBeLessThan(2e-6);
      expect(Math.max(...state.map((v, k) => Math.abs(v - wantS[k]!)))).toBeLessThan(2e-6);
    });

    // stats.json matches the data, per dimension.
    const stats = JSON.parse(await readFile(join(out, 'meta/stats.json'), 'utf8'));
    const column = (name: string): number[][] => rows.map((r) => {
      const v = r[name];
      return Array.isArray(v) ? (v as number[]) : [Number(v)];
    });
    for (const name of ['action', 'observation.state', 'timestamp', 'frame_index', 'episode_index', 'index', 'task_index']) {
      const values = column(name);
      const dim = values[0]!.length;
      const s = stats[name];
      expect(s.count).toEqual([107]);
      for (let k = 0; k < dim; k++) {
        const xs = values.map((v) => v[k]!);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
        expect(s.min[k]).toBe(Math.min(...xs));
        expect(s.max[k]).toBe(Math.max(...xs));
        expect(s.mean[k]).toBeCloseTo(mean, 9);
        expect(s.std[k]).toBeCloseTo(std, 9);
      }
    }
  });

  it('reports coded errors', async () => {
    const none = await run(['export', '--format', 'lerobot', '--out', join(dir, 'x')]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/CLI_USAGE: .*EXPORT_NO_RECORDINGS/);

    const fps = await run(['export', good, '--format', 'lerobot', '--fps', '0', '--out', join(dir, 'y')]);
    expect(fps.code).toBe(2);
    expect(fps.err).toMatch(/CLI_USAGE: .*EXPORT_BAD_FPS/);
    const fps2 = await run(['export', good, '--fps', '29.97', '--out', join(dir, 'y')]);
    expect(fps2.err).toMatch(/EXPORT_BAD_FPS/);

    const missing = await run(['export', noAction, '--format', 'lerobot', '--out', join(dir, 'z')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/CLI_UNKNOWN_FORMAT: EXPORT_MISSING_CHANNEL: .*\/dexbridge\/action/);

    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'x');
    const notEmpty = await run(['export', good, '--format', 'lerobot', '--out', full]);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.err).toMatch(/CLI_USAGE: EXPORT_OUT_NOT_EMPTY/);

    const noneSelected = await run(['export', failed, '--out', join(dir, 'w')]);
    expect(noneSelected.err).toMatch(/EXPORT_NO_RECORDINGS: .*--all/);
  });
});
