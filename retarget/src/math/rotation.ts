/**
 * Rotation vectors (axis × angle, rad) ↔ unit quaternions (x, y, z, w), at offsets into arrays.
 * Accurate near zero angle (Taylor terms) and at π (the sign choice below). Nothing allocates.
 */

const SMALL_ANGLE = 1e-6;

/** Unit quaternion of rotation vector (x, y, z) into out[o..o+3] as (x, y, z, w). */
export function quatOfRotationVector(out: Float64Array, o: number, x: number, y: number, z: number): Float64Array {
  const t = Math.sqrt(x * x + y * y + z * z);
  const s = t < SMALL_ANGLE ? 0.5 - (t * t) / 48 : Math.sin(t / 2) / t;
  out[o] = x * s;
  out[o + 1] = y * s;
  out[o + 2] = z * s;
  out[o + 3] = Math.cos(t / 2);
  return out;
}

/**
 * Rotation vector (angle in [0, π]) of quaternion (x, y, z, w) of any non-zero norm into
 * out[o..o+2]. q and −q give the same result.
 */
export function rotationVectorOfQuat<T extends Float32Array | Float64Array>(out: T, o: number, x: number, y: number, z: number, w: number): T {
  const n = Math.sqrt(x * x + y * y + z * z + w * w);
  const sign = w < 0 ? -1 : 1;
  const qx = (sign * x) / n, qy = (sign * y) / n, qz = (sign * z) / n, qw = (sign * w) / n;
  const s = Math.sqrt(qx * qx + qy * qy + qz * qz);
  const k = s < SMALL_ANGLE ? 2 / qw : (2 * Math.atan2(s, qw)) / s;
  out[o] = qx * k;
  out[o + 1] = qy * k;
  out[o + 2] = qz * k;
  return out;
}
