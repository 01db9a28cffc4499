/**
 * zstd for MCAP chunks (on by default for the server's recordings, docs/recording.md).
 *
 * Compression uses `@foxglove/wasm-zstd`, Foxglove's WebAssembly build of the reference zstd
 * library: no native build step, the same bytes on every machine. It loads asynchronously once
 * ({@link loadZstdCompressor}); after that a chunk compresses synchronously, in about a millisecond
 * for a 500 ms chunk at level 3. Decompression, for every reader (the indexed reader of
 * `readRecording`, recovery, the export, and the dashboard in the browser), is `fzstd`, a pure
 * TypeScript decoder that needs no loading: {@link ZSTD_DECOMPRESS_HANDLERS} plugs it into
 * `@mcap/core`'s readers.
 */
import { decompress } from 'fzstd';
import type { ChunkCompressor } from './ChunkedMcapWriter.js';

/** The zstd level of recordings: 3 (zstd's own default) keeps a chunk's compression near a millisecond. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** `decompressHandlers` for `McapIndexedReader` / `McapStreamReader`: zstd chunks. */
export const ZSTD_DECOMPRESS_HANDLERS = {
  zstd: (buffer: Uint8Array, decompressedSize: bigint): Uint8Array => decompress(buffer, new Uint8Array(Number(decompressedSize))),
};

type Codec = Pick<typeof import('@foxglove/wasm-zstd'), 'compress' | 'isLoaded'>;
let loading: Promise<Codec> | undefined;

/**
 * A chunk compressor at `level` (1–22), once the WebAssembly codec is loaded.
 * @throws RangeError for a level outside 1..22.
 */
export async function loadZstdCompressor(level: number = DEFAULT_ZSTD_LEVEL): Promise<ChunkCompressor> {
  if (!(Number.isInteger(level) && level >= 1 && level <= 22)) throw new RangeError(`recording: zstd level must be an integer in 1..22, got ${level}`);
  loading ??= import('@foxglove/wasm-zstd').then(async ({ compress, isLoaded }) => {
    await isLoaded;
    return { compress, isLoaded };
  });
  const codec = await loading;
  return (records) => ({ compression: 'zstd', compressedData: codec.compress(records, level) });
}
