/** WebSocket helpers shared by the e2e and load benchmarks and the load test. */
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
