/**
 * URDF text → {@link RobotModel}. Pure TypeScript on top of `fast-xml-parser`: no DOM, no Node
 * built-ins, no three.js, so it runs unchanged in browsers, workers and Node.
 */

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type {
  Collision,
  Geometry,
  Inertial,
  Joint,
  JointLimit,
  JointType,
  Link,
  Mimic,
  Origin,
  RobotModel,
  Vec3,
  Visual,
} from './model.js';
import { UrdfError, type UrdfErrorCode } from './UrdfError.js';

type Rgba = readonly [number, number, number, number];

/** One XML element, reduced to what URDF needs: tag, attributes and child elements (text dropped). */
interface XmlElement {
  readonly tag: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
}

/** What an error is about: the URDF element kind, its name if known, and how to say it in a message. */
interface Scope {
  readonly element: string;
  readonly elementName: string | undefined;
  /** e.g. `joint "elbow"` or `<link> #3`. */
  readonly label: string;
}

/** A `<visual>` before robot-level material colours are resolved. */
interface PendingVisual {
  readonly name: string | undefined;
  readonly origin: Origin;
  readonly geometry: Geometry;
  readonly material: string | undefined;
  readonly inlineRgba: Rgba | undefined;
}

/** A `<link>` whose visuals still await colour resolution. */
interface PendingLink {
  readonly name: string;
  readonly visuals: readonly PendingVisual[];
  readonly collisions: readonly Collision[];
  readonly inertial: Inertial | undefined;
}

const JOINT_TYPES: readonly JointType[] = ['revolute', 'continuous', 'prismatic', 'fixed', 'floating', 'planar'];
const GEOMETRY_KINDS: readonly Geometry['kind'][] = ['box', 'cylinder', 'sphere', 'capsule', 'mesh'];
const ZERO: Vec3 = [0, 0, 0];
const ONE: Vec3 = [1, 1, 1];
const X_AXIS: Vec3 = [1, 0, 0];

/** A decimal number as URDF writes it (`1`, `-0.5`, `.25`, `1e-3`); no hex, no `inf`, no `nan`. */
const NUMBER_PATTERN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Tag names that fast-xml-parser refuses or renames to avoid prototype pollution. They are not URDF
 * elements, but a well-formed document may contain them, so they are escaped on the way in (with a
 * `#` prefix, which no XML name can contain) and restored when building the {@link XmlElement} tree.
 */
const RESERVED_TAGS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);
const RESERVED_PREFIX = '#reserved:';
const ATTRIBUTE_PREFIX = '@_';
const ATTRIBUTES_KEY = ':@';

/**
 * Parses a URDF document into a typed, validated {@link RobotModel}.
 *
 * Beyond reading the XML it checks that the document describes one kinematic tree, and returns the
 * joints in topological order (a joint always after the joint that produces its parent link; among
 * siblings, document order). Defaults follow the URDF spec: missing `<origin>` is the identity,
 * missing `<axis>` is (1, 0, 0) (axes are normalised), mesh `scale` is 1 1 1, `<mimic>` multiplier
 * is 1 and offset 0, `<limit>` lower/upper are 0. Continuous joints get lower/upper = ∓Infinity and,
 * unless their `<limit>` gives them, velocity/effort = Infinity. A visual's colour comes from its
 * inline `<material><color rgba>`, else from a robot-level `<material>` of the same name, else from
 * a named material defined inline in another visual; with none of these `rgba` is undefined.
 * Unknown elements (`<gazebo>`, `<transmission>`, …) are ignored.
 *
 * @param text The URDF XML source.
 * @returns The robot model.
 * @throws {UrdfError} with one of these codes:
 * - `URDF_XML_INVALID`: the text is not well-formed XML (the error carries `line` and `column`),
 *   or nests elements more than 100 deep.
 * - `URDF_NO_ROBOT`: the root element is not `<robot>`.
 * - `URDF_MISSING_ATTRIBUTE`: a required attribute is absent or empty (robot/link/joint `name`,
 *   joint `type`, `<parent link>`, `<child link>`, `<box size>`, `<mimic joint>`, `<limit velocity>`…).
 * - `URDF_MISSING_ELEMENT`: a required child element is absent (joint `<parent>`/`<child>`,
 *   `<geometry>` or its shape, inertial `<mass>`/`<inertia>`).
 * - `URDF_BAD_NUMBER`: a numeric attribute is not a finite number, has the wrong count of numbers,
 *   is negative where it cannot be (sizes, radii, mass), is a colour outside 0..1, or is a zero axis.
 * - `URDF_DUPLICATE_NAME`: two links, two joints or two robot-level materials share a name.
 * - `URDF_UNKNOWN_JOINT_TYPE`: a joint `type` outside revolute/continuous/prismatic/fixed/floating/planar.
 * - `URDF_MISSING_PARENT` / `URDF_MISSING_CHILD`: a joint names a link that does not exist.
 * - `URDF_MULTIPLE_PARENTS`: a link is the child of two joints.
 * - `URDF_CYCLE`: the joints form a kinematic loop.
 * - `URDF_NO_ROOT`: the robot has no links.
 * - `URDF_MULTIPLE_ROOTS`: more than one link is no joint's child.
 * - `URDF_MISSING_LIMIT`: a revolute or prismatic joint has no `<limit>`.
 * - `URDF_BAD_LIMIT`: `lower > upper`, or a negative velocity or effort.
 * - `URDF_MIMIC_UNKNOWN_JOINT`: `<mimic joint>` names a joint that does not exist.
 * - `URDF_MIMIC_LOOP`: following `<mimic>` references leads back to the start (including self-mimic).
 * - `URDF_UNKNOWN_GEOMETRY`: a `<geometry>` holds an unknown shape or more than one shape.
 */
export function parseUrdf(text: string): RobotModel {
  const robot = readRobotElement(text);
  const robotScope: Scope = { element: 'robot', elementName: undefined, label: '<robot>' };
  const robotName = requiredAttr(robot, 'name', robotScope);

  const colours = readRobotMaterials(robot);

  const pendingLinks: PendingLink[] = [];
  const joints: Joint[] = [];
  const linkNames = new Set<string>();
  const jointNames = new Set<string>();
  let linkCount = 0;
  let jointCount = 0;

  for (const element of robot.children) {
    if (element.tag === 'link') {
      linkCount += 1;
      const link = parseLink(element, linkCount);
      if (linkNames.has(link.name)) {
        throw new UrdfError('URDF_DUPLICATE_NAME', `link "${link.name}" is defined more than once`, {
          element: 'link',
          elementName: link.name,
        });
      }
      linkNames.add(link.name);
      pendingLinks.push(link);
    } else if (element.tag === 'joint') {
      jointCount += 1;
      const joint = parseJoint(element, jointCount);
      if (jointNames.has(joint.name)) {
        throw new UrdfError('URDF_DUPLICATE_NAME', `joint "${joint.name}" is defined more than once`, {
          element: 'joint',
          elementName: joint.name,
        });
      }
      jointNames.add(joint.name);
      joints.push(joint);
    }
  }

  // Named materials defined inline in a visual are usable by name elsewhere (as in urdfdom);
  // robot-level definitions take precedence, then the first inline definition in document order.
  for (const link of pendingLinks) {
    for (const visual of link.visuals) {
      if (visual.material !== undefined && visual.inlineRgba !== undefined && !colours.has(visual.material)) {
        colours.set(visual.material, visual.inlineRgba);
      }
    }
  }
  const links: Link[] = pendingLinks.map((link) => ({
    name: link.name,
    visuals: link.visuals.map((visual): Visual => ({
      name: visual.name,
      origin: visual.origin,
      geometry: visual.geometry,
      material: visual.material,
      rgba: visual.inlineRgba ?? (visual.material === undefined ? undefined : colours.get(visual.material)),
    })),
    collisions: link.collisions,
    inertial: link.inertial,
  }));

  const { root, order } = sortKinematicTree(robotName, links, joints);
  checkMimics(joints);

  const sortedJoints = order.map((index) => joints[index]!);
  return {
    name: robotName,
    root,
    links,
    joints: sortedJoints,
    linkByName: new Map(links.map((link) => [link.name, link])),
    jointByName: new Map(sortedJoints.map((joint) => [joint.name, joint])),
  };
}

// ---------------------------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------------------------

/** Checks well-formedness, parses, and returns the `<robot>` root element. */
function readRobotElement(text: string): XmlElement {
  let validation: ReturnType<typeof XMLValidator.validate>;
  try {
    validation = XMLValidator.validate(text);
  } catch (cause) {
    throw new UrdfError('URDF_XML_INVALID', `not well-formed XML: ${describe(cause)}`, { cause });
  }
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new UrdfError('URDF_XML_INVALID', `not well-formed XML at ${where}: ${clip(msg)}`, { line, column: col });
  }

  let parsed: unknown;
  try {
    const parser = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: ATTRIBUTE_PREFIX,
      parseAttributeValue: false,
      parseTagValue: false,
      ignoreDeclaration: true,
      ignorePiTags: true,
      transformTagName: (tag) => (RESERVED_TAGS.has(tag) ? RESERVED_PREFIX + tag : tag),
    });
    parsed = parser.parse(text);
  } catch (cause) {
    throw new UrdfError('URDF_XML_INVALID', `XML could not be parsed: ${describe(cause)}`, { cause });
  }

  const roots = toElements(parsed);
  const [first] = roots;
  if (first === undefined) {
    throw new UrdfError('URDF_XML_INVALID', 'not well-formed XML: the document has no root element');
  }
  if (roots.length > 1) {
    const tags = roots.map((element) => `<${element.tag}>`).join(', ');
    throw new UrdfError('URDF_XML_INVALID', `not well-formed XML: ${roots.length} root elements (${tags}); expected one`);
  }
  if (first.tag !== 'robot') {
    throw new UrdfError('URDF_NO_ROBOT', `the root element is <${first.tag}>, expected <robot>`, { element: first.tag });
  }
  return first;
}

/** Converts fast-xml-parser's `preserveOrder` output into {@link XmlElement}s, dropping text nodes. */
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const list: readonly unknown[] = nodes;
  const elements: XmlElement[] = [];
  for (const node of list) {
    if (!isRecord(node)) continue;
    const attributes = new Map<string, string>();
    const rawAttributes = node[ATTRIBUTES_KEY];
    if (isRecord(rawAttributes)) {
      for (const [key, value] of Object.entries(rawAttributes)) {
        if (key.startsWith(ATTRIBUTE_PREFIX) && typeof value === 'string') {
          attributes.set(key.slice(ATTRIBUTE_PREFIX.length), value);
        }
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === ATTRIBUTES_KEY || key === '#text') continue;
      const tag = key.startsWith(RESERVED_PREFIX) ? key.slice(RESERVED_PREFIX.length) : key;
      elements.push({ tag, attributes, children: toElements(value) });
    }
  }
  return elements;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message of a caught error, shortened so that a pathological input cannot flood the log. */
function describe(error: unknown): string {
  return clip(error instanceof Error ? error.message : String(error));
}

function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function childElements(parent: XmlElement, tag: string): XmlElement[] {
  return parent.children.filter((child) => child.tag === tag);
}

function firstChild(parent: XmlElement, tag: string): XmlElement | undefined {
  return parent.children.find((child) => child.tag === tag);
}

function requiredChild(parent: XmlElement, tag: string, scope: Scope): XmlElement {
  const child = firstChild(parent, tag);
  if (child === undefined) {
    fail('URDF_MISSING_ELEMENT', scope, `${where(parent, scope)} has no <${tag}> element`);
  }
  return child;
}

/** `joint "j1"` for the scope's own element, `joint "j1" <origin>` for a descendant. */
function where(element: XmlElement, scope: Scope): string {
  return element.tag === scope.element ? scope.label : `${scope.label} <${element.tag}>`;
}

function fail(code: UrdfErrorCode, scope: Scope, detail: string): never {
  throw new UrdfError(code, detail, { element: scope.element, elementName: scope.elementName });
}

// ---------------------------------------------------------------------------------------------
// Attributes and numbers
// ---------------------------------------------------------------------------------------------

/** The attribute's value, or undefined when it is absent. */
function optionalAttr(element: XmlElement, name: string): string | undefined {
  return element.attributes.get(name);
}

/** The attribute's value; absent or blank is `URDF_MISSING_ATTRIBUTE`. */
function requiredAttr(element: XmlElement, name: string, scope: Scope): string {
  const value = element.attributes.get(name);
  if (value === undefined) missingAttr(element, name, scope);
  if (value.trim() === '') {
    fail('URDF_MISSING_ATTRIBUTE', scope, `${where(element, scope)} has an empty "${name}" attribute`);
  }
  return value;
}

function missingAttr(element: XmlElement, name: string, scope: Scope): never {
  fail('URDF_MISSING_ATTRIBUTE', scope, `${where(element, scope)} has no "${name}" attribute`);
}

/**
 * The numbers in attribute `name`: exactly `count` whitespace-separated finite numbers. An absent
 * attribute yields `fallback`, or is `URDF_MISSING_ATTRIBUTE` when there is none; a present one that
 * does not parse (including an empty one) is `URDF_BAD_NUMBER`.
 */
function numbersAttr(
  element: XmlElement,
  name: string,
  count: number,
  scope: Scope,
  fallback?: readonly number[],
): readonly number[] {
  const raw = element.attributes.get(name);
  if (raw === undefined) {
    if (fallback === undefined) missingAttr(element, name, scope);
    return fallback;
  }
  const context = `${where(element, scope)} ${name}="${raw}"`;
  const parts = raw.trim() === '' ? [] : raw.trim().split(/\s+/);
  if (parts.length !== count) {
    const expected = count === 1 ? 'a number' : `${count} numbers`;
    fail('URDF_BAD_NUMBER', scope, `${context}: expected ${expected}, got ${parts.length}`);
  }
  return parts.map((part) => {
    const value = NUMBER_PATTERN.test(part) ? Number(part) : Number.NaN;
    if (!Number.isFinite(value)) {
      fail('URDF_BAD_NUMBER', scope, `${context}: "${part}" is not a finite number`);
    }
    return value;
  });
}

/** A single number; see {@link numbersAttr}. */
function numberAttr(element: XmlElement, name: string, scope: Scope, fallback?: number): number {
  return numbersAttr(element, name, 1, scope, fallback === undefined ? undefined : [fallback])[0]!;
}

/** A number that must be ≥ 0 (sizes, radii, mass). */
function nonNegativeAttr(element: XmlElement, name: string, scope: Scope): number {
  const value = numberAttr(element, name, scope);
  if (value < 0) {
    fail('URDF_BAD_NUMBER', scope, `${where(element, scope)} ${name}="${value}": must not be negative`);
  }
  return value;
}

/** Three numbers; see {@link numbersAttr}. */
function vec3Attr(element: XmlElement, name: string, scope: Scope, fallback?: Vec3): Vec3 {
  const [x, y, z] = numbersAttr(element, name, 3, scope, fallback);
  return [x!, y!, z!];
}

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

/** `<link>` number `ordinal` (1-based, used in messages when the name is missing). */
function parseLink(element: XmlElement, ordinal: number): PendingLink {
  const name = requiredAttr(element, 'name', { element: 'link', elementName: undefined, label: `<link> #${ordinal}` });
  const scope: Scope = { element: 'link', elementName: name, label: `link "${name}"` };

  const visuals = childElements(element, 'visual').map((visual): PendingVisual => {
    const material = firstChild(visual, 'material');
    return {
      name: optionalAttr(visual, 'name'),
      origin: parseOrigin(visual, scope),
      geometry: parseGeometry(visual, scope),
      material: material === undefined ? undefined : nonBlank(optionalAttr(material, 'name')),
      inlineRgba: material === undefined ? undefined : parseColour(material, scope),
    };
  });
  const collisions = childElements(element, 'collision').map(
    (collision): Collision => ({
      name: optionalAttr(collision, 'name'),
      origin: parseOrigin(collision, scope),
      geometry: parseGeometry(collision, scope),
    }),
  );
  const inertial = firstChild(element, 'inertial');
  return { name, visuals, collisions, inertial: inertial === undefined ? undefined : parseInertial(inertial, scope) };
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** `<origin xyz rpy>` under `parent`; both attributes default to zeros, a missing element to identity. */
function parseOrigin(parent: XmlElement, scope: Scope): Origin {
  const origin = firstChild(parent, 'origin');
  if (origin === undefined) return { xyz: ZERO, rpy: ZERO };
  return { xyz: vec3Attr(origin, 'xyz', scope, ZERO), rpy: vec3Attr(origin, 'rpy', scope, ZERO) };
}

/** The single shape inside `owner`'s `<geometry>`. */
function parseGeometry(owner: XmlElement, scope: Scope): Geometry {
  const geometry = requiredChild(owner, 'geometry', scope);
  const [shape, ...extra] = geometry.children;
  const context = `${scope.label} <${owner.tag}> <geometry>`;
  if (shape === undefined) {
    fail('URDF_MISSING_ELEMENT', scope, `${context} has no shape element`);
  }
  if (extra.length > 0) {
    const tags = geometry.children.map((child) => `<${child.tag}>`).join(', ');
    fail('URDF_UNKNOWN_GEOMETRY', scope, `${context} holds ${geometry.children.length} shapes (${tags}); expected one`);
  }
  switch (shape.tag) {
    case 'box': {
      const size = vec3Attr(shape, 'size', scope);
      if (size.some((value) => value < 0)) {
        fail('URDF_BAD_NUMBER', scope, `${where(shape, scope)} size="${size.join(' ')}": must not be negative`);
      }
      return { kind: 'box', size };
    }
    case 'cylinder':
    case 'capsule':
      return {
        kind: shape.tag,
        radius: nonNegativeAttr(shape, 'radius', scope),
        length: nonNegativeAttr(shape, 'length', scope),
      };
    case 'sphere':
      return { kind: 'sphere', radius: nonNegativeAttr(shape, 'radius', scope) };
    case 'mesh':
      return {
        kind: 'mesh',
        filename: requiredAttr(shape, 'filename', scope),
        scale: vec3Attr(shape, 'scale', scope, ONE),
      };
    default:
      return fail(
        'URDF_UNKNOWN_GEOMETRY',
        scope,
        `${context} holds unknown shape <${shape.tag}> (expected one of ${GEOMETRY_KINDS.join(', ')})`,
      );
  }
}

/** The `<color rgba>` inside a `<material>`, if any; each component must lie in 0..1. */
function parseColour(material: XmlElement, scope: Scope): Rgba | undefined {
  const colour = firstChild(material, 'color');
  if (colour === undefined) return undefined;
  const [r, g, b, a] = numbersAttr(colour, 'rgba', 4, scope);
  const rgba: Rgba = [r!, g!, b!, a!];
  if (rgba.some((value) => value < 0 || value > 1)) {
    fail('URDF_BAD_NUMBER', scope, `${where(colour, scope)} rgba="${rgba.join(' ')}": components must lie in 0..1`);
  }
  return rgba;
}

/** Robot-level `<material name>` definitions: name → colour (undefined for texture-only materials). */
function readRobotMaterials(robot: XmlElement): Map<string, Rgba | undefined> {
  const colours = new Map<string, Rgba | undefined>();
  let ordinal = 0;
  for (const material of childElements(robot, 'material')) {
    ordinal += 1;
    const name = requiredAttr(material, 'name', {
      element: 'material',
      elementName: undefined,
      label: `robot-level <material> #${ordinal}`,
    });
    const scope: Scope = { element: 'material', elementName: name, label: `material "${name}"` };
    if (colours.has(name)) fail('URDF_DUPLICATE_NAME', scope, `material "${name}" is defined more than once`);
    colours.set(name, parseColour(material, scope));
  }
  return colours;
}

function parseInertial(inertial: XmlElement, scope: Scope): Inertial {
  const mass = nonNegativeAttr(requiredChild(inertial, 'mass', scope), 'value', scope);
  const inertia = requiredChild(inertial, 'inertia', scope);
  const component = (name: string): number => numberAttr(inertia, name, scope);
  return {
    origin: parseOrigin(inertial, scope),
    mass,
    inertia: [
      component('ixx'),
      component('ixy'),
      component('ixz'),
      component('iyy'),
      component('iyz'),
      component('izz'),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Joints
// ---------------------------------------------------------------------------------------------

/** `<joint>` number `ordinal` (1-based, used in messages when the name is missing). */
function parseJoint(element: XmlElement, ordinal: number): Joint {
  const name = requiredAttr(element, 'name', { element: 'joint', elementName: undefined, label: `<joint> #${ordinal}` });
  const scope: Scope = { element: 'joint', elementName: name, label: `joint "${name}"` };

  const typeName = requiredAttr(element, 'type', scope);
  const type = JOINT_TYPES.find((candidate) => candidate === typeName);
  if (type === undefined) {
    fail(
      'URDF_UNKNOWN_JOINT_TYPE',
      scope,
      `joint "${name}" has unknown type "${typeName}" (expected one of ${JOINT_TYPES.join(', ')})`,
    );
  }

  const parent = requiredAttr(requiredChild(element, 'parent', scope), 'link', scope);
  const child = requiredAttr(requiredChild(element, 'child', scope), 'link', scope);
  const mimic = firstChild(element, 'mimic');
  return {
    name,
    type,
    parent,
    child,
    origin: parseOrigin(element, scope),
    axis: parseAxis(element, scope),
    limit: parseLimit(element, type, scope),
    mimic: mimic === undefined ? undefined : parseMimic(mimic, scope),
  };
}

/** `<axis xyz>`, normalised; (1, 0, 0) when absent. */
function parseAxis(joint: XmlElement, scope: Scope): Vec3 {
  const axis = firstChild(joint, 'axis');
  if (axis === undefined) return X_AXIS;
  const [x, y, z] = vec3Attr(axis, 'xyz', scope);
  const length = Math.hypot(x, y, z);
  if (!(length > 0) || !Number.isFinite(length)) {
    fail('URDF_BAD_NUMBER', scope, `${where(axis, scope)} xyz="${x} ${y} ${z}": the axis must have a finite, non-zero length`);
  }
  return [x / length, y / length, z / length];
}

/**
 * `<limit>`: required for revolute and prismatic joints (with `velocity` and `effort`, per the URDF
 * spec); optional otherwise, where missing `velocity`/`effort` mean Infinity. `lower`/`upper`
 * default to 0, and are ∓Infinity for continuous joints whatever the file says.
 */
function parseLimit(joint: XmlElement, type: JointType, scope: Scope): JointLimit | undefined {
  const limit = firstChild(joint, 'limit');
  const bounded = type === 'revolute' || type === 'prismatic';
  if (limit === undefined) {
    if (bounded) fail('URDF_MISSING_LIMIT', scope, `${type} joint "${scope.elementName}" has no <limit> element`);
    if (type === 'continuous') return { lower: -Infinity, upper: Infinity, velocity: Infinity, effort: Infinity };
    return undefined;
  }

  const velocity = numberAttr(limit, 'velocity', scope, bounded ? undefined : Infinity);
  const effort = numberAttr(limit, 'effort', scope, bounded ? undefined : Infinity);
  const context = where(limit, scope);
  if (velocity < 0) fail('URDF_BAD_LIMIT', scope, `${context} velocity ${velocity} is negative`);
  if (effort < 0) fail('URDF_BAD_LIMIT', scope, `${context} effort ${effort} is negative`);
  if (type === 'continuous') return { lower: -Infinity, upper: Infinity, velocity, effort };

  const lower = numberAttr(limit, 'lower', scope, 0);
  const upper = numberAttr(limit, 'upper', scope, 0);
  if (lower > upper) fail('URDF_BAD_LIMIT', scope, `${context} lower ${lower} is greater than upper ${upper}`);
  return { lower, upper, velocity, effort };
}

function parseMimic(mimic: XmlElement, scope: Scope): Mimic {
  return {
    joint: requiredAttr(mimic, 'joint', scope),
    multiplier: numberAttr(mimic, 'multiplier', scope, 1),
    offset: numberAttr(mimic, 'offset', scope, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Whole-robot checks
// ---------------------------------------------------------------------------------------------

/**
 * Checks that links and joints form one tree and returns its root link and the joint indices in
 * topological order (Kahn's algorithm, always taking the earliest joint in document order).
 */
function sortKinematicTree(
  robotName: string,
  links: readonly Link[],
  joints: readonly Joint[],
): { root: string; order: number[] } {
  const linkNames = new Set(links.map((link) => link.name));
  /** child link → index of the joint that produces it */
  const parentJoint = new Map<string, number>();
  /** parent link → indices of the joints hanging from it, in document order */
  const childJoints = new Map<string, number[]>();

  joints.forEach((joint, index) => {
    const context = { element: 'joint', elementName: joint.name };
    if (!linkNames.has(joint.parent)) {
      throw new UrdfError(
        'URDF_MISSING_PARENT',
        `joint "${joint.name}" names parent link "${joint.parent}", which does not exist`,
        context,
      );
    }
    if (!linkNames.has(joint.child)) {
      throw new UrdfError(
        'URDF_MISSING_CHILD',
        `joint "${joint.name}" names child link "${joint.child}", which does not exist`,
        context,
      );
    }
    const previous = parentJoint.get(joint.child);
    if (previous !== undefined) {
      throw new UrdfError(
        'URDF_MULTIPLE_PARENTS',
        `link "${joint.child}" is the child of both joint "${joints[previous]!.name}" and joint "${joint.name}"`,
        { element: 'link', elementName: joint.child },
      );
    }
    parentJoint.set(joint.child, index);
    const siblings = childJoints.get(joint.parent);
    if (siblings === undefined) childJoints.set(joint.parent, [index]);
    else siblings.push(index);
  });

  // Every link has at most one parent joint, so walking up from any link either reaches a root or loops.
  const done = new Set<string>();
  for (const link of links) {
    const path: string[] = [];
    const onPath = new Set<string>();
    let current: string | undefined = link.name;
    while (current !== undefined && !done.has(current)) {
      if (onPath.has(current)) {
        const loop = path.slice(path.indexOf(current));
        // `loop` lists links from child to parent; report it in parent → child order.
        const linksDown = [...loop, current].reverse();
        const jointsDown = loop.map((name) => joints[parentJoint.get(name)!]!.name).reverse();
        throw new UrdfError(
          'URDF_CYCLE',
          `joints ${jointsDown.map((name) => `"${name}"`).join(', ')} form a kinematic loop: ` +
            linksDown.map((name) => `"${name}"`).join(' → '),
          { element: 'joint', elementName: jointsDown[0] },
        );
      }
      onPath.add(current);
      path.push(current);
      const up = parentJoint.get(current);
      current = up === undefined ? undefined : joints[up]!.parent;
    }
    for (const name of path) done.add(name);
  }

  const roots = links.filter((link) => !parentJoint.has(link.name)).map((link) => link.name);
  const [root] = roots;
  if (root === undefined) {
    throw new UrdfError('URDF_NO_ROOT', `robot "${robotName}" has no links`, { element: 'robot', elementName: robotName });
  }
  if (roots.length > 1) {
    throw new UrdfError(
      'URDF_MULTIPLE_ROOTS',
      `robot "${robotName}" has ${roots.length} root links (${roots.map((name) => `"${name}"`).join(', ')}); ` +
        'exactly one link must be no joint\'s child',
      { element: 'robot', elementName: robotName },
    );
  }

  const order: number[] = [];
  const ready = [...(childJoints.get(root) ?? [])];
  while (ready.length > 0) {
    const index = ready.shift()!;
    order.push(index);
    for (const next of childJoints.get(joints[index]!.child) ?? []) insertSorted(ready, next);
  }
  return { root, order };
}

/** Inserts `value` into the ascending array `sorted`, keeping it ascending. */
function insertSorted(sorted: number[], value: number): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  sorted.splice(low, 0, value);
}

/** Every `<mimic joint>` must exist, and following mimic references must never return to a joint. */
function checkMimics(joints: readonly Joint[]): void {
  const byName = new Map(joints.map((joint) => [joint.name, joint]));
  for (const joint of joints) {
    if (joint.mimic !== undefined && !byName.has(joint.mimic.joint)) {
      throw new UrdfError(
        'URDF_MIMIC_UNKNOWN_JOINT',
        `joint "${joint.name}" mimics joint "${joint.mimic.joint}", which does not exist`,
        { element: 'joint', elementName: joint.name },
      );
    }
  }
  const done = new Set<string>();
  for (const start of joints) {
    const chain: string[] = [];
    let current: Joint | undefined = start;
    while (current !== undefined && !done.has(current.name)) {
      const seen = chain.indexOf(current.name);
      if (seen >= 0) {
        const loop = [...chain.slice(seen), current.name];
        throw new UrdfError(
          'URDF_MIMIC_LOOP',
          `mimic joints form a loop: ${loop.map((name) => `"${name}"`).join(' → ')}`,
          { element: 'joint', elementName: current.name },
        );
      }
      chain.push(current.name);
      current = current.mimic === undefined ? undefined : byName.get(current.mimic.joint);
    }
    for (const name of chain) done.add(name);
  }
}
