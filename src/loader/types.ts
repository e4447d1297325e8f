// What a loaded guest image is, independent of its file format: the bytes to
// place in guest-physical memory, how the CPU enters it, and its symbols and
// source lines. Produced by src/loader/, consumed by the engine's boot code and
// the adapter (symbols, lines).

export type BootProtocol =
  /** Multiboot v1: 32-bit protected mode, paging off, EAX=0x2BADB002, EBX=info. */
  | 'multiboot'
  /** ELF64 without Multiboot: 64-bit long mode, first 4 GiB identity-mapped. */
  | 'long64'
  /** Flat binary ending at the reset vector: real mode at F000:FFF0. */
  | 'reset'
  /** Flat binary elsewhere: 64-bit long mode at the entry address. */
  | 'flat64';

export interface LoadSegment {
  /** Guest-physical load address. */
  paddr: number;
  /** Bytes from the file; memsz - data.length bytes after them are zeroed. */
  data: Uint8Array;
  memsz: number;
  /** ELF p_flags style: 1 = X, 2 = W, 4 = R. */
  flags: number;
}

export interface GuestSymbol {
  name: string;
  /** Virtual address as a bigint (ELF64 symbols may be in the upper half). */
  address: bigint;
  size: number;
  kind: 'func' | 'object' | 'other';
}

export interface LineEntry {
  address: bigint;
  file: string;
  line: number;
  column: number;
  isStmt: boolean;
  /**
   * True for the row that closes a DWARF sequence: its address is the first
   * byte past the sequence's code and it maps no source position (file and
   * line repeat the previous row). Lets a lookup tell "after the last line"
   * from "inside it".
   */
  endSequence?: boolean;
}

export interface LoadedImage {
  path: string;
  format: 'elf32' | 'elf64' | 'flat';
  boot: BootProtocol;
  segments: LoadSegment[];
  /** Entry point: a physical address for multiboot (the header's or ELF's entry), virtual for long64. */
  entry: bigint;
  /**
   * Multiboot header details when boot is 'multiboot'. headerAddr is where the
   * header lies once loaded (the header's own header_addr field under the
   * a.out kludge), or 0 when no loaded segment holds it.
   */
  multiboot?: { flags: number; headerAddr: number };
  /** Sorted by address. */
  symbols: GuestSymbol[];
  /** Sorted by address; empty without .debug_line. */
  lines: LineEntry[];
  /** Problems that did not stop the load (e.g. unreadable debug info), one line each. */
  warnings?: string[];
}

/** A malformed image: the message is one line naming what is wrong. */
export class ImageError extends Error {
  override readonly name = 'ImageError';
}
