/**
 * The robot cameras on a client, without React: subscribes to every camera the server announces
 * (again after each reconnect), keeps the newest frame of each camera, decodes it with
 * `createImageBitmap` (JPEG/PNG; latest wins: while one frame decodes, newer ones replace the
 * waiting one and older ones are dropped), and hands the bitmap to the camera's view. Age of a
 * frame = the server clock now (estimated from ping) − its capture time.
 */
import { type CameraInfo, decodeCameraFrame, MESSAGE_KIND } from '@dexbridge/server/protocol';
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

/** Where a camera's frames go (a canvas in the dashboard, a texture in the headset). */
export interface CameraView {
  draw(bitmap: ImageBitmap, info: CameraFrameInfo): void;
}

interface Slot {
  view: CameraView | undefined;
  waiting: { bytes: Uint8Array; info: CameraFrameInfo; type: string } | undefined;
  decoding: boolean;
  /** The newest frame drawn. */
  last: CameraFrameInfo | undefined;
  framesDrawn: number;
  framesDropped: number;
}

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

  /** Counters of camera `id`: frames drawn, frames replaced by a newer one before they were decoded. */
  stats(id: string): { drawn: number; dropped: number; last: CameraFrameInfo | undefined } {
    const s = this.#slots.get(id);
    return { drawn: s?.framesDrawn ?? 0, dropped: s?.framesDropped ?? 0, last: s?.last };
  }

  /** Where camera `id`'s frames are drawn from now on (undefined: nowhere). */
  setView(id: string, view: CameraView | undefined): void {
    this.#slot(id).view = view;
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
    this.#slots.clear();
  }

  #subscribe(cameras: readonly CameraInfo[]): void {
    this.#cameras = cameras;
    const wanted = this.#wanted;
    const ids = cameras.filter((c) => (c.codec === 'jpeg' || c.codec === 'png') && (wanted === 'all' || wanted.includes(c.id))).map((c) => c.id);
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
      s = { view: undefined, waiting: undefined, decoding: false, last: undefined, framesDrawn: 0, framesDropped: 0 };
      this.#slots.set(id, s);
    }
    return s;
  }

  #frame(data: ArrayBuffer): void {
    const f = decodeCameraFrame(data);
    if (!f.ok || (f.codec !== 'jpeg' && f.codec !== 'png')) return;
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
        if (s.view) s.view.draw(bitmap, w.info);
        bitmap.close();
      } catch {
        s.framesDropped++; // a frame the browser cannot decode: the next one may
      }
    }
    s.decoding = false;
  }
}
