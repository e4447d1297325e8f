// The VMX instructions (SDM vol. 3, "VMX Instruction Reference"): VMXON,
// VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH, VMRESUME,
// VMCALL, INVEPT, INVVPID, each following its pseudocode: the #UD conditions,
// the VM exit in VMX non-root operation (reasons 18-27, 50, 53, with the
// instruction-information field and the displacement as exit qualification),
// #GP(0) at CPL > 0, then VMsucceed / VMfailInvalid / VMfailValid(n). Also
// VMFUNC, GETSEC and RSM, which this CPU does not support: #UD.
//
// Choices (documented):
// - There is no SMX and no SMM: GETSEC is #UD (CR4.SMXE cannot be set) and
//   RSM is #UD (never in SMM), so their exits (11, 17) cannot occur; VMCALL
//   in root operation is always VMfailValid(1) (no dual-monitor treatment).
// - VMREAD/VMWRITE use 64-bit operands in 64-bit mode and 32-bit operands
//   elsewhere (the operand-size prefix is ignored, as the SDM states).
// - The TLB is not tagged (see vmx/exit.ts): INVEPT and INVVPID of every
//   supported type flush it whole after checking their operands.

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, UD } from '../fault';
import { VM } from '../flags';
import { CS } from '../regs';
import { AR_L } from '../segdesc';
import { effAddr, setReg32, setReg64, type AddrFn } from '../operands';
import { MSR_FEATURE_CONTROL } from '../msr-table';
import { eptpProblem } from '../../mmu/ept';
import { VmInstructionError as Err } from '../../vmx/instruction-errors';
import { VMCS_REVISION, INVEPT_TYPES } from '../../vmx/capabilities';
import { Vmcs, lookupField, LAUNCH_CLEAR } from '../../vmx/vmcs';
import { vmSucceed, vmFailInvalid, vmFail } from '../../vmx/results';
import { vmEntry } from '../../vmx/entry';
import { vmExit } from '../../vmx/exit';
import { memoryInfo, gprIndex } from '../../vmx/insn-info';
import { instrLen } from '../../vmx/intercepts';
import { cr0FixedViolation, cr4FixedViolation } from '../../vmx/capabilities';
import { installVmx } from '../../vmx/install';
import { isCanonicalPair } from '../../vmx/numbers';

installVmx();

const EXIT_VMCALL = 18, EXIT_VMCLEAR = 19, EXIT_VMLAUNCH = 20, EXIT_VMPTRLD = 21, EXIT_VMPTRST = 22, EXIT_VMREAD = 23,
  EXIT_VMRESUME = 24, EXIT_VMWRITE = 25, EXIT_VMXOFF = 26, EXIT_VMXON = 27, EXIT_INVEPT = 50, EXIT_INVVPID = 53;

/** Compatibility mode: IA32_EFER.LMA = 1 and CS.L = 0. */
function compat(c: Cpu): boolean {
  return c.longMode && (c.segAttr[CS]! & AR_L) === 0;
}

/** The #UD conditions shared by the VMX instructions other than VMXON. */
function vmxUd(c: Cpu, checkPe = true): void {
  if (!c.vmx.on || (checkPe && !(c.cr0 & 1)) || (c.flags & VM) || compat(c)) throw new CpuFault(UD);
}

interface ExitParts { info: number; dispLo: number; dispHi: number }
const NONE: ExitParts = { info: 0, dispLo: 0, dispHi: 0 };

function exitFor(c: Cpu, reason: number, p: ExitParts): void {
  vmExit(c, reason, { qualLo: p.dispLo, qualHi: p.dispHi, instrLen: instrLen(c), instrInfo: p.info });
}

function memParts(ins: Instruction, ctx: Ctx): ExitParts {
  const m = memoryInfo(ins, ctx.bits);
  return { info: m.info, dispLo: m.dispLo, dispHi: m.dispHi };
}

/** A 64-bit physical-address operand: bits 11:0 clear and nothing beyond MAXPHYADDR (40). */
function badPhys(lo: number, hi: number): boolean {
  return (lo & 0xfff) !== 0 || (hi & ~0xff) !== 0;
}

const pa = (lo: number, hi: number): number => (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);

// ---------------------------------------------------------------------------
// VMXON, VMXOFF
// ---------------------------------------------------------------------------

define(Mnemonic.Vmxon, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 8);
  const parts = memParts(ins, ctx);
  return (c) => {
    if (!(c.cr0 & 1) || !(c.cr4 & (1 << 13)) || (c.flags & VM) || compat(c)) throw new CpuFault(UD);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMXON, parts); return; }
    if (v.on) {
      if (c.cpl > 0) throw new CpuFault(GP, 0);
      vmFail(c, Err.VmxonInRoot);
      return;
    }
    const fc = c.msr.get(MSR_FEATURE_CONTROL) ?? 0n;
    if (c.cpl > 0 || cr0FixedViolation(c.cr0, false) || cr4FixedViolation(c.cr4) || !(fc & 1n) || !(fc & 4n)) throw new CpuFault(GP, 0);
    const lo = c.read64(addr(c)), hi = c.hi;
    if (badPhys(lo, hi)) { vmFailInvalid(c); return; }
    const region = pa(lo, hi);
    const rev = c.mem.read32(region) >>> 0;
    if (rev !== VMCS_REVISION) { vmFailInvalid(c); return; }
    v.on = true;
    v.vmxonPtr = region;
    v.current = undefined;
    vmSucceed(c);
    c.exitBlock = true;
    c.events.mode(c, c.modeName, 'vmx-root');
  };
});

define(Mnemonic.Vmxoff, () => (c) => {
  vmxUd(c);
  const v = c.vmx;
  if (v.nonRoot) { exitFor(c, EXIT_VMXOFF, NONE); return; }
  if (c.cpl > 0) throw new CpuFault(GP, 0);
  v.on = false;
  v.vmxonPtr = -1;
  v.eptCache.clear();
  // The current VMCS stays cached where the processor keeps it; active VMCSs stay active (SDM: VMCLEAR first).
  v.current = undefined;
  vmSucceed(c);
  c.exitBlock = true;
  c.events.mode(c, 'vmx-root', c.modeName);
  // An INIT blocked in VMX root operation takes effect now.
  if (v.initPending) { v.initPending = false; const later = v.initLater; v.initLater = undefined; later?.(); }
});

// ---------------------------------------------------------------------------
// VMCLEAR, VMPTRLD, VMPTRST
// ---------------------------------------------------------------------------

define(Mnemonic.Vmclear, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 8);
  const parts = memParts(ins, ctx);
  return (c) => {
    vmxUd(c);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMCLEAR, parts); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    const lo = c.read64(addr(c)), hi = c.hi;
    if (badPhys(lo, hi)) { vmFail(c, Err.VmclearInvalidAddress); return; }
    const region = pa(lo, hi);
    if (region === v.vmxonPtr) { vmFail(c, Err.VmclearVmxonPointer); return; }
    const vmcs = v.active.get(region);
    if (vmcs) {
      vmcs.launch = LAUNCH_CLEAR;
      vmcs.flush(c.mem);
      v.active.delete(region);
    } else {
      c.mem.write32(region + 8, LAUNCH_CLEAR);
    }
    if (v.current && v.current.addr === region) v.current = undefined;
    vmSucceed(c);
  };
});

define(Mnemonic.Vmptrld, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 8);
  const parts = memParts(ins, ctx);
  return (c) => {
    vmxUd(c);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMPTRLD, parts); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    const lo = c.read64(addr(c)), hi = c.hi;
    if (badPhys(lo, hi)) { vmFail(c, Err.VmptrldInvalidAddress); return; }
    const region = pa(lo, hi);
    if (region === v.vmxonPtr) { vmFail(c, Err.VmptrldVmxonPointer); return; }
    const rev = c.mem.read32(region) >>> 0;
    if (rev !== VMCS_REVISION) { vmFail(c, Err.VmptrldBadRevision); return; }
    let vmcs = v.active.get(region);
    if (!vmcs) { vmcs = Vmcs.fromRegion(c.mem, region); v.active.set(region, vmcs); }
    v.current = vmcs;
    vmSucceed(c);
  };
});

define(Mnemonic.Vmptrst, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 8);
  const parts = memParts(ins, ctx);
  return (c) => {
    vmxUd(c);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMPTRST, parts); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    const cur = v.current;
    if (cur) c.write64(addr(c), cur.addr % 0x1_0000_0000 | 0, Math.floor(cur.addr / 0x1_0000_0000));
    else c.write64(addr(c), -1, -1);
    vmSucceed(c);
  };
});

// ---------------------------------------------------------------------------
// VMREAD, VMWRITE
// ---------------------------------------------------------------------------

/** A 64-bit (64-bit mode) or 32-bit register or memory operand. */
interface Rm { reg: number; addr: AddrFn | undefined }
function rm(ins: Instruction, ctx: Ctx, n: number): Rm {
  if (ins.opKind(n) === OpKind.Register) return { reg: gprIndex(ins, n), addr: undefined };
  return { reg: -1, addr: effAddr(ins, ctx.bits, ctx.bits === 64 ? 8 : 4) };
}

function vmcsExitParts(ins: Instruction, ctx: Ctx, valueOp: number, encOp: number): ExitParts {
  const reg2 = gprIndex(ins, encOp) << 28;
  if (ins.opKind(valueOp) === OpKind.Register) {
    const asz = ctx.bits === 64 ? 2 : ctx.bits === 32 ? 1 : 0;
    return { info: (1 << 10) | (gprIndex(ins, valueOp) << 3) | (asz << 7) | reg2, dispLo: 0, dispHi: 0 };
  }
  const m = memoryInfo(ins, ctx.bits);
  return { info: m.info | reg2, dispLo: m.dispLo, dispHi: m.dispHi };
}

define(Mnemonic.Vmread, (ins, ctx) => {
  const dst = rm(ins, ctx, 0);
  const encReg = gprIndex(ins, 1);
  const wide = ctx.bits === 64;
  const parts = vmcsExitParts(ins, ctx, 0, 1);
  return (c) => {
    vmxUd(c, false);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMREAD, parts); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    const vmcs = v.current;
    if (!vmcs) { vmFailInvalid(c); return; }
    const f = lookupField(c.rl[encReg]!, wide ? c.rh[encReg]! : 0);
    if (!f) { vmFail(c, Err.UnsupportedComponent); return; }
    const enc = f.field.encoding;
    let lo: number, hi = 0;
    if (f.high) lo = vmcs.getHi(enc);
    else {
      lo = vmcs.get32(enc);
      if (f.field.width === 16) lo &= 0xffff;
      else if (f.field.width === 64 || f.field.width === 'natural') hi = vmcs.getHi(enc);
    }
    if (dst.addr) {
      const la = dst.addr(c);
      if (wide) c.write64(la, lo, hi); else c.write32(la, lo);
    } else if (wide) setReg64(c, dst.reg, lo, hi);
    else setReg32(c, dst.reg, lo);
    vmSucceed(c);
  };
});

define(Mnemonic.Vmwrite, (ins, ctx) => {
  const src = rm(ins, ctx, 1);
  const encReg = gprIndex(ins, 0);
  const wide = ctx.bits === 64;
  const parts = vmcsExitParts(ins, ctx, 1, 0);
  return (c) => {
    vmxUd(c, false);
    const v = c.vmx;
    if (v.nonRoot) { exitFor(c, EXIT_VMWRITE, parts); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    const vmcs = v.current;
    if (!vmcs) { vmFailInvalid(c); return; }
    let lo: number, hi: number;
    if (src.addr) {
      const la = src.addr(c);
      if (wide) { lo = c.read64(la); hi = c.hi; } else { lo = c.read32(la); hi = 0; }
    } else {
      lo = c.rl[src.reg]!; hi = wide ? c.rh[src.reg]! : 0;
    }
    const f = lookupField(c.rl[encReg]!, wide ? c.rh[encReg]! : 0);
    if (!f) { vmFail(c, Err.UnsupportedComponent); return; }
    if (f.field.readOnly) { vmFail(c, Err.VmwriteReadOnly); return; }
    const enc = f.field.encoding;
    if (f.high) vmcs.set(enc, vmcs.get32(enc), lo);
    else if (f.field.width === 16) vmcs.set(enc, lo & 0xffff, 0);
    else if (f.field.width === 32) vmcs.set(enc, lo, 0);
    else vmcs.set(enc, lo, hi);
    vmSucceed(c);
  };
});

// ---------------------------------------------------------------------------
// VMLAUNCH, VMRESUME, VMCALL
// ---------------------------------------------------------------------------

function compileEntry(launch: boolean): () => Handler {
  return () => (c) => {
    vmxUd(c);
    if (c.vmx.nonRoot) { exitFor(c, launch ? EXIT_VMLAUNCH : EXIT_VMRESUME, NONE); return; }
    if (c.cpl > 0) throw new CpuFault(GP, 0);
    vmEntry(c, launch);
    c.exitBlock = true;
  };
}
define(Mnemonic.Vmlaunch, compileEntry(true));
define(Mnemonic.Vmresume, compileEntry(false));

define(Mnemonic.Vmcall, () => (c) => {
  const v = c.vmx;
  if (!v.on) throw new CpuFault(UD);
  if (v.nonRoot) { exitFor(c, EXIT_VMCALL, NONE); return; }
  if ((c.flags & VM) || compat(c)) throw new CpuFault(UD);
  if (c.cpl > 0) throw new CpuFault(GP, 0);
  vmFail(c, Err.VmcallInRoot);
});

// ---------------------------------------------------------------------------
// INVEPT, INVVPID
// ---------------------------------------------------------------------------

function compileInv(ept: boolean): (ins: Instruction, ctx: Ctx) => Handler {
  return (ins, ctx) => {
    const typeReg = gprIndex(ins, 0);
    const addr = effAddr(ins, ctx.bits, 16);
    const m = memoryInfo(ins, ctx.bits);
    const parts: ExitParts = { info: m.info | (typeReg << 28), dispLo: m.dispLo, dispHi: m.dispHi };
    const wide = ctx.bits === 64;
    return (c) => {
      vmxUd(c);
      const v = c.vmx;
      if (v.nonRoot) { exitFor(c, ept ? EXIT_INVEPT : EXIT_INVVPID, parts); return; }
      if (c.cpl > 0) throw new CpuFault(GP, 0);
      const tlo = c.rl[typeReg]! >>> 0, thi = wide ? c.rh[typeReg]! : 0;
      const supported = thi === 0 && tlo < 4 && (ept ? INVEPT_TYPES[tlo] : true);
      if (!supported) { vmFail(c, Err.InvalidInveptInvvpidOperand); return; }
      const la = addr(c);
      const d0 = c.read64(la), d1 = c.hi;
      const d2 = c.read64(la + 8), d3 = c.hi;
      if (ept) {
        if (tlo === 1 && eptpProblem(d0, d1) !== undefined) { vmFail(c, Err.InvalidInveptInvvpidOperand); return; }
      } else {
        const vpid = d0 & 0xffff;
        if ((d0 & 0xffff0000) !== 0 || d1 !== 0) { vmFail(c, Err.InvalidInveptInvvpidOperand); return; }
        if (tlo !== 2 && vpid === 0) { vmFail(c, Err.InvalidInveptInvvpidOperand); return; }
        if (tlo === 0 && !isCanonicalPair(d3)) { vmFail(c, Err.InvalidInveptInvvpidOperand); return; }
        void d2;
      }
      c.flushTlb(true);
      if (ept) v.eptCache.clear(); // guest-physical mappings (also combined ones: the TLB flush above)
      vmSucceed(c);
    };
  };
}
define(Mnemonic.Invept, compileInv(true));
define(Mnemonic.Invvpid, compileInv(false));

// ---------------------------------------------------------------------------
// Not supported: VM functions, SMX, SMM
// ---------------------------------------------------------------------------

const ud: Handler = () => { throw new CpuFault(UD); };
define([Mnemonic.Vmfunc, Mnemonic.Getsec, Mnemonic.Rsm], () => ud);
