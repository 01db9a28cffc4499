/**
 * Node file I/O for recordings: a {@link RecordingSink} over a `FileHandle` that never overwrites,
 * and unique recording file names.
 */
import { access, type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, RecordingError } from './RecordingError.js';
import type { RecordingSink } from './RecordingSink.js';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Appends to a new file; `flush()` is `fdatasync`, so flushed data survives a power loss. */
export class FileSink implements RecordingSink {
  readonly path: string;
  readonly #handle: FileHandle;
  #position = 0n;
  #closed = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /**
   * Creates `path` and opens it for appending. Never overwrites: the file must not exist (`wx`).
   * @throws RecordingError `RECORDING_FILE_EXISTS` if it exists, `RECORDING_OPEN_FAILED` for other
   *   failures (missing folder, permissions, …).
   */
  static async create(path: string): Promise<FileSink> {
    try {
      return new FileSink(path, await open(path, 'wx'));
    } catch (error) {
      if (errorCode(error) === 'EEXIST') {
        throw new RecordingError('RECORDING_FILE_EXISTS', `recording: ${path} already exists; recordings are never overwritten`, {
          cause: error,
        });
      }
      throw new RecordingError('RECORDING_OPEN_FAILED', `recording: cannot create ${path}: ${errorMessage(error)}`, { cause: error });
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
    this.#position += BigInt(bytes.length);
  }

  position(): bigint {
    return this.#position;
  }

  async flush(): Promise<void> {
    await this.#handle.datasync();
  }

  /** Closes the file; later calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `dexbridge-YYYYMMDD-HHMMSS` for `date`, in UTC. */
export function recordingBaseName(date: Date): string {
  return (
    `dexbridge-${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `-${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/** The n-th candidate name: `<base>.mcap`, then `<base>-1.mcap`, `<base>-2.mcap`, … */
const candidate = (dir: string, base: string, n: number): string => join(dir, n === 0 ? `${base}.mcap` : `${base}-${n}.mcap`);

const MAX_CANDIDATES = 10_000;

/**
 * A path in `dir` named `dexbridge-YYYYMMDD-HHMMSS[-n].mcap` (UTC time of `date`) that does not
 * exist yet. Another process may still take it before you create it; {@link createRecordingFile}
 * has no such race.
 */
export async function newRecordingPath(dir: string, date: Date = new Date()): Promise<string> {
  const base = recordingBaseName(date);
  for (let n = 0; n < MAX_CANDIDATES; n++) {
    const path = candidate(dir, base, n);
    try {
      await access(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return path;
      throw new RecordingError('RECORDING_OPEN_FAILED', `recording: cannot check ${path}: ${errorMessage(error)}`, { cause: error });
    }
  }
  throw new RecordingError('RECORDING_OPEN_FAILED', `recording: ${MAX_CANDIDATES} recordings named ${base}[-n].mcap already exist in ${dir}`);
}

/**
 * Creates a new recording file in `dir` named like {@link newRecordingPath}, taking the next free
 * `-n` suffix if a name is taken meanwhile (each attempt is an exclusive create).
 * @throws RecordingError `RECORDING_OPEN_FAILED` if the folder is missing or not writable.
 */
export async function createRecordingFile(dir: string, date: Date = new Date()): Promise<FileSink> {
  const base = recordingBaseName(date);
  for (let n = 0; n < MAX_CANDIDATES; n++) {
    try {
      return await FileSink.create(candidate(dir, base, n));
    } catch (error) {
      if (!(error instanceof RecordingError && error.code === 'RECORDING_FILE_EXISTS')) throw error;
    }
  }
  throw new RecordingError('RECORDING_OPEN_FAILED', `recording: ${MAX_CANDIDATES} recordings named ${base}[-n].mcap already exist in ${dir}`);
}
