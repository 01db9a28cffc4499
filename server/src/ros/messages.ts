/**
 * Builders of complete standard ROS messages as plain JSON-ready objects, for rosbridge v2.
 *
 * rosbridge fills missing fields with defaults, but dexbridge always sends every field of the
 * standard message: headers with stamps, joint names, layout dims. Numbers go out as plain
 * `number[]` (never typed arrays: `JSON.stringify` turns those into objects).
 *
 * ROS 1 vs ROS 2 (`rosVersion`):
 * - ROS 1 (`std_msgs/Header`): `{ seq, stamp: { secs, nsecs }, frame_id }`; durations
 *   `{ secs, nsecs }`; types spelled `pkg/Msg`.
 * - ROS 2 (`std_msgs/msg/Header`): `{ stamp: { sec, nanosec }, frame_id }` (no `seq`: ROS 2's
 *   rosbridge rejects a field the message does not have); durations `{ sec, nanosec }`; types
 *   spelled `pkg/msg/Msg`.
 *
 * Times are wall-clock milliseconds since the Unix epoch, split into whole seconds (floor) and
 * nanoseconds in [0, 1e9).
 *
 * Frames: joint states and trajectories carry `frame_id: ''` (joint space has no frame);
 * flange poses are in the rig's `base_link` ({@link RIG_ROOT_LINK}).
 */

import {
  ACTION_DIM,
  ACTION_LAYOUT,
  ARM_DOF,
  type ActionChunk,
  HAND_ACTIVE_SUFFIXES,
  RIG_ROOT_LINK,
  type Side,
  armJointName,
  handJointName,
} from '@dexbridge/retarget';

/** Which rosbridge dialect to speak: ROS 1 (`secs/nsecs`, `seq`) or ROS 2 (`sec/nanosec`). */
export type RosVersion = 1 | 2;

/** ROS 1 `time` / `duration`. */
export interface RosTime1 {
  secs: number;
  nsecs: number;
}
/** ROS 2 `builtin_interfaces/Time` / `Duration`. */
export interface RosTime2 {
  sec: number;
  nanosec: number;
}
export type RosTimeMsg = RosTime1 | RosTime2;

/** `std_msgs/Header`; `seq` only with ROS 1. */
export interface HeaderMsg {
  seq?: number;
  stamp: RosTimeMsg;
  frame_id: string;
}

/** `sensor_msgs/JointState`. */
export interface JointStateMsg {
  header: HeaderMsg;
  name: string[];
  position: number[];
  velocity: number[];
  effort: number[];
}

/** `std_msgs/MultiArrayDimension`. */
export interface MultiArrayDimensionMsg {
  label: string;
  size: number;
  stride: number;
}

/** `std_msgs/Float32MultiArray`. */
export interface Float32MultiArrayMsg {
  layout: { dim: MultiArrayDimensionMsg[]; data_offset: number };
  data: number[];
}

/** `trajectory_msgs/JointTrajectoryPoint`. */
export interface JointTrajectoryPointMsg {
  positions: number[];
  velocities: number[];
  accelerations: number[];
  effort: number[];
  time_from_start: RosTimeMsg;
}

/** `trajectory_msgs/JointTrajectory`. */
export interface JointTrajectoryMsg {
  header: HeaderMsg;
  joint_names: string[];
  points: JointTrajectoryPointMsg[];
}

/** `geometry_msgs/PoseStamped`. */
export interface PoseStampedMsg {
  header: HeaderMsg;
  pose: {
    position: { x: number; y: number; z: number };
    orientation: { x: number; y: number; z: number; w: number };
  };
}

/** The standard message types dexbridge uses, by their ROS 1 names. */
export const ROS_TYPES = {
  jointState: 'sensor_msgs/JointState',
  float32MultiArray: 'std_msgs/Float32MultiArray',
  float64MultiArray: 'std_msgs/Float64MultiArray',
  jointTrajectory: 'trajectory_msgs/JointTrajectory',
  poseStamped: 'geometry_msgs/PoseStamped',
} as const;
export type RosTypeKey = keyof typeof ROS_TYPES;

/** A type name as the given rosbridge dialect spells it: `pkg/Msg` (ROS 1) or `pkg/msg/Msg` (ROS 2). */
export function rosTypeName(key: RosTypeKey, rosVersion: RosVersion = 1): string {
  const t = ROS_TYPES[key];
  if (rosVersion === 1) return t;
  const slash = t.indexOf('/');
  return `${t.slice(0, slash)}/msg/${t.slice(slash + 1)}`;
}

/** Labels of the two layout dims of an action-chunk `Float32MultiArray`. */
export const CHUNK_DIM_LABELS = ['chunk', 'action'] as const;

/**
 * Split milliseconds into whole seconds (floor, so negative times work too) and nanoseconds in
 * [0, 1e9), in the given dialect. Rounded to the microsecond: a double holding epoch milliseconds
 * (~1.7e12) resolves only ~0.25 µs, so finer digits would be noise. Non-finite input gives zero.
 */
export function rosTimeFromMs(ms: number, rosVersion: RosVersion = 1): RosTimeMsg {
  let secs = 0;
  let nsecs = 0;
  if (Number.isFinite(ms)) {
    const us = Math.round(ms * 1000);
    secs = Math.floor(us / 1e6);
    nsecs = (us - secs * 1e6) * 1000;
  }
  return rosVersion === 1 ? { secs, nsecs } : { sec: secs, nanosec: nsecs };
}

/** Milliseconds of a ROS 1 (`secs/nsecs`) or ROS 2 (`sec/nanosec`) time; NaN if it is neither. */
export function msFromRosTime(t: unknown): number {
  if (typeof t !== 'object' || t === null) return Number.NaN;
  const o = t as Record<string, unknown>;
  const s = o['secs'] ?? o['sec'];
  const n = o['nsecs'] ?? o['nanosec'];
  if (typeof s !== 'number' || typeof n !== 'number') return Number.NaN;
  return s * 1000 + n / 1e6;
}

/** A complete `std_msgs/Header`: `seq` only with ROS 1. */
export function headerMsg(seq: number, stampMs: number, frameId: string, rosVersion: RosVersion = 1): HeaderMsg {
  const stamp = rosTimeFromMs(stampMs, rosVersion);
  return rosVersion === 1 ? { seq: seq >>> 0, stamp, frame_id: frameId } : { stamp, frame_id: frameId };
}

/** Common header inputs of every builder. */
export interface StampOptions {
  /** `header.seq` (ROS 1 only; wraps at 2^32). */
  readonly seq: number;
  /** `header.stamp`, wall-clock ms since the Unix epoch. */
  readonly stampMs: number;
  readonly rosVersion?: RosVersion;
}

/**
 * A float32 value as the double nearest its 9-significant-digit decimal, which always reads back
 * (float64 → float32 in rosbridge) as the same float32: chunk data then costs about half the JSON
 * characters of its exact float64 expansion (0.1f is `0.100000001`, not `0.10000000149011612`).
 */
export const f32 = (v: number): number => Number(Math.fround(v).toPrecision(9));

function toArray(src: ArrayLike<number>, from: number, count: number, round: boolean): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const v = src[from + i]!;
    out[i] = round ? f32(v) : v;
  }
  return out;
}

/** `sensor_msgs/JointState` inputs. */
export interface JointStateOptions extends StampOptions {
  readonly names: readonly string[];
  /** One position per name (rad). */
  readonly position: ArrayLike<number>;
  /** Empty / absent, or one velocity per name (rad/s). */
  readonly velocity?: ArrayLike<number>;
  /** Default `''`: joint space has no frame. */
  readonly frameId?: string;
}

/**
 * A complete `sensor_msgs/JointState`: `effort` is always empty (dexbridge commands positions),
 * `velocity` empty unless given.
 * @throws RangeError if `position` (or a given `velocity`) does not have one value per name.
 */
export function jointStateMsg(o: JointStateOptions): JointStateMsg {
  const n = o.names.length;
  if (o.position.length !== n) {
    throw new RangeError(`ros: JointState needs ${n} positions (one per name), got ${o.position.length}`);
  }
  const vel = o.velocity;
  if (vel !== undefined && vel.length !== 0 && vel.length !== n) {
    throw new RangeError(`ros: JointState velocity must be empty or ${n} long, got ${vel.length}`);
  }
  return {
    header: headerMsg(o.seq, o.stampMs, o.frameId ?? '', o.rosVersion),
    name: [...o.names],
    position: toArray(o.position, 0, n, false),
    velocity: vel === undefined ? [] : toArray(vel, 0, vel.length, false),
    effort: [],
  };
}

/**
 * A complete `std_msgs/Float32MultiArray` of a K×88 chunk, row-major:
 * `layout.dim = [{label: 'chunk', size: K, stride: K·88}, {label: 'action', size: 88, stride: 88}]`,
 * `data_offset = 0`, `data` K·88 float32 values. The message has no header and no time: the row-0
 * time and the period travel in the joint trajectories published with it.
 * @throws RangeError if `chunk.data` is not `k × 88` long.
 */
export function chunkArrayMsg(chunk: Pick<ActionChunk, 'k' | 'data'>): Float32MultiArrayMsg {
  const { k, data } = chunk;
  if (!Number.isInteger(k) || k < 1 || data.length !== k * ACTION_DIM) {
    throw new RangeError(`ros: chunk of k = ${k} rows needs ${k * ACTION_DIM} numbers, got ${data.length}`);
  }
  return {
    layout: {
      dim: [
        { label: CHUNK_DIM_LABELS[0], size: k, stride: k * ACTION_DIM },
        { label: CHUNK_DIM_LABELS[1], size: ACTION_DIM, stride: ACTION_DIM },
      ],
      data_offset: 0,
    },
    data: toArray(data, 0, k * ACTION_DIM, true),
  };
}

/** `std_msgs/Float64MultiArray`. */
export interface Float64MultiArrayMsg {
  layout: { dim: MultiArrayDimensionMsg[]; data_offset: number };
  data: number[];
}

/**
 * A complete `std_msgs/Float64MultiArray` of one joint group's positions (rad), as a ros2_control
 * forward position controller (`forward_command_controller`) takes them: one dim labelled
 * `joints`, the values in the controller's joint order. Such a controller has no time: the
 * message is the command for now.
 */
export function positionsArrayMsg(positions: ArrayLike<number>): Float64MultiArrayMsg {
  const n = positions.length;
  return { layout: { dim: [{ label: 'joints', size: n, stride: n }], data_offset: 0 }, data: toArray(positions, 0, n, false) };
}

/** The 7 FR3 joint names of one arm, in action order. */
export const armJointNames = (side: Side): string[] => Array.from({ length: ARM_DOF }, (_, i) => armJointName(side, i));

/**
 * The 16 ACTIVE joint names of one hand, in action order. Hand trajectories carry only these: the
 * 5 passive joints (thumb IP, finger DIPs) are driven by the linkage, not by an actuator, so a
 * controller cannot command them (their positions are in `joint_states`).
 */
export const handJointNames = (side: Side): string[] => HAND_ACTIVE_SUFFIXES.map((s) => handJointName(side, s));

/** The joint-group trajectories that are built from a chunk. */
export type TrajectoryGroup = 'leftArm' | 'rightArm' | 'leftHand' | 'rightHand';
export const TRAJECTORY_GROUPS: readonly TrajectoryGroup[] = ['leftArm', 'rightArm', 'leftHand', 'rightHand'];

/** Joint names of a trajectory group (7 per arm, 16 active per hand). */
export function trajectoryJointNames(group: TrajectoryGroup): string[] {
  const side = ACTION_LAYOUT[group].side;
  return group.endsWith('Arm') ? armJointNames(side) : handJointNames(side);
}

/** One point of a trajectory. */
export interface TrajectoryPointInput {
  readonly positions: ArrayLike<number>;
  /** Time after `header.stamp` (ms). */
  readonly timeFromStartMs: number;
}

/** `trajectory_msgs/JointTrajectory` inputs. */
export interface JointTrajectoryOptions extends StampOptions {
  readonly jointNames: readonly string[];
  readonly points: readonly TrajectoryPointInput[];
  /** Default `''`. */
  readonly frameId?: string;
}

function trajectoryPoint(positions: number[], timeFromStartMs: number, rosVersion: RosVersion): JointTrajectoryPointMsg {
  return {
    positions,
    velocities: [],
    accelerations: [],
    effort: [],
    time_from_start: rosTimeFromMs(timeFromStartMs, rosVersion),
  };
}

/**
 * A complete `trajectory_msgs/JointTrajectory` (e.g. a single point). Points carry positions only
 * (velocities, accelerations and effort empty): a ROS trajectory controller then interpolates
 * positions linearly between points instead of fitting splines through guessed velocities.
 * @throws RangeError if a point does not have one position per joint.
 */
export function jointTrajectoryMsg(o: JointTrajectoryOptions): JointTrajectoryMsg {
  const rv = o.rosVersion ?? 1;
  const n = o.jointNames.length;
  return {
    header: headerMsg(o.seq, o.stampMs, o.frameId ?? '', rv),
    joint_names: [...o.jointNames],
    points: o.points.map((p, i) => {
      if (p.positions.length !== n) {
        throw new RangeError(`ros: trajectory point ${i} needs ${n} positions, got ${p.positions.length}`);
      }
      return trajectoryPoint(toArray(p.positions, 0, n, false), p.timeFromStartMs, rv);
    }),
  };
}

/**
 * The `trajectory_msgs/JointTrajectory` of one joint group (arm: 7 joints; hand: 16 active joints)
 * from a chunk: one point per row, point i at `time_from_start = i × periodMs` after
 * `header.stamp = stampMs` (the wall-clock time of row 0).
 * @throws RangeError if `chunk.data` is not `k × 88` long.
 */
export function chunkTrajectoryMsg(group: TrajectoryGroup, chunk: ActionChunk, o: StampOptions): JointTrajectoryMsg {
  const rv = o.rosVersion ?? 1;
  const { k, data, periodMs } = chunk;
  if (!Number.isInteger(k) || k < 1 || data.length !== k * ACTION_DIM) {
    throw new RangeError(`ros: chunk of k = ${k} rows needs ${k * ACTION_DIM} numbers, got ${data.length}`);
  }
  const { offset, length } = ACTION_LAYOUT[group];
  const points = new Array<JointTrajectoryPointMsg>(k);
  for (let r = 0; r < k; r++) {
    points[r] = trajectoryPoint(toArray(data, r * ACTION_DIM + offset, length, true), r * periodMs, rv);
  }
  return { header: headerMsg(o.seq, o.stampMs, '', rv), joint_names: trajectoryJointNames(group), points };
}

/**
 * Unit quaternion (x, y, z, w) of a rotation vector (axis × angle, rad), w ≥ 0 for |r| ≤ π.
 * Uses the Taylor series of sin(θ/2)/θ near zero.
 */
export function quaternionFromRotationVector(rx: number, ry: number, rz: number): { x: number; y: number; z: number; w: number } {
  const theta = Math.sqrt(rx * rx + ry * ry + rz * rz);
  const s = theta < 1e-6 ? 0.5 - (theta * theta) / 48 : Math.sin(theta / 2) / theta;
  const x = rx * s;
  const y = ry * s;
  const z = rz * s;
  const w = Math.cos(theta / 2);
  const n = Math.sqrt(x * x + y * y + z * z + w * w);
  return { x: x / n, y: y / n, z: z / n, w: w / n };
}

/**
 * A complete `geometry_msgs/PoseStamped` of one flange from an 88-dim action (its flange pose:
 * x, y, z in m, then the rotation vector in rad), `frame_id: 'base_link'`.
 * @throws RangeError if `action` is not 88 long.
 */
export function flangePoseMsg(side: Side, action: ArrayLike<number>, o: StampOptions): PoseStampedMsg {
  if (action.length !== ACTION_DIM) {
    throw new RangeError(`ros: flange pose needs an action of ${ACTION_DIM} numbers, got ${action.length}`);
  }
  const off = ACTION_LAYOUT[side === 'left' ? 'leftFlange' : 'rightFlange'].offset;
  const a = (i: number): number => action[off + i]!;
  return {
    header: headerMsg(o.seq, o.stampMs, RIG_ROOT_LINK, o.rosVersion),
    pose: {
      position: { x: a(0), y: a(1), z: a(2) },
      orientation: quaternionFromRotationVector(a(3), a(4), a(5)),
    },
  };
}
