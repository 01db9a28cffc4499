import { describe, expect, it } from 'vitest';
import { velocityLimitedPath } from '@dexbridge/retarget';

const DT = 1 / 90;
const times = (count: number): number[] => Array.from({ length: count }, (_, k) => k * DT);

describe('velocityLimitedPath', () => {
  it('keeps a sequence that already keeps the limits', () => {
    const s = times(100).flatMap((t) => [0.5 * Math.sin(3 * t), 0.2 * Math.cos(5 * t)]);
    const r = velocityLimitedPath(times(100), s, [8, 8]);
    for (let j = 0; j < s.length; j++) expect(r.q[j]).toBeCloseTo(s[j]!, 9);
  });

  it('turns a step into the ramp at the limit that is centred on it, starting before the step', () => {
    // The closest path to a 1 rad step at 8 rad/s: a ramp of 0.0889 rad per sample through 0.5
    // midway between the samples before and after the step (a causal limiter starts at the step).
    const count = 100, c = 8 * DT;
    const s = times(count).map((_, k) => (k >= 50 ? 1 : 0));
    const r = velocityLimitedPath(times(count), s, [8]);
    for (let k = 0; k < count; k++) expect(r.q[k]).toBeCloseTo(Math.min(1, Math.max(0, 0.5 + (k - 49.5) * c)), 5);
    expect(r.q[46]).toBeGreaterThan(0); // moving four samples before the step
    expect(r.maxVelocityRatio).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('keeps each joint within its own limit, over uneven time steps', () => {
    const t = [0, 0.01, 0.03, 0.035, 0.05, 0.2, 0.21];
    const s = [0, 0, 1, -1, 1, 0, 1, 1, -1, 0, 2, 0, 0, 1].map((v) => v * 0.5);
    const r = velocityLimitedPath(t, s, [4, 10]);
    for (let k = 1; k < t.length; k++) {
      for (let i = 0; i < 2; i++) expect(Math.abs(r.q[k * 2 + i]! - r.q[(k - 1) * 2 + i]!)).toBeLessThanOrEqual([4, 10][i]! * (t[k]! - t[k - 1]!) * (1 + 1e-6));
    }
  });

  it('rejects mismatched sizes, times that do not increase, non-finite solutions and limits that are not positive', () => {
    expect(() => velocityLimitedPath([0, 1], [0, 0, 0], [1, 1])).toThrow(RangeError);
    expect(() => velocityLimitedPath([0, 0], [0, 0], [1])).toThrow(RangeError);
    expect(() => velocityLimitedPath([0, 1], [0, Number.NaN], [1])).toThrow(RangeError);
    expect(() => velocityLimitedPath([0, 1], [0, 1], [0])).toThrow(RangeError);
  });
});
