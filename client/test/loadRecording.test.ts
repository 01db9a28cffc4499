/** The browser's recording reader on a file the server's own recorder wrote. */
import { readFileSync } from 'node:fs';
import { ACTION_DIM, parseHandFramesJsonl } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { loadZstdCompressor, MemorySink, Recorder } from '@dexbridge/server';
import { describe, expect, it } from 'vitest';
import { formatHandScale, indexAt, openRecording, parseHandScale, parseRecording, rangeReadable, reRetarget } from '../src/recordings/loadRecording.js';

const frames = parseHandFramesJsonl(readFileSync(new URL('../../server/data/quest3-hands.jsonl', import.meta.url), 'utf8')).slice(0, 120);
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

async function record(compressed = false, calibration?: Record<string, unknown>): Promise<Uint8Array> {
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
    if (i === 29 && calibration) r.writeCalibration(t, calibration);
  });
  await r.close();
  return sink.bytes();
}

/** A fetch over `bytes` that answers `Range: bytes=a-b` with 206 (or ignores it, like a server without ranges), counting what it sent. */
function fileServer(bytes: Uint8Array, ranges = true): { fetch: typeof fetch; sent: () => number; rangeRequests: () => number } {
  let sent = 0;
  let rangeRequests = 0;
  const f = (async (_url: string, init?: RequestInit) => {
    const range = new Headers(init?.headers).get('range');
    const m = range === null ? null : /^bytes=(\d+)-(\d+)$/.exec(range);
    if (m !== null) rangeRequests++;
    if (m === null || !ranges) {
      sent += bytes.length;
      return new Response(bytes.slice(), { status: 200 });
    }
    const part = bytes.slice(Number(m[1]), Number(m[2]) + 1);
    sent += part.length;
    return new Response(part, { status: 206 });
  }) as typeof fetch;
  return { fetch: f, sent: () => sent, rangeRequests: () => rangeRequests };
}

describe('recordings in the browser', () => {
  it('opens a complete recording by byte ranges, block by block, to the same result as the whole file', async () => {
    const bytes = await record(true);
    const whole = await parseRecording('r.mcap', bytes, () => undefined);
    const server = fileServer(bytes);
    const readable = rangeReadable('/r', bytes.length, undefined, server.fetch, 4096);
    const rec = await openRecording('r.mcap', '/r', { complete: true, recording: false, sizeBytes: bytes.length }, () => undefined, undefined, () => readable);
    expect(rec.t).toEqual(whole.t);
    expect(rec.actions).toEqual(whole.actions);
    expect(rec.frames).toEqual(whole.frames);
    expect(rec.events).toEqual(whole.events);
    expect(rec.partial).toBe(false);
    // Several 4 KiB blocks, each fetched once (they are kept), never the whole file in one answer.
    expect(readable.requests()).toBeGreaterThan(1);
    expect(server.rangeRequests()).toBe(readable.requests());
    expect(server.sent()).toBeLessThanOrEqual(bytes.length);
    // A server that ignores Range sends the file whole: still the same recording.
    const plain = fileServer(bytes, false);
    const again = await openRecording('r.mcap', '/r', { complete: true, recording: false, sizeBytes: bytes.length }, () => undefined, undefined, (n) => rangeReadable('/r', n, undefined, plain.fetch, 4096));
    expect(again.actions).toEqual(whole.actions);
  });

  it('tries a block again when the connection drops (a network error), and gives up after three', async () => {
    const bytes = await record(true);
    const server = fileServer(bytes);
    let calls = 0;
    const flaky = (async (url: string, init?: RequestInit) => {
      calls++;
      if (calls % 3 === 1) throw new TypeError('Failed to fetch'); // every block's first try
      return server.fetch(url, init);
    }) as typeof fetch;
    const rec = await openRecording('f.mcap', '/f', { complete: true, recording: false, sizeBytes: bytes.length }, () => undefined, undefined, (n) => rangeReadable('/f', n, undefined, flaky, 4096));
    expect(rec.t.length).toBe(frames.length);
    const down = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    await expect(openRecording('d.mcap', '/d', { complete: true, recording: false, sizeBytes: bytes.length }, () => undefined, undefined, (n) => rangeReadable('/d', n, undefined, down, 4096))).rejects.toThrow(/Failed to fetch/);
  });

  it('a block whose request never answers times out and is tried again, so a read never waits for ever', async () => {
    const bytes = await record(true);
    const server = fileServer(bytes);
    let hung = 0;
    const stalling = (async (url: string, init?: RequestInit) => {
      if (hung === 0) {
        // The first request is accepted and never answered: only its signal ends it.
        hung++;
        return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
      }
      return server.fetch(url, init);
    }) as typeof fetch;
    const rec = await openRecording('s.mcap', '/s', { complete: true, recording: false, sizeBytes: bytes.length }, () => undefined, undefined, (n) => rangeReadable('/s', n, undefined, stalling, 4096, 20));
    expect(hung).toBe(1);
    expect(rec.t.length).toBe(frames.length);
  });

  it('a recording still being written is downloaded and read up to its last chunk', async () => {
    const bytes = await record(true);
    const cut = bytes.subarray(0, bytes.length - 200); // no footer
    const server = fileServer(cut);
    const original = globalThis.fetch;
    globalThis.fetch = server.fetch;
    try {
      const rec = await openRecording('w.mcap', '/w', { complete: false, recording: true, sizeBytes: cut.length }, () => undefined);
      expect(rec.partial).toBe(true);
      expect(server.rangeRequests()).toBe(0);
    } finally {
      globalThis.fetch = original;
    }
  });

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

  it('takes the recorded calibration as the re-retarget parameters, digit scales per hand included', async () => {
    const digitScales = { left: [1, 1.2, 1, 1, 1], right: [0.9, 1, 1, 1, 1.1] };
    const rec = await parseRecording('x.mcap', await record(false, { handScale: 1.3, translationScale: 2, digitScales }), () => {});
    expect(rec.params).toEqual({ handScale: 1.3, translationScale: 2, digitScales });
    const withDigits = await reRetarget(rec, rec.params, () => {});
    const without = await reRetarget(rec, { handScale: 1.3, translationScale: 2 }, () => {});
    let diff = 0;
    for (let i = 0; i < without.actions.length; i++) diff = Math.max(diff, Math.abs(withDigits.actions[i]! - without.actions[i]!));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('keeps per-side hand scales (calibrate_hands measures each hand) and re-retargets each hand with its own', async () => {
    const digitScales = { left: [1, 1.2, 1, 1, 1], right: [0.9, 1, 1, 1, 1.1] };
    const rec = await parseRecording('p.mcap', await record(false, { handScale: { left: 1.1, right: 1.3 }, digitScales }), () => {});
    expect(rec.params).toEqual({ handScale: 'auto', handScales: { left: 1.1, right: 1.3 }, translationScale: 1, digitScales });
    // The form shows and reads them as left/right.
    expect(formatHandScale(rec.params)).toBe('1.1/1.3');
    expect(parseHandScale(formatHandScale(rec.params))).toEqual({ handScale: 'auto', handScales: { left: 1.1, right: 1.3 } });
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const own = await reRetarget(rec, rec.params, () => {});
    // Each hand with its own scale: neither the automatic one nor the left one for both.
    expect(maxDiff(own.actions, (await reRetarget(rec, { handScale: 'auto', translationScale: 1, digitScales }, () => {})).actions)).toBeGreaterThan(1e-3);
    expect(maxDiff(own.actions, (await reRetarget(rec, { handScale: 1.1, translationScale: 1, digitScales }, () => {})).actions)).toBeGreaterThan(1e-3);
    expect(maxDiff(own.actions, (await reRetarget(rec, { handScale: 1.1, handScales: { right: 1.3 }, translationScale: 1, digitScales }, () => {})).actions)).toBe(0);
  });

  it('leaves out a recorded calibration outside the server\'s ranges (the server would have refused it)', async () => {
    const rec = await parseRecording('o.mcap', await record(false, { handScale: 9, digitScales: { left: [1, 1, 1, 1, 1] } }), () => {});
    expect(rec.params).toEqual({ handScale: 'auto', translationScale: 1 });
    const ok = await parseRecording('k.mcap', await record(false, { handScale: 1.9 }), () => {});
    expect(ok.params).toEqual({ handScale: 1.9, translationScale: 1 });
  });

  it('reads the form\'s hand scale: auto, one number, or left/right; anything else is refused', () => {
    expect(parseHandScale('auto')).toEqual({ handScale: 'auto' });
    expect(parseHandScale(' 1.08 ')).toEqual({ handScale: 1.08 });
    expect(parseHandScale('auto/1.2')).toEqual({ handScale: 'auto', handScales: { right: 1.2 } });
    expect(parseHandScale('auto/auto')).toEqual({ handScale: 'auto' });
    for (const bad of ['', '0', '-1', 'x', '1/2/3', '1/', '/1', '1.1/0']) expect(parseHandScale(bad), bad).toBeNull();
    expect(formatHandScale({ handScale: 1.3 })).toBe('1.3');
    expect(formatHandScale({ handScale: 'auto' })).toBe('auto');
    expect(formatHandScale({ handScale: 1.2, handScales: { left: 1.05 } })).toBe('1.05/1.2');
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
