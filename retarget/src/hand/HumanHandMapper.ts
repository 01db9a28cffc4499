import { XR, XR_BONES, XR_JOINT_COUNT, XR_JOINT_STRIDE, XR_TIPS } from '../handFrame.js';
import type { RigSideModel } from '../rig.js';
import type { Side } from '../robotNames.js';
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
}

/** Finger bones checked for plausibility: metacarpal to tip (the wrist's own bones vary most in Quest data). */
const FINGER_BONES = XR_BONES.filter(([parent]) => parent !== XR.wrist);
const BONE_MIN_M = 0.004;
const BONE_MAX_M = 0.12;
const REFERENCE_MIN_M = 0.1;
const REFERENCE_MAX_M = 0.32;

const pos = (j: ArrayLike<number>, i: number, k: number): number => j[i * XR_JOINT_STRIDE + k]!;
function dist(j: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(pos(j, a, 0) - pos(j, b, 0), pos(j, a, 1) - pos(j, b, 1), pos(j, a, 2) - pos(j, b, 2));
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
  private readonly local = new Float64Array(15);

  constructor(rig: RigSideModel, options: HumanHandMapperOptions = {}) {
    const o: Required<HumanHandMapperOptions> = {
      scale: 'auto', pinchThresholdM: 0.005, pinchBlendM: 0.035, tipWeight: 1, pinchWeightFar: 0.5, pinchWeightNear: 10, sizeTolerance: 0.3,
      ...options,
    };
    if (o.scale !== 'auto' && !(o.scale > 0 && Number.isFinite(o.scale))) throw new RangeError(`HumanHandMapper: scale must be a positive number or 'auto', got ${o.scale}`);
    for (const k of ['pinchThresholdM', 'pinchBlendM', 'tipWeight', 'pinchWeightFar', 'pinchWeightNear', 'sizeTolerance'] as const) {
      if (!(o[k] >= 0 && Number.isFinite(o[k]))) throw new RangeError(`HumanHandMapper: ${k} must be a finite number ≥ 0, got ${o[k]}`);
    }
    if (!(o.pinchBlendM > o.pinchThresholdM)) throw new RangeError(`HumanHandMapper: pinchBlendM (${o.pinchBlendM}) must exceed pinchThresholdM (${o.pinchThresholdM})`);
    this.o = o;
    this.side = rig.side;
    this.robotTipRadii = rig.tipRadii;
    this.robotReferenceM = rig.handReferenceLengthM;
    this.scale = o.scale === 'auto' ? Number.NaN : o.scale;
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
    for (const [a, b] of FINGER_BONES) {
      const d = dist(joints, a, b);
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
  map(joints: ArrayLike<number>, targets: HandTargets, handPose: Float64Array): void {
    if (!Number.isFinite(this.referenceLengthM)) {
      this.referenceLengthM = humanReferenceLengthM(joints);
      if (Number.isNaN(this.scale)) this.scale = this.robotReferenceM / this.referenceLengthM;
    }
    const s = this.scale;
    const wx = pos(joints, XR.wrist, 0), wy = pos(joints, XR.wrist, 1), wz = pos(joints, XR.wrist, 2);
    // z: wrist → middle knuckle.
    let zx = pos(joints, XR.middleProximal, 0) - wx, zy = pos(joints, XR.middleProximal, 1) - wy, zz = pos(joints, XR.middleProximal, 2) - wz;
    let n = Math.hypot(zx, zy, zz);
    zx /= n; zy /= n; zz /= n;
    // x: across the knuckles, toward the thumb (right) or the little finger (left).
    const from = this.side === 'right' ? XR.littleProximal : XR.indexProximal;
    const to = this.side === 'right' ? XR.indexProximal : XR.littleProximal;
    let xx = pos(joints, to, 0) - pos(joints, from, 0), xy = pos(joints, to, 1) - pos(joints, from, 1), xz = pos(joints, to, 2) - pos(joints, from, 2);
    const d = xx * zx + xy * zy + xz * zz;
    xx -= d * zx; xy -= d * zy; xz -= d * zz;
    n = Math.hypot(xx, xy, xz);
    xx /= n; xy /= n; xz /= n;
    const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
    handPose[0] = xx; handPose[1] = yx; handPose[2] = zx;
    handPose[3] = xy; handPose[4] = yy; handPose[5] = zy;
    handPose[6] = xz; handPose[7] = yz; handPose[8] = zz;
    handPose[9] = wx; handPose[10] = wy; handPose[11] = wz;

    const local = this.local;
    for (let i = 0; i < 5; i++) {
      const t = XR_TIPS[i]!;
      const px = pos(joints, t, 0) - wx, py = pos(joints, t, 1) - wy, pz = pos(joints, t, 2) - wz;
      local[i * 3] = px * xx + py * xy + pz * xz;
      local[i * 3 + 1] = px * yx + py * yy + pz * yz;
      local[i * 3 + 2] = px * zx + py * zy + pz * zz;
      targets.tips[i * 3] = s * local[i * 3]!;
      targets.tips[i * 3 + 1] = s * local[i * 3 + 1]!;
      targets.tips[i * 3 + 2] = s * local[i * 3 + 2]!;
      targets.tipWeights[i] = this.o.tipWeight;
    }
    const { pinchThresholdM: g0, pinchBlendM: g1, pinchWeightFar: wFar, pinchWeightNear: wNear } = this.o;
    const rThumb = joints[XR_TIPS[0]! * XR_JOINT_STRIDE + 7]!;
    for (let j = 0; j < 4; j++) {
      const f = j + 1;
      const vx = local[f * 3]! - local[0]!, vy = local[f * 3 + 1]! - local[1]!, vz = local[f * 3 + 2]! - local[2]!;
      const dh = Math.hypot(vx, vy, vz);
      const gap = dh - rThumb - joints[XR_TIPS[f]! * XR_JOINT_STRIDE + 7]!;
      this.humanGapsM[j] = gap;
      // α = 0 at and below the pinch threshold, 1 from the blend distance on.
      const alpha = Math.min(1, Math.max(0, (gap - g0) / (g1 - g0)));
      // Near a pinch the robot's pads close in proportion to the human gap beyond the threshold,
      // so a human pinch (gap < threshold) asks for touching robot pads; far apart, the plain
      // scaled vector.
      const touching = this.robotTipRadii[0]! + this.robotTipRadii[f]!;
      const len = (1 - alpha) * (touching + s * Math.max(0, gap - g0)) + alpha * s * dh;
      const k = dh > 1e-9 ? len / dh : 0;
      targets.pinchVectors[j * 3] = k * vx;
      targets.pinchVectors[j * 3 + 1] = k * vy;
      targets.pinchVectors[j * 3 + 2] = k * vz;
      targets.pinchWeights[j] = wFar + (1 - alpha) * (wNear - wFar);
    }
  }
}
