/** Who holds the control lease, as both views say it. */

/** The lease holder name of the server's demo operator (`serve --demo`). */
export const DEMO = 'demo';
/** What taking the lease from the demo does: the server stops the demo for good (it does not resume when released). */
export const DEMO_HANDOFF = 'The demo holds the lease: taking it over ends the demo until the server restarts.';

/** Whether `holder` (a lease holder's name, from `status.lease.holder`) is this connection. */
export function holdsLease(holder: string | null | undefined, ownName: string, sessionId: string | undefined): boolean {
  return holder != null && (holder === ownName || holder === sessionId);
}
