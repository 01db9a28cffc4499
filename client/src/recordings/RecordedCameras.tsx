/**
 * A recording's cameras beside its replay, following the timeline (play, scrub, speed): 15 times a
 * second each camera asks the recording for its image at the playhead (`images.at`, read by time
 * through the file's index, not loaded up front), and draws it when it is another image than the
 * one shown. One read per camera at a time: while one is under way, the playhead moves on and the
 * next read asks for where it is then (latest wins, as for live cameras).
 */
import { type RefObject, useEffect, useRef } from 'react';
import type { LoadedRecording } from './loadRecording.js';

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

function RecordedCamera({ id, rec, play }: { id: string; rec: LoadedRecording; play: RefObject<{ time: number }> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const caption = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    let busy = false;
    let shown = Number.NaN;
    let live = true;
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
          const bitmap = await createImageBitmap(new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: MIME[image.format] ?? 'image/jpeg' }));
          if (!live) return bitmap.close();
          if (c.width !== bitmap.width || c.height !== bitmap.height) {
            c.width = bitmap.width;
            c.height = bitmap.height;
          }
          c.getContext('2d')?.drawImage(bitmap, 0, 0);
          bitmap.close();
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
