// Debugger access to an emulated guest's memory: reads and writes in the
// 'gva' space (through the vCPU's paging, page by page, never faulting and
// never setting accessed/dirty bits) and the 'gpa' space; one walk shown
// level by level; and memory maps (the guest page tables walked once and
// coalesced, or the physical layout).
//
// Only RAM and the reset ROM are readable here: MMIO registers are not read
// (a read can have side effects, e.g. a UART's status), they count as
// unreadable bytes.

import type { Cpu } from '../engine/x86/cpu';
import type { PhysicalMemory } from '../engine/mmu/physmem';
import { pagingMode, EFER_NXE, CR4_PSE, PFEC_RSVD, MAXPHYADDR } from '../engine/mmu/paging';
import { IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE } from '../engine/devices/ioapic';
import { APIC_DEFAULT_BASE, APIC_MMIO_SIZE } from '../engine/devices/lapicregs';
import type { MemoryRegion, WalkInfo } from './target';
import { describeEntryFlags } from './emulator-decode';

export interface PhysView {
  mem: PhysicalMemory;
  /** The reset-vector ROM (flat images ending at 4 GiB), mapped so it ends at 0xFFFFFFFF. */
  rom?: { base: number; data: Uint8Array };
}

const TWO47 = 2 ** 47;
const TWO32 = 2 ** 32;
const hex = (v: bigint | number): string => '0x' + v.toString(16);

/** The linear address (engine form: < 2^48) of a guest virtual address, or undefined when it cannot exist. */
export function gvaToLinear(cpu: Cpu, address: bigint): number | undefined {
  if (cpu.longMode) {
    const top = address >> 47n;
    if (top !== 0n && top !== 0x1ffffn) return undefined;
    return Number(address & ((1n << 48n) - 1n));
  }
  return address >= 0n && address < 1n << 32n ? Number(address) : undefined;
}

/** The canonical guest virtual address of an engine linear address. */
export function linearToGva(cpu: Cpu, la: number): bigint {
  if (cpu.longMode && la >= TWO47) return BigInt(la) | 0xffff_0000_0000_0000n;
  return BigInt(la);
}

/** Physical address of a linear one, as the debugger sees it (permission faults do not hide a mapped page). */
export function debuggerTranslate(cpu: Cpu, la: number): number | undefined {
  const w = cpu.walkForDebugger(la);
  if (w.ok) return w.pa;
  const last = w.levels[w.levels.length - 1];
  if (last?.leaf && (w.errorCode & PFEC_RSVD) === 0) return w.pa;
  return undefined;
}

function physReadable(v: PhysView, pa: number, len: number): boolean {
  if (pa + len <= v.mem.size) return v.mem.isRam(pa, len);
  return v.rom !== undefined && pa >= v.rom.base && pa + len <= v.rom.base + v.rom.data.length;
}

function physBytes(v: PhysView, pa: number, len: number): Uint8Array {
  if (pa + len <= v.mem.size) return v.mem.bytes.subarray(pa, pa + len);
  return v.rom!.data.subarray(pa - v.rom!.base, pa - v.rom!.base + len);
}

/** Shared reader: `locate` turns an address into a physical one (or undefined) for a run within one 4 KiB page. */
function readRange(v: PhysView, address: bigint, length: number, locate: (a: bigint) => number | undefined): { data: Uint8Array; unreadable: number } {
  const out = new Uint8Array(length);
  let readable = 0;
  let unreadable = 0;
  let off = 0;
  while (off < length) {
    const a = address + BigInt(off);
    const chunk = Math.min(4096 - Number(a & 0xfffn), length - off);
    const pa = a < 1n << 64n ? locate(a) : undefined;
    const ok = pa !== undefined && physReadable(v, pa, chunk);
    if (ok && unreadable === 0) {
      out.set(physBytes(v, pa, chunk), off);
      readable += chunk;
    } else if (ok) {
      break;
    } else {
      unreadable += chunk;
    }
    off += chunk;
  }
  return { data: out.slice(0, readable), unreadable };
}

export function readGva(cpu: Cpu, v: PhysView, address: bigint, length: number): { data: Uint8Array; unreadable: number } {
  return readRange(v, address, length, (a) => {
    const la = gvaToLinear(cpu, a);
    return la === undefined ? undefined : debuggerTranslate(cpu, la);
  });
}

export function readGpa(v: PhysView, address: bigint, length: number): { data: Uint8Array; unreadable: number } {
  return readRange(v, address, length, (a) => (a < 1n << BigInt(MAXPHYADDR) ? Number(a) : undefined));
}

function writeRange(v: PhysView, address: bigint, data: Uint8Array, locate: (a: bigint) => number | undefined): number {
  let off = 0;
  while (off < data.length) {
    const a = address + BigInt(off);
    const chunk = Math.min(4096 - Number(a & 0xfffn), data.length - off);
    const pa = locate(a);
    // Only RAM is written: ROM ignores writes, and MMIO writes are the guest's business.
    if (pa === undefined || pa + chunk > v.mem.size || !v.mem.isRam(pa, chunk)) break;
    v.mem.load(pa, data.subarray(off, off + chunk)); // load() drops decoded code on those pages
    off += chunk;
  }
  return off;
}

export function writeGva(cpu: Cpu, v: PhysView, address: bigint, data: Uint8Array): number {
  return writeRange(v, address, data, (a) => {
    const la = gvaToLinear(cpu, a);
    return la === undefined ? undefined : debuggerTranslate(cpu, la);
  });
}

export function writeGpa(v: PhysView, address: bigint, data: Uint8Array): number {
  return writeRange(v, address, data, (a) => (a < 1n << BigInt(MAXPHYADDR) ? Number(a) : undefined));
}

/** One guest paging walk, every level decoded. */
export function translateGva(cpu: Cpu, address: bigint): WalkInfo {
  const regs = cpu.pagingRegs();
  const mode = pagingMode(regs);
  const input = hex(address);
  const la = gvaToLinear(cpu, address);
  if (la === undefined) return { space: 'guest', input, ok: false, mode, entries: [], fault: 'not a canonical address' };
  const w = cpu.walkForDebugger(la);
  const nxe = (regs.efer & EFER_NXE) !== 0;
  const entries = w.levels.map((l) => ({
    level: l.name,
    entryAddress: hex(l.entryAddr),
    value: hex((BigInt(l.hi >>> 0) << 32n) | BigInt(l.lo >>> 0)),
    flags: describeEntryFlags(l.lo, l.hi, { leaf: l.leaf, level: l.name, paePdpte: mode === 'pae' && l.name === 'PDPTE', nxe }),
    leaf: l.leaf,
  }));
  const info: WalkInfo = { space: 'guest', input, ok: w.ok, mode, entries };
  if (w.ok || (w.levels.at(-1)?.leaf ?? false)) { info.output = hex(w.pa); info.pageSize = w.pageSize; }
  if (!w.ok) info.fault = w.fault ?? `page fault (error code 0x${w.errorCode.toString(16)})`;
  return info;
}

interface Run { start: number; end: number; target: number; perms: string; pageSize: number; type: string }

const MAX_LEAVES = 1 << 20;

/** The guest's page tables as coalesced regions: contiguous virtual and physical, same permissions, page size and type. */
export function memoryMapGva(cpu: Cpu, v: PhysView): MemoryRegion[] {
  const regs = cpu.pagingRegs();
  const mode = pagingMode(regs);
  if (mode === 'none') {
    return [{ start: '0x0', end: hex(TWO32), target: '0x0', perms: 'rwxu', pageSize: 4096, memoryType: 'WB', name: 'paging off: linear = physical' }];
  }
  const nxe = (regs.efer & EFER_NXE) !== 0;
  const out: MemoryRegion[] = [];
  let cur: Run | undefined;
  let leaves = 0;
  const flush = (): void => {
    if (!cur) return;
    const start = linearToGva(cpu, cur.start);
    out.push({ start: hex(start), end: hex(start + BigInt(cur.end - cur.start)), target: hex(cur.target), perms: cur.perms,
      pageSize: cur.pageSize, memoryType: cur.type });
    cur = undefined;
  };
  const leaf = (la: number, size: number, pa: number, perms: string, type: string): void => {
    leaves++;
    if (cur && cur.end === la && la !== TWO47 && cur.perms === perms && cur.pageSize === size && cur.type === type &&
        cur.target + (cur.end - cur.start) === pa) {
      cur.end += size;
      return;
    }
    flush();
    cur = { start: la, end: la + size, target: pa, perms, pageSize: size, type };
  };
  const entry = (addr: number, size: 4 | 8): { lo: number; hi: number } | undefined => {
    if (addr + size > v.mem.size || !v.mem.isRam(addr, size)) return undefined;
    return { lo: v.mem.read32(addr), hi: size === 8 ? v.mem.read32(addr + 4) : 0 };
  };
  const phys = (lo: number, hi: number): number => (hi & 0xff) * TWO32 + ((lo & 0xfffff000) >>> 0);

  const layout = mode === '4-level'
    ? { shifts: [39, 30, 21, 12], counts: [512, 512, 512, 512], size: 8 as const, root: (regs.cr3hi & 0xff) * TWO32 + ((regs.cr3lo & 0xfffff000) >>> 0) }
    : mode === 'pae'
      ? { shifts: [30, 21, 12], counts: [4, 512, 512], size: 8 as const, root: (regs.cr3lo & 0xffffffe0) >>> 0 }
      : { shifts: [22, 12], counts: [1024, 1024], size: 4 as const, root: (regs.cr3lo & 0xfffff000) >>> 0 };
  const last = layout.shifts.length - 1;

  const descend = (level: number, table: number, base: number, user: boolean, write: boolean, nx: boolean): void => {
    for (let i = 0; i < layout.counts[level]! && leaves < MAX_LEAVES; i++) {
      const e = entry(table + i * layout.size, layout.size);
      if (!e || !(e.lo & 1)) continue;
      const shift = layout.shifts[level]!;
      const la = base + i * 2 ** shift;
      const paePdpte = mode === 'pae' && level === 0;
      const u = paePdpte ? user : user && (e.lo & 4) !== 0;
      const w = paePdpte ? write : write && (e.lo & 2) !== 0;
      const x = nx || (nxe && layout.size === 8 && (e.hi & 0x80000000) !== 0);
      const large = level !== last && !paePdpte && (e.lo & 0x80) !== 0 &&
        (mode === '32-bit' ? (regs.cr4 & CR4_PSE) !== 0 : !(mode === '4-level' && level === 0));
      if (level === last || large) {
        const size = 2 ** shift;
        const pa = mode === '32-bit' && large
          ? ((e.lo >>> 13) & 0xff) * TWO32 + ((e.lo & 0xffc00000) >>> 0)
          : phys(e.lo, e.hi) - (phys(e.lo, e.hi) % size);
        const perms = `r${w ? 'w' : '-'}${x ? '-' : 'x'}${u ? 'u' : 's'}`;
        const type = e.lo & 16 ? 'UC' : e.lo & 8 ? 'WT' : 'WB';
        leaf(la, size, pa, perms, type);
      } else {
        descend(level + 1, mode === '32-bit' ? (e.lo & 0xfffff000) >>> 0 : phys(e.lo, e.hi), la, u, w, x);
      }
    }
  };
  descend(0, layout.root, 0, true, true, false);
  flush();
  if (leaves >= MAX_LEAVES && out.length > 0) out[out.length - 1]!.name = `map truncated after ${MAX_LEAVES} pages`;
  return out;
}

/** The guest-physical layout: RAM, the APIC MMIO pages, the reset ROM. */
export function memoryMapGpa(v: PhysView): MemoryRegion[] {
  const out: MemoryRegion[] = [
    { start: '0x0', end: hex(v.mem.size), perms: 'rwx-', pageSize: 4096, kind: 'ram', name: 'RAM' },
    { start: hex(IOAPIC_DEFAULT_BASE), end: hex(IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE), perms: 'rw--', pageSize: 4096, kind: 'mmio', name: 'IOAPIC', memoryType: 'UC' },
    { start: hex(APIC_DEFAULT_BASE), end: hex(APIC_DEFAULT_BASE + APIC_MMIO_SIZE), perms: 'rw--', pageSize: 4096, kind: 'mmio', name: 'local APIC', memoryType: 'UC' },
  ];
  if (v.rom) out.push({ start: hex(v.rom.base), end: hex(v.rom.base + v.rom.data.length), perms: 'r-x-', pageSize: 4096, kind: 'rom', name: 'system ROM (reset vector)' });
  return out.sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1));
}

