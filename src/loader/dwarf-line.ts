// DWARF .debug_line (versions 2-5, 32- and 64-bit DWARF) → LineEntry[]:
// each unit's header and file table (v5 entry formats included), then its
// line-number program run through the state machine (standard, extended and
// special opcodes). A malformed unit is skipped with a warning, and a
// sequence cut off before DW_LNE_end_sequence is dropped, so what is returned
// is only what was read whole. For linked executables: no relocations applied.

import { hx } from './bytes';
import { readUnitDirs, type InfoSections, type UnitInfo } from './dwarf-info';
import { isAbsolutePath, joinPath } from './dwarf-paths';
import { Cursor, DwarfError, readForm, type FormContext } from './dwarf-reader';
import type { LineEntry } from './types';

export interface LineSections extends InfoSections {
  line: Uint8Array;
}

export interface LineTable {
  lines: LineEntry[];
  warnings: string[];
}

const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;
const MAX_WARNINGS = 20;

interface Header {
  version: number;
  minInst: bigint;
  maxOps: bigint;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  stdLengths: number[];
  /** Resolved path per file index (undefined: no such entry). */
  files: (string | undefined)[];
  dirs: string[];
  compDir: string;
}

/** `addressSize` is the target's (4 for ELF32, 8 for ELF64): addresses wrap at it. */
export function parseDebugLine(s: LineSections, addressSize: 4 | 8): LineTable {
  const warnings: string[] = [];
  const units = readUnitDirs(s, warnings);
  const lines: LineEntry[] = [];
  const sec = s.line;
  let pos = 0;
  let failures = 0;
  while (pos < sec.length) {
    const start = pos;
    const c = new Cursor(sec, pos, sec.length, '.debug_line');
    try {
      let len: number = c.u32('unit length');
      let offsetSize: 4 | 8 = 4;
      if (len === 0xffffffff) {
        len = c.offset(8, 'unit length');
        offsetSize = 8;
      } else if (len >= 0xfffffff0) {
        throw new DwarfError(`reserved unit length ${hx(len)}`);
      }
      c.need(len, 'line program unit');
      pos = c.pos + len;
      c.end = pos;
      if (len === 0) continue; // padding between units
      const problems: string[] = [];
      runUnit(c, offsetSize, s, units.get(start), addressSize, lines, problems);
      for (const p of problems) warnings.push(`.debug_line unit at ${hx(start)}: ${p}`);
    } catch (e) {
      if (!(e instanceof DwarfError)) throw e;
      warnings.push(`.debug_line unit at ${hx(start)}: ${e.message}`);
      if (pos === start || ++failures >= 8) break;
    }
  }
  return { lines: sortLines(lines), warnings: capWarnings(warnings) };
}

function capWarnings(w: string[]): string[] {
  if (w.length <= MAX_WARNINGS) return w;
  return [...w.slice(0, MAX_WARNINGS), `... and ${w.length - MAX_WARNINGS} more debug-info problems`];
}

/** By address; at one address a sequence's end comes before the next sequence's start, else file order. */
export function sortLines(lines: LineEntry[]): LineEntry[] {
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => {
      if (a.l.address !== b.l.address) return a.l.address < b.l.address ? -1 : 1;
      const ea = a.l.endSequence ? 0 : 1;
      const eb = b.l.endSequence ? 0 : 1;
      return ea - eb || a.i - b.i;
    })
    .map((x) => x.l);
}

function readHeader(c: Cursor, offsetSize: 4 | 8, s: LineSections, unit: UnitInfo | undefined): Header {
  const version = c.u16('version');
  if (version < 2 || version > 5) throw new DwarfError(`line table version ${version} is not supported (2-5)`);
  if (version >= 5) {
    const addressSize = c.u8('address size');
    if (![1, 2, 4, 8].includes(addressSize)) throw new DwarfError(`address size ${addressSize} is invalid`);
    if (c.u8('segment selector size') !== 0) throw new DwarfError('segmented addresses are not supported');
  }
  const headerLength = c.offset(offsetSize, 'header length');
  c.need(headerLength, 'line program header');
  const programStart = c.pos + headerLength;
  const minInst = BigInt(c.u8('minimum instruction length'));
  const maxOps = version >= 4 ? BigInt(c.u8('maximum operations per instruction')) : 1n;
  const defaultIsStmt = c.u8('default is_stmt') !== 0;
  const lineBase = (c.u8('line base') << 24) >> 24;
  const lineRange = c.u8('line range');
  const opcodeBase = c.u8('opcode base');
  if (lineRange === 0) throw new DwarfError('line range is 0');
  if (opcodeBase === 0) throw new DwarfError('opcode base is 0');
  if (maxOps === 0n) throw new DwarfError('maximum operations per instruction is 0');
  const stdLengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) stdLengths.push(c.u8('standard opcode lengths'));

  const infoDir = unit?.compDir ?? '';
  const h: Header = { version, minInst, maxOps, defaultIsStmt, lineBase, lineRange, opcodeBase, stdLengths, files: [], dirs: [], compDir: infoDir };
  // The tables must end inside the header: bound the cursor by it.
  const end = c.end;
  c.end = programStart;
  if (version >= 5) readTablesV5(c, offsetSize, s, h);
  else readTablesV2(c, h);
  c.end = end;
  c.pos = programStart;
  return h;
}

/** DWARF 2-4: directory 0 and file paths relative to it mean the unit's DW_AT_comp_dir. */
function readTablesV2(c: Cursor, h: Header): void {
  h.dirs.push(h.compDir);
  for (;;) {
    const d = c.cstr('include directory');
    if (d === '') break;
    h.dirs.push(joinPath(h.compDir, d));
  }
  h.files.push(undefined); // file numbers start at 1
  for (;;) {
    const name = c.cstr('file name');
    if (name === '') break;
    const dir = c.ulebNum('file directory index');
    c.uleb('file time');
    c.uleb('file size');
    h.files.push(filePath(h, name, dir));
  }
}

function filePath(h: Header, name: string, dir: number): string {
  if (isAbsolutePath(name)) return joinPath('', name);
  const d = h.dirs[dir];
  return joinPath(d ?? h.compDir, name);
}

/** DWARF 5: self-describing entry formats; directory 0 is the compilation directory itself. */
function readTablesV5(c: Cursor, offsetSize: 4 | 8, s: LineSections, h: Header): void {
  const ctx: FormContext = { version: h.version, offsetSize, addressSize: 8, str: s.str, lineStr: s.lineStr };
  const dirs = readEntries(c, ctx, 'directory');
  dirs.forEach((e, i) => {
    const p = e.path ?? '';
    if (i === 0) {
      // Directory 0 names the compilation directory; fall back to .debug_info's if it is relative.
      h.compDir = isAbsolutePath(p) || h.compDir === '' ? joinPath('', p) : joinPath(h.compDir, p);
      h.dirs.push(h.compDir);
    } else {
      h.dirs.push(joinPath(h.compDir, p));
    }
  });
  for (const f of readEntries(c, ctx, 'file name')) {
    h.files.push(f.path === undefined ? undefined : filePath(h, f.path, f.dir ?? 0));
  }
}

function readEntries(c: Cursor, ctx: FormContext, what: string): { path?: string; dir?: number }[] {
  const nFormats = c.u8(`${what} entry format count`);
  const formats: [number, number][] = [];
  for (let i = 0; i < nFormats; i++) formats.push([c.ulebNum(`${what} content type`), c.ulebNum(`${what} form`)]);
  const count = c.ulebNum(`${what} count`);
  // Every entry takes at least one byte, unless there are no formats; either
  // way the count cannot exceed what the header holds (guards a huge count).
  if (count > 0 && (formats.length === 0 || count > c.remaining)) {
    throw new DwarfError(`${what} count ${count} does not fit in the header`);
  }
  const out: { path?: string; dir?: number }[] = [];
  for (let i = 0; i < count; i++) {
    const e: { path?: string; dir?: number } = {};
    for (const [type, form] of formats) {
      const v = readForm(c, form, ctx);
      if (type === DW_LNCT_path && v.kind === 'str') e.path = v.value;
      else if (type === DW_LNCT_directory_index && v.kind === 'num') e.dir = Number(v.value);
    }
    out.push(e);
  }
  return out;
}

function runUnit(
  c: Cursor, offsetSize: 4 | 8, s: LineSections, unit: UnitInfo | undefined,
  addressSize: 4 | 8, out: LineEntry[], problems: string[],
): void {
  const h = readHeader(c, offsetSize, s, unit);
  const mask = (1n << BigInt(addressSize * 8)) - 1n;
  const badFiles = new Set<number>();
  let seq: LineEntry[] = [];
  let address = 0n, opIndex = 0n, file = 1, line = 1, column = 0, isStmt = h.defaultIsStmt;
  const reset = () => {
    address = 0n; opIndex = 0n; file = 1; line = 1; column = 0; isStmt = h.defaultIsStmt;
  };
  const advance = (ops: bigint) => {
    if (h.maxOps === 1n) address = (address + h.minInst * ops) & mask;
    else {
      address = (address + h.minInst * ((opIndex + ops) / h.maxOps)) & mask;
      opIndex = (opIndex + ops) % h.maxOps;
    }
  };
  const emit = (endSequence: boolean) => {
    const path = h.files[file];
    if (path === undefined && !endSequence) {
      if (!badFiles.has(file)) problems.push(`file index ${file} is not in the file table; its rows are skipped`);
      badFiles.add(file);
      return;
    }
    const row: LineEntry = { address, file: path ?? '', line: Math.max(0, line), column, isStmt };
    if (endSequence) row.endSequence = true;
    seq.push(row);
  };

  while (c.pos < c.end) {
    const op = c.u8('opcode');
    if (op >= h.opcodeBase) {
      const adj = op - h.opcodeBase;
      advance(BigInt(Math.floor(adj / h.lineRange)));
      line += h.lineBase + (adj % h.lineRange);
      emit(false);
    } else if (op === 0) {
      const len = c.ulebNum('extended opcode length');
      c.need(len, 'extended opcode');
      const next = c.pos + len;
      if (len === 0) continue;
      const sub = c.u8('extended opcode');
      if (sub === 1) {
        emit(true);
        closeSequence(seq, out);
        seq = [];
        reset();
      } else if (sub === 2) {
        if (![1, 2, 4, 8].includes(len - 1)) throw new DwarfError(`DW_LNE_set_address operand of ${len - 1} bytes`);
        address = c.uN(len - 1, 'DW_LNE_set_address') & mask;
        opIndex = 0n;
      } else if (sub === 3) {
        const name = c.cstr('DW_LNE_define_file name');
        const dir = c.ulebNum('DW_LNE_define_file directory');
        h.files.push(filePath(h, name, dir));
      }
      // DW_LNE_set_discriminator and vendor opcodes: nothing we keep.
      if (c.pos > next) throw new DwarfError(`extended opcode ${sub} overran its length ${len}`);
      c.pos = next;
    } else {
      switch (op) {
        case 1: emit(false); break; // DW_LNS_copy
        case 2: advance(c.uleb('DW_LNS_advance_pc')); break;
        case 3: line += Number(c.sleb('DW_LNS_advance_line')); break;
        case 4: file = c.ulebNum('DW_LNS_set_file'); break;
        case 5: column = c.ulebNum('DW_LNS_set_column'); break;
        case 6: isStmt = !isStmt; break;
        case 8: advance(BigInt(Math.floor((255 - h.opcodeBase) / h.lineRange))); break; // DW_LNS_const_add_pc
        case 9: address = (address + BigInt(c.u16('DW_LNS_fixed_advance_pc'))) & mask; opIndex = 0n; break;
        case 12: c.uleb('DW_LNS_set_isa'); break;
        case 7: case 10: case 11: break; // basic_block, prologue_end, epilogue_begin: not kept
        default:
          // An opcode this version does not define: skip its declared operands.
          for (let i = 0; i < (h.stdLengths[op - 1] ?? 0); i++) c.uleb('opcode operand');
      }
    }
  }
  if (seq.length > 0) problems.push(`line program ends without DW_LNE_end_sequence; its last ${seq.length} rows are dropped`);
}

/**
 * Keeps a finished sequence's rows. Rows at or past the end address cover
 * nothing and go, so a sequence that wraps around the address space (a
 * linker's all-ones tombstone for discarded code, plus any advance) or has
 * no length goes whole.
 */
function closeSequence(seq: LineEntry[], out: LineEntry[]): void {
  const endRow = seq[seq.length - 1]!;
  const rows = seq.slice(0, -1).filter((r) => r.address < endRow.address);
  if (rows.length > 0) out.push(...rows, endRow);
}
