// The read-modify-write synchronisation instructions: CMPXCHG, CMPXCHG8B,
// CMPXCHG16B, XADD (LOCK-able; one vCPU runs at a time, so every access is
// already atomic with respect to the others).
//
// - A memory destination is always written, with the old value when the
//   comparison fails: the write cycle hardware performs (a read-only page
//   faults either way). The write comes before any register or flag change.
// - CMPXCHG: on success the accumulator is not written (its upper half
//   survives a 32-bit compare in 64-bit mode); on failure it is loaded, and a
//   register destination keeps its value untouched. Flags as CMP acc, dest.
//   CMPXCHG8B/16B: only ZF changes; EDX:EAX (RDX:RAX) are loaded on failure.
//   Checked against QEMU 7.2 TCG and the host CPU.
// - CMPXCHG16B needs CPUID.1:ECX.CMPXCHG16B (else #UD) and a 16-byte aligned
//   operand (else #GP(0), checked on the linear address before any access).
// - XADD: flags as ADD.

import { Mnemonic, type Instruction } from 'iced-x86';
import { define, type Ctx, type Handler } from '../registry';
import { LazyOp, ZF, setSome } from '../flags';
import { CpuFault, GP, UD } from '../fault';
import { readReg, writeReg, readMemW, writeMem, regOperand } from '../operands';
import { RAX, RBX, RCX, RDX } from '../regs';
import { rmSize, rmOperand, intFeatures, recordLazy } from './intutil';

const TWO32 = 0x1_0000_0000;

function sum(size: number, a: number, aH: number, b: number, bH: number): number {
  if (size === 8) {
    const s = (a >>> 0) + (b >>> 0);
    sumHi = (aH + bH + (s >= TWO32 ? 1 : 0)) | 0;
    return s | 0;
  }
  sumHi = 0;
  const r = a + b;
  return size === 4 ? r | 0 : r & (size === 1 ? 0xff : 0xffff);
}
let sumHi = 0;

// ---- CMPXCHG ------------------------------------------------------------------------

function compileCmpxchg(ins: Instruction, ctx: Ctx): Handler {
  const size = rmSize(ins);
  const acc = { index: RAX, size, high8: false };
  const src = regOperand(ins.op1Register);
  const dst = rmOperand(ins, 0, ctx.bits, size);
  if (dst.kind === 'reg') {
    const d = dst.reg;
    return (c) => {
      const a = readReg(c, acc), aH = size === 8 ? c.hi : 0;
      const v = readReg(c, d), vH = size === 8 ? c.hi : 0;
      const eq = a === v && aH === vH;
      if (eq) { const s = readReg(c, src); writeReg(c, d, s, c.hi); }
      else writeReg(c, acc, v, vH);
      recordLazy(c, LazyOp.Sub, size, a, aH, v, vH);
    };
  }
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    const v = readMemW(c, la, size), vH = size === 8 ? c.hi : 0;
    const a = readReg(c, acc), aH = size === 8 ? c.hi : 0;
    const eq = a === v && aH === vH;
    if (eq) { const s = readReg(c, src); writeMem(c, la, size, s, c.hi); }
    else { writeMem(c, la, size, v, vH); writeReg(c, acc, v, vH); }
    recordLazy(c, LazyOp.Sub, size, a, aH, v, vH);
  };
}
define(Mnemonic.Cmpxchg, compileCmpxchg);

// ---- CMPXCHG8B / CMPXCHG16B ----------------------------------------------------------

define(Mnemonic.Cmpxchg8b, (ins, ctx) => {
  const dst = rmOperand(ins, 0, ctx.bits, 8);
  if (dst.kind !== 'mem') return () => { throw new CpuFault(UD); };
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    const lo = c.read64w(la), hi = c.hi;
    if (lo === c.rl[RAX] && hi === c.rl[RDX]) {
      c.write64(la, c.rl[RBX]!, c.rl[RCX]!);
      setSome(c, ZF, ZF);
    } else {
      c.write64(la, lo, hi);
      c.rl[RAX] = lo; c.rh[RAX] = 0;
      c.rl[RDX] = hi; c.rh[RDX] = 0;
      setSome(c, ZF, 0);
    }
  };
});

define(Mnemonic.Cmpxchg16b, (ins, ctx) => {
  const dst = rmOperand(ins, 0, ctx.bits, 16);
  if (!intFeatures.cx16 || dst.kind !== 'mem') return () => { throw new CpuFault(UD); };
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    if (la % 16 !== 0) throw new CpuFault(GP, 0);
    // One page holds all 16 aligned bytes: check writability on both halves before writing.
    const l0 = c.read64w(la), l1 = c.hi;
    const h0 = c.read64w(la + 8), h1 = c.hi;
    if (l0 === c.rl[RAX] && l1 === c.rh[RAX] && h0 === c.rl[RDX] && h1 === c.rh[RDX]) {
      c.write64(la, c.rl[RBX]!, c.rh[RBX]!);
      c.write64(la + 8, c.rl[RCX]!, c.rh[RCX]!);
      setSome(c, ZF, ZF);
    } else {
      c.write64(la, l0, l1);
      c.write64(la + 8, h0, h1);
      c.rl[RAX] = l0; c.rh[RAX] = l1;
      c.rl[RDX] = h0; c.rh[RDX] = h1;
      setSome(c, ZF, 0);
    }
  };
});

// ---- XADD --------------------------------------------------------------------------

function compileXadd(ins: Instruction, ctx: Ctx): Handler {
  const size = rmSize(ins);
  const src = regOperand(ins.op1Register);
  const dst = rmOperand(ins, 0, ctx.bits, size);
  if (dst.kind === 'reg') {
    const d = dst.reg;
    return (c) => {
      const a = readReg(c, d), aH = size === 8 ? c.hi : 0;
      const b = readReg(c, src), bH = size === 8 ? c.hi : 0;
      const r = sum(size, a, aH, b, bH), rH = sumHi;
      // SRC ← DEST, then DEST ← sum (so XADD r, r leaves the sum).
      writeReg(c, src, a, aH);
      writeReg(c, d, r, rH);
      recordLazy(c, LazyOp.Add, size, a, aH, b, bH);
    };
  }
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    const a = readMemW(c, la, size), aH = size === 8 ? c.hi : 0;
    const b = readReg(c, src), bH = size === 8 ? c.hi : 0;
    const r = sum(size, a, aH, b, bH);
    writeMem(c, la, size, r, sumHi);
    writeReg(c, src, a, aH);
    recordLazy(c, LazyOp.Add, size, a, aH, b, bH);
  };
}
define(Mnemonic.Xadd, compileXadd);
