/** Retargeter.seedArm: telling the retargeting where an arm really is (e.g. the robot's measured joints). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ARM_DOF, activeArmOffset, armHome, createRig, type HandFrame, parseHandFramesJsonl, Retargeter } from '../src/index.js';

const rig = createRig();
const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);
const armOf = (rt: Retargeter, side: 'left' | 'right'): number[] => Array.from(rt.output.q.subarray(side === 'left' ? 0 : ARM_DOF, side === 'left' ? ARM_DOF : 2 * ARM_DOF));

describe('Retargeter.seedArm', () => {
  it('holds the arm where it was seeded, and the next engage anchors there: a still hand moves nothing', () => {
    const rt = new Retargeter(rig);
    const seed = Array.from(armHome('left'), (v, i) => v + (i === 0 ? 0.4 : i === 3 ? -0.3 : 0));
    rt.seedArm('left', seed);
    for (let i = 0; i < ARM_DOF; i++) expect(armOf(rt, 'left')[i]).toBeCloseTo(seed[i]!, 12);
    rt.engage('left');
    const f = frames[30]!;
    for (let k = 0; k < 60; k++) rt.process({ tMs: 1000 + 11 * k, left: f.left, right: f.right });
    expect(rt.engaged('left')).toBe(true);
    const arm = armOf(rt, 'left');
    for (let i = 0; i < ARM_DOF; i++) expect(Math.abs(arm[i]! - seed[i]!)).toBeLessThan(1e-3);
    expect(activeArmOffset('left')).toBe(0);
  });

  it('refuses a seed that is not 7 finite joints', () => {
    const rt = new Retargeter(rig);
    expect(() => rt.seedArm('right', [0, 0, 0])).toThrow(RangeError);
    expect(() => rt.seedArm('right', [0, 0, 0, -1, 0, 1, Number.NaN])).toThrow(/joint 6/);
  });
});
