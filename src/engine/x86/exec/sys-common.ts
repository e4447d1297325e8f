// Helpers shared by the system-instruction families (control-regs, tables,
// flagsys, io, cpuid, system-msr): privilege checks, 64-bit values held as
// int32 (lo, hi) pairs versus plain numbers, and the interception point the
// VMX engine uses to turn system instructions into VM exits.
//
// Number representation of 64-bit system values (GDTR/IDTR bases, CR2,
// DR0-DR3, MSR-held addresses): a signed number, exact for |v| < 2^53, which
// covers every canonical address. Linear addresses for the TLB are 48-bit
// masked numbers (see cpu.ts).

import { Register, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { CpuFault, GP, UD, SS as SS_VEC } from '../fault';
import { VM } from '../flags';
import { setReg32 } from '../operands';
import { RAX, RDX, DS, FS, GS, SS, regInfo } from '../regs';

const TWO32 = 0x1_0000_0000;
const TWO48 = 2 ** 48;

/** Protected mode and not virtual-8086 mode. */
export function protectedNotVm86(c: Cpu): boolean {
  return (c.cr0 & 1) !== 0 && (c.flags & VM) === 0;
}

/** #GP(0) unless CPL = 0 (real mode is CPL 0; VM86 is CPL 3). */
export function requireCpl0(c: Cpu): void {
  if (c.cpl !== 0) throw new CpuFault(GP, 0);
}

/** #UD in real-address and virtual-8086 mode (LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW, ARPL). */
export function requireProtected(c: Cpu): void {
  if (!protectedNotVm86(c)) throw new CpuFault(UD);
}

export function isCanonical(hi: number): boolean {
  return (hi >> 15) === (hi >> 31);
}

/** Signed number of an int32 pair (exact when |v| < 2^53). */
export function pairToNumber(lo: number, hi: number): number {
  return (hi | 0) * TWO32 + (lo >>> 0);
}

/** Low int32 of a signed (or unsigned) integer number. */
export function numLo(v: number): number {
  return Number(BigInt.asIntN(32, BigInt(v))) | 0;
}

/** High int32 of a signed integer number, as two's complement. */
export function numHi(v: number): number {
  if (v >= 0 && v < TWO32) return 0;
  return Number(BigInt.asIntN(32, BigInt(v) >> 32n)) | 0;
}

/** 48-bit TLB-form linear address of a canonical (lo, hi) pair. */
export function canonicalToLinear(lo: number, hi: number): number {
  return (hi & 0xffff) * TWO32 + (lo >>> 0);
}

/** Signed canonical number of a 48-bit TLB-form linear address. */
export function linearToCanonical(la: number): number {
  return la >= 2 ** 47 && la < TWO48 ? la - TWO48 : la;
}

// Registers holding linear addresses (CR2, DR0-DR3) keep the 48-bit TLB form
// of canonical values, as #PF stores CR2. A non-canonical 64-bit value (only a
// MOV can put one there) is kept exactly in a side table, and the register
// holds a number outside [0, 2^48) that no fault can produce.
interface Exact { num: number; lo: number; hi: number }
const exactValues = new WeakMap<Cpu, Map<string, Exact>>();

/** Number to store for a 64-bit linear-address register value written by software. */
export function linearRegStore(c: Cpu, key: string, lo: number, hi: number): number {
  if (isCanonical(hi)) return canonicalToLinear(lo, hi);
  const v = pairToNumber(lo, hi);
  const num = v >= 0 && v < TWO48 ? TWO48 + v : v;
  let m = exactValues.get(c);
  if (!m) { m = new Map(); exactValues.set(c, m); }
  m.set(key, { num, lo: lo | 0, hi: hi | 0 });
  return num;
}

/** The 64-bit value (lo returned, hi in c.hi) of a linear-address register holding `num`. */
export function linearRegLoad(c: Cpu, key: string, num: number): number {
  const e = exactValues.get(c)?.get(key);
  if (e !== undefined && e.num === num) { c.hi = e.hi; return e.lo; }
  if (num >= 0 && num < TWO48) {
    const s = linearToCanonical(num);
    c.hi = numHi(s);
    return numLo(s);
  }
  c.hi = numHi(num);
  return numLo(num);
}

/** Segment register index of the instruction's memory operand (DS when none is named). */
export function memSegment(ins: Instruction): number {
  if (ins.memorySegment === Register.None) return DS;
  const i = regInfo(ins.memorySegment);
  return i.kind === 'seg' ? i.index : DS;
}

/**
 * Linear address of seg:offset for a `size`-byte access, the offset (lo, hi)
 * taken at address size `asz`: segment limits outside 64-bit mode; in 64-bit
 * mode only FS/GS bases apply and the result must be canonical (#SS for SS).
 */
export function segOffsetToLinear(c: Cpu, seg: number, lo: number, hi: number, asz: number, size: number): number {
  if (c.bits !== 64) return c.segAddr(seg, asz === 16 ? lo & 0xffff : lo >>> 0, size);
  let v = asz === 64 ? (hi | 0) * TWO32 + (lo >>> 0) : lo >>> 0;
  if (seg === FS || seg === GS) {
    v += c.segBase[seg]!;
    if (v >= 2 ** 63) v -= 2 ** 64; else if (v < -(2 ** 63)) v += 2 ** 64;
  }
  if (v < -(2 ** 47) || v >= 2 ** 47) throw new CpuFault(seg === SS ? SS_VEC : GP, 0);
  return v < 0 ? v + TWO48 : v;
}

/** EDX:EAX ← (hi, lo), zero-extending both into RDX/RAX. */
export function setEdxEax(c: Cpu, lo: number, hi: number): void {
  setReg32(c, RAX, lo | 0);
  setReg32(c, RDX, hi | 0);
}

// ---------------------------------------------------------------------------
// Interception (VMX non-root operation)
// ---------------------------------------------------------------------------

/** System instructions that VMX may turn into VM exits. */
export const enum SysEvent {
  Cpuid, Rdmsr, Wrmsr, Hlt, Invlpg, Rdtsc, Rdtscp, Rdpmc, Wbinvd, Invd,
  /** a = CR number | (1 << 4 for reads) | (GPR index << 8). */
  MovCr,
  /** a = DR number | (1 << 4 for reads) | (GPR index << 8). */
  MovDr,
  Clts,
  /** a = the LMSW source value. */
  Lmsw,
  /** a = port, b = size | (1 << 3 for IN/INS) | (1 << 4 string) | (1 << 5 REP). */
  Io,
  /** a = the mnemonic (LGDT, SGDT, LIDT, SIDT, LLDT, SLDT, LTR, STR). */
  DescTable,
  Xsetbv,
}

/**
 * The VMX engine installs `hook` to intercept system instructions in VMX
 * non-root operation. Handlers call it after their CPL/mode checks that have
 * priority over VM exits; it returns true when it performed a VM exit, and
 * then the instruction must do nothing more.
 */
export const sysIntercept: { hook: ((c: Cpu, ev: SysEvent, a: number, b: number) => boolean) | undefined } = {
  hook: undefined,
};

/** True when the instruction was intercepted (a VM exit happened). */
export function intercepted(c: Cpu, ev: SysEvent, a = 0, b = 0): boolean {
  const h = sysIntercept.hook;
  return h !== undefined && h(c, ev, a, b);
}
