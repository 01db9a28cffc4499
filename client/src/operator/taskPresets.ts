/**
 * The tasks the headset offers, since typing in XR is slow and error-prone: "no task" and the
 * distinct tasks of the recordings on the server, newest first (`/api/recordings`, sorted newest
 * first by the server). A task typed on the dashboard reaches this list as soon as a recording
 * carries it (Record with the task, or Stop ✓/✗ after typing it): the running recording is listed
 * with its task too.
 */
import type { RecordingInfo } from '@dexbridge/server/protocol';
import { useEffect, useState } from 'react';
import { authHeaders } from '../net/token.js';

/** At most this many recorded tasks, besides "no task": a few buttons' worth, not a list to scroll. */
export const MAX_TASK_PRESETS = 6;

/** Distinct non-empty tasks in listing order (newest first), at most {@link MAX_TASK_PRESETS}. */
export function taskPresets(recordings: readonly Pick<RecordingInfo, 'task'>[]): string[] {
  const out: string[] = [];
  for (const r of recordings) {
    const t = r.task?.trim();
    if (t && !out.includes(t)) out.push(t);
    if (out.length === MAX_TASK_PRESETS) break;
  }
  return out;
}

/** Read again this often while the menu is shown, ms: a task labelled on the dashboard meanwhile shows up. */
const REFRESH_MS = 5000;

/**
 * The presets, read when the menu opens (the hook lives in the shown menu), when `key` changes
 * (the running recording's file, or null) and every {@link REFRESH_MS} while it stays open.
 */
export function useTaskPresets(token: string | undefined, key: string | null): string[] {
  const [presets, setPresets] = useState<string[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` only says when to read again (a recording started or stopped)
  useEffect(() => {
    let live = true;
    const read = () =>
      fetch('/api/recordings', { headers: authHeaders(token) })
        .then(async (r) => (r.ok ? ((await r.json()) as { recordings: RecordingInfo[] }) : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((j) => {
          if (live) setPresets(taskPresets(j.recordings));
        })
        // Without the list the menu still offers "no task"; the dashboard shows why the listing fails.
        .catch(() => undefined);
    void read();
    const timer = setInterval(read, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [token, key]);
  return presets;
}
