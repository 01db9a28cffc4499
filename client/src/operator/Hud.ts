/**
 * The operator's head-up display: a panel above the robot as seen from the operator's head, right
 * of its middle (placement.ts; the camera panel is left of it), placed again every half second from the robot's current bounds and the head's
 * position and gliding there, always facing the head, so that it never hides the robot (a panel
 * locked to the head would cover the robot whenever the operator looks down at the hands). Drawn
 * with the 2D canvas into a texture a few times a second. No fonts are fetched. Every line fits: a long line is drawn
 * in a smaller font, and wrapped when even the smallest is too wide; the panel grows with its lines.
 */
import { CanvasTexture, Mesh, MeshBasicMaterial, type Object3D, PlaneGeometry, SRGBColorSpace, type Vector3 } from 'three';
import { followTarget, type PanelLayout } from './placement.js';

export interface HudLine {
  readonly text: string;
  readonly color?: string | undefined;
}

/** Distance from the head, m: beyond the hands' reach, so that no poke or ray meets it. */
export const HUD_DISTANCE_M = 0.85;
/** Panel width, m (about 24° of the view at that distance). */
export const HUD_WIDTH_M = 0.36;
const PX_PER_M = 512 / HUD_WIDTH_M;
const WIDTH_PX = 512;
const PAD_PX = 16;
const FONT_PX = 24;
const MIN_FONT_PX = 17;
const MAX_ROWS = 10;

interface Row {
  readonly text: string;
  readonly color: string;
  readonly fontPx: number;
}

export class Hud {
  readonly mesh: Mesh;
  private readonly canvas: HTMLCanvasElement;
  private readonly texture: CanvasTexture;
  private last = '';
  private placed = false;
  /** Whether the panel has arrived where it was last placed (within 1 mm). */
  settled = false;
  /** The rows last drawn (after fitting), for tests: each row's text is whole, none wider than the panel. */
  rows: readonly Row[] = [];

  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.width = WIDTH_PX;
    this.canvas.height = 64;
    this.texture = new CanvasTexture(this.canvas);
    this.texture.colorSpace = SRGBColorSpace;
    this.mesh = new Mesh(new PlaneGeometry(1, 1), new MeshBasicMaterial({ map: this.texture, transparent: true, depthTest: false }));
    this.mesh.renderOrder = 100;
    this.mesh.frustumCulled = false;
    this.mesh.name = 'hud';
  }

  /** Redraws when the text changed. */
  draw(lines: readonly HudLine[]): void {
    const key = lines.map((l) => `${l.color ?? ''}${l.text}`).join('\n');
    if (key === this.last) return;
    this.last = key;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const rows = layout(ctx, lines).slice(0, MAX_ROWS);
    this.rows = rows;
    const lineH = (r: Row) => Math.round(r.fontPx * 1.3);
    const height = PAD_PX * 2 + rows.reduce((a, r) => a + lineH(r), 0);
    // Resizing the canvas clears it, and the texture must be rebuilt at the new size.
    if (this.canvas.height !== height) {
      this.canvas.height = height;
      this.texture.dispose();
    }
    ctx.clearRect(0, 0, WIDTH_PX, height);
    ctx.fillStyle = 'rgba(20, 22, 26, 0.82)';
    ctx.beginPath();
    ctx.roundRect(0, 0, WIDTH_PX, height, 16);
    ctx.fill();
    ctx.textBaseline = 'top';
    let y = PAD_PX;
    for (const r of rows) {
      ctx.font = font(r.fontPx);
      ctx.fillStyle = r.color;
      ctx.fillText(r.text, PAD_PX, y);
      y += lineH(r);
    }
    this.mesh.scale.set(HUD_WIDTH_M, height / PX_PER_M, 1);
    this.texture.needsUpdate = true;
  }

  /**
   * Moves the panel toward its place in `layout` (above `robot` as seen from `head`, right of the
   * camera panel), facing the head.
   */
  place(layout: PanelLayout, robot: Object3D, head: Vector3, nowMs: number): void {
    layout.setHud(HUD_WIDTH_M, this.mesh.scale.y, HUD_DISTANCE_M);
    layout.update(robot, head, nowMs);
    this.settled = followTarget(this.mesh.position, layout.hudTarget, !this.placed);
    this.placed = true;
    this.mesh.lookAt(head);
  }
}

const font = (px: number): string => `${px}px system-ui, sans-serif`;

/** Each line in the largest font (down to {@link MIN_FONT_PX}) that fits, else wrapped at spaces. */
function layout(ctx: CanvasRenderingContext2D, lines: readonly HudLine[]): Row[] {
  const room = WIDTH_PX - 2 * PAD_PX;
  const rows: Row[] = [];
  for (const l of lines) {
    const color = l.color ?? '#e8e8ea';
    let px = FONT_PX;
    ctx.font = font(px);
    while (ctx.measureText(l.text).width > room && px > MIN_FONT_PX) ctx.font = font(--px);
    if (ctx.measureText(l.text).width <= room) {
      rows.push({ text: l.text, color, fontPx: px });
      continue;
    }
    let row = '';
    for (const word of l.text.split(' ')) {
      const next = row ? `${row} ${word}` : word;
      if (row && ctx.measureText(next).width > room) {
        rows.push({ text: row, color, fontPx: px });
        row = word;
      } else row = next;
    }
    if (row) rows.push({ text: row, color, fontPx: px });
  }
  return rows;
}
