/**
 * Regenerates the authority table in docs/protocol.md from `control/authority.ts`, so the docs
 * print exactly what the server enforces.
 *
 *   node --import tsx server/scripts/authority-doc.ts          # rewrite the table in place
 *   node --import tsx server/scripts/authority-doc.ts --check  # exit 1 if the table is stale
 *
 * Only the text between the two markers is generated; the prose around it is hand-written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { authorityTableMarkdown } from '../src/control/authority.js';

const DOC = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));
const BEGIN = '<!-- authority-table:begin (generated from server/src/control/authority.ts; do not edit) -->';
const END = '<!-- authority-table:end -->';

const doc = readFileSync(DOC, 'utf8');
const i = doc.indexOf(BEGIN);
const j = doc.indexOf(END);
if (i < 0 || j < i) {
  console.error(`authority-doc: markers not found in ${DOC}`);
  process.exit(1);
}
const next = `${doc.slice(0, i + BEGIN.length)}\n${authorityTableMarkdown()}${doc.slice(j)}`;
if (process.argv.includes('--check')) {
  if (next !== doc) {
    console.error('authority-doc: docs/protocol.md is stale; run node --import tsx server/scripts/authority-doc.ts');
    process.exit(1);
  }
} else if (next !== doc) {
  writeFileSync(DOC, next);
}
