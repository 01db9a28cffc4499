/**
 * Session recording as MCAP: the platform-free recorder core (`Recorder`, `ChunkedMcapWriter`,
 * the channel schemas, the ROS 1 encoder) and its Node parts (`FileSink`, recovery, reading back).
 * Layout and policies: `docs/recording.md`.
 */
export { type ChunkCompressor, ChunkedMcapWriter, type ChunkedMcapWriterOptions, DEFAULT_CHUNK_SIZE_BYTES } from './ChunkedMcapWriter.js';
export { createRecordingFile, FileSink, newRecordingPath, recordingBaseName } from './FileSink.js';
export { FileReadable } from './FileReadable.js';
export {
  decodeActionMessage,
  decodeHandFrameMessage,
  handFramesFromRecording,
  type RecordedAttachment,
  type RecordedCalibration,
  type RecordedChannel,
  type RecordedMessage,
  type Recording,
  type RecordingInfo,
  readRecording,
  readRecordingInfo,
  retargetInputFromRecording,
} from './readRecording.js';
export {
  msToNs,
  Recorder,
  type RecorderOptions,
  type RecorderStats,
  type RecordingEventName,
  type RecordingOutcome,
} from './Recorder.js';
export { RecordingError, type RecordingErrorCode } from './RecordingError.js';
export { MemorySink, type RecordingSink } from './RecordingSink.js';
export { RECOVERY_METADATA_NAME, recoverMcap, recoveredPath, type RecoveryReport } from './recover.js';
export { DEFAULT_ZSTD_LEVEL, loadZstdCompressor, ZSTD_DECOMPRESS_HANDLERS } from './zstd.js';
export { encodeRos1String, JOINT_STATE_ROS1MSG, JointStateEncoder, STRING_ROS1MSG } from './ros1.js';
export { base64 } from './base64.js';
export {
  cameraChannel,
  cameraTopic,
  CHANNELS,
  type ChannelSpec,
  ROBOT_DESCRIPTION_METADATA_NAME,
  type RecordingTopicKey,
  SESSION_METADATA_NAME,
  TOPICS,
  URDF_ATTACHMENT_NAME,
  URDF_MEDIA_TYPE,
} from './schemas.js';
export { readSidecar } from './sidecar.js';
