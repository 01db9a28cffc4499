import { BoxGeometry, Group, Mesh, MeshBasicMaterial, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { CLEAR_RAD, PanelLayout, REPLACE_MS } from '../src/operator/placement.js';

const HUD = { width: 0.36, height: 0.2, distance: 0.85 };
const CAMERA = { width: 0.4, height: 0.3, distance: 1.0 };

/** A robot stand-in: a box `height` m tall 1.5 m ahead of the head, moved sideways by `x`. */
function robot(height = 1): { root: Group; moveTo(x: number): void } {
  const root = new Group();
  const body = new Mesh(new BoxGeometry(1, height, 0.5), new MeshBasicMaterial());
  root.add(body);
  return {
    root,
    moveTo(x: number) {
      body.position.set(x, height / 2, -1.5);
    },
  };
}

/**
 * Yaw (rad, negative to the left) of the left and right edges of an upright panel `width` wide
 * centred at `centre` and facing `head`: its edges lie width/2 to each side, horizontally.
 */
function edges(centre: Vector3, width: number, head: Vector3): [number, number] {
  const d = centre.clone().sub(head);
  const horizontal = Math.hypot(d.x, d.z);
  const side = new Vector3(-d.z / horizontal, 0, d.x / horizontal).multiplyScalar(width / 2); // to the right
  const yawOf = (p: Vector3): number => Math.atan2(p.x - head.x, -(p.z - head.z));
  return [yawOf(centre.clone().sub(side)), yawOf(centre.clone().add(side))];
}

describe('PanelLayout (where the headset places its head-up display and camera panel)', () => {
  const head = new Vector3(0, 1.6, 0);

  it('places both panels from the same robot box: a moving arm never closes their gap', () => {
    const r = robot();
    const layout = new PanelLayout();
    layout.setHud(HUD.width, HUD.height, HUD.distance);
    layout.setCamera(CAMERA.width, CAMERA.height, CAMERA.distance);
    // The robot moves sideways faster than the 4° gap every frame; each panel asks every frame,
    // the HUD first and the camera panel after it (as the two components do).
    for (let frame = 0; frame < 120; frame++) {
      const nowMs = frame * 11;
      r.moveTo(0.4 * Math.sin(frame / 5));
      layout.update(r.root, head, nowMs);
      r.moveTo(0.4 * Math.sin(frame / 5 + 0.5));
      layout.update(r.root, head, nowMs + 5);
      const [hudLeft] = edges(layout.hudTarget, HUD.width, head);
      const [, cameraRight] = edges(layout.cameraTarget, CAMERA.width, head);
      expect(hudLeft - cameraRight, `frame ${frame}`).toBeCloseTo(CLEAR_RAD, 6);
    }
  });

  it('keeps the 4° gap however high the panels stand: a tall robot puts them 30° above the eyes', () => {
    for (const height of [0.5, 1, 2, 2.6]) {
      const r = robot(height);
      r.moveTo(0.2);
      const layout = new PanelLayout();
      layout.setHud(HUD.width, HUD.height, HUD.distance);
      layout.setCamera(CAMERA.width, CAMERA.height, CAMERA.distance);
      layout.update(r.root, head, 0);
      const pitch = Math.asin((layout.hudTarget.y - head.y) / layout.hudTarget.distanceTo(head));
      const [hudLeft] = edges(layout.hudTarget, HUD.width, head);
      const [, cameraRight] = edges(layout.cameraTarget, CAMERA.width, head);
      expect(hudLeft - cameraRight, `robot ${height} m tall, HUD ${((pitch * 180) / Math.PI).toFixed(0)}° up`).toBeCloseTo(CLEAR_RAD, 6);
    }
  });

  it('places again every half second, not sooner', () => {
    const r = robot();
    const layout = new PanelLayout();
    layout.setHud(HUD.width, HUD.height, HUD.distance);
    r.moveTo(0);
    layout.update(r.root, head, 0);
    const first = layout.hudTarget.clone();
    r.moveTo(0.3);
    layout.update(r.root, head, REPLACE_MS);
    expect(layout.hudTarget.equals(first)).toBe(true);
    layout.update(r.root, head, REPLACE_MS + 1);
    expect(layout.hudTarget.x).toBeGreaterThan(first.x + 0.1);
  });

  it('places a camera panel that appears at once, with the HUD, and none before the HUD has its size', () => {
    const r = robot();
    r.moveTo(0);
    const layout = new PanelLayout();
    layout.setCamera(CAMERA.width, CAMERA.height, CAMERA.distance);
    layout.update(r.root, head, 0);
    expect(layout.cameraPlaced).toBe(false);
    layout.setHud(HUD.width, HUD.height, HUD.distance);
    layout.update(r.root, head, 1);
    expect(layout.cameraPlaced).toBe(true);
    layout.clearCamera();
    expect(layout.cameraPlaced).toBe(false);
    r.moveTo(0.3);
    layout.update(r.root, head, 100); // within the half second: the HUD stays where it was
    layout.setCamera(CAMERA.width, CAMERA.height, CAMERA.distance);
    layout.update(r.root, head, 101); // a new camera panel: both placed now, from the robot as it is
    expect(layout.cameraPlaced).toBe(true);
    const [hudLeft] = edges(layout.hudTarget, HUD.width, head);
    const [, cameraRight] = edges(layout.cameraTarget, CAMERA.width, head);
    expect(hudLeft - cameraRight).toBeCloseTo(CLEAR_RAD, 6);
  });
});
