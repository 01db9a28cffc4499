/**
 * The command output shown in the docs is what the commands print today (see
 * server/scripts/docExamples.ts; `npm run docs:examples` regenerates it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filesWithExamples, maskMachineDependent, regenerate } from '../scripts/docExamples.js';

describe('generated examples in the docs', () => {
  const files = filesWithExamples();

  it('docs/cli.md holds generated examples', () => {
    expect(files.some((f) => f.endsWith('docs/cli.md'))).toBe(true);
  });

  it.each(files)('%s: every generated block matches what its command prints', async (file) => {
    const text = readFileSync(file, 'utf8');
    expect(maskMachineDependent(await regenerate(text))).toBe(maskMachineDependent(text));
  });

  it('a drifted block is caught, and only the time line is masked', async () => {
    const stale = '<!-- generated: dexbridge -->\n```text\nUsage: dexbridge <old>\n```\n<!-- /generated -->\n';
    const fresh = await regenerate(stale);
    expect(fresh).toContain('Usage: dexbridge <command> [options]');
    expect(maskMachineDependent(fresh)).not.toBe(maskMachineDependent(stale));
    expect(maskMachineDependent('  time per frame   p50 0.1 ms')).toBe(maskMachineDependent('  time per frame   p50 9.9 ms'));
    expect(maskMachineDependent('  arm IK converged  83.1 %')).not.toBe(maskMachineDependent('  arm IK converged  89.7 %'));
  });
});
