// Shifts and rotates: SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD, for
// 8/16/32/64-bit register and memory destinations, counts from an immediate,
// CL or the implicit 1.
//
// The count is masked to 5 bits (6 for 64-bit operands). A masked count of 0
// changes no flag, but the destination is still written back (a 32-bit
// register is zero-extended, a memory operand sees a write access), as QEMU
// TCG does and as hardware does for registers.
//
// Undefined flags, matching QEMU 7.2 TCG (checked by running the same code
// under qemu-system-x86_64 -accel tcg; see test/unit/x86/shift.test.ts):
// - SHL/SHR/SAR/SHLD/SHRD: AF = 0. OF is computed for every count as for a
//   count of 1 applied to the last single-bit step: OF = MSB(t) XOR MSB(result)
//   where t is the value shifted by count-1 (for SHL that is CF XOR
//   MSB(result); for SHR it is 0 unless count = 1; for SAR always 0).
// - 8/16-bit SHL/SHR with a count beyond the operand width: result 0 (SAR:
//   all sign bits) and CF is the bit at position width-1 (SHL) or 0 (SHR) of
//   the value shifted by count-1, i.e. 0 past the width; SAR's CF is the sign.
// - ROL/ROR: only CF and OF change (OF for any count: ROL MSB(res) XOR CF,
//   ROR the two top bits of the result XORed). They change whenever the
//   5/6-bit masked count is non-zero, even if the rotation (count mod width)
//   is 0.
// - RCL/RCR: the count is masked, then taken mod 9 (8-bit) or mod 17
//   (16-bit); when that is 0 nothing changes. OF = MSB(original XOR result).
// - SHLD/SHRD with 16-bit operands and a count of 17..31 shift the 48-bit
//   value DEST:SRC:DEST (Intel's behaviour, which QEMU implements); CF and OF
//   follow from the same formulas. The count is masked to 5 bits for 16/32.

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CF, OF, ARITH, getCF, setSome, szp } from '../flags';
import { readReg, writeReg, readMemW, writeMem, regOperand } from '../operands';
import { RCX } from '../regs';
import { rmSize, rmOperand, putArith } from './intutil';

const enum Op { Rol, Ror, Rcl, Rcr, Shl, Shr, Sar, Shld, Shrd }

// Results beyond the returned lo: hi half (64-bit), flags, and which flags to write.
let rHi = 0;
let rFlags = 0;
let rMask = 0;

// ---- 64-bit helpers on (lo, hi) int32 pairs; the hi result goes to sh -------
let sh = 0;
function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) { sh = hi; return lo; }
  if (n < 32) { sh = (hi << n) | (lo >>> (32 - n)); return lo << n; }
  sh = lo << (n - 32); return 0;
}
function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) { sh = hi; return lo; }
  if (n < 32) { sh = (hi >>> n) | 0; return (lo >>> n) | (hi << (32 - n)); }
  sh = 0; return (hi >>> (n - 32)) | 0;
}
function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) { sh = hi; return lo; }
  if (n < 32) { sh = hi >> n; return (lo >>> n) | (hi << (32 - n)); }
  sh = hi >> 31; return hi >> (n - 32);
}

function msb(size: number, v: number, vh: number): number {
  return size === 8 ? vh >>> 31 : (v >>> (size * 8 - 1)) & 1;
}

// ---- SHL / SHR / SAR -------------------------------------------------------

/** Shift of a size-1/2/4 value by n (1..31); fills rFlags. */
function shift32(op: Op, size: number, v: number, n: number): number {
  const bits = size * 8;
  const mask = size === 4 ? -1 : (1 << bits) - 1;
  let t: number, r: number, cf: number;
  if (op === Op.Shl) {
    t = v << (n - 1);
    r = (v << n) & mask;
    cf = (t >>> (bits - 1)) & 1;
  } else if (op === Op.Shr) {
    t = v >>> (n - 1);
    r = v >>> n;
    cf = t & 1;
  } else {
    const s = size === 4 ? v | 0 : (v << (32 - bits)) >> (32 - bits);
    t = s >> (n - 1);
    r = (s >> n) & mask;
    cf = t & 1;
  }
  if (size === 4) r |= 0;
  const of = ((t ^ r) >>> (bits - 1)) & 1;
  rFlags = cf | (of ? OF : 0) | szp(size, r, 0);
  rMask = ARITH;
  return r;
}

function shift64(op: Op, lo: number, hi: number, n: number): number {
  let tLo: number, tHi: number, r: number, cf: number;
  if (op === Op.Shl) {
    tLo = shl64(lo, hi, n - 1); tHi = sh;
    r = shl64(lo, hi, n); rHi = sh;
    cf = tHi >>> 31;
  } else if (op === Op.Shr) {
    tLo = shr64(lo, hi, n - 1); tHi = sh;
    r = shr64(lo, hi, n); rHi = sh;
    cf = tLo & 1;
  } else {
    tLo = sar64(lo, hi, n - 1); tHi = sh;
    r = sar64(lo, hi, n); rHi = sh;
    cf = tLo & 1;
  }
  rFlags = cf | (((tHi ^ rHi) >>> 31) ? OF : 0) | szp(8, r, rHi);
  rMask = ARITH;
  return r;
}

// ---- ROL / ROR -------------------------------------------------------------

function rotate(op: Op, size: number, v: number, vh: number, n: number): number {
  const bits = size * 8;
  const k = n & (bits - 1);
  let r: number;
  if (size === 8) {
    if (k === 0) { r = v; rHi = vh; }
    else if (op === Op.Rol) { r = shl64(v, vh, k); const h = sh; r |= shr64(v, vh, 64 - k); rHi = h | sh; }
    else { r = shr64(v, vh, k); const h = sh; r |= shl64(v, vh, 64 - k); rHi = h | sh; }
  } else if (k === 0) r = v;
  else if (op === Op.Rol) r = (v << k) | (v >>> (bits - k));
  else r = (v >>> k) | (v << (bits - k));
  if (size !== 8) r = size === 4 ? r | 0 : r & ((1 << bits) - 1);
  const top = msb(size, r, rHi);
  if (op === Op.Rol) {
    const cf = r & 1;
    rFlags = cf | ((top ^ cf) ? OF : 0);
  } else {
    const next = size === 8 ? (rHi >>> 30) & 1 : (r >>> (bits - 2)) & 1;
    rFlags = top | ((top ^ next) ? OF : 0);
  }
  rMask = CF | OF;
  return r;
}

// ---- RCL / RCR -------------------------------------------------------------

function rotateCarry(c: Cpu, op: Op, size: number, v: number, vh: number, n: number): number {
  const bits = size * 8;
  // 8- and 16-bit rotate through 9 and 17 bit positions.
  if (size === 1) n %= 9; else if (size === 2) n %= 17;
  if (n === 0) { rHi = vh; rMask = 0; return v; }
  const cfIn = getCF(c);
  let r: number, cf: number;
  if (size === 8) {
    if (op === Op.Rcl) {
      cf = (n <= 32 ? vh >>> (32 - n) : v >>> (64 - n)) & 1;
      r = shl64(v, vh, n); let h = sh;
      if (n > 1) { r |= shr64(v, vh, 65 - n); h |= sh; }
      if (cfIn) { if (n - 1 < 32) r |= 1 << (n - 1); else h |= 1 << (n - 33); }
      rHi = h;
    } else {
      cf = ((n - 1 < 32 ? v >>> (n - 1) : vh >>> (n - 33)) & 1);
      r = shr64(v, vh, n); let h = sh;
      if (n > 1) { r |= shl64(v, vh, 65 - n); h |= sh; }
      if (cfIn) { if (64 - n < 32) r |= 1 << (64 - n); else h |= 1 << (32 - n); }
      rHi = h;
    }
    rFlags = cf | (((vh ^ rHi) >>> 31) ? OF : 0);
    rMask = CF | OF;
    return r;
  }
  if (op === Op.Rcl) {
    r = (v << n) | (cfIn << (n - 1));
    if (n > 1) r |= v >>> (bits + 1 - n);
    cf = (v >>> (bits - n)) & 1;
  } else {
    r = (v >>> n) | (cfIn << (bits - n));
    if (n > 1) r |= v << (bits + 1 - n);
    cf = (v >>> (n - 1)) & 1;
  }
  r = size === 4 ? r | 0 : r & ((1 << bits) - 1);
  rFlags = cf | ((((v ^ r) >>> (bits - 1)) & 1) ? OF : 0);
  rMask = CF | OF;
  return r;
}

// ---- SHLD / SHRD -----------------------------------------------------------

/** Bit k (0..47) of the 48-bit value a:b:a (16-bit operands). */
function bit48(a: number, b: number, k: number): number {
  return k >= 32 ? (a >>> (k - 32)) & 1 : k >= 16 ? (b >>> (k - 16)) & 1 : (a >>> k) & 1;
}

/** Double shift of dest a by src b, n = 1..31 (1..63 for 64-bit); bHi for 64-bit. */
function doubleShift(op: Op, size: number, a: number, aHi: number, b: number, bHi: number, n: number): number {
  let r: number, cf: number, of: number;
  if (size === 2) {
    const low = ((b << 16) | a) >>> 0; // bits 0..31 of a:b:a
    if (op === Op.Shld) {
      const s = 32 - n; // result = bits s..s+15 of a:b:a
      r = ((low >>> s) | (a << (32 - s))) & 0xffff;
      cf = bit48(a, b, 48 - n);
      of = cf ^ bit48(a, b, 47 - n);
    } else {
      r = ((low >>> n) | (a << (32 - n))) & 0xffff;
      cf = bit48(a, b, n - 1);
      of = bit48(a, b, n + 14) ^ bit48(a, b, n + 15);
    }
    rFlags = cf | (of ? OF : 0) | szp(2, r, 0);
  } else if (size === 4) {
    let t: number;
    if (op === Op.Shld) {
      r = (a << n) | (b >>> (32 - n));
      t = n === 1 ? a : (a << (n - 1)) | (b >>> (33 - n));
      cf = t >>> 31;
    } else {
      r = (a >>> n) | (b << (32 - n));
      t = n === 1 ? a : (a >>> (n - 1)) | (b << (33 - n));
      cf = t & 1;
    }
    r |= 0;
    rFlags = cf | (((t ^ r) >>> 31) ? OF : 0) | szp(4, r, 0);
  } else {
    let tHi: number;
    if (op === Op.Shld) {
      shl64(a, aHi, n - 1); tHi = sh;
      cf = tHi >>> 31;
      r = shl64(a, aHi, n); let h = sh;
      r |= shr64(b, bHi, 64 - n); h |= sh;
      rHi = h;
    } else {
      const tLo = shr64(a, aHi, n - 1); tHi = sh;
      cf = tLo & 1;
      r = shr64(a, aHi, n); let h = sh;
      r |= shl64(b, bHi, 64 - n); h |= sh;
      rHi = h;
    }
    rFlags = cf | (((tHi ^ rHi) >>> 31) ? OF : 0) | szp(8, r, rHi);
  }
  rMask = ARITH;
  return r;
}

// ---- compiling -------------------------------------------------------------

function opOf(m: Mnemonic): Op {
  switch (m) {
    case Mnemonic.Rol: return Op.Rol; case Mnemonic.Ror: return Op.Ror;
    case Mnemonic.Rcl: return Op.Rcl; case Mnemonic.Rcr: return Op.Rcr;
    case Mnemonic.Shr: return Op.Shr; case Mnemonic.Sar: return Op.Sar;
    case Mnemonic.Shld: return Op.Shld; case Mnemonic.Shrd: return Op.Shrd;
    default: return Op.Shl; // SHL, SAL
  }
}

/** One compute step: value (lo, hi), masked count n ≥ 1, second source for SHLD/SHRD. */
type Compute = (c: Cpu, v: number, vh: number, n: number, b: number, bh: number) => number;

function computeFor(op: Op, size: number): Compute {
  switch (op) {
    case Op.Shl: case Op.Shr: case Op.Sar:
      return size === 8 ? (_c, v, vh, n) => shift64(op, v, vh, n) : (_c, v, _vh, n) => shift32(op, size, v, n);
    case Op.Rol: case Op.Ror:
      return (_c, v, vh, n) => rotate(op, size, v, vh, n);
    case Op.Rcl: case Op.Rcr:
      return (c, v, vh, n) => rotateCarry(c, op, size, v, vh, n);
    default:
      return (_c, v, vh, n, b, bh) => doubleShift(op, size, v, vh, b, bh, n);
  }
}

function commitFlags(c: Cpu): void {
  if (rMask === ARITH) putArith(c, rFlags);
  else if (rMask !== 0) setSome(c, rMask, rFlags);
}

function compileShift(ins: Instruction, ctx: Ctx): Handler {
  const op = opOf(ins.mnemonic);
  const size = rmSize(ins);
  const cmask = size === 8 ? 63 : 31;
  const double = op === Op.Shld || op === Op.Shrd;
  const countOp = double ? 2 : 1;
  const countIsCl = ins.opKind(countOp) === OpKind.Register;
  const imm = countIsCl ? 0 : Number(ins.immediate(countOp)) & cmask;
  const src = double ? regOperand(ins.op1Register) : undefined;
  const compute = computeFor(op, size);
  const dst = rmOperand(ins, 0, ctx.bits, size);

  const run = (c: Cpu, v: number, vh: number): number => {
    const n = countIsCl ? c.rl[RCX]! & cmask : imm;
    rMask = 0; rHi = vh;
    if (n === 0) return v;
    let b = 0, bh = 0;
    if (src) { b = readReg(c, src); bh = c.hi; }
    return compute(c, v, vh, n, b, bh);
  };

  if (dst.kind === 'reg') {
    const r = dst.reg, i = r.index;
    if (size === 4) return (c) => { const v = run(c, c.rl[i]!, 0); c.rl[i] = v; c.rh[i] = 0; commitFlags(c); };
    if (size === 8) return (c) => { const v = run(c, c.rl[i]!, c.rh[i]!); c.rl[i] = v; c.rh[i] = rHi; commitFlags(c); };
    return (c) => { const v = run(c, readReg(c, r), 0); writeReg(c, r, v, 0); commitFlags(c); };
  }
  const addr = dst.addr;
  return (c) => {
    const la = addr(c);
    const v = readMemW(c, la, size);
    const r = run(c, v, size === 8 ? c.hi : 0);
    writeMem(c, la, size, r, rHi);
    commitFlags(c);
  };
}

define([Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl,
  Mnemonic.Rcr, Mnemonic.Shld, Mnemonic.Shrd], compileShift);
