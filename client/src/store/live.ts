/**
 * The live session: one {@link BridgeClient}, a zustand store with what React draws (changing a
 * few times a second at most), and rings with the 90 Hz stream for the plots. The 3D scene reads
 * states through {@link LiveSession.client}'s listeners, outside React's render cycle.
 */
import type { DecodedRobotState, EventMessage, ServerMessage, StatusMessage, WelcomeMessage } from '@dexbridge/server/protocol';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { BridgeClient, type BridgeClientOptions, type ConnectionPhase } from '../net/BridgeClient.js';
import { NearLimitTracker } from '../robot/limits.js';
import { Ring } from './telemetry.js';

export interface SideSummary {
  readonly hold: string;
  readonly engaged: boolean;
  readonly hand: string;
  readonly arm: string;
}

/** What the dashboard shows as text; refreshed at {@link SUMMARY_HZ}. */
export interface LiveSummary {
  readonly stateSeq: number;
  readonly serverTimeMs: number;
  readonly mode: string;
  readonly estop: boolean;
  readonly hold: boolean;
  readonly leaseHeld: boolean;
  readonly recording: boolean;
  readonly rosConnected: boolean;
  readonly measuredValid: boolean;
  readonly left: SideSummary;
  readonly right: SideSummary;
  readonly retargetMs: number;
  readonly serverLatencyMs: number;
  readonly chunkQueueDepth: number;
  readonly chunkLatencyMs: number;
  /** States per second over the last second. */
  readonly statesPerSecond: number;
  /** Arm joints near a limit: within 2 % of their range, until 4 % away again (hysteresis). */
  readonly nearLimit: readonly string[];
}

export interface LogEntry {
  readonly id: number;
  readonly atMs: number;
  readonly kind: 'event' | 'error' | 'info';
  readonly text: string;
}

export interface LiveStoreState {
  readonly phase: ConnectionPhase;
  readonly phaseDetail: string;
  readonly welcome: WelcomeMessage | undefined;
  readonly status: StatusMessage | undefined;
  readonly summary: LiveSummary | undefined;
  readonly rttMs: number;
  readonly log: readonly LogEntry[];
  /** The newest refusal; `ref` is the refused message's type (`binary:1` for a hand frame). */
  readonly lastError: { readonly code: string; readonly message: string; readonly ref: string | undefined; readonly atMs: number } | undefined;
}

export const SUMMARY_HZ = 5;
/** 20 s of history at 90 Hz. */
export const HISTORY = 1800;
const LOG_MAX = 200;

const sideSummary = (s: DecodedRobotState['status']['left']): SideSummary => ({ hold: s.hold, engaged: s.engaged, hand: s.hand.status, arm: s.arm.status });

export class LiveSession {
  readonly client: BridgeClient;
  readonly store: StoreApi<LiveStoreState>;
  /** Per state: server latency, retarget time, round trip (ms). */
  readonly latency = new Ring(HISTORY, 3);
  /** Per state: the 56 commanded joints. */
  readonly commanded = new Ring(HISTORY, 56);
  /** Per state: the 56 measured joints (NaN when absent). */
  readonly measured = new Ring(HISTORY, 56);
  /** Per state: the 88-dim action. */
  readonly action = new Ring(HISTORY, 88);
  /** The newest state (a copy, safe to keep reading). */
  latest: DecodedRobotState | undefined;
  private readonly latencyRow = new Float64Array(3);
  /** Server latency of the last state that answered a frame (states between frames carry NaN). */
  private lastServerLatency = Number.NaN;
  private lastServerLatencyAt = Number.NEGATIVE_INFINITY;
  private summaryTimer: ReturnType<typeof setInterval> | undefined;
  private stateTimes: number[] = [];
  private logId = 0;
  private nearLimits: NearLimitTracker | undefined;
  private readonly limitsByName: ReadonlyMap<string, { lower: number; upper: number }> | undefined;

  constructor(options: BridgeClientOptions, limits?: ReadonlyMap<string, { lower: number; upper: number }>) {
    this.client = new BridgeClient(options);
    this.store = createStore<LiveStoreState>(() => ({
      phase: 'closed', phaseDetail: '', welcome: undefined, status: undefined, summary: undefined, rttMs: Number.NaN, log: [], lastError: undefined,
    }));
    this.limitsByName = limits;
    this.client.onPhase((phase, detail) => {
      this.store.setState({ phase, phaseDetail: detail, welcome: this.client.welcome });
      this.addLog('info', `connection ${phase}: ${detail}`);
    });
    this.client.onMessage((m) => this.message(m));
    this.client.onState((s, t) => this.state(s, t));
  }

  start(): this {
    this.client.connect();
    this.summaryTimer = setInterval(() => this.summarize(), 1000 / SUMMARY_HZ);
    return this;
  }

  stop(): void {
    clearInterval(this.summaryTimer);
    this.client.close();
  }

  addLog(kind: LogEntry['kind'], text: string, atMs = performance.now()): void {
    const entry: LogEntry = { id: ++this.logId, atMs, kind, text };
    const log = this.store.getState().log;
    this.store.setState({ log: log.length >= LOG_MAX ? [...log.slice(1 - LOG_MAX), entry] : [...log, entry] });
  }

  private message(m: ServerMessage): void {
    if (m.type === 'status') this.store.setState({ status: m });
    else if (m.type === 'welcome') this.store.setState({ welcome: m });
    else if (m.type === 'event') this.addLog('event', describeEvent(m));
    else if (m.type === 'error') {
      this.store.setState({ lastError: { code: m.code, message: m.message, ref: m.ref, atMs: performance.now() } });
      this.addLog('error', `${m.code}: ${m.message}`);
    } else if (m.type === 'pong') {
      if (this.client.rttMs !== this.store.getState().rttMs) this.store.setState({ rttMs: this.client.rttMs });
    }
  }

  private state(s: DecodedRobotState, t: number): void {
    const keep = this.latest ?? structuredCloneState(s);
    copyState(s, keep);
    this.latest = keep;
    const ts = s.serverTimeMs / 1000;
    if (Number.isFinite(s.serverLatencyMs)) {
      this.lastServerLatency = s.serverLatencyMs;
      this.lastServerLatencyAt = t;
    }
    const lat = this.latencyRow;
    lat[0] = s.serverLatencyMs;
    lat[1] = s.retargetMs;
    lat[2] = this.client.lastRttMs;
    this.latency.push(ts, lat);
    this.commanded.push(ts, s.commanded);
    this.measured.push(ts, s.measured);
    this.action.push(ts, s.action);
    this.stateTimes.push(t);
  }

  private summarize(): void {
    const s = this.latest;
    const now = performance.now();
    while (this.stateTimes.length > 0 && this.stateTimes[0]! < now - 1000) this.stateTimes.shift();
    if (!s) return;
    const names = this.client.welcome?.jointNames ?? [];
    if (!this.nearLimits && this.limitsByName && names.length > 0) {
      this.nearLimits = new NearLimitTracker(names, names.map((n) => this.limitsByName!.get(n) ?? { lower: -Infinity, upper: Infinity }));
    }
    const nearLimit = this.nearLimits?.update(s.commanded) ?? [];
    this.store.setState({
      rttMs: this.client.rttMs,
      summary: {
        stateSeq: s.seq, serverTimeMs: s.serverTimeMs, mode: s.mode, estop: s.estopLatched, hold: s.watchdogHold, leaseHeld: s.leaseHeld, recording: s.recording,
        rosConnected: s.rosConnected, measuredValid: s.measuredValid, left: sideSummary(s.status.left), right: sideSummary(s.status.right),
        retargetMs: s.retargetMs, serverLatencyMs: now - this.lastServerLatencyAt < 2000 ? this.lastServerLatency : Number.NaN, chunkQueueDepth: s.chunkQueueDepth, chunkLatencyMs: s.chunkLatencyMs,
        statesPerSecond: this.stateTimes.length, nearLimit,
      },
    });
  }
}

/** One line for the event log. */
export function describeEvent(e: EventMessage): string {
  const d = Object.entries(e.detail)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${e.event}${d ? ` ${d}` : ''}`;
}

function structuredCloneState(s: DecodedRobotState): DecodedRobotState {
  return {
    ...s,
    status: { left: { ...s.status.left, hand: { ...s.status.left.hand }, arm: { ...s.status.left.arm } }, right: { ...s.status.right, hand: { ...s.status.right.hand }, arm: { ...s.status.right.arm } } },
    commanded: new Float32Array(s.commanded.length),
    action: new Float32Array(s.action.length),
    measured: new Float32Array(s.measured.length),
  };
}

/** Copies `s` into `out` (same shapes), allocating nothing. */
export function copyState(s: DecodedRobotState, out: DecodedRobotState): void {
  out.seq = s.seq;
  out.serverTimeMs = s.serverTimeMs;
  out.mode = s.mode;
  out.estopLatched = s.estopLatched;
  out.recording = s.recording;
  out.rosConnected = s.rosConnected;
  out.watchdogHold = s.watchdogHold;
  out.leaseHeld = s.leaseHeld;
  out.measuredValid = s.measuredValid;
  out.sourceTMs = s.sourceTMs;
  out.sourceSeq = s.sourceSeq;
  out.retargetMs = s.retargetMs;
  out.serverLatencyMs = s.serverLatencyMs;
  out.chunkQueueDepth = s.chunkQueueDepth;
  out.chunkLatencyMs = s.chunkLatencyMs;
  for (const side of ['left', 'right'] as const) {
    out.status[side].hold = s.status[side].hold;
    out.status[side].engaged = s.status[side].engaged;
    out.status[side].hand.status = s.status[side].hand.status;
    out.status[side].arm.status = s.status[side].arm.status;
  }
  out.commanded.set(s.commanded);
  out.action.set(s.action);
  out.measured.set(s.measured);
}
