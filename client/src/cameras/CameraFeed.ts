/**
 * The robot cameras on a client, without React: subscribes to every camera the server announces
 * (again after each reconnect), decodes each camera's frames and hands the pictures to the
 * camera's view. Age of a frame = the server clock now (estimated from ping) − its capture time.
 *
 * JPEG/PNG: `createImageBitmap`, latest wins (while one frame decodes, newer ones replace the
 * waiting one and older ones are dropped). H.264: WebCodecs' `VideoDecoder` (Chromium, the Quest
 * Browser; a secure context), configured from the SPS of each key frame (codec string
 * `avc1.PPCCLL`; Annex B needs no `description`), fed every frame in order: a delta frame cannot
 * be skipped, so latest-wins happens on the server (it sends a connection nothing from a skipped
 * frame to the next key frame), and here only when the decoder falls behind (its queue is dropped,
 * and decoding starts again at the next key frame). Each VideoFrame is drawn, then closed at once
 * (decoders own few). Without VideoDecoder an H.264 camera is not subscribed, and its view is told why.
 */
import { accessUnitSps, type CameraInfo, decodeCameraFrame, h264CodecString, MESSAGE_KIND } from '@dexbridge/server/protocol';
import type { BridgeClient } from '../net/BridgeClient.js';

/** What a view is told about each decoded frame. */
export interface CameraFrameInfo {
  readonly cameraId: string;
  readonly seq: number;
  readonly width: number;
  readonly height: number;
  /** Capture time on the server clock, ms. */
  readonly captureTimeMs: number;
}

/** A decoded picture: an ImageBitmap (JPEG/PNG) or a VideoFrame (H.264). Valid only during `draw`. */
export type CameraImage = ImageBitmap | VideoFrame;

/** The size of a decoded picture, pixels. */
export const cameraImageSize = (image: CameraImage): { width: number; height: number } =>
  'displayWidth' in image ? { width: image.displayWidth, height: image.displayHeight } : { width: image.width, height: image.height };

/** Where a camera's frames go (a canvas in the dashboard, a texture in the headset). */
export interface CameraView {
  /** Draws `image` (closed by the feed right after: copy it, never keep it). */
  draw(image: CameraImage, info: CameraFrameInfo): void;
  /** The camera cannot be shown here, and why (e.g. no VideoDecoder for H.264); undefined once it can. */
  problem?(text: string | undefined): void;
}

/** The decoder of an H.264 camera. */
interface VideoState {
  decoder: VideoDecoder | undefined;
  /** The codec string it was configured with. */
  codec: string;
  /** Nothing is decoded before the next key frame (start, decoder error, backlog dropped). */
  needKey: boolean;
  /** Frames handed to the decoder and not yet out, by timestamp. */
  readonly inFlight: Map<number, CameraFrameInfo>;
}

interface Slot {
  view: CameraView | undefined;
  waiting: { bytes: Uint8Array; info: CameraFrameInfo; type: string } | undefined;
  decoding: boolean;
  /** The newest frame drawn. */
  last: CameraFrameInfo | undefined;
  framesDrawn: number;
  framesDropped: number;
  video: VideoState | undefined;
  /** Why the camera cannot be shown, if it cannot. */
  problem: string | undefined;
}

/** Frames an H.264 decoder may have queued before its backlog is dropped (the picture would lag ever more). */
const MAX_DECODE_QUEUE = 6;
const hasVideoDecoder = (): boolean => typeof VideoDecoder === 'function';

const MIME = { jpeg: 'image/jpeg', png: 'image/png' } as const;

export class CameraFeed {
  readonly #client: BridgeClient;
  readonly #slots = new Map<string, Slot>();
  readonly #off: (() => void)[] = [];
  #cameras: readonly CameraInfo[] = [];
  /** The cameras to receive: every one (the dashboard), or a chosen few (the headset, whose Wi-Fi carries only what it shows). */
  #wanted: 'all' | readonly string[];
  /** Camera id → the tier received instead of its own stream (docs/cameras.md, "Tiers"). */
  readonly #tiers = new Map<string, string>();

  constructor(client: BridgeClient, wanted: 'all' | readonly string[] = 'all') {
    this.#client = client;
    this.#wanted = wanted;
    this.#off.push(client.onBinary((kind, data) => {
      if (kind === MESSAGE_KIND.CAMERA_FRAME) this.#frame(data);
    }));
    this.#off.push(client.onMessage((m) => {
      if (m.type === 'welcome') this.#subscribe(m.cameras ?? []);
    }));
    if (client.welcome) this.#subscribe(client.welcome.cameras ?? []);
  }

  /** The cameras the server announced. */
  get cameras(): readonly CameraInfo[] {
    return this.#cameras;
  }

  /** Age of camera `id`'s newest drawn frame on the server clock (ms), NaN before one or before the clock offset is known. */
  ageMs(id: string): number {
    const last = this.#slots.get(id)?.last;
    return last === undefined ? Number.NaN : this.#client.serverNow() - last.captureTimeMs;
  }

  /** Counters of camera `id`: frames drawn, frames dropped (replaced by a newer one before they were decoded, or undecodable). */
  stats(id: string): { drawn: number; dropped: number; last: CameraFrameInfo | undefined } {
    const s = this.#slots.get(id);
    return { drawn: s?.framesDrawn ?? 0, dropped: s?.framesDropped ?? 0, last: s?.last };
  }

  /** Why camera `id` cannot be shown in this browser, or undefined. */
  problem(id: string): string | undefined {
    return this.#slots.get(id)?.problem;
  }

  /** Where camera `id`'s frames are drawn from now on (undefined: nowhere). */
  setView(id: string, view: CameraView | undefined): void {
    const s = this.#slot(id);
    s.view = view;
    if (s.problem !== undefined) view?.problem?.(s.problem);
  }

  /** Receives these cameras from now on (and again after a reconnect): `'all'`, or the ids chosen. */
  want(ids: 'all' | readonly string[]): void {
    this.#wanted = ids;
    this.#subscribe(this.#cameras);
  }

  /** Receives camera `id` at `tier` (one of its `welcome.cameras[].tiers`), or its own stream (undefined). */
  setTier(id: string, tier: string | undefined): void {
    if (tier === undefined) this.#tiers.delete(id);
    else this.#tiers.set(id, tier);
    this.#subscribe(this.#cameras);
  }

  /** The tier camera `id` is received at (undefined: its own stream). */
  tier(id: string): string | undefined {
    return this.#tiers.get(id);
  }

  /** Unsubscribes and stops listening. */
  close(): void {
    for (const off of this.#off) off();
    this.#client.send({ type: 'camera_subscribe', cameras: [] });
    for (const s of this.#slots.values()) if (s.video?.decoder && s.video.decoder.state !== 'closed') s.video.decoder.close();
    this.#slots.clear();
  }

  #subscribe(cameras: readonly CameraInfo[]): void {
    this.#cameras = cameras;
    const wanted = this.#wanted;
    const chosen = cameras.filter((c) => wanted === 'all' || wanted.includes(c.id));
    // An H.264 camera this browser cannot decode is not received at all: its bytes would be wasted.
    for (const c of chosen) {
      if (c.codec === 'h264' && !hasVideoDecoder()) {
        this.#setProblem(this.#slot(c.id), `camera ${c.id} sends H.264, and this browser has no WebCodecs VideoDecoder (Chromium and the Quest Browser have it, on HTTPS or localhost)`);
      }
    }
    const ids = chosen.filter((c) => c.codec === 'jpeg' || c.codec === 'png' || (c.codec === 'h264' && hasVideoDecoder())).map((c) => c.id);
    // Only tiers the server offers (a reconnect may bring a server with other cameras).
    const tiers = Object.fromEntries(ids.flatMap((id) => {
      const t = this.#tiers.get(id);
      return t !== undefined && cameras.find((c) => c.id === id)?.tiers?.some((x) => x.name === t) ? [[id, t]] : [];
    }));
    // An empty choice is sent too: it ends the frames of a camera chosen before.
    if (ids.length > 0 || (wanted !== 'all' && cameras.length > 0)) {
      this.#client.send({ type: 'camera_subscribe', cameras: ids, ...(Object.keys(tiers).length > 0 ? { tiers } : {}) });
    }
  }

  #slot(id: string): Slot {
    let s = this.#slots.get(id);
    if (s === undefined) {
      s = { view: undefined, waiting: undefined, decoding: false, last: undefined, framesDrawn: 0, framesDropped: 0, video: undefined, problem: undefined };
      this.#slots.set(id, s);
    }
    return s;
  }

  #setProblem(s: Slot, text: string | undefined): void {
    if (s.problem === text) return;
    s.problem = text;
    s.view?.problem?.(text);
  }

  #frame(data: ArrayBuffer): void {
    const f = decodeCameraFrame(data);
    if (!f.ok) return;
    if (f.codec === 'h264') {
      const info = { cameraId: f.cameraId, seq: f.seq, width: f.width, height: f.height, captureTimeMs: f.captureTimeMs };
      this.#video(this.#slot(f.cameraId), f.payload, f.keyFrame, info);
      return;
    }
    const s = this.#slot(f.cameraId);
    if (s.waiting !== undefined) s.framesDropped++;
    s.waiting = {
      bytes: f.payload, type: MIME[f.codec],
      info: { cameraId: f.cameraId, seq: f.seq, width: f.width, height: f.height, captureTimeMs: f.captureTimeMs },
    };
    if (!s.decoding) void this.#decode(s);
  }

  async #decode(s: Slot): Promise<void> {
    s.decoding = true;
    while (s.waiting !== undefined) {
      const w = s.waiting;
      s.waiting = undefined;
      try {
        const bitmap = await createImageBitmap(new Blob([w.bytes as Uint8Array<ArrayBuffer>], { type: w.type }));
        s.last = w.info;
        s.framesDrawn++;
        try {
          s.view?.draw(bitmap, w.info);
        } finally {
          bitmap.close();
        }
      } catch {
        s.framesDropped++; // a frame the browser cannot decode: the next one may
      }
    }
    s.decoding = false;
  }

  /** One H.264 access unit (Annex B) of a camera, in the order the server sent them. */
  #video(s: Slot, payload: Uint8Array, keyFrame: boolean, info: CameraFrameInfo): void {
    if (!hasVideoDecoder()) return; // not subscribed; the problem is already said
    s.video ??= { decoder: undefined, codec: '', needKey: true, inFlight: new Map() };
    const v = s.video;
    if (keyFrame) {
      let codec: string;
      try {
        const sps = accessUnitSps(payload);
        if (sps === null) throw new RangeError('a key frame without its SPS');
        codec = h264CodecString(sps);
      } catch (e) {
        s.framesDropped++;
        this.#setProblem(s, `camera ${info.cameraId}: cannot read the H.264 stream: ${(e as Error).message}`);
        return;
      }
      if (v.decoder === undefined || v.decoder.state === 'closed' || v.decoder.state === 'unconfigured' || codec !== v.codec) this.#configure(s, v, codec, info.cameraId);
      if (v.decoder === undefined) {
        s.framesDropped++;
        return;
      }
      v.needKey = false;
    } else if (v.needKey || v.decoder === undefined || v.decoder.state !== 'configured') {
      s.framesDropped++; // a delta frame without the frames before it: nothing to decode it from
      return;
    }
    const decoder = v.decoder!;
    if (decoder.decodeQueueSize > MAX_DECODE_QUEUE && !keyFrame) {
      // The device decodes slower than the camera sends: drop the backlog, start again at the next key frame.
      s.framesDropped += v.inFlight.size + 1;
      v.inFlight.clear();
      decoder.reset();
      v.needKey = true;
      return;
    }
    // The timestamp only pairs an output frame with its header (µs, unique per frame of this camera).
    const timestamp = info.seq;
    v.inFlight.set(timestamp, info);
    decoder.decode(new EncodedVideoChunk({ type: keyFrame ? 'key' : 'delta', timestamp, data: payload }));
  }

  #configure(s: Slot, v: VideoState, codec: string, cameraId: string): void {
    if (v.decoder !== undefined && v.decoder.state !== 'closed') v.decoder.close();
    v.inFlight.clear();
    const decoder = new VideoDecoder({
      output: (frame) => {
        const info = v.inFlight.get(frame.timestamp);
        v.inFlight.delete(frame.timestamp);
        try {
          if (info === undefined || v.decoder !== decoder) return;
          s.last = info;
          s.framesDrawn++;
          if (s.problem !== undefined) this.#setProblem(s, undefined);
          s.view?.draw(frame, info);
        } finally {
          frame.close();
        }
      },
      error: (e) => {
        // The decoder is closed now: a new one starts at the next key frame.
        if (v.decoder !== decoder) return;
        v.decoder = undefined;
        v.needKey = true;
        v.inFlight.clear();
        this.#setProblem(s, `camera ${cameraId}: the H.264 decoder (${codec}) failed: ${e.message}; trying again at the next key frame`);
      },
    });
    v.decoder = decoder;
    v.codec = codec;
    try {
      // Annex B: no `description` (SPS/PPS are in the stream); optimizeForLatency asks for no output delay.
      decoder.configure({ codec, optimizeForLatency: true });
    } catch (e) {
      // A codec string the browser rejects outright (an unsupported one arrives through `error` instead).
      decoder.close();
      v.decoder = undefined;
      v.needKey = true;
      this.#setProblem(s, `camera ${cameraId}: this browser cannot decode H.264 ${codec}: ${(e as Error).message}`);
    }
  }
}
