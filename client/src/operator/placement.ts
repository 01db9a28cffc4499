/**
 * Where the headset's panels stand so that they never hide the robot: computed from the robot's
 * current bounding box as seen from the operator's head (angles of its eight corners), and placed
 * again every half second by the caller, so that a moving arm or a step aside pushes them away.
 * Both stand above the robot's highest corner, side by side over its middle: the head-up display
 * right, the camera panel left. The operator looks over the robot's shoulders at a workspace below
 * them, so above the robot is the free part of the view; beside the robot, a panel falls partly
 * outside a Quest's field of view. Both are placed by one {@link PanelLayout}: from the same box at
 * the same instant, so a moving arm moves them together and they never overlap.
 */
import { Box3, type Object3D, Vector3 } from 'three';
import { robotBox } from '../robot/bounds.js';

/** Clear angle between the robot's bounds and a panel's near edge, rad. */
export const CLEAR_RAD = (4 * Math.PI) / 180;

const corner = new Vector3();

function corners(robot: Box3, head: Vector3, each: (yaw: number, pitch: number) => void): void {
  for (let i = 0; i < 8; i++) {
    corner.set(i & 1 ? robot.max.x : robot.min.x, i & 2 ? robot.max.y : robot.min.y, i & 4 ? robot.max.z : robot.min.z).sub(head);
    // Yaw from the operator's forward direction (−z), negative to the left; pitch above the horizontal.
    each(Math.atan2(corner.x, -corner.z), Math.atan2(corner.y, Math.hypot(corner.x, corner.z)));
  }
}

const at = (head: Vector3, yaw: number, pitch: number, distance: number, out: Vector3): Vector3 =>
  out.set(
    head.x + Math.sin(yaw) * Math.cos(pitch) * distance,
    head.y + Math.sin(pitch) * distance,
    head.z - Math.cos(yaw) * Math.cos(pitch) * distance,
  );

/**
 * The centre of a panel `width` × `height`, `distance` from the head, above the robot's highest
 * corner, on one side of the robot's middle (`left` or `right`): the two panels sit side by side
 * over the robot, 4° apart, both inside the view of an operator looking at the robot.
 */
export function aboveRobot(robot: Box3, head: Vector3, width: number, height: number, distance: number, side: 'left' | 'right', out: Vector3): Vector3 {
  let top = -Math.PI / 2;
  let left = Math.PI;
  let right = -Math.PI;
  corners(robot, head, (yaw, pitch) => {
    top = Math.max(top, pitch);
    left = Math.min(left, yaw);
    right = Math.max(right, yaw);
  });
  const pitch = top + CLEAR_RAD + Math.atan2(height / 2, distance);
  // Half the panel's width as a yaw angle: the panel faces the head and stands upright, so its
  // edges are width/2 sideways from a centre distance·cos(pitch) away horizontally (at 30° of
  // pitch 15 % more yaw than at eye level, which closed most of the 4° gap between the panels).
  const shift = Math.atan2(width / 2, distance * Math.cos(pitch)) + CLEAR_RAD / 2;
  return at(head, (left + right) / 2 + (side === 'left' ? -shift : shift), pitch, distance, out);
}

/** Panels are placed again this often, ms: a moving arm or a step aside moves them within half a second. */
export const REPLACE_MS = 500;

/** A panel's size (m) and its distance from the head (m). */
export interface PanelSize {
  width: number;
  height: number;
  distance: number;
}

/**
 * Where the head-up display (right) and the camera panel (left) stand: both targets computed
 * together, every {@link REPLACE_MS}, from one bounding box of the robot. Placed each on its own
 * schedule, from the robot's box at two different instants, the two panels overlapped whenever the
 * arm moved the robot's middle by more than their 4° gap in between. Each panel moves toward its
 * target by the same share per frame ({@link followTarget}), so panels that start apart stay apart.
 */
export class PanelLayout {
  /** Where the head-up display's centre should be (XR space, m). */
  readonly hudTarget = new Vector3();
  /** Where the camera panel's centre should be (XR space, m); meaningful while a camera size is set. */
  readonly cameraTarget = new Vector3();
  private readonly hud: PanelSize = { width: 0, height: 0, distance: 0 };
  private hasHud = false;
  private readonly camera: PanelSize = { width: 0, height: 0, distance: 0 };
  private showsCamera = false;
  private placedAt = Number.NEGATIVE_INFINITY;
  private readonly box = new Box3();

  /** The head-up display's size (m) and distance from the head (m); they take effect at the next placement. */
  setHud(width: number, height: number, distance: number): void {
    this.hud.width = width;
    this.hud.height = height;
    this.hud.distance = distance;
    this.hasHud = true;
  }

  /** The camera panel's size and distance (m); a new panel is placed (both are) at the next {@link update}. */
  setCamera(width: number, height: number, distance: number): void {
    if (!this.showsCamera) this.placedAt = Number.NEGATIVE_INFINITY;
    this.camera.width = width;
    this.camera.height = height;
    this.camera.distance = distance;
    this.showsCamera = true;
  }

  /** No camera panel shows any more. */
  clearCamera(): void {
    this.showsCamera = false;
  }

  /** Whether {@link cameraTarget} holds a place for the camera panel shown now (placed since it appeared). */
  get cameraPlaced(): boolean {
    return this.showsCamera && this.placedAt !== Number.NEGATIVE_INFINITY;
  }

  /**
   * Computes both targets from `robot`'s current bounds as seen from `head`, unless they were
   * computed less than {@link REPLACE_MS} ago: call it every frame, from each panel.
   */
  update(robot: Object3D, head: Vector3, nowMs: number): void {
    if (nowMs - this.placedAt <= REPLACE_MS || !this.hasHud) return;
    this.placedAt = nowMs;
    robotBox([robot], this.box);
    aboveRobot(this.box, head, this.hud.width, this.hud.height, this.hud.distance, 'right', this.hudTarget);
    if (this.showsCamera) aboveRobot(this.box, head, this.camera.width, this.camera.height, this.camera.distance, 'left', this.cameraTarget);
  }
}

/** Share of the way to its target a panel moves each frame. */
const PANEL_FOLLOW = 0.2;

/**
 * Moves a panel at `position` toward `target`, {@link PANEL_FOLLOW} of the way (at once when
 * `first`: a panel that has no place yet). Returns whether it has arrived (within 1 mm).
 */
export function followTarget(position: Vector3, target: Vector3, first: boolean): boolean {
  if (first) position.copy(target);
  else position.lerp(target, PANEL_FOLLOW);
  return position.distanceTo(target) < 0.001;
}
