// Lookups the adapter makes on a LoadedImage: the source line at an address
// (stack frames, stepping), the addresses of a source line (breakpoints),
// and the symbol at an address ("kmain+0x12"). Binary search over the sorted
// arrays the loader produces.

import { isAbsolutePath, normalizePath } from './dwarf-paths';
import type { GuestSymbol, LineEntry } from './types';

/** Index of the last element whose address is <= addr, or -1. */
function lastAtOrBelow<T extends { address: bigint }>(arr: readonly T[], addr: bigint): number {
  let lo = 0;
  let hi = arr.length; // answer in [lo-1, hi-1]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]!.address <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * The row whose range [row.address, next row's address) holds addr, or
 * undefined when addr is before all code or in a gap between sequences.
 */
export function addressToLine(lines: readonly LineEntry[], addr: bigint | number): LineEntry | undefined {
  const i = lastAtOrBelow(lines, BigInt(addr));
  if (i < 0) return undefined;
  const row = lines[i]!;
  return row.endSequence ? undefined : row;
}

function sameFile(a: string, b: string): boolean {
  return a === b || (a.length > 0 && b.length > 0 && normalizePath(a).replace(/\\/g, '/') === normalizePath(b).replace(/\\/g, '/'));
}

/** True if the relative path `tail` ends `full` at a path-component boundary. */
function endsWithPath(full: string, tail: string): boolean {
  if (isAbsolutePath(tail)) return false;
  const f = normalizePath(full).replace(/\\/g, '/');
  const t = normalizePath(tail).replace(/\\/g, '/').replace(/^\.\//, '');
  return f === t || f.endsWith('/' + t);
}

/**
 * Addresses where `line` of `file` begins: the first row of each run of rows
 * on that line, preferring is_stmt rows (the places a debugger should stop).
 * `file` matches a row's file exactly (after normalization); failing that, a
 * relative name on either side matches as a path suffix of the other
 * (".../src/kernel.c" ~ "src/kernel.c"), so a table without a compilation
 * directory still works. Two different absolute paths never match.
 * Sorted and without duplicates; empty if the line has no code.
 */
export function lineToAddresses(lines: readonly LineEntry[], file: string, line: number): bigint[] {
  // Few distinct file strings, many rows: decide each file string once.
  const files = [...new Set(lines.map((l) => l.file))].filter((f) => f !== '');
  let wanted = new Set(files.filter((f) => sameFile(f, file)));
  if (wanted.size === 0) wanted = new Set(files.filter((f) => endsWithPath(f, file) || endsWithPath(file, f)));
  const starts = (stmtOnly: boolean): bigint[] => {
    const out = new Set<bigint>();
    let inRun = false;
    for (const l of lines) {
      if (l.endSequence || l.line !== line || !wanted.has(l.file)) {
        inRun = false;
      } else if (!inRun && (!stmtOnly || l.isStmt)) {
        out.add(l.address);
        inRun = true;
      }
    }
    return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const stmt = starts(true);
  return stmt.length > 0 ? stmt : starts(false);
}

/**
 * The symbol containing addr and addr's offset into it. Sized symbols
 * (functions, objects) contain [address, address + size); unsized ones
 * (assembler labels) reach to the next symbol. Undefined when addr is below
 * every symbol or past the end of the nearest sized one.
 */
export function symbolAt(symbols: readonly GuestSymbol[], addr: bigint | number): { symbol: GuestSymbol; offset: bigint } | undefined {
  const a = BigInt(addr);
  const i = lastAtOrBelow(symbols, a);
  if (i < 0) return undefined;
  // Several symbols may share that address; the loader sorted the most
  // specific first (func, object, label), so take the first that contains a.
  const at = symbols[i]!.address;
  let j = i;
  while (j > 0 && symbols[j - 1]!.address === at) j--;
  for (; j <= i; j++) {
    const s = symbols[j]!;
    if (s.size === 0 || a < s.address + BigInt(s.size)) return { symbol: s, offset: a - s.address };
  }
  return undefined;
}
