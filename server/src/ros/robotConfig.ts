/**
 * The robot config file: which ROS topic and message type drives each joint group, which joint
 * names the robot uses, and where its measured joint states come from — so a lab points dexbridge
 * at its own controllers (franka_ros, franka_ros2 / ros2_control) without code. Format and
 * examples: docs/ros.md ("Robot config file"); example files in `server/config/`.
 */
import { readFileSync } from 'node:fs';
import { type CameraConfig, parseCameraConfigs } from '../cameras/cameraConfig.js';
import { type TrajectoryGroup, TRAJECTORY_GROUPS, trajectoryJointNames } from './messages.js';

/** Message types an output may use (either dialect's spelling is accepted). */
export const OUTPUT_TYPES = ['trajectory_msgs/JointTrajectory', 'std_msgs/Float64MultiArray'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

/** One joint group → one controller topic. */
export interface RobotOutput {
  readonly group: TrajectoryGroup;
  /** Absolute topic name, e.g. `/left/effort_joint_trajectory_controller/command`. */
  readonly topic: string;
  readonly type: OutputType;
  /** The robot's names of the group's joints, in dexbridge's order (default dexbridge's names). */
  readonly jointNames: readonly string[];
}

export interface RobotConfig {
  /** rosbridge URL, used when `--rosbridge` is not given. */
  readonly rosbridgeUrl?: string;
  readonly rosVersion?: 1 | 2;
  /** Namespace of dexbridge's own topics (joint_states, action_chunk, …). */
  readonly prefix?: string;
  readonly outputs: readonly RobotOutput[];
  readonly measured: {
    /** `sensor_msgs/JointState` topic of the robot's measured joints (default `<prefix>/measured_joint_states`). */
    readonly topic?: string;
    /** The robot's joint name → dexbridge's joint name (names not listed are taken as they are). */
    readonly rename: Readonly<Record<string, string>>;
    /** Groups that must all be in a message for the measured state to be valid. */
    readonly expect: readonly TrajectoryGroup[];
  };
  /** Refuse to engage without fresh measured joints (recommended: true on a real robot). */
  readonly requireMeasured?: boolean;
  /** The robot's cameras: ffmpeg sources and ROS image topics (docs/cameras.md). */
  readonly cameras?: readonly CameraConfig[];
}

/** A config that is not valid; `code` is `ROBOT_CONFIG_INVALID`, the message names the field and value. */
export class RobotConfigError extends Error {
  readonly code = 'ROBOT_CONFIG_INVALID';
}

const TOPIC_RE = /^(\/[A-Za-z][A-Za-z0-9_]*)+$/;

function fail(path: string, expected: string, v: unknown): never {
  throw new RobotConfigError(`robot config: ${path} must be ${expected}, got ${JSON.stringify(v)}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function normalType(path: string, v: unknown): OutputType {
  if (typeof v !== 'string') fail(path, `one of ${OUTPUT_TYPES.join(', ')}`, v);
  const t = v.replace('/msg/', '/');
  if (!(OUTPUT_TYPES as readonly string[]).includes(t)) fail(path, `one of ${OUTPUT_TYPES.join(', ')} (ROS 2 spelling pkg/msg/Type accepted)`, v);
  return t as OutputType;
}

/**
 * Validates a parsed config (defaults filled in).
 * @throws RobotConfigError naming the first bad field.
 */
export function parseRobotConfig(value: unknown): RobotConfig {
  if (!isObj(value)) fail('the file', 'a JSON object', value);
  const known = ['rosbridgeUrl', 'rosVersion', 'prefix', 'outputs', 'measured', 'requireMeasured', 'cameras', 'comment'];
  for (const k of Object.keys(value)) if (!known.includes(k)) fail(k, `one of the known fields (${known.join(', ')})`, k);
  const out: { -readonly [K in keyof RobotConfig]: RobotConfig[K] } = { outputs: [], measured: { rename: {}, expect: TRAJECTORY_GROUPS } };
  if (value['rosbridgeUrl'] !== undefined) {
    const u = value['rosbridgeUrl'];
    if (typeof u !== 'string' || !/^wss?:\/\//.test(u)) fail('rosbridgeUrl', 'a ws:// or wss:// URL', u);
    out.rosbridgeUrl = u;
  }
  if (value['rosVersion'] !== undefined) {
    if (value['rosVersion'] !== 1 && value['rosVersion'] !== 2) fail('rosVersion', '1 or 2', value['rosVersion']);
    out.rosVersion = value['rosVersion'];
  }
  if (value['prefix'] !== undefined) {
    if (typeof value['prefix'] !== 'string' || !TOPIC_RE.test(value['prefix'])) fail('prefix', 'a ROS namespace like /dexbridge', value['prefix']);
    out.prefix = value['prefix'];
  }
  if (value['requireMeasured'] !== undefined) {
    if (typeof value['requireMeasured'] !== 'boolean') fail('requireMeasured', 'true or false', value['requireMeasured']);
    out.requireMeasured = value['requireMeasured'];
  }
  if (value['cameras'] !== undefined) {
    try {
      out.cameras = Object.freeze(parseCameraConfigs(value['cameras']));
    } catch (err) {
      // One code for every problem of the file; the message says which camera field.
      throw new RobotConfigError(`robot config: ${(err as Error).message}`);
    }
  }
  const outputs = value['outputs'] ?? [];
  if (!Array.isArray(outputs)) fail('outputs', 'an array', outputs);
  const topics = new Set<string>();
  out.outputs = outputs.map((o: unknown, i): RobotOutput => {
    const p = `outputs[${i}]`;
    if (!isObj(o)) fail(p, 'an object', o);
    const group = o['group'];
    if (typeof group !== 'string' || !(TRAJECTORY_GROUPS as readonly string[]).includes(group)) fail(`${p}.group`, `one of ${TRAJECTORY_GROUPS.join(', ')}`, group);
    const topic = o['topic'];
    if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) fail(`${p}.topic`, 'an absolute ROS topic name', topic);
    if (topics.has(topic)) fail(`${p}.topic`, 'a topic no other output uses', topic);
    topics.add(topic);
    const type = normalType(`${p}.type`, o['type']);
    const ours = trajectoryJointNames(group as TrajectoryGroup);
    let jointNames: readonly string[] = ours;
    if (o['jointNames'] !== undefined) {
      const j = o['jointNames'];
      if (!Array.isArray(j) || j.length !== ours.length || !j.every((n) => typeof n === 'string' && n.length > 0)) {
        fail(`${p}.jointNames`, `${ours.length} joint names (for ${ours.join(', ')})`, j);
      }
      jointNames = Object.freeze([...(j as string[])]);
    }
    return Object.freeze({ group: group as TrajectoryGroup, topic, type, jointNames });
  });
  const m = value['measured'] ?? {};
  if (!isObj(m)) fail('measured', 'an object', m);
  let rename: Record<string, string> = {};
  if (m['topic'] !== undefined && (typeof m['topic'] !== 'string' || !TOPIC_RE.test(m['topic']))) fail('measured.topic', 'an absolute ROS topic name', m['topic']);
  if (m['rename'] !== undefined) {
    const r = m['rename'];
    if (!isObj(r) || !Object.values(r).every((n) => typeof n === 'string')) fail('measured.rename', 'an object of robot name → dexbridge joint name', r);
    rename = { ...(r as Record<string, string>) };
  }
  // Outputs with robot-side names measure under the same names by default.
  for (const o of out.outputs) {
    const ours = trajectoryJointNames(o.group);
    o.jointNames.forEach((n, k) => {
      if (n !== ours[k] && rename[n] === undefined) rename[n] = ours[k]!;
    });
  }
  let expect: readonly TrajectoryGroup[] = TRAJECTORY_GROUPS;
  if (m['expect'] !== undefined) {
    const e = m['expect'];
    if (!Array.isArray(e) || e.length === 0 || !e.every((g) => (TRAJECTORY_GROUPS as readonly unknown[]).includes(g))) {
      fail('measured.expect', `a non-empty array of ${TRAJECTORY_GROUPS.join(', ')}`, e);
    }
    expect = Object.freeze([...(e as TrajectoryGroup[])]);
  }
  out.measured = Object.freeze({ ...(typeof m['topic'] === 'string' ? { topic: m['topic'] } : {}), rename: Object.freeze(rename), expect });
  return Object.freeze(out);
}

/**
 * Reads and validates a robot config file (JSON).
 * @throws RobotConfigError when it cannot be read, is not JSON, or is not valid.
 */
export function loadRobotConfig(path: string): RobotConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RobotConfigError(`robot config: cannot read ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RobotConfigError(`robot config: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseRobotConfig(value);
}
