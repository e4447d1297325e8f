// VM entries (SDM vol. 3, "VM Entries"): VMLAUNCH/VMRESUME's basic checks,
// the checks on the controls and host state (checks/controls.ts, host.ts:
// VMfailValid 7/8), the checks on the guest state (checks/guest.ts: a failed
// entry, exit reason 33), loading the guest state, the VM-entry MSR-load list
// (a failure is exit reason 34), then VMX non-root operation with the
// controls in force and event injection. Every failure emits a
// `vmentry-failure` trace record naming the check, the field and the SDM
// section; success emits `vmentry` and `mode` vmx-root → vmx-non-root.
//
// Choices (documented):
// - Guest state is loaded field by field (not through MOV CR/WRMSR): VM entry
//   changes CR0/CR4/EFER/CS together, after the checks have passed.
// - Loading DR7 with a breakpoint enabled is an unsupported stop (hardware
//   breakpoints are not emulated), as MOV DR7 is.
// - Pending debug exceptions are not delivered after VM entry (the checks on
//   the field are performed).
// - With EPT and PAE paging, the PDPTE fields are checked but the vCPU keeps
//   reading PDPTEs from guest memory (the deviation of mmu/paging.ts).

import type { Cpu } from '../x86/cpu';
import { MachineStop } from '../x86/fault';
import { CS, SS, LDTR, TR, RSP } from '../x86/regs';
import { AR_UNUSABLE, arDpl } from '../x86/segdesc';
import { writeMsr } from '../x86/exec/system-msr';
import { setMsrRaw } from '../x86/msr-store';
import { EFER_LMA, EFER_LME } from '../mmu/paging';
import { decodeEptp } from '../mmu/ept';
import { deliverEvent, EventKind } from '../x86/interrupts';
import { VmInstructionError } from './instruction-errors';
import { EXIT_REASON_FAILED_ENTRY } from './exit-reasons';
import * as F from './enc';
import {
  ENTRY_IA32E, ENTRY_LOAD_DEBUG, ENTRY_LOAD_PAT, ENTRY_LOAD_EFER, PIN_VIRTUAL_NMIS, PIN_PREEMPTION_TIMER,
  PIN_EXT_INT, PIN_NMI, PROC_TSC_OFFSET, PROC_INTR_WINDOW, PROC_NMI_WINDOW, PROC2_EPT, PROC2_APIC_ACCESS,
  ACTIVITY_HLT, ACTIVITY_WAIT_SIPI, TIMER_RATE,
} from './capabilities';
import { LAUNCH_CLEAR, LAUNCH_LAUNCHED, type Vmcs } from './vmcs';
import { runChecks, type CheckCtx, type EntryFailure } from './checks/common';
import { CONTROL_CHECKS, secondary } from './checks/controls';
import { HOST_CHECKS } from './checks/host';
import { GUEST_CHECKS } from './checks/guest';
import { loadHost, loadListedMsr, MSR_PAT } from './exit';
import { vmFailInvalid, vmFailValid } from './results';
import { pairSigned, signedToLinear } from './numbers';
import { eptWalk } from '../mmu/ept';

const INSN_SDM = 'VMLAUNCH/VMRESUME—Launch/Resume Virtual Machine';
const MSR_SDM = 'Loading MSRs';

/** The checks' view of the processor at VM entry. */
export function checkContext(cpu: Cpu, vmcs: Vmcs): CheckCtx {
  const ctx: CheckCtx = { lma: (cpu.efer & EFER_LMA) !== 0, mem: cpu.mem, vmxonPtr: cpu.vmx.vmxonPtr };
  if (secondary(vmcs) & PROC2_EPT) {
    const eptp = decodeEptp(vmcs.get32(F.EPT_POINTER), vmcs.getHi(F.EPT_POINTER));
    ctx.gpaToHpa = (gpa) => {
      const w = eptWalk(cpu.mem, eptp, gpa, { read: true, write: false, fetch: false }, false);
      return w.kind === 'ok' ? w.hpa : gpa;
    };
  }
  return ctx;
}

/** All VM-entry checks on a VMCS in order (for tests and the debugger): the first failure, if any. */
export function checkVmcs(vmcs: Vmcs, ctx: CheckCtx): { kind: 'control' | 'host' | 'guest'; failure: EntryFailure } | undefined {
  let f = runChecks(CONTROL_CHECKS, vmcs, ctx);
  if (f) return { kind: 'control', failure: f };
  f = runChecks(HOST_CHECKS, vmcs, ctx);
  if (f) return { kind: 'host', failure: f };
  f = runChecks(GUEST_CHECKS, vmcs, ctx);
  if (f) return { kind: 'guest', failure: f };
  return undefined;
}

function record(cpu: Cpu, check: string, field: string, sdm: string, exitReason?: 33 | 34): void {
  cpu.events.vmentryFailure?.(cpu, { check, field, sdm, ...(exitReason !== undefined ? { exitReason } : {}) });
}

/**
 * VMLAUNCH (launch = true) or VMRESUME in VMX root operation at CPL 0, after
 * the instruction's #UD/#GP checks. On success the vCPU continues in the guest.
 */
export function vmEntry(cpu: Cpu, launch: boolean): void {
  const v = cpu.vmx;
  const name = launch ? 'VMLAUNCH' : 'VMRESUME';
  const vmcs = v.current;
  if (!vmcs) {
    record(cpu, `${name} without a current VMCS (VMfailInvalid)`, '', INSN_SDM);
    vmFailInvalid(cpu);
    return;
  }
  // Blocking by MOV SS: the interrupt shadow with IF = 0 (see exit.ts on telling STI from MOV SS).
  if ((cpu.inShadow || cpu.intShadow) && !(cpu.flags & 0x200)) {
    record(cpu, 'VM entry with events blocked by MOV SS (error 26)', '', INSN_SDM);
    vmFailValid(cpu, VmInstructionError.EntryBlockedByMovSs);
    return;
  }
  if (launch && vmcs.launch !== LAUNCH_CLEAR) {
    record(cpu, 'VMLAUNCH with a VMCS whose launch state is not clear (error 4): use VMRESUME', '', INSN_SDM);
    vmFailValid(cpu, VmInstructionError.VmlaunchNonClear);
    return;
  }
  if (!launch && vmcs.launch !== LAUNCH_LAUNCHED) {
    record(cpu, 'VMRESUME with a VMCS whose launch state is not launched (error 5): use VMLAUNCH', '', INSN_SDM);
    vmFailValid(cpu, VmInstructionError.VmresumeNonLaunched);
    return;
  }
  const ctx = checkContext(cpu, vmcs);
  let f = runChecks(CONTROL_CHECKS, vmcs, ctx);
  if (f) {
    record(cpu, f.text, f.field, f.sdm);
    vmFailValid(cpu, VmInstructionError.EntryInvalidControls);
    return;
  }
  f = runChecks(HOST_CHECKS, vmcs, ctx);
  if (f) {
    record(cpu, f.text, f.field, f.sdm);
    vmFailValid(cpu, VmInstructionError.EntryInvalidHostState);
    return;
  }
  f = runChecks(GUEST_CHECKS, vmcs, ctx);
  if (f) {
    record(cpu, f.text, f.field, f.sdm, 33);
    failedEntry(cpu, vmcs, 33, f.qualification ?? 0);
    return;
  }
  const hostRip = cpu.rip;
  loadGuest(cpu, vmcs, hostRip);
  // VM-entry MSR-load list: a failure is a VM exit with reason 34 (qualification: the entry's number).
  const n = vmcs.get32(F.ENTRY_MSR_LOAD_COUNT) >>> 0;
  const base = vmcs.getNum(F.ENTRY_MSR_LOAD_ADDR);
  for (let i = 0; i < n; i++) {
    if (!loadListedMsr(cpu, base + i * 16)) {
      const index = cpu.mem.read32(base + i * 16) >>> 0;
      record(cpu, `VM-entry MSR-load entry ${i + 1} (MSR 0x${index.toString(16)}) cannot be loaded`, 'VM_ENTRY_MSR_LOAD_ADDR', MSR_SDM, 34);
      failedEntry(cpu, vmcs, 34, i + 1);
      return;
    }
  }
  if (launch) vmcs.launch = LAUNCH_LAUNCHED;
  const guestRip = cpu.rip;
  cpu.rip = hostRip; // the vmentry record names the VMLAUNCH/VMRESUME
  cpu.events.vmentry?.(cpu, launch);
  cpu.rip = guestRip;
  enterNonRoot(cpu, vmcs);
  cpu.events.mode(cpu, 'vmx-root', 'vmx-non-root');
  inject(cpu, vmcs);
}

/** A VM entry that fails after the control/host checks: exit reason with bit 31, host state loaded. */
function failedEntry(cpu: Cpu, vmcs: Vmcs, reason: 33 | 34, qualification: number): void {
  const v = cpu.vmx;
  v.exitCtl = vmcs.get32(F.EXIT_CONTROLS);
  vmcs.set(F.EXIT_REASON, (reason | EXIT_REASON_FAILED_ENTRY) | 0);
  vmcs.set(F.EXIT_QUALIFICATION, qualification);
  loadHost(cpu, vmcs);
  const n = vmcs.get32(F.EXIT_MSR_LOAD_COUNT) >>> 0;
  const base = vmcs.getNum(F.EXIT_MSR_LOAD_ADDR);
  for (let i = 0; i < n; i++) {
    if (!loadListedMsr(cpu, base + i * 16)) {
      cpu.mem.write32(vmcs.addr + 4, 5);
      throw new MachineStop('shutdown', `VMX abort 5: VM-exit MSR-load entry ${i + 1} cannot be loaded`);
    }
  }
}

// ---------------------------------------------------------------------------
// Loading guest state (SDM "Loading Guest State")
// ---------------------------------------------------------------------------

const CR0_KEEP = (1 << 29) | (1 << 30);
const CR0_LOADED = 0x8005003f;

export function loadGuest(cpu: Cpu, vmcs: Vmcs, fromRip: number): void {
  const entry = vmcs.get32(F.ENTRY_CONTROLS);
  const ia32e = (entry & ENTRY_IA32E) !== 0;
  const cr0 = vmcs.get32(F.GUEST_CR0);
  cpu.cr0 = ((cr0 & CR0_LOADED) | (cpu.cr0 & CR0_KEEP) | (1 << 4)) | 0;
  cpu.cr3lo = vmcs.get32(F.GUEST_CR3); cpu.cr3hi = vmcs.getHi(F.GUEST_CR3);
  cpu.cr4 = vmcs.get32(F.GUEST_CR4);
  if (entry & ENTRY_LOAD_DEBUG) {
    const dr7 = vmcs.get32(F.GUEST_DR7);
    if (dr7 & 0xff) throw new MachineStop('unsupported', `unsupported: VM entry loads DR7 = 0x${(dr7 >>> 0).toString(16)}, which enables a hardware breakpoint`);
    cpu.dr[7] = ((dr7 & 0xffff23ff) | 0x400) >>> 0;
  }
  setMsrRaw(cpu, 0x174, vmcs.get32(F.GUEST_SYSENTER_CS), 0);
  setMsrRaw(cpu, 0x175, vmcs.get32(F.GUEST_SYSENTER_ESP), vmcs.getHi(F.GUEST_SYSENTER_ESP));
  setMsrRaw(cpu, 0x176, vmcs.get32(F.GUEST_SYSENTER_EIP), vmcs.getHi(F.GUEST_SYSENTER_EIP));
  if (entry & ENTRY_LOAD_PAT) writeMsr(cpu, MSR_PAT, vmcs.get32(F.GUEST_PAT), vmcs.getHi(F.GUEST_PAT));
  if (entry & ENTRY_LOAD_EFER) cpu.efer = vmcs.get32(F.GUEST_EFER) >>> 0;
  else {
    let e = ia32e ? cpu.efer | EFER_LMA : cpu.efer & ~EFER_LMA;
    if (cr0 < 0) e = ia32e ? e | EFER_LME : e & ~EFER_LME;
    cpu.efer = e >>> 0;
  }
  for (let s = 0; s < 8; s++) {
    const lo = vmcs.get32(F.GUEST_BASE[s]!), hi = vmcs.getHi(F.GUEST_BASE[s]!);
    const base = s === LDTR || s === TR ? signedToLinear(pairSigned(lo, hi)) : s === 4 || s === 5 ? pairSigned(lo, hi) : lo >>> 0;
    const ar = vmcs.get32(F.GUEST_AR[s]!) & 0x1f0ff;
    cpu.setSegment(s, vmcs.get32(F.GUEST_SEL[s]!) & 0xffff, base, vmcs.get32(F.GUEST_LIMIT[s]!) >>> 0, ar & AR_UNUSABLE ? ar | AR_UNUSABLE : ar);
  }
  cpu.gdtrBase = signedToLinear(pairSigned(vmcs.get32(F.GUEST_GDTR_BASE), vmcs.getHi(F.GUEST_GDTR_BASE)));
  cpu.gdtrLimit = vmcs.get32(F.GUEST_GDTR_LIMIT) & 0xffff;
  cpu.idtrBase = signedToLinear(pairSigned(vmcs.get32(F.GUEST_IDTR_BASE), vmcs.getHi(F.GUEST_IDTR_BASE)));
  cpu.idtrLimit = vmcs.get32(F.GUEST_IDTR_LIMIT) & 0xffff;
  cpu.rl[RSP] = vmcs.get32(F.GUEST_RSP); cpu.rh[RSP] = vmcs.getHi(F.GUEST_RSP);
  const long64 = ia32e && (vmcs.get32(F.GUEST_AR[CS]!) & (1 << 13)) !== 0;
  const rip = long64 ? pairSigned(vmcs.get32(F.GUEST_RIP), vmcs.getHi(F.GUEST_RIP)) : vmcs.get32(F.GUEST_RIP) >>> 0;
  cpu.rflags = vmcs.get32(F.GUEST_RFLAGS);
  const vectoring = vmcs.get32(F.ENTRY_INTR_INFO) < 0 && ((vmcs.get32(F.ENTRY_INTR_INFO) >> 8) & 7) !== 7;
  const intr = vmcs.get32(F.GUEST_INTERRUPTIBILITY);
  cpu.intShadow = !vectoring && (intr & 3) !== 0;
  const act = vmcs.get32(F.GUEST_ACTIVITY_STATE);
  cpu.halted = act === ACTIVITY_HLT;
  cpu.waitForSipi = act === ACTIVITY_WAIT_SIPI;
  cpu.rip = rip;
  cpu.nextRip = rip;
  cpu.exitBlock = true;
  cpu.flushTlb(true);
  const pe = (cpu.cr0 & 1) !== 0;
  const cpl = !pe ? 0 : cpu.flags & (1 << 17) ? 3 : arDpl(vmcs.get32(F.GUEST_AR[SS]!));
  cpu.changeRing(cpl, 'vmentry', fromRip);
  cpu.updateMode();
}

/** VMX non-root operation with the VMCS's controls in force. */
export function enterNonRoot(cpu: Cpu, vmcs: Vmcs): void {
  const v = cpu.vmx;
  v.pin = vmcs.get32(F.PIN);
  v.proc = vmcs.get32(F.PROC);
  v.proc2 = secondary(vmcs);
  v.exitCtl = vmcs.get32(F.EXIT_CONTROLS);
  v.entryCtl = vmcs.get32(F.ENTRY_CONTROLS);
  v.excBitmap = vmcs.get32(F.EXCEPTION_BITMAP);
  v.pfMask = vmcs.get32(F.PF_MASK);
  v.pfMatch = vmcs.get32(F.PF_MATCH);
  v.eptOn = (v.proc2 & PROC2_EPT) !== 0;
  v.eptp = v.eptOn ? decodeEptp(vmcs.get32(F.EPT_POINTER), vmcs.getHi(F.EPT_POINTER)) : undefined;
  v.apicAccessPage = v.proc2 & PROC2_APIC_ACCESS ? Math.floor(vmcs.getNum(F.APIC_ACCESS_ADDR) / 4096) : -1;
  v.mmuHook = v.eptOn || v.apicAccessPage >= 0;
  v.virtualNmiBlocked = (v.pin & PIN_VIRTUAL_NMIS) !== 0 && (vmcs.get32(F.GUEST_INTERRUPTIBILITY) & 8) !== 0;
  v.tscAdded = v.proc & PROC_TSC_OFFSET ? pairSigned(vmcs.get32(F.TSC_OFFSET), vmcs.getHi(F.TSC_OFFSET)) : 0;
  cpu.tscOffset += v.tscAdded;
  if (v.pin & PIN_PREEMPTION_TIMER) {
    v.timerStart = cpu.icount;
    v.deadline = cpu.icount + (vmcs.get32(F.PREEMPTION_TIMER_VALUE) >>> 0) * 2 ** TIMER_RATE;
  } else {
    v.deadline = Infinity;
  }
  v.vectoring.valid = false;
  v.nonRoot = true;
  updateWatch(cpu);
  // (No TLB flush here: loadGuest flushed; the built-in VMM re-enters the same translation context.)
  if (v.eptp && v.eptCacheKey !== vmcs.get64(F.EPT_POINTER)) { v.eptCacheKey = vmcs.get64(F.EPT_POINTER); v.eptCache.clear(); }
}

/** Whether the run loop must look at VMX events between blocks. */
export function updateWatch(cpu: Cpu): void {
  const v = cpu.vmx;
  v.watch = v.nonRoot && ((v.proc & (PROC_INTR_WINDOW | PROC_NMI_WINDOW)) !== 0 || (v.pin & PIN_PREEMPTION_TIMER) !== 0 ||
    ((v.pin & (PIN_EXT_INT | PIN_NMI)) !== 0 && cpu.lines !== undefined) || v.bypassArmed !== 0);
}

/** Event injection (SDM "Event Injection"): delivered through the guest's IDT as if it happened in the guest. */
function inject(cpu: Cpu, vmcs: Vmcs): void {
  const info = vmcs.get32(F.ENTRY_INTR_INFO);
  if (info >= 0) return;
  const v = cpu.vmx;
  const type = (info >> 8) & 7, vector = info & 0xff;
  const err = info & (1 << 11) ? vmcs.get32(F.ENTRY_EXCEPTION_ERROR_CODE) : -1;
  const len = vmcs.get32(F.ENTRY_INSTRUCTION_LEN) >>> 0;
  const kind = type === 0 ? EventKind.External : type === 2 ? EventKind.Nmi : type === 3 ? EventKind.Fault
    : type === 5 ? EventKind.PrivSoftware : EventKind.Software;
  if (type >= 4) cpu.nextRip = cpu.rip + len;
  if (type === 2 && (v.pin & PIN_VIRTUAL_NMIS)) v.virtualNmiBlocked = true;
  v.vectoring.valid = true;
  v.vectoring.vector = vector; v.vectoring.type = type; v.vectoring.errorCode = err; v.vectoring.length = len;
  v.injecting = true;
  try {
    deliverEvent(cpu, vector, kind, err);
  } finally {
    v.injecting = false;
  }
  cpu.exitBlock = true;
}
