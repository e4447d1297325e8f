// The register view of an emulated vCPU: groups (General, Segments, Control
// and debug, MSRs) with decoded details, and writes by name. The engine
// holds 64-bit registers as int32 lo/hi halves; here they become bigints.
//
// Register names in General follow the mode: rax..r15/rip/rflags when the
// vCPU is in IA-32e mode (long or compatibility), eax..edi/eip/eflags
// otherwise, so a 32-bit kernel reads like a 32-bit kernel.

import type { Cpu } from '../engine/x86/cpu';
import { GPR_NAMES, SEG_NAMES, SS, DS, FS, GS } from '../engine/x86/regs';
import { describeFlags } from '../engine/x86/flags';
import type { RegisterGroup, RegisterValue } from './target';
import {
  describeAccessRights, describeCr0, describeCr3, describeCr4, describeDr6, describeDr7, describeEfer,
} from './emulator-decode';
import { listedMsrs, msrIndex, writeMsr } from './emulator-msrs';

const MASK64 = (1n << 64n) - 1n;
const TWO48 = 2 ** 48;

export function gpr64(cpu: Cpu, i: number): bigint {
  return (BigInt(cpu.rh[i]! >>> 0) << 32n) | BigInt(cpu.rl[i]! >>> 0);
}

/** A number the engine keeps (possibly a signed canonical or a 48-bit linear value) as an unsigned 64-bit bigint. */
export function numToU64(v: number, longMode: boolean): bigint {
  if (longMode && v >= 2 ** 47 && v < TWO48) return BigInt(v) | 0xffff_0000_0000_0000n;
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

const SUFFIX32 = (n: string): string => (n.startsWith('r') && /\d/.test(n[1]!) ? n + 'd' : 'e' + n.slice(1));
const SUFFIX16 = (n: string): string => (n.startsWith('r') && /\d/.test(n[1]!) ? n + 'w' : n.slice(1));
const LOW8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'];

interface GprAlias { index: number; bits: 8 | 16 | 32 | 64; high: boolean }

/** rax/eax/ax/al/ah/r8/r8d/r8w/r8b/r8l → which GPR and which part. */
export function gprAlias(name: string): GprAlias | undefined {
  const n = name.toLowerCase();
  for (let i = 0; i < 16; i++) {
    const r = GPR_NAMES[i]!;
    if (n === r) return { index: i, bits: 64, high: false };
    if (n === SUFFIX32(r)) return { index: i, bits: 32, high: false };
    if (n === SUFFIX16(r)) return { index: i, bits: 16, high: false };
    if (i < 8 ? n === LOW8[i] : n === r + 'b' || n === r + 'l') return { index: i, bits: 8, high: false };
  }
  const h = ['ah', 'ch', 'dh', 'bh'].indexOf(n);
  return h >= 0 ? { index: h, bits: 8, high: true } : undefined;
}

/** Linear address of seg:offset (64-bit mode ignores the CS/DS/ES/SS bases). */
function segLinear(cpu: Cpu, seg: number, off: bigint): bigint {
  if (cpu.bits === 64) return seg === FS || seg === GS ? BigInt.asUintN(64, off + numToU64(cpu.segBase[seg]!, true)) : off;
  const mask = cpu.bits === 16 ? 0xffffn : 0xffffffffn;
  return (BigInt(cpu.segBase[seg]!) + (off & mask)) & 0xffffffffn;
}

export interface RegisterViewHooks {
  /** Whether a linear address maps readable memory (to offer a memory reference). */
  readable(address: bigint): boolean;
  pc: bigint;
}

function generalGroup(cpu: Cpu, hooks: RegisterViewHooks): RegisterGroup {
  const wide = cpu.longMode;
  const regs: RegisterValue[] = [];
  const n = wide ? 16 : 8;
  for (let i = 0; i < n; i++) {
    const raw = gpr64(cpu, i);
    const value = wide ? raw : raw & 0xffffffffn;
    const seg = i === 4 || i === 5 ? SS : DS;
    const address = segLinear(cpu, seg, value);
    const pointer = hooks.readable(address);
    regs.push({ name: wide ? GPR_NAMES[i]! : SUFFIX32(GPR_NAMES[i]!), value, bits: wide ? 64 : 32, writable: true,
      pointer, ...(pointer ? { address } : {}) });
  }
  const rip = wide ? BigInt.asUintN(64, BigInt(cpu.rip)) : BigInt(cpu.rip >>> 0);
  regs.push({ name: wide ? 'rip' : 'eip', value: rip, bits: wide ? 64 : 32, writable: true, pointer: true, address: hooks.pc });
  const fl = cpu.rflags;
  regs.push({ name: wide ? 'rflags' : 'eflags', value: BigInt(fl >>> 0), bits: wide ? 64 : 32, detail: describeFlags(fl), writable: true });
  return { id: 'general', label: 'General', registers: regs };
}

function segmentGroup(cpu: Cpu): RegisterGroup {
  const regs: RegisterValue[] = [];
  for (let s = 0; s < SEG_NAMES.length; s++) {
    const name = SEG_NAMES[s]!;
    const ar = cpu.segAttr[s]!;
    const base = numToU64(cpu.segBase[s]!, cpu.longMode);
    const limit = BigInt(cpu.segLimit[s]! >>> 0);
    const rights = describeAccessRights(ar);
    regs.push({
      name, value: BigInt(cpu.segSel[s]! & 0xffff), bits: 16, writable: false,
      detail: `base=0x${base.toString(16)} limit=0x${limit.toString(16)} ${rights}`,
      children: [
        { name: `${name}.selector`, value: BigInt(cpu.segSel[s]! & 0xffff), bits: 16, writable: false,
          detail: `index ${(cpu.segSel[s]! & 0xffff) >> 3} ${cpu.segSel[s]! & 4 ? 'LDT' : 'GDT'} RPL${cpu.segSel[s]! & 3}` },
        { name: `${name}.base`, value: base, bits: 64, writable: true },
        { name: `${name}.limit`, value: limit, bits: 32, writable: true },
        { name: `${name}.ar`, value: BigInt(ar >>> 0), bits: 32, detail: rights, writable: false },
      ],
    });
  }
  for (const [name, base, limit] of [['gdtr', cpu.gdtrBase, cpu.gdtrLimit], ['idtr', cpu.idtrBase, cpu.idtrLimit]] as const) {
    const b = numToU64(base, cpu.longMode);
    regs.push({
      name, value: b, bits: 64, detail: `limit=0x${(limit >>> 0).toString(16)}`, writable: true, pointer: true, address: b,
      children: [
        { name: `${name}.base`, value: b, bits: 64, writable: true },
        { name: `${name}.limit`, value: BigInt(limit & 0xffff), bits: 16, writable: true },
      ],
    });
  }
  return { id: 'segments', label: 'Segments', registers: regs };
}

function controlGroup(cpu: Cpu): RegisterGroup {
  const pae = (cpu.cr4 & 0x20) !== 0;
  const cr3 = (BigInt(cpu.cr3hi >>> 0) << 32n) | BigInt(cpu.cr3lo >>> 0);
  const regs: RegisterValue[] = [
    { name: 'cr0', value: BigInt(cpu.cr0 >>> 0), bits: 64, detail: describeCr0(cpu.cr0 >>> 0), writable: true },
    { name: 'cr2', value: numToU64(cpu.cr2, cpu.longMode), bits: 64, writable: true, detail: 'last page-fault address' },
    { name: 'cr3', value: cr3, bits: 64, detail: describeCr3(cpu.cr3lo, cpu.cr3hi, pae), writable: true },
    { name: 'cr4', value: BigInt(cpu.cr4 >>> 0), bits: 64, detail: describeCr4(cpu.cr4 >>> 0), writable: true },
    { name: 'cr8', value: BigInt(cpu.cr8 >>> 0), bits: 64, detail: 'task priority', writable: true },
    { name: 'efer', value: BigInt(cpu.efer >>> 0), bits: 64, detail: describeEfer(cpu.efer >>> 0), writable: true },
    { name: 'xcr0', value: BigInt(cpu.xcr0 >>> 0), bits: 64, writable: true },
  ];
  for (const i of [0, 1, 2, 3]) regs.push({ name: `dr${i}`, value: numToU64(cpu.dr[i]!, cpu.longMode), bits: 64, writable: true });
  regs.push({ name: 'dr6', value: BigInt(cpu.dr[6]! >>> 0), bits: 64, detail: describeDr6(cpu.dr[6]! >>> 0), writable: true });
  regs.push({ name: 'dr7', value: BigInt(cpu.dr[7]! >>> 0), bits: 64, detail: describeDr7(cpu.dr[7]! >>> 0), writable: true });
  return { id: 'control', label: 'Control and debug', registers: regs };
}

function msrGroup(cpu: Cpu): RegisterGroup {
  const regs = listedMsrs(cpu).map((m): RegisterValue => ({
    name: m.name, value: m.value, bits: 64, writable: true,
    ...(m.name === 'IA32_EFER' ? { detail: describeEfer(Number(m.value & 0xffffffffn)) } : {}),
  }));
  return { id: 'msrs', label: 'MSRs', registers: regs };
}

export function registerGroups(cpu: Cpu, hooks: RegisterViewHooks): RegisterGroup[] {
  cpu.settleFlags();
  return [generalGroup(cpu, hooks), segmentGroup(cpu), controlGroup(cpu), msrGroup(cpu)];
}

/**
 * The common registers by name without building every group (breakpoint
 * conditions evaluate on each hit): GPRs and their parts, RIP, RFLAGS, CRn,
 * EFER. Undefined for anything else (the caller falls back to the groups).
 */
export function readRegisterByName(cpu: Cpu, rawName: string): bigint | undefined {
  const name = rawName.toLowerCase();
  const g = gprAlias(name);
  if (g) {
    const v = gpr64(cpu, g.index);
    return g.high ? (v >> 8n) & 0xffn : v & ((1n << BigInt(g.bits)) - 1n);
  }
  switch (name) {
    case 'rip': return BigInt.asUintN(64, BigInt(cpu.rip));
    case 'eip': return BigInt(cpu.rip >>> 0);
    case 'ip': return BigInt(cpu.rip & 0xffff);
    case 'rflags': case 'eflags': return BigInt(cpu.rflags >>> 0);
    case 'flags': return BigInt(cpu.rflags & 0xffff);
    case 'cr0': return BigInt(cpu.cr0 >>> 0);
    case 'cr2': return numToU64(cpu.cr2, cpu.longMode);
    case 'cr3': return (BigInt(cpu.cr3hi >>> 0) << 32n) | BigInt(cpu.cr3lo >>> 0);
    case 'cr4': return BigInt(cpu.cr4 >>> 0);
    case 'cr8': return BigInt(cpu.cr8 >>> 0);
    case 'efer': return BigInt(cpu.efer >>> 0);
    default: return undefined;
  }
}

// ---- writes ---------------------------------------------------------------

function u64(v: bigint): bigint { return v & MASK64; }
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffffffffn) | 0;

/** A canonical linear address as the engine stores it in number-valued registers (48-bit linear). */
function toLinearNumber(v: bigint, what: string): number {
  const s = BigInt.asIntN(64, v);
  if (s < -(1n << 47n) || s >= 1n << 47n) throw new Error(`${what}: 0x${u64(v).toString(16)} is not a canonical address`);
  return s < 0n ? Number(s) + TWO48 : Number(s);
}

/** Sets a register by name; throws an Error whose message says why not. */
export function setRegisterByName(cpu: Cpu, rawName: string, value: bigint): void {
  const name = rawName.trim().toLowerCase();
  const v = u64(value);
  const g = gprAlias(name);
  if (g) {
    const i = g.index;
    if (g.bits === 64) { cpu.rl[i] = lo32(v); cpu.rh[i] = hi32(v); }
    else if (g.bits === 32) { cpu.rl[i] = lo32(v); cpu.rh[i] = 0; }
    else if (g.bits === 16) cpu.rl[i] = (cpu.rl[i]! & ~0xffff) | Number(v & 0xffffn);
    else if (g.high) cpu.rl[i] = (cpu.rl[i]! & ~0xff00) | (Number(v & 0xffn) << 8);
    else cpu.rl[i] = (cpu.rl[i]! & ~0xff) | Number(v & 0xffn);
    return;
  }
  switch (name) {
    case 'rip': case 'eip': case 'ip': case 'pc':
      if (cpu.bits === 64) {
        const s = BigInt.asIntN(64, v);
        if (s < -(1n << 47n) || s >= 1n << 47n) throw new Error(`rip: 0x${v.toString(16)} is not a canonical address`);
        cpu.rip = Number(s);
      } else cpu.rip = Number(v & (cpu.bits === 16 ? 0xffffn : 0xffffffffn));
      cpu.halted = false;
      return;
    case 'rflags': case 'eflags': case 'flags':
      cpu.rflags = Number(v & 0x3fffffn);
      cpu.updateMode();
      return;
    case 'cr0': cpu.cr0 = lo32(v); cpu.flushTlb(true); cpu.updateMode(); return;
    case 'cr2': cpu.cr2 = toLinearNumber(v, 'cr2'); return;
    case 'cr3': cpu.cr3lo = lo32(v); cpu.cr3hi = hi32(v); cpu.flushTlb(true); return;
    case 'cr4': cpu.cr4 = lo32(v); cpu.flushTlb(true); cpu.updateMode(); return;
    case 'cr8': cpu.cr8 = Number(v & 0xfn); return;
    case 'efer': case 'ia32_efer': cpu.efer = lo32(v) >>> 0; cpu.flushTlb(true); cpu.updateMode(); return;
    case 'xcr0': cpu.xcr0 = lo32(v) >>> 0; return;
    case 'dr6': case 'dr7': cpu.dr[Number(name[2])] = lo32(v) >>> 0; return;
    case 'gdtr': case 'gdtr.base': cpu.gdtrBase = toLinearNumber(v, name); return;
    case 'idtr': case 'idtr.base': cpu.idtrBase = toLinearNumber(v, name); return;
    case 'gdtr.limit': cpu.gdtrLimit = Number(v & 0xffffn); return;
    case 'idtr.limit': cpu.idtrLimit = Number(v & 0xffffn); return;
  }
  const dr = /^dr([0-3])$/.exec(name);
  if (dr) { cpu.dr[Number(dr[1])] = toLinearNumber(v, name); return; }
  const seg = /^(es|cs|ss|ds|fs|gs|ldtr|tr)\.(base|limit)$/.exec(name);
  if (seg) {
    const s = (SEG_NAMES as readonly string[]).indexOf(seg[1]!);
    const base = seg[2] === 'base' ? (cpu.longMode ? toLinearSigned(v) : Number(v & 0xffffffffn)) : cpu.segBase[s]!;
    const limit = seg[2] === 'limit' ? Number(v & 0xffffffffn) : cpu.segLimit[s]!;
    cpu.setSegment(s, cpu.segSel[s]!, base, limit, cpu.segAttr[s]!);
    cpu.flushCode();
    return;
  }
  if (/^(es|cs|ss|ds|fs|gs|ldtr|tr)(\.selector|\.ar)?$/.test(name)) {
    throw new Error(`${name}: segment selectors and access rights are loaded from descriptors by the guest; set ${name.split('.')[0]}.base or .limit instead`);
  }
  const msr = msrIndex(name);
  if (msr !== undefined && (/^msr/.test(name) || /^ia32_/.test(name))) {
    writeMsr(cpu, msr, v); // WRMSR semantics: EFER updates the mode and TLB itself
    return;
  }
  throw new Error(`unknown register "${rawName}"`);
}

/** FS/GS bases are held as signed canonical numbers (see msr-store.ts). */
function toLinearSigned(v: bigint): number {
  const s = BigInt.asIntN(64, v);
  if (s < -(1n << 47n) || s >= 1n << 47n) throw new Error(`0x${u64(v).toString(16)} is not a canonical address`);
  return Number(s);
}

