/**
 * The control layer between sources of desired joints (teleop, policy, replay) and the robot:
 * the authority table, the lease, the control loop, the safety gate, policy chunk execution, the
 * teleop chunk stream and operator clocks. See docs/safety.md and docs/protocol.md.
 */
export { ACTION_INDEX_OF_ACTIVE, activeFromAction } from './activeFromAction.js';
export { ACTIVE_JOINT_NAMES, ACTIVE_LAYOUT, type ActiveGroup, type ActiveGroupKey, type ActiveLimits, activeHome, activeLimits } from './activeJoints.js';
export {
  AUTHORITY, AUTHORITY_MESSAGES, AUTHORITY_ROLES, type AuthorityContext, type AuthorityDenial, type AuthorityMessage, type AuthorityRole, type AuthorityRule,
  authorityRef, authorityTableMarkdown, authorize, type LeaseRule,
} from './authority.js';
export { type CalibrationRequest, HAND_SCALE_RANGE, TRANSLATION_SCALE_RANGE, validateCalibration } from './calibration.js';
export {
  type ChunkExecutorOptions, type ChunkRefusalCode, type ChunkStats, type ChunkSubmitResult, ChunkExecutor, DEFAULT_CHUNK_MAX_AGE_MS,
  DEFAULT_CHUNK_MAX_LEAD_MS, DEFAULT_CHUNK_QUEUE, DEFAULT_ENSEMBLE_DECAY,
} from './ChunkExecutor.js';
export {
  type ChunkSource, ControlLoop, type ControlLoopOptions, DEFAULT_FOLLOWING_ERROR_MS, DEFAULT_FOLLOWING_ERROR_RAD, DEFAULT_HAND_FOLLOWING_ERROR_RAD, DEFAULT_MEASURED_MAX_AGE_MS,
  type EngageResult, type FrameSource, type LoopEvent, type LoopState, MODES, type Mode,
} from './ControlLoop.js';
export { JointLimiter } from './JointLimiter.js';
export {
  DEFAULT_FLANGE_WORKSPACE, DEFAULT_MAX_STEP_S, DEFAULT_RAMP_DURATION_MS, FR3_MAX_ACCELERATION_RAD_S2, FR3_MAX_JERK_RAD_S3, Safety, type SafetyOptions,
  type SafetyReport, type WorkspaceBox,
} from './Safety.js';
export { type TeleopChunkListener, TeleopChunker, type TeleopChunkerOptions } from './TeleopChunker.js';
