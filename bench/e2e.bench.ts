/**
 * End-to-end latency (issue 3): an operator's hand frame leaving the client → the robot state
 * answering it arriving at a viewer, over loopback, operator at 90 Hz with 20 viewers connected;
 * next to a bare `ws` echo of a message of the same size measured in the same run. The server and
 * the echo run in their own processes, as in production; the clients share this one.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHandFramesJsonl } from '@dexbridge/retarget';
import { decodeRobotState, createDecodedRobotState, encodeHandFrame, HAND_FRAME_BYTES } from '@dexbridge/server/protocol';
import type { WebSocket } from 'ws';
import { percentile, REPO_ROOT, repoUrl, round } from './results.js';
import { open, paced, sleep, startServe } from './wsTools.js';

const ROOT = fileURLToPath(REPO_ROOT);
const OP_TOKEN = 'bench-operator-token';
const VIEWERS = 20;
const RATE_HZ = 90;

function startChild(args: string[], portPattern: RegExp): Promise<{ child: ChildProcess; port: number }> {
  return startServe(process.execPath, args, ROOT, portPattern);
}

const ECHO_SERVER = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (d, bin) => ws.send(d, { binary: bin })));
wss.on('listening', () => console.log('port ' + wss.address().port));
`;




async function measureEcho(durationMs: number): Promise<number[]> {
  const { child, port } = await startChild(['--input-type=module', '-e', ECHO_SERVER], /port (\d+)/);
  try {
    const ws = await open(`ws://127.0.0.1:${port}`);
    const sent = new Map<number, number>();
    const rtt: number[] = [];
    const msg = new Uint8Array(HAND_FRAME_BYTES);
    const dv = new DataView(msg.buffer);
    ws.on('message', (d: Buffer) => {
      const t0 = sent.get(d.readUInt32LE(4));
      if (t0 !== undefined) rtt.push(performance.now() - t0);
    });
    await paced(RATE_HZ, durationMs, (i) => {
      dv.setUint32(4, i, true);
      sent.set(i, performance.now());
      ws.send(msg);
    });
    await sleep(100);
    ws.close();
    return rtt.slice(RATE_HZ); // drop the first second (warm-up)
  } finally {
    child.kill();
  }
}

async function measureBridge(durationMs: number): Promise<{ latencies: number[]; framesSent: number; viewersComplete: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-bench-'));
  const { child, port } = await startChild(
    ['server/bin/dexbridge.js', 'serve', '--port', '0', '--operator-token', OP_TOKEN, '--record', 'off', '--recordings', dir],
    /on http:\/\/127\.0\.0\.1:(\d+)/,
  );
  try {
    const url = `ws://127.0.0.1:${port}/ws`;
    const sent = new Map<number, number>();
    const latencies: number[] = [];
    const perViewer = new Array<number>(VIEWERS).fill(0);
    const viewers: WebSocket[] = [];
    for (let v = 0; v < VIEWERS; v++) {
      const ws = await open(url);
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'viewer', name: `bench-${v}` }));
      const into = createDecodedRobotState();
      ws.on('message', (d: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const s = decodeRobotState(d, into);
        if (!s.ok || s.sourceSeq === 0) return;
        const t0 = sent.get(s.sourceSeq);
        if (t0 !== undefined) {
          latencies.push(performance.now() - t0);
          perViewer[v]!++;
        }
      });
      viewers.push(ws);
    }
    const op = await open(url);
    op.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'operator', token: OP_TOKEN, name: 'bench' }));
    await sleep(200);
    op.send(JSON.stringify({ type: 'engage' }));
    const frames = parseHandFramesJsonl(readFileSync(repoUrl('server/data/quest3-hands.jsonl'), 'utf8')).filter((f) => f.left && f.right);
    const buf = new Uint8Array(HAND_FRAME_BYTES);
    let warm = 0;
    const framesSent = await paced(RATE_HZ, durationMs, (i) => {
      const f = frames[i % frames.length]!;
      const t = performance.now();
      op.send(encodeHandFrame(buf, { seq: i + 1, tMs: t, left: f.left, right: f.right }));
      // The first second is warm-up: those frames are not measured.
      if (i >= RATE_HZ) sent.set(i + 1, t);
      else warm++;
    });
    await sleep(200);
    for (const ws of [op, ...viewers]) ws.close();
    return { latencies, framesSent: framesSent - warm, viewersComplete: perViewer.filter((n) => n >= (framesSent - warm) * 0.99).length };
  } finally {
    child.kill();
  }
}

export async function runE2eBenchmarks(): Promise<Record<string, number>> {
  const durationMs = 10_000;
  const echo = await measureEcho(durationMs);
  const bridge = await measureBridge(durationMs);
  const figures = {
    'e2e.latency_ms.p50': round(percentile(bridge.latencies, 0.5)),
    'e2e.latency_ms.p99': round(percentile(bridge.latencies, 0.99)),
    'e2e.echo_ms.p50': round(percentile(echo, 0.5)),
    'e2e.echo_ms.p99': round(percentile(echo, 0.99)),
    'e2e.viewers': VIEWERS,
    'e2e.operator_hz': RATE_HZ,
    'e2e.frames_measured': bridge.framesSent,
    'e2e.states_received': bridge.latencies.length,
    'e2e.viewers_with_every_state': bridge.viewersComplete,
  };
  for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(44)} ${v}`);
  return figures;
}
