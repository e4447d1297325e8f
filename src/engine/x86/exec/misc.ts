// Miscellaneous integer instructions: CMOVcc, SETcc, BSWAP, CLC/STC/CMC,
// CLD/STD, LAHF/SAHF, XLAT, MOVBE, CRC32. (CMPXCHG*, XADD: atomic.ts.)
//
// Choices:
// - CMOVcc reads its source even when the condition is false (a memory
//   source can fault), and a 32-bit destination is zero-extended either way.
// - BSWAP with a 16-bit operand is undefined (SDM). We do what QEMU 7.2 TCG
//   does: a 32-bit byte swap of the whole register, zero-extended (the 66h
//   prefix is ignored). Hardware differs: the AMD EPYC host here clears the
//   low 16 bits and keeps the rest, as Intel processors are reported to.
// - LAHF/SAHF in 64-bit mode need CPUID.80000001:ECX.LAHF-SAHF, MOVBE
//   CPUID.1:ECX.MOVBE, CRC32 CPUID.1:ECX.SSE4_2; without the bit they are #UD
//   (see intutil.ts intFeatures, which mirrors cpuid-table.ts).
// - XLAT forms its address as rBX + AL at the address size, with the
//   instruction's segment (DS or an override).

import { Code, Mnemonic, MemorySizeExt, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CF, DF, getCF, getFlags, setSome, cond } from '../flags';
import { CpuFault, UD } from '../fault';
import { readReg, writeReg, readMem, writeMem, setReg8, regOperand, addressSize } from '../operands';
import { RAX, RBX, regInfo } from '../regs';
import { rmOperand, linearAddr, memSegment, intFeatures } from './intutil';

const udHandler: Handler = () => { throw new CpuFault(UD); };

/** iced ConditionCode (o=1 .. g=16) → the 4-bit encoding cond() takes. */
function ccOf(ins: Instruction): number {
  const cc = ins.conditionCode;
  if (cc < 1 || cc > 16) throw new Error('instruction without a condition code');
  return cc - 1;
}

/** Reader for operand n (register or memory) of `size` bytes; size 8 leaves hi in cpu.hi. */
function reader(ins: Instruction, n: number, bits: 16 | 32 | 64, size: number): (c: Cpu) => number {
  const rm = rmOperand(ins, n, bits, size);
  if (rm.kind === 'reg') { const r = rm.reg; return (c) => readReg(c, r); }
  const addr = rm.addr;
  return (c) => readMem(c, addr(c), size);
}

// ---- CMOVcc, SETcc -------------------------------------------------------------

function compileCmov(ins: Instruction, ctx: Ctx): Handler {
  const cc = ccOf(ins);
  const dst = regOperand(ins.op0Register);
  const size = dst.size;
  const rd = reader(ins, 1, ctx.bits, size);
  const i = dst.index;
  if (size === 4) return (c) => { const v = rd(c); if (cond(c, cc)) c.rl[i] = v; c.rh[i] = 0; };
  if (size === 8) return (c) => { const v = rd(c), h = c.hi; if (cond(c, cc)) { c.rl[i] = v; c.rh[i] = h; } };
  return (c) => { const v = rd(c); if (cond(c, cc)) writeReg(c, dst, v, 0); };
}
define([Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne,
  Mnemonic.Cmovbe, Mnemonic.Cmova, Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp,
  Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg], compileCmov);

function compileSetcc(ins: Instruction, ctx: Ctx): Handler {
  const cc = ccOf(ins);
  const dst = rmOperand(ins, 0, ctx.bits, 1);
  if (dst.kind === 'reg') {
    const { index, high8 } = dst.reg;
    return (c) => setReg8(c, index, high8, cond(c, cc) ? 1 : 0);
  }
  const addr = dst.addr;
  return (c) => c.write8(addr(c), cond(c, cc) ? 1 : 0);
}
define([Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne,
  Mnemonic.Setbe, Mnemonic.Seta, Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp,
  Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg], compileSetcc);

// ---- BSWAP, MOVBE -----------------------------------------------------------------

function swap32(v: number): number {
  return ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24)) | 0;
}
function swap16(v: number): number {
  return ((v >>> 8) & 0xff) | ((v & 0xff) << 8);
}

define(Mnemonic.Bswap, (ins) => {
  const { index: i } = regInfo(ins.op0Register);
  if (ins.code === Code.Bswap_r64) return (c) => { const lo = c.rl[i]!; c.rl[i] = swap32(c.rh[i]!); c.rh[i] = swap32(lo); };
  // r32, and r16 treated as r32 (see the header).
  return (c) => { c.rl[i] = swap32(c.rl[i]!); c.rh[i] = 0; };
});

function compileMovbe(ins: Instruction, ctx: Ctx): Handler {
  if (!intFeatures.movbe) return udHandler;
  const load = ins.op0Kind === OpKind.Register;
  const reg = regOperand(load ? ins.op0Register : ins.op1Register);
  const size = reg.size;
  const mem = rmOperand(ins, load ? 1 : 0, ctx.bits, size);
  if (mem.kind !== 'mem') return udHandler;
  const addr = mem.addr;
  if (load) {
    return (c) => {
      const v = readMem(c, addr(c), size);
      if (size === 8) writeReg(c, reg, swap32(c.hi), swap32(v));
      else writeReg(c, reg, size === 2 ? swap16(v) : swap32(v), 0);
    };
  }
  return (c) => {
    const v = readReg(c, reg);
    if (size === 8) writeMem(c, addr(c), 8, swap32(c.hi), swap32(v));
    else writeMem(c, addr(c), size, size === 2 ? swap16(v) : swap32(v), 0);
  };
}
define(Mnemonic.Movbe, compileMovbe);

// ---- flag instructions ---------------------------------------------------------------

define(Mnemonic.Clc, () => (c) => setSome(c, CF, 0));
define(Mnemonic.Stc, () => (c) => setSome(c, CF, CF));
define(Mnemonic.Cmc, () => (c) => setSome(c, CF, getCF(c) ^ 1));
// DF is outside the lazily computed bits: it is always current in cpu.flags.
define(Mnemonic.Cld, () => (c) => { c.flags &= ~DF; });
define(Mnemonic.Std, () => (c) => { c.flags |= DF; });

/** SF, ZF, AF, PF, CF: the flags LAHF/SAHF move. */
const AH_FLAGS = 0xd5;

define(Mnemonic.Lahf, (_ins, ctx) => {
  if (ctx.bits === 64 && !intFeatures.lahf64) return udHandler;
  return (c) => { c.rl[RAX] = (c.rl[RAX]! & ~0xff00) | (((getFlags(c) & AH_FLAGS) | 2) << 8); };
});
define(Mnemonic.Sahf, (_ins, ctx) => {
  if (ctx.bits === 64 && !intFeatures.lahf64) return udHandler;
  return (c) => setSome(c, AH_FLAGS, c.rl[RAX]! >>> 8);
});

// ---- XLAT ---------------------------------------------------------------------------

define(Mnemonic.Xlatb, (ins, ctx) => {
  const asz = addressSize(ins, ctx.bits);
  const seg = memSegment(ins);
  return (c) => {
    const al = c.rl[RAX]! & 0xff;
    let lo: number, hi = 0;
    if (asz === 64) {
      const s = (c.rl[RBX]! >>> 0) + al;
      lo = s | 0;
      hi = (c.rh[RBX]! + (s >= 0x1_0000_0000 ? 1 : 0)) | 0;
    } else {
      lo = asz === 16 ? (c.rl[RBX]! + al) & 0xffff : (c.rl[RBX]! + al) | 0;
    }
    const v = c.read8(linearAddr(c, seg, lo, hi, asz, 1));
    c.rl[RAX] = (c.rl[RAX]! & ~0xff) | v;
  };
});

// ---- CRC32 (CRC-32C, the Castagnoli polynomial, bit-reflected) -----------------------

const CRC32C = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let v = n;
  for (let k = 0; k < 8; k++) v = v & 1 ? (v >>> 1) ^ 0x82f63b78 : v >>> 1;
  CRC32C[n] = v;
}

function crcBytes(crc: number, v: number, bytes: number): number {
  for (let k = 0; k < bytes; k++) {
    crc = CRC32C[(crc ^ v) & 0xff]! ^ (crc >>> 8);
    v >>>= 8;
  }
  return crc;
}

define(Mnemonic.Crc32, (ins, ctx) => {
  if (!intFeatures.sse42) return udHandler;
  const dst = regOperand(ins.op0Register);
  const size = ins.op1Kind === OpKind.Register ? regInfo(ins.op1Register).size : MemorySizeExt.size(ins.memorySize);
  const rd = reader(ins, 1, ctx.bits, size);
  const i = dst.index;
  return (c) => {
    const v = rd(c), vh = c.hi;
    let crc = crcBytes(c.rl[i]!, v, size === 8 ? 4 : size);
    if (size === 8) crc = crcBytes(crc, vh, 4);
    // Both the r32 and the r64 form leave a zero-extended 32-bit result.
    c.rl[i] = crc; c.rh[i] = 0;
  };
});
