/**
 * The Quest operator view: an enter button for an immersive session with hand tracking
 * (passthrough AR when the device offers it, else VR); in the session, both hands are read every
 * XR frame into preallocated arrays and sent as one binary HAND_FRAME; the robot stands in front
 * of the operator, facing away (the operator looks over its shoulders), with a head-up display.
 */
import type { RobotModel } from '@dexbridge/urdf';
import { type CameraInfo, encodeHandFrame, HAND_FRAME_BYTES } from '@dexbridge/server/protocol';
import { Canvas, useFrame, useThree } from '@react-three/fiber';
import { XR, type XRStore } from '@react-three/xr';
import { useEffect, useMemo, useState } from 'react';
import { Group, type Mesh, Vector3 } from 'three';
import { useStore } from 'zustand';
import { CameraFeed } from '../cameras/CameraFeed.js';
import { PointSet } from '../robot/overlays.js';
import { RobotRig } from '../robot/RobotRig.js';
import { DEMO, DEMO_HANDOFF, holdsLease } from '../store/lease.js';
import type { LiveSession } from '../store/live.js';
import { Ring } from '../store/telemetry.js';
import { createHandReader, type HandReader } from './handPoses.js';
import { Hud, type HudLine } from './Hud.js';
import { PanelLayout } from './placement.js';
import { type CameraPanel3d, XrCameraPanel } from './XrCameraPanel.js';
import { XrControls, type XrControlsProps } from './XrControls.js';
import { viewRegions } from './viewRegions.js';

/** Frame-to-send times and end-to-end latencies, for the HUD and the benchmark. */
export interface OperatorStats {
  framesSent: number;
  framesSkipped: number;
  /** XR frame callback start → HAND_FRAME handed to the socket, ms. */
  readonly sendMs: Ring;
  /** HAND_FRAME time → the ROBOT_STATE answering it received, ms. */
  readonly roundTripMs: Ring;
  /** Tracked hands in the last frame sent. */
  lastTracked: number;
  /** The last HAND_FRAME's 2 × 200 numbers (copies), for tests and the bench. */
  readonly lastLeft: Float32Array;
  readonly lastRight: Float32Array;
  /** The head-up display's rows as last drawn (after fitting), for tests. */
  hudRows: readonly string[];
}

export function createOperatorStats(): OperatorStats {
  return { framesSent: 0, framesSkipped: 0, sendMs: new Ring(1000, 1), roundTripMs: new Ring(1000, 1), lastTracked: 0, lastLeft: new Float32Array(200), lastRight: new Float32Array(200), hudRows: [] };
}

/** Where the robot's base stands, in the XR reference space (m): ahead of the operator, on the floor. */
const ROBOT_AHEAD_M = 0.9;
/** Latest-wins: skip a frame rather than queue behind a slow link. */
const MAX_BUFFERED = 16 * 1024;

export function OperatorApp({
  session,
  model,
  store,
  stats,
  emulated,
  ownName,
  xrButtons,
  token,
  menuState,
  exposed,
}: {
  session: LiveSession;
  model: RobotModel;
  store: XRStore;
  stats: OperatorStats;
  emulated: boolean;
  ownName: string;
  xrButtons: Map<string, Mesh>;
  token: string | undefined;
  menuState: XrControlsProps['menuState'];
  /** `window.dexbridge`: the page puts what tests look at here. */
  exposed: Record<string, unknown>;
}) {
  const phase = useStore(session.store, (s) => s.phase);
  const role = useStore(session.store, (s) => s.welcome?.role);
  const status = useStore(session.store, (s) => s.status);
  const summary = useStore(session.store, (s) => s.summary);
  const lastError = useStore(session.store, (s) => s.lastError);
  const inSession = useXRMode(store);
  // One reader for both hands, shared by the frame sender and the wrist menu (which follows the left hand).
  const hands = useMemo(() => createHandReader(), []);
  const [camera, setCamera] = useState<string | null>(null);
  const cameras = useStore(session.store, (s) => s.welcome?.cameras);
  const cameraInfo = cameras?.find((c) => c.id === camera);
  // The headset receives only the camera it shows (none until one is chosen on the wrist menu).
  // Made in an effect, not a memo: a feed closed by an effect's cleanup must be made again by the next run.
  const [feed, setFeed] = useState<CameraFeed | undefined>(undefined);
  useEffect(() => {
    const f = new CameraFeed(session.client, []);
    setFeed(f);
    return () => f.close();
  }, [session]);
  const [support, setSupport] = useState<{ ar: boolean; vr: boolean } | undefined>();
  useEffect(() => {
    const xr = navigator.xr;
    if (!xr) return setSupport({ ar: false, vr: false });
    void Promise.all([xr.isSessionSupported('immersive-ar').catch(() => false), xr.isSessionSupported('immersive-vr').catch(() => false)]).then(([ar, vr]) =>
      setSupport({ ar, vr }),
    );
  }, []);
  // The XR store can start a session only once <XR> has connected it to the canvas's renderer: on
  // a slow machine the page shows the button before that, and an early press was refused.
  const [xrReady, setXrReady] = useState(false);
  const [enterError, setEnterError] = useState<string | undefined>();
  const enter = () => {
    setEnterError(undefined);
    const p = support?.ar ? store.enterAR() : store.enterVR();
    p.catch((e: Error) => setEnterError(`could not start the immersive session: ${e.message}`));
  };
  return (
    <div className="operator">
      <div className="operator-overlay">
        <h2>dexbridge operator</h2>
        <p data-testid="op-connection">
          {phase}
          {role ? ` as ${role}` : ''} · mode {summary?.mode ?? status?.mode ?? '–'} · lease {status?.lease.holder ?? 'free'}
          {emulated ? ' · emulated Quest 3 (IWER)' : ''}
        </p>
        {role !== 'operator' && phase === 'open' ? <p className="error">No operator token: open the URL the server printed (…/?role=operator#token=…).</p> : null}
        {support && !support.ar && !support.vr ? <p className="error">This browser offers no immersive WebXR session (needs https or localhost, and a headset).</p> : null}
        <button type="button" className="enter" data-testid="enter-xr" disabled={!xrReady || !support || (!support.ar && !support.vr) || inSession} onClick={enter}>
          {inSession ? 'in XR' : support?.ar ? 'Enter XR (passthrough)' : 'Enter VR'}
        </button>
        <div className="row">
          <button type="button" className="estop small-estop" onClick={() => session.client.send({ type: 'estop' })}>
            E-STOP
          </button>
          <button type="button" disabled={role !== 'operator'} onClick={() => session.client.send({ type: 'engage' })}>
            Engage
          </button>
          <button type="button" disabled={role !== 'operator'} onClick={() => session.client.send({ type: 'disengage' })}>
            Disengage
          </button>
          {role === 'operator' && status?.lease.holder && status.lease.holder !== session.client.welcome?.sessionId && status.lease.holder !== ownName ? (
            <button type="button" data-testid="takeover" onClick={() => session.client.send({ type: 'lease_request', takeover: true })}>
              Take control from {status.lease.holder}
            </button>
          ) : null}
        </div>
        <div>
          {status?.lease.holder === DEMO ? (
            <p className="warn-text" data-testid="demo-handoff">
              {DEMO_HANDOFF}
            </p>
          ) : null}
        </div>
        <p className="hint">Engage: touch thumb to little finger on both hands for 0.6 s (again to disengage), or from the dashboard.</p>
        <p className="small" data-testid="op-stats">
          {summary ? `L ${summary.left.engaged ? 'engaged' : 'free'} (${summary.left.hold}) · R ${summary.right.engaged ? 'engaged' : 'free'} (${summary.right.hold})` : ''}
        </p>
        {enterError ? <p className="error">{enterError}</p> : null}
        {/* A LEASE_HELD from before this page took control is history, not the present. */}
        {lastError && !(lastError.code === 'LEASE_HELD' && holdsLease(status?.lease.holder, ownName, session.client.welcome?.sessionId)) ? (
          <p className="error">
            {lastError.code}: {lastError.message}
          </p>
        ) : null}
      </div>
      {/* Before XR the page shows what the operator will see: the robot from behind, from a standing eye height. */}
      <Canvas className="operator-canvas" camera={{ position: [0, 1.75, 0.5], fov: 70 }} onCreated={({ camera }) => camera.lookAt(0, 1.0, -ROBOT_AHEAD_M)}>
        <XR store={store}>
          <Connected onConnected={setXrReady} />
          <ambientLight intensity={0.7} />
          <directionalLight position={[1, 3, 2]} intensity={1.4} />
          <OperatorScene session={session} model={model} stats={stats} store={store} ownName={ownName} reader={hands} feed={feed} camera={cameraInfo} exposed={exposed} />
          <XrControls session={session} ownName={ownName} registry={xrButtons} hands={hands} token={token} menuState={menuState} camera={camera} onCamera={setCamera} />
        </XR>
      </Canvas>
    </div>
  );
}

/** Inside <XR>: says so once mounted, after <XR> has given its store the canvas's WebXR manager (it does while rendering). */
function Connected({ onConnected }: { onConnected: (ready: boolean) => void }): null {
  useEffect(() => {
    onConnected(true);
    return () => onConnected(false);
  }, [onConnected]);
  return null;
}

function useXRMode(store: XRStore): boolean {
  const [mode, setMode] = useState(store.getState().mode);
  useEffect(() => store.subscribe((s) => setMode(s.mode)), [store]);
  return mode !== null;
}

function OperatorScene({
  session,
  model,
  stats,
  store,
  ownName,
  reader,
  feed,
  camera,
  exposed,
}: {
  session: LiveSession;
  model: RobotModel;
  stats: OperatorStats;
  store: XRStore;
  ownName: string;
  reader: HandReader;
  feed: CameraFeed | undefined;
  camera: CameraInfo | undefined;
  exposed: Record<string, unknown>;
}) {
  const gl = useThree((s) => s.gl);
  const viewCamera = useThree((s) => s.camera);
  const cameraPanel = useMemo(() => ({ panel: undefined as CameraPanel3d | undefined }), []);
  const things = useMemo(() => {
    const rig = new RobotRig(model);
    // Rig frame (x forward, z up) in the XR space (−z forward, y up): the robot faces where the operator faces.
    const holder = new Group();
    holder.rotation.y = Math.PI / 2;
    holder.position.set(0, 0, -ROBOT_AHEAD_M);
    holder.add(rig.root);
    const hands = { left: new PointSet(25, 0.006, '#ffcc00'), right: new PointSet(25, 0.006, '#ffcc00') };
    return { rig, holder, hands, hud: new Hud(), layout: new PanelLayout(), reader, frame: new Uint8Array(HAND_FRAME_BYTES), seq: 0, lastTMs: 0, stateSeq: -1, hudAt: 0 };
  }, [model, reader]);
  useEffect(() => {
    const off = session.client.onState((s, t) => {
      // States answering our own frames: the operator's full loop (frame → server → state back).
      if (s.sourceSeq > 0 && Number.isFinite(s.sourceTMs) && s.sourceSeq <= things.seq) stats.roundTripMs.push1(t / 1000, t - s.sourceTMs);
    });
    return () => {
      off();
      things.rig.dispose();
    };
  }, [session, things, stats]);
  useEffect(() => {
    // For tests: where the robot, the HUD and the camera panel fall in each eye's view.
    exposed['xrView'] = {
      regions: () => viewRegions(gl.xr.isPresenting ? gl.xr.getCamera().cameras : [viewCamera], things.rig.root, things.hud.mesh, cameraPanel.panel),
      cameraPanel: () => (cameraPanel.panel ? { id: cameraPanel.panel.info.id, frames: cameraPanel.panel.frames, settled: cameraPanel.panel.settled, meshes: cameraPanel.panel.meshes.length } : null),
      hudSettled: () => things.hud.settled,
    };
  }, [exposed, gl, viewCamera, things, cameraPanel]);
  useFrame((state, _delta, frame?: XRFrame) => {
    const t0 = performance.now();
    const x = things;
    const s = session.latest;
    const names = session.client.welcome?.jointNames;
    if (s && names && s.seq !== x.stateSeq) {
      x.stateSeq = s.seq;
      x.rig.setJoints(names, s.commanded);
      x.rig.highlightNearLimits(names, s.commanded);
    }
    const space = store.getState().originReferenceSpace;
    if (frame && space) {
      const n = x.reader.read(frame, space);
      stats.lastTracked = n;
      for (const side of SIDES) {
        const j = x.reader.joints[side];
        if (x.reader.tracked[side]) for (let i = 0; i < 25; i++) x.hands[side].set(i, j[i * 8]!, j[i * 8 + 1]!, j[i * 8 + 2]!);
        else x.hands[side].hideAll();
      }
      if (session.client.welcome?.role === 'operator') {
        if (session.client.bufferedAmount > MAX_BUFFERED) stats.framesSkipped++;
        else {
          const tMs = Math.max(t0, x.lastTMs + 1e-3);
          x.lastTMs = tMs;
          x.seq++;
          encodeHandFrame(x.frame, { seq: x.seq, tMs, left: x.reader.tracked.left ? x.reader.joints.left : null, right: x.reader.tracked.right ? x.reader.joints.right : null });
          if (session.client.sendBinary(x.frame)) {
            stats.framesSent++;
            stats.sendMs.push1(t0 / 1000, performance.now() - t0);
            stats.lastLeft.set(x.reader.tracked.left ? x.reader.joints.left : ZERO);
            stats.lastRight.set(x.reader.tracked.right ? x.reader.joints.right : ZERO);
          }
        }
      }
    }
    if (t0 - x.hudAt > 250) {
      x.hudAt = t0;
      x.hud.draw(hudLines(session, stats, ownName));
      stats.hudRows = x.hud.rows.map((r) => r.text);
    }
    // The HUD is for the headset; the page around the canvas says the same before XR.
    x.hud.mesh.visible = frame !== undefined;
    state.camera.getWorldPosition(headAt);
    x.hud.place(x.layout, x.rig.root, headAt, t0);
  });
  return (
    <>
      <primitive object={things.holder} />
      <primitive object={things.hands.left.mesh} />
      <primitive object={things.hands.right.mesh} />
      <primitive object={things.hud.mesh} />
      {feed ? <XrCameraPanel feed={feed} camera={camera} robot={things.rig.root} layout={things.layout} exposed={cameraPanel} /> : null}
    </>
  );
}

const ZERO = new Float32Array(200);
const headAt = new Vector3();
const SIDES = ['left', 'right'] as const;

/** A refusal shown on the HUD for this long after it came, ms. */
const ERROR_SHOWN_MS = 4000;

/**
 * What the head-up display says, most important first: why frames are refused (another lease
 * holder), the e-stop, recording, mode and lease, each side's engage and tracking state, why the
 * robot holds, latency, joints near a limit, the last refusal.
 */
export function hudLines(session: LiveSession, stats: OperatorStats, ownName: string, nowMs = performance.now()): HudLine[] {
  const s = session.latest;
  const st = session.store.getState();
  const lines: HudLine[] = [];
  if (session.client.phase !== 'open') return [{ text: `server: ${session.client.phase}`, color: RED }];
  if (!s) return [{ text: 'waiting for the robot…' }];
  const holder = st.status?.lease.holder ?? null;
  const mine = holdsLease(holder, ownName, session.client.welcome?.sessionId);
  const role = session.client.welcome?.role;
  if (role !== 'operator') lines.push({ text: `${role ?? 'no role'}: no operator token, hand frames are not sent`, color: RED });
  else if (holder !== null && !mine) {
    lines.push({ text: `LEASE_HELD: ${holder} holds the control lease`, color: RED });
    lines.push({ text: 'your hand frames are refused: Take control (wrist menu: left palm to your face)', color: AMBER });
    if (holder === DEMO) lines.push({ text: 'taking it ends the demo until the server restarts', color: AMBER });
  }
  if (s.estopLatched) lines.push({ text: 'E-STOP LATCHED: reset it, then engage', color: RED });
  const rec = st.status?.recording;
  if (rec?.active) lines.push({ text: `● REC ${rec.file ?? ''}`.trim(), color: '#ff6961' });
  else lines.push({ text: rec?.error ? `not recording (error: ${rec.error})` : 'not recording', color: rec?.error ? AMBER : GREY });
  lines.push({ text: `mode ${s.mode} · lease ${mine ? `you (${holder})` : (holder ?? 'free')}` });
  const side = (k: 'left' | 'right') => {
    const v = s.status[k];
    return `${k === 'left' ? 'L' : 'R'} ${v.engaged ? 'engaged' : 'free'} · ${v.hold === 'none' ? 'tracked' : `hold: ${v.hold}`}`;
  };
  lines.push({ text: `${side('left')}   ${side('right')}`, color: SIDES.some((k) => s.status[k].hold !== 'none') ? '#ffcc00' : undefined });
  const motion = st.status?.motion;
  if (motion?.engageRequired && !s.estopLatched) lines.push({ text: `held (${motion.hold ?? 'not engaged'}): press Engage to move`, color: AMBER });
  const rt = stats.roundTripMs.last();
  lines.push({ text: `latency ${Number.isFinite(rt) ? rt.toFixed(0) : '–'} ms (frame → robot state)`, color: GREY });
  const near = st.summary?.nearLimit ?? [];
  if (near.length > 0) lines.push({ text: `near limit: ${near.join(', ')}`, color: AMBER });
  const err = st.lastError;
  if (err && nowMs - err.atMs < ERROR_SHOWN_MS && !(err.code === 'LEASE_HELD' && err.ref === 'binary:1')) lines.push({ text: `${err.code}: ${err.message}`, color: AMBER });
  return lines;
}

const RED = '#ff453a';
const AMBER = '#ff9f0a';
const GREY = '#a0a4ab';
