// Snippet layouts for the ring-transition tests: code at offset 0 (label
// `start`), then a GDT at +0x800, an IDT at +0x1000 and a TSS at +0x2000,
// all assembled into the snippet; setup functions point GDTR/IDTR/TR and the
// fast-system-call MSRs at them.
//
// 64-bit GDT (Linux-like): 0x08 kernel code64, 0x10 kernel data, 0x18 user
// code32, 0x20 user data, 0x28 user code64, 0x30 TSS (16 bytes), 0x40 a
// not-present code segment, 0x48 a DPL-3 64-bit call gate to 0x08:cg_entry
// (16 bytes), 0x58 kernel code32. STAR = 0x0018_0008 << 32: SYSCALL loads
// CS 0x08 / SS 0x10, SYSRET CS 0x2b (64-bit) or 0x1b (32-bit) / SS 0x23.
//
// 32-bit GDT: 0x08 kernel code, 0x10 kernel data, 0x18 user code, 0x20 user
// data, 0x28 TSS, 0x30 DPL-3 32-bit call gate to 0x08:cg_entry copying two
// dwords, 0x38 a not-present code segment, 0x40 a DPL-0 32-bit call gate to
// 0x08:jg_target. SYSENTER_CS = 0x08: SYSEXIT loads CS 0x1b / SS 0x23.

import type { Cpu } from '../../src/engine/x86/cpu';
import { CODE_ADDR } from './cpu-harness';
import { CS } from '../../src/engine/x86/regs';
import { DESCRIPTOR_MACROS, loadTables } from './ring-harness';
import {
  setMsrRaw, MSR_STAR, MSR_LSTAR, MSR_FMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
} from '../../src/engine/x86/msr-store';

export const GDT = CODE_ADDR + 0x800, IDT = CODE_ADDR + 0x1000, TSS = CODE_ADDR + 0x2000;
/** Ring-0 stack from the TSS (RSP0 / ESP0) and the IST1 stack. */
export const RSP0 = 0x1f0000, IST1 = 0x1e8000;
/** Scratch area the snippets record into. */
export const OUT = 0x200000;

export type Vectors = Record<number, string | [string, number]>;

function idtEntries(vectors: Vectors, size: 8 | 16): string {
  const lines: string[] = [];
  for (const v of Object.keys(vectors).map(Number).sort((a, b) => a - b)) {
    const e = vectors[v]!;
    const [handler, dpl] = typeof e === 'string' ? [e, 0] : e;
    lines.push(`.org 0x1000 + ${v * size}`);
    lines.push(size === 16 ? `GATE64 ${handler}, ${dpl}` : `GATE32 ${handler}, ${dpl}`);
  }
  return lines.join('\n');
}

/** A long-mode snippet: `code` (starting at label start), then the tables. */
export function long64(code: string, vectors: Vectors, callGate = 'unused'): string {
  return `${DESCRIPTOR_MACROS}
start:
${code}
unused:
  hlt
.org 0x800
gdt:
  .quad 0
  .quad 0x00af9b000000ffff
  .quad 0x00cf93000000ffff
  .quad 0x00cffb000000ffff
  .quad 0x00cff3000000ffff
  .quad 0x00affb000000ffff
  SEG ${TSS}, 0x67, 0x89, 0
  .quad 0
  .quad 0x00af1b000000ffff
  CALLGATE64 ${callGate}, 3
  .quad 0x00cf9b000000ffff
${idtEntries(vectors, 16)}
.org 0x2000
  .long 0
  .quad ${RSP0}
  .quad 0, 0, 0
  .quad ${IST1}
.org 0x2080
`;
}

export function setupLong64(cpu: Cpu, sym: (n: string) => number, lstar = 'unused'): void {
  loadTables(cpu, { gdt: GDT, gdtLimit: 0x5f, idt: IDT, idtLimit: 0xfff, tss: TSS, tssSel: 0x30, tssLimit: 0x67 });
  setMsrRaw(cpu, MSR_STAR, 0, 0x00180008);
  setMsrRaw(cpu, MSR_LSTAR, sym(lstar), 0);
  setMsrRaw(cpu, MSR_FMASK, 0x700, 0); // TF, IF, DF
  cpu.efer |= 1; // SCE
}

/** A 32-bit protected-mode snippet: `code`, then the tables. */
export function prot32(code: string, vectors: Vectors, labels: { callGate?: string; jmpGate?: string } = {}): string {
  return `${DESCRIPTOR_MACROS}
start:
${code}
unused:
  hlt
.org 0x800
gdt:
  .quad 0
  .quad 0x00cf9b000000ffff
  .quad 0x00cf93000000ffff
  .quad 0x00cffb000000ffff
  .quad 0x00cff3000000ffff
  SEG ${TSS}, 0x67, 0x89, 0
  GATE32 ${labels.callGate ?? 'unused'}, 3, 0xc, 0x08, 2
  .quad 0x00cf1b000000ffff
  GATE32 ${labels.jmpGate ?? 'unused'}, 0, 0xc, 0x08, 0
${idtEntries(vectors, 8)}
.org 0x2000
  .long 0
  .long ${RSP0}
  .long 0x10
.org 0x2068
`;
}

export function setupProt32(cpu: Cpu, sym: (n: string) => number, sysenter = 'unused'): void {
  loadTables(cpu, { gdt: GDT, gdtLimit: 0x47, idt: IDT, idtLimit: 0x7ff, tss: TSS, tssSel: 0x28, tssLimit: 0x67 });
  // The boot CS is selector 0x18 of the boot GDT; here 0x08 is the same flat ring-0 code segment.
  cpu.segSel[CS] = 0x08;
  setMsrRaw(cpu, MSR_SYSENTER_CS, 0x08, 0);
  setMsrRaw(cpu, MSR_SYSENTER_ESP, 0x1e0000, 0);
  setMsrRaw(cpu, MSR_SYSENTER_EIP, sym(sysenter), 0);
}
