/**
 * Row blocks: how a recording stores its two high-rate numeric streams, the operator's hand frames
 * and the commanded actions (docs/recording.md, "Row blocks"). Platform-free, shared by the
 * recorder, the server's readers and the dashboard.
 *
 * Why not one JSON message per tick: at 90 Hz the noise in the last digits of every number is what
 * zstd cannot compress, and a JSON hand frame per tick came to about 300 MB per hour on its own.
 * A block holds the rows of one flush interval (≤ 500 ms). Every number is quantized to a fixed
 * step, predicted from the same column in the two rows before (linear extrapolation, as motion
 * is smooth at 90 Hz), and the prediction error is zigzag-mapped and written as a LEB128 varint,
 * column after column. The errors are small and alike, so the chunk's zstd then finds what it needs
 * (a tenth smaller than plain differences on the bundled Quest session). A block is self-contained: it decodes without any other
 * message, so a crash or a seek never leaves a frame that cannot be read.
 *
 * Layout of a block message (all varints unsigned LEB128):
 *   byte 0       format version, 1
 *   varint       columns C
 *   varint       rows R
 *   C × R varints, column-major: for column c, rows 0..R-1, zigzag(v[r][c] − p[r][c]) where the
 *                prediction p is 0 for row 0, v[0][c] for row 1, and 2·v[r−1][c] − v[r−2][c] after
 * Values are integers with |v| ≤ 2^52 whose prediction errors stay within ±2^52 (the encoder refuses
 * others); the meaning of each column is the channel's (below). zigzag(d) = 2d for d ≥ 0, −2d − 1 else.
 */
import { ACTION_DIM, XR_HAND_LENGTH } from '@dexbridge/retarget';

export const ROW_BLOCK_VERSION = 1;
/** MCAP message encoding of row-block channels (no schema record: the layout is here and in docs/recording.md). */
export const ROW_BLOCK_ENCODING = 'dexbridge.rowblock.v1';

/** Largest magnitude a column value may have (the zigzag of it must stay an exact double). */
const MAX_VALUE = 2 ** 52;

/**
 * Encodes `rows` × `columns` integers (row-major in `values`).
 * @throws RangeError for a size mismatch, a value that is not an integer within ±2^52, or a
 *   prediction error beyond ±2^52 (a column that jumps by that much between rows).
 */
export function encodeRowBlock(columns: number, rows: number, values: ArrayLike<number>): Uint8Array {
  if (!(Number.isInteger(columns) && columns > 0 && Number.isInteger(rows) && rows >= 0) || values.length !== columns * rows) {
    throw new RangeError(`row block: ${values.length} values do not make ${rows} rows of ${columns} columns`);
  }
  // Worst case 8 bytes per value (a zigzag below 2^53 fits in 8 LEB128 bytes) plus the header.
  const out = new Uint8Array(21 + 8 * values.length);
  out[0] = ROW_BLOCK_VERSION;
  let at = writeVarint(out, 1, columns);
  at = writeVarint(out, at, rows);
  for (let c = 0; c < columns; c++) {
    let prev = 0;
    let prev2 = 0;
    for (let r = 0; r < rows; r++) {
      const v = values[r * columns + c]!;
      if (!(Number.isInteger(v) && Math.abs(v) <= MAX_VALUE)) throw new RangeError(`row block: row ${r} column ${c} is ${v}, not an integer within ±2^52`);
      const d = v - (r === 0 ? 0 : r === 1 ? prev : 2 * prev - prev2);
      if (!(Math.abs(d) <= MAX_VALUE)) throw new RangeError(`row block: row ${r} column ${c} jumps by ${d}, beyond ±2^52`);
      prev2 = prev;
      prev = v;
      at = writeVarint(out, at, d >= 0 ? d * 2 : -d * 2 - 1);
    }
  }
  return out.slice(0, at);
}

/** A decoded block: `values` row-major, `rows` × `columns`. */
export interface RowBlock {
  readonly columns: number;
  readonly rows: number;
  readonly values: Float64Array;
}

/**
 * Decodes a block; `expectColumns`, when given, must match.
 * @throws RangeError naming what is wrong (version, truncation, trailing bytes, column count).
 */
export function decodeRowBlock(bytes: Uint8Array, expectColumns?: number): RowBlock {
  if (bytes.length < 3 || bytes[0] !== ROW_BLOCK_VERSION) throw new RangeError(`row block: version ${bytes[0]} (${bytes.length} bytes), expected ${ROW_BLOCK_VERSION}`);
  const cursor = { at: 1 };
  const columns = readVarint(bytes, cursor);
  const rows = readVarint(bytes, cursor);
  if (expectColumns !== undefined && columns !== expectColumns) throw new RangeError(`row block: ${columns} columns, expected ${expectColumns}`);
  // Every value takes at least one byte: a count the bytes cannot hold is refused before allocating.
  if (columns === 0 || columns * rows > bytes.length - cursor.at) throw new RangeError(`row block: ${rows} rows of ${columns} columns do not fit in ${bytes.length} bytes`);
  const values = new Float64Array(columns * rows);
  for (let c = 0; c < columns; c++) {
    let prev = 0;
    let prev2 = 0;
    for (let r = 0; r < rows; r++) {
      const z = readVarint(bytes, cursor);
      const v = (r === 0 ? 0 : r === 1 ? prev : 2 * prev - prev2) + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
      values[r * columns + c] = v;
      prev2 = prev;
      prev = v;
    }
  }
  if (cursor.at !== bytes.length) throw new RangeError(`row block: ${bytes.length - cursor.at} bytes after the last value`);
  return { columns, rows, values };
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 128) {
    out[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

function readVarint(bytes: Uint8Array, cursor: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (cursor.at >= bytes.length) throw new RangeError('row block: truncated');
    const b = bytes[cursor.at++]!;
    value += (b & 127) * scale;
    if (b < 128) return value;
    scale *= 128;
  }
  throw new RangeError('row block: a varint longer than 8 bytes');
}

/**
 * Grows row by row, then hands out the block and starts over. The recorder keeps one per stream.
 */
export class RowBlockBuilder {
  readonly columns: number;
  #values: Float64Array;
  #rows = 0;

  constructor(columns: number, initialRows = 64) {
    this.columns = columns;
    this.#values = new Float64Array(columns * initialRows);
  }

  get rows(): number {
    return this.#rows;
  }

  /** The row being added, to fill in place; valid until the next call. */
  addRow(): Float64Array {
    if ((this.#rows + 1) * this.columns > this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    const row = this.#values.subarray(this.#rows * this.columns, (this.#rows + 1) * this.columns);
    this.#rows++;
    return row;
  }

  /** The value of `column` in the last row added (for holding a value across rows). */
  last(column: number): number {
    return this.#rows === 0 ? 0 : this.#values[(this.#rows - 1) * this.columns + column]!;
  }

  /**
   * The block of the rows added since the last take (undefined if none), and an empty builder.
   * @throws RangeError from {@link encodeRowBlock}; the rows are then kept (see {@link discard}).
   */
  take(): Uint8Array | undefined {
    if (this.#rows === 0) return undefined;
    const bytes = encodeRowBlock(this.columns, this.#rows, this.#values.subarray(0, this.#rows * this.columns));
    this.#rows = 0;
    return bytes;
  }

  /** Drops the rows added since the last take; returns how many. */
  discard(): number {
    const n = this.#rows;
    this.#rows = 0;
    return n;
  }
}

// ---- The two channels that use row blocks ----

/**
 * Hand frames: steps per unit of every hand number (positions and radii in m, quaternion
 * components): 10,000, a step of a tenth of a millimetre, ten times finer than Quest hand
 * tracking's own jitter.
 */
export const HAND_BLOCK_SCALE = 10_000;
/** Columns of a hand-frame block: server time (µs), headset time (µs), seq, tracked bits (1 left, 2 right), left ×200, right ×200. */
export const HAND_BLOCK_COLUMNS = 4 + 2 * XR_HAND_LENGTH;
/** Actions: steps per unit (m, rad, or unitless): 1e6, a step below the float32 precision the action is trained in. */
export const ACTION_BLOCK_SCALE = 1_000_000;
/** Columns of an action block: server time (µs), then the 88 action numbers. */
export const ACTION_BLOCK_COLUMNS = 1 + ACTION_DIM;

/** Milliseconds as whole microseconds, the time step of every row block. */
export const msToUs = (ms: number): number => Math.round(ms * 1000);

/** Fills a hand-frame row; an untracked hand holds the previous row's numbers (a zero difference) and clears its bit. */
export function fillHandRow(row: Float64Array, builder: RowBlockBuilder, tMs: number, frameTimeMs: number, seq: number, left: ArrayLike<number> | null, right: ArrayLike<number> | null): void {
  row[0] = msToUs(tMs);
  row[1] = msToUs(frameTimeMs);
  row[2] = Math.round(seq);
  row[3] = (left === null ? 0 : 1) | (right === null ? 0 : 2);
  for (const [offset, hand] of [[4, left], [4 + XR_HAND_LENGTH, right]] as const) {
    for (let i = 0; i < XR_HAND_LENGTH; i++) row[offset + i] = hand === null ? builder.last(offset + i) : Math.round(hand[i]! * HAND_BLOCK_SCALE);
  }
}

/** Fills an action row. */
export function fillActionRow(row: Float64Array, tMs: number, action: ArrayLike<number>): void {
  row[0] = msToUs(tMs);
  for (let i = 0; i < ACTION_DIM; i++) row[1 + i] = Math.round(action[i]! * ACTION_BLOCK_SCALE);
}

/** One hand frame read back from a block. */
export interface BlockHandFrame {
  /** Server time of receipt (ms). */
  readonly logTimeMs: number;
  /** The headset's own time of the frame (ms). */
  readonly tMs: number;
  readonly seq: number;
  readonly left: Float64Array | null;
  readonly right: Float64Array | null;
}

/** @throws RangeError for a malformed block. */
export function decodeHandBlock(bytes: Uint8Array): BlockHandFrame[] {
  const { rows, values } = decodeRowBlock(bytes, HAND_BLOCK_COLUMNS);
  const out: BlockHandFrame[] = [];
  const side = (row: number, offset: number): Float64Array => {
    const h = new Float64Array(XR_HAND_LENGTH);
    // Dividing (not multiplying by the step) gives the shortest decimal back: 1234 / 1e4 = 0.1234.
    for (let i = 0; i < XR_HAND_LENGTH; i++) h[i] = values[row + offset + i]! / HAND_BLOCK_SCALE;
    return h;
  };
  for (let r = 0; r < rows; r++) {
    const row = r * HAND_BLOCK_COLUMNS;
    const tracked = values[row + 3]!;
    out.push({
      logTimeMs: values[row]! / 1000,
      tMs: values[row + 1]! / 1000,
      seq: values[row + 2]!,
      left: tracked & 1 ? side(row, 4) : null,
      right: tracked & 2 ? side(row, 4 + XR_HAND_LENGTH) : null,
    });
  }
  return out;
}

/** One action read back from a block. */
export interface BlockAction {
  readonly logTimeMs: number;
  readonly action: Float64Array;
}

/** @throws RangeError for a malformed block. */
export function decodeActionBlock(bytes: Uint8Array): BlockAction[] {
  const { rows, values } = decodeRowBlock(bytes, ACTION_BLOCK_COLUMNS);
  const out: BlockAction[] = [];
  for (let r = 0; r < rows; r++) {
    const row = r * ACTION_BLOCK_COLUMNS;
    const action = new Float64Array(ACTION_DIM);
    for (let i = 0; i < ACTION_DIM; i++) action[i] = values[row + 1 + i]! / ACTION_BLOCK_SCALE;
    out.push({ logTimeMs: values[row]! / 1000, action });
  }
  return out;
}
