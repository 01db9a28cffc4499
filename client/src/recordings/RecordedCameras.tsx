/**
 * A recording's cameras beside its replay, following the timeline (play, scrub, speed): 15 times a
 * second each camera asks the recording for its image at the playhead (`images.at`, read by time
 * through the file's index, not loaded up front), and draws it when it is another image than the
 * one shown. One read per camera at a time: while one is under way, the playhead moves on and the
 * next read asks for where it is then (latest wins, as for live cameras).
 *
 * An H.264 camera's picture at the playhead needs the access units from the key frame before it:
 * they come with it (`chain`), and a WebCodecs VideoDecoder decodes them from that key frame for
 * every new picture drawn (up to a key-frame interval of units: 15 at 15 Hz with the default 1 s).
 * Without VideoDecoder the caption says so.
 */
import { accessUnitSps, h264CodecString } from '@dexbridge/server/protocol';
import { type RefObject, useEffect, useRef } from 'react';
import type { LoadedRecording, RecordedImage } from './loadRecording.js';

const POLL_MS = 66;
const MIME: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png' };

export function RecordedCameras({ rec, play }: { rec: LoadedRecording; play: RefObject<{ time: number }> }) {
  if (rec.images.cameras.length === 0) return null;
  return (
    <section className="panel replay-cameras" data-testid="replay-cameras">
      {rec.images.cameras.map((id) => (
        <RecordedCamera key={id} id={id} rec={rec} play={play} />
      ))}
    </section>
  );
}

/**
 * Decodes a recorded H.264 camera's picture at the playhead: its access units from the key frame
 * before it, each time from that key frame. (Carrying on from the picture before would save work
 * while playing, but WebCodecs wants a key frame after every `flush()`, and without a flush a
 * decoder may keep the last picture back.)
 */
class ChainDecoder {
  #decoder: VideoDecoder | undefined;
  #codec = '';
  #latest: VideoFrame | undefined;
  #error: Error | undefined;

  /** Decodes `image.chain` and returns its last picture (the caller closes it), or throws. */
  async picture(image: RecordedImage): Promise<VideoFrame> {
    if (typeof VideoDecoder !== 'function') throw new Error('this browser has no WebCodecs VideoDecoder to show H.264 (Chromium and the Quest Browser have it, on HTTPS or localhost)');
    const chain = image.chain ?? [];
    const key = chain[0];
    if (key === undefined) throw new Error('no key frame before this picture');
    const sps = accessUnitSps(key.bytes);
    if (sps === null) throw new Error('the key frame has no SPS');
    const codec = h264CodecString(sps);
    if (this.#decoder === undefined || this.#decoder.state === 'closed' || codec !== this.#codec) this.#create(codec);
    const decoder = this.#decoder!;
    if (decoder.state === 'configured') decoder.reset();
    decoder.configure({ codec, optimizeForLatency: true });
    this.#latest?.close();
    this.#latest = undefined;
    this.#error = undefined;
    for (const [i, unit] of chain.entries()) {
      decoder.decode(new EncodedVideoChunk({ type: i === 0 ? 'key' : 'delta', timestamp: Math.round(unit.t * 1e6), data: unit.bytes }));
    }
    await decoder.flush();
    if (this.#error) throw this.#error;
    const frame = this.#latest;
    this.#latest = undefined;
    if (frame === undefined) throw new Error('the decoder gave no picture');
    return frame;
  }

  #create(codec: string): void {
    this.close();
    this.#decoder = new VideoDecoder({
      output: (frame) => {
        // Only the newest picture is drawn: earlier ones of the chain are closed at once.
        this.#latest?.close();
        this.#latest = frame;
      },
      error: (e) => {
        this.#error = e;
      },
    });
    this.#codec = codec;
  }

  close(): void {
    this.#latest?.close();
    this.#latest = undefined;
    if (this.#decoder && this.#decoder.state !== 'closed') this.#decoder.close();
    this.#decoder = undefined;
  }
}

function RecordedCamera({ id, rec, play }: { id: string; rec: LoadedRecording; play: RefObject<{ time: number }> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const caption = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    let busy = false;
    let shown = Number.NaN;
    let live = true;
    const video = new ChainDecoder();
    const tick = async () => {
      if (busy) return;
      busy = true;
      const at = play.current.time;
      try {
        const image = await rec.images.at(id, at);
        const c = canvas.current;
        if (!live || !c) return;
        if (!image) {
          shown = Number.NaN;
          c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
          c.dataset['t'] = '';
        } else if (image.t !== shown) {
          const picture = image.format === 'h264' ? await video.picture(image) : await createImageBitmap(new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: MIME[image.format] ?? 'image/jpeg' }));
          if (!live) return picture.close();
          const [width, height] = 'displayWidth' in picture ? [picture.displayWidth, picture.displayHeight] : [picture.width, picture.height];
          if (c.width !== width || c.height !== height) {
            c.width = width;
            c.height = height;
          }
          c.getContext('2d')?.drawImage(picture, 0, 0);
          picture.close();
          shown = image.t;
          // For tests: the time of the image drawn, and the playhead it was read for.
          c.dataset['t'] = String(image.t);
        }
        c.dataset['playhead'] = String(at);
        if (caption.current) caption.current.textContent = image ? `image at ${image.t.toFixed(2)} s (playhead ${at.toFixed(2)} s)` : `no image within 2 s of ${at.toFixed(2)} s`;
      } catch (e) {
        if (caption.current) caption.current.textContent = `cannot read the image: ${(e as Error).message}`;
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
      video.close();
    };
  }, [id, rec, play]);
  return (
    <figure className="camera" style={{ margin: 0 }}>
      <canvas ref={canvas} data-testid={`replay-camera-${id}`} width={320} height={240} style={{ width: '100%', background: '#000', display: 'block' }} />
      <figcaption style={{ fontSize: 12, display: 'flex', justifyContent: 'space-between', gap: 8 }}>
        <strong>{id}</strong>
        <span ref={caption}>…</span>
      </figcaption>
    </figure>
  );
}
