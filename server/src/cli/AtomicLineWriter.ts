/**
 * Writes a text file line by line through `<path>.tmp` and renames it into place at the end, so a
 * failed run never leaves a half-written file under the final name. Respects backpressure: lines
 * are gathered into chunks of about 64 KiB and each chunk waits for `'drain'` when the stream's
 * buffer is full, so a long recording never builds one huge string.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { CliError } from './CliError.js';

const CHUNK_CHARS = 64 * 1024;

function outputError(path: string, err: unknown): CliError {
  if (err instanceof CliError) return err;
  return new CliError('CLI_OUTPUT_FAILED', `cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
}

export class AtomicLineWriter {
  /** The final file name. */
  readonly path: string;
  /** The file written until {@link commit}: `<path>.tmp`. */
  readonly tmpPath: string;
  /** Lines written so far. */
  lines = 0;
  private readonly stream: WriteStream;
  private chunk = '';
  private done = false;
  /** A stream error seen between writes (reported by the next write or commit). */
  private error: unknown = undefined;

  private constructor(path: string, stream: WriteStream) {
    this.path = path;
    this.tmpPath = `${path}.tmp`;
    this.stream = stream;
    stream.on('error', (err) => {
      this.error ??= err;
    });
  }

  /**
   * Creates the output directory if needed and opens `<path>.tmp` for writing.
   * @throws {CliError} `CLI_OUTPUT_FAILED`
   */
  static async open(path: string): Promise<AtomicLineWriter> {
    try {
      await mkdir(dirname(path), { recursive: true });
      const writer = new AtomicLineWriter(path, createWriteStream(`${path}.tmp`, { encoding: 'utf8' }));
      await once(writer.stream, 'open');
      return writer;
    } catch (err) {
      throw outputError(path, err);
    }
  }

  /** Appends one line (a newline is added). Resolves at once unless a full chunk must wait for `'drain'`. */
  async writeLine(line: string): Promise<void> {
    this.chunk += `${line}\n`;
    this.lines++;
    if (this.chunk.length >= CHUNK_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = this.chunk;
    this.chunk = '';
    if (chunk === '') return;
    try {
      if (this.error !== undefined) throw this.error;
      if (!this.stream.write(chunk)) await once(this.stream, 'drain');
    } catch (err) {
      throw outputError(this.path, err);
    }
  }

  /**
   * Writes what is left, closes the file and renames `<path>.tmp` to `<path>` (replacing it).
   * @throws {CliError} `CLI_OUTPUT_FAILED` (the temporary file is removed)
   */
  async commit(): Promise<void> {
    try {
      await this.flush();
      this.stream.end();
      await finished(this.stream);
      await rename(this.tmpPath, this.path);
      this.done = true;
    } catch (err) {
      await this.abort();
      throw outputError(this.path, err);
    }
  }

  /** Discards the output: closes and deletes `<path>.tmp`. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    if (!this.stream.closed) await once(this.stream, 'close').catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}
