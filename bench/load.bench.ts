/**
 * Load (issue 5): the server in its own process (recording off), one operator at 120 Hz (engaged,
 * frames from the bundled Quest session stamped with `performance.now()`) and 50 viewers for 60 s,
 * one of them a viewer that never reads (its socket is paused right after its `welcome`). Measures
 * frames answered, latency operator frame → reading viewer state, the server's RSS (VmRSS every
 * second) and CPU (utime + stime), and what the paused viewer gets once it reads again ("latest
 * wins": it skips states instead of growing the server's memory or delaying the others).
 *
 * Not part of `npm run bench` by default (it takes over a minute): `npm run bench:load`.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHandFramesJsonl } from '@dexbridge/retarget';
import { createDecodedRobotState, decodeRobotState, encodeHandFrame, HAND_FRAME_BYTES } from '@dexbridge/server/protocol';
import type { WebSocket } from 'ws';
import { percentile, REPO_ROOT, repoUrl, round } from './results.js';
import { open, paced, sleep, startServe } from './wsTools.js';

const ROOT = fileURLToPath(REPO_ROOT);
const OP_TOKEN = 'bench-load-operator-token';
const VIEWERS = 50; // one of them never reads
const RATE_HZ = 120;
const DURATION_MS = 60_000;


function startServer(recordingsDir: string): Promise<{ child: ChildProcess; port: number }> {
  const args = ['server/bin/dexbridge.js', 'serve', '--port', '0', '--operator-token', OP_TOKEN, '--record', 'off', '--recordings', recordingsDir];
  return startServe(process.execPath, args, ROOT);
}


/** Sends `hello` and resolves on `welcome` (rejects on an `error`). */
function hello(ws: WebSocket, msg: Record<string, unknown>): Promise<void> {
  return new Promise((done, fail) => {
    const onMessage = (d: Buffer, isBinary: boolean): void => {
      if (isBinary) return;
      const m = JSON.parse(d.toString()) as { type: string; code?: string };
      if (m.type === 'welcome') done();
      else if (m.type === 'error') fail(new Error(`bench: hello refused: ${m.code}`));
      else return;
      ws.off('message', onMessage);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, ...msg }));
  });
}

/** Resolves on the first text message satisfying `pred` (rejects on an `error`). */
function awaitJson(ws: WebSocket, pred: (m: Record<string, unknown>) => boolean, what: string): Promise<void> {
  return new Promise((done, fail) => {
    const onMessage = (d: Buffer, isBinary: boolean): void => {
      if (isBinary) return;
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (pred(m)) done();
      else if (m['type'] === 'error') fail(new Error(`bench: ${what}: ${String(m['code'])} ${String(m['message'])}`));
      else return;
      ws.off('message', onMessage);
    };
    ws.on('message', onMessage);
  });
}


/** The process's resident set, MB (VmRSS). */
function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** CPU time the process has used (user + system), clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

interface LoadRun {
  durationS: number;
  framesSent: number;
  framesAnswered: number;
  statesOut: number;
  readingViewersComplete: number;
  latencies: Float64Array;
  rss: { start: number; peak: number; end: number };
  cpuPercent: number;
  slowPublished: number;
  slowReceived: number;
  /** Seconds into the run when the server first skipped a state for the paused viewer (NaN: never). */
  slowFirstSkipS: number;
}

async function measureLoad(): Promise<LoadRun> {
  if (process.platform !== 'linux') throw new Error('bench: load reads /proc/<pid>: Linux only');
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-load-'));
  const { child, port } = await startServer(dir);
  const pid = child.pid!;
  const url = `ws://127.0.0.1:${port}/ws`;
  const maxFrames = Math.ceil((RATE_HZ * DURATION_MS) / 1000) + 2 * RATE_HZ;
  const reading = VIEWERS - 1;
  const clients: WebSocket[] = [];
  try {
    // Reading viewers: every state answering a frame is marked per viewer (by sourceSeq).
    const answeredBy = Array.from({ length: reading }, () => new Uint8Array(maxFrames + 1));
    const latencies = new Float64Array(reading * maxFrames);
    let nLat = 0;
    let statesOut = 0;
    let counting = false;
    let refLastSeq = 0; // the last state seq seen by viewer 0 (a reading viewer sees every state)
    const refSeqs: number[] = [];
    const refTimes: number[] = [];
    for (let v = 0; v < reading; v++) {
      const ws = await open(url);
      clients.push(ws);
      await hello(ws, { role: 'viewer', name: `load-${v}` });
      const into = createDecodedRobotState();
      const mine = answeredBy[v]!;
      ws.on('message', (d: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const s = decodeRobotState(d, into);
        if (!s.ok) return;
        if (v === 0) {
          refLastSeq = s.seq;
          refSeqs.push(s.seq);
          refTimes.push(performance.now());
        }
        if (!counting) return;
        statesOut++;
        if (s.sourceSeq === 0 || s.sourceSeq > maxFrames) return;
        mine[s.sourceSeq] = 1;
        latencies[nLat++] = performance.now() - s.sourceTMs;
      });
    }

    // The viewer that never reads: its socket is paused right after the welcome.
    const slow = await open(url);
    clients.push(slow);
    await hello(slow, { role: 'viewer', name: 'load-never-reads' });
    const slowInto = createDecodedRobotState();
    const slowSeqs: number[] = [];
    slow.on('message', (d: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const s = decodeRobotState(d, slowInto);
      if (s.ok) slowSeqs.push(s.seq);
    });
    const slowSocket = (slow as unknown as { _socket: Socket })._socket;
    slowSocket.pause();
    const pausedAfterSeq = Math.max(refLastSeq, slowSeqs.at(-1) ?? 0);

    // The operator: takes the lease (idle → teleop) and engages both arms.
    const op = await open(url);
    clients.push(op);
    await hello(op, { role: 'operator', token: OP_TOKEN, name: 'load-operator' });
    const leased = awaitJson(op, (m) => m['type'] === 'event' && m['event'] === 'lease', 'lease_request');
    op.send(JSON.stringify({ type: 'lease_request' }));
    await leased;
    const engaged = awaitJson(op, (m) => m['type'] === 'event' && m['event'] === 'engage', 'engage');
    op.send(JSON.stringify({ type: 'engage' }));
    await engaged;
    await sleep(500);

    const frames = parseHandFramesJsonl(readFileSync(repoUrl('server/data/quest3-hands.jsonl'), 'utf8')).filter((f) => f.left && f.right);
    const buf = new Uint8Array(HAND_FRAME_BYTES);
    const ticksPerS = clockTicksPerSecond();
    const rss = { start: rssMb(pid), peak: 0, end: Number.NaN };
    rss.peak = rss.start;
    const sampler = setInterval(() => {
      rss.peak = Math.max(rss.peak, rssMb(pid));
    }, 1000);
    const cpu0 = cpuTicks(pid);
    const t0 = performance.now();
    counting = true;
    const framesSent = await paced(RATE_HZ, DURATION_MS, (i) => {
      const f = frames[i % frames.length]!;
      op.send(encodeHandFrame(buf, { seq: i + 1, tMs: performance.now(), left: f.left, right: f.right }));
    });
    const durationS = (performance.now() - t0) / 1000;
    const cpu1 = cpuTicks(pid);
    await sleep(500); // the last states in flight
    counting = false;
    clearInterval(sampler);
    rss.end = rssMb(pid);
    rss.peak = Math.max(rss.peak, rss.end);
    const endSeq = refLastSeq;

    let framesAnswered = 0;
    for (let seq = 1; seq <= framesSent; seq++) {
      if (answeredBy.some((a) => a[seq] === 1)) framesAnswered++;
    }
    let readingViewersComplete = 0;
    for (const a of answeredBy) {
      let n = 0;
      for (let seq = 1; seq <= framesSent; seq++) n += a[seq]!;
      if (n === framesAnswered) readingViewersComplete++;
    }

    // The paused viewer reads again: what the server had kept for it arrives, then new states.
    slowSocket.resume();
    await sleep(2000);
    const slowPublished = refSeqs.filter((s) => s > pausedAfterSeq && s <= endSeq).length;
    const slowReceived = slowSeqs.filter((s) => s > pausedAfterSeq && s <= endSeq).length;
    // When the server started skipping it: the first state published that it never got.
    const got = new Set(slowSeqs);
    const firstSkipped = refSeqs.findIndex((s) => s > pausedAfterSeq && s <= endSeq && !got.has(s));
    const slowFirstSkipS = firstSkipped < 0 ? Number.NaN : (refTimes[firstSkipped]! - t0) / 1000;

    return {
      durationS, framesSent, framesAnswered, statesOut, readingViewersComplete, latencies: latencies.subarray(0, nLat), rss,
      cpuPercent: ((cpu1 - cpu0) / ticksPerS / durationS) * 100, slowPublished, slowReceived, slowFirstSkipS,
    };
  } finally {
    for (const ws of clients) ws.terminate();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runLoadBenchmarks(): Promise<Record<string, number>> {
  const r = await measureLoad();
  const lat = Array.from(r.latencies);
  const figures = {
    'load.duration_s': round(r.durationS),
    'load.operator_hz': RATE_HZ,
    'load.operator_hz_achieved': round(r.framesSent / r.durationS),
    'load.viewers': VIEWERS,
    'load.frames_sent': r.framesSent,
    'load.frames_answered': r.framesAnswered,
    'load.operator_frames_dropped': r.framesSent - r.framesAnswered,
    'load.states_out': r.statesOut,
    'load.reading_viewers_with_every_state': r.readingViewersComplete,
    'load.latency_ms.p50': round(percentile(lat, 0.5)),
    'load.latency_ms.p99': round(percentile(lat, 0.99)),
    'load.latency_ms.max': round(percentile(lat, 1)),
    'load.server_rss_mb.start': round(r.rss.start),
    'load.server_rss_mb.peak': round(r.rss.peak),
    'load.server_rss_mb.end': round(r.rss.end),
    'load.server_rss_mb.growth': round(r.rss.peak - r.rss.start),
    'load.server_cpu_percent': round(r.cpuPercent, 3),
    'load.slow_viewer_states_published': r.slowPublished,
    'load.slow_viewer_states_received': r.slowReceived,
    'load.slow_viewer_states_skipped': r.slowPublished - r.slowReceived,
    'load.slow_viewer_first_skip_s': round(r.slowFirstSkipS),
  };
  for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(44)} ${v}`);
  if (figures['load.operator_frames_dropped'] !== 0) console.log(`    WARNING: ${figures['load.operator_frames_dropped']} operator frames were never answered`);
  if (figures['load.server_rss_mb.growth'] >= 50) console.log(`    WARNING: the server's RSS grew by ${figures['load.server_rss_mb.growth']} MB (bound: 50)`);
  return figures;
}
