/**
 * Recovery of a recording cut short (a `kill -9`, a power loss): the file has no data end,
 * summary or footer, and may end in a partial record. `recoverMcap` reads it front to back with
 * `McapStreamReader`, which yields every complete record (the contents of every complete chunk),
 * and writes them to a new, valid, indexed MCAP file with `@mcap/core`'s `McapWriter`.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { hasMcapPrefix, McapStreamReader, McapWriter } from '@mcap/core';
import { DEFAULT_CHUNK_SIZE_BYTES } from './ChunkedMcapWriter.js';
import { FileSink } from './FileSink.js';
import { errorMessage, RecordingError } from './RecordingError.js';
import { loadZstdCompressor, ZSTD_DECOMPRESS_HANDLERS } from './zstd.js';

/** What {@link recoverMcap} found and wrote. */
export interface RecoveryReport {
  /** Size of the input file. */
  readonly inputBytes: number;
  /**
   * Bytes at the end of the data section that did not form a complete record (the torn tail), or
   * that follow a record that could not be parsed; 0 for a complete file.
   */
  readonly droppedBytes: number;
  /** True if the input's data section was complete (it reached the Data End record): nothing was lost. */
  readonly inputComplete: boolean;
  /** Set if a record could not be parsed (e.g. a chunk CRC mismatch); reading stopped there. */
  readonly stoppedBy?: string;
  /** Complete chunks read from the input. */
  readonly chunks: number;
  /** Records copied to the output (besides the added `dexbridge_recovery` metadata). */
  readonly schemas: number;
  readonly channels: number;
  readonly messages: number;
  readonly attachments: number;
  readonly metadata: number;
  /** Log time of the first and last recovered message (ns); undefined if none. */
  readonly firstMessageTimeNs: bigint | undefined;
  readonly lastMessageTimeNs: bigint | undefined;
}

/**
 * Name of the metadata record `recoverMcap` adds: `source` (input file name), `recovered_at`
 * (ISO), `input_complete`, `dropped_bytes`, and `stopped_by` if a record could not be parsed.
 */
export const RECOVERY_METADATA_NAME = 'dexbridge_recovery';

/** Bytes read from the input at a time. */
const READ_BLOCK_BYTES = 1024 * 1024;

/** The default output of `dexbridge recover <file>`: `name.mcap` → `name.recovered.mcap`. */
export function recoveredPath(inputPath: string): string {
  return inputPath.endsWith('.mcap') ? `${inputPath.slice(0, -'.mcap'.length)}.recovered.mcap` : `${inputPath}.recovered.mcap`;
}

/**
 * Copies every complete record of a possibly truncated MCAP file (schemas, channels, messages,
 * attachments, metadata; the header's profile and library) into a new indexed MCAP file.
 * Also works on a complete file (it is rewritten). The input is streamed, never held in memory.
 * @throws RecordingError `RECORDING_OPEN_FAILED` (input unreadable or output not creatable),
 *   `RECORDING_NOT_MCAP` (no MCAP magic: nothing is written), `RECORDING_FILE_EXISTS` (the output
 *   exists: it is never overwritten), `RECORDING_SINK_FAILED` (writing the output failed).
 */
export async function recoverMcap(inputPath: string, outputPath: string): Promise<RecoveryReport> {
  let input: Awaited<ReturnType<typeof open>>;
  try {
    input = await open(inputPath, 'r');
  } catch (error) {
    throw new RecordingError('RECORDING_OPEN_FAILED', `recording: cannot open ${inputPath}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const inputBytes = (await input.stat()).size;
    const first = new Uint8Array(Math.min(READ_BLOCK_BYTES, inputBytes));
    const { bytesRead } = await input.read(first, 0, first.length, 0);
    if (bytesRead < 8 || !hasMcapPrefix(new DataView(first.buffer, 0, 8))) {
      throw new RecordingError('RECORDING_NOT_MCAP', `recording: ${inputPath} is not an MCAP file (${inputBytes} bytes, no MCAP magic at the start)`);
    }
    const sink = await FileSink.create(outputPath);
    try {
      return await copyRecords(inputPath, input, first.subarray(0, bytesRead), inputBytes, sink);
    } catch (error) {
      throw error instanceof RecordingError
        ? error
        : new RecordingError('RECORDING_SINK_FAILED', `recording: writing ${outputPath} failed: ${errorMessage(error)}`, { cause: error });
    } finally {
      await sink.close();
    }
  } finally {
    await input.close();
  }
}

async function copyRecords(
  inputPath: string,
  input: Awaited<ReturnType<typeof open>>,
  first: Uint8Array,
  inputBytes: number,
  sink: FileSink,
): Promise<RecoveryReport> {
  // zstd chunks in and out, like the recorder's own files.
  const reader = new McapStreamReader({ includeChunks: true, decompressHandlers: ZSTD_DECOMPRESS_HANDLERS });
  const writer = new McapWriter({ writable: sink, useChunks: true, chunkSize: DEFAULT_CHUNK_SIZE_BYTES, compressChunk: await loadZstdCompressor() });
  const schemaIds = new Map<number, number>();
  const channelIds = new Map<number, number>();
  let started = false;
  let stoppedBy: string | undefined;
  let sawDataEnd = false;
  let chunks = 0;
  let messages = 0;
  let attachments = 0;
  let metadata = 0;
  let firstTime: bigint | undefined;
  let lastTime: bigint | undefined;

  const start = async (profile = '', library = 'dexbridge recover'): Promise<void> => {
    if (started) return;
    started = true;
    await writer.start({ profile, library });
  };

  let block = first;
  let offset = first.length;
  reading: for (;;) {
    reader.append(block);
    for (;;) {
      let record: ReturnType<McapStreamReader['nextRecord']>;
      try {
        record = reader.nextRecord();
      } catch (error) {
        stoppedBy = errorMessage(error);
        break reading;
      }
      if (record === undefined) break;
      switch (record.type) {
        case 'Header':
          await start(record.profile, record.library);
          break;
        case 'Schema':
          if (!schemaIds.has(record.id)) {
            await start();
            schemaIds.set(record.id, await writer.registerSchema({ name: record.name, encoding: record.encoding, data: record.data }));
          }
          break;
        case 'Channel':
          if (!channelIds.has(record.id)) {
            await start();
            const schemaId = record.schemaId === 0 ? 0 : schemaIds.get(record.schemaId);
            if (schemaId === undefined) {
              stoppedBy = `channel ${record.id} (${record.topic}) names schema ${record.schemaId}, which was never defined`;
              break reading;
            }
            channelIds.set(
              record.id,
              await writer.registerChannel({ schemaId, topic: record.topic, messageEncoding: record.messageEncoding, metadata: record.metadata }),
            );
          }
          break;
        case 'Message': {
          const channelId = channelIds.get(record.channelId);
          if (channelId === undefined) break; // the stream reader already rejects this
          await writer.addMessage({ ...record, channelId });
          messages++;
          if (firstTime === undefined || record.logTime < firstTime) firstTime = record.logTime;
          if (lastTime === undefined || record.logTime > lastTime) lastTime = record.logTime;
          break;
        }
        case 'Chunk':
          chunks++;
          break;
        case 'Attachment':
          await start();
          await writer.addAttachment({
            name: record.name,
            mediaType: record.mediaType,
            logTime: record.logTime,
            createTime: record.createTime,
            data: record.data,
          });
          attachments++;
          break;
        case 'Metadata':
          await start();
          await writer.addMetadata({ name: record.name, metadata: record.metadata });
          metadata++;
          break;
        case 'DataEnd':
          // Everything after the data section is a copy (summary) or an index of it.
          sawDataEnd = true;
          break reading;
        default:
          break; // message/chunk indexes, statistics, summary offsets: rebuilt by the writer
      }
    }
    if (offset >= inputBytes) break;
    const next = new Uint8Array(Math.min(READ_BLOCK_BYTES, inputBytes - offset));
    const { bytesRead } = await input.read(next, 0, next.length, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
    block = next.subarray(0, bytesRead);
  }

  const droppedBytes = sawDataEnd ? 0 : inputBytes - (offset - reader.bytesRemaining());
  await start();
  await writer.addMetadata({
    name: RECOVERY_METADATA_NAME,
    metadata: new Map([
      ['source', basename(inputPath)],
      ['recovered_at', new Date().toISOString()],
      ['input_complete', String(sawDataEnd)],
      ['dropped_bytes', String(droppedBytes)],
      ...(stoppedBy === undefined ? [] : [['stopped_by', stoppedBy] as [string, string]]),
    ]),
  });
  await writer.end();
  return {
    inputBytes,
    droppedBytes,
    inputComplete: sawDataEnd,
    ...(stoppedBy === undefined ? {} : { stoppedBy }),
    chunks,
    schemas: schemaIds.size,
    channels: channelIds.size,
    messages,
    attachments,
    metadata,
    firstMessageTimeNs: firstTime,
    lastMessageTimeNs: lastTime,
  };
}
