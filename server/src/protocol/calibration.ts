/**
 * Operator calibration requests (the `calibrate` message) and their documented ranges. A request
 * is validated when it arrives and applied at the next engage (see ControlLoop), so a new scale
 * never moves the robot mid-motion. Part of the protocol so that a page checks its inputs with the
 * very numbers the server enforces.
 */
import type { Side } from '@dexbridge/retarget';

export interface CalibrationRequest {
  /** Robot hand size / human hand size, both hands or per hand. */
  handScale?: number | Partial<Record<Side, number>>;
  /** Robot wrist motion / human wrist motion. */
  translationScale?: number;
  /** Robot digit length / human digit length per hand, 5 each (thumb first). */
  digitScales?: Partial<Record<Side, readonly number[]>>;
}

/**
 * Accepted hand scale: ByteDexter V2 (219 mm) against human hands from about 110 mm to 440 mm
 * long. Values outside are a typo or a broken measurement, not a hand.
 */
export const HAND_SCALE_RANGE = Object.freeze({ min: 0.5, max: 2 } as const);
/**
 * Accepted translation scale: from fine work (a tenth of the operator's motion) to a 4× reach;
 * beyond that a tremor of a few millimetres becomes centimetres at the flange.
 */
export const TRANSLATION_SCALE_RANGE = Object.freeze({ min: 0.1, max: 4 } as const);

/**
 * Accepted digit scale (robot digit / human digit): each finger within a factor of two of the
 * robot's, as the hand scale; beyond that the tracker measured a bone wrong.
 */
export const DIGIT_SCALE_RANGE = Object.freeze({ min: 0.5, max: 2 } as const);
/** Seconds of open, flat hands `calibrate_hands` measures: at least 45 frames, at most 5 s of holding still. */
export const CALIBRATE_HANDS_SECONDS = Object.freeze({ min: 0.5, max: 5, default: 1 } as const);

function inRange(name: string, v: unknown, r: { readonly min: number; readonly max: number }): string | null {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < r.min || v > r.max) {
    return `control: ${name} must be a number in [${r.min}, ${r.max}], got ${typeof v === 'number' ? v : JSON.stringify(v)}`;
  }
  return null;
}

/** Why a request is out of range (a message starting with `control:`), or null when it is valid. */
export function validateCalibration(c: CalibrationRequest): string | null {
  // An empty side map ({handScale: {}}, {digitScales: {}}) sets nothing, like leaving it out.
  const sided = (v: Partial<Record<Side, unknown>> | undefined): boolean => v !== undefined && (v.left !== undefined || v.right !== undefined);
  const handGiven = c.handScale !== undefined && (typeof c.handScale !== 'object' || sided(c.handScale));
  if (!handGiven && c.translationScale === undefined && !sided(c.digitScales)) {
    return 'control: calibrate needs handScale, translationScale or digitScales (a left or right value)';
  }
  if (c.digitScales !== undefined) {
    for (const side of ['left', 'right'] as const) {
      const v = c.digitScales[side];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.length !== 5) return `control: digitScales.${side} must be 5 numbers (thumb first), got ${JSON.stringify(v)}`;
      for (let i = 0; i < 5; i++) {
        const bad = inRange(`digitScales.${side}[${i}]`, v[i], DIGIT_SCALE_RANGE);
        if (bad) return bad;
      }
    }
  }
  if (typeof c.handScale === 'number' || (c.handScale !== undefined && typeof c.handScale !== 'object')) {
    const bad = inRange('handScale', c.handScale, HAND_SCALE_RANGE);
    if (bad) return bad;
  } else if (c.handScale !== undefined) {
    for (const side of ['left', 'right'] as const) {
      const v = c.handScale[side];
      if (v === undefined) continue;
      const bad = inRange(`handScale.${side}`, v, HAND_SCALE_RANGE);
      if (bad) return bad;
    }
  }
  if (c.translationScale !== undefined) return inRange('translationScale', c.translationScale, TRANSLATION_SCALE_RANGE);
  return null;
}
