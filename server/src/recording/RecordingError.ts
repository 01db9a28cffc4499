/** Machine-readable reason of a {@link RecordingError}. See `docs/recording.md` and `docs/errors.md`. */
export type RecordingErrorCode =
  /** The sink rejected a write, flush or close (disk full, I/O error, closed handle…). The recording stops. */
  | 'RECORDING_SINK_FAILED'
  /** More than `maxQueuedBytes` waited for the sink (a stalled disk). The recording stops. */
  | 'RECORDING_SINK_STALLED'
  /** A write call had bad arguments (wrong length, non-finite time, unserialisable detail); that message is dropped. */
  | 'RECORDING_BAD_INPUT'
  /** The recording file already exists; recordings are never overwritten. */
  | 'RECORDING_FILE_EXISTS'
  /** The recording file could not be created or opened (missing folder, permissions, …). */
  | 'RECORDING_OPEN_FAILED'
  /** The file does not start with the MCAP magic bytes (empty, or not an MCAP file). */
  | 'RECORDING_NOT_MCAP'
  /** The MCAP file has no valid footer and summary (it was cut short): recover it first. */
  | 'RECORDING_NOT_INDEXED'
  /** The recording lacks a channel that the reader needs (e.g. `/dexbridge/hand_frames`). */
  | 'RECORDING_MISSING_CHANNEL'
  /** A stored message does not decode according to its channel's schema. */
  | 'RECORDING_BAD_MESSAGE';

/**
 * An expected failure of recording, recovery or reading back. Messages start with `recording:`
 * and name the file, topic or value involved; `cause` keeps the underlying error, if any.
 */
export class RecordingError extends Error {
  override readonly name = 'RecordingError';
  readonly code: RecordingErrorCode;

  constructor(code: RecordingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The message of any thrown value, for wrapping it into a {@link RecordingError}. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
