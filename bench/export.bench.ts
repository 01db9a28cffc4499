/**
 * Export of a 1-hour recording (issue 6): synthesises one hour at 90 Hz with the server's own
 * `Recorder` (hand frames from the bundled Quest session, joint states as a random walk within
 * the rig's limits, actions as a random walk), then exports it as a LeRobot dataset at 30 fps
 * through the server's HTTP export job (which runs it in a worker process) and records under
 * `export.*`: wall time, the worker's peak RSS, the server process's longest event-loop stall and
 * slowest `/healthz` answer during the job, output size and frames.
 *
 * Not part of `npm run bench` by default (it takes minutes): `npm run bench -- export`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ACTION_DIM, createRig, parseHandFramesJsonl, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { exportLeRobot, FileSink, MjpegSplitter, Recorder, startDexbridge } from '@dexbridge/server';
import { rigUrdf } from '@dexbridge/urdf';
import { repoUrl, round } from './results.js';

const RATE_HZ = 90;
const FPS = 30;
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

/** A deterministic generator (mulberry32), so every run writes the same recording. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function writeHour(path: string, seconds: number): Promise<{ messages: number; bytes: number; ms: number }> {
  const started = performance.now();
  const frames = parseHandFramesJsonl(readFileSync(repoUrl('server/data/quest3-hands.jsonl'), 'utf8'));
  const rig = createRig();
  const limits = STATE_JOINT_NAMES.map((n) => rig.jointLimit(n) ?? { lower: -Math.PI, upper: Math.PI });
  const recorder = await Recorder.open(await FileSink.create(path), {
    softwareVersion: 'bench', startedAtIso: new Date(T0).toISOString(), urdf: rigUrdf(),
    operator: 'bench', task: 'one hour of random-walk teleoperation', flushIntervalMs: 0,
  });
  const rnd = random(6);
  const q = limits.map((l) => (l.lower + l.upper) / 2);
  const action = new Float64Array(ACTION_DIM);
  const steps = Math.round(seconds * RATE_HZ);
  for (let i = 0; i < steps; i++) {
    const t = T0 + (i * 1000) / RATE_HZ;
    const f = frames[i % frames.length]!;
    recorder.writeHandFrame(t, i, f.left, f.right, t);
    for (let k = 0; k < q.length; k++) {
      const { lower, upper } = limits[k]!;
      q[k] = Math.min(upper, Math.max(lower, q[k]! + (rnd() - 0.5) * 0.01 * (upper - lower)));
    }
    for (let k = 0; k < ACTION_DIM; k++) action[k] = Math.min(1, Math.max(-1, action[k]! + (rnd() - 0.5) * 0.01));
    recorder.writeJointState(t, q);
    recorder.writeAction(t, action);
    // The recorder queues closed chunks for the file; let it write them (10 s of data at a time).
    if (i % (10 * RATE_HZ) === 0) await recorder.flush();
  }
  recorder.setOutcome({ success: true });
  const stats = await recorder.close();
  return { messages: stats.messages, bytes: statSync(path).size, ms: performance.now() - started };
}

interface JobFigures {
  ms: number;
  workerPid: number;
  workerMaxRssMb: number;
  serverMaxEventLoopBlockMs: number;
  healthzProbes: number;
  healthzMaxMs: number;
  frames: number;
  episodes: number;
  bytes: number;
}

/**
 * The export as the dashboard runs it: `POST /api/exports` to a server started here (control loop
 * running), polled until done, while this process (the server's) measures its own event-loop
 * stalls and probes `/healthz` every 50 ms. The export itself runs in the job's worker process.
 */
async function httpExport(dir: string, name: string): Promise<JobFigures> {
  const operatorToken = 'bench-operator-token';
  const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'off', operatorToken });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let probing = true;
  let healthzProbes = 0;
  let healthzMaxMs = 0;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await (await fetch(`${run.url}/healthz`)).arrayBuffer();
      healthzMaxMs = Math.max(healthzMaxMs, performance.now() - t);
      healthzProbes++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    loop.enable();
    const started = performance.now();
    const res = await fetch(`${run.url}/api/exports`, {
      method: 'POST', headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ recordings: [name], fps: FPS }),
    });
    if (res.status !== 202) throw new Error(`bench: POST /api/exports answered ${res.status}: ${await res.text()}`);
    let job = (await res.json()) as { id: string; status: string; frames: number; episodes: number; bytes: number; error?: unknown };
    const workerPid = run.exports.worker(job.id).pid ?? 0;
    while (job.status === 'running') {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(`${run.url}/api/exports/${job.id}`)).json()) as typeof job;
    }
    const ms = performance.now() - started;
    loop.disable();
    if (job.status !== 'done') throw new Error(`bench: the export failed: ${JSON.stringify(job.error)}`);
    probing = false;
    await probe;
    return {
      ms, workerPid, workerMaxRssMb: (run.exports.worker(job.id).maxRssKb ?? Number.NaN) / 1024, serverMaxEventLoopBlockMs: loop.max / 1e6,
      healthzProbes, healthzMaxMs, frames: job.frames, episodes: job.episodes, bytes: job.bytes,
    };
  } finally {
    probing = false;
    loop.disable();
    await probe.catch(() => undefined);
    await run.close();
  }
}

/** `minutes`: the recording's length (shorter for a quick look). */
export async function runExportBenchmarks(minutes = 60): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-bench-export-'));
  try {
    const recording = join(dir, 'hour.mcap');
    const w = await writeHour(recording, minutes * 60);
    console.log(`  recording: ${minutes} min at ${RATE_HZ} Hz, ${w.messages} messages, ${(w.bytes / 1e9).toFixed(2)} GB, written in ${(w.ms / 1000).toFixed(1)} s`);
    const x = await httpExport(dir, 'hour.mcap');
    console.log(
      `  export job at ${FPS} fps over HTTP: ${x.frames} frames, ${(x.bytes / 1e6).toFixed(1)} MB in ${(x.ms / 1000).toFixed(1)} s; ` +
        `worker (pid ${x.workerPid}) peak RSS ${x.workerMaxRssMb.toFixed(0)} MB; server: longest event-loop stall ${x.serverMaxEventLoopBlockMs.toFixed(0)} ms, ` +
        `slowest of ${x.healthzProbes} /healthz ${x.healthzMaxMs.toFixed(0)} ms`,
    );
    return {
      'export.recording_minutes': minutes,
      'export.recording_hz': RATE_HZ,
      'export.recording_gb': round(w.bytes / 1e9),
      'export.recording_messages': w.messages,
      'export.fps': FPS,
      'export.frames': x.frames,
      'export.wall_s': round(x.ms / 1000),
      'export.peak_rss_mb': round(x.workerMaxRssMb),
      'export.max_event_loop_block_ms': round(x.serverMaxEventLoopBlockMs),
      'export.healthz_max_ms': round(x.healthzMaxMs),
      'export.output_mb': round(x.bytes / 1e6),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Camera video in the export (issue 13): `seconds` of one 640×480 camera at 30 Hz (ffmpeg's
 * moving `testsrc2` pattern as JPEGs, like a real camera's picture changing every frame) beside
 * joint states and actions at 90 Hz, exported at 30 fps with each codec. The encoder's wall time
 * (ffmpeg started to exited: it includes reading the images back out of the recording, which
 * feeds it) is extrapolated to one hour of one camera. `npm run bench -- export-video`.
 */
export async function runExportVideoBenchmarks(seconds = 60): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-bench-export-video-'));
  try {
    const cameraHz = 30;
    const stream = execFileSync(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x480:rate=${cameraHz}`, '-frames:v', String(seconds * cameraHz), '-c:v', 'mjpeg', '-q:v', '5', '-f', 'mjpeg', 'pipe:1'],
      { maxBuffer: 1 << 30 },
    );
    const images = new MjpegSplitter().push(stream).map((i) => i.data);
    const path = join(dir, 'camera.mcap');
    const recorder = await Recorder.open(await FileSink.create(path), {
      softwareVersion: 'bench', startedAtIso: new Date(T0).toISOString(), urdf: rigUrdf(), task: 'camera', flushIntervalMs: 0, cameras: ['head'],
    });
    const q = new Array<number>(STATE_JOINT_NAMES.length).fill(0);
    const action = new Float64Array(ACTION_DIM);
    for (let i = 0; i < seconds * RATE_HZ; i++) {
      const t = T0 + (i * 1000) / RATE_HZ;
      recorder.writeJointState(t, q);
      recorder.writeAction(t, action);
      if (i % (RATE_HZ / cameraHz) === 0) recorder.writeCameraFrame('head', t, 'jpeg', images[(i / (RATE_HZ / cameraHz)) % images.length]!);
      if (i % (10 * RATE_HZ) === 0) await recorder.flush();
    }
    recorder.setOutcome({ success: true });
    await recorder.close();
    const mcapMb = statSync(path).size / 1e6;
    console.log(`  recording: ${seconds} s, one 640×480 camera at ${cameraHz} Hz (${images.length} JPEGs), ${mcapMb.toFixed(1)} MB`);
    const figures: Record<string, number> = { 'export.video_test_seconds': seconds };
    for (const codec of ['av1', 'h264'] as const) {
      const started = performance.now();
      const result = await exportLeRobot({ recordings: [path], outDir: join(dir, `ds-${codec}`), fps: FPS, videoCodec: codec });
      const wallMs = performance.now() - started;
      const video = result.videos[0]!;
      const perHour = 3600 / seconds;
      console.log(
        `  ${codec} (${video.encoder}): ${video.frames} frames in ${(video.ms / 1000).toFixed(1)} s of encoding (export ${(wallMs / 1000).toFixed(1)} s), ` +
          `${(video.bytes / 1e6).toFixed(1)} MB → ${((video.ms / 1000) * perHour).toFixed(0)} s and ${((video.bytes / 1e6) * perHour).toFixed(0)} MB per hour of one camera`,
      );
      const prefix = codec === 'av1' ? 'export.video' : 'export.video_h264';
      figures[`${prefix}_s_per_hour`] = round((video.ms / 1000) * perHour);
      figures[`${prefix}_mb_per_hour`] = round((video.bytes / 1e6) * perHour);
      figures[`${prefix}_export_wall_s`] = round(wallMs / 1000);
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
