/**
 * The hand-frame JSON Lines format: one {@link HandFrame} per line,
 *
 *     {"t": <ms>, "left": <25×8 array or null>, "right": <25×8 array or null>}
 *
 * Each joint is `[px, py, pz, qx, qy, qz, qw, radius]` (metres, unit quaternion x-y-z-w) in
 * WebXR `XRHandJoint` order, in one WebXR reference space. A hand may also be written as a flat
 * array of 200 numbers. See `docs/formats.md`.
 *
 * Pure TypeScript: no DOM, no Node built-ins.
 */
import { type HandFrame, XR_HAND_LENGTH, XR_JOINT_COUNT, XR_JOINT_NAMES, XR_JOINT_STRIDE } from '../handFrame.js';

/** Machine-readable reason of a {@link FormatError}. */
export type FormatErrorCode =
  /** A JSON Lines line is not valid JSON. */
  | 'FORMAT_BAD_JSON'
  /** A line is not an object, or `t`/`left`/`right` is missing or of the wrong type. */
  | 'FORMAT_BAD_FRAME'
  /** A hand is not 25 joints × 8 numbers (nor 200 numbers), or a joint radius is negative. */
  | 'FORMAT_BAD_HAND'
  /** A joint quaternion is far from unit length (zero, or garbage). */
  | 'FORMAT_BAD_QUATERNION'
  /** A number is NaN or ±Infinity (JSON `1e999` parses as Infinity). */
  | 'FORMAT_NOT_FINITE'
  /** `t` does not strictly increase from one frame to the next. */
  | 'FORMAT_TIME_NOT_MONOTONIC'
  /** An IWER capture is not valid JavaScript object-literal syntax (with the character offset). */
  | 'FORMAT_IWER_SYNTAX'
  /** An IWER capture has no `schema`/`frames`, a malformed schema, or no hand inputs. */
  | 'FORMAT_IWER_SCHEMA'
  /** An IWER capture frame or input has the wrong layout or bad numbers. */
  | 'FORMAT_IWER_FRAME';

/**
 * A hand-frame file could not be read or written. `code` says why; `line` is the 1-based line
 * of a JSON Lines input and `offset` the 0-based character offset in an IWER capture text, when
 * they apply (otherwise `null`). The message starts with `formats:` (and `formats: line N:` for
 * JSON Lines input) and quotes the offending value or shape.
 */
export class FormatError extends Error {
  override readonly name = 'FormatError';
  readonly code: FormatErrorCode;
  readonly line: number | null;
  readonly offset: number | null;

  constructor(code: FormatErrorCode, message: string, line: number | null = null, offset: number | null = null) {
    super(message);
    this.code = code;
    this.line = line;
    this.offset = offset;
  }
}

/** Largest allowed deviation of a joint quaternion's norm from 1 when parsing. */
export const QUATERNION_NORM_TOLERANCE = 0.05;

/** Decimal places used by {@link formatHandFrameLine}. */
export interface HandFrameFormatOptions {
  /** Decimals for joint positions in metres (default 6: 1 µm). */
  readonly positionDecimals?: number;
  /** Decimals for quaternion components (default 6: about 2e-6 rad). */
  readonly quaternionDecimals?: number;
  /** Decimals for joint radii in metres (default 6: 1 µm). */
  readonly radiusDecimals?: number;
  /** Decimals for `t` in milliseconds (default 3: 1 µs). */
  readonly timeDecimals?: number;
}

const COMPONENT_NAMES = ['px', 'py', 'pz', 'qx', 'qy', 'qz', 'qw', 'radius'] as const;

/** Short, bounded description of a JSON value for error messages: its shape and a preview. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) {
    const inner = value.length > 0 ? `${describeKind(value[0])}${value.length > 1 ? ', …' : ''}` : '';
    return `array of ${value.length} [${inner}]`;
  }
  if (typeof value === 'string') {
    const s = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(s)}`;
  }
  if (typeof value === 'number') return `number ${String(value)}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, 6).map((k) => JSON.stringify(k)).join(', ');
    return `object {${shown}${keys.length > 6 ? ', …' : ''}}`;
  }
  return `${typeof value} ${String(value)}`;
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array of ${value.length}`;
  return typeof value;
}

function fail(code: FormatErrorCode, line: number, detail: string): never {
  throw new FormatError(code, `formats: line ${line}: ${detail}`, line);
}

function jointLabel(side: string, joint: number): string {
  return `"${side}" joint ${joint} (${XR_JOINT_NAMES[joint] ?? '?'})`;
}

/** Validates one joint's 8 numbers already copied into `out` at `base`. */
function checkJoint(out: Float64Array, base: number, side: string, joint: number, line: number): void {
  const qx = out[base + 3]!;
  const qy = out[base + 4]!;
  const qz = out[base + 5]!;
  const qw = out[base + 6]!;
  const norm = Math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw);
  if (Math.abs(norm - 1) > QUATERNION_NORM_TOLERANCE) {
    fail(
      'FORMAT_BAD_QUATERNION',
      line,
      `${jointLabel(side, joint)}: quaternion [${qx}, ${qy}, ${qz}, ${qw}] has norm ${norm.toPrecision(4)}, expected 1 (±${QUATERNION_NORM_TOLERANCE})`,
    );
  }
  const radius = out[base + 7]!;
  if (radius < 0) fail('FORMAT_BAD_HAND', line, `${jointLabel(side, joint)}: radius ${radius} is negative`);
}

function readNumber(value: unknown, side: string, joint: number, component: number, line: number): number {
  const name = COMPONENT_NAMES[component] ?? '?';
  if (typeof value !== 'number') {
    fail('FORMAT_BAD_HAND', line, `${jointLabel(side, joint)} ${name}: expected a number, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(value)) {
    fail('FORMAT_NOT_FINITE', line, `${jointLabel(side, joint)} ${name} is not finite: ${String(value)}`);
  }
  return value;
}

function parseHand(value: unknown, side: 'left' | 'right', line: number): Float64Array | null {
  if (value === null) return null;
  if (!Array.isArray(value)) {
    fail('FORMAT_BAD_HAND', line, `"${side}" must be an array of ${XR_JOINT_COUNT} joints × ${XR_JOINT_STRIDE} numbers or null, got ${describeValue(value)}`);
  }
  const out = new Float64Array(XR_HAND_LENGTH);
  if (value.length === XR_HAND_LENGTH) {
    // Flat form: 200 numbers.
    for (let i = 0; i < XR_HAND_LENGTH; i++) {
      out[i] = readNumber(value[i], side, Math.floor(i / XR_JOINT_STRIDE), i % XR_JOINT_STRIDE, line);
    }
  } else if (value.length === XR_JOINT_COUNT) {
    for (let j = 0; j < XR_JOINT_COUNT; j++) {
      const joint: unknown = value[j];
      if (!Array.isArray(joint) || joint.length !== XR_JOINT_STRIDE) {
        fail(
          'FORMAT_BAD_HAND',
          line,
          `${jointLabel(side, j)}: expected ${XR_JOINT_STRIDE} numbers [px, py, pz, qx, qy, qz, qw, radius], got ${describeValue(joint)}`,
        );
      }
      for (let k = 0; k < XR_JOINT_STRIDE; k++) {
        out[j * XR_JOINT_STRIDE + k] = readNumber(joint[k], side, j, k, line);
      }
    }
  } else {
    fail(
      'FORMAT_BAD_HAND',
      line,
      `"${side}" must have ${XR_JOINT_COUNT} joints of ${XR_JOINT_STRIDE} numbers (or ${XR_HAND_LENGTH} numbers flat), got ${describeValue(value)}`,
    );
  }
  for (let j = 0; j < XR_JOINT_COUNT; j++) checkJoint(out, j * XR_JOINT_STRIDE, side, j, line);
  return out;
}

/**
 * Parses one line of the hand-frame JSON Lines format into a {@link HandFrame}.
 *
 * The line must be a JSON object with a finite number `t` (milliseconds) and `left`/`right`
 * each `null` or a hand: an array of 25 joints of 8 numbers `[px, py, pz, qx, qy, qz, qw, radius]`,
 * or a flat array of 200 numbers. Other keys are ignored. Values are kept as written (no
 * normalisation).
 *
 * @param line the text of the line (surrounding whitespace is allowed)
 * @param lineNumber 1-based line number, used in error messages and {@link FormatError.line}
 * @throws {FormatError} `FORMAT_BAD_JSON`, `FORMAT_BAD_FRAME`, `FORMAT_BAD_HAND`,
 *   `FORMAT_BAD_QUATERNION` or `FORMAT_NOT_FINITE`
 */
export function parseHandFrameLine(line: string, lineNumber: number): HandFrame {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const preview = line.length > 60 ? `${line.slice(0, 60)}…` : line;
    fail('FORMAT_BAD_JSON', lineNumber, `not valid JSON (${reason}): ${JSON.stringify(preview)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('FORMAT_BAD_FRAME', lineNumber, `expected an object {"t", "left", "right"}, got ${describeValue(value)}`);
  }
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, 't')) fail('FORMAT_BAD_FRAME', lineNumber, `missing "t" (time in ms) in ${describeValue(value)}`);
  const t = record['t'];
  if (typeof t !== 'number') fail('FORMAT_BAD_FRAME', lineNumber, `"t" must be a number of milliseconds, got ${describeValue(t)}`);
  if (!Number.isFinite(t)) fail('FORMAT_NOT_FINITE', lineNumber, `"t" is not finite: ${String(t)}`);
  for (const side of ['left', 'right'] as const) {
    if (!Object.hasOwn(record, side)) {
      fail('FORMAT_BAD_FRAME', lineNumber, `missing "${side}" (use null for an untracked hand) in ${describeValue(value)}`);
    }
  }
  return {
    tMs: t,
    left: parseHand(record['left'], 'left', lineNumber),
    right: parseHand(record['right'], 'right', lineNumber),
  };
}

/**
 * Parses a whole hand-frame JSON Lines text. Blank lines are skipped (line numbers in errors
 * still count them); `\r\n` line ends and a leading byte-order mark are accepted.
 *
 * @throws {FormatError} any code of {@link parseHandFrameLine}, and `FORMAT_TIME_NOT_MONOTONIC`
 *   when `t` does not strictly increase from one frame to the next
 */
export function parseHandFramesJsonl(text: string): HandFrame[] {
  const frames: HandFrame[] = [];
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let previousLine = 0;
  let start = 0;
  let lineNumber = 0;
  while (start <= source.length) {
    let end = source.indexOf('\n', start);
    if (end < 0) end = source.length;
    lineNumber++;
    const line = source.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    const frame = parseHandFrameLine(line, lineNumber);
    const previous = frames[frames.length - 1];
    if (previous !== undefined && !(frame.tMs > previous.tMs)) {
      fail(
        'FORMAT_TIME_NOT_MONOTONIC',
        lineNumber,
        `"t" ${frame.tMs} is not after the previous frame's ${previous.tMs} (line ${previousLine}); t must strictly increase`,
      );
    }
    frames.push(frame);
    previousLine = lineNumber;
  }
  return frames;
}

function roundTo(value: number, scale: number): number {
  const r = Math.round(value * scale) / scale;
  return r === 0 ? 0 : r; // no "-0"
}

function formatHand(hand: Float64Array, side: string, options: Required<HandFrameFormatOptions>): string {
  if (hand.length !== XR_HAND_LENGTH) {
    throw new FormatError('FORMAT_BAD_HAND', `formats: "${side}" has ${hand.length} numbers, expected ${XR_HAND_LENGTH}`);
  }
  const pScale = 10 ** options.positionDecimals;
  const qScale = 10 ** options.quaternionDecimals;
  const rScale = 10 ** options.radiusDecimals;
  const joints: string[] = [];
  for (let j = 0; j < XR_JOINT_COUNT; j++) {
    const base = j * XR_JOINT_STRIDE;
    const parts: number[] = [];
    for (let k = 0; k < XR_JOINT_STRIDE; k++) {
      const v = hand[base + k]!;
      if (!Number.isFinite(v)) {
        throw new FormatError('FORMAT_NOT_FINITE', `formats: ${jointLabel(side, j)} ${COMPONENT_NAMES[k]} is not finite: ${v}`);
      }
      parts.push(roundTo(v, k < 3 ? pScale : k < 7 ? qScale : rScale));
    }
    joints.push(`[${parts.join(',')}]`);
  }
  return `[${joints.join(',')}]`;
}

/**
 * Writes one {@link HandFrame} as a JSON Lines line (without the trailing newline):
 * `{"t":…,"left":[[px,py,pz,qx,qy,qz,qw,radius],…25]|null,"right":…}`.
 *
 * Numbers are rounded to fixed decimal places (defaults: positions and radii 6 decimals in metres,
 * i.e. 1 µm; quaternion components 6 decimals; `t` 3 decimals of a millisecond) and written in
 * their shortest form (`0.1`, not `0.100000`), so the output re-parses to within half a unit of
 * the last decimal. Quaternions are not renormalised.
 *
 * @throws {FormatError} `FORMAT_BAD_HAND` if a hand is not 200 numbers, `FORMAT_NOT_FINITE` if a
 *   value or `tMs` is NaN or infinite
 */
export function formatHandFrameLine(frame: HandFrame, options: HandFrameFormatOptions = {}): string {
  const resolved: Required<HandFrameFormatOptions> = {
    positionDecimals: options.positionDecimals ?? 6,
    quaternionDecimals: options.quaternionDecimals ?? 6,
    radiusDecimals: options.radiusDecimals ?? 6,
    timeDecimals: options.timeDecimals ?? 3,
  };
  for (const [name, decimals] of Object.entries(resolved)) {
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 12) {
      throw new RangeError(`formats: ${name} must be an integer 0–12, got ${decimals}`);
    }
  }
  if (!Number.isFinite(frame.tMs)) {
    throw new FormatError('FORMAT_NOT_FINITE', `formats: frame time tMs is not finite: ${frame.tMs}`);
  }
  const t = roundTo(frame.tMs, 10 ** resolved.timeDecimals);
  const left = frame.left === null ? 'null' : formatHand(frame.left, 'left', resolved);
  const right = frame.right === null ? 'null' : formatHand(frame.right, 'right', resolved);
  return `{"t":${t},"left":${left},"right":${right}}`;
}
