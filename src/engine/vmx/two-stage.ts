// The two-stage walk of a guest-virtual address, as data for the debugger
// and the webviews (SDM vol. 3, "EPT Translation Mechanism": guest paging
// structures are at guest-physical addresses, each translated through EPT,
// and so is the final guest-physical address). No side effects: no A/D
// flags are set, nothing throws; the walk stops at the first failure and
// says where (guest #PF, or an EPT violation/misconfiguration on a table
// access or on the final address).
//
// twoStageWalk() takes the paging registers and EPTP explicitly;
// twoStageForCpu() picks them from the vCPU in non-root operation, or from
// the current VMCS's guest state and EPT pointer in root operation (what the
// guest would see on its next entry).

import type { Cpu } from '../x86/cpu';
import type { PhysicalMemory } from '../mmu/physmem';
import { walk, pagingMode, type PagingRegs, type WalkLevel, type Access, type PagingMode } from '../mmu/paging';
import { eptWalk, decodeEptp, type Eptp, type EptWalkResult } from '../mmu/ept';
import * as F from './enc';
import { PROC2_EPT } from './capabilities';
import { secondary } from './checks/controls';

export interface TwoStageStep {
  /** The guest paging-structure entry (its entryAddr is guest-physical); absent when EPT failed before it was read. */
  level?: WalkLevel;
  /** The EPT walk of the entry's guest-physical address. */
  ept: EptWalkResult;
  gpa: number;
}

export interface TwoStageWalk {
  gva: number;
  mode: PagingMode;
  steps: TwoStageStep[];
  /** Guest-physical address of the final translation, when the guest walk succeeded. */
  gpa?: number;
  pageSize?: number;
  /** The EPT walk of the final guest-physical address. */
  final?: EptWalkResult;
  /** Host-physical address of the byte at gva, when every stage succeeded. */
  hpa?: number;
  ok: boolean;
  /** Where and why it failed. */
  fault?: { stage: 'guest' | 'ept-table' | 'ept-final'; why: string; errorCode?: number; gpa?: number };
}

class Stop { constructor(readonly step: TwoStageStep) {} }

const READ: Access = { write: false, user: false, fetch: false };

export function twoStageWalk(mem: PhysicalMemory, regs: PagingRegs, eptp: Eptp | undefined, gva: number, acc: Access = READ): TwoStageWalk {
  const out: TwoStageWalk = { gva, mode: pagingMode(regs), steps: [], ok: false };
  const tableAcc = { read: true, write: eptp?.adEnabled === true, fetch: false };
  const tr = eptp ? (gpa: number): number => {
    const e = eptWalk(mem, eptp, gpa, tableAcc, false);
    const step: TwoStageStep = { ept: e, gpa };
    out.steps.push(step);
    if (e.kind !== 'ok') throw new Stop(step);
    return e.hpa;
  } : undefined;
  let w;
  try {
    w = walk(mem, regs, gva, acc, false, tr);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    out.fault = { stage: 'ept-table', why: `${e.step.ept.why ?? e.step.ept.kind} (guest paging-structure access at GPA 0x${e.step.gpa.toString(16)})`, gpa: e.step.gpa };
    return out;
  }
  // Pair each guest level with the EPT walk of its table access (one per level read).
  if (eptp) w.levels.forEach((l, i) => { if (out.steps[i]) out.steps[i]!.level = l; });
  else out.steps.push(...w.levels.map((l) => ({ level: l, gpa: l.entryAddr, ept: identity(l.entryAddr) })));
  if (!w.ok) {
    out.fault = { stage: 'guest', why: w.fault ?? 'page fault', errorCode: w.errorCode };
    return out;
  }
  out.gpa = w.pa;
  out.pageSize = w.pageSize;
  if (!eptp) { out.hpa = w.pa; out.ok = true; return out; }
  const f = eptWalk(mem, eptp, w.pa, { read: !acc.write && !acc.fetch, write: acc.write, fetch: acc.fetch }, false);
  out.final = f;
  if (f.kind !== 'ok') {
    out.fault = { stage: 'ept-final', why: f.why ?? f.kind, gpa: w.pa };
    return out;
  }
  out.hpa = f.hpa;
  out.ok = true;
  return out;
}

/** Without EPT a table access is its own host-physical address. */
function identity(gpa: number): EptWalkResult {
  return { kind: 'ok', hpa: gpa, pageSize: 4096, allowed: 7, memoryType: 6, ignorePat: false, levels: [] };
}

/**
 * The guest's two-stage walk: the live vCPU in non-root operation, else the
 * current VMCS's guest state (undefined when the vCPU has no current VMCS).
 */
export function twoStageForCpu(cpu: Cpu, gva: number, acc: Access = READ): TwoStageWalk | undefined {
  const v = cpu.vmx;
  if (v.nonRoot) return twoStageWalk(cpu.mem, cpu.pagingRegs(), v.eptOn ? v.eptp : undefined, gva, acc);
  const vmcs = v.current;
  if (!vmcs) return undefined;
  const ept = secondary(vmcs) & PROC2_EPT ? decodeEptp(vmcs.get32(F.EPT_POINTER), vmcs.getHi(F.EPT_POINTER)) : undefined;
  const entry = vmcs.get32(F.ENTRY_CONTROLS);
  const regs: PagingRegs = {
    cr0: vmcs.get32(F.GUEST_CR0), cr3lo: vmcs.get32(F.GUEST_CR3), cr3hi: vmcs.getHi(F.GUEST_CR3), cr4: vmcs.get32(F.GUEST_CR4),
    efer: entry & (1 << 15) ? vmcs.get32(F.GUEST_EFER) : (entry & (1 << 9) ? 0x500 : 0) | (cpu.efer & 0x800), ac: (vmcs.get32(F.GUEST_RFLAGS) & (1 << 18)) !== 0,
  };
  return twoStageWalk(cpu.mem, regs, ept, gva, acc);
}
