// Test helper: builds real guest images with the system's binutils and gcc in
// a temporary directory, so loader tests run against what the toolchain
// actually emits (ELF layout, DWARF 3/4/5 line tables) rather than hand-made
// approximations.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'vmscope-loader-'));
}

export function run(cwd: string, cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

export function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** 1-based line number of the first source line containing `needle`. */
export function lineOf(src: string, needle: string): number {
  const i = src.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" not in source`);
  return i + 1;
}

/** Symbol address from `nm`, as a bigint. */
export function nmAddress(dir: string, elf: string, name: string): bigint {
  const line = run(dir, 'nm', [elf]).split('\n').find((l) => l.trim().endsWith(' ' + name));
  if (!line) throw new Error(`symbol ${name} not in ${elf}`);
  return BigInt('0x' + line.trim().split(/\s+/)[0]);
}

/** A linker script placing .multiboot first so the header is in the first 8 KiB. */
export function linkScript(base: string, at?: string): string {
  const lma = at ? ` AT(${at})` : '';
  return `ENTRY(_start)
SECTIONS {
  . = ${base};
  .text :${lma} { *(.multiboot) *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  _edata = .;
  .bss : { *(.bss*) *(COMMON) }
  _end = .;
}
`;
}

export const MB_ASM = `# Multiboot v1 kernel entry, for loader tests.
.set MB_MAGIC, 0x1BADB002
.set MB_FLAGS, 0x3
.section .multiboot, "a"
.align 4
.long MB_MAGIC
.long MB_FLAGS
.long -(MB_MAGIC + MB_FLAGS)
.text
.globl _start
.type _start, @function
_start:
    mov $stack_top, %esp
    push %ebx
    call kmain
halt:
    hlt
    jmp halt
.size _start, . - _start
kmain:
    mov $0x3f8, %dx
    mov $'A', %al
    out %al, %dx
    ret
.bss
.align 16
stack: .skip 4096
stack_top:
.section .note.GNU-stack, "", @progbits
`;

/** Assembles MB_ASM (or `src`) with `as --32 -g` and links it at 1 MiB with -n (no page padding: a ~1 KiB file). */
export function buildMultiboot32(dir: string, src = MB_ASM, asFlags: string[] = []): { elf: string; src: string; path: string } {
  const path = write(dir, 'mb.S', src);
  write(dir, 'link.ld', linkScript('0x100000'));
  run(dir, 'as', ['--32', '-g', ...asFlags, '-o', 'mb.o', 'mb.S']);
  run(dir, 'ld', ['-m', 'elf_i386', '-n', '-T', 'link.ld', '-o', 'mb.elf', 'mb.o']);
  return { elf: join(dir, 'mb.elf'), src, path };
}
