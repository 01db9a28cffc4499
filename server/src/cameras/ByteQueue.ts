/**
 * The input of the stream splitters (MJPEG, FLV/H.264): bytes appended as they come from a child's
 * stdout, consumed from the front once a frame is out. One buffer, doubled when full, so a frame
 * split across many reads is never copied more than a few times.
 */
export class ByteQueue {
  #buf = new Uint8Array(0);
  #len = 0;

  /** The buffer; bytes 0..length−1 are the queued ones. Valid until the next append (it may grow). */
  get bytes(): Uint8Array {
    return this.#buf;
  }

  get length(): number {
    return this.#len;
  }

  append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + chunk.length, 65536));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /** Drops the first `n` bytes. */
  consume(n: number): void {
    if (n === 0) return;
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }
}
