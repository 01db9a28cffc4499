/**
 * Retargeting benchmarks: whole-frame time on the real Quest session, cold FR3 IK with the
 * default options as TRAC-IK measures it, the fidelity figures (`FidelityMeter`, defined in
 * docs/retarget.md) on the real session and on synthetic operators made from the robot itself,
 * generated pinches, the hand solver's optimality against a slow many-restart solve, and the arm
 * and hand oracles (what the robot's limits allow knowing the whole session in advance). Run
 * through `npm run bench` (on the built packages).
 */
import { readFileSync } from 'node:fs';
import {
  ARM_DOF, ArmIk, HAND_ACTIVE_DOF, armHome, armJointName, armOracle, COLD_MAX_ITERATIONS, createHandTargets, createRig, FidelityMeter, type HandFrame, HandSolver, type HandTargets, parseHandFramesJsonl, placeHand, pose, type Rig, Retargeter,
  type RetargeterOptions, type Side, SIDES, STATE_JOINT_NAMES, syntheticHumanHand, velocityLimitedPath, XR_TIPS, XR_TO_RIG,
} from '@dexbridge/retarget';
import { mean, percentile, repoUrl, round } from './results.js';

const DEMO = repoUrl('server/data/quest3-hands.jsonl');
const FRAME_PERIOD_MS = 1000 / 90;

/** Deterministic uniform [0, 1) (LCG), so every run measures the same poses. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function benchFrameTime(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const times: number[] = [];
  const passP99: number[] = [];
  for (let pass = 0; pass < 11; pass++) {
    const rt = new Retargeter(rig);
    const passTimes: number[] = [];
    for (const f of frames) {
      const t0 = performance.now();
      rt.process(f);
      if (pass > 0) passTimes.push(performance.now() - t0);
    }
    if (pass > 0) {
      times.push(...passTimes);
      passP99.push(percentile(passTimes, 0.99));
    }
  }
  const p50 = percentile(times, 0.5), p99 = percentile(times, 0.99);
  return {
    'retarget.frame_ms.p50': round(p50), 'retarget.frame_ms.p99': round(p99), 'retarget.frame_ms.max': round(Math.max(...times)),
    // Each pass is one replay of the session: its own p99, and the median over the passes (a burst
    // of the machine's other work spoils one pass's tail, not this figure).
    'retarget.frame_ms.p99.pass_median': round(percentile(passP99, 0.5)),
    'retarget.frame_fraction_of_90hz.p50': round(p50 / FRAME_PERIOD_MS), 'retarget.frame_fraction_of_90hz.p99': round(p99 / FRAME_PERIOD_MS),
    'retarget.frames_measured': times.length,
  };
}

/**
 * Cold FR3 IK as TRAC-IK measures it, with the API's default options (`ArmIk.solveCold`): random
 * reachable poses, each solution verified by forward kinematics (position < 1e-5 m and rotation
 * < 1e-5 rad), mean and worst time per solve.
 */
export function benchColdIk(rig: Rig, count = 10_000): Record<string, number> {
  const side = rig.sides.left;
  const tree = side.armTree;
  const ik = new ArmIk(tree, tree.linkNames[tree.linkCount - 1]!);
  const rand = rng(2026);
  const n = tree.variableCount;
  const q = new Float64Array(n), out = new Float64Array(n), target = new Float64Array(12), e = new Float64Array(6);
  const flange = (tree.linkCount - 1) * pose.POSE_STRIDE;
  let solved = 0, iterations = 0;
  const times: number[] = [];
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) q[i] = tree.lower[i]! + (tree.upper[i]! - tree.lower[i]!) * rand();
    target.set(tree.fk(q).subarray(flange, flange + 12));
    const t0 = performance.now();
    const r = ik.solveCold(target, out);
    times.push(performance.now() - t0);
    iterations += r.iterations;
    pose.poseError(e, 0, target, 0, tree.fk(out), flange);
    if (Math.hypot(e[0]!, e[1]!, e[2]!) < 1e-5 && Math.hypot(e[3]!, e[4]!, e[5]!) < 1e-5) solved++;
  }
  const total = times.reduce((a, b) => a + b, 0);
  return {
    'ik_cold.poses': count, 'ik_cold.solve_rate': round(solved / count, 6), 'ik_cold.mean_ms': round(mean(times)), 'ik_cold.p99_ms': round(percentile(times, 0.99)),
    'ik_cold.max_ms': round(Math.max(...times)), 'ik_cold.iteration_budget': COLD_MAX_ITERATIONS, 'ik_cold.us_per_iteration': round((1000 * total) / iterations),
  };
}

interface Captured { side: Side; targets: HandTargets; qPrev: Float64Array; cost: number }

/**
 * The fidelity figures of the real Quest session (`FidelityMeter`: `hand.*`, `arm.*`, defined
 * in docs/retarget.md) and the hand solver's optimality: the real-time cost against the best of
 * 12 long solves of the same frame.
 */
export function benchHandFidelity(rig: Rig, frames: readonly HandFrame[], options: RetargeterOptions = {}): Record<string, number> {
  const captured: Captured[] = [];
  let warm = 0;
  const rt = new Retargeter(rig, {
    ...options,
    onHandSolve: (side, targets, qPrev, _q, result, cold) => {
      if (cold || warm++ % 4 !== 0) return; // every 4th warm solve, for the optimality check
      const t = createHandTargets();
      copyTargets(targets, t);
      captured.push({ side, targets: t, qPrev: Float64Array.from(qPrev), cost: result.cost });
    },
  });
  const meter = new FidelityMeter(rig);
  for (const f of frames) {
    rt.process(f);
    meter.add(f, rt);
  }
  const ratios: number[] = [];
  const rand = rng(99);
  for (const c of captured) {
    const m = rig.sides[c.side];
    // The same objective as the real-time solve: capsules too unless they are off.
    const capsules = options.handCapsuleSeparation !== false ? { segmentLinks: m.segmentLinks, segmentRadii: m.segmentRadii } : {};
    const solver = new HandSolver(m.handTree, m.tipLinks, { midLinks: m.midLinks, tipRadii: m.tipRadii, midRadii: m.midRadii, ...capsules });
    const tree = rig.sides[c.side].handTree;
    const seed = new Float64Array(tree.variableCount), out = new Float64Array(tree.variableCount);
    let best = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 12; k++) {
      if (k === 0) seed.set(c.qPrev);
      else for (let i = 0; i < seed.length; i++) seed[i] = tree.lower[i]! + (tree.upper[i]! - tree.lower[i]!) * rand();
      const r = solver.solve(c.targets, seed, c.qPrev, out, { ...solveOptionsOf(options), maxIterations: 300, relativeTolerance: 1e-12 });
      best = Math.min(best, r.cost);
    }
    ratios.push(c.cost / best);
  }
  return {
    ...roundAll(meter.figures()),
    'hand.optimality_ratio_p50': round(percentile(ratios, 0.5), 6), 'hand.optimality_ratio_p95': round(percentile(ratios, 0.95), 6),
    'hand.optimality_frames': ratios.length,
  };
}

/**
 * The Quest session with `handCapsuleSeparation` off (tips and PIPs kept apart only), for
 * comparison with the default: its overlap share, fingertip error and frame time.
 */
export function benchWithoutCapsules(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const meter = new FidelityMeter(rig, { reachability: false });
  const times: number[] = [];
  for (let pass = 0; pass < 6; pass++) {
    const rt = new Retargeter(rig, { handCapsuleSeparation: false });
    for (const f of frames) {
      const t0 = performance.now();
      rt.process(f);
      if (pass > 0) times.push(performance.now() - t0);
      if (pass === 0) meter.add(f, rt);
    }
  }
  const r = meter.figures();
  return {
    'hand_no_capsules.overlap_share': round(r['hand.overlap_share']!), 'hand_no_capsules.fingertip_err_mm.mean': round(r['hand.fingertip_err_mm.mean']!),
    'hand_no_capsules.frame_ms.p50': round(percentile(times, 0.5)), 'hand_no_capsules.frame_ms.p99': round(percentile(times, 0.99)),
  };
}

/** The fidelity figures of `frames` retargeted with `options`. */
function fidelityOf(rig: Rig, frames: Iterable<HandFrame>, options: RetargeterOptions = {}): Record<string, number> {
  const rt = new Retargeter(rig, options);
  const meter = new FidelityMeter(rig);
  for (const f of frames) {
    rt.process(f);
    meter.add(f, rt);
  }
  return meter.figures();
}

/**
 * The Quest session's arm figures without the arm acceleration limit (velocity limits only), as a
 * reference: how much of `arm.flange_err_mm` is the 10 rad/s² limit's lag. Figures with the prefix
 * `arm_no_accel_limit.`; never what the robot is sent.
 */
export function benchArmWithoutAccelerationLimit(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const r = fidelityOf(rig, frames, { armMaxAcceleration: false });
  const keys = ['arm.flange_err_mm.mean', 'arm.flange_err_mm.p99', 'arm.branch_jumps'];
  return Object.fromEntries(keys.map((k) => [`arm_no_accel_limit.${k.slice(4)}`, round(r[k]!)]));
}

/**
 * The arm oracle on the Quest session (`armOracle`, docs/retarget.md): the joint trajectory that
 * follows the commanded arm's flange targets best knowing the whole session in advance, within the
 * FR3's position, velocity and 10 rad/s² acceleration limits, started from the commanded
 * trajectory. Over the same frames as `arm.flange_err_mm` (engaged, tracked, reachable), with the
 * oracle's own largest velocity (÷ limit) and acceleration. A reference for how much of the
 * commanded arm's error the limits force and how much is deciding without foresight; never a
 * command. Figures with the prefix `arm_oracle.`.
 */
/** The state indices (`RetargetOutput.q`) of a side's 7 arm joints. */
function armStateIndices(side: Side): number[] {
  return Array.from({ length: ARM_DOF }, (_, i) => STATE_JOINT_NAMES.indexOf(armJointName(side, i)));
}

export function benchArmOracle(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const rt = new Retargeter(rig);
  const meter = new FidelityMeter(rig);
  const recording = () => ({ tS: [] as number[], targets: [] as number[], q: [] as number[] });
  const recorded = { left: recording(), right: recording() };
  const stateIndex = { left: armStateIndices('left'), right: armStateIndices('right') };
  for (const f of frames) {
    const out = rt.process(f);
    meter.add(f, rt);
    for (const side of SIDES) {
      const r = recorded[side];
      const samples = meter.armSamples(side);
      if (samples.length === r.tS.length) continue; // no engaged, tracked arm frame
      r.tS.push(samples[samples.length - 1]!.tMs / 1000);
      r.targets.push(...rt.armFlangeTarget(side));
      for (const i of stateIndex[side]) r.q.push(out.q[i]!);
    }
  }
  const pos: number[] = [], rot: number[] = [];
  let velocity = 0, acceleration = 0;
  for (const side of SIDES) {
    const tree = rig.sides[side].armTree;
    const r = recorded[side];
    const o = armOracle(tree, tree.linkCount - 1, r.tS, r.targets, r.q);
    meter.armSamples(side).forEach((s, k) => {
      if (!s.reachable) return;
      pos.push(o.positionErrorM[k]! * 1000);
      rot.push((o.rotationErrorRad[k]! * 180) / Math.PI);
    });
    velocity = Math.max(velocity, o.maxVelocityRatio);
    acceleration = Math.max(acceleration, o.maxAccelerationRadS2);
  }
  return {
    'arm_oracle.flange_err_mm.mean': round(mean(pos)), 'arm_oracle.flange_err_mm.p99': round(percentile(pos, 0.99)),
    'arm_oracle.flange_rot_err_deg.p99': round(percentile(rot, 0.99)),
    'arm_oracle.velocity_ratio.max': round(velocity), 'arm_oracle.acceleration_rad_s2.max': round(acceleration),
  };
}

/**
 * The hand oracle on the Quest session (`velocityLimitedPath`, docs/retarget.md): per joint, the
 * path closest to the hand solver's solutions that keeps the 8 rad/s limit, knowing the whole
 * session in advance. Its fingertips against the same targets as `hand.fingertip_err_mm` (the
 * mapped human tips, before the soft abduction's turn), over the same frames. A reference for what
 * the velocity limit forces and what chasing the solution without foresight costs; never a
 * command. Figures with the prefix `hand_oracle.`.
 */
export function benchHandOracle(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const recording = () => ({ tS: [] as number[], solutions: [] as number[], tips: [] as number[] });
  const recorded = { left: recording(), right: recording() };
  // Each hand solve's solution goes straight into its side's recording; its time and targets follow.
  const rt = new Retargeter(rig, { onHandSolve: (side, _targets, _prev, q) => { recorded[side].solutions.push(...q); } });
  const human = new Float64Array(75);
  for (const f of frames) {
    rt.process(f);
    for (const side of SIDES) {
      const r = recorded[side];
      if (r.solutions.length === r.tS.length * HAND_ACTIVE_DOF) continue; // not solved this frame
      rt.humanJointsInHand(side, human);
      r.tS.push(f.tMs / 1000);
      for (const j of XR_TIPS) r.tips.push(human[j * 3]!, human[j * 3 + 1]!, human[j * 3 + 2]!);
    }
  }
  const errors: number[] = [];
  let velocity = 0;
  for (const side of SIDES) {
    const tree = rig.sides[side].handTree, tipLinks = rig.sides[side].tipLinks;
    const r = recorded[side];
    const path = velocityLimitedPath(r.tS, r.solutions, tree.maxVelocity);
    velocity = Math.max(velocity, path.maxVelocityRatio);
    const n = tree.variableCount;
    for (let k = 0; k < r.tS.length; k++) {
      const poses = tree.fk(path.q.subarray(k * n, k * n + n));
      for (let f = 0; f < XR_TIPS.length; f++) {
        const o = tipLinks[f]! * pose.POSE_STRIDE, h = (k * XR_TIPS.length + f) * 3;
        errors.push(1000 * Math.hypot(poses[o + 9]! - r.tips[h]!, poses[o + 10]! - r.tips[h + 1]!, poses[o + 11]! - r.tips[h + 2]!));
      }
    }
  }
  return {
    'hand_oracle.fingertip_err_mm.mean': round(mean(errors)), 'hand_oracle.fingertip_err_mm.p95': round(percentile(errors, 0.95)),
    'hand_oracle.velocity_ratio.max': round(velocity),
  };
}

function roundAll(figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number.isInteger(v) ? v : round(v)]));
}

const HAND_SIDES = ['left', 'right'] as const;
const RIG_TO_XR = pose.invert(new Float64Array(12), 0, XR_TO_RIG, 0);

/** Rig-frame pose of a side's hand base for arm joints q. */
function handPoseInRig(rig: Rig, side: Side, q: ArrayLike<number>, out: Float64Array): Float64Array {
  const m = rig.sides[side];
  const tree = m.armTree;
  pose.multiply(out, 0, m.armBaseInRig, 0, tree.fk(q), (tree.linkCount - 1) * pose.POSE_STRIDE);
  return pose.multiply(out, 0, out, 0, m.handInFlange, 0);
}

/**
 * Synthetic operators made from the robot itself: per side, 20 s at 90 Hz of smooth random motion
 * of every hand joint (sums of sines over 85 % of each range) and of the arm (±0.3 rad about home,
 * 0.1–0.4 Hz), turned into a human hand by {@link syntheticHumanHand} (middle knuckle on the
 * wrist axis as on a human hand, 0.86 of the robot's size) whose wrist follows the robot hand's
 * own reachable path. Figures with the prefix `synthetic.`.
 */
export function benchSyntheticFidelity(rig: Rig, seconds = 20, options: RetargeterOptions = {}): Record<string, number> {
  const rand = rng(31);
  const count = Math.round(seconds * 90);
  const meter = new FidelityMeter(rig);
  for (const side of HAND_SIDES) {
    const tree = rig.sides[side].handTree;
    const n = tree.variableCount;
    const fq = Array.from({ length: n * 2 }, () => 0.1 + 0.5 * rand());
    const ph = Array.from({ length: n * 2 }, () => 2 * Math.PI * rand());
    const home = armHome(side);
    const af = Array.from({ length: 7 }, () => 0.1 + 0.3 * rand());
    const q = new Float64Array(n), armQ = new Float64Array(7), rigPose = new Float64Array(12), xr = new Float64Array(12);
    const rt = new Retargeter(rig, options);
    for (let k = 0; k < count; k++) {
      const t = k / 90;
      for (let i = 0; i < n; i++) {
        const mid = (tree.lower[i]! + tree.upper[i]!) / 2, half = (0.85 * (tree.upper[i]! - tree.lower[i]!)) / 2;
        q[i] = mid + half * (0.6 * Math.sin(2 * Math.PI * fq[i]! * t + ph[i]!) + 0.4 * Math.sin(2 * Math.PI * fq[n + i]! * t + ph[n + i]!));
      }
      for (let i = 0; i < 7; i++) armQ[i] = home[i]! + 0.3 * Math.sin(2 * Math.PI * af[i]! * t);
      const hand = syntheticHumanHand(rig, side, q, { scale: 0.86 });
      pose.multiply(xr, 0, RIG_TO_XR, 0, handPoseInRig(rig, side, armQ, rigPose), 0);
      const joints = placeHand(hand, xr);
      const frame: HandFrame = { tMs: k * FRAME_PERIOD_MS, left: side === 'left' ? joints : null, right: side === 'right' ? joints : null };
      rt.process(frame);
      meter.add(frame, rt);
    }
  }
  return roundAll(meter.figures('synthetic'));
}

function copyTargets(from: HandTargets, to: HandTargets): void {
  to.tips.set(from.tips); to.tipWeights.set(from.tipWeights); to.pinchVectors.set(from.pinchVectors); to.pinchWeights.set(from.pinchWeights);
  to.mids.set(from.mids); to.midWeights.set(from.midWeights); to.separationWeight = from.separationWeight;
  if (from.softLower && from.softUpper && from.softLimitWeight !== undefined) { to.softLower = from.softLower; to.softUpper = from.softUpper; to.softLimitWeight = from.softLimitWeight; }
}

function solveOptionsOf(options: RetargeterOptions): { regularization: number } {
  return { regularization: options.handRegularization ?? 2e-6 };
}

/**
 * Pinches generated from the robot's own pinch poses: for each finger, solve the robot hand
 * into touching thumb and finger pads from random starts, turn that pose into a human hand
 * ({@link syntheticHumanHand}: middle knuckle on the wrist axis, pad gaps kept), hold it for
 * 40 frames at 90 Hz through a fresh Retargeter, and check that the robot pinches at the end.
 */
export function benchGeneratedPinches(rig: Rig, perFinger = 40): Record<string, number> {
  let human = 0, robot = 0;
  const rand = rng(5);
  const perFingerRate: number[] = [];
  for (const sideName of HAND_SIDES) {
    const side = rig.sides[sideName];
    const tree = side.handTree;
    const solver = new HandSolver(tree, side.tipLinks);
    const q = new Float64Array(tree.variableCount);
    const tips = new Float64Array(15);
    for (let f = 1; f <= 4; f++) {
      let fHuman = 0, fRobot = 0;
      for (let k = 0; k < perFinger; k++) {
        for (let i = 0; i < q.length; i++) q[i] = tree.lower[i]! + (tree.upper[i]! - tree.lower[i]!) * (0.2 + 0.6 * rand());
        tree.fk(q);
        solver.fingertips(tips);
        const t = createHandTargets();
        t.tips.set(tips);
        t.tipWeights.fill(0.02);
        t.pinchWeights.fill(0);
        const touch = side.tipRadii[0]! + side.tipRadii[f]!;
        // Aim the pinch along the current thumb→finger direction, pads touching.
        const dx = tips[f * 3]! - tips[0]!, dy = tips[f * 3 + 1]! - tips[1]!, dz = tips[f * 3 + 2]! - tips[2]!;
        const d = Math.hypot(dx, dy, dz);
        t.pinchVectors.set([(dx / d) * touch, (dy / d) * touch, (dz / d) * touch], (f - 1) * 3);
        t.pinchWeights[f - 1] = 50;
        solver.solve(t, q, q, q, { maxIterations: 200, regularization: 0, relativeTolerance: 1e-10 });
        tree.fk(q);
        solver.fingertips(tips);
        const gap = Math.hypot(tips[f * 3]! - tips[0]!, tips[f * 3 + 1]! - tips[1]!, tips[f * 3 + 2]! - tips[2]!) - touch;
        if (Math.abs(gap) > 0.001) continue; // not a robot pinch pose: skip
        const joints = syntheticHumanHand(rig, sideName, q);
        const rt = new Retargeter(rig);
        let last = Number.NaN;
        for (let i = 0; i < 40; i++) {
          const frame = { tMs: i * FRAME_PERIOD_MS, left: sideName === 'left' ? joints : null, right: sideName === 'right' ? joints : null };
          last = rt.process(frame).status[sideName].robotGapsM[f - 1]!;
        }
        fHuman++;
        if (last <= 0.003) fRobot++;
      }
      human += fHuman;
      robot += fRobot;
      perFingerRate.push(fHuman === 0 ? Number.NaN : fRobot / fHuman);
    }
  }
  const rates = ['index', 'middle', 'ring', 'little'].map((_, j) => mean([perFingerRate[j]!, perFingerRate[j + 4]!]));
  return {
    'hand.pinch_generated.poses': human,
    'hand.pinch_fidelity_generated': round(human === 0 ? Number.NaN : robot / human),
    'hand.pinch_fidelity_generated.index': round(rates[0]!),
    'hand.pinch_fidelity_generated.middle': round(rates[1]!),
    'hand.pinch_fidelity_generated.ring': round(rates[2]!),
    'hand.pinch_fidelity_generated.little': round(rates[3]!),
    'hand.pinch_fidelity_generated.min': round(Math.min(...rates)),
  };
}

/**
 * The arm figures on 15 variants of the Quest session (starting 0, 0.5, 1, 2 or 3 s in, its
 * timestamps scaled by 0.85, 1 or 1.15: played 1.18, 1 or 0.87 times as fast), as `arm_variants.*`: the median and the worst of each variant's flange
 * error mean and p99 and rotation p99. One session's p99 moves a lot with small changes (which
 * posture the arm is in when the operator's fast moves come); the median over variants does not.
 */
export function benchArmVariants(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const means: number[] = [], p99s: number[] = [], rots: number[] = [];
  for (const skip of [0, 45, 90, 180, 270]) {
    for (const scale of [0.85, 1, 1.15]) {
      const r = fidelityOf(rig, frames.slice(skip).map((f) => ({ ...f, tMs: f.tMs * scale })));
      means.push(r['arm.flange_err_mm.mean']!);
      p99s.push(r['arm.flange_err_mm.p99']!);
      rots.push(r['arm.flange_rot_err_deg.p99']!);
    }
  }
  return {
    'arm_variants.count': means.length,
    'arm_variants.flange_err_mm.mean.median': round(percentile(means, 0.5)), 'arm_variants.flange_err_mm.mean.max': round(Math.max(...means)),
    'arm_variants.flange_err_mm.p99.median': round(percentile(p99s, 0.5)), 'arm_variants.flange_err_mm.p99.max': round(Math.max(...p99s)),
    'arm_variants.flange_rot_err_deg.p99.median': round(percentile(rots, 0.5)),
  };
}

export function runRetargetBenchmarks(): Record<string, number> {
  const rig = createRig();
  const frames = parseHandFramesJsonl(readFileSync(DEMO, 'utf8'));
  const figures: Record<string, number> = {};
  const step = (name: string, fn: () => Record<string, number>): void => {
    const t0 = performance.now();
    const r = fn();
    Object.assign(figures, r);
    console.log(`  ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    for (const [k, v] of Object.entries(r)) console.log(`    ${k.padEnd(52)} ${v}`);
  };
  step('whole-frame retargeting, real Quest 3 session', () => benchFrameTime(rig, frames));
  step('cold FR3 IK with the default options, 10,000 random reachable poses', () => benchColdIk(rig));
  step('fidelity and optimality, real Quest 3 session', () => benchHandFidelity(rig, frames));
  step('fidelity, synthetic operators made from the robot', () => benchSyntheticFidelity(rig));
  step('without capsule separation (handCapsuleSeparation: false), real Quest 3 session', () => benchWithoutCapsules(rig, frames));
  step('arm without its acceleration limit (reference), real Quest 3 session', () => benchArmWithoutAccelerationLimit(rig, frames));
  step('hand oracle: the closest joint path knowing the whole session, within 8 rad/s (reference)', () => benchHandOracle(rig, frames));
  step('arm oracle: the best joint path knowing the whole session, within the FR3 limits (reference)', () => benchArmOracle(rig, frames));
  step('arm on 15 variants of the Quest 3 session (start 0-3 s in, timestamps x 0.85-1.15)', () => benchArmVariants(rig, frames));
  step('pinches generated from robot pinch poses', () => benchGeneratedPinches(rig));
  return figures;
}
