/**
 * The recordings folder's files as the HTTP API touches them. A recording is a regular file
 * directly in the folder with exactly one link: a symbolic link or a hard link planted in the
 * folder must never let a request read, write or delete a file elsewhere. Files are opened
 * without following links (`O_NOFOLLOW`) and checked on the open descriptor (`fstat`), so a link
 * swapped in between a check and the open changes nothing. Sidecar edits (`<name>.meta.json`)
 * are written to a fresh file and renamed over the old one: a rename replaces a link, it never
 * writes through it.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, rename, unlink } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { HttpError } from './httpError.js';

/** A recording name the API accepts: a plain file name ending in .mcap. */
export const RECORDING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.mcap$/;

/** Resolves a recording name directly inside `dir`, or throws 400 BAD_NAME. */
export function recordingPath(dir: string, name: string): string {
  if (!RECORDING_NAME.test(name) || name.includes('..')) throw new HttpError(400, 'BAD_NAME', `http: "${name}" is not a recording name (letters, digits, . _ -, ending in .mcap)`);
  const root = resolve(dir);
  const path = resolve(root, name);
  if (!path.startsWith(root + sep) || path.slice(root.length + 1).includes(sep)) throw new HttpError(400, 'BAD_NAME', `http: "${name}" is outside the recordings folder`);
  return path;
}

/** Whether `st` is what a recording must be: a regular file with one link. */
export const isPlainFile = (st: Stats): boolean => st.isFile() && st.nlink === 1;

const refused = (name: string, st: Stats): HttpError =>
  new HttpError(403, 'NOT_A_RECORDING', `http: ${name} is not a plain file in the recordings folder (${st.isSymbolicLink() ? 'a symbolic link' : st.isFile() ? `a file with ${st.nlink} links` : 'not a regular file'})`);

/**
 * Checks, without following links, that `name` is a recording file in `dir`; returns its path.
 * @throws HttpError 400 BAD_NAME, 404 NOT_FOUND, 403 NOT_A_RECORDING (a link, a hard-linked file, a folder, …)
 */
export async function checkRecordingFile(dir: string, name: string): Promise<string> {
  const path = recordingPath(dir, name);
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) throw new HttpError(404, 'NOT_FOUND', `http: no recording ${name}`);
  if (!isPlainFile(st)) throw refused(name, st);
  return path;
}

/**
 * Opens a recording for reading without following links and checks the open file; the caller
 * closes the handle.
 * @throws HttpError as {@link checkRecordingFile}
 */
export async function openRecordingFile(dir: string, name: string): Promise<{ handle: FileHandle; size: number; path: string }> {
  const path = recordingPath(dir, name);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new HttpError(404, 'NOT_FOUND', `http: no recording ${name}`);
    if (code === 'ELOOP') throw new HttpError(403, 'NOT_A_RECORDING', `http: ${name} is not a plain file in the recordings folder (a symbolic link)`);
    throw err;
  }
  const st = await handle.stat();
  if (!isPlainFile(st)) {
    await handle.close();
    throw refused(name, st);
  }
  return { handle, size: st.size, path };
}

/** Reads a small file beside a recording without following links; undefined if it is missing or not a plain file. */
export async function readPlainFile(path: string): Promise<string | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!isPlainFile(await handle.stat())) return undefined;
    return await handle.readFile('utf8');
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** Replaces `path` with `text`: written to a new file, then renamed over it (never through a link). */
export async function replacePlainFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
