import type { KinematicTree } from '../kinematics/KinematicTree.js';
import { choleskyFactor, choleskySolve, gram6, mul6, mul6T, norm3 } from '../math/linalg.js';
import { POSE_STRIDE, poseError } from '../math/pose.js';

export type IkStatus = 'converged' | 'max_iterations';

/** Outcome of one solve. The solver reuses one result object: copy fields you want to keep. */
export interface IkResult {
  status: IkStatus;
  /** Norm of the final 6-D pose error: position (m) and rotation vector (rad) stacked. */
  residual: number;
  /** Position error, m. */
  positionError: number;
  /** Rotation error, rad. */
  rotationError: number;
  iterations: number;
  /** Random restarts used (cold solves only). */
  restarts: number;
}

export interface IkSolveOptions {
  /** Stop when the 6-D error norm is below this. Default 1e-5. */
  readonly tolerance?: number;
  /**
   * Iteration cap over all restarts: the solve's deterministic time budget. Default
   * {@link COLD_MAX_ITERATIONS} when `maxRestarts` is left at its default, else
   * max(400, (maxRestarts + 1) × iterationsPerAttempt).
   */
  readonly maxIterations?: number;
  /**
   * Random restarts allowed when a descent stalls. Default {@link COLD_MAX_RESTARTS}: the
   * defaults solve a cold pose (no good seed). Pass 0 for a warm, tracking solve that must stay
   * near its seed.
   */
  readonly maxRestarts?: number;
  /** With restarts: iterations one descent may take before it is abandoned for a restart. Default 30. */
  readonly iterationsPerAttempt?: number;
  /**
   * Posture the redundancy is pulled toward, in the Jacobian's null space (so it never disturbs
   * the pose). Omit for none.
   */
  readonly rest?: Float64Array;
  /** Gain of the null-space pull toward `rest` per iteration (0..1). Default 0.2. */
  readonly restGain?: number;
  /**
   * Weight of the rotation error against the position error (m per rad) in the descent. Default
   * 0.4. A small weight (tracking uses 0.02: `TRACKING_ROTATION_WEIGHT` in Retargeter.ts) makes
   * position win when both cannot be met.
   */
  readonly rotationWeight?: number;
  /**
   * Bounds of this solve per joint, rad, intersected with the joint limits: a trust region that
   * keeps a tracking solve near where the arm is (on its IK branch) and within what it can move
   * in one frame. Default: the joint limits.
   */
  readonly lowerBound?: ArrayLike<number>;
  readonly upperBound?: ArrayLike<number>;
}

/** Default random restarts of a solve: enough for ≥ 99.9 % of cold reachable FR3 poses. */
export const COLD_MAX_RESTARTS = 100;
/**
 * Default iteration cap with the default restarts: about 1 ms of CPU on this project's 2-core
 * benchmark machine (one iteration ≈ 0.7 µs … 1 µs), and deterministic, unlike a wall-clock bound.
 */
export const COLD_MAX_ITERATIONS = 1000;
/** Seed of the restart generator at the start of every solve, unless `seedRandom` changes it. */
const DEFAULT_RANDOM_SEED = 0x9e3779b9;

/**
 * Slots of `ArmIk.sc`: rotation weight, damping, rest gain (inputs); weighted cost, unweighted
 * error norm (outputs of `errorAt`); whether `prepare` made a null-space part (1) or not (0), for
 * the step's system and the active set's.
 */
const SC_W_ROT = 0, SC_LAMBDA = 1, SC_REST_GAIN = 2, SC_COST = 3, SC_NORM = 4, SC_REST_OK = 5, SC_REST_OK_HELD = 6;

/** A small deterministic PRNG (xorshift32) for restarts, so solves are reproducible. */
function xorshift(state: Uint32Array): number {
  let x = state[0]!;
  x ^= x << 13; x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5; x >>>= 0;
  state[0] = x;
  return x / 4294967296;
}

/**
 * Inverse kinematics of one serial chain (the FR3: 7 joints) by Levenberg–Marquardt with joint
 * limits (steps are clamped into the limits), a null-space pull toward a rest posture, and
 * optional random restarts. One frame, no memory across calls: warm starting is the caller's
 * seed. Allocation-free after construction.
 */
export class ArmIk {
  readonly result: IkResult = { status: 'max_iterations', residual: Infinity, positionError: Infinity, rotationError: Infinity, iterations: 0, restarts: 0 };
  private readonly n: number;
  private readonly tip: number;
  private readonly jac: Float64Array;
  /** JJᵀ of `jac` as `prepare` left it, before any damping. */
  private readonly jjt = new Float64Array(36);
  /**
   * The active set's system (`solve`): `jac` with the columns of the joints in `heldMask` zeroed,
   * its JJᵀ and its task part of the rest pull, kept while trial steps at the same joints are
   * rejected with the same joints held. An all-zero `heldMask` holds no system.
   */
  private readonly jacHeld: Float64Array;
  private readonly jjtHeld = new Float64Array(36);
  private readonly zTaskHeld: Float64Array;
  private readonly heldMask: Uint8Array;
  private readonly blockedMask: Uint8Array;
  /** The pose error at the accepted joints, kept while trial steps are rejected. */
  private readonly eAccepted = new Float64Array(6);
  private readonly a = new Float64Array(36);
  private readonly a0 = new Float64Array(36);
  private readonly e = new Float64Array(6);
  private readonly y = new Float64Array(6);
  private readonly w = new Float64Array(6);
  private readonly dq: Float64Array;
  private readonly z: Float64Array;
  /** The part of the rest pull `z` that the task would feel: J⁺J·z (`prepare`; `zTaskHeld` for the active set's). */
  private readonly zTask: Float64Array;
  private readonly qTry: Float64Array;
  private readonly best: Float64Array;
  private readonly rng = new Uint32Array(1);
  private randomSeed = DEFAULT_RANDOM_SEED;
  private readonly lo: Float64Array;
  private readonly hi: Float64Array;
  private readonly mid: Float64Array;
  /**
   * Scalars passed between the solve and its helpers ({@link SC_W_ROT} …): a number passed to or
   * returned from a call that is not inlined is boxed, a heap allocation per call.
   */
  private readonly sc = new Float64Array(7);

  /**
   * @param tree the chain's kinematic tree; its variables are the chain's joints.
   * @param tipLink the link whose origin is posed (the flange).
   */
  constructor(
    readonly tree: KinematicTree,
    tipLink: string,
  ) {
    this.n = tree.variableCount;
    this.tip = tree.linkIndex(tipLink);
    this.jac = new Float64Array(6 * this.n);
    this.zTask = new Float64Array(this.n);
    this.jacHeld = new Float64Array(6 * this.n);
    this.zTaskHeld = new Float64Array(this.n);
    this.heldMask = new Uint8Array(this.n);
    this.blockedMask = new Uint8Array(this.n);
    this.dq = new Float64Array(this.n);
    this.z = new Float64Array(this.n);
    this.qTry = new Float64Array(this.n);
    this.best = new Float64Array(this.n);
    this.lo = new Float64Array(this.n);
    this.hi = new Float64Array(this.n);
    this.mid = Float64Array.from(tree.lower, (l, i) => (l + tree.upper[i]!) / 2);
  }

  /**
   * Sets the seed the restart generator starts from at every solve. Solves are deterministic
   * either way: the same target, seed and options give the same joints.
   */
  seedRandom(seed: number): void {
    this.randomSeed = seed >>> 0 || 1;
  }

  /**
   * Cold solve, when there is no good seed: from the middle of the joint ranges with the default
   * options (random restarts within the deterministic iteration budget). Writes into `out`.
   */
  solveCold(target: Float64Array, out: Float64Array, options: IkSolveOptions = {}): IkResult {
    return this.solve(target, this.mid, out, options);
  }

  private clampBox(q: Float64Array): void {
    const { lo, hi } = this;
    for (let c = 0; c < this.n; c++) q[c] = Math.max(lo[c]!, Math.min(hi[c]!, q[c]!));
  }

  /** Pose error at q into `e`; its weighted cost and unweighted norm into `sc`. */
  private errorAt(q: Float64Array, target: Float64Array): void {
    const poses = this.tree.fk(q);
    poseError(this.e, 0, target, 0, poses, this.tip * POSE_STRIDE);
    const e = this.e, sc = this.sc;
    const wRot = sc[SC_W_ROT]!;
    const p2 = e[0]! * e[0]! + e[1]! * e[1]! + e[2]! * e[2]!, r2 = e[3]! * e[3]! + e[4]! * e[4]! + e[5]! * e[5]!;
    sc[SC_COST] = p2 + wRot * wRot * r2;
    sc[SC_NORM] = Math.sqrt(p2 + r2);
  }

  /**
   * One damped least-squares step into `dq` from the weighted Jacobian and error in `jac`/`w`:
   * dq = J⁺w + (I − J⁺J)·k·(rest − q), J⁺ = Jᵀ(JJᵀ + λI)⁻¹. False if the system is singular.
   */
  private step(q: Float64Array, rest: Float64Array | undefined): boolean {
    this.prepare(q, rest, this.jac, this.jjt, this.zTask, SC_REST_OK);
    return this.dampedStep(this.jac, this.jjt, this.zTask, SC_REST_OK);
  }

  /**
   * The damping-free part of {@link step} from the Jacobian `jac` at joints `q`: its JJᵀ into
   * `jjt`, and with `rest` the pull toward it into `z` and its task part into `zTask`
   * (`sc[okSlot]` 1, else 0). A rejected trial step changes only the damping, so the solve keeps
   * these and repeats {@link dampedStep} alone.
   */
  private prepare(q: Float64Array, rest: Float64Array | undefined, jac: Float64Array, jjt: Float64Array, zTask: Float64Array, okSlot: number): void {
    const { n, a0, y, z, sc } = this;
    gram6(jac, n, jjt);
    sc[okSlot] = 0;
    if (!rest) return;
    // Project the pull toward `rest` with its own, nearly undamped factorisation: with the
    // step's damping λ the projector would leak λ(JJᵀ + λI)⁻¹Jz into the task and keep the pose
    // from converging. I − J⁺J stays bounded (eigenvalues μ/(σ² + μ)) near singularities.
    a0.set(jjt);
    for (let i = 0; i < 6; i++) a0[i * 6 + i] = a0[i * 6 + i]! + 1e-10;
    if (!choleskyFactor(a0, 6)) return; // no projector: the plain step
    // A null-space step of size |z| is task-neutral only to first order: it adds about c·|z|² to
    // the pose error. Capping |z| at ½√error keeps that below the error itself, so the posture
    // drifts toward `rest` while tracking and never keeps the solve from its tolerance.
    // The whole vector is scaled (not clipped per joint) so it keeps pointing toward `rest`.
    const restGain = sc[SC_REST_GAIN]!;
    const cap = Math.min(0.1, 0.5 * Math.sqrt(sc[SC_NORM]!));
    let norm = 0;
    for (let c = 0; c < n; c++) { z[c] = restGain * (rest[c]! - q[c]!); norm += z[c]! * z[c]!; }
    norm = Math.sqrt(norm);
    if (norm > cap) for (let c = 0; c < n; c++) z[c] = (z[c]! * cap) / norm;
    mul6(jac, n, z, y);
    choleskySolve(a0, y, 6);
    mul6T(jac, n, y, zTask);
    sc[okSlot] = 1;
  }

  /** The step into `dq` from what {@link prepare} left in the same arrays, with the damping `sc[SC_LAMBDA]`. */
  private dampedStep(jac: Float64Array, jjt: Float64Array, zTask: Float64Array, okSlot: number): boolean {
    const { n, a, y, w, dq, z, sc } = this;
    const lambda = sc[SC_LAMBDA]!;
    a.set(jjt);
    for (let i = 0; i < 6; i++) a[i * 6 + i] = a[i * 6 + i]! + lambda;
    if (!choleskyFactor(a, 6)) return false;
    for (let i = 0; i < 6; i++) y[i] = w[i]!;
    choleskySolve(a, y, 6);
    mul6T(jac, n, y, dq);
    if (sc[okSlot] === 1) for (let c = 0; c < n; c++) dq[c] = dq[c]! + z[c]! - zTask[c]!;
    return true;
  }

  /**
   * Whether a bound holds back the position at joints `q` (a solution within `lower`…`upper`):
   * some joint on a bound that is not its own joint limit would bring the tip's origin closer to
   * `target`'s (12-number pose) by moving past it, at more than `minRate` m per rad. A solution
   * that misses the target's position with no such joint is out of reach from where it started
   * (a local optimum, or a joint limit); one with such a joint was stopped on its way.
   */
  boundHoldsPosition(q: Float64Array, target: ArrayLike<number>, lower: ArrayLike<number>, upper: ArrayLike<number>, minRate = 0.01): boolean {
    const { n, jac, tree } = this;
    const poses = tree.fk(q);
    tree.jacobian(this.tip, jac);
    const o = this.tip * POSE_STRIDE;
    const ex = target[9]! - poses[o + 9]!, ey = target[10]! - poses[o + 10]!, ez = target[11]! - poses[o + 11]!;
    const e = Math.sqrt(ex * ex + ey * ey + ez * ez);
    if (!(e > 0)) return false;
    for (let c = 0; c < n; c++) {
      const qc = q[c]!;
      const d = qc >= upper[c]! - 1e-9 && upper[c]! < tree.upper[c]! ? 1 : qc <= lower[c]! + 1e-9 && lower[c]! > tree.lower[c]! ? -1 : 0;
      if (d === 0) continue;
      if ((d * (jac[c]! * ex + jac[n + c]! * ey + jac[2 * n + c]! * ez)) / e > minRate) return true;
    }
    return false;
  }

  /**
   * The least-norm joint velocities (rad/s, into `out`) that move the tip's origin at `velocity`
   * (m/s, 3 numbers in the tree's root frame) at joints `q`, whatever the tip's rotation does:
   * damped least squares on the Jacobian's position rows (damping `damping`, m², so the result
   * stays bounded near a singularity). Zeros when the system cannot be factored.
   */
  tipVelocityToJoints(q: Float64Array, velocity: ArrayLike<number>, out: Float64Array, damping = 1e-4): Float64Array {
    const { n, jac, w, dq, sc } = this;
    this.tree.fk(q);
    this.tree.jacobian(this.tip, jac);
    for (let i = 3; i < 6; i++) for (let c = 0; c < n; c++) jac[i * n + c] = 0;
    for (let i = 0; i < 6; i++) w[i] = i < 3 ? velocity[i]! : 0;
    sc[SC_LAMBDA] = damping;
    if (!this.step(q, undefined)) return out.fill(0);
    for (let c = 0; c < n; c++) out[c] = dq[c]!;
    return out;
  }

  /**
   * Solves for joint positions that put the tip link at `target` (a 12-number pose in the tree's
   * root frame), starting from `seed`, writing them into `out` (may alias `seed`). Returns the
   * shared result: `converged` when the error is below tolerance, else `max_iterations` with the
   * best joints found and their residual: never a silent failure.
   */
  solve(target: Float64Array, seed: ArrayLike<number>, out: Float64Array, options: IkSolveOptions = {}): IkResult {
    const tol = options.tolerance ?? 1e-5;
    const maxRestarts = options.maxRestarts ?? COLD_MAX_RESTARTS;
    const perAttempt = options.iterationsPerAttempt ?? 30;
    const maxIter = options.maxIterations ?? (options.maxRestarts === undefined ? COLD_MAX_ITERATIONS : Math.max(400, (maxRestarts + 1) * perAttempt));
    const rest = options.rest;
    const restGain = options.restGain ?? 0.2;
    const wRot = options.rotationWeight ?? 0.4;
    const rowWeight = wRot;
    const n = this.n;
    const tree = this.tree;
    const { jac, e, w, dq, qTry } = this;
    this.rng[0] = this.randomSeed;
    const { lo, hi } = this;
    const lb = options.lowerBound, ub = options.upperBound;
    for (let i = 0; i < n; i++) {
      lo[i] = lb === undefined ? tree.lower[i]! : Math.min(tree.upper[i]!, Math.max(tree.lower[i]!, lb[i]!));
      hi[i] = ub === undefined ? tree.upper[i]! : Math.max(lo[i]!, Math.min(tree.upper[i]!, ub[i]!));
      out[i] = Math.max(lo[i]!, Math.min(hi[i]!, seed[i]!));
    }

    const sc = this.sc;
    sc[SC_W_ROT] = wRot;
    sc[SC_REST_GAIN] = restGain;
    this.errorAt(out, target);
    let cost = sc[SC_COST]!;
    let lambda = 1e-3;
    let iterations = 0;
    let restarts = 0;
    let stall = 0;
    let attemptIterations = 0;
    // Best joints over all attempts by the weighted objective (what the descent minimises, so a
    // position-first solve keeps its position): a failed solve returns the best found.
    let bestErr = cost;
    const best = this.best;
    best.set(out);
    let plateau = 0;
    const r = this.result;
    const { eAccepted, jjt, zTask, jacHeld, jjtHeld, zTaskHeld, heldMask, blockedMask } = this;
    // What an iteration at the accepted joints computed stays valid until a step is accepted: a
    // rejected trial changes only the damping. `atAccepted`: the tree's poses are the accepted
    // joints' (not a rejected trial's); `prepared`: `jac`, `w`, `jjt` and the rest pull are, and
    // `eAccepted` / `acceptedNorm` hold their error; a nonzero `heldMask`: the active set's system is.
    let atAccepted = true, prepared = false, acceptedNorm = 0;
    heldMask.fill(0);
    while (iterations < maxIter) {
      if (sc[SC_NORM]! < tol) break;
      iterations++;
      if (!prepared) {
        tree.jacobian(this.tip, jac);
        // Weighted rows: rotation rows scaled by wRot so that metres and radians trade sensibly.
        if (rowWeight !== 1) for (let i = 3; i < 6; i++) for (let c = 0; c < n; c++) jac[i * n + c] = jac[i * n + c]! * rowWeight;
        for (let i = 0; i < 6; i++) w[i] = i < 3 ? e[i]! : e[i]! * rowWeight;
        eAccepted.set(e);
        acceptedNorm = sc[SC_NORM]!;
        this.prepare(out, rest, jac, jjt, zTask, SC_REST_OK);
        prepared = true;
      }
      sc[SC_LAMBDA] = lambda;
      if (!this.dampedStep(jac, jjt, zTask, SC_REST_OK)) { lambda *= 10; continue; }
      // Active set: a joint at a limit whose step points further out is dropped from this step,
      // so the others can still make progress instead of the clamp stalling the descent.
      let blocked = false, sameHeld = true;
      for (let c = 0; c < n; c++) {
        const b = (out[c]! <= lo[c]! && dq[c]! < 0) || (out[c]! >= hi[c]! && dq[c]! > 0) ? 1 : 0;
        blockedMask[c] = b;
        if (b === 1) blocked = true;
        if (b !== heldMask[c]) sameHeld = false;
      }
      if (blocked) {
        if (!sameHeld) {
          jacHeld.set(jac);
          for (let c = 0; c < n; c++) if (blockedMask[c] === 1) for (let i = 0; i < 6; i++) jacHeld[i * n + c] = 0;
          this.prepare(out, rest, jacHeld, jjtHeld, zTaskHeld, SC_REST_OK_HELD);
          heldMask.set(blockedMask);
        }
        if (!this.dampedStep(jacHeld, jjtHeld, zTaskHeld, SC_REST_OK_HELD)) { lambda *= 10; continue; }
      }
      for (let c = 0; c < n; c++) qTry[c] = out[c]! + dq[c]!;
      this.clampBox(qTry);
      this.errorAt(qTry, target);
      const tryCost = sc[SC_COST]!;
      const accepted = tryCost < cost || (rest !== undefined && tryCost <= cost * (1 + 1e-9));
      if (accepted) {
        const gain = (cost - tryCost) / cost;
        cost = tryCost;
        out.set(qTry);
        lambda = Math.max(lambda * 0.3, 1e-9);
        stall = gain < 1e-4 ? stall + 1 : 0;
        atAccepted = true;
        prepared = false;
        heldMask.fill(0);
      } else {
        lambda *= 8;
        stall++;
        // Back to the accepted joints' error without recomputing it; their poses only when needed.
        e.set(eAccepted);
        sc[SC_NORM] = acceptedNorm;
        atAccepted = false;
      }
      attemptIterations++;
      const err = cost;
      if (accepted) plateau = err > bestErr * (1 - 1e-3) ? plateau + 1 : 0;
      if (err < bestErr) { bestErr = err; best.set(out); }
      // Without restarts, a descent whose accepted steps no longer lower the error (an unreachable
      // target), or that can no longer take a step, ends here.
      if (maxRestarts === 0 && (plateau >= 4 || lambda > 1e8)) break;
      if ((stall > 12 || lambda > 1e4 || attemptIterations >= perAttempt) && restarts < maxRestarts) {
        attemptIterations = 0;
        restarts++;
        for (let c = 0; c < n; c++) out[c] = lo[c]! + (hi[c]! - lo[c]!) * xorshift(this.rng);
        this.errorAt(out, target);
        cost = sc[SC_COST]!;
        lambda = 1e-3;
        stall = 0;
        atAccepted = true;
        prepared = false;
        heldMask.fill(0);
      }
    }
    if (cost > bestErr) {
      out.set(best);
      this.errorAt(out, target);
    } else if (!atAccepted) {
      this.errorAt(out, target); // the tree's poses at the answer, as the caller expects them
    }
    r.residual = sc[SC_NORM]!;
    r.positionError = norm3(e[0]!, e[1]!, e[2]!);
    r.rotationError = norm3(e[3]!, e[4]!, e[5]!);
    r.status = r.residual < tol ? 'converged' : 'max_iterations';
    r.iterations = iterations;
    r.restarts = restarts;
    return r;
  }
}
