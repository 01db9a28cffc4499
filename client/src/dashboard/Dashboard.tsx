/**
 * The desktop dashboard: live status, emergency stop (button and space bar), engage, calibration,
 * the operator URL with a QR code, latency and joint plots, the action inspector, the event log,
 * and the recordings view.
 */
import { STATE_JOINT_NAMES } from '@dexbridge/retarget';
import type { RobotModel } from '@dexbridge/urdf';
import QRCode from 'qrcode';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AlignedData } from 'uplot';
import { useStore } from 'zustand';
import { HAND_SCALE_RANGE, TRANSLATION_SCALE_RANGE } from '@dexbridge/server/protocol';
import { saveToken } from '../net/token.js';
import { Recordings } from '../recordings/Recordings.js';
import { CameraPanel } from '../cameras/CameraPanel.js';
import { RobotCanvas, type RobotViewApi } from '../robot/Scene.js';
import { DEMO, DEMO_HANDOFF } from '../store/lease.js';
import type { LiveSession } from '../store/live.js';
import { ActionInspector } from '../ui/ActionInspector.js';
import { Chart } from '../ui/Chart.js';
import { STATE_JOINT_GROUPS } from '../ui/jointGroups.js';
import { parseCalibrationInput } from './calibrationInput.js';
import type { LiveExtras } from './extras.js';
import { LiveRobot, liveRobotVersion, type Overlay } from './LiveRobot.js';

export interface DashboardProps {
  readonly session: LiveSession;
  readonly extras: LiveExtras;
  readonly model: RobotModel;
  readonly token: string | undefined;
  readonly lanUrls: readonly string[];
}

const fmt = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

export function Dashboard(props: DashboardProps) {
  const [tab, setTab] = useState<'live' | 'recordings'>(() => (location.hash === '#recordings' ? 'recordings' : 'live'));
  useEffect(() => {
    history.replaceState(null, '', tab === 'recordings' ? '#recordings' : location.pathname + location.search);
  }, [tab]);
  return (
    <div className="dash">
      <StatusBar session={props.session} />
      <nav className="tabs">
        <button type="button" className={tab === 'live' ? 'on' : ''} onClick={() => setTab('live')}>
          Live
        </button>
        <button type="button" className={tab === 'recordings' ? 'on' : ''} onClick={() => setTab('recordings')} data-testid="tab-recordings">
          Recordings
        </button>
      </nav>
      {tab === 'live' ? <Live {...props} /> : <Recordings model={props.model} token={props.token} />}
    </div>
  );
}

function StatusBar({ session }: { session: LiveSession }) {
  const phase = useStore(session.store, (s) => s.phase);
  const status = useStore(session.store, (s) => s.status);
  const summary = useStore(session.store, (s) => s.summary);
  const rtt = useStore(session.store, (s) => s.rttMs);
  const role = useStore(session.store, (s) => s.welcome?.role);
  const estop = summary?.estop ?? status?.estop ?? false;
  return (
    <header className="status" data-testid="status">
      <span className={`pill ${phase === 'open' ? 'ok' : 'bad'}`} data-testid="connection">
        {phase}
        {role ? ` · ${role}` : ''}
      </span>
      <span className="pill" data-testid="mode">
        mode {summary?.mode ?? status?.mode ?? '–'}
      </span>
      <span className={`pill ${estop ? 'bad' : ''}`} data-testid="estop-state">
        {estop ? 'E-STOP LATCHED' : 'e-stop clear'}
      </span>
      <span className="pill" data-testid="lease">
        lease {status?.lease.holder ?? 'free'}
      </span>
      {status?.motion?.engageRequired ? (
        <span className="pill bad" data-testid="motion" title="nothing moves until the lease holder engages">
          held ({status.motion.hold ?? 'not engaged'}) · engage to move
        </span>
      ) : null}
      {status?.motion?.calibrationPending ? <span className="pill">calibration applies at the next engage</span> : null}
      <span className={`pill ${status?.ros.connected ? 'ok' : ''}`}>ROS {status?.ros.connected ? 'connected' : status?.ros.url ? 'down' : 'off'}</span>
      <span className={`pill ${status?.recording.active ? 'rec' : ''}`}>{status?.recording.active ? '● recording' : 'not recording'}</span>
      {status?.recording.error ? <span className="pill bad">recording error: {status.recording.error}</span> : null}
      <span className="pill" data-testid="latency" title="server: frame received → state sent; rtt: dashboard ↔ server round trip">
        latency server {fmt(summary?.serverLatencyMs, 2)} ms · retarget {fmt(summary?.retargetMs, 2)} ms · rtt {fmt(rtt, 1)} ms
      </span>
      <span className="pill">{summary ? `${summary.statesPerSecond} states/s` : ''}</span>
      {summary?.hold ? <span className="pill warn">robot held</span> : null}
      {summary && summary.nearLimit.length > 0 ? <span className="pill warn">near limit: {summary.nearLimit.join(', ')}</span> : null}
    </header>
  );
}

function Live({ session, extras, model, token, lanUrls }: DashboardProps) {
  // Read by the 3D view every frame; React re-renders only the legend.
  const hidden = useRef<ReadonlySet<Overlay>>(new Set());
  const [shownHidden, setShownHidden] = useState<ReadonlySet<Overlay>>(hidden.current);
  const toggle = (o: Overlay) => {
    const next = new Set(hidden.current);
    if (next.has(o)) next.delete(o);
    else next.add(o);
    hidden.current = next;
    setShownHidden(next);
  };
  const redrawWhen = useCallback(() => liveRobotVersion(session, extras, hidden.current), [session, extras]);
  return (
    <div className="live">
      <section className="viewport">
        <RobotCanvas label="live-robot" onView={exposeView} redrawWhen={redrawWhen}>
          <LiveRobot session={session} extras={extras} model={model} hidden={hidden} />
        </RobotCanvas>
        <Legend hidden={shownHidden} toggle={toggle} />
      </section>
      {/* The key panels (3D, e-stop, controls, events) fit 1280×800 without scrolling; the rest folds. */}
      <aside className="side">
        <Estop session={session} />
        <Controls session={session} token={token} />
        <EventLog session={session} />
        <PolicyPanel session={session} />
        <CameraPanel session={session} />
        <details className="fold">
          <summary>Calibration</summary>
          <Calibration session={session} token={token} />
        </details>
        <details className="fold">
          <summary>Open on the Quest</summary>
          <QuestLink token={token} lanUrls={lanUrls} />
        </details>
      </aside>
      <section className="plots">
        <LatencyChart session={session} />
        <JointChart session={session} />
      </section>
      <section className="inspector">
        <ActionInspector action={() => session.latest?.action} />
      </section>
    </div>
  );
}

/** The live view's framing, for tests and the console (`dexbridge.liveView`). */
const exposeView = (api: RobotViewApi): void => {
  const w = window as unknown as { dexbridge?: Record<string, unknown> };
  if (w.dexbridge) w.dexbridge['liveView'] = api;
};

/** The overlays' colours; each overlay's entry shows or hides it. */
function Legend({ hidden, toggle }: { hidden: ReadonlySet<Overlay>; toggle: (o: Overlay) => void }) {
  const item = (o: Overlay, color: string, label: string) => (
    <button type="button" className={`legend-item${hidden.has(o) ? ' off' : ''}`} aria-pressed={!hidden.has(o)} data-testid={`legend-${o}`} onClick={() => toggle(o)} title={`show or hide: ${label}`}>
      <span style={{ color }}>■</span> {label}
    </button>
  );
  return (
    <div className="legend">
      <span style={{ color: '#ddd' }}>■ commanded</span> {item('measured', '#4da3ff', 'measured (ROS)')} {item('policy', '#ff9f0a', 'policy chunk')}{' '}
      {item('fingertips', '#34c759', 'fingertips')} {item('targets', '#ff2d55', 'targets')} {item('hand', '#ffcc00', 'operator hand')}{' '}
      <span style={{ color: '#ff3b30' }}>■ near limit</span>
    </div>
  );
}

function Estop({ session }: { session: LiveSession }) {
  const estop = useStore(session.store, (s) => s.summary?.estop ?? s.status?.estop ?? false);
  const hold = useStore(session.store, (s) => (s.status?.motion?.engageRequired ? s.status.motion.hold : null));
  const role = useStore(session.store, (s) => s.welcome?.role);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.code !== 'Space' || e.repeat) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
      e.preventDefault();
      session.client.send({ type: 'estop' });
      session.addLog('info', 'e-stop sent (space bar)');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [session]);
  return (
    <div className="estop-box">
      <button type="button" className="estop" data-testid="estop" onClick={() => session.client.send({ type: 'estop' })}>
        EMERGENCY STOP
        <small>space bar</small>
      </button>
      {estop ? (
        <button type="button" disabled={role !== 'operator'} onClick={() => session.client.send({ type: 'reset_estop' })} title={role !== 'operator' ? 'needs the operator token' : ''}>
          Reset e-stop
        </button>
      ) : hold === 'estop_reset' ? (
        <p className="warn-text" data-testid="engage-to-resume">
          E-stop reset: nothing moves until the lease holder presses Engage.
        </p>
      ) : null}
    </div>
  );
}

function Controls({ session, token }: { session: LiveSession; token: string | undefined }) {
  const role = useStore(session.store, (s) => s.welcome?.role);
  const summary = useStore(session.store, (s) => s.summary);
  const recording = useStore(session.store, (s) => s.status?.recording.active ?? false);
  const lastError = useStore(session.store, (s) => s.lastError);
  const [task, setTask] = useState('');
  const [draft, setDraft] = useState(token ?? '');
  const op = role === 'operator';
  const send = session.client.send.bind(session.client);
  const recordingFile = useStore(session.store, (s) => s.status?.recording.file ?? null);
  const holder = useStore(session.store, (s) => s.status?.lease.holder ?? null);
  /**
   * A task typed while recording labels the recording being stopped: it goes first, as
   * set_recording_meta on that file (the server handles a connection's messages in order).
   */
  const stop = (success: boolean) => {
    const typed = task.trim();
    if (typed && recordingFile) send({ type: 'set_recording_meta', file: recordingFile, task: typed });
    send({ type: 'record_stop', success });
  };
  return (
    <div className="panel" data-testid="controls">
      <h3>Control</h3>
      {!op ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            saveToken(draft || undefined);
            location.reload();
          }}
        >
          <p className="hint">Viewing only. Enter the operator token to control the robot.</p>
          <input type="password" placeholder="operator token" value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="operator token" />
          <button type="submit">Use token</button>
        </form>
      ) : null}
      <div className="row">
        <button type="button" disabled={!op} data-testid="engage" onClick={() => send({ type: 'engage' })}>
          Engage
        </button>
        <button type="button" disabled={!op} onClick={() => send({ type: 'disengage' })}>
          Disengage
        </button>
        <span className="small">
          L {summary?.left.engaged ? 'engaged' : 'free'} ({summary?.left.hold}) · R {summary?.right.engaged ? 'engaged' : 'free'} ({summary?.right.hold})
        </span>
      </div>
      <div className="row">
        <label>
          mode{' '}
          <select disabled={!op} value={summary?.mode ?? 'idle'} onChange={(e) => send({ type: 'set_mode', mode: e.target.value as 'idle' | 'teleop' | 'policy' | 'replay' })}>
            {['idle', 'teleop', 'policy', 'replay'].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!op} onClick={() => send({ type: 'lease_request', takeover: true })} title="take the control lease from the current holder">
          Take over lease
        </button>
      </div>
      {holder === DEMO ? (
        <p className="warn-text" data-testid="demo-handoff">
          {DEMO_HANDOFF}
        </p>
      ) : null}
      <div className="row">
        <input placeholder="task (e.g. pick the cube)" value={task} onChange={(e) => setTask(e.target.value)} disabled={!op} aria-label="task" maxLength={256} />
        {recording ? (
          <>
            <button type="button" disabled={!op} data-testid="stop-ok" onClick={() => stop(true)}>
              Stop ✓
            </button>
            <button type="button" disabled={!op} data-testid="stop-fail" onClick={() => stop(false)}>
              Stop ✗
            </button>
          </>
        ) : (
          <button type="button" disabled={!op} onClick={() => send(task ? { type: 'record_start', task } : { type: 'record_start' })}>
            Record
          </button>
        )}
      </div>
      {lastError ? (
        <p className="error" data-testid="last-error">
          {lastError.code}: {lastError.message}
        </p>
      ) : null}
    </div>
  );
}

function Calibration({ session, token }: { session: LiveSession; token: string | undefined }) {
  const role = useStore(session.store, (s) => s.welcome?.role);
  const [left, setLeft] = useState('');
  const [right, setRight] = useState('');
  const [translation, setTranslation] = useState('1');
  const op = role === 'operator' && token !== undefined;
  const input = parseCalibrationInput(left, right, translation);
  return (
    <div className="panel">
      <h3>Calibration</h3>
      <p className="hint">
        Hand scale = robot hand / your hand ({HAND_SCALE_RANGE.min}–{HAND_SCALE_RANGE.max}; empty: measured automatically when the hand is first seen).
        Translation scale = robot wrist motion / your wrist motion ({TRANSLATION_SCALE_RANGE.min}–{TRANSLATION_SCALE_RANGE.max}).
      </p>
      <div className="row">
        <label>
          left <input size={5} value={left} onChange={(e) => setLeft(e.target.value)} disabled={!op} aria-label="left hand scale" inputMode="decimal" />
        </label>
        <label>
          right <input size={5} value={right} onChange={(e) => setRight(e.target.value)} disabled={!op} aria-label="right hand scale" inputMode="decimal" />
        </label>
        <label>
          translation <input size={5} value={translation} onChange={(e) => setTranslation(e.target.value)} disabled={!op} aria-label="translation scale" inputMode="decimal" />
        </label>
        <button
          type="button"
          disabled={!op || !input.ok}
          data-testid="calibrate"
          onClick={() => {
            if (!input.ok) return;
            session.client.send(input.message);
            session.addLog('info', `calibrate sent: ${input.summary}`);
          }}
        >
          Apply
        </button>
        <button
          type="button"
          disabled={!op}
          data-testid="calibrate-hands"
          title="The operator holds both hands open and flat in view for a second: hand and digit scales per hand, applied at the next engage"
          onClick={() => {
            session.client.send({ type: 'calibrate_hands' });
            session.addLog('info', 'calibrate_hands sent: hold both hands open and flat for a second');
          }}
        >
          Measure hands (1 s)
        </button>
      </div>
      {!input.ok ? (
        <p className="error" data-testid="calibration-error">
          {input.error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The headset's link. Without the operator token the link would open on "No operator token", so
 * neither link nor QR code is offered; with it, the QR code carries the token, so it is shown only
 * on request, under a warning that whoever scans it can drive the robot.
 */
export function QuestLink({ token, lanUrls }: { token: string | undefined; lanUrls: readonly string[] }) {
  const base = lanUrls[0] ?? location.origin;
  const url = token ? `${base}/?role=operator#token=${encodeURIComponent(token)}` : undefined;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [shown, setShown] = useState(false);
  const [qr, setQr] = useState(false);
  useEffect(() => {
    if (qr && url && canvas.current) void QRCode.toCanvas(canvas.current, url, { width: 168, margin: 1 });
  }, [url, qr]);
  return (
    <div className="panel" data-testid="quest-link">
      <h3>Open on the Quest</h3>
      {url ? (
        <>
          <p className="url">
            {shown ? url : url.replace(/#token=.*/, '#token=••••••')}{' '}
            <button type="button" onClick={() => setShown(!shown)}>
              {shown ? 'hide' : 'show'} token
            </button>
          </p>
          <p className="warn-text">The link and its QR code carry the operator token: whoever opens them can drive the robot.</p>
          {qr ? <canvas ref={canvas} data-testid="qr" /> : null}
          <button type="button" onClick={() => setQr(!qr)} data-testid="qr-toggle">
            {qr ? 'hide QR code' : 'show QR code (grants control)'}
          </button>
        </>
      ) : (
        <p className="hint">The headset needs the operator token: enter it under Control, then its link and QR code appear here.</p>
      )}
      {lanUrls.length === 0 ? <p className="hint">The server listens on loopback only: use adb reverse, or start it with --host 0.0.0.0 --tls (docs/quest.md).</p> : null}
    </div>
  );
}

function PolicyPanel({ session }: { session: LiveSession }) {
  const s = useStore(session.store, (st) => st.summary);
  const clients = useStore(session.store, (st) => st.status?.clients);
  return (
    <div className="panel">
      <h3>Policy</h3>
      <p className="small" data-testid="policy">
        policies connected {clients?.policies ?? 0} · queue {s?.chunkQueueDepth ?? 0} · chunk latency {fmt(s?.chunkLatencyMs, 1)} ms
      </p>
    </div>
  );
}

function LatencyChart({ session }: { session: LiveSession }) {
  const cols = useMemo(() => [0, 1, 2], []);
  return (
    <Chart
      title="Latency (ms, log scale)"
      testId="latency-chart"
      logY
      series={[
        { label: 'server', color: '#ff9f0a' },
        { label: 'retarget', color: '#34c759' },
        { label: 'rtt', color: '#4da3ff' },
      ]}
      read={() => {
        const r = session.latency.columns(cols);
        return [r.t, ...r.cols] as unknown as AlignedData;
      }}
      version={() => session.latency.version}
      height={150}
    />
  );
}

const PALETTE = ['#ff453a', '#ff9f0a', '#ffd60a', '#32d74b', '#64d2ff', '#0a84ff', '#bf5af2', '#ff375f', '#ac8e68', '#98989d'];

function JointChart({ session }: { session: LiveSession }) {
  const [group, setGroup] = useState('right arm');
  const cols = (STATE_JOINT_GROUPS.find((g) => g.label === group) ?? STATE_JOINT_GROUPS[0]!).indices;
  const series = cols.map((c, i) => ({ label: STATE_JOINT_NAMES[c]!.replace(/^(left|right)_/, ''), color: PALETTE[i % PALETTE.length]! }));
  const measuredSeries = cols.map((c, i) => ({ label: `${STATE_JOINT_NAMES[c]!.replace(/^(left|right)_/, '')} (measured)`, color: PALETTE[i % PALETTE.length]!, dash: [4, 4] }));
  return (
    <div>
      <label className="small">
        joints{' '}
        <select value={group} onChange={(e) => setGroup(e.target.value)}>
          {STATE_JOINT_GROUPS.map((g) => (
            <option key={g.label}>{g.label}</option>
          ))}
        </select>{' '}
        (solid commanded, dashed measured; rad)
      </label>
      <Chart
        title={`Joints: ${group}`}
        testId="joint-chart"
        series={[...series, ...measuredSeries]}
        read={() => {
          const c = session.commanded.columns(cols);
          const m = session.measured.columns(cols);
          return [c.t, ...c.cols, ...m.cols] as unknown as AlignedData;
        }}
        version={() => session.commanded.version}
        height={220}
      />
    </div>
  );
}

function EventLog({ session }: { session: LiveSession }) {
  const log = useStore(session.store, (s) => s.log);
  return (
    <div className="panel log">
      <h3>Events</h3>
      <ol data-testid="event-log">
        {log
          .slice(-60)
          .reverse()
          .map((e) => (
            <li key={e.id} className={e.kind}>
              <time>{(e.atMs / 1000).toFixed(1)}</time> {e.text}
            </li>
          ))}
      </ol>
    </div>
  );
}
