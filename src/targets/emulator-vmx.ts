// VMX state of an emulated vCPU as the debugger shows it: the current VMCS
// (engine/vmx/describe.ts), the two-stage walk of a guest-virtual address in
// VMX non-root operation with EPT (engine/vmx/two-stage.ts), and the EPT
// walk of a guest-physical address through the current EPT pointer, all as
// the target interface's WalkInfo/VmcsInfo.

import type { Cpu } from '../engine/x86/cpu';
import { describeVmcs } from '../engine/vmx/describe';
import { twoStageForCpu } from '../engine/vmx/two-stage';
import { eptWalk, decodeEptp, rwxText, MEMORY_TYPE_NAMES, EPT_A, EPT_D, EPT_PS, type Eptp, type EptWalkResult } from '../engine/mmu/ept';
import { EFER_NXE, MAXPHYADDR } from '../engine/mmu/paging';
import * as F from '../engine/vmx/enc';
import { PROC2_EPT } from '../engine/vmx/capabilities';
import { secondary } from '../engine/vmx/checks/controls';
import type { MemoryRegion, VmcsInfo, WalkEntryInfo, WalkInfo } from './target';
import { describeEntryFlags } from './emulator-decode';
import { gvaToLinear } from './emulator-memory';

const hex = (v: bigint | number): string => '0x' + v.toString(16);
const hex64 = (lo: number, hi: number): string => hex((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));

export function vmcsInfo(cpu: Cpu): VmcsInfo | undefined {
  const d = describeVmcs(cpu);
  if (!d) return undefined;
  return { address: d.address, launched: d.launched, nonRoot: d.nonRoot, groups: d.groups };
}

/** The EPT pointer the vCPU uses now (non-root) or would use on its next entry (root, current VMCS). */
export function currentEptp(cpu: Cpu): Eptp | undefined {
  const v = cpu.vmx;
  if (v.nonRoot) return v.eptOn ? v.eptp : undefined;
  const vmcs = v.current;
  if (!vmcs || !(secondary(vmcs) & PROC2_EPT)) return undefined;
  return decodeEptp(vmcs.get32(F.EPT_POINTER), vmcs.getHi(F.EPT_POINTER));
}

function eptFlags(lo: number, leaf: boolean): string[] {
  const out = rwxText(lo & 7).split('').filter((c) => c !== '-');
  if (leaf) {
    out.push(MEMORY_TYPE_NAMES[(lo >>> 3) & 7] ?? `MT${(lo >>> 3) & 7}`);
    if (lo & 0x40) out.push('IPAT');
  }
  if (leaf && lo & EPT_PS) out.push('PS');
  if (lo & EPT_A) out.push('A');
  if (leaf && lo & EPT_D) out.push('D');
  return out;
}

export function eptWalkInfo(gpa: number, e: EptWalkResult): WalkInfo {
  const entries: WalkEntryInfo[] = e.levels.map((l) => ({
    level: `EPT ${l.name}`, entryAddress: hex(l.entryAddr), value: hex64(l.lo, l.hi), flags: eptFlags(l.lo, l.leaf), leaf: l.leaf,
  }));
  const info: WalkInfo = { space: 'ept', input: hex(gpa), ok: e.kind === 'ok', mode: 'ept 4-level', entries };
  if (e.kind === 'ok') { info.output = hex(e.hpa); info.pageSize = e.pageSize; }
  else info.fault = `EPT ${e.kind === 'misconfig' ? 'misconfiguration' : 'violation'}: ${e.why ?? e.kind}`;
  return info;
}

/** translate(space 'gpa'): the EPT walk of a guest-physical address through the current EPT pointer. */
export function translateGpaEpt(cpu: Cpu, address: bigint): WalkInfo {
  const eptp = currentEptp(cpu);
  if (!eptp) {
    const why = cpu.vmx.current ? 'the current VMCS does not enable EPT' : 'the vCPU has no current VMCS';
    throw new Error(`guest-physical → host-physical translation needs EPT: ${why}`);
  }
  if (address < 0n || address >= 1n << BigInt(MAXPHYADDR)) {
    return { space: 'ept', input: hex(address), ok: false, entries: [], fault: `beyond the ${MAXPHYADDR}-bit physical-address width` };
  }
  const gpa = Number(address);
  return eptWalkInfo(gpa, eptWalk(cpu.mem, eptp, gpa, { read: true, write: false, fetch: false }, false));
}

/** Whether a gva walk of this vCPU is two-stage (VMX non-root with EPT on). */
export function twoStage(cpu: Cpu): boolean {
  return cpu.vmx.nonRoot && cpu.vmx.eptOn;
}

/** translate(space 'gva') in non-root with EPT: the guest walk, each table access's EPT walk and the final one in `nested`. */
export function translateTwoStage(cpu: Cpu, address: bigint): WalkInfo {
  const input = hex(address);
  const la = gvaToLinear(cpu, address);
  if (la === undefined) return { space: 'guest', input, ok: false, entries: [], fault: 'not a canonical address' };
  const w = twoStageForCpu(cpu, la);
  if (!w) return { space: 'guest', input, ok: false, entries: [], fault: 'no current VMCS' };
  const nxe = (cpu.pagingRegs().efer & EFER_NXE) !== 0;
  const entries: WalkEntryInfo[] = w.steps.flatMap((s) => s.level ? [{
    level: s.level.name, entryAddress: hex(s.level.entryAddr), value: hex64(s.level.lo, s.level.hi),
    flags: describeEntryFlags(s.level.lo, s.level.hi, { leaf: s.level.leaf, level: s.level.name, paePdpte: w.mode === 'pae' && s.level.name === 'PDPTE', nxe }),
    leaf: s.level.leaf,
  }] : []);
  const nested = w.steps.map((s) => eptWalkInfo(s.gpa, s.ept));
  if (w.final && w.gpa !== undefined) nested.push(eptWalkInfo(w.gpa, w.final));
  const info: WalkInfo = { space: 'guest', input, ok: w.ok, mode: w.mode, entries, nested };
  if (w.gpa !== undefined) { info.output = hex(w.gpa); if (w.pageSize) info.pageSize = w.pageSize; }
  if (w.fault) {
    const where = w.fault.stage === 'guest' ? 'guest page walk' : w.fault.stage === 'ept-table' ? 'EPT (guest paging-structure access)' : 'EPT (final guest-physical address)';
    info.fault = `${where}: ${w.fault.why}${w.fault.errorCode !== undefined ? ` (error code 0x${w.fault.errorCode.toString(16)})` : ''}`;
  }
  return info;
}

/** Leaves listed at most per EPT map, so a huge 4K-mapped EPT cannot stall the adapter. */
const MAX_EPT_LEAVES = 1 << 20;

/**
 * The guest-physical address space as the current EPT maps it: coalesced
 * ranges of GPAs with their host-physical target, EPT R/W/X permissions
 * (perms "rwx-" style, the 4th character "-"), page size and memory type.
 * GPAs no EPT entry maps are absent: those are the holes a guest access
 * turns into an EPT violation. Undefined when no EPT pointer is current.
 */
export function memoryMapEpt(cpu: Cpu): MemoryRegion[] | undefined {
  const eptp = currentEptp(cpu);
  if (!eptp) return undefined;
  const mem = cpu.mem;
  const out: MemoryRegion[] = [];
  let cur: { start: number; end: number; target: number; perms: string; size: number; type: string } | undefined;
  let leaves = 0;
  const physMask = (1 << (MAXPHYADDR - 32)) - 1;
  const flush = (): void => {
    if (!cur) return;
    out.push({ start: hex(cur.start), end: hex(cur.end), target: hex(cur.target), perms: cur.perms, pageSize: cur.size, memoryType: cur.type });
    cur = undefined;
  };
  const descend = (level: number, table: number, base: number, allowed: number): void => {
    for (let i = 0; i < 512 && leaves < MAX_EPT_LEAVES; i++) {
      const addr = table + i * 8;
      if (!mem.isRam(addr, 8)) return;
      const lo = mem.read32(addr), hi = mem.read32(addr + 4);
      if ((lo & 7) === 0) continue;
      const shift = 39 - 9 * level;
      const gpa = base + i * 2 ** shift;
      const phys = (hi & physMask) * 0x1_0000_0000 + ((lo & 0xfffff000) >>> 0);
      const perm = allowed & lo & 7;
      const leaf = level === 3 || ((level === 1 || level === 2) && (lo & EPT_PS) !== 0);
      if (!leaf) { descend(level + 1, phys, gpa, perm); continue; }
      leaves++;
      const size = 2 ** shift;
      const target = phys - (phys % size);
      const perms = rwxText(perm).toLowerCase() + '-';
      const type = MEMORY_TYPE_NAMES[(lo >>> 3) & 7] ?? `MT${(lo >>> 3) & 7}`;
      if (cur && cur.end === gpa && cur.perms === perms && cur.size === size && cur.type === type && cur.target + (cur.end - cur.start) === target) {
        cur.end += size;
        continue;
      }
      flush();
      cur = { start: gpa, end: gpa + size, target, perms, size, type };
    }
  };
  descend(0, eptp.pml4, 0, 7);
  flush();
  if (leaves >= MAX_EPT_LEAVES && out.length > 0) out[out.length - 1]!.name = `EPT map truncated after ${MAX_EPT_LEAVES} pages`;
  return out;
}
