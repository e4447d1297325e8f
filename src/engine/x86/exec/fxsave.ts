// Saving and restoring the x87/SSE state: FXSAVE/FXRSTOR (and the REX.W
// FXSAVE64/FXRSTOR64 forms) in the SDM's 512-byte layout, LDMXCSR/STMXCSR,
// and the standard (non-compacted) XSAVE/XRSTOR for state components 0
// (x87) and 1 (SSE) only.
//
// FXSAVE area (SDM vol. 1, "FXSAVE Save Area"): 0 FCW, 2 FSW, 4 abridged
// FTW, 5 reserved, 6 FOP, 8 FIP (+FCS at 12 in the 32-bit format), 16 FDP
// (+FDS at 20), 24 MXCSR, 28 MXCSR_MASK, 32 + 16·i ST(i) (10 bytes),
// 160 + 16·i XMMi (XMM8-15 only in 64-bit mode), 416-511 reserved/available.
//
// Documented choices:
// - #NM when CR0.EM or CR0.TS for FXSAVE/FXRSTOR; #UD/#NM as for SSE for
//   LDMXCSR/STMXCSR; XSAVE/XRSTOR #UD when CR4.OSXSAVE = 0, #NM when CR0.TS.
//   Misalignment (16 bytes; 64 for XSAVE) is #GP(0), never #AC.
// - FOP, FIP, FCS, FDP and FDS are written as 0 and ignored on restore (they
//   are not tracked: see x87.ts). The 64-bit format then differs from the
//   32-bit one in nothing, so FXSAVE64/FXRSTOR64 share the code.
// - Bytes FXSAVE does not define are left untouched: the 6 padding bytes
//   after each ST(i), 416-511, and 288-415 outside 64-bit mode (as QEMU
//   TCG). Byte 5 is written as 0.
// - With CR4.OSFXSR = 0, FXSAVE/FXRSTOR skip MXCSR, MXCSR_MASK and the XMM
//   registers (the SDM leaves it implementation-dependent; QEMU TCG skips).
// - MXCSR_MASK is 0x0000FFFF (DAZ supported); FXRSTOR, XRSTOR and LDMXCSR
//   raise #GP(0) for MXCSR bits 31:16, before any state changes.
// - FXRSTOR rebuilds the full tag word from the abridged one and the
//   restored register contents (valid / zero / special), as FSTENV reports.
//   The restored FSW's B bit follows its ES bit (they are aliases).
// - XSAVE reports every requested component as in use (XSTATE_BV |= RFBM),
//   a permitted choice that QEMU TCG makes too. XRSTOR accepts only the
//   standard form: #GP when XCOMP_BV or the next 8 header bytes are not 0,
//   or XSTATE_BV has bits outside XCR0. Components above 1 in RFBM stop the
//   machine as unsupported (XCR0 cannot enable them here).
// - Stores probe both pages first when the area crosses a page, so a fault
//   leaves memory unchanged; restores read everything before changing state.

import { Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, MachineStop, NM, UD } from '../fault';
import { effAddr } from '../operands';
import { RAX } from '../regs';
import { ripHex } from '../unsupported';
import { CR0_TS, CR4_OSFXSR, CR4_OSXSAVE, checkAlign, laPlus, probeWrite, sseCheck } from './sse-move';
import { FCW_INIT, FTW_EMPTY, x87Check } from './x87';

export const MXCSR_MASK = 0x0000ffff;

// Staging for restores: ST(0)-ST(7) in stack order (10 bytes each) and XMM0-15.
const stBytes = new Uint8Array(80);
const xmmStage = new Int32Array(64);

// ---------------------------------------------------------------------------
// Save
// ---------------------------------------------------------------------------

function abridgedTag(c: Cpu): number {
  let t = 0;
  for (let i = 0; i < 8; i++) if (((c.fpuTw >> (2 * i)) & 3) !== 3) t |= 1 << i;
  return t;
}

/** Bytes 0-23 and the ST(i) slots. */
function saveX87(c: Cpu, la: number): void {
  c.write16(la, c.fpuCw);
  c.write16(laPlus(c, la, 2), c.fpuSw);
  c.write16(laPlus(c, la, 4), abridgedTag(c)); // FTW and reserved byte 5
  c.write16(laPlus(c, la, 6), 0); // FOP
  c.write64(laPlus(c, la, 8), 0, 0); // FIP, FCS
  c.write64(laPlus(c, la, 16), 0, 0); // FDP, FDS
  const top = (c.fpuSw >> 11) & 7;
  const r = c.fpuRegs;
  for (let i = 0; i < 8; i++) {
    const o = ((top + i) & 7) * 10;
    const a = laPlus(c, la, 32 + 16 * i);
    const lo = r[o]! | (r[o + 1]! << 8) | (r[o + 2]! << 16) | (r[o + 3]! << 24);
    const hi = r[o + 4]! | (r[o + 5]! << 8) | (r[o + 6]! << 16) | (r[o + 7]! << 24);
    c.write64(a, lo, hi);
    c.write16(laPlus(c, a, 8), r[o + 8]! | (r[o + 9]! << 8));
  }
}

function saveMxcsr(c: Cpu, la: number): void {
  c.write32(laPlus(c, la, 24), c.mxcsr);
  c.write32(laPlus(c, la, 28), MXCSR_MASK);
}

function saveXmm(c: Cpu, la: number, n: number): void {
  const x = c.xmm;
  for (let i = 0; i < n; i++) {
    const a = laPlus(c, la, 160 + 16 * i);
    c.write64(a, x[4 * i]!, x[4 * i + 1]!);
    c.write64(laPlus(c, a, 8), x[4 * i + 2]!, x[4 * i + 3]!);
  }
}

// ---------------------------------------------------------------------------
// Restore (stage, then commit)
// ---------------------------------------------------------------------------

interface X87Image { fcw: number; fsw: number; ftw: number }
const x87Img: X87Image = { fcw: 0, fsw: 0, ftw: 0 };

function stageX87(c: Cpu, la: number): void {
  x87Img.fcw = c.read16(la);
  x87Img.fsw = c.read16(laPlus(c, la, 2));
  x87Img.ftw = c.read8(laPlus(c, la, 4));
  for (let i = 0; i < 8; i++) {
    const a = laPlus(c, la, 32 + 16 * i);
    const lo = c.read64(a), hi = c.hi;
    const se = c.read16(laPlus(c, a, 8));
    const o = i * 10;
    for (let b = 0; b < 4; b++) { stBytes[o + b] = lo >>> (8 * b); stBytes[o + 4 + b] = hi >>> (8 * b); }
    stBytes[o + 8] = se; stBytes[o + 9] = se >>> 8;
  }
}

function stageMxcsr(c: Cpu, la: number): number {
  const v = c.read32(laPlus(c, la, 24));
  if ((v & ~MXCSR_MASK) !== 0) throw new CpuFault(GP, 0);
  return v;
}

function stageXmm(c: Cpu, la: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const a = laPlus(c, la, 160 + 16 * i);
    const l0 = c.read64(a), h0 = c.hi;
    const l1 = c.read64(laPlus(c, a, 8)), h1 = c.hi;
    xmmStage[4 * i] = l0; xmmStage[4 * i + 1] = h0; xmmStage[4 * i + 2] = l1; xmmStage[4 * i + 3] = h1;
  }
}

/** Tag of one physical register from its contents: 0 valid, 1 zero, 2 special. */
function tagOf(r: Uint8Array, o: number): number {
  const exp = (r[o + 8]! | (r[o + 9]! << 8)) & 0x7fff;
  if (exp === 0x7fff) return 2;
  if (exp === 0) {
    for (let b = 0; b < 8; b++) if (r[o + b] !== 0) return 2; // denormal / pseudo-denormal
    return 1;
  }
  return (r[o + 7]! & 0x80) !== 0 ? 0 : 2; // J bit clear: unnormal
}

function commitX87(c: Cpu): void {
  const fsw = x87Img.fsw;
  c.fpuCw = x87Img.fcw;
  c.fpuSw = (fsw & 0x7fff) | ((fsw & 0x80) << 8);
  const top = (fsw >> 11) & 7;
  const r = c.fpuRegs;
  for (let i = 0; i < 8; i++) {
    const o = ((top + i) & 7) * 10;
    for (let b = 0; b < 10; b++) r[o + b] = stBytes[i * 10 + b]!;
  }
  let tw = 0;
  for (let p = 0; p < 8; p++) tw |= ((x87Img.ftw >> p) & 1 ? tagOf(r, p * 10) : 3) << (2 * p);
  c.fpuTw = tw;
}

function commitXmm(c: Cpu, n: number): void {
  for (let i = 0; i < 4 * n; i++) c.xmm[i] = xmmStage[i]!;
}

// ---------------------------------------------------------------------------
// FXSAVE / FXRSTOR
// ---------------------------------------------------------------------------

function compileFxsave(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 512);
  return (c) => {
    x87Check(c);
    const la = addr(c);
    checkAlign(la, 16);
    const sse = (c.cr4 & CR4_OSFXSR) !== 0;
    const n = c.bits === 64 ? 16 : 8;
    probeWrite(c, la, sse ? 160 + 16 * n : 160);
    saveX87(c, la);
    if (sse) { saveMxcsr(c, la); saveXmm(c, la, n); }
  };
}

function compileFxrstor(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 512);
  return (c) => {
    x87Check(c);
    const la = addr(c);
    checkAlign(la, 16);
    const sse = (c.cr4 & CR4_OSFXSR) !== 0;
    const n = c.bits === 64 ? 16 : 8;
    stageX87(c, la);
    let mx = 0;
    if (sse) { mx = stageMxcsr(c, la); stageXmm(c, la, n); }
    commitX87(c);
    if (sse) { c.mxcsr = mx; commitXmm(c, n); }
  };
}

define([Mnemonic.Fxsave, Mnemonic.Fxsave64], compileFxsave);
define([Mnemonic.Fxrstor, Mnemonic.Fxrstor64], compileFxrstor);

// ---------------------------------------------------------------------------
// LDMXCSR / STMXCSR
// ---------------------------------------------------------------------------

define(Mnemonic.Ldmxcsr, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 4);
  return (c) => {
    sseCheck(c);
    const v = c.read32(addr(c));
    if ((v & ~MXCSR_MASK) !== 0) throw new CpuFault(GP, 0);
    c.mxcsr = v;
  };
});
define(Mnemonic.Stmxcsr, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 4);
  return (c) => { sseCheck(c); c.write32(addr(c), c.mxcsr); };
});

// ---------------------------------------------------------------------------
// XSAVE / XRSTOR (standard form, components 0 and 1)
// ---------------------------------------------------------------------------

function xsaveCheck(c: Cpu): void {
  if ((c.cr4 & CR4_OSXSAVE) === 0) throw new CpuFault(UD);
  if ((c.cr0 & CR0_TS) !== 0) throw new CpuFault(NM);
}

/** Requested-feature bitmap XCR0 ∧ EDX:EAX, limited to what is implemented. */
function rfbmOf(c: Cpu, what: string): number {
  const rfbm = c.xcr0 & c.rl[RAX]!;
  if ((rfbm & ~3) !== 0) {
    throw new MachineStop('unsupported', `${what} of state components 0x${(rfbm >>> 0).toString(16)} at ${ripHex(c.rip)}: only x87 and SSE are implemented`);
  }
  return rfbm;
}

function compileXsave(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 576);
  return (c) => {
    xsaveCheck(c);
    const la = addr(c);
    checkAlign(la, 64);
    const rfbm = rfbmOf(c, 'XSAVE');
    const n = c.bits === 64 ? 16 : 8;
    probeWrite(c, la, 520);
    const hdr = laPlus(c, la, 512);
    const bvLo = c.read64w(hdr), bvHi = c.hi;
    if (rfbm & 1) saveX87(c, la);
    if (rfbm & 2) { saveMxcsr(c, la); saveXmm(c, la, n); }
    c.write64(hdr, bvLo | rfbm, bvHi);
  };
}

function compileXrstor(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 576);
  return (c) => {
    xsaveCheck(c);
    const la = addr(c);
    checkAlign(la, 64);
    const rfbm = rfbmOf(c, 'XRSTOR');
    const n = c.bits === 64 ? 16 : 8;
    const hdr = laPlus(c, la, 512);
    const bvLo = c.read64(hdr), bvHi = c.hi;
    const compLo = c.read64(laPlus(c, hdr, 8)), compHi = c.hi;
    const resLo = c.read64(laPlus(c, hdr, 16)), resHi = c.hi;
    if ((compLo | compHi | resLo | resHi) !== 0) throw new CpuFault(GP, 0);
    if (bvHi !== 0 || (bvLo & ~c.xcr0) !== 0) throw new CpuFault(GP, 0);
    const x87 = (rfbm & 1) !== 0 && (bvLo & 1) !== 0;
    const sse = (rfbm & 2) !== 0 && (bvLo & 2) !== 0;
    if (x87) stageX87(c, la);
    let mx = 0;
    if (rfbm & 2) mx = stageMxcsr(c, la); // the standard form loads MXCSR whatever XSTATE_BV[1] says
    if (sse) stageXmm(c, la, n);
    if (rfbm & 1) {
      if (x87) commitX87(c);
      else { c.fpuCw = FCW_INIT; c.fpuSw = 0; c.fpuTw = FTW_EMPTY; c.fpuRegs.fill(0); }
    }
    if (rfbm & 2) {
      c.mxcsr = mx;
      if (sse) commitXmm(c, n);
      else c.xmm.fill(0, 0, 4 * n);
    }
  };
}

define([Mnemonic.Xsave, Mnemonic.Xsave64], compileXsave);
define([Mnemonic.Xrstor, Mnemonic.Xrstor64], compileXrstor);
