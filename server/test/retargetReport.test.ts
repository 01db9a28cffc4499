import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from './support/runCli.js';

type Run = CliRun;
const run = runCli;

describe('dexbridge retarget --report', () => {
  let dir: string;
  let report: string;
  let demo: Run;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dexbridge-report-'));
    report = join(dir, 'fidelity.html');
    demo = await run('retarget', '--demo', '--report', report);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and writes the report file (no temporary file left)', () => {
    expect(demo.code).toBe(0);
    expect(existsSync(report)).toBe(true);
    expect(existsSync(`${report}.tmp`)).toBe(false);
  });

  it('has one row per finger with the fidelity columns', () => {
    const html = readFileSync(report, 'utf8');
    for (const finger of ['thumb', 'index', 'middle', 'ring', 'little']) expect(html).toContain(`<tr><th>${finger}</th>`);
    for (const column of ['tip error', 'direction error', 'curl correlation', 'PIP correlation', 'abduction at limit', 'pinch fidelity', 'jitter ratio']) expect(html).toContain(column);
  });

  it('plots each arm’s commanded error over time', () => {
    const html = readFileSync(report, 'utf8');
    expect(html.match(/<polyline/g)?.length).toBe(4);
    expect(html).toContain('left arm');
    expect(html).toContain('right arm');
  });

  it('lists the same figure keys as the benchmark (hand.*, arm.*)', () => {
    const html = readFileSync(report, 'utf8');
    for (const key of ['hand.fingertip_err_mm.mean', 'hand.direction_err_deg.mean', 'hand.curl_correlation.min', 'hand.pip_correlation.min', 'hand.abduction_at_limit_share', 'hand.overlap_share', 'hand.pinch_fidelity', 'hand.jitter_ratio', 'arm.flange_err_mm.p99', 'arm.branch_jumps']) {
      expect(html).toContain(`<th>${key}</th>`);
    }
  });

  it('prints the main figures and the report path after the summary', () => {
    expect(demo.stdout).toMatch(/fidelity\s+tip error [\d.]+ \/ [\d.]+ mm/);
    expect(demo.stdout).toMatch(/branch jumps 0/);
    expect(demo.stdout).toContain(report);
  });

  it('refuses a report path that is a directory, with CLI_USAGE', async () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    const r = await run('retarget', '--demo', '--report', sub);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLI_USAGE: retarget: --report .* is a directory/);
  });

  it('refuses a report path equal to --out', async () => {
    const same = join(dir, 'same.out');
    const r = await run('retarget', '--demo', '--out', same, '--report', same);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLI_USAGE: retarget: --report and --out name the same file/);
  });
});
