// Robustness: every truncation of a real image, and a few hundred seeded
// random corruptions, either load or throw ImageError, never another
// exception and never a hang. Corrupting only debug sections must always
// load: bad DWARF costs lines, not the boot.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addressToLine, ImageError, lineToAddresses, loadImageBytes, symbolAt, type LoadedImage } from '../../../src/loader';
import { parseElf } from '../../../src/loader/elf';
import { buildMultiboot32, linkScript, run, workDir, write } from './toolchain';

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome = { ok: LoadedImage } | { err: ImageError };

/** Loads, and exercises the lookups on what loaded; anything but ImageError fails the test. */
function attempt(bytes: Uint8Array): Outcome {
  let img: LoadedImage;
  try {
    img = loadImageBytes(bytes, 'fuzz.elf');
  } catch (e) {
    if (e instanceof ImageError) {
      expect(e.message).not.toContain('\n');
      return { err: e };
    }
    throw e;
  }
  for (const l of img.lines.slice(0, 20)) {
    addressToLine(img.lines, l.address);
    lineToAddresses(img.lines, l.file, l.line);
  }
  if (img.symbols[0]) symbolAt(img.symbols, img.symbols[0].address + 1n);
  return { ok: img };
}

let mb32: Uint8Array;
let c64: Uint8Array;

beforeAll(() => {
  const dir = workDir();
  mb32 = new Uint8Array(readFileSync(buildMultiboot32(dir).elf));
  write(dir, 'k.c', 'static volatile int n;\nvoid kmain(void)\n{\n    for (;;)\n        n++;\n}\n');
  write(dir, 's.S', '.text\n.globl _start\n_start:\n    call kmain\n    hlt\n.section .note.GNU-stack, "", @progbits\n');
  write(dir, 'link.ld', linkScript('0x200000'));
  run(dir, 'as', ['--64', '-g', '-o', 's.o', 's.S']);
  run(dir, 'gcc', ['-g', '-O1', '-ffreestanding', '-nostdlib', '-fno-pic', '-fno-asynchronous-unwind-tables', '-c', 'k.c', '-o', 'k.o']);
  run(dir, 'ld', ['-n', '-T', 'link.ld', '-o', 'k.elf', 's.o', 'k.o']);
  c64 = new Uint8Array(readFileSync(join(dir, 'k.elf')));
});

describe('truncation', () => {
  it('every prefix of a Multiboot ELF32 is refused with ImageError; the whole file loads', () => {
    expect(mb32.length).toBeLessThan(4096);
    for (let n = 0; n < mb32.length; n++) {
      const r = attempt(mb32.subarray(0, n));
      expect('err' in r, `length ${n}`).toBe(true);
    }
    expect('ok' in attempt(mb32)).toBe(true);
  });

  it('every prefix of an ELF64 with DWARF 5 is refused with ImageError; the whole file loads', () => {
    for (let n = 0; n < c64.length; n++) expect('err' in attempt(c64.subarray(0, n)), `length ${n}`).toBe(true);
    const full = attempt(c64);
    expect('ok' in full && full.ok.lines.length > 0).toBe(true);
  });
});

describe('random corruption', () => {
  it('flipped bytes anywhere (biased to headers): load or ImageError', () => {
    const rnd = prng(0x5eed);
    const counts = { ok: 0, err: 0 };
    for (const image of [mb32, c64]) {
      const shoff = Number(image[4] === 2 ? new DataView(image.buffer).getBigUint64(40, true) : new DataView(image.buffer).getUint32(32, true));
      for (let n = 0; n < 200; n++) {
        const b = image.slice();
        const flips = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < flips; k++) {
          const where = rnd();
          // Half the flips hit the ELF and program headers or the section table, where structure lives.
          const at = where < 0.25 ? Math.floor(rnd() * 128) : where < 0.5 ? shoff + Math.floor(rnd() * (b.length - shoff)) : Math.floor(rnd() * b.length);
          b[at] = rnd() < 0.5 ? b[at]! ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256);
        }
        counts['ok' in attempt(b) ? 'ok' : 'err']++;
      }
    }
    // Both outcomes happen: the corruptions are neither all harmless nor all fatal.
    expect(counts.ok).toBeGreaterThan(20);
    expect(counts.err).toBeGreaterThan(20);
  });

  it('corrupting only debug sections always loads, sometimes with warnings', () => {
    const rnd = prng(42);
    const debug = parseElf(c64).sections.filter((s) => s.name.startsWith('.debug_') && s.size > 0);
    expect(debug.map((s) => s.name)).toEqual(expect.arrayContaining(['.debug_line', '.debug_info', '.debug_abbrev', '.debug_line_str']));
    let warned = 0;
    for (let n = 0; n < 300; n++) {
      const b = c64.slice();
      const s = debug[Math.floor(rnd() * debug.length)]!;
      const flips = 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < flips; k++) b[s.offset + Math.floor(rnd() * s.size)] = Math.floor(rnd() * 256);
      const r = attempt(b);
      if (!('ok' in r)) throw new Error(`debug-only corruption refused the image: ${r.err.message}`);
      if (r.ok.warnings) warned++;
      // Lines always come out sorted.
      for (let i = 1; i < r.ok.lines.length; i++) expect(r.ok.lines[i - 1]!.address <= r.ok.lines[i]!.address).toBe(true);
    }
    expect(warned).toBeGreaterThan(30);
  });

  it('random bytes behind an ELF magic: load or ImageError', () => {
    const rnd = prng(7);
    for (let n = 0; n < 300; n++) {
      const b = Uint8Array.from({ length: 24 + Math.floor(rnd() * 400) }, () => Math.floor(rnd() * 256));
      b.set([0x7f, 0x45, 0x4c, 0x46, 1 + Math.floor(rnd() * 2), 1, 1]);
      if (rnd() < 0.5) b.set([0x02, 0x00, b[4] === 2 ? 62 : 3, 0x00, 1, 0, 0, 0], 16);
      attempt(b);
    }
  });
});
