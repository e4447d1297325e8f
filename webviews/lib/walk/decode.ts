// What the walk panel says about a paging walk beyond the adapter's words:
// which address bits index each level, where an entry points, and what each
// flag name means. Pure functions over WalkInfo values.

import type { WalkInfo } from '../../../src/targets/target';

export interface IndexBits { hi: number; lo: number; index: number }

/** Bit position and width of the index a level takes from the address, by paging mode. */
function levelBits(level: string, mode: string | undefined): { shift: number; bits: number } | undefined {
  const name = level.replace(/^EPT\s*/i, '').toUpperCase();
  if (mode === '32-bit') return name === 'PDE' ? { shift: 22, bits: 10 } : name === 'PTE' ? { shift: 12, bits: 10 } : undefined;
  switch (name) {
    case 'PML5E': return { shift: 48, bits: 9 };
    case 'PML4E': return { shift: 39, bits: 9 };
    case 'PDPTE': return { shift: 30, bits: mode === 'pae' ? 2 : 9 };
    case 'PDE': return { shift: 21, bits: 9 };
    case 'PTE': return { shift: 12, bits: 9 };
    default: return undefined;
  }
}

/** Which bits of `address` select the entry of `level` (undefined for unknown levels). */
export function indexOf(address: string, level: string, mode: string | undefined): IndexBits | undefined {
  const b = levelBits(level, mode);
  if (!b) return undefined;
  let a: bigint;
  try { a = BigInt(address); } catch { return undefined; }
  const index = Number((a >> BigInt(b.shift)) & ((1n << BigInt(b.bits)) - 1n));
  return { hi: b.shift + b.bits - 1, lo: b.shift, index };
}

const MODE_LEVELS: Record<string, readonly string[]> = {
  '4-level': ['PML4E', 'PDPTE', 'PDE', 'PTE'], pae: ['PDPTE', 'PDE', 'PTE'], '32-bit': ['PDE', 'PTE'],
};

/**
 * The address fields of a walk's input, most significant first: sign
 * extension, one index per level of the paging mode (down to the leaf when
 * the walk reached a large page), the page offset.
 */
export function addressFields(w: WalkInfo): { label: string; bits: string; value: string }[] {
  const out: { label: string; bits: string; value: string }[] = [];
  let a: bigint;
  try { a = BigInt(w.input); } catch { return out; }
  if (w.mode === 'none') return out;
  const prefix = w.space === 'ept' ? 'EPT ' : '';
  let levels = (MODE_LEVELS[w.mode ?? ''] ?? w.entries.map((e) => e.level.replace(/^EPT\s*/i, ''))).map((l) => prefix + l);
  const leaf = w.entries.findIndex((e) => e.leaf);
  if (leaf >= 0) levels = levels.slice(0, levels.indexOf(w.entries[leaf]!.level) + 1 || levels.length);
  if (w.mode === '4-level' && w.space === 'guest') {
    out.push({ label: 'sign extension', bits: '63:48', value: '0x' + ((a >> 48n) & 0xffffn).toString(16) });
  }
  let lowest = 12;
  for (const level of levels) {
    const ix = indexOf(w.input, level, w.mode);
    if (!ix) continue;
    out.push({ label: `${level} index`, bits: `${ix.hi}:${ix.lo}`, value: String(ix.index) });
    lowest = ix.lo;
  }
  out.push({ label: 'offset', bits: `${lowest - 1}:0`, value: '0x' + (a & ((1n << BigInt(lowest)) - 1n)).toString(16) });
  return out;
}

/** Where an entry points: the next table, or for a leaf the page frame (page size known). */
export function entryTarget(value: string, leaf: boolean, pageSize: number | undefined, mode: string | undefined, ept: boolean): string | undefined {
  let v: bigint;
  try { v = BigInt(value); } catch { return undefined; }
  if ((ept ? v & 7n : v & 1n) === 0n) return undefined; // not present
  const frameMask = mode === '32-bit' ? 0xfffff000n : 0x000ffffffffff000n;
  const size = leaf && pageSize ? BigInt(pageSize) : 4096n;
  return '0x' + ((v & frameMask) & ~(size - 1n)).toString(16);
}

const FLAG_MEANING: Record<string, string> = {
  P: 'present', RW: 'writable', RO: 'read-only', US: 'user-mode accessible', S: 'supervisor only',
  PWT: 'page write-through', PCD: 'page cache disabled', A: 'accessed', D: 'dirty', PS: 'page size: maps a large page',
  PAT: 'page attribute table index bit', G: 'global (kept in the TLB across CR3 loads)', NX: 'no-execute (XD)',
  'not present': 'P=0: the walk stops here',
  R: 'EPT: read allowed', W: 'EPT: write allowed', X: 'EPT: execute allowed', XU: 'EPT: user-mode execute allowed',
  IPAT: 'EPT: ignore the guest PAT', VE: 'EPT: suppress #VE',
};

export function flagMeaning(flag: string): string | undefined {
  if (FLAG_MEANING[flag]) return FLAG_MEANING[flag];
  if (/^MT=/.test(flag)) return `EPT memory type ${flag.slice(3)}`;
  return undefined;
}

/** Index of the entry where the walk stopped on a fault (the last one read), or -1. */
export function faultLevel(w: WalkInfo): number {
  return w.ok ? -1 : w.entries.length - 1;
}
