// Decides how an image boots and assembles its LoadedImage, from bytes (no
// file system here, so this runs in a browser too; index.ts reads files):
// - ELF with a Multiboot header → 'multiboot' (ELF32 or ELF64; QEMU takes
//   only ELF32, we also take ELF64 as long as it loads and starts below 4 GiB)
// - ELF64 without → 'long64' at e_entry
// - ELF32 without → refused: no protocol enters plain 32-bit ELF
// - not ELF, with a Multiboot header using the address fields and no
//   loadAddress → 'multiboot' (a raw kernel as `nasm -f bin` makes one)
// - not ELF otherwise → flat (flat.ts)

import { hx } from './bytes';
import { findSection, isElf, parseElf, sectionBytes, SHF_COMPRESSED, type ElfFile, type ElfSegment } from './elf';
import { readSymbols } from './elf-symbols';
import { parseDebugLine } from './dwarf-line';
import { entryOption, loadFlat } from './flat';
import { aoutKludgeSegment, checkMultibootFlags, findMultibootHeader, type MultibootHeader } from './multiboot';
import { ImageError, type GuestSymbol, type LineEntry, type LoadedImage, type LoadSegment } from './types';

export interface LoadOptions {
  /** Flat binaries only: guest-physical load address. */
  loadAddress?: number;
  /** Overrides the entry point (any format). */
  entry?: number | bigint;
}

const FOUR_GIB = 0x1_0000_0000n;

export function loadImageBytes(bytes: Uint8Array, path: string, opts: LoadOptions = {}): LoadedImage {
  if (bytes.length === 0) throw new ImageError('image is empty (0 bytes)');
  if (isElf(bytes)) return loadElf(bytes, path, opts);
  if (opts.loadAddress === undefined) {
    const mb = findMultibootHeader(bytes);
    if (mb) return loadRawMultiboot(bytes, path, mb, opts);
  }
  return loadFlat(bytes, path, opts);
}

function loadRawMultiboot(bytes: Uint8Array, path: string, mb: MultibootHeader, opts: LoadOptions): LoadedImage {
  checkMultibootFlags(mb.flags);
  if (!mb.address) {
    throw new ImageError(
      `not an ELF file, and its Multiboot header (file offset ${hx(mb.offset)}) lacks the address fields (flag bit 16) a non-ELF kernel needs`,
    );
  }
  const segment = aoutKludgeSegment(bytes, { ...mb, address: mb.address });
  return {
    path,
    format: 'flat',
    boot: 'multiboot',
    segments: [segment],
    entry: opts.entry === undefined ? BigInt(mb.address.entryAddr) : entryOption(opts.entry),
    multiboot: { flags: mb.flags, headerAddr: mb.address.headerAddr },
    symbols: [],
    lines: [],
  };
}

function plain(s: ElfSegment): LoadSegment {
  return { paddr: s.paddr, data: s.data, memsz: s.memsz, flags: s.flags };
}

function loadElf(bytes: Uint8Array, path: string, opts: LoadOptions): LoadedImage {
  if (opts.loadAddress !== undefined) {
    throw new ImageError('loadAddress applies to flat binaries; this is an ELF file, which loads at the addresses in its program headers');
  }
  const elf = parseElf(bytes);
  const mb = findMultibootHeader(bytes);
  const warnings: string[] = [];
  let image: Pick<LoadedImage, 'boot' | 'segments' | 'entry' | 'multiboot'>;
  if (mb) {
    image = multibootElf(bytes, elf, mb);
  } else if (elf.elfClass === 64) {
    image = { boot: 'long64', segments: elf.segments.map(plain), entry: elf.entry };
    if (elf.entry >= FOUR_GIB) {
      warnings.push(`entry point ${hx(elf.entry)} is above 4 GiB, outside the identity map a long64 guest starts with`);
    }
  } else {
    throw new ImageError(
      'ELF32 image without a Multiboot header: 32-bit kernels boot through Multiboot v1 (magic 0x1BADB002 in the first 8 KiB); other supported images are ELF64 (long mode) and flat binaries',
    );
  }
  if (image.segments.length === 0) throw new ImageError('ELF file has no loadable (PT_LOAD) segments with a non-zero size');
  if (opts.entry !== undefined) image.entry = entryOption(opts.entry);
  else if (!entryIsLoaded(elf, image)) warnings.push(`entry point ${hx(image.entry)} is not inside any loaded segment`);
  const lines = readLines(bytes, elf, warnings);
  const result: LoadedImage = {
    path,
    format: elf.elfClass === 64 ? 'elf64' : 'elf32',
    ...image,
    symbols: readSymbols(bytes, elf),
    lines,
  };
  if (warnings.length > 0) result.warnings = warnings;
  return result;
}

function multibootElf(bytes: Uint8Array, elf: ElfFile, mb: MultibootHeader): Pick<LoadedImage, 'boot' | 'segments' | 'entry' | 'multiboot'> {
  checkMultibootFlags(mb.flags);
  if (mb.address) {
    // Flag 16: the header's fields win over the ELF headers, as in QEMU and GRUB.
    return {
      boot: 'multiboot',
      segments: [aoutKludgeSegment(bytes, { ...mb, address: mb.address })],
      entry: BigInt(mb.address.entryAddr),
      multiboot: { flags: mb.flags, headerAddr: mb.address.headerAddr },
    };
  }
  for (const s of elf.segments) {
    if (BigInt(s.paddr + s.memsz) > FOUR_GIB) {
      throw new ImageError(
        `ELF program header ${s.index} loads at ${hx(s.paddr)}-${hx(s.paddr + s.memsz)}, above 4 GiB, which a Multiboot (32-bit) kernel cannot reach`,
      );
    }
  }
  const entry = physicalEntry(elf);
  if (entry >= FOUR_GIB) throw new ImageError(`Multiboot entry point ${hx(entry)} is above 4 GiB (32-bit protected mode cannot jump there)`);
  const holder = elf.segments.find((s) => mb.offset >= s.offset && mb.offset + 12 <= s.offset + s.data.length);
  return {
    boot: 'multiboot',
    segments: elf.segments.map(plain),
    entry,
    multiboot: { flags: mb.flags, headerAddr: holder ? holder.paddr + (mb.offset - holder.offset) : 0 },
  };
}

/** Multiboot entries are physical; long64 entries are virtual. */
function entryIsLoaded(elf: ElfFile, image: Pick<LoadedImage, 'boot' | 'segments' | 'entry'>): boolean {
  const e = image.entry;
  if (image.boot === 'multiboot') return image.segments.some((s) => e >= BigInt(s.paddr) && e < BigInt(s.paddr + s.memsz));
  return elf.segments.some((s) => e >= s.vaddr && e < s.vaddr + BigInt(s.memsz));
}

/**
 * e_entry is a virtual address. A kernel linked to run higher-half but
 * loaded low (p_vaddr != p_paddr) starts with paging off, so, as QEMU's and
 * GRUB's loaders do, move the entry into the physical range of the segment
 * holding it.
 */
function physicalEntry(elf: ElfFile): bigint {
  const s = elf.segments.find((g) => elf.entry >= g.vaddr && elf.entry < g.vaddr + BigInt(g.memsz));
  return s ? elf.entry - s.vaddr + BigInt(s.paddr) : elf.entry;
}

function readLines(bytes: Uint8Array, elf: ElfFile, warnings: string[]): LineEntry[] {
  const get = (name: string): Uint8Array | undefined => {
    const s = findSection(elf, name);
    if (!s) return undefined;
    if (s.flags & BigInt(SHF_COMPRESSED)) {
      warnings.push(`${name} is compressed, which is not supported; relink without --compress-debug-sections for source lines`);
      return undefined;
    }
    return sectionBytes(bytes, s);
  };
  const line = get('.debug_line');
  if (!line) {
    if (findSection(elf, '.zdebug_line')) warnings.push('.zdebug_line (compressed) is not supported; relink without --compress-debug-sections for source lines');
    return [];
  }
  const t = parseDebugLine(
    { line, lineStr: get('.debug_line_str'), str: get('.debug_str'), info: get('.debug_info'), abbrev: get('.debug_abbrev') },
    elf.elfClass === 64 ? 8 : 4,
  );
  warnings.push(...t.warnings);
  return t.lines;
}

/** Symbols and lines of an ELF file used only for debug info (launch "symbols"); its segments are not read. */
export function loadSymbolBytes(bytes: Uint8Array): { symbols: GuestSymbol[]; lines: LineEntry[]; warnings: string[] } {
  if (bytes.length === 0) throw new ImageError('symbol file is empty (0 bytes)');
  const elf = parseElf(bytes, { segments: false });
  const warnings: string[] = [];
  const lines = readLines(bytes, elf, warnings);
  return { symbols: readSymbols(bytes, elf), lines, warnings };
}
