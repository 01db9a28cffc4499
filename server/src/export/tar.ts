/**
 * A small streaming writer of uncompressed POSIX ustar archives (what `tar -xf` and every archive
 * tool read): a 512-byte header per entry, the file's bytes padded to 512, two zero blocks at the
 * end. Files are read as the archive is consumed, so an archive of any size streams in constant
 * memory. Only plain folders and regular files; names up to 255 bytes (ustar's prefix + name).
 */
import { createReadStream } from 'node:fs';

export const TAR_BLOCK = 512;

/** One archive entry: a folder (`dir`) or a regular file read from `source`, `size` bytes. */
export type TarEntry =
  | { readonly kind: 'dir'; readonly name: string; readonly mtimeMs: number }
  | { readonly kind: 'file'; readonly name: string; readonly mtimeMs: number; readonly size: number; readonly source: string };

/** Largest size an ustar header holds (11 octal digits). */
const MAX_SIZE = 8 ** 11 - 1;

const padded = (size: number): number => Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;

/** Bytes of the archive of `entries`, end blocks included. */
export function tarSize(entries: readonly TarEntry[]): number {
  return entries.reduce((n, e) => n + TAR_BLOCK + (e.kind === 'file' ? padded(e.size) : 0), 2 * TAR_BLOCK);
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  // length - 1 digits, then NUL.
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** Splits `name` into ustar's prefix (≤ 155 bytes) and name (≤ 100 bytes) at a '/'. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { prefix, name: rest };
  }
  throw new RangeError(`tar: the name "${name}" does not fit an ustar header`);
}

/** The 512-byte ustar header of `entry`. */
export function tarHeader(entry: TarEntry): Buffer {
  const name = entry.kind === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  if (name === '' || name.startsWith('/') || name.split('/').includes('..')) throw new RangeError(`tar: "${entry.name}" is not a relative name`);
  const size = entry.kind === 'file' ? entry.size : 0;
  if (!Number.isInteger(size) || size < 0 || size > MAX_SIZE) throw new RangeError(`tar: ${entry.name}: size ${size} does not fit an ustar header`);
  const split = splitName(name);
  const h = Buffer.alloc(TAR_BLOCK);
  h.write(split.name, 0, 100, 'utf8');
  octal(h, 100, 8, entry.kind === 'dir' ? 0o755 : 0o644); // mode
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.max(0, Math.floor(entry.mtimeMs / 1000)));
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h.write(entry.kind === 'dir' ? '5' : '0', 156, 1, 'ascii'); // typeflag
  h.write('ustar\0', 257, 6, 'ascii'); // magic
  h.write('00', 263, 2, 'ascii'); // version
  h.write('dexbridge', 265, 32, 'ascii'); // uname
  h.write('dexbridge', 297, 32, 'ascii'); // gname
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  h.write(split.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/**
 * The archive of `entries`, chunk by chunk (for `Readable.from` / `pipeline`). A file whose size
 * changed since `entries` was made fails the stream rather than writing a corrupt archive.
 */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield tarHeader(e);
    if (e.kind !== 'file') continue;
    let read = 0;
    for await (const chunk of createReadStream(e.source)) {
      const b = chunk as Buffer;
      read += b.length;
      if (read > e.size) break;
      yield b;
    }
    if (read !== e.size) throw new Error(`tar: ${e.source} changed size while archived (${e.size} bytes expected)`);
    if (padded(e.size) > e.size) yield Buffer.alloc(padded(e.size) - e.size);
  }
  yield Buffer.alloc(2 * TAR_BLOCK);
}
