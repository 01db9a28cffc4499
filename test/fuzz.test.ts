/**
 * Bad input (issue 5): property-based fuzzing of a real dexbridge server (in-process, port 0).
 *
 * Every generated input goes to one connection, followed by a barrier (`ping`, or for an
 * unauthenticated connection an unknown `type` that names the barrier); the server handles a
 * connection's messages in order, so everything it said about the input arrives before the
 * barrier's answer. An independent oracle (written from `docs/protocol.md`, not from the server's
 * code) says which codes each input may get, and whether it may be valid (no error). Rules:
 *
 * - exactly one `error`, with a code from `WIRE_ERROR_CODES` (never `INTERNAL`) that the oracle
 *   allows; or no error at all, only for inputs the oracle classifies as valid;
 * - the connection stays open (below the 1 MiB hard cap; above it, ws closes with 1009);
 * - no uncaught exception or unhandled rejection in the process;
 * - a viewer connected throughout keeps receiving states (gap < 200 ms), every commanded joint
 *   finite and inside its URDF limits; a well-behaved operator streaming at ~90 Hz never gets an
 *   error.
 *
 * Phases (fixed fast-check seeds; a failure prints the seed and the input):
 * A. teleop, the good operator holds the lease: an unauthenticated connection, a viewer, a second
 *    operator and a policy fuzz.
 * C. policy mode (the good operator keeps streaming): the policy fuzzes action chunks.
 * B. the fuzzing operator holds the lease and is engaged (the good stream paused): hand frames
 *    with a model of the connection's seq / tMs / delay state, plus control messages; then
 *    sustained pushes (hands metres away, translation scaled ×1000) into the joint limits.
 * Then the hard cap (1009) and invalid UTF-8 separately, the final checks, a regression test for a
 * bug the fuzzing found, and the codec alone (parsers and decoders never throw, 20 000 runs each).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTION_DIM, ACTION_ENTRIES, createRig, DEFAULT_ACTION_WORKSPACE, type HandFrame, parseHandFramesJsonl, ROTATION_VECTOR_OFFSETS, STATE_JOINT_NAMES,
} from '@dexbridge/retarget';
import {
  checkHandFrameOrder, createDecodedHandFrame, createDecodedRobotState, decodeActionChunk, decodeHandFrame, decodeRobotState, encodeActionChunk,
  encodeHandFrame, encodeRobotState, parseClientMessage, parseServerMessage, peekKind, binaryRef, validateClientMessage, WIRE_ERROR_CODES,
  type WireErrorCode,
} from '@dexbridge/server/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDexbridge, startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { AUTHORITY, type AuthorityMessage } from '../server/src/control/authority.js';
import { type Json, TestClient } from '../server/test/support/wsClient.js';
import { mulberry32 } from './support/random.js';

// ---------------------------------------------------------------------------------------------
// Constants and fixtures

const OP = 'fuzz-operator-token-1';
const POLICY = 'fuzz-policy-token-2';
const MAX_BYTES = 65536;
const HARD_CAP = 1 << 20; // BridgeServer: max(1 MiB, 4 × maxMessageBytes)
const STALE_MS = 150;
/** A frame may seem this much faster than the connection's best delay (OperatorClock maxLeadMs). */
const LEAD_MS = 100;
const SEEDS = { unit: 20_250_501, phaseA: 1_001, phaseC: 3_003, phaseB: 2_002, push: 4_004 } as const;
const RUNS = { phaseA: 3000, phaseC: 1500, phaseB: 3000, unit: 20_000 } as const;

const HAND = 200; // 25 joints × 8
const FRAME_BYTES = 1616;
const ROW_BYTES = ACTION_DIM * 4;
const U32_MAX = 0xffff_ffff;

const FRAMES: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter(
  (f) => f.left !== null && f.right !== null,
);
const rig = createRig();
const JOINT_LIMITS = STATE_JOINT_NAMES.map((n) => {
  const l = rig.jointLimit(n);
  if (l === undefined) throw new Error(`fuzz: no limits for ${n}`);
  return l;
});
/** Action schema bounds, from the docs: joints by URDF limit, positions by the default box, rotation vectors by norm ≤ π. */
const ACTION_BOUNDS = ACTION_ENTRIES.map((e) => {
  if (e.kind === 'joint') {
    const l = rig.jointLimit(e.source);
    if (l === undefined) throw new Error(`fuzz: no limits for ${e.source}`);
    return { kind: e.kind, lower: l.lower, upper: l.upper };
  }
  if (e.kind === 'position') {
    const axis = 'xyz'.indexOf(e.name.slice(-1));
    return { kind: e.kind, lower: DEFAULT_ACTION_WORKSPACE.minM[axis]!, upper: DEFAULT_ACTION_WORKSPACE.maxM[axis]! };
  }
  return { kind: e.kind, lower: -Math.PI, upper: Math.PI };
});
const BOUNDED_ENTRIES = ACTION_BOUNDS.flatMap((b, i) => (b.kind === 'rotvec' ? [] : [i]));
const ROT_STARTS = [...ROTATION_VECTOR_OFFSETS];
const CODE_SET: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

type Role = 'operator' | 'viewer' | 'policy';
type Mode = 'idle' | 'teleop' | 'policy' | 'replay';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The oracle's verdicts

interface Verdict {
  /** Codes the input may be answered with. */
  readonly codes: ReadonlySet<WireErrorCode>;
  /** Whether the input may be valid (answered with no error). */
  readonly pass: boolean;
  readonly why: string;
  /** Updates the model with what the server answered (a code, or null for none). */
  readonly apply?: (got: WireErrorCode | null) => void;
}
const refuse = (why: string, ...codes: WireErrorCode[]): Verdict => ({ codes: new Set(codes), pass: false, why });
const valid = (why: string, apply?: (got: WireErrorCode | null) => void, ...codes: WireErrorCode[]): Verdict => ({
  codes: new Set(codes), pass: true, why, ...(apply ? { apply } : {}),
});

/** Thrown when a generator produced an input whose effects this test does not model (a test bug, not a server bug). */
class Unmodelled extends Error {}

// ---------------------------------------------------------------------------------------------
// Shared world model and connections

interface FrameSession {
  lastSeq: number;
  lastTMs: number;
  /** Bounds of the server's best (smallest) delay on this connection. */
  bestLo: number;
  bestHi: number;
  /** The client clock: performance.now() + offset (grows when a jumped tMs is accepted). */
  offset: number;
  /** Next demo frame of the stream (valid frames follow the demo, so the hands move as a person's would). */
  frame: number;
  /** A transformation (offset, scale, rigid move) kept on the following frames for a while. */
  sticky: { readonly mut: FrameMut; readonly until: number } | undefined;
  /** Frames refused in a row for their time (the server re-learns the clock after 10 that agree). */
  timeRefusals: number;
}
const newSession = (): FrameSession => ({
  lastSeq: -1, lastTMs: Number.NEGATIVE_INFINITY, bestLo: Infinity, bestHi: Infinity, offset: 0, frame: 0, sticky: undefined, timeRefusals: 0,
});

class Conn {
  readonly sess: FrameSession = newSession();
  closeCode: number | undefined;
  private readonly closed: Promise<number>;
  constructor(
    readonly name: string,
    readonly c: TestClient,
    readonly role: Role | undefined,
  ) {
    this.closed = new Promise((done) => c.ws.once('close', (code) => {
      this.closeCode = code;
      done(code);
    }));
  }
  /** Rejects when the connection closes (so a dropped connection fails at once rather than timing out). */
  closedError(): Promise<never> {
    return this.closed.then((code) => {
      throw new Error(`${this.name}: the server closed the connection (code ${code})`);
    });
  }
}

interface World {
  holder: Conn | 'good' | null;
  mode: Mode;
  estop: boolean;
  /** State changes a valid message may make here (others are test bugs: Unmodelled). */
  allow: ReadonlySet<'lease' | 'engage' | 'estop' | 'calibrate'>;
}

interface Tally {
  tried: number;
  answered: number;
  valid: number;
  codes: Map<string, number>;
}
const tally = (): Tally => ({ tried: 0, answered: 0, valid: 0, codes: new Map() });

// ---------------------------------------------------------------------------------------------
// JSON oracle (from the docs' message table)

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
type Check = (v: unknown) => boolean;
const str = (max: number): Check => (v) => typeof v === 'string' && v.length <= max;
const bool: Check = (v) => typeof v === 'boolean';
const finite: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const positive: Check = (v) => finite(v) && (v as number) > 0;
const oneOf = (...xs: string[]): Check => (v) => typeof v === 'string' && xs.includes(v);
const handScale: Check = (v) =>
  positive(v) || (isObj(v) && (!Object.hasOwn(v, 'left') || positive(v['left'])) && (!Object.hasOwn(v, 'right') || positive(v['right'])));
const SIDE = oneOf('left', 'right');
const SCHEMA: Readonly<Record<string, { req: Record<string, Check>; opt: Record<string, Check> }>> = {
  hello: { req: { protocol: (v) => v === 1, role: oneOf('operator', 'viewer', 'policy') }, opt: { token: str(512), name: str(64), tracking: bool } },
  engage: { req: {}, opt: { side: SIDE } },
  disengage: { req: {}, opt: { side: SIDE } },
  estop: { req: {}, opt: {} },
  reset_estop: { req: {}, opt: {} },
  set_mode: { req: { mode: oneOf('idle', 'teleop', 'policy', 'replay') }, opt: {} },
  lease_request: { req: {}, opt: { takeover: bool } },
  lease_release: { req: {}, opt: {} },
  record_start: { req: {}, opt: { task: str(256), operator: str(64) } },
  record_stop: { req: {}, opt: { success: bool } },
  set_recording_meta: { req: { file: str(255) }, opt: { task: str(256), success: bool } },
  calibrate: { req: {}, opt: { handScale, translationScale: positive } },
  ping: { req: { id: finite, clientTimeMs: finite }, opt: {} },
  // Camera ids are [A-Za-z0-9_-]{1,64}, at most 64 of them.
  camera_subscribe: {
    req: { cameras: (v) => Array.isArray(v) && v.length <= 64 && v.every((id) => typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)) },
    opt: {},
  },
};

/** What parsing alone gives: the parse codes possible, or the valid message. */
function parseVerdict(text: string): { codes: Set<WireErrorCode> } | { msg: Record<string, unknown> & { type: string } } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { codes: new Set(['PROTO_BAD_JSON']) };
  }
  if (!isObj(v)) return { codes: new Set(['PROTO_BAD_MESSAGE']) };
  const type = Object.hasOwn(v, 'type') ? v['type'] : undefined;
  if (typeof type !== 'string') return { codes: new Set(['PROTO_BAD_MESSAGE']) };
  const schema = Object.hasOwn(SCHEMA, type) ? SCHEMA[type] : undefined;
  if (schema === undefined) return { codes: new Set(['PROTO_UNKNOWN_TYPE']) };
  const codes = new Set<WireErrorCode>();
  for (const [f, ok] of Object.entries(schema.req)) {
    const fv = Object.hasOwn(v, f) ? v[f] : undefined;
    if (ok(fv)) continue;
    codes.add(type === 'hello' && f === 'protocol' && typeof fv === 'number' ? 'PROTO_BAD_VERSION' : 'PROTO_BAD_MESSAGE');
  }
  for (const [f, ok] of Object.entries(schema.opt)) if (Object.hasOwn(v, f) && !ok(v[f])) codes.add('PROTO_BAD_MESSAGE');
  return codes.size > 0 ? { codes } : { msg: v as Record<string, unknown> & { type: string } };
}

function textVerdict(text: string, conn: Conn, w: World): Verdict {
  // What the server sees: the UTF-8 of the text, decoded again (lone surrogates become U+FFFD).
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.byteLength > MAX_BYTES) return refuse('text over maxMessageBytes', 'PROTO_TOO_LARGE');
  const p = parseVerdict(bytes.toString('utf8'));
  if ('codes' in p) return { codes: p.codes, pass: false, why: 'text that does not parse as a valid message' };
  return messageVerdict(p.msg, conn, w);
}

/** A valid control message from `conn` in world `w`. */
function messageVerdict(m: Record<string, unknown> & { type: string }, conn: Conn, w: World): Verdict {
  const role = conn.role;
  const isHolder = w.holder === conn;
  const needs = (what: 'lease' | 'engage' | 'estop' | 'calibrate'): void => {
    if (!w.allow.has(what)) throw new Unmodelled(`${conn.name}: generated a valid ${m.type} (${JSON.stringify(m).slice(0, 200)}) that changes the ${what} state here`);
  };
  if (m.type === 'hello') {
    if (role !== undefined) return refuse('second hello', 'AUTH_ALREADY');
    const token = m['token'];
    if (m['role'] === 'operator' && token !== OP) return refuse('hello with a wrong operator token', 'AUTH_BAD_TOKEN');
    if (m['role'] === 'policy' && token !== POLICY) return refuse('hello with a wrong policy token', 'AUTH_BAD_TOKEN');
    throw new Unmodelled(`${conn.name}: generated a hello that authenticates: ${JSON.stringify(m)}`);
  }
  // The authority table's columns (docs/protocol.md), in its order: role, lease, mode, e-stop.
  const rule = AUTHORITY[m.type as AuthorityMessage];
  if (role === undefined) {
    if (!rule.roles.includes('none')) return refuse('a message before hello', 'AUTH_REQUIRED');
  } else if (!rule.roles.includes(role)) return refuse(`${m.type} from a ${role}`, 'ROLE_FORBIDDEN');
  const held = w.holder !== null;
  if (rule.lease === 'holder' && !isHolder) return refuse(`${m.type} without the lease`, held ? 'LEASE_HELD' : 'LEASE_NOT_HELD');
  if (!rule.modes.includes(w.mode)) return refuse(`${m.type} in ${w.mode}`, 'MODE_FORBIDDEN');
  if (w.estop && !rule.whileEstop) return refuse(`${m.type} while the e-stop is latched`, 'ESTOP_LATCHED');
  switch (m.type) {
    case 'ping':
      return valid('ping');
    case 'estop':
      needs('estop');
      return valid('estop', () => {
        w.estop = true;
      });
    case 'reset_estop':
      needs('estop');
      return valid('reset_estop', () => {
        w.estop = false;
      });
    case 'engage':
      needs('engage');
      return valid('engage');
    case 'disengage':
      needs('engage');
      return valid('disengage');
    case 'set_mode':
      throw new Unmodelled(`${conn.name}: generated a valid set_mode ${String(m['mode'])}`);
    case 'lease_request':
      if (isHolder) return valid('lease_request from the holder (no-op)');
      if (w.holder !== null && m['takeover'] !== true) return refuse('lease_request while another holds the lease', 'LEASE_HELD');
      needs('lease');
      return valid('lease_request that takes the lease', () => {
        w.holder = conn;
      });
    case 'lease_release':
      needs('lease');
      return valid('lease_release', () => {
        w.holder = null;
      });
    case 'record_start':
    case 'record_stop':
    case 'set_recording_meta':
      return refuse(`${m.type} with recording off`, 'RECORDING_FAILED');
    case 'camera_subscribe':
      // This server has no cameras: any id is unknown; the empty list is acknowledged.
      return (m['cameras'] as unknown[]).length === 0 ? valid('camera_subscribe to none') : refuse('camera_subscribe to a camera the server does not have', 'CAMERA_UNKNOWN');
    case 'calibrate':
      needs('calibrate');
      // Documented ranges: hand 0.5–2, translation 0.1–4 (CALIBRATION_OUT_OF_RANGE outside).
      return valid('calibrate (pending until engage)', undefined, 'CALIBRATION_OUT_OF_RANGE');
  }
  throw new Unmodelled(`unexpected type ${m.type}`);
}

// ---------------------------------------------------------------------------------------------
// Binary oracle (from the docs' layouts and check order)

interface Now {
  /** Bounds of the server's receive time of the input (same clock: performance.now()). */
  readonly lo: number;
  readonly hi: number;
}

function binaryVerdict(bytes: Uint8Array, conn: Conn, w: World, now: Now): Verdict {
  if (bytes.byteLength > MAX_BYTES) return refuse('binary over maxMessageBytes', 'PROTO_TOO_LARGE');
  if (conn.role === undefined) return refuse('binary before hello', 'AUTH_REQUIRED');
  const kind = bytes[0];
  if (kind === 1) return frameVerdict(bytes, conn, w, now);
  if (kind === 3) return chunkVerdict(bytes, conn, w, now);
  return refuse(`binary kind ${kind ?? 'none'}`, 'PROTO_BAD_KIND');
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function frameVerdict(bytes: Uint8Array, conn: Conn, w: World, now: Now): Verdict {
  if (conn.role !== 'operator') return refuse(`HAND_FRAME from a ${conn.role}`, 'ROLE_FORBIDDEN');
  if (w.holder !== null && w.holder !== conn) return refuse('HAND_FRAME while another holds the lease', 'LEASE_HELD');
  const v = frameTimeVerdict(bytes, conn, w, now);
  // A run of 10 frames refused for their time makes the server re-learn the clock from them: from
  // the 10th on, such a frame may be accepted. The model follows the server's answer.
  const s = conn.sess;
  const relearn = s.timeRefusals >= 9;
  return {
    codes: v.codes,
    pass: v.pass || relearn,
    why: v.why,
    apply: (got) => {
      const timeCode = got === 'FRAME_TIME_BACKWARDS' || got === 'FRAME_TIME_IMPLAUSIBLE' || got === 'FRAME_STALE';
      if (got === null && !v.pass) {
        // Re-learnt: the server believes this frame's clock from now on.
        const dv = view(bytes);
        const tMs = dv.getFloat64(8, true);
        s.bestLo = now.lo - tMs;
        s.bestHi = now.hi - tMs;
        s.lastSeq = dv.getUint32(4, true);
        s.lastTMs = tMs;
        s.offset = tMs - now.lo;
        if (w.holder === null) w.holder = conn;
      } else {
        v.apply?.(got);
      }
      s.timeRefusals = timeCode ? s.timeRefusals + 1 : got === null ? 0 : s.timeRefusals;
    },
  };
}

function frameTimeVerdict(bytes: Uint8Array, conn: Conn, w: World, now: Now): Verdict {
  const n = bytes.byteLength;
  if (n < 2) return refuse('HAND_FRAME of < 2 bytes', 'FRAME_BAD_SIZE');
  if (bytes[1] !== 1) return refuse(`HAND_FRAME version ${bytes[1]}`, 'PROTO_BAD_VERSION');
  if (n !== FRAME_BYTES) return refuse(`HAND_FRAME of ${n} bytes`, 'FRAME_BAD_SIZE');
  const flags = bytes[2]!;
  if ((flags & 0xfc) !== 0 || bytes[3] !== 0) return refuse('HAND_FRAME reserved bits or byte set', 'PROTO_BAD_MESSAGE');
  const dv = view(bytes);
  const seq = dv.getUint32(4, true);
  const tMs = dv.getFloat64(8, true);
  if (!Number.isFinite(tMs)) return refuse('HAND_FRAME tMs not finite', 'FRAME_NOT_FINITE');
  for (const [bit, at] of [[1, 16], [2, 816]] as const) {
    if ((flags & bit) === 0) continue;
    for (let i = 0; i < HAND; i++) if (!Number.isFinite(dv.getFloat32(at + 4 * i, true))) return refuse('HAND_FRAME tracked hand not finite', 'FRAME_NOT_FINITE');
  }
  const s = conn.sess;
  if (seq <= s.lastSeq) return refuse(`HAND_FRAME seq ${seq} after ${s.lastSeq}`, 'FRAME_OUT_OF_ORDER');
  if (!(tMs > s.lastTMs)) return refuse(`HAND_FRAME tMs ${tMs} after ${s.lastTMs}`, 'FRAME_TIME_BACKWARDS');
  // Implausible: more than 100 ms ahead of the connection's clock estimate (refused, changes nothing).
  if (Number.isFinite(s.bestLo) && now.hi - tMs < s.bestLo - LEAD_MS) return refuse(`HAND_FRAME tMs ${tMs} ahead of the clock`, 'FRAME_TIME_IMPLAUSIBLE');
  const maybeAhead = Number.isFinite(s.bestHi) && now.lo - tMs < s.bestHi - LEAD_MS;
  // Stale: delay − min(best, delay) > 150 ms; delay = receive − tMs is known within [now.lo, now.hi].
  const dLo = now.lo - tMs;
  const dHi = now.hi - tMs;
  const surelyStale = dLo - s.bestHi > STALE_MS;
  const surelyFresh = dHi - s.bestLo <= STALE_MS;
  const tracked = (flags & 3) !== 0;
  const codes: WireErrorCode[] = [];
  if (!surelyFresh) codes.push('FRAME_STALE');
  if (maybeAhead) codes.push('FRAME_TIME_IMPLAUSIBLE');
  // An accepted frame with an implausible tracked hand is used, and reported at most once a second.
  if (!surelyStale && tracked && w.mode === 'teleop') codes.push('FRAME_IMPLAUSIBLE');
  const apply = (got: WireErrorCode | null): void => {
    if (got === 'FRAME_TIME_IMPLAUSIBLE') return;
    s.bestLo = Math.min(s.bestLo, dLo);
    s.bestHi = Math.min(s.bestHi, dHi);
    s.lastSeq = seq;
    if (got === 'FRAME_STALE') return;
    s.lastTMs = tMs;
    // The client's clock jumped with this frame: keep it (as a client would).
    const clientNow = now.lo + s.offset;
    if (tMs > clientNow) s.offset = tMs - now.lo;
    if (w.holder === null) w.holder = conn;
  };
  if (surelyStale) return { codes: new Set(codes), pass: false, why: 'a stale HAND_FRAME', apply };
  if (w.holder === null && !w.allow.has('lease')) throw new Unmodelled('a frame that would take a free lease');
  return { codes: new Set(codes), pass: true, why: 'a HAND_FRAME in order (accepted)', apply };
}

function chunkVerdict(bytes: Uint8Array, conn: Conn, w: World, now: Now): Verdict {
  if (conn.role !== 'policy') return refuse(`ACTION_CHUNK from a ${conn.role}`, 'ROLE_FORBIDDEN');
  // The authority table before any decoding: an operator's lease, policy mode, no e-stop.
  if (w.holder === null) return refuse('ACTION_CHUNK with no operator holding the lease', 'LEASE_NOT_HELD');
  if (w.mode !== 'policy') return refuse(`ACTION_CHUNK in ${w.mode}`, 'MODE_FORBIDDEN');
  if (w.estop) return refuse('ACTION_CHUNK while the e-stop is latched', 'ESTOP_LATCHED');
  const n = bytes.byteLength;
  if (n < 2) return refuse('ACTION_CHUNK of < 2 bytes', 'CHUNK_BAD_SHAPE');
  if (bytes[1] !== 1) return refuse(`ACTION_CHUNK version ${bytes[1]}`, 'PROTO_BAD_VERSION');
  if (n < 24) return refuse('ACTION_CHUNK shorter than its header', 'CHUNK_BAD_SHAPE');
  const dv = view(bytes);
  const k = dv.getUint16(2, true);
  if (k < 1 || k > 256) return refuse(`ACTION_CHUNK k = ${k}`, 'CHUNK_BAD_SHAPE');
  if (n !== 24 + ROW_BYTES * k) return refuse(`ACTION_CHUNK of ${n} bytes for k = ${k}`, 'CHUNK_BAD_SHAPE');
  const start = dv.getFloat64(8, true);
  const period = dv.getFloat64(16, true);
  if (!Number.isFinite(start) || !(Number.isFinite(period) && period > 0)) return refuse('ACTION_CHUNK timing not finite', 'CHUNK_BAD_TIMING');
  // Values, row by row (the first faulty row decides; within it any of its faults may be named).
  const TOL = 1e-6;
  for (let r = 0; r < k; r++) {
    const at = 24 + ROW_BYTES * r;
    const row = Array.from({ length: ACTION_DIM }, (_, i) => dv.getFloat32(at + 4 * i, true));
    if (row.some((v) => !Number.isFinite(v))) return refuse(`ACTION_CHUNK row ${r} not finite`, 'CHUNK_NOT_FINITE');
    const faults: WireErrorCode[] = [];
    for (const i of BOUNDED_ENTRIES) {
      const b = ACTION_BOUNDS[i]!;
      if (row[i]! < b.lower - TOL || row[i]! > b.upper + TOL) faults.push('CHUNK_OUT_OF_LIMITS');
    }
    for (const i of ROT_STARTS) if (Math.hypot(row[i]!, row[i + 1]!, row[i + 2]!) > Math.PI + TOL) faults.push('CHUNK_BAD_ROTATION');
    if (faults.length > 0) return refuse(`ACTION_CHUNK row ${r} out of bounds`, ...faults);
  }
  const end = start + (k - 1) * period;
  const outcome = (t: number): WireErrorCode | null => (end < t || t - start > 500 ? 'CHUNK_STALE' : start - t > 1000 ? 'CHUNK_BAD_TIMING' : null);
  const lo = outcome(now.lo);
  const hi = outcome(now.hi);
  if (lo === hi) return lo === null ? valid('a valid ACTION_CHUNK (queued)') : refuse(`ACTION_CHUNK timing (${lo})`, lo);
  // Near a boundary: as the receive time grows, future → accepted → stale.
  return valid('an ACTION_CHUNK near a timing boundary', undefined, 'CHUNK_STALE', 'CHUNK_BAD_TIMING');
}

// ---------------------------------------------------------------------------------------------
// Input specs (plain data, printed by fast-check on failure) and their materialisation

type Side3 = 0 | 1 | 2; // left, right, both
type FrameMut =
  | { readonly m: 'valid'; readonly tracked: number }
  | { readonly m: 'truncate'; readonly len: number }
  | { readonly m: 'extend'; readonly extra: number }
  | { readonly m: 'flip'; readonly bits: readonly number[] }
  | { readonly m: 'version'; readonly v: number }
  | { readonly m: 'kind'; readonly k: number }
  | { readonly m: 'flags'; readonly flags: number; readonly reserved: number }
  | { readonly m: 'nonfinite'; readonly at: 'tMs' | 'left' | 'right'; readonly index: number; readonly value: number; readonly tracked: number }
  | { readonly m: 'offset'; readonly side: Side3; readonly d: readonly [number, number, number]; readonly holdMs: number }
  | { readonly m: 'zero'; readonly side: Side3 }
  | { readonly m: 'scale'; readonly side: Side3; readonly factor: number; readonly holdMs: number }
  | { readonly m: 'rigid'; readonly side: Side3; readonly q: readonly [number, number, number, number]; readonly t: readonly [number, number, number]; readonly holdMs: number }
  | { readonly m: 'random'; readonly side: Side3; readonly seed: number; readonly magnitude: number }
  | { readonly m: 'order'; readonly what: 'dup' | 'back' | 'sameTime' | 'timeBack' | 'jumpSeq' | 'jumpTime'; readonly amount: number };

interface ChunkBase {
  readonly id: number;
  readonly k: number;
  readonly periodMs: number;
  readonly leadMs: number;
  readonly blend: number;
  readonly seed: number;
}
type ChunkMut =
  | { readonly c: 'valid' }
  | { readonly c: 'k'; readonly header: number; readonly rows: number }
  | { readonly c: 'length'; readonly delta: number }
  | { readonly c: 'nonfinite'; readonly row: number; readonly entry: number; readonly value: number }
  | { readonly c: 'limits'; readonly row: number; readonly entry: number; readonly beyond: number; readonly dir: 1 | -1 }
  | { readonly c: 'rotation'; readonly row: number; readonly rot: number; readonly dir: readonly [number, number, number]; readonly norm: number }
  | { readonly c: 'timing'; readonly what: 'stale' | 'past' | 'future' | 'start' | 'period'; readonly value: number }
  | { readonly c: 'flip'; readonly bits: readonly number[] }
  | { readonly c: 'huge'; readonly k: number }
  | { readonly c: 'header'; readonly kind: number; readonly version: number };

type Spec =
  | { readonly s: 'bytes'; readonly bytes: Uint8Array }
  | { readonly s: 'empty'; readonly binary: boolean }
  | { readonly s: 'huge'; readonly size: number; readonly binary: boolean }
  | { readonly s: 'text'; readonly text: string; readonly note: string }
  | { readonly s: 'frame'; readonly mut: FrameMut }
  | { readonly s: 'chunk'; readonly base: ChunkBase; readonly mut: ChunkMut };

/** The client clock of a connection: strictly after its last accepted frame. */
function clientNow(s: FrameSession): number {
  const t = performance.now() + s.offset;
  return t > s.lastTMs ? t : s.lastTMs + Math.max(1e-3, Math.abs(s.lastTMs) * 1e-12);
}

/**
 * Whether `data` is a HAND_FRAME the server would accept whose tMs jumps more than 1e12 ms ahead
 * of the client's clock. Phase B does not send those, to keep its oracle's clock model simple; the
 * regression test below sends one and checks that teleoperation goes on (such a frame used to
 * freeze it for the rest of the server's life).
 */
function freezesTeleop(data: string | Uint8Array, s: FrameSession): boolean {
  if (typeof data === 'string' || data.byteLength !== FRAME_BYTES || data[0] !== 1 || data[1] !== 1 || (data[2]! & 0xfc) !== 0 || data[3] !== 0) return false;
  const dv = view(data);
  const seq = dv.getUint32(4, true);
  const tMs = dv.getFloat64(8, true);
  return Number.isFinite(tMs) && seq > s.lastSeq && tMs > s.lastTMs && tMs - (performance.now() + s.offset) > 1e12;
}

function quatMul(a: readonly number[], b: readonly number[]): [number, number, number, number] {
  const [ax, ay, az, aw] = a as [number, number, number, number];
  const [bx, by, bz, bw] = b as [number, number, number, number];
  return [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz];
}
function rotate(q: readonly number[], v: readonly number[]): [number, number, number] {
  const r = quatMul(quatMul(q, [v[0]!, v[1]!, v[2]!, 0]), [-q[0]!, -q[1]!, -q[2]!, q[3]!]);
  return [r[0], r[1], r[2]];
}

function transformHand(src: Float64Array, mut: FrameMut): Float64Array {
  const h = Float64Array.from(src);
  const wrist = [src[0]!, src[1]!, src[2]!];
  for (let j = 0; j < 25; j++) {
    const o = 8 * j;
    switch (mut.m) {
      case 'offset':
        for (let a = 0; a < 3; a++) h[o + a] = src[o + a]! + mut.d[a]!;
        break;
      case 'zero':
        h.fill(0);
        break;
      case 'scale':
        for (let a = 0; a < 3; a++) h[o + a] = wrist[a]! + (src[o + a]! - wrist[a]!) * mut.factor;
        break;
      case 'rigid': {
        const n = Math.hypot(...mut.q) || 1;
        const q = mut.q.map((x) => x / n);
        const p = rotate(q, [src[o]! - wrist[0]!, src[o + 1]! - wrist[1]!, src[o + 2]! - wrist[2]!]);
        for (let a = 0; a < 3; a++) h[o + a] = wrist[a]! + p[a]! + mut.t[a]!;
        const r = quatMul(q, [src[o + 3]!, src[o + 4]!, src[o + 5]!, src[o + 6]!]);
        for (let a = 0; a < 4; a++) h[o + 3 + a] = r[a]!;
        break;
      }
      case 'random': {
        const next = mulberry32(mut.seed);
        for (let i = 0; i < 8; i++) h[o + i] = (next() - 0.5) * mut.magnitude;
        break;
      }
      default:
        break;
    }
  }
  return h;
}

function materializeFrame(mut: FrameMut, s: FrameSession): Uint8Array {
  // Every frame shows the connection's current pose of the demo stream (so the hands move as a
  // person's would); valid and transformed frames advance it.
  const streamed = mut.m === 'valid' || mut.m === 'offset' || mut.m === 'scale' || mut.m === 'rigid';
  const f = FRAMES[(streamed ? s.frame++ : s.frame) % FRAMES.length]!;
  let left: Float64Array | null = f.left;
  let right: Float64Array | null = f.right;
  if ((mut.m === 'offset' || mut.m === 'scale' || mut.m === 'rigid') && mut.holdMs > 0) s.sticky = { mut, until: performance.now() + mut.holdMs };
  const sticky = s.sticky !== undefined && performance.now() < s.sticky.until ? s.sticky.mut : undefined;
  if (mut.m === 'valid' && sticky !== undefined && 'side' in sticky) {
    if (sticky.side !== 1) left = transformHand(f.left!, sticky);
    if (sticky.side !== 0) right = transformHand(f.right!, sticky);
  }
  let seq = Math.min(s.lastSeq + 1, U32_MAX);
  let tMs = clientNow(s);
  const tracked = (t: number): void => {
    if ((t & 1) === 0) left = null;
    if ((t & 2) === 0) right = null;
  };
  switch (mut.m) {
    case 'valid':
      tracked(mut.tracked);
      break;
    case 'nonfinite':
      tracked(mut.tracked);
      if (mut.at === 'tMs') tMs = mut.value;
      break;
    case 'offset':
    case 'zero':
    case 'scale':
    case 'rigid':
    case 'random':
      if (mut.side !== 1) left = transformHand(f.left!, mut);
      if (mut.side !== 0) right = transformHand(f.right!, mut);
      break;
    case 'order': {
      const last = Number.isFinite(s.lastTMs) ? s.lastTMs : tMs;
      if (mut.what === 'dup') seq = Math.max(0, s.lastSeq);
      else if (mut.what === 'back') seq = Math.max(0, s.lastSeq - mut.amount);
      else if (mut.what === 'sameTime') tMs = last;
      else if (mut.what === 'timeBack') tMs = last - mut.amount;
      else if (mut.what === 'jumpSeq') seq = Math.min(U32_MAX, s.lastSeq + mut.amount);
      else tMs = tMs + mut.amount;
      break;
    }
    default:
      break;
  }
  const bytes = encodeHandFrame(undefined, { seq, tMs, left, right });
  const dv = view(bytes);
  switch (mut.m) {
    case 'truncate':
      return bytes.slice(0, mut.len);
    case 'extend': {
      const out = new Uint8Array(FRAME_BYTES + mut.extra);
      out.set(bytes);
      return out;
    }
    case 'flip':
      for (const bit of mut.bits) bytes[bit >> 3]! ^= 1 << (bit & 7);
      return bytes;
    case 'version':
      bytes[1] = mut.v;
      return bytes;
    case 'kind':
      bytes[0] = mut.k;
      return bytes;
    case 'flags':
      bytes[2] = mut.flags;
      bytes[3] = mut.reserved;
      return bytes;
    case 'nonfinite':
      // Also into an untracked hand: ignored there, so that frame is valid.
      if (mut.at !== 'tMs') dv.setFloat32((mut.at === 'left' ? 16 : 816) + 4 * mut.index, mut.value, true);
      return bytes;
    default:
      return bytes;
  }
}

function materializeChunk(base: ChunkBase, mut: ChunkMut, action: Float32Array): Uint8Array {
  const k = mut.c === 'huge' ? mut.k : base.k;
  const next = mulberry32(base.seed);
  const target = Float32Array.from(action);
  for (let i = 0; i < ACTION_DIM; i++) {
    const b = ACTION_BOUNDS[i]!;
    if (b.kind !== 'joint') continue;
    const lo = Number.isFinite(b.lower) ? b.lower : action[i]! - 1;
    const hi = Number.isFinite(b.upper) ? b.upper : action[i]! + 1;
    target[i] = lo + (0.02 + 0.96 * next()) * (hi - lo);
  }
  const data = new Float32Array(k * ACTION_DIM);
  for (let r = 0; r < k; r++) {
    const f = base.blend * (k > 1 ? r / (k - 1) : 1);
    for (let i = 0; i < ACTION_DIM; i++) data[r * ACTION_DIM + i] = action[i]! + (target[i]! - action[i]!) * f;
  }
  const now = performance.now();
  let start = now + base.leadMs;
  let period = base.periodMs;
  const row = (r: number): number => Math.min(r, k - 1) * ACTION_DIM;
  switch (mut.c) {
    case 'nonfinite':
      data[row(mut.row) + mut.entry] = mut.value;
      break;
    case 'limits': {
      const i = BOUNDED_ENTRIES[mut.entry % BOUNDED_ENTRIES.length]!;
      const b = ACTION_BOUNDS[i]!;
      data[row(mut.row) + i] = mut.dir > 0 ? b.upper + mut.beyond : b.lower - mut.beyond;
      break;
    }
    case 'rotation': {
      const n = Math.hypot(...mut.dir);
      const d = n > 1e-6 ? mut.dir.map((x) => x / n) : [1, 0, 0];
      const at = row(mut.row) + ROT_STARTS[mut.rot % ROT_STARTS.length]!;
      for (let a = 0; a < 3; a++) data[at + a] = d[a]! * mut.norm;
      break;
    }
    case 'timing':
      if (mut.what === 'stale') start = now - mut.value;
      else if (mut.what === 'past') start = now - (k - 1) * period - mut.value;
      else if (mut.what === 'future') start = now + mut.value;
      else if (mut.what === 'start') start = mut.value;
      else period = mut.value;
      break;
    default:
      break;
  }
  const bytes = encodeActionChunk(undefined, { chunkId: base.id, startTimeMs: start, periodMs: period, k, data });
  switch (mut.c) {
    case 'k': {
      const out = new Uint8Array(24 + ROW_BYTES * mut.rows);
      out.set(bytes.subarray(0, Math.min(out.length, bytes.length)));
      view(out).setUint16(2, mut.header, true);
      return out;
    }
    case 'length': {
      const out = new Uint8Array(Math.max(0, bytes.length + mut.delta));
      out.set(bytes.subarray(0, Math.min(out.length, bytes.length)));
      return out;
    }
    case 'flip':
      for (const bit of mut.bits) bytes[(bit >> 3) % bytes.length]! ^= 1 << (bit & 7);
      return bytes;
    case 'header':
      bytes[0] = mut.kind;
      bytes[1] = mut.version;
      return bytes;
    default:
      return bytes;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

/** Writes values JSON cannot hold (±Infinity, very deep nesting) through placeholders. */
function toText(value: unknown): string {
  return JSON.stringify(value)
    .replace(/"@@(-?)inf"/g, (_m, sign: string) => `${sign}1e999`)
    .replace(/"@@deep:(\d+)"/g, (_m, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)))
    .replace(/"@@deepobj:(\d+)"/g, (_m, n: string) => '{"a":'.repeat(Number(n)) + '1' + '}'.repeat(Number(n)));
}

const shortString = fc.string({ maxLength: 24 });
const sideArb = fc.constantFrom('left', 'right');
const tokenArb = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(OP.slice(0, -1)), fc.constant(`${POLICY}x`)).filter((t) => t !== OP && t !== POLICY);
const absurdPositive = fc.oneof(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), fc.constantFrom(Number.MIN_VALUE, Number.MAX_VALUE, 1e-9, 1e9));

/** Valid control messages, by type. */
const MESSAGES = {
  hello: (roles: readonly Role[]) =>
    fc.record(
      { type: fc.constant('hello'), protocol: fc.constant(1), role: fc.constantFrom(...roles), token: tokenArb, name: fc.string({ maxLength: 64 }) },
      { requiredKeys: ['type', 'protocol', 'role'] },
    ),
  engage: fc.record({ type: fc.constant('engage'), side: sideArb }, { requiredKeys: ['type'] }),
  disengage: fc.record({ type: fc.constant('disengage'), side: sideArb }, { requiredKeys: ['type'] }),
  estop: fc.constant({ type: 'estop' }),
  reset_estop: fc.constant({ type: 'reset_estop' }),
  set_mode: fc.record({ type: fc.constant('set_mode'), mode: fc.constantFrom('idle', 'teleop', 'policy', 'replay') }),
  lease_request: (takeover: boolean) =>
    fc.record({ type: fc.constant('lease_request'), takeover: takeover ? fc.boolean() : fc.constant(false) }, { requiredKeys: ['type'] }),
  lease_release: fc.constant({ type: 'lease_release' }),
  record_start: fc.record({ type: fc.constant('record_start'), task: fc.string({ maxLength: 256 }), operator: fc.string({ maxLength: 64 }) }, { requiredKeys: ['type'] }),
  record_stop: fc.record({ type: fc.constant('record_stop'), success: fc.boolean() }, { requiredKeys: ['type'] }),
  set_recording_meta: fc.record({ type: fc.constant('set_recording_meta'), task: fc.string({ maxLength: 256 }), success: fc.boolean() }, { requiredKeys: ['type'] }),
  // Mostly sane (so the robot still moves between engages), sometimes absurd (1e-300 … 1e300).
  calibrate: fc.record({ type: fc.constant('calibrate'), translationScale: fc.oneof({ arbitrary: fc.double({ min: 0.5, max: 2, noNaN: true }), weight: 3 }, { arbitrary: absurdPositive, weight: 1 }) }),
  ping: fc.record({ type: fc.constant('ping'), id: fc.double({ noNaN: true, noDefaultInfinity: true }), clientTimeMs: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
};
type Msg = Record<string, unknown> & { type: string };

/** Any valid message (mutated into invalid ones; never sent as is). */
const anyMessage: fc.Arbitrary<Msg> = fc.oneof(
  MESSAGES.hello(['operator', 'viewer', 'policy']),
  MESSAGES.engage,
  MESSAGES.disengage,
  MESSAGES.estop,
  MESSAGES.set_mode,
  MESSAGES.lease_request(true),
  MESSAGES.record_start,
  MESSAGES.record_stop,
  MESSAGES.set_recording_meta,
  fc.record({ type: fc.constant('calibrate'), handScale: fc.oneof(absurdPositive, fc.record({ left: absurdPositive, right: absurdPositive })), translationScale: absurdPositive }, { requiredKeys: ['type'] }),
  MESSAGES.ping,
);

/** Valid messages that are safe to send as is from each kind of connection. */
function safeMessages(target: Target): fc.Arbitrary<Msg> {
  const control = [MESSAGES.engage, MESSAGES.disengage, MESSAGES.set_mode, MESSAGES.reset_estop, MESSAGES.lease_request(true), MESSAGES.lease_release,
    MESSAGES.record_start, MESSAGES.record_stop, MESSAGES.set_recording_meta, MESSAGES.calibrate];
  switch (target) {
    case 'unauth':
      return fc.oneof(MESSAGES.hello(['operator', 'policy']), MESSAGES.ping, MESSAGES.estop, ...control);
    case 'viewer':
    case 'policy':
      return fc.oneof(MESSAGES.hello(['operator', 'viewer', 'policy']), MESSAGES.ping, ...control);
    case 'operator2':
      return fc.oneof(MESSAGES.hello(['operator', 'viewer', 'policy']), MESSAGES.ping, MESSAGES.lease_request(false), MESSAGES.lease_release,
        MESSAGES.record_start, MESSAGES.record_stop, MESSAGES.set_recording_meta);
    case 'holder':
      return fc.oneof(
        { arbitrary: MESSAGES.hello(['operator', 'viewer', 'policy']), weight: 1 },
        { arbitrary: MESSAGES.ping, weight: 2 },
        { arbitrary: MESSAGES.engage, weight: 1 },
        { arbitrary: MESSAGES.disengage, weight: 1 },
        { arbitrary: MESSAGES.lease_request(true), weight: 2 },
        { arbitrary: MESSAGES.lease_release, weight: 1 },
        { arbitrary: MESSAGES.estop, weight: 1 },
        { arbitrary: MESSAGES.reset_estop, weight: 4 },
        { arbitrary: MESSAGES.record_start, weight: 1 },
        { arbitrary: MESSAGES.set_recording_meta, weight: 1 },
        { arbitrary: MESSAGES.calibrate, weight: 2 },
      );
  }
}

/** Values of the wrong type (or out of range) for any documented field; `maxDepth` bounds the nested ones. */
const wrongValues = (maxDepth: number) =>
  fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2, '', 'x', 'LEFT', 'Teleop', '1', [], [1], { a: 1 }, { left: 0 }, { left: '1' }, { right: -1 }, '@@inf', '@@-inf', 'a'.repeat(600)),
    fc.integer({ min: 2, max: maxDepth }).map((n) => `@@deep:${n}`),
    fc.integer({ min: 2, max: Math.min(maxDepth, 10_000) }).map((n) => `@@deepobj:${n}`),
    fc.string({ unit: 'binary', minLength: 65, maxLength: 80 }),
  );
const wrongValue = wrongValues(20_000);
const FIELDS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(SCHEMA).map(([t, s]) => [t, [...Object.keys(s.req), ...Object.keys(s.opt)]]),
);
const REQUIRED: Readonly<Record<string, readonly string[]>> = Object.fromEntries(Object.entries(SCHEMA).map(([t, s]) => [t, Object.keys(s.req)]));
const jsonish = fc.string({
  unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', 'type', '"type"', '"ping"', '"hello"', 'null', 'true', '1', '-', 'e', '.', '\\', '\u0000', '\ud800', '\u00e9'),
  maxLength: 40,
});

type Target = 'unauth' | 'viewer' | 'policy' | 'operator2' | 'holder';

/**
 * Whether a text, should it happen to be a valid message (a mutated field that stays valid, e.g. a
 * wrong-typed `task` that is a string), is one this connection may send without changing state the
 * test does not model (the lease, the mode, the e-stop, the calibration, authentication).
 */
function harmlessFor(target: Target): (spec: Spec) => boolean {
  return (spec) => {
    if (spec.s !== 'text') return true;
    const p = parseVerdict(Buffer.from(spec.text, 'utf8').toString('utf8'));
    if ('codes' in p) return true;
    const m = p.msg;
    // An e-stop is acted on from any connection, before hello too.
    if (target === 'unauth') return m.type !== 'estop' && (m.type !== 'hello' || (m['role'] !== 'viewer' && m['token'] !== OP && m['token'] !== POLICY));
    if (target === 'viewer' || target === 'policy') return m.type !== 'estop';
    // The holder may calibrate the arms' translation (reset after the phase), not the hand scale (the size check would then refuse the good operator's hands).
    if (target === 'holder') return m.type !== 'set_mode' && !(m.type === 'calibrate' && Object.hasOwn(m, 'handScale'));
    return ['hello', 'ping', 'lease_release', 'record_start', 'record_stop', 'set_recording_meta'].includes(m.type) || (m.type === 'lease_request' && m['takeover'] !== true);
  };
}

/** Malformed (and some well-formed) JSON text. `safe` is the pool of valid messages for this connection. */
function textSpecs(safe: fc.Arbitrary<Msg>, wrong: fc.Arbitrary<unknown> = wrongValue, maxDepth = 20_000): fc.Arbitrary<Spec> {
  const t = (note: string) => (text: string): Spec => ({ s: 'text', text, note });
  return fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(t('random string')), weight: 3 },
    { arbitrary: jsonish.map(t('json-ish string')), weight: 3 },
    {
      arbitrary: fc.tuple(anyMessage, fc.nat()).map(([m, cut]) => {
        const text = JSON.stringify(m);
        return { s: 'text', text: text.slice(0, cut % text.length), note: 'truncated JSON' } as Spec;
      }),
      weight: 3,
    },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ s: 'text', text: JSON.stringify(v) ?? 'null', note: 'JSON of a wrong type' }) as Spec), weight: 2 },
    {
      arbitrary: fc
        .tuple(fc.oneof(shortString, fc.constantFrom('Ping', 'ping ', 'set-mode', 'HELLO', '__proto__', 'constructor', 'toString', 'error', 'welcome', 'pong', 'x'.repeat(300))), fc.dictionary(shortString, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
        .filter(([type]) => !Object.hasOwn(SCHEMA, type))
        .map(([type, rest]) => ({ s: 'text', text: JSON.stringify({ ...rest, type }), note: 'unknown type' }) as Spec),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom<unknown>(null, 1, true, [], {}, ['ping'], { type: 'ping' }), fc.dictionary(shortString, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }))
        .map(([type, rest]) => ({ s: 'text', text: JSON.stringify({ ...rest, type }), note: 'type not a string' }) as Spec),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(anyMessage.filter((m) => (REQUIRED[m.type]?.length ?? 0) > 0), fc.nat()).map(([m, i]) => {
        const req = REQUIRED[m.type]!;
        const { [req[i % req.length]!]: _dropped, ...rest } = m;
        return { s: 'text', text: JSON.stringify(rest), note: 'missing field' } as Spec;
      }),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(anyMessage.filter((m) => (FIELDS[m.type]?.length ?? 0) > 0), fc.nat(), wrong).map(([m, i, v]) => {
        const fields = FIELDS[m.type]!;
        return { s: 'text', text: toText({ ...m, [fields[i % fields.length]!]: v }), note: 'field of a wrong type' } as Spec;
      }),
      weight: 4,
    },
    {
      arbitrary: fc.tuple(anyMessage, fc.constantFrom('array', 'wrapped', 'type-object', 'null-field')).map(([m, how]) => {
        const v = how === 'array' ? [m] : how === 'wrapped' ? { data: m } : how === 'type-object' ? { ...m, type: { type: m.type } } : { ...m, [FIELDS[m.type]?.[0] ?? 'type']: null };
        return { s: 'text', text: JSON.stringify(v), note: `extra nesting (${how})` } as Spec;
      }),
      weight: 2,
    },
    {
      // Valid messages, some with extra (ignored) fields nested deeply.
      arbitrary: fc.tuple(safe, fc.option(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 2, max: maxDepth }).map((n) => `@@deep:${n}`)), { nil: undefined })).map(
        ([m, extra]) => ({ s: 'text', text: toText(extra === undefined ? m : { ...m, extra }), note: 'valid message' }) as Spec,
      ),
      weight: 4,
    },
  );
}

const bitsOf = (nBits: number) => fc.array(fc.nat(nBits - 1), { minLength: 1, maxLength: 8 });
const sideArb3 = fc.constantFrom<Side3>(0, 1, 2);
const nonFiniteValue = fc.constantFrom(Number.NaN, Infinity, -Infinity);
const logUniform = (minExp: number, maxExp: number) => fc.double({ min: minExp, max: maxExp, noNaN: true }).map((e) => 10 ** e);
const signed = (a: fc.Arbitrary<number>) => fc.tuple(a, fc.boolean()).map(([v, neg]) => (neg ? -v : v));

/** How long a transformation stays on the following valid frames (0: this frame only), ms. */
const holdMs = fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 600 }));
const frameMut: fc.Arbitrary<FrameMut> = fc.oneof(
  // Mostly both hands (intermittent tracking all but stops the arms: see the report), sometimes one or none.
  { arbitrary: fc.oneof({ arbitrary: fc.constant(3), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 1 }).map((tracked): FrameMut => ({ m: 'valid', tracked })), weight: 6 },
  { arbitrary: fc.integer({ min: 0, max: FRAME_BYTES - 1 }).map((len): FrameMut => ({ m: 'truncate', len })), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 800 }).map((extra): FrameMut => ({ m: 'extend', extra })), weight: 1 },
  { arbitrary: bitsOf(FRAME_BYTES * 8).map((bits): FrameMut => ({ m: 'flip', bits })), weight: 6 },
  { arbitrary: fc.integer({ min: 16, max: 8 * 16 - 1 }).chain((b) => bitsOf(128).map((bits): FrameMut => ({ m: 'flip', bits: [b, ...bits] }))), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1).map((v): FrameMut => ({ m: 'version', v })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 255 }).filter((k) => k !== 1).map((k): FrameMut => ({ m: 'kind', k })), weight: 1 },
  {
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).filter(([f, r]) => (f & 0xfc) !== 0 || r !== 0)
      .map(([flags, reserved]): FrameMut => ({ m: 'flags', flags, reserved })),
    weight: 1,
  },
  {
    arbitrary: fc.record({ at: fc.constantFrom<'tMs' | 'left' | 'right'>('tMs', 'left', 'right'), index: fc.nat(HAND - 1), value: nonFiniteValue, tracked: fc.integer({ min: 0, max: 3 }) })
      .map((r): FrameMut => ({ m: 'nonfinite', ...r })),
    weight: 3,
  },
  {
    arbitrary: fc.tuple(sideArb3, fc.oneof(fc.constantFrom(1e6, -1e6), signed(logUniform(-2, 1)), signed(logUniform(1, 6))), fc.nat(2))
      .chain(([side, v, axis]) => holdMs.map((h): FrameMut => ({ m: 'offset', side, d: [axis === 0 ? v : 0, axis === 1 ? v : 0, axis === 2 ? v : v / 2], holdMs: h }))),
    weight: 2,
  },
  { arbitrary: sideArb3.map((side): FrameMut => ({ m: 'zero', side })), weight: 1 },
  { arbitrary: fc.tuple(sideArb3, fc.oneof(fc.constant(10), logUniform(-2, 2)), holdMs).map(([side, factor, h]): FrameMut => ({ m: 'scale', side, factor, holdMs: h })), weight: 2 },
  {
    arbitrary: fc.tuple(sideArb3, fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })),
      fc.tuple(fc.double({ min: -0.6, max: 0.6, noNaN: true }), fc.double({ min: -0.6, max: 0.6, noNaN: true }), fc.double({ min: -0.6, max: 0.6, noNaN: true })))
      .chain(([side, q, t]) => holdMs.map((h): FrameMut => ({ m: 'rigid', side, q, t, holdMs: h }))),
    weight: 3,
  },
  { arbitrary: fc.tuple(sideArb3, fc.nat(), logUniform(-3, 38)).map(([side, seed, magnitude]): FrameMut => ({ m: 'random', side, seed, magnitude })), weight: 1 },
  {
    arbitrary: fc.tuple(fc.constantFrom<'dup' | 'back' | 'sameTime' | 'timeBack' | 'jumpSeq' | 'jumpTime'>('dup', 'back', 'sameTime', 'timeBack', 'jumpSeq', 'jumpTime'),
      fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(1000, 2 ** 20, 2 ** 31), fc.constantFrom(1e3, 1e6, 1e9, 1e15, 1e300)))
      .map(([what, amount]): FrameMut => ({ m: 'order', what, amount: what === 'back' || what === 'jumpSeq' ? Math.min(Math.round(amount), 2 ** 31) : amount })),
    weight: 3,
  },
);
const frameSpec: fc.Arbitrary<Spec> = frameMut.map((mut): Spec => ({ s: 'frame', mut }));

const chunkBase: fc.Arbitrary<ChunkBase> = fc.record({
  id: fc.nat({ max: U32_MAX }),
  k: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 60 })),
  periodMs: fc.double({ min: 5, max: 50, noNaN: true }),
  leadMs: fc.double({ min: 60, max: 800, noNaN: true }),
  blend: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.nat(),
});
const chunkMut: fc.Arbitrary<ChunkMut> = fc.oneof(
  { arbitrary: fc.constant<ChunkMut>({ c: 'valid' }), weight: 5 },
  { arbitrary: fc.tuple(fc.oneof(fc.constant(0), fc.integer({ min: 257, max: 65535 }), fc.constant(300)), fc.integer({ min: 0, max: 3 })).map(([header, rows]): ChunkMut => ({ c: 'k', header, rows })), weight: 2 },
  { arbitrary: fc.integer({ min: -400, max: 400 }).filter((d) => d !== 0).map((delta): ChunkMut => ({ c: 'length', delta })), weight: 2 },
  { arbitrary: fc.record({ row: fc.nat(59), entry: fc.nat(ACTION_DIM - 1), value: nonFiniteValue }).map((r): ChunkMut => ({ c: 'nonfinite', ...r })), weight: 2 },
  {
    arbitrary: fc.record({ row: fc.nat(59), entry: fc.nat(BOUNDED_ENTRIES.length - 1), beyond: fc.oneof(logUniform(-3, 6), fc.constant(1e6)), dir: fc.constantFrom<1 | -1>(1, -1) })
      .map((r): ChunkMut => ({ c: 'limits', ...r })),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      row: fc.nat(59), rot: fc.nat(ROT_STARTS.length - 1),
      dir: fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })),
      norm: fc.double({ min: Math.PI + 1e-3, max: 50, noNaN: true }),
    }).map((r): ChunkMut => ({ c: 'rotation', ...r })),
    weight: 2,
  },
  {
    arbitrary: fc.oneof(
      fc.double({ min: 520, max: 1e7, noNaN: true }).map((value): ChunkMut => ({ c: 'timing', what: 'stale', value })),
      fc.double({ min: 5, max: 400, noNaN: true }).map((value): ChunkMut => ({ c: 'timing', what: 'past', value })),
      fc.oneof(fc.double({ min: 1100, max: 1e12, noNaN: true }), fc.constant(1e300)).map((value): ChunkMut => ({ c: 'timing', what: 'future', value })),
      fc.constantFrom(Number.NaN, Infinity, -Infinity).map((value): ChunkMut => ({ c: 'timing', what: 'start', value })),
      fc.constantFrom(0, -0, -1, -Infinity, Infinity, Number.NaN, Number.MIN_VALUE, 1e300, Number.MAX_VALUE).map((value): ChunkMut => ({ c: 'timing', what: 'period', value })),
    ),
    weight: 4,
  },
  { arbitrary: bitsOf(8 * (24 + ROW_BYTES)).map((bits): ChunkMut => ({ c: 'flip', bits })), weight: 3 },
  { arbitrary: fc.integer({ min: 187, max: 256 }).map((k): ChunkMut => ({ c: 'huge', k })), weight: 1 },
  {
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).filter(([kind, v]) => kind !== 3 || v !== 1)
      .map(([kind, version]): ChunkMut => ({ c: 'header', kind, version })),
    weight: 1,
  },
);
const chunkSpec: fc.Arbitrary<Spec> = fc.tuple(chunkBase, chunkMut).map(([base, mut]): Spec => ({ s: 'chunk', base, mut }));

const bytesSpec: fc.Arbitrary<Spec> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.tuple(fc.constantFrom(1, 2, 3, 0, 255), fc.constantFrom(1, 1, 0, 2), fc.uint8Array({ maxLength: 2000 })).map(([k, v, rest]) => Uint8Array.from([k, v, ...rest])),
  fc.tuple(fc.constantFrom(1, 3), fc.uint8Array({ minLength: FRAME_BYTES - 2, maxLength: FRAME_BYTES - 2 })).map(([k, rest]) => Uint8Array.from([k, 1, ...rest])),
).map((bytes): Spec => ({ s: 'bytes', bytes }));
const hugeSpec: fc.Arbitrary<Spec> = fc.record({ size: fc.oneof(fc.constant(MAX_BYTES + 1), fc.integer({ min: MAX_BYTES + 1, max: 200 * 1024 })), binary: fc.boolean() })
  .map((r): Spec => ({ s: 'huge', ...r }));
const emptySpec: fc.Arbitrary<Spec> = fc.boolean().map((binary): Spec => ({ s: 'empty', binary }));

function mixed(target: Target, weights: { text: number; frame: number; chunk: number; bytes: number; huge: number; empty: number }): fc.Arbitrary<Spec> {
  return fc.oneof(
    { arbitrary: textSpecs(safeMessages(target)).filter(harmlessFor(target)), weight: weights.text },
    { arbitrary: frameSpec, weight: weights.frame },
    { arbitrary: chunkSpec, weight: weights.chunk },
    { arbitrary: bytesSpec, weight: weights.bytes },
    { arbitrary: hugeSpec, weight: weights.huge },
    { arbitrary: emptySpec, weight: weights.empty },
  );
}

// ---------------------------------------------------------------------------------------------
// Watching the robot: a viewer connected throughout

class StateMonitor {
  states = 0;
  maxGapMs = 0;
  measuring = false;
  readonly bad: string[] = [];
  /** The last state's action (a valid base for chunks). */
  readonly action = new Float32Array(ACTION_DIM);
  /** Largest move of any commanded joint since {@link mark}, rad. */
  maxMotion = 0;
  /** Closest approach of an arm joint to one of its limits since {@link mark}, rad. */
  minArmMargin = Infinity;
  /** Whether the last state had an engaged side. */
  engaged = false;
  private readonly commanded = new Float32Array(56);
  private readonly ref = new Float32Array(56);
  private lastAt = Number.NaN;

  mark(): void {
    this.ref.set(this.commanded);
    this.maxMotion = 0;
    this.minArmMargin = Infinity;
  }

  constructor(c: TestClient) {
    c.ws.on('message', (data, isBinary) => {
      if (isBinary) this.onState(data as Buffer);
    });
  }

  /** Decoded straight from the documented layout (kind 2, 856 bytes, commanded f32[56] at 56, action f32[88] at 280). */
  private onState(b: Buffer): void {
    const at = performance.now();
    if (this.measuring && !Number.isNaN(this.lastAt)) this.maxGapMs = Math.max(this.maxGapMs, at - this.lastAt);
    this.lastAt = at;
    this.states++;
    if (b.byteLength !== 856 || b[0] !== 2 || b[1] !== 1) {
      this.bad.push(`state ${this.states}: not a ROBOT_STATE (${b.byteLength} bytes, kind ${b[0]})`);
      return;
    }
    const dv = view(b);
    this.engaged = b[29] === 1 || b[33] === 1;
    if (!Number.isFinite(dv.getFloat64(8, true))) this.bad.push(`state ${this.states}: serverTimeMs not finite`);
    for (let i = 0; i < 56; i++) {
      const q = dv.getFloat32(56 + 4 * i, true);
      const l = JOINT_LIMITS[i]!;
      if (!(Number.isFinite(q) && q >= l.lower - 1e-6 && q <= l.upper + 1e-6)) {
        this.bad.push(`state ${this.states}: ${STATE_JOINT_NAMES[i]} = ${q} outside [${l.lower}, ${l.upper}]`);
      }
      this.commanded[i] = q;
      if (i < 14) this.minArmMargin = Math.min(this.minArmMargin, q - l.lower, l.upper - q);
      this.maxMotion = Math.max(this.maxMotion, Math.abs(q - this.ref[i]!));
    }
    for (let i = 0; i < ACTION_DIM; i++) {
      const v = dv.getFloat32(280 + 4 * i, true);
      if (!Number.isFinite(v)) this.bad.push(`state ${this.states}: action[${i}] = ${v}`);
      this.action[i] = v;
    }
    if (this.bad.length > 50) this.bad.length = 50;
  }
}

/** The well-behaved operator: demo frames at ~90 Hz, stamped with its own monotonic clock. */
class GoodOperator {
  seq = 0;
  t = 0;
  i = 0;
  sent = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  constructor(readonly c: TestClient) {}
  sendOne(): void {
    const f = FRAMES[this.i++ % FRAMES.length]!;
    this.t = Math.max(this.t + 0.5, performance.now());
    this.c.sendBinary(encodeHandFrame(undefined, { seq: ++this.seq, tMs: this.t, left: f.left, right: f.right }));
    this.sent++;
  }
  start(): void {
    this.timer ??= setInterval(() => this.sendOne(), 11);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
  /**
   * The errors the good operator got, except FRAME_STALE: on a loaded machine an honest frame can
   * arrive later than the stale limit, and refusing it is right (counted in {@link stale}).
   */
  errors(): Json[] {
    return this.c.json.filter((m) => m.type === 'error' && m['code'] !== 'FRAME_STALE');
  }
  /** Frames refused as late. */
  stale(): number {
    return this.c.json.filter((m) => m.type === 'error' && m['code'] === 'FRAME_STALE').length;
  }
}

// ---------------------------------------------------------------------------------------------
// Sending one input and judging the answer

let barrierId = 0;

function materialize(spec: Spec, conn: Conn, monitor: StateMonitor): string | Uint8Array {
  switch (spec.s) {
    case 'bytes':
      return spec.bytes;
    case 'empty':
      return spec.binary ? new Uint8Array(0) : '';
    case 'huge':
      return spec.binary ? new Uint8Array(spec.size).fill(1) : `"${'x'.repeat(spec.size - 2)}"`;
    case 'text':
      return spec.text;
    case 'frame':
      return materializeFrame(spec.mut, conn.sess);
    case 'chunk':
      return materializeChunk(spec.base, spec.mut, monitor.action);
  }
}

function describeInput(data: string | Uint8Array): string {
  if (typeof data === 'string') return `text (${data.length} chars): ${JSON.stringify(data.slice(0, 160))}`;
  return `binary (${data.byteLength} bytes): ${Buffer.from(data.subarray(0, 24)).toString('hex')}…`;
}

async function fire(conn: Conn, spec: Spec, w: World, monitor: StateMonitor, t: Tally): Promise<void> {
  await fireData(conn, materialize(spec, conn, monitor), w, t);
}

async function fireData(conn: Conn, data: string | Uint8Array, w: World, t: Tally): Promise<void> {
  const c = conn.c;
  const from = c.json.length;
  const id = ++barrierId;
  const lo = performance.now();
  c.ws.send(data, { binary: typeof data !== 'string' });
  let isBarrier: (m: Json) => boolean;
  if (conn.role === undefined) {
    const type = `fuzz_barrier_${id}`;
    c.ws.send(JSON.stringify({ type }));
    isBarrier = (m) => m.type === 'error' && m['code'] === 'PROTO_UNKNOWN_TYPE' && m['ref'] === type;
  } else {
    c.send({ type: 'ping', id: -id, clientTimeMs: 0 });
    isBarrier = (m) => m.type === 'pong' && m['id'] === -id;
  }
  await Promise.race([c.waitJson(isBarrier, 5000, from, `the barrier after ${describeInput(data)}`), conn.closedError()]);
  const hi = performance.now();
  const end = c.json.findIndex((m, i) => i >= from && isBarrier(m));
  const errors = c.json.slice(from, end).filter((m) => m.type === 'error');
  t.tried++;
  const v = typeof data === 'string' ? textVerdict(data, conn, w) : binaryVerdict(data, conn, w, { lo, hi });
  const fail = (what: string): never => {
    const expected = `${[...v.codes].join(' | ') || '(no code)'}${v.pass ? ' or no error' : ''}`;
    throw new Error(`${conn.name} (${conn.role ?? 'unauthenticated'}): ${what}\n  input: ${describeInput(data)}\n  oracle: ${v.why}; expected ${expected}\n  got: ${JSON.stringify(errors).slice(0, 600)}`);
  };
  for (const e of errors) {
    if (typeof e['code'] !== 'string' || !CODE_SET.has(e['code'])) fail(`an undocumented error code ${String(e['code'])}`);
    if (e['code'] === 'INTERNAL') fail('INTERNAL: the server threw while handling the input');
    if (typeof e['message'] !== 'string' || e['message'] === '') fail('an error without a message');
    // `ref` names what was refused: `binary:<kind>` (`binary:empty`) for binary messages.
    if (e['ref'] !== undefined && typeof data !== 'string' && e['ref'] !== binaryRef(data)) fail(`ref ${String(e['ref'])} for a binary message`);
  }
  if (errors.length > 1) fail('more than one error for one input');
  const got = (errors[0]?.['code'] as WireErrorCode | undefined) ?? null;
  if (got === null) {
    if (!v.pass) fail('no error for an invalid input');
    t.valid++;
  } else {
    if (!v.codes.has(got)) fail(`the wrong code ${got}`);
    t.answered++;
    t.codes.set(got, (t.codes.get(got) ?? 0) + 1);
  }
  v.apply?.(got);
}

/**
 * Runs a fast-check property over the inputs, spread over at least `minMs` of real time (so the
 * robot moves and the good operator streams meanwhile); the seed is in the message of any failure.
 */
async function fuzz<T>(phase: string, seed: number, numRuns: number, minMs: number, arb: fc.Arbitrary<T>, run: (v: T) => Promise<void>): Promise<void> {
  const start = performance.now();
  let i = 0;
  const paced = async (v: T): Promise<void> => {
    await run(v);
    const due = start + (++i * minMs) / numRuns;
    if (performance.now() < due - 2) await sleep(due - performance.now());
  };
  try {
    await fc.assert(fc.asyncProperty(arb, paced), { seed, numRuns, endOnFailure: true });
  } catch (err) {
    console.error(`fuzz ${phase} failed (fast-check seed ${seed}, numRuns ${numRuns})`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The server under test

let run: RunningDexbridge;
let url: string;
let dir: string;
let monitor: StateMonitor;
let viewer: TestClient;
let good: GoodOperator;
const faults: unknown[] = [];
const onFault = (err: unknown): void => {
  faults.push(err);
};
const totals = { A: tally(), C: tally(), B: tally(), push: tally() };

async function waitEvent(c: TestClient, event: string, detail: Record<string, unknown>, from: number): Promise<void> {
  await c.waitJson(
    (m) => m.type === 'event' && m['event'] === event && Object.entries(detail).every(([k, v]) => (m['detail'] as Record<string, unknown>)[k] === v),
    3000, from, `event ${event} ${JSON.stringify(detail)}`,
  );
}

beforeAll(async () => {
  process.on('uncaughtException', onFault);
  process.on('unhandledRejection', onFault);
  dir = mkdtempSync(join(tmpdir(), 'dexbridge-fuzz-'));
  // The unauthenticated fuzz connection lives as long as phase A: no hello deadline (admission
  // deadlines are tested in hardening.test.ts), however slowly a loaded machine runs the phase.
  run = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, record: 'off', recordingsDir: dir, maxMessagesPerSecond: 100_000, helloTimeoutMs: 3_600_000 });
  url = `ws://127.0.0.1:${run.port}/ws`;
  viewer = await TestClient.hello(url, 'viewer', undefined, 'watcher');
  monitor = new StateMonitor(viewer);
  good = new GoodOperator(await TestClient.hello(url, 'operator', OP, 'good'));
  const from = viewer.json.length;
  good.start();
  await waitEvent(viewer, 'lease', { holder: 'good' }, from);
  good.c.send({ type: 'engage' });
  await waitEvent(viewer, 'engage', { by: 'good' }, from);
  await viewer.waitStates(10);
  monitor.measuring = true;
});

afterAll(async () => {
  good?.stop();
  process.off('uncaughtException', onFault);
  process.off('unhandledRejection', onFault);
  await run?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fuzzing the server with bad input', () => {
  it('phase A: unauthenticated, viewer, second operator and policy connections get a documented code for every bad input', async () => {
    const w: World = { holder: 'good', mode: 'teleop', estop: false, allow: new Set() };
    const conns = {
      unauth: new Conn('unauth', await TestClient.connect(url), undefined),
      viewer: new Conn('viewer', await TestClient.hello(url, 'viewer', undefined, 'fuzz-viewer'), 'viewer'),
      operator2: new Conn('operator2', await TestClient.hello(url, 'operator', OP, 'fuzz-op2'), 'operator'),
      policy: new Conn('policy', await TestClient.hello(url, 'policy', POLICY, 'fuzz-policy'), 'policy'),
    };
    const weights = { text: 40, frame: 20, chunk: 15, bytes: 10, huge: 3, empty: 3 };
    const arb = fc.oneof(
      { arbitrary: fc.tuple(fc.constant('unauth' as const), mixed('unauth', weights)), weight: 15 },
      { arbitrary: fc.tuple(fc.constant('viewer' as const), mixed('viewer', weights)), weight: 25 },
      { arbitrary: fc.tuple(fc.constant('operator2' as const), mixed('operator2', weights)), weight: 30 },
      { arbitrary: fc.tuple(fc.constant('policy' as const), mixed('policy', weights)), weight: 30 },
    );
    await fuzz('phase A', SEEDS.phaseA, RUNS.phaseA, 3000, arb, ([target, spec]) => fire(conns[target], spec, w, monitor, totals.A));
    expect(run.server.leaseHolder()).toBe('good');
    for (const c of Object.values(conns)) {
      expect(c.closeCode).toBeUndefined();
      await c.c.close();
    }
    expect(good.errors()).toEqual([]);
  }, 120_000);

  it('phase C: in policy mode a policy’s malformed, out-of-limits, badly timed chunks get their codes and valid ones drive the robot', async () => {
    const from = viewer.json.length;
    good.c.send({ type: 'set_mode', mode: 'policy' });
    await waitEvent(viewer, 'mode', { to: 'policy' }, from);
    const w: World = { holder: 'good', mode: 'policy', estop: false, allow: new Set() };
    const policy = new Conn('policy', await TestClient.hello(url, 'policy', POLICY, 'fuzz-policy-c'), 'policy');
    monitor.mark();
    const arb = fc.oneof({ arbitrary: chunkSpec, weight: 80 }, { arbitrary: mixed('policy', { text: 10, frame: 4, chunk: 0, bytes: 4, huge: 1, empty: 1 }), weight: 20 });
    try {
      await fuzz('phase C', SEEDS.phaseC, RUNS.phaseC, 2500, arb, (spec) => fire(policy, spec, w, monitor, totals.C));
      expect(totals.C.valid).toBeGreaterThan(20);
      // The valid chunks drove the robot (so the limits were tested in motion). How far depends on
      // how much of each chunk is still ahead when it arrives, which a loaded machine shortens; the
      // pushes of phase B drive the arms into their limits for sure.
      expect(monitor.maxMotion).toBeGreaterThan(0);
      console.log(`fuzz phase C: the commanded joints moved up to ${monitor.maxMotion.toFixed(3)} rad`);
      expect(policy.closeCode).toBeUndefined();
    } finally {
      // Back to teleop whatever happened, so a failure here does not take phase B down with it.
      await policy.c.close();
      const back = viewer.json.length;
      good.c.send({ type: 'set_mode', mode: 'teleop' });
      await waitEvent(viewer, 'mode', { to: 'teleop' }, back);
      good.c.send({ type: 'engage' });
      await waitEvent(viewer, 'engage', { by: 'good' }, back);
    }
    expect(good.errors()).toEqual([]);
  }, 120_000);

  it('phase B: the lease holder’s bad frames (NaN, absurd hands, flipped bits, out of order) get their codes and never move the robot out of its limits', async () => {
    good.stop();
    const w: World = { holder: null, mode: 'teleop', estop: false, allow: new Set(['lease', 'engage', 'estop', 'calibrate']) };
    let holder: Conn | undefined;
    let reconnects = 0;
    /** (Re)connects the fuzzing operator, takes the lease and engages. */
    const connect = async (): Promise<Conn> => {
      if (holder) {
        await holder.c.close();
        reconnects++;
        await viewer.until(() => run.server.leaseHolder() !== 'fuzz-holder', 3000, 'the lease freed');
        if (w.holder === holder) w.holder = null;
      }
      const c = new Conn('holder', await TestClient.hello(url, 'operator', OP, 'fuzz-holder'), 'operator');
      const from = viewer.json.length;
      c.c.send({ type: 'lease_request', takeover: true });
      await waitEvent(viewer, 'lease', { holder: 'fuzz-holder' }, from);
      w.holder = c;
      if (!w.estop) {
        c.c.send({ type: 'engage' });
        await waitEvent(viewer, 'engage', { by: 'fuzz-holder' }, from);
      }
      return c;
    };
    holder = await connect();
    monitor.mark();
    let lastEngage = performance.now();
    let skipped = 0;
    const arb = mixed('holder', { text: 14, frame: 70, chunk: 4, bytes: 6, huge: 2, empty: 2 });
    await fuzz('phase B', SEEDS.phaseB, RUNS.phaseB, 5000, arb, async (spec) => {
      const s = holder!.sess;
      // A client whose clock or seq ran far ahead starts a new session (as a real one would have to).
      if (s.offset > 1e12 || s.lastTMs > 1e12 || s.lastSeq > U32_MAX - 1e6) holder = await connect();
      // Re-engage when a fuzzed disengage (or the gesture, or a lease change) left both arms out.
      if (!monitor.engaged && performance.now() - lastEngage > 250 && !w.estop && w.holder === holder) {
        lastEngage = performance.now();
        holder!.c.send({ type: 'engage' });
      }
      const data = materialize(spec, holder!, monitor);
      if (freezesTeleop(data, holder!.sess)) {
        skipped++;
        fc.pre(false);
      }
      await fireData(holder!, data, w, totals.B);
    });
    // The accepted frames (rigid moves, offsets, scaled hands) drove the robot (how far depends on
    // how the frames were spaced in time; the pushes below go into the limits for sure).
    expect(monitor.maxMotion).toBeGreaterThan(0);
    const moved = monitor.maxMotion;
    // Sustained pushes: both hands moved metres away (and the arms' translation scaled up to 4×, the
    // documented maximum) for 660 ms each, so the arms run into their joint limits and the workspace box.
    let from = viewer.json.length;
    if (w.estop) {
      holder!.c.send({ type: 'reset_estop' });
      await waitEvent(viewer, 'estop_reset', {}, from);
      w.estop = false;
    }
    if (w.holder !== holder) {
      holder!.c.send({ type: 'lease_request' });
      await waitEvent(viewer, 'lease', { holder: 'fuzz-holder' }, from);
      w.holder = holder!;
    }
    monitor.mark();
    const pushes = fc.sample(
      fc.record({
        d: fc.tuple(fc.integer({ min: -500, max: 500 }), fc.integer({ min: -500, max: 500 }), fc.integer({ min: -500, max: 500 })).map((cm) => cm.map((c) => c / 100) as [number, number, number]),
        scale: fc.constantFrom(1, 2, 4),
      }),
      { seed: SEEDS.push, numRuns: 4 },
    );
    for (const { d, scale } of pushes) {
      from = viewer.json.length;
      holder!.c.send({ type: 'calibrate', translationScale: scale });
      holder!.c.send({ type: 'engage' });
      await waitEvent(viewer, 'engage', { by: 'fuzz-holder' }, from);
      for (let i = 0; i < 60; i++) {
        await fire(holder!, { s: 'frame', mut: { m: 'offset', side: 2, d: i < 5 ? [0, 0, 0] : d, holdMs: 0 } }, w, monitor, totals.push);
        await sleep(11);
      }
    }
    expect(monitor.maxMotion).toBeGreaterThan(0.1);
    console.log(`fuzz phase B pushes: ${JSON.stringify(pushes.map((p) => ({ d: p.d.map((x) => +x.toFixed(2)), scale: p.scale })))} moved the arms up to ${monitor.maxMotion.toFixed(3)} rad, to within ${monitor.minArmMargin.toFixed(4)} rad of a joint limit`);
    // Leave the robot as it was found: e-stop cleared, unit translation scale, the good operator in charge.
    from = viewer.json.length;
    holder!.c.send({ type: 'calibrate', translationScale: 1 });
    await waitEvent(viewer, 'tracking', {}, from);
    expect(holder!.closeCode).toBeUndefined();
    await holder!.c.close();
    good.c.send({ type: 'lease_request', takeover: true });
    await waitEvent(viewer, 'lease', { holder: 'good' }, from);
    good.start();
    good.c.send({ type: 'engage' });
    await waitEvent(viewer, 'engage', { by: 'good' }, from);
    const sent = good.sent;
    // The good operator goes on sending (waited for, not timed: a busy machine paces it slower).
    await good.c.until(() => good.sent - sent > 20, 30_000, 'the good operator sending again');
    expect(good.errors()).toEqual([]);
    console.log(`fuzz phase B: the commanded joints moved up to ${moved.toFixed(3)} rad; ${reconnects} reconnects of the fuzzing lease holder; ${skipped} frames with a > 1e12 ms tMs jump left to the regression test`);
  }, 120_000);

  it('closes a connection sending more than the 1 MiB hard cap with 1009 (exactly the cap gets PROTO_TOO_LARGE) and keeps serving the others', async () => {
    const c = new Conn('big', await TestClient.hello(url, 'viewer', undefined, 'big'), 'viewer');
    const from = c.c.json.length;
    c.c.sendBinary(new Uint8Array(HARD_CAP));
    await c.c.waitError('PROTO_TOO_LARGE', 5000);
    expect(c.c.json.slice(from).filter((m) => m.type === 'error')).toHaveLength(1);
    c.c.ws.send(`"${'x'.repeat(HARD_CAP + 1)}"`);
    await Promise.race([c.closedError().catch(() => undefined), sleep(5000)]);
    expect(c.closeCode).toBe(1009);
    // Invalid UTF-8 in a text frame (only a non-browser client can send one): today ws fails the
    // connection with 1007 as RFC 6455 §8.1 requires, below the cap and contrary to "the connection
    // stays open" in docs/protocol.md (see the report). Either that, or a documented code.
    const u = new Conn('utf8', await TestClient.hello(url, 'viewer', undefined, 'utf8'), 'viewer');
    const uFrom = u.c.json.length;
    u.c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    await Promise.race([u.closedError().catch(() => undefined), u.c.waitJson((m) => m.type === 'error', 5000, uFrom)]);
    if (u.closeCode !== undefined) expect(u.closeCode).toBe(1007);
    else expect(u.c.json.slice(uFrom).find((m) => m.type === 'error')?.['code']).toSatisfy((code: unknown) => typeof code === 'string' && CODE_SET.has(code) && code !== 'INTERNAL');
    console.log(`fuzz: invalid UTF-8 in a text frame: ${u.closeCode !== undefined ? `closed with ${u.closeCode}` : 'answered with a code'}`);
    await u.c.close();
    // The others did not notice.
    const states = monitor.states;
    viewer.send({ type: 'ping', id: 7, clientTimeMs: 7 });
    await viewer.waitJson((m) => m.type === 'pong' && m['id'] === 7);
    const other = await TestClient.hello(url, 'policy', POLICY, 'after');
    other.send({ type: 'ping', id: 8, clientTimeMs: 8 });
    await other.waitJson((m) => m.type === 'pong' && m['id'] === 8);
    await other.close();
    await viewer.until(() => monitor.states > states + 10, 2000, 'states after the 1009');
    expect(good.errors()).toEqual([]);
  }, 120_000);

  it('after the run: no exception escaped, the server still answers ping, the viewer kept receiving states and the robot stayed in its limits', async () => {
    viewer.send({ type: 'ping', id: 42, clientTimeMs: 1 });
    const pong = await viewer.waitJson((m) => m.type === 'pong' && m['id'] === 42);
    expect(pong['clientTimeMs']).toBe(1);
    monitor.measuring = false;
    good.stop();
    const all = Object.values(totals).reduce((a, t) => ({ tried: a.tried + t.tried, answered: a.answered + t.answered, valid: a.valid + t.valid }), { tried: 0, answered: 0, valid: 0 });
    const codes = new Map<string, number>();
    for (const t of Object.values(totals)) for (const [k, n] of t.codes) codes.set(k, (codes.get(k) ?? 0) + n);
    console.log(
      `fuzz: ${all.tried} inputs, ${all.answered} answered with codes, ${all.valid} valid ` +
        `(tried/answered/valid: A ${totals.A.tried}/${totals.A.answered}/${totals.A.valid}, C ${totals.C.tried}/${totals.C.answered}/${totals.C.valid}, ` +
        `B ${totals.B.tried}/${totals.B.answered}/${totals.B.valid}, pushes ${totals.push.tried}/${totals.push.answered}/${totals.push.valid}); ` +
        `viewer: ${monitor.states} states, max gap ${monitor.maxGapMs.toFixed(1)} ms; good operator: ${good.sent} frames, ${good.errors().length} errors, ${good.stale()} late (FRAME_STALE)\n` +
        `  codes: ${[...codes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    expect(faults).toEqual([]);
    expect(all.tried).toBe(all.answered + all.valid);
    expect(all.tried).toBe(RUNS.phaseA + RUNS.phaseB + RUNS.phaseC + 4 * 60);
    expect(monitor.bad).toEqual([]);
    // The viewer kept receiving states through every phase (how evenly is for npm run bench:load).
    expect(monitor.states).toBeGreaterThan(100);
    expect(good.errors()).toEqual([]);
    expect(viewer.json.filter((m) => m.type === 'error')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// A bug the fuzzing found (fixed): a regression test

describe('regression: a far-future frame stamp', () => {
  // ControlLoop.handFrame mapped operator time to a monotonic loop time with
  // `offset = max(recv − tMs, lastRetargetTMs + 1 − tMs)`, so one accepted frame at tMs ≈ 1e300
  // set lastRetargetTMs ≈ 1e300 and time stopped advancing for every later operator: nobody could
  // move the robot until a restart. The offset now re-anchors when operator time strays more than
  // 1 s from the server's.
  it('after one accepted HAND_FRAME with tMs +1e300 ms, a new well-behaved operator can still move the robot', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dexbridge-fuzz-bug-'));
    const srv = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, record: 'off', recordingsDir: d });
    try {
      const u = `ws://127.0.0.1:${srv.port}/ws`;
      const watcher = await TestClient.hello(u, 'viewer');
      const stream = async (c: TestClient, st: { seq: number; t: number }, n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const f = FRAMES[st.seq % FRAMES.length]!;
          st.t = Math.max(st.t + 1, performance.now());
          c.sendBinary(encodeHandFrame(undefined, { seq: ++st.seq, tMs: st.t, left: f.left, right: f.right }));
          await sleep(11);
        }
      };
      const a = await TestClient.hello(u, 'operator', OP, 'a');
      const sa = { seq: 0, t: 0 };
      await stream(a, sa, 5);
      a.send({ type: 'engage' });
      await stream(a, sa, 10);
      a.sendBinary(encodeHandFrame(undefined, { seq: ++sa.seq, tMs: sa.t + 1e300, left: FRAMES[0]!.left, right: FRAMES[0]!.right }));
      await a.close();
      const b = await TestClient.hello(u, 'operator', OP, 'b');
      const sb = { seq: 0, t: 0 };
      await stream(b, sb, 5);
      b.send({ type: 'engage' });
      const from = watcher.states.length;
      await stream(b, sb, 60);
      const states = watcher.states.slice(from);
      const first = states[0]!.commanded;
      const moved = Math.max(...states.map((st) => Math.max(...Array.from(st.commanded.subarray(0, 14), (q, i) => Math.abs(q - first[i]!)))));
      expect(states.some((st) => st.status.left.engaged || st.status.right.engaged)).toBe(true);
      expect(moved).toBeGreaterThan(0.1);
      await Promise.all([b.close(), watcher.close()]);
    } finally {
      await srv.close();
      rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// The codec alone

describe('the codec never throws', () => {
  const isKnown = (r: { ok: boolean; code?: unknown; message?: unknown }): boolean =>
    r.ok || (typeof r.code === 'string' && CODE_SET.has(r.code) && r.code !== 'INTERNAL' && typeof r.message === 'string');

  it('parseClientMessage and validateClientMessage: any text or value gives a message or a documented code (and the oracle agrees)', { timeout: 60_000 }, () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      jsonish,
      textSpecs(fc.oneof(anyMessage, MESSAGES.hello(['viewer'])), wrongValues(200), 200).map((s) => (s.s === 'text' ? s.text : '')),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.tuple(fc.constantFrom(...Object.keys(SCHEMA)), fc.dictionary(fc.constantFrom('protocol', 'role', 'token', 'name', 'side', 'mode', 'takeover', 'task', 'operator', 'success', 'handScale', 'translationScale', 'id', 'clientTimeMs', 'left', 'right', 'cameras'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), wrongValues(200))))
        .map(([type, fields]) => toText({ ...fields, type })),
    );
    fc.assert(
      fc.property(text, (t) => {
        const r = parseClientMessage(t);
        expect(isKnown(r)).toBe(true);
        const oracle = parseVerdict(t);
        if ('codes' in oracle) {
          expect(r.ok ? 'ok' : r.code, t).toSatisfy((c: string) => oracle.codes.has(c as WireErrorCode));
        } else {
          expect(r.ok, t).toBe(true);
        }
        expect(isKnown(parseServerMessage(t))).toBe(true);
      }),
      { seed: SEEDS.unit, numRuns: RUNS.unit },
    );
    // The values the property above keeps shallow: as deep as a 64 KiB frame allows.
    for (const text of [toText({ type: 'set_mode', mode: '@@deep:32700' }), toText({ type: 'calibrate', handScale: { left: '@@deepobj:10900' } }), toText({ type: 'ping', id: 1, clientTimeMs: 1, x: '@@deep:32700' })]) {
      const r = parseClientMessage(text);
      expect(isKnown(r)).toBe(true);
      expect(r.ok ? 'ok' : r.code).toBe(text.includes('"ping"') ? 'ok' : 'PROTO_BAD_MESSAGE');
    }
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }), (v) => {
        expect(isKnown(validateClientMessage(v))).toBe(true);
        expect(isKnown(validateClientMessage({ type: 'calibrate', handScale: v, translationScale: v }))).toBe(true);
        expect(isKnown(validateClientMessage({ type: 'hello', protocol: 1, role: 'viewer', name: v }))).toBe(true);
      }),
      { seed: SEEDS.unit + 1, numRuns: RUNS.unit / 4 },
    );
  });

  it('the binary decoders: any bytes, at any offset, in any view, give a message or a documented code', { timeout: 60_000 }, () => {
    const validFrame = encodeHandFrame(undefined, { seq: 9, tMs: 5, left: FRAMES[0]!.left, right: FRAMES[0]!.right });
    const validChunk = encodeActionChunk(undefined, { chunkId: 1, startTimeMs: 0, periodMs: 20, k: 2, data: new Float32Array(2 * ACTION_DIM) });
    const validState = encodeRobotState(undefined, {
      seq: 1, serverTimeMs: 1, mode: 'teleop', estopLatched: false, recording: false, rosConnected: false, watchdogHold: false, leaseHeld: true,
      sourceTMs: Number.NaN, sourceSeq: 0, retargetMs: 0, serverLatencyMs: Number.NaN, chunkQueueDepth: 0, chunkLatencyMs: Number.NaN,
      status: {
        left: { hold: 'none', engaged: true, hand: { status: 'converged' }, arm: { status: 'converged' } },
        right: { hold: 'missing', engaged: false, hand: { status: 'held' }, arm: { status: 'not_engaged' } },
      },
      commanded: new Float32Array(56), action: new Float32Array(ACTION_DIM), measured: null,
    });
    const flipped = (valid: Uint8Array) => bitsOf(valid.length * 8).map((bits) => {
      const b = valid.slice();
      for (const bit of bits) b[bit >> 3]! ^= 1 << (bit & 7);
      return b;
    });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2100 }),
      fc.tuple(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 1, 0), fc.uint8Array({ maxLength: 2100 })).map(([k, v, rest]) => Uint8Array.from([k, v, ...rest])),
      flipped(validFrame),
      flipped(validChunk),
      flipped(validState),
      fc.integer({ min: 0, max: validFrame.length + 10 }).map((n) => {
        const b = new Uint8Array(n);
        b.set(validFrame.subarray(0, Math.min(n, validFrame.length)));
        return b;
      }),
    );
    const form = fc.constantFrom('view', 'buffer', 'arraybuffer', 'dataview', 'float32');
    const into64 = createDecodedHandFrame(Float64Array);
    const intoState = createDecodedRobotState();
    fc.assert(
      fc.property(bytes, fc.nat(15), form, (b, offset, how) => {
        const backing = new Uint8Array(b.length + offset + 8);
        backing.set(b, offset);
        const v = backing.subarray(offset, offset + b.length);
        const input =
          how === 'view' ? v : how === 'buffer' ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : how === 'arraybuffer' ? v.slice().buffer
            : how === 'dataview' ? new DataView(v.buffer, v.byteOffset, v.byteLength)
              : b.length % 4 === 0 ? new Float32Array(b.slice().buffer) : v;
        for (const r of [decodeHandFrame(input), decodeHandFrame(input, into64), decodeRobotState(input), decodeRobotState(input, intoState), decodeActionChunk(input)]) {
          expect(isKnown(r)).toBe(true);
        }
        const kind = peekKind(input);
        expect(kind === undefined ? b.length === 0 : kind === b[0]).toBe(true);
        expect(binaryRef(input)).toBe(b.length === 0 ? 'binary:empty' : `binary:${b[0]}`);
        const f = decodeHandFrame(input);
        if (f.ok) expect(isKnown(checkHandFrameOrder({ seq: f.seq, tMs: f.tMs }, { seq: f.seq, tMs: f.tMs }) ?? { ok: true })).toBe(true);
      }),
      { seed: SEEDS.unit + 2, numRuns: RUNS.unit },
    );
    // A detached buffer has no bytes: still no throw.
    const detached = new ArrayBuffer(16);
    structuredClone(detached, { transfer: [detached] });
    for (const r of [decodeHandFrame(detached), decodeRobotState(detached), decodeActionChunk(detached)]) expect(isKnown(r)).toBe(true);
  });

  it('refusing a deeply nested value never prints it: the error text stays short and says it is not shown', () => {
    // Before the fix, the error message's JSON.stringify of the value overflowed the stack: ~4× the
    // parse, so a client within the rate limit could stall the event loop. What it costs is for
    // `npm run bench`; here, the behaviour that made it cheap: the value is never stringified.
    for (const depth of [100, 32_700]) {
      const r = parseClientMessage(toText({ type: 'set_mode', mode: `@@deep:${depth}` }));
      expect(r.ok).toBe(false);
      const message = r.ok ? '' : r.message;
      expect(message).toMatch(/got array \(more than \d+ values or \d+ levels; not shown\)$/);
      expect(message.length).toBeLessThan(400);
    }
  });
});
