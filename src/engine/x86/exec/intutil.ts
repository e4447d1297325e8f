// Shared compile-time helpers of the integer families (shift, muldiv, bitops,
// bcd, misc, string): the r/m destination of an instruction, eager flag
// writes that skip materializing, and offset → linear address translation
// for the instructions that form addresses themselves (string operations,
// XLAT, BT with a register bit offset into memory), and the CPUID-advertised
// optional extensions. Registers nothing.

import { OpKind, Register, MemorySizeExt, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { ARITH, LazyOp } from '../flags';
import { CpuFault, GP, SS as SS_VEC } from '../fault';
import { regInfo, FS, GS, SS } from '../regs';
import { effAddr, regOperand, addressSize, type AddrFn, type RegOperand } from '../operands';
import { cpuidEntry } from '../cpuid-table';

const TWO32 = 0x1_0000_0000;

/** Operand size in bytes of operand 0 (register, else the memory operand's size). */
export function rmSize(ins: Instruction): number {
  if (ins.op0Kind === OpKind.Register) return regInfo(ins.op0Register).size;
  return MemorySizeExt.size(ins.memorySize);
}

/** Operand `n` as a register or memory destination. */
export type Rm = { kind: 'reg'; reg: RegOperand } | { kind: 'mem'; addr: AddrFn };

export function rmOperand(ins: Instruction, n: number, bits: 16 | 32 | 64, size: number): Rm {
  if (ins.opKind(n) === OpKind.Register) return { kind: 'reg', reg: regOperand(ins.opRegister(n)) };
  return { kind: 'mem', addr: effAddr(ins, bits, size) };
}

/**
 * Replaces all six arithmetic flags. Everything outside ARITH is always
 * current in cpu.flags, so nothing needs materializing first.
 */
export function putArith(c: Cpu, bits: number): void {
  c.lop = LazyOp.None;
  c.flags = (c.flags & ~ARITH) | (bits & ARITH);
}

/** Records lazy flags of a - b (CMP) or a + b (ADD) at `size`; values as the engine holds them. */
export function recordLazy(c: Cpu, op: LazyOp, size: number, a: number, aH: number, b: number, bH: number): void {
  let r: number, rH = 0;
  if (size === 8) {
    const s = op === LazyOp.Add ? (a >>> 0) + (b >>> 0) : (a >>> 0) - (b >>> 0);
    r = s | 0;
    rH = op === LazyOp.Add ? (aH + bH + (s >= TWO32 ? 1 : 0)) | 0 : (aH - bH - (s < 0 ? 1 : 0)) | 0;
  } else {
    r = op === LazyOp.Add ? a + b : a - b;
    r = size === 4 ? r | 0 : r & (size === 1 ? 0xff : 0xffff);
  }
  c.lop = op; c.lsize = size;
  c.ldst = a; c.ldstH = aH; c.lsrc = b; c.lsrcH = bH; c.lres = r; c.lresH = rH;
}

/** Sign-extends a value of `size` bytes (1, 2, 4) to int32. */
export function sext(v: number, size: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

// ---------------------------------------------------------------------------
// Offsets and linear addresses
// ---------------------------------------------------------------------------

/** Segment register index of the instruction's memory operand (DS when none is named). */
export function memSegment(ins: Instruction): number {
  const r = ins.memorySegment;
  if (r === Register.None) return 3;
  const i = regInfo(r);
  return i.kind === 'seg' ? i.index : 3;
}

/**
 * The offset (effective address before segmentation) of the instruction's
 * memory operand at its address size. Returns lo; for 64-bit addressing the
 * hi half is left in cpu.hi (0 otherwise).
 */
export function eaOffset(ins: Instruction, bits: 16 | 32 | 64): (c: Cpu) => number {
  const asz = addressSize(ins, bits);
  const bi = ins.memoryBase !== Register.None && regInfo(ins.memoryBase).kind === 'gpr' ? regInfo(ins.memoryBase).index : -1;
  const xi = ins.memoryIndex !== Register.None ? regInfo(ins.memoryIndex).index : -1;
  const scale = ins.memoryIndexScale;
  const d = ins.memoryDisplacementU64;
  const dLo = Number(d & 0xffffffffn) | 0, dHi = Number((d >> 32n) & 0xffffffffn) | 0;
  if (ins.isIpRelMemoryOperand) {
    const rel = Number(BigInt.asIntN(64, d - ins.nextIP));
    if (asz === 64) return (c) => { const v = c.nextRip + rel; c.hi = Math.floor(v / TWO32) | 0; return v | 0; };
    return (c) => { c.hi = 0; return (c.nextRip + rel) | 0; };
  }
  if (asz === 64) {
    return (c) => {
      let lo = dLo >>> 0, hi = dHi;
      if (bi >= 0) { lo += c.rl[bi]! >>> 0; hi += c.rh[bi]!; }
      if (xi >= 0) { lo += (c.rl[xi]! >>> 0) * scale; hi += c.rh[xi]! * scale; }
      c.hi = (hi + Math.floor(lo / TWO32)) | 0;
      return lo | 0;
    };
  }
  const mask = asz === 16 ? 0xffff : -1;
  return (c) => {
    let off = dLo;
    if (bi >= 0) off += c.rl[bi]!;
    if (xi >= 0) off += c.rl[xi]! * scale;
    c.hi = 0;
    return (off & mask) | 0;
  };
}

/**
 * Linear address of seg:offset for an access of `size` bytes. `lo`/`hi` is
 * the offset already wrapped to the address size `asz` (hi only for 64).
 * Applies segment bases and limits outside 64-bit mode, FS/GS bases and the
 * canonical check inside it (#SS for SS-based accesses, else #GP(0)).
 */
export function linearAddr(c: Cpu, seg: number, lo: number, hi: number, asz: number, size: number): number {
  if (c.bits !== 64) return c.segAddr(seg, asz === 16 ? lo & 0xffff : lo >>> 0, size);
  let v: number;
  if (asz === 64) {
    v = (hi | 0) * TWO32 + (lo >>> 0);
  } else {
    v = lo >>> 0;
  }
  if (seg === FS || seg === GS) {
    v += c.segBase[seg]!;
    if (v >= 2 ** 63) v -= 2 ** 64; else if (v < -(2 ** 63)) v += 2 ** 64;
  }
  if (v < -0x8000_0000_0000 || v >= 0x8000_0000_0000) throw new CpuFault(seg === SS ? SS_VEC : GP, 0);
  return v < 0 ? v + 2 ** 48 : v;
}

// ---------------------------------------------------------------------------
// CPUID-gated instructions
// ---------------------------------------------------------------------------

/** Whether cpuid-table.ts advertises a feature bit. */
export function cpuidHas(leaf: number, subleaf: number, reg: 'ebx' | 'ecx' | 'edx', bit: number): boolean {
  const e = cpuidEntry(leaf, subleaf);
  return e !== undefined && ((e[reg] >>> bit) & 1) === 1;
}

/**
 * The optional integer extensions, as CPUID advertises them. Read when an
 * instruction is compiled (never in a handler); tests may flip them to check
 * both the implemented behaviour and the one without the extension.
 */
export const intFeatures = {
  /** CPUID.1:ECX.POPCNT[23]: else POPCNT is #UD. */
  popcnt: cpuidHas(1, 0, 'ecx', 23),
  /** CPUID.(7,0):EBX.BMI1[3]: else F3 0F BC is BSF and ANDN, BEXTR, BLSI, BLSMSK, BLSR are #UD. */
  bmi1: cpuidHas(7, 0, 'ebx', 3),
  /** CPUID.(7,0):EBX.BMI2[8]: else BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX are #UD. */
  bmi2: cpuidHas(7, 0, 'ebx', 8),
  /** CPUID.(7,0):EBX.ADX[19]: else ADCX, ADOX are #UD. */
  adx: cpuidHas(7, 0, 'ebx', 19),
  /** CPUID.80000001:ECX.LZCNT(ABM)[5]: else F3 0F BD is BSR. */
  lzcnt: cpuidHas(0x80000001, 0, 'ecx', 5),
  /** CPUID.1:ECX.MOVBE[22]: else MOVBE is #UD. */
  movbe: cpuidHas(1, 0, 'ecx', 22),
  /** CPUID.1:ECX.CMPXCHG16B[13]: else CMPXCHG16B is #UD. */
  cx16: cpuidHas(1, 0, 'ecx', 13),
  /** CPUID.1:ECX.SSE4_2[20] (CRC32): else CRC32 is #UD. */
  sse42: cpuidHas(1, 0, 'ecx', 20),
  /** CPUID.80000001:ECX.LAHF-SAHF[0]: else LAHF/SAHF are #UD in 64-bit mode. */
  lahf64: cpuidHas(0x80000001, 0, 'ecx', 0),
};
