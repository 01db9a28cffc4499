/**
 * What every camera source delivers and reports. Sources (ffmpeg child process, ROS topic through
 * rosbridge) differ only in how the bytes arrive; the hub, the live fan-out and the recorder see
 * {@link CameraFrame}s and {@link CameraSourceStatus}es. Layout and costs: docs/cameras.md.
 */
import type { CameraCodec, CameraStatus } from '../protocol/index.js';

/** One compressed image, stamped on the server clock. */
export interface CameraFrame {
  readonly cameraId: string;
  /** Per camera, 0, 1, 2, … in the order the server received the frames. */
  readonly seq: number;
  /** Capture time on the server clock (ms, `ControlLoop.now()`): see docs/cameras.md for how each source gets it. */
  readonly captureTimeMs: number;
  /** When the server had the whole frame, on the same clock (ms). */
  readonly receivedTimeMs: number;
  readonly codec: CameraCodec;
  readonly keyFrame: boolean;
  /** Pixels; 0 when unknown. */
  readonly width: number;
  readonly height: number;
  /** The compressed image; never modified after delivery (listeners may keep it). */
  readonly data: Uint8Array;
  /** The camera's tier this frame is from (docs/cameras.md, "Tiers"); absent: the camera's own stream. */
  readonly tier?: string;
}

/** Codes of camera problems (docs/errors.md, "Cameras"). */
export type CameraErrorCode =
  | 'CAMERA_CONFIG_INVALID'
  | 'CAMERA_FFMPEG_MISSING'
  | 'CAMERA_SOURCE_FAILED'
  | 'CAMERA_STALLED'
  | 'CAMERA_BAD_FRAME';

/** A camera configuration that is not valid; the message names the field and the value. */
export class CameraConfigError extends Error {
  readonly code = 'CAMERA_CONFIG_INVALID';
}

/** What `status.cameras` says about one camera (the wire type). */
export type CameraSourceStatus = CameraStatus;

/** One source of frames. Never throws into its caller once constructed; problems go into {@link status}. */
export interface CameraSource {
  readonly id: string;
  readonly kind: 'ffmpeg' | 'ros';
  readonly codec: CameraCodec;
  /** Starts delivering frames to `onFrame` (called synchronously, never inside `start`). */
  start(onFrame: (frame: CameraFrame) => void): void;
  /** The source's state now (`nowMs` on the server clock decides `stalled`). */
  status(nowMs: number): CameraSourceStatus;
  /** Stops for good: child processes are killed, timers cleared. */
  close(): Promise<void>;
}
