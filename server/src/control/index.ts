/**
 * The control layer between sources of desired joints (teleop, policy, replay) and the robot:
 * the safety gate, policy chunk execution, and the teleop chunk stream. See docs/safety.md.
 */
export { ACTION_INDEX_OF_ACTIVE, activeFromAction } from './activeFromAction.js';
export { ACTIVE_JOINT_NAMES, ACTIVE_LAYOUT, type ActiveGroup, type ActiveGroupKey, type ActiveLimits, activeHome, activeLimits } from './activeJoints.js';
export {
  type ChunkExecutorOptions, type ChunkRefusalCode, type ChunkStats, type ChunkSubmitResult, ChunkExecutor, DEFAULT_CHUNK_MAX_AGE_MS,
  DEFAULT_CHUNK_MAX_LEAD_MS, DEFAULT_CHUNK_QUEUE, DEFAULT_ENSEMBLE_DECAY,
} from './ChunkExecutor.js';
export {
  DEFAULT_FLANGE_WORKSPACE, DEFAULT_MAX_STEP_S, DEFAULT_RAMP_DURATION_MS, FR3_MAX_ACCELERATION_RAD_S2, Safety, type SafetyOptions,
  type SafetyReport, type WorkspaceBox,
} from './Safety.js';
export { type TeleopChunkListener, TeleopChunker, type TeleopChunkerOptions } from './TeleopChunker.js';
