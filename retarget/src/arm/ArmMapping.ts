import { copyPose, invert, multiply } from '../math/pose.js';
import type { RigSideModel } from '../rig.js';

/**
 * WebXR reference space (y up, −z forward, x right) → rig frame (REP 103: x forward, y left,
 * z up): x_rig = −z_xr, y_rig = −x_xr, z_rig = y_xr. The operator faces the rig's +x.
 */
export const XR_TO_RIG = Float64Array.of(0, 0, -1, -1, 0, 0, 0, 1, 0, 0, 0, 0);

export type ArmMappingMode = 'clutch' | 'offset';

export interface ArmMappingOptions {
  /**
   * 'clutch' (default): the robot hand moves by the operator's motion since engaging, starting
   * from where the robot was. 'offset': the robot hand follows the operator's hand pose in the
   * rig frame through a fixed calibration offset.
   */
  readonly mode?: ArmMappingMode;
  /** Scale applied to the operator's wrist translation. Default 1. */
  readonly translationScale?: number;
  /**
   * 'offset' mode: pose (12 numbers, rig frame) applied after the WebXR→rig rotation and scaling:
   * target = offset ∘ (scaled operator hand pose). Default: the offset that puts the
   * {@link CANONICAL_OPERATOR_HAND} pose of this side on `robotHandPose` (the robot hand where
   * the arm starts), so a standing operator holding the canonical pose holds the robot still.
   */
  readonly offset?: Float64Array;
  /**
   * 'offset' mode without an `offset`: the robot hand pose (rig frame, 12 numbers) the canonical
   * operator pose maps to. The `Retargeter` passes the hand pose of the arm's start posture.
   */
  readonly robotHandPose?: Float64Array;
}

/**
 * A standing operator's relaxed working pose, per side, in the rig frame after the WebXR → rig
 * rotation (WebXR 'local-floor': origin on the floor below the headset's start): hand 0.2 m in
 * front and 0.2 m to the side of the headset, 1.1 m above the floor, palm down, fingers forward
 * (hand frame z = +x, back of the hand y = +z, x = +y). Row-major rotation, then translation, m.
 */
export const CANONICAL_OPERATOR_HAND = {
  left: Float64Array.of(0, 0, 1, 1, 0, 0, 0, 1, 0, 0.2, 0.2, 1.1),
  right: Float64Array.of(0, 0, 1, 1, 0, 0, 0, 1, 0, 0.2, -0.2, 1.1),
} as const;

/**
 * The 'offset' calibration that maps an operator hand pose to a robot hand pose:
 * offset = robot ∘ human⁻¹, both in the rig frame (the human pose after the WebXR → rig rotation
 * and translation scaling). Writes 12 numbers into `out`. The calibration procedure in
 * docs/retarget.md records `human` with the operator holding still.
 */
export function offsetFor(robotHandPoseInRig: Float64Array, humanHandPoseInRig: Float64Array, out: Float64Array = new Float64Array(12)): Float64Array {
  const inv = invert(new Float64Array(12), 0, humanHandPoseInRig, 0);
  return multiply(out, 0, robotHandPoseInRig, 0, inv, 0);
}

/**
 * Maps the operator's hand pose to a flange target for one arm. Holds the clutch anchor, the
 * only state it keeps; allocation-free per frame.
 */
export class ArmMapping {
  readonly mode: ArmMappingMode;
  translationScale: number;
  private readonly offset: Float64Array;
  private readonly baseInv = new Float64Array(12);
  private readonly handInFlangeInv = new Float64Array(12);
  private readonly humanAnchor = new Float64Array(12);
  private readonly robotAnchor = new Float64Array(12);
  private readonly h = new Float64Array(12);
  private readonly t = new Float64Array(12);
  private engagedFlag = false;

  constructor(rig: RigSideModel, options: ArmMappingOptions = {}) {
    this.mode = options.mode ?? 'clutch';
    if (this.mode !== 'clutch' && this.mode !== 'offset') throw new RangeError(`ArmMapping: mode must be 'clutch' or 'offset', got ${String(this.mode)}`);
    this.translationScale = options.translationScale ?? 1;
    if (!(this.translationScale > 0 && Number.isFinite(this.translationScale))) throw new RangeError(`ArmMapping: translationScale must be a positive number, got ${this.translationScale}`);
    const canonical = Float64Array.from(CANONICAL_OPERATOR_HAND[rig.side]);
    for (let i = 9; i < 12; i++) canonical[i] = canonical[i]! * this.translationScale;
    const off = options.offset ?? (options.robotHandPose ? offsetFor(options.robotHandPose, canonical) : Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0, -0.2));
    if (off.length !== 12 || !off.every(Number.isFinite)) throw new RangeError('ArmMapping: offset must be 12 finite numbers (row-major rotation, then translation)');
    this.offset = Float64Array.from(off);
    invert(this.baseInv, 0, rig.armBaseInRig, 0);
    invert(this.handInFlangeInv, 0, rig.handInFlange, 0);
  }

  /** Changes the translation scale (calibration). Clutch mode re-anchors at the next engage. */
  setTranslationScale(scale: number): void {
    if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`ArmMapping: translationScale must be a positive number, got ${scale}`);
    this.translationScale = scale;
  }

  get engaged(): boolean {
    return this.engagedFlag;
  }

  /** The operator's hand pose (input space) in the rig frame, translation scaled, into `this.h`. */
  private toRig(human: Float64Array): Float64Array {
    multiply(this.h, 0, XR_TO_RIG, 0, human, 0);
    const s = this.translationScale;
    this.h[9] = this.h[9]! * s; this.h[10] = this.h[10]! * s; this.h[11] = this.h[11]! * s;
    return this.h;
  }

  /**
   * Engages: from now on targets follow the operator. In clutch mode the operator's current hand
   * pose (input space) is anchored to the robot hand's current pose (rig frame).
   */
  engage(humanHandPose: Float64Array, robotHandPoseInRig: Float64Array): void {
    copyPose(this.humanAnchor, 0, this.toRig(humanHandPose), 0);
    copyPose(this.robotAnchor, 0, robotHandPoseInRig, 0);
    this.engagedFlag = true;
  }

  disengage(): void {
    this.engagedFlag = false;
  }

  /**
   * Flange target in the arm base frame (12 numbers into `out`) for the operator's hand pose.
   * Returns false (and leaves `out` alone) when not engaged.
   */
  flangeTarget(humanHandPose: Float64Array, out: Float64Array): boolean {
    if (!this.engagedFlag) return false;
    const h = this.toRig(humanHandPose);
    const t = this.t;
    if (this.mode === 'clutch') {
      // R = (R_h · R_h0ᵀ) · R_r0 ; p = p_r0 + (p_h − p_h0)
      const a = this.humanAnchor, r = this.robotAnchor;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let d = 0;
          for (let k = 0; k < 3; k++) d += h[i * 3 + k]! * a[j * 3 + k]!;
          this.scratchDelta[i * 3 + j] = d;
        }
      }
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let v = 0;
          for (let k = 0; k < 3; k++) v += this.scratchDelta[i * 3 + k]! * r[k * 3 + j]!;
          t[i * 3 + j] = v;
        }
        t[9 + i] = r[9 + i]! + h[9 + i]! - a[9 + i]!;
      }
    } else {
      multiply(t, 0, this.offset, 0, h, 0);
    }
    // Hand-base target → flange target (rig) → arm base frame.
    multiply(t, 0, t, 0, this.handInFlangeInv, 0);
    multiply(out, 0, this.baseInv, 0, t, 0);
    return true;
  }

  private readonly scratchDelta = new Float64Array(9);
}
