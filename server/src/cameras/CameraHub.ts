/**
 * Every configured camera, behind one interface: starts the sources, fans their frames out to
 * listeners (the live WebSocket fan-out, the recorder), reports their status, and kills every
 * child process on close — and on process exit, whatever the cause short of SIGKILL (then each
 * ffmpeg ends itself on the broken pipe). A listener that throws is counted, never propagated.
 */
import type { CameraInfo, CameraStereoLayout, CameraTierInfo } from '../protocol/index.js';
import type { RosImageTopic } from '../ros/index.js';
import type { CameraConfig, FfmpegCameraConfig, FfmpegCameraTier, RosCameraConfig, RosCameraTier } from './cameraConfig.js';
import { FfmpegCamera } from './FfmpegCamera.js';
import { RosCamera } from './RosCamera.js';
import type { CameraFrame, CameraSource, CameraSourceStatus } from './types.js';

export interface CameraHubOptions {
  /** Server clock, ms. */
  readonly now: () => number;
  /** The ffmpeg program; default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
  /** Whether a rosbridge connection exists (ROS cameras fail with a clear status without one). */
  readonly rosAvailable: boolean;
  /** Restart delay and stall limit of ffmpeg cameras, ms (defaults 2000 and 3000). */
  readonly restartMs?: number;
  readonly stallMs?: number;
}

export class CameraHub {
  readonly sources: readonly CameraSource[];
  readonly #listeners = new Set<(f: CameraFrame) => void>();
  readonly #ros = new Map<string, RosCamera>();
  /** Stereo layouts by camera id: announced, never used by the server itself. */
  readonly #stereo = new Map<string, CameraStereoLayout>();
  readonly #now: () => number;
  #listenerErrors = 0;
  #started = false;
  readonly #onExit = (): void => {
    for (const s of this.#all) if (s instanceof FfmpegCamera || s instanceof RosCamera) s.killNow();
  };

  constructor(configs: readonly CameraConfig[], o: CameraHubOptions) {
    this.#now = o.now;
    for (const c of configs) if (c.stereo !== undefined) this.#stereo.set(c.id, c.stereo);
    const ros = (id: string, t: Omit<RosCameraTier, 'name'>, compression: RosCameraConfig['compression']): RosCamera => {
      const cam = new RosCamera({
        id, topic: t.topic, throttleRateMs: t.throttleRateMs, queueLength: t.queueLength, compression, now: o.now, type: t.type === 'sensor_msgs/Image' ? 'raw' : 'compressed',
        ...(o.stallMs ? { stallMs: o.stallMs } : {}), ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
      });
      if (!o.rosAvailable) cam.fail(`${t.topic} is a ROS topic, and dexbridge has no rosbridge connection (--rosbridge or rosbridgeUrl in the robot config)`);
      this.#ros.set(t.topic, cam);
      return cam;
    };
    const ffmpeg = (id: string, ff: Omit<FfmpegCameraConfig, 'id' | 'source' | 'stereo' | 'tiers'>): FfmpegCamera =>
      new FfmpegCamera({
        id, ...ff, now: o.now,
        ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
        ...(o.restartMs !== undefined ? { restartMs: o.restartMs } : {}),
        ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}),
      });
    const tiers: { camera: string; tier: string; source: CameraSource }[] = [];
    this.sources = configs.map((c): CameraSource => {
      // A tier's source is named `<camera>@<tier>` (its status and ffmpeg messages say so); its frames are relabelled in #emit.
      if (c.source === 'ros') {
        for (const t of c.tiers ?? []) tiers.push({ camera: c.id, tier: t.name, source: ros(`${c.id}@${t.name}`, t, c.compression) });
        return ros(c.id, c, c.compression);
      }
      const { id, source: _source, stereo: _stereo, tiers: ffTiers, ...ff } = c;
      for (const t of ffTiers ?? []) {
        const { name, ...size } = t;
        tiers.push({ camera: id, tier: name, source: ffmpeg(`${id}@${name}`, { ...ff, ...size }) });
      }
      return ffmpeg(id, ff);
    });
    this.tierSources = tiers;
    for (const t of tiers) this.#tierOf.set(t.source.id, t);
    this.#tierInfo = new Map(configs.map((c) => [c.id, (c.tiers ?? []).map((t: FfmpegCameraTier | RosCameraTier): CameraTierInfo => {
      const info: { -readonly [K in keyof CameraTierInfo]: CameraTierInfo[K] } = { name: t.name };
      if ('width' in t && t.width !== undefined) info.width = t.width;
      if ('height' in t && t.height !== undefined) info.height = t.height;
      if ('fps' in t && t.fps !== undefined) info.fps = t.fps;
      if ('topic' in t) info.topic = t.topic;
      return info;
    })]));
  }

  /** The tiers' sources, besides {@link sources} (one main source per camera). */
  readonly tierSources: readonly { readonly camera: string; readonly tier: string; readonly source: CameraSource }[];
  readonly #tierOf = new Map<string, { readonly camera: string; readonly tier: string }>();
  readonly #tierInfo: ReadonlyMap<string, CameraTierInfo[]>;

  /** Every source: the cameras' own, then their tiers'. */
  get #all(): CameraSource[] {
    return [...this.sources, ...this.tierSources.map((t) => t.source)];
  }

  /** What `welcome.cameras` announces. */
  get cameras(): CameraInfo[] {
    return this.sources.map((s) => {
      const stereo = this.#stereo.get(s.id);
      const tiers = this.#tierInfo.get(s.id) ?? [];
      return { id: s.id, source: s.kind, codec: s.codec, ...(stereo ? { stereo } : {}), ...(tiers.length > 0 ? { tiers } : {}) };
    });
  }

  /** The ROS image topics to subscribe (for the RosBridge). */
  rosTopics(): RosImageTopic[] {
    return [...this.#ros.values()].map((c) => ({ topic: c.topic, throttleRateMs: c.throttleRateMs, queueLength: c.queueLength, type: c.type, compression: c.compression }));
  }

  /** A message from a ROS image topic (the RosBridge's `onImage`). */
  rosImage(topic: string, message: unknown): void {
    this.#ros.get(topic)?.message(message);
  }

  /** Listeners that threw (each throw counted once). */
  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  /** Called for every frame of every camera, synchronously on arrival. Returns an unsubscribe function. */
  onFrame(fn: (f: CameraFrame) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const all = this.#all;
    if (all.some((s) => s instanceof FfmpegCamera || (s instanceof RosCamera && s.type === 'raw'))) process.once('exit', this.#onExit);
    for (const s of all) {
      const tier = this.#tierOf.get(s.id);
      // A tier's frames carry the camera's id and the tier's name: clients see one camera.
      s.start(tier === undefined ? (f) => this.#emit(f) : (f) => this.#emit({ ...f, cameraId: tier.camera, tier: tier.tier }));
    }
  }

  status(): CameraSourceStatus[] {
    const now = this.#now();
    return this.#all.map((s) => s.status(now));
  }

  /** Stops every source; resolves when every child process has exited. */
  async close(): Promise<void> {
    process.removeListener('exit', this.#onExit);
    await Promise.all(this.#all.map((s) => s.close()));
  }

  #emit(f: CameraFrame): void {
    for (const fn of this.#listeners) {
      try {
        fn(f);
      } catch {
        this.#listenerErrors++;
      }
    }
  }
}
