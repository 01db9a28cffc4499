/**
 * Reading both hands in one XR frame into preallocated arrays: `XRFrame.fillPoses` writes the 25
 * joint matrices, `fillJointRadii` the radii, and they are packed as HAND_FRAME wants them
 * (25 × [px, py, pz, qx, qy, qz, qw, radius]). Nothing is allocated per frame.
 */
import { XR_HAND_LENGTH, XR_JOINT_COUNT, XR_JOINT_STRIDE } from '@dexbridge/retarget';

/** `fillJointRadii` is in the WebXR Hand Input spec but missing from TypeScript's DOM types. */
type XRFrameWithRadii = XRFrame & { fillJointRadii?: (spaces: XRJointSpace[], radii: Float32Array) => boolean };

export interface HandReader {
  readonly joints: { left: Float32Array; right: Float32Array };
  /** Which hands were read by the last {@link HandReader.read}. */
  readonly tracked: { left: boolean; right: boolean };
  /** Reads both hands; returns how many were tracked. */
  read(frame: XRFrame, space: XRReferenceSpace): number;
}

/**
 * Column-major rotation (elements m[o+0..o+10]) → unit quaternion xyzw into out[k..k+3]
 * (Shepperd's method).
 */
export function quatFromMatrix(m: ArrayLike<number>, o: number, out: Float32Array | Float64Array, k: number): void {
  const m00 = m[o]!, m10 = m[o + 1]!, m20 = m[o + 2]!;
  const m01 = m[o + 4]!, m11 = m[o + 5]!, m21 = m[o + 6]!;
  const m02 = m[o + 8]!, m12 = m[o + 9]!, m22 = m[o + 10]!;
  const tr = m00 + m11 + m22;
  let x: number, y: number, z: number, w: number;
  if (tr > 0) {
    const s = 0.5 / Math.sqrt(tr + 1);
    w = 0.25 / s;
    x = (m21 - m12) * s;
    y = (m02 - m20) * s;
    z = (m10 - m01) * s;
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    w = (m21 - m12) / s;
    x = 0.25 * s;
    y = (m01 + m10) / s;
    z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    w = (m02 - m20) / s;
    x = (m01 + m10) / s;
    y = 0.25 * s;
    z = (m12 + m21) / s;
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    w = (m10 - m01) / s;
    x = (m02 + m20) / s;
    y = (m12 + m21) / s;
    z = 0.25 * s;
  }
  const n = Math.hypot(x, y, z, w) || 1;
  out[k] = x / n;
  out[k + 1] = y / n;
  out[k + 2] = z / n;
  out[k + 3] = w / n;
}

/** Packs `fillPoses` matrices and radii into the HAND_FRAME layout. */
export function packJoints(matrices: Float32Array, radii: Float32Array, out: Float32Array): void {
  for (let j = 0; j < XR_JOINT_COUNT; j++) {
    const o = j * 16, k = j * XR_JOINT_STRIDE;
    out[k] = matrices[o + 12]!;
    out[k + 1] = matrices[o + 13]!;
    out[k + 2] = matrices[o + 14]!;
    quatFromMatrix(matrices, o, out, k + 3);
    out[k + 7] = radii[j]!;
  }
}

export function createHandReader(): HandReader {
  const joints = { left: new Float32Array(XR_HAND_LENGTH), right: new Float32Array(XR_HAND_LENGTH) };
  const tracked = { left: false, right: false };
  const matrices = new Float32Array(XR_JOINT_COUNT * 16);
  const radii = new Float32Array(XR_JOINT_COUNT);
  // The joint spaces of each XRHand, in XRHandJoint order, cached per hand object.
  const spaces = new WeakMap<XRHand, XRJointSpace[]>();
  const spacesOf = (hand: XRHand): XRJointSpace[] => {
    let s = spaces.get(hand);
    if (!s) {
      s = [...hand.values()];
      spaces.set(hand, s);
    }
    return s;
  };
  return {
    joints,
    tracked,
    read(frame, space) {
      tracked.left = false;
      tracked.right = false;
      for (const source of frame.session.inputSources) {
        const hand = source.hand;
        const side = source.handedness;
        if (!hand || (side !== 'left' && side !== 'right') || tracked[side]) continue;
        const js = spacesOf(hand);
        if (js.length !== XR_JOINT_COUNT) continue;
        // Both return false when any joint has no pose this frame: the hand counts as not tracked.
        if (!frame.fillPoses?.(js, space, matrices)) continue;
        if (!(frame as XRFrameWithRadii).fillJointRadii?.(js, radii)) continue;
        packJoints(matrices, radii, joints[side]);
        tracked[side] = true;
      }
      return (tracked.left ? 1 : 0) + (tracked.right ? 1 : 0);
    },
  };
}
