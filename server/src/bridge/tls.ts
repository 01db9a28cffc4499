import { readFile } from 'node:fs/promises';
import { generate } from 'selfsigned';
import { lanAddresses } from './network.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Where it came from: 'files' or 'generated'. */
  readonly source: 'files' | 'generated';
}

/** Reads a certificate and key (PEM files) for HTTPS/WSS. */
export async function loadTls(certPath: string, keyPath: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { cert, key, source: 'files' };
}

/**
 * A self-signed certificate for LAN use (the Quest Browser needs a secure context), valid for
 * localhost, 127.0.0.1, this machine's LAN addresses and any extra host names, for 30 days.
 * The operator accepts it once in the Quest Browser (docs/quest.md).
 */
export async function generateTls(extraHosts: readonly string[] = []): Promise<TlsMaterial> {
  const ips = ['127.0.0.1', ...lanAddresses(), ...extraHosts.filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h))];
  const dns = ['localhost', ...extraHosts.filter((h) => !/^\d+\.\d+\.\d+\.\d+$/.test(h))];
  const notAfter = new Date(Date.now() + 30 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: 'dexbridge' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  return { cert: pems.cert, key: pems.private, source: 'generated' };
}
