/**
 * Edits of a finished recording's task and success flag, kept beside it in `<file>.meta.json`
 * (the MCAP itself is not rewritten). Readers apply them over the file's own `dexbridge` metadata.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** The edits beside a recording (`<path>.meta.json`), or none. */
export async function readSidecar(path: string): Promise<{ task?: string; success?: boolean | null }> {
  try {
    // Never through a link: a sidecar must be a plain file beside the recording.
    const handle = await open(`${path}.meta.json`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.nlink !== 1) return {};
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
    const v = JSON.parse(text) as Record<string, unknown>;
    const out: { task?: string; success?: boolean | null } = {};
    if (typeof v['task'] === 'string') out.task = v['task'];
    if (typeof v['success'] === 'boolean' || v['success'] === null) out.success = v['success'] as boolean | null;
    return out;
  } catch {
    return {};
  }
}

