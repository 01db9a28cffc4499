/**
 * Temporary folders for one test file: `tempDirs('serve')` returns a function that makes a new
 * `dexbridge-serve-…` folder in the system's temporary directory, and removes every folder it
 * made after the file's last test. Call it at the top level of the test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * @param prefix the folders are named `dexbridge-<prefix>-XXXXXX`.
 * @param before runs first after the last test, e.g. to stop child processes still writing there.
 */
export function tempDirs(prefix: string, before?: () => Promise<void>): () => string {
  const dirs: string[] = [];
  afterAll(async () => {
    await before?.();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), `dexbridge-${prefix}-`));
    dirs.push(d);
    return d;
  };
}
