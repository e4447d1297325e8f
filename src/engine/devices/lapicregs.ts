// Local APIC register map and the shared xAPIC page.
//
// Registers are numbered by index = xAPIC MMIO offset >> 4, which is also the
// x2APIC MSR number - 0x800 (SDM "x2APIC Register Address Space"). QEMU's
// model: version 0x00050014 (APIC version 0x14, six LVT entries: timer,
// thermal, performance, LINT0, LINT1, error; no CMCI, no EOI-broadcast
// suppression).

import type { MmioHandler } from '../mmu/physmem';

export const APIC_DEFAULT_BASE = 0xfee00000;
export const APIC_MMIO_SIZE = 0x1000;
export const APIC_VERSION = 0x00050014;

export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
export const MSR_X2APIC_FIRST = 0x800;
export const MSR_X2APIC_LAST = 0x8ff;

/** IA32_APIC_BASE flags. */
export const BASE_BSP = 1 << 8;
export const BASE_EXTD = 1 << 10;
export const BASE_EN = 1 << 11;

export const R_ID = 0x02;
export const R_VERSION = 0x03;
export const R_TPR = 0x08;
export const R_APR = 0x09;
export const R_PPR = 0x0a;
export const R_EOI = 0x0b;
export const R_RRD = 0x0c;
export const R_LDR = 0x0d;
export const R_DFR = 0x0e;
export const R_SVR = 0x0f;
export const R_ISR = 0x10; // 8 registers
export const R_TMR = 0x18; // 8 registers
export const R_IRR = 0x20; // 8 registers
export const R_ESR = 0x28;
export const R_ICR_LO = 0x30;
export const R_ICR_HI = 0x31;
export const R_LVT_FIRST = 0x32;
export const R_LVT_LAST = 0x37;
export const R_TIMER_INIT = 0x38;
export const R_TIMER_CUR = 0x39;
export const R_TIMER_DIV = 0x3e;
export const R_SELF_IPI = 0x3f; // x2APIC only

/** LVT entry positions (register R_LVT_FIRST + n). */
export const LVT_TIMER = 0;
export const LVT_LINT0 = 3;
export const LVT_LINT1 = 4;
export const LVT_ERROR = 5;
export const LVT_MASKED = 1 << 16;
export const LVT_LEVEL = 1 << 15;
export const LVT_REMOTE_IRR = 1 << 14;

/** Writable bits per LVT entry (vector, delivery mode, polarity, trigger, mask, timer mode). */
export const LVT_WRITABLE = [0x000700ff, 0x000107ff, 0x000107ff, 0x0001a7ff, 0x0001a7ff, 0x000100ff] as const;

export const SVR_ENABLE = 0x100;
/** Writable ICR low bits: vector, delivery mode, destination mode, level, trigger, shorthand. */
export const ICR_LO_WRITABLE = 0x000cdfff;
export const ICR_DELIVERY_STATUS = 1 << 12;

export const ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const ESR_RECV_ILLEGAL_VECTOR = 0x40;
export const ESR_ILLEGAL_REGISTER = 0x80;

/** Reused out-parameter for MSR reads (no allocation per RDMSR). */
export interface MsrValue {
  lo: number;
  hi: number;
}

/** What the shared page needs from one CPU's local APIC. */
export interface XapicPage {
  mmioRead(offset: number, size: 1 | 2 | 4): number;
  mmioWrite(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** The xAPIC page at 0xFEE00000: every CPU sees its own local APIC there. */
export class ApicMmio implements MmioHandler {
  readonly name = 'lapic';

  constructor(
    private readonly apics: readonly XapicPage[],
    private readonly currentCpu: () => number,
  ) {}

  read(offset: number, size: 1 | 2 | 4): number {
    const apic = this.apics[this.currentCpu()];
    return apic ? apic.mmioRead(offset, size) : 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.apics[this.currentCpu()]?.mmioWrite(offset, size, value);
  }
}
