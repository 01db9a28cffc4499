import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FormatError,
  type FormatErrorCode,
  formatHandFrameLine,
  type JsValue,
  parseHandFrameLine,
  parseHandFramesJsonl,
  parseIwerCapture,
  parseJsLiteralModule,
} from '../src/formats/index.js';
import { type HandFrame, XR_BONES, XR_HAND_LENGTH, XR_JOINT_NAMES } from '../src/handFrame.js';

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A deterministic, valid hand: distinct positions, unit quaternions, positive radii. */
function makeHand(seed: number): Float64Array {
  const h = new Float64Array(XR_HAND_LENGTH);
  for (let j = 0; j < 25; j++) {
    const b = j * 8;
    h[b] = Math.sin(seed + j) * 0.3;
    h[b + 1] = 1.1 + Math.cos(seed * 2 + j) * 0.2;
    h[b + 2] = -0.4 + Math.sin(seed * 3 + j * 0.7) * 0.1;
    const a = seed * 0.37 + j * 0.11;
    const axis = [Math.sin(a), Math.cos(a) * 0.6, Math.cos(a) * 0.8];
    const n = Math.hypot(axis[0]!, axis[1]!, axis[2]!);
    const s = Math.sin(a / 2);
    h[b + 3] = (axis[0]! / n) * s;
    h[b + 4] = (axis[1]! / n) * s;
    h[b + 5] = (axis[2]! / n) * s;
    h[b + 6] = Math.cos(a / 2);
    h[b + 7] = 0.005 + j * 0.0007;
  }
  return h;
}

function catchFormatError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error('expected a FormatError, nothing was thrown');
}

function jointsJson(h: Float64Array): string {
  const joints: string[] = [];
  for (let j = 0; j < 25; j++) joints.push(`[${Array.from(h.slice(j * 8, j * 8 + 8)).join(',')}]`);
  return `[${joints.join(',')}]`;
}

/** A valid nested hand as JSON text, with joint `j` replaced by `jointText`. */
function handWithJoint(j: number, jointText: string): string {
  const joints = Array.from({ length: 25 }, (_, i) => (i === j ? jointText : '[0,0,0,0,0,0,1,0.01]'));
  return `[${joints.join(',')}]`;
}

/** Rotates v by the unit quaternion q through its rotation matrix (independent of the source). */
function rotateByMatrix(q: readonly number[], v: readonly number[]): number[] {
  const [x, y, z, w] = q as [number, number, number, number];
  const m = [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
  return m.map((row) => row[0]! * v[0]! + row[1]! * v[1]! + row[2]! * v[2]!);
}


function dist(h: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(h[a * 8]! - h[b * 8]!, h[a * 8 + 1]! - h[b * 8 + 1]!, h[a * 8 + 2]! - h[b * 8 + 2]!);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines.

describe('hand-frame JSON Lines', () => {
  it('round-trips frames through formatHandFrameLine / parseHandFramesJsonl within the rounding', () => {
    const frames: HandFrame[] = [
      { tMs: 0, left: makeHand(1), right: makeHand(2) },
      { tMs: 11.1234567, left: null, right: makeHand(3) },
      { tMs: 22.5, left: makeHand(4), right: null },
      { tMs: 40, left: null, right: null },
    ];
    const text = frames.map((f) => formatHandFrameLine(f)).join('\n') + '\n';
    const back = parseHandFramesJsonl(text);
    expect(back).toHaveLength(frames.length);
    back.forEach((f, i) => {
      const src = frames[i]!;
      expect(f.tMs).toBeCloseTo(src.tMs, 3);
      for (const side of ['left', 'right'] as const) {
        const a = src[side];
        const b = f[side];
        if (a === null) {
          expect(b).toBeNull();
          continue;
        }
        expect(b).toBeInstanceOf(Float64Array);
        expect(b!.length).toBe(XR_HAND_LENGTH);
        for (let k = 0; k < XR_HAND_LENGTH; k++) expect(Math.abs(b![k]! - a[k]!)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      }
    });
    // Re-formatting the parsed frames is a fixed point.
    expect(back.map((f) => formatHandFrameLine(f)).join('\n') + '\n').toBe(text);
  });

  it('writes the documented line shape with shortest numbers and custom precision', () => {
    const hand = new Float64Array(XR_HAND_LENGTH);
    for (let j = 0; j < 25; j++) hand.set([0.1234567, -0.00000049, 1, 0, 0, 0, 1, 0.0105], j * 8);
    const line = formatHandFrameLine({ tMs: 5, left: null, right: hand });
    expect(line.startsWith('{"t":5,"left":null,"right":[[0.123457,0,1,0,0,0,1,0.0105],')).toBe(true);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('-0,');
    const parsed: unknown = JSON.parse(line);
    expect(parsed).toMatchObject({ t: 5, left: null });
    const coarse = formatHandFrameLine({ tMs: 5, left: null, right: hand }, { positionDecimals: 3, radiusDecimals: 2 });
    expect(coarse).toContain('[[0.123,0,1,0,0,0,1,0.01],');
    expect(() => formatHandFrameLine({ tMs: 5, left: null, right: hand }, { positionDecimals: 1.5 })).toThrow(RangeError);
  });

  it('accepts a flat 200-number hand, extra keys, blank lines and CRLF', () => {
    const h = makeHand(7);
    const flat = `{"t":1,"left":[${Array.from(h).join(',')}],"right":null,"note":"ignored"}`;
    const nested = `{"t":2,"left":${jointsJson(h)},"right":null}`;
    const frames = parseHandFramesJsonl(`\uFEFF${flat}\r\n\r\n   \n${nested}\r\n`);
    expect(frames).toHaveLength(2);
    expect(Array.from(frames[0]!.left!)).toEqual(Array.from(h));
    expect(Array.from(frames[1]!.left!)).toEqual(Array.from(h));
    expect(parseHandFramesJsonl('')).toEqual([]);
  });

  const cases: readonly (readonly [string, string, FormatErrorCode, RegExp])[] = [
    ['not JSON', '{"t": 1, left: null}', 'FORMAT_BAD_JSON', /^formats: line 7: not valid JSON \(.+\): "\{\\"t\\": 1, left: null\}"$/],
    ['an array', '[1, 2]', 'FORMAT_BAD_FRAME', /^formats: line 7: expected an object .*got array of 2/],
    ['missing t', '{"left": null, "right": null}', 'FORMAT_BAD_FRAME', /^formats: line 7: missing "t".*object \{"left", "right"\}/],
    ['a string t', '{"t": "12", "left": null, "right": null}', 'FORMAT_BAD_FRAME', /^formats: line 7: "t" must be a number.*got string "12"/],
    ['missing right', '{"t": 1, "left": null}', 'FORMAT_BAD_FRAME', /^formats: line 7: missing "right" \(use null/],
    ['a short hand', '{"t": 1, "left": [[0,0,0,0,0,0,1,0.01],[0,0,0,0,0,0,1,0.01],[0,0,0,0,0,0,1,0.01]], "right": null}', 'FORMAT_BAD_HAND', /^formats: line 7: "left" must have 25 joints .*got array of 3 \[array of 8, …\]/],
    ['an object hand', '{"t": 1, "left": null, "right": {"wrist": 1}}', 'FORMAT_BAD_HAND', /^formats: line 7: "right" must be an array .*got object \{"wrist"\}/],
    ['a 7-number joint', `{"t": 1, "left": ${handWithJoint(3, '[0,0,0,0,0,0,1]')}, "right": null}`, 'FORMAT_BAD_HAND', /^formats: line 7: "left" joint 3 \(thumb-phalanx-distal\): expected 8 numbers .*got array of 7/],
    ['a string in a joint', `{"t": 1, "left": null, "right": ${handWithJoint(0, '["x",0,0,0,0,0,1,0.01]')}}`, 'FORMAT_BAD_HAND', /^formats: line 7: "right" joint 0 \(wrist\) px: expected a number, got string "x"/],
    ['a huge joint value', `{"t": 1, "left": ${handWithJoint(0, '[0,1e999,0,0,0,0,1,0.01]')}, "right": null}`, 'FORMAT_NOT_FINITE', /^formats: line 7: "left" joint 0 \(wrist\) py is not finite: Infinity/],
    ['a huge t', '{"t": -1e999, "left": null, "right": null}', 'FORMAT_NOT_FINITE', /^formats: line 7: "t" is not finite: -Infinity/],
    ['a zero quaternion', `{"t": 1, "left": null, "right": [${Array.from({ length: 25 }, () => '[0,0,0,0,0,0,0,0.01]').join(',')}]}`, 'FORMAT_BAD_QUATERNION', /^formats: line 7: "right" joint 0 \(wrist\): quaternion \[0, 0, 0, 0\] has norm 0\.000/],
    ['a negative radius', `{"t": 1, "left": [${Array.from({ length: 25 }, () => '[0,0,0,0,0,0,1,-0.01]').join(',')}], "right": null}`, 'FORMAT_BAD_HAND', /^formats: line 7: "left" joint 0 \(wrist\): radius -0\.01 is negative/],
  ];
  it.each(cases)('rejects %s with a coded, located error', (_name, line, code, message) => {
    const err = catchFormatError(() => parseHandFrameLine(line, 7));
    expect(err.code).toBe(code);
    expect(err.line).toBe(7);
    expect(err.message).toMatch(message);
    expect(err.name).toBe('FormatError');
  });

  it('reports the line of a bad frame inside a file, counting blank lines', () => {
    const err = catchFormatError(() => parseHandFramesJsonl(`{"t":1,"left":null,"right":null}\n\n{"t":2,"left":null}\n`));
    expect(err.code).toBe('FORMAT_BAD_FRAME');
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/^formats: line 3: /);
  });

  it('requires t to strictly increase across lines', () => {
    const line = (t: number): string => `{"t":${t},"left":null,"right":null}`;
    for (const [second, shown] of [[10, '10'], [9.5, '9.5']] as const) {
      const err = catchFormatError(() => parseHandFramesJsonl(`${line(10)}\n\n${line(second)}\n`));
      expect(err.code).toBe('FORMAT_TIME_NOT_MONOTONIC');
      expect(err.line).toBe(3);
      expect(err.message).toBe(`formats: line 3: "t" ${shown} is not after the previous frame's 10 (line 1); t must strictly increase`);
    }
  });

  it('refuses to write a malformed frame', () => {
    const bad = makeHand(1);
    bad[13] = Number.NaN;
    expect(catchFormatError(() => formatHandFrameLine({ tMs: 0, left: bad, right: null })).code).toBe('FORMAT_NOT_FINITE');
    expect(catchFormatError(() => formatHandFrameLine({ tMs: Number.POSITIVE_INFINITY, left: null, right: null })).code).toBe('FORMAT_NOT_FINITE');
    const err = catchFormatError(() => formatHandFrameLine({ tMs: 0, left: null, right: new Float64Array(199) }));
    expect(err.code).toBe('FORMAT_BAD_HAND');
    expect(err.message).toMatch(/199/);
  });
});

// ---------------------------------------------------------------------------------------------
// IWER captures: a small hand-made capture.

/** Relative joint s of the test hands: distinct positions, quaternion (0, 0, .6, .8), radius. */
function relJoint(s: number): number[] {
  return [0.1 + 0.01 * s, 0.2 - 0.002 * s, 0.3 + 0.003 * s, 0, 0, 0.6, 0.8, 0.021 - 0.0005 * s];
}

/** Writes numbers the way a minifier does: `.5`, `-.25`, `1e-3`. */
function jsNum(x: number): string {
  return String(x).replace(/^(-?)0\./, '$1.');
}

function relHandText(): string {
  return `[${Array.from({ length: 25 }, (_, s) => relJoint(s).map(jsNum).join(',')).join(',')}]`;
}

const NAMES_SINGLE = `[${XR_JOINT_NAMES.map((n) => `'${n}'`).join(',')}]`;
const NAMES_REVERSED_DOUBLE = `[${[...XR_JOINT_NAMES].reverse().map((n) => `"${n}"`).join(', ')}]`;
const HEAD = '-.01,1.265,.022,-.027,-.108,.024,.994';
const RIGHT_RAY = '1,2,3,0,.6,0,.8';
const LEFT_RAY = '-.5,1e0,-1e-3,0,0,0,2'; // a non-unit quaternion: renormalised to identity
const CONTROLLER = `[0,.1,.9,-.2,0,0,0,1,[.1,.9,-.2,0,0,0,1],[[1,!0,.5],[0,0,0],.25,-.5]]`;

const SMALL_CAPTURE = `/* hand-made IWER capture */
var a={schema:[[0,{handedness:'left',targetRayMode:'tracked-pointer',profiles:['oculus-touch'],hasGrip:!0,hasHand:!1,hasGamepad:!0,mapping:'xr-standard',numButtons:2,numAxes:2}],
[1,{handedness:'right',targetRayMode:'tracked-pointer',profiles:['oculus-hand','generic-hand'],hasGrip:!0,hasHand:!0,hasGamepad:!0,jointSequence:${NAMES_SINGLE},mapping:'xr-standard',numButtons:1,numAxes:0}],
[2,{"handedness":"left",'targetRayMode':"tracked-pointer",profiles:["it's \\"quoted\\"\\u0021"],hasGrip:!1,hasHand:!0,hasGamepad:!1,jointSequence:${NAMES_REVERSED_DOUBLE},mapping:void 0,},],],
frames:[
[100,${HEAD},${CONTROLLER}],
[111.5,${HEAD},${CONTROLLER},[1,${RIGHT_RAY},[1,2,3,0,0,0,1],${relHandText()},[[0,0,0]]]],
[122.25,${HEAD},[1,${RIGHT_RAY},[1,2,3,0,0,0,1],${relHandText()},[[0,0,0]]],[2,${LEFT_RAY},${relHandText()}]],
[130,${HEAD}],
[140,${HEAD},[1,${RIGHT_RAY},[1,2,3,0,0,0,1],[],[[0,0,0]]],[2,${LEFT_RAY}]], // hands absent
[150,${HEAD},[2,${LEFT_RAY},${relHandText()}]],
]};export{a as capture};
`;

describe('IWER capture import (hand-made capture)', () => {
  it('reads the JS literal subset without evaluating it', () => {
    const v = parseJsLiteralModule(`// c\nconst x = {a: !0, 'b': !1, "c": [.5, -1e-3, +2, 0x1F, 5.], d: void 0, 3: 'it\\'s', e: "\\u{1F600}\\x41\\n",}; export default x;`);
    expect(v).toEqual({ a: true, b: false, c: [0.5, -0.001, 2, 31, 5], d: null, '3': "it's", e: '\u{1F600}A\n' });
    expect(parseJsLiteralModule('[1, 2, 3];')).toEqual([1, 2, 3]);
    expect(parseJsLiteralModule('export default {k: null}')).toEqual({ k: null });
    expect(parseJsLiteralModule('var a = 1, b = {z: 2}; export { b as capture };')).toEqual({ z: 2 });
    const proto = parseJsLiteralModule('{"__proto__": {"polluted": true}}') as { [key: string]: JsValue };
    expect(Object.getPrototypeOf(proto)).toBeNull();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  const frames = parseIwerCapture(SMALL_CAPTURE);

  it('keeps the frames with at least one tracked hand, with their original times', () => {
    expect(frames.map((f) => f.tMs)).toEqual([111.5, 122.25, 150]);
    expect(frames.map((f) => [f.left !== null, f.right !== null])).toEqual([
      [false, true],
      [true, true],
      [true, false],
    ]);
  });

  it('composes joints with the target ray: world = targetRay ∘ joint (hand-computed)', () => {
    // Ray: p = (1, 2, 3), q = (0, .6, 0, .8): a rotation about +y with cos θ = .28, sin θ = .96.
    // Wrist relative p = (.1, .2, .3) → R·p = (.28·.1 + .96·.3, .2, −.96·.1 + .28·.3) = (.316, .2, −.012).
    // Relative q = (0, 0, .6, .8) → qRay ⊗ q = (.36, .48, .48, .64).
    const right = frames[0]!.right!;
    const wrist = Array.from(right.slice(0, 8));
    const expected = [1.316, 2.2, 2.988, 0.36, 0.48, 0.48, 0.64, 0.021];
    wrist.forEach((v, k) => {
      expect(v).toBeCloseTo(expected[k]!, 12);
    });
    // Every joint, against an independent rotation-matrix computation.
    for (let j = 0; j < 25; j++) {
      const rel = relJoint(j);
      const rp = rotateByMatrix([0, 0.6, 0, 0.8], rel);
      const got = Array.from(right.slice(j * 8, j * 8 + 8));
      [1 + rp[0]!, 2 + rp[1]!, 3 + rp[2]!, 0.36, 0.48, 0.48, 0.64, rel[7]!].forEach((v, k) => {
        expect(got[k]).toBeCloseTo(v, 12);
      });
    }
  });

  it('renormalises the ray quaternion and reorders joints by jointSequence', () => {
    // Left ray: p = (−.5, 1, −.001), q = (0, 0, 0, 2) → identity. Its jointSequence is reversed,
    // so WebXR joint j is stored in slot 24 − j.
    for (const f of [frames[1]!, frames[2]!]) {
      const left = f.left!;
      for (let j = 0; j < 25; j++) {
        const rel = relJoint(24 - j);
        const expected = [-0.5 + rel[0]!, 1 + rel[1]!, -0.001 + rel[2]!, 0, 0, 0.6, 0.8, rel[7]!];
        Array.from(left.slice(j * 8, j * 8 + 8)).forEach((v, k) => {
          expect(v).toBeCloseTo(expected[k]!, 12);
        });
      }
    }
  });

  it('reads plain JSON of the same object', () => {
    const v = parseJsLiteralModule(SMALL_CAPTURE);
    const json = JSON.stringify(v);
    expect(parseIwerCapture(json)).toEqual(frames);
  });

  const syntaxCases: readonly (readonly [string, string, string, RegExp])[] = [
    ['a stray character', 'var a={schema:[],frames:[1,2,@]};', '@', /expected a value, found "@"/],
    ['a function call', 'var a={schema:alert(1),frames:[]};', 'alert', /unexpected identifier "alert"/],
    ['a statement', 'var a={schema:[],frames:[]};fetch("x");', 'fetch', /unexpected "fetch"/],
    ['!2', 'var a={x:!2};', '!', /only !0 and !1/],
    ['an unterminated string', "var a={x:'abc};", "'", /unterminated string/],
    ['a missing colon', 'var a={x 1};', '1', /expected ":" after property name "x"/],
  ];
  it.each(syntaxCases)('rejects %s with FORMAT_IWER_SYNTAX and its offset', (_name, text, at, message) => {
    const err = catchFormatError(() => parseIwerCapture(text));
    expect(err.code).toBe('FORMAT_IWER_SYNTAX');
    expect(err.offset).toBe(text.indexOf(at));
    expect(err.message).toMatch(new RegExp(`^formats: IWER capture: syntax error at offset ${text.indexOf(at)} \\(line 1, column ${text.indexOf(at) + 1}\\): `));
    expect(err.message).toMatch(message);
  });

  it('rejects deep nesting without overflowing the stack', () => {
    const err = catchFormatError(() => parseIwerCapture('['.repeat(100_000)));
    expect(err.code).toBe('FORMAT_IWER_SYNTAX');
    expect(err.message).toMatch(/nesting deeper than 64/);
  });

  const hand200 = `[${Array.from({ length: 25 }, () => '0,0,0,0,0,0,1,.01').join(',')}]`;
  const schemaHands = `[[0,{handedness:'left',hasGrip:!1,hasHand:!0,hasGamepad:!1}],[1,{handedness:'right',hasGrip:!1,hasHand:!0,hasGamepad:!1}]]`;
  const structureCases: readonly (readonly [string, string, FormatErrorCode, RegExp])[] = [
    ['no frames', '{"schema": []}', 'FORMAT_IWER_SCHEMA', /expected an object \{schema: \[\.\.\.\], frames: \[\.\.\.\]\}, got object \{"schema"\}/],
    ['no hand inputs', `{schema:[[0,{handedness:'left',hasHand:!1}],[1,{handedness:'right',hasHand:!1}]],frames:[]}`, 'FORMAT_IWER_SCHEMA', /no hand inputs .*inputs: 0 left controller, 1 right controller/],
    ['a bad jointSequence', `{schema:[[0,{handedness:'left',hasHand:!0,jointSequence:['wrist']}]],frames:[]}`, 'FORMAT_IWER_SCHEMA', /input 0: jointSequence must list the 25 WebXR joints, got array of 1/],
    ['a handless handedness', `{schema:[[0,{handedness:'none',hasHand:!0}]],frames:[]}`, 'FORMAT_IWER_SCHEMA', /input 0 has a hand but handedness string "none"/],
    ['an unknown input', `{schema:${schemaHands},frames:[[1,${HEAD},[7,${RIGHT_RAY}]]]}`, 'FORMAT_IWER_FRAME', /^formats: IWER capture: frame 0: input index 7 is not in the schema/],
    ['a short hand', `{schema:${schemaHands},frames:[[1,${HEAD},[1,${RIGHT_RAY},[1,2,3]]]]}`, 'FORMAT_IWER_FRAME', /frame 0: input 1 \(right hand\): expected 200 hand numbers, got array of 3/],
    ['a short frame', `{schema:${schemaHands},frames:[[1,2,3]]}`, 'FORMAT_IWER_FRAME', /frame 0: expected \[t, head pose \(7 numbers\), \.\.\.inputs\] with a finite t, got array of 3/],
    ['a bad ray', `{schema:${schemaHands},frames:[[1,${HEAD},[1,1,2,'x',0,0,0,1,${hand200}]]]}`, 'FORMAT_IWER_FRAME', /target-ray pose value 3 must be a finite number, got string "x"/],
    ['two right hands', `{schema:[[0,{handedness:'right',hasHand:!0}],[1,{handedness:'right',hasHand:!0}]],frames:[[1,${HEAD},[0,${RIGHT_RAY},${hand200}],[1,${RIGHT_RAY},${hand200}]]]}`, 'FORMAT_IWER_FRAME', /two right-hand inputs \(0 and 1\)/],
    ['time going back', `{schema:${schemaHands},frames:[[5,${HEAD},[0,${RIGHT_RAY},${hand200}]],[4,${HEAD},[0,${RIGHT_RAY},${hand200}]]]}`, 'FORMAT_TIME_NOT_MONOTONIC', /frame 1: t 4 is not after frame 0's t 5/],
  ];
  it.each(structureCases)('rejects %s with a coded error', (_name, text, code, message) => {
    const err = catchFormatError(() => parseIwerCapture(text));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^formats: IWER capture: /);
    expect(err.message).toMatch(message);
  });
});

// ---------------------------------------------------------------------------------------------
// The real Meta Quest 3 capture and the shipped demo file.

const captureUrl = new URL('../../test/fixtures/quest3-hands/cap.min.js', import.meta.url);
const demoUrl = new URL('../../server/data/quest3-hands.jsonl', import.meta.url);
// The capture ships with the repository (test/fixtures/quest3-hands, MIT, its LICENSE beside it).
describe('IWER capture import (real Meta Quest 3 session)', () => {
  const text = readFileSync(captureUrl, 'utf8');
  const frames = parseIwerCapture(text);

  it('imports the hand-tracked frames 955–1711 with their original times', () => {
    expect(frames).toHaveLength(757);
    expect(frames.filter((f) => f.right !== null)).toHaveLength(756);
    expect(frames.filter((f) => f.left !== null)).toHaveLength(667);
    expect(frames[0]!.tMs).toBe(20449.9);
    expect(frames[frames.length - 1]!.tMs).toBe(28930.5);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.tMs).toBeGreaterThan(frames[i - 1]!.tMs);
  });

  it('has unit quaternions and plausible local-floor positions', () => {
    let worstNorm = 0;
    let lowest = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (const f of frames) {
      for (const h of [f.left, f.right]) {
        if (h === null) continue;
        for (let j = 0; j < 25; j++) {
          const b = j * 8;
          worstNorm = Math.max(worstNorm, Math.abs(Math.hypot(h[b + 3]!, h[b + 4]!, h[b + 5]!, h[b + 6]!) - 1));
          lowest = Math.min(lowest, h[b + 1]!);
          highest = Math.max(highest, h[b + 1]!);
        }
      }
    }
    expect(worstNorm).toBeLessThan(1e-12);
    // Hands held in front of a seated/standing user, above the floor (local-floor: y = 0).
    expect(lowest).toBeGreaterThan(0.5);
    expect(highest).toBeLessThan(1.8);
  });

  it('keeps both hands’ bone lengths constant across frames (rigid composition)', () => {
    // The source rounds relative positions to 1 mm, so a length wanders by about ±1 mm; the palm
    // distances (wrist→thumb/index/middle metacarpal, index/middle metacarpal→proximal) vary by up to
    // 6 mm in the source itself.
    const palm = new Set(['0-1', '0-5', '0-10', '5-6', '10-11']);
    for (const side of ['left', 'right'] as const) {
      for (const [a, b] of XR_BONES) {
        const lengths = frames.flatMap((f) => (f[side] === null ? [] : [dist(f[side], a, b)]));
        const sorted = [...lengths].sort((x, y) => x - y);
        const median = sorted[sorted.length >> 1]!;
        const mean = lengths.reduce((x, y) => x + y, 0) / lengths.length;
        const sd = Math.sqrt(lengths.reduce((x, y) => x + (y - mean) ** 2, 0) / lengths.length);
        expect(sd, `${side} ${a}-${b}`).toBeLessThan(0.001);
        if (!palm.has(`${a}-${b}`)) {
          expect(Math.max(...lengths.map((d) => Math.abs(d - median))), `${side} ${a}-${b}`).toBeLessThan(0.002);
        }
      }
    }
  });

  it('matches the raw relative distances exactly and puts the grip rigidly on the wrist', () => {
    // Rigid transforms preserve distances: world bone lengths equal the raw (ray-frame) ones. And
    // the grip pose, recorded separately in the reference space, must sit at a fixed offset in the
    // composed wrist frame (a wrong composition order moves it by 4–13 cm).
    const raw = parseJsLiteralModule(text) as { frames: JsValue[][] };
    const byTime = new Map(raw.frames.map((fr) => [fr[0] as number, fr]));
    for (const [index, side] of [[2, 'left'], [3, 'right']] as const) {
      const offsets: number[][] = [];
      for (const f of frames) {
        const h = f[side];
        if (h === null) continue;
        const input = byTime.get(f.tMs)!.slice(8).find((i) => (i as JsValue[])[0] === index) as JsValue[];
        const rel = input[9] as number[];
        for (const [a, b] of XR_BONES) expect(Math.abs(dist(h, a, b) - dist(rel, a, b))).toBeLessThan(1e-12);
        const grip = input[8] as number[];
        const inv = [-h[3]!, -h[4]!, -h[5]!, h[6]!];
        offsets.push(rotateByMatrix(inv, [grip[0]! - h[0]!, grip[1]! - h[1]!, grip[2]! - h[2]!]));
      }
      const mean = [0, 1, 2].map((k) => offsets.reduce((s, o) => s + o[k]!, 0) / offsets.length);
      const worst = Math.max(...offsets.map((o) => Math.hypot(o[0]! - mean[0]!, o[1]! - mean[1]!, o[2]! - mean[2]!)));
      expect(worst, side).toBeLessThan(0.005);
    }
  });

  it('matches the shipped server/data/quest3-hands.jsonl within its rounding', () => {
    const shipped = parseHandFramesJsonl(readFileSync(demoUrl, 'utf8'));
    expect(shipped).toHaveLength(frames.length);
    // make-demo writes positions to 5 decimals, quaternions to 4, radii to 3 (exact).
    const tolerance = [0.5e-5, 0.5e-5, 0.5e-5, 0.5e-4, 0.5e-4, 0.5e-4, 0.5e-4, 0];
    expect(shipped.map((s) => [s.tMs, s.left === null, s.right === null])).toEqual(
      frames.map((f) => [f.tMs, f.left === null, f.right === null]),
    );
    let worstExcess = Number.NEGATIVE_INFINITY; // error beyond the rounding tolerance
    shipped.forEach((s, i) => {
      for (const side of ['left', 'right'] as const) {
        const a = frames[i]![side];
        const b = s[side];
        if (a === null || b === null) continue;
        for (let k = 0; k < XR_HAND_LENGTH; k++) {
          worstExcess = Math.max(worstExcess, Math.abs(b[k]! - a[k]!) - tolerance[k % 8]!);
        }
      }
    });
    expect(worstExcess).toBeLessThanOrEqual(1e-12);
  });
});
