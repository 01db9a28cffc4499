/**
 * The typed kinematic model a URDF file parses into. Plain data: no methods, no DOM, no three.js.
 * Units are SI (metres, radians, kilograms), as in URDF.
 */

export type Vec3 = readonly [number, number, number];

/** A rigid transform as URDF writes it: translation then fixed-axis roll, pitch, yaw (Rz·Ry·Rx). */
export interface Origin {
  readonly xyz: Vec3;
  readonly rpy: Vec3;
}

export type JointType = 'revolute' | 'continuous' | 'prismatic' | 'fixed' | 'floating' | 'planar';

export interface JointLimit {
  /** Lower position limit (rad or m); `-Infinity` for continuous joints. */
  readonly lower: number;
  /** Upper position limit (rad or m); `Infinity` for continuous joints. */
  readonly upper: number;
  /** Maximum speed (rad/s or m/s). */
  readonly velocity: number;
  /** Maximum effort (N·m or N). */
  readonly effort: number;
}

/** `<mimic>`: this joint's position = multiplier × position(joint) + offset. */
export interface Mimic {
  readonly joint: string;
  readonly multiplier: number;
  readonly offset: number;
}

export interface Joint {
  readonly name: string;
  readonly type: JointType;
  readonly parent: string;
  readonly child: string;
  readonly origin: Origin;
  /** Unit axis in the joint frame; (1, 0, 0) when the URDF omits it. */
  readonly axis: Vec3;
  /** Present for revolute and prismatic joints (required there by URDF), optional otherwise. */
  readonly limit: JointLimit | undefined;
  readonly mimic: Mimic | undefined;
}

export type Geometry =
  | { readonly kind: 'box'; readonly size: Vec3 }
  | { readonly kind: 'cylinder'; readonly radius: number; readonly length: number }
  | { readonly kind: 'sphere'; readonly radius: number }
  | { readonly kind: 'capsule'; readonly radius: number; readonly length: number }
  | { readonly kind: 'mesh'; readonly filename: string; readonly scale: Vec3 };

export interface Visual {
  readonly name: string | undefined;
  readonly origin: Origin;
  readonly geometry: Geometry;
  /** Material name, when one is given. */
  readonly material: string | undefined;
  /** RGBA in 0..1, when the material (inline or named at robot level) defines a colour. */
  readonly rgba: readonly [number, number, number, number] | undefined;
}

export interface Collision {
  readonly name: string | undefined;
  readonly origin: Origin;
  readonly geometry: Geometry;
}

export interface Inertial {
  readonly origin: Origin;
  readonly mass: number;
  /** ixx, ixy, ixz, iyy, iyz, izz */
  readonly inertia: readonly [number, number, number, number, number, number];
}

export interface Link {
  readonly name: string;
  readonly visuals: readonly Visual[];
  readonly collisions: readonly Collision[];
  readonly inertial: Inertial | undefined;
}

export interface RobotModel {
  readonly name: string;
  /** The one link that is no joint's child. */
  readonly root: string;
  /** Links in document order. */
  readonly links: readonly Link[];
  /** Joints in topological order: every joint comes after the joint that produces its parent link. */
  readonly joints: readonly Joint[];
  readonly linkByName: ReadonlyMap<string, Link>;
  readonly jointByName: ReadonlyMap<string, Joint>;
}
