// VMCS inspector panel: the current VMCS of the stopped vCPU (vmscope/vmcs)
// by group — guest state, host state, controls, exit information — with the
// control fields decoded into named bits, the fields whose value changed
// since the previous stop marked, and a search by name or encoding. With no
// current VMCS (no VMX yet, or before VMPTRLD) the adapter's reason is the
// empty state.

import type { HostMessage } from '../src/common/messages';
import type { VmcsField, VmcsInfo } from '../src/targets/target';
import { connect } from './lib/vscode';
import { h, replace } from './lib/dom';
import { StatusView, emptyFor } from './lib/status';
import { groupHex } from './lib/format';
import { controlTitle, decodeField } from './lib/vmcs/decode';

/** Values by encoding at a stop, so the next stop can mark what changed. */
interface Snapshot { stop: number; values: Record<string, string> }
interface SavedState { current?: Snapshot; previous?: Snapshot }
const isSnapshot = (x: unknown): x is Snapshot =>
  typeof x === 'object' && x !== null && typeof (x as Snapshot).stop === 'number' && typeof (x as Snapshot).values === 'object';
const isSaved = (x: unknown): x is SavedState =>
  typeof x === 'object' && x !== null && [(x as SavedState).current, (x as SavedState).previous].every((s) => s === undefined || isSnapshot(s));

const app = document.getElementById('app')!;
const status = new StatusView();
const search = h('input', { type: 'search', id: 'search', placeholder: 'Field name or encoding, e.g. GUEST_RIP or 0x681e', 'aria-label': 'Search fields by name or encoding', size: 34 });
const onlyChanged = h('input', { type: 'checkbox', id: 'only-changed' });
const refresh = h('button', { type: 'button' }, 'Refresh');
const summary = h('span', { class: 'readout', 'aria-live': 'polite' });
const content = h('div', { class: 'content vmcs' });
app.append(
  h('header', { class: 'toolbar' }, search, h('label', {}, onlyChanged, ' Only changed since the last stop'), refresh, summary),
  status.element, content,
);
app.removeAttribute('aria-busy');

const channel = connect('vmcs', onMessage);
let saved: SavedState = channel.loadState(isSaved) ?? {};
let vmcs: VmcsInfo | undefined;

search.addEventListener('input', applySearch);
onlyChanged.addEventListener('change', applySearch);
refresh.addEventListener('click', () => channel.post({ type: 'refresh' }));

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'session': {
      status.set(m.status);
      document.body.classList.toggle('stale', m.status.state !== 'stopped');
      const empty = emptyFor(m.status);
      if (empty && !vmcs) showEmpty(empty.title, empty.hint);
      break;
    }
    case 'vmcs':
      if (m.vmcs) show(m.vmcs, m.stopCount);
      else { vmcs = undefined; showEmpty('No current VMCS', emptyHint(m.message)); }
      break;
    case 'notice': status.showNotice(m.level, m.text); break;
    default: break;
  }
}

function emptyHint(message: string | undefined): string {
  const why = message ? `The adapter says: ${message}. ` : '';
  return `${why}A vCPU has a current VMCS once the guest (a hypervisor) has executed VMXON and VMPTRLD; until then there is nothing to inspect.`;
}

function showEmpty(title: string, hint: string): void {
  summary.textContent = '';
  replace(content, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, title), h('p', {}, hint)));
  document.body.dataset.vmcs = 'none';
}

/** Moves the snapshots along when this is a new stop, and returns the values to compare with. */
function baselineFor(info: VmcsInfo, stop: number): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  for (const g of info.groups) for (const f of g.fields) values[f.encoding] = f.value;
  if (saved.current && saved.current.stop !== stop) saved = { previous: saved.current, current: { stop, values } };
  else saved = { ...saved, current: { stop, values } };
  channel.saveState(saved);
  return saved.previous?.values;
}

function show(info: VmcsInfo, stop: number): void {
  vmcs = info;
  const before = baselineFor(info, stop);
  let changed = 0;
  const sections = info.groups.map((g) => {
    const rows = g.fields.map((f) => {
      const was = before?.[f.encoding];
      const isChanged = was !== undefined && was !== f.value;
      if (isChanged) changed++;
      return fieldRow(f, isChanged ? was : undefined);
    });
    return h('section', { class: 'group', 'data-group': g.id },
      h('h2', {}, g.label, h('span', { class: 'muted count' }, ` ${g.fields.length} fields`)),
      h('table', { 'aria-label': g.label },
        h('thead', {}, h('tr', {}, ...['', 'Field', 'Encoding', 'Value', 'Meaning'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows)));
  });
  replace(content, h('p', { class: 'muted' }, `VMCS at ${groupHex(info.address)} · stop ${stop}` +
    (before ? ` · ${changed} field${changed === 1 ? '' : 's'} changed since the previous stop` : ' · first stop seen: nothing to compare yet')),
  ...sections);
  document.body.dataset.vmcs = 'shown';
  document.body.dataset.changed = String(changed);
  applySearch();
}

function fieldRow(f: VmcsField, was: string | undefined): HTMLTableRowElement {
  const enc = parseInt(f.encoding, 16);
  let value: bigint;
  try { value = BigInt(f.value); } catch { value = 0n; }
  const d = decodeField(enc, value);
  let meaning: HTMLElement | string = '';
  if (d?.bits) {
    const set = d.bits.filter((b) => b.set);
    meaning = h('details', {},
      h('summary', {}, ...(set.length ? set.map((b) => h('span', { class: 'chip', title: `bit ${b.bit}` }, b.name)) : [h('span', { class: 'muted' }, 'none set')])),
      h('ul', { class: 'bits', 'aria-label': controlTitle(enc) ?? 'bits' },
        ...d.bits.map((b) => h('li', { class: b.set ? 'on' : 'off' }, h('span', { class: 'mono' }, `${b.bit}`), ` ${b.name}`, b.set ? '' : ' (0)'))));
  } else if (d?.text) {
    meaning = d.text;
  }
  return h('tr', {
    class: was !== undefined ? 'field changed' : 'field',
    'data-name': f.name, 'data-encoding': f.encoding.toLowerCase(),
  },
  h('td', { class: 'mark' }, was !== undefined ? h('span', { title: `changed since the last stop (was ${was})`, 'aria-label': `changed, was ${was}` }, '●') : ''),
  h('th', { scope: 'row', class: 'mono' }, f.name),
  h('td', { class: 'mono' }, f.encoding),
  h('td', { class: 'mono' }, groupHex(f.value), was !== undefined ? h('div', { class: 'was muted' }, `was ${groupHex(was)}`) : null),
  h('td', {}, meaning));
}

function applySearch(): void {
  const q = search.value.trim().toLowerCase();
  const hex = q.replace(/^0x/, '');
  const isHex = /^[0-9a-f]{1,4}$/.test(hex);
  let shown = 0;
  for (const row of Array.from(content.querySelectorAll<HTMLTableRowElement>('tr.field'))) {
    const name = (row.dataset.name ?? '').toLowerCase();
    const enc = (row.dataset.encoding ?? '').replace(/^0x/, '').padStart(4, '0');
    const match = !q || name.includes(q) || (isHex && (enc === hex.padStart(4, '0') || enc.startsWith(hex)));
    const visible = match && (!onlyChanged.checked || row.classList.contains('changed'));
    row.hidden = !visible;
    if (visible) shown++;
  }
  for (const section of Array.from(content.querySelectorAll<HTMLElement>('section.group'))) {
    section.hidden = !section.querySelector('tr.field:not([hidden])');
  }
  if (vmcs) summary.textContent = `${shown} field${shown === 1 ? '' : 's'} shown`;
}
