/**
 * The operator's controls inside XR, pressed with a poke (index fingertip, @react-three/xr's hand
 * touch pointer) or a hand ray and a pinch:
 * - the **e-stop panel**, fixed in the room at the operator's left within reach: E-STOP (always
 *   there), Reset while latched, and Menu (shows the wrist menu without the gesture, pinned);
 * - the **wrist menu**, summoned by turning the left palm toward the face and dismissed by turning
 *   it away (palmMenu.ts), standing beside the left hand on its little-finger side: E-STOP again,
 *   take control, engage/disengage (both and per side), the mode, the task, record and stop with
 *   success or failure, the camera shown in the headset, and Pin (keeps it where it is, shown).
 * Buttons act when pressed (pointer down), like physical buttons: a poke does not need to be
 * released within a click time, which a slow frame rate would break. Every button only sends the
 * same control message as the dashboard's button: the server's authority table decides, and a
 * refusal comes back as a coded error that the head-up display shows. Labels are drawn with the
 * 2D canvas (no font is fetched).
 */
import type { ClientMessage, ControlMode } from '@dexbridge/server/protocol';
import { type ThreeEvent, useFrame } from '@react-three/fiber';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { CanvasTexture, type Group, type Mesh, MeshBasicMaterial, SRGBColorSpace, Vector3 } from 'three';
import { useStore } from 'zustand';
import { holdsLease } from '../store/lease.js';
import type { LiveSession } from '../store/live.js';
import type { HandReader } from './handPoses.js';
import { menuAnchor, PalmGesture, palmTowardHead } from './palmMenu.js';
import { useTaskPresets } from './taskPresets.js';

/** Where the e-stop panel stands in the XR reference space (floor origin, −z ahead), m: left of the operator, below the shoulder, within reach. */
export const PANEL_POSITION_M: readonly [number, number, number] = [-0.4, 1.12, -0.3];
/** The point the panels face (about where the operator's chest is), m. */
const PANEL_FACES_M: readonly [number, number, number] = [0, 1.35, 0];
/** Where a pinned menu first stands when it was never summoned on the wrist: above the e-stop panel. */
const MENU_DEFAULT_M: readonly [number, number, number] = [-0.42, 1.4, -0.34];

const LABEL_PX_PER_M = 2400;

type Hand = 'left' | 'right' | 'none';
/** Which hand's pointer sent an event (@react-three/xr's hand pointers carry their input source's state). */
const handOf = (e: ThreeEvent<PointerEvent>): Hand =>
  (e as unknown as { pointerState?: { inputSource?: XRInputSource } }).pointerState?.inputSource?.handedness ?? 'none';

/** A flat box button with a canvas label; `color` is its face colour. */
function XrButton({
  id,
  label,
  position,
  size,
  color,
  textColor = '#ffffff',
  onPress,
  registry,
  ignore,
}: {
  id: string;
  label: string;
  position: readonly [number, number];
  size: readonly [number, number];
  color: string;
  textColor?: string;
  onPress: () => void;
  registry: Map<string, Mesh>;
  /** A hand whose pointers this button does not answer (the hand the menu stands beside). */
  ignore?: Hand;
}) {
  const mesh = useRef<Mesh>(null);
  const w = size[0], h = size[1];
  const label3d = useMemo(() => {
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(w * LABEL_PX_PER_M);
    canvas.height = Math.round(h * LABEL_PX_PER_M);
    const texture = new CanvasTexture(canvas);
    texture.colorSpace = SRGBColorSpace;
    return { canvas, texture, material: new MeshBasicMaterial({ map: texture, transparent: true }) };
  }, [w, h]);
  useEffect(() => {
    const { canvas, texture } = label3d;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = textColor;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    // The largest font that fits the face: a label is never clipped.
    let px = Math.round(canvas.height * 0.5);
    do {
      ctx.font = `600 ${px}px system-ui, sans-serif`;
    } while (ctx.measureText(label).width > canvas.width * 0.9 && --px > 8);
    ctx.fillText(label, canvas.width / 2, canvas.height / 2);
    texture.needsUpdate = true;
  }, [label, label3d, textColor]);
  useEffect(() => {
    const m = mesh.current;
    if (!m) return;
    registry.set(id, m);
    return () => {
      registry.delete(id);
    };
  }, [id, registry]);
  useEffect(() => () => {
    label3d.texture.dispose();
    label3d.material.dispose();
  }, [label3d]);
  const press = (e: ThreeEvent<PointerEvent>) => {
    if (ignore && handOf(e) === ignore) return;
    e.stopPropagation();
    onPress();
  };
  const depth = 0.02;
  return (
    <group position={[position[0], position[1], 0]}>
      <mesh ref={mesh} position={[0, 0, depth / 2]} name={`xr-button-${id}`} userData={{ label }} onPointerDown={press}>
        <boxGeometry args={[w, h, depth]} />
        <meshStandardMaterial color={color} />
      </mesh>
      <mesh position={[0, 0, depth + 0.001]} material={label3d.material}>
        <planeGeometry args={[w, h]} />
      </mesh>
    </group>
  );
}

const BH = 0.04;
const GAP = 0.01;
/** The wrist menu's width, m: three 9 cm buttons, a poke's width each. */
export const MENU_WIDTH_M = 0.3;
/** x of the centre of button i of n equal buttons across `width`, and their width. */
const cell = (i: number, n: number, width = MENU_WIDTH_M): { x: number; w: number } => {
  const w = (width - (n - 1) * GAP) / n;
  return { x: -width / 2 + w / 2 + i * (w + GAP), w };
};

const MODES: readonly ControlMode[] = ['idle', 'teleop', 'policy', 'replay'];
const short = (s: string, n = 26): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export interface XrControlsProps {
  session: LiveSession;
  ownName: string;
  /** Receives each button's mesh by id (`estop`, `take`, `record`, …), for tests that press them with an emulated hand. */
  registry: Map<string, Mesh>;
  /** The hands as read this frame (the wrist menu follows the left one). */
  hands: HandReader;
  /** The operator token, for reading the recordings' tasks. */
  token: string | undefined;
  /** Exposed for tests and the page: whether the wrist menu shows, and why. */
  menuState: { shown: boolean; pinned: boolean; palmCos: number; head: [number, number, number] };
  /** The camera shown in the headset (null: none) and how to choose another. */
  camera: string | null;
  onCamera: (id: string | null) => void;
}

export function XrControls(p: XrControlsProps) {
  const [pinned, setPinned] = useState(false);
  return (
    <>
      <EstopPanel {...p} pinned={pinned} setPinned={setPinned} />
      <WristMenu {...p} pinned={pinned} setPinned={setPinned} />
    </>
  );
}

/** Sends `m` as the dashboard's button would, and logs it. */
const sender = (session: LiveSession) => (m: ClientMessage) => () => {
  session.client.send(m);
  session.addLog('info', `XR: ${m.type}${'side' in m && m.side ? ` ${m.side}` : ''}${'mode' in m ? ` ${m.mode}` : ''} sent`);
};

function EstopPanel({ session, registry, pinned, setPinned }: XrControlsProps & { pinned: boolean; setPinned: (v: boolean) => void }) {
  const group = useRef<Group>(null);
  useLayoutEffect(() => {
    group.current?.lookAt(...PANEL_FACES_M);
  }, []);
  const estop = useStore(session.store, (s) => s.summary?.estop ?? s.status?.estop ?? false);
  const send = sender(session);
  const half = cell(0, 2, 0.2);
  return (
    <group ref={group} position={[...PANEL_POSITION_M]} name="xr-estop-panel">
      <mesh position={[0, 0.01, -0.003]}>
        <planeGeometry args={[0.23, 0.16]} />
        <meshBasicMaterial color="#14161a" transparent opacity={0.85} />
      </mesh>
      <XrButton id="estop" label="E-STOP" position={[0, 0.045]} size={[0.2, 0.06]} color="#c0141a" onPress={send({ type: 'estop' })} registry={registry} />
      {estop ? <XrButton id="reset" label="Reset e-stop" position={[half.x, -0.025]} size={[half.w, BH]} color="#5c4513" onPress={send({ type: 'reset_estop' })} registry={registry} /> : null}
      <XrButton
        id="menu"
        label={pinned ? 'Hide menu' : 'Menu'}
        position={[estop ? -half.x : 0, -0.025]}
        size={[estop ? half.w : 0.2, BH]}
        color="#3a4150"
        onPress={() => setPinned(!pinned)}
        registry={registry}
      />
    </group>
  );
}

const head = new Vector3();
const target = new Vector3();

function WristMenu({ session, ownName, registry, hands, token, menuState, camera, onCamera, pinned, setPinned }: XrControlsProps & { pinned: boolean; setPinned: (v: boolean) => void }) {
  const group = useRef<Group>(null);
  const gesture = useMemo(() => new PalmGesture(), []);
  const placed = useRef(false);
  const [onWrist, setOnWrist] = useState(false);
  const shown = pinned || onWrist;
  useFrame((state) => {
    const g = group.current;
    if (!g) return;
    state.camera.getWorldPosition(head);
    head.toArray(menuState.head);
    const j = hands.joints.left;
    let wants = false;
    if (hands.tracked.left) {
      menuState.palmCos = palmTowardHead(j, head);
      wants = gesture.update(menuState.palmCos, performance.now());
    } else {
      menuState.palmCos = Number.NaN;
      gesture.lost();
    }
    if (wants !== onWrist) setOnWrist(wants);
    if (pinned) {
      // Pinned: it stays where it is in the room (first time without a wrist: above the e-stop panel).
      if (!placed.current) {
        g.position.set(...MENU_DEFAULT_M);
        g.lookAt(...PANEL_FACES_M);
        placed.current = true;
      }
    } else if (wants) {
      menuAnchor(j, head, MENU_WIDTH_M / 2, target);
      // Tracking jitters by millimetres: follow the wrist smoothly so that a button holds still under a fingertip.
      if (placed.current && g.visible) g.position.lerp(target, 0.35);
      else g.position.copy(target);
      placed.current = true;
      g.lookAt(head);
    }
    g.visible = shown;
    menuState.shown = shown;
    menuState.pinned = pinned;
  });
  return (
    <group ref={group} name="xr-wrist-menu" visible={false}>
      {/* Only a shown menu has buttons: a hidden one cannot be pressed by accident. */}
      {shown ? <MenuButtons session={session} ownName={ownName} registry={registry} token={token} camera={camera} onCamera={onCamera} pinned={pinned} setPinned={setPinned} /> : null}
    </group>
  );
}

function MenuButtons({
  session,
  ownName,
  registry,
  token,
  camera,
  onCamera,
  pinned,
  setPinned,
}: Pick<XrControlsProps, 'session' | 'ownName' | 'registry' | 'token' | 'camera' | 'onCamera'> & { pinned: boolean; setPinned: (v: boolean) => void }) {
  const holder = useStore(session.store, (s) => s.status?.lease.holder ?? null);
  const recording = useStore(session.store, (s) => s.status?.recording.active ?? false);
  const recordingFile = useStore(session.store, (s) => s.status?.recording.file ?? null);
  const left = useStore(session.store, (s) => s.summary?.left.engaged ?? false);
  const right = useStore(session.store, (s) => s.summary?.right.engaged ?? false);
  const mode = useStore(session.store, (s) => s.summary?.mode ?? s.status?.mode ?? 'idle');
  const cameras = useStore(session.store, (s) => s.welcome?.cameras ?? []);
  const calibrationPending = useStore(session.store, (s) => s.status?.motion?.calibrationPending ?? false);
  const mine = holdsLease(holder, ownName, session.client.welcome?.sessionId);
  const presets = useTaskPresets(token, recordingFile);
  const [task, setTask] = useState('');
  // "No task", then the recorded tasks; a chosen task stays a choice even if the listing no longer has it.
  const choices = ['', ...(task && !presets.includes(task) ? [task] : []), ...presets];
  const cycle = <T,>(list: readonly T[], now: T, by: number): T => list[(list.indexOf(now) + by + list.length) % list.length]!;
  const send = sender(session);
  // Beside the left hand, the menu ignores that hand's pointers; pinned, the left hand is free to press it too.
  const b = pinned ? { registry } : { registry, ignore: 'left' as const };
  const two = [cell(0, 2), cell(1, 2)] as const;
  const three = [cell(0, 3), cell(1, 3), cell(2, 3)] as const;
  const arrows = (i: number) => cell(i, 5);
  const mid = { x: 0, w: MENU_WIDTH_M - 2 * (arrows(0).w + GAP) };
  const ids = ['', ...cameras.map((c) => c.id)];
  const rows = [0.15, 0.1, 0.05, 0, -0.05, -0.1, -0.15];
  /** Stop ✓/✗ labels the recording it stops with the chosen task first, as the dashboard does with a typed one. */
  const stop = (success: boolean) => () => {
    if (task && recordingFile) send({ type: 'set_recording_meta', file: recordingFile, task })();
    send({ type: 'record_stop', success })();
  };
  return (
    <>
      <mesh position={[0, 0, -0.003]}>
        <planeGeometry args={[MENU_WIDTH_M + 0.03, 0.36]} />
        <meshBasicMaterial color="#14161a" transparent opacity={0.88} />
      </mesh>
      <XrButton id="menu-estop" label="E-STOP" position={[three[0].x, rows[0]!]} size={[three[0].w, BH]} color="#c0141a" onPress={send({ type: 'estop' })} {...b} />
      <XrButton
        id="take"
        label={mine ? 'You have control' : holder ? `Take from ${holder}` : 'Take control'}
        position={[(three[1].x + three[2].x) / 2, rows[0]!]}
        size={[2 * three[1].w + GAP, BH]}
        color={mine ? '#1e4d2b' : '#0a5fbf'}
        onPress={send({ type: 'lease_request', takeover: true })}
        {...b}
      />
      <XrButton id="engage" label="Engage" position={[three[0].x, rows[1]!]} size={[three[0].w, BH]} color="#1e6b35" onPress={send({ type: 'engage' })} {...b} />
      <XrButton id="disengage" label="Disengage" position={[three[1].x, rows[1]!]} size={[three[1].w, BH]} color="#3a4150" onPress={send({ type: 'disengage' })} {...b} />
      <XrButton id="pin" label={pinned ? 'Unpin' : 'Pin'} position={[three[2].x, rows[1]!]} size={[three[2].w, BH]} color="#3a4150" onPress={() => setPinned(!pinned)} {...b} />
      {([['left', left, three[0]], ['right', right, three[1]]] as const).map(([side, on, c]) => (
        <XrButton
          key={side}
          id={side}
          label={`${side === 'left' ? 'L' : 'R'}: ${on ? 'disengage' : 'engage'}`}
          position={[c.x, rows[2]!]}
          size={[c.w, BH]}
          color={on ? '#1e4d2b' : '#3a4150'}
          onPress={send(on ? { type: 'disengage', side } : { type: 'engage', side })}
          {...b}
        />
      ))}
      {/* Measures a second of both open hands (calibrate_hands); the result applies at the next Engage. */}
      <XrButton
        id="calibrate-hands"
        label={calibrationPending ? 'Calibrated: Engage' : 'Calibrate hands'}
        position={[three[2].x, rows[2]!]}
        size={[three[2].w, BH]}
        color={calibrationPending ? '#1e4d2b' : '#3a4150'}
        onPress={send({ type: 'calibrate_hands' })}
        {...b}
      />
      {MODES.map((m, i) => {
        const c = cell(i, 4);
        return <XrButton key={m} id={`mode-${m}`} label={m} position={[c.x, rows[3]!]} size={[c.w, BH]} color={m === mode ? '#0a5fbf' : '#3a4150'} onPress={send({ type: 'set_mode', mode: m })} {...b} />;
      })}
      <XrButton id="task-prev" label="◀" position={[arrows(0).x, rows[4]!]} size={[arrows(0).w, BH]} color="#3a4150" onPress={() => setTask(cycle(choices, task, -1))} {...b} />
      <XrButton id="task" label={task ? `task: ${short(task)}` : 'task: none'} position={[mid.x, rows[4]!]} size={[mid.w, BH]} color="#23272f" onPress={() => setTask(cycle(choices, task, 1))} {...b} />
      <XrButton id="task-next" label="▶" position={[arrows(4).x, rows[4]!]} size={[arrows(4).w, BH]} color="#3a4150" onPress={() => setTask(cycle(choices, task, 1))} {...b} />
      {recording ? (
        <>
          <XrButton id="stop-ok" label="Stop ✓" position={[two[0].x, rows[5]!]} size={[two[0].w, BH]} color="#1e6b35" onPress={stop(true)} {...b} />
          <XrButton id="stop-fail" label="Stop ✗" position={[two[1].x, rows[5]!]} size={[two[1].w, BH]} color="#6b1d1d" onPress={stop(false)} {...b} />
        </>
      ) : (
        <XrButton id="record" label="● Record" position={[0, rows[5]!]} size={[MENU_WIDTH_M, BH]} color="#7a1c1c" onPress={send(task ? { type: 'record_start', task } : { type: 'record_start' })} {...b} />
      )}
      <XrButton id="camera-prev" label="◀" position={[arrows(0).x, rows[6]!]} size={[arrows(0).w, BH]} color="#3a4150" onPress={() => onCamera(cycle(ids, camera ?? '', -1) || null)} {...b} />
      <XrButton id="camera" label={camera ? `camera: ${camera}` : cameras.length ? 'camera: off' : 'no cameras'} position={[mid.x, rows[6]!]} size={[mid.w, BH]} color="#23272f" onPress={() => onCamera(cycle(ids, camera ?? '', 1) || null)} {...b} />
      <XrButton id="camera-next" label="▶" position={[arrows(4).x, rows[6]!]} size={[arrows(4).w, BH]} color="#3a4150" onPress={() => onCamera(cycle(ids, camera ?? '', 1) || null)} {...b} />
    </>
  );
}
