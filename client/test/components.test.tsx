/** Components rendered to markup (their live behaviour runs in the browser tests). */
import { ACTION_ENTRIES } from '@dexbridge/retarget';
import { createDecodedRobotState } from '@dexbridge/server/protocol';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { copyState, describeEvent } from '../src/store/live.js';
import { ExportPanel } from '../src/recordings/ExportPanel.js';
import { ActionInspector } from '../src/ui/ActionInspector.js';

describe('ActionInspector', () => {
  it('lists all 88 entries, grouped, each with its index, name and unit', () => {
    const html = renderToStaticMarkup(<ActionInspector action={() => undefined} />);
    expect(html.match(/<tr /g)).toHaveLength(88);
    for (const e of ACTION_ENTRIES) {
      expect(html).toContain(`<td class="ix">${e.index}</td><td>${e.name.replace(/^(left|right)_/, '')}</td>`);
    }
    expect(new Set(ACTION_ENTRIES.map((e) => e.group)).size).toBe(html.match(/<caption>/g)?.length);
    expect(html).toContain('<td class="unit">rad</td>');
    expect(html).toContain('<td class="unit">m</td>');
  });
});

describe('ExportPanel', () => {
  it('counts the successful recordings and needs the operator token to export', () => {
    const recs = [
      { name: 'a.mcap', sizeBytes: 1, startedAt: null, durationS: 1, operator: null, task: null, success: true, complete: true, recording: false },
      { name: 'b.mcap', sizeBytes: 1, startedAt: null, durationS: 1, operator: null, task: null, success: false, complete: true, recording: false },
      { name: 'c.mcap', sizeBytes: 1, startedAt: null, durationS: null, operator: null, task: null, success: true, complete: false, recording: false },
    ];
    const viewer = renderToStaticMarkup(<ExportPanel token={undefined} recordings={recs} />);
    expect(viewer).toContain('1 recordings marked successful');
    expect(viewer).toMatch(/<button type="button" disabled="" title="needs the operator token">Export<\/button>/);
    const operator = renderToStaticMarkup(<ExportPanel token="t" recordings={recs} />);
    expect(operator).toMatch(/<button type="button" title="">Export<\/button>/);
  });
});

describe('live store helpers', () => {
  it('describes an event in one line, leaving out empty fields', () => {
    expect(describeEvent({ type: 'event', event: 'engage', serverTimeMs: 1, detail: { side: 'left', by: 'quest', x: null } })).toBe('engage side=left by=quest');
    expect(describeEvent({ type: 'event', event: 'tracking', serverTimeMs: 1, detail: { lost: { left: true } } })).toBe('tracking lost={"left":true}');
  });

  it('copies a decoded state completely, so the decoder can reuse its buffers', () => {
    const a = createDecodedRobotState();
    a.seq = 7;
    a.mode = 'policy';
    a.estopLatched = true;
    a.status.left.hold = 'implausible_size';
    a.status.right.arm.status = 'max_iterations';
    a.commanded.fill(0.5);
    a.action.fill(0.25);
    a.measured.fill(0.125);
    const b = createDecodedRobotState();
    copyState(a, b);
    expect(b).toEqual(a);
    a.commanded[0] = 9;
    a.status.left.hold = 'none';
    expect(b.commanded[0]).toBe(0.5);
    expect(b.status.left.hold).toBe('implausible_size');
  });
});
