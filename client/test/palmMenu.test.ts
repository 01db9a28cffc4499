import { Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { DISMISS_HOLD_MS, menuAnchor, PalmGesture, palmTowardHead, SUMMON_HOLD_MS } from '../src/operator/palmMenu.js';
import { taskPresets } from '../src/operator/taskPresets.js';

/**
 * A left hand held up in front of the face at 0.4 m, fingers up, palm toward the face (+z): as
 * anyone's left hand is, the thumb and index are on the right (+x), the little finger on the left.
 * `flip` turns it half a turn about the vertical (the back of the hand toward the face).
 */
function leftHand(flip = false): Float32Array {
  const j = new Float32Array(200);
  const s = flip ? -1 : 1;
  const put = (i: number, x: number, y: number) => {
    j[i * 8] = s * x;
    j[i * 8 + 1] = 1.4 + y;
    j[i * 8 + 2] = -0.4;
    j[i * 8 + 6] = 1;
  };
  put(0, 0, 0); // wrist
  put(5, 0.025, 0.08); // index metacarpal
  put(10, 0.005, 0.085); // middle metacarpal
  put(20, -0.03, 0.07); // little-finger metacarpal
  return j;
}
const head = new Vector3(0, 1.5, 0);

describe('the wrist menu’s gesture and place', () => {
  it('sees the left palm facing the head, and not the back of the hand', () => {
    expect(palmTowardHead(leftHand(), head)).toBeGreaterThan(0.9);
    expect(palmTowardHead(leftHand(true), head)).toBeLessThan(-0.9);
  });

  it('shows only after the palm faced the head for a while, and goes only after it turned away for a while', () => {
    const g = new PalmGesture();
    expect(g.update(1, 0)).toBe(false);
    expect(g.update(1, SUMMON_HOLD_MS - 1)).toBe(false);
    expect(g.update(1, SUMMON_HOLD_MS)).toBe(true);
    // A wobble to 60° is inside the hysteresis band: it stays.
    expect(g.update(Math.cos(Math.PI / 3), SUMMON_HOLD_MS + 1000)).toBe(true);
    expect(g.update(-1, 2000)).toBe(true);
    expect(g.update(-1, 2000 + DISMISS_HOLD_MS - 1)).toBe(true);
    // Facing again restarts the count: a brief turn away does not close it.
    expect(g.update(1, 2000 + DISMISS_HOLD_MS)).toBe(true);
    expect(g.update(-1, 3000)).toBe(true);
    expect(g.update(-1, 3000 + DISMISS_HOLD_MS)).toBe(false);
    g.update(1, 4000);
    g.update(1, 4000 + SUMMON_HOLD_MS);
    expect(g.shown).toBe(true);
    g.lost();
    expect(g.shown).toBe(false);
  });

  it('stands beside the little-finger side of the hand, clear of it, a little toward the head', () => {
    const at = menuAnchor(leftHand(), head, 0.15, new Vector3());
    // Little finger at x −0.03: the menu's near edge (centre − 0.15) is further left than the hand.
    expect(at.x + 0.15).toBeLessThan(-0.03);
    expect(at.z).toBeGreaterThan(-0.4);
    expect(at.y).toBeGreaterThan(1.4);
  });
});

describe('task presets', () => {
  it('are the distinct recorded tasks, newest first, empty ones left out, at most six', () => {
    const listed = ['b', 'a', '', null, 'b', ' a ', 'c', 'd', 'e', 'f', 'g'].map((task) => ({ task }));
    expect(taskPresets(listed)).toEqual(['b', 'a', 'c', 'd', 'e', 'f']);
  });
});
