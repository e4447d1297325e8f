// Memory map panel: the guest's address space as a picture. Regions from
// vmscope/memoryMap ('gva' through the vCPU's paging, 'gpa' as EPT or the
// physical RAM/MMIO layout) are coalesced into ranges and coloured by
// permissions; the log-scale overview shows the whole space, the main
// picture a zoomable window down to one 4 KiB page, and the list beside it
// the ranges in that window (Tab to it, Enter opens the hex Memory view).

import type { HostMessage, MapSpace, SessionStatus } from '../src/common/messages';
import type { MemoryRegion } from '../src/targets/target';
import { connect } from './lib/vscode';
import { h, replace } from './lib/dom';
import { StatusView, emptyFor } from './lib/status';
import { formatCount, formatSize, groupHex } from './lib/format';
import { VirtualList } from './lib/virtual-list';
import { MapModel, type ColourClass } from './lib/memmap/model';
import { MapCanvas } from './lib/memmap/map-canvas';
import { addressAt } from './lib/memmap/space';
import type { View } from './lib/memmap/viewport';

interface SavedState { space: MapSpace; views: Partial<Record<MapSpace, View>> }
const isView = (x: unknown): x is View =>
  typeof x === 'object' && x !== null && typeof (x as View).start === 'number' && typeof (x as View).span === 'number';
const isSaved = (x: unknown): x is SavedState =>
  typeof x === 'object' && x !== null && ((x as SavedState).space === 'gva' || (x as SavedState).space === 'gpa') &&
  typeof (x as SavedState).views === 'object' && Object.values((x as SavedState).views ?? {}).every(isView);

const LEGEND: Record<ColourClass, string> = {
  r: 'read-only', rw: 'read/write', rx: 'read/execute', rwx: 'read/write/execute',
  ram: 'RAM', mmio: 'MMIO', rom: 'ROM', none: 'no access',
};

const app = document.getElementById('app')!;
const status = new StatusView();
const spaceButtons = (['gva', 'gpa'] as const).map((s) =>
  h('button', { type: 'button', class: 'toggle', 'data-space': s, 'aria-pressed': 'false' }, s === 'gva' ? 'Virtual (gva)' : 'Physical (gpa)'));
const zoomOut = h('button', { type: 'button', title: 'Zoom out (−)', 'aria-label': 'Zoom out' }, '−');
const zoomIn = h('button', { type: 'button', title: 'Zoom in (+)', 'aria-label': 'Zoom in' }, '+');
const fit = h('button', { type: 'button', title: 'Fit the mapped ranges (0)' }, 'Fit');
const whole = h('button', { type: 'button', title: 'Whole address space (Home)' }, 'Whole space');
const refresh = h('button', { type: 'button', title: 'Fetch the map again' }, 'Refresh');
const readout = h('span', { class: 'readout', 'aria-live': 'polite' });
const overview = h('canvas', { id: 'overview', class: 'overview', role: 'img', 'aria-label': 'Whole address space, log scale; click to zoom there' });
const main = h('canvas', { id: 'map', class: 'map', tabindex: 0, role: 'img', 'aria-describedby': 'map-keys' });
const keys = h('p', { id: 'map-keys', class: 'help' },
  'Keys on the map: ←/→ pan, ↑/↓ one row, PageUp/PageDown one view, +/− zoom, Home whole space, 0 fit, Enter opens the selected range. Tab reaches the range list.');
const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' });
const details = h('div', { class: 'details', 'aria-live': 'polite' });
const content = h('div', { class: 'content' });

let saved: SavedState = { space: 'gva', views: {} };
let lo = 0;
let selected = -1;

const canvas = new MapCanvas(main, overview, {
  onView: (v) => { saved.views[saved.space] = v; channel.saveState(saved); updateList(); updateReadout(); },
  onHover: (i) => showDetails(i >= 0 ? i : selected),
  onOpen: (i) => { select(i, true); openRange(i); },
});

const list = new VirtualList({
  label: 'Ranges in view',
  rowHeight: 22,
  renderRow: (k, row) => renderRow(lo + k, row),
  onSelect: (k) => select(lo + k, false),
  onActivate: (k) => openRange(lo + k),
});

const mapArea = h('div', { class: 'map-area' }, overview, main, keys);
const side = h('aside', { class: 'side' }, legend, details, h('h3', { id: 'ranges-title' }, 'Ranges in view'), list.element);
const body = h('div', { class: 'map-body' }, mapArea, side);
app.append(
  h('header', { class: 'toolbar' }, h('span', { class: 'group', role: 'group', 'aria-label': 'Address space' }, ...spaceButtons),
    zoomOut, zoomIn, fit, whole, refresh, readout),
  status.element, content,
);
app.removeAttribute('aria-busy');

const channel = connect('memory-map', onMessage);
saved = channel.loadState(isSaved) ?? saved;
markSpace();

for (const b of spaceButtons) b.addEventListener('click', () => switchSpace(b.dataset.space as MapSpace));
zoomIn.addEventListener('click', () => key('+'));
zoomOut.addEventListener('click', () => key('-'));
fit.addEventListener('click', () => key('0'));
whole.addEventListener('click', () => key('Home'));
refresh.addEventListener('click', () => channel.post({ type: 'refresh' }));

function key(k: string): void {
  main.dispatchEvent(new KeyboardEvent('keydown', { key: k }));
}

function switchSpace(space: MapSpace): void {
  if (space === saved.space) return;
  saved.space = space;
  channel.saveState(saved);
  markSpace();
  canvas.setModel(undefined);
  channel.post({ type: 'memoryMap', space });
}

function markSpace(): void {
  for (const b of spaceButtons) b.setAttribute('aria-pressed', String(b.dataset.space === saved.space));
}

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'session': showStatus(m.status); break;
    case 'memoryMap': if (m.space === saved.space) showMap(m.space, m.regions, m.pagingMode, m.error); break;
    case 'notice': status.showNotice(m.level, m.text); break;
    default: break;
  }
}

function showStatus(s: SessionStatus): void {
  status.set(s);
  const empty = emptyFor(s);
  if (empty && !canvas.current) showEmpty(empty.title, empty.hint);
  document.body.classList.toggle('stale', s.state !== 'stopped');
}

function showEmpty(title: string, hint: string): void {
  replace(content, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, title), h('p', {}, hint)));
}

function showMap(space: MapSpace, regions: readonly MemoryRegion[], pagingMode: string | undefined, error?: string): void {
  if (error) { canvas.setModel(undefined); showEmpty('No memory map', error); return; }
  const t0 = performance.now();
  const model = new MapModel(space, regions, pagingMode);
  performance.measure('memory-map:model', { start: t0 });
  if (model.count === 0) {
    canvas.setModel(undefined);
    showEmpty('Nothing mapped', space === 'gva' ? 'The page tables of this vCPU map no addresses.' : 'This space has no regions.');
    return;
  }
  if (!body.isConnected) replace(content, body);
  const keep = canvas.current?.space === space ? canvas.view : saved.views[space];
  canvas.setModel(model, keep);
  renderLegend(model);
  selected = -1;
  showDetails(-1);
  canvas.draw();
  document.body.dataset.ranges = String(model.count);
}

function renderLegend(model: MapModel): void {
  const items = [...model.classes()].map((c) => h('li', {}, h('span', { class: `swatch sw-${c}`, 'aria-hidden': 'true' }), LEGEND[c]));
  const attrs = model.attrs;
  if (attrs.some((a) => a.user)) items.push(h('li', {}, h('span', { class: 'swatch sw-user', 'aria-hidden': 'true' }), 'hatched: user (ring 3) accessible'));
  if (attrs.some((a) => a.large)) items.push(h('li', {}, h('span', { class: 'swatch sw-large', 'aria-hidden': 'true' }), 'top line: large pages'));
  if (attrs.some((a) => a.memoryType && a.memoryType !== 'WB')) items.push(h('li', {}, h('span', { class: 'swatch sw-uncached', 'aria-hidden': 'true' }), 'bottom line: not write-back'));
  if (model.space === 'gpa') items.push(h('li', { class: 'muted' }, model.regions.some((r) => r.target) ? 'EPT view: guest-physical → host-physical' : 'physical layout (no EPT)'));
  replace(legend, ...items);
}

function updateReadout(): void {
  const model = canvas.current;
  if (!model) { readout.textContent = ''; return; }
  const v = canvas.view;
  const [a, b] = model.rangesIn(v.start, v.start + v.span);
  readout.textContent = `${formatSize(v.span)} view, ${formatSize(v.span / 32)} per row · ${formatCount(b - a)} of ${formatCount(model.count)} ranges`;
  main.setAttribute('aria-label', `Memory map of ${model.space} from ${addressAt(model.line, v.start)} to ${addressAt(model.line, v.start + v.span)}: ${b - a} ranges in view`);
}

function updateList(): void {
  const model = canvas.current;
  if (!model) { list.setCount(0); return; }
  const v = canvas.view;
  const [a, b] = model.rangesIn(v.start, v.start + v.span);
  lo = a;
  list.setCount(b - a);
  if (selected >= a && selected < b) list.setActive(selected - a, true);
  else list.refresh();
}

function rangeText(model: MapModel, i: number): { start: string; end: string; size: string } {
  return {
    start: addressAt(model.line, model.starts[i]!),
    end: addressAt(model.line, model.ends[i]!),
    size: formatSize(model.ends[i]! - model.starts[i]!),
  };
}

function renderRow(i: number, row: HTMLElement): void {
  const model = canvas.current;
  if (!model || i >= model.count) return;
  const a = model.attrsOf(i);
  const t = rangeText(model, i);
  const label = `${groupHex(t.start)} ${t.size} ${a.perms}${a.large ? ` ${formatSize(a.pageSize)} pages` : ''}${a.name ? ` ${a.name}` : ''}`;
  if (row.dataset.label === label) return;
  row.dataset.label = label;
  replace(row, h('span', { class: `swatch sw-${a.cls}`, 'aria-hidden': 'true' }), h('span', { class: 'mono' }, groupHex(t.start)),
    h('span', { class: 'size' }, t.size), h('span', { class: 'mono perms' }, a.perms),
    a.large ? h('span', { class: 'badge' }, formatSize(a.pageSize)) : null, a.name ? h('span', { class: 'muted' }, a.name) : null);
}

function select(i: number, syncList: boolean): void {
  selected = i;
  canvas.select(i);
  showDetails(i);
  if (syncList && i >= lo && i < lo + list.size) list.setActive(i - lo, true);
}

function showDetails(i: number): void {
  const model = canvas.current;
  if (!model || i < 0 || i >= model.count) {
    replace(details, h('p', { class: 'muted' }, 'Point at a range for details; click it (or Enter) to open it in the Memory view.'));
    return;
  }
  const a = model.attrsOf(i);
  const t = rangeText(model, i);
  const src = model.regions[model.first[i]!]!;
  const n = model.merged[i]!;
  const perms = [a.perms[0] === 'r' && 'read', a.perms[1] === 'w' && 'write', a.perms[2] === 'x' && 'execute',
    a.perms[3] === 'u' ? 'user' : a.perms[3] === 's' ? 'supervisor only' : undefined].filter(Boolean).join(', ');
  const rows: [string, string][] = [
    ['Range', `${groupHex(t.start)} – ${groupHex(t.end)}`],
    ['Size', `${t.size}${n > 1 ? ` (${formatCount(n)} mappings)` : ''}`],
    ['Access', perms || 'none'],
    ['Pages', `${formatSize(a.pageSize)}${a.large ? ' (large pages)' : ''}`],
  ];
  if (src.target) rows.push([model.space === 'gva' ? 'Maps to (gpa)' : 'Maps to (hpa)', `${groupHex(src.target)}${n > 1 ? ' (first byte)' : ''}`]);
  if (a.memoryType) rows.push(['Memory type', a.memoryType]);
  if (a.kind) rows.push(['Kind', a.kind]);
  if (a.name) rows.push(['Name', a.name]);
  replace(details, h('dl', {}, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('button', { type: 'button', class: 'open', 'data-index': i }, 'Open in Memory view'));
  details.querySelector('button.open')?.addEventListener('click', () => openRange(i));
}

function openRange(i: number): void {
  const model = canvas.current;
  if (!model || i < 0 || i >= model.count) return;
  const length = Math.min(model.ends[i]! - model.starts[i]!, 2 ** 32);
  channel.post({ type: 'openMemory', space: model.space, address: addressAt(model.line, model.starts[i]!), length });
}
