// Memory accesses in VMX non-root operation (SDM vol. 3, "EPT Translation
// Mechanism", "EPT Violations", "EPT Misconfigurations", "APIC-Access VM
// Exits"): the guest paging walk reads its tables at guest-physical
// addresses, each translated through EPT, and the final guest-physical
// address is translated through EPT too. A failure ends the access with a VM
// exit (VmExitSignal): 48 EPT violation with the qualification bits (access,
// what EPT allowed, guest-linear valid, final translation vs paging
// structure), 49 EPT misconfiguration; an access to the APIC-access page is
// exit 44.
//
// What the TLB may cache: the guest's permissions ANDed with EPT's (R → reads,
// W → writes, X → fetches); with EPT A/D flags on, write permission only once
// the leaf's dirty flag is set (so the first write reaches the walk and sets
// it). Accesses to guest paging structures count as writes for EPT when A/D
// flags are on (SDM: they may set the dirty flag).

import type { Cpu } from '../x86/cpu';
import { walk, PERM_SR, PERM_SW, PERM_UR, PERM_UW, PERM_SX, PERM_UX, type Access, type WalkResult } from '../mmu/paging';
import { eptWalk, eptViolationQualification, EPT_R, EPT_W, EPT_X, EPT_D, type EptAccess } from '../mmu/ept';
import { VmExitSignal } from './state';

export const EXIT_APIC_ACCESS = 44, EXIT_EPT_VIOLATION = 48, EXIT_EPT_MISCONFIG = 49;

const tableRead: EptAccess = { read: true, write: false, fetch: false };
const tableWrite: EptAccess = { read: false, write: true, fetch: false };

/** GPA → HPA through the current EPT; throws the VM exit on failure. */
export function eptTranslate(cpu: Cpu, gpa: number, acc: EptAccess, la: number, finalAccess: boolean): { hpa: number; allowed: number; dirty: boolean } {
  const v = cpu.vmx;
  // Cached guest-physical mapping: valid when it allows the access (and, for writes, the dirty flag is already set).
  const c = v.eptCache;
  const page = Math.floor(gpa / 4096);
  const slot = page & 1023;
  if (c.tag[slot] === page) {
    const allowed = c.allowed[slot]!;
    const ok = (!acc.read || (allowed & EPT_R)) && (!acc.write || ((allowed & EPT_W) && c.dirty[slot])) && (!acc.fetch || (allowed & EPT_X));
    if (ok) return { hpa: c.hpa[slot]! + (gpa - page * 4096), allowed, dirty: c.dirty[slot] === 1 };
  }
  const w = eptWalk(cpu.mem, v.eptp!, gpa, acc, true);
  // Built-in VMM (builtin-vmm.ts): the instruction it lets run once reaches unmapped (MMIO) addresses directly.
  if (w.kind !== 'ok' && v.bypassArmed !== 0 && cpu.rip === v.bypassRip) return { hpa: gpa, allowed: 7, dirty: true };
  if (w.kind === 'misconfig') throw new VmExitSignal(EXIT_EPT_MISCONFIG, 0, 0, gpa);
  if (w.kind === 'violation') {
    const q = eptViolationQualification(acc, w.allowed, true, finalAccess);
    throw new VmExitSignal(EXIT_EPT_VIOLATION, q, 0, gpa, la);
  }
  const leaf = w.levels[w.levels.length - 1]!;
  const dirty = !v.eptp!.adEnabled || (leaf.lo & EPT_D) !== 0;
  c.tag[slot] = page; c.hpa[slot] = w.hpa - (gpa - page * 4096); c.allowed[slot] = w.allowed; c.dirty[slot] = dirty ? 1 : 0;
  return { hpa: w.hpa, allowed: w.allowed, dirty };
}

/** The vCPU's TLB-miss walk in non-root operation (installed as vmxHooks.walk). */
export function nonRootWalk(cpu: Cpu, la: number, acc: Access): WalkResult {
  const v = cpu.vmx;
  let w: WalkResult;
  if (v.eptOn) {
    const ad = v.eptp!.adEnabled;
    w = walk(cpu.mem, cpu.pagingRegs(), la, acc, true,
      (gpa, write) => eptTranslate(cpu, gpa, write || ad ? tableWrite : tableRead, la, false).hpa);
    if (!w.ok) return w;
    const ea: EptAccess = { read: !acc.write && !acc.fetch, write: acc.write, fetch: acc.fetch };
    const t = eptTranslate(cpu, w.pa, ea, la, true);
    let mask = 0;
    if (t.allowed & EPT_R) mask |= PERM_SR | PERM_UR;
    if ((t.allowed & EPT_W) && (!ad || t.dirty || acc.write)) mask |= PERM_SW | PERM_UW;
    if (t.allowed & EPT_X) mask |= PERM_SX | PERM_UX;
    w.pa = t.hpa;
    w.perm &= mask;
  } else {
    w = walk(cpu.mem, cpu.pagingRegs(), la, acc, true);
    if (!w.ok) return w;
  }
  if (v.apicAccessPage >= 0 && Math.floor(w.pa / 4096) === v.apicAccessPage) {
    // Access type: 0 linear read, 1 linear write, 2 fetch, 3 during event delivery.
    const type = v.vectoring.valid ? 3 : acc.fetch ? 2 : acc.write ? 1 : 0;
    throw new VmExitSignal(EXIT_APIC_ACCESS, (w.pa & 0xfff) | (type << 12), 0);
  }
  return w;
}
