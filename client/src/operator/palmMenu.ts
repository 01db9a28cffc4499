/**
 * The summon gesture of the wrist menu and where the menu stands, from the left hand's 25 joints
 * (HAND_FRAME layout: 25 × [px, py, pz, qx, qy, qz, qw, radius]) and the head's position. No
 * allocation per frame. Pure, so that it is tested without a headset.
 *
 * Gesture: the left palm turned toward the head (the pattern of the Quest's own system menu and of
 * MRTK's hand menus). The palm's normal comes from joint positions (wrist, index and little-finger
 * metacarpals), not from a joint orientation convention, so it holds for any runtime.
 */
import { Vector3 } from 'three';

const STRIDE = 8;
const WRIST = 0;
const INDEX_METACARPAL = 5;
const MIDDLE_METACARPAL = 10;
const PINKY_METACARPAL = 20;

/** The palm must face the head within this angle to summon the menu (cos 45°). */
export const SUMMON_COS = Math.cos((45 * Math.PI) / 180);
/** The menu goes away once the palm turns further than this from the head (cos 70°). */
export const DISMISS_COS = Math.cos((70 * Math.PI) / 180);
/** How long the palm must face the head before the menu shows, ms: a hand waving past does not open it. */
export const SUMMON_HOLD_MS = 250;
/** How long the palm must be turned away before the menu goes, ms: a wobble while pressing does not close it. */
export const DISMISS_HOLD_MS = 500;

const joint = (j: ArrayLike<number>, i: number, out: Vector3): Vector3 => out.set(j[i * STRIDE]!, j[i * STRIDE + 1]!, j[i * STRIDE + 2]!);

const w = new Vector3();
const a = new Vector3();
const b = new Vector3();
const m = new Vector3();

/**
 * The left palm's centre (between the wrist and the middle metacarpal) into `centre`, its normal
 * (out of the palm) into `normal`, and the direction from the index to the little-finger side
 * (the ulnar side) into `ulnar`. For a left hand, index × little (from the wrist) points out of the palm.
 */
export function leftPalm(joints: ArrayLike<number>, centre: Vector3, normal: Vector3, ulnar: Vector3): void {
  joint(joints, WRIST, w);
  joint(joints, INDEX_METACARPAL, a).sub(w);
  joint(joints, PINKY_METACARPAL, b).sub(w);
  normal.crossVectors(a, b).normalize();
  joint(joints, MIDDLE_METACARPAL, m);
  centre.copy(w).add(m).multiplyScalar(0.5);
  ulnar.copy(b).sub(a).normalize();
}

const c = new Vector3();
const n = new Vector3();
const u = new Vector3();

/** cos of the angle between the left palm's normal and the direction from the palm to the head. */
export function palmTowardHead(joints: ArrayLike<number>, head: Vector3): number {
  leftPalm(joints, c, n, u);
  return n.dot(c.sub(head).negate().normalize());
}

/** Shown / hidden with hysteresis in angle and in time. */
export class PalmGesture {
  shown = false;
  #since = Number.NaN;

  /** One tracked frame: `cos` from {@link palmTowardHead}, `nowMs` any monotonic clock. Returns whether the menu shows. */
  update(cos: number, nowMs: number): boolean {
    const wants = this.shown ? cos >= DISMISS_COS : cos >= SUMMON_COS;
    if (wants === this.shown) {
      this.#since = Number.NaN;
      return this.shown;
    }
    if (Number.isNaN(this.#since)) this.#since = nowMs;
    if (nowMs - this.#since >= (this.shown ? DISMISS_HOLD_MS : SUMMON_HOLD_MS)) {
      this.shown = wants;
      this.#since = Number.NaN;
    }
    return this.shown;
  }

  /** The hand was lost: the menu goes at once (it would hang where the hand last was). */
  lost(): void {
    this.shown = false;
    this.#since = Number.NaN;
  }
}

/** Gap between the little-finger edge of the hand and the menu's near edge, m. */
export const MENU_GAP_M = 0.05;

/**
 * Where the menu's centre stands: beside the left hand on its little-finger (ulnar) side, level
 * with the palm and a little toward the head. The other hand reaches it without crossing the left
 * index fingertip, which carries a poke pointer of its own.
 */
export function menuAnchor(joints: ArrayLike<number>, head: Vector3, halfWidth: number, out: Vector3): Vector3 {
  leftPalm(joints, c, n, u);
  const toHead = m.copy(head).sub(c).normalize();
  return out.copy(c).addScaledVector(u, MENU_GAP_M + halfWidth).addScaledVector(toHead, 0.03);
}
