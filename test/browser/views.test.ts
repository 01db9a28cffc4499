/**
 * The views as their users meet them, in Debian's Chromium (playwright-core) against a real
 * dexbridge server running its demo (the demo operator holds the control lease, as after
 * `dexbridge serve --demo`):
 * - the operator in IWER's emulated Quest 3 reads on the head-up display that the demo holds the
 *   lease and that its frames are refused, summons the wrist menu by turning the left palm to the
 *   face, then pokes buttons with an emulated fingertip: take control, engage, e-stop (the robot
 *   latches), reset, record with a chosen task and stop ✓/✗; chooses a camera and checks, in every
 *   eye's projection, that the robot's bounding box, the HUD and the camera panel do not overlap;
 *   a stereo camera shows each half to its eye (pixels);
 * - the dashboard at 1280×800 frames the whole robot;
 * - the session's recording, still being written, is listed as recording and opens; a task typed
 *   before Stop ✓ is saved with it; a recording's camera follows the timeline.
 *
 * Every wait is for a condition; nothing asserts a rate or a duration. Screenshots land in
 * test-artifacts/browser/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningDexbridge, readRecording, startDexbridge } from '@dexbridge/server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumArgs } from '../../bench/chromium.js';
import { ARTIFACTS, buildClient, closeWindow, newWindow, shot, until as untilHolds } from './support.js';

const TOKEN = 'views-test-operator-token';

let run: RunningDexbridge;
let browser: Browser;
let base: string;
let clientDir: string;
let recordingsDir: string;
const events: { event: string; detail: Record<string, unknown> }[] = [];
/** Whether the newest robot state the server sent carries the latched e-stop. */
let stateEstop = false;
const pageErrors: string[] = [];

const until = (what: string, test: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => untilHolds(what, test, ms);
const newPage = (viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> => newWindow(browser, pageErrors, viewport);

type Vec = [number, number, number];
type Quat = [number, number, number, number];
interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}
interface Regions {
  robot: Rect;
  hud: Rect | null;
  camera: Rect | null;
}
const overlap = (a: Rect, b: Rect): boolean => a.minX < b.maxX && b.minX < a.maxX && a.minY < b.maxY && b.minY < a.maxY;
const inView = (a: Rect): boolean => a.maxX > -1 && a.minX < 1 && a.maxY > -1 && a.minY < 1;
const wholeInView = (a: Rect): boolean => a.minX > -1 && a.maxX < 1 && a.minY > -1 && a.maxY < 1;
const fmt = (r: Rect | null): string => (r ? `x ${r.minX.toFixed(2)}..${r.maxX.toFixed(2)} y ${r.minY.toFixed(2)}..${r.maxY.toFixed(2)}` : 'none');
interface IwerHand {
  position: { x: number; y: number; z: number };
  quaternion: { x: number; y: number; z: number; w: number; set(x: number, y: number, z: number, w: number): unknown };
}
interface OperatorWindow {
  dexbridge: {
    device: { hands: { right: IwerHand; left: IwerHand } };
    stats: { framesSent: number; hudRows: readonly string[]; lastRight: Float32Array; lastLeft: Float32Array };
    menuState: { shown: boolean; pinned: boolean; palmCos: number; head: Vec };
    xrView: { regions(): Regions[]; cameraPanel(): { id: string; frames: number; settled: boolean; meshes: number } | null; hudSettled(): boolean };
    xrButtons: Map<
      string,
      { localToWorld(v: unknown): { x: number; y: number; z: number }; position: { clone(): { set(x: number, y: number, z: number): unknown } }; userData: { label?: string } }
    >;
  };
}

/** The right index fingertip (WebXR joint 9) in the XR reference space, from the last frame the page sent. */
const tipOf = (page: Page): Promise<Vec> =>
  page.evaluate(() => {
    const r = (window as unknown as OperatorWindow).dexbridge.stats.lastRight;
    return [r[72]!, r[73]!, r[74]!] as Vec;
  });

/** A point `out` m in front of button `id`'s face, in the XR reference space. */
const buttonPoint = (page: Page, id: string, out: number): Promise<Vec> =>
  page.evaluate(
    ([id, out]) => {
      const m = (window as unknown as OperatorWindow).dexbridge.xrButtons.get(id);
      if (!m) throw new Error(`no XR button ${id}`);
      // The box is 0.02 m deep, centred on the mesh: its face is at local z = 0.01.
      const p = m.localToWorld(m.position.clone().set(0, 0, 0.01 + out));
      return [p.x, p.y, p.z] as Vec;
    },
    [id, out] as const,
  );

/** Moves the emulated right hand until its index fingertip is within 3 mm of `target`. */
async function moveTipTo(page: Page, target: Vec): Promise<void> {
  await until(`the fingertip at ${target.map((v) => v.toFixed(3))}`, async () => {
    const tip = await tipOf(page);
    const miss = Math.hypot(tip[0] - target[0], tip[1] - target[1], tip[2] - target[2]);
    if (miss < 0.003) return true;
    const sent = await page.evaluate(
      ([d]) => {
        const w = (window as unknown as OperatorWindow).dexbridge;
        const p = w.device.hands.right.position;
        p.x += d[0];
        p.y += d[1];
        p.z += d[2];
        return w.stats.framesSent;
      },
      [[target[0] - tip[0], target[1] - tip[1], target[2] - tip[2]]] as const,
    );
    // The pose moves on the next XR frames: look again once two more were sent.
    await page.waitForFunction((n) => (window as unknown as OperatorWindow).dexbridge.stats.framesSent >= n + 2, sent, { timeout: 60_000 });
    return false;
  });
}

/** Pokes an XR button with the right index fingertip: from 6 cm in front of it to its face, and back. */
async function poke(page: Page, id: string): Promise<void> {
  // Both points first: a pressed button may go away (Reset does once the e-stop clears).
  const front = await buttonPoint(page, id, 0.06);
  const face = await buttonPoint(page, id, 0);
  await moveTipTo(page, front);
  await moveTipTo(page, face);
  await moveTipTo(page, front);
}

const sub = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec, b: Vec): Vec => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a: Vec): Vec => {
  const n = Math.hypot(...a);
  return [a[0] / n, a[1] / n, a[2] / n];
};
/** The smallest rotation taking unit vector `a` onto unit vector `b`. */
function rotationBetween(a: Vec, b: Vec): Quat {
  const w = 1 + a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  // Opposite vectors: half a turn about any axis across them.
  const [x, y, z] = w < 1e-6 ? unit(Math.abs(a[0]) > 0.5 ? cross(a, [0, 1, 0]) : cross(a, [1, 0, 0])) : cross(a, b);
  const n = Math.hypot(x, y, z, w < 1e-6 ? 0 : w);
  return [x / n, y / n, z / n, w < 1e-6 ? 0 : w / n];
}
const multiply = (a: Quat, b: Quat): Quat => [
  a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
  a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
  a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
  a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
];

/**
 * Turns the emulated left hand until its palm faces the head (`toward`) or faces away from it,
 * measured on the joints the page sent: the palm's normal is index × little metacarpal from the
 * wrist (WebXR joints 0, 5, 20), as a left hand has it.
 */
async function turnLeftPalm(page: Page, toward: boolean): Promise<void> {
  await until(`the left palm turned ${toward ? 'to' : 'away from'} the head`, async () => {
    const { j, head, q, sent } = await page.evaluate(() => {
      const w = (window as unknown as OperatorWindow).dexbridge;
      const h = w.device.hands.left.quaternion;
      return { j: [...w.stats.lastLeft], head: w.menuState.head, q: [h.x, h.y, h.z, h.w] as Quat, sent: w.stats.framesSent };
    });
    const at = (i: number): Vec => [j[i * 8]!, j[i * 8 + 1]!, j[i * 8 + 2]!];
    const wrist = at(0);
    const normal = unit(cross(sub(at(5), wrist), sub(at(20), wrist)));
    const centre: Vec = [(wrist[0] + at(10)[0]) / 2, (wrist[1] + at(10)[1]) / 2, (wrist[2] + at(10)[2]) / 2];
    const toHead = unit(sub(head, centre));
    const want: Vec = toward ? toHead : [-toHead[0], -toHead[1], -toHead[2]];
    const cos = normal[0] * want[0] + normal[1] * want[1] + normal[2] * want[2];
    if (cos > 0.97) return true;
    const turned = multiply(rotationBetween(normal, want), q);
    await page.evaluate((t) => (window as unknown as OperatorWindow).dexbridge.device.hands.left.quaternion.set(t[0], t[1], t[2], t[3]), turned);
    await page.waitForFunction((n) => (window as unknown as OperatorWindow).dexbridge.stats.framesSent >= n + 2, sent, { timeout: 60_000 });
    return false;
  });
}

const menuShown = (page: Page): Promise<{ shown: boolean; take: boolean }> =>
  page.evaluate(() => {
    const w = (window as unknown as OperatorWindow).dexbridge;
    return { shown: w.menuState.shown, take: w.xrButtons.has('take') };
  });
const buttonLabel = (page: Page, id: string): Promise<string | undefined> => page.evaluate((id) => (window as unknown as OperatorWindow).dexbridge.xrButtons.get(id)?.userData.label, id);

const hudRows = (page: Page): Promise<readonly string[]> => page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.stats.hudRows);

describe('the operator and dashboard views in Chromium (issue 14)', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    clientDir = await buildClient();
    recordingsDir = mkdtempSync(join(tmpdir(), 'dexbridge-recs-'));
    run = await startDexbridge({
      port: 0, operatorToken: TOKEN, recordingsDir, record: 'session', clientDir, demo: true,
      cameras: [
        { id: 'head', source: 'ffmpeg', input: 'testsrc2=size=320x240:rate=10', format: 'lavfi', realtime: true },
        // A stereo camera whose left view is all red and right view all blue: each eye must see only its own colour.
        { id: 'eyes', source: 'ffmpeg', input: 'color=c=red:s=160x120:r=10[a];color=c=blue:s=160x120:r=10[b];[a][b]hstack', format: 'lavfi', realtime: true, stereo: 'side-by-side' },
        // An H.264 camera: decoded by WebCodecs on the headset panel and in the recording's replay.
        { id: 'arm', source: 'ffmpeg', input: 'testsrc2=size=320x240:rate=10', format: 'lavfi', realtime: true, codec: 'h264' },
      ],
    });
    base = `http://localhost:${run.port}`;
    run.server.loop.onEvent((e) => events.push({ event: e.event, detail: e.detail as Record<string, unknown> }));
    run.server.loop.onState((s) => {
      stateEstop = s.estop;
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs() });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await run?.close();
    rmSync(recordingsDir, { recursive: true, force: true });
  });

  describe('in the emulated Quest 3', () => {
    let op: { context: BrowserContext; page: Page };
    beforeAll(async () => {
      op = await newPage();
      await op.page.goto(`${base}/?role=operator&emulate=quest3&name=quest-xr#token=${TOKEN}`);
      await op.page.waitForSelector('[data-testid=enter-xr]:not([disabled])', { timeout: 60_000 });
      await shot(op.page, 'views-operator-before-xr.png');
      await op.page.click('[data-testid=enter-xr]');
      await op.page.waitForFunction(() => (window as unknown as OperatorWindow).dexbridge.stats.framesSent > 5, undefined, { timeout: 60_000 });
    }, 180_000);
    afterAll(async () => {
      if (op) await closeWindow(op);
    });

    it('the head-up display says LEASE_HELD, who holds the lease and that frames are refused, while the demo drives', async () => {
      expect(run.server.leaseHolder()).toBe('demo');
      await until('the HUD names the demo as the lease holder', async () => (await hudRows(op.page)).some((r) => r.startsWith('LEASE_HELD: demo holds the control lease')));
      const rows = await hudRows(op.page);
      void shot(op.page, 'views-operator-lease-held.png');
      expect(rows.join(' ')).toMatch(/your hand frames are refused/);
      expect(rows.join(' ')).toMatch(/● REC dexbridge-/);
      // The hand-off is explicit: taking the lease ends the demo (it does not resume).
      expect(rows.join(' ')).toMatch(/taking it ends the demo until the server restarts/);
      expect(await op.page.textContent('[data-testid=demo-handoff]')).toMatch(/ends the demo until the server restarts/);
      // The server did refuse them, with that code.
      const lastError = await op.page.evaluate(() => (window as unknown as { dexbridge: { session: { store: { getState(): { lastError?: { code: string; ref?: string } } } } } }).dexbridge.session.store.getState().lastError);
      expect(lastError).toMatchObject({ code: 'LEASE_HELD', ref: 'binary:1' });
    });

    it('the wrist menu comes with the left palm turned to the face and goes when it turns away', async () => {
      await turnLeftPalm(op.page, false);
      await until('no wrist menu while the palm faces away', async () => !(await menuShown(op.page)).shown);
      expect((await menuShown(op.page)).take, 'a hidden menu has no buttons to press').toBe(false);
      // The e-stop stays, menu or not.
      expect(await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrButtons.has('estop'))).toBe(true);
      await turnLeftPalm(op.page, true);
      await until('the wrist menu shown', async () => {
        const m = await menuShown(op.page);
        return m.shown && m.take;
      });
      void shot(op.page, 'views-operator-wrist-menu.png');
    });

    it('take control and engage are poked on the wrist menu, under the server’s authority rules', async () => {
      await poke(op.page, 'take');
      await until('the headset holds the lease', () => run.server.leaseHolder() === 'quest-xr');
      await until('the HUD no longer says LEASE_HELD', async () => !(await hudRows(op.page)).some((r) => r.startsWith('LEASE_HELD')));
      const from = events.length;
      await poke(op.page, 'engage');
      await until('engaged', () => events.slice(from).some((e) => e.event === 'engage'));
    });

    it('an emulated hand pokes the in-XR e-stop and the robot latches', async () => {
      const from = events.length;
      // Hovering in front of it does nothing; pressing it stops the robot.
      await moveTipTo(op.page, await buttonPoint(op.page, 'estop', 0.06));
      expect(events.slice(from).some((e) => e.event === 'estop')).toBe(false);
      await moveTipTo(op.page, await buttonPoint(op.page, 'estop', 0));
      await until('the estop event', () => events.slice(from).some((e) => e.event === 'estop'));
      await until('the robot states carry the latched e-stop', () => stateEstop);
      console.info(`views: e-stop by ${String(events.slice(from).find((e) => e.event === 'estop')?.detail['by'])}`);
      await until('the HUD says E-STOP', async () => (await hudRows(op.page)).some((r) => r.startsWith('E-STOP LATCHED')));
      void shot(op.page, 'views-operator-estop.png');
      expect(pageErrors).toEqual([]);
    });

    it('after a reset from the e-stop panel the HUD says Engage is needed to move', async () => {
      // The panel shows Reset while the e-stop is latched.
      await op.page.waitForFunction(() => (window as unknown as OperatorWindow).dexbridge.xrButtons.has('reset'), undefined, { timeout: 60_000 });
      await poke(op.page, 'reset');
      await until('the robot states clear the e-stop', () => !stateEstop);
      await until('the HUD asks for Engage', async () => (await hudRows(op.page)).some((r) => /held \(estop_reset\): press Engage to move/.test(r)));
      void shot(op.page, 'views-operator-reset.png');
    });

    it('the wrist menu records: Stop ✓ ends the running recording, a chosen task and Record start another, Stop ✗ marks it failed', async () => {
      const listing = async () => ((await (await fetch(`${base}/api/recordings`)).json()) as { recordings: { name: string; recording: boolean; complete: boolean; task: string | null; success: boolean | null }[] }).recordings;
      const session = (await listing()).find((r) => r.recording);
      expect(session, 'the session recording').toBeDefined();
      let from = events.length;
      await poke(op.page, 'stop-ok');
      await until('the session recording stopped', () => events.slice(from).some((e) => e.event === 'recording' && e.detail['active'] === false && e.detail['file'] === session!.name));
      expect((await listing()).find((r) => r.name === session!.name)).toMatchObject({ success: true, complete: true, recording: false });
      // A task given on the dashboard (its recordings view labels the finished file) becomes a choice in the headset.
      const patched = await fetch(`${base}/api/recordings/${session!.name}`, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ task: 'fold the towel' }) });
      expect(patched.status).toBe(200);
      await until('the task chosen on the wrist menu', async () => {
        if ((await buttonLabel(op.page, 'task')) === 'task: fold the towel') return true;
        await poke(op.page, 'task-next');
        return false;
      });
      from = events.length;
      await poke(op.page, 'record');
      await until('a recording started from the headset', () => events.slice(from).some((e) => e.event === 'recording' && e.detail['active'] === true));
      const file = events.slice(from).find((e) => e.event === 'recording' && e.detail['active'] === true)!.detail['file'] as string;
      expect((await listing()).find((r) => r.name === file)).toMatchObject({ recording: true, task: 'fold the towel' });
      await until('the menu offers Stop', () => op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrButtons.has('stop-fail')));
      void shot(op.page, 'views-operator-wrist-menu-recording.png');
      from = events.length;
      await poke(op.page, 'stop-fail');
      await until('the headset’s recording stopped', () => events.slice(from).some((e) => e.event === 'recording' && e.detail['active'] === false && e.detail['file'] === file));
      expect((await listing()).find((r) => r.name === file)).toMatchObject({ task: 'fold the towel', success: false, complete: true });
      expect(pageErrors).toEqual([]);
    });

    /** Chooses camera `id` with the wrist menu's camera button and waits until its panel stands still with a picture. */
    async function showCamera(id: string): Promise<void> {
      await until(`camera ${id} chosen on the wrist menu`, async () => {
        if ((await buttonLabel(op.page, 'camera')) === `camera: ${id}`) return true;
        await poke(op.page, 'camera-next');
        return false;
      });
      await until(`camera ${id}'s panel drawn and in place, and the HUD in place`, async () => {
        const { p, hudSettled } = await op.page.evaluate(() => {
          const view = (window as unknown as OperatorWindow).dexbridge.xrView;
          return { p: view.cameraPanel(), hudSettled: view.hudSettled() };
        });
        return p !== null && p.id === id && p.frames > 0 && p.settled && hudSettled;
      });
    }

    it('the camera chosen on the wrist menu shows above the robot: in each eye, robot, HUD and camera panel do not overlap, and both panels are in view', async () => {
      await showCamera('head');
      const regions = await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrView.regions());
      void shot(op.page, 'views-operator-camera-panel.png');
      expect(regions.length).toBeGreaterThan(0);
      regions.forEach((r, eye) => {
        console.info(`views: eye ${eye}: robot ${fmt(r.robot)}, HUD ${fmt(r.hud)}, camera ${fmt(r.camera)}`);
        expect(r.hud, 'the HUD is drawn in XR').not.toBeNull();
        expect(r.camera, 'the camera panel is drawn').not.toBeNull();
        expect(inView(r.robot), 'the robot is in view').toBe(true);
        expect(wholeInView(r.hud!) && wholeInView(r.camera!), 'HUD and camera panel wholly in view').toBe(true);
        expect(overlap(r.robot, r.hud!), 'HUD over the robot').toBe(false);
        expect(overlap(r.robot, r.camera!), 'camera panel over the robot').toBe(false);
        expect(overlap(r.hud!, r.camera!), 'camera panel over the HUD').toBe(false);
      });
      expect(pageErrors).toEqual([]);
    });

    it('a stereo camera shows its left half to the left eye and its right half to the right eye', async () => {
      // IWER draws both eyes side by side on the page's canvas once stereo is on: left eye left.
      await op.page.evaluate(() => {
        (window as unknown as { dexbridge: { device: { stereoEnabled: boolean } } }).dexbridge.device.stereoEnabled = true;
      });
      await showCamera('eyes');
      expect(await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrView.cameraPanel()?.meshes)).toBe(2);
      /** The colour drawn at the middle of the camera panel in each eye's half of the canvas, from one screenshot. */
      const colours = async (): Promise<{ regions: Regions[]; rgb: [number, number, number][] }> => {
        const regions = await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrView.regions());
        const png = (await op.page.locator('canvas').first().screenshot()).toString('base64');
        const rgb = await op.page.evaluate(
          async ([png, centres]) => {
            const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${png}`)).blob());
            const c = new OffscreenCanvas(bitmap.width, bitmap.height);
            const ctx = c.getContext('2d')!;
            ctx.drawImage(bitmap, 0, 0);
            return centres.map(([eye, x, y]) => {
              const half = bitmap.width / 2;
              const px = Math.round(eye * half + ((x + 1) / 2) * half), py = Math.round(((1 - y) / 2) * bitmap.height);
              const d = ctx.getImageData(px - 2, py - 2, 5, 5).data;
              const sum: [number, number, number] = [0, 0, 0];
              for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k]! += d[i + k]! / 25;
              return sum;
            });
          },
          [png, regions.map((r, eye) => [eye, (r.camera!.minX + r.camera!.maxX) / 2, (r.camera!.minY + r.camera!.maxY) / 2] as const)] as const,
        );
        return { regions, rgb };
      };
      let seen: { regions: Regions[]; rgb: [number, number, number][] } = { regions: [], rgb: [] };
      await until('each eye sees its own half of the stereo image', async () => {
        seen = await colours();
        return seen.regions.length === 2 && seen.rgb.length === 2;
      });
      await shot(op.page, 'views-operator-stereo.png');
      console.info(`views: stereo panel, left eye rgb ${seen.rgb[0]!.map((v) => v.toFixed(0))}, right eye rgb ${seen.rgb[1]!.map((v) => v.toFixed(0))}`);
      const [l, r] = seen.rgb as [[number, number, number], [number, number, number]];
      // The left view is red, the right view blue: each eye must see only its own.
      expect(l[0] - l[2], 'left eye: red').toBeGreaterThan(100);
      expect(r[2] - r[0], 'right eye: blue').toBeGreaterThan(100);
      seen.regions.forEach((reg) => {
        expect(overlap(reg.robot, reg.camera!), 'stereo panel over the robot').toBe(false);
      });
      // Back to one eye, as the headset panel's other cameras are checked.
      await op.page.evaluate(() => {
        (window as unknown as { dexbridge: { device: { stereoEnabled: boolean } } }).dexbridge.device.stereoEnabled = false;
      });
      expect(pageErrors).toEqual([]);
    });

    it('an H.264 camera shows on the headset panel, decoded by WebCodecs', async () => {
      expect(await op.page.evaluate(() => typeof VideoDecoder), 'Chromium has WebCodecs').toBe('function');
      await showCamera('arm');
      const before = (await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrView.cameraPanel()))!.frames;
      // Frames keep coming out of the decoder (each drawn frame is a decoded VideoFrame).
      await until('more decoded H.264 frames on the panel', async () => (await op.page.evaluate(() => (window as unknown as OperatorWindow).dexbridge.xrView.cameraPanel()))!.frames >= before + 5);
      void shot(op.page, 'views-operator-h264-panel.png');
      expect(pageErrors).toEqual([]);
    });

    it('Calibrate hands on the wrist menu measures the emulated hands: a pending calibration per hand, and the button says so', async () => {
      const from = events.length;
      await poke(op.page, 'calibrate-hands');
      const isResult = (e: { event: string; detail: Record<string, unknown> }): boolean =>
        e.event === 'tracking' && (e.detail['handCalibration'] as Record<string, unknown> | undefined)?.['left'] !== undefined;
      await until('the server measured the hands', () => events.slice(from).some(isResult));
      const report = events.slice(from).find(isResult)!.detail['handCalibration'] as Record<string, { scale?: number; digitScales?: number[]; code?: string }>;
      for (const side of ['left', 'right']) {
        expect(report[side]!.code, `${side}: ${JSON.stringify(report[side])}`).toBeUndefined();
        expect(report[side]!.digitScales).toHaveLength(5);
      }
      await until('the button says the calibration waits for Engage', async () => (await buttonLabel(op.page, 'calibrate-hands')) === 'Calibrated: Engage');
      expect(pageErrors).toEqual([]);
    });
  });
  describe('the dashboard', () => {
    interface Framed {
      framings: number;
      camera: number[];
      width: number;
      height: number;
      flanges: { left: [number, number] | null; right: [number, number] | null };
      /** Pixels within about 8 cm of each flange's projection drawn brighter than the floor and background. */
      robotPixels: { left: number; right: number };
      /** The same count at the canvas's top corners, beside a framed robot: background only. */
      cornerPixels: number;
    }
    /** The flanges in the scene's projection and, in the same instant, the pixels drawn there. */
    const framed = (page: Page): Promise<Framed> =>
      page.evaluate(() => {
        const view = (window as unknown as { dexbridge: { liveView: { framings: number; projectLink(l: string): [number, number] | null } } }).dexbridge.liveView;
        const c = document.querySelector('[data-testid=live-robot] canvas') as HTMLCanvasElement;
        const copy = document.createElement('canvas');
        copy.width = c.width;
        copy.height = c.height;
        const ctx = copy.getContext('2d')!;
        ctx.drawImage(c, 0, 0);
        const near = (ndc: [number, number] | null): number => {
          if (!ndc) return 0;
          const cx = Math.round(((ndc[0] + 1) / 2) * c.width), cy = Math.round(((1 - ndc[1]) / 2) * c.height);
          // The flange disc itself is dark and the black palm can hide it: look within about 8 cm of
          // it (the framed robot fills the canvas's height, so 5 % of it), where the white link 7 and
          // the silver hand base are.
          const r = Math.max(6, Math.round(0.05 * c.height));
          const x0 = Math.max(0, cx - r), y0 = Math.max(0, cy - r);
          const w = Math.min(c.width, cx + r + 1) - x0, h = Math.min(c.height, cy + r + 1) - y0;
          if (w <= 0 || h <= 0) return 0;
          const px = ctx.getImageData(x0, y0, w, h).data;
          let n = 0;
          // The robot is light grey and the hands darker grey; floor grid and background stay below 80.
          for (let i = 0, k = 0; i < px.length; i += 4, k++) {
            const dx = x0 + (k % w) - cx, dy = y0 + Math.floor(k / w) - cy;
            if (dx * dx + dy * dy <= r * r && (px[i]! + px[i + 1]! + px[i + 2]!) / 3 > 80) n++;
          }
          return n;
        };
        const left = view.projectLink('left_arm_flange'), right = view.projectLink('right_arm_flange');
        return { camera: (view as unknown as { cameraPositionM: number[] }).cameraPositionM, framings: view.framings, width: c.width, height: c.height, flanges: { left, right }, robotPixels: { left: near(left), right: near(right) }, cornerPixels: near([-0.9, 0.9]) + near([0.9, 0.9]) };
      });
    const inside = (p: [number, number] | null): boolean => p !== null && Math.abs(p[0]) < 0.97 && Math.abs(p[1]) < 0.97;
    /** The key panels (3D view, e-stop, controls, events) that lie outside the window without scrolling. */
    const keyPanelsOutside = (page: Page): Promise<string[]> =>
      page.evaluate(() =>
        ['[data-testid=live-robot]', '[data-testid=estop]', '[data-testid=controls]', '[data-testid=event-log]'].filter((sel) => {
          const r = document.querySelector(sel)?.getBoundingClientRect();
          return !r || r.height === 0 || r.top < 0 || r.bottom > window.innerHeight || r.right > window.innerWidth;
        }),
      );

    it('at 1280×800 frames the whole robot from behind: both flanges inside the canvas, in the projection and by pixels; again after a resize; latency on a log axis; key panels above the fold; the legend toggles overlays', async () => {
      const dash = await newPage({ width: 1280, height: 800 });
      const page = dash.page;
      await page.goto(`${base}/`);
      await page.waitForFunction(() => {
        const d = (window as unknown as { dexbridge?: { session?: { latest?: unknown }; liveView?: { framings: number } } }).dexbridge;
        return d?.session?.latest !== undefined && (d.liveView?.framings ?? 0) > 0;
      }, undefined, { timeout: 60_000 });
      // Both flanges drawn where the projection puts them (a state may land between two checks: look again).
      let f = await framed(page);
      await until('both flanges framed and drawn', async () => {
        f = await framed(page);
        return inside(f.flanges.left) && inside(f.flanges.right) && f.robotPixels.left > 0 && f.robotPixels.right > 0;
      }).catch(async (err: unknown) => {
        await shot(page, 'views-dashboard-1280x800-failed.png');
        throw new Error(`${String(err)}; last look ${JSON.stringify(f)}`);
      });
      await shot(page, 'views-dashboard-1280x800.png');
      expect(f.cornerPixels, 'the pixel count sees the robot, not the background').toBe(0);
      expect(await keyPanelsOutside(page), 'key panels below the fold at 1280×800').toEqual([]);
      console.info(`views: 1280×800 canvas ${f.width}×${f.height}, flanges L ${f.flanges.left?.map((v) => v.toFixed(2))} R ${f.flanges.right?.map((v) => v.toFixed(2))}, robot pixels ${JSON.stringify(f.robotPixels)}, camera ${f.camera.map((v) => v.toFixed(2))} after ${f.framings} framings`);
      // Seen from behind: the robot's left arm is on screen left.
      expect(f.flanges.left![0]).toBeLessThan(f.flanges.right![0]);
      // The L and R labels stand on their own sides: beside the arm bases, which do not move (the
      // flanges do, between two looks).
      const labels = await page.evaluate(() => {
        const view = (window as unknown as { dexbridge: { liveView: { projectLink(l: string): [number, number] | null } } }).dexbridge.liveView;
        return { L: view.projectLink('side-label-L')!, R: view.projectLink('side-label-R')!, left: view.projectLink('left_arm_link0')!, right: view.projectLink('right_arm_link0')! };
      });
      expect(labels.L[0]).toBeLessThan(labels.right[0]);
      expect(labels.R[0]).toBeGreaterThan(labels.left[0]);
      expect(labels.left[0]).toBeLessThan(labels.right[0]);
      expect(labels.L[0]).toBeLessThan(labels.R[0]);
      // The latency chart's axis is logarithmic (it starts above zero) and spans at least a decade:
      // the retargeting time and the round trip (which values they take depends on the machine).
      await page.waitForFunction(() => {
        const d = (document.querySelector('[data-testid=latency-chart]') as HTMLElement | null)?.dataset;
        const lo = Number(d?.['yMin']), hi = Number(d?.['yMax']);
        return lo > 0 && hi / lo >= 10;
      }, undefined, { timeout: 60_000 }).catch(async (err: unknown) => {
        const d = await page.evaluate(() => ({ ...(document.querySelector('[data-testid=latency-chart]') as HTMLElement | null)?.dataset }));
        throw new Error(`latency axis ${JSON.stringify(d)}: ${String(err)}`);
      });
      // The legend hides and shows an overlay.
      const fingertipsShown = () => page.evaluate(() => (window as unknown as { dexbridge: { liveView: { isVisible(n: string): boolean | null } } }).dexbridge.liveView.isVisible('fingertips'));
      expect(await fingertipsShown()).toBe(true);
      await page.click('[data-testid=legend-fingertips]');
      await page.waitForFunction(() => (window as unknown as { dexbridge: { liveView: { isVisible(n: string): boolean | null } } }).dexbridge.liveView.isVisible('fingertips') === false, undefined, { timeout: 10_000 });
      await page.click('[data-testid=legend-fingertips]');
      await page.waitForFunction(() => (window as unknown as { dexbridge: { liveView: { isVisible(n: string): boolean | null } } }).dexbridge.liveView.isVisible('fingertips') === true, undefined, { timeout: 10_000 });
      // A resize frames it again.
      const before = f.framings, widthBefore = f.width;
      await page.setViewportSize({ width: 1920, height: 1080 });
      await until('framed again after the resize', async () => {
        f = await framed(page);
        return f.width > widthBefore && f.framings > before && inside(f.flanges.left) && inside(f.flanges.right) && f.robotPixels.left > 0 && f.robotPixels.right > 0;
      }).catch(async (err: unknown) => {
        await shot(page, 'views-dashboard-1920x1080-failed.png');
        throw new Error(`${String(err)}; last look ${JSON.stringify({ ...f, before, widthBefore })}`);
      });
      expect(f.cornerPixels, 'the pixel count sees the robot, not the background').toBe(0);
      console.info(`views: 1920×1080 canvas ${f.width}×${f.height}, flanges L ${f.flanges.left?.map((v) => v.toFixed(2))} R ${f.flanges.right?.map((v) => v.toFixed(2))}, robot pixels ${JSON.stringify(f.robotPixels)} after ${f.framings} framings`);
      void shot(page, 'views-dashboard-1920x1080.png');
      expect(await keyPanelsOutside(page), 'key panels below the fold at 1920×1080').toEqual([]);
      await closeWindow(dash);
      expect(pageErrors).toEqual([]);
    });
  });
  describe('recordings', () => {
    interface Listed {
      name: string;
      recording: boolean;
      complete: boolean;
      task: string | null;
      success: boolean | null;
      operator: string | null;
    }
    const listing = async (): Promise<Listed[]> => ((await (await fetch(`${base}/api/recordings`)).json()) as { recordings: Listed[] }).recordings;
    /** A dashboard with the operator token: taking the lease starts the session's recording. */
    let control: { context: BrowserContext; page: Page };
    beforeAll(async () => {
      control = await newPage({ width: 1280, height: 800 });
      await control.page.goto(`${base}/#token=${TOKEN}`);
      await control.page.waitForSelector('button:has-text("Take over lease"):not([disabled])', { timeout: 60_000 });
      // The operator headset left: the lease is free, and the dashboard takes it (the authority table decides).
      await control.page.click('button:has-text("Take over lease")');
      await until('the dashboard holds the lease', () => run.server.leaseHolder() === 'dashboard');
      // The recorder closes a chunk every 500 ms: wait until a few were written.
      await until('a recording well under way', async () => (await listing()).some((r) => r.recording && (r as Listed & { durationS: number }).durationS > 1.5));
    }, 120_000);
    afterAll(async () => {
      if (control) await closeWindow(control);
    });

    it('the recording in progress is listed as recording and opens, read up to what is written', async () => {
      const running = (await listing()).find((r) => r.recording);
      expect(running, 'the session is being recorded').toBeDefined();
      expect(running!.complete).toBe(false);
      const dash = await newPage({ width: 1280, height: 800 });
      const page = dash.page;
      await page.goto(`${base}/#recordings`);
      const row = page.locator(`[data-testid=recordings-list] tr[data-name="${running!.name}"]`);
      await row.waitFor({ timeout: 60_000 });
      expect(await row.textContent()).toMatch(/● recording/);
      expect(await row.textContent()).not.toMatch(/incomplete/);
      await row.click();
      await page.waitForSelector('[data-testid=recording-detail] [data-testid=partial]', { timeout: 60_000 });
      const duration = Number((await page.textContent('[data-testid=playhead]'))!.split('/')[1]!.replace('s', '').trim());
      void shot(page, 'views-recording-in-progress.png');
      console.info(`views: ${running!.name} in progress, read up to ${duration.toFixed(2)} s`);
      expect(duration).toBeGreaterThan(0);
      expect(await page.locator('.recordings .error').count()).toBe(0);
      await closeWindow(dash);
      expect(pageErrors).toEqual([]);
    });

    it('a task typed while recording is saved with that recording by Stop ✓, and listed', async () => {
      const running = (await listing()).find((r) => r.recording);
      expect(running).toBeDefined();
      const page = control.page;
      await page.waitForSelector('[data-testid=stop-ok]:not([disabled])', { timeout: 60_000 });
      await page.fill('input[aria-label=task]', 'stack the red cups');
      const from = events.length;
      await page.click('[data-testid=stop-ok]');
      await until('the recording closed', () => events.slice(from).some((e) => e.event === 'recording' && e.detail['active'] === false && e.detail['file'] === running!.name));
      const saved = (await listing()).find((r) => r.name === running!.name);
      expect(saved).toMatchObject({ task: 'stack the red cups', success: true, complete: true, recording: false });
      await page.click('[data-testid=tab-recordings]');
      const row = page.locator(`[data-testid=recordings-list] tr[data-name="${running!.name}"]`);
      await row.waitFor({ timeout: 60_000 });
      expect(await row.textContent()).toMatch(/stack the red cups.*✓/);
      void shot(page, 'views-recordings-task.png');
      expect(pageErrors).toEqual([]);
    });

    it('the operator label names whoever drove: the demo, then the headset that took control from it', async () => {
      const labels = (await listing()).filter((r) => r.complete).map((r) => r.operator);
      expect(labels).toContain('demo, quest-xr');
    });

    it('re-retargeting starts from the recording’s own parameters and draws the result beside the recorded robot', async () => {
      const listed = await listing();
      const withHands = listed.find((r) => r.complete && r.operator?.startsWith('demo'));
      expect(withHands, `the demo session’s recording, among ${JSON.stringify(listed)}`).toBeDefined();
      const dash = await newPage({ width: 1280, height: 800 });
      const page = dash.page;
      await page.goto(`${base}/#recordings`);
      await page.click(`[data-testid=recordings-list] tr[data-name="${withHands!.name}"]`);
      await page.waitForSelector('[data-testid=recording-detail]', { timeout: 60_000 });
      // Markers are grouped by kind, with a legend that filters them; bursts are merged into spans.
      const legend = await page.locator('[data-testid=marker-legend] input[type=checkbox]').count();
      const marks = await page.locator('[data-testid=marks] .mark').count();
      expect(legend).toBe(5);
      // The lease went from the demo to the headset during this recording: it has a mode / lease marker
      // whatever else happened (a tracking marker needs the demo's replay to reach its dropout first).
      await page.uncheck('[data-testid=marker-legend] label:has-text("mode / lease") input');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=marks] .mark').length < n, marks, { timeout: 10_000 });
      // Recorded with the server's defaults (no calibrate): hand scale measured, translation 1.
      expect(await page.inputValue('input[aria-label="hand scale"]')).toBe('auto');
      expect(await page.inputValue('input[aria-label="translation scale"]')).toBe('1');
      await page.click('[data-testid=re-retarget]');
      await page.waitForSelector('text=re-retargeted (hand auto, translation 1)', { timeout: 60_000 });
      // Purple (the ghost) is drawn right of the recorded robot's right flange, once the view reframed to hold both.
      const side = () =>
        page.evaluate(() => {
          const view = (window as unknown as { dexbridge: { replayView: { projectLink(l: string): [number, number] | null } } }).dexbridge.replayView;
          const c = document.querySelector('[data-testid=replay-robot] canvas') as HTMLCanvasElement;
          const copy = document.createElement('canvas');
          copy.width = c.width;
          copy.height = c.height;
          const ctx = copy.getContext('2d')!;
          ctx.drawImage(c, 0, 0);
          const px = ctx.getImageData(0, 0, c.width, c.height).data;
          let n = 0, sx = 0;
          for (let i = 0; i < px.length; i += 4) {
            const r = px[i]!, g = px[i + 1]!, b = px[i + 2]!;
            if (b - g > 30 && r - g > 15) {
              n++;
              sx += (i / 4) % c.width;
            }
          }
          const right = view.projectLink('right_arm_flange');
          return { n, purpleX: n > 0 ? sx / n : Number.NaN, flangeX: right ? ((right[0] + 1) / 2) * c.width : Number.NaN };
        });
      let seen = await side();
      await until('the ghost drawn beside the recorded robot', async () => {
        seen = await side();
        return seen.n > 500 && seen.purpleX > seen.flangeX;
      });
      void shot(page, 'views-recording-ghost-beside.png');
      console.info(`views: ghost ${seen.n} purple pixels centred at x ${seen.purpleX.toFixed(0)}, recorded right flange at x ${seen.flangeX.toFixed(0)}`);
      await closeWindow(dash);
      expect(pageErrors).toEqual([]);
    });

    it('the recording’s cameras follow the timeline: scrubbing shows the image at the playhead, playing moves it on', async () => {
      const withCameras = (await listing()).find((r) => r.complete && r.operator?.startsWith('demo'));
      expect(withCameras).toBeDefined();
      const dash = await newPage({ width: 1280, height: 800 });
      const page = dash.page;
      await page.goto(`${base}/#recordings`);
      await page.click(`[data-testid=recordings-list] tr[data-name="${withCameras!.name}"]`);
      await page.waitForSelector('[data-testid=replay-camera-head]', { timeout: 60_000 });
      const duration = Number((await page.textContent('[data-testid=playhead]'))!.split('/')[1]!.replace('s', '').trim());
      // The recording's own camera log times: the image the panel must show at a playhead is the
      // camera's last message at or before it (whatever gaps a busy machine left between images).
      const file = await readRecording(join(recordingsDir, withCameras!.name));
      const startNs = file.startTimeNs;
      const logTimes: Record<string, bigint[]> = { head: [], arm: [] };
      for await (const m of file.messages({ topics: ['/dexbridge/cameras/head', '/dexbridge/cameras/arm'] })) logTimes[m.topic.split('/').at(-1)!]!.push(m.logTimeNs);
      await file.close();
      /** The time (s from the start) of `id`'s last image at or before `playhead`, NaN if none within the panel's 2 s look-back. */
      const expectedAt = (id: string, playhead: number): number => {
        const end = startNs + BigInt(Math.round(playhead * 1e9));
        const last = logTimes[id]!.filter((t) => t <= end).at(-1);
        return last === undefined || end - last > 2_000_000_000n ? Number.NaN : Number(last - startNs) / 1e9;
      };
      /** A playhead 30 ms after the head camera's image nearest `t`: an image to show whatever the recording's gaps. */
      const justAfterImage = (t: number): number => {
        const times = logTimes['head']!.map((n) => Number(n - startNs) / 1e9);
        return times.reduce((a, b) => (Math.abs(b - t) < Math.abs(a - t) ? b : a)) + 0.03;
      };
      expect(logTimes['head']!.length, 'recorded head images').toBeGreaterThan(10);
      expect(logTimes['arm']!.length, 'recorded arm access units').toBeGreaterThan(10);
      /** The time of the image drawn, the playhead it was read for, and how many of its pixels are saturated colour. */
      const shown = () =>
        page.evaluate(() => {
          const c = document.querySelector('[data-testid=replay-camera-head]') as HTMLCanvasElement;
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let colour = 0;
          for (let i = 0; i < px.length; i += 4) if (Math.max(px[i]!, px[i + 1]!, px[i + 2]!) - Math.min(px[i]!, px[i + 1]!, px[i + 2]!) > 100) colour++;
          return { t: c.dataset['t'] ? Number(c.dataset['t']) : Number.NaN, playhead: Number(c.dataset['playhead']), colour: colour / (c.width * c.height) };
        });
      const scrubTo = async (x: number) => {
        await page.locator('[data-testid=scrub]').fill(String(x));
        // The image shown is the recording's last one at or before the playhead.
        let last = await shown();
        try {
          await until(`the image at ${x.toFixed(2)} s`, async () => {
            last = await shown();
            return Math.abs(last.playhead - x) < 0.011 && Math.abs(last.t - expectedAt('head', last.playhead)) < 1e-6;
          });
        } catch (e) {
          // What the panel last showed and said (a read that failed says why in its caption), and the playhead.
          const caption = await page.textContent('[data-testid=replay-camera-head] ~ figcaption').catch(() => null);
          const playhead = await page.textContent('[data-testid=playhead]').catch(() => null);
          throw new Error(`${(e as Error).message}; last seen ${JSON.stringify(last)}, expected image at ${expectedAt('head', last.playhead)}, caption ${JSON.stringify(caption)}, playhead ${JSON.stringify(playhead)}`);
        }
      };
      const late = justAfterImage(Math.max(1, duration * 0.8)), early = justAfterImage(Math.max(0.8, duration * 0.4));
      expect(early, 'two distinct images to scrub between').toBeLessThan(late);
      await scrubTo(late);
      const atLate = await shown();
      expect(atLate.colour, 'the test pattern is drawn').toBeGreaterThan(0.3);
      // The H.264 camera at the same playhead: decoded from the key frame before it, the picture at or before the playhead.
      const arm = () =>
        page.evaluate(() => {
          const c = document.querySelector('[data-testid=replay-camera-arm]') as HTMLCanvasElement | null;
          if (!c) return { t: Number.NaN, playhead: Number.NaN, colour: 0, caption: 'no canvas' };
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let colour = 0;
          for (let i = 0; i < px.length; i += 4) if (Math.max(px[i]!, px[i + 1]!, px[i + 2]!) - Math.min(px[i]!, px[i + 1]!, px[i + 2]!) > 100) colour++;
          const caption = c.parentElement?.querySelector('figcaption span')?.textContent ?? '';
          return { t: c.dataset['t'] ? Number(c.dataset['t']) : Number.NaN, playhead: Number(c.dataset['playhead']), colour: colour / (c.width * c.height), caption };
        });
      let armLate = await arm();
      try {
        await until('the H.264 picture at the playhead', async () => {
          armLate = await arm();
          return Math.abs(armLate.playhead - late) < 0.011 && Math.abs(armLate.t - expectedAt('arm', armLate.playhead)) < 1e-6 && armLate.colour > 0.3;
        });
      } catch (e) {
        throw new Error(`${(e as Error).message}; last seen ${JSON.stringify(armLate)}, expected picture at ${expectedAt('arm', armLate.playhead)}`);
      }
      void shot(page, 'views-recording-cameras.png');
      await scrubTo(early);
      const atEarly = await shown();
      expect(atEarly.t).toBeLessThan(atLate.t);
      // Playing (at 4×) moves the image on with the playhead.
      await page.selectOption('select[aria-label=speed]', '4');
      await page.click('[data-testid=play]');
      await until('a later image while playing', async () => (await shown()).t > atEarly.t);
      // The H.264 camera moves on too: one picture after another decoded while playing.
      const armTimes = new Set<number>();
      await until('three H.264 pictures while playing', async () => {
        const s = await arm();
        if (s.colour > 0.3 && Number.isFinite(s.t)) armTimes.add(s.t);
        return armTimes.size >= 3;
      });
      await page.click('[data-testid=play]');
      console.info(`views: recorded camera head: image ${atLate.t.toFixed(2)} s at playhead ${atLate.playhead.toFixed(2)} s, ${(atLate.colour * 100).toFixed(0)} % colour; then ${atEarly.t.toFixed(2)} s at ${atEarly.playhead.toFixed(2)} s`);
      await closeWindow(dash);
      expect(pageErrors).toEqual([]);
    });
});
});
