/** Random-access reads of a file for `McapIndexedReader` (`@mcap/core`'s `IReadable`). */
import { type FileHandle, open } from 'node:fs/promises';
import type { IReadable } from '@mcap/core';

export class FileReadable implements IReadable {
  readonly #handle: FileHandle;
  readonly #size: bigint;

  private constructor(handle: FileHandle, size: bigint) {
    this.#handle = handle;
    this.#size = size;
  }

  /** Opens `path` read-only. Rejects with Node's error (ENOENT, EISDIR, …). */
  static async open(path: string): Promise<FileReadable> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new FileReadable(handle, BigInt(size));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async size(): Promise<bigint> {
    return this.#size;
  }

  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    if (offset < 0n || size < 0n || offset + size > this.#size) {
      throw new RangeError(`recording: read of ${size} bytes at ${offset} is outside the file (${this.#size} bytes)`);
    }
    const out = new Uint8Array(Number(size));
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.#handle.read(out, done, out.length - done, Number(offset) + done);
      if (bytesRead === 0) throw new RangeError(`recording: the file ended at ${Number(offset) + done} while reading ${size} bytes at ${offset}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
