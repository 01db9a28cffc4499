import { ACTION_DIM, XR_HAND_LENGTH } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { describe, expect, it } from 'vitest';
import {
  decodeActionBlock,
  decodeHandBlock,
  decodeRowBlock,
  encodeRowBlock,
  HAND_BLOCK_COLUMNS,
  ROW_BLOCK_ENCODING,
  RowBlockBuilder,
} from '../src/protocol/index.js';
import { decodeActionMessage, decodeHandFrameMessage, MemorySink, Recorder, type RecordingError } from '../src/recording/index.js';

/** A small deterministic generator, so a failure names values that can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('row blocks (docs/recording.md)', () => {
  it('round-trips integers exactly: smooth columns, noise, jumps, both signs, up to ±2^50', () => {
    const random = lcg(7);
    for (const [columns, rows] of [[1, 1], [3, 2], [404, 45], [89, 256], [5, 0]] as const) {
      const values = new Float64Array(columns * rows);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          const kind = c % 4;
          values[r * columns + c] =
            kind === 0 ? 1_800_000_000_000_000 + r * 11_111 : kind === 1 ? Math.round((random() - 0.5) * 2e4) : kind === 2 ? Math.round(Math.sin(r / 9) * 1e6) : (r % 7 === 0 ? -1 : 1) * 2 ** 50;
        }
      }
      const block = decodeRowBlock(encodeRowBlock(columns, rows, values), columns);
      expect([block.columns, block.rows]).toEqual([columns, rows]);
      expect(block.values).toEqual(values);
    }
  });

  it('is small for smooth motion: a linear column costs one byte a row', () => {
    const rows = 100;
    const values = Float64Array.from({ length: rows }, (_, r) => 1_000_000 + 250 * r);
    expect(encodeRowBlock(1, rows, values).length).toBeLessThanOrEqual(3 + 4 + rows);
  });

  it('refuses what it cannot store exactly, naming it', () => {
    expect(() => encodeRowBlock(2, 1, [1, 0.5])).toThrow(/row 0 column 1 is 0.5/);
    expect(() => encodeRowBlock(1, 1, [2 ** 53])).toThrow(/not an integer within ±2\^52/);
    expect(() => encodeRowBlock(1, 3, [0, 2 ** 52, -(2 ** 52)])).toThrow(/row 2 column 0 jumps by/);
    expect(() => encodeRowBlock(2, 2, [1, 2, 3])).toThrow(/3 values do not make 2 rows of 2 columns/);
  });

  it('refuses malformed bytes with a RangeError, never a huge allocation or a hang', () => {
    const good = encodeRowBlock(2, 3, [1, 2, 3, 4, 5, 6]);
    expect(() => decodeRowBlock(new Uint8Array([2, 1, 1, 0]))).toThrow(/version 2/);
    const wide = encodeRowBlock(1, 2, [1_000_000, 3]);
    expect(() => decodeRowBlock(wide.subarray(0, 5))).toThrow(/truncated/);
    expect(() => decodeRowBlock(new Uint8Array([...good, 0]))).toThrow(/1 bytes after the last value/);
    expect(() => decodeRowBlock(good, 3)).toThrow(/2 columns, expected 3/);
    // 2^40 rows claimed in a few bytes.
    expect(() => decodeRowBlock(new Uint8Array([1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0]))).toThrow(/do not fit/);
    expect(() => decodeRowBlock(new Uint8Array([1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(/longer than 8 bytes/);
    expect(() => decodeHandBlock(good)).toThrow(new RegExp(`expected ${HAND_BLOCK_COLUMNS}`));
  });

  it('the builder grows past its first allocation and starts over after take', () => {
    const b = new RowBlockBuilder(2, 1);
    for (let i = 0; i < 10; i++) b.addRow().set([i, -i]);
    expect(b.last(1)).toBe(-9);
    const bytes = b.take()!;
    expect(b.rows).toBe(0);
    expect(b.take()).toBeUndefined();
    expect(decodeRowBlock(bytes).values).toEqual(Float64Array.from({ length: 20 }, (_, k) => (k % 2 === 0 ? k / 2 : 0 - (k - 1) / 2)));
  });
});

describe('recordings made before row blocks still read', () => {
  const utf8 = new TextEncoder();
  it('a JSON hand frame and a JSON action decode as one row each', () => {
    const left = Array.from({ length: XR_HAND_LENGTH }, (_, i) => i / 1000);
    const frames = decodeHandFrameMessage(utf8.encode(JSON.stringify({ t_ms: 12.5, seq: 3, left, right: null })), 'json', 'old frame');
    expect(frames).toEqual([{ tMs: 12.5, seq: 3, left: Float64Array.from(left), right: null }]);
    const action = Array.from({ length: ACTION_DIM }, (_, i) => i / 7);
    expect(decodeActionMessage(utf8.encode(JSON.stringify({ t_ms: 5, action })), 'json', 99, 'old action')).toEqual([{ logTimeMs: 99, action: Float64Array.from(action) }]);
    expect(() => decodeActionMessage(utf8.encode('{"action":[1]}'), 'json', 0, 'old action')).toThrow(/old action: "action" must be 88 finite numbers/);
    expect(() => decodeHandFrameMessage(new Uint8Array([9, 9]), ROW_BLOCK_ENCODING, 'new frame')).toThrow(/new frame: row block: version 9/);
  });
});

describe('the recorder and row blocks', () => {
  it('drops the rows of a block it cannot encode, reports RECORDING_BAD_INPUT, and keeps recording', async () => {
    const sink = new MemorySink();
    const errors: RecordingError[] = [];
    const recorder = await Recorder.open(sink, { softwareVersion: 't', startedAtIso: '2025-01-01T00:00:00Z', urdf: rigUrdf(), flushIntervalMs: 0, onError: (e) => errors.push(e) });
    const hand = new Float64Array(XR_HAND_LENGTH);
    // A headset clock that swings by ±4e12 ms between frames: valid frame by frame, not as a block.
    expect(recorder.writeHandFrame(1000, 0, hand, null, -4e12)).toBe(true);
    expect(recorder.writeHandFrame(1001, 1, hand, null, 4e12)).toBe(true);
    expect(recorder.writeHandFrame(1002, 2, hand, null, -4e12)).toBe(true);
    expect(recorder.writeAction(1000, new Float64Array(ACTION_DIM).fill(0.25))).toBe(true);
    await recorder.flush();
    await Promise.resolve();
    expect(errors.map((e) => [e.code, e.message])).toEqual([['RECORDING_BAD_INPUT', expect.stringMatching(/^recording: \/dexbridge\/hand_frames: row block: row 1 column 1 jumps by 8000000000000000, beyond ±2\^52; the rows since the last flush were dropped$/)]]);
    expect(recorder.writeHandFrame(1003, 3, hand, null, 5)).toBe(true);
    const stats = await recorder.close();
    expect(stats.rejected).toBe(3);
    expect(recorder.failed).toBe(false);
    const { McapIndexedReader } = await import('@mcap/core');
    const bytes = sink.bytes();
    const reader = await McapIndexedReader.Initialize({ readable: { size: async () => BigInt(bytes.length), read: async (o, n) => bytes.subarray(Number(o), Number(o + n)) } });
    const seqs: number[] = [];
    const actions: number[] = [];
    for await (const m of reader.readMessages()) {
      const topic = reader.channelsById.get(m.channelId)!.topic;
      if (topic === '/dexbridge/hand_frames') seqs.push(...decodeHandBlock(m.data).map((f) => f.seq));
      if (topic === '/dexbridge/action') actions.push(...decodeActionBlock(m.data).map((a) => a.action[0]!));
    }
    expect(seqs).toEqual([3]);
    expect(actions).toEqual([0.25]);
  });

  it('refuses hand and action numbers beyond ±1e6 and headset times beyond ±4e12 ms when they are written', async () => {
    const recorder = await Recorder.open(new MemorySink(), { softwareVersion: 't', startedAtIso: '2025-01-01T00:00:00Z', urdf: rigUrdf(), flushIntervalMs: 0 });
    expect(recorder.writeHandFrame(1, 0, new Float64Array(XR_HAND_LENGTH).fill(2e6), null)).toBe(false);
    expect(recorder.writeHandFrame(1, 0, null, null, 5e12)).toBe(false);
    expect(recorder.writeHandFrame(1, -1, null, null)).toBe(false);
    expect(recorder.writeAction(1, new Float64Array(ACTION_DIM).fill(-2e6))).toBe(false);
    expect((await recorder.close()).rejected).toBe(4);
  });
});
