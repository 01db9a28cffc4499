/**
 * The quantiles of the export's numeric features (server/src/export/lerobot.ts `columnQuantiles`):
 * per episode, linear between sorted values (numpy's default), then weighted by episode rows as
 * LeRobot v3 aggregates them; checked against values printed by numpy.
 */
import { describe, expect, it } from 'vitest';
import { columnQuantiles } from '../src/export/lerobot.js';

describe('columnQuantiles', () => {
  it('matches numpy.quantile per episode, weighted by rows, for each column', () => {
    // Column 0: episodes [4, 1, 10, 3, 2], [6, 5], [7]; column 1: the same values times -2.
    const column0 = [4, 1, 10, 3, 2, 6, 5, 7];
    const values = column0.flatMap((v) => [v, -2 * v]);
    const q = columnQuantiles(values, 2, [
      { from: 0, length: 5 },
      { from: 5, length: 2 },
      { from: 7, length: 1 },
    ]);
    expect(Object.keys(q)).toEqual(['q01', 'q10', 'q50', 'q90', 'q99']);
    // (np.quantile(a, q) * 5 + np.quantile(b, q) * 2 + 7) / 8
    const numpy: Record<string, number> = { q01: 2.7775, q10: 3.025, q50: 4.125, q90: 7.1, q99: 8.4725 };
    for (const [key, value] of Object.entries(numpy)) {
      expect(q[key]![0]).toBeCloseTo(value, 12);
      // Negating and scaling mirrors the quantiles: q01 of -2x is -2 × q99 of x.
      const mirrored = { q01: 'q99', q10: 'q90', q50: 'q50', q90: 'q10', q99: 'q01' }[key]!;
      expect(q[mirrored]![1]).toBeCloseTo(-2 * value, 12);
    }
  });
});
