import { describe, expect, it } from 'vitest';
import {
  createHandTargets, createRig, type HandFrame, HAND_ACTIVE_SUFFIXES, HandSolver, HumanHandMapper, pose, Retargeter, type Side, STATE_JOINT_NAMES, softAbduction, syntheticHumanHand,
} from '@dexbridge/retarget';

const rig = createRig();
const PERIOD_MS = 1000 / 90;
const LONG = ['index', 'middle', 'ring', 'little'] as const;

describe('softAbduction (the splay map)', () => {
  const centre = -0.14, knee = 0.7 * 0.35, span = 0.35 - 0.03 - knee;
  // ±1 rad about the middle: far past any human splay (tanh is 1 to double precision beyond ~19 spans).
  const thetas = Array.from({ length: 2001 }, (_, i) => centre - 1 + i * 0.001);

  it('is the identity within the knee of the range’s middle', () => {
    for (const t of thetas) if (Math.abs(t - centre) <= knee) expect(softAbduction(t, centre, knee, span)).toBe(t);
  });

  it('is strictly increasing, continuous with a continuous slope, and never reaches the limit less the margin', () => {
    let prev = Number.NEGATIVE_INFINITY, prevSlope = Number.NaN, worstSlopeJump = 0;
    for (const t of thetas) {
      const v = softAbduction(t, centre, knee, span);
      expect(v).toBeGreaterThan(prev);
      expect(Math.abs(v - centre)).toBeLessThan(knee + span);
      if (prev !== Number.NEGATIVE_INFINITY) {
        const slope = (v - prev) / 0.001;
        expect(slope).toBeLessThanOrEqual(1 + 1e-9);
        if (!Number.isNaN(prevSlope)) worstSlopeJump = Math.max(worstSlopeJump, Math.abs(slope - prevSlope));
        prevSlope = slope;
      }
      prev = v;
    }
    // A 1 mrad step changes the slope by at most a few per cent: no kink at the knee.
    expect(worstSlopeJump).toBeLessThan(0.02);
  });
});

describe('soft joint limits in the hand solve', () => {
  it('keep a joint the targets pull past its soft limit near that limit, where without them it goes to its stop', () => {
    const m = rig.sides.right;
    const tree = m.handTree;
    const v = HAND_ACTIVE_SUFFIXES.indexOf('index_mcp_abd');
    // Fingertips of a pose with the index abducted to its upper stop: the target asks for the stop.
    const q = new Float64Array(16);
    q[v] = tree.upper[v]!;
    const poses = tree.fk(q);
    const t = createHandTargets();
    for (let i = 0; i < 15; i++) t.tips[i] = poses[m.tipLinks[Math.floor(i / 3)]! * pose.POSE_STRIDE + 9 + (i % 3)]!;
    t.pinchWeights.fill(0);
    const solver = new HandSolver(tree, m.tipLinks);
    const solveWith = (weight: number): number => {
      t.softLower = Float64Array.from(tree.lower);
      t.softUpper = Float64Array.from(tree.upper);
      t.softUpper[v] = tree.upper[v]! - 0.05;
      t.softLimitWeight = weight;
      const out = new Float64Array(16);
      solver.solve(t, out, out, out, { maxIterations: 100, regularization: 0, relativeTolerance: 1e-12 });
      return out[v]!;
    };
    expect(solveWith(0)).toBeGreaterThan(tree.upper[v]! - 0.001);
    // Weight 1 m²/rad² against a 48 mm proximal phalanx: the joint settles within 0.01 rad past the soft limit.
    const held = solveWith(1);
    expect(held).toBeLessThan(tree.upper[v]! - 0.04);
    expect(held).toBeGreaterThan(tree.upper[v]! - 0.05);
  });
});

describe('soft abduction in the mapping and the solve', () => {
  for (const side of ['left', 'right'] as const) {
    it(`${side}: each long finger's splay range comes from the URDF (rest splay included) and the mapped splay stays inside it`, () => {
      const m = new HumanHandMapper(rig.sides[side]);
      for (let i = 0; i < 4; i++) {
        const lo = m.abductionRangeRad[i * 2]!, hi = m.abductionRangeRad[i * 2 + 1]!;
        const v = HAND_ACTIVE_SUFFIXES.indexOf(`${LONG[i]!}_mcp_abd`);
        expect(hi - lo).toBeCloseTo(rig.sides[side].handTree.upper[v]! - rig.sides[side].handTree.lower[v]!, 6);
      }
    });

    it(`${side}: every long finger's abduction turns the finger about the hand's y axis (the palm normal the splay is measured about)`, () => {
      const m = rig.sides[side];
      const tree = m.handTree;
      for (const [i, f] of LONG.entries()) {
        const v = HAND_ACTIVE_SUFFIXES.indexOf(`${f}_mcp_abd`);
        const flex = HAND_ACTIVE_SUFFIXES.indexOf(`${f}_mcp_flex`);
        const tipY = (abd: number): number => {
          const q = new Float64Array(16);
          q[v] = abd;
          q[flex] = 0.8; // a bent finger: its tip leaves the palm plane, so a tilted axis would show
          return tree.fk(q)[m.tipLinks[i + 1]! * pose.POSE_STRIDE + 10]!;
        };
        expect(Math.abs(tipY(tree.lower[v]!) - tipY(0))).toBeLessThan(1e-9);
        expect(Math.abs(tipY(tree.upper[v]!) - tipY(0))).toBeLessThan(1e-9);
      }
    });

    it(`${side}: a human little finger splayed 20° past the robot's range leaves the robot's abduction off its stop, at the soft limit`, () => {
      const joints = splayedLittle(side, 20);
      const rt = new Retargeter(rig);
      for (let k = 0; k < 60; k++) rt.process({ tMs: k * PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null } as HandFrame);
      const v = HAND_ACTIVE_SUFFIXES.indexOf('little_mcp_abd');
      const q = rt.output.q[STATE_JOINT_NAMES.indexOf(`${side}_hand_little_mcp_abd`)]!;
      const t = rig.sides[side].handTree;
      const distance = Math.min(q - t.lower[v]!, t.upper[v]! - q);
      expect(distance).toBeGreaterThan(0.01);
      expect(distance).toBeLessThan(0.06);
    });

    it(`${side}: without the soft abduction (knee 1, no soft-limit weight) the same hand puts the little finger on its stop`, () => {
      const joints = splayedLittle(side, 20);
      const rt = new Retargeter(rig, { hand: { abductionKnee: 1, abductionLimitWeight: 0 } });
      for (let k = 0; k < 60; k++) rt.process({ tMs: k * PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null } as HandFrame);
      const v = HAND_ACTIVE_SUFFIXES.indexOf('little_mcp_abd');
      const q = rt.output.q[STATE_JOINT_NAMES.indexOf(`${side}_hand_little_mcp_abd`)]!;
      const t = rig.sides[side].handTree;
      expect(Math.min(q - t.lower[v]!, t.upper[v]! - q)).toBeLessThan(0.01);
    });
  }

  it('the target splay follows a sweep of the human splay monotonically and without jumps', () => {
    const side: Side = 'right';
    const m = new HumanHandMapper(rig.sides[side]);
    const t = { tips: new Float64Array(15), tipWeights: new Float64Array(5), pinchVectors: new Float64Array(12), pinchWeights: new Float64Array(4), mids: new Float64Array(15), midWeights: new Float64Array(5), separationWeight: 0 };
    const poseOut = new Float64Array(12);
    let prev = Number.NaN, worstStep = 0;
    for (let deg = -40; deg <= 30; deg += 0.25) {
      m.map(splayedLittleAt(side, deg), t, poseOut);
      const s = m.robotSplay[3]!;
      if (!Number.isNaN(prev)) {
        expect(s).toBeGreaterThanOrEqual(prev - 1e-9);
        worstStep = Math.max(worstStep, s - prev);
      }
      prev = s;
      expect(s).toBeGreaterThan(m.abductionRangeRad[6]!);
      expect(s).toBeLessThan(m.abductionRangeRad[7]!);
    }
    // 0.25° of human splay never moves the target by more than 0.25°.
    expect(worstStep).toBeLessThanOrEqual((0.25 * Math.PI) / 180 + 1e-9);
  });
});

/** A straight hand whose little finger is splayed `degrees` about the palm normal, outward from its knuckle. */
function splayedLittleAt(side: Side, degrees: number): Float64Array {
  const hand = syntheticHumanHand(rig, side, new Float64Array(16), { scale: 0.86 });
  const a = (degrees * Math.PI) / 180;
  const c = Math.cos(a), s = Math.sin(a);
  const k = 21 * 8;
  for (let j = 22; j <= 24; j++) {
    const o = j * 8;
    const x = hand[o]! - hand[k]!, z = hand[o + 2]! - hand[k + 2]!;
    hand[o] = hand[k]! + c * x + s * z;
    hand[o + 2] = hand[k + 2]! + c * z - s * x;
  }
  return hand;
}

/** The little finger splayed `pastDegrees` beyond the outside end of its range (away from the ring finger). */
function splayedLittle(side: Side, pastDegrees: number): Float64Array {
  const m = new HumanHandMapper(rig.sides[side]);
  // Outward is toward the little-finger side: −x on a right hand, +x on a left (mirror).
  const outer = side === 'right' ? m.abductionRangeRad[6]! : m.abductionRangeRad[7]!;
  const rest = side === 'right' ? -0.14 : 0.14;
  return splayedLittleAt(side, ((outer - rest) * 180) / Math.PI + (side === 'right' ? -pastDegrees : pastDegrees));
}
