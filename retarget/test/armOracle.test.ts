import { describe, expect, it } from 'vitest';
import { armHome, armOracle, createRig, pose, VelocityLimiter } from '@dexbridge/retarget';

const rig = createRig();
const tree = rig.sides.left.armTree;
const FLANGE = tree.linkCount - 1;
const DT = 1 / 90;

/** Samples of the flange along joint path `path(t)`: times, targets and the path's joints. */
function along(count: number, path: (t: number) => number[]): { tS: number[]; targets: number[]; q: number[] } {
  const tS: number[] = [], targets: number[] = [], q: number[] = [];
  for (let k = 0; k < count; k++) {
    const t = k * DT, qk = path(t);
    tS.push(t);
    q.push(...qk);
    targets.push(...tree.fk(qk).subarray(FLANGE * pose.POSE_STRIDE, (FLANGE + 1) * pose.POSE_STRIDE));
  }
  return { tS, targets, q };
}

const home = Array.from(armHome('left'));
function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

describe('armOracle', () => {
  it('follows a path the arm can follow exactly, from a start 0.1 rad off it', () => {
    const { tS, targets, q } = along(90, (t) => home.map((h, i) => h + 0.2 * Math.sin(2 * t + i)));
    const start = q.map((v) => v + 0.1);
    const r = armOracle(tree, FLANGE, tS, targets, start);
    expect(Math.max(...r.positionErrorM)).toBeLessThan(1e-4);
    expect(Math.max(...r.rotationErrorRad)).toBeLessThan(1e-3);
    expect(r.maxVelocityRatio).toBeLessThan(1);
    expect(r.maxAccelerationRadS2).toBeLessThan(10);
  });

  it('keeps the limits where the path asks more, and follows closer than the causal limiter', () => {
    // Joints 1, 2 and 4 swing ±0.25 rad at 2 Hz: 39 rad/s² peak, four times the FR3's 10.
    const swing = [0, 1, 3];
    const { tS, targets, q } = along(120, (t) => home.map((h, i) => (swing.includes(i) ? h + 0.25 * Math.sin(2 * Math.PI * 2 * t) : h)));
    const r = armOracle(tree, FLANGE, tS, targets, q);
    expect(r.maxVelocityRatio).toBeLessThanOrEqual(1.001);
    expect(r.maxAccelerationRadS2).toBeLessThanOrEqual(10.01);
    expect(r.maxLimitExcessRad).toBeLessThanOrEqual(1e-3);
    // The limiter the pipeline uses, fed the same path frame by frame.
    const limiter = new VelocityLimiter(tree.maxVelocity, { maxAcceleration: 10, lower: tree.lower, upper: tree.upper });
    const cmd = new Float64Array(7);
    limiter.reset(q.slice(0, 7));
    const causal: number[] = [];
    for (let k = 0; k < tS.length; k++) {
      if (k === 0) cmd.set(q.slice(0, 7));
      else limiter.apply(cmd, q.slice(k * 7, k * 7 + 7), DT);
      const p = tree.fk(cmd), o = FLANGE * pose.POSE_STRIDE;
      causal.push(Math.hypot(p[o + 9]! - targets[k * 12 + 9]!, p[o + 10]! - targets[k * 12 + 10]!, p[o + 11]! - targets[k * 12 + 11]!));
    }
    // The limits bind: the path cannot be followed exactly, but knowing it ahead halves the error.
    expect(mean(r.positionErrorM)).toBeGreaterThan(1e-3);
    expect(mean(r.positionErrorM)).toBeLessThan(0.5 * mean(causal));
  });

  it('uncouples the samples on either side of a gap', () => {
    // A jump of 0.3 rad across a 0.5 s gap asks nothing of the limits: followed exactly.
    const { tS, targets, q } = along(60, (t) => home.map((h) => h + (t >= 30 * DT ? 0.3 : 0)));
    const shifted = tS.map((t, k) => (k >= 30 ? t + 0.5 : t));
    const r = armOracle(tree, FLANGE, shifted, targets, q);
    expect(Math.max(...r.positionErrorM)).toBeLessThan(1e-4);
  });

  it('rejects inputs of the wrong size, non-finite numbers and times that do not increase', () => {
    const { tS, targets, q } = along(2, () => home);
    expect(() => armOracle(tree, FLANGE, tS, targets.slice(12), q)).toThrow(RangeError);
    expect(() => armOracle(tree, FLANGE, tS, targets, [...q.slice(1), Number.NaN])).toThrow(RangeError);
    expect(() => armOracle(tree, FLANGE, [0, 0], targets, q)).toThrow(RangeError);
  });
});
