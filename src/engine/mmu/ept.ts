// The EPT walk (SDM vol. 3, "EPT Translation Mechanism", "EPT Misconfigurations",
// "EPT Violations", "Accessed and Dirty Flags for EPT"): guest-physical →
// host-physical through a 4-level EPT with 4 KiB, 2 MiB and 1 GiB pages.
// Read/write/execute permissions are ANDed over every level; execute-only
// pages are allowed (the capability MSR advertises them). Returns each level
// for the debugger and the webviews, and, on failure, whether it is a
// misconfiguration (exit 49) or a violation (exit 48) with the qualification
// bits 5:3 (what the translation allowed).

import type { PhysicalMemory } from './physmem';
import { MAXPHYADDR } from './paging';

export const EPT_R = 1, EPT_W = 2, EPT_X = 4, EPT_PS = 1 << 7, EPT_A = 1 << 8, EPT_D = 1 << 9;

/** Memory types (SDM "Memory Types That Can Be Encoded With PAT/MTRRs/EPT"). */
export const MEMORY_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'UC', 1: 'WC', 4: 'WT', 5: 'WP', 6: 'WB' };

export interface EptAccess { read: boolean; write: boolean; fetch: boolean }

export interface EptLevel {
  name: 'PML4E' | 'PDPTE' | 'PDE' | 'PTE';
  /** Host-physical address of the entry. */
  entryAddr: number;
  lo: number;
  hi: number;
  leaf: boolean;
}

export interface EptWalkResult {
  kind: 'ok' | 'violation' | 'misconfig';
  /** Host-physical address (when ok). */
  hpa: number;
  pageSize: number;
  /** R/W/X allowed by the whole walk (ANDed over the levels read; 0 when a level was not present). */
  allowed: number;
  /** Leaf memory type and ignore-PAT bit (when a leaf was reached). */
  memoryType: number;
  ignorePat: boolean;
  levels: EptLevel[];
  /** Words for the debugger. */
  why?: string;
}

const PHYS_HI_MASK = (1 << (MAXPHYADDR - 32)) - 1;
const NAMES = ['PML4E', 'PDPTE', 'PDE', 'PTE'] as const;

export interface Eptp { pml4: number; walkLength: number; memoryType: number; adEnabled: boolean }

export function decodeEptp(lo: number, hi: number): Eptp {
  return {
    pml4: (hi & PHYS_HI_MASK) * 0x1_0000_0000 + ((lo & 0xfffff000) >>> 0),
    walkLength: ((lo >>> 3) & 7) + 1,
    memoryType: lo & 7,
    adEnabled: (lo & 0x40) !== 0,
  };
}

/** Why an EPTP value is invalid for VM entry (SDM "Checks on VMX Controls"), or undefined when valid. */
export function eptpProblem(lo: number, hi: number): string | undefined {
  const mt = lo & 7;
  if (mt !== 0 && mt !== 6) return `EPT paging-structure memory type ${mt} is not supported (only UC=0 and WB=6)`;
  if (((lo >>> 3) & 7) !== 3) return `EPT page-walk length ${((lo >>> 3) & 7) + 1} is not supported (only 4)`;
  if (lo & 0xf80) return 'reserved bits 11:7 of the EPTP are set';
  if (hi & ~PHYS_HI_MASK) return `EPTP bits 63:${MAXPHYADDR} (beyond the physical-address width) are set`;
  return undefined;
}

function misconfigured(lo: number, hi: number, level: number, leaf: boolean): string | undefined {
  const rwx = lo & 7;
  if ((rwx & EPT_W) && !(rwx & EPT_R)) return 'entry is writable but not readable';
  if (hi & ~PHYS_HI_MASK & 0x000fffff) return `reserved physical-address bits 51:${MAXPHYADDR} are set`;
  if (level === 0 && (lo & 0xf8)) return 'reserved bits 7:3 of a PML4E are set';
  if (!leaf && level > 0 && (lo & 0x78)) return 'reserved bits 6:3 of a non-leaf entry are set';
  if (leaf) {
    const mt = (lo >>> 3) & 7;
    if (mt === 2 || mt === 3 || mt === 7) return `leaf memory type ${mt} is reserved`;
    if (level === 1 && (lo & 0x3fffe000)) return 'reserved bits 29:12 of a 1-GiB page entry are set';
    if (level === 2 && (lo & 0x1fe000)) return 'reserved bits 20:12 of a 2-MiB page entry are set';
  }
  return undefined;
}

/** 2^n by table: `2 ** shift` with a variable exponent is a slow Math.pow call on this hot path (same exact values). */
const POW2: readonly number[] = Array.from({ length: 64 }, (_, n) => 2 ** n);

/**
 * Translates `gpa` through the EPT rooted at `eptp`. With sideEffects and
 * A/D enabled, sets accessed flags on every level read and the dirty flag on
 * the leaf for writes (SDM: EPT accesses by guest paging-structure walks
 * count as writes when A/D flags are enabled — callers pass write=true then).
 */
export function eptWalk(mem: PhysicalMemory, eptp: Eptp, gpa: number, acc: EptAccess, sideEffects: boolean): EptWalkResult {
  const res: EptWalkResult = { kind: 'ok', hpa: 0, pageSize: 4096, allowed: 7, memoryType: 0, ignorePat: false, levels: [] };
  let table = eptp.pml4;
  for (let level = 0; level < 4; level++) {
    const shift = 39 - 9 * level;
    const index = Math.floor(gpa / POW2[shift]!) % 512;
    const entryAddr = table + index * 8;
    const lo = mem.read32(entryAddr), hi = mem.read32(entryAddr + 4);
    const name = NAMES[level]!;
    const lv: EptLevel = { name, entryAddr, lo, hi, leaf: false };
    res.levels.push(lv);
    if ((lo & 7) === 0) {
      res.kind = 'violation';
      res.allowed = 0;
      res.why = `EPT ${name} not present (entry 0x${(lo >>> 0).toString(16)} at HPA 0x${entryAddr.toString(16)})`;
      return res;
    }
    const leaf = level === 3 || ((level === 1 || level === 2) && (lo & EPT_PS) !== 0);
    if (level === 0 && (lo & EPT_PS)) {
      res.kind = 'misconfig';
      res.why = 'bit 7 of a PML4E is set (reserved)';
      return res;
    }
    const bad = misconfigured(lo, hi, level, leaf);
    if (bad) {
      res.kind = 'misconfig';
      res.why = `EPT ${name} misconfigured: ${bad}`;
      return res;
    }
    res.allowed &= lo & 7;
    if (sideEffects && eptp.adEnabled && !(lo & EPT_A)) {
      mem.write32(entryAddr, lo | EPT_A);
      lv.lo = lo | EPT_A;
    }
    const phys = (hi & PHYS_HI_MASK) * 0x1_0000_0000 + ((lo & 0xfffff000) >>> 0);
    if (leaf) {
      lv.leaf = true;
      const size = POW2[shift]!;
      res.pageSize = size;
      res.memoryType = (lo >>> 3) & 7;
      res.ignorePat = (lo & 0x40) !== 0;
      res.hpa = phys - (phys % size) + (gpa % size);
      const denied = (acc.read && !(res.allowed & EPT_R)) || (acc.write && !(res.allowed & EPT_W)) ||
        (acc.fetch && !(res.allowed & EPT_X));
      if (denied) {
        res.kind = 'violation';
        const what = acc.write ? 'written' : acc.fetch ? 'executed' : 'read';
        res.why = `EPT translation does not allow the page to be ${what} (allowed ${rwxText(res.allowed)}, ${name} 0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')})`;
        return res;
      }
      if (sideEffects && eptp.adEnabled && acc.write && !(lo & EPT_D)) {
        mem.write32(entryAddr, lv.lo | EPT_D);
        lv.lo |= EPT_D;
      }
      return res;
    }
    table = phys;
  }
  /* c8 ignore next */
  return res;
}

export function rwxText(p: number): string {
  return (p & EPT_R ? 'R' : '-') + (p & EPT_W ? 'W' : '-') + (p & EPT_X ? 'X' : '-');
}

/**
 * Exit qualification of an EPT violation (SDM "Exit Qualification for EPT
 * Violations"): bits 0-2 the access, 3-5 what the walk allowed, bit 7 the
 * guest linear address is valid, bit 8 the access was to the final
 * translation (not a guest paging structure).
 */
export function eptViolationQualification(acc: EptAccess, allowed: number, linearValid: boolean, finalTranslation: boolean): number {
  let q = 0;
  if (acc.read) q |= 1;
  if (acc.write) q |= 2;
  if (acc.fetch) q |= 4;
  q |= (allowed & 7) << 3;
  if (linearValid) {
    q |= 1 << 7;
    if (finalTranslation) q |= 1 << 8;
  }
  return q;
}
