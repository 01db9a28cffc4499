/**
 * The operator's controls inside XR: a panel of 3D buttons at the operator's left, within reach of
 * a poke (index fingertip, @react-three/xr's hand touch pointer) or a hand ray and a pinch. The
 * e-stop is always on it. Buttons act when pressed (pointer down), like physical buttons: a poke
 * does not need to be released within a click time, which a slow frame rate would break. Every button only sends the same control message as the dashboard's
 * button: the server's authority table decides, and a refusal comes back as a coded error that the
 * head-up display shows. Labels are drawn with the 2D canvas (no font is fetched).
 */
import type { ClientMessage } from '@dexbridge/server/protocol';
import type { ThreeEvent } from '@react-three/fiber';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import { CanvasTexture, type Group, type Mesh, MeshBasicMaterial, SRGBColorSpace } from 'three';
import { useStore } from 'zustand';
import { holdsLease } from '../store/lease.js';
import type { LiveSession } from '../store/live.js';

/** Where the panel stands in the XR reference space (floor origin, −z ahead), m: left of the operator, below the shoulder, within reach. */
export const PANEL_POSITION_M: readonly [number, number, number] = [-0.4, 1.12, -0.3];
/** The point the panel faces (about where the operator's chest is), m. */
const PANEL_FACES_M: readonly [number, number, number] = [0, 1.35, 0];

const LABEL_PX_PER_M = 2400;

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
}: {
  id: string;
  label: string;
  position: readonly [number, number];
  size: readonly [number, number];
  color: string;
  textColor?: string;
  onPress: () => void;
  registry: Map<string, Mesh>;
}) {
  const mesh = useRef<Mesh>(null);
  const label3d = useMemo(() => {
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(size[0] * LABEL_PX_PER_M);
    canvas.height = Math.round(size[1] * LABEL_PX_PER_M);
    const texture = new CanvasTexture(canvas);
    texture.colorSpace = SRGBColorSpace;
    return { canvas, texture, material: new MeshBasicMaterial({ map: texture, transparent: true }) };
  }, [size]);
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
    e.stopPropagation();
    onPress();
  };
  const depth = 0.02;
  return (
    <group position={[position[0], position[1], 0]}>
      <mesh ref={mesh} position={[0, 0, depth / 2]} name={`xr-button-${id}`} onPointerDown={press}>
        <boxGeometry args={[size[0], size[1], depth]} />
        <meshStandardMaterial color={color} />
      </mesh>
      <mesh position={[0, 0, depth + 0.001]} material={label3d.material}>
        <planeGeometry args={[size[0], size[1]]} />
      </mesh>
    </group>
  );
}

const BW = 0.085;
const BH = 0.04;
const GAP = 0.01;
const col = (i: number, n: number): number => (i - (n - 1) / 2) * (BW + GAP);

/**
 * The control panel. `registry` receives each button's mesh by id (`estop`, `engage`, …), for
 * tests that press them with an emulated hand.
 */
export function XrControls({ session, ownName, registry }: { session: LiveSession; ownName: string; registry: Map<string, Mesh> }) {
  const group = useRef<Group>(null);
  useLayoutEffect(() => {
    group.current?.lookAt(...PANEL_FACES_M);
  }, []);
  const estop = useStore(session.store, (s) => s.summary?.estop ?? s.status?.estop ?? false);
  const holder = useStore(session.store, (s) => s.status?.lease.holder ?? null);
  const recording = useStore(session.store, (s) => s.status?.recording.active ?? false);
  const left = useStore(session.store, (s) => s.summary?.left.engaged ?? false);
  const right = useStore(session.store, (s) => s.summary?.right.engaged ?? false);
  const mine = holdsLease(holder, ownName, session.client.welcome?.sessionId);
  const send = (m: ClientMessage) => () => {
    session.client.send(m);
    session.addLog('info', `XR panel: ${m.type}${'side' in m && m.side ? ` ${m.side}` : ''} sent`);
  };
  const rows = [0.1, 0.045, 0, -0.045, -0.09];
  return (
    <group ref={group} position={[...PANEL_POSITION_M]}>
      <mesh position={[0, 0.005, -0.003]}>
        <planeGeometry args={[3 * BW + 4 * GAP, 0.29]} />
        <meshBasicMaterial color="#14161a" transparent opacity={0.85} />
      </mesh>
      <XrButton id="estop" label="E-STOP" position={[0, rows[0]!]} size={[0.16, 0.06]} color="#c0141a" onPress={send({ type: 'estop' })} registry={registry} />
      {estop ? (
        <XrButton id="reset" label="Reset e-stop" position={[col(0, 2) - 0.02, rows[1]!]} size={[BW + 0.04, BH]} color="#5c4513" onPress={send({ type: 'reset_estop' })} registry={registry} />
      ) : null}
      <XrButton
        id="take"
        label={mine ? 'You have control' : holder ? `Take from ${holder}` : 'Take control'}
        position={[estop ? col(1, 2) + 0.02 : 0, rows[1]!]}
        size={[estop ? BW + 0.04 : 2 * BW + GAP, BH]}
        color={mine ? '#1e4d2b' : '#0a5fbf'}
        onPress={send({ type: 'lease_request', takeover: true })}
        registry={registry}
      />
      <XrButton id="engage" label="Engage" position={[col(0, 3), rows[2]!]} size={[BW, BH]} color="#1e6b35" onPress={send({ type: 'engage' })} registry={registry} />
      <XrButton id="disengage" label="Disengage" position={[col(1, 3), rows[2]!]} size={[BW, BH]} color="#3a4150" onPress={send({ type: 'disengage' })} registry={registry} />
      <XrButton id="mode" label="Mode teleop" position={[col(2, 3), rows[2]!]} size={[BW, BH]} color="#3a4150" onPress={send({ type: 'set_mode', mode: 'teleop' })} registry={registry} />
      <XrButton
        id="left"
        label={left ? 'L: disengage' : 'L: engage'}
        position={[col(0, 2) - 0.02, rows[3]!]}
        size={[BW + 0.04, BH]}
        color={left ? '#1e4d2b' : '#3a4150'}
        onPress={send(left ? { type: 'disengage', side: 'left' } : { type: 'engage', side: 'left' })}
        registry={registry}
      />
      <XrButton
        id="right"
        label={right ? 'R: disengage' : 'R: engage'}
        position={[col(1, 2) + 0.02, rows[3]!]}
        size={[BW + 0.04, BH]}
        color={right ? '#1e4d2b' : '#3a4150'}
        onPress={send(right ? { type: 'disengage', side: 'right' } : { type: 'engage', side: 'right' })}
        registry={registry}
      />
      {recording ? (
        <>
          <XrButton id="stop-ok" label="Stop ✓" position={[col(0, 2) - 0.02, rows[4]!]} size={[BW + 0.04, BH]} color="#1e6b35" onPress={send({ type: 'record_stop', success: true })} registry={registry} />
          <XrButton id="stop-fail" label="Stop ✗" position={[col(1, 2) + 0.02, rows[4]!]} size={[BW + 0.04, BH]} color="#6b1d1d" onPress={send({ type: 'record_stop', success: false })} registry={registry} />
        </>
      ) : (
        <XrButton id="record" label="● Record" position={[0, rows[4]!]} size={[2 * BW + GAP, BH]} color="#7a1c1c" onPress={send({ type: 'record_start' })} registry={registry} />
      )}
    </group>
  );
}
