// A bounds-checked cursor over a DWARF section, LEB128 decoding, and reading
// attribute values by form (DWARF 2-5, 32- and 64-bit DWARF). Failures throw
// DwarfError, which the line-table parser turns into a warning for the unit
// at hand: bad debug info costs source lines, never the boot.

import { decodeUtf8, hx } from './bytes';

export class DwarfError extends Error {}

export class Cursor {
  private readonly dv: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    /** Reads may not go past this offset (a unit's end, or the section's). */
    public end: number,
    readonly section: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DwarfError(`${what} at ${this.section}+${hx(this.pos)} runs past the end (${n} bytes needed, ${Math.max(0, this.end - this.pos)} left)`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Unsigned little-endian integer of 1, 2, 3, 4 or 8 bytes. */
  uN(size: number, what: string): bigint {
    if (size === 8) return this.u64(what);
    this.need(size, what);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[this.pos + i]!;
    this.pos += size;
    return BigInt(v);
  }

  /** A section offset: 4 bytes in 32-bit DWARF, 8 in 64-bit. */
  offset(size: 4 | 8, what: string): number {
    return size === 4 ? this.u32(what) : safe(this.u64(what), what);
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  uleb(what: string): bigint {
    let result = 0n;
    let shift = 0n;
    const start = this.pos;
    for (;;) {
      const b = this.u8(what);
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return result;
      // 10 bytes hold 64 bits; longer is corrupt (and would never end on a run of 0x80s).
      if (this.pos - start >= 10) throw new DwarfError(`${what} at ${this.section}+${hx(start)}: LEB128 longer than 10 bytes`);
    }
  }

  sleb(what: string): bigint {
    let result = 0n;
    let shift = 0n;
    const start = this.pos;
    for (;;) {
      const b = this.u8(what);
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return b & 0x40 ? result - (1n << shift) : result;
      if (this.pos - start >= 10) throw new DwarfError(`${what} at ${this.section}+${hx(start)}: LEB128 longer than 10 bytes`);
    }
  }

  /** An unsigned LEB128 used as a count or index: must fit in a JS number. */
  ulebNum(what: string): number {
    return safe(this.uleb(what), what);
  }

  cstr(what: string): string {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new DwarfError(`${what} at ${this.section}+${hx(this.pos)} is not NUL-terminated`);
    const s = decodeUtf8(this.bytes.subarray(this.pos, nul));
    this.pos = nul + 1;
    return s;
  }
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DwarfError(`${what} ${hx(v)} is too large`);
  return Number(v);
}

/** The NUL-terminated string at `off` in a string section (.debug_str, .debug_line_str). */
export function stringAt(section: Uint8Array | undefined, name: string, off: number): string {
  if (!section) throw new DwarfError(`string reference into ${name}, but the file has no ${name} section`);
  if (off >= section.length) throw new DwarfError(`string offset ${hx(off)} is outside ${name} (size ${hx(section.length)})`);
  return new Cursor(section, off, section.length, name).cstr('string');
}

export const DW_FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, block: 0x09,
  block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d, strp: 0x0e, udata: 0x0f, ref_addr: 0x10, ref1: 0x11,
  ref2: 0x12, ref4: 0x13, ref8: 0x14, ref_udata: 0x15, indirect: 0x16, sec_offset: 0x17, exprloc: 0x18,
  flag_present: 0x19, strx: 0x1a, addrx: 0x1b, ref_sup4: 0x1c, strp_sup: 0x1d, data16: 0x1e, line_strp: 0x1f,
  ref_sig8: 0x20, implicit_const: 0x21, loclistx: 0x22, rnglistx: 0x23, ref_sup8: 0x24, strx1: 0x25, strx2: 0x26,
  strx3: 0x27, strx4: 0x28, addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
  GNU_addr_index: 0x1f01, GNU_str_index: 0x1f02, GNU_ref_alt: 0x1f20, GNU_strp_alt: 0x1f21,
} as const;

export interface FormContext {
  version: number;
  offsetSize: 4 | 8;
  addressSize: number;
  str?: Uint8Array;
  lineStr?: Uint8Array;
}

/** A decoded attribute: a number, a string, or something we only stepped over. */
export type FormValue = { kind: 'num'; value: bigint } | { kind: 'str'; value: string } | { kind: 'other' };

const OTHER: FormValue = { kind: 'other' };

/** Reads one value of `form`; `implicit` is the abbreviation's DW_FORM_implicit_const value. */
export function readForm(c: Cursor, form: number, ctx: FormContext, implicit = 0n, depth = 0): FormValue {
  const F = DW_FORM;
  const num = (value: bigint): FormValue => ({ kind: 'num', value });
  switch (form) {
    case F.addr: return num(c.uN(ctx.addressSize, 'address'));
    case F.data1: case F.ref1: case F.flag: case F.strx1: case F.addrx1: return num(c.uN(1, 'data1'));
    case F.data2: case F.ref2: case F.strx2: case F.addrx2: return num(c.uN(2, 'data2'));
    case F.strx3: case F.addrx3: return num(c.uN(3, 'data3'));
    case F.data4: case F.ref4: case F.ref_sup4: case F.strx4: case F.addrx4: return num(c.uN(4, 'data4'));
    case F.data8: case F.ref8: case F.ref_sig8: case F.ref_sup8: return num(c.u64('data8'));
    case F.data16: c.skip(16, 'data16'); return OTHER;
    case F.sdata: return num(c.sleb('sdata'));
    case F.udata: case F.ref_udata: case F.strx: case F.addrx: case F.loclistx: case F.rnglistx:
    case F.GNU_addr_index: case F.GNU_str_index:
      return num(c.uleb('udata'));
    case F.string: return { kind: 'str', value: c.cstr('string') };
    case F.strp: return { kind: 'str', value: stringAt(ctx.str, '.debug_str', c.offset(ctx.offsetSize, 'strp')) };
    case F.line_strp: return { kind: 'str', value: stringAt(ctx.lineStr, '.debug_line_str', c.offset(ctx.offsetSize, 'line_strp')) };
    case F.sec_offset: case F.strp_sup: case F.GNU_ref_alt: case F.GNU_strp_alt:
      return num(BigInt(c.offset(ctx.offsetSize, 'offset')));
    // DWARF 2 made ref_addr address-sized; 3 and later made it offset-sized.
    case F.ref_addr: return num(c.uN(ctx.version <= 2 ? ctx.addressSize : ctx.offsetSize, 'ref_addr'));
    case F.block1: c.skip(c.u8('block1 length'), 'block1'); return OTHER;
    case F.block2: c.skip(c.u16('block2 length'), 'block2'); return OTHER;
    case F.block4: c.skip(c.u32('block4 length'), 'block4'); return OTHER;
    case F.block: case F.exprloc: c.skip(c.ulebNum('block length'), 'block'); return OTHER;
    case F.flag_present: return num(1n);
    case F.implicit_const: return num(implicit);
    case F.indirect: {
      if (depth > 4) throw new DwarfError('DW_FORM_indirect nested too deeply');
      return readForm(c, c.ulebNum('indirect form'), ctx, implicit, depth + 1);
    }
    default:
      throw new DwarfError(`unknown attribute form ${hx(form)} at ${c.section}+${hx(c.pos)}`);
  }
}
