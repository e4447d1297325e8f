// RFLAGS bits and what each instruction does to the status flags, as the
// Intel SDM (Vol. 2, each instruction's "Flags Affected") defines it. The
// differential test compares only flags the SDM defines after the last
// instruction that ran: a flag left "undefined" may differ between Intel,
// AMD, QEMU TCG and vmscope without either being wrong.
//
// Undefined-flag table (status flags: CF PF AF ZF SF OF):
//   ADD ADC SUB SBB CMP NEG XADD CMPXCHG
//     CMPS SCAS                    all six defined
//   INC DEC                        CF unchanged, the rest defined
//   AND OR XOR TEST                CF=OF=0, SF ZF PF defined, AF undefined
//   NOT, MOV*, LEA, XCHG, BSWAP,
//     PUSH POP, CBW..CQO, SETcc,
//     CMOVcc, MOVS STOS LODS, XLAT unchanged
//   MUL IMUL (all forms)           CF OF defined; SF ZF AF PF undefined
//   DIV IDIV                       all six undefined
//   BT BTS BTR BTC                 CF defined; ZF unchanged; OF SF AF PF undefined
//   BSF BSR                        ZF defined; CF OF SF AF PF undefined
//                                  (and DEST undefined for a zero source:
//                                  the generator makes the source non-zero)
//   SHL SAL SHR SAR (count masked to 5 bits, 6 for 64-bit operands)
//     count 0                      nothing changes
//     otherwise                    SF ZF PF defined, AF undefined; OF defined
//                                  only for count 1; CF = last bit out, but
//                                  undefined for SHL/SHR when count >= the
//                                  operand width (8/16-bit operands)
//   ROL ROR RCL RCR                count 0: nothing; otherwise CF defined
//                                  (RCL/RCR: unchanged when the count mod 9/17
//                                  is 0), OF defined only for count 1
//   SHLD SHRD                      count 0: nothing; otherwise CF SF ZF PF
//                                  defined, AF undefined, OF only for count 1;
//                                  count > width (16-bit only) leaves DEST and
//                                  flags undefined: the generator avoids it
//   CMPXCHG8B CMPXCHG16B           ZF defined, others unchanged
//   SAHF                           SF ZF AF PF CF from AH; OF unchanged
//   CLC STC CMC                    CF; CLD STD: DF
// A shift or rotate by CL whose count the generator does not know (CL from
// a random register) may or may not change the flags: all the flags it
// could change count as undefined after it.
//
// Known QEMU TCG deviations from the SDM (QEMU 7.2, as Debian 12 ships it)
// and how the test steps around them:
//   CMPXCHG8B, CMPXCHG16B: QEMU's helper rebuilds RFLAGS from its lazy-flags
//     state without the translator first storing the current flags operation
//     (env->cc_op), so when the last flag-setting instruction is in the same
//     translation block it uses a stale one: `xor eax, eax; cmpxchg8b [m]`
//     gives the flags from before the XOR, or the raw value of an unrelated
//     operand, high bits included. The generator puts `jmp 1f; 1:` (no
//     architectural effect) before them: it ends QEMU's translation block,
//     which stores cc_op, and the SDM's "CF PF AF SF OF unchanged" holds again.
//   Flags after a fault: when an instruction whose translation computes
//     RFLAGS (SETcc, ADC, rotates, shifts, BT*, ...) then faults on its
//     memory access, QEMU restores its old lazy-flags operation but keeps the
//     computed value as its operand: `cmp rdi, r8; setno [unmapped]` reports
//     flags unrelated to the CMP. The status flags are not compared when
//     such an instruction faults (generator.ts QEMU_FAULT_FLAGS).
//   LOCK on MOV or IMUL: QEMU executes it (the SDM: #UD); the generator's
//     LOCK-misuse encodings are those QEMU rejects (LOCK NOP, LOCK ADD reg).
// Exceptions (transcript.ts compareResults):
//   A non-canonical address in the SS segment (RBP/RSP base): QEMU raises
//     #GP(0), the SDM #SS(0); QEMU's result is corrected before comparing.
//   #PF on a read-modify-write instruction: QEMU reports a read (W=0); the
//     SDM describes the W bit by "the access causing the fault", which for a
//     read-modify-write can be either; the bit is not compared there.

export const CF = 0x001;
export const PF = 0x004;
export const AF = 0x010;
export const ZF = 0x040;
export const SF = 0x080;
export const DF = 0x400;
export const OF = 0x800;
export const STATUS = CF | PF | AF | ZF | SF | OF;

/** What one instruction does to the status flags. */
export interface FlagEffect {
  /** Flags it reads (they must be defined before it runs). */
  reads: number;
  /** Flags it leaves defined. */
  defines: number;
  /** Flags it leaves undefined. Flags in neither mask are unchanged. */
  undef: number;
}

export const NONE: FlagEffect = { reads: 0, defines: 0, undef: 0 };
export const ARITH: FlagEffect = { reads: 0, defines: STATUS, undef: 0 };
export const ARITH_CF: FlagEffect = { reads: CF, defines: STATUS, undef: 0 };
export const INCDEC: FlagEffect = { reads: 0, defines: STATUS & ~CF, undef: 0 };
export const LOGIC: FlagEffect = { reads: 0, defines: CF | OF | SF | ZF | PF, undef: AF };
export const MUL: FlagEffect = { reads: 0, defines: CF | OF, undef: SF | ZF | AF | PF };
export const DIV: FlagEffect = { reads: 0, defines: 0, undef: STATUS };
export const BT: FlagEffect = { reads: 0, defines: CF, undef: OF | SF | AF | PF };
export const BSF: FlagEffect = { reads: 0, defines: ZF, undef: CF | OF | SF | AF | PF };
export const ZF_ONLY: FlagEffect = { reads: 0, defines: ZF, undef: 0 };
export const SAHF: FlagEffect = { reads: 0, defines: SF | ZF | AF | PF | CF, undef: 0 };
export const LAHF: FlagEffect = { reads: SF | ZF | AF | PF | CF, defines: 0, undef: 0 };
export const CARRY_SET: FlagEffect = { reads: 0, defines: CF, undef: 0 };
export const CARRY_FLIP: FlagEffect = { reads: CF, defines: CF, undef: 0 };
export const ALL_READ: FlagEffect = { reads: STATUS, defines: 0, undef: 0 };

/** Condition codes with the flags each reads (Jcc/SETcc/CMOVcc suffixes). */
export const CONDITIONS: readonly { cc: string; reads: number }[] = [
  { cc: 'o', reads: OF }, { cc: 'no', reads: OF },
  { cc: 'b', reads: CF }, { cc: 'ae', reads: CF },
  { cc: 'e', reads: ZF }, { cc: 'ne', reads: ZF },
  { cc: 'be', reads: CF | ZF }, { cc: 'a', reads: CF | ZF },
  { cc: 's', reads: SF }, { cc: 'ns', reads: SF },
  { cc: 'p', reads: PF }, { cc: 'np', reads: PF },
  { cc: 'l', reads: SF | OF }, { cc: 'ge', reads: SF | OF },
  { cc: 'le', reads: ZF | SF | OF }, { cc: 'g', reads: ZF | SF | OF },
];

export type ShiftOp = 'shl' | 'sal' | 'shr' | 'sar' | 'rol' | 'ror' | 'rcl' | 'rcr';

/**
 * Flags after a shift or rotate of a `size`-bit operand by `count` (the
 * count as encoded or as in CL; undefined: CL not known).
 */
export function shiftFlags(op: ShiftOp, size: number, count: number | undefined): FlagEffect {
  const rc = op === 'rcl' || op === 'rcr';
  if (count === undefined) {
    const maybe = op === 'rol' || op === 'ror' || rc ? CF | OF : STATUS;
    return { reads: rc ? CF : 0, defines: 0, undef: maybe };
  }
  const masked = count & (size === 64 ? 63 : 31);
  if (masked === 0) return NONE;
  const of = masked === 1 ? OF : 0;
  const ofUndef = masked === 1 ? 0 : OF;
  if (op === 'rol' || op === 'ror') return { reads: 0, defines: CF | of, undef: ofUndef };
  if (rc) return { reads: CF, defines: CF | of, undef: ofUndef };
  const cfUndef = (op === 'shl' || op === 'sal' || op === 'shr') && masked >= size;
  return {
    reads: 0,
    defines: SF | ZF | PF | of | (cfUndef ? 0 : CF),
    undef: AF | ofUndef | (cfUndef ? CF : 0),
  };
}

/** Flags after SHLD/SHRD by a known count (callers keep 16-bit counts <= 16). */
export function shiftDoubleFlags(size: number, count: number): FlagEffect {
  const masked = count & (size === 64 ? 63 : 31);
  if (masked === 0) return NONE;
  return { reads: 0, defines: CF | SF | ZF | PF | (masked === 1 ? OF : 0), undef: AF | (masked === 1 ? 0 : OF) };
}

/** Undefined flags after an instruction with effect e, given those undefined before. */
export function afterFlags(undefBefore: number, e: FlagEffect): number {
  return (undefBefore & ~(e.defines | e.undef)) | e.undef;
}

const NAMES: readonly [number, string][] = [[CF, 'CF'], [PF, 'PF'], [AF, 'AF'], [ZF, 'ZF'], [SF, 'SF'], [DF, 'DF'], [OF, 'OF']];

/** "CF ZF" for a mask (status flags and DF). */
export function flagNames(mask: number): string {
  const n = NAMES.filter(([b]) => (mask & b) !== 0).map(([, s]) => s);
  return n.length > 0 ? n.join(' ') : '-';
}
