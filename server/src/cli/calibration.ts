/**
 * The calibration file of `dexbridge retarget --calibration <file.json>`: the operator's hand
 * scale and how the arms follow. Format and examples: `docs/cli.md`.
 */
import type { ArmMappingMode, RetargeterOptions, RetargeterSideOptions, Side } from '@dexbridge/retarget';
import type { CalibrationRequest } from '../protocol/calibration.js';
import { CliError } from './CliError.js';
import { readInputText } from './readHandFrames.js';

/** A hand scale: robot-to-human size ratio, or 'auto' to measure it at the first plausible frame. */
export type HandScaleSetting = number | 'auto';

/** Where a side's effective hand scale came from. */
export type HandScaleSource = 'auto' | 'calibration' | '--hand-scale' | 'recording';

/** A validated calibration file. Offsets are 12 numbers: row-major rotation, then translation (m). */
export interface Calibration {
  readonly handScale?: Partial<Record<Side, HandScaleSetting>>;
  readonly arm?: {
    readonly mode?: ArmMappingMode;
    readonly translationScale?: number;
    readonly offset?: Partial<Record<Side, Float64Array>>;
  };
}

/** Everything that configures one side of the retargeting, after calibration and options. */
export interface SideSettings {
  readonly handScale: HandScaleSetting;
  readonly handScaleSource: HandScaleSource;
  readonly armMode: ArmMappingMode;
  readonly translationScale: number;
  /** 'offset' mode only; `undefined` for the library's default offset. */
  readonly offset: Float64Array | undefined;
}

/** Command-line overrides; they apply to both sides and win over the calibration file. */
export interface SettingOverrides {
  readonly handScale?: HandScaleSetting;
  readonly armMode?: ArmMappingMode;
  readonly translationScale?: number;
}

/** Largest accepted deviation of an offset's R·Rᵀ from the identity, per entry. */
const ROTATION_TOLERANCE = 1e-3;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Validator {
  constructor(private readonly path: string) {}

  fail(at: string, message: string): never {
    throw new CliError('CLI_BAD_CALIBRATION', `${this.path}: ${at}: ${message}`);
  }

  object(value: unknown, at: string, keys: readonly string[]): Record<string, unknown> {
    if (!isObject(value)) this.fail(at, `must be an object, got ${show(value)}`);
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) this.fail(at, `unknown key ${JSON.stringify(key)} (expected ${keys.map((k) => JSON.stringify(k)).join(', ')})`);
    }
    return value;
  }

  positive(value: unknown, at: string): number {
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) this.fail(at, `must be a positive number, got ${show(value)}`);
    return value;
  }

  handScale(value: unknown, at: string): HandScaleSetting {
    if (value === 'auto') return value;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) this.fail(at, `must be a positive number or "auto", got ${show(value)}`);
    return value;
  }

  offset(value: unknown, at: string): Float64Array {
    if (!Array.isArray(value) || value.length !== 12) {
      this.fail(at, `must be 12 numbers (row-major rotation, then translation in m), got ${show(value)}`);
    }
    value.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${at}[${i}]`, `must be a finite number, got ${show(v)}`);
    });
    const m = Float64Array.from(value as number[]);
    let worst = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const dot = m[i * 3]! * m[j * 3]! + m[i * 3 + 1]! * m[j * 3 + 1]! + m[i * 3 + 2]! * m[j * 3 + 2]!;
        worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
      }
    }
    const det =
      m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
    if (worst > ROTATION_TOLERANCE || det <= 0) {
      this.fail(
        at,
        `the first 9 numbers (row-major) must be a rotation matrix: R·Rᵀ deviates from the identity by ${worst.toPrecision(3)} ` +
          `(at most ${ROTATION_TOLERANCE}) and det R = ${det.toPrecision(4)} (must be 1), got ${show(value.slice(0, 9))}`,
      );
    }
    return m;
  }
}

/**
 * Validates the text of a calibration file strictly: unknown keys, wrong types and out-of-range
 * values are errors naming the JSON path and the value.
 *
 * @param path the file name, for messages
 * @throws {CliError} `CLI_BAD_CALIBRATION`
 */
export function parseCalibration(text: string, path: string): Calibration {
  const v: Validator = new Validator(path);
  let root: unknown;
  try {
    root = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new CliError('CLI_BAD_CALIBRATION', `${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const top = v.object(root, '(root)', ['handScale', 'arm']);
  const calibration: { handScale?: Partial<Record<Side, HandScaleSetting>>; arm?: NonNullable<Calibration['arm']> } = {};
  const hs = top['handScale'];
  if (hs !== undefined) {
    if (isObject(hs)) {
      const sides = v.object(hs, 'handScale', ['left', 'right']);
      const out: Partial<Record<Side, HandScaleSetting>> = {};
      for (const side of ['left', 'right'] as const) {
        if (sides[side] !== undefined) out[side] = v.handScale(sides[side], `handScale.${side}`);
      }
      calibration.handScale = out;
    } else {
      const scale = v.handScale(hs, 'handScale');
      calibration.handScale = { left: scale, right: scale };
    }
  }
  if (top['arm'] !== undefined) {
    const arm = v.object(top['arm'], 'arm', ['mode', 'translationScale', 'offset']);
    const out: { mode?: ArmMappingMode; translationScale?: number; offset?: Partial<Record<Side, Float64Array>> } = {};
    const mode = arm['mode'];
    if (mode !== undefined) {
      if (mode !== 'clutch' && mode !== 'offset') v.fail('arm.mode', `must be "clutch" or "offset", got ${show(mode)}`);
      out.mode = mode;
    }
    if (arm['translationScale'] !== undefined) out.translationScale = v.positive(arm['translationScale'], 'arm.translationScale');
    if (arm['offset'] !== undefined) {
      const sides = v.object(arm['offset'], 'arm.offset', ['left', 'right']);
      const offsets: Partial<Record<Side, Float64Array>> = {};
      for (const side of ['left', 'right'] as const) {
        if (sides[side] !== undefined) offsets[side] = v.offset(sides[side], `arm.offset.${side}`);
      }
      out.offset = offsets;
    }
    calibration.arm = out;
  }
  return calibration;
}

/**
 * Reads and validates a calibration file.
 *
 * @throws {CliError} `CLI_INPUT_NOT_FOUND`, `CLI_INPUT_UNREADABLE`, `CLI_BAD_CALIBRATION`
 */
export async function loadCalibration(path: string): Promise<Calibration> {
  return parseCalibration(await readInputText(path, 'calibration file'), path);
}

/**
 * The settings of one side: defaults (clutch mode, automatic hand scale, translation scale 1),
 * then the calibration file, then the command-line overrides.
 */
export function resolveSideSettings(side: Side, calibration: Calibration, overrides: SettingOverrides): SideSettings {
  const fileScale = calibration.handScale?.[side];
  let handScale: HandScaleSetting = 'auto';
  let handScaleSource: HandScaleSource = 'auto';
  if (overrides.handScale !== undefined) {
    handScale = overrides.handScale;
    handScaleSource = overrides.handScale === 'auto' ? 'auto' : '--hand-scale';
  } else if (fileScale !== undefined) {
    handScale = fileScale;
    handScaleSource = fileScale === 'auto' ? 'auto' : 'calibration';
  }
  return {
    handScale,
    handScaleSource,
    armMode: overrides.armMode ?? calibration.arm?.mode ?? 'clutch',
    translationScale: overrides.translationScale ?? calibration.arm?.translationScale ?? 1,
    offset: calibration.arm?.offset?.[side],
  };
}

/**
 * The part of a calibration recorded in a session that applies when the recording is retargeted
 * again: what the command line sets (`--hand-scale`, `--translation-scale`, a calibration file's
 * `handScale` or `arm.translationScale`) wins. A side's recorded digit scales go with its recorded
 * hand scale (`calibrate_hands` measures both). Null when nothing of it applies.
 */
export function recordedCalibrationToApply(recorded: CalibrationRequest, calibration: Calibration, overrides: SettingOverrides): CalibrationRequest | null {
  const handScale: Partial<Record<Side, number>> = {};
  const digitScales: Partial<Record<Side, readonly number[]>> = {};
  for (const side of ['left', 'right'] as const) {
    if (overrides.handScale !== undefined || calibration.handScale?.[side] !== undefined) continue;
    const hs = typeof recorded.handScale === 'number' ? recorded.handScale : recorded.handScale?.[side];
    if (hs !== undefined) handScale[side] = hs;
    const ds = recorded.digitScales?.[side];
    if (ds !== undefined) digitScales[side] = ds;
  }
  const translationGiven = overrides.translationScale !== undefined || calibration.arm?.translationScale !== undefined;
  const out: { handScale?: Partial<Record<Side, number>>; digitScales?: Partial<Record<Side, readonly number[]>>; translationScale?: number } = {};
  if (Object.keys(handScale).length > 0) out.handScale = handScale;
  if (Object.keys(digitScales).length > 0) out.digitScales = digitScales;
  if (recorded.translationScale !== undefined && !translationGiven) out.translationScale = recorded.translationScale;
  return Object.keys(out).length > 0 ? out : null;
}

/** The `Retargeter` options for both sides' settings (each side's own hand scale and arm mapping). */
export function retargeterOptions(settings: Readonly<Record<Side, SideSettings>>): RetargeterOptions {
  const side = (x: SideSettings): RetargeterSideOptions => ({
    hand: { scale: x.handScale },
    arm: {
      mode: x.armMode,
      translationScale: x.translationScale,
      ...(x.armMode === 'offset' && x.offset !== undefined ? { offset: x.offset } : {}),
    },
  });
  return { sides: { left: side(settings.left), right: side(settings.right) }, autoEngage: true };
}
