// addressToLine, lineToAddresses and symbolAt on hand-made tables.

import { describe, expect, it } from 'vitest';
import { addressToLine, lineToAddresses, symbolAt, type GuestSymbol, type LineEntry } from '../../../src/loader';

const row = (address: number, file: string, line: number, isStmt = true, endSequence = false): LineEntry => ({
  address: BigInt(address), file, line, column: 0, isStmt, ...(endSequence ? { endSequence: true } : {}),
});

// Two sequences with a gap at [0x110, 0x200); the loop at line 5 appears twice.
const lines: LineEntry[] = [
  row(0x100, '/k/a.c', 3),
  row(0x104, '/k/a.c', 5),
  row(0x106, '/k/a.c', 5, false),
  row(0x108, '/k/a.c', 6),
  row(0x10c, '/k/a.c', 5),
  row(0x110, '/k/a.c', 5, true, true),
  row(0x200, '/k/b.S', 1),
  row(0x200, '/k/b.S', 2),
  row(0x204, '/k/b.S', 2, true, true),
];

describe('addressToLine', () => {
  it('finds the row whose range holds the address', () => {
    expect(addressToLine(lines, 0x100)?.line).toBe(3);
    expect(addressToLine(lines, 0x103)?.line).toBe(3);
    expect(addressToLine(lines, 0x107)).toMatchObject({ line: 5, isStmt: false });
    expect(addressToLine(lines, 0x10f)?.line).toBe(5);
  });

  it('returns nothing before the code, in gaps, and past the end', () => {
    expect(addressToLine(lines, 0xff)).toBeUndefined();
    expect(addressToLine(lines, 0x110)).toBeUndefined();
    expect(addressToLine(lines, 0x1ff)).toBeUndefined();
    expect(addressToLine(lines, 0x204)).toBeUndefined();
    expect(addressToLine([], 0)).toBeUndefined();
  });

  it('takes the last row at an address (earlier ones cover nothing)', () => {
    expect(addressToLine(lines, 0x200)).toMatchObject({ file: '/k/b.S', line: 2 });
  });
});

describe('lineToAddresses', () => {
  it('gives the start of each run of the line, is_stmt rows only', () => {
    expect(lineToAddresses(lines, '/k/a.c', 5)).toEqual([0x104n, 0x10cn]);
    expect(lineToAddresses(lines, '/k/a.c', 3)).toEqual([0x100n]);
    expect(lineToAddresses(lines, '/k/a.c', 4)).toEqual([]);
  });

  it('falls back to non-stmt rows when a line has no other', () => {
    const t = [row(0x10, '/x.c', 1, false), row(0x12, '/x.c', 2), row(0x14, '/x.c', 2, true, true)];
    expect(lineToAddresses(t, '/x.c', 1)).toEqual([0x10n]);
  });

  it('matches files after normalization, or by path suffix', () => {
    expect(lineToAddresses(lines, '/k/./x/../a.c', 3)).toEqual([0x100n]);
    expect(lineToAddresses(lines, 'a.c', 3)).toEqual([0x100n]);
    expect(lineToAddresses(lines, 'k/b.S', 2)).toEqual([0x200n]);
    // Two different absolute paths are two files (mapping build paths is the adapter's job).
    expect(lineToAddresses(lines, '/elsewhere/k/b.S', 2)).toEqual([]);
    expect(lineToAddresses(lines, '/k/c.c', 3)).toEqual([]);
    expect(lineToAddresses(lines, 'ka.c', 3)).toEqual([]);
  });

  it('does not match an end-of-sequence row', () => {
    const t = [row(0x10, '/x.c', 1), row(0x12, '/x.c', 7, true, true)];
    expect(lineToAddresses(t, '/x.c', 7)).toEqual([]);
  });
});

describe('symbolAt', () => {
  const sym = (name: string, address: number, size: number, kind: GuestSymbol['kind'] = 'func'): GuestSymbol => ({
    name, address: BigInt(address), size, kind,
  });
  const symbols = [sym('start', 0x1000, 0, 'other'), sym('main', 0x1010, 0x10), sym('main_label', 0x1010, 0, 'other'), sym('buf', 0x2000, 8, 'object')];

  it('names the containing symbol and the offset into it', () => {
    expect(symbolAt(symbols, 0x1005)).toEqual({ symbol: symbols[0], offset: 5n });
    expect(symbolAt(symbols, 0x101f)).toEqual({ symbol: symbols[1], offset: 0xfn });
    expect(symbolAt(symbols, 0x2007n)).toEqual({ symbol: symbols[3], offset: 7n });
  });

  it('falls back to a label at the same address past a sized symbol', () => {
    expect(symbolAt(symbols, 0x1020)).toEqual({ symbol: symbols[2], offset: 0x10n });
  });

  it('returns nothing below all symbols or past a sized one', () => {
    expect(symbolAt(symbols, 0xfff)).toBeUndefined();
    expect(symbolAt(symbols, 0x2008)).toBeUndefined();
    expect(symbolAt([], 0)).toBeUndefined();
  });
});
