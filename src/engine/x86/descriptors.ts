// Reading descriptors from the GDT/LDT and stacks from the TSS, with the
// checks the SDM attaches to each read (selector beyond the table limit, null
// selectors). Used by segment loads, far transfers, interrupt delivery and
// task-register loads.

import type { Cpu } from './cpu';
import { CpuFault, GP } from './fault';
import { LDTR, TR } from './regs';

export interface Descriptor {
  lo: number;
  hi: number;
  /** Linear address of the descriptor (to set the accessed/busy bits). */
  addr: number;
}

/** Linear address of the descriptor table entry for `sel`, or -1 when beyond the limit. */
export function descriptorAddr(cpu: Cpu, sel: number): number {
  const index = sel & 0xfff8;
  if (sel & 4) {
    if (cpu.segLo[LDTR]! > cpu.segHi[LDTR]! || cpu.segSel[LDTR] === 0) return -1;
    if (index + 7 > cpu.segLimit[LDTR]!) return -1;
    return tableAddr(cpu, cpu.segBase[LDTR]!, index);
  }
  if (index + 7 > cpu.gdtrLimit) return -1;
  return tableAddr(cpu, cpu.gdtrBase, index);
}

function tableAddr(cpu: Cpu, base: number, index: number): number {
  const la = base + index;
  if (cpu.longMode) return la < 0 ? la + 2 ** 48 : la % 2 ** 48;
  return la % 0x1_0000_0000;
}

/** Reads the 8-byte descriptor for `sel`; #GP(sel) (or the given vector) when outside the table. */
export function readDescriptor(cpu: Cpu, sel: number, vector = GP): Descriptor {
  const addr = descriptorAddr(cpu, sel);
  if (addr < 0) throw new CpuFault(vector, sel & 0xfffc);
  return { lo: cpu.readSys32(addr), hi: cpu.readSys32(addr + 4), addr };
}

/** Upper 8 bytes of a 16-byte system descriptor in long mode (TSS, LDT, call gate). */
export function readDescriptorHigh(cpu: Cpu, d: Descriptor, sel: number): number {
  const addr2 = descriptorAddr(cpu, (sel & 0xfff8) + 8 | (sel & 4));
  if (addr2 < 0) throw new CpuFault(GP, sel & 0xfffc);
  return cpu.readSys32(addr2);
}

/** Sets the accessed bit of a code/data descriptor, as the CPU does on load. */
export function markAccessed(cpu: Cpu, d: Descriptor): void {
  if (!(d.hi & 0x100)) {
    d.hi |= 0x100;
    cpu.writeSys32(d.addr + 4, d.hi);
  }
}

/** Stack pointer and selector for privilege level `dpl` from the current TSS. */
export function tssStack(cpu: Cpu, dpl: number): { ss: number; spLo: number; spHi: number } {
  const base = cpu.segBase[TR]!;
  const limit = cpu.segLimit[TR]!;
  const is32 = (cpu.segAttr[TR]! & 0xf) === 11 || (cpu.segAttr[TR]! & 0xf) === 9;
  if (cpu.longMode) {
    const off = 4 + dpl * 8;
    if (off + 7 > limit) throw new CpuFault(10, cpu.segSel[TR]! & 0xfffc);
    const la = base + off;
    return { ss: 0, spLo: cpu.readSys32(la), spHi: cpu.readSys32(la + 4) };
  }
  if (is32) {
    const off = 4 + dpl * 8;
    if (off + 5 > limit) throw new CpuFault(10, cpu.segSel[TR]! & 0xfffc);
    const la = (base + off) % 0x1_0000_0000;
    return { ss: cpu.readSys16(la + 4), spLo: cpu.readSys32(la), spHi: 0 };
  }
  const off = 2 + dpl * 4;
  if (off + 3 > limit) throw new CpuFault(10, cpu.segSel[TR]! & 0xfffc);
  const la = (base + off) % 0x1_0000_0000;
  return { ss: cpu.readSys16(la + 2), spLo: cpu.readSys16(la), spHi: 0 };
}

/** IST entry n (1..7) of the 64-bit TSS. */
export function tssIst(cpu: Cpu, n: number): { lo: number; hi: number } {
  const off = 0x24 + (n - 1) * 8;
  if (off + 7 > cpu.segLimit[TR]!) throw new CpuFault(10, cpu.segSel[TR]! & 0xfffc);
  const la = cpu.segBase[TR]! + off;
  return { lo: cpu.readSys32(la), hi: cpu.readSys32(la + 4) };
}
