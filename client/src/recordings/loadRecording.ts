/**
 * A recording opened in the browser: downloaded from `/api/recordings/<name>` with progress, read
 * with @mcap/core's indexed reader (the same reader that validates recordings on the server), or,
 * for a recording still being written, front to back with its stream reader (as `recover` does), and
 * turned into arrays for the timeline: the commanded actions, the session events and the operator's
 * hand frames (for re-retargeting). Camera images are not read up front: `images.at(id, t)` reads
 * the one shown at time t when the timeline gets there, through the file's chunk index (only the
 * chunks around t are decompressed). Layout of the file: docs/recording.md.
 */
import { ACTION_DIM, createRig, type HandFrame, Retargeter, type RetargeterOptions, type Side } from '@dexbridge/retarget';
import { type CalibrationRequest, decodeActionBlock, decodeHandBlock, firstSliceType, NAL_TYPE, ROW_BLOCK_ENCODING, type RecordingInfo, validateCalibration } from '@dexbridge/server/protocol';
import { hasMcapPrefix, McapIndexedReader, McapStreamReader } from '@mcap/core';
import { decompress } from 'fzstd';

/** Recordings' chunks are zstd-compressed (docs/recording.md); fzstd decodes them in the browser. */
const DECOMPRESS_HANDLERS = { zstd: (buffer: Uint8Array, size: bigint): Uint8Array => decompress(buffer, new Uint8Array(Number(size))) };

/** One recording as `GET /api/recordings` lists it. */
export type RecordingListEntry = RecordingInfo;

export interface RecordedEvent {
  /** Seconds from the recording's start. */
  readonly t: number;
  readonly event: string;
  readonly detail: Record<string, unknown>;
}

export interface LoadedRecording {
  readonly name: string;
  readonly startNs: bigint;
  readonly durationS: number;
  /** Action times, s from the start. */
  readonly t: Float64Array;
  /** n × 88, row-major. */
  readonly actions: Float32Array;
  readonly events: readonly RecordedEvent[];
  /** Hand frames with their log time (s from the start). */
  readonly frames: readonly (HandFrame & { readonly t: number })[];
  readonly metadata: Record<string, string>;
  /** Read from a file without its summary (a recording in progress): up to its last complete chunk. */
  readonly partial: boolean;
  /**
   * The retargeting parameters the recording was made with: the server's defaults (hand scale
   * measured automatically, translation scale 1), overridden by the last `calibrate` it recorded.
   */
  readonly params: RetargetParams;
  /** The recorded cameras' images, read by time on demand. */
  readonly images: RecordingImages;
}

/** One recorded camera image (foxglove.CompressedImage on `/dexbridge/cameras/<id>`), or H.264 access unit (foxglove.CompressedVideo). */
export interface RecordedImage {
  /** Log time (the capture time on the server clock), s from the recording's start. */
  readonly t: number;
  /** `jpeg`, `png` or `h264`. */
  readonly format: string;
  readonly bytes: Uint8Array;
  /**
   * `h264` only: what a decoder needs to show this picture, in order: the access units from the
   * key frame at or before it up to and including it (a delta frame decodes only after those).
   */
  readonly chain?: readonly RecordedImage[];
}

export interface RecordingImages {
  /** Ids of the recorded cameras. */
  readonly cameras: readonly string[];
  /**
   * The newest image of camera `id` at or before `t` (s from the start), no older than
   * {@link IMAGE_LOOKBACK_S}; null when there is none. For H.264, with its `chain` back to the key
   * frame, which must lie within the look-back too (cameras send one every second).
   */
  at(id: string, t: number): Promise<RecordedImage | null>;
}

/** An image older than this at the playhead is not shown, s: the camera had stopped. */
export const IMAGE_LOOKBACK_S = 2;
const CAMERA_PREFIX = '/dexbridge/cameras/';

/** Decodes one recorded image message. */
function decodeImage(data: Uint8Array, logTime: bigint, startNs: bigint): RecordedImage {
  const v = JSON.parse(new TextDecoder().decode(data)) as { data: string; format: string };
  const bin = atob(v.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return { t: Number(logTime - startNs) / 1e9, format: v.format, bytes };
}

const isKey = (image: RecordedImage): boolean => firstSliceType(image.bytes) === NAL_TYPE.IDR;

/**
 * The picture to show from `newestFirst` (a camera's messages at or before the playhead, newest
 * first, within the look-back): an image as it is; an H.264 access unit with the units back to
 * its key frame (null if none is within the look-back: nothing could decode it).
 */
async function pictureAt(newestFirst: AsyncIterable<{ data: Uint8Array; logTime: bigint }> | Iterable<{ data: Uint8Array; logTime: bigint }>, startNs: bigint): Promise<RecordedImage | null> {
  const back: RecordedImage[] = [];
  for await (const m of newestFirst) {
    const image = decodeImage(m.data, m.logTime, startNs);
    if (image.format !== 'h264') return back.length === 0 ? image : null;
    back.push(image);
    if (isKey(image)) {
      const chain = back.reverse();
      return { ...chain.at(-1)!, chain };
    }
  }
  return null;
}

const cameraIds = (topics: ReadonlyMap<number, string>): string[] =>
  [...new Set([...topics.values()].filter((t) => t.startsWith(CAMERA_PREFIX)).map((t) => t.slice(CAMERA_PREFIX.length)))].sort();

export type Progress = (fraction: number, phase: string) => void;

const TOPIC_ACTION = '/dexbridge/action';
const TOPIC_EVENTS = '/dexbridge/events';
const TOPIC_HANDS = '/dexbridge/hand_frames';
const TOPIC_CALIBRATION = '/dexbridge/calibration';

/** Downloads `url` reporting progress (content-length based). */
export async function download(url: string, onProgress: Progress, signal?: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(url, signal ? { signal } : {});
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    if (total > 0) onProgress(got / total, 'downloading');
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const yieldToUi = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function hand(v: unknown): Float64Array | null {
  return Array.isArray(v) && v.length === 200 ? Float64Array.from(v as number[]) : null;
}

/** What both readers give the parser: channel topics, the `dexbridge` metadata, and messages in log-time order. */
interface McapContents {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly topics: ReadonlyMap<number, string>;
  /** Channel id → message encoding (row blocks for hands and actions; JSON in older recordings). */
  readonly encodings: ReadonlyMap<number, string>;
  readonly metadata: Record<string, string>;
  readonly messages: AsyncIterable<{ readonly channelId: number; readonly logTime: bigint; readonly data: Uint8Array }>;
  /** True when the file has no summary (being recorded, or cut short): read up to what is written. */
  readonly partial: boolean;
  readonly images: RecordingImages;
}

const MAGIC = [0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a];
/** Whether the file ends in MCAP's closing magic (a recording still being written does not). */
export function hasMcapFooter(bytes: Uint8Array): boolean {
  return bytes.length >= 16 && MAGIC.every((b, i) => bytes[bytes.length - 8 + i] === b);
}

/** The part of @mcap/core's `IReadable` the indexed reader uses. */
interface Readable {
  size(): Promise<bigint>;
  read(offset: bigint, length: bigint): Promise<Uint8Array>;
}

/** Size of the blocks {@link rangeReadable} fetches and keeps. */
const RANGE_BLOCK_BYTES = 1 << 20;
/** Blocks kept (least recently used dropped): what a recording opened by range holds at most, besides what is read from it. */
const RANGE_BLOCKS_KEPT = 16;
/** Longest a range request may take, body included, before it fails (and is tried again), ms. */
const RANGE_TIMEOUT_MS = 15_000;

/**
 * A complete recording on the server read where it is needed, by HTTP byte ranges of whole
 * 1 MiB blocks (sequential chunk reads then cost one request per block), the last 16 blocks kept:
 * a long recording is never held in memory whole, and the camera image at the playhead re-reads
 * only the blocks of its chunk. A server that ignores `Range` (200) hands over the whole file,
 * which is then used as is. A request that fails, or takes longer than `timeoutMs`, is tried again twice.
 */
export function rangeReadable(url: string, size: number, signal?: AbortSignal, fetchFn: typeof fetch = fetch, blockBytes = RANGE_BLOCK_BYTES, timeoutMs = RANGE_TIMEOUT_MS): Readable & { readonly requests: () => number } {
  const blocks = new Map<number, Promise<Uint8Array>>();
  let whole: Uint8Array | undefined;
  let requests = 0;
  const block = (i: number): Promise<Uint8Array> => {
    const kept = blocks.get(i);
    if (kept !== undefined) {
      blocks.delete(i); // most recently used last
      blocks.set(i, kept);
      return kept;
    }
    const start = i * blockBytes;
    const end = Math.min(size, start + blockBytes) - 1;
    requests++;
    // A network error (not an HTTP status) is tried again twice: the server may close an idle
    // keep-alive connection just as the browser reuses it (its admission sweeps idle sockets). A
    // request (with its body) that takes longer than RANGE_TIMEOUT_MS is an error too, never a
    // read that waits for ever: a camera panel waiting on one would show nothing new again.
    const request = async (): Promise<Response> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const timeout = AbortSignal.timeout(timeoutMs);
          return await fetchFn(url, { headers: { range: `bytes=${start}-${end}` }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        } catch (error) {
          if (attempt >= 3 || signal?.aborted) throw error;
          await new Promise((r) => setTimeout(r, 50 * attempt));
        }
      }
    };
    const got = request().then(async (res) => {
      if (res.status === 200) {
        whole = new Uint8Array(await res.arrayBuffer());
        return whole.subarray(start, end + 1);
      }
      if (res.status !== 206) throw new Error(`GET ${url} bytes ${start}-${end}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.length !== end - start + 1) throw new Error(`GET ${url} bytes ${start}-${end}: ${bytes.length} bytes came`);
      return bytes;
    });
    got.catch(() => blocks.delete(i)); // a failed fetch is tried again next time
    blocks.set(i, got);
    while (blocks.size > RANGE_BLOCKS_KEPT) blocks.delete(blocks.keys().next().value!);
    return got;
  };
  return {
    requests: () => requests,
    size: async () => BigInt(size),
    async read(offset, length) {
      const from = Number(offset);
      const to = from + Number(length);
      if (from < 0 || to > size) throw new Error(`recording: read of bytes ${from}-${to} beyond the file's ${size}`);
      if (whole !== undefined) return whole.subarray(from, to);
      const first = Math.floor(from / blockBytes);
      const last = Math.floor(Math.max(from, to - 1) / blockBytes);
      const parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, k) => block(first + k)));
      const all = whole as Uint8Array | undefined; // a block's fetch may have brought the whole file
      if (all !== undefined) return all.subarray(from, to);
      if (parts.length === 1) return parts[0]!.subarray(from - first * blockBytes, to - first * blockBytes);
      const out = new Uint8Array(to - from);
      let at = 0;
      parts.forEach((p, k) => {
        const blockStart = (first + k) * blockBytes;
        const piece = p.subarray(Math.max(0, from - blockStart), Math.min(p.length, to - blockStart));
        out.set(piece, at);
        at += piece.length;
      });
      return out;
    },
  };
}

const bytesReadable = (bytes: Uint8Array): Readable => ({
  size: async () => BigInt(bytes.length),
  read: async (offset, length) => bytes.subarray(Number(offset), Number(offset + length)),
});

async function indexed(readable: Readable): Promise<McapContents> {
  const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: DECOMPRESS_HANDLERS });
  const startNs = reader.statistics?.messageStartTime ?? 0n;
  const topics = new Map<number, string>();
  const encodings = new Map<number, string>();
  for (const c of reader.channelsById.values()) {
    topics.set(c.id, c.topic);
    encodings.set(c.id, c.messageEncoding);
  }
  const metadata: Record<string, string> = {};
  for await (const m of reader.readMetadata({ name: 'dexbridge' })) for (const [k, v] of m.metadata) metadata[k] = v;
  const images: RecordingImages = {
    cameras: cameraIds(topics),
    async at(id, t) {
      const endTime = startNs + BigInt(Math.round(t * 1e9));
      const startTime = endTime - BigInt(IMAGE_LOOKBACK_S * 1e9);
      // Newest first within the window: the chunk index finds the chunks that hold it, and only those are decompressed.
      return pictureAt(reader.readMessages({ topics: [CAMERA_PREFIX + id], startTime: startTime < startNs ? startNs : startTime, endTime, reverse: true }), startNs);
    },
  };
  return { startNs, endNs: reader.statistics?.messageEndTime ?? startNs, topics, encodings, metadata, messages: reader.readMessages({ topics: [TOPIC_ACTION, TOPIC_EVENTS, TOPIC_HANDS, TOPIC_CALIBRATION] }), partial: false, images };
}

/**
 * A file without its summary, read front to back as `dexbridge recover` reads one: every record of
 * every complete chunk; a torn tail (the chunk being written) is left out.
 */
function streamed(bytes: Uint8Array): McapContents {
  if (!hasMcapPrefix(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))) throw new Error(`recording: not an MCAP file (it starts with ${[...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  const reader = new McapStreamReader({ decompressHandlers: DECOMPRESS_HANDLERS });
  reader.append(bytes);
  const topics = new Map<number, string>();
  const encodings = new Map<number, string>();
  const metadata: Record<string, string> = {};
  const wanted = new Set([TOPIC_ACTION, TOPIC_EVENTS, TOPIC_HANDS, TOPIC_CALIBRATION]);
  const messages: { channelId: number; logTime: bigint; data: Uint8Array }[] = [];
  // Without an index, each camera's messages are kept as read (still encoded) and searched by time.
  const byCamera = new Map<string, { logTime: bigint; data: Uint8Array }[]>();
  for (;;) {
    let record: ReturnType<McapStreamReader['nextRecord']>;
    try {
      record = reader.nextRecord();
    } catch {
      break; // a record that does not parse ends what can be read, as in recover
    }
    if (!record) break;
    if (record.type === 'Channel') {
      topics.set(record.id, record.topic);
      encodings.set(record.id, record.messageEncoding);
    } else if (record.type === 'Metadata' && record.name === 'dexbridge') for (const [k, v] of record.metadata) metadata[k] = v;
    else if (record.type === 'Message') {
      const topic = topics.get(record.channelId) ?? '';
      if (wanted.has(topic)) messages.push({ channelId: record.channelId, logTime: record.logTime, data: record.data });
      else if (topic.startsWith(CAMERA_PREFIX)) {
        const id = topic.slice(CAMERA_PREFIX.length);
        let list = byCamera.get(id);
        if (!list) {
          list = [];
          byCamera.set(id, list);
        }
        list.push({ logTime: record.logTime, data: record.data });
      }
    }
  }
  for (const list of byCamera.values()) list.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
  messages.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
  const startNs = messages[0]?.logTime ?? 0n;
  const endNs = messages.at(-1)?.logTime ?? startNs;
  return {
    startNs,
    endNs,
    topics,
    encodings,
    metadata,
    partial: true,
    messages: (async function* () {
      yield* messages;
    })(),
    images: {
      cameras: cameraIds(topics),
      async at(id, t) {
        const list = byCamera.get(id) ?? [];
        const at = startNs + BigInt(Math.round(t * 1e9));
        // The last image at or before `at` (binary search).
        let lo = 0, hi = list.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid]!.logTime <= at) lo = mid + 1;
          else hi = mid;
        }
        const oldest = at - BigInt(IMAGE_LOOKBACK_S * 1e9);
        const newestFirst = function* () {
          for (let i = lo - 1; i >= 0 && list[i]!.logTime >= oldest; i--) yield list[i]!;
        };
        return pictureAt(newestFirst(), startNs);
      },
    },
  };
}

/**
 * Parses an MCAP recording held in memory: a complete one with the indexed reader, one without its
 * summary (being recorded) front to back up to its last complete chunk (`partial` in the result).
 */
export async function parseRecording(name: string, bytes: Uint8Array, onProgress: Progress): Promise<LoadedRecording> {
  return parseContents(name, hasMcapFooter(bytes) ? await indexed(bytesReadable(bytes)) : streamed(bytes), onProgress);
}

/**
 * Opens recording `name` of the server at `url`: a complete one where it is needed, by byte
 * ranges ({@link rangeReadable}); one still being written (or cut short) downloaded and read up to
 * its last complete chunk.
 */
export async function openRecording(
  name: string,
  url: string,
  entry: Pick<RecordingListEntry, 'complete' | 'recording' | 'sizeBytes'> | undefined,
  onProgress: Progress,
  signal?: AbortSignal,
  readable: (size: number) => Readable = (size) => rangeReadable(url, size, signal),
): Promise<LoadedRecording> {
  if (entry?.complete && !entry.recording && entry.sizeBytes > 0) {
    onProgress(0, 'reading');
    return parseContents(name, await indexed(readable(entry.sizeBytes)), onProgress);
  }
  return parseRecording(name, await download(url, onProgress, signal), onProgress);
}

async function parseContents(name: string, contents: McapContents, onProgress: Progress): Promise<LoadedRecording> {
  const { startNs, endNs, topics, encodings, metadata, messages, partial, images } = contents;
  let span = Number(endNs - startNs) / 1e9;
  const startMs = Number(startNs) / 1e6;
  const times: number[] = [];
  let actions = new Float32Array(1024 * ACTION_DIM);
  const events: RecordedEvent[] = [];
  const frames: (HandFrame & { t: number })[] = [];
  let params: RetargetParams = DEFAULT_PARAMS;
  const dec = new TextDecoder();
  let n = 0;
  let count = 0;
  const addAction = (t: number, a: ArrayLike<number>): void => {
    if ((n + 1) * ACTION_DIM > actions.length) {
      const bigger = new Float32Array(actions.length * 2);
      bigger.set(actions);
      actions = bigger;
    }
    for (let i = 0; i < ACTION_DIM; i++) actions[n * ACTION_DIM + i] = a[i] ?? 0;
    times.push(t);
    n++;
  };
  for await (const m of messages) {
    const topic = topics.get(m.channelId);
    const t = Number(m.logTime - startNs) / 1e9;
    if (encodings.get(m.channelId) === ROW_BLOCK_ENCODING) {
      // A row block holds up to half a second of rows, each with its own time (docs/recording.md).
      if (topic === TOPIC_ACTION) for (const row of decodeActionBlock(m.data)) addAction((row.logTimeMs - startMs) / 1000, row.action);
      else if (topic === TOPIC_HANDS) for (const f of decodeHandBlock(m.data)) frames.push({ t: (f.logTimeMs - startMs) / 1000, tMs: f.tMs, left: f.left, right: f.right });
    } else {
      const v = JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
      if (topic === TOPIC_ACTION) {
        addAction(t, (v['action'] as number[]) ?? []);
      } else if (topic === TOPIC_EVENTS) {
        events.push({ t, event: String(v['event']), detail: (v['detail'] as Record<string, unknown>) ?? {} });
      } else if (topic === TOPIC_HANDS) {
        frames.push({ t, tMs: Number(v['t_ms']), left: hand(v['left']), right: hand(v['right']) });
      } else if (topic === TOPIC_CALIBRATION) {
        params = withCalibration(params, v['calibration']);
      }
    }
    if (++count % 2000 === 0) {
      onProgress(span > 0 ? Math.min(1, t / span) : 0, 'reading');
      await yieldToUi();
    }
  }
  // The last block's rows run past its log time, the file's last.
  span = Math.max(span, times.at(-1) ?? 0, frames.at(-1)?.t ?? 0);
  onProgress(1, 'reading');
  return { name, startNs, durationS: span, t: Float64Array.from(times), actions: actions.slice(0, n * ACTION_DIM), events, frames, metadata, partial, params, images };
}

/** The server's defaults: hand scale measured at the first plausible frame, translation 1:1. */
export const DEFAULT_PARAMS: RetargetParams = Object.freeze({ handScale: 'auto', translationScale: 1 });

/**
 * Applies one recorded calibration (`{handScale?, translationScale?, digitScales?}`, handScale a
 * number or per side). One outside the server's ranges (validateCalibration) is left out, as the
 * server would have refused it (`dexbridge retarget` refuses such a recording, naming it).
 */
function withCalibration(p: RetargetParams, c: unknown): RetargetParams {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return p;
  const r = c as CalibrationRequest;
  if (r.handScale === undefined && r.translationScale === undefined && r.digitScales === undefined) return p;
  if (validateCalibration(r) !== null) return p;
  // One number sets both hands (and ends per-side scales); per-side scales (from `calibrate_hands`) are kept per side.
  let handScale = p.handScale;
  let handScales = p.handScales;
  if (typeof r.handScale === 'number') {
    handScale = r.handScale;
    handScales = undefined;
  } else if (r.handScale !== undefined) {
    const next: Partial<Record<Side, number>> = { ...handScales, ...r.handScale };
    if (next.left !== undefined && next.left === next.right) {
      handScale = next.left;
      handScales = undefined;
    } else if (Object.keys(next).length > 0) {
      handScales = next;
    }
  }
  // Digit scales (from `calibrate_hands`) are per side and kept as recorded.
  const digitScales = r.digitScales === undefined ? p.digitScales : { ...p.digitScales, ...r.digitScales };
  return { handScale, ...(handScales ? { handScales } : {}), translationScale: r.translationScale ?? p.translationScale, ...(digitScales ? { digitScales } : {}) };
}

/** The hand scale as the re-retarget form shows it: `auto`, one number, or `left/right`. */
export function formatHandScale(p: Pick<RetargetParams, 'handScale' | 'handScales'>): string {
  const one = (v: number | 'auto' | undefined): string => (v === undefined || v === 'auto' ? 'auto' : String(Number(v.toFixed(4))));
  if (p.handScales === undefined) return one(p.handScale);
  return `${one(p.handScales.left ?? p.handScale)}/${one(p.handScales.right ?? p.handScale)}`;
}

/** Reads the form's hand scale: `auto`, a number > 0 for both hands, or `left/right` (each a number > 0 or `auto`); null when it is none of these. */
export function parseHandScale(text: string): Pick<RetargetParams, 'handScale' | 'handScales'> | null {
  const one = (t: string): number | 'auto' | null => {
    const v = t.trim();
    if (v === 'auto') return 'auto';
    const x = Number(v);
    return v !== '' && Number.isFinite(x) && x > 0 ? x : null;
  };
  const parts = text.split('/');
  if (parts.length === 1) {
    const v = one(parts[0]!);
    return v === null ? null : { handScale: v };
  }
  if (parts.length !== 2) return null;
  const [l, r] = [one(parts[0]!), one(parts[1]!)];
  if (l === null || r === null) return null;
  const handScales: Partial<Record<Side, number>> = {};
  if (l !== 'auto') handScales.left = l;
  if (r !== 'auto') handScales.right = r;
  return { handScale: 'auto', ...(Object.keys(handScales).length > 0 ? { handScales } : {}) };
}

export interface RetargetParams {
  /** Robot hand / human hand; 'auto' measures it at the first plausible frame. */
  readonly handScale: number | 'auto';
  /** Per-side hand scales that differ (`calibrate_hands` measures each hand); a side left out takes `handScale`. */
  readonly handScales?: Partial<Record<Side, number>>;
  readonly translationScale: number;
  /** Each digit's robot/human length ratio per side, as recorded (`calibrate_hands`); absent: measured at the start. */
  readonly digitScales?: Partial<Record<Side, readonly number[]>>;
}

/**
 * Retargets a recording's hand frames again with other parameters (offline, without the server's
 * safety limiter: this is what the retargeting alone would have commanded). Returns one action per
 * frame at the frame's log time.
 */
export async function reRetarget(rec: LoadedRecording, params: RetargetParams, onProgress: Progress, signal?: AbortSignal): Promise<{ t: Float64Array; actions: Float32Array }> {
  const ds = params.digitScales;
  const hs = params.handScales;
  const sides: NonNullable<RetargeterOptions['sides']> = {};
  for (const side of ['left', 'right'] as const) {
    if (ds?.[side] === undefined && hs?.[side] === undefined) continue;
    sides[side] = { hand: { scale: hs?.[side] ?? params.handScale, ...(ds?.[side] ? { digitScales: ds[side] } : {}) } };
  }
  const options: RetargeterOptions = { hand: { scale: params.handScale }, arm: { translationScale: params.translationScale }, autoEngage: true, sides };
  const r = new Retargeter(createRig(), options);
  const n = rec.frames.length;
  const t = new Float64Array(n);
  const actions = new Float32Array(n * ACTION_DIM);
  let lastTMs = Number.NEGATIVE_INFINITY;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const f = rec.frames[i]!;
    if (!(f.tMs > lastTMs)) continue; // the retargeter needs strictly increasing frame times
    lastTMs = f.tMs;
    const out = r.process(f);
    t[k] = f.t;
    actions.set(out.action, k * ACTION_DIM);
    k++;
    if (i % 500 === 499) {
      if (signal?.aborted) throw new Error('re-retargeting cancelled');
      onProgress(i / n, 'retargeting');
      await yieldToUi();
    }
  }
  onProgress(1, 'retargeting');
  return { t: t.slice(0, k), actions: actions.slice(0, k * ACTION_DIM) };
}

/** Index of the last sample at or before `time` (binary search; 0 when before the first). */
export function indexAt(t: Float64Array, time: number): number {
  let lo = 0, hi = t.length - 1;
  if (hi < 0 || time <= t[0]!) return 0;
  if (time >= t[hi]!) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= time) lo = mid;
    else hi = mid;
  }
  return lo;
}
