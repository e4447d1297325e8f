// Harness for system-level snippets (descriptor tables, privilege changes):
// like cpu-harness's runCode, but it records the vCPU's ring/mode/exception
// events, returns the snippet's symbol addresses, lets the test prepare what
// the snippet cannot without other system instructions (GDTR, IDTR, TR,
// MSRs) and, in long mode, marks the boot identity map user-accessible so
// ring-3 code can run anywhere.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhysicalMemory } from '../../src/engine/mmu/physmem';
import { IoBus } from '../../src/engine/devices/bus';
import { Cpu, Exit, type CpuEvents } from '../../src/engine/x86/cpu';
import { bootLong64, bootProtected32, bootReal, BOOT_PML4 } from '../../src/engine/boot';
import { AR_P } from '../../src/engine/x86/segdesc';
import { TR } from '../../src/engine/x86/regs';
import { CODE_ADDR, getReg, setReg, type Mode } from './cpu-harness';

export interface RingRecord { from: number; to: number; via: string }
export interface ExceptionRecord { vector: number; errorCode: number }

export interface SysRun {
  cpu: Cpu;
  exit: Exit;
  rings: RingRecord[];
  modes: string[];
  exceptions: ExceptionRecord[];
  /** Address of a label in the snippet (as linked at CODE_ADDR). */
  sym(name: string): number;
  reg(name: string): bigint;
  u16(addr: number): number;
  u32(addr: number): number;
  u64(addr: number): bigint;
}

export interface SysOptions {
  /** Runs after boot, before the first instruction: load tables, MSRs, registers. */
  setup?: (cpu: Cpu, sym: (name: string) => number) => void;
  regs?: Record<string, bigint | number>;
  limit?: number;
}

/** Assembles like cpu-harness's assemble(), also returning the symbol table. */
export function assembleWithSymbols(src: string, mode: Mode): { bytes: Uint8Array; symbols: Map<string, number> } {
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-sys-'));
  try {
    const code = mode === 'long64' ? '.code64' : mode === 'prot32' ? '.code32' : '.code16';
    writeFileSync(join(dir, 'a.s'), `.intel_syntax noprefix\n${code}\n${src}\n`);
    execFileSync('as', ['--64', '-o', join(dir, 'a.o'), join(dir, 'a.s')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext', '0x' + CODE_ADDR.toString(16), '-e', '0',
      '-o', join(dir, 'a.elf'), join(dir, 'a.o')], { stdio: 'pipe' });
    execFileSync('objcopy', ['-O', 'binary', join(dir, 'a.elf'), join(dir, 'a.bin')], { stdio: 'pipe' });
    const symbols = new Map<string, number>();
    const nm = execFileSync('nm', [join(dir, 'a.elf')], { encoding: 'utf8' });
    for (const line of nm.split('\n')) {
      const m = /^([0-9a-f]+) \w (\S+)$/.exec(line.trim());
      if (m) symbols.set(m[2]!, parseInt(m[1]!, 16));
    }
    return { bytes: new Uint8Array(readFileSync(join(dir, 'a.bin'))), symbols };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runSystem(src: string, mode: Mode, opts: SysOptions = {}): SysRun {
  const { bytes, symbols } = assembleWithSymbols(src, mode);
  const sym = (name: string): number => {
    const v = symbols.get(name);
    if (v === undefined) throw new Error(`no symbol ${name}`);
    return v;
  };
  const mem = new PhysicalMemory(16 * 1024 * 1024);
  const cpu = new Cpu(0, mem, new IoBus());
  mem.onCodeWrite = (p, a, n) => cpu.invalidateCodePage(p, a, n);
  mem.load(CODE_ADDR, bytes);
  if (mode === 'long64') {
    bootLong64(cpu, CODE_ADDR);
    markUser(cpu);
  } else if (mode === 'prot32') {
    bootProtected32(cpu, CODE_ADDR);
  } else {
    mem.load(0x10000, bytes);
    bootReal(cpu, 0x1000, 0);
  }
  const rings: RingRecord[] = [];
  const modes: string[] = [];
  const exceptions: ExceptionRecord[] = [];
  const events: CpuEvents = {
    ring: (_c, from, to, via) => { rings.push({ from, to, via }); },
    mode: (_c, from, to) => { modes.push(`${from}->${to}`); },
    exception: (_c, vector, errorCode) => { exceptions.push({ vector, errorCode }); },
  };
  cpu.events = events;
  for (const [name, v] of Object.entries(opts.regs ?? {})) setReg(cpu, name, BigInt(v));
  opts.setup?.(cpu, sym);
  const exit = cpu.run(opts.limit ?? 100000);
  const view = new DataView(mem.bytes.buffer, mem.bytes.byteOffset, mem.bytes.byteLength);
  return {
    cpu, exit, rings, modes, exceptions, sym,
    reg: (name) => getReg(cpu, name),
    u16: (a) => view.getUint16(a, true),
    u32: (a) => view.getUint32(a, true),
    u64: (a) => view.getBigUint64(a, true),
  };
}

/** Sets U/S in every level of the boot identity map (PML4[0], the PDPT, the four page directories). */
function markUser(cpu: Cpu): void {
  const m = cpu.mem;
  m.write32(BOOT_PML4, m.read32(BOOT_PML4) | 4);
  for (let i = 0; i < 4; i++) m.write32(BOOT_PML4 + 0x1000 + i * 8, m.read32(BOOT_PML4 + 0x1000 + i * 8) | 4);
  for (let i = 0; i < 4 * 512; i++) {
    const e = BOOT_PML4 + 0x2000 + i * 8;
    m.write32(e, m.read32(e) | 4);
  }
  cpu.flushTlb(true);
}

/** Points GDTR, IDTR and TR at tables the snippet built. `tssType` is 11 (busy 32/64-bit TSS). */
export function loadTables(cpu: Cpu, t: {
  gdt: number; gdtLimit: number; idt: number; idtLimit: number; tss?: number; tssSel?: number; tssLimit?: number;
}): void {
  cpu.gdtrBase = t.gdt; cpu.gdtrLimit = t.gdtLimit;
  cpu.idtrBase = t.idt; cpu.idtrLimit = t.idtLimit;
  if (t.tss !== undefined) cpu.setSegment(TR, t.tssSel ?? 0, t.tss, t.tssLimit ?? 0x67, AR_P | 11);
}

/** GNU as macros for descriptors and gates; handler addresses are resolved through `start` (offset 0). */
export const DESCRIPTOR_MACROS = `
.macro GATE64 handler, dpl=0, type=0xe, ist=0, sel=0x08
  .word ((\\handler - start + ${CODE_ADDR}) & 0xffff)
  .word \\sel
  .byte \\ist
  .byte (0x80 | (\\dpl << 5) | \\type)
  .word (((\\handler - start + ${CODE_ADDR}) >> 16) & 0xffff)
  .long 0
  .long 0
.endm
.macro GATE32 handler, dpl=0, type=0xe, sel=0x08, count=0
  .word ((\\handler - start + ${CODE_ADDR}) & 0xffff)
  .word \\sel
  .byte \\count
  .byte (0x80 | (\\dpl << 5) | \\type)
  .word (((\\handler - start + ${CODE_ADDR}) >> 16) & 0xffff)
.endm
.macro CALLGATE64 handler, dpl=3, sel=0x08
  GATE64 \\handler, \\dpl, 0xc, 0, \\sel
.endm
.macro SEG base, limit, access, flags
  .word (\\limit & 0xffff)
  .word (\\base & 0xffff)
  .byte ((\\base >> 16) & 0xff)
  .byte \\access
  .byte (((\\limit >> 16) & 0xf) | (\\flags << 4))
  .byte ((\\base >> 24) & 0xff)
.endm
`;

/** Address as a hex string (for messages). */
export const hex = (v: number | bigint): string => '0x' + v.toString(16);
