/**
 * Shutdown (issue 10, finding 6): SIGINT or SIGTERM finishes the open recording whatever state it
 * is in — being opened right after start, being written, being closed — and the process exits
 * after it; a second signal exits at once and leaves a file `dexbridge recover` repairs. Each case
 * runs `dexbridge serve --demo` (which records the demo's lease session) in a child process.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { copyFileSync, readdirSync, } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { readRecordingInfo, recoverMcap } from '../server/src/recording/index.js';
import { tempDirs } from '../server/test/support/tempDirs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVE_CHILD = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));
const children: Pick<Child, 'child' | 'exited'>[] = [];
// A child that a failed case left running is stopped first: no folder goes while one writes to it.
const tmp = tempDirs('shutdown', async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Child {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly exited: Promise<number | NodeJS.Signals | null>;
  readonly output: () => string;
}

/** `serve --demo` on port 0 recording into `dir`; resolves once the banner is printed. */
async function serveDemo(dir: string, env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', SERVE_CHILD, '--demo', '--port', '0', '--recordings', dir], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  children.push({ child, exited });
  const end = Date.now() + 30_000;
  while (!/dexbridge (?:ready|running) on/.test(text)) {
    if (Date.now() > end) throw new Error(`serve did not start in 30 s: ${text}`);
    await sleep(5);
  }
  return { child, exited, output: () => text };
}

const mcaps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.mcap'));

// Each case is its own process on its own folder, and mostly waits (for the child to start, for its
// delay, for it to stop): they run side by side.
describe.concurrent('shutdown', () => {
  for (const delayMs of [0, 300, 1000, 2500]) {
    it(`SIGINT ${delayMs} ms after the banner finishes the recording and exits 0`, async () => {
      const dir = tmp();
      const c = await serveDemo(dir);
      await sleep(delayMs);
      c.child.kill('SIGINT');
      expect(await c.exited).toBe(0);
      expect(c.output()).toContain('dexbridge: stopped');
      const files = mcaps(dir);
      expect(files.length).toBe(1);
      // Readable by the indexed reader: it has its summary and footer, and says it is complete.
      const info = await readRecordingInfo(join(dir, files[0]!));
      expect(info.metadata['dexbridge']?.['complete']).toBe('true');
    }, 60_000);
  }

  it('SIGTERM finishes the recording too', async () => {
    const dir = tmp();
    const c = await serveDemo(dir);
    await sleep(500);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    const info = await readRecordingInfo(join(dir, mcaps(dir)[0]!));
    expect(info.metadata['dexbridge']?.['complete']).toBe('true');
  }, 60_000);

  it('a second signal exits at once, leaving a file that recover repairs', async () => {
    const dir = tmp();
    // The child's HTTP server never finishes closing (a stand-in for a client that holds its
    // connection), so the second signal surely arrives while the process is still stopping.
    const c = await serveDemo(dir, { DEXBRIDGE_TEST_STUCK_CLOSE: '1' });
    // Some of the session is on disk first (chunks flush every 500 ms): wait until a copy of the
    // file being written already recovers to at least one chunk.
    const scratch = tmp();
    const end0 = Date.now() + 30_000;
    for (let i = 0; ; i++) {
      const files = mcaps(dir);
      if (files.length === 1) {
        copyFileSync(join(dir, files[0]!), join(scratch, `probe-${i}.mcap`));
        const probe = await recoverMcap(join(scratch, `probe-${i}.mcap`), join(scratch, `probe-${i}.out`)).catch(() => ({ chunks: 0 }));
        if (probe.chunks > 0) break;
      }
      if (Date.now() > end0) throw new Error(`no chunk on disk in 30 s: ${c.output()}`);
      await sleep(100);
    }
    c.child.kill('SIGINT');
    const end = Date.now() + 20_000;
    while (!c.output().includes('stopping')) {
      if (Date.now() > end) throw new Error(`no "stopping" after SIGINT: ${c.output()}`);
      await sleep(5);
    }
    c.child.kill('SIGINT');
    expect(await c.exited).toBe(130);
    expect(c.output()).toContain('second signal');
    const files = mcaps(dir);
    expect(files.length).toBe(1);
    const report = await recoverMcap(join(dir, files[0]!), join(dir, 'recovered.mcap.out'));
    expect(report.chunks).toBeGreaterThan(0);
  }, 60_000);

  it('close() right after start finishes the recording being opened (in process)', async () => {
    const dir = tmp();
    const run = await startDexbridge({ port: 0, demo: true, recordingsDir: dir, record: 'session' });
    await run.close();
    const files = mcaps(dir);
    expect(files.length).toBe(1);
    const info = await readRecordingInfo(join(dir, files[0]!));
    expect(info.metadata['dexbridge']?.['complete']).toBe('true');
  });
});
