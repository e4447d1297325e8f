// RFLAGS with lazy arithmetic flags. ADD/ADC/SUB/SBB/logic/INC/DEC only record
// their operands and result (a few stores); CF, PF, AF, ZF, SF and OF are
// computed when something reads them (Jcc, SETcc, PUSHF, ...). Everything else
// sets flags eagerly with setArith().
//
// Values are stored as the engine holds them: sizes 1 and 2 zero-extended,
// size 4 as int32, size 8 as int32 lo/hi pairs.
//
// Undefined flags (a documented choice, matching what Intel hardware was
// measured to do where that is well known, else 0):
// - logic ops (AND/OR/XOR/TEST): AF = 0.
// - see each family's file for its own undefined flags.

export const CF = 1 << 0, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, TF = 1 << 8,
  IF = 1 << 9, DF = 1 << 10, OF = 1 << 11, IOPL = 3 << 12, NT = 1 << 14, RF = 1 << 16,
  VM = 1 << 17, AC = 1 << 18, VIF = 1 << 19, VIP = 1 << 20, ID = 1 << 21;
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bit 1 always reads as 1. */
export const FIXED1 = 1 << 1;

export const enum LazyOp { None = 0, Add, Adc, Sub, Sbb, Logic, Inc, Dec }

/** The lazy part of a vCPU's flags; the vCPU class extends this. */
export class FlagState {
  /** RFLAGS; the ARITH bits are stale while lop !== None. */
  flags = FIXED1;
  lop: LazyOp = LazyOp.None;
  lsize = 4;
  lres = 0; ldst = 0; lsrc = 0;
  lresH = 0; ldstH = 0; lsrcH = 0;
  /** Carry in (ADC/SBB) or the preserved CF (INC/DEC). */
  lcf = 0;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p ? PF : 0;
}

function signBitOf(f: FlagState, v: number, vh: number): number {
  switch (f.lsize) {
    case 1: return (v >>> 7) & 1;
    case 2: return (v >>> 15) & 1;
    case 4: return v >>> 31;
    default: return vh >>> 31;
  }
}

/** unsigned a < b at the lazy size. */
function below(f: FlagState, a: number, ah: number, b: number, bh: number): boolean {
  if (f.lsize === 8) return (ah >>> 0) < (bh >>> 0) || (ah === bh && (a >>> 0) < (b >>> 0));
  return (a >>> 0) < (b >>> 0);
}

export function getCF(f: FlagState): number {
  switch (f.lop) {
    case LazyOp.None: return f.flags & CF;
    case LazyOp.Add: return below(f, f.lres, f.lresH, f.ldst, f.ldstH) ? 1 : 0;
    case LazyOp.Adc:
      return below(f, f.lres, f.lresH, f.ldst, f.ldstH) ||
        (f.lcf !== 0 && f.lres === f.ldst && (f.lsize !== 8 || f.lresH === f.ldstH)) ? 1 : 0;
    case LazyOp.Sub: return below(f, f.ldst, f.ldstH, f.lsrc, f.lsrcH) ? 1 : 0;
    case LazyOp.Sbb:
      return below(f, f.ldst, f.ldstH, f.lsrc, f.lsrcH) ||
        (f.lcf !== 0 && f.ldst === f.lsrc && (f.lsize !== 8 || f.ldstH === f.lsrcH)) ? 1 : 0;
    case LazyOp.Logic: return 0;
    case LazyOp.Inc: case LazyOp.Dec: return f.lcf;
  }
}

export function getZF(f: FlagState): number {
  if (f.lop === LazyOp.None) return f.flags & ZF;
  return f.lres === 0 && (f.lsize !== 8 || f.lresH === 0) ? ZF : 0;
}

export function getSF(f: FlagState): number {
  if (f.lop === LazyOp.None) return f.flags & SF;
  return signBitOf(f, f.lres, f.lresH) ? SF : 0;
}

export function getPF(f: FlagState): number {
  if (f.lop === LazyOp.None) return f.flags & PF;
  return PARITY[f.lres & 0xff]!;
}

export function getAF(f: FlagState): number {
  switch (f.lop) {
    case LazyOp.None: return f.flags & AF;
    case LazyOp.Logic: return 0;
    default: return (f.ldst ^ f.lsrc ^ f.lres) & AF;
  }
}

export function getOF(f: FlagState): number {
  switch (f.lop) {
    case LazyOp.None: return f.flags & OF;
    case LazyOp.Logic: return 0;
    case LazyOp.Add: case LazyOp.Adc: case LazyOp.Inc:
      return signBitOf(f, (f.ldst ^ f.lres) & (f.lsrc ^ f.lres), (f.ldstH ^ f.lresH) & (f.lsrcH ^ f.lresH)) ? OF : 0;
    case LazyOp.Sub: case LazyOp.Sbb: case LazyOp.Dec:
      return signBitOf(f, (f.ldst ^ f.lsrc) & (f.ldst ^ f.lres), (f.ldstH ^ f.lsrcH) & (f.ldstH ^ f.lresH)) ? OF : 0;
  }
}

/** The full RFLAGS value (low 32 bits; the upper half is reserved zero). */
export function getFlags(f: FlagState): number {
  if (f.lop === LazyOp.None) return f.flags;
  return (f.flags & ~ARITH) | getCF(f) | getPF(f) | getAF(f) | getZF(f) | getSF(f) | getOF(f);
}

/** Folds pending lazy flags into f.flags (before a partial update). */
export function materialize(f: FlagState): void {
  if (f.lop !== LazyOp.None) {
    f.flags = getFlags(f);
    f.lop = LazyOp.None;
  }
}

/** Sets the arithmetic flags eagerly: `bits` is any combination of ARITH bits to set, others in ARITH cleared. */
export function setArith(f: FlagState, bits: number): void {
  materialize(f);
  f.flags = (f.flags & ~ARITH) | (bits & ARITH);
}

/** Replaces only the flags in `mask` with those in `bits`. */
export function setSome(f: FlagState, mask: number, bits: number): void {
  materialize(f);
  f.flags = (f.flags & ~mask) | (bits & mask);
}

export function parity(byte: number): number { return PARITY[byte & 0xff]!; }

/** ZF/SF/PF of a result of the given size (int32 lo / hi halves). */
export function szp(size: number, lo: number, hi: number): number {
  let z: boolean, s: number;
  switch (size) {
    case 1: z = (lo & 0xff) === 0; s = lo & 0x80; break;
    case 2: z = (lo & 0xffff) === 0; s = lo & 0x8000; break;
    case 4: z = lo === 0; s = lo >>> 31; break;
    default: z = lo === 0 && hi === 0; s = hi >>> 31;
  }
  return (z ? ZF : 0) | (s ? SF : 0) | PARITY[lo & 0xff]!;
}

/** Evaluates condition code cc (0..15, the Jcc/SETcc/CMOVcc encoding). */
export function cond(f: FlagState, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(f) !== 0; break;
    case 1: r = getCF(f) !== 0; break;
    case 2: r = getZF(f) !== 0; break;
    case 3: r = getCF(f) !== 0 || getZF(f) !== 0; break;
    case 4: r = getSF(f) !== 0; break;
    case 5: r = getPF(f) !== 0; break;
    case 6: r = (getSF(f) !== 0) !== (getOF(f) !== 0); break;
    default: r = getZF(f) !== 0 || (getSF(f) !== 0) !== (getOF(f) !== 0); break;
  }
  return (cc & 1) ? !r : r;
}

export const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [TF, 'TF'], [IF, 'IF'], [DF, 'DF'], [OF, 'OF'],
  [NT, 'NT'], [RF, 'RF'], [VM, 'VM'], [AC, 'AC'], [VIF, 'VIF'], [VIP, 'VIP'], [ID, 'ID'],
];

/** "[IF ZF PF]" style decoding, plus IOPL when non-zero. */
export function describeFlags(v: number): string {
  const names = FLAG_NAMES.filter(([b]) => v & b).map(([, n]) => n).reverse();
  const iopl = (v >>> 12) & 3;
  if (iopl) names.push(`IOPL=${iopl}`);
  return `[${names.join(' ')}]`;
}
