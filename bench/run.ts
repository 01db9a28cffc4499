/**
 * `npm run bench`: runs the benchmarks one after another (the machine has 2 cores; never in
 * parallel), prints the figures and merges them into bench/results.json.
 * `npm run bench -- retarget` runs one group. Groups that are not `default` (the minute-long load
 * test, the 1-hour `export`, the 10-minute `soak`) run only when named: `npm run bench:load` =
 * `npm run bench -- load`, `npm run bench:soak` = `npm run bench -- soak`, `npm run bench -- export`,
 * `npm run bench -- export-video`.
 */
import { runCameraBenchmarks } from './camera.bench.js';
import { runClientBenchmarks } from './client.bench.js';
import { runE2eBenchmarks } from './e2e.bench.js';
import { runExportBenchmarks, runExportVideoBenchmarks } from './export.bench.js';
import { runLoadBenchmarks } from './load.bench.js';
import { runRecordingBenchmarks } from './recording.bench.js';
import { runRetargetBenchmarks } from './retarget.bench.js';
import { runSoakBenchmarks } from './soak.bench.js';
import { RESULTS_PATH, writeResults } from './results.js';

interface Group {
  readonly run: () => Record<string, number> | Promise<Record<string, number>>;
  /** Runs when no group is named. */
  readonly default: boolean;
}

const groups: Record<string, Group> = {
  retarget: { run: runRetargetBenchmarks, default: true },
  e2e: { run: runE2eBenchmarks, default: true },
  // Chromium must be installed (apt-get install -y chromium).
  client: { run: runClientBenchmarks, default: true },
  recording: { run: runRecordingBenchmarks, default: true },
  // Three ffmpeg cameras and 20 viewers, with and without cameras (~45 s; ffmpeg must be installed).
  camera: { run: runCameraBenchmarks, default: true },
  load: { run: runLoadBenchmarks, default: false },
  // The unauthenticated attacks for 10 minutes (SOAK_SECONDS to change): `npm run bench:soak`.
  soak: { run: runSoakBenchmarks, default: false },
  // Synthesises and exports a 1-hour recording: minutes, so only when named.
  export: { run: () => runExportBenchmarks(), default: false },
  // 60 s of one 640×480 camera exported as AV1 and H.264, extrapolated to an hour (~40 s; ffmpeg must be installed).
  'export-video': { run: () => runExportVideoBenchmarks(), default: true },
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in groups)) {
    console.error(`bench: unknown group "${name}"; groups: ${Object.keys(groups).join(', ')}`);
    process.exit(2);
  }
}
const figures: Record<string, number> = {};
for (const [name, group] of Object.entries(groups)) {
  if (wanted.length > 0 ? !wanted.includes(name) : !group.default) continue;
  console.log(`${name}:`);
  Object.assign(figures, await group.run());
}
writeResults(figures);
console.log(`figures written to ${RESULTS_PATH.pathname}`);
