import type { RetargetOutput } from '@dexbridge/retarget';

export interface GestureOptions {
  /** Thumb–little-finger pad gap that counts as closed, m. Default 0.012. */
  readonly closedM?: number;
  /** Gap that counts as open again (hysteresis), m. Default 0.03. */
  readonly openM?: number;
  /** How long both hands must hold the gesture, ms. Default 600. */
  readonly holdMs?: number;
}

/**
 * The engage gesture: thumb touching the little finger on BOTH hands, held for 0.6 s, toggles
 * engagement. It was chosen because it does not happen during manipulation (pinches use the index
 * and middle fingers, and one hand at a time). After a toggle both hands must open before the
 * gesture counts again.
 */
export class GestureDetector {
  private readonly closedM: number;
  private readonly openM: number;
  private readonly holdMs: number;
  private since = Number.NaN;
  private armed = true;

  constructor(o: GestureOptions = {}) {
    this.closedM = o.closedM ?? 0.012;
    this.openM = o.openM ?? 0.03;
    this.holdMs = o.holdMs ?? 600;
    if (!(this.openM > this.closedM)) throw new RangeError(`GestureDetector: openM (${this.openM}) must exceed closedM (${this.closedM})`);
  }

  /** Feeds one frame's status; returns 'toggle' on the frame the gesture completes. */
  update(tMs: number, status: RetargetOutput['status']): 'toggle' | undefined {
    const l = status.left, r = status.right;
    const gapL = l.tracked ? l.humanGapsM[3]! : Number.NaN;
    const gapR = r.tracked ? r.humanGapsM[3]! : Number.NaN;
    const closed = gapL < this.closedM && gapR < this.closedM;
    const open = !(gapL < this.openM) && !(gapR < this.openM);
    if (!this.armed) {
      if (open) this.armed = true;
      this.since = Number.NaN;
      return undefined;
    }
    if (!closed) {
      this.since = Number.NaN;
      return undefined;
    }
    if (Number.isNaN(this.since)) this.since = tMs;
    if (tMs - this.since >= this.holdMs) {
      this.armed = false;
      this.since = Number.NaN;
      return 'toggle';
    }
    return undefined;
  }
}
