import { networkInterfaces } from 'node:os';

/** Non-internal IPv4 addresses of this machine (for the URL the Quest opens on the LAN). */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/** Whether `host` binds beyond loopback (so LAN URLs make sense). */
export function bindsBeyondLoopback(host: string): boolean {
  return !(host === 'localhost' || host === '::1' || host.startsWith('127.'));
}
