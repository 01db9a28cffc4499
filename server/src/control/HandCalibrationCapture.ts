/**
 * The `calibrate_hands` measurement: the operator holds both hands open and flat for a second;
 * the server keeps that second of the operator's frames and turns each hand's into a calibration
 * (`calibrateHand`: hand scale and digit scales, medians over the plausible frames).
 */
import { calibrateHand, type HandCalibration, type Rig, type Side, SIDES, XR_HAND_LENGTH } from '@dexbridge/retarget';

/** What the measurement gave for one hand: a calibration, or why there is none. */
export type HandCalibrationOutcome =
  | { readonly ok: true; readonly calibration: HandCalibration }
  | { readonly ok: false; readonly code: 'CALIBRATION_NO_HANDS'; readonly message: string };

/** Frames of each hand the measurement waits for after its `seconds` (a headset at 72–90 Hz has them at once). */
export const MIN_FRAMES_PER_HAND = 30;
/** The longest a measurement waits for those frames, ms. */
export const MAX_MEASURE_MS = 5000;

/**
 * One measurement in progress. Frames are kept from `startMs` on, on the server's clock (the
 * frames' receive times), until {@link HandCalibrationCapture.ends}: the measurement ends with the
 * first frame past its end whatever the operator's clock says.
 */
export class HandCalibrationCapture {
  readonly startMs: number;
  readonly endMs: number;
  private readonly frames: Record<Side, Float64Array[]> = { left: [], right: [] };

  constructor(
    private readonly rig: Rig,
    startMs: number,
    readonly seconds: number,
  ) {
    this.startMs = startMs;
    this.endMs = startMs + seconds * 1000;
  }

  /**
   * Whether a frame received at `recvMs` ends the measurement (it is not kept then): once
   * `seconds` have passed and each hand has {@link MIN_FRAMES_PER_HAND} frames, or at
   * {@link MAX_MEASURE_MS} whatever it has (a slow client, or a hand out of view).
   */
  ends(recvMs: number): boolean {
    if (recvMs >= this.startMs + MAX_MEASURE_MS) return true;
    return recvMs >= this.endMs && this.frames.left.length >= MIN_FRAMES_PER_HAND && this.frames.right.length >= MIN_FRAMES_PER_HAND;
  }

  /** Keeps one operator frame's hands (copied: the caller reuses its buffers). */
  add(left: ArrayLike<number> | null, right: ArrayLike<number> | null): void {
    if (left) this.frames.left.push(Float64Array.from({ length: XR_HAND_LENGTH }, (_, i) => left[i]!));
    if (right) this.frames.right.push(Float64Array.from({ length: XR_HAND_LENGTH }, (_, i) => right[i]!));
  }

  /** Each hand's calibration from the frames kept, or why there is none. */
  finish(): Record<Side, HandCalibrationOutcome> {
    const out = {} as Record<Side, HandCalibrationOutcome>;
    for (const side of SIDES) {
      const frames = this.frames[side];
      try {
        out[side] = { ok: true, calibration: calibrateHand(this.rig.sides[side], frames) };
      } catch (err) {
        out[side] = {
          ok: false,
          code: 'CALIBRATION_NO_HANDS',
          message: `control: calibrate_hands: the ${side} hand was not held open in view long enough (${(err as Error).message})`,
        };
      }
    }
    return out;
  }
}
