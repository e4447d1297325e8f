// Words for raw x86 state bits, as the debugger shows them: control-register
// and EFER flag names, DR6/DR7, segment access rights (held in the VMX
// access-rights layout, see engine/x86/segdesc.ts) and paging-entry flags.
// Pure functions of numbers; the register and walk views of the emulator
// target use them, and so can other backends.

const CR0_BITS: ReadonlyArray<[number, string]> = [
  [31, 'PG'], [30, 'CD'], [29, 'NW'], [18, 'AM'], [16, 'WP'], [5, 'NE'], [4, 'ET'], [3, 'TS'], [2, 'EM'], [1, 'MP'], [0, 'PE'],
];
const CR4_BITS: ReadonlyArray<[number, string]> = [
  [24, 'PKS'], [23, 'CET'], [22, 'PKE'], [21, 'SMAP'], [20, 'SMEP'], [18, 'OSXSAVE'], [17, 'PCIDE'], [16, 'FSGSBASE'],
  [14, 'SMXE'], [13, 'VMXE'], [12, 'LA57'], [11, 'UMIP'], [10, 'OSXMMEXCPT'], [9, 'OSFXSR'], [8, 'PCE'], [7, 'PGE'],
  [6, 'MCE'], [5, 'PAE'], [4, 'PSE'], [3, 'DE'], [2, 'TSD'], [1, 'PVI'], [0, 'VME'],
];
const EFER_BITS: ReadonlyArray<[number, string]> = [
  [15, 'TCE'], [14, 'FFXSR'], [13, 'LMSLE'], [12, 'SVME'], [11, 'NXE'], [10, 'LMA'], [8, 'LME'], [0, 'SCE'],
];
const DR6_BITS: ReadonlyArray<[number, string]> = [[15, 'BT'], [14, 'BS'], [13, 'BD'], [3, 'B3'], [2, 'B2'], [1, 'B1'], [0, 'B0']];

function bitNames(v: number, table: ReadonlyArray<[number, string]>): string[] {
  return table.filter(([b]) => Math.floor(v / 2 ** b) % 2 === 1).map(([, n]) => n);
}

const bracket = (names: string[]): string => `[${names.join(' ')}]`;

export const describeCr0 = (v: number): string => bracket(bitNames(v, CR0_BITS));
export const describeCr4 = (v: number): string => bracket(bitNames(v, CR4_BITS));
export const describeEfer = (v: number): string => bracket(bitNames(v, EFER_BITS));
export const describeDr6 = (v: number): string => bracket(bitNames(v, DR6_BITS));

/** CR3: where the top paging structure is, and its cache bits. */
export function describeCr3(lo: number, hi: number, pae: boolean): string {
  const base = (hi >>> 0) * 0x1_0000_0000 + ((lo & (pae ? 0xffffffe0 : 0xfffff000)) >>> 0);
  const names = [`table at 0x${base.toString(16)}`];
  if (lo & 8) names.push('PWT');
  if (lo & 16) names.push('PCD');
  return bracket(names);
}

/** DR7: the enabled breakpoints with their condition and length. */
export function describeDr7(v: number): string {
  const rw = ['exec', 'write', 'io', 'rw'];
  const len = [1, 2, 8, 4];
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const l = (v >>> (2 * i)) & 1, g = (v >>> (2 * i + 1)) & 1;
    if (!l && !g) continue;
    const cond = (v >>> (16 + 4 * i)) & 3, ln = (v >>> (18 + 4 * i)) & 3;
    out.push(`${l ? 'L' : ''}${g ? 'G' : ''}${i}:${rw[cond]}/${len[ln]}`);
  }
  if (v & (1 << 13)) out.push('GD');
  return bracket(out);
}

/** Segment access rights (VMX layout): "code RX accessed DPL0 P L G" and the like. */
export function describeAccessRights(ar: number): string {
  if (ar & (1 << 16)) return '[unusable]';
  const type = ar & 0xf;
  const s = (ar >>> 4) & 1;
  const dpl = (ar >>> 5) & 3;
  const parts: string[] = [];
  if (s) {
    if (type & 8) {
      parts.push('code', type & 2 ? 'RX' : 'X');
      if (type & 4) parts.push('conforming');
    } else {
      parts.push('data', type & 2 ? 'RW' : 'R');
      if (type & 4) parts.push('expand-down');
    }
    if (type & 1) parts.push('accessed');
  } else {
    parts.push(SYSTEM_TYPES[type] ?? `system type ${type}`);
  }
  parts.push(`DPL${dpl}`);
  if (ar & (1 << 7)) parts.push('P');
  if (ar & (1 << 13)) parts.push('L');
  if (ar & (1 << 14)) parts.push('D/B');
  if (ar & (1 << 15)) parts.push('G');
  if (ar & (1 << 12)) parts.push('AVL');
  return bracket(parts);
}

const SYSTEM_TYPES: Readonly<Record<number, string>> = {
  1: 'TSS16 available', 2: 'LDT', 3: 'TSS16 busy', 4: 'call gate 16', 5: 'task gate', 6: 'interrupt gate 16',
  7: 'trap gate 16', 9: 'TSS available', 11: 'TSS busy', 12: 'call gate', 14: 'interrupt gate', 15: 'trap gate',
};

/**
 * Flag names of a paging-structure entry. `leaf` says whether it maps a page
 * (so bit 7 is PS for a large page or PAT for a 4 KiB PTE), `paePdpte` marks
 * the four PAE PDPTEs, which have only P, PWT and PCD.
 */
export function describeEntryFlags(lo: number, hi: number, opts: { leaf: boolean; level: string; paePdpte: boolean; nxe: boolean }): string[] {
  const f: string[] = [];
  if (lo & 1) f.push('P'); else return ['not present'];
  if (opts.paePdpte) {
    if (lo & 8) f.push('PWT');
    if (lo & 16) f.push('PCD');
    return f;
  }
  f.push(lo & 2 ? 'RW' : 'RO');
  f.push(lo & 4 ? 'US' : 'S');
  if (lo & 8) f.push('PWT');
  if (lo & 16) f.push('PCD');
  if (lo & 32) f.push('A');
  const pte = opts.level === 'PTE';
  if (opts.leaf) {
    if (lo & 64) f.push('D');
    if (!pte) f.push('PS');
    if (pte && lo & 128) f.push('PAT');
    if (!pte && lo & 0x1000) f.push('PAT');
    if (lo & 256) f.push('G');
  }
  if (opts.nxe && hi & 0x80000000) f.push('NX');
  return f;
}
