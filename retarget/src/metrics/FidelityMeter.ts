import { ArmIk } from '../arm/ArmIk.js';
import { type HandFrame, XR, XR_JOINT_COUNT, XR_JOINT_STRIDE, XR_TIPS } from '../handFrame.js';
import { KinematicTree } from '../kinematics/KinematicTree.js';
import { norm3 } from '../math/linalg.js';
import { POSE_STRIDE, poseError } from '../math/pose.js';
import type { RetargetOutput, Retargeter } from '../pipeline/Retargeter.js';
import type { Rig } from '../rig.js';
import { ARM_DOF, FINGERS, HAND_ACTIVE_SUFFIXES, SIDES, STATE_JOINT_NAMES, type Side, armJointName, handJointName } from '../robotNames.js';
import { capsuleInterpenetrationM } from './handCollision.js';
import { finiteMax, finiteMin, mean, pearson, percentile } from './statistics.js';

/** A human pad-to-pad gap below this is a pinch, m. */
export const HUMAN_PINCH_M = 0.005;
/** A robot pad-to-pad gap at or below this is a robot pinch, m. */
export const ROBOT_PINCH_M = 0.003;
/** A pinch event counts as reached when the robot pinches within this time of its start, ms. */
export const PINCH_EVENT_WINDOW_MS = 100;
/** Two phalanges overlap when their capsules interpenetrate by more than this, m. */
export const OVERLAP_DEPTH_M = 0.003;
/** An abduction joint this close to a limit is "at the limit", rad. */
export const AT_LIMIT_RAD = 0.01;
/**
 * The IK solution jumps when one joint's step between consecutive solved frames asks for more
 * than this multiple of the joint's velocity limit (a branch change, not tracking).
 */
export const BRANCH_JUMP_SPEED_FACTOR = 4;
/** A flange target counts as reachable when a cold IK solve reaches it within these, m and rad. */
export const REACH_POSITION_M = 1e-4;
export const REACH_ROTATION_RAD = 1e-3;

const LONG = ['index', 'middle', 'ring', 'little'] as const;
/** Human knuckle (proximal phalanx joint) of each finger, thumb first. */
const HUMAN_KNUCKLE = [XR.thumbProximal, XR.indexProximal, XR.middleProximal, XR.ringProximal, XR.littleProximal] as const;

export interface FidelityMeterOptions {
  /**
   * Check each engaged frame's flange target for reachability with a cold IK solve (default
   * true). Without it, `arm.flange_err_mm` covers every engaged frame.
   */
  readonly reachability?: boolean;
}

/** One engaged, tracked arm frame, for the report's time series. */
export interface ArmSample {
  readonly tMs: number;
  /** Commanded flange position error against the target, m. */
  readonly positionErrorM: number;
  /** Commanded flange rotation error against the target, rad. */
  readonly rotationErrorRad: number;
  /** Whether a cold IK solve reaches the target (true when reachability is not checked). */
  readonly reachable: boolean;
  /** The side's arm status this frame. */
  readonly status: string;
}

interface FingerSeries {
  humanCurl: number[];
  robotCurl: number[];
  humanPip: number[];
  robotPip: number[];
  /** Curl with NaN at untracked frames, for jitter (second differences never cross a gap). */
  humanCurlGapped: number[];
  robotCurlGapped: number[];
}

interface SideAcc {
  readonly handTree: KinematicTree;
  readonly armTree: KinematicTree;
  readonly ik: ArmIk;
  readonly handVarIdx: Int32Array;
  readonly armStateIdx: Int32Array;
  readonly abdVar: Int32Array;
  /** Link indices per long finger: proximal, middle, distal, tip. */
  readonly chain: Int32Array[];
  readonly thumbProximal: number;
  readonly thumbTip: number;
  /** The long fingers' phalanx capsules in this tree's link numbering: 4 links per finger (proximal … tip), 3 radii per finger. */
  readonly segmentLinks: Int32Array;
  readonly segmentRadii: Float64Array;
  readonly vmax: Float64Array;
  readonly q: Float64Array;
  readonly armQ: Float64Array;
  /** Scratch: the human's and the robot's palm-side normals of this frame. */
  readonly humanPalmward: Float64Array;
  readonly robotPalmward: Float64Array;
  readonly human: Float64Array;
  readonly err6: Float64Array;
  readonly mid: Float64Array;
  readonly coldOut: Float64Array;
  readonly prevSolution: Float64Array;
  prevSolvedMs: number;
  jumpRun: boolean;
  frames: number;
  readonly tipErrMm: number[][];
  readonly dirErrDeg: number[][];
  readonly fingers: FingerSeries[];
  abdFrames: number;
  abdAtLimit: number;
  overlapFrames: number;
  readonly pinchHuman: Int32Array;
  readonly pinchRobot: Int32Array;
  readonly pinchStart: Float64Array;
  readonly pinchReached: Uint8Array;
  pinchEvents: number;
  pinchEventsReached: number;
  lastTrackedMs: number;
  readonly arm: ArmSample[];
  branchJumps: number;
  maxSolutionSpeedRatio: number;
}

function angleDeg(ax: number, ay: number, az: number, bx: number, by: number, bz: number): number {
  const c = (ax * bx + ay * by + az * bz) / (Math.hypot(ax, ay, az) * Math.hypot(bx, by, bz));
  return (Math.acos(Math.max(-1, Math.min(1, c))) * 180) / Math.PI;
}

/**
 * A finger's curl, deg: the turn from a (wrist → knuckle) to b (distal joint → tip) about the
 * finger's flexion axis a × p (p: toward the palm), b projected onto the flexion plane, in
 * [−90°, 270°): 0 straight, positive curled toward the palm, past 180° in a tight fist. (The
 * plain angle between a and b folds back at 180° and takes in the finger's splay: a fist that
 * closes on past antiparallel would seem to open again, a kink no motion has.)
 */
export function fingerCurlDeg(ax: number, ay: number, az: number, bx: number, by: number, bz: number, px: number, py: number, pz: number): number {
  const cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
  const fx = ay * pz - az * py, fy = az * px - ax * pz, fz = ax * py - ay * px;
  const fn = norm3(fx, fy, fz);
  // No flexion axis (a degenerate hand: knuckles on one point, or p along a): the plain angle.
  if (!(fn > 1e-9 * norm3(ax, ay, az) * norm3(px, py, pz))) return angleDeg(ax, ay, az, bx, by, bz);
  // With F̂ = (a × p)/|a × p| ⟂ a: sin ∝ (a × b)·F̂ and cos ∝ a·b, both scaled by |a||b⊥|.
  const sin = (cx * fx + cy * fy + cz * fz) / fn;
  const deg = (Math.atan2(sin, ax * bx + ay * by + az * bz) * 180) / Math.PI;
  return deg < -90 ? deg + 360 : deg;
}

/**
 * The palm's normal toward the palm side, unnormalised, from the wrist → index knuckle and wrist →
 * little knuckle vectors: (index × little) points to the palm of a right hand, to the back of a
 * left one (in any right-handed frame).
 */
function palmward(side: Side, ix: number, iy: number, iz: number, lx: number, ly: number, lz: number, out: Float64Array): Float64Array {
  const s = side === 'right' ? 1 : -1;
  out[0] = s * (iy * lz - iz * ly);
  out[1] = s * (iz * lx - ix * lz);
  out[2] = s * (ix * ly - iy * lx);
  return out;
}



/**
 * Measures what the retargeting did to a recording, frame by frame, with the robot's own forward
 * kinematics: per finger fingertip error, knuckle→tip direction error, curl and PIP correlation
 * with the human, MCP abduction at a limit, pinch fidelity, phalanx overlap and curl jitter; per
 * arm the commanded flange pose against its target, IK branch jumps. `docs/retarget.md` defines
 * every figure. Used by `npm run bench` and `dexbridge retarget --report`, so both compute the
 * same numbers. Not for the live loop: it keeps series and runs extra FK (and a cold IK solve
 * per engaged frame when checking reachability).
 *
 * Call {@link add} after each `Retargeter.process` with the frame that went in.
 */
export class FidelityMeter {
  private readonly acc: Record<Side, SideAcc>;
  private readonly reachability: boolean;

  constructor(rig: Rig, options: FidelityMeterOptions = {}) {
    this.reachability = options.reachability ?? true;
    const make = (side: Side): SideAcc => {
      const model = rig.sides[side];
      const handTree = new KinematicTree(rig.model, { root: model.handTree.linkNames[0]!, variables: model.handTree.variableNames });
      const armTree = new KinematicTree(rig.model, { root: model.armTree.linkNames[0]!, tips: [model.armTree.linkNames[model.armTree.linkCount - 1]!], variables: model.armTree.variableNames });
      const ik = new ArmIk(armTree, armTree.linkNames[armTree.linkCount - 1]!);
      const stateIndex = (name: string): number => STATE_JOINT_NAMES.indexOf(name);
      const handVarIdx = Int32Array.from(HAND_ACTIVE_SUFFIXES, (s) => stateIndex(handJointName(side, s)));
      const armStateIdx = Int32Array.from({ length: ARM_DOF }, (_, i) => stateIndex(armJointName(side, i)));
      const abdVar = Int32Array.from(LONG, (f) => HAND_ACTIVE_SUFFIXES.indexOf(`${f}_mcp_abd` as (typeof HAND_ACTIVE_SUFFIXES)[number]));
      const link = (n: string): number => handTree.linkIndex(`${side}_hand_${n}`);
      const chain = LONG.map((f) => Int32Array.of(link(`${f}_proximal`), link(`${f}_middle`), link(`${f}_distal`), link(`${f}_tip`)));
      return {
        handTree, armTree, ik, handVarIdx, armStateIdx, abdVar, chain,
        thumbProximal: link('thumb_proximal'), thumbTip: link('thumb_tip'),
        segmentLinks: Int32Array.from(chain.flatMap((c) => Array.from(c))), segmentRadii: model.segmentRadii,
        vmax: Float64Array.from(armTree.maxVelocity),
        q: new Float64Array(handTree.variableCount), armQ: new Float64Array(ARM_DOF), humanPalmward: new Float64Array(3), robotPalmward: new Float64Array(3),
        human: new Float64Array(XR_JOINT_COUNT * 3), err6: new Float64Array(6),
        mid: Float64Array.from({ length: ARM_DOF }, (_, i) => (armTree.lower[i]! + armTree.upper[i]!) / 2),
        coldOut: new Float64Array(ARM_DOF), prevSolution: new Float64Array(ARM_DOF),
        prevSolvedMs: Number.NaN, jumpRun: false, frames: 0,
        tipErrMm: FINGERS.map(() => []), dirErrDeg: FINGERS.map(() => []),
        fingers: LONG.map(() => ({ humanCurl: [], robotCurl: [], humanPip: [], robotPip: [], humanCurlGapped: [], robotCurlGapped: [] })),
        abdFrames: 0, abdAtLimit: 0, overlapFrames: 0,
        pinchHuman: new Int32Array(4), pinchRobot: new Int32Array(4), pinchStart: new Float64Array(4).fill(Number.NaN), pinchReached: new Uint8Array(4),
        pinchEvents: 0, pinchEventsReached: 0, lastTrackedMs: Number.NaN, arm: [], branchJumps: 0, maxSolutionSpeedRatio: 0,
      };
    };
    this.acc = { left: make('left'), right: make('right') };
  }

  /** Records one processed frame: `frame` is what went into `rt.process`, whose output is current. */
  add(frame: HandFrame, rt: Retargeter): void {
    const out = rt.output;
    for (const side of SIDES) this.addSide(side, frame, rt, out);
  }

  private addSide(side: Side, frame: HandFrame, rt: Retargeter, out: RetargetOutput): void {
    const a = this.acc[side];
    const st = out.status[side];
    if (!st.tracked) {
      for (const f of a.fingers) { f.humanCurlGapped.push(Number.NaN); f.robotCurlGapped.push(Number.NaN); }
      if (!st.engaged) a.prevSolvedMs = Number.NaN;
      return;
    }
    a.frames++;
    a.lastTrackedMs = frame.tMs;
    const raw = frame[side]!;
    // Robot hand at the commanded joints.
    for (let i = 0; i < a.q.length; i++) a.q[i] = out.q[a.handVarIdx[i]!]!;
    const poses = a.handTree.fk(a.q);
    const P = (link: number, k: number): number => poses[link * POSE_STRIDE + 9 + k]!;
    rt.humanJointsInHand(side, a.human);
    const H = a.human;
    for (let f = 0; f < 5; f++) a.tipErrMm[f]!.push(st.fingertipErrorM[f]! * 1000);
    // Knuckle → tip directions.
    for (let f = 0; f < 5; f++) {
      const k = HUMAN_KNUCKLE[f]!, t = XR_TIPS[f]!;
      const rk = f === 0 ? a.thumbProximal : a.chain[f - 1]![0]!;
      const rtip = f === 0 ? a.thumbTip : a.chain[f - 1]![3]!;
      a.dirErrDeg[f]!.push(angleDeg(
        H[t * 3]! - H[k * 3]!, H[t * 3 + 1]! - H[k * 3 + 1]!, H[t * 3 + 2]! - H[k * 3 + 2]!,
        P(rtip, 0) - P(rk, 0), P(rtip, 1) - P(rk, 1), P(rtip, 2) - P(rk, 2),
      ));
    }
    // Curl (wrist→knuckle to distal→tip about the flexion axis) and PIP (proximal against
    // intermediate) angles: the human's from its own (filtered) joints, the robot's from its links.
    // Each uses only its own hand's vectors (the palm normal too), so the frame they are written
    // in does not matter.
    const W = rt.humanJoints(side);
    const S = XR_JOINT_STRIDE;
    const ip = XR.indexProximal * S, lp = XR.littleProximal * S, ri = a.chain[0]![0]!, rl = a.chain[3]![0]!;
    const hPalm = palmward(side, W[ip]! - W[0]!, W[ip + 1]! - W[1]!, W[ip + 2]! - W[2]!, W[lp]! - W[0]!, W[lp + 1]! - W[1]!, W[lp + 2]! - W[2]!, a.humanPalmward);
    const rPalm = palmward(side, P(ri, 0), P(ri, 1), P(ri, 2), P(rl, 0), P(rl, 1), P(rl, 2), a.robotPalmward);
    for (let i = 0; i < 4; i++) {
      const m = XR.indexMetacarpal + i * 5; // metacarpal, proximal, intermediate, distal, tip
      const c = a.chain[i]!;
      const hc = fingerCurlDeg(W[(m + 1) * S]! - W[0]!, W[(m + 1) * S + 1]! - W[1]!, W[(m + 1) * S + 2]! - W[2]!,
        W[(m + 4) * S]! - W[(m + 3) * S]!, W[(m + 4) * S + 1]! - W[(m + 3) * S + 1]!, W[(m + 4) * S + 2]! - W[(m + 3) * S + 2]!, hPalm[0]!, hPalm[1]!, hPalm[2]!);
      const rc = fingerCurlDeg(P(c[0]!, 0), P(c[0]!, 1), P(c[0]!, 2), P(c[3]!, 0) - P(c[2]!, 0), P(c[3]!, 1) - P(c[2]!, 1), P(c[3]!, 2) - P(c[2]!, 2), rPalm[0]!, rPalm[1]!, rPalm[2]!);
      const hp = angleDeg(
        W[(m + 2) * S]! - W[(m + 1) * S]!, W[(m + 2) * S + 1]! - W[(m + 1) * S + 1]!, W[(m + 2) * S + 2]! - W[(m + 1) * S + 2]!,
        W[(m + 3) * S]! - W[(m + 2) * S]!, W[(m + 3) * S + 1]! - W[(m + 2) * S + 1]!, W[(m + 3) * S + 2]! - W[(m + 2) * S + 2]!);
      const rp = angleDeg(P(c[1]!, 0) - P(c[0]!, 0), P(c[1]!, 1) - P(c[0]!, 1), P(c[1]!, 2) - P(c[0]!, 2),
        P(c[2]!, 0) - P(c[1]!, 0), P(c[2]!, 1) - P(c[1]!, 1), P(c[2]!, 2) - P(c[1]!, 2));
      const s = a.fingers[i]!;
      s.humanCurl.push(hc); s.robotCurl.push(rc); s.humanPip.push(hp); s.robotPip.push(rp);
      s.humanCurlGapped.push(hc); s.robotCurlGapped.push(rc);
    }
    // MCP abduction at a limit.
    const tree = a.handTree;
    for (let i = 0; i < 4; i++) {
      const v = a.abdVar[i]!;
      const q = a.q[v]!;
      a.abdFrames++;
      if (q <= tree.lower[v]! + AT_LIMIT_RAD || q >= tree.upper[v]! - AT_LIMIT_RAD) { a.abdAtLimit++; this.abdCounts[side][i]!++; }
    }
    // Phalanx overlap between neighbouring long fingers (every segment pair).
    if (capsuleInterpenetrationM(poses, a.segmentLinks, a.segmentRadii) > OVERLAP_DEPTH_M) a.overlapFrames++;
    // Pinches: the raw (unfiltered) human gap against the commanded robot gap.
    const t0 = XR_TIPS[0]! * XR_JOINT_STRIDE;
    for (let j = 0; j < 4; j++) {
      const tf = XR_TIPS[j + 1]! * XR_JOINT_STRIDE;
      const gap = Math.hypot(raw[t0]! - raw[tf]!, raw[t0 + 1]! - raw[tf + 1]!, raw[t0 + 2]! - raw[tf + 2]!) - raw[t0 + 7]! - raw[tf + 7]!;
      const human = gap < HUMAN_PINCH_M;
      const robot = st.robotGapsM[j]! <= ROBOT_PINCH_M;
      if (human) {
        a.pinchHuman[j]!++;
        if (robot) a.pinchRobot[j]!++;
        if (Number.isNaN(a.pinchStart[j]!)) { a.pinchStart[j] = frame.tMs; a.pinchEvents++; a.pinchReached[j] = 0; }
      }
      const start = a.pinchStart[j]!;
      if (!Number.isNaN(start)) {
        if (robot && frame.tMs - start <= PINCH_EVENT_WINDOW_MS && a.pinchReached[j] === 0) { a.pinchReached[j] = 1; a.pinchEventsReached++; }
        if (!human && frame.tMs - start > PINCH_EVENT_WINDOW_MS) a.pinchStart[j] = Number.NaN;
      }
    }
    this.addArm(a, st, frame.tMs, rt, side, out);
  }

  private addArm(a: SideAcc, st: RetargetOutput['status'][Side], tMs: number, rt: Retargeter, side: Side, out: RetargetOutput): void {
    if (!st.engaged || st.arm.status === 'not_engaged' || st.arm.status === 'held') { a.prevSolvedMs = Number.NaN; return; }
    const target = rt.armFlangeTarget(side) as Float64Array;
    for (let i = 0; i < ARM_DOF; i++) a.armQ[i] = out.q[a.armStateIdx[i]!]!;
    const flange = (a.armTree.linkCount - 1) * POSE_STRIDE;
    poseError(a.err6, 0, target, 0, a.armTree.fk(a.armQ), flange);
    const e = a.err6;
    const positionErrorM = Math.hypot(e[0]!, e[1]!, e[2]!);
    const rotationErrorRad = Math.hypot(e[3]!, e[4]!, e[5]!);
    let reachable = true;
    if (this.reachability) {
      const r = a.ik.solveCold(target, a.coldOut);
      reachable = r.positionError < REACH_POSITION_M && r.rotationError < REACH_ROTATION_RAD;
    }
    a.arm.push({ tMs, positionErrorM, rotationErrorRad, reachable, status: st.arm.status });
    // Branch jumps: how far the solution asks the arm to go from its previous command, against
    // what the joints can move in the time since (velocity limits).
    const sol = rt.armSolution(side);
    if (!Number.isNaN(a.prevSolvedMs) && tMs > a.prevSolvedMs) {
      const dt = (tMs - a.prevSolvedMs) / 1000;
      let ratio = 0;
      for (let i = 0; i < ARM_DOF; i++) ratio = Math.max(ratio, Math.abs(sol[i]! - a.prevSolution[i]!) / (dt * a.vmax[i]!));
      a.maxSolutionSpeedRatio = Math.max(a.maxSolutionSpeedRatio, ratio);
      const jump = ratio > BRANCH_JUMP_SPEED_FACTOR;
      if (jump && !a.jumpRun) a.branchJumps++;
      a.jumpRun = jump;
    }
    a.prevSolution.set(a.armQ); // the command of this frame, for the next frame's step
    a.prevSolvedMs = tMs;
  }

  /** Engaged, tracked arm frames of a side in time order (the report's time series). */
  armSamples(side: Side): readonly ArmSample[] {
    return this.acc[side].arm;
  }

  /**
   * Per-finger figures of both hands together, thumb first (curl, PIP and abduction are NaN for
   * the thumb: they are defined for the long fingers).
   */
  fingerFigures(): { finger: string; tipErrMmMean: number; tipErrMmP95: number; directionErrDeg: number; curlCorrelation: number; pipCorrelation: number; abductionAtLimitShare: number; pinchFidelity: number; humanPinchFrames: number; jitterRatio: number }[] {
    return FINGERS.map((finger, f) => {
      const tips = SIDES.flatMap((s) => this.acc[s].tipErrMm[f]!);
      const dirs = SIDES.flatMap((s) => this.acc[s].dirErrDeg[f]!);
      if (f === 0) {
        return { finger, tipErrMmMean: mean(tips), tipErrMmP95: percentile(tips, 0.95), directionErrDeg: mean(dirs), curlCorrelation: Number.NaN, pipCorrelation: Number.NaN, abductionAtLimitShare: Number.NaN, pinchFidelity: Number.NaN, humanPinchFrames: 0, jitterRatio: Number.NaN };
      }
      const i = f - 1;
      const curl = this.sideCorrelation(i, 'humanCurl', 'robotCurl');
      const pip = this.sideCorrelation(i, 'humanPip', 'robotPip');
      let ph = 0, pr = 0;
      for (const s of SIDES) { ph += this.acc[s].pinchHuman[i]!; pr += this.acc[s].pinchRobot[i]!; }
      return {
        finger, tipErrMmMean: mean(tips), tipErrMmP95: percentile(tips, 0.95), directionErrDeg: mean(dirs), curlCorrelation: curl, pipCorrelation: pip,
        abductionAtLimitShare: this.abdShareFinger(i), pinchFidelity: ph === 0 ? Number.NaN : pr / ph, humanPinchFrames: ph, jitterRatio: this.jitterRatio(i),
      };
    });
  }

  private readonly abdCounts: Record<Side, Int32Array> = { left: new Int32Array(4), right: new Int32Array(4) };

  private abdShareFinger(i: number): number {
    let n = 0, k = 0;
    for (const s of SIDES) { n += this.acc[s].fingers[i]!.humanCurl.length; k += this.abdCounts[s][i]!; }
    return n === 0 ? Number.NaN : k / n;
  }

  /** Correlation over both sides' frames of finger i (sides pooled: same joint, same meaning). */
  private sideCorrelation(i: number, h: 'humanCurl' | 'humanPip', r: 'robotCurl' | 'robotPip'): number {
    const hs = SIDES.flatMap((s) => this.acc[s].fingers[i]![h]);
    const rs = SIDES.flatMap((s) => this.acc[s].fingers[i]![r]);
    return pearson(hs, rs);
  }

  /** Σ robot curl jitter ÷ Σ human curl jitter of finger i (or all fingers when i is undefined). */
  private jitterRatio(i?: number): number {
    let hj = 0, rj = 0;
    for (const s of SIDES) {
      this.acc[s].fingers.forEach((f, k) => {
        if (i !== undefined && k !== i) return;
        hj += secondDifferenceRms(f.humanCurlGapped);
        rj += secondDifferenceRms(f.robotCurlGapped);
      });
    }
    return hj === 0 ? Number.NaN : rj / hj;
  }

  /**
   * The flat figures (`hand.*`, `arm.*`), as `bench/results.json` holds them; `prefix` replaces
   * `hand`/`arm` with `<prefix>.hand`/`<prefix>.arm` (e.g. for the synthetic hands).
   */
  figures(prefix = ''): Record<string, number> {
    const p = prefix === '' ? '' : `${prefix}.`;
    const fingers = this.fingerFigures();
    const tips = SIDES.flatMap((s) => this.acc[s].tipErrMm.flat());
    const dirs = SIDES.flatMap((s) => this.acc[s].dirErrDeg.flat());
    let abdN = 0, abdK = 0, frames = 0, overlap = 0, ph = 0, pr = 0, events = 0, reached = 0, jumps = 0, speed = 0, censored = 0;
    for (const s of SIDES) {
      const a = this.acc[s];
      // An event the recording ends in before its window is over, unreached, says nothing.
      for (let j = 0; j < 4; j++) {
        const start = a.pinchStart[j]!;
        if (!Number.isNaN(start) && a.pinchReached[j] === 0 && a.lastTrackedMs - start < PINCH_EVENT_WINDOW_MS) censored++;
      }
      abdN += a.abdFrames; abdK += a.abdAtLimit; frames += a.frames; overlap += a.overlapFrames;
      for (let j = 0; j < 4; j++) { ph += a.pinchHuman[j]!; pr += a.pinchRobot[j]!; }
      events += a.pinchEvents; reached += a.pinchEventsReached; jumps += a.branchJumps; speed = Math.max(speed, a.maxSolutionSpeedRatio);
    }
    const arm = SIDES.flatMap((s) => this.acc[s].arm);
    const reach = arm.filter((x) => x.reachable);
    const posMm = reach.map((x) => x.positionErrorM * 1000);
    const rotDeg = reach.map((x) => (x.rotationErrorRad * 180) / Math.PI);
    const r: Record<string, number> = {
      [`${p}hand.frames`]: frames,
      [`${p}hand.fingertip_err_mm.mean`]: mean(tips),
      [`${p}hand.fingertip_err_mm.p95`]: percentile(tips, 0.95),
      [`${p}hand.direction_err_deg.mean`]: mean(dirs),
      [`${p}hand.direction_err_deg.p95`]: percentile(dirs, 0.95),
      [`${p}hand.curl_correlation.min`]: finiteMin(fingers.slice(1).map((f) => f.curlCorrelation)),
      [`${p}hand.pip_correlation.min`]: finiteMin(fingers.slice(1).map((f) => f.pipCorrelation)),
      [`${p}hand.abduction_at_limit_share`]: abdN === 0 ? Number.NaN : abdK / abdN,
      [`${p}hand.overlap_share`]: frames === 0 ? Number.NaN : overlap / frames,
      [`${p}hand.pinch_frames_human`]: ph,
      [`${p}hand.pinch_frames_robot`]: pr,
      [`${p}hand.pinch_fidelity`]: ph === 0 ? Number.NaN : pr / ph,
      [`${p}hand.pinch_fidelity.min`]: finiteMin(fingers.slice(1).map((f) => f.pinchFidelity)),
      [`${p}hand.pinch_events_human`]: events,
      [`${p}hand.pinch_events_cut_by_end`]: censored,
      [`${p}hand.pinch_events_reached_within_100ms`]: events - censored === 0 ? Number.NaN : reached / (events - censored),
      [`${p}hand.jitter_ratio`]: this.jitterRatio(),
      [`${p}hand.jitter_ratio.max`]: finiteMax(fingers.slice(1).map((f) => f.jitterRatio)),
      [`${p}arm.frames`]: arm.length,
      [`${p}arm.reachable_frames`]: reach.length,
      [`${p}arm.flange_err_mm.mean`]: mean(posMm),
      [`${p}arm.flange_err_mm.p99`]: percentile(posMm, 0.99),
      [`${p}arm.flange_err_mm.max`]: finiteMax(posMm),
      [`${p}arm.flange_rot_err_deg.p99`]: percentile(rotDeg, 0.99),
      [`${p}arm.branch_jumps`]: jumps,
      [`${p}arm.solution_speed_ratio.max`]: speed,
    };
    for (const f of fingers) {
      r[`${p}hand.fingertip_err_mm.${f.finger}.mean`] = f.tipErrMmMean;
      r[`${p}hand.direction_err_deg.${f.finger}`] = f.directionErrDeg;
      if (f.finger === 'thumb') continue;
      r[`${p}hand.curl_correlation.${f.finger}`] = f.curlCorrelation;
      r[`${p}hand.pip_correlation.${f.finger}`] = f.pipCorrelation;
      r[`${p}hand.abduction_at_limit_share.${f.finger}`] = f.abductionAtLimitShare;
      r[`${p}hand.pinch_fidelity.${f.finger}`] = f.pinchFidelity;
      r[`${p}hand.jitter_ratio.${f.finger}`] = f.jitterRatio;
    }
    return r;
  }
}

/** RMS of the second differences of a series, over triples with no NaN (gaps break it). */
function secondDifferenceRms(x: readonly number[]): number {
  let s = 0, n = 0;
  for (let i = 2; i < x.length; i++) {
    const d = x[i]! - 2 * x[i - 1]! + x[i - 2]!;
    if (Number.isFinite(d)) { s += d * d; n++; }
  }
  return n === 0 ? 0 : Math.sqrt(s / n);
}
