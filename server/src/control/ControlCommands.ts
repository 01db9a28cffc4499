/**
 * What each JSON control message does, once the authority table has allowed it (see
 * `authority.ts`; the server checks the table first, in one place). One handler per message.
 */
import type { ClientMessage } from '../protocol/control.js';
import type { WireErrorCode } from '../protocol/errors.js';
import type { ControlLease, LeaseSession } from './ControlLease.js';
import type { ControlLoop, Mode } from './ControlLoop.js';
import { CALIBRATE_HANDS_SECONDS } from './calibration.js';

/** What the recording side offers (see RecordingManager). */
export interface RecordingControl {
  active(): boolean;
  /** The running recording's file name, or null. */
  file(): string | null;
  error(): string | null;
  start(meta: { operator?: string; task?: string }, by: string): void;
  stop(outcome: { success?: boolean }, by: string): void;
  /**
   * Labels the recording `file`: the running one in its metadata, a finished one beside it.
   * Resolves false when no recording has that name.
   */
  label(file: string, meta: { task?: string; success?: boolean }): Promise<boolean>;
}

/** How a handler answers the connection that sent the message. */
export interface CommandReply {
  send(msg: Record<string, unknown>): void;
  /** `ref`: the type of the message the error answers. */
  error(code: WireErrorCode, message: string, ref?: string): void;
}

export class ControlCommands<S extends LeaseSession> {
  /**
   * @param by who a command from a connection is from, in events (default its name; the bridge
   *   names a connection without hello too, which may send an e-stop).
   */
  constructor(
    private readonly loop: ControlLoop,
    private readonly lease: ControlLease<S>,
    private readonly recording: RecordingControl | undefined,
    private readonly by: (s: S) => string = (s) => s.name,
  ) {}

  /** The e-stop, from anyone (also before hello): latch, then acknowledge to the sender. */
  estop(by: string, reply: CommandReply): void {
    this.loop.estop(by);
    reply.send({ type: 'ack', ref: 'estop', serverTimeMs: this.loop.now() });
  }

  /**
   * Acts on an allowed message from connection `s` (`hello` is the server's). Its errors, also
   * the ones that come later, name the message (`ref`).
   */
  handle(s: S, msg: Exclude<ClientMessage, { type: 'hello' }>, reply: CommandReply): void {
    const loop = this.loop;
    const ref = msg.type;
    switch (msg.type) {
      case 'ping':
        return reply.send({ type: 'pong', id: msg.id, clientTimeMs: msg.clientTimeMs, serverTimeMs: loop.now() });
      case 'estop':
        return this.estop(this.by(s), reply);
      case 'reset_estop':
        return loop.resetEstop(s.name);
      case 'engage': {
        const r = loop.engage(msg.side, s.name);
        if (!r.ok) reply.error(r.code, r.message, ref);
        return;
      }
      case 'disengage':
        return loop.disengage(msg.side, s.name);
      case 'set_mode':
        return loop.setMode(msg.mode as Mode, s.name);
      case 'lease_request':
        if (this.lease.holds(s)) return;
        if (this.lease.held() && msg.takeover !== true) {
          return reply.error('LEASE_HELD', `control: ${this.lease.holder()} holds the control lease; ask with takeover: true to take it`, ref);
        }
        return this.lease.claim(s);
      case 'lease_release':
        return this.lease.release('released');
      case 'record_start':
        if (!this.recording) return reply.error('RECORDING_FAILED', 'control: recording is off (--record off)', ref);
        return this.recording.start({ ...(msg.task !== undefined ? { task: msg.task } : {}), operator: msg.operator ?? s.name }, s.name);
      case 'record_stop':
        if (!this.recording) return reply.error('RECORDING_FAILED', 'control: recording is off (--record off)', ref);
        return this.recording.stop(msg.success === undefined ? {} : { success: msg.success }, s.name);
      case 'set_recording_meta': {
        if (!this.recording) return reply.error('RECORDING_FAILED', 'control: recording is off (--record off)', ref);
        const meta = { ...(msg.task !== undefined ? { task: msg.task } : {}), ...(msg.success !== undefined ? { success: msg.success } : {}) };
        const file = msg.file;
        this.recording.label(file, meta).then(
          (found) => {
            if (!found) reply.error('NOT_FOUND', `control: no recording named ${JSON.stringify(file)}`, ref);
          },
          (err: unknown) => reply.error('RECORDING_FAILED', `control: labelling ${file} failed: ${(err as Error).message}`, ref),
        );
        return;
      }
      case 'calibrate': {
        const bad = loop.calibrate(
          {
            ...(msg.handScale !== undefined ? { handScale: msg.handScale } : {}),
            ...(msg.translationScale !== undefined ? { translationScale: msg.translationScale } : {}),
            ...(msg.digitScales !== undefined ? { digitScales: msg.digitScales } : {}),
          },
          s.name,
        );
        if (bad) reply.error(bad.code, bad.message, ref);
        return;
      }
      case 'calibrate_hands': {
        const bad = loop.calibrateHands(msg.seconds ?? CALIBRATE_HANDS_SECONDS.default, s.name);
        if (bad) reply.error(bad.code, bad.message, ref);
        return;
      }
    }
  }
}
