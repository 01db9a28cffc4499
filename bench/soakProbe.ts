/**
 * The soak's probe process (bench/soak.bench.ts forks it): a fresh operator that connects with the
 * token, says hello, sends an e-stop and waits for its acknowledgement, and a `/healthz` fetch, on
 * request. It runs apart from the attack clients so that its requests leave when it sends them.
 */
import type { WebSocket } from 'ws';
import { open, sleep } from './wsTools.js';

/** How long a probe waits for each step (connect, welcome, the e-stop acknowledgement), ms. */
const PROBE_TIMEOUT_MS = 10_000;

export interface ProbeResult {
  readonly welcome: boolean;
  readonly estop: boolean;
  /** Connect + hello → welcome, ms. */
  readonly welcomeMs: number;
  /** e-stop sent → acknowledged, ms. */
  readonly estopMs: number;
  /** Where a failed probe stopped (printed, to tell eviction from a slow loop). */
  readonly failure?: string;
}

/** A fresh operator: hello with the token, e-stop, and the acknowledgement back, each within 10 s. */
export async function probe(url: string, opToken: string): Promise<ProbeResult> {
  let ws: WebSocket | undefined;
  const failed = (failure: string): ProbeResult => ({ welcome: false, estop: false, welcomeMs: Number.NaN, estopMs: Number.NaN, failure });
  const t0 = performance.now();
  try {
    ws = await Promise.race([open(url), sleep(PROBE_TIMEOUT_MS).then(() => undefined)]);
    if (ws === undefined) return failed('no open within 10 s');
    let closed: string | undefined;
    ws.on('close', (code) => (closed = `closed by the server (${code})`));
    const got: string[] = [];
    const socket = ws;
    socket.on('message', (d, binary) => {
      if (!binary) got.push(String(d));
    });
    const wait = async (pred: (m: Record<string, unknown>) => boolean): Promise<boolean> => {
      for (let t = 0; t < PROBE_TIMEOUT_MS / 20; t++) {
        if (got.some((g) => pred(JSON.parse(g) as Record<string, unknown>))) return true;
        await sleep(20);
      }
      return false;
    };
    socket.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'operator', token: opToken, name: 'soak-probe' }));
    const welcome = await wait((m) => m['type'] === 'welcome');
    const welcomeMs = performance.now() - t0;
    if (!welcome) return failed(`no welcome: ${closed ?? 'none within 10 s'}`);
    const t1 = performance.now();
    socket.send(JSON.stringify({ type: 'estop' }));
    // The server acknowledges an e-stop once it has latched it; the `estop` event comes only when it
    // was not latched already (a probe cannot reset it: reset_estop needs the lease).
    const estop = await wait((m) => (m['type'] === 'ack' && m['ref'] === 'estop') || (m['type'] === 'event' && m['event'] === 'estop'));
    const estopMs = performance.now() - t1;
    return { welcome, estop, welcomeMs, estopMs: estop ? estopMs : Number.NaN, ...(estop ? {} : { failure: `no e-stop ack: ${closed ?? 'none within 10 s'}` }) };
  } catch (error) {
    return failed(`open failed: ${(error as Error).message}`);
  } finally {
    ws?.terminate();
  }
}

/** `/healthz` answers 200 within 3 s. */
async function healthz(port: number): Promise<boolean> {
  return Promise.race([fetch(`http://127.0.0.1:${port}/healthz`).then((x) => x.status === 200, () => false), sleep(3000).then(() => false)]);
}

process.on('message', (m: { id: number; kind: string; url?: string; opToken?: string; port?: number }) => {
  const done = (result: unknown): void => void process.send?.({ id: m.id, result });
  if (m.kind === 'probe') void probe(m.url!, m.opToken!).then(done);
  else void healthz(m.port!).then(done);
});
