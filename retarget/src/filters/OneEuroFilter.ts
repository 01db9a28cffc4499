/**
 * The One Euro filter (Casiez, Roussel, Vogel, "1 € Filter: A Simple Speed-based Low-pass Filter
 * for Noisy Input in Interactive Systems", CHI 2012): a first-order low-pass whose cutoff rises
 * with the signal's speed, so it removes jitter at rest and adds little lag in fast motion.
 *
 *   dx̂ᵢ = lowpass(dxᵢ = (xᵢ − x̂ᵢ₋₁)/Δt, cutoff = dCutoff)
 *   cutoffᵢ = minCutoff + beta·|dx̂ᵢ|
 *   x̂ᵢ = lowpass(xᵢ, cutoffᵢ),   lowpass(x, c): x̂ ← x̂ + α(x − x̂),  α = 1/(1 + 1/(2π·c·Δt))
 */

/** A writable numeric vector (typed array or number[]). */
export interface FilterVector {
  readonly length: number;
  [index: number]: number;
}

export interface OneEuroOptions {
  /** Cutoff (Hz) at zero speed: lower removes more jitter at rest and adds more lag. > 0. */
  readonly minCutoffHz?: number;
  /** Cutoff slope (Hz per unit/s of speed): higher removes more lag in fast motion. ≥ 0. */
  readonly beta?: number;
  /** Cutoff (Hz) of the low-pass on the derivative. > 0. */
  readonly dCutoffHz?: number;
}

/**
 * Defaults for hand keypoint and fingertip positions in metres (speed in m/s), sampled at the
 * Quest's 60–90 Hz hand-tracking rate.
 *
 * - `minCutoffHz` 1.0: Quest hand tracking jitters by a few mm at rest; a 1 Hz corner smooths it
 *   to sub-mm while a still hand settles within ~0.3 s. The paper tunes this first, with beta 0.
 * - `beta` 20 (Hz per m/s): a finger moving at 0.1 m/s (slow reach) gets a 3 Hz cutoff, a flick at
 *   1 m/s gets 21 Hz (≈ no filtering at 60–90 Hz), so lag stays below one or two frames when it
 *   matters. For scale: Casiez's reference pointer setting, beta 0.007 per px/s at ≈ 0.25 mm/px,
 *   is ≈ 28 per m/s.
 * - `dCutoffHz` 1.0: the paper's recommended value; it only smooths the speed estimate.
 */
export const ONE_EURO_HAND_POSITION_DEFAULTS: Readonly<Required<OneEuroOptions>> = Object.freeze({
  minCutoffHz: 1.0,
  beta: 20,
  dCutoffHz: 1.0,
});

/** Validate and merge One Euro options (defaults first, then the caller's). */
export function resolveOneEuroOptions(
  owner: string,
  defaults: Readonly<Required<OneEuroOptions>>,
  options: OneEuroOptions | undefined,
): Readonly<Required<OneEuroOptions>> {
  const merged = { ...defaults, ...options };
  const check = (name: keyof OneEuroOptions, allowZero: boolean): void => {
    const v: unknown = merged[name];
    if (typeof v !== 'number') throw new TypeError(`${owner}: option ${name} must be a number, got ${typeof v}`);
    if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw new RangeError(`${owner}: option ${name} must be a finite number ${allowZero ? '≥' : '>'} 0, got ${v}`);
    }
  };
  check('minCutoffHz', false);
  check('beta', true);
  check('dCutoffHz', false);
  return Object.freeze(merged);
}

/** Smoothing factor of a first-order low-pass with corner `cutoffHz` for a step of `dtS` seconds. */
export const oneEuroAlpha = (cutoffHz: number, dtS: number): number => 1 / (1 + 1 / (2 * Math.PI * cutoffHz * dtS));

/**
 * One Euro filter over a fixed-size vector, each component filtered independently (own speed,
 * own cutoff). State is preallocated; {@link OneEuroFilter.filter} allocates nothing.
 */
export class OneEuroFilter {
  readonly dim: number;
  readonly minCutoffHz: number;
  readonly beta: number;
  readonly dCutoffHz: number;
  private readonly xHat: Float64Array;
  private readonly dxHat: Float64Array;
  private lastTMs = 0;
  private initialized = false;

  /**
   * @param dim number of components, a positive integer.
   * @param options defaults {@link ONE_EURO_HAND_POSITION_DEFAULTS}.
   * @throws RangeError naming the bad option (or `dim`).
   */
  constructor(dim: number, options?: OneEuroOptions) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`OneEuroFilter: dim must be a positive integer, got ${dim}`);
    const o = resolveOneEuroOptions('OneEuroFilter', ONE_EURO_HAND_POSITION_DEFAULTS, options);
    this.dim = dim;
    this.minCutoffHz = o.minCutoffHz;
    this.beta = o.beta;
    this.dCutoffHz = o.dCutoffHz;
    this.xHat = new Float64Array(dim);
    this.dxHat = new Float64Array(dim);
  }

  /**
   * Filter one sample `x` (dim numbers) taken at `tMs` (ms, monotonic), writing into `out`.
   *
   * - First call (or after {@link reset}): passes `x` through.
   * - `tMs` not after the previous sample's (dt ≤ 0: repeated or out-of-order timestamps), or
   *   `tMs` not finite: returns the previous output, state unchanged.
   * - Any non-finite component in `x`: returns the previous output, state unchanged (so one bad
   *   sample cannot poison the filter); on the first call it is passed through and the filter
   *   stays uninitialised.
   *
   * Allocation-free; `out` may alias `x`.
   * @returns `out`.
   */
  filter<T extends FilterVector>(out: T, x: ArrayLike<number>, tMs: number): T {
    const n = this.dim;
    const xHat = this.xHat;
    let finite = Number.isFinite(tMs);
    for (let i = 0; i < n && finite; i++) finite = Number.isFinite(x[i]!);
    if (!this.initialized) {
      if (finite) {
        for (let i = 0; i < n; i++) {
          xHat[i] = x[i]!;
          this.dxHat[i] = 0;
        }
        this.lastTMs = tMs;
        this.initialized = true;
      }
      for (let i = 0; i < n; i++) out[i] = x[i]!;
      return out;
    }
    const dtS = (tMs - this.lastTMs) / 1000;
    if (!finite || !(dtS > 0)) {
      for (let i = 0; i < n; i++) out[i] = xHat[i]!;
      return out;
    }
    this.lastTMs = tMs;
    const dxHat = this.dxHat;
    const aD = oneEuroAlpha(this.dCutoffHz, dtS);
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      const prev = xHat[i]!;
      const dx = (xi - prev) / dtS;
      const edx = dxHat[i]! + aD * (dx - dxHat[i]!);
      dxHat[i] = edx;
      const a = oneEuroAlpha(this.minCutoffHz + this.beta * Math.abs(edx), dtS);
      const y = prev + a * (xi - prev);
      xHat[i] = y;
      out[i] = y;
    }
    return out;
  }

  /** Forget all state: the next {@link OneEuroFilter.filter} passes its input through. */
  reset(): void {
    this.initialized = false;
    this.xHat.fill(0);
    this.dxHat.fill(0);
    this.lastTMs = 0;
  }
}
