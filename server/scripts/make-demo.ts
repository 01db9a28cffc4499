/**
 * Builds the demo hand-tracking recording `server/data/quest3-hands.jsonl` from the Meta Quest 3
 * IWER capture (`cap.min.js`, MIT, from Meta's Immersive Web Emulation Runtime examples), plus
 * `server/data/LICENSE-quest3-hands` (the capture's MIT notice, which must travel with the data)
 * and `server/data/README.md` (provenance and content figures).
 *
 *     node --import tsx server/scripts/make-demo.ts [path/to/cap.min.js]
 *
 * Default input: `test/fixtures/quest3-hands/cap.min.js` (the capture as published, with its MIT `LICENSE`); the `LICENSE` beside the
 * capture is copied. The output is deterministic for a given input.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatHandFrameLine,
  type HandFrameFormatOptions,
  parseIwerCapture,
  parseJsLiteralModule,
} from '../../retarget/src/formats/index.js';
import { type HandFrame, XR_BONES, XR_JOINT_NAMES } from '../../retarget/src/handFrame.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const defaultCapture = fileURLToPath(new URL('../../test/fixtures/quest3-hands/cap.min.js', import.meta.url));
const outDir = join(repo, 'server', 'data');
const outJsonl = join(outDir, 'quest3-hands.jsonl');
const outLicense = join(outDir, 'LICENSE-quest3-hands');
const outReadme = join(outDir, 'README.md');

/**
 * Precision of the written numbers. The capture rounds joint positions (relative to the target
 * ray) and quaternion components to 1e-3; once composed into the reference space they are no
 * longer round, so 0.01 mm and 1e-4 keep well below the source's own rounding. Radii are not
 * transformed, so 3 decimals are exact.
 */
const PRECISION: HandFrameFormatOptions = { positionDecimals: 5, quaternionDecimals: 4, radiusDecimals: 3, timeDecimals: 1 };

interface Run {
  readonly first: number; // index into the hand frames
  readonly last: number;
}

/** Maximal runs of consecutive hand frames in which `side` is tracked. */
function runsOf(frames: readonly HandFrame[], side: 'left' | 'right'): Run[] {
  const runs: Run[] = [];
  let start = -1;
  frames.forEach((f, i) => {
    if (f[side] !== null && start < 0) start = i;
    if (f[side] === null && start >= 0) {
      runs.push({ first: start, last: i - 1 });
      start = -1;
    }
  });
  if (start >= 0) runs.push({ first: start, last: frames.length - 1 });
  return runs;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}


interface BoneStats {
  readonly name: string;
  readonly rangeMm: number;
  readonly sdMm: number;
}

/** Length statistics of every bone of one hand over the frames where it is tracked. */
function boneStats(frames: readonly HandFrame[], side: 'left' | 'right'): BoneStats[] {
  return XR_BONES.map(([a, b]) => {
    const lengths: number[] = [];
    for (const f of frames) {
      const h = f[side];
      if (h === null) continue;
      lengths.push(Math.hypot(h[a * 8]! - h[b * 8]!, h[a * 8 + 1]! - h[b * 8 + 1]!, h[a * 8 + 2]! - h[b * 8 + 2]!));
    }
    const mean = lengths.reduce((x, y) => x + y, 0) / lengths.length;
    const sd = Math.sqrt(lengths.reduce((x, y) => x + (y - mean) ** 2, 0) / lengths.length);
    return {
      name: `${XR_JOINT_NAMES[a]}→${XR_JOINT_NAMES[b]}`,
      rangeMm: (Math.max(...lengths) - Math.min(...lengths)) * 1000,
      sdMm: sd * 1000,
    };
  });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function main(argv: readonly string[]): void {
  const capturePath = argv[0] !== undefined ? resolve(argv[0]) : defaultCapture;
  if (!existsSync(capturePath)) {
    throw new Error(`make-demo: capture not found: ${capturePath} (pass the path to cap.min.js as the argument)`);
  }
  const licensePath = join(dirname(capturePath), 'LICENSE');
  if (!existsSync(licensePath)) {
    throw new Error(`make-demo: ${licensePath} not found: the capture's MIT notice must be shipped with the data`);
  }
  const text = readFileSync(capturePath, 'utf8');
  const sourceSha = createHash('sha256').update(text).digest('hex');

  // The whole session (for the source figures) and its hand-tracked frames.
  const capture = parseJsLiteralModule(text);
  const sourceFrames = typeof capture === 'object' && capture !== null && !Array.isArray(capture) ? capture['frames'] : undefined;
  if (!Array.isArray(sourceFrames)) throw new Error('make-demo: the capture has no frames array');
  const sourceTimes = sourceFrames.map((f) => (Array.isArray(f) && typeof f[0] === 'number' ? f[0] : Number.NaN));
  const frames = parseIwerCapture(text);
  if (frames.length === 0) throw new Error('make-demo: the capture has no hand-tracked frames');

  const lines = frames.map((f) => formatHandFrameLine(f, PRECISION));
  const jsonl = `${lines.join('\n')}\n`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(outJsonl, jsonl);
  writeFileSync(outLicense, readFileSync(licensePath, 'utf8'));

  // Figures.
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const sourceIndex = (t: number): number => sourceTimes.indexOf(t);
  const intervals = frames.slice(1).map((f, i) => f.tMs - frames[i]!.tMs);
  const both = frames.filter((f) => f.left !== null && f.right !== null).length;
  const leftOnly = frames.filter((f) => f.left !== null && f.right === null).length;
  const rightOnly = frames.filter((f) => f.left === null && f.right !== null).length;
  const sizeBytes = Buffer.byteLength(jsonl);
  const describeRuns = (side: 'left' | 'right'): string[] =>
    runsOf(frames, side).map((r) => {
      const a = frames[r.first]!;
      const b = frames[r.last]!;
      return `lines ${r.first + 1}–${r.last + 1} (${r.last - r.first + 1} frames, t ${a.tMs}–${b.tMs} ms, ${seconds(b.tMs - a.tMs)} s)`;
    });
  const gaps = (side: 'left' | 'right'): string[] => {
    const runs = runsOf(frames, side);
    const out: string[] = [];
    for (let i = 1; i < runs.length; i++) {
      const before = frames[runs[i - 1]!.last]!;
      const after = frames[runs[i]!.first]!;
      const missing = runs[i]!.first - runs[i - 1]!.last - 1;
      out.push(
        `${missing} frames (lines ${runs[i - 1]!.last + 2}–${runs[i]!.first}), from t ${before.tMs} to ${after.tMs} ms: ${seconds(after.tMs - before.tMs)} s without the ${side} hand`,
      );
    }
    return out;
  };
  const leftCount = frames.filter((f) => f.left !== null).length;
  const rightCount = frames.filter((f) => f.right !== null).length;
  const leftGaps = gaps('left');
  const rightGaps = gaps('right');
  const sourceDuration = (sourceTimes[sourceTimes.length - 1] ?? 0) - (sourceTimes[0] ?? 0);
  const inputName = relative(repo, capturePath) || basename(capturePath);

  const bones = [...boneStats(frames, 'left'), ...boneStats(frames, 'right')];
  const maxSd = Math.max(...bones.map((b) => b.sdMm));
  const rangesSorted = bones.map((b) => b.rangeMm).sort((a, b) => a - b);
  const medianRange = median(rangesSorted);
  const wide = [...new Set(bones.filter((b) => b.rangeMm > 3).map((b) => b.name))];
  const maxRange = rangesSorted[rangesSorted.length - 1]!;

  const readme = `# Demo data

## \`quest3-hands.jsonl\`

Real two-hand tracking from a **Meta Quest 3**, in dexbridge's hand-frame JSON Lines format
(one frame per line: \`{"t": <ms>, "left": <25×8 array or null>, "right": <25×8 array or null>}\`,
each joint \`[px, py, pz, qx, qy, qz, qw, radius]\` in WebXR joint order; see
[\`docs/formats.md\`](../../docs/formats.md)). Positions are in metres in the WebXR
\`local-floor\` reference space of the recording (y up, floor at y = 0, −z forward).

### Provenance and licence

The session was recorded on a Meta Quest 3 with the action recorder of Meta's Immersive Web
Emulation Runtime (IWER) and published with its examples
(github.com/meta-quest/immersive-web-emulation-runtime, \`examples/basic/cap.min.js\`) under the
MIT licence, Copyright (c) Meta Platforms, Inc. and affiliates. This file is derived from it; the
licence notice is kept in [\`LICENSE-quest3-hands\`](./LICENSE-quest3-hands) and must stay with the
data.

### How it was made

\`\`\`sh
node --import tsx server/scripts/make-demo.ts [path/to/cap.min.js]
\`\`\`

The script reads the capture with \`parseIwerCapture\` from \`@dexbridge/retarget\` (a literal
parser: the module is never run). That function composes each joint pose, which IWER stores
relative to the hand's target-ray pose, into the reference space (world = targetRay ∘ joint,
quaternions renormalised) and keeps the frames in which at least one hand is tracked. The script
writes them with \`formatHandFrameLine\`, rounding positions to ${PRECISION.positionDecimals} decimals
(0.01 mm), quaternion components to ${PRECISION.quaternionDecimals} decimals and radii to
${PRECISION.radiusDecimals} decimals (exact). The source itself rounds joint positions and quaternion
components to 1e-3. Timestamps \`t\` are the recorder's, unchanged (milliseconds of the browser's
clock, not starting at 0). Re-running the script reproduces the files byte for byte.

Source: \`cap.min.js\`, ${Buffer.byteLength(text)} bytes, SHA-256
\`${sourceSha}\`.

### Content

- Source session: ${sourceFrames.length} frames over ${seconds(sourceDuration)} s (Touch controllers
  before and after the hands).
- Kept: **${frames.length} frames** (source frames ${sourceIndex(first.tMs)}–${sourceIndex(last.tMs)}),
  t = ${first.tMs}–${last.tMs} ms, **${seconds(last.tMs - first.tMs)} s**. Median frame interval
  ${median(intervals).toFixed(1)} ms (about ${Math.round(1000 / median(intervals))} Hz), intervals
  ${Math.min(...intervals).toFixed(1)}–${Math.max(...intervals).toFixed(1)} ms.
- Right hand tracked in ${rightCount} frames: ${describeRuns('right').join('; ')}.${rightGaps.length > 0 ? `\n  Gaps: ${rightGaps.join('; ')}.` : ''}
- Left hand tracked in ${leftCount} frames, in ${runsOf(frames, 'left').length} runs:
  ${describeRuns('left').join(';\n  ')}.
${leftGaps.map((g) => `- **Left-hand tracking dropout**: ${g}.\n  Consumers must cope with a hand disappearing and coming back.\n`).join('')}- Both hands in ${both} frames, right only in ${rightOnly}, left only in ${leftOnly}.
- Bone lengths (24 parent–child joint distances per hand): standard deviation at most
  ${maxSd.toFixed(2)} mm; range over the frames ${medianRange.toFixed(1)} mm for the median bone (the
  source's 1 mm rounding), up to ${maxRange.toFixed(1)} mm for ${wide.join(', ')}
  (palm distances that the tracker itself varies).
- Quest quirks: the wrist orientation equals the index metacarpal's, and each tip's orientation
  equals its distal joint's.
- ${lines.length} lines, ${sizeBytes} bytes.

## \`LICENSE-quest3-hands\`

The MIT licence of the capture, copied verbatim from the source.
`;
  writeFileSync(outReadme, readme);

  process.stdout.write(
    [
      `make-demo: read ${inputName}: ${sourceFrames.length} frames over ${seconds(sourceDuration)} s`,
      `make-demo: wrote ${relative(repo, outJsonl)}: ${frames.length} frames, ${seconds(last.tMs - first.tMs)} s, ` +
        `left ${leftCount}, right ${rightCount}, both ${both}, ${sizeBytes} bytes`,
      ...leftGaps.map((g) => `make-demo: left-hand dropout: ${g}`),
      `make-demo: wrote ${relative(repo, outLicense)} and ${relative(repo, outReadme)}`,
      '',
    ].join('\n'),
  );
}

main(process.argv.slice(2));
