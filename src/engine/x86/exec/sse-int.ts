// SSE/SSE2 packed integer and bitwise instructions (legacy encodings, XMM
// forms): logic (PAND/PANDN/POR/PXOR and their PS/PD twins), PADD/PSUB
// B/W/D/Q, PCMPEQ/PCMPGT B/W/D, PMINUB/PMAXUB, PMOVMSKB/MOVMSKPS/MOVMSKPD,
// PSHUFD/PSHUFLW/PSHUFHW/SHUFPS/SHUFPD, PUNPCKL/H BW/WD/DQ/QDQ and
// UNPCKL/H PS/PD, and the shifts PSLL/PSRL W/D/Q, PSRAW/PSRAD (imm8 and
// xmm/m128 counts), PSLLDQ/PSRLDQ. None of them touch RFLAGS or MXCSR.
//
// Documented choices:
// - Operands are staged through a module-level scratch (A = destination,
//   B = source, R = result) viewed as bytes/words/dwords, so lane ops need
//   no allocation; the views assume a little-endian host (checked at load).
// - Shift counts from a register/m128 are the full unsigned low quadword:
//   any count above the lane width minus one zeroes the lanes (logical) or
//   fills them with the sign (arithmetic), as the SDM specifies.
// - MMX-register forms are #UD (MMX is not advertised; see sse-move.ts).
// - Not implemented, each a stop after the availability checks (so a lazy
//   FPU switch still sees #NM first): SSE/SSE2 floating-point arithmetic,
//   compares and conversions, and the SSE2 integer multiplies, saturating
//   arithmetic, averages, PSADBW, packs, PINSRW/PEXTRW, MASKMOVDQU. SSE3+
//   (PSHUFB, LDDQU, ...) is not advertised and left unregistered.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import { define, defineForms, type Ctx, type Handler } from '../registry';
import { regOperand } from '../operands';
import { unsupportedHandler } from '../unsupported';
import { sseCheck, usesMmx, mmxUd, xmmReg, src128 } from './sse-move';

if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) throw new Error('sse-int.ts needs a little-endian host');

// Scratch: A = dwords 0-3, B = dwords 4-7, R = dwords 8-11.
const S = new Int32Array(12);
const U8 = new Uint8Array(S.buffer);
const I8 = new Int8Array(S.buffer);
const U16 = new Uint16Array(S.buffer);
const I16 = new Int16Array(S.buffer);
const A8 = 0, B8 = 16, R8 = 32;
const A16 = 0, B16 = 8, R16 = 16;

type LaneOp = () => void;

/** dst ← op(dst, src) with src an XMM register or aligned m128. */
function binary(ins: Instruction, ctx: Ctx, op: LaneOp): Handler {
  if (usesMmx(ins)) return mmxUd;
  const d = xmmReg(ins, 0) * 4;
  const load = src128(ins, 1, ctx, true, S, 4);
  return (c) => {
    sseCheck(c);
    load(c);
    const x = c.xmm;
    S[0] = x[d]!; S[1] = x[d + 1]!; S[2] = x[d + 2]!; S[3] = x[d + 3]!;
    op();
    x[d] = S[8]!; x[d + 1] = S[9]!; x[d + 2] = S[10]!; x[d + 3] = S[11]!;
  };
}

function def(m: Mnemonic | Mnemonic[], op: LaneOp): void {
  define(m, (ins, ctx) => binary(ins, ctx, op));
}

// ---- logic -----------------------------------------------------------------

def([Mnemonic.Pand, Mnemonic.Andps, Mnemonic.Andpd], () => { for (let i = 0; i < 4; i++) S[8 + i] = S[i]! & S[4 + i]!; });
def([Mnemonic.Pandn, Mnemonic.Andnps, Mnemonic.Andnpd], () => { for (let i = 0; i < 4; i++) S[8 + i] = ~S[i]! & S[4 + i]!; });
def([Mnemonic.Por, Mnemonic.Orps, Mnemonic.Orpd], () => { for (let i = 0; i < 4; i++) S[8 + i] = S[i]! | S[4 + i]!; });
def([Mnemonic.Pxor, Mnemonic.Xorps, Mnemonic.Xorpd], () => { for (let i = 0; i < 4; i++) S[8 + i] = S[i]! ^ S[4 + i]!; });

// ---- add / subtract (wrapping) -----------------------------------------------

def(Mnemonic.Paddb, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = U8[A8 + i]! + U8[B8 + i]!; });
def(Mnemonic.Paddw, () => { for (let i = 0; i < 8; i++) U16[R16 + i] = U16[A16 + i]! + U16[B16 + i]!; });
def(Mnemonic.Paddd, () => { for (let i = 0; i < 4; i++) S[8 + i] = (S[i]! + S[4 + i]!) | 0; });
def(Mnemonic.Paddq, () => {
  for (let q = 0; q < 4; q += 2) {
    const lo = (S[q]! >>> 0) + (S[4 + q]! >>> 0);
    S[8 + q] = lo | 0;
    S[9 + q] = (S[q + 1]! + S[5 + q]! + (lo > 0xffffffff ? 1 : 0)) | 0;
  }
});
def(Mnemonic.Psubb, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = U8[A8 + i]! - U8[B8 + i]!; });
def(Mnemonic.Psubw, () => { for (let i = 0; i < 8; i++) U16[R16 + i] = U16[A16 + i]! - U16[B16 + i]!; });
def(Mnemonic.Psubd, () => { for (let i = 0; i < 4; i++) S[8 + i] = (S[i]! - S[4 + i]!) | 0; });
def(Mnemonic.Psubq, () => {
  for (let q = 0; q < 4; q += 2) {
    const lo = (S[q]! >>> 0) - (S[4 + q]! >>> 0);
    S[8 + q] = lo | 0;
    S[9 + q] = (S[q + 1]! - S[5 + q]! - (lo < 0 ? 1 : 0)) | 0;
  }
});

// ---- compares, min/max --------------------------------------------------------

def(Mnemonic.Pcmpeqb, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = U8[A8 + i] === U8[B8 + i] ? 0xff : 0; });
def(Mnemonic.Pcmpeqw, () => { for (let i = 0; i < 8; i++) U16[R16 + i] = U16[A16 + i] === U16[B16 + i] ? 0xffff : 0; });
def(Mnemonic.Pcmpeqd, () => { for (let i = 0; i < 4; i++) S[8 + i] = S[i] === S[4 + i] ? -1 : 0; });
def(Mnemonic.Pcmpgtb, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = I8[A8 + i]! > I8[B8 + i]! ? 0xff : 0; });
def(Mnemonic.Pcmpgtw, () => { for (let i = 0; i < 8; i++) U16[R16 + i] = I16[A16 + i]! > I16[B16 + i]! ? 0xffff : 0; });
def(Mnemonic.Pcmpgtd, () => { for (let i = 0; i < 4; i++) S[8 + i] = S[i]! > S[4 + i]! ? -1 : 0; });
def(Mnemonic.Pminub, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = Math.min(U8[A8 + i]!, U8[B8 + i]!); });
def(Mnemonic.Pmaxub, () => { for (let i = 0; i < 16; i++) U8[R8 + i] = Math.max(U8[A8 + i]!, U8[B8 + i]!); });

// ---- unpack (interleave) --------------------------------------------------------

/** Interleaves the low (hi = false) or high half of A and B in elements of `size` bytes. */
function unpack(size: 1 | 2 | 4 | 8, hi: boolean): LaneOp {
  const base = hi ? 8 : 0;
  if (size === 1) return () => { for (let i = 0; i < 8; i++) { U8[R8 + 2 * i] = U8[A8 + base + i]!; U8[R8 + 2 * i + 1] = U8[B8 + base + i]!; } };
  if (size === 2) {
    const b = base / 2;
    return () => { for (let i = 0; i < 4; i++) { U16[R16 + 2 * i] = U16[A16 + b + i]!; U16[R16 + 2 * i + 1] = U16[B16 + b + i]!; } };
  }
  const d = base / 4;
  if (size === 4) return () => { S[8] = S[d]!; S[9] = S[4 + d]!; S[10] = S[d + 1]!; S[11] = S[5 + d]!; };
  return () => { S[8] = S[d]!; S[9] = S[d + 1]!; S[10] = S[4 + d]!; S[11] = S[5 + d]!; };
}
def(Mnemonic.Punpcklbw, unpack(1, false));
def(Mnemonic.Punpckhbw, unpack(1, true));
def(Mnemonic.Punpcklwd, unpack(2, false));
def(Mnemonic.Punpckhwd, unpack(2, true));
def([Mnemonic.Punpckldq, Mnemonic.Unpcklps], unpack(4, false));
def([Mnemonic.Punpckhdq, Mnemonic.Unpckhps], unpack(4, true));
def([Mnemonic.Punpcklqdq, Mnemonic.Unpcklpd], unpack(8, false));
def([Mnemonic.Punpckhqdq, Mnemonic.Unpckhpd], unpack(8, true));

// ---- shuffles (imm8) --------------------------------------------------------------

function imm8(ins: Instruction): number {
  for (let i = 0; i < ins.opCount; i++) if (ins.opKind(i) === OpKind.Immediate8) return ins.immediate8;
  throw new Error('missing imm8');
}

define(Mnemonic.Pshufd, (ins, ctx) => {
  const m = imm8(ins);
  const s0 = 4 + (m & 3), s1 = 4 + ((m >> 2) & 3), s2 = 4 + ((m >> 4) & 3), s3 = 4 + ((m >> 6) & 3);
  return binary(ins, ctx, () => { S[8] = S[s0]!; S[9] = S[s1]!; S[10] = S[s2]!; S[11] = S[s3]!; });
});
define([Mnemonic.Pshuflw, Mnemonic.Pshufhw], (ins, ctx) => {
  const m = imm8(ins);
  const hiHalf = ins.mnemonic === Mnemonic.Pshufhw;
  const w = hiHalf ? 4 : 0; // the shuffled half; the other half is copied
  const keep = hiHalf ? 0 : 2; // dword index of the copied half in B/R
  const sel = [m & 3, (m >> 2) & 3, (m >> 4) & 3, (m >> 6) & 3];
  const [a, b, e, f] = sel as [number, number, number, number];
  return binary(ins, ctx, () => {
    U16[R16 + w] = U16[B16 + w + a]!; U16[R16 + w + 1] = U16[B16 + w + b]!;
    U16[R16 + w + 2] = U16[B16 + w + e]!; U16[R16 + w + 3] = U16[B16 + w + f]!;
    S[8 + keep] = S[4 + keep]!; S[9 + keep] = S[5 + keep]!;
  });
});
define(Mnemonic.Shufps, (ins, ctx) => {
  const m = imm8(ins);
  const a0 = m & 3, a1 = (m >> 2) & 3, b0 = 4 + ((m >> 4) & 3), b1 = 4 + ((m >> 6) & 3);
  return binary(ins, ctx, () => { S[8] = S[a0]!; S[9] = S[a1]!; S[10] = S[b0]!; S[11] = S[b1]!; });
});
define(Mnemonic.Shufpd, (ins, ctx) => {
  const m = imm8(ins);
  const a = (m & 1) * 2, b = 4 + ((m >> 1) & 1) * 2;
  return binary(ins, ctx, () => { S[8] = S[a]!; S[9] = S[a + 1]!; S[10] = S[b]!; S[11] = S[b + 1]!; });
});

// ---- shifts -------------------------------------------------------------------------

const enum Sh { Llw, Lld, Llq, Rlw, Rld, Rlq, Raw, Rad }

/** R ← A shifted by n (an unsigned count, possibly huge). */
function shiftLanes(k: Sh, n: number): void {
  switch (k) {
    case Sh.Llw: for (let i = 0; i < 8; i++) U16[R16 + i] = n > 15 ? 0 : U16[A16 + i]! << n; break;
    case Sh.Rlw: for (let i = 0; i < 8; i++) U16[R16 + i] = n > 15 ? 0 : U16[A16 + i]! >>> n; break;
    case Sh.Raw: for (let i = 0; i < 8; i++) I16[R16 + i] = I16[A16 + i]! >> (n > 15 ? 15 : n); break;
    case Sh.Lld: for (let i = 0; i < 4; i++) S[8 + i] = n > 31 ? 0 : S[i]! << n; break;
    case Sh.Rld: for (let i = 0; i < 4; i++) S[8 + i] = n > 31 ? 0 : S[i]! >>> n; break;
    case Sh.Rad: for (let i = 0; i < 4; i++) S[8 + i] = S[i]! >> (n > 31 ? 31 : n); break;
    case Sh.Llq:
      for (let q = 0; q < 4; q += 2) {
        const lo = S[q]!, hi = S[q + 1]!;
        if (n > 63) { S[8 + q] = 0; S[9 + q] = 0; }
        else if (n >= 32) { S[8 + q] = 0; S[9 + q] = lo << (n - 32); }
        else if (n === 0) { S[8 + q] = lo; S[9 + q] = hi; }
        else { S[8 + q] = lo << n; S[9 + q] = (hi << n) | (lo >>> (32 - n)); }
      }
      break;
    case Sh.Rlq:
      for (let q = 0; q < 4; q += 2) {
        const lo = S[q]!, hi = S[q + 1]!;
        if (n > 63) { S[8 + q] = 0; S[9 + q] = 0; }
        else if (n >= 32) { S[8 + q] = hi >>> (n - 32); S[9 + q] = 0; }
        else if (n === 0) { S[8 + q] = lo; S[9 + q] = hi; }
        else { S[8 + q] = (lo >>> n) | (hi << (32 - n)); S[9 + q] = hi >>> n; }
      }
      break;
  }
}

function shiftKind(m: Mnemonic): Sh {
  switch (m) {
    case Mnemonic.Psllw: return Sh.Llw; case Mnemonic.Pslld: return Sh.Lld; case Mnemonic.Psllq: return Sh.Llq;
    case Mnemonic.Psrlw: return Sh.Rlw; case Mnemonic.Psrld: return Sh.Rld; case Mnemonic.Psrlq: return Sh.Rlq;
    case Mnemonic.Psraw: return Sh.Raw; default: return Sh.Rad;
  }
}

function compileShift(ins: Instruction, ctx: Ctx): Handler {
  if (usesMmx(ins)) return mmxUd;
  const k = shiftKind(ins.mnemonic);
  if (ins.op1Kind === OpKind.Immediate8) {
    const n = ins.immediate8;
    const d = xmmReg(ins, 0) * 4;
    return (c) => {
      sseCheck(c);
      const x = c.xmm;
      S[0] = x[d]!; S[1] = x[d + 1]!; S[2] = x[d + 2]!; S[3] = x[d + 3]!;
      shiftLanes(k, n);
      x[d] = S[8]!; x[d + 1] = S[9]!; x[d + 2] = S[10]!; x[d + 3] = S[11]!;
    };
  }
  // Count in the low quadword of xmm/m128 (the whole m128 is read, so it must be aligned).
  return binary(ins, ctx, () => shiftLanes(k, S[5] !== 0 ? 64 : Math.min(S[4]! >>> 0, 64)));
}
define([Mnemonic.Psllw, Mnemonic.Pslld, Mnemonic.Psllq, Mnemonic.Psrlw, Mnemonic.Psrld, Mnemonic.Psrlq,
  Mnemonic.Psraw, Mnemonic.Psrad], compileShift);

// PSLLDQ/PSRLDQ xmm, imm8: whole-register byte shifts.
define([Mnemonic.Pslldq, Mnemonic.Psrldq], (ins) => {
  const n = ins.immediate8;
  const left = ins.mnemonic === Mnemonic.Pslldq;
  const d = xmmReg(ins, 0) * 4;
  return (c) => {
    sseCheck(c);
    const x = c.xmm;
    S[0] = x[d]!; S[1] = x[d + 1]!; S[2] = x[d + 2]!; S[3] = x[d + 3]!;
    for (let i = 0; i < 16; i++) {
      const j = left ? i - n : i + n;
      U8[R8 + i] = j >= 0 && j < 16 ? U8[A8 + j]! : 0;
    }
    x[d] = S[8]!; x[d + 1] = S[9]!; x[d + 2] = S[10]!; x[d + 3] = S[11]!;
  };
});

// ---- sign masks into a general register (zero-extended to 64 bits) ---------------------

function compileMask(ins: Instruction, ctx: Ctx): Handler {
  if (usesMmx(ins)) return mmxUd;
  const g = regOperand(ins.op0Register).index;
  const s = xmmReg(ins, 1) * 4;
  if (s < 0) return unsupportedHandler(ins, ctx, 'mask move form');
  switch (ins.mnemonic) {
    case Mnemonic.Pmovmskb:
      return (c) => {
        sseCheck(c);
        const x = c.xmm;
        let m = 0;
        for (let i = 0; i < 4; i++) {
          const v = x[s + i]!;
          m |= (((v >>> 7) & 1) | ((v >>> 14) & 2) | ((v >>> 21) & 4) | ((v >>> 28) & 8)) << (4 * i);
        }
        c.rl[g] = m; c.rh[g] = 0;
      };
    case Mnemonic.Movmskps:
      return (c) => {
        sseCheck(c);
        const x = c.xmm;
        c.rl[g] = (x[s]! >>> 31) | ((x[s + 1]! >>> 31) << 1) | ((x[s + 2]! >>> 31) << 2) | ((x[s + 3]! >>> 31) << 3);
        c.rh[g] = 0;
      };
    default: // MOVMSKPD
      return (c) => {
        sseCheck(c);
        c.rl[g] = (c.xmm[s + 1]! >>> 31) | ((c.xmm[s + 3]! >>> 31) << 1);
        c.rh[g] = 0;
      };
  }
}
define([Mnemonic.Pmovmskb, Mnemonic.Movmskps, Mnemonic.Movmskpd], compileMask);

// ---- not implemented: a stop after the architectural availability checks -----------------

/** SSE/SSE2 instructions not implemented: #UD/#NM as the hardware would, else a clear stop. */
function sseStop(what: string): (ins: Instruction, ctx: Ctx) => Handler {
  return (ins, ctx) => {
    if (usesMmx(ins)) return mmxUd;
    const stop = unsupportedHandler(ins, ctx, what);
    return (c) => { sseCheck(c); stop(c); };
  };
}

define([
  Mnemonic.Addss, Mnemonic.Addsd, Mnemonic.Addps, Mnemonic.Addpd, Mnemonic.Subss, Mnemonic.Subsd, Mnemonic.Subps,
  Mnemonic.Subpd, Mnemonic.Mulss, Mnemonic.Mulsd, Mnemonic.Mulps, Mnemonic.Mulpd, Mnemonic.Divss, Mnemonic.Divsd,
  Mnemonic.Divps, Mnemonic.Divpd, Mnemonic.Sqrtss, Mnemonic.Sqrtsd, Mnemonic.Sqrtps, Mnemonic.Sqrtpd,
  Mnemonic.Minss, Mnemonic.Minsd, Mnemonic.Minps, Mnemonic.Minpd, Mnemonic.Maxss, Mnemonic.Maxsd, Mnemonic.Maxps,
  Mnemonic.Maxpd, Mnemonic.Rcpss, Mnemonic.Rcpps, Mnemonic.Rsqrtss, Mnemonic.Rsqrtps,
  Mnemonic.Cmpss, Mnemonic.Cmpps, Mnemonic.Cmppd, Mnemonic.Comiss, Mnemonic.Comisd, Mnemonic.Ucomiss, Mnemonic.Ucomisd,
  Mnemonic.Cvtsi2ss, Mnemonic.Cvtsi2sd, Mnemonic.Cvtss2sd, Mnemonic.Cvtsd2ss, Mnemonic.Cvtss2si, Mnemonic.Cvtsd2si,
  Mnemonic.Cvttss2si, Mnemonic.Cvttsd2si, Mnemonic.Cvtdq2ps, Mnemonic.Cvtps2dq, Mnemonic.Cvttps2dq,
  Mnemonic.Cvtdq2pd, Mnemonic.Cvtpd2dq, Mnemonic.Cvttpd2dq, Mnemonic.Cvtps2pd, Mnemonic.Cvtpd2ps,
], sseStop('SSE floating-point arithmetic (not implemented)'));
// Mnemonic.Cmpsd belongs to the string CMPSD; the SSE2 compare is claimed by its form.
defineForms([Code.Cmpsd_xmm_xmmm64_imm8], sseStop('SSE floating-point arithmetic (not implemented)'));

define([
  Mnemonic.Pmullw, Mnemonic.Pmulhw, Mnemonic.Pmulhuw, Mnemonic.Pmuludq, Mnemonic.Pmaddwd, Mnemonic.Psadbw,
  Mnemonic.Pavgb, Mnemonic.Pavgw, Mnemonic.Paddsb, Mnemonic.Paddsw, Mnemonic.Paddusb, Mnemonic.Paddusw,
  Mnemonic.Psubsb, Mnemonic.Psubsw, Mnemonic.Psubusb, Mnemonic.Psubusw, Mnemonic.Packsswb, Mnemonic.Packssdw,
  Mnemonic.Packuswb, Mnemonic.Pminsw, Mnemonic.Pmaxsw, Mnemonic.Pinsrw, Mnemonic.Pextrw, Mnemonic.Maskmovdqu,
], sseStop('SSE2 integer instruction (not implemented)'));
