/**
 * Where the headset's panels stand so that they never hide the robot: computed from the robot's
 * current bounding box as seen from the operator's head (angles of its eight corners), and placed
 * again every half second by the caller, so that a moving arm or a step aside pushes them away.
 * Both stand above the robot's highest corner, side by side over its middle: the head-up display
 * right, the camera panel left. The operator looks over the robot's shoulders at a workspace below
 * them, so above the robot is the free part of the view; beside the robot, a panel falls partly
 * outside a Quest's field of view.
 */
import type { Box3 } from 'three';
import { Vector3 } from 'three';

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
  const shift = Math.atan2(width / 2, distance) + CLEAR_RAD / 2;
  return at(head, (left + right) / 2 + (side === 'left' ? -shift : shift), top + CLEAR_RAD + Math.atan2(height / 2, distance), distance, out);
}
