/**
 * The whole process in its other configurations: the demo, TLS, ROS through a rosbridge protocol
 * peer, the IWER import over HTTP, and the serve / recover / retarget commands on recordings.
 */
import { copyFileSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { get as httpsGet } from 'node:https';
import { parseHandFramesJsonl, STATE_JOINT_NAMES } from '@dexbridge/retarget';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startDexbridge } from '../src/bridge/startDexbridge.js';
import { main } from '../src/cli/main.js';
import { parseServeArgs } from '../src/cli/serveCommand.js';
import { encodeHandFrame } from '../src/protocol/index.js';
import { recordDemo } from './support/recordDemo.js';
import { RosbridgePeer } from './support/rosbridgePeer.js';
import { TestClient } from './support/wsClient.js';
import { tempDirs } from './support/tempDirs.js';

const CAPTURE = new URL('../../test/fixtures/quest3-hands/cap.min.js', import.meta.url);
const tmp = tempDirs('serve');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function memoryIo(): { io: { stdout: { write(t: string): void }; stderr: { write(t: string): void } }; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t) => void out.push(t) }, stderr: { write: (t) => void err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('serve', () => {
  it('--demo drives the robot from the bundled session as if an operator were connected', async () => {
    const run = await startDexbridge({ port: 0, demo: true, recordingsDir: tmp(), record: 'off' });
    try {
      const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
      const states = await viewer.waitStates(60, 5000);
      expect(run.server.leaseHolder()).toBe('demo');
      expect(states.every((s) => s.mode === 'teleop' && s.leaseHeld)).toBe(true);
      const moved = Math.max(...Array.from(states[0]!.commanded, (v, i) => Math.abs(v - states.at(-1)!.commanded[i]!)));
      expect(moved).toBeGreaterThan(1e-3);
      // A real operator taking over ends the demo.
      const op = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'operator', run.operatorToken, 'human');
      op.send({ type: 'lease_request', takeover: true });
      await op.waitEvent('lease', { holder: 'human' });
      expect(run.demo?.active).toBe(false);
      await Promise.all([viewer.close(), op.close()]);
    } finally {
      await run.close();
    }
  });

  it('serves HTTPS and WSS with a generated certificate', async () => {
    const run = await startDexbridge({ port: 0, tls: 'generate', recordingsDir: tmp(), record: 'off' });
    try {
      expect(run.url).toMatch(/^https:/);
      expect(run.tls?.source).toBe('generated');
      const body = await new Promise<string>((done, fail) => {
        httpsGet(`${run.url}/api/info`, { rejectUnauthorized: false }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => void parts.push(d));
          res.on('end', () => done(Buffer.concat(parts).toString('utf8')));
        }).on('error', fail);
      });
      const info = JSON.parse(body) as { tls: boolean; lanUrls: string[] };
      expect(info.tls).toBe(true);
      // The dashboard's QR code points the Quest at these (none on a loopback bind).
      expect(info.lanUrls).toEqual(run.lanUrls);
      const ws = new WebSocket(`wss://127.0.0.1:${run.port}/ws`, { rejectUnauthorized: false });
      await new Promise<void>((done, fail) => {
        ws.once('open', () => done());
        ws.once('error', fail);
      });
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, role: 'viewer' }));
      const welcome = await new Promise<Record<string, unknown>>((done) => ws.on('message', (d, bin) => !bin && done(JSON.parse(String(d)) as Record<string, unknown>)));
      expect(welcome['type']).toBe('welcome');
      ws.close();
      // The certificate is refused by a client that checks it: it is self-signed.
      await expect(fetch(`${run.url}/api/info`)).rejects.toThrow();
    } finally {
      await run.close();
    }
  });

  it('publishes to ROS through rosbridge, shows measured joints, and survives rosbridge going away and coming back', async () => {
    const peer = await RosbridgePeer.start({ topics: { '/dexbridge/measured_joint_states': 'sensor_msgs/JointState' } });
    const run = await startDexbridge({ port: 0, demo: true, rosbridgeUrl: peer.url, recordingsDir: tmp(), record: 'off' });
    try {
      await peer.waitFor(() => peer.messages('/dexbridge/joint_states').length > 5, 'joint states', 5000);
      // The robot's measured state (as a driver would publish it) reaches viewers beside the command.
      const viewer = await TestClient.hello(`ws://127.0.0.1:${run.port}/ws`, 'viewer');
      const position = STATE_JOINT_NAMES.map((_, i) => i * 0.01);
      const measured = (): number =>
        peer.publish('/dexbridge/measured_joint_states', {
          header: { seq: 0, stamp: { secs: 1, nsecs: 0 }, frame_id: '' }, name: STATE_JOINT_NAMES, position, velocity: [], effort: [],
        });
      for (let i = 0; i < 5; i++) {
        measured();
        await sleep(50);
      }
      await viewer.until(() => viewer.states.some((s) => s.measuredValid && Math.abs(s.measured[10]! - 0.1) < 1e-6), 3000, 'measured joints in the state');
      await viewer.until(() => viewer.states.at(-1)?.rosConnected === true, 2000, 'ROS flag');
      expect(peer.violations).toEqual([]);
      // rosbridge disappears: dexbridge keeps serving; it returns: publishing resumes.
      await peer.stop();
      const during = await viewer.waitStates(30, 3000);
      expect(during.length).toBeGreaterThanOrEqual(30);
      await viewer.until(() => viewer.states.at(-1)?.rosConnected === false, 3000, 'ROS flag off');
      const before = peer.messages('/dexbridge/joint_states').length;
      await peer.listen();
      await peer.waitFor(() => peer.messages('/dexbridge/joint_states').length > before + 5, 'joint states again', 15000);
      expect(peer.violations).toEqual([]);
      await viewer.close();
    } finally {
      await run.close();
      await peer.stop();
    }
  });

  it('stamps every trajectory with the wall-clock time of the command it carries: the joint state of the same step has the same stamp', async () => {
    const peer = await RosbridgePeer.start();
    const run = await startDexbridge({ port: 0, demo: true, rosbridgeUrl: peer.url, recordingsDir: tmp(), record: 'off' });
    try {
      const TRAJ = '/dexbridge/left_arm/joint_trajectory';
      await peer.waitFor(() => peer.messages(TRAJ).length > 40, 'trajectories', 10_000);
      const stampMs = (m: unknown): number => {
        const st = ((m as Record<string, unknown>)['header'] as Record<string, unknown>)['stamp'] as { secs: number; nsecs: number };
        return st.secs * 1000 + st.nsecs / 1e6;
      };
      const trajectories = peer.messages(TRAJ).slice(-30).map(stampMs);
      // A step may publish its trajectory before its joint state: wait for the state of the last one.
      const last = trajectories[trajectories.length - 1]!;
      await peer.waitFor(() => peer.messages('/dexbridge/joint_states').some((m) => stampMs(m) >= last), 'the joint state of the last trajectory', 10_000);
      const states = new Set(peer.messages('/dexbridge/joint_states').map(stampMs));
      const unpaired = trajectories.filter((t) => !states.has(t));
      expect(unpaired, `unpaired trajectory stamps (messages the bridge dropped under backpressure: ${run.ros?.status().dropped})`).toEqual([]);
      // And they are the wall clock (not an operator's or a monotonic clock): within a few seconds of now.
      for (const t of trajectories) expect(Math.abs(Date.now() - t)).toBeLessThan(5000);
      expect(peer.violations).toEqual([]);
    } finally {
      await run.close();
      await peer.stop();
    }
  }, 30_000);

  it('imports an IWER capture over HTTP as a recording (operator token required)', async () => {
    const dir = tmp();
    const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'off', operatorToken: 'import-operator-token' });
    try {
      const text = readFileSync(CAPTURE, 'utf8');
      expect((await fetch(`${run.url}/api/recordings/import`, { method: 'POST', body: text })).status).toBe(401);
      const res = await fetch(`${run.url}/api/recordings/import?task=pick`, { method: 'POST', body: text, headers: { authorization: 'Bearer import-operator-token' } });
      expect(res.status).toBe(201);
      const { name } = (await res.json()) as { name: string };
      const list = (await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: { name: string; task: string; complete: boolean; durationS: number }[] };
      const rec = list.recordings.find((r) => r.name === name)!;
      expect(rec).toMatchObject({ task: 'pick', complete: true });
      expect(rec.durationS).toBeGreaterThan(5);
      const bad = await fetch(`${run.url}/api/recordings/import`, { method: 'POST', body: 'var a = {', headers: { authorization: 'Bearer import-operator-token' } });
      expect(bad.status).toBe(400);
    } finally {
      await run.close();
    }
  });

  it('keeps teleoperating when the recordings folder cannot be written, and says so', async () => {
    const dir = tmp();
    const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'session', operatorToken: 'unwritable-operator' });
    try {
      // The folder disappears and a file takes its name (root ignores permissions, so a chmod would not do).
      rmSync(dir, { recursive: true });
      writeFileSync(dir, 'not a folder');
      const url = `ws://127.0.0.1:${run.port}/ws`;
      const viewer = await TestClient.hello(url, 'viewer');
      const op = await TestClient.hello(url, 'operator', 'unwritable-operator', 'op');
      const failed = viewer.waitJson((m) => m.type === 'event' && m['event'] === 'recording' && typeof (m['detail'] as Record<string, unknown>)['error'] === 'string', 5000);
      const frames = parseHandFramesJsonl(readFileSync(new URL('../data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);
      const from = viewer.states.length;
      for (let i = 0; i < 40; i++) {
        op.sendBinary(encodeHandFrame(undefined, { seq: i + 1, tMs: performance.now(), left: frames[i]!.left, right: frames[i]!.right }));
        await sleep(11);
      }
      const ev = await failed;
      expect(String((ev['detail'] as Record<string, unknown>)['error'])).toMatch(/recording/);
      // Every frame was still answered, and no state claims to be recording.
      const during = viewer.states.slice(from);
      expect(during.filter((s) => s.sourceSeq > 0).length).toBeGreaterThan(30);
      expect(during.every((s) => !s.recording)).toBe(true);
      await Promise.all([viewer.close(), op.close()]);
    } finally {
      await run.close();
    }
  });

  it('edits a recording’s task and success over HTTP (operator only), for the listing and the dataset export', async () => {
    const dir = tmp();
    const run = await startDexbridge({ port: 0, recordingsDir: dir, record: 'off', operatorToken: 'edit-operator-token' });
    try {
      const auth = { authorization: 'Bearer edit-operator-token' };
      const imported = await fetch(`${run.url}/api/recordings/import`, { method: 'POST', body: readFileSync(CAPTURE, 'utf8'), headers: auth });
      const { name } = (await imported.json()) as { name: string };
      const patch = (body: string, headers: Record<string, string> = auth): Promise<Response> =>
        fetch(`${run.url}/api/recordings/${name}`, { method: 'PATCH', body, headers });
      expect((await patch('{"success":true}', {})).status).toBe(401);
      expect((await patch('{"success":"yes"}')).status).toBe(400);
      expect((await patch('{"owner":"me"}')).status).toBe(400);
      expect((await patch('not json')).status).toBe(400);
      expect((await fetch(`${run.url}/api/recordings/none.mcap`, { method: 'PATCH', body: '{}', headers: auth })).status).toBe(404);
      expect((await patch('{"task":"stack the cups","success":true}')).status).toBe(200);
      const list = (await (await fetch(`${run.url}/api/recordings`)).json()) as { recordings: { name: string; task: string; success: boolean | null }[] };
      expect(list.recordings.find((r) => r.name === name)).toMatchObject({ task: 'stack the cups', success: true });
      // The export takes successful recordings only: the edit is what makes this one count.
      const out = join(tmp(), 'ds');
      const io = memoryIo();
      expect(await main(['export', join(dir, name), '--format', 'lerobot', '--fps', '30', '--out', out], io.io), io.err()).toBe(0);
      expect(readFileSync(join(out, 'meta', 'info.json'), 'utf8')).toContain('"total_episodes": 1');
      // Deleting the recording removes its edits too.
      expect((await fetch(`${run.url}/api/recordings/${name}`, { method: 'DELETE', headers: auth })).status).toBe(204);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await run.close();
    }
  });

  it('parses serve options and refuses bad ones with CLI_USAGE', () => {
    expect(parseServeArgs(['--port', '0', '--host', '0.0.0.0', '--tls', '--record', 'manual', '--allow-origin', 'https://a', '--allow-origin', 'https://b'])).toMatchObject({
      port: 0, host: '0.0.0.0', tls: 'generate', record: 'manual', allowedOrigins: ['https://a', 'https://b'],
    });
    for (const bad of [['--port', 'x'], ['--record', 'always'], ['--cert', 'a.pem'], ['--tls', '--cert', 'a', '--key', 'b'], ['--rosbridge', 'http://x'], ['--operator-token', 'short'], ['--bogus']]) {
      expect(() => parseServeArgs(bad)).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    }
  });

  it('recover turns a recording cut mid-write into a valid one, and retarget reads recordings again', async () => {
    const dir = tmp();
    await recordDemo(dir, 200);
    const file = join(dir, readdirSync(dir).find((n) => n.endsWith('.mcap'))!);
    // Re-retarget the complete recording with another hand scale.
    const r1 = memoryIo();
    expect(await main(['retarget', file, '--hand-scale', '1.2', '--out', join(dir, 'again.jsonl')], r1.io), r1.err()).toBe(0);
    expect(r1.out()).toContain('1.200');
    expect(readFileSync(join(dir, 'again.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(100);
    // Cut it (as a crash mid-chunk would), then recover.
    const cut = join(dir, 'cut.mcap');
    copyFileSync(file, cut);
    truncateSync(cut, Math.floor(statSync(cut).size * 0.8));
    const r2 = memoryIo();
    expect(await main(['retarget', cut], r2.io)).toBe(2);
    expect(r2.err()).toContain('dexbridge recover');
    const r3 = memoryIo();
    expect(await main(['recover', cut], r3.io), r3.err()).toBe(0);
    const r4 = memoryIo();
    expect(await main(['retarget', join(dir, 'cut.recovered.mcap')], r4.io)).toBe(0);
    expect(r4.out()).toMatch(/frames\s+\d+/);
    const r5 = memoryIo();
    expect(await main(['recover', cut], r5.io)).toBe(2); // never overwrites
  });
});
