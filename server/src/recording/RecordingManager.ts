/**
 * Decides when to record and feeds the recorder from the control loop: raw operator frames,
 * commanded joint states, actions, chunks, events and calibration. Recording never blocks or
 * stops teleoperation: a folder that cannot be written is reported to viewers (a `recording`
 * event with the error, and the state's recording flag off) while the robot goes on.
 */
import { basename } from 'node:path';
import type { CameraHub } from '../cameras/index.js';
import type { ControlLoop } from '../bridge/ControlLoop.js';
import { createRecordingFile } from './FileSink.js';
import type { ChunkCompressor } from './ChunkedMcapWriter.js';
import { Recorder, type RecorderStats } from './Recorder.js';
import { loadZstdCompressor } from './zstd.js';

/** When to record: each operator lease (default), each engage, only on request, or never. */
export type RecordPolicy = 'session' | 'engage' | 'manual' | 'off';

export interface RecordingManagerOptions {
  readonly dir: string;
  readonly policy: RecordPolicy;
  readonly urdf: string;
  readonly softwareVersion: string;
  /** Chunk compression: zstd (default) or none. */
  readonly compression?: 'zstd' | 'none';
  /**
   * Edits a finished recording's task and success beside it (the recordings store's `editMeta`).
   * Resolves false when there is no recording of that name.
   */
  readonly editFinished?: (file: string, edit: { task?: string; success?: boolean }) => Promise<boolean>;
  /** The robot cameras: every frame goes into the running recording (one channel per camera). */
  readonly cameras?: CameraHub;
}

/** Server clock (performance.now ms) → Unix epoch ms, for MCAP log times tools understand. */
const epochMs = (serverMs: number): number => performance.timeOrigin + serverMs;

export class RecordingManager {
  private recorder: Recorder | undefined;
  private opening = false;
  private path: string | null = null;
  private lastError: string | null = null;
  private chunkId = 0;
  /** Labels given to the running recording (task, success), written with its outcome. */
  private labels: { task?: string; success?: boolean } = {};
  /** The lease holder now (from `lease` events). */
  private holder: string | null = null;
  /**
   * Who drove the running recording: the lease holders under which operator frames were recorded,
   * in order. The operator label is them, not whoever started the recording (a dashboard may start
   * it while the headset or the demo drives).
   */
  private drivers: string[] = [];
  /** The running recording's opening labels, for listings. */
  private started: { startedAtIso: string; operator: string | null; task: string | null } | null = null;
  private closing: Promise<unknown> = Promise.resolve();
  /** Settles when the recording being opened is open (or failed to open). */
  private opened: Promise<void> = Promise.resolve();
  /** Set by {@link close}: no recording starts any more. */
  private shuttingDown = false;
  /** A stop asked for while the file was still opening: done as soon as it is open. */
  private stopWhenOpen: { outcome: { success?: boolean; task?: string }; by: string } | null = null;
  private startAfterStop: { meta: { operator?: string; task?: string }; by: string } | null = null;
  /** The zstd codec, loading from construction on, so a recording's start never waits for it. */
  private readonly compressor: Promise<ChunkCompressor | undefined>;

  constructor(
    private readonly loop: ControlLoop,
    private readonly o: RecordingManagerOptions,
  ) {
    this.compressor = o.compression === 'none' ? Promise.resolve(undefined) : loadZstdCompressor();
    this.compressor.catch(() => undefined); // reported when a recording starts
    // Images keep their capture time (server clock → epoch), like every other message.
    o.cameras?.onFrame((f) => {
      // A camera's own stream is recorded, never its tiers (the same view, smaller).
      if (f.tier === undefined) this.recorder?.writeCameraFrame(f.cameraId, epochMs(f.captureTimeMs), f.codec, f.data);
    });
    loop.onFrame((recvMs, seq, f) => this.recorder?.writeHandFrame(epochMs(recvMs), seq, f.left, f.right, f.tMs));
    loop.onState((s) => {
      const r = this.recorder;
      if (!r) return;
      const t = epochMs(s.serverTimeMs);
      r.writeJointState(t, s.q);
      r.writeAction(t, s.action);
    });
    // Chunks received from a policy; teleop's own chunks (for ROS) would repeat /dexbridge/action.
    loop.onChunk((tMs, chunk, source) => {
      if (source === 'policy') this.recorder?.writeChunk(epochMs(tMs), chunk, this.chunkId++);
    });
    loop.onFrame(() => {
      if (this.recorder && this.holder !== null && !this.drivers.includes(this.holder)) this.drivers.push(this.holder);
    });
    loop.onEvent((e) => {
      if (e.event === 'lease') this.holder = typeof e.detail['holder'] === 'string' ? e.detail['holder'] : null;
      if (e.event !== 'recording') this.recorder?.writeEvent(epochMs(e.serverTimeMs), e.event, e.detail);
      if (e.event === 'tracking' && e.detail['calibrated'] !== undefined) this.recorder?.writeCalibration(epochMs(e.serverTimeMs), e.detail['calibrated'] as Record<string, unknown>);
      const p = this.o.policy;
      if (p === 'session' && e.event === 'lease') {
        if (e.detail['holder'] !== null && !this.active()) this.start({ operator: String(e.detail['holder']) }, 'lease');
        else if (e.detail['holder'] === null) this.stop({}, 'lease');
      }
      if (p === 'engage' && e.event === 'engage' && !this.active()) this.start({ operator: String(e.detail['by'] ?? '') }, 'engage');
      if (p === 'engage' && e.event === 'disengage') this.stop({}, 'disengage');
    });
  }

  active(): boolean {
    return this.recorder !== undefined && !this.recorder.failed;
  }

  file(): string | null {
    return this.path === null ? null : basename(this.path);
  }

  error(): string | null {
    return this.lastError;
  }

  /** The running recording's start time (ISO 8601), operator (who drove so far, else the opening label) and task (a label set since wins), or null. */
  current(): { readonly file: string; readonly startedAtIso: string; readonly operator: string | null; readonly task: string | null } | null {
    const file = this.file();
    if (!this.active() || file === null || this.started === null) return null;
    const operator = this.drivers.length > 0 ? this.drivers.join(', ') : this.started.operator;
    return { file, startedAtIso: this.started.startedAtIso, operator, task: this.labels.task ?? this.started.task };
  }

  /** Starts a recording (no-op when one is running or opening). */
  start(meta: { operator?: string; task?: string }, by: string): void {
    if (this.shuttingDown) return;
    // Started, stopped and started again while the first file was still opening: the second
    // start follows the first recording's stop.
    if (this.opening && this.stopWhenOpen) this.startAfterStop = { meta, by };
    if (this.recorder || this.opening) return;
    this.opening = true;
    this.stopWhenOpen = null;
    this.startAfterStop = null;
    this.chunkId = 0;
    this.labels = {};
    this.drivers = [];
    this.opened = (async () => {
      await this.closing;
      try {
        const compressChunk = await this.compressor;
        const sink = await createRecordingFile(this.o.dir);
        this.path = sink.path;
        const startedAtIso = new Date().toISOString();
        this.started = { startedAtIso, operator: meta.operator ?? null, task: meta.task ?? null };
        this.recorder = await Recorder.open(sink, {
          ...(compressChunk ? { compressChunk } : {}),
          softwareVersion: this.o.softwareVersion, startedAtIso, urdf: this.o.urdf,
          ...(this.o.cameras && this.o.cameras.cameras.length > 0 ? { cameras: this.o.cameras.cameras.map((c) => ({ id: c.id, codec: c.codec })) } : {}),
          ...(meta.operator !== undefined ? { operator: meta.operator } : {}),
          ...(meta.task !== undefined ? { task: meta.task } : {}),
          onError: (err) => {
            this.lastError = err.message;
            this.loop.emit('recording', { active: false, file: this.file(), error: err.message });
          },
        });
        this.lastError = null;
        this.loop.emit('recording', { active: true, file: this.file(), by });

      } catch (err) {
        this.lastError = `recording: cannot record in ${this.o.dir}: ${(err as Error).message}`;
        this.recorder = undefined;
        this.loop.emit('recording', { active: false, file: null, error: this.lastError, by });
      } finally {
        this.opening = false;
      }
      const pendingStop = this.stopWhenOpen;
      const pendingStart = this.startAfterStop;
      this.stopWhenOpen = null;
      this.startAfterStop = null;
      if (pendingStop) this.stop(pendingStop.outcome, pendingStop.by);
      if (pendingStop && pendingStart) this.start(pendingStart.meta, pendingStart.by);
    })();
  }

  /** Stops the running recording, with its outcome (task, success) in the file's metadata. */
  stop(outcome: { success?: boolean; task?: string }, by: string): void {
    const r = this.recorder;
    if (!r) {
      if (this.opening) this.stopWhenOpen = { outcome, by };
      return;
    }
    this.recorder = undefined;
    r.setOutcome({ ...this.labels, ...outcome, ...(this.drivers.length > 0 ? { operator: this.drivers.join(', ') } : {}) });
    this.labels = {};
    const file = this.file();
    this.closing = r.close().then(
      (stats: RecorderStats) => this.loop.emit('recording', { active: false, file, by, messages: stats.messages, bytes: stats.bytesWritten }),
      (err: unknown) => {
        this.lastError = (err as Error).message;
        this.loop.emit('recording', { active: false, file, by, error: this.lastError });
      },
    );
  }

  /**
   * Task text and success flag for the recording named `file`: the running one (kept for its
   * closing metadata), or a finished one (edited beside it, after it is complete). A label never
   * lands on another recording. Resolves false when no recording has that name.
   */
  async label(file: string, meta: { task?: string; success?: boolean }): Promise<boolean> {
    if (this.recorder && file === this.file()) {
      this.labels = { ...this.labels, ...meta };
      this.recorder.setOutcome(this.labels);
      return true;
    }
    // A recording that is still closing is complete once `closing` settles.
    await this.closing.catch(() => undefined);
    if (this.recorder && file === this.file()) return this.label(file, meta);
    if (!this.o.editFinished) return false;
    return this.o.editFinished(file, meta);
  }

  /**
   * Stops recording and waits until the file is complete, whatever state the recording is in:
   * one being opened is finished as soon as it is open (a Ctrl-C right after start must not leave
   * a file without its summary), one being closed is waited for. No recording starts afterwards.
   */
  async close(): Promise<void> {
    this.shuttingDown = true;
    await this.opened;
    this.stop({}, 'shutdown');
    await this.closing;
  }
}
