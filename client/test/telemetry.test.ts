import { describe, expect, it } from 'vitest';
import { Ring } from '../src/store/telemetry.js';

describe('Ring', () => {
  it('keeps the newest samples oldest-first and wraps without losing order', () => {
    const r = new Ring(4, 2);
    expect(r.length).toBe(0);
    expect(r.last()).toBeNaN();
    for (let i = 0; i < 6; i++) r.push(i, [i * 10, i * 100]);
    expect(r.length).toBe(4);
    const c = r.columns([1, 0]);
    expect(Array.from(c.t)).toEqual([2, 3, 4, 5]);
    expect(Array.from(c.cols[0]!)).toEqual([200, 300, 400, 500]);
    expect(Array.from(c.cols[1]!)).toEqual([20, 30, 40, 50]);
    expect(r.last(1)).toBe(500);
  });

  it('reuses the output arrays when their size fits, and bumps its version on every push', () => {
    const r = new Ring(3, 1);
    r.push1(1, 1);
    r.push1(2, 2);
    const v = r.version;
    const out = r.columns([0]);
    r.push1(3, 3);
    expect(r.version).toBe(v + 1);
    const again = r.columns([0], out);
    expect(again).not.toBe(out); // length changed 2 → 3
    expect(r.columns([0], again)).toBe(again);
    expect(Array.from(again.cols[0]!)).toEqual([1, 2, 3]);
  });

  it('fills missing values with NaN', () => {
    const r = new Ring(2, 3);
    r.push(0, [1]);
    expect(r.last(0)).toBe(1);
    expect(r.last(2)).toBeNaN();
  });
});
