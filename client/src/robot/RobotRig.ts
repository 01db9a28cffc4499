/**
 * The robot drawn from the project's URDF (the server's `/api/urdf`, parsed by `@dexbridge/urdf`):
 * one three.js node per link and joint, primitive visuals as the URDF declares them, and a fast
 * path that sets all joints from a ROBOT_STATE joint array without allocating.
 *
 * URDF is z-up, three.js y-up: `root` carries that rotation, so callers place `root` in a y-up
 * scene and everything below it is in the rig's `base_link` frame.
 */
import { ACTION_ENTRIES } from '@dexbridge/retarget';
import type { Geometry, Joint, RobotModel, Visual } from '@dexbridge/urdf';
import { isArmJoint, NEAR_LIMIT_FRACTION } from './limits.js';
import {
  BoxGeometry,
  type BufferGeometry,
  CapsuleGeometry,
  Color,
  CylinderGeometry,
  Euler,
  Group,
  Mesh,
  MeshStandardMaterial,
  type Object3D,
  Quaternion,
  SphereGeometry,
  Vector3,
} from 'three';

export interface RigStyle {
  /** Override every visual's colour (ghosts). */
  readonly color?: string;
  /** 1 = opaque. */
  readonly opacity?: number;
  /** Draw on top of other geometry (overlays). */
  readonly wireframe?: boolean;
}

interface JointNode {
  readonly joint: Joint;
  /** Rotated (revolute) or moved (prismatic) by the joint value. */
  readonly motion: Object3D;
  readonly axis: Vector3;
  /** Materials of the links this joint moves directly (for the near-limit tint). */
  readonly materials: MeshStandardMaterial[];
  readonly baseColor: Color[];
  limitTinted: boolean;
  value: number;
}

const LIMIT_TINT = new Color('#ff3b30');

const tmpQ = new Quaternion();

/** URDF `rpy` (fixed axes X, then Y, then Z) as a three.js quaternion. */
export function quaternionOfRpy(rpy: readonly [number, number, number], out = new Quaternion()): Quaternion {
  return out.setFromEuler(new Euler(rpy[0], rpy[1], rpy[2], 'ZYX'));
}

function geometryOf(g: Geometry): BufferGeometry | undefined {
  switch (g.kind) {
    case 'box':
      return new BoxGeometry(g.size[0], g.size[1], g.size[2]);
    case 'cylinder': {
      // three's cylinder runs along y, URDF's along z.
      const c = new CylinderGeometry(g.radius, g.radius, g.length, 24);
      c.rotateX(Math.PI / 2);
      return c;
    }
    case 'sphere':
      return new SphereGeometry(g.radius, 20, 14);
    case 'capsule': {
      const c = new CapsuleGeometry(g.radius, g.length, 6, 16);
      c.rotateX(Math.PI / 2);
      return c;
    }
    case 'mesh':
      // The dexbridge rig has no meshes; a URDF that does is drawn without them.
      return undefined;
  }
}

function meshOf(v: Visual, style: RigStyle): Mesh | undefined {
  const geometry = geometryOf(v.geometry);
  if (!geometry) return undefined;
  const rgba = v.rgba ?? [0.75, 0.75, 0.78, 1];
  const opacity = style.opacity ?? rgba[3];
  const material = new MeshStandardMaterial({
    color: style.color ?? new Color(rgba[0], rgba[1], rgba[2]),
    roughness: 0.55,
    metalness: 0.1,
    transparent: opacity < 1,
    opacity,
    depthWrite: opacity >= 1,
    wireframe: style.wireframe ?? false,
  });
  const mesh = new Mesh(geometry, material);
  mesh.position.set(...v.origin.xyz);
  quaternionOfRpy(v.origin.rpy, mesh.quaternion);
  return mesh;
}

export class RobotRig {
  /** Add this to a y-up scene. */
  readonly root = new Group();
  /** The URDF root link's node (z-up, base_link). */
  readonly base: Object3D;
  readonly links = new Map<string, Object3D>();
  private readonly joints = new Map<string, JointNode>();
  private order: (JointNode | undefined)[] = [];
  private orderNames: readonly string[] = [];

  constructor(
    readonly model: RobotModel,
    style: RigStyle = {},
  ) {
    this.root.name = `${model.name}:root`;
    this.root.rotation.x = -Math.PI / 2;
    const linkNode = (name: string): Object3D => {
      let node = this.links.get(name);
      if (!node) {
        node = new Group();
        node.name = name;
        for (const v of model.linkByName.get(name)?.visuals ?? []) {
          const m = meshOf(v, style);
          if (m) node.add(m);
        }
        this.links.set(name, node);
      }
      return node;
    };
    this.base = linkNode(model.root);
    this.root.add(this.base);
    for (const j of model.joints) {
      const origin = new Group();
      origin.name = `${j.name}:origin`;
      origin.position.set(...j.origin.xyz);
      quaternionOfRpy(j.origin.rpy, origin.quaternion);
      const motion = new Group();
      motion.name = j.name;
      origin.add(motion);
      const child = linkNode(j.child);
      motion.add(child);
      linkNode(j.parent).add(origin);
      const materials: MeshStandardMaterial[] = [];
      for (const c of child.children) if (c instanceof Mesh) materials.push(c.material as MeshStandardMaterial);
      this.joints.set(j.name, {
        joint: j, motion, axis: new Vector3(...j.axis).normalize(), materials, baseColor: materials.map((m) => m.color.clone()), limitTinted: false, value: 0,
      });
    }
  }

  setJoint(name: string, value: number): void {
    const n = this.joints.get(name);
    if (n) this.apply(n, value);
  }

  /**
   * Sets every named joint from `values` in `names` order (e.g. ROBOT_STATE's `commanded` in
   * `welcome.jointNames` order). Non-finite values leave a joint where it is.
   */
  setJoints(names: readonly string[], values: ArrayLike<number>): void {
    if (names !== this.orderNames) {
      this.orderNames = names;
      this.order = names.map((n) => this.joints.get(n));
    }
    const order = this.order;
    for (let i = 0; i < order.length; i++) {
      const n = order[i];
      const v = values[i]!;
      if (n !== undefined && Number.isFinite(v)) this.apply(n, v);
    }
  }

  /**
   * Tints the links of arm joints within `fraction` of their range from a limit; returns how many
   * are. (Hand joints are left out: an open hand or a fist sits at its limits by design.) Only
   * materials whose state changes are touched.
   */
  highlightNearLimits(names: readonly string[], values: ArrayLike<number>, fraction = NEAR_LIMIT_FRACTION): number {
    let near = 0;
    for (let i = 0; i < names.length; i++) {
      if (!isArmJoint(names[i]!)) continue;
      const n = this.joints.get(names[i]!);
      const lim = n?.joint.limit;
      if (!n || !lim || !Number.isFinite(lim.lower) || !Number.isFinite(lim.upper)) continue;
      const v = values[i]!;
      const margin = (lim.upper - lim.lower) * fraction;
      const isNear = v <= lim.lower + margin || v >= lim.upper - margin;
      if (isNear) near++;
      if (isNear === n.limitTinted) continue;
      n.limitTinted = isNear;
      n.materials.forEach((m, k) => {
        m.color.copy(isNear ? LIMIT_TINT : n.baseColor[k]!);
      });
    }
    return near;
  }

  /**
   * Sets every `<mimic>` joint from its leader's current value (for sources that carry only the
   * active joints, like the 88-dim action; ROBOT_STATE carries all 56 and needs no call).
   */
  applyMimics(): void {
    for (const n of this.joints.values()) {
      const m = n.joint.mimic;
      const leader = m && this.joints.get(m.joint);
      if (m && leader) this.apply(n, m.multiplier * leader.value + m.offset);
    }
  }

  /** Disposes geometries and materials. */
  dispose(): void {
    this.root.traverse((o) => {
      if (o instanceof Mesh) {
        o.geometry.dispose();
        (o.material as MeshStandardMaterial).dispose();
      }
    });
  }

  private apply(n: JointNode, v: number): void {
    n.value = v;
    if (n.joint.type === 'prismatic') n.motion.position.copy(n.axis).multiplyScalar(v);
    else if (n.joint.type === 'revolute' || n.joint.type === 'continuous') n.motion.quaternion.copy(tmpQ.setFromAxisAngle(n.axis, v));
  }
}

/** (joint, action index) of every action entry that is a joint position. */
let actionJoints: readonly (readonly [string, number])[] | undefined;

/** Poses `rig` from an 88-dim action (its joint entries, then the mimic joints). */
export function poseFromAction(rig: RobotRig, action: ArrayLike<number>, offset = 0): void {
  actionJoints ??= ACTION_ENTRIES.filter((e) => e.kind === 'joint').map((e) => [e.source, e.index] as const);
  for (const [joint, index] of actionJoints) {
    const v = action[offset + index]!;
    if (Number.isFinite(v)) rig.setJoint(joint, v);
  }
  rig.applyMimics();
}
