// Test harness for instruction families: assembles a snippet with GNU as,
// loads it into a fresh vCPU in the chosen mode and runs it to its final
// HLT (or an instruction limit). Tests then assert registers, flags and
// memory. Real assembler, real decoder, real engine: nothing mocked.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PhysicalMemory } from '../../src/engine/mmu/physmem';
import { IoBus } from '../../src/engine/devices/bus';
import { Cpu, Exit } from '../../src/engine/x86/cpu';
import { bootLong64, bootProtected32, bootReal } from '../../src/engine/boot';
import { GPR_NAMES } from '../../src/engine/x86/regs';

export type Mode = 'real' | 'prot32' | 'long64';

/** Where snippets are loaded (identity-mapped in every mode). */
export const CODE_ADDR = 0x100000;
/** A scratch data area tests may use freely. */
export const DATA_ADDR = 0x200000;

/** Assembles Intel-syntax source (`.intel_syntax noprefix` is prepended) into flat bytes. */
export function assemble(src: string, mode: Mode): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-asm-'));
  try {
    const code = mode === 'long64' ? '.code64' : mode === 'prot32' ? '.code32' : '.code16';
    writeFileSync(join(dir, 'a.s'), `.intel_syntax noprefix\n${code}\n${src}\n`);
    execFileSync('as', ['--64', '-o', join(dir, 'a.o'), join(dir, 'a.s')], { stdio: 'pipe' });
    execFileSync('ld', ['-m', 'elf_x86_64', '-Ttext', '0x' + CODE_ADDR.toString(16), '--oformat', 'binary',
      '-e', '0', '-o', join(dir, 'a.bin'), join(dir, 'a.o')], { stdio: 'pipe' });
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  cpu: Cpu;
  exit: Exit;
  /** 64-bit register value by name (rax..r15, rip). */
  reg(name: string): bigint;
  /** Reads guest-physical memory. */
  mem(addr: number, len: number): Uint8Array;
}

export interface RunOptions {
  /** Registers to set before running: name → value. */
  regs?: Record<string, bigint | number>;
  /** Bytes to place in memory before running. */
  data?: { addr: number; bytes: Uint8Array }[];
  /** Instruction limit (default 100000). */
  limit?: number;
  memoryMiB?: number;
}

export function runCode(bytes: Uint8Array, mode: Mode, opts: RunOptions = {}): RunResult {
  const mem = new PhysicalMemory((opts.memoryMiB ?? 16) * 1024 * 1024);
  const io = new IoBus();
  const cpu = new Cpu(0, mem, io);
  mem.onCodeWrite = (p, a, n) => cpu.invalidateCodePage(p, a, n);
  mem.load(CODE_ADDR, bytes);
  for (const d of opts.data ?? []) mem.load(d.addr, d.bytes);
  if (mode === 'long64') bootLong64(cpu, CODE_ADDR);
  else if (mode === 'prot32') bootProtected32(cpu, CODE_ADDR);
  else { mem.load(0x10000, bytes); bootReal(cpu, 0x1000, 0); }
  for (const [name, v] of Object.entries(opts.regs ?? {})) setReg(cpu, name, BigInt(v));
  const exit = cpu.run(opts.limit ?? 100000);
  return {
    cpu, exit,
    reg: (name) => getReg(cpu, name),
    mem: (addr, len) => mem.bytes.slice(addr, addr + len),
  };
}

export function setReg(cpu: Cpu, name: string, v: bigint): void {
  const i = GPR_NAMES.indexOf(name as (typeof GPR_NAMES)[number]);
  if (i < 0) throw new Error(`unknown register ${name}`);
  const u = BigInt.asUintN(64, v);
  cpu.rl[i] = Number(u & 0xffffffffn) | 0;
  cpu.rh[i] = Number(u >> 32n) | 0;
}

export function getReg(cpu: Cpu, name: string): bigint {
  if (name === 'rip') return BigInt.asUintN(64, BigInt(cpu.rip));
  const i = GPR_NAMES.indexOf(name as (typeof GPR_NAMES)[number]);
  if (i < 0) throw new Error(`unknown register ${name}`);
  return (BigInt(cpu.rh[i]! >>> 0) << 32n) | BigInt(cpu.rl[i]! >>> 0);
}
