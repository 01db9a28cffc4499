import { ACTION_DIM, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { describe, expect, it } from 'vitest';
import { ACTION_PLOT_GROUPS, STATE_JOINT_GROUPS } from '../src/ui/jointGroups.js';

/** Each index in exactly one group. */
const coverage = (groups: readonly { indices: readonly number[] }[]): number[] => groups.flatMap((g) => [...g.indices]).sort((a, b) => a - b);

describe('plot groups', () => {
  it('reach every one of the 56 state joints, ring and little fingers included, in groups of at most 7', () => {
    expect(coverage(STATE_JOINT_GROUPS)).toEqual(STATE_JOINT_NAMES.map((_, i) => i));
    expect(Math.max(...STATE_JOINT_GROUPS.map((g) => g.indices.length))).toBeLessThanOrEqual(7);
    const ring = STATE_JOINT_GROUPS.find((g) => g.label === 'right ring')!;
    expect(ring.indices.map((i) => STATE_JOINT_NAMES[i])).toEqual(['right_hand_ring_mcp_abd', 'right_hand_ring_mcp_flex', 'right_hand_ring_pip', 'right_hand_ring_dip']);
  });

  it('reach every one of the 88 action entries, in groups of at most 8 (the recordings plot palette)', () => {
    expect(coverage(ACTION_PLOT_GROUPS)).toEqual(Array.from({ length: ACTION_DIM }, (_, i) => i));
    expect(Math.max(...ACTION_PLOT_GROUPS.map((g) => g.indices.length))).toBeLessThanOrEqual(8);
    expect(ACTION_PLOT_GROUPS.map((g) => g.label)).toContain('left_hand · little');
  });
});

describe('chart data for a log axis', () => {
  it('turns values that a log axis cannot draw (≤ 0, NaN) into gaps, and keeps the x column', async () => {
    const { gapsAsNull } = await import('../src/ui/Chart.js');
    const t = Float64Array.of(0, 1, 2);
    const out = gapsAsNull([t, Float64Array.of(0.2, 0, Number.NaN)] as never, true) as unknown as ArrayLike<number | null>[];
    expect(out[0]).toBe(t);
    expect(Array.from(out[1]!)).toEqual([0.2, null, null]);
  });
});
