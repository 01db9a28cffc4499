/**
 * A TypeScript program over `files` with only the ES2022 library: no DOM and no @types/node, the
 * project's strict settings, sibling packages resolved to their sources. Tests that prove a
 * package is platform-free build one and look at what it pulled in and what fails to resolve.
 */
import ts from 'typescript';

export function platformFreeProgram(files: readonly string[]): ts.Program {
  return ts.createProgram([...files], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    customConditions: ['source'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    skipLibCheck: true,
  });
}

/** Files of the program that bring a platform back: Node's typings or the DOM/worker libraries. */
export function platformTypingsIn(program: ts.Program): string[] {
  return program
    .getSourceFiles()
    .map((sf) => sf.fileName)
    .filter((f) => f.includes('/@types/node/') || /\/lib\.(dom|webworker|scripthost)[.\w]*\.d\.ts$/.test(f));
}
