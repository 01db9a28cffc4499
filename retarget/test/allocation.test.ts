/**
 * `Retargeter.process` allocates (almost) nothing once warm: garbage made per frame is what the
 * collector later stops a frame for, the frame-time tail. Before, a frame allocated about 47 KB
 * (a double passed to or returned from a call V8 does not inline is boxed: `Math.hypot`, FK's
 * joint values, the solvers' cost helpers, point Jacobians' coordinates; array iterators):
 * a scavenge every few dozen frames.
 */
import { readFileSync } from 'node:fs';
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createRig, type HandFrame, parseHandFramesJsonl, Retargeter } from '@dexbridge/retarget';

const DEMO = new URL('../../server/data/quest3-hands.jsonl', import.meta.url);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('Retargeter allocation', () => {
  it('allocates under 4 KB per frame once warm (47 KB before), cold solves and the dropout included', () => {
    const rig = createRig();
    const frames: HandFrame[] = parseHandFramesJsonl(readFileSync(DEMO, 'utf8'));
    // Warm up the JIT on fresh Retargeters (each pass starts cold, holds the left hand's dropout
    // and re-acquires it with a cold solve), then measure whole passes the same way: what a pass
    // allocated is the heap's growth plus what every collection during it freed. The least of
    // three passes leaves out a pass in which the JIT recompiled (its code is on the heap too).
    for (let pass = 0; pass < 6; pass++) {
      const rt = new Retargeter(rig);
      for (let i = 0; i < frames.length; i++) rt.process(frames[i]!);
    }
    const perFrame: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const rt = new Retargeter(rig);
      gc();
      const profiler = new GCProfiler();
      profiler.start();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < frames.length; i++) rt.process(frames[i]!);
      const after = process.memoryUsage().heapUsed;
      let freed = 0;
      for (const e of profiler.stop()?.statistics ?? []) freed += e.beforeGC.heapStatistics.usedHeapSize - e.afterGC.heapStatistics.usedHeapSize;
      perFrame.push((after - before + freed) / frames.length);
    }
    expect(Math.min(...perFrame), `bytes per frame: ${perFrame.map((b) => b.toFixed(0)).join(', ')}`).toBeLessThan(4096);
  });
});
