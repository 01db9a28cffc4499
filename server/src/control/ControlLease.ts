/**
 * The control lease (after ros2_control's resource manager): one owner claims the robot at a
 * time — a connection, or an internal source such as the demo — and the authority table says
 * which messages need the claim. Losing the holder holds the robot until the next engage; every
 * change is a `lease` event that says whether it was a takeover.
 */
import type { ControlLoop } from './ControlLoop.js';

/** What the lease needs of a connection. */
export interface LeaseSession {
  readonly name: string;
}

type Holder<S> = { readonly kind: 'session'; readonly session: S } | { readonly kind: 'internal'; readonly name: string } | null;

export class ControlLease<S extends LeaseSession> {
  private current: Holder<S> = null;

  constructor(private readonly loop: ControlLoop) {}

  /** The holder's name, or null. */
  holder(): string | null {
    const h = this.current;
    return h === null ? null : h.kind === 'internal' ? h.name : h.session.name;
  }

  /** Whether anyone holds the lease. */
  held(): boolean {
    return this.current !== null;
  }

  /** Whether connection `s` holds the lease. */
  holds(s: S): boolean {
    return this.current?.kind === 'session' && this.current.session === s;
  }

  /** `s` takes the lease; `takeover` when someone else held it (they lose it, and the robot holds). */
  claim(s: S): void {
    if (this.holds(s)) return;
    this.set({ kind: 'session', session: s }, this.current !== null);
  }

  /** An internal source (the demo) takes the lease as if an operator held it. */
  takeInternal(name: string): void {
    this.set({ kind: 'internal', name }, this.current !== null);
  }

  /** Frees the lease if the internal source `name` holds it. */
  releaseInternal(name: string): void {
    if (this.current?.kind === 'internal' && this.current.name === name) this.set(null, false, 'released');
  }

  /** The holder gives the lease up (`reason`: `released`, `disconnect`). */
  release(reason: string): void {
    if (this.current !== null) this.set(null, false, reason);
  }

  /** Connection `s` is gone: if it held the lease, the lease is free and the robot holds. */
  lost(s: S): void {
    if (this.holds(s)) this.set(null, false, 'disconnect');
  }

  private set(next: Holder<S>, takeover: boolean, reason?: string): void {
    const prev = this.holder();
    this.current = next;
    const now = this.holder();
    // Losing the operator holds the robot at once; it moves again only after a new engage.
    if (next === null || takeover) this.loop.operatorLost(reason ?? 'takeover');
    this.loop.resetOperatorClock();
    if (next !== null && this.loop.mode === 'idle') this.loop.setMode('teleop', now ?? 'lease');
    this.loop.emit('lease', { holder: now, previous: prev, takeover, ...(reason ? { reason } : {}) });
  }
}
