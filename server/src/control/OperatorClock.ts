/**
 * One connection's operator clock: which HAND_FRAME times to believe. The headset stamps frames
 * with its own monotonic clock; the server keeps an estimate of that clock's offset (the smallest
 * observed arrival delay) and refuses a frame whose time is outside a plausible window around it,
 * without letting that frame change the estimate or the order checks: one bogus stamp is refused,
 * the honest frames after it are not. A clock that really jumped (a headset resumed from sleep)
 * is re-learnt after a few consistent frames.
 */
import type { WireErrorCode } from '../protocol/errors.js';

/** Default: a frame may claim to be this much earlier in transit than the best seen so far, ms. */
export const DEFAULT_MAX_LEAD_MS = 100;
/** Lateness beyond which consistent stale frames mean the operator's clock stepped, ms. */
const CLOCK_STEP_MS = 1000;
/** Default: consistent refused frames after which the estimate is re-learnt from them. */
export const DEFAULT_RELEARN_FRAMES = 10;

export interface OperatorClockOptions {
  /** A frame arriving this much later than the best observed delay is stale, ms > 0. Default 150. */
  readonly staleMs?: number;
  /** A frame that seems this much faster than the best observed delay is implausible, ms > 0. Default 100. */
  readonly maxLeadMs?: number;
  /** Refused frames in a row, agreeing within `maxLeadMs`, that make the estimate start again. Default 10. */
  readonly relearnFrames?: number;
}

export type FrameTimeVerdict = { readonly ok: true } | { readonly ok: false; readonly code: WireErrorCode; readonly message: string };
const OK: FrameTimeVerdict = Object.freeze({ ok: true });

export class OperatorClock {
  readonly staleMs: number;
  readonly maxLeadMs: number;
  readonly relearnFrames: number;
  private lastSeq = -1;
  private lastTMs = Number.NEGATIVE_INFINITY;
  private bestDelayMs = Number.POSITIVE_INFINITY;
  /** Refused frames in a row whose delays agree, and the first one's delay. */
  private refusedRun = 0;
  private refusedDelayMs = Number.NaN;

  /** @throws RangeError naming a bad option. */
  constructor(options: OperatorClockOptions = {}) {
    this.staleMs = options.staleMs ?? 150;
    this.maxLeadMs = options.maxLeadMs ?? DEFAULT_MAX_LEAD_MS;
    this.relearnFrames = options.relearnFrames ?? DEFAULT_RELEARN_FRAMES;
    for (const k of ['staleMs', 'maxLeadMs'] as const) {
      const v = this[k];
      if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`OperatorClock: option ${k} must be a finite number > 0, got ${String(v)}`);
    }
    if (!Number.isInteger(this.relearnFrames) || this.relearnFrames < 1) throw new RangeError(`OperatorClock: option relearnFrames must be an integer ≥ 1, got ${this.relearnFrames}`);
  }

  /** The connection's best (smallest) arrival delay so far, ms (server clock − operator clock). */
  get offsetMs(): number {
    return this.bestDelayMs;
  }

  /**
   * Checks one decoded frame (`seq`, operator time `tMs`) arriving at `recvMs` (server clock).
   * Accepted frames move the connection's state on; refused ones never do (except that a run of
   * consistent refusals re-learns the clock). Codes: `FRAME_OUT_OF_ORDER`, `FRAME_TIME_BACKWARDS`,
   * `FRAME_TIME_IMPLAUSIBLE`, `FRAME_STALE`.
   */
  check(seq: number, tMs: number, recvMs: number): FrameTimeVerdict {
    if (seq <= this.lastSeq) return { ok: false, code: 'FRAME_OUT_OF_ORDER', message: `server: frame seq ${seq} after ${this.lastSeq}` };
    const delay = recvMs - tMs;
    let verdict: FrameTimeVerdict = OK;
    if (!(tMs > this.lastTMs)) {
      verdict = { ok: false, code: 'FRAME_TIME_BACKWARDS', message: `server: frame time ${tMs} ms is not after ${this.lastTMs} ms` };
    } else if (Number.isFinite(this.bestDelayMs) && delay < this.bestDelayMs - this.maxLeadMs) {
      verdict = {
        ok: false, code: 'FRAME_TIME_IMPLAUSIBLE',
        message: `server: frame ${seq} time ${tMs} ms is ${(this.bestDelayMs - delay).toFixed(0)} ms ahead of this connection's clock (limit ${this.maxLeadMs} ms)`,
      };
    } else if (delay - Math.min(this.bestDelayMs, delay) > this.staleMs) {
      verdict = {
        ok: false, code: 'FRAME_STALE',
        message: `server: frame ${seq} arrived ${(delay - this.bestDelayMs).toFixed(0)} ms late (limit ${this.staleMs} ms)`,
      };
    }
    if (verdict.ok) {
      this.accept(seq, tMs, delay);
      return OK;
    }
    // A run of refusals that agree with each other is a clock that changed (or an estimate a
    // bogus first frame set): start again from them. Frames late by less than a second are a
    // slow network, not a clock step: those stay refused.
    const clockStep = verdict.code !== 'FRAME_STALE' || delay - this.bestDelayMs > CLOCK_STEP_MS;
    if (!clockStep) this.refusedRun = 0;
    else if (this.refusedRun > 0 && Math.abs(delay - this.refusedDelayMs) <= this.maxLeadMs) this.refusedRun++;
    else {
      this.refusedRun = 1;
      this.refusedDelayMs = delay;
    }
    if (clockStep && this.refusedRun >= this.relearnFrames) {
      this.bestDelayMs = delay;
      this.lastTMs = Number.NEGATIVE_INFINITY;
      this.accept(seq, tMs, delay);
      return OK;
    }
    // Stale frames still count for order: a later frame must not be older than this one.
    if (verdict.code === 'FRAME_STALE') this.lastSeq = seq;
    return verdict;
  }

  private accept(seq: number, tMs: number, delay: number): void {
    this.lastSeq = seq;
    this.lastTMs = tMs;
    this.bestDelayMs = Math.min(this.bestDelayMs, delay);
    this.refusedRun = 0;
  }
}
