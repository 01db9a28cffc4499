/**
 * Dataset export jobs for the HTTP API (`POST /api/exports`, docs/dataset.md): one LeRobot export
 * at a time, written to a temporary folder and served as a tar archive. Each job runs
 * `exportLeRobot` in a child process (`exportWorker`), so its seconds of synchronous Parquet
 * encoding never stall the server's event loop (control loop, watchdog, state stream).
 * Finished jobs are kept for a while (the last few, at most an hour) and removed on `close()`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExportPhase, LeRobotExportResult } from '../export/lerobot.js';
import { VIDEO_CODECS, type VideoCodec } from '../export/video.js';
import type { TarEntry } from '../export/tar.js';
import type { ExportWorkerMessage, ExportWorkerStart } from './exportWorker.js';
import { HttpError, type RecordingsStore, recordingPath } from './http.js';

export type ExportJobState = 'running' | 'done' | 'failed';

/** A job as `GET /api/exports/<id>` shows it. */
export interface ExportJobStatus {
  readonly id: string;
  readonly status: ExportJobState;
  /** 0..1; 1 when done. */
  readonly progress: number;
  /** What it is doing: `reading`, `video` (with cameras), `encoding`, `writing`, then `done` or `failed`. */
  readonly phase: ExportPhase | 'done' | 'failed';
  readonly format: 'lerobot';
  readonly fps: number;
  readonly all: boolean;
  /** Codec of the camera videos. */
  readonly videoCodec: VideoCodec;
  /** The recordings given to the export, in episode order. */
  readonly recordings: readonly string[];
  /** Recordings left out (not marked successful); known when done. */
  readonly skipped: readonly string[];
  /** Episodes and frames of the dataset, bytes of its files; 0 until done. */
  readonly episodes: number;
  readonly frames: number;
  readonly bytes: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** The archive's file name (`dexbridge-lerobot-YYYYMMDD-HHMMSS.tar`, UTC start time). */
  readonly filename: string;
  /** Where to download the archive from; null until done. */
  readonly download: string | null;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What `POST /api/exports` asks for. */
export interface ExportRequest {
  /** Recording names; undefined: every complete recording (marked successful unless `all`). */
  readonly recordings?: readonly string[];
  readonly fps: number;
  readonly all: boolean;
  /** Default `av1`. */
  readonly videoCodec?: VideoCodec;
}

export interface ExportJobsOptions {
  /** Where the datasets are written (a fresh folder inside it); default `os.tmpdir()`. */
  readonly workDir?: string;
  /** Finished jobs kept; default 3. */
  readonly keep?: number;
  /** Finished jobs are removed this long after they finish, ms; default 1 hour. */
  readonly keepMs?: number;
  /** A stopped job's worker gets SIGTERM, then SIGKILL after this many ms; default 2000. */
  readonly killGraceMs?: number;
  /** The ffmpeg that encodes camera videos (the cameras' own, so one setting serves both); default `ffmpeg`. */
  readonly ffmpegPath?: string;
}

/** The child process of a job, for tests and the benchmark (not part of the HTTP API). */
export interface ExportWorkerInfo {
  /** Its process id (never the server's). */
  readonly pid: number | undefined;
  /** Its peak resident set size, kB, once it has finished the export. */
  readonly maxRssKb: number | undefined;
}

interface Job {
  status: ExportJobStatus;
  readonly dir: string;
  /** Downloads streaming from `dir` now: it is not removed under them. */
  downloads: number;
  finishedMs: number;
  worker: ExportWorkerInfo;
}

/** Where the worker is and how to run it: the .js beside the compiled module, or the .ts source through tsx (tests, dev). */
function workerCommand(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const path = fileURLToPath(new URL(`./exportWorker.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  if (!fromSource) return { path, execArgv: [] };
  // Resolved here rather than by the child, so that it works whatever the server's working folder.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { path, execArgv: ['--conditions=source', '--import', tsx] };
}

/** Bytes of the worker's stderr kept for the error of a crashed job. */
const STDERR_TAIL = 2000;

const stamp = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');

export class ExportJobs {
  private readonly jobs = new Map<string, Job>();
  private root: Promise<string> | undefined;
  private running: { job: Job; abort: AbortController; done: Promise<void> } | undefined;
  private closed = false;
  private readonly keep: number;
  private readonly keepMs: number;

  constructor(
    private readonly store: RecordingsStore,
    private readonly options: ExportJobsOptions = {},
  ) {
    this.keep = options.keep ?? 3;
    this.keepMs = options.keepMs ?? 3_600_000;
  }

  /**
   * Checks the request and starts the job.
   * @throws HttpError 400 `EXPORT_BAD_FPS`, `EXPORT_NO_RECORDINGS`, `BAD_NAME`; 404 `NOT_FOUND` (no such
   *   recording); 409 `EXPORT_BUSY` (a job is running), `RECORDING_ACTIVE`, `RECORDING_INCOMPLETE`.
   */
  async start(request: ExportRequest): Promise<ExportJobStatus> {
    if (this.closed) throw new HttpError(503, 'EXPORT_CLOSED', 'http: the server is closing');
    this.assertIdle();
    const { fps, all } = request;
    if (!Number.isInteger(fps) || fps < 1 || fps > 1000) throw new HttpError(400, 'EXPORT_BAD_FPS', `http: fps must be an integer in 1..1000, got ${JSON.stringify(fps)}`);
    const videoCodec = request.videoCodec ?? 'av1';
    if (!VIDEO_CODECS.includes(videoCodec)) throw new HttpError(400, 'EXPORT_BAD_VIDEO_CODEC', `http: videoCodec must be one of ${VIDEO_CODECS.join(', ')}, got ${JSON.stringify(videoCodec)}`);
    const listed = new Map((await this.store.list()).map((r) => [r.name, r]));
    let names: string[];
    if (request.recordings === undefined) {
      // Oldest first: names are the start time.
      names = [...listed.values()].filter((r) => r.complete && !this.store.isActive(r.name) && (all || r.success === true)).map((r) => r.name).sort();
      if (names.length === 0) {
        throw new HttpError(400, 'EXPORT_NO_RECORDINGS', all ? 'http: there is no finished recording to export' : 'http: no finished recording is marked successful; mark some, or export with "all": true');
      }
    } else {
      names = [...new Set(request.recordings)];
      if (names.length === 0) throw new HttpError(400, 'EXPORT_NO_RECORDINGS', 'http: "recordings" is empty');
      for (const name of names) {
        recordingPath(this.store.dir, name); // 400 BAD_NAME
        const r = listed.get(name);
        if (r === undefined) throw new HttpError(404, 'NOT_FOUND', `http: no recording ${name}`);
        if (this.store.isActive(name)) throw new HttpError(409, 'RECORDING_ACTIVE', `http: ${name} is being recorded; stop the recording first`);
        if (!r.complete) throw new HttpError(409, 'RECORDING_INCOMPLETE', `http: ${name} is not a finished recording; run dexbridge recover on it`);
      }
      if (!all && names.every((n) => listed.get(n)?.success !== true)) {
        throw new HttpError(400, 'EXPORT_NO_RECORDINGS', 'http: none of these recordings is marked successful; mark them, or export with "all": true');
      }
    }
    const root = await this.workRoot();
    // Another start may have won the race while the folder was listed; no await from here on.
    this.assertIdle();
    this.prune(this.keep - 1);
    const id = randomBytes(8).toString('hex');
    const started = new Date();
    const job: Job = {
      dir: join(root, id),
      downloads: 0,
      finishedMs: 0,
      status: {
        id, status: 'running', progress: 0, phase: 'reading', format: 'lerobot', fps, all, videoCodec, recordings: names, skipped: [], episodes: 0, frames: 0, bytes: 0,
        startedAt: started.toISOString(), finishedAt: null, filename: `dexbridge-lerobot-${stamp(started)}.tar`, download: null,
      },
      worker: { pid: undefined, maxRssKb: undefined },
    };
    this.jobs.set(id, job);
    const abort = new AbortController();
    this.running = { job, abort, done: this.run(job, abort.signal) };
    return job.status;
  }

  private async run(job: Job, signal: AbortSignal): Promise<void> {
    const { fps, all, videoCodec, recordings } = job.status;
    try {
      const { result, maxRssKb } = await this.runWorker(job, signal, {
        type: 'start', recordings: recordings.map((n) => recordingPath(this.store.dir, n)), outDir: job.dir, fps, all, videoCodec,
        ...(this.options.ffmpegPath !== undefined ? { ffmpegPath: this.options.ffmpegPath } : {}),
      });
      job.worker = { ...job.worker, maxRssKb };
      const skipped = new Set(result.skipped.map((s) => s.path));
      // The finish time goes with the status: prune() must never see a finished job without it.
      job.finishedMs = Date.now();
      job.status = {
        ...job.status, status: 'done', progress: 1, phase: 'done', episodes: result.episodes, frames: result.frames,
        bytes: result.files.reduce((n, f) => n + f.bytes, 0), skipped: recordings.filter((n) => skipped.has(recordingPath(this.store.dir, n))),
        finishedAt: new Date().toISOString(), download: `/api/exports/${job.status.id}/download`,
      };
    } catch (err) {
      const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'EXPORT_FAILED';
      job.finishedMs = Date.now();
      job.status = { ...job.status, status: 'failed', phase: 'failed', finishedAt: new Date().toISOString(), error: { code, message: (err as Error)?.message ?? String(err) } };
      // The worker has exited: nothing writes into the folder any more. Removed in the background:
      // the job must not look failed yet busy (a retry would get EXPORT_BUSY) while this runs.
      void rm(job.dir, { recursive: true, force: true }).catch(() => undefined);
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Runs the export in a child process and settles once it has exited: with its result, or
   * throwing the export's coded error, the signal's reason (the worker killed), or
   * `EXPORT_WORKER_FAILED` when it died without saying why (crash, signal, out of memory).
   */
  private runWorker(job: Job, signal: AbortSignal, start: ExportWorkerStart): Promise<{ result: LeRobotExportResult; maxRssKb: number }> {
    return new Promise((resolve, reject) => {
      const { path, execArgv } = workerCommand();
      let child: ChildProcess;
      try {
        child = fork(path, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
      } catch (err) {
        reject(Object.assign(new Error(`export: could not start the export worker: ${(err as Error).message}`), { code: 'EXPORT_WORKER_FAILED' }));
        return;
      }
      job.worker = { pid: child.pid, maxRssKb: undefined };
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        stderr = (stderr + d).slice(-STDERR_TAIL);
      });
      let outcome: { result: LeRobotExportResult; maxRssKb: number } | { error: { code: string; message: string } } | undefined;
      let spawnError: Error | undefined;
      child.on('message', (m: ExportWorkerMessage) => {
        if (outcome !== undefined || signal.aborted) return;
        if (m.type === 'ready') child.send(start, (err) => void (err && child.kill('SIGKILL')));
        else if (m.type === 'progress') {
          // Never backwards, whatever arrives.
          if (m.progress >= job.status.progress) job.status = { ...job.status, progress: m.progress, phase: m.phase };
        } else if (m.type === 'done') outcome = { result: m.result, maxRssKb: m.maxRssKb };
        else if (m.type === 'error') outcome = { error: m.error };
      });
      let killTimer: NodeJS.Timeout | undefined;
      const kill = (): void => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), this.options.killGraceMs ?? 2000);
        killTimer.unref();
      };
      if (signal.aborted) kill();
      else signal.addEventListener('abort', kill, { once: true });
      let finished = false;
      const finish = (code: number | null, sig: NodeJS.Signals | null): void => {
        if (finished) return;
        finished = true;
        clearTimeout(killTimer);
        signal.removeEventListener('abort', kill);
        if (signal.aborted) return reject(signal.reason);
        if (outcome !== undefined && 'result' in outcome) return resolve(outcome);
        if (outcome !== undefined) return reject(Object.assign(new Error(outcome.error.message), { code: outcome.error.code }));
        const how = spawnError !== undefined && child.pid === undefined ? `could not start: ${spawnError.message}` : sig !== null ? `was killed by ${sig}` : `exited with code ${code}`;
        const tail = stderr.trim();
        reject(Object.assign(new Error(`export: the export worker (pid ${child.pid ?? '-'}) ${how} before finishing${tail ? `: ${tail}` : ''}`), { code: 'EXPORT_WORKER_FAILED' }));
      };
      child.on('error', (err) => {
        // Spawning failed (no 'exit' then), or a send to a dead worker: the exit says the rest.
        spawnError ??= err;
        if (child.pid === undefined) finish(null, null);
      });
      child.on('close', finish);
    });
  }

  /** A job's status, or 404 `NOT_FOUND`. */
  get(id: string): ExportJobStatus {
    this.prune();
    return this.job(id).status;
  }

  /** A job's worker process (tests, the benchmark), or 404 `NOT_FOUND`. */
  worker(id: string): ExportWorkerInfo {
    return this.job(id).worker;
  }

  /** Every kept job, newest first. */
  list(): ExportJobStatus[] {
    this.prune();
    return [...this.jobs.values()].map((j) => j.status).reverse();
  }

  /**
   * The archive's entries of a finished job (under a folder named like the archive), for
   * `tarStream`. Call the returned `release` when the download ends.
   * @throws HttpError 404 `NOT_FOUND`; 409 `EXPORT_NOT_READY` (running or failed).
   */
  async archive(id: string): Promise<{ filename: string; entries: TarEntry[]; release: () => void }> {
    const job = this.job(id);
    if (job.status.status !== 'done') {
      throw new HttpError(409, 'EXPORT_NOT_READY', `http: export ${id} is ${job.status.status}${job.status.status === 'running' ? `, ${Math.round(job.status.progress * 100)} %` : ''}; nothing to download`);
    }
    job.downloads++;
    try {
      const top = job.status.filename.replace(/\.tar$/, '');
      const entries: TarEntry[] = [];
      const walk = async (dir: string, rel: string): Promise<void> => {
        const names = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const d of names) {
          const full = join(dir, d.name);
          const name = `${rel}/${d.name}`;
          const st = await stat(full);
          if (d.isDirectory()) {
            entries.push({ kind: 'dir', name, mtimeMs: st.mtimeMs });
            await walk(full, name);
          } else if (d.isFile()) entries.push({ kind: 'file', name, mtimeMs: st.mtimeMs, size: st.size, source: full });
        }
      };
      entries.push({ kind: 'dir', name: top, mtimeMs: (await stat(job.dir)).mtimeMs });
      await walk(job.dir, top);
      let released = false;
      return {
        filename: job.status.filename, entries,
        release: () => {
          if (!released) job.downloads--;
          released = true;
        },
      };
    } catch (err) {
      job.downloads--;
      throw err;
    }
  }

  /** Removes every job's files; later starts are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    running?.abort.abort(new HttpError(503, 'EXPORT_CLOSED', 'http: the server closed during the export'));
    await running?.done;
    const root = this.root;
    this.jobs.clear();
    if (root !== undefined) await rm(await root.catch(() => ''), { recursive: true, force: true }).catch(() => undefined);
  }

  /** 409 `EXPORT_BUSY` while a job runs. */
  private assertIdle(): void {
    if (this.running !== undefined) throw new HttpError(409, 'EXPORT_BUSY', `http: export ${this.running.job.status.id} is still running; one export at a time`);
  }

  private job(id: string): Job {
    const job = /^[0-9a-f]{16}$/.test(id) ? this.jobs.get(id) : undefined;
    if (job === undefined) throw new HttpError(404, 'NOT_FOUND', `http: no export ${id} (finished exports are kept ${this.keep} at most, for ${Math.round(this.keepMs / 60_000)} min)`);
    return job;
  }

  /**
   * Forgets finished jobs older than `keepMs`, and beyond the newest `keep` (a new job prunes to
   * one less, making room for itself); their files are removed in the background. A job being
   * downloaded stays until the download ends.
   */
  private prune(keep = this.keep): void {
    const finished = [...this.jobs.values()].filter((j) => j.status.status !== 'running');
    const now = Date.now();
    for (const [i, j] of finished.entries()) {
      if ((i >= finished.length - keep && now - j.finishedMs <= this.keepMs) || j.downloads > 0) continue;
      this.jobs.delete(j.status.id);
      void rm(j.dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private workRoot(): Promise<string> {
    this.root ??= mkdtemp(join(this.options.workDir ?? tmpdir(), 'dexbridge-exports-'));
    return this.root;
  }
}
