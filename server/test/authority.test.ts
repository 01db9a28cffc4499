/**
 * The authority table, enforced: every client message from every role × lease state × mode ×
 * e-stop state goes through the server's real message path (a BridgeServer over an in-memory
 * socket, a real ControlLoop), and the answer is checked against the table. Also: the table is
 * what docs/protocol.md prints.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { ACTION_DIM, createRig, type HandFrame, parseHandFramesJsonl } from '@dexbridge/retarget';
import { describe, expect, it } from 'vitest';
import { BridgeServer, type RecordingControl } from '../src/bridge/BridgeServer.js';
import type { RecordingsStore } from '../src/bridge/http.js';
import { AUTHORITY, AUTHORITY_MESSAGES, AUTHORITY_ROLES, type AuthorityMessage, type AuthorityRole, authorityTableMarkdown } from '../src/control/authority.js';
import { ControlLoop } from '../src/control/ControlLoop.js';
import { CONTROL_MODES, type ControlMode, encodeActionChunk, encodeHandFrame } from '../src/protocol/index.js';

const rig = createRig();
const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(new URL('../data/quest3-hands.jsonl', import.meta.url), 'utf8')).filter((f) => f.left && f.right);
const OP = 'operator-token-123';
const POLICY = 'policy-token-456';
const AUTHORITY_CODES = ['AUTH_REQUIRED', 'AUTH_ALREADY', 'ROLE_FORBIDDEN', 'LEASE_HELD', 'LEASE_NOT_HELD', 'MODE_FORBIDDEN', 'ESTOP_LATCHED'];

/** A socket the server talks to: records what it sends; the test emits what the client sends. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly json: Record<string, unknown>[] = [];
  send(data: unknown): void {
    if (typeof data === 'string') this.json.push(JSON.parse(data) as Record<string, unknown>);
  }
  terminate(): void {
    this.readyState = 3;
  }
  /** The server closes a connection that never said hello (its timer can fire on a slow machine). */
  close(): void {
    this.readyState = 3;
  }
  text(msg: Record<string, unknown>): void {
    this.emit('message', Buffer.from(JSON.stringify(msg)), false);
  }
  binary(bytes: Uint8Array): void {
    this.emit('message', Buffer.from(bytes), true);
  }
  errors(): string[] {
    return this.json.filter((m) => m['type'] === 'error').map((m) => String(m['code']));
  }
}

const store: RecordingsStore = {
  dir: '.', list: async () => [], remove: async () => false, importIwer: async () => 'x.mcap', isActive: () => false, editMeta: async () => false,
};
const recording: RecordingControl = {
  active: () => false, file: () => null, error: () => null, start: () => undefined, stop: () => undefined, label: async () => true,
};

type LeaseState = 'free' | 'mine' | 'other';

/** A server in `mode`, with the lease `lease` (relative to the tested connection) and the e-stop as given; returns the tested socket. */
function setup(role: AuthorityRole, lease: LeaseState, mode: ControlMode, estop: boolean): { sock: FakeSocket; loop: ControlLoop } {
  let t = 1000;
  const loop = new ControlLoop({ rig, gestures: false, clock: () => t });
  const server = new BridgeServer({ loop, operatorToken: OP, policyToken: POLICY, urdf: '', store, recording, softwareVersion: 'test', maxMessagesPerSecond: 1000,
    // The connections that never say hello must outlive the whole table on a busy machine (the hello timeout has its own tests).
    helloTimeoutMs: 600_000 });
  let port = 40_000;
  const connect = (): FakeSocket => {
    const s = new FakeSocket();
    // The upgrade request names the peer (the server looks up its admission slot by address:port).
    (server as unknown as { connected(ws: unknown, req: unknown): void }).connected(s, { socket: { remoteAddress: '127.0.0.1', remotePort: ++port } });
    return s;
  };
  const boss = connect();
  boss.text({ type: 'hello', protocol: 1, role: 'operator', token: OP, name: 'boss' });
  boss.text({ type: 'lease_request' });
  const sock = connect();
  if (role !== 'none') sock.text({ type: 'hello', protocol: 1, role, token: role === 'policy' ? POLICY : OP, name: 'tested' });
  if (lease === 'mine') sock.text({ type: 'lease_request', takeover: true });
  // The holder chooses the mode (claiming a lease in idle switches to teleop).
  (lease === 'mine' ? sock : boss).text({ type: 'set_mode', mode });
  if (lease === 'free') boss.text({ type: 'lease_release' });
  if (estop) boss.text({ type: 'estop' });
  t += 10;
  expect(loop.mode).toBe(mode);
  expect(loop.state.estop).toBe(estop);
  expect(boss.errors()).toEqual([]);
  sock.json.length = 0;
  return { sock, loop };
}

/** A valid instance of each message (so only authority can refuse it). */
function send(sock: FakeSocket, type: AuthorityMessage, nowMs: number): void {
  const f = frames[0]!;
  switch (type) {
    case 'hand_frame':
      return sock.binary(encodeHandFrame(undefined, { seq: 1, tMs: nowMs, left: f.left, right: f.right }));
    case 'action_chunk': {
      const data = new Float32Array(5 * ACTION_DIM);
      return sock.binary(encodeActionChunk(undefined, { chunkId: 1, startTimeMs: nowMs, periodMs: 20, k: 5, data }));
    }
    case 'hello':
      return sock.text({ type: 'hello', protocol: 1, role: 'operator', token: OP });
    case 'ping':
      return sock.text({ type: 'ping', id: 1, clientTimeMs: 1 });
    case 'engage':
    case 'disengage':
      return sock.text({ type, side: 'left' });
    case 'set_mode':
      return sock.text({ type, mode: 'teleop' });
    case 'lease_request':
      return sock.text({ type, takeover: true });
    case 'record_stop':
      return sock.text({ type, success: true });
    case 'set_recording_meta':
      return sock.text({ type, file: 'x.mcap', success: true });
    case 'calibrate':
      return sock.text({ type, translationScale: 1.2 });
    case 'camera_subscribe':
      return sock.text({ type, cameras: [] });
    default:
      return sock.text({ type });
  }
}

/** What the table says the answer is: the denial code, or null (acted on). Written from the table's columns. */
function expected(type: AuthorityMessage, role: AuthorityRole, lease: LeaseState, mode: ControlMode, estop: boolean): string | null {
  const r = AUTHORITY[type];
  if (!r.roles.includes(role)) return role === 'none' ? 'AUTH_REQUIRED' : type === 'hello' ? 'AUTH_ALREADY' : 'ROLE_FORBIDDEN';
  if (r.lease === 'holder' && lease !== 'mine') return lease === 'other' ? 'LEASE_HELD' : 'LEASE_NOT_HELD';
  if (r.lease === 'claim' && lease === 'other') return 'LEASE_HELD';
  if (r.lease === 'held' && lease === 'free') return 'LEASE_NOT_HELD';
  if (!r.modes.includes(mode)) return 'MODE_FORBIDDEN';
  if (estop && !r.whileEstop) return 'ESTOP_LATCHED';
  return null;
}

describe('the authority table', () => {
  it('answers every message from every role × lease state × mode × e-stop state as the table says', () => {
    let cases = 0;
    const wrong: string[] = [];
    for (const mode of CONTROL_MODES) {
      for (const estop of [false, true]) {
        for (const role of AUTHORITY_ROLES) {
          for (const lease of ['free', 'mine', 'other'] as const) {
            if (lease === 'mine' && role !== 'operator') continue; // only an operator can hold it
            for (const type of AUTHORITY_MESSAGES) {
              const { sock, loop } = setup(role, lease, mode, estop);
              send(sock, type, loop.now());
              const want = expected(type, role, lease, mode, estop);
              const got = sock.errors().filter((c) => AUTHORITY_CODES.includes(c));
              const ok = want === null ? got.length === 0 : got.length === 1 && got[0] === want;
              if (!ok) wrong.push(`${type} from ${role}, lease ${lease}, ${mode}${estop ? ', e-stop' : ''}: expected ${want ?? 'acted on'}, got ${got.join(',') || 'acted on'}`);
              cases++;
              loop.stop();
            }
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(cases).toBe(CONTROL_MODES.length * 2 * (AUTHORITY_ROLES.length * 3 - 3) * AUTHORITY_MESSAGES.length);
  }, 120_000);

  it('acknowledges an e-stop from every role, before hello too, and latches it', () => {
    for (const role of AUTHORITY_ROLES) {
      const { sock, loop } = setup(role, 'other', 'teleop', false);
      send(sock, 'estop', loop.now());
      expect(sock.json.find((m) => m['type'] === 'ack')).toMatchObject({ type: 'ack', ref: 'estop' });
      expect(loop.state.estop).toBe(true);
      loop.stop();
    }
  });

  it('rate-limits every message except the e-stop', () => {
    expect(AUTHORITY_MESSAGES.filter((m) => !AUTHORITY[m].rateLimited)).toEqual(['estop']);
  });

  it('is the table printed in docs/protocol.md', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const begin = '<!-- authority-table:begin (generated from server/src/control/authority.ts; do not edit) -->\n';
    const end = '<!-- authority-table:end -->';
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    expect(i).toBeGreaterThan(0);
    expect(doc.slice(i + begin.length, j)).toBe(authorityTableMarkdown());
  });
});
