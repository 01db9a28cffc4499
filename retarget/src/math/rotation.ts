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

const QUATS = new Float64Array(8);
/** Above this |cos| the slerp weights degenerate; normalised lerp is exact to float precision. */
const NLERP_DOT = 0.9995;

/**
 * Interpolates between rotation vectors a[aOff..] and b[bOff..] by f ∈ [0, 1] along the shortest
 * arc (slerp of their quaternions), writing a rotation vector with angle in [0, π] at
 * out[outOff..]. Reads all inputs first, so `out` may alias `a` or `b`.
 */
export function slerpRotationVector(
  out: Float32Array | Float64Array,
  outOff: number,
  a: ArrayLike<number>,
  aOff: number,
  b: ArrayLike<number>,
  bOff: number,
  f: number,
): void {
  quatOfRotationVector(QUATS, 0, a[aOff]!, a[aOff + 1]!, a[aOff + 2]!);
  quatOfRotationVector(QUATS, 4, b[bOff]!, b[bOff + 1]!, b[bOff + 2]!);
  const ax = QUATS[0]!, ay = QUATS[1]!, az = QUATS[2]!, aw = QUATS[3]!;
  let bx = QUATS[4]!, by = QUATS[5]!, bz = QUATS[6]!, bw = QUATS[7]!;
  let dot = ax * bx + ay * by + az * bz + aw * bw;
  // q and −q are the same rotation: take the shorter arc (this is what handles the π wrap).
  if (dot < 0) {
    bx = -bx;
    by = -by;
    bz = -bz;
    bw = -bw;
    dot = -dot;
  }
  let wa = 1 - f;
  let wb = f;
  if (dot <= NLERP_DOT) {
    const theta = Math.acos(dot);
    const sinTheta = Math.sin(theta);
    wa = Math.sin((1 - f) * theta) / sinTheta;
    wb = Math.sin(f * theta) / sinTheta;
  }
  rotationVectorOfQuat(out, outOff, wa * ax + wb * bx, wa * ay + wb * by, wa * az + wb * bz, wa * aw + wb * bw);
}
