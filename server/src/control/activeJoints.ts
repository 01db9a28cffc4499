/**
 * The 46 commanded ("active") joints as one vector: left arm 7, right arm 7, left hand 16, right
 * hand 16 — the layout of the retargeter's `ACTIVE_DIM` vector. Offsets, names, limits and the
 * home posture are derived from the canonical lists in `@dexbridge/retarget`, once.
 */
import {
  ACTIVE_DIM, ARM_DOF, armHome, armJointName, HAND_ACTIVE_DOF, HAND_ACTIVE_SUFFIXES, handJointName, type Rig, SIDES, type Side,
} from '@dexbridge/retarget';

export type ActiveGroupKey = `${Side}${'Arm' | 'Hand'}`;

export interface ActiveGroup {
  readonly side: Side;
  readonly part: 'arm' | 'hand';
  /** Index of the group's first joint in the 46-vector. */
  readonly offset: number;
  readonly length: number;
}

function buildLayout(): Readonly<Record<ActiveGroupKey, ActiveGroup>> {
  const layout = {} as Record<ActiveGroupKey, ActiveGroup>;
  let offset = 0;
  for (const [part, length] of [['arm', ARM_DOF], ['hand', HAND_ACTIVE_DOF]] as const) {
    for (const side of SIDES) {
      layout[`${side}${part === 'arm' ? 'Arm' : 'Hand'}`] = Object.freeze({ side, part, offset, length });
      offset += length;
    }
  }
  if (offset !== ACTIVE_DIM) throw new Error(`control: active layout has ${offset} joints, expected ${ACTIVE_DIM}`);
  return Object.freeze(layout);
}

/** Offset and length of each group of the 46 active joints. */
export const ACTIVE_LAYOUT: Readonly<Record<ActiveGroupKey, ActiveGroup>> = buildLayout();

/** URDF names of the 46 active joints, in vector order. */
export const ACTIVE_JOINT_NAMES: readonly string[] = Object.freeze([
  ...SIDES.flatMap((side) => Array.from({ length: ARM_DOF }, (_, i) => armJointName(side, i))),
  ...SIDES.flatMap((side) => HAND_ACTIVE_SUFFIXES.map((s) => handJointName(side, s))),
]);

/** Per-joint limits of the 46 active joints, from the rig's URDF. */
export interface ActiveLimits {
  /** rad */
  readonly lower: Float64Array;
  /** rad */
  readonly upper: Float64Array;
  /** rad/s */
  readonly maxVelocity: Float64Array;
}

/** Position and velocity limits of the 46 active joints (read from the rig's arm and hand trees). */
export function activeLimits(rig: Rig): ActiveLimits {
  const lower = new Float64Array(ACTIVE_DIM);
  const upper = new Float64Array(ACTIVE_DIM);
  const maxVelocity = new Float64Array(ACTIVE_DIM);
  for (const side of SIDES) {
    const { armTree, handTree } = rig.sides[side];
    const arm = ACTIVE_LAYOUT[`${side}Arm`].offset;
    const hand = ACTIVE_LAYOUT[`${side}Hand`].offset;
    lower.set(armTree.lower, arm);
    upper.set(armTree.upper, arm);
    maxVelocity.set(armTree.maxVelocity, arm);
    lower.set(handTree.lower, hand);
    upper.set(handTree.upper, hand);
    maxVelocity.set(handTree.maxVelocity, hand);
  }
  return { lower, upper, maxVelocity };
}

/**
 * The home posture of the 46 active joints, rad: each arm at `armHome(side)` (FR3 "ready"), each
 * hand open (all joints 0, clamped into the hand's limits), written into `out`.
 * @returns `out`.
 */
export function activeHome(rig: Rig, out: Float64Array = new Float64Array(ACTIVE_DIM)): Float64Array {
  if (out.length !== ACTIVE_DIM) throw new RangeError(`control: activeHome needs ${ACTIVE_DIM} numbers, got ${out.length}`);
  for (const side of SIDES) {
    const { handTree } = rig.sides[side];
    out.set(armHome(side), ACTIVE_LAYOUT[`${side}Arm`].offset);
    const hand = ACTIVE_LAYOUT[`${side}Hand`].offset;
    for (let i = 0; i < HAND_ACTIVE_DOF; i++) out[hand + i] = Math.max(handTree.lower[i]!, Math.min(handTree.upper[i]!, 0));
  }
  return out;
}
