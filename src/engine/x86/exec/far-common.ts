// Checks and commits shared by the far control transfers (far JMP/CALL, RETF,
// IRET): code-segment checks of a return, the target RIP check (CS limit
// outside 64-bit mode, canonical form in it), the SS checks of a return to an
// outer privilege level, the data-segment nulling that follows it, and the
// final mode/CPL update that reports the ring transition.
//
// Choices where the SDM tables and pseudocode disagree (documented once here):
// - A not-present return SS is #SS(selector) (RET's pseudocode, QEMU, Bochs),
//   not the #SS(0) of IRET's exception table.
// - A segment register invalidated by a return to an outer level keeps its
//   hidden base and limit and becomes unusable with selector 0 (as QEMU and
//   Bochs do); a 64-bit FS/GS with a null selector therefore keeps its base.

import type { Cpu } from '../cpu';
import { CpuFault, GP, NP, SS as SS_VEC } from '../fault';
import { CS, SS, DS, ES, FS, GS, RSP } from '../regs';
import { readDescriptor, markAccessed, type Descriptor } from '../descriptors';
import {
  arFromDescriptor, baseFromDescriptor, limitFromDescriptor, arDpl, AR_S, AR_P, AR_L, AR_DB, AR_UNUSABLE,
  TYPE_CODE, TYPE_CONFORMING, TYPE_WRITABLE,
} from '../segdesc';
import type { RingVia } from '../../../common/trace';

const TWO32 = 0x1_0000_0000;
const TWO47 = 2 ** 47;

export function gpSel(sel: number): CpuFault { return new CpuFault(GP, sel & 0xfffc); }

/** A checked segment load waiting to be committed. */
export class SegLoad {
  sel = 0; base = 0; limit = 0; ar = 0;
  /** The descriptor (to set its accessed bit), or undefined for a null selector. */
  desc: Descriptor | undefined = undefined;

  fromDescriptor(sel: number, d: Descriptor): void {
    this.sel = sel & 0xffff;
    this.base = baseFromDescriptor(d.lo, d.hi);
    this.limit = limitFromDescriptor(d.lo, d.hi);
    this.ar = arFromDescriptor(d.hi) | 1;
    this.desc = d;
  }

  asNull(sel: number, ar: number): void {
    this.sel = sel & 0xffff; this.base = 0; this.limit = 0; this.ar = ar; this.desc = undefined;
  }

  /**
   * Sets the descriptor's accessed bit, as the CPU does on a load. A write that
   * can fault (#PF on a read-only table), so transfers call it for every
   * descriptor before committing any register.
   */
  accessed(c: Cpu): void {
    if (this.desc) markAccessed(c, this.desc);
  }

  /** Loads the segment register (after setting the accessed bit). */
  commit(c: Cpu, s: number): void {
    this.accessed(c);
    c.setSegment(s, this.sel, this.base, this.limit, this.ar);
  }
}

/** Whether a code segment with rights `ar` runs in 64-bit mode. */
export function is64Code(c: Cpu, ar: number): boolean {
  return c.longMode && (ar & AR_L) !== 0;
}

/** #GP(sel) for an L=1, D=1 code segment in IA-32e mode (reserved combination). */
export function checkLD(c: Cpu, ar: number, sel: number): void {
  if (c.longMode && (ar & AR_L) && (ar & AR_DB)) throw gpSel(sel);
}

/**
 * The new RIP of a far transfer into a code segment with rights `ar` and
 * limit `limit`: the offset (lo, hi) at operand size `size`, then #GP(0) if
 * it is beyond the limit (16/32-bit target) or not canonical (64-bit target).
 */
export function targetRip(c: Cpu, ar: number, limit: number, lo: number, hi: number, size: number): number {
  if (is64Code(c, ar)) {
    const v = size === 8 ? (hi | 0) * TWO32 + (lo >>> 0) : size === 4 ? lo >>> 0 : lo & 0xffff;
    if (v < -TWO47 || v >= TWO47) throw new CpuFault(GP, 0);
    return v;
  }
  // A compatibility-mode or legacy target keeps the low 32 (or 16) bits.
  const v = size === 2 ? lo & 0xffff : lo >>> 0;
  if (v > limit) throw new CpuFault(GP, 0);
  return v;
}

/**
 * Reads and checks the code segment of a far return (RETF, IRET): #GP(0) for
 * null, #GP(sel) for a non-code descriptor, L=D=1, RPL < CPL, a conforming
 * DPL above RPL or a non-conforming DPL unequal to RPL; #NP(sel) if absent.
 */
export function checkReturnCs(c: Cpu, sel: number, out: SegLoad): void {
  if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
  const d = readDescriptor(c, sel);
  const ar = arFromDescriptor(d.hi);
  const rpl = sel & 3;
  if (!(ar & AR_S) || !(ar & TYPE_CODE)) throw gpSel(sel);
  checkLD(c, ar, sel);
  if (rpl < c.cpl) throw gpSel(sel);
  if (ar & TYPE_CONFORMING ? arDpl(ar) > rpl : arDpl(ar) !== rpl) throw gpSel(sel);
  if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
  out.fromDescriptor(sel, d);
}

/**
 * Checks the SS selector popped by a return to privilege `newCpl` (RETF and
 * IRET to an outer level; IRET in 64-bit mode always). A null SS is allowed
 * only when returning to 64-bit mode below CPL 3 with RPL = new CPL.
 */
export function checkReturnSs(c: Cpu, sel: number, newCpl: number, to64: boolean, out: SegLoad): void {
  if ((sel & 0xfffc) === 0) {
    if (!to64 || newCpl === 3 || (sel & 3) !== newCpl) throw new CpuFault(GP, 0);
    out.asNull(sel, AR_UNUSABLE | (newCpl << 5));
    return;
  }
  const d = readDescriptor(c, sel);
  const ar = arFromDescriptor(d.hi);
  if ((sel & 3) !== newCpl || !(ar & AR_S) || (ar & TYPE_CODE) || !(ar & TYPE_WRITABLE) || arDpl(ar) !== newCpl) {
    throw gpSel(sel);
  }
  if (!(ar & AR_P)) throw new CpuFault(SS_VEC, sel & 0xfffc);
  out.fromDescriptor(sel, d);
}

const DATA_SEGS = [ES, DS, FS, GS] as const;

/**
 * After a return to outer privilege `cpl`: ES, DS, FS and GS become null if
 * they are null already or hold a data / non-conforming code segment with
 * DPL < CPL (so the outer level cannot keep using inner-level segments).
 */
export function invalidateDataSegs(c: Cpu, cpl: number): void {
  for (let i = 0; i < DATA_SEGS.length; i++) {
    const s = DATA_SEGS[i]!;
    const ar = c.segAttr[s]!;
    const isNull = (c.segSel[s]! & 0xfffc) === 0;
    const conformingCode = (ar & TYPE_CODE) !== 0 && (ar & TYPE_CONFORMING) !== 0;
    if (isNull || (!conformingCode && arDpl(ar) < cpl)) {
      c.setSegment(s, 0, c.segBase[s]!, c.segLimit[s]!, ar | AR_UNUSABLE);
    }
  }
}

/** Loads the stack pointer at the current stack width: RSP, ESP (upper half cleared) or SP. */
export function setStackPointer(c: Cpu, lo: number, hi: number): void {
  if (c.stackSize === 8) { c.rl[RSP] = lo; c.rh[RSP] = hi; }
  else if (c.stackSize === 4) { c.rl[RSP] = lo; c.rh[RSP] = 0; }
  else c.rl[RSP] = (c.rl[RSP]! & ~0xffff) | (lo & 0xffff);
}

/** Saved SS and stack pointer, to undo a stack switch when a later step faults. */
export class StackSnapshot {
  sel = 0; base = 0; limit = 0; ar = 0; spLo = 0; spHi = 0; stackSize = 2; cpl = 0;

  save(c: Cpu): void {
    this.sel = c.segSel[SS]!; this.base = c.segBase[SS]!; this.limit = c.segLimit[SS]!; this.ar = c.segAttr[SS]!;
    this.spLo = c.rl[RSP]!; this.spHi = c.rh[RSP]!; this.stackSize = c.stackSize; this.cpl = c.cpl;
  }

  restore(c: Cpu): void {
    c.setSegment(SS, this.sel, this.base, this.limit, this.ar);
    c.rl[RSP] = this.spLo; c.rh[RSP] = this.spHi;
    c.stackSize = this.stackSize;
    c.setCpl(this.cpl);
  }
}

/**
 * Ends a far transfer whose CS (and SS) are loaded: recomputes the mode
 * (emitting a mode record if it changed), then moves the CPL to `newCpl`,
 * emitting the ring record, and makes the run loop re-fetch.
 */
export function finishTransfer(c: Cpu, newCpl: number, via: RingVia): void {
  const old = c.cpl;
  c.updateMode(); // may force CPL 3 when VM was just set
  c.setCpl(old);
  c.changeRing(newCpl, via);
  c.exitBlock = true;
}

/** Loads CS from a checked descriptor with the given RPL (the CPL after the transfer). */
export function loadCs(c: Cpu, L: SegLoad, rpl: number): void {
  L.sel = (L.sel & 0xfffc) | rpl;
  L.commit(c, CS);
}

/** Low and high int32 halves of a RIP number (signed canonical in 64-bit mode). */
export function ripLo(rip: number): number { return rip | 0; }
export function ripHi(rip: number): number { return Math.floor(rip / TWO32) | 0; }
