// Multiply and divide: MUL, IMUL (one, two and three operands), DIV, IDIV for
// 8/16/32/64-bit operands.
//
// Exactness: 32×32 products are formed from 16-bit limbs, 64×64 products
// from 16-bit limbs into a 128-bit result (no BigInt: 64-bit IMUL is common
// in compiled code); 64-bit divides use BigInt (rare), 32-bit divides a
// two-step long division with 16-bit digits.
//
// Flags (SDM: MUL/IMUL define CF = OF = "the upper half is significant";
// SF, ZF, AF, PF are undefined; DIV/IDIV leave all six undefined). Choices,
// matching QEMU 7.2 TCG (checked against qemu-system-x86_64 -accel tcg):
// - MUL/IMUL: SF, ZF and PF describe the low half of the result at operand
//   size (AL for 8-bit one-operand forms, the destination for 2/3-operand
//   forms); AF = 0.
// - DIV/IDIV: all flags are left unchanged.
// #DE (vector 0) is raised before anything changes for a zero divisor and
// for a quotient that does not fit the destination (including INT_MIN / -1).

import { Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CF, OF, szp } from '../flags';
import { CpuFault, DE } from '../fault';
import { readReg, writeReg, readMem, regOperand, immediate } from '../operands';
import { RAX, RDX } from '../regs';
import { rmSize, rmOperand, putArith, sext } from './intutil';

const TWO32 = 0x1_0000_0000;
const TWO16 = 0x10000;

// ---- exact products ---------------------------------------------------------

/** Unsigned 32×32 → 64: returns the low dword (int32), high dword in mHi. */
let mHi = 0;
function mulU32(a: number, b: number): number {
  a >>>= 0; b >>>= 0;
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33
  const midLo = mid % TWO16;
  const low = a0 * b0 + midLo * TWO16; // < 2^33
  const lowWord = low % TWO32;
  mHi = (a1 * b1 + (mid - midLo) / TWO16 + (low - lowWord) / TWO32) | 0;
  return lowWord | 0;
}

/** Signed 32×32 → 64 (low returned, high in mHi). */
function mulS32(a: number, b: number): number {
  const lo = mulU32(a, b);
  let hi = mHi;
  if (a < 0) hi -= b;
  if (b < 0) hi -= a;
  mHi = hi | 0;
  return lo;
}

// 64×64 → 128 result words (int32), least significant first.
let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
function mulU64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, a2 = aHi & 0xffff, a3 = aHi >>> 16;
  const b0 = bLo & 0xffff, b1 = bLo >>> 16, b2 = bHi & 0xffff, b3 = bHi >>> 16;
  // Column sums stay below 2^35 plus carry: exact in doubles.
  let t = a0 * b0;
  const r0 = t % TWO16; t = (t - r0) / TWO16;
  t += a0 * b1 + a1 * b0;
  const r1 = t % TWO16; t = (t - r1) / TWO16;
  t += a0 * b2 + a1 * b1 + a2 * b0;
  const r2 = t % TWO16; t = (t - r2) / TWO16;
  t += a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  const r3 = t % TWO16; t = (t - r3) / TWO16;
  t += a1 * b3 + a2 * b2 + a3 * b1;
  const r4 = t % TWO16; t = (t - r4) / TWO16;
  t += a2 * b3 + a3 * b2;
  const r5 = t % TWO16; t = (t - r5) / TWO16;
  t += a3 * b3;
  const r6 = t % TWO16; t = (t - r6) / TWO16;
  const r7 = t % TWO16;
  p0 = (r0 | (r1 << 16)) | 0; p1 = (r2 | (r3 << 16)) | 0; p2 = (r4 | (r5 << 16)) | 0; p3 = (r6 | (r7 << 16)) | 0;
}

/** (hi64) -= (x64): subtracts (xLo, xHi) from the upper half (p2, p3). */
function subHigh(xLo: number, xHi: number): void {
  const s = (p2 >>> 0) - (xLo >>> 0);
  p2 = s | 0;
  p3 = (p3 - xHi - (s < 0 ? 1 : 0)) | 0;
}

function mulS64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulU64(aLo, aHi, bLo, bHi);
  if (aHi < 0) subHigh(bLo, bHi);
  if (bHi < 0) subHigh(aLo, aHi);
}

function mulFlags(c: Cpu, overflow: boolean, size: number, lo: number, hi: number): void {
  putArith(c, (overflow ? CF | OF : 0) | szp(size, lo, hi));
}

// ---- operand readers ----------------------------------------------------------

/** Reader for operand n (register or memory) of `size` bytes; size 8 leaves hi in cpu.hi. */
function operandReader(ins: Instruction, n: number, bits: 16 | 32 | 64, size: number): (c: Cpu) => number {
  const rm = rmOperand(ins, n, bits, size);
  if (rm.kind === 'reg') { const r = rm.reg; return (c) => readReg(c, r); }
  const addr = rm.addr;
  return (c) => readMem(c, addr(c), size);
}

// ---- MUL / IMUL (one operand) -----------------------------------------------

function compileMulOne(ins: Instruction, ctx: Ctx, signed: boolean): Handler {
  const size = rmSize(ins);
  const rd = operandReader(ins, 0, ctx.bits, size);
  switch (size) {
    case 1: return (c) => {
      const b = rd(c), a = c.rl[RAX]! & 0xff;
      const p = signed ? (sext(a, 1) * sext(b, 1)) & 0xffff : a * b;
      c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | p;
      mulFlags(c, signed ? sext(p, 1) !== sext(p, 2) : p > 0xff, 1, p, 0);
    };
    case 2: return (c) => {
      const b = rd(c), a = c.rl[RAX]! & 0xffff;
      const p = signed ? sext(a, 2) * sext(b, 2) : a * b; // exact below 2^32
      const lo = p & 0xffff, hi = (p >> 16) & 0xffff;
      c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | lo;
      c.rl[RDX] = (c.rl[RDX]! & ~0xffff) | hi;
      mulFlags(c, signed ? hi !== ((lo << 16) >> 31 & 0xffff) : hi !== 0, 2, lo, 0);
    };
    case 4: return (c) => {
      const b = rd(c), a = c.rl[RAX]!;
      const lo = signed ? mulS32(a, b) : mulU32(a, b);
      const hi = mHi;
      c.rl[RAX] = lo; c.rh[RAX] = 0;
      c.rl[RDX] = hi; c.rh[RDX] = 0;
      mulFlags(c, signed ? hi !== lo >> 31 : hi !== 0, 4, lo, 0);
    };
    default: return (c) => {
      const bLo = rd(c), bHi = c.hi;
      if (signed) mulS64(c.rl[RAX]!, c.rh[RAX]!, bLo, bHi); else mulU64(c.rl[RAX]!, c.rh[RAX]!, bLo, bHi);
      c.rl[RAX] = p0; c.rh[RAX] = p1;
      c.rl[RDX] = p2; c.rh[RDX] = p3;
      const sign = p1 >> 31;
      mulFlags(c, signed ? p2 !== sign || p3 !== sign : p2 !== 0 || p3 !== 0, 8, p0, p1);
    };
  }
}

// ---- IMUL (two and three operands) ------------------------------------------

function compileImulMulti(ins: Instruction, ctx: Ctx): Handler {
  const dst = regOperand(ins.op0Register);
  const size = dst.size;
  const three = ins.opCount === 3;
  const a = operandReader(ins, three ? 1 : 0, ctx.bits, size);
  let b: (c: Cpu) => number;
  if (three) {
    const { lo, hi } = immediate(ins, 2);
    const v = size === 2 ? lo & 0xffff : lo;
    b = (c) => { c.hi = hi; return v; };
  } else {
    b = operandReader(ins, 1, ctx.bits, size);
  }
  if (size === 2) return (c) => {
    const x = sext(a(c), 2), y = sext(b(c), 2);
    const p = x * y;
    const lo = p & 0xffff;
    writeReg(c, dst, lo, 0);
    mulFlags(c, sext(lo, 2) !== p, 2, lo, 0);
  };
  if (size === 4) return (c) => {
    const x = a(c) | 0, y = b(c) | 0;
    const lo = Math.imul(x, y);
    c.rl[dst.index] = lo; c.rh[dst.index] = 0;
    // x*y is exact below 2^53 and surely outside int32 above it.
    mulFlags(c, x * y !== lo, 4, lo, 0);
  };
  return (c) => {
    const xLo = a(c), xHi = c.hi;
    const yLo = b(c), yHi = c.hi;
    mulS64(xLo, xHi, yLo, yHi);
    c.rl[dst.index] = p0; c.rh[dst.index] = p1;
    const sign = p1 >> 31;
    mulFlags(c, p2 !== sign || p3 !== sign, 8, p0, p1);
  };
}

function compileImul(ins: Instruction, ctx: Ctx): Handler {
  return ins.opCount === 1 ? compileMulOne(ins, ctx, true) : compileImulMulti(ins, ctx);
}

// ---- DIV / IDIV -----------------------------------------------------------------

function divideError(): never { throw new CpuFault(DE); }

/** Unsigned (hi:lo) / d for 32-bit values with hi < d: quotient returned (uint32), remainder in dRem. */
let dRem = 0;
function divU64by32(hi: number, lo: number, d: number): number {
  // Two steps with 16-bit digits keep every intermediate below 2^48.
  let r = hi * TWO16 + (lo >>> 16);
  const q1 = Math.floor(r / d);
  r -= q1 * d;
  r = r * TWO16 + (lo & 0xffff);
  const q0 = Math.floor(r / d);
  dRem = r - q0 * d;
  return q1 * TWO16 + q0;
}

function compileDiv(ins: Instruction, ctx: Ctx, signed: boolean): Handler {
  const size = rmSize(ins);
  const rd = operandReader(ins, 0, ctx.bits, size);
  switch (size) {
    case 1: return (c) => {
      const dv = rd(c);
      if (dv === 0) divideError();
      const n = c.rl[RAX]! & 0xffff;
      let q: number, r: number;
      if (signed) {
        const sn = sext(n, 2), sd = sext(dv, 1);
        q = Math.trunc(sn / sd); r = sn - q * sd;
        if (q > 0x7f || q < -0x80) divideError();
      } else {
        q = Math.floor(n / dv); r = n - q * dv;
        if (q > 0xff) divideError();
      }
      c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | (q & 0xff) | ((r & 0xff) << 8);
    };
    case 2: return (c) => {
      const dv = rd(c);
      if (dv === 0) divideError();
      const n = ((c.rl[RDX]! & 0xffff) * TWO16) + (c.rl[RAX]! & 0xffff);
      let q: number, r: number;
      if (signed) {
        const sn = n >= 0x8000_0000 ? n - TWO32 : n, sd = sext(dv, 2);
        q = Math.trunc(sn / sd); r = sn - q * sd;
        if (q > 0x7fff || q < -0x8000) divideError();
      } else {
        q = Math.floor(n / dv); r = n - q * dv;
        if (q > 0xffff) divideError();
      }
      c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | (q & 0xffff);
      c.rl[RDX] = (c.rl[RDX]! & ~0xffff) | (r & 0xffff);
    };
    case 4: return (c) => {
      const dv = rd(c);
      if (dv === 0) divideError();
      let hi = c.rl[RDX]!, lo = c.rl[RAX]!;
      let q: number, r: number;
      if (signed) {
        const negN = hi < 0, negD = dv < 0;
        // |dividend| as an unsigned 64-bit (hi, lo) pair.
        if (negN) { lo = -lo | 0; hi = (~hi + (lo === 0 ? 1 : 0)) | 0; }
        const ad = negD ? -dv >>> 0 : dv >>> 0;
        if ((hi >>> 0) >= ad) divideError();
        const uq = divU64by32(hi >>> 0, lo, ad);
        q = negN !== negD ? -uq : uq;
        r = negN ? -dRem : dRem;
        if (q > 0x7fffffff || q < -0x80000000) divideError();
      } else {
        const ud = dv >>> 0;
        if ((hi >>> 0) >= ud) divideError();
        q = divU64by32(hi >>> 0, lo, ud);
        r = dRem;
      }
      c.rl[RAX] = q | 0; c.rh[RAX] = 0;
      c.rl[RDX] = r | 0; c.rh[RDX] = 0;
    };
    default: return (c) => {
      const dLo = rd(c), dHi = c.hi;
      if (dLo === 0 && dHi === 0) divideError();
      // 128/64 divide: rare, BigInt keeps it simple and exact.
      const n = (BigInt(c.rh[RDX]! >>> 0) << 96n) | (BigInt(c.rl[RDX]! >>> 0) << 64n) |
        (BigInt(c.rh[RAX]! >>> 0) << 32n) | BigInt(c.rl[RAX]! >>> 0);
      const d = (BigInt(dHi >>> 0) << 32n) | BigInt(dLo >>> 0);
      let q: bigint, r: bigint;
      if (signed) {
        const sn = BigInt.asIntN(128, n), sd = BigInt.asIntN(64, d);
        q = sn / sd; r = sn % sd; // BigInt division truncates toward zero, as IDIV does
        if (q > 0x7fff_ffff_ffff_ffffn || q < -0x8000_0000_0000_0000n) divideError();
      } else {
        q = n / d; r = n % d;
        if (q > 0xffff_ffff_ffff_ffffn) divideError();
      }
      const uq = BigInt.asUintN(64, q), ur = BigInt.asUintN(64, r);
      c.rl[RAX] = Number(uq & 0xffffffffn) | 0; c.rh[RAX] = Number(uq >> 32n) | 0;
      c.rl[RDX] = Number(ur & 0xffffffffn) | 0; c.rh[RDX] = Number(ur >> 32n) | 0;
    };
  }
}

define(Mnemonic.Mul, (ins, ctx) => compileMulOne(ins, ctx, false));
define(Mnemonic.Imul, compileImul);
define(Mnemonic.Div, (ins, ctx) => compileDiv(ins, ctx, false));
define(Mnemonic.Idiv, (ins, ctx) => compileDiv(ins, ctx, true));
