/**
 * From the 88-dim action to the 46 active joints, so the safety gate can check a policy's (or a
 * recording's) actions like the retargeter's.
 */
import { ACTION_DIM, ACTION_LAYOUT, ACTIVE_DIM } from '@dexbridge/retarget';
import { ACTIVE_LAYOUT, type ActiveGroupKey } from './activeJoints.js';

const GROUPS: readonly ActiveGroupKey[] = ['leftArm', 'rightArm', 'leftHand', 'rightHand'];

/** For each of the 46 active joints, its index in the 88-dim action (computed once). */
export const ACTION_INDEX_OF_ACTIVE: Int32Array = (() => {
  const map = new Int32Array(ACTIVE_DIM).fill(-1);
  for (const key of GROUPS) {
    const active = ACTIVE_LAYOUT[key];
    const action = ACTION_LAYOUT[key];
    if (action.length !== active.length) {
      throw new Error(`control: action group ${key} has ${action.length} entries, active group ${active.length}`);
    }
    for (let i = 0; i < active.length; i++) map[active.offset + i] = action.offset + i;
  }
  if (map.includes(-1)) throw new Error('control: the active layout does not cover all 46 joints');
  return map;
})();

/**
 * Copies the joint entries of an action (arm joints and active hand joints, rad) into the 46
 * active joints `out` (left arm, right arm, left hand, right hand). The flange poses and
 * fingertips of the action are not read: they follow from the joints by forward kinematics.
 * Allocation-free; `out` must not alias `action`.
 * @returns `out`.
 * @throws RangeError if `action` is not 88 numbers or `out` not 46.
 */
export function activeFromAction<T extends Float64Array | Float32Array>(action: ArrayLike<number>, out: T): T {
  if (action.length !== ACTION_DIM) throw new RangeError(`control: activeFromAction needs an action of ${ACTION_DIM} numbers, got ${action.length}`);
  if (out.length !== ACTIVE_DIM) throw new RangeError(`control: activeFromAction needs an output of ${ACTIVE_DIM} numbers, got ${out.length}`);
  const map = ACTION_INDEX_OF_ACTIVE;
  for (let i = 0; i < ACTIVE_DIM; i++) out[i] = action[map[i]!]!;
  return out;
}
