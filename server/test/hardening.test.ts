/**
 * The per-connection mechanisms of issue 10 on their own, with fake sockets and an injected
 * clock: the outgoing budget, the admission of pending connections and the Host allow-list.
 */
import { describe, expect, it, vi } from 'vitest';
import { Admission, type Admittee } from '../src/bridge/Admission.js';
import { HostAllowList, hostName } from '../src/bridge/HostAllowList.js';
import { OutgoingBudget, resolveOutgoingOptions } from '../src/bridge/OutgoingBudget.js';
import { byteRange } from '../src/bridge/http.js';

/** A socket that never drains: every send stays buffered. */
class DeafSocket {
  bufferedAmount = 0;
  sent: (string | Uint8Array)[] = [];
  send(data: string | Uint8Array): void {
    this.bufferedAmount += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.sent.push(data);
  }
}

const options = resolveOutgoingOptions({ latestBytes: 1000, budgetBytes: 10_000, errorsPerSecond: 5, overBudgetCloseMs: 2000 });

describe('OutgoingBudget', () => {
  it('skips latest-wins messages beyond latestBytes', () => {
    const s = new DeafSocket();
    const b = new OutgoingBudget(s, options, 0);
    for (let i = 0; i < 100; i++) b.latest('x'.repeat(100));
    expect(s.bufferedAmount).toBeLessThanOrEqual(1000 + 100);
    expect(b.stats.skippedLatest).toBe(100 - s.sent.length);
  });

  it('queues replies and events up to budgetBytes only', () => {
    const s = new DeafSocket();
    const b = new OutgoingBudget(s, options, 0);
    for (let i = 0; i < 1000; i++) b.reliable('y'.repeat(100), i);
    expect(s.bufferedAmount).toBeLessThanOrEqual(10_000 + 100);
    expect(b.stats.droppedOverBudget).toBeGreaterThan(0);
  });

  it('coalesces errors to errorsPerSecond and tells how many were not sent', () => {
    const s = new DeafSocket();
    const b = new OutgoingBudget(s, options, 0);
    for (let i = 0; i < 50; i++) b.error((n) => `e${n}`, 0);
    expect(s.sent).toEqual(['e0', 'e0', 'e0', 'e0', 'e0']);
    b.error((n) => `e${n}`, 1000);
    expect(s.sent.at(-1)).toBe('e45');
  });

  it('does not queue errors for a client that does not read them', () => {
    const s = new DeafSocket();
    s.bufferedAmount = 1001;
    const b = new OutgoingBudget(s, options, 0);
    expect(b.error(() => 'e', 0)).toBe(false);
    expect(b.stats.suppressedErrors).toBe(1);
  });

  it('asks to close a connection that stays over budget for overBudgetCloseMs', () => {
    const s = new DeafSocket();
    const b = new OutgoingBudget(s, options, 0);
    s.bufferedAmount = 20_000;
    expect(b.shouldClose(0)).toBe(false);
    expect(b.shouldClose(1999)).toBe(false);
    expect(b.shouldClose(2000)).toBe(true);
    s.bufferedAmount = 0;
    expect(b.shouldClose(2500)).toBe(false);
  });

  it('names a bad option', () => {
    expect(() => resolveOutgoingOptions({ budgetBytes: -1 })).toThrow(/budgetBytes/);
    expect(() => resolveOutgoingOptions({ latestBytes: 100, budgetBytes: 10 })).toThrow(/budgetBytes/);
  });
});

const admittee = (address: string, log: string[], name: string, progressed = false): Admittee => ({ address, busy: false, progressed, evict: () => log.push(name) });

describe('Admission', () => {
  it('evicts the oldest pending connection of an address over its cap', () => {
    const log: string[] = [];
    const a = new Admission({ maxPending: 100, maxPendingPerAddress: 2, graceMs: 0 });
    a.admit(admittee('1.1.1.1', log, 'a1'));
    a.admit(admittee('1.1.1.1', log, 'a2'));
    a.admit(admittee('2.2.2.2', log, 'b1'));
    a.admit(admittee('1.1.1.1', log, 'a3'));
    expect(log).toEqual(['a1']);
    expect(a.stats).toEqual({ pending: 3, evicted: 1 });
  });

  it('evicts the oldest of all over the total cap, sparing busy ones', () => {
    const log: string[] = [];
    const a = new Admission({ maxPending: 2, maxPendingPerAddress: 10, graceMs: 0 });
    const first = admittee('1.1.1.1', log, 'first');
    first.busy = true;
    a.admit(first);
    a.admit(admittee('2.2.2.2', log, 'second'));
    a.admit(admittee('3.3.3.3', log, 'third'));
    expect(log).toEqual(['second']);
  });

  it('evicts silent connections before one that sent its request', () => {
    const log: string[] = [];
    const a = new Admission({ maxPending: 100, maxPendingPerAddress: 2, graceMs: 0 });
    a.admit(admittee('1.1.1.1', log, 'dashboard', true));
    a.admit(admittee('1.1.1.1', log, 'idle1'));
    a.admit(admittee('1.1.1.1', log, 'idle2'));
    a.admit(admittee('1.1.1.1', log, 'idle3'));
    expect(log).toEqual(['idle1', 'idle2']);
  });

  it('waits graceMs before evicting, so a newcomer can send its request first', () => {
    const log: string[] = [];
    const a = new Admission({ maxPending: 100, maxPendingPerAddress: 1, graceMs: 60_000 });
    a.admit(admittee('1.1.1.1', log, 'idle'));
    const dashboard = admittee('1.1.1.1', log, 'dashboard');
    a.admit(dashboard);
    expect(log).toEqual([]);
    dashboard.progressed = true;
    a.sweep();
    expect(log).toEqual(['idle']);
    a.close();
  });

  it('sweeps only after the I/O that was due when the grace ran out: a request read late on a busy loop still counts', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    try {
      const log: string[] = [];
      const a = new Admission({ maxPending: 100, maxPendingPerAddress: 1, graceMs: 100 });
      const dashboard = admittee('1.1.1.1', log, 'dashboard');
      a.admit(dashboard); // the oldest: taken first if it still looked idle at the sweep
      a.admit(admittee('1.1.1.1', log, 'idle'));
      vi.advanceTimersToNextTimer(); // the grace timer fires…
      expect(log).toEqual([]);
      dashboard.progressed = true; // …then the poll phase reads the dashboard's upgrade request
      vi.advanceTimersToNextTimer(); // the sweep, in the check phase
      expect(log).toEqual(['idle']);
      a.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('beyond 4 × the cap, trims the oldest in the same turn of the loop, after that turn has read what newcomers sent', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    try {
      const log: string[] = [];
      const a = new Admission({ maxPending: 100, maxPendingPerAddress: 1, graceMs: 60_000 });
      const dashboard = admittee('1.1.1.1', log, 'dashboard');
      a.admit(dashboard);
      for (let i = 0; i < 6; i++) a.admit(admittee('1.1.1.1', log, `idle${i}`)); // a burst, accepted in one poll phase
      expect(log).toEqual([]);
      dashboard.progressed = true; // read in the same poll phase
      vi.advanceTimersToNextTimer(); // the check phase: down to 4 × 1
      expect(log).toEqual(['idle0', 'idle1', 'idle2']);
      expect(a.stats.pending).toBe(4);
      vi.advanceTimersToNextTimer(); // the grace ends
      vi.advanceTimersToNextTimer(); // and its sweep: down to the cap, the dashboard kept
      expect(log).toEqual(['idle0', 'idle1', 'idle2', 'idle3', 'idle4', 'idle5']);
      expect(a.isPending(dashboard)).toBe(true);
      a.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('no longer counts a connection that said hello', () => {
    const log: string[] = [];
    const a = new Admission({ maxPending: 1, maxPendingPerAddress: 1, graceMs: 0 });
    const x = admittee('1.1.1.1', log, 'x');
    a.admit(x);
    a.settle(x);
    a.admit(admittee('1.1.1.1', log, 'y'));
    expect(log).toEqual([]);
    expect(a.isPending(x)).toBe(false);
  });
});

describe('HostAllowList', () => {
  it('parses Host headers with ports and IPv6 brackets', () => {
    expect(hostName('Example.Lab:8080')).toBe('example.lab');
    expect(hostName('[::1]:80')).toBe('::1');
    expect(hostName('a:b:c')).toBeUndefined();
  });

  it('allows loopback names and the bound address, refuses others', () => {
    const h = new HostAllowList('10.1.2.3', ['robot-pc.lab']);
    for (const ok of ['localhost:8080', '127.0.0.1', '[::1]:1', '10.1.2.3:8443', 'robot-pc.lab', 'app.localhost']) expect(h.allows(ok), ok).toBe(true);
    for (const bad of ['evil.example', '10.1.2.4', 'robot-pc.lab.evil.example', '']) expect(h.allows(bad), bad).toBe(false);
  });

  it('refuses a bad allowed-host option', () => {
    expect(() => new HostAllowList('127.0.0.1', ['http://x/'])).toThrow(RangeError);
  });
});

describe('byteRange', () => {
  it('reads one range of bytes, clamped to the file; ignores what it need not honour; says when it cannot be satisfied', () => {
    expect(byteRange(undefined, 100)).toBeUndefined();
    expect(byteRange('bytes=0-9', 100)).toEqual([0, 9]);
    expect(byteRange('bytes=90-', 100)).toEqual([90, 99]);
    expect(byteRange('bytes=90-500', 100)).toEqual([90, 99]);
    expect(byteRange('bytes=-10', 100)).toEqual([90, 99]);
    expect(byteRange('bytes=-500', 100)).toEqual([0, 99]);
    expect(byteRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(byteRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(byteRange('bytes=0-1,5-6', 100)).toBeUndefined(); // several ranges: the whole file
    expect(byteRange('items=0-1', 100)).toBeUndefined();
    expect(byteRange('bytes=9-1', 100)).toBeUndefined();
  });
});
