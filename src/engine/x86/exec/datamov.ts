// Data movement: MOV (registers, memory, immediates, segment registers),
// MOVZX, MOVSX, MOVSXD, LEA, XCHG, NOP, CBW/CWDE/CDQE, CWD/CDQ/CQO. None of
// these touch flags.

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import {
  location, operandSize, readReg, writeReg, readMem, writeMem, readMemW, regOperand, memorySizeBytes,
  addressSize, type Loc,
} from '../operands';
import { regInfo, RAX, RDX, SS } from '../regs';
import { loadSegment } from '../segments';

const TWO32 = 0x1_0000_0000;

function reader(loc: Loc, size: number): (c: Cpu) => number {
  if (loc.kind === 'imm') {
    const lo = size === 1 ? loc.lo & 0xff : size === 2 ? loc.lo & 0xffff : loc.lo;
    const hi = loc.hi;
    return size === 8 ? (c) => { c.hi = hi; return lo; } : () => lo;
  }
  if (loc.kind === 'reg') {
    const r = loc.reg;
    if (size === 4) { const i = r.index; return (c) => c.rl[i]!; }
    if (size === 8) { const i = r.index; return (c) => { c.hi = c.rh[i]!; return c.rl[i]!; }; }
    return (c) => readReg(c, r);
  }
  const addr = loc.addr;
  if (size === 4) return (c) => c.read32(addr(c));
  return (c) => readMem(c, addr(c), size);
}

function compileMov(ins: Instruction, ctx: Ctx): Handler {
  const k0 = ins.op0Kind, k1 = ins.op1Kind;
  // Segment register forms.
  if (k0 === OpKind.Register && regInfo(ins.op0Register).kind === 'seg') {
    const s = regInfo(ins.op0Register).index;
    const src = location(ins, 1, ctx.bits, 2);
    const rd = reader(src, 2);
    return (c) => {
      loadSegment(c, s, rd(c));
      if (s === SS) { c.intShadow = true; c.exitBlock = true; }
    };
  }
  if (k1 === OpKind.Register && regInfo(ins.op1Register).kind === 'seg') {
    const s = regInfo(ins.op1Register).index;
    const dst = location(ins, 0, ctx.bits, 2);
    if (dst.kind === 'mem') { const a = dst.addr; return (c) => c.write16(a(c), c.segSel[s]!); }
    if (dst.kind !== 'reg') throw new Error('bad MOV Sreg destination');
    const r = dst.reg;
    // To a 32/64-bit register the selector is zero-extended.
    return (c) => writeReg(c, r, c.segSel[s]!, 0);
  }
  const size = operandSize(ins, 0, ctx.bits) || memorySizeBytes(ins);
  const dst = location(ins, 0, ctx.bits, size);
  const src = location(ins, 1, ctx.bits, size);
  const rd = reader(src, size);
  if (dst.kind === 'reg') {
    const r = dst.reg, i = r.index;
    if (size === 4) return (c) => { c.rl[i] = rd(c); c.rh[i] = 0; };
    if (size === 8) return (c) => { c.rl[i] = rd(c); c.rh[i] = c.hi; };
    return (c) => writeReg(c, r, rd(c), 0);
  }
  if (dst.kind !== 'mem') throw new Error('bad MOV destination');
  const addr = dst.addr;
  if (size === 4) return (c) => { const v = rd(c); c.write32(addr(c), v); };
  return (c) => { const v = rd(c); const hi = c.hi; writeMem(c, addr(c), size, v, hi); };
}
define(Mnemonic.Mov, compileMov);

function compileExtend(ins: Instruction, ctx: Ctx): Handler {
  const dst = regOperand(ins.op0Register);
  const srcSize = ins.op1Kind === OpKind.Register ? regInfo(ins.op1Register).size : memorySizeBytes(ins);
  const src = location(ins, 1, ctx.bits, srcSize);
  const rd = reader(src, srcSize);
  const signed = ins.mnemonic !== Mnemonic.Movzx;
  return (c) => {
    let v = rd(c);
    if (signed) v = srcSize === 1 ? (v << 24) >> 24 : srcSize === 2 ? (v << 16) >> 16 : v | 0;
    const hi = signed ? v >> 31 : 0;
    writeReg(c, dst, dst.size === 2 ? v & 0xffff : v, hi);
  };
}
define([Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd], compileExtend);

/** LEA: the offset only (no segment base), at the address size, truncated to the operand size. */
function compileLea(ins: Instruction, ctx: Ctx): Handler {
  const dst = regOperand(ins.op0Register);
  const asz = addressSize(ins, ctx.bits);
  const b = ins.memoryBase !== 0 && regInfo(ins.memoryBase).kind === 'gpr' ? regInfo(ins.memoryBase).index : -1;
  const x = ins.memoryIndex !== 0 ? regInfo(ins.memoryIndex).index : -1;
  const scale = ins.memoryIndexScale;
  const d = ins.memoryDisplacementU64;
  const dLo = Number(d & 0xffffffffn) | 0, dHi = Number((d >> 32n) & 0xffffffffn) | 0;
  if (ins.isIpRelMemoryOperand) {
    const rel = Number(BigInt.asIntN(64, d - ins.nextIP));
    return (c) => {
      const v = c.nextRip + rel;
      // ToUint32 is exact modulo 2^32 for any integer below 2^53, negative ones included.
      writeReg(c, dst, v | 0, asz === 32 ? 0 : Math.floor(v / TWO32) | 0);
    };
  }
  if (asz === 64) {
    return (c) => {
      let lo = dLo >>> 0, hi = dHi;
      if (b >= 0) { lo += c.rl[b]! >>> 0; hi += c.rh[b]!; }
      if (x >= 0) { lo += (c.rl[x]! >>> 0) * scale; hi += c.rh[x]! * scale; }
      hi = (hi + Math.floor(lo / TWO32)) | 0;
      writeReg(c, dst, lo | 0, hi);
    };
  }
  const mask = asz === 16 ? 0xffff : -1;
  return (c) => {
    let off = dLo;
    if (b >= 0) off += c.rl[b]!;
    if (x >= 0) off += c.rl[x]! * scale;
    writeReg(c, dst, (off & mask) | 0, 0);
  };
}
define(Mnemonic.Lea, compileLea);

function compileXchg(ins: Instruction, ctx: Ctx): Handler {
  const size = operandSize(ins, 0, ctx.bits);
  const a = location(ins, 0, ctx.bits, size);
  const b = location(ins, 1, ctx.bits, size);
  if (a.kind === 'reg' && b.kind === 'reg') {
    const ra = a.reg, rb = b.reg;
    // xchg eax, eax (0x90 in 64-bit mode is NOP, decoded as Nop by iced) still zero-extends when encoded as 87 C0.
    return (c) => {
      const va = readReg(c, ra), vaH = c.hi;
      const vb = readReg(c, rb), vbH = c.hi;
      writeReg(c, ra, vb, vbH);
      writeReg(c, rb, va, vaH);
    };
  }
  const mem = a.kind === 'mem' ? a : b;
  const reg = a.kind === 'reg' ? a : b;
  if (mem.kind !== 'mem' || reg.kind !== 'reg') throw new Error('bad XCHG operands');
  const addr = mem.addr, r = reg.reg;
  return (c) => {
    const la = addr(c);
    const m = readMemW(c, la, size), mH = c.hi;
    const v = readReg(c, r), vH = c.hi;
    writeMem(c, la, size, v, vH);
    writeReg(c, r, m, mH);
  };
}
define(Mnemonic.Xchg, compileXchg);

define([Mnemonic.Nop, Mnemonic.Pause], () => () => {});

// CBW/CWDE/CDQE: sign-extend the lower half of rAX into rAX.
define(Mnemonic.Cbw, () => (c) => { c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | (((c.rl[RAX]! << 24) >> 24) & 0xffff); });
define(Mnemonic.Cwde, () => (c) => { c.rl[RAX] = (c.rl[RAX]! << 16) >> 16; c.rh[RAX] = 0; });
define(Mnemonic.Cdqe, () => (c) => { c.rh[RAX] = c.rl[RAX]! >> 31; });
// CWD/CDQ/CQO: sign of rAX into rDX.
define(Mnemonic.Cwd, () => (c) => { c.rl[RDX] = (c.rl[RDX]! & ~0xffff) | ((c.rl[RAX]! << 16) >> 31 & 0xffff); });
define(Mnemonic.Cdq, () => (c) => { c.rl[RDX] = c.rl[RAX]! >> 31; c.rh[RDX] = 0; });
define(Mnemonic.Cqo, () => (c) => { const s = c.rh[RAX]! >> 31; c.rl[RDX] = s; c.rh[RDX] = s; });

export { reader };
