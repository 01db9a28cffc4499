/**
 * Every number that defines the dexbridge rig. `docs/robot.md` explains where each one comes from;
 * change a number here, run `npm run urdf:generate`, and the URDF files follow.
 *
 * Frames follow ROS REP 103: metres and radians, the rig's `base_link` on the floor under the rig's
 * centre, x forward (away from the rig, toward the workspace), y left, z up.
 */

/** One FR3 joint: its URDF origin (Craig DH a, d, alpha as xyz/roll) and Franka's published limits. */
export interface Fr3Joint {
  readonly xyz: readonly [number, number, number];
  readonly roll: number;
  readonly lower: number;
  readonly upper: number;
  /** dq_max, rad/s */
  readonly velocity: number;
  /** tau_max, N·m */
  readonly effort: number;
}

const HALF_PI = Math.PI / 2;

/** Franka Research 3, as published by Franka Robotics (modified DH; see docs/robot.md). */
export const FR3_JOINTS: readonly Fr3Joint[] = [
  { xyz: [0, 0, 0.333], roll: 0, lower: -2.7437, upper: 2.7437, velocity: 2.62, effort: 87 },
  { xyz: [0, 0, 0], roll: -HALF_PI, lower: -1.7837, upper: 1.7837, velocity: 2.62, effort: 87 },
  { xyz: [0, -0.316, 0], roll: HALF_PI, lower: -2.9007, upper: 2.9007, velocity: 2.62, effort: 87 },
  { xyz: [0.0825, 0, 0], roll: HALF_PI, lower: -3.0421, upper: -0.1518, velocity: 2.62, effort: 87 },
  { xyz: [-0.0825, 0.384, 0], roll: -HALF_PI, lower: -2.8065, upper: 2.8065, velocity: 5.26, effort: 12 },
  { xyz: [0, 0, 0], roll: HALF_PI, lower: 0.5445, upper: 4.5169, velocity: 4.18, effort: 12 },
  { xyz: [0.088, 0, 0], roll: HALF_PI, lower: -3.0159, upper: 3.0159, velocity: 5.26, effort: 12 },
];
/** Flange (link8) offset along joint 7's z, m. */
export const FR3_FLANGE_D = 0.107;
/** Franka's controller limits, for the safety layer: rad/s², rad/s³. */
export const FR3_MAX_ACCELERATION = 10;
export const FR3_MAX_JERK = 5000;
/** Approximate link masses (link0..link7, flange), kg: plausible for simulators, not identified values. */
export const FR3_LINK_MASSES = [2.9, 2.7, 2.7, 2.1, 2.2, 2.3, 1.5, 0.7, 0.15] as const;

/** The rig: a pedestal with both arm bases on its top plate, upright, facing +x. */
export const RIG = {
  /** Arm base (link0) positions in base_link, m: 0.60 m apart at table height. */
  leftArmBase: [0, 0.3, 0.8] as const,
  rightArmBase: [0, -0.3, 0.8] as const,
  /** Pedestal box (x, y, z size) under the arms, m. */
  pedestalSize: [0.3, 0.9, 0.8] as const,
  pedestalMassKg: 40,
  /** Adapter plate between the FR3 flange and the hand, m; the right hand is turned −45° about the flange z, as Franka mounts its own hand (the left −135°: the mirror image of −45° at the flange). */
  handAdapterLength: 0.012,
  handMountYaw: -Math.PI / 4,
} as const;

/**
 * The hand, described for the RIGHT hand in its own frame (`*_hand_base`, at the wrist mount):
 * x radial (toward the thumb), y dorsal (out of the back of the hand), z distal (toward the
 * fingertips). The left hand is its mirror image through the x = 0 plane, so the same joint
 * values give mirrored poses.
 */
export interface FingerSpec {
  /** MCP joint centre in the hand frame, m. */
  readonly mcp: readonly [number, number, number];
  /** Rest splay about the dorsal axis, rad (positive toward the thumb). */
  readonly splay: number;
  /** Proximal, middle phalanx lengths and distal phalanx length to the tip-sphere centre, m. */
  readonly lengths: readonly [number, number, number];
  readonly abd: readonly [number, number];
  readonly flex: readonly [number, number];
  readonly pip: readonly [number, number];
  /** Link radius, m. */
  readonly radius: number;
}

export const LONG_FINGERS = {
  index: { mcp: [0.034, 0, 0.1], splay: 0.06, lengths: [0.048, 0.028, 0.02], abd: [-0.35, 0.35], flex: [-0.35, 1.57], pip: [0, 1.75], radius: 0.0095 },
  middle: { mcp: [0.0115, 0, 0.105], splay: 0, lengths: [0.052, 0.032, 0.022], abd: [-0.3, 0.3], flex: [-0.35, 1.57], pip: [0, 1.75], radius: 0.0095 },
  ring: { mcp: [-0.0115, 0, 0.101], splay: -0.06, lengths: [0.049, 0.03, 0.021], abd: [-0.3, 0.3], flex: [-0.35, 1.57], pip: [0, 1.75], radius: 0.009 },
  little: { mcp: [-0.034, 0, 0.092], splay: -0.14, lengths: [0.04, 0.023, 0.019], abd: [-0.35, 0.35], flex: [-0.35, 1.57], pip: [0, 1.75], radius: 0.0085 },
} as const satisfies Record<string, FingerSpec>;

/** DIP follows PIP through the four-bar linkage: q_dip = DIP_COUPLING × q_pip (human DIP/PIP ≈ 0.7–0.8). */
export const DIP_COUPLING = 0.75;

export const THUMB = {
  /** CMC joint centre, m. */
  cmc: [0.027, -0.012, 0.03] as const,
  /** Direction of the metacarpal at zero joint angles (hand frame; normalised by the builder). */
  restDirection: [0.62, -0.3, 0.72] as const,
  /** Direction the thumb flexes toward at zero angles (across the palm, palmar); made orthogonal to restDirection. */
  flexDirection: [-0.6, -0.8, 0] as const,
  /** Metacarpal, proximal phalanx, distal phalanx to the tip-sphere centre, m. */
  lengths: [0.046, 0.036, 0.026] as const,
  cmcAbd: [-0.35, 1.2] as const,
  cmcFlex: [-0.35, 1.45] as const,
  cmcRoll: [-0.8, 0.8] as const,
  mcp: [-0.25, 1.2] as const,
  radius: 0.0105,
} as const;
/** IP follows MCP: q_ip = IP_COUPLING × q_mcp. */
export const IP_COUPLING = 1.0;

/** Fingertip pad spheres: radius, m. A robot pinch is two of these within 3 mm, surface to surface. */
export const TIP_RADIUS = { thumb: 0.0095, index: 0.0085, middle: 0.0085, ring: 0.0082, little: 0.0078 } as const;

/** Hand joint speed and torque limits (ByteDexter's are not published): rad/s, N·m. */
export const HAND_JOINT_VELOCITY = 8.0;
export const HAND_JOINT_EFFORT = { abd: 0.6, flex: 1.2, pip: 0.8, thumb: 1.0 } as const;

/** Palm box in the hand frame (x across, y thickness, z from the wrist mount to the knuckles), m. */
export const PALM = { size: [0.094, 0.032, 0.098] as const, center: [0, 0, 0.049] as const, thumbHousing: { size: [0.03, 0.03, 0.05] as const, center: [0.039, -0.004, 0.035] as const } };
/** Hand masses, kg: palm with its 16 actuators, and each phalanx. */
export const HAND_MASSES = { palm: 0.9, proximal: 0.045, middle: 0.025, distal: 0.018, tip: 0.004, joint: 0.002 } as const;
