// Software interrupts and interrupt return: INT n, INT3, INTO, INT1 (ICEBP),
// UD2, IRET/IRETD/IRETQ (SDM vol. 2 "INT n/INTO/INT3/INT1", "IRET/IRETD/IRETQ",
// vol. 3 chapter 6). Delivery itself is interrupts.ts (deliverEvent).
//
// - INT n in virtual-8086 mode is IOPL-sensitive (#GP(0) below IOPL 3); INT3,
//   INTO and INT1 are not. With CR4.VME = 1 the software-interrupt redirection
//   bitmap applies: not implemented, an "unsupported" stop.
// - INT3, INTO (when OF = 1) and INT1 raise exceptions (#BP, #OF, #DB): they
//   are reported through cpu.events.exception before delivery, as the run loop
//   does for faults. INT1 leaves DR6 unchanged (ICEBP sets no DR6 bits).
// - IRET implements real mode, virtual-8086 mode (IOPL 3; #GP(0) otherwise,
//   an "unsupported" stop for the CR4.VME 16-bit path), protected mode (same
//   level, outer level with SS:ESP and data-segment invalidation, return to
//   virtual-8086 mode from CPL 0) and IA-32e mode (64-bit mode always pops
//   SS:RSP; compatibility-mode targets are limit-checked, 64-bit ones
//   canonical-checked). NT = 1 is a task return: #GP(0) in IA-32e mode, an
//   "unsupported" stop (hardware task switching) otherwise.
// - A return to virtual-8086 mode checks the popped EIP against the VM86 CS
//   limit (0xFFFF), #GP(0) beyond it, per the SDM pseudocode.
// - The engine keeps no NMI-blocking state, so IRET's NMI unblocking is moot.

import { Code, Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, UD, BP, OF as OF_VEC, DB } from '../fault';
import {
  getFlags, getOF, CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, NT, RF, VM, AC, VIF, VIP, ID,
} from '../flags';
import { CS, SS, DS, ES, FS, GS, RSP } from '../regs';
import { deliverEvent, EventKind } from '../interrupts';
import { peek, adjustSp } from '../stack';
import { unsupportedHandler } from '../unsupported';
import {
  SegLoad, checkReturnCs, checkReturnSs, targetRip, invalidateDataSegs, setStackPointer, finishTransfer, loadCs,
  is64Code,
} from './far-common';

const CR4_VME = 1;
const csL = new SegLoad();
const ssL = new SegLoad();

// ---------------------------------------------------------------------------
// INT n, INT3, INTO, INT1, UD2
// ---------------------------------------------------------------------------

function compileInt(ins: Instruction, ctx: Ctx): Handler {
  const v = ins.immediate8;
  const vmeStop = unsupportedHandler(ins, ctx, 'INT n in virtual-8086 mode with CR4.VME=1 (interrupt redirection)');
  return (c) => {
    if (c.flags & VM) {
      if (c.cr4 & CR4_VME) vmeStop(c);
      if ((c.flags & IOPL) !== IOPL) throw new CpuFault(GP, 0);
    }
    deliverEvent(c, v, EventKind.Software, -1);
    c.exitBlock = true;
  };
}
define(Mnemonic.Int, compileInt);

define(Mnemonic.Int3, () => (c) => {
  c.events.exception(c, BP, -1, undefined);
  deliverEvent(c, BP, EventKind.Software, -1);
  c.exitBlock = true;
});

define(Mnemonic.Into, (_ins, ctx) => {
  if (ctx.bits === 64) return () => { throw new CpuFault(UD); };
  return (c) => {
    if (!getOF(c)) return;
    c.events.exception(c, OF_VEC, -1, undefined);
    deliverEvent(c, OF_VEC, EventKind.Software, -1);
    c.exitBlock = true;
  };
});

define(Mnemonic.Int1, () => (c) => {
  c.events.exception(c, DB, -1, undefined);
  deliverEvent(c, DB, EventKind.PrivSoftware, -1);
  c.exitBlock = true;
});

define(Mnemonic.Ud2, () => () => { throw new CpuFault(UD); });

// ---------------------------------------------------------------------------
// IRET
// ---------------------------------------------------------------------------

/** RFLAGS after a protected/IA-32e IRET: which bits the popped image may change depends on size, CPL, IOPL. */
function mergeFlags(old: number, image: number, size: number, cpl: number): number {
  let mask = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
  if (size >= 4) mask |= RF | AC | ID;
  if (cpl <= ((old >>> 12) & 3)) mask |= IF;
  if (cpl === 0) {
    mask |= IOPL;
    if (size >= 4) mask |= VIF | VIP;
  }
  return (old & ~mask) | (image & mask);
}

function iretReal(c: Cpu, size: number): void {
  const ipRaw = peek(c, 0, size);
  const sel = peek(c, size, size) & 0xffff;
  const image = peek(c, 2 * size, size);
  const ip = size === 2 ? ipRaw & 0xffff : ipRaw >>> 0;
  if (ip > c.segHi[CS]!) throw new CpuFault(GP, 0);
  const old = getFlags(c);
  const nf = size === 4 ? (image & 0x257fd5) | (old & 0x1a0000) : (old & ~0xffff) | (image & 0xffff);
  c.setSegReal(CS, sel);
  c.rflags = nf;
  adjustSp(c, 3 * size);
  c.nextRip = ip;
  c.exitBlock = true;
}

/** IRET executed in virtual-8086 mode: stays in VM86 (IOPL 3 only). */
function iretInVm86(c: Cpu, size: number, vmeStop: Handler): void {
  if ((c.flags & IOPL) !== IOPL) {
    if ((c.cr4 & CR4_VME) && size === 2) vmeStop(c);
    throw new CpuFault(GP, 0); // trap to the virtual-8086 monitor
  }
  const ipRaw = peek(c, 0, size);
  const sel = peek(c, size, size) & 0xffff;
  const image = peek(c, 2 * size, size);
  const ip = size === 2 ? ipRaw & 0xffff : ipRaw >>> 0;
  if (ip > 0xffff) throw new CpuFault(GP, 0);
  const old = getFlags(c);
  let nf: number;
  if (size === 4) {
    const keep = VM | IOPL | VIP | VIF;
    nf = (old & keep) | (image & ~keep);
  } else {
    nf = (old & ~0xffff) | (old & IOPL) | (image & 0xffff & ~IOPL);
  }
  c.rflags = nf;
  c.setSegReal(CS, sel);
  adjustSp(c, 3 * size);
  c.nextRip = ip;
  c.exitBlock = true;
}

/** RETURN-TO-VIRTUAL-8086-MODE: a 32-bit IRET at CPL 0 whose EFLAGS image has VM = 1. */
function iretToVm86(c: Cpu, ipRaw: number, sel: number, image: number): void {
  const ip = ipRaw >>> 0;
  if (ip > 0xffff) throw new CpuFault(GP, 0);
  const esp = peek(c, 12, 4);
  const ss = peek(c, 16, 4) & 0xffff;
  const es = peek(c, 20, 4) & 0xffff;
  const ds = peek(c, 24, 4) & 0xffff;
  const fs = peek(c, 28, 4) & 0xffff;
  const gs = peek(c, 32, 4) & 0xffff;
  c.rflags = image; // EFLAGS := tempEFLAGS, VM included: the loads below are VM86 loads
  c.setSegReal(CS, sel);
  c.setSegReal(SS, ss);
  c.setSegReal(ES, es);
  c.setSegReal(DS, ds);
  c.setSegReal(FS, fs);
  c.setSegReal(GS, gs);
  c.rl[RSP] = esp; c.rh[RSP] = 0;
  c.nextRip = ip;
  finishTransfer(c, 3, 'iret');
}

function iret(c: Cpu, size: number, nestedStop: Handler, vmeStop: Handler): void {
  if (!(c.cr0 & 1)) { iretReal(c, size); return; }
  if (c.flags & VM) { iretInVm86(c, size, vmeStop); return; }
  if (c.flags & NT) {
    if (c.longMode) throw new CpuFault(GP, 0);
    nestedStop(c);
  }
  const ipLo = peek(c, 0, size), ipHi = size === 8 ? c.hi : 0;
  const sel = peek(c, size, size) & 0xffff;
  let image = peek(c, 2 * size, size);
  if (size === 2) image &= 0xffff;
  const oldCpl = c.cpl;
  if (!c.longMode && (image & VM) && oldCpl === 0) { iretToVm86(c, ipLo, sel, image); return; }

  checkReturnCs(c, sel, csL);
  const rpl = sel & 3;
  // 64-bit mode pops SS:RSP even without a privilege change.
  const popSs = rpl > oldCpl || c.bits === 64;
  let spLo = 0, spHi = 0;
  if (popSs) {
    spLo = peek(c, 3 * size, size);
    spHi = size === 8 ? c.hi : 0;
    const ssSel = peek(c, 4 * size, size) & 0xffff;
    checkReturnSs(c, ssSel, rpl, is64Code(c, csL.ar), ssL);
  }
  const target = targetRip(c, csL.ar, csL.limit, ipLo, ipHi, size);
  const nf = mergeFlags(getFlags(c), image, size, oldCpl);
  if (popSs) ssL.accessed(c);

  loadCs(c, csL, rpl);
  c.rflags = nf;
  if (popSs) {
    ssL.commit(c, SS);
    c.updateMode(); // the stack width of the new SS / mode
    setStackPointer(c, spLo, spHi);
  } else {
    adjustSp(c, 3 * size);
  }
  if (rpl > oldCpl) invalidateDataSegs(c, rpl);
  c.nextRip = target;
  finishTransfer(c, rpl, 'iret');
}

function compileIret(ins: Instruction, ctx: Ctx): Handler {
  const size = ins.code === Code.Iretw ? 2 : ins.code === Code.Iretq ? 8 : 4;
  const nestedStop = unsupportedHandler(ins, ctx, 'IRET with EFLAGS.NT=1 (task return, hardware task switch)');
  const vmeStop = unsupportedHandler(ins, ctx, 'IRET in virtual-8086 mode with CR4.VME=1 and IOPL<3');
  return (c) => iret(c, size, nestedStop, vmeStop);
}
define([Mnemonic.Iret, Mnemonic.Iretd, Mnemonic.Iretq], compileIret);
