import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../src/recordings/loadRecording.js';
import { markerSpans } from '../src/recordings/markers.js';

const ev = (t: number, event: string): RecordedEvent => ({ t, event, detail: {} });

describe('timeline markers', () => {
  const events = [ev(0.1, 'engage'), ev(1, 'tracking'), ev(1.3, 'tracking'), ev(1.9, 'tracking'), ev(5, 'tracking'), ev(2, 'estop'), ev(2.1, 'estop_reset'), ev(3, 'chunk')];

  it('merges each kind’s bursts into spans and groups e-stop with its reset; unknown events are left out', () => {
    const spans = markerSpans(events);
    expect(spans.map((s) => [s.kind.key, s.t0, s.t1, s.events.length])).toEqual([
      ['engage', 0.1, 0.1, 1],
      ['tracking', 1, 1.9, 3],
      ['safety', 2, 2.1, 2],
      ['tracking', 5, 5, 1],
    ]);
  });

  it('filters kinds out', () => {
    expect(markerSpans(events, new Set(['safety'])).map((s) => s.kind.key)).toEqual(['safety']);
  });
});
