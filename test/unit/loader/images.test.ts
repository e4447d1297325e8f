// Loads images built at test time by as/ld/gcc and checks segments, entry,
// symbols and source lines against the toolchain's own view (nm, addr2line).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addressToLine, lineToAddresses, loadImage, symbolAt, type LoadedImage } from '../../../src/loader';
import { buildMultiboot32, lineOf, linkScript, MB_ASM, nmAddress, run, workDir, write } from './toolchain';

const C_SRC = `static volatile int counter;

static int add(int a, int b)
{
    return a + b;
}

void kmain(void)
{
    int x = add(1, 2);
    counter = x;
    for (;;)
        counter++;
}
`;

const START64 = `.text
.globl _start
_start:
    call kmain
1:  hlt
    jmp 1b
.section .note.GNU-stack, "", @progbits
`;

const CFLAGS = ['-O0', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-c'];

/** Every row address our table has must map to the same file:line that addr2line reports. */
function expectAgreesWithAddr2line(dir: string, elf: string, img: LoadedImage): void {
  const addrs = [...new Set(img.lines.filter((l) => !l.endSequence).map((l) => l.address))];
  expect(addrs.length).toBeGreaterThan(3);
  const out = run(dir, 'addr2line', ['-e', elf, ...addrs.map((a) => '0x' + a.toString(16))]).trim().split('\n');
  addrs.forEach((a, i) => {
    const want = out[i]!.replace(/ \(discriminator \d+\)$/, '');
    const got = addressToLine(img.lines, a);
    expect(`${got?.file}:${got?.line}`, `address 0x${a.toString(16)}`).toBe(want);
  });
}

describe('Multiboot ELF32 from as --32 -g (DWARF 3 line table)', () => {
  let dir: string;
  let img: LoadedImage;
  let elf: string;
  beforeAll(() => {
    dir = workDir();
    elf = buildMultiboot32(dir).elf;
    img = loadImage(elf);
  });

  it('boots by Multiboot at the ELF entry, header at the start of .text', () => {
    const start = nmAddress(dir, elf, '_start');
    expect(img.format).toBe('elf32');
    expect(img.boot).toBe('multiboot');
    expect(img.entry).toBe(start);
    expect(img.multiboot).toEqual({ flags: 3, headerAddr: 0x100000 });
    expect(img.warnings).toBeUndefined();
  });

  it('has one PT_LOAD: header + code from the file, stack as zero fill', () => {
    expect(img.segments).toHaveLength(1);
    const [seg] = img.segments;
    expect(seg!.paddr).toBe(0x100000);
    expect(seg!.flags & 1).toBe(1);
    const dv = new DataView(seg!.data.buffer, seg!.data.byteOffset);
    expect(dv.getUint32(0, true)).toBe(0x1badb002);
    expect(dv.getUint32(4, true)).toBe(3);
    // .bss (4 KiB stack) is memory, not file.
    expect(seg!.memsz - seg!.data.length).toBeGreaterThanOrEqual(4096);
    expect(BigInt(seg!.paddr + seg!.memsz)).toBe(nmAddress(dir, elf, 'stack_top'));
  });

  it('reads .symtab: sorted, typed, without file or absolute constants', () => {
    const names = img.symbols.map((s) => s.name);
    expect(names).toContain('_start');
    expect(names).toContain('kmain');
    expect(names).not.toContain('mb.o');
    expect(names).not.toContain('MB_MAGIC');
    const start = img.symbols.find((s) => s.name === '_start')!;
    expect(start.kind).toBe('func');
    expect(start.size).toBeGreaterThan(0);
    expect(img.symbols.find((s) => s.name === 'kmain')!.kind).toBe('other');
    for (let i = 1; i < img.symbols.length; i++) expect(img.symbols[i - 1]!.address <= img.symbols[i]!.address).toBe(true);
    const kmain = nmAddress(dir, elf, 'kmain');
    expect(symbolAt(img.symbols, kmain + 3n)).toEqual({ symbol: expect.objectContaining({ name: 'kmain' }), offset: 3n });
  });

  it('maps assembly source lines to addresses and back', () => {
    const file = join(dir, 'mb.S');
    const movLine = lineOf(MB_ASM, 'mov $stack_top');
    const start = nmAddress(dir, elf, '_start');
    expect(addressToLine(img.lines, start)).toMatchObject({ file, line: movLine, isStmt: true });
    expect(lineToAddresses(img.lines, file, movLine)).toEqual([start]);
    const outLine = lineOf(MB_ASM, 'out %al');
    const kmain = nmAddress(dir, elf, 'kmain');
    // kmain: mov $0x3f8,%dx (4 bytes) + mov $'A',%al (2 bytes), then out.
    expect(lineToAddresses(img.lines, file, outLine)).toEqual([kmain + 6n]);
    // Relative and bare names resolve too (breakpoints from a workspace-relative path).
    expect(lineToAddresses(img.lines, 'mb.S', outLine)).toEqual([kmain + 6n]);
    // Past the last instruction is no line at all.
    const last = img.lines[img.lines.length - 1]!;
    expect(last.endSequence).toBe(true);
    expect(addressToLine(img.lines, last.address)).toBeUndefined();
    expectAgreesWithAddr2line(dir, elf, img);
  });
});

describe('as --gdwarf-5 (DWARF 5 line table with .debug_line_str)', () => {
  it('reads v5 directory and file entries', () => {
    const dir = workDir();
    const { elf } = buildMultiboot32(dir, MB_ASM, ['--gdwarf-5']);
    const img = loadImage(elf);
    expect(readFileSync(elf).includes(Buffer.from('.debug_line_str'))).toBe(true);
    const start = nmAddress(dir, elf, '_start');
    expect(addressToLine(img.lines, start)).toMatchObject({ file: join(dir, 'mb.S'), line: lineOf(MB_ASM, 'mov $stack_top') });
    expectAgreesWithAddr2line(dir, elf, img);
  });
});

describe('ELF64 from gcc -g (DWARF 5) + as --64', () => {
  let dir: string;
  let elf: string;
  let img: LoadedImage;
  beforeAll(() => {
    dir = workDir();
    write(dir, 'k.c', C_SRC);
    write(dir, 'start.S', START64);
    write(dir, 'link.ld', linkScript('0x200000'));
    run(dir, 'as', ['--64', '-g', '--gdwarf-5', '-o', 'start.o', 'start.S']);
    run(dir, 'gcc', ['-g', '-mno-red-zone', ...CFLAGS, 'k.c', '-o', 'k.o']);
    run(dir, 'ld', ['-n', '-T', 'link.ld', '-o', 'k.elf', 'start.o', 'k.o']);
    elf = join(dir, 'k.elf');
    img = loadImage(elf);
  });

  it('boots in long mode at e_entry', () => {
    expect(img.format).toBe('elf64');
    expect(img.boot).toBe('long64');
    expect(img.entry).toBe(0x200000n);
    expect(img.multiboot).toBeUndefined();
    expect(img.segments[0]!.paddr).toBe(0x200000);
  });

  it('has C functions and objects as symbols', () => {
    const kmain = img.symbols.find((s) => s.name === 'kmain')!;
    expect(kmain).toMatchObject({ kind: 'func', address: nmAddress(dir, elf, 'kmain') });
    expect(img.symbols.find((s) => s.name === 'counter')).toMatchObject({ kind: 'object', size: 4 });
    const inside = symbolAt(img.symbols, kmain.address + BigInt(kmain.size) - 1n);
    expect(inside?.symbol.name).toBe('kmain');
  });

  it('maps C lines in absolute paths, for both units', () => {
    const kc = join(dir, 'k.c');
    const addLine = lineOf(C_SRC, 'return a + b');
    const [addr] = lineToAddresses(img.lines, kc, addLine);
    expect(addr).toBeDefined();
    expect(symbolAt(img.symbols, addr!)?.symbol.name).toBe('add');
    expect(addressToLine(img.lines, addr!)).toMatchObject({ file: kc, line: addLine });
    // The infinite loop's line has code; a blank line has none.
    expect(lineToAddresses(img.lines, kc, lineOf(C_SRC, 'counter++')).length).toBeGreaterThan(0);
    expect(lineToAddresses(img.lines, kc, 2)).toEqual([]);
    expect(addressToLine(img.lines, 0x200000n)).toMatchObject({ file: join(dir, 'start.S'), line: lineOf(START64, 'call kmain') });
    expectAgreesWithAddr2line(dir, elf, img);
  });
});

describe('ELF32 Multiboot with C from gcc -m32 -gdwarf-4, compiled by relative path', () => {
  it('joins the unit comp_dir from .debug_info with the relative file name', () => {
    const dir = workDir();
    write(dir, 'sub/k.c', C_SRC);
    write(dir, 'mb.S', MB_ASM.replace(/^kmain:[\s\S]*?ret\n/m, ''));
    write(dir, 'link.ld', linkScript('0x100000'));
    run(dir, 'as', ['--32', '-g', '-o', 'mb.o', 'mb.S']);
    run(dir, 'gcc', ['-m32', '-g', '-gdwarf-4', ...CFLAGS, 'sub/k.c', '-o', 'k.o']);
    run(dir, 'ld', ['-m', 'elf_i386', '-n', '-T', 'link.ld', '-o', 'k.elf', 'mb.o', 'k.o']);
    const elf = join(dir, 'k.elf');
    const img = loadImage(elf);
    expect(img.boot).toBe('multiboot');
    expect(run(dir, 'readelf', ['--debug-dump=rawline', elf])).toMatch(/DWARF Version:\s+4/);
    const files = new Set(img.lines.map((l) => l.file));
    expect(files).toEqual(new Set([join(dir, 'mb.S'), join(dir, 'sub/k.c')]));
    const addLine = lineOf(C_SRC, 'return a + b');
    expect(lineToAddresses(img.lines, join(dir, 'sub/k.c'), addLine)).toHaveLength(1);
    expect(lineToAddresses(img.lines, 'sub/k.c', addLine)).toHaveLength(1);
    expectAgreesWithAddr2line(dir, elf, img);
  });
});

describe('higher-half Multiboot kernel (linked at 0xC0100000, loaded at 1 MiB)', () => {
  it('enters at the physical address of e_entry, as QEMU and GRUB do', () => {
    const dir = workDir();
    write(dir, 'mb.S', MB_ASM);
    write(dir, 'link.ld', linkScript('0xC0100000', '0x100000'));
    run(dir, 'as', ['--32', '-o', 'mb.o', 'mb.S']);
    run(dir, 'ld', ['-m', 'elf_i386', '-n', '-T', 'link.ld', '-o', 'k.elf', 'mb.o']);
    const img = loadImage(join(dir, 'k.elf'));
    expect(img.segments[0]!.paddr).toBe(0x100000);
    expect(nmAddress(dir, join(dir, 'k.elf'), '_start')).toBe(0xc010000cn);
    expect(img.entry).toBe(0x10000cn);
    expect(img.multiboot?.headerAddr).toBe(0x100000);
    expect(img.lines).toEqual([]);
  });
});

describe('Multiboot ELF64 (QEMU refuses these; we accept them below 4 GiB)', () => {
  it('boots by Multiboot', () => {
    const dir = workDir();
    write(dir, 'mb.S', MB_ASM.replace('.type _start', '.code32\n.type _start'));
    write(dir, 'link.ld', linkScript('0x100000'));
    run(dir, 'as', ['--64', '-o', 'mb.o', 'mb.S']);
    run(dir, 'ld', ['-n', '-T', 'link.ld', '-o', 'k.elf', 'mb.o']);
    const img = loadImage(join(dir, 'k.elf'));
    expect(img).toMatchObject({ format: 'elf64', boot: 'multiboot', entry: 0x10000cn });
  });
});
