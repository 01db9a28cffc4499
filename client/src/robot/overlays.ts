/**
 * Overlays drawn on a {@link RobotRig}: the robot's achieved fingertips (from the 88-dim action),
 * the fingertip targets and the operator's hand mapped onto the robot hand (from HAND_TRACKING),
 * and a ghost's flange trajectory. Plain three.js objects updated in place.
 */
import { ACTION_INDEX, FINGERS, handBaseLinkName, SIDES, type Side, XR_BONES } from '@dexbridge/retarget';
import { BufferAttribute, BufferGeometry, Color, Group, InstancedMesh, LineBasicMaterial, LineSegments, Line, Matrix4, MeshBasicMaterial, SphereGeometry } from 'three';
import type { RobotRig } from './RobotRig.js';

const tmpM = new Matrix4();

/** Action indices of each side's 5 fingertip x entries (y, z follow). */
export const FINGERTIP_ACTION_INDEX: { readonly [S in Side]: readonly number[] } = {
  left: FINGERS.map((f) => ACTION_INDEX.get(`left_fingertip_${f}_x`)!),
  right: FINGERS.map((f) => ACTION_INDEX.get(`right_fingertip_${f}_x`)!),
};
/** Action index of each side's flange x (y, z follow). */
export const FLANGE_ACTION_INDEX: { readonly [S in Side]: number } = {
  left: ACTION_INDEX.get('left_flange_x')!,
  right: ACTION_INDEX.get('right_flange_x')!,
};

/** Points as instanced spheres; hidden instances are scaled to zero. */
export class PointSet {
  readonly mesh: InstancedMesh;
  constructor(count: number, radius: number, color: string) {
    this.mesh = new InstancedMesh(new SphereGeometry(radius, 10, 8), new MeshBasicMaterial({ color: new Color(color), depthTest: false, transparent: true, opacity: 0.9 }), count);
    this.mesh.renderOrder = 10;
    this.mesh.frustumCulled = false;
    this.hideAll();
  }
  set(i: number, x: number, y: number, z: number): void {
    if (Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z)) this.mesh.setMatrixAt(i, tmpM.makeTranslation(x, y, z));
    else this.mesh.setMatrixAt(i, tmpM.makeScale(0, 0, 0));
    this.mesh.instanceMatrix.needsUpdate = true;
  }
  hideAll(): void {
    for (let i = 0; i < this.mesh.count; i++) this.mesh.setMatrixAt(i, tmpM.makeScale(0, 0, 0));
    this.mesh.instanceMatrix.needsUpdate = true;
  }
}

/** The robot's fingertips, where the action says they are (base_link). */
export class FingertipMarkers {
  readonly points = new PointSet(10, 0.006, '#34c759');
  constructor(rig: RobotRig) {
    this.points.mesh.name = 'fingertips';
    rig.base.add(this.points.mesh);
  }
  update(action: ArrayLike<number>): void {
    SIDES.forEach((side, s) => {
      FINGERTIP_ACTION_INDEX[side].forEach((ix, f) => {
        this.points.set(s * 5 + f, action[ix]!, action[ix + 1]!, action[ix + 2]!);
      });
    });
  }
}

/**
 * The operator's hand (25 joints and bones) and the 5 fingertip targets per side, in each robot
 * hand's base frame (as HAND_TRACKING sends them).
 */
export class TrackingOverlay {
  private readonly sides: { [S in Side]: { joints: PointSet; targets: PointSet; bones: LineSegments; positions: Float32Array; handGroup: Group; targetGroup: Group } };
  constructor(rig: RobotRig) {
    const make = (side: Side) => {
      const parent = rig.links.get(handBaseLinkName(side)) ?? rig.base;
      const group = new Group();
      group.name = `${side}:tracking`;
      const joints = new PointSet(25, 0.004, '#ffcc00');
      const targets = new PointSet(5, 0.007, '#ff2d55');
      const positions = new Float32Array(XR_BONES.length * 6);
      const g = new BufferGeometry();
      g.setAttribute('position', new BufferAttribute(positions, 3));
      const bones = new LineSegments(g, new LineBasicMaterial({ color: '#ffcc00', depthTest: false, transparent: true, opacity: 0.8 }));
      bones.renderOrder = 10;
      bones.frustumCulled = false;
      // Hand and targets in groups of their own, so the legend can hide either (update() owns the bones' visibility).
      const handGroup = new Group();
      handGroup.name = `${side}:operator-hand`;
      handGroup.add(joints.mesh, bones);
      const targetGroup = new Group();
      targetGroup.name = `${side}:targets`;
      targetGroup.add(targets.mesh);
      group.add(handGroup, targetGroup);
      parent.add(group);
      return { joints, targets, bones, positions, handGroup, targetGroup };
    };
    this.sides = { left: make('left'), right: make('right') };
  }

  /** Shows or hides the operator's hand (points and bones) and the fingertip targets, both sides. */
  show(hand: boolean, targets: boolean): void {
    for (const o of Object.values(this.sides)) {
      o.handGroup.visible = hand;
      o.targetGroup.visible = targets;
    }
  }

  /** `joints` 75 numbers (25 × xyz) and `tips` 15, hand-base frame; `null` hides the side. */
  update(side: Side, joints: ArrayLike<number> | null, tips: ArrayLike<number> | null): void {
    const o = this.sides[side];
    if (!joints || !tips) {
      o.joints.hideAll();
      o.targets.hideAll();
      o.bones.visible = false;
      return;
    }
    for (let i = 0; i < 25; i++) o.joints.set(i, joints[i * 3]!, joints[i * 3 + 1]!, joints[i * 3 + 2]!);
    for (let i = 0; i < 5; i++) o.targets.set(i, tips[i * 3]!, tips[i * 3 + 1]!, tips[i * 3 + 2]!);
    XR_BONES.forEach(([a, b], k) => {
      for (let c = 0; c < 3; c++) {
        o.positions[k * 6 + c] = joints[a * 3 + c]!;
        o.positions[k * 6 + 3 + c] = joints[b * 3 + c]!;
      }
    });
    (o.bones.geometry.getAttribute('position') as BufferAttribute).needsUpdate = true;
    o.bones.visible = true;
  }
}

/** A polyline through points in base_link (e.g. a policy chunk's future flange positions). */
export class Trajectory {
  readonly line: Line;
  private readonly positions: Float32Array;
  constructor(rig: RobotRig, maxPoints: number, color: string) {
    this.positions = new Float32Array(maxPoints * 3);
    const g = new BufferGeometry();
    g.setAttribute('position', new BufferAttribute(this.positions, 3));
    g.setDrawRange(0, 0);
    this.line = new Line(g, new LineBasicMaterial({ color, depthTest: false, transparent: true, opacity: 0.9 }));
    this.line.renderOrder = 11;
    this.line.frustumCulled = false;
    rig.base.add(this.line);
  }
  /** Row r's point is `data[r * stride + offset .. + 3]`. */
  set(data: ArrayLike<number>, rows: number, stride: number, offset: number): void {
    const n = Math.min(rows, this.positions.length / 3);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < 3; c++) this.positions[r * 3 + c] = data[r * stride + offset + c]!;
    }
    this.line.geometry.setDrawRange(0, n);
    (this.line.geometry.getAttribute('position') as BufferAttribute).needsUpdate = true;
  }
}
