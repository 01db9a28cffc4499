/** The browser's recording reader on a file the server's own recorder wrote. */
import { readFileSync } from 'node:fs';
import { ACTION_DIM, parseHandFramesJsonl } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { loadZstdCompressor, MemorySink, Recorder } from '@dexbridge/server';
import { describe, expect, it } from 'vitest';
import { indexAt, parseRecording, reRetarget } from '../src/recordings/loadRecording.js';

const frames = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).slice(0, 120);
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

async function record(compressed = false): Promise<Uint8Array> {
  const sink = new MemorySink();
  const r = await Recorder.open(sink, {
    softwareVersion: 'test', startedAtIso: new Date(T0).toISOString(), urdf: rigUrdf(), operator: 'unit', task: 'pick',
    ...(compressed ? { compressChunk: await loadZstdCompressor() } : {}),
  });
  frames.forEach((f, i) => {
    const t = T0 + i * 11;
    r.writeHandFrame(t, i + 1, f.left, f.right, f.tMs);
    const action = new Float32Array(ACTION_DIM).fill(i / 1000);
    r.writeAction(t, action);
    if (i === 30) r.writeEvent(t, 'engage', { by: 'unit' });
  });
  await r.close();
  return sink.bytes();
}

describe('recordings in the browser', () => {
  it('reads a recording whose chunks are zstd-compressed, as the server writes them', async () => {
    const bytes = await record(true);
    expect(new TextDecoder().decode(bytes)).toContain('zstd');
    const rec = await parseRecording('z.mcap', bytes, () => undefined);
    expect(rec.t.length).toBe(frames.length);
    expect(rec.frames).toHaveLength(frames.length);
    expect(rec.actions[50 * ACTION_DIM + 7]).toBeCloseTo(0.05, 6);
  });

  it('reads actions, events and hand frames with their times from an MCAP the recorder wrote', async () => {
    const bytes = await record();
    const progress: number[] = [];
    const rec = await parseRecording('x.mcap', bytes, (f) => progress.push(f));
    expect(rec.t.length).toBe(frames.length);
    expect(rec.actions.length).toBe(frames.length * ACTION_DIM);
    expect(rec.t[0]).toBe(0);
    expect(rec.t[10]).toBeCloseTo(0.11, 6);
    expect(rec.actions[50 * ACTION_DIM + 7]).toBeCloseTo(0.05, 6);
    expect(rec.durationS).toBeCloseTo((frames.length - 1) * 0.011, 6);
    expect(rec.events.find((e) => e.event === 'engage')).toMatchObject({ detail: { by: 'unit' } });
    expect(rec.events.find((e) => e.event === 'engage')!.t).toBeCloseTo(0.33, 6);
    expect(rec.frames).toHaveLength(frames.length);
    expect(rec.frames[3]!.tMs).toBe(frames[3]!.tMs);
    expect(rec.metadata['operator']).toBe('unit');
    expect(progress.at(-1)).toBe(1);
  });

  it('re-retargets the recorded hands with other parameters: other actions on the same timeline', async () => {
    const rec = await parseRecording('x.mcap', await record(), () => {});
    const a = await reRetarget(rec, { handScale: 'auto', translationScale: 1 }, () => {});
    const b = await reRetarget(rec, { handScale: 1.4, translationScale: 1 }, () => {});
    expect(a.t.length).toBe(frames.length);
    expect(Array.from(a.t)).toEqual(Array.from(rec.frames.map((f) => f.t)));
    expect(a.actions.every(Number.isFinite)).toBe(true);
    let diff = 0;
    for (let i = 0; i < a.actions.length; i++) diff = Math.max(diff, Math.abs(a.actions[i]! - b.actions[i]!));
    expect(diff).toBeGreaterThan(0.01);
  });

  it('finds the sample at a time by binary search', () => {
    const t = Float64Array.of(0, 1, 2, 3);
    expect([indexAt(t, -1), indexAt(t, 0), indexAt(t, 0.5), indexAt(t, 2), indexAt(t, 2.99), indexAt(t, 9)]).toEqual([0, 0, 0, 2, 2, 3]);
    expect(indexAt(new Float64Array(0), 1)).toBe(0);
  });
});

describe('recorded camera images, read by time', () => {
  /** 120 states 11 ms apart; camera `head` records an image every 100 ms from 50 ms on, whose third byte is its number. */
  async function withImages(): Promise<Uint8Array> {
    const sink = new MemorySink();
    const r = await Recorder.open(sink, { softwareVersion: 'test', startedAtIso: new Date(T0).toISOString(), urdf: rigUrdf(), cameras: ['head'], compressChunk: await loadZstdCompressor() });
    for (let i = 0; i < 120; i++) r.writeAction(T0 + i * 11, new Float32Array(ACTION_DIM));
    for (let k = 0; k < 13; k++) r.writeCameraFrame('head', T0 + 50 + k * 100, 'jpeg', Uint8Array.of(0xff, 0xd8, k, 0xff, 0xd9));
    await r.close();
    return sink.bytes();
  }

  for (const kind of ['complete (through the chunk index)', 'being recorded (no index)'] as const) {
    it(`${kind}: the newest image at or before the playhead, none before the first`, async () => {
      const full = await withImages();
      // Without its closing magic the file is read as one being written: front to back.
      const bytes = kind.startsWith('complete') ? full : full.subarray(0, full.length - 1);
      const rec = await parseRecording('c.mcap', bytes, () => undefined);
      expect(rec.partial).toBe(!kind.startsWith('complete'));
      expect(rec.images.cameras).toEqual(['head']);
      expect(await rec.images.at('head', 0.049)).toBeNull();
      const first = await rec.images.at('head', 0.05);
      expect(first).toMatchObject({ format: 'jpeg' });
      expect(first!.t).toBeCloseTo(0.05, 6);
      expect([...first!.bytes]).toEqual([0xff, 0xd8, 0, 0xff, 0xd9]);
      expect((await rec.images.at('head', 0.749))!.bytes[2]).toBe(6);
      expect((await rec.images.at('head', 0.75))!.bytes[2]).toBe(7);
      // Scrubbing back reads the earlier one again.
      expect((await rec.images.at('head', 0.3))!.bytes[2]).toBe(2);
      expect(await rec.images.at('wrist', 0.3)).toBeNull();
    });
  }
});
