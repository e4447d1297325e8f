// SSE/SSE2 data movement (legacy encodings): MOVAPS/MOVAPD/MOVDQA (16-byte
// alignment), MOVUPS/MOVUPD/MOVDQU, MOVNTPS/MOVNTPD/MOVNTDQ (plain aligned
// stores: there is no cache to bypass), MOVNTI, MOVD/MOVQ between XMM and
// r/m, MOVQ xmm↔xmm/m64, MOVSS/MOVSD (moves only), MOVLPS/MOVLPD/MOVHPS/
// MOVHPD, MOVHLPS/MOVLHPS. Also the availability checks and 128-bit memory
// helpers the other SSE families share.
//
// Documented choices:
// - Availability (SDM vol. 3 "Providing Non-Numeric Exception Handlers" and
//   the legacy SSE exception tables): #UD when CR0.EM = 1 or CR4.OSFXSR = 0,
//   else #NM when CR0.TS = 1; checked at run time (blocks are cached across
//   CR writes). CR4.OSXMMEXCPT only matters for SIMD floating-point
//   exceptions, which nothing here can raise. MOVNTI works on GPRs and has no
//   CR0/CR4 conditions.
// - MMX is not advertised by CPUID, so every MMX-register form (mm0-mm7) of
//   these mnemonics is #UD, as on a processor without MMX.
// - 16-byte alignment is checked on the linear address (as QEMU TCG does);
//   misalignment is #GP(0) whatever the segment, and comes after the segment
//   limit / canonical checks.
// - A 16-byte store that crosses a page probes both pages for writability
//   first (cpu.probe, no memory access), so a #PF on either page leaves
//   memory unchanged; CR2 is then the first byte of the faulting page.
// - SSE MOVSD (F2 0F 10/11) shares iced's Mnemonic.Movsd with the string
//   instruction MOVSD, which owns the mnemonic; the SSE forms are claimed by
//   their iced Code (registry.ts defineForms).
// - SSE floating-point arithmetic (ADDSS, MULSD, CVT*, ...) is not
//   implemented: see sse-int.ts for the checked unsupported stops.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, defineForms, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, NM, UD } from '../fault';
import { effAddr, regOperand, setReg32 } from '../operands';
import { regInfo } from '../regs';
import { unsupportedHandler } from '../unsupported';

export const CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3, CR0_NE = 1 << 5;
export const CR4_OSFXSR = 1 << 9, CR4_OSXMMEXCPT = 1 << 10, CR4_OSXSAVE = 1 << 18;

const TWO32 = 0x1_0000_0000;
const TWO48 = 2 ** 48;

// ---------------------------------------------------------------------------
// Availability
// ---------------------------------------------------------------------------

/** SSE/SSE2 availability: #UD (EM, !OSFXSR) before #NM (TS). */
export function sseCheck(c: Cpu): void {
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0 || (c.cr4 & CR4_OSFXSR) === 0) sseFault(c);
}

function sseFault(c: Cpu): never {
  if ((c.cr0 & CR0_EM) !== 0 || (c.cr4 & CR4_OSFXSR) === 0) throw new CpuFault(UD);
  throw new CpuFault(NM);
}

/** Handler for an MMX-register form: MMX is not advertised, so #UD. */
export const mmxUd: Handler = () => { throw new CpuFault(UD); };

/** Whether any operand is an MMX register. */
export function usesMmx(ins: Instruction): boolean {
  for (let i = 0; i < ins.opCount; i++) {
    if (ins.opKind(i) === OpKind.Register && regInfo(ins.opRegister(i)).kind === 'mm') return true;
  }
  return false;
}

/** XMM register number of operand n, or -1 when it is not an XMM register. */
export function xmmReg(ins: Instruction, n: number): number {
  if (ins.opKind(n) !== OpKind.Register) return -1;
  const i = regInfo(ins.opRegister(n));
  return i.kind === 'xmm' ? i.index : -1;
}

export function isMem(ins: Instruction, n: number): boolean {
  return ins.opKind(n) === OpKind.Memory;
}

// ---------------------------------------------------------------------------
// Memory helpers
// ---------------------------------------------------------------------------

/** la + n wrapped at the linear-address width of the current mode. */
export function laPlus(c: Cpu, la: number, n: number): number {
  const r = la + n;
  if (c.bits === 64) return r >= TWO48 ? r - TWO48 : r;
  return r >= TWO32 ? r - TWO32 : r;
}

/** #GP(0) unless la is aligned to `align` bytes (a power of two). */
export function checkAlign(la: number, align: number): void {
  if ((la % align) !== 0) throw new CpuFault(GP, 0);
}

/**
 * Before a store of `len` bytes (len <= 4096) that crosses a page, makes sure
 * both pages are writable so that a fault leaves memory unchanged.
 */
export function probeWrite(c: Cpu, la: number, len: number): void {
  const first = 0x1000 - (la & 0xfff);
  if (len <= first) return;
  c.probe(la, true);
  // The first byte on the second page, which is what a #PF there reports in CR2.
  c.probe(laPlus(c, la, first), true);
}

/** Reads 16 bytes into out[o..o+3]; everything is read before anything is written. */
export function readM128(c: Cpu, la: number, out: Int32Array, o: number): void {
  const a = c.read64(la), b = c.hi;
  const d = c.read64(laPlus(c, la, 8)), e = c.hi;
  out[o] = a; out[o + 1] = b; out[o + 2] = d; out[o + 3] = e;
}

/** Writes src[o..o+3] as 16 bytes; all-or-nothing with respect to faults. */
export function writeM128(c: Cpu, la: number, src: Int32Array, o: number): void {
  if ((la & 0xfff) > 0xff0) probeWrite(c, la, 16);
  c.write64(la, src[o]!, src[o + 1]!);
  c.write64(laPlus(c, la, 8), src[o + 2]!, src[o + 3]!);
}

/**
 * A closure copying operand n (an XMM register or m128) into out[o..o+3].
 * Legacy SSE m128 operands must be 16-byte aligned unless `aligned` is false
 * (the explicitly unaligned moves).
 */
export function src128(ins: Instruction, n: number, ctx: Ctx, aligned: boolean, out: Int32Array, o: number): (c: Cpu) => void {
  const r = xmmReg(ins, n);
  if (r >= 0) {
    const s = r * 4;
    return (c) => { const x = c.xmm; out[o] = x[s]!; out[o + 1] = x[s + 1]!; out[o + 2] = x[s + 2]!; out[o + 3] = x[s + 3]!; };
  }
  const addr = effAddr(ins, ctx.bits, 16);
  if (aligned) return (c) => { const la = addr(c); checkAlign(la, 16); readM128(c, la, out, o); };
  return (c) => readM128(c, addr(c), out, o);
}

// ---------------------------------------------------------------------------
// 128-bit moves
// ---------------------------------------------------------------------------

function compileMov128(ins: Instruction, ctx: Ctx, aligned: boolean): Handler {
  const d = xmmReg(ins, 0), s = xmmReg(ins, 1);
  if (d >= 0 && s >= 0) {
    const dd = d * 4, ss = s * 4;
    return (c) => {
      sseCheck(c);
      const x = c.xmm;
      x[dd] = x[ss]!; x[dd + 1] = x[ss + 1]!; x[dd + 2] = x[ss + 2]!; x[dd + 3] = x[ss + 3]!;
    };
  }
  const addr = effAddr(ins, ctx.bits, 16);
  if (d >= 0) {
    const dd = d * 4;
    return (c) => {
      sseCheck(c);
      const la = addr(c);
      if (aligned) checkAlign(la, 16);
      readM128(c, la, c.xmm, dd);
    };
  }
  if (s < 0) throw new Error(`bad 128-bit move operands: ${Code[ins.code]}`);
  const ss = s * 4;
  return (c) => {
    sseCheck(c);
    const la = addr(c);
    if (aligned) checkAlign(la, 16);
    writeM128(c, la, c.xmm, ss);
  };
}

define([Mnemonic.Movaps, Mnemonic.Movapd, Mnemonic.Movdqa, Mnemonic.Movntps, Mnemonic.Movntpd, Mnemonic.Movntdq],
  (ins, ctx) => compileMov128(ins, ctx, true));
define([Mnemonic.Movups, Mnemonic.Movupd, Mnemonic.Movdqu], (ins, ctx) => compileMov128(ins, ctx, false));

// MOVNTI m32/m64, r32/r64: an ordinary store from a general register.
define(Mnemonic.Movnti, (ins, ctx) => {
  const r = regOperand(ins.op1Register);
  const i = r.index;
  if (r.size === 8) {
    const addr = effAddr(ins, ctx.bits, 8);
    return (c) => c.write64(addr(c), c.rl[i]!, c.rh[i]!);
  }
  const addr = effAddr(ins, ctx.bits, 4);
  return (c) => c.write32(addr(c), c.rl[i]!);
});

// ---------------------------------------------------------------------------
// MOVD / MOVQ
// ---------------------------------------------------------------------------

function compileMovdq(ins: Instruction, ctx: Ctx): Handler {
  if (usesMmx(ins)) return mmxUd;
  switch (ins.code) {
    case Code.Movd_xmm_rm32: case Code.Movq_xmm_rm64: {
      // GPR/memory → XMM, zero-extended to 128 bits.
      const q = ins.code === Code.Movq_xmm_rm64;
      const d = xmmReg(ins, 0) * 4;
      if (isMem(ins, 1)) {
        const addr = effAddr(ins, ctx.bits, q ? 8 : 4);
        if (q) return (c) => { sseCheck(c); const lo = c.read64(addr(c)), hi = c.hi; setX(c, d, lo, hi, 0, 0); };
        return (c) => { sseCheck(c); const v = c.read32(addr(c)); setX(c, d, v, 0, 0, 0); };
      }
      const g = regOperand(ins.op1Register).index;
      if (q) return (c) => { sseCheck(c); setX(c, d, c.rl[g]!, c.rh[g]!, 0, 0); };
      return (c) => { sseCheck(c); setX(c, d, c.rl[g]!, 0, 0, 0); };
    }
    case Code.Movd_rm32_xmm: case Code.Movq_rm64_xmm: {
      const q = ins.code === Code.Movq_rm64_xmm;
      const s = xmmReg(ins, 1) * 4;
      if (isMem(ins, 0)) {
        const addr = effAddr(ins, ctx.bits, q ? 8 : 4);
        if (q) return (c) => { sseCheck(c); c.write64(addr(c), c.xmm[s]!, c.xmm[s + 1]!); };
        return (c) => { sseCheck(c); c.write32(addr(c), c.xmm[s]!); };
      }
      const g = regOperand(ins.op0Register).index;
      if (q) return (c) => { sseCheck(c); c.rl[g] = c.xmm[s]!; c.rh[g] = c.xmm[s + 1]!; };
      return (c) => { sseCheck(c); setReg32(c, g, c.xmm[s]!); };
    }
    case Code.Movq_xmm_xmmm64: {
      // F3 0F 7E: low quadword, upper quadword zeroed (register and memory source alike).
      const d = xmmReg(ins, 0) * 4;
      const s = xmmReg(ins, 1);
      if (s >= 0) { const ss = s * 4; return (c) => { sseCheck(c); const x = c.xmm; setX(c, d, x[ss]!, x[ss + 1]!, 0, 0); }; }
      const addr = effAddr(ins, ctx.bits, 8);
      return (c) => { sseCheck(c); const lo = c.read64(addr(c)), hi = c.hi; setX(c, d, lo, hi, 0, 0); };
    }
    case Code.Movq_xmmm64_xmm: {
      // 66 0F D6: to a register it zeroes the upper quadword too.
      const s = xmmReg(ins, 1) * 4;
      const d = xmmReg(ins, 0);
      if (d >= 0) { const dd = d * 4; return (c) => { sseCheck(c); const x = c.xmm; setX(c, dd, x[s]!, x[s + 1]!, 0, 0); }; }
      const addr = effAddr(ins, ctx.bits, 8);
      return (c) => { sseCheck(c); c.write64(addr(c), c.xmm[s]!, c.xmm[s + 1]!); };
    }
    default:
      return unsupportedHandler(ins, ctx, 'MOVD/MOVQ form');
  }
}
define([Mnemonic.Movd, Mnemonic.Movq], compileMovdq);

function setX(c: Cpu, d: number, a: number, b: number, e: number, f: number): void {
  const x = c.xmm;
  x[d] = a; x[d + 1] = b; x[d + 2] = e; x[d + 3] = f;
}

// ---------------------------------------------------------------------------
// MOVSS / MOVSD (scalar moves)
// ---------------------------------------------------------------------------

/**
 * Scalar moves of `dwords` (1: MOVSS, 2: MOVSD): register to register merges
 * into the low element; a load zeroes the rest; a store writes the element.
 */
function compileScalarMove(ins: Instruction, ctx: Ctx, dwords: 1 | 2): Handler {
  const d = xmmReg(ins, 0), s = xmmReg(ins, 1);
  if (d >= 0 && s >= 0) {
    const dd = d * 4, ss = s * 4;
    if (dwords === 1) return (c) => { sseCheck(c); c.xmm[dd] = c.xmm[ss]!; };
    return (c) => { sseCheck(c); const x = c.xmm; x[dd] = x[ss]!; x[dd + 1] = x[ss + 1]!; };
  }
  const addr = effAddr(ins, ctx.bits, dwords * 4);
  if (d >= 0) {
    const dd = d * 4;
    if (dwords === 1) return (c) => { sseCheck(c); const v = c.read32(addr(c)); setX(c, dd, v, 0, 0, 0); };
    return (c) => { sseCheck(c); const lo = c.read64(addr(c)), hi = c.hi; setX(c, dd, lo, hi, 0, 0); };
  }
  const ss = s * 4;
  if (dwords === 1) return (c) => { sseCheck(c); c.write32(addr(c), c.xmm[ss]!); };
  return (c) => { sseCheck(c); c.write64(addr(c), c.xmm[ss]!, c.xmm[ss + 1]!); };
}

define(Mnemonic.Movss, (ins, ctx) => compileScalarMove(ins, ctx, 1));

// SSE MOVSD, claimed by form: Mnemonic.Movsd belongs to the string instruction.
defineForms([Code.Movsd_xmm_xmmm64, Code.Movsd_xmmm64_xmm], (ins, ctx) => compileScalarMove(ins, ctx, 2));

// ---------------------------------------------------------------------------
// Half moves: MOVLPS/MOVLPD/MOVHPS/MOVHPD (m64), MOVHLPS/MOVLHPS (registers)
// ---------------------------------------------------------------------------

/** `half` 0 = low quadword (dwords 0-1), 2 = high quadword (dwords 2-3). */
function compileHalfMove(ins: Instruction, ctx: Ctx, half: 0 | 2): Handler {
  const addr = effAddr(ins, ctx.bits, 8);
  const d = xmmReg(ins, 0);
  if (d >= 0) {
    const dd = d * 4 + half;
    return (c) => { sseCheck(c); const lo = c.read64(addr(c)), hi = c.hi; c.xmm[dd] = lo; c.xmm[dd + 1] = hi; };
  }
  const ss = xmmReg(ins, 1) * 4 + half;
  return (c) => { sseCheck(c); c.write64(addr(c), c.xmm[ss]!, c.xmm[ss + 1]!); };
}

define([Mnemonic.Movlps, Mnemonic.Movlpd], (ins, ctx) => compileHalfMove(ins, ctx, 0));
define([Mnemonic.Movhps, Mnemonic.Movhpd], (ins, ctx) => compileHalfMove(ins, ctx, 2));

// MOVHLPS xmm1, xmm2: xmm1[63:0] ← xmm2[127:64]. MOVLHPS xmm1, xmm2: xmm1[127:64] ← xmm2[63:0].
define(Mnemonic.Movhlps, (ins) => {
  const d = xmmReg(ins, 0) * 4, s = xmmReg(ins, 1) * 4;
  return (c) => { sseCheck(c); const x = c.xmm; const a = x[s + 2]!, b = x[s + 3]!; x[d] = a; x[d + 1] = b; };
});
define(Mnemonic.Movlhps, (ins) => {
  const d = xmmReg(ins, 0) * 4, s = xmmReg(ins, 1) * 4;
  return (c) => { sseCheck(c); const x = c.xmm; const a = x[s]!, b = x[s + 1]!; x[d + 2] = a; x[d + 3] = b; };
});
