/**
 * Export of a 1-hour recording (issue 6): synthesises one hour at 90 Hz with the server's own
 * `Recorder` (hand frames from the bundled Quest session, joint states as a random walk within
 * the rig's limits, actions as a random walk), then exports it as a LeRobot dataset at 30 fps in
 * a child process (so its peak RSS is the export's alone) and records wall time, peak RSS, the
 * longest event-loop stall, output size and frames under `export.*`.
 *
 * Not part of `npm run bench` by default (it takes minutes): `npm run bench -- export`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ACTION_DIM, createRig, parseHandFramesJsonl, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { exportLeRobot, FileSink, Recorder } from '@dexbridge/server';
import { rigUrdf } from '@dexbridge/urdf';
import { REPO_ROOT, repoUrl, round } from './results.js';

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

interface ChildFigures {
  ms: number;
  maxRssMb: number;
  maxEventLoopBlockMs: number;
  progressCalls: number;
  frames: number;
  episodes: number;
  bytes: number;
}

/** In the child: one export, then its figures as a JSON line. */
async function childExport(recording: string, out: string): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let progressCalls = 0;
  const started = performance.now();
  const r = await exportLeRobot({ recordings: [recording], outDir: out, fps: FPS, onProgress: () => void progressCalls++ });
  const ms = performance.now() - started;
  loop.disable();
  const figures: ChildFigures = {
    ms, maxRssMb: process.resourceUsage().maxRSS / 1024, maxEventLoopBlockMs: loop.max / 1e6, progressCalls,
    frames: r.frames, episodes: r.episodes, bytes: r.files.reduce((n, f) => n + f.bytes, 0),
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

function runChild(recording: string, out: string): Promise<ChildFigures> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, recording, out], { cwd: fileURLToPath(REPO_ROOT), stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return new Promise((done, fail) => {
    child.once('exit', (code) => (code === 0 ? done(JSON.parse(text.trim().split('\n').at(-1)!) as ChildFigures) : fail(new Error(`bench: export child exited ${code}: ${text}`))));
  });
}

/** `minutes`: the recording's length (shorter for a quick look). */
export async function runExportBenchmarks(minutes = 60): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-bench-export-'));
  try {
    const recording = join(dir, 'hour.mcap');
    const w = await writeHour(recording, minutes * 60);
    console.log(`  recording: ${minutes} min at ${RATE_HZ} Hz, ${w.messages} messages, ${(w.bytes / 1e9).toFixed(2)} GB, written in ${(w.ms / 1000).toFixed(1)} s`);
    const x = await runChild(recording, join(dir, 'dataset'));
    console.log(
      `  export at ${FPS} fps: ${x.frames} frames, ${(x.bytes / 1e6).toFixed(1)} MB in ${(x.ms / 1000).toFixed(1)} s, ` +
        `peak RSS ${x.maxRssMb.toFixed(0)} MB, longest event-loop stall ${x.maxEventLoopBlockMs.toFixed(0)} ms, ${x.progressCalls} progress calls`,
    );
    return {
      'export.recording_minutes': minutes,
      'export.recording_hz': RATE_HZ,
      'export.recording_gb': round(w.bytes / 1e9),
      'export.recording_messages': w.messages,
      'export.fps': FPS,
      'export.frames': x.frames,
      'export.wall_s': round(x.ms / 1000),
      'export.peak_rss_mb': round(x.maxRssMb),
      'export.max_event_loop_block_ms': round(x.maxEventLoopBlockMs),
      'export.output_mb': round(x.bytes / 1e6),
      'export.progress_calls': x.progressCalls,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await childExport(process.argv[2]!, process.argv[3]!);
}
