/**
 * Splits an MJPEG byte stream (JPEG files back to back, as `ffmpeg -f mjpeg pipe:1` writes them)
 * into whole JPEG images. It walks the JPEG marker segments (so a 0xFFD9 inside a header segment
 * is not taken for the end), then scans the entropy-coded data for the end-of-image marker (where
 * 0xFF bytes are always stuffed as 0xFF00 or are restart markers). Bytes before a start-of-image
 * marker are skipped (counted in {@link skippedBytes}). Pure TypeScript.
 */
import { ByteQueue } from './ByteQueue.js';

export interface JpegImage {
  /** The whole file, SOI to EOI (a copy: the splitter reuses its buffer). */
  readonly data: Uint8Array;
  /** From the first SOFn segment; 0 if none was seen. */
  readonly width: number;
  readonly height: number;
}

export class MjpegSplitter {
  readonly #in = new ByteQueue();
  #skipped = 0;
  readonly #maxFrameBytes: number;

  /** @param maxFrameBytes an image larger than this is dropped (skipped) rather than buffered without bound. Default 8 MiB. */
  constructor(maxFrameBytes = 8 * 1024 * 1024) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes thrown away: garbage between images, or images over `maxFrameBytes`. */
  get skippedBytes(): number {
    return this.#skipped;
  }

  /** Appends `chunk` and returns the images it completed, in order. */
  push(chunk: Uint8Array): JpegImage[] {
    this.#in.append(chunk);
    const out: JpegImage[] = [];
    for (;;) {
      const start = this.#findSoi();
      if (start < 0) break;
      if (start > 0) this.#consume(start, true);
      const r = this.#parse();
      if (r === null) {
        if (this.#in.length > this.#maxFrameBytes) this.#consume(2, true); // give up on this image: resynchronise
        break;
      }
      if (r === 'bad') {
        this.#consume(2, true);
        continue;
      }
      out.push({ data: this.#in.bytes.slice(0, r.end), width: r.width, height: r.height });
      this.#consume(r.end, false);
    }
    return out;
  }


  #consume(n: number, skipped: boolean): void {
    if (skipped) this.#skipped += n;
    this.#in.consume(n);
  }

  /** Index of the first 0xFFD8, or −1 (then everything but a trailing 0xFF is garbage). */
  #findSoi(): number {
    const b = this.#in.bytes;
    for (let i = 0; i + 1 < this.#in.length; i++) if (b[i] === 0xff && b[i + 1] === 0xd8) return i;
    const keep = this.#in.length > 0 && b[this.#in.length - 1] === 0xff ? 1 : 0;
    if (this.#in.length - keep > 0) this.#consume(this.#in.length - keep, true);
    return -1;
  }

  /** The image starting at 0: its end (exclusive) and size, null if incomplete, 'bad' if malformed. */
  #parse(): { end: number; width: number; height: number } | null | 'bad' {
    const b = this.#in.bytes;
    const len = this.#in.length;
    let width = 0;
    let height = 0;
    let p = 2;
    for (;;) {
      if (p + 2 > len) return null;
      if (b[p] !== 0xff) return 'bad';
      const m = b[p + 1]!;
      if (m === 0xff) {
        p++; // fill byte
        continue;
      }
      if (m === 0xd9) return { end: p + 2, width, height };
      if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        p += 2; // markers without a length
        continue;
      }
      if (p + 4 > len) return null;
      const segLen = (b[p + 2]! << 8) | b[p + 3]!;
      if (segLen < 2) return 'bad';
      // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC): [precision, height, width, …]
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc && width === 0) {
        if (p + 9 > len) return null;
        height = (b[p + 5]! << 8) | b[p + 6]!;
        width = (b[p + 7]! << 8) | b[p + 8]!;
      }
      p += 2 + segLen;
      if (m !== 0xda) continue;
      // Entropy-coded data after SOS: runs to the next marker that is not a stuffed 0xFF00 or RSTn.
      for (;;) {
        if (p + 1 >= len) return null;
        if (b[p] === 0xff) {
          const n = b[p + 1]!;
          if (n === 0x00 || (n >= 0xd0 && n <= 0xd7)) {
            p += 2;
            continue;
          }
          if (n === 0xff) {
            p++;
            continue;
          }
          break; // a marker: EOI, or another segment (progressive JPEG)
        }
        p++;
      }
    }
  }
}
