/**
 * Splits the H.264 stream an ffmpeg camera writes (`-f flv pipe:1`) into access units, one per
 * frame, each handed on in Annex B (start codes), the form CAMERA_FRAME and
 * `foxglove.CompressedVideo` carry and WebCodecs decodes.
 *
 * Why FLV on the pipe rather than a raw Annex B stream: in Annex B nothing says where an access
 * unit ends; a reader only knows when the next one starts, i.e. one frame period later (33 ms at
 * 30 fps) — latency the live path would pay on every frame. An FLV tag states its length in its
 * header, so a frame is handed on as soon as its last byte arrives. The tag also carries no
 * transcoding: the NAL units inside are libx264's, length-prefixed; they get start codes instead
 * (same bytes otherwise). A key frame is an access unit with an IDR slice (not the container's
 * word for it); one without its SPS/PPS gets the latest ones in front (from the sequence header),
 * so every key frame can start a decoder on its own.
 *
 * FLV layout (Adobe FLV v10.1, §E.4): a 9-byte header, then per tag: PreviousTagSize (u32), tag
 * type (u8, 9 = video), data size (u24), timestamp (u24 + u8), stream id (u24), data. Video data
 * of H.264: frame type/codec byte (codec 7 = AVC), AVCPacketType (0 = AVCDecoderConfigurationRecord,
 * 1 = NAL units, 2 = end of sequence), composition time (s24), then the payload.
 */
import { accessUnitSps, NAL_TYPE, type SpsInfo } from '../protocol/h264.js';
import { ByteQueue } from './ByteQueue.js';

export interface H264AccessUnit {
  /** Annex B: every NAL unit behind a 4-byte start code. */
  readonly data: Uint8Array;
  /** It holds an IDR slice (a decoder can start here). */
  readonly keyFrame: boolean;
  /** From the latest SPS; 0 before one was seen. */
  readonly width: number;
  readonly height: number;
}

/** The stream is not FLV with H.264 in it; the message says what was found. */
export class FlvStreamError extends Error {}

const START = Uint8Array.of(0, 0, 0, 1);

export class FlvH264Splitter {
  readonly #in = new ByteQueue();
  #headerDone = false;
  /** NAL length field size of the AVC payloads (from the configuration record), bytes. */
  #lengthSize = 4;
  /** SPS and PPS from the configuration record, in Annex B, put in front of a key frame that lacks them. */
  #parameterSets: Uint8Array = new Uint8Array(0);
  #sps: SpsInfo | null = null;
  readonly #maxTagBytes: number;

  /** @param maxTagBytes a tag larger than this is an error rather than buffered without bound. Default 8 MiB. */
  constructor(maxTagBytes = 8 * 1024 * 1024) {
    this.#maxTagBytes = maxTagBytes;
  }

  /**
   * Appends `chunk` and returns the access units it completed, in order.
   * @throws FlvStreamError when the bytes are not FLV carrying H.264 (FLV has no sync marker to
   *   resynchronise on: the caller starts the stream again).
   */
  push(chunk: Uint8Array): H264AccessUnit[] {
    this.#in.append(chunk);
    const out: H264AccessUnit[] = [];
    let p = 0;
    const b = this.#in.bytes;
    if (!this.#headerDone) {
      if (this.#in.length < 9) return out;
      if (b[0] !== 0x46 || b[1] !== 0x4c || b[2] !== 0x56) throw new FlvStreamError('camera: the H.264 stream does not start with an FLV header');
      const headerBytes = ((b[5]! << 24) | (b[6]! << 16) | (b[7]! << 8) | b[8]!) >>> 0;
      if (headerBytes < 9 || headerBytes > 1024) throw new FlvStreamError(`camera: FLV header size ${headerBytes}`);
      if (this.#in.length < headerBytes) return out;
      p = headerBytes;
      this.#headerDone = true;
    }
    // Each step: PreviousTagSize (4), tag header (11), data.
    while (p + 15 <= this.#in.length) {
      const type = b[p + 4]! & 0x1f;
      const size = (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
      if (size > this.#maxTagBytes) throw new FlvStreamError(`camera: FLV tag of ${size} bytes, more than the ${this.#maxTagBytes} allowed`);
      const start = p + 15;
      if (start + size > this.#in.length) break;
      if (type === 9) {
        const au = this.#video(b.subarray(start, start + size));
        if (au !== null) out.push(au);
      }
      p = start + size;
    }
    this.#in.consume(p);
    return out;
  }

  #video(body: Uint8Array): H264AccessUnit | null {
    if (body.length < 5) throw new FlvStreamError(`camera: FLV video tag of ${body.length} bytes`);
    const codec = body[0]! & 0x0f;
    if (codec !== 7) throw new FlvStreamError(`camera: FLV video codec ${codec}, not 7 (H.264/AVC)`);
    const packetType = body[1]!;
    const payload = body.subarray(5);
    if (packetType === 0) {
      this.#configuration(payload);
      return null;
    }
    if (packetType !== 1) return null; // end of sequence: nothing to show
    const nals: Uint8Array[] = [];
    let hasIdr = false;
    let hasSps = false;
    for (let q = 0; q < payload.length; ) {
      if (q + this.#lengthSize > payload.length) throw new FlvStreamError('camera: FLV H.264 payload ends inside a NAL length');
      let n = 0;
      for (let k = 0; k < this.#lengthSize; k++) n = n * 256 + payload[q + k]!;
      q += this.#lengthSize;
      if (n === 0 || q + n > payload.length) throw new FlvStreamError(`camera: FLV H.264 NAL unit of ${n} bytes does not fit its tag`);
      const nal = payload.subarray(q, q + n);
      const t = nal[0]! & 0x1f;
      if (t === NAL_TYPE.IDR) hasIdr = true;
      if (t === NAL_TYPE.SPS) hasSps = true;
      nals.push(nal);
      q += n;
    }
    if (nals.length === 0) return null;
    const front = hasIdr && !hasSps ? this.#parameterSets : new Uint8Array(0);
    const data = new Uint8Array(front.length + nals.reduce((s, x) => s + 4 + x.length, 0));
    data.set(front, 0);
    let at = front.length;
    for (const nal of nals) {
      data.set(START, at);
      data.set(nal, at + 4);
      at += 4 + nal.length;
    }
    if (hasSps) this.#sps = accessUnitSps(data) ?? this.#sps;
    return { data, keyFrame: hasIdr, width: this.#sps?.width ?? 0, height: this.#sps?.height ?? 0 };
  }

  /** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1): NAL length size, SPS and PPS. */
  #configuration(rec: Uint8Array): void {
    if (rec.length < 7 || rec[0] !== 1) throw new FlvStreamError('camera: FLV H.264 sequence header is not an AVCDecoderConfigurationRecord');
    this.#lengthSize = (rec[4]! & 3) + 1;
    const sets: Uint8Array[] = [];
    let q = 5;
    for (const countMask of [0x1f, 0xff]) {
      if (q >= rec.length) throw new FlvStreamError('camera: FLV H.264 sequence header ends early');
      const count = rec[q++]! & countMask;
      for (let i = 0; i < count; i++) {
        if (q + 2 > rec.length) throw new FlvStreamError('camera: FLV H.264 sequence header ends early');
        const n = (rec[q]! << 8) | rec[q + 1]!;
        if (q + 2 + n > rec.length) throw new FlvStreamError('camera: FLV H.264 parameter set does not fit its sequence header');
        sets.push(rec.subarray(q + 2, q + 2 + n));
        q += 2 + n;
      }
    }
    const ps = new Uint8Array(sets.reduce((s, x) => s + 4 + x.length, 0));
    let at = 0;
    for (const s of sets) {
      ps.set(START, at);
      ps.set(s, at + 4);
      at += 4 + s.length;
    }
    this.#parameterSets = ps;
    this.#sps = accessUnitSps(ps) ?? this.#sps;
  }


}
