/**
 * @dexbridge/retarget: kinematics, hand retargeting, arm IK, filters, calibration, and the 88-dim
 * action schema. Pure TypeScript: no DOM, no Node built-ins, no three.js.
 */
export * from './actionSchema.js';
export * from './chunk.js';
export * from './filters/index.js';
export * from './formats/index.js';
export * from './handFrame.js';
export * from './robotNames.js';
export { type Rig, type RigSideModel, createRig } from './rig.js';
export { KinematicsError, KinematicTree, type KinematicTreeOptions } from './kinematics/KinematicTree.js';
export { ArmIk, COLD_MAX_ITERATIONS, COLD_MAX_RESTARTS, type IkResult, type IkSolveOptions, type IkStatus } from './arm/ArmIk.js';
export { ArmMapping, type ArmMappingMode, type ArmMappingOptions, CANONICAL_OPERATOR_HAND, offsetFor, XR_TO_RIG } from './arm/ArmMapping.js';
export { createHandTargets, type HandSolveOptions, type HandSolveResult, type HandSolverGeometry, type HandSolveStatus, HandSolver, type HandTargets } from './hand/HandSolver.js';
export { alignmentOf, type HandCheck, HumanHandMapper, type HumanHandMapperOptions, humanReferenceLengthM, softAbduction } from './hand/HumanHandMapper.js';
export {
  ACTIVE_DIM, ARM_CONVERGED_POSITION_M, ARM_CONVERGED_ROTATION_RAD, ARM_STEP_FACTOR, type ArmCommandStatus, armHome, FR3_HOME_RIGHT, type HandSolveObserver, type RetargeterOptions, type RetargeterSideOptions, type RetargetOutput, Retargeter, type SideHold, type SideStatus, STATE_DIM,
} from './pipeline/Retargeter.js';
export * as pose from './math/pose.js';
export { activeArmOffset, activeHandOffset, StateAssembler } from './pipeline/assemble.js';
export { quatOfRotationVector, rotationVectorOfQuat, slerpRotationVector } from './math/rotation.js';
export {
  AT_LIMIT_RAD, type ArmSample, BRANCH_JUMP_SPEED_FACTOR, FidelityMeter, type FidelityMeterOptions, fingerCurlDeg, HUMAN_PINCH_M, OVERLAP_DEPTH_M, PINCH_EVENT_WINDOW_MS, ROBOT_PINCH_M,
} from './metrics/FidelityMeter.js';
export * as statistics from './metrics/statistics.js';
export { placeHand, type SyntheticHandOptions, syntheticHumanHand } from './metrics/syntheticHand.js';
export { handCapsuleInterpenetrationM } from './metrics/handCollision.js';
export { armOracle, type ArmOracleOptions, type ArmOracleResult } from './metrics/armOracle.js';
export { type VelocityLimitedPath, velocityLimitedPath } from './metrics/handOracle.js';
export { calibrateHand, type HandCalibration } from './hand/calibrateHand.js';
