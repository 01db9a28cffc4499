/**
 * ROS 1 message definitions and serialisers for the two ROS types dexbridge records:
 * `sensor_msgs/JointState` and `std_msgs/String`. ROS 1 serialisation is little endian, with
 * `uint32` lengths before strings and variable-length arrays, and `time` as two `uint32`
 * (sec, nsec). Pure TypeScript.
 */

/**
 * `std_msgs/Header`, the dependency of `sensor_msgs/JointState`, as it appears after the
 * `MSG: std_msgs/Header` separator of a concatenated definition.
 */
const HEADER_MSG = `# Standard metadata for higher-level stamped data types.
# sequence ID: consecutively increasing ID
uint32 seq
# Two-integer timestamp: seconds and nanoseconds since the epoch
time stamp
# Frame this data is associated with
string frame_id
`;

/** The line that separates a definition from its dependencies (80 `=`), as `gendeps --cat` writes it. */
const DEPENDENCY_SEPARATOR = `${'='.repeat(80)}\n`;

/**
 * The full ros1msg text of `sensor_msgs/JointState`, with `std_msgs/Header` appended in the
 * concatenated `====…\nMSG: <type>` format that rosbag, MCAP's ros1 profile, Foxglove and
 * Lichtblick read.
 */
export const JOINT_STATE_ROS1MSG = `# The state of a set of joints. All arrays have the same length as name, or are empty.
# position: rad or m; velocity: rad/s or m/s; effort: N·m or N.
Header header

string[] name
float64[] position
float64[] velocity
float64[] effort

${DEPENDENCY_SEPARATOR}MSG: std_msgs/Header
${HEADER_MSG}`;

/** The ros1msg text of `std_msgs/String`. */
export const STRING_ROS1MSG = 'string data\n';

const utf8 = new TextEncoder();

/** A ROS 1 `string` field: uint32 byte length, then the UTF-8 bytes. */
export function encodeRos1String(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 4);
  return out;
}

/**
 * Serialises `sensor_msgs/JointState` for a fixed list of joint names. The names block and the
 * frame id are encoded once, at construction; {@link encode} writes into one reused buffer, so a
 * message costs no allocation.
 */
export class JointStateEncoder {
  readonly jointCount: number;
  readonly #frameId: Uint8Array;
  readonly #names: Uint8Array;
  readonly #buffer: Uint8Array;
  readonly #view: DataView;

  /**
   * @param names joint names in the order of every position/velocity/effort array.
   * @param frameId `header.frame_id`, default empty (joint states carry no frame in ROS).
   */
  constructor(names: readonly string[], frameId = '') {
    this.jointCount = names.length;
    this.#frameId = encodeRos1String(frameId);
    const encoded = names.map(encodeRos1String);
    this.#names = new Uint8Array(4 + encoded.reduce((n, b) => n + b.length, 0));
    new DataView(this.#names.buffer).setUint32(0, names.length, true);
    let at = 4;
    for (const b of encoded) {
      this.#names.set(b, at);
      at += b.length;
    }
    // header (seq, sec, nsec, frame_id) + names + three float64 arrays of jointCount each.
    const capacity = 12 + this.#frameId.length + this.#names.length + 3 * (4 + 8 * names.length);
    this.#buffer = new Uint8Array(capacity);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /**
   * One message. `position` must have {@link jointCount} entries; `velocity` and `effort`, when
   * given, too (absent → empty arrays, as ROS allows). The caller checks the lengths.
   * @param stampSec header stamp, whole seconds (uint32).
   * @param stampNsec header stamp, nanoseconds within the second (uint32, < 1e9).
   * @returns a view of the internal buffer, valid until the next call; copy it to keep it.
   */
  encode(
    seq: number,
    stampSec: number,
    stampNsec: number,
    position: ArrayLike<number>,
    velocity?: ArrayLike<number>,
    effort?: ArrayLike<number>,
  ): Uint8Array {
    const view = this.#view;
    view.setUint32(0, seq >>> 0, true);
    view.setUint32(4, stampSec >>> 0, true);
    view.setUint32(8, stampNsec >>> 0, true);
    let at = 12;
    this.#buffer.set(this.#frameId, at);
    at += this.#frameId.length;
    this.#buffer.set(this.#names, at);
    at += this.#names.length;
    at = this.#writeFloat64s(at, position);
    at = this.#writeFloat64s(at, velocity);
    at = this.#writeFloat64s(at, effort);
    return this.#buffer.subarray(0, at);
  }

  #writeFloat64s(at: number, values: ArrayLike<number> | undefined): number {
    const n = values?.length ?? 0;
    const view = this.#view;
    view.setUint32(at, n, true);
    let p = at + 4;
    for (let i = 0; i < n; i++, p += 8) view.setFloat64(p, values![i]!, true);
    return p;
  }
}
