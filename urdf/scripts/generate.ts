// Writes urdf/robots/*.urdf from the rig spec. Run: npm run urdf:generate
import { mkdirSync, writeFileSync } from 'node:fs';
import { allUrdfFiles } from '../src/rig/buildRig.js';

const dir = new URL('../robots/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(allUrdfFiles())) {
  writeFileSync(new URL(name, dir), text);
  console.log(`wrote urdf/robots/${name} (${text.length} bytes)`);
}
