/**
 * React pieces of the 3D view. The robots are plain three.js objects ({@link RobotRig}) mounted
 * once; states move their joints from refs inside `useFrame`, never through React state, so a
 * 90 Hz stream causes no React render at all.
 */
import type { RobotModel } from '@dexbridge/urdf';
import { OrbitControls } from '@react-three/drei';
import { Canvas, useFrame } from '@react-three/fiber';
import { type ReactNode, useEffect, useMemo } from 'react';
import { RobotRig, type RigStyle } from './RobotRig.js';

/** The dashboard's canvas: lights, floor grid, orbit camera. */
export function RobotCanvas({ children, label }: { children: ReactNode; label: string }) {
  return (
    <Canvas
      aria-label={label}
      data-testid={label}
      camera={{ position: [1.9, 1.4, 0.0], fov: 45, near: 0.01, far: 50 }}
      gl={{ preserveDrawingBuffer: true, antialias: true }}
      dpr={[1, 2]}
      onCreated={({ camera }) => camera.lookAt(0, 0.9, 0)}
    >
      <color attach="background" args={['#1c1f24']} />
      <ambientLight intensity={0.6} />
      <directionalLight position={[2, 4, 1]} intensity={1.6} />
      <directionalLight position={[-2, 2, -2]} intensity={0.5} />
      <gridHelper args={[4, 40, '#3a3f47', '#2a2e35']} />
      <OrbitControls target={[0.35, 1.0, 0]} makeDefault />
      {children}
    </Canvas>
  );
}

/** A rig built once per model and style; `onFrame` poses it every rendered frame. */
export function Rig({
  model,
  style,
  visible = true,
  onReady,
  onFrame,
  position,
}: {
  model: RobotModel;
  style?: RigStyle;
  visible?: boolean;
  onReady?: (rig: RobotRig) => (() => void) | undefined;
  onFrame?: (rig: RobotRig) => void;
  position?: [number, number, number];
}) {
  const rig = useMemo(() => new RobotRig(model, style), [model, style]);
  useEffect(() => {
    const cleanup = onReady?.(rig);
    return () => {
      cleanup?.();
      rig.dispose();
    };
  }, [rig, onReady]);
  useFrame(() => onFrame?.(rig));
  return <primitive object={rig.root} visible={visible} position={position ?? [0, 0, 0]} />;
}
