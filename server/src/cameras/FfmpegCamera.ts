/**
 * A camera read through Debian's `ffmpeg` run as a child process: anything ffmpeg opens (a V4L2
 * USB camera, an RTSP IP camera, a file, a synthetic test source) comes out of its stdout as MJPEG
 * (JPEG files back to back, split into frames by {@link MjpegSplitter}) or, with `codec: 'h264'`,
 * as H.264 from libx264 with low-latency settings in FLV tags (split into access units by
 * {@link FlvH264Splitter}; why FLV there).
 *
 * It never blocks the caller: the child runs on its own; its output arrives as stream events.
 * A missing `ffmpeg` (`CAMERA_FFMPEG_MISSING`), a child that exits (`CAMERA_SOURCE_FAILED`, with
 * the last lines ffmpeg printed) or one that stops delivering for `stallMs` (`CAMERA_STALLED`: the
 * child is killed) shows in {@link status}; the child is started again after `restartMs`.
 * `close()` kills the child (SIGTERM, then SIGKILL after 1 s) and resolves when it has exited.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { FfmpegCameraConfig } from './cameraConfig.js';
import { FlvH264Splitter } from './FlvH264Splitter.js';
import { MjpegSplitter } from './MjpegSplitter.js';
import type { CameraErrorCode, CameraFrame, CameraSource, CameraSourceStatus } from './types.js';

/** A camera's configuration (cameraConfig.ts: what ffmpeg opens and how), and how this process runs it. */
export interface FfmpegCameraOptions extends Omit<FfmpegCameraConfig, 'source'> {
  /** Server clock, ms. */
  readonly now: () => number;
  /** The ffmpeg program; default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
  /** Start a failed or stalled child again after this long, ms. Default 2000. */
  readonly restartMs?: number;
  /** No frame for this long after the first → stalled, and the child is restarted, ms. Default 3000. */
  readonly stallMs?: number;
}

/** The ffmpeg arguments for these options (exported for docs and tests). */
export function ffmpegArgs(o: FfmpegCameraOptions): string[] {
  const filters: string[] = [];
  if (o.fps !== undefined) filters.push(`fps=${o.fps}`);
  if (o.width !== undefined || o.height !== undefined) filters.push(`scale=${o.width ?? -2}:${o.height ?? -2}`);
  if (o.filter !== undefined) filters.push(o.filter);
  // 4:2:0 H.264 needs even sizes: libx264 refuses an odd width or height, so an odd last column or row is cropped away.
  if (o.codec === 'h264') filters.push('crop=trunc(iw/2)*2:trunc(ih/2)*2');
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...(o.realtime === true ? ['-re'] : []),
    ...(o.loop === true ? ['-stream_loop', '-1'] : []),
    ...(o.inputOptions ?? []),
    ...(o.format !== undefined ? ['-f', o.format] : []),
    '-i', o.input,
    '-an', '-sn', '-dn',
    ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
    ...(o.codec === 'h264' ? h264Output(o) : mjpegOutput(o)),
  ];
}

/**
 * libx264 for a live view: `ultrafast` + `zerolatency` (no look-ahead, no frame buffering: a frame
 * leaves the encoder as soon as it is encoded), the baseline profile (no B-frames, so decode order
 * is display order and every browser decoder takes it), a key frame at least every
 * `keyframeIntervalS` (a new viewer, or one that skipped a frame, waits at most that long),
 * SPS/PPS repeated in every key frame (each one starts a decoder on its own), and each frame
 * flushed to the pipe as one FLV tag.
 */
function h264Output(o: FfmpegCameraOptions): string[] {
  const interval = o.keyframeIntervalS ?? 1;
  return [
    '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0',
    '-crf', String(o.crf ?? 23), '-force_key_frames', `expr:gte(t,n_forced*${interval})`, '-x264-params', 'repeat-headers=1',
    '-flush_packets', '1', '-f', 'flv', 'pipe:1',
  ];
}

function mjpegOutput(o: FfmpegCameraOptions): string[] {
  return [
    // One encoder thread: ffmpeg's MJPEG encoder otherwise uses frame threads, each holding a frame
    // back (measured: every frame a frame period late on 2 cores), which is latency on every frame.
    '-threads', '1',
    // Full-range YUV is what a browser's JPEG decoder and every image tool expect from a JPEG.
    '-pix_fmt', 'yuvj420p', '-c:v', 'mjpeg', '-q:v', String(o.quality ?? 5),
    '-flush_packets', '1', '-f', 'mjpeg', 'pipe:1',
  ];
}

export class FfmpegCamera implements CameraSource {
  readonly kind = 'ffmpeg' as const;
  readonly codec: 'jpeg' | 'h264';
  readonly id: string;
  readonly #o: FfmpegCameraOptions;
  readonly #restartMs: number;
  readonly #stallMs: number;
  #child: ChildProcessByStdio<null, Readable, Readable> | null = null;
  #exited: Promise<void> = Promise.resolve();
  #onFrame: ((f: CameraFrame) => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Looks for a stall even when nobody asks for the status. */
  #watch: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  #seq = 0;
  #lastFrameMs = Number.NaN;
  /** When the current child was started (the stall limit of a restarted child counts from here). */
  #spawnedMs = Number.NaN;
  #lastCaptureMs = Number.NaN;
  #code: CameraErrorCode | null = null;
  #error: string | null = null;
  #stderrTail: string[] = [];
  #stalled = false;

  constructor(o: FfmpegCameraOptions) {
    for (const k of ['fps', 'width', 'height', 'quality', 'keyframeIntervalS', 'restartMs', 'stallMs'] as const) {
      const v = o[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`camera ${o.id}: ${k} must be a positive number, got ${String(v)}`);
    }
    if (o.crf !== undefined && !(Number.isInteger(o.crf) && o.crf >= 0 && o.crf <= 51)) throw new RangeError(`camera ${o.id}: crf must be an integer in 0..51, got ${String(o.crf)}`);
    this.id = o.id;
    this.codec = o.codec ?? 'jpeg';
    this.#o = o;
    this.#restartMs = o.restartMs ?? 2000;
    this.#stallMs = o.stallMs ?? 3000;
  }

  start(onFrame: (frame: CameraFrame) => void): void {
    if (this.#onFrame !== null || this.#closed) return;
    this.#onFrame = onFrame;
    this.#spawn();
    this.#watch = setInterval(() => this.status(this.#o.now()), Math.max(100, this.#stallMs / 2));
    this.#watch.unref?.();
  }

  status(nowMs: number): CameraSourceStatus {
    // A restarted child has its own stall limit from its start: measured from the last frame of the
    // child before, it was killed again before it could deliver its first.
    const since = Math.max(this.#lastFrameMs, this.#spawnedMs);
    if (!this.#closed && this.#child !== null && Number.isFinite(this.#lastFrameMs) && nowMs - since > this.#stallMs && !this.#stalled) {
      // Stalled: say so, and start the child again (an RTSP stream that hangs never recovers on its own).
      this.#stalled = true;
      this.#setError('CAMERA_STALLED', `camera ${this.id}: no frame for ${Math.round(nowMs - since)} ms (stall limit ${this.#stallMs} ms); restarting ffmpeg`);
      this.#child.kill('SIGKILL');
    }
    const running = this.#code === null && Number.isFinite(this.#lastFrameMs);
    return {
      id: this.id,
      state: running ? 'running' : this.#code === 'CAMERA_STALLED' ? 'stalled' : this.#code !== null ? 'failed' : 'starting',
      code: this.#code,
      error: this.#error,
      frames: this.#seq,
      ageMs: Number.isFinite(this.#lastCaptureMs) ? Math.max(0, Math.round(nowMs - this.#lastCaptureMs)) : null,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#watch !== null) clearInterval(this.#watch);
    this.#watch = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 1000);
      await this.#exited;
      clearTimeout(force);
    }
  }

  /** The running child's process id (tests check that close leaves none behind). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Kills the child at once (process exit: nothing may be left behind). */
  killNow(): void {
    this.#closed = true;
    if (this.#watch !== null) clearInterval(this.#watch);
    this.#child?.kill('SIGKILL');
  }

  #setError(code: CameraErrorCode, message: string): void {
    this.#code = code;
    this.#error = message;
  }

  #spawn(): void {
    this.#timer = null;
    if (this.#closed) return;
    const push = this.#splitter();
    this.#stderrTail = [];
    this.#stalled = false;
    this.#spawnedMs = this.#o.now();
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(this.#o.ffmpegPath ?? 'ffmpeg', ffmpegArgs(this.#o), { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.#setError('CAMERA_SOURCE_FAILED', `camera ${this.id}: cannot start ffmpeg: ${(err as Error).message}`);
      this.#scheduleRestart();
      return;
    }
    this.#child = child;
    let spawnFailed = false;
    let badStream = false;
    let ended = (): void => undefined;
    this.#exited = new Promise<void>((resolve) => {
      ended = () => {
        if (this.#child === child) this.#child = null;
        this.#scheduleRestart();
        resolve();
      };
    });
    child.once('close', (code, signal) => {
      if (!this.#closed && !spawnFailed && !this.#stalled && !badStream) {
        const tail = this.#stderrTail.join(' | ').slice(-400);
        this.#setError('CAMERA_SOURCE_FAILED', `camera ${this.id}: ffmpeg exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}; restarting in ${this.#restartMs} ms`);
      }
      ended();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      // A child that could not start may never emit 'close': end it here too (ended() is idempotent in effect).
      spawnFailed = true;
      queueMicrotask(ended);
      if (err.code === 'ENOENT') {
        this.#setError('CAMERA_FFMPEG_MISSING', `camera ${this.id}: ${this.#o.ffmpegPath ?? 'ffmpeg'} not found; install Debian's ffmpeg (apt-get install ffmpeg)`);
      } else {
        this.#setError('CAMERA_SOURCE_FAILED', `camera ${this.id}: cannot start ffmpeg: ${err.message}`);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim() !== '') this.#stderrTail.push(line.trim());
      if (this.#stderrTail.length > 4) this.#stderrTail.splice(0, this.#stderrTail.length - 4);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (badStream) return;
      try {
        push(chunk);
      } catch (err) {
        // A stream that cannot be split cannot be resynchronised either: a new child starts a clean one.
        badStream = true;
        this.#setError('CAMERA_BAD_FRAME', `camera ${this.id}: ${(err as Error).message}; restarting ffmpeg`);
        child.kill('SIGKILL');
      }
    });
  }

  /** A fresh splitter for one child's output, delivering what it completes. */
  #splitter(): (chunk: Buffer) => void {
    if (this.codec === 'h264') {
      const flv = new FlvH264Splitter();
      return (chunk) => {
        for (const au of flv.push(chunk)) this.#deliver(au.data, au.width, au.height, au.keyFrame);
      };
    }
    const mjpeg = new MjpegSplitter();
    return (chunk) => {
      for (const img of mjpeg.push(chunk)) this.#deliver(img.data, img.width, img.height, true);
    };
  }

  #scheduleRestart(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = setTimeout(() => this.#spawn(), this.#restartMs);
    this.#timer.unref?.();
  }

  #deliver(data: Uint8Array, width: number, height: number, keyFrame: boolean): void {
    const now = this.#o.now();
    this.#lastFrameMs = now;
    // ffmpeg hands over a frame as soon as it is encoded: the time the server has it is the
    // closest to capture this source can tell (docs/cameras.md).
    this.#lastCaptureMs = now;
    if (this.#code !== null) {
      this.#code = null;
      this.#error = null;
    }
    this.#stalled = false;
    const frame: CameraFrame = {
      cameraId: this.id, seq: this.#seq++, captureTimeMs: now, receivedTimeMs: now, codec: this.codec, keyFrame,
      width: Math.min(width, 0xffff), height: Math.min(height, 0xffff), data,
    };
    this.#onFrame?.(frame);
  }
}
