/**
 * Hardening against a hostile client on the network (issue 10): unbounded outgoing memory, idle
 * sockets, DNS rebinding, links in the recordings folder and malformed URLs. Every test runs a real
 * server on port 0 and attacks it the way the tester did, on a smaller scale.
 */
import { linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type RunningDexbridge, startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { TestClient } from '../server/test/support/wsClient.js';
import { tempDirs } from '../server/test/support/tempDirs.js';

const OP = 'hardening-operator-token';
const tmp = tempDirs('hard');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A raw HTTP/1.1 request; resolves with the status code (0 if the socket closed without one). */
function rawRequest(port: number, text: string): Promise<number> {
  return new Promise((done, fail) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
    });
    s.on('close', () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    s.on('error', fail);
    s.setTimeout(10_000, () => s.destroy());
  });
}

/** GET with explicit headers (fetch may not set Host); resolves with status and body. */
function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Opens a WebSocket with these headers; resolves with 'open' or the HTTP status of the refusal. */
function tryUpgrade(port: number, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
    ws.once('open', () => {
      ws.terminate();
      done('open');
    });
    ws.once('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
    ws.once('error', (e) => fail(e));
  });
}

async function withServer(o: Parameters<typeof startDexbridge>[0], body: (run: RunningDexbridge) => Promise<void>): Promise<void> {
  const run = await startDexbridge({ port: 0, record: 'off', recordingsDir: tmp(), operatorToken: OP, ...o });
  try {
    await body(run);
  } finally {
    await run.close();
  }
}

describe('outgoing budget (finding 1)', () => {
  it('a viewer that floods pings and bad messages and never reads holds at most its budget in the server', async () => {
    await withServer({ maxMessagesPerSecond: 1_000_000 }, async (run) => {
      const url = `ws://127.0.0.1:${run.port}/ws`;
      const c = await TestClient.hello(url, 'viewer', undefined, 'deaf');
      // Stop reading: the kernel buffers fill, then the server would queue everything.
      const raw = (c.ws as unknown as { _socket: Socket })._socket;
      raw.pause();
      const junk = JSON.stringify({ type: 'set_mode', mode: 'x'.repeat(200) });
      let peak = 0;
      for (let round = 0; round < 25; round++) {
        for (let i = 0; i < 1000; i++) {
          c.send({ type: 'ping', id: i, clientTimeMs: 0 });
          c.ws.send(junk);
        }
        await sleep(25);
        for (const s of run.server.connectionStats()) peak = Math.max(peak, s.bufferedBytes);
      }
      // The server reads the flood in this same process: on a busy machine it may not have reached
      // the point where errors are coalesced by the last round. Wait for it (still sampling the peak).
      const viewer = () => run.server.connectionStats().find((s) => s.role === 'viewer')!;
      await c.until(() => {
        for (const s of run.server.connectionStats()) peak = Math.max(peak, s.bufferedBytes);
        return viewer().suppressedErrors > 0;
      }, 10_000, 'errors coalesced').catch(() => undefined);
      const mine = viewer();
      console.log(`deaf viewer: peak ${(peak / 1024).toFixed(0)} KiB queued, ${mine.skippedLatest} skipped, ${mine.suppressedErrors} errors not sent`);
      expect(mine.suppressedErrors).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(256 * 1024 + 64 * 1024);
      // It reads again: it is still served, and the next error says how many it missed.
      raw.resume();
      await c.until(() => run.server.connectionStats().every((s) => s.bufferedBytes === 0), 10_000, 'the queue to drain');
      c.ws.send(junk);
      c.send({ type: 'ping', id: -1, clientTimeMs: 0 });
      // The server answers the rest of the flood first, in order; on a busy machine that can take
      // longer than any one deadline, so wait as long as answers keep coming.
      const from = c.json.length;
      for (let seen = -1; ; ) {
        try {
          await c.waitJson((m) => m.type === 'pong' && m['id'] === -1, 10_000, from, 'the pong after the backlog');
          break;
        } catch (e) {
          if (c.json.length === seen) throw e; // nothing arrived for a whole deadline
          seen = c.json.length;
        }
      }
      expect(c.json.some((m) => m.type === 'error' && /\(\d+ earlier errors were not sent/.test(String(m['message'])))).toBe(true);
      await c.close();
    });
  }, 60_000);

  it('a connection that never says hello is closed at the hello deadline', async () => {
    await withServer({ helloTimeoutMs: 300 }, async (run) => {
      const c = await TestClient.connect(`ws://127.0.0.1:${run.port}/ws`);
      const code = await new Promise<number>((done) => c.ws.once('close', (n) => done(n)));
      expect(code).toBe(1008);
      expect(c.json.some((m) => m.type === 'error' && m['code'] === 'AUTH_REQUIRED')).toBe(true);
    });
  });
});

describe('admission (finding 2)', () => {
  it('idle unauthenticated sockets are capped per address, and a fresh operator still gets in and e-stops', async () => {
    await withServer({ admission: { maxPending: 64, maxPendingPerAddress: 8 } }, async (run) => {
      const idle: Socket[] = [];
      let closed = 0;
      for (let i = 0; i < 40; i++) {
        const s = connect(run.port, '127.0.0.1');
        s.on('close', () => closed++);
        s.on('error', () => undefined);
        idle.push(s);
        await new Promise<void>((done) => s.once('connect', () => done()));
      }
      await until(() => closed >= 32, 5000, 'the oldest idle sockets to be closed');
      expect(40 - closed).toBeLessThanOrEqual(8);
      expect((await get(run.port, '/healthz', {})).status).toBe(200);
      const op = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'operator', OP, 'fresh');
      expect(op.json.some((m) => m.type === 'welcome')).toBe(true);
      op.send({ type: 'estop' });
      await op.waitEvent('estop');
      await op.close();
      for (const s of idle) s.destroy();
    });
  });

  it('HTTP: a client that never finishes its headers loses its socket', async () => {
    await withServer({ headersTimeoutMs: 500 }, async (run) => {
      const s = connect(run.port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise<void>((done) => s.once('connect', () => done()));
      s.resume();
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      let answer = '';
      s.on('data', (d) => {
        answer += String(d);
      });
      await new Promise<void>((done) => s.once('close', () => done()));
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    });
  }, 20_000);
});

describe('Host allow-list (finding 3)', () => {
  it('refuses HTTP requests whose Host is not this server, even when Origin matches it (DNS rebinding)', async () => {
    await withServer({}, async (run) => {
      const evil = `evil.example:${run.port}`;
      const r = await get(run.port, '/api/recordings', { host: evil, origin: `http://${evil}` });
      expect(r.status).toBe(421);
      expect(JSON.parse(r.body).error.code).toBe('HOST_NOT_ALLOWED');
      expect((await get(run.port, '/api/recordings', { host: `localhost:${run.port}` })).status).toBe(200);
    });
  });

  it('refuses the WebSocket upgrade from a rebinding page', async () => {
    await withServer({}, async (run) => {
      const evil = `evil.example:${run.port}`;
      expect(await tryUpgrade(run.port, { host: evil, origin: `http://${evil}` })).toBe(421);
      expect(await tryUpgrade(run.port, { host: `127.0.0.1:${run.port}`, origin: `http://127.0.0.1:${run.port}` })).toBe('open');
    });
  });

  it('accepts the names given as allowed hosts', async () => {
    await withServer({ allowedHosts: ['robot-pc.lab'] }, async (run) => {
      expect((await get(run.port, '/healthz', { host: `robot-pc.lab:${run.port}` })).status).toBe(200);
      expect((await get(run.port, '/healthz', { host: `other-pc.lab:${run.port}` })).status).toBe(421);
    });
  });

  it('bound beyond loopback, viewers need a token by default', async () => {
    await withServer({ host: '0.0.0.0' }, async (run) => {
      expect(run.viewerToken).toBeDefined();
      const url = `ws://127.0.0.1:${run.port}/ws`;
      const anonymous = await TestClient.hello(url, 'viewer');
      expect(anonymous.json.some((m) => m.type === 'error' && m['code'] === 'AUTH_BAD_TOKEN')).toBe(true);
      const viewer = await TestClient.hello(url, 'viewer', run.viewerToken);
      expect(viewer.json.some((m) => m.type === 'welcome')).toBe(true);
      expect((await get(run.port, '/api/recordings', {})).status).toBe(401);
      expect((await get(run.port, '/api/recordings', { authorization: `Bearer ${run.viewerToken}` })).status).toBe(200);
      await Promise.all([anonymous.close(), viewer.close()]);
    });
  });
});

describe('files stay inside the recordings folder (finding 4)', () => {
  it('a metadata edit never writes through a link planted as the sidecar', async () => {
    const dir = tmp();
    const outside = join(tmp(), 'precious.txt');
    writeFileSync(outside, 'keep me');
    writeFileSync(join(dir, 'real.mcap'), 'x');
    symlinkSync(outside, join(dir, 'real.mcap.meta.json'));
    await withServer({ recordingsDir: dir }, async (run) => {
      const r = await fetch(`${run.url}/api/recordings/real.mcap`, {
        method: 'PATCH', headers: { authorization: `Bearer ${OP}`, 'content-type': 'application/json' }, body: JSON.stringify({ task: 'overwrite?' }),
      });
      expect(r.status).toBe(200);
      expect(readFileSync(outside, 'utf8')).toBe('keep me');
      expect(JSON.parse(readFileSync(join(dir, 'real.mcap.meta.json'), 'utf8')).task).toBe('overwrite?');
    });
  });

  it('a hard-linked file is neither listed, served, edited nor deleted', async () => {
    const dir = tmp();
    const outside = join(tmp(), 'secret.mcap');
    writeFileSync(outside, 'not yours');
    linkSync(outside, join(dir, 'hard.mcap'));
    await withServer({ recordingsDir: dir }, async (run) => {
      const list = (await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: { name: string }[] };
      expect(list.recordings.map((r) => r.name)).not.toContain('hard.mcap');
      const got = await fetch(`${run.url}/api/recordings/hard.mcap`);
      expect(got.status).toBe(403);
      expect(((await got.json()) as { error: { code: string } }).error.code).toBe('NOT_A_RECORDING');
      const auth = { authorization: `Bearer ${OP}` };
      expect((await fetch(`${run.url}/api/recordings/hard.mcap`, { method: 'PATCH', headers: auth, body: '{"task":"x"}' })).status).toBe(403);
      expect((await fetch(`${run.url}/api/recordings/hard.mcap`, { method: 'DELETE', headers: auth })).status).toBe(403);
      expect(readFileSync(outside, 'utf8')).toBe('not yours');
    });
  });

  it('a symbolic link is refused for reading with NOT_A_RECORDING', async () => {
    const dir = tmp();
    const outside = join(tmp(), 'secret.mcap');
    writeFileSync(outside, 'not yours');
    symlinkSync(outside, join(dir, 'link.mcap'));
    await withServer({ recordingsDir: dir }, async (run) => {
      const got = await fetch(`${run.url}/api/recordings/link.mcap`);
      expect(got.status).toBe(403);
      expect(((await got.json()) as { error: { code: string } }).error.code).toBe('NOT_A_RECORDING');
    });
  });
});

describe('malformed URLs (finding 5)', () => {
  it('answer 400 BAD_URL, not 500', async () => {
    await withServer({}, async (run) => {
      for (const path of ['/api/recordings/%E0%A4%A', '/%', '/api/%zz']) {
        const r = await get(run.port, path, {});
        expect(r.status, path).toBe(400);
        expect(JSON.parse(r.body).error.code, path).toBe('BAD_URL');
      }
    });
  });

  it('a WebSocket upgrade with an unparsable URL is refused and the server keeps serving', async () => {
    await withServer({}, async (run) => {
      const status = await rawRequest(
        run.port,
        'GET //[ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      expect([400, 404]).toContain(status);
      expect((await get(run.port, '/healthz', {})).status).toBe(200);
    });
  });
});
