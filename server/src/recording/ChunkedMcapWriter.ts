/**
 * A chunked, indexed MCAP writer that can close its open chunk on demand.
 *
 * `McapWriter` of `@mcap/core` 2.2.2 closes a chunk only when it outgrows `chunkSize` (or at
 * `end()`); its `#finalizeChunk` is a true private field, so no subclass or option reaches it.
 * A recorder that must bound what a crash loses needs that call, so this writer composes the same
 * public building blocks `McapWriter` is made of, `McapRecordBuilder` and `McapChunkBuilder`, and
 * adds {@link ChunkedMcapWriter.closeChunk}. The output has the layout `McapWriter` produces
 * (chunks followed by their message indexes; a summary with schemas, channels, statistics and
 * metadata/attachment/chunk indexes; summary offsets; CRCs everywhere) and is read by
 * `McapIndexedReader`.
 *
 * Unlike `McapWriter`, every method is synchronous: the bytes of the file are handed, in order, to
 * the `output` callback, and the caller decides how they reach storage (the {@link Recorder}
 * queues them for its sink). Schema and channel records are written to the data section when they
 * are registered, ahead of any message, so a reader of a truncated file knows every channel.
 * Attachments and metadata close the open chunk first, so the file is in time order.
 *
 * Pure TypeScript: no Node built-ins.
 */
import { McapChunkBuilder, McapRecordBuilder, Opcode } from '@mcap/core';
import type { Attachment, Channel, ChunkIndex, Header, Message, Metadata, Schema, Statistics } from '@mcap/core';
import { crc32, crc32Final, crc32Init, crc32Update } from './crc32.js';

/** Compresses a chunk's records; `compression` is the MCAP name (`zstd`, `lz4`). */
export type ChunkCompressor = (records: Uint8Array) => { compression: string; compressedData: Uint8Array };

export interface ChunkedMcapWriterOptions {
  /**
   * Receives every byte of the file, in order, in blocks: called synchronously from the writer's
   * methods with a buffer the writer never touches again.
   */
  readonly output: (bytes: Uint8Array) => void;
  /** Close the open chunk once its records reach this many bytes. Default 256 KiB. */
  readonly chunkSizeBytes?: number;
  /** Chunk compression; default none. */
  readonly compressChunk?: ChunkCompressor;
}

/** Default chunk size (bytes) of the recorder: 256 KiB. */
export const DEFAULT_CHUNK_SIZE_BYTES = 256 * 1024;

/** Length of the footer fields the summary CRC covers: opcode, record length, two offsets. */
const FOOTER_PREFIX_LENGTH = 1 + 8 + 8 + 8;

export class ChunkedMcapWriter {
  readonly #output: (bytes: Uint8Array) => void;
  readonly #chunkSizeBytes: number;
  readonly #compressChunk: ChunkCompressor | undefined;
  readonly #records = new McapRecordBuilder();
  readonly #chunk = new McapChunkBuilder({ useMessageIndex: true });
  readonly #schemas = new Map<number, Schema>();
  readonly #channels = new Map<number, Channel>();
  readonly #chunkIndexes: ChunkIndex[] = [];
  readonly #attachmentIndexes: {
    offset: bigint;
    length: bigint;
    logTime: bigint;
    createTime: bigint;
    dataSize: bigint;
    name: string;
    mediaType: string;
  }[] = [];
  readonly #metadataIndexes: { offset: bigint; length: bigint; name: string }[] = [];
  readonly #statistics: Statistics = {
    messageCount: 0n,
    schemaCount: 0,
    channelCount: 0,
    attachmentCount: 0,
    metadataCount: 0,
    chunkCount: 0,
    messageStartTime: 0n,
    messageEndTime: 0n,
    channelMessageCounts: new Map(),
  };
  #nextSchemaId = 1;
  #nextChannelId = 0;
  #position = 0n;
  #dataSectionCrc = crc32Init();
  #state: 'new' | 'open' | 'ended' = 'new';

  constructor(options: ChunkedMcapWriterOptions) {
    const { output, chunkSizeBytes = DEFAULT_CHUNK_SIZE_BYTES, compressChunk } = options;
    if (typeof output !== 'function') throw new TypeError('recording: ChunkedMcapWriter option output must be a function');
    if (!(Number.isInteger(chunkSizeBytes) && chunkSizeBytes > 0)) {
      throw new RangeError(`recording: ChunkedMcapWriter option chunkSizeBytes must be a positive integer, got ${chunkSizeBytes}`);
    }
    this.#output = output;
    this.#chunkSizeBytes = chunkSizeBytes;
    this.#compressChunk = compressChunk;
  }

  /** Bytes handed to `output` so far (the offset of the next record in the file). */
  get position(): bigint {
    return this.#position;
  }

  /** Messages in the open chunk (not yet handed to `output`). */
  get openChunkMessages(): number {
    return this.#chunk.numMessages;
  }

  /** Counts so far: messages, chunks, schemas, channels, attachments, metadata, time span. */
  get statistics(): Readonly<Statistics> {
    return this.#statistics;
  }

  /** Magic and header. Must come first, once. */
  start(header: Header = { profile: '', library: 'dexbridge' }): void {
    if (this.#state !== 'new') throw new Error('recording: ChunkedMcapWriter.start() called twice');
    this.#state = 'open';
    this.#records.writeMagic();
    this.#records.writeHeader(header);
    this.#emitData();
  }

  /** Adds a schema record to the data section; returns its id (1, 2, …). */
  registerSchema(info: Omit<Schema, 'id'>): number {
    this.#checkOpen('registerSchema');
    const schema: Schema = { ...info, id: this.#nextSchemaId++ };
    this.#schemas.set(schema.id, schema);
    this.#statistics.schemaCount++;
    this.#records.writeSchema(schema);
    this.#emitData();
    return schema.id;
  }

  /** Adds a channel record to the data section; returns its id (0, 1, …). */
  registerChannel(info: Omit<Channel, 'id'>): number {
    this.#checkOpen('registerChannel');
    if (info.schemaId !== 0 && !this.#schemas.has(info.schemaId)) {
      throw new RangeError(`recording: channel ${info.topic} names schema ${info.schemaId}, which is not registered`);
    }
    const channel: Channel = { ...info, id: this.#nextChannelId++ };
    this.#channels.set(channel.id, channel);
    this.#statistics.channelCount++;
    this.#records.writeChannel(channel);
    this.#emitData();
    return channel.id;
  }

  /**
   * Appends a message to the open chunk (its data is copied); closes the chunk when it reaches
   * `chunkSizeBytes`.
   */
  addMessage(message: Message): void {
    this.#checkOpen('addMessage');
    if (!this.#channels.has(message.channelId)) {
      throw new RangeError(`recording: message on channel ${message.channelId}, which is not registered`);
    }
    const stats = this.#statistics;
    if (stats.messageCount === 0n || message.logTime < stats.messageStartTime) stats.messageStartTime = message.logTime;
    if (stats.messageCount === 0n || message.logTime > stats.messageEndTime) stats.messageEndTime = message.logTime;
    stats.messageCount++;
    stats.channelMessageCounts.set(message.channelId, (stats.channelMessageCounts.get(message.channelId) ?? 0n) + 1n);
    this.#chunk.addMessage(message);
    if (this.#chunk.byteLength >= this.#chunkSizeBytes) this.closeChunk();
  }

  /** Closes the open chunk, then writes the attachment record (indexed in the summary). */
  addAttachment(attachment: Attachment): void {
    this.#checkOpen('addAttachment');
    this.closeChunk();
    const offset = this.#position;
    const length = this.#records.writeAttachment(attachment);
    this.#attachmentIndexes.push({
      offset,
      length,
      logTime: attachment.logTime,
      createTime: attachment.createTime,
      dataSize: BigInt(attachment.data.byteLength),
      name: attachment.name,
      mediaType: attachment.mediaType,
    });
    this.#statistics.attachmentCount++;
    this.#emitData();
  }

  /** Closes the open chunk, then writes the metadata record (indexed in the summary). */
  addMetadata(metadata: Metadata): void {
    this.#checkOpen('addMetadata');
    this.closeChunk();
    const offset = this.#position;
    const length = this.#records.writeMetadata(metadata);
    this.#metadataIndexes.push({ offset, length, name: metadata.name });
    this.#statistics.metadataCount++;
    this.#emitData();
  }

  /**
   * Writes the open chunk and its message indexes now, whatever its size. Call it on a timer to
   * bound what a crash loses: everything up to the last closed chunk survives in the file.
   * @returns false if the chunk held no message (nothing written).
   */
  closeChunk(): boolean {
    const chunk = this.#chunk;
    if (this.#state !== 'open' || chunk.numMessages === 0) return false;
    const records = chunk.buffer;
    const uncompressedCrc = crc32(records);
    let compression = '';
    let compressed = records;
    if (this.#compressChunk) ({ compression, compressedData: compressed } = this.#compressChunk(records));
    const chunkStartOffset = this.#position;
    const chunkLength = this.#records.writeChunk({
      messageStartTime: chunk.messageStartTime,
      messageEndTime: chunk.messageEndTime,
      uncompressedSize: BigInt(records.byteLength),
      uncompressedCrc,
      compression,
      records: compressed,
    });
    const messageIndexOffsets = new Map<number, bigint>();
    let messageIndexLength = 0n;
    for (const index of chunk.indices) {
      messageIndexOffsets.set(index.channelId, chunkStartOffset + chunkLength + messageIndexLength);
      messageIndexLength += this.#records.writeMessageIndex(index);
    }
    this.#chunkIndexes.push({
      messageStartTime: chunk.messageStartTime,
      messageEndTime: chunk.messageEndTime,
      chunkStartOffset,
      chunkLength,
      messageIndexOffsets,
      messageIndexLength,
      compression,
      compressedSize: BigInt(compressed.byteLength),
      uncompressedSize: BigInt(records.byteLength),
    });
    this.#statistics.chunkCount++;
    chunk.reset();
    this.#emitData();
    return true;
  }

  /**
   * Closes the open chunk and writes the data end, the summary (schemas, channels, statistics,
   * metadata, attachment and chunk indexes), the summary offsets, the footer and the closing magic.
   * No method may be called afterwards.
   */
  end(): void {
    this.#checkOpen('end');
    this.closeChunk();
    this.#records.writeDataEnd({ dataSectionCrc: crc32Final(this.#dataSectionCrc) });
    this.#emit();
    this.#state = 'ended';

    const summaryStart = this.#position;
    const summary = this.#records;
    const offsets: { groupOpcode: number; groupStart: bigint; groupLength: bigint }[] = [];
    const group = (groupOpcode: number, write: () => bigint): void => {
      const groupStart = summaryStart + BigInt(summary.length);
      const groupLength = write();
      if (groupLength > 0n) offsets.push({ groupOpcode, groupStart, groupLength });
    };
    const sum = <T>(items: Iterable<T>, write: (item: T) => bigint): bigint => {
      let n = 0n;
      for (const item of items) n += write(item);
      return n;
    };
    group(Opcode.SCHEMA, () => sum(this.#schemas.values(), (s) => summary.writeSchema(s)));
    group(Opcode.CHANNEL, () => sum(this.#channels.values(), (c) => summary.writeChannel(c)));
    group(Opcode.STATISTICS, () => summary.writeStatistics(this.#statistics));
    group(Opcode.METADATA_INDEX, () => sum(this.#metadataIndexes, (m) => summary.writeMetadataIndex(m)));
    group(Opcode.ATTACHMENT_INDEX, () => sum(this.#attachmentIndexes, (a) => summary.writeAttachmentIndex(a)));
    group(Opcode.CHUNK_INDEX, () => sum(this.#chunkIndexes, (c) => summary.writeChunkIndex(c)));
    const summaryOffsetStart = summaryStart + BigInt(summary.length);
    for (const offset of offsets) summary.writeSummaryOffset(offset);

    // The summary CRC covers the summary, the summary offsets and the footer up to its CRC field.
    const footerPrefix = new DataView(new ArrayBuffer(FOOTER_PREFIX_LENGTH));
    footerPrefix.setUint8(0, Opcode.FOOTER);
    footerPrefix.setBigUint64(1, 8n + 8n + 4n, true);
    footerPrefix.setBigUint64(9, summaryStart, true);
    footerPrefix.setBigUint64(17, summaryOffsetStart, true);
    let summaryCrc = crc32Update(crc32Init(), summary.buffer);
    summaryCrc = crc32Final(crc32Update(summaryCrc, new Uint8Array(footerPrefix.buffer)));
    summary.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc });
    summary.writeMagic();
    this.#emit();
  }

  #checkOpen(method: string): void {
    if (this.#state !== 'open') {
      throw new Error(`recording: ChunkedMcapWriter.${method}() called ${this.#state === 'new' ? 'before start()' : 'after end()'}`);
    }
  }

  /** Hands the record builder's bytes to `output` as part of the data section (CRC'd). */
  #emitData(): void {
    this.#dataSectionCrc = crc32Update(this.#dataSectionCrc, this.#records.buffer);
    this.#emit();
  }

  #emit(): void {
    // `buffer` is a view into the builder's reusable storage: copy it before reset().
    const bytes = this.#records.buffer.slice();
    this.#records.reset();
    if (bytes.length === 0) return;
    this.#position += BigInt(bytes.length);
    this.#output(bytes);
  }
}
