import { ACTION_INDEX, activeArmOffset, activeHandOffset, createRig, FINGERS, SIDES, STATE_JOINT_NAMES, StateAssembler } from '@dexbridge/retarget';
import { parseUrdf, rigUrdf } from '@dexbridge/urdf';
import { Quaternion, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { poseFromAction, RobotRig } from '../src/robot/RobotRig.js';

const model = parseUrdf(rigUrdf());
const limit = (name: string) => model.jointByName.get(name)!.limit!;

/** 46 active joints inside their limits, varied by `seed`. */
function activeJoints(seed: number): Float64Array {
  const q = new Float64Array(46);
  const wave = (i: number): number => 0.5 + 0.4 * Math.sin(seed * 31.7 + i * 7.3);
  for (const side of SIDES) {
    for (let i = 0; i < 7; i++) {
      const lim = limit(`${side}_arm_joint${i + 1}`);
      q[activeArmOffset(side) + i] = lim.lower + (lim.upper - lim.lower) * wave(activeArmOffset(side) + i);
    }
    for (let i = 0; i < 16; i++) q[activeHandOffset(side) + i] = 0.3 * wave(activeHandOffset(side) + i);
  }
  return q;
}

const linkInBase = (rig: RobotRig, link: string): Vector3 => rig.base.worldToLocal(rig.links.get(link)!.getWorldPosition(new Vector3()));

describe('RobotRig', () => {
  it('draws the kinematics the retargeting computes: fingertips and flanges where the 88-dim action puts them', () => {
    const assembler = new StateAssembler(createRig());
    const q56 = new Float64Array(56);
    const action = new Float32Array(88);
    for (let seed = 1; seed <= 5; seed++) {
      assembler.assemble(activeJoints(seed), q56, action);
      const rig = new RobotRig(model);
      rig.setJoints(STATE_JOINT_NAMES, q56);
      rig.root.updateMatrixWorld(true);
      const fromAction = new RobotRig(model);
      poseFromAction(fromAction, action); // active joints only; the mimic joints derived
      fromAction.root.updateMatrixWorld(true);
      for (const side of SIDES) {
        for (const f of FINGERS) {
          const ix = ACTION_INDEX.get(`${side}_fingertip_${f}_x`)!;
          const expected = new Vector3(action[ix], action[ix + 1], action[ix + 2]);
          expect(linkInBase(rig, `${side}_hand_${f}_tip`).distanceTo(expected)).toBeLessThan(1e-5);
          expect(linkInBase(fromAction, `${side}_hand_${f}_tip`).distanceTo(expected)).toBeLessThan(1e-5);
        }
        const fx = ACTION_INDEX.get(`${side}_flange_x`)!;
        expect(linkInBase(rig, `${side}_arm_flange`).distanceTo(new Vector3(action[fx], action[fx + 1], action[fx + 2]))).toBeLessThan(1e-5);
      }
    }
  });

  it('stands up in a y-up scene: base_link z is three.js y', () => {
    const rig = new RobotRig(model);
    rig.root.updateMatrixWorld(true);
    const up = new Vector3(0, 0, 1).applyQuaternion(rig.base.getWorldQuaternion(new Quaternion()));
    expect(up.y).toBeCloseTo(1, 9);
  });

  it('tints arm joints near a limit and leaves the hands (at their limits by design) alone', () => {
    const rig = new RobotRig(model);
    const q = new Float64Array(56); // hand joints at 0: many at their lower limit
    for (let i = 0; i < 14; i++) {
      const lim = limit(STATE_JOINT_NAMES[i]!);
      q[i] = (lim.lower + lim.upper) / 2;
    }
    expect(rig.highlightNearLimits(STATE_JOINT_NAMES, q)).toBe(0);
    q[0] = limit('left_arm_joint1').upper;
    expect(rig.highlightNearLimits(STATE_JOINT_NAMES, q)).toBe(1);
  });
});
