import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// Sibling packages resolve to their TypeScript sources, so tests never need a build first.
const alias = [
  { find: /^@dexbridge\/server\/protocol$/, replacement: here('./server/src/protocol/index.ts') },
  { find: /^@dexbridge\/(urdf|retarget|server)$/, replacement: here('./$1/src/index.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    // Deadlines only bound a failure: generous, so that a busy machine is slow, never red.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Vitest's default on a 2-core machine is one worker, and many end-to-end tests mostly wait on
    // sockets, timers and Chromium: three files at a time keep both cores busy (with two, a quarter
    // of the run's CPU time stood idle). The browser files run beside the others, from the start.
    maxWorkers: 3,
    // A worker keeps the modules it imported from one test file to the next: importing the server,
    // retargeting and URDF sources again for each of ~60 files took about a third of the non-browser
    // time. The files share no state: each starts its own servers, folders and clients, and puts back
    // what it changes (fake timers, spies, globalThis.fetch).
    isolate: false,
    projects: [
      { extends: true, test: { name: 'urdf', root: here('./urdf'), include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'retarget', root: here('./retarget'), include: ['test/**/*.test.ts'], exclude: ['test/allocation.test.ts'] } },
      // The allocation test measures the heap of its own process: it runs in a fresh one, where no
      // earlier file's servers or children still allocate in the background (they did: 34 KB a frame).
      { extends: true, test: { name: 'retarget-alloc', root: here('./retarget'), include: ['test/allocation.test.ts'], isolate: true } },
      { extends: true, test: { name: 'server', root: here('./server'), include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'cross', root: here('./test'), include: ['**/*.test.ts'], exclude: ['browser/**', '**/node_modules/**'] } },
      { extends: true, test: { name: 'client', root: here('./client'), include: ['test/**/*.test.{ts,tsx}'] } },
      // Chromium draws WebGL in software: its windows draw at 20 Hz without MSAA (support.ts), so
      // both browser files run beside the rest instead of alone at the end.
      {
        extends: true,
        test: { name: 'browser', root: here('./test/browser'), include: ['**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 },
      },
    ],
  },
});
