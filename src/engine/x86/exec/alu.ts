// Two-operand integer arithmetic and logic: ADD, OR, ADC, SBB, AND, SUB, XOR,
// CMP, TEST, and the one-operand INC, DEC, NEG, NOT. Flags are recorded
// lazily (flags.ts). Every operand form (r/m, reg, imm) and size (8/16/32/64)
// is compiled into its own closure so the hot path does no dispatch on them.
// Undefined flags: none (AF after AND/OR/XOR/TEST is undefined; we clear it).

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { LazyOp, getCF } from '../flags';
import { location, operandSize, readReg, writeReg, readMem, readMemW, writeMem, type Loc } from '../operands';

const enum K { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test }

const TWO32 = 0x1_0000_0000;

/** ALU on sizes 1, 2, 4: returns the result (masked) and records lazy flags. */
function op32(c: Cpu, k: K, size: number, a: number, b: number): number {
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  let r: number;
  switch (k) {
    case K.Add: r = (a + b) & mask; c.lop = LazyOp.Add; break;
    case K.Adc: { const cf = getCF(c); r = (a + b + cf) & mask; c.lcf = cf; c.lop = LazyOp.Adc; break; }
    case K.Sub: case K.Cmp: r = (a - b) & mask; c.lop = LazyOp.Sub; break;
    case K.Sbb: { const cf = getCF(c); r = (a - b - cf) & mask; c.lcf = cf; c.lop = LazyOp.Sbb; break; }
    case K.And: case K.Test: r = a & b & mask; c.lop = LazyOp.Logic; break;
    case K.Or: r = (a | b) & mask; c.lop = LazyOp.Logic; break;
    default: r = (a ^ b) & mask; c.lop = LazyOp.Logic; break;
  }
  if (size === 4) { a |= 0; b |= 0; r |= 0; } else { a &= mask; b &= mask; }
  c.lsize = size; c.ldst = a; c.lsrc = b; c.lres = r;
  return r;
}

/** ALU on 64-bit values; returns lo, leaves hi in c.hi. */
function op64(c: Cpu, k: K, aLo: number, aHi: number, bLo: number, bHi: number): number {
  let lo: number, hi: number;
  switch (k) {
    case K.Add: case K.Adc: {
      const cf = k === K.Adc ? getCF(c) : 0;
      const s = (aLo >>> 0) + (bLo >>> 0) + cf;
      lo = s | 0; hi = (aHi + bHi + (s >= TWO32 ? 1 : 0)) | 0;
      c.lcf = cf; c.lop = k === K.Adc ? LazyOp.Adc : LazyOp.Add;
      break;
    }
    case K.Sub: case K.Cmp: case K.Sbb: {
      const cf = k === K.Sbb ? getCF(c) : 0;
      const s = (aLo >>> 0) - (bLo >>> 0) - cf;
      lo = s | 0; hi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;
      c.lcf = cf; c.lop = k === K.Sbb ? LazyOp.Sbb : LazyOp.Sub;
      break;
    }
    case K.And: case K.Test: lo = aLo & bLo; hi = aHi & bHi; c.lop = LazyOp.Logic; break;
    case K.Or: lo = aLo | bLo; hi = aHi | bHi; c.lop = LazyOp.Logic; break;
    default: lo = aLo ^ bLo; hi = aHi ^ bHi; c.lop = LazyOp.Logic; break;
  }
  c.lsize = 8;
  c.ldst = aLo; c.ldstH = aHi; c.lsrc = bLo; c.lsrcH = bHi; c.lres = lo; c.lresH = hi;
  c.hi = hi;
  return lo;
}

function kindOf(m: Mnemonic): K {
  switch (m) {
    case Mnemonic.Add: return K.Add; case Mnemonic.Or: return K.Or; case Mnemonic.Adc: return K.Adc;
    case Mnemonic.Sbb: return K.Sbb; case Mnemonic.And: return K.And; case Mnemonic.Sub: return K.Sub;
    case Mnemonic.Xor: return K.Xor; case Mnemonic.Cmp: return K.Cmp; default: return K.Test;
  }
}

/** A closure reading a source operand (register, memory or immediate) of `size` bytes. */
function srcReader(loc: Loc, size: number): (c: Cpu) => number {
  if (loc.kind === 'imm') {
    const lo = size === 1 ? loc.lo & 0xff : size === 2 ? loc.lo & 0xffff : loc.lo;
    const hi = loc.hi;
    if (size === 8) return (c) => { c.hi = hi; return lo; };
    return () => lo;
  }
  if (loc.kind === 'reg') {
    const r = loc.reg;
    if (size === 4) { const i = r.index; return (c) => c.rl[i]!; }
    return (c) => readReg(c, r);
  }
  const addr = loc.addr;
  return (c) => readMem(c, addr(c), size);
}

function compileBinary(ins: Instruction, ctx: Ctx): Handler {
  const k = kindOf(ins.mnemonic);
  const writes = k !== K.Cmp && k !== K.Test;
  const size = operandSize(ins, 0, ctx.bits);
  const dst = location(ins, 0, ctx.bits, size);
  const src = location(ins, 1, ctx.bits, size);
  const rd = srcReader(src, size);

  // xor r, r / sub r, r: the classic zeroing idiom, still exact (flags recorded).
  if (dst.kind === 'reg') {
    const r = dst.reg;
    if (size === 4) {
      const i = r.index;
      if (src.kind === 'imm') {
        const b = src.lo;
        return writes
          ? (c) => { const v = op32(c, k, 4, c.rl[i]!, b); c.rl[i] = v; c.rh[i] = 0; }
          : (c) => { op32(c, k, 4, c.rl[i]!, b); };
      }
      return writes
        ? (c) => { const v = op32(c, k, 4, c.rl[i]!, rd(c)); c.rl[i] = v; c.rh[i] = 0; }
        : (c) => { op32(c, k, 4, c.rl[i]!, rd(c)); };
    }
    if (size === 8) {
      const i = r.index;
      return (c) => {
        const bLo = rd(c), bHi = c.hi;
        const lo = op64(c, k, c.rl[i]!, c.rh[i]!, bLo, bHi);
        if (writes) { c.rl[i] = lo; c.rh[i] = c.hi; }
      };
    }
    return (c) => {
      const b = rd(c);
      const v = op32(c, k, size, readReg(c, r), b);
      if (writes) writeReg(c, r, v, 0);
    };
  }
  if (dst.kind !== 'mem') throw new Error('ALU destination must be a register or memory');
  const addr = dst.addr;
  if (size === 8) {
    return (c) => {
      const la = addr(c);
      const bLo = rd(c), bHi = c.hi;
      const aLo = writes ? readMemW(c, la, 8) : readMem(c, la, 8);
      const aHi = c.hi;
      const lo = op64(c, k, aLo, aHi, bLo, bHi);
      if (writes) writeMem(c, la, 8, lo, c.hi);
    };
  }
  return (c) => {
    const la = addr(c);
    const b = rd(c);
    const a = writes ? readMemW(c, la, size) : readMem(c, la, size);
    // Compute flags into a scratch state first so a faulting write leaves flags unchanged.
    const save = saveLazy(c);
    const v = op32(c, k, size, a, b);
    if (writes) {
      try { writeMem(c, la, size, v, 0); } catch (e) { restoreLazy(c, save); throw e; }
    }
  };
}

// A faulting memory write must leave RFLAGS as it was: keep the previous lazy record to restore.
interface LazySave { lop: number; lsize: number; lres: number; ldst: number; lsrc: number; lresH: number; ldstH: number; lsrcH: number; lcf: number; flags: number }
const saved: LazySave = { lop: 0, lsize: 0, lres: 0, ldst: 0, lsrc: 0, lresH: 0, ldstH: 0, lsrcH: 0, lcf: 0, flags: 0 };
function saveLazy(c: Cpu): LazySave {
  saved.lop = c.lop; saved.lsize = c.lsize; saved.lres = c.lres; saved.ldst = c.ldst; saved.lsrc = c.lsrc;
  saved.lresH = c.lresH; saved.ldstH = c.ldstH; saved.lsrcH = c.lsrcH; saved.lcf = c.lcf; saved.flags = c.flags;
  return saved;
}
function restoreLazy(c: Cpu, s: LazySave): void {
  c.lop = s.lop; c.lsize = s.lsize; c.lres = s.lres; c.ldst = s.ldst; c.lsrc = s.lsrc;
  c.lresH = s.lresH; c.ldstH = s.ldstH; c.lsrcH = s.lsrcH; c.lcf = s.lcf; c.flags = s.flags;
}

define([Mnemonic.Add, Mnemonic.Or, Mnemonic.Adc, Mnemonic.Sbb, Mnemonic.And, Mnemonic.Sub, Mnemonic.Xor,
  Mnemonic.Cmp, Mnemonic.Test], compileBinary);

// ---- INC, DEC, NEG, NOT ----------------------------------------------------

// iced enums are looked up only at compile time: in the bundle each access is a getter call.
const enum U { Inc, Dec, Neg, Not }

function unary(c: Cpu, m: U, size: number, a: number, aHi: number): number {
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  if (m === U.Not) { c.hi = ~aHi; return ~a & mask; }
  if (m === U.Neg) {
    if (size === 8) return op64(c, K.Sub, 0, 0, a, aHi);
    return op32(c, K.Sub, size, 0, a);
  }
  const cf = getCF(c);
  const inc = m === U.Inc;
  let lo: number, hi = 0;
  if (size === 8) {
    const s = (a >>> 0) + (inc ? 1 : -1);
    lo = s | 0;
    hi = (aHi + (s >= TWO32 ? 1 : s < 0 ? -1 : 0)) | 0;
  } else {
    lo = (a + (inc ? 1 : -1)) & mask;
    if (size === 4) lo |= 0;
  }
  c.lop = inc ? LazyOp.Inc : LazyOp.Dec;
  c.lcf = cf; c.lsize = size;
  c.ldst = size === 4 || size === 8 ? a | 0 : a & mask; c.ldstH = aHi;
  c.lsrc = 1; c.lsrcH = 0; c.lres = lo; c.lresH = hi;
  c.hi = hi;
  return lo;
}

function compileUnary(ins: Instruction, ctx: Ctx): Handler {
  const mn = ins.mnemonic;
  const m = mn === Mnemonic.Inc ? U.Inc : mn === Mnemonic.Dec ? U.Dec : mn === Mnemonic.Neg ? U.Neg : U.Not;
  const size = operandSize(ins, 0, ctx.bits);
  const dst = location(ins, 0, ctx.bits, size);
  if (dst.kind === 'reg') {
    const r = dst.reg;
    if (size === 4) {
      const i = r.index;
      if (m === U.Dec) return (c) => { c.rl[i] = unary(c, U.Dec, 4, c.rl[i]!, 0); c.rh[i] = 0; };
      if (m === U.Inc) return (c) => { c.rl[i] = unary(c, U.Inc, 4, c.rl[i]!, 0); c.rh[i] = 0; };
    }
    if (size === 8 && m !== U.Not) {
      const i = r.index;
      return (c) => { const lo = unary(c, m, 8, c.rl[i]!, c.rh[i]!); c.rl[i] = lo; c.rh[i] = c.hi; };
    }
    return (c) => {
      const a = readReg(c, r);
      const lo = unary(c, m, size, a, size === 8 ? c.rh[r.index]! : 0);
      writeReg(c, r, lo, c.hi);
    };
  }
  if (ins.op0Kind !== OpKind.Memory || dst.kind !== 'mem') throw new Error('unary operand must be r/m');
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    const a = readMemW(c, la, size);
    const aHi = size === 8 ? c.hi : 0;
    const save = m === U.Not ? undefined : saveLazy(c);
    const lo = unary(c, m, size, a, aHi);
    try { writeMem(c, la, size, lo, c.hi); } catch (e) { if (save) restoreLazy(c, save); throw e; }
  };
}

define([Mnemonic.Inc, Mnemonic.Dec, Mnemonic.Neg, Mnemonic.Not], compileUnary);

export { op32, op64, K as AluKind };
