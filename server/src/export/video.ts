/**
 * The camera part of the LeRobot export: image sizes read from the JPEG/PNG headers, Debian's
 * `ffmpeg` as a child process to encode each camera's resampled frames into one MP4 (AV1 or
 * H.264) and to decode the frames sampled for the image statistics, and those statistics in
 * LeRobot's form. Layout and choices: `docs/dataset.md`.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ExportError } from './errors.js';

/** The `--video-codec` choices. */
export const VIDEO_CODECS = ['av1', 'h264'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];
export type ImageFormat = 'jpeg' | 'png';

/**
 * ffmpeg encoders per codec, in order of preference, with their quality options. The settings
 * are LeRobot's encoding defaults (GOP 2 so that random access to any frame decodes at most one
 * other frame; CRF 30; SVT-AV1 preset 12), so a policy trains on pictures as LeRobot's own
 * recorder would have stored them. libaom-av1 is there for an ffmpeg built without SVT-AV1.
 */
const ENCODERS: Record<VideoCodec, readonly { readonly encoder: string; readonly options: readonly string[] }[]> = {
  av1: [
    { encoder: 'libsvtav1', options: ['-crf', '30', '-preset', '12'] },
    // Constant quality in libaom needs -b:v 0; cpu-used 8 is its fastest (SVT's preset 12 is too).
    { encoder: 'libaom-av1', options: ['-crf', '30', '-b:v', '0', '-cpu-used', '8', '-row-mt', '1'] },
  ],
  h264: [{ encoder: 'libx264', options: ['-crf', '30'] }],
};
/** Common to every codec: the pixel format LeRobot's decoders expect, and the GOP size. */
const COMMON_OPTIONS = ['-pix_fmt', 'yuv420p', '-g', '2'];

export const VIDEO_PIX_FMT = 'yuv420p';

/** What ffmpeg's `-encoders` list says is usable for `codec`: the encoder and its options. */
export interface ChosenEncoder {
  readonly codec: VideoCodec;
  readonly encoder: string;
  readonly options: readonly string[];
}

const tail = (text: string, n = 600): string => (text.length > n ? `…${text.slice(-n)}` : text).trim();

/**
 * Runs `ffmpeg -encoders` and picks the encoder for `codec`.
 * @throws ExportError `EXPORT_FFMPEG_MISSING` (not found, or not runnable within 20 s),
 *   `EXPORT_VIDEO_CODEC_MISSING` (this ffmpeg has no encoder for `codec`).
 */
export async function chooseEncoder(ffmpegPath: string, codec: VideoCodec): Promise<ChosenEncoder> {
  const listing = await new Promise<string>((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-encoders'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      out += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      err = (err + t).slice(-2000);
    });
    // A wedged binary must not hang the export: give up on it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ExportError('EXPORT_FFMPEG_MISSING', `export: ${ffmpegPath} -encoders did not answer within 20 s`));
    }, 20_000);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new ExportError(
          'EXPORT_FFMPEG_MISSING',
          error.code === 'ENOENT'
            ? `export: the recordings have cameras and encoding them needs ffmpeg, but ${ffmpegPath} was not found; install Debian's ffmpeg (apt-get install ffmpeg)`
            : `export: cannot run ${ffmpegPath}: ${error.message}`,
        ),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new ExportError('EXPORT_FFMPEG_MISSING', `export: ${ffmpegPath} -encoders exited with ${code}: ${tail(err)}`));
    });
  });
  const available = new Set(listing.split('\n').map((line) => line.trim().split(/\s+/)[1]));
  const choice = ENCODERS[codec].find((e) => available.has(e.encoder));
  if (choice === undefined) {
    throw new ExportError(
      'EXPORT_VIDEO_CODEC_MISSING',
      `export: ${ffmpegPath} has none of the ${codec} encoders (${ENCODERS[codec].map((e) => e.encoder).join(', ')}); install Debian's ffmpeg or pick another --video-codec`,
    );
  }
  return { codec, encoder: choice.encoder, options: choice.options };
}

/**
 * One ffmpeg child fed through its stdin, with backpressure: {@link write} resolves once the pipe
 * took the bytes, and rejects (never hangs) when the child has died. {@link end} closes stdin and
 * waits for a clean exit.
 */
export class FfmpegPipe {
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #what: string;
  readonly #ffmpegPath: string;
  #stderr = '';
  #failure: ExportError | undefined;
  readonly #closed: Promise<void>;

  /** @param what names the job in error messages. `onStdout` receives the child's output. */
  constructor(ffmpegPath: string, args: readonly string[], what: string, onStdout?: (chunk: Buffer) => void) {
    this.#what = what;
    this.#ffmpegPath = ffmpegPath;
    // SVT-AV1 prints its banner and configuration to stderr whatever ffmpeg's log level: errors only.
    this.#child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SVT_LOG: '1' } });
    this.#child.stdin.on('error', () => undefined); // EPIPE of a child that died: reported by its exit
    this.#child.stderr.setEncoding('utf8').on('data', (t: string) => {
      this.#stderr = (this.#stderr + t).slice(-4000);
    });
    if (onStdout !== undefined) this.#child.stdout.on('data', onStdout);
    else this.#child.stdout.resume();
    this.#closed = new Promise<void>((resolve) => {
      this.#child.once('error', (error: NodeJS.ErrnoException) => {
        this.#failure ??= new ExportError(
          error.code === 'ENOENT' ? 'EXPORT_FFMPEG_MISSING' : 'EXPORT_VIDEO_FAILED',
          `export: ${what}: cannot run ${ffmpegPath}: ${error.message}`,
        );
        resolve();
      });
      this.#child.once('close', (code, signal) => {
        if (code !== 0) this.#failure ??= new ExportError('EXPORT_VIDEO_FAILED', `export: ${what}: ${this.#ffmpegPath} exited with ${code ?? signal}: ${tail(this.#stderr)}`);
        resolve();
      });
    });
  }

  #gone(): ExportError {
    return this.#failure ?? new ExportError('EXPORT_VIDEO_FAILED', `export: ${this.#what}: ${this.#ffmpegPath} exited early: ${tail(this.#stderr)}`);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const stdin = this.#child.stdin;
    if (this.#failure !== undefined || this.#child.exitCode !== null || stdin.destroyed) throw this.#gone();
    if (stdin.write(bytes)) return;
    let onDrain: (() => void) | undefined;
    const drained = new Promise<boolean>((resolve) => {
      onDrain = () => resolve(true);
      stdin.once('drain', onDrain);
    });
    const alive = await Promise.race([drained, this.#closed.then(() => false)]);
    if (onDrain !== undefined) stdin.off('drain', onDrain);
    if (!alive) throw this.#gone();
  }

  /** Closes stdin and waits for the child to exit. @throws ExportError unless it exited with 0. */
  async end(): Promise<void> {
    this.#child.stdin.end();
    await this.#closed;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Stops reading the child's output (it then blocks once the pipe is full): the consumer is behind. */
  pauseOutput(): void {
    this.#child.stdout.pause();
  }

  /** Reads the child's output again. */
  resumeOutput(): void {
    this.#child.stdout.resume();
  }

  /** Stops the child now (after a failure elsewhere) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#closed;
  }
}

/** The ffmpeg arguments that read images of `format` back to back on stdin, `fps` per second. */
const imageInput = (format: ImageFormat, fps: number): string[] => ['-f', 'image2pipe', '-framerate', String(fps), '-c:v', format === 'png' ? 'png' : 'mjpeg', '-i', 'pipe:0'];

/**
 * The size of a camera's video: yuv420p needs even sizes, and ffmpeg would otherwise drop an odd
 * last column or row silently (SVT-AV1) or refuse (libx264); dropping it explicitly keeps the
 * feature's shape in info.json true to the file.
 */
export const videoSize = (width: number, height: number): { width: number; height: number } => ({ width: width - (width % 2), height: height - (height % 2) });

/** Arguments of the child that encodes one camera's frames of `width × height` into `outPath` (MP4, `fps` constant). */
export function encodeArgs(encoder: ChosenEncoder, format: ImageFormat, fps: number, width: number, height: number, outPath: string): string[] {
  const even = videoSize(width, height);
  const crop = even.width !== width || even.height !== height ? ['-vf', `crop=${even.width}:${even.height}:0:0`] : [];
  return [...imageInput(format, fps), '-an', ...crop, '-c:v', encoder.encoder, ...encoder.options, ...COMMON_OPTIONS, '-f', 'mp4', '-n', outPath];
}

/** Arguments of the child that decodes images to packed RGB, one `width × height × 3` block each, in order. */
export function decodeArgs(format: ImageFormat): string[] {
  return [...imageInput(format, 30), '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
}

/**
 * Arguments of the child that decodes an H.264 stream (Annex B access units back to back, as
 * recorded) to packed RGB, one `width × height × 3` block per access unit, in order: `passthrough`
 * so that ffmpeg neither drops nor duplicates a frame (the raw stream has no timestamps of its
 * own). Decode order is display order only without B-frames, which dexbridge's cameras never
 * make (docs/dataset.md).
 */
export function decodeH264Args(): string[] {
  return ['-f', 'h264', '-i', 'pipe:0', '-an', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
}

/** Arguments of the child that encodes packed RGB frames of `width × height` (one per dataset frame, `fps` constant) into `outPath`. */
export function encodeRgbArgs(encoder: ChosenEncoder, fps: number, width: number, height: number, outPath: string): string[] {
  const even = videoSize(width, height);
  const crop = even.width !== width || even.height !== height ? ['-vf', `crop=${even.width}:${even.height}:0:0`] : [];
  return [
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-an', ...crop, '-c:v', encoder.encoder, ...encoder.options, ...COMMON_OPTIONS, '-f', 'mp4', '-n', outPath,
  ];
}

// --- Image statistics, in the form LeRobot's compute_stats gives images: per channel, over a
// sample of each episode's frames (downsampled), scaled to [0, 1], aggregated over episodes.

/** LeRobot's quantiles of every feature in v3 (`q01` … `q99`). */
export const QUANTILES = [0.01, 0.1, 0.5, 0.9, 0.99] as const;
/** The stats.json key of a quantile: `q01`, `q10`, … */
export const quantileKey = (q: number): string => `q${String(Math.round(q * 100)).padStart(2, '0')}`;

/** How many of an episode's `length` frames the statistics look at: all up to 100, then length^0.75, at most 10 000. */
export function statsSampleCount(length: number): number {
  const low = Math.min(100, length);
  return Math.max(low, Math.min(Math.floor(length ** 0.75), 10_000));
}

/** Round half to even, as numpy's `round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The frame indices sampled for the statistics: evenly spaced from the first to the last frame. */
export function statsSampleIndices(length: number): number[] {
  const n = statsSampleCount(length);
  if (n <= 1) return n === 1 ? [0] : [];
  const step = (length - 1) / (n - 1);
  return Array.from({ length: n }, (_, i) => roundHalfEven(i * step));
}

/** Pixel stride of the statistics' downsampling: none below 300 pixels, else to about 150 on the longer side. */
export function statsStride(width: number, height: number): number {
  if (Math.max(width, height) < 300) return 1;
  return Math.max(1, Math.floor(Math.max(width, height) / 150));
}

/** Per-channel histograms (3 × 256 counts) of the sampled frames of one episode of one camera. */
export class EpisodeHistogram {
  readonly counts = new Float64Array(3 * 256);
  /** Sampled frames added (with their multiplicity). */
  frames = 0;

  /** Adds one RGB frame (packed rgb24) `weight` times, every `stride`-th pixel of every `stride`-th row. */
  add(rgb: Uint8Array, width: number, height: number, weight: number): void {
    const stride = statsStride(width, height);
    const counts = this.counts;
    for (let y = 0; y < height; y += stride) {
      for (let x = 0, p = y * width * 3; x < width; x += stride, p += 3 * stride) {
        counts[rgb[p]!]! += weight;
        counts[256 + rgb[p + 1]!]! += weight;
        counts[512 + rgb[p + 2]!]! += weight;
      }
    }
    this.frames += weight;
  }
}

/** Image statistics in `stats.json` form: every entry of shape [3, 1, 1] (values in [0, 1]), `count` [frames]. */
export type ImageStats = Record<string, number[][][] | number[]>;

interface ChannelStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  quantiles: number[];
}

/** Statistics of one channel from its 256-bin histogram (exact: the values are 8-bit). */
function channelStats(counts: Float64Array, offset: number): ChannelStats {
  let n = 0;
  let sum = 0;
  let sq = 0;
  let min = -1;
  let max = -1;
  for (let v = 0; v < 256; v++) {
    const c = counts[offset + v]!;
    if (c === 0) continue;
    if (min < 0) min = v;
    max = v;
    n += c;
    sum += c * v;
    sq += c * v * v;
  }
  const mean = sum / n;
  const quantiles = QUANTILES.map((q) => {
    let cumulative = 0;
    for (let v = 0; v < 256; v++) {
      cumulative += counts[offset + v]!;
      if (cumulative >= q * n) return v;
    }
    return max;
  });
  return { min, max, mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), quantiles };
}

/**
 * Aggregates the episodes' statistics as LeRobot does: the mean weighted by each episode's
 * sampled frames, the variance from the episodes' variances and the spread of their means, min
 * and max over all, the quantiles as the weighted mean of the episodes' quantiles.
 */
export function imageStats(episodes: readonly EpisodeHistogram[]): ImageStats {
  const used = episodes.filter((e) => e.frames > 0);
  const per = used.map((e) => [0, 1, 2].map((c) => channelStats(e.counts, c * 256)));
  const weights = used.map((e) => e.frames);
  const total = weights.reduce((a, b) => a + b, 0);
  const cube = (f: (c: number) => number): number[][][] => [0, 1, 2].map((c) => [[f(c) / 255]]);
  const weighted = (f: (s: ChannelStats) => number) => (c: number) => per.reduce((a, s, i) => a + f(s[c]!) * weights[i]!, 0) / total;
  const mean = weighted((s) => s.mean);
  const out: ImageStats = {
    min: cube((c) => Math.min(...per.map((s) => s[c]!.min))),
    max: cube((c) => Math.max(...per.map((s) => s[c]!.max))),
    mean: cube(mean),
    std: cube((c) => {
      const m = mean(c);
      return Math.sqrt(per.reduce((a, s, i) => a + (s[c]!.std ** 2 + (s[c]!.mean - m) ** 2) * weights[i]!, 0) / total);
    }),
    count: [total],
  };
  QUANTILES.forEach((q, k) => {
    out[quantileKey(q)] = cube(weighted((s) => s.quantiles[k]!));
  });
  return out;
}
