/**
 * One tracked instant of both human hands, as WebXR reports them.
 *
 * Each hand is 25 joints × 8 numbers `[px, py, pz, qx, qy, qz, qw, radius]` (metres, unit
 * quaternion) in WebXR `XRHandJoint` order, expressed in one WebXR reference space (y up).
 * `null` means the hand is not tracked in this frame.
 */
export interface HandFrame {
  /** Time of the frame in milliseconds (monotonic within a session). */
  readonly tMs: number;
  readonly left: Float64Array | null;
  readonly right: Float64Array | null;
}

export const XR_JOINT_COUNT = 25;
export const XR_JOINT_STRIDE = 8;
export const XR_HAND_LENGTH = XR_JOINT_COUNT * XR_JOINT_STRIDE; // 200

/** WebXR `XRHandJoint` names in order. */
export const XR_JOINT_NAMES = [
  'wrist',
  'thumb-metacarpal', 'thumb-phalanx-proximal', 'thumb-phalanx-distal', 'thumb-tip',
  'index-finger-metacarpal', 'index-finger-phalanx-proximal', 'index-finger-phalanx-intermediate', 'index-finger-phalanx-distal', 'index-finger-tip',
  'middle-finger-metacarpal', 'middle-finger-phalanx-proximal', 'middle-finger-phalanx-intermediate', 'middle-finger-phalanx-distal', 'middle-finger-tip',
  'ring-finger-metacarpal', 'ring-finger-phalanx-proximal', 'ring-finger-phalanx-intermediate', 'ring-finger-phalanx-distal', 'ring-finger-tip',
  'pinky-finger-metacarpal', 'pinky-finger-phalanx-proximal', 'pinky-finger-phalanx-intermediate', 'pinky-finger-phalanx-distal', 'pinky-finger-tip',
] as const;

/** Index of named joints in the 25-joint order. */
export const XR = {
  wrist: 0,
  thumbMetacarpal: 1, thumbProximal: 2, thumbDistal: 3, thumbTip: 4,
  indexMetacarpal: 5, indexProximal: 6, indexIntermediate: 7, indexDistal: 8, indexTip: 9,
  middleMetacarpal: 10, middleProximal: 11, middleIntermediate: 12, middleDistal: 13, middleTip: 14,
  ringMetacarpal: 15, ringProximal: 16, ringIntermediate: 17, ringDistal: 18, ringTip: 19,
  littleMetacarpal: 20, littleProximal: 21, littleIntermediate: 22, littleDistal: 23, littleTip: 24,
} as const;

/** Tip joint index of each finger, thumb first. */
export const XR_TIPS = [4, 9, 14, 19, 24] as const;

/**
 * The 24 bones of the WebXR hand as [parent, child] joint indices, finger by finger from the
 * wrist (thumb: wrist → metacarpal → proximal → distal → tip; the others add an intermediate).
 */
export const XR_BONES: readonly (readonly [number, number])[] = Object.freeze(
  [[0, 1], [1, 2], [2, 3], [3, 4], ...[5, 10, 15, 20].flatMap((m) => [[0, m], [m, m + 1], [m + 1, m + 2], [m + 2, m + 3], [m + 3, m + 4]])].map(
    (b) => Object.freeze(b as [number, number]),
  ),
);
