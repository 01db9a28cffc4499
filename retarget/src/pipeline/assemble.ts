import { ACTION_LAYOUT } from '../actionSchema.js';
import { multiply, POSE_STRIDE, rotationVectorOfMatrix, transformPoint } from '../math/pose.js';
import type { Rig } from '../rig.js';
import { ARM_DOF, FINGERS, HAND_ACTIVE_DOF, HAND_DOF, SIDES, type Side } from '../robotNames.js';

/** Number of joints in the robot state. */
export const STATE_DIM = 2 * ARM_DOF + 2 * HAND_DOF; // 56
/** Number of commanded (active) joints: 2 arms + 2 × 16 hand joints. */
export const ACTIVE_DIM = 2 * ARM_DOF + 2 * HAND_ACTIVE_DOF; // 46

/**
 * Offset of a side's 7 arm joints in the 46-vector of active joints (left arm, right arm, left
 * hand, right hand).
 */
export const activeArmOffset = (side: Side): number => (side === 'right' ? ARM_DOF : 0);
/** Offset of a side's 16 active hand joints in the 46-vector of active joints. */
export const activeHandOffset = (side: Side): number => 2 * ARM_DOF + (side === 'right' ? HAND_ACTIVE_DOF : 0);

const TIP_COUNT = FINGERS.length;

/**
 * Turns the 46 commanded (active) joints into the 56-joint robot state (passive hand joints from
 * their `<mimic>` couplings) and the 88-dim action (flange poses and fingertips by forward
 * kinematics, in the rig's `base_link`).
 *
 * Allocation-free per call after construction. Runs FK on the rig's shared trees, so it
 * overwrites their `poses` (as every FK user of the rig does).
 */
export class StateAssembler {
  readonly rig: Rig;
  /**
   * Per side, the fingertip pad centres of the last {@link assemble} in the hand-base frame,
   * m, 5 × xyz, thumb first. Overwritten by the next call.
   */
  readonly tipsInHand: Readonly<Record<Side, Float64Array>>;
  private readonly armQ = new Float64Array(ARM_DOF);
  private readonly handQ = new Float64Array(HAND_ACTIVE_DOF);
  private readonly pose = new Float64Array(POSE_STRIDE);
  private readonly handPose = new Float64Array(POSE_STRIDE);
  private readonly rotvec = new Float64Array(3);
  private readonly tipRig = new Float64Array(3);

  constructor(rig: Rig) {
    this.rig = rig;
    this.tipsInHand = { left: new Float64Array(TIP_COUNT * 3), right: new Float64Array(TIP_COUNT * 3) };
  }

  /**
   * Writes the state (56 joints, rad, state order) and the action (88 numbers, rad and m) of the
   * active joints `active46` (rad: left arm, right arm, left hand, right hand). The joints are
   * used as given: clamp them first if they may be outside their limits.
   * @param q56Out receives the 56 joint positions.
   * @param action88Out receives the action.
   */
  assemble(active46: ArrayLike<number>, q56Out: Float64Array | Float32Array, action88Out: Float32Array | Float64Array): void {
    const q = q56Out;
    const action = action88Out;
    const L = ACTION_LAYOUT;
    const armQ = this.armQ;
    const handQ = this.handQ;
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[k]!;
      const s = this.rig.sides[side];
      const right = side === 'right';
      const armOffset = activeArmOffset(side);
      const handOffset = activeHandOffset(side);
      for (let i = 0; i < ARM_DOF; i++) armQ[i] = active46[armOffset + i]!;
      for (let i = 0; i < HAND_ACTIVE_DOF; i++) handQ[i] = active46[handOffset + i]!;
      const armState = right ? ARM_DOF : 0;
      const handState = 2 * ARM_DOF + (right ? HAND_DOF : 0);
      for (let i = 0; i < ARM_DOF; i++) q[armState + i] = armQ[i]!;
      s.handTree.jointPositions(handQ, s.handJointMap, q, handState);

      const arm = right ? L.rightArm : L.leftArm;
      const flange = right ? L.rightFlange : L.leftFlange;
      const hand = right ? L.rightHand : L.leftHand;
      const tipsL = right ? L.rightFingertips : L.leftFingertips;
      for (let i = 0; i < ARM_DOF; i++) action[arm.offset + i] = armQ[i]!;
      for (let i = 0; i < HAND_ACTIVE_DOF; i++) action[hand.offset + i] = handQ[i]!;
      // Flange pose in the rig frame.
      const tree = s.armTree;
      const poses = tree.fk(armQ);
      const pose = this.pose;
      multiply(pose, 0, s.armBaseInRig, 0, poses, (tree.linkCount - 1) * POSE_STRIDE);
      action[flange.offset] = pose[9]!;
      action[flange.offset + 1] = pose[10]!;
      action[flange.offset + 2] = pose[11]!;
      rotationVectorOfMatrix(this.rotvec, 0, pose, 0);
      action[flange.offset + 3] = this.rotvec[0]!;
      action[flange.offset + 4] = this.rotvec[1]!;
      action[flange.offset + 5] = this.rotvec[2]!;
      // Fingertips: hand-frame FK, then into the rig frame through the flange and the mount.
      multiply(this.handPose, 0, pose, 0, s.handInFlange, 0);
      const handPoses = s.handTree.fk(handQ);
      const tips = this.tipsInHand[side];
      for (let f = 0; f < TIP_COUNT; f++) {
        const o = s.tipLinks[f]! * POSE_STRIDE;
        tips[f * 3] = handPoses[o + 9]!;
        tips[f * 3 + 1] = handPoses[o + 10]!;
        tips[f * 3 + 2] = handPoses[o + 11]!;
      }
      const p = this.tipRig;
      for (let f = 0; f < TIP_COUNT; f++) {
        transformPoint(p, 0, this.handPose, 0, tips[f * 3]!, tips[f * 3 + 1]!, tips[f * 3 + 2]!);
        action[tipsL.offset + f * 3] = p[0]!;
        action[tipsL.offset + f * 3 + 1] = p[1]!;
        action[tipsL.offset + f * 3 + 2] = p[2]!;
      }
    }
  }
}
