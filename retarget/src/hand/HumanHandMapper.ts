import { XR, XR_BONES, XR_JOINT_COUNT, XR_JOINT_STRIDE, XR_TIPS } from '../handFrame.js';
import { norm3 } from '../math/linalg.js';
import { POSE_STRIDE } from '../math/pose.js';
import type { RigSideModel } from '../rig.js';
import { HAND_ACTIVE_SUFFIXES, type Side } from '../robotNames.js';
import type { HandTargets } from './HandSolver.js';

/** Why a tracked hand was not used. */
export type HandCheck = 'ok' | 'not_finite' | 'implausible_bones' | 'implausible_size';

export interface HumanHandMapperOptions {
  /**
   * Robot-to-human size ratio applied to the human hand's vectors, or 'auto' to measure it at the
   * first plausible frame (robot wrist-to-middle-fingertip length over the operator's). Default 'auto'.
   */
  readonly scale?: number | 'auto';
  /** Human pad-to-pad gap below which a thumb–finger pair is a pinch, m. Default 0.005. */
  readonly pinchThresholdM?: number;
  /** Gap above which the thumb-to-fingertip target is just the scaled human vector, m. Default 0.035. */
  readonly pinchBlendM?: number;
  /** Weight of each wrist-to-fingertip term. Default 1. */
  readonly tipWeight?: number;
  /** Weight of a thumb-to-fingertip term when the fingers are apart. Default 0.5. */
  readonly pinchWeightFar?: number;
  /** Weight of a thumb-to-fingertip term at and below the pinch threshold. Default 10. */
  readonly pinchWeightNear?: number;
  /** Accepted deviation of the operator's hand size from the size measured at calibration (fraction). Default 0.3. */
  readonly sizeTolerance?: number;
  /**
   * Robot-to-human length ratio of each digit (5, thumb first), or 'auto' to measure the
   * operator's digit lengths (sum of the bones from the digit's base to its tip) over the first
   * 30 plausible frames. Each long finger's joints are mapped from its own knuckle with its own
   * ratio, so every finger reaches as far as the human's. Default 'auto'.
   */
  readonly digitScales?: ArrayLike<number> | 'auto';
  /** Weight of the intermediate (thumb MCP, finger PIP) targets. Default 1 (as the tips). */
  readonly midWeight?: number;
  /** Weight of the separation terms between neighbouring fingers. Default 20. */
  readonly separationWeight?: number;
  /** A pinch, once begun, lasts until the human gap exceeds the threshold by this much, m. Default 0.004. */
  readonly pinchHysteresisM?: number;
  /** Factor on the thumb's and the finger's tip weights while they pinch. Default 0.1. */
  readonly pinchTipWeightFactor?: number;
  /**
   * Soft abduction: the fraction of each long finger's abduction half-range, from the middle of
   * the range, that a human splay maps onto unchanged; beyond it the splay is compressed
   * smoothly (tanh) toward the range's end less {@link abductionMarginRad}, never reaching it.
   * 1 turns the mapping off. Default 0.7.
   */
  readonly abductionKnee?: number;
  /** How far inside each abduction limit the soft abduction's asymptote lies, rad. Default 0.03. */
  readonly abductionMarginRad?: number;
  /**
   * Weight of the soft abduction limits in the hand solve (m²/rad²): an abduction joint past its
   * limit less {@link abductionMarginRad} costs this × (the excess)², so where the targets leave
   * it free (a curled finger) it stays off its stop. Default 0.01. 0 turns it off.
   */
  readonly abductionLimitWeight?: number;
}

/**
 * The soft abduction map of one finger: a splay angle θ (rad, about the palm normal, 0 along the
 * hand's z axis) to the angle the robot is asked for. Identity within `knee` of the range's middle
 * `centre`; beyond it, `knee + span·tanh((|θ − centre| − knee)/span)` from the middle, with
 * `span` = half-range − margin − knee: continuous with a continuous slope (1 at the knee),
 * strictly increasing, and never past the limit less the margin. Exported for tests.
 */
export function softAbduction(theta: number, centre: number, knee: number, span: number): number {
  const d = theta - centre;
  const a = d < 0 ? -d : d;
  if (a <= knee || !(span > 0)) return theta;
  const c = knee + span * Math.tanh((a - knee) / span);
  return d < 0 ? centre - c : centre + c;
}

/** Frames over which 'auto' digit lengths are averaged. */
const DIGIT_CALIBRATION_FRAMES = 30;
/** WebXR joints of each digit from its base to its tip, thumb first. */
const DIGIT_JOINTS = [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14], [16, 17, 18, 19], [21, 22, 23, 24]] as const;

/** Finger bones checked for plausibility: metacarpal to tip (the wrist's own bones vary most in Quest data). */
const FINGER_BONES = XR_BONES.filter(([parent]) => parent !== XR.wrist);
/** The finger bones' parent and child joints, flat, so the per-frame check iterates without allocating. */
const FINGER_BONE_A = Int32Array.from(FINGER_BONES, ([a]) => a);
const FINGER_BONE_B = Int32Array.from(FINGER_BONES, ([, b]) => b);
const BONE_MIN_M = 0.004;
const BONE_MAX_M = 0.12;
const REFERENCE_MIN_M = 0.1;
const REFERENCE_MAX_M = 0.32;

const pos = (j: ArrayLike<number>, i: number, k: number): number => j[i * XR_JOINT_STRIDE + k]!;
function dist(j: ArrayLike<number>, a: number, b: number): number {
  return norm3(pos(j, a, 0) - pos(j, b, 0), pos(j, a, 1) - pos(j, b, 1), pos(j, a, 2) - pos(j, b, 2));
}

/**
 * Rotation (row-major 3×3) from the hand frame built the human way (x along the knuckle line,
 * little → index knuckle on a right hand, index → little on a left; z from the wrist toward the
 * middle knuckle, orthogonal to x; y = z × x) to the robot hand's base frame, computed from the
 * robot's own knuckles (5 × xyz, thumb first). The robot's knuckle line is staggered (the index
 * knuckle 8 mm higher than the little's, 6.7°), so the two frames differ by that tilt; the
 * columns are the human-style axes written in the robot frame.
 */
export function alignmentOf(knucklesM: ArrayLike<number>, side: Side): Float64Array {
  const k = (i: number, c: number): number => knucklesM[i * 3 + c]!;
  const a = side === 'right' ? 4 : 1, b = side === 'right' ? 1 : 4;
  let xx = k(b, 0) - k(a, 0), xy = k(b, 1) - k(a, 1), xz = k(b, 2) - k(a, 2);
  let n = norm3(xx, xy, xz);
  xx /= n; xy /= n; xz /= n;
  let zx = k(2, 0), zy = k(2, 1), zz = k(2, 2);
  const d = xx * zx + xy * zy + xz * zz;
  zx -= d * xx; zy -= d * xy; zz -= d * xz;
  n = norm3(zx, zy, zz);
  zx /= n; zy /= n; zz /= n;
  const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
  return Float64Array.of(xx, yx, zx, xy, yy, zy, xz, yz, zz);
}

/** Pad-to-pad gap between two tip joints: centre distance minus both joint radii, m. */
function padGap(j: ArrayLike<number>, a: number, b: number): number {
  return dist(j, a, b) - j[a * XR_JOINT_STRIDE + 7]! - j[b * XR_JOINT_STRIDE + 7]!;
}

/** Wrist → middle knuckle plus the middle finger's bones: the human counterpart of the robot's reference length. */
export function humanReferenceLengthM(j: ArrayLike<number>): number {
  return dist(j, XR.wrist, XR.middleProximal) + dist(j, XR.middleProximal, XR.middleIntermediate) + dist(j, XR.middleIntermediate, XR.middleDistal) + dist(j, XR.middleDistal, XR.middleTip);
}

/**
 * Turns one tracked human hand (25 WebXR joints) into fingertip targets for the robot hand:
 * the human hand frame from joint positions, wrist-to-fingertip vectors scaled by the operator's
 * hand scale, and thumb-to-fingertip vectors where a human pinch becomes a robot pinch.
 *
 * The hand frame matches the robot hand's: origin at the wrist joint, z toward the middle
 * knuckle, x toward the thumb side for a right hand (the little-finger side for a left: the left
 * is the mirror image), y out of the back of the hand. It is built from positions because Quest
 * reports the wrist's orientation as the index metacarpal's.
 */
export class HumanHandMapper {
  /** The applied scale; NaN until 'auto' has measured it. */
  scale: number;
  /** Operator's reference length at calibration, m (NaN before). */
  referenceLengthM = Number.NaN;
  /** Human pad-to-pad gap, thumb to index, middle, ring, little, m (from the last `map`). */
  readonly humanGapsM = new Float64Array(4);
  private readonly o: Required<HumanHandMapperOptions>;
  private readonly side: Side;
  private readonly robotTipRadii: Float64Array;
  private readonly robotReferenceM: number;
  /** The 25 joints in the human hand frame (75), and mapped into the robot hand frame (75). */
  private readonly local = new Float64Array(75);
  readonly mapped = new Float64Array(75);
  /** Rotation from the human-style hand frame to the robot hand's ({@link alignmentOf}). */
  readonly align: Float64Array;
  /** Robot digit bases (15) and lengths (5). */
  private readonly knuckles: Float64Array;
  private readonly robotDigitM: Float64Array;
  /** Operator digit lengths, m (5), and how many frames have been averaged into them. */
  readonly digitLengthsM = new Float64Array(5);
  private digitFrames = 0;
  /** Applied robot-to-human ratio per digit (5). */
  readonly digitScales = new Float64Array(5);
  private fixedDigitScales = false;
  /** Pinch state per finger (hysteresis). */
  readonly pinching = new Uint8Array(4);
  /**
   * Per long finger (index, middle, ring, little): the middle of the robot's splay range (the
   * knuckle → tip direction's angle about the palm normal, from the URDF at the abduction limits,
   * rest splay included), the identity part's half-width and the compressed part's span, rad.
   */
  readonly abductionCentreRad = new Float64Array(4);
  readonly abductionKneeRad = new Float64Array(4);
  readonly abductionSpanRad = new Float64Array(4);
  /** Lower and upper splay angle of each long finger's range, rad (4 × 2). */
  readonly abductionRangeRad = new Float64Array(8);
  /** The human splay of each long finger in the last `map` and what the robot was asked for, rad. */
  readonly humanSplay = new Float64Array(4);
  readonly robotSplay = new Float64Array(4);
  /** Soft limits of the 16 active joints handed to the solver: the abduction joints' limits less the margin, the rest the hard limits. */
  readonly softLower: Float64Array;
  readonly softUpper: Float64Array;

  constructor(rig: RigSideModel, options: HumanHandMapperOptions = {}) {
    const o: Required<HumanHandMapperOptions> = {
      scale: 'auto', pinchThresholdM: 0.005, pinchBlendM: 0.035, tipWeight: 1, pinchWeightFar: 0.5, pinchWeightNear: 10, sizeTolerance: 0.3,
      digitScales: 'auto', midWeight: 1, separationWeight: 20, pinchHysteresisM: 0.004, pinchTipWeightFactor: 0.1,
      abductionKnee: 0.7, abductionMarginRad: 0.03, abductionLimitWeight: 0.01,
      ...options,
    };
    if (o.scale !== 'auto' && !(o.scale > 0 && Number.isFinite(o.scale))) throw new RangeError(`HumanHandMapper: scale must be a positive number or 'auto', got ${o.scale}`);
    for (const k of ['pinchThresholdM', 'pinchBlendM', 'tipWeight', 'pinchWeightFar', 'pinchWeightNear', 'sizeTolerance', 'midWeight', 'separationWeight', 'pinchHysteresisM', 'pinchTipWeightFactor', 'abductionLimitWeight'] as const) {
      if (!(o[k] >= 0 && Number.isFinite(o[k]))) throw new RangeError(`HumanHandMapper: ${k} must be a finite number ≥ 0, got ${o[k]}`);
    }
    if (!(o.abductionKnee > 0 && o.abductionKnee <= 1)) throw new RangeError(`HumanHandMapper: abductionKnee must be in (0, 1], got ${o.abductionKnee}`);
    if (!(o.abductionMarginRad >= 0 && Number.isFinite(o.abductionMarginRad))) throw new RangeError(`HumanHandMapper: abductionMarginRad must be a finite number ≥ 0, got ${o.abductionMarginRad}`);
    if (!(o.pinchBlendM > o.pinchThresholdM)) throw new RangeError(`HumanHandMapper: pinchBlendM (${o.pinchBlendM}) must exceed pinchThresholdM (${o.pinchThresholdM})`);
    this.o = o;
    this.side = rig.side;
    this.robotTipRadii = rig.tipRadii;
    this.robotReferenceM = rig.handReferenceLengthM;
    this.scale = o.scale === 'auto' ? Number.NaN : o.scale;
    this.knuckles = rig.knucklesM;
    this.align = alignmentOf(rig.knucklesM, rig.side);
    this.robotDigitM = rig.digitLengthsM;
    if (o.digitScales !== 'auto') this.setDigitScales(o.digitScales);
    else this.digitScales.fill(Number.NaN);
    this.measureAbductionRanges(rig, o.abductionKnee, o.abductionMarginRad);
    this.softLower = Float64Array.from(rig.handTree.lower);
    this.softUpper = Float64Array.from(rig.handTree.upper);
    for (const f of ['index', 'middle', 'ring', 'little'] as const) {
      const v = HAND_ACTIVE_SUFFIXES.indexOf(`${f}_mcp_abd`);
      const half = (this.softUpper[v]! - this.softLower[v]!) / 2, margin = Math.min(o.abductionMarginRad, half);
      this.softLower[v] = this.softLower[v]! + margin;
      this.softUpper[v] = this.softUpper[v]! - margin;
    }
  }

  /**
   * Each long finger's splay range from the robot's own kinematics: the knuckle → tip direction
   * of the straight finger at either abduction limit, as an angle about the hand's y axis (the
   * palm normal, which the abduction axes are parallel to). Runs FK: construction only.
   */
  private measureAbductionRanges(rig: RigSideModel, knee: number, margin: number): void {
    const tree = rig.handTree;
    const q = new Float64Array(tree.variableCount);
    const splay = (f: number): number => {
      const poses = tree.fk(q);
      const k = rig.segmentLinks[(f - 1) * 4]! * POSE_STRIDE + 9, t = rig.tipLinks[f]! * POSE_STRIDE + 9;
      return Math.atan2(poses[t]! - poses[k]!, poses[t + 2]! - poses[k + 2]!);
    };
    for (let f = 1; f < 5; f++) {
      const v = HAND_ACTIVE_SUFFIXES.indexOf(`${(['index', 'middle', 'ring', 'little'] as const)[f - 1]!}_mcp_abd`);
      q.fill(0);
      q[v] = tree.lower[v]!;
      const a = splay(f);
      q[v] = tree.upper[v]!;
      const b = splay(f);
      const lo = Math.min(a, b), hi = Math.max(a, b), half = (hi - lo) / 2;
      const i = f - 1;
      this.abductionRangeRad[i * 2] = lo;
      this.abductionRangeRad[i * 2 + 1] = hi;
      this.abductionCentreRad[i] = (lo + hi) / 2;
      this.abductionKneeRad[i] = Math.min(knee * half, Math.max(0, half - margin));
      this.abductionSpanRad[i] = Math.max(0, half - margin - this.abductionKneeRad[i]!);
    }
  }

  /**
   * Sets the robot-to-human length ratio of each digit (5, thumb first), e.g. from a calibration;
   * 'auto' measuring stops.
   */
  setDigitScales(scales: ArrayLike<number>): void {
    if (scales.length !== 5) throw new RangeError(`HumanHandMapper: digitScales must have 5 entries (thumb first), got ${scales.length}`);
    for (let i = 0; i < 5; i++) {
      const v = scales[i]!;
      if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`HumanHandMapper: digitScales[${i}] must be a positive number, got ${v}`);
    }
    for (let i = 0; i < 5; i++) this.digitScales[i] = scales[i]!;
    this.fixedDigitScales = true;
  }

  /** Operator's digit lengths of one hand (sum of bones from base to tip), m, into `out` (5). */
  static digitLengths(joints: ArrayLike<number>, out: Float64Array): Float64Array {
    for (let f = 0; f < 5; f++) {
      const d = DIGIT_JOINTS[f]!;
      out[f] = dist(joints, d[0], d[1]) + dist(joints, d[1], d[2]) + dist(joints, d[2], d[3]);
    }
    return out;
  }

  /** Sets the operator's hand scale explicitly (calibration). */
  setScale(scale: number): void {
    if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`HumanHandMapper: scale must be a positive number, got ${scale}`);
    this.scale = scale;
  }

  /**
   * Checks a hand before use: every number finite, every finger bone 4–120 mm, the hand's
   * reference length 0.10–0.32 m and, once calibrated, within `sizeTolerance` of the operator's.
   */
  check(joints: ArrayLike<number>): HandCheck {
    const n = XR_JOINT_COUNT * XR_JOINT_STRIDE;
    if (joints.length < n) return 'not_finite';
    for (let i = 0; i < n; i++) if (!Number.isFinite(joints[i]!)) return 'not_finite';
    for (let k = 0; k < FINGER_BONE_A.length; k++) {
      const d = dist(joints, FINGER_BONE_A[k]!, FINGER_BONE_B[k]!);
      if (d < BONE_MIN_M || d > BONE_MAX_M) return 'implausible_bones';
    }
    const ref = humanReferenceLengthM(joints);
    if (ref < REFERENCE_MIN_M || ref > REFERENCE_MAX_M) return 'implausible_size';
    if (Number.isFinite(this.referenceLengthM) && Math.abs(ref / this.referenceLengthM - 1) > this.o.sizeTolerance) return 'implausible_size';
    return 'ok';
  }

  /**
   * Maps a checked hand: writes the human hand frame's pose in the input reference space into
   * `handPose` (12 numbers) and the robot-hand targets into `targets`. Calibrates the scale on
   * the first call when it is 'auto'.
   */
  map(joints: ArrayLike<number>, targets: HandTargets, handPose: Float64Array, rawJoints: ArrayLike<number> = joints): void {
    if (!Number.isFinite(this.referenceLengthM)) {
      this.referenceLengthM = humanReferenceLengthM(joints);
      if (Number.isNaN(this.scale)) this.scale = this.robotReferenceM / this.referenceLengthM;
    }
    const s = this.scale;
    const wx = pos(joints, XR.wrist, 0), wy = pos(joints, XR.wrist, 1), wz = pos(joints, XR.wrist, 2);
    // x: along the knuckle line, toward the thumb (right) or the little finger (left).
    const from = this.side === 'right' ? XR.littleProximal : XR.indexProximal;
    const to = this.side === 'right' ? XR.indexProximal : XR.littleProximal;
    let xx = pos(joints, to, 0) - pos(joints, from, 0), xy = pos(joints, to, 1) - pos(joints, from, 1), xz = pos(joints, to, 2) - pos(joints, from, 2);
    let n = norm3(xx, xy, xz);
    xx /= n; xy /= n; xz /= n;
    // z: wrist → middle knuckle, made orthogonal to the knuckle line.
    let zx = pos(joints, XR.middleProximal, 0) - wx, zy = pos(joints, XR.middleProximal, 1) - wy, zz = pos(joints, XR.middleProximal, 2) - wz;
    const d = xx * zx + xy * zy + xz * zz;
    zx -= d * xx; zy -= d * xy; zz -= d * xz;
    n = norm3(zx, zy, zz);
    zx /= n; zy /= n; zz /= n;
    const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
    // The pose of the robot-equivalent hand frame: the human-style frame turned by the alignment
    // (world = R_h·local_h = R_h·Aᵀ·local_robot), so 'offset' mode and the clutch see the frame the
    // targets are written in.
    const A = this.align;
    for (let r = 0; r < 3; r++) {
      const a0 = r === 0 ? xx : r === 1 ? xy : xz, a1 = r === 0 ? yx : r === 1 ? yy : yz, a2 = r === 0 ? zx : r === 1 ? zy : zz;
      for (let c = 0; c < 3; c++) handPose[r * 3 + c] = a0 * A[c * 3]! + a1 * A[c * 3 + 1]! + a2 * A[c * 3 + 2]!;
    }
    handPose[9] = wx; handPose[10] = wy; handPose[11] = wz;

    // Digit lengths: averaged over the first frames unless fixed by a calibration.
    if (!this.fixedDigitScales && this.digitFrames < DIGIT_CALIBRATION_FRAMES) {
      const k = this.digitFrames++;
      for (let f = 0; f < 5; f++) {
        const d = DIGIT_JOINTS[f]!;
        const len = dist(joints, d[0], d[1]) + dist(joints, d[1], d[2]) + dist(joints, d[2], d[3]);
        this.digitLengthsM[f] = (this.digitLengthsM[f]! * k + len) / (k + 1);
        this.digitScales[f] = this.robotDigitM[f]! / this.digitLengthsM[f]!;
      }
    }
    const local = this.local, m = this.mapped, K = this.knuckles;
    // Each joint in the human hand frame, turned by the alignment into the robot's: the knuckle
    // lines of both hands correspond.
    for (let j = 0; j < 25; j++) {
      const px = pos(joints, j, 0) - wx, py = pos(joints, j, 1) - wy, pz = pos(joints, j, 2) - wz;
      const hx = px * xx + py * xy + pz * xz, hy = px * yx + py * yy + pz * yz, hz = px * zx + py * zy + pz * zz;
      local[j * 3] = A[0]! * hx + A[1]! * hy + A[2]! * hz;
      local[j * 3 + 1] = A[3]! * hx + A[4]! * hy + A[5]! * hz;
      local[j * 3 + 2] = A[6]! * hx + A[7]! * hy + A[8]! * hz;
    }
    // The thumb and the metacarpals: scaled from the wrist, then moved so that the middle
    // knuckles of both hands coincide (the human's sits on the wrist's axis, the robot's 11.5 mm
    // toward the thumb): the thumb keeps its place relative to the fingers it pinches.
    const mk = XR.middleProximal * 3;
    const ox = K[6]! - s * local[mk]!, oy = K[7]! - s * local[mk + 1]!, oz = K[8]! - s * local[mk + 2]!;
    for (let j = 0; j < 25; j++) {
      m[j * 3] = s * local[j * 3]! + ox;
      m[j * 3 + 1] = s * local[j * 3 + 1]! + oy;
      m[j * 3 + 2] = s * local[j * 3 + 2]! + oz;
    }
    m[0] = 0; m[1] = 0; m[2] = 0;
    // Long fingers: from the robot's own knuckle, with the digit's own length ratio.
    for (let f = 1; f < 5; f++) {
      const d = DIGIT_JOINTS[f]!;
      const k0 = d[0] * 3, sf = this.digitScales[f]!;
      for (let q = 1; q < 4; q++) {
        const j = d[q]! * 3;
        m[j] = K[f * 3]! + sf * (local[j]! - local[k0]!);
        m[j + 1] = K[f * 3 + 1]! + sf * (local[j + 1]! - local[k0 + 1]!);
        m[j + 2] = K[f * 3 + 2]! + sf * (local[j + 2]! - local[k0 + 2]!);
      }
      m[k0] = K[f * 3]!; m[k0 + 1] = K[f * 3 + 1]!; m[k0 + 2] = K[f * 3 + 2]!;
    }
    const { pinchThresholdM: g0, pinchBlendM: g1, pinchWeightFar: wFar, pinchWeightNear: wNear, tipWeight, midWeight } = this.o;
    for (let i = 0; i < 5; i++) {
      const t = XR_TIPS[i]! * 3;
      targets.tips[i * 3] = m[t]!; targets.tips[i * 3 + 1] = m[t + 1]!; targets.tips[i * 3 + 2] = m[t + 2]!;
      targets.tipWeights[i] = tipWeight;
      const md = (i === 0 ? XR.thumbProximal : DIGIT_JOINTS[i]![1]) * 3;
      targets.mids[i * 3] = m[md]!; targets.mids[i * 3 + 1] = m[md + 1]!; targets.mids[i * 3 + 2] = m[md + 2]!;
      targets.midWeights[i] = midWeight;
    }
    // Soft abduction: each long finger's splay, the angle about the palm normal (y) of the line
    // through its knuckle that best fits its PIP, DIP and tip seen along the normal (a closed-form
    // principal axis, so a curled finger's splay is still its proximal phalanx's), is mapped into
    // the robot's range by `softAbduction`, and the finger's targets are turned about the normal
    // through the knuckle by the difference: curl and lengths are kept, and the robot is never
    // asked for a splay its abduction joint reaches only at its stop.
    for (let f = 1; f < 5; f++) {
      const d = DIGIT_JOINTS[f]!;
      const kx = K[f * 3]!, kz = K[f * 3 + 2]!;
      let sxx = 0, szz = 0, sxz = 0;
      for (let q = 1; q < 4; q++) {
        const px = m[d[q]! * 3]! - kx, pz = m[d[q]! * 3 + 2]! - kz;
        sxx += px * px; szz += pz * pz; sxz += px * pz;
      }
      const i = f - 1;
      const human = 0.5 * Math.atan2(2 * sxz, szz - sxx);
      const robot = softAbduction(human, this.abductionCentreRad[i]!, this.abductionKneeRad[i]!, this.abductionSpanRad[i]!);
      this.humanSplay[i] = human;
      this.robotSplay[i] = robot;
      const delta = robot - human;
      if (delta === 0) continue;
      const c = Math.cos(delta), sn = Math.sin(delta);
      const tx = targets.tips[f * 3]! - kx, tz = targets.tips[f * 3 + 2]! - kz;
      targets.tips[f * 3] = kx + c * tx + sn * tz;
      targets.tips[f * 3 + 2] = kz + c * tz - sn * tx;
      const mx = targets.mids[f * 3]! - kx, mz = targets.mids[f * 3 + 2]! - kz;
      targets.mids[f * 3] = kx + c * mx + sn * mz;
      targets.mids[f * 3 + 2] = kz + c * mz - sn * mx;
    }
    targets.separationWeight = this.o.separationWeight;
    targets.softLower = this.softLower;
    targets.softUpper = this.softUpper;
    targets.softLimitWeight = this.o.abductionLimitWeight;
    const rThumb = joints[XR_TIPS[0]! * XR_JOINT_STRIDE + 7]!;
    const tp = targets.tips;
    for (let j = 0; j < 4; j++) {
      const f = j + 1;
      const vx = tp[f * 3]! - tp[0]!, vy = tp[f * 3 + 1]! - tp[1]!, vz = tp[f * 3 + 2]! - tp[2]!;
      const dm = norm3(vx, vy, vz);
      const hx = local[XR_TIPS[f]! * 3]! - local[XR_TIPS[0]! * 3]!, hy = local[XR_TIPS[f]! * 3 + 1]! - local[XR_TIPS[0]! * 3 + 1]!, hz = local[XR_TIPS[f]! * 3 + 2]! - local[XR_TIPS[0]! * 3 + 2]!;
      const gap = norm3(hx, hy, hz) - rThumb - joints[XR_TIPS[f]! * XR_JOINT_STRIDE + 7]!;
      this.humanGapsM[j] = gap;
      // Hysteresis: a pinch begins when either the filtered or the unfiltered gap is below the
      // threshold (a fast pinch shows in the unfiltered hand frames before the filter lets it
      // through) and lasts until both exceed the threshold + hysteresis.
      const rawGap = padGap(rawJoints, XR_TIPS[0]!, XR_TIPS[f]!);
      const lo = Math.min(gap, rawGap);
      if (lo < g0) this.pinching[j] = 1;
      else if (lo > g0 + this.o.pinchHysteresisM) this.pinching[j] = 0;
      // α: 0 at a pinch, 1 from the blend distance on, continuous in the gap whether a pinch
      // begins or ends: it rises linearly from the threshold; while a pinch lasts it is held down
      // further, smoothly to 0 at the threshold, reaching the same value when the pinch ends at
      // the threshold + hysteresis. (Weights that switched at a pinch's start and end, 1 ↔ 0.1 on
      // the two tips and 10 → 8.7 on the pinch, made the robot's fingers jerk: on synthetic hands
      // two thirds of the finger-curl jitter came from 1 % of the frames, at pinches.)
      const ramp = Math.min(1, Math.max(0, (gap - g0) / (g1 - g0)));
      // While pinching, the gap is the smaller of the filtered and the unfiltered one, as for the
      // pinch's start: a fast pinch closes the robot's pads before the filter lets it through.
      // `near` falls from 1 to 0 as that gap closes from threshold + hysteresis to the threshold,
      // smoothly (3u² − 2u³: no kink at either end; written out, as a call here would box it).
      const u = Math.min(1, Math.max(0, (lo - g0) / this.o.pinchHysteresisM));
      const near = u * u * (3 - 2 * u);
      const alpha = this.pinching[j] === 1 ? Math.min(1, Math.max(0, (lo - g0) / (g1 - g0))) * near : ramp;
      // Near a pinch the robot's pads close in proportion to the human gap beyond the threshold,
      // so a human pinch asks for touching robot pads; far apart, the mapped tips' own vector.
      const touching = this.robotTipRadii[0]! + this.robotTipRadii[f]!;
      const len = (1 - alpha) * (touching + s * Math.max(0, gap - g0)) + alpha * dm;
      // Direction: the mapped tips' vector, or the human one when the mapped tips coincide.
      const useHuman = dm < 1e-6;
      const dx = useHuman ? hx : vx, dy = useHuman ? hy : vy, dz = useHuman ? hz : vz;
      const dn = norm3(dx, dy, dz);
      const k = dn > 1e-9 ? len / dn : 0;
      targets.pinchVectors[j * 3] = k * dx;
      targets.pinchVectors[j * 3 + 1] = k * dy;
      targets.pinchVectors[j * 3 + 2] = k * dz;
      targets.pinchWeights[j] = wFar + (1 - alpha) * (wNear - wFar);
      // At a pinch the pinch wins over where the two tips would be on their own: their weights go
      // down to the tip weight factor as the smaller gap closes from the threshold + hysteresis
      // to the threshold, pinching or not (the thumb's to its closest pinch's).
      const tipW = tipWeight * (this.o.pinchTipWeightFactor + (1 - this.o.pinchTipWeightFactor) * near);
      if (tipW < targets.tipWeights[0]!) targets.tipWeights[0] = tipW;
      if (tipW < targets.tipWeights[f]!) targets.tipWeights[f] = tipW;
    }
  }
}
