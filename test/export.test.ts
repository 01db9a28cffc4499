/**
 * `dexbridge export --format lerobot`: recordings written with `Recorder`, exported, and read back
 * with independent Parquet readers (hyparquet for the values, parquet-wasm / arrow-rs for the
 * structure). The same export as an HTTP job (`/api/exports`), its progress and its tar archive,
 * extracted with the system `tar`.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ACTION_DIM, ACTION_ENTRIES, ACTION_NAMES, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { parquetReadObjects } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportJobs, type ExportJobStatus } from '../server/src/bridge/ExportJobs.js';
import { FolderRecordingsStore } from '../server/src/bridge/FolderRecordingsStore.js';
import { startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { main } from '../server/src/cli/main.js';
import { type ExportPhase, exportLeRobot } from '../server/src/export/lerobot.js';
import { tarSize, tarStream } from '../server/src/export/tar.js';
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

const run_ = run;

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
      // float32 storage (a few ulps of values of order 1) of what the recording holds: actions on a
      // 1e-6 grid, joint positions on a 2^-16 rad grid (docs/recording.md).
      expect(Math.max(...action.map((v, k) => Math.abs(v - wantA[k]!)))).toBeLessThan(2e-6);
      expect(Math.max(...state.map((v, k) => Math.abs(v - wantS[k]!)))).toBeLessThan(2 ** -17 + 2e-6);
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

/** Every file under `root`, relative, sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('exportLeRobot onProgress', () => {
  it('advances from reading through encoding to writing, ends at 1, and leaves the result unchanged', async () => {
    const long = join(dir, 'long-progress.mcap');
    await writeRecording(long, { task: 'long', success: true, seconds: 60 }); // 12 002 messages
    const calls: [number, ExportPhase][] = [];
    const out = join(dir, 'ds-progress');
    const result = await exportLeRobot({ recordings: [good, long], outDir: out, fps: FPS, onProgress: (f, p) => void calls.push([f, p]) });
    expect(result.frames).toBe(61 + 1801);
    const fractions = calls.map(([f]) => f);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]!);
    expect(fractions[0]).toBe(0);
    expect(calls.at(-1)).toEqual([1, 'writing']);
    // Within the long recording, not only between recordings.
    expect(calls.filter(([f, p]) => p === 'reading' && f > 0.4 && f < 0.8).length).toBeGreaterThanOrEqual(2);
    expect([...new Set(calls.map(([, p]) => p))]).toEqual(['reading', 'encoding', 'writing']);
    // The same files as without the callback.
    const plain = join(dir, 'ds-progress-plain');
    await exportLeRobot({ recordings: [good, long], outDir: plain, fps: FPS });
    for (const f of await tree(out)) expect(await readFile(join(out, f))).toEqual(await readFile(join(plain, f)));
    await rm(long);
  }, 120_000);

  it('stops when its signal is aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stop'));
    await expect(exportLeRobot({ recordings: [good], outDir: join(dir, 'ds-aborted'), fps: FPS, signal: abort.signal })).rejects.toThrow('stop');
  });
});

describe('tar writer', () => {
  it('writes archives the system tar extracts: empty files, long names, exact sizes', async () => {
    const src = join(dir, 'tar-src');
    await mkdir(src);
    const longName = `${'a'.repeat(90)}/${'b'.repeat(60)}/c.bin`; // > 100 bytes: uses the ustar prefix
    const files: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one-block', Buffer.alloc(512, 7)],
      ['odd', Buffer.from('x'.repeat(1000))],
      [longName, Buffer.from([1, 2, 3])],
    ];
    const entries = [];
    for (const [i, [name, body]] of files.entries()) {
      await writeFile(join(src, String(i)), body);
      entries.push({ kind: 'file' as const, name: `top/${name}`, mtimeMs: T0, size: body.length, source: join(src, String(i)) });
    }
    const chunks: Buffer[] = [];
    for await (const c of tarStream([{ kind: 'dir', name: 'top', mtimeMs: T0 }, ...entries])) chunks.push(c);
    const archive = Buffer.concat(chunks);
    expect(archive.length).toBe(tarSize([{ kind: 'dir', name: 'top', mtimeMs: T0 }, ...entries]));
    expect(archive.length % 512).toBe(0);
    await writeFile(join(dir, 't.tar'), archive);
    const x = join(dir, 'tar-x');
    await mkdir(x);
    execFileSync('tar', ['-xf', join(dir, 't.tar'), '-C', x]);
    for (const [name, body] of files) expect(await readFile(join(x, 'top', name))).toEqual(body);
    expect(execFileSync('tar', ['-tvf', join(dir, 't.tar')]).toString()).toMatch(/dexbridge\/dexbridge/);
  });
});

describe('export over HTTP (/api/exports)', () => {
  const TOKEN = 'export-operator-token';
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

  async function recordingsDir(): Promise<string> {
    const recs = await mkdtemp(join(tmpdir(), 'dexbridge-export-recs-'));
    await copyFile(good, join(recs, 'good.mcap'));
    await copyFile(failed, join(recs, 'failed.mcap'));
    await writeRecording(join(recs, 'long.mcap'), { task: 'long', success: true, seconds: 20 });
    return recs;
  }

  async function poll(url: string, id: string, seen: ExportJobStatus[]): Promise<ExportJobStatus> {
    // By time, not by polls: the job's worker process takes a moment to start on a busy machine.
    for (const end = Date.now() + 20_000; Date.now() < end; ) {
      const s = (await (await fetch(`${url}/api/exports/${id}`)).json()) as ExportJobStatus;
      seen.push(s);
      if (s.status !== 'running') return s;
      await sleep(5);
    }
    throw new Error('export did not finish');
  }

  it('runs a job to done and serves a tar that extracts into the files the CLI writes', async () => {
    const recs = await recordingsDir();
    const run = await startDexbridge({ port: 0, recordingsDir: recs, record: 'off', operatorToken: TOKEN });
    try {
      const post = (body: unknown, headers: Record<string, string> = auth) => fetch(`${run.url}/api/exports`, { method: 'POST', headers, body: JSON.stringify(body) });
      const error = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

      // Tokens, and bad requests.
      expect((await post({ fps: 30 }, {})).status).toBe(401);
      expect((await post({ fps: 30 }, { authorization: 'Bearer not-the-operator-token' })).status).toBe(403);
      for (const fps of [0, 29.97, 1001, '30']) {
        const r = await post({ fps });
        expect(r.status).toBe(400);
        expect(await error(r)).toBe('EXPORT_BAD_FPS');
      }
      const unknown = await post({ recordings: ['good.mcap', 'nope.mcap'] });
      expect(unknown.status).toBe(404);
      expect(await error(unknown)).toBe('NOT_FOUND');
      const empty = await post({ recordings: [] });
      expect([empty.status, await error(empty)]).toEqual([400, 'EXPORT_NO_RECORDINGS']);
      const onlyFailed = await post({ recordings: ['failed.mcap'] });
      expect([onlyFailed.status, await error(onlyFailed)]).toEqual([400, 'EXPORT_NO_RECORDINGS']);
      const badName = await post({ recordings: ['../x.mcap'] });
      expect([badName.status, await error(badName)]).toEqual([400, 'BAD_NAME']);
      const extra = await post({ fps: 30, out: '/tmp' });
      expect([extra.status, await error(extra)]).toEqual([400, 'BAD_REQUEST']);
      expect((await fetch(`${run.url}/api/exports/0123456789abcdef`)).status).toBe(404);

      // A job over every recording; a second one while it runs is refused.
      const both = await Promise.all([post({ recordings: ['good.mcap', 'failed.mcap', 'long.mcap'], fps: 30, all: true }), post({ recordings: ['good.mcap', 'failed.mcap', 'long.mcap'], fps: 30, all: true })]);
      const [first, second] = both.sort((a, b) => a.status - b.status);
      expect(first!.status).toBe(202);
      const started = (await first!.json()) as ExportJobStatus;
      expect(started).toMatchObject({ status: 'running', progress: 0, recordings: ['good.mcap', 'failed.mcap', 'long.mcap'] });
      expect(first!.headers.get('location')).toBe(`/api/exports/${started.id}`);
      expect([second!.status, await error(second!)]).toEqual([409, 'EXPORT_BUSY']);
      const early = await fetch(`${run.url}/api/exports/${started.id}/download`);
      if (early.status !== 200) expect([early.status, await error(early)]).toEqual([409, 'EXPORT_NOT_READY']);
      else await early.arrayBuffer();

      const seen: ExportJobStatus[] = [];
      const done = await poll(run.url, started.id, seen);
      expect(done).toMatchObject({ status: 'done', progress: 1, phase: 'done', episodes: 3, frames: 61 + 46 + 601, skipped: [], download: `/api/exports/${started.id}/download` });
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThanOrEqual(seen[i - 1]!.progress);
      expect(((await (await fetch(`${run.url}/api/exports`)).json()) as { exports: ExportJobStatus[] }).exports.map((j) => j.id)).toEqual([started.id]);

      const res = await fetch(`${run.url}${done.download}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-tar');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${done.filename}"`);
      expect(done.filename).toMatch(/^dexbridge-lerobot-\d{8}-\d{6}\.tar$/);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(Number(res.headers.get('content-length')));
      const tarFile = join(dir, done.filename);
      await writeFile(tarFile, body);
      const x = join(dir, 'http-x');
      await mkdir(x);
      execFileSync('tar', ['-xf', tarFile, '-C', x]);
      const fromHttp = join(x, done.filename.replace(/\.tar$/, ''));

      const cli = join(dir, 'ds-cli-same');
      const r = await run_(['export', join(recs, 'good.mcap'), join(recs, 'failed.mcap'), join(recs, 'long.mcap'), '--fps', '30', '--all', '--out', cli]);
      expect(r.code).toBe(0);
      const files = await tree(cli);
      expect(files).toEqual(['data/chunk-000/file-000.parquet', 'meta/episodes/chunk-000/file-000.parquet', 'meta/info.json', 'meta/stats.json', 'meta/tasks.parquet']);
      expect(await tree(fromHttp)).toEqual(files);
      for (const f of files) expect(await readFile(join(fromHttp, f))).toEqual(await readFile(join(cli, f)));
      expect(await readRows(join(fromHttp, 'data/chunk-000/file-000.parquet'))).toHaveLength(done.frames);
      expect(done.bytes).toBe((await Promise.all(files.map((f) => readFile(join(cli, f))))).reduce((n, b) => n + b.length, 0));

      // Without a list: the successful finished recordings, oldest name first.
      const all = await post({});
      expect(all.status).toBe(202);
      const job2 = (await all.json()) as ExportJobStatus;
      expect(job2.recordings).toEqual(['good.mcap', 'long.mcap']);
      expect(await poll(run.url, job2.id, [])).toMatchObject({ status: 'done', episodes: 2, frames: 61 + 601 });
    } finally {
      await run.close();
      await rm(recs, { recursive: true, force: true });
    }
  }, 120_000);

  /** A recording whose export takes a few seconds (4 minutes at ~100 Hz: 48 000 messages). */
  let bigRecording: Promise<string> | undefined;
  const big = (): Promise<string> => {
    bigRecording ??= (async () => {
      const path = join(dir, 'big.mcap');
      // A minute: the worker exports it for long enough to probe the server and to be killed mid-job.
      await writeRecording(path, { task: 'big', success: true, seconds: 60 });
      return path;
    })();
    return bigRecording;
  };

  it('runs the job in another process: the server keeps answering while it exports', async () => {
    const recs = await mkdtemp(join(tmpdir(), 'dexbridge-export-recs-'));
    await copyFile(await big(), join(recs, 'big.mcap'));
    const run = await startDexbridge({ port: 0, recordingsDir: recs, record: 'off', operatorToken: TOKEN });
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      const res = await fetch(`${run.url}/api/exports`, { method: 'POST', headers: auth, body: JSON.stringify({ recordings: ['big.mcap'], fps: 30 }) });
      expect(res.status).toBe(202);
      const job = (await res.json()) as ExportJobStatus;
      const { pid } = run.exports.worker(job.id);
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(process.pid);
      loop.enable();
      let status = job;
      let probes = 0;
      let slowest = 0;
      const seen: number[] = [];
      while (status.status === 'running') {
        const t = performance.now();
        const health = await fetch(`${run.url}/healthz`);
        expect(health.status).toBe(200);
        await health.arrayBuffer();
        slowest = Math.max(slowest, performance.now() - t);
        probes++;
        status = (await (await fetch(`${run.url}/api/exports/${job.id}`)).json()) as ExportJobStatus;
        seen.push(status.progress);
        await sleep(20);
      }
      loop.disable();
      expect(status).toMatchObject({ status: 'done', progress: 1, episodes: 1, frames: 1801 });
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
      // The server answered all along: health probes kept being answered while the job ran in its
      // own process. How fast they were is the machine's business (npm run bench: export.*).
      expect(probes).toBeGreaterThanOrEqual(3);
      console.info(`export in a worker: ${probes} health probes answered, slowest ${slowest.toFixed(0)} ms, longest event-loop stall ${(loop.max / 1e6).toFixed(0)} ms`);
      expect(run.exports.worker(job.id).maxRssKb).toBeGreaterThan(0);
    } finally {
      loop.disable();
      await run.close();
      await rm(recs, { recursive: true, force: true });
    }
  }, 120_000);

  it('fails the job with EXPORT_WORKER_FAILED when its worker dies, and removes its files', async () => {
    const recs = await mkdtemp(join(tmpdir(), 'dexbridge-export-recs-'));
    await copyFile(await big(), join(recs, 'big.mcap'));
    await copyFile(good, join(recs, 'good.mcap'));
    const work = await mkdtemp(join(tmpdir(), 'dexbridge-export-work-'));
    const jobs = new ExportJobs(new FolderRecordingsStore(recs, undefined), { workDir: work });
    try {
      const job = await jobs.start({ recordings: ['big.mcap'], fps: 30, all: false });
      // Killed once it has started exporting (it reports progress), as a crash or the OOM killer would.
      while (jobs.get(job.id).progress === 0 && jobs.get(job.id).status === 'running') await sleep(10);
      const { pid } = jobs.worker(job.id);
      expect(pid).not.toBe(process.pid);
      process.kill(pid!, 'SIGKILL');
      let failedJob = jobs.get(job.id);
      while (failedJob.status === 'running') {
        await sleep(10);
        failedJob = jobs.get(job.id);
      }
      expect(failedJob).toMatchObject({ status: 'failed', phase: 'failed', error: { code: 'EXPORT_WORKER_FAILED' } });
      expect(failedJob.error!.message).toMatch(/killed by SIGKILL/);
      // The next job can start at once; the failed job's folder goes in the background.
      const [root] = await readdir(work);
      for (let t = 0; t < 1000 && (await readdir(join(work, root!))).length > 0; t++) await sleep(10);
      expect(await readdir(join(work, root!))).toEqual([]);
      // The next job runs.
      const next = await jobs.start({ recordings: ['good.mcap'], fps: 30, all: false });
      let done = jobs.get(next.id);
      while (done.status === 'running') {
        await sleep(10);
        done = jobs.get(next.id);
      }
      expect(done).toMatchObject({ status: 'done', frames: 61 });
    } finally {
      await jobs.close();
      await rm(recs, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('reports a failed job, keeps the last jobs only, and removes its files on close', async () => {
    const recs = await recordingsDir();
    await copyFile(noAction, join(recs, 'no-action.mcap'));
    const work = await mkdtemp(join(tmpdir(), 'dexbridge-export-work-'));
    const jobs = new ExportJobs(new FolderRecordingsStore(recs, undefined), { workDir: work, keep: 2 });
    const finish = async (id: string): Promise<ExportJobStatus> => {
      for (;;) {
        const s = jobs.get(id);
        if (s.status !== 'running') return s;
        await sleep(5);
      }
    };
    try {
      const bad = await jobs.start({ recordings: ['no-action.mcap'], fps: 30, all: false });
      const failedJob = await finish(bad.id);
      expect(failedJob).toMatchObject({ status: 'failed', phase: 'failed', error: { code: 'EXPORT_MISSING_CHANNEL' } });
      await expect(jobs.archive(bad.id)).rejects.toMatchObject({ status: 409, code: 'EXPORT_NOT_READY' });
      const ids = [bad.id];
      for (let i = 0; i < 2; i++) {
        const j = await jobs.start({ recordings: ['good.mcap'], fps: 10, all: false });
        expect((await finish(j.id)).status).toBe('done');
        ids.push(j.id);
      }
      // keep 2: the oldest was dropped when the third started.
      expect(jobs.list().map((j) => j.id)).toEqual([ids[2], ids[1]]);
      expect(() => jobs.get(ids[0]!)).toThrow(/no export/);
      const [root] = await readdir(work);
      expect(root).toMatch(/^dexbridge-exports-/);
      // The dropped job's folder goes in the background.
      for (let t = 0; t < 1000 && (await readdir(join(work, root!))).length > 2; t++) await sleep(10);
      expect((await readdir(join(work, root!))).sort()).toEqual([ids[1], ids[2]].sort());
      // Closing while a job runs stops it and removes everything.
      await writeRecording(join(recs, 'long2.mcap'), { task: 'long', success: true, seconds: 60 });
      await jobs.start({ recordings: ['long2.mcap'], fps: 30, all: false });
      await jobs.close();
      expect(await readdir(work)).toEqual([]);
      await expect(jobs.start({ fps: 30, all: true })).rejects.toMatchObject({ code: 'EXPORT_CLOSED' });
    } finally {
      await jobs.close();
      await rm(recs, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  }, 120_000);
});
