/**
 * JPEG for raw images (`sensor_msgs/Image` rgb8, bgr8, mono8): one long-lived Debian `ffmpeg`
 * child per image format and size, fed raw frames on stdin (`-f rawvideo`) and writing MJPEG on
 * stdout, split by {@link MjpegSplitter}. ffmpeg keeps the order, one JPEG per raw frame, so each
 * JPEG takes the capture time of the raw frame it came from (a FIFO of times). Latest wins: while
 * ffmpeg has not taken the previous frames (more than 2 frames wait in its pipe), a new frame is
 * dropped (counted). A change of size or encoding starts a new child.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { MjpegSplitter } from './MjpegSplitter.js';

/** ROS encodings accepted, and ffmpeg's name and bytes per pixel for each. */
export const RAW_ENCODINGS = { rgb8: { pixFmt: 'rgb24', bpp: 3 }, bgr8: { pixFmt: 'bgr24', bpp: 3 }, mono8: { pixFmt: 'gray', bpp: 1 } } as const;
export type RawEncoding = keyof typeof RAW_ENCODINGS;

export interface EncodedImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly captureTimeMs: number;
  readonly receivedTimeMs: number;
}

export class RawImageEncoder {
  readonly #ffmpegPath: string;
  readonly #quality: number;
  readonly #onImage: (img: EncodedImage) => void;
  readonly #onError: (message: string) => void;
  #child: ChildProcessByStdio<Writable, Readable, Readable> | null = null;
  #key = '';
  #times: { captureTimeMs: number; receivedTimeMs: number }[] = [];
  #dropped = 0;
  #closed = false;

  constructor(o: { ffmpegPath?: string; quality?: number; onImage: (img: EncodedImage) => void; onError: (message: string) => void }) {
    this.#ffmpegPath = o.ffmpegPath ?? 'ffmpeg';
    this.#quality = o.quality ?? 5;
    this.#onImage = o.onImage;
    this.#onError = o.onError;
  }

  /** Frames dropped because ffmpeg had not taken the earlier ones yet. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The child's process id, while one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** One raw image, tightly packed (`width × bpp` bytes per row). */
  push(encoding: RawEncoding, width: number, height: number, pixels: Uint8Array, captureTimeMs: number, receivedTimeMs: number): void {
    if (this.#closed) return;
    const key = `${encoding} ${width}x${height}`;
    if (key !== this.#key || this.#child === null) this.#start(encoding, width, height, key);
    const child = this.#child;
    if (child === null) return;
    if (child.stdin.writableLength > 2 * pixels.length) {
      this.#dropped++;
      return;
    }
    this.#times.push({ captureTimeMs, receivedTimeMs });
    child.stdin.write(pixels);
  }

  /** Kills the child at once; nothing more is encoded. Resolves when it has exited. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#stop();
  }

  #stop(): Promise<void> {
    const c = this.#child;
    this.#child = null;
    this.#times = [];
    if (c === null || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.stdin.destroy();
    c.kill('SIGKILL');
    return exited;
  }

  #start(encoding: RawEncoding, width: number, height: number, key: string): void {
    void this.#stop();
    this.#key = key;
    const { pixFmt } = RAW_ENCODINGS[encoding];
    // No probing and one encoder thread: otherwise ffmpeg holds each JPEG back until the next raw
    // frame arrives (it reads ahead to find the stream's parameters, and frame threads pipeline).
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-probesize', '32', '-analyzeduration', '0', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${width}x${height}`, '-framerate', '30', '-i', 'pipe:0',
      '-an', '-fps_mode', 'passthrough', '-pix_fmt', 'yuvj420p', '-threads', '1', '-c:v', 'mjpeg', '-q:v', String(this.#quality), '-flush_packets', '1', '-f', 'mjpeg', 'pipe:1',
    ];
    let child: ChildProcessByStdio<Writable, Readable, Readable>;
    try {
      child = spawn(this.#ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.#onError(`cannot start ffmpeg to encode ${key} images: ${(err as Error).message}`);
      return;
    }
    this.#child = child;
    const splitter = new MjpegSplitter();
    let stderr = '';
    child.stdin.on('error', () => undefined); // a child that died: reported on close
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (t: string) => {
      stderr = (stderr + t).slice(-400);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      this.#onError(err.code === 'ENOENT' ? `${this.#ffmpegPath} not found; install Debian's ffmpeg (apt-get install ffmpeg)` : `ffmpeg failed to start: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      if (this.#child === child) {
        this.#child = null;
        this.#key = '';
        if (!this.#closed) this.#onError(`ffmpeg encoding ${key} images exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`);
      }
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.#child !== child) return;
      for (const img of splitter.push(chunk)) {
        const t = this.#times.shift();
        if (t === undefined) continue;
        this.#onImage({ data: img.data, width: img.width, height: img.height, captureTimeMs: t.captureTimeMs, receivedTimeMs: t.receivedTimeMs });
      }
    });
  }
}
