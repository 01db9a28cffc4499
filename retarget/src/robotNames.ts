/**
 * The rig's canonical names and orderings. Every other module derives its index maps from these
 * lists (once, at construction); nothing else spells out an index.
 */

export const SIDES = ['left', 'right'] as const;
export type Side = (typeof SIDES)[number];

export const FINGERS = ['thumb', 'index', 'middle', 'ring', 'little'] as const;
export type Finger = (typeof FINGERS)[number];

/** Per-hand joint suffixes in URDF/state order (21): each finger's joints, base to tip. */
export const HAND_JOINT_SUFFIXES = [
  'thumb_cmc_abd', 'thumb_cmc_flex', 'thumb_cmc_roll', 'thumb_mcp', 'thumb_ip',
  'index_mcp_abd', 'index_mcp_flex', 'index_pip', 'index_dip',
  'middle_mcp_abd', 'middle_mcp_flex', 'middle_pip', 'middle_dip',
  'ring_mcp_abd', 'ring_mcp_flex', 'ring_pip', 'ring_dip',
  'little_mcp_abd', 'little_mcp_flex', 'little_pip', 'little_dip',
] as const;

/** Per-hand active joint suffixes in action order (16): thumb 4, then index, middle, ring, little 3 each. */
export const HAND_ACTIVE_SUFFIXES = [
  'thumb_cmc_abd', 'thumb_cmc_flex', 'thumb_cmc_roll', 'thumb_mcp',
  'index_mcp_abd', 'index_mcp_flex', 'index_pip',
  'middle_mcp_abd', 'middle_mcp_flex', 'middle_pip',
  'ring_mcp_abd', 'ring_mcp_flex', 'ring_pip',
  'little_mcp_abd', 'little_mcp_flex', 'little_pip',
] as const;

/** The passive (URDF `<mimic>`) joints of each hand and the active joint each one follows. */
export const HAND_PASSIVE_SOURCES = {
  thumb_ip: 'thumb_mcp',
  index_dip: 'index_pip',
  middle_dip: 'middle_pip',
  ring_dip: 'ring_pip',
  little_dip: 'little_pip',
} as const;

export const ARM_DOF = 7;
export const HAND_DOF = HAND_JOINT_SUFFIXES.length; // 21
export const HAND_ACTIVE_DOF = HAND_ACTIVE_SUFFIXES.length; // 16

export const armJointName = (side: Side, i: number): string => `${side}_arm_joint${i + 1}`;
export const handJointName = (side: Side, suffix: string): string => `${side}_hand_${suffix}`;
/** Link whose origin is the fingertip pad-sphere centre (the point the action reports). */
export const fingertipLinkName = (side: Side, finger: Finger): string => `${side}_hand_${finger}_tip`;
/** FR3 flange link (link8 in Franka's naming). */
export const flangeLinkName = (side: Side): string => `${side}_arm_flange`;
export const armBaseLinkName = (side: Side): string => `${side}_arm_link0`;
/** The hand's root link: its origin is the wrist mount on the flange. */
export const handBaseLinkName = (side: Side): string => `${side}_hand_base`;
export const RIG_ROOT_LINK = 'base_link';

/**
 * The 56 joint positions of the robot state, in order: left arm 1–7, right arm 1–7,
 * left hand 21, right hand 21.
 */
export const STATE_JOINT_NAMES: readonly string[] = [
  ...Array.from({ length: ARM_DOF }, (_, i) => armJointName('left', i)),
  ...Array.from({ length: ARM_DOF }, (_, i) => armJointName('right', i)),
  ...HAND_JOINT_SUFFIXES.map((s) => handJointName('left', s)),
  ...HAND_JOINT_SUFFIXES.map((s) => handJointName('right', s)),
];
