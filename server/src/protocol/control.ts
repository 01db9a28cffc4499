/**
 * The JSON control messages: small text frames, each an object with a literal `type`.
 * Client → server messages are validated strictly by {@link parseClientMessage}; server → client
 * messages are built with {@link serverMessage} and read by clients with
 * {@link parseServerMessage}. Unknown extra fields are ignored (dropped from the parsed message);
 * every known field must have its documented type. Reference: `docs/protocol.md`.
 */

import { type Side, SIDES } from '@dexbridge/retarget';
import { CAMERA_CODECS, CAMERA_ID_RE, CAMERA_STEREO_LAYOUTS, type CameraCodec, type CameraStereoLayout } from './camera.js';
import { CONTROL_MODES, type ControlMode, PROTOCOL_VERSION } from './codes.js';
import { isWireErrorCode, type WireErrorCode, type WireFailure, wireFailure } from './errors.js';

/** The WebSocket endpoint's URL path, on the server's HTTP(S) port. */
export const WS_PATH = '/ws';

export const ROLES = ['operator', 'viewer', 'policy'] as const;
export type Role = (typeof ROLES)[number];

/** Per-connection limits, announced in `welcome`. */
export interface WireLimits {
  /** Largest accepted message, text or binary, bytes. */
  readonly maxMessageBytes: number;
  /** Messages a connection may send per second (sliding one-second window). */
  readonly maxMessagesPerSecond: number;
  /** No operator frame for this long → the robot holds, ms. */
  readonly watchdogMs: number;
}

/** The default limits: 64 KiB messages (an ACTION_CHUNK of 186 rows), 300 messages/s, 200 ms. */
export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({ maxMessageBytes: 65536, maxMessagesPerSecond: 300, watchdogMs: 200 });

/** Rate of `status` messages to every client, Hz. */
export const STATUS_RATE_HZ = 2;

/** Longest accepted strings, in UTF-16 code units. */
export const TEXT_LIMITS = Object.freeze({ token: 512, name: 64, task: 256, operator: 64, file: 255 } as const);

// ---------------------------------------------------------------------------------------------
// Client → server

/** First message on every connection. */
export interface HelloMessage {
  readonly type: 'hello';
  /** Must be {@link PROTOCOL_VERSION}. */
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly role: Role;
  /** The role's token (operator and policy); up to 512 characters. */
  readonly token?: string;
  /** Display name for dashboards and recordings; up to 64 characters. */
  readonly name?: string;
  /**
   * `true`: this connection also receives a HAND_TRACKING (kind 4) after each ROBOT_STATE that
   * answers an operator frame. Default false.
   */
  readonly tracking?: boolean;
}
/** Engage one side's arm (clutch in), or both when `side` is absent. */
export interface EngageMessage {
  readonly type: 'engage';
  readonly side?: Side;
}
/** Disengage one side's arm (clutch out), or both when `side` is absent. */
export interface DisengageMessage {
  readonly type: 'disengage';
  readonly side?: Side;
}
/** Latch the e-stop. Any role may send it. */
export interface EstopMessage {
  readonly type: 'estop';
}
export interface ResetEstopMessage {
  readonly type: 'reset_estop';
}
export interface SetModeMessage {
  readonly type: 'set_mode';
  readonly mode: ControlMode;
}
/** Ask for the control lease; `takeover: true` takes it from the current holder. */
export interface LeaseRequestMessage {
  readonly type: 'lease_request';
  readonly takeover?: boolean;
}
export interface LeaseReleaseMessage {
  readonly type: 'lease_release';
}
export interface RecordStartMessage {
  readonly type: 'record_start';
  /** Task label, up to 256 characters. */
  readonly task?: string;
  /** Operator label, up to 64 characters. */
  readonly operator?: string;
}
export interface RecordStopMessage {
  readonly type: 'record_stop';
  /** Whether the demonstration succeeded (stored with the recording). */
  readonly success?: boolean;
}
/** Labels one recording, named by its file: the running one, or a finished one (edited beside it). */
export interface SetRecordingMetaMessage {
  readonly type: 'set_recording_meta';
  /** The recording's file name, as in the `recording` event and `status.recording.file`. */
  readonly file: string;
  readonly task?: string;
  readonly success?: boolean;
}
/** Operator calibration: scales > 0, finite. */
export interface CalibrateMessage {
  readonly type: 'calibrate';
  /** Robot hand size / human hand size, for both hands or per hand. */
  readonly handScale?: number | { readonly left?: number; readonly right?: number };
  /** Robot wrist motion / human wrist motion. */
  readonly translationScale?: number;
  /** Robot digit length / human digit length, 5 per hand (thumb first), per hand. */
  readonly digitScales?: { readonly left?: readonly number[]; readonly right?: readonly number[] };
}
/**
 * Per-operator hand calibration from the operator's own hands: the server measures the next
 * `seconds` (0.5–5, default 1) of the operator's frames, hands held open and flat, and makes the
 * result (hand scale and digit scales per hand) the pending calibration.
 */
export interface CalibrateHandsMessage {
  readonly type: 'calibrate_hands';
  readonly seconds?: number;
}
/** Clock probe; the server answers with `pong` at once. */
export interface PingMessage {
  readonly type: 'ping';
  /** Echoed back; any finite number. */
  readonly id: number;
  /** Client clock at send, ms; echoed back. */
  readonly clientTimeMs: number;
}

/**
 * Which cameras this connection receives as CAMERA_FRAME messages: replaces the previous choice
 * (`[]` receives none). Every id must be one of `welcome.cameras` (`CAMERA_UNKNOWN` otherwise, and
 * nothing changes). Any role may subscribe.
 */
export interface CameraSubscribeMessage {
  readonly type: 'camera_subscribe';
  readonly cameras: readonly string[];
  /**
   * Camera id → tier name (one of its `welcome.cameras[].tiers`) for the cameras to receive at
   * that tier instead of their own stream; each id must be in `cameras`. Frames of a tier carry the
   * camera's id.
   */
  readonly tiers?: Readonly<Record<string, string>>;
}

export type ClientMessage =
  | HelloMessage
  | EngageMessage
  | DisengageMessage
  | EstopMessage
  | ResetEstopMessage
  | SetModeMessage
  | LeaseRequestMessage
  | LeaseReleaseMessage
  | RecordStartMessage
  | RecordStopMessage
  | SetRecordingMetaMessage
  | CalibrateMessage
  | CalibrateHandsMessage
  | PingMessage
  | CameraSubscribeMessage;
export type ClientMessageType = ClientMessage['type'];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { readonly type: T }>;

export const CLIENT_MESSAGE_TYPES = [
  'hello',
  'engage',
  'disengage',
  'estop',
  'reset_estop',
  'set_mode',
  'lease_request',
  'lease_release',
  'record_start',
  'record_stop',
  'set_recording_meta',
  'calibrate',
  'calibrate_hands',
  'ping',
  'camera_subscribe',
] as const satisfies readonly ClientMessageType[];

// ---------------------------------------------------------------------------------------------
// Server → client

/** The answer to a valid `hello`. */
export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly protocol: typeof PROTOCOL_VERSION;
  /** This connection's id, unique while the server runs. */
  readonly sessionId: string;
  readonly role: Role;
  /** Server monotonic clock, ms: the clock of ROBOT_STATE and ACTION_CHUNK times. */
  readonly serverTimeMs: number;
  /** Rate of the control loop (states outside teleop, chunk execution), Hz. */
  readonly controlRateHz: number;
  /** The 56 joint names of ROBOT_STATE joint arrays, in order. */
  readonly jointNames: readonly string[];
  /** The 88 action entry names, in order. */
  readonly actionNames: readonly string[];
  readonly limits: WireLimits;
  /** The robot cameras this server has (subscribe with `camera_subscribe`); absent from servers without cameras support. */
  readonly cameras?: readonly CameraInfo[];
}
/** One camera as `welcome` announces it. */
export interface CameraInfo {
  /** `[A-Za-z0-9_-]{1,64}`, as in CAMERA_FRAME. */
  readonly id: string;
  /** Where its images come from. */
  readonly source: 'ffmpeg' | 'ros';
  readonly codec: CameraCodec;
  /** A stereo camera's layout (absent: one view). */
  readonly stereo?: CameraStereoLayout;
  /** Other streams of the same view at another size or rate (`camera_subscribe` `tiers`); absent: none. */
  readonly tiers?: readonly CameraTierInfo[];
}

/** One tier of a camera, as `welcome` announces it: its name and what is known of it. */
export interface CameraTierInfo {
  /** `[A-Za-z0-9_-]{1,32}`. */
  readonly name: string;
  /** Pixels and frame rate ffmpeg is asked for (ffmpeg cameras). */
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  /** The ROS topic (ROS cameras). */
  readonly topic?: string;
}
/** One camera in `status`: whether it delivers, and why not. */
export interface CameraStatus {
  readonly id: string;
  /** `starting` (no frame yet), `running`, `stalled` (no frame for its stall time), `failed` (see `error`). */
  readonly state: 'starting' | 'running' | 'stalled' | 'failed';
  /** The last problem's code (`CAMERA_*`, docs/errors.md), or null. */
  readonly code: string | null;
  readonly error: string | null;
  /** Frames received since the server started. */
  readonly frames: number;
  /** Server time since the last frame's capture, ms; null before the first. */
  readonly ageMs: number | null;
}
/** A message was rejected. Only the offending connection receives it. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: WireErrorCode;
  /** Starts with the module (`protocol:`, …) and names the offending value. */
  readonly message: string;
  /** The rejected message's `type`, or `binary:<kind>`. */
  readonly ref?: string;
  /** The rejected HAND_FRAME's `seq`, or the rejected ACTION_CHUNK's `chunkId`. */
  readonly seq?: number;
}

export const EVENT_NAMES = [
  'mode',
  'lease',
  'estop',
  'estop_reset',
  'engage',
  'disengage',
  'recording',
  'ros',
  'watchdog',
  'tracking',
  'hold',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** Something changed; sent to every client. `detail` is informational (logs, UI). */
export interface EventMessage {
  readonly type: 'event';
  readonly event: EventName;
  readonly serverTimeMs: number;
  readonly detail: Readonly<Record<string, unknown>>;
}
/** The answer to a message that is acted on without a state change to watch for (`estop`). */
export interface AckMessage {
  readonly type: 'ack';
  /** The acknowledged message's `type`. */
  readonly ref: string;
  readonly serverTimeMs: number;
}

/** The last measured joint state from ROS: joint names matched, expected, unknown, duplicated; valid; age (ms). */
export interface MeasuredStatus {
  readonly matched: number;
  readonly expected: number;
  readonly unknown: number;
  readonly duplicate: number;
  readonly valid: boolean;
  readonly ageMs: number;
}

/** Why the robot holds, for the HUD and dashboard. */
export interface MotionStatus {
  /** Nothing moves until an explicit `engage` (after start, a mode change, an e-stop reset, a lost operator, a following error). */
  readonly engageRequired: boolean;
  /** The gate's hold reason (`not_engaged`, `estop_reset`, `operator_lost`, `following_error`, `watchdog`, `estop`), or null. */
  readonly hold: string | null;
  /** A calibration waiting for the next engage. */
  readonly calibrationPending: boolean;
}

/** Periodic summary ({@link STATUS_RATE_HZ}) to every client. */
export interface StatusMessage {
  readonly type: 'status';
  readonly serverTimeMs: number;
  readonly mode: ControlMode;
  readonly estop: boolean;
  /** `holder`: the lease holder's name (its hello `name`, else `operator-<sessionId>`), or `null`. */
  readonly lease: { readonly holder: string | null };
  readonly recording: { readonly active: boolean; readonly file: string | null; readonly error: string | null };
  readonly ros: { readonly connected: boolean; readonly url: string | null; readonly measured?: MeasuredStatus };
  readonly clients: { readonly operators: number; readonly viewers: number; readonly policies: number };
  /** `latencyMs` is `null` before the first chunk. */
  readonly chunks: { readonly queueDepth: number; readonly latencyMs: number | null };
  /** Present from servers that hold until engage (all current ones). */
  readonly motion?: MotionStatus;
  /** One entry per camera (see `welcome.cameras`); absent from servers without cameras support. */
  readonly cameras?: readonly CameraStatus[];
}
export interface PongMessage {
  readonly type: 'pong';
  readonly id: number;
  readonly clientTimeMs: number;
  readonly serverTimeMs: number;
}

export type ServerMessage = WelcomeMessage | ErrorMessage | EventMessage | StatusMessage | PongMessage | AckMessage;
export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { readonly type: T }>;

export const SERVER_MESSAGE_TYPES = ['welcome', 'error', 'event', 'status', 'pong', 'ack'] as const satisfies readonly ServerMessageType[];

// ---------------------------------------------------------------------------------------------
// Builders and guards

/** Narrow a parsed message by its `type`. */
export function hasType<M extends { readonly type: string }, T extends M['type']>(msg: M, type: T): msg is Extract<M, { readonly type: T }> {
  return msg.type === type;
}

/** A server message of `type` with `fields`. */
export function serverMessage<T extends ServerMessageType>(type: T, fields: Omit<ServerMessageOf<T>, 'type'>): ServerMessageOf<T> {
  return { type, ...fields } as unknown as ServerMessageOf<T>;
}

/** A client message of `type` with `fields`. */
export function clientMessage<T extends ClientMessageType>(type: T, fields: Omit<ClientMessageOf<T>, 'type'>): ClientMessageOf<T> {
  return { type, ...fields } as unknown as ClientMessageOf<T>;
}

/** The `error` message telling a connection about a rejected input. */
export function errorMessage(failure: Pick<WireFailure, 'code' | 'message' | 'ref' | 'seq'>): ErrorMessage {
  const m: Mutable<ErrorMessage> = { type: 'error', code: failure.code, message: failure.message };
  if (failure.ref !== undefined) m.ref = failure.ref;
  if (failure.seq !== undefined) m.seq = failure.seq;
  return m;
}

/** The `pong` answering `ping`, stamped with the server clock (ms). */
export function pongMessage(ping: PingMessage, serverTimeMs: number): PongMessage {
  return { type: 'pong', id: ping.id, clientTimeMs: ping.clientTimeMs, serverTimeMs };
}

/** The text frame of a message (JSON). */
export function encodeControlMessage(msg: ClientMessage | ServerMessage): string {
  return JSON.stringify(msg);
}

// ---------------------------------------------------------------------------------------------
// Validation

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Obj = Readonly<Record<string, unknown>>;

/** Internal: thrown by field readers, always caught and turned into a {@link WireFailure}. */
class Invalid {
  constructor(
    readonly code: WireErrorCode,
    readonly message: string,
  ) {}
}

const SNIPPET = 60;

function clip(s: string): string {
  return s.length > SNIPPET ? `${s.slice(0, SNIPPET)}…` : s;
}

/**
 * Values with more nodes or levels than this are described, not printed: `JSON.stringify` of a
 * deeply nested value (a 64 KiB text frame nests ~32 000 levels) overflows the stack, and doing
 * that for every refused message cost several times the parse itself (a cheap way to stall the
 * event loop from an unauthenticated connection).
 */
const SHOW_MAX_NODES = 4096;
const SHOW_MAX_DEPTH = 64;

/** Whether `v` is small and shallow enough to print; walks at most {@link SHOW_MAX_NODES} nodes (cycles included). */
function printable(v: object): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (++nodes > SHOW_MAX_NODES || depth > SHOW_MAX_DEPTH) return false;
    if (typeof x !== 'object' || x === null) continue;
    const children = Object.values(x);
    if (nodes + stack.length + children.length > SHOW_MAX_NODES) return false;
    for (const c of children) stack.push([c, depth + 1]);
  }
  return true;
}

/** `string "abc"`, `number 3`, `array [1,2]`, `null`, `nothing`: the kind and a clipped value. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  const kind = Array.isArray(v) ? 'array' : typeof v;
  let text: string;
  try {
    if (typeof v === 'object' && !printable(v)) text = `(more than ${SHOW_MAX_NODES} values or ${SHOW_MAX_DEPTH} levels; not shown)`;
    else text = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    text = '(unprintable)';
  }
  return `${kind} ${clip(text)}`;
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the fields of one (possibly nested) object; `path` names it in messages (`status.lease`). */
class Fields {
  constructor(
    private readonly o: Obj,
    readonly path: string,
  ) {}

  private get(f: string): unknown {
    return Object.hasOwn(this.o, f) ? this.o[f] : undefined;
  }

  fail(f: string, expected: string, v: unknown): never {
    throw new Invalid('PROTO_BAD_MESSAGE', `protocol: ${this.path}.${f} must be ${expected}, got ${show(v)}`);
  }

  has(f: string): boolean {
    return this.get(f) !== undefined;
  }

  string(f: string, maxChars = Number.POSITIVE_INFINITY): string {
    const v = this.get(f);
    if (typeof v !== 'string') this.fail(f, 'a string', v);
    if (v.length > maxChars) {
      throw new Invalid('PROTO_BAD_MESSAGE', `protocol: ${this.path}.${f} must be a string of at most ${maxChars} characters, got ${v.length} characters`);
    }
    return v;
  }

  optString(f: string, maxChars?: number): string | undefined {
    return this.has(f) ? this.string(f, maxChars) : undefined;
  }

  nullableString(f: string): string | null {
    const v = this.get(f);
    if (v === null) return null;
    if (typeof v !== 'string') this.fail(f, 'a string or null', v);
    return v;
  }

  bool(f: string): boolean {
    const v = this.get(f);
    if (typeof v !== 'boolean') this.fail(f, 'true or false', v);
    return v;
  }

  optBool(f: string): boolean | undefined {
    return this.has(f) ? this.bool(f) : undefined;
  }

  finite(f: string): number {
    const v = this.get(f);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(f, 'a finite number', v);
    return v;
  }

  positive(f: string): number {
    const v = this.get(f);
    if (typeof v !== 'number' || !(Number.isFinite(v) && v > 0)) this.fail(f, 'a finite number > 0', v);
    return v;
  }

  optPositive(f: string): number | undefined {
    return this.has(f) ? this.positive(f) : undefined;
  }

  /** Exactly `n` finite numbers > 0. */
  positives(f: string, n: number): number[] {
    const v = this.get(f);
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      this.fail(f, `an array of ${n} finite numbers > 0`, v);
    }
    return [...(v as number[])];
  }

  count(f: string): number {
    const v = this.get(f);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(f, 'an integer ≥ 0', v);
    return v;
  }

  nonNegative(f: string): number {
    const v = this.get(f);
    if (typeof v !== 'number' || !(Number.isFinite(v) && v >= 0)) this.fail(f, 'a finite number ≥ 0', v);
    return v;
  }

  nullableFinite(f: string): number | null {
    const v = this.get(f);
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(f, 'a finite number or null', v);
    return v;
  }

  oneOf<const V extends string>(f: string, values: readonly V[]): V {
    const v = this.get(f);
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) this.fail(f, `one of ${values.join(', ')}`, v);
    return v as V;
  }

  optOneOf<const V extends string>(f: string, values: readonly V[]): V | undefined {
    return this.has(f) ? this.oneOf(f, values) : undefined;
  }

  strings(f: string): string[] {
    const v = this.get(f);
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.fail(f, 'an array of strings', v);
    return [...(v as string[])];
  }

  object(f: string): Fields {
    const v = this.get(f);
    if (!isObject(v)) this.fail(f, 'an object', v);
    return new Fields(v, `${this.path}.${f}`);
  }

  raw(f: string): unknown {
    return this.get(f);
  }

  /** The protocol version field: a number that must equal {@link PROTOCOL_VERSION}. */
  protocol(f: string): typeof PROTOCOL_VERSION {
    const v = this.get(f);
    if (typeof v !== 'number') this.fail(f, `the number ${PROTOCOL_VERSION}`, v);
    if (v !== PROTOCOL_VERSION) {
      throw new Invalid('PROTO_BAD_VERSION', `protocol: ${this.path}.${f} ${v} is not supported; this side speaks protocol ${PROTOCOL_VERSION}`);
    }
    return PROTOCOL_VERSION;
  }
}

/** Sets `key` on `m` only when `value` is defined (exact optional properties). */
function put<T, K extends keyof T>(m: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) m[key] = value;
}

const CLIENT_READERS: ReadonlyMap<string, (r: Fields) => ClientMessage> = new Map<ClientMessageType, (r: Fields) => ClientMessage>([
  [
    'hello',
    (r) => {
      const m: Mutable<HelloMessage> = { type: 'hello', protocol: r.protocol('protocol'), role: r.oneOf('role', ROLES) };
      put(m, 'token', r.optString('token', TEXT_LIMITS.token));
      put(m, 'name', r.optString('name', TEXT_LIMITS.name));
      put(m, 'tracking', r.optBool('tracking'));
      return m;
    },
  ],
  [
    'engage',
    (r) => {
      const m: Mutable<EngageMessage> = { type: 'engage' };
      put(m, 'side', r.optOneOf('side', SIDES));
      return m;
    },
  ],
  [
    'disengage',
    (r) => {
      const m: Mutable<DisengageMessage> = { type: 'disengage' };
      put(m, 'side', r.optOneOf('side', SIDES));
      return m;
    },
  ],
  ['estop', () => ({ type: 'estop' })],
  ['reset_estop', () => ({ type: 'reset_estop' })],
  ['set_mode', (r) => ({ type: 'set_mode', mode: r.oneOf('mode', CONTROL_MODES) })],
  [
    'lease_request',
    (r) => {
      const m: Mutable<LeaseRequestMessage> = { type: 'lease_request' };
      put(m, 'takeover', r.optBool('takeover'));
      return m;
    },
  ],
  ['lease_release', () => ({ type: 'lease_release' })],
  [
    'record_start',
    (r) => {
      const m: Mutable<RecordStartMessage> = { type: 'record_start' };
      put(m, 'task', r.optString('task', TEXT_LIMITS.task));
      put(m, 'operator', r.optString('operator', TEXT_LIMITS.operator));
      return m;
    },
  ],
  [
    'record_stop',
    (r) => {
      const m: Mutable<RecordStopMessage> = { type: 'record_stop' };
      put(m, 'success', r.optBool('success'));
      return m;
    },
  ],
  [
    'set_recording_meta',
    (r) => {
      const m: Mutable<SetRecordingMetaMessage> = { type: 'set_recording_meta', file: r.string('file', TEXT_LIMITS.file) };
      put(m, 'task', r.optString('task', TEXT_LIMITS.task));
      put(m, 'success', r.optBool('success'));
      return m;
    },
  ],
  [
    'calibrate',
    (r: Fields) => {
      const m: Mutable<CalibrateMessage> = { type: 'calibrate' };
      const hs = r.raw('handScale');
      if (typeof hs === 'number' || hs === undefined) {
        put(m, 'handScale', r.optPositive('handScale'));
      } else if (isObject(hs)) {
        const per = r.object('handScale');
        const scales: { left?: number; right?: number } = {};
        put(scales, 'left', per.optPositive('left'));
        put(scales, 'right', per.optPositive('right'));
        m.handScale = scales;
      } else {
        r.fail('handScale', 'a finite number > 0 or {left?, right?}', hs);
      }
      put(m, 'translationScale', r.optPositive('translationScale'));
      if (r.has('digitScales')) {
        const per = r.object('digitScales');
        const scales: { left?: number[]; right?: number[] } = {};
        put(scales, 'left', per.has('left') ? per.positives('left', 5) : undefined);
        put(scales, 'right', per.has('right') ? per.positives('right', 5) : undefined);
        m.digitScales = scales;
      }
      return m;
    },
  ],
  [
    'calibrate_hands',
    (r) => {
      const m: Mutable<CalibrateHandsMessage> = { type: 'calibrate_hands' };
      put(m, 'seconds', r.optPositive('seconds'));
      return m;
    },
  ],
  ['ping', (r) => ({ type: 'ping', id: r.finite('id'), clientTimeMs: r.finite('clientTimeMs') })],
  [
    'camera_subscribe',
    (r) => {
      const ids = r.strings('cameras');
      const bad = ids.find((id) => !CAMERA_ID_RE.test(id));
      if (bad !== undefined) r.fail('cameras', 'camera ids [A-Za-z0-9_-]{1,64}', bad);
      if (ids.length > 64) r.fail('cameras', 'at most 64 camera ids', ids.length);
      if (!r.has('tiers')) return { type: 'camera_subscribe', cameras: [...new Set(ids)] };
      const raw = r.raw('tiers');
      if (!isObject(raw)) r.fail('tiers', 'an object of camera id → tier name', raw);
      const tiers: Record<string, string> = {};
      for (const [id, tier] of Object.entries(raw as Record<string, unknown>)) {
        if (!ids.includes(id)) r.fail(`tiers.${id}`, 'a camera id that is also in "cameras"', id);
        if (typeof tier !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(tier)) return r.fail(`tiers.${id}`, 'a tier name [A-Za-z0-9_-]{1,32}', tier);
        tiers[id] = tier;
      }
      return { type: 'camera_subscribe', cameras: [...new Set(ids)], tiers };
    },
  ],
]);

const CAMERA_STATES = ['starting', 'running', 'stalled', 'failed'] as const;
const CAMERA_SOURCES = ['ffmpeg', 'ros'] as const;

function cameraList<T>(r: Fields, f: string, read: (c: Fields) => T): T[] {
  const v = r.raw(f);
  if (!Array.isArray(v)) r.fail(f, 'an array of camera objects', v);
  return (v as unknown[]).map((item, i) => {
    if (!isObject(item)) r.fail(`${f}[${i}]`, 'a camera object', item);
    return read(new Fields(item, `${r.path}.${f}[${i}]`));
  });
}

const SERVER_READERS: ReadonlyMap<string, (r: Fields) => ServerMessage> = new Map<ServerMessageType, (r: Fields) => ServerMessage>([
  [
    'welcome',
    (r) => {
      // Fields are read in document order, so the first bad one is the one reported.
      const protocol = r.protocol('protocol');
      const sessionId = r.string('sessionId');
      const role = r.oneOf('role', ROLES);
      const serverTimeMs = r.finite('serverTimeMs');
      const controlRateHz = r.positive('controlRateHz');
      const jointNames = r.strings('jointNames');
      const actionNames = r.strings('actionNames');
      const limits = r.object('limits');
      return {
        type: 'welcome',
        protocol,
        sessionId,
        role,
        serverTimeMs,
        controlRateHz,
        jointNames,
        actionNames,
        limits: {
          maxMessageBytes: limits.positive('maxMessageBytes'),
          maxMessagesPerSecond: limits.positive('maxMessagesPerSecond'),
          watchdogMs: limits.positive('watchdogMs'),
        },
        ...(r.has('cameras')
          ? { cameras: cameraList(r, 'cameras', (c): CameraInfo => ({
              id: c.string('id'), source: c.oneOf('source', CAMERA_SOURCES), codec: c.oneOf('codec', CAMERA_CODECS),
              ...(c.has('stereo') ? { stereo: c.oneOf('stereo', CAMERA_STEREO_LAYOUTS) } : {}),
              ...(c.has('tiers')
                ? { tiers: cameraList(c, 'tiers', (t): CameraTierInfo => {
                    const info: { -readonly [K in keyof CameraTierInfo]: CameraTierInfo[K] } = { name: t.string('name', 32) };
                    for (const k of ['width', 'height', 'fps'] as const) if (t.has(k)) info[k] = t.positive(k);
                    if (t.has('topic')) info.topic = t.string('topic');
                    return info;
                  }) }
                : {}),
            })) }
          : {}),
      };
    },
  ],
  [
    'error',
    (r: Fields) => {
      const code = r.raw('code');
      if (!isWireErrorCode(code)) r.fail('code', 'a wire error code (PROTO_BAD_JSON, …)', code);
      const m: Mutable<ErrorMessage> = { type: 'error', code, message: r.string('message') };
      put(m, 'ref', r.optString('ref'));
      if (r.has('seq')) m.seq = r.count('seq');
      return m;
    },
  ],
  [
    'event',
    (r: Fields) => {
      const detail = r.raw('detail');
      if (!isObject(detail)) r.fail('detail', 'an object', detail);
      return { type: 'event', event: r.oneOf('event', EVENT_NAMES), serverTimeMs: r.finite('serverTimeMs'), detail };
    },
  ],
  [
    'status',
    (r) => {
      const serverTimeMs = r.finite('serverTimeMs');
      const mode = r.oneOf('mode', CONTROL_MODES);
      const estop = r.bool('estop');
      const lease = r.object('lease');
      const holder = lease.nullableString('holder');
      const recording = r.object('recording');
      const recordingState = {
        active: recording.bool('active'),
        file: recording.nullableString('file'),
        error: recording.nullableString('error'),
      };
      const ros = r.object('ros');
      const rosState: Mutable<StatusMessage['ros']> = { connected: ros.bool('connected'), url: ros.nullableString('url') };
      if (ros.has('measured')) {
        const m = ros.object('measured');
        rosState.measured = {
          matched: m.count('matched'), expected: m.count('expected'), unknown: m.count('unknown'), duplicate: m.count('duplicate'), valid: m.bool('valid'),
          ageMs: m.nonNegative('ageMs'),
        };
      }
      const clients = r.object('clients');
      const clientCounts = {
        operators: clients.count('operators'),
        viewers: clients.count('viewers'),
        policies: clients.count('policies'),
      };
      const chunks = r.object('chunks');
      let motion: MotionStatus | undefined;
      if (r.has('motion')) {
        const mo = r.object('motion');
        motion = { engageRequired: mo.bool('engageRequired'), hold: mo.nullableString('hold'), calibrationPending: mo.bool('calibrationPending') };
      }
      const cameras = r.has('cameras')
        ? cameraList(r, 'cameras', (c): CameraStatus => ({
          id: c.string('id'), state: c.oneOf('state', CAMERA_STATES), code: c.nullableString('code'), error: c.nullableString('error'),
          frames: c.count('frames'), ageMs: c.nullableFinite('ageMs'),
        }))
        : undefined;
      return {
        ...(motion ? { motion } : {}),
        ...(cameras ? { cameras } : {}),
        type: 'status',
        serverTimeMs,
        mode,
        estop,
        lease: { holder },
        recording: recordingState,
        ros: rosState,
        clients: clientCounts,
        chunks: { queueDepth: chunks.nonNegative('queueDepth'), latencyMs: chunks.nullableFinite('latencyMs') },
      };
    },
  ],
  ['ack', (r) => ({ type: 'ack', ref: r.string('ref'), serverTimeMs: r.finite('serverTimeMs') })],
  [
    'pong',
    (r) => ({ type: 'pong', id: r.finite('id'), clientTimeMs: r.finite('clientTimeMs'), serverTimeMs: r.finite('serverTimeMs') }),
  ],
]);

export type ParseResult<M> = { readonly ok: true; readonly msg: M } | WireFailure;

function validate<M>(value: unknown, readers: ReadonlyMap<string, (r: Fields) => M>): ParseResult<M> {
  if (!isObject(value)) {
    return wireFailure('PROTO_BAD_MESSAGE', `protocol: a message must be a JSON object with a string "type", got ${show(value)}`);
  }
  const type = Object.hasOwn(value, 'type') ? value['type'] : undefined;
  if (typeof type !== 'string') {
    return wireFailure('PROTO_BAD_MESSAGE', `protocol: message.type must be a string, got ${show(type)}`);
  }
  const ref = clip(type);
  const read = readers.get(type);
  if (read === undefined) {
    return wireFailure(
      'PROTO_UNKNOWN_TYPE',
      `protocol: unknown message type ${JSON.stringify(ref)} (expected one of ${[...readers.keys()].join(', ')})`,
      ref,
    );
  }
  try {
    return { ok: true, msg: read(new Fields(value, type)) };
  } catch (e) {
    if (e instanceof Invalid) return wireFailure(e.code, e.message, ref);
    return wireFailure('PROTO_BAD_MESSAGE', `protocol: ${type} could not be read: ${String(e)}`, ref);
  }
}

function parse<M>(text: string, readers: ReadonlyMap<string, (r: Fields) => M>): ParseResult<M> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return wireFailure('PROTO_BAD_JSON', `protocol: not valid JSON (${clip(why)}): ${JSON.stringify(clip(String(text)))}`);
  }
  return validate(value, readers);
}

/**
 * Parse one client → server text frame. Never throws. Failures: `PROTO_BAD_JSON` (not JSON),
 * `PROTO_BAD_MESSAGE` (not an object, no string `type`, or a known field of the wrong type or
 * out of range — the message names the field and value), `PROTO_UNKNOWN_TYPE`, and
 * `PROTO_BAD_VERSION` (hello with a `protocol` other than 1). The returned message holds only
 * the documented fields. The size limit is the caller's (`PROTO_TOO_LARGE`).
 */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parse(text, CLIENT_READERS);
}

/** {@link parseClientMessage} for an already parsed JSON value. Never throws. */
export function validateClientMessage(value: unknown): ParseResult<ClientMessage> {
  return validate(value, CLIENT_READERS);
}

/** Parse one server → client text frame (for clients). Same rules and codes as {@link parseClientMessage}. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parse(text, SERVER_READERS);
}

/** {@link parseServerMessage} for an already parsed JSON value. Never throws. */
export function validateServerMessage(value: unknown): ParseResult<ServerMessage> {
  return validate(value, SERVER_READERS);
}

/** Whether `value` is a valid client message, every field as documented. */
export function isClientMessage(value: unknown): value is ClientMessage {
  return validate(value, CLIENT_READERS).ok;
}

/** Whether `value` is a valid server message, every field as documented. */
export function isServerMessage(value: unknown): value is ServerMessage {
  return validate(value, SERVER_READERS).ok;
}
