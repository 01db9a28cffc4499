/**
 * The recording timeline's event markers: events grouped by kind (each kind its own colour, pale so
 * that it never reads as one of the plots' saturated lines), and bursts merged. Tracking and
 * watchdog events come in bursts (a hand flickering in and out of view): consecutive events of one
 * kind less than {@link MERGE_GAP_S} apart become one span, so a 4-minute session shows a few spans
 * instead of a wall of ticks.
 */
import type { RecordedEvent } from './loadRecording.js';

export interface MarkerKind {
  readonly key: string;
  readonly label: string;
  readonly color: string;
  readonly events: readonly string[];
}

/** The kinds, in legend order. */
export const MARKER_KINDS: readonly MarkerKind[] = [
  { key: 'safety', label: 'e-stop / reset', color: '#ffb3b3', events: ['estop', 'estop_reset'] },
  { key: 'engage', label: 'engage / disengage', color: '#9be7a8', events: ['engage', 'disengage'] },
  { key: 'control', label: 'mode / lease', color: '#9ec5ff', events: ['mode', 'lease'] },
  { key: 'tracking', label: 'tracking', color: '#d9c27a', events: ['tracking'] },
  { key: 'watchdog', label: 'watchdog', color: '#c9a0dc', events: ['watchdog'] },
];

/** Events of one kind closer than this are one span, s. */
export const MERGE_GAP_S = 1;

export interface MarkerSpan {
  readonly kind: MarkerKind;
  /** First and last event time, s from the start (equal for a single event). */
  readonly t0: number;
  readonly t1: number;
  /** The events in it, in time order. */
  readonly events: readonly RecordedEvent[];
}

const KIND_OF = new Map(MARKER_KINDS.flatMap((k) => k.events.map((e) => [e, k] as const)));

/** Groups events by kind and merges each kind's bursts into spans; events of other names are left out. Spans come in time order. */
export function markerSpans(events: readonly RecordedEvent[], shown: ReadonlySet<string> = new Set(MARKER_KINDS.map((k) => k.key))): MarkerSpan[] {
  const open = new Map<string, { kind: MarkerKind; t0: number; t1: number; events: RecordedEvent[] }>();
  const out: MarkerSpan[] = [];
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    const kind = KIND_OF.get(e.event);
    if (!kind || !shown.has(kind.key)) continue;
    const cur = open.get(kind.key);
    if (cur && e.t - cur.t1 < MERGE_GAP_S) {
      cur.t1 = e.t;
      cur.events.push(e);
      continue;
    }
    if (cur) out.push(cur);
    open.set(kind.key, { kind, t0: e.t, t1: e.t, events: [e] });
  }
  out.push(...open.values());
  return out.sort((a, b) => a.t0 - b.t0);
}
