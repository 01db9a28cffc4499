/**
 * The child process of one HTTP export job (`ExportJobs`, docs/dataset.md): runs `exportLeRobot`
 * away from the server's event loop, whose Parquet encoding would otherwise stall the control
 * loop, watchdog and state stream for seconds. Forked with an IPC channel; it says `ready`, takes
 * one `start`, reports `progress`, then `done` or `error`, and exits. Not a public entry point.
 */
import type { ExportPhase, LeRobotExportResult, VideoCodec } from '../export/lerobot.js';

/** Parent → worker. */
export interface ExportWorkerStart {
  readonly type: 'start';
  readonly recordings: readonly string[];
  readonly outDir: string;
  readonly fps: number;
  readonly all: boolean;
  readonly videoCodec: VideoCodec;
  readonly ffmpegPath?: string;
}

/** Worker → parent. */
export type ExportWorkerMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'progress'; readonly progress: number; readonly phase: ExportPhase }
  | { readonly type: 'done'; readonly result: LeRobotExportResult; readonly maxRssKb: number }
  | { readonly type: 'error'; readonly error: { readonly code: string; readonly message: string } };

const send = (m: ExportWorkerMessage): Promise<void> =>
  new Promise((done) => {
    if (!process.connected) return done();
    process.send?.(m, undefined, {}, () => done());
  });

async function run(job: ExportWorkerStart): Promise<void> {
  // Imported here, after `ready`: the parent learns the pid before the export's modules load.
  const { ExportError, exportLeRobot } = await import('../export/lerobot.js');
  try {
    const result = await exportLeRobot({
      recordings: job.recordings, outDir: job.outDir, fps: job.fps, all: job.all, videoCodec: job.videoCodec,
      ...(job.ffmpegPath !== undefined ? { ffmpegPath: job.ffmpegPath } : {}),
      onProgress: (progress, phase) => void send({ type: 'progress', progress, phase }),
    });
    await send({ type: 'done', result, maxRssKb: process.resourceUsage().maxRSS });
  } catch (err) {
    const code = err instanceof ExportError ? err.code : typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'EXPORT_FAILED';
    await send({ type: 'error', error: { code, message: (err as Error)?.message ?? String(err) } });
  }
  process.exit(0);
}

if (process.send === undefined) {
  process.stderr.write('dexbridge: exportWorker runs only as a child process of the server\n');
  process.exit(2);
}
// The server went away (closed, crashed): no one wants the dataset any more.
process.on('disconnect', () => process.exit(3));
process.once('message', (m: ExportWorkerStart) => {
  if (m?.type !== 'start') process.exit(2);
  void run(m);
});
void send({ type: 'ready', pid: process.pid });
