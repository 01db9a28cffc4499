import { describe, expect, it } from 'vitest';
import { NearLimitTracker } from '../src/robot/limits.js';

describe('NearLimitTracker', () => {
  const names = ['left_arm_joint4', 'left_hand_index_pip'];
  // Range 2 rad: 2 % is 0.04 rad, 4 % is 0.08 rad.
  const limits = [
    { lower: -1, upper: 1 },
    { lower: 0, upper: 2 },
  ];

  it('flags an arm joint within 2 % of its range and keeps it until 4 % away (no flicker at the band edge)', () => {
    const t = new NearLimitTracker(names, limits);
    const at = (v: number) => t.update([v, 1]);
    expect(at(0.95)).toEqual([]); // 2.5 % from the upper limit: not yet
    expect(at(0.97)).toEqual(['left_arm_joint4']); // 1.5 %: near
    expect(at(0.95)).toEqual(['left_arm_joint4']); // 2.5 %: still near (hysteresis)
    expect(at(0.93)).toEqual(['left_arm_joint4']); // 3.5 %
    expect(at(0.91)).toEqual([]); // 4.5 %: clear
    expect(at(-0.99)).toEqual(['left_arm_joint4']); // the lower limit too
  });

  it('ignores hand joints (a fist sits at its limits by design) and values that are not finite', () => {
    const t = new NearLimitTracker(names, limits);
    expect(t.update([Number.NaN, 2])).toEqual([]);
  });

  it('refuses names and limits of different lengths', () => {
    expect(() => new NearLimitTracker(names, limits.slice(1))).toThrow(RangeError);
  });
});
