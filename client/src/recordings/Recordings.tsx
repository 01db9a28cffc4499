/**
 * The recordings view: the list (date, duration, operator, task, success, size), and one recording
 * opened on a timeline (play/pause/speed/scrub) with the robot replayed in 3D, plots following the
 * playhead, event markers, task/success editing, download, delete, dataset export, and a
 * re-retargeted ghost with other parameters.
 */
import { ACTION_DIM, ACTION_ENTRIES } from '@dexbridge/retarget';
import type { RobotModel } from '@dexbridge/urdf';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AlignedData } from 'uplot';
import { ActionInspector } from '../ui/ActionInspector.js';
import { authHeaders } from '../net/token.js';
import { type RobotRig, poseFromAction } from '../robot/RobotRig.js';
import { RobotCanvas, type RobotViewApi, Rig } from '../robot/Scene.js';
import { Chart } from '../ui/Chart.js';
import { ACTION_PLOT_GROUPS } from '../ui/jointGroups.js';
import { ExportPanel } from './ExportPanel.js';
import { MARKER_KINDS, markerSpans } from './markers.js';
import { RecordedCameras } from './RecordedCameras.js';
import { formatHandScale, indexAt, type LoadedRecording, openRecording, parseHandScale, type RecordingListEntry, reRetarget } from './loadRecording.js';

const fmtBytes = (b: number): string => (b > 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b > 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} kB`);
const fmtDuration = (s: number | null): string => (s === null ? '–' : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`);

export function Recordings({ model, token }: { model: RobotModel; token: string | undefined }) {
  const [list, setList] = useState<RecordingListEntry[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const refresh = useCallback(() => {
    fetch('/api/recordings')
      .then(async (r) => (r.ok ? ((await r.json()) as { recordings: RecordingListEntry[] }) : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((j) => {
        setList(j.recordings);
        setError(undefined);
      })
      .catch((e: Error) => setError(`cannot list recordings: ${e.message}`));
  }, []);
  useEffect(refresh, [refresh]);
  return (
    <div className="recordings">
      <section className="list">
        <h3>
          Recordings{' '}
          <button type="button" onClick={refresh}>
            refresh
          </button>
        </h3>
        {error ? <p className="error">{error}</p> : null}
        <table data-testid="recordings-list">
          <thead>
            <tr>
              <th>date</th>
              <th>duration</th>
              <th>operator</th>
              <th>task</th>
              <th>success</th>
              <th>size</th>
            </tr>
          </thead>
          <tbody>
            {(list ?? []).map((r) => (
              <tr key={r.name} className={r.name === open ? 'sel' : ''} onClick={() => setOpen(r.name)} data-name={r.name}>
                <td>{r.startedAt ? new Date(r.startedAt).toLocaleString() : r.name}</td>
                <td>{r.recording ? <span className="rec-now">● recording {fmtDuration(r.durationS)}</span> : r.complete ? fmtDuration(r.durationS) : 'incomplete'}</td>
                <td>{r.operator ?? '–'}</td>
                <td>{r.task ?? '–'}</td>
                <td>{r.success === null ? '–' : r.success ? '✓' : '✗'}</td>
                <td>{fmtBytes(r.sizeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {list && list.length === 0 ? <p className="hint">No recordings yet: every operator session is recorded.</p> : null}
        <ExportPanel token={token} recordings={list ?? []} />
      </section>
      {open ? (
        <RecordingDetail
          key={open}
          name={open}
          entry={list?.find((r) => r.name === open)}
          model={model}
          token={token}
          onChanged={refresh}
          onDeleted={() => {
            setOpen(undefined);
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}


function RecordingDetail({
  name,
  entry,
  model,
  token,
  onChanged,
  onDeleted,
}: {
  name: string;
  entry: RecordingListEntry | undefined;
  model: RobotModel;
  token: string | undefined;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const [rec, setRec] = useState<LoadedRecording | undefined>();
  const [progress, setProgress] = useState<{ fraction: number; phase: string } | undefined>({ fraction: 0, phase: 'downloading' });
  const [error, setError] = useState<string | undefined>();
  const url = `/api/recordings/${encodeURIComponent(name)}`;
  const entryAtOpen = useRef(entry);
  entryAtOpen.current = entry;
  useEffect(() => {
    const abort = new AbortController();
    const onProgress = (fraction: number, phase: string) => setProgress({ fraction, phase });
    // The listing's entry as it was at open: a listing refresh must not open the same file again.
    openRecording(name, url, entryAtOpen.current, onProgress, abort.signal)
      .then((r) => {
        setRec(r);
        setProgress(undefined);
      })
      .catch((e: Error) => {
        if (!abort.signal.aborted) setError(`cannot open ${name}: ${e.message}`);
      });
    return () => abort.abort();
  }, [name, url]);

  // The playhead lives in a ref (the 3D view and the plots read it every frame); React sees it at 10 Hz.
  const play = useRef({ time: 0, playing: false, speed: 1, lastMs: performance.now() });
  const [shownTime, setShownTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const ghost = useRef<{ t: Float64Array; actions: Float32Array } | undefined>(undefined);
  /** Counts the re-retargeted ghosts set, so the view draws a new one while paused. */
  const ghostSerial = useRef(0);
  const [ghostState, setGhostState] = useState<string>('');
  const [shownKinds, setShownKinds] = useState<ReadonlySet<string>>(() => new Set(MARKER_KINDS.map((k) => k.key)));
  useEffect(() => {
    const timer = setInterval(() => {
      const p = play.current;
      const now = performance.now();
      if (p.playing && rec) {
        p.time += ((now - p.lastMs) / 1000) * p.speed;
        if (p.time >= rec.durationS) {
          p.time = rec.durationS;
          p.playing = false;
          setPlaying(false);
        }
      }
      p.lastMs = now;
      setShownTime(p.time);
    }, 100);
    return () => clearInterval(timer);
  }, [rec]);
  const advance = useCallback(() => {
    const p = play.current;
    const now = performance.now();
    if (p.playing && rec) p.time = Math.min(rec.durationS, p.time + ((now - p.lastMs) / 1000) * p.speed);
    p.lastMs = now;
  }, [rec]);
  const seek = useCallback((time: number) => {
    play.current.time = Math.max(0, Math.min(rec?.durationS ?? 0, time));
    setShownTime(play.current.time);
  }, [rec]);

  // The view draws when the playhead moved (every frame while playing) or a new ghost came.
  const redrawWhen = useCallback(() => {
    advance();
    return `${play.current.time} ${ghostSerial.current}`;
  }, [advance]);
  const onRecorded = useCallback(
    (rig: RobotRig) => {
      advance();
      if (!rec || rec.t.length === 0) return;
      poseFromAction(rig, rec.actions, indexAt(rec.t, play.current.time) * ACTION_DIM);
    },
    [rec, advance],
  );
  const onGhost = useCallback((rig: RobotRig) => {
    const g = ghost.current;
    rig.root.visible = !!g && g.t.length > 0;
    if (g && g.t.length > 0) poseFromAction(rig, g.actions, indexAt(g.t, play.current.time) * ACTION_DIM);
  }, []);

  if (error) return <p className="error">{error}</p>;
  if (!rec || progress) {
    return (
      <div className="detail">
        <p data-testid="recording-progress">
          {progress?.phase ?? 'opening'} {name}… {Math.round((progress?.fraction ?? 0) * 100)} %
        </p>
        <progress max={1} value={progress?.fraction ?? 0} />
      </div>
    );
  }
  const spans = markerSpans(rec.events, shownKinds);
  const markers = spans.flatMap((m) => (m.t1 > m.t0 ? [{ x: m.t0, color: m.kind.color }, { x: m.t1, color: m.kind.color }] : [{ x: m.t0, color: m.kind.color }]));
  return (
    <div className="detail" data-testid="recording-detail">
      <div className="detail-head">
        <h3>{name}</h3>
        {rec.partial ? (
          <span className="pill rec" data-testid="partial">
            ● being recorded: read up to {rec.durationS.toFixed(1)} s (open it again to read further)
          </span>
        ) : null}
        <MetaEditor name={name} entry={entry} token={token} onChanged={onChanged} />
        <a href={url} download={name}>
          download
        </a>
        <DeleteButton name={name} token={token} onDeleted={onDeleted} />
      </div>
      <div className="timeline" data-testid="timeline">
        <button
          type="button"
          data-testid="play"
          onClick={() => {
            const p = play.current;
            if (!p.playing && p.time >= rec.durationS) p.time = 0;
            p.playing = !p.playing;
            p.lastMs = performance.now();
            setPlaying(p.playing);
          }}
        >
          {playing ? 'pause' : 'play'}
        </button>
        <select
          value={speed}
          aria-label="speed"
          onChange={(e) => {
            play.current.speed = Number(e.target.value);
            setSpeed(play.current.speed);
          }}
        >
          {[0.25, 0.5, 1, 2, 4].map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
        <div className="scrub">
          <input
            type="range"
            data-testid="scrub"
            min={0}
            max={rec.durationS}
            step={0.01}
            value={shownTime}
            onChange={(e) => seek(Number(e.target.value))}
            aria-label="playhead"
          />
          <div className="marks" data-testid="marks">
            {spans.map((m) => (
              <button
                type="button"
                key={`${m.kind.key}-${m.t0}`}
                className="mark"
                title={`${m.kind.label}: ${m.events.length > 1 ? `${m.events.length} events, ${m.t0.toFixed(2)}–${m.t1.toFixed(2)} s` : `${m.t0.toFixed(2)} s ${m.events[0]!.event} ${JSON.stringify(m.events[0]!.detail)}`}`}
                style={{
                  left: `${(m.t0 / Math.max(rec.durationS, 1e-9)) * 100}%`,
                  width: `max(4px, ${((m.t1 - m.t0) / Math.max(rec.durationS, 1e-9)) * 100}%)`,
                  background: m.kind.color,
                }}
                onClick={() => seek(m.t0)}
              />
            ))}
          </div>
          <div className="marker-legend" data-testid="marker-legend">
            {MARKER_KINDS.map((k) => (
              <label key={k.key} className="small">
                <input
                  type="checkbox"
                  checked={shownKinds.has(k.key)}
                  onChange={(e) => {
                    const next = new Set(shownKinds);
                    if (e.target.checked) next.add(k.key);
                    else next.delete(k.key);
                    setShownKinds(next);
                  }}
                />
                <span style={{ color: k.color }}>■</span> {k.label}
              </label>
            ))}
          </div>
        </div>
        <span className="small" data-testid="playhead">
          {shownTime.toFixed(2)} / {rec.durationS.toFixed(2)} s
        </span>
      </div>
      <div className="replay">
        <section className="viewport">
          <RobotCanvas label="replay-robot" onView={exposeReplayView} redrawWhen={redrawWhen}>
            <Rig model={model} onFrame={onRecorded} frame />
            <Rig model={model} style={GHOST_STYLE} onReady={hidePedestal} onFrame={onGhost} position={GHOST_BESIDE_M} frame />
          </RobotCanvas>
          <div className="legend">
            <span>■ recorded</span> <span style={{ color: '#bf5af2' }}>■ re-retargeted ({ghostState || 'none'})</span>
          </div>
        </section>
        <ReRetarget
          rec={rec}
          onResult={(g, label) => {
            ghost.current = g;
            ghostSerial.current++;
            setGhostState(label);
          }}
        />
      </div>
      <RecordedCameras rec={rec} play={play} />
      <RecordingPlots rec={rec} play={play} ghost={ghost} ghostKey={ghostState} markers={markers} onSeek={seek} />
      <ActionInspector action={() => (rec.t.length > 0 ? rec.actions.subarray(indexAt(rec.t, play.current.time) * ACTION_DIM, (indexAt(rec.t, play.current.time) + 1) * ACTION_DIM) : undefined)} />
    </div>
  );
}

/** The replay view's framing, for tests and the console (`dexbridge.replayView`). */
const exposeReplayView = (api: RobotViewApi): void => {
  const w = window as unknown as { dexbridge?: Record<string, unknown> };
  if (w.dexbridge) w.dexbridge['replayView'] = api;
};

const GHOST_STYLE = { color: '#bf5af2', opacity: 0.35 };
/** The re-retargeted robot stands beside the recorded one (to its right, 1.3 m), not inside it. */
const GHOST_BESIDE_M: [number, number, number] = [0, 0, 1.3];
/** The ghost without its pedestal: a big translucent purple box tinted the whole scene. */
const hidePedestal = (rig: RobotRig): undefined => {
  for (const o of rig.base.children) if ((o as { isMesh?: boolean }).isMesh) o.visible = false;
  return undefined;
};

function RecordingPlots({
  rec,
  play,
  ghost,
  ghostKey,
  markers,
  onSeek,
}: {
  rec: LoadedRecording;
  play: { current: { time: number } };
  ghost: { current: { t: Float64Array; actions: Float32Array } | undefined };
  /** Changes with the ghost (its parameters): the chart is rebuilt with it. */
  ghostKey: string;
  markers: { x: number; color: string }[];
  onSeek: (t: number) => void;
}) {
  const [group, setGroup] = useState('right_arm');
  const entries = (ACTION_PLOT_GROUPS.find((g) => g.label === group) ?? ACTION_PLOT_GROUPS[0]!).indices.map((i) => ACTION_ENTRIES[i]!);
  const palette = ['#ff453a', '#ff9f0a', '#ffd60a', '#32d74b', '#64d2ff', '#0a84ff', '#bf5af2', '#ff375f'];
  const read = (): AlignedData => {
    const n = rec.t.length;
    const cols = entries.map((e) => {
      const c = new Float64Array(n);
      for (let i = 0; i < n; i++) c[i] = rec.actions[i * ACTION_DIM + e.index]!;
      return c;
    });
    const g = ghost.current;
    const gcols = g
      ? entries.map((e) => {
          const c = new Float64Array(n);
          for (let i = 0; i < n; i++) c[i] = g.actions[indexAt(g.t, rec.t[i]!) * ACTION_DIM + e.index]!;
          return c;
        })
      : [];
    return [rec.t, ...cols, ...gcols] as unknown as AlignedData;
  };
  const series = [
    ...entries.map((e, i) => ({ label: `${e.name} (${e.unit})`, color: palette[i]! })),
    ...(ghost.current ? entries.map((e, i) => ({ label: `${e.name} re-retargeted`, color: palette[i]!, dash: [5, 4] })) : []),
  ];
  return (
    <div className="plots" data-testid="recording-plots">
      <label className="small">
        group{' '}
        <select value={group} onChange={(e) => setGroup(e.target.value)}>
          {ACTION_PLOT_GROUPS.map((g) => (
            <option key={g.label}>{g.label}</option>
          ))}
        </select>{' '}
        (click a plot to seek)
      </label>
      <Chart
        key={`${group}-${ghostKey}`}
        title={`Action: ${group.replace('_', ' ')}`}
        testId="recording-chart"
        series={series}
        read={read}
        version={() => 0}
        cursor={() => play.current.time}
        markers={() => markers}
        onClickX={onSeek}
        height={220}
      />
    </div>
  );
}

function ReRetarget({ rec, onResult }: { rec: LoadedRecording; onResult: (g: { t: Float64Array; actions: Float32Array } | undefined, label: string) => void }) {
  // Defaults: the parameters the recording was made with, so a first run reproduces it.
  const recorded = formatHandScale(rec.params);
  const [scale, setScale] = useState(recorded);
  const [translation, setTranslation] = useState(String(rec.params.translationScale));
  const [digits, setDigits] = useState(rec.params.digitScales !== undefined);
  const [busy, setBusy] = useState<number | undefined>();
  const [err, setErr] = useState<string | undefined>();
  return (
    <div className="panel">
      <h3>Re-retarget</h3>
      <p className="hint">
        Run the retargeting again on the recorded hands with other parameters; the result is the purple robot beside the recorded one, in time with it. The
        fields start at the recording's own parameters (hand {recorded}, translation {rec.params.translationScale}
        {rec.params.digitScales ? ', digit scales' : ''}).
      </p>
      {rec.frames.length === 0 ? <p className="hint">This recording has no operator hand frames.</p> : null}
      <label title="one number for both hands, left/right for each, or auto">
        hand scale <input size={9} value={scale} onChange={(e) => setScale(e.target.value)} aria-label="hand scale" />
      </label>
      <label>
        translation scale <input size={5} value={translation} onChange={(e) => setTranslation(e.target.value)} aria-label="translation scale" />
      </label>
      {rec.params.digitScales ? (
        <label>
          <input type="checkbox" checked={digits} onChange={(e) => setDigits(e.target.checked)} aria-label="recorded digit scales" /> recorded digit scales
        </label>
      ) : null}
      <button
        type="button"
        data-testid="re-retarget"
        disabled={busy !== undefined || rec.frames.length === 0}
        onClick={() => {
          const hand = parseHandScale(scale);
          const translationScale = Number(translation);
          if (hand === null || !(translationScale > 0)) {
            setErr('scales must be positive numbers (hand scale may be "auto", or left/right such as 1.07/1.1)');
            return;
          }
          setErr(undefined);
          setBusy(0);
          reRetarget(rec, { ...hand, translationScale, ...(digits && rec.params.digitScales ? { digitScales: rec.params.digitScales } : {}) }, (f) => setBusy(f))
            .then((g) => onResult(g, `hand ${scale}, translation ${translation}${digits && rec.params.digitScales ? ', recorded digit scales' : ''}`))
            .catch((e: Error) => setErr(e.message))
            .finally(() => setBusy(undefined));
        }}
      >
        {busy !== undefined ? `retargeting ${Math.round(busy * 100)} %` : 'Re-retarget'}
      </button>
      <button type="button" onClick={() => onResult(undefined, '')}>
        clear
      </button>
      {err ? <p className="error">{err}</p> : null}
    </div>
  );
}

function MetaEditor({ name, entry, token, onChanged }: { name: string; entry: RecordingListEntry | undefined; token: string | undefined; onChanged: () => void }) {
  const [task, setTask] = useState(entry?.task ?? '');
  const [success, setSuccess] = useState<string>(entry?.success === null || entry?.success === undefined ? '' : String(entry.success));
  const [msg, setMsg] = useState('');
  return (
    <form
      className="meta"
      onSubmit={(e) => {
        e.preventDefault();
        const body: Record<string, unknown> = { task };
        body['success'] = success === '' ? null : success === 'true';
        fetch(`/api/recordings/${encodeURIComponent(name)}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...authHeaders(token) }, body: JSON.stringify(body) })
          .then(async (r) => {
            if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${r.status}`);
            setMsg('saved');
            onChanged();
          })
          .catch((e: Error) => setMsg(`not saved: ${e.message}`));
      }}
    >
      <input value={task} onChange={(e) => setTask(e.target.value)} placeholder="task" aria-label="recording task" />
      <select value={success} onChange={(e) => setSuccess(e.target.value)} aria-label="success">
        <option value="">success ?</option>
        <option value="true">success ✓</option>
        <option value="false">failure ✗</option>
      </select>
      <button type="submit" disabled={!token} title={token ? '' : 'needs the operator token'}>
        save
      </button>
      <span className="small">{msg}</span>
    </form>
  );
}

function DeleteButton({ name, token, onDeleted }: { name: string; token: string | undefined; onDeleted: () => void }) {
  const [err, setErr] = useState('');
  return (
    <>
      <button
        type="button"
        disabled={!token}
        onClick={() => {
          if (!confirm(`Delete ${name}? This cannot be undone.`)) return;
          fetch(`/api/recordings/${encodeURIComponent(name)}`, { method: 'DELETE', headers: authHeaders(token) })
            .then((r) => (r.ok ? onDeleted() : setErr(`HTTP ${r.status}`)))
            .catch((e: Error) => setErr(e.message));
        }}
      >
        delete
      </button>
      {err ? <span className="error">{err}</span> : null}
    </>
  );
}
