import { POSE_STRIDE } from '../math/pose.js';
import type { RigSideModel } from '../rig.js';
import { segmentDistance } from './FidelityMeter.js';

/**
 * How deeply the robot hand at active joints `q` (16) interpenetrates itself by the phalanx
 * capsules the retargeting keeps apart (`handCapsuleSeparation`): the largest r_a + r_b − d over
 * every segment pair of neighbouring long fingers (proximal, middle, distal segments between
 * link origins, URDF collision radii; 9 pairs per neighbour pair), m. Positive: the pose
 * interpenetrates, so a separating solve cannot reproduce it exactly; negative: the smallest
 * clearance. The same capsules as `hand.overlap_share`. Runs FK: for tests and tools, not the
 * frame loop.
 */
export function handCapsuleInterpenetrationM(model: RigSideModel, q: ArrayLike<number>): number {
  const poses = model.handTree.fk(q);
  const L = model.segmentLinks, R = model.segmentRadii;
  let worst = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < 3; f++) {
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const a0 = L[f * 4 + a]! * POSE_STRIDE + 9, a1 = L[f * 4 + a + 1]! * POSE_STRIDE + 9;
        const b0 = L[(f + 1) * 4 + b]! * POSE_STRIDE + 9, b1 = L[(f + 1) * 4 + b + 1]! * POSE_STRIDE + 9;
        const depth = R[f * 3 + a]! + R[(f + 1) * 3 + b]! - segmentDistance(poses, a0, a1, b0, b1);
        if (depth > worst) worst = depth;
      }
    }
  }
  return worst;
}
