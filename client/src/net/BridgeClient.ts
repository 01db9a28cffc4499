/**
 * One WebSocket to the dexbridge server, as `docs/protocol.md` describes it: `hello` first,
 * binary ROBOT_STATE decoded into one reused object, JSON control messages, a ping every second
 * for the round trip and the server clock offset, and reconnection with backoff.
 *
 * Nothing here touches React: listeners run synchronously on each message, so a 90 Hz state stream
 * costs one decode and whatever the listeners do (they must copy what they keep).
 */
import {
  type ClientMessage,
  createDecodedRobotState,
  type DecodedRobotState,
  decodeRobotState,
  MESSAGE_KIND,
  PROTOCOL_VERSION,
  parseServerMessage,
  peekKind,
  type Role,
  type ServerMessage,
  type WelcomeMessage,
  WS_PATH,
} from '@dexbridge/server/protocol';

export type ConnectionPhase = 'connecting' | 'open' | 'closed';

export interface BridgeClientOptions {
  /** ws(s)://host:port/ws; default: the page's own server. */
  readonly url?: string;
  readonly role: Role;
  readonly token?: string;
  readonly name?: string;
  /** Ask for HAND_TRACKING messages (the operator's hand and the fingertip targets). */
  readonly tracking?: boolean;
  /** Reconnect after a close (default true). */
  readonly reconnect?: boolean;
  /** The WebSocket class (tests pass `ws`'s); default the browser's. */
  readonly WebSocketImpl?: typeof WebSocket;
  /** The clock, ms (default `performance.now`). */
  readonly now?: () => number;
}

export type StateListener = (state: DecodedRobotState, receivedMs: number) => void;
export type MessageListener = (msg: ServerMessage, receivedMs: number) => void;
export type BinaryListener = (kind: number, data: ArrayBuffer, receivedMs: number) => void;
export type PhaseListener = (phase: ConnectionPhase, detail: string) => void;

/** The page's own WebSocket endpoint (wss on https). */
export function defaultWsUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${WS_PATH}`;
}

export class BridgeClient {
  phase: ConnectionPhase = 'closed';
  welcome: WelcomeMessage | undefined;
  /** Best round trip of the last pings, ms (NaN before the first pong). */
  rttMs = Number.NaN;
  /** Last round trip, ms. */
  lastRttMs = Number.NaN;
  /** serverTimeMs ≈ clientNow + offsetMs, from the ping with the smallest round trip. */
  offsetMs = Number.NaN;
  /** States received on this connection. */
  statesReceived = 0;
  readonly state: DecodedRobotState = createDecodedRobotState();
  /** Main-thread time spent on ROBOT_STATE messages (decode and every listener), ms. */
  readonly stateCost = { count: 0, totalMs: 0, maxMs: 0 };

  private ws: WebSocket | undefined;
  private readonly o: BridgeClientOptions;
  private readonly url: string;
  private readonly now: () => number;
  private readonly stateListeners = new Set<StateListener>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly binaryListeners = new Set<BinaryListener>();
  private readonly phaseListeners = new Set<PhaseListener>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private pingId = 0;
  private rtts: number[] = [];
  private stopped = false;

  constructor(options: BridgeClientOptions) {
    this.o = options;
    this.url = options.url ?? defaultWsUrl();
    this.now = options.now ?? (() => performance.now());
  }

  connect(): this {
    this.stopped = false;
    this.open();
    return this;
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.ws?.close(1000, 'client closed');
    this.setPhase('closed', 'closed by the page');
  }

  onState(l: StateListener): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }
  onMessage(l: MessageListener): () => void {
    this.messageListeners.add(l);
    return () => this.messageListeners.delete(l);
  }
  /** Binary messages other than ROBOT_STATE (e.g. HAND_TRACKING), undecoded. */
  onBinary(l: BinaryListener): () => void {
    this.binaryListeners.add(l);
    return () => this.binaryListeners.delete(l);
  }
  onPhase(l: PhaseListener): () => void {
    this.phaseListeners.add(l);
    return () => this.phaseListeners.delete(l);
  }

  /** Sends a control message; false when not connected. */
  send(msg: ClientMessage): boolean {
    if (this.ws?.readyState !== 1 || this.welcome === undefined) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Sends a binary message (e.g. HAND_FRAME); false when not connected. */
  sendBinary(bytes: Uint8Array): boolean {
    if (this.ws?.readyState !== 1 || this.welcome === undefined) return false;
    this.ws.send(bytes);
    return true;
  }

  /** Bytes queued in the socket (for latest-wins senders). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** The server clock now, estimated (NaN before the first pong). */
  serverNow(): number {
    return this.now() + this.offsetMs;
  }

  private open(): void {
    const Impl = this.o.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.welcome = undefined;
    this.setPhase('connecting', this.url);
    ws.onopen = () => {
      const hello: Record<string, unknown> = { type: 'hello', protocol: PROTOCOL_VERSION, role: this.o.role };
      if (this.o.token) hello['token'] = this.o.token;
      if (this.o.name) hello['name'] = this.o.name;
      if (this.o.tracking) hello['tracking'] = true;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev: MessageEvent) => this.receive(ev.data as ArrayBuffer | string);
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      clearInterval(this.pingTimer);
      this.welcome = undefined;
      if (this.stopped) return;
      this.setPhase('closed', `closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
      if (this.o.reconnect === false) return;
      const delay = Math.min(5000, 250 * 2 ** this.retries++);
      this.retryTimer = setTimeout(() => this.open(), delay);
    };
    ws.onerror = () => {
      // onclose follows and reconnects.
    };
  }

  private receive(data: ArrayBuffer | string): void {
    const t = this.now();
    if (typeof data !== 'string') {
      const kind = peekKind(data);
      if (kind === MESSAGE_KIND.ROBOT_STATE) {
        const r = decodeRobotState(data, this.state);
        if (!r.ok) return;
        this.statesReceived++;
        for (const l of this.stateListeners) l(this.state, t);
        const c = this.stateCost;
        const dt = this.now() - t;
        c.count++;
        c.totalMs += dt;
        if (dt > c.maxMs) c.maxMs = dt;
        return;
      }
      if (kind !== undefined) for (const l of this.binaryListeners) l(kind, data, t);
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) return;
    const msg = parsed.msg;
    if (msg.type === 'welcome') {
      this.welcome = msg;
      this.retries = 0;
      this.rtts = [];
      this.offsetMs = msg.serverTimeMs - t;
      this.setPhase('open', `${msg.role} ${msg.sessionId}`);
      clearInterval(this.pingTimer);
      this.ping();
      this.pingTimer = setInterval(() => this.ping(), 1000);
    } else if (msg.type === 'pong') {
      const rtt = t - msg.clientTimeMs;
      this.lastRttMs = rtt;
      this.rtts.push(rtt);
      if (this.rtts.length > 10) this.rtts.shift();
      const best = Math.min(...this.rtts);
      if (rtt <= best) this.offsetMs = msg.serverTimeMs - (msg.clientTimeMs + t) / 2;
      this.rttMs = best;
    }
    for (const l of this.messageListeners) l(msg, t);
  }

  private ping(): void {
    this.send({ type: 'ping', id: ++this.pingId, clientTimeMs: this.now() });
  }

  private setPhase(phase: ConnectionPhase, detail: string): void {
    this.phase = phase;
    for (const l of this.phaseListeners) l(phase, detail);
  }
}
