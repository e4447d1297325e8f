// Multiboot v1: header search, flag policy, the a.out kludge (raw and ELF),
// and the info structure handed to the kernel.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findMultibootHeader, checkMultibootFlags } from '../../../src/loader/multiboot';
import { buildMultibootInfo, ImageError, loadImage, loadImageBytes } from '../../../src/loader';
import { linkScript, MB_ASM, nmAddress, run, workDir, write } from './toolchain';

const MAGIC = 0x1badb002;

/** A header at `at` in a zeroed buffer of `size` bytes; `fields` are header_addr.. entry_addr. */
function withHeader(size: number, at: number, flags: number, fields: number[] = [], checksumDelta = 0): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint32(at, MAGIC, true);
  dv.setUint32(at + 4, flags, true);
  dv.setUint32(at + 8, (-(MAGIC + flags) + checksumDelta) >>> 0, true);
  fields.forEach((v, i) => dv.setUint32(at + 12 + 4 * i, v, true));
  return b;
}

describe('findMultibootHeader', () => {
  it('finds a 4-byte-aligned header with a valid checksum', () => {
    expect(findMultibootHeader(withHeader(64, 8, 3))).toEqual({ offset: 8, flags: 3 });
  });

  it('ignores unaligned magics and bad checksums, and keeps looking', () => {
    expect(findMultibootHeader(withHeader(64, 6, 3))).toBeUndefined();
    const b = withHeader(64, 0, 3, [], 1);
    b.set(withHeader(64, 20, 2).subarray(20, 32), 20);
    expect(findMultibootHeader(b)).toEqual({ offset: 20, flags: 2 });
  });

  it('searches only the first 8192 bytes', () => {
    expect(findMultibootHeader(withHeader(9000, 8180, 0))?.offset).toBe(8180);
    expect(findMultibootHeader(withHeader(9000, 8192, 0))).toBeUndefined();
  });

  it('rejects a header whose address fields are cut off', () => {
    expect(() => findMultibootHeader(withHeader(8192 + 64, 8176, 0x10000))).toThrow(
      /Multiboot header at file offset 0x1ff0 \(address fields, flag bit 16\) extends past end of the first 8192 bytes/,
    );
    expect(() => findMultibootHeader(withHeader(20, 0, 0x10000))).toThrow(ImageError);
  });
});

describe('flags', () => {
  it('accepts page-align, memory-info, video (ignored, as QEMU does) and optional bits', () => {
    for (const f of [0, 1, 2, 3, 4, 7, 0x10003, 0x20000]) expect(() => checkMultibootFlags(f)).not.toThrow();
  });
  it('refuses unknown required bits 3-15', () => {
    expect(() => checkMultibootFlags(0x8 | 3)).toThrow('Multiboot header requires flag bits 0x8 that this loader does not know');
    expect(() => loadImageBytes(withHeader(64, 0, 0x18000 | 0x10000, [0x100000, 0x100000, 0, 0, 0x100020]), 'k')).toThrow(
      /flag bits 0x8000/,
    );
  });
});

describe('raw (non-ELF) kernel with the a.out kludge', () => {
  const load = (fields: number[], size = 0x100) => loadImageBytes(withHeader(size, 0x10, 0x10003, fields), 'k.bin');

  it('loads from the header back to load_addr, zero-fills to bss_end_addr', () => {
    const file = withHeader(0x100, 0x10, 0x10003, [0x100010, 0x100000, 0x100080, 0x102000, 0x100040]);
    file[0x40] = 0xf4;
    const img = loadImageBytes(file, 'k.bin');
    expect(img).toMatchObject({ format: 'flat', boot: 'multiboot', entry: 0x100040n, multiboot: { flags: 0x10003, headerAddr: 0x100010 } });
    expect(img.segments).toHaveLength(1);
    const [seg] = img.segments;
    expect(seg).toMatchObject({ paddr: 0x100000, memsz: 0x2000 });
    expect(seg!.data).toEqual(file.subarray(0, 0x80));
  });

  it('starts the image at the header when header_addr = load_addr, to end of file when load_end_addr = 0', () => {
    const img = load([0x200000, 0x200000, 0, 0, 0x200000]);
    expect(img.segments[0]).toMatchObject({ paddr: 0x200000, memsz: 0xf0 });
    expect(img.segments[0]!.data.length).toBe(0xf0);
  });

  it('refuses inconsistent address fields, each with its own reason', () => {
    expect(() => load([0x100000, 0x100010, 0, 0, 0])).toThrow('Multiboot header_addr 0x100000 is below load_addr 0x100010');
    expect(() => load([0x100020, 0x100000, 0, 0, 0])).toThrow(/would start 0x10 bytes before the file/);
    expect(() => load([0x100010, 0x100000, 0xfffff, 0, 0])).toThrow('Multiboot load_end_addr 0xfffff is below load_addr 0x100000');
    expect(() => load([0x100010, 0x100000, 0x100080, 0x100040, 0])).toThrow(/bss_end_addr 0x100040 is below the end of the loaded image 0x100080/);
    expect(() => load([0x100010, 0x100000, 0x101000, 0, 0])).toThrow(
      'Multiboot image (load_addr to load_end_addr) extends past end of file (offset 0x0 + 0x1000 > size 0x100)',
    );
    // load_end_addr 0: the whole 0x100-byte file from 0xffffff80 runs past 4 GiB.
    expect(() => load([0xffffff90, 0xffffff80, 0, 0, 0])).toThrow('Multiboot image [0xffffff80, 0x100000080) does not fit below 4 GiB');
  });

  it('needs the address fields when the file is not ELF', () => {
    expect(() => loadImageBytes(withHeader(64, 0, 3), 'k.bin')).toThrow(/lacks the address fields \(flag bit 16\)/);
  });

  it('is loaded flat instead when the user gives a loadAddress', () => {
    expect(loadImageBytes(withHeader(64, 0, 0x10003, [0, 0, 0, 0, 0]), 'k.bin', { loadAddress: 0x8000 }).boot).toBe('flat64');
  });
});

describe('ELF with the a.out kludge', () => {
  it('uses the header fields, not the program headers', () => {
    const dir = workDir();
    const src = MB_ASM.replace('.set MB_FLAGS, 0x3', '.set MB_FLAGS, 0x10003').replace(
      '.long -(MB_MAGIC + MB_FLAGS)',
      '.long -(MB_MAGIC + MB_FLAGS)\n.long 0x100000, 0x100000, _edata, _end, _start',
    );
    write(dir, 'mb.S', src);
    write(dir, 'link.ld', linkScript('0x100000'));
    run(dir, 'as', ['--32', '-o', 'mb.o', 'mb.S']);
    run(dir, 'ld', ['-m', 'elf_i386', '-n', '-T', 'link.ld', '-o', 'k.elf', 'mb.o']);
    const elf = join(dir, 'k.elf');
    const img = loadImage(elf);
    expect(img).toMatchObject({ format: 'elf32', boot: 'multiboot', multiboot: { flags: 0x10003, headerAddr: 0x100000 } });
    expect(img.entry).toBe(nmAddress(dir, elf, '_start'));
    const [seg] = img.segments;
    expect(seg!.paddr).toBe(0x100000);
    expect(BigInt(seg!.data.length)).toBe(nmAddress(dir, elf, '_edata') - 0x100000n);
    expect(BigInt(seg!.paddr + seg!.memsz)).toBe(nmAddress(dir, elf, '_end'));
    expect(new DataView(seg!.data.buffer, seg!.data.byteOffset).getUint32(0, true)).toBe(MAGIC);
    expect(img.symbols.some((s) => s.name === 'kmain')).toBe(true);
  });
});

describe('buildMultibootInfo', () => {
  const infoAddr = 0x9000;
  const blob = buildMultibootInfo({ memoryBytes: 128 << 20, cmdline: 'console=ttyS0 é', bootloaderName: 'vmscope', infoAddr });
  const dv = new DataView(blob.buffer);
  const u32 = (o: number) => dv.getUint32(o, true);
  const cstr = (addr: number) => {
    const o = addr - infoAddr;
    return new TextDecoder().decode(blob.subarray(o, blob.indexOf(0, o)));
  };

  it('sets flags for mem_*, cmdline, mmap and boot loader name only', () => {
    expect(u32(0)).toBe((1 << 0) | (1 << 2) | (1 << 6) | (1 << 9));
    expect(u32(12)).toBe(0); // no boot_device (flag bit 1 clear)
    expect(u32(20)).toBe(0); // no modules
  });

  it('reports memory as QEMU does below 1 MiB, all of RAM above', () => {
    expect(u32(4)).toBe(639);
    expect(u32(8)).toBe((128 * 1024) - 1024);
  });

  it('points at its own strings, relative to infoAddr', () => {
    expect(cstr(u32(16))).toBe('console=ttyS0 é');
    expect(cstr(u32(64))).toBe('vmscope');
    expect(u32(16)).toBe(infoAddr + 0xb8);
    expect(blob.length % 4).toBe(0);
  });

  it('has the e820-style memory map', () => {
    expect(u32(44)).toBe(4 * 24);
    expect(u32(48)).toBe(infoAddr + 88);
    const entries = [0, 1, 2, 3].map((i) => {
      const o = u32(48) - infoAddr + i * 24;
      return [u32(o), dv.getBigUint64(o + 4, true), dv.getBigUint64(o + 12, true), u32(o + 20)];
    });
    expect(entries).toEqual([
      [20, 0n, 0x9fc00n, 1],
      [20, 0x9fc00n, 0x400n, 2],
      [20, 0xf0000n, 0x10000n, 2],
      [20, 0x100000n, (128n << 20n) - 0x100000n, 1],
    ]);
  });

  it('refuses impossible options', () => {
    expect(() => buildMultibootInfo({ memoryBytes: 0x100000, cmdline: '', bootloaderName: '', infoAddr })).toThrow(RangeError);
    expect(() => buildMultibootInfo({ memoryBytes: 1 << 27, cmdline: 'a\0b', bootloaderName: '', infoAddr })).toThrow(/NUL/);
    expect(() => buildMultibootInfo({ memoryBytes: 1 << 27, cmdline: '', bootloaderName: '', infoAddr: 0xffffff80 })).toThrow(/below 4 GiB/);
  });
});
