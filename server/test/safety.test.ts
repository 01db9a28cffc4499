import { ACTIVE_DIM, ARM_DOF, armHome, createRig, pose, SIDES, type Side } from '@dexbridge/retarget';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTIVE_LAYOUT, activeHome, activeLimits, DEFAULT_FLANGE_WORKSPACE, Safety, type SafetyOptions, type SafetyReport, type WorkspaceBox,
} from '../src/control/index.js';

const rig = createRig();
const home = activeHome(rig);
const { lower, upper, maxVelocity } = activeLimits(rig);
const ACC = 10;
const DT = 0.01;
/** Slack for floating-point rounding in limit checks. */
const EPS = 1e-9;
const isArm = (i: number): boolean => SIDES.some((s) => i >= ACTIVE_LAYOUT[`${s}Arm`].offset && i < ACTIVE_LAYOUT[`${s}Arm`].offset + ARM_DOF);
const armOffset = (side: Side): number => ACTIVE_LAYOUT[`${side}Arm`].offset;
const handOffset = (side: Side): number => ACTIVE_LAYOUT[`${side}Hand`].offset;

/** Flange position in base_link for the arm joints of `q46`, by the rig's own FK. */
function flange(side: Side, q46: ArrayLike<number>): [number, number, number] {
  const s = rig.sides[side];
  const o = armOffset(side);
  const poses = s.armTree.fk(Array.from({ length: ARM_DOF }, (_, j) => q46[o + j]!));
  const k = (s.armTree.linkCount - 1) * pose.POSE_STRIDE;
  const p = pose.transformPoint(new Float64Array(3), 0, s.armBaseInRig, 0, poses[k + 9]!, poses[k + 10]!, poses[k + 11]!);
  return [p[0]!, p[1]!, p[2]!];
}

/** Element-wise `===` (so 0 and −0 match, unlike toEqual). */
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

function inBox(p: readonly number[], box: WorkspaceBox, tol = 0): boolean {
  return p.every((v, k) => v >= box.minM[k]! - tol && v <= box.maxM[k]! + tol);
}

interface Step {
  readonly q: Float64Array;
  readonly dtS: number;
  readonly report: SafetyReport;
}

/** Runs `steps` steps of `dtS` from time `t0Ms`, desired from `desired(k)`; returns outputs with report copies. */
function run(safety: Safety, desired: (k: number) => ArrayLike<number>, steps: number, dtS = DT, t0Ms = 0): Step[] {
  const out: Step[] = [];
  for (let k = 0; k < steps; k++) {
    const q = new Float64Array(ACTIVE_DIM);
    const r = safety.apply(desired(k), dtS, t0Ms + (k + 1) * dtS * 1000, q);
    out.push({ q, dtS, report: structuredClone(r) });
  }
  return out;
}

/** Home with every hand joint at its upper limit and each arm's joint 1 turned by 1 rad: far, inside the box. */
function farTarget(): Float64Array {
  const d = Float64Array.from(home);
  for (const side of SIDES) {
    d[armOffset(side)] = home[armOffset(side)]! + (side === 'left' ? 1 : -1);
    for (let j = 0; j < 16; j++) d[handOffset(side) + j] = upper[handOffset(side) + j]!;
  }
  return d;
}

/** The left arm bent forward and down: flange at z ≈ 0.68 m, below the default box. */
function leftOutside(): Float64Array {
  const d = Float64Array.from(home);
  d[armOffset('left') + 1] = 1.5;
  d[armOffset('left') + 3] = -1.0;
  return d;
}

describe('Safety defaults and options', () => {
  it('puts both home flanges inside the default workspace box', () => {
    for (const side of SIDES) {
      const p = flange(side, home);
      expect(inBox(p, DEFAULT_FLANGE_WORKSPACE)).toBe(true);
      expect(p[0]).toBeCloseTo(0.307, 3);
      expect(Math.abs(p[1])).toBeCloseTo(0.3, 3);
      expect(p[2]).toBeCloseTo(1.39, 3);
    }
  });

  it('starts at the home posture', () => {
    const s = new Safety(rig);
    expect(same(s.commanded(new Float64Array(ACTIVE_DIM)), home)).toBe(true);
    for (const side of SIDES) expect(Array.from(home.subarray(armOffset(side), armOffset(side) + ARM_DOF))).toEqual(armHome(side));
  });

  it.each<[SafetyOptions, string]>([
    [{ armMaxAccelerationRadS2: 0 }, 'armMaxAccelerationRadS2'],
    [{ armMaxAccelerationRadS2: Number.NaN }, 'armMaxAccelerationRadS2'],
    [{ rampDurationMs: -1 }, 'rampDurationMs'],
    [{ rampDurationMs: Number.POSITIVE_INFINITY }, 'rampDurationMs'],
    [{ maxStepS: 0 }, 'maxStepS'],
    [{ workspace: { left: { minM: [0, 0, 2], maxM: [1, 1, 1] } } }, 'workspace.left.minM[2]'],
    [{ workspace: { right: { minM: [0, 0], maxM: [1, 1, 1] } as unknown as WorkspaceBox } }, 'workspace.right.minM'],
  ])('refuses %j with a RangeError naming %s', (options, name) => {
    expect(() => new Safety(rig, options)).toThrow(RangeError);
    expect(() => new Safety(rig, options)).toThrow(name);
  });

  it('refuses vectors that are not 46 long', () => {
    const s = new Safety(rig);
    expect(() => s.apply(new Float64Array(45), DT, 0, new Float64Array(ACTIVE_DIM))).toThrow(RangeError);
    expect(() => s.apply(home, DT, 0, new Float64Array(47))).toThrow(RangeError);
    expect(() => s.reset(new Float64Array(3))).toThrow(RangeError);
    expect(() => s.reset(new Float64Array(ACTIVE_DIM).fill(Number.NaN))).toThrow(RangeError);
  });

  it('returns the same report object every call', () => {
    const s = new Safety(rig);
    const out = new Float64Array(ACTIVE_DIM);
    expect(s.apply(home, DT, 10, out)).toBe(s.apply(home, DT, 20, out));
  });
});

describe('Safety e-stop', () => {
  it('holds the last command exactly while the desired moves, and latches until reset', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const target = farTarget();
    const before = run(s, () => target, 20);
    const last = before.at(-1)!.q;
    expect(same(last, home)).toBe(false); // it was moving
    s.estop();
    const during = run(s, (k) => target.map((v) => v + Math.sin(k)), 100, DT, 1000);
    for (const step of during) {
      expect(same(step.q, last)).toBe(true);
      expect(step.report.estop).toBe(true);
      expect(step.report.held).toBe(true);
      expect(step.report.holdReason).toBe('estop');
    }
    s.release(); // a hold release does not clear the e-stop
    expect(run(s, () => target, 5, DT, 3000).every((st) => st.q.every((v, i) => v === last[i]))).toBe(true);
    s.resetEstop();
    const after = run(s, () => target, 50, DT, 4000);
    expect(after[0]!.report.estop).toBe(false);
    expect(same(after[0]!.q, last)).toBe(true); // the ramp starts at 0: no jump
    expect(same(after.at(-1)!.q, last)).toBe(false);
    expect(s.estopped).toBe(false);
  });
});

describe('Safety ramp-in', () => {
  it('grows the step size from 0 over the ramp, never beyond the limits, with no jump toward a far target', () => {
    const s = new Safety(rig); // ramp pending from the start
    const target = farTarget();
    const steps = run(s, () => target, 150);
    let prev = home;
    const hand = handOffset('left') + 1; // a hand joint far from its target: no acceleration limit
    const handSteps: number[] = [];
    steps.forEach((st, k) => {
      const frac = st.report.rampFraction;
      for (let i = 0; i < ACTIVE_DIM; i++) {
        const d = Math.abs(st.q[i]! - prev[i]!);
        expect(d).toBeLessThanOrEqual(maxVelocity[i]! * DT + EPS);
        // Ramp-scaled velocity (arms may only be slower: they also accelerate within 10 rad/s²).
        expect(d).toBeLessThanOrEqual(frac * maxVelocity[i]! * DT + EPS);
      }
      handSteps.push(Math.abs(st.q[hand]! - prev[hand]!));
      if (k === 0) expect(frac).toBe(0);
      prev = st.q;
    });
    expect(same(steps[0]!.q, home)).toBe(true); // the first step does not move at all
    expect(steps[0]!.report.ramping).toBe(true);
    // The hand joint's step is the ramp fraction of its limit: (k·dt / 1 s)·v·dt.
    expect(handSteps[10]!).toBeCloseTo(0.1 * maxVelocity[hand]! * DT, 9);
    expect(handSteps[50]!).toBeCloseTo(0.5 * maxVelocity[hand]! * DT, 9);
    for (let k = 1; k < 55; k++) expect(handSteps[k]!).toBeGreaterThan(handSteps[k - 1]!);
    expect(steps[120]!.report.ramping).toBe(false);
    expect(steps[120]!.report.rampFraction).toBe(1);
  });

  it('ramps on release of a hold', () => {
    const s = new Safety(rig, { rampDurationMs: 500 });
    s.beginRamp(0);
    s.hold('idle');
    run(s, () => farTarget(), 10);
    s.release();
    const steps = run(s, () => farTarget(), 10, DT, 1000);
    expect(steps[0]!.report.rampFraction).toBe(0);
    expect(steps[0]!.report.held).toBe(false);
    expect(steps[5]!.report.rampFraction).toBeCloseTo(0.1, 9);
  });
});

describe('Safety hold requests', () => {
  it('brings moving arms to rest within the acceleration limit, then holds exactly', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const target = farTarget();
    const moving = run(s, () => target, 30);
    s.hold('watchdog');
    const held = run(s, () => target, 100, DT, 1000);
    expect(held.every((st) => st.report.held && st.report.holdReason === 'watchdog')).toBe(true);
    const all = [{ q: home }, ...moving, ...held];
    let v = new Float64Array(ACTIVE_DIM);
    for (let k = 1; k < all.length; k++) {
      for (let i = 0; i < ACTIVE_DIM; i++) {
        const vi = (all[k]!.q[i]! - all[k - 1]!.q[i]!) / DT;
        if (isArm(i)) expect(Math.abs(vi - v[i]!)).toBeLessThanOrEqual(ACC * DT + 1e-6);
        v[i] = vi;
      }
      v = Float64Array.from(v);
    }
    // At rest after at most 2.62 / 10 s for joint 1 (moving at ≤ its limit), then exactly still.
    const rest = held[40]!.q;
    for (const st of held.slice(40)) expect(same(st.q, rest)).toBe(true);
    expect(s.holdReason).toBe('watchdog');
  });
});

describe('Safety limits for random desired inputs', () => {
  interface Segment {
    readonly u: readonly number[];
    readonly steps: number;
    readonly event: 'none' | 'hold' | 'release' | 'ramp';
  }
  const segment: fc.Arbitrary<Segment> = fc.record({
    // Desired values from 0.3 rad below the lower limit to 0.3 rad above the upper one; sometimes NaN.
    u: fc.array(fc.oneof({ weight: 20, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }, { weight: 1, arbitrary: fc.constant(Number.NaN) }), { minLength: ACTIVE_DIM, maxLength: ACTIVE_DIM }),
    steps: fc.integer({ min: 1, max: 40 }),
    event: fc.constantFrom<Segment['event']>('none', 'none', 'none', 'hold', 'release', 'ramp'),
  });
  const desiredOf = (u: readonly number[]): number[] => u.map((x, i) => lower[i]! - 0.3 + x * (upper[i]! - lower[i]! + 0.6));

  /**
   * Runs the segments; `dtMs(k)` gives step k's period. Checks position, velocity, the box (with
   * `boxTolM` of slack) and, if asked, arm acceleration.
   */
  function holds(segments: readonly Segment[], dtMs: (k: number) => number, checkAcceleration: boolean, boxTolM: number): boolean {
    const s = new Safety(rig);
    let prev = Float64Array.from(home);
    let prevV = new Float64Array(ACTIVE_DIM);
    let t = 0;
    let k = 0;
    const out = new Float64Array(ACTIVE_DIM);
    for (const seg of segments) {
      if (seg.event === 'hold') s.hold('test');
      if (seg.event === 'release') s.release();
      if (seg.event === 'ramp') s.beginRamp(200);
      const desired = desiredOf(seg.u);
      for (let n = 0; n < seg.steps; n++) {
        const dt = dtMs(k++) / 1000;
        t += dt * 1000;
        s.apply(desired, dt, t, out);
        const v = Float64Array.from(out, (q, i) => (q - prev[i]!) / dt);
        for (let i = 0; i < ACTIVE_DIM; i++) {
          if (!(out[i]! >= lower[i]! && out[i]! <= upper[i]!)) return false;
          if (Math.abs(v[i]!) > maxVelocity[i]! * (1 + 1e-9)) return false;
          if (checkAcceleration && isArm(i) && Math.abs(v[i]! - prevV[i]!) > ACC * dt * (1 + 1e-6) + 1e-9) return false;
        }
        for (const side of SIDES) if (!inBox(flange(side, out), DEFAULT_FLANGE_WORKSPACE, boxTolM)) return false;
        prevV = v;
        prev = Float64Array.from(out);
      }
    }
    return true;
  }

  it('keeps position, velocity, arm acceleration and the workspace box at a fixed period', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 10 }), fc.double({ min: 1, max: 40, noNaN: true }), (segments, periodMs) =>
        holds(segments, () => periodMs, true, 1e-6),
      ),
      { numRuns: 200 },
    );
  });

  // A stop's path is checked on the grid of the step it starts from; when later steps fall
  // between its grid points (a period jumping between 1 and 40 ms) the flange may cross the box by
  // a fraction of a millimetre. Acceleration from step-average velocities is not defined here.
  it('keeps position, velocity and the workspace box (within 1 mm) with a jittering period', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 10 }), fc.array(fc.double({ min: 1, max: 40, noNaN: true }), { minLength: 1, maxLength: 50 }), (segments, periods) =>
        holds(segments, (k) => periods[k % periods.length]!, false, 1e-3),
      ),
      { numRuns: 200 },
    );
  });

  /**
   * Runs the segments at periods `dtMs(k)` and checks every arm joint's step acceleration
   * (velocity change over the step) against 10 rad/s² and its change against 5000 rad/s³ × dt,
   * except on steps of a workspace stop (documented) and the steps right after one.
   */
  function accelerationAndJerkHold(segments: readonly Segment[], dtMs: (k: number) => number): boolean {
    const s = new Safety(rig);
    let prev = Float64Array.from(home);
    let prevV = new Float64Array(ACTIVE_DIM);
    let prevA = new Float64Array(ACTIVE_DIM);
    let braking = 2;
    let t = 0;
    let k = 0;
    const out = new Float64Array(ACTIVE_DIM);
    for (const seg of segments) {
      if (seg.event === 'hold') s.hold('test');
      if (seg.event === 'release') s.release();
      if (seg.event === 'ramp') s.beginRamp(200);
      const desired = desiredOf(seg.u);
      for (let n = 0; n < seg.steps; n++) {
        const dt = dtMs(k++) / 1000;
        t += dt * 1000;
        const r = s.apply(desired, dt, t, out);
        braking = r.workspaceViolation.left || r.workspaceViolation.right ? 0 : braking + 1;
        const v = Float64Array.from(out, (q, i) => (q - prev[i]!) / dt);
        const a = Float64Array.from(v, (vi, i) => (vi - prevV[i]!) / dt);
        if (braking >= 2) {
          for (let i = 0; i < ACTIVE_DIM; i++) {
            if (!isArm(i)) continue;
            if (Math.abs(a[i]!) > ACC * (1 + 1e-6) + 1e-6) return false;
            if (Math.abs(a[i]! - prevA[i]!) > 5000 * dt * (1 + 1e-6) + 1e-6) return false;
          }
        }
        prevV = v;
        prevA = a;
        prev = Float64Array.from(out);
      }
    }
    return true;
  }

  it('keeps every arm step within 10 rad/s² and 5000 rad/s³ at steady periods from 1 ms to 40 ms', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.constantFrom(1, 2, 4, 1000 / 90, 40), (segments, periodMs) =>
        accelerationAndJerkHold(segments, () => periodMs),
      ),
      { numRuns: 100 },
    );
  }, 120_000);

  it('treats a long step as maxStepS, so a stalled loop never licenses a jump', () => {
    const s = new Safety(rig, { maxStepS: 0.05 });
    s.beginRamp(0);
    const out = new Float64Array(ACTIVE_DIM);
    s.apply(farTarget(), 10, 10_000, out);
    for (let i = 0; i < ACTIVE_DIM; i++) expect(Math.abs(out[i]! - home[i]!)).toBeLessThanOrEqual(maxVelocity[i]! * 0.05 + EPS);
  });

  it('clamps desired joints outside their limits and reports them', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const d = Float64Array.from(home);
    const i = handOffset('right') + 2;
    d[i] = upper[i]! + 1;
    const steps = run(s, () => d, 200);
    expect(steps.at(-1)!.q[i]).toBe(upper[i]);
    expect(steps.at(-1)!.report.clampedJoints).toBe(1);
    expect(steps.at(-1)!.report.limitedJoints).toBe(1);
  });
});

describe('Safety workspace box', () => {
  it('holds an arm whose desired flange is outside its box at its last inside position; the other arm moves', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const d = leftOutside();
    expect(inBox(flange('left', d), DEFAULT_FLANGE_WORKSPACE)).toBe(false);
    const rightTarget = home[armOffset('right')]! - 0.5;
    d[armOffset('right')] = rightTarget;
    const steps = run(s, () => d, 400);
    for (const st of steps) {
      expect(inBox(flange('left', st.q), DEFAULT_FLANGE_WORKSPACE)).toBe(true);
      expect(st.report.workspaceViolation.right).toBe(false);
    }
    expect(steps.some((st) => st.report.workspaceViolation.left)).toBe(true);
    const end = steps.at(-1)!;
    expect(end.report.workspaceViolation.left).toBe(true);
    // The left arm went toward the target as far as the box allows, then stopped exactly.
    const lo = armOffset('left');
    const rest = steps[300]!.q.subarray(lo, lo + ARM_DOF);
    for (const st of steps.slice(300)) expect(same(st.q.subarray(lo, lo + ARM_DOF), rest)).toBe(true);
    expect(rest[1]!).toBeGreaterThan(home[lo + 1]! + 0.3);
    expect(flange('left', end.q)[2]).toBeLessThan(0.8); // close to the floor of the box (0.75 m)
    expect(end.q[armOffset('right')]).toBe(rightTarget);
  });

  it('lets an arm that starts outside its box move back, never further out', () => {
    const s = new Safety(rig);
    s.reset(leftOutside());
    s.beginRamp(0);
    const steps = run(s, () => home, 300);
    let z = flange('left', leftOutside())[2];
    for (const st of steps) {
      const zk = flange('left', st.q)[2];
      expect(zk).toBeGreaterThanOrEqual(z - 1e-12);
      z = zk;
    }
    expect(same(steps.at(-1)!.q, home)).toBe(true);
  });

  it('works without an acceleration limit: the arm stops at once at the wall', () => {
    const s = new Safety(rig, { armMaxAccelerationRadS2: Number.POSITIVE_INFINITY });
    s.beginRamp(0);
    const steps = run(s, () => leftOutside(), 200);
    for (const st of steps) {
      expect(st.q.every(Number.isFinite)).toBe(true);
      expect(inBox(flange('left', st.q), DEFAULT_FLANGE_WORKSPACE)).toBe(true);
    }
    expect(steps.at(-1)!.report.workspaceViolation.left).toBe(true);
  });

  it('uses per-side boxes from the options', () => {
    // A box that the left arm's home flange is already at the edge of in +x: moving forward is refused.
    const box: WorkspaceBox = { minM: [-0.2, -0.9, 0.75], maxM: [0.31, 0.9, 2.0] };
    const s = new Safety(rig, { workspace: { left: box } });
    s.beginRamp(0);
    const d = Float64Array.from(home);
    d[armOffset('left') + 1] = home[armOffset('left') + 1]! + 0.5; // lean forward: +x
    d[armOffset('right') + 1] = home[armOffset('right') + 1]! + 0.5;
    const steps = run(s, () => d, 200);
    expect(steps.at(-1)!.report.workspaceViolation.left).toBe(true);
    expect(flange('left', steps.at(-1)!.q)[0]).toBeLessThanOrEqual(0.31);
    expect(flange('right', steps.at(-1)!.q)[0]).toBeGreaterThan(0.38);
  });
});

describe('Safety non-finite desired joints', () => {
  it('holds a joint whose desired value is NaN while the others move', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const d = farTarget();
    const arm = armOffset('right') + 2;
    const hand = handOffset('left') + 5;
    d[arm] = Number.NaN;
    d[hand] = Number.POSITIVE_INFINITY;
    const steps = run(s, () => d, 100);
    for (const st of steps) {
      expect(st.q[arm]).toBe(home[arm]);
      expect(st.q[hand]).toBe(home[hand]);
      expect(st.report.nonFiniteJoints).toBe(2);
    }
    expect(steps.at(-1)!.q[armOffset('right')]).not.toBe(home[armOffset('right')]);
  });

  it('brings a moving arm joint to rest within the acceleration limit when its desired turns NaN', () => {
    const s = new Safety(rig);
    s.beginRamp(0);
    const d = farTarget();
    const i = armOffset('left');
    const moving = run(s, () => d, 40);
    const vBefore = (moving[39]!.q[i]! - moving[38]!.q[i]!) / DT;
    expect(Math.abs(vBefore)).toBeGreaterThan(0.3);
    d[i] = Number.NaN;
    const after = run(s, () => d, 100, DT, 1000);
    let prev = moving[39]!.q[i]!;
    let v = vBefore;
    for (const st of after) {
      const vk = (st.q[i]! - prev) / DT;
      expect(Math.abs(vk - v)).toBeLessThanOrEqual(ACC * DT + 1e-6);
      v = vk;
      prev = st.q[i]!;
    }
    expect(after.at(-1)!.q[i]).toBe(after.at(-2)!.q[i]);
  });
});
