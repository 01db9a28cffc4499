/**
 * Admission of connections that have not proven who they are yet: every TCP connection (HTTP or
 * WebSocket) is "pending" from accept until its WebSocket `hello` is accepted (or it closes). The
 * pending connections are capped in total and per remote address; a new connection over a cap
 * evicts one pending connection of that address (or, for the total cap, of all): the oldest that
 * has not yet sent a complete request, else the oldest not serving a request, else the oldest.
 * Eviction waits `graceMs` after the cap is crossed (a sweep), so a newcomer's request, sent within
 * a round trip of connecting, is read even while the server is busy: an attacker holding idle
 * sockets, even reopening them as fast as they are dropped, can never keep a dashboard out that
 * connects and says hello at once (with a valid token, or to send an e-stop), because idle sockets
 * go first. The timed sweep itself waits for the event loop's next check phase (`setImmediate`),
 * after its poll phase: a socket whose request already sits in the kernel is read, and marked as
 * progressed, before the sweep picks — on a loaded machine a timer can fire before bytes that
 * arrived in time are read, and the newcomer was then taken for an idle socket. Beyond 4 × the caps
 * the oldest are evicted in the same turn of the loop (its check phase, after the poll phase that
 * accepted them) down to 4 × the caps, so descriptors stay bounded by 4 × the caps plus one batch
 * of accepts (at most the listen backlog). Connections that said hello do not count.
 */

/** One pending connection. */
export interface Admittee {
  /** Remote address (IP) the caps group by. */
  readonly address: string;
  /** Closes it now (the server replaces this when the socket becomes a WebSocket). */
  evict: () => void;
  /** An HTTP request is being served on it (evicted only when no idle one is left). */
  busy: boolean;
  /** It sent a complete HTTP request or WebSocket upgrade (evicted after those that did not). */
  progressed: boolean;
}

export interface AdmissionOptions {
  /** Most pending connections in all. Default 128. */
  readonly maxPending?: number;
  /** Most pending connections from one remote address. Default 32. */
  readonly maxPendingPerAddress?: number;
  /** How long after a cap is crossed the eviction sweep runs, ms; 0 evicts at once. Default 100. */
  readonly graceMs?: number;
}

/** Counters of an {@link Admission}. */
export interface AdmissionStats {
  readonly pending: number;
  /** Connections closed to make room, since start. */
  readonly evicted: number;
}

export class Admission {
  readonly #maxPending: number;
  readonly #maxPerAddress: number;
  readonly #graceMs: number;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepImmediate: ReturnType<typeof setImmediate> | undefined;
  #trimImmediate: ReturnType<typeof setImmediate> | undefined;
  /** In arrival order: the first is the oldest. */
  readonly #pending = new Set<Admittee>();
  readonly #perAddress = new Map<string, Set<Admittee>>();
  #evicted = 0;

  constructor(options: AdmissionOptions = {}) {
    const o = { maxPending: 128, maxPendingPerAddress: 32, graceMs: 100, ...options };
    for (const k of ['maxPending', 'maxPendingPerAddress'] as const) {
      if (!(Number.isInteger(o[k]) && o[k] > 0)) throw new RangeError(`Admission: ${k} must be a positive integer, got ${String(o[k])}`);
    }
    if (!(Number.isFinite(o.graceMs) && o.graceMs >= 0)) throw new RangeError(`Admission: graceMs must be a finite number ≥ 0, got ${String(o.graceMs)}`);
    this.#maxPending = o.maxPending;
    this.#maxPerAddress = o.maxPendingPerAddress;
    this.#graceMs = o.graceMs;
  }

  get stats(): AdmissionStats {
    return { pending: this.#pending.size, evicted: this.#evicted };
  }

  /** Registers a new connection as pending; over a cap, a sweep evicts older ones (see the class). */
  admit(a: Admittee): void {
    const same = this.#perAddress.get(a.address) ?? new Set<Admittee>();
    this.#perAddress.set(a.address, same);
    same.add(a);
    this.#pending.add(a);
    if (same.size <= this.#maxPerAddress && this.#pending.size <= this.#maxPending) return;
    if (this.#graceMs === 0) {
      this.sweep();
      return;
    }
    // Descriptors stay bounded: beyond 4 × a cap, the oldest go at the end of this turn of the event
    // loop (check phase), down to 4 × the cap, once the poll phase that accepted this burst has also
    // read what newcomers sent: a burst of an attacker's accepts does not take a newcomer whose
    // request arrived with it. The sweep below brings it down to the caps after the grace.
    if ((same.size > 4 * this.#maxPerAddress || this.#pending.size > 4 * this.#maxPending) && this.#trimImmediate === undefined) {
      this.#trimImmediate = setImmediate(() => {
        this.#trimImmediate = undefined;
        this.#trim(4);
      });
    }
    if (this.#sweepTimer === undefined && this.#sweepImmediate === undefined) {
      this.#sweepTimer = setTimeout(() => {
        this.#sweepTimer = undefined;
        this.#sweepImmediate = setImmediate(() => this.sweep());
        this.#sweepImmediate.unref?.();
      }, this.#graceMs);
      (this.#sweepTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Evicts pending connections until every cap holds (runs by itself; public for tests). */
  sweep(): void {
    this.close();
    this.#trim(1);
  }

  /** Evicts the oldest pending connections until there are at most `factor` × each cap. */
  #trim(factor: number): void {
    for (const same of [...this.#perAddress.values()]) while (same.size > factor * this.#maxPerAddress) this.#evictOldest(same);
    while (this.#pending.size > factor * this.#maxPending) this.#evictOldest(this.#pending);
  }

  /** Stops the sweep timer (the server is closing). */
  close(): void {
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    if (this.#sweepImmediate !== undefined) clearImmediate(this.#sweepImmediate);
    if (this.#trimImmediate !== undefined) clearImmediate(this.#trimImmediate);
    this.#sweepTimer = undefined;
    this.#sweepImmediate = undefined;
    this.#trimImmediate = undefined;
  }

  /** It said hello (or closed): it no longer counts. Safe to call more than once. */
  settle(a: Admittee): void {
    if (!this.#pending.delete(a)) return;
    const same = this.#perAddress.get(a.address);
    same?.delete(a);
    if (same?.size === 0) this.#perAddress.delete(a.address);
  }

  /** Whether `a` is still pending. */
  isPending(a: Admittee): boolean {
    return this.#pending.has(a);
  }

  #evictOldest(from: Set<Admittee>): void {
    let silent: Admittee | undefined;
    let idle: Admittee | undefined;
    for (const a of from) {
      if (!a.progressed && !a.busy) {
        silent = a;
        break;
      }
      if (!a.busy) idle ??= a;
    }
    const victim = silent ?? idle ?? from.values().next().value;
    if (victim === undefined) return;
    this.settle(victim);
    this.#evicted++;
    victim.evict();
  }
}
