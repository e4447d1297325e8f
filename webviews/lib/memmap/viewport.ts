// The window of the address line the main picture shows: a power-of-two
// span (from the whole space down to one 4 KiB page) drawn as ROWS rows, and
// the moves the keyboard, wheel and overview make on it.

import { PAGE, type Line } from './space';

export const ROWS = 32;

export interface View {
  start: number;
  span: number;
}

function pow2AtLeast(x: number): number {
  let p = PAGE;
  while (p < x) p *= 2;
  return p;
}

/** Span a power of two within [4 KiB, domain]; start row-aligned and inside the line. */
export function clampView(line: Line, v: View): View {
  const span = Math.min(line.domain, pow2AtLeast(v.span));
  const row = span / ROWS;
  let start = Math.floor(v.start / row) * row;
  start = Math.max(0, Math.min(line.domain - span, start));
  return { start, span };
}

/** Zooms in (factor 0.5) or out (2) keeping `focus` at the same place on screen. */
export function zoomView(line: Line, v: View, factor: number, focus = v.start + v.span / 2): View {
  const span = Math.max(PAGE, Math.min(line.domain, v.span * factor));
  const start = focus - ((focus - v.start) * span) / v.span;
  return clampView(line, { start, span });
}

export function panView(line: Line, v: View, delta: number): View {
  return clampView(line, { start: v.start + delta, span: v.span });
}

/** The view showing [from, to) as closely as a power-of-two window can. */
export function viewAround(line: Line, from: number, to: number): View {
  const span = Math.min(line.domain, pow2AtLeast((to - from) * 1.25));
  return clampView(line, { start: from - (span - (to - from)) / 2, span });
}
