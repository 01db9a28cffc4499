/**
 * H.264 cameras: the Annex B helpers (NAL units, SPS size and codec string) on libx264's own
 * output, the FLV splitter on real ffmpeg output in any chunking (one access unit per frame, key
 * frames where they were forced, each key frame decodable on its own), the ffmpeg source with
 * `codec: 'h264'`, the key-frame rule of the outgoing budget, and a running dexbridge whose late
 * subscriber starts at a key frame. Needs Debian's ffmpeg with libx264 (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutgoingBudget, resolveOutgoingOptions } from '../src/bridge/OutgoingBudget.js';
import { type RunningDexbridge, startDexbridge } from '../src/bridge/startDexbridge.js';
import { parseServeArgs } from '../src/cli/serveCommand.js';
import { type CameraFrame, FfmpegCamera, ffmpegArgs, FlvH264Splitter, FlvStreamError, parseCameraConfigs, parseCameraSpec } from '../src/cameras/index.js';
import { accessUnitSps, type DecodedCameraFrame, decodeCameraFrame, firstSliceType, h264CodecString, MESSAGE_KIND, NAL_TYPE, nalUnits, parseSps } from '../src/protocol/index.js';
import { TestClient } from './support/wsClient.js';
import { tempDirs } from './support/tempDirs.js';

const tmp = tempDirs('h264');

/**
 * `n` frames of the test pattern at 10 fps through the camera's own ffmpeg arguments (FLV on
 * stdout), with a key frame every `keyS` seconds.
 */
function flvStream(n: number, size: string, keyS: number): Buffer {
  const args = ffmpegArgs({ id: 't', input: `testsrc2=size=${size}:rate=10`, format: 'lavfi', codec: 'h264', keyframeIntervalS: keyS, now: () => 0 });
  const at = args.indexOf('-i');
  return execFileSync('ffmpeg', [...args.slice(0, at + 2), '-frames:v', String(n), ...args.slice(at + 2)], { maxBuffer: 64 << 20 });
}

/** Frames ffmpeg decodes from an Annex B stream (`ffprobe -count_frames`), with the stream's size. */
function ffprobeH264(annexB: Uint8Array): { frames: number; width: number; height: number } {
  const file = join(tmp(), 'stream.h264');
  writeFileSync(file, annexB);
  const out = execFileSync('ffprobe', ['-v', 'error', '-f', 'h264', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'json', file], { encoding: 'utf8' });
  const s = (JSON.parse(out) as { streams: { nb_read_frames: string; width: number; height: number }[] }).streams[0]!;
  return { frames: Number(s.nb_read_frames), width: s.width, height: s.height };
}

async function until(test: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FlvH264Splitter', () => {
  // 25 frames at 10 fps with a key frame every second: key frames at 0, 10 and 20.
  const stream = flvStream(25, '170x90', 1);

  it('splits real ffmpeg output into one Annex B access unit per frame whatever the chunking, key frames where forced', () => {
    const whole = new FlvH264Splitter().push(stream);
    expect(whole).toHaveLength(25);
    expect(whole.flatMap((au, i) => (au.keyFrame ? [i] : []))).toEqual([0, 10, 20]);
    // 170×90 is not a whole number of macroblocks: the size comes from the SPS cropping.
    expect(whole.every((au) => au.width === 170 && au.height === 90)).toBe(true);
    for (const au of whole) {
      expect(Array.from(au.data.subarray(0, 4))).toEqual([0, 0, 0, 1]);
      const types = nalUnits(au.data).map((u) => u.type);
      expect(firstSliceType(au.data)).toBe(au.keyFrame ? NAL_TYPE.IDR : NAL_TYPE.SLICE);
      // Every key frame carries its SPS and PPS: a decoder can start at any of them.
      if (au.keyFrame) expect(types).toEqual(expect.arrayContaining([NAL_TYPE.SPS, NAL_TYPE.PPS, NAL_TYPE.IDR]));
    }
    for (const step of [5, 333, 4096]) {
      const s = new FlvH264Splitter();
      const got: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += step) got.push(...s.push(stream.subarray(i, i + step)).map((x) => x.data));
      expect(got.map((g) => Buffer.from(g))).toEqual(whole.map((w) => Buffer.from(w.data)));
    }
    // ffmpeg decodes the access units back to back: every frame, at the right size; and from the second key frame on alone.
    expect(ffprobeH264(Buffer.concat(whole.map((a) => a.data)))).toEqual({ frames: 25, width: 170, height: 90 });
    expect(ffprobeH264(Buffer.concat(whole.slice(10).map((a) => a.data)))).toEqual({ frames: 15, width: 170, height: 90 });
    // An odd-sized source (which libx264 refuses in 4:2:0) loses its last column and row.
    expect(new FlvH264Splitter().push(flvStream(2, '161x121', 1)).map((au) => [au.width, au.height])).toEqual([[160, 120], [160, 120]]);
  });

  it('the SPS gives the size and the WebCodecs codec string (constrained baseline); bad bytes are errors', () => {
    const key = new FlvH264Splitter().push(stream)[0]!;
    const sps = accessUnitSps(key.data)!;
    expect(sps).toMatchObject({ profileIdc: 66, width: 170, height: 90 });
    // Baseline from libx264 sets constraint_set0 and constraint_set1: constrained baseline.
    expect(sps.constraints & 0xc0).toBe(0xc0);
    expect(h264CodecString(sps)).toMatch(/^avc1\.42C0[0-9A-F]{2}$/);
    const spsNal = nalUnits(key.data).find((u) => u.type === NAL_TYPE.SPS)!;
    expect(() => parseSps(key.data.subarray(spsNal.start, spsNal.start + 4))).toThrow(RangeError);
    expect(() => parseSps(Uint8Array.of(0x68, 1, 2, 3, 4))).toThrow(/not an SPS/);
    expect(() => new FlvH264Splitter().push(Buffer.from('not flv at all'))).toThrow(FlvStreamError);
    // MJPEG in FLV (codec 1 = not AVC) is refused too.
    const header = stream.subarray(0, 13);
    const tag = Uint8Array.of(9, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x12, 1, 0, 0, 0);
    expect(() => new FlvH264Splitter().push(Buffer.concat([header, tag]))).toThrow(/codec 2, not 7/);
  });
});

describe('H.264 camera configuration', () => {
  it('codec h264 in the robot config and as h264:<source>; bad values and other codecs’ settings are named', () => {
    expect(parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x.mp4', codec: 'h264', crf: 28, keyframeIntervalS: 0.5 }])[0]).toMatchObject({ codec: 'h264', crf: 28, keyframeIntervalS: 0.5 });
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x', codec: 'vp9' }])).toThrow(/cameras\[0\]\.codec must be "jpeg" or "h264", got "vp9"/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x', crf: 20 }])).toThrow(/codec must be "h264" when crf or keyframeIntervalS is given/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x', codec: 'h264', quality: 5 }])).toThrow(/quality must be absent for an h264 camera/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x', codec: 'h264', crf: 52 }])).toThrow(/crf must be an integer in 0\.\.51/);
    expect(parseCameraSpec('head=h264:/dev/video0')).toMatchObject({ input: '/dev/video0', format: 'v4l2', codec: 'h264' });
    expect(parseCameraSpec('d=h264:demo')).toMatchObject({ format: 'lavfi', codec: 'h264' });
    expect(parseCameraSpec('ip=h264:rtsp://10.0.0.9/s')).toMatchObject({ format: 'rtsp', codec: 'h264' });
    expect(() => parseCameraSpec('w=h264:ros:/w/c')).toThrow(expect.objectContaining({ code: 'CAMERA_CONFIG_INVALID' }));
    expect(() => parseCameraSpec('w=h264:')).toThrow(expect.objectContaining({ code: 'CAMERA_CONFIG_INVALID' }));
    // The demo shows both paths: head in MJPEG, side in H.264.
    expect(parseServeArgs(['--demo']).cameras?.map((c) => [c.id, c.source === 'ffmpeg' ? (c.codec ?? 'jpeg') : 'ros'])).toEqual([['head', 'jpeg'], ['side', 'h264']]);
    const args = ffmpegArgs({ id: 'a', input: 'x', codec: 'h264', now: () => 0 });
    for (const pair of [['-c:v', 'libx264'], ['-preset', 'ultrafast'], ['-tune', 'zerolatency'], ['-profile:v', 'baseline'], ['-bf', '0'], ['-x264-params', 'repeat-headers=1'], ['-force_key_frames', 'expr:gte(t,n_forced*1)'], ['-f', 'flv']]) {
      expect(args[args.indexOf(pair[0]!) + 1]).toBe(pair[1]);
    }
  });
});

describe('FfmpegCamera with codec h264', () => {
  it('delivers access units in order, the first a key frame with its size, a key frame every interval; close leaves no process', async () => {
    const frames: CameraFrame[] = [];
    const cam = new FfmpegCamera({ id: 'v', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, codec: 'h264', keyframeIntervalS: 0.5, now: () => performance.now() });
    expect(cam.codec).toBe('h264');
    let pid = 0;
    cam.start((f) => frames.push(f));
    try {
      // 0.5 s at 20 fps: key frames at 0, 10, 20 → the third comes with frame 20.
      await until(() => frames.filter((f) => f.keyFrame).length >= 3, 'three key frames');
      pid = cam.pid!;
      expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
      expect(frames[0]).toMatchObject({ cameraId: 'v', codec: 'h264', keyFrame: true, width: 160, height: 120 });
      expect(frames.flatMap((f, i) => (f.keyFrame ? [i] : [])).slice(0, 3)).toEqual([0, 10, 20]);
      for (const f of frames) expect(firstSliceType(f.data)).toBe(f.keyFrame ? NAL_TYPE.IDR : NAL_TYPE.SLICE);
      expect(ffprobeH264(Buffer.concat(frames.map((f) => f.data))).frames).toBe(frames.length);
      expect(cam.status(performance.now())).toMatchObject({ state: 'running', code: null });
    } finally {
      await cam.close();
    }
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('a stream that is not FLV/H.264 is CAMERA_BAD_FRAME, and the child is started again', async () => {
    // Stands in for an ffmpeg that writes something else: bytes, then it waits to be killed.
    const dir = tmp();
    const fake = join(dir, 'fake-ffmpeg');
    writeFileSync(fake, '#!/bin/sh\nprintf "garbage, not FLV"\nexec sleep 60\n', { mode: 0o755 });
    const cam = new FfmpegCamera({ id: 'bad', input: 'x', codec: 'h264', ffmpegPath: fake, now: () => performance.now(), restartMs: 60_000 });
    cam.start(() => undefined);
    try {
      await until(() => cam.status(performance.now()).code !== null, 'a status code');
      const st = cam.status(performance.now());
      expect(st).toMatchObject({ state: 'failed', code: 'CAMERA_BAD_FRAME' });
      expect(st.error).toMatch(/camera bad: camera: the H\.264 stream does not start with an FLV header; restarting ffmpeg/);
    } finally {
      await cam.close();
    }
  });
});

describe('no frame held back in the encoder', () => {
  it('both codecs hand a frame on as soon as it is encoded, not when the next one comes (a source with one frame per 100 s)', async () => {
    // A frame-threaded or look-ahead encoder keeps frame 0 until frame 1 arrives, 100 s later: the wait below would time out.
    for (const codec of ['jpeg', 'h264'] as const) {
      const frames: CameraFrame[] = [];
      const cam = new FfmpegCamera({ id: `slow-${codec}`, input: 'testsrc2=size=160x120:rate=0.01', format: 'lavfi', realtime: true, codec, now: () => performance.now(), stallMs: 600_000 });
      cam.start((f) => frames.push(f));
      try {
        await until(() => frames.length === 1, `the first ${codec} frame`, 30_000);
        expect(frames[0]).toMatchObject({ codec, keyFrame: true, width: 160, height: 120 });
      } finally {
        await cam.close();
      }
    }
  });
});

describe('OutgoingBudget: H.264 frames start at a key frame', () => {
  it('a new subscription and a skipped frame each wait for the next key frame; JPEG cameras and other cameras are not held', () => {
    const sent: string[] = [];
    const sock = { bufferedAmount: 0, send: (d: string | Uint8Array) => sent.push(typeof d === 'string' ? d : new TextDecoder().decode(d)) };
    const out = new OutgoingBudget(sock, resolveOutgoingOptions({ latestBytes: 1000, budgetBytes: 4000 }), 0);
    const frame = (name: string, keyFrame: boolean, cameraId = 'v') => out.camera(new TextEncoder().encode(name), { cameraId, keyFrame });
    out.awaitKeyFrame('v');
    expect([frame('d1', false), frame('d2', false), frame('K3', true), frame('d4', false)]).toEqual([false, false, true, true]);
    expect(out.stats.skippedAwaitingKeyFrame).toBe(2);
    // No room for d5: skipped, and so are the deltas after it, though there is room again.
    sock.bufferedAmount = 999;
    expect(frame('d5', false)).toBe(false);
    sock.bufferedAmount = 0;
    expect([frame('d6', false), frame('w1', false, 'w'), out.camera(new TextEncoder().encode('jpeg')), frame('K7', true), frame('d8', false)]).toEqual([false, true, true, true, true]);
    expect(sent).toEqual(['K3', 'd4', 'w1', 'jpeg', 'K7', 'd8']);
    expect(out.stats).toMatchObject({ skippedCamera: 1, skippedAwaitingKeyFrame: 3 });
  });
});

describe('an H.264 camera through a running dexbridge', () => {
  let run: RunningDexbridge | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it('is announced as h264; a viewer that subscribes late gets a key frame first, and after any gap a key frame again', async () => {
    run = await startDexbridge({
      port: 0, operatorToken: 'operator-token-123', recordingsDir: tmp(), record: 'off',
      cameras: [{ id: 'arm', source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, codec: 'h264', keyframeIntervalS: 0.5 }],
    });
    const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
    expect(viewer.json.find((m) => m.type === 'welcome')?.['cameras']).toEqual([{ id: 'arm', source: 'ffmpeg', codec: 'h264' }]);
    // Subscribe in the middle of a group of pictures: after a few frames that are not key frames.
    const cam = run.cameras;
    let seen: { key: boolean }[] = [];
    const off = cam.onFrame((f) => seen.push({ key: f.keyFrame }));
    await until(() => seen.length >= 3 && !seen[seen.length - 1]!.key, 'a delta frame from the camera');
    off();
    seen = [];
    const frames: DecodedCameraFrame[] = [];
    viewer.ws.on('message', (data, isBinary) => {
      if (!isBinary || (data as Buffer)[0] !== MESSAGE_KIND.CAMERA_FRAME) return;
      const f = decodeCameraFrame(data as Buffer);
      if (f.ok) frames.push({ ...f, payload: Uint8Array.from(f.payload) });
    });
    viewer.send({ type: 'camera_subscribe', cameras: ['arm'] });
    await viewer.until(() => frames.filter((f) => f.keyFrame).length >= 2 && frames.length >= 15, 60_000, 'two key frames and 15 frames');
    expect(frames[0]).toMatchObject({ codec: 'h264', keyFrame: true, width: 160, height: 120 });
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i]!.seq).toBeGreaterThan(frames[i - 1]!.seq);
      // A gap (a frame this connection skipped) is only ever followed by a key frame.
      if (frames[i]!.seq !== frames[i - 1]!.seq + 1) expect(frames[i]!.keyFrame).toBe(true);
    }
    for (const f of frames) expect(firstSliceType(f.payload)).toBe(f.keyFrame ? NAL_TYPE.IDR : NAL_TYPE.SLICE);
    // What the viewer got decodes frame for frame.
    expect(ffprobeH264(Buffer.concat(frames.map((f) => f.payload))).frames).toBe(frames.length);
    viewer.ws.terminate();
  });
});
