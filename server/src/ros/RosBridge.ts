/**
 * dexbridge → ROS through rosbridge v2 (roslib 2.1 over `ws`).
 *
 * Publishes the robot state (JointState + flange poses) and action chunks (Float32MultiArray +
 * per-arm and per-hand JointTrajectory), and subscribes the robot's measured joint states.
 *
 * Never blocks and never throws into the caller once constructed:
 * - while not connected, publishes are dropped and counted (`dropped`); nothing is queued. (roslib
 *   itself would queue every publish made while disconnected on a `once('connection')` listener
 *   without bound, so dexbridge never calls it then.)
 * - while connected, if the socket holds more than `maxBufferedBytes` not yet written, the newest
 *   message of each topic waits in a one-message slot (latest wins; the one it replaces is counted
 *   as dropped) and goes out as soon as the socket has drained below the threshold.
 * - malformed input (wrong length, non-finite numbers) is not sent (counted as `invalid`): rosbridge
 *   would reject `null` (JSON's NaN) in a float field anyway.
 *
 * Connection: `connecting` → `connected` → (socket closed) → `backoff` (exponential, with jitter)
 * → `connecting` … Each attempt builds a fresh roslib `Ros` and fresh `Topic`s and advertises and
 * subscribes again: roslib 2.1 does not reconnect by itself (its `reconnect_on_close` only replays
 * the advertise/subscribe ops if the same `Ros` connects again, which nothing makes it do).
 * `close()` ends it all: no timer or socket is left behind.
 */

import {
  ACTION_DIM,
  ACTION_LAYOUT,
  type ActionChunk,
  MAX_CHUNK_K,
  STATE_JOINT_NAMES,
  type Side,
} from '@dexbridge/retarget';
import {
  type RosTypeKey,
  type RosVersion,
  type TrajectoryGroup,
  TRAJECTORY_GROUPS,
  chunkArrayMsg,
  chunkTrajectoryMsg,
  flangePoseMsg,
  jointStateMsg,
  msFromRosTime,
  positionsArrayMsg,
  rosTypeName,
  trajectoryJointNames,
} from './messages.js';
import type { RobotConfig, RobotOutput } from './robotConfig.js';
import { type RosbridgeOp, type RoslibRos, type RoslibTopic, WsTransport, roslib } from './roslibTransport.js';

/** Codes of {@link RosBridgeError} (see docs/errors.md, "ROS"). */
export type RosErrorCode =
  | 'ROS_CONNECT_FAILED'
  | 'ROS_CONNECTION_LOST'
  | 'ROS_SOCKET_ERROR'
  | 'ROS_REMOTE_ERROR'
  | 'ROS_INVALID_INPUT'
  | 'ROS_BAD_MEASURED'
  | 'ROS_MEASURED_INCOMPLETE'
  | 'ROS_CALLBACK_FAILED'
  | 'ROS_PUBLISH_FAILED';

/** The last problem seen; reported in the status, never thrown. */
export interface RosBridgeError {
  readonly code: RosErrorCode;
  /** Starts with `ros:`. */
  readonly message: string;
  /** Wall-clock ms when it happened. */
  readonly atMs: number;
}

export type RosConnectionState = 'connecting' | 'connected' | 'backoff' | 'closed';

export interface RosBridgeStatus {
  readonly state: RosConnectionState;
  readonly connected: boolean;
  readonly url: string;
  readonly lastError: RosBridgeError | null;
  /** Times a lost connection was re-established. */
  readonly reconnects: number;
  /** Connection attempts since the last successful one (0 while connected). */
  readonly attempts: number;
  /** ROS messages not delivered to the socket: disconnected, or superseded while the socket was full. */
  readonly dropped: number;
  /** ROS messages handed to the socket. */
  readonly published: number;
  /** ROS messages not built because the input was malformed. */
  readonly invalid: number;
  /** `publishState` calls skipped by `publishRateHz`. */
  readonly throttled: number;
  /** Messages waiting in the latest-wins slots for the socket to drain (≤ number of topics). */
  readonly pending: number;
  /** Bytes queued in the socket, not yet written (0 when disconnected). */
  readonly bufferedBytes: number;
  /** Delay (ms) of the scheduled reconnect while in `backoff`, else null. */
  readonly retryInMs: number | null;
  /** The last measured joint state's name counts and validity, and its age (ms); null before the first. */
  readonly measured: { matched: number; expected: number; unknown: number; duplicate: number; valid: boolean; ageMs: number } | null;
}

/** The latest measured robot state from `${prefix}/measured_joint_states`. */
export interface MeasuredJointState {
  /** 56 positions in `STATE_JOINT_NAMES` order, mapped by joint name; NaN for joints not in the message. */
  readonly q: Float64Array;
  /** The message's `header.stamp` in ms (NaN if absent). */
  readonly stampMs: number;
  /** Wall-clock ms when dexbridge received it. */
  readonly receivedAtMs: number;
  /** Joints of the 56 that the message carried (with a finite position). */
  readonly matched: number;
  /** Joints the robot config expects in every message (default the 46 commanded joints). */
  readonly expected: number;
  /** Names in the message that are not dexbridge joints (ignored). */
  readonly unknownNames: number;
  /** Names that appeared more than once (the first one counts). */
  readonly duplicateNames: number;
  /** Every expected joint matched: only then does the control loop use it (start, following error). */
  readonly valid: boolean;
}

export interface RosReconnectOptions {
  /** First retry delay (ms). Default 500. */
  readonly initialMs?: number;
  /** Largest retry delay (ms). Default 10000. */
  readonly maxMs?: number;
  /** Fraction of the delay randomised away: delay × (1 − jitter × U[0,1)). Default 0.5. */
  readonly jitter?: number;
}

export interface RosBridgeOptions {
  /** rosbridge WebSocket URL, `ws://host:9090` or `wss://…`. */
  readonly url: string;
  /** Topic namespace. Default `/dexbridge`. */
  readonly prefix?: string;
  /** ROS 1 (`secs/nsecs`, `seq`, `pkg/Msg`) or ROS 2 (`sec/nanosec`, `pkg/msg/Msg`) rosbridge. Default 1. */
  readonly rosVersion?: RosVersion;
  readonly reconnect?: RosReconnectOptions;
  /** Publish the state (joint_states, flange poses) at most this often (by `tMs`). Default: every call. */
  readonly publishRateHz?: number;
  /** Socket backlog (bytes) above which messages wait in the latest-wins slots. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Opening-handshake timeout (ms). Default 5000. */
  readonly connectTimeoutMs?: number;
  /** How long `close()` waits for rosbridge to answer the close frame (ms). Default 1000. */
  readonly closeTimeoutMs?: number;
  readonly onStatus?: (status: RosBridgeStatus) => void;
  readonly onMeasured?: (measured: MeasuredJointState) => void;
  /** Controller outputs and measured-state names from a robot config file (see docs/ros.md). */
  readonly robot?: RobotConfig;
  /**
   * Image topics to subscribe (`sensor_msgs/CompressedImage`, e.g. the cameras of the robot
   * config); every message goes to `onImage`. `throttleRateMs` and `queueLength` are rosbridge's
   * `throttle_rate` and `queue_length` (rosbridge drops what the client is too slow for).
   */
  readonly images?: readonly RosImageTopic[];
  readonly onImage?: (topic: string, message: unknown) => void;
  /** Where rate-limited warnings (malformed measured states) go. Default `console.warn`. */
  readonly warn?: (message: string) => void;
  /** Wall clock (ms), default `Date.now`. */
  readonly now?: () => number;
  /** Uniform [0, 1) for the jitter, default `Math.random`. */
  readonly random?: () => number;
}

/** An image topic dexbridge subscribes to. */
export interface RosImageTopic {
  /** Absolute topic name, e.g. `/camera/color/image_raw/compressed`. */
  readonly topic: string;
  /** rosbridge sends at most one message per this many ms (its `throttle_rate`); 0: every message. */
  readonly throttleRateMs: number;
  /** Messages rosbridge queues for this subscription (its `queue_length`); 1 keeps only the newest. */
  readonly queueLength: number;
  /** `compressed`: sensor_msgs/CompressedImage; `raw`: sensor_msgs/Image. */
  readonly type: 'compressed' | 'raw';
  /** rosbridge `compression`: `cbor` (binary frames, raw bytes) or `none` (JSON, base64). Default `cbor`. */
  readonly compression?: 'cbor' | 'none';
}

/** One published topic: key, name suffix under the prefix, message type. */
interface PublishedTopicSpec {
  readonly key: RosPublishedTopic;
  readonly suffix: string;
  readonly type: RosTypeKey;
}

export type RosPublishedTopic =
  | 'jointStates'
  | 'actionChunk'
  | 'leftArmTrajectory'
  | 'rightArmTrajectory'
  | 'leftHandTrajectory'
  | 'rightHandTrajectory'
  | 'leftFlangePose'
  | 'rightFlangePose';

const PUBLISHED: readonly PublishedTopicSpec[] = [
  { key: 'jointStates', suffix: '/joint_states', type: 'jointState' },
  { key: 'actionChunk', suffix: '/action_chunk', type: 'float32MultiArray' },
  { key: 'leftArmTrajectory', suffix: '/left_arm/joint_trajectory', type: 'jointTrajectory' },
  { key: 'rightArmTrajectory', suffix: '/right_arm/joint_trajectory', type: 'jointTrajectory' },
  { key: 'leftHandTrajectory', suffix: '/left_hand/joint_trajectory', type: 'jointTrajectory' },
  { key: 'rightHandTrajectory', suffix: '/right_hand/joint_trajectory', type: 'jointTrajectory' },
  { key: 'leftFlangePose', suffix: '/left_flange_pose', type: 'poseStamped' },
  { key: 'rightFlangePose', suffix: '/right_flange_pose', type: 'poseStamped' },
];
const SLOT: Readonly<Record<RosPublishedTopic, number>> = Object.fromEntries(PUBLISHED.map((p, i) => [p.key, i])) as Record<
  RosPublishedTopic,
  number
>;
const TRAJECTORY_SLOT: Readonly<Record<TrajectoryGroup, number>> = {
  leftArm: SLOT.leftArmTrajectory,
  rightArm: SLOT.rightArmTrajectory,
  leftHand: SLOT.leftHandTrajectory,
  rightHand: SLOT.rightHandTrajectory,
};
const MEASURED_SUFFIX = '/measured_joint_states';

/** Topic names and types for a prefix and dialect (what RosBridge advertises and subscribes). */
export interface RosTopicTable {
  readonly published: ReadonlyArray<{ readonly key: RosPublishedTopic | `output:${string}`; readonly name: string; readonly type: string }>;
  readonly measured: { readonly name: string; readonly type: string };
}

export const DEFAULT_ROS_PREFIX = '/dexbridge';
const PREFIX_RE = /^(\/[A-Za-z][A-Za-z0-9_]*)+$/;

/**
 * The topics of a RosBridge with this prefix and dialect.
 * @throws TypeError if the prefix is not a ROS namespace like `/dexbridge` or `/robot/teleop`.
 */
export function rosTopics(prefix: string = DEFAULT_ROS_PREFIX, rosVersion: RosVersion = 1, robot?: RobotConfig): RosTopicTable {
  const p = normalizePrefix(prefix);
  const outputs = (robot?.outputs ?? []).map((o) => ({
    key: `output:${o.topic}` as const,
    name: o.topic,
    type: rosTypeName(o.type === 'std_msgs/Float64MultiArray' ? 'float64MultiArray' : 'jointTrajectory', rosVersion),
  }));
  return {
    published: [...PUBLISHED.map((s) => ({ key: s.key, name: p + s.suffix, type: rosTypeName(s.type, rosVersion) })), ...outputs],
    measured: { name: robot?.measured.topic ?? p + MEASURED_SUFFIX, type: rosTypeName('jointState', rosVersion) },
  };
}

function normalizePrefix(prefix: string): string {
  const p = typeof prefix === 'string' && prefix.endsWith('/') && prefix.length > 1 ? prefix.slice(0, -1) : prefix;
  if (typeof p !== 'string' || !PREFIX_RE.test(p)) {
    throw new TypeError(`ros: prefix must be a ROS namespace like '/dexbridge', got ${JSON.stringify(prefix)}`);
  }
  return p;
}

const STATE_INDEX: ReadonlyMap<string, number> = new Map(STATE_JOINT_NAMES.map((n, i) => [n, i]));
/** More names than this in one measured JointState is not a robot's message. */
const MAX_MEASURED_NAMES = 1000;
/** At most one warning per this long per kind of problem, ms. */
const WARN_INTERVAL_MS = 5000;
const FLANGE_OFFSETS: Readonly<Record<Side, number>> = {
  left: ACTION_LAYOUT.leftFlange.offset,
  right: ACTION_LAYOUT.rightFlange.offset,
};
const STATE_MESSAGES = 3; // joint_states + 2 flange poses
const CHUNK_MESSAGES = 1 + TRAJECTORY_GROUPS.length;

function allFinite(v: ArrayLike<number>, from = 0, to = v.length): boolean {
  for (let i = from; i < to; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** Why `v` is not `n` finite numbers, or null if it is. */
function badVector(name: string, v: ArrayLike<number>, n: number): string | null {
  if (v?.length !== n) return `${name} must have ${n} numbers, got ${v?.length}`;
  for (let i = 0; i < n; i++) if (!Number.isFinite(v[i])) return `${name}[${i}] is ${v[i]}, not a finite number`;
  return null;
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && !e.message) return e.errors.map(describe).join('; ');
  if (e instanceof Error) return e.message || String((e as { code?: unknown }).code ?? e.name);
  if (typeof e === 'object' && e !== null) {
    const o = e as { message?: unknown; error?: unknown; code?: unknown; reason?: unknown };
    if (typeof o.message === 'string' && o.message) return o.message;
    if (o.error instanceof Error) return o.error.message;
    if (typeof o.code === 'number') return `code ${o.code}${typeof o.reason === 'string' && o.reason ? ` (${o.reason})` : ''}`;
  }
  return String(e);
}

function positiveOption(name: string, v: number | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(`ros: option ${name} must be a finite number ${allowZero ? '≥' : '>'} 0, got ${v}`);
  }
  return v;
}

interface Connection {
  readonly gen: number;
  readonly ros: RoslibRos;
  transport: WsTransport | null;
  /** An error was reported for this connection (so its close needs no second report). */
  errored: boolean;
  publishers: RoslibTopic<unknown>[] | null;
  measured: RoslibTopic<unknown> | null;
  images: RoslibTopic<unknown>[] | null;
}

/** Streams dexbridge's state and action chunks to ROS through rosbridge; see the module comment. */
export class RosBridge {
  readonly url: string;
  readonly prefix: string;
  readonly rosVersion: RosVersion;
  readonly topics: RosTopicTable;

  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #minStateIntervalMs: number;
  readonly #maxBuffered: number;
  readonly #connectTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #statusListeners = new Set<(s: RosBridgeStatus) => void>();
  readonly #measuredListeners = new Set<(m: MeasuredJointState) => void>();

  #state: RosConnectionState = 'connecting';
  #conn: Connection | null = null;
  #gen = 0;
  #everConnected = false;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #retryInMs: number | null = null;
  #closing: Promise<void> | null = null;

  #lastError: RosBridgeError | null = null;
  #reconnects = 0;
  #attempts = 0;
  #dropped = 0;
  #published = 0;
  #invalid = 0;
  #throttled = 0;
  #lastStateMs = Number.NaN;
  readonly #seq: number[];
  readonly #pending: unknown[];
  /** Config outputs with their slot (index in `topics.published`). */
  readonly #outputs: ReadonlyArray<{ readonly out: RobotOutput; readonly slot: number; readonly stateIdx: Int32Array; readonly scratch: Float64Array }>;
  /** Measured names (robot spelling) → state index, and the expected state indices. */
  readonly #measuredIndex: ReadonlyMap<string, number>;
  readonly #expected: Int32Array;
  readonly #warn: (message: string) => void;
  readonly #images: readonly RosImageTopic[];
  readonly #onImage: ((topic: string, message: unknown) => void) | undefined;
  readonly #lastWarnMs = new Map<string, number>();
  #pendingCount = 0;
  #measured: MeasuredJointState | null = null;

  /**
   * Starts connecting at once.
   * @throws TypeError for a URL that is not `ws://` / `wss://` or a bad prefix; RangeError for bad
   *   numeric options or a rosVersion other than 1 or 2.
   */
  constructor(options: RosBridgeOptions) {
    const { url } = options;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`ros: url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new TypeError(`ros: url must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
    }
    const rosVersion = options.rosVersion ?? 1;
    if (rosVersion !== 1 && rosVersion !== 2) throw new RangeError(`ros: option rosVersion must be 1 or 2, got ${rosVersion}`);
    this.url = url;
    this.prefix = normalizePrefix(options.prefix ?? DEFAULT_ROS_PREFIX);
    this.rosVersion = rosVersion;
    this.topics = rosTopics(this.prefix, rosVersion, options.robot);
    this.#seq = this.topics.published.map(() => 0);
    this.#pending = this.topics.published.map(() => undefined);
    this.#outputs = (options.robot?.outputs ?? []).map((out, i) => {
      const stateIdx = Int32Array.from(trajectoryJointNames(out.group), (n) => STATE_INDEX.get(n)!);
      return { out, slot: PUBLISHED.length + i, stateIdx, scratch: new Float64Array(stateIdx.length) };
    });
    const index = new Map(STATE_INDEX);
    for (const [robotName, ours] of Object.entries(options.robot?.measured.rename ?? {})) {
      const i = STATE_INDEX.get(ours);
      if (i === undefined) throw new TypeError(`ros: robot config measured.rename maps ${robotName} to ${ours}, which is not a dexbridge joint`);
      index.set(robotName, i);
    }
    this.#measuredIndex = index;
    const expectGroups = options.robot?.measured.expect ?? TRAJECTORY_GROUPS;
    this.#expected = Int32Array.from(expectGroups.flatMap((g) => trajectoryJointNames(g)), (n) => STATE_INDEX.get(n)!);
    this.#warn = options.warn ?? ((m) => console.warn(m));
    this.#images = options.images ?? [];
    this.#onImage = options.onImage;
    const r = options.reconnect ?? {};
    this.#initialMs = positiveOption('reconnect.initialMs', r.initialMs, 500);
    this.#maxMs = positiveOption('reconnect.maxMs', r.maxMs, 10000);
    if (this.#maxMs < this.#initialMs) {
      throw new RangeError(`ros: option reconnect.maxMs (${this.#maxMs}) must be ≥ reconnect.initialMs (${this.#initialMs})`);
    }
    this.#jitter = positiveOption('reconnect.jitter', r.jitter, 0.5, true);
    if (this.#jitter > 1) throw new RangeError(`ros: option reconnect.jitter must be in [0, 1], got ${this.#jitter}`);
    const rate = options.publishRateHz;
    this.#minStateIntervalMs = rate === undefined ? 0 : 1000 / positiveOption('publishRateHz', rate, 0);
    this.#maxBuffered = positiveOption('maxBufferedBytes', options.maxBufferedBytes, 1 << 20, true);
    this.#connectTimeoutMs = positiveOption('connectTimeoutMs', options.connectTimeoutMs, 5000);
    this.#closeTimeoutMs = positiveOption('closeTimeoutMs', options.closeTimeoutMs, 1000);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    if (options.onStatus) this.#statusListeners.add(options.onStatus);
    if (options.onMeasured) this.#measuredListeners.add(options.onMeasured);
    this.#connect();
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** A snapshot of the connection state and counters. */
  status(): RosBridgeStatus {
    const t = this.#conn?.transport;
    return {
      state: this.#state,
      connected: this.#state === 'connected',
      url: this.url,
      lastError: this.#lastError,
      reconnects: this.#reconnects,
      attempts: this.#attempts,
      dropped: this.#dropped,
      published: this.#published,
      invalid: this.#invalid,
      throttled: this.#throttled,
      pending: this.#pendingCount,
      bufferedBytes: t && this.#state === 'connected' ? t.bufferedAmount : 0,
      retryInMs: this.#retryInMs,
      measured: this.#measured === null
        ? null
        : {
          matched: this.#measured.matched, expected: this.#measured.expected, unknown: this.#measured.unknownNames, duplicate: this.#measured.duplicateNames,
          valid: this.#measured.valid, ageMs: Math.round(this.#now() - this.#measured.receivedAtMs),
        },
    };
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Called on every state change and every new error code. Returns an unsubscribe function. */
  onStatus(listener: (s: RosBridgeStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  /** Called for every measured joint state received. Returns an unsubscribe function. */
  onMeasured(listener: (m: MeasuredJointState) => void): () => void {
    this.#measuredListeners.add(listener);
    return () => this.#measuredListeners.delete(listener);
  }

  /** The latest measured joint state, or null before the first one. */
  measured(): MeasuredJointState | null {
    return this.#measured;
  }

  /**
   * Publish the robot state at wall-clock `tMs` (ms since the epoch): `joint_states` (56 joints in
   * `STATE_JOINT_NAMES` order, velocities if `dq56` is given) and both flange poses (from the
   * action's flange entries). Trajectories are published from chunks only ({@link publishChunk}).
   * Never throws; see the class comment for what happens when it cannot send.
   */
  publishState(tMs: number, q56: ArrayLike<number>, action88: ArrayLike<number>, dq56?: ArrayLike<number>): void {
    try {
      if (this.#state !== 'connected') {
        this.#dropped += STATE_MESSAGES;
        return;
      }
      if (this.#minStateIntervalMs > 0) {
        const since = tMs - this.#lastStateMs;
        if (since >= 0 && since < this.#minStateIntervalMs - 1e-6) {
          this.#throttled++;
          return;
        }
        this.#lastStateMs = tMs;
      }
      if (!Number.isFinite(tMs)) {
        this.#reject(STATE_MESSAGES, `publishState tMs = ${tMs} is not finite`);
        return;
      }
      const rv = this.rosVersion;
      const n = STATE_JOINT_NAMES.length;
      const bad = badVector('q56', q56, n) ?? (dq56 === undefined || dq56.length === 0 ? null : badVector('dq56', dq56, n));
      if (bad === null) {
        const slot = SLOT.jointStates;
        const msg = jointStateMsg({
          seq: this.#seq[slot]!++,
          stampMs: tMs,
          rosVersion: rv,
          names: STATE_JOINT_NAMES,
          position: q56,
          ...(dq56 === undefined ? {} : { velocity: dq56 }),
        });
        this.#send(slot, msg);
      } else {
        this.#reject(1, `publishState: ${bad}; joint_states not sent`);
      }
      if (bad === null) {
        for (const o of this.#outputs) {
          if (o.out.type !== 'std_msgs/Float64MultiArray') continue;
          for (let k = 0; k < o.stateIdx.length; k++) o.scratch[k] = q56[o.stateIdx[k]!]!;
          this.#send(o.slot, positionsArrayMsg(o.scratch));
        }
      }
      for (const side of ['left', 'right'] as const) {
        const off = FLANGE_OFFSETS[side];
        if (action88?.length === ACTION_DIM && allFinite(action88, off, off + 6)) {
          const slot = side === 'left' ? SLOT.leftFlangePose : SLOT.rightFlangePose;
          this.#send(slot, flangePoseMsg(side, action88, { seq: this.#seq[slot]!++, stampMs: tMs, rosVersion: rv }));
        } else {
          const why = badVector('action88', action88, ACTION_DIM) ?? `the ${side} flange pose is not finite`;
          this.#reject(1, `publishState: ${why}; ${side} flange pose not sent`);
        }
      }
    } catch (e) {
      this.#setError('ROS_PUBLISH_FAILED', `publishState failed: ${describe(e)}`);
    }
  }

  /**
   * Publish an action chunk: `action_chunk` (Float32MultiArray K×88) and the four joint
   * trajectories (each arm's 7 joints, each hand's 16 active joints), one point per row at
   * `i × periodMs`. `tMs` is the wall-clock time (ms since the epoch) at which row 0 is due; it
   * stamps the trajectories (`chunk.startTimeMs` may be on another clock and is not used).
   * Never throws.
   */
  publishChunk(tMs: number, chunk: ActionChunk): void {
    try {
      if (this.#state !== 'connected') {
        this.#dropped += CHUNK_MESSAGES;
        return;
      }
      const { k, data, periodMs } = chunk;
      if (
        !Number.isFinite(tMs) ||
        !Number.isInteger(k) ||
        k < 1 ||
        k > MAX_CHUNK_K ||
        !(Number.isFinite(periodMs) && periodMs > 0) ||
        data?.length !== k * ACTION_DIM ||
        !allFinite(data)
      ) {
        this.#reject(
          CHUNK_MESSAGES,
          `publishChunk needs k in 1..${MAX_CHUNK_K}, k × ${ACTION_DIM} finite numbers, periodMs > 0 and a finite tMs (k = ${k}, periodMs = ${periodMs}, tMs = ${tMs})`,
        );
        return;
      }
      const rv = this.rosVersion;
      this.#send(SLOT.actionChunk, chunkArrayMsg(chunk));
      for (const group of TRAJECTORY_GROUPS) {
        const slot = TRAJECTORY_SLOT[group];
        this.#send(slot, chunkTrajectoryMsg(group, chunk, { seq: this.#seq[slot]!++, stampMs: tMs, rosVersion: rv }));
      }
      for (const o of this.#outputs) {
        if (o.out.type !== 'trajectory_msgs/JointTrajectory') continue;
        const msg = chunkTrajectoryMsg(o.out.group, chunk, { seq: this.#seq[o.slot]!++, stampMs: tMs, rosVersion: rv });
        msg.joint_names = [...o.out.jointNames];
        this.#send(o.slot, msg);
      }
    } catch (e) {
      this.#setError('ROS_PUBLISH_FAILED', `publishChunk failed: ${describe(e)}`);
    }
  }

  /**
   * Stop for good: cancel any reconnect, unadvertise and unsubscribe if connected, close the
   * socket (waiting at most `closeTimeoutMs` for rosbridge's answer). Resolves when the socket is
   * closed; afterwards no timer or socket of this bridge remains. Publishes after close are dropped.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#clearTimer();
    const conn = this.#conn;
    this.#conn = null;
    this.#gen++;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    this.#discardPending();
    let done: Promise<void> = Promise.resolve();
    if (conn) {
      try {
        if (wasConnected && conn.ros.isConnected) {
          for (const t of conn.publishers ?? []) t.unadvertise();
          conn.measured?.unsubscribe();
          for (const t of conn.images ?? []) t.unsubscribe();
        }
      } catch {
        // Best effort: rosbridge drops our topics when the socket closes anyway.
      }
      const t = conn.transport;
      if (t && !t.isClosed()) {
        done = new Promise<void>((resolve) => t.socket.once('close', () => resolve()));
        try {
          t.close();
        } catch {
          t.socket.terminate();
        }
      }
      this.#dispose(conn);
    }
    this.#emitStatus();
    this.#closing = done;
    return done;
  }

  // -------------------------------------------------------------------------------------------
  // Connection state machine

  #connect(): void {
    const gen = ++this.#gen;
    this.#state = 'connecting';
    this.#retryInMs = null;
    this.#attempts++;
    const ros = new roslib.Ros({
      transportFactory: async (url: string) => {
        const transport = new WsTransport(url, {
          handshakeTimeoutMs: this.#connectTimeoutMs,
          closeTimeoutMs: this.#closeTimeoutMs,
          onFlushed: () => {
            if (gen === this.#gen && this.#pendingCount > 0) this.#drain();
          },
          onMessage: (m) => {
            if (gen === this.#gen) this.#onRosbridgeMessage(m);
          },
        });
        if (conn.gen === this.#gen) conn.transport = transport;
        else transport.socket.terminate(); // closed while the factory ran
        return transport;
      },
    });
    const conn: Connection = { gen, ros, transport: null, errored: false, publishers: null, measured: null, images: null };
    this.#conn = conn;
    ros.on('connection', () => {
      if (gen === this.#gen) this.#onOpen(conn);
    });
    ros.on('close', (ev: unknown) => {
      if (gen === this.#gen) this.#onClose(conn, ev);
    });
    ros.on('error', (ev: unknown) => {
      if (gen !== this.#gen) return;
      conn.errored = true;
      if (this.#state === 'connecting') this.#setError('ROS_CONNECT_FAILED', `cannot connect to ${this.url}: ${describe(ev)}`);
      else this.#setError('ROS_SOCKET_ERROR', `socket error on ${this.url}: ${describe(ev)}`);
    });
    ros.connect(this.url).catch((e: unknown) => {
      if (gen !== this.#gen) return;
      this.#setError('ROS_CONNECT_FAILED', `cannot connect to ${this.url}: ${describe(e)}`, false);
      conn.errored = true;
      this.#onClose(conn, e);
    });
    this.#emitStatus();
  }

  #onOpen(conn: Connection): void {
    const { ros } = conn;
    if (this.#everConnected) this.#reconnects++;
    this.#everConnected = true;
    this.#failures = 0;
    this.#attempts = 0;
    // Fresh topics on a fresh Ros; `reconnect_on_close: false` because the Ros is never reused.
    conn.publishers = this.topics.published.map((p) => {
      const t = new roslib.Topic<unknown>({ ros, name: p.name, messageType: p.type, reconnect_on_close: false });
      t.advertise();
      return t;
    });
    const m = new roslib.Topic<unknown>({
      ros,
      name: this.topics.measured.name,
      messageType: this.topics.measured.type,
      reconnect_on_close: false,
    });
    m.subscribe((msg) => this.#onMeasuredMessage(msg));
    conn.measured = m;
    conn.images = this.#images.map((img) => {
      const name = img.type === 'raw' ? 'Image' : 'CompressedImage';
      const t = new roslib.Topic<unknown>({
        ros, name: img.topic, messageType: this.rosVersion === 2 ? `sensor_msgs/msg/${name}` : `sensor_msgs/${name}`, throttle_rate: img.throttleRateMs, queue_length: img.queueLength, reconnect_on_close: false,
        // roslib decodes the binary CBOR frames (our transport hands them over as bytes).
        compression: img.compression ?? 'cbor',
      });
      t.subscribe((msg) => {
        try {
          this.#onImage?.(img.topic, msg);
        } catch (e) {
          this.#setError('ROS_CALLBACK_FAILED', `onImage listener threw: ${describe(e)}`);
        }
      });
      return t;
    });
    this.#state = 'connected';
    this.#emitStatus();
  }

  #onClose(conn: Connection, ev: unknown): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connected') {
      this.#setError('ROS_CONNECTION_LOST', `connection to ${this.url} lost: ${describe(ev)}`, false);
    } else if (!conn.errored) {
      this.#setError('ROS_CONNECT_FAILED', `cannot connect to ${this.url}: ${describe(ev)}`, false);
    }
    this.#gen++;
    this.#conn = null;
    this.#discardPending();
    this.#dispose(conn);
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
    this.#failures = Math.min(this.#failures + 1, 30);
    const delay = Math.max(1, Math.round(base * (1 - this.#jitter * this.#random())));
    this.#state = 'backoff';
    this.#retryInMs = delay;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state === 'backoff') this.#connect();
    }, delay);
    this.#emitStatus();
  }

  #dispose(conn: Connection): void {
    for (const t of conn.publishers ?? []) t.removeAllListeners();
    conn.measured?.removeAllListeners();
    for (const t of conn.images ?? []) t.removeAllListeners();
    conn.publishers = null;
    conn.measured = null;
    conn.images = null;
    conn.ros.removeAllListeners();
    const t = conn.transport;
    // After a peer-side close the socket is already CLOSED; otherwise close() above handled it.
    if (t && !t.isClosed() && this.#state !== 'closed') t.socket.terminate();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#retryInMs = null;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  #send(slot: number, msg: unknown): void {
    const conn = this.#conn;
    const t = conn?.transport;
    const topic = conn?.publishers?.[slot];
    if (this.#state !== 'connected' || !t || !topic || !t.isOpen()) {
      this.#dropped++;
      return;
    }
    if (t.bufferedAmount > this.#maxBuffered) {
      if (this.#pending[slot] !== undefined) this.#dropped++;
      else this.#pendingCount++;
      this.#pending[slot] = msg;
      return;
    }
    if (this.#pending[slot] !== undefined) {
      this.#pending[slot] = undefined;
      this.#pendingCount--;
      this.#dropped++;
    }
    topic.publish(msg);
    this.#published++;
  }

  /** The socket wrote something: send waiting messages while it is below the threshold. */
  #drain(): void {
    const conn = this.#conn;
    const t = conn?.transport;
    if (this.#state !== 'connected' || !t || !conn?.publishers) return;
    for (let slot = 0; slot < this.#pending.length && this.#pendingCount > 0; slot++) {
      const msg = this.#pending[slot];
      if (msg === undefined) continue;
      if (t.bufferedAmount > this.#maxBuffered) return;
      this.#pending[slot] = undefined;
      this.#pendingCount--;
      try {
        conn.publishers[slot]!.publish(msg);
        this.#published++;
      } catch (e) {
        this.#dropped++;
        this.#setError('ROS_PUBLISH_FAILED', `sending a waiting message failed: ${describe(e)}`);
      }
    }
  }

  #discardPending(): void {
    this.#dropped += this.#pendingCount;
    this.#pending.fill(undefined);
    this.#pendingCount = 0;
  }

  #reject(messages: number, what: string): void {
    this.#invalid += messages;
    this.#setError('ROS_INVALID_INPUT', what);
  }

  // -------------------------------------------------------------------------------------------
  // Incoming

  #onRosbridgeMessage(m: RosbridgeOp): void {
    if (m.op === 'status' && (m['level'] === 'error' || m['level'] === 'warning')) {
      const id = typeof m['id'] === 'string' ? ` (${m['id']})` : '';
      this.#setError('ROS_REMOTE_ERROR', `rosbridge ${m['level']}${id}: ${String(m['msg'])}`);
    }
  }

  /** A malformed or incomplete measured state: the status error, and a warning at most every 5 s per kind. */
  #badMeasured(code: RosErrorCode, kind: string, message: string): void {
    this.#setError(code, message);
    const now = this.#now();
    const last = this.#lastWarnMs.get(kind) ?? Number.NEGATIVE_INFINITY;
    if (now - last < WARN_INTERVAL_MS) return;
    this.#lastWarnMs.set(kind, now);
    this.#warn(`${code}: ros: ${message}`);
  }

  #onMeasuredMessage(msg: unknown): void {
    const topic = this.topics.measured.name;
    const o = typeof msg === 'object' && msg !== null ? (msg as Record<string, unknown>) : null;
    const names = o?.['name'];
    const pos = o?.['position'];
    if (!Array.isArray(names) || !Array.isArray(pos)) {
      this.#badMeasured('ROS_BAD_MEASURED', 'shape', `${topic}: a JointState needs name[] and position[]; message ignored`);
      return;
    }
    if (names.length !== pos.length) {
      this.#badMeasured('ROS_BAD_MEASURED', 'length', `${topic}: ${names.length} names but ${pos.length} positions; message ignored`);
      return;
    }
    if (names.length > MAX_MEASURED_NAMES) {
      this.#badMeasured('ROS_BAD_MEASURED', 'size', `${topic}: ${names.length} names (more than ${MAX_MEASURED_NAMES}); message ignored`);
      return;
    }
    const q = new Float64Array(STATE_JOINT_NAMES.length).fill(Number.NaN);
    const seen = new Uint8Array(STATE_JOINT_NAMES.length);
    let matched = 0;
    let unknown = 0;
    let duplicate = 0;
    for (let i = 0; i < names.length; i++) {
      const idx = typeof names[i] === 'string' ? this.#measuredIndex.get(names[i] as string) : undefined;
      if (idx === undefined) {
        unknown++;
        continue;
      }
      if (seen[idx] === 1) {
        duplicate++;
        continue;
      }
      seen[idx] = 1;
      const v = pos[i];
      // rosbridge sends NaN as null: a missing value.
      if (typeof v === 'number' && Number.isFinite(v)) {
        matched++;
        q[idx] = v;
      }
    }
    let missing = 0;
    for (const idx of this.#expected) if (Number.isNaN(q[idx]!)) missing++;
    const valid = missing === 0 && duplicate === 0;
    if (duplicate > 0) this.#badMeasured('ROS_BAD_MEASURED', 'duplicate', `${topic}: ${duplicate} duplicate joint names; measured state not valid`);
    else if (missing > 0) {
      this.#badMeasured('ROS_MEASURED_INCOMPLETE', 'missing', `${topic}: ${missing} of ${this.#expected.length} expected joints missing (${unknown} unknown names); measured state not valid`);
    }
    const header = o?.['header'];
    const stamp = typeof header === 'object' && header !== null ? (header as Record<string, unknown>)['stamp'] : undefined;
    const m: MeasuredJointState = {
      q, stampMs: msFromRosTime(stamp), receivedAtMs: this.#now(), matched, expected: this.#expected.length, unknownNames: unknown, duplicateNames: duplicate, valid,
    };
    this.#measured = m;
    for (const fn of this.#measuredListeners) {
      try {
        fn(m);
      } catch (e) {
        this.#setError('ROS_CALLBACK_FAILED', `onMeasured listener threw: ${describe(e)}`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status

  #setError(code: RosErrorCode, message: string, emit = true): void {
    const changed = this.#lastError?.code !== code;
    this.#lastError = { code, message: `ros: ${message}`, atMs: this.#now() };
    if (emit && changed && code !== 'ROS_CALLBACK_FAILED') this.#emitStatus();
  }

  #emitStatus(): void {
    if (this.#statusListeners.size === 0) return;
    const s = this.status();
    for (const fn of this.#statusListeners) {
      try {
        fn(s);
      } catch (e) {
        this.#lastError = { code: 'ROS_CALLBACK_FAILED', message: `ros: onStatus listener threw: ${describe(e)}`, atMs: this.#now() };
      }
    }
  }
}
