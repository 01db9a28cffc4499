import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choleskyFactor, choleskySolve, choleskySolveInPlace, gram6, mul6, mul6T } from '../src/math/linalg.js';
import {
  copyPose,
  invert,
  multiply,
  POSE_STRIDE,
  poseError,
  rotationVectorOfMatrix,
  setAxisAngle,
  setFromXyzRpy,
  setIdentity,
  setRotationFromQuat,
  setRotationFromVector,
  transformPoint,
} from '../src/math/pose.js';
import { mulberry32 } from '../../test/support/random.js';

type V3 = readonly [number, number, number];

const rng = mulberry32;

const unit = (v: V3): V3 => {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
};

/** A unit axis: three coordinates in [−1, 1], kept away from the zero vector. */
const axisArb = fc
  .tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }))
  .filter((v) => Math.hypot(...v) > 1e-3)
  .map((v) => unit(v));

/** A unit quaternion (x, y, z, w), either sign of w. */
const quatArb = fc
  .tuple(
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
  )
  .filter((q) => Math.hypot(...q) > 1e-3)
  .map((q): readonly [number, number, number, number] => {
    const n = Math.hypot(...q);
    return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
  });

/** A rigid pose as a rotation vector (any angle, even beyond π) and a translation, m. */
const poseArb = fc.tuple(
  fc.tuple(fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true })),
  fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })),
);

/** Writes pose (rotation vector r, translation t) into `out` at `o`. */
function setPose(out: Float64Array, o: number, r: V3, t: V3): Float64Array {
  setRotationFromVector(out, o, r[0], r[1], r[2]);
  out[o + 9] = t[0]; out[o + 10] = t[1]; out[o + 11] = t[2];
  return out;
}

/** The 12 numbers of a pose at an offset. */
const poseAt = (a: Float64Array, o = 0): number[] => Array.from(a.subarray(o, o + POSE_STRIDE));

/** Largest absolute element-wise difference. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Test-side reference: R·Rᵀ − I and det R, from plain arithmetic. */
function orthonormalityError(r: Float64Array, o = 0): { gram: number; det: number } {
  let gram = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += r[o + i * 3 + k]! * r[o + j * 3 + k]!;
      gram = Math.max(gram, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  const [a, b, c, d, e, f, g, h, k] = Array.from(r.subarray(o, o + 9)) as [number, number, number, number, number, number, number, number, number];
  return { gram, det: a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g) };
}

const IDENTITY = poseAt(setIdentity(new Float64Array(12)));

describe('rotation vector ↔ matrix', () => {
  it('round-trips rotation vectors with angles in [0, π)', () => {
    const r = new Float64Array(12);
    const v = new Float64Array(3);
    fc.assert(
      fc.property(axisArb, fc.double({ min: 0, max: Math.PI - 1e-9, noNaN: true }), (axis, angle) => {
        setRotationFromVector(r, 0, axis[0] * angle, axis[1] * angle, axis[2] * angle);
        rotationVectorOfMatrix(v, 0, r, 0);
        expect(maxDiff(v, [axis[0] * angle, axis[1] * angle, axis[2] * angle])).toBeLessThan(1e-12);
      }),
      { numRuns: 500 },
    );
  });

  it('is accurate to full relative precision for angles near 0 (both sides of the small-angle branch)', () => {
    const next = rng(1);
    const r = new Float64Array(12);
    const v = new Float64Array(3);
    for (const angle of [0, 1e-300, 1e-15, 1e-13, 1e-12, 1.1e-12, 1e-10, 1e-8, 9.99e-7, 1e-6, 1.01e-6, 1e-5, 1e-3]) {
      for (let k = 0; k < 20; k++) {
        const axis = unit([next() - 0.5, next() - 0.5, next() - 0.5]);
        setRotationFromVector(r, 0, axis[0] * angle, axis[1] * angle, axis[2] * angle);
        expect(orthonormalityError(r).gram).toBeLessThan(1e-15);
        rotationVectorOfMatrix(v, 0, r, 0);
        expect(maxDiff(v, [axis[0] * angle, axis[1] * angle, axis[2] * angle])).toBeLessThanOrEqual(1e-12 * angle);
      }
    }
  });

  it('is accurate near π, where the skew part vanishes, including the sign of the axis', () => {
    const next = rng(2);
    const r = new Float64Array(12);
    const v = new Float64Array(3);
    for (const delta of [0.1, 1.01e-3, 1e-3, 0.99e-3, 1e-4, 1e-6, 1e-8, 1e-10]) {
      const angle = Math.PI - delta;
      for (let k = 0; k < 40; k++) {
        const axis = unit([next() - 0.5, next() - 0.5, next() - 0.5]);
        setRotationFromVector(r, 0, axis[0] * angle, axis[1] * angle, axis[2] * angle);
        rotationVectorOfMatrix(v, 0, r, 0);
        expect(maxDiff(v, [axis[0] * angle, axis[1] * angle, axis[2] * angle])).toBeLessThan(1e-11);
      }
    }
  });

  it('returns an angle of exactly π, with an axis that reproduces the matrix, for half turns', () => {
    const next = rng(3);
    const r = new Float64Array(12);
    const back = new Float64Array(12);
    const v = new Float64Array(3);
    const axes: V3[] = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0], unit([1, 1, 0]), unit([1, -1, 1])];
    for (let k = 0; k < 50; k++) axes.push(unit([next() - 0.5, next() - 0.5, next() - 0.5]));
    for (const axis of axes) {
      setAxisAngle(r, 0, axis[0], axis[1], axis[2], Math.PI);
      rotationVectorOfMatrix(v, 0, r, 0);
      expect(Math.abs(Math.hypot(v[0]!, v[1]!, v[2]!) - Math.PI)).toBeLessThan(1e-12);
      // At π the axis sign is arbitrary: ±axis both reproduce the matrix.
      setRotationFromVector(back, 0, v[0]!, v[1]!, v[2]!);
      expect(maxDiff(back.subarray(0, 9), r.subarray(0, 9))).toBeLessThan(1e-12);
    }
  });

  it('round-trips matrices (from quaternions) through the rotation vector, near π too', () => {
    const r = new Float64Array(12);
    const back = new Float64Array(12);
    const v = new Float64Array(3);
    // Quaternions with w near 0 are rotations near π.
    const nearHalfTurn = fc.tuple(axisArb, fc.double({ min: -1e-6, max: 1e-6, noNaN: true })).map(([a, w]): readonly [number, number, number, number] => {
      const s = Math.sqrt(1 - w * w);
      return [a[0] * s, a[1] * s, a[2] * s, w];
    });
    fc.assert(
      fc.property(fc.oneof(quatArb, nearHalfTurn), (q) => {
        setRotationFromQuat(r, 0, q[0], q[1], q[2], q[3]);
        rotationVectorOfMatrix(v, 0, r, 0);
        expect(Math.hypot(v[0]!, v[1]!, v[2]!)).toBeLessThanOrEqual(Math.PI + 1e-15);
        setRotationFromVector(back, 0, v[0]!, v[1]!, v[2]!);
        expect(maxDiff(back.subarray(0, 9), r.subarray(0, 9))).toBeLessThan(1e-12);
      }),
      { numRuns: 500 },
    );
  });

  it('setRotationFromVector writes only the rotation at the offset and keeps the translation', () => {
    const a = new Float64Array(30).fill(7);
    setRotationFromVector(a, 5, 0.3, -0.2, 0.1);
    expect(Array.from(a.subarray(0, 5))).toEqual([7, 7, 7, 7, 7]);
    expect(Array.from(a.subarray(14, 30))).toEqual(new Array(16).fill(7));
    expect(orthonormalityError(a, 5).gram).toBeLessThan(1e-15);
    setRotationFromVector(a, 5, 0, 0, 1e-14); // small-angle branch
    expect(Array.from(a.subarray(14, 30))).toEqual(new Array(16).fill(7));
  });
});

describe('quaternion → matrix', () => {
  it('gives an orthonormal, right-handed matrix that agrees with the rotation vector of the quaternion', () => {
    const r = new Float64Array(12);
    const ref = new Float64Array(12);
    fc.assert(
      fc.property(quatArb, (q) => {
        setRotationFromQuat(r, 0, q[0], q[1], q[2], q[3]);
        const { gram, det } = orthonormalityError(r);
        expect(gram).toBeLessThan(1e-14);
        expect(Math.abs(det - 1)).toBeLessThan(1e-14);
        // q = ±(sin(θ/2)·axis, cos(θ/2)) with θ in [0, π]: rotation vector θ·axis.
        const sign = q[3] < 0 ? -1 : 1;
        const s = Math.hypot(q[0], q[1], q[2]);
        const angle = 2 * Math.atan2(s, sign * q[3]);
        const k = s > 0 ? (sign * angle) / s : 2;
        setRotationFromVector(ref, 0, q[0] * k, q[1] * k, q[2] * k);
        expect(maxDiff(r.subarray(0, 9), ref.subarray(0, 9))).toBeLessThan(1e-12);
      }),
      { numRuns: 500 },
    );
  });

  it('maps q and −q to the same matrix and leaves the translation alone', () => {
    const a = new Float64Array(12).fill(3);
    const b = new Float64Array(12).fill(3);
    setRotationFromQuat(a, 0, 0.1, -0.5, 0.3, Math.sqrt(1 - 0.35));
    setRotationFromQuat(b, 0, -0.1, 0.5, -0.3, -Math.sqrt(1 - 0.35));
    expect(maxDiff(a, b)).toBeLessThan(1e-15);
    expect(Array.from(a.subarray(9))).toEqual([3, 3, 3]);
  });

  it('matches the URDF rpy convention R = Rz(yaw)·Ry(pitch)·Rx(roll)', () => {
    const r = new Float64Array(12);
    const rx = new Float64Array(12);
    const ry = new Float64Array(12);
    const rz = new Float64Array(12);
    const ref = new Float64Array(12);
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), (roll, pitch, yaw) => {
        setFromXyzRpy(r, 0, 0.1, -0.2, 0.3, roll, pitch, yaw);
        setAxisAngle(rx, 0, 1, 0, 0, roll);
        setAxisAngle(ry, 0, 0, 1, 0, pitch);
        setAxisAngle(rz, 0, 0, 0, 1, yaw);
        multiply(ref, 0, rz, 0, ry, 0);
        multiply(ref, 0, ref, 0, rx, 0);
        expect(maxDiff(r.subarray(0, 9), ref.subarray(0, 9))).toBeLessThan(1e-14);
        expect(Array.from(r.subarray(9))).toEqual([0.1, -0.2, 0.3]);
      }),
    );
  });
});

describe('multiply and invert', () => {
  it('have the identity as neutral element and A·A⁻¹ = A⁻¹·A = I', () => {
    const buf = new Float64Array(5 * POSE_STRIDE + 3); // odd offsets on purpose
    const A = 3, I = 3 + 12, INV = 3 + 24, P = 3 + 36;
    setIdentity(buf, I);
    fc.assert(
      fc.property(poseArb, ([r, t]) => {
        setPose(buf, A, r, t);
        multiply(buf, P, buf, A, buf, I);
        expect(maxDiff(poseAt(buf, P), poseAt(buf, A))).toBeLessThan(1e-15);
        multiply(buf, P, buf, I, buf, A);
        expect(maxDiff(poseAt(buf, P), poseAt(buf, A))).toBeLessThan(1e-15);
        invert(buf, INV, buf, A);
        multiply(buf, P, buf, A, buf, INV);
        expect(maxDiff(poseAt(buf, P), IDENTITY)).toBeLessThan(1e-14);
        multiply(buf, P, buf, INV, buf, A);
        expect(maxDiff(poseAt(buf, P), IDENTITY)).toBeLessThan(1e-14);
      }),
      { numRuns: 300 },
    );
  });

  it('is associative, and (A·B)⁻¹ = B⁻¹·A⁻¹', () => {
    const a = new Float64Array(12), b = new Float64Array(12), c = new Float64Array(12);
    const ab = new Float64Array(12), bc = new Float64Array(12), l = new Float64Array(12), rr = new Float64Array(12);
    const ia = new Float64Array(12), ib = new Float64Array(12);
    fc.assert(
      fc.property(poseArb, poseArb, poseArb, (pa, pb, pc) => {
        setPose(a, 0, ...pa); setPose(b, 0, ...pb); setPose(c, 0, ...pc);
        multiply(ab, 0, a, 0, b, 0);
        multiply(bc, 0, b, 0, c, 0);
        multiply(l, 0, ab, 0, c, 0);
        multiply(rr, 0, a, 0, bc, 0);
        expect(maxDiff(l, rr)).toBeLessThan(1e-13);
        invert(l, 0, ab, 0);
        invert(ia, 0, a, 0);
        invert(ib, 0, b, 0);
        multiply(rr, 0, ib, 0, ia, 0);
        expect(maxDiff(l, rr)).toBeLessThan(1e-13);
      }),
      { numRuns: 200 },
    );
  });

  it('transformPoint agrees with composing a pure translation', () => {
    const a = new Float64Array(12), t = new Float64Array(12), at = new Float64Array(12), out = new Float64Array(3);
    fc.assert(
      fc.property(poseArb, fc.tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true })), (pa, p) => {
        setPose(a, 0, ...pa);
        setIdentity(t);
        t[9] = p[0]; t[10] = p[1]; t[11] = p[2];
        multiply(at, 0, a, 0, t, 0);
        transformPoint(out, 0, a, 0, p[0], p[1], p[2]);
        expect(maxDiff(out, at.subarray(9))).toBeLessThan(1e-14);
      }),
    );
  });
});

describe('aliasing `out` with an input', () => {
  it('multiply gives the same result when out is a, b, or both', () => {
    const a = new Float64Array(12), b = new Float64Array(12), ref = new Float64Array(12), x = new Float64Array(12), sq = new Float64Array(12);
    fc.assert(
      fc.property(poseArb, poseArb, (pa, pb) => {
        setPose(a, 0, ...pa); setPose(b, 0, ...pb);
        multiply(ref, 0, a, 0, b, 0);
        copyPose(x, 0, a, 0);
        multiply(x, 0, x, 0, b, 0);
        expect(poseAt(x)).toEqual(poseAt(ref));
        copyPose(x, 0, b, 0);
        multiply(x, 0, a, 0, x, 0);
        expect(poseAt(x)).toEqual(poseAt(ref));
        multiply(sq, 0, a, 0, a, 0);
        copyPose(x, 0, a, 0);
        multiply(x, 0, x, 0, x, 0);
        expect(poseAt(x)).toEqual(poseAt(sq));
      }),
    );
  });

  it('multiply aliases correctly when the operands share one buffer at different offsets', () => {
    const buf = new Float64Array(36);
    const ref = new Float64Array(12);
    setPose(buf, 0, [0.3, -1.2, 2], [0.1, 0.2, 0.3]);
    setPose(buf, 12, [-2, 0.5, 0.4], [-1, 0.5, 2]);
    multiply(ref, 0, buf, 0, buf, 12);
    multiply(buf, 12, buf, 0, buf, 12);
    expect(poseAt(buf, 12)).toEqual(poseAt(ref));
  });

  it('invert gives the same result in place', () => {
    const a = new Float64Array(12), ref = new Float64Array(12);
    fc.assert(
      fc.property(poseArb, (pa) => {
        setPose(a, 0, ...pa);
        invert(ref, 0, a, 0);
        invert(a, 0, a, 0);
        expect(poseAt(a)).toEqual(poseAt(ref));
      }),
    );
  });

  it('rotationVectorOfMatrix and transformPoint give the same result when writing over their input', () => {
    const a = new Float64Array(12), v = new Float64Array(3), p = new Float64Array(3);
    fc.assert(
      fc.property(poseArb, (pa) => {
        setPose(a, 0, ...pa);
        rotationVectorOfMatrix(v, 0, a, 0);
        transformPoint(p, 0, a, 0, 0.3, -0.2, 0.7);
        const b = Float64Array.from(a);
        rotationVectorOfMatrix(b, 0, b, 0);
        expect(Array.from(b.subarray(0, 3))).toEqual(Array.from(v));
        const c = Float64Array.from(a);
        transformPoint(c, 9, c, 0, 0.3, -0.2, 0.7);
        expect(Array.from(c.subarray(9, 12))).toEqual(Array.from(p));
      }),
    );
  });

  it('poseError gives the same result when out aliases current', () => {
    const target = setPose(new Float64Array(12), 0, [0, 0, 0], [1, 2, 3]);
    const current = setIdentity(new Float64Array(12));
    const ref = poseError(new Float64Array(6), 0, target, 0, current, 0);
    expect(Array.from(ref)).toEqual([1, 2, 3, 0, 0, 0]);
    poseError(current, 0, target, 0, current, 0);
    expect(Array.from(current.subarray(0, 6))).toEqual(Array.from(ref));
  });
});

describe('poseError', () => {
  it('is zero for equal poses, and its rotation part takes current to target', () => {
    const t = new Float64Array(12), c = new Float64Array(12), e = new Float64Array(6), r = new Float64Array(12), back = new Float64Array(12);
    fc.assert(
      fc.property(poseArb, poseArb, (pt, pc) => {
        setPose(t, 0, ...pt); setPose(c, 0, ...pc);
        poseError(e, 0, t, 0, t, 0);
        expect(maxDiff(e, [0, 0, 0, 0, 0, 0])).toBeLessThan(1e-12);
        poseError(e, 0, t, 0, c, 0);
        expect(maxDiff(e.subarray(0, 3), [t[9]! - c[9]!, t[10]! - c[10]!, t[11]! - c[11]!])).toBe(0);
        expect(Math.hypot(e[3]!, e[4]!, e[5]!)).toBeLessThanOrEqual(Math.PI + 1e-15);
        // exp(e_rot)·R_current = R_target, in the common parent frame.
        setIdentity(r);
        setRotationFromVector(r, 0, e[3]!, e[4]!, e[5]!);
        setIdentity(back);
        copyPose(back, 0, c, 0);
        back[9] = 0; back[10] = 0; back[11] = 0;
        multiply(back, 0, r, 0, back, 0);
        expect(maxDiff(back.subarray(0, 9), t.subarray(0, 9))).toBeLessThan(1e-12);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Cholesky', () => {
  /** A random SPD matrix MᵀM + εI (row-major, n×n) from uniform numbers. */
  function randomSpd(n: number, next: () => number): Float64Array {
    const m = Float64Array.from({ length: n * n }, () => 2 * next() - 1);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? 0.05 : 0;
        for (let k = 0; k < n; k++) s += m[k * n + i]! * m[k * n + j]!;
        a[i * n + j] = s;
      }
    }
    return a;
  }

  /** max |A·x − b| / (‖A‖∞‖x‖∞ + ‖b‖∞). */
  function relativeResidual(a: Float64Array, x: Float64Array, b: Float64Array, n: number): number {
    let res = 0, an = 0, xn = 0, bn = 0;
    for (let i = 0; i < n; i++) {
      let s = 0, row = 0;
      for (let j = 0; j < n; j++) { s += a[i * n + j]! * x[j]!; row += Math.abs(a[i * n + j]!); }
      res = Math.max(res, Math.abs(s - b[i]!));
      an = Math.max(an, row);
      xn = Math.max(xn, Math.abs(x[i]!));
      bn = Math.max(bn, Math.abs(b[i]!));
    }
    return res / (an * xn + bn);
  }

  it('solves random SPD systems', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (n, seed) => {
        const next = rng(seed);
        const a = randomSpd(n, next);
        const b = Float64Array.from({ length: n }, () => 4 * next() - 2);
        const aWork = Float64Array.from(a);
        const x = Float64Array.from(b);
        expect(choleskySolveInPlace(aWork, x, n)).toBe(true);
        expect(x.every(Number.isFinite)).toBe(true);
        expect(relativeResidual(a, x, b, n)).toBeLessThan(1e-12);
      }),
      { numRuns: 300 },
    );
  });

  it('reuses one factor for several right-hand sides', () => {
    const next = rng(9);
    const n = 6;
    const a = randomSpd(n, next);
    const l = Float64Array.from(a);
    expect(choleskyFactor(l, n)).toBe(true);
    for (let k = 0; k < 5; k++) {
      const b = Float64Array.from({ length: n }, () => next() - 0.5);
      const x = choleskySolve(l, Float64Array.from(b), n);
      expect(relativeResidual(a, x, b, n)).toBeLessThan(1e-12);
    }
  });

  it('reports false for matrices that are not positive definite', () => {
    const cases: [string, number[], number][] = [
      ['indefinite', [1, 2, 2, 1], 2],
      ['negative definite', [-2, 0, 0, -1], 2],
      ['singular PSD', [1, 1, 1, 1], 2],
      ['zero', [0, 0, 0, 0, 0, 0, 0, 0, 0], 3],
      ['negative last pivot', [4, 2, 0, 2, 1, 0, 0, 0, 1], 3],
      ['NaN entry', [1, 0, 0, Number.NaN], 2],
    ];
    for (const [name, entries, n] of cases) {
      const b = new Float64Array(n).fill(1);
      expect(choleskySolveInPlace(Float64Array.from(entries), b, n), name).toBe(false);
      expect(choleskyFactor(Float64Array.from(entries), n), name).toBe(false);
    }
  });

  it('reports false for random matrices with a negative diagonal entry (an SPD matrix shifted down)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (n, seed) => {
        const a = randomSpd(n, rng(seed));
        // A − d·I with d just above the smallest diagonal entry a_kk: e_kᵀ(A − d·I)e_k < 0.
        let d = Infinity;
        for (let i = 0; i < n; i++) d = Math.min(d, a[i * n + i]!);
        for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i]! - d - 1e-6;
        expect(choleskySolveInPlace(a, new Float64Array(n).fill(1), n)).toBe(false);
      }),
    );
  });
});

describe('products of a 6-row matrix (gram6, mul6, mul6T)', () => {
  // The IK's steps must not change when these replace the loops they stand for: each sum adds the
  // same products in the same order, so the results are the same doubles, not merely close.
  it('equal the plain loops bit for bit, for any column count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (n, seed) => {
        const next = rng(seed);
        const j = Float64Array.from({ length: 6 * n }, () => (next() < 0.1 ? 0 : 4 * next() - 2));
        const x = Float64Array.from({ length: n }, () => 2 * next() - 1);
        const y = Float64Array.from({ length: 6 }, () => 2 * next() - 1);
        const gram = new Float64Array(36), jx = new Float64Array(6), jty = new Float64Array(n);
        for (let r = 0; r < 6; r++) {
          for (let c = 0; c <= r; c++) {
            let s = 0;
            for (let k = 0; k < n; k++) s += j[r * n + k]! * j[c * n + k]!;
            gram[r * 6 + c] = s;
            gram[c * 6 + r] = s;
          }
          let s = 0;
          for (let k = 0; k < n; k++) s += j[r * n + k]! * x[k]!;
          jx[r] = s;
        }
        for (let k = 0; k < n; k++) {
          let s = 0;
          for (let r = 0; r < 6; r++) s += j[r * n + k]! * y[r]!;
          jty[k] = s;
        }
        expect(Array.from(gram6(j, n, new Float64Array(36)))).toEqual(Array.from(gram));
        expect(Array.from(mul6(j, n, x, new Float64Array(6)))).toEqual(Array.from(jx));
        expect(Array.from(mul6T(j, n, y, new Float64Array(n)))).toEqual(Array.from(jty));
      }),
      { numRuns: 200 },
    );
  });
});

