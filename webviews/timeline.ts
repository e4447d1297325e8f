// Exit timeline panel: the session's trace records (vmexit, vmentry, ring,
// exception, mode, …) on a time axis of retired instructions, a lane per
// vCPU; statistics per reason (count, share, instructions spent in VM-exit
// handlers); filters by type and reason; a record list, and the fields of
// the record selected on the canvas or in the list.

import type { HostMessage, ExitStats } from '../src/common/messages';
import type { TraceRecord, TraceType } from '../src/common/trace';
import { connect } from './lib/vscode';
import { h, replace } from './lib/dom';
import { StatusView, emptyFor } from './lib/status';
import { formatCount, percent } from './lib/format';
import { VirtualList } from './lib/virtual-list';
import { fitCanvas, onThemeChange } from './lib/theme';
import { TimelineModel, TYPES, labelOf } from './lib/timeline/model';
import { AXIS, LANE_H, drawTimeline, lowerBound, readTimelinePalette, timeAt, type TimeView } from './lib/timeline/render';

/** Filters survive the panel being hidden (VS Code reloads hidden webviews). */
interface SavedState { types: TraceType[]; reason: string }
const isSaved = (x: unknown): x is SavedState =>
  typeof x === 'object' && x !== null && Array.isArray((x as SavedState).types) &&
  (x as SavedState).types.every((t) => (TYPES as readonly unknown[]).includes(t)) && typeof (x as SavedState).reason === 'string';

const app = document.getElementById('app')!;
const status = new StatusView();
const model = new TimelineModel();
let palette = readTimelinePalette();
let view: TimeView = { t0: 0, t1: 1 };
let fitted = true;
let selected = -1;
let adapterStats: ExitStats | undefined;

const typeBoxes = TYPES.map((t) => {
  const box = h('input', { type: 'checkbox', value: t, checked: model.filter.types.has(t) });
  const count = h('span', { class: 'count muted' });
  const label = h('label', { class: `type type-${t}` }, box, h('span', { class: 'swatch', 'aria-hidden': 'true' }), t, count);
  return { t, box, count, label };
});
const reason = h('input', { type: 'search', id: 'reason', placeholder: 'Reason, e.g. CPUID, #PF', 'aria-label': 'Filter by reason (comma-separated)', size: 22 });
const zoomOut = h('button', { type: 'button', 'aria-label': 'Zoom out' }, '−');
const zoomIn = h('button', { type: 'button', 'aria-label': 'Zoom in' }, '+');
const fitButton = h('button', { type: 'button' }, 'Fit');
const refresh = h('button', { type: 'button', title: 'Fetch every record the adapter kept' }, 'Refresh');
const canvas = h('canvas', { id: 'timeline', class: 'timeline', tabindex: 0, role: 'img', 'aria-describedby': 'timeline-keys' });
const keys = h('p', { id: 'timeline-keys', class: 'help' },
  'Keys on the timeline: ←/→ pan, +/− zoom, Home fit, N/P next/previous record. Click a record for its fields.');
const statsBody = h('tbody', {});
const statsTable = h('table', { class: 'stats' },
  h('caption', {}, 'By reason (filtered records)'),
  h('thead', {}, h('tr', {}, ...['Type', 'Reason', 'Count', 'Share', 'Handler instructions', 'Mean'].map((c) => h('th', { scope: 'col' }, c)))),
  statsBody);
const adapterLine = h('p', { class: 'muted adapter-stats' });
const details = h('div', { class: 'details', 'aria-live': 'polite' });
const list = new VirtualList({
  label: 'Trace records', rowHeight: 22,
  renderRow: (k, row) => renderRow(model.visible[k]!, row),
  onSelect: (k) => select(model.visible[k]!, false),
  onActivate: (k) => { select(model.visible[k]!, false); centreOn(model.visible[k]!); },
});
const body = h('div', { class: 'timeline-body' }, canvas, keys,
  h('div', { class: 'panes' }, h('section', {}, statsTable, adapterLine), h('section', {}, h('h3', {}, 'Record'), details)),
  h('h3', {}, 'Records'), list.element);
const content = h('div', { class: 'content' });
app.append(
  h('header', { class: 'toolbar' }, h('fieldset', { class: 'types' }, h('legend', { class: 'visually-hidden' }, 'Record types'), ...typeBoxes.map((b) => b.label)),
    reason, zoomOut, zoomIn, fitButton, refresh),
  status.element, content,
);
app.removeAttribute('aria-busy');

const channel = connect('timeline', onMessage);
const saved = channel.loadState(isSaved);
if (saved) {
  for (const b of typeBoxes) b.box.checked = saved.types.includes(b.t);
  reason.value = saved.reason;
  model.setFilter(new Set(saved.types), saved.reason);
}
onThemeChange(() => { palette = readTimelinePalette(); draw(); });
new ResizeObserver(() => draw()).observe(canvas);

for (const b of typeBoxes) b.box.addEventListener('change', applyFilter);
reason.addEventListener('input', applyFilter);
zoomIn.addEventListener('click', () => zoom(0.5));
zoomOut.addEventListener('click', () => zoom(2));
fitButton.addEventListener('click', fit);
refresh.addEventListener('click', () => channel.post({ type: 'refresh' }));
canvas.addEventListener('keydown', onKey);
canvas.addEventListener('wheel', (e) => { e.preventDefault(); zoom(e.deltaY < 0 ? 0.5 : 2, timeAt(view, canvas.clientWidth, e.offsetX)); }, { passive: false });
canvas.addEventListener('click', (e) => {
  const i = recordAt(e.offsetX, e.offsetY);
  if (i >= 0) select(i, true);
});

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'session': {
      status.set(m.status);
      document.body.classList.toggle('stale', m.status.state === 'none');
      showContent();
      break;
    }
    case 'trace':
      if (m.reset) { model.reset(); selected = -1; fitted = true; }
      model.add(m.records);
      update();
      break;
    case 'exitStats': adapterStats = m.stats; renderStats(); break;
    case 'notice': status.showNotice(m.level, m.text); break;
    default: break;
  }
}

function showContent(): void {
  const empty = emptyFor(status.current);
  if (model.records.length === 0) {
    const e = empty && status.current.state === 'none' ? empty
      : { title: 'No trace records yet', hint: 'Records appear as the guest changes ring or mode, takes exceptions, and (with VMX) exits to its hypervisor.' };
    replace(content, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, e.title), h('p', {}, e.hint)));
  } else if (!body.isConnected) {
    replace(content, body);
  }
}

function applyFilter(): void {
  const types = new Set<TraceType>(typeBoxes.filter((b) => b.box.checked).map((b) => b.t));
  model.setFilter(types, reason.value);
  channel.saveState({ types: [...types], reason: reason.value } satisfies SavedState);
  update();
}

function update(): void {
  showContent();
  if (fitted) view = { t0: model.minIcount, t1: model.maxIcount };
  const counts = model.typeCounts();
  for (const b of typeBoxes) b.count.textContent = ` ${formatCount(counts.get(b.t) ?? 0)}`;
  canvas.style.height = `${AXIS + Math.max(1, model.lanes.length) * LANE_H + 4}px`;
  list.setCount(model.visible.length);
  renderStats();
  draw();
  document.body.dataset.records = String(model.records.length);
  document.body.dataset.visible = String(model.visible.length);
}

function draw(): void {
  if (!canvas.isConnected) return;
  const c = fitCanvas(canvas);
  drawTimeline(c.ctx, c.width, c.height, model, view, palette, selected);
  canvas.setAttribute('aria-label', `Timeline of ${model.visible.length} records on ${model.lanes.length} vCPUs, instructions ${Math.round(view.t0)} to ${Math.round(view.t1)}`);
}

function renderStats(): void {
  const stats = model.stats();
  const total = model.visible.length;
  replace(statsBody, ...stats.map((s) => h('tr', { 'data-type': s.type, 'data-reason': s.label },
    h('td', {}, h('span', { class: `swatch type-${s.type}`, 'aria-hidden': 'true' }), s.type),
    h('td', { class: 'mono' }, h('button', { type: 'button', class: 'link', title: `Show only ${s.label}` }, s.label)),
    h('td', { class: 'num' }, formatCount(s.count)),
    h('td', { class: 'num' }, percent(s.count, total)),
    h('td', { class: 'num' }, s.handler !== undefined && s.paired ? formatCount(s.handler) : '—'),
    h('td', { class: 'num' }, s.handler !== undefined && s.paired ? formatCount(Math.round(s.handler / s.paired)) : '—'))));
  for (const b of Array.from(statsBody.querySelectorAll<HTMLButtonElement>('button.link'))) {
    b.addEventListener('click', () => { reason.value = b.textContent ?? ''; applyFilter(); });
  }
  adapterLine.textContent = adapterStats && adapterStats.total > 0
    ? `Over the whole session the adapter counted ${formatCount(adapterStats.total)} VM exits: ` +
      adapterStats.reasons.slice(0, 6).map((r) => `${r.reason} ${formatCount(r.count)}` +
        (r.vmmInstructions !== undefined ? ` (${formatCount(r.vmmInstructions)} instructions in the VMM)` : '')).join(', ') + '.'
    : '';
}

function renderRow(i: number, row: HTMLElement): void {
  const r = model.records[i];
  if (!r) return;
  const key = `${i}`;
  if (row.dataset.record === key) return;
  row.dataset.record = key;
  replace(row, h('span', { class: `swatch type-${r.type}`, 'aria-hidden': 'true' }), h('span', { class: 'mono num' }, formatCount(r.icount)),
    h('span', {}, `vCPU ${r.cpu}`), h('span', { class: 'type-name' }, r.type), h('span', { class: 'mono' }, labelOf(r)), h('span', { class: 'mono muted' }, r.rip));
}

function select(i: number, syncList: boolean): void {
  selected = i;
  const r = model.records[i];
  if (!r) return;
  const fields = Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as const);
  const h2 = model.handlerOf(i);
  replace(details, h('dl', {}, ...fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]),
    ...(h2 !== undefined ? [h('dt', {}, 'handler'), h('dd', { class: 'mono' }, `${formatCount(h2)} instructions to the next VM entry`)] : [])));
  if (syncList) {
    const k = model.visible.indexOf(i);
    if (k >= 0) list.setActive(k, true);
  }
  draw();
}

function recordAt(x: number, y: number): number {
  const lane = model.lanes[Math.floor((y - AXIS) / LANE_H)];
  if (!lane) return -1;
  const t = timeAt(view, canvas.clientWidth, x);
  const tpp = (view.t1 - view.t0) / Math.max(1, canvas.clientWidth - 72);
  const k = lowerBound(lane.icounts, t - 5 * tpp);
  let best = -1, bestD = 5 * tpp;
  for (let j = k; j < lane.icounts.length && lane.icounts[j]! <= t + 5 * tpp; j++) {
    const d = Math.abs(lane.icounts[j]! - t);
    if (d <= bestD) { best = lane.records[j]!; bestD = d; }
  }
  return best;
}

function zoom(factor: number, focus = (view.t0 + view.t1) / 2): void {
  const span = Math.max(10, Math.min((model.maxIcount - model.minIcount) * 1.02, (view.t1 - view.t0) * factor));
  const t0 = focus - ((focus - view.t0) * span) / (view.t1 - view.t0);
  setView(t0, t0 + span);
}

function setView(t0: number, t1: number): void {
  const span = t1 - t0;
  const lo = model.minIcount - span * 0.01, hi = model.maxIcount + span * 0.01;
  const a = Math.max(lo, Math.min(hi - span, t0));
  view = { t0: a, t1: a + span };
  fitted = false;
  draw();
}

function fit(): void {
  fitted = true;
  view = { t0: model.minIcount, t1: model.maxIcount };
  draw();
}

function centreOn(i: number): void {
  const r = model.records[i];
  if (!r) return;
  const span = view.t1 - view.t0;
  setView(r.icount - span / 2, r.icount + span / 2);
}

function step(dir: 1 | -1): void {
  if (model.visible.length === 0) return;
  const k = model.visible.indexOf(selected);
  const next = k < 0 ? (dir > 0 ? 0 : model.visible.length - 1) : Math.max(0, Math.min(model.visible.length - 1, k + dir));
  select(model.visible[next]!, true);
  const r: TraceRecord | undefined = model.records[selected];
  if (r && (r.icount < view.t0 || r.icount > view.t1)) centreOn(selected);
}

function onKey(e: KeyboardEvent): void {
  const span = view.t1 - view.t0;
  switch (e.key) {
    case 'ArrowLeft': setView(view.t0 - span / 8, view.t1 - span / 8); break;
    case 'ArrowRight': setView(view.t0 + span / 8, view.t1 + span / 8); break;
    case '+': case '=': zoom(0.5); break;
    case '-': case '_': zoom(2); break;
    case 'Home': fit(); break;
    case 'n': case 'N': step(1); break;
    case 'p': case 'P': step(-1); break;
    default: return;
  }
  e.preventDefault();
}
