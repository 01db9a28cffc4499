/**
 * Camera images in the session MCAP: `foxglove.CompressedImage` (JPEG) and
 * `foxglove.CompressedVideo` (H.264) with Foxglove's published JSON Schemas, read back with
 * @mcap/core's indexed reader, decoded by ffmpeg (ffprobe counts the frames); after a crash, `recoverMcap` keeps the images up to the last flushed chunk; and a
 * running dexbridge records its cameras. Needs Debian's ffmpeg (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressedImage, CompressedVideo } from '@foxglove/schemas/jsonschema.js';
import { McapIndexedReader } from '@mcap/core';
import { rigUrdf } from '@dexbridge/urdf';
import { describe, expect, it } from 'vitest';
import { startDexbridge } from '../src/bridge/startDexbridge.js';
import { imageSize } from '../src/cameras/imageSize.js';
import { ffmpegArgs, FlvH264Splitter, type H264AccessUnit, MjpegSplitter } from '../src/cameras/index.js';
import { firstSliceType, NAL_TYPE } from '../src/protocol/index.js';
import { base64, FileReadable, FileSink, Recorder, recoverMcap, ZSTD_DECOMPRESS_HANDLERS, loadZstdCompressor } from '../src/recording/index.js';
import { tempDirs } from './support/tempDirs.js';

const tmp = tempDirs('camrec');

/** `n` JPEG frames of ffmpeg's test pattern (each a different picture: the pattern moves). */
function jpegs(n: number): Uint8Array[] {
  const stream = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-frames:v', String(n), '-c:v', 'mjpeg', '-f', 'mjpeg', 'pipe:1']);
  return new MjpegSplitter().push(stream).map((i) => i.data);
}

/** Frames ffmpeg decodes from a file of JPEGs back to back (`ffprobe -count_frames`). */
function ffprobeFrames(images: Uint8Array[]): number {
  const file = join(tmp(), 'images.mjpeg');
  writeFileSync(file, Buffer.concat(images));
  const out = execFileSync('ffprobe', ['-v', 'error', '-f', 'mjpeg', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'json', file], { encoding: 'utf8' });
  const s = (JSON.parse(out) as { streams: { nb_read_frames: string; width: number; height: number }[] }).streams[0]!;
  expect([s.width, s.height]).toEqual([160, 120]);
  return Number(s.nb_read_frames);
}

/** `n` H.264 access units of the test pattern at 10 fps as an H.264 camera encodes them: a key frame every second (0, 10, 20, …). */
function accessUnits(n: number): H264AccessUnit[] {
  const args = ffmpegArgs({ id: 't', input: 'testsrc2=size=160x120:rate=10', format: 'lavfi', codec: 'h264', now: () => 0 });
  const at = args.indexOf('-i');
  return new FlvH264Splitter().push(execFileSync('ffmpeg', [...args.slice(0, at + 2), '-frames:v', String(n), ...args.slice(at + 2)]));
}

/** Frames ffmpeg decodes from H.264 access units back to back (`ffprobe -f h264 -count_frames`). */
function ffprobeH264Frames(units: Uint8Array[]): number {
  const file = join(tmp(), 'video.h264');
  writeFileSync(file, Buffer.concat(units));
  const out = execFileSync('ffprobe', ['-v', 'error', '-f', 'h264', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'json', file], { encoding: 'utf8' });
  const s = (JSON.parse(out) as { streams: { nb_read_frames: string; width: number; height: number }[] }).streams[0]!;
  expect([s.width, s.height]).toEqual([160, 120]);
  return Number(s.nb_read_frames);
}

async function until(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface ImageMessage {
  timestamp: { sec: number; nsec: number };
  frame_id: string;
  data: string;
  format: string;
}

/** Every image of `topic` in an MCAP file, in log-time order, with its log time (ns). */
async function readImages(file: string, topic: string): Promise<{ logTime: bigint; msg: ImageMessage; schema: string; schemaText: string }[]> {
  const readable = await FileReadable.open(file);
  try {
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: ZSTD_DECOMPRESS_HANDLERS });
    const out = [];
    for await (const m of reader.readMessages({ topics: [topic] })) {
      const ch = reader.channelsById.get(m.channelId)!;
      const schema = reader.schemasById.get(ch.schemaId)!;
      out.push({ logTime: m.logTime, msg: JSON.parse(new TextDecoder().decode(m.data)) as ImageMessage, schema: schema.name, schemaText: new TextDecoder().decode(schema.data) });
    }
    return out;
  } finally {
    await readable.close();
  }
}

describe('base64', () => {
  it('matches Node for every length and any bytes', () => {
    for (let n = 0; n < 70; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) & 255);
      expect(base64(b)).toBe(Buffer.from(b).toString('base64'));
    }
    const big = new Uint8Array(50_001).map((_, i) => (i * 2654435761) >>> 24);
    expect(base64(big)).toBe(Buffer.from(big).toString('base64'));
  });
});

describe('camera images in the MCAP', () => {
  it('are foxglove.CompressedImage messages that read back to the same JPEGs, decodable by ffmpeg; recover keeps them up to the last flushed chunk', async () => {
    const dir = tmp();
    const file = join(dir, 'cams.mcap');
    const frames = jpegs(12);
    const compressChunk = await loadZstdCompressor();
    const rec = await Recorder.open(await FileSink.create(file), {
      softwareVersion: 'test', startedAtIso: new Date().toISOString(), urdf: rigUrdf(), cameras: ['head'], flushIntervalMs: 0, compressChunk,
    });
    const t0 = Date.now();
    for (let i = 0; i < 8; i++) expect(rec.writeCameraFrame('head', t0 + i * 100 + 0.25, 'jpeg', frames[i]!)).toBe(true);
    await rec.flush();
    // What is on disk now is what a kill -9 would leave: every chunk flushed so far, no summary.
    const crashed = join(dir, 'crashed.mcap');
    copyFileSync(file, crashed);
    for (let i = 8; i < 12; i++) rec.writeCameraFrame('head', t0 + i * 100 + 0.25, 'jpeg', frames[i]!);
    expect(rec.writeCameraFrame('nope', t0, 'jpeg', frames[0]!)).toBe(false);
    await rec.close();

    const all = await readImages(file, '/dexbridge/cameras/head');
    expect(all).toHaveLength(12);
    expect(all[0]!.schema).toBe('foxglove.CompressedImage');
    expect(JSON.parse(all[0]!.schemaText)).toEqual(CompressedImage); // Foxglove's own definition
    all.forEach((m, i) => {
      expect(m.msg.frame_id).toBe('head');
      expect(m.msg.format).toBe('jpeg');
      const ms = t0 + i * 100 + 0.25;
      expect(m.msg.timestamp).toEqual({ sec: Math.floor(ms / 1000), nsec: Math.round((ms % 1000) * 1e6) });
      expect(m.logTime).toBe(BigInt(Math.floor(ms)) * 1_000_000n + 250_000n);
      expect(Buffer.from(m.msg.data, 'base64')).toEqual(Buffer.from(frames[i]!));
    });
    expect(ffprobeFrames(all.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(12);

    const recovered = join(dir, 'recovered.mcap');
    const report = await recoverMcap(crashed, recovered);
    expect(report.inputComplete).toBe(false);
    const kept = await readImages(recovered, '/dexbridge/cameras/head');
    expect(kept.map((m) => m.msg.data)).toEqual(all.slice(0, 8).map((m) => m.msg.data));
    expect(ffprobeFrames(kept.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(8);
  });

  it('H.264 frames are foxglove.CompressedVideo from the first key frame on, decodable by ffmpeg; recover keeps the video up to the last flushed chunk', async () => {
    const dir = tmp();
    const file = join(dir, 'video.mcap');
    const units = accessUnits(25);
    expect(units.flatMap((u, i) => (u.keyFrame ? [i] : []))).toEqual([0, 10, 20]);
    const rec = await Recorder.open(await FileSink.create(file), {
      softwareVersion: 'test', startedAtIso: new Date().toISOString(), urdf: rigUrdf(), cameras: [{ id: 'arm', codec: 'h264' }, 'head'], flushIntervalMs: 0, compressChunk: await loadZstdCompressor(),
    });
    const t0 = Date.now();
    const at = (i: number): number => t0 + i * 100 + 0.5;
    // The recording starts in the middle of a group of pictures: frames 3..9 cannot be decoded from the file and are left out.
    for (let i = 3; i < 10; i++) expect(rec.writeCameraFrame('arm', at(i), 'h264', units[i]!.data)).toBe(false);
    for (let i = 10; i < 20; i++) expect(rec.writeCameraFrame('arm', at(i), 'h264', units[i]!.data)).toBe(true);
    await rec.flush();
    const crashed = join(dir, 'crashed.mcap');
    copyFileSync(file, crashed);
    for (let i = 20; i < 25; i++) expect(rec.writeCameraFrame('arm', at(i), 'h264', units[i]!.data)).toBe(true);
    // An image on the video channel, or H.264 on the image channel, is refused and counted.
    expect(rec.writeCameraFrame('arm', at(25), 'jpeg', jpegs(1)[0]!)).toBe(false);
    expect(rec.writeCameraFrame('head', at(25), 'h264', units[20]!.data)).toBe(false);
    expect(rec.stats.rejected).toBe(2);
    await rec.close();

    const all = await readImages(file, '/dexbridge/cameras/arm');
    expect(all).toHaveLength(15);
    expect(all[0]!.schema).toBe('foxglove.CompressedVideo');
    expect(JSON.parse(all[0]!.schemaText)).toEqual(CompressedVideo); // Foxglove's own definition
    all.forEach((m, i) => {
      expect(m.msg).toMatchObject({ frame_id: 'arm', format: 'h264', timestamp: { sec: Math.floor(at(i + 10) / 1000) } });
      expect(Buffer.from(m.msg.data, 'base64')).toEqual(Buffer.from(units[i + 10]!.data));
    });
    expect(ffprobeH264Frames(all.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(15);

    const recovered = join(dir, 'recovered.mcap');
    expect((await recoverMcap(crashed, recovered)).inputComplete).toBe(false);
    const kept = await readImages(recovered, '/dexbridge/cameras/arm');
    expect(kept.map((m) => m.msg.data)).toEqual(all.slice(0, 10).map((m) => m.msg.data));
    expect(ffprobeH264Frames(kept.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(10);
  });

  it('a running dexbridge records every camera of the session, its own stream and never its tiers', async () => {
    const dir = tmp();
    const run = await startDexbridge({
      port: 0, operatorToken: 'operator-token-123', policyToken: 'policy-token-123', recordingsDir: dir, record: 'manual',
      cameras: [
        { id: 'head', source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, tiers: [{ name: 'low', width: 80, height: 60 }] },
        { id: 'arm', source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, codec: 'h264', keyframeIntervalS: 0.5 },
      ],
    });
    try {
      const recording = run.recording!;
      recording.start({ operator: 'test' }, 'test');
      await until(() => recording.active(), 'the recording to start');
      const framesAtStart = run.cameras.status()[0]!.frames;
      const armAtStart = run.cameras.status()[1]!.frames;
      const tierAtStart = run.cameras.status()[2]!.frames; // head@low: tiers come after the cameras
      // Past the second key frame of the H.264 camera (every 10 frames): at least one is in the file.
      await until(
        () => run.cameras.status()[0]!.frames >= framesAtStart + 10 && run.cameras.status()[1]!.frames >= armAtStart + 25 && run.cameras.status()[2]!.frames >= tierAtStart + 10,
        'camera frames while recording',
      );
    } finally {
      await run.close();
    }
    const name = readdirSync(dir).find((f) => f.endsWith('.mcap'))!;
    const images = await readImages(join(dir, name), '/dexbridge/cameras/head');
    expect(images.length).toBeGreaterThanOrEqual(10);
    // Every image is the camera's own 160×120, none the 80×60 tier's.
    for (const m of images) expect(imageSize('jpeg', Buffer.from(m.msg.data, 'base64'))).toEqual({ width: 160, height: 120 });
    for (let i = 1; i < images.length; i++) expect(images[i]!.logTime).toBeGreaterThanOrEqual(images[i - 1]!.logTime);
    expect(ffprobeFrames(images.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(images.length);
    // The H.264 camera: CompressedVideo from a key frame on, every access unit decodable.
    const video = await readImages(join(dir, name), '/dexbridge/cameras/arm');
    expect(video.length).toBeGreaterThanOrEqual(5);
    expect(video[0]!.schema).toBe('foxglove.CompressedVideo');
    expect(firstSliceType(Buffer.from(video[0]!.msg.data, 'base64'))).toBe(NAL_TYPE.IDR);
    expect(ffprobeH264Frames(video.map((m) => Buffer.from(m.msg.data, 'base64')))).toBe(video.length);
  });
});
