import { describe, expect, it } from 'vitest';
import { createHandTargets, type HandSolveResult, HandSolver, type HandTargets } from '../src/hand/HandSolver.js';
import type { KinematicTree } from '../src/kinematics/KinematicTree.js';
import { createRig } from '../src/rig.js';
import { FINGERS, SIDES, type Side } from '../src/robotNames.js';
import { mulberry32, randomJoints } from '../../test/support/random.js';

const rig = createRig();

const rng = mulberry32;

const randomQ = randomJoints;

interface HandUnderTest {
  readonly side: Side;
  readonly tree: KinematicTree;
  readonly solver: HandSolver;
  readonly radii: Float64Array;
}

function hand(side: Side): HandUnderTest {
  const s = rig.sides[side];
  return { side, tree: s.handTree, solver: new HandSolver(s.handTree, s.tipLinks), radii: s.tipRadii };
}

/** Fingertips (5 × xyz, hand frame) at q, by the solver's own FK. */
function tipsAt(h: HandUnderTest, q: Float64Array): Float64Array {
  h.tree.fk(q);
  return h.solver.fingertips(new Float64Array(15));
}

/** Targets from the robot itself: the fingertips at q and the thumb-to-fingertip vectors. */
function targetsFrom(tips: Float64Array, t: HandTargets = createHandTargets()): HandTargets {
  t.tips.set(tips);
  for (let j = 0; j < 4; j++) for (let d = 0; d < 3; d++) t.pinchVectors[j * 3 + d] = tips[(j + 1) * 3 + d]! - tips[d]!;
  return t;
}

const dist3 = (a: Float64Array, i: number, b: Float64Array, j: number): number => Math.hypot(a[i * 3]! - b[j * 3]!, a[i * 3 + 1]! - b[j * 3 + 1]!, a[i * 3 + 2]! - b[j * 3 + 2]!);

/** Largest wrist-to-fingertip error over the five tips, m. */
function worstTipError(tips: Float64Array, t: HandTargets): number {
  let worst = 0;
  for (let i = 0; i < 5; i++) worst = Math.max(worst, dist3(tips, i, t.tips, i));
  return worst;
}

/** Centre distance minus the two pad radii of the thumb and finger f (1..4), m: 0 when the pads touch. */
function padGap(h: HandUnderTest, tips: Float64Array, f: number): number {
  return dist3(tips, f, tips, 0) - h.radii[0]! - h.radii[f]!;
}

/**
 * Checks one solve's result: valid status, finite fields, joints finite and within limits, the FK
 * left at `out`, tipErrorRms equal to the RMS from `fingertips`, and cost equal to the solver's
 * cost at `out` with regularisation `lambda` toward `qPrev`. Returns the fingertips at `out`.
 */
function expectConsistent(h: HandUnderTest, t: HandTargets, out: Float64Array, result: HandSolveResult, lambda: number, qPrev: Float64Array): Float64Array {
  const r = { ...result };
  expect(['converged', 'max_iterations']).toContain(r.status);
  expect(Number.isFinite(r.cost)).toBe(true);
  expect(r.cost).toBeGreaterThanOrEqual(0);
  expect(Number.isFinite(r.tipErrorRms)).toBe(true);
  expect(Number.isInteger(r.iterations)).toBe(true);
  for (let i = 0; i < out.length; i++) {
    expect(Number.isFinite(out[i]!)).toBe(true);
    expect(out[i]!).toBeGreaterThanOrEqual(h.tree.lower[i]!);
    expect(out[i]!).toBeLessThanOrEqual(h.tree.upper[i]!);
  }
  const tips = h.solver.fingertips(new Float64Array(15));
  expect(Array.from(tipsAt(h, out))).toEqual(Array.from(tips)); // `fingertips` read the FK of `out`
  let sq = 0;
  for (let i = 0; i < 5; i++) sq += dist3(tips, i, t.tips, i) ** 2;
  expect(r.tipErrorRms).toBeCloseTo(Math.sqrt(sq / 5), 12);
  const cost = h.solver.cost(out, t, qPrev, lambda);
  expect(Math.abs(r.cost - cost)).toBeLessThanOrEqual(1e-12 * Math.max(1, cost));
  return tips;
}

describe('HandSolver round trip', () => {
  for (const side of SIDES) {
    it(`${side}: random joints → fingertips → solveCold recovers every fingertip within 1 mm (220 poses)`, () => {
      const h = hand(side);
      const next = rng(side === 'left' ? 401 : 402);
      const out = new Float64Array(16);
      let worst = 0;
      for (let k = 0; k < 220; k++) {
        const q = randomQ(h.tree, next);
        const t = targetsFrom(tipsAt(h, q));
        const r = h.solver.solveCold(t, out);
        const tips = expectConsistent(h, t, out, r, 0, out);
        worst = Math.max(worst, worstTipError(tips, t));
        expect(worstTipError(tips, t)).toBeLessThan(1e-3);
      }
      expect(worst).toBeGreaterThan(0); // the targets are not trivially the seeds
    });

    it(`${side}: warm solve from the previous solution plus ±0.05 rad noise recovers within 1 mm (220 poses)`, () => {
      const h = hand(side);
      const next = rng(side === 'left' ? 411 : 412);
      const cold = new Float64Array(16);
      const out = new Float64Array(16);
      for (let k = 0; k < 220; k++) {
        const q = randomQ(h.tree, next);
        const t = targetsFrom(tipsAt(h, q));
        h.solver.solveCold(t, cold);
        const prev = Float64Array.from(cold, (v) => v + 0.1 * (next() - 0.5));
        const r = h.solver.solve(t, prev, prev, out);
        const tips = expectConsistent(h, t, out, r, 2e-6, prev);
        expect(worstTipError(tips, t)).toBeLessThan(1e-3);
      }
    });

    it(`${side}: out may alias the seed`, () => {
      const h = hand(side);
      const next = rng(side === 'left' ? 421 : 422);
      const t = targetsFrom(tipsAt(h, randomQ(h.tree, next)));
      const seed = randomQ(h.tree, next);
      const prev = Float64Array.from(seed);
      const out = new Float64Array(16);
      const a = { ...h.solver.solve(t, seed, prev, out) };
      const aliased = Float64Array.from(seed);
      const b = { ...h.solver.solve(t, aliased, prev, aliased) };
      expect(b).toEqual(a);
      expect(Array.from(aliased)).toEqual(Array.from(out));
    });
  }
});

describe('HandSolver on unreachable targets', () => {
  for (const side of SIDES) {
    it(`${side}: fingertip targets 1 m away give a finite cost and a NaN-free result within limits`, () => {
      const h = hand(side);
      const next = rng(side === 'left' ? 431 : 432);
      const out = new Float64Array(16);
      for (let k = 0; k < 10; k++) {
        const tips = tipsAt(h, randomQ(h.tree, next));
        if (k % 2 === 0) {
          // The whole hand shifted 1 m: thumb-to-fingertip vectors stay feasible.
          const dir = [next() - 0.5, next() - 0.5, next() - 0.5];
          const n = Math.hypot(dir[0]!, dir[1]!, dir[2]!);
          for (let i = 0; i < 15; i++) tips[i] = tips[i]! + dir[i % 3]! / n;
        } else {
          // Each fingertip 1 m from the wrist in its own direction.
          for (let i = 0; i < 5; i++) {
            const d = [next() - 0.5, next() - 0.5, next() - 0.5];
            const n = Math.hypot(d[0]!, d[1]!, d[2]!);
            for (let c = 0; c < 3; c++) tips[i * 3 + c] = d[c]! / n;
          }
        }
        const t = targetsFrom(tips);
        const cold = h.solver.solveCold(t, out);
        const coldTips = expectConsistent(h, t, out, cold, 0, out);
        expect(cold.tipErrorRms).toBeGreaterThan(0.7);
        expect(worstTipError(coldTips, t)).toBeGreaterThan(0.7);
        const prev = Float64Array.from(out);
        const warm = h.solver.solve(t, prev, prev, out, { maxIterations: 40 });
        expectConsistent(h, t, out, warm, 2e-6, prev);
      }
    });
  }
});

describe('HandSolver at the joint limits', () => {
  // A step that would carry joints past their limits stops them at the limits and solves the
  // other joints again with them held there, so the step it tries is one the model predicts.
  // Clamping the whole step instead tried steps that often raised the cost: a rejected trial is a
  // wasted FK and factorisation (two thirds of the rejections on the Quest session).
  it('meets targets beyond the joint ranges at the limits, with fewer rejected trial steps than clamping', () => {
    let evaluations = 0, iterations = 0;
    for (const side of SIDES) {
      const h = hand(side);
      const next = rng(side === 'left' ? 811 : 812);
      const n = h.tree.variableCount;
      const q = new Float64Array(n), seed = new Float64Array(n), out = new Float64Array(n), long = new Float64Array(n);
      const fk = h.tree.fk;
      let counting = false;
      try {
        h.tree.fk = function (this: KinematicTree, x) { if (counting) evaluations++; return fk.call(this, x); };
        for (let k = 0; k < 100; k++) {
          // Every joint up to 0.3 rad past either end of its range; the seed near it, inside.
          for (let i = 0; i < n; i++) q[i] = h.tree.lower[i]! - 0.3 + (h.tree.upper[i]! - h.tree.lower[i]! + 0.6) * next();
          for (let i = 0; i < n; i++) seed[i] = Math.max(h.tree.lower[i]!, Math.min(h.tree.upper[i]!, q[i]! + 0.2 * (next() - 0.5)));
          const t = targetsFrom(tipsAt(h, q));
          t.pinchWeights.fill(0);
          counting = true;
          const r = h.solver.solve(t, seed, seed, out, { maxIterations: 16, regularization: 0 });
          counting = false;
          iterations += r.iterations;
          const cost = r.cost;
          const best = h.solver.solve(t, seed, seed, long, { maxIterations: 500, regularization: 0, relativeTolerance: 1e-14 }).cost;
          for (let i = 0; i < n; i++) {
            expect(out[i]!).toBeGreaterThanOrEqual(h.tree.lower[i]!);
            expect(out[i]!).toBeLessThanOrEqual(h.tree.upper[i]!);
          }
          expect(cost).toBeLessThanOrEqual(best * 1.05 + 1e-9);
        }
      } finally {
        h.tree.fk = fk;
      }
    }
    // FK evaluations per iteration: one per accepted step, plus each solve's first and every
    // rejected trial: 1.42 now; clamping the whole step needed 1.53 on these targets.
    expect(evaluations / iterations).toBeLessThan(1.47);
  });
});

describe('HandSolver pinch', () => {
  /**
   * Configurations about to pinch (thumb and index pads 45 mm apart at most, centre to centre),
   * where a human pinch makes the mapper ask for touching pads.
   */
  function nearPinchConfigurations(h: HandUnderTest, next: () => number, count: number): Float64Array[] {
    const found: Float64Array[] = [];
    for (let tries = 0; found.length < count && tries < 10_000; tries++) {
      const q = randomQ(h.tree, next);
      if (dist3(tipsAt(h, q), 1, tipsAt(h, q), 0) <= 0.045) found.push(q);
    }
    expect(found.length).toBe(count);
    return found;
  }

  for (const side of SIDES) {
    it(`${side}: a thumb–index pinch vector of pad-radius length with weight 50 brings the pads within 3 mm (cold and warm)`, () => {
      const h = hand(side);
      const out = new Float64Array(16);
      const padSum = h.radii[0]! + h.radii[1]!;
      let open = 0;
      for (const q of nearPinchConfigurations(h, rng(side === 'left' ? 601 : 602), 20)) {
        const tips = tipsAt(h, q);
        const t = targetsFrom(tips);
        // The robot's own thumb→index direction, at the length where the pads touch.
        const d = dist3(tips, 1, tips, 0);
        for (let c = 0; c < 3; c++) t.pinchVectors[c] = ((tips[3 + c]! - tips[c]!) / d) * padSum;
        t.pinchWeights[0] = 50;
        if (Math.abs(padGap(h, tips, 1)) > 3e-3) open++;
        const cold = h.solver.solveCold(t, out);
        const coldTips = expectConsistent(h, t, out, cold, 0, out);
        expect(Math.abs(padGap(h, coldTips, 1))).toBeLessThanOrEqual(3e-3);
        // Warm, from the configuration itself (the previous frame before the pinch closed).
        const warm = h.solver.solve(t, q, q, out);
        const warmTips = expectConsistent(h, t, out, warm, 2e-6, q);
        expect(Math.abs(padGap(h, warmTips, 1))).toBeLessThanOrEqual(3e-3);
      }
      // Most configurations start with the pads well apart: the pinch term did the closing.
      expect(open).toBeGreaterThanOrEqual(15);
    });
  }

  /**
   * For finger f (1 index … 4 little): 20 placements, each the fingertips of a random hand
   * configuration at weight 0.05, with only finger f's pinch term on (weight 50) asking for
   * touching pads along that configuration's thumb→finger direction.
   */
  function pinchPlacements(h: HandUnderTest, f: number, seed: number): HandTargets[] {
    const next = rng(seed);
    const padSum = h.radii[0]! + h.radii[f]!;
    return Array.from({ length: 20 }, () => {
      const tips = tipsAt(h, randomQ(h.tree, next));
      const t = createHandTargets();
      t.tips.set(tips);
      t.tipWeights.fill(0.05);
      t.pinchWeights.fill(0);
      t.pinchWeights[f - 1] = 50;
      const d = dist3(tips, f, tips, 0);
      for (let c = 0; c < 3; c++) t.pinchVectors[(f - 1) * 3 + c] = ((tips[f * 3 + c]! - tips[c]!) / d) * padSum;
      return t;
    });
  }

  for (const side of SIDES) {
    for (let f = 1; f < 5; f++) {
      const finger = FINGERS[f]!;
      const seed = (side === 'left' ? 700 : 800) + f;

      it(`${side}: the thumb reaches the ${finger} fingertip: the thumb–${finger} pinch realises the pinch vector from every placement (multi-start)`, () => {
        // Kinematic reachability, independent of solveCold's seeding: a pinch-only solve from a few
        // random starts realises the vector (pads touching along the asked direction) to 0.1 mm.
        const h = hand(side);
        const out = new Float64Array(16);
        const starts = rng(seed + 50);
        for (const t of pinchPlacements(h, f, seed)) {
          const only = createHandTargets();
          only.tipWeights.fill(0);
          only.pinchWeights.fill(0);
          only.pinchWeights[f - 1] = 1;
          only.pinchVectors.set(t.pinchVectors);
          let best = Infinity;
          for (let k = 0; k < 20 && best > 1e-4; k++) {
            const start = randomQ(h.tree, starts);
            h.solver.solve(only, start, Float64Array.from(start), out, { maxIterations: 100, regularization: 0, relativeTolerance: 1e-12 });
            const tips = h.solver.fingertips(new Float64Array(15));
            best = Math.min(best, Math.hypot(...[0, 1, 2].map((c) => tips[f * 3 + c]! - tips[c]! - t.pinchVectors[(f - 1) * 3 + c]!)));
          }
          expect(best).toBeLessThan(1e-4);
        }
      });

      it(`${side}: solveCold pinches the thumb to the ${finger} fingertip within 3 mm from at least 18 of 20 placements`, () => {
        // Misses are local minima of solveCold (its per-finger seeding looks at the weak tip terms
        // only), not reach: the multi-start test above realises every one of these placements.
        const h = hand(side);
        const out = new Float64Array(16);
        let reached = 0;
        for (const t of pinchPlacements(h, f, seed)) {
          const r = h.solver.solveCold(t, out);
          const tips = expectConsistent(h, t, out, r, 0, out);
          if (Math.abs(padGap(h, tips, f)) <= 3e-3) reached++;
        }
        expect(reached).toBeGreaterThanOrEqual(18);
      });
    }
  }
});
