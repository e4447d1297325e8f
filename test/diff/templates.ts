// The instruction table of the differential test, as data: which mnemonics,
// operand forms and sizes the generator may emit, with their flag effects
// (flags.ts documents the per-instruction undefined flags). generator.ts
// turns an entry into GNU as Intel-syntax text.
//
// Operand form tokens (comma-separated, in Intel operand order):
//   d   destination: a free register or a scratch memory operand
//   dr  destination register       dm  destination memory
//   s   source: any register (incl. the base/index registers) or memory
//   sr  source register
//   x   a second destination register (XCHG/XADD's register operand)
//   i   immediate of the operand size (64-bit: imm32, sign-extended)
//   c   an 8-bit count (BT* bit offsets: masked to the operand width)
//   sm  source memory
//   s8 / s16 / s32   a source of that size (MOVZX, MOVSX, MOVSXD)
//   ''  no operands
// `{cc}` in a mnemonic expands to each condition code (flags.ts CONDITIONS).
// Entries whose operands need more than a form (counts, guards, string
// set-up, the stack) name a `kind` that generator.ts implements.

import {
  ALL_READ, ARITH, ARITH_CF, BSF, BT, CARRY_FLIP, CARRY_SET, CF, DIV, INCDEC, LAHF, LOGIC, MUL, NONE, OF, SAHF, STATUS, ZF_ONLY,
  type FlagEffect,
} from './flags';

export type Size = 8 | 16 | 32 | 64;

export type Kind =
  | 'plain'
  | 'shift'      // SHL..RCR by 1, imm8, CL set just before, or CL as it is
  | 'shiftd'     // SHLD/SHRD by imm8 or CL
  | 'div'        // DIV/IDIV, often after zeroing/sign-extending the high half
  | 'bsf'        // BSF/BSR after making the source non-zero
  | 'btmem'      // BT* on memory with a small signed bit offset in CX/ECX/RCX
  | 'cmpxchg8b'
  | 'cmpxchg16b'
  | 'string'     // MOVS/STOS/LODS/SCAS/CMPS, optionally REP/REPE/REPNE
  | 'push'
  | 'pop'
  | 'lea'        // any base/index registers, 64- or 32-bit addressing, RIP-relative
  | 'xlat'       // only when RBX is the base register
  | 'movabs'
  | 'jcc'        // Jcc/LOOPcc/JRCXZ over one plain instruction
  | 'callret'    // CALL to a RET (or RET imm16) that returns to a JMP past it
  | 'popf'       // PUSH imm32; POPFQ (status flags, DF, and the bits POPF ignores or keeps)
  | 'noncanon'   // a memory access through a non-canonical address: #GP(0), or #SS(0) via RBP
  | 'raw';       // fixed byte strings (mnemonics hold them): invalid opcodes, LOCK misuse

export interface Template {
  /** Name in reports and in VMSCOPE_DIFF_ONLY / VMSCOPE_DIFF_EXCLUDE. */
  name: string;
  mnemonics: readonly string[];
  kind: Kind;
  forms: readonly string[];
  sizes: readonly Size[];
  flags: FlagEffect;
  /** May take a LOCK prefix when the destination is memory. */
  lock?: boolean;
  /** The CPUID feature it needs (the runner compares both CPUs' answers). */
  feature?: Feature;
  /** Relative frequency (templates that end a sequence with #UD are rare). */
  weight: number;
}

/**
 * CPUID feature bits instructions depend on (the image prints CPUID.1:ECX,
 * CPUID.80000001:ECX and CPUID.7:EBX). Where both CPUs lack a feature, its
 * instructions must raise #UD on both (LZCNT/TZCNT: run as BSR/BSF).
 */
export const FEATURES = {
  cx16: { name: 'CMPXCHG16B (CPUID.1:ECX[13])', leaf: 1, bit: 13 },
  sse42: { name: 'CRC32 / SSE4.2 (CPUID.1:ECX[20])', leaf: 1, bit: 20 },
  movbe: { name: 'MOVBE (CPUID.1:ECX[22])', leaf: 1, bit: 22 },
  popcnt: { name: 'POPCNT (CPUID.1:ECX[23])', leaf: 1, bit: 23 },
  avx: { name: 'AVX / VEX (CPUID.1:ECX[28])', leaf: 1, bit: 28 },
  lahf: { name: 'LAHF/SAHF in 64-bit mode (CPUID.80000001:ECX[0])', leaf: 0x80000001, bit: 0 },
  abm: { name: 'LZCNT (CPUID.80000001:ECX[5])', leaf: 0x80000001, bit: 5 },
  bmi1: { name: 'BMI1: TZCNT, ANDN (CPUID.7:EBX[3])', leaf: 7, bit: 3 },
  bmi2: { name: 'BMI2: SHLX, RORX (CPUID.7:EBX[8])', leaf: 7, bit: 8 },
  adx: { name: 'ADX: ADCX, ADOX (CPUID.7:EBX[19])', leaf: 7, bit: 19 },
} as const;
export type Feature = keyof typeof FEATURES;

const ALL: readonly Size[] = [8, 16, 32, 64];
/** For instructions expected to raise #UD here: whatever they would do to the flags is not compared. */
const UNKNOWN: FlagEffect = { reads: 0, defines: 0, undef: STATUS };
const WIDE: readonly Size[] = [16, 32, 64];

export const TEMPLATES: readonly Template[] = [
  // data movement
  { name: 'mov', mnemonics: ['mov'], kind: 'plain', forms: ['d,sr', 'dr,s', 'd,i'], sizes: ALL, flags: NONE, weight: 4 },
  { name: 'movabs', mnemonics: ['movabs'], kind: 'movabs', forms: [], sizes: [64], flags: NONE, weight: 1 },
  { name: 'movzx8', mnemonics: ['movzx', 'movsx'], kind: 'plain', forms: ['dr,s8'], sizes: WIDE, flags: NONE, weight: 2 },
  { name: 'movzx16', mnemonics: ['movzx', 'movsx'], kind: 'plain', forms: ['dr,s16'], sizes: [32, 64], flags: NONE, weight: 2 },
  { name: 'movsxd', mnemonics: ['movsxd'], kind: 'plain', forms: ['dr,s32'], sizes: [64], flags: NONE, weight: 1 },
  { name: 'lea', mnemonics: ['lea'], kind: 'lea', forms: [], sizes: WIDE, flags: NONE, weight: 3 },
  { name: 'xchg', mnemonics: ['xchg'], kind: 'plain', forms: ['d,x'], sizes: ALL, flags: NONE, weight: 2 },
  { name: 'bswap', mnemonics: ['bswap'], kind: 'plain', forms: ['dr'], sizes: [32, 64], flags: NONE, weight: 1 },
  { name: 'cmov', mnemonics: ['cmov{cc}'], kind: 'plain', forms: ['dr,s'], sizes: WIDE, flags: NONE, weight: 4 },
  { name: 'setcc', mnemonics: ['set{cc}'], kind: 'plain', forms: ['d'], sizes: [8], flags: NONE, weight: 3 },
  { name: 'xlat', mnemonics: ['xlatb'], kind: 'xlat', forms: [], sizes: [8], flags: NONE, weight: 1 },
  { name: 'convert', mnemonics: ['cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo'], kind: 'plain', forms: [''], sizes: [64], flags: NONE, weight: 2 },

  // arithmetic and logic
  { name: 'add', mnemonics: ['add', 'sub'], kind: 'plain', forms: ['d,sr', 'dr,s', 'd,i'], sizes: ALL, flags: ARITH, lock: true, weight: 5 },
  { name: 'adc', mnemonics: ['adc', 'sbb'], kind: 'plain', forms: ['d,sr', 'dr,s', 'd,i'], sizes: ALL, flags: ARITH_CF, lock: true, weight: 4 },
  { name: 'cmp', mnemonics: ['cmp'], kind: 'plain', forms: ['s,sr', 'sr,s', 's,i'], sizes: ALL, flags: ARITH, weight: 3 },
  { name: 'logic', mnemonics: ['and', 'or', 'xor'], kind: 'plain', forms: ['d,sr', 'dr,s', 'd,i'], sizes: ALL, flags: LOGIC, lock: true, weight: 4 },
  { name: 'test', mnemonics: ['test'], kind: 'plain', forms: ['s,sr', 's,i'], sizes: ALL, flags: LOGIC, weight: 2 },
  { name: 'incdec', mnemonics: ['inc', 'dec'], kind: 'plain', forms: ['d'], sizes: ALL, flags: INCDEC, lock: true, weight: 3 },
  { name: 'neg', mnemonics: ['neg'], kind: 'plain', forms: ['d'], sizes: ALL, flags: ARITH, lock: true, weight: 2 },
  { name: 'not', mnemonics: ['not'], kind: 'plain', forms: ['d'], sizes: ALL, flags: NONE, lock: true, weight: 1 },
  { name: 'xadd', mnemonics: ['xadd'], kind: 'plain', forms: ['d,x'], sizes: ALL, flags: ARITH, lock: true, weight: 2 },
  { name: 'cmpxchg', mnemonics: ['cmpxchg'], kind: 'plain', forms: ['d,sr'], sizes: ALL, flags: ARITH, lock: true, weight: 3 },
  { name: 'cmpxchg8b', mnemonics: ['cmpxchg8b'], kind: 'cmpxchg8b', forms: [], sizes: [64], flags: ZF_ONLY, weight: 1 },
  { name: 'cmpxchg16b', mnemonics: ['cmpxchg16b'], kind: 'cmpxchg16b', forms: [], sizes: [64], flags: ZF_ONLY, feature: 'cx16', weight: 1 },

  // multiply and divide
  { name: 'mul', mnemonics: ['mul', 'imul'], kind: 'plain', forms: ['s'], sizes: ALL, flags: MUL, weight: 3 },
  { name: 'imul2', mnemonics: ['imul'], kind: 'plain', forms: ['dr,s', 'dr,s,i'], sizes: WIDE, flags: MUL, weight: 3 },
  { name: 'div', mnemonics: ['div', 'idiv'], kind: 'div', forms: [], sizes: ALL, flags: DIV, weight: 4 },

  // shifts and rotates (flags depend on the count: flags.ts shiftFlags)
  { name: 'shift', mnemonics: ['shl', 'sal', 'shr', 'sar'], kind: 'shift', forms: [], sizes: ALL, flags: NONE, weight: 5 },
  { name: 'rotate', mnemonics: ['rol', 'ror'], kind: 'shift', forms: [], sizes: ALL, flags: NONE, weight: 3 },
  { name: 'rcl', mnemonics: ['rcl', 'rcr'], kind: 'shift', forms: [], sizes: ALL, flags: NONE, weight: 3 },
  { name: 'shiftd', mnemonics: ['shld', 'shrd'], kind: 'shiftd', forms: [], sizes: WIDE, flags: NONE, weight: 3 },

  // bits
  { name: 'bt', mnemonics: ['bt'], kind: 'plain', forms: ['sr,sr', 's,c'], sizes: WIDE, flags: BT, weight: 1 },
  { name: 'bts', mnemonics: ['bts', 'btr', 'btc'], kind: 'plain', forms: ['dr,sr', 'd,c'], sizes: WIDE, flags: BT, lock: true, weight: 3 },
  { name: 'btmem', mnemonics: ['bt', 'bts', 'btr', 'btc'], kind: 'btmem', forms: [], sizes: WIDE, flags: BT, lock: true, weight: 2 },
  { name: 'bsf', mnemonics: ['bsf', 'bsr'], kind: 'bsf', forms: [], sizes: WIDE, flags: BSF, weight: 3 },

  // flags
  { name: 'carry', mnemonics: ['clc', 'stc'], kind: 'plain', forms: [''], sizes: [64], flags: CARRY_SET, weight: 1 },
  { name: 'cmc', mnemonics: ['cmc'], kind: 'plain', forms: [''], sizes: [64], flags: CARRY_FLIP, weight: 1 },
  { name: 'direction', mnemonics: ['cld', 'std'], kind: 'plain', forms: [''], sizes: [64], flags: NONE, weight: 1 },
  { name: 'lahf', mnemonics: ['lahf'], kind: 'plain', forms: [''], sizes: [64], flags: LAHF, feature: 'lahf', weight: 1 },
  { name: 'sahf', mnemonics: ['sahf'], kind: 'plain', forms: [''], sizes: [64], flags: SAHF, feature: 'lahf', weight: 1 },

  // stack
  { name: 'push', mnemonics: ['push'], kind: 'push', forms: [], sizes: [16, 64], flags: NONE, weight: 3 },
  { name: 'pushf', mnemonics: ['pushfq'], kind: 'push', forms: [], sizes: [64], flags: ALL_READ, weight: 1 },
  { name: 'pop', mnemonics: ['pop'], kind: 'pop', forms: [], sizes: [16, 64], flags: NONE, weight: 3 },

  // control flow inside a sequence (the pushed return address is the same on both: same image)
  { name: 'jcc', mnemonics: ['j{cc}', 'loop', 'loope', 'loopne', 'jrcxz', 'jecxz'], kind: 'jcc', forms: [], sizes: [64], flags: NONE, weight: 3 },
  { name: 'callret', mnemonics: ['ret', 'ret 8', 'ret 16'], kind: 'callret', forms: [], sizes: [64], flags: NONE, weight: 1 },
  { name: 'popf', mnemonics: ['popfq'], kind: 'popf', forms: [], sizes: [64], flags: { reads: 0, defines: STATUS, undef: 0 }, weight: 1 },

  // exceptions: non-canonical addresses, invalid encodings
  { name: 'noncanon', mnemonics: ['mov', 'add', 'push', 'lods'], kind: 'noncanon', forms: [], sizes: ALL, flags: NONE, weight: 0.5 },
  {
    name: 'invalid', kind: 'raw', forms: [], sizes: [64], flags: NONE, weight: 0.5,
    mnemonics: [
      '0x06', '0x07', '0x0e', '0x16', '0x17', '0x1e', '0x1f', '0x27', '0x2f', '0x37', '0x3f', '0x60', '0x61', '0xce',
      '0xd4, 0x0a', '0xd5, 0x0a', '0xd6', '0x0f, 0x0b', '0x0f, 0xb9, 0xc0', '0x82, 0xc0, 0x01',
      '0x9a, 0, 0, 0, 0, 0, 0', '0xea, 0, 0, 0, 0, 0, 0',
      '0xf0, 0x90', '0xf0, 0x01, 0xc0',
    ],
  },

  // instructions qemu64 does not have: #UD on both, unless both CPUs report the feature
  { name: 'popcnt', mnemonics: ['popcnt'], kind: 'plain', forms: ['dr,s'], sizes: WIDE, flags: UNKNOWN, feature: 'popcnt', weight: 0.15 },
  { name: 'movbe', mnemonics: ['movbe'], kind: 'plain', forms: ['dr,sm', 'dm,sr'], sizes: WIDE, flags: NONE, feature: 'movbe', weight: 0.15 },
  { name: 'crc32', mnemonics: ['crc32'], kind: 'plain', forms: ['dr,s'], sizes: [32, 64], flags: NONE, feature: 'sse42', weight: 0.15 },
  { name: 'lzcnt', mnemonics: ['lzcnt'], kind: 'bsf', forms: [], sizes: WIDE, flags: BSF, feature: 'abm', weight: 0.5 },
  { name: 'tzcnt', mnemonics: ['tzcnt'], kind: 'bsf', forms: [], sizes: WIDE, flags: BSF, feature: 'bmi1', weight: 0.5 },
  { name: 'andn', mnemonics: ['andn'], kind: 'plain', forms: ['dr,sr,s'], sizes: [32, 64], flags: UNKNOWN, feature: 'bmi1', weight: 0.15 },
  { name: 'shlx', mnemonics: ['shlx', 'sarx', 'shrx'], kind: 'plain', forms: ['dr,s,sr'], sizes: [32, 64], flags: NONE, feature: 'bmi2', weight: 0.15 },
  { name: 'adcx', mnemonics: ['adcx', 'adox'], kind: 'plain', forms: ['dr,s'], sizes: [32, 64], flags: { reads: CF | OF, defines: 0, undef: CF | OF }, feature: 'adx', weight: 0.15 },
  { name: 'vzeroupper', mnemonics: ['0xc5, 0xf8, 0x77'], kind: 'raw', forms: [], sizes: [64], flags: NONE, feature: 'avx', weight: 0.15 },

  // strings
  { name: 'string', mnemonics: ['movs', 'stos', 'lods'], kind: 'string', forms: [], sizes: ALL, flags: NONE, weight: 3 },
  { name: 'stringcmp', mnemonics: ['scas', 'cmps'], kind: 'string', forms: [], sizes: ALL, flags: ARITH, weight: 3 },
];
