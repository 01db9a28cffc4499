/**
 * The hand solver's damping schedule, counted rather than timed: a rejected trial step costs an
 * FK and a factorisation, and the frame-time tail is the frames that reject many of them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { createRig, parseHandFramesJsonl, Retargeter } from '../src/index.js';
import { HandSolver } from '../src/hand/HandSolver.js';

const DEMO = new URL('../../server/data/quest3-hands.jsonl', import.meta.url);

type Evaluate = (...args: unknown[]) => void;

describe('HandSolver damping', () => {
  it('grows enough after a rejected step that the next try is shorter: the Quest session’s warm hand solves evaluate their cost at most 1.33 times per iteration (1.28 now; 1.41 when it grew tenfold from 10⁻⁶ with no floor and fell fivefold)', () => {
    const frames = parseHandFramesJsonl(readFileSync(DEMO, 'utf8'));
    const proto = HandSolver.prototype as unknown as { evaluate: Evaluate };
    const evaluate = proto.evaluate;
    const solve = HandSolver.prototype.solve;
    let inWarmSolve = false;
    let evaluations = 0;
    let iterations = 0;
    const evaluateSpy = vi.spyOn(proto, 'evaluate').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (inWarmSolve) evaluations++;
      evaluate.apply(this, args);
    });
    const solveSpy = vi.spyOn(HandSolver.prototype, 'solve').mockImplementation(function (this: HandSolver, ...args: Parameters<HandSolver['solve']>) {
      // The Retargeter's warm solves take its 8 iterations; a cold solve's stages take 25 and 60.
      inWarmSolve = args[4]?.maxIterations === 8;
      const r = solve.apply(this, args);
      if (inWarmSolve) iterations += r.iterations;
      inWarmSolve = false;
      return r;
    });
    try {
      const rt = new Retargeter(createRig());
      for (const f of frames) rt.process(f);
    } finally {
      solveSpy.mockRestore();
      evaluateSpy.mockRestore();
    }
    expect(iterations).toBeGreaterThan(4000);
    expect(evaluations / iterations, `${evaluations} evaluations in ${iterations} iterations`).toBeLessThanOrEqual(1.33);
  });
});
