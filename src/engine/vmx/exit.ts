// VM exits (SDM vol. 3, "VM Exits"): record the exit information, save the
// guest state into the current VMCS, store the VM-exit MSR-store list, load
// the host state, load the VM-exit MSR-load list; then the vCPU continues at
// HOST_RIP in VMX root operation. Trace: `vmexit` (at the guest's RIP, before
// host state is loaded) and `mode` vmx-non-root → vmx-root.
//
// Choices (documented):
// - The TLB is not tagged by VPID or EPTP: every VM exit and VM entry flushes
//   it, which is always architecturally allowed.
// - IA32_DEBUGCTL does not exist on this CPU (RDMSR 0x1D9 is #GP), so it is
//   saved as 0 and VM exits leave nothing to clear.
// - The interruptibility state cannot tell blocking by STI from blocking by
//   MOV SS (the vCPU keeps one "interrupt shadow"): it is saved as STI when
//   RFLAGS.IF = 1 and as MOV SS otherwise.
// - Pending debug exceptions are saved as 0 (single-step traps are delivered
//   or exit at once; hardware breakpoints are not emulated).
// - A failure storing or loading an MSR list at VM exit is a VMX abort: the
//   abort indicator is written into the VMCS region and the machine stops
//   with a shutdown naming the abort.

import type { Cpu } from '../x86/cpu';
import { MachineStop } from '../x86/fault';
import { CS, SS, DS, ES, FS, GS, LDTR, TR, RSP } from '../x86/regs';
import { AR_P, AR_S, AR_DB, AR_G, AR_L, AR_UNUSABLE, arDpl } from '../x86/segdesc';
import { readMsr, writeMsr } from '../x86/exec/system-msr';
import { getMsr, setMsrRaw } from '../x86/msr-store';
import { CR0_PG, CR4_PAE, EFER_LMA, EFER_LME } from '../mmu/paging';
import { eptWalk } from '../mmu/ept';
import { IF } from '../x86/flags';
import type { Vmcs } from './vmcs';
import * as F from './enc';
import {
  EXIT_SAVE_DEBUG, EXIT_HOST_64, EXIT_SAVE_PAT, EXIT_LOAD_PAT, EXIT_SAVE_EFER, EXIT_LOAD_EFER, EXIT_SAVE_TIMER,
  ENTRY_IA32E, TIMER_RATE, ACTIVITY_HLT, ACTIVITY_WAIT_SIPI, ACTIVITY_ACTIVE, PIN_VIRTUAL_NMIS,
} from './capabilities';
import { hiOf, loOf, pairSigned, pairUnsigned, linearToSigned, signedToLinear, u64, u64Pair } from './numbers';

export const MSR_PAT = 0x277;
const SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176;

/** What one VM exit records besides the reason (absent fields keep "not applicable"). */
export interface ExitInfo {
  qualLo?: number;
  qualHi?: number;
  /** VM-exit instruction length (exits caused by instructions, software exceptions). */
  instrLen?: number;
  instrInfo?: number;
  /** Guest-physical address (EPT exits). */
  gpa?: number;
  /** Guest-linear address, 48-bit linear form (INS/OUTS, EPT violations, LMSW with a memory operand). */
  gla?: number;
  /** VM-exit interruption information and error code (exceptions, NMIs, external interrupts). */
  intrInfo?: number;
  intrError?: number;
  /** RIP to save as the guest's (default: cpu.rip, the instruction that exited). */
  guestRip?: number;
}

const tmp = { lo: 0, hi: 0 };

/** Performs a VM exit from VMX non-root operation. */
export function vmExit(cpu: Cpu, reason: number, x: ExitInfo = {}): void {
  const v = cpu.vmx;
  const vmcs = v.current!;
  const guestRip = x.guestRip ?? cpu.rip;
  v.exits++;
  v.exitsByReason[(reason & 0xffff) < 80 ? reason & 0xffff : 79]++;
  const qlo = x.qualLo ?? 0, qhi = x.qualHi ?? 0;
  // ---- exit information
  vmcs.set(F.EXIT_REASON, reason & 0xffff);
  vmcs.set(F.EXIT_QUALIFICATION, qlo, qhi);
  vmcs.set(F.EXIT_INTR_INFO, x.intrInfo ?? 0);
  vmcs.set(F.EXIT_INTR_ERROR_CODE, x.intrError ?? 0);
  const vec = v.vectoring;
  if (vec.valid) {
    vmcs.set(F.IDT_VECTORING_INFO, (vec.vector & 0xff) | (vec.type << 8) | (vec.errorCode >= 0 ? 1 << 11 : 0) | (1 << 31));
    vmcs.set(F.IDT_VECTORING_ERROR_CODE, vec.errorCode >= 0 ? vec.errorCode : 0);
    // Software events being delivered report their instruction's length.
    if (x.instrLen === undefined && vec.type >= 4 && vec.type <= 6) x.instrLen = vec.length;
  } else {
    vmcs.set(F.IDT_VECTORING_INFO, 0);
  }
  vmcs.set(F.EXIT_INSTRUCTION_LEN, x.instrLen ?? 0);
  vmcs.set(F.EXIT_INSTRUCTION_INFO, x.instrInfo ?? 0);
  if (x.gla !== undefined) vmcs.setNum(F.GUEST_LINEAR_ADDRESS, cpu.bits === 64 || cpu.longMode ? linearToSigned(x.gla) : x.gla);
  if (x.gpa !== undefined) vmcs.setNum(F.GUEST_PHYSICAL_ADDRESS, x.gpa);
  vmcs.set(F.ENTRY_INTR_INFO, vmcs.get32(F.ENTRY_INTR_INFO) & 0x7fffffff);

  // ---- guest state, then leave non-root operation
  saveGuest(cpu, vmcs, guestRip);
  leaveNonRoot(cpu);
  cpu.events.vmexit?.(cpu, {
    reason: reason & 0xffff,
    qualification: u64Pair(qlo, qhi),
    guestRip: u64(guestRip),
    ...(x.gpa !== undefined ? { guestPhysical: BigInt(x.gpa) } : {}),
    ...(x.gla !== undefined ? { guestLinear: u64(cpu.longMode ? linearToSigned(x.gla) : x.gla) } : {}),
  });
  storeMsrs(cpu, vmcs);
  if (v.monitor) { v.monitor.handleExit(cpu); return; }
  loadHost(cpu, vmcs);
  loadExitMsrs(cpu, vmcs);
  cpu.events.mode(cpu, 'vmx-non-root', 'vmx-root');
}

/** Non-root-only state off (timer, EPT, TSC offset, windows). */
export function leaveNonRoot(cpu: Cpu): void {
  const v = cpu.vmx;
  cpu.tscOffset -= v.tscAdded;
  v.tscAdded = 0;
  v.nonRoot = false;
  v.eptOn = false;
  v.eptp = undefined;
  v.mmuHook = false;
  v.apicAccessPage = -1;
  v.watch = false;
  v.deadline = Infinity;
  v.vectoring.valid = false;
  v.injecting = false;
  v.ins = undefined;
  v.bypassRip = Number.NaN;
  v.bypassArmed = 0;
  // (The TLB is flushed by loadHost; the built-in VMM keeps the guest's translation context.)
}

// ---------------------------------------------------------------------------
// Saving guest state (SDM "Saving Guest State")
// ---------------------------------------------------------------------------

/** Segment base → 64-bit field value (FS/GS hold signed numbers; LDTR/TR the 48-bit linear form). */
function baseToField(cpu: Cpu, s: number): number {
  const b = cpu.segBase[s]!;
  if (s === LDTR || s === TR) return linearToSigned(b);
  return b;
}

export function saveGuest(cpu: Cpu, vmcs: Vmcs, guestRip: number): void {
  const v = cpu.vmx;
  vmcs.set(F.GUEST_CR0, cpu.cr0 | 0);
  vmcs.set(F.GUEST_CR3, cpu.cr3lo, cpu.cr3hi);
  vmcs.set(F.GUEST_CR4, cpu.cr4 | 0);
  if (v.exitCtl & EXIT_SAVE_DEBUG) {
    vmcs.set(F.GUEST_DR7, cpu.dr[7]! | 0);
    vmcs.set(F.GUEST_DEBUGCTL, 0);
  }
  vmcs.set(F.GUEST_RSP, cpu.rl[RSP]!, cpu.rh[RSP]!);
  vmcs.setNum(F.GUEST_RIP, guestRip);
  vmcs.set(F.GUEST_RFLAGS, cpu.rflags);
  for (let s = 0; s < 8; s++) {
    vmcs.set(F.GUEST_SEL[s]!, cpu.segSel[s]! & 0xffff);
    vmcs.setNum(F.GUEST_BASE[s]!, baseToField(cpu, s));
    vmcs.set(F.GUEST_LIMIT[s]!, cpu.segLimit[s]! | 0);
    vmcs.set(F.GUEST_AR[s]!, cpu.segAttr[s]! & 0x1f0ff);
  }
  vmcs.setNum(F.GUEST_GDTR_BASE, linearToSigned(cpu.gdtrBase));
  vmcs.set(F.GUEST_GDTR_LIMIT, cpu.gdtrLimit & 0xffff);
  vmcs.setNum(F.GUEST_IDTR_BASE, linearToSigned(cpu.idtrBase));
  vmcs.set(F.GUEST_IDTR_LIMIT, cpu.idtrLimit & 0xffff);
  let m = getMsr(cpu, SYSENTER_CS); vmcs.set(F.GUEST_SYSENTER_CS, m.lo);
  m = getMsr(cpu, SYSENTER_ESP); vmcs.set(F.GUEST_SYSENTER_ESP, m.lo, m.hi);
  m = getMsr(cpu, SYSENTER_EIP); vmcs.set(F.GUEST_SYSENTER_EIP, m.lo, m.hi);
  if (v.exitCtl & EXIT_SAVE_PAT) { readMsr(cpu, MSR_PAT, tmp); vmcs.set(F.GUEST_PAT, tmp.lo, tmp.hi); }
  if (v.exitCtl & EXIT_SAVE_EFER) vmcs.set(F.GUEST_EFER, cpu.efer | 0);
  // IA32_VMX_MISC bit 5: the "IA-32e mode guest" entry control follows EFER.LMA.
  const entry = vmcs.get32(F.ENTRY_CONTROLS);
  vmcs.set(F.ENTRY_CONTROLS, cpu.efer & EFER_LMA ? entry | ENTRY_IA32E : entry & ~ENTRY_IA32E);
  vmcs.set(F.GUEST_ACTIVITY_STATE, cpu.waitForSipi ? ACTIVITY_WAIT_SIPI : cpu.halted ? ACTIVITY_HLT : ACTIVITY_ACTIVE);
  let intr = 0;
  if (cpu.intShadow || cpu.inShadow) intr |= cpu.flags & IF ? 1 : 2;
  if ((v.pin & PIN_VIRTUAL_NMIS) && v.virtualNmiBlocked) intr |= 8;
  vmcs.set(F.GUEST_INTERRUPTIBILITY, intr);
  vmcs.set(F.GUEST_PENDING_DBG, 0);
  if (v.exitCtl & EXIT_SAVE_TIMER) {
    const ticks = Math.floor((cpu.icount - v.timerStart) / 2 ** TIMER_RATE);
    const start = vmcs.get32(F.PREEMPTION_TIMER_VALUE) >>> 0;
    vmcs.set(F.PREEMPTION_TIMER_VALUE, Math.max(0, start - ticks));
  }
  // PAE paging with EPT: the PDPTEs (read through EPT, see the deviation in mmu/paging.ts).
  if (v.eptOn && (cpu.cr0 & CR0_PG) && (cpu.cr4 & CR4_PAE) && !(cpu.efer & EFER_LMA) && v.eptp) {
    const base = (cpu.cr3lo & 0xffffffe0) >>> 0;
    for (let i = 0; i < 4; i++) {
      const w = eptWalk(cpu.mem, v.eptp, base + i * 8, { read: true, write: false, fetch: false }, false);
      const enc = F.GUEST_PDPTR0 + i * 2;
      if (w.kind === 'ok') vmcs.set(enc, cpu.mem.read32(w.hpa), cpu.mem.read32(w.hpa + 4));
    }
  }
}

// ---------------------------------------------------------------------------
// MSR lists (SDM "Saving MSRs", "Loading MSRs")
// ---------------------------------------------------------------------------

/** VMX abort (SDM "VMX Aborts"): the indicator goes into the VMCS region, the processor shuts down. */
export function vmxAbort(cpu: Cpu, code: number, why: string): never {
  const vmcs = cpu.vmx.current;
  if (vmcs) cpu.mem.write32(vmcs.addr + 4, code);
  throw new MachineStop('shutdown', `VMX abort ${code}: ${why}`);
}

function storeMsrs(cpu: Cpu, vmcs: Vmcs): void {
  const n = vmcs.get32(F.EXIT_MSR_STORE_COUNT) >>> 0;
  const base = vmcs.getNum(F.EXIT_MSR_STORE_ADDR);
  for (let i = 0; i < n; i++) {
    const at = base + i * 16;
    const index = cpu.mem.read32(at) >>> 0;
    if (cpu.mem.read32(at + 4) !== 0 || (index >>> 8) === 8 || index === 0x9e) {
      vmxAbort(cpu, 1, `VM-exit MSR-store entry ${i + 1} (MSR 0x${index.toString(16)}) cannot be stored`);
    }
    try { readMsr(cpu, index, tmp); } catch { vmxAbort(cpu, 1, `VM-exit MSR-store entry ${i + 1}: RDMSR 0x${index.toString(16)} faults`); }
    cpu.mem.write32(at + 8, tmp.lo);
    cpu.mem.write32(at + 12, tmp.hi);
  }
}

/** Loads an MSR from a VM-entry/exit MSR-load entry; returns false when the entry cannot be loaded. */
export function loadListedMsr(cpu: Cpu, at: number): boolean {
  const index = cpu.mem.read32(at) >>> 0;
  if (cpu.mem.read32(at + 4) !== 0) return false;
  // x2APIC MSRs, IA32_SMM_MONITOR_CTL and IA32_SMBASE cannot be loaded from these lists.
  if ((index >>> 8) === 8 || index === 0x9b || index === 0x9e) return false;
  try {
    writeMsr(cpu, index, cpu.mem.read32(at + 8), cpu.mem.read32(at + 12));
  } catch {
    return false;
  }
  return true;
}

function loadExitMsrs(cpu: Cpu, vmcs: Vmcs): void {
  const n = vmcs.get32(F.EXIT_MSR_LOAD_COUNT) >>> 0;
  const base = vmcs.getNum(F.EXIT_MSR_LOAD_ADDR);
  for (let i = 0; i < n; i++) {
    if (!loadListedMsr(cpu, base + i * 16)) vmxAbort(cpu, 5, `VM-exit MSR-load entry ${i + 1} cannot be loaded`);
  }
}

// ---------------------------------------------------------------------------
// Loading host state (SDM "Loading Host State")
// ---------------------------------------------------------------------------

const CR0_KEEP = (1 << 29) | (1 << 30); // NW, CD are not changed by VM exits
const CR0_LOADED = 0x8005003f;          // PG AM WP NE ET TS EM MP PE

export function loadHost(cpu: Cpu, vmcs: Vmcs): void {
  const v = cpu.vmx;
  const host64 = (v.exitCtl & EXIT_HOST_64) !== 0;
  const fromCpl = cpu.cpl;
  const guestRip = cpu.rip;
  cpu.cr0 = ((vmcs.get32(F.HOST_CR0) & CR0_LOADED) | (cpu.cr0 & CR0_KEEP) | (1 << 4)) | 0;
  cpu.cr3lo = vmcs.get32(F.HOST_CR3); cpu.cr3hi = vmcs.getHi(F.HOST_CR3);
  cpu.cr4 = vmcs.get32(F.HOST_CR4);
  cpu.dr[7] = 0x400;
  setMsrRaw(cpu, SYSENTER_CS, vmcs.get32(F.HOST_SYSENTER_CS), 0);
  setMsrRaw(cpu, SYSENTER_ESP, vmcs.get32(F.HOST_SYSENTER_ESP), vmcs.getHi(F.HOST_SYSENTER_ESP));
  setMsrRaw(cpu, SYSENTER_EIP, vmcs.get32(F.HOST_SYSENTER_EIP), vmcs.getHi(F.HOST_SYSENTER_EIP));
  if (v.exitCtl & EXIT_LOAD_PAT) writeMsr(cpu, MSR_PAT, vmcs.get32(F.HOST_PAT), vmcs.getHi(F.HOST_PAT));
  if (v.exitCtl & EXIT_LOAD_EFER) cpu.efer = vmcs.get32(F.HOST_EFER) >>> 0;
  else cpu.efer = host64 ? cpu.efer | EFER_LMA | EFER_LME : cpu.efer & ~(EFER_LMA | EFER_LME);

  const code = 11 | AR_S | AR_P | AR_G | (host64 ? AR_L : AR_DB);
  cpu.setSegment(CS, vmcs.get32(F.HOST_SEL[CS]!) & 0xffff, 0, 0xffffffff, code);
  for (const s of [SS, DS, ES, FS, GS]) {
    const sel = vmcs.get32(F.HOST_SEL[s]!) & 0xffff;
    const base = s === FS ? pairSigned(vmcs.get32(F.HOST_FS_BASE), vmcs.getHi(F.HOST_FS_BASE))
      : s === GS ? pairSigned(vmcs.get32(F.HOST_GS_BASE), vmcs.getHi(F.HOST_GS_BASE)) : 0;
    if (sel === 0) cpu.setSegment(s, 0, base, 0, AR_UNUSABLE);
    else cpu.setSegment(s, sel, base, 0xffffffff, 3 | AR_S | AR_P | AR_DB | AR_G);
  }
  cpu.setSegment(TR, vmcs.get32(F.HOST_TR_SELECTOR) & 0xffff,
    signedToLinear(pairSigned(vmcs.get32(F.HOST_TR_BASE), vmcs.getHi(F.HOST_TR_BASE))), 0x67, 11 | AR_P);
  cpu.setSegment(LDTR, 0, 0, 0, AR_UNUSABLE);
  cpu.gdtrBase = signedToLinear(pairSigned(vmcs.get32(F.HOST_GDTR_BASE), vmcs.getHi(F.HOST_GDTR_BASE)));
  cpu.gdtrLimit = 0xffff;
  cpu.idtrBase = signedToLinear(pairSigned(vmcs.get32(F.HOST_IDTR_BASE), vmcs.getHi(F.HOST_IDTR_BASE)));
  cpu.idtrLimit = 0xffff;
  cpu.rl[RSP] = vmcs.get32(F.HOST_RSP); cpu.rh[RSP] = vmcs.getHi(F.HOST_RSP);
  const rip = host64 ? pairSigned(vmcs.get32(F.HOST_RIP), vmcs.getHi(F.HOST_RIP)) : vmcs.get32(F.HOST_RIP) >>> 0;
  cpu.rflags = 2;
  cpu.halted = false;
  cpu.waitForSipi = false;
  cpu.intShadow = false;
  cpu.rip = rip;
  cpu.nextRip = rip;
  cpu.exitBlock = true;
  cpu.flushTlb(true);
  cpu.setCpl(fromCpl);
  cpu.changeRing(0, 'vmexit', guestRip);
  cpu.updateMode();
}

// ---------------------------------------------------------------------------
// Field helpers shared with entry.ts
// ---------------------------------------------------------------------------

/** The guest's CPL from the VMCS: SS.DPL (0 for a real-mode guest). */
export function guestCpl(vmcs: Vmcs): number {
  return arDpl(vmcs.get32(F.GUEST_AR[SS]!));
}

export { pairUnsigned, hiOf, loOf };
