/**
 * Resampling timestamped vectors onto a regular time grid: linear interpolation per entry, except
 * rotation vectors (three consecutive entries), which are interpolated by slerp of their
 * quaternions along the shortest arc. Pure TypeScript.
 */
import { slerpRotationVector } from '@dexbridge/retarget';

/** A series of vectors of `dim` entries at increasing times (ms). */
export interface TimedSeries {
  readonly dim: number;
  /** Non-decreasing sample times (ms). */
  readonly timesMs: Float64Array;
  /** `timesMs.length × dim` values, row-major. */
  readonly values: Float64Array;
}

/**
 * Samples `series` at each of `timesMs` (increasing): before the first sample the first row, after
 * the last the last row; between samples linear per entry, and slerp for the rotation vectors that
 * start at `rotationOffsets` (each covers entries offset..offset+2).
 * @returns `timesMs.length × dim` values, row-major.
 */
export function resample(series: TimedSeries, timesMs: ArrayLike<number>, rotationOffsets: readonly number[] = []): Float64Array {
  const { dim, timesMs: src, values } = series;
  const n = src.length;
  const out = new Float64Array(timesMs.length * dim);
  if (n === 0) return out;
  const linear = new Uint8Array(dim).fill(1);
  for (const off of rotationOffsets) linear.fill(0, off, off + 3);
  const a = new Float64Array(dim);
  const b = new Float64Array(dim);
  const row = new Float64Array(dim);
  let j = 0;
  for (let i = 0; i < timesMs.length; i++) {
    const t = timesMs[i]!;
    while (j + 1 < n && src[j + 1]! <= t) j++;
    const base = i * dim;
    const ta = src[j]!;
    if (t <= ta || j + 1 >= n) {
      out.set(values.subarray(j * dim, (j + 1) * dim), base);
      continue;
    }
    const tb = src[j + 1]!;
    const f = (t - ta) / (tb - ta);
    a.set(values.subarray(j * dim, (j + 1) * dim));
    b.set(values.subarray((j + 1) * dim, (j + 2) * dim));
    for (let k = 0; k < dim; k++) if (linear[k] === 1) row[k] = a[k]! + (b[k]! - a[k]!) * f;
    for (const off of rotationOffsets) slerpRotationVector(row, off, a, off, b, off, f);
    out.set(row, base);
  }
  return out;
}
