/**
 * The calibration form's text fields, checked in the page before anything is sent: "abc" or "0"
 * used to go out as null and come back as PROTO_BAD_MESSAGE. The ranges are the server's own.
 */
import { type CalibrateMessage, HAND_SCALE_RANGE, TRANSLATION_SCALE_RANGE, validateCalibration } from '@dexbridge/server/protocol';

export type CalibrationInput = { readonly ok: true; readonly message: CalibrateMessage; readonly summary: string } | { readonly ok: false; readonly error: string };

/** A field: empty → undefined (hand: measured automatically; translation: unchanged), else a finite number in range. */
function field(label: string, text: string, range: { readonly min: number; readonly max: number }): number | undefined | string {
  const t = text.trim();
  if (t === '') return undefined;
  const v = Number(t.replace(',', '.'));
  if (!Number.isFinite(v)) return `${label}: "${t}" is not a number`;
  if (v < range.min || v > range.max) return `${label}: ${v} is outside [${range.min}, ${range.max}]`;
  return v;
}

/** Parses the form (hand scale per side, translation scale) into a `calibrate` message, or says what is wrong. */
export function parseCalibrationInput(left: string, right: string, translation: string): CalibrationInput {
  const l = field('left hand scale', left, HAND_SCALE_RANGE);
  const r = field('right hand scale', right, HAND_SCALE_RANGE);
  const t = field('translation scale', translation, TRANSLATION_SCALE_RANGE);
  const bad = [l, r, t].filter((x): x is string => typeof x === 'string');
  if (bad.length > 0) return { ok: false, error: bad.join('; ') };
  const ln = l as number | undefined, rn = r as number | undefined, tn = t as number | undefined;
  const handScale = ln !== undefined || rn !== undefined ? { ...(ln !== undefined ? { left: ln } : {}), ...(rn !== undefined ? { right: rn } : {}) } : undefined;
  const message: CalibrateMessage = { type: 'calibrate', ...(handScale ? { handScale } : {}), ...(tn !== undefined ? { translationScale: tn } : {}) };
  const problem = validateCalibration(message);
  if (problem) return { ok: false, error: problem.replace(/^control: /, '') };
  return { ok: true, message, summary: `hand ${ln ?? 'auto'}/${rn ?? 'auto'}, translation ${tn ?? 'unchanged'}` };
}
