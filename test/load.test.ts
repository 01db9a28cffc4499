/**
 * Load (issue 5), shortened for `npm test`: the server in this process, one operator at 120 Hz
 * (engaged) and 20 viewers for 8 s, one of them never reading (its socket paused right after its
 * `welcome`). Every operator frame must be answered by a state that reaches every reading viewer
 * (the viewer that never reads must not hold anyone back) and the heap must stay bounded.
 *
 * Latency is printed, never asserted: wall time on a shared 2-core machine is not something a
 * test can promise (`npm run bench:load` measures it). Nor can 8 s show the server skipping states
 * for the paused viewer: over loopback the kernel takes ~3.7 MB for it first (the server's socket
 * send queue, sized by the 64 KiB loopback MSS, plus the client's receive buffer), about 35 s of
 * states, before the server's own 64 KiB allowance fills; the 60 s benchmark reaches it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHandFramesJsonl } from '@dexbridge/retarget';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type RunningDexbridge, startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { createDecodedRobotState, decodeRobotState, encodeHandFrame, HAND_FRAME_BYTES } from '../server/src/protocol/index.js';
import { open, paced, sleep } from '../bench/wsTools.js';

const OP_TOKEN = 'load-test-operator-token';
const VIEWERS = 20; // one of them never reads
const RATE_HZ = 120;
const DURATION_MS = 8000;
const frames = parseHandFramesJsonl(readFileSync(new URL('../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);



/** Resolves on the first text message satisfying `pred`; rejects on an `error` message. */
function awaitJson(ws: WebSocket, pred: (m: Record<string, unknown>) => boolean): Promise<void> {
  return new Promise((done, fail) => {
    const onMessage = (d: Buffer, isBinary: boolean): void => {
      if (isBinary) return;
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (pred(m)) done();
      else if (m['type'] === 'error') fail(new Error(`${String(m['code'])}: ${String(m['message'])}`));
      else return;
      ws.off('message', onMessage);
    };
    ws.on('message', onMessage);
  });
}

async function hello(ws: WebSocket, msg: Record<string, unknown>): Promise<void> {
  const welcome = awaitJson(ws, (m) => m['type'] === 'welcome');
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, ...msg }));
  await welcome;
}

function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const MB = 1024 * 1024;

describe('load: one operator at 120 Hz, 20 viewers, one never reading', () => {
  let run: RunningDexbridge;
  let dir: string;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dexbridge-load-'));
    // staleMs is raised so that a stall of this (shared) test process cannot turn into refused
    // frames: the test is about fan-out, not about the staleness check.
    run = await startDexbridge({ port: 0, operatorToken: OP_TOKEN, record: 'off', recordingsDir: dir, staleMs: 60_000 });
  });

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await run?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every frame to every reading viewer, whatever the one that never reads does, and keeps memory bounded', async () => {
    const url = `ws://127.0.0.1:${run.port}/ws`;
    const reading = VIEWERS - 1;
    const maxFrames = Math.ceil((RATE_HZ * DURATION_MS) / 1000) + 2 * RATE_HZ;
    const answeredBy = Array.from({ length: reading }, () => new Uint8Array(maxFrames + 1));
    const latencies = new Float64Array(reading * maxFrames);
    let nLat = 0;
    let counting = false;
    const refSeqs: number[] = []; // every state seq, as reading viewer 0 sees them
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
        if (v === 0) refSeqs.push(s.seq);
        if (!counting || s.sourceSeq === 0 || s.sourceSeq > maxFrames) return;
        mine[s.sourceSeq] = 1;
        latencies[nLat++] = performance.now() - s.sourceTMs;
      });
    }

    const slow = await open(url);
    clients.push(slow);
    await hello(slow, { role: 'viewer', name: 'load-never-reads' });
    const slowSeqs: number[] = [];
    const slowInto = createDecodedRobotState();
    slow.on('message', (d: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const s = decodeRobotState(d, slowInto);
      if (s.ok) slowSeqs.push(s.seq);
    });
    const slowSocket = (slow as unknown as { _socket: Socket })._socket;
    slowSocket.pause();
    const pausedAfterSeq = Math.max(refSeqs.at(-1) ?? 0, slowSeqs.at(-1) ?? 0);

    const op = await open(url);
    clients.push(op);
    await hello(op, { role: 'operator', token: OP_TOKEN, name: 'load-operator' });
    const leased = awaitJson(op, (m) => m['type'] === 'event' && m['event'] === 'lease');
    op.send(JSON.stringify({ type: 'lease_request' }));
    await leased;
    const engaged = awaitJson(op, (m) => m['type'] === 'event' && m['event'] === 'engage');
    op.send(JSON.stringify({ type: 'engage' }));
    await engaged;
    await sleep(300);

    const heapBefore = process.memoryUsage().heapUsed;
    const buf = new Uint8Array(HAND_FRAME_BYTES);
    counting = true;
    const framesSent = await paced(RATE_HZ, DURATION_MS, (i) => {
      const f = frames[i % frames.length]!;
      op.send(encodeHandFrame(buf, { seq: i + 1, tMs: performance.now(), left: f.left, right: f.right }));
    });
    // The last states in flight: every reading viewer got the answer to the last frame (or 30 s passed).
    for (const end = Date.now() + 30_000; Date.now() < end && !answeredBy.every((a) => a[framesSent] === 1); ) await sleep(20);
    counting = false;
    const endSeq = refSeqs.at(-1)!;
    await sleep(1000); // settle
    const heapAfter = process.memoryUsage().heapUsed;

    // Per frame: how many reading viewers got the state answering it.
    let answered = 0;
    const perViewer = answeredBy.map(() => 0);
    for (let seq = 1; seq <= framesSent; seq++) {
      let n = 0;
      answeredBy.forEach((a, v) => {
        if (a[seq] === 1) {
          n++;
          perViewer[v]!++;
        }
      });
      if (n > 0) answered++;
    }

    slowSocket.resume();
    // Once it reads again, the paused viewer catches up to the end of the run (or 30 s passed).
    for (const end = Date.now() + 30_000; Date.now() < end && !slowSeqs.some((s) => s >= endSeq); ) await sleep(20);
    const slowPublished = refSeqs.filter((s) => s > pausedAfterSeq && s <= endSeq).length;
    const slowReceived = slowSeqs.filter((s) => s > pausedAfterSeq && s <= endSeq).length;
    const lat = latencies.subarray(0, nLat);
    console.log(
      `load: ${framesSent} frames sent, ${answered} answered; reading viewers got ${Math.min(...perViewer)}..${Math.max(...perViewer)} states each; ` +
        `latency p50 ${percentile(lat, 0.5).toFixed(2)} ms, p99 ${percentile(lat, 0.99).toFixed(2)} ms, max ${percentile(lat, 1).toFixed(2)} ms; ` +
        `the viewer that never read got ${slowReceived} of ${slowPublished} states once it read again; ` +
        `heap ${(heapBefore / MB).toFixed(1)} → ${(heapAfter / MB).toFixed(1)} MB`,
    );

    expect(framesSent).toBeGreaterThan(RATE_HZ); // the operator did stream
    expect(answered).toBe(framesSent); // no operator frame dropped
    for (const n of perViewer) expect(n).toBe(answered); // every reading viewer got every answered state
    // Once it reads again, the paused viewer gets states in order, never one twice.
    expect(slowReceived).toBeGreaterThan(0);
    expect(slowReceived).toBeLessThanOrEqual(slowPublished);
    expect(slowSeqs.every((seq, k) => k === 0 || seq > slowSeqs[k - 1]!)).toBe(true);
    // Memory bounded (no gc() here: a generous bound on the heap after a settle period).
    expect((heapAfter - heapBefore) / MB).toBeLessThan(30);
  }, 120_000);
});
