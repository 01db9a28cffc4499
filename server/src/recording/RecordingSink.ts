/**
 * Where a recording's bytes go. The recorder core never touches files: Node's {@link FileSink},
 * a browser download or the in-memory {@link MemorySink} of the tests sit behind this interface
 * (shaped like `@mcap/core`'s `IWritable`, so a sink also serves `McapWriter`).
 *
 * The recorder calls the methods one at a time, each after the previous one settled, with one
 * exception: after the recording failed because a write never settled (`RECORDING_SINK_STALLED`),
 * `close()` is called without waiting for that write.
 */
export interface RecordingSink {
  /** Appends `bytes` (the sink may keep the buffer: the recorder never reuses it). */
  write(bytes: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  position(): bigint;
  /** Pushes what was written to durable storage (fsync); called after each forced chunk. */
  flush?(): Promise<void>;
  /** Releases the sink; called once, last. */
  close(): Promise<void>;
}

/** A sink that keeps the bytes in memory (tests, small in-browser recordings). */
export class MemorySink implements RecordingSink {
  readonly #parts: Uint8Array[] = [];
  #length = 0;
  #closed = false;
  /** Number of `flush()` calls so far. */
  flushes = 0;

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error('recording: MemorySink is closed');
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  position(): bigint {
    return BigInt(this.#length);
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything written so far, as one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
