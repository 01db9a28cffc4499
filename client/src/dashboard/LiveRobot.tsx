/**
 * The live robot: the commanded rig (joints near a limit tinted red), the measured rig from ROS as
 * a blue ghost when present, the achieved fingertips, the operator's hand and fingertip targets
 * (HAND_TRACKING), and the queued policy chunk as an orange ghost at its last row with the flange
 * paths. All updated per rendered frame from the session's latest messages.
 */
import type { Side } from '@dexbridge/retarget';
import type { RobotModel } from '@dexbridge/urdf';
import { useCallback, useMemo } from 'react';
import { FingertipMarkers, FLANGE_ACTION_INDEX, TrackingOverlay, Trajectory } from '../robot/overlays.js';
import type { RobotRig, RigStyle } from '../robot/RobotRig.js';
import { poseFromAction } from '../robot/RobotRig.js';
import { Rig } from '../robot/Scene.js';
import type { LiveSession } from '../store/live.js';
import { ACTION_WIDTH, type LiveExtras } from './extras.js';

const MEASURED_STYLE: RigStyle = { color: '#4da3ff', opacity: 0.35 };
const POLICY_STYLE: RigStyle = { color: '#ff9f0a', opacity: 0.3 };
const SIDES: readonly Side[] = ['left', 'right'];

/** The operator's hand overlay goes after this long without a tracking message, ms. */
const TRACKING_STALE_MS = 300;
/** The policy ghost stays this long after its last chunk outside policy mode, ms. */
const POLICY_GHOST_MS = 2000;

/**
 * What the live robot's drawing depends on, as one string: the latest state, the tracking and
 * chunk messages, their ageing out, and the hidden overlays. The dashboard's canvas draws only
 * when it changes ({@link RobotCanvas}'s `redrawWhen`).
 */
export function liveRobotVersion(session: LiveSession, extras: LiveExtras, hidden: ReadonlySet<Overlay>): string {
  const now = performance.now();
  const s = session.latest;
  const t = extras.tracking;
  const c = extras.chunk;
  const policyLive = c.rows > 0 && (s?.mode === 'policy' || now - c.receivedMs < POLICY_GHOST_MS);
  return `${s?.seq ?? -1} ${session.client.welcome ? 1 : 0} ${t.version} ${now - t.receivedMs > TRACKING_STALE_MS} ${c.version} ${policyLive} ${[...hidden].join(',')}`;
}

/** Overlays the legend can hide. */
export const OVERLAYS = ['measured', 'policy', 'fingertips', 'targets', 'hand'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export function LiveRobot({ session, extras, model, hidden }: { session: LiveSession; extras: LiveExtras; model: RobotModel; hidden: { readonly current: ReadonlySet<Overlay> } }) {
  const state = useMemo(() => ({ seq: -1, trackingSeq: -1, chunkVersion: -1 }), []);
  const markers = useMemo(() => ({ tips: undefined as FingertipMarkers | undefined, tracking: undefined as TrackingOverlay | undefined }), []);
  const onCommandedReady = useCallback(
    (rig: RobotRig) => {
      markers.tips = new FingertipMarkers(rig);
      markers.tracking = new TrackingOverlay(rig);
      return undefined;
    },
    [markers],
  );
  const onCommanded = useCallback(
    (rig: RobotRig) => {
      const s = session.latest;
      const names = session.client.welcome?.jointNames;
      if (s && names && s.seq !== state.seq) {
        state.seq = s.seq;
        rig.setJoints(names, s.commanded);
        rig.highlightNearLimits(names, s.commanded);
        markers.tips?.update(s.action);
      }
      const h = hidden.current;
      if (markers.tips) markers.tips.points.mesh.visible = !h.has('fingertips');
      markers.tracking?.show(!h.has('hand'), !h.has('targets'));
      const t = extras.tracking;
      if (markers.tracking && t.version !== state.trackingSeq) {
        state.trackingSeq = t.version;
        const fresh = performance.now() - t.receivedMs < TRACKING_STALE_MS;
        for (const side of SIDES) {
          const v = fresh && t.valid[side];
          markers.tracking.update(side, v ? t.joints[side] : null, v ? t.tips[side] : null);
        }
      } else if (markers.tracking && performance.now() - t.receivedMs > TRACKING_STALE_MS && state.trackingSeq !== -2) {
        state.trackingSeq = -2;
        for (const side of SIDES) markers.tracking.update(side, null, null);
      }
    },
    [session, extras, state, markers, hidden],
  );
  const onMeasured = useCallback(
    (rig: RobotRig) => {
      const s = session.latest;
      const names = session.client.welcome?.jointNames;
      rig.root.visible = !!s?.measuredValid && !hidden.current.has('measured');
      if (s && names && s.measuredValid) rig.setJoints(names, s.measured);
    },
    [session, hidden],
  );
  const trajectories = useMemo(() => ({ left: undefined as Trajectory | undefined, right: undefined as Trajectory | undefined }), []);
  const onPolicyReady = useCallback(
    (rig: RobotRig) => {
      trajectories.left = new Trajectory(rig, 256, '#ff9f0a');
      trajectories.right = new Trajectory(rig, 256, '#ff9f0a');
      return undefined;
    },
    [trajectories],
  );
  const onPolicy = useCallback(
    (rig: RobotRig) => {
      const c = extras.chunk;
      const live = c.rows > 0 && (session.latest?.mode === 'policy' || performance.now() - c.receivedMs < POLICY_GHOST_MS);
      rig.root.visible = live && !hidden.current.has('policy');
      if (!live || c.version === state.chunkVersion) return;
      state.chunkVersion = c.version;
      poseFromAction(rig, c.data, (c.rows - 1) * ACTION_WIDTH);
      for (const side of SIDES) trajectories[side]?.set(c.data, c.rows, ACTION_WIDTH, FLANGE_ACTION_INDEX[side]);
    },
    [extras, session, state, trajectories, hidden],
  );
  return (
    <>
      <Rig model={model} onReady={onCommandedReady} onFrame={onCommanded} frame />
      <Rig model={model} style={MEASURED_STYLE} onFrame={onMeasured} />
      <Rig model={model} style={POLICY_STYLE} onReady={onPolicyReady} onFrame={onPolicy} />
    </>
  );
}
