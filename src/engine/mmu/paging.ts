// The guest paging walk (SDM vol. 3, chapter "Paging"): 32-bit paging (4K and
// 4M pages with PSE/PSE-36), PAE paging (4K and 2M), 4-level paging (4K, 2M,
// 1G). It checks reserved bits, U/S, R/W with CR0.WP, NX with EFER.NXE, SMEP
// and SMAP, sets accessed/dirty bits as hardware does, and reports every
// level it read so the debugger can show the walk.
//
// Used on TLB misses (sideEffects = true) and by the debugger's `walk`
// (sideEffects = false: no A/D updates, never throws).
//
// Deviation, documented: PAE-mode PDPTEs are read from memory on each walk
// instead of being cached at CR3 load, and their reserved bits fault as #PF
// (RSVD) at walk time instead of #GP at MOV CR3.

import type { PhysicalMemory } from './physmem';

export const MAXPHYADDR = 40;
const PHYS_HI_MASK = (1 << (MAXPHYADDR - 32)) - 1; // bits 39:32 of an entry, in its hi half

export const PTE_P = 1, PTE_W = 2, PTE_U = 4, PTE_PWT = 8, PTE_PCD = 16, PTE_A = 32, PTE_D = 64, PTE_PS = 128, PTE_G = 256;

/** Page-fault error code bits. */
export const PFEC_P = 1, PFEC_W = 2, PFEC_U = 4, PFEC_RSVD = 8, PFEC_I = 16, PFEC_PK = 32, PFEC_SS = 64;

/** Permission bits for TLB entries: what an access may do without a new walk. */
export const PERM_SR = 1, PERM_SW = 2, PERM_UR = 4, PERM_UW = 8, PERM_SX = 16, PERM_UX = 32;

export interface PagingRegs {
  cr0: number; cr3lo: number; cr3hi: number; cr4: number; efer: number;
  /** RFLAGS.AC, for SMAP. */
  ac: boolean;
}

export const CR0_PE = 1, CR0_WP = 1 << 16, CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4, CR4_PAE = 1 << 5, CR4_PGE = 1 << 7, CR4_LA57 = 1 << 12,
  CR4_SMEP = 1 << 20, CR4_SMAP = 1 << 21, CR4_PKE = 1 << 22;
export const EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

export type PagingMode = 'none' | '32-bit' | 'pae' | '4-level';

export function pagingMode(r: { cr0: number; cr4: number; efer: number }): PagingMode {
  if (!(r.cr0 & CR0_PG)) return 'none';
  if (!(r.cr4 & CR4_PAE)) return '32-bit';
  return r.efer & EFER_LMA ? '4-level' : 'pae';
}

export interface WalkLevel {
  /** 'PML4E', 'PDPTE', 'PDE', 'PTE'. */
  name: string;
  /** Physical address of the entry. */
  entryAddr: number;
  lo: number;
  hi: number;
  /** Whether this entry maps the page (leaf). */
  leaf: boolean;
}

export interface WalkResult {
  ok: boolean;
  /** Physical address of the byte at `la` (when ok). */
  pa: number;
  /** Page size in bytes of the mapping (when ok). */
  pageSize: number;
  /** PERM_* bits for the TLB (when ok); the write bits only when the dirty bit is set. */
  perm: number;
  /** Global page (CR4.PGE and G bit). */
  global: boolean;
  levels: WalkLevel[];
  /** Page-fault error code when !ok. */
  errorCode: number;
  /** Words for the debugger: why it faulted. */
  fault?: string;
}

export interface Access {
  write: boolean;
  /** CPL 3 access (not an implicit supervisor access). */
  user: boolean;
  fetch: boolean;
  /** Implicit supervisor access (descriptor tables, TSS): SMAP applies regardless of AC. */
  implicit?: boolean;
}

const NAMES_32: readonly string[] = ['PDE', 'PTE'];
const SHIFTS_32: readonly number[] = [22, 12];
const NAMES_PAE: readonly string[] = ['PDPTE', 'PDE', 'PTE'];
const SHIFTS_PAE: readonly number[] = [30, 21, 12];
const NAMES_4L: readonly string[] = ['PML4E', 'PDPTE', 'PDE', 'PTE'];
const SHIFTS_4L: readonly number[] = [39, 30, 21, 12];
/** 2^n by table: `2 ** shift` with a variable exponent is a slow Math.pow call on this hot path (same exact values). */
const POW2: readonly number[] = Array.from({ length: 64 }, (_, n) => 2 ** n);

function entryPhys(lo: number, hi: number): number {
  return (hi & PHYS_HI_MASK) * 0x1_0000_0000 + ((lo & 0xfffff000) >>> 0);
}

/**
 * Guest-physical → host-physical for the walk's own accesses to paging
 * structures (VMX non-root with EPT; see vmx/mmu.ts). `write` is true for
 * accessed/dirty-flag updates. It may throw to end the access (a VM exit).
 */
export type TableTranslator = (gpa: number, write: boolean) => number;

/**
 * Walks the paging structures for linear address `la` (a number below 2^48,
 * or below 2^32 outside long mode). With paging off, identity. Entry
 * addresses in the result are the (guest-)physical addresses the tables name;
 * with `tr`, memory is read and written at tr(address).
 */
export function walk(mem: PhysicalMemory, r: PagingRegs, la: number, acc: Access, sideEffects: boolean, tr?: TableTranslator): WalkResult {
  const mode = pagingMode(r);
  const res: WalkResult = { ok: true, pa: la, pageSize: 4096, perm: 63, global: false, levels: [], errorCode: 0 };
  if (mode === 'none') { res.pageSize = 4096; return res; }

  const nxe = (r.efer & EFER_NXE) !== 0;
  let allUser = true, allWrite = true, nx = false;
  const rsvdHiMask = ~PHYS_HI_MASK & 0x7ff00000 | (nxe ? 0 : 0x80000000); // bits 62:MAXPHYADDR (+63 without NXE), in the hi half
  let tableAddr: number;
  let levelNames: readonly string[];
  let shifts: readonly number[];
  let entrySize: number;

  // Shared constant tables: the walk runs on every TLB miss (after each VM entry/exit flush), so it allocates little.
  if (mode === '32-bit') {
    tableAddr = (r.cr3lo & 0xfffff000) >>> 0;
    levelNames = NAMES_32;
    shifts = SHIFTS_32;
    entrySize = 4;
  } else if (mode === 'pae') {
    tableAddr = (r.cr3lo & 0xffffffe0) >>> 0;
    levelNames = NAMES_PAE;
    shifts = SHIFTS_PAE;
    entrySize = 8;
  } else {
    tableAddr = (r.cr3hi & PHYS_HI_MASK) * 0x1_0000_0000 + ((r.cr3lo & 0xfffff000) >>> 0);
    levelNames = NAMES_4L;
    shifts = SHIFTS_4L;
    entrySize = 8;
  }

  const fail = (code: number, why: string): WalkResult => {
    res.ok = false;
    res.errorCode = code | (acc.write ? PFEC_W : 0) | (acc.user ? PFEC_U : 0) |
      (acc.fetch && (nxe || (r.cr4 & CR4_SMEP) !== 0) && mode !== '32-bit' ? PFEC_I : 0) |
      (acc.fetch && mode === '32-bit' && (r.cr4 & CR4_SMEP) !== 0 ? PFEC_I : 0);
    res.fault = why;
    return res;
  };

  for (let lvl = 0; lvl < shifts.length; lvl++) {
    const shift = shifts[lvl]!;
    const name = levelNames[lvl]!;
    const bits = mode === 'pae' && lvl === 0 ? 2 : entrySize === 4 ? 10 : 9;
    const index = Math.floor(la / POW2[shift]!) % (1 << bits);
    const entryAddr = tableAddr + index * entrySize;
    const hostAddr = tr ? tr(entryAddr, false) : entryAddr;
    const lo = mem.read32(hostAddr);
    const hi = entrySize === 8 ? mem.read32(hostAddr + 4) : 0;
    const level: WalkLevel = { name, entryAddr, lo, hi, leaf: false };
    res.levels.push(level);

    if (!(lo & PTE_P)) return fail(0, `${name} not present (entry 0x${(lo >>> 0).toString(16)} at 0x${entryAddr.toString(16)})`);

    const isPdpteOfPae = mode === 'pae' && lvl === 0;
    const last = lvl === shifts.length - 1;
    const large = !last && !isPdpteOfPae && (lo & PTE_PS) !== 0 &&
      (mode === '32-bit' ? (r.cr4 & CR4_PSE) !== 0 : name !== 'PML4E');
    // Reserved bits.
    let rsvd = entrySize === 8 && (hi & rsvdHiMask) !== 0;
    if (isPdpteOfPae) rsvd = rsvd || (lo & 0x1e6) !== 0 || (hi & 0x80000000) !== 0;
    if (name === 'PML4E' && (lo & PTE_PS)) rsvd = true;
    if (large && mode !== '32-bit') {
      // PAT at bit 12; bits (shift-1):13 reserved.
      const m = ((1 << (shift - 13)) - 1) << 13;
      if (lo & m) rsvd = true;
    }
    if (large && mode === '32-bit') {
      // 4 MiB page: bits 20:13 hold PA bits 39:32 (PSE-36); bit 21 reserved.
      if (lo & (1 << 21)) rsvd = true;
      if (((lo >>> 13) & 0xff) & ~PHYS_HI_MASK) rsvd = true;
    }
    if (rsvd) return fail(PFEC_P | PFEC_RSVD, `reserved bit set in ${name} 0x${(hi >>> 0).toString(16)}${(lo >>> 0).toString(16).padStart(8, '0')}`);

    if (!isPdpteOfPae) {
      if (!(lo & PTE_U)) allUser = false;
      if (!(lo & PTE_W)) allWrite = false;
      if (nxe && entrySize === 8 && (hi & 0x80000000)) nx = true;
    }
    if (sideEffects && !isPdpteOfPae && !(lo & PTE_A)) {
      mem.write32(tr ? tr(entryAddr, true) : entryAddr, lo | PTE_A);
      level.lo = lo | PTE_A;
    }

    if (last || large) {
      level.leaf = true;
      const pageSize = POW2[shift]!;
      let base: number;
      if (mode === '32-bit' && large) base = ((lo >>> 13) & PHYS_HI_MASK) * 0x1_0000_0000 + ((lo & 0xffc00000) >>> 0);
      else base = entryPhys(lo, hi) - (entryPhys(lo, hi) % pageSize);
      res.pageSize = pageSize;
      res.pa = base + (la % pageSize);
      res.global = (r.cr4 & CR4_PGE) !== 0 && (lo & PTE_G) !== 0;

      // Permission check (SDM "Access Rights").
      const smap = (r.cr4 & CR4_SMAP) !== 0 && allUser;
      const smep = (r.cr4 & CR4_SMEP) !== 0 && allUser;
      const wp = (r.cr0 & CR0_WP) !== 0;
      let why: string | undefined;
      if (acc.user) {
        if (!allUser) why = 'user access to a supervisor page';
        else if (acc.write && !allWrite) why = 'write to a read-only page';
        else if (acc.fetch && nx) why = 'instruction fetch from a no-execute page';
      } else if (acc.fetch) {
        if (nx) why = 'instruction fetch from a no-execute page';
        else if (smep) why = 'supervisor fetch from a user page (SMEP)';
      } else {
        if (smap && (acc.implicit || !r.ac)) why = 'supervisor data access to a user page (SMAP)';
        else if (acc.write && wp && !allWrite) why = 'supervisor write to a read-only page (CR0.WP)';
      }
      if (why) return fail(PFEC_P, why);

      let dirty = (lo & PTE_D) !== 0;
      if (acc.write && !dirty && sideEffects) {
        mem.write32(tr ? tr(entryAddr, true) : entryAddr, lo | PTE_A | PTE_D);
        level.lo = lo | PTE_A | PTE_D;
        dirty = true;
      }
      const sr = !(smap && !r.ac);
      let perm = 0;
      if (sr) perm |= PERM_SR;
      if (sr && (!wp || allWrite) && dirty) perm |= PERM_SW;
      if (allUser) perm |= PERM_UR;
      if (allUser && allWrite && dirty) perm |= PERM_UW;
      if (!nx && !smep) perm |= PERM_SX;
      if (allUser && !nx) perm |= PERM_UX;
      res.perm = perm;
      return res;
    }
    tableAddr = mode === '32-bit' ? (lo & 0xfffff000) >>> 0 : entryPhys(lo, hi);
  }
  /* c8 ignore next */
  return fail(0, 'walk ended without a leaf');
}
