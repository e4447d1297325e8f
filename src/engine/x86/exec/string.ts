// String instructions: MOVS, CMPS, SCAS, LODS, STOS in byte, word, dword and
// qword forms, with REP (and REPE/REPNE for CMPS/SCAS).
//
// - The address size (16/32/64-bit SI, DI and CX) comes from the instruction
//   (67h), the source segment is DS or the override, the destination always
//   ES (ES/DS/SS bases are ignored in 64-bit mode, FS/GS are not). DF picks
//   the direction. A 32-bit address size writes ESI/EDI/ECX as 32-bit
//   registers (zero-extended in 64-bit mode), a 16-bit one only their low
//   words.
// - F2 on MOVS/LODS/STOS repeats like F3 (as QEMU and hardware do).
// - Interruptible REP: one handler call performs at most REP_CHUNK
//   iterations (a single one when TF is set, so that single-stepping traps
//   after each iteration as on hardware). If work remains, RIP stays on the
//   instruction (nextRip = rip) and the block ends, so the run loop can take
//   interrupts, stop at the budget or for the debugger, and resume. Each such
//   partial execution counts as one instruction retired.
// - A fault in the middle leaves RSI/RDI/RCX (and the flags of CMPS/SCAS)
//   describing the iterations that completed, with RIP on the instruction,
//   as hardware does.
// - MOVSD and CMPSD share iced mnemonics with SSE2 instructions: this file
//   owns the mnemonics; the SSE family claims its forms by iced Code
//   (registry defineForms, looked up first). Unclaimed SSE forms stop as
//   unsupported.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { LazyOp, DF, TF, getZF } from '../flags';
import { CpuFault, GP, SS as SS_VEC } from '../fault';
import { RAX, RCX, RSI, RDI, ES, FS, GS, SS } from '../regs';
import { unsupportedHandler } from '../unsupported';
import { memSegment, recordLazy } from './intutil';

/** Iterations one handler call may run before yielding to the run loop. */
export const REP_CHUNK = 4096;

const TWO32 = 0x1_0000_0000;
const TWO48 = 2 ** 48;

const enum Kind { Movs, Cmps, Scas, Lods, Stos }
const enum Rep { None, Rep, Repe, Repne }

/** Offset → linear address for one segment, specialised per mode and address size. */
type Lin = (c: Cpu, off: number) => number;

function linFor(bits: 16 | 32 | 64, seg: number, size: number): Lin {
  if (bits !== 64) return (c, off) => c.segAddr(seg, off, size);
  const vec = seg === SS ? SS_VEC : GP;
  if (seg === FS || seg === GS) {
    return (c, off) => {
      const v = c.segBase[seg]! + off;
      if (v < -0x8000_0000_0000 || v >= 0x8000_0000_0000) throw new CpuFault(vec, 0);
      return v < 0 ? v + TWO48 : v;
    };
  }
  return (_c, off) => {
    if (off < -0x8000_0000_0000 || off >= 0x8000_0000_0000) throw new CpuFault(vec, 0);
    return off < 0 ? off + TWO48 : off;
  };
}

// Offsets are numbers: 16-bit 0..FFFF, 32-bit 0..FFFFFFFF, 64-bit the signed
// value (exact while canonical; a non-canonical one faults before any use).
function readOff(c: Cpu, r: number, asz: number): number {
  if (asz === 16) return c.rl[r]! & 0xffff;
  if (asz === 32) return c.rl[r]! >>> 0;
  return c.rh[r]! * TWO32 + (c.rl[r]! >>> 0);
}
function writeOff(c: Cpu, r: number, asz: number, v: number): void {
  if (asz === 16) c.rl[r] = (c.rl[r]! & ~0xffff) | (v & 0xffff);
  else if (asz === 32) { c.rl[r] = v | 0; c.rh[r] = 0; }
  else { c.rl[r] = v | 0; c.rh[r] = Math.floor(v / TWO32) | 0; }
}
function step(off: number, delta: number, asz: number): number {
  const v = off + delta;
  if (asz === 16) return v & 0xffff;
  if (asz === 32) return v >>> 0;
  return v; // 64-bit: wraps only from -1 to 0 / 0 to -1, which the signed form gives exactly
}

function readSized(c: Cpu, la: number, size: number): number {
  switch (size) {
    case 1: return c.read8(la);
    case 2: return c.read16(la);
    case 4: return c.read32(la);
    default: return c.read64(la);
  }
}
function writeSized(c: Cpu, la: number, size: number, lo: number, hi: number): void {
  switch (size) {
    case 1: c.write8(la, lo); break;
    case 2: c.write16(la, lo); break;
    case 4: c.write32(la, lo); break;
    default: c.write64(la, lo, hi);
  }
}
function readAcc(c: Cpu, size: number): number {
  c.hi = c.rh[RAX]!;
  return size === 1 ? c.rl[RAX]! & 0xff : size === 2 ? c.rl[RAX]! & 0xffff : c.rl[RAX]!;
}
function writeAcc(c: Cpu, size: number, lo: number, hi: number): void {
  const r = c.rl[RAX]!;
  if (size === 1) c.rl[RAX] = (r & ~0xff) | (lo & 0xff);
  else if (size === 2) c.rl[RAX] = (r & ~0xffff) | (lo & 0xffff);
  else { c.rl[RAX] = lo; c.rh[RAX] = size === 8 ? hi : 0; }
}

function kindOf(m: Mnemonic): Kind {
  switch (m) {
    case Mnemonic.Movsb: case Mnemonic.Movsw: case Mnemonic.Movsd: case Mnemonic.Movsq: return Kind.Movs;
    case Mnemonic.Cmpsb: case Mnemonic.Cmpsw: case Mnemonic.Cmpsd: case Mnemonic.Cmpsq: return Kind.Cmps;
    case Mnemonic.Scasb: case Mnemonic.Scasw: case Mnemonic.Scasd: case Mnemonic.Scasq: return Kind.Scas;
    case Mnemonic.Lodsb: case Mnemonic.Lodsw: case Mnemonic.Lodsd: case Mnemonic.Lodsq: return Kind.Lods;
    default: return Kind.Stos;
  }
}

function sizeOf(m: Mnemonic): number {
  switch (m) {
    case Mnemonic.Movsb: case Mnemonic.Cmpsb: case Mnemonic.Scasb: case Mnemonic.Lodsb: case Mnemonic.Stosb: return 1;
    case Mnemonic.Movsw: case Mnemonic.Cmpsw: case Mnemonic.Scasw: case Mnemonic.Lodsw: case Mnemonic.Stosw: return 2;
    case Mnemonic.Movsq: case Mnemonic.Cmpsq: case Mnemonic.Scasq: case Mnemonic.Lodsq: case Mnemonic.Stosq: return 8;
    default: return 4;
  }
}

/** Address size from the implicit operands' kinds (MemorySegSI/ESI/RSI, MemoryESDI/ESEDI/ESRDI). */
function stringAddrSize(ins: Instruction): 16 | 32 | 64 {
  for (let i = 0; i < ins.opCount; i++) {
    switch (ins.opKind(i)) {
      case OpKind.MemorySegSI: case OpKind.MemoryESDI: return 16;
      case OpKind.MemorySegESI: case OpKind.MemoryESEDI: return 32;
      case OpKind.MemorySegRSI: case OpKind.MemoryESRDI: return 64;
      default: break;
    }
  }
  throw new Error('string instruction without SI/DI operands');
}

function compileString(ins: Instruction, ctx: Ctx): Handler {
  const kind = kindOf(ins.mnemonic);
  const size = sizeOf(ins.mnemonic);
  const asz = stringAddrSize(ins);
  const usesSrc = kind === Kind.Movs || kind === Kind.Cmps || kind === Kind.Lods;
  const usesDst = kind !== Kind.Lods;
  const src = linFor(ctx.bits, memSegment(ins), size);
  const dst = linFor(ctx.bits, ES, size);
  const compares = kind === Kind.Cmps || kind === Kind.Scas;
  let rep = Rep.None;
  if (ins.hasRepePrefix) rep = compares ? Rep.Repe : Rep.Rep;
  else if (ins.hasRepnePrefix) rep = compares ? Rep.Repne : Rep.Rep;

  /** One iteration at (si, di); flags/registers other than SI/DI/CX are updated here. */
  const once = (c: Cpu, si: number, di: number): void => {
    switch (kind) {
      case Kind.Movs: {
        const v = readSized(c, src(c, si), size), h = c.hi;
        writeSized(c, dst(c, di), size, v, h);
        break;
      }
      case Kind.Cmps: {
        const a = readSized(c, src(c, si), size), aH = size === 8 ? c.hi : 0;
        const b = readSized(c, dst(c, di), size), bH = size === 8 ? c.hi : 0;
        recordLazy(c, LazyOp.Sub, size, a, aH, b, bH);
        break;
      }
      case Kind.Scas: {
        const b = readSized(c, dst(c, di), size), bH = size === 8 ? c.hi : 0;
        const a = readAcc(c, size), aH = size === 8 ? c.hi : 0;
        recordLazy(c, LazyOp.Sub, size, a, aH, b, bH);
        break;
      }
      case Kind.Lods: {
        const v = readSized(c, src(c, si), size);
        writeAcc(c, size, v, c.hi);
        break;
      }
      default: {
        const v = readAcc(c, size);
        writeSized(c, dst(c, di), size, v, c.hi);
      }
    }
  };

  if (rep === Rep.None) {
    return (c) => {
      const delta = c.flags & DF ? -size : size;
      const si = usesSrc ? readOff(c, RSI, asz) : 0;
      const di = usesDst ? readOff(c, RDI, asz) : 0;
      once(c, si, di);
      if (usesSrc) writeOff(c, RSI, asz, step(si, delta, asz));
      if (usesDst) writeOff(c, RDI, asz, step(di, delta, asz));
    };
  }

  return (c) => {
    // The count as (lo, hi) so that a 64-bit RCX stays exact.
    let cLo = asz === 16 ? c.rl[RCX]! & 0xffff : c.rl[RCX]! >>> 0;
    let cHi = asz === 64 ? c.rh[RCX]! : 0;
    if (cLo === 0 && cHi === 0) return;
    const delta = c.flags & DF ? -size : size;
    const limit = c.flags & TF ? 1 : REP_CHUNK;
    let si = usesSrc ? readOff(c, RSI, asz) : 0;
    let di = usesDst ? readOff(c, RDI, asz) : 0;
    let n = 0;
    let done = false;
    try {
      for (;;) {
        once(c, si, di);
        n++;
        si = step(si, delta, asz);
        di = step(di, delta, asz);
        if (cLo === 0) { cLo = 0xffffffff; cHi = (cHi - 1) | 0; } else cLo--;
        if (cLo === 0 && cHi === 0) { done = true; break; }
        if (rep === Rep.Repe && !getZF(c)) { done = true; break; }
        if (rep === Rep.Repne && getZF(c)) { done = true; break; }
        if (n >= limit) break;
      }
    } finally {
      // Commit the progress of the iterations that completed (all of them, or those before a fault).
      c.repIterations += n;
      if (n > 0) {
        if (usesSrc) writeOff(c, RSI, asz, si);
        if (usesDst) writeOff(c, RDI, asz, di);
        if (asz === 16) c.rl[RCX] = (c.rl[RCX]! & ~0xffff) | cLo;
        else { c.rl[RCX] = cLo | 0; c.rh[RCX] = cHi; }
      }
    }
    if (!done) {
      // More to do: re-execute this instruction after the run loop had its chance.
      c.nextRip = c.rip;
      c.exitBlock = true;
    }
  };
}

const STRING_MNEMONICS = [
  Mnemonic.Movsb, Mnemonic.Movsw, Mnemonic.Movsq,
  Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsq,
  Mnemonic.Scasb, Mnemonic.Scasw, Mnemonic.Scasd, Mnemonic.Scasq,
  Mnemonic.Lodsb, Mnemonic.Lodsw, Mnemonic.Lodsd, Mnemonic.Lodsq,
  Mnemonic.Stosb, Mnemonic.Stosw, Mnemonic.Stosd, Mnemonic.Stosq,
];
define(STRING_MNEMONICS, compileString);

// SSE forms sharing these mnemonics are claimed by form (registry defineForms) by the SSE family;
// any that reach here are not implemented.
define(Mnemonic.Movsd, (ins, ctx) => ins.code === Code.Movsd_m32_m32 ? compileString(ins, ctx)
  : unsupportedHandler(ins, ctx, 'SSE2 MOVSD'));
define(Mnemonic.Cmpsd, (ins, ctx) => ins.code === Code.Cmpsd_m32_m32 ? compileString(ins, ctx)
  : unsupportedHandler(ins, ctx, 'SSE2 CMPSD'));
