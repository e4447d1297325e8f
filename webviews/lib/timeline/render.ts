// Drawing the timeline: a lane per vCPU, time (instructions retired on that
// vCPU) running left to right, a tick per record coloured by type, a bar
// for the time each VM exit spent in its handler, the selected record
// outlined. Work is bounded by pixels: per lane, a record per pixel column
// at most (binary search skips the rest).

import type { TraceType } from '../../../src/common/trace';
import { cssVar, fontFamily } from '../theme';
import type { TimelineModel } from './model';

export interface TimeView { t0: number; t1: number }

export interface TimelinePalette { types: Record<TraceType, string>; background: string; lane: string; text: string; muted: string; focus: string; font: string }

export function readTimelinePalette(): TimelinePalette {
  return {
    types: {
      vmexit: cssVar('--vscode-charts-red'),
      vmentry: cssVar('--vscode-charts-green'),
      'vmentry-failure': cssVar('--vscode-charts-orange'),
      ring: cssVar('--vscode-charts-blue'),
      mode: cssVar('--vscode-charts-purple'),
      exception: cssVar('--vscode-charts-yellow'),
      output: cssVar('--vscode-charts-lines', '--vscode-descriptionForeground'),
    },
    background: cssVar('--vscode-editor-background'),
    lane: cssVar('--vscode-charts-lines', '--vscode-descriptionForeground'),
    text: cssVar('--vscode-foreground'),
    muted: cssVar('--vscode-descriptionForeground'),
    focus: cssVar('--vscode-focusBorder'),
    font: fontFamily(),
  };
}

export const GUTTER = 64;
export const AXIS = 20;
export const LANE_H = 34;

/** First index in a sorted array whose value is >= x. */
export function lowerBound(a: readonly number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

export function timeAt(view: TimeView, width: number, x: number): number {
  return view.t0 + ((x - GUTTER) / Math.max(1, width - GUTTER - 8)) * (view.t1 - view.t0);
}

export function xAt(view: TimeView, width: number, t: number): number {
  return GUTTER + ((t - view.t0) / (view.t1 - view.t0)) * Math.max(1, width - GUTTER - 8);
}

function niceStep(span: number, pixels: number): number {
  const raw = (span / pixels) * 90;
  const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function drawTimeline(ctx: CanvasRenderingContext2D, width: number, height: number, model: TimelineModel, view: TimeView, pal: TimelinePalette, selected: number): void {
  ctx.fillStyle = pal.background;
  ctx.fillRect(0, 0, width, height);
  ctx.font = `11px ${pal.font}`;
  ctx.textBaseline = 'middle';
  const plotW = Math.max(1, width - GUTTER - 8);
  const tpp = (view.t1 - view.t0) / plotW;
  // Axis: instruction counts.
  ctx.fillStyle = pal.muted;
  const step = niceStep(view.t1 - view.t0, plotW);
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    const x = Math.round(xAt(view, width, t));
    ctx.fillRect(x, AXIS - 5, 1, 5);
    ctx.fillText(t.toLocaleString('en-US'), x + 3, AXIS / 2);
  }
  ctx.fillText('icount', 4, AXIS / 2);
  model.lanes.forEach((lane, k) => {
    const y = AXIS + k * LANE_H;
    ctx.globalAlpha = 0.12; // lanes faintly, on light and dark themes alike
    ctx.fillStyle = pal.lane;
    ctx.fillRect(GUTTER, y + 2, plotW, LANE_H - 4);
    ctx.globalAlpha = 1;
    ctx.fillStyle = pal.text;
    ctx.fillText(`vCPU ${lane.cpu}`, 4, y + LANE_H / 2);
    let i = lowerBound(lane.icounts, view.t0 - tpp);
    let lastX = -1;
    while (i < lane.icounts.length && lane.icounts[i]! <= view.t1) {
      const idx = lane.records[i]!;
      const r = model.records[idx]!;
      const x = Math.round(xAt(view, width, r.icount));
      const h = model.handlerOf(idx);
      if (h !== undefined && h > 0) {
        // The handler's interval: exit to entry.
        ctx.globalAlpha = 0.35;
        ctx.fillStyle = pal.types.vmexit;
        ctx.fillRect(x, y + 6, Math.max(1, h / tpp), LANE_H - 12);
        ctx.globalAlpha = 1;
      }
      if (x !== lastX) {
        ctx.fillStyle = pal.types[r.type];
        const tall = r.type === 'vmexit' || r.type === 'exception' || r.type === 'vmentry-failure';
        ctx.fillRect(x, y + (tall ? 4 : 9), 2, LANE_H - (tall ? 8 : 18));
        lastX = x;
        i++;
      } else {
        // Several records in this pixel column: jump to the next column.
        i = Math.max(i + 1, lowerBound(lane.icounts, view.t0 + (x - GUTTER + 0.5) * tpp));
      }
    }
  });
  if (selected >= 0) {
    const r = model.records[selected];
    const k = r ? model.lanes.findIndex((l) => l.cpu === r.cpu) : -1;
    if (r && k >= 0 && r.icount >= view.t0 && r.icount <= view.t1) {
      const x = Math.round(xAt(view, width, r.icount));
      ctx.strokeStyle = pal.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(x - 3, AXIS + k * LANE_H + 1, 8, LANE_H - 2);
    }
  }
}
