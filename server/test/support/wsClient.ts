/** A small WebSocket test client for the bridge: JSON and binary messages, waiting with timeouts. */
import { WebSocket } from 'ws';
import { createDecodedRobotState, type DecodedRobotState, decodeRobotState } from '../../src/protocol/index.js';

export type Json = Record<string, unknown> & { type: string };

/** The shortest deadline of any wait; the `ms` that tests pass say how long they expect, at most. */
export const MIN_DEADLINE_MS = 30_000;

export class TestClient {
  readonly json: Json[] = [];
  readonly states: DecodedRobotState[] = [];
  private readonly waiters: { test: () => boolean; done: () => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const d = decodeRobotState(data as Buffer, createDecodedRobotState());
        if (d.ok) this.states.push(d);
      } else {
        this.json.push(JSON.parse(String(data)) as Json);
      }
      for (const w of [...this.waiters]) {
        if (w.test()) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.done();
        }
      }
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((done, fail) => {
      ws.once('open', () => done());
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
    });
    return new TestClient(ws);
  }

  /** Connects and says hello; resolves after the welcome (or the error). */
  static async hello(url: string, role: string, token?: string, name?: string): Promise<TestClient> {
    const c = await TestClient.connect(url);
    c.send({ type: 'hello', protocol: 1, role, ...(token !== undefined ? { token } : {}), ...(name !== undefined ? { name } : {}) });
    await c.waitJson((m) => m.type === 'welcome' || m.type === 'error');
    return c;
  }

  send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /**
   * Resolves when `test` holds (checked now, after every message, and every 20 ms: a condition on
   * the server's own state may become true with no message to this client), or rejects after `ms`.
   */
  until(test: () => boolean, ms = MIN_DEADLINE_MS, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    // A deadline only bounds a failure: never shorter than MIN_DEADLINE_MS, so a busy machine is slow, not red.
    ms = Math.max(ms, MIN_DEADLINE_MS);
    return new Promise((done, fail) => {
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      const timer = setTimeout(() => {
        finish();
        fail(new Error(`timed out after ${ms} ms waiting for ${what}; last JSON: ${JSON.stringify(this.json.slice(-3))}`));
      }, ms);
      const poll = setInterval(() => {
        if (!test()) return;
        finish();
        done();
      }, 20);
      const w = { test, done: () => { finish(); done(); } };
      this.waiters.push(w);
    });
  }

  /** Waits for a JSON message matching `pred` that arrives after this call (or already arrived after index `from`). */
  async waitJson(pred: (m: Json) => boolean, ms = 3000, from = this.json.length, what = 'a JSON message'): Promise<Json> {
    const find = (): Json | undefined => this.json.slice(from).find(pred);
    await this.until(() => find() !== undefined, ms, what);
    return find()!;
  }

  /** Waits for an error with `code` after this call. */
  waitError(code: string, ms = 3000): Promise<Json> {
    return this.waitJson((m) => m.type === 'error' && m['code'] === code, ms, this.json.length, `error ${code}`);
  }

  /** Waits for a server event (`event` name, optional detail fields) after this call. */
  waitEvent(event: string, detail: Record<string, unknown> = {}, ms = 3000): Promise<Json> {
    const match = (m: Json): boolean =>
      m.type === 'event' && m['event'] === event && Object.entries(detail).every(([k, v]) => (m['detail'] as Record<string, unknown>)[k] === v);
    return this.waitJson(match, ms, this.json.length, `event ${event} ${JSON.stringify(detail)}`);
  }

  async waitStates(n: number, ms = 3000): Promise<DecodedRobotState[]> {
    const from = this.states.length;
    await this.until(() => this.states.length >= from + n, ms, `${n} states`);
    return this.states.slice(from);
  }

  close(): Promise<void> {
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((done) => {
      this.ws.once('close', () => done());
      this.ws.close();
    });
  }
}
