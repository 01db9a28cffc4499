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
 * A page in a context of its own: each is its own window, so none is throttled as a background
 * tab. Uncaught page errors go into `pageErrors`.
 */
export async function newWindow(browser: Browser, pageErrors: string[], viewport = { width: 1100, height: 760 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return { context, page };
}
