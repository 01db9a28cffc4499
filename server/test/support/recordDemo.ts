import { startDexbridge } from '../../src/bridge/startDexbridge.js';

/**
 * Runs the demo recording into `dir` until `states` states went into the open recording (however
 * slow the machine; 60 s at most), then closes the server, which finishes the recording.
 */
export async function recordDemo(dir: string, states: number): Promise<void> {
  const run = await startDexbridge({ port: 0, demo: true, recordingsDir: dir, record: 'session' });
  try {
    let n = 0;
    run.loop.onState(() => {
      if (run.recording?.active() === true) n++;
    });
    const end = Date.now() + 60_000;
    while (n < states) {
      if (Date.now() > end) throw new Error(`only ${n} states recorded in 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await run.close();
  }
}
