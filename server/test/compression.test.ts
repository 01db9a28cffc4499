/**
 * Compressed recordings (issue 10, finding 8): the server's chunks are zstd, on by default, and
 * every reader decodes them.
 */
import { readdirSync, readFileSync, } from 'node:fs';
import { join } from 'node:path';
import { ACTION_DIM, parseHandFramesJsonl, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { McapIndexedReader } from '@mcap/core';
import { describe, expect, it } from 'vitest';
import { FileReadable, loadZstdCompressor, MemorySink, Recorder, readRecording, ZSTD_DECOMPRESS_HANDLERS } from '../src/recording/index.js';
import { recordDemo } from './support/recordDemo.js';
import { tempDirs } from './support/tempDirs.js';

const tmp = tempDirs('zstd');
const frames = parseHandFramesJsonl(readFileSync(new URL('../data/quest3-hands.jsonl', import.meta.url), 'utf8')).slice(0, 300);

/** Three seconds of a session at 90 Hz into memory, compressed or not. */
async function session(compressed: boolean): Promise<number> {
  const sink = new MemorySink();
  const r = await Recorder.open(sink, {
    softwareVersion: 'test', startedAtIso: new Date(0).toISOString(), urdf: rigUrdf(), flushIntervalMs: 0, chunkSizeBytes: 128 * 1024,
    ...(compressed ? { compressChunk: await loadZstdCompressor() } : {}),
  });
  const q = new Float64Array(STATE_JOINT_NAMES.length);
  const action = new Float64Array(ACTION_DIM);
  frames.forEach((f, i) => {
    const t = 1_800_000_000_000 + i * 11.1;
    q.fill(Math.sin(i / 40));
    action.fill(Math.cos(i / 40));
    r.writeHandFrame(t, i, f.left, f.right, f.tMs);
    r.writeJointState(t, q);
    r.writeAction(t, action);
  });
  await r.close();
  return sink.bytes().length;
}

describe('zstd recordings', () => {
  it('the server records zstd chunks by default, and the indexed reader reads them with the zstd handler', async () => {
    const dir = tmp();
    await recordDemo(dir, 60);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.mcap'))!);
    const readable = await FileReadable.open(file);
    try {
      const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: ZSTD_DECOMPRESS_HANDLERS });
      expect(reader.chunkIndexes.length).toBeGreaterThan(0);
      expect(reader.chunkIndexes.every((c) => c.compression === 'zstd' && c.compressedSize < c.uncompressedSize)).toBe(true);
      let n = 0;
      for await (const _m of reader.readMessages()) n++;
      expect(n).toBeGreaterThan(20);
    } finally {
      await readable.close();
    }
    const recording = await readRecording(file);
    await recording.close();
    expect(recording.metadata['dexbridge']?.['complete']).toBe('true');
  });

  it('a reader without a zstd decoder cannot read the messages (the chunks really are compressed)', async () => {
    const dir = tmp();
    await recordDemo(dir, 30);
    const readable = await FileReadable.open(join(dir, readdirSync(dir).find((n) => n.endsWith('.mcap'))!));
    try {
      const reader = await McapIndexedReader.Initialize({ readable });
      await expect((async () => {
        for await (const _m of reader.readMessages()) break;
      })()).rejects.toThrow(/zstd/);
    } finally {
      await readable.close();
    }
  });

  it('compresses a session to less than a third of its size', async () => {
    const [plain, zstd] = [await session(false), await session(true)];
    console.log(`3 s session: ${plain} bytes plain, ${zstd} bytes zstd (${((100 * zstd) / plain).toFixed(0)} %)`);
    expect(zstd).toBeLessThan(plain / 3);
  });

  it('refuses a zstd level outside 1..22', async () => {
    await expect(loadZstdCompressor(0)).rejects.toThrow(RangeError);
  });
});
