/**
 * The binary messages: HAND_FRAME (operator → server), ROBOT_STATE (server → clients),
 * ACTION_CHUNK (policy → server) and HAND_TRACKING (server → clients that asked for it). All little-endian; byte 0 is the kind, byte 1 the protocol
 * version. Layouts: `docs/protocol.md`.
 *
 * Decoders never throw on bad bytes: they return a {@link WireFailure} with a code. Encoders throw
 * `RangeError` for inputs that cannot be represented (wrong array lengths, a `seq` outside u32):
 * those are programming errors of the sender. Encoders do not check finiteness; receivers do.
 *
 * Inputs may be an `ArrayBuffer` or any view of one at any `byteOffset` (Node's `ws` hands out
 * Buffers that are views into a shared pool). Hot paths (`encodeHandFrame`, `decodeHandFrame`,
 * `encodeRobotState`, `decodeRobotState`, `encodeHandTracking`, `decodeHandTracking` with
 * `out` / `into`) allocate nothing while the same
 * buffers are passed again.
 */

import {
  ACTION_DIM,
  FINGERS,
  MAX_CHUNK_K,
  type Side,
  SIDES,
  STATE_DIM,
  XR_HAND_LENGTH,
  XR_JOINT_COUNT,
  XR_JOINT_NAMES,
  XR_JOINT_STRIDE,
  type SideHold,
} from '@dexbridge/retarget';
import {
  armStatusCode,
  armStatusOfCode,
  type ControlMode,
  HAND_FRAME_FLAG,
  HAND_FRAME_FLAGS_MASK,
  HAND_TRACKING_FLAG,
  handStatusCode,
  handStatusOfCode,
  holdCode,
  holdOfCode,
  MESSAGE_KIND,
  modeCode,
  modeOfCode,
  PROTOCOL_VERSION,
  ROBOT_STATE_FLAG,
  type WireArmStatus,
  type WireHandStatus,
  type WireHold,
} from './codes.js';
import { type WireErrorCode, type WireFailure, wireFailure } from './errors.js';

/** What the decoders accept: an `ArrayBuffer`, or a `Uint8Array` (Node `Buffer`), `DataView`, … */
export type WireBytes = ArrayBuffer | ArrayBufferView;

const F32 = 4;

/** Byte offsets of the HAND_FRAME fields. */
export const HAND_FRAME_OFFSET = Object.freeze({
  kind: 0,
  version: 1,
  flags: 2,
  reserved: 3,
  seq: 4,
  tMs: 8,
  left: 16,
  right: 16 + XR_HAND_LENGTH * F32,
} as const);
/** Exact byte length of a HAND_FRAME: 16 + 2 × 200 × 4 = 1616. */
export const HAND_FRAME_BYTES = HAND_FRAME_OFFSET.right + XR_HAND_LENGTH * F32;

/** Byte offsets of the ROBOT_STATE fields. `sides` holds 4 bytes per side, left then right. */
export const ROBOT_STATE_OFFSET = Object.freeze({
  kind: 0,
  version: 1,
  mode: 2,
  flags: 3,
  seq: 4,
  serverTimeMs: 8,
  sourceTMs: 16,
  sourceSeq: 24,
  sides: 28,
  retargetMs: 36,
  serverLatencyMs: 40,
  chunkQueueDepth: 44,
  chunkLatencyMs: 48,
  reserved: 52,
  commanded: 56,
  action: 56 + STATE_DIM * F32,
  measured: 56 + STATE_DIM * F32 + ACTION_DIM * F32,
} as const);
/** Exact byte length of a ROBOT_STATE: 56 + (56 + 88 + 56) × 4 = 856. */
export const ROBOT_STATE_BYTES = ROBOT_STATE_OFFSET.measured + STATE_DIM * F32;

/** Byte offsets of the ACTION_CHUNK header fields; rows start at `data`. */
export const ACTION_CHUNK_OFFSET = Object.freeze({
  kind: 0,
  version: 1,
  k: 2,
  chunkId: 4,
  startTimeMs: 8,
  periodMs: 16,
  data: 24,
} as const);
export const ACTION_CHUNK_HEADER_BYTES = ACTION_CHUNK_OFFSET.data;
/** Bytes per chunk row: 88 × 4 = 352. */
export const ACTION_CHUNK_ROW_BYTES = ACTION_DIM * F32;
/** Exact byte length of an ACTION_CHUNK of `k` rows: 24 + 352·k. */
export const actionChunkBytes = (k: number): number => ACTION_CHUNK_HEADER_BYTES + ACTION_CHUNK_ROW_BYTES * k;

/** Floats of one HAND_TRACKING side: 25 joints × xyz, then 5 fingertip targets × xyz. */
export const HAND_TRACKING_JOINT_FLOATS = XR_JOINT_COUNT * 3;
export const HAND_TRACKING_TIP_FLOATS = FINGERS.length * 3;
export const HAND_TRACKING_SIDE_FLOATS = HAND_TRACKING_JOINT_FLOATS + HAND_TRACKING_TIP_FLOATS;
/**
 * Byte offsets of the HAND_TRACKING fields. `left`/`right` start a side block: its joints at
 * `+sideJoints`, its fingertip targets at `+sideTips`.
 */
export const HAND_TRACKING_OFFSET = Object.freeze({
  kind: 0,
  version: 1,
  flags: 2,
  reserved: 3,
  sourceSeq: 4,
  sourceTMs: 8,
  left: 16,
  right: 16 + HAND_TRACKING_SIDE_FLOATS * F32,
  sideJoints: 0,
  sideTips: HAND_TRACKING_JOINT_FLOATS * F32,
} as const);
/** Exact byte length of a HAND_TRACKING: 16 + 2 × (75 + 15) × 4 = 736. */
export const HAND_TRACKING_BYTES = HAND_TRACKING_OFFSET.right + HAND_TRACKING_SIDE_FLOATS * F32;

const U32_MAX = 0xffff_ffff;
const JOINT_COMPONENTS = ['px', 'py', 'pz', 'qx', 'qy', 'qz', 'qw', 'radius'] as const;

// ---------------------------------------------------------------------------------------------
// DataView over the caller's bytes. One cached view for reading and one for writing, so passing
// the same buffer again (a reused `out`, Node's pooled receive buffers) allocates nothing.

let readBuffer: ArrayBufferLike | null = null;
let readBufferBytes = -1;
let readDataView: DataView | null = null;
let readBase = 0;
let readLength = 0;
/** Stands in for empty inputs, whose buffer may be detached (a DataView over it would throw). */
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/** Binds the read view to `bytes`; sets `readBase` and `readLength`. */
function bindRead(bytes: WireBytes): DataView {
  let buffer: ArrayBufferLike;
  if (ArrayBuffer.isView(bytes)) {
    buffer = bytes.buffer;
    readBase = bytes.byteOffset;
    readLength = bytes.byteLength;
  } else {
    buffer = bytes;
    readBase = 0;
    readLength = bytes.byteLength;
  }
  if (readLength === 0) return EMPTY_VIEW;
  // Compare lengths as well as identity: a resizable buffer may have grown since.
  if (buffer !== readBuffer || readDataView === null || buffer.byteLength !== readBufferBytes) {
    readDataView = new DataView(buffer);
    readBuffer = buffer;
    readBufferBytes = buffer.byteLength;
  }
  return readDataView;
}

let writeBuffer: ArrayBufferLike | null = null;
let writeBufferBytes = -1;
let writeDataView: DataView | null = null;

function bindWrite(out: Uint8Array): DataView {
  const buffer = out.buffer;
  if (buffer !== writeBuffer || writeDataView === null || buffer.byteLength !== writeBufferBytes) {
    writeDataView = new DataView(buffer);
    writeBuffer = buffer;
    writeBufferBytes = buffer.byteLength;
  }
  return writeDataView;
}

function outBuffer(fn: string, out: Uint8Array | undefined, size: number): Uint8Array {
  if (out === undefined) return new Uint8Array(size);
  if (out.byteLength < size) throw new RangeError(`protocol: ${fn} needs an out buffer of ${size} bytes, got ${out.byteLength}`);
  return out.byteLength === size ? out : out.subarray(0, size);
}

function checkU32(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new RangeError(`protocol: ${fn} ${name} must be an integer in 0..${U32_MAX}, got ${v}`);
  }
}

function checkLength(fn: string, name: string, v: ArrayLike<number>, n: number): void {
  if (v.length !== n) throw new RangeError(`protocol: ${fn} ${name} must have ${n} numbers, got ${v.length}`);
}

/** Kind byte of a binary message, or `undefined` for an empty one. Never throws. */
export function peekKind(bytes: WireBytes): number | undefined {
  const dv = bindRead(bytes);
  return readLength < 1 ? undefined : dv.getUint8(readBase);
}

/**
 * The `seq` of a HAND_FRAME or the `chunkId` of an ACTION_CHUNK, when the message is long enough
 * to hold it (whatever else is wrong with it), so errors can name it; otherwise `undefined`.
 * Never throws.
 */
export function peekSeq(bytes: WireBytes): number | undefined {
  const dv = bindRead(bytes);
  if (readLength < 1) return undefined;
  const kind = dv.getUint8(readBase);
  const at = kind === MESSAGE_KIND.HAND_FRAME ? HAND_FRAME_OFFSET.seq : kind === MESSAGE_KIND.ACTION_CHUNK ? ACTION_CHUNK_OFFSET.chunkId : -1;
  return at < 0 || readLength < at + 4 ? undefined : dv.getUint32(readBase + at, true);
}

/** `binary:<kind>`, the `ref` of errors about a binary message (`binary:empty` for no bytes). */
export function binaryRef(bytes: WireBytes): string {
  const kind = peekKind(bytes);
  return kind === undefined ? 'binary:empty' : `binary:${kind}`;
}

const KIND_NAMES: Readonly<Record<number, string>> = {
  [MESSAGE_KIND.HAND_FRAME]: 'HAND_FRAME',
  [MESSAGE_KIND.ROBOT_STATE]: 'ROBOT_STATE',
  [MESSAGE_KIND.ACTION_CHUNK]: 'ACTION_CHUNK',
  [MESSAGE_KIND.HAND_TRACKING]: 'HAND_TRACKING',
};

/**
 * Shared header checks: kind, version, then exact size (or, for chunks, at least the header).
 * Reads through the bound read view. Returns a failure or `null`.
 */
function checkHeader(dv: DataView, expectedKind: number, sizeCode: WireErrorCode, size: number, exact: boolean): WireFailure | null {
  const name = KIND_NAMES[expectedKind]!;
  const what = exact ? `${size}` : `at least ${size}`;
  if (readLength < 1) return wireFailure(sizeCode, `protocol: ${name} of 0 bytes, expected ${what}`, 'binary:empty');
  const kind = dv.getUint8(readBase);
  const ref = `binary:${kind}`;
  if (kind !== expectedKind) {
    const got = KIND_NAMES[kind] === undefined ? `unknown kind ${kind}` : `kind ${kind} (${KIND_NAMES[kind]})`;
    return wireFailure('PROTO_BAD_KIND', `protocol: expected a ${name} (kind ${expectedKind}), got ${got}`, ref);
  }
  if (readLength < 2) return wireFailure(sizeCode, `protocol: ${name} of ${readLength} bytes, expected ${what}`, ref);
  const version = dv.getUint8(readBase + 1);
  if (version !== PROTOCOL_VERSION) {
    return wireFailure('PROTO_BAD_VERSION', `protocol: ${name} version ${version}, this side speaks version ${PROTOCOL_VERSION}`, ref);
  }
  if (exact ? readLength !== size : readLength < size) {
    return wireFailure(sizeCode, `protocol: ${name} of ${readLength} bytes, expected ${what}`, ref);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// HAND_FRAME

/** One operator frame to send. Hands are 25 joints × [px, py, pz, qx, qy, qz, qw, radius] (m). */
export interface HandFrameMessage {
  /** Per-connection sequence number, u32, strictly increasing. */
  readonly seq: number;
  /** The client's monotonic clock, ms (e.g. the XR frame's `performance.now()` time). */
  readonly tMs: number;
  /** 200 numbers, or `null` when the hand is not tracked (sent as zeros, flag bit clear). */
  readonly left: ArrayLike<number> | null;
  readonly right: ArrayLike<number> | null;
}

/**
 * A decoded HAND_FRAME. `left`/`right` are `null` when not tracked, else they are
 * `leftBuffer`/`rightBuffer` holding the frame's values. With `Float64Array` buffers it is a
 * `HandFrame` the Retargeter takes directly. Reused by {@link decodeHandFrame}: copy to keep.
 */
export interface DecodedHandFrame<T extends Float32Array | Float64Array = Float32Array> {
  readonly ok: true;
  seq: number;
  tMs: number;
  left: T | null;
  right: T | null;
  readonly leftBuffer: T;
  readonly rightBuffer: T;
}

/**
 * Storage for {@link decodeHandFrame}; make one per connection. `arrayType` chooses the element
 * type of the hand buffers (default `Float32Array`; `Float64Array` feeds the Retargeter).
 */
export function createDecodedHandFrame(): DecodedHandFrame<Float32Array>;
export function createDecodedHandFrame<T extends Float32Array | Float64Array>(arrayType: new (length: number) => T): DecodedHandFrame<T>;
export function createDecodedHandFrame(
  arrayType: new (length: number) => Float32Array | Float64Array = Float32Array,
): DecodedHandFrame<Float32Array | Float64Array> {
  return {
    ok: true,
    seq: 0,
    tMs: Number.NaN,
    left: null,
    right: null,
    leftBuffer: new arrayType(XR_HAND_LENGTH),
    rightBuffer: new arrayType(XR_HAND_LENGTH),
  };
}

/**
 * Encode one HAND_FRAME (exactly {@link HAND_FRAME_BYTES} = 1616 bytes). Untracked hands are
 * written as zeros. Values are stored as float32 as given (no finiteness check).
 * @param out reused for the message when given (at least 1616 bytes; exactly 1616 returns `out`
 *   itself and allocates nothing); a new buffer otherwise.
 * @returns the encoded bytes.
 * @throws RangeError if `seq` is not a u32, a hand is not 200 numbers, or `out` is too small.
 */
export function encodeHandFrame(out: Uint8Array | undefined, msg: HandFrameMessage): Uint8Array {
  const fn = 'encodeHandFrame';
  checkU32(fn, 'seq', msg.seq);
  if (msg.left !== null) checkLength(fn, 'left', msg.left, XR_HAND_LENGTH);
  if (msg.right !== null) checkLength(fn, 'right', msg.right, XR_HAND_LENGTH);
  const bytes = outBuffer(fn, out, HAND_FRAME_BYTES);
  const dv = bindWrite(bytes);
  const o = bytes.byteOffset;
  const flags = (msg.left === null ? 0 : HAND_FRAME_FLAG.LEFT_TRACKED) | (msg.right === null ? 0 : HAND_FRAME_FLAG.RIGHT_TRACKED);
  dv.setUint8(o, MESSAGE_KIND.HAND_FRAME);
  dv.setUint8(o + 1, PROTOCOL_VERSION);
  dv.setUint8(o + 2, flags);
  dv.setUint8(o + 3, 0);
  dv.setUint32(o + HAND_FRAME_OFFSET.seq, msg.seq, true);
  dv.setFloat64(o + HAND_FRAME_OFFSET.tMs, msg.tMs, true);
  writeF32(dv, o + HAND_FRAME_OFFSET.left, msg.left, XR_HAND_LENGTH, 0);
  writeF32(dv, o + HAND_FRAME_OFFSET.right, msg.right, XR_HAND_LENGTH, 0);
  return bytes;
}

function writeF32(dv: DataView, at: number, values: ArrayLike<number> | null, n: number, fill: number): void {
  if (values === null) {
    for (let i = 0; i < n; i++) dv.setFloat32(at + i * F32, fill, true);
  } else {
    for (let i = 0; i < n; i++) dv.setFloat32(at + i * F32, values[i]!, true);
  }
}

function readF32(dv: DataView, at: number, into: Float32Array | Float64Array, n: number): void {
  for (let i = 0; i < n; i++) into[i] = dv.getFloat32(at + i * F32, true);
}

/** Index of the first non-finite float32 of a hand, or −1. */
function firstNonFinite(dv: DataView, at: number): number {
  for (let i = 0; i < XR_HAND_LENGTH; i++) if (!Number.isFinite(dv.getFloat32(at + i * F32, true))) return i;
  return -1;
}

/**
 * Decode and check one HAND_FRAME. Checks, in order: kind (`PROTO_BAD_KIND`), version
 * (`PROTO_BAD_VERSION`), exact size 1616 (`FRAME_BAD_SIZE`), reserved flag bits and byte are 0
 * (`PROTO_BAD_MESSAGE`), `tMs` and every number of each tracked hand finite (`FRAME_NOT_FINITE`,
 * naming hand, joint and component). The numbers of an untracked hand are ignored. Sequence and
 * time order across frames are the connection's to check ({@link checkHandFrameOrder}).
 * Never throws. On failure `into` is left untouched.
 * @param into reused storage from {@link createDecodedHandFrame} (allocation-free); a new one
 *   otherwise.
 */
export function decodeHandFrame(bytes: WireBytes): DecodedHandFrame<Float32Array> | WireFailure;
export function decodeHandFrame<T extends Float32Array | Float64Array>(bytes: WireBytes, into: DecodedHandFrame<T>): DecodedHandFrame<T> | WireFailure;
export function decodeHandFrame(
  bytes: WireBytes,
  into?: DecodedHandFrame<Float32Array | Float64Array>,
): DecodedHandFrame<Float32Array | Float64Array> | WireFailure {
  const dv = bindRead(bytes);
  const bad = checkHeader(dv, MESSAGE_KIND.HAND_FRAME, 'FRAME_BAD_SIZE', HAND_FRAME_BYTES, true);
  if (bad !== null) return bad;
  const b = readBase;
  const ref = `binary:${MESSAGE_KIND.HAND_FRAME}`;
  const flags = dv.getUint8(b + HAND_FRAME_OFFSET.flags);
  if ((flags & ~HAND_FRAME_FLAGS_MASK) !== 0) {
    return wireFailure('PROTO_BAD_MESSAGE', `protocol: HAND_FRAME flags 0x${hex2(flags)} set reserved bits (only bits 0 and 1 are defined)`, ref);
  }
  const reserved = dv.getUint8(b + HAND_FRAME_OFFSET.reserved);
  if (reserved !== 0) {
    return wireFailure('PROTO_BAD_MESSAGE', `protocol: HAND_FRAME reserved byte 3 is 0x${hex2(reserved)}, must be 0`, ref);
  }
  const seq = dv.getUint32(b + HAND_FRAME_OFFSET.seq, true);
  const tMs = dv.getFloat64(b + HAND_FRAME_OFFSET.tMs, true);
  if (!Number.isFinite(tMs)) {
    return wireFailure('FRAME_NOT_FINITE', `protocol: HAND_FRAME seq ${seq} tMs is not finite: ${tMs}`, ref, seq);
  }
  const leftTracked = (flags & HAND_FRAME_FLAG.LEFT_TRACKED) !== 0;
  const rightTracked = (flags & HAND_FRAME_FLAG.RIGHT_TRACKED) !== 0;
  for (let s = 0; s < 2; s++) {
    const side = SIDES[s]!;
    if (!(s === 0 ? leftTracked : rightTracked)) continue;
    const at = b + (s === 0 ? HAND_FRAME_OFFSET.left : HAND_FRAME_OFFSET.right);
    const i = firstNonFinite(dv, at);
    if (i >= 0) {
      const joint = Math.floor(i / XR_JOINT_STRIDE);
      const comp = JOINT_COMPONENTS[i % XR_JOINT_STRIDE]!;
      const v = dv.getFloat32(at + i * F32, true);
      return wireFailure(
        'FRAME_NOT_FINITE',
        `protocol: HAND_FRAME seq ${seq} ${side} joint ${joint} (${XR_JOINT_NAMES[joint]}) ${comp} is not finite: ${v}`,
        ref,
        seq,
      );
    }
  }
  const out = into ?? createDecodedHandFrame();
  out.seq = seq;
  out.tMs = tMs;
  if (leftTracked) {
    readF32(dv, b + HAND_FRAME_OFFSET.left, out.leftBuffer, XR_HAND_LENGTH);
    out.left = out.leftBuffer;
  } else {
    out.left = null;
  }
  if (rightTracked) {
    readF32(dv, b + HAND_FRAME_OFFSET.right, out.rightBuffer, XR_HAND_LENGTH);
    out.right = out.rightBuffer;
  } else {
    out.right = null;
  }
  return out;
}

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/**
 * Order check between consecutive frames of one connection: `seq` and `tMs` must both strictly
 * increase (`FRAME_OUT_OF_ORDER`, then `FRAME_TIME_BACKWARDS`). `previous` is the last accepted
 * frame, or `null` for the first one. Never throws.
 * @returns `null` when in order.
 */
export function checkHandFrameOrder(
  previous: { readonly seq: number; readonly tMs: number } | null,
  next: { readonly seq: number; readonly tMs: number },
): WireFailure | null {
  if (previous === null) return null;
  const ref = `binary:${MESSAGE_KIND.HAND_FRAME}`;
  if (!(next.seq > previous.seq)) {
    return wireFailure(
      'FRAME_OUT_OF_ORDER',
      `protocol: HAND_FRAME seq ${next.seq} is not after the previous frame's seq ${previous.seq}`,
      ref,
      next.seq,
    );
  }
  if (!(next.tMs > previous.tMs)) {
    return wireFailure(
      'FRAME_TIME_BACKWARDS',
      `protocol: HAND_FRAME seq ${next.seq} tMs ${next.tMs} is not after the previous frame's tMs ${previous.tMs}`,
      ref,
      next.seq,
    );
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// ROBOT_STATE

/**
 * One side's status as the ROBOT_STATE carries it. A Retargeter `SideStatus` satisfies this
 * type, so `retargeter.output.status` can be passed as is.
 */
export interface RobotStateSide {
  readonly hold: SideHold | WireHold;
  readonly engaged: boolean;
  readonly hand: { readonly status: WireHandStatus };
  readonly arm: { readonly status: WireArmStatus };
}

/** One robot state to send. A {@link DecodedRobotState} satisfies it (re-encoding is exact). */
export interface RobotStateMessage {
  /** State counter, u32. */
  readonly seq: number;
  /** Server monotonic clock, ms. */
  readonly serverTimeMs: number;
  readonly mode: ControlMode;
  readonly estopLatched: boolean;
  readonly recording: boolean;
  readonly rosConnected: boolean;
  readonly watchdogHold: boolean;
  /** Some operator holds the control lease. */
  readonly leaseHeld: boolean;
  /** `tMs` of the operator frame this state answers (client clock, ms); NaN if none. */
  readonly sourceTMs: number;
  /** `seq` of that frame, u32; 0 if none. */
  readonly sourceSeq: number;
  readonly status: { readonly [S in Side]: RobotStateSide };
  /** Time spent retargeting this state's frame, ms. */
  readonly retargetMs: number;
  /** Frame receive → state send on the server, ms. */
  readonly serverLatencyMs: number;
  /** Action chunks waiting to execute. */
  readonly chunkQueueDepth: number;
  /** Latency of the last chunk (arrival vs its start time), ms; NaN if none. */
  readonly chunkLatencyMs: number;
  /** Commanded joint positions, 56, state order (`STATE_JOINT_NAMES`), rad. */
  readonly commanded: ArrayLike<number>;
  /** The 88-dim action (`ACTION_NAMES`). */
  readonly action: ArrayLike<number>;
  /** Measured joint positions, 56, rad; `null` when there are none (sent as NaN). */
  readonly measured: ArrayLike<number> | null;
  /** Flag bit 4; default: `measured !== null`. */
  readonly measuredValid?: boolean;
}

/** One side of a decoded ROBOT_STATE (same shape as the Retargeter's `SideStatus` fields). */
export interface DecodedRobotStateSide {
  hold: WireHold;
  engaged: boolean;
  readonly hand: { status: WireHandStatus };
  readonly arm: { status: WireArmStatus };
}

/** A decoded ROBOT_STATE. Reused by {@link decodeRobotState}: copy to keep. */
export interface DecodedRobotState {
  readonly ok: true;
  seq: number;
  serverTimeMs: number;
  mode: ControlMode;
  estopLatched: boolean;
  recording: boolean;
  rosConnected: boolean;
  watchdogHold: boolean;
  leaseHeld: boolean;
  measuredValid: boolean;
  sourceTMs: number;
  sourceSeq: number;
  readonly status: { readonly [S in Side]: DecodedRobotStateSide };
  retargetMs: number;
  serverLatencyMs: number;
  chunkQueueDepth: number;
  chunkLatencyMs: number;
  readonly commanded: Float32Array;
  readonly action: Float32Array;
  /** NaN where not measured. */
  readonly measured: Float32Array;
}

const newDecodedSide = (): DecodedRobotStateSide => ({
  hold: 'missing',
  engaged: false,
  hand: { status: 'held' },
  arm: { status: 'not_engaged' },
});

/** Storage for {@link decodeRobotState}; make one per connection. */
export function createDecodedRobotState(): DecodedRobotState {
  return {
    ok: true,
    seq: 0,
    serverTimeMs: Number.NaN,
    mode: 'idle',
    estopLatched: false,
    recording: false,
    rosConnected: false,
    watchdogHold: false,
    leaseHeld: false,
    measuredValid: false,
    sourceTMs: Number.NaN,
    sourceSeq: 0,
    status: { left: newDecodedSide(), right: newDecodedSide() },
    retargetMs: Number.NaN,
    serverLatencyMs: Number.NaN,
    chunkQueueDepth: 0,
    chunkLatencyMs: Number.NaN,
    commanded: new Float32Array(STATE_DIM),
    action: new Float32Array(ACTION_DIM),
    measured: new Float32Array(STATE_DIM).fill(Number.NaN),
  };
}

/**
 * Encode one ROBOT_STATE (exactly {@link ROBOT_STATE_BYTES} = 856 bytes). Times and figures are
 * stored as given (NaN allowed: `sourceTMs`, `chunkLatencyMs`, measured joints).
 * @param out reused when given (at least 856 bytes; exactly 856 allocates nothing).
 * @throws RangeError for a `seq`/`sourceSeq` outside u32, wrong array lengths, an unknown mode
 *   or status name, or a too small `out`.
 */
export function encodeRobotState(out: Uint8Array | undefined, msg: RobotStateMessage): Uint8Array {
  const fn = 'encodeRobotState';
  checkU32(fn, 'seq', msg.seq);
  checkU32(fn, 'sourceSeq', msg.sourceSeq);
  checkLength(fn, 'commanded', msg.commanded, STATE_DIM);
  checkLength(fn, 'action', msg.action, ACTION_DIM);
  if (msg.measured !== null) checkLength(fn, 'measured', msg.measured, STATE_DIM);
  const mode = modeCode(msg.mode);
  // Codes before any write, so a throw leaves `out` as it was.
  const l = msg.status.left;
  const r = msg.status.right;
  const lHold = holdCode(l.hold);
  const lHand = handStatusCode(l.hand.status);
  const lArm = armStatusCode(l.arm.status);
  const rHold = holdCode(r.hold);
  const rHand = handStatusCode(r.hand.status);
  const rArm = armStatusCode(r.arm.status);
  const bytes = outBuffer(fn, out, ROBOT_STATE_BYTES);
  const dv = bindWrite(bytes);
  const o = bytes.byteOffset;
  const F = ROBOT_STATE_FLAG;
  const flags =
    (msg.estopLatched ? F.ESTOP_LATCHED : 0) |
    (msg.recording ? F.RECORDING : 0) |
    (msg.rosConnected ? F.ROS_CONNECTED : 0) |
    (msg.watchdogHold ? F.WATCHDOG_HOLD : 0) |
    ((msg.measuredValid ?? msg.measured !== null) ? F.MEASURED_VALID : 0) |
    (msg.leaseHeld ? F.LEASE_HELD : 0);
  const O = ROBOT_STATE_OFFSET;
  dv.setUint8(o, MESSAGE_KIND.ROBOT_STATE);
  dv.setUint8(o + 1, PROTOCOL_VERSION);
  dv.setUint8(o + O.mode, mode);
  dv.setUint8(o + O.flags, flags);
  dv.setUint32(o + O.seq, msg.seq, true);
  dv.setFloat64(o + O.serverTimeMs, msg.serverTimeMs, true);
  dv.setFloat64(o + O.sourceTMs, msg.sourceTMs, true);
  dv.setUint32(o + O.sourceSeq, msg.sourceSeq, true);
  dv.setUint8(o + O.sides, lHold);
  dv.setUint8(o + O.sides + 1, l.engaged ? 1 : 0);
  dv.setUint8(o + O.sides + 2, lHand);
  dv.setUint8(o + O.sides + 3, lArm);
  dv.setUint8(o + O.sides + 4, rHold);
  dv.setUint8(o + O.sides + 5, r.engaged ? 1 : 0);
  dv.setUint8(o + O.sides + 6, rHand);
  dv.setUint8(o + O.sides + 7, rArm);
  dv.setFloat32(o + O.retargetMs, msg.retargetMs, true);
  dv.setFloat32(o + O.serverLatencyMs, msg.serverLatencyMs, true);
  dv.setFloat32(o + O.chunkQueueDepth, msg.chunkQueueDepth, true);
  dv.setFloat32(o + O.chunkLatencyMs, msg.chunkLatencyMs, true);
  dv.setUint32(o + O.reserved, 0, true);
  writeF32(dv, o + O.commanded, msg.commanded, STATE_DIM, 0);
  writeF32(dv, o + O.action, msg.action, ACTION_DIM, 0);
  writeF32(dv, o + O.measured, msg.measured, STATE_DIM, Number.NaN);
  return bytes;
}

/**
 * Decode one ROBOT_STATE. Checks kind (`PROTO_BAD_KIND`), version (`PROTO_BAD_VERSION`), exact
 * size 856 (`FRAME_BAD_SIZE`), and that mode and side codes are in their tables and `engaged`
 * is 0 or 1 (`PROTO_BAD_MESSAGE`). Reserved flag bits and bytes are ignored. Numbers are not
 * checked (NaN is meaningful in several fields). Never throws; on failure `into` is untouched.
 * @param into reused storage from {@link createDecodedRobotState} (allocation-free).
 */
export function decodeRobotState(bytes: WireBytes, into?: DecodedRobotState): DecodedRobotState | WireFailure {
  const dv = bindRead(bytes);
  const bad = checkHeader(dv, MESSAGE_KIND.ROBOT_STATE, 'FRAME_BAD_SIZE', ROBOT_STATE_BYTES, true);
  if (bad !== null) return bad;
  const b = readBase;
  const O = ROBOT_STATE_OFFSET;
  const ref = `binary:${MESSAGE_KIND.ROBOT_STATE}`;
  const modeByte = dv.getUint8(b + O.mode);
  const mode = modeOfCode(modeByte);
  if (mode === undefined) return wireFailure('PROTO_BAD_MESSAGE', `protocol: ROBOT_STATE mode code ${modeByte} is unknown (0–3)`, ref);
  for (let s = 0; s < 2; s++) {
    const at = b + O.sides + 4 * s;
    const side = SIDES[s]!;
    const hold = dv.getUint8(at);
    const engaged = dv.getUint8(at + 1);
    const hand = dv.getUint8(at + 2);
    const arm = dv.getUint8(at + 3);
    let problem: string | null = null;
    if (holdOfCode(hold) === undefined) problem = `hold code ${hold} is unknown (0–4)`;
    else if (engaged > 1) problem = `engaged byte ${engaged} is not 0 or 1`;
    else if (handStatusOfCode(hand) === undefined) problem = `hand status code ${hand} is unknown (0–2)`;
    else if (armStatusOfCode(arm) === undefined) problem = `arm status code ${arm} is unknown (0–3)`;
    if (problem !== null) return wireFailure('PROTO_BAD_MESSAGE', `protocol: ROBOT_STATE ${side} ${problem}`, ref);
  }
  const out = into ?? createDecodedRobotState();
  const flags = dv.getUint8(b + O.flags);
  const F = ROBOT_STATE_FLAG;
  out.mode = mode;
  out.estopLatched = (flags & F.ESTOP_LATCHED) !== 0;
  out.recording = (flags & F.RECORDING) !== 0;
  out.rosConnected = (flags & F.ROS_CONNECTED) !== 0;
  out.watchdogHold = (flags & F.WATCHDOG_HOLD) !== 0;
  out.measuredValid = (flags & F.MEASURED_VALID) !== 0;
  out.leaseHeld = (flags & F.LEASE_HELD) !== 0;
  out.seq = dv.getUint32(b + O.seq, true);
  out.serverTimeMs = dv.getFloat64(b + O.serverTimeMs, true);
  out.sourceTMs = dv.getFloat64(b + O.sourceTMs, true);
  out.sourceSeq = dv.getUint32(b + O.sourceSeq, true);
  for (let s = 0; s < 2; s++) {
    const at = b + O.sides + 4 * s;
    const side = out.status[SIDES[s]!];
    side.hold = holdOfCode(dv.getUint8(at))!;
    side.engaged = dv.getUint8(at + 1) === 1;
    side.hand.status = handStatusOfCode(dv.getUint8(at + 2))!;
    side.arm.status = armStatusOfCode(dv.getUint8(at + 3))!;
  }
  out.retargetMs = dv.getFloat32(b + O.retargetMs, true);
  out.serverLatencyMs = dv.getFloat32(b + O.serverLatencyMs, true);
  out.chunkQueueDepth = dv.getFloat32(b + O.chunkQueueDepth, true);
  out.chunkLatencyMs = dv.getFloat32(b + O.chunkLatencyMs, true);
  readF32(dv, b + O.commanded, out.commanded, STATE_DIM);
  readF32(dv, b + O.action, out.action, ACTION_DIM);
  readF32(dv, b + O.measured, out.measured, STATE_DIM);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ACTION_CHUNK

/** One chunk to send. An `ActionChunk` from `@dexbridge/retarget` plus a `chunkId` satisfies it. */
export interface ActionChunkMessage {
  /** Sender's chunk number, u32 (echoed in `chunk` events). */
  readonly chunkId: number;
  /** Time row 0 is due, on the server's clock (see `serverTimeMs` in welcome/status/pong), ms. */
  readonly startTimeMs: number;
  /** Time between rows, ms, > 0. */
  readonly periodMs: number;
  /** Rows, 1..256. */
  readonly k: number;
  /** k × 88 numbers, row-major. */
  readonly data: ArrayLike<number>;
}

/** A decoded ACTION_CHUNK: an `ActionChunk` (feed it to `validateActionChunk`) with its id. */
export interface DecodedActionChunk {
  readonly ok: true;
  readonly chunkId: number;
  readonly startTimeMs: number;
  readonly periodMs: number;
  readonly k: number;
  /** k × 88 float32, row-major; the decoder's own copy. */
  readonly data: Float32Array;
}

/**
 * Encode one ACTION_CHUNK ({@link actionChunkBytes}(k) = 24 + 352·k bytes). Timing and values
 * are stored as given; the receiver validates them.
 * @param out reused when given (at least 24 + 352·k bytes; longer returns a view of the start).
 * @throws RangeError if `k` is not an integer in 1..256, `data` is not k × 88 numbers,
 *   `chunkId` is not a u32, or `out` is too small.
 */
export function encodeActionChunk(out: Uint8Array | undefined, msg: ActionChunkMessage): Uint8Array {
  const fn = 'encodeActionChunk';
  const { k } = msg;
  if (!Number.isInteger(k) || k < 1 || k > MAX_CHUNK_K) throw new RangeError(`protocol: ${fn} k must be an integer in 1..${MAX_CHUNK_K}, got ${k}`);
  checkU32(fn, 'chunkId', msg.chunkId);
  checkLength(fn, 'data', msg.data, k * ACTION_DIM);
  const bytes = outBuffer(fn, out, actionChunkBytes(k));
  const dv = bindWrite(bytes);
  const o = bytes.byteOffset;
  const O = ACTION_CHUNK_OFFSET;
  dv.setUint8(o, MESSAGE_KIND.ACTION_CHUNK);
  dv.setUint8(o + 1, PROTOCOL_VERSION);
  dv.setUint16(o + O.k, k, true);
  dv.setUint32(o + O.chunkId, msg.chunkId, true);
  dv.setFloat64(o + O.startTimeMs, msg.startTimeMs, true);
  dv.setFloat64(o + O.periodMs, msg.periodMs, true);
  writeF32(dv, o + O.data, msg.data, k * ACTION_DIM, 0);
  return bytes;
}

/**
 * Decode one ACTION_CHUNK. Checks kind (`PROTO_BAD_KIND`), version (`PROTO_BAD_VERSION`), k in
 * 1..256 and size exactly 24 + 352·k (`CHUNK_BAD_SHAPE`), `startTimeMs` finite and `periodMs`
 * finite and > 0 (`CHUNK_BAD_TIMING`). Action values are not checked here: run the action
 * schema's `validateChunk` on `data` and map its code with `wireCodeOfActionError`.
 * Allocates the chunk's data (chunks are queued, so each needs its own). Never throws.
 */
export function decodeActionChunk(bytes: WireBytes): DecodedActionChunk | WireFailure {
  const dv = bindRead(bytes);
  const bad = checkHeader(dv, MESSAGE_KIND.ACTION_CHUNK, 'CHUNK_BAD_SHAPE', ACTION_CHUNK_HEADER_BYTES, false);
  if (bad !== null) return bad;
  const b = readBase;
  const O = ACTION_CHUNK_OFFSET;
  const ref = `binary:${MESSAGE_KIND.ACTION_CHUNK}`;
  const k = dv.getUint16(b + O.k, true);
  const chunkId = dv.getUint32(b + O.chunkId, true);
  if (k < 1 || k > MAX_CHUNK_K) {
    return wireFailure('CHUNK_BAD_SHAPE', `protocol: ACTION_CHUNK ${chunkId} k = ${k} is not in 1..${MAX_CHUNK_K}`, ref, chunkId);
  }
  const size = actionChunkBytes(k);
  if (readLength !== size) {
    return wireFailure(
      'CHUNK_BAD_SHAPE',
      `protocol: ACTION_CHUNK ${chunkId} of k = ${k} rows needs ${size} bytes (24 + 352·k), got ${readLength}`,
      ref,
      chunkId,
    );
  }
  const startTimeMs = dv.getFloat64(b + O.startTimeMs, true);
  if (!Number.isFinite(startTimeMs)) {
    return wireFailure('CHUNK_BAD_TIMING', `protocol: ACTION_CHUNK ${chunkId} startTimeMs is not finite: ${startTimeMs}`, ref, chunkId);
  }
  const periodMs = dv.getFloat64(b + O.periodMs, true);
  if (!(Number.isFinite(periodMs) && periodMs > 0)) {
    return wireFailure('CHUNK_BAD_TIMING', `protocol: ACTION_CHUNK ${chunkId} periodMs = ${periodMs} must be finite and > 0`, ref, chunkId);
  }
  const data = new Float32Array(k * ACTION_DIM);
  readF32(dv, b + O.data, data, data.length);
  return { ok: true, chunkId, startTimeMs, periodMs, k, data };
}

// ---------------------------------------------------------------------------------------------
// HAND_TRACKING

/**
 * One side of a HAND_TRACKING, in the robot hand base frame (`<side>_hand_base`), m: the
 * operator's 25 joints mapped onto the robot hand (wrist at the origin, scaled by the operator's
 * hand scale) and the 5 fingertip targets the hand solver aimed at.
 */
export interface HandTrackingSide {
  /** 75 numbers: 25 joints (WebXR order) × xyz. */
  readonly joints: ArrayLike<number>;
  /** 15 numbers: thumb, index, middle, ring, little × xyz. */
  readonly tips: ArrayLike<number>;
}

/** One HAND_TRACKING to send. */
export interface HandTrackingMessage {
  /** `seq` of the operator frame (the `sourceSeq` of the ROBOT_STATE it follows), u32. */
  readonly sourceSeq: number;
  /** `tMs` of that frame (client clock), ms. */
  readonly sourceTMs: number;
  /** `null` when the side was not tracked or not used in that frame (sent as NaN, flag bit clear). */
  readonly left: HandTrackingSide | null;
  readonly right: HandTrackingSide | null;
}

/** One side's storage in a {@link DecodedHandTracking}. */
export interface DecodedHandTrackingSide {
  /** 75 float32: 25 joints × xyz, hand-base frame, m. */
  readonly joints: Float32Array;
  /** 15 float32: 5 fingertip targets × xyz, hand-base frame, m. */
  readonly tips: Float32Array;
}

/**
 * A decoded HAND_TRACKING. `left`/`right` are `null` when the side carries no data, else they
 * are `leftBuffer`/`rightBuffer` holding the message's values. Reused by
 * {@link decodeHandTracking}: copy to keep.
 */
export interface DecodedHandTracking {
  readonly ok: true;
  sourceSeq: number;
  sourceTMs: number;
  left: DecodedHandTrackingSide | null;
  right: DecodedHandTrackingSide | null;
  readonly leftBuffer: DecodedHandTrackingSide;
  readonly rightBuffer: DecodedHandTrackingSide;
}

const newTrackingSide = (): DecodedHandTrackingSide => ({
  joints: new Float32Array(HAND_TRACKING_JOINT_FLOATS).fill(Number.NaN),
  tips: new Float32Array(HAND_TRACKING_TIP_FLOATS).fill(Number.NaN),
});

/** Storage for {@link decodeHandTracking}; make one per connection. */
export function createDecodedHandTracking(): DecodedHandTracking {
  return { ok: true, sourceSeq: 0, sourceTMs: Number.NaN, left: null, right: null, leftBuffer: newTrackingSide(), rightBuffer: newTrackingSide() };
}

/**
 * Encode one HAND_TRACKING (exactly {@link HAND_TRACKING_BYTES} = 736 bytes). A `null` side is
 * written as NaN with its flag bit clear. Values are stored as float32 as given (no finiteness
 * check).
 * @param out reused when given (at least 736 bytes; exactly 736 returns `out` and allocates nothing).
 * @throws RangeError if `sourceSeq` is not a u32, a side's `joints` is not 75 or `tips` not 15
 *   numbers, or `out` is too small.
 */
export function encodeHandTracking(out: Uint8Array | undefined, msg: HandTrackingMessage): Uint8Array {
  const fn = 'encodeHandTracking';
  checkU32(fn, 'sourceSeq', msg.sourceSeq);
  for (let s = 0; s < 2; s++) {
    const side = s === 0 ? msg.left : msg.right;
    if (side === null) continue;
    checkLength(fn, `${SIDES[s]}.joints`, side.joints, HAND_TRACKING_JOINT_FLOATS);
    checkLength(fn, `${SIDES[s]}.tips`, side.tips, HAND_TRACKING_TIP_FLOATS);
  }
  const bytes = outBuffer(fn, out, HAND_TRACKING_BYTES);
  const dv = bindWrite(bytes);
  const o = bytes.byteOffset;
  const O = HAND_TRACKING_OFFSET;
  const flags = (msg.left === null ? 0 : HAND_TRACKING_FLAG.LEFT_VALID) | (msg.right === null ? 0 : HAND_TRACKING_FLAG.RIGHT_VALID);
  dv.setUint8(o, MESSAGE_KIND.HAND_TRACKING);
  dv.setUint8(o + 1, PROTOCOL_VERSION);
  dv.setUint8(o + O.flags, flags);
  dv.setUint8(o + O.reserved, 0);
  dv.setUint32(o + O.sourceSeq, msg.sourceSeq, true);
  dv.setFloat64(o + O.sourceTMs, msg.sourceTMs, true);
  for (let s = 0; s < 2; s++) {
    const side = s === 0 ? msg.left : msg.right;
    const at = o + (s === 0 ? O.left : O.right);
    writeF32(dv, at + O.sideJoints, side === null ? null : side.joints, HAND_TRACKING_JOINT_FLOATS, Number.NaN);
    writeF32(dv, at + O.sideTips, side === null ? null : side.tips, HAND_TRACKING_TIP_FLOATS, Number.NaN);
  }
  return bytes;
}

/** Index of the first non-finite float32 of a HAND_TRACKING side block, or −1. */
function firstNonFiniteTracking(dv: DataView, at: number): number {
  for (let i = 0; i < HAND_TRACKING_SIDE_FLOATS; i++) if (!Number.isFinite(dv.getFloat32(at + i * F32, true))) return i;
  return -1;
}

const XYZ = ['x', 'y', 'z'] as const;

/**
 * Decode one HAND_TRACKING. Checks kind (`PROTO_BAD_KIND`), version (`PROTO_BAD_VERSION`), exact
 * size 736 (`FRAME_BAD_SIZE`), and that `sourceTMs` and every number of each valid side are
 * finite (`FRAME_NOT_FINITE`, naming side, joint or fingertip, and axis). Reserved flag bits and
 * the reserved byte are ignored; the numbers of a side without data are read as they are (NaN).
 * Never throws; on failure `into` is left untouched.
 * @param into reused storage from {@link createDecodedHandTracking} (allocation-free); a new one
 *   otherwise.
 */
export function decodeHandTracking(bytes: WireBytes, into?: DecodedHandTracking): DecodedHandTracking | WireFailure {
  const dv = bindRead(bytes);
  const bad = checkHeader(dv, MESSAGE_KIND.HAND_TRACKING, 'FRAME_BAD_SIZE', HAND_TRACKING_BYTES, true);
  if (bad !== null) return bad;
  const b = readBase;
  const O = HAND_TRACKING_OFFSET;
  const ref = `binary:${MESSAGE_KIND.HAND_TRACKING}`;
  const flags = dv.getUint8(b + O.flags);
  const sourceSeq = dv.getUint32(b + O.sourceSeq, true);
  const sourceTMs = dv.getFloat64(b + O.sourceTMs, true);
  if (!Number.isFinite(sourceTMs)) {
    return wireFailure('FRAME_NOT_FINITE', `protocol: HAND_TRACKING sourceSeq ${sourceSeq} sourceTMs is not finite: ${sourceTMs}`, ref);
  }
  const leftValid = (flags & HAND_TRACKING_FLAG.LEFT_VALID) !== 0;
  const rightValid = (flags & HAND_TRACKING_FLAG.RIGHT_VALID) !== 0;
  for (let s = 0; s < 2; s++) {
    if (!(s === 0 ? leftValid : rightValid)) continue;
    const at = b + (s === 0 ? O.left : O.right);
    const i = firstNonFiniteTracking(dv, at);
    if (i >= 0) {
      const v = dv.getFloat32(at + i * F32, true);
      const what =
        i < HAND_TRACKING_JOINT_FLOATS
          ? `joint ${Math.floor(i / 3)} (${XR_JOINT_NAMES[Math.floor(i / 3)]})`
          : `fingertip target ${FINGERS[Math.floor((i - HAND_TRACKING_JOINT_FLOATS) / 3)]}`;
      return wireFailure('FRAME_NOT_FINITE', `protocol: HAND_TRACKING sourceSeq ${sourceSeq} ${SIDES[s]} ${what} ${XYZ[i % 3]} is not finite: ${v}`, ref);
    }
  }
  const out = into ?? createDecodedHandTracking();
  out.sourceSeq = sourceSeq;
  out.sourceTMs = sourceTMs;
  for (let s = 0; s < 2; s++) {
    const buf = s === 0 ? out.leftBuffer : out.rightBuffer;
    const at = b + (s === 0 ? O.left : O.right);
    readF32(dv, at + O.sideJoints, buf.joints, HAND_TRACKING_JOINT_FLOATS);
    readF32(dv, at + O.sideTips, buf.tips, HAND_TRACKING_TIP_FLOATS);
  }
  out.left = leftValid ? out.leftBuffer : null;
  out.right = rightValid ? out.rightBuffer : null;
  return out;
}
