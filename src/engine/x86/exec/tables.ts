// Descriptor-table registers and selector inspection: LGDT, LIDT, SGDT, SIDT,
// LLDT, SLDT, LTR, STR, LAR, LSL, VERR, VERW, ARPL (SDM vol. 2 instruction
// pages; vol. 3 "System Descriptor Types", "Segment Descriptor Tables").
//
// Choices:
// - GDTR/IDTR, LDTR and TR bases are kept in the 48-bit linear form of cpu.ts
//   (interrupt delivery and descriptor reads add offsets to them directly);
//   SGDT/SIDT in 64-bit mode store them back sign-extended. LGDT/LIDT in
//   64-bit mode raise #GP(0) for a non-canonical base (as Intel and KVM do).
// - LGDT/LIDT with a 16-bit operand size load a 24-bit base; SGDT/SIDT store
//   the full 32-bit base whatever the operand size (P6 and later).
// - LAR returns the second descriptor dword ANDed with 0x00F0FF00 (the SDM
//   leaves bits 19:16 undefined; QEMU clears them), 0xFF00 for 16 bits.
// - ARPL with a memory destination always writes the (possibly unchanged)
//   selector back, as QEMU does; only ZF is affected.
// - SGDT/SIDT/SLDT/STR/SMSW are not privileged (UMIP is not implemented).

import { Code, Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, NP, UD } from '../fault';
import { LDTR, TR } from '../regs';
import { ZF, setSome } from '../flags';
import { descriptorAddr, readDescriptor } from '../descriptors';
import {
  arFromDescriptor, baseFromDescriptor, limitFromDescriptor, arDpl, AR_S, AR_P, AR_TYPE, AR_UNUSABLE,
  TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE, TYPE_WRITABLE, SYS_LDT, SYS_TSS16_AVAIL, SYS_TSS_AVAIL,
} from '../segdesc';
import { location, readReg, writeReg, readMem, type Loc } from '../operands';
import {
  requireCpl0, requireProtected, intercepted, SysEvent, isCanonical, canonicalToLinear, linearToCanonical,
  numLo, numHi,
} from './sys-common';

/** A reader for a 16-bit selector operand (register: its low 16 bits; memory: 16 bits). */
function selectorReader(loc: Loc): (c: Cpu) => number {
  if (loc.kind === 'reg') { const r = loc.reg; return (c) => readReg(c, r) & 0xffff; }
  if (loc.kind === 'mem') { const a = loc.addr; return (c) => readMem(c, a(c), 2); }
  throw new Error('bad selector operand');
}

// ---------------------------------------------------------------------------
// LGDT, LIDT, SGDT, SIDT
// ---------------------------------------------------------------------------

function compileLoadTable(ins: Instruction, ctx: Ctx): Handler {
  const idt = ins.mnemonic === Mnemonic.Lidt;
  const wide = ctx.bits === 64;
  const base24 = ins.code === Code.Lgdt_m1632_16 || ins.code === Code.Lidt_m1632_16;
  const loc = location(ins, 0, ctx.bits, wide ? 10 : 6);
  if (loc.kind !== 'mem') return () => { throw new CpuFault(UD); };
  const addr = loc.addr;
  const m = ins.mnemonic;
  return (c) => {
    requireCpl0(c);
    if (intercepted(c, SysEvent.DescTable, m)) return;
    const la = addr(c);
    const limit = c.read16(la);
    let base: number;
    if (wide) {
      const lo = c.read32(la + 2);
      const hi = c.read32(la + 6);
      if (!isCanonical(hi)) throw new CpuFault(GP, 0);
      base = canonicalToLinear(lo, hi);
    } else {
      const b = c.read32(la + 2) >>> 0;
      base = base24 ? b & 0xffffff : b;
    }
    if (idt) { c.idtrBase = base; c.idtrLimit = limit; } else { c.gdtrBase = base; c.gdtrLimit = limit; }
    c.exitBlock = true;
  };
}
define([Mnemonic.Lgdt, Mnemonic.Lidt], compileLoadTable);

function compileStoreTable(ins: Instruction, ctx: Ctx): Handler {
  const idt = ins.mnemonic === Mnemonic.Sidt;
  const wide = ctx.bits === 64;
  const size = wide ? 10 : 6;
  const loc = location(ins, 0, ctx.bits, size);
  if (loc.kind !== 'mem') return () => { throw new CpuFault(UD); };
  const addr = loc.addr;
  const m = ins.mnemonic;
  return (c) => {
    if (intercepted(c, SysEvent.DescTable, m)) return;
    const la = addr(c);
    const limit = idt ? c.idtrLimit : c.gdtrLimit;
    const base = idt ? c.idtrBase : c.gdtrBase;
    // Check both ends first so a fault leaves memory unchanged.
    c.probe(la, true);
    c.probe(la + size - 1, true);
    c.write16(la, limit);
    if (wide) {
      const s = linearToCanonical(base);
      c.write32(la + 2, numLo(s));
      c.write32(la + 6, numHi(s));
    } else {
      c.write32(la + 2, numLo(base));
    }
  };
}
define([Mnemonic.Sgdt, Mnemonic.Sidt], compileStoreTable);

// ---------------------------------------------------------------------------
// LLDT, LTR, SLDT, STR
// ---------------------------------------------------------------------------

/** Dwords 2 and 3 of a 16-byte system descriptor (IA-32e mode). */
function readUpper(c: Cpu, sel: number): { baseHi: number; hi2: number } {
  const a = descriptorAddr(c, (sel & 0xfff8) + 8);
  if (a < 0) throw new CpuFault(GP, sel & 0xfffc);
  return { baseHi: c.readSys32(a), hi2: c.readSys32(a + 4) };
}

/** Base of a system descriptor in 48-bit linear form (64-bit base in IA-32e mode). */
function systemBase(c: Cpu, sel: number, lo: number, hi: number): number {
  const b = baseFromDescriptor(lo, hi);
  if (!c.longMode) return b;
  const u = readUpper(c, sel);
  // The upper half's type field must be 0 (it would be a descriptor type there otherwise).
  if ((u.hi2 >>> 8) & 0x1f) throw new CpuFault(GP, sel & 0xfffc);
  if (!isCanonical(u.baseHi)) throw new CpuFault(GP, sel & 0xfffc);
  return canonicalToLinear(b | 0, u.baseHi);
}

function compileLldt(ins: Instruction, ctx: Ctx): Handler {
  const read = selectorReader(location(ins, 0, ctx.bits, 2));
  return (c) => {
    requireProtected(c);
    requireCpl0(c);
    if (intercepted(c, SysEvent.DescTable, Mnemonic.Lldt)) return;
    const sel = read(c);
    if ((sel & 0xfffc) === 0) {
      c.setSegment(LDTR, sel, 0, 0, AR_UNUSABLE);
      return;
    }
    if (sel & 4) throw new CpuFault(GP, sel & 0xfffc);
    const d = readDescriptor(c, sel);
    const ar = arFromDescriptor(d.hi);
    if ((ar & AR_S) || (ar & AR_TYPE) !== SYS_LDT) throw new CpuFault(GP, sel & 0xfffc);
    if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
    const base = systemBase(c, sel, d.lo, d.hi);
    c.setSegment(LDTR, sel, base, limitFromDescriptor(d.lo, d.hi), ar);
    c.exitBlock = true;
  };
}
define(Mnemonic.Lldt, compileLldt);

function compileLtr(ins: Instruction, ctx: Ctx): Handler {
  const read = selectorReader(location(ins, 0, ctx.bits, 2));
  return (c) => {
    requireProtected(c);
    requireCpl0(c);
    if (intercepted(c, SysEvent.DescTable, Mnemonic.Ltr)) return;
    const sel = read(c);
    if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
    if (sel & 4) throw new CpuFault(GP, sel & 0xfffc);
    const d = readDescriptor(c, sel);
    const ar = arFromDescriptor(d.hi);
    const type = ar & AR_TYPE;
    // An available TSS: 32/64-bit (type 9), or 16-bit (type 1) outside IA-32e mode. Busy ones (3, 11) fault.
    const ok = !(ar & AR_S) && (type === SYS_TSS_AVAIL || (type === SYS_TSS16_AVAIL && !c.longMode));
    if (!ok) throw new CpuFault(GP, sel & 0xfffc);
    if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
    const base = systemBase(c, sel, d.lo, d.hi);
    c.writeSys32(d.addr + 4, d.hi | 0x200); // mark busy
    c.setSegment(TR, sel, base, limitFromDescriptor(d.lo, d.hi), ar | 2);
    c.exitBlock = true;
  };
}
define(Mnemonic.Ltr, compileLtr);

function compileStoreSel(ins: Instruction, ctx: Ctx): Handler {
  const s = ins.mnemonic === Mnemonic.Sldt ? LDTR : TR;
  const m = ins.mnemonic;
  const dst = location(ins, 0, ctx.bits, 2);
  if (dst.kind === 'mem') {
    const a = dst.addr;
    return (c) => {
      requireProtected(c);
      if (intercepted(c, SysEvent.DescTable, m)) return;
      c.write16(a(c), c.segSel[s]!);
    };
  }
  if (dst.kind !== 'reg') throw new Error('bad SLDT/STR operand');
  const r = dst.reg;
  // A 32/64-bit register receives the selector zero-extended.
  return (c) => {
    requireProtected(c);
    if (intercepted(c, SysEvent.DescTable, m)) return;
    writeReg(c, r, c.segSel[s]!, 0);
  };
}
define([Mnemonic.Sldt, Mnemonic.Str], compileStoreSel);

// ---------------------------------------------------------------------------
// LAR, LSL, VERR, VERW
// ---------------------------------------------------------------------------

const LAR_LEGACY = new Set([1, 2, 3, 4, 5, 9, 11, 12]);
const LAR_IA32E = new Set([2, 9, 11, 12]);
const LSL_LEGACY = new Set([1, 2, 3, 9, 11]);
const LSL_IA32E = new Set([2, 9, 11]);

/** The descriptor's second dword if `sel` names a descriptor CPL/RPL may inspect, else undefined. */
function inspect(c: Cpu, sel: number, sys: (c: Cpu) => Set<number>, d: { lo: number }): number | undefined {
  if ((sel & 0xfffc) === 0) return undefined;
  const a = descriptorAddr(c, sel);
  if (a < 0) return undefined;
  const lo = c.readSys32(a), hi = c.readSys32(a + 4);
  const ar = arFromDescriptor(hi);
  if (!(ar & AR_S)) {
    if (!sys(c).has(ar & AR_TYPE)) return undefined;
  }
  const conformingCode = (ar & AR_S) && (ar & TYPE_CODE) && (ar & TYPE_CONFORMING);
  const dpl = arDpl(ar);
  if (!conformingCode && (dpl < c.cpl || dpl < (sel & 3))) return undefined;
  d.lo = lo;
  return hi;
}

const larTypes = (c: Cpu): Set<number> => (c.longMode ? LAR_IA32E : LAR_LEGACY);
const lslTypes = (c: Cpu): Set<number> => (c.longMode ? LSL_IA32E : LSL_LEGACY);
const scratch = { lo: 0 };
const NO_SYSTEM = new Set<number>();
const none = (): Set<number> => NO_SYSTEM;

function compileLarLsl(ins: Instruction, ctx: Ctx): Handler {
  const lar = ins.mnemonic === Mnemonic.Lar;
  const dst = location(ins, 0, ctx.bits, 2);
  if (dst.kind !== 'reg') throw new Error('bad LAR/LSL destination');
  const r = dst.reg;
  const read = selectorReader(location(ins, 1, ctx.bits, 2));
  return (c) => {
    requireProtected(c);
    const sel = read(c);
    const hi = inspect(c, sel, lar ? larTypes : lslTypes, scratch);
    if (hi === undefined) { setSome(c, ZF, 0); return; }
    let v: number;
    if (lar) v = r.size === 2 ? hi & 0xff00 : hi & 0x00f0ff00;
    else {
      const lim = limitFromDescriptor(scratch.lo, hi);
      v = r.size === 2 ? lim & 0xffff : lim | 0;
    }
    writeReg(c, r, v, 0);
    setSome(c, ZF, ZF);
  };
}
define([Mnemonic.Lar, Mnemonic.Lsl], compileLarLsl);

function compileVerify(ins: Instruction, ctx: Ctx): Handler {
  const write = ins.mnemonic === Mnemonic.Verw;
  const read = selectorReader(location(ins, 0, ctx.bits, 2));
  return (c) => {
    requireProtected(c);
    const sel = read(c);
    const hi = inspect(c, sel, none, scratch);
    let ok = false;
    if (hi !== undefined) {
      const ar = arFromDescriptor(hi);
      if (ar & AR_S) {
        if (write) ok = !(ar & TYPE_CODE) && (ar & TYPE_WRITABLE) !== 0;
        else ok = !(ar & TYPE_CODE) || (ar & TYPE_READABLE) !== 0;
      }
    }
    setSome(c, ZF, ok ? ZF : 0);
  };
}
define([Mnemonic.Verr, Mnemonic.Verw], compileVerify);

// ---------------------------------------------------------------------------
// ARPL (not encodable in 64-bit mode: 63h is MOVSXD there)
// ---------------------------------------------------------------------------

function compileArpl(ins: Instruction, ctx: Ctx): Handler {
  const dst = location(ins, 0, ctx.bits, 2);
  const src = location(ins, 1, ctx.bits, 2);
  if (src.kind !== 'reg') throw new Error('bad ARPL source');
  const s = src.reg;
  const adjust = (c: Cpu, v: number): number => {
    const want = readReg(c, s) & 3;
    if ((v & 3) < want) { setSome(c, ZF, ZF); return (v & ~3) | want; }
    setSome(c, ZF, 0);
    return v;
  };
  if (dst.kind === 'reg') {
    const d = dst.reg;
    return (c) => {
      requireProtected(c);
      const v = c.rl[d.index]! & 0xffff;
      c.rl[d.index] = (c.rl[d.index]! & ~0xffff) | adjust(c, v);
    };
  }
  if (dst.kind !== 'mem') throw new Error('bad ARPL destination');
  const a = dst.addr;
  return (c) => {
    requireProtected(c);
    const la = a(c);
    const v = c.read16w(la); // checks write access too, so the write below cannot fault
    c.write16(la, adjust(c, v));
  };
}
define(Mnemonic.Arpl, compileArpl);

