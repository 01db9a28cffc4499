import type { RobotModel } from '@dexbridge/urdf';
import { type Arr, multiply, POSE_STRIDE, setAxisAngle, setFromXyzRpy, setIdentity } from '../math/pose.js';

/** Thrown for a tree that cannot be built from the model (unknown names, unsupported joints). */
export class KinematicsError extends Error {
  readonly code: 'KIN_UNKNOWN_LINK' | 'KIN_UNKNOWN_JOINT' | 'KIN_NOT_A_VARIABLE' | 'KIN_UNSUPPORTED_JOINT';
  constructor(code: KinematicsError['code'], message: string) {
    super(message);
    this.name = 'KinematicsError';
    this.code = code;
  }
}

export interface KinematicTreeOptions {
  /** The tree's root link: poses are expressed in its frame. Defaults to the model's root. */
  readonly root?: string;
  /**
   * Keep only the links on the paths from the root to these links. Defaults to every link below
   * the root.
   */
  readonly tips?: readonly string[];
  /**
   * The active joints, in the order of the variable vector `q`. Mimic joints are folded into the
   * joint they follow; movable joints in the tree that are neither listed nor mimic are held at
   * `fixedPositions` (0 by default).
   */
  readonly variables: readonly string[];
}

const KIND_FIXED = 0;
const KIND_REVOLUTE = 1;
const KIND_PRISMATIC = 2;

/** Revolute axis along a coordinate axis (the common case, with a cheaper FK): 0 general, 1..3 = ±x, ±y, ±z (sign in axisSign). */
const AXIS_GENERAL = 0;

/**
 * Forward kinematics and Jacobians of a subtree of a URDF model, with mimic joints folded into
 * their source joints. Everything is laid out at construction; `fk` and the Jacobians allocate
 * nothing.
 *
 * Call order: `fk(q)` first; `linkPose`, `pointJacobian` and `jacobian` read the poses of the most
 * recent `fk`.
 */
export class KinematicTree {
  /** Link names; index 0 is the root. */
  readonly linkNames: readonly string[];
  readonly variableNames: readonly string[];
  /** Per variable: lower and upper limits (rad or m), and the velocity limit. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly maxVelocity: Float64Array;
  /** World (root-frame) pose of every link after the last `fk`, 12 numbers per link. */
  readonly poses: Float64Array;

  /** Name of the joint that produces each link (index ≥ 1). */
  readonly jointNames: readonly string[];
  private readonly parent: Int32Array;
  private readonly origin: Float64Array;
  private readonly axis: Float64Array;
  private readonly kind: Uint8Array;
  private readonly axisCode: Uint8Array;
  private readonly axisSign: Float64Array;
  private readonly varIndex: Int32Array;
  private readonly multiplier: Float64Array;
  private readonly offset: Float64Array;
  /** Movable-joint ancestors of each link (the link's own joint included), root first. */
  private readonly ancestors: Int32Array[];
  private readonly linkIndexByName: Map<string, number>;
  private readonly scratch = new Float64Array(12);
  /** The point of a {@link pointJacobian} call. */
  private readonly point = new Float64Array(3);

  constructor(model: RobotModel, options: KinematicTreeOptions) {
    const root = options.root ?? model.root;
    if (!model.linkByName.has(root)) throw new KinematicsError('KIN_UNKNOWN_LINK', `kinematics: root link "${root}" is not in robot "${model.name}"`);
    const childJoints = new Map<string, string[]>();
    for (const j of model.joints) {
      const list = childJoints.get(j.parent) ?? [];
      list.push(j.name);
      childJoints.set(j.parent, list);
    }
    // Links below the root, depth first in joint order.
    const names: string[] = [root];
    const jointOf: string[] = [''];
    const parentIdx: number[] = [-1];
    const stack: [string, number][] = [[root, 0]];
    while (stack.length > 0) {
      const [link, idx] = stack.pop()!;
      const kids = childJoints.get(link) ?? [];
      for (let k = kids.length - 1; k >= 0; k--) {
        const j = model.jointByName.get(kids[k]!)!;
        names.push(j.child);
        jointOf.push(j.name);
        parentIdx.push(idx);
        stack.push([j.child, names.length - 1]);
      }
    }
    let keep = names.map(() => true);
    if (options.tips) {
      keep = names.map(() => false);
      for (const tip of options.tips) {
        let i = names.indexOf(tip);
        if (i < 0) throw new KinematicsError('KIN_UNKNOWN_LINK', `kinematics: tip link "${tip}" is not below root "${root}"`);
        while (i >= 0 && !keep[i]) { keep[i] = true; i = parentIdx[i]!; }
      }
    }
    // Re-index the kept links, preserving parent-before-child order.
    const newIndex = new Int32Array(names.length).fill(-1);
    const kept: number[] = [];
    for (let i = 0; i < names.length; i++) if (keep[i]) { newIndex[i] = kept.length; kept.push(i); }
    const n = kept.length;
    this.linkNames = kept.map((i) => names[i]!);
    this.jointNames = kept.map((i) => jointOf[i]!);
    this.linkIndexByName = new Map(this.linkNames.map((name, i) => [name, i]));
    this.parent = Int32Array.from(kept, (i) => (parentIdx[i]! < 0 ? -1 : newIndex[parentIdx[i]!]!));
    this.origin = new Float64Array(n * POSE_STRIDE);
    this.axis = new Float64Array(n * 3);
    this.kind = new Uint8Array(n);
    this.axisCode = new Uint8Array(n);
    this.axisSign = new Float64Array(n).fill(1);
    this.varIndex = new Int32Array(n).fill(-1);
    this.multiplier = new Float64Array(n);
    this.offset = new Float64Array(n);
    this.poses = new Float64Array(n * POSE_STRIDE);

    const varIdx = new Map(options.variables.map((v, i) => [v, i]));
    this.variableNames = [...options.variables];
    this.lower = new Float64Array(options.variables.length).fill(-Infinity);
    this.upper = new Float64Array(options.variables.length).fill(Infinity);
    this.maxVelocity = new Float64Array(options.variables.length).fill(Infinity);
    for (const v of options.variables) {
      const j = model.jointByName.get(v);
      if (!j) throw new KinematicsError('KIN_UNKNOWN_JOINT', `kinematics: variable "${v}" is not a joint of robot "${model.name}"`);
      if (j.type === 'fixed' || j.mimic) throw new KinematicsError('KIN_NOT_A_VARIABLE', `kinematics: joint "${v}" is ${j.mimic ? 'a mimic' : 'a fixed'} joint and cannot be a variable`);
      const i = varIdx.get(v)!;
      this.lower[i] = j.limit?.lower ?? -Infinity;
      this.upper[i] = j.limit?.upper ?? Infinity;
      this.maxVelocity[i] = j.limit?.velocity ?? Infinity;
    }

    setIdentity(this.poses, 0);
    for (let k = 1; k < n; k++) {
      const j = model.jointByName.get(this.jointNames[k]!)!;
      const o = j.origin;
      setFromXyzRpy(this.origin, k * POSE_STRIDE, o.xyz[0], o.xyz[1], o.xyz[2], o.rpy[0], o.rpy[1], o.rpy[2]);
      this.axis.set(j.axis, k * 3);
      for (let c = 0; c < 3; c++) {
        const a = j.axis[c]!;
        if (Math.abs(Math.abs(a) - 1) < 1e-15 && Math.abs(j.axis[(c + 1) % 3]!) < 1e-15 && Math.abs(j.axis[(c + 2) % 3]!) < 1e-15) {
          this.axisCode[k] = c + 1;
          this.axisSign[k] = Math.sign(a);
        }
      }
      if (j.type === 'fixed') { this.kind[k] = KIND_FIXED; continue; }
      if (j.type === 'revolute' || j.type === 'continuous') this.kind[k] = KIND_REVOLUTE;
      else if (j.type === 'prismatic') this.kind[k] = KIND_PRISMATIC;
      else throw new KinematicsError('KIN_UNSUPPORTED_JOINT', `kinematics: joint "${j.name}" has type ${j.type}, which the kinematics does not support`);
      let source = j.name;
      let mult = 1;
      let off = 0;
      if (j.mimic) {
        source = j.mimic.joint;
        mult = j.mimic.multiplier;
        off = j.mimic.offset;
        // A mimic of a mimic: compose down to the first joint that is not one (the parser
        // rejects mimic loops, so this ends).
        for (let src = model.jointByName.get(source); src?.mimic; src = model.jointByName.get(source)) {
          off = mult * src.mimic.offset + off;
          mult *= src.mimic.multiplier;
          source = src.mimic.joint;
        }
      }
      // A joint that is not a variable (nor follows one) is held at its offset (0 unless mimic).
      this.varIndex[k] = varIdx.get(source) ?? -1;
      this.multiplier[k] = mult;
      this.offset[k] = off;
    }
    this.ancestors = [];
    for (let k = 0; k < n; k++) {
      const list: number[] = [];
      for (let i = k; i > 0; i = this.parent[i]!) if (this.kind[i] !== KIND_FIXED && this.varIndex[i]! >= 0) list.unshift(i);
      this.ancestors.push(Int32Array.from(list));
    }
  }

  get linkCount(): number { return this.linkNames.length; }
  get variableCount(): number { return this.variableNames.length; }

  /** Index of a link in `poses`; throws KIN_UNKNOWN_LINK for a link outside the tree. */
  linkIndex(name: string): number {
    const i = this.linkIndexByName.get(name);
    if (i === undefined) throw new KinematicsError('KIN_UNKNOWN_LINK', `kinematics: link "${name}" is not in this tree (root "${this.linkNames[0]}")`);
    return i;
  }

  /** Position of joint k given the variables (mimic folded). */
  private jointValue(k: number, q: ArrayLike<number>): number {
    const vi = this.varIndex[k]!;
    return vi < 0 ? this.offset[k]! : this.multiplier[k]! * q[vi]! + this.offset[k]!;
  }

  /** Computes every link's pose in the root frame from the variables `q`. Returns `poses`. */
  fk(q: ArrayLike<number>): Float64Array {
    const poses = this.poses;
    const s = this.scratch;
    const origin = this.origin;
    const n = this.linkNames.length;
    for (let k = 1; k < n; k++) {
      const o = k * POSE_STRIDE;
      const po = this.parent[k]! * POSE_STRIDE;
      // poses[k] = poses[parent] ∘ origin[k] (distinct slots: no aliasing).
      const a0 = poses[po]!, a1 = poses[po + 1]!, a2 = poses[po + 2]!, a3 = poses[po + 3]!, a4 = poses[po + 4]!, a5 = poses[po + 5]!, a6 = poses[po + 6]!, a7 = poses[po + 7]!, a8 = poses[po + 8]!;
      const b0 = origin[o]!, b1 = origin[o + 1]!, b2 = origin[o + 2]!, b3 = origin[o + 3]!, b4 = origin[o + 4]!, b5 = origin[o + 5]!, b6 = origin[o + 6]!, b7 = origin[o + 7]!, b8 = origin[o + 8]!;
      const bx = origin[o + 9]!, by = origin[o + 10]!, bz = origin[o + 11]!;
      let c0 = a0 * b0 + a1 * b3 + a2 * b6, c1 = a0 * b1 + a1 * b4 + a2 * b7, c2 = a0 * b2 + a1 * b5 + a2 * b8;
      let c3 = a3 * b0 + a4 * b3 + a5 * b6, c4 = a3 * b1 + a4 * b4 + a5 * b7, c5 = a3 * b2 + a4 * b5 + a5 * b8;
      let c6 = a6 * b0 + a7 * b3 + a8 * b6, c7 = a6 * b1 + a7 * b4 + a8 * b7, c8 = a6 * b2 + a7 * b5 + a8 * b8;
      poses[o + 9] = a0 * bx + a1 * by + a2 * bz + poses[po + 9]!;
      poses[o + 10] = a3 * bx + a4 * by + a5 * bz + poses[po + 10]!;
      poses[o + 11] = a6 * bx + a7 * by + a8 * bz + poses[po + 11]!;
      const kind = this.kind[k]!;
      if (kind === KIND_REVOLUTE) {
        const code = this.axisCode[k]!;
        // jointValue, written out: a double returned from a call that is not inlined is boxed
        // (a heap allocation per joint per FK).
        const vi = this.varIndex[k]!;
        const v = vi < 0 ? this.offset[k]! : this.multiplier[k]! * q[vi]! + this.offset[k]!;
        if (code !== AXIS_GENERAL) {
          // Right-multiplying by a rotation about a coordinate axis mixes the other two columns.
          const th = v * this.axisSign[k]!;
          const cs = Math.cos(th), sn = Math.sin(th);
          let t0: number, t1: number, t2: number;
          if (code === 1) { // x: columns y, z
            t0 = c1; t1 = c4; t2 = c7;
            c1 = cs * t0 + sn * c2; c4 = cs * t1 + sn * c5; c7 = cs * t2 + sn * c8;
            c2 = cs * c2 - sn * t0; c5 = cs * c5 - sn * t1; c8 = cs * c8 - sn * t2;
          } else if (code === 2) { // y: columns z, x
            t0 = c2; t1 = c5; t2 = c8;
            c2 = cs * t0 + sn * c0; c5 = cs * t1 + sn * c3; c8 = cs * t2 + sn * c6;
            c0 = cs * c0 - sn * t0; c3 = cs * c3 - sn * t1; c6 = cs * c6 - sn * t2;
          } else { // z: columns x, y
            t0 = c0; t1 = c3; t2 = c6;
            c0 = cs * t0 + sn * c1; c3 = cs * t1 + sn * c4; c6 = cs * t2 + sn * c7;
            c1 = cs * c1 - sn * t0; c4 = cs * c4 - sn * t1; c7 = cs * c7 - sn * t2;
          }
          poses[o] = c0; poses[o + 1] = c1; poses[o + 2] = c2;
          poses[o + 3] = c3; poses[o + 4] = c4; poses[o + 5] = c5;
          poses[o + 6] = c6; poses[o + 7] = c7; poses[o + 8] = c8;
          continue;
        }
        poses[o] = c0; poses[o + 1] = c1; poses[o + 2] = c2;
        poses[o + 3] = c3; poses[o + 4] = c4; poses[o + 5] = c5;
        poses[o + 6] = c6; poses[o + 7] = c7; poses[o + 8] = c8;
        setAxisAngle(s, 0, this.axis[k * 3]!, this.axis[k * 3 + 1]!, this.axis[k * 3 + 2]!, v);
        multiply(poses, o, poses, o, s, 0);
        continue;
      }
      poses[o] = c0; poses[o + 1] = c1; poses[o + 2] = c2;
      poses[o + 3] = c3; poses[o + 4] = c4; poses[o + 5] = c5;
      poses[o + 6] = c6; poses[o + 7] = c7; poses[o + 8] = c8;
      if (kind === KIND_PRISMATIC) {
        const v = this.jointValue(k, q);
        setIdentity(s, 0);
        s[9] = this.axis[k * 3]! * v; s[10] = this.axis[k * 3 + 1]! * v; s[11] = this.axis[k * 3 + 2]! * v;
        multiply(poses, o, poses, o, s, 0);
      }
    }
    return poses;
  }

  /**
   * Index map for `jointPositions`: for each joint name, the link it produces. Compute once.
   * Throws KIN_UNKNOWN_JOINT for a joint outside the tree.
   */
  jointIndexMap(names: readonly string[]): Int32Array {
    return Int32Array.from(names, (name) => {
      const k = this.jointNames.indexOf(name);
      if (k < 1) throw new KinematicsError('KIN_UNKNOWN_JOINT', `kinematics: joint "${name}" is not in this tree (root "${this.linkNames[0]}")`);
      return k;
    });
  }

  /** Writes the positions of the joints in `map` (from `jointIndexMap`, mimic joints included) into `out` from `oo`. */
  jointPositions(q: ArrayLike<number>, map: Int32Array, out: Float64Array | Float32Array, oo = 0): Float64Array | Float32Array {
    for (let i = 0; i < map.length; i++) out[oo + i] = this.jointValue(map[i]!, q);
    return out;
  }

  /**
   * Positional Jacobian (3 × variableCount, row-major, into `out` at offset `oo`) of the point with
   * root-frame position (px, py, pz), rigidly attached to link `link`. Columns of variables that do
   * not move the link are left untouched: clear `out` first if it is reused.
   */
  pointJacobian(link: number, px: number, py: number, pz: number, out: Arr, oo = 0): Arr {
    const pt = this.point;
    pt[0] = px; pt[1] = py; pt[2] = pz;
    return this.pointJacobianAt(link, pt, 0, out, oo);
  }

  /**
   * {@link pointJacobian} of the point at src[so..so+2]. The solvers' per-iteration form: numbers
   * passed to a call that is not inlined are boxed (a heap allocation each), an array is not.
   */
  pointJacobianAt(link: number, src: Arr, so: number, out: Arr, oo = 0): Arr {
    const px = src[so]!, py = src[so + 1]!, pz = src[so + 2]!;
    const nv = this.variableNames.length;
    const anc = this.ancestors[link]!;
    const poses = this.poses;
    for (let a = 0; a < anc.length; a++) {
      const k = anc[a]!;
      const o = k * POSE_STRIDE;
      const ax = this.axis[k * 3]!, ay = this.axis[k * 3 + 1]!, az = this.axis[k * 3 + 2]!;
      // Joint axis in the root frame: the link's rotation applied to the local axis.
      const wx = poses[o]! * ax + poses[o + 1]! * ay + poses[o + 2]! * az;
      const wy = poses[o + 3]! * ax + poses[o + 4]! * ay + poses[o + 5]! * az;
      const wz = poses[o + 6]! * ax + poses[o + 7]! * ay + poses[o + 8]! * az;
      const m = this.multiplier[k]!;
      const c = oo + this.varIndex[k]!;
      if (this.kind[k] === KIND_REVOLUTE) {
        const rx = px - poses[o + 9]!, ry = py - poses[o + 10]!, rz = pz - poses[o + 11]!;
        out[c] = out[c]! + m * (wy * rz - wz * ry);
        out[c + nv] = out[c + nv]! + m * (wz * rx - wx * rz);
        out[c + 2 * nv] = out[c + 2 * nv]! + m * (wx * ry - wy * rx);
      } else {
        out[c] = out[c]! + m * wx;
        out[c + nv] = out[c + nv]! + m * wy;
        out[c + 2 * nv] = out[c + 2 * nv]! + m * wz;
      }
    }
    return out;
  }

  /**
   * Geometric Jacobian (6 × variableCount, row-major: linear rows then angular rows, root frame)
   * of link `link`'s origin, overwriting `out`.
   */
  jacobian(link: number, out: Arr): Arr {
    const nv = this.variableNames.length;
    out.fill(0, 0, 6 * nv);
    const p = link * POSE_STRIDE;
    this.pointJacobianAt(link, this.poses, p + 9, out, 0);
    const anc = this.ancestors[link]!;
    const poses = this.poses;
    for (let a = 0; a < anc.length; a++) {
      const k = anc[a]!;
      if (this.kind[k] !== KIND_REVOLUTE) continue;
      const o = k * POSE_STRIDE;
      const ax = this.axis[k * 3]!, ay = this.axis[k * 3 + 1]!, az = this.axis[k * 3 + 2]!;
      const m = this.multiplier[k]!;
      const c = this.varIndex[k]! + 3 * nv;
      out[c] = out[c]! + m * (poses[o]! * ax + poses[o + 1]! * ay + poses[o + 2]! * az);
      out[c + nv] = out[c + nv]! + m * (poses[o + 3]! * ax + poses[o + 4]! * ay + poses[o + 5]! * az);
      out[c + 2 * nv] = out[c + 2 * nv]! + m * (poses[o + 6]! * ax + poses[o + 7]! * ay + poses[o + 8]! * az);
    }
    return out;
  }

  /** Distinct variables that move link `link` (its movable ancestors' variable indices, root first). */
  variablesMoving(link: number): number[] {
    return [...new Set(Array.from(this.ancestors[link]!, (k) => this.varIndex[k]!))];
  }

  /** Clamps `q` into the variables' limits, in place. */
  clamp(q: Float64Array): Float64Array {
    for (let i = 0; i < q.length; i++) {
      const v = q[i]!;
      q[i] = Math.max(this.lower[i]!, Math.min(this.upper[i]!, v));
    }
    return q;
  }
}
