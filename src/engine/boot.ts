// CPU and memory state at the first guest instruction, per boot protocol:
// - reset: real mode at F000:FFF0 (the image is the ROM ending at 4 GiB);
// - multiboot: 32-bit protected mode, paging off, flat segments,
//   EAX = 0x2BADB002, EBX = Multiboot info (Multiboot v1 spec, "Machine state");
// - long64 / flat64: 64-bit long mode with the first 4 GiB identity-mapped
//   by 2 MiB pages, and the structures below in low memory.
//
// Low-memory layout vmscope builds (documented for users; the Multiboot
// memory map marks 0x0-0x9FBFF available, so a kernel may reuse it):
//   0x6000  GDT: 0x00 null, 0x08 64-bit code, 0x10 data, 0x18 32-bit code
//   0x7000  PML4, 0x8000 PDPT, 0x9000-0xCFFF four page directories
//   0x7FFF0 initial RSP/ESP for long64 and flat64 entries
//   0x9000  Multiboot info structure (multiboot only; the page tables are not built then)

import type { Cpu } from './x86/cpu';
import { CS, DS, ES, FS, GS, SS, TR, LDTR, RSP, RAX, RBX } from './x86/regs';
import { AR_P, AR_S, AR_DB, AR_G, AR_L, TYPE_CODE, TYPE_READABLE, TYPE_WRITABLE, TYPE_ACCESSED } from './x86/segdesc';
import { EFER_LMA, EFER_LME, CR0_PE, CR0_PG, CR4_PAE, EFER_NXE } from './mmu/paging';

export const BOOT_GDT = 0x6000;
export const BOOT_PML4 = 0x7000;
export const BOOT_STACK = 0x7fff0;
export const MULTIBOOT_INFO = 0x9000;
export const SEL_CODE64 = 0x08, SEL_DATA = 0x10, SEL_CODE32 = 0x18;

const AR_CODE32 = AR_P | AR_S | TYPE_CODE | TYPE_READABLE | TYPE_ACCESSED | AR_DB | AR_G;
const AR_CODE64 = AR_P | AR_S | TYPE_CODE | TYPE_READABLE | TYPE_ACCESSED | AR_L | AR_G;
const AR_DATA = AR_P | AR_S | TYPE_WRITABLE | TYPE_ACCESSED | AR_DB | AR_G;

function writeGdt(cpu: Cpu): void {
  const m = cpu.mem;
  const put = (sel: number, lo: number, hi: number) => { m.write32(BOOT_GDT + sel, lo); m.write32(BOOT_GDT + sel + 4, hi); };
  put(0, 0, 0);
  put(SEL_CODE64, 0x0000ffff, 0x00af9b00); // L=1, P, DPL0, code RX accessed
  put(SEL_DATA, 0x0000ffff, 0x00cf9300);   // flat 4 GiB data RW accessed
  put(SEL_CODE32, 0x0000ffff, 0x00cf9b00); // flat 4 GiB 32-bit code
  cpu.gdtrBase = BOOT_GDT;
  cpu.gdtrLimit = 0x1f;
}

function flatData(cpu: Cpu): void {
  for (const s of [DS, ES, FS, GS, SS]) cpu.setSegment(s, SEL_DATA, 0, 0xffffffff, AR_DATA);
  cpu.setSegment(TR, 0, 0, 0xffff, AR_P | 11);
  cpu.setSegment(LDTR, 0, 0, 0xffff, AR_P | 2);
}

/** Multiboot v1 entry state. */
export function bootMultiboot(cpu: Cpu, entry: number, infoAddr: number): void {
  cpu.reset();
  writeGdt(cpu);
  cpu.cr0 = (cpu.cr0 | CR0_PE) & ~CR0_PG;
  cpu.setSegment(CS, SEL_CODE32, 0, 0xffffffff, AR_CODE32);
  flatData(cpu);
  cpu.rflags = 2; // IF and VM clear, as the spec requires
  cpu.rl[RAX] = 0x2badb002;
  cpu.rl[RBX] = infoAddr;
  cpu.rl[RSP] = 0; // the spec leaves ESP undefined; the OS must set up its own stack
  cpu.rip = entry >>> 0;
  cpu.flushTlb(true);
  cpu.updateMode();
}

/** Builds the identity map of the first 4 GiB with 2 MiB pages (PML4 → 1 PDPT → 4 PDs). */
export function buildIdentityMap(cpu: Cpu): void {
  const m = cpu.mem;
  for (let a = BOOT_PML4; a < BOOT_PML4 + 6 * 4096; a += 4) m.write32(a, 0);
  m.write32(BOOT_PML4, (BOOT_PML4 + 0x1000) | 3);
  for (let i = 0; i < 4; i++) m.write32(BOOT_PML4 + 0x1000 + i * 8, (BOOT_PML4 + 0x2000 + i * 0x1000) | 3);
  for (let i = 0; i < 4 * 512; i++) {
    const pa = i * 0x200000;
    const e = BOOT_PML4 + 0x2000 + i * 8;
    m.write32(e, (pa % 0x1_0000_0000) | 0x83); // P, W, PS
    m.write32(e + 4, Math.floor(pa / 0x1_0000_0000));
  }
}

/** 64-bit long mode entry at `rip` (signed canonical number). */
export function bootLong64(cpu: Cpu, rip: number): void {
  cpu.reset();
  writeGdt(cpu);
  buildIdentityMap(cpu);
  cpu.cr3lo = BOOT_PML4; cpu.cr3hi = 0;
  cpu.cr4 = CR4_PAE;
  cpu.efer = EFER_LME | EFER_LMA | EFER_NXE;
  cpu.cr0 = cpu.cr0 | CR0_PE | CR0_PG;
  cpu.setSegment(CS, SEL_CODE64, 0, 0xffffffff, AR_CODE64);
  flatData(cpu);
  cpu.rflags = 2;
  cpu.rl[RSP] = BOOT_STACK; cpu.rh[RSP] = 0;
  cpu.rip = rip;
  cpu.flushTlb(true);
  cpu.updateMode();
}

/** 32-bit protected mode, paging off, flat (used by tests and flat 32-bit images). */
export function bootProtected32(cpu: Cpu, eip: number): void {
  bootMultiboot(cpu, eip, 0);
  cpu.rl[RAX] = 0; cpu.rl[RBX] = 0;
  cpu.rl[RSP] = BOOT_STACK;
}

/** Real mode at CS:IP. */
export function bootReal(cpu: Cpu, cs: number, ip: number): void {
  cpu.reset();
  cpu.setSegment(CS, cs, cs * 16, 0xffff, cpu.segAttr[CS]!);
  cpu.rip = ip;
  cpu.updateMode();
}

export { EFER_NXE };
