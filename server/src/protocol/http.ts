/** Shapes of the HTTP API that browsers read (`/api/recordings`), shared by the server and the client. */

/** One recording as `GET /api/recordings` lists it. */
export interface RecordingInfo {
  readonly name: string;
  readonly sizeBytes: number;
  readonly startedAt: string | null;
  readonly durationS: number | null;
  readonly operator: string | null;
  readonly task: string | null;
  readonly success: boolean | null;
  /** Whether the file is a complete MCAP (false: needs `dexbridge recover`). */
  readonly complete: boolean;
}
