import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ONE_EURO_HAND_POSITION_DEFAULTS,
  ONE_EURO_ROTATION_DEFAULTS,
  OneEuroFilter,
  QuaternionOneEuroFilter,
  VelocityLimiter,
} from '../src/filters/index.js';
import { mulberry32 } from '../../test/support/random.js';

/** Deterministic noise in [−1, 1]. */
function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() * 2 - 1;
}

const finite = (lo: number, hi: number) => fc.double({ min: lo, max: hi, noNaN: true });

describe('OneEuroFilter', () => {
  it('uses the documented hand-position defaults', () => {
    const f = new OneEuroFilter(3);
    expect([f.minCutoffHz, f.beta, f.dCutoffHz]).toEqual([1, 20, 1]);
    expect(ONE_EURO_HAND_POSITION_DEFAULTS).toEqual({ minCutoffHz: 1, beta: 20, dCutoffHz: 1 });
  });

  it.each([
    ['minCutoffHz', { minCutoffHz: 0 }],
    ['minCutoffHz', { minCutoffHz: Number.NaN }],
    ['beta', { beta: -1 }],
    ['dCutoffHz', { dCutoffHz: Number.POSITIVE_INFINITY }],
  ])('rejects a bad %s with a RangeError naming it', (name, opts) => {
    expect(() => new OneEuroFilter(2, opts)).toThrow(RangeError);
    expect(() => new OneEuroFilter(2, opts)).toThrow(name);
  });

  it('rejects a dimension that is not a positive integer', () => {
    expect(() => new OneEuroFilter(0)).toThrow(/dim/);
  });

  it('passes the first sample through', () => {
    const out = new OneEuroFilter(3).filter(new Float64Array(3), [0.1, -0.2, 0.3], 0);
    expect(Array.from(out)).toEqual([0.1, -0.2, 0.3]);
  });

  it('follows the paper’s update for one step', () => {
    const f = new OneEuroFilter(1, { minCutoffHz: 1, beta: 0.5, dCutoffHz: 1 });
    f.filter([0], [0], 0);
    const dt = 0.01;
    const alpha = (c: number): number => 1 / (1 + 1 / (2 * Math.PI * c * dt));
    const edx = alpha(1) * (1 / dt);
    const expected = alpha(1 + 0.5 * edx) * 1;
    expect(f.filter([0], [1], 10)[0]).toBeCloseTo(expected, 12);
  });

  it('converges to a constant input', () => {
    fc.assert(
      fc.property(finite(-2, 2), finite(-2, 2), finite(5, 40), (start, c, dtMs) => {
        const f = new OneEuroFilter(1);
        const out = [0];
        f.filter(out, [start], 0);
        for (let i = 1; i <= 400; i++) f.filter(out, [c], i * dtMs);
        return Math.abs(out[0]! - c) < 1e-6;
      }),
    );
  });

  it('stays finite for finite inputs at increasing times', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(finite(-1e3, 1e3), finite(1e-3, 100)), { minLength: 1, maxLength: 50 }),
        (samples) => {
          const f = new OneEuroFilter(1);
          const out = [0];
          let t = 0;
          for (const [x, dt] of samples) {
            t += dt;
            f.filter(out, [x], t);
            if (!Number.isFinite(out[0]!)) return false;
          }
          return true;
        },
      ),
    );
  });

  it('returns the previous output for a repeated or earlier timestamp', () => {
    const f = new OneEuroFilter(2);
    f.filter(new Float64Array(2), [0, 0], 0);
    const prev = Array.from(f.filter(new Float64Array(2), [1, 1], 10));
    expect(Array.from(f.filter(new Float64Array(2), [5, 5], 10))).toEqual(prev);
    expect(Array.from(f.filter(new Float64Array(2), [5, 5], 3))).toEqual(prev);
  });

  it('holds the previous output when a sample has a NaN', () => {
    const f = new OneEuroFilter(2);
    f.filter([0, 0], [0.5, 0.5], 0);
    expect(f.filter([0, 0], [Number.NaN, 1], 10)).toEqual([0.5, 0.5]);
    expect(Number.isFinite(f.filter([0, 0], [1, 1], 20)[0]!)).toBe(true);
  });

  it('gives the same result when out aliases the input', () => {
    const a = new OneEuroFilter(2);
    const b = new OneEuroFilter(2);
    const x = Float64Array.of(0, 1);
    a.filter(new Float64Array(2), [0, 1], 0);
    b.filter(x, x, 0);
    const expected = a.filter(new Float64Array(2), [0.3, 0.7], 11);
    x.set([0.3, 0.7]);
    expect(Array.from(b.filter(x, x, 11))).toEqual(Array.from(expected));
  });

  it('reduces jitter on a still hand', () => {
    const noise = rng(1);
    const f = new OneEuroFilter(1);
    let rawSq = 0;
    let outSq = 0;
    const out = [0];
    for (let i = 0; i < 600; i++) {
      const x = 0.003 * noise(); // ±3 mm at rest
      f.filter(out, [x], i * (1000 / 72));
      if (i >= 100) {
        rawSq += x * x;
        outSq += out[0]! * out[0]!;
      }
    }
    expect(Math.sqrt(outSq / rawSq)).toBeLessThan(0.5);
  });

  it('lags less on a fast ramp with beta than without', () => {
    const lagAt = (beta: number): number => {
      const f = new OneEuroFilter(1, { beta });
      const out = [0];
      let x = 0;
      for (let i = 0; i < 72; i++) {
        x = 0.5 * (i / 72); // 0.5 m/s
        f.filter(out, [x], i * (1000 / 72));
      }
      return x - out[0]!;
    };
    expect(lagAt(20)).toBeLessThan(0.25 * lagAt(0));
  });

  it('passes the input through again after reset', () => {
    const f = new OneEuroFilter(1);
    f.filter([0], [0], 0);
    f.filter([0], [1], 10);
    f.reset();
    expect(f.filter([0], [7], 5)).toEqual([7]);
  });
});

type Q = [number, number, number, number];
const qmul = (a: Q, b: Q): Q => [
  a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
  a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
  a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
  a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
];
const axisAngle = (x: number, y: number, z: number, angle: number): Q => {
  const n = Math.hypot(x, y, z);
  const s = Math.sin(angle / 2) / n;
  return [x * s, y * s, z * s, Math.cos(angle / 2)];
};
/** Rotation angle (rad) between two quaternions, sign-agnostic. */
const qAngle = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const d = Math.abs(a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]! + a[3]! * b[3]!);
  return 2 * Math.acos(Math.min(1, d));
};
const qArb = fc
  .tuple(finite(-1, 1), finite(-1, 1), finite(-1, 1), finite(-1, 1))
  .filter((q) => Math.hypot(...q) > 0.1)
  .map((q): Q => {
    const n = Math.hypot(...q);
    return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
  });

describe('QuaternionOneEuroFilter', () => {
  it('uses the documented rotation defaults', () => {
    const f = new QuaternionOneEuroFilter();
    expect([f.minCutoffHz, f.beta, f.dCutoffHz]).toEqual([
      ONE_EURO_ROTATION_DEFAULTS.minCutoffHz,
      ONE_EURO_ROTATION_DEFAULTS.beta,
      ONE_EURO_ROTATION_DEFAULTS.dCutoffHz,
    ]);
  });

  it('rejects a bad option with a RangeError naming it', () => {
    expect(() => new QuaternionOneEuroFilter({ dCutoffHz: -2 })).toThrow(/dCutoffHz/);
  });

  it('passes the first sample through, normalised', () => {
    const out = new QuaternionOneEuroFilter().filter(new Float64Array(4), [0, 0, 0, 2], 0);
    expect(Array.from(out)).toEqual([0, 0, 0, 1]);
  });

  it('converges to a constant orientation', () => {
    fc.assert(
      fc.property(qArb, qArb, (q0, q1) => {
        const f = new QuaternionOneEuroFilter();
        const out = new Float64Array(4);
        f.filter(out, q0, 0);
        for (let i = 1; i <= 400; i++) f.filter(out, q1, i * 14);
        return qAngle(out, q1) < 1e-5;
      }),
    );
  });

  it('outputs unit quaternions for arbitrary inputs and times', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(qArb, finite(-5, 50)), { minLength: 1, maxLength: 40 }), (samples) => {
        const f = new QuaternionOneEuroFilter();
        const out = new Float64Array(4);
        let t = 0;
        for (const [q, dt] of samples) {
          t += dt;
          f.filter(out, q, t);
          if (Math.abs(Math.hypot(...out) - 1) > 1e-9) return false;
        }
        return true;
      }),
    );
  });

  it('does not flip when the input alternates between q and −q', () => {
    const f = new QuaternionOneEuroFilter();
    const out = new Float64Array(4);
    const prev = new Float64Array(4);
    const base = axisAngle(0.3, -1, 0.2, 2.5);
    f.filter(out, base, 0);
    for (let i = 1; i < 100; i++) {
      prev.set(out);
      const turn = qmul(base, axisAngle(0, 0, 1, 0.01 * i));
      const signed = i % 2 === 0 ? turn : (turn.map((v) => -v) as Q);
      f.filter(out, signed, i * 14);
      const dot = out[0]! * prev[0]! + out[1]! * prev[1]! + out[2]! * prev[2]! + out[3]! * prev[3]!;
      expect(dot).toBeGreaterThan(0.99);
    }
  });

  it('holds the previous output for a repeated timestamp or a zero quaternion', () => {
    const f = new QuaternionOneEuroFilter();
    const out = new Float64Array(4);
    f.filter(out, [0, 0, 0, 1], 0);
    const held = Array.from(f.filter(out, axisAngle(1, 0, 0, 0.5), 10));
    expect(Array.from(f.filter(out, axisAngle(0, 1, 0, 1), 10))).toEqual(held);
    expect(Array.from(f.filter(out, [0, 0, 0, 0], 20))).toEqual(held);
  });

  it('smooths jitter on a still wrist', () => {
    const noise = rng(7);
    const f = new QuaternionOneEuroFilter();
    const truth = axisAngle(1, 1, 0, 0.8);
    const out = new Float64Array(4);
    let rawSq = 0;
    let outSq = 0;
    for (let i = 0; i < 600; i++) {
      const jitter = axisAngle(noise(), noise(), noise() + 1e-3, 0.01 * Math.abs(noise())); // ≤ 0.6°
      const q = qmul(truth, jitter);
      f.filter(out, q, i * (1000 / 72));
      if (i >= 100) {
        rawSq += qAngle(q, truth) ** 2;
        outSq += qAngle(out, truth) ** 2;
      }
    }
    expect(Math.sqrt(outSq / rawSq)).toBeLessThan(0.5);
  });

  it('reads and writes at the given offsets', () => {
    const src = new Float64Array(12);
    src.set(axisAngle(0, 0, 1, 0.4), 5);
    const dst = new Float64Array(10);
    new QuaternionOneEuroFilter().filter(dst, src, 0, 3, 5);
    expect(Array.from(dst.subarray(3, 7))).toEqual(Array.from(src.subarray(5, 9)).map((v) => expect.closeTo(v, 12)));
    expect(dst[2]).toBe(0);
    expect(dst[7]).toBe(0);
  });

  it('passes the input through again after reset', () => {
    const f = new QuaternionOneEuroFilter();
    const out = new Float64Array(4);
    f.filter(out, [0, 0, 0, 1], 0);
    f.reset();
    const q = axisAngle(0, 1, 0, 1.2);
    f.filter(out, q, 5);
    expect(qAngle(out, q)).toBeLessThan(1e-7);
  });
});

describe('VelocityLimiter', () => {
  it('passes the first target through', () => {
    const l = new VelocityLimiter([1, 1]);
    expect(l.apply([0, 0], [3, -4], 0.01)).toEqual([3, -4]);
  });

  it('moves at most maxVelocity × dt per step', () => {
    const l = new VelocityLimiter([2.62, 5.26]);
    l.apply([0, 0], [0, 0], 0.01);
    const out = l.apply([0, 0], [1, -1], 0.01);
    expect(out[0]).toBeCloseTo(0.0262, 12);
    expect(out[1]).toBeCloseTo(-0.0526, 12);
  });

  it('never exceeds the velocity limit for random targets and steps', () => {
    fc.assert(
      fc.property(
        fc.array(finite(0.1, 5), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(fc.array(finite(-4, 4), { minLength: 3, maxLength: 3 }), finite(0, 0.1)), { maxLength: 60 }),
        (vmax, steps) => {
          const l = new VelocityLimiter(vmax);
          const out = new Float64Array(3);
          l.apply(out, [0, 0, 0], 0.01);
          for (const [target, dt] of steps) {
            const prev = Array.from(out);
            l.apply(out, target, dt);
            for (let i = 0; i < 3; i++) if (Math.abs(out[i]! - prev[i]!) > vmax[i]! * dt * (1 + 1e-12) + 1e-15) return false;
          }
          return true;
        },
      ),
    );
  });

  it('reaches a target within reach in one step', () => {
    const l = new VelocityLimiter([1]);
    l.apply([0], [0], 0.01);
    expect(l.apply([0], [0.005], 0.01)).toEqual([0.005]);
  });

  it('holds for dt ≤ 0', () => {
    const l = new VelocityLimiter([1]);
    l.apply([0], [0.5], 0.01);
    expect(l.apply([0], [1], 0)).toEqual([0.5]);
    expect(l.apply([0], [1], -0.01)).toEqual([0.5]);
  });

  it('starts from the state given to reset', () => {
    const l = new VelocityLimiter([1]);
    l.reset([2]);
    expect(l.apply([0], [3], 0.1)[0]).toBeCloseTo(2.1, 12);
  });

  it('forgets its state on reset without arguments', () => {
    const l = new VelocityLimiter([1]);
    l.apply([0], [2], 0.1);
    l.reset();
    expect(l.initialized).toBe(false);
    expect(l.apply([0], [-5], 0.1)).toEqual([-5]);
  });

  it('gives the same result when out aliases the target', () => {
    const l = new VelocityLimiter([1, 2]);
    l.apply([0, 0], [0, 0], 0.1);
    const x = [1, 1];
    expect(l.apply(x, x, 0.1)).toEqual([0.1, expect.closeTo(0.2, 12)]);
  });

  it('rejects a non-positive velocity limit naming the option', () => {
    expect(() => new VelocityLimiter([1, 0])).toThrow(/maxVelocity\[1\]/);
  });

  it('rejects an acceleration limit of the wrong length', () => {
    expect(() => new VelocityLimiter([1, 1], { maxAcceleration: [1] })).toThrow(/maxAcceleration/);
  });

  it('changes velocity by at most maxAcceleration × dt per step and never exceeds maxVelocity', () => {
    fc.assert(
      fc.property(
        finite(0.5, 5),
        finite(1, 20),
        fc.array(fc.tuple(finite(-3, 3), finite(0.001, 0.05)), { minLength: 1, maxLength: 80 }),
        (vmax, amax, steps) => {
          const l = new VelocityLimiter([vmax], { maxAcceleration: amax });
          const out = [0];
          l.apply(out, [0], 0.01);
          let v = 0;
          for (const [target, dt] of steps) {
            const prev = out[0]!;
            l.apply(out, [target], dt);
            const vNew = (out[0]! - prev) / dt;
            if (Math.abs(vNew - v) > amax * dt + 1e-9 || Math.abs(vNew) > vmax + 1e-9) return false;
            v = vNew;
          }
          return true;
        },
      ),
    );
  });

  it('with a target velocity: limits hold for random targets, velocities and steps', () => {
    fc.assert(
      fc.property(
        finite(0.5, 5),
        finite(1, 20),
        fc.array(fc.tuple(finite(-3, 3), finite(-10, 10), finite(0.001, 0.05)), { minLength: 1, maxLength: 80 }),
        (vmax, amax, steps) => {
          const l = new VelocityLimiter([vmax], { maxAcceleration: amax });
          const out = [0];
          l.apply(out, [0], 0.01);
          let v = 0;
          for (const [target, w, dt] of steps) {
            const prev = out[0]!;
            l.apply(out, [target], dt, [w]);
            const vNew = (out[0]! - prev) / dt;
            if (Math.abs(vNew - v) > amax * dt + 1e-9 || Math.abs(vNew) > vmax + 1e-9) return false;
            v = vNew;
          }
          return true;
        },
      ),
    );
  });

  it('follows a target moving at a steady, reachable speed without lag when told its velocity (a braking distance behind without)', () => {
    const dt = 1 / 90, vmax = 2.62, amax = 10, w = 1.5;
    const run = (feedForward: boolean): number => {
      const l = new VelocityLimiter([vmax], { maxAcceleration: amax });
      const out = [0];
      l.apply(out, [0], dt);
      let lag = Number.NaN;
      for (let k = 1; k <= 180; k++) {
        const target = w * k * dt;
        l.apply(out, [target], dt, feedForward ? [w] : undefined);
        lag = target - out[0]!;
      }
      return lag;
    };
    expect(run(true)).toBe(0);
    // Braking to stop at every frame's target keeps the output about w²/2a behind.
    expect(run(false)).toBeGreaterThan((0.8 * w * w) / (2 * amax));
  });

  it('passes a target that stops dead by at most the braking distance, then settles on it', () => {
    fc.assert(
      fc.property(finite(0.2, 2.5), finite(5, 20), fc.integer({ min: 5, max: 120 }), (w, amax, moving) => {
        const dt = 1 / 90, vmax = 2.62;
        const l = new VelocityLimiter([vmax], { maxAcceleration: amax });
        const out = [0];
        l.apply(out, [0], dt);
        let target = 0, overshoot = 0, v = 0;
        for (let k = 1; k <= moving; k++) {
          const prev = out[0]!;
          target = w * k * dt;
          l.apply(out, [target], dt, [w]);
          v = (out[0]! - prev) / dt;
        }
        for (let i = 0; i < 2000 && out[0] !== target; i++) {
          l.apply(out, [target], dt, [0]);
          overshoot = Math.max(overshoot, out[0]! - target);
        }
        return out[0] === target && overshoot <= (v * v) / (2 * amax) + amax * dt * dt;
      }),
    );
  });

  it('treats a non-finite target velocity as a held target', () => {
    const a = new VelocityLimiter([2], { maxAcceleration: 10 });
    const b = new VelocityLimiter([2], { maxAcceleration: 10 });
    const oa = [0], ob = [0];
    a.apply(oa, [0], 0.01);
    b.apply(ob, [0], 0.01);
    for (let k = 0; k < 50; k++) {
      a.apply(oa, [1], 0.01, [Number.NaN]);
      b.apply(ob, [1], 0.01);
      expect(oa[0]).toBe(ob[0]);
    }
  });

  it('reaches a held target with the acceleration limit without overshooting', () => {
    fc.assert(
      fc.property(finite(0.5, 5), finite(1, 20), finite(-3, 3), finite(0.001, 0.05), (vmax, amax, target, dt) => {
        const l = new VelocityLimiter([vmax], { maxAcceleration: amax });
        const out = [0];
        l.apply(out, [0], dt);
        let overshoot = 0;
        for (let i = 0; i < 20000 && out[0] !== target; i++) {
          l.apply(out, [target], dt);
          overshoot = Math.max(overshoot, Math.sign(target) * (out[0]! - target));
        }
        return out[0] === target && overshoot < 1e-12;
      }),
    );
  });

  it('with position limits: stays inside them and brakes to a stop at a limit within the acceleration limit, whatever the target, its velocity and frame times varying by ±5 %', () => {
    fc.assert(
      fc.property(
        finite(0.5, 5),
        finite(1, 20),
        finite(0.1, 2),
        finite(0.005, 0.03),
        // Targets held for 1–80 frames each, so the joint travels onto its limits.
        fc.array(fc.tuple(finite(-4, 4), finite(-10, 10), fc.integer({ min: 1, max: 80 })), { minLength: 1, maxLength: 12 }),
        (vmax, amax, limit, dt0, segments) => {
          const l = new VelocityLimiter([vmax], { maxAcceleration: amax, lower: [-limit], upper: [limit] });
          const out = [0];
          l.apply(out, [0], dt0);
          let v = 0, k = 0;
          for (const [target, w, frames] of segments) {
            for (let f = 0; f < frames; f++, k++) {
              const dt = dt0 * (1 + 0.05 * Math.sin(k * 2.3));
              const prev = out[0]!;
              l.apply(out, [target], dt, [w]);
              const vNew = (out[0]! - prev) / dt;
              if (Math.abs(out[0]!) > limit) return false;
              if (Math.abs(vNew - v) > amax * dt + 1e-9 || Math.abs(vNew) > vmax + 1e-9) return false;
              v = vNew;
            }
          }
          return true;
        },
      ),
    );
  });

  it('with position limits: a target beyond a limit moving away from it stops the joint at the limit, not through it (the clamp after the step used to stop it within one step)', () => {
    const l = new VelocityLimiter([2.62], { maxAcceleration: 10, lower: [-1], upper: [0.5] });
    const out = [0];
    l.apply(out, [0], 0.01);
    let v = 0, peakDecel = 0;
    for (let i = 0; i < 200; i++) {
      const prev = out[0]!;
      l.apply(out, [2], 0.01, [2.62]);
      const vNew = (out[0]! - prev) / 0.01;
      peakDecel = Math.max(peakDecel, (v - vNew) / 0.01);
      v = vNew;
    }
    expect(out[0]).toBe(0.5);
    expect(v).toBe(0);
    expect(peakDecel).toBeLessThanOrEqual(10 + 1e-9);
    expect(peakDecel).toBeGreaterThan(5); // it did brake, at most at its limit
  });

  it('rejects position limits given alone, of the wrong length, or crossed', () => {
    expect(() => new VelocityLimiter([1], { lower: [0] })).toThrow(/lower and upper/);
    expect(() => new VelocityLimiter([1, 1], { lower: [0], upper: [1] })).toThrow(/2 entries/);
    expect(() => new VelocityLimiter([1], { lower: [1], upper: [0] })).toThrow(/lower\[0\]/);
  });
});
