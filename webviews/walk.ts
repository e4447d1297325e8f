// Address walk panel: type a guest-virtual address (or pick a register value
// of the stopped vCPU) and see the walk through the guest's page tables
// level by level — entry address, value, decoded flags — with the level
// where it faulted marked and the cause given; when the adapter returns a
// two-stage walk (WalkInfo.nested, under EPT) the EPT walks appear as a grid.

import { normalizeAddress, type HostMessage, type MapSpace, type RegisterChoice } from '../src/common/messages';
import type { WalkInfo } from '../src/targets/target';
import { connect } from './lib/vscode';
import { h, replace } from './lib/dom';
import { StatusView, emptyFor } from './lib/status';
import { renderWalk } from './lib/walk/render';

interface SavedState { address: string; space: MapSpace }
const isSaved = (x: unknown): x is SavedState =>
  typeof x === 'object' && x !== null && typeof (x as SavedState).address === 'string' &&
  ((x as SavedState).space === 'gva' || (x as SavedState).space === 'gpa');

const app = document.getElementById('app')!;
const status = new StatusView();
const input = h('input', {
  id: 'address', class: 'address', type: 'text', spellcheck: 'false', autocomplete: 'off',
  placeholder: 'Address, e.g. 0xffff800000001000', 'aria-label': 'Address to walk', size: 28,
});
const space = h('select', { id: 'space', 'aria-label': 'Address space' },
  h('option', { value: 'gva' }, 'gva: guest paging'), h('option', { value: 'gpa' }, 'gpa: EPT'));
const walkButton = h('button', { type: 'submit', class: 'primary' }, 'Walk');
const registers = h('select', { id: 'registers', 'aria-label': 'Walk a register value' }, h('option', { value: '' }, 'Register…'));
const form = h('form', { class: 'toolbar', role: 'search' }, input, space, walkButton, registers);
const inputError = h('p', { class: 'input-error', role: 'alert' });
const content = h('div', { class: 'content walk', 'aria-live': 'polite' });
app.append(form, inputError, status.element, content);
app.removeAttribute('aria-busy');

const channel = connect('walk', onMessage);
const saved = channel.loadState(isSaved);
if (saved) { input.value = saved.address; space.value = saved.space; }
let lastWalk: WalkInfo | undefined;
let registersSeen = false;

form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
registers.addEventListener('change', () => {
  if (!registers.value) return;
  input.value = registers.value;
  space.value = 'gva';
  submit();
});

function submit(): void {
  const text = input.value;
  const address = normalizeAddress(text);
  if (!address) {
    inputError.textContent = text.trim() ? `"${text.trim()}" is not an address: type hex digits, e.g. 0x401000` : 'Type an address to walk.';
    input.setAttribute('aria-invalid', 'true');
    return;
  }
  inputError.textContent = '';
  input.removeAttribute('aria-invalid');
  const sp = space.value === 'gpa' ? 'gpa' : 'gva';
  channel.saveState({ address, space: sp } satisfies SavedState);
  content.setAttribute('aria-busy', 'true');
  channel.post({ type: 'translate', address, space: sp });
}

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'session': {
      status.set(m.status);
      const empty = emptyFor(m.status);
      document.body.classList.toggle('stale', m.status.state !== 'stopped');
      if (empty && !lastWalk) replace(content, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, empty.title), h('p', {}, empty.hint)));
      else if (!lastWalk) showHint();
      break;
    }
    case 'walk': showWalk(m.walk, m.error); break;
    case 'registers': showRegisters(m.registers); break;
    case 'setAddress':
      input.value = m.address;
      space.value = 'gva';
      if (m.translate) submit();
      break;
    case 'notice': status.showNotice(m.level, m.text); break;
    default: break;
  }
}

function showHint(): void {
  replace(content, h('div', { class: 'empty-state', role: 'status' }, h('h2', {}, 'Walk an address'),
    h('p', {}, 'Type a guest-virtual address above, or pick a register, to see each paging level the CPU reads to translate it.')));
}

function showWalk(w: WalkInfo | undefined, error: string | undefined): void {
  content.removeAttribute('aria-busy');
  if (!w) {
    replace(content, h('p', { class: 'fault-text', role: 'alert' }, error ?? 'no walk'));
    return;
  }
  lastWalk = w;
  replace(content, ...renderWalk(w));
  document.body.dataset.walk = w.ok ? 'ok' : 'fault';
}

const PREFERRED = ['rip', 'eip', 'ip', 'rsp', 'esp', 'cr2', 'cr3'];

function showRegisters(list: RegisterChoice[]): void {
  const sorted = [...list].sort((a, b) => rank(a.name) - rank(b.name));
  replace(registers, h('option', { value: '' }, 'Register…'),
    ...sorted.map((r) => h('option', { value: r.value }, `${r.name} = ${r.value}`)));
  // First registers of a stop with nothing typed yet: walk the instruction pointer.
  if (!registersSeen && !input.value) {
    const pc = sorted.find((r) => ['rip', 'eip', 'ip', 'pc'].includes(r.name.toLowerCase()));
    if (pc) { input.value = pc.value; submit(); }
  }
  registersSeen = true;
}

function rank(name: string): number {
  const i = PREFERRED.indexOf(name.toLowerCase());
  return i < 0 ? PREFERRED.length : i;
}
