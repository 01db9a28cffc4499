/**
 * The browser for the client's tests and benchmark: Debian's Chromium (`apt-get install -y chromium`, as .ci/run
 * does), driven by playwright-core, with SwiftShader for WebGL (no GPU here). Flags: docs/client.md.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env['DEXBRIDGE_CHROMIUM'] ?? '/usr/bin/chromium';

export function chromiumArgs(): string[] {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`dexbridge: no Chromium at ${CHROMIUM}; install it with 'apt-get install -y chromium' (or set DEXBRIDGE_CHROMIUM)`);
  }
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--enable-unsafe-swiftshader',
    '--use-angle=swiftshader',
  ];
}
