/**
 * One connection's outgoing budget: every message the server sends to a client goes through it,
 * so no kind of message can grow the server's memory without bound when a client stops reading.
 *
 * Policy (docs/reliability.md, "Outgoing budget"):
 * - latest wins for state-like streams (ROBOT_STATE, HAND_TRACKING, chunk echoes, status, pong):
 *   such a message is skipped while more than its threshold is unsent (`latestBytes`; the server
 *   gives status twice that); the next one carries the news. Pongs use the state threshold:
 *   behind 64 KiB of queue a round-trip time means nothing.
 * - replies and events (welcome, event) are queued while the connection is within `budgetBytes`,
 *   and dropped (counted) beyond it;
 * - errors are coalesced: an error is not queued while more than `latestBytes` are unsent (the
 *   client is not reading them), nor beyond `errorsPerSecond`; such errors are counted and the
 *   next error that goes out says how many were not sent;
 * - camera frames (large, many per second) only go out when they fit under `latestBytes` on top
 *   of what is unsent, or onto an empty queue: so a camera never makes a robot state be skipped,
 *   and a state queues behind at most `latestBytes` of pictures ({@link camera}); for a codec
 *   whose frames build on the ones before (H.264), a connection that did not get a frame gets
 *   none of that camera until its next key frame, nor does one that just subscribed (a delta
 *   frame without its predecessors decodes to garbage or not at all);
 * - a connection that stays over `budgetBytes` for `overBudgetCloseMs` is to be closed (the
 *   server asks {@link shouldClose} every status tick).
 */

/** The part of a WebSocket the budget needs (tests pass a fake). */
export interface OutgoingSocket {
  /** Bytes queued in the server and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
}

export interface OutgoingBudgetOptions {
  /** Latest-wins messages are skipped while more than this many bytes are unsent. Default 65536. */
  readonly latestBytes?: number;
  /** Nothing but latest-wins messages is queued beyond this many unsent bytes. Default 256 KiB. */
  readonly budgetBytes?: number;
  /** Error messages per second that go out (burst of the same size). Default 300 (the server passes its message rate limit). */
  readonly errorsPerSecond?: number;
  /** Close a connection that stays over `budgetBytes` this long, ms. Default 10000. */
  readonly overBudgetCloseMs?: number;
}

export type ResolvedOutgoingOptions = Required<OutgoingBudgetOptions>;

/** Defaults, then the caller's; a RangeError names the bad option. */
export function resolveOutgoingOptions(o: OutgoingBudgetOptions = {}): ResolvedOutgoingOptions {
  const r: ResolvedOutgoingOptions = { latestBytes: 65536, budgetBytes: 256 * 1024, errorsPerSecond: 300, overBudgetCloseMs: 10_000, ...o };
  for (const [k, v] of Object.entries(r)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`OutgoingBudget: ${k} must be a positive number, got ${String(v)}`);
  }
  if (r.budgetBytes < r.latestBytes) throw new RangeError(`OutgoingBudget: budgetBytes (${r.budgetBytes}) must be at least latestBytes (${r.latestBytes})`);
  return r;
}

/** Counters of one connection's budget. */
export interface OutgoingStats {
  /** Latest-wins messages skipped (a newer one replaces them). */
  readonly skippedLatest: number;
  /** Replies and events dropped over budget. */
  readonly droppedOverBudget: number;
  /** Errors not sent (coalesced or over budget). */
  readonly suppressedErrors: number;
  /** Camera frames skipped because the queue had no room for them. */
  readonly skippedCamera: number;
  /** H.264 delta frames not sent because the connection waits for its camera's next key frame. */
  readonly skippedAwaitingKeyFrame: number;
}

export class OutgoingBudget {
  readonly #socket: OutgoingSocket;
  readonly #o: ResolvedOutgoingOptions;
  #errorTokens: number;
  #errorRefillMs: number;
  #pendingSuppressed = 0;
  #overSinceMs = Number.NaN;
  #skippedLatest = 0;
  #droppedOverBudget = 0;
  #suppressedErrors = 0;
  #skippedCamera = 0;
  #skippedAwaitingKey = 0;
  /** Cameras whose next frame sent must be a key frame (new subscription, or a frame was skipped). */
  readonly #awaitingKey = new Set<string>();

  /** @param nowMs the current time on the caller's clock (ms); later calls use the same clock. */
  constructor(socket: OutgoingSocket, options: ResolvedOutgoingOptions, nowMs: number) {
    this.#socket = socket;
    this.#o = options;
    this.#errorTokens = options.errorsPerSecond;
    this.#errorRefillMs = nowMs;
  }

  get stats(): OutgoingStats {
    return { skippedLatest: this.#skippedLatest, droppedOverBudget: this.#droppedOverBudget, suppressedErrors: this.#suppressedErrors, skippedCamera: this.#skippedCamera, skippedAwaitingKeyFrame: this.#skippedAwaitingKey };
  }

  /**
   * A latest-wins message (state, tracking, status, pong): sent unless more than `thresholdBytes`
   * (default `latestBytes`) are unsent. Returns whether it went out.
   */
  latest(data: string | Uint8Array, thresholdBytes: number = this.#o.latestBytes): boolean {
    if (this.#socket.bufferedAmount > thresholdBytes) {
      this.#skippedLatest++;
      return false;
    }
    this.#socket.send(data);
    return true;
  }

  /**
   * A camera frame (latest wins per camera: the caller sends the newest frame, and a skipped one is
   * replaced by the next): sent when it fits under `latestBytes` together with what is unsent, or
   * when nothing is unsent (a frame larger than `latestBytes` goes only onto an empty queue).
   * Returns whether it went out.
   *
   * `inter` describes a frame of a codec with inter-frame prediction (H.264): its camera and
   * whether it is a key frame. Such a camera's frames go out only from a key frame on after
   * {@link awaitKeyFrame} or after one of its frames was skipped here: a key frame is sent when it
   * fits, and the delta frames after it; once one is skipped, the rest wait for the next key frame.
   */
  camera(data: Uint8Array, inter?: { readonly cameraId: string; readonly keyFrame: boolean }): boolean {
    if (inter !== undefined && !inter.keyFrame && this.#awaitingKey.has(inter.cameraId)) {
      this.#skippedAwaitingKey++;
      return false;
    }
    const buffered = this.#socket.bufferedAmount;
    if (buffered > 0 && buffered + data.byteLength > this.#o.latestBytes) {
      this.#skippedCamera++;
      if (inter !== undefined) this.#awaitingKey.add(inter.cameraId);
      return false;
    }
    this.#socket.send(data);
    if (inter !== undefined) this.#awaitingKey.delete(inter.cameraId);
    return true;
  }

  /** The next frame of `cameraId` this connection is sent must be a key frame (it has just subscribed). */
  awaitKeyFrame(cameraId: string): void {
    this.#awaitingKey.add(cameraId);
  }

  /** A reply or event: sent while within `budgetBytes`, else dropped. Returns whether it went out. */
  reliable(data: string | Uint8Array, nowMs: number): boolean {
    if (!this.#within(nowMs)) {
      this.#droppedOverBudget++;
      return false;
    }
    this.#socket.send(data);
    return true;
  }

  /**
   * An error: coalesced to `errorsPerSecond`. `build(suppressed)` makes the text, told how many
   * errors were not sent since the last one that was; it is only called when the error goes out.
   */
  error(build: (suppressed: number) => string, nowMs: number): boolean {
    const rate = this.#o.errorsPerSecond;
    this.#errorTokens = Math.min(rate, this.#errorTokens + ((nowMs - this.#errorRefillMs) * rate) / 1000);
    this.#errorRefillMs = nowMs;
    if (this.#errorTokens < 1 || this.#socket.bufferedAmount > this.#o.latestBytes) {
      this.#pendingSuppressed++;
      this.#suppressedErrors++;
      return false;
    }
    this.#errorTokens -= 1;
    const text = build(this.#pendingSuppressed);
    this.#pendingSuppressed = 0;
    this.#socket.send(text);
    return true;
  }

  /** Whether the connection has stayed over `budgetBytes` for `overBudgetCloseMs` (then close it). */
  shouldClose(nowMs: number): boolean {
    if (this.#within(nowMs)) return false;
    return nowMs - this.#overSinceMs >= this.#o.overBudgetCloseMs;
  }

  #within(nowMs: number): boolean {
    if (this.#socket.bufferedAmount <= this.#o.budgetBytes) {
      this.#overSinceMs = Number.NaN;
      return true;
    }
    if (Number.isNaN(this.#overSinceMs)) this.#overSinceMs = nowMs;
    return false;
  }
}
