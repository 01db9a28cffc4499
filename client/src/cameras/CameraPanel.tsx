/**
 * The dashboard's camera panel: every camera the server has, its newest picture and its age
 * (server now − capture time), the camera's problem when it has one (status.cameras), and why this
 * browser cannot show it when it cannot (an H.264 camera without WebCodecs). Frames
 * are drawn straight onto each canvas by the CameraFeed, outside React's render cycle; the age
 * text is refreshed 5 times a second.
 */
import type { CameraStatus } from '@dexbridge/server/protocol';
import { useEffect, useRef, useState } from 'react';
import { useStore } from 'zustand';
import type { LiveSession } from '../store/live.js';
import { CameraFeed, cameraImageSize } from './CameraFeed.js';

export function CameraPanel({ session }: { session: LiveSession }) {
  const cameras = useStore(session.store, (s) => s.welcome?.cameras);
  const status = useStore(session.store, (s) => s.status?.cameras);
  const [feed, setFeed] = useState<CameraFeed | undefined>(undefined);
  useEffect(() => {
    const f = new CameraFeed(session.client);
    setFeed(f);
    return () => f.close();
  }, [session]);
  if (!cameras || cameras.length === 0 || !feed) return null;
  return (
    <section className="panel cameras" data-testid="cameras">
      {cameras.map((c) => (
        <CameraTile key={c.id} id={c.id} tiers={c.tiers?.map((t) => t.name) ?? []} feed={feed} status={status?.find((s) => s.id === c.id)} />
      ))}
    </section>
  );
}

function CameraTile({ id, tiers, feed, status }: { id: string; tiers: readonly string[]; feed: CameraFeed; status: CameraStatus | undefined }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [tier, setTier] = useState<string>('');
  const caption = useRef<HTMLSpanElement>(null);
  const decodeProblem = useRef<HTMLDivElement>(null);
  useEffect(() => {
    feed.setView(id, {
      draw(image) {
        const c = canvas.current;
        if (!c) return;
        const { width, height } = cameraImageSize(image);
        if (c.width !== width || c.height !== height) {
          c.width = width;
          c.height = height;
        }
        c.getContext('2d')?.drawImage(image, 0, 0);
      },
      problem(text) {
        const el = decodeProblem.current;
        if (!el) return;
        el.textContent = text ?? '';
        el.hidden = text === undefined;
      },
    });
    const timer = setInterval(() => {
      const el = caption.current;
      if (!el) return;
      const age = feed.ageMs(id);
      const last = feed.stats(id).last;
      el.textContent = Number.isFinite(age) && last ? `${last.width}×${last.height} · age ${Math.max(0, age).toFixed(0)} ms` : 'no frame yet';
    }, 200);
    return () => {
      clearInterval(timer);
      feed.setView(id, undefined);
    };
  }, [id, feed]);
  const problem = status && status.state !== 'running' && status.state !== 'starting' ? `${status.code ?? status.state}: ${status.error ?? ''}` : null;
  return (
    <figure className="camera" style={{ margin: 0 }}>
      <canvas ref={canvas} data-testid={`camera-${id}`} width={320} height={240} style={{ width: '100%', background: '#000', display: 'block' }} />
      <figcaption style={{ fontSize: 12, display: 'flex', justifyContent: 'space-between', gap: 8 }}>
        <strong>{id}</strong>
        {tiers.length > 0 ? (
          <select
            aria-label={`${id} stream`}
            data-testid={`camera-tier-${id}`}
            value={tier}
            onChange={(e) => {
              setTier(e.target.value);
              feed.setTier(id, e.target.value === '' ? undefined : e.target.value);
            }}
          >
            <option value="">full</option>
            {tiers.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        ) : null}
        <span ref={caption} data-testid={`camera-age-${id}`}>
          no frame yet
        </span>
      </figcaption>
      {/* Why this browser cannot show the camera (e.g. H.264 without WebCodecs): filled by the feed. */}
      <div ref={decodeProblem} className="pill bad" data-testid={`camera-decode-problem-${id}`} hidden />
      {problem ? (
        <div className="pill bad" data-testid={`camera-problem-${id}`}>
          {problem}
        </div>
      ) : null}
    </figure>
  );
}
