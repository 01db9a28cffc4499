/**
 * Every configured camera, behind one interface: starts the sources, fans their frames out to
 * listeners (the live WebSocket fan-out, the recorder), reports their status, and kills every
 * child process on close — and on process exit, whatever the cause short of SIGKILL (then each
 * ffmpeg ends itself on the broken pipe). A listener that throws is counted, never propagated.
 */
import type { CameraInfo, CameraStereoLayout } from '../protocol/index.js';
import type { RosImageTopic } from '../ros/index.js';
import type { CameraConfig } from './cameraConfig.js';
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
    for (const s of this.sources) if (s instanceof FfmpegCamera || s instanceof RosCamera) s.killNow();
  };

  constructor(configs: readonly CameraConfig[], o: CameraHubOptions) {
    this.#now = o.now;
    for (const c of configs) if (c.stereo !== undefined) this.#stereo.set(c.id, c.stereo);
    this.sources = configs.map((c): CameraSource => {
      if (c.source === 'ros') {
        const cam = new RosCamera({
          id: c.id, topic: c.topic, throttleRateMs: c.throttleRateMs, queueLength: c.queueLength, compression: c.compression, now: o.now, type: c.type === 'sensor_msgs/Image' ? 'raw' : 'compressed',
          ...(o.stallMs ? { stallMs: o.stallMs } : {}), ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
        });
        if (!o.rosAvailable) cam.fail(`${c.topic} is a ROS topic, and dexbridge has no rosbridge connection (--rosbridge or rosbridgeUrl in the robot config)`);
        this.#ros.set(c.topic, cam);
        return cam;
      }
      const { id, source: _source, stereo: _stereo, ...ff } = c;
      return new FfmpegCamera({
        id, ...ff, now: o.now,
        ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
        ...(o.restartMs !== undefined ? { restartMs: o.restartMs } : {}),
        ...(o.stallMs !== undefined ? { stallMs: o.stallMs } : {}),
      });
    });
  }

  /** What `welcome.cameras` announces. */
  get cameras(): CameraInfo[] {
    return this.sources.map((s) => {
      const stereo = this.#stereo.get(s.id);
      return { id: s.id, source: s.kind, codec: s.codec, ...(stereo ? { stereo } : {}) };
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
    if (this.sources.some((s) => s instanceof FfmpegCamera || (s instanceof RosCamera && s.type === 'raw'))) process.once('exit', this.#onExit);
    for (const s of this.sources) s.start((f) => this.#emit(f));
  }

  status(): CameraSourceStatus[] {
    const now = this.#now();
    return this.sources.map((s) => s.status(now));
  }

  /** Stops every source; resolves when every child process has exited. */
  async close(): Promise<void> {
    process.removeListener('exit', this.#onExit);
    await Promise.all(this.sources.map((s) => s.close()));
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
