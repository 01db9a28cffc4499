import { POSE_STRIDE } from '../math/pose.js';
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
        const depth = radii[f * 3 + a]! + radii[(f + 1) * 3 + b]! - segmentDistance(poses, a0, a1, b0, b1);
        if (depth > worst) worst = depth;
      }
    }
  }
  return worst;
}

/**
 * Distance between segments [p0, p1] and [q0, q1] (clamped closest points), the points read from
 * `p` at offsets a0, a1 (first segment) and b0, b1 (second).
 */
export function segmentDistance(p: Float64Array, a0: number, a1: number, b0: number, b1: number): number {
  const ux = p[a1]! - p[a0]!, uy = p[a1 + 1]! - p[a0 + 1]!, uz = p[a1 + 2]! - p[a0 + 2]!;
  const vx = p[b1]! - p[b0]!, vy = p[b1 + 1]! - p[b0 + 1]!, vz = p[b1 + 2]! - p[b0 + 2]!;
  const wx = p[a0]! - p[b0]!, wy = p[a0 + 1]! - p[b0 + 1]!, wz = p[a0 + 2]! - p[b0 + 2]!;
  const a = ux * ux + uy * uy + uz * uz, b = ux * vx + uy * vy + uz * vz, c = vx * vx + vy * vy + vz * vz;
  const d = ux * wx + uy * wy + uz * wz, e = vx * wx + vy * wy + vz * wz;
  const den = a * c - b * b;
  let s = den > 1e-15 ? Math.max(0, Math.min(1, (b * e - c * d) / den)) : 0;
  let t = c > 1e-15 ? (b * s + e) / c : 0;
  if (t < 0) { t = 0; s = a > 1e-15 ? Math.max(0, Math.min(1, -d / a)) : 0; }
  else if (t > 1) { t = 1; s = a > 1e-15 ? Math.max(0, Math.min(1, (b - d) / a)) : 0; }
  const dx = wx + s * ux - t * vx, dy = wy + s * uy - t * vy, dz = wz + s * uz - t * vz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}
