import type { KinematicTree } from '../kinematics/KinematicTree.js';
import { norm3, segmentClosestPoints } from '../math/linalg.js';
import { POSE_STRIDE } from '../math/pose.js';

/**
 * What one hand solve aims at, in the robot hand's frame (`<side>_hand_base`), metres. Filled by
 * `HumanHandMapper` from a tracked human hand, or by a test from the robot's own kinematics.
 */
export interface HandTargets {
  /** Wrist-to-fingertip targets, 5 × xyz, thumb first. */
  readonly tips: Float64Array;
  /** Weight of each wrist-to-fingertip term (5). */
  readonly tipWeights: Float64Array;
  /** Thumb-to-fingertip target vectors for index, middle, ring, little: 4 × xyz. */
  readonly pinchVectors: Float64Array;
  /** Weight of each thumb-to-fingertip term (4). */
  readonly pinchWeights: Float64Array;
  /**
   * Intermediate targets, 5 × xyz, thumb first: the thumb's MCP and each long finger's PIP, so
   * the finger curls like the human's (MCP/PIP split) and not just reaches its tip.
   */
  readonly mids: Float64Array;
  /** Weight of each intermediate term (5). Default 0 (off). */
  readonly midWeights: Float64Array;
  /**
   * Weight of the separation terms (m⁻² · m²): neighbouring long fingers' tips and PIPs are
   * pushed apart when closer than their pad or phalanx radii. Default 0 (off).
   */
  separationWeight: number;
  /**
   * Soft joint limits (16 each, rad) and their weight (m²/rad²): a joint beyond its soft limit
   * costs weight × (its distance past it)², so where the targets leave a joint free (a curled
   * finger's abduction) the solver keeps it off its hard stop. Default: none.
   */
  softLower?: Float64Array;
  softUpper?: Float64Array;
  softLimitWeight?: number;
}

export function createHandTargets(): HandTargets {
  return {
    tips: new Float64Array(15),
    tipWeights: new Float64Array(5).fill(1),
    pinchVectors: new Float64Array(12),
    pinchWeights: new Float64Array(4).fill(1),
    mids: new Float64Array(15),
    midWeights: new Float64Array(5),
    separationWeight: 0,
  };
}

/** What a hand solver needs beyond the fingertips: intermediate links and the radii for separation. */
export interface HandSolverGeometry {
  /** Link indices of the intermediate points (thumb MCP, then each long finger's PIP), 5. */
  readonly midLinks: Int32Array;
  /** Pad-sphere radius of each fingertip, m, thumb first (5). */
  readonly tipRadii: Float64Array;
  /** Phalanx radius at each intermediate point, m, thumb first (5). */
  readonly midRadii: Float64Array;
  /**
   * Optional phalanx capsules of the long fingers for the separation term: per finger (index,
   * middle, ring, little) the links proximal, middle, distal, tip (4 × 4 link indices; segment k
   * runs from link k's origin to link k+1's and moves with link k), and the radius of each
   * segment (4 × 3), m.
   */
  readonly segmentLinks?: Int32Array;
  readonly segmentRadii?: Float64Array;
}

/** A capsule pair farther apart than this at a solve's first iteration is left out of that solve (its later iterations and trial costs), m. */
const NEAR_M = 0.01;

/**
 * The damping schedule (damping relative to the normal equations' diagonal; it starts at 10⁻⁶
 * each solve). After a rejected step it grows tenfold, to at least {@link MIN_DAMPING_AFTER_REJECT}:
 * below about 0.1 it hardly shortens the step, and in the session's slowest frames (a closing
 * fist) one iteration tried the same 0.19 rad step five or six times before it lowered the cost.
 * After an accepted step it falls by {@link DAMPING_AFTER_ACCEPT}, so the next iteration starts
 * nearer what worked. Together they took 15 % off the whole frame's p99 CPU time and left the
 * fidelity figures where they were (docs/retarget.md, step 4).
 */
const MIN_DAMPING_AFTER_REJECT = 0.1;
const DAMPING_AFTER_ACCEPT = 0.5;

/** Slots of `HandSolver.sc`: regularisation λ, LM damping μ, cost, a separation pair's penetration and weight. */
const SC_LAMBDA = 0, SC_MU = 1, SC_COST = 2, SC_PENETRATION = 3, SC_WEIGHT = 4;

const HALTON_PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53] as const;

/** Element `index` of the Halton sequence in base `base`, in [0, 1). */
function halton(index: number, base: number): number {
  let f = 1;
  let r = 0;
  for (let i = index; i > 0; i = Math.floor(i / base)) {
    f /= base;
    r += f * (i % base);
  }
  return r;
}

export type HandSolveStatus = 'converged' | 'max_iterations';

export interface HandSolveResult {
  status: HandSolveStatus;
  /** Final cost: Σ w‖tip − target‖² + Σ w‖(tip − thumb) − v‖² + λ‖q − q_prev‖², m². */
  cost: number;
  /** Root-mean-square wrist-to-fingertip error over the five tips, m. */
  tipErrorRms: number;
  iterations: number;
}

export interface HandSolveOptions {
  /** Iteration cap. Default 12. */
  readonly maxIterations?: number;
  /** Weight λ of ‖q − q_prev‖² (m²/rad²): regularisation toward the previous solution. Default 2e-6. */
  readonly regularization?: number;
  /** Stop when one iteration lowers the cost by less than this fraction. Default 1e-5. */
  readonly relativeTolerance?: number;
  /** Stop when the cost is below this, m². Default 1e-12. */
  readonly absoluteTolerance?: number;
}

/**
 * Single-frame fingertip retargeting for one hand: bounded Levenberg–Marquardt on the 16 active
 * joints, minimising the wrist-to-fingertip and thumb-to-fingertip errors plus a pull toward the
 * previous solution. Each fingertip moves only with its own finger's joints, so the normal
 * equations are assembled from per-finger blocks. No state across frames (that is
 * `Retargeter`'s job); allocation-free after construction.
 */
export class HandSolver {
  readonly result: HandSolveResult = { status: 'max_iterations', cost: Infinity, tipErrorRms: Infinity, iterations: 0 };
  private readonly n: number;
  /** Points: the 5 fingertips, then the 5 intermediate links (when given). */
  private readonly tips: Int32Array;
  private readonly points: number;
  /** Column lists: which variables move each point. */
  private readonly cols: Int32Array[];
  /** Point Jacobians: points × (3 × n). */
  private readonly jt: Float64Array;
  private readonly p = new Float64Array(30);
  /** Separation pairs (point a, point b, minimum distance m), flattened. */
  private readonly sepA: Int32Array;
  private readonly sepB: Int32Array;
  private readonly sepMin: Float64Array;
  private readonly grad: Float64Array;
  /** Segment capsules (see {@link HandSolverGeometry}); empty without them. */
  private readonly segLinks: Int32Array;
  private readonly segRadii: Float64Array;
  private readonly segCols: Int32Array[];
  private readonly ja: Float64Array;
  private readonly jb: Float64Array;
  /** Closest points of the last segment pair measured: a (xyz), b (xyz), distance. */
  private readonly closest = new Float64Array(7);
  /**
   * Segment pairs within {@link NEAR_M} of touching at the start of the current iteration: the
   * only ones the trial costs of that iteration evaluate (one step moves a phalanx far less).
   * All pairs are near outside a solve, so the public `cost` counts every pair.
   */
  private readonly near: Uint8Array;
  /** Whether `near` holds this solve's measurement (else every pair counts as near). */
  private nearMeasured = false;
  private readonly h: Float64Array;
  private readonly hf: Float64Array;
  private readonly g: Float64Array;
  private readonly d: Float64Array;
  private readonly qTry: Float64Array;
  private readonly free: Uint8Array;
  /** Per joint in a bounded step: 0 held where it is, 1 free, 2 held at the limit it would cross. */
  private readonly act: Uint8Array;
  /** Scalars between the solve and its helpers (see {@link HandSolver.evaluate}). */
  private readonly sc = new Float64Array(5);
  /** Step of each joint held at a limit, rad. */
  private readonly held: Float64Array;
  /** The step's variable order (the thumb's last, see {@link boundedStep}), each row's envelope, the permuted right-hand side. */
  private readonly perm: Int32Array;
  private readonly env: Int32Array;
  private readonly x: Float64Array;
  /** Per tip: the summed weight of its tip and pinch terms, and their summed weighted residual (xyz). */
  private readonly wSum = new Float64Array(5);
  private readonly eSum = new Float64Array(15);
  private readonly eMid = new Float64Array(3);
  private readonly seedQ: Float64Array;
  private readonly bestQ: Float64Array;
  private readonly bestErr = new Float64Array(5);
  /** Targets with the thumb-to-fingertip terms off, for the cold solve's first stage. */
  private readonly tipOnly: HandTargets = { ...createHandTargets(), pinchWeights: new Float64Array(4) };

  /**
   * @param tipLinks the five fingertip links, thumb first.
   * @param geometry intermediate links and radii; without it the intermediate and separation
   *   terms are unavailable (their weights are ignored).
   */
  constructor(
    readonly tree: KinematicTree,
    tipLinks: Int32Array,
    geometry?: HandSolverGeometry,
  ) {
    this.n = tree.variableCount;
    this.tips = geometry ? Int32Array.from([...tipLinks, ...geometry.midLinks]) : Int32Array.from(tipLinks);
    this.points = this.tips.length;
    // Distinct variables per point: a mimic joint repeats its source variable in the ancestor list.
    this.cols = Array.from(this.tips, (l) => Int32Array.from(new Set(tree.variablesMoving(l))));
    this.jt = new Float64Array(this.points * 3 * this.n);
    const a: number[] = [], b: number[] = [], m: number[] = [];
    if (geometry) {
      // Neighbouring long fingers (1..4): tip against tip, PIP against PIP, and each tip against
      // the neighbour's PIP (a curled finger's tip passes its neighbour's middle phalanx).
      for (let f = 1; f < 4; f++) {
        a.push(f, 5 + f, f, 5 + f + 1); b.push(f + 1, 5 + f + 1, 5 + f + 1, f + 1);
        m.push(geometry.tipRadii[f]! + geometry.tipRadii[f + 1]!, geometry.midRadii[f]! + geometry.midRadii[f + 1]!,
          geometry.tipRadii[f]! + geometry.midRadii[f + 1]!, geometry.midRadii[f]! + geometry.tipRadii[f + 1]!);
      }
    }
    this.sepA = Int32Array.from(a);
    this.sepB = Int32Array.from(b);
    this.sepMin = Float64Array.from(m);
    this.grad = new Float64Array(this.n);
    this.segLinks = geometry?.segmentLinks ?? new Int32Array(0);
    this.segRadii = geometry?.segmentRadii ?? new Float64Array(0);
    this.segCols = Array.from({ length: this.segLinks.length }, (_, i) => Int32Array.from(new Set(tree.variablesMoving(this.segLinks[i]!))));
    this.near = new Uint8Array(Math.max(0, this.segLinks.length / 4 - 1) * 9).fill(1);
    this.ja = new Float64Array(3 * this.n);
    this.jb = new Float64Array(3 * this.n);
    this.h = new Float64Array(this.n * this.n);
    this.hf = new Float64Array(this.n * this.n);
    this.g = new Float64Array(this.n);
    this.d = new Float64Array(this.n);
    this.qTry = new Float64Array(this.n);
    this.free = new Uint8Array(this.n);
    this.act = new Uint8Array(this.n);
    this.held = new Float64Array(this.n);
    const thumb = new Set(this.cols[0]);
    this.perm = Int32Array.from([...Array.from({ length: this.n }, (_, c) => c).filter((c) => !thumb.has(c)), ...[...thumb].sort((a, b) => a - b)]);
    this.env = new Int32Array(this.n);
    this.x = new Float64Array(this.n);
    this.seedQ = new Float64Array(this.n);
    this.bestQ = new Float64Array(this.n);
  }

  /**
   * Cold solve, for a first frame or after tracking loss, when no previous solution is worth
   * warm-starting from. With the thumb-to-fingertip terms off the problem separates per finger,
   * so each of `seeds` deterministic starts (a Halton sequence over the joint ranges) is solved
   * for the wrist-to-fingertip terms alone and every finger keeps its best start; one coupled
   * solve from that combination follows. Regularised toward nothing.
   */
  solveCold(t: HandTargets, out: Float64Array, options: HandSolveOptions & { readonly seeds?: number } = {}): HandSolveResult {
    const seeds = options.seeds ?? 8;
    const { n, tree, cols, p, bestQ, seedQ, tipOnly } = this;
    tipOnly.tips.set(t.tips);
    tipOnly.tipWeights.set(t.tipWeights);
    const bestErr = this.bestErr.fill(Infinity);
    let iterations = 0;
    const stage: HandSolveOptions = { maxIterations: 25, regularization: 0, relativeTolerance: 1e-7 };
    for (let k = 0; k < seeds; k++) {
      for (let c = 0; c < n; c++) {
        const lo = tree.lower[c]!, hi = tree.upper[c]!;
        // Seed 0 is a relaxed, slightly closed hand; the rest follow a Halton sequence per joint.
        const f = k === 0 ? 0.3 : halton(k, HALTON_PRIMES[c % HALTON_PRIMES.length]!);
        seedQ[c] = lo + (hi - lo) * (0.05 + 0.9 * f);
      }
      iterations += this.solve(tipOnly, seedQ, seedQ, out, stage).iterations;
      for (let i = 0; i < 5; i++) {
        const ex = p[i * 3]! - t.tips[i * 3]!, ey = p[i * 3 + 1]! - t.tips[i * 3 + 1]!, ez = p[i * 3 + 2]! - t.tips[i * 3 + 2]!;
        const e = ex * ex + ey * ey + ez * ez;
        if (e < bestErr[i]!) {
          bestErr[i] = e;
          for (const c of cols[i]!) bestQ[c] = out[c]!;
        }
      }
    }
    const r = this.solve(t, bestQ, bestQ, out, { maxIterations: options.maxIterations ?? 60, regularization: 0, relativeTolerance: options.relativeTolerance ?? 1e-9 });
    r.iterations += iterations;
    return r;
  }

  /** Fingertip positions (5 × xyz, hand frame) of the most recent FK, into `out`. */
  fingertips(out: Float64Array): Float64Array {
    const poses = this.tree.poses;
    for (let i = 0; i < 5; i++) {
      const o = this.tips[i]! * POSE_STRIDE;
      out[i * 3] = poses[o + 9]!; out[i * 3 + 1] = poses[o + 10]!; out[i * 3 + 2] = poses[o + 11]!;
    }
    return out;
  }

  private readPoints(): void {
    const poses = this.tree.poses;
    const p = this.p;
    for (let i = 0; i < this.points; i++) {
      const o = this.tips[i]! * POSE_STRIDE;
      p[i * 3] = poses[o + 9]!; p[i * 3 + 1] = poses[o + 10]!; p[i * 3 + 2] = poses[o + 11]!;
    }
  }

  /** The cost at `q` (runs FK). */
  cost(q: Float64Array, t: HandTargets, qPrev: Float64Array, lambda: number): number {
    this.sc[SC_LAMBDA] = lambda;
    this.evaluate(q, t, qPrev);
    return this.sc[SC_COST]!;
  }

  /**
   * The cost at `q` into `sc[SC_COST]`, with λ from `sc[SC_LAMBDA]` (runs FK). Numbers go through
   * `sc`, not arguments and return values: those are boxed (a heap allocation per call) when the
   * call is not inlined.
   */
  private evaluate(q: Float64Array, t: HandTargets, qPrev: Float64Array): void {
    this.tree.fk(q);
    this.readPoints();
    const lambda = this.sc[SC_LAMBDA]!;
    let c = 0;
    for (let i = 0; i < this.n; i++) { const dq = q[i]! - qPrev[i]!; c += lambda * dq * dq; }
    const ws = t.softLimitWeight ?? 0;
    if (ws > 0) {
      const lo = t.softLower!, hi = t.softUpper!;
      for (let i = 0; i < this.n; i++) {
        const v = q[i]!, e = v < lo[i]! ? v - lo[i]! : v > hi[i]! ? v - hi[i]! : 0;
        c += ws * e * e;
      }
    }
    this.residualCost(t);
    this.sc[SC_COST] = c + this.sc[SC_COST]!;
  }

  /** The residual terms' cost at the current FK into `sc[SC_COST]`. */
  private residualCost(t: HandTargets): void {
    const p = this.p;
    let c = 0;
    for (let i = 0; i < 5; i++) {
      const ex = p[i * 3]! - t.tips[i * 3]!, ey = p[i * 3 + 1]! - t.tips[i * 3 + 1]!, ez = p[i * 3 + 2]! - t.tips[i * 3 + 2]!;
      c += t.tipWeights[i]! * (ex * ex + ey * ey + ez * ez);
    }
    for (let j = 0; j < 4; j++) {
      const f = (j + 1) * 3;
      const ex = p[f]! - p[0]! - t.pinchVectors[j * 3]!, ey = p[f + 1]! - p[1]! - t.pinchVectors[j * 3 + 1]!, ez = p[f + 2]! - p[2]! - t.pinchVectors[j * 3 + 2]!;
      c += t.pinchWeights[j]! * (ex * ex + ey * ey + ez * ez);
    }
    if (this.points > 5) {
      for (let i = 0; i < 5; i++) {
        const w = t.midWeights[i]!;
        if (w === 0) continue;
        const k = (5 + i) * 3;
        const ex = p[k]! - t.mids[i * 3]!, ey = p[k + 1]! - t.mids[i * 3 + 1]!, ez = p[k + 2]! - t.mids[i * 3 + 2]!;
        c += w * (ex * ex + ey * ey + ez * ez);
      }
      const ws = t.separationWeight;
      if (ws > 0) {
        for (let k = 0; k < this.sepA.length; k++) {
          const a = this.sepA[k]! * 3, b = this.sepB[k]! * 3;
          const r = this.sepMin[k]! - norm3(p[a]! - p[b]!, p[a + 1]! - p[b + 1]!, p[a + 2]! - p[b + 2]!);
          if (r > 0) c += ws * r * r;
        }
        for (let f = 0; f + 1 < this.segLinks.length / 4; f++) {
          for (let sa = 0; sa < 3; sa++) {
            for (let sb = 0; sb < 3; sb++) {
              if (this.near[f * 9 + sa * 3 + sb] === 0) continue;
              this.segmentDistance(f * 4 + sa, (f + 1) * 4 + sb);
              const r = this.segRadii[f * 3 + sa]! + this.segRadii[(f + 1) * 3 + sb]! - this.closest[6]!;
              if (r > 0) c += ws * r * r;
            }
          }
        }
      }
    }
    this.sc[SC_COST] = c;
  }

  /**
   * Solves for the 16 active joints, starting from `seed` and regularised toward `qPrev`
   * (often the same array), writing into `out` (may alias `seed`, not `qPrev`). Returns the shared
   * result with the status, cost and fingertip error: never a silent failure.
   */
  solve(t: HandTargets, seed: Float64Array, qPrev: Float64Array, out: Float64Array, options: HandSolveOptions = {}): HandSolveResult {
    const maxIter = options.maxIterations ?? 12;
    const lambda = options.regularization ?? 2e-6;
    const relTol = options.relativeTolerance ?? 1e-5;
    const absTol = options.absoluteTolerance ?? 1e-12;
    const { n, tree, jt, p, h, g, d, qTry, free, cols } = this;
    if (out !== seed) out.set(seed);
    tree.clamp(out);
    this.near.fill(1);
    this.nearMeasured = false;
    const sc = this.sc;
    sc[SC_LAMBDA] = lambda;
    this.evaluate(out, t, qPrev);
    let cost = sc[SC_COST]!;
    let mu = 1e-6;
    let iterations = 0;
    let status: HandSolveStatus = 'max_iterations';
    while (iterations < maxIter) {
      if (cost < absTol) { status = 'converged'; break; }
      iterations++;
      // Point Jacobians at the accepted q (FK poses are current).
      jt.fill(0);
      for (let i = 0; i < this.points; i++) {
        const o = this.tips[i]! * POSE_STRIDE;
        tree.pointJacobianAt(this.tips[i]!, tree.poses, o + 9, jt, i * 3 * n);
      }
      // Normal equations H = JᵀWJ + λI, g = JᵀWr + λ(q − q_prev), block by block.
      h.fill(0);
      for (let c = 0; c < n; c++) { h[c * n + c] = lambda; g[c] = lambda * (out[c]! - qPrev[c]!); }
      const wsl = t.softLimitWeight ?? 0;
      if (wsl > 0) {
        const lo = t.softLower!, hi = t.softUpper!;
        for (let c = 0; c < n; c++) {
          const v = out[c]!;
          if (v < lo[c]!) { h[c * n + c] = h[c * n + c]! + wsl; g[c] = g[c]! + wsl * (v - lo[c]!); }
          else if (v > hi[c]!) { h[c * n + c] = h[c * n + c]! + wsl; g[c] = g[c]! + wsl * (v - hi[c]!); }
        }
      }
      // Tips and pinches together: a pinch row (tip_f − tip_thumb) adds w·J_fᵀJ_f to the finger's
      // block and w·J_thumbᵀJ_thumb to the thumb's, so each tip's block is accumulated once with
      // its summed weight and summed residual; only the thumb–finger cross blocks are per pinch
      // (written on one side, mirrored once).
      const { wSum, eSum } = this;
      for (let i = 0; i < 5; i++) {
        const w = t.tipWeights[i]!;
        wSum[i] = w;
        for (let r = 0; r < 3; r++) eSum[i * 3 + r] = w * (p[i * 3 + r]! - t.tips[i * 3 + r]!);
      }
      for (let j = 0; j < 4; j++) {
        const w = t.pinchWeights[j]!;
        if (w === 0) continue;
        const f = j + 1;
        wSum[0] = wSum[0]! + w;
        wSum[f] = wSum[f]! + w;
        for (let r = 0; r < 3; r++) {
          const res = w * (p[f * 3 + r]! - p[r]! - t.pinchVectors[j * 3 + r]!);
          eSum[f * 3 + r] = eSum[f * 3 + r]! + res;
          eSum[r] = eSum[r]! - res;
        }
      }
      for (let i = 0; i < 5; i++) {
        this.addPoint(i, wSum[i]!, eSum, i * 3);
      }
      const c0 = cols[0]!;
      for (let j = 0; j < 4; j++) {
        const w = t.pinchWeights[j]!;
        if (w === 0) continue;
        const f = j + 1;
        const cf = cols[f]!;
        // −w·J_fᵀJ_thumb into the finger rows' thumb columns, then its transpose.
        for (let a = 0; a < cf.length; a++) {
          const ca = cf[a]!;
          for (let b = 0; b < c0.length; b++) {
            const cb = c0[b]!;
            let v = 0;
            for (let r = 0; r < 3; r++) v += jt[(f * 3 + r) * n + ca]! * jt[r * n + cb]!;
            v *= -w;
            h[ca * n + cb] = h[ca * n + cb]! + v;
            h[cb * n + ca] = h[cb * n + ca]! + v;
          }
        }
      }
      if (this.points > 5) this.addMidAndSeparation(t);
      // Bounds: joints at a limit whose descent direction points out are held for this step.
      for (let c = 0; c < n; c++) {
        free[c] = (out[c]! <= tree.lower[c]! && g[c]! > 0) || (out[c]! >= tree.upper[c]! && g[c]! < 0) ? 0 : 1;
      }
      let accepted = false;
      for (let attempt = 0; attempt < 8 && !accepted; attempt++) {
        sc[SC_MU] = mu;
        if (!this.boundedStep(out)) { mu *= 10; continue; }
        for (let c = 0; c < n; c++) qTry[c] = out[c]! + d[c]!;
        tree.clamp(qTry);
        this.evaluate(qTry, t, qPrev);
        const tryCost = sc[SC_COST]!;
        if (tryCost < cost) {
          const gain = (cost - tryCost) / cost;
          out.set(qTry);
          cost = tryCost;
          mu = Math.max(mu * DAMPING_AFTER_ACCEPT, 1e-9);
          accepted = true;
          if (gain < relTol) status = 'converged';
        } else {
          mu = Math.max(mu * 10, MIN_DAMPING_AFTER_REJECT);
        }
      }
      if (!accepted) {
        this.evaluate(out, t, qPrev); // restore FK at the accepted q
        status = 'converged'; // no descent direction left within the bounds: a local minimum
        break;
      }
      if (status === 'converged') break;
      // FK is at the accepted q: `cost` ran it last on qTry, which is now `out`.
    }
    this.near.fill(1);
    this.nearMeasured = false;
    sc[SC_COST] = cost;
    return this.finish(t, status, iterations);
  }

  /**
   * The damped Gauss–Newton step within the joint limits, into `d`, from the normal equations
   * (h, g) at the accepted joints `out`, damping `sc[SC_MU]`: joints in `free` move; one whose step would cross its limit is stopped at
   * the limit and the others are solved again with it held there (at most once per joint), so
   * the step that is tried is the step the model predicts. Clamping the full step instead made
   * two thirds of the rejected steps (each a wasted FK and factorisation, and the frame-time
   * tail). False when the damped system is not positive definite.
   */
  private boundedStep(out: Float64Array): boolean {
    const { n, tree, h, hf, g, d, free, act, held, perm, env, x } = this;
    const mu = this.sc[SC_MU]!;
    let heldCount = 0;
    for (let c = 0; c < n; c++) { act[c] = free[c]!; held[c] = 0; }
    for (let pass = 0; pass <= n; pass++) {
      // The damped system in the solver's order (the thumb last), lower triangle only, with each
      // row's envelope: the column of its first nonzero. A finger couples only with the thumb
      // and, through separation, its neighbours, so the envelopes are short and the factor
      // (whose nonzeros stay within them) costs a fraction of a dense one.
      for (let A = 0; A < n; A++) {
        const a = perm[A]!;
        if (act[a] !== 1) { hf[A * n + A] = 1; env[A] = A; x[A] = 0; continue; }
        let e = A;
        for (let B = 0; B < A; B++) {
          const b = perm[B]!;
          const v = act[b] === 1 ? h[a * n + b]! : 0;
          hf[A * n + B] = v;
          if (v !== 0 && B < e) e = B;
        }
        env[A] = e;
        hf[A * n + A] = h[a * n + a]! * (1 + mu) + mu * 1e-4;
        let r = -g[a]!;
        if (heldCount > 0) for (let b = 0; b < n; b++) if (act[b] === 2) r -= h[a * n + b]! * held[b]!;
        x[A] = r;
      }
      // Envelope Cholesky (L·Lᵀ, lower triangle in place).
      for (let j = 0; j < n; j++) {
        const ej = env[j]!;
        let dd = hf[j * n + j]!;
        for (let k = ej; k < j; k++) dd -= hf[j * n + k]! * hf[j * n + k]!;
        if (!(dd > 1e-300)) return false;
        const l = Math.sqrt(dd);
        hf[j * n + j] = l;
        const inv = 1 / l;
        for (let i = j + 1; i < n; i++) {
          const ei = env[i]!;
          if (ei > j) continue;
          let sum = hf[i * n + j]!;
          for (let k = Math.max(ei, ej); k < j; k++) sum -= hf[i * n + k]! * hf[j * n + k]!;
          hf[i * n + j] = sum * inv;
        }
      }
      for (let i = 0; i < n; i++) {
        let sum = x[i]!;
        for (let k = env[i]!; k < i; k++) sum -= hf[i * n + k]! * x[k]!;
        x[i] = sum / hf[i * n + i]!;
      }
      for (let i = n - 1; i >= 0; i--) {
        let sum = x[i]!;
        for (let k = i + 1; k < n; k++) if (env[k]! <= i) sum -= hf[k * n + i]! * x[k]!;
        x[i] = sum / hf[i * n + i]!;
      }
      for (let A = 0; A < n; A++) d[perm[A]!] = x[A]!;
      let hit = false;
      for (let c = 0; c < n; c++) {
        if (act[c] !== 1) continue;
        const v = out[c]! + d[c]!;
        if (v < tree.lower[c]!) { act[c] = 2; held[c] = tree.lower[c]! - out[c]!; hit = true; heldCount++; }
        else if (v > tree.upper[c]!) { act[c] = 2; held[c] = tree.upper[c]! - out[c]!; hit = true; heldCount++; }
      }
      if (!hit) break;
    }
    for (let c = 0; c < n; c++) if (act[c] !== 1) d[c] = act[c] === 2 ? held[c]! : 0;
    return true;
  }

  /**
   * Adds one point's term to the normal equations: w·JᵀJ over its columns (each entry summed over
   * the three rows, then written once and mirrored) and Jᵀe, with e its weighted residual at
   * `e[o..o+2]`.
   */
  private addPoint(pt: number, w: number, e: Float64Array, o: number): void {
    const { n, jt, h, g } = this;
    const ci = this.cols[pt]!;
    const r0 = pt * 3 * n, r1 = r0 + n, r2 = r1 + n;
    const e0 = e[o]!, e1 = e[o + 1]!, e2 = e[o + 2]!;
    for (let a = 0; a < ci.length; a++) {
      const ca = ci[a]!;
      const x0 = jt[r0 + ca]!, x1 = jt[r1 + ca]!, x2 = jt[r2 + ca]!;
      g[ca] = g[ca]! + x0 * e0 + x1 * e1 + x2 * e2;
      h[ca * n + ca] = h[ca * n + ca]! + w * (x0 * x0 + x1 * x1 + x2 * x2);
      for (let b = a + 1; b < ci.length; b++) {
        const cb = ci[b]!;
        const v = w * (x0 * jt[r0 + cb]! + x1 * jt[r1 + cb]! + x2 * jt[r2 + cb]!);
        h[ca * n + cb] = h[ca * n + cb]! + v;
        h[cb * n + ca] = h[cb * n + ca]! + v;
      }
    }
  }

  /** Adds the intermediate and separation terms to the normal equations (h, g). */
  private addMidAndSeparation(t: HandTargets): void {
    const { n, jt, p, h, g, cols, grad, eMid } = this;
    for (let i = 0; i < 5; i++) {
      const w = t.midWeights[i]!;
      if (w === 0) continue;
      const pt = 5 + i;
      for (let r = 0; r < 3; r++) eMid[r] = w * (p[pt * 3 + r]! - t.mids[i * 3 + r]!);
      this.addPoint(pt, w, eMid, 0);
    }
    const ws = t.separationWeight;
    if (!(ws > 0)) return;
    for (let k = 0; k < this.sepA.length; k++) {
      const A = this.sepA[k]!, B = this.sepB[k]!;
      const dx = p[A * 3]! - p[B * 3]!, dy = p[A * 3 + 1]! - p[B * 3 + 1]!, dz = p[A * 3 + 2]! - p[B * 3 + 2]!;
      const d = norm3(dx, dy, dz);
      const res = this.sepMin[k]! - d;
      if (res <= 0 || d < 1e-9) continue;
      const ux = dx / d, uy = dy / d, uz = dz / d;
      // ∂res/∂q = −uᵀ(J_A − J_B); the two points move with disjoint columns (different fingers).
      const ca = cols[A]!, cb = cols[B]!;
      const na = ca.length, nab = na + cb.length;
      for (let k1 = 0; k1 < na; k1++) {
        const c = ca[k1]!;
        grad[c] = -(ux * jt[A * 3 * n + c]! + uy * jt[(A * 3 + 1) * n + c]! + uz * jt[(A * 3 + 2) * n + c]!);
      }
      for (let k1 = na; k1 < nab; k1++) {
        const c = cb[k1 - na]!;
        grad[c] = ux * jt[B * 3 * n + c]! + uy * jt[(B * 3 + 1) * n + c]! + uz * jt[(B * 3 + 2) * n + c]!;
      }
      for (let k1 = 0; k1 < nab; k1++) {
        const c1 = k1 < na ? ca[k1]! : cb[k1 - na]!;
        g[c1] = g[c1]! + ws * res * grad[c1]!;
        for (let k2 = 0; k2 < nab; k2++) {
          const c2 = k2 < na ? ca[k2]! : cb[k2 - na]!;
          h[c1 * n + c2] = h[c1 * n + c2]! + ws * grad[c1]! * grad[c2]!;
        }
      }
    }
    for (let f = 0; f + 1 < this.segLinks.length / 4; f++) {
      for (let sa = 0; sa < 3; sa++) {
        for (let sb = 0; sb < 3; sb++) {
          const A = f * 4 + sa, B = (f + 1) * 4 + sb;
          // A pair farther than NEAR_M at the solve's first iteration stays out of it: one solve
          // moves a phalanx far less (a warm solve starts at the previous frame's solution).
          if (this.nearMeasured && this.near[f * 9 + sa * 3 + sb] === 0) continue;
          this.segmentDistance(A, B);
          const d = this.closest[6]!;
          const res = this.segRadii[f * 3 + sa]! + this.segRadii[(f + 1) * 3 + sb]! - d;
          this.near[f * 9 + sa * 3 + sb] = res > -NEAR_M ? 1 : 0;
          if (res <= 0 || d < 1e-9) continue;
          this.sc[SC_PENETRATION] = res;
          this.sc[SC_WEIGHT] = ws;
          this.addSegmentPair(A, B);
        }
      }
    }
    this.nearMeasured = true;
  }

  /**
   * Distance between segment capsule axes `a` and `b` (indices into the segment links: segment i
   * runs from link i's origin to link i+1's), from the current FK poses, into `closest[6]`, and
   * the closest points into `closest[0..5]`.
   */
  private segmentDistance(a: number, b: number): void {
    const L = this.segLinks;
    segmentClosestPoints(this.tree.poses, L[a]! * POSE_STRIDE + 9, L[a + 1]! * POSE_STRIDE + 9, L[b]! * POSE_STRIDE + 9, L[b + 1]! * POSE_STRIDE + 9, this.closest);
  }

  /** Adds one interpenetrating segment pair (closest points in `closest`) to the normal equations. */
  private addSegmentPair(A: number, B: number): void {
    const { n, h, g, grad, ja, jb, tree } = this;
    const q = this.closest;
    const res = this.sc[SC_PENETRATION]!, ws = this.sc[SC_WEIGHT]!, d = q[6]!;
    const ux = (q[0]! - q[3]!) / d, uy = (q[1]! - q[4]!) / d, uz = (q[2]! - q[5]!) / d;
    ja.fill(0);
    jb.fill(0);
    tree.pointJacobianAt(this.segLinks[A]!, q, 0, ja, 0);
    tree.pointJacobianAt(this.segLinks[B]!, q, 3, jb, 0);
    const ca = this.segCols[A]!, cb = this.segCols[B]!;
    const na = ca.length, nab = na + cb.length;
    for (let k = 0; k < na; k++) { const c = ca[k]!; grad[c] = -(ux * ja[c]! + uy * ja[n + c]! + uz * ja[2 * n + c]!); }
    for (let k = 0; k < cb.length; k++) { const c = cb[k]!; grad[c] = ux * jb[c]! + uy * jb[n + c]! + uz * jb[2 * n + c]!; }
    for (let k1 = 0; k1 < nab; k1++) {
      const c1 = k1 < na ? ca[k1]! : cb[k1 - na]!;
      g[c1] = g[c1]! + ws * res * grad[c1]!;
      for (let k2 = 0; k2 < nab; k2++) {
        const c2 = k2 < na ? ca[k2]! : cb[k2 - na]!;
        h[c1 * n + c2] = h[c1 * n + c2]! + ws * grad[c1]! * grad[c2]!;
      }
    }
  }

  private finish(t: HandTargets, status: HandSolveStatus, iterations: number): HandSolveResult {
    const cost = this.sc[SC_COST]!;
    const p = this.p;
    let tipErr = 0;
    for (let i = 0; i < 15; i++) { const e = p[i]! - t.tips[i]!; tipErr += e * e; }
    const r = this.result;
    r.status = status;
    r.cost = cost;
    r.tipErrorRms = Math.sqrt(tipErr / 5);
    r.iterations = iterations;
    return r;
  }
}
