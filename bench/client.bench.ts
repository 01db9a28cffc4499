/**
 * Client figures (`npm run bench -- client`, also in the default run): the production build's
 * bundle sizes, and the dashboard and operator pages in headless Chromium (software WebGL, no GPU:
 * frame rates here are far below a real desktop or a Quest, and only comparable run to run).
 *
 * - client.bundle.*: gzip bytes of what each view downloads (entry + its lazily loaded chunk and
 *   that chunk's static imports, JS and CSS), from client/dist/.vite/manifest.json.
 * - client.dashboard.*: with the demo driving the robot (states at ~90 Hz plus HAND_TRACKING),
 *   the main-thread time per ROBOT_STATE message (decode + listeners), and the page's frame rate.
 * - client.operator.*: in an emulated Quest 3 (IWER), the time from the XR frame callback to the
 *   HAND_FRAME handed to the socket, and frame → answering state back.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startDexbridge } from '@dexbridge/server';
import { chromium } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from './chromium.js';
import { percentile, repoUrl, round } from './results.js';

interface ManifestChunk {
  readonly file: string;
  readonly imports?: readonly string[];
  readonly dynamicImports?: readonly string[];
  readonly css?: readonly string[];
  readonly isEntry?: boolean;
  readonly src?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** gzip bytes of a view: the entry plus `src`'s chunk and everything it imports statically. */
function viewBytes(dist: string, manifest: Record<string, ManifestChunk>, src: string): number {
  const files = new Set<string>();
  const visit = (key: string): void => {
    const c = manifest[key];
    if (!c || files.has(c.file)) return;
    files.add(c.file);
    for (const css of c.css ?? []) files.add(css);
    for (const i of c.imports ?? []) visit(i);
  };
  const entry = Object.keys(manifest).find((k) => manifest[k]!.isEntry);
  if (entry) visit(entry);
  visit(src);
  let total = 0;
  for (const f of files) total += gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  return total;
}

export async function runClientBenchmarks(): Promise<Record<string, number>> {
  const dist = new URL('client/dist/', repoUrl('')).pathname;
  const manifestPath = join(dist, '.vite/manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`bench client: no ${manifestPath}; run 'npm run build' first`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, ManifestChunk>;
  const dashboardKB = viewBytes(dist, manifest, 'src/dashboard/mount.tsx') / 1024;
  const operatorKB = viewBytes(dist, manifest, 'src/operator/mount.tsx') / 1024;
  console.log(`  bundle (gzip): dashboard ${dashboardKB.toFixed(0)} KiB, operator ${operatorKB.toFixed(0)} KiB`);

  const token = 'bench-client-operator-token';
  const run = await startDexbridge({ port: 0, demo: true, operatorToken: token, record: 'off', recordingsDir: mkdtempSync(join(tmpdir(), 'dexbridge-bench-')), clientDir: dist });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs() });
  const figures: Record<string, number> = { 'client.bundle.dashboard_gzip_kib': round(dashboardKB), 'client.bundle.operator_gzip_kib': round(operatorKB) };
  try {
    const base = `http://localhost:${run.port}`;
    // Dashboard, alone in the browser, while the demo drives the robot.
    const dctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const dash = await dctx.newPage();
    await dash.goto(`${base}/`);
    await dash.waitForFunction('window.dexbridge?.session?.latest !== undefined', undefined, { timeout: 30_000 });
    await sleep(2000);
    const d0 = (await dash.evaluate('({ c: { ...window.dexbridge.session.client.stateCost }, n: window.dexbridge.extras.tracking.version })')) as { c: { count: number; totalMs: number } };
    const frames = (await dash.evaluate(`new Promise((done) => { let n = 0; const t0 = performance.now(); const f = () => { n++; if (performance.now() - t0 < 5000) requestAnimationFrame(f); else done(n / ((performance.now() - t0) / 1000)); }; requestAnimationFrame(f); })`)) as number;
    const d1 = (await dash.evaluate('({ c: { ...window.dexbridge.session.client.stateCost }, n: window.dexbridge.extras.tracking.version })')) as { c: { count: number; totalMs: number; maxMs: number }; n: number };
    const states = d1.c.count - d0.c.count;
    const perStateMs = (d1.c.totalMs - d0.c.totalMs) / Math.max(1, states);
    console.log(`  dashboard: ${(states / 5).toFixed(0)} states/s, ${perStateMs.toFixed(3)} ms main thread per state (max ${d1.c.maxMs.toFixed(2)} ms), ${frames.toFixed(1)} frames/s`);
    figures['client.dashboard.states_per_s'] = round(states / 5);
    figures['client.dashboard.main_thread_ms_per_state'] = round(perStateMs);
    figures['client.dashboard.max_ms_per_state'] = round(d1.c.maxMs);
    figures['client.dashboard.fps_headless_swiftshader'] = round(frames);
    await dctx.close();

    // Operator page in an emulated Quest 3 (takes the lease from the demo).
    const octx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const op = await octx.newPage();
    await op.goto(`${base}/?role=operator&emulate=quest3#token=${token}`);
    await op.waitForSelector('[data-testid=enter-xr]:not([disabled])', { timeout: 30_000 });
    await op.click('[data-testid=takeover]', { timeout: 10_000 });
    await op.click('[data-testid=enter-xr]');
    await op.waitForFunction('window.dexbridge.stats.framesSent > 20', undefined, { timeout: 30_000 });
    await sleep(5000);
    const o = (await op.evaluate(`(() => { const s = window.dexbridge.stats; const col = (r) => Array.from(r.columns([0]).cols[0]); return { send: col(s.sendMs), rt: col(s.roundTripMs), sent: s.framesSent }; })()`)) as { send: number[]; rt: number[]; sent: number };
    console.log(
      `  operator: XR frame → HAND_FRAME sent p50 ${percentile(o.send, 0.5).toFixed(3)} ms, p99 ${percentile(o.send, 0.99).toFixed(3)} ms; ` +
        `frame → answering state p50 ${percentile(o.rt, 0.5).toFixed(1)} ms (${o.send.length} frames)`,
    );
    figures['client.operator.frame_to_send_ms_p50'] = round(percentile(o.send, 0.5));
    figures['client.operator.frame_to_send_ms_p99'] = round(percentile(o.send, 0.99));
    figures['client.operator.frame_to_state_ms_p50_headless'] = round(percentile(o.rt, 0.5));
    await octx.close();
  } finally {
    await browser.close();
    await run.close();
  }
  return figures;
}
