// Shared by the benchmarks: percentiles, machine facts, and merging figures into bench/results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The repository root, whether this runs as bench/*.ts or compiled as bench/dist/*.js. */
export const REPO_ROOT = new URL('../'.repeat(import.meta.url.includes('/bench/dist/') ? 2 : 1), import.meta.url);

/** A path inside the repository as a file URL. */
export const repoUrl = (relative: string): URL => new URL(relative, REPO_ROOT);

export const RESULTS_PATH = repoUrl('bench/results.json');

/** Percentile p ∈ [0, 1] of `values` (sorted copy, nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

export const round = (x: number, digits = 4): number => Number(x.toPrecision(digits));

/** Merges `figures` (flat dotted keys) into bench/results.json, keeping other benchmarks' keys. */
export function writeResults(figures: Record<string, number | string>): void {
  let existing: Record<string, unknown> = {};
  try {
    existing = JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run: no file yet
  }
  const machine = { 'machine.cpu': cpus()[0]?.model ?? 'unknown', 'machine.cores': cpus().length, 'machine.node': process.version, 'machine.date': new Date().toISOString() };
  const merged = Object.fromEntries(Object.entries({ ...existing, ...machine, ...figures }).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(RESULTS_PATH, `${JSON.stringify(merged, null, 2)}\n`);
}
