/**
 * HTTP: the built dashboard, the rig's URDF, server info, the recordings API and dataset exports.
 *
 * Access: anyone who may connect as a viewer may list and download recordings and follow and
 * download exports (a viewer token is required only when one is configured); deleting, editing,
 * importing and starting an export need the operator token. Tokens
 * come as `Authorization: Bearer <token>`. Recording names are checked against a strict pattern,
 * and a recording must be a plain file directly in the folder, opened without following links
 * (recordingFiles.ts), so no request reads, writes or deletes anything elsewhere. A URL that does
 * not decode answers 400 `BAD_URL`.
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarSize, tarStream } from '../export/tar.js';
import { VIDEO_CODECS, type VideoCodec } from '../export/video.js';
import type { RecordingInfo } from '../protocol/index.js';
import type { ExportJobs, ExportRequest } from './ExportJobs.js';
import { HttpError } from './httpError.js';
import { checkRecordingFile, openRecordingFile } from './recordingFiles.js';
import { tokenMatches } from './tokens.js';

export type { RecordingInfo };
export { HttpError };
export { RECORDING_NAME, recordingPath } from './recordingFiles.js';

/** Where recordings live; the server's is a folder, tests may use another. */
export interface RecordingsStore {
  readonly dir: string;
  list(): Promise<RecordingInfo[]>;
  /** Deletes; false when there is no such recording. */
  remove(name: string): Promise<boolean>;
  /** Converts an uploaded IWER capture into a recording; returns its name. */
  importIwer(text: string, meta: { operator?: string; task?: string }): Promise<string>;
  /** Whether a recording is being written now (it cannot be deleted). */
  isActive(name: string): boolean;
  /** Edits a finished recording's task text and success flag; false when there is no such recording. */
  editMeta(name: string, edit: { task?: string; success?: boolean | null }): Promise<boolean>;
}

export interface HttpOptions {
  readonly store: RecordingsStore;
  readonly operatorToken: string;
  readonly viewerToken: string | undefined;
  /** Folder of the built dashboard (client/dist), when there is one. */
  readonly clientDir: string | undefined;
  readonly urdf: string;
  readonly info: () => Record<string, unknown>;
  /** Largest accepted upload, bytes. Default 64 MiB. */
  readonly maxUploadBytes?: number;
  /** Dataset export jobs (`/api/exports`); without them those routes answer 404. */
  readonly exports?: ExportJobs;
}

/** `{task?: string (≤ 256), success?: boolean | null}`, nothing else. */
function parseMetaEdit(text: string): { task?: string; success?: boolean | null } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'http: the body must be JSON {"task"?: string, "success"?: boolean | null}');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'BAD_REQUEST', 'http: the body must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'task' && k !== 'success') throw new HttpError(400, 'BAD_REQUEST', `http: unknown field "${k}" (task, success)`);
  const out: { task?: string; success?: boolean | null } = {};
  if (o['task'] !== undefined) {
    if (typeof o['task'] !== 'string' || o['task'].length > 256) throw new HttpError(400, 'BAD_REQUEST', 'http: task must be a string of at most 256 characters');
    out.task = o['task'];
  }
  if (o['success'] !== undefined) {
    if (typeof o['success'] !== 'boolean' && o['success'] !== null) throw new HttpError(400, 'BAD_REQUEST', 'http: success must be true, false or null');
    out.success = o['success'] as boolean | null;
  }
  return out;
}

/** `{recordings?: string[], fps?: integer (default 30), all?: boolean, format?: "lerobot"}`, nothing else. */
function parseExportRequest(text: string): ExportRequest {
  let v: unknown;
  try {
    v = JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'http: the body must be JSON {"recordings"?: string[], "fps"?: number, "all"?: boolean, "videoCodec"?: "av1" | "h264"}');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'BAD_REQUEST', 'http: the body must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['recordings', 'fps', 'all', 'format', 'videoCodec'].includes(k)) throw new HttpError(400, 'BAD_REQUEST', `http: unknown field "${k}" (recordings, fps, all, format, videoCodec)`);
  }
  if (o['format'] !== undefined && o['format'] !== 'lerobot') throw new HttpError(400, 'EXPORT_BAD_FORMAT', `http: unknown format ${JSON.stringify(o['format'])}; only "lerobot"`);
  const recordings = o['recordings'];
  if (recordings !== undefined && !(Array.isArray(recordings) && recordings.every((r) => typeof r === 'string'))) {
    throw new HttpError(400, 'BAD_REQUEST', 'http: recordings must be an array of recording names');
  }
  if (o['all'] !== undefined && typeof o['all'] !== 'boolean') throw new HttpError(400, 'BAD_REQUEST', 'http: all must be true or false');
  const fps = o['fps'] ?? 30;
  const codec = o['videoCodec'];
  if (codec !== undefined && !(VIDEO_CODECS as readonly unknown[]).includes(codec)) {
    throw new HttpError(400, 'EXPORT_BAD_VIDEO_CODEC', `http: videoCodec must be one of ${VIDEO_CODECS.join(', ')}, got ${JSON.stringify(codec)}`);
  }
  return {
    ...(recordings !== undefined ? { recordings: recordings as string[] } : {}),
    fps: typeof fps === 'number' ? fps : Number.NaN,
    all: o['all'] === true,
    ...(codec !== undefined ? { videoCodec: codec as VideoCodec } : {}),
  };
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return typeof h === 'string' && h.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) sendJson(res, err.status, { error: { code: err.code, message: err.message } });
  else sendJson(res, 500, { error: { code: 'INTERNAL', message: `http: ${(err as Error)?.message ?? String(err)}` } });
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'TOO_LARGE', `http: upload larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.wasm': 'application/wasm', '.ico': 'image/x-icon',
  '.urdf': 'application/xml', '.map': 'application/json',
};

const FALLBACK_PAGE = `<!doctype html><meta charset="utf-8"><title>dexbridge</title>
<body style="font-family:system-ui;margin:2rem;max-width:50rem">
<h1>dexbridge</h1><p>The bridge is running. The dashboard is not built in this checkout
(<code>client/dist</code> is missing); the WebSocket endpoint is <code>/ws</code> and the
recordings API <code>/api/recordings</code>. See docs/protocol.md.</p>
<pre id="info"></pre><script>fetch('/api/info').then(r=>r.json()).then(j=>{document.getElementById('info').textContent=JSON.stringify(j,null,2)})</script>`;

/** Builds the request handler. */
export function createHttpHandler(o: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxUpload = o.maxUploadBytes ?? 64 * 1024 * 1024;
  const viewerAllowed = (req: IncomingMessage): boolean => {
    if (o.viewerToken === undefined) return true;
    const t = bearer(req) ?? new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
    return tokenMatches(t, o.viewerToken) || tokenMatches(t, o.operatorToken);
  };
  const requireOperator = (req: IncomingMessage): void => {
    const t = bearer(req);
    if (t === undefined) throw new HttpError(401, 'AUTH_REQUIRED', 'http: this needs the operator token (Authorization: Bearer <token>)');
    if (!tokenMatches(t, o.operatorToken)) throw new HttpError(403, 'AUTH_BAD_TOKEN', 'http: the token is not the operator token');
  };

  const handleExports = async (req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<void> => {
    const jobs = o.exports;
    if (jobs === undefined) throw new HttpError(404, 'NOT_FOUND', 'http: this server does not export datasets');
    if (path === '/api/exports' && method === 'POST') {
      requireOperator(req);
      const job = await jobs.start(parseExportRequest(await readBody(req, 1024 * 1024)));
      res.setHeader('location', `/api/exports/${job.id}`);
      return sendJson(res, 202, job);
    }
    if (path === '/api/exports' && method === 'GET') return sendJson(res, 200, { exports: jobs.list() });
    const m = /^\/api\/exports\/([^/]+)(\/download)?$/.exec(path);
    if (m && method === 'GET' && m[2] === undefined) return sendJson(res, 200, jobs.get(m[1]!));
    if (m && (method === 'GET' || method === 'HEAD') && m[2] !== undefined) {
      const archive = await jobs.archive(m[1]!);
      try {
        res.writeHead(200, {
          'content-type': 'application/x-tar',
          'content-length': tarSize(archive.entries),
          'content-disposition': `attachment; filename="${archive.filename}"`,
          'cache-control': 'no-store',
        });
        if (method === 'HEAD') return void res.end();
        await pipeline(Readable.from(tarStream(archive.entries)), res);
      } finally {
        archive.release();
      }
      return;
    }
    throw new HttpError(404, 'NOT_FOUND', `http: no route ${method} ${path}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://x');
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, 'BAD_URL', `http: the URL ${JSON.stringify(String(req.url).slice(0, 200))} does not decode (malformed percent-encoding?)`);
    }
    const method = req.method ?? 'GET';
    if (path === '/healthz') return sendJson(res, 200, { ok: true });
    if (path.startsWith('/api/')) {
      if (!viewerAllowed(req)) throw new HttpError(401, 'AUTH_REQUIRED', 'http: this server needs the viewer token');
      if (path === '/api/info' && method === 'GET') return sendJson(res, 200, o.info());
      if (path === '/api/urdf' && method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-cache' });
        res.end(o.urdf);
        return;
      }
      if (path === '/api/recordings' && method === 'GET') return sendJson(res, 200, { recordings: await o.store.list() });
      if (path === '/api/recordings/import' && method === 'POST') {
        requireOperator(req);
        const text = await readBody(req, maxUpload);
        const meta: { operator?: string; task?: string } = {};
        const op = url.searchParams.get('operator');
        const task = url.searchParams.get('task');
        if (op !== null) meta.operator = op;
        if (task !== null) meta.task = task;
        const name = await o.store.importIwer(text, meta);
        return sendJson(res, 201, { name });
      }
      if (path === '/api/exports' || path.startsWith('/api/exports/')) return await handleExports(req, res, path, method);
      const m = /^\/api\/recordings\/([^/]+)$/.exec(path);
      if (m) {
        const name = m[1]!;
        if (method === 'DELETE') {
          requireOperator(req);
          await checkRecordingFile(o.store.dir, name);
          if (o.store.isActive(name)) throw new HttpError(409, 'RECORDING_ACTIVE', `http: ${name} is being recorded; stop the recording first`);
          if (!(await o.store.remove(name))) throw new HttpError(404, 'NOT_FOUND', `http: no recording ${name}`);
          res.writeHead(204).end();
          return;
        }
        if (method === 'PATCH') {
          requireOperator(req);
          await checkRecordingFile(o.store.dir, name);
          if (o.store.isActive(name)) throw new HttpError(409, 'RECORDING_ACTIVE', `http: ${name} is being recorded; use set_recording_meta on the WebSocket`);
          const edit = parseMetaEdit(await readBody(req, 64 * 1024));
          if (!(await o.store.editMeta(name, edit))) throw new HttpError(404, 'NOT_FOUND', `http: no recording ${name}`);
          return sendJson(res, 200, { name, ...edit });
        }
        if (method === 'GET' || method === 'HEAD') {
          // Served from the descriptor that was checked: no link can be swapped in meanwhile.
          const { handle, size } = await openRecordingFile(o.store.dir, name);
          try {
            // One byte range (RFC 9110 §14): the recordings view reads a long recording's index and
            // chunks where it needs them instead of downloading it whole.
            const range = byteRange(req.headers.range, size);
            if (range === 'unsatisfiable') {
              res.writeHead(416, { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' });
              return void res.end();
            }
            const [start, end] = range ?? [0, size - 1];
            res.writeHead(range ? 206 : 200, {
              'content-type': 'application/octet-stream',
              'content-length': Math.max(0, end - start + 1),
              'accept-ranges': 'bytes',
              ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
              'content-disposition': `attachment; filename="${name}"`,
            });
            if (method === 'HEAD' || end < start) return void res.end();
            await pipeline(handle.createReadStream({ start, end, autoClose: false }), res);
          } finally {
            await handle.close();
          }
          return;
        }
      }
      throw new HttpError(404, 'NOT_FOUND', `http: no route ${method} ${path}`);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `http: ${method} ${path}`);
    // Static client files; unknown paths get index.html (single-page app).
    if (o.clientDir !== undefined) {
      const root = resolve(o.clientDir);
      let file = resolve(root, `.${path}`);
      if (!file.startsWith(root + sep) && file !== root) throw new HttpError(404, 'NOT_FOUND', `http: no file ${path}`);
      let st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        file = join(root, 'index.html');
        st = await stat(file).catch(() => undefined);
      }
      if (st?.isFile()) {
        res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'content-length': st.size });
        if (method === 'HEAD') return void res.end();
        res.end(await readFile(file));
        return;
      }
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(FALLBACK_PAGE);
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) res.destroy();
      else sendError(res, err);
    });
  };
}

/**
 * The one byte range a `Range` header asks for, clamped to the file: undefined to send the whole
 * file (no header, another unit, several ranges, or a header that does not parse: RFC 9110 lets a
 * server ignore those), 'unsatisfiable' for a range that starts past the end.
 */
export function byteRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return [start, end];
}
