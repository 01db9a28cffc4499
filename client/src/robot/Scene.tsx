/**
 * React pieces of the 3D view. The robots are plain three.js objects ({@link RobotRig}) mounted
 * once; states move their joints from refs inside `useFrame`, never through React state, so a
 * 90 Hz stream causes no React render at all.
 */
import type { RobotModel } from '@dexbridge/urdf';
import { OrbitControls } from '@react-three/drei';
import { Canvas, useFrame, useThree } from '@react-three/fiber';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { Box3, CanvasTexture, type Object3D, type PerspectiveCamera, Sphere, Sprite, SpriteMaterial, SRGBColorSpace, Vector3 } from 'three';
import { robotBox } from './bounds.js';
import { RobotRig, type RigStyle } from './RobotRig.js';

/** Where the camera looks from, around the framed robot (three.js y-up; the robot faces +x, its left is −z). */
export const VIEW_PRESETS = {
  /** Behind the robot and a little above: the operator's left is on screen left. */
  behind: [-1, 0.45, 0],
  front: [1, 0.35, 0],
  left: [0, 0.3, -1],
  right: [0, 0.3, 1],
  top: [-0.15, 1, 0],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ViewPreset = keyof typeof VIEW_PRESETS;

/** What a page (or a test) can ask of a robot view. */
export interface RobotViewApi {
  /** A link's (or any named object's, e.g. `side-label-L`) origin in normalised device coordinates (−1…1 inside the canvas), or null when there is none. */
  projectLink(link: string): [number, number] | null;
  /** Frames the whole robot from `preset`'s direction (and keeps it framed until the user orbits). */
  frame(preset?: ViewPreset): void;
  /** How many times the view was framed (on load, on resize, on a preset, when the robot left the view). */
  readonly framings: number;
  /** Whether the first object named `name` is drawn (it and all its ancestors visible); null when there is none. */
  isVisible(name: string): boolean | null;
  /** The camera's position in the scene (y up), m. */
  readonly cameraPositionM: [number, number, number];
}

/**
 * The dashboard's canvas: lights, floor grid, orbit camera framing the robot, L/R labels, view presets.
 *
 * With `redrawWhen` it draws on demand: once per animation frame `redrawWhen()` is read, and the
 * scene is drawn when its value changed (a new state, a moved playhead), when the orbit controls
 * move, on a resize or a preset, and at least 4 times a second. A still robot then costs 4 frames
 * a second, where the default loop draws 60 whatever changes. The value must be a primitive (compared
 * with `Object.is`).
 */
export function RobotCanvas({ children, label, onView, redrawWhen }: { children: ReactNode; label: string; onView?: (api: RobotViewApi) => void; redrawWhen?: () => unknown }) {
  const [preset, setPreset] = useState<ViewPreset>('behind');
  const api = useRef<RobotViewApi | null>(null);
  return (
    <div className="robot-view">
      <Canvas
        aria-label={label}
        data-testid={label}
        camera={{ position: [-2.4, 1.6, 0], fov: 45, near: 0.01, far: 50 }}
        gl={{ preserveDrawingBuffer: true, antialias: true }}
        dpr={[1, 2]}
        frameloop={redrawWhen ? 'demand' : 'always'}
      >
        {redrawWhen ? <RedrawWhen version={redrawWhen} /> : null}
        <color attach="background" args={['#1c1f24']} />
        <ambientLight intensity={0.6} />
        <directionalLight position={[2, 4, 1]} intensity={1.6} />
        <directionalLight position={[-2, 2, -2]} intensity={0.8} />
        <gridHelper args={[4, 40, '#3a3f47', '#2a2e35']} />
        <OrbitControls makeDefault />
        <SideLabels />
        <FrameRobot
          preset={preset}
          onApi={(a) => {
            api.current = a;
            onView?.(a);
          }}
        />
        {children}
      </Canvas>
      <fieldset className="view-presets" aria-label="camera presets">
        {(Object.keys(VIEW_PRESETS) as ViewPreset[]).map((p) => (
          <button
            key={p}
            type="button"
            className={p === preset ? 'on' : ''}
            onClick={() => {
              setPreset(p);
              api.current?.frame(p);
            }}
          >
            {p}
          </button>
        ))}
      </fieldset>
    </div>
  );
}

/** A demand-drawn canvas is drawn at least this often, whatever changed, ms: a missed change shows within it. */
const REDRAW_AT_LEAST_MS = 250;

/**
 * Draws the canvas (`frameloop="demand"`) in the animation frames where `version()` changed, and
 * at least every {@link REDRAW_AT_LEAST_MS} (4 frames a second instead of 60 for a still robot).
 */
function RedrawWhen({ version }: { version: () => unknown }) {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => {
    let last: unknown = Symbol('never drawn');
    let drawnMs = Number.NEGATIVE_INFINITY;
    let raf = requestAnimationFrame(function check(nowMs) {
      const v = version();
      if (!Object.is(v, last) || nowMs - drawnMs >= REDRAW_AT_LEAST_MS) {
        last = v;
        drawnMs = nowMs;
        invalidate();
      }
      raf = requestAnimationFrame(check);
    });
    return () => cancelAnimationFrame(raf);
  }, [version, invalidate]);
  return null;
}

/** "L" and "R" beside the arm bases (the robot's own left and right, which are the operator's). */
function SideLabels() {
  const sprites = useMemo(
    () =>
      (['L', 'R'] as const).map((text) => {
        const canvas = document.createElement('canvas');
        canvas.width = 64;
        canvas.height = 64;
        const ctx = canvas.getContext('2d');
        if (ctx) {
          ctx.fillStyle = 'rgba(0, 0, 0, 0.6)';
          ctx.beginPath();
          ctx.roundRect(4, 4, 56, 56, 10);
          ctx.fill();
          ctx.fillStyle = '#ffffff';
          ctx.font = '700 40px system-ui, sans-serif';
          ctx.textAlign = 'center';
          ctx.textBaseline = 'middle';
          ctx.fillText(text, 32, 34);
        }
        const texture = new CanvasTexture(canvas);
        texture.colorSpace = SRGBColorSpace;
        const sprite = new Sprite(new SpriteMaterial({ map: texture, depthTest: false }));
        sprite.name = `side-label-${text}`;
        sprite.renderOrder = 20;
        sprite.scale.set(0.12, 0.12, 1);
        // base_link (x forward, y left, z up) → three.js (x, z, −y): the left arm base (0, 0.3, 0.8) is at (0, 0.8, −0.3).
        sprite.position.set(0, 0.62, text === 'L' ? -0.55 : 0.55);
        return sprite;
      }),
    [],
  );
  useEffect(
    () => () => {
      for (const s of sprites) {
        s.material.map?.dispose();
        s.material.dispose();
      }
    },
    [sprites],
  );
  return (
    <>
      {sprites.map((s) => (
        <primitive key={s.name} object={s} />
      ))}
    </>
  );
}

const box = new Box3();
const sphere = new Sphere();
const corner = new Vector3();
const dir = new Vector3();
/** Fraction of the view the robot's bounds may fill before it counts as leaving it. */
const EDGE = 0.98;
/** How much of the view (half-extent in normalised device coordinates) a framed robot fills. */
const FILL = 0.9;
/** Below this half-extent the robot counts as having shrunk in the view. */
const SHRUNK = 0.6;

/**
 * Frames the rig marked `frame` (its bounding sphere fits both the vertical and the horizontal
 * field of view) on load, on every resize, on a preset, and when a moving robot leaves the view;
 * once the user orbits or zooms, only a resize or a preset frames it again.
 */
function FrameRobot({ preset, onApi }: { preset: ViewPreset; onApi: (api: RobotViewApi) => void }) {
  const { camera, size, scene, controls, invalidate } = useThree();
  const st = useMemo(() => ({ auto: true, framings: 0, preset: 'behind' as ViewPreset, checkedAt: 0 }), []);
  st.preset = preset;
  /** The rigs marked `frame` that are shown (a hidden re-retargeted ghost does not count). */
  const findTargets = (): Object3D[] => {
    const out: Object3D[] = [];
    scene.traverse((o) => {
      if (o.userData['dexbridgeFrame'] === true && o.visible && o.parent?.visible !== false) out.push(o);
    });
    return out;
  };
  const frame = (p: ViewPreset = st.preset): boolean => {
    const targets = findTargets();
    const cam = camera as PerspectiveCamera;
    if (targets.length === 0 || !cam.isPerspectiveCamera) return false;
    robotBox(targets, box);
    if (box.isEmpty()) return false;
    box.getBoundingSphere(sphere);
    const vHalf = (cam.fov * Math.PI) / 360;
    const hHalf = Math.atan(Math.tan(vHalf) * cam.aspect);
    let dist = (sphere.radius * 1.04) / Math.sin(Math.min(vHalf, hHalf));
    const v = VIEW_PRESETS[p];
    dir.set(v[0], v[1], v[2]).normalize();
    cam.position.copy(sphere.center).addScaledVector(dir, dist);
    // The sphere is loose around a tall, narrow robot: pull in until its box fills the view.
    for (let i = 0; i < 3; i++) {
      cam.position.copy(sphere.center).addScaledVector(dir, dist);
      cam.lookAt(sphere.center);
      cam.updateMatrixWorld();
      let extent = 0;
      for (let k = 0; k < 8; k++) {
        corner.set(k & 1 ? box.max.x : box.min.x, k & 2 ? box.max.y : box.min.y, k & 4 ? box.max.z : box.min.z).applyMatrix4(cam.matrixWorldInverse);
        // In camera space: −z ahead; the half-extent in NDC of this corner.
        const depth = Math.max(1e-3, -corner.z);
        extent = Math.max(extent, Math.abs(corner.x) / (depth * Math.tan(hHalf)), Math.abs(corner.y) / (depth * Math.tan(vHalf)));
      }
      dist *= 0.5 + (0.5 * extent) / FILL;
    }
    cam.position.copy(sphere.center).addScaledVector(dir, dist);
    cam.near = Math.max(0.01, dist - sphere.radius * 2);
    cam.far = dist + sphere.radius * 4 + 10;
    cam.lookAt(sphere.center);
    cam.updateProjectionMatrix();
    const orbit = controls as unknown as { target?: Vector3; update?: () => void } | null;
    if (orbit?.target) {
      orbit.target.copy(sphere.center);
      orbit.update?.();
    }
    st.auto = true;
    st.framings++;
    invalidate(); // a demand-drawn canvas shows the new view too
    return true;
  };
  const outside = (): boolean => {
    const targets = findTargets();
    if (targets.length === 0) return false;
    robotBox(targets, box);
    let extent = 0;
    for (let i = 0; i < 8; i++) {
      corner.set(i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z).project(camera);
      if (Math.abs(corner.x) > EDGE || Math.abs(corner.y) > EDGE) return true;
      extent = Math.max(extent, Math.abs(corner.x), Math.abs(corner.y));
    }
    // Much smaller than framed (the arms came down from the pose it was framed in): frame again.
    return extent < SHRUNK;
  };
  // Orbiting or zooming by hand ends automatic framing.
  useEffect(() => {
    const orbit = controls as unknown as { addEventListener?: (t: string, f: () => void) => void; removeEventListener?: (t: string, f: () => void) => void } | null;
    const off = () => {
      st.auto = false;
    };
    orbit?.addEventListener?.('start', off);
    return () => orbit?.removeEventListener?.('start', off);
  }, [controls, st]);
  // A new size (load, window resize, layout change): frame again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: frames on size changes only
  useEffect(() => {
    st.auto = true;
    st.checkedAt = 0;
    frame();
  }, [size.width, size.height]);
  useEffect(() => {
    onApi({
      projectLink(link) {
        let node: Object3D | undefined;
        // The first match: the rig marked `frame` that comes first (the live or the recorded robot).
        scene.traverse((o) => {
          if (!node && o.name === link) node = o;
        });
        if (!node) return null;
        node.getWorldPosition(corner).project(camera);
        return [corner.x, corner.y];
      },
      frame: (p) => {
        frame(p);
      },
      isVisible(name) {
        const node = scene.getObjectByName(name);
        if (!node) return null;
        for (let o: Object3D | null = node; o; o = o.parent) if (!o.visible) return false;
        return true;
      },
      get framings() {
        return st.framings;
      },
      get cameraPositionM() {
        return [camera.position.x, camera.position.y, camera.position.z] as [number, number, number];
      },
    });
  });
  useFrame((state) => {
    // Framed once the rig is there, then re-framed a few times a second if it left the view.
    const t = state.clock.elapsedTime;
    if (st.framings === 0) frame();
    else if (st.auto && t - st.checkedAt > 0.25) {
      st.checkedAt = t;
      if (outside()) frame();
    }
  });
  return null;
}

/** A rig built once per model and style; `onFrame` poses it every rendered frame. */
export function Rig({
  model,
  style,
  visible = true,
  onReady,
  onFrame,
  position,
  frame = false,
}: {
  model: RobotModel;
  style?: RigStyle;
  visible?: boolean;
  onReady?: (rig: RobotRig) => (() => void) | undefined;
  onFrame?: (rig: RobotRig) => void;
  position?: [number, number, number];
  /** The rig the view frames (one per canvas). */
  frame?: boolean;
}) {
  const rig = useMemo(() => new RobotRig(model, style), [model, style]);
  useEffect(() => {
    const cleanup = onReady?.(rig);
    return () => {
      cleanup?.();
      rig.dispose();
    };
  }, [rig, onReady]);
  useEffect(() => {
    rig.root.userData['dexbridgeFrame'] = frame;
  }, [rig, frame]);
  useFrame(() => onFrame?.(rig));
  return <primitive object={rig.root} visible={visible} position={position ?? [0, 0, 0]} />;
}
