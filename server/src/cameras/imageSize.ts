/**
 * An image's size read from its first bytes, without decoding it: the ROS camera source (to
 * announce its frames' size) and the dataset export (to check a camera's frames are alike) use it.
 */

const be16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const be32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Width and height from the start of a JPEG (its first SOFn segment) or a PNG (IHDR); `null` when
 * `bytes` (possibly only the file's first bytes) do not get that far or are not that format.
 */
export function imageSize(format: 'jpeg' | 'png', bytes: Uint8Array): { width: number; height: number } | null {
  if (format === 'png') {
    const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (bytes.length < 24 || signature.some((v, i) => bytes[i] !== v) || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    return { width: be32(bytes, 16), height: be32(bytes, 20) };
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > bytes.length) return null;
      return { height: be16(bytes, at + 5), width: be16(bytes, at + 7) };
    }
    if (marker === 0xda) return null; // image data before any frame header
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    at += 2 + be16(bytes, at + 2);
  }
  return null;
}
