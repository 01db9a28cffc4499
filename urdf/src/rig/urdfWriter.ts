/**
 * A small URDF writer: plain link/joint descriptions in, URDF XML text out. Used to generate the
 * rig's URDF files from the numbers in `rigSpec.ts`, so every number lives in one place.
 */

export type V3 = readonly [number, number, number];

export type GeomSpec =
  | { readonly box: V3 }
  | { readonly cylinder: { readonly radius: number; readonly length: number } }
  | { readonly sphere: number };

export interface ShapeSpec {
  readonly geom: GeomSpec;
  readonly xyz?: V3;
  readonly rpy?: V3;
  readonly material: string;
}

export interface LinkSpec {
  readonly name: string;
  readonly shapes: readonly ShapeSpec[];
  readonly massKg: number;
}

export interface JointSpec {
  readonly name: string;
  readonly type: 'revolute' | 'fixed';
  readonly parent: string;
  readonly child: string;
  readonly xyz: V3;
  readonly rpy: V3;
  readonly axis?: V3;
  readonly limit?: { readonly lower: number; readonly upper: number; readonly velocity: number; readonly effort: number };
  readonly mimic?: { readonly joint: string; readonly multiplier: number; readonly offset: number };
}

export interface MaterialSpec {
  readonly name: string;
  readonly rgba: readonly [number, number, number, number];
}

/** Formats a number for URDF: up to 9 significant decimals, no trailing zeros, no `-0`. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`urdf writer: cannot write non-finite number ${x}`);
  const r = Number(x.toFixed(9));
  return Object.is(r, -0) ? '0' : String(r);
}

const v3 = (v: V3): string => `${num(v[0])} ${num(v[1])} ${num(v[2])}`;

function geomXml(g: GeomSpec): string {
  if ('box' in g) return `<box size="${v3(g.box)}"/>`;
  if ('cylinder' in g) return `<cylinder radius="${num(g.cylinder.radius)}" length="${num(g.cylinder.length)}"/>`;
  return `<sphere radius="${num(g.sphere)}"/>`;
}

/** Volume and centroid-frame inertia diagonal of one primitive of unit density. */
function primitiveInertia(g: GeomSpec): { volume: number; diag: V3 } {
  if ('box' in g) {
    const [x, y, z] = g.box;
    const v = x * y * z;
    return { volume: v, diag: [(v * (y * y + z * z)) / 12, (v * (x * x + z * z)) / 12, (v * (x * x + y * y)) / 12] };
  }
  if ('cylinder' in g) {
    const { radius: r, length: h } = g.cylinder;
    const v = Math.PI * r * r * h;
    const side = (v * (3 * r * r + h * h)) / 12;
    return { volume: v, diag: [side, side, (v * r * r) / 2] };
  }
  const r = g.sphere;
  const v = (4 / 3) * Math.PI * r * r * r;
  const i = (2 / 5) * v * r * r;
  return { volume: v, diag: [i, i, i] };
}

/** Rotation matrix (row-major) of URDF rpy: R = Rz(yaw)·Ry(pitch)·Rx(roll). */
function rpyMatrix([r, p, y]: V3): number[] {
  const cr = Math.cos(r), sr = Math.sin(r), cp = Math.cos(p), sp = Math.sin(p), cy = Math.cos(y), sy = Math.sin(y);
  return [
    cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
    sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
    -sp, cp * sr, cp * cr,
  ];
}

/**
 * Inertial of a link whose mass is spread over its shapes in proportion to their volumes: the
 * centre of mass and the inertia tensor about it (parallel-axis theorem), in the link frame.
 */
function inertialXml(link: LinkSpec): string {
  const parts = link.shapes.map((s) => ({ s, ...primitiveInertia(s.geom) }));
  const totalVolume = parts.reduce((a, p) => a + p.volume, 0);
  const com = [0, 0, 0];
  for (const p of parts) {
    const w = p.volume / totalVolume;
    const c = p.s.xyz ?? [0, 0, 0];
    for (let i = 0; i < 3; i++) com[i]! += w * c[i]!;
  }
  const I = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (const p of parts) {
    const m = (link.massKg * p.volume) / totalVolume;
    const scale = m / p.volume;
    const R = rpyMatrix(p.s.rpy ?? [0, 0, 0]);
    const d = p.diag.map((x) => x * scale);
    // R·diag·Rᵀ, then the parallel-axis shift to the link's centre of mass.
    const c = p.s.xyz ?? [0, 0, 0];
    const r = [c[0] - com[0]!, c[1] - com[1]!, c[2] - com[2]!];
    const rr = r[0]! * r[0]! + r[1]! * r[1]! + r[2]! * r[2]!;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += R[i * 3 + k]! * d[k]! * R[j * 3 + k]!;
        v += m * ((i === j ? rr : 0) - r[i]! * r[j]!);
        I[i * 3 + j]! += v;
      }
    }
  }
  const f = (x: number): string => num(Number(x.toPrecision(6)));
  return [
    '    <inertial>',
    `      <origin xyz="${v3(com as unknown as V3)}" rpy="0 0 0"/>`,
    `      <mass value="${num(link.massKg)}"/>`,
    `      <inertia ixx="${f(I[0]!)}" ixy="${f(I[1]!)}" ixz="${f(I[2]!)}" iyy="${f(I[4]!)}" iyz="${f(I[5]!)}" izz="${f(I[8]!)}"/>`,
    '    </inertial>',
  ].join('\n');
}

function shapeXml(tag: 'visual' | 'collision', s: ShapeSpec): string {
  const lines = [
    `    <${tag}>`,
    `      <origin xyz="${v3(s.xyz ?? [0, 0, 0])}" rpy="${v3(s.rpy ?? [0, 0, 0])}"/>`,
    `      <geometry>${geomXml(s.geom)}</geometry>`,
  ];
  if (tag === 'visual') lines.push(`      <material name="${s.material}"/>`);
  lines.push(`    </${tag}>`);
  return lines.join('\n');
}

function linkXml(link: LinkSpec): string {
  if (link.shapes.length === 0) throw new RangeError(`urdf writer: link ${link.name} has no shapes`);
  return [
    `  <link name="${link.name}">`,
    ...link.shapes.map((s) => shapeXml('visual', s)),
    ...link.shapes.map((s) => shapeXml('collision', s)),
    inertialXml(link),
    '  </link>',
  ].join('\n');
}

function jointXml(j: JointSpec): string {
  const lines = [
    `  <joint name="${j.name}" type="${j.type}">`,
    `    <parent link="${j.parent}"/>`,
    `    <child link="${j.child}"/>`,
    `    <origin xyz="${v3(j.xyz)}" rpy="${v3(j.rpy)}"/>`,
  ];
  if (j.axis) lines.push(`    <axis xyz="${v3(j.axis)}"/>`);
  if (j.limit) {
    const l = j.limit;
    lines.push(`    <limit lower="${num(l.lower)}" upper="${num(l.upper)}" velocity="${num(l.velocity)}" effort="${num(l.effort)}"/>`);
  }
  if (j.mimic) lines.push(`    <mimic joint="${j.mimic.joint}" multiplier="${num(j.mimic.multiplier)}" offset="${num(j.mimic.offset)}"/>`);
  lines.push('  </joint>');
  return lines.join('\n');
}

/** Writes a complete URDF document. */
export function writeUrdf(
  robotName: string,
  comment: string,
  materials: readonly MaterialSpec[],
  links: readonly LinkSpec[],
  joints: readonly JointSpec[],
): string {
  const used = new Set(links.flatMap((l) => l.shapes.map((s) => s.material)));
  return [
    '<?xml version="1.0"?>',
    `<!-- ${comment} -->`,
    `<robot name="${robotName}">`,
    ...materials.filter((m) => used.has(m.name)).map((m) => `  <material name="${m.name}"><color rgba="${m.rgba.map(num).join(' ')}"/></material>`),
    ...links.map(linkXml),
    ...joints.map(jointXml),
    '</robot>',
    '',
  ].join('\n');
}
