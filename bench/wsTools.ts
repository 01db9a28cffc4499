/** WebSocket helpers shared by the e2e and load benchmarks and the load test. */
import { type ChildProcess, spawn } from 'node:child_process';
import { WebSocket } from 'ws';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens a client WebSocket (no compression: latency is what is measured). */
export async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((done, fail) => {
    ws.once('open', () => done());
    ws.once('error', fail);
  });
  return ws;
}

/** Paces `fn` at `hz` for `ms` (absolute schedule, so timer jitter does not accumulate). Returns the calls made. */
export async function paced(hz: number, ms: number, fn: (i: number) => void): Promise<number> {
  const start = performance.now();
  let i = 0;
  while (performance.now() - start < ms) {
    fn(i++);
    const next = start + (i * 1000) / hz;
    await sleep(Math.max(0, next - performance.now()));
  }
  return i;
}

/**
 * Runs `command args` in `cwd` (a `dexbridge serve --port 0 …`, possibly behind a wrapper such as
 * prlimit, or any server that prints its port) and resolves with the child and its port once its
 * output matches `portPattern` (group 1: the port).
 */
export function startServe(
  command: string,
  args: readonly string[],
  cwd: string,
  portPattern: RegExp = /on http:\/\/127\.0\.0\.1:(\d+)/,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = portPattern.exec(out);
      if (m) done({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => fail(new Error(`bench: server exited (${code}) before it listened: ${out}`)));
  });
}
