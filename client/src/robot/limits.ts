/** A joint closer to a limit than this fraction of its range is "near the limit". */
export const NEAR_LIMIT_FRACTION = 0.03;
/** Arm joints: the ones whose limits the operator must watch (an open hand or a fist sits at its limits by design). */
export const isArmJoint = (name: string): boolean => /_arm_joint\d+$/.test(name);

/** A joint counts as near a limit from this fraction of its range on... */
export const NEAR_LIMIT_ENTER_FRACTION = 0.02;
/** ...until it is this far from it again, so a joint sitting at the edge of the band does not flicker. */
export const NEAR_LIMIT_LEAVE_FRACTION = 0.04;

/**
 * Which joints are near a limit, with hysteresis: a joint enters within
 * {@link NEAR_LIMIT_ENTER_FRACTION} of its range from a limit and leaves beyond
 * {@link NEAR_LIMIT_LEAVE_FRACTION}. Only the joints `watch` accepts are tracked.
 */
export class NearLimitTracker {
  private readonly near: boolean[];

  constructor(
    private readonly names: readonly string[],
    private readonly limits: readonly { readonly lower: number; readonly upper: number }[],
    private readonly watch: (name: string) => boolean = isArmJoint,
  ) {
    if (names.length !== limits.length) throw new RangeError(`limits: ${names.length} names but ${limits.length} limits`);
    this.near = names.map(() => false);
  }

  /** Updates with the joints' values (same order as the names); returns the names near a limit now. */
  update(values: ArrayLike<number>): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      const name = this.names[i]!;
      const l = this.limits[i]!;
      const v = values[i]!;
      if (!this.watch(name) || !Number.isFinite(v) || !(l.upper > l.lower)) continue;
      const margin = Math.min(v - l.lower, l.upper - v) / (l.upper - l.lower);
      this.near[i] = this.near[i] ? margin < NEAR_LIMIT_LEAVE_FRACTION : margin < NEAR_LIMIT_ENTER_FRACTION;
      if (this.near[i]) out.push(name);
    }
    return out;
  }
}
