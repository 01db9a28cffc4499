/**
 * A rosbridge v2 PROTOCOL PEER for tests. It is NOT rosbridge: there is no ROS graph behind it,
 * it knows only the standard message types dexbridge publishes and subscribes (images too), and it never converts
 * anything to ROS. dexbridge is also checked against a real rosbridge_server (ROS 1 and ROS 2)
 * outside CI (see docs/ros.md); CI cannot run one (rosbridge_server is not packaged by Debian or
 * npm), so this peer stands in for it and is deliberately strict.
 *
 * It listens on 127.0.0.1 (port 0 = any free port) with a `ws` WebSocketServer and speaks the
 * JSON protocol of rosbridge_suite's ROSBRIDGE_PROTOCOL.md for the ops dexbridge uses:
 * `advertise`, `unadvertise`, `publish` (both ways), `subscribe`, `unsubscribe`, and answers a
 * bad op with a `status` message of level `error` as rosbridge does. It CHECKS, and records as a
 * violation (the tests assert there are none):
 * - every frame is a JSON text object with a string `op` that is one of those five ops; `id`, if
 *   present, is a string or an integer;
 * - `topic` is a string naming a global ROS topic (`/a/b_c`); `advertise.type` (and
 *   `subscribe.type` if present) is a `pkg/Msg` string (ROS 2 also `pkg/msg/Msg`); optional
 *   fields have the spec's types (`latch` boolean; `queue_size`, `throttle_rate`,
 *   `queue_length`, `fragment_size` non-negative integers; `compression` one of none, png, cbor,
 *   cbor-raw);
 * - a topic keeps one type (advertising it again with another type is an error, as in rosbridge);
 * - `publish` only on a topic this connection has advertised (after a reconnect the client must
 *   advertise again), with a `msg` object;
 * - the `msg` of every publish, per message type, has EVERY field of the standard message with
 *   the right JS type and no field the message does not have (rosbridge rejects those):
 *   `sensor_msgs/JointState` header/name/position/velocity/effort; `std_msgs/Float32MultiArray`
 *   layout.dim[] {label, size, stride}, layout.data_offset, data; `trajectory_msgs/JointTrajectory`
 *   header/joint_names/points[] {positions, velocities, accelerations, effort, time_from_start};
 *   `geometry_msgs/PoseStamped` header/pose {position {x,y,z}, orientation {x,y,z,w}}. Headers
 *   and times in the peer's dialect: ROS 1 `{seq, stamp {secs, nsecs}, frame_id}`, ROS 2
 *   `{stamp {sec, nanosec}, frame_id}`. Integers are integers in range, floats are finite
 *   numbers (JSON `null`, i.e. a NaN, is a violation), nanoseconds are in [0, 1e9);
 * - and the consistency rules the message definitions state in their comments: JointState arrays
 *   as long as `name` or empty; MultiArray strides (`dim[i].stride = size[i] × dim[i+1].stride`)
 *   and `data_offset + dim[0].stride ≤ data.length`; trajectory points as long as `joint_names`
 *   (or empty for velocities/accelerations/effort), unique joint names, strictly increasing
 *   `time_from_start`; a unit quaternion (±1e-6).
 * Unknown extra op fields and unadvertise/unsubscribe of things not advertised/subscribed are
 * warnings (rosbridge logs a warning), kept apart from violations.
 *
 * It records every op and every published message per topic, can publish to subscribers (to play
 * the robot on `/dexbridge/measured_joint_states`), can stall reading (a slow rosbridge), and can
 * be stopped and started again on the SAME port (to test reconnection).
 */

import type { AddressInfo } from 'node:net';
import { encode as encodeCbor } from 'cbor2';
import { type WebSocket, WebSocketServer } from 'ws';

export type PeerRosVersion = 1 | 2;

export interface PeerViolation {
  readonly client: number;
  readonly op: string | undefined;
  readonly topic: string | undefined;
  readonly message: string;
}

export interface PeerOpRecord {
  readonly client: number;
  readonly op: string;
  readonly topic: string | undefined;
  readonly type: string | undefined;
  readonly id: string | number | undefined;
  readonly raw: Record<string, unknown>;
}

export interface RosbridgePeerOptions {
  /** Dialect of headers and times to check. Default 1. */
  readonly rosVersion?: PeerRosVersion;
  /** Port to listen on; default 0 (a free port). */
  readonly port?: number;
  /** Topics that exist on the "robot side" with their types (what a subscribe may name). */
  readonly topics?: Readonly<Record<string, string>>;
  /** Keep at most this many messages per topic (oldest dropped). Default 10000. */
  readonly keepPerTopic?: number;
}

interface ClientState {
  readonly id: number;
  readonly ws: WebSocket;
  readonly advertised: Map<string, string>;
  /** subscription key (id or topic) → topic */
  readonly subscriptions: Map<string, string>;
  /** subscription key → its `compression` (`cbor`: publishes go out as binary CBOR frames) */
  readonly compressions: Map<string, string>;
}

/** The `uint8[] data` of the image types as bytes (the tests write them in rosbridge's JSON form, base64). */
function withBytes(type: string | undefined, msg: unknown): unknown {
  const t = type?.replace('/msg/', '/');
  if ((t !== 'sensor_msgs/CompressedImage' && t !== 'sensor_msgs/Image') || typeof msg !== 'object' || msg === null) return msg;
  const data = (msg as Record<string, unknown>)['data'];
  return typeof data === 'string' ? { ...msg, data: new Uint8Array(Buffer.from(data, 'base64')) } : msg;
}

const KNOWN_OPS = new Set(['advertise', 'unadvertise', 'publish', 'subscribe', 'unsubscribe']);
/** Ops of the rosbridge spec that this peer does not implement (dexbridge must not send them). */
const OTHER_SPEC_OPS = new Set([
  'fragment',
  'png',
  'auth',
  'status',
  'set_level',
  'advertise_service',
  'unadvertise_service',
  'call_service',
  'service_response',
  'advertise_action',
  'unadvertise_action',
  'send_action_goal',
  'cancel_action_goal',
  'action_feedback',
  'action_result',
]);
const OP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  advertise: ['op', 'id', 'topic', 'type', 'latch', 'queue_size'],
  unadvertise: ['op', 'id', 'topic'],
  publish: ['op', 'id', 'topic', 'msg', 'latch'],
  subscribe: ['op', 'id', 'topic', 'type', 'throttle_rate', 'queue_length', 'fragment_size', 'compression'],
  unsubscribe: ['op', 'id', 'topic'],
};
const COMPRESSIONS = new Set(['none', 'png', 'cbor', 'cbor-raw']);
const TOPIC_RE = /^(\/[A-Za-z_][A-Za-z0-9_]*)+$/;
const TYPE_RE_1 = /^[A-Za-z][A-Za-z0-9_]*\/[A-Za-z][A-Za-z0-9_]*$/;
const TYPE_RE_2 = /^[A-Za-z][A-Za-z0-9_]*\/(msg\/)?[A-Za-z][A-Za-z0-9_]*$/;

// ---------------------------------------------------------------------------------------------
// Message checks

type Check = (v: unknown, path: string, out: string[]) => void;

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const intRange =
  (name: string, lo: number, hi: number): Check =>
  (v, path, out) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      out.push(`${path} must be a ${name} (integer in [${lo}, ${hi}]), got ${kind(v)} ${JSON.stringify(v)}`);
    }
  };
const uint32 = intRange('uint32', 0, 0xffffffff);
const int32 = intRange('int32', -0x80000000, 0x7fffffff);
const nanos = intRange('nanoseconds', 0, 999_999_999);
const float64: Check = (v, path, out) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${path} must be a finite float64, got ${kind(v)} ${JSON.stringify(v)}`);
};
const FLOAT32_MAX = 3.4028234663852886e38;
const float32: Check = (v, path, out) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
    out.push(`${path} must be a finite float32, got ${kind(v)} ${JSON.stringify(v)}`);
  }
};
const string: Check = (v, path, out) => {
  if (typeof v !== 'string') out.push(`${path} must be a string, got ${kind(v)}`);
};
const arrayOf =
  (item: Check): Check =>
  (v, path, out) => {
    if (!Array.isArray(v)) {
      out.push(`${path} must be an array, got ${kind(v)}`);
      return;
    }
    const before = out.length;
    for (let i = 0; i < v.length && out.length - before < 5; i++) item(v[i], `${path}[${i}]`, out);
  };
const struct =
  (fields: Readonly<Record<string, Check>>): Check =>
  (v, path, out) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      out.push(`${path} must be an object, got ${kind(v)}`);
      return;
    }
    const o = v as Record<string, unknown>;
    for (const [f, check] of Object.entries(fields)) {
      if (!(f in o)) out.push(`${path}.${f} is missing`);
      else check(o[f], `${path}.${f}`, out);
    }
    for (const f of Object.keys(o)) if (!(f in fields)) out.push(`${path} has no field "${f}" in this message type`);
  };

/** rosbridge sends a `uint8[]` field as a base64 string in JSON. */
const base64Bytes: Check = (v, path, out) => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) out.push(`${path} must be base64 (rosbridge's JSON form of uint8[]), got ${kind(v)}`);
};

function timeCheck(rv: PeerRosVersion, isDuration: boolean): Check {
  return rv === 1 ? struct({ secs: isDuration ? int32 : uint32, nsecs: nanos }) : struct({ sec: int32, nanosec: nanos });
}
function headerCheck(rv: PeerRosVersion): Check {
  return rv === 1
    ? struct({ seq: uint32, stamp: timeCheck(1, false), frame_id: string })
    : struct({ stamp: timeCheck(2, false), frame_id: string });
}

/** Canonical (ROS 1 style) name of a type: `pkg/msg/Msg` → `pkg/Msg`. */
export const canonicalType = (t: string): string => t.replace('/msg/', '/');

function schemas(rv: PeerRosVersion): Readonly<Record<string, Check>> {
  const header = headerCheck(rv);
  const f64s = arrayOf(float64);
  return {
    'sensor_msgs/JointState': struct({ header, name: arrayOf(string), position: f64s, velocity: f64s, effort: f64s }),
    'std_msgs/Float32MultiArray': struct({
      layout: struct({ dim: arrayOf(struct({ label: string, size: uint32, stride: uint32 })), data_offset: uint32 }),
      data: arrayOf(float32),
    }),
    'std_msgs/Float64MultiArray': struct({
      layout: struct({ dim: arrayOf(struct({ label: string, size: uint32, stride: uint32 })), data_offset: uint32 }),
      data: f64s,
    }),
    'trajectory_msgs/JointTrajectory': struct({
      header,
      joint_names: arrayOf(string),
      points: arrayOf(
        struct({ positions: f64s, velocities: f64s, accelerations: f64s, effort: f64s, time_from_start: timeCheck(rv, true) }),
      ),
    }),
    'sensor_msgs/CompressedImage': struct({ header, format: string, data: base64Bytes }),
    'sensor_msgs/Image': struct({ header, height: uint32, width: uint32, encoding: string, is_bigendian: intRange('uint8', 0, 255), step: uint32, data: base64Bytes }),
    'geometry_msgs/PoseStamped': struct({
      header,
      pose: struct({
        position: struct({ x: float64, y: float64, z: float64 }),
        orientation: struct({ x: float64, y: float64, z: float64, w: float64 }),
      }),
    }),
  };
}
const SCHEMAS: Readonly<Record<PeerRosVersion, Readonly<Record<string, Check>>>> = { 1: schemas(1), 2: schemas(2) };

type Msg = Record<string, unknown>;
const durationMs = (t: Msg, rv: PeerRosVersion): number =>
  rv === 1 ? (t['secs'] as number) * 1000 + (t['nsecs'] as number) / 1e6 : (t['sec'] as number) * 1000 + (t['nanosec'] as number) / 1e6;

/** Rules stated in the message definitions' comments; run only on structurally valid messages. */
function semanticChecks(type: string, m: Msg, rv: PeerRosVersion, out: string[]): void {
  switch (type) {
    case 'sensor_msgs/JointState': {
      const n = (m['name'] as unknown[]).length;
      if ((m['position'] as unknown[]).length !== n) out.push(`msg.position has ${(m['position'] as unknown[]).length} values for ${n} names`);
      for (const f of ['velocity', 'effort']) {
        const len = (m[f] as unknown[]).length;
        if (len !== 0 && len !== n) out.push(`msg.${f} must be empty or have ${n} values, has ${len}`);
      }
      if (new Set(m['name'] as string[]).size !== n) out.push('msg.name has duplicate joint names');
      break;
    }
    case 'std_msgs/Float64MultiArray':
    case 'std_msgs/Float32MultiArray': {
      const layout = m['layout'] as Msg;
      const dim = layout['dim'] as Msg[];
      const data = m['data'] as unknown[];
      for (let i = 0; i < dim.length; i++) {
        const below = i + 1 < dim.length ? (dim[i + 1]!['stride'] as number) : 1;
        const want = (dim[i]!['size'] as number) * below;
        if (dim[i]!['stride'] !== want) out.push(`msg.layout.dim[${i}].stride is ${dim[i]!['stride']}, expected size × next stride = ${want}`);
      }
      const total = dim.length > 0 ? (dim[0]!['stride'] as number) : 0;
      const offset = layout['data_offset'] as number;
      if (offset + total > data.length) out.push(`msg.data has ${data.length} values, layout needs data_offset + dim[0].stride = ${offset + total}`);
      break;
    }
    case 'trajectory_msgs/JointTrajectory': {
      const names = m['joint_names'] as string[];
      const n = names.length;
      if (new Set(names).size !== n) out.push('msg.joint_names has duplicates');
      let prev = Number.NEGATIVE_INFINITY;
      (m['points'] as Msg[]).forEach((p, i) => {
        if ((p['positions'] as unknown[]).length !== n) out.push(`msg.points[${i}].positions has ${(p['positions'] as unknown[]).length} values for ${n} joints`);
        for (const f of ['velocities', 'accelerations', 'effort']) {
          const len = (p[f] as unknown[]).length;
          if (len !== 0 && len !== n) out.push(`msg.points[${i}].${f} must be empty or have ${n} values, has ${len}`);
        }
        const t = durationMs(p['time_from_start'] as Msg, rv);
        if (!(t > prev)) out.push(`msg.points[${i}].time_from_start (${t} ms) does not increase`);
        prev = t;
      });
      break;
    }
    case 'geometry_msgs/PoseStamped': {
      const q = (m['pose'] as Msg)['orientation'] as Record<string, number>;
      const norm = Math.hypot(q['x']!, q['y']!, q['z']!, q['w']!);
      if (Math.abs(norm - 1) > 1e-6) out.push(`msg.pose.orientation has norm ${norm}, expected a unit quaternion`);
      break;
    }
  }
}

/** Whether the peer can check messages of this type. */
export const isKnownRosType = (type: string): boolean => canonicalType(type) in SCHEMAS[1];

/**
 * Check a message against the standard definition of `type` in the given dialect. Returns the
 * problems (empty if valid); an unknown type is itself a problem (this peer knows only 7 types).
 */
export function checkRosMessage(type: string, msg: unknown, rosVersion: PeerRosVersion = 1): string[] {
  const canonical = canonicalType(type);
  const schema = SCHEMAS[rosVersion][canonical];
  if (!schema) return [`type ${type} is not one the test peer knows (${Object.keys(SCHEMAS[1]).join(', ')})`];
  const out: string[] = [];
  schema(msg, 'msg', out);
  if (out.length === 0) semanticChecks(canonical, msg as Msg, rosVersion, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The peer

export class RosbridgePeer {
  readonly rosVersion: PeerRosVersion;
  readonly violations: PeerViolation[] = [];
  readonly warnings: string[] = [];
  readonly ops: PeerOpRecord[] = [];
  /** Connections accepted since construction (including closed ones). */
  connectionsAccepted = 0;

  #port: number;
  #wss: WebSocketServer | null = null;
  readonly #clients = new Set<ClientState>();
  readonly #published = new Map<string, unknown[]>();
  readonly #definedTopics: Map<string, string>;
  /** Types of topics that exist (robot side + advertised), as rosbridge's ROS graph would know them. */
  readonly #topicTypes = new Map<string, string>();
  readonly #keep: number;
  #nextClient = 1;
  #stalled = false;

  private constructor(opts: RosbridgePeerOptions) {
    this.rosVersion = opts.rosVersion ?? 1;
    this.#port = opts.port ?? 0;
    this.#keep = opts.keepPerTopic ?? 10000;
    this.#definedTopics = new Map(Object.entries(opts.topics ?? {}));
    for (const [t, ty] of this.#definedTopics) this.#topicTypes.set(t, ty);
  }

  /** Start a peer listening on 127.0.0.1. */
  static async start(opts: RosbridgePeerOptions = {}): Promise<RosbridgePeer> {
    const peer = new RosbridgePeer(opts);
    await peer.listen();
    return peer;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }
  get running(): boolean {
    return this.#wss !== null;
  }
  /** Open client connections. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Listen (again) on the same port as before (the first time: the configured one, 0 = any). */
  async listen(): Promise<void> {
    if (this.#wss) return;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: this.#port, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('error', (e) => this.warnings.push(`server error: ${e.message}`));
    this.#port = (wss.address() as AddressInfo).port;
    this.#wss = wss;
    for (const [t, ty] of this.#definedTopics) this.#topicTypes.set(t, ty);
    wss.on('connection', (ws) => this.#accept(ws));
  }

  /**
   * Stop: close every connection (abruptly by default, like a crashed rosbridge; `graceful`
   * sends close frames) and stop listening. The graph forgets advertised topics.
   */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    const wss = this.#wss;
    if (!wss) return;
    this.#wss = null;
    const closing = [...this.#clients].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === c.ws.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          if (opts.graceful) c.ws.close(1001, 'peer stopping');
          else c.ws.terminate();
        }),
    );
    await Promise.all(closing);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    this.#clients.clear();
    this.#topicTypes.clear();
  }

  /** Stop reading from clients (a slow rosbridge: their sockets back up), or resume. */
  stall(on: boolean): void {
    this.#stalled = on;
    for (const c of this.#clients) {
      if (on) c.ws.pause();
      else c.ws.resume();
    }
  }

  /** Messages published by clients on `topic`, oldest first. */
  messages(topic: string): unknown[] {
    return this.#published.get(topic) ?? [];
  }
  /** The latest message published on `topic`, or undefined. */
  last(topic: string): unknown {
    const m = this.#published.get(topic);
    return m?.[m.length - 1];
  }
  /** Ops of a kind, in arrival order. */
  opsOf(op: string): PeerOpRecord[] {
    return this.ops.filter((o) => o.op === op);
  }
  /** Open connections currently subscribed to `topic`. */
  subscriberCount(topic: string): number {
    let n = 0;
    for (const c of this.#clients) if ([...c.subscriptions.values()].includes(topic)) n++;
    return n;
  }

  /** Forget recorded ops, messages, violations and warnings (not connection state). */
  clear(): void {
    this.violations.length = 0;
    this.warnings.length = 0;
    this.ops.length = 0;
    this.#published.clear();
  }

  /**
   * Publish `msg` on `topic` to every connection subscribed to it, as rosbridge forwards a ROS
   * message: `{op: 'publish', topic, msg}`. The message is checked against the topic's type
   * first (a malformed test message throws). Returns the number of connections it went to.
   */
  publish(topic: string, msg: unknown): number {
    const type = this.#topicTypes.get(topic);
    if (type === undefined) throw new Error(`peer: topic ${topic} has no known type; pass it in options.topics`);
    const problems = checkRosMessage(type, msg, this.rosVersion);
    if (problems.length > 0) throw new Error(`peer: test message for ${topic} is malformed: ${problems.join('; ')}`);
    return this.publishUnchecked(topic, msg);
  }

  /**
   * {@link publish} without the check: what a buggy robot node can send through a real rosbridge
   * (rospy serialises a JointState with duplicate names, or fewer positions than names).
   */
  publishUnchecked(topic: string, msg: unknown): number {
    let n = 0;
    const text = JSON.stringify({ op: 'publish', topic, msg });
    let cbor: Uint8Array | undefined;
    for (const c of this.#clients) {
      const keys = [...c.subscriptions].filter(([, t]) => t === topic).map(([k]) => k);
      if (c.ws.readyState !== c.ws.OPEN || keys.length === 0) continue;
      if (keys.some((k) => c.compressions.get(k) === 'cbor')) {
        // As rosbridge's CBOR encoding does: one binary frame, uint8[] fields as byte strings.
        cbor ??= encodeCbor({ op: 'publish', topic, msg: withBytes(this.#topicTypes.get(topic), msg) });
        c.ws.send(cbor);
        this.binaryFramesSent++;
      } else {
        c.ws.send(text);
      }
      n++;
    }
    return n;
  }

  /** Publishes sent as binary CBOR frames (to subscriptions that asked for `compression: cbor`). */
  binaryFramesSent = 0;

  /** Resolve when `predicate()` holds (polled every 10 ms); reject after `timeoutMs` naming `what`. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const start = Date.now();
    while (!predicate()) {
      if (Date.now() - start > timeoutMs) throw new Error(`peer: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // -------------------------------------------------------------------------------------------

  #accept(ws: WebSocket): void {
    const c: ClientState = { id: this.#nextClient++, ws, advertised: new Map(), subscriptions: new Map(), compressions: new Map() };
    this.connectionsAccepted++;
    this.#clients.add(c);
    if (this.#stalled) ws.pause();
    ws.on('message', (data, isBinary) => this.#onFrame(c, data, isBinary));
    ws.on('close', () => this.#clients.delete(c));
    ws.on('error', (e) => this.warnings.push(`client ${c.id} socket error: ${e.message}`));
  }

  #violate(c: ClientState, op: string | undefined, topic: string | undefined, message: string, id?: unknown): void {
    this.violations.push({ client: c.id, op, topic, message });
    // rosbridge reports errors to the client as status messages.
    if (c.ws.readyState === c.ws.OPEN) {
      const status: Record<string, unknown> = { op: 'status', level: 'error', msg: message };
      if (typeof id === 'string') status['id'] = id;
      c.ws.send(JSON.stringify(status));
    }
  }

  #onFrame(c: ClientState, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) {
      this.#violate(c, undefined, undefined, 'binary frame: this peer speaks JSON only (dexbridge never asks for CBOR)');
      return;
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch (e) {
      this.#violate(c, undefined, undefined, `frame is not JSON: ${(e as Error).message}: ${text.slice(0, 80)}`);
      return;
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      this.#violate(c, undefined, undefined, `message must be a JSON object, got ${kind(m)}`);
      return;
    }
    const o = m as Record<string, unknown>;
    const op = o['op'];
    const topic = typeof o['topic'] === 'string' ? o['topic'] : undefined;
    if (typeof op !== 'string') {
      this.#violate(c, undefined, topic, `message has no string "op" (got ${kind(op)})`);
      return;
    }
    const id = o['id'];
    if (id !== undefined && typeof id !== 'string' && !Number.isInteger(id)) {
      this.#violate(c, op, topic, `"id" must be a string or an integer, got ${kind(id)}`);
    }
    this.ops.push({
      client: c.id,
      op,
      topic,
      type: typeof o['type'] === 'string' ? o['type'] : undefined,
      id: typeof id === 'string' || typeof id === 'number' ? id : undefined,
      raw: o,
    });
    if (!KNOWN_OPS.has(op)) {
      const why = OTHER_SPEC_OPS.has(op) ? 'is a rosbridge op this peer does not implement (dexbridge should not send it)' : 'is not a rosbridge op';
      this.#violate(c, op, topic, `op "${op}" ${why}`, id);
      return;
    }
    const allowed = OP_FIELDS[op]!;
    for (const f of Object.keys(o)) if (!allowed.includes(f)) this.warnings.push(`client ${c.id}: ${op} has unknown field "${f}" (ignored)`);
    if (topic === undefined || !TOPIC_RE.test(topic)) {
      this.#violate(c, op, topic, `"topic" must be a global ROS topic name starting with '/', got ${JSON.stringify(o['topic'])}`, id);
      return;
    }
    switch (op) {
      case 'advertise':
        this.#advertise(c, o, topic, id);
        return;
      case 'unadvertise':
        if (!c.advertised.delete(topic)) this.warnings.push(`client ${c.id}: unadvertise of ${topic}, which it does not advertise`);
        return;
      case 'publish':
        this.#onPublish(c, o, topic, id);
        return;
      case 'subscribe':
        this.#subscribe(c, o, topic, id);
        return;
      case 'unsubscribe': {
        const key = typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
        if (key !== undefined) {
          if (!c.subscriptions.delete(key)) this.warnings.push(`client ${c.id}: unsubscribe id ${key} matches no subscription`);
        } else {
          let any = false;
          for (const [k, t] of c.subscriptions) if (t === topic && c.subscriptions.delete(k)) any = true;
          if (!any) this.warnings.push(`client ${c.id}: unsubscribe of ${topic}, which it is not subscribed to`);
        }
        return;
      }
    }
  }

  #checkType(c: ClientState, op: string, topic: string, type: unknown, id: unknown): type is string {
    const re = this.rosVersion === 1 ? TYPE_RE_1 : TYPE_RE_2;
    if (typeof type !== 'string' || !re.test(type)) {
      const form = this.rosVersion === 1 ? "'pkg/Msg'" : "'pkg/Msg' or 'pkg/msg/Msg'";
      this.#violate(c, op, topic, `"type" must be a message type ${form}, got ${JSON.stringify(type)}`, id);
      return false;
    }
    return true;
  }

  #optional(c: ClientState, o: Record<string, unknown>, op: string, topic: string, id: unknown): void {
    const intField = (f: string, min: number): void => {
      const v = o[f];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
        this.#violate(c, op, topic, `"${f}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, id);
      }
    };
    if (o['latch'] !== undefined && typeof o['latch'] !== 'boolean') this.#violate(c, op, topic, `"latch" must be a boolean`, id);
    intField('queue_size', 0);
    intField('throttle_rate', 0);
    intField('queue_length', 0);
    intField('fragment_size', 1);
    const comp = o['compression'];
    if (comp !== undefined && (typeof comp !== 'string' || !COMPRESSIONS.has(comp))) {
      this.#violate(c, op, topic, `"compression" must be one of ${[...COMPRESSIONS].join(', ')}, got ${JSON.stringify(comp)}`, id);
    }
  }

  #advertise(c: ClientState, o: Record<string, unknown>, topic: string, id: unknown): void {
    this.#optional(c, o, 'advertise', topic, id);
    const type = o['type'];
    if (!this.#checkType(c, 'advertise', topic, type, id)) return;
    if (!isKnownRosType(type)) {
      this.#violate(c, 'advertise', topic, `type ${type} is not one the test peer can check`, id);
      return;
    }
    const existing = this.#topicTypes.get(topic);
    if (existing !== undefined && canonicalType(existing) !== canonicalType(type)) {
      this.#violate(c, 'advertise', topic, `topic ${topic} already exists with type ${existing}, cannot advertise it as ${type}`, id);
      return;
    }
    this.#topicTypes.set(topic, type);
    c.advertised.set(topic, type);
  }

  #onPublish(c: ClientState, o: Record<string, unknown>, topic: string, id: unknown): void {
    this.#optional(c, o, 'publish', topic, id);
    const type = c.advertised.get(topic);
    if (type === undefined) {
      this.#violate(c, 'publish', topic, `publish on ${topic}, which this connection has not advertised`, id);
      return;
    }
    if (!('msg' in o)) {
      this.#violate(c, 'publish', topic, 'publish has no "msg"', id);
      return;
    }
    const problems = checkRosMessage(type, o['msg'], this.rosVersion);
    for (const p of problems) this.#violate(c, 'publish', topic, `${type}: ${p}`, id);
    let list = this.#published.get(topic);
    if (!list) {
      list = [];
      this.#published.set(topic, list);
    }
    list.push(o['msg']);
    if (list.length > this.#keep) list.splice(0, list.length - this.#keep);
  }

  #subscribe(c: ClientState, o: Record<string, unknown>, topic: string, id: unknown): void {
    this.#optional(c, o, 'subscribe', topic, id);
    const type = o['type'];
    const existing = this.#topicTypes.get(topic);
    if (type !== undefined) {
      if (!this.#checkType(c, 'subscribe', topic, type, id)) return;
      if (existing !== undefined && canonicalType(existing) !== canonicalType(type)) {
        this.#violate(c, 'subscribe', topic, `topic ${topic} has type ${existing}, not ${type}`, id);
        return;
      }
    } else if (existing === undefined) {
      this.#violate(c, 'subscribe', topic, `subscribe without "type" to ${topic}, which does not exist: the type cannot be inferred`, id);
      return;
    }
    const key = typeof id === 'string' || typeof id === 'number' ? String(id) : topic;
    c.subscriptions.set(key, topic);
    c.compressions.set(key, typeof o['compression'] === 'string' ? o['compression'] : 'none');
  }
}
