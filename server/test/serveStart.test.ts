/**
 * `serve` start-up failures (issue 10, finding 7): each says a code and a hint instead of
 * "unexpected error: <errno text>", and an unwritable recordings folder is said on the console.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { serveCommand } from '../src/cli/serveCommand.js';
import { tempDirs } from './support/tempDirs.js';

const tmp = tempDirs('start');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memoryIo(): { io: { stdout: { write(t: string): void }; stderr: { write(t: string): void } }; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: { write: (t) => void out.push(t) }, stderr: { write: (t) => void err.push(t) } }, out: () => out.join(''), err: () => err.join('') };
}

async function serveFails(args: string[]): Promise<{ code: number; err: string }> {
  const m = memoryIo();
  const code = await main(['serve', '--record', 'off', ...args], m.io);
  return { code, err: m.err() };
}

describe('serve start-up errors', () => {
  it('a port in use is SERVE_PORT_IN_USE with the hint --port 0', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', () => done()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await serveFails(['--port', String(port), '--recordings', tmp()]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^dexbridge: SERVE_PORT_IN_USE: .*--port 0/);
    } finally {
      blocker.close();
    }
  });

  it('a --host that is not on this machine is SERVE_HOST_UNAVAILABLE', async () => {
    const r = await serveFails(['--port', '0', '--host', '192.0.2.77', '--recordings', tmp()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^dexbridge: SERVE_HOST_UNAVAILABLE: .*192\.0\.2\.77/);
  });

  it('a missing certificate file is SERVE_TLS_FILE naming it', async () => {
    const dir = tmp();
    const r = await serveFails(['--port', '0', '--recordings', dir, '--cert', join(dir, 'nope.pem'), '--key', join(dir, 'nope-key.pem')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^dexbridge: SERVE_TLS_FILE: .*nope/);
  });

  it('a certificate and key given the wrong way round is SERVE_TLS_INVALID', async () => {
    const dir = tmp();
    const pems = await generate([{ name: 'commonName', value: 'swapped' }], { keySize: 2048, algorithm: 'sha256' });
    writeFileSync(join(dir, 'cert.pem'), pems.cert);
    writeFileSync(join(dir, 'key.pem'), pems.private);
    const r = await serveFails(['--port', '0', '--recordings', dir, '--cert', join(dir, 'key.pem'), '--key', join(dir, 'cert.pem')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^dexbridge: SERVE_TLS_INVALID: .*swapped\?/);
  });

  it('--recordings under a file is SERVE_RECORDINGS_DIR', async () => {
    const file = join(tmp(), 'a-file');
    writeFileSync(file, 'x');
    const m = memoryIo();
    const code = await main(['serve', '--port', '0', '--recordings', join(file, 'recordings')], m.io);
    expect(code).toBe(1);
    expect(m.err()).toMatch(/^dexbridge: SERVE_RECORDINGS_DIR: /);
  });

  it('an unwritable recordings folder is said on the console at start, and serve goes on', async () => {
    const m = memoryIo();
    const abort = new AbortController();
    // Root ignores permission bits; /proc/self is a folder nobody can create files in.
    const done = serveCommand(['--port', '0', '--recordings', '/proc/self'], m.io, abort.signal);
    for (let i = 0; i < 200 && !m.out().includes('WebSocket'); i++) await sleep(20);
    abort.abort();
    expect(await done).toBe(0);
    expect(m.err()).toMatch(/warning: RECORDING_FAILED: recording: cannot write in the recordings folder \/proc\/self/);
  });
});
