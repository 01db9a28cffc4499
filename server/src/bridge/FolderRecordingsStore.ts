import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createRig, type HandFrame, parseIwerCapture, Retargeter } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { createRecordingFile, loadZstdCompressor, readRecordingInfo, readSidecar, Recorder } from '../recording/index.js';
import type { RecordingManager } from '../recording/RecordingManager.js';
import { HttpError, RECORDING_NAME, type RecordingInfo, type RecordingsStore } from './http.js';
import { checkRecordingFile, isPlainFile, replacePlainFile } from './recordingFiles.js';
import { softwareVersion } from './startDexbridge.js';

const parseSuccess = (v: string | undefined): boolean | null => (v === 'true' ? true : v === 'false' ? false : null);

/** Recordings in one folder, as the HTTP API sees them. */
export class FolderRecordingsStore implements RecordingsStore {
  constructor(
    readonly dir: string,
    private readonly manager: RecordingManager | undefined,
  ) {}

  isActive(name: string): boolean {
    return this.manager?.active() === true && this.manager.file() === name;
  }

  async list(): Promise<RecordingInfo[]> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => RECORDING_NAME.test(n)).sort().reverse();
    const out: RecordingInfo[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      // Links and hard-linked files are not listed (nor served, edited or deleted: recordingFiles.ts).
      const st = await lstat(path).catch(() => undefined);
      if (st === undefined || !isPlainFile(st)) continue;
      const running = this.manager?.current();
      if (running && running.file === name) {
        // Being written: no summary yet, so its labels come from the recording in progress.
        const durationS = Math.max(0, (Date.now() - Date.parse(running.startedAtIso)) / 1000);
        out.push({ name, sizeBytes: st.size, startedAt: running.startedAtIso, durationS, operator: running.operator, task: running.task, success: null, complete: false, recording: true });
        continue;
      }
      try {
        const info = await readRecordingInfo(path);
        const meta = info.metadata['dexbridge'] ?? {};
        const edits = await readSidecar(path);
        const durationS = info.endTimeNs > info.startTimeNs ? Number(info.endTimeNs - info.startTimeNs) / 1e9 : 0;
        out.push({
          name, sizeBytes: st.size, startedAt: meta['started_at'] ?? null, durationS, operator: meta['operator'] ?? null,
          task: edits.task !== undefined ? edits.task || null : meta['task'] || null,
          success: edits.success !== undefined ? edits.success : parseSuccess(meta['success']),
          complete: true,
          recording: false,
        });
      } catch {
        // Cut by a crash: listed, flagged incomplete (`dexbridge recover`).
        out.push({ name, sizeBytes: st.size, startedAt: null, durationS: null, operator: null, task: null, success: null, complete: false, recording: false });
      }
    }
    return out;
  }

  /**
   * Task and success edits live beside the recording in `<name>.meta.json` (an MCAP file is not
   * rewritten): the listing and the dataset export read them over the file's own metadata.
   */
  async editMeta(name: string, edit: { task?: string; success?: boolean | null }): Promise<boolean> {
    let path: string;
    try {
      path = await checkRecordingFile(this.dir, name);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return false;
      throw err;
    }
    const current = await readSidecar(path);
    await replacePlainFile(`${path}.meta.json`, `${JSON.stringify({ ...current, ...edit }, null, 2)}\n`);
    return true;
  }

  async remove(name: string): Promise<boolean> {
    let path: string;
    try {
      path = await checkRecordingFile(this.dir, name);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return false;
      throw err;
    }
    try {
      await unlink(path);
      await unlink(`${path}.meta.json`).catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * An IWER capture becomes a recording: its hand frames, and the robot's joint states and
   * actions from retargeting them with the defaults (so the dashboard can replay it at once).
   */
  async importIwer(text: string, meta: { operator?: string; task?: string }): Promise<string> {
    let frames: HandFrame[];
    try {
      frames = parseIwerCapture(text);
    } catch (err) {
      throw new HttpError(400, (err as { code?: string }).code ?? 'FORMAT_IWER_SYNTAX', (err as Error).message);
    }
    if (frames.length === 0) throw new HttpError(400, 'FORMAT_IWER_SCHEMA', 'http: the capture has no hand-tracked frames');
    const compressChunk = await loadZstdCompressor();
    const sink = await createRecordingFile(this.dir);
    const recorder = await Recorder.open(sink, {
      compressChunk,
      softwareVersion: softwareVersion(), startedAtIso: new Date().toISOString(), urdf: rigUrdf(), operator: meta.operator ?? 'import', task: meta.task ?? 'imported IWER capture',
    });
    const rt = new Retargeter(createRig(), { autoEngage: true });
    const t0 = Date.now() - (frames[frames.length - 1]!.tMs - frames[0]!.tMs);
    let seq = 0;
    for (const f of frames) {
      const t = t0 + (f.tMs - frames[0]!.tMs);
      recorder.writeHandFrame(t, seq++, f.left, f.right, f.tMs);
      const o = rt.process(f);
      recorder.writeJointState(t, o.q);
      recorder.writeAction(t, o.action);
    }
    recorder.writeEvent(t0, 'import', { frames: frames.length, source: 'iwer' });
    await recorder.close();
    return basename(sink.path);
  }
}
