/**
 * The authority table: for every message a client may send, which roles may send it, what it
 * needs of the control lease, in which modes it is allowed, whether it is allowed while the
 * e-stop is latched, and whether it counts against the connection's rate limit. The server
 * enforces this table ({@link authorize}) and nothing else; `docs/protocol.md` prints it
 * ({@link authorityTableMarkdown}), and a test fails when the two drift apart.
 *
 * The lease follows ros2_control's resource manager: one owner claims the robot at a time, and
 * every command that moves it, or changes how it moves or what is recorded about it, acts under
 * that claim. A policy's chunks act under the claim of the operator who chose policy mode.
 */
import { CONTROL_MODES, type ControlMode } from '../protocol/codes.js';
import type { ClientMessageType, Role } from '../protocol/control.js';
import type { WireErrorCode } from '../protocol/errors.js';

/** A connection's role, or `'none'` before its `hello` was accepted. */
export type AuthorityRole = Role | 'none';
export const AUTHORITY_ROLES: readonly AuthorityRole[] = ['none', 'operator', 'viewer', 'policy'];

/** Every message a client sends: the JSON control messages and the two binary kinds. */
export type AuthorityMessage = ClientMessageType | 'hand_frame' | 'action_chunk';

/**
 * What a message needs of the control lease:
 * - `'none'`: nothing;
 * - `'holder'`: the sending connection holds it;
 * - `'claim'`: the sending connection holds it, or it is free and the message claims it;
 * - `'held'`: some operator holds it (the sender acts under that operator's claim).
 */
export type LeaseRule = 'none' | 'holder' | 'claim' | 'held';

export interface AuthorityRule {
  readonly roles: readonly AuthorityRole[];
  readonly lease: LeaseRule;
  readonly modes: readonly ControlMode[];
  /** Accepted while the e-stop is latched. */
  readonly whileEstop: boolean;
  /** Counts against `limits.maxMessagesPerSecond` (and may be dropped by it). */
  readonly rateLimited: boolean;
  /** One line for the docs: what the message does under these rules. */
  readonly note: string;
}

const ALL_MODES = CONTROL_MODES;
const AUTHENTICATED: readonly AuthorityRole[] = ['operator', 'viewer', 'policy'];

/** The table. Its order is the order of `docs/protocol.md`. */
export const AUTHORITY: Readonly<Record<AuthorityMessage, AuthorityRule>> = Object.freeze({
  hello: { roles: ['none'], lease: 'none', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'the handshake; once per connection' },
  ping: { roles: AUTHENTICATED, lease: 'none', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'clock probe, answered by pong' },
  camera_subscribe: {
    roles: AUTHENTICATED, lease: 'none', modes: ALL_MODES, whileEstop: true, rateLimited: true,
    note: 'chooses the cameras this connection receives (CAMERA_FRAME); answered by ack',
  },
  estop: {
    roles: AUTHORITY_ROLES, lease: 'none', modes: ALL_MODES, whileEstop: true, rateLimited: false,
    note: 'recognised before the rate limit and size checks; latches; answered by ack',
  },
  reset_estop: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'clears the latch; nothing moves until engage' },
  engage: {
    roles: ['operator'], lease: 'holder', modes: ['teleop', 'policy', 'replay'], whileEstop: false, rateLimited: true,
    note: 'enables motion from the measured (or last commanded) joints, with a ramp-in',
  },
  disengage: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'clutch out; the arm holds' },
  set_mode: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'every mode change holds until the next engage' },
  lease_request: { roles: ['operator'], lease: 'none', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'a held lease needs takeover: true' },
  lease_release: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'the robot holds until the next holder engages' },
  record_start: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'the file name comes in the recording event' },
  record_stop: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'labels the recording it stops' },
  set_recording_meta: {
    roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true,
    note: 'labels the recording named by file (running or finished)',
  },
  calibrate: { roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true, note: 'validated now, applied at the next engage' },
  calibrate_hands: {
    roles: ['operator'], lease: 'holder', modes: ALL_MODES, whileEstop: true, rateLimited: true,
    note: 'measures the operator\'s next frames; the result applies at the next engage',
  },
  hand_frame: {
    roles: ['operator'], lease: 'claim', modes: ALL_MODES, whileEstop: true, rateLimited: true,
    note: 'moves the robot only in teleop, engaged; a free lease is claimed (idle becomes teleop)',
  },
  action_chunk: { roles: ['policy'], lease: 'held', modes: ['policy'], whileEstop: false, rateLimited: true, note: 'moves the robot only when engaged' },
} satisfies Record<AuthorityMessage, AuthorityRule>);

export const AUTHORITY_MESSAGES = Object.keys(AUTHORITY) as AuthorityMessage[];

/** What {@link authorize} needs to know about the connection and the robot. */
export interface AuthorityContext {
  readonly role: AuthorityRole;
  /** This connection holds the lease. */
  readonly holds: boolean;
  /** Someone (this connection, another, or an internal source such as the demo) holds it. */
  readonly leaseHeld: boolean;
  /** The holder's name for messages, or null. */
  readonly holder: string | null;
  readonly mode: ControlMode;
  readonly estop: boolean;
}

export interface AuthorityDenial {
  readonly code: WireErrorCode;
  /** Starts with `control:` and names the values. */
  readonly message: string;
}

/** The wire name of a message in errors (`ref`). */
export const authorityRef = (type: AuthorityMessage): string => (type === 'hand_frame' ? 'binary:1' : type === 'action_chunk' ? 'binary:3' : type);

/**
 * Checks one message against the table, in this order: role (`AUTH_REQUIRED` before hello,
 * `AUTH_ALREADY` for a second hello, else `ROLE_FORBIDDEN`), lease (`LEASE_HELD` when another
 * holds it, `LEASE_NOT_HELD` when it is needed and free), mode (`MODE_FORBIDDEN`), e-stop
 * (`ESTOP_LATCHED`). Returns null when the message may be acted on. Pure; allocates only a denial.
 */
export function authorize(type: AuthorityMessage, ctx: AuthorityContext): AuthorityDenial | null {
  const rule = AUTHORITY[type];
  if (!rule.roles.includes(ctx.role)) {
    if (ctx.role === 'none') return { code: 'AUTH_REQUIRED', message: `control: send hello before ${type}` };
    if (type === 'hello') return { code: 'AUTH_ALREADY', message: 'control: hello was already accepted on this connection' };
    return { code: 'ROLE_FORBIDDEN', message: `control: a ${ctx.role} may not send ${type} (allowed: ${rule.roles.join(', ')})` };
  }
  switch (rule.lease) {
    case 'holder':
      if (!ctx.holds) {
        return ctx.leaseHeld
          ? { code: 'LEASE_HELD', message: `control: ${ctx.holder} holds the control lease; ${type} needs it (lease_request with takeover: true takes it)` }
          : { code: 'LEASE_NOT_HELD', message: `control: ${type} needs the control lease; send lease_request first` };
      }
      break;
    case 'claim':
      if (!ctx.holds && ctx.leaseHeld) {
        return { code: 'LEASE_HELD', message: `control: ${ctx.holder} holds the control lease; send lease_request with takeover: true to take it` };
      }
      break;
    case 'held':
      if (!ctx.leaseHeld) return { code: 'LEASE_NOT_HELD', message: `control: ${type} acts under an operator's control lease, and no one holds it` };
      break;
    case 'none':
      break;
  }
  if (!rule.modes.includes(ctx.mode)) {
    return { code: 'MODE_FORBIDDEN', message: `control: ${type} is allowed in ${rule.modes.join(', ')} mode (mode is ${ctx.mode})` };
  }
  if (ctx.estop && !rule.whileEstop) return { code: 'ESTOP_LATCHED', message: `control: the e-stop is latched; ${type} is refused until reset_estop` };
  return null;
}

const LEASE_TEXT: Readonly<Record<LeaseRule, string>> = {
  none: '—',
  holder: 'holder',
  claim: 'holder, or claims a free one',
  held: 'an operator holds it',
};

/** The table as Markdown, as printed in `docs/protocol.md`. */
export function authorityTableMarkdown(): string {
  const lines = [
    '| message | roles | lease | modes | while e-stop | rate limited | note |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const type of AUTHORITY_MESSAGES) {
    const r = AUTHORITY[type];
    const modes = r.modes.length === ALL_MODES.length ? 'all' : r.modes.join(', ');
    const roles = r.roles.map((x) => (x === 'none' ? 'before hello' : x)).join(', ');
    const name = type === 'hand_frame' ? 'HAND_FRAME (binary 1)' : type === 'action_chunk' ? 'ACTION_CHUNK (binary 3)' : `\`${type}\``;
    lines.push(`| ${name} | ${roles} | ${LEASE_TEXT[r.lease]} | ${modes} | ${r.whileEstop ? 'yes' : 'no'} | ${r.rateLimited ? 'yes' : 'no'} | ${r.note} |`);
  }
  return `${lines.join('\n')}\n`;
}
