/**
 * Examples of command output in the docs are made by running the commands, never typed by hand.
 * A block in a Markdown file between
 *
 *     <!-- generated: dexbridge retarget --demo -->
 *     ```text
 *     …
 *     ```
 *     <!-- /generated -->
 *
 * holds what `dexbridge retarget --demo` prints (stdout, then stderr), run in-process from the
 * repository root. `npm run docs:examples` rewrites every such block; `server/test/docExamples.test.ts`
 * fails when a block has drifted from what the command prints today.
 *
 *     node --import tsx server/scripts/docExamples.ts [--check]
 *
 * A command's arguments are split on spaces. `@bad-jsonl` stands for a small hand-frame file whose
 * third line has a bad `t`, written to a temporary folder as `session.jsonl` (for the error example).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = join(REPO_ROOT, 'docs');

const BLOCK = /(<!-- generated: (.+?) -->\n```text\n)([\s\S]*?)(```\n<!-- \/generated -->)/g;

/** Lines whose figures depend on the machine: compared with their numbers masked. */
const MACHINE_DEPENDENT = /^\s*time per frame\b/;

/** What `dexbridge <command>` prints, paths shown relative to the repository root. */
export async function runExample(command: string): Promise<string> {
  const words = command.split(' ').filter((w) => w !== '');
  if (words[0] !== 'dexbridge') throw new Error(`docExamples: a generated block must run dexbridge, got ${JSON.stringify(command)}`);
  const tmp = mkdtempSync(join(tmpdir(), 'dexbridge-doc-'));
  try {
    const args = words.slice(1).map((w) => {
      if (w !== '@bad-jsonl') return w;
      const file = join(tmp, 'session.jsonl');
      const joints = JSON.stringify(Array.from({ length: 25 }, () => [0, 0, 0, 0, 0, 0, 1, 0.01]));
      writeFileSync(file, [`{"t":0,"left":null,"right":${joints}}`, `{"t":11,"left":null,"right":null}`, `{"t":"x","left":null,"right":null}`, ''].join('\n'));
      return file;
    });
    const printed: string[] = [];
    const sink = { write: (s: string): void => void printed.push(s) };
    await main(args, { stdout: sink, stderr: sink });
    return printed.join('').split(`${REPO_ROOT}`).join('').split(`${tmp}/`).join('');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The Markdown files under docs/ and the README that hold generated blocks. */
export function filesWithExamples(): string[] {
  const files = [join(REPO_ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];
  return files.filter((f) => readFileSync(f, 'utf8').includes('<!-- generated: '));
}

/** `text` with every generated block replaced by what its command prints now. */
export async function regenerate(text: string): Promise<string> {
  const blocks = [...text.matchAll(BLOCK)];
  let out = '';
  let at = 0;
  for (const b of blocks) {
    const printed = await runExample(b[2]!);
    out += text.slice(at, b.index) + b[1] + printed + (printed.endsWith('\n') ? '' : '\n') + b[4];
    at = b.index! + b[0].length;
  }
  return out + text.slice(at);
}

/** The text with the numbers of machine-dependent lines replaced by `#`, for comparison. */
export function maskMachineDependent(text: string): string {
  return text
    .split('\n')
    .map((line) => (MACHINE_DEPENDENT.test(line) ? line.replace(/\d+(\.\d+)?/g, '#') : line))
    .join('\n');
}

async function cli(): Promise<number> {
  const check = process.argv.includes('--check');
  let drifted = 0;
  for (const file of filesWithExamples()) {
    const text = readFileSync(file, 'utf8');
    const fresh = await regenerate(text);
    if (maskMachineDependent(fresh) === maskMachineDependent(text)) continue;
    drifted++;
    if (check) process.stderr.write(`docExamples: ${file}: generated examples drifted; run npm run docs:examples\n`);
    else {
      writeFileSync(file, fresh);
      process.stdout.write(`docExamples: rewrote ${file}\n`);
    }
  }
  return check && drifted > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().then((code) => process.exit(code));
}
