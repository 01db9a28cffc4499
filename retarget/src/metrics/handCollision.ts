import { segmentClosestPoints } from '../math/linalg.js';
import { POSE_STRIDE } from '../math/pose.js';

/** Scratch of the closest points (the depth only needs their distance). */
const closest = new Float64Array(7);
import type { RigSideModel } from '../rig.js';

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
  return capsuleInterpenetrationM(model.handTree.fk(q), model.segmentLinks, model.segmentRadii);
}

/**
 * The same depth from poses already computed (12 numbers per link): `links` holds 4 links per
 * long finger (proximal, middle, distal, tip; index first) in the poses' numbering, `radii` 3 per
 * finger. What `hand.overlap_share` counts (above 3 mm). Allocation-free.
 */
export function capsuleInterpenetrationM(poses: Float64Array, links: ArrayLike<number>, radii: ArrayLike<number>): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < 3; f++) {
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const a0 = links[f * 4 + a]! * POSE_STRIDE + 9, a1 = links[f * 4 + a + 1]! * POSE_STRIDE + 9;
        const b0 = links[(f + 1) * 4 + b]! * POSE_STRIDE + 9, b1 = links[(f + 1) * 4 + b + 1]! * POSE_STRIDE + 9;
        segmentClosestPoints(poses, a0, a1, b0, b1, closest);
        const depth = radii[f * 3 + a]! + radii[(f + 1) * 3 + b]! - closest[6]!;
        if (depth > worst) worst = depth;
      }
    }
  }
  return worst;
}
