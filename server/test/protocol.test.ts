import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ACTION_DIM,
  ACTION_ERROR_CODES,
  ACTION_NAMES,
  createActionSchema,
  createChunk,
  createRig,
  type HandSolveStatus,
  type IkStatus,
  parseHandFramesJsonl,
  Retargeter,
  type SideHold,
  type SideStatus,
  STATE_DIM,
  STATE_JOINT_NAMES,
  validateActionChunk,
  XR_HAND_LENGTH,
} from '@dexbridge/retarget';
import fc from 'fast-check';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { platformFreeProgram, platformTypingsIn } from '../../test/support/platformFree.js';
import {
  ACTION_CHUNK_OFFSET,
  ARM_STATUS_CODES,
  actionChunkBytes,
  armStatusCode,
  armStatusOfCode,
  binaryRef,
  CLIENT_MESSAGE_TYPES,
  CONTROL_MODES,
  type ClientMessage,
  checkHandFrameOrder,
  clientMessage,
  createDecodedHandFrame,
  createDecodedHandTracking,
  createDecodedRobotState,
  DEFAULT_WIRE_LIMITS,
  type DecodedHandFrame,
  decodeActionChunk,
  decodeHandFrame,
  decodeHandTracking,
  decodeRobotState,
  describeWireError,
  EVENT_NAMES,
  encodeActionChunk,
  encodeControlMessage,
  encodeHandFrame,
  encodeHandTracking,
  encodeRobotState,
  errorMessage,
  HAND_FRAME_BYTES,
  HAND_FRAME_OFFSET,
  HAND_STATUS_CODES,
  HAND_TRACKING_BYTES,
  HAND_TRACKING_FLAG,
  HAND_TRACKING_OFFSET,
  type HandTrackingMessage,
  handStatusCode,
  handStatusOfCode,
  hasType,
  HOLD_CODES,
  holdCode,
  holdOfCode,
  isClientMessage,
  isServerMessage,
  isWireErrorCode,
  MESSAGE_KIND,
  modeCode,
  modeOfCode,
  PROTOCOL_VERSION,
  parseClientMessage,
  parseServerMessage,
  peekKind,
  pongMessage,
  ROBOT_STATE_BYTES,
  ROBOT_STATE_FLAG,
  ROBOT_STATE_OFFSET,
  type RobotStateMessage,
  type RobotStateSide,
  SERVER_MESSAGE_TYPES,
  type ServerMessage,
  serverMessage,
  validateClientMessage,
  WIRE_ERROR_CODES,
  type WireErrorCode,
  type WireFailure,
  toWireErrorCode,
  wireCodeOfActionError,
} from '../src/protocol/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers

function failure(r: { readonly ok: boolean }): WireFailure {
  expect(r.ok, `expected a failure, got ${JSON.stringify(r)}`).toBe(false);
  return r as WireFailure;
}

function success<T extends { readonly ok: boolean }>(r: T | WireFailure): T {
  if (!r.ok) throw new Error(`expected success, got ${(r as WireFailure).code}: ${(r as WireFailure).message}`);
  return r as T;
}

const hex = (b: Uint8Array, n = b.length): string => Array.from(b.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ');

/** A hand of 200 float32-exact values, distinct per hand. */
function hand(seed: number): Float32Array {
  return Float32Array.from({ length: XR_HAND_LENGTH }, (_, i) => Math.fround(Math.sin(seed + i) * 0.5));
}

/** A HAND_FRAME written byte by byte from the documented layout, independent of the encoder. */
function rawHandFrame(o: { kind?: number; version?: number; flags?: number; reserved?: number; seq?: number; tMs?: number; left?: ArrayLike<number>; right?: ArrayLike<number> }): Uint8Array {
  const b = new Uint8Array(1616);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, o.kind ?? 1);
  dv.setUint8(1, o.version ?? 1);
  dv.setUint8(2, o.flags ?? 3);
  dv.setUint8(3, o.reserved ?? 0);
  dv.setUint32(4, o.seq ?? 1, true);
  dv.setFloat64(8, o.tMs ?? 0, true);
  const left = o.left ?? hand(1);
  const right = o.right ?? hand(2);
  for (let i = 0; i < 200; i++) {
    dv.setFloat32(16 + 4 * i, left[i]!, true);
    dv.setFloat32(816 + 4 * i, right[i]!, true);
  }
  return b;
}

/** Copy `bytes` into a larger buffer at `offset`, returning the view (as Node's ws pool does). */
function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const pool = new Uint8Array(bytes.length + offset + 29).fill(0xee);
  pool.set(bytes, offset);
  return pool.subarray(offset, offset + bytes.length);
}

const STATE_SIDE = (hold: SideHold, engaged: boolean, hand: HandSolveStatus | 'held', arm: IkStatus | 'held' | 'not_engaged'): RobotStateSide => ({
  hold,
  engaged,
  hand: { status: hand },
  arm: { status: arm },
});

function stateMessage(over: Partial<RobotStateMessage> = {}): RobotStateMessage {
  return {
    seq: 41,
    serverTimeMs: 123456.789,
    mode: 'teleop',
    estopLatched: false,
    recording: true,
    rosConnected: false,
    watchdogHold: true,
    leaseHeld: true,
    sourceTMs: 20449.9,
    sourceSeq: 17,
    status: { left: STATE_SIDE('none', true, 'converged', 'max_iterations'), right: STATE_SIDE('implausible_bones', false, 'held', 'not_engaged') },
    retargetMs: 0.75,
    serverLatencyMs: 1.25,
    chunkQueueDepth: 2,
    chunkLatencyMs: Number.NaN,
    commanded: Float32Array.from({ length: STATE_DIM }, (_, i) => Math.fround(i * 0.01 - 0.2)),
    action: Float32Array.from({ length: ACTION_DIM }, (_, i) => Math.fround(Math.cos(i) * 0.3)),
    measured: null,
    ...over,
  };
}

/** One HAND_TRACKING side of float32-exact values: 75 joint and 15 tip numbers. */
function trackingSide(seed: number): { joints: Float32Array; tips: Float32Array } {
  return {
    joints: Float32Array.from({ length: 75 }, (_, i) => Math.fround(Math.sin(seed + i) * 0.1)),
    tips: Float32Array.from({ length: 15 }, (_, i) => Math.fround(Math.cos(seed + i) * 0.1)),
  };
}

/** A HAND_TRACKING written byte by byte from the documented layout, independent of the encoder. */
function rawHandTracking(o: {
  kind?: number; version?: number; flags?: number; reserved?: number; sourceSeq?: number; sourceTMs?: number;
  left?: { joints: ArrayLike<number>; tips: ArrayLike<number> }; right?: { joints: ArrayLike<number>; tips: ArrayLike<number> };
}): Uint8Array {
  const b = new Uint8Array(736);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, o.kind ?? 4);
  dv.setUint8(1, o.version ?? 1);
  dv.setUint8(2, o.flags ?? 3);
  dv.setUint8(3, o.reserved ?? 0);
  dv.setUint32(4, o.sourceSeq ?? 1, true);
  dv.setFloat64(8, o.sourceTMs ?? 0, true);
  for (const [at, side] of [[16, o.left ?? trackingSide(1)], [376, o.right ?? trackingSide(2)]] as const) {
    for (let i = 0; i < 75; i++) dv.setFloat32(at + 4 * i, side.joints[i]!, true);
    for (let i = 0; i < 15; i++) dv.setFloat32(at + 300 + 4 * i, side.tips[i]!, true);
  }
  return b;
}

const TRACKING_CODES: ReadonlySet<WireErrorCode> = new Set(['FRAME_BAD_SIZE', 'PROTO_BAD_KIND', 'PROTO_BAD_VERSION', 'FRAME_NOT_FINITE']);
const HAND_CODES: ReadonlySet<WireErrorCode> = new Set(['FRAME_BAD_SIZE', 'PROTO_BAD_KIND', 'PROTO_BAD_VERSION', 'PROTO_BAD_MESSAGE', 'FRAME_NOT_FINITE']);
const STATE_CODES: ReadonlySet<WireErrorCode> = new Set(['FRAME_BAD_SIZE', 'PROTO_BAD_KIND', 'PROTO_BAD_VERSION', 'PROTO_BAD_MESSAGE']);
const CHUNK_CODES: ReadonlySet<WireErrorCode> = new Set(['CHUNK_BAD_SHAPE', 'PROTO_BAD_KIND', 'PROTO_BAD_VERSION', 'CHUNK_BAD_TIMING']);
const PARSE_CODES: ReadonlySet<WireErrorCode> = new Set(['PROTO_BAD_JSON', 'PROTO_BAD_MESSAGE', 'PROTO_UNKNOWN_TYPE', 'PROTO_BAD_VERSION']);

/** Decoded or a known code from `allowed`, with a `protocol:` message. */
function expectKnown(r: { readonly ok: boolean }, allowed: ReadonlySet<WireErrorCode>): void {
  if (r.ok) return;
  const f = r as WireFailure;
  expect(isWireErrorCode(f.code)).toBe(true);
  expect(allowed.has(f.code), `unexpected code ${f.code}`).toBe(true);
  expect(f.message.startsWith('protocol: ')).toBe(true);
}

// ---------------------------------------------------------------------------------------------

describe('layouts', () => {
  it('has the documented sizes and offsets', () => {
    expect(PROTOCOL_VERSION).toBe(1);
    expect(MESSAGE_KIND).toEqual({ HAND_FRAME: 1, ROBOT_STATE: 2, ACTION_CHUNK: 3, HAND_TRACKING: 4, CAMERA_FRAME: 5 });
    expect(HAND_TRACKING_BYTES).toBe(736);
    expect(HAND_TRACKING_OFFSET).toMatchObject({ flags: 2, reserved: 3, sourceSeq: 4, sourceTMs: 8, left: 16, right: 376, sideJoints: 0, sideTips: 300 });
    expect(HAND_TRACKING_FLAG).toEqual({ LEFT_VALID: 1, RIGHT_VALID: 2 });
    expect(HAND_FRAME_BYTES).toBe(1616);
    expect(HAND_FRAME_OFFSET).toMatchObject({ flags: 2, seq: 4, tMs: 8, left: 16, right: 816 });
    expect(ROBOT_STATE_BYTES).toBe(856);
    expect(ROBOT_STATE_OFFSET).toMatchObject({ sourceTMs: 16, sourceSeq: 24, sides: 28, retargetMs: 36, chunkLatencyMs: 48, reserved: 52, commanded: 56, action: 280, measured: 632 });
    expect(ACTION_CHUNK_OFFSET).toMatchObject({ k: 2, chunkId: 4, startTimeMs: 8, periodMs: 16, data: 24 });
    expect(actionChunkBytes(1)).toBe(376);
    expect(actionChunkBytes(256)).toBe(24 + 352 * 256);
  });
});

describe('HAND_FRAME', () => {
  it('decodes a frame written byte by byte from the documented layout', () => {
    const left = hand(3);
    const right = hand(4);
    const r = success(decodeHandFrame(rawHandFrame({ seq: 0xfffffffe, tMs: 20449.9, flags: 3, left, right })));
    expect(r.seq).toBe(0xfffffffe);
    expect(r.tMs).toBe(20449.9);
    expect(r.left).toEqual(left);
    expect(r.right).toEqual(right);
  });

  it('encodes the documented header bytes (the worked example of docs/protocol.md)', () => {
    const b = encodeHandFrame(undefined, { seq: 7, tMs: 1234.5, left: hand(1), right: null });
    expect(b.length).toBe(1616);
    expect(hex(b, 16)).toBe('01 01 01 00 07 00 00 00 00 00 00 00 00 4a 93 40');
    expect(b.subarray(816).every((x) => x === 0)).toBe(true);
  });

  it('round-trips both, one and no tracked hands', () => {
    const cases = [
      { seq: 1, tMs: 0.5, left: hand(1), right: hand(2) },
      { seq: 2, tMs: 11.25, left: null, right: hand(5) },
      { seq: 3, tMs: 22, left: hand(6), right: null },
      { seq: 4, tMs: 33, left: null, right: null },
    ];
    for (const msg of cases) {
      const r = success(decodeHandFrame(encodeHandFrame(undefined, msg)));
      expect({ seq: r.seq, tMs: r.tMs, left: r.left, right: r.right }).toEqual(msg);
    }
  });

  it('reuses out and into: same objects back, Float64Array storage feeds the Retargeter', () => {
    const out = new Uint8Array(HAND_FRAME_BYTES);
    const into = createDecodedHandFrame(Float64Array);
    const a = encodeHandFrame(out, { seq: 1, tMs: 1, left: hand(1), right: null });
    expect(a).toBe(out);
    const r = success(decodeHandFrame(a, into));
    expect(r).toBe(into);
    expect(r.left).toBe(into.leftBuffer);
    expect(r.left).toBeInstanceOf(Float64Array);
    expect(r.right).toBeNull();
    const b = encodeHandFrame(out, { seq: 2, tMs: 2, left: null, right: hand(2) });
    expect(b).toBe(out);
    const r2 = success(decodeHandFrame(b, into));
    expect(r2.left).toBeNull();
    expect(r2.right).toBe(into.rightBuffer);
    expect(Array.from(r2.right!)).toEqual(Array.from(hand(2)));
  });

  it('decodes a Uint8Array view at a non-zero, unaligned byteOffset (pooled ws Buffers)', () => {
    const msg = { seq: 9, tMs: 99.5, left: hand(7), right: hand(8) };
    const bytes = encodeHandFrame(undefined, msg);
    for (const offset of [1, 3, 8, 4093]) {
      const view = atOffset(bytes, offset);
      expect(view.byteOffset).toBe(offset);
      const r = success(decodeHandFrame(view));
      expect({ seq: r.seq, tMs: r.tMs, left: r.left, right: r.right }).toEqual(msg);
    }
    const pool = new ArrayBuffer(8192);
    const buf = Buffer.from(pool, 13, HAND_FRAME_BYTES);
    buf.set(bytes);
    expect(success(decodeHandFrame(buf)).seq).toBe(9);
    expect(success(decodeHandFrame(new DataView(pool, 13, HAND_FRAME_BYTES))).seq).toBe(9);
  });

  it('encodes into a view at a non-zero byteOffset without touching its neighbours', () => {
    const big = new Uint8Array(HAND_FRAME_BYTES + 10).fill(0xaa);
    const out = big.subarray(5, 5 + HAND_FRAME_BYTES);
    encodeHandFrame(out, { seq: 3, tMs: 4, left: hand(1), right: hand(2) });
    expect(Array.from(big.subarray(0, 5))).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    expect(Array.from(big.subarray(5 + HAND_FRAME_BYTES))).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    expect(success(decodeHandFrame(out)).seq).toBe(3);
  });

  it('accepts an ArrayBuffer', () => {
    const bytes = encodeHandFrame(undefined, { seq: 5, tMs: 6, left: null, right: hand(1) });
    expect(success(decodeHandFrame(bytes.buffer as ArrayBuffer)).seq).toBe(5);
  });

  it('FRAME_BAD_SIZE: empty, one byte short, one byte long, header only', () => {
    const good = encodeHandFrame(undefined, { seq: 1, tMs: 1, left: null, right: null });
    expect(failure(decodeHandFrame(new Uint8Array(0))).code).toBe('FRAME_BAD_SIZE');
    expect(failure(decodeHandFrame(new Uint8Array([1]))).code).toBe('FRAME_BAD_SIZE');
    const short = failure(decodeHandFrame(good.subarray(0, 1615)));
    expect(short).toMatchObject({ code: 'FRAME_BAD_SIZE', ref: 'binary:1' });
    expect(short.message).toBe('protocol: HAND_FRAME of 1615 bytes, expected 1616');
    const long = new Uint8Array(1617);
    long.set(good);
    expect(failure(decodeHandFrame(long)).code).toBe('FRAME_BAD_SIZE');
    expect(failure(decodeHandFrame(good.subarray(0, 16))).code).toBe('FRAME_BAD_SIZE');
  });

  it('PROTO_BAD_KIND for another known kind and an unknown kind', () => {
    const f = failure(decodeHandFrame(rawHandFrame({ kind: 2 })));
    expect(f).toMatchObject({ code: 'PROTO_BAD_KIND', ref: 'binary:2' });
    expect(f.message).toContain('kind 2 (ROBOT_STATE)');
    const g = failure(decodeHandFrame(new Uint8Array([200, 1])));
    expect(g).toMatchObject({ code: 'PROTO_BAD_KIND', ref: 'binary:200' });
    expect(g.message).toContain('unknown kind 200');
  });

  it('PROTO_BAD_VERSION names the version', () => {
    const f = failure(decodeHandFrame(rawHandFrame({ version: 2 })));
    expect(f.code).toBe('PROTO_BAD_VERSION');
    expect(f.message).toBe('protocol: HAND_FRAME version 2, this side speaks version 1');
  });

  it('PROTO_BAD_MESSAGE for reserved flag bits or a non-zero reserved byte', () => {
    const f = failure(decodeHandFrame(rawHandFrame({ flags: 0x07 })));
    expect(f.code).toBe('PROTO_BAD_MESSAGE');
    expect(f.message).toContain('flags 0x07');
    expect(failure(decodeHandFrame(rawHandFrame({ flags: 0x80 }))).code).toBe('PROTO_BAD_MESSAGE');
    const g = failure(decodeHandFrame(rawHandFrame({ reserved: 1 })));
    expect(g.code).toBe('PROTO_BAD_MESSAGE');
    expect(g.message).toContain('reserved byte 3 is 0x01');
  });

  it('FRAME_NOT_FINITE for tMs NaN or ±Infinity, with the seq', () => {
    for (const tMs of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const f = failure(decodeHandFrame(rawHandFrame({ seq: 12, tMs })));
      expect(f).toMatchObject({ code: 'FRAME_NOT_FINITE', seq: 12, ref: 'binary:1' });
      expect(f.message).toBe(`protocol: HAND_FRAME seq 12 tMs is not finite: ${tMs}`);
    }
  });

  it('FRAME_NOT_FINITE names hand, joint, component and value in a tracked hand', () => {
    const left = hand(1);
    left[3 * 8 + 3] = Number.NaN;
    const f = failure(decodeHandFrame(rawHandFrame({ seq: 5, left })));
    expect(f.code).toBe('FRAME_NOT_FINITE');
    expect(f.message).toBe('protocol: HAND_FRAME seq 5 left joint 3 (thumb-phalanx-distal) qx is not finite: NaN');
    const right = hand(2);
    right[24 * 8 + 7] = Number.NEGATIVE_INFINITY;
    const g = failure(decodeHandFrame(rawHandFrame({ seq: 6, right })));
    expect(g.message).toBe('protocol: HAND_FRAME seq 6 right joint 24 (pinky-finger-tip) radius is not finite: -Infinity');
  });

  it('ignores the numbers of an untracked hand, even NaN', () => {
    const left = new Float32Array(200).fill(Number.NaN);
    const r = success(decodeHandFrame(rawHandFrame({ flags: 2, left })));
    expect(r.left).toBeNull();
    expect(r.right).not.toBeNull();
  });

  it('leaves into untouched on failure', () => {
    const into = createDecodedHandFrame();
    success(decodeHandFrame(encodeHandFrame(undefined, { seq: 1, tMs: 10, left: hand(1), right: hand(2) }), into));
    const before = { seq: into.seq, tMs: into.tMs, left: Array.from(into.leftBuffer), right: Array.from(into.rightBuffer) };
    const right = hand(9);
    right[100] = Number.NaN;
    failure(decodeHandFrame(rawHandFrame({ seq: 2, tMs: 20, left: hand(5), right }), into));
    expect({ seq: into.seq, tMs: into.tMs, left: Array.from(into.leftBuffer), right: Array.from(into.rightBuffer) }).toEqual(before);
  });

  it('encode throws RangeError for what the layout cannot hold', () => {
    const ok = { seq: 1, tMs: 1, left: null, right: null };
    for (const seq of [-1, 2 ** 32, 1.5, Number.NaN]) expect(() => encodeHandFrame(undefined, { ...ok, seq })).toThrow(RangeError);
    expect(() => encodeHandFrame(undefined, { ...ok, left: new Float32Array(199) })).toThrow(/left must have 200 numbers, got 199/);
    expect(() => encodeHandFrame(new Uint8Array(1615), ok)).toThrow(/out buffer of 1616 bytes, got 1615/);
  });

  it('checkHandFrameOrder: seq and tMs strictly increasing', () => {
    expect(checkHandFrameOrder(null, { seq: 0, tMs: 5 })).toBeNull();
    expect(checkHandFrameOrder({ seq: 1, tMs: 5 }, { seq: 2, tMs: 5.001 })).toBeNull();
    expect(checkHandFrameOrder({ seq: 1, tMs: 5 }, { seq: 2, tMs: 5 })?.code).toBe('FRAME_TIME_BACKWARDS');
    const dup = checkHandFrameOrder({ seq: 2, tMs: 5 }, { seq: 2, tMs: 6 });
    expect(dup).toMatchObject({ ok: false, code: 'FRAME_OUT_OF_ORDER', seq: 2 });
    expect(dup?.message).toBe("protocol: HAND_FRAME seq 2 is not after the previous frame's seq 2");
    expect(checkHandFrameOrder({ seq: 9, tMs: 5 }, { seq: 3, tMs: 6 })?.code).toBe('FRAME_OUT_OF_ORDER');
    const back = checkHandFrameOrder({ seq: 2, tMs: 5 }, { seq: 3, tMs: 4.5 });
    expect(back).toMatchObject({ code: 'FRAME_TIME_BACKWARDS', seq: 3 });
    expect(back?.message).toBe("protocol: HAND_FRAME seq 3 tMs 4.5 is not after the previous frame's tMs 5");
  });
});

describe('ROBOT_STATE', () => {
  it('decodes a state written byte by byte from the documented layout', () => {
    const b = new Uint8Array(856);
    const dv = new DataView(b.buffer);
    b.set([2, 1, 2, 0b10_0101]);
    dv.setUint32(4, 77, true);
    dv.setFloat64(8, 5000.25, true);
    dv.setFloat64(16, Number.NaN, true);
    dv.setUint32(24, 0, true);
    b.set([1, 0, 0, 1, 4, 1, 2, 3], 28);
    dv.setFloat32(36, 0.5, true);
    dv.setFloat32(40, 1.5, true);
    dv.setFloat32(44, 3, true);
    dv.setFloat32(48, 12.5, true);
    for (let i = 0; i < 56; i++) dv.setFloat32(56 + 4 * i, i, true);
    for (let i = 0; i < 88; i++) dv.setFloat32(280 + 4 * i, -i, true);
    for (let i = 0; i < 56; i++) dv.setFloat32(632 + 4 * i, Number.NaN, true);
    const s = success(decodeRobotState(b));
    expect(s).toMatchObject({
      seq: 77, serverTimeMs: 5000.25, sourceSeq: 0, mode: 'policy',
      estopLatched: true, recording: false, rosConnected: true, watchdogHold: false, measuredValid: false, leaseHeld: true,
      retargetMs: 0.5, serverLatencyMs: 1.5, chunkQueueDepth: 3, chunkLatencyMs: 12.5,
      status: {
        left: { hold: 'missing', engaged: false, hand: { status: 'held' }, arm: { status: 'held' } },
        right: { hold: 'implausible_size', engaged: true, hand: { status: 'max_iterations' }, arm: { status: 'max_iterations' } },
      },
    });
    expect(s.sourceTMs).toBeNaN();
    expect(s.commanded[55]).toBe(55);
    expect(s.action[87]).toBe(-87);
    expect(s.measured.every(Number.isNaN)).toBe(true);
  });

  it('round-trips with measured state absent (NaN) and re-encodes byte for byte', () => {
    const msg = stateMessage();
    const bytes = encodeRobotState(undefined, msg);
    expect(bytes.length).toBe(856);
    expect(hex(bytes, 4)).toBe('02 01 01 2a');
    const s = success(decodeRobotState(bytes));
    expect(s).toMatchObject({
      seq: 41, serverTimeMs: 123456.789, mode: 'teleop', estopLatched: false, recording: true, rosConnected: false,
      watchdogHold: true, leaseHeld: true, measuredValid: false, sourceTMs: 20449.9, sourceSeq: 17,
      retargetMs: 0.75, serverLatencyMs: 1.25, chunkQueueDepth: 2,
      status: { left: msg.status.left, right: msg.status.right },
    });
    expect(s.chunkLatencyMs).toBeNaN();
    expect(s.commanded).toEqual(msg.commanded);
    expect(s.action).toEqual(msg.action);
    expect(s.measured).toHaveLength(56);
    expect(s.measured.every(Number.isNaN)).toBe(true);
    expect(encodeRobotState(undefined, s)).toEqual(bytes);
  });

  it('round-trips measured state with some joints NaN, every mode and every flag', () => {
    const measured = Float32Array.from({ length: STATE_DIM }, (_, i) => (i % 5 === 0 ? Number.NaN : Math.fround(i * 0.02)));
    for (const mode of CONTROL_MODES) {
      const msg = stateMessage({ mode, measured, estopLatched: true, rosConnected: true, recording: false, watchdogHold: false, leaseHeld: false });
      const s = success(decodeRobotState(encodeRobotState(undefined, msg)));
      expect(s.mode).toBe(mode);
      expect(s).toMatchObject({ estopLatched: true, rosConnected: true, recording: false, watchdogHold: false, leaseHeld: false, measuredValid: true });
      expect(Array.from(s.measured)).toEqual(Array.from(measured));
    }
    const flags = encodeRobotState(undefined, stateMessage({ measured, measuredValid: false }))[3]!;
    expect(flags & ROBOT_STATE_FLAG.MEASURED_VALID).toBe(0);
  });

  it('encodes the Retargeter hold "ok" as none', () => {
    const s = success(decodeRobotState(encodeRobotState(undefined, stateMessage({ status: { left: STATE_SIDE('ok', true, 'converged', 'converged'), right: STATE_SIDE('missing', false, 'held', 'held') } }))));
    expect(s.status.left.hold).toBe('none');
    expect(s.status.right.hold).toBe('missing');
  });

  it('reuses out and into, and decodes at a non-zero byteOffset', () => {
    const out = new Uint8Array(ROBOT_STATE_BYTES);
    const into = createDecodedRobotState();
    expect(encodeRobotState(out, stateMessage())).toBe(out);
    const s = success(decodeRobotState(atOffset(out, 5), into));
    expect(s).toBe(into);
    expect(s.seq).toBe(41);
    encodeRobotState(out, stateMessage({ seq: 42, mode: 'replay' }));
    const t = success(decodeRobotState(atOffset(out, 3), into));
    expect(t).toBe(into);
    expect(t).toMatchObject({ seq: 42, mode: 'replay' });
  });

  it('FRAME_BAD_SIZE, PROTO_BAD_KIND and PROTO_BAD_VERSION', () => {
    const good = encodeRobotState(undefined, stateMessage());
    expect(failure(decodeRobotState(good.subarray(0, 855))).code).toBe('FRAME_BAD_SIZE');
    expect(failure(decodeRobotState(new Uint8Array(0))).code).toBe('FRAME_BAD_SIZE');
    expect(failure(decodeRobotState(encodeHandFrame(undefined, { seq: 1, tMs: 1, left: null, right: null }))).code).toBe('PROTO_BAD_KIND');
    const v = good.slice();
    v[1] = 0;
    expect(failure(decodeRobotState(v)).code).toBe('PROTO_BAD_VERSION');
  });

  it('PROTO_BAD_MESSAGE for codes outside their tables', () => {
    const cases: [number, number, string][] = [
      [2, 4, 'mode code 4 is unknown'],
      [28, 5, 'left hold code 5 is unknown'],
      [29, 2, 'left engaged byte 2 is not 0 or 1'],
      [34, 3, 'right hand status code 3 is unknown'],
      [35, 4, 'right arm status code 4 is unknown'],
    ];
    for (const [at, value, text] of cases) {
      const b = encodeRobotState(undefined, stateMessage());
      b[at] = value;
      const f = failure(decodeRobotState(b));
      expect(f.code).toBe('PROTO_BAD_MESSAGE');
      expect(f.message).toContain(text);
    }
  });

  it('ignores reserved flag bits and the reserved word', () => {
    const b = encodeRobotState(undefined, stateMessage());
    b[3] = b[3]! | 0xc0;
    new DataView(b.buffer).setUint32(52, 0xdeadbeef, true);
    expect(success(decodeRobotState(b)).seq).toBe(41);
  });

  it('encode throws RangeError for unknown names and wrong lengths, before writing', () => {
    const out = new Uint8Array(ROBOT_STATE_BYTES).fill(7);
    expect(() => encodeRobotState(out, stateMessage({ mode: 'fast' as never }))).toThrow(/unknown mode "fast"/);
    expect(() => encodeRobotState(out, stateMessage({ status: { left: STATE_SIDE('gone' as never, true, 'held', 'held'), right: STATE_SIDE('none', true, 'held', 'held') } }))).toThrow(/unknown hold "gone"/);
    expect(out.every((x) => x === 7)).toBe(true);
    expect(() => encodeRobotState(undefined, stateMessage({ commanded: new Float32Array(55) }))).toThrow(/commanded must have 56 numbers/);
    expect(() => encodeRobotState(undefined, stateMessage({ action: new Float32Array(87) }))).toThrow(/action must have 88 numbers/);
    expect(() => encodeRobotState(undefined, stateMessage({ measured: new Float32Array(3) }))).toThrow(/measured must have 56 numbers/);
    expect(() => encodeRobotState(undefined, stateMessage({ sourceSeq: -1 }))).toThrow(RangeError);
  });
});

describe('ACTION_CHUNK', () => {
  const chunkMsg = (k: number, over: Partial<{ chunkId: number; startTimeMs: number; periodMs: number }> = {}) => ({
    chunkId: 5,
    startTimeMs: 1000,
    periodMs: 20,
    k,
    data: Float32Array.from({ length: k * ACTION_DIM }, (_, i) => Math.fround(((i % 97) - 48) * 0.01)),
    ...over,
  });

  it('decodes a chunk written byte by byte from the documented layout', () => {
    const b = new Uint8Array(24 + 352 * 2);
    const dv = new DataView(b.buffer);
    b.set([3, 1]);
    dv.setUint16(2, 2, true);
    dv.setUint32(4, 0xabcdef01, true);
    dv.setFloat64(8, 98765.5, true);
    dv.setFloat64(16, 33.25, true);
    for (let i = 0; i < 176; i++) dv.setFloat32(24 + 4 * i, i / 4, true);
    const c = success(decodeActionChunk(b));
    expect(c).toMatchObject({ chunkId: 0xabcdef01, k: 2, startTimeMs: 98765.5, periodMs: 33.25 });
    expect(c.data).toHaveLength(176);
    expect(c.data[88]).toBe(22);
    expect(c.data[175]).toBe(175 / 4);
  });

  it('encodes the documented header bytes (the worked example of docs/protocol.md)', () => {
    const b = encodeActionChunk(undefined, chunkMsg(2));
    expect(b.length).toBe(24 + 2 * 352);
    expect(hex(b, 24)).toBe('03 01 02 00 05 00 00 00 00 00 00 00 00 40 8f 40 00 00 00 00 00 00 34 40');
  });

  it('round-trips k = 1 and k = 256, and the result is an ActionChunk the schema validates', () => {
    for (const k of [1, 256]) {
      const msg = chunkMsg(k, { chunkId: 2 ** 32 - 1 });
      const c = success(decodeActionChunk(encodeActionChunk(undefined, msg)));
      expect(c).toMatchObject({ chunkId: msg.chunkId, k, startTimeMs: 1000, periodMs: 20 });
      expect(c.data).toEqual(msg.data);
    }
    const schema = createActionSchema(() => ({ lower: -10, upper: 10 }));
    const zeros = createChunk(3, 500, 10);
    const c = success(decodeActionChunk(encodeActionChunk(undefined, { ...zeros, chunkId: 1 })));
    expect(validateActionChunk(schema, c)).toEqual({ ok: true });
    c.data[7] = 11;
    const v = validateActionChunk(schema, c);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(wireCodeOfActionError(v.code)).toBe('CHUNK_OUT_OF_LIMITS');
  });

  it('decodes at a non-zero byteOffset and gives each chunk its own data', () => {
    const bytes = encodeActionChunk(undefined, chunkMsg(3));
    const view = atOffset(bytes, 11);
    const a = success(decodeActionChunk(view));
    const b = success(decodeActionChunk(view));
    expect(a.data).toEqual(chunkMsg(3).data);
    expect(a.data).not.toBe(b.data);
    expect(a.data.buffer).not.toBe(view.buffer);
  });

  it('encodes into a longer out and returns a view of the exact size', () => {
    const out = new Uint8Array(actionChunkBytes(4));
    const b = encodeActionChunk(out, chunkMsg(2));
    expect(b.buffer).toBe(out.buffer);
    expect(b.length).toBe(actionChunkBytes(2));
    expect(success(decodeActionChunk(b)).k).toBe(2);
  });

  it('CHUNK_BAD_SHAPE: short header, k = 0, k = 257, size not 24 + 352·k', () => {
    const good = encodeActionChunk(undefined, chunkMsg(2));
    expect(failure(decodeActionChunk(good.subarray(0, 23))).code).toBe('CHUNK_BAD_SHAPE');
    expect(failure(decodeActionChunk(new Uint8Array(0))).code).toBe('CHUNK_BAD_SHAPE');
    for (const k of [0, 257, 65535]) {
      const b = good.slice();
      new DataView(b.buffer).setUint16(2, k, true);
      const f = failure(decodeActionChunk(b));
      expect(f.code).toBe('CHUNK_BAD_SHAPE');
      expect(f.message).toContain(`k = ${k} is not in 1..256`);
    }
    const short = failure(decodeActionChunk(good.subarray(0, good.length - 1)));
    expect(short.code).toBe('CHUNK_BAD_SHAPE');
    expect(short.message).toBe('protocol: ACTION_CHUNK 5 of k = 2 rows needs 728 bytes (24 + 352·k), got 727');
    const long = new Uint8Array(good.length + 352);
    long.set(good);
    expect(failure(decodeActionChunk(long)).code).toBe('CHUNK_BAD_SHAPE');
  });

  it('CHUNK_BAD_TIMING: startTimeMs not finite, periodMs not finite and > 0', () => {
    for (const startTimeMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const f = failure(decodeActionChunk(encodeActionChunk(undefined, chunkMsg(1, { startTimeMs }))));
      expect(f.code).toBe('CHUNK_BAD_TIMING');
      expect(f.message).toContain(`startTimeMs is not finite: ${startTimeMs}`);
    }
    for (const periodMs of [0, -20, Number.NaN, Number.POSITIVE_INFINITY]) {
      const f = failure(decodeActionChunk(encodeActionChunk(undefined, chunkMsg(1, { periodMs }))));
      expect(f.code).toBe('CHUNK_BAD_TIMING');
      expect(f.message).toContain(`periodMs = ${periodMs} must be finite and > 0`);
    }
  });

  it('PROTO_BAD_KIND and PROTO_BAD_VERSION', () => {
    const b = encodeActionChunk(undefined, chunkMsg(1));
    const k = b.slice();
    k[0] = 1;
    expect(failure(decodeActionChunk(k))).toMatchObject({ code: 'PROTO_BAD_KIND', ref: 'binary:1' });
    const v = b.slice();
    v[1] = 9;
    expect(failure(decodeActionChunk(v)).code).toBe('PROTO_BAD_VERSION');
  });

  it('leaves values to the action schema: NaN rows decode', () => {
    const msg = chunkMsg(1);
    msg.data[3] = Number.NaN;
    expect(success(decodeActionChunk(encodeActionChunk(undefined, msg))).data[3]).toBeNaN();
  });

  it('encode throws RangeError for k, data length and chunkId', () => {
    expect(() => encodeActionChunk(undefined, { ...chunkMsg(1), k: 0 })).toThrow(/k must be an integer in 1..256, got 0/);
    expect(() => encodeActionChunk(undefined, { ...chunkMsg(1), k: 2 })).toThrow(/data must have 176 numbers, got 88/);
    expect(() => encodeActionChunk(undefined, chunkMsg(1, { chunkId: -1 }))).toThrow(RangeError);
    expect(() => encodeActionChunk(new Uint8Array(100), chunkMsg(1))).toThrow(/out buffer of 376 bytes/);
  });
});

describe('HAND_TRACKING', () => {
  const msg = (over: Partial<HandTrackingMessage> = {}): HandTrackingMessage => ({
    sourceSeq: 17, sourceTMs: 20449.9, left: trackingSide(1), right: trackingSide(2), ...over,
  });
  const plain = (r: { sourceSeq: number; sourceTMs: number; left: unknown; right: unknown }) => ({ sourceSeq: r.sourceSeq, sourceTMs: r.sourceTMs, left: r.left, right: r.right });

  it('decodes a message written byte by byte from the documented layout', () => {
    const left = trackingSide(3), right = trackingSide(4);
    const r = success(decodeHandTracking(rawHandTracking({ sourceSeq: 0xfffffffe, sourceTMs: 1234.5, left, right })));
    expect(plain(r)).toEqual({ sourceSeq: 0xfffffffe, sourceTMs: 1234.5, left, right });
  });

  it('encodes the documented header, NaN for a side without data', () => {
    const b = encodeHandTracking(undefined, msg({ sourceSeq: 7, sourceTMs: 1234.5, right: null }));
    expect(b.length).toBe(736);
    expect(hex(b, 16)).toBe('04 01 01 00 07 00 00 00 00 00 00 00 00 4a 93 40');
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(dv.getFloat32(16 + 4 * 3, true)).toBe(trackingSide(1).joints[3]);
    expect(dv.getFloat32(16 + 300, true)).toBe(trackingSide(1).tips[0]);
    for (let i = 0; i < 90; i++) expect(dv.getFloat32(376 + 4 * i, true)).toBeNaN();
  });

  it('round-trips both, one and no sides', () => {
    for (const m of [msg(), msg({ left: null }), msg({ right: null, sourceSeq: 0 }), msg({ left: null, right: null, sourceTMs: -3.25 })]) {
      const r = success(decodeHandTracking(encodeHandTracking(undefined, m)));
      expect(plain(r)).toEqual(plain(m));
      if (m.left === null) expect(Array.from(r.leftBuffer.joints).every(Number.isNaN)).toBe(true);
    }
  });

  it('reuses out and into, and decodes at a non-zero byteOffset', () => {
    const out = new Uint8Array(HAND_TRACKING_BYTES);
    const into = createDecodedHandTracking();
    expect(encodeHandTracking(out, msg())).toBe(out);
    const r = success(decodeHandTracking(atOffset(out, 5), into));
    expect(r).toBe(into);
    expect(r.left).toBe(into.leftBuffer);
    expect(r.right).toBe(into.rightBuffer);
    encodeHandTracking(out, msg({ sourceSeq: 18, left: null }));
    const t = success(decodeHandTracking(atOffset(out, 3), into));
    expect(t).toBe(into);
    expect(t.left).toBeNull();
    expect(t.sourceSeq).toBe(18);
    expect(success(decodeHandTracking(out.buffer as ArrayBuffer)).sourceSeq).toBe(18);
  });

  it('FRAME_BAD_SIZE, PROTO_BAD_KIND and PROTO_BAD_VERSION', () => {
    const good = encodeHandTracking(undefined, msg());
    expect(failure(decodeHandTracking(new Uint8Array(0)))).toMatchObject({ code: 'FRAME_BAD_SIZE', ref: 'binary:empty' });
    const short = failure(decodeHandTracking(good.subarray(0, 735)));
    expect(short).toMatchObject({ code: 'FRAME_BAD_SIZE', ref: 'binary:4' });
    expect(short.message).toBe('protocol: HAND_TRACKING of 735 bytes, expected 736');
    const long = new Uint8Array(737);
    long.set(good);
    expect(failure(decodeHandTracking(long)).code).toBe('FRAME_BAD_SIZE');
    const k = failure(decodeHandTracking(encodeRobotState(undefined, stateMessage())));
    expect(k).toMatchObject({ code: 'PROTO_BAD_KIND', ref: 'binary:2' });
    expect(k.message).toBe('protocol: expected a HAND_TRACKING (kind 4), got kind 2 (ROBOT_STATE)');
    // The other decoders name kind 4.
    expect(failure(decodeHandFrame(good)).message).toContain('kind 4 (HAND_TRACKING)');
    expect(failure(decodeRobotState(good)).code).toBe('PROTO_BAD_KIND');
    const v = failure(decodeHandTracking(rawHandTracking({ version: 2 })));
    expect(v).toMatchObject({ code: 'PROTO_BAD_VERSION', ref: 'binary:4' });
    expect(v.message).toBe('protocol: HAND_TRACKING version 2, this side speaks version 1');
  });

  it('FRAME_NOT_FINITE for sourceTMs and for a number of a valid side, naming it', () => {
    for (const sourceTMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const f = failure(decodeHandTracking(rawHandTracking({ sourceSeq: 12, sourceTMs })));
      expect(f).toMatchObject({ code: 'FRAME_NOT_FINITE', ref: 'binary:4' });
      expect(f.message).toBe(`protocol: HAND_TRACKING sourceSeq 12 sourceTMs is not finite: ${sourceTMs}`);
    }
    const left = trackingSide(1);
    left.joints[3 * 3 + 1] = Number.NaN;
    expect(failure(decodeHandTracking(rawHandTracking({ sourceSeq: 5, left }))).message).toBe(
      'protocol: HAND_TRACKING sourceSeq 5 left joint 3 (thumb-phalanx-distal) y is not finite: NaN',
    );
    const right = trackingSide(2);
    right.tips[4 * 3 + 2] = Number.NEGATIVE_INFINITY;
    expect(failure(decodeHandTracking(rawHandTracking({ sourceSeq: 6, right }))).message).toBe(
      'protocol: HAND_TRACKING sourceSeq 6 right fingertip target little z is not finite: -Infinity',
    );
    // The numbers of a side without data are not checked (they are NaN).
    const r = success(decodeHandTracking(rawHandTracking({ flags: 1, right })));
    expect(r.right).toBeNull();
    expect(r.left).not.toBeNull();
  });

  it('ignores reserved flag bits and the reserved byte (server → client, like ROBOT_STATE)', () => {
    const r = success(decodeHandTracking(rawHandTracking({ flags: 0xfc | 2, reserved: 9 })));
    expect(r.left).toBeNull();
    expect(r.right).toEqual(trackingSide(2));
  });

  it('encoder RangeErrors for values the layout cannot hold', () => {
    expect(() => encodeHandTracking(undefined, msg({ sourceSeq: -1 }))).toThrow(/sourceSeq must be an integer/);
    expect(() => encodeHandTracking(undefined, msg({ sourceSeq: 2 ** 32 }))).toThrow(RangeError);
    expect(() => encodeHandTracking(undefined, msg({ left: { joints: new Float32Array(74), tips: new Float32Array(15) } }))).toThrow(/left.joints must have 75 numbers, got 74/);
    expect(() => encodeHandTracking(undefined, msg({ right: { joints: new Float32Array(75), tips: [1, 2] } }))).toThrow(/right.tips must have 15 numbers, got 2/);
    expect(() => encodeHandTracking(new Uint8Array(735), msg())).toThrow(/out buffer of 736 bytes/);
  });
});

describe('peekKind and binaryRef', () => {
  it('read byte 0 of any view; empty has no kind', () => {
    expect(peekKind(new Uint8Array(0))).toBeUndefined();
    expect(binaryRef(new Uint8Array(0))).toBe('binary:empty');
    expect(peekKind(atOffset(new Uint8Array([3, 1]), 9))).toBe(3);
    expect(binaryRef(new Uint8Array([77]).buffer)).toBe('binary:77');
  });
});

describe('real Quest frames through the wire and the Retargeter', () => {
  it('HAND_FRAME → Retargeter → ROBOT_STATE keeps every value (to float32) and status', () => {
    const text = readFileSync(fileURLToPath(new URL('../data/quest3-hands.jsonl', import.meta.url)), 'utf8');
    const frames = parseHandFramesJsonl(text).slice(0, 40);
    const retargeter = new Retargeter(createRig());
    const wire = new Uint8Array(HAND_FRAME_BYTES);
    const stateWire = new Uint8Array(ROBOT_STATE_BYTES);
    const frame: DecodedHandFrame<Float64Array> = createDecodedHandFrame(Float64Array);
    const state = createDecodedRobotState();
    let previous: { seq: number; tMs: number } | null = null;
    frames.forEach((f, i) => {
      encodeHandFrame(wire, { seq: i + 1, tMs: f.tMs, left: f.left, right: f.right });
      success(decodeHandFrame(wire, frame));
      expect(checkHandFrameOrder(previous, frame)).toBeNull();
      previous = { seq: frame.seq, tMs: frame.tMs };
      expect(frame.tMs).toBe(f.tMs);
      expect(frame.left === null).toBe(f.left === null);
      if (f.left !== null) expect(Array.from(frame.left!)).toEqual(Array.from(f.left, Math.fround));
      const out = retargeter.process(frame);
      encodeRobotState(stateWire, {
        seq: i, serverTimeMs: 1000 + i, mode: 'teleop', estopLatched: false, recording: false, rosConnected: false, watchdogHold: false,
        leaseHeld: true, sourceTMs: frame.tMs, sourceSeq: frame.seq, status: out.status, retargetMs: 1, serverLatencyMs: 2,
        chunkQueueDepth: 0, chunkLatencyMs: Number.NaN, commanded: out.q, action: out.action, measured: null,
      });
      success(decodeRobotState(stateWire, state));
      expect(state.sourceSeq).toBe(i + 1);
      expect(Array.from(state.commanded)).toEqual(Array.from(out.q, Math.fround));
      expect(state.action).toEqual(out.action);
      for (const side of ['left', 'right'] as const) {
        const s: SideStatus = out.status[side];
        expect(state.status[side]).toEqual({ hold: s.hold === 'ok' ? 'none' : s.hold, engaged: s.engaged, hand: { status: s.hand.status }, arm: { status: s.arm.status } });
      }
    });
    expect(state.status.left.engaged || state.status.right.engaged).toBe(true);
  });

  it('Retargeter.humanJointsInHand: the human hand on the robot hand base, its tips are the solver\'s targets (soft abduction off: it turns splayed fingers\' targets); through HAND_TRACKING', () => {
    const text = readFileSync(fileURLToPath(new URL('../data/quest3-hands.jsonl', import.meta.url)), 'utf8');
    const frames = parseHandFramesJsonl(text).slice(0, 40);
    const rig = createRig();
    const retargeter = new Retargeter(rig, { hand: { abductionKnee: 1 } });
    const joints = { left: new Float64Array(75), right: new Float64Array(75) };
    const wire = new Uint8Array(HAND_TRACKING_BYTES);
    const into = createDecodedHandTracking();
    let checked = 0;
    frames.forEach((f, i) => {
      const out = retargeter.process(f);
      const sides = { left: null as { joints: Float64Array; tips: Float64Array } | null, right: null as { joints: Float64Array; tips: Float64Array } | null };
      for (const side of ['left', 'right'] as const) {
        const ok = retargeter.humanJointsInHand(side, joints[side]);
        expect(ok).toBe(out.status[side].tracked);
        if (!ok) continue;
        const j = joints[side];
        const tips = retargeter.fingertipTargets(side).tips;
        expect(Math.hypot(j[0]!, j[1]!, j[2]!)).toBe(0); // the wrist at the origin
        // Tip joints (4, 9, 14, 19, 24) are the fingertip targets.
        [4, 9, 14, 19, 24].forEach((t, k) => {
          for (let a = 0; a < 3; a++) expect(j[t * 3 + a]).toBeCloseTo(tips[k * 3 + a]!, 12);
        });
        // The middle knuckle (joint 11) lands on the robot's own middle knuckle (the mapping aligns
        // the human hand on the robot's knuckles: docs/retarget.md).
        const knuckle = rig.sides[side].knucklesM;
        for (let a = 0; a < 3; a++) expect(j[11 * 3 + a]!).toBeCloseTo(knuckle[2 * 3 + a]!, 12);
        // Fingertips point along +z from the wrist, within a hand's reach.
        expect(j[14 * 3 + 2]!).toBeGreaterThan(0.05);
        expect(Math.hypot(j[14 * 3]!, j[14 * 3 + 1]!, j[14 * 3 + 2]!)).toBeLessThan(0.3);
        sides[side] = { joints: j, tips: Float64Array.from(tips) };
        checked++;
      }
      encodeHandTracking(wire, { sourceSeq: i + 1, sourceTMs: f.tMs, left: sides.left, right: sides.right });
      const r = success(decodeHandTracking(wire, into));
      expect(r.left === null).toBe(sides.left === null);
      if (sides.right !== null) expect(Array.from(r.right!.tips)).toEqual(Array.from(sides.right.tips, Math.fround));
    });
    expect(checked).toBeGreaterThan(40);
    expect(() => retargeter.humanJointsInHand('left', new Float32Array(74))).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Control messages

describe('parseClientMessage', () => {
  const valid: [string, ClientMessage][] = [
    ['{"type":"hello","protocol":1,"role":"operator","token":"t0k","name":"quest"}', { type: 'hello', protocol: 1, role: 'operator', token: 't0k', name: 'quest' }],
    ['{"type":"hello","protocol":1,"role":"viewer"}', { type: 'hello', protocol: 1, role: 'viewer' }],
    ['{"type":"hello","protocol":1,"role":"viewer","tracking":true}', { type: 'hello', protocol: 1, role: 'viewer', tracking: true }],
    ['{"type":"hello","protocol":1,"role":"policy","token":"p","tracking":false}', { type: 'hello', protocol: 1, role: 'policy', token: 'p', tracking: false }],
    ['{"type":"engage","side":"left"}', { type: 'engage', side: 'left' }],
    ['{"type":"engage"}', { type: 'engage' }],
    ['{"type":"disengage","side":"right"}', { type: 'disengage', side: 'right' }],
    ['{"type":"estop"}', { type: 'estop' }],
    ['{"type":"reset_estop"}', { type: 'reset_estop' }],
    ['{"type":"set_mode","mode":"policy"}', { type: 'set_mode', mode: 'policy' }],
    ['{"type":"lease_request","takeover":true}', { type: 'lease_request', takeover: true }],
    ['{"type":"lease_request"}', { type: 'lease_request' }],
    ['{"type":"lease_release"}', { type: 'lease_release' }],
    ['{"type":"record_start","task":"pick cup","operator":"ana"}', { type: 'record_start', task: 'pick cup', operator: 'ana' }],
    ['{"type":"record_stop","success":false}', { type: 'record_stop', success: false }],
    [
      '{"type":"set_recording_meta","file":"2026-01-01T10-00-00.mcap","task":"pour","success":true}',
      { type: 'set_recording_meta', file: '2026-01-01T10-00-00.mcap', task: 'pour', success: true },
    ],
    ['{"type":"calibrate","handScale":1.1,"translationScale":0.8}', { type: 'calibrate', handScale: 1.1, translationScale: 0.8 }],
    ['{"type":"calibrate","handScale":{"left":1.2}}', { type: 'calibrate', handScale: { left: 1.2 } }],
    ['{"type":"calibrate","digitScales":{"right":[1,1.1,1,0.9,1]}}', { type: 'calibrate', digitScales: { right: [1, 1.1, 1, 0.9, 1] } }],
    ['{"type":"calibrate_hands"}', { type: 'calibrate_hands' }],
    ['{"type":"calibrate_hands","seconds":2}', { type: 'calibrate_hands', seconds: 2 }],
    ['{"type":"ping","id":3,"clientTimeMs":123.5}', { type: 'ping', id: 3, clientTimeMs: 123.5 }],
    ['{"type":"camera_subscribe","cameras":["head","head","wrist_1"]}', { type: 'camera_subscribe', cameras: ['head', 'wrist_1'] }],
  ];

  it.each(valid)('accepts %s', (text, msg) => {
    expect(parseClientMessage(text)).toEqual({ ok: true, msg });
  });

  it('covers every client message type', () => {
    expect(new Set(valid.map(([, m]) => m.type))).toEqual(new Set(CLIENT_MESSAGE_TYPES));
  });

  it('ignores and drops unknown extra fields', () => {
    const r = parseClientMessage('{"type":"set_mode","mode":"idle","extra":{"a":1},"__proto__":{"polluted":true}}');
    expect(r).toEqual({ ok: true, msg: { type: 'set_mode', mode: 'idle' } });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('PROTO_BAD_JSON quotes the text', () => {
    for (const text of ['', '{', '{"type":"estop",}', "{'type':'estop'}", 'NaN', '{"type":"estop"} x']) {
      const f = failure(parseClientMessage(text));
      expect(f.code).toBe('PROTO_BAD_JSON');
      expect(f.message).toMatch(/^protocol: not valid JSON \(.*\): ".*"$/);
    }
  });

  it('PROTO_BAD_MESSAGE when the message is not an object with a string type', () => {
    const cases: [string, string][] = [
      ['[1,2]', 'got array [1,2]'],
      ['null', 'got null'],
      ['42', 'got number 42'],
      ['"estop"', 'got string "estop"'],
      ['{}', 'message.type must be a string, got nothing'],
      ['{"type":7}', 'message.type must be a string, got number 7'],
    ];
    for (const [text, expected] of cases) {
      const f = failure(parseClientMessage(text));
      expect(f.code).toBe('PROTO_BAD_MESSAGE');
      expect(f.message).toContain(expected);
    }
  });

  it('PROTO_UNKNOWN_TYPE, including names that live on Object.prototype', () => {
    for (const type of ['teleport', 'welcome', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const f = failure(parseClientMessage(JSON.stringify({ type })));
      expect(f).toMatchObject({ code: 'PROTO_UNKNOWN_TYPE', ref: type });
      expect(f.message).toContain(`unknown message type "${type}"`);
    }
  });

  it('PROTO_BAD_MESSAGE names the field and the value', () => {
    const cases: [unknown, string][] = [
      [{ type: 'hello', protocol: '1', role: 'operator' }, 'protocol: hello.protocol must be the number 1, got string "1"'],
      [{ type: 'hello', protocol: 1, role: 'admin' }, 'protocol: hello.role must be one of operator, viewer, policy, got string "admin"'],
      [{ type: 'hello', protocol: 1 }, 'protocol: hello.role must be one of operator, viewer, policy, got nothing'],
      [{ type: 'hello', protocol: 1, role: 'viewer', token: 42 }, 'protocol: hello.token must be a string, got number 42'],
      [{ type: 'hello', protocol: 1, role: 'viewer', name: 'x'.repeat(65) }, 'protocol: hello.name must be a string of at most 64 characters, got 65 characters'],
      [{ type: 'hello', protocol: 1, role: 'viewer', tracking: 'yes' }, 'protocol: hello.tracking must be true or false, got string "yes"'],
      [{ type: 'hello', protocol: 1, role: 'viewer', tracking: 1 }, 'protocol: hello.tracking must be true or false, got number 1'],
      [{ type: 'hello', protocol: 1, role: 'viewer', tracking: null }, 'protocol: hello.tracking must be true or false, got null'],
      [{ type: 'engage', side: 'both' }, 'protocol: engage.side must be one of left, right, got string "both"'],
      [{ type: 'disengage', side: null }, 'protocol: disengage.side must be one of left, right, got null'],
      [{ type: 'set_mode', mode: 'fast' }, 'protocol: set_mode.mode must be one of idle, teleop, policy, replay, got string "fast"'],
      [{ type: 'lease_request', takeover: 'yes' }, 'protocol: lease_request.takeover must be true or false, got string "yes"'],
      [{ type: 'record_start', task: ['a'] }, 'protocol: record_start.task must be a string, got array ["a"]'],
      [{ type: 'record_stop', success: 1 }, 'protocol: record_stop.success must be true or false, got number 1'],
      [{ type: 'set_recording_meta', task: 'x' }, 'protocol: set_recording_meta.file must be a string, got nothing'],
      [{ type: 'set_recording_meta', file: 'a.mcap', task: { t: 1 } }, 'protocol: set_recording_meta.task must be a string, got object {"t":1}'],
      [{ type: 'calibrate', handScale: -1 }, 'protocol: calibrate.handScale must be a finite number > 0, got number -1'],
      [{ type: 'calibrate', digitScales: { left: [1, 1, 1] } }, 'protocol: calibrate.digitScales.left must be an array of 5 finite numbers > 0, got array [1,1,1]'],
      [{ type: 'calibrate_hands', seconds: 'long' }, 'protocol: calibrate_hands.seconds must be a finite number > 0, got string "long"'],
      [{ type: 'calibrate', handScale: 'big' }, 'protocol: calibrate.handScale must be a finite number > 0 or {left?, right?}, got string "big"'],
      [{ type: 'calibrate', handScale: { right: 0 } }, 'protocol: calibrate.handScale.right must be a finite number > 0, got number 0'],
      [{ type: 'calibrate', translationScale: true }, 'protocol: calibrate.translationScale must be a finite number > 0, got boolean true'],
      [{ type: 'ping', clientTimeMs: 1 }, 'protocol: ping.id must be a finite number, got nothing'],
      [{ type: 'ping', id: 1, clientTimeMs: '1' }, 'protocol: ping.clientTimeMs must be a finite number, got string "1"'],
    ];
    for (const [value, message] of cases) {
      const f = failure(parseClientMessage(JSON.stringify(value)));
      expect(f.code).toBe('PROTO_BAD_MESSAGE');
      expect(f.message).toBe(message);
      expect(f.ref).toBe((value as { type: string }).type);
    }
  });

  it('rejects numbers JSON turns into Infinity', () => {
    const f = failure(parseClientMessage('{"type":"ping","id":1e999,"clientTimeMs":0}'));
    expect(f.message).toBe('protocol: ping.id must be a finite number, got number Infinity');
  });

  it('PROTO_BAD_VERSION for a hello of another protocol version', () => {
    const f = failure(parseClientMessage('{"type":"hello","protocol":2,"role":"viewer"}'));
    expect(f).toMatchObject({ code: 'PROTO_BAD_VERSION', ref: 'hello' });
    expect(f.message).toBe('protocol: hello.protocol 2 is not supported; this side speaks protocol 1');
  });

  it('clips long values and types in messages', () => {
    const f = failure(parseClientMessage(JSON.stringify({ type: 'y'.repeat(500) })));
    expect(f.message.length).toBeLessThan(400);
    expect(f.ref).toHaveLength(61);
  });

  it('validates already parsed values and guards types', () => {
    expect(validateClientMessage({ type: 'estop' })).toEqual({ ok: true, msg: { type: 'estop' } });
    expect(isClientMessage({ type: 'set_mode', mode: 'teleop' })).toBe(true);
    expect(isClientMessage({ type: 'set_mode' })).toBe(false);
    const cyclic: Record<string, unknown> = { type: 'set_mode' };
    cyclic['mode'] = cyclic;
    expect(failure(validateClientMessage(cyclic)).code).toBe('PROTO_BAD_MESSAGE');
    const r = success(parseClientMessage('{"type":"ping","id":1,"clientTimeMs":2}'));
    if (hasType(r.msg, 'ping')) expect(pongMessage(r.msg, 9)).toEqual({ type: 'pong', id: 1, clientTimeMs: 2, serverTimeMs: 9 });
    else expect.unreachable('ping narrowed');
    expect(clientMessage('lease_request', { takeover: true })).toEqual({ type: 'lease_request', takeover: true });
  });
});

describe('server messages', () => {
  const examples: ServerMessage[] = [
    serverMessage('welcome', {
      protocol: 1, sessionId: 's-1', role: 'viewer', serverTimeMs: 5, controlRateHz: 90,
      jointNames: [...STATE_JOINT_NAMES], actionNames: [...ACTION_NAMES], limits: DEFAULT_WIRE_LIMITS,
    }),
    serverMessage('error', { code: 'LEASE_HELD', message: 'session: the lease is held by s-2', ref: 'binary:1', seq: 7 }),
    errorMessage(failure(decodeHandFrame(new Uint8Array(3)))),
    serverMessage('event', { event: 'lease', serverTimeMs: 10, detail: { holder: 's-1', previous: null } }),
    serverMessage('status', {
      serverTimeMs: 11, mode: 'idle', estop: false, lease: { holder: null }, recording: { active: true, file: 'a.mcap', error: null },
      ros: { connected: false, url: null }, clients: { operators: 1, viewers: 2, policies: 0 }, chunks: { queueDepth: 0, latencyMs: null },
    }),
    serverMessage('status', {
      serverTimeMs: 12, mode: 'teleop', estop: false, lease: { holder: 'a' }, recording: { active: false, file: null, error: null },
      ros: { connected: true, url: 'ws://r:9090', measured: { matched: 14, expected: 14, unknown: 2, duplicate: 0, valid: true, ageMs: 12 } },
      clients: { operators: 1, viewers: 0, policies: 0 }, chunks: { queueDepth: 0, latencyMs: null },
      motion: { engageRequired: true, hold: 'estop_reset', calibrationPending: false },
    }),
    serverMessage('pong', { id: 1, clientTimeMs: 2, serverTimeMs: 3 }),
    serverMessage('ack', { ref: 'estop', serverTimeMs: 4 }),
  ];

  it.each(examples)('encode → parse round-trips $type', (msg) => {
    expect(parseServerMessage(encodeControlMessage(msg))).toEqual({ ok: true, msg });
    expect(isServerMessage(msg)).toBe(true);
  });

  it('covers every server message type and event', () => {
    expect(new Set(examples.map((m) => m.type))).toEqual(new Set(SERVER_MESSAGE_TYPES));
    expect(EVENT_NAMES).toHaveLength(11);
  });

  it('errorMessage carries code, message, ref and seq of a failure', () => {
    const f = failure(decodeHandFrame(rawHandFrame({ seq: 3, tMs: Number.NaN })));
    expect(errorMessage(f)).toEqual({ type: 'error', code: 'FRAME_NOT_FINITE', message: f.message, ref: 'binary:1', seq: 3 });
    expect(errorMessage(failure(parseClientMessage('x')))).toEqual({ type: 'error', code: 'PROTO_BAD_JSON', message: expect.any(String) });
  });

  it('rejects malformed server messages with the field named', () => {
    const cases: [unknown, WireErrorCode, string][] = [
      [{ type: 'error', code: 'NOPE', message: 'x' }, 'PROTO_BAD_MESSAGE', 'error.code must be a wire error code'],
      [{ type: 'status', serverTimeMs: 1, mode: 'idle', estop: false, lease: {} }, 'PROTO_BAD_MESSAGE', 'status.lease.holder must be a string or null, got nothing'],
      [{ type: 'event', event: 'mode', serverTimeMs: 1, detail: [] }, 'PROTO_BAD_MESSAGE', 'event.detail must be an object, got array []'],
      [{ type: 'welcome', protocol: 2 }, 'PROTO_BAD_VERSION', 'welcome.protocol 2 is not supported'],
      [{ type: 'hello', protocol: 1, role: 'viewer' }, 'PROTO_UNKNOWN_TYPE', 'unknown message type "hello"'],
    ];
    for (const [value, code, text] of cases) {
      const f = failure(parseServerMessage(JSON.stringify(value)));
      expect(f.code).toBe(code);
      expect(f.message).toContain(text);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Codes

describe('error codes', () => {
  it('are the 34 documented codes, each with a one-line meaning', () => {
    expect(WIRE_ERROR_CODES).toHaveLength(34);
    expect(new Set(WIRE_ERROR_CODES).size).toBe(34);
    for (const code of WIRE_ERROR_CODES) {
      expect(isWireErrorCode(code)).toBe(true);
      const meaning = describeWireError(code);
      expect(meaning.length).toBeGreaterThan(10);
      expect(meaning).not.toContain('\n');
    }
    expect(isWireErrorCode('toString')).toBe(false);
    expect(isWireErrorCode(3)).toBe(false);
  });

  it('map every action-schema code to a CHUNK_ code', () => {
    for (const code of ACTION_ERROR_CODES) expect(wireCodeOfActionError(code)).toMatch(/^CHUNK_/);
    expect(wireCodeOfActionError('ACTION_BAD_ROTATION')).toBe('CHUNK_BAD_ROTATION');
  });

  it('toWireErrorCode passes wire codes, maps schema and executor codes, else INTERNAL', () => {
    for (const code of WIRE_ERROR_CODES) expect(toWireErrorCode(code)).toBe(code);
    expect(toWireErrorCode('ACTION_NOT_FINITE')).toBe('CHUNK_NOT_FINITE');
    expect(toWireErrorCode('ACTION_OUT_OF_LIMITS')).toBe('CHUNK_OUT_OF_LIMITS');
    expect(toWireErrorCode('CHUNK_FUTURE')).toBe('CHUNK_BAD_TIMING');
    expect(toWireErrorCode('toString')).toBe('INTERNAL');
    expect(toWireErrorCode('SOMETHING_ELSE')).toBe('INTERNAL');
  });

  it('every code is listed in docs/protocol.md and docs/errors.md', () => {
    const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
    const protocol = readFileSync(join(docs, 'protocol.md'), 'utf8');
    const errors = readFileSync(join(docs, 'errors.md'), 'utf8');
    const wire = errors.slice(errors.indexOf('## Wire protocol'));
    expect(wire.length).toBeGreaterThan(100);
    for (const code of WIRE_ERROR_CODES) {
      expect(protocol, `${code} in protocol.md`).toContain(`| \`${code}\` |`);
      expect(wire, `${code} in errors.md`).toContain(`\`${code}\``);
    }
  });
});

describe('docs/protocol.md', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/protocol.md', import.meta.url)), 'utf8');

  it('its minimal viewer connects, says hello and decodes a ROBOT_STATE from the real encoder', () => {
    const code = /## A minimal viewer[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'the viewer snippet').toBeDefined();
    const sockets: { url: string; sent: string[]; binaryType: string; onopen?: () => void; onmessage?: (e: { data: unknown }) => void }[] = [];
    class FakeWebSocket {
      readonly sent: string[] = [];
      binaryType = 'blob';
      constructor(readonly url: string) {
        sockets.push(this);
      }
      send(text: string): void {
        this.sent.push(text);
      }
    }
    const logs: unknown[][] = [];
    const fakeConsole = { log: (...a: unknown[]) => logs.push(a), warn: (...a: unknown[]) => logs.push(['warn', ...a]) };
    new Function('WebSocket', 'location', 'console', code!)(FakeWebSocket, { protocol: 'https:', host: 'quest.local:8080' }, fakeConsole);
    const ws = sockets[0]!;
    expect(ws.url).toBe('wss://quest.local:8080/ws');
    expect(ws.binaryType).toBe('arraybuffer');
    ws.onopen!();
    expect(parseClientMessage(ws.sent[0]!)).toEqual({ ok: true, msg: { type: 'hello', protocol: 1, role: 'viewer', name: 'my dashboard' } });
    ws.onmessage!({ data: encodeControlMessage(serverMessage('error', { code: 'ROLE_FORBIDDEN', message: 'server: no' })) });
    expect(logs.pop()).toEqual(['warn', 'ROLE_FORBIDDEN: server: no']);
    const measured = Float32Array.from({ length: STATE_DIM }, (_, i) => i / 8);
    const msg = stateMessage({ mode: 'policy', estopLatched: true, measured });
    ws.onmessage!({ data: encodeRobotState(undefined, msg).buffer });
    const state = logs.pop()![0] as Record<string, unknown>;
    expect(state).toMatchObject({
      mode: 'policy', estop: true, holding: true, seq: 41, serverTimeMs: 123456.789, sourceSeq: 17,
      left: { hold: 'none', engaged: true }, right: { hold: 'implausible_bones', engaged: false },
      commanded: Array.from(msg.commanded), action: Array.from(msg.action), measured: Array.from(measured),
    });
    ws.onmessage!({ data: encodeHandFrame(undefined, { seq: 1, tMs: 1, left: null, right: null }).buffer });
    expect(logs).toHaveLength(0);
  });

  it('its worked examples are what the encoders write', () => {
    const handHex = hex(encodeHandFrame(undefined, { seq: 7, tMs: 1234.5, left: hand(1), right: null }), 16);
    const chunkHex = hex(encodeActionChunk(undefined, { chunkId: 5, startTimeMs: 1000, periodMs: 20, k: 2, data: new Float32Array(176) }), 24);
    const compact = doc.replace(/ {2,}/g, ' ');
    expect(compact).toContain(handHex);
    expect(compact).toContain(chunkHex);
    expect(doc).toContain(`starting \`${hex(encodeRobotState(undefined, stateMessage()), 4)}\``);
  });
});

describe('numeric code tables', () => {
  it('map names to codes and back', () => {
    expect(CONTROL_MODES.map(modeCode)).toEqual([0, 1, 2, 3]);
    expect(HOLD_CODES.map(holdCode)).toEqual([0, 1, 2, 3, 4]);
    expect(HAND_STATUS_CODES.map(handStatusCode)).toEqual([0, 1, 2]);
    expect(ARM_STATUS_CODES.map(armStatusCode)).toEqual([0, 1, 2, 3]);
    for (const [i, m] of CONTROL_MODES.entries()) expect(modeOfCode(i)).toBe(m);
    for (const [i, h] of HOLD_CODES.entries()) expect(holdOfCode(i)).toBe(h);
    for (const [i, h] of HAND_STATUS_CODES.entries()) expect(handStatusOfCode(i)).toBe(h);
    for (const [i, a] of ARM_STATUS_CODES.entries()) expect(armStatusOfCode(i)).toBe(a);
    expect([modeOfCode(4), holdOfCode(5), handStatusOfCode(3), armStatusOfCode(4), modeOfCode(-1)]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(holdCode('ok')).toBe(0);
  });

  it('name the documented values', () => {
    expect(CONTROL_MODES).toEqual(['idle', 'teleop', 'policy', 'replay']);
    expect(HOLD_CODES).toEqual(['none', 'missing', 'not_finite', 'implausible_bones', 'implausible_size']);
    expect(HAND_STATUS_CODES).toEqual(['held', 'converged', 'max_iterations']);
    expect(ARM_STATUS_CODES).toEqual(['not_engaged', 'held', 'converged', 'max_iterations']);
    expect(() => armStatusCode('lost' as never)).toThrow(/unknown arm status "lost"/);
    expect(() => handStatusCode('lost' as never)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const FC = { numRuns: 300 };

describe('properties', () => {
  const validHand = encodeHandFrame(undefined, { seq: 99, tMs: 5, left: hand(1), right: new Float32Array(200) });
  const validState = encodeRobotState(undefined, stateMessage({ measured: new Float32Array(56) }));
  const validChunk = encodeActionChunk(undefined, { chunkId: 1, startTimeMs: 0, periodMs: 20, k: 3, data: new Float32Array(3 * 88) });
  const validTracking = encodeHandTracking(undefined, { sourceSeq: 3, sourceTMs: 12.5, left: trackingSide(1), right: null });
  const decoders = [
    { name: 'HAND_FRAME', decode: (b: Uint8Array) => decodeHandFrame(b), codes: HAND_CODES, valid: validHand, sizeCode: 'FRAME_BAD_SIZE' },
    { name: 'ROBOT_STATE', decode: (b: Uint8Array) => decodeRobotState(b), codes: STATE_CODES, valid: validState, sizeCode: 'FRAME_BAD_SIZE' },
    { name: 'ACTION_CHUNK', decode: (b: Uint8Array) => decodeActionChunk(b), codes: CHUNK_CODES, valid: validChunk, sizeCode: 'CHUNK_BAD_SHAPE' },
    { name: 'HAND_TRACKING', decode: (b: Uint8Array) => decodeHandTracking(b), codes: TRACKING_CODES, valid: validTracking, sizeCode: 'FRAME_BAD_SIZE' },
  ] as const;

  it.each(decoders)('$name: random bytes never throw and yield a known code', ({ decode, codes, valid }) => {
    const header = fc.tuple(fc.constantFrom(1, 2, 3, 4), fc.constantFrom(0, 1, 1, 1), fc.uint8Array({ maxLength: 2100 })).map(([k, v, rest]) => Uint8Array.from([k, v, ...rest]));
    const exactSize = fc.uint8Array({ minLength: valid.length, maxLength: valid.length }).map((b) => {
      b.set(valid.subarray(0, 2));
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2100 }), header, exactSize), fc.nat(16), (bytes, offset) => {
        expectKnown(decode(atOffset(bytes, offset)), codes);
      }),
      FC,
    );
  });

  it.each(decoders)('$name: truncated or extended valid messages yield the size code', ({ decode, valid, sizeCode }) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 400 }), (cut, extra) => {
        expect(failure(decode(valid.subarray(0, cut))).code).toBe(sizeCode);
        const longer = new Uint8Array(valid.length + extra);
        longer.set(valid);
        expect(failure(decode(longer)).code).toBe(sizeCode);
      }),
      FC,
    );
  });

  it.each(decoders)('$name: bit-flipped valid messages never throw; header flips give the header codes', ({ name, decode, codes, valid }) => {
    fc.assert(
      fc.property(fc.array(fc.nat(valid.length * 8 - 1), { minLength: 1, maxLength: 4 }), (bits) => {
        const b = valid.slice();
        for (const bit of bits) b[bit >> 3]! ^= 1 << (bit & 7);
        const r = decode(b);
        expectKnown(r, codes);
        if (b[0] !== valid[0]) expect(failure(r).code).toBe('PROTO_BAD_KIND');
        else if (b[1] !== valid[1]) expect(failure(r).code).toBe('PROTO_BAD_VERSION');
        else if (name === 'ACTION_CHUNK' && (b[2] !== valid[2] || b[3] !== valid[3])) expect(failure(r).code).toBe('CHUNK_BAD_SHAPE');
      }),
      FC,
    );
  });

  it('HAND_FRAME: any seq, finite tMs and float32 hands round-trip exactly', () => {
    const handArb = fc.option(fc.float32Array({ minLength: 200, maxLength: 200, noNaN: true, noDefaultInfinity: true }), { nil: null });
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.double({ noNaN: true, noDefaultInfinity: true }), handArb, handArb, fc.nat(9), (seq, tMs, left, right, offset) => {
        const bytes = atOffset(encodeHandFrame(undefined, { seq, tMs, left, right }), offset);
        const r = success(decodeHandFrame(bytes));
        expect({ seq: r.seq, tMs: r.tMs, left: r.left, right: r.right }).toEqual({ seq, tMs, left, right });
      }),
      { numRuns: 100 },
    );
  });

  it('random text and random JSON never throw and yield a parse code', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null')), (text) => {
        expectKnown(parseClientMessage(text), PARSE_CODES);
        expectKnown(parseServerMessage(text), PARSE_CODES);
      }),
      { numRuns: 500 },
    );
  });

  it('random fields under every known type never throw; what parses re-parses to itself', () => {
    const fieldNames = [
      'protocol', 'role', 'token', 'name', 'tracking', 'side', 'mode', 'takeover', 'task', 'operator', 'success', 'handScale', 'translationScale', 'id', 'clientTimeMs',
      'sessionId', 'serverTimeMs', 'controlRateHz', 'jointNames', 'actionNames', 'limits', 'code', 'message', 'ref', 'seq', 'event', 'detail', 'estop',
      'lease', 'recording', 'ros', 'clients', 'chunks',
    ];
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(1, 0, -1, 0.5, true, false, null, 'left', 'right', 'operator', 'viewer', 'teleop', 'LEASE_HELD', 'mode', [], ['a'], { left: 1.1 }),
    );
    const message = fc
      .tuple(fc.constantFrom(...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES), fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 6 }))
      .map(([type, fields]) => JSON.stringify({ ...fields, type }));
    let parsed = 0;
    fc.assert(
      fc.property(message, (text) => {
        for (const parse of [parseClientMessage, parseServerMessage]) {
          const r = parse(text);
          expectKnown(r, PARSE_CODES);
          if (r.ok) {
            parsed++;
            expect(parse(encodeControlMessage(r.msg))).toEqual(r);
          }
        }
      }),
      { numRuns: 1000 },
    );
    expect(parsed).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Platform-free

describe('the protocol is platform-free', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const srcDir = resolve(here, '../src/protocol');
  const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => join(srcDir, f));
  const BANNED = new Set(['Buffer', 'process', 'require', 'global', '__dirname', '__filename', 'setImmediate', 'window', 'document', 'navigator', 'TextEncoder', 'TextDecoder']);

  it('imports only relative .js files in protocol/ and @dexbridge/retarget; names no platform global', () => {
    expect(files.map((f) => relative(srcDir, f))).toContain('index.ts');
    const findings: string[] = [];
    for (const file of files) {
      const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
      const visit = (node: ts.Node): void => {
        if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
          const spec = node.moduleSpecifier.text;
          const inside = spec.startsWith('./') && spec.endsWith('.js') && dirname(resolve(srcDir, spec)) === srcDir;
          if (!inside && spec !== '@dexbridge/retarget') findings.push(`${relative(srcDir, file)} imports ${spec}`);
        } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
          findings.push(`${relative(srcDir, file)} has a dynamic import`);
        } else if (ts.isIdentifier(node) && BANNED.has(node.text)) {
          const p = node.parent;
          const isMember = (ts.isPropertyAccessExpression(p) && p.name === node) || ((ts.isPropertySignature(p) || ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p)) && p.name === node);
          if (!isMember) findings.push(`${relative(srcDir, file)} names ${node.text}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    expect(findings).toEqual([]);
  });

  it('typechecks with only the ES2022 library: no DOM, no @types/node', () => {
    const program = platformFreeProgram(files);
    const names = program.getSourceFiles().map((sf) => sf.fileName);
    expect(platformTypingsIn(program)).toEqual([]);
    expect(names.filter((f) => !f.includes('/node_modules/') && !f.includes(`${sep}retarget${sep}src${sep}`) && !f.includes('/retarget/src/') && !f.includes('/urdf/src/') && !f.startsWith(srcDir))).toEqual([]);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? relative(srcDir, d.file.fileName) : ''} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    expect(problems).toEqual([]);
  }, 120_000);
});
