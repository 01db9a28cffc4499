/** Robot cameras: sources (ffmpeg, ROS), the hub that fans their frames out, and their configuration. See docs/cameras.md. */
export { CameraHub, type CameraHubOptions } from './CameraHub.js';
export { type CameraConfig, demoCamera, FFMPEG_CAMERA_CODECS, type FfmpegCameraCodec, demoCameras, type FfmpegCameraConfig, parseCameraConfigs, parseCameraSpec, type RosCameraConfig } from './cameraConfig.js';
export { FfmpegCamera, type FfmpegCameraOptions, ffmpegArgs } from './FfmpegCamera.js';
export { FlvH264Splitter, FlvStreamError, type H264AccessUnit } from './FlvH264Splitter.js';
export { type JpegImage, MjpegSplitter } from './MjpegSplitter.js';
export { RAW_ENCODINGS, type RawEncoding, RawImageEncoder } from './RawImageEncoder.js';
export { RosCamera, type RosCameraOptions } from './RosCamera.js';
export { CameraConfigError, type CameraErrorCode, type CameraFrame, type CameraSource, type CameraSourceStatus } from './types.js';
