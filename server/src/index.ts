/**
 * @dexbridge/server: the bridge process. Programmatic use mirrors `dexbridge serve`:
 * `startDexbridge(options)` starts everything and returns handles and `close()`.
 * The wire protocol is the separate, platform-free subpath `@dexbridge/server/protocol`.
 */
export { main } from './cli/main.js';
export { type DexbridgeOptions, type RunningDexbridge, startDexbridge } from './bridge/startDexbridge.js';
export { ControlLoop, type ControlLoopOptions, type LoopEvent, type LoopState, type Mode } from './bridge/ControlLoop.js';
export { BridgeServer, type BridgeServerOptions, type Role } from './bridge/BridgeServer.js';
export { FileSink, handFramesFromRecording, loadZstdCompressor, MemorySink, Recorder, readRecording, recoverMcap, ZSTD_DECOMPRESS_HANDLERS } from './recording/index.js';
export { ExportError, type ExportedVideo, type ExportPhase, exportLeRobot, type LeRobotExportOptions, type LeRobotExportResult, type VideoCodec } from './export/lerobot.js';
export { RosBridge } from './ros/index.js';
export { type CameraConfig, CameraHub, FfmpegCamera, type FfmpegCameraOptions, MjpegSplitter, parseCameraConfigs } from './cameras/index.js';
