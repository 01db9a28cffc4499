import { describe, expect, it } from 'vitest';
import {
  alignmentOf, calibrateHand, createHandTargets, createRig, FidelityMeter, type HandFrame, HAND_ACTIVE_SUFFIXES, HandSolver, type HandTargets, handCapsuleInterpenetrationM, HumanHandMapper, pose, Retargeter, type Side, STATE_JOINT_NAMES,
  syntheticHumanHand,
} from '@dexbridge/retarget';
import { mulberry32 } from '../../test/support/random.js';

const rig = createRig();
const PERIOD_MS = 1000 / 90;

/** State indices of a side's 16 active hand joints. */
const activeIndex = (side: Side): number[] => HAND_ACTIVE_SUFFIXES.map((s) => STATE_JOINT_NAMES.indexOf(`${side}_hand_${s}`));

/** Hand joints within `span` of each range about mid-range. */
function randomHandQ(side: Side, next: () => number, span: number): Float64Array {
  const t = rig.sides[side].handTree;
  return Float64Array.from(t.lower, (lo, i) => {
    const mid = (lo + t.upper[i]!) / 2;
    return mid + (t.upper[i]! - lo) * span * (next() - 0.5);
  });
}

/**
 * Like {@link randomHandQ}, but only poses whose neighbouring phalanx capsules do not
 * interpenetrate: the retargeting keeps those capsules apart (`handCapsuleSeparation`), so a
 * pose the robot itself cannot take without interpenetrating is no ground truth to demand back.
 * About a fifth of the poses at 70 % of each range interpenetrate.
 */
function randomFreeHandQ(side: Side, next: () => number, span: number): Float64Array {
  for (;;) {
    const q = randomHandQ(side, next, span);
    if (handCapsuleInterpenetrationM(rig.sides[side], q) <= 0) return q;
  }
}

/** Holds one hand still for `count` frames through a fresh Retargeter; returns it. */
function hold(side: Side, joints: Float64Array, count = 60, rt = new Retargeter(rig), meter?: FidelityMeter, firstFrame = 0): Retargeter {
  for (let k = firstFrame; k < firstFrame + count; k++) {
    const f: HandFrame = { tMs: k * PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null };
    rt.process(f);
    meter?.add(f, rt);
  }
  return rt;
}

/** Fingertips (5 × xyz, hand frame) of the robot hand at active joints q. */
function tipsAt(side: Side, q: ArrayLike<number>): Float64Array {
  const m = rig.sides[side];
  const poses = m.handTree.fk(q);
  return Float64Array.from({ length: 15 }, (_, k) => poses[m.tipLinks[Math.floor(k / 3)]! * pose.POSE_STRIDE + 9 + (k % 3)]!);
}

function commandedHandQ(rt: Retargeter, side: Side): Float64Array {
  return Float64Array.from(activeIndex(side), (i) => rt.output.q[i]!);
}

describe('hand retargeting against ground truth from the robot', () => {
  for (const side of ['left', 'right'] as const) {
    it(`${side}: hands made from random robot poses (human knuckle layout, 0.86 size; poses that do not interpenetrate) come back within 3 mm at every fingertip in at least 90 % of poses`, () => {
      const next = mulberry32(side === 'left' ? 11 : 12);
      let good = 0;
      const poses = 40;
      for (let k = 0; k < poses; k++) {
        const q = randomFreeHandQ(side, next, 0.7);
        const truth = tipsAt(side, q);
        const rt = hold(side, syntheticHumanHand(rig, side, q, { scale: 0.86 }));
        const got = tipsAt(side, commandedHandQ(rt, side));
        let worst = 0;
        for (let f = 0; f < 5; f++) worst = Math.max(worst, Math.hypot(got[f * 3]! - truth[f * 3]!, got[f * 3 + 1]! - truth[f * 3 + 1]!, got[f * 3 + 2]! - truth[f * 3 + 2]!));
        if (worst < 0.003) good++;
      }
      expect(good).toBeGreaterThanOrEqual(0.9 * poses);
    });

    it(`${side}: the long fingers' PIP angles follow the ground truth within 0.1 rad (curl split like the human's, no MCP/PIP swap)`, () => {
      const next = mulberry32(side === 'left' ? 13 : 14);
      const pip = HAND_ACTIVE_SUFFIXES.flatMap((s, i) => (s.endsWith('_pip') ? [i] : []));
      let worst = 0;
      for (let k = 0; k < 25; k++) {
        const q = randomFreeHandQ(side, next, 0.7);
        const got = commandedHandQ(hold(side, syntheticHumanHand(rig, side, q, { scale: 0.86 })), side);
        for (const i of pip) worst = Math.max(worst, Math.abs(got[i]! - q[i]!));
      }
      expect(worst).toBeLessThan(0.1);
    });

    it(`${side}: a straight, relaxed human hand puts no MCP abduction joint at a limit`, () => {
      const rt = hold(side, syntheticHumanHand(rig, side, new Float64Array(16), { scale: 0.86 }));
      const got = commandedHandQ(rt, side);
      const t = rig.sides[side].handTree;
      HAND_ACTIVE_SUFFIXES.forEach((s, i) => {
        if (!s.endsWith('_mcp_abd')) return;
        expect(got[i]!).toBeGreaterThan(t.lower[i]! + 0.05);
        expect(got[i]!).toBeLessThan(t.upper[i]! - 0.05);
      });
    });
  }

  it('a human index 12 % longer than the robot’s proportions still gets a straight robot index (per-digit length ratio)', () => {
    const side: Side = 'right';
    const hand = syntheticHumanHand(rig, side, new Float64Array(16), { scale: 0.86 });
    // Stretch the index from its knuckle (joint 6) outward by 12 %.
    for (let j = 7; j <= 9; j++) for (let c = 0; c < 3; c++) hand[j * 8 + c] = hand[6 * 8 + c]! + 1.12 * (hand[j * 8 + c]! - hand[6 * 8 + c]!);
    const got = commandedHandQ(hold(side, hand), side);
    expect(got[HAND_ACTIVE_SUFFIXES.indexOf('index_pip')]!).toBeLessThan(0.05);
    expect(got[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_flex')]!).toBeLessThan(0.05);
  });

  it('keeps neighbouring fingertips apart when the human crosses them (separation term)', () => {
    const side: Side = 'right';
    const q = new Float64Array(16);
    // Index swung fully toward the middle finger, middle fully toward the index, both curled a little.
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_abd')] = -0.35;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_abd')] = 0.3;
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_flex')] = 0.4;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_flex')] = 0.4;
    const hand = syntheticHumanHand(rig, side, q);
    // Push the human index tip onto the middle tip: the human input itself interpenetrates.
    for (let c = 0; c < 3; c++) hand[9 * 8 + c] = hand[14 * 8 + c]!;
    const tips = tipsAt(side, commandedHandQ(hold(side, hand), side));
    const r = rig.sides[side].tipRadii;
    const depth = r[1]! + r[2]! - Math.hypot(tips[3]! - tips[6]!, tips[4]! - tips[7]!, tips[5]! - tips[8]!);
    expect(depth).toBeLessThan(0.001);
  });

  it('without the separation term the same crossed fingertips interpenetrate (the term is what keeps them apart)', () => {
    const side: Side = 'right';
    const q = new Float64Array(16);
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_abd')] = -0.35;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_abd')] = 0.3;
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_flex')] = 0.4;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_flex')] = 0.4;
    const hand = syntheticHumanHand(rig, side, q);
    for (let c = 0; c < 3; c++) hand[9 * 8 + c] = hand[14 * 8 + c]!;
    const rt = new Retargeter(rig, { hand: { separationWeight: 0 } });
    const tips = tipsAt(side, commandedHandQ(hold(side, hand, 60, rt), side));
    const r = rig.sides[side].tipRadii;
    const depth = r[1]! + r[2]! - Math.hypot(tips[3]! - tips[6]!, tips[4]! - tips[7]!, tips[5]! - tips[8]!);
    expect(depth).toBeGreaterThan(0.003);
  });
});

/**
 * A right hand's mapper and an open synthetic human hand whose thumb tip `setGap(gap)` places so
 * that the thumb–index pad gap is `gap` (m); `t` and `poseOut` receive what the mapper maps.
 */
function thumbIndexGap(): { mapper: HumanHandMapper; hand: Float64Array; t: HandTargets; poseOut: Float64Array; setGap: (gap: number) => void } {
  const hand = syntheticHumanHand(rig, 'right', new Float64Array(16));
  const setGap = (gap: number): void => {
    const r = hand[4 * 8 + 7]! + hand[9 * 8 + 7]!;
    for (let c = 0; c < 3; c++) hand[4 * 8 + c] = hand[9 * 8 + c]! + (c === 1 ? -(r + gap) : 0);
  };
  return { mapper: new HumanHandMapper(rig.sides.right), hand, t: createHandTargets(), poseOut: new Float64Array(12), setGap };
}

describe('pinches', () => {
  for (const finger of [1, 2, 3, 4] as const) {
    it(`thumb–${['', 'index', 'middle', 'ring', 'little'][finger]} pinches from robot pinch poses become robot pinches (right hand, 10 poses)`, () => {
      const side: Side = 'right';
      const next = mulberry32(100 + finger);
      let pinches = 0, robot = 0;
      for (let k = 0; pinches < 10 && k < 60; k++) {
        // A robot pinch pose: solve the hand so the two pads touch (the robot's own ground truth).
        const q = randomHandQ(side, next, 0.6);
        const pinched = pinchPose(side, q, finger);
        if (pinched === undefined) continue;
        pinches++;
        const rt = hold(side, syntheticHumanHand(rig, side, pinched), 40);
        if (rt.output.status[side].robotGapsM[finger - 1]! <= 0.003) robot++;
      }
      expect(pinches).toBe(10);
      expect(robot).toBeGreaterThanOrEqual(10);
    });
  }

  it('a pinch lasts while the human opens by less than the hysteresis (gap 5 → 8 mm)', () => {
    const { mapper, hand, t, poseOut, setGap } = thumbIndexGap();
    setGap(0.002);
    mapper.map(hand, t, poseOut);
    expect(mapper.pinching[0]).toBe(1);
    setGap(0.008);
    mapper.map(hand, t, poseOut);
    expect(mapper.pinching[0]).toBe(1);
    setGap(0.012);
    mapper.map(hand, t, poseOut);
    expect(mapper.pinching[0]).toBe(0);
  });

  it('a pinch that begins and ends changes no weight and no pinch target by a jump (gap 40 → 0 → 40 mm in 0.1 mm steps)', () => {
    // Weights that switch when a pinch begins or ends (tips 1 ↔ 0.1, the pinch weight 10 → 8.7)
    // made the robot's fingers jerk there; every weight and target is now continuous in the gap.
    const { mapper, hand, t, poseOut, setGap } = thumbIndexGap();
    const gaps = [...Array.from({ length: 401 }, (_, i) => 0.04 - i * 1e-4), ...Array.from({ length: 400 }, (_, i) => (i + 1) * 1e-4)];
    let prev: number[] | undefined;
    let began = Number.NaN, ended = Number.NaN, worstWeight = 0, worstVectorMm = 0;
    for (const gap of gaps) {
      setGap(gap);
      const was = mapper.pinching[0];
      mapper.map(hand, t, poseOut);
      if (was === 0 && mapper.pinching[0] === 1) began = gap;
      if (was === 1 && mapper.pinching[0] === 0) ended = gap;
      const now = [t.pinchWeights[0]!, t.tipWeights[0]!, t.tipWeights[1]!, Math.hypot(t.pinchVectors[0]!, t.pinchVectors[1]!, t.pinchVectors[2]!) * 1000];
      if (prev) {
        for (let i = 0; i < 3; i++) worstWeight = Math.max(worstWeight, Math.abs(now[i]! - prev[i]!));
        worstVectorMm = Math.max(worstVectorMm, Math.abs(now[3]! - prev[3]!));
      }
      prev = now;
    }
    // The pinch still begins below the 5 mm threshold and ends above threshold + hysteresis.
    expect(began).toBeLessThan(0.005);
    expect(ended).toBeGreaterThan(0.009);
    // A 0.1 mm step of the gap moves a weight by under 0.1 (the old jumps: 0.9 and 1.3) and the
    // pinch vector's length by under 0.2 mm.
    expect(worstWeight).toBeLessThan(0.1);
    expect(worstVectorMm).toBeLessThan(0.2);
  });
});

describe('hand frame alignment', () => {
  for (const side of ['left', 'right'] as const) {
    it(`${side}: is a rotation (orthonormal, det +1) from the robot's own knuckles`, () => {
      const a = alignmentOf(rig.sides[side].knucklesM, side);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const dot = a[i]! * a[j]! + a[3 + i]! * a[3 + j]! + a[6 + i]! * a[6 + j]!;
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 12);
        }
      }
      const det = a[0]! * (a[4]! * a[8]! - a[5]! * a[7]!) - a[1]! * (a[3]! * a[8]! - a[5]! * a[6]!) + a[2]! * (a[3]! * a[7]! - a[4]! * a[6]!);
      expect(det).toBeCloseTo(1, 12);
    });
  }

  it('rejects digit scales that are not five positive numbers', () => {
    expect(() => new HumanHandMapper(rig.sides.left, { digitScales: [1, 1, 1, 1] })).toThrow(/digitScales/);
    expect(() => new HumanHandMapper(rig.sides.left, { digitScales: [1, 1, -1, 1, 1] })).toThrow(/digitScales\[2\]/);
  });
});

/**
 * Solves the robot hand from q into a pose whose thumb and `finger` pads touch (within 0.5 mm),
 * or undefined when the solve does not get there.
 */
function pinchPose(side: Side, q: Float64Array, finger: number): Float64Array | undefined {
  const m = rig.sides[side];
  const touch = m.tipRadii[0]! + m.tipRadii[finger]!;
  const out = Float64Array.from(q);
  const tips0 = tipsAt(side, out);
  const dx = tips0[finger * 3]! - tips0[0]!, dy = tips0[finger * 3 + 1]! - tips0[1]!, dz = tips0[finger * 3 + 2]! - tips0[2]!;
  const d = Math.hypot(dx, dy, dz);
  const targets = {
    tips: tips0, tipWeights: new Float64Array(5).fill(0.02), pinchVectors: new Float64Array(12), pinchWeights: new Float64Array(4),
    mids: new Float64Array(15), midWeights: new Float64Array(5), separationWeight: 0,
  };
  targets.pinchVectors.set([(dx / d) * touch, (dy / d) * touch, (dz / d) * touch], (finger - 1) * 3);
  targets.pinchWeights[finger - 1] = 50;
  solverFor(side).solve(targets, out, out, out, { maxIterations: 200, regularization: 0, relativeTolerance: 1e-10 });
  const tips = tipsAt(side, out);
  const gap = Math.hypot(tips[finger * 3]! - tips[0]!, tips[finger * 3 + 1]! - tips[1]!, tips[finger * 3 + 2]! - tips[2]!) - touch;
  return Math.abs(gap) < 0.0005 ? out : undefined;
}

const solvers = new Map<Side, HandSolver>();
function solverFor(side: Side): HandSolver {
  let s = solvers.get(side);
  if (!s) {
    s = new HandSolver(rig.sides[side].handTree, rig.sides[side].tipLinks);
    solvers.set(side, s);
  }
  return s;
}

describe('operator hand calibration (open hand)', () => {
  it('recovers the digit ratios of a hand whose index is 10 % longer and whose size is 0.86 of the robot’s', () => {
    const hand = syntheticHumanHand(rig, 'right', new Float64Array(16), { scale: 0.86 });
    for (let j = 7; j <= 9; j++) for (let c = 0; c < 3; c++) hand[j * 8 + c] = hand[6 * 8 + c]! + 1.1 * (hand[j * 8 + c]! - hand[6 * 8 + c]!);
    const c = calibrateHand(rig.sides.right, Array.from({ length: 20 }, () => hand));
    expect(c.digitScales[1]!).toBeCloseTo(1 / (0.86 * 1.1), 3);
    expect(c.digitScales[2]!).toBeCloseTo(1 / 0.86, 3);
    expect(c.frames).toBe(20);
  });

  it('refuses fewer than 10 plausible frames', () => {
    const bad = new Float64Array(200).fill(Number.NaN);
    expect(() => calibrateHand(rig.sides.left, Array.from({ length: 30 }, () => bad))).toThrow(/calibrateHand: need at least 10/);
  });
});

describe('capsule separation (handCapsuleSeparation)', () => {
  /** Index and middle swung into each other and curled: the human input overlaps along the phalanges. */
  function crossed(): Float64Array {
    const q = new Float64Array(16);
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_abd')] = -0.35;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_abd')] = 0.3;
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_flex')] = 0.6;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_flex')] = 0.6;
    q[HAND_ACTIVE_SUFFIXES.indexOf('index_pip')] = 0.8;
    q[HAND_ACTIVE_SUFFIXES.indexOf('middle_pip')] = 0.8;
    const hand = syntheticHumanHand(rig, 'right', q);
    for (let j = 7; j <= 9; j++) for (let c = 0; c < 3; c++) hand[j * 8 + c] = hand[(j + 5) * 8 + c]!;
    return hand;
  }
  const overlapShare = (options: ConstructorParameters<typeof Retargeter>[1]): number => {
    const meter = new FidelityMeter(rig, { reachability: false });
    const rt = new Retargeter(rig, options);
    hold('right', crossed(), 40, rt);
    hold('right', crossed(), 5, rt, meter, 40);
    return meter.figures()['hand.overlap_share']!;
  };

  it('keeps the phalanges of crossed fingers from interpenetrating by more than 3 mm', () => {
    expect(overlapShare({ handCapsuleSeparation: true })).toBe(0);
  });

  it('is on by default', () => {
    expect(overlapShare({})).toBe(0);
  });

  it('without it the same crossed fingers do interpenetrate (tips and PIPs alone do not cover the phalanges)', () => {
    expect(overlapShare({ handCapsuleSeparation: false })).toBe(1);
  });
});

describe('handCapsuleInterpenetrationM (the ground-truth filter)', () => {
  /** The same capsules by brute force: 60 points along each segment axis, closest pair. */
  function bruteForce(side: Side, q: Float64Array): number {
    const m = rig.sides[side];
    const poses = m.handTree.fk(q);
    const at = (link: number, c: number): number => poses[link * pose.POSE_STRIDE + 9 + c]!;
    let worst = Number.NEGATIVE_INFINITY;
    for (let f = 0; f < 3; f++) {
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) {
          const la0 = m.segmentLinks[f * 4 + a]!, la1 = m.segmentLinks[f * 4 + a + 1]!;
          const lb0 = m.segmentLinks[(f + 1) * 4 + b]!, lb1 = m.segmentLinks[(f + 1) * 4 + b + 1]!;
          let d = Number.POSITIVE_INFINITY;
          for (let i = 0; i <= 60; i++) {
            for (let j = 0; j <= 60; j++) {
              const s = i / 60, t = j / 60;
              const dx = at(la0, 0) + s * (at(la1, 0) - at(la0, 0)) - at(lb0, 0) - t * (at(lb1, 0) - at(lb0, 0));
              const dy = at(la0, 1) + s * (at(la1, 1) - at(la0, 1)) - at(lb0, 1) - t * (at(lb1, 1) - at(lb0, 1));
              const dz = at(la0, 2) + s * (at(la1, 2) - at(la0, 2)) - at(lb0, 2) - t * (at(lb1, 2) - at(lb0, 2));
              d = Math.min(d, Math.hypot(dx, dy, dz));
            }
          }
          worst = Math.max(worst, m.segmentRadii[f * 3 + a]! + m.segmentRadii[(f + 1) * 3 + b]! - d);
        }
      }
    }
    return worst;
  }

  for (const side of ['left', 'right'] as const) {
    it(`${side}: agrees with a brute-force closest-point search on random poses (within 0.5 mm), and finds both kinds`, () => {
      const next = mulberry32(side === 'left' ? 21 : 22);
      let colliding = 0;
      for (let k = 0; k < 60; k++) {
        const q = randomHandQ(side, next, 0.7);
        const depth = handCapsuleInterpenetrationM(rig.sides[side], q);
        expect(Math.abs(depth - bruteForce(side, q))).toBeLessThan(0.0005);
        if (depth > 0) colliding++;
      }
      expect(colliding).toBeGreaterThan(0);
      expect(colliding).toBeLessThan(60);
    });

    it(`${side}: the open hand has clearance; index and middle swung into each other interpenetrate`, () => {
      expect(handCapsuleInterpenetrationM(rig.sides[side], new Float64Array(16))).toBeLessThan(0);
      const q = new Float64Array(16);
      const sign = side === 'right' ? 1 : -1; // the left hand is the mirror image
      q[HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_abd')] = -0.35 * sign;
      q[HAND_ACTIVE_SUFFIXES.indexOf('middle_mcp_abd')] = 0.3 * sign;
      expect(handCapsuleInterpenetrationM(rig.sides[side], q)).toBeGreaterThan(0.003);
    });
  }
});
