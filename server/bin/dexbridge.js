#!/usr/bin/env node
// Runs the built CLI. `npm install` (its prepare step) and `npm start` build it first.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('dexbridge: the CLI is not built yet; run `npm run build` at the repository root\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
