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
  /** Whether the file is a complete MCAP (false: being recorded, or cut short and needing `dexbridge recover`). */
  readonly complete: boolean;
  /**
   * Whether the server is writing this file now. Its download holds every record written so far
   * and no summary: read it front to back (as `dexbridge recover` does). Its `startedAt`,
   * `operator` and `task` are the running recording's; `durationS` is the time since it started.
   */
  readonly recording: boolean;
}
