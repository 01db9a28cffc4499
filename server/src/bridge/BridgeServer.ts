/**
 * The WebSocket bridge and its HTTP server: sessions, roles and tokens, per-connection limits,
 * and the fan-out of robot state to every client (latest wins: a slow client loses old states;
 * it never grows memory or delays anyone else). Every client message is checked against the
 * authority table (`control/authority.ts`) in one place, {@link BridgeServer.authorized}, and
 * handled in `control/`; the e-stop is recognised before the rate limit and size checks.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ACTION_NAMES, type Side, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { type WebSocket, WebSocketServer } from 'ws';
import type { CameraFrame, CameraHub } from '../cameras/index.js';
import { type AuthorityMessage, authorityRef, authorize } from '../control/authority.js';
import { type CommandReply, ControlCommands, type RecordingControl } from '../control/ControlCommands.js';
import { ControlLease } from '../control/ControlLease.js';
import type { ControlLoop, LoopState } from '../control/ControlLoop.js';
import { OperatorClock } from '../control/OperatorClock.js';
import {
  binaryRef, type ClientMessage, decodeActionChunk, decodeHandFrame, encodeActionChunk, encodeCameraFrame, encodeHandTracking, encodeRobotState, HAND_TRACKING_BYTES,
  HAND_TRACKING_JOINT_FLOATS, HAND_TRACKING_TIP_FLOATS, type HandTrackingSide, MESSAGE_KIND, PROTOCOL_VERSION, parseClientMessage, peekKind, peekSeq,
  type RobotStateMessage, toWireErrorCode, type WireErrorCode,
} from '../protocol/index.js';
import { Admission, type AdmissionOptions, type Admittee } from './Admission.js';
import type { ExportJobs } from './ExportJobs.js';
import { HostAllowList } from './HostAllowList.js';
import { createHttpHandler, type RecordingsStore } from './http.js';
import { OutgoingBudget, type OutgoingBudgetOptions, type ResolvedOutgoingOptions, resolveOutgoingOptions } from './OutgoingBudget.js';
import type { TlsMaterial } from './tls.js';
import { tokenMatches } from './tokens.js';

export type Role = 'operator' | 'viewer' | 'policy';

export type { RecordingControl } from '../control/ControlCommands.js';

/** Text messages up to this size are looked at for an e-stop before any limit applies, bytes. */
const ESTOP_SNIFF_BYTES = 256;

/** What the ROS side offers the server (see RosBridge). */
export interface RosStatus {
  connected: boolean;
  url: string | null;
  /** The last measured joint state: names matched, unknown and duplicated, and whether it is valid. */
  measured?: { matched: number; expected: number; unknown: number; duplicate: number; valid: boolean; ageMs: number } | null;
}

export interface BridgeServerOptions {
  readonly loop: ControlLoop;
  readonly host?: string;
  readonly port?: number;
  readonly tls?: TlsMaterial;
  readonly operatorToken: string;
  readonly policyToken: string;
  /** When set, viewers (and the HTTP API) need it. */
  readonly viewerToken?: string;
  /** Browser origins allowed besides the server's own (e.g. `https://10.0.0.5:8443`). */
  readonly allowedOrigins?: readonly string[];
  /** Host names accepted in `Host` besides loopback names and the bound addresses (e.g. `robot-pc.lab`). */
  readonly allowedHosts?: readonly string[];
  /** A new WebSocket that has not said a valid `hello` within this long is closed, ms. Default 5000. */
  readonly helloTimeoutMs?: number;
  /** Caps on connections that have not said hello (see Admission). */
  readonly admission?: AdmissionOptions;
  /** Per-connection outgoing budget (see OutgoingBudget); `latestBytes` defaults to `maxBufferedBytes`. */
  readonly outgoing?: OutgoingBudgetOptions;
  /** HTTP: the request headers must arrive within this long, ms. Default 10000. */
  readonly headersTimeoutMs?: number;
  /** HTTP: a whole request (headers and body) must arrive within this long, ms. Default 120000. */
  readonly requestTimeoutMs?: number;
  /** Largest message accepted, bytes. Default 65536. */
  readonly maxMessageBytes?: number;
  /** Messages per second one connection may send (token bucket). Default 300. */
  readonly maxMessagesPerSecond?: number;
  /** A frame arriving this much later than the connection's best delay is stale, ms. Default 150. */
  readonly staleMs?: number;
  /** A client with more than this many bytes unsent skips states, bytes. Default 65536. */
  readonly maxBufferedBytes?: number;
  readonly store: RecordingsStore;
  /** Dataset exports over HTTP (`/api/exports`); the owner closes them. */
  readonly exports?: ExportJobs;
  readonly clientDir?: string;
  readonly urdf: string;
  readonly recording?: RecordingControl;
  readonly ros?: () => RosStatus;
  /** The robot cameras: announced in welcome and status, sent to the connections that subscribe. */
  readonly cameras?: CameraHub;
  readonly softwareVersion: string;
}

interface Session {
  readonly id: string;
  readonly ws: WebSocket;
  /** Everything sent to this connection goes through it. */
  readonly out: OutgoingBudget;
  /** Its place among the connections that have not said hello yet. */
  readonly admittee: Admittee | undefined;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  role: Role | undefined;
  name: string;
  /** Which of its HAND_FRAME times to believe. */
  readonly clock: OperatorClock;
  /** Answers to this connection (for the control handlers). */
  readonly reply: CommandReply;
  tokens: number;
  lastRefillMs: number;
  lastRateErrorMs: number;
  lastImplausibleErrorMs: number;
  /** Its hello asked for HAND_TRACKING messages. */
  tracking: boolean;
  /** The last ROBOT_STATE went out to it (a HAND_TRACKING only follows a state it was sent). */
  stateSent: boolean;
  /** Cameras it subscribed to (`camera_subscribe`), each with its tier (undefined: the camera's own stream). */
  cameras: ReadonlyMap<string, string | undefined>;
}

/** Mutable HAND_TRACKING fields, reused for every message. */
interface TrackingScratch {
  sourceSeq: number;
  sourceTMs: number;
  left: HandTrackingSide | null;
  right: HandTrackingSide | null;
}

export class BridgeServer {
  readonly loop: ControlLoop;
  private readonly o: Required<Omit<BridgeServerOptions, 'tls' | 'viewerToken' | 'clientDir' | 'recording' | 'ros' | 'exports' | 'admission' | 'outgoing' | 'cameras'>> & BridgeServerOptions;
  private readonly hosts: HostAllowList;
  readonly admission: Admission;
  private readonly outgoing: ResolvedOutgoingOptions;
  /** Pending connections by `address:port` (the same for a TLS socket and the TCP socket under it). */
  private readonly admittees = new Map<string, Admittee>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly lease: ControlLease<Session>;
  private readonly commands: ControlCommands<Session>;
  private chunkId = 0;
  private nextId = 1;
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private readonly startedMs: number;
  private readonly trackingSides = {
    left: { joints: new Float32Array(HAND_TRACKING_JOINT_FLOATS), tips: new Float32Array(HAND_TRACKING_TIP_FLOATS) },
    right: { joints: new Float32Array(HAND_TRACKING_JOINT_FLOATS), tips: new Float32Array(HAND_TRACKING_TIP_FLOATS) },
  } as const;
  private readonly trackingMsg: TrackingScratch = { sourceSeq: 0, sourceTMs: Number.NaN, left: null, right: null };

  constructor(options: BridgeServerOptions) {
    this.o = {
      host: '127.0.0.1', port: 8080, allowedOrigins: [], allowedHosts: [], maxMessageBytes: 65536, maxMessagesPerSecond: 300, staleMs: 150, maxBufferedBytes: 65536,
      helloTimeoutMs: 5000, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000,
      ...options,
    };
    for (const k of ['maxMessageBytes', 'maxMessagesPerSecond', 'staleMs', 'maxBufferedBytes', 'helloTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs'] as const) {
      const v = this.o[k];
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw new RangeError(`BridgeServer: ${k} must be a positive number, got ${String(v)}`);
    }
    if (options.operatorToken.length < 8 || options.policyToken.length < 8) throw new RangeError('BridgeServer: operatorToken and policyToken must have at least 8 characters');
    this.loop = options.loop;
    this.lease = new ControlLease<Session>(this.loop);
    this.commands = new ControlCommands<Session>(this.loop, this.lease, options.recording, (s) => this.estopBy(s));
    this.startedMs = Date.now();
    const handler = createHttpHandler({
      store: options.store, operatorToken: options.operatorToken, viewerToken: options.viewerToken, clientDir: options.clientDir, urdf: options.urdf,
      info: () => this.info(), ...(options.exports ? { exports: options.exports } : {}),
    });
    this.hosts = new HostAllowList(this.o.host, this.o.allowedHosts);
    this.admission = new Admission(options.admission);
    this.outgoing = resolveOutgoingOptions({
      latestBytes: this.o.maxBufferedBytes, budgetBytes: this.o.maxBufferedBytes * 4, errorsPerSecond: this.o.maxMessagesPerSecond, ...options.outgoing,
    });
    // Slow or silent clients (slowloris) lose their socket: headers within headersTimeoutMs, the
    // whole request within requestTimeoutMs, checked every second.
    const timeouts = {
      headersTimeout: this.o.headersTimeoutMs, requestTimeout: Math.max(this.o.requestTimeoutMs, this.o.headersTimeoutMs), keepAliveTimeout: 5000,
      connectionsCheckingInterval: Math.min(1000, this.o.headersTimeoutMs),
    };
    const guarded = (req: IncomingMessage, res: ServerResponse): void => this.request(req, res, handler);
    this.http = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: this.o.headersTimeoutMs, ...timeouts }, guarded)
      : createHttpServer(timeouts, guarded);
    this.http.on('connection', (socket: Socket) => this.accepted(socket));
    // A hard cap far above the protocol limit: larger messages get a coded error, not a dropped socket.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(1 << 20, this.o.maxMessageBytes * 4), perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.wss.on('connection', (ws, req: IncomingMessage) => this.connected(ws, req));
    this.loop.onState((s) => this.broadcastState(s));
    this.loop.onRetarget((seq, tMs) => this.broadcastTracking(seq, tMs));
    this.loop.onEvent((e) => this.broadcastJson({ type: 'event', event: e.event, serverTimeMs: e.serverTimeMs, detail: e.detail }, false));
    // Dashboards that asked for tracking get the policy's gated future rows (kind 3), to draw them.
    this.loop.onChunk((_tMs, chunk, source) => {
      if (source === 'policy') this.broadcastChunk(chunk);
    });
    options.cameras?.onFrame((f) => this.broadcastCamera(f));
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((done, fail) => {
      this.http.once('error', fail);
      this.http.listen(this.o.port, this.o.host, () => {
        this.http.off('error', fail);
        done();
      });
    });
    this.statusTimer = setInterval(() => {
      this.broadcastJson(this.status(), true);
      this.closeOverBudget();
    }, 500);
    this.statusTimer.unref?.();
    const addr = this.http.address();
    return typeof addr === 'object' && addr ? addr.port : this.o.port;
  }

  async close(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    for (const s of this.sessions) s.ws.terminate();
    for (const a of this.admittees.values()) a.evict();
    this.admission.close();
    this.wss.close();
    await new Promise<void>((done) => this.http.close(() => done()));
  }

  /** The control lease holder's name, or null. */
  leaseHolder(): string | null {
    return this.lease.holder();
  }

  /** An internal source (the demo) takes the lease as if an operator held it. */
  takeLeaseInternal(name: string): void {
    this.lease.takeInternal(name);
  }

  /** Frees the lease if the internal source `name` holds it. */
  releaseInternal(name: string): void {
    this.lease.releaseInternal(name);
  }

  clients(): { operators: number; viewers: number; policies: number } {
    let operators = 0, viewers = 0, policies = 0;
    for (const s of this.sessions) {
      if (s.role === 'operator') operators++;
      else if (s.role === 'viewer') viewers++;
      else if (s.role === 'policy') policies++;
    }
    return { operators, viewers, policies };
  }

  /**
   * Every connection's outgoing queue: bytes the server holds for it (`bufferedAmount`) and what
   * its budget skipped, dropped or coalesced (for tests, benchmarks and diagnostics).
   */
  connectionStats(): { id: string; role: Role | null; bufferedBytes: number; skippedLatest: number; droppedOverBudget: number; suppressedErrors: number }[] {
    return [...this.sessions].map((s) => ({ id: s.id, role: s.role ?? null, bufferedBytes: s.ws.bufferedAmount, ...s.out.stats }));
  }

  /** Addresses other machines (the Quest) reach this server at, for `/api/info` (the dashboard's QR code). */
  lanUrls: readonly string[] = [];

  private info(): Record<string, unknown> {
    return {
      name: 'dexbridge', version: this.o.softwareVersion, protocol: PROTOCOL_VERSION, startedAt: new Date(this.startedMs).toISOString(),
      mode: this.loop.mode, controlRateHz: this.loop.controlRateHz, watchdogMs: this.loop.watchdogMs,
      lease: this.leaseHolder(), clients: this.clients(), tls: this.o.tls !== undefined, viewerTokenRequired: this.o.viewerToken !== undefined,
      lanUrls: this.lanUrls,
    };
  }

  private status(): Record<string, unknown> {
    const st = this.loop.state;
    const r = this.o.ros?.();
    const ros = r ? { connected: r.connected, url: r.url, ...(r.measured ? { measured: r.measured } : {}) } : { connected: false, url: null };
    const rec = this.o.recording;
    return {
      type: 'status', serverTimeMs: this.loop.now(), mode: st.mode, estop: st.estop,
      lease: { holder: this.leaseHolder() },
      recording: { active: rec?.active() ?? false, file: rec?.file() ?? null, error: rec?.error() ?? null },
      ros, clients: this.clients(), chunks: { queueDepth: st.chunkQueueDepth, latencyMs: Number.isFinite(st.chunkLatencyMs) ? st.chunkLatencyMs : null },
      motion: { engageRequired: st.engageRequired, hold: st.holdReason, calibrationPending: this.loop.pendingCalibrationRequest !== null },
      cameras: this.o.cameras?.status() ?? [],
    };
  }

  /** Origin allow-list: non-browser clients send none; browsers must come from us or an allowed origin. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.o.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string): void => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return refuse(400, 'Bad Request');
    }
    const pending = this.admittees.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    if (pending !== undefined) pending.progressed = true;
    if (path !== '/ws') return refuse(404, 'Not Found');
    // Host before Origin: a DNS-rebinding page controls both, but cannot make Host name this server.
    if (!this.hosts.allows(req.headers.host)) return refuse(421, 'Misdirected Request');
    if (!this.originAllowed(req)) return refuse(403, 'Forbidden');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /** A new TCP connection: pending until its WebSocket says hello (see Admission). */
  private accepted(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const key = `${address}:${socket.remotePort}`;
    const a: Admittee = { address, busy: false, progressed: false, evict: () => socket.destroy() };
    this.admittees.set(key, a);
    this.admission.admit(a);
    socket.once('close', () => {
      this.admission.settle(a);
      if (this.admittees.get(key) === a) this.admittees.delete(key);
    });
  }

  /** Every HTTP request: the Host allow-list first, then the API and the dashboard. */
  private request(req: IncomingMessage, res: ServerResponse, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    if (!this.hosts.allows(req.headers.host)) {
      const body = JSON.stringify({
        error: { code: 'HOST_NOT_ALLOWED', message: `http: Host ${JSON.stringify(String(req.headers.host).slice(0, 100))} is not a name of this server (loopback names, the bound address, --allow-host)` },
      });
      res.writeHead(421, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    const a = this.admittees.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    if (a !== undefined) {
      a.busy = true;
      a.progressed = true;
      res.once('close', () => {
        a.busy = false;
      });
    }
    handler(req, res);
  }

  /** Closes the connections that stayed over their outgoing budget (they do not read). */
  private closeOverBudget(): void {
    const now = this.loop.now();
    for (const s of this.sessions) if (s.out.shouldClose(now)) s.ws.terminate();
  }

  private connected(ws: WebSocket, req: IncomingMessage): void {
    const now = this.loop.now();
    const admittee = this.admittees.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
    if (admittee !== undefined) {
      admittee.busy = false;
      admittee.evict = () => ws.terminate();
    }
    const s: Session = {
      id: `c${this.nextId++}`, ws, out: new OutgoingBudget(ws, this.outgoing, now), admittee, helloTimer: undefined, role: undefined, name: '',
      clock: new OperatorClock({ staleMs: this.o.staleMs }),
      // Pongs are latest-wins: a client that pings and never reads cannot queue them up.
      reply: { send: (msg) => (msg['type'] === 'pong' ? void s.out.latest(JSON.stringify(msg)) : this.send(s, msg)), error: (code, message, ref) => this.error(s, code, message, ref) },
      tokens: this.o.maxMessagesPerSecond, lastRefillMs: now, lastRateErrorMs: Number.NEGATIVE_INFINITY, lastImplausibleErrorMs: Number.NEGATIVE_INFINITY,
      tracking: false, stateSent: false, cameras: new Map(),
    };
    this.sessions.add(s);
    // A connection that never says hello is closed: it holds a descriptor and memory for nothing.
    s.helloTimer = setTimeout(() => {
      if (s.role !== undefined) return;
      this.error(s, 'AUTH_REQUIRED', `server: no hello within ${this.o.helloTimeoutMs} ms; closing`);
      ws.close(1008, 'no hello');
      setTimeout(() => ws.terminate(), 1000).unref?.();
    }, this.o.helloTimeoutMs);
    s.helloTimer.unref?.();
    ws.on('message', (data, isBinary) => {
      try {
        this.message(s, data as Buffer | ArrayBuffer | Buffer[], isBinary);
      } catch (err) {
        // Never let one connection's message take the server down.
        this.error(s, 'INTERNAL', `server: ${(err as Error).message}`);
      }
    });
    ws.on('close', () => this.disconnected(s));
    ws.on('error', () => ws.terminate());
  }

  private disconnected(s: Session): void {
    this.sessions.delete(s);
    clearTimeout(s.helloTimer);
    if (s.admittee !== undefined) this.admission.settle(s.admittee);
    this.lease.lost(s);
  }

  /** A reply (welcome, status after hello): queued within the connection's outgoing budget. */
  private send(s: Session, msg: Record<string, unknown>): void {
    if (s.ws.readyState === s.ws.OPEN) s.out.reliable(JSON.stringify(msg), this.loop.now());
  }

  /** An error reply, coalesced by the outgoing budget (the one that goes out says how many did not). */
  private error(s: Session, code: WireErrorCode, message: string, ref?: string, seq?: number): void {
    if (s.ws.readyState !== s.ws.OPEN) return;
    s.out.error((suppressed) => {
      const text = suppressed > 0 ? `${message} (${suppressed} earlier errors were not sent: the connection did not read them)` : message;
      const msg: Record<string, unknown> = { type: 'error', code, message: text };
      if (ref !== undefined) msg['ref'] = ref;
      if (seq !== undefined) msg['seq'] = seq;
      return JSON.stringify(msg);
    }, this.loop.now());
  }

  private allow(s: Session, now: number): boolean {
    const rate = this.o.maxMessagesPerSecond;
    s.tokens = Math.min(rate, s.tokens + ((now - s.lastRefillMs) * rate) / 1000);
    s.lastRefillMs = now;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return true;
    }
    if (now - s.lastRateErrorMs > 1000) {
      s.lastRateErrorMs = now;
      this.error(s, 'PROTO_RATE_LIMITED', `server: more than ${rate} messages per second; messages are dropped`);
    }
    return false;
  }

  private message(s: Session, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const now = this.loop.now();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    // The e-stop first: a small text message is parsed before the rate limit and the size check,
    // so neither a flood nor a full bucket can drop it.
    if (!isBinary && bytes.byteLength <= ESTOP_SNIFF_BYTES && this.estopFirst(s, bytes)) return;
    if (!this.allow(s, now)) return;
    if (bytes.byteLength > this.o.maxMessageBytes) {
      this.error(s, 'PROTO_TOO_LARGE', `server: message of ${bytes.byteLength} bytes exceeds ${this.o.maxMessageBytes}`);
      return;
    }
    if (!isBinary) {
      const parsed = parseClientMessage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
      if (!parsed.ok) return this.error(s, parsed.code, parsed.message, parsed.ref);
      return this.control(s, parsed.msg, now);
    }
    if (s.role === undefined) return this.error(s, 'AUTH_REQUIRED', 'server: send hello first', binaryRef(bytes), peekSeq(bytes));
    const kind = peekKind(bytes);
    if (kind === MESSAGE_KIND.HAND_FRAME) return this.handFrame(s, bytes, now);
    if (kind === MESSAGE_KIND.ACTION_CHUNK) return this.chunk(s, bytes, now);
    this.error(s, 'PROTO_BAD_KIND', `server: binary message kind ${bytes[0] ?? 'none'} is not one a client sends (1 hand frame, 3 action chunk)`, binaryRef(bytes));
  }

  private handFrame(s: Session, bytes: Uint8Array, now: number): void {
    const ref = 'binary:1';
    if (!this.authorized(s, 'hand_frame', bytes)) return;
    const f = decodeHandFrame(bytes);
    if (!f.ok) return this.error(s, f.code, f.message, ref, f.seq ?? peekSeq(bytes));
    // Order and a plausible time on this connection's clock; a refused frame changes nothing.
    const t = s.clock.check(f.seq, f.tMs, now);
    if (!t.ok) return this.error(s, t.code, t.message, ref, f.seq);
    if (!this.lease.held()) this.lease.claim(s);
    this.loop.handFrame(f.seq, f.tMs, f.left, f.right, now);
    // A present hand the retargeting found implausible: tell the operator (at most once a second).
    const st = this.loop.state.status;
    for (const side of ['left', 'right'] as const satisfies readonly Side[]) {
      const present = side === 'left' ? f.left !== null : f.right !== null;
      const hold = st[side].hold;
      if (present && hold !== 'none' && hold !== 'missing' && now - s.lastImplausibleErrorMs > 1000 && this.loop.mode === 'teleop') {
        s.lastImplausibleErrorMs = now;
        this.error(s, 'FRAME_IMPLAUSIBLE', `server: ${side} hand rejected (${hold}); that side holds`, ref, f.seq);
      }
    }
  }

  private chunk(s: Session, bytes: Uint8Array, now: number): void {
    const ref = 'binary:3';
    if (!this.authorized(s, 'action_chunk', bytes)) return;
    const c = decodeActionChunk(bytes);
    if (!c.ok) return this.error(s, c.code, c.message, ref, c.seq ?? peekSeq(bytes));
    const r = this.loop.submitChunk({ startTimeMs: c.startTimeMs, periodMs: c.periodMs, k: c.k, data: c.data }, now);
    if (!r.ok) return this.error(s, toWireErrorCode(r.code), r.message, ref, c.chunkId);
  }

  /** The gated preview of the policy's rows, to every connection that asked for tracking. */
  private broadcastChunk(chunk: { startTimeMs: number; periodMs: number; k: number; data: Float32Array }): void {
    let wanted = false;
    for (const t of this.sessions) if (t.tracking && t.ws.readyState === t.ws.OPEN) wanted = true;
    if (!wanted) return;
    const buf = encodeActionChunk(undefined, { chunkId: this.chunkId++ >>> 0, startTimeMs: chunk.startTimeMs, periodMs: chunk.periodMs, k: chunk.k, data: chunk.data });
    for (const t of this.sessions) {
      if (t.tracking && t.ws.readyState === t.ws.OPEN) t.out.latest(buf);
    }
  }

  /**
   * The authority table, enforced: whether connection `s` may send `type` now. When not, `s` gets
   * the table's error code (naming a refused binary message `binary` by its seq). The only place
   * the server decides who may do what.
   */
  private authorized(s: Session, type: AuthorityMessage, binary?: Uint8Array): boolean {
    const denial = authorize(type, {
      role: s.role ?? 'none', holds: this.lease.holds(s), leaseHeld: this.lease.held(), holder: this.lease.holder(), mode: this.loop.mode,
      estop: this.loop.state.estop,
    });
    if (denial === null) return true;
    // A refused binary message is named by its seq / chunkId, read only now that it is refused.
    this.error(s, denial.code, denial.message, authorityRef(type), binary && peekSeq(binary));
    return false;
  }

  /** Who an e-stop is from: the connection's name, or `unauthenticated-<id>` before hello. */
  private estopBy(s: Session): string {
    return s.name || `unauthenticated-${s.id}`;
  }

  /** Whether `bytes` is an e-stop; if so it is acted on (any connection, before hello too) and acknowledged. */
  private estopFirst(s: Session, bytes: Uint8Array): boolean {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    if (!text.includes('estop')) return false;
    const parsed = parseClientMessage(text);
    if (!parsed.ok || parsed.msg.type !== 'estop') return false;
    if (!this.authorized(s, 'estop')) return true;
    this.commands.estop(this.estopBy(s), s.reply);
    return true;
  }

  private control(s: Session, msg: ClientMessage, now: number): void {
    if (!this.authorized(s, msg.type)) return;
    if (msg.type === 'camera_subscribe') return this.subscribeCameras(s, msg.cameras, msg.tiers ?? {}, now);
    if (msg.type !== 'hello') return this.commands.handle(s, msg, s.reply);
    if (msg.role === 'operator' && !tokenMatches(msg.token, this.o.operatorToken)) return this.error(s, 'AUTH_BAD_TOKEN', 'server: operator token missing or wrong', 'hello');
    if (msg.role === 'policy' && !tokenMatches(msg.token, this.o.policyToken)) return this.error(s, 'AUTH_BAD_TOKEN', 'server: policy token missing or wrong', 'hello');
    if (msg.role === 'viewer' && this.o.viewerToken !== undefined && !tokenMatches(msg.token, this.o.viewerToken)) {
      return this.error(s, 'AUTH_BAD_TOKEN', 'server: viewer token missing or wrong', 'hello');
    }
    s.role = msg.role;
    s.name = (msg.name ?? `${msg.role}-${s.id}`).slice(0, 64);
    s.tracking = msg.tracking === true;
    clearTimeout(s.helloTimer);
    if (s.admittee !== undefined) this.admission.settle(s.admittee);
    this.send(s, {
      type: 'welcome', protocol: PROTOCOL_VERSION, sessionId: s.id, role: s.role, serverTimeMs: now, controlRateHz: this.loop.controlRateHz,
      jointNames: STATE_JOINT_NAMES, actionNames: ACTION_NAMES,
      limits: { maxMessageBytes: this.o.maxMessageBytes, maxMessagesPerSecond: this.o.maxMessagesPerSecond, watchdogMs: this.loop.watchdogMs },
      cameras: this.o.cameras?.cameras ?? [],
    });
    this.send(s, this.status());
  }

  /** `camera_subscribe`: the connection's cameras from now on, all or nothing; answered by ack. */
  private subscribeCameras(s: Session, ids: readonly string[], tiers: Readonly<Record<string, string>>, now: number): void {
    const cameras = this.o.cameras?.cameras ?? [];
    const known = cameras.map((c) => c.id);
    const unknown = ids.filter((id) => !known.includes(id));
    if (unknown.length > 0) {
      return this.error(s, 'CAMERA_UNKNOWN', `server: no camera ${unknown.map((id) => JSON.stringify(id)).join(', ')} (cameras: ${known.length > 0 ? known.join(', ') : 'none'}); subscription unchanged`, 'camera_subscribe');
    }
    for (const [id, tier] of Object.entries(tiers)) {
      const offered = cameras.find((c) => c.id === id)?.tiers?.map((t) => t.name) ?? [];
      if (!offered.includes(tier)) {
        return this.error(s, 'CAMERA_UNKNOWN', `server: camera ${JSON.stringify(id)} has no tier ${JSON.stringify(tier)} (tiers: ${offered.length > 0 ? offered.join(', ') : 'none'}); subscription unchanged`, 'camera_subscribe');
      }
    }
    // A camera subscribed anew, or at another tier (another encoder), starts at its next key frame
    // (H.264 deltas need what came before).
    for (const id of ids) if (!s.cameras.has(id) || s.cameras.get(id) !== tiers[id]) s.out.awaitKeyFrame(id);
    s.cameras = new Map(ids.map((id) => [id, tiers[id]]));
    s.reply.send({ type: 'ack', ref: 'camera_subscribe', serverTimeMs: now });
  }

  /**
   * One camera frame to every connection that subscribed to its camera, inside each connection's
   * outgoing budget (OutgoingBudget.camera): a connection without room skips it, and the next
   * frame of the camera carries the news (latest wins). Encoded once, only when someone wants it.
   * H.264 frames go to a connection only from a key frame on (OutgoingBudget.camera, docs/cameras.md).
   */
  private broadcastCamera(f: CameraFrame): void {
    let buf: Uint8Array | undefined;
    const inter = f.codec === 'h264' ? f : undefined; // the frame itself carries cameraId and keyFrame
    for (const s of this.sessions) {
      // Subscribed to this camera, at this frame's tier (undefined: the camera's own stream).
      if (!s.cameras.has(f.cameraId) || s.cameras.get(f.cameraId) !== f.tier || s.ws.readyState !== s.ws.OPEN) continue;
      buf ??= encodeCameraFrame({
        cameraId: f.cameraId, seq: f.seq >>> 0, captureTimeMs: f.captureTimeMs, codec: f.codec, keyFrame: f.keyFrame, width: f.width, height: f.height, payload: f.data,
      });
      s.out.camera(buf, inter);
    }
  }

  private broadcastState(st: LoopState): void {
    const now = this.loop.now();
    const msg: RobotStateMessage = {
      seq: st.seq >>> 0, serverTimeMs: st.serverTimeMs, mode: st.mode, estopLatched: st.estop, recording: this.o.recording?.active() ?? false,
      rosConnected: this.o.ros?.().connected ?? false, watchdogHold: st.holding, leaseHeld: this.lease.held(),
      sourceTMs: st.sourceTMs, sourceSeq: st.sourceSeq >>> 0,
      status: { left: st.status.left, right: st.status.right },
      retargetMs: st.retargetMs, serverLatencyMs: Number.isFinite(st.sourceRecvMs) ? now - st.sourceRecvMs : Number.NaN,
      chunkQueueDepth: st.chunkQueueDepth, chunkLatencyMs: st.chunkLatencyMs,
      commanded: st.q, action: st.action, measured: st.measuredValid ? st.measured : null,
    };
    // One buffer per state, shared by every client (ws may still hold it after send returns).
    const buf = encodeRobotState(undefined, msg);
    for (const s of this.sessions) {
      s.stateSent = false;
      if (s.role === undefined || s.ws.readyState !== s.ws.OPEN) continue;
      // Latest wins: a client that has not taken the last states skips this one.
      s.stateSent = s.out.latest(buf);
    }
  }

  /**
   * After the state answering operator frame `sourceSeq`: one HAND_TRACKING to each connection
   * that asked for it (hello `tracking: true`) and was sent that state, latest wins as for
   * states. Nothing is computed while no connection asked.
   */
  private broadcastTracking(sourceSeq: number, sourceTMs: number): void {
    let wanted = false;
    for (const s of this.sessions) if (s.tracking && s.stateSent) wanted = true;
    if (!wanted) return;
    const m = this.trackingMsg;
    const sides = this.trackingSides;
    m.sourceSeq = sourceSeq >>> 0;
    m.sourceTMs = sourceTMs;
    m.left = this.loop.handTracking('left', sides.left.joints, sides.left.tips) ? sides.left : null;
    m.right = this.loop.handTracking('right', sides.right.joints, sides.right.tips) ? sides.right : null;
    // One buffer per message, shared by the recipients (ws may still hold it after send returns).
    const buf = encodeHandTracking(new Uint8Array(HAND_TRACKING_BYTES), m);
    for (const s of this.sessions) {
      if (!s.tracking || !s.stateSent || s.ws.readyState !== s.ws.OPEN) continue;
      s.out.latest(buf);
    }
  }

  /** Status (latest wins: the next one replaces it) or an event (queued within the budget). */
  private broadcastJson(msg: Record<string, unknown>, latestWins: boolean): void {
    const text = JSON.stringify(msg);
    const now = this.loop.now();
    for (const s of this.sessions) {
      if (s.role === undefined || s.ws.readyState !== s.ws.OPEN) continue;
      if (latestWins) s.out.latest(text, this.outgoing.latestBytes * 2);
      else s.out.reliable(text, now);
    }
  }
}

