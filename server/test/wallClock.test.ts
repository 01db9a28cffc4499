import { describe, expect, it } from 'vitest';
import { wallClockStamper } from '../src/ros/wallClock.js';

/** Injected clocks: the loop's monotonic time and the wall clock, both set by the test. */
function clocks(loopMs: number, wallMs: number) {
  const c = { loop: loopMs, wall: wallMs };
  return { c, stamp: wallClockStamper(() => c.loop, () => c.wall) };
}

describe('wallClockStamper (ROS header stamps)', () => {
  it('maps a loop time to the wall clock by the offset between the clocks', () => {
    const { stamp } = clocks(1000, 1_700_000_000_000);
    expect(stamp(1000)).toBe(1_700_000_000_000);
    expect(stamp(1010.5)).toBe(1_700_000_000_010.5);
  });

  it('keeps the offset while the clocks differ by at most 2 ms (Date.now ticks in whole ms), and follows a larger change at once', () => {
    const { c, stamp } = clocks(0, 5_000);
    c.loop = 10.7; c.wall = 5_010; // offset 4999.3: within 2 ms of 5000
    expect(stamp(10.7)).toBe(5_010.7);
    c.loop = 20; c.wall = 5_030; // offset 5010: an NTP step of 10 ms
    expect(stamp(20)).toBe(5_030);
    c.loop = 30; c.wall = 5_040;
    expect(stamp(29)).toBe(5_039);
  });

  it('gives the messages of one instant one stamp even when the offset moves between them (a late loop on a busy machine)', () => {
    const { c, stamp } = clocks(0, 5_000);
    c.loop = 100; c.wall = 5_100;
    const trajectory = stamp(100);
    // The loop fell behind the wall clock before the joint state of the same step went out.
    c.wall = 5_106;
    const jointState = stamp(100);
    expect(jointState).toBe(trajectory);
    // The next instant takes the new offset.
    c.loop = 110; c.wall = 5_116;
    expect(stamp(110)).toBe(5_116);
    // Instants interleave (a policy chunk's start between two states): each keeps its stamp.
    const a = stamp(110), b = stamp(120), again = stamp(110);
    expect(again).toBe(a);
    expect(b).toBe(5_126);
  });
});
