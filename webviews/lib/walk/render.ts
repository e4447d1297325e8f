// Rendering a walk: the summary line, the address fields, one table row per
// level (entry address, value, where it points, flags as chips), the fault
// at the level where the walk stopped, and for a two-stage walk the grid of
// EPT walks (one row per guest paging-structure access and the final GPA,
// one column per EPT level).

import type { WalkEntryInfo, WalkInfo } from '../../../src/targets/target';
import { h } from '../dom';
import { formatSize, groupHex } from '../format';
import { addressFields, entryTarget, faultLevel, flagMeaning, indexOf } from './decode';

const MODE_NAMES: Record<string, string> = {
  none: 'paging off (linear = physical)', '32-bit': '32-bit paging', pae: 'PAE paging', '4-level': '4-level paging',
};

function chip(flag: string): HTMLElement {
  const meaning = flagMeaning(flag);
  const off = flag === 'not present' || flag === 'RO' || flag === 'S';
  return h('span', { class: off ? 'chip off' : 'chip', title: meaning }, flag);
}

export function flagChips(flags: string[]): HTMLElement {
  return h('span', { class: 'flags' }, ...flags.map(chip));
}

function summary(w: WalkInfo): HTMLElement {
  const what = w.space === 'ept' ? 'EPT walk of guest-physical' : 'Guest walk of';
  const result = w.ok
    ? h('span', { class: 'ok' }, `→ ${groupHex(w.output ?? '?')}${w.pageSize ? ` (${formatSize(w.pageSize)} page)` : ''}`)
    : h('span', { class: 'fault-text' }, `→ fault${w.output ? ` (the page maps to ${groupHex(w.output)})` : ''}`);
  return h('p', { class: 'summary' }, `${what} `, h('code', {}, groupHex(w.input)), ' ', result,
    w.mode ? h('span', { class: 'muted' }, ` · ${MODE_NAMES[w.mode] ?? w.mode}`) : null);
}

function fieldsTable(w: WalkInfo): HTMLElement | null {
  const f = addressFields(w);
  if (f.length === 0) return null;
  return h('table', { class: 'fields', 'aria-label': 'Address fields' },
    h('thead', {}, h('tr', {}, ...f.map((x) => h('th', { scope: 'col' }, x.label)))),
    h('tbody', {}, h('tr', {}, ...f.map((x) => h('td', { class: 'mono' }, h('span', { class: 'muted' }, `[${x.bits}] `), x.value)))));
}

function levelRow(w: WalkInfo, e: WalkEntryInfo, faulting: boolean): HTMLTableRowElement {
  const ix = indexOf(w.input, e.level, w.mode);
  const next = entryTarget(e.value, e.leaf, w.pageSize, w.mode, w.space === 'ept');
  const leafBadge = w.pageSize && w.pageSize > 4096 ? `${formatSize(w.pageSize)} page` : 'leaf';
  return h('tr', { class: faulting ? 'level fault' : 'level', 'data-level': e.level, 'aria-current': faulting ? 'true' : undefined },
    h('th', { scope: 'row' }, e.level, e.leaf ? h('span', { class: 'badge leaf' }, leafBadge) : null),
    h('td', { class: 'mono' }, ix ? String(ix.index) : '—'),
    h('td', { class: 'mono' }, groupHex(e.entryAddress)),
    h('td', { class: 'mono' }, groupHex(e.value)),
    h('td', { class: 'mono' }, next ? `${e.leaf ? 'page' : 'table'} ${groupHex(next)}` : '—'),
    h('td', {}, flagChips(e.flags)));
}

/** The levels of one walk as a table, the faulting level marked and its cause under it. */
export function levelsTable(w: WalkInfo, caption: string): HTMLElement {
  const fl = faultLevel(w);
  const rows: HTMLElement[] = [];
  w.entries.forEach((e, i) => {
    rows.push(levelRow(w, e, i === fl));
    if (i === fl && w.fault) {
      rows.push(h('tr', { class: 'fault-cause' }, h('td', { colspan: 6, role: 'alert' }, `✖ ${e.level}: ${w.fault}`)));
    }
  });
  return h('table', { class: 'levels' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...['Level', 'Index', 'Entry address', 'Value', 'Points to', 'Flags'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows));
}

/** The two-stage (EPT) grid: a row per guest access, a column per EPT level. */
export function nestedGrid(w: WalkInfo): HTMLElement | null {
  const nested = w.nested;
  if (!nested || nested.length === 0) return null;
  const columns: string[] = [];
  for (const n of nested) for (const e of n.entries) if (!columns.includes(e.level)) columns.push(e.level);
  const rowLabel = (i: number): string =>
    i < w.entries.length ? `${w.entries[i]!.level} table` : 'final GPA';
  const body = nested.map((n, i) => {
    const fl = faultLevel(n);
    const cells = columns.map((c) => {
      const k = n.entries.findIndex((e) => e.level === c);
      if (k < 0) return h('td', { class: 'empty' }, '');
      const e = n.entries[k]!;
      const faulting = k === fl;
      return h('td', { class: faulting ? 'cell fault' : 'cell', title: faulting ? n.fault : undefined },
        h('div', { class: 'mono' }, groupHex(e.value)), h('div', { class: 'mono muted' }, `@ ${groupHex(e.entryAddress)}`), flagChips(e.flags),
        faulting && n.fault ? h('div', { class: 'fault-text', role: 'alert' }, n.fault) : null);
    });
    return h('tr', { class: n.ok ? '' : 'fault-row' },
      h('th', { scope: 'row' }, rowLabel(i), h('div', { class: 'mono muted' }, `gpa ${groupHex(n.input)}`)),
      ...cells,
      h('td', { class: 'mono' }, n.ok && n.output ? `hpa ${groupHex(n.output)}` : n.ok ? '' : '✖'));
  });
  return h('table', { class: 'nested' },
    h('caption', {}, 'Two-stage walk: EPT translation of each guest paging-structure access and of the final guest-physical address'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Guest access'), ...columns.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'Result'))),
    h('tbody', {}, ...body));
}

/** Everything about one walk. */
export function renderWalk(w: WalkInfo): HTMLElement[] {
  const out: HTMLElement[] = [summary(w)];
  const f = fieldsTable(w);
  if (f) out.push(f);
  if (w.entries.length) out.push(levelsTable(w, w.space === 'ept' ? 'EPT levels' : 'Guest paging levels'));
  else if (w.fault) out.push(h('p', { class: 'fault-text', role: 'alert' }, `✖ ${w.fault}`));
  else if (w.mode === 'none') out.push(h('p', { class: 'muted' }, 'Paging is off: the linear address is the physical address.'));
  const g = nestedGrid(w);
  if (g) out.push(g);
  return out;
}
