/**
 * The project stands alone: a fresh clone with nothing beside it passes its own tests. This reads
 * every file git tracks (code, tests, scripts, docs) and fails on anything that reaches outside the
 * repository: a relative path that climbs above the root from the file that names it, an absolute
 * path into a home or work folder, or a citation of a design document the repository does not hold.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Files git tracks, without data that is not text we write (lock file, the fixture capture, URDFs). */
function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((f) => f !== '' && !/(^|\/)package-lock\.json$|\.(urdf|jsonl|png|jpg|mcap)$|^test\/fixtures\/quest3-hands\/cap\.min\.js$/.test(f));
}

// A quoted or backticked string starting with one or more `../` (how a file names a neighbour of
// its own folder: `new URL('../x', import.meta.url)`, `join(here, '../x')`).
const RELATIVE = /(['"`])((?:\.\.\/)+[^'"`\s$]*)\1/g;
// Absolute paths into places that exist on one machine only.
const ABSOLUTE = /(['"`(\s])(\/(?:work|home|root|Users|mnt|srv|opt)\/[^'"`\s)]*)/g;

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

/** Everything in one file's text that names a place outside the repository rooted at `root`. */
export function outsideReferences(root: string, file: string, text: string): Violation[] {
  const found: Violation[] = [];
  const lines = text.split('\n');
  const fileDir = dirname(join(root, file));
  lines.forEach((line, i) => {
    for (const m of line.matchAll(RELATIVE)) {
      const target = resolve(fileDir, m[2] ?? '');
      const rel = relative(root, target);
      if (rel === '..' || rel.startsWith(`..${sep}`)) found.push({ file, line: i + 1, text: m[2] ?? '', why: 'climbs above the repository root' });
    }
    for (const m of line.matchAll(ABSOLUTE)) found.push({ file, line: i + 1, text: m[2] ?? '', why: 'absolute path on one machine' });
    if (/\bshared\/data\b|\.\.\/shared\b/.test(line)) found.push({ file, line: i + 1, text: line.trim(), why: 'names the hand-off folder beside the repository' });
    if (/\bDESIGN\.md\b/.test(line)) found.push({ file, line: i + 1, text: line.trim(), why: 'cites a design document outside the repository (docs/design.md is ours)' });
  });
  return found;
}

describe('the repository stands alone', () => {
  it('no tracked file names a path outside the repository', () => {
    const violations = trackedTextFiles().flatMap((f) => outsideReferences(ROOT, f, readFileSync(join(ROOT, f), 'utf8')));
    expect(violations.map((v) => `${v.file}:${v.line}: ${v.text} (${v.why})`)).toEqual([]);
  });

  it('the check itself catches each kind of reference', () => {
    // Fed text, not files: proves that the scan above could fail.
    const t = (file: string, text: string): string[] => outsideReferences('/r', file, text).map((v) => v.why);
    // Pieces joined at run time, so that this file does not name those places itself.
    const up = '../';
    const handOff = `${up}shared`;
    expect(t('retarget/test/a.test.ts', `new URL('${up}${up}${handOff}/x.js', import.meta.url)`)).toContain('climbs above the repository root');
    expect(t('retarget/test/a.test.ts', `new URL('${up}${up}server/data/x.jsonl', import.meta.url)`)).toEqual([]);
    expect(t('server/test/cli.test.ts', `const C = '/${'work'}/x.js';`)).toContain('absolute path on one machine');
    expect(t('test/browser/c.test.ts', `join(ROOT, '${handOff}/data/cap.min.js')`)).toContain('names the hand-off folder beside the repository');
    expect(t('urdf/src/a.ts', `/** as published (see ${'DESIGN'}.md) */`)).toHaveLength(1);
    expect(t('server/src/http.ts', "route('/api/recordings')")).toEqual([]);
  });
});
