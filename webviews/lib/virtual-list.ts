// A keyboard-reachable list of any length (millions of rows): only the rows
// in view exist in the DOM. It is an ARIA listbox with an active option
// (aria-activedescendant): Up/Down, PageUp/PageDown, Home/End move, Enter
// (or a double click) activates, a click selects. When the full height
// would pass what browsers can scroll, scroll positions are scaled.

import { h } from './dom';

export interface VirtualListOptions {
  /** Accessible name of the list. */
  label: string;
  /** Row height in CSS pixels (rows are all the same height). */
  rowHeight: number;
  /** Fills a row element for item `index` (its text, classes). */
  renderRow(index: number, row: HTMLElement): void;
  /** The active row changed (keyboard or click). */
  onSelect?(index: number): void;
  /** Enter or double click on a row. */
  onActivate?(index: number): void;
}

/** Tallest scroll area used; beyond it positions are scaled (browsers stop near 33 million pixels). */
const MAX_SCROLL_PX = 8_000_000;
let nextListId = 0;

export class VirtualList {
  readonly element: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly layer: HTMLDivElement;
  private readonly idPrefix = `vl${nextListId++}`;
  private count = 0;
  private activeIndex = -1;
  private rows: HTMLDivElement[] = [];

  constructor(private readonly opts: VirtualListOptions) {
    this.spacer = h('div', { class: 'vlist-spacer' });
    this.layer = h('div', { class: 'vlist-layer' });
    this.element = h('div', { class: 'vlist', role: 'listbox', tabindex: 0, 'aria-label': opts.label }, this.spacer, this.layer);
    this.element.addEventListener('scroll', () => this.render());
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    this.element.addEventListener('click', (e) => {
      const i = this.indexOfEvent(e);
      if (i >= 0) this.setActive(i, false, true);
    });
    this.element.addEventListener('dblclick', (e) => {
      const i = this.indexOfEvent(e);
      if (i >= 0) opts.onActivate?.(i);
    });
    new ResizeObserver(() => this.render()).observe(this.element);
  }

  get active(): number { return this.activeIndex; }
  get size(): number { return this.count; }

  /** Sets the number of items; keeps the active index when still in range. */
  setCount(n: number): void {
    this.count = n;
    if (this.activeIndex >= n) this.activeIndex = n - 1;
    this.spacer.style.height = `${this.scrollHeight()}px`;
    this.render();
  }

  /** Re-renders the visible rows (item contents changed). */
  refresh(): void { this.render(); }

  setActive(index: number, scroll = true, notify = false): void {
    if (this.count === 0) { this.activeIndex = -1; this.render(); return; }
    const i = Math.max(0, Math.min(this.count - 1, index));
    this.activeIndex = i;
    if (scroll) this.scrollIntoView(i);
    this.render();
    if (notify) this.opts.onSelect?.(i);
  }

  private totalPx(): number { return this.count * this.opts.rowHeight; }
  private scrollHeight(): number { return Math.min(this.totalPx(), MAX_SCROLL_PX); }
  private viewHeight(): number { return this.element.clientHeight || this.opts.rowHeight * 10; }

  /** Content pixel offset shown at the top, from the (possibly scaled) scroll position. */
  private contentTop(): number {
    const view = this.viewHeight();
    const total = this.totalPx();
    const scrollable = this.scrollHeight() - view;
    if (scrollable <= 0 || total <= MAX_SCROLL_PX) return this.element.scrollTop;
    return (this.element.scrollTop / scrollable) * (total - view);
  }

  private scrollIntoView(i: number): void {
    const rh = this.opts.rowHeight;
    const view = this.viewHeight();
    const top = this.contentTop();
    let target = top;
    if (i * rh < top) target = i * rh;
    else if ((i + 1) * rh > top + view) target = (i + 1) * rh - view;
    if (target === top) return;
    const total = this.totalPx();
    const scrollable = this.scrollHeight() - view;
    this.element.scrollTop = total <= MAX_SCROLL_PX || total - view <= 0 ? target : (target / (total - view)) * scrollable;
  }

  private render(): void {
    const rh = this.opts.rowHeight;
    const view = this.viewHeight();
    const top = this.contentTop();
    const first = Math.max(0, Math.floor(top / rh));
    const visible = Math.min(this.count - first, Math.ceil(view / rh) + 1);
    while (this.rows.length < visible) {
      const row = h('div', { class: 'vlist-row', role: 'option' });
      this.layer.appendChild(row);
      this.rows.push(row);
    }
    while (this.rows.length > Math.max(0, visible)) this.rows.pop()!.remove();
    this.layer.style.transform = `translateY(${this.element.scrollTop - (top - first * rh)}px)`;
    for (let k = 0; k < this.rows.length; k++) {
      const i = first + k;
      const row = this.rows[k]!;
      row.id = `${this.idPrefix}-${i}`;
      row.dataset.index = String(i);
      row.setAttribute('aria-setsize', String(this.count));
      row.setAttribute('aria-posinset', String(i + 1));
      row.setAttribute('aria-selected', String(i === this.activeIndex));
      row.classList.toggle('active', i === this.activeIndex);
      this.opts.renderRow(i, row);
    }
    const activeRendered = this.activeIndex >= first && this.activeIndex < first + this.rows.length;
    if (activeRendered) this.element.setAttribute('aria-activedescendant', `${this.idPrefix}-${this.activeIndex}`);
    else this.element.removeAttribute('aria-activedescendant');
  }

  private indexOfEvent(e: Event): number {
    const row = (e.target as Element | null)?.closest('.vlist-row') as HTMLElement | null;
    return row?.dataset.index !== undefined ? Number(row.dataset.index) : -1;
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.viewHeight() / this.opts.rowHeight) - 1);
    const a = this.activeIndex;
    let next: number | undefined;
    switch (e.key) {
      case 'ArrowDown': next = a + 1; break;
      case 'ArrowUp': next = a < 0 ? 0 : a - 1; break;
      case 'PageDown': next = a + page; break;
      case 'PageUp': next = a - page; break;
      case 'Home': next = 0; break;
      case 'End': next = this.count - 1; break;
      case 'Enter':
        if (a >= 0) this.opts.onActivate?.(a);
        e.preventDefault();
        return;
      default: return;
    }
    e.preventDefault();
    if (this.count > 0) this.setActive(next, true, true);
  }
}
