/**
 * `urdf` and `retarget` are platform-free (docs/design.md): no DOM, no three.js, no Node built-ins, so
 * they run the same in the server, the browser and a benchmark. This test proves it three ways:
 * - lexically: every import specifier is relative (inside the package) or a declared,
 *   platform-free dependency, and the code (comments and strings aside) never names a
 *   platform global;
 * - by type: both source trees typecheck with only the ES2022 library, no DOM and no @types/node;
 * - at run time: every module loads, and parsing plus FK run with Node's globals booby-trapped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { platformFreeProgram, platformTypingsIn } from '../../test/support/platformFree.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Bare specifiers a platform-free package may import, if its package.json declares them. */
const PLATFORM_FREE_DEPENDENCIES = new Set(['@dexbridge/urdf', 'fast-xml-parser']);

/** Platform globals the sources must never name: Node's, the DOM's, CommonJS's. */
const BANNED_GLOBALS = new Set([
  'document', 'window', 'process', 'require', 'Buffer',
  'global', '__dirname', '__filename', 'setImmediate', 'navigator', 'localStorage', 'sessionStorage',
  'DOMParser', 'XMLHttpRequest', 'HTMLElement', 'HTMLCanvasElement', 'requestAnimationFrame',
]);

interface PackageUnderTest {
  readonly name: string;
  readonly dir: string;
  readonly srcDir: string;
  readonly files: readonly string[];
  readonly allowedBare: ReadonlySet<string>;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
    .sort();
}

const PACKAGES: readonly PackageUnderTest[] = ['urdf', 'retarget'].map((name) => {
  const dir = join(REPO, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const declared = Object.keys(pkg.dependencies ?? {});
  return {
    name,
    dir,
    srcDir: join(dir, 'src'),
    files: tsFiles(join(dir, 'src')),
    allowedBare: new Set(declared.filter((d) => PLATFORM_FREE_DEPENDENCIES.has(d))),
  };
});

interface Finding {
  readonly where: string;
  readonly what: string;
}

/** Module specifiers of every static import/export, dynamic import, import type and require(). */
function moduleSpecifiers(sf: ts.SourceFile): { spec: string; node: ts.Node }[] {
  const out: { spec: string; node: ts.Node }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ spec: node.moduleSpecifier.text, node });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      out.push({ spec: ts.isStringLiteral(e) ? e.text : `<computed ${e.getText(sf)}>`, node });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = node.arguments[0];
      out.push({ spec: a && ts.isStringLiteralLike(a) ? a.text : `<computed import(${a?.getText(sf) ?? ''})>`, node });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ spec: node.argument.literal.text, node });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Is this identifier a name in code position (not a property name, not a member declaration)? */
function namesAGlobal(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) {
    // `globalThis.process` names the global all the same.
    return ts.isIdentifier(p.expression) && p.expression.text === 'globalThis';
  }
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if (
    (ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isEnumMember(p)) &&
    p.name === id
  ) {
    return false;
  }
  return true;
}

function scan(pkg: PackageUnderTest): Finding[] {
  const findings: Finding[] = [];
  for (const file of pkg.files) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const rel = relative(REPO, file);
    const at = (node: ts.Node): string => `${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;

    for (const { spec, node } of moduleSpecifiers(sf)) {
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const target = resolve(dirname(file), spec);
        if (!(target + sep).startsWith(pkg.srcDir + sep)) findings.push({ where: at(node), what: `relative import "${spec}" leaves ${pkg.name}/src` });
        if (!spec.endsWith('.js')) findings.push({ where: at(node), what: `relative import "${spec}" must end in .js (NodeNext ESM)` });
      } else if (!pkg.allowedBare.has(spec)) {
        findings.push({ where: at(node), what: `import of "${spec}" (allowed here: relative, ${[...pkg.allowedBare].join(', ') || 'nothing else'})` });
      }
    }
    for (const r of [...sf.referencedFiles, ...sf.typeReferenceDirectives, ...sf.libReferenceDirectives]) {
      findings.push({ where: `${rel}:${sf.getLineAndCharacterOfPosition(r.pos).line + 1}`, what: `triple-slash reference "${r.fileName}"` });
    }
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && BANNED_GLOBALS.has(node.text) && namesAGlobal(node)) {
        findings.push({ where: at(node), what: `names the platform global "${node.text}"` });
      }
      // globalThis['process'], globalThis["document"]
      if (ts.isElementAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'globalThis' &&
        ts.isStringLiteralLike(node.argumentExpression) && BANNED_GLOBALS.has(node.argumentExpression.text)) {
        findings.push({ where: at(node), what: `names the platform global "${node.argumentExpression.text}"` });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return findings;
}

const report = (findings: readonly Finding[]): string => findings.map((f) => `  ${f.where}: ${f.what}`).join('\n');

describe('urdf and retarget are platform-free', () => {
  it.each(PACKAGES)('$name/src: imports are relative or declared platform-free dependencies; no platform globals', (pkg) => {
    expect(pkg.files.length, `${pkg.name}/src has no .ts files`).toBeGreaterThan(0);
    expect(pkg.files.map((f) => relative(pkg.srcDir, f))).toContain('index.ts');
    const findings = scan(pkg);
    expect(findings, `platform-specific code in ${pkg.name}/src:\n${report(findings)}`).toEqual([]);
  });

  it('the scanner catches what it must and ignores comments, strings and property names', () => {
    const probe: PackageUnderTest = { name: 'probe', dir: REPO, srcDir: join(REPO, 'retarget', 'src'), files: [], allowedBare: new Set(['@dexbridge/urdf']) };
    const check = (code: string): string[] => {
      const sf = ts.createSourceFile('probe.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
      const out: string[] = [];
      for (const { spec } of moduleSpecifiers(sf)) if (!spec.startsWith('.') && !probe.allowedBare.has(spec)) out.push(spec);
      const visit = (n: ts.Node): void => {
        if (ts.isIdentifier(n) && BANNED_GLOBALS.has(n.text) && namesAGlobal(n)) out.push(n.text);
        ts.forEachChild(n, visit);
      };
      visit(sf);
      return out;
    };
    expect(check(`import { readFileSync } from 'node:fs';`)).toEqual(['node:fs']);
    expect(check(`export * from 'three';`)).toEqual(['three']);
    expect(check(`const m = await import('react');`)).toEqual(['react']);
    expect(check(`type T = import('node:path').ParsedPath;`)).toEqual(['node:path']);
    expect(check(`import fs = require('fs');`)).toEqual(['fs']);
    expect(check(`const fs = require('fs');`)).toEqual(['require']);
    expect(check(`if (typeof window !== 'undefined') document.body;`)).toEqual(['window', 'document']);
    expect(check(`const e = process.env.X; const b = Buffer.from('');`)).toEqual(['process', 'Buffer']);
    expect(check(`const p = globalThis.process;`)).toEqual(['process']);
    expect(check(`import { parseUrdf } from '@dexbridge/urdf'; import { a } from './a.js';`)).toEqual([]);
    expect(check(`// the document has no root\n/* window */ const s = 'process the document'; const t = \`a \${1} Buffer\`;`)).toEqual([]);
    expect(check(`const o = { document: 1, process() {} }; o.document; class C { window = 1; process(): void {} }`)).toEqual([]);
  });

  it('both source trees typecheck with only the ES2022 library: no DOM, no @types/node', () => {
    const files = PACKAGES.flatMap((p) => p.files);
    const program = platformFreeProgram(files);
    // Every program file outside node_modules must be one of ours, in urdf/src or retarget/src.
    const ours = program.getSourceFiles().map((sf) => sf.fileName).filter((f) => !f.includes('/node_modules/'));
    for (const f of ours) expect(PACKAGES.some((p) => resolve(f).startsWith(p.srcDir + sep)), `${f} pulled into the platform-free build`).toBe(true);
    // …and no dependency smuggles the platform back in (a `/// <reference types="node" />` would).
    expect(platformTypingsIn(program), 'platform typings in the program').toEqual([]);
    // Only the "this name or module does not exist here" family of errors speaks to platform
    // independence (any other type error is the typecheck's business, not this test's).
    const PLATFORM_CODES = new Set([2304, 2307, 2503, 2552, 2580, 2582, 2583, 2584, 2591, 2592, 2593, 2792, 2867, 2868]);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => PLATFORM_CODES.has(d.code))
      .map((d) => {
        const where = d.file ? `${relative(REPO, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
        return `  ${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
    expect(problems, `needs a platform library:\n${problems.join('\n')}`).toEqual([]);
  }, 120_000);
});

/**
 * Runs `fn` with Node's and the browser's globals replaced by getters that throw, then restores
 * them. `fn` must be synchronous, so nothing else runs while the traps are set.
 */
function withPlatformGlobalsTrapped<T>(fn: () => T): { value?: T; touched: string[] } {
  const g = globalThis as Record<string, unknown>;
  const touched: string[] = [];
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const name of BANNED_GLOBALS) {
    const d = Object.getOwnPropertyDescriptor(g, name);
    if (d && !d.configurable) continue;
    saved.set(name, d);
    Object.defineProperty(g, name, {
      configurable: true,
      get() {
        touched.push(name);
        throw new Error(`platform global ${name} used`);
      },
    });
  }
  try {
    return { value: fn(), touched };
  } catch {
    return { touched };
  } finally {
    for (const [name, d] of saved) {
      if (d) Object.defineProperty(g, name, d);
      else delete g[name];
    }
  }
}

describe('the packages load and compute without DOM or Node', () => {
  it('there is no DOM here', () => {
    expect(typeof (globalThis as Record<string, unknown>)['document']).toBe('undefined');
    expect(typeof (globalThis as Record<string, unknown>)['window']).toBe('undefined');
  });

  it('every module of urdf/src and retarget/src loads', async () => {
    for (const file of PACKAGES.flatMap((p) => p.files)) {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      expect(typeof mod, relative(REPO, file)).toBe('object');
    }
  });

  it('the index files load: parse the rig and run a tiny FK with Node\'s globals booby-trapped', async () => {
    expect(existsSync(join(REPO, 'urdf', 'src', 'index.ts'))).toBe(true);
    expect(existsSync(join(REPO, 'retarget', 'src', 'index.ts'))).toBe(true);
    const urdf = await import('@dexbridge/urdf');
    const retarget = await import('../src/index.js');
    const run = withPlatformGlobalsTrapped(() => {
      const model = urdf.parseUrdf(urdf.rigUrdf());
      const variables = Array.from({ length: 7 }, (_, i) => `right_arm_joint${i + 1}`);
      const tree = new retarget.KinematicTree(model, { root: 'base_link', tips: ['right_arm_flange'], variables });
      const poses = tree.fk(new Float64Array(7));
      const k = tree.linkIndex('right_arm_flange') * 12;
      return { movable: model.joints.filter((j) => j.type !== 'fixed').length, flange: Array.from(poses.subarray(k, k + 12)) };
    });
    expect(run.touched, 'platform globals touched while parsing and computing FK').toEqual([]);
    expect(run.value?.movable).toBe(56);
    // FR3 at zero: flange 0.088 forward and 0.333 + 0.316 + 0.384 − 0.107 = 0.926 up from link0
    // (right base at y −0.3, z 0.8), pointing down (rotation diag(1, −1, −1)).
    const flange = run.value!.flange;
    const expected = [1, 0, 0, 0, -1, 0, 0, 0, -1, 0.088, -0.3, 0.8 + 0.926];
    flange.forEach((v, i) => {
      expect(v, `flange pose[${i}]`).toBeCloseTo(expected[i]!, 9);
    });
  });

  it('the trap works: touching process inside it is seen', () => {
    const run = withPlatformGlobalsTrapped(() => (globalThis as Record<string, unknown>)['process']);
    expect(run.touched).toEqual(['process']);
    expect(typeof process.env).toBe('object'); // restored
  });
});
