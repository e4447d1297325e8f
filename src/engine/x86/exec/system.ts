// System instructions that control the processor itself: HLT, cache and TLB
// maintenance (WBINVD, INVD, CLFLUSH, INVLPG), fences and prefetches, XGETBV/
// XSETBV, and the instructions this CPU does not advertise, which are #UD
// (MONITOR/MWAIT, RDRAND/RDSEED, RDPID, INVPCID, CLFLUSHOPT, the FSGSBASE
// group, UD0/UD1). Control registers, descriptor tables, flags, I/O, CPUID
// and MSRs have their own files (control-regs, tables, flagsys, io, cpuid,
// system-msr).
//
// Choices:
// - There are no caches: WBINVD/INVD/CLFLUSH and fences are no-ops after their
//   checks. CLFLUSH checks its address like a byte load (segment limits,
//   canonical form, #PF) without reading memory.
// - INVLPG never faults on its address: one outside the segment limit or
//   non-canonical flushes the whole TLB instead (flushing more is always
//   allowed). Prefetches never fault.
// - XSETBV accepts XCR0 values made of x87 (bit 0, required) and SSE (bit 1);
//   XGETBV reads XCR0 only (ECX = 1 needs CPUID.(0xD,1):EAX[2], not advertised).

import { Mnemonic, type Instruction } from 'iced-x86';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, UD } from '../fault';
import { RAX, RCX, RDX } from '../regs';
import { effAddr } from '../operands';
import { XCR0_SUPPORTED } from '../cpuid-table';
import { CR4_OSXSAVE } from './control-regs';
import { requireCpl0, intercepted, SysEvent, setEdxEax } from './sys-common';

const udHandler: Handler = () => { throw new CpuFault(UD); };

// HLT: privileged; the vCPU sleeps until an interrupt (run() returns Halted when none can come).
define(Mnemonic.Hlt, () => (c) => {
  if (c.cpl !== 0) throw new CpuFault(GP, 0);
  if (intercepted(c, SysEvent.Hlt)) return;
  c.halted = true;
  c.exitBlock = true;
});

define([Mnemonic.Wbinvd, Mnemonic.Wbnoinvd], () => (c) => {
  requireCpl0(c);
  intercepted(c, SysEvent.Wbinvd);
});

define(Mnemonic.Invd, () => (c) => {
  requireCpl0(c);
  intercepted(c, SysEvent.Invd);
});

function compileClflush(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 1);
  return (c) => { c.probe(addr(c), false); };
}
define(Mnemonic.Clflush, compileClflush);

define([Mnemonic.Lfence, Mnemonic.Sfence, Mnemonic.Mfence, Mnemonic.Prefetchnta, Mnemonic.Prefetcht0,
  Mnemonic.Prefetcht1, Mnemonic.Prefetcht2, Mnemonic.Prefetchw, Mnemonic.Prefetch, Mnemonic.Prefetchwt1],
() => () => {});

function compileInvlpg(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 1);
  return (c) => {
    requireCpl0(c);
    let la: number;
    try {
      la = addr(c);
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      la = -1;
    }
    if (intercepted(c, SysEvent.Invlpg, la)) return;
    if (la < 0) c.flushTlb(true); else c.invlpg(la);
    c.exitBlock = true;
  };
}
define(Mnemonic.Invlpg, compileInvlpg);

define(Mnemonic.Xgetbv, () => (c) => {
  if (!(c.cr4 & CR4_OSXSAVE)) throw new CpuFault(UD);
  if (c.rl[RCX] !== 0) throw new CpuFault(GP, 0);
  setEdxEax(c, c.xcr0, 0);
});

define(Mnemonic.Xsetbv, () => (c) => {
  if (!(c.cr4 & CR4_OSXSAVE)) throw new CpuFault(UD);
  requireCpl0(c);
  if (intercepted(c, SysEvent.Xsetbv)) return;
  const v = c.rl[RAX]!;
  if (c.rl[RCX] !== 0 || c.rl[RDX] !== 0 || (v & ~XCR0_SUPPORTED) || !(v & 1)) throw new CpuFault(GP, 0);
  c.xcr0 = v;
  c.exitBlock = true;
});

define([Mnemonic.Monitor, Mnemonic.Mwait, Mnemonic.Monitorx, Mnemonic.Mwaitx, Mnemonic.Rdrand, Mnemonic.Rdseed,
  Mnemonic.Rdpid, Mnemonic.Invpcid, Mnemonic.Clflushopt, Mnemonic.Rdfsbase, Mnemonic.Rdgsbase, Mnemonic.Wrfsbase,
  Mnemonic.Wrgsbase, Mnemonic.Ud0, Mnemonic.Ud1], () => udHandler);
