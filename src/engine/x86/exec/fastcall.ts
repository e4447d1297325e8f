// Fast system calls (SDM vol. 2 SYSCALL, SYSRET, SYSENTER, SYSEXIT, SWAPGS):
// CS and SS are loaded with fixed flat descriptors from selectors the MSRs
// give (msr-store.ts), never read from the GDT.
//
// Documented choices (Intel behaviour, the SDM's pseudocode):
// - SYSCALL/SYSRET are #UD outside 64-bit mode (compatibility and legacy
//   mode too) and when EFER.SCE = 0; CSTAR is stored but never used (it is
//   AMD's compatibility-mode entry point).
// - SYSCALL saves RFLAGS in R11 with RF cleared and clears RF (besides the
//   FMASK bits) in RFLAGS, as Intel hardware and QEMU do.
// - SYSRET with a non-canonical RCX raises #GP(0) while still at CPL 0 with
//   the kernel's state (the Intel behaviour; AMD faults after the switch).
//   RFLAGS := (R11 & 0x3C7FD7) | 2: RF and VM are always 0 afterwards.
// - SYSENTER/SYSEXIT: #GP(0) in real mode or when IA32_SYSENTER_CS[15:2] = 0;
//   SYSEXIT also at CPL ≠ 0 (so in VM86 mode). In IA-32e mode SYSENTER enters
//   64-bit mode; SYSEXIT with REX.W returns to 64-bit mode (CS = SYSENTER_CS
//   + 32) after checking RCX and RDX for canonical form, without REX.W to
//   32-bit/compatibility mode (CS = SYSENTER_CS + 16). SYSEXIT leaves RFLAGS.
// - SWAPGS: #UD outside 64-bit mode, #GP(0) at CPL > 0.

import { Mnemonic } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define } from '../registry';
import { CpuFault, GP, UD } from '../fault';
import { getFlags, RF, IF, VM } from '../flags';
import { CS, SS, GS, RSP, RCX, RDX } from '../regs';
import { AR_P, AR_S, AR_L, AR_DB, AR_G } from '../segdesc';
import { EFER_SCE } from '../../mmu/paging';
import { fastMsrs, pairNumber } from '../msr-store';
import { finishTransfer, ripLo, ripHi } from './far-common';

const R11 = 11;
const FLAT = 0xffffffff;
/** Type 11: execute/read code, accessed; type 3: read/write data, accessed. */
const AR_CODE = AR_P | AR_S | 11 | AR_G;
const AR_STACK = AR_P | AR_S | 3 | AR_DB | AR_G;
const DPL3 = 3 << 5;

const canonicalHi = (hi: number): boolean => (hi >> 15) === (hi >> 31);

function syscall(c: Cpu): void {
  if (c.bits !== 64 || !(c.efer & EFER_SCE)) throw new CpuFault(UD);
  const m = fastMsrs(c);
  const ret = c.nextRip;
  const flags = getFlags(c) & ~RF;
  const sel = m.starHi & 0xffff; // STAR[47:32]
  c.rl[RCX] = ripLo(ret); c.rh[RCX] = ripHi(ret);
  c.rl[R11] = flags; c.rh[R11] = 0;
  c.setSegment(CS, sel & 0xfffc, 0, FLAT, AR_CODE | AR_L);
  c.setSegment(SS, (sel + 8) & 0xffff, 0, FLAT, AR_STACK);
  c.rflags = flags & ~m.fmaskLo;
  c.nextRip = pairNumber(m.lstarLo, m.lstarHi);
  finishTransfer(c, 0, 'syscall');
}
define(Mnemonic.Syscall, () => syscall);

function sysret(c: Cpu, to64: boolean): void {
  if (c.bits !== 64 || !(c.efer & EFER_SCE)) throw new CpuFault(UD);
  if (c.cpl !== 0) throw new CpuFault(GP, 0);
  let target: number;
  if (to64) {
    const hi = c.rh[RCX]!;
    if (!canonicalHi(hi)) throw new CpuFault(GP, 0);
    target = pairNumber(c.rl[RCX]!, hi);
  } else {
    target = c.rl[RCX]! >>> 0;
  }
  const base = (fastMsrs(c).starHi >>> 16) & 0xffff; // STAR[63:48]
  const csSel = ((to64 ? base + 16 : base) | 3) & 0xffff;
  c.setSegment(CS, csSel, 0, FLAT, AR_CODE | DPL3 | (to64 ? AR_L : AR_DB));
  c.setSegment(SS, ((base + 8) | 3) & 0xffff, 0, FLAT, AR_STACK | DPL3);
  c.rflags = (c.rl[R11]! & 0x3c7fd7) | 2;
  c.nextRip = target;
  finishTransfer(c, 3, 'sysret');
}
define(Mnemonic.Sysret, () => (c) => sysret(c, false));
define(Mnemonic.Sysretq, () => (c) => sysret(c, true));

function sysenter(c: Cpu): void {
  const m = fastMsrs(c);
  const cs = m.sysenterCsLo & 0xfffc;
  if (!(c.cr0 & 1) || cs === 0) throw new CpuFault(GP, 0);
  const long = c.longMode;
  c.setSegment(CS, cs, 0, FLAT, AR_CODE | (long ? AR_L : AR_DB));
  c.setSegment(SS, (cs + 8) & 0xffff, 0, FLAT, AR_STACK);
  c.rflags = getFlags(c) & ~(VM | IF | RF);
  if (long) {
    c.rl[RSP] = m.sysenterEspLo; c.rh[RSP] = m.sysenterEspHi;
    c.nextRip = pairNumber(m.sysenterEipLo, m.sysenterEipHi);
  } else {
    c.rl[RSP] = m.sysenterEspLo; c.rh[RSP] = 0;
    c.nextRip = m.sysenterEipLo >>> 0;
  }
  finishTransfer(c, 0, 'sysenter');
}
define(Mnemonic.Sysenter, () => sysenter);

function sysexit(c: Cpu, to64: boolean): void {
  const cs = fastMsrs(c).sysenterCsLo & 0xffff;
  if (!(c.cr0 & 1) || (cs & 0xfffc) === 0 || c.cpl !== 0) throw new CpuFault(GP, 0);
  let target: number;
  if (to64) {
    if (!canonicalHi(c.rh[RCX]!) || !canonicalHi(c.rh[RDX]!)) throw new CpuFault(GP, 0);
    target = pairNumber(c.rl[RDX]!, c.rh[RDX]!);
    c.rl[RSP] = c.rl[RCX]!; c.rh[RSP] = c.rh[RCX]!;
  } else {
    target = c.rl[RDX]! >>> 0;
    c.rl[RSP] = c.rl[RCX]!; c.rh[RSP] = 0;
  }
  const csSel = ((cs + (to64 ? 32 : 16)) | 3) & 0xffff;
  c.setSegment(CS, csSel, 0, FLAT, AR_CODE | DPL3 | (to64 ? AR_L : AR_DB));
  c.setSegment(SS, (csSel + 8) & 0xffff, 0, FLAT, AR_STACK | DPL3);
  c.nextRip = target;
  finishTransfer(c, 3, 'sysexit');
}
define(Mnemonic.Sysexit, () => (c) => sysexit(c, false));
define(Mnemonic.Sysexitq, () => (c) => sysexit(c, true));

define(Mnemonic.Swapgs, () => (c) => {
  if (c.bits !== 64) throw new CpuFault(UD);
  if (c.cpl !== 0) throw new CpuFault(GP, 0);
  const m = fastMsrs(c);
  const cur = c.segBase[GS]!;
  c.segBase[GS] = pairNumber(m.kernelGsLo, m.kernelGsHi);
  m.kernelGsLo = ripLo(cur); m.kernelGsHi = ripHi(cur);
});
