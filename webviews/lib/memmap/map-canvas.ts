// The two canvases of the memory map and what the mouse and keyboard do on
// them. Main picture: ←/→ pan by an eighth of the view, ↑/↓ by a row,
// PageUp/PageDown by a whole view, +/− (or the wheel) zoom, Home shows the
// whole space, 0 fits the mapped ranges, Enter opens the selected range; a
// click opens the range under the pointer. Overview: a click shows the
// octave of the address under the pointer.

import { fitCanvas, onThemeChange } from '../theme';
import type { MapModel } from './model';
import { drawMain, drawOverview, mainLayout, positionAt, readPalette, type Palette } from './render';
import { octaveWindow, overviewPos } from './space';
import { clampView, panView, ROWS, zoomView, type View } from './viewport';

export interface MapCanvasEvents {
  /** The view moved or zoomed. */
  onView(view: View): void;
  /** The pointer is over a range (-1: none). */
  onHover(index: number): void;
  /** A range was clicked, or Enter pressed on the selection. */
  onOpen(index: number): void;
}

export class MapCanvas {
  readonly main: HTMLCanvasElement;
  readonly overview: HTMLCanvasElement;
  private model: MapModel | undefined;
  private v: View = { start: 0, span: 2 ** 32 };
  private selected = -1;
  private palette: Palette;
  private frame = 0;
  /** Milliseconds the last main-picture render took (the benchmark reads it too, as performance measures). */
  lastRenderMs = 0;

  constructor(main: HTMLCanvasElement, overview: HTMLCanvasElement, private readonly events: MapCanvasEvents) {
    this.main = main;
    this.overview = overview;
    this.palette = readPalette();
    onThemeChange(() => { this.palette = readPalette(); this.requestDraw(); });
    new ResizeObserver(() => this.requestDraw()).observe(main);
    main.addEventListener('keydown', (e) => this.onKey(e));
    main.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    main.addEventListener('click', (e) => {
      const i = this.indexAtEvent(e);
      if (i >= 0) this.events.onOpen(i);
    });
    main.addEventListener('mousemove', (e) => this.events.onHover(this.indexAtEvent(e)));
    main.addEventListener('mouseleave', () => this.events.onHover(-1));
    overview.addEventListener('click', (e) => {
      if (!this.model) return;
      const r = overview.getBoundingClientRect();
      const pos = overviewPos(this.model.line, (e.clientX - r.left) / r.width);
      this.setView(octaveWindow(this.model.line, pos));
    });
  }

  get view(): View { return this.v; }
  get current(): MapModel | undefined { return this.model; }

  setModel(model: MapModel | undefined, view?: View): void {
    this.model = model;
    this.selected = -1;
    this.requestDraw();
    if (!model) return;
    this.v = clampView(model.line, view ?? model.extent());
    this.events.onView(this.v);
  }

  setView(v: View): void {
    if (!this.model) return;
    const next = clampView(this.model.line, v);
    if (next.start === this.v.start && next.span === this.v.span) return;
    this.v = next;
    this.requestDraw();
    this.events.onView(this.v);
  }

  select(index: number): void {
    this.selected = index;
    this.requestDraw();
  }

  requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Draws now (synchronously) and returns how long the main picture took. */
  draw(): number {
    const t0 = performance.now();
    performance.mark('memory-map:render:start');
    const m = fitCanvas(this.main);
    drawMain(m.ctx, mainLayout(m.width, m.height), this.model, this.v, this.palette, this.selected);
    performance.measure('memory-map:render', 'memory-map:render:start');
    this.lastRenderMs = performance.now() - t0;
    const o = fitCanvas(this.overview);
    drawOverview(o.ctx, o.width, o.height, this.model, this.v, this.palette);
    return this.lastRenderMs;
  }

  private indexAtEvent(e: MouseEvent): number {
    if (!this.model) return -1;
    const r = this.main.getBoundingClientRect();
    const at = positionAt(mainLayout(r.width, r.height), this.v, e.clientX - r.left, e.clientY - r.top);
    return at ? this.model.rangeIn(at.pos, at.pos + Math.max(1, at.bytesPerPx)) : -1;
  }

  private onWheel(e: WheelEvent): void {
    if (!this.model) return;
    e.preventDefault();
    const r = this.main.getBoundingClientRect();
    const at = positionAt(mainLayout(r.width, r.height), this.v, e.clientX - r.left, e.clientY - r.top);
    this.setView(zoomView(this.model.line, this.v, e.deltaY < 0 ? 0.5 : 2, at?.pos));
  }

  private onKey(e: KeyboardEvent): void {
    const model = this.model;
    if (!model) return;
    const line = model.line, v = this.v;
    let next: View | undefined;
    switch (e.key) {
      case 'ArrowLeft': next = panView(line, v, -v.span / 8); break;
      case 'ArrowRight': next = panView(line, v, v.span / 8); break;
      case 'ArrowUp': next = panView(line, v, -v.span / ROWS); break;
      case 'ArrowDown': next = panView(line, v, v.span / ROWS); break;
      case 'PageUp': next = panView(line, v, -v.span); break;
      case 'PageDown': next = panView(line, v, v.span); break;
      case '+': case '=': next = zoomView(line, v, 0.5); break;
      case '-': case '_': next = zoomView(line, v, 2); break;
      case 'Home': next = { start: 0, span: line.domain }; break;
      case '0': next = model.extent(); break;
      case 'Enter':
        if (this.selected >= 0) this.events.onOpen(this.selected);
        e.preventDefault();
        return;
      default: return;
    }
    e.preventDefault();
    this.setView(next);
  }
}
