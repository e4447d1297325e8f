// Loading data and stack segment registers (MOV Sreg, POP Sreg, LDS/LES/LFS/
// LGS/LSS) with the protected-mode checks of the SDM's MOV instruction page:
// null selectors, table limits, descriptor types, privilege (RPL, CPL, DPL)
// and presence, and the accessed bit. Real and VM86 mode load base = sel × 16.

import type { Cpu } from './cpu';
import { CpuFault, GP, NP, SS as SS_VEC } from './fault';
import { CS, SS, FS, GS } from './regs';
import { readDescriptor, markAccessed } from './descriptors';
import {
  arFromDescriptor, baseFromDescriptor, limitFromDescriptor, arDpl, AR_S, AR_P, AR_UNUSABLE,
  TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE, TYPE_WRITABLE,
} from './segdesc';
import { VM } from './flags';

export function loadSegment(cpu: Cpu, s: number, sel: number): void {
  sel &= 0xffff;
  if (s === CS) throw new CpuFault(6); // MOV CS is #UD; far transfers load CS elsewhere
  if (!(cpu.cr0 & 1) || (cpu.flags & VM)) {
    cpu.setSegReal(s, sel);
    if (s === SS) cpu.updateMode();
    return;
  }
  const rpl = sel & 3;
  const cpl = cpu.cpl;
  if ((sel & 0xfffc) === 0) {
    if (s === SS) {
      // 64-bit mode allows a null SS at CPL < 3 when RPL = CPL.
      if (!(cpu.bits === 64 && cpl < 3 && rpl === cpl)) throw new CpuFault(GP, 0);
      cpu.setSegment(SS, sel, 0, 0, AR_UNUSABLE | (cpl << 5));
      cpu.updateMode();
      return;
    }
    // A null data segment loads fine and faults on use.
    const keepBase = cpu.bits === 64 && (s === FS || s === GS) ? 0 : 0;
    cpu.setSegment(s, sel, keepBase, 0, AR_UNUSABLE);
    return;
  }
  const d = readDescriptor(cpu, sel);
  const ar = arFromDescriptor(d.hi);
  const dpl = arDpl(ar);
  if (s === SS) {
    if (rpl !== cpl || !(ar & AR_S) || (ar & TYPE_CODE) || !(ar & TYPE_WRITABLE) || dpl !== cpl) {
      throw new CpuFault(GP, sel & 0xfffc);
    }
    if (!(ar & AR_P)) throw new CpuFault(SS_VEC, sel & 0xfffc);
  } else {
    if (!(ar & AR_S) || ((ar & TYPE_CODE) && !(ar & TYPE_READABLE))) throw new CpuFault(GP, sel & 0xfffc);
    const conformingCode = (ar & TYPE_CODE) && (ar & TYPE_CONFORMING);
    if (!conformingCode && (rpl > dpl || cpl > dpl)) throw new CpuFault(GP, sel & 0xfffc);
    if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
  }
  markAccessed(cpu, d);
  cpu.setSegment(s, sel, baseFromDescriptor(d.lo, d.hi), limitFromDescriptor(d.lo, d.hi), ar | 1);
  if (s === SS) cpu.updateMode();
}
