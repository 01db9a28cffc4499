/**
 * `dexbridge export --format lerobot` with cameras: recordings written with `Recorder` carrying
 * images whose colour says which image they are, exported, and the MP4s checked with Debian's
 * ffprobe/ffmpeg (frame counts, codec, and that frame i of an episode shows the image the
 * resampling rule picks), the episodes Parquet's video columns, info.json and the image
 * statistics. Needs ffmpeg with libsvtav1 and libx264 (.ci/run installs Debian's): never skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTION_DIM, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportJobStatus } from '../server/src/bridge/ExportJobs.js';
import { startDexbridge } from '../server/src/bridge/startDexbridge.js';
import { demoCameras, FlvH264Splitter, type H264AccessUnit, MjpegSplitter } from '../server/src/cameras/index.js';
import { main } from '../server/src/cli/main.js';
import { ExportError, exportLeRobot } from '../server/src/export/lerobot.js';
import { FileSink, Recorder, type RecorderOptions, recoverMcap } from '../server/src/recording/index.js';

const T0 = 1_700_000_000_000;
const FPS = 30;

/** A camera of the test recordings: size, and image k at `times(k)` ms from the start. */
interface TestCamera {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly time: (k: number) => number;
}
// head: 15 Hz starting after the first frame (so frame 0 shows the first image all the same);
// wrist: 10 Hz from 0, at 320×240 (so the statistics subsample its pixels); side: 50 Hz, faster
// than the frames, at an odd size (the video drops the last column and row).
const CAMERAS: readonly TestCamera[] = [
  { id: 'head', width: 160, height: 120, time: (k) => 20 + 67 * k },
  { id: 'wrist', width: 320, height: 240, time: (k) => 100 * k },
  { id: 'side', width: 161, height: 121, time: (k) => 5 + 20 * k },
];
/** The size of a camera's video: yuv420p needs even sizes. */
const even = (n: number): number => n - (n % 2);

/** The red (and green) level of image k: neighbours differ by 10, so a frame showing the wrong image is seen. */
const level = (k: number): number => 16 + ((10 * k) % 220);
const BLUE = 128;

/** `n` JPEGs of `width × height`, image k a flat colour (level(k), level(k), BLUE). */
function jpegs(n: number, width: number, height: number): Uint8Array[] {
  const raw = Buffer.alloc(n * width * height * 3);
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < width * height; p++) raw.set([level(k), level(k), BLUE], (k * width * height + p) * 3);
  }
  const stream = execFileSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0', '-c:v', 'mjpeg', '-q:v', '2', '-f', 'mjpeg', 'pipe:1'],
    { input: raw, maxBuffer: 1 << 28 },
  );
  return new MjpegSplitter().push(stream).map((i) => i.data);
}

/** The red (and green) level of access unit k of an H.264 test camera: 20 apart, as it goes through two lossy codecs. */
const videoLevel = (k: number): number => 16 + ((20 * k) % 220);

/**
 * `n` H.264 access units of `width × height`, frame k a flat colour (videoLevel(k), videoLevel(k), BLUE), encoded as an
 * H.264 camera encodes (libx264 baseline, zerolatency, SPS/PPS in every key frame), a key frame
 * every 10 frames.
 */
function h264Units(n: number, width: number, height: number): H264AccessUnit[] {
  const raw = Buffer.alloc(n * width * height * 3);
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < width * height; p++) raw.set([videoLevel(k), videoLevel(k), BLUE], (k * width * height + p) * 3);
  }
  const flv = execFileSync(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', '20', '-i', 'pipe:0',
      '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-bf', '0', '-g', '10',
      '-x264-params', 'repeat-headers=1', '-f', 'flv', 'pipe:1',
    ],
    { input: raw, maxBuffer: 1 << 28 },
  );
  return new FlvH264Splitter().push(flv);
}

/** The index of the image a frame at `t` ms shows: the latest at or before t, else the first. */
function expectedImage(camera: TestCamera, count: number, t: number): number {
  let k = 0;
  while (k + 1 < count && camera.time(k + 1) <= t) k++;
  return k;
}

/** Every row's joint state and action. */
const STATE = STATE_JOINT_NAMES.map((_, k) => 0.01 * k);
const ACTION = new Array<number>(ACTION_DIM).fill(0.1);

/** A recorder writing `path` as the tests' recordings are written: task "pick", every chunk flushed at once. */
async function openRecorder(path: string, cameras: NonNullable<RecorderOptions['cameras']>): Promise<Recorder> {
  return Recorder.open(await FileSink.create(path), {
    softwareVersion: 'test', startedAtIso: new Date(T0).toISOString(), urdf: '<robot name="test"/>', task: 'pick', flushIntervalMs: 0, cameras,
  });
}

/** A recording of `seconds`: joints and actions at ~100 Hz with jitter, and every camera's images. */
async function writeRecording(path: string, seconds: number, cameras: readonly TestCamera[]): Promise<void> {
  const recorder = await openRecorder(path, cameras.map((c) => c.id));
  const end = seconds * 1000;
  const times: number[] = [];
  for (let i = 0; i * 10 + (i % 3) < end; i++) times.push(i * 10 + (i % 3));
  times.push(end);
  for (const t of times) {
    recorder.writeJointState(T0 + t, STATE);
    recorder.writeAction(T0 + t, ACTION);
  }
  for (const c of cameras) {
    const count = imageCount(c, seconds);
    const images = jpegs(count, c.width, c.height);
    for (let k = 0; k < count; k++) expect(recorder.writeCameraFrame(c.id, T0 + c.time(k), 'jpeg', images[k]!)).toBe(true);
  }
  recorder.setOutcome({ success: true });
  await recorder.close();
}

/** Images of a camera within `seconds`. */
const imageCount = (c: TestCamera, seconds: number): number => {
  let n = 0;
  while (c.time(n) <= seconds * 1000) n++;
  return n;
};

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { stdout: { write: (t: string) => void out.push(t) }, stderr: { write: (t: string) => void err.push(t) } });
  return { code, out: out.join(''), err: err.join('') };
}

async function readRows(path: string): Promise<Record<string, unknown>[]> {
  const bytes = await readFile(path);
  return (await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })) as Record<string, unknown>[];
}

/** ffprobe's view of a video's stream, counting its frames by decoding them. */
function probe(file: string): { codec_name: string; pix_fmt: string; width: number; height: number; nb_read_frames: string; r_frame_rate: string } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt,width,height,nb_read_frames,r_frame_rate', '-of', 'json', file], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { streams: ReturnType<typeof probe>[] }).streams[0]!;
}

/** Presentation time (s) of every frame of a video, in order. */
function frameTimes(file: string): number[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return out.trim().split('\n').map(Number);
}

/** Every frame of a video as packed RGB. */
function decodeRgb(file: string): Buffer {
  return execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
}

const SECONDS = [2, 1.5];
const LENGTHS = [61, 46]; // 2 s and 1.5 s at 30 fps
let dir: string;
let recordings: string[];
let noCameras: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dexbridge-export-video-'));
  recordings = [join(dir, 'a.mcap'), join(dir, 'b.mcap')];
  for (const [i, path] of recordings.entries()) await writeRecording(path, SECONDS[i]!, CAMERAS);
  noCameras = join(dir, 'no-cameras.mcap');
  await writeRecording(noCameras, 1, []);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('export with cameras', () => {
  it('writes one AV1 video per camera whose frame i of each episode is the image of parquet row i, with LeRobot v3 metadata and image stats', async () => {
    const out = join(dir, 'ds-av1');
    const r = await run(['export', ...recordings, '--format', 'lerobot', '--fps', String(FPS), '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // Progress per camera per episode.
    for (const c of CAMERAS) for (const e of [1, 2]) expect(r.out).toContain(`observation.images.${c.id}: episode ${e}/2`);

    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    expect(info.total_frames).toBe(LENGTHS[0]! + LENGTHS[1]!);
    expect(info.video_path).toBe('videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4');
    const episodes = await readRows(join(out, 'meta/episodes/chunk-000/file-000.parquet'));
    const data = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    const stats = JSON.parse(await readFile(join(out, 'meta/stats.json'), 'utf8'));
    for (const name of ['action', 'observation.state', 'timestamp']) {
      expect(Object.keys(stats[name]).sort()).toEqual(['count', 'max', 'mean', 'min', 'q01', 'q10', 'q50', 'q90', 'q99', 'std']);
    }

    for (const c of CAMERAS) {
      const key = `observation.images.${c.id}`;
      const [width, height] = [even(c.width), even(c.height)];
      expect(info.features[key]).toEqual({
        dtype: 'video',
        shape: [height, width, 3],
        names: ['height', 'width', 'channels'],
        info: {
          'video.height': height, 'video.width': width, 'video.codec': 'av1', 'video.pix_fmt': 'yuv420p',
          'video.is_depth_map': false, 'video.fps': FPS, 'video.channels': 3, has_audio: false,
        },
      });
      const file = join(out, `videos/${key}/chunk-000/file-000.mp4`);
      const p = probe(file);
      expect(p).toMatchObject({ codec_name: 'av1', pix_fmt: 'yuv420p', width, height, r_frame_rate: `${FPS}/1` });
      expect(Number(p.nb_read_frames)).toBe(data.length);
      // LeRobot asks for from_timestamp + row timestamp and accepts a frame within 1e-4 s of it.
      const pts = frameTimes(file);
      expect(pts).toHaveLength(data.length);
      for (const [k, t] of pts.entries()) expect(Math.abs(t - k / FPS), `frame ${k} at ${t} s`).toBeLessThan(1e-4);

      // Episode e's frames start where the episodes before it end, one frame per row, 1/fps apart.
      let start = 0;
      episodes.forEach((ep, e) => {
        const rows = data.filter((row) => row.episode_index === BigInt(e)).length;
        expect(rows).toBe(LENGTHS[e]);
        expect(ep[`videos/${key}/chunk_index`]).toBe(0n);
        expect(ep[`videos/${key}/file_index`]).toBe(0n);
        expect(ep[`videos/${key}/from_timestamp`]).toBeCloseTo(start / FPS, 9);
        expect(ep[`videos/${key}/to_timestamp`]).toBeCloseTo((start + rows) / FPS, 9);
        start += rows;
      });

      // Frame by frame: the centre pixel has the colour of the image the rule picks for that row.
      const rgb = decodeRgb(file);
      const frameBytes = width * height * 3;
      expect(rgb.length).toBe(data.length * frameBytes);
      const centre = ((height / 2) * width + width / 2) * 3;
      const shown: number[] = [];
      data.forEach((row, i) => {
        const e = Number(row.episode_index);
        const t = (Number(row.frame_index) * 1000) / FPS;
        const k = expectedImage(c, imageCount(c, SECONDS[e]!), t);
        shown.push(level(k));
        const red = rgb[i * frameBytes + centre]!;
        const blue = rgb[i * frameBytes + centre + 2]!;
        // Lossy AV1 and two colour conversions: a few levels off; the neighbouring image is 10 off.
        expect(Math.abs(red - level(k)), `row ${i} (episode ${e}, frame ${row.frame_index}) should show image ${k}`).toBeLessThanOrEqual(4);
        expect(Math.abs(blue - BLUE)).toBeLessThanOrEqual(4);
      });

      // Stats as LeRobot's: per channel [3,1,1] in [0,1], count = sampled frames (all, below 100 per episode).
      const s = stats[key];
      expect(Object.keys(s).sort()).toEqual(['count', 'max', 'mean', 'min', 'q01', 'q10', 'q50', 'q90', 'q99', 'std']);
      expect(s.count).toEqual([data.length]);
      for (const name of ['min', 'max', 'mean', 'std', 'q01', 'q10', 'q50', 'q90', 'q99']) {
        expect(s[name]).toHaveLength(3);
        for (const ch of s[name]) {
          expect(ch).toHaveLength(1);
          expect(ch[0]).toHaveLength(1);
          expect(ch[0][0]).toBeGreaterThanOrEqual(0);
          expect(ch[0][0]).toBeLessThanOrEqual(1);
        }
      }
      const mean = shown.reduce((a, b) => a + b, 0) / shown.length;
      // The source JPEGs decode within a level or two of the colours they were made from.
      expect(Math.abs(s.mean[0][0][0] * 255 - mean)).toBeLessThan(2);
      expect(Math.abs(s.mean[2][0][0] * 255 - BLUE)).toBeLessThan(2);
      expect(Math.abs(s.min[0][0][0] * 255 - Math.min(...shown))).toBeLessThanOrEqual(2);
      expect(Math.abs(s.max[0][0][0] * 255 - Math.max(...shown))).toBeLessThanOrEqual(2);
      expect(s.std[2][0][0] * 255).toBeLessThan(2);
      expect(s.q01[0][0][0]).toBeLessThanOrEqual(s.q50[0][0][0]);
      expect(s.q50[0][0][0]).toBeLessThanOrEqual(s.q99[0][0][0]);
    }
  });

  it('encodes H.264 with --video-codec h264', async () => {
    const out = join(dir, 'ds-h264');
    const r = await run(['export', recordings[0]!, '--format', 'lerobot', '--fps', String(FPS), '--out', out, '--video-codec', 'h264']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    for (const c of CAMERAS) {
      const key = `observation.images.${c.id}`;
      expect(info.features[key].info['video.codec']).toBe('h264');
      const p = probe(join(out, `videos/${key}/chunk-000/file-000.mp4`));
      expect(p).toMatchObject({ codec_name: 'h264', pix_fmt: 'yuv420p', width: even(c.width), height: even(c.height) });
      expect(Number(p.nb_read_frames)).toBe(LENGTHS[0]);
    }
  });

  it('reports progress through reading, video, encoding and writing', async () => {
    const calls: [number, string][] = [];
    const result = await exportLeRobot({ recordings: [recordings[1]!], outDir: join(dir, 'ds-progress'), fps: FPS, onProgress: (f, p) => void calls.push([f, p]) });
    expect(result.videos.map((v) => v.key)).toEqual(CAMERAS.map((c) => `observation.images.${c.id}`).sort());
    expect([...new Set(calls.map(([, p]) => p))]).toEqual(['reading', 'video', 'encoding', 'writing']);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
    expect(calls.filter(([f, p]) => p === 'video' && f > 0.4 && f < 0.8).length).toBeGreaterThan(0);
    expect(calls.at(-1)).toEqual([1, 'writing']);
  });

  it('fails with EXPORT_VIDEO_FAILED, without hanging, when ffmpeg dies while encoding, and removes the videos', async () => {
    // A stand-in ffmpeg: lists the AV1 encoder, then fails every real job at once.
    const fake = join(dir, 'failing-ffmpeg');
    await writeFile(fake, '#!/bin/sh\nif [ "$2" = "-encoders" ]; then echo " V..... libsvtav1   SVT-AV1"; exit 0; fi\necho "no encoding today" >&2\nexit 1\n', { mode: 0o755 });
    const out = join(dir, 'ds-failing');
    const error = await exportLeRobot({ recordings: [recordings[0]!], outDir: out, fps: FPS, ffmpegPath: fake }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).code).toBe('EXPORT_VIDEO_FAILED');
    expect((error as ExportError).message).toMatch(/no encoding today/);
    expect(existsSync(out)).toBe(false);
  });

  it('reports coded errors and writes nothing: cameras that differ, ffmpeg missing, an unknown codec', async () => {
    const mixed = join(dir, 'ds-mixed');
    const r = await run(['export', recordings[0]!, noCameras, '--format', 'lerobot', '--out', mixed]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CLI_UNKNOWN_FORMAT: EXPORT_CAMERA_MISMATCH: .*no-cameras\.mcap has no cameras/);
    expect(existsSync(mixed)).toBe(false);

    const noFfmpeg = join(dir, 'ds-no-ffmpeg');
    const error = await exportLeRobot({ recordings: [recordings[0]!], outDir: noFfmpeg, fps: FPS, ffmpegPath: join(dir, 'no-such-ffmpeg') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as ExportError).code).toBe('EXPORT_FFMPEG_MISSING');
    expect((error as ExportError).message).toMatch(/apt-get install ffmpeg/);
    expect(existsSync(noFfmpeg)).toBe(false);

    const codec = await run(['export', recordings[0]!, '--out', join(dir, 'ds-vp9'), '--video-codec', 'vp9']);
    expect(codec.code).toBe(2);
    expect(codec.err).toMatch(/CLI_USAGE: EXPORT_BAD_VIDEO_CODEC/);
  });
});

describe('export of H.264 cameras', () => {
  // arm: 20 Hz from 10 ms, 160×120, H.264 with a key frame every 10 frames (0.5 s).
  const ARM: TestCamera = { id: 'arm', width: 160, height: 120, time: (k) => 10 + 50 * k };

  it('a recording from another tool that starts between key frames: the delta frames before the first key frame are left out, earlier rows show the key frame', async () => {
    const recorded = join(dir, 'video-keyed.mcap');
    const recorder = await openRecorder(recorded, [{ id: 'arm', codec: 'h264' }]);
    const units = h264Units(imageCount(ARM, 1.5), ARM.width, ARM.height);
    for (let t = 0; t <= 1500; t += 10) {
      recorder.writeJointState(T0 + t, STATE);
      recorder.writeAction(T0 + t, ACTION);
    }
    // dexbridge's recorder itself starts at a key frame: 10 is the first it writes.
    for (let k = 10; k < units.length; k++) expect(recorder.writeCameraFrame('arm', T0 + ARM.time(k), 'h264', units[k]!.data)).toBe(true);
    await recorder.close();
    // Another tool might have kept the delta frames 3..9 before it: copy the file with them added.
    const bytes = await readFile(recorded);
    const reader = await McapIndexedReader.Initialize({ readable: { size: async () => BigInt(bytes.length), read: async (o, n) => bytes.subarray(Number(o), Number(o + n)) } });
    const parts: Uint8Array[] = [];
    let at = 0n;
    const writable = {
      position: () => at,
      write: async (b: Uint8Array) => {
        parts.push(b.slice());
        at += BigInt(b.length);
      },
    };
    const writer = new McapWriter({ writable });
    await writer.start({ profile: '', library: 'test' });
    const channelIds = new Map<number, number>();
    for (const ch of reader.channelsById.values()) {
      const schema = reader.schemasById.get(ch.schemaId);
      const schemaId = schema ? await writer.registerSchema({ name: schema.name, encoding: schema.encoding, data: schema.data }) : 0;
      channelIds.set(ch.id, await writer.registerChannel({ schemaId, topic: ch.topic, messageEncoding: ch.messageEncoding, metadata: ch.metadata }));
    }
    for await (const m of reader.readMetadata()) await writer.addMetadata(m);
    const arm = [...reader.channelsById.values()].find((c) => c.topic === '/dexbridge/cameras/arm')!;
    for (let k = 3; k < 10; k++) {
      const ns = BigInt(T0 + ARM.time(k)) * 1_000_000n;
      const json = JSON.stringify({ timestamp: { sec: 0, nsec: 0 }, frame_id: 'arm', data: Buffer.from(units[k]!.data).toString('base64'), format: 'h264' });
      await writer.addMessage({ channelId: channelIds.get(arm.id)!, sequence: 0, logTime: ns, publishTime: ns, data: new TextEncoder().encode(json) });
    }
    for await (const m of reader.readMessages()) await writer.addMessage({ ...m, channelId: channelIds.get(m.channelId)! });
    await writer.end();
    const edited = join(dir, 'video-leading-deltas.mcap');
    await writeFile(edited, Buffer.concat(parts));

    const out = join(dir, 'ds-video-leading');
    const r = await run(['export', edited, '--format', 'lerobot', '--fps', String(FPS), '--out', out, '--all']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const data = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    expect(data.length).toBe(LENGTHS[1]);
    const file = join(out, 'videos/observation.images.arm/chunk-000/file-000.mp4');
    expect(Number(probe(file).nb_read_frames)).toBe(data.length);
    const rgb = decodeRgb(file);
    const frameBytes = 160 * 120 * 3;
    const centre = (60 * 160 + 80) * 3;
    data.forEach((row, i) => {
      const t = (Number(row.frame_index) * 1000) / FPS;
      // Before the first key frame (unit 10) nothing else can be shown: the rows there show it.
      const k = Math.max(10, expectedImage(ARM, units.length, t));
      expect(Math.abs(rgb[i * frameBytes + centre]! - videoLevel(k)), `row ${i} should show access unit ${k}`).toBeLessThanOrEqual(8);
    });
  });

  it('a recording cut short by a crash, recovered, exports its video up to the last flushed chunk, a frame per row', async () => {
    const path = join(dir, 'video-crash.mcap');
    const recorder = await openRecorder(path, [{ id: 'arm', codec: 'h264' }]);
    const units = h264Units(imageCount(ARM, 2), ARM.width, ARM.height);
    // Time order, as a server writes: states every 10 ms, the camera's access units at their own times.
    let k = 0;
    const crashed = join(dir, 'video-crashed.mcap');
    for (let t = 0; t <= 2000; t += 10) {
      recorder.writeJointState(T0 + t, STATE);
      recorder.writeAction(T0 + t, ACTION);
      while (k < units.length && ARM.time(k) <= t) {
        recorder.writeCameraFrame('arm', T0 + ARM.time(k), 'h264', units[k]!.data);
        k++;
      }
      if (t === 1200) {
        // What a kill -9 now leaves on disk: the chunks flushed so far, no summary.
        await recorder.flush();
        await copyFile(path, crashed);
      }
    }
    await recorder.close();
    const recovered = join(dir, 'video-recovered.mcap');
    expect((await recoverMcap(crashed, recovered)).inputComplete).toBe(false);
    const out = join(dir, 'ds-video-recovered');
    const r = await run(['export', recovered, '--format', 'lerobot', '--fps', String(FPS), '--out', out, '--all']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const data = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    // 0 .. 1.2 s at 30 fps: what was flushed, and no more.
    expect(data.length).toBe(37);
    const file = join(out, 'videos/observation.images.arm/chunk-000/file-000.mp4');
    expect(Number(probe(file).nb_read_frames)).toBe(data.length);
    const rgb = decodeRgb(file);
    const frameBytes = 160 * 120 * 3;
    const centre = (60 * 160 + 80) * 3;
    data.forEach((row, i) => {
      const want = videoLevel(expectedImage(ARM, units.length, (Number(row.frame_index) * 1000) / FPS));
      expect(Math.abs(rgb[i * frameBytes + centre]! - want), `row ${i}`).toBeLessThanOrEqual(8);
    });
  });

  it('decodes the recorded video and resamples it like images: frame i shows the access unit of row i, frames = parquet rows, stats from the pictures', async () => {
    const paths = [join(dir, 'video-a.mcap'), join(dir, 'video-b.mcap')];
    for (const [e, path] of paths.entries()) {
      const recorder = await openRecorder(path, [{ id: 'arm', codec: 'h264' }, 'head']);
      const end = SECONDS[e]! * 1000;
      for (let t = 0; t <= end; t += 10) {
        recorder.writeJointState(T0 + t, STATE);
        recorder.writeAction(T0 + t, ACTION);
      }
      const count = imageCount(ARM, SECONDS[e]!);
      const units = h264Units(count, ARM.width, ARM.height);
      expect(units).toHaveLength(count);
      expect(units.flatMap((u, k) => (u.keyFrame ? [k] : [])).slice(0, 2)).toEqual([0, 10]);
      for (let k = 0; k < count; k++) expect(recorder.writeCameraFrame('arm', T0 + ARM.time(k), 'h264', units[k]!.data)).toBe(true);
      // And a JPEG camera beside it: both kinds in one dataset.
      const head = CAMERAS[0]!;
      const images = jpegs(imageCount(head, SECONDS[e]!), head.width, head.height);
      for (const [k, img] of images.entries()) recorder.writeCameraFrame('head', T0 + head.time(k), 'jpeg', img);
      recorder.setOutcome({ success: true });
      await recorder.close();
    }
    const out = join(dir, 'ds-video');
    const r = await run(['export', ...paths, '--format', 'lerobot', '--fps', String(FPS), '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    const data = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    expect(data.length).toBe(LENGTHS[0]! + LENGTHS[1]!);
    const key = 'observation.images.arm';
    expect(info.features[key]).toMatchObject({ dtype: 'video', shape: [120, 160, 3] });
    const file = join(out, `videos/${key}/chunk-000/file-000.mp4`);
    const p = probe(file);
    expect(p).toMatchObject({ codec_name: 'av1', width: 160, height: 120, r_frame_rate: `${FPS}/1` });
    expect(Number(p.nb_read_frames)).toBe(data.length);
    expect(Number(probe(join(out, 'videos/observation.images.head/chunk-000/file-000.mp4')).nb_read_frames)).toBe(data.length);
    const rgb = decodeRgb(file);
    const frameBytes = 160 * 120 * 3;
    const centre = (60 * 160 + 80) * 3;
    const shown: number[] = [];
    data.forEach((row, i) => {
      const e = Number(row.episode_index);
      const k = expectedImage(ARM, imageCount(ARM, SECONDS[e]!), (Number(row.frame_index) * 1000) / FPS);
      shown.push(videoLevel(k));
      // H.264 then AV1: a few levels off; the neighbouring access units are 20 off.
      expect(Math.abs(rgb[i * frameBytes + centre]! - videoLevel(k)), `row ${i} (episode ${e}, frame ${row.frame_index}) should show access unit ${k}`).toBeLessThanOrEqual(8);
      expect(Math.abs(rgb[i * frameBytes + centre + 2]! - BLUE)).toBeLessThanOrEqual(8);
    });
    const stats = JSON.parse(await readFile(join(out, 'meta/stats.json'), 'utf8'))[key];
    expect(stats.count).toEqual([data.length]);
    expect(Math.abs(stats.mean[0][0][0] * 255 - shown.reduce((a, b) => a + b, 0) / shown.length)).toBeLessThan(3);
  });
});

describe('from the running server to the dataset', () => {
  it('a demo session recorded with its two ffmpeg cameras (MJPEG and H.264) exports with one video per camera, a frame per row', async () => {
    const recDir = join(dir, 'served');
    const server = await startDexbridge({ port: 0, demo: true, recordingsDir: recDir, record: 'session', cameras: demoCameras() });
    try {
      // Until the recording holds some images of both cameras and a second of states, however slow the machine.
      let states = 0;
      server.loop.onState(() => {
        if (server.recording?.active() === true) states++;
      });
      const deadline = Date.now() + 60_000;
      let atStart: number[] | undefined;
      for (;;) {
        const frames = server.cameras.status().map((c) => c.frames);
        if (server.recording?.active() === true) atStart ??= frames;
        // 20 frames at 15 Hz: more than the H.264 camera's key-frame interval (1 s), so its video has a key frame to start from.
        if (atStart !== undefined && states >= 100 && frames.every((f, i) => f >= atStart![i]! + 20)) break;
        if (Date.now() > deadline) throw new Error(`after 60 s: ${states} states, camera frames ${frames.join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await server.close();
    }
    const name = (await readdir(recDir)).find((f) => f.endsWith('.mcap'))!;
    const out = join(dir, 'ds-served');
    const r = await run(['export', join(recDir, name), '--format', 'lerobot', '--fps', String(FPS), '--out', out, '--all']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(await readFile(join(out, 'meta/info.json'), 'utf8'));
    const data = await readRows(join(out, 'data/chunk-000/file-000.parquet'));
    expect(data.length).toBe(info.total_frames);
    for (const id of ['head', 'side']) {
      const key = `observation.images.${id}`;
      expect(info.features[key]).toMatchObject({ dtype: 'video', shape: [480, 640, 3] });
      const p = probe(join(out, `videos/${key}/chunk-000/file-000.mp4`));
      expect(p).toMatchObject({ codec_name: 'av1', width: 640, height: 480 });
      expect(Number(p.nb_read_frames)).toBe(data.length);
    }
  });
});

describe('export job over HTTP with cameras', () => {
  it('takes videoCodec, and its tar holds the video of every camera in that codec', async () => {
    const recs = join(dir, 'http-recs');
    await mkdir(recs);
    await copyFile(recordings[0]!, join(recs, 'cams.mcap'));
    const token = 'video-export-operator-token';
    const server = await startDexbridge({ port: 0, recordingsDir: recs, record: 'off', operatorToken: token });
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/api/exports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const bad = await post({ videoCodec: 'vp9' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('EXPORT_BAD_VIDEO_CODEC');

      const res = await post({ recordings: ['cams.mcap'], fps: FPS, videoCodec: 'h264' });
      expect(res.status).toBe(202);
      let job = (await res.json()) as ExportJobStatus;
      expect(job.videoCodec).toBe('h264');
      const phases = new Set<string>();
      // By time, not by polls: the worker process takes a moment to start on a busy machine.
      for (const end = Date.now() + 60_000; job.status === 'running'; ) {
        if (Date.now() > end) throw new Error(`export job still running: ${JSON.stringify(job)}`);
        await new Promise((r) => setTimeout(r, 5));
        job = (await (await fetch(`${server.url}/api/exports/${job.id}`)).json()) as ExportJobStatus;
        phases.add(job.phase);
      }
      expect(job).toMatchObject({ status: 'done', frames: LENGTHS[0] });
      expect([...phases].every((p) => ['reading', 'video', 'encoding', 'writing', 'done'].includes(p))).toBe(true);
      const tar = Buffer.from(await (await fetch(`${server.url}${job.download}`)).arrayBuffer());
      const into = join(dir, 'http-extracted');
      await mkdir(into);
      execFileSync('tar', ['-xf', '-', '-C', into], { input: tar });
      const [folder] = await readdir(into);
      for (const c of CAMERAS) {
        const p = probe(join(into, folder!, `videos/observation.images.${c.id}/chunk-000/file-000.mp4`));
        expect(p).toMatchObject({ codec_name: 'h264', width: even(c.width), height: even(c.height) });
        expect(Number(p.nb_read_frames)).toBe(LENGTHS[0]);
      }
    } finally {
      await server.close();
    }
  });
});
