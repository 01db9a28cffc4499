/**
 * Soak (issue 10): the unauthenticated attacks that once took the server down, for 10 minutes
 * (`SOAK_SECONDS` to change it), against `dexbridge serve` in its own process limited to 1,024
 * descriptors, as the tester ran it:
 *
 * - 20 clients connect, never say hello, send 250 messages/s each (under the 300/s limit) and never
 *   read; the server closes them at the hello deadline and they come straight back;
 * - 20 viewers (no token needed on loopback) ping at 250/s and never read;
 * - 1,000 idle TCP sockets that never send a byte, reopened a second after the server drops one.
 *
 * Every 10 s a fresh operator connects with the token, says hello, sends an e-stop and waits for
 * its acknowledgement; `/healthz` is fetched too. The probes run in their own process
 * (bench/soakProbe.ts), as an operator on another machine would. Figures: the server's RSS (start = before the
 * attacks, peak, end), and how many operator probes, e-stops and health checks got through.
 *
 * Not part of `npm run bench` by default: `npm run bench:soak` (10 minutes), or
 * `SOAK_SECONDS=60 npm run bench:soak` for a short check.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WebSocket } from 'ws';
import { percentile, REPO_ROOT, round } from './results.js';
import type { ProbeResult } from './soakProbe.js';
import { open, sleep, startServe } from './wsTools.js';

const ROOT = fileURLToPath(REPO_ROOT);
const OP_TOKEN = 'bench-soak-operator-token';
const SILENT_CLIENTS = 20;
const DEAF_VIEWERS = 20;
const IDLE_SOCKETS = 1000;
const RATE_PER_CLIENT = 250;
const PROBE_EVERY_MS = 10_000;

function startServer(recordingsDir: string): Promise<{ child: ChildProcess; port: number }> {
  const args = ['--nofile=1024', process.execPath, 'server/bin/dexbridge.js', 'serve', '--port', '0', '--operator-token', OP_TOKEN, '--record', 'off', '--recordings', recordingsDir];
  return startServe('prlimit', args, ROOT);
}

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

/** Stops reading a client socket: whatever the server sends piles up on its side. */
const deafen = (ws: WebSocket): void => {
  (ws as unknown as { _socket: Socket })._socket.pause();
};

/**
 * The probes run in a process of their own, as a fresh operator on another machine would: in the
 * attackers' process, whose event loop is saturated, a probe's upgrade request could leave only
 * after the server's grace, and the server then rightly took it for an idle socket.
 */
function startProber(): { probe: (url: string, opToken: string) => Promise<ProbeResult>; healthz: (port: number) => Promise<boolean>; close: () => void } {
  const child = fork(fileURLToPath(new URL('./soakProbe.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  child.on('message', (m: { id: number; result: unknown }) => {
    waiting.get(m.id)?.(m.result);
    waiting.delete(m.id);
  });
  const ask = <T>(request: Record<string, unknown>): Promise<T> =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve as (r: unknown) => void);
      child.send({ id, ...request });
    });
  return {
    probe: (url, opToken) => ask<ProbeResult>({ kind: 'probe', url, opToken }),
    healthz: (port) => ask<boolean>({ kind: 'healthz', port }),
    close: () => child.kill(),
  };
}

export async function runSoakBenchmarks(): Promise<Record<string, number>> {
  const seconds = Number(process.env['SOAK_SECONDS'] ?? 600);
  if (!(seconds > 0)) throw new RangeError(`bench: SOAK_SECONDS must be a positive number, got ${process.env['SOAK_SECONDS']}`);
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-soak-'));
  const { child, port } = await startServer(dir);
  const prober = startProber();
  const pid = child.pid!;
  const url = `ws://127.0.0.1:${port}/ws`;
  let running = true;
  let attackMessages = 0;
  let reconnects = 0;
  const idle = new Set<Socket>();
  const sockets = new Set<WebSocket>();
  try {
    await sleep(1000);
    const rssStart = rssMb(pid);
    let rssPeak = rssStart;
    const junk = JSON.stringify({ type: 'set_mode', mode: 'x'.repeat(200) });

    // Silent clients: never hello, never read; back as soon as they are closed (or every 6 s).
    const silent = async (): Promise<void> => {
      while (running) {
        let ws: WebSocket;
        try {
          ws = await open(url);
        } catch {
          await sleep(200);
          continue;
        }
        sockets.add(ws);
        deafen(ws);
        reconnects++;
        const until = Date.now() + 6000;
        while (running && Date.now() < until && ws.readyState === ws.OPEN) {
          for (let i = 0; i < RATE_PER_CLIENT / 10; i++) ws.send(i % 2 === 0 ? junk : JSON.stringify({ type: 'ping', id: i, clientTimeMs: 0 }));
          attackMessages += RATE_PER_CLIENT / 10;
          await sleep(100);
        }
        ws.terminate();
        sockets.delete(ws);
      }
    };
    // Deaf viewers: hello as viewers, then ping and never read.
    const deaf = async (): Promise<void> => {
      while (running) {
        let ws: WebSocket;
        try {
          ws = await open(url);
        } catch {
          await sleep(200);
          continue;
        }
        sockets.add(ws);
        ws.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'viewer', name: 'deaf' }));
        await sleep(200);
        deafen(ws);
        while (running && ws.readyState === ws.OPEN) {
          for (let i = 0; i < RATE_PER_CLIENT / 10; i++) ws.send(JSON.stringify({ type: 'ping', id: i, clientTimeMs: 0 }));
          attackMessages += RATE_PER_CLIENT / 10;
          await sleep(100);
        }
        ws.terminate();
        sockets.delete(ws);
        reconnects++;
      }
    };
    // Idle sockets: never a byte; reopened a second after the server drops one.
    const openIdle = (): void => {
      if (!running) return;
      const s = connect(port, '127.0.0.1');
      idle.add(s);
      s.on('error', () => undefined);
      s.resume();
      s.once('close', () => {
        idle.delete(s);
        reconnects++;
        setTimeout(openIdle, 1000);
      });
    };
    for (let i = 0; i < IDLE_SOCKETS; i++) openIdle();
    const attackers = [...Array.from({ length: SILENT_CLIENTS }, () => silent()), ...Array.from({ length: DEAF_VIEWERS }, () => deaf())];

    let probes = 0, welcomes = 0, estops = 0, health = 0;
    const welcomeMs: number[] = [];
    const estopMs: number[] = [];
    const start = Date.now();
    let nextProbe = start + 5000;
    let lastReport = start;
    while (Date.now() - start < seconds * 1000) {
      await sleep(1000);
      rssPeak = Math.max(rssPeak, rssMb(pid));
      if (Date.now() >= nextProbe) {
        nextProbe += PROBE_EVERY_MS;
        probes++;
        const r = await prober.probe(url, OP_TOKEN);
        if (r.failure !== undefined) console.log(`    probe ${probes} at ${((Date.now() - start) / 1000).toFixed(0)} s failed: ${r.failure}`);
        if (r.welcome) {
          welcomes++;
          welcomeMs.push(r.welcomeMs);
        }
        if (r.estop) {
          estops++;
          estopMs.push(r.estopMs);
        }
        const h = await prober.healthz(port);
        if (h) health++;
      }
      if (Date.now() - lastReport >= 60_000) {
        lastReport = Date.now();
        console.log(`    ${((Date.now() - start) / 1000).toFixed(0)} s: RSS ${rssMb(pid).toFixed(1)} MB (peak ${rssPeak.toFixed(1)}), probes ${welcomes}/${probes} in, e-stops ${estops}, idle sockets held ${idle.size}`);
      }
    }
    const rssEnd = rssMb(pid);
    running = false;
    for (const s of idle) s.destroy();
    for (const ws of sockets) ws.terminate();
    await Promise.race([Promise.all(attackers), sleep(10_000)]);
    const figures = {
      'soak.duration_s': round((Date.now() - start) / 1000),
      'soak.server_fd_limit': 1024,
      'soak.silent_clients': SILENT_CLIENTS,
      'soak.deaf_viewers': DEAF_VIEWERS,
      'soak.idle_sockets': IDLE_SOCKETS,
      'soak.attack_messages': attackMessages,
      'soak.attack_reconnects': reconnects,
      'soak.server_rss_mb.start': round(rssStart),
      'soak.server_rss_mb.peak': round(rssPeak),
      'soak.server_rss_mb.end': round(rssEnd),
      'soak.server_rss_mb.growth': round(rssPeak - rssStart),
      'soak.operator_probes': probes,
      'soak.operator_probes_welcomed': welcomes,
      'soak.estops_through': estops,
      'soak.operator_welcome_ms.p50': round(percentile(welcomeMs, 0.5)),
      'soak.operator_welcome_ms.max': round(percentile(welcomeMs, 1)),
      'soak.estop_event_ms.p50': round(percentile(estopMs, 0.5)),
      'soak.estop_event_ms.max': round(percentile(estopMs, 1)),
      'soak.healthz_ok': health,
    };
    for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(44)} ${v}`);
    if (figures['soak.server_rss_mb.growth'] > 50) console.log(`    WARNING: the server's RSS grew by ${figures['soak.server_rss_mb.growth']} MB (bound: 50)`);
    if (welcomes < probes || estops < probes) console.log(`    WARNING: ${probes - welcomes} operators and ${probes - estops} e-stops did not get through`);
    return figures;
  } finally {
    running = false;
    for (const s of idle) s.destroy();
    for (const ws of sockets) ws.terminate();
    prober.close();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
