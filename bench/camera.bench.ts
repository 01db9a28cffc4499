/**
 * Cameras (issue 13): the server in its own process (recording off), 3 synthetic ffmpeg cameras
 * 640×480 at 30 Hz (`testsrc2`, MJPEG `-q:v 5`) and 20 viewers on loopback, every viewer
 * subscribed to every camera; then the same server without cameras. Measures:
 * - `camera.ingest_to_viewer_ms`: the server had the frame (its `captureTimeMs`, on the server
 *   clock) → a viewer received it, on the server clock (offset from the ping with the smallest
 *   round trip, < 0.2 ms on loopback);
 * - `camera.cpu_per_camera`: CPU of the ffmpeg children plus the server's extra CPU with cameras,
 *   per camera, as a share of one core;
 * - `camera.state_latency_delta_ms`: robot-state latency (state made → viewer received, server
 *   clock) with cameras minus without, p50 and p99;
 * - `recording.mb_per_hour_per_camera`: one such camera recorded (zstd, as the server does) for
 *   10 s in this process, extrapolated to an hour;
 * - `camera.h264.*` and `recording.h264.mb_per_hour_per_camera`: the same three cameras and one
 *   recorded camera with `codec: "h264"` (libx264, the camera's low-latency settings, CRF 23).
 * The viewers all live in this one process: on 2 cores they compete with the server and ffmpeg,
 * so the latencies are upper bounds for a machine of this size.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FfmpegCamera, loadZstdCompressor, MemorySink, Recorder } from '@dexbridge/server';
import { rigUrdf } from '@dexbridge/urdf';
import type { WebSocket } from 'ws';
import { percentile, REPO_ROOT, round } from './results.js';
import { open, sleep, startServe } from './wsTools.js';

const ROOT = fileURLToPath(REPO_ROOT);
const VIEWERS = 20;
const CAMERAS = 3;
const PHASE_MS = 15_000;
const RECORD_MS = 10_000;

type Codec = 'jpeg' | 'h264';
const encoding = (codec: Codec): Record<string, unknown> => (codec === 'h264' ? { codec: 'h264' } : { quality: 5 });
const camera = (id: string, codec: Codec): Record<string, unknown> => ({ id, source: 'ffmpeg', input: 'testsrc2=size=640x480:rate=30', format: 'lavfi', realtime: true, ...encoding(codec) });

function startServer(dir: string, cameras: number, codec: Codec): Promise<{ child: ChildProcess; port: number }> {
  const config = join(dir, `robot-${cameras}-${codec}.json`);
  writeFileSync(config, JSON.stringify({ cameras: Array.from({ length: cameras }, (_, i) => camera(`cam${i}`, codec)) }));
  const args = ['server/bin/dexbridge.js', 'serve', '--port', '0', '--record', 'off', '--recordings', dir, '--robot-config', config];
  return startServe(process.execPath, args, ROOT);
}

/** CPU time the process has used (user + system), clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

const children = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);

function ticksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** Server clock − this process's clock, from the ping with the smallest round trip. */
async function clockOffset(ws: WebSocket): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  let offset = Number.NaN;
  for (let id = 1; id <= 30; id++) {
    const pong = new Promise<{ serverTimeMs: number; clientTimeMs: number }>((done) => {
      const on = (d: Buffer, bin: boolean): void => {
        if (bin) return;
        const m = JSON.parse(d.toString()) as { type: string; id?: number; serverTimeMs: number; clientTimeMs: number };
        if (m.type === 'pong' && m.id === id) {
          ws.off('message', on);
          done(m);
        }
      };
      ws.on('message', on);
    });
    ws.send(JSON.stringify({ type: 'ping', id, clientTimeMs: performance.now() }));
    const m = await pong;
    const t = performance.now();
    if (t - m.clientTimeMs < best) {
      best = t - m.clientTimeMs;
      offset = m.serverTimeMs - (m.clientTimeMs + t) / 2;
    }
    await sleep(20);
  }
  return offset;
}

interface Phase {
  stateLatencyMs: number[];
  cameraLatencyMs: number[];
  cameraFrames: number;
  serverCpuCores: number;
  ffmpegCpuCores: number;
  seconds: number;
}

async function phase(dir: string, cameras: number, codec: Codec = 'jpeg'): Promise<Phase> {
  const { child, port } = await startServer(dir, cameras, codec);
  const pid = child.pid!;
  const sockets: WebSocket[] = [];
  try {
    const url = `ws://127.0.0.1:${port}/ws`;
    const ids = Array.from({ length: cameras }, (_, i) => `cam${i}`);
    let counting = false;
    let offset = 0;
    const r: Phase = { stateLatencyMs: [], cameraLatencyMs: [], cameraFrames: 0, serverCpuCores: 0, ffmpegCpuCores: 0, seconds: 0 };
    for (let v = 0; v < VIEWERS; v++) {
      const ws = await open(url);
      sockets.push(ws);
      const welcomed = new Promise<void>((done) => {
        const on = (d: Buffer, bin: boolean): void => {
          if (!bin && (JSON.parse(d.toString()) as { type: string }).type === 'welcome') {
            ws.off('message', on);
            done();
          }
        };
        ws.on('message', on);
      });
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'viewer', name: `bench-${v}` }));
      await welcomed;
      ws.on('message', (d: Buffer, bin: boolean) => {
        if (!bin || !counting) return;
        const now = performance.now() + offset;
        if (d[0] === 2) r.stateLatencyMs.push(now - d.readDoubleLE(8));
        else if (d[0] === 5) {
          r.cameraLatencyMs.push(now - d.readDoubleLE(8));
          r.cameraFrames++;
        }
      });
    }
    offset = await clockOffset(sockets[0]!);
    if (ids.length > 0) for (const ws of sockets) ws.send(JSON.stringify({ type: 'camera_subscribe', cameras: ids }));
    await sleep(2000); // ffmpeg up, first frames out
    const ffmpeg = children(pid);
    const tps = ticksPerSecond();
    const s0 = cpuTicks(pid);
    const f0 = ffmpeg.map(cpuTicks);
    const t0 = performance.now();
    counting = true;
    await sleep(PHASE_MS);
    counting = false;
    r.seconds = (performance.now() - t0) / 1000;
    r.serverCpuCores = (cpuTicks(pid) - s0) / tps / r.seconds;
    r.ffmpegCpuCores = ffmpeg.reduce((a, p, i) => a + cpuTicks(p) - f0[i]!, 0) / tps / r.seconds;
    return r;
  } finally {
    for (const ws of sockets) ws.terminate();
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
  }
}

/** One 640×480 30 Hz camera recorded for RECORD_MS as the server records it; MB per hour. */
async function recordingMbPerHour(codec: Codec): Promise<number> {
  const sink = new MemorySink();
  const cameras = [{ id: 'cam0', codec }];
  const rec = await Recorder.open(sink, { softwareVersion: 'bench', startedAtIso: new Date().toISOString(), urdf: rigUrdf(), cameras, compressChunk: await loadZstdCompressor() });
  const cam = new FfmpegCamera({ id: 'cam0', input: 'testsrc2=size=640x480:rate=30', format: 'lavfi', realtime: true, ...encoding(codec), now: () => performance.now() });
  let first = Number.NaN;
  let last = Number.NaN;
  cam.start((f) => {
    if (Number.isNaN(first)) first = f.captureTimeMs;
    last = f.captureTimeMs;
    rec.writeCameraFrame('cam0', performance.timeOrigin + f.captureTimeMs, f.codec, f.data);
  });
  await sleep(RECORD_MS);
  await cam.close();
  await rec.close();
  // Less what a recording without images takes (header, URDF, summary).
  const empty = new MemorySink();
  await (await Recorder.open(empty, { softwareVersion: 'bench', startedAtIso: new Date().toISOString(), urdf: rigUrdf(), cameras, compressChunk: await loadZstdCompressor() })).close();
  const header = empty.bytes().length;
  const seconds = (last - first) / 1000;
  return ((sink.bytes().length - header) / seconds) * 3600 / 1e6;
}

export async function runCameraBenchmarks(): Promise<Record<string, number>> {
  if (process.platform !== 'linux') throw new Error('bench: camera reads /proc/<pid>: Linux only');
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-bench-camera-'));
  try {
    const without = await phase(dir, 0);
    const withCams = await phase(dir, CAMERAS);
    const mbPerHour = await recordingMbPerHour('jpeg');
    const withH264 = await phase(dir, CAMERAS, 'h264');
    const mbPerHourH264 = await recordingMbPerHour('h264');
    const cam = withCams.cameraLatencyMs;
    const figures: Record<string, number> = {
      'camera.ingest_to_viewer_ms.p50': round(percentile(cam, 0.5), 3),
      'camera.ingest_to_viewer_ms.p99': round(percentile(cam, 0.99), 3),
      'camera.frames_per_viewer_per_s': round(withCams.cameraFrames / VIEWERS / withCams.seconds, 3),
      'camera.cpu_per_camera': round((withCams.ffmpegCpuCores + Math.max(0, withCams.serverCpuCores - without.serverCpuCores)) / CAMERAS, 3),
      'camera.ffmpeg_cpu_per_camera': round(withCams.ffmpegCpuCores / CAMERAS, 3),
      'camera.server_cpu_cores.without': round(without.serverCpuCores, 3),
      'camera.server_cpu_cores.with': round(withCams.serverCpuCores, 3),
      'camera.state_latency_ms.p99.without': round(percentile(without.stateLatencyMs, 0.99), 3),
      'camera.state_latency_ms.p99.with': round(percentile(withCams.stateLatencyMs, 0.99), 3),
      'camera.state_latency_ms.p50.without': round(percentile(without.stateLatencyMs, 0.5), 3),
      'camera.state_latency_ms.p50.with': round(percentile(withCams.stateLatencyMs, 0.5), 3),
      'camera.state_latency_delta_ms': round(percentile(withCams.stateLatencyMs, 0.5) - percentile(without.stateLatencyMs, 0.5), 3),
      'camera.state_latency_delta_ms.p99': round(percentile(withCams.stateLatencyMs, 0.99) - percentile(without.stateLatencyMs, 0.99), 3),
      'recording.mb_per_hour_per_camera': round(mbPerHour, 4),
      // H.264: the same cameras with codec h264 (the extra server CPU against the same run without cameras).
      'camera.h264.ingest_to_viewer_ms.p50': round(percentile(withH264.cameraLatencyMs, 0.5), 3),
      'camera.h264.ingest_to_viewer_ms.p99': round(percentile(withH264.cameraLatencyMs, 0.99), 3),
      'camera.h264.frames_per_viewer_per_s': round(withH264.cameraFrames / VIEWERS / withH264.seconds, 3),
      'camera.h264.cpu_per_camera': round((withH264.ffmpegCpuCores + Math.max(0, withH264.serverCpuCores - without.serverCpuCores)) / CAMERAS, 3),
      'camera.h264.ffmpeg_cpu_per_camera': round(withH264.ffmpegCpuCores / CAMERAS, 3),
      'camera.h264.server_cpu_cores': round(withH264.serverCpuCores, 3),
      'camera.h264.state_latency_ms.p50': round(percentile(withH264.stateLatencyMs, 0.5), 3),
      'recording.h264.mb_per_hour_per_camera': round(mbPerHourH264, 4),
    };
    for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(42)} ${v}`);
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
