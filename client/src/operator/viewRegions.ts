/**
 * Where the robot, the head-up display and the camera panel fall in each eye's view, as rectangles
 * in normalised device coordinates (−1..1, y up): the projections of the robot's bounding box
 * corners and of each panel's four corners. The rectangle of a projected box is larger than the
 * box's outline, so "no overlap" between these rectangles is the stricter claim. For tests and
 * for checking a layout by hand (`dexbridge.xrView.regions()` in the operator page).
 */
import { Box3, type Camera, type Mesh, type Object3D, Vector3 } from 'three';
import { robotBox } from '../robot/bounds.js';

export interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface ViewRegions {
  robot: Rect;
  hud: Rect | null;
  camera: Rect | null;
}

const p = new Vector3();
const box = new Box3();

function grow(r: Rect, v: Vector3): void {
  r.minX = Math.min(r.minX, v.x);
  r.maxX = Math.max(r.maxX, v.x);
  r.minY = Math.min(r.minY, v.y);
  r.maxY = Math.max(r.maxY, v.y);
}
const empty = (): Rect => ({ minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity });

/** The projected rectangle of a unit plane mesh (PlaneGeometry 1 × 1, sized by its scale), or null when hidden from `camera`. */
function planeRect(mesh: Mesh, camera: Camera): Rect | null {
  if (!mesh.visible || !camera.layers.test(mesh.layers)) return null;
  for (let o: Object3D | null = mesh.parent; o; o = o.parent) if (!o.visible) return null;
  mesh.updateWorldMatrix(true, false);
  const r = empty();
  for (const [x, y] of [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]] as const) grow(r, p.set(x, y, 0).applyMatrix4(mesh.matrixWorld).project(camera));
  return r;
}

export function viewRegions(cameras: readonly Camera[], robot: Object3D, hud: Mesh, panel: { meshes: readonly Mesh[] } | undefined): ViewRegions[] {
  robotBox([robot], box);
  return cameras.map((camera) => {
    const r = empty();
    for (let i = 0; i < 8; i++) grow(r, p.set(i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z).project(camera));
    let cam: Rect | null = null;
    for (const m of panel?.meshes ?? []) cam ??= planeRect(m, camera);
    return { robot: r, hud: planeRect(hud, camera), camera: cam };
  });
}
