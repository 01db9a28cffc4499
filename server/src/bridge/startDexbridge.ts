/**
 * Builds and starts the whole process: control loop, recording, ROS, the WebSocket/HTTP server
 * and (optionally) the demo operator. The CLI's `serve` and the integration tests both use it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HandFrame, parseHandFramesJsonl } from '@dexbridge/retarget';
import { rigUrdf } from '@dexbridge/urdf';
import { type CameraConfig, CameraHub } from '../cameras/index.js';
import { RecordingManager, type RecordPolicy } from '../recording/RecordingManager.js';
import { RosBridge, type RobotConfig } from '../ros/index.js';
import { wallClockStamper } from '../ros/wallClock.js';
import type { AdmissionOptions } from './Admission.js';
import { BridgeServer } from './BridgeServer.js';
import { ControlLoop } from './ControlLoop.js';
import { DemoOperator } from './DemoOperator.js';
import { ExportJobs } from './ExportJobs.js';
import { FolderRecordingsStore } from './FolderRecordingsStore.js';
import { bindsBeyondLoopback, lanAddresses } from './network.js';
import { generateTls, loadTls, type TlsMaterial } from './tls.js';
import { newToken } from './tokens.js';

export interface DexbridgeOptions {
  /** Interface to bind. Default 127.0.0.1 (this machine only). */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** HTTPS/WSS: PEM files, or 'generate' for a self-signed certificate. Default: plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string } | 'generate';
  /** rosbridge v2 WebSocket URL, e.g. ws://robot:9090. Default: no ROS. */
  readonly rosbridgeUrl?: string;
  readonly rosPrefix?: string;
  readonly rosVersion?: 1 | 2;
  /** Recordings folder. Default ./recordings. */
  readonly recordingsDir?: string;
  /** When to record: each lease session (default), each engage, only on request, or never. */
  readonly record?: RecordPolicy;
  /** Tokens; random ones are generated when not given (and printed). */
  readonly operatorToken?: string;
  readonly policyToken?: string;
  readonly viewerToken?: string;
  /**
   * Whether viewers (and the read-only HTTP API) need a token. Default: yes when bound beyond
   * loopback (a viewer sees every recording), no on loopback. A token is generated when none is given.
   */
  readonly viewerTokenRequired?: boolean;
  /** Host names accepted in the `Host` header besides loopback names and the bound address. */
  readonly allowedHosts?: readonly string[];
  /** A WebSocket that has not said hello within this long is closed, ms. Default 5000. */
  readonly helloTimeoutMs?: number;
  /** Caps on connections that have not said hello (see Admission). */
  readonly admission?: AdmissionOptions;
  /** HTTP request headers must arrive within this long, ms. Default 10000. */
  readonly headersTimeoutMs?: number;
  readonly controlRateHz?: number;
  readonly watchdogMs?: number;
  /** Drive the robot from the bundled Quest session in a loop. */
  readonly demo?: boolean;
  /** What replay mode plays (in a loop); default the bundled Quest session. */
  readonly replayFrames?: readonly HandFrame[];
  readonly allowedOrigins?: readonly string[];
  /** The built dashboard; default: client/dist beside this package when it exists. */
  readonly clientDir?: string;
  readonly teleopChunkK?: number;
  /** Per-connection limits (see BridgeServer). */
  readonly maxMessagesPerSecond?: number;
  readonly maxMessageBytes?: number;
  readonly staleMs?: number;
  /** Refuse to engage without fresh measured joints from ROS (recommended on a real robot). Default false. */
  readonly requireMeasured?: boolean;
  /** The robot config (ROS topics per joint group); see docs/ros.md. */
  readonly robotConfig?: RobotConfig;
  /** Robot cameras (default: the robot config's); see docs/cameras.md. */
  readonly cameras?: readonly CameraConfig[];
  /** The ffmpeg program for ffmpeg cameras; default `ffmpeg` on the PATH. */
  readonly ffmpegPath?: string;
}

export interface RunningDexbridge {
  readonly server: BridgeServer;
  readonly loop: ControlLoop;
  readonly recording: RecordingManager | undefined;
  readonly ros: RosBridge | undefined;
  /** Dataset export jobs behind `/api/exports` (each runs in its own child process). */
  readonly exports: ExportJobs;
  readonly demo: DemoOperator | undefined;
  /** The robot cameras (none configured: an empty hub). */
  readonly cameras: CameraHub;
  readonly port: number;
  readonly host: string;
  /** http(s)://host:port */
  readonly url: string;
  /** URLs to open from other machines on the LAN (the Quest). */
  readonly lanUrls: string[];
  readonly operatorToken: string;
  readonly policyToken: string;
  readonly viewerToken: string | undefined;
  readonly tls: TlsMaterial | undefined;
  /** Why the recordings folder cannot be written (said on the console at start), or null. */
  readonly recordingsProblem: string | null;
  close(): Promise<void>;
}

const DEMO_URL = new URL('../../data/quest3-hands.jsonl', import.meta.url);
let bundled: HandFrame[] | undefined;
/** The bundled Quest 3 session, read once (the demo and replay mode both play it). */
const bundledSession = (): HandFrame[] => (bundled ??= parseHandFramesJsonl(readFileSync(DEMO_URL, 'utf8')));

export function softwareVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Creates and deletes a probe file: null when `dir` can be written, else why not. */
async function writeProblem(dir: string): Promise<string | null> {
  const probe = join(dir, `.dexbridge-write-probe-${process.pid}`);
  try {
    await (await open(probe, 'wx')).close();
    await unlink(probe);
    return null;
  } catch (err) {
    return `recording: cannot write in the recordings folder ${dir} (${(err as Error).message}); sessions are not recorded until it is writable`;
  }
}

function defaultClientDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../../client/dist/', import.meta.url));
  return existsSync(dir) ? dir : undefined;
}

export async function startDexbridge(o: DexbridgeOptions = {}): Promise<RunningDexbridge> {
  const host = o.host ?? '127.0.0.1';
  const operatorToken = o.operatorToken ?? newToken();
  const policyToken = o.policyToken ?? newToken();
  const viewerToken = o.viewerToken ?? ((o.viewerTokenRequired ?? bindsBeyondLoopback(host)) ? newToken() : undefined);
  const tls = o.tls === undefined ? undefined : o.tls === 'generate' ? await generateTls(bindsBeyondLoopback(host) ? [host] : []) : await loadTls(o.tls.cert, o.tls.key);
  const recordingsDir = o.recordingsDir ?? 'recordings';
  await mkdir(recordingsDir, { recursive: true });
  const recordingsProblem = o.record === 'off' ? null : await writeProblem(recordingsDir);
  const urdf = rigUrdf();
  const version = softwareVersion();

  const loop = new ControlLoop({
    ...(o.controlRateHz !== undefined ? { controlRateHz: o.controlRateHz } : {}),
    ...(o.watchdogMs !== undefined ? { watchdogMs: o.watchdogMs } : {}),
    ...(o.teleopChunkK !== undefined ? { teleopChunkK: o.teleopChunkK } : {}),
    autoEngage: o.demo === true,
    requireMeasured: o.requireMeasured ?? o.robotConfig?.requireMeasured ?? false,
  });
  const rosUrl = o.rosbridgeUrl ?? o.robotConfig?.rosbridgeUrl;
  const cameras = new CameraHub(o.cameras ?? o.robotConfig?.cameras ?? [], {
    now: () => loop.now(), rosAvailable: rosUrl !== undefined, ...(o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {}),
  });
  const editFinished = (file: string, edit: { task?: string; success?: boolean }): Promise<boolean> => store.editMeta(file, edit);
  const recording: RecordingManager | undefined = o.record === 'off'
    ? undefined
    : new RecordingManager(loop, { dir: recordingsDir, policy: o.record ?? 'session', urdf, softwareVersion: version, editFinished, cameras });
  const ros = rosUrl === undefined
    ? undefined
    : new RosBridge({
      url: rosUrl,
      ...(o.rosPrefix ?? o.robotConfig?.prefix ? { prefix: (o.rosPrefix ?? o.robotConfig?.prefix)! } : {}),
      ...(o.rosVersion ?? o.robotConfig?.rosVersion ? { rosVersion: (o.rosVersion ?? o.robotConfig?.rosVersion)! } : {}),
      ...(o.robotConfig ? { robot: o.robotConfig } : {}),
      ...(cameras.rosTopics().length > 0 ? { images: cameras.rosTopics(), onImage: (topic: string, msg: unknown) => cameras.rosImage(topic, msg) } : {}),
    });
  const store: FolderRecordingsStore = new FolderRecordingsStore(recordingsDir, recording);
  const exports = new ExportJobs(store, o.ffmpegPath !== undefined ? { ffmpegPath: o.ffmpegPath } : {});
  const clientDir = o.clientDir ?? defaultClientDir();
  const server = new BridgeServer({
    loop, host, port: o.port ?? 8080, operatorToken, policyToken, urdf, store, exports, softwareVersion: version,
    ...(tls ? { tls } : {}),
    ...(viewerToken !== undefined ? { viewerToken } : {}),
    ...(o.allowedOrigins ? { allowedOrigins: o.allowedOrigins } : {}),
    ...(o.allowedHosts ? { allowedHosts: o.allowedHosts } : {}),
    ...(o.helloTimeoutMs !== undefined ? { helloTimeoutMs: o.helloTimeoutMs } : {}),
    ...(o.admission ? { admission: o.admission } : {}),
    ...(o.headersTimeoutMs !== undefined ? { headersTimeoutMs: o.headersTimeoutMs } : {}),
    ...(clientDir ? { clientDir } : {}),
    ...(recording ? { recording } : {}),
    ...(ros ? { ros: () => ros.status() } : {}),
    cameras,
    ...(o.maxMessagesPerSecond !== undefined ? { maxMessagesPerSecond: o.maxMessagesPerSecond } : {}),
    ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
    ...(o.staleMs !== undefined ? { staleMs: o.staleMs } : {}),
  });

  if (ros) {
    // ROS never blocks the loop: publishes are fire-and-forget and dropped while disconnected.
    // Only gated commands reach ROS. Every header stamp is the wall clock (epoch ms, the clock ROS
    // nodes compare against) of the instant it describes: the loop's monotonic time mapped to the
    // wall clock: the offset between the two is re-read at every publish and kept while it stays
    // within 2 ms (Date.now() ticks in whole ms), so messages of one control step carry one stamp
    // and a wall-clock correction (NTP) shows at once (`wallClockStamper`).
    const wallMs = wallClockStamper(() => loop.now());
    loop.onState((s) => ros.publishState(wallMs(s.serverTimeMs), s.q, s.action));
    loop.onChunk((tMs, chunk) => ros.publishChunk(wallMs(tMs), chunk));
    ros.onMeasured((m) => loop.setMeasured(m.q, m.valid));
    ros.onStatus((st) => loop.emit('ros', { connected: st.connected, url: st.url, lastError: st.lastError?.message ?? null }));
  }

  let port: number;
  try {
    port = await server.listen();
  } catch (err) {
    // Nothing may keep a process that failed to start alive.
    ros?.close();
    await exports.close();
    await recording?.close();
    await server.close().catch(() => undefined);
    throw err;
  }
  loop.start();
  // Cameras run in their own processes (ffmpeg) or arrive through rosbridge: nothing about them
  // waits on, or makes the control loop wait.
  cameras.start();
  let demo: DemoOperator | undefined;
  if (o.demo === true) {
    demo = new DemoOperator(loop, bundledSession());
    server.takeLeaseInternal('demo');
    // The demo is its own operator: it engages as an operator would.
    loop.engage(undefined, 'demo');
    loop.onEvent((e) => {
      // A real operator taking the lease ends the demo.
      if (e.event === 'lease' && e.detail['holder'] !== 'demo') demo?.stop();
    });
    demo.start();
  }

  // Replay mode plays a session through the same pipeline and safety gate.
  let replay: DemoOperator | undefined;
  loop.onEvent((e) => {
    if (e.event !== 'mode') return;
    // The operator who chose replay keeps the lease; the session moves the robot after their engage.
    if (e.detail['to'] === 'replay') {
      replay ??= new DemoOperator(loop, o.replayFrames ?? bundledSession(), 500, 'replay');
      demo?.stop();
      replay.start();
    } else if (e.detail['from'] === 'replay') {
      replay?.stop();
    }
  });

  const scheme = tls ? 'https' : 'http';
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  const url = `${scheme}://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  const lanUrls = bindsBeyondLoopback(host) ? (host === '0.0.0.0' || host === '::' ? lanAddresses() : [host]).map((a) => `${scheme}://${a}:${port}`) : [];
  server.lanUrls = lanUrls;
  return {
    server, loop, recording, ros, exports, demo, cameras, port, host, url, lanUrls, operatorToken, policyToken, viewerToken, tls, recordingsProblem,
    async close() {
      demo?.stop();
      replay?.stop();
      loop.stop();
      await cameras.close();
      await recording?.close();
      ros?.close();
      await exports.close();
      await server.close();
    },
  };
}
