/**
 * The operator's head-up display: a small panel that follows the head (below the line of sight),
 * drawn with the 2D canvas into a texture a few times a second. No fonts are fetched.
 */
import { CanvasTexture, Mesh, MeshBasicMaterial, type Object3D, PlaneGeometry, Quaternion, Vector3 } from 'three';

export interface HudLine {
  readonly text: string;
  readonly color?: string | undefined;
}

const OFFSET = new Vector3(0, -0.16, -0.55);
const tmpP = new Vector3();
const tmpQ = new Quaternion();

export class Hud {
  readonly mesh: Mesh;
  private readonly canvas: HTMLCanvasElement;
  private readonly texture: CanvasTexture;
  private last = '';

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.width = 512;
    this.canvas.height = 192;
    this.texture = new CanvasTexture(this.canvas);
    this.mesh = new Mesh(new PlaneGeometry(0.3, 0.1125), new MeshBasicMaterial({ map: this.texture, transparent: true, depthTest: false }));
    this.mesh.renderOrder = 100;
    this.mesh.frustumCulled = false;
  }

  /** Redraws when the text changed. */
  draw(lines: readonly HudLine[]): void {
    const key = lines.map((l) => `${l.color ?? ''}${l.text}`).join('\n');
    if (key === this.last) return;
    this.last = key;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = 'rgba(20, 22, 26, 0.78)';
    ctx.beginPath();
    ctx.roundRect(0, 0, this.canvas.width, this.canvas.height, 18);
    ctx.fill();
    ctx.font = '26px system-ui, sans-serif';
    lines.slice(0, 6).forEach((l, i) => {
      ctx.fillStyle = l.color ?? '#e8e8ea';
      ctx.fillText(l.text, 18, 36 + i * 30);
    });
    this.texture.needsUpdate = true;
  }

  /** Keeps the panel in front of and below the camera. */
  follow(camera: Object3D): void {
    camera.getWorldPosition(tmpP);
    camera.getWorldQuaternion(tmpQ);
    this.mesh.position.copy(OFFSET).applyQuaternion(tmpQ).add(tmpP);
    this.mesh.quaternion.copy(tmpQ);
  }
}
