/**
 * A camera published on a ROS topic as `sensor_msgs/CompressedImage` (what `image_transport`'s
 * compressed plugin, RealSense and USB camera drivers publish) or as a raw `sensor_msgs/Image`
 * (rgb8, bgr8, mono8: encoded to JPEG by a Debian `ffmpeg` child, {@link RawImageEncoder}),
 * received through dexbridge's rosbridge connection. The RosBridge subscribes (with `throttle_rate` / `queue_length`) and hands
 * every message to {@link RosCamera.message}; a malformed message is counted and reported
 * (`CAMERA_BAD_FRAME`), never thrown.
 *
 * Capture time: the message's `header.stamp` (wall clock) mapped onto the server clock, when it
 * lies between 10 s before and 50 ms after the server received it; otherwise (no stamp, a robot
 * clock far off) the receive time. See docs/cameras.md.
 */
import type { CameraCodec } from '../protocol/index.js';
import { RAW_ENCODINGS, type RawEncoding, RawImageEncoder } from './RawImageEncoder.js';
import type { CameraErrorCode, CameraFrame, CameraSource, CameraSourceStatus } from './types.js';
import { imageSize } from './imageSize.js';

export interface RosCameraOptions {
  readonly id: string;
  readonly topic: string;
  /** rosbridge `throttle_rate`, ms (0: every message). */
  readonly throttleRateMs: number;
  /** rosbridge `queue_length`. */
  readonly queueLength: number;
  /** rosbridge `compression` of the subscription; default `cbor`. */
  readonly compression?: 'cbor' | 'none';
  /** `compressed` (sensor_msgs/CompressedImage, default) or `raw` (sensor_msgs/Image). */
  readonly type?: 'compressed' | 'raw';
  /** The ffmpeg program that encodes raw images; default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
  /** Server clock, ms. */
  readonly now: () => number;
  /** Wall clock (epoch ms) of header stamps; default `Date.now`. */
  readonly wallNow?: () => number;
  /** No frame for this long after the first → stalled, ms. Default 3000. */
  readonly stallMs?: number;
  /** Larger images are refused, bytes. Default 8 MiB. */
  readonly maxFrameBytes?: number;
}

const STAMP_BEFORE_MS = 10_000;
const STAMP_AFTER_MS = 50;

/** ROS 1 `{secs, nsecs}` or ROS 2 `{sec, nanosec}` → ms; NaN when absent or malformed. */
function stampMs(header: unknown): number {
  if (typeof header !== 'object' || header === null) return Number.NaN;
  const st = (header as Record<string, unknown>)['stamp'];
  if (typeof st !== 'object' || st === null) return Number.NaN;
  const t = st as Record<string, unknown>;
  const sec = t['secs'] ?? t['sec'];
  const nsec = t['nsecs'] ?? t['nanosec'];
  if (typeof sec !== 'number' || typeof nsec !== 'number' || !Number.isFinite(sec) || !Number.isFinite(nsec)) return Number.NaN;
  if (sec === 0 && nsec === 0) return Number.NaN;
  return sec * 1000 + nsec / 1e6;
}

/** rosbridge sends `uint8[]` as base64 in JSON, as bytes in CBOR; a plain array of numbers is accepted too. */
function bytesOf(data: unknown): Uint8Array | null {
  if (typeof data === 'string') return new Uint8Array(Buffer.from(data, 'base64'));
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data) && data.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255)) return Uint8Array.from(data as number[]);
  return null;
}

const isJpeg = (b: Uint8Array): boolean => b.length > 3 && b[0] === 0xff && b[1] === 0xd8;
const isPng = (b: Uint8Array): boolean => b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;

export class RosCamera implements CameraSource {
  readonly kind = 'ros' as const;
  readonly codec = 'jpeg' as const;
  readonly id: string;
  readonly topic: string;
  readonly throttleRateMs: number;
  readonly queueLength: number;
  readonly compression: 'cbor' | 'none';
  readonly type: 'compressed' | 'raw';
  readonly #encoder: RawImageEncoder | null;
  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #stallMs: number;
  readonly #maxBytes: number;
  #onFrame: ((f: CameraFrame) => void) | null = null;
  #seq = 0;
  #bad = 0;
  #lastFrameMs = Number.NaN;
  #lastCaptureMs = Number.NaN;
  #code: CameraErrorCode | null = null;
  #error: string | null = null;
  #closed = false;

  constructor(o: RosCameraOptions) {
    this.id = o.id;
    this.topic = o.topic;
    this.throttleRateMs = o.throttleRateMs;
    this.queueLength = o.queueLength;
    this.compression = o.compression ?? 'cbor';
    this.type = o.type ?? 'compressed';
    this.#encoder = this.type === 'raw'
      ? new RawImageEncoder({
        ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
        onImage: (img) => this.#emit(img.data, 'jpeg', img.width, img.height, img.captureTimeMs, img.receivedTimeMs),
        onError: (message) => {
          this.#code = message.includes('not found') ? 'CAMERA_FFMPEG_MISSING' : 'CAMERA_SOURCE_FAILED';
          this.#error = `camera ${this.id}: ${message}`;
        },
      })
      : null;
    this.#now = o.now;
    this.#wallNow = o.wallNow ?? Date.now;
    this.#stallMs = o.stallMs ?? 3000;
    this.#maxBytes = o.maxFrameBytes ?? 8 * 1024 * 1024;
  }

  /** Frames refused as malformed. */
  get badFrames(): number {
    return this.#bad;
  }

  start(onFrame: (frame: CameraFrame) => void): void {
    if (!this.#closed) this.#onFrame = onFrame;
  }

  /** The source cannot run (e.g. no rosbridge configured): reported in its status. */
  fail(message: string): void {
    this.#code = 'CAMERA_SOURCE_FAILED';
    this.#error = `camera ${this.id}: ${message}`;
  }

  /** One message from the topic, as roslib decoded it. Never throws. */
  message(msg: unknown): void {
    if (this.#closed || this.#onFrame === null) return;
    const now = this.#now();
    const o = typeof msg === 'object' && msg !== null ? (msg as Record<string, unknown>) : {};
    if (this.#encoder !== null) return this.#raw(o, now);
    const format = typeof o['format'] === 'string' ? o['format'].toLowerCase() : '';
    const data = bytesOf(o['data']);
    let codec: CameraCodec | null = null;
    if (data !== null && isJpeg(data)) codec = 'jpeg';
    else if (data !== null && isPng(data)) codec = 'png';
    if (data === null || codec === null || data.length > this.#maxBytes) {
      this.#bad++;
      const why = data === null
        ? 'data is not base64, bytes or an array of bytes'
        : data.length > this.#maxBytes
          ? `${data.length} bytes, more than ${this.#maxBytes}`
          : `format ${JSON.stringify(format)} with data that is neither JPEG nor PNG (starts ${Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`;
      this.#code = 'CAMERA_BAD_FRAME';
      this.#error = `camera ${this.id}: ${this.topic}: ${why}; message ignored (${this.#bad} so far)`;
      return;
    }
    const { width, height } = imageSize(codec, data) ?? { width: 0, height: 0 };
    this.#emit(data, codec, width, height, this.#captureTime(o['header'], now), now);
  }

  /** Capture time on the server clock: the header stamp mapped, when plausible; else `now`. */
  #captureTime(header: unknown, now: number): number {
    const mapped = stampMs(header) - (this.#wallNow() - now);
    return Number.isFinite(mapped) && mapped >= now - STAMP_BEFORE_MS && mapped <= now + STAMP_AFTER_MS ? Math.min(mapped, now) : now;
  }

  #emit(data: Uint8Array, codec: CameraCodec, width: number, height: number, captureTimeMs: number, receivedTimeMs: number): void {
    if (this.#closed || this.#onFrame === null) return;
    this.#lastFrameMs = receivedTimeMs;
    this.#lastCaptureMs = captureTimeMs;
    this.#code = null;
    this.#error = null;
    this.#onFrame({
      cameraId: this.id, seq: this.#seq++, captureTimeMs, receivedTimeMs, codec, keyFrame: true,
      width: Math.min(width, 0xffff), height: Math.min(height, 0xffff), data,
    });
  }

  /** A raw `sensor_msgs/Image`: checked, rows packed tight, handed to the JPEG encoder. */
  #raw(o: Record<string, unknown>, now: number): void {
    const { width, height, step, encoding } = o;
    const data = bytesOf(o['data']);
    const spec = typeof encoding === 'string' && Object.hasOwn(RAW_ENCODINGS, encoding) ? RAW_ENCODINGS[encoding as RawEncoding] : undefined;
    let why: string | null = null;
    if (spec === undefined) why = `encoding ${JSON.stringify(encoding)} is not one of ${Object.keys(RAW_ENCODINGS).join(', ')}`;
    else if (!(Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0 && (width as number) <= 8192 && (height as number) <= 8192)) {
      why = `width ${String(width)} × height ${String(height)} is not a size in 1..8192`;
    } else if (!(Number.isInteger(step) && (step as number) >= (width as number) * spec.bpp)) why = `step ${String(step)} is less than width × ${spec.bpp}`;
    else if (data === null || data.length < (step as number) * (height as number)) why = `data has ${data?.length ?? 'no'} bytes, step × height needs ${(step as number) * (height as number)}`;
    if (why !== null || spec === undefined || data === null) {
      this.#bad++;
      this.#code = 'CAMERA_BAD_FRAME';
      this.#error = `camera ${this.id}: ${this.topic}: ${why}; message ignored (${this.#bad} so far)`;
      return;
    }
    const w = width as number;
    const h = height as number;
    const row = w * spec.bpp;
    let pixels = data;
    if (step !== row || data.length !== row * h) {
      pixels = new Uint8Array(row * h);
      for (let y = 0; y < h; y++) pixels.set(data.subarray(y * (step as number), y * (step as number) + row), y * row);
    }
    this.#encoder!.push(encoding as RawEncoding, w, h, pixels, this.#captureTime(o['header'], now), now);
  }

  status(nowMs: number): CameraSourceStatus {
    const stalled = this.#code === null && Number.isFinite(this.#lastFrameMs) && nowMs - this.#lastFrameMs > this.#stallMs;
    return {
      id: this.id,
      state: stalled ? 'stalled' : this.#code !== null ? 'failed' : Number.isFinite(this.#lastFrameMs) ? 'running' : 'starting',
      code: stalled ? 'CAMERA_STALLED' : this.#code,
      error: stalled ? `camera ${this.id}: no message on ${this.topic} for ${Math.round(nowMs - this.#lastFrameMs)} ms (stall limit ${this.#stallMs} ms)` : this.#error,
      frames: this.#seq,
      ageMs: Number.isFinite(this.#lastCaptureMs) ? Math.max(0, Math.round(nowMs - this.#lastCaptureMs)) : null,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#onFrame = null;
    await this.#encoder?.close();
  }

  /** Kills the encoder child at once (process exit). */
  killNow(): void {
    this.#closed = true;
    void this.#encoder?.close();
  }

  /** The raw-image encoder's process id, while one runs (tests check none is left behind). */
  get encoderPid(): number | undefined {
    return this.#encoder?.pid;
  }
}
