/**
 * Export recordings as a LeRobot dataset from the browser: starts a server-side export job
 * (`POST /api/exports`), shows its progress (`GET /api/exports/<id>`), then offers the dataset as
 * one .tar download. Layout of the dataset: docs/dataset.md.
 */
import { useState } from 'react';
import { authHeaders } from '../net/token.js';
import type { RecordingListEntry } from './loadRecording.js';

interface JobStatus {
  readonly id: string;
  readonly status: 'running' | 'done' | 'failed';
  readonly progress: number;
  readonly phase?: string;
  readonly episodes?: number;
  readonly frames?: number;
  readonly bytes?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export function ExportPanel({ token, recordings }: { token: string | undefined; recordings: readonly RecordingListEntry[] }) {
  const [fps, setFps] = useState('30');
  const [all, setAll] = useState(false);
  const [job, setJob] = useState<JobStatus | undefined>();
  const [err, setErr] = useState<string | undefined>();
  const successful = recordings.filter((r) => r.complete && r.success === true).length;
  const headers = { 'content-type': 'application/json', ...authHeaders(token) };
  const start = async () => {
    setErr(undefined);
    setJob(undefined);
    const res = await fetch('/api/exports', { method: 'POST', headers, body: JSON.stringify({ fps: Number(fps), all }) });
    const body = (await res.json().catch(() => ({}))) as Partial<JobStatus> & { code?: string; message?: string };
    if (!res.ok || !body.id) throw new Error(`${body.code ?? `HTTP ${res.status}`}: ${body.message ?? ''}`);
    const id = body.id;
    for (;;) {
      const r = await fetch(`/api/exports/${encodeURIComponent(id)}`, { headers });
      const st = (await r.json()) as JobStatus;
      setJob(st);
      if (st.status !== 'running') return;
      await new Promise((d) => setTimeout(d, 300));
    }
  };
  return (
    <div className="panel" data-testid="export-panel">
      <h3>Export a LeRobot dataset</h3>
      <p className="hint">
        {all ? `all ${recordings.filter((r) => r.complete).length} complete recordings` : `${successful} recordings marked successful`}, resampled to a fixed rate
        (docs/dataset.md).
      </p>
      <label>
        fps <input size={4} value={fps} onChange={(e) => setFps(e.target.value)} aria-label="export fps" />
      </label>{' '}
      <label>
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> include unsuccessful
      </label>{' '}
      <button type="button" disabled={!token || job?.status === 'running'} title={token ? '' : 'needs the operator token'} onClick={() => start().catch((e: Error) => setErr(e.message))}>
        Export
      </button>
      {job ? (
        <div data-testid="export-status">
          <progress max={1} value={job.progress} /> {job.status}{job.status === 'running' && job.phase ? ` (${job.phase})` : ''} {Math.round(job.progress * 100)} %
          {job.status === 'done' ? (
            <>
              {' '}
              · {job.episodes} episodes, {job.frames} frames{' '}
              <a href={`/api/exports/${encodeURIComponent(job.id)}/download`} download>
                download .tar
              </a>
            </>
          ) : null}
          {job.error ? (
            <span className="error">
              {' '}
              {job.error.code}: {job.error.message}
            </span>
          ) : null}
        </div>
      ) : null}
      {err ? <p className="error">{err}</p> : null}
    </div>
  );
}
