/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum MCAP uses for chunks, the
 * data section and the summary. Incremental: `crc32Final(crc32Update(crc32Init(), bytes))`.
 * Pure TypeScript, so the recorder core stays free of Node built-ins.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The running value before any byte. */
export const crc32Init = (): number => 0xffffffff;

/** Fold `bytes` into a running value from {@link crc32Init} or a previous update. */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The checksum of everything folded into the running value. */
export const crc32Final = (crc: number): number => (crc ^ 0xffffffff) >>> 0;

/** The checksum of one buffer. */
export const crc32 = (bytes: Uint8Array): number => crc32Final(crc32Update(crc32Init(), bytes));
