/**
 * Retargeting benchmarks (issue 2): whole-frame time on the real Quest session, cold FR3 IK as
 * TRAC-IK measures it, hand fidelity (fingertip error, pinch fidelity) and optimality against a
 * slow many-restart solve. Run through `npm run bench` (on the built packages).
 */
import { readFileSync } from 'node:fs';
import {
  ArmIk, createHandTargets, createRig, type HandFrame, HandSolver, type HandTargets, parseHandFramesJsonl, pose, type Rig, Retargeter, type RetargeterOptions, type Side, XR_JOINT_STRIDE, XR_TIPS,
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

/** Human pad-to-pad gap thumb → finger f (1..4) of a raw WebXR hand, m. */
function rawGap(j: Float64Array, f: number): number {
  const a = XR_TIPS[0]! * XR_JOINT_STRIDE, b = XR_TIPS[f]! * XR_JOINT_STRIDE;
  return Math.hypot(j[a]! - j[b]!, j[a + 1]! - j[b + 1]!, j[a + 2]! - j[b + 2]!) - j[a + 7]! - j[b + 7]!;
}

export function benchFrameTime(rig: Rig, frames: readonly HandFrame[]): Record<string, number> {
  const times: number[] = [];
  for (let pass = 0; pass < 11; pass++) {
    const rt = new Retargeter(rig);
    for (const f of frames) {
      const t0 = performance.now();
      rt.process(f);
      if (pass > 0) times.push(performance.now() - t0);
    }
  }
  const p50 = percentile(times, 0.5), p99 = percentile(times, 0.99);
  return {
    'retarget.frame_ms.p50': round(p50), 'retarget.frame_ms.p99': round(p99), 'retarget.frame_ms.max': round(Math.max(...times)),
    'retarget.frame_fraction_of_90hz.p50': round(p50 / FRAME_PERIOD_MS), 'retarget.frame_fraction_of_90hz.p99': round(p99 / FRAME_PERIOD_MS),
    'retarget.frames_measured': times.length,
  };
}

export function benchColdIk(rig: Rig, count = 10_000): Record<string, number> {
  const side = rig.sides.left;
  const tree = side.armTree;
  const ik = new ArmIk(tree, tree.linkNames[tree.linkCount - 1]!);
  ik.seedRandom(7);
  const rand = rng(2026);
  const n = tree.variableCount;
  const q = new Float64Array(n), out = new Float64Array(n), target = new Float64Array(12);
  const mid = Float64Array.from({ length: n }, (_, i) => (tree.lower[i]! + tree.upper[i]!) / 2);
  const flange = (tree.linkCount - 1) * pose.POSE_STRIDE;
  let solved = 0;
  const times: number[] = [];
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) q[i] = tree.lower[i]! + (tree.upper[i]! - tree.lower[i]!) * rand();
    target.set(tree.fk(q).subarray(flange, flange + 12));
    const t0 = performance.now();
    const r = ik.solve(target, mid, out, { tolerance: 1e-5, maxRestarts: 200, maxIterations: 6000 });
    times.push(performance.now() - t0);
    if (r.status === 'converged') solved++;
  }
  return { 'ik_cold.poses': count, 'ik_cold.solve_rate': round(solved / count, 6), 'ik_cold.mean_ms': round(mean(times)), 'ik_cold.p99_ms': round(percentile(times, 0.99)) };
}

interface Captured { side: Side; targets: HandTargets; qPrev: Float64Array; cost: number }

export function benchHandFidelity(rig: Rig, frames: readonly HandFrame[], options: RetargeterOptions = {}): Record<string, number> {
  const errors: number[] = [];
  let humanPinch = 0, robotPinch = 0;
  const captured: Captured[] = [];
  let warm = 0;
  const rt = new Retargeter(rig, {
    ...options,
    onHandSolve: (side, targets, qPrev, _q, result, cold) => {
      if (cold || warm++ % 4 !== 0) return; // every 4th warm solve, for the optimality check
      const t = createHandTargets();
      t.tips.set(targets.tips); t.tipWeights.set(targets.tipWeights); t.pinchVectors.set(targets.pinchVectors); t.pinchWeights.set(targets.pinchWeights);
      captured.push({ side, targets: t, qPrev: Float64Array.from(qPrev), cost: result.cost });
    },
  });
  // Pinch events: a run of human-pinch frames of one thumb–finger pair. An event is reached when
  // the robot pinches that pair within 100 ms of the event's first frame.
  const eventStart = new Map<string, number>();
  const reached = new Set<string>();
  let events = 0;
  for (const f of frames) {
    const o = rt.process(f);
    for (const side of ['left', 'right'] as const) {
      const st = o.status[side];
      const raw = f[side];
      if (!st.tracked || !raw) continue;
      for (let i = 0; i < 5; i++) errors.push(st.fingertipErrorM[i]! * 1000);
      for (let j = 0; j < 4; j++) {
        const key = `${side}${j}`;
        const pinching = rawGap(raw, j + 1) < 0.005;
        const robot = st.robotGapsM[j]! <= 0.003;
        if (pinching) {
          humanPinch++;
          if (robot) robotPinch++;
          if (!eventStart.has(key)) { eventStart.set(key, f.tMs); events++; }
        }
        const start = eventStart.get(key);
        if (start !== undefined) {
          if (robot && f.tMs - start <= 100) reached.add(`${key}@${start}`);
          if (!pinching && f.tMs - start > 100) eventStart.delete(key);
        }
      }
    }
  }
  // Optimality: the real-time cost against the best of many long solves of the same frame.
  const ratios: number[] = [];
  const lambda = 2e-6;
  const rand = rng(99);
  for (const c of captured) {
    const solver = new HandSolver(rig.sides[c.side].handTree, rig.sides[c.side].tipLinks);
    const tree = rig.sides[c.side].handTree;
    const seed = new Float64Array(tree.variableCount), out = new Float64Array(tree.variableCount);
    let best = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 12; k++) {
      if (k === 0) seed.set(c.qPrev);
      else for (let i = 0; i < seed.length; i++) seed[i] = tree.lower[i]! + (tree.upper[i]! - tree.lower[i]!) * rand();
      const r = solver.solve(c.targets, seed, c.qPrev, out, { maxIterations: 300, regularization: options.handRegularization ?? lambda, relativeTolerance: 1e-12 });
      best = Math.min(best, r.cost);
    }
    ratios.push(c.cost / best);
  }
  return {
    'hand.fingertip_err_mm.mean': round(mean(errors)), 'hand.fingertip_err_mm.p95': round(percentile(errors, 0.95)),
    'hand.pinch_frames_human': humanPinch, 'hand.pinch_frames_robot': robotPinch,
    'hand.pinch_fidelity': round(humanPinch === 0 ? Number.NaN : robotPinch / humanPinch),
    'hand.pinch_events_human': events,
    'hand.pinch_events_reached_within_100ms': round(events === 0 ? Number.NaN : reached.size / events),
    'hand.optimality_ratio_p50': round(percentile(ratios, 0.5), 6), 'hand.optimality_ratio_p95': round(percentile(ratios, 0.95), 6),
    'hand.optimality_frames': ratios.length,
  };
}

/**
 * Pinches generated from the robot's own pinch poses: for each finger, solve the robot hand
 * into touching thumb and finger pads from random starts, turn that pose into a human hand
 * (robot link origins as WebXR joints, tip-sphere radii as joint radii), hold it for 40 frames
 * at 90 Hz through a fresh Retargeter, and check that the robot pinches at the end.
 */
export function benchGeneratedPinches(rig: Rig, perFinger = 40): Record<string, number> {
  let human = 0, robot = 0;
  const rand = rng(5);
  const perFingerRate: number[] = [];
  for (const sideName of ['left', 'right'] as const) {
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
        const joints = robotPoseAsHumanHand(rig, sideName, q);
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
  return {
    'hand.pinch_generated.poses': human,
    'hand.pinch_fidelity_generated': round(human === 0 ? Number.NaN : robot / human),
    'hand.pinch_fidelity_generated.index': round(mean([perFingerRate[0]!, perFingerRate[4]!])),
    'hand.pinch_fidelity_generated.middle': round(mean([perFingerRate[1]!, perFingerRate[5]!])),
    'hand.pinch_fidelity_generated.ring': round(mean([perFingerRate[2]!, perFingerRate[6]!])),
    'hand.pinch_fidelity_generated.little': round(mean([perFingerRate[3]!, perFingerRate[7]!])),
  };
}

/**
 * A WebXR-shaped hand (25 joints × 8, in the hand frame: identity orientations) made from the
 * robot hand at joints `q`: link origins stand in for the human joints, the palm's metacarpal
 * bases sit a quarter of the way from the wrist to each knuckle.
 */
export function robotPoseAsHumanHand(rig: Rig, side: Side, q: Float64Array): Float64Array {
  const model = rig.sides[side];
  const tree = model.handTree;
  const poses = tree.fk(q);
  const at = (link: string): [number, number, number] => {
    const o = tree.linkIndex(`${side}_hand_${link}`) * pose.POSE_STRIDE;
    return [poses[o + 9]!, poses[o + 10]!, poses[o + 11]!];
  };
  const joints = new Float64Array(200);
  const put = (i: number, p: readonly number[], radius: number): void => {
    joints.set([p[0]!, p[1]!, p[2]!, 0, 0, 0, 1, radius], i * 8);
  };
  put(0, [0, 0, 0], 0.02);
  put(1, at('thumb_cmc_link1'), 0.02);
  put(2, at('thumb_proximal'), 0.012);
  put(3, at('thumb_distal'), 0.011);
  put(4, at('thumb_tip'), model.tipRadii[0]!);
  (['index', 'middle', 'ring', 'little'] as const).forEach((finger, i) => {
    const mcp = at(`${finger}_proximal`);
    put(5 + i * 5, [mcp[0] * 0.25, mcp[1] * 0.25, mcp[2] * 0.25], 0.02);
    put(6 + i * 5, mcp, 0.011);
    put(7 + i * 5, at(`${finger}_middle`), 0.01);
    put(8 + i * 5, at(`${finger}_distal`), 0.009);
    put(9 + i * 5, at(`${finger}_tip`), model.tipRadii[i + 1]!);
  });
  return joints;
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
    for (const [k, v] of Object.entries(r)) console.log(`    ${k.padEnd(44)} ${v}`);
  };
  step('whole-frame retargeting, real Quest 3 session', () => benchFrameTime(rig, frames));
  step('cold FR3 IK, 10,000 random reachable poses', () => benchColdIk(rig));
  step('hand fidelity and optimality, real session', () => benchHandFidelity(rig, frames));
  step('pinches generated from robot pinch poses', () => benchGeneratedPinches(rig));
  return figures;
}
