import { describe, expect, it } from 'vitest';
import { fingerCurlDeg } from '@dexbridge/retarget';

const RAD = Math.PI / 180;

/** A finger along +x, palm toward −z: the distal segment turned by `curl` toward the palm, then splayed by `splay` about the palm normal. */
function distal(curl: number, splay = 0): [number, number, number] {
  const x = Math.cos(curl * RAD), z = -Math.sin(curl * RAD);
  return [x * Math.cos(splay * RAD), x * Math.sin(splay * RAD), z];
}

describe('fingerCurlDeg', () => {
  it('follows a finger that curls on past antiparallel, without folding back at 180°', () => {
    let previous = Number.NaN;
    for (let curl = -60; curl <= 260; curl += 5) {
      const [bx, by, bz] = distal(curl);
      const c = fingerCurlDeg(0.09, 0, 0, bx, by, bz, 0, 0, -1);
      expect(c).toBeCloseTo(curl, 9);
      if (Number.isFinite(previous)) expect(c - previous).toBeCloseTo(5, 9); // the plain angle would turn back at 180°
      previous = c;
    }
  });

  it('does not count splay as curl', () => {
    const [bx, by, bz] = distal(0, 25);
    expect(fingerCurlDeg(1, 0, 0, bx, by, bz, 0, 0, -1)).toBeCloseTo(0, 9);
    const [cx, cy, cz] = distal(90, 25);
    expect(fingerCurlDeg(1, 0, 0, cx, cy, cz, 0, 0, -1)).toBeCloseTo(90, 9);
  });

  it('does not depend on the frame or the lengths', () => {
    // The same finger rotated 90° about z and scaled: a along +y, palm still −z.
    const [bx, by, bz] = distal(200);
    expect(fingerCurlDeg(0, 3, 0, -by * 0.5, bx * 0.5, bz * 0.5, 0, 0, -2)).toBeCloseTo(200, 9);
  });

  it('falls back to the plain angle when the hand gives no flexion axis', () => {
    const [bx, by, bz] = distal(200);
    expect(fingerCurlDeg(1, 0, 0, bx, by, bz, 0, 0, 0)).toBeCloseTo(160, 9); // knuckles on one point
    expect(fingerCurlDeg(1, 0, 0, bx, by, bz, 2, 0, 0)).toBeCloseTo(160, 9); // palm normal along the finger
  });
});
