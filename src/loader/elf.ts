// ELF32/ELF64 little-endian x86 parsing: the file header, program headers
// (PT_LOAD → LoadSegment at p_paddr) and section headers. Validates every
// offset and size against the file before reading; anything malformed throws
// an ImageError naming the structure. Symbols live in elf-symbols.ts.

import { ByteView, hx } from './bytes';
import { ImageError, type LoadSegment } from './types';

export const EM_386 = 3;
export const EM_X86_64 = 62;

const ET_NAMES: Record<number, string> = { 0: 'none', 1: 'relocatable object', 2: 'executable', 3: 'shared object', 4: 'core dump' };
const EM_NAMES: Record<number, string> = {
  2: 'SPARC', 3: 'i386', 6: 'Intel MCU', 8: 'MIPS', 20: 'PowerPC', 21: 'PowerPC64', 22: 'S/390', 40: 'ARM',
  42: 'SuperH', 50: 'IA-64', 62: 'x86-64', 183: 'AArch64', 243: 'RISC-V', 258: 'LoongArch',
};

const PT_LOAD = 1;
const PT_INTERP = 3;
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;
export const SHF_COMPRESSED = 0x800;
/** x86 physical addresses are at most 52 bits wide. */
const MAX_PHYS = 1n << 52n;

export interface ElfSegment extends LoadSegment {
  /** Program header index, for messages. */
  index: number;
  vaddr: bigint;
  /** File offset of the segment's bytes. */
  offset: number;
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfFile {
  elfClass: 32 | 64;
  machine: number;
  type: number;
  entry: bigint;
  /** PT_LOAD segments with a non-zero memory size, in program header order. */
  segments: ElfSegment[];
  sections: ElfSection[];
}

export interface ParseElfOptions {
  /**
   * Validate and read PT_LOAD segments (default true). Off for symbol-only
   * files such as `objcopy --only-keep-debug` output, whose program headers
   * describe bytes the file no longer holds.
   */
  segments?: boolean;
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

function describe(table: Record<number, string>, v: number): string {
  const n = table[v];
  return n ? `${v} (${n})` : `${v}`;
}

/** A bigint file offset or size as a number; the caller has bounds-checked it against the file. */
function num(v: bigint): number {
  return Number(v);
}

export function parseElf(bytes: Uint8Array, opts: ParseElfOptions = {}): ElfFile {
  if (!isElf(bytes)) throw new ImageError('not an ELF file (no \\x7fELF magic)');
  const f = new ByteView(bytes, 'file');
  f.check(0, 16, 'ELF identification');
  const cls = bytes[4];
  if (cls !== 1 && cls !== 2) throw new ImageError(`ELF class ${cls} is invalid (1 is ELF32, 2 is ELF64)`);
  const is64 = cls === 2;
  const data = bytes[5];
  if (data !== 1) {
    throw new ImageError(data === 2 ? 'ELF file is big-endian; x86 images are little-endian' : `ELF data encoding ${data} is invalid`);
  }
  if (bytes[6] !== 1) throw new ImageError(`ELF identification version ${bytes[6]} is not 1 (current)`);
  f.check(0, is64 ? 64 : 52, `ELF${is64 ? 64 : 32} file header`);

  const type = f.u16(16, 'e_type');
  if (type !== 2 && type !== 3) {
    const hint = type === 1 ? '; link it into an executable first' : '';
    throw new ImageError(`ELF type ${describe(ET_NAMES, type)} cannot be loaded (need an executable)${hint}`);
  }
  const machine = f.u16(18, 'e_machine');
  if (machine !== EM_386 && machine !== EM_X86_64) {
    throw new ImageError(`ELF machine ${describe(EM_NAMES, machine)} is not x86`);
  }
  // x32-style (ELF32 + x86-64) and ELF64 + i386 are legal ELF but no boot
  // protocol we implement defines them.
  if ((machine === EM_X86_64) !== is64) {
    throw new ImageError(
      `ELF${is64 ? 64 : 32} file for machine ${describe(EM_NAMES, machine)} is not supported (use ELF32 for i386 or ELF64 for x86-64)`,
    );
  }
  const version = f.u32(20, 'e_version');
  if (version !== 1) throw new ImageError(`ELF version ${version} is not 1 (current)`);

  const entry = is64 ? f.u64(24, 'e_entry') : BigInt(f.u32(24, 'e_entry'));
  const phoff = is64 ? f.u64(32, 'e_phoff') : BigInt(f.u32(28, 'e_phoff'));
  const shoff = is64 ? f.u64(40, 'e_shoff') : BigInt(f.u32(32, 'e_shoff'));
  const h = is64 ? 52 : 40; // e_ehsize onwards
  const phentsize = f.u16(h + 2, 'e_phentsize');
  let phnum = f.u16(h + 4, 'e_phnum');
  const shentsize = f.u16(h + 6, 'e_shentsize');
  const shnum0 = f.u16(h + 8, 'e_shnum');
  const shstrndx0 = f.u16(h + 10, 'e_shstrndx');

  const sections = readSections(f, is64, shoff, shentsize, shnum0, shstrndx0);
  // Extended numbering: more than 0xfffe program headers puts the count in
  // section 0's sh_info (PN_XNUM).
  if (phnum === 0xffff) phnum = sections.xPhnum ?? phnum;

  const segments = opts.segments === false ? [] : readSegments(f, is64, phoff, phentsize, phnum);
  return { elfClass: is64 ? 64 : 32, machine, type, entry, segments, sections: sections.list };
}

function readSegments(f: ByteView, is64: boolean, phoff: bigint, phentsize: number, phnum: number): ElfSegment[] {
  const need = is64 ? 56 : 32;
  if (phnum > 0 && phentsize < need) {
    throw new ImageError(`ELF program header size ${phentsize} is smaller than ${need}`);
  }
  // Each header is checked before it is read, so the loop stops at the first
  // one past the end of the file: a huge count cannot make it run long.
  const segs: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + BigInt(i) * BigInt(phentsize);
    f.check(at, need, `ELF program header ${i}`);
    const o = num(at);
    const ptype = f.u32(o, 'p_type');
    if (ptype === PT_INTERP) {
      throw new ImageError(`ELF program header ${i} is PT_INTERP: dynamically linked programs cannot be booted (link with -static)`);
    }
    if (ptype !== PT_LOAD) continue;
    const offset = is64 ? f.u64(o + 8, 'p_offset') : BigInt(f.u32(o + 4, 'p_offset'));
    const vaddr = is64 ? f.u64(o + 16, 'p_vaddr') : BigInt(f.u32(o + 8, 'p_vaddr'));
    const paddr = is64 ? f.u64(o + 24, 'p_paddr') : BigInt(f.u32(o + 12, 'p_paddr'));
    const filesz = is64 ? f.u64(o + 32, 'p_filesz') : BigInt(f.u32(o + 16, 'p_filesz'));
    const memsz = is64 ? f.u64(o + 40, 'p_memsz') : BigInt(f.u32(o + 20, 'p_memsz'));
    const flags = f.u32(is64 ? o + 4 : o + 24, 'p_flags');
    if (filesz > memsz) {
      throw new ImageError(`ELF program header ${i}: file size ${hx(filesz)} is larger than memory size ${hx(memsz)}`);
    }
    if (memsz === 0n) continue;
    f.check(offset, filesz, `ELF program header ${i} (PT_LOAD) data`);
    if (paddr + memsz > MAX_PHYS) {
      throw new ImageError(
        `ELF program header ${i}: physical range ${hx(paddr)} + ${hx(memsz)} is beyond the 52-bit physical address space (set load addresses with AT() in the linker script)`,
      );
    }
    segs.push({
      index: i,
      paddr: num(paddr),
      vaddr,
      offset: num(offset),
      data: f.slice(offset, filesz, `ELF program header ${i} (PT_LOAD) data`),
      memsz: num(memsz),
      flags: flags & 7,
    });
  }
  checkOverlaps(segs);
  return segs;
}

/** Two PT_LOADs writing the same physical bytes is a broken link, not a choice. */
export function checkOverlaps(segs: readonly ElfSegment[]): void {
  const sorted = [...segs].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.paddr < a.paddr + a.memsz) {
      const [x, y] = a.index < b.index ? [a, b] : [b, a];
      throw new ImageError(
        `ELF segments ${x.index} and ${y.index} overlap in physical memory ([${hx(x.paddr)}, ${hx(x.paddr + x.memsz)}) and [${hx(y.paddr)}, ${hx(y.paddr + y.memsz)}))`,
      );
    }
  }
}

interface SectionTable {
  list: ElfSection[];
  /** Section 0's sh_info: the program header count under PN_XNUM. */
  xPhnum?: number;
}

interface RawSection {
  nameOff: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  entsize: bigint;
}

function readSectionHeader(f: ByteView, is64: boolean, shoff: bigint, shentsize: number, i: number): RawSection {
  const at = shoff + BigInt(i) * BigInt(shentsize);
  f.check(at, is64 ? 64 : 40, `ELF section header ${i}`);
  const o = num(at);
  const w = (k32: number, k64: number, what: string) => (is64 ? f.u64(o + k64, what) : BigInt(f.u32(o + k32, what)));
  return {
    nameOff: f.u32(o, 'sh_name'),
    type: f.u32(o + 4, 'sh_type'),
    flags: w(8, 8, 'sh_flags'),
    addr: w(12, 16, 'sh_addr'),
    offset: w(16, 24, 'sh_offset'),
    size: w(20, 32, 'sh_size'),
    link: f.u32(o + (is64 ? 40 : 24), 'sh_link'),
    info: f.u32(o + (is64 ? 44 : 28), 'sh_info'),
    entsize: w(36, 56, 'sh_entsize'),
  };
}

function readSections(f: ByteView, is64: boolean, shoff: bigint, shentsize: number, shnum0: number, shstrndx0: number): SectionTable {
  if (shoff === 0n) return { list: [] };
  const need = is64 ? 64 : 40;
  if (shentsize < need) throw new ImageError(`ELF section header size ${shentsize} is smaller than ${need}`);
  // Section 0 carries the real counts when they do not fit in 16 bits.
  const s0 = readSectionHeader(f, is64, shoff, shentsize, 0);
  const shnum = shnum0 === 0 ? num(s0.size > 0xffffffffn ? 0xffffffffn : s0.size) : shnum0;
  const shstrndx = shstrndx0 === 0xffff ? s0.link : shstrndx0;
  // As with program headers, the per-header check bounds the loop by the file size.
  const raws: RawSection[] = [];
  const list: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const r = readSectionHeader(f, is64, shoff, shentsize, i);
    // NOBITS (and NULL) sections occupy no file bytes; their sh_offset means nothing.
    const inFile = r.type !== SHT_NOBITS && r.type !== 0;
    if (inFile) f.check(r.offset, r.size, `ELF section ${i}`);
    raws.push(r);
    list.push({
      index: i,
      name: '',
      type: r.type,
      flags: r.flags,
      addr: r.addr,
      offset: inFile ? num(r.offset) : 0,
      size: inFile ? num(r.size) : 0,
      link: r.link,
      entsize: r.entsize > 0xffffffffn ? 0xffffffff : num(r.entsize),
    });
  }
  if (shstrndx !== 0 && shnum > 0) {
    if (shstrndx >= shnum) throw new ImageError(`ELF section name table index ${shstrndx} is out of range (${shnum} sections)`);
    const t = list[shstrndx]!;
    const names = new ByteView(f.bytes.subarray(t.offset, t.offset + t.size), `section ${shstrndx} (section names)`);
    for (let i = 1; i < shnum; i++) list[i]!.name = names.cstring(raws[i]!.nameOff, `ELF section ${i} name`);
  }
  return { list, xPhnum: s0.info };
}

/** The file bytes of a section (empty for NOBITS); offsets were checked by parseElf. */
export function sectionBytes(bytes: Uint8Array, s: ElfSection): Uint8Array {
  return bytes.subarray(s.offset, s.offset + s.size);
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}
