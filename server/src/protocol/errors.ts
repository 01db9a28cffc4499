/**
 * The wire protocol's error codes: what a rejected message is told. Every code has a stable name
 * and a one-line meaning; `docs/protocol.md` says when each is sent and what the server does.
 */

import type { ActionErrorCode } from '@dexbridge/retarget';

/** Every code an `error` message can carry, grouped by prefix. */
export const WIRE_ERROR_CODES = [
  'PROTO_BAD_JSON',
  'PROTO_BAD_MESSAGE',
  'PROTO_UNKNOWN_TYPE',
  'PROTO_BAD_VERSION',
  'PROTO_BAD_KIND',
  'PROTO_TOO_LARGE',
  'PROTO_RATE_LIMITED',
  'AUTH_REQUIRED',
  'AUTH_BAD_TOKEN',
  'AUTH_ALREADY',
  'ROLE_FORBIDDEN',
  'LEASE_HELD',
  'LEASE_NOT_HELD',
  'MODE_FORBIDDEN',
  'ESTOP_LATCHED',
  'MEASURED_STALE',
  'CALIBRATION_OUT_OF_RANGE',
  'FRAME_BAD_SIZE',
  'FRAME_NOT_FINITE',
  'FRAME_OUT_OF_ORDER',
  'FRAME_TIME_BACKWARDS',
  'FRAME_TIME_IMPLAUSIBLE',
  'FRAME_STALE',
  'FRAME_IMPLAUSIBLE',
  'CHUNK_BAD_SHAPE',
  'CHUNK_BAD_TIMING',
  'CHUNK_NOT_FINITE',
  'CHUNK_OUT_OF_LIMITS',
  'CHUNK_BAD_ROTATION',
  'CHUNK_STALE',
  'RECORDING_FAILED',
  'CAMERA_UNKNOWN',
  'NOT_FOUND',
  'INTERNAL',
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

const MEANINGS: { readonly [C in WireErrorCode]: string } = {
  PROTO_BAD_JSON: 'a text frame is not valid JSON',
  PROTO_BAD_MESSAGE:
    'a message is not a JSON object, has no string `type`, or has a field of the wrong type or value; or a binary message has reserved bits set or an unknown code',
  PROTO_UNKNOWN_TYPE: 'a JSON message has a `type` this protocol does not know',
  PROTO_BAD_VERSION: 'the hello `protocol` is a number other than the protocol version (1), or a binary message\'s version byte is not 1',
  PROTO_BAD_KIND: 'a binary message is empty, or its kind byte is unknown or not one a client sends (only kinds 1 and 3)',
  PROTO_TOO_LARGE: 'a message is larger than `limits.maxMessageBytes`',
  PROTO_RATE_LIMITED: 'the connection sent more than `limits.maxMessagesPerSecond` messages in one second',
  AUTH_REQUIRED: 'a message other than `hello` or `estop` arrived before a `hello` was accepted, or no `hello` was accepted in time (the connection is then closed)',
  AUTH_BAD_TOKEN: 'the hello token is missing or wrong for the requested role',
  AUTH_ALREADY: 'a second `hello` on a connection that already completed the handshake',
  ROLE_FORBIDDEN: 'the connection\'s role may not send this message',
  LEASE_HELD: 'another operator holds the control lease',
  LEASE_NOT_HELD: 'the message needs the control lease and nobody holds it (another holder gives `LEASE_HELD`)',
  MODE_FORBIDDEN: 'the message is not allowed in the current mode',
  ESTOP_LATCHED: 'the e-stop is latched: motion commands are refused until `reset_estop`',
  MEASURED_STALE: '`engage` with `requireMeasured` on, but the robot\'s measured joints are missing, incomplete or older than the freshness limit',
  CALIBRATION_OUT_OF_RANGE: 'a `calibrate` that sets no scale, or a scale outside its documented range (hand 0.5–2, translation 0.1–4, digit 0.5–2); `calibrate_hands` seconds outside 0.5–5, or a hand measured out of range',
  FRAME_BAD_SIZE: 'a HAND_FRAME, ROBOT_STATE or HAND_TRACKING message does not have its exact byte length',
  FRAME_NOT_FINITE: 'a HAND_FRAME has NaN or ±Infinity in `tMs` or in a tracked hand',
  FRAME_OUT_OF_ORDER: 'a HAND_FRAME `seq` is not greater than the previous frame\'s',
  FRAME_TIME_BACKWARDS: 'a HAND_FRAME `tMs` is not after the previous frame\'s',
  FRAME_TIME_IMPLAUSIBLE: 'a HAND_FRAME `tMs` lies ahead of the connection\'s clock estimate by more than the plausible window; later frames are unaffected',
  FRAME_STALE: 'a HAND_FRAME arrived more than the stale window (150 ms by default) later than the smallest delay seen on the connection',
  FRAME_IMPLAUSIBLE: 'a tracked hand has implausible bone lengths or size; that side holds',
  CHUNK_BAD_SHAPE: 'an ACTION_CHUNK has k outside 1..256 or a byte length other than 24 + 352·k',
  CHUNK_BAD_TIMING: 'an ACTION_CHUNK `startTimeMs` is not finite or lies too far in the future, or `periodMs` is not finite and > 0',
  CHUNK_NOT_FINITE: 'an ACTION_CHUNK action entry is NaN or ±Infinity',
  CHUNK_OUT_OF_LIMITS: 'an ACTION_CHUNK joint is outside its limits or a position outside the workspace box',
  CHUNK_BAD_ROTATION: 'an ACTION_CHUNK flange rotation vector has norm > π',
  CHUNK_STALE: 'an ACTION_CHUNK arrives after its last row, or too long after its first row',
  RECORDING_FAILED: 'recording is off (`--record off`), or labelling a recording failed (a recording that cannot start, write or finish is a `recording` event with `error`)',
  CAMERA_UNKNOWN: 'a `camera_subscribe` names a camera this server does not have (see `welcome.cameras`)',
  NOT_FOUND: 'the message refers to something that does not exist (e.g. a recording)',
  INTERNAL: 'an unexpected server fault while handling the message; the connection stays open',
};

const CODE_SET: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

/** Whether `value` is one of {@link WIRE_ERROR_CODES}. */
export function isWireErrorCode(value: unknown): value is WireErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** One line saying what the code means (for docs, logs and UI). */
export function describeWireError(code: WireErrorCode): string {
  return MEANINGS[code];
}

/**
 * A rejected input, returned (never thrown) by every decoder and parser of the protocol.
 * `message` starts with `protocol:` and names the offending field and value.
 */
export interface WireFailure {
  readonly ok: false;
  readonly code: WireErrorCode;
  readonly message: string;
  /** What was rejected: a JSON message `type`, or `binary:<kind>` for binary messages. */
  readonly ref?: string;
  /** The HAND_FRAME `seq` (or ACTION_CHUNK `chunkId`) the failure is about, when known. */
  readonly seq?: number;
}

/** Build a frozen {@link WireFailure}; `ref` and `seq` are included only when given. */
export function wireFailure(code: WireErrorCode, message: string, ref?: string, seq?: number): WireFailure {
  const f: { ok: false; code: WireErrorCode; message: string; ref?: string; seq?: number } = { ok: false, code, message };
  if (ref !== undefined) f.ref = ref;
  if (seq !== undefined) f.seq = seq;
  return Object.freeze(f);
}

const ACTION_TO_WIRE: { readonly [C in ActionErrorCode]: WireErrorCode } = {
  ACTION_BAD_SHAPE: 'CHUNK_BAD_SHAPE',
  ACTION_NOT_FINITE: 'CHUNK_NOT_FINITE',
  ACTION_OUT_OF_LIMITS: 'CHUNK_OUT_OF_LIMITS',
  ACTION_BAD_ROTATION: 'CHUNK_BAD_ROTATION',
  CHUNK_BAD_SHAPE: 'CHUNK_BAD_SHAPE',
  CHUNK_BAD_TIMING: 'CHUNK_BAD_TIMING',
};

/**
 * The wire code for a failure of the action schema's `validateChunk` / `validateActionChunk`
 * on a received chunk (e.g. `ACTION_OUT_OF_LIMITS` → `CHUNK_OUT_OF_LIMITS`).
 */
export function wireCodeOfActionError(code: ActionErrorCode): WireErrorCode {
  return ACTION_TO_WIRE[code];
}

/**
 * The wire code for a code from elsewhere in the server: wire codes pass through, the action
 * schema's codes map as {@link wireCodeOfActionError}, the chunk executor's `CHUNK_FUTURE` (a
 * chunk starting too far ahead: a wrong clock) is `CHUNK_BAD_TIMING`, anything else `INTERNAL`.
 */
export function toWireErrorCode(code: string): WireErrorCode {
  if (isWireErrorCode(code)) return code;
  if (Object.hasOwn(ACTION_TO_WIRE, code)) return ACTION_TO_WIRE[code as ActionErrorCode];
  if (code === 'CHUNK_FUTURE') return 'CHUNK_BAD_TIMING';
  return 'INTERNAL';
}
