/**
 * `npm run bench`: runs the benchmarks one after another (the machine has 2 cores; never in
 * parallel), prints the figures and merges them into bench/results.json.
 * `npm run bench -- retarget` runs one group.
 */
import { runE2eBenchmarks } from './e2e.bench.js';
import { runRetargetBenchmarks } from './retarget.bench.js';
import { RESULTS_PATH, writeResults } from './results.js';

const groups: Record<string, () => Record<string, number> | Promise<Record<string, number>>> = {
  retarget: runRetargetBenchmarks,
  e2e: runE2eBenchmarks,
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in groups)) {
    console.error(`bench: unknown group "${name}"; groups: ${Object.keys(groups).join(', ')}`);
    process.exit(2);
  }
}
const figures: Record<string, number> = {};
for (const [name, run] of Object.entries(groups)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`${name}:`);
  Object.assign(figures, await run());
}
writeResults(figures);
console.log(`figures written to ${RESULTS_PATH.pathname}`);
