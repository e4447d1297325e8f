// Reads just enough of .debug_info to know, for each line program, the
// compilation directory of its unit (DW_AT_comp_dir of the unit DIE whose
// DW_AT_stmt_list points at it). DWARF 2-4 line tables name files relative to
// that directory without stating it, so without this step C and assembly
// sources would have relative paths the editor cannot open.

import { hx } from './bytes';
import { Cursor, DW_FORM, DwarfError, readForm, type FormContext } from './dwarf-reader';

const DW_AT_name = 0x03;
const DW_AT_stmt_list = 0x10;
const DW_AT_comp_dir = 0x1b;
const DW_UT_compile = 1;
const DW_UT_type = 2;
const DW_UT_partial = 3;
const DW_UT_skeleton = 4;
const DW_UT_split_compile = 5;
const DW_UT_split_type = 6;

export interface UnitInfo {
  compDir?: string;
  name?: string;
}

export interface InfoSections {
  info?: Uint8Array;
  abbrev?: Uint8Array;
  str?: Uint8Array;
  lineStr?: Uint8Array;
}

const MAX_UNIT_FAILURES = 8;

interface Abbrev {
  attrs: { at: number; form: number; implicit: bigint }[];
}

/** stmt_list offset → unit directory and name. Problems go to `warnings`; the map holds what could be read. */
export function readUnitDirs(s: InfoSections, warnings: string[]): Map<number, UnitInfo> {
  const out = new Map<number, UnitInfo>();
  const info = s.info;
  if (!info || !s.abbrev) return out;
  let pos = 0;
  let failures = 0;
  while (pos + 4 <= info.length) {
    const start = pos;
    const c = new Cursor(info, pos, info.length, '.debug_info');
    try {
      let len: number = c.u32('unit length');
      let offsetSize: 4 | 8 = 4;
      if (len === 0xffffffff) {
        len = c.offset(8, 'unit length');
        offsetSize = 8;
      } else if (len >= 0xfffffff0) {
        throw new DwarfError(`reserved unit length ${hx(len)}`);
      }
      c.need(len, 'unit');
      const end = c.pos + len;
      pos = end;
      c.end = end;
      readUnit(c, offsetSize, s, out);
    } catch (e) {
      if (!(e instanceof DwarfError)) throw e;
      warnings.push(`.debug_info unit at ${hx(start)}: ${e.message}`);
      // An unreadable length loses the rest; many bad units mean garbage, not news.
      if (pos === start || ++failures >= MAX_UNIT_FAILURES) break;
    }
  }
  return out;
}

function readUnit(c: Cursor, offsetSize: 4 | 8, s: InfoSections, out: Map<number, UnitInfo>): void {
  const version = c.u16('version');
  if (version < 2 || version > 5) throw new DwarfError(`DWARF version ${version} is not supported (2-5)`);
  let abbrevOff: number;
  let addressSize: number;
  if (version >= 5) {
    const unitType = c.u8('unit type');
    addressSize = c.u8('address size');
    abbrevOff = c.offset(offsetSize, 'abbrev offset');
    if (unitType === DW_UT_type || unitType === DW_UT_split_type) return;
    if (unitType === DW_UT_skeleton || unitType === DW_UT_split_compile) c.skip(8, 'dwo id');
    else if (unitType !== DW_UT_compile && unitType !== DW_UT_partial) return;
  } else {
    abbrevOff = c.offset(offsetSize, 'abbrev offset');
    addressSize = c.u8('address size');
  }
  if (![1, 2, 4, 8].includes(addressSize)) throw new DwarfError(`address size ${addressSize} is invalid`);
  const code = c.ulebNum('abbrev code');
  if (code === 0) return;
  const abbrev = findAbbrev(s.abbrev!, abbrevOff, code);
  const ctx: FormContext = { version, offsetSize, addressSize, str: s.str, lineStr: s.lineStr };
  let stmtList: number | undefined;
  const unit: UnitInfo = {};
  for (const a of abbrev.attrs) {
    const v = readForm(c, a.form, ctx, a.implicit);
    if (a.at === DW_AT_stmt_list && v.kind === 'num') stmtList = Number(v.value);
    else if (a.at === DW_AT_comp_dir && v.kind === 'str') unit.compDir = v.value;
    else if (a.at === DW_AT_name && v.kind === 'str') unit.name = v.value;
  }
  if (stmtList !== undefined && !out.has(stmtList)) out.set(stmtList, unit);
}

/** Walks the abbreviation table at `off` to the entry for `code`. */
function findAbbrev(abbrev: Uint8Array, off: number, code: number): Abbrev {
  if (off >= abbrev.length) throw new DwarfError(`abbreviation offset ${hx(off)} is outside .debug_abbrev`);
  const c = new Cursor(abbrev, off, abbrev.length, '.debug_abbrev');
  for (;;) {
    const k = c.ulebNum('abbrev code');
    if (k === 0) throw new DwarfError(`abbreviation ${code} not found in the table at .debug_abbrev+${hx(off)}`);
    c.uleb('tag');
    c.u8('children flag');
    const attrs: Abbrev['attrs'] = [];
    for (;;) {
      const at = c.ulebNum('attribute');
      const form = c.ulebNum('form');
      if (at === 0 && form === 0) break;
      const implicit = form === DW_FORM.implicit_const ? c.sleb('implicit constant') : 0n;
      attrs.push({ at, form, implicit });
    }
    if (k === code) return { attrs };
  }
}
