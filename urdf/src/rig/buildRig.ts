/**
 * Builds the rig's URDF documents (whole rig, each arm alone, each hand alone) from `rigSpec.ts`.
 * Pure string building: the same text in Node, a browser or a test.
 */
import {
  DIP_COUPLING, FR3_FLANGE_D, FR3_JOINTS, FR3_LINK_MASSES, HAND_JOINT_EFFORT, HAND_JOINT_VELOCITY, HAND_MASSES,
  IP_COUPLING, LONG_FINGERS, PALM, RIG, THUMB, TIP_RADIUS,
} from './rigSpec.js';
import { type JointSpec, type LinkSpec, type MaterialSpec, type ShapeSpec, type V3, writeUrdf } from './urdfWriter.js';

export type RigSide = 'left' | 'right';

const MATERIALS: readonly MaterialSpec[] = [
  { name: 'fr3_white', rgba: [0.92, 0.92, 0.9, 1] },
  { name: 'fr3_dark', rgba: [0.18, 0.18, 0.2, 1] },
  { name: 'rig_grey', rgba: [0.45, 0.47, 0.5, 1] },
  { name: 'hand_black', rgba: [0.12, 0.12, 0.13, 1] },
  { name: 'hand_silver', rgba: [0.7, 0.72, 0.75, 1] },
  { name: 'pad_orange', rgba: [0.95, 0.55, 0.15, 1] },
];

interface Parts {
  links: LinkSpec[];
  joints: JointSpec[];
}

const norm = (v: V3): V3 => {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
};
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** URDF rpy of the rotation whose columns are the frame axes x, y, z. */
function rpyOfAxes(x: V3, y: V3, z: V3): V3 {
  // R = [x y z]; rpy for R = Rz(yaw)·Ry(pitch)·Rx(roll).
  const r20 = x[2], r21 = y[2], r22 = z[2], r10 = x[1], r00 = x[0];
  return [Math.atan2(r21, r22), -Math.asin(Math.max(-1, Math.min(1, r20))), Math.atan2(r10, r00)];
}

/** A cylinder from the frame origin to point `to`. */
function bone(to: V3, radius: number, material: string): ShapeSpec {
  const length = Math.hypot(to[0], to[1], to[2]);
  const d = norm(to);
  return {
    geom: { cylinder: { radius, length } },
    xyz: [to[0] / 2, to[1] / 2, to[2] / 2],
    rpy: [0, Math.acos(Math.max(-1, Math.min(1, d[2]))), Math.atan2(d[1], d[0])],
    material,
  };
}

function armParts(side: RigSide, parent: string | undefined): Parts {
  const p = `${side}_arm`;
  const links: LinkSpec[] = [];
  const joints: JointSpec[] = [];
  if (parent !== undefined) {
    joints.push({ name: `${p}_mount`, type: 'fixed', parent, child: `${p}_link0`, xyz: side === 'left' ? RIG.leftArmBase : RIG.rightArmBase, rpy: [0, 0, 0] });
  }
  for (let i = 0; i <= 7; i++) {
    const next: V3 = i < 7 ? FR3_JOINTS[i]!.xyz : [0, 0, FR3_FLANGE_D];
    const shapes: ShapeSpec[] = [
      i === 0
        ? { geom: { cylinder: { radius: 0.075, length: 0.14 } }, xyz: [0, 0, 0.07], material: 'fr3_white' }
        : { geom: { cylinder: { radius: 0.06, length: 0.12 } }, material: i % 2 === 0 ? 'fr3_white' : 'fr3_dark' },
    ];
    if (Math.hypot(...next) > 1e-9) shapes.push(bone(next, i === 7 ? 0.045 : 0.055, 'fr3_white'));
    links.push({ name: `${p}_link${i}`, shapes, massKg: FR3_LINK_MASSES[i]! });
  }
  links.push({ name: `${p}_flange`, shapes: [{ geom: { cylinder: { radius: 0.0315, length: 0.006 } }, xyz: [0, 0, -0.003], material: 'fr3_dark' }], massKg: FR3_LINK_MASSES[8] });
  FR3_JOINTS.forEach((j, i) => {
    joints.push({
      name: `${p}_joint${i + 1}`, type: 'revolute', parent: `${p}_link${i}`, child: `${p}_link${i + 1}`,
      xyz: j.xyz, rpy: [j.roll, 0, 0], axis: [0, 0, 1],
      limit: { lower: j.lower, upper: j.upper, velocity: j.velocity, effort: j.effort },
    });
  });
  joints.push({ name: `${p}_joint8`, type: 'fixed', parent: `${p}_link7`, child: `${p}_flange`, xyz: [0, 0, FR3_FLANGE_D], rpy: [0, 0, 0] });
  return { links, joints };
}

/** Mirror through the hand's x = 0 plane: positions (−x, y, z); rotations and axes as pseudo-vectors. */
const mirrorXyz = (v: V3): V3 => [-v[0], v[1], v[2]];
const mirrorRpy = (v: V3): V3 => [v[0], -v[1], -v[2]];
const mirrorAxis = (v: V3): V3 => [v[0], -v[1], -v[2]];

function mirrorParts(parts: Parts): Parts {
  return {
    links: parts.links.map((l) => ({
      ...l,
      shapes: l.shapes.map((s) => ({ ...s, xyz: mirrorXyz(s.xyz ?? [0, 0, 0]), rpy: mirrorRpy(s.rpy ?? [0, 0, 0]) })),
    })),
    joints: parts.joints.map((j) => ({
      ...j,
      xyz: mirrorXyz(j.xyz),
      rpy: mirrorRpy(j.rpy),
      ...(j.axis ? { axis: mirrorAxis(j.axis) } : {}),
    })),
  };
}

const tinyLink = (name: string): LinkSpec => ({ name, shapes: [{ geom: { sphere: 0.004 }, material: 'hand_silver' }], massKg: HAND_MASSES.joint });

function revolute(name: string, parent: string, child: string, xyz: V3, rpy: V3, axis: V3, range: readonly [number, number], effort: number, mimic?: { joint: string; multiplier: number }): JointSpec {
  const m = mimic?.multiplier ?? 1;
  const lo = mimic ? Math.min(range[0] * m, range[1] * m) : range[0];
  const hi = mimic ? Math.max(range[0] * m, range[1] * m) : range[1];
  return {
    name, type: 'revolute', parent, child, xyz, rpy, axis,
    limit: { lower: lo, upper: hi, velocity: HAND_JOINT_VELOCITY * Math.abs(m), effort },
    ...(mimic ? { mimic: { joint: mimic.joint, multiplier: mimic.multiplier, offset: 0 } } : {}),
  };
}

/** The right hand, built in its own frame; the left is its mirror. */
function rightHandParts(p: string, parent: string | undefined): Parts {
  const links: LinkSpec[] = [];
  const joints: JointSpec[] = [];
  const base = `${p}_base`;
  const palm = `${p}_palm`;
  links.push({ name: base, shapes: [{ geom: { cylinder: { radius: 0.0315, length: RIG.handAdapterLength } }, xyz: [0, 0, -RIG.handAdapterLength / 2], material: 'hand_silver' }], massKg: 0.05 });
  links.push({
    name: palm,
    shapes: [
      { geom: { box: PALM.size }, xyz: PALM.center, material: 'hand_black' },
      { geom: { box: PALM.thumbHousing.size }, xyz: PALM.thumbHousing.center, material: 'hand_black' },
    ],
    massKg: HAND_MASSES.palm,
  });
  joints.push({ name: `${p}_palm_joint`, type: 'fixed', parent: base, child: palm, xyz: [0, 0, 0], rpy: [0, 0, 0] });
  if (parent !== undefined) {
    joints.unshift({ name: `${p}_mount`, type: 'fixed', parent, child: base, xyz: [0, 0, RIG.handAdapterLength], rpy: [0, 0, RIG.handMountYaw] });
  }

  // Thumb: CMC universal joint (abduction about the frame's y, flexion about x), a roll about the
  // metacarpal, the MCP, and the IP coupled to the MCP.
  const z = norm(THUMB.restDirection);
  const f0 = THUMB.flexDirection;
  const m = norm([f0[0] - dot(f0, z) * z[0], f0[1] - dot(f0, z) * z[1], f0[2] - dot(f0, z) * z[2]]);
  const y: V3 = [-m[0], -m[1], -m[2]];
  const x = cross(y, z);
  const t = `${p}_thumb`;
  const [lm, lp, ld] = THUMB.lengths;
  const r = THUMB.radius;
  links.push(tinyLink(`${t}_cmc_link1`), tinyLink(`${t}_cmc_link2`));
  links.push({ name: `${t}_metacarpal`, shapes: [bone([0, 0, lm], r, 'hand_silver')], massKg: HAND_MASSES.proximal });
  links.push({ name: `${t}_proximal`, shapes: [bone([0, 0, lp], r * 0.95, 'hand_black')], massKg: HAND_MASSES.middle });
  links.push({ name: `${t}_distal`, shapes: [bone([0, 0, ld], r * 0.9, 'hand_black')], massKg: HAND_MASSES.distal });
  links.push({ name: `${t}_tip`, shapes: [{ geom: { sphere: TIP_RADIUS.thumb }, material: 'pad_orange' }], massKg: HAND_MASSES.tip });
  const e = HAND_JOINT_EFFORT.thumb;
  joints.push(
    revolute(`${t}_cmc_abd`, palm, `${t}_cmc_link1`, THUMB.cmc, rpyOfAxes(x, y, z), [0, 1, 0], THUMB.cmcAbd, e),
    revolute(`${t}_cmc_flex`, `${t}_cmc_link1`, `${t}_cmc_link2`, [0, 0, 0], [0, 0, 0], [1, 0, 0], THUMB.cmcFlex, e),
    revolute(`${t}_cmc_roll`, `${t}_cmc_link2`, `${t}_metacarpal`, [0, 0, 0], [0, 0, 0], [0, 0, 1], THUMB.cmcRoll, e),
    revolute(`${t}_mcp`, `${t}_metacarpal`, `${t}_proximal`, [0, 0, lm], [0, 0, 0], [1, 0, 0], THUMB.mcp, e),
    revolute(`${t}_ip`, `${t}_proximal`, `${t}_distal`, [0, 0, lp], [0, 0, 0], [1, 0, 0], THUMB.mcp, e, { joint: `${t}_mcp`, multiplier: IP_COUPLING }),
    { name: `${t}_tip_joint`, type: 'fixed', parent: `${t}_distal`, child: `${t}_tip`, xyz: [0, 0, ld], rpy: [0, 0, 0] },
  );

  for (const [finger, s] of Object.entries(LONG_FINGERS)) {
    const n = `${p}_${finger}`;
    const [l1, l2, l3] = s.lengths;
    links.push(tinyLink(`${n}_mcp_link`));
    links.push({ name: `${n}_proximal`, shapes: [bone([0, 0, l1], s.radius, 'hand_silver')], massKg: HAND_MASSES.proximal });
    links.push({ name: `${n}_middle`, shapes: [bone([0, 0, l2], s.radius * 0.95, 'hand_black')], massKg: HAND_MASSES.middle });
    links.push({ name: `${n}_distal`, shapes: [bone([0, 0, l3], s.radius * 0.9, 'hand_black')], massKg: HAND_MASSES.distal });
    const tipR = TIP_RADIUS[finger as keyof typeof TIP_RADIUS];
    links.push({ name: `${n}_tip`, shapes: [{ geom: { sphere: tipR }, material: 'pad_orange' }], massKg: HAND_MASSES.tip });
    joints.push(
      revolute(`${n}_mcp_abd`, palm, `${n}_mcp_link`, s.mcp, [0, s.splay, 0], [0, 1, 0], s.abd, HAND_JOINT_EFFORT.abd),
      revolute(`${n}_mcp_flex`, `${n}_mcp_link`, `${n}_proximal`, [0, 0, 0], [0, 0, 0], [1, 0, 0], s.flex, HAND_JOINT_EFFORT.flex),
      revolute(`${n}_pip`, `${n}_proximal`, `${n}_middle`, [0, 0, l1], [0, 0, 0], [1, 0, 0], s.pip, HAND_JOINT_EFFORT.pip),
      revolute(`${n}_dip`, `${n}_middle`, `${n}_distal`, [0, 0, l2], [0, 0, 0], [1, 0, 0], s.pip, HAND_JOINT_EFFORT.pip, { joint: `${n}_pip`, multiplier: DIP_COUPLING }),
      { name: `${n}_tip_joint`, type: 'fixed', parent: `${n}_distal`, child: `${n}_tip`, xyz: [0, 0, l3], rpy: [0, 0, 0] },
    );
  }
  return { links, joints };
}

function handParts(side: RigSide, parent: string | undefined): Parts {
  const parts = rightHandParts(`${side}_hand`, parent);
  if (side === 'right') return parts;
  // The mirrored FR3 (−q1, q2, −q3, q4, −q5, q6, −q7) reflects the flange frame through a plane
  // that contains the flange's x axis, so the mirror of a mount yaw ψ is π − ψ. With it the whole
  // left side is the mirror image of the right.
  const mirrored = mirrorParts(parts);
  const yaw = Math.atan2(Math.sin(Math.PI - RIG.handMountYaw), Math.cos(Math.PI - RIG.handMountYaw));
  return { links: mirrored.links, joints: mirrored.joints.map((j) => (j.name.endsWith('_hand_mount') ? { ...j, rpy: [0, 0, yaw] } : j)) };
}

const HEADER = 'Generated by `npm run urdf:generate` from urdf/src/rig/rigSpec.ts; see docs/robot.md. Do not edit by hand.';

/** The whole rig: pedestal, two FR3 arms, a 21-DoF hand on each flange (56 movable joints, 10 of them mimic). */
export function rigUrdf(): string {
  const links: LinkSpec[] = [{ name: 'base_link', shapes: [{ geom: { box: RIG.pedestalSize }, xyz: [0, 0, RIG.pedestalSize[2] / 2], material: 'rig_grey' }], massKg: RIG.pedestalMassKg }];
  const joints: JointSpec[] = [];
  for (const side of ['left', 'right'] as const) {
    const arm = armParts(side, 'base_link');
    const hand = handParts(side, `${side}_arm_flange`);
    links.push(...arm.links, ...hand.links);
    joints.push(...arm.joints, ...hand.joints);
  }
  return writeUrdf('dexbridge_rig', HEADER, MATERIALS, links, joints);
}

/** One FR3 arm alone, rooted at `<side>_arm_link0`. */
export function armUrdf(side: RigSide): string {
  const arm = armParts(side, undefined);
  return writeUrdf(`dexbridge_${side}_arm`, HEADER, MATERIALS, arm.links, arm.joints);
}

/** One hand alone, rooted at `<side>_hand_base` (the wrist mount). */
export function handUrdf(side: RigSide): string {
  const hand = handParts(side, undefined);
  return writeUrdf(`dexbridge_${side}_hand`, HEADER, MATERIALS, hand.links, hand.joints);
}

/** Every URDF file the package ships: file name → text. */
export function allUrdfFiles(): Record<string, string> {
  return {
    'dexbridge_rig.urdf': rigUrdf(),
    'left_arm.urdf': armUrdf('left'),
    'right_arm.urdf': armUrdf('right'),
    'left_hand.urdf': handUrdf('left'),
    'right_hand.urdf': handUrdf('right'),
  };
}
