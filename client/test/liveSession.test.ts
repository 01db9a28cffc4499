/** The browser's connection code against a real dexbridge server (Node's `ws` stands in for the browser WebSocket). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHandFramesJsonl } from '@dexbridge/retarget';
import { type RunningDexbridge, startDexbridge } from '@dexbridge/server';
import { encodeHandFrame } from '@dexbridge/server/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BridgeClient } from '../src/net/BridgeClient.js';
import { LiveSession } from '../src/store/live.js';

const TOKEN = 'client-unit-operator-token';
let run: RunningDexbridge;
let url: string;
let recordingsDir: string;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, test: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
const frames = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);

beforeAll(async () => {
  recordingsDir = mkdtempSync(join(tmpdir(), 'dexbridge-live-'));
  run = await startDexbridge({ port: 0, operatorToken: TOKEN, recordingsDir, record: 'off' });
  url = `ws://127.0.0.1:${run.port}/ws`;
});
afterAll(async () => {
  await run.close();
  rmSync(recordingsDir, { recursive: true, force: true });
});

describe('BridgeClient and LiveSession', () => {
  it('says hello, decodes the state stream into one reused object, and estimates the clock offset and round trip', async () => {
    const c = new BridgeClient({ url, role: 'viewer', name: 'unit', WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket }).connect();
    const seen: number[] = [];
    let same = true;
    c.onState((s) => {
      seen.push(s.seq);
      same &&= s === c.state;
    });
    await until('a pong', () => Number.isFinite(c.rttMs) && seen.length > 5);
    expect(c.phase).toBe('open');
    expect(c.welcome?.jointNames).toHaveLength(56);
    expect(same).toBe(true);
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1]!)).toBe(true);
    expect(c.rttMs).toBeGreaterThanOrEqual(0);
    // serverNow() tracks the server's clock: the offset estimate is bounded by the round trip, and on
    // a busy machine scheduling adds to both, so only a gross error (a wrong sign, seconds off) fails.
    expect(Math.abs(c.serverNow() - run.loop.now())).toBeLessThan(c.rttMs + 1000);
    expect(c.send({ type: 'estop' })).toBe(true);
    await until('the e-stop in the state', () => c.state.estopLatched);
    c.close();
    expect(c.send({ type: 'ping', id: 1, clientTimeMs: 0 })).toBe(false);
  });

  it('reconnects after the connection drops', async () => {
    const c = new BridgeClient({ url, role: 'viewer', WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket }).connect();
    const phases: string[] = [];
    c.onPhase((p) => phases.push(p));
    await until('open', () => c.phase === 'open');
    // Drop it from the server side.
    for (const ws of (run.server as unknown as { wss: { clients: Set<WebSocket> } }).wss.clients) ws.terminate();
    await until('closed and open again', () => phases.includes('closed') && c.phase === 'open', 5000);
    c.close();
  });

  it('an operator session: frames go out, the store summarises at a few Hz, errors come back with their codes', async () => {
    const s = new LiveSession({ url, role: 'operator', token: TOKEN, name: 'unit-op', WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket }).start();
    await until('welcome', () => s.store.getState().welcome !== undefined);
    s.client.send({ type: 'reset_estop' });
    const buf = new Uint8Array(1616);
    for (let i = 0; i < 40; i++) {
      const f = frames[i]!;
      // Stamped with this process's clock, as a headset stamps its frames: on a busy machine the
      // sends spread out, and a synthetic 11 ms step would fall behind real time and look stale.
      s.client.sendBinary(encodeHandFrame(buf, { seq: i + 1, tMs: performance.now(), left: f.left, right: f.right }));
      await sleep(11);
    }
    await until('a summary that answers frames', () => (s.store.getState().summary?.statesPerSecond ?? 0) > 0 && s.latest!.sourceSeq > 0);
    expect(s.store.getState().summary?.mode).toBe('teleop');
    expect(s.commanded.length).toBeGreaterThan(10);
    expect(s.latency.length).toBe(s.commanded.length);
    // An out-of-order frame: the error lands in the store and the log.
    s.client.sendBinary(encodeHandFrame(buf, { seq: 1, tMs: performance.now(), left: frames[0]!.left, right: null }));
    await until('the error', () => s.store.getState().lastError?.code === 'FRAME_OUT_OF_ORDER');
    expect(s.store.getState().log.some((e) => e.kind === 'error' && e.text.startsWith('FRAME_OUT_OF_ORDER'))).toBe(true);
    s.stop();
  });
});
