// Flat binaries: the 64 KiB reset image and images at a load address.

import { describe, expect, it } from 'vitest';
import { ImageError, loadImageBytes } from '../../../src/loader';

describe('flat binaries', () => {
  const rom = new Uint8Array(0x10000);
  rom[0xfff0] = 0xea; // jmp far, as a BIOS's reset vector has

  it('boots a 64 KiB image without loadAddress in real mode at the reset vector', () => {
    const img = loadImageBytes(rom, 'bios.bin');
    expect(img).toMatchObject({ format: 'flat', boot: 'reset', entry: 0xffff0n, symbols: [], lines: [] });
    expect(img.segments).toEqual([{ paddr: 0xf0000, data: rom, memsz: 0x10000, flags: 5 }]);
    expect(img.segments[0]!.data[0xfff0]).toBe(0xea);
  });

  it('treats loadAddress 0xF0000 the same, and another address as a 64-bit flat image', () => {
    expect(loadImageBytes(rom, 'bios.bin', { loadAddress: 0xf0000 }).boot).toBe('reset');
    const img = loadImageBytes(rom, 'x.bin', { loadAddress: 0x100000 });
    expect(img).toMatchObject({ boot: 'flat64', entry: 0x100000n });
    expect(() => loadImageBytes(rom, 'bios.bin', { entry: 0x1000 })).toThrow(/reset vector 0xffff0; entry 0x1000 cannot apply/);
  });

  it('loads other sizes at loadAddress, entry defaulting to it', () => {
    const code = Uint8Array.of(0x90, 0xf4);
    const img = loadImageBytes(code, 'x.bin', { loadAddress: 0x7c00 });
    expect(img).toMatchObject({ format: 'flat', boot: 'flat64', entry: 0x7c00n });
    expect(img.segments).toEqual([{ paddr: 0x7c00, data: code, memsz: 2, flags: 7 }]);
    expect(loadImageBytes(code, 'x.bin', { loadAddress: 0x7c00, entry: 0x7c01 }).entry).toBe(0x7c01n);
  });

  it('copies the bytes (the caller may reuse its buffer)', () => {
    const code = Uint8Array.of(1, 2, 3);
    const img = loadImageBytes(code, 'x.bin', { loadAddress: 0x1000 });
    code[0] = 9;
    expect(img.segments[0]!.data[0]).toBe(1);
  });

  it('explains what is missing or out of range', () => {
    expect(() => loadImageBytes(Uint8Array.of(1, 2, 3), 'x.bin')).toThrow(
      'not an ELF file and no loadAddress given for a flat binary (only a 64 KiB reset image needs none; this one is 3 bytes)',
    );
    expect(() => loadImageBytes(new Uint8Array(0), 'x.bin', { loadAddress: 0 })).toThrow('image is empty (0 bytes)');
    expect(() => loadImageBytes(Uint8Array.of(1), 'x.bin', { loadAddress: -1 })).toThrow(ImageError);
    expect(() => loadImageBytes(Uint8Array.of(1), 'x.bin', { loadAddress: 1.5 })).toThrow(ImageError);
    expect(() => loadImageBytes(Uint8Array.of(1, 2), 'x.bin', { loadAddress: 0xffffffff })).toThrow(/identity-mapped first 4 GiB/);
    expect(() => loadImageBytes(Uint8Array.of(1), 'x.bin', { loadAddress: 0, entry: 0x1_0000_0000 })).toThrow(/entry 0x100000000/);
    expect(() => loadImageBytes(Uint8Array.of(1), 'x.bin', { loadAddress: 0, entry: 0.5 })).toThrow('entry 0.5 is not an integer address');
  });
});
