import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION_NAMES, createRig, parseHandFramesJsonl, Retargeter, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from './support/runCli.js';
import { formatOutputLine } from '../src/cli/outputJsonl.js';
import { detectFormat, parseJsonlChunks } from '../src/cli/readHandFrames.js';
import { formatSummary, RetargetStats } from '../src/cli/RetargetStats.js';
import { DEMO_INPUT_URL } from '../src/cli/retargetCommand.js';
import { parseServeArgs } from '../src/cli/serveCommand.js';

const DEMO = fileURLToPath(new URL('../data/quest3-hands.jsonl', import.meta.url));
const DEMO_FRAMES = 757;
const CAPTURE = fileURLToPath(new URL('../../test/fixtures/quest3-hands/cap.min.js', import.meta.url));

type Run = CliRun;
const run = runCli;

interface FrameLine {
  t: number;
  q: number[];
  action: number[];
  status: Record<'left' | 'right', { tracked: boolean; engaged: boolean; hold: string }>;
}

function readOutput(path: string): { header: Record<string, unknown>; frames: FrameLine[]; lines: string[] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  expect(lines.pop()).toBe(''); // ends with a newline
  const [head, ...rest] = lines;
  return { header: JSON.parse(head!) as Record<string, unknown>, frames: rest.map((l) => JSON.parse(l) as FrameLine), lines: rest };
}

/** Every number in a parsed JSON value (JSON.parse turns 1e999 into Infinity). */
function numbers(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (Array.isArray(value)) for (const v of value) numbers(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) numbers(v, out);
  return out;
}

const demoLines = readFileSync(DEMO, 'utf8').split('\n');
let dir: string;
let demoOut: string;
let demoRun: Run;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dexbridge-cli-'));
  demoOut = join(dir, 'nested', 'deeper', 'demo.jsonl');
  demoRun = await run('retarget', '--demo', '--out', demoOut);
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dexbridge retarget --demo', () => {
  it('exits 0 and writes the output, creating its directory', () => {
    expect(demoRun.stderr).toBe('');
    expect(demoRun.code).toBe(0);
    expect(existsSync(demoOut)).toBe(true);
  });

  it('leaves no .tmp file behind', () => {
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['demo.jsonl']);
  });

  it('writes a header with the 56 joint names and the 88 action names', () => {
    const { header } = readOutput(demoOut);
    expect(Object.keys(header)).toEqual(['type', 'joint_names', 'action_names']);
    expect(header['type']).toBe('header');
    expect(header['joint_names']).toEqual([...STATE_JOINT_NAMES]);
    expect(header['action_names']).toEqual([...ACTION_NAMES]);
    expect(STATE_JOINT_NAMES).toHaveLength(56);
    expect(ACTION_NAMES).toHaveLength(88);
  });

  it('writes one line per demo frame, with the input times', () => {
    const { frames } = readOutput(demoOut);
    expect(frames).toHaveLength(DEMO_FRAMES);
    const input = parseHandFramesJsonl(readFileSync(DEMO, 'utf8'));
    expect(frames.map((f) => f.t)).toEqual(input.map((f) => Math.round(f.tMs * 1000) / 1000));
  });

  it('writes 56 joint positions and 88 action values per frame, every number finite', () => {
    const { frames } = readOutput(demoOut);
    for (const f of frames) {
      expect(f.q).toHaveLength(56);
      expect(f.action).toHaveLength(88);
      for (const v of [...f.q, ...f.action]) expect(typeof v).toBe('number');
      for (const v of numbers(f)) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('rounds q and action to 1e-6', () => {
    const { frames } = readOutput(demoOut);
    for (const v of [...frames[400]!.q, ...frames[400]!.action]) expect(Math.abs(v * 1e6 - Math.round(v * 1e6))).toBeLessThan(1e-6);
  });

  it('engages each arm at its first tracked frame (clutch, no calibration)', () => {
    const { frames } = readOutput(demoOut);
    for (const side of ['left', 'right'] as const) {
      const first = frames.findIndex((f) => f.status[side].tracked);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(frames[first]!.status[side].engaged).toBe(true);
      if (first > 0) expect(frames[first - 1]!.status[side].engaged).toBe(false);
    }
  });

  it('reports the status fields in snake_case with units', () => {
    const { frames } = readOutput(demoOut);
    const st = (frames[10]!.status as unknown as Record<string, Record<string, unknown>>)['right']!;
    expect(Object.keys(st)).toEqual(['tracked', 'hold', 'engaged', 'hand', 'arm', 'human_gaps_m', 'robot_gaps_m', 'fingertip_error_m', 'limited']);
    expect(Object.keys(st['hand'] as object)).toEqual(['status', 'cost_m2', 'tip_error_rms_m', 'iterations', 'cold']);
    expect(Object.keys(st['arm'] as object)).toEqual(['status', 'residual', 'iterations']);
    expect(st['human_gaps_m']).toHaveLength(4);
    expect(st['robot_gaps_m']).toHaveLength(4);
    expect(st['fingertip_error_m']).toHaveLength(5);
  });

  it('marks the left-hand dropout as held "missing"', () => {
    const { frames } = readOutput(demoOut);
    // Lines 334–423 of the demo have no left hand (server/data/README.md).
    expect(frames.slice(333, 423).every((f) => !f.status.left.tracked && f.status.left.hold === 'missing')).toBe(true);
    expect(frames[423]!.status.left.tracked).toBe(true);
  });

  it('prints a short summary with the frames, the format and the output', () => {
    const lines = demoRun.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(20);
    expect(demoRun.stdout).toContain('quest3-hands.jsonl (hand-frame JSON Lines)');
    expect(demoRun.stdout).toMatch(/757 over 8\.48 s/);
    expect(demoRun.stdout).toMatch(/tracked frames\s+667 \(88\.1 %\)\s+756 \(99\.9 %\)/);
    expect(demoRun.stdout).toMatch(/held frames\s+90 missing\s+1 missing/);
    expect(demoRun.stdout).toMatch(/hand scale\s+\d\.\d{3} \(auto\)\s+\d\.\d{3} \(auto\)/);
    expect(demoRun.stdout).toContain(`${demoOut} (header + 757 frame lines)`);
  });

  it('prints only the summary without --out', async () => {
    const r = await run('retarget', '--demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('output');
    expect(r.stdout).toContain('none');
  });
});

describe('dexbridge retarget <input>', () => {
  it('reads a JSON Lines file and gives the same frames as the same lines of the demo', async () => {
    const input = join(dir, 'few.jsonl');
    writeFileSync(input, `${demoLines.slice(0, 12).join('\n')}\n`);
    const out = join(dir, 'few-out.jsonl');
    const r = await run('retarget', input, '--out', out, '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const few = readOutput(out);
    expect(few.lines).toEqual(readOutput(demoOut).lines.slice(0, 12));
  });

  it('sniffs JSON Lines in a file without the .jsonl extension', async () => {
    const input = join(dir, 'few.txt');
    writeFileSync(input, `${demoLines.slice(0, 5).join('\r\n')}\r\n`);
    const out = join(dir, 'few-txt.jsonl');
    const r = await run('retarget', input, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(hand-frame JSON Lines)');
    expect(readOutput(out).lines).toEqual(readOutput(demoOut).lines.slice(0, 5));
  });

  it('reads an IWER capture (the Quest 3 cap.min.js)', async () => {
    const out = join(dir, 'cap.jsonl');
    const r = await run('retarget', CAPTURE, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(IWER capture)');
    const { header, frames } = readOutput(out);
    expect(header['joint_names']).toEqual([...STATE_JOINT_NAMES]);
    // The demo is this capture's hand frames, rounded: same frames, same times.
    expect(frames).toHaveLength(DEMO_FRAMES);
    expect(frames.map((f) => f.t)).toEqual(readOutput(demoOut).frames.map((f) => f.t));
    for (const f of frames) for (const v of numbers(f)) expect(Number.isFinite(v)).toBe(true);
  }, 120_000);

  it('writes a header and no frames for an empty .jsonl file', async () => {
    const input = join(dir, 'empty.jsonl');
    writeFileSync(input, '');
    const out = join(dir, 'empty-out.jsonl');
    const r = await run('retarget', input, '-o', out, '-q');
    expect(r.code).toBe(0);
    expect(readOutput(out).frames).toHaveLength(0);
  });
});

describe('options and calibration', () => {
  it('applies --hand-scale to both hands', async () => {
    const r = await run('retarget', '--demo', '--hand-scale', '1.2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hand scale\s+1\.200 \(--hand-scale\)\s+1\.200 \(--hand-scale\)/);
  });

  it('applies a calibration file, per side', async () => {
    const cal = join(dir, 'sides.json');
    writeFileSync(cal, JSON.stringify({ handScale: { left: 1.05, right: 'auto' } }));
    const r = await run('retarget', '--demo', '--calibration', cal);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hand scale\s+1\.050 \(calibration\)\s+\d\.\d{3} \(auto\)/);
  });

  it('lets command-line options win over the calibration file', async () => {
    const cal = join(dir, 'both.json');
    writeFileSync(cal, JSON.stringify({ handScale: 0.9, arm: { mode: 'offset' } }));
    const r = await run('retarget', '--demo', '-c', cal, '--hand-scale', '1.15', '--arm-mode', 'clutch', '--translation-scale', '1.5');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hand scale\s+1\.150 \(--hand-scale\)/);
    expect(r.stdout).toMatch(/arms\s+clutch, engaged at the first tracked frame, translation ×1\.5/);
  });

  it('retargets each side with its own settings exactly as a run with those settings for both', async () => {
    const cal = join(dir, 'split.json');
    writeFileSync(cal, JSON.stringify({ handScale: { left: 1.05, right: 1.2 } }));
    const paths = ['split', 'l', 'r'].map((n) => join(dir, `${n}.jsonl`)) as [string, string, string];
    expect((await run('retarget', '--demo', '-q', '-c', cal, '-o', paths[0])).code).toBe(0);
    expect((await run('retarget', '--demo', '-q', '--hand-scale', '1.05', '-o', paths[1])).code).toBe(0);
    expect((await run('retarget', '--demo', '-q', '--hand-scale', '1.2', '-o', paths[2])).code).toBe(0);
    const [split, left, right] = paths.map((p) => readOutput(p).frames);
    const qSide = STATE_JOINT_NAMES.map((n) => (n.startsWith('left_') ? left! : right!));
    const aSide = ACTION_NAMES.map((n) => (n.startsWith('left_') ? left! : right!));
    split!.forEach((f, i) => {
      expect(f.q).toEqual(f.q.map((_, j) => qSide[j]![i]!.q[j]));
      expect(f.action).toEqual(f.action.map((_, j) => aSide[j]![i]!.action[j]));
      expect(f.status.left).toEqual(left![i]!.status.left);
      expect(f.status.right).toEqual(right![i]!.status.right);
    });
    // And the sides really differ between the two single-scale runs.
    expect(left![100]!.q).not.toEqual(right![100]!.q);
  }, 120_000);

  it.each([
    ['{"handScale": {"left": -1}}', 'handScale.left', '-1'],
    ['{"handScale": "big"}', 'handScale', '"big"'],
    ['{"handscale": 1}', '(root)', '"handscale"'],
    ['{"arm": {"mode": "follow"}}', 'arm.mode', '"follow"'],
    ['{"arm": {"translationScale": 0}}', 'arm.translationScale', '0'],
    ['{"arm": {"offset": {"left": [1, 0, 0]}}}', 'arm.offset.left', '[1,0,0]'],
    ['{"arm": {"offset": {"right": [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, "x", 0]}}}', 'arm.offset.right[10]', '"x"'],
    ['{"arm": {"offset": {"left": [1, 0, 0, 0, 1, 0, 0, 0, -1, 0, 0, 0]}}}', 'arm.offset.left', 'rotation'],
    ['[1, 2]', '(root)', '[1,2]'],
    ['{"handScale": 1,}', 'not valid JSON', ''],
  ])('rejects the calibration %s naming %s', async (text, path, value) => {
    const cal = join(dir, 'bad-cal.json');
    writeFileSync(cal, text);
    const r = await run('retarget', '--demo', '--calibration', cal);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: CLI_BAD_CALIBRATION: /);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toContain(value);
    expect(r.stdout).toBe('');
  });

  it('accepts a calibration with offsets in offset mode', async () => {
    const cal = join(dir, 'offset.json');
    const c = Math.SQRT1_2;
    writeFileSync(cal, JSON.stringify({ arm: { mode: 'offset', offset: { left: [c, -c, 0, c, c, 0, 0, 0, 1, 0.5, 0.1, -0.2] } } }));
    const out = join(dir, 'offset.jsonl');
    const r = await run('retarget', '--demo', '-c', cal, '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/arms\s+left offset \(calibrated offset\); right offset \(default offset\)/);
    // With a calibration file too, each arm engages at its hand's first tracked frame.
    const { frames } = readOutput(out);
    for (const side of ['left', 'right'] as const) {
      const first = frames.findIndex((f) => f.status[side].tracked);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(frames[first]!.status[side].engaged).toBe(true);
    }
  });

  it('reports a missing calibration file', async () => {
    const r = await run('retarget', '--demo', '--calibration', join(dir, 'nope.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CLI_INPUT_NOT_FOUND');
    expect(r.stderr).toContain('nope.json');
  });
});

describe('errors', () => {
  it('names the code and the line of a bad input line, exits 2 and writes no output', async () => {
    const input = join(dir, 'bad.jsonl');
    writeFileSync(input, `${demoLines[0]}\n${demoLines[1]}\n{"t": "x"}\n${demoLines[2]}\n`);
    const out = join(dir, 'bad-out', 'x.jsonl');
    const r = await run('retarget', input, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: FORMAT_BAD_FRAME: /);
    expect(r.stderr).toContain('line 3');
    expect(r.stderr).toContain(input);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('keeps an existing output file when the run fails', async () => {
    const input = join(dir, 'bad2.jsonl');
    writeFileSync(input, `${demoLines[0]}\n${demoLines[0]}\n`);
    const out = join(dir, 'kept.jsonl');
    writeFileSync(out, 'previous\n');
    const r = await run('retarget', input, '-o', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FORMAT_TIME_NOT_MONOTONIC');
    expect(r.stderr).toContain('line 2');
    expect(readFileSync(out, 'utf8')).toBe('previous\n');
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('reports a missing input file with CLI_INPUT_NOT_FOUND and the path', async () => {
    const missing = join(dir, 'missing.jsonl');
    const r = await run('retarget', missing);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`dexbridge: CLI_INPUT_NOT_FOUND: input file not found: ${missing}\n`);
  });

  it('reports a directory as input with CLI_INPUT_UNREADABLE', async () => {
    const r = await run('retarget', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CLI_INPUT_UNREADABLE');
  });

  it('reports an input in no known format with CLI_UNKNOWN_FORMAT', async () => {
    const input = join(dir, 'notes.txt');
    writeFileSync(input, 'hello world\n');
    const r = await run('retarget', input);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: CLI_UNKNOWN_FORMAT: .*notes\.txt.*"hello world"/);
  });

  it('reports an IWER syntax error with its code', async () => {
    const input = join(dir, 'evil.js');
    writeFileSync(input, 'var a={schema:alert(1),frames:[]};export{a as capture};');
    const r = await run('retarget', input);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: FORMAT_IWER_SYNTAX: .*line 1/);
  });

  it('reports an output that cannot be written with CLI_OUTPUT_FAILED and exit 1', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await run('retarget', '--demo', '--out', join(file, 'out.jsonl'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dexbridge: CLI_OUTPUT_FAILED: /);
  });

  it.each([
    [['retarget', '--demo', '--bogus'], "'--bogus'"],
    [['frobnicate'], '"frobnicate"'],
    [['--frob'], '"--frob"'],
    [['retarget'], 'missing <input>'],
    [['retarget', 'a.jsonl', 'b.jsonl'], 'expected one input file'],
    [['retarget', 'a.jsonl', '--demo'], 'not both'],
    [['retarget', '--demo', '--hand-scale', 'big'], '--hand-scale'],
    [['retarget', '--demo', '--hand-scale', '-1'], '--hand-scale'],
    [['retarget', '--demo', '--arm-mode', 'follow'], '--arm-mode'],
    [['retarget', '--demo', '--translation-scale', '0'], '--translation-scale'],
    [['retarget', '--demo', '--hand-scale', '1e0'], '--hand-scale must be a positive number, got "1e0"'],
    [['retarget', '--demo', '--translation-scale', '0x1'], '--translation-scale must be a positive number, got "0x1"'],
    [['retarget', '--demo', '--out'], '--out'],
    [['retarget', '--demo', '--out', DEMO], 'overwrite the input'],
  ])('rejects %j with CLI_USAGE and a hint', async (args, detail) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: CLI_USAGE: /);
    expect(r.stderr).toContain(detail);
    expect(r.stderr).toContain('dexbridge help');
    expect(r.stdout).toBe('');
  });
});

describe('help and version', () => {
  it.each([[['help']], [['--help']], [['-h']], [[]]])('%j prints the usage and exits 0', async (args) => {
    const r = await run(...args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: dexbridge <command>');
    expect(r.stdout).toContain('retarget');
  });

  it.each([[['help', 'retarget']], [['retarget', '--help']]])('%j prints the retarget options', async (args) => {
    const r = await run(...args);
    expect(r.code).toBe(0);
    for (const option of ['--demo', '--out', '--calibration', '--hand-scale', '--arm-mode', '--translation-scale', '--quiet']) {
      expect(r.stdout).toContain(option);
    }
  });

  it.each([
    ['serve', ['--port', '--demo', '--rosbridge', '--recordings']],
    ['recover', ['--out']],
    ['export', ['--format', '--out', '--fps']],
    ['retarget', ['--demo', '--out']],
  ] as const)('%s accepts --help and -h, prints its own options and exits 0', async (command, options) => {
    for (const flag of ['--help', '-h']) {
      const r = await run(command, flag);
      expect(r.code, `${command} ${flag}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`dexbridge ${command}`);
      for (const option of options) expect(r.stdout).toContain(option);
    }
  });

  it('help help explains help and exits 0', async () => {
    const r = await run('help', 'help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: dexbridge help [command]');
  });

  it.each([
    [['help', '--help'], 'Usage: dexbridge help [command]'],
    [['help', '-h'], 'Usage: dexbridge help [command]'],
    [['--help', '--help'], 'Usage: dexbridge <command>'],
    [['-h', '-h'], 'Usage: dexbridge <command>'],
  ])('%j prints %s and exits 0', async (args, usage) => {
    const r = await run(...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(usage)).toBe(true);
  });

  it('help for an unknown command is a usage error', async () => {
    const r = await run('help', 'frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: CLI_USAGE: .*"frobnicate"/);
  });

  it('--version prints the version of @dexbridge/server', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`dexbridge ${pkg.version}\n`);
  });
});

describe('dexbridge recover', () => {
  it('reports a bad input or output with a CLI code and the recording layer\'s code, never as an unexpected error', async () => {
    const text = join(dir, 'not-a-recording.mcap');
    writeFileSync(text, 'hello, not an MCAP file\n');
    const notMcap = await run('recover', text);
    expect(notMcap.code).toBe(2);
    expect(notMcap.stderr).toContain('CLI_UNKNOWN_FORMAT: recover: RECORDING_NOT_MCAP:');
    const folder = await run('recover', dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('CLI_INPUT_UNREADABLE');
    // The MCAP magic alone passes the input check; the output's folder does not exist.
    const magic = join(dir, 'magic-only.mcap');
    writeFileSync(magic, Uint8Array.of(0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a));
    const noFolder = await run('recover', magic, '--out', join(dir, 'no', 'such', 'folder', 'out.mcap'));
    expect(noFolder.code).toBe(1);
    expect(noFolder.stderr).toContain('CLI_OUTPUT_FAILED: recover: RECORDING_OPEN_FAILED:');
    for (const r of [notMcap, folder, noFolder]) expect(r.stderr).not.toContain('unexpected error');
  });
});

describe('serve options', () => {
  it.each([
    [['--ros-version', '1.5'], '--ros-version must be 1 or 2, got "1.5"'],
    [['--ros-version', '3'], '--ros-version must be 1 or 2, got "3"'],
    [['--ros-version', '2.0'], '--ros-version must be 1 or 2, got "2.0"'],
    [['--port', '80.5'], '--port must be an integer in 0..65535, got "80.5"'],
    [['--port', ''], '--port must be an integer in 0..65535, got ""'],
    [['--port', '65536'], '--port must be an integer in 0..65535'],
    [['--port', '0x50'], '--port must be an integer in 0..65535, got "0x50"'],
    [['--port', '8e3'], '--port must be an integer in 0..65535, got "8e3"'],
    [['--port', ' 80'], '--port must be an integer in 0..65535, got " 80"'],
    [['--control-rate', '1e2'], '--control-rate must be a number in 1..1000, got "1e2"'],
    [['--watchdog', 'Infinity'], '--watchdog must be a number in 10..10000, got "Infinity"'],
    [['--chunk-k', '1.5'], '--chunk-k must be an integer in 1..256, got "1.5"'],
    [['--chunk-k', '257'], '--chunk-k must be an integer in 1..256'],
    [['--control-rate', '0.5'], '--control-rate must be a number in 1..1000'],
    [['--watchdog', '9'], '--watchdog must be a number in 10..10000'],
    [['--operator-token', 'seven77'], '--operator-token must have at least 8 characters'],
    [['--rosbridge', 'http://robot:9090'], '--rosbridge must be a ws:// or wss:// URL'],
  ])('serve %j is CLI_USAGE, exit 2, naming the option and what it allows', (args, message) => {
    // parseServeArgs, not main: were the value accepted, main would start a server.
    let thrown: unknown;
    try {
      parseServeArgs(args);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'CliError', code: 'CLI_USAGE', exitCode: 2 });
    expect((thrown as Error).message).toContain(`serve: ${message}`);
  });

  it('takes --ros-version 1 or 2, and fractional --control-rate and --watchdog', () => {
    expect(parseServeArgs(['--ros-version', '1'])).toMatchObject({ rosVersion: 1 });
    expect(parseServeArgs(['--ros-version', '2'])).toMatchObject({ rosVersion: 2 });
    expect(parseServeArgs(['--port', '65535', '--chunk-k', '256', '--control-rate', '62.5', '--watchdog', '150.5'])).toMatchObject({
      port: 65535, teleopChunkK: 256, controlRateHz: 62.5, watchdogMs: 150.5,
    });
  });

  it.each([
    ['not-json.json', 'not json', 'is not valid JSON'],
    ['missing.json', undefined, 'cannot read'],
  ])('reports a bad --robot-config (%s) as CLI_USAGE wrapping ROBOT_CONFIG_INVALID, exit 2', async (name, text, detail) => {
    const file = join(dir, name);
    if (text !== undefined) writeFileSync(file, text);
    const r = await run('serve', '--robot-config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dexbridge: CLI_USAGE: serve: --robot-config: ROBOT_CONFIG_INVALID: robot config: /);
    expect(r.stderr).toContain(detail);
  });
});

it('server/bin/dexbridge.js exits 2 with a hint when the CLI is not built', () => {
  // A copy of the launcher with no dist/ beside it.
  const bin = join(dir, 'unbuilt', 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(fileURLToPath(new URL('../bin/dexbridge.js', import.meta.url)), join(bin, 'dexbridge.js'));
  writeFileSync(join(dir, 'unbuilt', 'package.json'), '{"type": "module"}');
  const r = spawnSync(process.execPath, [join(bin, 'dexbridge.js'), '--version'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('dexbridge: the CLI is not built yet; run `npm run build`');
  expect(r.stdout).toBe('');
});

describe('frames whose time does not advance', () => {
  it('hold with hold "none" and tracked false, counted as "time not advancing"', () => {
    const [f0, f1, f2] = parseHandFramesJsonl(demoLines.slice(0, 3).join('\n'));
    const repeated = { ...f1! };
    const earlier = { ...f2!, tMs: f0!.tMs };
    expect(f1!.left).not.toBeNull();
    expect(f1!.right).not.toBeNull();
    const retargeter = new Retargeter(createRig());
    const stats = new RetargetStats();
    const lines: { status: Record<'left' | 'right', { tracked: boolean; hold: string }> }[] = [];
    for (const frame of [f0!, f1!, repeated, earlier, f2!]) {
      const out = retargeter.process(frame);
      stats.add(out, 0);
      lines.push(JSON.parse(formatOutputLine(out)) as (typeof lines)[number]);
    }
    for (const i of [2, 3]) {
      for (const side of ['left', 'right'] as const) expect(lines[i]!.status[side]).toMatchObject({ tracked: false, hold: 'none' });
    }
    for (const side of ['left', 'right'] as const) expect(lines[4]!.status[side]).toMatchObject({ tracked: true, hold: 'none' });
    const summary = formatSummary(stats, {
      input: 'x.mcap', formatLabel: 'dexbridge recording (MCAP)', armDescription: 'clutch', output: undefined,
      handScales: { left: { value: 1, source: 'auto' }, right: { value: 1, source: 'auto' } },
    });
    // The demo's first frame has no right hand.
    expect(summary).toMatch(/held frames\s+2 time not advancing\s+1 missing, 2 time not advancing\n/);
  });
});

describe('readHandFrames', () => {
  it('parses JSON Lines split at any point into the same frames as parseHandFramesJsonl', async () => {
    const text = `\ufeff${demoLines.slice(0, 6).join('\r\n')}\n\n${demoLines[6]}`;
    const expected = parseHandFramesJsonl(text);
    for (const size of [1, 7, 100, 4096, text.length]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const got = [];
      for await (const f of parseJsonlChunks(chunks)) got.push(f);
      expect(got).toEqual(expected);
    }
  });

  it('numbers lines like parseHandFramesJsonl in its errors (blank lines count)', async () => {
    const text = `${demoLines[0]}\n\n\n{"t": 1, "left": null}\n`;
    expect(() => parseHandFramesJsonl(text)).toThrow(/line 4/);
    await expect(async () => {
      for await (const _ of parseJsonlChunks([text])) {
        // drain
      }
    }).rejects.toMatchObject({ code: 'FORMAT_BAD_FRAME', line: 4 });
  });

  it.each([
    ['var a={schema:[],frames:[]};export{a as capture};', 'iwer'],
    ['/* IWER */\n// capture\nexport default {schema: [], frames: []}', 'iwer'],
    ['  {"schema": [], "frames": []}', 'iwer'],
    ['{schema: [], frames: []}', 'iwer'],
    ['{"t": 1, "left": null, "right": null}\n{"t": 2, "left": null, "right": null}\n', 'jsonl'],
    ['hello', null],
    ['', null],
    ['{"a": 1}', null],
  ])('detects the format of %j as %s', (text, format) => {
    expect(detectFormat(text)).toBe(format);
  });
});

it('locates the bundled demo relative to the module (src/cli and dist/cli are at the same depth)', () => {
  expect(fileURLToPath(DEMO_INPUT_URL)).toBe(DEMO);
});
