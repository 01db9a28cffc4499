/**
 * RosBridge (server/src/ros) against a rosbridge v2 PROTOCOL PEER (test/support/rosbridgePeer.ts):
 * a strict stand-in that checks every op and every field of every message the way the rosbridge
 * spec and the standard message definitions require. It is not rosbridge; dexbridge is also run
 * against a real rosbridge_server outside CI (docs/ros.md).
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ACTION_DIM,
  ACTION_LAYOUT,
  type ActionChunk,
  createChunk,
  HAND_ACTIVE_SUFFIXES,
  STATE_JOINT_NAMES,
} from '@dexbridge/retarget';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  armJointNames,
  chunkArrayMsg,
  chunkTrajectoryMsg,
  f32,
  flangePoseMsg,
  handJointNames,
  jointStateMsg,
  jointTrajectoryMsg,
  msFromRosTime,
  quaternionFromRotationVector,
  rosTimeFromMs,
  rosTypeName,
  TRAJECTORY_GROUPS,
} from '../src/ros/messages.js';
import { type RosBridgeStatus, RosBridge, rosTopics } from '../src/ros/RosBridge.js';
import { loadRobotConfig, parseRobotConfig, type RobotConfigError } from '../src/ros/robotConfig.js';
import { trajectoryJointNames } from '../src/ros/messages.js';
import { ACTIVE_JOINT_NAMES } from '../src/control/activeJoints.js';
import { checkRosMessage, RosbridgePeer } from './support/rosbridgePeer.js';

const T = rosTopics('/dexbridge', 1);
const topic = (key: string): string => T.published.find((p) => p.key === key)!.name;
const JOINT_STATES = topic('jointStates');
const ACTION_CHUNK = topic('actionChunk');
const LEFT_ARM = topic('leftArmTrajectory');
const RIGHT_HAND = topic('rightHandTrajectory');
const LEFT_POSE = topic('leftFlangePose');
const MEASURED = T.measured.name;
const T_MS = 1_700_000_000_123.456;

const q56 = Float64Array.from(STATE_JOINT_NAMES, (_, i) => 0.01 * i - 0.2);
function makeAction(): Float32Array {
  const a = new Float32Array(ACTION_DIM);
  for (let i = 0; i < ACTION_DIM; i++) a[i] = 0.001 * i;
  a.set([0.4, 0.3, 1.0, 0, Math.PI / 2, 0], ACTION_LAYOUT.leftFlange.offset);
  a.set([0.4, -0.3, 1.0, 0.1, -0.2, 0.3], ACTION_LAYOUT.rightFlange.offset);
  return a;
}
function makeChunk(k: number, tag = 0): ActionChunk {
  const c = createChunk(k, 0, 20);
  for (let i = 0; i < c.data.length; i++) c.data[i] = 0.5 * Math.sin(i * 0.37) + tag;
  return c;
}
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;

describe('ROS message builders', () => {
  it('splits wall-clock ms into secs/nsecs (ROS 1) or sec/nanosec (ROS 2)', () => {
    expect(rosTimeFromMs(T_MS, 1)).toEqual({ secs: 1_700_000_000, nsecs: 123_456_000 });
    expect(rosTimeFromMs(T_MS, 2)).toEqual({ sec: 1_700_000_000, nanosec: 123_456_000 });
    expect(rosTimeFromMs(-1.5)).toEqual({ secs: -1, nsecs: 998_500_000 });
    expect(rosTimeFromMs(999.9999999)).toEqual({ secs: 1, nsecs: 0 });
    expect(msFromRosTime({ sec: 2, nanosec: 5e8 })).toBe(2500);
    expect(rosTypeName('jointState', 2)).toBe('sensor_msgs/msg/JointState');
  });

  it('builds complete messages that pass the peer checks in both dialects', () => {
    const action = makeAction();
    const chunk = makeChunk(5);
    for (const rv of [1, 2] as const) {
      const o = { seq: 7, stampMs: T_MS, rosVersion: rv };
      const js = jointStateMsg({ ...o, names: STATE_JOINT_NAMES, position: q56 });
      expect(checkRosMessage(rosTypeName('jointState', rv), js, rv)).toEqual([]);
      expect(checkRosMessage(rosTypeName('float32MultiArray', rv), chunkArrayMsg(chunk), rv)).toEqual([]);
      for (const g of TRAJECTORY_GROUPS) {
        expect(checkRosMessage(rosTypeName('jointTrajectory', rv), chunkTrajectoryMsg(g, chunk, o), rv)).toEqual([]);
      }
      const single = jointTrajectoryMsg({ ...o, jointNames: armJointNames('left'), points: [{ positions: q56.subarray(0, 7), timeFromStartMs: 20 }] });
      expect(checkRosMessage(rosTypeName('jointTrajectory', rv), single, rv)).toEqual([]);
      expect(checkRosMessage(rosTypeName('poseStamped', rv), flangePoseMsg('left', action, o), rv)).toEqual([]);
      // The other dialect's header is rejected (ROS 2 rosbridge has no header.seq; ROS 1 has no sec/nanosec).
      expect(checkRosMessage('sensor_msgs/JointState', js, rv === 1 ? 2 : 1).length).toBeGreaterThan(0);
    }
  });

  it('lays a K×88 chunk out as a 2-dim Float32MultiArray that round-trips to float32', () => {
    const chunk = makeChunk(3);
    const m = chunkArrayMsg(chunk);
    expect(m.layout).toEqual({
      dim: [
        { label: 'chunk', size: 3, stride: 3 * 88 },
        { label: 'action', size: 88, stride: 88 },
      ],
      data_offset: 0,
    });
    expect(m.data).toHaveLength(3 * 88);
    const back = JSON.parse(JSON.stringify(m.data)) as number[];
    expect(back.map(Math.fround)).toEqual([...chunk.data]);
    expect(f32(0.1)).toBe(0.100000001);
    expect(Math.fround(f32(0.1))).toBe(Math.fround(0.1));
  });

  it('turns a rotation vector into a unit quaternion', () => {
    const q = quaternionFromRotationVector(0, Math.PI / 2, 0);
    expect(q.x).toBe(0);
    expect(q.y).toBeCloseTo(Math.SQRT1_2, 12);
    expect(q.w).toBeCloseTo(Math.SQRT1_2, 12);
    expect(quaternionFromRotationVector(0, 0, 0)).toEqual({ x: 0, y: 0, z: 0, w: 1 });
  });
});

describe('the rosbridge protocol peer', () => {
  it('catches what rosbridge would reject', async () => {
    const peer = await RosbridgePeer.start();
    const ws = new WebSocket(peer.url);
    await new Promise((r) => ws.once('open', r));
    const good = jointStateMsg({ seq: 0, stampMs: T_MS, names: ['a'], position: [1] });
    const send = (m: unknown): void => ws.send(typeof m === 'string' ? m : JSON.stringify(m));
    send({ op: 'publish', topic: '/x', msg: good }); // not advertised
    send({ op: 'advertise', topic: 'no_slash', type: 'sensor_msgs/JointState' });
    send({ op: 'advertise', topic: '/x', type: 'JointState' });
    send({ op: 'advertise', topic: '/x', type: 'sensor_msgs/JointState' });
    send({ op: 'advertise', topic: '/x', type: 'std_msgs/Float32MultiArray' }); // type clash
    send({ op: 'publish', topic: '/x', msg: { ...good, effort: undefined } }); // missing field
    send({ op: 'publish', topic: '/x', msg: { ...good, position: [Number.NaN] } }); // null
    send({ op: 'publish', topic: '/x', msg: { ...good, header: { stamp: { sec: 1, nanosec: 0 }, frame_id: '' } } });
    send({ op: 'publish', topic: '/x', msg: { ...good, extra: 1 } });
    send({ op: 'publish', topic: '/x', msg: { ...good, position: [1, 2] } });
    send({ op: 'frobnicate', topic: '/x' });
    send({ topic: '/x' });
    send('not json');
    // The peer handles messages in order: once the last one (not JSON) is refused, all were.
    await peer.waitFor(() => peer.violations.some((v) => /not JSON/.test(v.message)), 'the last violation');
    const text = peer.violations.map((v) => v.message).join('\n');
    expect(text).toMatch(/not advertised/);
    expect(text).toMatch(/global ROS topic/);
    expect(text).toMatch(/"type" must be a message type/);
    expect(text).toMatch(/already exists with type/);
    expect(text).toMatch(/msg\.effort is missing/);
    expect(text).toMatch(/msg\.position\[0\] must be a finite float64, got null/);
    expect(text).toMatch(/msg\.header\.seq is missing/);
    expect(text).toMatch(/has no field "extra"/);
    expect(text).toMatch(/position has 2 values for 1 names/);
    expect(text).toMatch(/not a rosbridge op/);
    expect(text).toMatch(/no string "op"/);
    expect(text).toMatch(/not JSON/);
    ws.close();
    await peer.stop();
  });
});

describe('RosBridge against the rosbridge protocol peer', () => {
  let peer: RosbridgePeer;
  let bridge: RosBridge | undefined;
  const statuses: RosBridgeStatus[] = [];

  beforeEach(async () => {
    peer = await RosbridgePeer.start({ topics: { [MEASURED]: 'sensor_msgs/JointState' } });
    statuses.length = 0;
  });
  afterEach(async () => {
    await bridge?.close();
    bridge = undefined;
    await peer.stop();
  });

  function open(extra: Partial<ConstructorParameters<typeof RosBridge>[0]> = {}): RosBridge {
    bridge = new RosBridge({
      url: peer.url,
      reconnect: { initialMs: 50, maxMs: 200 },
      onStatus: (s) => statuses.push(s),
      ...extra,
    });
    return bridge;
  }
  const connected = (b: RosBridge): Promise<void> =>
    peer.waitFor(() => b.connected && peer.subscriberCount(MEASURED) === 1, 'RosBridge to connect and subscribe');

  it('advertises every topic with its standard type and subscribes the measured joint states', async () => {
    const b = open();
    await connected(b);
    await peer.waitFor(() => peer.opsOf('advertise').length === 8, '8 advertise ops');
    const advertised = Object.fromEntries(peer.opsOf('advertise').map((o) => [o.topic, o.type]));
    expect(advertised).toEqual({
      '/dexbridge/joint_states': 'sensor_msgs/JointState',
      '/dexbridge/action_chunk': 'std_msgs/Float32MultiArray',
      '/dexbridge/left_arm/joint_trajectory': 'trajectory_msgs/JointTrajectory',
      '/dexbridge/right_arm/joint_trajectory': 'trajectory_msgs/JointTrajectory',
      '/dexbridge/left_hand/joint_trajectory': 'trajectory_msgs/JointTrajectory',
      '/dexbridge/right_hand/joint_trajectory': 'trajectory_msgs/JointTrajectory',
      '/dexbridge/left_flange_pose': 'geometry_msgs/PoseStamped',
      '/dexbridge/right_flange_pose': 'geometry_msgs/PoseStamped',
    });
    const sub = peer.opsOf('subscribe');
    expect(sub.map((o) => [o.topic, o.type])).toEqual([[MEASURED, 'sensor_msgs/JointState']]);
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect(peer.violations).toEqual([]);
  });

  it('publishes complete, valid state and chunk messages', async () => {
    const b = open();
    await connected(b);
    const action = makeAction();
    const dq = new Float64Array(56).fill(0.5);
    b.publishState(T_MS, q56, action, dq);
    const K = 10;
    const chunk = makeChunk(K);
    b.publishChunk(T_MS + 40, chunk);
    await peer.waitFor(() => peer.messages(RIGHT_HAND).length === 1, 'the chunk messages');
    expect(peer.violations).toEqual([]);

    const js = obj(peer.last(JOINT_STATES));
    expect(js['name']).toEqual(STATE_JOINT_NAMES);
    expect(js['position']).toEqual([...q56]);
    expect(js['velocity']).toEqual([...dq]);
    expect(js['effort']).toEqual([]);
    expect(js['header']).toEqual({ seq: 0, stamp: { secs: 1_700_000_000, nsecs: 123_456_000 }, frame_id: '' });

    const pose = obj(obj(peer.last(LEFT_POSE))['pose']);
    expect(obj(obj(peer.last(LEFT_POSE))['header'])['frame_id']).toBe('base_link');
    expect(pose['position']).toEqual({ x: action[14], y: action[15], z: action[16] });
    const q = obj(pose['orientation']) as Record<string, number>;
    expect(q['y']).toBeCloseTo(Math.SQRT1_2, 6);
    expect(q['w']).toBeCloseTo(Math.SQRT1_2, 6);

    const arr = obj(peer.last(ACTION_CHUNK));
    expect(obj(arr['layout'])['dim']).toEqual([
      { label: 'chunk', size: K, stride: K * 88 },
      { label: 'action', size: 88, stride: 88 },
    ]);
    expect(obj(arr['layout'])['data_offset']).toBe(0);
    const data = arr['data'] as number[];
    expect(data).toHaveLength(K * 88);
    expect(data.map(Math.fround)).toEqual([...chunk.data]);

    const arm = obj(peer.last(LEFT_ARM));
    expect(arm['joint_names']).toEqual(armJointNames('left'));
    const points = arm['points'] as Obj[];
    expect(points).toHaveLength(K);
    expect(points[3]!['time_from_start']).toEqual({ secs: 0, nsecs: 60_000_000 });
    const off = ACTION_LAYOUT.leftArm.offset;
    expect((points[3]!['positions'] as number[]).map(Math.fround)).toEqual([...chunk.data.subarray(3 * 88 + off, 3 * 88 + off + 7)]);
    expect(obj(arm['header'])['stamp']).toEqual({ secs: 1_700_000_000, nsecs: 163_456_000 });

    const hand = obj(peer.last(RIGHT_HAND));
    expect(hand['joint_names']).toEqual(handJointNames('right'));
    expect(hand['joint_names']).toHaveLength(HAND_ACTIVE_SUFFIXES.length);
    expect(b.status()).toMatchObject({ published: 8, dropped: 0, invalid: 0 });
    expect(peer.warnings).toEqual([]);
  });

  it('rejects malformed input without throwing and throttles the state to publishRateHz', async () => {
    const b = open({ publishRateHz: 50 });
    await connected(b);
    const action = makeAction();
    const bad = Float64Array.from(q56);
    bad[3] = Number.NaN;
    expect(() => b.publishState(0, bad, action)).not.toThrow();
    expect(() => b.publishChunk(T_MS, { startTimeMs: 0, periodMs: 20, k: 2, data: new Float32Array(5) })).not.toThrow();
    expect(() => b.publishChunk(T_MS, { startTimeMs: 0, periodMs: 0, k: 1, data: new Float32Array(88) })).not.toThrow();
    expect(b.status().invalid).toBe(1 + 5 + 5);
    expect(b.status().lastError?.code).toBe('ROS_INVALID_INPUT');
    expect(() => b.publishState(50, q56, new Float32Array(10))).not.toThrow(); // joint_states only
    expect(b.status().lastError?.message).toBe('ros: publishState: action88 must have 88 numbers, got 10; right flange pose not sent');
    expect(b.status().invalid).toBe(1 + 5 + 5 + 2);
    for (let t = 100; t < 200; t += 5) b.publishState(t, q56, action);
    await peer.waitFor(() => peer.messages(JOINT_STATES).length === 6, '1 + 5 throttled joint states');
    expect(b.status().throttled).toBe(15);
    expect(peer.messages(LEFT_POSE)).toHaveLength(6); // the NaN call still sent its poses
    expect(peer.violations).toEqual([]);
  });

  it('maps the measured joint states from the robot by joint name', async () => {
    const seen: number[] = [];
    const b = open({ onMeasured: (m) => seen.push(m.matched) });
    await connected(b);
    const names = [STATE_JOINT_NAMES[20]!, 'some_other_joint', STATE_JOINT_NAMES[0]!, STATE_JOINT_NAMES[55]!];
    expect(
      peer.publish(MEASURED, {
        header: { seq: 1, stamp: { secs: 1_700_000_000, nsecs: 250_000_000 }, frame_id: '' },
        name: names,
        position: [0.2, 9, -0.5, 1.25],
        velocity: [],
        effort: [],
      }),
    ).toBe(1);
    await peer.waitFor(() => b.measured() !== null, 'the measured state');
    const m = b.measured()!;
    expect(m.q).toHaveLength(56);
    expect(m.q[20]).toBe(0.2);
    expect(m.q[0]).toBe(-0.5);
    expect(m.q[55]).toBe(1.25);
    expect([...m.q].filter(Number.isNaN)).toHaveLength(53);
    expect(m).toMatchObject({ matched: 3, unknownNames: 1, stampMs: 1_700_000_000_250 });
    expect(seen).toEqual([3]);
  });

  it('calls a measured state valid only when every expected joint matched, and counts unknown and duplicate names', async () => {
    const warnings: string[] = [];
    const b = open({ warn: (m) => warnings.push(m) });
    await connected(b);
    const send = (name: string[], position: number[]): void => {
      peer.publishUnchecked(MEASURED, { header: { seq: 1, stamp: { secs: 1, nsecs: 0 }, frame_id: '' }, name, position, velocity: [], effort: [] });
    };
    const next = async (what: string): Promise<NonNullable<ReturnType<RosBridge['measured']>>> => {
      const before = b.measured();
      await peer.waitFor(() => b.measured() !== before, what);
      return b.measured()!;
    };
    // Only unknown names: nothing matched, not valid.
    send(['nope_1', 'nope_2'], [1, 2]);
    expect(await next('unknown names')).toMatchObject({ matched: 0, unknownNames: 2, valid: false, expected: 46 });
    // Empty: not valid.
    send([], []);
    expect(await next('empty')).toMatchObject({ matched: 0, valid: false });
    // Every commanded joint once: valid.
    const active = ACTIVE_JOINT_NAMES as string[];
    send(active, active.map(() => 0.1));
    expect(await next('complete')).toMatchObject({ matched: 46, unknownNames: 0, duplicateNames: 0, valid: true });
    // A duplicate name makes it invalid (which value is right?).
    send([...active, active[0]!], [...active.map(() => 0.1), 0.5]);
    expect(await next('duplicate')).toMatchObject({ duplicateNames: 1, valid: false });
    // 56 names with 10 positions: malformed, ignored, with a warning.
    const last = b.measured();
    send(STATE_JOINT_NAMES as string[], new Array(10).fill(0));
    await peer.waitFor(() => b.status().lastError?.code === 'ROS_BAD_MEASURED' && b.status().lastError!.message.includes('10 positions'), 'the length error');
    expect(b.measured()).toBe(last);
    // 10,000 names: refused before any work.
    send(Array.from({ length: 10_000 }, (_, i) => `bogus_${i}`), new Array(10_000).fill(0));
    await peer.waitFor(() => b.status().lastError?.message.includes('10000 names') === true, 'the size error');
    expect(b.measured()).toBe(last);
    // Warnings are rate-limited per kind: one for the length problem however often it comes.
    for (let i = 0; i < 5; i++) send(STATE_JOINT_NAMES as string[], [1]);
    send(active, active.map(() => 0.2));
    await next('a valid one after the bad ones');
    expect(warnings.filter((w) => w.includes('positions')).length).toBe(1);
    expect(warnings.every((w) => w.startsWith('ROS_'))).toBe(true);
  });

  it('drives the controllers of a robot config: JointTrajectory with the robot\'s joint names, Float64MultiArray of a group\'s positions', async () => {
    const robot = parseRobotConfig({
      outputs: [
        { group: 'leftArm', topic: '/fr3_left/joint_trajectory_controller/command', type: 'trajectory_msgs/JointTrajectory', jointNames: [1, 2, 3, 4, 5, 6, 7].map((i) => `fr3_left_joint${i}`) },
        { group: 'rightHand', topic: '/right_hand_controller/commands', type: 'std_msgs/Float64MultiArray' },
      ],
      measured: { expect: ['leftArm'] },
    });
    const b = open({ robot });
    await connected(b);
    b.publishState(T_MS, q56, makeAction());
    b.publishChunk(T_MS, makeChunk(3));
    await peer.waitFor(() => peer.messages('/fr3_left/joint_trajectory_controller/command').length === 1 && peer.messages('/right_hand_controller/commands').length === 1, 'both outputs');
    expect(peer.opsOf('advertise').find((o) => o.topic === '/right_hand_controller/commands')?.type).toBe('std_msgs/Float64MultiArray');
    const traj = obj(peer.last('/fr3_left/joint_trajectory_controller/command'));
    expect(traj['joint_names']).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `fr3_left_joint${i}`));
    expect((traj['points'] as Obj[]).length).toBe(3);
    const hand = obj(peer.last('/right_hand_controller/commands'));
    const rightHandIdx = trajectoryJointNames('rightHand').map((n) => STATE_JOINT_NAMES.indexOf(n));
    expect(hand['data']).toEqual(rightHandIdx.map((i) => q56[i]));
    // The robot's names are understood on the measured side too.
    peer.publish(MEASURED, {
      header: { seq: 1, stamp: { secs: 1, nsecs: 0 }, frame_id: '' },
      name: [1, 2, 3, 4, 5, 6, 7].map((i) => `fr3_left_joint${i}`), position: [0.1, 0.2, 0.3, -1, 0.5, 1.5, 0.7], velocity: [], effort: [],
    });
    await peer.waitFor(() => b.measured() !== null, 'measured');
    expect(b.measured()).toMatchObject({ matched: 7, expected: 7, valid: true });
    expect(b.measured()!.q[0]).toBe(0.1);
    expect(peer.violations).toEqual([]);
  });

  it('refuses a robot config with a coded error naming the bad field', () => {
    expect(() => parseRobotConfig({ outputs: [{ group: 'leftArm', topic: 'no-slash', type: 'trajectory_msgs/JointTrajectory' }] })).toThrow(/outputs\[0\]\.topic/);
    expect(() => parseRobotConfig({ outputs: [{ group: 'leftArm', topic: '/a', type: 'std_msgs/String' }] })).toThrow(/outputs\[0\]\.type/);
    expect(() => parseRobotConfig({ outputs: [{ group: 'leftArm', topic: '/a', type: 'trajectory_msgs/JointTrajectory', jointNames: ['x'] }] })).toThrow(/7 joint names/);
    try {
      parseRobotConfig({ bogus: 1 });
    } catch (e) {
      expect((e as RobotConfigError).code).toBe('ROBOT_CONFIG_INVALID');
    }
    for (const file of ['franka_ros1.json', 'franka_ros2.json']) {
      expect(() => loadRobotConfig(fileURLToPath(new URL(`../config/${file}`, import.meta.url)))).not.toThrow();
    }
  });

  it('drops while rosbridge is gone, reconnects with backoff on the same port, re-advertises and resumes', async () => {
    const b = open({ random: () => 0.5 });
    await connected(b);
    const action = makeAction();
    b.publishState(T_MS, q56, action);
    await peer.waitFor(() => peer.messages(JOINT_STATES).length === 1, 'first joint state');

    await peer.stop(); // abrupt, like a crashed rosbridge
    await peer.waitFor(() => !b.connected, 'RosBridge to notice');
    expect(b.status().lastError?.code).toBe('ROS_CONNECTION_LOST');

    const before = b.status();
    const heapBefore = process.memoryUsage().heapUsed;
    const chunk = makeChunk(50);
    for (let i = 0; i < 20_000; i++) {
      b.publishState(T_MS + i, q56, action);
      if (i % 100 === 0) b.publishChunk(T_MS + i, chunk);
    }
    const after = b.status();
    expect(after.dropped - before.dropped).toBe(20_000 * 3 + 200 * 5);
    expect(after.pending).toBe(0);
    expect(after.bufferedBytes).toBe(0);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);

    // Let a few attempts fail: delays double from initialMs (× 0.75 with random 0.5) up to maxMs.
    await peer.waitFor(() => b.status().attempts >= 4, '4 failed attempts');
    const delays = statuses.filter((s) => s.state === 'backoff').map((s) => s.retryInMs);
    expect(delays.slice(0, 4)).toEqual([38, 75, 150, 150]);
    expect(statuses.at(-1)?.lastError?.code).toBe('ROS_CONNECT_FAILED');

    await peer.listen(); // same port
    await connected(b);
    expect(b.status()).toMatchObject({ connected: true, reconnects: 1, attempts: 0 });
    await peer.waitFor(() => peer.opsOf('advertise').filter((o) => o.client > 1).length === 8, 're-advertise');
    b.publishState(T_MS + 1e6, q56, action);
    b.publishChunk(T_MS + 1e6, makeChunk(4));
    await peer.waitFor(() => peer.messages(ACTION_CHUNK).length === 1 && peer.messages(JOINT_STATES).length === 2, 'messages after reconnect');
    expect(obj(obj(peer.last(JOINT_STATES))['header'])['stamp']).toEqual({ secs: 1_700_001_000, nsecs: 123_456_000 });
    expect(peer.violations).toEqual([]);
  });

  it('drops (latest wins) instead of queueing when the socket backs up', async () => {
    const maxBufferedBytes = 64 * 1024;
    const b = open({ maxBufferedBytes });
    await connected(b);
    peer.stall(true);
    const N = 60;
    let maxBuffered = 0;
    for (let i = 0; i < N; i++) {
      b.publishChunk(T_MS + i, makeChunk(256, i));
      maxBuffered = Math.max(maxBuffered, b.status().bufferedBytes);
    }
    const s = b.status();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.pending).toBeGreaterThan(0);
    expect(s.pending).toBeLessThanOrEqual(8);
    // At most one message beyond the threshold is handed to the socket (a K = 256 trajectory < 1 MiB).
    expect(maxBuffered).toBeLessThan(maxBufferedBytes + 1024 * 1024);
    peer.stall(false);
    // The newest chunk arrives once the socket drains.
    const tag = N - 1;
    await peer.waitFor(() => {
      const last = peer.last(ACTION_CHUNK) as { data: number[] } | undefined;
      return last !== undefined && Math.abs(last.data[0]! - (0 + tag)) < 1e-3;
    }, 'the latest chunk', 8000);
    expect(peer.messages(ACTION_CHUNK).length).toBeLessThan(N);
    await peer.waitFor(() => b.status().pending === 0, 'the slots to empty');
    const end = b.status();
    expect(end.published + end.dropped).toBe(N * 5);
    expect(peer.violations).toEqual([]);
  });

  it('speaks the ROS 2 dialect end to end', async () => {
    await peer.stop();
    peer = await RosbridgePeer.start({ rosVersion: 2, topics: { [MEASURED]: 'sensor_msgs/msg/JointState' } });
    const b = open({ rosVersion: 2 });
    await connected(b);
    b.publishState(T_MS, q56, makeAction());
    b.publishChunk(T_MS, makeChunk(3));
    await peer.waitFor(() => peer.messages(RIGHT_HAND).length === 1, 'ROS 2 messages');
    expect(peer.opsOf('advertise').find((o) => o.topic === JOINT_STATES)?.type).toBe('sensor_msgs/msg/JointState');
    expect(obj(peer.last(JOINT_STATES))['header']).toEqual({ stamp: { sec: 1_700_000_000, nanosec: 123_456_000 }, frame_id: '' });
    expect((obj(peer.last(LEFT_ARM))['points'] as Obj[])[1]!['time_from_start']).toEqual({ sec: 0, nanosec: 20_000_000 });
    peer.publish(MEASURED, {
      header: { stamp: { sec: 5, nanosec: 0 }, frame_id: '' },
      name: [STATE_JOINT_NAMES[1]!],
      position: [0.7],
      velocity: [],
      effort: [],
    });
    await peer.waitFor(() => b.measured() !== null, 'ROS 2 measured state');
    expect(b.measured()).toMatchObject({ stampMs: 5000, matched: 1 });
    expect(peer.violations).toEqual([]);
  });

  it('close() unadvertises, unsubscribes and leaves no timer or socket behind', async () => {
    const b = open();
    await connected(b);
    await b.close();
    expect(b.status().state).toBe('closed');
    await peer.waitFor(() => peer.clientCount === 0, 'the socket to close');
    expect(peer.opsOf('unadvertise')).toHaveLength(8);
    expect(peer.opsOf('unsubscribe')).toHaveLength(1);
    expect(() => b.publishState(T_MS, q56, makeAction())).not.toThrow();

    // Closing while waiting to reconnect cancels the backoff timer. Counting the process's timers
    // would also count other sockets' close timers: watch this backoff's own timer instead.
    const b2 = new RosBridge({ url: peer.url, reconnect: { initialMs: 5000, maxMs: 5000 } });
    await peer.waitFor(() => b2.connected, 'second bridge');
    const set = vi.spyOn(globalThis, 'setTimeout');
    const cleared = vi.spyOn(globalThis, 'clearTimeout');
    try {
      await peer.stop();
      await peer.waitFor(() => b2.status().state === 'backoff', 'backoff');
      const delay = b2.status().retryInMs;
      const backoff = set.mock.calls.flatMap((call, i) => (call[1] === delay ? [set.mock.results[i]!.value as unknown] : []));
      expect(backoff).toHaveLength(1);
      await b2.close();
      expect(cleared.mock.calls.map((call) => call[0] as unknown)).toContain(backoff[0]);
    } finally {
      set.mockRestore();
      cleared.mockRestore();
    }
    expect(peer.violations).toEqual([]);
  });

  it('a process that used RosBridge exits by itself after close()', async () => {
    const script = `
      import { RosBridge } from ${JSON.stringify(fileURLToPath(new URL('../src/ros/RosBridge.ts', import.meta.url)))};
      const b = new RosBridge({ url: ${JSON.stringify(peer.url)}, reconnect: { initialMs: 20, maxMs: 40 } });
      const until = (p) => new Promise((r) => { const i = setInterval(() => { if (p()) { clearInterval(i); r(); } }, 5); });
      await until(() => b.connected);
      b.publishState(Date.now(), new Float64Array(56), new Float64Array(88));
      await b.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const kill = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`child did not exit within 60 s: ${out}`));
      }, 60_000);
      child.once('exit', (c) => {
        clearTimeout(kill);
        resolve(c);
      });
    });
    expect(out.trim()).toBe('closed');
    expect(code).toBe(0);
    expect(peer.violations).toEqual([]);
  });
});
