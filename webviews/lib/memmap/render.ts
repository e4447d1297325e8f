// Drawing the memory map on canvases. The main picture is the current view
// wrapped into ROWS rows (an address label per row); the overview is the
// whole space on a log scale with the view marked. Work per frame is bounded
// by pixels, not ranges: where ranges are narrower than a pixel, drawing
// jumps (binary search) to the first range of the next pixel, so millions of
// 4 KiB mappings draw as fast as a few.

import { cssVar, fontFamily } from '../theme';
import { formatSize, groupHex } from '../format';
import type { ColourClass, MapModel } from './model';
import { addressAt, overviewPos, overviewX, type Line } from './space';
import { ROWS, type View } from './viewport';

export interface Palette {
  cls: Record<ColourClass, string>;
  background: string;
  /** Unmapped space: drawn faintly (EMPTY_ALPHA) so it shows on light and dark themes. */
  empty: string;
  text: string;
  muted: string;
  focus: string;
  marker: string;
  font: string;
}

export function readPalette(): Palette {
  return {
    cls: {
      r: cssVar('--vscode-charts-yellow'),
      rw: cssVar('--vscode-charts-green'),
      rx: cssVar('--vscode-charts-blue'),
      rwx: cssVar('--vscode-charts-red'),
      ram: cssVar('--vscode-charts-green'),
      mmio: cssVar('--vscode-charts-purple'),
      rom: cssVar('--vscode-charts-orange'),
      none: cssVar('--vscode-charts-lines', '--vscode-descriptionForeground'),
    },
    background: cssVar('--vscode-editor-background'),
    empty: cssVar('--vscode-charts-lines', '--vscode-descriptionForeground'),
    text: cssVar('--vscode-editor-foreground', '--vscode-foreground'),
    muted: cssVar('--vscode-descriptionForeground'),
    focus: cssVar('--vscode-focusBorder'),
    marker: cssVar('--vscode-charts-foreground', '--vscode-foreground'),
    font: fontFamily(),
  };
}

const EMPTY_ALPHA = 0.18;

export interface MainLayout {
  width: number;
  height: number;
  gutter: number;
  rowHeight: number;
}

export function mainLayout(width: number, height: number): MainLayout {
  return { width, height, gutter: 168, rowHeight: Math.max(6, Math.floor((height - 2) / ROWS)) };
}

const barWidth = (l: MainLayout): number => Math.max(1, l.width - l.gutter - 6);

/** The position under a point of the main picture, or undefined outside the bars. */
export function positionAt(l: MainLayout, view: View, x: number, y: number): { pos: number; bytesPerPx: number } | undefined {
  const row = Math.floor(y / l.rowHeight);
  const bx = x - l.gutter;
  if (row < 0 || row >= ROWS || bx < 0 || bx >= barWidth(l)) return undefined;
  const rowSpan = view.span / ROWS;
  const bpp = rowSpan / barWidth(l);
  return { pos: view.start + row * rowSpan + bx * bpp, bytesPerPx: bpp };
}

let hatch: { pattern: CanvasPattern; colour: string } | undefined;
function userHatch(ctx: CanvasRenderingContext2D, colour: string): CanvasPattern | null {
  if (hatch?.colour === colour) return hatch.pattern;
  const c = document.createElement('canvas');
  c.width = c.height = 6;
  const g = c.getContext('2d');
  if (!g) return null;
  g.strokeStyle = colour;
  g.globalAlpha = 0.55;
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(0, 6); g.lineTo(6, 0);
  g.stroke();
  const pattern = ctx.createPattern(c, 'repeat');
  if (pattern) hatch = { pattern, colour };
  return pattern;
}

/**
 * Rectangles to fill with one style, collected while walking the ranges and
 * filled in one path: setting a canvas fill style per range would parse a
 * colour per range. A rectangle adjacent to the previous one on the same row
 * extends it.
 */
class RectBatch {
  private readonly r: number[] = [];
  add(x: number, y: number, w: number, hgt: number): void {
    const n = this.r.length;
    if (n >= 4 && this.r[n - 3] === y && this.r[n - 1] === hgt && this.r[n - 4]! + this.r[n - 2]! === x) {
      this.r[n - 2]! += w;
      return;
    }
    this.r.push(x, y, w, hgt);
  }
  fill(ctx: CanvasRenderingContext2D, style: string | CanvasPattern): void {
    if (this.r.length === 0) return;
    ctx.fillStyle = style;
    ctx.beginPath();
    for (let i = 0; i < this.r.length; i += 4) ctx.rect(this.r[i]!, this.r[i + 1]!, this.r[i + 2]!, this.r[i + 3]!);
    ctx.fill();
  }
}

export function drawMain(ctx: CanvasRenderingContext2D, l: MainLayout, model: MapModel | undefined, view: View, pal: Palette, selected: number): void {
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, l.width, l.height);
  const bw = barWidth(l);
  const rowSpan = view.span / ROWS;
  const bpp = rowSpan / bw;
  const barH = Math.max(3, l.rowHeight - 3);
  ctx.font = `${Math.min(12, l.rowHeight - 2)}px ${pal.font}`;
  ctx.textBaseline = 'middle';
  const line: Line = model?.line ?? { domain: view.start + view.span, folded: false };
  const pattern = userHatch(ctx, pal.background);
  const fills = new Map<ColourClass, RectBatch>();
  const empty = new RectBatch(), hatched = new RectBatch(), large = new RectBatch(), gaps = new RectBatch(), uncached = new RectBatch();
  const selRects: [number, number, number][] = [];

  ctx.fillStyle = pal.muted;
  for (let row = 0; row < ROWS; row++) {
    const y = row * l.rowHeight + 1;
    const rs = view.start + row * rowSpan;
    const re = rs + rowSpan;
    ctx.fillText(groupHex(addressAt(line, rs)), 4, y + barH / 2);
    empty.add(l.gutter, y, bw, barH);
    if (!model) continue;
    let i = model.firstEndingAfter(rs);
    while (i < model.count && model.starts[i]! < re) {
      const s = Math.max(model.starts[i]!, rs), e = Math.min(model.ends[i]!, re);
      const x0 = Math.floor((s - rs) / bpp);
      const x1 = Math.max(x0 + 1, Math.ceil((e - rs) / bpp));
      const a = model.attrsOf(i);
      const x = l.gutter + x0, w = Math.min(x1, bw) - x0;
      let batch = fills.get(a.cls);
      if (!batch) fills.set(a.cls, (batch = new RectBatch()));
      batch.add(x, y, w, barH);
      if (a.user && w >= 3) hatched.add(x, y, w, barH);
      if (a.large) { large.add(x, y, w, 2); gaps.add(x, y + 2, w, 1); }
      if (a.memoryType && a.memoryType !== 'WB') uncached.add(x, y + barH - 2, w, 2);
      if (a.pageSize / bpp >= 6) {
        // Pages at least 6 px wide: show their boundaries.
        for (let p = Math.ceil(s / a.pageSize) * a.pageSize; p < e; p += a.pageSize) gaps.add(l.gutter + Math.floor((p - rs) / bpp), y, 1, barH);
      }
      // Ranges narrower than a pixel: skip to the first range reaching the next pixel.
      const nextPixel = rs + x1 * bpp;
      i = model.ends[i]! < nextPixel ? model.firstEndingAfter(nextPixel) : i + 1;
    }
    if (selected >= 0 && selected < model.count && model.starts[selected]! < re && model.ends[selected]! > rs) {
      const x0 = Math.floor((Math.max(model.starts[selected]!, rs) - rs) / bpp);
      const x1 = Math.max(x0 + 1, Math.ceil((Math.min(model.ends[selected]!, re) - rs) / bpp));
      selRects.push([l.gutter + x0, y, Math.min(x1, bw) - x0]);
    }
  }
  ctx.globalAlpha = EMPTY_ALPHA;
  empty.fill(ctx, pal.empty);
  ctx.globalAlpha = 1;
  for (const [cls, batch] of fills) batch.fill(ctx, pal.cls[cls]);
  if (pattern) hatched.fill(ctx, pattern);
  large.fill(ctx, pal.marker);
  uncached.fill(ctx, pal.muted);
  gaps.fill(ctx, pal.background);
  ctx.strokeStyle = pal.focus;
  ctx.lineWidth = 2;
  for (const [x, y, w] of selRects) ctx.strokeRect(x - 1, y - 1, Math.max(w, 1) + 2, barH + 2);
}

const OVERVIEW_TICKS = [2 ** 20, 2 ** 30, 2 ** 32, 2 ** 40, 2 ** 44];  // labels that would overlap are dropped

export function drawOverview(ctx: CanvasRenderingContext2D, width: number, height: number, model: MapModel | undefined, view: View, pal: Palette): void {
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, width, height);
  const top = 14, barH = height - top - 2;
  ctx.globalAlpha = EMPTY_ALPHA;
  ctx.fillStyle = pal.empty;
  ctx.fillRect(0, top, width, barH);
  ctx.globalAlpha = 1;
  if (!model) return;
  const line = model.line;
  const fills = new Map<ColourClass, RectBatch>();
  for (let x = 0; x < width; x++) {
    const a0 = overviewPos(line, x / width), a1 = overviewPos(line, (x + 1) / width);
    const i = model.rangeIn(Math.min(a0, a1), Math.max(a0, a1));
    if (i < 0) continue;
    const cls = model.attrsOf(i).cls;
    let batch = fills.get(cls);
    if (!batch) fills.set(cls, (batch = new RectBatch()));
    batch.add(x, top, 1, barH);
  }
  for (const [cls, batch] of fills) batch.fill(ctx, pal.cls[cls]);
  ctx.fillStyle = pal.muted;
  // Ticks: sizes from the bottom (and from the top of a folded space).
  ctx.font = `10px ${pal.font}`;
  ctx.textBaseline = 'alphabetic';
  const half = line.folded ? 2 ** 47 : line.domain;
  const marks: [number, string][] = [];
  for (const t of OVERVIEW_TICKS.filter((t) => t < half)) {
    marks.push([t, formatSize(t)]);
    if (line.folded) marks.push([line.domain - t, `−${formatSize(t)}`]);
  }
  const taken: [number, number][] = [];
  for (const [p, label] of marks) {
    const x = Math.round(overviewX(line, p) * width);
    const tw = ctx.measureText(label).width;
    const lx = Math.max(0, Math.min(width - tw, x - tw / 2));
    if (taken.some(([a, b]) => lx < b + 6 && lx + tw > a - 6)) continue; // would overlap a label already drawn
    taken.push([lx, lx + tw]);
    ctx.fillRect(x, top - 3, 1, 3);
    ctx.fillText(label, lx, top - 4);
  }
  if (line.folded) {
    const mid = Math.round(width / 2);
    ctx.fillRect(mid, top, 1, barH);
  }
  // The view.
  const vx0 = overviewX(line, view.start) * width, vx1 = overviewX(line, view.start + view.span) * width;
  ctx.strokeStyle = pal.focus;
  ctx.lineWidth = 2;
  ctx.strokeRect(Math.min(vx0, width - 4) - 1, top - 1, Math.max(3, vx1 - vx0) + 2, barH + 2);
}
