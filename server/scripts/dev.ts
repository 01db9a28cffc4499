// `npm run dev`: the bridge from the TypeScript sources, restarted on every change (node --watch).
// Arguments go to `dexbridge serve`; the root script adds --demo so there is something to see.
import { main } from '../src/cli/main.js';

process.exitCode = await main(['serve', ...process.argv.slice(2)]);
