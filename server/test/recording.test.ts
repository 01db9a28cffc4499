import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import type { IReadable, TypedMcapRecord } from '@mcap/core';
import {
  ACTION_DIM,
  ACTION_NAMES,
  type HandFrame,
  STATE_JOINT_NAMES,
  XR_HAND_LENGTH,
  chunkFromActions,
  parseHandFramesJsonl,
} from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRecordingFile,
  FileSink,
  handFramesFromRecording,
  JointStateEncoder,
  MemorySink,
  newRecordingPath,
  Recorder,
  type RecorderOptions,
  RecordingError,
  type RecordingSink,
  readRecording,
  recoverMcap,
  retargetInputFromRecording,
} from '../src/recording/index.js';
import { decodeActionBlock, decodeHandBlock } from '../src/protocol/index.js';
import { runCli } from './support/runCli.js';

const URDF = rigUrdf();
const STARTED = '2025-03-04T05:06:07.000Z';
const T0 = Date.parse(STARTED);
const DEMO = fileURLToPath(new URL('../data/quest3-hands.jsonl', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/record-crash.ts', import.meta.url));
const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));

const options = (extra: Partial<RecorderOptions> = {}): RecorderOptions => ({
  softwareVersion: '9.8.7',
  startedAtIso: STARTED,
  urdf: URDF,
  operator: 'alice',
  task: 'stack cups',
  flushIntervalMs: 0,
  ...extra,
});

/** `McapIndexedReader` input over bytes in memory. */
class BytesReadable implements IReadable {
  constructor(private readonly bytes: Uint8Array) {}
  async size(): Promise<bigint> {
    return BigInt(this.bytes.length);
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    return this.bytes.slice(Number(offset), Number(offset + size));
  }
}

/** An independent ROS 1 `sensor_msgs/JointState` decoder (little endian, uint32 lengths). */
function decodeJointState(bytes: Uint8Array): {
  seq: number;
  sec: number;
  nsec: number;
  frameId: string;
  name: string[];
  position: number[];
  velocity: number[];
  effort: number[];
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = (): number => {
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const str = (): string => {
    const n = u32();
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const f64s = (): number[] => {
    const n = u32();
    const out: number[] = [];
    for (let i = 0; i < n; i++, at += 8) out.push(view.getFloat64(at, true));
    return out;
  };
  const seq = u32();
  const sec = u32();
  const nsec = u32();
  const frameId = str();
  const name = Array.from({ length: u32() }, str);
  const position = f64s();
  const velocity = f64s();
  const effort = f64s();
  expect(at).toBe(bytes.length);
  return { seq, sec, nsec, frameId, name, position, velocity, effort };
}

/** The recorded value of a hand number (0.1 mm / 1e-4 grid), of a joint position (2^-16 rad), of an action number (1e-6). */
const onHandGrid = (v: number): number => Math.round(v * 1e4) / 1e4;
const onJointGrid = (v: number): number => Math.round(v * 65536) / 65536;
const onActionGrid = (v: number): number => Math.round(v * 1e6) / 1e6;

const json = (data: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;

/** Every record of a (possibly unfinished) MCAP byte stream, chunk contents included. */
function streamRecords(bytes: Uint8Array): TypedMcapRecord[] {
  const reader = new McapStreamReader();
  reader.append(bytes);
  const out: TypedMcapRecord[] = [];
  for (let r = reader.nextRecord(); r !== undefined; r = reader.nextRecord()) out.push(r);
  return out;
}

const demoFrames: HandFrame[] = parseHandFramesJsonl(readFileSync(DEMO, 'utf8')).slice(0, 120);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dexbridge-recording-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Recorder round trip (in-memory sink, McapIndexedReader)', () => {
  const sink = new MemorySink();
  const q = Float64Array.from(STATE_JOINT_NAMES, (_, i) => Math.sin(i) * 1.3);
  const dq = Float64Array.from(STATE_JOINT_NAMES, (_, i) => i * 0.01);
  const action = Float64Array.from({ length: ACTION_DIM }, (_, i) => (i - 40) / 37);
  const chunk = chunkFromActions([action, action.map((v) => v / 2)], T0 + 500, 20);
  const tracked = demoFrames.find((f) => f.left !== null && f.right !== null)!;
  let reader: McapIndexedReader;
  let bytes: Uint8Array;

  beforeAll(async () => {
    const recorder = await Recorder.open(sink, options());
    expect(recorder.writeHandFrame(T0 + 10.5, 7, tracked.left, tracked.right, 123.25)).toBe(true);
    expect(recorder.writeHandFrame(T0 + 20, 8, null, tracked.right)).toBe(true);
    expect(recorder.writeJointState(T0 + 11, q, dq)).toBe(true);
    expect(recorder.writeJointState(T0 + 21, q)).toBe(true);
    expect(recorder.writeAction(T0 + 11, action)).toBe(true);
    expect(recorder.writeChunk(T0 + 12, chunk, 42)).toBe(true);
    expect(recorder.writeEvent(T0 + 13, 'engage', { side: 'left', offset: new Float64Array([1, 2]) })).toBe(true);
    expect(recorder.writeCalibration(T0 + 14, { handScale: { left: 1.1, right: 1.2 }, arm: { mode: 'relative' } })).toBe(true);
    recorder.setOutcome({ success: true, task: 'stack three cups' });
    const stats = await recorder.close();
    expect(stats.messages).toBe(9); // 8 writes + /robot_description (the two hand frames share one row block)
    bytes = sink.bytes();
    expect(sink.closed).toBe(true);
    reader = await McapIndexedReader.Initialize({ readable: new BytesReadable(bytes) });
  });

  it('has every channel with its schema and message encodings', () => {
    const channels = [...reader.channelsById.values()].map((c) => {
      const s = c.schemaId === 0 ? { name: '(none)', encoding: '(none)' } : reader.schemasById.get(c.schemaId)!;
      return [c.topic, s.name, s.encoding, c.messageEncoding];
    });
    expect(channels).toEqual([
      ['/dexbridge/hand_frames', '(none)', '(none)', 'dexbridge.rowblock.v1'],
      ['/dexbridge/joint_states', 'sensor_msgs/JointState', 'ros1msg', 'ros1'],
      ['/dexbridge/action', '(none)', '(none)', 'dexbridge.rowblock.v1'],
      ['/dexbridge/action_chunks', 'dexbridge.ActionChunk', 'jsonschema', 'json'],
      ['/dexbridge/events', 'dexbridge.Event', 'jsonschema', 'json'],
      ['/dexbridge/calibration', 'dexbridge.Calibration', 'jsonschema', 'json'],
      ['/robot_description', 'std_msgs/String', 'ros1msg', 'ros1'],
    ]);
  });

  it('stores JSON Schemas whose every property has a type Foxglove/Lichtblick can map', () => {
    for (const schema of reader.schemasById.values()) {
      if (schema.encoding !== 'jsonschema') continue;
      const s = json(schema.data) as { type: string; properties: Record<string, { type: string; items?: { type: string }; properties?: object }> };
      expect(s.type).toBe('object');
      for (const [name, p] of Object.entries(s.properties)) {
        expect(['number', 'integer', 'string', 'boolean', 'array', 'object'], `${schema.name}.${name}`).toContain(p.type);
        if (p.type === 'array') expect(p.items?.type).toBe('number');
        if (p.type === 'object') expect(p.properties).toEqual({});
      }
    }
  });

  it('stores the JointState definition with its std_msgs/Header dependency', () => {
    const schema = [...reader.schemasById.values()].find((s) => s.name === 'sensor_msgs/JointState')!;
    const text = new TextDecoder().decode(schema.data);
    const [main, dep] = text.split(`${'='.repeat(80)}\n`);
    expect(main).toMatch(/^Header header$/m);
    expect(main).toMatch(/^string\[\] name\nfloat64\[\] position\nfloat64\[\] velocity\nfloat64\[\] effort$/m);
    expect(dep).toMatch(/^MSG: std_msgs\/Header\n/);
    expect(dep).toMatch(/^uint32 seq$/m);
    expect(dep).toMatch(/^time stamp$/m);
    expect(dep).toMatch(/^string frame_id$/m);
  });

  it('decodes the ROS 1 JointState messages: names, positions, velocities, header stamp', async () => {
    const messages = [];
    for await (const m of reader.readMessages({ topics: ['/dexbridge/joint_states'] })) messages.push(m);
    expect(messages).toHaveLength(2);
    const [a, b] = messages.map((m) => decodeJointState(m.data));
    expect(a!.name).toEqual(STATE_JOINT_NAMES);
    // On the 2^-16 rad grid: within half a step of what was written.
    expect(a!.position).toEqual(Array.from(q, onJointGrid));
    expect(a!.velocity).toEqual(Array.from(dq, onJointGrid));
    for (const [i, v] of a!.position.entries()) expect(Math.abs(v - q[i]!)).toBeLessThanOrEqual(2 ** -17);
    expect(a!.effort).toEqual([]);
    expect(b!.velocity).toEqual([]);
    expect([a!.seq, b!.seq]).toEqual([0, 1]);
    expect(a!.frameId).toBe('');
    expect(a!.sec).toBe(Math.floor((T0 + 11) / 1000));
    expect(a!.nsec).toBe(((T0 + 11) % 1000) * 1e6);
    expect(messages[0]!.logTime).toBe(BigInt(T0 + 11) * 1_000_000n);
    expect(messages[0]!.publishTime).toBe(messages[0]!.logTime);
  });

  it('decodes the hand frames on their 0.1 mm grid, null for an untracked hand, from one row block', async () => {
    const messages = [];
    for await (const m of reader.readMessages({ topics: ['/dexbridge/hand_frames'] })) messages.push(m);
    expect(messages.map((m) => m.logTime)).toEqual([BigInt(T0 + 10) * 1_000_000n + 500_000n]); // logged at its first row
    const [a, b] = decodeHandBlock(messages[0]!.data);
    expect(a).toEqual({ logTimeMs: T0 + 10.5, tMs: 123.25, seq: 7, left: Float64Array.from(tracked.left!, onHandGrid), right: Float64Array.from(tracked.right!, onHandGrid) });
    expect(b).toEqual({ logTimeMs: T0 + 20, tMs: T0 + 20, seq: 8, left: null, right: Float64Array.from(tracked.right!, onHandGrid) });
    for (const [i, v] of a!.left!.entries()) expect(Math.abs(v - tracked.left![i]!)).toBeLessThanOrEqual(0.5e-4 + 1e-12);
  });

  it('decodes action, chunk, event and calibration messages', async () => {
    const byTopic = new Map<string, Record<string, unknown>[]>();
    for await (const m of reader.readMessages()) {
      const topic = reader.channelsById.get(m.channelId)!.topic;
      if (reader.channelsById.get(m.channelId)!.messageEncoding !== 'json') continue;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), json(m.data)]);
    }
    // Actions are recorded to 1e-6 (they are float32 on the wire: nothing measurable is lost), in row blocks.
    const actions = [];
    for await (const m of reader.readMessages({ topics: ['/dexbridge/action'] })) actions.push(...decodeActionBlock(m.data));
    expect(actions).toEqual([{ logTimeMs: T0 + 11, action: Float64Array.from(action, onActionGrid) }]);
    expect(byTopic.has('/dexbridge/action')).toBe(false);
    expect(byTopic.get('/dexbridge/action_chunks')).toEqual([
      { t_ms: T0 + 12, chunk_id: 42, start_time_ms: T0 + 500, period_ms: 20, k: 2, data: Array.from(chunk.data) },
    ]);
    expect(byTopic.get('/dexbridge/events')).toEqual([{ t_ms: T0 + 13, event: 'engage', detail: { side: 'left', offset: [1, 2] } }]);
    expect(byTopic.get('/dexbridge/calibration')).toEqual([
      { t_ms: T0 + 14, calibration: { handScale: { left: 1.1, right: 1.2 }, arm: { mode: 'relative' } } },
    ]);
  });

  it('names the 88 action entries in the action channel metadata', () => {
    const channel = [...reader.channelsById.values()].find((c) => c.topic === '/dexbridge/action')!;
    expect(channel.metadata.get('action_names')?.split(',')).toEqual(ACTION_NAMES);
  });

  it('holds the URDF as an attachment, a metadata entry and a /robot_description message', async () => {
    const attachments = [];
    for await (const a of reader.readAttachments()) attachments.push(a);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]!.name).toBe('dexbridge_rig.urdf');
    expect(attachments[0]!.mediaType).toBe('application/xml');
    expect(attachments[0]!.logTime).toBe(BigInt(T0) * 1_000_000n);
    expect(new TextDecoder().decode(attachments[0]!.data)).toBe(URDF);
    const descriptions = [];
    for await (const m of reader.readMetadata({ name: 'robot_description' })) descriptions.push(m);
    expect(descriptions.map((m) => m.metadata.get('urdf'))).toEqual([URDF]);
    const messages = [];
    for await (const m of reader.readMessages({ topics: ['/robot_description'] })) messages.push(m);
    expect(messages).toHaveLength(1);
    const data = messages[0]!.data;
    const length = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
    expect(length).toBe(data.length - 4);
    expect(new TextDecoder().decode(data.subarray(4))).toBe(URDF);
  });

  it('writes the session metadata at the start and, with the outcome, at the end', async () => {
    const records = [];
    for await (const m of reader.readMetadata({ name: 'dexbridge' })) records.push(Object.fromEntries(m.metadata));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ operator: 'alice', task: 'stack cups', success: 'unknown', complete: 'false' });
    expect(records[1]).toMatchObject({
      operator: 'alice',
      task: 'stack three cups',
      success: 'true',
      software_version: '9.8.7',
      started_at: STARTED,
      complete: 'true',
    });
    expect(Date.parse(records[1]!['ended_at']!)).toBeGreaterThan(0);
  });

  it('keeps statistics, chunk indexes and a data-section CRC that agree with the bytes', () => {
    expect(reader.statistics?.messageCount).toBe(8n); // one hand-frame block for two frames
    expect(reader.statistics?.channelCount).toBe(7);
    expect(reader.statistics?.attachmentCount).toBe(1);
    expect(reader.statistics?.metadataCount).toBe(3);
    expect(reader.chunkIndexes.length).toBe(reader.statistics?.chunkCount);
    expect(reader.header.library).toBe('dexbridge 9.8.7');
    expect(reader.dataSectionCrc).toBe(zlibCrc32(bytes.subarray(0, Number(reader.dataEndOffset))));
  });
});

describe('Recorder flush policy', () => {
  it('closes the open chunk on the timer, although it is far below chunkSizeBytes', async () => {
    const sink = new MemorySink();
    const recorder = await Recorder.open(sink, options({ flushIntervalMs: 40, chunkSizeBytes: 64 * 1024 * 1024 }));
    const actionMessages = (): number =>
      streamRecords(sink.bytes()).filter((r) => r.type === 'Message' && r.channelId === 2).length;
    const flushesBefore = sink.flushes;
    recorder.writeAction(T0 + 1, new Float64Array(ACTION_DIM));
    await new Promise((r) => setTimeout(r, 5));
    expect(actionMessages()).toBe(0); // still in the open chunk
    await new Promise((r) => setTimeout(r, 150));
    expect(actionMessages()).toBe(1);
    expect(sink.flushes).toBeGreaterThan(flushesBefore);
    await recorder.close();
  });

  it('closes a chunk as soon as it reaches chunkSizeBytes', async () => {
    const sink = new MemorySink();
    const recorder = await Recorder.open(sink, options({ chunkSizeBytes: 16 * 1024 }));
    const q = new Float64Array(STATE_JOINT_NAMES.length);
    for (let i = 0; i < 40; i++) recorder.writeJointState(T0 + i * 10, q); // ~1.7 kB each
    expect(recorder.stats.chunks).toBeGreaterThanOrEqual(1 + 3); // the opening chunk, then 16 kB each
    await recorder.close();
    const reader = await McapIndexedReader.Initialize({ readable: new BytesReadable(sink.bytes()) });
    const jointChunks = reader.chunkIndexes.filter((c) => c.messageIndexOffsets.has(1)); // channel 1: joint states
    expect(jointChunks.length).toBeGreaterThanOrEqual(3);
    for (const c of jointChunks) expect(c.uncompressedSize).toBeLessThan(16 * 1024 + 2 * 1024); // limit + one message
  });

  it('writes the hand-frame and action rows as one block per flush, and every 256 rows without one', async () => {
    const sink = new MemorySink();
    const recorder = await Recorder.open(sink, options());
    const blocks = (channelId: number): number => streamRecords(sink.bytes()).filter((r) => r.type === 'Message' && r.channelId === channelId).length;
    for (let i = 0; i < 255; i++) recorder.writeAction(T0 + i, new Float64Array(ACTION_DIM).fill(i / 1000));
    await recorder.flush();
    expect(blocks(2)).toBe(1);
    for (let i = 0; i < 256; i++) recorder.writeHandFrame(T0 + 300 + i, i, demoFrames[i % 100]!.left, null);
    recorder.writeHandFrame(T0 + 600, 256, null, null);
    await recorder.flush();
    expect(blocks(0)).toBe(2); // 256 rows, then the one after
    await recorder.close();
    const rows: number[] = [];
    for (const r of streamRecords(sink.bytes())) if (r.type === 'Message' && r.channelId === 0) rows.push(decodeHandBlock(r.data).length);
    expect(rows).toEqual([256, 1]);
  });
});

describe('Recorder failures never reach the caller', () => {
  /** A sink whose writes fail in the given way once `broken` is set. */
  class BreakingSink implements RecordingSink {
    closed = false;
    constructor(
      private readonly mode: 'reject' | 'throw' | 'hang',
      public broken = false,
    ) {}
    write(_bytes: Uint8Array): Promise<void> {
      if (!this.broken) return Promise.resolve();
      if (this.mode === 'throw') throw new Error('EIO: i/o error, write');
      if (this.mode === 'hang') return new Promise(() => undefined);
      return Promise.reject(new Error('ENOSPC: no space left on device, write'));
    }
    position(): bigint {
      return 0n;
    }
    async close(): Promise<void> {
      this.closed = true;
    }
  }

  for (const mode of ['reject', 'throw'] as const) {
    it(`sets failed and calls onError once when the sink's write ${mode === 'reject' ? 'rejects' : 'throws'}`, async () => {
      const sink = new BreakingSink(mode);
      const errors: RecordingError[] = [];
      const recorder = await Recorder.open(sink, options({ onError: (e) => errors.push(e) }));
      sink.broken = true;
      expect(recorder.writeAction(T0 + 1, new Float64Array(ACTION_DIM))).toBe(true);
      await recorder.flush(); // never rejects
      expect(recorder.failed).toBe(true);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(RecordingError);
      expect(errors[0]!.code).toBe('RECORDING_SINK_FAILED');
      expect(errors[0]!.message).toMatch(/^recording: the sink failed to write: (ENOSPC|EIO)/);
      expect(recorder.writeAction(T0 + 2, new Float64Array(ACTION_DIM))).toBe(false);
      expect(recorder.writeHandFrame(T0 + 2, 1, null, null)).toBe(false);
      await expect(recorder.close()).rejects.toBe(errors[0]);
      expect(sink.closed).toBe(true);
      expect(errors).toHaveLength(1);
    });
  }

  it('fails with RECORDING_SINK_STALLED when writes pile up behind a stuck sink, and close() still returns', async () => {
    const sink = new BreakingSink('hang');
    const errors: RecordingError[] = [];
    const maxQueuedBytes = 1024 * 1024;
    const recorder = await Recorder.open(sink, options({ onError: (e) => errors.push(e), chunkSizeBytes: 8 * 1024, maxQueuedBytes }));
    sink.broken = true;
    let accepted = 0;
    const q = new Float64Array(STATE_JOINT_NAMES.length);
    for (let i = 0; i < 2000 && recorder.writeJointState(T0 + i, q); i++) accepted++;
    expect(recorder.failed).toBe(true);
    // It failed only once the queue held more than the limit (a message plus its MCAP record and index entry each).
    expect(accepted * (new JointStateEncoder(STATE_JOINT_NAMES).encode(0, 0, 0, q).length + 64)).toBeGreaterThan(maxQueuedBytes);
    await Promise.resolve();
    expect(errors.map((e) => e.code)).toEqual(['RECORDING_SINK_STALLED']);
    await expect(recorder.close()).rejects.toThrow(/more than maxQueuedBytes = 1048576/);
    expect(sink.closed).toBe(true);
  });

  it('rejects open() when the sink fails while the file is started, and closes the sink', async () => {
    const sink = new BreakingSink('reject', true);
    const errors: RecordingError[] = [];
    await expect(Recorder.open(sink, options({ onError: (e) => errors.push(e) }))).rejects.toMatchObject({ code: 'RECORDING_SINK_FAILED' });
    expect(sink.closed).toBe(true);
    expect(errors).toEqual([]);
  });

  it('drops a write with bad arguments, reports it once per topic, asynchronously, and keeps recording', async () => {
    const sink = new MemorySink();
    const errors: RecordingError[] = [];
    const recorder = await Recorder.open(sink, options({ onError: (e) => errors.push(e) }));
    expect(recorder.writeJointState(T0, new Float64Array(55))).toBe(false);
    expect(errors).toEqual([]); // not inside the caller's call
    await Promise.resolve();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['RECORDING_BAD_INPUT', expect.stringMatching(/^recording: \/dexbridge\/joint_states: position has 55 numbers, expected 56/)],
    ]);
    expect(recorder.writeJointState(T0, new Float64Array(57))).toBe(false);
    expect(recorder.writeAction(Number.NaN, new Float64Array(ACTION_DIM))).toBe(false);
    expect(recorder.writeHandFrame(T0, 1, new Float64Array(XR_HAND_LENGTH).fill(Number.NaN), null)).toBe(false);
    await Promise.resolve();
    expect(errors.map((e) => e.message.split(':')[1])).toEqual([' /dexbridge/joint_states', ' /dexbridge/action', ' /dexbridge/hand_frames']);
    expect(recorder.failed).toBe(false);
    expect(recorder.writeJointState(T0, new Float64Array(56))).toBe(true);
    const stats = await recorder.close();
    expect(stats.rejected).toBe(4);
  });

  it('validates its options by name', async () => {
    await expect(Recorder.open(new MemorySink(), options({ startedAtIso: 'yesterday' }))).rejects.toThrow(RangeError);
    await expect(Recorder.open(new MemorySink(), options({ startedAtIso: 'yesterday' }))).rejects.toThrow(/startedAtIso/);
    await expect(Recorder.open(new MemorySink(), options({ flushIntervalMs: -1 }))).rejects.toThrow(/flushIntervalMs/);
  });
});

describe('files: never overwrite, unique names', () => {
  it('FileSink.create fails on an existing path and leaves the file untouched', async () => {
    const path = join(dir, 'existing.mcap');
    writeFileSync(path, 'precious');
    const error = await FileSink.create(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordingError);
    expect(error).toMatchObject({ code: 'RECORDING_FILE_EXISTS' });
    expect((error as Error).message).toBe(`recording: ${path} already exists; recordings are never overwritten`);
    expect(readFileSync(path, 'utf8')).toBe('precious');
  });

  it('FileSink.create reports a missing folder as RECORDING_OPEN_FAILED', async () => {
    await expect(FileSink.create(join(dir, 'no', 'such', 'x.mcap'))).rejects.toMatchObject({ code: 'RECORDING_OPEN_FAILED' });
  });

  it('newRecordingPath and createRecordingFile pick the next free -n name after a restart', async () => {
    const sub = mkdtempSync(join(dir, 'names-'));
    const date = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
    const first = await newRecordingPath(sub, date);
    expect(first).toBe(join(sub, 'dexbridge-20250102-030405.mcap'));
    writeFileSync(first, 'first session');
    expect(await newRecordingPath(sub, date)).toBe(join(sub, 'dexbridge-20250102-030405-1.mcap'));
    const sink = await createRecordingFile(sub, date);
    expect(sink.path).toBe(join(sub, 'dexbridge-20250102-030405-1.mcap'));
    await sink.close();
    const next = await createRecordingFile(sub, date);
    await next.close();
    expect(next.path).toBe(join(sub, 'dexbridge-20250102-030405-2.mcap'));
    expect(readFileSync(first, 'utf8')).toBe('first session');
  });
});

describe('reading back and recovery', () => {
  let complete: string;

  beforeAll(async () => {
    const sink = await createRecordingFile(dir, new Date(T0));
    complete = sink.path;
    const recorder = await Recorder.open(sink, options());
    for (const [i, f] of demoFrames.entries()) {
      expect(recorder.writeHandFrame(T0 + i * 11, i, f.left, f.right, f.tMs)).toBe(true);
      if (i % 30 === 29) await recorder.flush(); // four blocks in four chunks
    }
    recorder.setOutcome({ success: false });
    await recorder.close();
  });

  it('handFramesFromRecording returns every recorded frame, its headset time exactly, its numbers on the 0.1 mm grid', async () => {
    const frames = await handFramesFromRecording(complete);
    expect(frames).toHaveLength(demoFrames.length);
    expect(frames.map((f) => f.tMs)).toEqual(demoFrames.map((f) => f.tMs));
    frames.forEach((f, i) => {
      expect(f.left).toEqual(demoFrames[i]!.left && Float64Array.from(demoFrames[i]!.left!, onHandGrid));
      expect(f.right).toEqual(demoFrames[i]!.right && Float64Array.from(demoFrames[i]!.right!, onHandGrid));
    });
  });

  describe('a recording retargeted again keeps the calibrations it was recorded with', () => {
    /** The demo frames recorded at 11 ms steps, with calibrations written at frames 40 and 80 (and any others given). */
    const calibrated = async (name: string, extra: (r: Recorder) => void = () => {}): Promise<string> => {
      const sink = await createRecordingFile(dir, new Date(T0 + 3_600_000 * (name.length + 1)));
      const recorder = await Recorder.open(sink, options());
      for (const [i, f] of demoFrames.entries()) {
        if (i === 40) recorder.writeCalibration(T0 + i * 11, { handScale: { left: 1.15, right: 1.1 }, digitScales: { left: [1.1, 1, 1, 1.05, 1.2] } });
        if (i === 80) recorder.writeCalibration(T0 + i * 11 - 5, { translationScale: 1.5 });
        extra(recorder);
        expect(recorder.writeHandFrame(T0 + i * 11, i, f.left, f.right, f.tMs)).toBe(true);
        if (i % 30 === 29) await recorder.flush();
      }
      await recorder.close();
      return sink.path;
    };
    const lines = (path: string): { q: number[] }[] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { q: number[] });

    it('each calibration is placed before the first frame logged at or after it, as recorded', async () => {
      const path = await calibrated('placed');
      const { frames, calibrations } = await retargetInputFromRecording(path);
      expect(frames).toHaveLength(demoFrames.length);
      expect(calibrations.map((c) => [c.beforeFrame, c.calibration])).toEqual([
        [40, { handScale: { left: 1.15, right: 1.1 }, digitScales: { left: [1.1, 1, 1, 1.05, 1.2] } }],
        [80, { translationScale: 1.5 }],
      ]);
    });

    it('dexbridge retarget applies them from their frames and says so; the command line wins over them', async () => {
      const path = await calibrated('cli');
      const withRecorded = join(dir, 'with-recorded.jsonl'), without = join(dir, 'without.jsonl');
      const a = await runCli('retarget', path, '--out', withRecorded);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/recorded calibration\s+2 in the recording; from frame 40: hand scale left 1\.150, right 1\.100, digit scales \(left\); from frame 80: translation ×1\.5/);
      expect(a.stdout).toMatch(/hand scale\s+1\.150 \(recording\)\s+1\.100 \(recording\)/);
      const b = await runCli('retarget', path, '--out', without, '--hand-scale', 'auto', '--translation-scale', '1');
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toMatch(/recorded calibration\s+2 in the recording, not applied: the command line sets what they set/);
      // The same robot up to frame 40; from there the recorded hand scales move the hands.
      const x = lines(withRecorded), y = lines(without);
      expect(x).toHaveLength(demoFrames.length);
      expect(x.slice(0, 40)).toEqual(y.slice(0, 40));
      const handsDiffer = x.slice(40).some((row, k) => row.q.some((v, j) => j >= 7 && Math.abs(v - y[40 + k]!.q[j]!) > 1e-3));
      expect(handsDiffer).toBe(true);
    });

    it('a calibration that sets no scale is left out; one out of range is a RECORDING_BAD_MESSAGE, and the command line says the recording cannot be read', async () => {
      const noScale = await calibrated('no-scale-x', (r) => void r.writeCalibration(T0 + 1, { arm: { mode: 'clutch' } }));
      expect((await retargetInputFromRecording(noScale)).calibrations).toHaveLength(2);
      let once = false;
      const bad = await calibrated('out-of-range-x', (r) => {
        if (!once) r.writeCalibration(T0 + 1, { handScale: 9 });
        once = true;
      });
      await expect(retargetInputFromRecording(bad)).rejects.toMatchObject({ code: 'RECORDING_BAD_MESSAGE', message: expect.stringMatching(/\/dexbridge\/calibration message at log time .*handScale/) });
      const r = await runCli('retarget', bad);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/CLI_UNKNOWN_FORMAT.*handScale/);
    });
  });

  it('readRecording lists metadata (last record wins), channels with counts, and attachments', async () => {
    const recording = await readRecording(complete);
    try {
      expect(recording.metadata['dexbridge']).toMatchObject({ success: 'false', operator: 'alice', complete: 'true' });
      expect(recording.metadata['robot_description']?.['urdf']).toBe(URDF);
      expect(recording.channels.find((c) => c.topic === '/dexbridge/hand_frames')?.messageCount).toBe(demoFrames.length / 30); // one block per flush
      expect(recording.attachments).toEqual([{ name: 'dexbridge_rig.urdf', mediaType: 'application/xml', logTimeNs: BigInt(T0) * 1_000_000n, sizeBytes: new TextEncoder().encode(URDF).length }]);
      expect(new TextDecoder().decode(await recording.readAttachment('dexbridge_rig.urdf'))).toBe(URDF);
      expect(recording.startTimeNs).toBe(BigInt(T0) * 1_000_000n);
    } finally {
      await recording.close();
    }
  });

  it('recoverMcap copies a complete file unchanged in content', async () => {
    const out = join(dir, 'complete-copy.mcap');
    const report = await recoverMcap(complete, out);
    expect(report).toMatchObject({ inputComplete: true, droppedBytes: 0, channels: 7, schemas: 5, attachments: 1, metadata: 3, messages: demoFrames.length / 30 + 1 });
    expect(await handFramesFromRecording(out)).toEqual(await handFramesFromRecording(complete));
  });

  it('recoverMcap keeps every complete chunk of a file cut mid-chunk', async () => {
    const bytes = readFileSync(complete);
    const reader = await McapIndexedReader.Initialize({ readable: new BytesReadable(bytes) });
    const chunks = [...reader.chunkIndexes].sort((a, b) => Number(a.chunkStartOffset - b.chunkStartOffset));
    const last = chunks.at(-1)!;
    const cut = join(dir, 'cut.mcap');
    writeFileSync(cut, bytes.subarray(0, Number(last.chunkStartOffset + last.chunkLength / 2n)));
    await expect(readRecording(cut)).rejects.toMatchObject({ code: 'RECORDING_NOT_INDEXED' });
    const out = join(dir, 'cut-recovered.mcap');
    const report = await recoverMcap(cut, out);
    expect(report.inputComplete).toBe(false);
    expect(report.droppedBytes).toBe(Number(last.chunkLength / 2n));
    expect(report.chunks).toBe(chunks.length - 1);
    let inLast = 0;
    for await (const _ of reader.readMessages({ startTime: last.messageStartTime })) inLast++;
    expect(report.messages).toBe(demoFrames.length / 30 + 1 - inLast);
    const recovered = await readRecording(out);
    expect(recovered.metadata['dexbridge_recovery']).toMatchObject({ source: 'cut.mcap', input_complete: 'false' });
    await recovered.close();
  });

  it('recoverMcap never overwrites its output and rejects a file that is not MCAP', async () => {
    await expect(recoverMcap(complete, complete)).rejects.toMatchObject({ code: 'RECORDING_FILE_EXISTS' });
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello world');
    await expect(recoverMcap(text, join(dir, 'notes.mcap'))).rejects.toMatchObject({ code: 'RECORDING_NOT_MCAP' });
    expect(existsSync(join(dir, 'notes.mcap'))).toBe(false);
  });
});

describe('crash: a recorder killed with SIGKILL', () => {
  it('loses at most the last ~1 s, and recoverMcap makes the rest a valid indexed MCAP', async () => {
    const path = join(dir, 'crashed.mcap');
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', FIXTURE, path], {
      cwd: SERVER_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const last = await new Promise<{ seq: number; tMs: number }>((resolve, reject) => {
      let buffered = '';
      let firstT: number | undefined;
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const m = /^frame (\d+) (\d+)$/.exec(line);
          if (!m) continue;
          const frame = { seq: Number(m[1]), tMs: Number(m[2]) };
          firstT ??= frame.tMs;
          if (frame.tMs - firstT >= 2500) {
            child.kill('SIGKILL');
            resolve(frame);
          }
        }
      });
      child.on('exit', () => reject(new Error(`the recording child exited early: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    await expect(readRecording(path)).rejects.toMatchObject({ code: 'RECORDING_NOT_INDEXED' });
    expect(readFileSync(path).includes(Buffer.from('zstd'))).toBe(true); // compressed chunks, as the server writes
    const out = join(dir, 'crashed-recovered.mcap');
    const report = await recoverMcap(path, out);
    expect(report.inputComplete).toBe(false);
    expect(report.channels).toBe(7);
    expect(report.attachments).toBe(1);

    const recording = await readRecording(out);
    await recording.close();
    expect(recording.metadata['dexbridge']).toMatchObject({ operator: 'crash-test', success: 'unknown', complete: 'false' });
    expect(recording.attachments.map((a) => a.name)).toEqual(['dexbridge_rig.urdf']);
    const frames = await handFramesFromRecording(out);
    expect(frames.length).toBeGreaterThan(100);
    const lastFrame = frames.at(-1)!;
    // Only the flush timer closed chunks (the child's chunk size is 256 MiB), every 500 ms; the loss
    // is at most one interval, two if the kill hit a chunk's write: under 1 s, plus reporting latency.
    expect(report.chunks).toBeGreaterThanOrEqual(4);
    expect(last.tMs - lastFrame.tMs).toBeLessThanOrEqual(1200);
    expect(lastFrame.tMs).toBeLessThanOrEqual(last.tMs);
    // Every frame up to the last recovered one is there, in order: nothing in the middle is lost.
    const seqs = [];
    const reader = await readRecording(out);
    for await (const m of reader.messages({ topics: ['/dexbridge/hand_frames'] })) seqs.push(...decodeHandBlock(m.data).map((f) => f.seq));
    await reader.close();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
  }, 120_000);
});
