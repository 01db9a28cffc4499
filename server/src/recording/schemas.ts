/**
 * The channels of a dexbridge recording: topic, schema and message encoding of each. JSON
 * channels carry JSON Schema texts limited to what Foxglove's and Lichtblick's `jsonschema`
 * loaders turn into plottable fields (every property typed; objects with `properties`; arrays of
 * numbers). Pure TypeScript. The layout is documented in `docs/recording.md`.
 */
import { ACTION_DIM, ACTION_ENTRIES, STATE_JOINT_NAMES, XR_HAND_LENGTH, XR_JOINT_NAMES } from '@dexbridge/retarget';
import { CompressedImage, CompressedVideo } from '@foxglove/schemas/jsonschema.js';
import {
  ACTION_BLOCK_COLUMNS,
  ACTION_BLOCK_SCALE,
  HAND_BLOCK_COLUMNS,
  HAND_BLOCK_SCALE,
  ROW_BLOCK_ENCODING,
} from '../protocol/rowBlock.js';
import { JOINT_STATE_ROS1MSG, STRING_ROS1MSG } from './ros1.js';

/** Topics written by the {@link Recorder}. */
export const TOPICS = {
  handFrames: '/dexbridge/hand_frames',
  jointStates: '/dexbridge/joint_states',
  action: '/dexbridge/action',
  actionChunks: '/dexbridge/action_chunks',
  events: '/dexbridge/events',
  calibration: '/dexbridge/calibration',
  robotDescription: '/robot_description',
} as const;
export type RecordingTopicKey = keyof typeof TOPICS;

/** Name of the URDF attachment. */
export const URDF_ATTACHMENT_NAME = 'dexbridge_rig.urdf';
export const URDF_MEDIA_TYPE = 'application/xml';
/** Name of the session metadata record (operator, task, success, …). */
export const SESSION_METADATA_NAME = 'dexbridge';
/** Name of the metadata record that holds the URDF text under the key `urdf`. */
export const ROBOT_DESCRIPTION_METADATA_NAME = 'robot_description';

/** One channel: its topic, schema (name, encoding, text) and message encoding. */
export interface ChannelSpec {
  readonly topic: string;
  readonly schemaName: string;
  /** `jsonschema`, `ros1msg`, or '' for a row-block channel (no schema record). */
  readonly schemaEncoding: string;
  readonly schemaText: string;
  /** `json`, `ros1` or `dexbridge.rowblock.v1`. */
  readonly messageEncoding: string;
  readonly metadata: ReadonlyMap<string, string>;
}

const numberArray = (description: string, length?: number): Record<string, unknown> => ({
  type: 'array',
  items: { type: 'number' },
  ...(length === undefined ? {} : { minItems: length, maxItems: length }),
  description,
});

const tMs = { type: 'number', description: 'time on the server clock (ms), the same instant as the MCAP log time' };

const jsonSchema = (title: string, description: string, properties: Record<string, unknown>): string =>
  JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title,
    description,
    type: 'object',
    properties,
    required: Object.keys(properties),
  });

const handDescription = (side: string): string =>
  `${side} hand: ${XR_HAND_LENGTH / 8} WebXR joints × [px, py, pz, qx, qy, qz, qw, radius] (m, unit quaternion) in ` +
  `XRHandJoint order (${XR_JOINT_NAMES.join(', ')}), in the operator's WebXR reference space (y up); null when not tracked`;

const actionNames = ACTION_ENTRIES.map((e) => `${e.index} ${e.name} (${e.unit})`).join(', ');

const json = (
  topic: string,
  schemaName: string,
  description: string,
  properties: Record<string, unknown>,
  metadata: Record<string, string> = {},
): ChannelSpec => ({
  topic,
  schemaName,
  schemaEncoding: 'jsonschema',
  schemaText: jsonSchema(schemaName, description, properties),
  messageEncoding: 'json',
  metadata: new Map(Object.entries(metadata)),
});

/**
 * A row-block channel (`protocol/rowBlock.ts`): no schema record, message encoding
 * `dexbridge.rowblock.v1`, the layout in the channel's metadata for anyone who reads the file
 * without dexbridge.
 */
const rowBlock = (topic: string, description: string, columns: number, scale: number, metadata: Record<string, string> = {}): ChannelSpec => ({
  topic,
  schemaName: '',
  schemaEncoding: '',
  schemaText: '',
  messageEncoding: ROW_BLOCK_ENCODING,
  metadata: new Map(Object.entries({ ...metadata, columns: String(columns), scale: String(scale), layout: description, format: 'docs/recording.md#row-blocks' })),
});

/** Every channel, in registration order. */
export const CHANNELS: Readonly<Record<RecordingTopicKey, ChannelSpec>> = {
  handFrames: rowBlock(
    TOPICS.handFrames,
    `Raw operator input, one row per tracked instant of both hands as the headset sent it. Columns: server time (µs), headset time (µs), seq, tracked bits (1 left, 2 right), then left ×${XR_HAND_LENGTH} and right ×${XR_HAND_LENGTH}: ${handDescription('each')}; numbers × ${HAND_BLOCK_SCALE}; an untracked hand repeats its last numbers with its bit clear.`,
    HAND_BLOCK_COLUMNS,
    HAND_BLOCK_SCALE,
  ),
  jointStates: {
    topic: TOPICS.jointStates,
    schemaName: 'sensor_msgs/JointState',
    schemaEncoding: 'ros1msg',
    schemaText: JOINT_STATE_ROS1MSG,
    messageEncoding: 'ros1',
    metadata: new Map([['joint_count', String(STATE_JOINT_NAMES.length)]]),
  },
  action: rowBlock(
    TOPICS.action,
    `The commanded ${ACTION_DIM}-dim action (robot world frame = the rig's base_link), one row per tick. Columns: server time (µs), then the action × ${ACTION_BLOCK_SCALE}: ${actionNames}`,
    ACTION_BLOCK_COLUMNS,
    ACTION_BLOCK_SCALE,
    { action_names: ACTION_ENTRIES.map((e) => e.name).join(','), action_units: ACTION_ENTRIES.map((e) => e.unit).join(',') },
  ),
  actionChunks: json(
    TOPICS.actionChunks,
    'dexbridge.ActionChunk',
    `An action chunk received from a policy: k consecutive ${ACTION_DIM}-dim actions on a regular time grid.`,
    {
      t_ms: tMs,
      chunk_id: { type: 'integer', description: 'id of the chunk, as the policy numbered it' },
      start_time_ms: { type: 'number', description: 'time of row 0 (ms)' },
      period_ms: { type: 'number', description: 'time between rows (ms)' },
      k: { type: 'integer', description: 'number of rows, 1..256' },
      data: numberArray(`k×${ACTION_DIM} numbers, row-major, each row in action order (see /dexbridge/action)`),
    },
  ),
  events: json(
    TOPICS.events,
    'dexbridge.Event',
    'Session events: mode changes, engage/disengage, e-stop, tracking loss, control lease, …',
    {
      t_ms: tMs,
      event: { type: 'string', description: 'event name, e.g. mode, engage, disengage, estop, tracking_lost, tracking_restored, lease' },
      detail: { type: 'object', properties: {}, description: 'event-specific fields' },
    },
  ),
  calibration: json(
    TOPICS.calibration,
    'dexbridge.Calibration',
    'The operator calibration in force from this time on (hand scale, arm mapping).',
    { t_ms: tMs, calibration: { type: 'object', properties: {}, description: 'hand scale and arm mapping settings' } },
  ),
  robotDescription: {
    topic: TOPICS.robotDescription,
    schemaName: 'std_msgs/String',
    schemaEncoding: 'ros1msg',
    schemaText: STRING_ROS1MSG,
    messageEncoding: 'ros1',
    metadata: new Map([['latching', '1']]),
  },
};

/** Topic of a camera's images: `/dexbridge/cameras/<id>`. */
export const cameraTopic = (cameraId: string): string => `/dexbridge/cameras/${cameraId}`;

/**
 * The channel of one camera, with Foxglove's own published JSON Schema (`@foxglove/schemas`),
 * JSON-encoded (`data` base64, as that schema says), so Foxglove and Lichtblick show the pictures
 * in their Image panel beside the robot: `foxglove.CompressedImage` for a JPEG/PNG camera,
 * `foxglove.CompressedVideo` (`format` `h264`, one Annex B access unit per message, the SPS in
 * every key frame) for an H.264 camera.
 */
export function cameraChannel(cameraId: string, kind: 'image' | 'video' = 'image'): ChannelSpec {
  const schema = kind === 'video' ? CompressedVideo : CompressedImage;
  return {
    topic: cameraTopic(cameraId),
    schemaName: schema.title,
    schemaEncoding: 'jsonschema',
    schemaText: JSON.stringify(schema),
    messageEncoding: 'json',
    metadata: new Map([['camera_id', cameraId]]),
  };
}
