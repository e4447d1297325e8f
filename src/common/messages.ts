// Every message between a panel host (src/extension/panels) and its webview
// (webviews/*.ts), in one module both sides import. Host → panel messages are
// HostMessage, panel → host messages are PanelMessage. Neither side trusts
// the other: each incoming message goes through isHostMessage/isPanelMessage,
// which check the shape and the type of every field (payloads included:
// walks, regions, trace records, VMCS fields) before anything reads it.
//
// Browser-safe: no Node or vscode imports (the payload types are type-only).

import type { TraceRecord, TraceType } from './trace';
import type { MemoryRegion, VmcsInfo, WalkEntryInfo, WalkInfo } from '../targets/target';

export const PANEL_IDS = ['memory-map', 'walk', 'timeline', 'vmcs'] as const;
export type PanelId = (typeof PANEL_IDS)[number];

/** Address spaces a panel can ask about ('hpa' only exists behind EPT). */
export type MapSpace = 'gva' | 'gpa';

export interface ThreadRef { id: number; name: string }

/** What the panel should show about the debug session. */
export type SessionStatus =
  | { state: 'none'; hint: string }
  | { state: 'running'; name: string; threads: ThreadRef[] }
  | { state: 'stopped'; name: string; threads: ThreadRef[]; threadId: number; stopCount: number };

/** Per-reason totals from vmscope/exitStats (vmmInstructions: from each exit to the next entry on its vCPU). */
export interface ExitReasonStats { reason: string; reasonCode: number; count: number; vmmInstructions?: number }
export interface ExitStats { total: number; reasons: ExitReasonStats[] }

export interface RegisterChoice { name: string; value: string }

export type HostMessage =
  | { type: 'session'; status: SessionStatus }
  /** `pagingMode` (gva only): the vCPU's paging mode, as WalkInfo.mode ('4-level' means a 256 TiB space). */
  | { type: 'memoryMap'; space: MapSpace; regions: MemoryRegion[]; pagingMode?: string; error?: string }
  | { type: 'walk'; address: string; space: MapSpace; walk?: WalkInfo; error?: string }
  | { type: 'registers'; registers: RegisterChoice[] }
  /** Put an address in the walk panel (from the Variables view), and walk it when `translate`. */
  | { type: 'setAddress'; address: string; translate: boolean }
  | { type: 'trace'; records: TraceRecord[]; reset: boolean }
  | { type: 'exitStats'; stats: ExitStats }
  | { type: 'vmcs'; stopCount: number; vmcs?: VmcsInfo; message?: string }
  | { type: 'notice'; level: 'info' | 'error'; text: string };

export type PanelMessage =
  | { type: 'ready'; panel: PanelId }
  | { type: 'refresh' }
  | { type: 'memoryMap'; space: MapSpace }
  | { type: 'translate'; address: string; space: MapSpace }
  | { type: 'openMemory'; space: MapSpace; address: string; length: number };

// ---- field checks ---------------------------------------------------------------

type Obj = Record<string, unknown>;
type Guard<T> = (x: unknown) => x is T;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
const isCount = (x: unknown): x is number => isInt(x) && x >= 0;
/** Addresses and 64-bit values: "0x" and 1..16 hex digits (DESIGN.md "Trace records"). */
/** "0x" and 1..max hex digits; a loop rather than a regular expression, as it runs per region of large maps. */
function hexOf(x: unknown, max: number): x is string {
  if (typeof x !== 'string' || x.length < 3 || x.length > max + 2 || x.charCodeAt(0) !== 48 || (x.charCodeAt(1) | 32) !== 120) return false;
  for (let i = 2; i < x.length; i++) {
    const c = x.charCodeAt(i) | 32; // lower case letters; digits keep their codes
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
export const isHex = (x: unknown): x is string => hexOf(x, 16);
/** An exclusive end may be 2^64 (a region reaching the top of the address space). */
const isHexEnd = (x: unknown): x is string => hexOf(x, 16) || x === '0x10000000000000000';
const oneOf = <T extends string>(values: readonly T[]) => (x: unknown): x is T => isStr(x) && (values as readonly string[]).includes(x);
const arrayOf = <T>(g: Guard<T>) => (x: unknown): x is T[] => Array.isArray(x) && x.every(g);
/** Absent, or present with the right type. */
const opt = (o: Obj, k: string, g: (x: unknown) => boolean): boolean => o[k] === undefined || g(o[k]);

export const isMapSpace = oneOf<MapSpace>(['gva', 'gpa']);
const isPanelId = oneOf<PanelId>(PANEL_IDS);
const CPU_MODES = ['real', 'protected', 'long', 'compat', 'vmx-root', 'vmx-non-root'] as const;
const RING_VIAS = ['syscall', 'sysret', 'int', 'iret', 'interrupt', 'exception', 'far-call', 'far-ret',
  'sysenter', 'sysexit', 'task-switch', 'vmexit', 'vmentry'] as const;

export function isWalkEntry(x: unknown): x is WalkEntryInfo {
  return isObj(x) && isStr(x.level) && isHex(x.entryAddress) && isHex(x.value) && arrayOf(isStr)(x.flags) && isBool(x.leaf);
}

export function isWalkInfo(x: unknown, depth = 0): x is WalkInfo {
  return isObj(x) && depth < 3 && oneOf(['guest', 'ept'])(x.space) && isStr(x.input) && isBool(x.ok) &&
    opt(x, 'output', isHex) && opt(x, 'pageSize', isCount) && opt(x, 'mode', isStr) &&
    arrayOf(isWalkEntry)(x.entries) && opt(x, 'fault', isStr) &&
    opt(x, 'nested', (n) => Array.isArray(n) && n.every((w) => isWalkInfo(w, depth + 1)));
}

const isKind = oneOf(['ram', 'mmio', 'rom']);
/** Called per region (millions of them in a large map): kept free of allocations. */
export function isMemoryRegion(x: unknown): x is MemoryRegion {
  if (!isObj(x)) return false;
  return isHex(x.start) && isHexEnd(x.end) && (x.target === undefined || isHex(x.target)) && typeof x.perms === 'string' &&
    isCount(x.pageSize) && (x.memoryType === undefined || typeof x.memoryType === 'string') &&
    (x.kind === undefined || isKind(x.kind)) && (x.name === undefined || typeof x.name === 'string');
}

export function isTraceRecord(x: unknown): x is TraceRecord {
  if (!isObj(x) || !isCount(x.cpu) || !isCount(x.icount) || !isHex(x.rip)) return false;
  switch (x.type as TraceType) {
    case 'vmexit':
      return isStr(x.reason) && isCount(x.reasonCode) && isHex(x.qualification) && isHex(x.guestRip) &&
        opt(x, 'guestPhysical', isHex) && opt(x, 'guestLinear', isHex);
    case 'vmentry': return isBool(x.launch);
    case 'vmentry-failure':
      return isStr(x.check) && isStr(x.field) && isStr(x.sdm) && opt(x, 'exitReason', (v) => v === 33 || v === 34);
    case 'ring': return isCount(x.from) && isCount(x.to) && oneOf(RING_VIAS)(x.via);
    case 'mode': return oneOf(CPU_MODES)(x.from) && oneOf(CPU_MODES)(x.to);
    case 'exception': return isCount(x.vector) && isStr(x.name) && opt(x, 'errorCode', isCount) && opt(x, 'cr2', isHex);
    case 'output': return isStr(x.text);
    default: return false;
  }
}

const isVmcsField = (x: unknown): boolean => isObj(x) && isStr(x.name) && isHex(x.encoding) && isHex(x.value);
export function isVmcsInfo(x: unknown): x is VmcsInfo {
  return isObj(x) && isHex(x.address) && Array.isArray(x.groups) &&
    x.groups.every((g) => isObj(g) && isStr(g.id) && isStr(g.label) && Array.isArray(g.fields) && g.fields.every(isVmcsField));
}

const isReasonStats = (x: unknown): x is ExitReasonStats =>
  isObj(x) && isStr(x.reason) && isCount(x.reasonCode) && isCount(x.count) && opt(x, 'vmmInstructions', isNum);
export function isExitStats(x: unknown): x is ExitStats {
  return isObj(x) && isCount(x.total) && arrayOf(isReasonStats)(x.reasons);
}

const isThreadRef = (x: unknown): x is ThreadRef => isObj(x) && isInt(x.id) && isStr(x.name);
export function isSessionStatus(x: unknown): x is SessionStatus {
  if (!isObj(x)) return false;
  switch (x.state) {
    case 'none': return isStr(x.hint);
    case 'running': return isStr(x.name) && arrayOf(isThreadRef)(x.threads);
    case 'stopped': return isStr(x.name) && arrayOf(isThreadRef)(x.threads) && isInt(x.threadId) && isCount(x.stopCount);
    default: return false;
  }
}

const isRegisterChoice = (x: unknown): x is RegisterChoice => isObj(x) && isStr(x.name) && isHex(x.value);

// ---- the two validators ---------------------------------------------------------------

export function isHostMessage(x: unknown): x is HostMessage {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'session': return isSessionStatus(x.status);
    case 'memoryMap':
      return isMapSpace(x.space) && arrayOf(isMemoryRegion)(x.regions) && opt(x, 'pagingMode', isStr) && opt(x, 'error', isStr);
    case 'walk': return isStr(x.address) && isMapSpace(x.space) && opt(x, 'walk', (w) => isWalkInfo(w)) && opt(x, 'error', isStr);
    case 'registers': return arrayOf(isRegisterChoice)(x.registers);
    case 'setAddress': return isHex(x.address) && isBool(x.translate);
    case 'trace': return arrayOf(isTraceRecord)(x.records) && isBool(x.reset);
    case 'exitStats': return isExitStats(x.stats);
    case 'vmcs': return isCount(x.stopCount) && opt(x, 'vmcs', isVmcsInfo) && opt(x, 'message', isStr);
    case 'notice': return oneOf(['info', 'error'])(x.level) && isStr(x.text);
    default: return false;
  }
}

/** Longest address a panel may send: a 64-bit value in hex with separators. */
const MAX_ADDRESS_TEXT = 40;
/** Most bytes a panel may ask the Memory view to show. */
export const MAX_OPEN_LENGTH = 2 ** 32;

export function isPanelMessage(x: unknown): x is PanelMessage {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'ready': return isPanelId(x.panel);
    case 'refresh': return true;
    case 'memoryMap': return isMapSpace(x.space);
    case 'translate': return isStr(x.address) && x.address.length <= MAX_ADDRESS_TEXT && isMapSpace(x.space);
    case 'openMemory': return isMapSpace(x.space) && isHex(x.address) && isCount(x.length) && x.length > 0 && x.length <= MAX_OPEN_LENGTH;
    default: return false;
  }
}

/**
 * An address as a user types it ("0xffff8000`00001000", "ffff_8000_0000_1000",
 * "1000h"; hex, with or without 0x) as canonical "0x…" hex, or undefined when
 * it is not a 64-bit address.
 */
export function normalizeAddress(text: string): string | undefined {
  let t = text.trim().replace(/[`_\s]/g, '').toLowerCase();
  if (t.endsWith('h')) t = t.slice(0, -1);
  if (t.startsWith('0x')) t = t.slice(2);
  if (!/^[0-9a-f]{1,16}$/.test(t)) return undefined;
  return '0x' + BigInt('0x' + t).toString(16);
}
