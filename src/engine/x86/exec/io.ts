// Port I/O: IN, OUT, INS, OUTS (SDM vol. 2 instruction pages; vol. 1
// "I/O Permission Bit Map"). Ports go through cpu.io (IoBus).
//
// Protection: in protected mode with CPL > IOPL, and always in virtual-8086
// mode, every port byte the access touches must be clear in the TSS I/O
// permission bitmap (a 32/64-bit TSS with a limit of at least 0x67; the map
// offset is at TSS+0x66 and two bytes are read, both within the TSS limit);
// else #GP(0). That check comes before a VMX I/O exit, as on hardware.
//
// Choices:
// - INS checks that the destination is writable before reading the port
//   (as QEMU does), so a #PF does not consume device data.
// - REP INS/OUTS (F3 or F2) run at most 4096 iterations per execution, then
//   re-execute the same instruction (RIP unchanged) so interrupts and
//   debugger stops are taken in between; the count and index registers are
//   committed after each iteration, so a fault leaves a restartable state.
// - Every port access ends the block: a device may raise an interrupt or ask
//   the machine to stop.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { laAdd } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP } from '../fault';
import { VM, DF } from '../flags';
import { RAX, RCX, RDX, RSI, RDI, TR, ES, regInfo } from '../regs';
import { AR_P } from '../segdesc';
import { addressSize, setReg8, setReg16, setReg32, readMem, writeMem } from '../operands';
import type { IoSize } from '../../devices/bus';
import { intercepted, SysEvent, memSegment, segOffsetToLinear } from './sys-common';

const MAX_ITERATIONS = 4096;
const IO_IN = 1 << 3, IO_STRING = 1 << 4, IO_REP = 1 << 5;

/** #GP(0) unless the current privilege and the TSS I/O bitmap allow `size` bytes at `port`. */
export function checkIoPermission(c: Cpu, port: number, size: number): void {
  if (!(c.cr0 & 1)) return;
  if (!(c.flags & VM) && c.cpl <= ((c.flags >>> 12) & 3)) return;
  const ar = c.segAttr[TR]!;
  const type = ar & 0xf;
  const limit = c.segLimit[TR]!;
  if (!(ar & AR_P) || (type !== 9 && type !== 11) || limit < 0x67) throw new CpuFault(GP, 0);
  const base = c.segBase[TR]!;
  const off = c.readSys16(base + 0x66) + (port >>> 3);
  if (off + 1 > limit) throw new CpuFault(GP, 0);
  const map = c.readSys16(base + off);
  if ((map >>> (port & 7)) & ((1 << size) - 1)) throw new CpuFault(GP, 0);
}

function ioIn(c: Cpu, port: number, size: IoSize): number {
  const v = c.io.in(port, size);
  c.exitBlock = true;
  return size === 4 ? v | 0 : v;
}

function ioOut(c: Cpu, port: number, size: IoSize, v: number): void {
  c.io.out(port, size, size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v >>> 0);
  c.exitBlock = true;
}

/** Writes an IN result into AL/AX/EAX (EAX zero-extends into RAX). */
function putAcc(c: Cpu, size: IoSize, v: number): void {
  if (size === 1) setReg8(c, RAX, false, v);
  else if (size === 2) setReg16(c, RAX, v);
  else setReg32(c, RAX, v);
}

function accSize(ins: Instruction, n: number): IoSize {
  return regInfo(ins.opRegister(n)).size as IoSize;
}

function compileIn(ins: Instruction): Handler {
  const size = accSize(ins, 0);
  const fromDx = ins.op1Kind === OpKind.Register;
  const imm = fromDx ? 0 : ins.immediate8;
  return (c) => {
    const port = fromDx ? c.rl[RDX]! & 0xffff : imm;
    checkIoPermission(c, port, size);
    if (intercepted(c, SysEvent.Io, port, size | IO_IN)) return;
    putAcc(c, size, ioIn(c, port, size));
  };
}
define(Mnemonic.In, compileIn);

function compileOut(ins: Instruction): Handler {
  const size = accSize(ins, 1);
  const toDx = ins.op0Kind === OpKind.Register;
  const imm = toDx ? 0 : ins.immediate8;
  return (c) => {
    const port = toDx ? c.rl[RDX]! & 0xffff : imm;
    checkIoPermission(c, port, size);
    if (intercepted(c, SysEvent.Io, port, size)) return;
    ioOut(c, port, size, c.rl[RAX]!);
  };
}
define(Mnemonic.Out, compileOut);

// ---------------------------------------------------------------------------
// INS, OUTS
// ---------------------------------------------------------------------------

/** Reads an index/count register at the address size (lo; hi in c.hi for 64). */
function readAt(c: Cpu, r: number, asz: number): number {
  if (asz === 64) { c.hi = c.rh[r]!; return c.rl[r]!; }
  c.hi = 0;
  return asz === 32 ? c.rl[r]! : c.rl[r]! & 0xffff;
}

/** Adds delta to an index/count register at the address size (32-bit writes zero-extend). */
function addAt(c: Cpu, r: number, asz: number, delta: number): void {
  if (asz === 16) { c.rl[r] = (c.rl[r]! & ~0xffff) | ((c.rl[r]! + delta) & 0xffff); return; }
  if (asz === 32) { c.rl[r] = (c.rl[r]! + delta) | 0; c.rh[r] = 0; return; }
  const s = (c.rl[r]! >>> 0) + delta;
  c.rl[r] = s | 0;
  c.rh[r] = (c.rh[r]! + (s >= 0x1_0000_0000 ? 1 : s < 0 ? -1 : 0)) | 0;
}

function countIsZero(c: Cpu, asz: number): boolean {
  if (asz === 16) return (c.rl[RCX]! & 0xffff) === 0;
  if (asz === 32) return c.rl[RCX] === 0;
  return c.rl[RCX] === 0 && c.rh[RCX] === 0;
}

function stringSize(ins: Instruction): IoSize {
  switch (ins.code) {
    case Code.Insb_m8_DX: case Code.Outsb_DX_m8: return 1;
    case Code.Insw_m16_DX: case Code.Outsw_DX_m16: return 2;
    default: return 4;
  }
}

function compileIns(ins: Instruction, ctx: Ctx): Handler {
  const size = stringSize(ins);
  const asz = addressSize(ins, ctx.bits);
  const rep = ins.hasRepPrefix || ins.hasRepnePrefix;
  const info = size | IO_IN | IO_STRING | (rep ? IO_REP : 0);
  const one = (c: Cpu, port: number): void => {
    const off = readAt(c, RDI, asz);
    const la = segOffsetToLinear(c, ES, off, c.hi, asz, size);
    c.probe(la, true);
    if (((la & 0xfff) + size) > 0x1000) c.probe(laAdd(la, size - 1, c.bits), true);
    const v = ioIn(c, port, size);
    writeMem(c, la, size, v, 0);
    addAt(c, RDI, asz, (c.flags & DF) ? -size : size);
  };
  return (c) => {
    const port = c.rl[RDX]! & 0xffff;
    checkIoPermission(c, port, size);
    if (intercepted(c, SysEvent.Io, port, info)) return;
    if (!rep) { one(c, port); return; }
    for (let n = 0; !countIsZero(c, asz); n++) {
      if (n === MAX_ITERATIONS) { c.nextRip = c.rip; c.exitBlock = true; return; }
      one(c, port);
      addAt(c, RCX, asz, -1);
    }
  };
}
define([Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd], compileIns);

function compileOuts(ins: Instruction, ctx: Ctx): Handler {
  const size = stringSize(ins);
  const asz = addressSize(ins, ctx.bits);
  const seg = memSegment(ins);
  const rep = ins.hasRepPrefix || ins.hasRepnePrefix;
  const info = size | IO_STRING | (rep ? IO_REP : 0);
  const one = (c: Cpu, port: number): void => {
    const off = readAt(c, RSI, asz);
    const la = segOffsetToLinear(c, seg, off, c.hi, asz, size);
    const v = readMem(c, la, size);
    ioOut(c, port, size, v);
    addAt(c, RSI, asz, (c.flags & DF) ? -size : size);
  };
  return (c) => {
    const port = c.rl[RDX]! & 0xffff;
    checkIoPermission(c, port, size);
    if (intercepted(c, SysEvent.Io, port, info)) return;
    if (!rep) { one(c, port); return; }
    for (let n = 0; !countIsZero(c, asz); n++) {
      if (n === MAX_ITERATIONS) { c.nextRip = c.rip; c.exitBlock = true; return; }
      one(c, port);
      addAt(c, RCX, asz, -1);
    }
  };
}
define([Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd], compileOuts);
