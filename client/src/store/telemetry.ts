/**
 * Fixed-size rings of the live stream for plots and graphs: written once per ROBOT_STATE without
 * allocating, read by the plots at their own (lower) frame rate.
 */
export class Ring {
  readonly capacity: number;
  readonly width: number;
  /** Row-major: `width` values per sample. */
  readonly data: Float64Array;
  readonly t: Float64Array;
  private head = 0;
  private count = 0;
  /** Bumps on every push (plots redraw only when it changed). */
  version = 0;

  constructor(capacity: number, width: number) {
    this.capacity = capacity;
    this.width = width;
    this.data = new Float64Array(capacity * width);
    this.t = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Appends one sample; `values` gives `width` numbers (a shorter array leaves NaN). */
  push(t: number, values: ArrayLike<number>, offset = 0): void {
    const row = this.head * this.width;
    for (let i = 0; i < this.width; i++) {
      const v = values[offset + i];
      this.data[row + i] = v === undefined ? Number.NaN : v;
    }
    this.t[this.head] = t;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    this.version++;
  }

  /** One scalar sample (width 1). */
  push1(t: number, v: number): void {
    this.data[this.head * this.width] = v;
    this.t[this.head] = t;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    this.version++;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.version++;
  }

  /** Oldest-first copies: times and the chosen columns (into `out` arrays when their size fits). */
  columns(cols: readonly number[], out?: { t: Float64Array; cols: Float64Array[] }): { t: Float64Array; cols: Float64Array[] } {
    const n = this.count;
    const res = out && out.t.length === n && out.cols.length === cols.length ? out : { t: new Float64Array(n), cols: cols.map(() => new Float64Array(n)) };
    const start = (this.head - n + this.capacity) % this.capacity;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % this.capacity;
      res.t[k] = this.t[i]!;
      for (let c = 0; c < cols.length; c++) res.cols[c]![k] = this.data[i * this.width + cols[c]!]!;
    }
    return res;
  }

  /** The newest sample's value in column `c` (NaN when empty). */
  last(c = 0): number {
    if (this.count === 0) return Number.NaN;
    return this.data[((this.head - 1 + this.capacity) % this.capacity) * this.width + c]!;
  }
}
