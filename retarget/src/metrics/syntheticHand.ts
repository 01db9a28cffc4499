import { XR_HAND_LENGTH, XR_JOINT_STRIDE } from '../handFrame.js';
import { POSE_STRIDE } from '../math/pose.js';
import type { Rig } from '../rig.js';
import type { Side } from '../robotNames.js';

/** How a synthetic human hand differs from the robot hand it is made from. */
export interface SyntheticHandOptions {
  /**
   * Move every joint except the wrist across the palm so that the middle knuckle sits on the
   * wrist→knuckle axis, as it does on a human hand (the robot's sits 11.5 mm toward the thumb).
   * Tip-to-tip distances are kept, so a robot pinch stays a human pinch. Default true.
   */
  readonly humanKnuckles?: boolean;
  /** Uniform size of the human hand relative to the robot's (a human hand is smaller). Default 1. */
  readonly scale?: number;
}

const LONG = ['index', 'middle', 'ring', 'little'] as const;

/**
 * A WebXR-shaped hand (25 joints × 8: position, identity orientation, radius) in the robot hand's
 * base frame, made from the robot hand at active joints `q` (16): ground truth for tests and
 * benchmarks. Link origins stand in for the human joints (the MCP, PIP, DIP and tip-sphere
 * centre of each long finger; the thumb's CMC, MCP, IP and tip); the long fingers' metacarpal
 * bases sit a quarter of the way from the wrist to each knuckle; the tips carry the robot's
 * tip-sphere radii, so pad gaps carry over. Not for the frame loop (runs FK, allocates).
 */
export function syntheticHumanHand(rig: Rig, side: Side, q: ArrayLike<number>, options: SyntheticHandOptions = {}): Float64Array {
  const model = rig.sides[side];
  const tree = model.handTree;
  const poses = tree.fk(q);
  const at = (link: string): [number, number, number] => {
    const o = tree.linkIndex(`${side}_hand_${link}`) * POSE_STRIDE;
    return [poses[o + 9]!, poses[o + 10]!, poses[o + 11]!];
  };
  const joints = new Float64Array(XR_HAND_LENGTH);
  const put = (i: number, p: readonly number[], radius: number): void => {
    joints.set([p[0]!, p[1]!, p[2]!, 0, 0, 0, 1, radius], i * XR_JOINT_STRIDE);
  };
  put(0, [0, 0, 0], 0.02);
  put(1, at('thumb_metacarpal'), 0.02);
  put(2, at('thumb_proximal'), 0.012);
  put(3, at('thumb_distal'), 0.011);
  put(4, at('thumb_tip'), model.tipRadii[0]!);
  LONG.forEach((finger, i) => {
    const mcp = at(`${finger}_proximal`);
    put(5 + i * 5, [mcp[0] * 0.25, mcp[1] * 0.25, mcp[2] * 0.25], 0.02);
    put(6 + i * 5, mcp, 0.011);
    put(7 + i * 5, at(`${finger}_middle`), 0.01);
    put(8 + i * 5, at(`${finger}_distal`), 0.009);
    put(9 + i * 5, at(`${finger}_tip`), model.tipRadii[i + 1]!);
  });
  if (options.humanKnuckles ?? true) {
    // The knuckle's offset across the palm, measured at zero joint angles (the MCP does not move).
    const sx = joints[11 * XR_JOINT_STRIDE]!;
    for (let j = 1; j < 25; j++) joints[j * XR_JOINT_STRIDE] = joints[j * XR_JOINT_STRIDE]! - sx;
  }
  const scale = options.scale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`syntheticHumanHand: scale must be a positive number, got ${scale}`);
  for (let j = 0; j < 25; j++) for (let k = 0; k < 3; k++) joints[j * XR_JOINT_STRIDE + k] = joints[j * XR_JOINT_STRIDE + k]! * scale;
  return joints;
}

/**
 * Places a hand given in its own frame (25 × 8, as {@link syntheticHumanHand} makes) into a WebXR
 * reference space at `pose` (12 numbers: row-major rotation, then translation in m), writing 25 × 8
 * numbers into `out` (radii kept, orientations identity: the retargeting reads positions only).
 */
export function placeHand(hand: ArrayLike<number>, pose: ArrayLike<number>, out: Float64Array = new Float64Array(XR_HAND_LENGTH)): Float64Array {
  for (let j = 0; j < 25; j++) {
    const o = j * XR_JOINT_STRIDE;
    const x = hand[o]!, y = hand[o + 1]!, z = hand[o + 2]!;
    for (let r = 0; r < 3; r++) out[o + r] = pose[r * 3]! * x + pose[r * 3 + 1]! * y + pose[r * 3 + 2]! * z + pose[9 + r]!;
    out[o + 3] = 0; out[o + 4] = 0; out[o + 5] = 0; out[o + 6] = 1;
    out[o + 7] = hand[o + 7]!;
  }
  return out;
}
