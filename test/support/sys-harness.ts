// Helpers for system-instruction tests: a vCPU that can be run in phases
// (set up at CPL 0, then continue at CPL 3 from a state the test sets
// directly), descriptor and gate encoders, and assembly fragments that
// install IDT gates from inside a snippet.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhysicalMemory } from '../../src/engine/mmu/physmem';
import { IoBus, type IoSize, type PortDevice } from '../../src/engine/devices/bus';
import { Cpu, Exit } from '../../src/engine/x86/cpu';
import { bootLong64, bootProtected32 } from '../../src/engine/boot';
import { CS, SS, DS, ES, FS, GS } from '../../src/engine/x86/regs';
import { AR_P, AR_S, AR_DB, AR_G, TYPE_CODE, TYPE_READABLE, TYPE_WRITABLE, TYPE_ACCESSED } from '../../src/engine/x86/segdesc';
import { CODE_ADDR, getReg, setReg, type Mode } from './cpu-harness';

/** Like cpu-harness assemble(), also returning the address of every label (global or local names). */
export function assembleWithLabels(src: string, mode: Exclude<Mode, 'real'>): { code: Uint8Array; at: Record<string, number> } {
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-sys-'));
  try {
    const bits = mode === 'long64' ? '.code64' : '.code32';
    writeFileSync(join(dir, 'a.s'), `.intel_syntax noprefix\n${bits}\n${src}\n`);
    execFileSync('as', ['--64', '-o', join(dir, 'a.o'), join(dir, 'a.s')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext', '0x' + CODE_ADDR.toString(16), '-e', '0', '-o', join(dir, 'a.elf'), join(dir, 'a.o')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext', '0x' + CODE_ADDR.toString(16), '--oformat', 'binary', '-e', '0', '-o', join(dir, 'a.bin'), join(dir, 'a.o')], { stdio: 'pipe' });
    const at: Record<string, number> = {};
    for (const line of execFileSync('nm', [join(dir, 'a.elf')], { encoding: 'utf8' }).split('\n')) {
      const m = /^([0-9a-f]+) \w (\S+)$/.exec(line.trim());
      if (m) at[m[2]!] = parseInt(m[1]!, 16);
    }
    return { code: new Uint8Array(readFileSync(join(dir, 'a.bin'))), at };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Vm {
  cpu: Cpu;
  mem: PhysicalMemory;
  io: IoBus;
  /** Runs until HLT (clears a previous halt first). */
  run(limit?: number): Exit;
  reg(name: string): bigint;
  u32(addr: number): number;
  u16(addr: number): number;
}

export function makeVm(code: Uint8Array, mode: Exclude<Mode, 'real'>, opts: {
  data?: { addr: number; bytes: Uint8Array }[];
  regs?: Record<string, bigint | number>;
} = {}): Vm {
  const mem = new PhysicalMemory(16 * 1024 * 1024);
  const io = new IoBus();
  const cpu = new Cpu(0, mem, io);
  mem.onCodeWrite = (p, a, n) => cpu.invalidateCodePage(p, a, n);
  mem.load(CODE_ADDR, code);
  for (const d of opts.data ?? []) mem.load(d.addr, d.bytes);
  if (mode === 'long64') bootLong64(cpu, CODE_ADDR); else bootProtected32(cpu, CODE_ADDR);
  for (const [name, v] of Object.entries(opts.regs ?? {})) setReg(cpu, name, BigInt(v));
  return {
    cpu, mem, io,
    run: (limit = 100000) => { cpu.halted = false; return cpu.run(limit); },
    reg: (name) => getReg(cpu, name),
    u32: (addr) => mem.read32(addr) >>> 0,
    u16: (addr) => mem.read16(addr),
  };
}

/** Flat 32-bit ring-3 state: CS = codeSel, SS/DS/ES/FS/GS = dataSel (both with RPL 3), CPL 3, at `eip`. */
export function enterRing3(cpu: Cpu, eip: number, codeSel: number, dataSel: number, esp: number): void {
  const code = AR_P | AR_S | TYPE_CODE | TYPE_READABLE | TYPE_ACCESSED | AR_DB | AR_G | (3 << 5);
  const data = AR_P | AR_S | TYPE_WRITABLE | TYPE_ACCESSED | AR_DB | AR_G | (3 << 5);
  cpu.setSegment(CS, codeSel | 3, 0, 0xffffffff, code);
  for (const s of [SS, DS, ES, FS, GS]) cpu.setSegment(s, dataSel | 3, 0, 0xffffffff, data);
  cpu.rl[4] = esp;
  cpu.rip = eip;
  cpu.setCpl(3);
  cpu.updateMode();
}

/** An 8-byte segment descriptor: access byte (P DPL S type) and flags nibble (G D/B L AVL). */
export function descriptor(base: number, limit: number, access: number, flags: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, limit & 0xffff, true);
  dv.setUint16(2, base & 0xffff, true);
  b[4] = (base >>> 16) & 0xff;
  b[5] = access;
  b[6] = ((flags & 0xf) << 4) | ((limit >>> 16) & 0xf);
  b[7] = (base >>> 24) & 0xff;
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Pseudo-descriptor (limit, 32-bit base) for LGDT/LIDT in 32-bit code. */
export function pseudo32(limit: number, base: number): Uint8Array {
  const b = new Uint8Array(6);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, limit, true);
  dv.setUint32(2, base >>> 0, true);
  return b;
}

/**
 * Assembly (Intel syntax) that writes a 32-bit interrupt gate for `vector`
 * into the IDT at `idt`, pointing at `label` through selector `sel`. Clobbers EAX.
 */
export function gate32Asm(idt: number, vector: number, label: string, sel: number, dpl = 0): string {
  const at = idt + vector * 8;
  return `
    mov eax, offset ${label}
    mov word ptr [${at}], ax
    shr eax, 16
    mov word ptr [${at + 6}], ax
    mov word ptr [${at + 2}], ${sel}
    mov word ptr [${at + 4}], ${0x8e00 | (dpl << 13)}`;
}

/** The same for a 64-bit interrupt gate (handler below 4 GiB). Clobbers EAX. */
export function gate64Asm(idt: number, vector: number, label: string, sel: number): string {
  const at = idt + vector * 16;
  return `
    mov eax, offset ${label}
    mov word ptr [${at}], ax
    shr eax, 16
    mov word ptr [${at + 6}], ax
    mov word ptr [${at + 2}], ${sel}
    mov word ptr [${at + 4}], 0x8e00
    mov dword ptr [${at + 8}], 0
    mov dword ptr [${at + 12}], 0`;
}

/** A port device recording every access; reads return `value(port, size)`. */
export class RecordingDevice implements PortDevice {
  readonly name = 'test-port';
  readonly log: string[] = [];
  constructor(private readonly value: (port: number, size: IoSize) => number = (p) => p & 0xff) {}
  in(port: number, size: IoSize): number {
    const v = this.value(port, size);
    this.log.push(`in${size * 8} 0x${port.toString(16)} -> 0x${(v >>> 0).toString(16)}`);
    return v;
  }
  out(port: number, size: IoSize, value: number): void {
    this.log.push(`out${size * 8} 0x${port.toString(16)} <- 0x${(value >>> 0).toString(16)}`);
  }
}
