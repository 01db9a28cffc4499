/**
 * Robot cameras end to end: the MJPEG splitter on real ffmpeg output, the ffmpeg source (frames,
 * failures as status codes, no child left behind), the live fan-out to subscribed connections
 * (CAMERA_FRAME in order with sane ages, inside the outgoing budget, robot state unaffected), and
 * a ROS camera published by the rosbridge protocol peer. Needs Debian's ffmpeg (.ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CameraConfig, CameraHub, FfmpegCamera, ffmpegArgs, MjpegSplitter, parseCameraConfigs, parseCameraSpec, type RosCamera } from '../src/cameras/index.js';
import type { CameraFrame } from '../src/cameras/index.js';
import { startDexbridge, type RunningDexbridge } from '../src/bridge/startDexbridge.js';
import { OutgoingBudget, resolveOutgoingOptions } from '../src/bridge/OutgoingBudget.js';
import { type DecodedCameraFrame, decodeCameraFrame, encodeCameraFrame, MESSAGE_KIND, parseServerMessage } from '../src/protocol/index.js';
import { parseRobotConfig } from '../src/ros/index.js';
import { parseServeArgs } from '../src/cli/serveCommand.js';
import { RosbridgePeer } from './support/rosbridgePeer.js';
import { TestClient } from './support/wsClient.js';

const OP = 'operator-token-123';
const POLICY = 'policy-token-123';

/** `n` JPEG frames of ffmpeg's test pattern, as one MJPEG stream (what the camera source reads). */
function mjpegStream(n: number, size = '160x120'): Buffer {
  return execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10`, '-frames:v', String(n), '-c:v', 'mjpeg', '-f', 'mjpeg', 'pipe:1']);
}

/** The JPEG files in a stream (split at each end-of-image marker that ffmpeg wrote). */
function splitAll(stream: Buffer): Uint8Array[] {
  return new MjpegSplitter().push(stream).map((i) => i.data);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(test: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A small synthetic ffmpeg camera (cheap on a busy 2-core machine). */
const testCamera = (id: string): CameraConfig => ({ id, source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true });

/** Camera frames a client receives, decoded. */
function collectFrames(c: TestClient): DecodedCameraFrame[] {
  const frames: DecodedCameraFrame[] = [];
  c.ws.on('message', (data, isBinary) => {
    if (!isBinary || (data as Buffer)[0] !== MESSAGE_KIND.CAMERA_FRAME) return;
    const f = decodeCameraFrame(data as Buffer);
    if (f.ok) frames.push({ ...f, payload: Uint8Array.from(f.payload) });
  });
  return frames;
}

describe('MjpegSplitter', () => {
  const stream = mjpegStream(5);

  it('splits real ffmpeg MJPEG into its frames whatever the chunking, with their size', () => {
    const whole = new MjpegSplitter().push(stream);
    expect(whole).toHaveLength(5);
    expect(Buffer.concat(whole.map((i) => i.data))).toEqual(stream);
    expect(whole.every((i) => i.width === 160 && i.height === 120)).toBe(true);
    // In odd chunk sizes: the same frames.
    for (const step of [7, 101, 4093]) {
      const s = new MjpegSplitter();
      const got: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += step) got.push(...s.push(stream.subarray(i, i + step)).map((x) => x.data));
      expect(got.map((g) => Buffer.from(g))).toEqual(whole.map((w) => Buffer.from(w.data)));
    }
  });

  it('skips garbage before and between frames and counts it', () => {
    const frames = splitAll(stream);
    const junk = Buffer.from([1, 2, 3, 0xff, 0x00, 0xd9]);
    const s = new MjpegSplitter();
    const got = s.push(Buffer.concat([junk, frames[0]!, junk, frames[1]!]));
    expect(got.map((g) => Buffer.from(g.data))).toEqual([Buffer.from(frames[0]!), Buffer.from(frames[1]!)]);
    expect(s.skippedBytes).toBe(2 * junk.length);
  });
});

describe('CAMERA_FRAME codec', () => {
  it('round-trips every field and rejects bad bytes with a code', () => {
    const payload = Uint8Array.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    const buf = encodeCameraFrame({ cameraId: 'head', seq: 7, captureTimeMs: 1234.5, codec: 'jpeg', keyFrame: true, width: 640, height: 480, payload });
    expect(buf.length).toBe(24 + 4 + payload.length);
    const d = decodeCameraFrame(buf);
    expect(d).toMatchObject({ ok: true, cameraId: 'head', seq: 7, captureTimeMs: 1234.5, codec: 'jpeg', keyFrame: true, width: 640, height: 480 });
    expect(d.ok && Array.from(d.payload)).toEqual(Array.from(payload));
    expect(decodeCameraFrame(buf.subarray(0, 20))).toMatchObject({ ok: false, code: 'FRAME_BAD_SIZE' });
    expect(decodeCameraFrame(buf.subarray(0, 28))).toMatchObject({ ok: false, code: 'FRAME_BAD_SIZE' });
    const v2 = Uint8Array.from(buf);
    v2[1] = 2;
    expect(decodeCameraFrame(v2)).toMatchObject({ ok: false, code: 'PROTO_BAD_VERSION' });
    const codec = Uint8Array.from(buf);
    codec[2] = 9;
    expect(decodeCameraFrame(codec)).toMatchObject({ ok: false, code: 'PROTO_BAD_MESSAGE' });
    expect(decodeCameraFrame(Uint8Array.from([2, 1]))).toMatchObject({ ok: false, code: 'PROTO_BAD_KIND' });
    expect(() => encodeCameraFrame({ cameraId: 'no spaces', seq: 0, captureTimeMs: 0, codec: 'jpeg', keyFrame: true, width: 0, height: 0, payload })).toThrow(RangeError);
  });
});

describe('welcome.cameras and status.cameras', () => {
  it('parse on the client side, and a malformed entry is named', () => {
    const welcome = {
      type: 'welcome', protocol: 1, sessionId: 'c1', role: 'viewer', serverTimeMs: 1, controlRateHz: 90, jointNames: [], actionNames: [],
      limits: { maxMessageBytes: 65536, maxMessagesPerSecond: 300, watchdogMs: 200 }, cameras: [{ id: 'head', source: 'ffmpeg', codec: 'jpeg' }],
    };
    expect(parseServerMessage(JSON.stringify(welcome))).toMatchObject({ ok: true, msg: { cameras: [{ id: 'head', source: 'ffmpeg', codec: 'jpeg' }] } });
    const bad = parseServerMessage(JSON.stringify({ ...welcome, cameras: [{ id: 'head', source: 'usb', codec: 'jpeg' }] }));
    expect(bad).toMatchObject({ ok: false, code: 'PROTO_BAD_MESSAGE' });
    expect(!bad.ok && bad.message).toMatch(/cameras\[0\]\.source/);
    const status = {
      type: 'status', serverTimeMs: 5, mode: 'idle', estop: false, lease: { holder: null }, recording: { active: false, file: null, error: null },
      ros: { connected: false, url: null }, clients: { operators: 0, viewers: 1, policies: 0 }, chunks: { queueDepth: 0, latencyMs: null },
      cameras: [{ id: 'head', state: 'failed', code: 'CAMERA_SOURCE_FAILED', error: 'camera head: …', frames: 0, ageMs: null }],
    };
    expect(parseServerMessage(JSON.stringify(status))).toMatchObject({ ok: true, msg: { cameras: status.cameras } });
  });
});

describe('camera configuration', () => {
  it('announces a stereo camera’s side-by-side layout in welcome.cameras, and refuses another layout', () => {
    const configs = parseCameraConfigs([
      { id: 'eyes', source: 'ffmpeg', input: '/dev/video2', stereo: 'side-by-side' },
      { id: 'wrist', source: 'ros', topic: '/wrist/image/compressed', stereo: 'side-by-side' },
      { id: 'head', source: 'ffmpeg', input: '/dev/video0' },
    ]);
    expect(configs.map((c) => c.stereo)).toEqual(['side-by-side', 'side-by-side', undefined]);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x', stereo: 'top-bottom' }])).toThrow(/cameras\[0\]\.stereo must be "side-by-side"/);
    const hub = new CameraHub(configs, { now: () => 0, rosAvailable: false });
    expect(hub.cameras).toEqual([
      { id: 'eyes', source: 'ffmpeg', codec: 'jpeg', stereo: 'side-by-side' },
      { id: 'wrist', source: 'ros', codec: 'jpeg', stereo: 'side-by-side' },
      { id: 'head', source: 'ffmpeg', codec: 'jpeg' },
    ]);
    // ffmpeg is not told about it: the layout is the headset's business.
    expect(ffmpegArgs({ id: 'eyes', input: '/dev/video2', now: () => 0 }).join(' ')).not.toMatch(/stereo/);
    const welcome = {
      type: 'welcome', protocol: 1, sessionId: 'c1', role: 'viewer', serverTimeMs: 1, controlRateHz: 90, jointNames: [], actionNames: [],
      limits: { maxMessageBytes: 65536, maxMessagesPerSecond: 300, watchdogMs: 200 }, cameras: hub.cameras,
    };
    expect(parseServerMessage(JSON.stringify(welcome))).toMatchObject({ ok: true, msg: { cameras: hub.cameras } });
    expect(parseServerMessage(JSON.stringify({ ...welcome, cameras: [{ id: 'a', source: 'ffmpeg', codec: 'jpeg', stereo: 'anaglyph' }] }))).toMatchObject({ ok: false, code: 'PROTO_BAD_MESSAGE' });
  });

  it('reads ffmpeg and ros cameras and names the bad field', () => {
    expect(parseCameraConfigs([{ id: 'head', source: 'ffmpeg', input: '/dev/video0', format: 'v4l2', fps: 30 }, { id: 'wrist', source: 'ros', topic: '/wrist/image/compressed' }])).toEqual([
      { id: 'head', source: 'ffmpeg', input: '/dev/video0', format: 'v4l2', fps: 30 },
      { id: 'wrist', source: 'ros', topic: '/wrist/image/compressed', type: 'sensor_msgs/CompressedImage', throttleRateMs: 0, queueLength: 1, compression: 'cbor' },
    ]);
    expect(parseCameraConfigs([{ id: 'w', source: 'ros', topic: '/w', compression: 'none' }])[0]).toMatchObject({ compression: 'none' });
    expect(() => parseCameraConfigs([{ id: 'w', source: 'ros', topic: '/w', compression: 'png' }])).toThrow(/cameras\[0\]\.compression must be "cbor" or "none"/);
    expect(() => parseCameraConfigs([{ id: 'a b', source: 'ffmpeg', input: 'x' }])).toThrow(/cameras\[0\]\.id must be/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ros', topic: 'relative' }])).toThrow(/cameras\[0\]\.topic must be an absolute ROS topic name/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ffmpeg', input: 'x' }, { id: 'a', source: 'ffmpeg', input: 'y' }])).toThrow(/no other camera uses/);
    expect(() => parseCameraConfigs([{ id: 'a', source: 'usb' }])).toThrow(/source must be "ffmpeg" or "ros"/);
    try {
      parseRobotConfig({ cameras: [{ id: 'a', source: 'ffmpeg', input: 'x', fps: -1 }] });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('ROBOT_CONFIG_INVALID');
      expect((err as Error).message).toMatch(/cameras\[0\]\.fps must be a number in 0\.1\.\.240, got -1/);
    }
  });

  it('--camera specs: V4L2 devices, RTSP, ROS topics, files, demo', () => {
    expect(parseCameraSpec('head=/dev/video2')).toMatchObject({ source: 'ffmpeg', input: '/dev/video2', format: 'v4l2' });
    expect(parseCameraSpec('ip=rtsp://10.0.0.9/stream')).toMatchObject({ format: 'rtsp', inputOptions: ['-rtsp_transport', 'tcp'] });
    expect(parseCameraSpec('wrist=ros:/cam/image/compressed')).toMatchObject({ source: 'ros', topic: '/cam/image/compressed', type: 'sensor_msgs/CompressedImage' });
    expect(parseCameraSpec('raw=ros-raw:/cam/image_raw')).toMatchObject({ source: 'ros', topic: '/cam/image_raw', type: 'sensor_msgs/Image' });
    expect(() => parseCameraConfigs([{ id: 'a', source: 'ros', topic: '/a', type: 'sensor_msgs/PointCloud2' }])).toThrow(/cameras\[0\]\.type must be sensor_msgs\/CompressedImage or sensor_msgs\/Image/);
    expect(parseCameraSpec('f=clip.mp4')).toMatchObject({ source: 'ffmpeg', input: 'clip.mp4', realtime: true, loop: true });
    expect(parseCameraSpec('d=demo')).toMatchObject({ source: 'ffmpeg', format: 'lavfi' });
    expect(() => parseCameraSpec('/dev/video0')).toThrow(expect.objectContaining({ code: 'CAMERA_CONFIG_INVALID' }));
  });

  it('serve: --demo brings two synthetic cameras; --camera replaces them; a bad --camera is CLI_USAGE', () => {
    expect(parseServeArgs(['--demo']).cameras?.map((c) => c.id)).toEqual(['head', 'side']);
    expect(parseServeArgs(['--demo', '--no-demo-cameras']).cameras).toBeUndefined();
    expect(parseServeArgs(['--demo', '--camera', 'w=ros:/w/c']).cameras).toEqual([{ id: 'w', source: 'ros', topic: '/w/c', type: 'sensor_msgs/CompressedImage', throttleRateMs: 0, queueLength: 1, compression: 'cbor' }]);
    expect(() => parseServeArgs(['--camera', 'nothing'])).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    expect(() => parseServeArgs(['--camera', 'a=x.mp4', '--camera', 'a=y.mp4'])).toThrow(/ids must differ/);
  });
});

describe('FfmpegCamera', () => {
  it('delivers numbered JPEG frames on the server clock, and close leaves no process behind', async () => {
    const frames: CameraFrame[] = [];
    const cam = new FfmpegCamera({ id: 'c', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, now: () => performance.now() });
    cam.start((f) => frames.push(f));
    await until(() => frames.length >= 5, '5 frames');
    const pid = cam.pid!;
    expect(alive(pid)).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.captureTimeMs).toBeGreaterThanOrEqual(frames[i - 1]!.captureTimeMs);
    expect(frames[0]).toMatchObject({ cameraId: 'c', codec: 'jpeg', keyFrame: true, width: 160, height: 120 });
    expect(frames[0]!.data[0]).toBe(0xff);
    expect(cam.status(performance.now())).toMatchObject({ state: 'running', code: null, error: null });
    await cam.close();
    expect(alive(pid)).toBe(false);
  });

  it('a missing ffmpeg is CAMERA_FFMPEG_MISSING in its status, never an exception', async () => {
    const cam = new FfmpegCamera({ id: 'x', input: 'whatever', ffmpegPath: '/nonexistent/ffmpeg', now: () => performance.now(), restartMs: 60_000 });
    cam.start(() => undefined);
    await until(() => cam.status(performance.now()).code !== null, 'a status code');
    expect(cam.status(performance.now())).toMatchObject({ state: 'failed', code: 'CAMERA_FFMPEG_MISSING', frames: 0, ageMs: null });
    expect(cam.status(performance.now()).error).toMatch(/camera x: \/nonexistent\/ffmpeg not found/);
    await cam.close();
  });

  it('an input that cannot be opened is CAMERA_SOURCE_FAILED with what ffmpeg said', async () => {
    const cam = new FfmpegCamera({ id: 'gone', input: '/nonexistent/video.mp4', now: () => performance.now(), restartMs: 60_000 });
    cam.start(() => undefined);
    await until(() => cam.status(performance.now()).code !== null, 'a status code');
    const st = cam.status(performance.now());
    expect(st).toMatchObject({ state: 'failed', code: 'CAMERA_SOURCE_FAILED' });
    expect(st.error).toMatch(/camera gone: ffmpeg exited \(code \d+\): .*No such file or directory/);
    await cam.close();
  });
});

/**
 * A stand-in for ffmpeg in a new folder: a shell script (its body from `body(jpeg, mark)`, a JPEG
 * file it may send and a path it may create) that ignores ffmpeg's arguments.
 */
function fakeFfmpeg(body: (jpeg: string, mark: string) => string): { dir: string; fake: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dexbridge-fake-ffmpeg-'));
  const jpeg = join(dir, 'one.jpg');
  writeFileSync(jpeg, splitAll(mjpegStream(1))[0]!);
  const fake = join(dir, 'fake-ffmpeg');
  writeFileSync(fake, `#!/bin/sh\n${body(jpeg, join(dir, 'started'))}`);
  chmodSync(fake, 0o755);
  return { dir, fake };
}

describe('FfmpegCamera stalls', () => {
  it('a child that stops delivering is CAMERA_STALLED, killed and started again', async () => {
    // Stands in for an RTSP camera that hangs: one JPEG, then silence (the script ignores ffmpeg's arguments).
    const { dir, fake } = fakeFfmpeg((jpeg) => `cat '${jpeg}'\nexec sleep 60\n`);
    const cam = new FfmpegCamera({ id: 'hang', input: 'x', ffmpegPath: fake, now: () => performance.now(), stallMs: 300, restartMs: 100 });
    let frames = 0;
    cam.start(() => frames++);
    try {
      await until(() => frames === 1, 'the first frame');
      const first = cam.pid!;
      await until(() => cam.status(performance.now()).code === 'CAMERA_STALLED', 'CAMERA_STALLED');
      expect(cam.status(performance.now())).toMatchObject({ state: 'stalled', frames: 1 });
      expect(cam.status(performance.now()).error).toMatch(/camera hang: no frame for \d+ ms \(stall limit 300 ms\); restarting ffmpeg/);
      // Restarted: the new child delivers again, and the camera is running.
      await until(() => frames === 2, 'a frame from the restarted child');
      expect(cam.pid).not.toBe(first);
      expect(alive(first)).toBe(false);
      expect(cam.status(performance.now())).toMatchObject({ state: 'running', code: null });
    } finally {
      await cam.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FfmpegCamera restarts', () => {
  it('a restarted child has its own stall limit from its start: one slower to its first frame than the old frame is old is not killed again', async () => {
    // First child: one JPEG, then silence. Later children: 0.2 s to start (well under the 1 s limit), then a JPEG.
    const { dir, fake } = fakeFfmpeg(
      (jpeg, mark) => `if [ -e '${mark}' ]; then sleep 0.2; cat '${jpeg}'; exec sleep 60; fi\ntouch '${mark}'\ncat '${jpeg}'\nexec sleep 60\n`,
    );
    const cam = new FfmpegCamera({ id: 'slow', input: 'x', ffmpegPath: fake, now: () => performance.now(), stallMs: 1000, restartMs: 100 });
    let frames = 0;
    const pids = new Set<number>();
    cam.start(() => frames++);
    try {
      await until(() => frames === 1, 'the first frame');
      pids.add(cam.pid!);
      await until(() => {
        if (cam.pid !== undefined) pids.add(cam.pid);
        return frames === 2;
      }, 'a frame from the restarted child');
      // One restart for the stall, none for the slow start.
      expect(pids.size).toBe(2);
    } finally {
      await cam.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OutgoingBudget.camera', () => {
  it('sends a frame only when it fits under latestBytes with what is unsent, or onto an empty queue', () => {
    const sent: number[] = [];
    const sock = { bufferedAmount: 0, send: (d: string | Uint8Array) => sent.push(typeof d === 'string' ? d.length : d.byteLength) };
    const out = new OutgoingBudget(sock, resolveOutgoingOptions({ latestBytes: 1000, budgetBytes: 4000 }), 0);
    expect(out.camera(new Uint8Array(5000))).toBe(true); // empty queue: even a big frame goes
    sock.bufferedAmount = 600;
    expect(out.camera(new Uint8Array(400))).toBe(true);
    expect(out.camera(new Uint8Array(401))).toBe(false);
    expect(out.stats.skippedCamera).toBe(1);
    // A robot state is never skipped because of camera frames: they keep the queue within latestBytes.
    sock.bufferedAmount = 1000;
    expect(out.latest('state')).toBe(true);
  });
});

describe('cameras through a running dexbridge', () => {
  let run: RunningDexbridge | undefined;
  let peer: RosbridgePeer | undefined;
  const dirs: string[] = [];
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'dexbridge-cam-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    await run?.close();
    run = undefined;
    await peer?.stop();
    peer = undefined;
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('frames reach subscribed viewers and policies in order with sane ages; robot state keeps flowing', async () => {
    run = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off', cameras: [testCamera('head'), testCamera('side')] });
    const url = `ws://127.0.0.1:${run.port}/ws`;
    const viewer = await TestClient.hello(url, 'viewer');
    expect(viewer.json.find((m) => m.type === 'welcome')?.['cameras']).toEqual([
      { id: 'head', source: 'ffmpeg', codec: 'jpeg' },
      { id: 'side', source: 'ffmpeg', codec: 'jpeg' },
    ]);
    // Unknown camera: a coded error, nothing subscribed.
    viewer.send({ type: 'camera_subscribe', cameras: ['head', 'nope'] });
    const err = await viewer.waitJson((m) => m.type === 'error');
    expect(err).toMatchObject({ code: 'CAMERA_UNKNOWN', ref: 'camera_subscribe' });
    expect(err['message']).toMatch(/no camera "nope" \(cameras: head, side\)/);

    const frames = collectFrames(viewer);
    const statesBefore = viewer.states.length;
    viewer.send({ type: 'camera_subscribe', cameras: ['head'] });
    await viewer.waitJson((m) => m.type === 'ack' && m['ref'] === 'camera_subscribe');
    const ackAt = run.loop.now();
    const ages: number[] = [];
    viewer.ws.on('message', (data, isBinary) => {
      if (isBinary && (data as Buffer)[0] === MESSAGE_KIND.CAMERA_FRAME) {
        const f = decodeCameraFrame(data as Buffer);
        if (f.ok) ages.push(run!.loop.now() - f.captureTimeMs); // same process: the server clock itself
      }
    });
    const policy = await TestClient.hello(url, 'policy', POLICY);
    const policyFrames = collectFrames(policy);
    policy.send({ type: 'camera_subscribe', cameras: ['side', 'head'] });
    await viewer.until(() => frames.length >= 10 && policyFrames.filter((f) => f.cameraId === 'side').length >= 3, 30_000, 'camera frames');

    expect(new Set(frames.map((f) => f.cameraId))).toEqual(new Set(['head']));
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i]!.seq).toBeGreaterThan(frames[i - 1]!.seq);
      expect(frames[i]!.captureTimeMs).toBeGreaterThanOrEqual(frames[i - 1]!.captureTimeMs);
    }
    expect(frames[0]!.captureTimeMs).toBeGreaterThanOrEqual(ackAt - 1000); // a fresh frame, not an old one kept
    expect(frames.every((f) => f.codec === 'jpeg' && f.keyFrame && f.width === 160 && f.height === 120 && f.payload[0] === 0xff && f.payload[1] === 0xd8)).toBe(true);
    expect(ages.length).toBeGreaterThan(0);
    expect(ages.every((a) => a >= 0 && Number.isFinite(a))).toBe(true);
    // Robot state went on while the cameras streamed.
    expect(viewer.states.length).toBeGreaterThan(statesBefore);
    // Status says both cameras run.
    const st = await viewer.waitJson((m) => m.type === 'status' && Array.isArray(m['cameras']) && (m['cameras'] as { state: string }[]).every((c) => c.state === 'running'));
    expect((st['cameras'] as { id: string; frames: number }[]).map((c) => c.id)).toEqual(['head', 'side']);
    // Unsubscribing stops them.
    viewer.send({ type: 'camera_subscribe', cameras: [] });
    await viewer.waitJson((m) => m.type === 'ack' && m['ref'] === 'camera_subscribe');
    const pids = run.cameras.sources.map((s) => (s as FfmpegCamera).pid!);
    expect(pids.every(alive)).toBe(true);
    await run.close();
    run = undefined;
    // Shutdown kills every ffmpeg child.
    expect(pids.some(alive)).toBe(false);
    viewer.ws.terminate();
    policy.ws.terminate();
  });

  it('a tier is the same view at another size: a viewer picks it per camera, frames keep the camera id', async () => {
    const dir = tmp();
    run = await startDexbridge({
      port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: dir, record: 'off',
      cameras: [{ id: 'head', source: 'ffmpeg', input: 'testsrc2=size=160x120:rate=20', format: 'lavfi', realtime: true, tiers: [{ name: 'low', width: 80, height: 60, fps: 5 }] }],
    });
    const url = `ws://127.0.0.1:${run.port}/ws`;
    const full = await TestClient.hello(url, 'viewer');
    expect(full.json.find((m) => m.type === 'welcome')?.['cameras']).toEqual([{ id: 'head', source: 'ffmpeg', codec: 'jpeg', tiers: [{ name: 'low', width: 80, height: 60, fps: 5 }] }]);
    const low = await TestClient.hello(url, 'viewer');
    // A tier the camera does not have, or one for a camera not subscribed: refused, nothing changes.
    low.send({ type: 'camera_subscribe', cameras: ['head'], tiers: { head: 'tiny' } });
    expect((await low.waitJson((m) => m.type === 'error'))['message']).toMatch(/camera "head" has no tier "tiny" \(tiers: low\)/);
    low.send({ type: 'camera_subscribe', cameras: [], tiers: { head: 'low' } });
    expect(await low.waitJson((m) => m.type === 'error' && m['code'] === 'PROTO_BAD_MESSAGE')).toBeDefined();
    const fullFrames = collectFrames(full);
    const lowFrames = collectFrames(low);
    full.send({ type: 'camera_subscribe', cameras: ['head'] });
    low.send({ type: 'camera_subscribe', cameras: ['head'], tiers: { head: 'low' } });
    await full.until(() => fullFrames.length >= 5 && lowFrames.length >= 3, 30_000, 'frames of both tiers');
    expect(fullFrames.every((f) => f.cameraId === 'head' && f.width === 160 && f.height === 120)).toBe(true);
    expect(lowFrames.every((f) => f.cameraId === 'head' && f.width === 80 && f.height === 60)).toBe(true);
    // The tier's own ffmpeg reports as head@low.
    const st = await full.waitJson((m) => m.type === 'status' && Array.isArray(m['cameras']) && (m['cameras'] as { state: string }[]).every((c) => c.state === 'running'));
    expect((st['cameras'] as { id: string }[]).map((c) => c.id)).toEqual(['head', 'head@low']);
    // Back to the camera's own stream.
    low.send({ type: 'camera_subscribe', cameras: ['head'] });
    await low.waitJson((m) => m.type === 'ack' && m['ref'] === 'camera_subscribe', 30_000, low.json.length);
    const n = lowFrames.length;
    await low.until(() => lowFrames.length >= n + 3, 30_000, 'full frames again');
    expect(lowFrames.slice(n + 1).every((f) => f.width === 160)).toBe(true);
    full.ws.terminate();
    low.ws.terminate();
  });

  it('tiers in the config: ffmpeg sizes and rates, ROS topics; none for a V4L2 device; names distinct', () => {
    expect(parseCameraConfigs([{ id: 'h', source: 'ffmpeg', input: 'rtsp://x/1', format: 'rtsp', tiers: [{ name: 'low', width: 320, fps: 10 }] }])[0]).toMatchObject({ tiers: [{ name: 'low', width: 320, fps: 10 }] });
    expect(parseCameraConfigs([{ id: 'w', source: 'ros', topic: '/w/c', tiers: [{ name: 'small', topic: '/w_small/c', throttleRateMs: 100 }] }])[0]).toMatchObject({
      tiers: [{ name: 'small', topic: '/w_small/c', type: 'sensor_msgs/CompressedImage', throttleRateMs: 100, queueLength: 1 }],
    });
    expect(() => parseCameraConfigs([{ id: 'h', source: 'ffmpeg', input: '/dev/video0', format: 'v4l2', tiers: [{ name: 'low', width: 320 }] }])).toThrow(/cameras\[0\]\.tiers must be absent for a V4L2 device/);
    expect(() => parseCameraConfigs([{ id: 'h', source: 'ffmpeg', input: 'x', tiers: [{ name: 'a' }, { name: 'a' }] }])).toThrow(/cameras\[0\]\.tiers\[1\]\.name must be/);
    expect(() => parseCameraConfigs([{ id: 'h', source: 'ffmpeg', input: 'x', tiers: [{ name: 'a', topic: '/t' }] }])).toThrow(/cameras\[0\]\.tiers\[0\]\.topic must be absent/);
    expect(() => parseCameraConfigs([{ id: 'w', source: 'ros', topic: '/w', tiers: [{ name: 'a' }] }])).toThrow(/cameras\[0\]\.tiers\[0\]\.topic must be an absolute ROS topic name/);
  });

  it('a failing camera is a status flag with its code; the control loop and the other camera go on', async () => {
    run = await startDexbridge({
      port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off',
      cameras: [testCamera('ok'), { id: 'broken', source: 'ffmpeg', input: '/nonexistent/cam.mp4' }],
    });
    const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
    const st = await viewer.waitJson((m) => m.type === 'status' && (m['cameras'] as { id: string; state: string }[]).some((c) => c.id === 'broken' && c.state === 'failed') && (m['cameras'] as { id: string; state: string }[]).some((c) => c.id === 'ok' && c.state === 'running'));
    const broken = (st['cameras'] as { id: string; code: string; error: string }[]).find((c) => c.id === 'broken')!;
    expect(broken.code).toBe('CAMERA_SOURCE_FAILED');
    expect(broken.error).toMatch(/camera broken: ffmpeg exited/);
    const n = viewer.states.length;
    await viewer.until(() => viewer.states.length > n + 5, 30_000, 'robot states');
    viewer.ws.terminate();
  });

  for (const compression of ['cbor', 'none'] as const) it(`a ROS CompressedImage topic published through the rosbridge protocol peer arrives at a viewer (rosbridge compression ${compression})`, async () => {
    const topic = '/wrist_camera/image_raw/compressed';
    peer = await RosbridgePeer.start({ topics: { [topic]: 'sensor_msgs/CompressedImage' } });
    run = await startDexbridge({
      port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off', rosbridgeUrl: peer.url,
      cameras: [{ id: 'wrist', source: 'ros', topic, type: 'sensor_msgs/CompressedImage', throttleRateMs: 50, queueLength: 1, compression }],
    });
    await peer.waitFor(() => peer!.subscriberCount(topic) === 1, 'the image subscription');
    const sub = peer.opsOf('subscribe').find((o) => o.topic === topic)!;
    expect(sub.raw).toMatchObject({ type: 'sensor_msgs/CompressedImage', throttle_rate: 50, queue_length: 1, compression });
    const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
    const frames = collectFrames(viewer);
    viewer.send({ type: 'camera_subscribe', cameras: ['wrist'] });
    await viewer.waitJson((m) => m.type === 'ack');
    const jpegs = splitAll(mjpegStream(3));
    for (const [i, jpeg] of jpegs.entries()) {
      const wall = Date.now() - 5; // captured 5 ms before it was published
      peer.publish(topic, {
        header: { seq: i, stamp: { secs: Math.floor(wall / 1000), nsecs: (wall % 1000) * 1e6 }, frame_id: 'wrist_camera' },
        format: 'jpeg', data: Buffer.from(jpeg).toString('base64'),
      });
      await viewer.until(() => frames.length > i, 30_000, `ROS frame ${i}`);
    }
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2]);
    // cbor: every image came as one binary frame with raw bytes; none: as JSON with base64.
    expect(peer.binaryFramesSent).toBe(compression === 'cbor' ? 3 : 0);
    expect(frames.map((f) => Buffer.from(f.payload))).toEqual(jpegs.map((j) => Buffer.from(j)));
    expect(frames.every((f) => f.width === 160 && f.height === 120 && f.codec === 'jpeg')).toBe(true);
    // The header stamp, mapped onto the server clock, is the capture time: before the server had it.
    for (const f of frames) expect(f.captureTimeMs).toBeLessThanOrEqual(run.loop.now());
    // A malformed image is refused with a code in the status.
    peer.publish(topic, { header: { seq: 9, stamp: { secs: 0, nsecs: 0 }, frame_id: '' }, format: 'jpeg', data: Buffer.from('not a jpeg').toString('base64') });
    await until(() => run!.cameras.status()[0]!.code === 'CAMERA_BAD_FRAME', 'CAMERA_BAD_FRAME');
    expect(run.cameras.status()[0]!.error).toMatch(/camera wrist: \/wrist_camera\/image_raw\/compressed: format "jpeg" with data that is neither JPEG nor PNG/);
    expect(peer.violations).toEqual([]);
    viewer.ws.terminate();
  });

  it('a raw ROS sensor_msgs/Image (rgb8, bgr8) is encoded to JPEG with its colours and reaches a viewer; bad ones are CAMERA_BAD_FRAME', async () => {
    const topic = '/head_camera/image_raw';
    peer = await RosbridgePeer.start({ topics: { [topic]: 'sensor_msgs/Image' } });
    run = await startDexbridge({
      port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off', rosbridgeUrl: peer.url,
      cameras: [{ id: 'raw', source: 'ros', topic, type: 'sensor_msgs/Image', throttleRateMs: 0, queueLength: 1, compression: 'cbor' }],
    });
    await peer.waitFor(() => peer!.subscriberCount(topic) === 1, 'the image subscription');
    expect(peer.opsOf('subscribe').find((o) => o.topic === topic)!.raw).toMatchObject({ type: 'sensor_msgs/Image', compression: 'cbor' });
    const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
    const frames = collectFrames(viewer);
    viewer.send({ type: 'camera_subscribe', cameras: ['raw'] });
    await viewer.waitJson((m) => m.type === 'ack');
    // 32×24, left half pure red, right half pure blue; rows padded to 100 bytes (step > width × 3).
    const w = 32, h = 24, step = 100;
    const image = (encoding: 'rgb8' | 'bgr8'): Buffer => {
      const b = Buffer.alloc(step * h);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const red = x < w / 2;
        const [r, g, bl] = red ? [255, 0, 0] : [0, 0, 255];
        b.set(encoding === 'rgb8' ? [r, g, bl] : [bl, g, r], y * step + x * 3);
      }
      return b;
    };
    const header = (seq: number) => ({ seq, stamp: { secs: 0, nsecs: 0 }, frame_id: 'head' });
    for (const [i, encoding] of (['rgb8', 'bgr8'] as const).entries()) {
      peer.publish(topic, { header: header(i), height: h, width: w, encoding, is_bigendian: 0, step, data: image(encoding).toString('base64') });
      await viewer.until(() => frames.length > i, 30_000, `raw frame ${i}`);
    }
    for (const f of frames) {
      expect(f).toMatchObject({ codec: 'jpeg', width: w, height: h });
      // ffmpeg decodes it back: left red, right blue, whatever the ROS encoding was.
      const rgb = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { input: Buffer.from(f.payload) });
      const px = (x: number, y: number): number[] => Array.from(rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3));
      const [r1, , b1] = px(4, 12);
      const [r2, , b2] = px(28, 12);
      expect(r1! > 200 && b1! < 60 && b2! > 200 && r2! < 60, `left ${px(4, 12)} right ${px(28, 12)}`).toBe(true);
    }
    const pid = (run.cameras.sources[0] as RosCamera).encoderPid!;
    expect(alive(pid)).toBe(true);
    peer.publish(topic, { header: header(5), height: h, width: w, encoding: 'rgb8', is_bigendian: 0, step: 10, data: image('rgb8').toString('base64') });
    await until(() => run!.cameras.status()[0]!.code === 'CAMERA_BAD_FRAME', 'CAMERA_BAD_FRAME');
    expect(run.cameras.status()[0]!.error).toMatch(/step 10 is less than width × 3/);
    expect(peer.violations).toEqual([]);
    viewer.ws.terminate();
    await run.close();
    run = undefined;
    expect(alive(pid)).toBe(false);
  });

  it('a ROS camera without a rosbridge says so in its status', async () => {
    run = await startDexbridge({ port: 0, operatorToken: OP, policyToken: POLICY, recordingsDir: tmp(), record: 'off', cameras: [{ id: 'w', source: 'ros', topic: '/w', type: 'sensor_msgs/CompressedImage', throttleRateMs: 0, queueLength: 1, compression: 'cbor' }] });
    expect(run.cameras.status()[0]).toMatchObject({ state: 'failed', code: 'CAMERA_SOURCE_FAILED' });
    expect(run.cameras.status()[0]!.error).toMatch(/no rosbridge connection/);
  });
});
