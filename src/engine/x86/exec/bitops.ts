// Bit instructions: BT, BTS, BTR, BTC (register/immediate bit offsets,
// register and memory destinations), BSF, BSR, TZCNT, LZCNT, POPCNT.
//
// - BT* with a memory destination and a register offset address the bit
//   string around the operand: the offset is signed and selects the
//   operand-sized word at EA + (offset SAR log2(width)) × width/8 (computed
//   at the address size, then segmented), as the SDM and QEMU do. An
//   immediate offset is taken mod the width and stays within the operand.
//   The memory access is operand-sized (QEMU's choice; hardware may touch less).
// - BT* flags: CF = the bit; OF, SF, AF, PF undefined and ZF unaffected by the
//   SDM. We leave all of them unchanged. (QEMU 7.2 TCG leaves them unchanged
//   whenever RFLAGS is already computed; right after an arithmetic
//   instruction in the same translation block it instead recomputes SF, ZF,
//   PF from that instruction's result, clears AF and derives OF from it —
//   a translation artefact we do not reproduce.)
// - BSF/BSR, source 0: ZF = 1 and the destination keeps its value (AMD's
//   documented and Intel's actual behaviour); a 32-bit destination is still
//   written, so its upper half is cleared in 64-bit mode, as QEMU TCG does.
//   Undefined flags as QEMU TCG: CF = OF = AF = 0, SF and PF describe the
//   source (SF its top bit, PF its low byte), ZF = (source = 0).
// - TZCNT needs CPUID.(7,0):EBX.BMI1 and LZCNT CPUID.80000001:ECX.ABM; when
//   cpuid-table.ts does not advertise them (intutil.ts intFeatures), F3 0F BC / F3 0F BD run as BSF /
//   BSR, as on processors without those extensions. Flags (QEMU TCG): CF =
//   (source = 0), ZF = (result = 0), SF = OF = AF = PF = 0.
// - POPCNT needs CPUID.1:ECX.POPCNT, else #UD. Flags: ZF = (source = 0),
//   the others 0 (SDM).
// - The BMI1 (ANDN, BEXTR, BLSI, BLSMSK, BLSR), BMI2 (BZHI, MULX, PDEP, PEXT,
//   RORX, SARX, SHLX, SHRX) and ADX (ADCX, ADOX) instructions are not
//   implemented: #UD while CPUID does not advertise their extension (as on a
//   processor without it), an unsupported stop if it ever does.

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CF, ZF, setSome, szp } from '../flags';
import { CpuFault, UD } from '../fault';
import { unsupportedHandler } from '../unsupported';
import { readReg, writeReg, readMem, readMemW, writeMem, regOperand, addressSize, type RegOperand } from '../operands';
import { rmSize, rmOperand, putArith, eaOffset, linearAddr, memSegment, intFeatures } from './intutil';

const TWO32 = 0x1_0000_0000;

// ---- BT, BTS, BTR, BTC ------------------------------------------------------

const enum BitOp { Test, Set, Reset, Complement }

function bitOpOf(m: Mnemonic): BitOp {
  return m === Mnemonic.Bts ? BitOp.Set : m === Mnemonic.Btr ? BitOp.Reset : m === Mnemonic.Btc ? BitOp.Complement : BitOp.Test;
}

/** Applies op to bit n (0..31) of v; returns the new value. */
function apply(op: BitOp, v: number, n: number): number {
  const m = 1 << n;
  return op === BitOp.Set ? v | m : op === BitOp.Reset ? v & ~m : op === BitOp.Complement ? v ^ m : v;
}

function compileBt(ins: Instruction, ctx: Ctx): Handler {
  const op = bitOpOf(ins.mnemonic);
  const size = rmSize(ins);
  const width = size * 8;
  const immOffset = ins.op1Kind !== OpKind.Register;
  const imm = immOffset ? Number(ins.immediate(1)) & (width - 1) : 0;
  const src = immOffset ? undefined : regOperand(ins.op1Register);
  const dst = rmOperand(ins, 0, ctx.bits, size);

  if (dst.kind === 'reg') {
    const r = dst.reg;
    return (c) => {
      const n = src ? readReg(c, src) & (width - 1) : imm;
      const v = readReg(c, r), vh = c.hi;
      let bit: number;
      if (size === 8) {
        const inHi = n >= 32;
        const word = inHi ? vh : v, k = n & 31;
        bit = (word >>> k) & 1;
        if (op !== BitOp.Test) {
          const w = apply(op, word, k);
          writeReg(c, r, inHi ? v : w, inHi ? w : vh);
        }
      } else {
        bit = (v >>> n) & 1;
        if (op !== BitOp.Test) writeReg(c, r, apply(op, v, n), 0);
      }
      setSome(c, CF, bit);
    };
  }

  // Memory destination: the address of the word holding the bit, and the bit index within it.
  let word: (c: Cpu) => number;
  let bitIdx: (c: Cpu) => number;
  if (immOffset) {
    const addr = dst.addr;
    word = addr;
    bitIdx = () => imm;
  } else {
    word = bitStringAddr(ins, ctx, size, src!);
    bitIdx = (c) => readReg(c, src!) & (width - 1);
  }
  return (c) => {
    const n = bitIdx(c);
    const la = word(c);
    if (op === BitOp.Test) {
      const v = readMem(c, la, size), vh = c.hi;
      setSome(c, CF, size === 8 ? ((n >= 32 ? vh : v) >>> (n & 31)) & 1 : (v >>> n) & 1);
      return;
    }
    const v = readMemW(c, la, size), vh = c.hi;
    let lo = v, hi = vh, bit: number;
    if (size === 8 && n >= 32) { bit = (vh >>> (n - 32)) & 1; hi = apply(op, vh, n - 32); }
    else { bit = (v >>> (n & 31)) & 1; lo = apply(op, v, n & 31); }
    writeMem(c, la, size, lo, hi);
    setSome(c, CF, bit);
  };
}

/** Linear address of the word holding bit `offset` (a signed register) of the bit string at the operand. */
function bitStringAddr(ins: Instruction, ctx: Ctx, size: number, src: RegOperand): (c: Cpu) => number {
  const ea = eaOffset(ins, ctx.bits);
  const asz = addressSize(ins, ctx.bits);
  const seg = memSegment(ins);
  const shift = size === 2 ? 4 : size === 4 ? 5 : 6;
  return (c) => {
    let lo = ea(c), hi = c.hi;
    const oLo = readReg(c, src), oHi = size === 8 ? c.hi : 0;
    // Byte displacement = (offset SAR shift) × size, i.e. offset SAR 3 with the low bits cleared.
    let dLo: number, dHi: number;
    if (size === 8) {
      dLo = ((oLo >>> 3) | (oHi << 29)) & ~7;
      dHi = oHi >> 3;
    } else {
      const o = size === 2 ? (oLo << 16) >> 16 : oLo | 0;
      dLo = (o >> shift) * size;
      dHi = dLo < 0 ? -1 : 0;
    }
    if (asz === 64) {
      const s = (lo >>> 0) + (dLo >>> 0);
      hi = (hi + dHi + (s >= TWO32 ? 1 : 0)) | 0;
      lo = s | 0;
    } else {
      lo = asz === 16 ? (lo + dLo) & 0xffff : (lo + dLo) | 0;
      hi = 0;
    }
    return linearAddr(c, seg, lo, hi, asz, size);
  };
}

define([Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc], compileBt);

// ---- BSF, BSR, TZCNT, LZCNT, POPCNT ---------------------------------------------

/** Lowest set bit index of a non-zero int32. */
function lowBit(v: number): number { return 31 - Math.clz32(v & -v); }

const enum ScanOp { Bsf, Bsr, Tzcnt, Lzcnt, Popcnt }

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  v = (v + (v >>> 4)) & 0x0f0f0f0f;
  return Math.imul(v, 0x01010101) >>> 24;
}

/** Computes op on (lo, hi) of `size`; returns the result, or -1 for "source 0, keep destination". */
function scan(op: ScanOp, size: number, lo: number, hi: number): number {
  const width = size * 8;
  const zero = lo === 0 && hi === 0;
  switch (op) {
    case ScanOp.Bsf: return zero ? -1 : lo !== 0 ? lowBit(lo) : 32 + lowBit(hi);
    case ScanOp.Bsr:
      if (zero) return -1;
      if (size === 8) return hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
      return 31 - Math.clz32(lo);
    case ScanOp.Tzcnt: return zero ? width : lo !== 0 ? lowBit(lo) : 32 + lowBit(hi);
    case ScanOp.Lzcnt:
      if (size === 8) return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
      return Math.clz32(lo) - (32 - width);
    default: return popcount32(lo) + popcount32(hi);
  }
}

function scanOpOf(ins: Instruction): ScanOp {
  switch (ins.mnemonic) {
    case Mnemonic.Bsf: return ScanOp.Bsf;
    case Mnemonic.Bsr: return ScanOp.Bsr;
    // Without the extension the F3 prefix is ignored: plain BSF / BSR.
    case Mnemonic.Tzcnt: return intFeatures.bmi1 ? ScanOp.Tzcnt : ScanOp.Bsf;
    case Mnemonic.Lzcnt: return intFeatures.lzcnt ? ScanOp.Lzcnt : ScanOp.Bsr;
    default: return ScanOp.Popcnt;
  }
}

function compileScan(ins: Instruction, ctx: Ctx): Handler {
  const op = scanOpOf(ins);
  if (op === ScanOp.Popcnt && !intFeatures.popcnt) return () => { throw new CpuFault(UD); };
  const dst = regOperand(ins.op0Register);
  const size = dst.size;
  const srcRm = rmOperand(ins, 1, ctx.bits, size);
  let read: (c: Cpu) => number;
  if (srcRm.kind === 'reg') { const r = srcRm.reg; read = (c) => readReg(c, r); }
  else { const a = srcRm.addr; read = (c) => readMem(c, a(c), size); }
  return (c) => {
    const lo = size === 2 ? read(c) & 0xffff : read(c);
    const hi = size === 8 ? c.hi : 0;
    const r = scan(op, size, lo, hi);
    switch (op) {
      case ScanOp.Bsf: case ScanOp.Bsr:
        if (r < 0) {
          // Destination unchanged, but written at its size (a 32-bit register is zero-extended).
          writeReg(c, dst, readReg(c, dst), c.hi);
          putArith(c, szp(size, 0, 0));
        } else {
          writeReg(c, dst, r, 0);
          putArith(c, szp(size, lo, hi) & ~ZF);
        }
        break;
      case ScanOp.Tzcnt: case ScanOp.Lzcnt:
        writeReg(c, dst, r, 0);
        putArith(c, (lo === 0 && hi === 0 ? CF : 0) | (r === 0 ? ZF : 0));
        break;
      default:
        writeReg(c, dst, r, 0);
        putArith(c, r === 0 ? ZF : 0);
    }
  };
}

define([Mnemonic.Bsf, Mnemonic.Bsr, Mnemonic.Tzcnt, Mnemonic.Lzcnt, Mnemonic.Popcnt], compileScan);

// ---- BMI1, BMI2, ADX: present only as #UD ------------------------------------------

const udHandler: Handler = () => { throw new CpuFault(UD); };

define([Mnemonic.Andn, Mnemonic.Bextr, Mnemonic.Blsi, Mnemonic.Blsmsk, Mnemonic.Blsr], (ins, ctx) =>
  intFeatures.bmi1 ? unsupportedHandler(ins, ctx, 'BMI1 instruction') : udHandler);
define([Mnemonic.Bzhi, Mnemonic.Mulx, Mnemonic.Pdep, Mnemonic.Pext, Mnemonic.Rorx, Mnemonic.Sarx, Mnemonic.Shlx,
  Mnemonic.Shrx], (ins, ctx) => intFeatures.bmi2 ? unsupportedHandler(ins, ctx, 'BMI2 instruction') : udHandler);
define([Mnemonic.Adcx, Mnemonic.Adox], (ins, ctx) =>
  intFeatures.adx ? unsupportedHandler(ins, ctx, 'ADX instruction') : udHandler);
