// The five event filters of DESIGN.md (DAP exception breakpoint filters) and
// their conditions:
//   vmexit           exit reason names or numbers, "CPUID, EPT_VIOLATION, 30", optionally "&& expr"
//   vmentry-failure  no condition
//   ring             "3->0", "0->3", "any" (also "x->y" lists), optionally "&& expr"
//   exception        vector names or numbers, "#PF, #GP" or "14", optionally "&& expr"
//   shutdown         no condition
// A condition becomes a predicate over trace records (the target stops on
// it); the "&& expr" part is checked by the session after the stop, over
// registers and memory, and a false one resumes the guest.
//
// Exit-reason names come from the target (Target.exitReasons; the emulator
// backs it with the one VMX exit-reason table, src/engine/vmx/exit-reasons.ts).
// A backend without such a table accepts numbers only, and a name gets a
// message saying so.

import type { TraceRecord } from '../common/trace';
import type { ExitReasonNames } from '../targets/target';
import { parseVector } from '../engine/x86/vectors';

export const FILTER_IDS = ['vmexit', 'vmentry-failure', 'ring', 'exception', 'shutdown'] as const;
export type FilterId = (typeof FILTER_IDS)[number];

interface ParsedFilter {
  /** Predicate over the record (undefined: any record of the filter's type). */
  match?: (r: TraceRecord) => boolean;
  /** The "&& expr" part, evaluated after the stop. */
  expr?: string;
  condition?: string;
}

export interface FilterState {
  enabled: Map<FilterId, ParsedFilter>;
}

export interface FilterResult { state: FilterState; errors: Map<FilterId, string> }

/** Filters on by default (DESIGN.md), before the client sends setExceptionBreakpoints. */
export function defaultFilters(): FilterState {
  return { enabled: new Map<FilterId, ParsedFilter>([['vmentry-failure', {}], ['shutdown', {}]]) };
}

function isFilterId(s: string): s is FilterId {
  return (FILTER_IDS as readonly string[]).includes(s);
}

/** Splits "list && expr" at the first "&&". */
function splitCondition(c: string): { list: string; expr?: string } {
  const i = c.indexOf('&&');
  if (i < 0) return { list: c.trim() };
  const expr = c.slice(i + 2).trim();
  return { list: c.slice(0, i).trim(), ...(expr ? { expr } : {}) };
}

function listItems(list: string): string[] {
  return list.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function parseExitReasons(list: string, names: ExitReasonNames | undefined): Set<number> {
  const out = new Set<number>();
  for (const item of listItems(list)) {
    if (/^(0x[0-9a-f]+|\d+)$/i.test(item)) { out.add(Number(item)); continue; }
    if (!names) {
      throw new Error(`exit reason "${item}": this backend has no exit-reason names; use reason numbers (e.g. 10 for CPUID)`);
    }
    const code = names.byName(item.toUpperCase().replace(/^EXIT_REASON_/, ''));
    if (code === undefined) throw new Error(`unknown exit reason "${item}"`);
    out.add(code);
  }
  return out;
}

function parseRing(list: string): (from: number, to: number) => boolean {
  const items = listItems(list);
  if (items.length === 0 || items.some((i) => i.toLowerCase() === 'any')) return () => true;
  const pairs = items.map((item) => {
    const m = /^([0-3*])\s*->\s*([0-3*])$/.exec(item);
    if (!m) throw new Error(`ring condition "${item}": expected "3->0", "0->3" or "any"`);
    return [m[1] === '*' ? -1 : Number(m[1]), m[2] === '*' ? -1 : Number(m[2])] as const;
  });
  return (from, to) => pairs.some(([f, t]) => (f < 0 || f === from) && (t < 0 || t === to));
}

function parseVectors(list: string): Set<number> {
  const out = new Set<number>();
  for (const item of listItems(list)) {
    const v = parseVector(item);
    if (v === undefined) throw new Error(`unknown exception "${item}": use a name such as #PF or #GP, or a vector number`);
    out.add(v);
  }
  return out;
}

function parseOne(id: FilterId, condition: string | undefined, names: ExitReasonNames | undefined): ParsedFilter {
  const c = condition?.trim() ?? '';
  if (!c) return {};
  if (id === 'vmentry-failure' || id === 'shutdown') throw new Error(`the ${id} filter takes no condition`);
  const { list, expr } = splitCondition(c);
  const base: ParsedFilter = { condition: c, ...(expr ? { expr } : {}) };
  if (!list) return base;
  if (id === 'vmexit') {
    const reasons = parseExitReasons(list, names);
    return { ...base, match: (r) => r.type === 'vmexit' && reasons.has(r.reasonCode) };
  }
  if (id === 'ring') {
    const ok = parseRing(list);
    return { ...base, match: (r) => r.type === 'ring' && ok(r.from, r.to) };
  }
  const vectors = parseVectors(list);
  return { ...base, match: (r) => r.type === 'exception' && vectors.has(r.vector) };
}

/** Parses a setExceptionBreakpoints request's filters and options. Unknown ids and bad conditions are reported, not thrown. */
export function parseFilters(
  filters: readonly string[], options: ReadonlyArray<{ filterId: string; condition?: string }>, names: ExitReasonNames | undefined,
): FilterResult {
  const state: FilterState = { enabled: new Map() };
  const errors = new Map<FilterId, string>();
  const wanted = new Map<string, string | undefined>();
  for (const f of filters) wanted.set(f, undefined);
  for (const o of options) wanted.set(o.filterId, o.condition);
  for (const [id, condition] of wanted) {
    if (!isFilterId(id)) continue;
    try {
      state.enabled.set(id, parseOne(id, condition, names));
    } catch (e) {
      errors.set(id, e instanceof Error ? e.message : String(e));
    }
  }
  return { state, errors };
}

/** Which filter a record belongs to ('output' and 'mode' records belong to none). */
export function filterOf(r: TraceRecord): FilterId | undefined {
  switch (r.type) {
    case 'vmexit': return 'vmexit';
    case 'vmentry-failure': return 'vmentry-failure';
    case 'ring': return 'ring';
    case 'exception': return 'exception';
    default: return undefined;
  }
}

/** The predicate the target stops on, or undefined when no record filter is on. */
export function stopPredicate(state: FilterState): ((r: TraceRecord) => boolean) | undefined {
  const active = [...state.enabled].filter(([id]) => id !== 'shutdown');
  if (active.length === 0) return undefined;
  return (r) => {
    const id = filterOf(r);
    if (!id) return false;
    const f = state.enabled.get(id);
    return f !== undefined && (f.match ? f.match(r) : true);
  };
}

/** The "&& expr" to check after a stop on this record, if any. */
export function postCondition(state: FilterState, r: TraceRecord): string | undefined {
  const id = filterOf(r);
  return id ? state.enabled.get(id)?.expr : undefined;
}

/** The stop description of DESIGN.md ("VM exit: EPT_VIOLATION (48)") and the longer text for exceptionInfo. */
export function describeRecord(r: TraceRecord, names?: ExitReasonNames): { description: string; details: string } {
  switch (r.type) {
    case 'vmexit': {
      const name = r.reason || names?.name(r.reasonCode) || `reason ${r.reasonCode}`;
      const extra = [r.guestPhysical && `guest-physical ${r.guestPhysical}`, r.guestLinear && `guest-linear ${r.guestLinear}`].filter(Boolean);
      return { description: `VM exit: ${name} (${r.reasonCode})`,
        details: `VM exit ${name} (${r.reasonCode}) at guest RIP ${r.guestRip}, qualification ${r.qualification}${extra.length ? ', ' + extra.join(', ') : ''}` };
    }
    case 'vmentry-failure':
      return { description: `VM entry failed: ${r.check}`,
        details: `VM entry failed: ${r.check}\nfield: ${r.field}\nSDM: ${r.sdm}${r.exitReason ? `\nexit reason ${r.exitReason}` : ''}` };
    case 'ring':
      return { description: `Ring change: ${r.from}->${r.to} via ${r.via}`, details: `CPL ${r.from} -> ${r.to} via ${r.via} at ${r.rip}` };
    case 'exception': {
      const err = r.errorCode !== undefined ? `, error code 0x${r.errorCode.toString(16)}` : '';
      const cr2 = r.cr2 ? `, CR2=${r.cr2}` : '';
      return { description: `Exception: ${r.name} (${r.vector})${err}${cr2}`,
        details: `${r.name} (vector ${r.vector})${err}${cr2}, raised at ${r.rip}; the vCPU stopped after delivering it` };
    }
    case 'mode': return { description: `Mode change: ${r.from} -> ${r.to}`, details: `mode ${r.from} -> ${r.to} at ${r.rip}` };
    case 'vmentry': return { description: `VM entry (${r.launch ? 'VMLAUNCH' : 'VMRESUME'})`, details: '' };
    case 'output': return { description: 'output', details: r.text };
  }
}
