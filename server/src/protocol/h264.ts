/**
 * What dexbridge needs to know about an H.264 access unit in Annex B (start-code separated NAL
 * units), the form CAMERA_FRAME, `foxglove.CompressedVideo` and `ffmpeg -f h264` use: its NAL unit
 * types (is it an IDR key frame? does it carry the SPS?), and from the SPS the picture size and the
 * WebCodecs codec string (`avc1.PPCCLL`). Platform-free and pure (the browser uses it too). Spec:
 * ITU-T H.264 §7.3.2.1.1 (SPS syntax), §7.4.1 (NAL unit types).
 */

/** NAL unit types dexbridge looks at (`nal_unit_type`, the low 5 bits of the NAL header). */
export const NAL_TYPE = Object.freeze({ SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9 } as const);

/** One NAL unit of an Annex B buffer: its type and where its bytes (header included, start code excluded) are. */
export interface NalUnit {
  readonly type: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The NAL units of an Annex B buffer, in order. Bytes before the first start code are not a NAL
 * unit and are ignored; trailing zero bytes of a unit (the next start code's leading zero, or
 * `trailing_zero_8bits`) are not part of it.
 */
export function nalUnits(au: Uint8Array): NalUnit[] {
  const out: NalUnit[] = [];
  let begin = -1;
  const n = au.length;
  for (let i = 0; i + 2 < n; i++) {
    if (au[i] !== 0 || au[i + 1] !== 0 || au[i + 2] !== 1) continue;
    if (begin >= 0) {
      let end = i;
      while (end > begin && au[end - 1] === 0) end--;
      if (end > begin) out.push({ type: au[begin]! & 0x1f, start: begin, end });
    }
    begin = i + 3;
    i += 2;
  }
  if (begin >= 0 && begin < n) {
    let end = n;
    while (end > begin && au[end - 1] === 0) end--;
    if (end > begin) out.push({ type: au[begin]! & 0x1f, start: begin, end });
  }
  return out;
}

/** The first coded-slice NAL type of an access unit: {@link NAL_TYPE.IDR} (5) for a key frame, 1 for another picture; 0 when it has no slice. */
export function firstSliceType(au: Uint8Array): number {
  for (const u of nalUnits(au)) if (u.type === NAL_TYPE.IDR || u.type === NAL_TYPE.SLICE) return u.type;
  return 0;
}

/** What the SPS says: the profile, constraint flags and level (for the codec string), and the picture size after cropping. */
export interface SpsInfo {
  readonly profileIdc: number;
  /** The constraint_set flags byte as it stands in the SPS (constraint_set0_flag is the top bit). */
  readonly constraints: number;
  readonly levelIdc: number;
  readonly width: number;
  readonly height: number;
}

/** Reads Exp-Golomb and fixed-width fields from an RBSP (emulation prevention bytes removed). */
class BitReader {
  #bit = 0;
  constructor(readonly bytes: Uint8Array) {}
  u(n: number): number {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError('h264: SPS ends early');
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      // A 32-bit ue(v) is the most any SPS field needs; more zeros are garbage, not a number.
      if (++zeros > 31) throw new RangeError('h264: bad Exp-Golomb code in SPS');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** The RBSP of a NAL unit's payload: every 0x000003 has its 03 removed (§7.4.1). */
function rbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Parses an SPS NAL unit (header byte included).
 * @throws RangeError for a unit that is not an SPS or ends before the frame size.
 */
export function parseSps(nal: Uint8Array): SpsInfo {
  if (nal.length < 4 || (nal[0]! & 0x1f) !== NAL_TYPE.SPS) throw new RangeError('h264: not an SPS NAL unit');
  const r = new BitReader(rbsp(nal.subarray(1)));
  const profileIdc = r.u(8);
  const constraints = r.u(8);
  const levelIdc = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlanes = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) separateColourPlanes = r.u(1);
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u(1); // qpprime_y_zero_transform_bypass_flag
    if (r.u(1) === 1) {
      // seq_scaling_matrix_present_flag: the lists are skipped, their values do not matter here.
      for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i++) {
        if (r.u(1) === 0) continue;
        const size = i < 6 ? 16 : 64;
        let last = 8;
        let next = 8;
        for (let j = 0; j < size && next !== 0; j++) {
          next = (last + r.se() + 256) % 256;
          if (next !== 0) last = next;
        }
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (frameMbsOnly === 0) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  let width = widthMbs * 16;
  let height = heightMapUnits * 16 * (2 - frameMbsOnly);
  if (r.u(1) === 1) {
    const [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const chroma = separateColourPlanes === 1 ? 0 : chromaFormatIdc;
    const cropX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    width -= (left + right) * cropX;
    height -= (top + bottom) * cropY;
  }
  return { profileIdc, constraints, levelIdc, width, height };
}

/** The SPS of an access unit (parsed), or null when it carries none. @throws RangeError for a malformed SPS. */
export function accessUnitSps(au: Uint8Array): SpsInfo | null {
  for (const u of nalUnits(au)) if (u.type === NAL_TYPE.SPS) return parseSps(au.subarray(u.start, u.end));
  return null;
}

const hex2 = (v: number): string => v.toString(16).toUpperCase().padStart(2, '0');

/** The WebCodecs / RFC 6381 codec string of an SPS: `avc1.` + profile, constraint flags and level in hex, e.g. `avc1.42C01E`. */
export const h264CodecString = (sps: SpsInfo): string => `avc1.${hex2(sps.profileIdc)}${hex2(sps.constraints)}${hex2(sps.levelIdc)}`;
