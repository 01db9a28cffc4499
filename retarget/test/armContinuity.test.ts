import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACTION_LAYOUT, ARM_STEP_FACTOR, ArmIk, armHome, CANONICAL_OPERATOR_HAND, createRig, FidelityMeter, type HandFrame, offsetFor, armJointName, parseHandFramesJsonl, placeHand, pose, Retargeter, STATE_JOINT_NAMES, type Side, syntheticHumanHand, XR_TO_RIG,
} from '@dexbridge/retarget';
import { mulberry32, randomJoints } from '../../test/support/random.js';

const rig = createRig();
const PERIOD_MS = 1000 / 90;

/** Rig-frame pose of a side's hand base for arm joints q. */
function handPoseInRig(side: Side, q: ArrayLike<number>): Float64Array {
  const m = rig.sides[side];
  const tree = m.armTree;
  const poses = tree.fk(q);
  const out = new Float64Array(12);
  pose.multiply(out, 0, m.armBaseInRig, 0, poses, (tree.linkCount - 1) * pose.POSE_STRIDE);
  pose.multiply(out, 0, out, 0, m.handInFlange, 0);
  return out;
}

const RIG_TO_XR = pose.invert(new Float64Array(12), 0, XR_TO_RIG, 0);

/**
 * Frames of one hand (open, fingers at zero) whose wrist follows the robot's own hand along the
 * arm joint path `path(k)`: in clutch mode from home, every target is then a pose the arm reaches.
 */
function framesAlongArmPath(side: Side, count: number, path: (k: number) => ArrayLike<number>): HandFrame[] {
  const hand = syntheticHumanHand(rig, side, new Float64Array(16));
  const xr = new Float64Array(12);
  return Array.from({ length: count }, (_, k) => {
    pose.multiply(xr, 0, RIG_TO_XR, 0, handPoseInRig(side, path(k)), 0);
    const joints = placeHand(hand, xr);
    return { tMs: k * PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null };
  });
}

/** A smooth joint path from home: each joint swings by up to `amplitude` rad at its own rate. */
function sweepFromHome(side: Side, amplitude: number, seed: number): (k: number) => Float64Array {
  const next = mulberry32(seed);
  const home = armHome(side);
  // 0.1–0.4 Hz: joint accelerations stay below 2 rad/s², well inside the 10 rad/s² limit.
  const rates = Array.from({ length: 7 }, () => 0.1 + 0.3 * next());
  return (k) => Float64Array.from(home, (h, i) => h + amplitude * Math.sin((2 * Math.PI * rates[i]! * k) / 90));
}

const flange = (o: { action: Float32Array }, side: Side): number[] => {
  const off = (side === 'right' ? ACTION_LAYOUT.rightFlange : ACTION_LAYOUT.leftFlange).offset;
  return Array.from(o.action.subarray(off, off + 3));
};

describe('arm IK defaults', () => {
  it('the default options solve at least 299 of 300 random reachable poses cold, verified by forward kinematics (1e-5 m, 1e-5 rad)', () => {
    const tree = rig.sides.right.armTree;
    const ik = new ArmIk(tree, 'right_arm_flange');
    const next = mulberry32(404);
    const fl = (tree.linkCount - 1) * pose.POSE_STRIDE;
    const out = new Float64Array(7);
    const e = new Float64Array(6);
    let verified = 0;
    for (let k = 0; k < 300; k++) {
      const target = tree.fk(randomJoints(tree, next)).slice(fl, fl + 12);
      ik.solveCold(target, out);
      pose.poseError(e, 0, target, 0, tree.fk(out), fl);
      if (Math.hypot(e[0]!, e[1]!, e[2]!) < 1e-5 && Math.hypot(e[3]!, e[4]!, e[5]!) < 1e-5) verified++;
    }
    expect(verified).toBeGreaterThanOrEqual(299);
  });

  it('a cold solve is deterministic: the same target gives the same joints whatever ran before', () => {
    const tree = rig.sides.left.armTree;
    const ik = new ArmIk(tree, 'left_arm_flange');
    const fl = (tree.linkCount - 1) * pose.POSE_STRIDE;
    const next = mulberry32(405);
    const target = tree.fk(randomJoints(tree, next)).slice(fl, fl + 12);
    const a = new Float64Array(7);
    ik.solveCold(target, a);
    for (let k = 0; k < 5; k++) ik.solveCold(tree.fk(randomJoints(tree, next)).slice(fl, fl + 12), new Float64Array(7));
    const b = new Float64Array(7);
    ik.solveCold(target, b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe('arm continuity while engaged', () => {
  it('on a reachable path from home, the commanded flange is converged on the target once the hand stops', () => {
    const sweep = sweepFromHome('right', 0.3, 7);
    const frames = framesAlongArmPath('right', 300, (k) => sweep(Math.min(k, 180)));
    const rt = new Retargeter(rig);
    let last = rt.process(frames[0]!);
    for (const f of frames.slice(1)) last = rt.process(f);
    expect(last.status.right.arm.command).toBe('converged');
    expect(last.status.right.arm.commandPositionErrorM).toBeLessThan(1e-3);
  });

  it('while the hand moves on a reachable path, the solution itself stays on the target (converged IK, no failed frames)', () => {
    const frames = framesAlongArmPath('right', 270, sweepFromHome('right', 0.3, 7));
    const rt = new Retargeter(rig);
    const statuses = frames.map((f) => rt.process(f).status.right.arm.command);
    expect(statuses.filter((s) => s === 'failed')).toEqual([]);
  });

  it('while the hand moves on a reachable path, the commanded flange follows within 3 mm (not a braking distance behind)', () => {
    const frames = framesAlongArmPath('right', 270, sweepFromHome('right', 0.3, 7));
    const rt = new Retargeter(rig);
    let worst = 0;
    frames.forEach((f, k) => {
      const e = rt.process(f).status.right.arm.commandPositionErrorM;
      if (k >= 90) worst = Math.max(worst, e);
    });
    expect(worst).toBeLessThan(3e-3);
  });

  it('a wrist twisting 270° about the forearm (past joint 7’s range) never makes the solution leave the arm’s neighbourhood', () => {
    const side: Side = 'right';
    const home = armHome(side);
    // The robot's own hand, twisted about its flange axis by up to 270°: joint 7 runs out of range.
    const frames = framesAlongArmPath(side, 360, (k) => Float64Array.from(home, (h, i) => (i === 6 ? h + (1.5 * Math.PI * Math.min(k, 270)) / 270 : h)));
    const rt = new Retargeter(rig);
    const vmax = rig.sides[side].armTree.maxVelocity;
    let prev = Float64Array.from(home);
    let worst = 0;
    for (const f of frames) {
      const o = rt.process(f);
      const sol = rt.armSolution(side);
      for (let i = 0; i < 7; i++) worst = Math.max(worst, Math.abs(sol[i]! - prev[i]!) / (vmax[i]! * PERIOD_MS / 1000));
      prev = Float64Array.from(o.q.subarray(7, 14));
    }
    expect(worst).toBeLessThanOrEqual(ARM_STEP_FACTOR + 1e-9);
  });

  it('reports a twist it cannot follow as failed or limited, never converged', () => {
    const side: Side = 'right';
    const home = armHome(side);
    const frames = framesAlongArmPath(side, 400, (k) => Float64Array.from(home, (h, i) => (i === 6 ? h + (1.5 * Math.PI * Math.min(k, 270)) / 270 : h)));
    const rt = new Retargeter(rig);
    let last = rt.process(frames[0]!);
    for (const f of frames.slice(1)) last = rt.process(f);
    const arm = last.status.right.arm;
    // Joint 7 spans ±2.9 rad about a home of π/4: a 3π/2 twist is out of its range.
    expect(arm.command === 'failed' || arm.command === 'limited').toBe(true);
    expect(arm.commandRotationErrorRad).toBeGreaterThan(0.1);
  });

  it('keeps the flange position while joint 7 is at its limit: position wins over orientation', () => {
    const side: Side = 'right';
    const home = armHome(side);
    const frames = framesAlongArmPath(side, 400, (k) => Float64Array.from(home, (h, i) => (i === 6 ? h + (1.5 * Math.PI * Math.min(k, 270)) / 270 : h)));
    const rt = new Retargeter(rig);
    let last = rt.process(frames[0]!);
    for (const f of frames.slice(1)) last = rt.process(f);
    expect(last.status.right.arm.commandPositionErrorM).toBeLessThan(0.005);
  });

  it('after a 111 ms tracking gap the arm continues on the operator’s path: within 1 mm of the undisturbed run a second later', () => {
    const frames = framesAlongArmPath('right', 300, sweepFromHome('right', 0.3, 9));
    const gapped = frames.map((f) => (f.tMs >= 1500 && f.tMs < 1611 ? { ...f, right: null } : f));
    const a = new Retargeter(rig);
    const b = new Retargeter(rig);
    let pa: number[] = [], pb: number[] = [];
    frames.forEach((f, k) => {
      pa = flange(a.process(f), 'right');
      pb = flange(b.process(gapped[k]!), 'right');
    });
    expect(Math.hypot(pa[0]! - pb[0]!, pa[1]! - pb[1]!, pa[2]! - pb[2]!)).toBeLessThan(0.001);
  });

  it('re-anchors after a loss longer than reanchorMs: the operator’s motion during the loss is not replayed', () => {
    const frames = framesAlongArmPath('right', 300, sweepFromHome('right', 0.3, 9));
    const gapped = frames.map((f) => (f.tMs >= 1500 && f.tMs < 2300 ? { ...f, right: null } : f));
    const a = new Retargeter(rig);
    const b = new Retargeter(rig, { reanchorMs: 500 });
    let pa: number[] = [], pb: number[] = [];
    frames.forEach((f, k) => {
      pa = flange(a.process(f), 'right');
      pb = flange(b.process(gapped[k]!), 'right');
    });
    expect(Math.hypot(pa[0]! - pb[0]!, pa[1]! - pb[1]!, pa[2]! - pb[2]!)).toBeGreaterThan(0.005);
  });

  it('has no IK branch jumps on the real Quest 3 session (the fidelity meter’s definition)', () => {
    const frames = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8'));
    const rt = new Retargeter(rig);
    const meter = new FidelityMeter(rig, { reachability: false });
    for (const f of frames) { rt.process(f); meter.add(f, rt); }
    expect(meter.figures()['arm.branch_jumps']).toBe(0);
  });

  it('on the real Quest 3 session the commanded arm joints keep the acceleration and velocity limits also where they reach a position limit (they used to stop there within one frame: up to 93 rad/s²), wherever one frame step is within 20 % of the one before', () => {
    const frames = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8'));
    const rt = new Retargeter(rig);
    const idx = (['left', 'right'] as const).flatMap((side) => Array.from({ length: 7 }, (_, i) => STATE_JOINT_NAMES.indexOf(armJointName(side, i))));
    const vmax = (['left', 'right'] as const).flatMap((side) => Array.from(rig.sides[side].armTree.maxVelocity));
    const lower = (['left', 'right'] as const).flatMap((side) => Array.from(rig.sides[side].armTree.lower));
    const upper = (['left', 'right'] as const).flatMap((side) => Array.from(rig.sides[side].armTree.upper));
    let prev: number[] | null = null, prevV: number[] | null = null, prevT = 0, prevDt = 0;
    let peakAccel = 0, peakSpeedShare = 0, atLimitFrames = 0;
    for (const f of frames) {
      const out = rt.process(f);
      const q = idx.map((i) => out.q[i]!);
      q.forEach((x, j) => {
        expect(x).toBeGreaterThanOrEqual(lower[j]!);
        expect(x).toBeLessThanOrEqual(upper[j]!);
        if (x - lower[j]! < 1e-3 || upper[j]! - x < 1e-3) atLimitFrames++;
      });
      const dt = (f.tMs - prevT) / 1000;
      if (prev && dt > 0) {
        const v = q.map((x, j) => (x - prev![j]!) / dt);
        v.forEach((x, j) => { peakSpeedShare = Math.max(peakSpeedShare, Math.abs(x) / vmax[j]!); });
        // The braking plans with 80 % of the limit for steps like this one: a step much shorter than
        // the one before (right after a dropped frame) can need more at a limit (retarget.md, step 7).
        if (prevV && Math.abs(dt - prevDt) <= 0.2 * prevDt) v.forEach((x, j) => { peakAccel = Math.max(peakAccel, Math.abs(x - prevV![j]!) / dt); });
        prevV = v;
        prevDt = dt;
      }
      prev = q;
      prevT = f.tMs;
    }
    expect(atLimitFrames).toBeGreaterThan(0); // the session does drive joints onto their limits
    expect(peakSpeedShare).toBeLessThanOrEqual(1 + 1e-9);
    expect(peakAccel).toBeLessThanOrEqual(10 + 1e-6);
  });

  it('rejects a reanchorMs shorter than dropoutMs', () => {
    expect(() => new Retargeter(rig, { dropoutMs: 100, reanchorMs: 50 })).toThrow(/reanchorMs/);
  });
});

describe('offset mode defaults', () => {
  for (const side of ['left', 'right'] as const) {
    it(`${side}: an operator holding the canonical pose holds the robot at its start pose (converged, no motion)`, () => {
      const hand = syntheticHumanHand(rig, side, new Float64Array(16));
      const xr = pose.multiply(new Float64Array(12), 0, RIG_TO_XR, 0, CANONICAL_OPERATOR_HAND[side], 0);
      const joints = placeHand(hand, xr);
      const rt = new Retargeter(rig, { arm: { mode: 'offset' }, filter: false });
      let last = rt.process({ tMs: 0, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null });
      for (let k = 1; k < 30; k++) last = rt.process({ tMs: k * PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null });
      expect(last.status[side].arm.command).toBe('converged');
      const q = last.q.subarray(side === 'left' ? 0 : 7, side === 'left' ? 7 : 14);
      armHome(side).forEach((h, i) => {
        expect(Math.abs(q[i]! - h)).toBeLessThan(1e-3);
      });
    });
  }

  it('offsetFor maps the calibration pose exactly onto the robot pose', () => {
    const robot = handPoseInRig('right', armHome('right'));
    const human = Float64Array.from(CANONICAL_OPERATOR_HAND.right);
    human[9] = 0.31; human[10] = -0.25; human[11] = 1.2;
    const off = offsetFor(robot, human);
    const mapped = pose.multiply(new Float64Array(12), 0, off, 0, human, 0);
    for (let i = 0; i < 12; i++) expect(mapped[i]!).toBeCloseTo(robot[i]!, 12);
  });
});
