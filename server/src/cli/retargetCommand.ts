/**
 * `dexbridge retarget <input> [--out <file.jsonl>] [--report <file.html>]`: retargets a recorded
 * hand-tracking session (hand-frame JSON Lines or an IWER capture) to robot joint positions and
 * 88-dim actions, writes them as JSON Lines, prints a summary and, with `--report`, writes the
 * fidelity report (the figures of `npm run bench`). `--demo` uses the bundled Quest 3 session.
 * See `docs/cli.md`.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRig, FidelityMeter, FormatError, Retargeter, SIDES, type Side } from '@dexbridge/retarget';
import type { CalibrationRequest } from '../protocol/calibration.js';
import { usageFromParseError } from './args.js';
import { AtomicLineWriter } from './AtomicLineWriter.js';
import {
  type Calibration, type HandScaleSetting, loadCalibration, recordedCalibrationToApply, resolveSideSettings, retargeterOptions, type SettingOverrides,
  type SideSettings,
} from './calibration.js';
import { CliError, EXIT_OK } from './CliError.js';
import type { CliIo } from './io.js';
import { formatOutputHeader, formatOutputLine } from './outputJsonl.js';
import { FORMAT_LABELS, readHandFrames } from './readHandFrames.js';
import { formatFidelityReport, formatSummary, RetargetStats } from './RetargetStats.js';
import { parseDecimal } from './decimal.js';

/**
 * The bundled demo session. `src/cli/` and `dist/cli/` are at the same depth in the package, so
 * this resolves to `server/data/` both from the sources (tests) and from the build.
 */
export const DEMO_INPUT_URL = new URL('../../data/quest3-hands.jsonl', import.meta.url);

export const RETARGET_USAGE = `Usage: dexbridge retarget <input> [options]
       dexbridge retarget --demo [options]

Retargets recorded hand tracking (hand-frame JSON Lines, an IWER capture, or a dexbridge
recording) to the bimanual robot: 56 joint positions and the 88-dim action per frame.

Options:
  --demo                       use the bundled Quest 3 session (server/data/quest3-hands.jsonl)
  -o, --out <file.jsonl>       write a header line and one line per input frame
  --report <file.html>         write the fidelity report (per finger tip and direction
                               error, curl/PIP correlation, abduction at limit, pinches,
                               overlap, jitter; each arm's commanded-pose error over time)
                               and print its main figures
  -c, --calibration <file>     calibration JSON (hand scale, arm mapping); see docs/cli.md
  --hand-scale <number|auto>   robot-to-human hand size ratio for both hands (default auto)
  --arm-mode <clutch|offset>   how the arms follow the wrists (default clutch)
  --translation-scale <n>      scale of the operator's wrist motion (default 1)
  -q, --quiet                  print nothing on success
  -h, --help                   show this help

Each arm engages at the first tracked frame of its hand, with or without a calibration
(in clutch mode the robot starts at its home pose and moves with the operator from there).
A dexbridge recording (.mcap) is retargeted with the calibrations it was recorded with,
each from the frame where the server applied it; --calibration, --hand-scale and
--translation-scale win over them for what they set.
`;

const OPTIONS = {
  demo: { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  report: { type: 'string' },
  calibration: { type: 'string', short: 'c' },
  'hand-scale': { type: 'string' },
  'arm-mode': { type: 'string' },
  'translation-scale': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseRetargetArgs(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw usageFromParseError('retarget', err);
  }
}

function usage(message: string): CliError {
  return new CliError('CLI_USAGE', `retarget: ${message}`);
}

function positiveNumber(option: string, text: string): number {
  const value = parseDecimal(text);
  if (!(value > 0 && Number.isFinite(value))) throw usage(`${option} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function parseOverrides(values: { 'hand-scale'?: string; 'arm-mode'?: string; 'translation-scale'?: string }): SettingOverrides {
  const overrides: { handScale?: HandScaleSetting; armMode?: 'clutch' | 'offset'; translationScale?: number } = {};
  const hs = values['hand-scale'];
  if (hs !== undefined) overrides.handScale = hs === 'auto' ? 'auto' : positiveNumber('--hand-scale', hs);
  const mode = values['arm-mode'];
  if (mode !== undefined) {
    if (mode !== 'clutch' && mode !== 'offset') throw usage(`--arm-mode must be "clutch" or "offset", got ${JSON.stringify(mode)}`);
    overrides.armMode = mode;
  }
  const ts = values['translation-scale'];
  if (ts !== undefined) overrides.translationScale = positiveNumber('--translation-scale', ts);
  return overrides;
}

/** A path as the user would recognise it: relative to the working directory when inside it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Puts the input file's name in front of a format error's message (which names the line). */
function withInputPath(err: unknown, path: string): unknown {
  return err instanceof FormatError ? new FormatError(err.code, `${path}: ${err.message}`, err.line, err.offset) : err;
}

/** The report's main figures as summary lines. */
function formatFidelityLines(meter: FidelityMeter, reportPath: string): string {
  const f = meter.figures();
  const v = (k: string, digits = 3): string => {
    const x = f[k];
    return x === undefined || !Number.isFinite(x) ? '—' : String(Number(x.toPrecision(digits)));
  };
  const lines = [
    `  ${'fidelity'.padEnd(26)}tip error ${v('hand.fingertip_err_mm.mean')} / ${v('hand.fingertip_err_mm.p95')} mm, direction error ${v('hand.direction_err_deg.mean')}°, curl r ≥ ${v('hand.curl_correlation.min')}, PIP r ≥ ${v('hand.pip_correlation.min')}`,
    `  ${''.padEnd(26)}abduction at limit ${v('hand.abduction_at_limit_share')}, overlap ${v('hand.overlap_share')}, pinch fidelity ${v('hand.pinch_fidelity')}, jitter ratio ${v('hand.jitter_ratio')}`,
    `  ${''.padEnd(26)}arm flange error p99 ${v('arm.flange_err_mm.p99')} mm over ${v('arm.reachable_frames', 6)} reachable frames, branch jumps ${v('arm.branch_jumps', 6)}`,
    `  ${'report'.padEnd(26)}${reportPath}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Applies a calibration to a running retargeter as the live loop does at the engage that applies
 * it: the scales, then a new clutch anchor for each engaged arm (where it is now, so it does not jump).
 */
function applyCalibration(retargeter: Retargeter, c: CalibrationRequest): void {
  if (c.handScale !== undefined) retargeter.setHandScale(c.handScale);
  if (c.digitScales !== undefined) retargeter.setDigitScales(c.digitScales);
  if (c.translationScale !== undefined) retargeter.setTranslationScale(c.translationScale);
  for (const side of SIDES) {
    if (!retargeter.engaged(side)) continue;
    retargeter.disengage(side);
    retargeter.engage(side);
  }
}

/** What a recording's calibrations did: how many it holds, and what of them applied from which frame. */
function describeRecorded(count: number, applied: readonly { frame: number; calibration: CalibrationRequest }[]): string {
  if (count === 0) return 'none in the recording';
  const held = `${count} in the recording`;
  if (applied.length === 0) return `${held}, not applied: the command line sets what they set`;
  const parts = applied.map(({ frame, calibration: c }) => {
    const what: string[] = [];
    const hs = c.handScale;
    if (hs !== undefined) what.push(`hand scale ${typeof hs === 'number' ? hs.toFixed(3) : SIDES.filter((s) => hs[s] !== undefined).map((s) => `${s} ${hs[s]!.toFixed(3)}`).join(', ')}`);
    if (c.digitScales !== undefined) what.push(`digit scales (${SIDES.filter((s) => c.digitScales![s] !== undefined).join(', ')})`);
    if (c.translationScale !== undefined) what.push(`translation ×${c.translationScale}`);
    return `from frame ${frame}: ${what.join(', ')}`;
  });
  return `${held}; ${parts.join('; ')}`;
}

function describeSide(s: SideSettings): string {
  const mode =
    s.armMode === 'clutch'
      ? 'clutch, engaged at the first tracked frame'
      : `offset (${s.offset === undefined ? 'default' : 'calibrated'} offset)`;
  return s.translationScale === 1 ? mode : `${mode}, translation ×${s.translationScale}`;
}

function describeArms(settings: Readonly<Record<Side, SideSettings>>): string {
  const left = describeSide(settings.left);
  const right = describeSide(settings.right);
  return left === right ? left : `left ${left}; right ${right}`;
}

/**
 * Runs `dexbridge retarget` with the arguments after the command name.
 * @returns the exit code (0); expected failures are thrown as `CliError`/`FormatError`
 */
export async function retargetCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseRetargetArgs(args);
  if (values.help === true) {
    io.stdout.write(RETARGET_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw usage(`expected one input file, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  const given = positionals[0];
  if (values.demo === true && given !== undefined) throw usage(`give either an input file or --demo, not both (got ${JSON.stringify(given)} and --demo)`);
  if (values.demo !== true && given === undefined) throw usage('missing <input> (a .jsonl hand-frame file, an IWER capture or a .mcap recording), or --demo');
  const inputPath = given ?? displayPath(fileURLToPath(DEMO_INPUT_URL));
  const overrides = parseOverrides(values);

  const outPath = values.out;
  if (outPath !== undefined) {
    if (outPath.trim() === '') throw usage('--out needs a file name');
    if (resolve(outPath) === resolve(inputPath)) throw usage(`--out ${outPath} would overwrite the input`);
    const existing = await stat(outPath).catch(() => undefined);
    if (existing?.isDirectory() === true) throw usage(`--out ${outPath} is a directory; give a file name such as ${outPath}/out.jsonl`);
  }

  const reportPath = values.report;
  if (reportPath !== undefined) {
    if (reportPath.trim() === '') throw usage('--report needs a file name');
    if (resolve(reportPath) === resolve(inputPath)) throw usage(`--report ${reportPath} would overwrite the input`);
    if (outPath !== undefined && resolve(reportPath) === resolve(outPath)) throw usage(`--report and --out name the same file (${reportPath})`);
    const existing = await stat(reportPath).catch(() => undefined);
    if (existing?.isDirectory() === true) throw usage(`--report ${reportPath} is a directory; give a file name such as ${reportPath}/report.html`);
  }

  const calibration: Calibration = values.calibration === undefined ? {} : await loadCalibration(values.calibration);
  const settings: Record<Side, SideSettings> = {
    left: resolveSideSettings('left', calibration, overrides),
    right: resolveSideSettings('right', calibration, overrides),
  };
  const source = await readHandFrames(inputPath).catch((err: unknown) => {
    throw withInputPath(err, inputPath);
  });
  const rig = createRig();
  const retargeter = new Retargeter(rig, retargeterOptions(settings));
  const meter = reportPath === undefined ? undefined : new FidelityMeter(rig);

  const stats = new RetargetStats();
  const writer = outPath === undefined ? undefined : await AtomicLineWriter.open(outPath);
  // A recording's calibrations apply where the server applied them (at an engage).
  const recorded = source.calibrations ?? [];
  let nextRecorded = 0;
  let frameIndex = 0;
  const recordedScaleSides = new Set<Side>();
  const appliedRecorded: { frame: number; calibration: CalibrationRequest }[] = [];
  try {
    await writer?.writeLine(formatOutputHeader());
    for await (const frame of source.frames) {
      for (; nextRecorded < recorded.length && recorded[nextRecorded]!.beforeFrame <= frameIndex; nextRecorded++) {
        const c = recordedCalibrationToApply(recorded[nextRecorded]!.calibration, calibration, overrides);
        if (c === null) continue;
        appliedRecorded.push({ frame: frameIndex, calibration: c });
        applyCalibration(retargeter, c);
        for (const side of SIDES) if (typeof c.handScale === 'object' && c.handScale[side] !== undefined) recordedScaleSides.add(side);
      }
      frameIndex++;
      const start = performance.now();
      const out = retargeter.process(frame);
      stats.add(out, performance.now() - start);
      meter?.add(frame, retargeter);
      await writer?.writeLine(formatOutputLine(out));
    }
    await writer?.commit();
  } catch (err) {
    await writer?.abort();
    throw withInputPath(err, inputPath);
  }
  const recordedInfo = source.calibrations === undefined ? {} : { calibration: describeRecorded(source.calibrations.length, appliedRecorded) };
  if (meter !== undefined && reportPath !== undefined) {
    const report = await AtomicLineWriter.open(reportPath);
    try {
      await report.writeLine(formatFidelityReport(meter, { input: inputPath, formatLabel: FORMAT_LABELS[source.format], armDescription: describeArms(settings), frames: stats.frames, ...recordedInfo }));
      await report.commit();
    } catch (err) {
      await report.abort();
      throw err;
    }
  }

  if (values.quiet !== true) {
    const handScales = {} as Record<Side, { value: number; source: string }>;
    for (const side of SIDES) handScales[side] = { value: retargeter.handScale(side), source: recordedScaleSides.has(side) ? 'recording' : settings[side].handScaleSource };
    io.stdout.write(
      formatSummary(stats, {
        input: inputPath,
        formatLabel: FORMAT_LABELS[source.format],
        armDescription: describeArms(settings),
        ...recordedInfo,
        handScales,
        output: writer === undefined ? undefined : `${outPath} (header + ${writer.lines - 1} frame lines)`,
      }),
    );
    if (meter !== undefined) io.stdout.write(formatFidelityLines(meter, reportPath!));
  }
  return EXIT_OK;
}
