import { parseUrdf, type RobotModel, rigUrdf } from '@dexbridge/urdf';
import { KinematicTree } from './kinematics/KinematicTree.js';
import { POSE_STRIDE } from './math/pose.js';
import {
  ARM_DOF, FINGERS, HAND_ACTIVE_SUFFIXES, HAND_JOINT_SUFFIXES, RIG_ROOT_LINK, type Side,
  armBaseLinkName, armJointName, fingertipLinkName, flangeLinkName, handBaseLinkName, handJointName,
} from './robotNames.js';

/** Everything the retargeting needs to know about one side of the rig, laid out once. */
export interface RigSideModel {
  readonly side: Side;
  /** FR3 chain from `<side>_arm_link0` to the flange; variables: the 7 arm joints. */
  readonly armTree: KinematicTree;
  /** The hand from `<side>_hand_base`; variables: the 16 active joints in action order. */
  readonly handTree: KinematicTree;
  /** Pose of the arm base (link0) in the rig frame (12 numbers). */
  readonly armBaseInRig: Float64Array;
  /** Pose of the hand base in the flange frame: the mount (12 numbers). */
  readonly handInFlange: Float64Array;
  /** Link indices of the five fingertip links in `handTree`, thumb first. */
  readonly tipLinks: Int32Array;
  /** Fingertip pad-sphere radii, m, thumb first (read from the tip links' sphere geometry). */
  readonly tipRadii: Float64Array;
  /** Map from the 16 hand variables to the 21 hand joint positions (mimic included). */
  readonly handJointMap: Int32Array;
  /** Length from the wrist mount to the middle fingertip centre along the fingers at zero angles, m. */
  readonly handReferenceLengthM: number;
  /**
   * Each digit's base in the hand frame at zero angles, m, 5 × xyz, thumb first: the thumb's CMC
   * and each long finger's MCP (knuckle). Fixed: the MCP joints sit on the palm.
   */
  readonly knucklesM: Float64Array;
  /** Each digit's length from its base along its links to the tip-sphere centre, m (5). */
  readonly digitLengthsM: Float64Array;
  /** Link indices in `handTree` of the intermediate points: the thumb's MCP, each long finger's PIP (5). */
  readonly midLinks: Int32Array;
  /** Phalanx radius at each intermediate point, m (5). */
  readonly midRadii: Float64Array;
  /** Long fingers' phalanx capsules: links proximal, middle, distal, tip per finger (16) and the three segment radii per finger (12), m. */
  readonly segmentLinks: Int32Array;
  readonly segmentRadii: Float64Array;
}

export interface Rig {
  readonly model: RobotModel;
  readonly sides: Readonly<Record<Side, RigSideModel>>;
  /** Limits of any joint of the rig by name. */
  jointLimit(name: string): { lower: number; upper: number; velocity: number } | undefined;
}

function fixedPose(model: RobotModel, root: string, tip: string): Float64Array {
  const tree = new KinematicTree(model, { root, tips: [tip], variables: [] });
  const poses = tree.fk([]);
  const i = tree.linkIndex(tip);
  return poses.slice(i * POSE_STRIDE, (i + 1) * POSE_STRIDE);
}

function linkRadius(model: RobotModel, link: string): number {
  const g = model.linkByName.get(link)?.collisions[0]?.geometry;
  if (g?.kind !== 'cylinder' && g?.kind !== 'capsule' && g?.kind !== 'sphere') throw new TypeError(`rig: link "${link}" has no cylinder, capsule or sphere collision geometry`);
  return g.radius;
}

function sphereRadius(model: RobotModel, link: string): number {
  const g = model.linkByName.get(link)?.collisions[0]?.geometry;
  if (g?.kind !== 'sphere') throw new TypeError(`rig: fingertip link "${link}" has no sphere collision geometry`);
  return g.radius;
}

/**
 * Builds the retargeting's view of a rig from URDF text (the bundled dexbridge rig by default).
 * Do it once: parsing and layout are not for the frame loop.
 */
export function createRig(urdfText: string = rigUrdf()): Rig {
  const model = parseUrdf(urdfText);
  const build = (side: Side): RigSideModel => {
    const armVars = Array.from({ length: ARM_DOF }, (_, i) => armJointName(side, i));
    const armTree = new KinematicTree(model, { root: armBaseLinkName(side), tips: [flangeLinkName(side)], variables: armVars });
    const handVars = HAND_ACTIVE_SUFFIXES.map((s) => handJointName(side, s));
    const handTree = new KinematicTree(model, { root: handBaseLinkName(side), variables: handVars });
    const tipNames = FINGERS.map((f) => fingertipLinkName(side, f));
    const tipLinks = Int32Array.from(tipNames, (n) => handTree.linkIndex(n));
    const zero = new Float64Array(handVars.length);
    const poses = handTree.fk(zero);
    const mid = tipLinks[2]! * POSE_STRIDE;
    const origin = (link: string): [number, number, number] => {
      const o = handTree.linkIndex(`${side}_hand_${link}`) * POSE_STRIDE;
      return [poses[o + 9]!, poses[o + 10]!, poses[o + 11]!];
    };
    const chains = [
      ['thumb_metacarpal', 'thumb_proximal', 'thumb_distal', 'thumb_tip'],
      ...(['index', 'middle', 'ring', 'little'] as const).map((f) => [`${f}_proximal`, `${f}_middle`, `${f}_distal`, `${f}_tip`]),
    ];
    const knucklesM = new Float64Array(15);
    const digitLengthsM = new Float64Array(5);
    chains.forEach((chain, i) => {
      const pts = chain.map(origin);
      knucklesM.set(pts[0]!, i * 3);
      for (let k = 1; k < pts.length; k++) digitLengthsM[i] = digitLengthsM[i]! + Math.hypot(pts[k]![0] - pts[k - 1]![0], pts[k]![1] - pts[k - 1]![1], pts[k]![2] - pts[k - 1]![2]);
    });
    const midNames = chains.map((c) => `${side}_hand_${c[1]!}`);
    return {
      side,
      armTree,
      handTree,
      armBaseInRig: fixedPose(model, RIG_ROOT_LINK, armBaseLinkName(side)),
      handInFlange: fixedPose(model, flangeLinkName(side), handBaseLinkName(side)),
      tipLinks,
      tipRadii: Float64Array.from(tipNames, (n) => sphereRadius(model, n)),
      handJointMap: handTree.jointIndexMap(HAND_JOINT_SUFFIXES.map((s) => handJointName(side, s))),
      handReferenceLengthM: Math.hypot(poses[mid + 9]!, poses[mid + 10]!, poses[mid + 11]!),
      knucklesM,
      digitLengthsM,
      midLinks: Int32Array.from(midNames, (n) => handTree.linkIndex(n)),
      midRadii: Float64Array.from(midNames, (n) => linkRadius(model, n)),
      segmentLinks: Int32Array.from(chains.slice(1).flat(), (n) => handTree.linkIndex(`${side}_hand_${n}`)),
      segmentRadii: Float64Array.from(chains.slice(1).flatMap((c) => c.slice(0, 3)), (n) => linkRadius(model, `${side}_hand_${n}`)),
    };
  };
  const sides = { left: build('left'), right: build('right') };
  return {
    model,
    sides,
    jointLimit(name) {
      const l = model.jointByName.get(name)?.limit;
      return l ? { lower: l.lower, upper: l.upper, velocity: l.velocity } : undefined;
    },
  };
}
