/**
 * Import of WebXR sessions recorded with IWER's action recorder (Meta's Immersive Web Emulation
 * Runtime), e.g. `cap.min.js`: `var a={schema:[...],frames:[...]};export{a as capture};`.
 *
 * The text is read with a small parser for the JavaScript literal subset such files use (it is
 * never evaluated or imported, so untrusted uploads are safe to read). Hand joint poses, which
 * IWER stores relative to the input's target-ray pose, are composed into the reference space:
 * world = targetRay ∘ joint. See `docs/formats.md`.
 *
 * Pure TypeScript: no DOM, no Node built-ins.
 */
import { type HandFrame, XR_HAND_LENGTH, XR_JOINT_COUNT, XR_JOINT_NAMES, XR_JOINT_STRIDE } from '../handFrame.js';
import { describeValue, FormatError } from './jsonl.js';

/** A value of the JavaScript literal subset read by {@link parseJsLiteralModule}. */
export type JsValue = number | string | boolean | null | JsValue[] | JsObject;
/** An object literal (created without a prototype). */
export interface JsObject {
  [key: string]: JsValue;
}

/** Deepest array/object nesting accepted (an IWER capture needs 4). */
const MAX_DEPTH = 64;

// Character codes.
const TAB = 9;
const LF = 10;
const VT = 11;
const FF = 12;
const CR = 13;
const SPACE = 32;
const BANG = 33;
const DQUOTE = 34;
const SQUOTE = 39;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const STAR = 42;
const ZERO = 48;
const ONE = 49;
const NINE = 57;
const COLON = 58;
const SEMI = 59;
const EQUALS = 61;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const LOWER_E = 101;
const UPPER_E = 69;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 /* _ */ || c === 36 /* $ */;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

const KEYWORD_LITERALS = new Set(['true', 'false', 'null', 'void']);
const STATEMENT_KEYWORDS = new Set(['var', 'let', 'const', 'export']);

/** Recursive-descent reader for the JS literal subset; positions are UTF-16 offsets. */
class LiteralParser {
  pos = 0;

  constructor(readonly text: string) {}

  fail(message: string, at: number = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = this.text.indexOf('\n'); i >= 0 && i < at; i = this.text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const near = this.text.slice(Math.max(0, at - 20), at + 20).replace(/\s+/g, ' ');
    throw new FormatError(
      'FORMAT_IWER_SYNTAX',
      `formats: IWER capture: syntax error at offset ${at} (line ${line}, column ${at - lineStart + 1}): ${message}; near ${JSON.stringify(near)}`,
      line,
      at,
    );
  }

  /** Describes the character at `pos` for error messages. */
  found(): string {
    if (this.pos >= this.text.length) return 'end of input';
    return `${JSON.stringify(this.text[this.pos])}`;
  }

  skipSpace(): void {
    const text = this.text;
    const n = text.length;
    let p = this.pos;
    while (p < n) {
      const c = text.charCodeAt(p);
      if (c === SPACE || c === LF || c === CR || c === TAB || c === VT || c === FF || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029) {
        p++;
      } else if (c === SLASH && text.charCodeAt(p + 1) === SLASH) {
        const end = text.indexOf('\n', p + 2);
        p = end < 0 ? n : end + 1;
      } else if (c === SLASH && text.charCodeAt(p + 1) === STAR) {
        const end = text.indexOf('*/', p + 2);
        if (end < 0) this.fail('unterminated /* comment', p);
        p = end + 2;
      } else {
        break;
      }
    }
    this.pos = p;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  expect(c: number, what: string): void {
    this.skipSpace();
    if (this.peek() !== c) this.fail(`expected ${what}, found ${this.found()}`);
    this.pos++;
  }

  identifier(): string | null {
    const text = this.text;
    const start = this.pos;
    if (!isIdentStart(text.charCodeAt(start))) return null;
    let p = start + 1;
    while (p < text.length && isIdentPart(text.charCodeAt(p))) p++;
    this.pos = p;
    return text.slice(start, p);
  }

  value(depth: number): JsValue {
    this.skipSpace();
    const c = this.peek();
    if (c === LBRACKET) return this.array(depth + 1);
    if (c === LBRACE) return this.object(depth + 1);
    if (c === SQUOTE || c === DQUOTE) return this.string();
    if (isDigit(c) || c === DOT || c === MINUS || c === PLUS) return this.number();
    if (c === BANG) {
      // Minifiers write `true`/`false` as `!0`/`!1`.
      const d = this.text.charCodeAt(this.pos + 1);
      if ((d === ZERO || d === ONE) && !isIdentPart(this.text.charCodeAt(this.pos + 2)) && this.text.charCodeAt(this.pos + 2) !== DOT) {
        this.pos += 2;
        return d === ZERO;
      }
      this.fail('only !0 and !1 are accepted after "!"');
    }
    const start = this.pos;
    const word = this.identifier();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    if (word === 'void') {
      // `void 0` is how minifiers write `undefined`; read it as null.
      this.skipSpace();
      if (this.peek() === ZERO && !isIdentPart(this.text.charCodeAt(this.pos + 1))) {
        this.pos++;
        return null;
      }
      this.fail('only "void 0" is accepted after "void"');
    }
    if (word !== null) this.fail(`unexpected identifier "${word}" (only literal values are accepted)`, start);
    this.fail(`expected a value, found ${this.found()}`);
  }

  number(): number {
    const text = this.text;
    const start = this.pos;
    let p = start;
    let negative = false;
    let c = text.charCodeAt(p);
    if (c === MINUS || c === PLUS) {
      negative = c === MINUS;
      p++;
      c = text.charCodeAt(p);
    }
    const digitsStart = p;
    let value: number;
    if (c === ZERO && (text.charCodeAt(p + 1) | 0x20) === 120 /* x */) {
      p += 2;
      while (p < text.length && /[0-9a-fA-F]/.test(text[p]!)) p++;
      if (p === digitsStart + 2) this.fail('malformed hexadecimal number', start);
      value = Number.parseInt(text.slice(digitsStart + 2, p), 16);
    } else {
      let digits = 0;
      while (isDigit(text.charCodeAt(p))) {
        p++;
        digits++;
      }
      if (text.charCodeAt(p) === DOT) {
        p++;
        while (isDigit(text.charCodeAt(p))) {
          p++;
          digits++;
        }
      }
      if (digits === 0) this.fail('malformed number', start);
      c = text.charCodeAt(p);
      if (c === LOWER_E || c === UPPER_E) {
        p++;
        c = text.charCodeAt(p);
        if (c === MINUS || c === PLUS) p++;
        const expStart = p;
        while (isDigit(text.charCodeAt(p))) p++;
        if (p === expStart) this.fail('malformed number exponent', start);
      }
      value = Number(text.slice(digitsStart, p));
    }
    if (isIdentPart(text.charCodeAt(p)) || text.charCodeAt(p) === DOT) this.fail('malformed number', start);
    this.pos = p;
    return negative ? -value : value;
  }

  string(): string {
    const text = this.text;
    const quote = text.charCodeAt(this.pos);
    const start = this.pos;
    let p = start + 1;
    // Fast path: no escapes.
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c === quote) {
        this.pos = p + 1;
        return text.slice(start + 1, p);
      }
      if (c === BACKSLASH || c === LF || c === CR) break;
      p++;
    }
    let out = text.slice(start + 1, p);
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c === quote) {
        this.pos = p + 1;
        return out;
      }
      if (c === LF || c === CR) break;
      if (c !== BACKSLASH) {
        out += text[p];
        p++;
        continue;
      }
      const e = text[p + 1];
      p += 2;
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '0': out += '\0'; break;
        case '\r':
          if (text[p] === '\n') p++;
          break;
        case '\n': break; // line continuation
        case 'x': {
          const hex = text.slice(p, p + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('malformed \\x escape', p - 2);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          p += 2;
          break;
        }
        case 'u': {
          let hex = '';
          if (text[p] === '{') {
            const close = text.indexOf('}', p);
            if (close > p + 1 && close <= p + 7) hex = text.slice(p + 1, close);
            p = close + 1;
          } else {
            hex = text.slice(p, p + 4);
            if (hex.length !== 4) hex = '';
            p += 4;
          }
          const code = /^[0-9a-fA-F]+$/.test(hex) ? Number.parseInt(hex, 16) : -1;
          if (code < 0 || code > 0x10ffff) this.fail('malformed \\u escape', start);
          out += String.fromCodePoint(code);
          break;
        }
        case undefined:
          this.fail('unterminated string', start);
          break;
        default:
          out += e;
      }
    }
    this.fail('unterminated string', start);
  }

  array(depth: number): JsValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.pos++; // [
    const out: JsValue[] = [];
    this.skipSpace();
    if (this.peek() === RBRACKET) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipSpace();
      const c = this.peek();
      if (c === COMMA) {
        this.pos++;
        this.skipSpace();
        if (this.peek() === RBRACKET) {
          this.pos++;
          return out;
        }
      } else if (c === RBRACKET) {
        this.pos++;
        return out;
      } else {
        this.fail(`expected "," or "]" in array, found ${this.found()}`);
      }
    }
  }

  object(depth: number): JsObject {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.pos++; // {
    const out = Object.create(null) as JsObject;
    this.skipSpace();
    if (this.peek() === RBRACE) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      let key: string;
      if (c === SQUOTE || c === DQUOTE) key = this.string();
      else if (isDigit(c) || c === DOT) key = String(this.number());
      else {
        const word = this.identifier();
        if (word === null) this.fail(`expected a property name, found ${this.found()}`);
        key = word;
      }
      this.expect(COLON, `":" after property name "${key}"`);
      out[key] = this.value(depth);
      this.skipSpace();
      const d = this.peek();
      if (d === COMMA) {
        this.pos++;
        this.skipSpace();
        if (this.peek() === RBRACE) {
          this.pos++;
          return out;
        }
      } else if (d === RBRACE) {
        this.pos++;
        return out;
      } else {
        this.fail(`expected "," or "}" in object, found ${this.found()}`);
      }
    }
  }
}

type Export = { readonly local: string; readonly at: number } | { readonly value: JsValue };

/**
 * Reads the value exported by a data-only JavaScript module, or a bare literal / JSON text.
 *
 * Accepted: a single literal (e.g. JSON), optionally followed by `;`; or a sequence of
 * `var|let|const name = <literal>` declarations (optionally prefixed by `export`),
 * `export { name as alias, … }` and `export default <name or literal>` statements. The result is
 * the export named `capture`, else the default export, else the only declared binding. Literals:
 * objects (unquoted, quoted or numeric keys, trailing commas), arrays, numbers (`.5`, `-1e-3`,
 * `0x1f`), strings in single or double quotes with escapes, `true`/`false`/`null`, `!0`/`!1`,
 * `void 0` (read as null); `//` and `/* *\/` comments. Nothing is evaluated.
 *
 * @throws {FormatError} `FORMAT_IWER_SYNTAX` (with `offset`) on anything else;
 *   `FORMAT_IWER_SCHEMA` if the module exports no usable value
 */
export function parseJsLiteralModule(text: string): JsValue {
  const p: LiteralParser = new LiteralParser(text);
  p.skipSpace();
  if (p.atEnd()) p.fail('empty input');
  const startAt = p.pos;
  const firstWord = p.identifier();
  p.pos = startAt;
  if (firstWord === null || !STATEMENT_KEYWORDS.has(firstWord)) return finishBareLiteral(p);

  const bindings = new Map<string, JsValue>();
  const exports = new Map<string, Export>();
  const declarations = (exported: boolean): void => {
    for (;;) {
      p.skipSpace();
      const at = p.pos;
      const name = p.identifier();
      if (name === null) p.fail(`expected a variable name, found ${p.found()}`);
      p.expect(EQUALS, `"=" after "${name}"`);
      bindings.set(name, p.value(0));
      if (exported) exports.set(name, { local: name, at });
      p.skipSpace();
      if (p.peek() !== COMMA) return;
      p.pos++;
    }
  };
  for (;;) {
    p.skipSpace();
    if (p.atEnd()) break;
    if (p.peek() === SEMI) {
      p.pos++;
      continue;
    }
    const at = p.pos;
    const word = p.identifier();
    if (word === 'var' || word === 'let' || word === 'const') {
      declarations(false);
    } else if (word === 'export') {
      p.skipSpace();
      if (p.peek() === LBRACE) {
        p.pos++;
        for (;;) {
          p.skipSpace();
          if (p.peek() === RBRACE) {
            p.pos++;
            break;
          }
          const localAt = p.pos;
          const local = p.identifier();
          if (local === null) p.fail(`expected a name in export list, found ${p.found()}`);
          p.skipSpace();
          let exported = local;
          const save = p.pos;
          if (p.identifier() === 'as') {
            p.skipSpace();
            const c = p.peek();
            const alias = c === SQUOTE || c === DQUOTE ? p.string() : p.identifier();
            if (alias === null) p.fail(`expected a name after "as", found ${p.found()}`);
            exported = alias;
          } else {
            p.pos = save;
          }
          exports.set(exported, { local, at: localAt });
          p.skipSpace();
          if (p.peek() === COMMA) p.pos++;
          else if (p.peek() !== RBRACE) p.fail(`expected "," or "}" in export list, found ${p.found()}`);
        }
        p.skipSpace();
        const save = p.pos;
        if (p.identifier() === 'from') p.fail('re-exports ("export … from") are not accepted', save);
        p.pos = save;
      } else {
        const kwAt = p.pos;
        const kw = p.identifier();
        if (kw === 'var' || kw === 'let' || kw === 'const') declarations(true);
        else if (kw === 'default') {
          p.skipSpace();
          const refAt = p.pos;
          const save = p.pos;
          const name = p.identifier();
          if (name !== null && !KEYWORD_LITERALS.has(name)) exports.set('default', { local: name, at: refAt });
          else {
            p.pos = save;
            exports.set('default', { value: p.value(0) });
          }
        } else p.fail('expected "{", "default", "var", "let" or "const" after "export"', kwAt);
      }
    } else {
      p.fail(
        word === null
          ? `expected a declaration or export statement, found ${p.found()}`
          : `unexpected "${word}" (only var/let/const declarations of literals and exports are accepted)`,
        at,
      );
    }
  }
  const chosen = exports.get('capture') ?? exports.get('default');
  if (chosen !== undefined) {
    if ('value' in chosen) return chosen.value;
    const bound = bindings.get(chosen.local);
    if (bound === undefined) {
      throw new FormatError(
        'FORMAT_IWER_SCHEMA',
        `formats: IWER capture: the export refers to "${chosen.local}", which is not declared`,
        null,
        chosen.at,
      );
    }
    return bound;
  }
  if (bindings.size === 1) return bindings.values().next().value as JsValue;
  throw new FormatError(
    'FORMAT_IWER_SCHEMA',
    `formats: IWER capture: no capture object found (expected "export { x as capture }", "export default", or a single declaration; found ${bindings.size} declarations)`,
  );
}

function finishBareLiteral(p: LiteralParser): JsValue {
  const value = p.value(0);
  p.skipSpace();
  while (p.peek() === SEMI) {
    p.pos++;
    p.skipSpace();
  }
  if (!p.atEnd()) p.fail(`expected end of input after the value, found ${p.found()}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Capture interpretation.

interface HandInput {
  readonly index: number;
  readonly side: 'left' | 'right';
  readonly hasGrip: boolean;
  /** `slotToJoint[s]` = WebXR joint index of the s-th joint stored in the capture. */
  readonly slotToJoint: readonly number[];
}

function schemaError(message: string): never {
  throw new FormatError('FORMAT_IWER_SCHEMA', `formats: IWER capture: ${message}`);
}

function frameError(frame: number, message: string): never {
  throw new FormatError('FORMAT_IWER_FRAME', `formats: IWER capture: frame ${frame}: ${message}`);
}

function isObject(v: JsValue | undefined): v is JsObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readHandInputs(schema: JsValue[]): { hands: Map<number, HandInput>; known: Set<number>; summary: string[] } {
  const hands = new Map<number, HandInput>();
  const known = new Set<number>();
  const summary: string[] = [];
  schema.forEach((entry, i) => {
    if (!Array.isArray(entry) || entry.length < 2 || typeof entry[0] !== 'number' || !Number.isInteger(entry[0]) || !isObject(entry[1])) {
      schemaError(`schema entry ${i}: expected [index, {handedness, hasHand, …}], got ${describeValue(entry)}`);
    }
    const index = entry[0];
    const info = entry[1];
    if (known.has(index)) schemaError(`schema entry ${i}: input index ${index} is declared twice`);
    known.add(index);
    const handedness = info['handedness'];
    summary.push(`${index} ${typeof handedness === 'string' ? handedness : '?'} ${info['hasHand'] === true ? 'hand' : 'controller'}`);
    if (info['hasHand'] !== true) return;
    if (handedness !== 'left' && handedness !== 'right') {
      schemaError(`input ${index} has a hand but handedness ${describeValue(handedness)} (expected "left" or "right")`);
    }
    let slotToJoint: number[] = XR_JOINT_NAMES.map((_, j) => j);
    const sequence = info['jointSequence'];
    if (sequence !== undefined) {
      if (!Array.isArray(sequence) || sequence.length !== XR_JOINT_COUNT) {
        schemaError(`input ${index}: jointSequence must list the ${XR_JOINT_COUNT} WebXR joints, got ${describeValue(sequence)}`);
      }
      const seen = new Set<number>();
      slotToJoint = sequence.map((name, s) => {
        const j = typeof name === 'string' ? (XR_JOINT_NAMES as readonly string[]).indexOf(name) : -1;
        if (j < 0) schemaError(`input ${index}: jointSequence[${s}] is not a WebXR joint name: ${describeValue(name)}`);
        if (seen.has(j)) schemaError(`input ${index}: jointSequence lists "${XR_JOINT_NAMES[j]}" twice`);
        seen.add(j);
        return j;
      });
    }
    hands.set(index, { index, side: handedness, hasGrip: info['hasGrip'] === true, slotToJoint });
  });
  return { hands, known, summary };
}

function finite(v: JsValue | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Composes one hand's joints (relative to the target ray) into the reference space, reordering
 * them into WebXR order: position = pRay + R(qRay)·pJoint, orientation = qRay ⊗ qJoint
 * (renormalised, since IWER rounds components to 1e-3). Radii are copied.
 */
function composeHand(input: JsValue[], hand: JsValue[], h: HandInput, frame: number): Float64Array {
  for (let k = 1; k <= 7; k++) {
    if (!finite(input[k])) {
      frameError(frame, `input ${h.index} (${h.side} hand): target-ray pose value ${k} must be a finite number, got ${describeValue(input[k])}`);
    }
  }
  const px = input[1] as number;
  const py = input[2] as number;
  const pz = input[3] as number;
  let rx = input[4] as number;
  let ry = input[5] as number;
  let rz = input[6] as number;
  let rw = input[7] as number;
  const rn = Math.hypot(rx, ry, rz, rw);
  if (rn < 1e-6) frameError(frame, `input ${h.index} (${h.side} hand): target-ray quaternion is zero`);
  rx /= rn;
  ry /= rn;
  rz /= rn;
  rw /= rn;
  const out = new Float64Array(XR_HAND_LENGTH);
  for (let s = 0; s < XR_JOINT_COUNT; s++) {
    const src = s * XR_JOINT_STRIDE;
    for (let k = 0; k < XR_JOINT_STRIDE; k++) {
      if (!finite(hand[src + k])) {
        frameError(
          frame,
          `input ${h.index} (${h.side} hand): joint ${s} value ${k} must be a finite number, got ${describeValue(hand[src + k])}`,
        );
      }
    }
    const jx = hand[src] as number;
    const jy = hand[src + 1] as number;
    const jz = hand[src + 2] as number;
    const qx = hand[src + 3] as number;
    const qy = hand[src + 4] as number;
    const qz = hand[src + 5] as number;
    const qw = hand[src + 6] as number;
    // v' = v + w·t + r × t, with t = 2 (r × v).
    const tx = 2 * (ry * jz - rz * jy);
    const ty = 2 * (rz * jx - rx * jz);
    const tz = 2 * (rx * jy - ry * jx);
    const dst = h.slotToJoint[s]! * XR_JOINT_STRIDE;
    out[dst] = px + jx + rw * tx + (ry * tz - rz * ty);
    out[dst + 1] = py + jy + rw * ty + (rz * tx - rx * tz);
    out[dst + 2] = pz + jz + rw * tz + (rx * ty - ry * tx);
    const ox = rw * qx + rx * qw + ry * qz - rz * qy;
    const oy = rw * qy - rx * qz + ry * qw + rz * qx;
    const oz = rw * qz + rx * qy - ry * qx + rz * qw;
    const ow = rw * qw - rx * qx - ry * qy - rz * qz;
    const on = Math.hypot(ox, oy, oz, ow);
    if (on < 1e-6) frameError(frame, `input ${h.index} (${h.side} hand): joint ${s} quaternion is zero`);
    out[dst + 3] = ox / on;
    out[dst + 4] = oy / on;
    out[dst + 5] = oz / on;
    out[dst + 6] = ow / on;
    out[dst + 7] = hand[src + 7] as number;
  }
  return out;
}

/**
 * Reads a WebXR session recorded by IWER's action recorder and returns its hand-tracking frames.
 *
 * `text` is the capture module's text (`var a={schema,frames};export{a as capture};`) or plain
 * JSON of the `{schema, frames}` object; it is parsed, never evaluated (see
 * {@link parseJsLiteralModule}). Hand inputs are the schema entries with `hasHand: true`, their
 * side from `handedness`, joint order from `jointSequence` (WebXR order if absent). Each frame
 * `[t, head pose ×7, ...inputs]` with an input `[index, targetRayPos ×3, targetRayQuat ×4,
 * grip[7]?, hand[200]?, gamepad?]` gives a {@link HandFrame} with `tMs = t` (the recorder's
 * timestamps, unchanged) and each hand's joints composed into the reference space
 * (world = targetRay ∘ joint, quaternions renormalised). A hand input that is absent, or whose
 * hand array is missing or empty, is untracked (`null`); frames with neither hand are skipped.
 * Head pose, grip poses, controllers and gamepads are ignored.
 *
 * @throws {FormatError} `FORMAT_IWER_SYNTAX` (with `offset`), `FORMAT_IWER_SCHEMA` (no
 *   `{schema, frames}`, malformed schema, no hand inputs), `FORMAT_IWER_FRAME` (malformed frame
 *   or hand input, unknown input index, two inputs for one hand), `FORMAT_TIME_NOT_MONOTONIC`
 *   (returned frames' times not strictly increasing)
 */
export function parseIwerCapture(text: string): HandFrame[] {
  const capture = parseJsLiteralModule(text);
  if (!isObject(capture) || !Array.isArray(capture['schema']) || !Array.isArray(capture['frames'])) {
    schemaError(`expected an object {schema: [...], frames: [...]}, got ${describeValue(capture)}`);
  }
  const { hands, known, summary } = readHandInputs(capture['schema']);
  if (hands.size === 0) {
    schemaError(`no hand inputs (schema entries with hasHand: true); inputs: ${summary.length > 0 ? summary.join(', ') : 'none'}`);
  }
  const frames = capture['frames'];
  const out: HandFrame[] = [];
  let previousT = Number.NEGATIVE_INFINITY;
  let previousFrame = -1;
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f];
    if (!Array.isArray(frame) || frame.length < 8 || !finite(frame[0])) {
      frameError(f, `expected [t, head pose (7 numbers), ...inputs] with a finite t, got ${describeValue(frame)}`);
    }
    const t = frame[0];
    let left: Float64Array | null = null;
    let right: Float64Array | null = null;
    let leftInput = -1;
    let rightInput = -1;
    for (let i = 8; i < frame.length; i++) {
      const input = frame[i];
      if (!Array.isArray(input) || typeof input[0] !== 'number') {
        frameError(f, `input ${i - 8}: expected [index, targetRay pose, ...], got ${describeValue(input)}`);
      }
      const index = input[0];
      const h = hands.get(index);
      if (h === undefined) {
        if (!known.has(index)) frameError(f, `input index ${index} is not in the schema`);
        continue;
      }
      const hand = input[h.hasGrip ? 9 : 8];
      if (hand === undefined || hand === null || (Array.isArray(hand) && hand.length === 0)) continue;
      if (!Array.isArray(hand) || hand.length !== XR_HAND_LENGTH) {
        frameError(f, `input ${index} (${h.side} hand): expected ${XR_HAND_LENGTH} hand numbers, got ${describeValue(hand)}`);
      }
      const previousIndex = h.side === 'left' ? leftInput : rightInput;
      if (previousIndex >= 0) frameError(f, `two ${h.side}-hand inputs (${previousIndex} and ${index})`);
      const joints = composeHand(input, hand, h, f);
      if (h.side === 'left') {
        left = joints;
        leftInput = index;
      } else {
        right = joints;
        rightInput = index;
      }
    }
    if (left === null && right === null) continue;
    if (!(t > previousT)) {
      throw new FormatError(
        'FORMAT_TIME_NOT_MONOTONIC',
        `formats: IWER capture: frame ${f}: t ${t} is not after frame ${previousFrame}'s t ${previousT}; t must strictly increase`,
      );
    }
    previousT = t;
    previousFrame = f;
    out.push({ tMs: t, left, right });
  }
  return out;
}
