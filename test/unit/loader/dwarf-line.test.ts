// .debug_line from hand-assembled bytes: opcodes real toolchains rarely emit
// (DWARF 2 opcode base, define_file, fixed_advance_pc, vendor extended
// opcodes), DWARF 5 entry formats, 64-bit DWARF, and malformed units.

import { describe, expect, it } from 'vitest';
import { parseDebugLine } from '../../../src/loader/dwarf-line';

/** Little byte-assembler for line programs. */
class B {
  bytes: number[] = [];
  u8(...v: number[]) { this.bytes.push(...v.map((x) => x & 0xff)); return this; }
  u16(v: number) { return this.u8(v, v >> 8); }
  u32(v: number) { return this.u8(v, v >> 8, v >> 16, v >>> 24); }
  u64(v: bigint) { for (let i = 0n; i < 8n; i++) this.u8(Number((v >> (8n * i)) & 0xffn)); return this; }
  uleb(v: number) { do { let b = v & 0x7f; v = Math.floor(v / 128); if (v) b |= 0x80; this.u8(b); } while (v); return this; }
  sleb(v: number) {
    for (;;) {
      const b = v & 0x7f; v >>= 7;
      if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return this.u8(b);
      this.u8(b | 0x80);
    }
  }
  str(s: string) { this.u8(...new TextEncoder().encode(s), 0); return this; }
  add(o: B) { this.bytes.push(...o.bytes); return this; }
  get length() { return this.bytes.length; }
}

/** Wraps header-after-length + program into a unit (32- or 64-bit DWARF). */
function unit(version: number, preLen: B, header: B, program: B, dwarf64 = false): B {
  const body = new B().u16(version).add(preLen);
  if (dwarf64) body.u64(BigInt(header.length)); else body.u32(header.length);
  body.add(header).add(program);
  const out = new B();
  if (dwarf64) out.u32(0xffffffff).u64(BigInt(body.length)); else out.u32(body.length);
  return out.add(body);
}

const bytes = (b: B) => Uint8Array.from(b.bytes);
const rows = (t: ReturnType<typeof parseDebugLine>) =>
  t.lines.map((l) => `${l.address.toString(16)} ${l.file}:${l.line}:${l.column}${l.isStmt ? '' : ' !stmt'}${l.endSequence ? ' end' : ''}`);

function v2Unit(program: B): B {
  const header = new B()
    .u8(1, 1, -5, 14, 10) // min_inst, default_is_stmt, line_base, line_range, opcode_base (DWARF 2: 10)
    .u8(0, 1, 1, 1, 1, 0, 0, 0, 1)
    .str('inc').u8(0)
    .str('a.c').uleb(0).uleb(0).uleb(0)
    .str('b.h').uleb(1).uleb(0).uleb(0)
    .u8(0);
  return unit(2, new B(), header, program);
}

describe('DWARF 2 line program', () => {
  it('runs standard, special and extended opcodes', () => {
    const p = new B()
      .u8(0, 5, 2).u32(0x1000) // DW_LNE_set_address
      .u8(3).sleb(9).u8(1) // advance_line 9, copy → 0x1000 line 10
      .u8(10 + (1 + 5) + 14 * 3) // special: address +3, line +1
      .u8(4).uleb(2).u8(5).uleb(7).u8(6).u8(8).u8(1) // file 2, column 7, !stmt, const_add_pc (+17), copy
      .u8(10) // opcode 10 is special in DWARF 2: address +0, line -5
      .u8(9).u16(0x10) // fixed_advance_pc
      .u8(0, 8, 3).str('c.s').uleb(0).uleb(0).uleb(0) // DW_LNE_define_file → file 3
      .u8(4).uleb(3).u8(3).sleb(100).u8(6).u8(1)
      .u8(0, 4, 0x80, 1, 2, 3) // vendor extended opcode: skipped by its length
      .u8(2).uleb(4) // advance_pc
      .u8(0, 1, 1); // end_sequence
    const t = parseDebugLine({ line: bytes(v2Unit(p)) }, 4);
    expect(t.warnings).toEqual([]);
    expect(rows(t)).toEqual([
      '1000 a.c:10:0',
      '1003 a.c:11:0',
      '1014 inc/b.h:11:7 !stmt',
      '1014 inc/b.h:6:7 !stmt',
      '1024 c.s:106:7',
      '1028 c.s:106:7 end',
    ]);
  });

  it('wraps addresses at the target width (and drops rows the wrap left past the end)', () => {
    const p = new B().u8(0, 5, 2).u32(0xfffffffe).u8(1).u8(2).uleb(4).u8(1).u8(2).uleb(1).u8(0, 1, 1);
    expect(rows(parseDebugLine({ line: bytes(v2Unit(p)) }, 4))).toEqual(['2 a.c:1:0', '3 a.c:1:0 end']);
  });
});

function v5Header(offsetSize: 4 | 8): B {
  const strp = (v: number) => (b: B) => (offsetSize === 4 ? b.u32(v) : b.u64(BigInt(v)));
  const h = new B()
    .u8(1, 1, 1, -5, 14, 13) // min_inst, max_ops, default_is_stmt, line_base, line_range, opcode_base
    .u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1)
    .u8(1).uleb(1).uleb(0x08) // directory format: path as DW_FORM_string
    .uleb(2).str('/src').str('lib')
    .u8(3).uleb(1).uleb(0x1f).uleb(2).uleb(0x0f).uleb(5).uleb(0x1e) // path line_strp, dir udata, MD5 data16
    .uleb(2);
  strp(0)(h); h.uleb(0).u8(...new Array(16).fill(0xaa));
  strp(7)(h); h.uleb(1).u8(...new Array(16).fill(0xbb));
  return h;
}

function v5Program(): B {
  return new B()
    .u8(0, 9, 2).u64(0xffffffff80001000n)
    .u8(1) // file register starts at 1: util.h
    .u8(4).uleb(0).u8(2).uleb(2).u8(5).uleb(3).u8(1)
    .u8(2).uleb(1).u8(0, 1, 1);
}

const LINE_STR = new TextEncoder().encode('main.c\0util.h\0');
const V5_ROWS = ['ffffffff80001000 /src/lib/util.h:1:0', 'ffffffff80001002 /src/main.c:1:3', 'ffffffff80001003 /src/main.c:1:3 end'];

describe('DWARF 5 line program', () => {
  it('reads entry formats (string, line_strp, udata, data16) with directory 0 as the base', () => {
    const u = unit(5, new B().u8(8, 0), v5Header(4), v5Program());
    const t = parseDebugLine({ line: bytes(u), lineStr: LINE_STR }, 8);
    expect(t.warnings).toEqual([]);
    expect(rows(t)).toEqual(V5_ROWS);
  });

  it('reads 64-bit DWARF units', () => {
    const u = unit(5, new B().u8(8, 0), v5Header(8), v5Program(), true);
    expect(rows(parseDebugLine({ line: bytes(u), lineStr: LINE_STR }, 8))).toEqual(V5_ROWS);
  });

  it('warns when line_strp has no .debug_line_str to point into', () => {
    const t = parseDebugLine({ line: bytes(unit(5, new B().u8(8, 0), v5Header(4), v5Program())) }, 8);
    expect(t.lines).toEqual([]);
    expect(t.warnings).toEqual(['.debug_line unit at 0x0: string reference into .debug_line_str, but the file has no .debug_line_str section']);
  });
});

describe('malformed line tables', () => {
  const good = new B().u8(0, 5, 2).u32(0x2000).u8(1).u8(2).uleb(2).u8(0, 1, 1);

  it('skips a bad unit and reads the next', () => {
    const bad = new B().u32(3).u16(9).u8(0);
    const t = parseDebugLine({ line: bytes(new B().add(bad).add(v2Unit(good))) }, 4);
    expect(rows(t)).toEqual(['2000 a.c:1:0', '2002 a.c:1:0 end']);
    expect(t.warnings).toEqual(['.debug_line unit at 0x0: line table version 9 is not supported (2-5)']);
  });

  it('stops at a unit length past the section', () => {
    const t = parseDebugLine({ line: bytes(new B().u32(0x1000).u16(2)) }, 4);
    expect(t.lines).toEqual([]);
    expect(t.warnings[0]).toMatch(/line program unit at \.debug_line\+0x4 runs past the end/);
  });

  it('drops a sequence without end_sequence, keeping finished ones', () => {
    const p = new B().add(good).u8(0, 5, 2).u32(0x3000).u8(1).u8(1);
    const t = parseDebugLine({ line: bytes(v2Unit(p)) }, 4);
    expect(rows(t)).toEqual(['2000 a.c:1:0', '2002 a.c:1:0 end']);
    expect(t.warnings).toEqual(['.debug_line unit at 0x0: line program ends without DW_LNE_end_sequence; its last 2 rows are dropped']);
  });

  it('skips rows naming a file that is not in the table', () => {
    const p = new B().u8(0, 5, 2).u32(0x2000).u8(4).uleb(9).u8(1).u8(4).uleb(1).u8(2).uleb(1).u8(1).u8(2).uleb(1).u8(0, 1, 1);
    const t = parseDebugLine({ line: bytes(v2Unit(p)) }, 4);
    expect(rows(t)).toEqual(['2001 a.c:1:0', '2002 a.c:1:0 end']);
    expect(t.warnings).toEqual(['.debug_line unit at 0x0: file index 9 is not in the file table; its rows are skipped']);
  });

  it('refuses line_range 0 and endless counts without looping', () => {
    const zeroRange = unit(3, new B(), new B().u8(1, 1, -5, 0, 13).u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1).u8(0).u8(0), new B());
    expect(parseDebugLine({ line: bytes(zeroRange) }, 4).warnings).toEqual(['.debug_line unit at 0x0: line range is 0']);
    const hugeDirs = new B().u8(1, 1, 1, -5, 14, 13).u8(0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1).u8(0).uleb(2 ** 40);
    const t = parseDebugLine({ line: bytes(unit(5, new B().u8(8, 0), hugeDirs, new B())) }, 8);
    expect(t.warnings[0]).toMatch(/directory count 1099511627776 does not fit in the header/);
  });

  it('refuses an overlong LEB128', () => {
    const p = new B().u8(0, 5, 2).u32(0x2000).u8(2).u8(...new Array(12).fill(0x80), 0);
    expect(parseDebugLine({ line: bytes(v2Unit(p)) }, 4).warnings[0]).toMatch(/LEB128 longer than 10 bytes/);
  });

  it('drops sequences at a linker tombstone (discarded code)', () => {
    const p = new B().u8(0, 5, 2).u32(0xffffffff).u8(1).u8(2).uleb(6).u8(1).u8(0, 1, 1).add(good);
    expect(rows(parseDebugLine({ line: bytes(v2Unit(p)) }, 4))).toEqual(['2000 a.c:1:0', '2002 a.c:1:0 end']);
  });

  it('never throws on random bytes', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let n = 0; n < 300; n++) {
      const b = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
      // A plausible first unit length makes the parser go deeper than the length check.
      if (b.length > 8 && rnd() < 0.7) new DataView(b.buffer).setUint32(0, b.length - 4, true);
      if (b.length > 8 && rnd() < 0.7) b[4] = 2 + Math.floor(rnd() * 4);
      const t = parseDebugLine({ line: b, lineStr: b, str: b, info: b, abbrev: b }, rnd() < 0.5 ? 4 : 8);
      expect(Array.isArray(t.lines)).toBe(true);
    }
  });
});
