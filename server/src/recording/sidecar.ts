/**
 * Edits of a finished recording's task and success flag, kept beside it in `<file>.meta.json`
 * (the MCAP itself is not rewritten). Readers apply them over the file's own `dexbridge` metadata.
 */
import { readFile } from 'node:fs/promises';

/** The edits beside a recording (`<path>.meta.json`), or none. */
export async function readSidecar(path: string): Promise<{ task?: string; success?: boolean | null }> {
  try {
    const v = JSON.parse(await readFile(`${path}.meta.json`, 'utf8')) as Record<string, unknown>;
    const out: { task?: string; success?: boolean | null } = {};
    if (typeof v['task'] === 'string') out.task = v['task'];
    if (typeof v['success'] === 'boolean' || v['success'] === null) out.success = v['success'] as boolean | null;
    return out;
  } catch {
    return {};
  }
}

