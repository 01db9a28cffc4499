/**
 * The shipped robot descriptions (`urdf/robots/*.urdf`): valid for ROS's own parser, identical to
 * what the rig spec generates, and physically and kinematically what docs/robot.md says they are.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FINGERS, HAND_PASSIVE_SOURCES, SIDES, type Side, STATE_JOINT_NAMES } from '../../retarget/src/robotNames.js';
import { allUrdfFiles, type Geometry, type Origin, parseUrdf, type RobotModel, rigSpec } from '../src/index.js';
import { mulberry32 } from '../../test/support/random.js';

const ROBOTS_DIR = fileURLToPath(new URL('../robots/', import.meta.url));
const robotPath = (file: string): string => `${ROBOTS_DIR}${file}`;
const readRobot = (file: string): string => readFileSync(robotPath(file), 'utf8');
const loadRobot = (file: string): RobotModel => parseUrdf(readRobot(file));

/** Every file the package ships and the root link ROS must find in it. */
const EXPECTED_ROOTS: Readonly<Record<string, string>> = {
  'dexbridge_rig.urdf': 'base_link',
  'left_arm.urdf': 'left_arm_link0',
  'right_arm.urdf': 'right_arm_link0',
  'left_hand.urdf': 'left_hand_base',
  'right_hand.urdf': 'right_hand_base',
};
const COMMITTED_FILES = readdirSync(ROBOTS_DIR).sort();

// ---------------------------------------------------------------------------------------------
// A small, independent forward kinematics (the test must not trust the code it checks).

type V3 = readonly [number, number, number];
/** Row-major 3×3 rotation and a translation. */
interface Pose {
  readonly R: readonly number[];
  readonly t: V3;
}
const IDENTITY: Pose = { R: [1, 0, 0, 0, 1, 0, 0, 0, 1], t: [0, 0, 0] };

/** URDF rpy: R = Rz(yaw)·Ry(pitch)·Rx(roll). */
function rpyMatrix([r, p, y]: V3): number[] {
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  return [
    cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
    sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
    -sp, cp * sr, cp * cr,
  ];
}

/** Rodrigues: rotation about the unit axis `a` by `angle`. */
function axisAngle(a: V3, angle: number): number[] {
  const c = Math.cos(angle), s = Math.sin(angle), v = 1 - c;
  const [x, y, z] = a;
  return [
    c + x * x * v, x * y * v - z * s, x * z * v + y * s,
    y * x * v + z * s, c + y * y * v, y * z * v - x * s,
    z * x * v - y * s, z * y * v + x * s, c + z * z * v,
  ];
}

const at = (m: readonly number[], i: number): number => m[i]!;
function rotate(R: readonly number[], v: V3): V3 {
  return [
    at(R, 0) * v[0] + at(R, 1) * v[1] + at(R, 2) * v[2],
    at(R, 3) * v[0] + at(R, 4) * v[1] + at(R, 5) * v[2],
    at(R, 6) * v[0] + at(R, 7) * v[1] + at(R, 8) * v[2],
  ];
}
function matMul(A: readonly number[], B: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out.push(at(A, i * 3) * at(B, j) + at(A, i * 3 + 1) * at(B, 3 + j) + at(A, i * 3 + 2) * at(B, 6 + j));
  return out;
}
const transpose = (R: readonly number[]): number[] => [0, 3, 6, 1, 4, 7, 2, 5, 8].map((i) => at(R, i));
const add = (a: V3, b: V3): V3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const compose = (a: Pose, b: Pose): Pose => ({ R: matMul(a.R, b.R), t: add(rotate(a.R, b.t), a.t) });
const fromOrigin = (o: Origin): Pose => ({ R: rpyMatrix(o.rpy), t: o.xyz });
/** Pose `b` expressed in frame `a`: a⁻¹·b. */
const relative = (a: Pose, b: Pose): Pose => ({ R: matMul(transpose(a.R), b.R), t: rotate(transpose(a.R), sub(b.t, a.t)) });

/**
 * Every link's pose in the frame of `root` (default: the model's root), for the given joint values
 * (missing joints at 0; mimic joints follow their source).
 */
function forwardKinematics(model: RobotModel, values: ReadonlyMap<string, number>, root = model.root): Map<string, Pose> {
  const poses = new Map<string, Pose>([[root, IDENTITY]]);
  const positionOf = (name: string): number => {
    const j = model.jointByName.get(name)!;
    return j.mimic ? j.mimic.multiplier * positionOf(j.mimic.joint) + j.mimic.offset : (values.get(name) ?? 0);
  };
  for (const j of model.joints) {
    const parent = poses.get(j.parent);
    if (parent === undefined) continue; // not below `root`
    let pose = compose(parent, fromOrigin(j.origin));
    if (j.type === 'revolute' || j.type === 'continuous') pose = compose(pose, { R: axisAngle(j.axis, positionOf(j.name)), t: [0, 0, 0] });
    else if (j.type !== 'fixed') throw new Error(`test FK: unsupported joint type ${j.type}`);
    poses.set(j.child, pose);
  }
  return poses;
}

/** Half-extent of a primitive along unit world direction `u`, and its centre, given its world pose. */
function support(g: Geometry, pose: Pose, u: V3): { centre: number; half: number } {
  const centre = dot(pose.t, u);
  const local = rotate(transpose(pose.R), u); // u in the shape's frame
  switch (g.kind) {
    case 'box':
      return { centre, half: (g.size[0] * Math.abs(local[0]) + g.size[1] * Math.abs(local[1]) + g.size[2] * Math.abs(local[2])) / 2 };
    case 'cylinder': {
      const c = Math.abs(local[2]);
      return { centre, half: (g.length / 2) * c + g.radius * Math.sqrt(Math.max(0, 1 - c * c)) };
    }
    case 'sphere':
      return { centre, half: g.radius };
    default:
      throw new Error(`test geometry: unexpected ${g.kind} in the generated rig`);
  }
}

/** [min, max] of the collision geometry of `links` along `u`, at the poses given. */
function extent(model: RobotModel, poses: ReadonlyMap<string, Pose>, links: readonly string[], u: V3): { min: number; max: number; maxLink: string } {
  let min = Infinity, max = -Infinity, maxLink = '';
  for (const name of links) {
    const link = model.linkByName.get(name)!;
    const linkPose = poses.get(name)!;
    for (const c of link.collisions) {
      const { centre, half } = support(c.geometry, compose(linkPose, fromOrigin(c.origin)), u);
      min = Math.min(min, centre - half);
      if (centre + half > max) { max = centre + half; maxLink = name; }
    }
  }
  return { min, max, maxLink };
}

/** Eigenvalues of a symmetric 3×3 matrix (cyclic Jacobi). */
function symmetricEigenvalues(m: readonly number[]): [number, number, number] {
  const a = [...m];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = Math.abs(a[1]!) + Math.abs(a[2]!) + Math.abs(a[5]!);
    if (off <= 1e-30 * (Math.abs(a[0]!) + Math.abs(a[4]!) + Math.abs(a[8]!) + 1e-300)) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = a[p * 3 + q]!;
      if (apq === 0) continue;
      const theta = (a[q * 3 + q]! - a[p * 3 + p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      // a ← Jᵀ a J with the Givens rotation J in the (p, q) plane.
      for (let k = 0; k < 3; k++) {
        const akp = a[k * 3 + p]!, akq = a[k * 3 + q]!;
        a[k * 3 + p] = c * akp - s * akq;
        a[k * 3 + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p * 3 + k]!, aqk = a[q * 3 + k]!;
        a[p * 3 + k] = c * apk - s * aqk;
        a[q * 3 + k] = s * apk + c * aqk;
      }
    }
  }
  return [a[0]!, a[4]!, a[8]!];
}

const prng = mulberry32;

/** Random values for the model's non-mimic movable joints (by name), uniform within their limits. */
function randomValues(model: RobotModel, rnd: () => number): Map<string, number> {
  const values = new Map<string, number>();
  for (const j of model.joints) {
    if (j.type === 'fixed' || j.mimic || !j.limit) continue;
    values.set(j.name, j.limit.lower + (j.limit.upper - j.limit.lower) * rnd());
  }
  return values;
}

const expectClose = (actual: V3 | readonly number[], expected: V3 | readonly number[], tol: number, what: string): void => {
  expect(actual.length, what).toBe(expected.length);
  const err = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  expect(err, `${what}: got [${actual.join(', ')}], expected [${expected.join(', ')}]`).toBeLessThan(tol);
};

// ---------------------------------------------------------------------------------------------

describe('urdf/robots: check_urdf (ROS urdfdom)', () => {
  const probe = spawnSync('check_urdf', [], { encoding: 'utf8', timeout: 30_000 });
  const missing = (probe.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  const inCi = process.env['CI'] === 'true';

  if (missing && !inCi) {
    it.skip('check_urdf is not installed here (Debian/Ubuntu: apt install liburdfdom-tools); skipped outside CI, required in CI', () => {});
    return;
  }

  it.each(COMMITTED_FILES)('%s passes check_urdf and has the expected root link', (file) => {
    if (missing) throw new Error('check_urdf not found on PATH: CI must install it (apt install liburdfdom-tools); this check never skips in CI');
    const root = EXPECTED_ROOTS[file];
    expect(root, `unexpected file urdf/robots/${file}: add its root link to EXPECTED_ROOTS`).toBeDefined();
    let output: string;
    try {
      output = execFileSync('check_urdf', [robotPath(file)], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { status?: number | null; stdout?: string; stderr?: string };
      throw new Error(`check_urdf rejected urdf/robots/${file} (exit ${e.status}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    expect(output).toContain('Successfully Parsed XML');
    expect(output).toContain(`root Link: ${root} has`);
    // urdfdom saw the same tree: it lists every link the package's own parser finds.
    for (const link of loadRobot(file).links) expect(output, `check_urdf output lacks link ${link.name}`).toMatch(new RegExp(`(root Link|child\\(\\d+\\)):\\s+${link.name}\\b`));
  });
});

describe('urdf/robots are generated from the rig spec', () => {
  it('the committed files are exactly what allUrdfFiles() generates now', () => {
    const generated = allUrdfFiles();
    const hint = 'run `npm run urdf:generate` and commit urdf/robots/';
    expect(COMMITTED_FILES, `urdf/robots/ holds other files than the generator writes: ${hint}`).toEqual(Object.keys(generated).sort());
    for (const [file, text] of Object.entries(generated)) {
      const committed = readRobot(file);
      if (committed === text) continue;
      const a = committed.split('\n'), b = text.split('\n');
      let line = 0;
      while (line < Math.max(a.length, b.length) && a[line] === b[line]) line++;
      expect.fail(
        `urdf/robots/${file} is out of date with urdf/src/rig (first difference at line ${line + 1}:\n` +
          `  committed: ${a[line] ?? '<end of file>'}\n  generated: ${b[line] ?? '<end of file>'}\n): ${hint}`,
      );
    }
  });

  it('every file names its robot and the generator', () => {
    for (const file of COMMITTED_FILES) {
      const text = readRobot(file);
      expect(text).toContain('Generated by `npm run urdf:generate`');
      expect(loadRobot(file).root).toBe(EXPECTED_ROOTS[file]);
    }
  });
});

describe('the rig', () => {
  const rig = loadRobot('dexbridge_rig.urdf');
  const movable = rig.joints.filter((j) => j.type !== 'fixed');

  it('has 56 movable joints, exactly the state joints', () => {
    expect(movable).toHaveLength(56);
    expect(movable.every((j) => j.type === 'revolute')).toBe(true);
    expect(new Set(STATE_JOINT_NAMES).size).toBe(56);
    expect(new Set(movable.map((j) => j.name))).toEqual(new Set(STATE_JOINT_NAMES));
  });

  it('has 10 mimic joints: each hand\'s thumb IP and four DIPs, following the MCP / PIPs', () => {
    const mimics = movable.filter((j) => j.mimic !== undefined);
    expect(mimics).toHaveLength(10);
    const expected = new Set<string>();
    for (const side of SIDES) {
      for (const [passive, source] of Object.entries(HAND_PASSIVE_SOURCES)) {
        const name = `${side}_hand_${passive}`;
        expected.add(name);
        const j = rig.jointByName.get(name)!;
        const src = rig.jointByName.get(`${side}_hand_${source}`)!;
        const multiplier = passive === 'thumb_ip' ? rigSpec.IP_COUPLING : rigSpec.DIP_COUPLING;
        expect(j.mimic, name).toEqual({ joint: `${side}_hand_${source}`, multiplier, offset: 0 });
        expect(src.mimic, `${src.name} is active`).toBeUndefined();
        // The passive joint's limits are where the linkage takes it over the source's range.
        expect(j.limit!.lower).toBeCloseTo(Math.min(src.limit!.lower * multiplier, src.limit!.upper * multiplier), 9);
        expect(j.limit!.upper).toBeCloseTo(Math.max(src.limit!.lower * multiplier, src.limit!.upper * multiplier), 9);
        // The follower is a child of its source's child link: the coupling is one linkage, not a loop.
        expect(j.parent).toBe(src.child);
      }
    }
    expect(new Set(mimics.map((j) => j.name))).toEqual(expected);
  });

  it('names every joint and link after its side and part (left_arm_*, left_hand_*, …)', () => {
    const parentOf = new Map(rig.joints.map((j) => [j.child, j]));
    const partOf = (link: string): string | undefined => {
      for (let l: string | undefined = link; l !== undefined; l = parentOf.get(l)?.parent) {
        for (const side of SIDES) {
          if (l === `${side}_hand_base`) return `${side}_hand_`;
          if (l === `${side}_arm_link0`) return `${side}_arm_`;
        }
      }
      return undefined;
    };
    for (const j of rig.joints) {
      const part = partOf(j.child);
      expect(part, `${j.name} hangs from no arm`).toBeDefined();
      expect(j.name.startsWith(part!), `${j.name} should start with ${part}`).toBe(true);
    }
    for (const l of rig.links) if (l.name !== rig.root) expect(l.name.startsWith(partOf(l.name)!), l.name).toBe(true);
    const handJoints = movable.filter((j) => j.name.includes('_hand_'));
    expect(handJoints).toHaveLength(42);
    for (const side of SIDES) expect(handJoints.filter((j) => j.name.startsWith(`${side}_hand_`))).toHaveLength(21);
  });

  it.each(COMMITTED_FILES)('%s: every link has visual, collision and a physical inertial', (file) => {
    const model = loadRobot(file);
    for (const link of model.links) {
      expect(link.visuals.length, `${link.name} visuals`).toBeGreaterThan(0);
      expect(link.collisions.length, `${link.name} collisions`).toBeGreaterThan(0);
      const inertial = link.inertial;
      expect(inertial, `${link.name} inertial`).toBeDefined();
      expect(inertial!.mass, `${link.name} mass`).toBeGreaterThan(0);
      const [ixx, ixy, ixz, iyy, iyz, izz] = inertial!.inertia;
      const eig = symmetricEigenvalues([ixx, ixy, ixz, ixy, iyy, iyz, ixz, iyz, izz]).sort((a, b) => a - b);
      const [l1, l2, l3] = eig;
      const what = `${link.name} inertia principal moments ${eig.join(', ')}`;
      expect(l1, what).toBeGreaterThan(0);
      // Triangle inequality (a mass distribution's principal moments): the two smaller sum to at
      // least the largest. A tolerance covers the file's 6-significant-figure rounding.
      expect(l1 + l2, what).toBeGreaterThanOrEqual(l3 * (1 - 1e-4));
      // The centre of mass sits inside the link's geometry's bounding box.
      const poses = new Map<string, Pose>([[link.name, IDENTITY]]);
      for (let axis = 0; axis < 3; axis++) {
        const u: V3 = [axis === 0 ? 1 : 0, axis === 1 ? 1 : 0, axis === 2 ? 1 : 0];
        const box = extent(model, poses, [link.name], u);
        const c = inertial!.origin.xyz[axis]!;
        expect(c, `${link.name} centre of mass along ${'xyz'[axis]}`).toBeGreaterThanOrEqual(box.min - 1e-9);
        expect(c, `${link.name} centre of mass along ${'xyz'[axis]}`).toBeLessThanOrEqual(box.max + 1e-9);
      }
    }
  });

  it('mounts the arms mirrored about the rig\'s xz plane, upright, above the floor', () => {
    const left = rig.jointByName.get('left_arm_mount')!;
    const right = rig.jointByName.get('right_arm_mount')!;
    expect(left.parent).toBe('base_link');
    expect(right.parent).toBe('base_link');
    expect(left.origin.xyz).toEqual([right.origin.xyz[0], -right.origin.xyz[1], right.origin.xyz[2]]);
    expect(left.origin.xyz[1]).toBeGreaterThan(0); // left is +y (REP 103)
    expect(left.origin.xyz[2]).toBeGreaterThan(0);
    expect(left.origin.rpy).toEqual([0, 0, 0]);
    expect(right.origin.rpy).toEqual([0, 0, 0]);
  });
});

describe('FR3 arms match Franka\'s published kinematics (docs/robot.md table)', () => {
  // Copied from Franka's published table (docs/robot.md), not from rigSpec.ts: origin xyz, roll; q_min, q_max; dq_max.
  const TABLE: readonly { xyz: V3; roll: number; lower: number; upper: number; velocity: number }[] = [
    { xyz: [0, 0, 0.333], roll: 0, lower: -2.7437, upper: 2.7437, velocity: 2.62 },
    { xyz: [0, 0, 0], roll: -Math.PI / 2, lower: -1.7837, upper: 1.7837, velocity: 2.62 },
    { xyz: [0, -0.316, 0], roll: Math.PI / 2, lower: -2.9007, upper: 2.9007, velocity: 2.62 },
    { xyz: [0.0825, 0, 0], roll: Math.PI / 2, lower: -3.0421, upper: -0.1518, velocity: 2.62 },
    { xyz: [-0.0825, 0.384, 0], roll: -Math.PI / 2, lower: -2.8065, upper: 2.8065, velocity: 5.26 },
    { xyz: [0, 0, 0], roll: Math.PI / 2, lower: 0.5445, upper: 4.5169, velocity: 4.18 },
    { xyz: [0.088, 0, 0], roll: Math.PI / 2, lower: -3.0159, upper: 3.0159, velocity: 5.26 },
  ];
  /** Franka's published tau_max, N·m. */
  const EFFORT = [87, 87, 87, 87, 12, 12, 12];

  const cases = SIDES.flatMap((side) => [
    { side, file: 'dexbridge_rig.urdf' },
    { side, file: `${side}_arm.urdf` },
  ]);

  it.each(cases)('$side arm in $file', ({ side, file }) => {
    const model = loadRobot(file);
    const p = `${side}_arm`;
    TABLE.forEach((row, i) => {
      const name = `${p}_joint${i + 1}`;
      const j = model.jointByName.get(name);
      expect(j, name).toBeDefined();
      expect(j!.type).toBe('revolute');
      expect(j!.parent).toBe(`${p}_link${i}`);
      expect(j!.child).toBe(`${p}_link${i + 1}`);
      expect(j!.origin.xyz, `${name} origin xyz`).toEqual(row.xyz);
      // Roll is written with 9 decimals (π/2 = 1.570796327): exact to that precision.
      expect(Math.abs(j!.origin.rpy[0] - row.roll), `${name} roll`).toBeLessThan(1e-9);
      expect(j!.origin.rpy.slice(1), `${name} pitch, yaw`).toEqual([0, 0]);
      expect(j!.axis, `${name} axis`).toEqual([0, 0, 1]);
      expect(j!.mimic).toBeUndefined();
      expect(j!.limit, `${name} limit`).toEqual({ lower: row.lower, upper: row.upper, velocity: row.velocity, effort: EFFORT[i] });
    });
    const flange = model.jointByName.get(`${p}_joint8`)!;
    expect(flange.type).toBe('fixed');
    expect(flange.parent).toBe(`${p}_link7`);
    expect(flange.child).toBe(`${p}_flange`);
    expect(flange.origin).toEqual({ xyz: [0, 0, 0.107], rpy: [0, 0, 0] });
    const armJoints = model.joints.filter((j) => j.type !== 'fixed' && j.name.startsWith(`${p}_`));
    expect(armJoints.map((j) => j.name)).toEqual(TABLE.map((_, i) => `${p}_joint${i + 1}`));
  });

  it('the spec carries Franka\'s acceleration and jerk limits', () => {
    expect(rigSpec.FR3_MAX_ACCELERATION).toBe(10);
    expect(rigSpec.FR3_MAX_JERK).toBe(5000);
  });

  it('the flange sits where Franka\'s zero pose puts it: (0.088, 0, 0.926) in link0, pointing down', () => {
    for (const side of SIDES) {
      const arm = loadRobot(`${side}_arm.urdf`);
      const flange = forwardKinematics(arm, new Map()).get(`${side}_arm_flange`)!;
      expectClose(flange.t, [0.088, 0, 0.926], 1e-9, `${side} flange position`);
      expectClose(rotate(flange.R, [0, 0, 1]), [0, 0, -1], 1e-9, `${side} flange z axis`);
    }
  });
});

describe('the hands', () => {
  const hands = { left: loadRobot('left_hand.urdf'), right: loadRobot('right_hand.urdf') } as const;
  const rig = loadRobot('dexbridge_rig.urdf');
  const tipLinks = (side: Side): string[] => FINGERS.map((f) => `${side}_hand_${f}_tip`);
  const mirrorX = (v: V3): V3 => [-v[0], v[1], v[2]];
  /** S·R·S with S = diag(−1, 1, 1): a frame mirrored through x = 0 (made right-handed again). */
  const mirrorRotX = (R: readonly number[]): number[] => R.map((v, i) => ((i < 3) !== (i % 3 === 0) ? -v : v));
  /** The right hand's joint values under the left hand's names. */
  const asLeft = (values: ReadonlyMap<string, number>): Map<string, number> => new Map([...values].map(([k, v]) => [k.replace(/^right_/, 'left_'), v]));

  it('left and right hands have the same joints, limits and couplings', () => {
    const { left, right } = hands;
    expect(left.joints.map((j) => j.name)).toEqual(right.joints.map((j) => j.name.replace(/^right_/, 'left_')));
    for (const r of right.joints) {
      const l = left.jointByName.get(r.name.replace(/^right_/, 'left_'))!;
      expect(l.limit).toEqual(r.limit);
      expect(l.mimic).toEqual(r.mimic && { ...r.mimic, joint: r.mimic.joint.replace(/^right_/, 'left_') });
    }
    expect(right.joints.filter((j) => j.type !== 'fixed')).toHaveLength(21);
    expect(right.joints.filter((j) => j.mimic)).toHaveLength(5);
  });

  it('the left hand is the mirror image of the right through the hand frame\'s x = 0 plane, for any joint values', () => {
    const rnd = prng(20251);
    for (let trial = 0; trial < 200; trial++) {
      // Trial 0 at zero angles, then random values within the limits.
      const q = trial === 0 ? new Map<string, number>() : randomValues(hands.right, rnd);
      const right = forwardKinematics(hands.right, q);
      const left = forwardKinematics(hands.left, asLeft(q));
      for (const [name, pr] of right) {
        const pl = left.get(name.replace(/^right_/, 'left_'))!;
        expectClose(pl.t, mirrorX(pr.t), 1e-12, `trial ${trial}: ${name} position`);
        expectClose(pl.R, mirrorRotX(pr.R), 1e-12, `trial ${trial}: ${name} orientation`);
      }
      // The thumb is on the radial side: +x on the right hand, −x on the left.
      expect(right.get('right_hand_thumb_cmc_link1')!.t[0]).toBeGreaterThan(0);
    }
  });

  it('in the rig too: fingertips relative to each hand base are mirrored, whatever the arms do', () => {
    const rnd = prng(7);
    for (let trial = 0; trial < 100; trial++) {
      const all = randomValues(rig, rnd);
      // Same hand values on both sides; arms independent.
      for (const [k, v] of all) if (k.startsWith('right_hand_')) all.set(k.replace(/^right_/, 'left_'), v);
      const poses = forwardKinematics(rig, all);
      const baseL = poses.get('left_hand_base')!, baseR = poses.get('right_hand_base')!;
      const tipsL = tipLinks('left'), tipsR = tipLinks('right');
      tipsR.forEach((tip, i) => {
        const r = relative(baseR, poses.get(tip)!).t;
        const l = relative(baseL, poses.get(tipsL[i]!)!).t;
        expectClose(l, mirrorX(r), 1e-9, `trial ${trial}: ${tip}`);
      });
    }
  });

  it('the whole left side mirrors the right about the rig\'s xz plane (arm joints −q1, q2, −q3, q4, −q5, q6, −q7 + δ)', () => {
    // δ depends only on the hand mount yaws: with the flange's x in the mirror plane, mirroring a
    // hand mounted at yaw ψ_R gives yaw π − ψ_R, so δ = π − ψ_L − ψ_R (0 when ψ_L = π − ψ_R).
    const yawL = rig.jointByName.get('left_hand_mount')!.origin.rpy[2];
    const yawR = rig.jointByName.get('right_hand_mount')!.origin.rpy[2];
    const delta = Math.PI - yawL - yawR;
    const rnd = prng(99);
    const sign = [-1, 1, -1, 1, -1, 1, -1];
    for (let trial = 0; trial < 100; trial++) {
      const q = randomValues(rig, rnd);
      for (let i = 0; i < 7; i++) q.set(`left_arm_joint${i + 1}`, sign[i]! * q.get(`right_arm_joint${i + 1}`)! + (i === 6 ? delta : 0));
      for (const [k, v] of q) if (k.startsWith('right_hand_')) q.set(k.replace(/^right_/, 'left_'), v);
      const poses = forwardKinematics(rig, q);
      for (const [name, pr] of poses) {
        if (!name.startsWith('right_')) continue;
        const pl = poses.get(name.replace(/^right_/, 'left_'))!;
        expectClose(pl.t, [pr.t[0], -pr.t[1], pr.t[2]], 1e-9, `trial ${trial}: ${name} (δ = ${delta})`);
      }
    }
  });

  describe('size at zero joint angles, from the collision geometry (published: 219 mm × 108 mm)', () => {
    for (const side of SIDES) {
      const model = hands[side];
      const poses = forwardKinematics(model, new Map());
      const handLinks = model.links.map((l) => l.name).filter((n) => n !== `${side}_hand_base`); // the adapter is not the hand
      const zAxis: V3 = [0, 0, 1], xAxis: V3 = [1, 0, 0];

      it(`${side} hand: 219 ± 2 mm from the wrist mount to the middle fingertip's outer surface`, () => {
        const { max, maxLink } = extent(model, poses, handLinks, zAxis);
        expect(maxLink).toBe(`${side}_hand_middle_tip`);
        expect(max * 1000).toBeGreaterThanOrEqual(217);
        expect(max * 1000).toBeLessThanOrEqual(221);
      });

      it(`${side} hand: 108 ± 3 mm wide across palm, thumb housing and fingers (thumb digit excluded)`, () => {
        const links = handLinks.filter((n) => !n.includes('_thumb_'));
        const { min, max } = extent(model, poses, links, xAxis);
        const width = (max - min) * 1000;
        expect(width).toBeGreaterThanOrEqual(105);
        expect(width).toBeLessThanOrEqual(111);
      });
    }
  });
});
