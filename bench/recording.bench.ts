/**
 * Recording size and write cost (issue 10): a minute of teleoperation at 90 Hz — the bundled Quest
 * session's hand frames (looped), the joint states and actions the retargeting makes of them, one
 * of each per tick, as the server records them — written by the server's Recorder into memory,
 * once with the default zstd chunks and once uncompressed. Chunks close every 45 ticks (the
 * recorder's 500 ms flush). Reports MB per hour, the compression ratio and the write cost per
 * message (serialising, chunking and compressing; the sink is memory, so disk time is not in it),
 * and the longest single flush (the longest the control loop's thread is held by compression).
 */
import { readFileSync } from 'node:fs';
import { createRig, type HandFrame, parseHandFramesJsonl, Retargeter } from '@dexbridge/retarget';
import { loadZstdCompressor, MemorySink, Recorder } from '@dexbridge/server';
import { rigUrdf } from '@dexbridge/urdf';
import { repoUrl, round } from './results.js';

const RATE_HZ = 90;
const SECONDS = 60;
const TICKS_PER_CHUNK = 45; // 500 ms at 90 Hz

interface Tick {
  readonly frame: HandFrame;
  readonly q: Float64Array;
  readonly action: Float64Array;
}

function ticks(): Tick[] {
  const frames = parseHandFramesJsonl(readFileSync(repoUrl('server/data/quest3-hands.jsonl'), 'utf8'));
  const rt = new Retargeter(createRig(), { autoEngage: true });
  const out: Tick[] = [];
  let lastT = Number.NEGATIVE_INFINITY;
  for (let i = 0; out.length < RATE_HZ * SECONDS; i++) {
    const f = frames[i % frames.length]!;
    // Looping restarts the headset clock: the retargeter needs increasing times.
    const frame = { ...f, tMs: Math.max(f.tMs, lastT + 1) };
    lastT = frame.tMs;
    const o = rt.process(frame);
    out.push({ frame, q: Float64Array.from(o.q), action: Float64Array.from(o.action) });
  }
  return out;
}

async function record(data: readonly Tick[], compressed: boolean): Promise<{ bytes: number; emptyBytes: number; messages: number; usPerMessage: number; maxFlushMs: number }> {
  // What every file carries once, whatever its length (header, schemas, the URDF three times,
  // metadata, summary): measured on an empty recording so a minute is not charged it 60 times.
  const empty = new MemorySink();
  await (await Recorder.open(empty, {
    softwareVersion: 'bench', startedAtIso: new Date(1_800_000_000_000).toISOString(), urdf: rigUrdf(), flushIntervalMs: 0,
    ...(compressed ? { compressChunk: await loadZstdCompressor() } : {}),
  })).close();
  const sink = new MemorySink();
  const r = await Recorder.open(sink, {
    softwareVersion: 'bench', startedAtIso: new Date(1_800_000_000_000).toISOString(), urdf: rigUrdf(), flushIntervalMs: 0,
    ...(compressed ? { compressChunk: await loadZstdCompressor() } : {}),
  });
  const t0 = 1_800_000_000_000;
  let busyMs = 0;
  let maxFlushMs = 0;
  for (let i = 0; i < data.length; i++) {
    const { frame, q, action } = data[i]!;
    const t = t0 + (i * 1000) / RATE_HZ;
    const start = performance.now();
    r.writeHandFrame(t, i, frame.left, frame.right, frame.tMs);
    r.writeJointState(t, q);
    r.writeAction(t, action);
    busyMs += performance.now() - start;
    if (i % TICKS_PER_CHUNK === TICKS_PER_CHUNK - 1) {
      const f0 = performance.now();
      const flushed = r.flush(); // closes (and compresses) the chunk synchronously, then waits for the sink
      const f = performance.now() - f0;
      busyMs += f;
      maxFlushMs = Math.max(maxFlushMs, f);
      await flushed;
    }
  }
  const stats = await r.close();
  return { bytes: sink.bytes().length, emptyBytes: empty.bytes().length, messages: stats.messages, usPerMessage: (busyMs * 1000) / stats.messages, maxFlushMs };
}

export async function runRecordingBenchmarks(): Promise<Record<string, number>> {
  const data = ticks();
  const plain = await record(data, false);
  const zstd = await record(data, true);
  const perHour = ({ bytes, emptyBytes }: { bytes: number; emptyBytes: number }): number => (((bytes - emptyBytes) / SECONDS) * 3600 + emptyBytes) / 1e6;
  const figures = {
    'recording.rate_hz': RATE_HZ,
    'recording.seconds': SECONDS,
    'recording.mb_per_hour': round(perHour(zstd)),
    'recording.mb_per_hour_uncompressed': round(perHour(plain)),
    'recording.compression_ratio': round(plain.bytes / zstd.bytes),
    'recording.write_us_per_message': round(zstd.usPerMessage),
    'recording.write_us_per_message_uncompressed': round(plain.usPerMessage),
    'recording.max_chunk_flush_ms': round(zstd.maxFlushMs),
  };
  for (const [k, v] of Object.entries(figures)) console.log(`    ${k.padEnd(44)} ${v}`);
  if (figures['recording.mb_per_hour'] > 200) console.log(`    NOTE: ${figures['recording.mb_per_hour']} MB per hour is above the 200 MB target`);
  return figures;
}
