/**
 * The chosen robot camera as a textured panel in the headset, beside the robot so that it never
 * hides it: every half second the panel is placed again above the robot, left of its middle, as
 * seen from the operator's head (placement.ts; the head-up display is right of the middle), at
 * 1 m, facing the head; it glides there, so a rising arm or a step to the side pushes it away. A camera declared `stereo: "side-by-side"` is shown as two meshes in
 * the same place: the left half of the image on three.js layer 1 (which only the left eye's XR
 * camera renders) and the right half on layer 2 (the right eye's); outside XR the page's camera
 * also renders layer 1, so the preview shows the left view. Frames are decoded by CameraFeed
 * (createImageBitmap for JPEG, WebCodecs VideoDecoder for H.264) and copied into the panel's
 * canvas, whose texture is uploaded once per new frame; a camera the browser cannot decode has
 * its reason written on the panel.
 */
import type { CameraInfo } from '@dexbridge/server/protocol';
import { useFrame } from '@react-three/fiber';
import { useEffect, useMemo } from 'react';
import { CanvasTexture, Group, Mesh, MeshBasicMaterial, type Object3D, PlaneGeometry, SRGBColorSpace, Vector3 } from 'three';
import { type CameraFeed, type CameraImage, type CameraView, cameraImageSize } from '../cameras/CameraFeed.js';
import { followTarget, type PanelLayout } from './placement.js';

/** Panel width, m, at {@link PANEL_DISTANCE_M} from the head: about 23° of the view. */
export const CAMERA_PANEL_WIDTH_M = 0.4;
const PANEL_DISTANCE_M = 1.0;

/** The left and right eye's meshes of a stereo panel sit on these three.js layers (WebXRManager's eye layers). */
export const LEFT_EYE_LAYER = 1;
export const RIGHT_EYE_LAYER = 2;

/** The panel's objects; built once per chosen camera. */
export class CameraPanel3d implements CameraView {
  readonly group = new Group();
  /** The meshes drawn: one (mono) or two (left eye, right eye). */
  readonly meshes: Mesh[] = [];
  readonly canvas: HTMLCanvasElement;
  readonly #textures: CanvasTexture[] = [];
  readonly #stereo: boolean;
  frames = 0;
  /** What the panel says instead of a picture, if anything. */
  problemText: string | undefined;
  /** Whether the panel has had a place yet (it glides from there on). */
  placed = false;
  /** Whether the panel has arrived where it was last placed (within 1 mm). */
  settled = false;

  constructor(readonly info: CameraInfo) {
    this.#stereo = info.stereo === 'side-by-side';
    this.canvas = document.createElement('canvas');
    this.canvas.width = 320;
    this.canvas.height = 240;
    const geometry = new PlaneGeometry(1, 1);
    const halves = this.#stereo ? ([[0, LEFT_EYE_LAYER], [0.5, RIGHT_EYE_LAYER]] as const) : ([[0, 0]] as const);
    for (const [offset, layer] of halves) {
      const texture = new CanvasTexture(this.canvas);
      texture.colorSpace = SRGBColorSpace;
      if (this.#stereo) {
        texture.repeat.set(0.5, 1);
        texture.offset.set(offset, 0);
      }
      const mesh = new Mesh(geometry, new MeshBasicMaterial({ map: texture, toneMapped: false }));
      mesh.layers.set(layer);
      mesh.name = this.#stereo ? `camera-panel-${layer === LEFT_EYE_LAYER ? 'left' : 'right'}` : 'camera-panel';
      this.#textures.push(texture);
      this.meshes.push(mesh);
      this.group.add(mesh);
    }
    this.group.name = `camera-panel-${info.id}`;
    this.#resize(4 / 3);
  }

  /** The width of one eye's view over its height. */
  get aspect(): number {
    return this.meshes[0]!.scale.x / this.meshes[0]!.scale.y;
  }

  draw(image: CameraImage): void {
    const { width, height } = cameraImageSize(image);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      // A texture's size is fixed once uploaded: a new size needs new GPU storage.
      for (const t of this.#textures) t.dispose();
      this.#resize(width / (this.#stereo ? 2 : 1) / height);
    }
    this.canvas.getContext('2d')?.drawImage(image, 0, 0);
    for (const t of this.#textures) t.needsUpdate = true;
    this.frames++;
  }

  /** Why the camera cannot be shown (H.264 without WebCodecs): written on the panel itself, where the operator looks. */
  problem(text: string | undefined): void {
    this.problemText = text;
    if (text === undefined) return;
    const c = this.canvas;
    const g = c.getContext('2d');
    if (!g) return;
    g.fillStyle = '#400';
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#fff';
    g.font = `${Math.round(c.height / 14)}px sans-serif`;
    // Wrapped by words to the panel's width.
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      const next = line === '' ? word : `${line} ${word}`;
      if (g.measureText(next).width > c.width * 0.9 && line !== '') {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
    for (const [i, l] of lines.entries()) g.fillText(l, c.width * 0.05, (c.height / 10) * (i + 1.5));
    for (const t of this.#textures) t.needsUpdate = true;
  }

  #resize(aspect: number): void {
    for (const m of this.meshes) m.scale.set(CAMERA_PANEL_WIDTH_M, CAMERA_PANEL_WIDTH_M / aspect, 1);
  }

  dispose(): void {
    for (const t of this.#textures) t.dispose();
    for (const m of this.meshes) (m.material as MeshBasicMaterial).dispose();
    this.meshes[0]?.geometry.dispose();
  }
}

const head = new Vector3();
const forward = new Vector3();

export function XrCameraPanel({ feed, camera, robot, layout, exposed }: { feed: CameraFeed; camera: CameraInfo | undefined; robot: Object3D; layout: PanelLayout; exposed: { panel: CameraPanel3d | undefined } }) {
  const panel = useMemo(() => (camera ? new CameraPanel3d(camera) : undefined), [camera]);
  useEffect(() => {
    if (!panel) {
      feed.want([]);
      return;
    }
    feed.want([panel.info.id]);
    feed.setView(panel.info.id, panel);
    exposed.panel = panel;
    return () => {
      feed.setView(panel.info.id, undefined);
      exposed.panel = undefined;
      layout.clearCamera();
      panel.dispose();
    };
  }, [feed, panel, exposed, layout]);
  useFrame((state) => {
    // The page's camera renders the left eye's layer too: the preview before XR shows the left view (WebXRManager drops layer 1 from the right eye).
    state.camera.layers.enable(LEFT_EYE_LAYER);
    if (!panel) return;
    const g = panel.group;
    state.camera.getWorldPosition(head);
    // Placed with the head-up display, from the same box at the same instant (PanelLayout).
    layout.setCamera(CAMERA_PANEL_WIDTH_M, CAMERA_PANEL_WIDTH_M / panel.aspect, PANEL_DISTANCE_M);
    layout.update(robot, head, performance.now());
    if (!layout.cameraPlaced) return; // until the head-up display has its size too
    panel.settled = followTarget(g.position, layout.cameraTarget, !panel.placed);
    panel.placed = true;
    forward.set(head.x, g.position.y, head.z);
    g.lookAt(forward);
  });
  return panel ? <primitive object={panel.group} /> : null;
}
