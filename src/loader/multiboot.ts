// Multiboot v1 header: finding it (magic 0x1BADB002, 4-byte aligned, in the
// first 8192 bytes of the file, checksum), deciding whether we can honour its
// flags, and placing an image by the header's address fields (the "a.out
// kludge", flag bit 16). The info structure the kernel receives is built in
// multiboot-info.ts.
//
// Flags, as the spec divides them: bits 0-15 are requirements a loader must
// refuse when it cannot meet them; bits 16-31 are optional.
// - bit 0 (page-align modules): met trivially, we load no modules.
// - bit 1 (memory info): met, buildMultibootInfo gives mem_* and mmap.
// - bit 2 (video mode): accepted and ignored, as QEMU's -kernel loader does
//   (it prints "multiboot knows VBE. we don't." and boots anyway); the info
//   structure then carries no VBE/framebuffer fields. This is a documented
//   deviation from the spec's "must fail".
// - bits 3-15: undefined; rejected as the spec requires (GRUB does too;
//   QEMU does not look at them).
// - bit 16: use the header's address fields instead of the ELF headers.

import { ByteView, hx } from './bytes';
import { ImageError, type LoadSegment } from './types';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** What the kernel finds in EAX. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export const MULTIBOOT_SEARCH_LIMIT = 8192;
export const MB_FLAG_PAGE_ALIGN = 1 << 0;
export const MB_FLAG_MEMORY_INFO = 1 << 1;
export const MB_FLAG_VIDEO_MODE = 1 << 2;
export const MB_FLAG_AOUT_KLUDGE = 1 << 16;
const SUPPORTED_REQUIRED = MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE;

export { buildMultibootInfo, DEFAULT_MULTIBOOT_INFO_ADDR, type MultibootInfoOptions } from './multiboot-info';

export interface MultibootAddressFields {
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  /** Present when flag bit 16 is set. */
  address?: MultibootAddressFields;
}

/**
 * The first valid header in the file, or undefined if there is none. A magic
 * whose checksum fails is not a header (the next aligned slot is tried, as
 * QEMU and GRUB do); a header whose flags promise fields the file cuts off is
 * malformed and throws.
 */
export function findMultibootHeader(bytes: Uint8Array): MultibootHeader | undefined {
  const limit = Math.min(bytes.length, MULTIBOOT_SEARCH_LIMIT);
  const f = new ByteView(bytes.subarray(0, limit), 'the first 8192 bytes');
  for (let off = 0; off + 12 <= limit; off += 4) {
    if (f.u32(off, 'Multiboot magic') !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = f.u32(off + 4, 'Multiboot flags');
    const checksum = f.u32(off + 8, 'Multiboot checksum');
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) & 0xffffffff) !== 0) continue;
    if (!(flags & MB_FLAG_AOUT_KLUDGE)) return { offset: off, flags };
    const at = `Multiboot header at file offset ${hx(off)} (address fields, flag bit 16)`;
    f.check(off, 32, at);
    return {
      offset: off,
      flags,
      address: {
        headerAddr: f.u32(off + 12, at),
        loadAddr: f.u32(off + 16, at),
        loadEndAddr: f.u32(off + 20, at),
        bssEndAddr: f.u32(off + 24, at),
        entryAddr: f.u32(off + 28, at),
      },
    };
  }
  return undefined;
}

/** Throws for required flag bits we cannot honour. */
export function checkMultibootFlags(flags: number): void {
  const unknown = flags & 0xffff & ~SUPPORTED_REQUIRED;
  if (unknown !== 0) {
    throw new ImageError(
      `Multiboot header requires flag bits ${hx(unknown)} that this loader does not know (bits 0-2 and 16 are supported)`,
    );
  }
}

/**
 * The image placed by the header's address fields: the file from the header's
 * offset minus (header_addr - load_addr), up to load_end_addr (0: end of
 * file), then zeros to bss_end_addr (0: none). The checks are the ones QEMU
 * makes, as one-line errors instead of exits.
 */
export function aoutKludgeSegment(bytes: Uint8Array, h: MultibootHeader & { address: MultibootAddressFields }): LoadSegment {
  const a = h.address;
  if (a.headerAddr < a.loadAddr) {
    throw new ImageError(`Multiboot header_addr ${hx(a.headerAddr)} is below load_addr ${hx(a.loadAddr)}`);
  }
  const textOffset = h.offset - (a.headerAddr - a.loadAddr);
  if (textOffset < 0) {
    throw new ImageError(
      `Multiboot load_addr ${hx(a.loadAddr)} would start ${hx(-textOffset)} bytes before the file (header at offset ${hx(h.offset)}, header_addr ${hx(a.headerAddr)})`,
    );
  }
  let loadSize: number;
  if (a.loadEndAddr === 0) {
    loadSize = bytes.length - textOffset;
  } else {
    if (a.loadEndAddr < a.loadAddr) {
      throw new ImageError(`Multiboot load_end_addr ${hx(a.loadEndAddr)} is below load_addr ${hx(a.loadAddr)}`);
    }
    loadSize = a.loadEndAddr - a.loadAddr;
  }
  const data = new ByteView(bytes, 'file').slice(textOffset, loadSize, 'Multiboot image (load_addr to load_end_addr)');
  let memsz = loadSize;
  if (a.bssEndAddr !== 0) {
    if (a.bssEndAddr < a.loadAddr + loadSize) {
      throw new ImageError(`Multiboot bss_end_addr ${hx(a.bssEndAddr)} is below the end of the loaded image ${hx(a.loadAddr + loadSize)}`);
    }
    memsz = a.bssEndAddr - a.loadAddr;
  }
  if (memsz === 0) throw new ImageError('Multiboot address fields describe an empty image (load_end_addr = load_addr, no bss)');
  if (a.loadAddr + memsz > 0x1_0000_0000) {
    throw new ImageError(`Multiboot image [${hx(a.loadAddr)}, ${hx(a.loadAddr + memsz)}) does not fit below 4 GiB`);
  }
  return { paddr: a.loadAddr, data, memsz, flags: 7 };
}
