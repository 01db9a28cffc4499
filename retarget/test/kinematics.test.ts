import { parseUrdf } from '@dexbridge/urdf';
import { describe, expect, it } from 'vitest';
import { KinematicsError, KinematicTree } from '../src/kinematics/KinematicTree.js';
import { POSE_STRIDE, rotationVectorOfMatrix } from '../src/math/pose.js';
import { createRig } from '../src/rig.js';
import { FINGERS, HAND_JOINT_SUFFIXES, HAND_PASSIVE_SOURCES, SIDES, type Side, handJointName } from '../src/robotNames.js';
import { mulberry32, randomJoints } from '../../test/support/random.js';

const rig = createRig();

const rng = mulberry32;

const randomQ = randomJoints;

/** Largest absolute element-wise difference. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const link = (name: string): string => `<link name="${name}"/>`;
function joint(name: string, type: string, parent: string, child: string, extra = ''): string {
  return `<joint name="${name}" type="${type}"><parent link="${parent}"/><child link="${child}"/>${extra}</joint>`;
}

const poseOf = (tree: KinematicTree, link: number): number[] => Array.from(tree.poses.subarray(link * POSE_STRIDE, (link + 1) * POSE_STRIDE));

// ---------------------------------------------------------------------------------------------
// Reference FR3 kinematics, written here from the docs/robot.md table (Craig's modified DH), with no
// code from src: T_i = RotX(alpha_i)·TransX(a_i)·RotZ(q_i)·TransZ(d_i), then the flange TransZ(0.107).
// ---------------------------------------------------------------------------------------------

const HALF_PI = Math.PI / 2;
/** [a (m), d (m), alpha (rad)] of joints 1..7, as in docs/robot.md. */
const FR3_DH: readonly (readonly [number, number, number])[] = [
  [0, 0.333, 0],
  [0, 0, -HALF_PI],
  [0, 0.316, HALF_PI],
  [0.0825, 0, HALF_PI],
  [-0.0825, 0.384, -HALF_PI],
  [0, 0, HALF_PI],
  [0.088, 0, HALF_PI],
];
const FR3_FLANGE_D = 0.107;

/** 3×4 row-major [R | t] as 12 numbers in the pose layout: R row-major (0–8), then t (9–11). */
type Pose = number[];

function compose(a: Pose, b: Pose): Pose {
  const r: Pose = new Array<number>(12).fill(0);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) r[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
    r[9 + i] = a[i * 3]! * b[9]! + a[i * 3 + 1]! * b[10]! + a[i * 3 + 2]! * b[11]! + a[9 + i]!;
  }
  return r;
}

/** Craig's link transform RotX(alpha)·TransX(a)·RotZ(theta)·TransZ(d). */
function craig(a: number, d: number, alpha: number, theta: number): Pose {
  const ct = Math.cos(theta), st = Math.sin(theta), ca = Math.cos(alpha), sa = Math.sin(alpha);
  return [ct, -st, 0, st * ca, ct * ca, -sa, st * sa, ct * sa, ca, a, -sa * d, ca * d];
}

/** Poses of link1..link7 and the flange in link0, for joint angles q. */
function fr3Dh(q: ArrayLike<number>, alphaOf: (alpha: number) => number = (x) => x): Pose[] {
  let t: Pose = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
  const out: Pose[] = [];
  FR3_DH.forEach(([a, d, alpha], i) => {
    t = compose(t, craig(a, d, alphaOf(alpha), q[i]!));
    out.push(t);
  });
  out.push(compose(t, craig(0, FR3_FLANGE_D, 0, 0)));
  return out;
}

describe('FR3 forward kinematics', () => {
  for (const side of SIDES) {
    const tree = rig.sides[side].armTree;
    const flange = tree.linkIndex(`${side}_arm_flange`);

    it(`${side}: flange at zero joints is (0.088, 0, 0.926) m with rotation diag(1, −1, −1)`, () => {
      tree.fk(new Float64Array(7));
      // 1e-9: the URDF stores π/2 as 1.570796327 (2e-10 off), see the DH comparison below.
      expect(maxDiff(poseOf(tree, flange), [1, 0, 0, 0, -1, 0, 0, 0, -1, 0.088, 0, 0.926])).toBeLessThan(1e-9);
    });

    it(`${side}: q4 = −π/2 (others 0) puts the flange at (0.3595, 0, 0.6435) pointing along −x`, () => {
      // By hand: joint 4 sits at (0.0825, 0, 0.649) with axis −y; q4 = −π/2 is +π/2 about +y, which
      // maps (x, z) → (z, −x). Flange relative to joint 4 at zero: (0.0055, 0, 0.277) → (0.277, 0, −0.0055).
      tree.fk([0, 0, 0, -HALF_PI, 0, 0, 0]);
      expect(maxDiff(poseOf(tree, flange), [0, 0, -1, 0, -1, 0, -1, 0, 0, 0.3595, 0, 0.6435])).toBeLessThan(1e-9);
    });

    it(`${side}: the 'ready' pose [0, −π/4, 0, −3π/4, 0, π/2, π/4] puts the flange at (0.3069, 0, 0.5903)`, () => {
      // By hand (planar chain in x–z): x = (0.0825 − 0.316)/√2 + 0.384 + 0.088, z = 0.333 +
      // (0.0825 + 0.316)/√2 + 0.0825 − 0.107. Franka's often-quoted (0.307, 0, 0.487) is the hand's
      // TCP, 0.1034 m further along the flange z (which points down here), not the flange.
      const x = (0.0825 - 0.316) / Math.SQRT2 + 0.472;
      const z = 0.333 + (0.0825 + 0.316) / Math.SQRT2 - 0.0245;
      const c = Math.SQRT1_2;
      tree.fk([0, -Math.PI / 4, 0, (-3 * Math.PI) / 4, 0, HALF_PI, Math.PI / 4]);
      expect(maxDiff(poseOf(tree, flange), [c, -c, 0, -c, -c, 0, 0, 0, -1, x, 0, z])).toBeLessThan(1e-9);
      expect(x).toBeCloseTo(0.30689, 5);
      expect(z).toBeCloseTo(0.59028, 5);
      expect(z - 0.1034).toBeCloseTo(0.487, 3);
    });

    it(`${side}: every link pose agrees with the modified-DH chain for 200 random configurations, to the URDF's rounding`, () => {
      // The generated URDF writes angles with 9 decimals (π/2 as 1.570796327, 2e-10 rad off) but
      // exact translations, so no DH chain reproduces it to 1e-12; the test below does, on a
      // full-precision URDF of the same table.
      const next = rng(side === 'left' ? 11 : 12);
      const links = [1, 2, 3, 4, 5, 6, 7].map((i) => tree.linkIndex(`${side}_arm_link${i}`));
      links.push(flange);
      let worst = 0;
      for (let k = 0; k < 200; k++) {
        const q = randomQ(tree, next);
        tree.fk(q);
        const ref = fr3Dh(q);
        links.forEach((link, i) => { worst = Math.max(worst, maxDiff(poseOf(tree, link), ref[i]!)); });
      }
      expect(worst).toBeLessThan(3e-9);
    });
  }

  it('KinematicTree equals the modified-DH chain to 1e-12 on a full-precision URDF of the docs/robot.md table (200 random configurations)', () => {
    // Craig's T = RotX(α)·TransX(a)·RotZ(θ)·TransZ(d) = Trans(a, −d·sin α, d·cos α)·RotX(α)·RotZ(θ):
    // a URDF joint with that origin, rpy (α, 0, 0) and axis z.
    const joints = FR3_DH.map(([a, d, alpha], i) => joint(`j${i + 1}`, 'revolute', `link${i}`, `link${i + 1}`,
      `<origin xyz="${a} ${-d * Math.sin(alpha)} ${d * Math.cos(alpha)}" rpy="${alpha} 0 0"/><axis xyz="0 0 1"/><limit lower="-7" upper="7" velocity="1" effort="1"/>`));
    joints.push(joint('j8', 'fixed', 'link7', 'flange', `<origin xyz="0 0 ${FR3_FLANGE_D}"/>`));
    const text = `<robot name="fr3">${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => link(`link${i}`)).join('')}${link('flange')}${joints.join('')}</robot>`;
    const tree = new KinematicTree(parseUrdf(text), { root: 'link0', variables: ['j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7'] });
    const limits = rig.sides.left.armTree;
    const links = ['link1', 'link2', 'link3', 'link4', 'link5', 'link6', 'link7', 'flange'].map((name) => tree.linkIndex(name));
    const next = rng(13);
    for (let k = 0; k < 200; k++) {
      const q = randomQ(limits, next);
      tree.fk(q);
      const ref = fr3Dh(q);
      links.forEach((l, i) => { expect(maxDiff(poseOf(tree, l), ref[i]!)).toBeLessThan(1e-12); });
    }
  });

  it('matches the published joint limits (docs/robot.md)', () => {
    const tree = rig.sides.right.armTree;
    expect(Array.from(tree.lower)).toEqual([-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159]);
    expect(Array.from(tree.upper)).toEqual([2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159]);
    expect(Array.from(tree.maxVelocity)).toEqual([2.62, 2.62, 2.62, 2.62, 5.26, 4.18, 5.26]);
  });
});

// ---------------------------------------------------------------------------------------------
// Jacobians against central finite differences of FK.
// ---------------------------------------------------------------------------------------------

const H = 1e-6;

/** Central-difference 6×n Jacobian of link `link`'s pose (linear rows, then angular rows), root frame. */
function numericJacobian(tree: KinematicTree, q: Float64Array, link: number, local: readonly [number, number, number] = [0, 0, 0]): Float64Array {
  const n = tree.variableCount;
  const j = new Float64Array(6 * n);
  const plus = new Float64Array(12);
  const minus = new Float64Array(12);
  const o = link * POSE_STRIDE;
  const pointOf = (p: Float64Array, i: number): number => p[i * 3]! * local[0] + p[i * 3 + 1]! * local[1] + p[i * 3 + 2]! * local[2] + p[9 + i]!;
  for (let c = 0; c < n; c++) {
    const qq = Float64Array.from(q);
    qq[c] = q[c]! + H;
    plus.set(tree.fk(qq).subarray(o, o + 12));
    qq[c] = q[c]! - H;
    minus.set(tree.fk(qq).subarray(o, o + 12));
    for (let i = 0; i < 3; i++) j[i * n + c] = (pointOf(plus, i) - pointOf(minus, i)) / (2 * H);
    // R₊·R₋ᵀ ≈ exp(2H·[ω]×): its skew part over 2 is sin(2H|ω|)·ω/|ω|, and sin x = x to O(x³).
    const m = (r: number, s: number): number => plus[r * 3]! * minus[s * 3]! + plus[r * 3 + 1]! * minus[s * 3 + 1]! + plus[r * 3 + 2]! * minus[s * 3 + 2]!;
    j[3 * n + c] = (m(2, 1) - m(1, 2)) / 2 / (2 * H);
    j[4 * n + c] = (m(0, 2) - m(2, 0)) / 2 / (2 * H);
    j[5 * n + c] = (m(1, 0) - m(0, 1)) / 2 / (2 * H);
  }
  tree.fk(q);
  return j;
}

describe('Jacobians', () => {
  for (const side of SIDES) {
    it(`${side} arm: the 6×7 geometric Jacobian of every link equals finite differences of FK`, () => {
      const tree = rig.sides[side].armTree;
      const next = rng(side === 'left' ? 21 : 22);
      const j = new Float64Array(6 * 7);
      for (let k = 0; k < 40; k++) {
        const q = randomQ(tree, next);
        for (let link = 1; link < tree.linkCount; link++) {
          tree.fk(q);
          tree.jacobian(link, j);
          const ref = numericJacobian(tree, q, link);
          expect(maxDiff(j, ref)).toBeLessThan(1e-8);
        }
      }
    });

    it(`${side} hand: fingertip point Jacobians (mimic DIP and IP included) equal finite differences`, () => {
      const s = rig.sides[side];
      const tree = s.handTree;
      const n = tree.variableCount;
      const next = rng(side === 'left' ? 31 : 32);
      const jp = new Float64Array(3 * n);
      for (let k = 0; k < 40; k++) {
        const q = randomQ(tree, next);
        for (const tip of s.tipLinks) {
          const poses = tree.fk(q);
          const o = tip * POSE_STRIDE;
          jp.fill(0);
          tree.pointJacobian(tip, poses[o + 9]!, poses[o + 10]!, poses[o + 11]!, jp, 0);
          const ref = numericJacobian(tree, q, tip).subarray(0, 3 * n);
          expect(maxDiff(jp, ref)).toBeLessThan(1e-8);
        }
      }
    });

    it(`${side} hand: the geometric Jacobian of each distal link (angular rows carry the mimic multiplier) equals finite differences`, () => {
      const tree = rig.sides[side].handTree;
      const next = rng(side === 'left' ? 41 : 42);
      const j = new Float64Array(6 * tree.variableCount);
      const distal = FINGERS.map((f) => tree.linkIndex(`${side}_hand_${f}_distal`));
      for (let k = 0; k < 20; k++) {
        const q = randomQ(tree, next);
        for (const link of distal) {
          tree.fk(q);
          tree.jacobian(link, j);
          expect(maxDiff(j, numericJacobian(tree, q, link))).toBeLessThan(1e-8);
        }
      }
    });
  }

  it('pointJacobian of a point off the link origin equals finite differences, and adds only into the moving columns', () => {
    const s = rig.sides.right;
    const tree = s.handTree;
    const n = tree.variableCount;
    const next = rng(51);
    const local = [0.004, -0.006, 0.01] as const;
    const link = tree.linkIndex('right_hand_index_distal');
    const moving = new Set(tree.variablesMoving(link));
    expect([...moving].map((c) => tree.variableNames[c])).toEqual(['right_hand_index_mcp_abd', 'right_hand_index_mcp_flex', 'right_hand_index_pip']);
    const jp = new Float64Array(3 * n + 5);
    for (let k = 0; k < 20; k++) {
      const q = randomQ(tree, next);
      const p = tree.fk(q);
      const o = link * POSE_STRIDE;
      const pt = [0, 1, 2].map((i) => p[o + i * 3]! * local[0] + p[o + i * 3 + 1]! * local[1] + p[o + i * 3 + 2]! * local[2] + p[o + 9 + i]!) as [number, number, number];
      jp.fill(0.5);
      tree.pointJacobian(link, pt[0], pt[1], pt[2], jp, 5);
      const ref = numericJacobian(tree, q, link, local);
      expect(Array.from(jp.subarray(0, 5))).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < n; c++) {
          const got = jp[5 + r * n + c]!;
          if (moving.has(c)) expect(Math.abs(got - 0.5 - ref[r * n + c]!)).toBeLessThan(1e-8);
          else expect(got).toBe(0.5);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Mimic folding.
// ---------------------------------------------------------------------------------------------

describe('mimic folding', () => {
  for (const side of SIDES) {
    const s = rig.sides[side];
    const tree = s.handTree;

    it(`${side}: jointPositions gives DIP = 0.75 × PIP, thumb IP = 1.0 × thumb MCP, active joints as given`, () => {
      const next = rng(side === 'left' ? 61 : 62);
      const out = new Float64Array(21);
      const varIndex = (suffix: string): number => tree.variableNames.indexOf(handJointName(side, suffix));
      for (let k = 0; k < 50; k++) {
        const q = randomQ(tree, next);
        tree.jointPositions(q, s.handJointMap, out);
        HAND_JOINT_SUFFIXES.forEach((suffix, i) => {
          const source = (HAND_PASSIVE_SOURCES as Record<string, string>)[suffix];
          if (source === undefined) expect(out[i]).toBe(q[varIndex(suffix)]);
          else expect(out[i]).toBeCloseTo((source === 'thumb_mcp' ? 1.0 : 0.75) * q[varIndex(source)]!, 14);
        });
      }
    });

    it(`${side}: jointPositions writes at an offset into a Float32Array`, () => {
      const map = tree.jointIndexMap([handJointName(side, 'ring_dip'), handJointName(side, 'thumb_ip')]);
      const q = new Float64Array(16);
      q[tree.variableNames.indexOf(handJointName(side, 'ring_pip'))] = 1.2;
      q[tree.variableNames.indexOf(handJointName(side, 'thumb_mcp'))] = -0.2;
      const out = new Float32Array(4).fill(9);
      tree.jointPositions(q, map, out, 1);
      expect(Array.from(out)).toEqual([9, Math.fround(0.9), Math.fround(-0.2), 9]);
    });

    it(`${side}: FK turns each distal phalanx by the coupled angle (the folding reaches the poses)`, () => {
      const next = rng(side === 'left' ? 71 : 72);
      const rel = new Float64Array(12);
      const rv = new Float64Array(3);
      const pairs = FINGERS.map((f) => {
        const passive = handJointName(side, f === 'thumb' ? 'thumb_ip' : `${f}_dip`);
        const joint = rig.model.jointByName.get(passive)!;
        expect(joint.origin.rpy).toEqual([0, 0, 0]);
        expect(joint.mimic?.multiplier).toBe(f === 'thumb' ? 1.0 : 0.75);
        return {
          parent: tree.linkIndex(joint.parent),
          child: tree.linkIndex(joint.child),
          axis: joint.axis,
          source: tree.variableNames.indexOf(joint.mimic!.joint),
          multiplier: f === 'thumb' ? 1.0 : 0.75,
        };
      });
      for (let k = 0; k < 30; k++) {
        const q = randomQ(tree, next);
        const p = tree.fk(q);
        for (const { parent, child, axis, source, multiplier } of pairs) {
          // R_rel = R_parentᵀ·R_child
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              rel[i * 3 + j] = p[parent * 12 + i]! * p[child * 12 + j]! + p[parent * 12 + 3 + i]! * p[child * 12 + 3 + j]! + p[parent * 12 + 6 + i]! * p[child * 12 + 6 + j]!;
            }
          }
          rotationVectorOfMatrix(rv, 0, rel, 0);
          const angle = multiplier * q[source]!;
          expect(maxDiff(rv, [axis[0] * angle, axis[1] * angle, axis[2] * angle])).toBeLessThan(1e-12);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// A toy robot for what the rig does not have: prismatic joints and mimic offsets and chains.
// ---------------------------------------------------------------------------------------------

const limit = '<limit lower="-2" upper="2" velocity="1" effort="1"/>';
const TOY = `<robot name="toy">
  ${['base', 'l1', 'l2', 'l3', 'l4', 'l5', 'fixed_child'].map(link).join('')}
  ${joint('a', 'revolute', 'base', 'l1', `<origin xyz="0.1 0.2 0.3" rpy="0.3 -0.2 0.5"/><axis xyz="0 1 1"/>${limit}`)}
  ${joint('slide', 'prismatic', 'l1', 'l2', `<origin xyz="0 0.1 0" rpy="0.4 0.1 0"/><axis xyz="1 0 0"/>${limit}`)}
  ${joint('b', 'revolute', 'l2', 'l3', `<origin xyz="0.2 0 0.05" rpy="0 0.7 0"/><axis xyz="0 0 1"/>${limit}<mimic joint="a" multiplier="-0.5" offset="0.3"/>`)}
  ${joint('c', 'prismatic', 'l3', 'l4', `<origin xyz="0 0 0.1"/><axis xyz="0 1 0"/>${limit}<mimic joint="slide" multiplier="2" offset="-0.05"/>`)}
  ${joint('d', 'revolute', 'l4', 'l5', `<origin xyz="0.05 0 0"/><axis xyz="1 0 0"/>${limit}<mimic joint="b" multiplier="3" offset="0.1"/>`)}
  ${joint('weld', 'fixed', 'l5', 'fixed_child', '<origin xyz="0.1 0 0"/>')}
</robot>`;

describe('toy robot: prismatic joints, mimic offsets, a mimic of a mimic', () => {
  const model = parseUrdf(TOY);
  const tree = new KinematicTree(model, { variables: ['a', 'slide'] });

  it('folds offsets and a mimic of a mimic into jointPositions', () => {
    const out = new Float64Array(4);
    tree.jointPositions([0.4, 0.2], tree.jointIndexMap(['a', 'b', 'c', 'd']), out);
    const b = -0.5 * 0.4 + 0.3;
    expect(maxDiff(out, [0.4, b, 2 * 0.2 - 0.05, 3 * b + 0.1])).toBeLessThan(1e-15);
  });

  it('point and geometric Jacobians equal finite differences, through prismatic and offset mimic joints', () => {
    const next = rng(81);
    const j = new Float64Array(12);
    for (let k = 0; k < 50; k++) {
      const q = Float64Array.from([4 * next() - 2, 4 * next() - 2]);
      for (let l = 1; l < tree.linkCount; l++) {
        tree.fk(q);
        tree.jacobian(l, j);
        expect(maxDiff(j, numericJacobian(tree, q, l))).toBeLessThan(1e-8);
      }
    }
  });

  it('follows a mimic chain three levels deep', () => {
    const chain = parseUrdf(TOY.replace('</robot>', `${link('l6')}${joint('e', 'revolute', 'fixed_child', 'l6', `<axis xyz="0 0 1"/>${limit}<mimic joint="d" multiplier="2"/>`)}</robot>`));
    const t = new KinematicTree(chain, { variables: ['a', 'slide'] });
    const out = new Float64Array(1);
    t.jointPositions([0.4, 0.2], t.jointIndexMap(['e']), out);
    expect(out[0]).toBeCloseTo(2 * (3 * (-0.5 * 0.4 + 0.3) + 0.1), 14);
  });

  it('holds movable joints that are neither variables nor mimic at zero', () => {
    const partial = new KinematicTree(model, { variables: ['a'] });
    const out = new Float64Array(2);
    partial.jointPositions([0.7], partial.jointIndexMap(['slide', 'c']), out);
    expect(Array.from(out)).toEqual([0, -0.05]);
  });
});

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

/** Runs `fn`, which must throw a KinematicsError, and returns it. */
function kinematicsErrorOf(fn: () => unknown): KinematicsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KinematicsError) return error;
    throw error;
  }
  return expect.fail('expected a KinematicsError');
}

describe('errors', () => {
  const model = rig.model;
  const armVars = (side: Side): string[] => [1, 2, 3, 4, 5, 6, 7].map((i) => `${side}_arm_joint${i}`);

  it('KIN_UNKNOWN_LINK for an unknown root', () => {
    const e = kinematicsErrorOf(() => new KinematicTree(model, { root: 'no_such_link', variables: [] }));
    expect(e.code).toBe('KIN_UNKNOWN_LINK');
    expect(e.name).toBe('KinematicsError');
    expect(e.message).toMatch(/^kinematics: .*"no_such_link"/);
  });

  it('KIN_UNKNOWN_LINK for an unknown tip, and for a tip that is not below the root', () => {
    const unknown = kinematicsErrorOf(() => new KinematicTree(model, { root: 'left_arm_link0', tips: ['nope_tip'], variables: [] }));
    expect(unknown.code).toBe('KIN_UNKNOWN_LINK');
    expect(unknown.message).toContain('"nope_tip"');
    const elsewhere = kinematicsErrorOf(() => new KinematicTree(model, { root: 'left_arm_link0', tips: ['right_arm_flange'], variables: armVars('left') }));
    expect(elsewhere.code).toBe('KIN_UNKNOWN_LINK');
    expect(elsewhere.message).toContain('"right_arm_flange"');
  });

  it('KIN_UNKNOWN_LINK from linkIndex for a link outside the tree', () => {
    const tree = rig.sides.left.armTree;
    const e = kinematicsErrorOf(() => tree.linkIndex('right_arm_flange'));
    expect(e.code).toBe('KIN_UNKNOWN_LINK');
    expect(e.message).toContain('"left_arm_link0"');
  });

  it('KIN_UNKNOWN_JOINT for an unknown variable and from jointIndexMap for a joint outside the tree', () => {
    const e = kinematicsErrorOf(() => new KinematicTree(model, { root: 'left_arm_link0', variables: [...armVars('left'), 'left_arm_joint9'] }));
    expect(e.code).toBe('KIN_UNKNOWN_JOINT');
    expect(e.message).toContain('"left_arm_joint9"');
    const map = kinematicsErrorOf(() => rig.sides.left.handTree.jointIndexMap(['left_hand_index_pip', 'right_hand_index_pip']));
    expect(map.code).toBe('KIN_UNKNOWN_JOINT');
    expect(map.message).toContain('"right_hand_index_pip"');
  });

  it('KIN_NOT_A_VARIABLE for a mimic or a fixed joint as a variable', () => {
    const mimic = kinematicsErrorOf(() => new KinematicTree(model, { root: 'right_hand_base', variables: ['right_hand_index_dip'] }));
    expect(mimic.code).toBe('KIN_NOT_A_VARIABLE');
    expect(mimic.message).toContain('mimic');
    const fixed = kinematicsErrorOf(() => new KinematicTree(model, { root: 'left_arm_link0', variables: ['left_arm_joint8'] }));
    expect(fixed.code).toBe('KIN_NOT_A_VARIABLE');
    expect(fixed.message).toContain('fixed');
  });

  it('KIN_UNSUPPORTED_JOINT for a floating or planar joint in the tree', () => {
    for (const type of ['floating', 'planar']) {
      const m = parseUrdf(`<robot name="f">${link('a')}${link('b')}${joint('j', type, 'a', 'b')}</robot>`);
      const e = kinematicsErrorOf(() => new KinematicTree(m, { variables: [] }));
      expect(e.code).toBe('KIN_UNSUPPORTED_JOINT');
      expect(e.message).toContain(type);
    }
  });
});
