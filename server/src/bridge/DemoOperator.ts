import type { HandFrame } from '@dexbridge/retarget';
import type { ControlLoop, FrameSource } from '../control/ControlLoop.js';

/**
 * Plays a recorded session into the control loop in a loop, with its recorded timing, as if an
 * operator were connected (`dexbridge serve --demo`). Between loops it sends half a second of
 * frames with no tracked hand, so the retargeting holds and re-anchors instead of jumping from
 * the session's last pose to its first.
 */
export class DemoOperator {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private index = 0;
  private seq = 0;
  private loopStartMs = 0;
  private gapUntilMs = Number.NaN;
  private readonly durationMs: number;
  private readonly firstT: number;
  private running = false;
  /** Loops played so far. */
  loops = 0;

  constructor(
    private readonly loop: ControlLoop,
    private readonly frames: readonly HandFrame[],
    private readonly gapMs = 500,
    /** `'operator'` for the demo (it is the operator), `'replay'` for replay mode. */
    private readonly source: FrameSource = 'operator',
  ) {
    if (frames.length < 2) throw new RangeError(`DemoOperator: needs at least 2 frames, got ${frames.length}`);
    this.firstT = frames[0]!.tMs;
    this.durationMs = frames[frames.length - 1]!.tMs - this.firstT;
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopStartMs = this.loop.now();
    this.index = 0;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    const now = this.loop.now();
    if (!Number.isNaN(this.gapUntilMs)) {
      // Between loops: frames without hands at ~90 Hz.
      this.loop.handFrame(++this.seq, now, null, null, now, this.source);
      if (now >= this.gapUntilMs) {
        this.gapUntilMs = Number.NaN;
        this.loopStartMs = this.loop.now();
        this.index = 0;
      }
      this.timer = setTimeout(() => this.schedule(), 11);
      return;
    }
    // Send every frame whose time has come (timers are coarse; keep the recorded pace).
    while (this.index < this.frames.length && this.frames[this.index]!.tMs - this.firstT <= now - this.loopStartMs) {
      const f = this.frames[this.index++]!;
      const t = this.loopStartMs + (f.tMs - this.firstT);
      this.loop.handFrame(++this.seq, t, f.left, f.right, now, this.source);
    }
    if (this.index >= this.frames.length) {
      this.loops++;
      this.gapUntilMs = now + this.gapMs;
      this.timer = setTimeout(() => this.schedule(), 11);
      return;
    }
    const next = this.frames[this.index]!.tMs - this.firstT - (this.loop.now() - this.loopStartMs);
    this.timer = setTimeout(() => this.schedule(), Math.max(1, Math.min(50, next)));
  }

  /** Total length of one loop, ms (for the summary). */
  get loopMs(): number {
    return this.durationMs + this.gapMs;
  }
}
