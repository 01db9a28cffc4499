/**
 * `dexbridge serve`: the process a lab runs next to its robot. See docs/cli.md and docs/quest.md.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { HandFrame } from '@dexbridge/retarget';
import type { RecordPolicy } from '../recording/RecordingManager.js';
import { readHandFrames } from './readHandFrames.js';
import { parseDecimal } from './decimal.js';
import { type DexbridgeOptions, startDexbridge } from '../bridge/startDexbridge.js';
import { type CameraConfig, CameraConfigError, demoCameras, parseCameraSpec } from '../cameras/index.js';
import { loadRobotConfig, type RobotConfig, RobotConfigError } from '../ros/robotConfig.js';
import { usageFromParseError } from './args.js';
import { CliError, EXIT_OK } from './CliError.js';
import type { CliIo } from './io.js';
import { serveStartError } from './serveErrors.js';

export const SERVE_USAGE = `Usage: dexbridge serve [options]

Starts the bridge: HTTP for the dashboard and the recordings API, and the WebSocket at /ws.

Options:
  --port <n>                 port (default 8080; 0 picks a free one)
  --host <address>           interface to bind (default 127.0.0.1; 0.0.0.0 for the LAN)
  --tls                      HTTPS/WSS with a generated self-signed certificate (for the Quest on the LAN)
  --cert <file> --key <file> HTTPS/WSS with your certificate (PEM)
  --rosbridge <url>          publish to ROS through rosbridge, e.g. ws://robot:9090
  --ros-prefix <prefix>      topic prefix (default /dexbridge)
  --ros-version <1|2>        rosbridge's ROS version, for header stamps (default 1)
  --robot-config <file>      controller topics and joint names of your robot (JSON; docs/ros.md)
  --require-measured         refuse to engage without fresh measured joints (recommended on a real robot)
  --camera <id>=<source>     a robot camera (repeatable; replaces the robot config's): /dev/videoN (V4L2),
                             rtsp://… (IP camera), ros:/topic (sensor_msgs/CompressedImage through
                             rosbridge), ros-raw:/topic (raw sensor_msgs/Image), demo (synthetic),
                             or a video file (looped); h264:<source> encodes an ffmpeg source to H.264
                             instead of MJPEG (e.g. head=h264:/dev/video0); docs/cameras.md
  --no-demo-cameras          --demo without its two synthetic cameras
  --recordings <dir>         recordings folder (default ./recordings)
  --record <policy>          session (default: each operator lease), engage, manual, off
  --operator-token <t>       operator token (default: $DEXBRIDGE_OPERATOR_TOKEN, else a random one, printed)
  --policy-token <t>         policy token (default: $DEXBRIDGE_POLICY_TOKEN, else a random one, printed)
  --viewer-token <t>         the token viewers need (default: $DEXBRIDGE_VIEWER_TOKEN, else a random one,
                             printed, when bound beyond loopback; none on loopback)
  --no-viewer-token          let viewers in without a token even beyond loopback (they see every recording)
                             Tokens you give are never printed; prefer the environment variables,
                             which other users cannot read from the process list.
  --allow-origin <origin>    another browser origin allowed to connect (repeatable)
  --allow-host <name>        another name this server is reached by, e.g. robot-pc.lab (repeatable;
                             loopback names and the bound address are always allowed)
  --control-rate <hz>        control loop rate (default 90)
  --watchdog <ms>            hold after this long without operator frames (default 200)
  --chunk-k <n>              actions per teleop chunk sent to ROS (default 1)
  --demo                     drive the robot from the bundled Quest 3 session in a loop
  --replay <file>            what replay mode plays: JSON Lines, IWER capture or a recording
                             (default: the bundled Quest 3 session)
`;

/** A numeric option in min..max (an integer when `integer`), written in plain decimals. */
function num(name: string, v: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = parseDecimal(v);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new CliError('CLI_USAGE', `serve: --${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Parses `serve` arguments into options (exported for tests). */
export function parseServeArgs(argv: readonly string[]): DexbridgeOptions & { replayFile?: string } {
  const parse = () =>
    parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' }, host: { type: 'string' }, tls: { type: 'boolean' }, cert: { type: 'string' }, key: { type: 'string' },
        rosbridge: { type: 'string' }, 'ros-prefix': { type: 'string' }, 'ros-version': { type: 'string' },
        recordings: { type: 'string' }, record: { type: 'string' },
        'operator-token': { type: 'string' }, 'policy-token': { type: 'string' }, 'viewer-token': { type: 'string' }, 'no-viewer-token': { type: 'boolean' },
        'allow-origin': { type: 'string', multiple: true }, 'allow-host': { type: 'string', multiple: true }, 'control-rate': { type: 'string' }, watchdog: { type: 'string' }, 'chunk-k': { type: 'string' },
        demo: { type: 'boolean' }, replay: { type: 'string' }, 'robot-config': { type: 'string' }, 'require-measured': { type: 'boolean' },
        camera: { type: 'string', multiple: true }, 'no-demo-cameras': { type: 'boolean' },
      },
      allowPositionals: false,
      strict: true,
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    throw usageFromParseError('serve', err);
  }
  const v = parsed.values;
  if ((v.cert === undefined) !== (v.key === undefined)) throw new CliError('CLI_USAGE', 'serve: --cert and --key go together');
  if (v.tls === true && v.cert !== undefined) throw new CliError('CLI_USAGE', 'serve: give either --tls (generated certificate) or --cert/--key, not both');
  const record = v.record as RecordPolicy | undefined;
  if (record !== undefined && !['session', 'engage', 'manual', 'off'].includes(record)) throw new CliError('CLI_USAGE', `serve: --record must be session, engage, manual or off, got ${JSON.stringify(record)}`);
  if (v.rosbridge !== undefined && !/^wss?:\/\//.test(v.rosbridge)) throw new CliError('CLI_USAGE', `serve: --rosbridge must be a ws:// or wss:// URL, got ${JSON.stringify(v.rosbridge)}`);
  for (const [name, t] of [['operator-token', v['operator-token']], ['policy-token', v['policy-token']], ['viewer-token', v['viewer-token']]] as const) {
    if (t !== undefined && t.length < 8) throw new CliError('CLI_USAGE', `serve: --${name} must have at least 8 characters`);
  }
  const rosVersionText = v['ros-version'];
  if (rosVersionText !== undefined && rosVersionText !== '1' && rosVersionText !== '2') {
    throw new CliError('CLI_USAGE', `serve: --ros-version must be 1 or 2, got ${JSON.stringify(rosVersionText)}`);
  }
  if (v['no-viewer-token'] === true && v['viewer-token'] !== undefined) throw new CliError('CLI_USAGE', 'serve: give either --viewer-token or --no-viewer-token, not both');
  for (const h of v['allow-host'] ?? []) {
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(h)) throw new CliError('CLI_USAGE', `serve: --allow-host must be a host name or address, got ${JSON.stringify(h)}`);
  }
  let robotConfig: RobotConfig | undefined;
  if (v['robot-config'] !== undefined) {
    try {
      robotConfig = loadRobotConfig(v['robot-config']);
    } catch (err) {
      throw new CliError('CLI_USAGE', `serve: --robot-config: ${err instanceof RobotConfigError ? `${err.code}: ${err.message}` : (err as Error).message}`);
    }
  }
  let cameras: CameraConfig[] | undefined;
  try {
    if (v.camera !== undefined) cameras = v.camera.map(parseCameraSpec);
  } catch (err) {
    throw new CliError('CLI_USAGE', `serve: ${err instanceof CameraConfigError ? `${err.code}: ` : ''}${(err as Error).message}`);
  }
  if (cameras !== undefined && new Set(cameras.map((c) => c.id)).size !== cameras.length) {
    throw new CliError('CLI_USAGE', `serve: --camera ids must differ, got ${cameras.map((c) => c.id).join(', ')}`);
  }
  // The demo shows the whole pipeline without hardware: two synthetic cameras unless told otherwise.
  if (cameras === undefined && v.demo === true && v['no-demo-cameras'] !== true && robotConfig?.cameras === undefined) cameras = demoCameras();
  const o: DexbridgeOptions = {
    ...(v.host !== undefined ? { host: v.host } : {}),
    ...(v.port !== undefined ? { port: num('port', v.port, 0, 65535, true)! } : {}),
    ...(v.tls === true ? { tls: 'generate' as const } : v.cert !== undefined && v.key !== undefined ? { tls: { cert: v.cert, key: v.key } } : {}),
    ...(v.rosbridge !== undefined ? { rosbridgeUrl: v.rosbridge } : {}),
    ...(v['ros-prefix'] !== undefined ? { rosPrefix: v['ros-prefix'] } : {}),
    ...(rosVersionText !== undefined ? { rosVersion: rosVersionText === '2' ? 2 : 1 } : {}),
    ...(v.recordings !== undefined ? { recordingsDir: v.recordings } : {}),
    ...(record !== undefined ? { record } : {}),
    ...(v['operator-token'] !== undefined ? { operatorToken: v['operator-token'] } : {}),
    ...(v['policy-token'] !== undefined ? { policyToken: v['policy-token'] } : {}),
    ...(v['viewer-token'] !== undefined ? { viewerToken: v['viewer-token'] } : {}),
    ...(v['allow-origin'] !== undefined ? { allowedOrigins: v['allow-origin'] } : {}),
    ...(v['allow-host'] !== undefined ? { allowedHosts: v['allow-host'] } : {}),
    ...(v['no-viewer-token'] === true ? { viewerTokenRequired: false } : {}),
    ...(v['control-rate'] !== undefined ? { controlRateHz: num('control-rate', v['control-rate'], 1, 1000)! } : {}),
    ...(v.watchdog !== undefined ? { watchdogMs: num('watchdog', v.watchdog, 10, 10000)! } : {}),
    ...(v['chunk-k'] !== undefined ? { teleopChunkK: num('chunk-k', v['chunk-k'], 1, 256, true)! } : {}),
    ...(v.demo === true ? { demo: true } : {}),
    ...(robotConfig !== undefined ? { robotConfig } : {}),
    ...(v['require-measured'] === true ? { requireMeasured: true } : {}),
    ...(cameras !== undefined ? { cameras } : {}),
  };
  return v.replay === undefined ? o : { ...o, replayFile: v.replay };
}

/** Tokens from the environment when not given as options (they stay out of the process list). */
function withEnvTokens(o: DexbridgeOptions, env: NodeJS.ProcessEnv): DexbridgeOptions {
  const pick = (given: string | undefined, name: string): string | undefined => {
    const v = given ?? env[name];
    if (v !== undefined && v.length < 8) throw new CliError('CLI_USAGE', `serve: ${name} must have at least 8 characters`);
    return v;
  };
  const operatorToken = pick(o.operatorToken, 'DEXBRIDGE_OPERATOR_TOKEN');
  const policyToken = pick(o.policyToken, 'DEXBRIDGE_POLICY_TOKEN');
  const viewerToken = pick(o.viewerToken, 'DEXBRIDGE_VIEWER_TOKEN');
  return {
    ...o,
    ...(operatorToken !== undefined ? { operatorToken } : {}),
    ...(policyToken !== undefined ? { policyToken } : {}),
    ...(viewerToken !== undefined ? { viewerToken } : {}),
  };
}

/**
 * How far V8 lets the old generation grow past its live data before the next full collection,
 * in percent. Its default (a factor up to 4 under a high allocation rate) let a server under
 * connection churn — hundreds of refused sockets a second, each leaving short-lived objects that
 * outlive a young collection — sit 60–90 MB above its idle size; 50 % keeps it within ~30 MB for
 * a few more concurrent full collections (docs/reliability.md, soak). V8 reads this flag at every
 * collection, so setting it at run time takes effect.
 */
export const SERVE_HEAP_GROWING_PERCENT = 50;

export async function serveCommand(argv: readonly string[], io: CliIo, signal?: AbortSignal, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { replayFile, ...parsed } = parseServeArgs(argv);
  const options = withEnvTokens(parsed, env);
  setFlagsFromString(`--heap-growing-percent=${SERVE_HEAP_GROWING_PERCENT}`);
  // SIGINT and SIGTERM are caught from here on: a signal that came before the handlers would kill
  // the process by default, even between two lines of the banner, and lose the recording. The
  // first one stops (once started); a second one exits at once.
  let signals = 0;
  let stop: (() => void) | undefined;
  let exitNow = (): void => {
    io.stderr.write('dexbridge: second signal: exiting now\n');
    process.exit(130);
  };
  const onSignal = (): void => {
    if (++signals === 1) stop?.();
    else exitNow();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let replayFrames: HandFrame[] | undefined;
    if (replayFile !== undefined) {
      replayFrames = [];
      for await (const f of (await readHandFrames(replayFile)).frames) replayFrames.push(f);
      if (replayFrames.length < 2) throw new CliError('CLI_USAGE', `serve: --replay ${replayFile} has fewer than 2 frames`);
    }
    let run: Awaited<ReturnType<typeof startDexbridge>>;
    try {
      run = await startDexbridge(replayFrames ? { ...options, replayFrames } : options);
    } catch (err) {
      throw (
        serveStartError(err, {
          host: options.host ?? '127.0.0.1', port: options.port ?? 8080, recordingsDir: options.recordingsDir ?? 'recordings',
          ...(typeof options.tls === 'object' ? { cert: options.tls.cert, key: options.tls.key } : {}),
        }) ?? err
      );
    }
    const w = (line: string): unknown => io.stdout.write(`${line}\n`);
    const warn = (line: string): unknown => io.stderr.write(`dexbridge: ${line}\n`);
    w(`dexbridge ${run.server.loop.mode === 'idle' ? 'ready' : 'running'} on ${run.url}${run.tls ? ` (TLS, ${run.tls.source} certificate)` : ''}`);
    // A token the user chose is never printed (they know it); a generated one must be, once.
    const opToken = options.operatorToken === undefined ? run.operatorToken : '<your operator token>';
    w(`  dashboard         ${run.url}/   (to control it too: ${run.url}/#token=${opToken})`);
    w(`  operator (Quest)  ${run.url}/?role=operator#token=${opToken}`);
    for (const lan of run.lanUrls) w(`  on the LAN        ${lan}/?role=operator#token=${opToken}`);
    if (run.lanUrls.length === 0) w('  LAN               not reachable (bound to loopback); use --host 0.0.0.0 --tls, or adb reverse (docs/quest.md)');
    w(`  WebSocket         ${run.url.replace(/^http/, 'ws')}/ws`);
    w(`  policy token      ${options.policyToken === undefined ? run.policyToken : '(as given)'}`);
    if (options.viewerToken !== undefined) w('  viewer token      required (as given)');
    else if (run.viewerToken !== undefined) w(`  viewers           ${run.lanUrls[0] ?? run.url}/#viewer=${run.viewerToken}   (viewers need this token)`);
    w(`  recordings        ${run.recording ? `${options.recordingsDir ?? 'recordings'} (${options.record ?? 'session'})` : 'off'}`);
    w(`  ROS               ${run.ros ? run.ros.url : 'off (standalone)'}${options.robotConfig ? ` (robot config: ${options.robotConfig.outputs.length} controller outputs)` : ''}`);
    w(`  engage            ${run.loop.requireMeasured ? 'needs fresh measured joints (--require-measured)' : 'starts from measured joints when fresh'}; nothing moves before an engage`);
    if (run.demo) w('  demo              the bundled Quest 3 session drives the robot in a loop');
    const cams = run.cameras.cameras;
    w(`  cameras           ${cams.length > 0 ? cams.map((c) => `${c.id} (${c.source})`).join(', ') : 'none (--camera, or cameras in the robot config)'}`);
    // A camera that fails is said on the console as well as in status.cameras (once per new problem).
    const cameraCodes = new Map<string, string | null>();
    const cameraWatch = setInterval(() => {
      for (const c of run.cameras.status()) {
        if (c.code !== null && c.code !== cameraCodes.get(c.id)) warn(`warning: ${c.code}: ${c.error}`);
        cameraCodes.set(c.id, c.code);
      }
    }, 1000);
    cameraWatch.unref();
    // Recording never stops teleoperation, so its failures are said here as well as to clients.
    if (run.recordingsProblem !== null) warn(`warning: RECORDING_FAILED: ${run.recordingsProblem}`);
    run.loop.onEvent((e) => {
      if (e.event === 'recording' && typeof e.detail['error'] === 'string') warn(`warning: RECORDING_FAILED: ${e.detail['error']}`);
    });
    await new Promise<void>((done) => {
      stop = done;
      if (signals > 0 || signal?.aborted === true) done();
      signal?.addEventListener('abort', () => done(), { once: true });
    });
    // A second signal while closing exits at once: the open recording stays as it is on disk
    // (every chunk flushed so far), which `dexbridge recover` turns into a valid file.
    exitNow = (): void => {
      warn(`second signal: exiting now; the recording ${run.recording?.file() ?? ''} may be unfinished: run dexbridge recover on it`);
      process.exit(130);
    };
    if (signals === 0) signals = 1; // stopped by the abort signal: the next process signal exits at once
    clearInterval(cameraWatch);
    w('dexbridge: stopping (closing the recording)');
    await run.close();
    w('dexbridge: stopped');
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
