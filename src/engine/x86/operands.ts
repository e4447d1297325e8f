// Turning iced-x86's decoded operands into small closures the handlers call:
// effective-address computation (16/32/64-bit addressing, RIP-relative,
// segment bases, limit and canonical checks) and register accessors for
// every operand size. Everything here runs at compile time except the
// closures it returns.
//
// Conventions for values: sizes 1 and 2 are zero-extended numbers, size 4 is
// an int32, size 8 is an int32 lo with the hi half in cpu.hi (readers) or a
// second argument (writers).

import { Instruction, MemorySizeExt, OpKind, Register } from 'iced-x86';
import type { Cpu } from './cpu';
import { CpuFault, GP, SS as SS_VEC } from './fault';
import { regInfo } from './regs';
import { FS, GS, SS } from './regs';

const TWO32 = 0x1_0000_0000;
const TWO48 = 2 ** 48;

export type AddrFn = (cpu: Cpu) => number;

function segIndex(reg: Register): number {
  const info = regInfo(reg);
  return info.kind === 'seg' ? info.index : 3;
}

function splitDisp(ins: Instruction): { lo: number; hi: number } {
  const d = ins.memoryDisplacementU64;
  return { lo: Number(d & 0xffffffffn) | 0, hi: Number((d >> 32n) & 0xffffffffn) | 0 };
}

/**
 * Linear-address function for the instruction's memory operand, for an
 * access of `size` bytes. In 64-bit mode the result is a 48-bit number.
 */
export function effAddr(ins: Instruction, bits: 16 | 32 | 64, size: number): AddrFn {
  const seg = segIndex(ins.memorySegment);
  const baseR = ins.memoryBase;
  const idxR = ins.memoryIndex;
  const scale = ins.memoryIndexScale;
  const base = baseR === Register.None ? -1 : regInfo(baseR);
  const idx = idxR === Register.None ? -1 : regInfo(idxR);
  const faultVec = seg === SS ? SS_VEC : GP;

  if (ins.isIpRelMemoryOperand) {
    // iced computed an absolute target against ip 0; keep only the displacement from the next RIP.
    const rel = Number(BigInt.asIntN(64, ins.memoryDisplacementU64 - ins.nextIP));
    const fsgs = seg === FS || seg === GS;
    if (bits === 64 && baseR === Register.RIP) {
      return (c) => {
        let v = c.nextRip + rel;
        if (fsgs) v = wrap64Signed(v + c.segBase[seg]!);
        if (v < -0x8000_0000_0000 || v >= 0x8000_0000_0000) throw new CpuFault(faultVec, 0);
        return v < 0 ? v + TWO48 : v;
      };
    }
    return (c) => {
      let v = (c.nextRip + rel) >>> 0;
      if (fsgs) return canon(c.segBase[seg]! + v, faultVec);
      return v;
    };
  }

  const { lo: dLo, hi: dHi } = splitDisp(ins);
  const addrBits = ins.memoryDisplSize === 8 && bits === 64 && base === -1 && idx === -1 ? 64
    : addressSize(ins, bits);

  if (addrBits === 64) {
    const b = base === -1 ? -1 : base.index;
    const x = idx === -1 ? -1 : idx.index;
    const fsgs = seg === FS || seg === GS;
    // Specialised shapes for the common cases; the general one handles everything.
    if (b >= 0 && x < 0 && !fsgs) {
      return (c) => {
        const s = (c.rl[b]! >>> 0) + (dLo >>> 0);
        const hi = (c.rh[b]! + dHi + (s >= TWO32 ? 1 : 0)) | 0;
        if ((hi >> 15) !== (hi >> 31)) throw new CpuFault(faultVec, 0);
        return (hi & 0xffff) * TWO32 + (s >>> 0);
      };
    }
    return (c) => {
      let lo = dLo >>> 0;
      let hi = dHi;
      if (b >= 0) { lo += c.rl[b]! >>> 0; hi += c.rh[b]!; }
      if (x >= 0) { lo += (c.rl[x]! >>> 0) * scale; hi += c.rh[x]! * scale; }
      if (fsgs) {
        const sb = c.segBase[seg]!;
        const sbHi = Math.floor(sb / TWO32);
        lo += sb - sbHi * TWO32;
        hi += sbHi;
      }
      hi = (hi + Math.floor(lo / TWO32)) | 0;
      if ((hi >> 15) !== (hi >> 31)) throw new CpuFault(faultVec, 0);
      return (hi & 0xffff) * TWO32 + (lo >>> 0);
    };
  }

  if (addrBits === 32) {
    const b = base === -1 ? -1 : base.index;
    const x = idx === -1 ? -1 : idx.index;
    if (bits === 64) {
      // 32-bit addressing in 64-bit mode: the offset wraps at 4 GiB, FS/GS bases still apply.
      const fsgs = seg === FS || seg === GS;
      return (c) => {
        let off = dLo;
        if (b >= 0) off += c.rl[b]!;
        if (x >= 0) off += c.rl[x]! * scale;
        off >>>= 0;
        return fsgs ? canon(c.segBase[seg]! + off, faultVec) : off;
      };
    }
    if (b >= 0 && x < 0) return (c) => c.segAddr(seg, (c.rl[b]! + dLo) >>> 0, size);
    if (b < 0 && x < 0) { const off = dLo >>> 0; return (c) => c.segAddr(seg, off, size); }
    return (c) => {
      let off = dLo;
      if (b >= 0) off += c.rl[b]!;
      if (x >= 0) off += c.rl[x]! * scale;
      return c.segAddr(seg, off >>> 0, size);
    };
  }

  // 16-bit addressing: [BX|BP] + [SI|DI] + disp16.
  const b = base === -1 ? -1 : base.index;
  const x = idx === -1 ? -1 : idx.index;
  return (c) => {
    let off = dLo;
    if (b >= 0) off += c.rl[b]!;
    if (x >= 0) off += c.rl[x]!;
    return c.segAddr(seg, off & 0xffff, size);
  };
}

/** Effective address size of a memory operand. */
export function addressSize(ins: Instruction, bits: 16 | 32 | 64): 16 | 32 | 64 {
  const base = ins.memoryBase !== Register.None ? regInfo(ins.memoryBase) : undefined;
  const idx = ins.memoryIndex !== Register.None ? regInfo(ins.memoryIndex) : undefined;
  const r = base ?? idx;
  if (r && r.kind === 'gpr') return (r.size * 8) as 16 | 32 | 64;
  if (ins.memoryBase === Register.RIP) return 64;
  if (ins.memoryBase === Register.EIP) return 32;
  // Absolute address: the displacement size tells the address size.
  const ds = ins.memoryDisplSize;
  if (bits === 64) return ds === 4 ? 32 : 64;
  if (ds === 2) return 16;
  if (ds === 4) return 32;
  return bits === 16 ? 16 : 32;
}

/** Signed canonical number for base + offset (64-bit wrap). */
function wrap64Signed(v: number): number {
  if (v >= 2 ** 63) return v - 2 ** 64;
  if (v < -(2 ** 63)) return v + 2 ** 64;
  return v;
}

function canon(v: number, faultVec: number): number {
  // v = 64-bit base (signed canonical) + 32-bit offset: at most 2^47 + 2^32 in magnitude.
  if (v < -0x8000_0000_0000 || v >= 0x8000_0000_0000) throw new CpuFault(faultVec, 0);
  return v < 0 ? v + TWO48 : v;
}

// ---------------------------------------------------------------------------
// Register operands
// ---------------------------------------------------------------------------

export interface RegOperand { index: number; size: number; high8: boolean }

export function regOperand(reg: Register): RegOperand {
  const i = regInfo(reg);
  if (i.kind !== 'gpr') throw new Error(`not a general register: ${Register[reg]}`);
  return { index: i.index, size: i.size, high8: i.high8 };
}

export function getReg8(c: Cpu, i: number, high8: boolean): number {
  return high8 ? (c.rl[i]! >> 8) & 0xff : c.rl[i]! & 0xff;
}
export function setReg8(c: Cpu, i: number, high8: boolean, v: number): void {
  if (high8) c.rl[i] = (c.rl[i]! & ~0xff00) | ((v & 0xff) << 8);
  else c.rl[i] = (c.rl[i]! & ~0xff) | (v & 0xff);
}
export function setReg16(c: Cpu, i: number, v: number): void {
  c.rl[i] = (c.rl[i]! & ~0xffff) | (v & 0xffff);
}
/** 32-bit writes zero the upper half (architectural in 64-bit mode, harmless elsewhere). */
export function setReg32(c: Cpu, i: number, v: number): void {
  c.rl[i] = v;
  c.rh[i] = 0;
}
export function setReg64(c: Cpu, i: number, lo: number, hi: number): void {
  c.rl[i] = lo;
  c.rh[i] = hi;
}

/** Reads a register of any size (8-byte: lo returned, hi in c.hi). */
export function readReg(c: Cpu, r: RegOperand): number {
  switch (r.size) {
    case 1: return getReg8(c, r.index, r.high8);
    case 2: return c.rl[r.index]! & 0xffff;
    case 4: return c.rl[r.index]!;
    default: c.hi = c.rh[r.index]!; return c.rl[r.index]!;
  }
}

export function writeReg(c: Cpu, r: RegOperand, lo: number, hi: number): void {
  switch (r.size) {
    case 1: setReg8(c, r.index, r.high8, lo); break;
    case 2: setReg16(c, r.index, lo); break;
    case 4: setReg32(c, r.index, lo); break;
    default: setReg64(c, r.index, lo, hi);
  }
}

// ---------------------------------------------------------------------------
// Generic r/m access by size, for handlers that do not specialise further
// ---------------------------------------------------------------------------

export function readMem(c: Cpu, la: number, size: number): number {
  switch (size) {
    case 1: return c.read8(la);
    case 2: return c.read16(la);
    case 4: return c.read32(la);
    default: return c.read64(la);
  }
}
export function readMemW(c: Cpu, la: number, size: number): number {
  switch (size) {
    case 1: return c.read8w(la);
    case 2: return c.read16w(la);
    case 4: return c.read32w(la);
    default: return c.read64w(la);
  }
}
export function writeMem(c: Cpu, la: number, size: number, lo: number, hi: number): void {
  switch (size) {
    case 1: c.write8(la, lo); break;
    case 2: c.write16(la, lo); break;
    case 4: c.write32(la, lo); break;
    default: c.write64(la, lo, hi);
  }
}

/** Operand `n` of the instruction as a readable/writable location. */
export type Loc =
  | { kind: 'reg'; reg: RegOperand }
  | { kind: 'mem'; addr: AddrFn; size: number }
  | { kind: 'imm'; lo: number; hi: number };

export function opKind(ins: Instruction, n: number): OpKind {
  return ins.opKind(n);
}

/** Immediate operand as (lo, hi), sign- or zero-extended as iced reports it for the operand size. */
export function immediate(ins: Instruction, n: number): { lo: number; hi: number } {
  const v = BigInt.asUintN(64, BigInt(ins.immediate(n)));
  return { lo: Number(v & 0xffffffffn) | 0, hi: Number(v >> 32n) | 0 };
}

export function location(ins: Instruction, n: number, bits: 16 | 32 | 64, size: number): Loc {
  const k = ins.opKind(n);
  if (k === OpKind.Register) return { kind: 'reg', reg: regOperand(ins.opRegister(n)) };
  if (k === OpKind.Memory) return { kind: 'mem', addr: effAddr(ins, bits, size), size };
  const { lo, hi } = immediate(ins, n);
  return { kind: 'imm', lo, hi };
}

/** Mask of a size in bytes (1, 2, 4; 8 is handled through lo/hi). */
export function sizeMask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
}

/** Operand size in bytes of operand n (register size, or memory size from the instruction). */
export function operandSize(ins: Instruction, n: number, bits: 16 | 32 | 64): number {
  const k = ins.opKind(n);
  if (k === OpKind.Register) return regInfo(ins.opRegister(n)).size;
  // For memory operands, the other operand (if a register) usually tells; callers
  // that know better pass the size explicitly.
  for (let i = 0; i < ins.opCount; i++) {
    if (i !== n && ins.opKind(i) === OpKind.Register) {
      const s = regInfo(ins.opRegister(i)).size;
      if (s > 0 && s <= 8) return s;
    }
  }
  void bits;
  return memorySizeBytes(ins);
}

/** Byte size of the instruction's memory operand, from iced's MemorySize (0 when unknown). */
export function memorySizeBytes(ins: Instruction): number {
  return MemorySizeExt.size(ins.memorySize);
}
