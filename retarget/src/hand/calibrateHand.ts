import type { RigSideModel } from '../rig.js';
import { HumanHandMapper, humanReferenceLengthM } from './HumanHandMapper.js';

/** An operator's hand calibration: the mapper's `scale` and `digitScales` for one side. */
export interface HandCalibration {
  /** Robot-to-human hand size ratio (reference length: wrist → middle knuckle → middle tip). */
  readonly scale: number;
  /** Robot-to-human length ratio of each digit, thumb first (5). */
  readonly digitScales: Float64Array;
  /** The operator's digit lengths the ratios come from, m (5, median over the frames). */
  readonly digitLengthsM: Float64Array;
  /** Frames used. */
  readonly frames: number;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Per-operator hand calibration from about a second of the operator holding the hand open and
 * flat (fingers straight, together): the hand scale and each digit's length ratio, as medians
 * over the frames (a tracker's bone lengths are most reliable on a flat hand, and the median
 * ignores frames where it guessed). Pass the result to the `Retargeter` (`hand.scale`,
 * `hand.digitScales`) or a calibration file. Frames failing the mapper's plausibility check are
 * skipped.
 * @param frames the side's 25-joint hands (25 × 8 each).
 * @throws RangeError when fewer than 10 plausible frames remain.
 */
export function calibrateHand(rig: RigSideModel, frames: readonly ArrayLike<number>[]): HandCalibration {
  const check = new HumanHandMapper(rig);
  const lengths: number[][] = [[], [], [], [], []];
  const refs: number[] = [];
  const tmp = new Float64Array(5);
  for (const j of frames) {
    if (check.check(j) !== 'ok') continue;
    refs.push(humanReferenceLengthM(j));
    HumanHandMapper.digitLengths(j, tmp);
    for (let f = 0; f < 5; f++) lengths[f]!.push(tmp[f]!);
  }
  if (refs.length < 10) throw new RangeError(`calibrateHand: need at least 10 plausible open-hand frames, got ${refs.length} of ${frames.length}`);
  const digitLengthsM = Float64Array.from(lengths, (l) => median(l));
  return {
    scale: rig.handReferenceLengthM / median(refs),
    digitScales: Float64Array.from(digitLengthsM, (l, f) => rig.digitLengthsM[f]! / l),
    digitLengthsM,
    frames: refs.length,
  };
}
