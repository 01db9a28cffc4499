/**
 * CAMERA_FRAME (binary kind 5, server → connections that subscribed to the camera): one
 * compressed image of one robot camera, stamped with its capture time on the server clock.
 * Layout: `docs/protocol.md` ("CAMERA_FRAME"). Platform-free: camera ids are ASCII
 * (`[A-Za-z0-9_-]`), so they are written and read byte by byte.
 *
 * The payload is never copied on decode: {@link DecodedCameraFrame.payload} is a view into the
 * received bytes (hand it to `createImageBitmap(new Blob([payload]))` or a `VideoDecoder` chunk).
 */
import { MESSAGE_KIND, PROTOCOL_VERSION } from './codes.js';
import { type WireFailure, wireFailure } from './errors.js';
import type { WireBytes } from './binary.js';

/** Codecs a CAMERA_FRAME can carry; the wire code is the index + 1. */
export const CAMERA_CODECS = ['jpeg', 'png', 'h264'] as const;
export type CameraCodec = (typeof CAMERA_CODECS)[number];
/**
 * How a stereo camera packs its two views in one image: `side-by-side` = the left eye's view in
 * the left half, the right eye's in the right half (what most stereo USB cameras and ZED-style
 * pipelines deliver). A headset shows each half to its eye.
 */
export const CAMERA_STEREO_LAYOUTS = ['side-by-side'] as const;
export type CameraStereoLayout = (typeof CAMERA_STEREO_LAYOUTS)[number];

/** CAMERA_FRAME byte 3. Bits 1–7 are reserved (sent as 0, ignored by readers). */
export const CAMERA_FRAME_FLAG = Object.freeze({ KEY_FRAME: 1 << 0 } as const);

/** Byte offsets of the CAMERA_FRAME header fields; the camera id starts at `id`, the payload right after it. */
export const CAMERA_FRAME_OFFSET = Object.freeze({
  kind: 0,
  version: 1,
  codec: 2,
  flags: 3,
  seq: 4,
  captureTimeMs: 8,
  width: 16,
  height: 18,
  idBytes: 20,
  id: 24,
} as const);

/** Bytes before the camera id. */
export const CAMERA_FRAME_HEADER_BYTES = 24;
/** Longest camera id, UTF-8 bytes. Ids are `[A-Za-z0-9_-]`, 1..64 characters. */
export const CAMERA_ID_MAX_BYTES = 64;
/** What a camera id may look like (robot config, CLI, `camera_subscribe`). */
export const CAMERA_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface CameraFrameMessage {
  readonly cameraId: string;
  /** Per camera, increasing by one per frame the server received (gaps: frames this connection skipped). */
  readonly seq: number;
  /** Capture time on the server clock (ms, as `serverTimeMs`). */
  readonly captureTimeMs: number;
  readonly codec: CameraCodec;
  readonly keyFrame: boolean;
  /** Pixels; 0 when the source does not say. */
  readonly width: number;
  readonly height: number;
  /** The compressed image (a JPEG/PNG file, or an H.264 access unit in Annex B). */
  readonly payload: Uint8Array;
}

export interface DecodedCameraFrame extends CameraFrameMessage {
  readonly ok: true;
}

/** Total size of a CAMERA_FRAME with this (valid, ASCII) id and payload, bytes. */
export function cameraFrameBytes(cameraId: string, payloadBytes: number): number {
  return CAMERA_FRAME_HEADER_BYTES + cameraId.length + payloadBytes;
}

/**
 * Encodes one CAMERA_FRAME into a new buffer (one per frame, shared by every recipient).
 * @throws RangeError for an id that is not `[A-Za-z0-9_-]{1,64}`, an empty payload, a `seq` outside u32,
 *   a width/height outside u16 or an unknown codec.
 */
export function encodeCameraFrame(msg: CameraFrameMessage): Uint8Array {
  if (!CAMERA_ID_RE.test(msg.cameraId)) throw new RangeError(`protocol: encodeCameraFrame cameraId must match ${CAMERA_ID_RE}, got ${JSON.stringify(msg.cameraId)}`);
  const codec = CAMERA_CODECS.indexOf(msg.codec);
  if (codec < 0) throw new RangeError(`protocol: encodeCameraFrame codec must be one of ${CAMERA_CODECS.join(', ')}, got ${String(msg.codec)}`);
  if (!Number.isInteger(msg.seq) || msg.seq < 0 || msg.seq > 0xffffffff) throw new RangeError(`protocol: encodeCameraFrame seq must be a u32, got ${msg.seq}`);
  for (const k of ['width', 'height'] as const) {
    const v = msg[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`protocol: encodeCameraFrame ${k} must be an integer in 0..65535, got ${v}`);
  }
  if (msg.payload.length === 0) throw new RangeError('protocol: encodeCameraFrame payload is empty');
  const id = msg.cameraId;
  const out = new Uint8Array(CAMERA_FRAME_HEADER_BYTES + id.length + msg.payload.length);
  const dv = new DataView(out.buffer);
  const O = CAMERA_FRAME_OFFSET;
  dv.setUint8(O.kind, MESSAGE_KIND.CAMERA_FRAME);
  dv.setUint8(O.version, PROTOCOL_VERSION);
  dv.setUint8(O.codec, codec + 1);
  dv.setUint8(O.flags, msg.keyFrame ? CAMERA_FRAME_FLAG.KEY_FRAME : 0);
  dv.setUint32(O.seq, msg.seq, true);
  dv.setFloat64(O.captureTimeMs, msg.captureTimeMs, true);
  dv.setUint16(O.width, msg.width, true);
  dv.setUint16(O.height, msg.height, true);
  dv.setUint8(O.idBytes, id.length);
  for (let i = 0; i < id.length; i++) out[O.id + i] = id.charCodeAt(i);
  out.set(msg.payload, O.id + id.length);
  return out;
}

/**
 * Decodes one CAMERA_FRAME. Checks kind (`PROTO_BAD_KIND`), version (`PROTO_BAD_VERSION`), a
 * header, id and payload that fit (`FRAME_BAD_SIZE`), a valid id, a known codec
 * (`PROTO_BAD_MESSAGE`) and a finite capture time (`FRAME_NOT_FINITE`). Never throws; the payload
 * is a view into `bytes`.
 */
export function decodeCameraFrame(bytes: WireBytes): DecodedCameraFrame | WireFailure {
  const u8 = bytes instanceof Uint8Array ? bytes : ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
  const ref = `binary:${u8.length > 0 ? u8[0] : 'empty'}`;
  if (u8.length < 1 || u8[0] !== MESSAGE_KIND.CAMERA_FRAME) return wireFailure('PROTO_BAD_KIND', `protocol: expected a CAMERA_FRAME (kind 5), got ${u8.length < 1 ? 'no bytes' : `kind ${u8[0]}`}`, ref);
  if (u8.length < CAMERA_FRAME_HEADER_BYTES) return wireFailure('FRAME_BAD_SIZE', `protocol: CAMERA_FRAME of ${u8.length} bytes, shorter than its ${CAMERA_FRAME_HEADER_BYTES}-byte header`, ref);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const O = CAMERA_FRAME_OFFSET;
  const version = dv.getUint8(O.version);
  if (version !== PROTOCOL_VERSION) return wireFailure('PROTO_BAD_VERSION', `protocol: CAMERA_FRAME version ${version}, this side speaks version ${PROTOCOL_VERSION}`, ref);
  const idBytes = dv.getUint8(O.idBytes);
  if (idBytes < 1 || idBytes > CAMERA_ID_MAX_BYTES || u8.length < O.id + idBytes + 1) {
    return wireFailure('FRAME_BAD_SIZE', `protocol: CAMERA_FRAME of ${u8.length} bytes cannot hold a ${idBytes}-byte camera id (1..${CAMERA_ID_MAX_BYTES}) and a payload`, ref);
  }
  let cameraId = '';
  for (let i = 0; i < idBytes; i++) cameraId += String.fromCharCode(u8[O.id + i]!);
  if (!CAMERA_ID_RE.test(cameraId)) return wireFailure('PROTO_BAD_MESSAGE', `protocol: CAMERA_FRAME camera id ${JSON.stringify(cameraId)} is not [A-Za-z0-9_-]{1,64}`, ref);
  const codecCode = dv.getUint8(O.codec);
  const codec = CAMERA_CODECS[codecCode - 1];
  if (codec === undefined) return wireFailure('PROTO_BAD_MESSAGE', `protocol: CAMERA_FRAME ${cameraId} codec ${codecCode} is not one of 1 jpeg, 2 png, 3 h264`, ref);
  const captureTimeMs = dv.getFloat64(O.captureTimeMs, true);
  if (!Number.isFinite(captureTimeMs)) return wireFailure('FRAME_NOT_FINITE', `protocol: CAMERA_FRAME ${cameraId} captureTimeMs is not finite: ${captureTimeMs}`, ref);
  return {
    ok: true, cameraId, codec, captureTimeMs,
    keyFrame: (dv.getUint8(O.flags) & CAMERA_FRAME_FLAG.KEY_FRAME) !== 0,
    seq: dv.getUint32(O.seq, true),
    width: dv.getUint16(O.width, true),
    height: dv.getUint16(O.height, true),
    payload: u8.subarray(O.id + idBytes),
  };
}
