// What the loader says about images it cannot load: files it cannot read, ELF
// files for other machines or protocols, and one-field corruptions of a real
// image, each with its one-line message. Also what it tolerates: broken or
// compressed debug info costs source lines, not the load.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageError, loadImage, loadImageBytes, loadSymbols } from '../../../src/loader';
import { parseElf } from '../../../src/loader/elf';
import { buildMultiboot32, MB_ASM, run, workDir, write } from './toolchain';

let dir: string;
let good: Uint8Array;

beforeAll(() => {
  dir = workDir();
  good = new Uint8Array(readFileSync(buildMultiboot32(dir).elf));
});

/** A copy of the good image with `patch` applied through a DataView. */
function patched(patch: (dv: DataView, b: Uint8Array) => void, from = good): Uint8Array {
  const b = from.slice();
  patch(new DataView(b.buffer), b);
  return b;
}

const hex = (n: number) => '0x' + n.toString(16);
const load = (b: Uint8Array) => loadImageBytes(b, 'k.elf');

describe('files that cannot be read', () => {
  it('names the path and the errno code', () => {
    const missing = join(dir, 'nope.elf');
    expect(() => loadImage(missing)).toThrow(new ImageError(`cannot read image ${missing}: ENOENT`));
    mkdirSync(join(dir, 'adir'));
    expect(() => loadImage(join(dir, 'adir'))).toThrow(`cannot read image ${join(dir, 'adir')}: EISDIR`);
    writeFileSync(join(dir, 'empty'), '');
    expect(() => loadImage(join(dir, 'empty'))).toThrow('image is empty (0 bytes)');
    expect(() => loadSymbols(missing)).toThrow(`cannot read symbol file ${missing}: ENOENT`);
  });
});

describe('ELF files we do not boot', () => {
  it('refuses other machines, encodings and classes', () => {
    expect(() => load(patched((dv) => dv.setUint16(18, 40, true)))).toThrow(new ImageError('ELF machine 40 (ARM) is not x86'));
    expect(() => load(patched((dv) => dv.setUint16(18, 62, true)))).toThrow(/ELF32 file for machine 62 \(x86-64\) is not supported/);
    expect(() => load(patched((_, b) => (b[5] = 2)))).toThrow('ELF file is big-endian; x86 images are little-endian');
    expect(() => load(patched((_, b) => (b[4] = 3)))).toThrow('ELF class 3 is invalid (1 is ELF32, 2 is ELF64)');
    expect(() => load(patched((dv) => dv.setUint32(20, 2, true)))).toThrow('ELF version 2 is not 1 (current)');
    expect(() => load(good.slice(0, 30))).toThrow('ELF32 file header extends past end of file (offset 0x0 + 0x34 > size 0x1e)');
  });

  it('refuses object files and dynamically linked programs', () => {
    expect(() => loadImage(join(dir, 'mb.o'))).toThrow('ELF type 1 (relocatable object) cannot be loaded (need an executable); link it into an executable first');
    const phoff = new DataView(good.buffer).getUint32(28, true);
    expect(() => load(patched((dv) => dv.setUint32(phoff, 3, true)))).toThrow(/ELF program header 0 is PT_INTERP/);
  });

  it('explains that ELF32 boots only through Multiboot', () => {
    const at = Buffer.from(good).indexOf(Buffer.from([0x02, 0xb0, 0xad, 0x1b]));
    expect(() => load(patched((_, b) => (b[at] = 0)))).toThrow(/^ELF32 image without a Multiboot header: 32-bit kernels boot through Multiboot v1/);
  });

  it('refuses a loadAddress for ELF', () => {
    expect(() => loadImageBytes(good, 'k.elf', { loadAddress: 0x1000 })).toThrow(/loadAddress applies to flat binaries/);
  });
});

describe('corrupt ELF structure: one line naming the part', () => {
  const dv0 = () => new DataView(good.buffer);

  it('program header past the end of the file', () => {
    const size = good.length;
    expect(() => load(patched((dv) => dv.setUint32(28, size - 16, true)))).toThrow(
      new ImageError(`ELF program header 0 extends past end of file (offset ${hex(size - 16)} + 0x20 > size ${hex(size)})`),
    );
    // More headers than the file holds: the first missing one is named. Header 0
    // is the file's last 32 bytes (a section header whose first word, read as
    // p_type, is PT_NULL), so header 1 is the first past the end.
    const many = patched((dv) => {
      dv.setUint32(28, size - 32, true);
      dv.setUint16(44, 0xfffe, true);
    });
    expect(() => load(many)).toThrow(`ELF program header 1 extends past end of file (offset ${hex(size)} + 0x20 > size ${hex(size)})`);
  });

  it('segment sizes and data', () => {
    const ph = dv0().getUint32(28, true);
    const memsz = dv0().getUint32(ph + 20, true);
    expect(() => load(patched((dv) => dv.setUint32(ph + 16, memsz + 1, true)))).toThrow(
      `ELF program header 0: file size ${hex(memsz + 1)} is larger than memory size ${hex(memsz)}`,
    );
    const filesz = dv0().getUint32(ph + 16, true);
    expect(() => load(patched((dv) => dv.setUint32(ph + 4, good.length - 4, true)))).toThrow(
      `ELF program header 0 (PT_LOAD) data extends past end of file (offset ${hex(good.length - 4)} + ${hex(filesz)} > size ${hex(good.length)})`,
    );
  });

  it('section headers and names', () => {
    const size = good.length;
    expect(() => load(patched((dv) => dv.setUint32(32, size - 8, true)))).toThrow(
      `ELF section header 0 extends past end of file (offset ${hex(size - 8)} + 0x28 > size ${hex(size)})`,
    );
    const n = parseElf(good).sections.length;
    expect(() => load(patched((dv) => dv.setUint16(50, 200, true)))).toThrow(`ELF section name table index 200 is out of range (${n} sections)`);
    expect(() => load(patched((dv) => dv.setUint16(46, 8, true)))).toThrow('ELF section header size 8 is smaller than 40');
  });

  it('symbol table links', () => {
    const elf = parseElf(good);
    const symtab = elf.sections.find((s) => s.name === '.symtab')!;
    const shoff = new DataView(good.buffer).getUint32(32, true);
    const link = shoff + symtab.index * 40 + 24;
    expect(() => load(patched((dv) => dv.setUint32(link, 0, true)))).toThrow(/links to string table section 0, which does not exist/);
    const strtab = elf.sections[symtab.link]!;
    // The last symbol is a global label (symbol 1 is the FILE symbol, skipped unread).
    const last = symtab.size / 16 - 1;
    const name = symtab.offset + last * 16;
    expect(() => load(patched((dv) => dv.setUint32(name, strtab.size + 5, true)))).toThrow(
      `ELF symbol ${last} name offset ${hex(strtab.size + 5)} is outside its string table (size ${hex(strtab.size)})`,
    );
  });

  it('overlapping segments', () => {
    const d = workDir();
    write(d, 's.S', '.text\n.globl _start\n_start: hlt\n.data\nv: .long 1\n.section .note.GNU-stack, "", @progbits\n');
    run(d, 'as', ['--64', '-o', 's.o', 's.S']);
    run(d, 'ld', ['-o', 's.elf', 's.o']);
    const bytes = new Uint8Array(readFileSync(join(d, 's.elf')));
    const segs = parseElf(bytes).segments;
    expect(segs.length).toBeGreaterThanOrEqual(2);
    const [a, b] = [segs[0]!, segs[1]!];
    const phoff = Number(new DataView(bytes.buffer).getBigUint64(32, true));
    const bad = patched((dv) => dv.setBigUint64(phoff + b.index * 56 + 24, BigInt(a.paddr), true), bytes);
    expect(() => load(bad)).toThrow(`ELF segments ${a.index} and ${b.index} overlap in physical memory`);
  });
});

describe('warnings', () => {
  it('an entry point outside every segment is loaded but flagged', () => {
    const img = load(patched((dv) => dv.setUint32(24, 0x500000, true)));
    expect(img.entry).toBe(0x500000n);
    expect(img.warnings).toEqual(['entry point 0x500000 is not inside any loaded segment']);
    // An explicit entry is the user's choice: no warning.
    expect(loadImageBytes(good, 'k.elf', { entry: 0x500000 }).warnings).toBeUndefined();
  });
});

describe('debug info problems are warnings', () => {
  const debugLine = () => parseElf(good).sections.find((s) => s.name === '.debug_line')!;

  it('a broken line table loses lines, not the image', () => {
    const img = load(patched((dv) => dv.setUint16(debugLine().offset + 4, 77, true)));
    expect(img.boot).toBe('multiboot');
    expect(img.lines).toEqual([]);
    expect(img.symbols.length).toBeGreaterThan(0);
    expect(img.warnings).toEqual(['.debug_line unit at 0x0: line table version 77 is not supported (2-5)']);
  });

  it('compressed debug sections are reported, not misread', () => {
    const s = debugLine();
    const shoff = new DataView(good.buffer).getUint32(32, true);
    const img = load(patched((dv) => dv.setUint32(shoff + s.index * 40 + 8, 0x800, true)));
    expect(img.lines).toEqual([]);
    expect(img.warnings).toEqual(['.debug_line is compressed, which is not supported; relink without --compress-debug-sections for source lines']);
  });
});

describe('loadSymbols', () => {
  it('reads symbols and lines from an objcopy --only-keep-debug file', () => {
    run(dir, 'objcopy', ['--only-keep-debug', 'mb.elf', 'mb.dbg']);
    const dbg = loadSymbols(join(dir, 'mb.dbg'));
    const img = loadImageBytes(good, 'mb.elf');
    expect(dbg.symbols).toEqual(img.symbols);
    expect(dbg.lines).toEqual(img.lines);
    expect(dbg.lines.some((l) => l.file === join(dir, 'mb.S') && l.line === MB_ASM.split('\n').findIndex((x) => x.includes('call kmain')) + 1)).toBe(true);
  });
});
