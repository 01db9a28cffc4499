/**
 * What the joint and action plots offer to draw, one group at a time: small enough groups that
 * every line is readable (a hand's 21 joints or 16 actions do not fit one plot's palette), and
 * together every joint and every action entry, so no finger is out of reach.
 */
import { ACTION_ENTRIES, STATE_JOINT_NAMES } from '@dexbridge/retarget';

export interface PlotGroup {
  readonly label: string;
  /** Indices into the 56 state joints or the 88 action entries. */
  readonly indices: readonly number[];
}

const FINGERS = ['thumb', 'index', 'middle', 'ring', 'little'] as const;
const fingerOf = (name: string): string | undefined => FINGERS.find((f) => name.includes(`_${f}_`));

/** Groups keyed by `keyOf` in first-seen order. */
function groupBy(names: readonly string[], keyOf: (name: string) => string): PlotGroup[] {
  const groups = new Map<string, number[]>();
  names.forEach((n, i) => {
    const k = keyOf(n);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return [...groups].map(([label, indices]) => ({ label, indices }));
}

/** The 56 state joints: each arm, then each hand finger by finger (`right ring`). */
export const STATE_JOINT_GROUPS: readonly PlotGroup[] = groupBy(STATE_JOINT_NAMES, (n) => {
  const side = n.startsWith('left_') ? 'left' : 'right';
  return n.includes('_arm_') ? `${side} arm` : `${side} ${fingerOf(n) ?? 'hand'}`;
});

/** The 88 action entries: arms and flange poses whole, hands and fingertips finger by finger. */
export const ACTION_PLOT_GROUPS: readonly PlotGroup[] = groupBy(
  ACTION_ENTRIES.map((e) => e.name),
  (n) => {
    const e = ACTION_ENTRIES.find((x) => x.name === n)!;
    const finger = fingerOf(`${n}_`);
    return finger && (e.group.endsWith('hand') || e.group.endsWith('fingertips')) ? `${e.group} · ${finger}` : e.group;
  },
);
