/**
 * What the browser test files share: the production client build they serve, one window per page,
 * and waiting for a condition.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ARTIFACTS = join(ROOT, 'test-artifacts/browser');

/** What the client build reads from the repository (the client and the workspace packages it imports, and the lockfile). */
const CLIENT_INPUTS = ['client', 'retarget/src', 'server/src', 'urdf', 'package-lock.json'];

/** A hash of every file of {@link CLIENT_INPUTS} (paths and contents; build output and node_modules left out). */
function clientInputsHash(): string {
  const hash = createHash('sha256');
  const walk = (path: string): void => {
    const full = join(ROOT, path);
    if (!existsSync(full)) return;
    if (statSync(full).isFile()) {
      hash.update(`${path}\0`).update(readFileSync(full));
      return;
    }
    const entries = readdirSync(full, { withFileTypes: true, recursive: true }).filter((e) => e.isFile());
    const files = entries.map((e) => relative(ROOT, join(e.parentPath, e.name))).filter((f) => !/(^|\/)(node_modules|dist)\//.test(f)).sort();
    for (const f of files) hash.update(`${f}\0`).update(readFileSync(join(ROOT, f)));
  };
  for (const p of CLIENT_INPUTS) walk(p);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The client built for production, in a temporary folder named by a hash of its inputs: the
 * browser test files share one build (a few seconds of both cores), and a build whose
 * inputs did not change since the last run is used again. Callers must not delete it.
 */
export async function buildClient(): Promise<string> {
  const dir = join(tmpdir(), `dexbridge-client-${clientInputsHash()}`);
  if (existsSync(join(dir, 'index.html'))) return dir;
  const building = mkdtempSync(join(tmpdir(), 'dexbridge-client-building-'));
  await build({ root: join(ROOT, 'client'), configFile: join(ROOT, 'client/vite.config.ts'), logLevel: 'warn', build: { outDir: building, emptyOutDir: true } });
  try {
    renameSync(building, dir); // whole or not at all
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run finished the same build first
  }
  return dir;
}

/** Polls `test` every 50 ms until it holds; fails after `ms` naming `what`. */
export async function until(what: string, test: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await test())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Screenshots not yet written, by page. */
const shooting = new Map<Page, Promise<void>[]>();

/**
 * Saves a screenshot of `page` as `name` in {@link ARTIFACTS}. Screenshots are a record for people,
 * not a check (each takes a second of software rendering here): the test goes on while it is
 * taken, and {@link closeWindow} waits for it before the window goes. Await it where the next
 * step changes what it shows.
 */
export function shot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  const taking = page.screenshot({ path: join(ARTIFACTS, name), ...options }).then(
    () => undefined,
    (e: Error) => console.warn(`screenshot ${name} not saved: ${e.message}`),
  );
  shooting.set(page, [...(shooting.get(page) ?? []), taking]);
  return taking;
}

/** Closes a window from {@link newWindow} once its screenshots are written. */
export async function closeWindow(w: { context: BrowserContext; page: Page }): Promise<void> {
  await Promise.all(shooting.get(w.page) ?? []);
  shooting.delete(w.page);
  await w.context.close();
}

/**
 * How often a test window draws. Chromium draws WebGL in software here (SwiftShader): one window
 * drawing the robot at its 60 Hz took more than a core of the GPU process, the emulated headset
 * drew at the 13–17 Hz that core allowed, and whatever else ran waited. 20 Hz keeps every test's
 * conditions (a few frames, a pinch, a replay) and the watchdog's 200 ms well apart.
 */
const WINDOW_FRAME_RATE_HZ = 20;

/**
 * Runs in each test window before its scripts: requestAnimationFrame callbacks (three.js's, the
 * emulated headset's XR frames, the plots') run at most `hz` times a second, and WebGL canvases
 * have no multisampling (4× MSAA doubled the software rasteriser's time per frame). What the
 * tests check, frames sent, poses, pixels of the robot and the cameras, does not depend on either.
 */
function drawLess(hz: number): void {
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, type: string, options?: Record<string, unknown>) {
    return getContext.call(this, type, type.startsWith('webgl') ? { ...options, antialias: false } : options);
  } as typeof getContext;
  const nativeFrame = window.requestAnimationFrame.bind(window);
  const gapMs = 1000 / hz - 2; // 2 ms short of the period, so that a 60 Hz tick is not missed by rounding
  let lastRun = Number.NEGATIVE_INFINITY;
  let waiting = new Map<number, FrameRequestCallback>();
  let nextId = 1;
  let scheduled = false;
  const tick = (time: number): void => {
    if (time - lastRun < gapMs) {
      nativeFrame(tick);
      return;
    }
    lastRun = time;
    scheduled = false;
    const due = waiting;
    waiting = new Map();
    for (const callback of due.values()) {
      try {
        callback(time);
      } catch (e) {
        reportError(e); // as the browser does: a page error, and the other callbacks still run
      }
    }
  };
  window.requestAnimationFrame = (callback) => {
    const id = nextId++;
    waiting.set(id, callback);
    if (!scheduled) {
      scheduled = true;
      nativeFrame(tick);
    }
    return id;
  };
  window.cancelAnimationFrame = (id) => {
    waiting.delete(id);
  };
}

/**
 * A page in a context of its own: each is its own window, so none is throttled as a background
 * tab. Uncaught page errors go into `pageErrors`.
 */
export async function newWindow(browser: Browser, pageErrors: string[], viewport = { width: 1100, height: 760 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(drawLess, WINDOW_FRAME_RATE_HZ);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return { context, page };
}
