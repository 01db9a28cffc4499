/**
 * Camera configuration: the `cameras` array of the robot config file, the `serve --camera`
 * option, and the demo's synthetic cameras. Format: docs/cameras.md.
 */
import { CAMERA_ID_RE, CAMERA_STEREO_LAYOUTS, type CameraStereoLayout } from '../protocol/index.js';
import { CameraConfigError } from './types.js';

/** What an ffmpeg camera can encode to. */
export const FFMPEG_CAMERA_CODECS = ['jpeg', 'h264'] as const;
export type FfmpegCameraCodec = (typeof FFMPEG_CAMERA_CODECS)[number];

/** A camera read through ffmpeg (a device, an RTSP stream, a file, a synthetic source). */
export interface FfmpegCameraConfig {
  readonly id: string;
  readonly source: 'ffmpeg';
  /** ffmpeg's `-i`. */
  readonly input: string;
  /** ffmpeg's input `-f` (v4l2, lavfi, rtsp, …). */
  readonly format?: string;
  /** More ffmpeg input options, before `-i`. */
  readonly inputOptions?: readonly string[];
  /** Read at the input's own rate (`-re`), for files and synthetic sources. */
  readonly realtime?: boolean;
  /** Loop a file for ever. */
  readonly loop?: boolean;
  /** Output frame rate, size (ffmpeg filters); default: as the input delivers. */
  readonly fps?: number;
  readonly width?: number;
  readonly height?: number;
  /**
   * What ffmpeg encodes to: `jpeg` (MJPEG, the default: every frame stands alone) or `h264`
   * (libx264 with low-latency settings: about a tenth of the bytes, but a frame needs the ones
   * before it back to the last key frame). docs/cameras.md, "Codec".
   */
  readonly codec?: FfmpegCameraCodec;
  /** MJPEG `-q:v`, 2 (best) .. 31; default 5. Only for `jpeg`. */
  readonly quality?: number;
  /** libx264 `-crf`, 0 (lossless) .. 51; default 23. Only for `h264`. */
  readonly crf?: number;
  /** A key frame at least this often, s; default 1 (a new viewer waits at most this long for its first picture). Only for `h264`. */
  readonly keyframeIntervalS?: number;
  /** Extra ffmpeg video filter appended (e.g. a drawtext clock for the demo). */
  readonly filter?: string;
  /** A stereo camera's layout, announced in `welcome.cameras` (the headset shows each half to its eye). */
  readonly stereo?: CameraStereoLayout;
  /** Further tiers: the same input at another size or rate, from an ffmpeg of their own. */
  readonly tiers?: readonly FfmpegCameraTier[];
}

/**
 * A tier of an ffmpeg camera: the camera's input opened once more and scaled (and/or rated) by
 * ffmpeg, so a client picks it without anything being transcoded on the live path. Not for a V4L2
 * device (a device opens once).
 */
export interface FfmpegCameraTier {
  /** `[A-Za-z0-9_-]{1,32}`, distinct within the camera. */
  readonly name: string;
  readonly fps?: number;
  readonly width?: number;
  readonly height?: number;
  readonly quality?: number;
}

/** A tier of a ROS camera: another topic with the same view (e.g. `image_proc/resize`'s output). */
export interface RosCameraTier {
  readonly name: string;
  readonly topic: string;
  readonly type: 'sensor_msgs/CompressedImage' | 'sensor_msgs/Image';
  readonly throttleRateMs: number;
  readonly queueLength: number;
}

/** A camera published on a ROS topic (`sensor_msgs/CompressedImage`, or a raw `sensor_msgs/Image`) through rosbridge. */
export interface RosCameraConfig {
  readonly id: string;
  readonly source: 'ros';
  readonly topic: string;
  /** The topic's message type; default `sensor_msgs/CompressedImage`. Raw images (rgb8, bgr8, mono8) are encoded to JPEG by ffmpeg. */
  readonly type: 'sensor_msgs/CompressedImage' | 'sensor_msgs/Image';
  /** rosbridge `throttle_rate`, ms. Default 0 (every message). */
  readonly throttleRateMs: number;
  /** rosbridge `queue_length`. Default 1 (only the newest waits). */
  readonly queueLength: number;
  /**
   * rosbridge `compression` of the subscription: `cbor` (default) sends each image as one binary
   * CBOR frame with the pixels as raw bytes; `none` sends JSON with the bytes in base64 (a third
   * more on the wire, and a base64 decode per image) — for a rosbridge older than CBOR support.
   */
  readonly compression: RosImageCompression;
  /** As for ffmpeg cameras. */
  readonly stereo?: CameraStereoLayout;
  /** Further tiers: other topics with the same view at another size or rate. */
  readonly tiers?: readonly RosCameraTier[];
}

export type CameraConfig = FfmpegCameraConfig | RosCameraConfig;

/** rosbridge `compression` for image subscriptions. */
export type RosImageCompression = 'cbor' | 'none';

const TOPIC_RE = /^(\/[A-Za-z][A-Za-z0-9_]*)+$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, expected: string, v: unknown): never {
  throw new CameraConfigError(`cameras: ${path} must be ${expected}, got ${JSON.stringify(v)}`);
}

function optNumber(o: Record<string, unknown>, path: string, key: string, min: number, max: number, integer = false): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    fail(`${path}.${key}`, `${integer ? 'an integer' : 'a number'} in ${min}..${max}`, v);
  }
  return v;
}

function optString(o: Record<string, unknown>, path: string, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) fail(`${path}.${key}`, 'a non-empty string', v);
  return v;
}

function optStereo(o: Record<string, unknown>, path: string): { stereo?: CameraStereoLayout } {
  const v = o['stereo'];
  if (v === undefined) return {};
  if (!(CAMERA_STEREO_LAYOUTS as readonly unknown[]).includes(v)) fail(`${path}.stereo`, CAMERA_STEREO_LAYOUTS.map((l) => JSON.stringify(l)).join(' or '), v);
  return { stereo: v as CameraStereoLayout };
}

function optBool(o: Record<string, unknown>, path: string, key: string): boolean | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean') fail(`${path}.${key}`, 'true or false', v);
  return v as boolean | undefined;
}

/**
 * Validates the `cameras` array of a robot config (or any list of camera objects).
 * @throws CameraConfigError naming the first bad field.
 */
export function parseCameraConfigs(value: unknown, path = 'cameras'): CameraConfig[] {
  if (!Array.isArray(value)) fail(path, 'an array of cameras', value);
  const ids = new Set<string>();
  return value.map((c: unknown, i): CameraConfig => {
    const p = `${path}[${i}]`;
    if (!isObj(c)) fail(p, 'an object', c);
    const id = c['id'];
    if (typeof id !== 'string' || !CAMERA_ID_RE.test(id)) fail(`${p}.id`, 'an id of 1..64 letters, digits, _ or -', id);
    if (ids.has(id)) fail(`${p}.id`, 'an id no other camera uses', id);
    ids.add(id);
    const source = c['source'];
    if (source === 'ros') {
      const known = ['id', 'source', 'topic', 'type', 'throttleRateMs', 'queueLength', 'compression', 'stereo', 'tiers'];
      for (const k of Object.keys(c)) if (!known.includes(k)) fail(`${p}.${k}`, `absent (a ros camera has ${known.join(', ')})`, k);
      const rosTopic = (o: Record<string, unknown>, q: string): Omit<RosCameraTier, 'name'> => {
        const topic = o['topic'];
        if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) fail(`${q}.topic`, 'an absolute ROS topic name', topic);
        const t = o['type'] === undefined ? 'sensor_msgs/CompressedImage' : typeof o['type'] === 'string' ? o['type'].replace('/msg/', '/') : o['type'];
        if (t !== 'sensor_msgs/CompressedImage' && t !== 'sensor_msgs/Image') fail(`${q}.type`, 'sensor_msgs/CompressedImage or sensor_msgs/Image (ROS 2 spelling pkg/msg/Type accepted)', o['type']);
        return { topic, type: t, throttleRateMs: optNumber(o, q, 'throttleRateMs', 0, 60_000, true) ?? 0, queueLength: optNumber(o, q, 'queueLength', 1, 100, true) ?? 1 };
      };
      const tiers = optTiers(c, p, ['name', 'topic', 'type', 'throttleRateMs', 'queueLength'], (t, q) => ({ name: t['name'] as string, ...rosTopic(t, q) }));
      return Object.freeze({
        id, source, ...rosTopic(c, p),
        compression: rosCompression(c, p),
        ...optStereo(c, p),
        ...(tiers ? { tiers } : {}),
      });
    }
    if (source !== 'ffmpeg') fail(`${p}.source`, '"ffmpeg" or "ros"', source);
    const known = ['id', 'source', 'input', 'format', 'inputOptions', 'realtime', 'loop', 'fps', 'width', 'height', 'codec', 'quality', 'crf', 'keyframeIntervalS', 'filter', 'stereo', 'tiers'];
    for (const k of Object.keys(c)) if (!known.includes(k)) fail(`${p}.${k}`, `absent (an ffmpeg camera has ${known.join(', ')})`, k);
    const input = optString(c, p, 'input');
    if (input === undefined) fail(`${p}.input`, 'what ffmpeg opens (a device, URL or file)', input);
    const inputOptions = c['inputOptions'];
    if (inputOptions !== undefined && !(Array.isArray(inputOptions) && inputOptions.every((s) => typeof s === 'string'))) fail(`${p}.inputOptions`, 'an array of strings', inputOptions);
    const out: { -readonly [K in keyof FfmpegCameraConfig]: FfmpegCameraConfig[K] } = { id, source, input };
    const format = optString(c, p, 'format');
    if (format !== undefined) out.format = format;
    if (inputOptions !== undefined) out.inputOptions = Object.freeze([...(inputOptions as string[])]);
    const realtime = optBool(c, p, 'realtime');
    if (realtime !== undefined) out.realtime = realtime;
    const loop = optBool(c, p, 'loop');
    if (loop !== undefined) out.loop = loop;
    Object.assign(out, optSizeRate(c, p));
    const codec = c['codec'];
    if (codec !== undefined && !(FFMPEG_CAMERA_CODECS as readonly unknown[]).includes(codec)) fail(`${p}.codec`, FFMPEG_CAMERA_CODECS.map((x) => JSON.stringify(x)).join(' or '), codec);
    if (codec !== undefined) out.codec = codec as FfmpegCameraCodec;
    const quality = optNumber(c, p, 'quality', 2, 31, true);
    if (quality !== undefined) out.quality = quality;
    const crf = optNumber(c, p, 'crf', 0, 51, true);
    if (crf !== undefined) out.crf = crf;
    const keyframeIntervalS = optNumber(c, p, 'keyframeIntervalS', 0.1, 60);
    if (keyframeIntervalS !== undefined) out.keyframeIntervalS = keyframeIntervalS;
    // A setting of the other codec would silently do nothing: say so instead.
    if ((out.codec ?? 'jpeg') === 'jpeg' && (crf !== undefined || keyframeIntervalS !== undefined)) fail(`${p}.codec`, '"h264" when crf or keyframeIntervalS is given', codec);
    if (out.codec === 'h264' && quality !== undefined) fail(`${p}.quality`, 'absent for an h264 camera (use crf)', quality);
    const filter = optString(c, p, 'filter');
    if (filter !== undefined) out.filter = filter;
    const stereo = optStereo(c, p).stereo;
    if (stereo !== undefined) out.stereo = stereo;
    const tiers = optTiers(c, p, ['name', 'fps', 'width', 'height', 'quality'], (t, q) => {
      const tier: { -readonly [K in keyof FfmpegCameraTier]: FfmpegCameraTier[K] } = { name: t['name'] as string, ...optSizeRate(t, q) };
      const tq = optNumber(t, q, 'quality', 2, 31, true);
      if (tq !== undefined) tier.quality = tq;
      return Object.freeze(tier);
    });
    if (tiers !== undefined) {
      if (out.format === 'v4l2' || /^\/dev\/video/.test(input)) fail(`${p}.tiers`, 'absent for a V4L2 device (a device opens once; give its tiers as ROS topics or another input)', 'tiers');
      out.tiers = tiers;
    }
    return Object.freeze(out);
  });
}

/**
 * One `serve --camera <id>=<source>`: `ros:/topic` (a ROS CompressedImage topic), `ros-raw:/topic`
 * (a raw `sensor_msgs/Image` topic, encoded to JPEG), `/dev/videoN`
 * (a V4L2 device), `rtsp://…` (an IP camera, over TCP), `demo` (a synthetic test source with a
 * running clock), anything else a file ffmpeg can read (played in real time, looped). An ffmpeg
 * source written `h264:<source>` is encoded to H.264 instead of MJPEG.
 * @throws CameraConfigError for a spec without `=`, a bad id, an empty source or `h264:` in front of a ROS topic.
 */
export function parseCameraSpec(spec: string): CameraConfig {
  const eq = spec.indexOf('=');
  const id = eq < 0 ? '' : spec.slice(0, eq);
  let src = eq < 0 ? '' : spec.slice(eq + 1);
  const h264 = src.startsWith('h264:');
  if (h264) src = src.slice(5);
  if (!CAMERA_ID_RE.test(id) || src === '') {
    throw new CameraConfigError(`cameras: --camera must be <id>=<source> or <id>=h264:<source> with an id of 1..64 letters, digits, _ or - (e.g. head=/dev/video0), got ${JSON.stringify(spec)}`);
  }
  if (src.startsWith('ros:') || src.startsWith('ros-raw:')) {
    // A ROS topic arrives already encoded (or raw, encoded to JPEG here): dexbridge does not transcode it.
    if (h264) throw new CameraConfigError(`cameras: --camera ${JSON.stringify(spec)}: h264: applies to ffmpeg sources, not ROS topics`);
    if (src.startsWith('ros:')) return parseCameraConfigs([{ id, source: 'ros', topic: src.slice(4) }], '--camera')[0]!;
    return parseCameraConfigs([{ id, source: 'ros', topic: src.slice(8), type: 'sensor_msgs/Image' }], '--camera')[0]!;
  }
  const codec = h264 ? ({ codec: 'h264' } as const) : {};
  if (src === 'demo') return demoCamera(id, 0, codec);
  if (/^\/dev\/video\d+$/.test(src)) return Object.freeze({ id, source: 'ffmpeg', input: src, format: 'v4l2', ...codec });
  if (/^rtsps?:\/\//.test(src)) return Object.freeze({ id, source: 'ffmpeg', input: src, format: 'rtsp', inputOptions: ['-rtsp_transport', 'tcp'], ...codec });
  return Object.freeze({ id, source: 'ffmpeg', input: src, realtime: true, loop: true, ...codec });
}

/**
 * A synthetic camera: ffmpeg's `testsrc2` pattern with the running time burned in (its own
 * clock), 640×480 at 15 Hz. `variant` picks the pattern (0 testsrc2, 1 the SMPTE bars).
 */
export function demoCamera(id: string, variant: number, o: { width?: number; height?: number; fps?: number; codec?: FfmpegCameraCodec } = {}): FfmpegCameraConfig {
  const w = o.width ?? 640;
  const h = o.height ?? 480;
  const fps = o.fps ?? 15;
  const pattern = variant % 2 === 0 ? 'testsrc2' : 'smptehdbars';
  // drawtext needs a font: DejaVu ships with Debian's ffmpeg dependencies (fontconfig); the
  // stream time in seconds, large, so an age or a freeze is visible on the picture itself.
  const text = `drawtext=text='${id} %{pts\\:hms}':fontsize=${Math.round(h / 12)}:fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=h-th-10`;
  const encoding = o.codec === 'h264' ? { codec: 'h264' as const } : { quality: 7 };
  return Object.freeze({ id, source: 'ffmpeg', input: `${pattern}=size=${w}x${h}:rate=${fps}`, format: 'lavfi', realtime: true, filter: text, ...encoding });
}

/**
 * The demo's two synthetic cameras (`--demo` without cameras of its own): `head` in MJPEG, `side`
 * in H.264, so that the demo shows both paths (decoding, recording, export) end to end.
 */
export const demoCameras = (): CameraConfig[] => [demoCamera('head', 0), demoCamera('side', 1, { codec: 'h264' })];

function rosCompression(c: Record<string, unknown>, p: string): RosImageCompression {
  const v = c['compression'];
  if (v === undefined) return 'cbor';
  if (v !== 'cbor' && v !== 'none') fail(`${p}.compression`, '"cbor" or "none"', v);
  return v;
}

const TIER_NAME_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** The optional `tiers` array: objects with a distinct `name` and only the `known` fields, each read by `read`. */
function optTiers<T>(c: Record<string, unknown>, p: string, known: readonly string[], read: (t: Record<string, unknown>, q: string) => T): readonly T[] | undefined {
  const v = c['tiers'];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > 8) fail(`${p}.tiers`, 'an array of 1..8 tier objects', v);
  const names = new Set<string>();
  return Object.freeze(
    (v as unknown[]).map((t, i) => {
      const q = `${p}.tiers[${i}]`;
      if (typeof t !== 'object' || t === null || Array.isArray(t)) fail(q, 'a tier object', t);
      const o = t as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!known.includes(k)) fail(`${q}.${k}`, `absent (a tier has ${known.join(', ')})`, k);
      const name = o['name'];
      if (typeof name !== 'string' || !TIER_NAME_RE.test(name) || names.has(name)) fail(`${q}.name`, 'a name of 1..32 letters, digits, _ or - that no other tier of the camera uses', name);
      names.add(name);
      return read(o, q);
    }),
  );
}

/** The output rate and size of an ffmpeg camera or of one of its tiers (each absent when not given). */
function optSizeRate(o: Record<string, unknown>, p: string): { fps?: number; width?: number; height?: number } {
  const out: { fps?: number; width?: number; height?: number } = {};
  const fps = optNumber(o, p, 'fps', 0.1, 240);
  if (fps !== undefined) out.fps = fps;
  const width = optNumber(o, p, 'width', 16, 8192, true);
  if (width !== undefined) out.width = width;
  const height = optNumber(o, p, 'height', 16, 8192, true);
  if (height !== undefined) out.height = height;
  return out;
}
