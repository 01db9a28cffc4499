/**
 * Rigid transforms as 12 numbers in a Float64Array at an offset: a row-major 3×3 rotation
 * (indices 0–8) then a translation (9–11). Functions write into `out` and return it; unless a
 * function says otherwise, `out` may alias an input. Nothing here allocates.
 */

import { norm3 } from './linalg.js';

export const POSE_STRIDE = 12;

export type Arr = Float64Array;

/** out[o] = identity */
export function setIdentity(out: Arr, o = 0): Arr {
  out[o] = 1; out[o + 1] = 0; out[o + 2] = 0;
  out[o + 3] = 0; out[o + 4] = 1; out[o + 5] = 0;
  out[o + 6] = 0; out[o + 7] = 0; out[o + 8] = 1;
  out[o + 9] = 0; out[o + 10] = 0; out[o + 11] = 0;
  return out;
}

/** Pose from URDF origin (xyz, rpy with R = Rz·Ry·Rx). */
export function setFromXyzRpy(out: Arr, o: number, x: number, y: number, z: number, roll: number, pitch: number, yaw: number): Arr {
  const cr = Math.cos(roll), sr = Math.sin(roll), cp = Math.cos(pitch), sp = Math.sin(pitch), cy = Math.cos(yaw), sy = Math.sin(yaw);
  out[o] = cy * cp; out[o + 1] = cy * sp * sr - sy * cr; out[o + 2] = cy * sp * cr + sy * sr;
  out[o + 3] = sy * cp; out[o + 4] = sy * sp * sr + cy * cr; out[o + 5] = sy * sp * cr - cy * sr;
  out[o + 6] = -sp; out[o + 7] = cp * sr; out[o + 8] = cp * cr;
  out[o + 9] = x; out[o + 10] = y; out[o + 11] = z;
  return out;
}

const tmp = new Float64Array(12);

/** out[oo] = a[ao] ∘ b[bo]. Safe when out aliases a or b. */
export function multiply(out: Arr, oo: number, a: Arr, ao: number, b: Arr, bo: number): Arr {
  const a0 = a[ao]!, a1 = a[ao + 1]!, a2 = a[ao + 2]!, a3 = a[ao + 3]!, a4 = a[ao + 4]!, a5 = a[ao + 5]!, a6 = a[ao + 6]!, a7 = a[ao + 7]!, a8 = a[ao + 8]!;
  const b0 = b[bo]!, b1 = b[bo + 1]!, b2 = b[bo + 2]!, b3 = b[bo + 3]!, b4 = b[bo + 4]!, b5 = b[bo + 5]!, b6 = b[bo + 6]!, b7 = b[bo + 7]!, b8 = b[bo + 8]!;
  const bx = b[bo + 9]!, by = b[bo + 10]!, bz = b[bo + 11]!;
  tmp[0] = a0 * b0 + a1 * b3 + a2 * b6; tmp[1] = a0 * b1 + a1 * b4 + a2 * b7; tmp[2] = a0 * b2 + a1 * b5 + a2 * b8;
  tmp[3] = a3 * b0 + a4 * b3 + a5 * b6; tmp[4] = a3 * b1 + a4 * b4 + a5 * b7; tmp[5] = a3 * b2 + a4 * b5 + a5 * b8;
  tmp[6] = a6 * b0 + a7 * b3 + a8 * b6; tmp[7] = a6 * b1 + a7 * b4 + a8 * b7; tmp[8] = a6 * b2 + a7 * b5 + a8 * b8;
  tmp[9] = a0 * bx + a1 * by + a2 * bz + a[ao + 9]!;
  tmp[10] = a3 * bx + a4 * by + a5 * bz + a[ao + 10]!;
  tmp[11] = a6 * bx + a7 * by + a8 * bz + a[ao + 11]!;
  for (let i = 0; i < 12; i++) out[oo + i] = tmp[i]!;
  return out;
}

/** out[oo] = inverse of a[ao]. Safe when out aliases a. */
export function invert(out: Arr, oo: number, a: Arr, ao: number): Arr {
  const r0 = a[ao]!, r1 = a[ao + 1]!, r2 = a[ao + 2]!, r3 = a[ao + 3]!, r4 = a[ao + 4]!, r5 = a[ao + 5]!, r6 = a[ao + 6]!, r7 = a[ao + 7]!, r8 = a[ao + 8]!;
  const x = a[ao + 9]!, y = a[ao + 10]!, z = a[ao + 11]!;
  out[oo] = r0; out[oo + 1] = r3; out[oo + 2] = r6;
  out[oo + 3] = r1; out[oo + 4] = r4; out[oo + 5] = r7;
  out[oo + 6] = r2; out[oo + 7] = r5; out[oo + 8] = r8;
  out[oo + 9] = -(r0 * x + r3 * y + r6 * z);
  out[oo + 10] = -(r1 * x + r4 * y + r7 * z);
  out[oo + 11] = -(r2 * x + r5 * y + r8 * z);
  return out;
}

/** out[oo] = rotation about unit axis (ax, ay, az) by `angle` rad (Rodrigues), zero translation. */
export function setAxisAngle(out: Arr, oo: number, ax: number, ay: number, az: number, angle: number): Arr {
  const c = Math.cos(angle), s = Math.sin(angle), t = 1 - c;
  out[oo] = c + ax * ax * t; out[oo + 1] = ax * ay * t - az * s; out[oo + 2] = ax * az * t + ay * s;
  out[oo + 3] = ay * ax * t + az * s; out[oo + 4] = c + ay * ay * t; out[oo + 5] = ay * az * t - ax * s;
  out[oo + 6] = az * ax * t - ay * s; out[oo + 7] = az * ay * t + ax * s; out[oo + 8] = c + az * az * t;
  out[oo + 9] = 0; out[oo + 10] = 0; out[oo + 11] = 0;
  return out;
}

/** Transforms point (x, y, z) by pose p[po] into out[oo..oo+2]. */
export function transformPoint(out: Arr, oo: number, p: Arr, po: number, x: number, y: number, z: number): Arr {
  const X = p[po]! * x + p[po + 1]! * y + p[po + 2]! * z + p[po + 9]!;
  const Y = p[po + 3]! * x + p[po + 4]! * y + p[po + 5]! * z + p[po + 10]!;
  const Z = p[po + 6]! * x + p[po + 7]! * y + p[po + 8]! * z + p[po + 11]!;
  out[oo] = X; out[oo + 1] = Y; out[oo + 2] = Z;
  return out;
}

/**
 * Rotation vector (axis × angle, angle in [0, π]) of the rotation matrix r[ro..ro+8] into
 * out[oo..oo+2]. Accurate near 0 and near π.
 */
export function rotationVectorOfMatrix(out: Arr, oo: number, r: Arr, ro: number): Arr {
  const m00 = r[ro]!, m01 = r[ro + 1]!, m02 = r[ro + 2]!, m10 = r[ro + 3]!, m11 = r[ro + 4]!, m12 = r[ro + 5]!, m20 = r[ro + 6]!, m21 = r[ro + 7]!, m22 = r[ro + 8]!;
  const tr = m00 + m11 + m22;
  const wx = m21 - m12, wy = m02 - m20, wz = m10 - m01;
  const sinNorm = 0.5 * Math.sqrt(wx * wx + wy * wy + wz * wz); // |sin θ|
  const cosT = Math.max(-1, Math.min(1, (tr - 1) / 2));
  const angle = Math.atan2(sinNorm, cosT);
  if (angle < 1e-6) {
    // θ ≈ sin θ: the skew part is θ·axis (second-order accurate).
    out[oo] = 0.5 * wx; out[oo + 1] = 0.5 * wy; out[oo + 2] = 0.5 * wz;
    return out;
  }
  if (angle < Math.PI - 1e-3) {
    const k = angle / (2 * Math.sin(angle));
    out[oo] = k * wx; out[oo + 1] = k * wy; out[oo + 2] = k * wz;
    return out;
  }
  // Near π the skew part vanishes: read the axis from the symmetric part, sign from the skew part.
  const xx = Math.sqrt(Math.max(0, (m00 - cosT) / (1 - cosT)));
  const yy = Math.sqrt(Math.max(0, (m11 - cosT) / (1 - cosT)));
  const zz = Math.sqrt(Math.max(0, (m22 - cosT) / (1 - cosT)));
  let ax: number, ay: number, az: number;
  if (xx >= yy && xx >= zz) {
    ax = xx; ay = (m01 + m10) / (2 * (1 - cosT) * ax); az = (m02 + m20) / (2 * (1 - cosT) * ax);
    if (wx < 0) { ax = -ax; ay = -ay; az = -az; }
  } else if (yy >= zz) {
    ay = yy; ax = (m01 + m10) / (2 * (1 - cosT) * ay); az = (m12 + m21) / (2 * (1 - cosT) * ay);
    if (wy < 0) { ax = -ax; ay = -ay; az = -az; }
  } else {
    az = zz; ax = (m02 + m20) / (2 * (1 - cosT) * az); ay = (m12 + m21) / (2 * (1 - cosT) * az);
    if (wz < 0) { ax = -ax; ay = -ay; az = -az; }
  }
  const n = norm3(ax, ay, az);
  out[oo] = (ax / n) * angle; out[oo + 1] = (ay / n) * angle; out[oo + 2] = (az / n) * angle;
  return out;
}

/** Rotation matrix of rotation vector (rx, ry, rz) into out[oo..oo+8] (translation untouched). */
export function setRotationFromVector(out: Arr, oo: number, rx: number, ry: number, rz: number): Arr {
  const angle = norm3(rx, ry, rz);
  if (angle < 1e-12) {
    out[oo] = 1; out[oo + 1] = -rz; out[oo + 2] = ry;
    out[oo + 3] = rz; out[oo + 4] = 1; out[oo + 5] = -rx;
    out[oo + 6] = -ry; out[oo + 7] = rx; out[oo + 8] = 1;
    return out;
  }
  const t0 = out[oo + 9], t1 = out[oo + 10], t2 = out[oo + 11];
  setAxisAngle(out, oo, rx / angle, ry / angle, rz / angle, angle);
  out[oo + 9] = t0 ?? 0; out[oo + 10] = t1 ?? 0; out[oo + 11] = t2 ?? 0;
  return out;
}

/** Rotation matrix of unit quaternion (x, y, z, w) into out[oo..oo+8] (translation untouched). */
export function setRotationFromQuat(out: Arr, oo: number, x: number, y: number, z: number, w: number): Arr {
  const x2 = x + x, y2 = y + y, z2 = z + z;
  const xx = x * x2, xy = x * y2, xz = x * z2, yy = y * y2, yz = y * z2, zz = z * z2, wx = w * x2, wy = w * y2, wz = w * z2;
  out[oo] = 1 - (yy + zz); out[oo + 1] = xy - wz; out[oo + 2] = xz + wy;
  out[oo + 3] = xy + wz; out[oo + 4] = 1 - (xx + zz); out[oo + 5] = yz - wx;
  out[oo + 6] = xz - wy; out[oo + 7] = yz + wx; out[oo + 8] = 1 - (xx + yy);
  return out;
}

/**
 * 6-vector pose error of `current` toward `target` (both poses at offsets) into out[oo..oo+5]:
 * position difference (target − current), then the rotation vector of R_target·R_currentᵀ,
 * both in the common parent frame.
 */
export function poseError(out: Arr, oo: number, target: Arr, to: number, current: Arr, co: number): Arr {
  // Read everything before writing: `out` may alias `target` or `current`.
  const dx = target[to + 9]! - current[co + 9]!;
  const dy = target[to + 10]! - current[co + 10]!;
  const dz = target[to + 11]! - current[co + 11]!;
  // R_err = R_t · R_cᵀ
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      tmp[i * 3 + j] = target[to + i * 3]! * current[co + j * 3]! + target[to + i * 3 + 1]! * current[co + j * 3 + 1]! + target[to + i * 3 + 2]! * current[co + j * 3 + 2]!;
    }
  }
  out[oo] = dx; out[oo + 1] = dy; out[oo + 2] = dz;
  return rotationVectorOfMatrix(out, oo + 3, tmp, 0);
}

/** Copies 12 numbers. */
export function copyPose(out: Arr, oo: number, a: Arr, ao: number): Arr {
  for (let i = 0; i < 12; i++) out[oo + i] = a[ao + i]!;
  return out;
}
