/** A joint closer to a limit than this fraction of its range is "near the limit". */
export const NEAR_LIMIT_FRACTION = 0.03;
/** Arm joints: the ones whose limits the operator must watch (an open hand or a fist sits at its limits by design). */
export const isArmJoint = (name: string): boolean => /_arm_joint\d+$/.test(name);
