/**
 * The Host allow-list, checked before Origin on every HTTP request and WebSocket upgrade. A DNS
 * rebinding page controls both its Origin and the Host its browser sends (`evil.example:8080`,
 * resolving to this machine), so comparing the two proves nothing; the Host must name this
 * server: a loopback name, an address it is bound to (every interface address when bound to
 * 0.0.0.0 / ::), or a name given with `--allow-host`.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

/** The host name of a `Host` header value, lower case, without port or IPv6 brackets; undefined if malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return h.slice(1, end);
  }
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : undefined;
}

/** Every address of this machine's interfaces (IPv4 and IPv6, loopback included). */
function interfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address.toLowerCase().replace(/%.*$/, ''));
  return out;
}

export class HostAllowList {
  readonly #names: Set<string>;
  readonly #anyInterface: boolean;

  /**
   * @param boundHost the address the server listens on (`127.0.0.1`, `0.0.0.0`, a LAN address, …)
   * @param extraNames more host names or addresses to accept (`--allow-host`), e.g. `robot-pc.lab`
   */
  constructor(boundHost: string, extraNames: readonly string[] = []) {
    for (const n of extraNames) {
      if (typeof n !== 'string' || hostName(n) === undefined || n.includes('/')) throw new RangeError(`HostAllowList: "${String(n)}" is not a host name or address`);
    }
    const bound = boundHost.toLowerCase();
    this.#anyInterface = bound === '0.0.0.0' || bound === '::';
    this.#names = new Set([...LOOPBACK_NAMES, ...(this.#anyInterface ? [] : [bound]), ...extraNames.map((n) => hostName(n)!)]);
  }

  /** Whether a request with this `Host` header may be served. A missing header (HTTP/1.0) is allowed: browsers always send one. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return true;
    const name = hostName(header);
    if (name === undefined) return false;
    if (this.#names.has(name) || name.endsWith('.localhost')) return true;
    // Bound to every interface: any address of this machine (interfaces may change while running).
    return this.#anyInterface && isIP(name) !== 0 && interfaceAddresses().includes(name);
  }
}
