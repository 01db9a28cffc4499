/**
 * Figures gathered over a `dexbridge retarget` run, the short summary printed from them, and the
 * `--report` fidelity page.
 */
import { type ArmSample, type FidelityMeter, type RetargetOutput, SIDES, type Side, type SideHold } from '@dexbridge/retarget';

/** A human pad-to-pad gap below this is a pinch, m (the hand mapper's default threshold). */
export const HUMAN_PINCH_M = 0.005;
/** A robot pad-to-pad gap at or below this counts as a robot pinch, m. */
export const ROBOT_PINCH_M = 0.003;

export interface SideStats {
  /** Frames in which the side's hand was used. */
  tracked: number;
  /** Frames in which the side held its last output, by reason. */
  readonly held: Map<SideHold, number>;
  /** Fingertip RMS error of each tracked frame, m. */
  readonly tipErrorsM: number[];
  /**
   * Frames in which the arm was solved, and how its commanded flange stood against the target
   * (the honest status: FK of the commanded joints, not the solver's residual).
   */
  armSolved: number;
  armConverged: number;
  armLimited: number;
  armFailed: number;
  /** Commanded flange position error of each solved frame, m. */
  readonly armErrorsM: number[];
  /** Tracked frames with a human pinch (some thumb–finger gap < 5 mm)… */
  humanPinchFrames: number;
  /** …and those of them in which a pinched pair's robot gap is ≤ 3 mm. */
  robotPinchFrames: number;
}

function newSideStats(): SideStats {
  return { tracked: 0, held: new Map(), tipErrorsM: [], armSolved: 0, armConverged: 0, armLimited: 0, armFailed: 0, armErrorsM: [], humanPinchFrames: 0, robotPinchFrames: 0 };
}

export class RetargetStats {
  frames = 0;
  firstTMs = Number.NaN;
  lastTMs = Number.NaN;
  /** Time spent in `process` per frame, ms. */
  readonly processMs: number[] = [];
  readonly sides: Readonly<Record<Side, SideStats>> = { left: newSideStats(), right: newSideStats() };

  /** Records one processed frame and the time its processing took. */
  add(out: RetargetOutput, processMs: number): void {
    if (this.frames === 0) this.firstTMs = out.tMs;
    this.lastTMs = out.tMs;
    this.frames++;
    this.processMs.push(processMs);
    for (const side of SIDES) {
      const st = out.status[side];
      const s = this.sides[side];
      if (!st.tracked) {
        s.held.set(st.hold, (s.held.get(st.hold) ?? 0) + 1);
        continue;
      }
      s.tracked++;
      // Each commanded fingertip against its target, as `npm run bench` reports it.
      for (const e of st.fingertipErrorM) s.tipErrorsM.push(e);
      const c = st.arm.command;
      if (c === 'converged' || c === 'limited' || c === 'failed') {
        s.armSolved++;
        if (c === 'converged') s.armConverged++;
        else if (c === 'limited') s.armLimited++;
        else s.armFailed++;
        s.armErrorsM.push(st.arm.commandPositionErrorM);
      }
      let human = false;
      let robot = false;
      for (let j = 0; j < 4; j++) {
        if (st.humanGapsM[j]! < HUMAN_PINCH_M) {
          human = true;
          if (st.robotGapsM[j]! <= ROBOT_PINCH_M) robot = true;
        }
      }
      if (human) s.humanPinchFrames++;
      if (robot) s.robotPinchFrames++;
    }
  }
}

/** Nearest-rank percentile of unsorted values (NaN for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** What the summary says besides the statistics. */
export interface SummaryInfo {
  readonly input: string;
  readonly formatLabel: string;
  readonly armDescription: string;
  readonly handScales: Readonly<Record<Side, { readonly value: number; readonly source: string }>>;
  /** What a recording's own calibrations did (dexbridge recordings only). */
  readonly calibration?: string;
  /** The output file, or `undefined` when none was written. */
  readonly output: string | undefined;
}

const HOLD_LABELS: Readonly<Record<SideHold, string>> = {
  none: 'time not advancing',
  missing: 'missing',
  ok: 'ok',
  not_finite: 'not finite',
  implausible_bones: 'implausible bones',
  implausible_size: 'implausible size',
};

function share(part: number, whole: number): string {
  return whole === 0 ? '—' : `${((100 * part) / whole).toFixed(1)} %`;
}

function sideCells(s: SideStats, frames: number, scale: { value: number; source: string }): string[] {
  const held = [...s.held].map(([hold, n]) => `${n} ${HOLD_LABELS[hold]}`).join(', ');
  const tipMean = mean(s.tipErrorsM) * 1000;
  const tipP95 = percentile(s.tipErrorsM, 0.95) * 1000;
  return [
    `${s.tracked} (${share(s.tracked, frames)})`,
    held === '' ? 'none' : held,
    Number.isFinite(scale.value) ? `${scale.value.toFixed(3)} (${scale.source})` : `— (${scale.source}, never tracked)`,
    s.tipErrorsM.length === 0 ? '—' : `${tipMean.toFixed(1)} / ${tipP95.toFixed(1)} mm`,
    s.armSolved === 0 ? '—' : `${share(s.armConverged, s.armSolved)} / ${share(s.armLimited, s.armSolved)} / ${share(s.armFailed, s.armSolved)}`,
    s.armSolved === 0 ? '—' : `${(percentile(s.armErrorsM, 0.5) * 1000).toFixed(1)} / ${(percentile(s.armErrorsM, 0.99) * 1000).toFixed(1)} mm`,
    `${s.humanPinchFrames} → ${s.robotPinchFrames}`,
  ];
}

/** The run's summary: about 15 aligned lines, ending with a newline. */
export function formatSummary(stats: RetargetStats, info: SummaryInfo): string {
  const durationS = stats.frames > 1 ? (stats.lastTMs - stats.firstTMs) / 1000 : 0;
  const rateHz = durationS > 0 ? (stats.frames - 1) / durationS : Number.NaN;
  const labels = [
    'tracked frames',
    'held frames',
    'hand scale',
    'fingertip error mean/p95',
    'arm conv./limited/failed',
    'arm error p50/p99',
    'pinches human → robot',
  ];
  const left = sideCells(stats.sides.left, stats.frames, info.handScales.left);
  const right = sideCells(stats.sides.right, stats.frames, info.handScales.right);
  const labelWidth = 26;
  const leftWidth = Math.max(20, ...left.map((c) => c.length + 3));
  const row = (label: string, a: string, b = ''): string => `  ${label.padEnd(labelWidth)}${b === '' ? a : a.padEnd(leftWidth) + b}`.trimEnd();
  const lines = [
    `dexbridge retarget: ${info.input} (${info.formatLabel})`,
    row('frames', `${stats.frames} over ${durationS.toFixed(2)} s${Number.isFinite(rateHz) ? ` (${Math.round(rateHz)} Hz)` : ''}`),
    row('arms', info.armDescription),
    ...(info.calibration === undefined ? [] : [row('recorded calibration', info.calibration)]),
    row('', 'left'.padEnd(leftWidth), 'right'),
    ...labels.map((label, i) => row(label, left[i]!, right[i]!)),
    row(
      'time per frame',
      stats.frames === 0
        ? '—'
        : `p50 ${percentile(stats.processMs, 0.5).toFixed(3)} ms, p99 ${percentile(stats.processMs, 0.99).toFixed(3)} ms (information only)`,
    ),
    row('output', info.output ?? 'none (add --out <file.jsonl> to write the frames)'),
  ];
  return `${lines.join('\n')}\n`;
}

/** What the fidelity report says about the run besides the meter's figures. */
export interface ReportInfo {
  readonly input: string;
  readonly formatLabel: string;
  readonly armDescription: string;
  readonly frames: number;
  /** What a recording's own calibrations did (dexbridge recordings only). */
  readonly calibration?: string;
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function cell(v: number, digits = 3, unit = ''): string {
  return Number.isFinite(v) ? `${Number(v.toPrecision(digits))}${unit}` : '—';
}

/** An inline SVG of one arm's commanded error over time: position (mm, blue) and rotation (°, orange). */
function armPlot(samples: readonly ArmSample[], label: string): string {
  if (samples.length === 0) return `<p>${escapeHtml(label)}: never engaged.</p>`;
  const w = 900, h = 220, pad = 40;
  const t0 = samples[0]!.tMs, t1 = samples[samples.length - 1]!.tMs;
  const span = Math.max(1, t1 - t0);
  const maxMm = Math.max(20, ...samples.map((s) => s.positionErrorM * 1000));
  const maxDeg = Math.max(10, ...samples.map((s) => (s.rotationErrorRad * 180) / Math.PI));
  const x = (t: number): number => pad + ((w - 2 * pad) * (t - t0)) / span;
  const line = (value: (s: ArmSample) => number, max: number): string =>
    samples.map((s) => `${x(s.tMs).toFixed(1)},${(h - pad - ((h - 2 * pad) * Math.min(value(s), max)) / max).toFixed(1)}`).join(' ');
  const unreachable = samples
    .filter((s) => !s.reachable)
    .map((s) => `<rect x="${x(s.tMs).toFixed(1)}" y="${pad}" width="2" height="${h - 2 * pad}" fill="#eee"/>`)
    .join('');
  return `<figure><svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${escapeHtml(label)}">
${unreachable}
<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line((s) => s.positionErrorM * 1000, maxMm)}"/>
<polyline fill="none" stroke="#ff7f0e" stroke-width="1.5" points="${line((s) => (s.rotationErrorRad * 180) / Math.PI, maxDeg)}"/>
<text x="${pad}" y="${pad - 8}" font-size="12">${escapeHtml(label)}: position error (blue, 0–${maxMm.toFixed(0)} mm), rotation error (orange, 0–${maxDeg.toFixed(0)}°); grey: target out of reach; ${((t1 - t0) / 1000).toFixed(1)} s</text>
</svg></figure>`;
}

/**
 * The `--report` HTML page: the run's fidelity figures (`FidelityMeter`, the same code and
 * definitions as `npm run bench`; docs/retarget.md), per finger, and each arm's commanded-pose
 * error over time. Self-contained (inline SVG, no scripts).
 */
export function formatFidelityReport(meter: FidelityMeter, info: ReportInfo): string {
  const f = meter.figures();
  const fingers = meter.fingerFigures();
  const rows = fingers
    .map(
      (x) =>
        `<tr><th>${x.finger}</th><td>${cell(x.tipErrMmMean)} / ${cell(x.tipErrMmP95)}</td><td>${cell(x.directionErrDeg)}</td><td>${cell(x.curlCorrelation)}</td><td>${cell(x.pipCorrelation)}</td><td>${cell(x.abductionAtLimitShare)}</td><td>${cell(x.pinchFidelity)} (${x.humanPinchFrames})</td><td>${cell(x.jitterRatio)}</td></tr>`,
    )
    .join('\n');
  const figureRows = Object.entries(f)
    .filter(([k]) => !/\.(thumb|index|middle|ring|little)$/.test(k))
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${cell(v, 4)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dexbridge retarget report: ${escapeHtml(info.input)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th{text-align:left;font-weight:normal;background:#f6f6f6}</style>
</head><body>
<h1>Retargeting fidelity</h1>
<p>${escapeHtml(info.input)} (${escapeHtml(info.formatLabel)}), ${info.frames} frames; arms: ${escapeHtml(info.armDescription)}${info.calibration === undefined ? '' : `; recorded calibration: ${escapeHtml(info.calibration)}`}. Definitions: docs/retarget.md (Fidelity figures).</p>
<h2>Per finger (both hands)</h2>
<table><tr><th>finger</th><th>tip error mean / p95 (mm)</th><th>direction error (°)</th><th>curl correlation</th><th>PIP correlation</th><th>abduction at limit</th><th>pinch fidelity (human pinch frames)</th><th>curl jitter ratio</th></tr>
${rows}
</table>
<p>Phalanx overlap share (frames with neighbouring phalanges interpenetrating by more than 3 mm): ${cell(f['hand.overlap_share'] ?? Number.NaN)}.</p>
<h2>Arms: commanded flange against the target</h2>
${armPlot(meter.armSamples('left'), 'left arm')}
${armPlot(meter.armSamples('right'), 'right arm')}
<h2>All figures</h2>
<table>
${figureRows}
</table>
</body></html>
`;
}
