/**
 * Security (issue 5): tokens, roles, origins, bind address, TLS with given certificates, the
 * recordings API's folder boundary, and per-connection limits under a flood.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { type HandFrame, parseHandFramesJsonl } from '@dexbridge/retarget';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { serveCommand } from '../server/src/cli/serveCommand.js';
import { encodeHandFrame } from '../server/src/protocol/index.js';
import { TestClient } from '../server/test/support/wsClient.js';
import { tempDirs } from '../server/test/support/tempDirs.js';

const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);
const tmp = tempDirs('sec');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('security', () => {
  it('never prints, echoes or records a token it was given', async () => {
    const dir = tmp();
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: (t: string) => void out.push(t) } };
    const abort = new AbortController();
    const OP = 'op-secret-7f3a9c1e';
    const POL = 'policy-secret-22b8d4';
    const done = serveCommand(['--port', '0', '--recordings', dir, '--record', 'session'], io, abort.signal, {
      DEXBRIDGE_OPERATOR_TOKEN: OP, DEXBRIDGE_POLICY_TOKEN: POL,
    });
    await (async () => {
      for (const end = Date.now() + 60_000; Date.now() < end && !out.join('').includes('WebSocket'); ) await sleep(20);
    })();
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out.join(''))![1]);
    const url = `ws://127.0.0.1:${port}/ws`;
    // Wrong tokens: the error never echoes what was sent, nor the right one.
    const bad = await TestClient.connect(url);
    bad.send({ type: 'hello', protocol: 1, role: 'operator', token: `${OP}x` });
    const e = await bad.waitError('AUTH_BAD_TOKEN');
    expect(JSON.stringify(e)).not.toContain(OP);
    // A real session, recorded.
    const op = await TestClient.hello(url, 'operator', OP, 'alice');
    for (let i = 0; i < 30; i++) {
      op.sendBinary(encodeHandFrame(undefined, { seq: i + 1, tMs: performance.now(), left: frames[i]!.left, right: frames[i]!.right }));
      await sleep(11);
    }
    await Promise.all([op.close(), bad.close()]);
    abort.abort();
    expect(await done).toBe(0);
    const printed = out.join('');
    expect(printed).toContain('<your operator token>');
    for (const t of [OP, POL]) expect(printed).not.toContain(t);
    const recordings = readdirSync(dir).filter((n) => n.endsWith('.mcap'));
    expect(recordings.length).toBe(1);
    const bytes = readFileSync(join(dir, recordings[0]!));
    for (const t of [OP, POL]) expect(bytes.includes(Buffer.from(t))).toBe(false);
  });

  it('binds to 127.0.0.1 by default', async () => {
    const run = await startDexbridge({ port: 0, recordingsDir: tmp(), record: 'off' });
    try {
      expect(run.host).toBe('127.0.0.1');
      expect(run.lanUrls).toEqual([]);
      const info = (await (await fetch(`${run.url}/api/info`)).json()) as { tls: boolean };
      expect(info.tls).toBe(false);
    } finally {
      await run.close();
    }
  });

  it('serves TLS with a given certificate and key', async () => {
    const dir = tmp();
    const pems = await generate([{ name: 'commonName', value: 'given.example' }], { keySize: 2048, algorithm: 'sha256' });
    writeFileSync(join(dir, 'cert.pem'), pems.cert);
    writeFileSync(join(dir, 'key.pem'), pems.private);
    const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'off', tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    try {
      expect(run.tls?.source).toBe('files');
      const presented = await new Promise<string>((done, fail) => {
        httpsGet(`${run.url}/healthz`, { rejectUnauthorized: false }, (res) => {
          const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
          res.resume();
          done(String(cert.subject.CN ?? ''));
        }).on('error', fail);
      });
      expect(presented).toBe('given.example');
    } finally {
      await run.close();
    }
  });

  it('keeps the recordings API inside its folder, even through links', async () => {
    const dir = tmp();
    const outside = join(tmp(), 'secret.mcap');
    writeFileSync(outside, 'not yours');
    symlinkSync(outside, join(dir, 'link.mcap'));
    writeFileSync(join(dir, 'real.mcap'), 'x');
    const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'off', operatorToken: 'sec-operator-token' });
    try {
      const list = (await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: { name: string }[] };
      expect(list.recordings.map((r) => r.name)).toEqual(['real.mcap']);
      expect((await fetch(`${run.url}/api/recordings/link.mcap`)).status).toBe(403);
      const del = await fetch(`${run.url}/api/recordings/link.mcap`, { method: 'DELETE', headers: { authorization: 'Bearer sec-operator-token' } });
      expect(del.status).toBe(403);
      expect(readFileSync(outside, 'utf8')).toBe('not yours');
      for (const evil of ['..%2Fsecret.mcap', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', '.mcap', 'a%2Fb.mcap']) {
        expect([400, 403, 404]).toContain((await fetch(`${run.url}/api/recordings/${evil}`)).status);
      }
    } finally {
      await run.close();
    }
  });

  it('a flooding client is limited while an operator and a viewer keep their rate', async () => {
    // staleMs is raised: a busy machine that stalls this (shared) test process between a frame's
    // send and its receipt must not turn into refused frames; the flood is what is tested here.
    const run = await startDexbridge({ port: 0, recordingsDir: tmp(), record: 'off', operatorToken: 'flood-operator-token', staleMs: 10_000 });
    try {
      const url = `ws://127.0.0.1:${run.port}/ws`;
      const viewer = await TestClient.hello(url, 'viewer');
      const op = await TestClient.hello(url, 'operator', 'flood-operator-token', 'steady');
      const flooder = await TestClient.hello(url, 'viewer', undefined, 'flooder');
      let flooding = true;
      const big = new Uint8Array(70_000);
      void (async () => {
        while (flooding) {
          for (let i = 0; i < 200; i++) flooder.send({ type: 'ping', id: i, clientTimeMs: 0 });
          flooder.sendBinary(big);
          await sleep(1);
        }
      })();
      const from = viewer.states.length;
      let seq = 0;
      // 1.5 s worth of frames at ~90 Hz: the same count however busy the machine is.
      while (seq < 136) {
        op.sendBinary(encodeHandFrame(undefined, { seq: ++seq, tMs: performance.now(), left: frames[seq % frames.length]!.left, right: frames[seq % frames.length]!.right }));
        await sleep(11);
      }
      flooding = false;
      // The last steady frame is answered (however long a busy machine takes to get there).
      await viewer.until(() => viewer.states.some((st) => st.sourceSeq === seq), 30_000, 'the last steady frame answered');
      expect(flooder.json.some((m) => m.type === 'error' && m['code'] === 'PROTO_RATE_LIMITED')).toBe(true);
      // (A frame that a loaded machine delivers past the stale limit is rightly refused.)
      expect(op.json.filter((m) => m.type === 'error' && m['code'] !== 'FRAME_STALE')).toEqual([]);
      // Every steady frame was answered to the viewer, in order: the flood took nothing from them.
      const states = viewer.states.slice(from);
      const answered = new Set(states.map((s) => s.sourceSeq));
      const missing = Array.from({ length: seq }, (_, i) => i + 1).filter((n) => !answered.has(n));
      expect(missing).toEqual([]);
      const answeredSeqs = states.map((s) => s.sourceSeq).filter((n) => n > 0);
      expect(answeredSeqs.every((n, i) => i === 0 || n >= answeredSeqs[i - 1]!)).toBe(true);
      // How evenly the states came is the machine's business, not a pass/fail here (npm run bench:load).
      const gaps = states.slice(1).map((s, i) => s.serverTimeMs - states[i]!.serverTimeMs);
      console.log(`flood: ${seq} steady frames, ${states.length} states, max gap ${Math.max(...gaps).toFixed(1)} ms`);
      await Promise.all([viewer.close(), op.close(), flooder.close()]);
    } finally {
      await run.close();
    }
  });

  it('compares tokens in constant time over their hashes', async () => {
    const { tokenMatches } = await import('../server/src/bridge/tokens.js');
    expect(tokenMatches('abcdefgh', 'abcdefgh')).toBe(true);
    expect(tokenMatches('abcdefgh', 'abcdefgH')).toBe(false);
    expect(tokenMatches('short', 'a-much-longer-token')).toBe(false);
    expect(tokenMatches(undefined, 'abcdefgh')).toBe(false);
    // The comparison is over SHA-256 digests: equal length whatever was sent.
    expect(createHash('sha256').update('x').digest().length).toBe(32);
  });
});
