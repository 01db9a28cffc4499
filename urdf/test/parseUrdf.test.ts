import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseUrdf, type RobotModel, UrdfError, type UrdfErrorCode } from '../src/index.js';
import { URDF_ERROR_CODES } from '../src/UrdfError.js';

/** Parses `text`, which must fail, and returns the UrdfError it threw. */
function errorOf(text: string): UrdfError {
  try {
    parseUrdf(text);
  } catch (error) {
    if (error instanceof UrdfError) return error;
    throw error;
  }
  return expect.fail('expected parseUrdf to throw a UrdfError');
}

/** Wraps `body` in a `<robot name="r">` element. */
const robot = (body: string): string => `<robot name="r">${body}</robot>`;
const link = (name: string): string => `<link name="${name}"/>`;
/** A fixed joint unless `extra` says otherwise. */
const joint = (name: string, parent: string, child: string, type = 'fixed', extra = ''): string =>
  `<joint name="${name}" type="${type}"><parent link="${parent}"/><child link="${child}"/>${extra}</joint>`;
const revoluteLimit = '<limit lower="-1" upper="1" velocity="2" effort="3"/>';

const VALID = `<?xml version="1.0"?>
<!-- a small arm with a gripper; joints deliberately listed out of topological order -->
<robot name="testbot">
  <material name="blue"><color rgba="0 0 1 1"/></material>
  <link name="base">
    <inertial>
      <origin xyz="0 0 0.1" rpy="0 0 0"/>
      <mass value="2.5"/>
      <inertia ixx="0.1" ixy="0.01" ixz="0.02" iyy="0.2" iyz="0.03" izz="0.3"/>
    </inertial>
    <visual name="base_visual">
      <origin xyz="0 0 0.05" rpy="0 0 1.5"/>
      <geometry><box size="0.1 0.2 0.3"/></geometry>
      <material name="blue"/>
    </visual>
    <collision name="base_collision">
      <geometry><cylinder radius="0.05" length="0.1"/></geometry>
    </collision>
  </link>
  <link name="upper">
    <visual>
      <geometry><mesh filename="package://testbot/meshes/upper.stl"/></geometry>
      <material name="red"><color rgba="1 0 0 0.5"/></material>
    </visual>
  </link>
  <link name="lower">
    <visual>
      <geometry><mesh filename="package://testbot/meshes/lower.dae" scale="0.001 0.001 0.001"/></geometry>
      <material name="red"/>
    </visual>
    <visual><geometry><sphere radius="0.02"/></geometry><material name="chrome"/></visual>
  </link>
  <link name="tip">
    <collision><geometry><capsule radius="0.01" length="0.04"/></geometry></collision>
  </link>
  <link name="wheel"/>
  <link name="finger_a"/>
  <link name="finger_b"/>
  <joint name="elbow" type="revolute">
    <parent link="upper"/><child link="lower"/>
    <origin xyz="0 0 0.3"/>
    <axis xyz="0 2 0"/>
    <limit lower="-1" upper="1.5" velocity="2" effort="10"/>
  </joint>
  <joint name="wrist" type="fixed"><parent link="lower"/><child link="tip"/></joint>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="upper"/>
    <origin xyz="0.1 0.2 0.3" rpy="0.4 0.5 0.6"/>
    <axis xyz="0 0 1"/>
    <limit lower="-2" upper="2" velocity="3" effort="20"/>
  </joint>
  <joint name="wheel_joint" type="continuous">
    <parent link="base"/><child link="wheel"/>
    <axis xyz="0 1 0"/>
  </joint>
  <joint name="finger_a_joint" type="prismatic">
    <parent link="tip"/><child link="finger_a"/>
    <limit lower="0" upper="0.04" velocity="0.1" effort="5"/>
  </joint>
  <joint name="finger_b_joint" type="prismatic">
    <parent link="tip"/><child link="finger_b"/>
    <limit lower="-0.04" upper="0" velocity="0.1" effort="5"/>
    <mimic joint="finger_a_joint" multiplier="-1" offset="0.001"/>
  </joint>
  <gazebo reference="base"><material>Gazebo/Blue</material></gazebo>
</robot>
`;

describe('parseUrdf on a valid robot', () => {
  const model: RobotModel = parseUrdf(VALID);
  const jointNamed = (name: string) => model.jointByName.get(name)!;
  const linkNamed = (name: string) => model.linkByName.get(name)!;

  it('reads the robot name and finds the root link', () => {
    expect(model.name).toBe('testbot');
    expect(model.root).toBe('base');
  });

  it('keeps links in document order and indexes them by name', () => {
    expect(model.links.map((l) => l.name)).toEqual(['base', 'upper', 'lower', 'tip', 'wheel', 'finger_a', 'finger_b']);
    for (const l of model.links) expect(model.linkByName.get(l.name)).toBe(l);
  });

  it('orders joints topologically, keeping document order among siblings', () => {
    expect(model.joints.map((j) => j.name)).toEqual([
      'shoulder',
      'elbow',
      'wrist',
      'wheel_joint',
      'finger_a_joint',
      'finger_b_joint',
    ]);
    const produced = new Set([model.root]);
    for (const j of model.joints) {
      expect(produced.has(j.parent)).toBe(true);
      produced.add(j.child);
    }
    for (const j of model.joints) expect(model.jointByName.get(j.name)).toBe(j);
  });

  it('reads joint type, parent, child and origin', () => {
    expect(jointNamed('shoulder')).toMatchObject({
      type: 'revolute',
      parent: 'base',
      child: 'upper',
      origin: { xyz: [0.1, 0.2, 0.3], rpy: [0.4, 0.5, 0.6] },
    });
  });

  it('defaults a missing origin to zeros and a missing axis to (1, 0, 0)', () => {
    expect(jointNamed('wrist').origin).toEqual({ xyz: [0, 0, 0], rpy: [0, 0, 0] });
    expect(jointNamed('wrist').axis).toEqual([1, 0, 0]);
  });

  it('defaults missing rpy to zeros when only xyz is given', () => {
    expect(jointNamed('elbow').origin).toEqual({ xyz: [0, 0, 0.3], rpy: [0, 0, 0] });
  });

  it('normalises the axis', () => {
    expect(jointNamed('elbow').axis).toEqual([0, 1, 0]);
  });

  it('reads revolute and prismatic limits', () => {
    expect(jointNamed('elbow').limit).toEqual({ lower: -1, upper: 1.5, velocity: 2, effort: 10 });
    expect(jointNamed('finger_a_joint').limit).toEqual({ lower: 0, upper: 0.04, velocity: 0.1, effort: 5 });
  });

  it('gives a continuous joint without <limit> infinite limits', () => {
    expect(jointNamed('wheel_joint').limit).toEqual({
      lower: -Infinity,
      upper: Infinity,
      velocity: Infinity,
      effort: Infinity,
    });
  });

  it('leaves a fixed joint without <limit> unlimited (undefined)', () => {
    expect(jointNamed('wrist').limit).toBeUndefined();
  });

  it('reads mimic joint, multiplier and offset', () => {
    expect(jointNamed('finger_b_joint').mimic).toEqual({ joint: 'finger_a_joint', multiplier: -1, offset: 0.001 });
    expect(jointNamed('finger_a_joint').mimic).toBeUndefined();
  });

  it('reads the inertial block', () => {
    expect(linkNamed('base').inertial).toEqual({
      origin: { xyz: [0, 0, 0.1], rpy: [0, 0, 0] },
      mass: 2.5,
      inertia: [0.1, 0.01, 0.02, 0.2, 0.03, 0.3],
    });
    expect(linkNamed('wheel').inertial).toBeUndefined();
  });

  it('reads visuals with box geometry, origin and a robot-level material colour', () => {
    expect(linkNamed('base').visuals).toEqual([
      {
        name: 'base_visual',
        origin: { xyz: [0, 0, 0.05], rpy: [0, 0, 1.5] },
        geometry: { kind: 'box', size: [0.1, 0.2, 0.3] },
        material: 'blue',
        rgba: [0, 0, 1, 1],
      },
    ]);
  });

  it('reads collisions with cylinder and capsule geometry', () => {
    expect(linkNamed('base').collisions).toEqual([
      { name: 'base_collision', origin: { xyz: [0, 0, 0], rpy: [0, 0, 0] }, geometry: { kind: 'cylinder', radius: 0.05, length: 0.1 } },
    ]);
    expect(linkNamed('tip').collisions[0]?.geometry).toEqual({ kind: 'capsule', radius: 0.01, length: 0.04 });
  });

  it('reads mesh geometry, defaulting scale to 1 1 1', () => {
    expect(linkNamed('upper').visuals[0]?.geometry).toEqual({
      kind: 'mesh',
      filename: 'package://testbot/meshes/upper.stl',
      scale: [1, 1, 1],
    });
    expect(linkNamed('lower').visuals[0]?.geometry).toEqual({
      kind: 'mesh',
      filename: 'package://testbot/meshes/lower.dae',
      scale: [0.001, 0.001, 0.001],
    });
  });

  it('reads an inline material colour', () => {
    expect(linkNamed('upper').visuals[0]).toMatchObject({ name: undefined, material: 'red', rgba: [1, 0, 0, 0.5] });
  });

  it('resolves a material name defined inline in another visual', () => {
    expect(linkNamed('lower').visuals[0]).toMatchObject({ material: 'red', rgba: [1, 0, 0, 0.5] });
  });

  it('keeps the name but no colour for an undefined material', () => {
    expect(linkNamed('lower').visuals[1]).toMatchObject({
      geometry: { kind: 'sphere', radius: 0.02 },
      material: 'chrome',
      rgba: undefined,
    });
  });

  it('gives links without elements empty visuals and collisions', () => {
    expect(linkNamed('wheel')).toEqual({ name: 'wheel', visuals: [], collisions: [], inertial: undefined });
  });
});

describe('parseUrdf details', () => {
  it('keeps a document that is already topological in document order', () => {
    const model = parseUrdf(
      robot(link('a') + link('b') + link('c') + link('d') + joint('j1', 'a', 'c') + joint('j2', 'a', 'b') + joint('j3', 'b', 'd')),
    );
    expect(model.joints.map((j) => j.name)).toEqual(['j1', 'j2', 'j3']);
  });

  it('puts a joint after the joint producing its parent even when listed first', () => {
    const model = parseUrdf(robot(link('a') + link('b') + link('c') + joint('j2', 'b', 'c') + joint('j1', 'a', 'b')));
    expect(model.joints.map((j) => j.name)).toEqual(['j1', 'j2']);
  });

  it('accepts a robot with a single link and no joints', () => {
    const model = parseUrdf(robot(link('only')));
    expect(model.root).toBe('only');
    expect(model.joints).toEqual([]);
  });

  it('gives a continuous joint velocity and effort from <limit> but infinite position limits', () => {
    const model = parseUrdf(
      robot(link('a') + link('b') + joint('j', 'a', 'b', 'continuous', '<limit lower="-1" upper="1" velocity="5" effort="7"/>')),
    );
    expect(model.joints[0]?.limit).toEqual({ lower: -Infinity, upper: Infinity, velocity: 5, effort: 7 });
  });

  it('defaults mimic multiplier to 1 and offset to 0', () => {
    const model = parseUrdf(
      robot(
        link('a') + link('b') + link('c') + joint('j1', 'a', 'b', 'revolute', revoluteLimit) +
          joint('j2', 'a', 'c', 'revolute', revoluteLimit + '<mimic joint="j1"/>'),
      ),
    );
    expect(model.jointByName.get('j2')?.mimic).toEqual({ joint: 'j1', multiplier: 1, offset: 0 });
  });

  it('accepts a chain of mimics that does not loop', () => {
    const model = parseUrdf(
      robot(
        link('a') + link('b') + link('c') + link('d') + joint('j1', 'a', 'b', 'revolute', revoluteLimit) +
          joint('j2', 'a', 'c', 'revolute', revoluteLimit + '<mimic joint="j1"/>') +
          joint('j3', 'a', 'd', 'revolute', revoluteLimit + '<mimic joint="j2" multiplier="2"/>'),
      ),
    );
    expect(model.jointByName.get('j3')?.mimic?.joint).toBe('j2');
  });

  it('defaults omitted lower/upper to 0', () => {
    const model = parseUrdf(robot(link('a') + link('b') + joint('j', 'a', 'b', 'revolute', '<limit velocity="1" effort="1"/>')));
    expect(model.joints[0]?.limit).toEqual({ lower: 0, upper: 0, velocity: 1, effort: 1 });
  });

  it('parses floating and planar joints', () => {
    const model = parseUrdf(robot(link('a') + link('b') + link('c') + joint('f', 'a', 'b', 'floating') + joint('p', 'a', 'c', 'planar')));
    expect(model.joints.map((j) => j.type)).toEqual(['floating', 'planar']);
  });

  it('ignores unknown elements, including names that are special in JavaScript', () => {
    const model = parseUrdf(robot(`<transmission name="t"/><constructor/><__proto__ a="1"/>${link('a')}`));
    expect(model.links.map((l) => l.name)).toEqual(['a']);
  });

  it('accepts link names that are special in JavaScript', () => {
    const model = parseUrdf(robot(link('constructor') + link('__proto__') + joint('toString', 'constructor', '__proto__')));
    expect(model.root).toBe('constructor');
    expect(model.linkByName.get('__proto__')?.name).toBe('__proto__');
  });

  it('decodes XML entities in attribute values', () => {
    expect(parseUrdf(robot(link('a&amp;b'))).root).toBe('a&b');
  });

  it('accepts exponent notation', () => {
    const model = parseUrdf(robot(`<link name="a"><inertial><mass value="1e-3"/><inertia ixx="1E-6" ixy="0" ixz="0" iyy="+.5" iyz="-0" izz="2."/></inertial></link>`));
    expect(model.links[0]?.inertial?.mass).toBe(0.001);
    expect(model.links[0]?.inertial?.inertia).toEqual([1e-6, 0, 0, 0.5, -0, 2]);
  });
});

/** One minimal broken document per error code. */
const BROKEN: readonly (readonly [string, UrdfErrorCode, string])[] = [
  ['unclosed tag', 'URDF_XML_INVALID', '<robot name="r"><link name="a"></robot>'],
  ['empty text', 'URDF_XML_INVALID', ''],
  ['two root elements', 'URDF_XML_INVALID', robot(link('a')) + robot(link('b'))],
  ['elements nested too deep', 'URDF_XML_INVALID', robot(`${'<x>'.repeat(150)}${'</x>'.repeat(150)}${link('a')}`)],
  ['a root other than <robot>', 'URDF_NO_ROBOT', '<sdf><link name="a"/></sdf>'],
  ['a robot without name', 'URDF_MISSING_ATTRIBUTE', `<robot>${link('a')}</robot>`],
  ['a link without name', 'URDF_MISSING_ATTRIBUTE', robot('<link/>')],
  ['a link with an empty name', 'URDF_MISSING_ATTRIBUTE', robot('<link name=" "/>')],
  ['a joint without name', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + '<joint type="fixed"><parent link="a"/><child link="b"/></joint>')],
  ['a joint without type', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + '<joint name="j"><parent link="a"/><child link="b"/></joint>')],
  ['a <parent> without link', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + '<joint name="j" type="fixed"><parent/><child link="b"/></joint>')],
  ['a <child> without link', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + '<joint name="j" type="fixed"><parent link="a"/><child/></joint>')],
  ['a <box> without size', 'URDF_MISSING_ATTRIBUTE', robot('<link name="a"><visual><geometry><box/></geometry></visual></link>')],
  ['a <mesh> without filename', 'URDF_MISSING_ATTRIBUTE', robot('<link name="a"><visual><geometry><mesh/></geometry></visual></link>')],
  ['a <mimic> without joint', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<mimic/>'))],
  ['a revolute <limit> without velocity', 'URDF_MISSING_ATTRIBUTE', robot(link('a') + link('b') + joint('j', 'a', 'b', 'revolute', '<limit lower="0" upper="1" effort="1"/>'))],
  ['an <inertia> missing izz', 'URDF_MISSING_ATTRIBUTE', robot('<link name="a"><inertial><mass value="1"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0"/></inertial></link>')],
  ['a joint without <parent>', 'URDF_MISSING_ELEMENT', robot(link('a') + link('b') + '<joint name="j" type="fixed"><child link="b"/></joint>')],
  ['a visual without <geometry>', 'URDF_MISSING_ELEMENT', robot('<link name="a"><visual/></link>')],
  ['an empty <geometry>', 'URDF_MISSING_ELEMENT', robot('<link name="a"><collision><geometry/></collision></link>')],
  ['an inertial without <mass>', 'URDF_MISSING_ELEMENT', robot('<link name="a"><inertial><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial></link>')],
  ['a non-numeric xyz', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<origin xyz="0 zero 0"/>'))],
  ['an rpy with two numbers', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<origin rpy="0 0"/>'))],
  ['an empty xyz', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<origin xyz=""/>'))],
  ['a zero-length axis', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<axis xyz="0 0 0"/>'))],
  ['a non-numeric limit', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + joint('j', 'a', 'b', 'revolute', '<limit lower="-1" upper="one" velocity="1" effort="1"/>'))],
  ['a non-numeric mass', 'URDF_BAD_NUMBER', robot('<link name="a"><inertial><mass value="heavy"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial></link>')],
  ['a negative mass', 'URDF_BAD_NUMBER', robot('<link name="a"><inertial><mass value="-1"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial></link>')],
  ['a non-numeric inertia', 'URDF_BAD_NUMBER', robot('<link name="a"><inertial><mass value="1"/><inertia ixx="1" ixy="0" ixz="0" iyy="NaN" iyz="0" izz="1"/></inertial></link>')],
  ['a box size with two numbers', 'URDF_BAD_NUMBER', robot('<link name="a"><visual><geometry><box size="1 2"/></geometry></visual></link>')],
  ['a negative sphere radius', 'URDF_BAD_NUMBER', robot('<link name="a"><visual><geometry><sphere radius="-1"/></geometry></visual></link>')],
  ['an overflowing number', 'URDF_BAD_NUMBER', robot('<link name="a"><visual><geometry><sphere radius="1e999"/></geometry></visual></link>')],
  ['a colour outside 0..1', 'URDF_BAD_NUMBER', robot('<material name="m"><color rgba="0 0 255 1"/></material>' + link('a'))],
  ['a colour with three numbers', 'URDF_BAD_NUMBER', robot('<link name="a"><visual><geometry><sphere radius="1"/></geometry><material name="m"><color rgba="1 0 0"/></material></visual></link>')],
  ['a non-numeric mimic multiplier', 'URDF_BAD_NUMBER', robot(link('a') + link('b') + link('c') + joint('j1', 'a', 'b') + joint('j2', 'a', 'c', 'fixed', '<mimic joint="j1" multiplier="x"/>'))],
  ['two links with the same name', 'URDF_DUPLICATE_NAME', robot(link('a') + link('a'))],
  ['two joints with the same name', 'URDF_DUPLICATE_NAME', robot(link('a') + link('b') + link('c') + joint('j', 'a', 'b') + joint('j', 'a', 'c'))],
  ['two robot-level materials with the same name', 'URDF_DUPLICATE_NAME', robot('<material name="m"/><material name="m"/>' + link('a'))],
  ['an unknown joint type', 'URDF_UNKNOWN_JOINT_TYPE', robot(link('a') + link('b') + joint('j', 'a', 'b', 'hinge'))],
  ['a joint whose parent link does not exist', 'URDF_MISSING_PARENT', robot(link('a') + link('b') + joint('j', 'foo', 'b'))],
  ['a joint whose child link does not exist', 'URDF_MISSING_CHILD', robot(link('a') + joint('j', 'a', 'bar'))],
  ['a link that is the child of two joints', 'URDF_MULTIPLE_PARENTS', robot(link('a') + link('b') + link('c') + joint('j1', 'a', 'c') + joint('j2', 'b', 'c'))],
  ['a robot without links', 'URDF_NO_ROOT', robot('')],
  ['two unconnected links', 'URDF_MULTIPLE_ROOTS', robot(link('a') + link('b'))],
  ['a loop of two joints', 'URDF_CYCLE', robot(link('a') + link('b') + joint('j1', 'a', 'b') + joint('j2', 'b', 'a'))],
  ['a loop beside a proper root', 'URDF_CYCLE', robot(link('base') + link('a') + link('b') + link('c') + joint('j0', 'base', 'c') + joint('j1', 'a', 'b') + joint('j2', 'b', 'a'))],
  ['a joint from a link to itself', 'URDF_CYCLE', robot(link('base') + link('a') + joint('self', 'a', 'a'))],
  ['a revolute joint without <limit>', 'URDF_MISSING_LIMIT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'revolute'))],
  ['a prismatic joint without <limit>', 'URDF_MISSING_LIMIT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'prismatic'))],
  ['lower greater than upper', 'URDF_BAD_LIMIT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'revolute', '<limit lower="1" upper="-1" velocity="1" effort="1"/>'))],
  ['a negative velocity', 'URDF_BAD_LIMIT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'prismatic', '<limit lower="0" upper="1" velocity="-1" effort="1"/>'))],
  ['a negative effort', 'URDF_BAD_LIMIT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'continuous', '<limit effort="-1"/>'))],
  ['a mimic of a joint that does not exist', 'URDF_MIMIC_UNKNOWN_JOINT', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<mimic joint="nope"/>'))],
  ['a joint mimicking itself', 'URDF_MIMIC_LOOP', robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<mimic joint="j"/>'))],
  ['a three-joint mimic loop', 'URDF_MIMIC_LOOP', robot(link('a') + link('b') + link('c') + link('d') + joint('j1', 'a', 'b', 'fixed', '<mimic joint="j3"/>') + joint('j2', 'a', 'c', 'fixed', '<mimic joint="j1"/>') + joint('j3', 'a', 'd', 'fixed', '<mimic joint="j2"/>'))],
  ['an unknown shape', 'URDF_UNKNOWN_GEOMETRY', robot('<link name="a"><visual><geometry><cone radius="1"/></geometry></visual></link>')],
  ['two shapes in one geometry', 'URDF_UNKNOWN_GEOMETRY', robot('<link name="a"><collision><geometry><box size="1 1 1"/><sphere radius="1"/></geometry></collision></link>')],
];

describe('parseUrdf errors', () => {
  it.each(BROKEN)('rejects %s with %s', (_, code, text) => {
    const error = errorOf(text);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^urdf: /);
  });

  it('has a broken example for every error code', () => {
    const covered = new Set(BROKEN.map(([, code]) => code));
    expect(URDF_ERROR_CODES.filter((code) => !covered.has(code))).toEqual([]);
  });

  it('is an Error named UrdfError', () => {
    const error = errorOf(robot(link('a') + link('a')));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('UrdfError');
  });

  it('reports line and column of malformed XML', () => {
    const error = errorOf('<robot name="r">\n  <link name="a">\n</robot>');
    expect(error.code).toBe('URDF_XML_INVALID');
    expect(error.line).toBe(3);
    expect(error.column).toBeGreaterThan(0);
    expect(error.message).toContain('line 3');
  });

  it('names the joint and the missing parent link', () => {
    const error = errorOf(robot(link('a') + link('b') + joint('j3', 'foo', 'b')));
    expect(error.message).toBe('urdf: joint "j3" names parent link "foo", which does not exist');
    expect(error.element).toBe('joint');
    expect(error.elementName).toBe('j3');
  });

  it('quotes the offending value of a bad number', () => {
    const error = errorOf(robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<origin xyz="0 zero 0"/>')));
    expect(error.message).toBe('urdf: joint "j" <origin> xyz="0 zero 0": "zero" is not a finite number');
  });

  it('names the links and joints of a kinematic loop', () => {
    const error = errorOf(robot(link('base') + link('a') + link('b') + joint('j1', 'a', 'b') + joint('j2', 'b', 'a')));
    expect(error.message).toBe('urdf: joints "j1", "j2" form a kinematic loop: "a" → "b" → "a"');
  });

  it('spells out a mimic loop', () => {
    const error = errorOf(robot(link('a') + link('b') + joint('j', 'a', 'b', 'fixed', '<mimic joint="j"/>')));
    expect(error.message).toBe('urdf: mimic joints form a loop: "j" → "j"');
  });

  it('names both joints that claim the same child', () => {
    const error = errorOf(robot(link('a') + link('b') + link('c') + joint('j1', 'a', 'c') + joint('j2', 'b', 'c')));
    expect(error.message).toBe('urdf: link "c" is the child of both joint "j1" and joint "j2"');
  });
});

describe('parseUrdf robustness', () => {
  /** Runs `parseUrdf`, passing if it returns or throws a UrdfError. */
  const onlyUrdfErrors = (text: string): void => {
    try {
      parseUrdf(text);
    } catch (error) {
      if (!(error instanceof UrdfError)) throw error;
    }
  };

  it('throws nothing but UrdfError on random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyUrdfErrors), { numRuns: 500 });
  });

  it('throws nothing but UrdfError on random truncations of a valid URDF', () => {
    fc.assert(fc.property(fc.nat({ max: VALID.length }), (end) => onlyUrdfErrors(VALID.slice(0, end))), { numRuns: 500 });
  });

  it('throws nothing but UrdfError on a valid URDF with a slice cut out', () => {
    fc.assert(
      fc.property(fc.nat({ max: VALID.length }), fc.nat({ max: 40 }), (start, length) =>
        onlyUrdfErrors(VALID.slice(0, start) + VALID.slice(start + length)),
      ),
      { numRuns: 500 },
    );
  });

  it('throws nothing but UrdfError on random sequences of URDF-like fragments', () => {
    const fragment = fc.constantFrom(
      '<robot name="r">', '</robot>', '<link name="a">', '<link name="b"/>', '</link>',
      '<joint name="j" type="revolute">', '<joint name="k" type="fixed">', '</joint>',
      '<parent link="a"/>', '<child link="b"/>', '<limit lower="0" upper="1" velocity="1" effort="1"/>',
      '<mimic joint="j"/>', '<mimic joint="k"/>', '<axis xyz="0 0 1"/>', '<origin xyz="1 2 3" rpy="0 0 0"/>',
      '<visual>', '</visual>', '<geometry>', '</geometry>', '<box size="1 1 1"/>', '<material name="m">',
      '</material>', '<color rgba="1 0 0 1"/>', '<constructor/>', '<!-- c -->', 'text', '<', '>', '"', '&amp;', '&bogus;',
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), (parts) => onlyUrdfErrors(parts.join(''))),
      { numRuns: 1000 },
    );
  });
});
