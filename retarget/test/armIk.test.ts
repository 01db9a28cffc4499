import { describe, expect, it, vi } from 'vitest';
import { ArmIk, type IkResult } from '../src/arm/ArmIk.js';
import type { KinematicTree } from '../src/kinematics/KinematicTree.js';
import { POSE_STRIDE } from '../src/math/pose.js';
import { createRig } from '../src/rig.js';
import { armHome } from '../src/pipeline/Retargeter.js';
import { SIDES, flangeLinkName } from '../src/robotNames.js';
import { mulberry32, randomJoints } from '../../test/support/random.js';

const rig = createRig();

const rng = mulberry32;

const randomQ = randomJoints;

const midRange = (tree: KinematicTree): Float64Array => Float64Array.from(tree.lower, (lo, i) => (lo + tree.upper[i]!) / 2);

/** The flange pose (12 numbers, arm base frame) at joint positions q. */
function flangePose(tree: KinematicTree, flange: number, q: ArrayLike<number>): Float64Array {
  return tree.fk(q).slice(flange * POSE_STRIDE, (flange + 1) * POSE_STRIDE);
}

/**
 * Test-side pose error of the flange at q against `target`: position distance (m) and rotation
 * angle of R_targetᵀ·R (rad, from the trace and the skew part, so it is accurate near 0).
 */
function flangeError(tree: KinematicTree, flange: number, q: ArrayLike<number>, target: Float64Array): { position: number; rotation: number } {
  const p = flangePose(tree, flange, q);
  const m = (i: number, j: number): number => target[i]! * p[j]! + target[3 + i]! * p[3 + j]! + target[6 + i]! * p[6 + j]!;
  const skew = Math.hypot(m(2, 1) - m(1, 2), m(0, 2) - m(2, 0), m(1, 0) - m(0, 1)) / 2;
  return {
    position: Math.hypot(p[9]! - target[9]!, p[10]! - target[10]!, p[11]! - target[11]!),
    rotation: Math.atan2(skew, (m(0, 0) + m(1, 1) + m(2, 2) - 1) / 2),
  };
}

function expectWithinLimits(tree: KinematicTree, q: Float64Array): void {
  for (let i = 0; i < q.length; i++) {
    expect(Number.isFinite(q[i]!)).toBe(true);
    expect(q[i]!).toBeGreaterThanOrEqual(tree.lower[i]!);
    expect(q[i]!).toBeLessThanOrEqual(tree.upper[i]!);
  }
}

const distance = (a: Float64Array, b: Float64Array): number => Math.hypot(...Array.from(a, (v, i) => v - b[i]!));

/**
 * Cold solves from mid-range. With the defaults (400 iterations, 30 per attempt) about 0.5% of
 * uniformly random reachable poses run out of iterations (10 of 2000 in a trial); 1500 iterations
 * and 60 restarts converged 2000 of 2000 there, with 38 iterations on average.
 */
const ROUND_TRIP_OPTIONS = { maxRestarts: 60, maxIterations: 1500 } as const;

/** 100 warm solves (seed within ±0.05 rad of a random reachable solution), with and without `rest`. */
function warmSolvesWithRest(tree: KinematicTree, flange: number, ik: ArmIk, seedOfRng: number) {
  const next = rng(seedOfRng);
  const rest = midRange(tree);
  const plain = new Float64Array(7);
  const pulled = new Float64Array(7);
  const cases: { plain: IkResult; pulled: IkResult; ratio: number; actual: number; inLimits: boolean }[] = [];
  for (let k = 0; k < 100; k++) {
    const q = randomQ(tree, next, 0.7);
    const target = flangePose(tree, flange, q);
    const seed = Float64Array.from(q, (v) => v + 0.1 * (next() - 0.5));
    const a = { ...ik.solve(target, seed, plain) };
    const b = { ...ik.solve(target, seed, pulled, { rest }) };
    const e = flangeError(tree, flange, pulled, target);
    const inLimits = pulled.every((v, i) => v >= tree.lower[i]! && v <= tree.upper[i]!);
    cases.push({ plain: a, pulled: b, ratio: distance(pulled, rest) / distance(plain, rest), actual: Math.hypot(e.position, e.rotation), inLimits });
  }
  return cases;
}

describe('ArmIk', () => {
  for (const side of SIDES) {
    const tree = rig.sides[side].armTree;
    const flange = tree.linkIndex(flangeLinkName(side));

    it(`${side}: round trip: random joints → FK → IK from mid-range with restarts reaches the pose to 1e-5 (250 poses)`, () => {
      const ik = new ArmIk(tree, flangeLinkName(side));
      ik.seedRandom(side === 'left' ? 1 : 2);
      const next = rng(side === 'left' ? 101 : 102);
      const seed = midRange(tree);
      const out = new Float64Array(7);
      let restarts = 0;
      for (let k = 0; k < 250; k++) {
        const q = randomQ(tree, next);
        const target = flangePose(tree, flange, q);
        const r = ik.solve(target, seed, out, ROUND_TRIP_OPTIONS);
        expect(r.status).toBe('converged');
        expect(r.residual).toBeLessThan(1e-5);
        expect(r.positionError).toBeLessThanOrEqual(r.residual);
        expect(r.rotationError).toBeLessThanOrEqual(r.residual);
        restarts += r.restarts;
        expectWithinLimits(tree, out);
        const e = flangeError(tree, flange, out, target);
        expect(Math.hypot(e.position, e.rotation)).toBeLessThan(1e-5);
      }
      // The random targets must actually exercise the restarts (mid-range is a poor seed for many).
      expect(restarts).toBeGreaterThan(0);
    });

    it(`${side}: the null-space pull toward a rest posture moves the solution nearer to it than without rest`, () => {
      const cases = warmSolvesWithRest(tree, flange, new ArmIk(tree, flangeLinkName(side)), side === 'left' ? 201 : 202);
      for (const c of cases) {
        expect(c.plain.status).toBe('converged');
        expect(c.inLimits).toBe(true);
        // Whatever the status, the reported residual is the one of the returned joints.
        expect(c.actual).toBeCloseTo(c.pulled.residual, 9);
      }
      // One short warm solve moves the posture only a little (the pull is capped so it never costs
      // the pose), but it never pushes away from rest.
      const ratios = cases.map((c) => c.ratio).sort((x, y) => x - y);
      expect(ratios[50]!).toBeLessThan(1);
      expect(ratios[ratios.length - 1]!).toBeLessThan(1.01);
    });

    it(`${side}: tracking a moving target, the rest pull swings a displaced elbow back toward rest`, () => {
      const ik = new ArmIk(tree, flangeLinkName(side));
      const rest = Float64Array.from(armHome(side));
      const base = flangePose(tree, flange, rest);
      // The same flange pose with the elbow elsewhere on its self-motion (7th DoF).
      const swung = Float64Array.from(rest);
      swung[0] = swung[0]! + 0.5;
      swung[2] = swung[2]! - 0.6;
      expect(ik.solve(base, swung, swung).status).toBe('converged');
      expect(distance(swung, rest)).toBeGreaterThan(0.4);
      const plain = Float64Array.from(swung);
      const pulled = Float64Array.from(swung);
      const target = new Float64Array(12);
      for (let k = 0; k < 200; k++) {
        // A 3 cm circle at 90 Hz around the rest pose, like a steady hand.
        target.set(base);
        target[9] = base[9]! + 0.03 * Math.cos(k / 20);
        target[10] = base[10]! + 0.03 * Math.sin(k / 20);
        expect(ik.solve(target, plain, plain, { maxIterations: 12, tolerance: 1e-6 }).status).toBe('converged');
        expect(ik.solve(target, pulled, pulled, { maxIterations: 12, tolerance: 1e-6, rest, restGain: 0.05 }).status).toBe('converged');
      }
      expect(distance(plain, rest)).toBeGreaterThan(0.4);
      expect(distance(pulled, rest)).toBeLessThan(0.5 * distance(plain, rest));
    });

    it(`${side}: with a rest posture, warm solves still reach the pose (residual < 1e-5)`, () => {
      const cases = warmSolvesWithRest(tree, flange, new ArmIk(tree, flangeLinkName(side)), side === 'left' ? 201 : 202);
      for (const c of cases) {
        expect(c.pulled.status).toBe('converged');
        expect(c.pulled.residual).toBeLessThan(1e-5);
        expect(c.actual).toBeLessThan(1e-5);
      }
    });

    it(`${side}: an unreachable target (2 m away) gives max_iterations with a finite residual and joints within limits`, () => {
      const ik = new ArmIk(tree, flangeLinkName(side));
      ik.seedRandom(7);
      const target = flangePose(tree, flange, [0, 0, 0, -1.5, 0, 1.5, 0]);
      target[9] = 2; target[10] = 0.3; target[11] = 0.5;
      const out = new Float64Array(7);
      for (const maxRestarts of [0, 5]) {
        const r: IkResult = { ...ik.solve(target, midRange(tree), out, { maxRestarts }) };
        expect(r.status).toBe('max_iterations');
        expect(r.iterations).toBeGreaterThan(0);
        expect(r.iterations).toBeLessThanOrEqual(400);
        for (const v of [r.residual, r.positionError, r.rotationError]) expect(Number.isFinite(v)).toBe(true);
        // FR3 reach from the shoulder is under 1.2 m.
        expect(r.positionError).toBeGreaterThan(2.03 - 0.333 - 1.2);
        expectWithinLimits(tree, out);
        // The reported residual is the one of the returned joints.
        const e = flangeError(tree, flange, out, target);
        expect(e.position).toBeCloseTo(r.positionError, 12);
        expect(e.rotation).toBeCloseTo(r.rotationError, 9);
        expect(r.residual).toBeCloseTo(Math.hypot(r.positionError, r.rotationError), 12);
      }
    });
  }

  it('tipVelocityToJoints gives joint velocities that move the flange at the asked linear velocity (finite differences)', () => {
    const side = SIDES[0]!;
    const tree = rig.sides[side].armTree;
    const ik = new ArmIk(tree, flangeLinkName(side));
    const flange = tree.linkIndex(flangeLinkName(side));
    const next = rng(41);
    for (let k = 0; k < 50; k++) {
      const q = Float64Array.from(armHome(side), (h) => h + 0.6 * (next() - 0.5));
      const v = [next() - 0.5, next() - 0.5, next() - 0.5];
      const qd = ik.tipVelocityToJoints(q, v, new Float64Array(7));
      const h = 1e-6;
      const p0 = flangePose(tree, flange, q);
      const p1 = flangePose(tree, flange, Float64Array.from(q, (x, i) => x + h * qd[i]!));
      for (let i = 0; i < 3; i++) expect((p1[9 + i]! - p0[9 + i]!) / h).toBeCloseTo(v[i]!, 2);
    }
  });

  it('boundHoldsPosition: a tracking solve stopped by its one-frame bound is on its way; one stopped inside its bound, by a joint limit or out of reach, is not', () => {
    const side = SIDES[1]!;
    const tree = rig.sides[side].armTree;
    const ik = new ArmIk(tree, flangeLinkName(side));
    const flange = tree.linkIndex(flangeLinkName(side));
    const home = Float64Array.from(armHome(side));
    const solve = (target: Float64Array, reach: number): { q: Float64Array; lo: Float64Array; hi: Float64Array; r: IkResult } => {
      const lo = Float64Array.from(home, (h) => h - reach), hi = Float64Array.from(home, (h) => h + reach);
      const q = new Float64Array(7);
      const r = ik.solve(target, home, q, { maxRestarts: 0, maxIterations: 12, rotationWeight: 0.02, lowerBound: lo, upperBound: hi });
      return { q, lo, hi, r };
    };
    // A reachable target 0.3 rad of joint motion away, with one frame's worth (0.03 rad) of room.
    const far = flangePose(tree, flange, Float64Array.from(home, (h, i) => h + (i < 4 ? 0.3 : 0)));
    const near = solve(far, 0.03);
    expect(near.r.positionError).toBeGreaterThan(1e-3);
    expect(ik.boundHoldsPosition(near.q, far, near.lo, near.hi)).toBe(true);
    // The same target with room to reach it: nothing holds it back.
    const roomy = solve(far, 1);
    expect(roomy.r.positionError).toBeLessThan(1e-3);
    expect(ik.boundHoldsPosition(roomy.q, far, roomy.lo, roomy.hi)).toBe(false);
    // Two metres out of reach, bounded only by the joint limits: out of reach, not on its way.
    const away = Float64Array.from(far);
    away[9] = 2; away[10] = 0; away[11] = 0.5;
    const q = new Float64Array(7);
    const r = ik.solve(away, home, q, { maxRestarts: 0, maxIterations: 200, rotationWeight: 0.02 });
    expect(r.positionError).toBeGreaterThan(0.5);
    expect(ik.boundHoldsPosition(q, away, tree.lower, tree.upper)).toBe(false);
  });

  it('writes the same solution when out aliases the seed', () => {
    const tree = rig.sides.left.armTree;
    const flange = tree.linkIndex('left_arm_flange');
    const ik = new ArmIk(tree, 'left_arm_flange');
    const next = rng(301);
    const q = randomQ(tree, next, 0.7);
    const target = flangePose(tree, flange, q);
    const seed = Float64Array.from(q, (v) => v + 0.2 * (next() - 0.5));
    const out = new Float64Array(7);
    const a = { ...ik.solve(target, seed, out) };
    const aliased = Float64Array.from(seed);
    const b = { ...ik.solve(target, aliased, aliased) };
    expect(b).toEqual(a);
    expect(Array.from(aliased)).toEqual(Array.from(out));
  });

  it('clamps a seed outside the limits before solving', () => {
    const tree = rig.sides.right.armTree;
    const flange = tree.linkIndex('right_arm_flange');
    const ik = new ArmIk(tree, 'right_arm_flange');
    const q = randomQ(tree, rng(302), 0.5);
    const target = flangePose(tree, flange, q);
    const out = new Float64Array(7);
    const r = ik.solve(target, [9, -9, 9, 9, -9, -9, 9], out, ROUND_TRIP_OPTIONS);
    expect(r.status).toBe('converged');
    expectWithinLimits(tree, out);
  });

  it('with restarts, an unreachable target returns the best joints found over all attempts', () => {
    const tree = rig.sides.left.armTree;
    const flange = tree.linkIndex('left_arm_flange');
    const ik = new ArmIk(tree, 'left_arm_flange');
    const target = flangePose(tree, flange, [0, 0, 0, -1.5, 0, 1.5, 0]);
    target[9] = 2; target[10] = 0.3; target[11] = 0.5;
    const out = new Float64Array(7);
    // The objective the descent minimises: position² + (0.4 m/rad × rotation)².
    const objective = (r: IkResult): number => r.positionError ** 2 + (0.4 * r.rotationError) ** 2;
    const single = objective(ik.solve(target, midRange(tree), out, { maxRestarts: 0 }));
    ik.seedRandom(1);
    const withRestarts = objective(ik.solve(target, midRange(tree), out, { maxRestarts: 3 }));
    expect(withRestarts).toBeLessThanOrEqual(single + 1e-9);
  });
});

describe('ArmIk work per iteration', () => {
  // Counted rather than timed: a rejected trial step changes only the damping, so it costs no
  // forward kinematics beyond the trial's own (the solve keeps the accepted joints' Jacobian and
  // error). Before, each rejection also recomputed FK at the accepted joints: about half the
  // iterations of a tracking solve are rejections.
  const tree = rig.sides.right.armTree;
  const flange = tree.linkIndex(flangeLinkName('right'));

  it('one FK per trial step, and the tree posed at the answer afterwards: cold solves with restarts and warm solves within a one-frame bound', () => {
    const ik = new ArmIk(tree, flangeLinkName('right'));
    const next = rng(7);
    const out = new Float64Array(7);
    const seed = new Float64Array(7);
    const lower = new Float64Array(7), upper = new Float64Array(7);
    const home = Float64Array.from(armHome('right'));
    let iterations = 0;
    const fk = vi.spyOn(tree, 'fk');
    try {
      for (let k = 0; k < 60; k++) {
        const q = randomQ(tree, next);
        const target = flangePose(tree, flange, q);
        const warm = k % 2 === 1;
        if (warm) {
          // From a nearby pose, each joint allowed 0.03 rad: joints end on the bound and are held.
          for (let i = 0; i < 7; i++) {
            seed[i] = Math.min(tree.upper[i]!, Math.max(tree.lower[i]!, q[i]! + (next() - 0.5) * 0.4));
            lower[i] = seed[i]! - 0.03;
            upper[i] = seed[i]! + 0.03;
          }
        }
        fk.mockClear();
        const r = warm
          ? ik.solve(target, seed, out, { maxRestarts: 0, maxIterations: 12, rest: home, restGain: 0.05, lowerBound: lower, upperBound: upper })
          : ik.solveCold(target, out);
        const calls = fk.mock.calls.length;
        // One FK before the first iteration, one per trial and per restart, one at the end when
        // the last trial was rejected or the best joints were an earlier attempt's.
        expect(calls, `pose ${k}: ${calls} FK for ${r.iterations} iterations, ${r.restarts} restarts`).toBeLessThanOrEqual(r.iterations + r.restarts + 2);
        iterations += r.iterations;
        // The tree's poses are the answer's, as callers (boundHoldsPosition, tipVelocityToJoints) may read them.
        const posed = tree.poses.slice(flange * POSE_STRIDE, (flange + 1) * POSE_STRIDE);
        expect(Array.from(posed)).toEqual(Array.from(flangePose(tree, flange, out)));
        const e = flangeError(tree, flange, out, target);
        expect(r.positionError).toBeCloseTo(e.position, 9);
      }
    } finally {
      fk.mockRestore();
    }
    expect(iterations).toBeGreaterThan(500);
  });
});
