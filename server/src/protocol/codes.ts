/**
 * Numeric tables of the binary messages: protocol version, message kinds, flag bits, and the
 * one-byte codes of mode and per-side status with their mapping from and to the names the
 * control loop and the Retargeter use. A code is its index in the table; tables only grow at
 * the end, and a new entry needs a new protocol version.
 */

import type { HandSolveStatus, IkStatus, SideHold } from '@dexbridge/retarget';

/** The protocol version: byte 1 of every binary message and `protocol` in hello/welcome. */
export const PROTOCOL_VERSION = 1;

/** Byte 0 of every binary message. */
export const MESSAGE_KIND = Object.freeze({
  /** Operator → server: both hands of one XR frame. */
  HAND_FRAME: 1,
  /** Server → every client: the robot's commanded/measured state. */
  ROBOT_STATE: 2,
  /** Policy → server: K actions on a time grid. */
  ACTION_CHUNK: 3,
  /** Server → clients that asked for it (`hello.tracking`): the operator's hands and the fingertip targets. */
  HAND_TRACKING: 4,
  /** Server → connections that subscribed to the camera (`camera_subscribe`): one camera image. */
  CAMERA_FRAME: 5,
} as const);
export type MessageKind = (typeof MESSAGE_KIND)[keyof typeof MESSAGE_KIND];

/** HAND_FRAME byte 2. Bits 2–7 are reserved and must be 0. */
export const HAND_FRAME_FLAG = Object.freeze({ LEFT_TRACKED: 1 << 0, RIGHT_TRACKED: 1 << 1 } as const);
/** Bits of HAND_FRAME byte 2 that have a meaning. */
export const HAND_FRAME_FLAGS_MASK = HAND_FRAME_FLAG.LEFT_TRACKED | HAND_FRAME_FLAG.RIGHT_TRACKED;

/** HAND_TRACKING byte 2: which sides carry data. Bits 2–7 are reserved (sent as 0, ignored by readers). */
export const HAND_TRACKING_FLAG = Object.freeze({ LEFT_VALID: 1 << 0, RIGHT_VALID: 1 << 1 } as const);

/** ROBOT_STATE byte 3. Bits 6–7 are reserved (sent as 0, ignored by readers). */
export const ROBOT_STATE_FLAG = Object.freeze({
  ESTOP_LATCHED: 1 << 0,
  RECORDING: 1 << 1,
  ROS_CONNECTED: 1 << 2,
  WATCHDOG_HOLD: 1 << 3,
  MEASURED_VALID: 1 << 4,
  LEASE_HELD: 1 << 5,
} as const);

/** Control modes; the code is the index (0 idle, 1 teleop, 2 policy, 3 replay). */
export const CONTROL_MODES = ['idle', 'teleop', 'policy', 'replay'] as const;
export type ControlMode = (typeof CONTROL_MODES)[number];

/**
 * Why a side holds its last output, as sent on the wire; the code is the index. The
 * Retargeter's `'ok'` check result never reaches a status (a tracked side reports `'none'`), and
 * is encoded as `'none'` too.
 */
export const HOLD_CODES = ['none', 'missing', 'not_finite', 'implausible_bones', 'implausible_size'] as const;
export type WireHold = (typeof HOLD_CODES)[number];

/** Hand solver status of a side; the code is the index. */
export const HAND_STATUS_CODES = ['held', 'converged', 'max_iterations'] as const;
export type WireHandStatus = (typeof HAND_STATUS_CODES)[number];

/** Arm IK status of a side; the code is the index. */
export const ARM_STATUS_CODES = ['not_engaged', 'held', 'converged', 'max_iterations'] as const;
export type WireArmStatus = (typeof ARM_STATUS_CODES)[number];

// Compile-time proof that the tables cover the Retargeter's statuses: a new status there
// fails the build here instead of being sent as a wrong code.
type Covers<Table, Names> = [Names] extends [Table] ? true : never;
const COVERAGE: [
  Covers<WireHold | 'ok', SideHold>,
  Covers<WireHandStatus, HandSolveStatus | 'held'>,
  Covers<WireArmStatus, IkStatus | 'held' | 'not_engaged'>,
] = [true, true, true];
void COVERAGE;

/** Code of a name in `table`, or −1. Tables are at most five entries: a scan beats a map. */
function codeIn(table: readonly string[], name: string): number {
  for (let i = 0; i < table.length; i++) if (table[i] === name) return i;
  return -1;
}

/** Mode → code 0–3. @throws RangeError for a name that is not a mode (a programming error). */
export function modeCode(mode: ControlMode): number {
  const c = codeIn(CONTROL_MODES, mode);
  if (c < 0) throw new RangeError(`protocol: unknown mode ${JSON.stringify(mode)} (expected one of ${CONTROL_MODES.join(', ')})`);
  return c;
}

/** Side hold → code 0–4 (`'ok'` → 0). @throws RangeError for an unknown name. */
export function holdCode(hold: SideHold | WireHold): number {
  if (hold === 'ok') return 0;
  const c = codeIn(HOLD_CODES, hold);
  if (c < 0) throw new RangeError(`protocol: unknown hold ${JSON.stringify(hold)} (expected one of ${HOLD_CODES.join(', ')})`);
  return c;
}

/** Hand status → code 0–2. @throws RangeError for an unknown name. */
export function handStatusCode(status: WireHandStatus): number {
  const c = codeIn(HAND_STATUS_CODES, status);
  if (c < 0) {
    throw new RangeError(`protocol: unknown hand status ${JSON.stringify(status)} (expected one of ${HAND_STATUS_CODES.join(', ')})`);
  }
  return c;
}

/** Arm status → code 0–3. @throws RangeError for an unknown name. */
export function armStatusCode(status: WireArmStatus): number {
  const c = codeIn(ARM_STATUS_CODES, status);
  if (c < 0) {
    throw new RangeError(`protocol: unknown arm status ${JSON.stringify(status)} (expected one of ${ARM_STATUS_CODES.join(', ')})`);
  }
  return c;
}

/** Code → mode, or `undefined` for a code not in the table. */
export const modeOfCode = (code: number): ControlMode | undefined => CONTROL_MODES[code];
/** Code → hold, or `undefined`. */
export const holdOfCode = (code: number): WireHold | undefined => HOLD_CODES[code];
/** Code → hand status, or `undefined`. */
export const handStatusOfCode = (code: number): WireHandStatus | undefined => HAND_STATUS_CODES[code];
/** Code → arm status, or `undefined`. */
export const armStatusOfCode = (code: number): WireArmStatus | undefined => ARM_STATUS_CODES[code];
