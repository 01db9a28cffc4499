/** The coded failure of the dataset export, in its own module so that the video encoder can throw it too. */

export type ExportErrorCode =
  | 'EXPORT_NO_RECORDINGS'
  | 'EXPORT_MISSING_CHANNEL'
  | 'EXPORT_OUT_NOT_EMPTY'
  | 'EXPORT_BAD_FPS'
  | 'EXPORT_BAD_MESSAGE'
  | 'EXPORT_CAMERA_MISMATCH'
  | 'EXPORT_BAD_VIDEO_CODEC'
  | 'EXPORT_FFMPEG_MISSING'
  | 'EXPORT_VIDEO_CODEC_MISSING'
  | 'EXPORT_VIDEO_FAILED';

/** An expected failure of `exportLeRobot`; nothing is left written when it is thrown. */
export class ExportError extends Error {
  override readonly name = 'ExportError';
  readonly code: ExportErrorCode;
  constructor(code: ExportErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
