// MOV to/from CR0, CR2, CR3, CR4, CR8 and DR0-DR7, CLTS, LMSW, SMSW (SDM vol. 2,
// "MOV—Move to/from Control Registers", "MOV—Move to/from Debug Registers";
// vol. 3, "Control Registers", "IA-32e Mode Operation", "Invalidation of TLBs
// and Paging-Structure Caches").
//
// MOV CRn/DRn share Mnemonic.Mov with datamov.ts, so their forms are claimed
// by iced Code (registry.ts defineForms).
//
// Documented choices:
// - Reserved bits 31:0 of CR0 are ignored (they stay 0) and ET stays 1, as the
//   SDM describes for P6 and later; bits 63:32 must be zero (#GP).
// - The TLB is not tagged by PCID. Everything a cached entry depends on (PG, PE,
//   WP, PAE, PSE, PGE, PCIDE, SMEP, SMAP, PKE, LMA) flushes it whole when it
//   changes; MOV CR3 flushes non-global entries unless CR4.PCIDE = 1, bit 63
//   (no-flush) is set and the PCID stays the same. Flushing more than hardware
//   must is always architecturally allowed.
// - PAE PDPTEs are checked for reserved bits (#GP) whenever a MOV to CR0/CR3/
//   CR4 would load them; they are still re-read on each walk (mmu/paging.ts).
// - CR8 goes to the local APIC's TPR when the machine registered one
//   (registerCr8Device), else it is kept in cpu.cr8.
// - DR6 keeps B0-B3, BD, BS, BT; bits 4-11 and 16-31 read as 1, bit 12 as 0
//   (Intel without RTM/bus-lock detection). DR7 keeps bits 0-9, 13 and 16-31;
//   bit 10 reads as 1. Hardware breakpoints are not emulated: enabling one
//   (any of DR7 bits 0-7) stops the machine as unsupported rather than never
//   firing. DR0-DR3 and CR2 hold 48-bit linear-address numbers (see
//   sys-common.ts); non-canonical values written by MOV read back exactly.

import { Code, Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { defineForms, define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, UD, DB, MachineStop } from '../fault';
import { regInfo, CS } from '../regs';
import { AR_L } from '../segdesc';
import { regOperand, setReg32, setReg64, readReg, writeReg, location, readMem, writeMem, type RegOperand } from '../operands';
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PSE, CR4_PGE, CR4_SMEP, CR4_SMAP, CR4_PKE, EFER_LMA, EFER_LME, MAXPHYADDR } from '../../mmu/paging';
import { VMX_SUPPORTED, XSAVE_SUPPORTED } from '../cpuid-table';
import { requireCpl0, intercepted, SysEvent, linearRegLoad, linearRegStore } from './sys-common';
import { cr0MustBeOne, cr4MustBeOne } from '../../vmx/state';

export const CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3, CR0_ET = 1 << 4, CR0_NE = 1 << 5, CR0_AM = 1 << 18,
  CR0_NW = 1 << 29, CR0_CD = 1 << 30;
const CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG;

export const CR4_VME = 1 << 0, CR4_PVI = 1 << 1, CR4_TSD = 1 << 2, CR4_DE = 1 << 3, CR4_MCE = 1 << 6, CR4_PCE = 1 << 8,
  CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10, CR4_UMIP = 1 << 11, CR4_VMXE = 1 << 13, CR4_FSGSBASE = 1 << 16,
  CR4_PCIDE = 1 << 17, CR4_OSXSAVE = 1 << 18;

/** CR4 bits this CPU implements (the rest are reserved: #GP). Follows what CPUID advertises. */
export const CR4_VALID = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT |
  CR4_PCIDE | CR4_SMEP | CR4_SMAP | (VMX_SUPPORTED ? CR4_VMXE : 0) | (XSAVE_SUPPORTED ? CR4_OSXSAVE : 0);

/** CR4 bits whose change invalidates every cached translation. */
const CR4_FLUSH = CR4_PAE | CR4_PSE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE;

/** The local APIC's task-priority register, as CR8 sees it. */
export interface Cr8Device {
  getCr8(): number;
  setCr8(v: number): void;
}
const cr8Devices = new WeakMap<Cpu, Cr8Device>();

/** The machine connects a vCPU's local APIC so MOV CR8 reads and writes its TPR. */
export function registerCr8Device(cpu: Cpu, dev: Cr8Device): void {
  cr8Devices.set(cpu, dev);
}

// ---------------------------------------------------------------------------
// Control-register values (also used by the debugger and VMX)
// ---------------------------------------------------------------------------

/** Reads CRn as a 64-bit value: lo returned, hi in c.hi. */
export function readCr(c: Cpu, n: number): number {
  switch (n) {
    case 0: c.hi = 0; return c.cr0;
    case 2: return linearRegLoad(c, 'cr2', c.cr2);
    case 3: c.hi = c.cr3hi; return c.cr3lo;
    case 4: c.hi = 0; return c.cr4;
    default: {
      c.hi = 0;
      const d = cr8Devices.get(c);
      return d ? d.getCr8() & 0xf : c.cr8 & 0xf;
    }
  }
}

/** PAE paging (not IA-32e) loads the four PDPTEs: #GP(0) when a present one has reserved bits set. */
function checkPdptes(c: Cpu, cr3lo: number): void {
  const base = (cr3lo & 0xffffffe0) >>> 0;
  const hiReserved = ~((1 << (MAXPHYADDR - 32)) - 1);
  for (let i = 0; i < 4; i++) {
    const lo = c.mem.read32(base + i * 8);
    const hi = c.mem.read32(base + i * 8 + 4);
    if ((lo & 1) && ((lo & 0x1e6) !== 0 || (hi & hiReserved) !== 0)) throw new CpuFault(GP, 0);
  }
}

function paeLegacy(cr0: number, cr4: number, efer: number): boolean {
  return (cr0 & CR0_PG) !== 0 && (cr4 & CR4_PAE) !== 0 && (efer & EFER_LMA) === 0;
}

/** MOV to CR0 (and the CR0 part of LMSW/CLTS): checks, IA-32e activation, TLB and mode updates. */
export function writeCr0(c: Cpu, lo: number, hi: number): void {
  if (hi !== 0) throw new CpuFault(GP, 0);
  const v = ((lo & CR0_DEFINED) | CR0_ET) | 0;
  const old = c.cr0;
  const fixed = cr0MustBeOne(c.vmx); // VMX operation: IA32_VMX_CR0_FIXED0 bits stay 1
  if ((v & fixed) !== fixed) throw new CpuFault(GP, 0);
  if ((v & CR0_PG) && !(v & CR0_PE)) throw new CpuFault(GP, 0);
  if ((v & CR0_NW) && !(v & CR0_CD)) throw new CpuFault(GP, 0);
  let efer = c.efer;
  if (!(old & CR0_PG) && (v & CR0_PG) && (efer & EFER_LME)) {
    // Activating IA-32e mode: needs PAE, and CS must not already be a 64-bit segment.
    if (!(c.cr4 & CR4_PAE)) throw new CpuFault(GP, 0);
    if (c.segAttr[CS]! & AR_L) throw new CpuFault(GP, 0);
    efer |= EFER_LMA;
  } else if ((old & CR0_PG) && !(v & CR0_PG)) {
    if (c.bits === 64 || (c.cr4 & CR4_PCIDE)) throw new CpuFault(GP, 0);
    efer &= ~EFER_LMA;
  }
  const changed = old ^ v;
  if (paeLegacy(v, c.cr4, efer) && (changed & (CR0_PG | CR0_CD | CR0_NW))) checkPdptes(c, c.cr3lo);
  c.cr0 = v;
  c.efer = efer;
  if ((changed & (CR0_PG | CR0_PE | CR0_WP)) !== 0) c.flushTlb(true);
  c.updateMode();
  c.exitBlock = true;
}

/** MOV to CR3; with CR4.PCIDE, bit 63 (64-bit mode only) is the no-flush hint and is not stored. */
export function writeCr3(c: Cpu, lo: number, hi: number): void {
  const pcide = (c.cr4 & CR4_PCIDE) !== 0;
  const noFlush = pcide && (hi & 0x80000000) !== 0;
  const h = noFlush ? hi & 0x7fffffff : hi;
  if (h & ~((1 << (MAXPHYADDR - 32)) - 1)) throw new CpuFault(GP, 0);
  if (paeLegacy(c.cr0, c.cr4, c.efer)) checkPdptes(c, lo);
  const samePcid = ((c.cr3lo ^ lo) & 0xfff) === 0;
  c.cr3lo = lo | 0;
  c.cr3hi = h | 0;
  if (!noFlush || !samePcid) c.flushTlb(false);
  c.exitBlock = true;
}

export function writeCr4(c: Cpu, lo: number, hi: number): void {
  if (hi !== 0 || (lo & ~CR4_VALID)) throw new CpuFault(GP, 0);
  const v = lo | 0;
  if ((v & cr4MustBeOne(c.vmx)) !== cr4MustBeOne(c.vmx)) throw new CpuFault(GP, 0); // VMX operation: CR4.VMXE stays 1
  const old = c.cr4;
  const lma = (c.efer & EFER_LMA) !== 0;
  if (lma && !(v & CR4_PAE)) throw new CpuFault(GP, 0);
  if ((v & CR4_PCIDE) && !(old & CR4_PCIDE) && (!lma || (c.cr3lo & 0xfff) !== 0)) throw new CpuFault(GP, 0);
  const changed = old ^ v;
  if (paeLegacy(c.cr0, v, c.efer) && (changed & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP | CR4_SMAP))) {
    checkPdptes(c, c.cr3lo);
  }
  c.cr4 = v;
  if (changed & CR4_FLUSH) c.flushTlb(true);
  c.updateMode();
  c.exitBlock = true;
}

export function writeCr8(c: Cpu, lo: number, hi: number): void {
  if (hi !== 0 || (lo & ~0xf)) throw new CpuFault(GP, 0);
  const d = cr8Devices.get(c);
  if (d) d.setCr8(lo); else c.cr8 = lo;
  c.exitBlock = true; // a lower TPR may unmask a pending interrupt
}

function writeCr(c: Cpu, n: number, lo: number, hi: number): void {
  switch (n) {
    case 0: writeCr0(c, lo, hi); break;
    case 2: c.cr2 = linearRegStore(c, 'cr2', lo, hi); break;
    case 3: writeCr3(c, lo, hi); break;
    case 4: writeCr4(c, lo, hi); break;
    default: writeCr8(c, lo, hi);
  }
}

const VALID_CR = new Set([0, 2, 3, 4, 8]);

function compileMovCr(ins: Instruction, ctx: Ctx): Handler {
  const toCr = ins.code === Code.Mov_cr_r32 || ins.code === Code.Mov_cr_r64;
  const n = regInfo(toCr ? ins.op0Register : ins.op1Register).index;
  const g: RegOperand = regOperand(toCr ? ins.op1Register : ins.op0Register);
  if (!VALID_CR.has(n)) return () => { throw new CpuFault(UD); };
  const wide = ctx.bits === 64;
  const info = n | (toCr ? 0 : 1 << 4) | (g.index << 8);
  if (toCr) {
    return (c) => {
      requireCpl0(c);
      if (intercepted(c, SysEvent.MovCr, info)) return;
      const lo = c.rl[g.index]!;
      writeCr(c, n, lo, wide ? c.rh[g.index]! : 0);
    };
  }
  return (c) => {
    requireCpl0(c);
    if (intercepted(c, SysEvent.MovCr, info)) return;
    const lo = readCr(c, n);
    if (wide) setReg64(c, g.index, lo, c.hi); else setReg32(c, g.index, lo);
  };
}

defineForms([Code.Mov_r32_cr, Code.Mov_r64_cr, Code.Mov_cr_r32, Code.Mov_cr_r64], compileMovCr);

// ---------------------------------------------------------------------------
// Debug registers
// ---------------------------------------------------------------------------

const DR6_FIXED1 = 0xffff0ff0 | 0, DR6_VOLATILE = 0xe00f;
const DR7_FIXED1 = 0x400, DR7_VOLATILE = (0xffff23ff | 0);
const DR7_GD = 1 << 13, DR6_BD = 1 << 13;

export function readDr(c: Cpu, n: number): number {
  if (n < 4) return linearRegLoad(c, 'dr' + n, c.dr[n]!);
  c.hi = 0;
  return c.dr[n]! | 0;
}

export function writeDr(c: Cpu, n: number, lo: number, hi: number): void {
  if (n < 4) { c.dr[n] = linearRegStore(c, 'dr' + n, lo, hi); return; }
  if (hi !== 0) throw new CpuFault(GP, 0);
  if (n === 6) { c.dr[6] = ((lo & DR6_VOLATILE) | DR6_FIXED1) >>> 0; return; }
  const v = ((lo & DR7_VOLATILE) | DR7_FIXED1) >>> 0;
  if (v & 0xff) {
    throw new MachineStop('unsupported', `unsupported: hardware breakpoints (MOV DR7 = 0x${v.toString(16)} enables one)`);
  }
  c.dr[7] = v;
}

function compileMovDr(ins: Instruction, ctx: Ctx): Handler {
  const toDr = ins.code === Code.Mov_dr_r32 || ins.code === Code.Mov_dr_r64;
  const raw = regInfo(toDr ? ins.op0Register : ins.op1Register).index;
  const g = regOperand(toDr ? ins.op1Register : ins.op0Register);
  if (raw > 7) return () => { throw new CpuFault(UD); };
  const wide = ctx.bits === 64;
  const info = raw | (toDr ? 0 : 1 << 4) | (g.index << 8);
  return (c) => {
    let n = raw;
    if (n === 4 || n === 5) {
      if (c.cr4 & CR4_DE) throw new CpuFault(UD);
      n += 2; // aliases of DR6/DR7 while CR4.DE = 0
    }
    requireCpl0(c);
    if (c.dr[7]! & DR7_GD) {
      // General detect: the access faults with DR6.BD set; the processor clears GD for the handler.
      c.dr[6] = (c.dr[6]! | DR6_BD) >>> 0;
      c.dr[7] = (c.dr[7]! & ~DR7_GD) >>> 0;
      throw new CpuFault(DB);
    }
    if (intercepted(c, SysEvent.MovDr, info)) return;
    if (toDr) writeDr(c, n, c.rl[g.index]!, wide ? c.rh[g.index]! : 0);
    else {
      const lo = readDr(c, n);
      if (wide) setReg64(c, g.index, lo, c.hi); else setReg32(c, g.index, lo);
    }
  };
}

defineForms([Code.Mov_r32_dr, Code.Mov_r64_dr, Code.Mov_dr_r32, Code.Mov_dr_r64], compileMovDr);

// ---------------------------------------------------------------------------
// CLTS, LMSW, SMSW
// ---------------------------------------------------------------------------

define(Mnemonic.Clts, () => (c) => {
  requireCpl0(c);
  if (intercepted(c, SysEvent.Clts)) return;
  c.cr0 &= ~CR0_TS;
  c.exitBlock = true;
});

// LMSW loads PE, MP, EM, TS; it can set PE but never clear it.
function compileLmsw(ins: Instruction, ctx: Ctx): Handler {
  const src = location(ins, 0, ctx.bits, 2);
  const read = src.kind === 'reg' ? ((r: RegOperand) => (c: Cpu) => readReg(c, r) & 0xffff)(src.reg)
    : src.kind === 'mem' ? ((a) => (c: Cpu) => readMem(c, a(c), 2))(src.addr) : undefined;
  if (!read) throw new Error('bad LMSW operand');
  return (c) => {
    requireCpl0(c);
    const v = read(c);
    if (intercepted(c, SysEvent.Lmsw, v)) return;
    const nv = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & CR0_PE);
    writeCr0(c, nv, 0);
  };
}
define(Mnemonic.Lmsw, compileLmsw);

// SMSW: not privileged (UMIP is not implemented). Memory forms store 16 bits;
// register forms store CR0 at the operand size (upper bits zero in 64-bit registers).
function compileSmsw(ins: Instruction, ctx: Ctx): Handler {
  const dst = location(ins, 0, ctx.bits, 2);
  if (dst.kind === 'mem') { const a = dst.addr; return (c) => writeMem(c, a(c), 2, c.cr0 & 0xffff, 0); }
  if (dst.kind !== 'reg') throw new Error('bad SMSW operand');
  const r = dst.reg;
  return (c) => writeReg(c, r, r.size === 2 ? c.cr0 & 0xffff : c.cr0, 0);
}
define(Mnemonic.Smsw, compileSmsw);
