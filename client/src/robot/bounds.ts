/** The robot's bounds, shared by the dashboard's framing and the headset's panel placement. */
import { Box3, type InstancedMesh, type Mesh, type Object3D } from 'three';

const part = new Box3();

/** The bounds of the robot's own meshes (links), without overlays: point sets and lines are left out. */
export function robotBox(roots: readonly Object3D[], out: Box3): Box3 {
  out.makeEmpty();
  for (const root of roots) {
    root.updateWorldMatrix(true, true);
    root.traverse((o) => {
      const m = o as Mesh;
      if (!m.isMesh || (o as InstancedMesh).isInstancedMesh || !o.visible) return;
      if (!m.geometry.boundingBox) m.geometry.computeBoundingBox();
      out.union(part.copy(m.geometry.boundingBox!).applyMatrix4(m.matrixWorld));
    });
  }
  return out;
}
