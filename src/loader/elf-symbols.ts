// ELF .symtab → GuestSymbol[], sorted for binary search. Keeps the symbols a
// debugger can show for an address (functions, objects, assembler labels) and
// drops what cannot name one: unnamed, section and file symbols, undefined
// references, and absolute untyped symbols (assembler constants such as
// `.set MB_MAGIC, 0x1BADB002`, which are numbers, not places).

import { ByteView, hx } from './bytes';
import { SHT_SYMTAB, sectionBytes, type ElfFile } from './elf';
import { ImageError, type GuestSymbol } from './types';

const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;
const STT_NOTYPE = 0;
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;

const KIND_ORDER: Record<GuestSymbol['kind'], number> = { func: 0, object: 1, other: 2 };

/**
 * Orders by address; at one address functions come before objects before
 * plain labels, so a lookup that lands on a shared address names the most
 * specific thing.
 */
export function compareSymbols(a: GuestSymbol, b: GuestSymbol): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  const k = KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  if (k !== 0) return k;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function readSymbols(bytes: Uint8Array, elf: ElfFile): GuestSymbol[] {
  const symtab = elf.sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return [];
  const is64 = elf.elfClass === 64;
  const need = is64 ? 24 : 16;
  const entsize = symtab.entsize === 0 ? need : symtab.entsize;
  if (entsize < need) {
    throw new ImageError(`ELF symbol table (section ${symtab.index}) entry size ${entsize} is smaller than ${need}`);
  }
  const strtab = elf.sections[symtab.link];
  if (!strtab || symtab.link === 0) {
    throw new ImageError(`ELF symbol table (section ${symtab.index}) links to string table section ${symtab.link}, which does not exist`);
  }
  const syms = new ByteView(sectionBytes(bytes, symtab), `section ${symtab.index} (${symtab.name || 'symbols'})`);
  const strs = new ByteView(sectionBytes(bytes, strtab), `section ${strtab.index} (${strtab.name || 'symbol names'})`);

  const out: GuestSymbol[] = [];
  const count = Math.floor(symtab.size / entsize);
  for (let i = 1; i < count; i++) {
    const o = i * entsize;
    const nameOff = syms.u32(o, `ELF symbol ${i}`);
    const info = syms.u8(o + (is64 ? 4 : 12), `ELF symbol ${i}`);
    const shndx = syms.u16(o + (is64 ? 6 : 14), `ELF symbol ${i}`);
    const type = info & 0xf;
    if (nameOff === 0 || type === STT_SECTION || type === STT_FILE || shndx === SHN_UNDEF) continue;
    if (shndx === SHN_ABS && type === STT_NOTYPE) continue;
    if (nameOff >= strs.length) {
      throw new ImageError(`ELF symbol ${i} name offset ${hx(nameOff)} is outside its string table (size ${hx(strs.length)})`);
    }
    const name = strs.cstring(nameOff, `ELF symbol ${i} name`);
    if (name === '') continue;
    const address = is64 ? syms.u64(o + 8, `ELF symbol ${i}`) : BigInt(syms.u32(o + 4, `ELF symbol ${i}`));
    const size = is64 ? syms.u64(o + 16, `ELF symbol ${i}`) : BigInt(syms.u32(o + 8, `ELF symbol ${i}`));
    out.push({
      name,
      address,
      // Sizes past 2^53 are nonsense; clamp rather than lose precision silently.
      size: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
      kind: type === STT_FUNC ? 'func' : type === STT_OBJECT ? 'object' : 'other',
    });
  }
  return out.sort(compareSymbols);
}
