/**
 * Opens a recorded hand-tracking file for the command line: hand-frame JSON Lines (read line by
 * line, so a long recording is never held as one string) or an IWER capture (parsed whole: it is
 * one JavaScript literal). See `docs/formats.md`.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { FormatError, type HandFrame, parseHandFrameLine, parseIwerCapture } from '@dexbridge/retarget';
import { type RecordedCalibration, retargetInputFromRecording } from '../recording/index.js';
import { CliError } from './CliError.js';

export type HandFrameFormat = 'jsonl' | 'iwer' | 'mcap';

/** Human-readable names of the formats, for summaries. */
export const FORMAT_LABELS: Readonly<Record<HandFrameFormat, string>> = {
  jsonl: 'hand-frame JSON Lines',
  iwer: 'IWER capture',
  mcap: 'dexbridge recording (MCAP)',
};

/** File name extensions always read as JSON Lines. */
const JSONL_EXTENSIONS = new Set(['.jsonl', '.ndjson']);

export interface HandFrameSource {
  readonly path: string;
  readonly format: HandFrameFormat;
  /**
   * The frames in time order. Iterate once. JSON Lines input is parsed while iterating, so a
   * `FormatError` (naming the line) can be thrown from the iteration.
   */
  readonly frames: AsyncIterable<HandFrame>;
  /** A dexbridge recording's calibrations, each placed before a frame of `frames`; none for other formats. */
  readonly calibrations?: readonly RecordedCalibration[];
}

function inputError(err: unknown, path: string, what: string): CliError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new CliError('CLI_INPUT_NOT_FOUND', `${what} not found: ${path}`);
  return new CliError('CLI_INPUT_UNREADABLE', `cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Checks that `path` is an existing regular file, with coded errors naming it. */
export async function checkInputFile(path: string, what: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    throw inputError(err, path, what);
  }
  if (!info.isFile()) {
    throw new CliError('CLI_INPUT_UNREADABLE', `${what} ${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  }
}

/** Reads a whole file as UTF-8 text (for files that must be parsed whole). */
export async function readInputText(path: string, what: string): Promise<string> {
  await checkInputFile(path, what);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw inputError(err, path, what);
  }
}

/**
 * Parses hand-frame JSON Lines from text chunks split anywhere. Same rules and messages as
 * `parseHandFramesJsonl` (blank lines skipped but counted, `\r\n` and a leading byte-order mark
 * accepted, `t` strictly increasing), without holding the whole text.
 */
export async function* parseJsonlChunks(chunks: AsyncIterable<string> | Iterable<string>): AsyncGenerator<HandFrame> {
  let pending = '';
  let lineNumber = 0;
  let first = true;
  let previousT = Number.NaN;
  let previousLine = 0;
  function* take(line: string): Generator<HandFrame> {
    lineNumber++;
    if (line.trim() === '') return;
    const frame = parseHandFrameLine(line, lineNumber);
    if (previousLine > 0 && !(frame.tMs > previousT)) {
      throw new FormatError(
        'FORMAT_TIME_NOT_MONOTONIC',
        `formats: line ${lineNumber}: "t" ${frame.tMs} is not after the previous frame's ${previousT} (line ${previousLine}); t must strictly increase`,
        lineNumber,
      );
    }
    previousT = frame.tMs;
    previousLine = lineNumber;
    yield frame;
  }
  for await (const raw of chunks) {
    let chunk = raw;
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    let start = 0;
    for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
      const line = pending + chunk.slice(start, end);
      pending = '';
      start = end + 1;
      yield* take(line);
    }
    pending += chunk.slice(start);
  }
  yield* take(pending);
}

async function* streamJsonl(path: string): AsyncGenerator<HandFrame> {
  // The stream opens the file at the first read and closes it when the iteration ends or stops.
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    yield* parseJsonlChunks(stream);
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw inputError(err, path, 'input file');
  } finally {
    stream.destroy();
  }
}

async function* fromArray(frames: readonly HandFrame[]): AsyncGenerator<HandFrame> {
  yield* frames;
}

/** Skips whitespace, a byte-order mark and JavaScript comments at the start of `text`. */
function skipLeadingSpace(text: string): number {
  let p = 0;
  for (;;) {
    while (p < text.length && /[\s\ufeff]/.test(text[p]!)) p++;
    if (text.startsWith('//', p)) {
      const end = text.indexOf('\n', p);
      p = end < 0 ? text.length : end + 1;
    } else if (text.startsWith('/*', p)) {
      const end = text.indexOf('*/', p + 2);
      p = end < 0 ? text.length : end + 2;
    } else {
      return p;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decides the format of a file that does not end in `.jsonl` from its text. */
export function detectFormat(text: string): HandFrameFormat | null {
  const start = skipLeadingSpace(text);
  const head = text.slice(start, start + 64);
  if (/^(var|let|const)\s/.test(head) || /^export\b/.test(head)) return 'iwer';
  if (!head.startsWith('{')) return null;
  try {
    const whole: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    if (isObject(whole) && Object.hasOwn(whole, 'schema') && Object.hasOwn(whole, 'frames')) return 'iwer';
  } catch {
    // Not one JSON value: JSON Lines or a JavaScript object literal; decided below.
  }
  const newline = text.indexOf('\n', start);
  try {
    const firstLine: unknown = JSON.parse(text.slice(start, newline < 0 ? text.length : newline));
    if (isObject(firstLine) && Object.hasOwn(firstLine, 't')) return 'jsonl';
  } catch {
    // Not a JSON line.
  }
  if (/^\{\s*["']?(schema|frames)["']?\s*:/.test(head)) return 'iwer';
  return null;
}

/**
 * Opens a hand-tracking recording. Files ending in `.jsonl` (or `.ndjson`) are hand-frame JSON
 * Lines; any other file is sniffed: a module starting (after whitespace and comments) with
 * `var`/`let`/`const`/`export`, or a JSON object with `schema` and `frames`, is an IWER capture;
 * text whose first line is a JSON object with `t` is JSON Lines.
 *
 * @throws {CliError} `CLI_INPUT_NOT_FOUND`, `CLI_INPUT_UNREADABLE`, `CLI_UNKNOWN_FORMAT`
 * @throws {FormatError} from the IWER parser (JSON Lines errors come from iterating `frames`)
 */
export async function readHandFrames(path: string): Promise<HandFrameSource> {
  if (extname(path).toLowerCase() === '.mcap') {
    await checkInputFile(path, 'input file');
    // The recording's raw operator frames, to retarget again, and the calibrations it was recorded with.
    let input: Awaited<ReturnType<typeof retargetInputFromRecording>>;
    try {
      input = await retargetInputFromRecording(path);
    } catch (err) {
      throw new CliError('CLI_UNKNOWN_FORMAT', `${path}: not a readable dexbridge recording (${(err as Error).message}); if it was cut by a crash, run dexbridge recover first`);
    }
    return { path, format: 'mcap', frames: fromArray(input.frames), calibrations: input.calibrations };
  }
  if (JSONL_EXTENSIONS.has(extname(path).toLowerCase())) {
    await checkInputFile(path, 'input file');
    return { path, format: 'jsonl', frames: streamJsonl(path) };
  }
  const text = await readInputText(path, 'input file');
  const format = detectFormat(text);
  if (format === 'iwer') return { path, format, frames: fromArray(parseIwerCapture(text)) };
  if (format === 'jsonl') return { path, format, frames: parseJsonlChunks([text]) };
  const start = skipLeadingSpace(text);
  const preview = text.slice(start, start + 40).replace(/\s+/g, ' ').trimEnd();
  throw new CliError(
    'CLI_UNKNOWN_FORMAT',
    `${path}: unknown input format: expected hand-frame JSON Lines (a .jsonl file, one {"t", "left", "right"} object per line) ` +
      `or an IWER capture (a module starting with "var" or "export", or a JSON object with "schema" and "frames"); ` +
      (start >= text.length ? 'the file is empty' : `the file starts with ${JSON.stringify(preview)}`),
  );
}
