// The adapter's custom requests (DESIGN.md "Custom requests") as typed calls:
// each answer is checked with the validators of common/messages.ts before a
// panel sees it, so a wrong shape becomes one clear error instead of a broken
// picture. Answers may come bare (`WalkInfo`) or wrapped in an object
// (`{ walk }`, `{ regions }`, `{ records }`, `{ vmcs }`): both are accepted.

import type { MemoryRegion, VmcsInfo, WalkInfo } from '../../targets/target';
import { TRACE_TYPES, type TraceRecord, type TraceType } from '../../common/trace';
import {
  isExitStats, isHex, isMemoryRegion, isTraceRecord, isVmcsInfo, isWalkInfo,
  type ExitStats, type MapSpace, type RegisterChoice, type ThreadRef,
} from '../../common/messages';
import type { DebugLink } from './session-model';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export class AdapterShapeError extends Error {
  override readonly name = 'AdapterShapeError';
  constructor(command: string, what: string) {
    super(`the adapter's answer to ${command} is not ${what}`);
  }
}

/** The array under `key` of an answer, or the answer itself when it is an array. */
function listOf(body: unknown, key: string): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (isObj(body) && Array.isArray(body[key])) return body[key] as unknown[];
  return undefined;
}

export async function fetchMemoryMap(link: DebugLink, space: MapSpace, threadId: number): Promise<MemoryRegion[]> {
  const cmd = 'vmscope/memoryMap';
  const list = listOf(await link.request(cmd, { space, threadId }), 'regions');
  if (!list) throw new AdapterShapeError(cmd, 'a list of regions');
  const bad = list.findIndex((r) => !isMemoryRegion(r));
  if (bad >= 0) throw new AdapterShapeError(cmd, `a list of regions (region ${bad} is malformed)`);
  return list as MemoryRegion[];
}

export async function fetchWalk(link: DebugLink, address: string, space: MapSpace, threadId: number): Promise<WalkInfo> {
  const cmd = 'vmscope/translate';
  const body = await link.request(cmd, { address, space, threadId });
  const walk = isObj(body) && isObj(body.walk) ? body.walk : body;
  if (!isWalkInfo(walk)) throw new AdapterShapeError(cmd, 'a walk');
  return walk;
}

/**
 * Pages through vmscope/trace from the oldest record the adapter kept. The
 * answer is { from, next, total, records }: `next` is where the following
 * page starts (records are numbered in arrival order, filtered by type).
 */
export async function fetchTrace(link: DebugLink, types: readonly TraceType[] = TRACE_TYPES, limit = 500_000): Promise<TraceRecord[]> {
  const cmd = 'vmscope/trace';
  const out: TraceRecord[] = [];
  const page = 10_000;
  let from = 0;
  while (out.length < limit) {
    const body = await link.request(cmd, { from, count: page, types });
    const list = listOf(body, 'records');
    if (!list) throw new AdapterShapeError(cmd, 'a list of trace records');
    for (const r of list) if (isTraceRecord(r)) out.push(r);
    const next = isObj(body) && typeof body.next === 'number' ? body.next : from + list.length;
    const total = isObj(body) && typeof body.total === 'number' ? body.total : undefined;
    if (list.length === 0 || next <= from || (total !== undefined && next >= total) || (total === undefined && list.length < page)) break;
    from = next;
  }
  return out;
}

/** Records of a vmscope/trace event body (`{ records, dropped }` or a bare array); malformed ones are dropped. */
export function traceEventRecords(body: unknown): TraceRecord[] {
  return (listOf(body, 'records') ?? []).filter(isTraceRecord);
}

export async function fetchExitStats(link: DebugLink): Promise<ExitStats> {
  const cmd = 'vmscope/exitStats';
  const body = await link.request(cmd, {});
  const stats = isObj(body) && isObj(body.stats) ? body.stats : body;
  if (!isExitStats(stats)) throw new AdapterShapeError(cmd, 'exit statistics');
  return stats;
}

export type VmcsAnswer = { vmcs: VmcsInfo } | { message: string };

/** The current VMCS, or the adapter's reason why there is none ("no current VMCS"). */
export async function fetchVmcs(link: DebugLink, threadId: number): Promise<VmcsAnswer> {
  const cmd = 'vmscope/vmcs';
  let body: unknown;
  try {
    body = await link.request(cmd, { threadId });
  } catch (e) {
    return { message: e instanceof Error ? e.message : String(e) };
  }
  if (isVmcsInfo(body)) return { vmcs: body };
  if (isObj(body) && isVmcsInfo(body.vmcs)) return { vmcs: body.vmcs };
  if (isObj(body) && typeof body.message === 'string') return { message: body.message };
  if (body === undefined || body === null || (isObj(body) && body.vmcs === undefined)) return { message: 'no current VMCS' };
  throw new AdapterShapeError(cmd, 'a VMCS');
}

export async function fetchThreads(link: DebugLink): Promise<ThreadRef[]> {
  const list = listOf(await link.request('threads'), 'threads') ?? [];
  return list.filter((t): t is ThreadRef => isObj(t) && Number.isSafeInteger(t.id) && typeof t.name === 'string');
}

const LEADING_HEX = /^\s*(0x[0-9a-f]{1,16})\b/i;

/**
 * Register values worth walking, from the top frame's register scopes
 * (standard DAP stackTrace → scopes → variables): every variable whose
 * value starts with a hex number, nested children not included.
 */
export async function fetchRegisterChoices(link: DebugLink, threadId: number, max = 64): Promise<RegisterChoice[]> {
  const st = await link.request('stackTrace', { threadId, startFrame: 0, levels: 1 });
  const frame = isObj(st) && Array.isArray(st.stackFrames) ? st.stackFrames[0] : undefined;
  if (!isObj(frame) || typeof frame.id !== 'number') return [];
  const sc = await link.request('scopes', { frameId: frame.id });
  const scopes = isObj(sc) && Array.isArray(sc.scopes) ? sc.scopes.filter(isObj) : [];
  const regScopes = scopes.filter((s) => typeof s.name === 'string' && /regist|general|control/i.test(s.name));
  const out: RegisterChoice[] = [];
  for (const s of (regScopes.length ? regScopes : scopes).slice(0, 3)) {
    if (typeof s.variablesReference !== 'number' || s.variablesReference <= 0) continue;
    const vr = await link.request('variables', { variablesReference: s.variablesReference });
    const vars = isObj(vr) && Array.isArray(vr.variables) ? vr.variables.filter(isObj) : [];
    for (const v of vars) {
      const m = typeof v.value === 'string' ? LEADING_HEX.exec(v.value) : null;
      const value = m ? '0x' + BigInt(m[1]!).toString(16) : undefined;
      if (typeof v.name === 'string' && value && isHex(value)) out.push({ name: v.name, value });
      if (out.length >= max) return out;
    }
  }
  return out;
}
