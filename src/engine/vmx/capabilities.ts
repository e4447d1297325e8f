// What this CPU's VMX implements, as the capability MSRs report it (SDM vol. 3,
// appendix A "VMX Capability Reporting Facility"): IA32_VMX_BASIC (0x480)
// through IA32_VMX_EPT_VPID_CAP (0x48C) and the TRUE_* control MSRs
// (0x48D-0x490). Every allowed-1 bit below is implemented by entry.ts,
// exit.ts, intercepts.ts or events.ts; everything else is reserved and fails
// the VM-entry control checks. IA32_VMX_VMFUNC (0x491) does not exist (no VM
// functions are allowed), so RDMSR 0x491 raises #GP(0).
//
// Choices (documented):
// - VMCS revision identifier 1, region size 4096, write-back VMCS memory type,
//   INS/OUTS instruction information reported (BASIC bit 54), TRUE controls
//   (bit 55): CR3-load/store exiting and save/load debug controls may be 0.
// - IA32_VMX_MISC: preemption-timer rate 5 (the timer counts down once every
//   32 TSC ticks, i.e. 32 retired instructions of virtual time); exits store
//   EFER.LMA in the "IA-32e mode guest" entry control; activity states HLT and
//   wait-for-SIPI (not shutdown); 4 CR3-target values; 512 MSRs per list;
//   VMWRITE to exit-information fields is not allowed; no MSEG.
// - Not implemented (allowed-1 = 0): posted interrupts, monitor trap flag,
//   tertiary controls, virtualize x2APIC, APIC-register virtualization,
//   virtual-interrupt delivery, PAUSE-loop exiting, RDRAND/RDSEED exiting,
//   VM functions, VMCS shadowing, ENCLS, PML, #VE, XSAVES, TSC scaling,
//   PERF_GLOBAL_CTRL/BNDCFGS/RTIT/CET/PKRS loading, entry to SMM.
// - CR0_FIXED0 = PE | NE | PG (the first two exempt for unrestricted
//   guests), CR0_FIXED1 = all ones in bits 31:0; CR4_FIXED0 = VMXE,
//   CR4_FIXED1 = the CR4 bits the CPU implements.

import type { Cpu } from '../x86/cpu';
import { registerMsrDevice, type MsrDevice } from '../x86/exec/system-msr';
import { CR4_VALID } from '../x86/exec/control-regs';
import { supportedMaxIndex } from './vmcs';
import { VMX_CR0_FIXED0, VMX_CR4_FIXED0 } from './state';

// ---- pin-based controls
export const PIN_EXT_INT = 1 << 0, PIN_NMI = 1 << 3, PIN_VIRTUAL_NMIS = 1 << 5, PIN_PREEMPTION_TIMER = 1 << 6;
// ---- primary processor-based controls
export const PROC_INTR_WINDOW = 1 << 2, PROC_TSC_OFFSET = 1 << 3, PROC_HLT = 1 << 7, PROC_INVLPG = 1 << 9,
  PROC_MWAIT = 1 << 10, PROC_RDPMC = 1 << 11, PROC_RDTSC = 1 << 12, PROC_CR3_LOAD = 1 << 15,
  PROC_CR3_STORE = 1 << 16, PROC_CR8_LOAD = 1 << 19, PROC_CR8_STORE = 1 << 20, PROC_TPR_SHADOW = 1 << 21,
  PROC_NMI_WINDOW = 1 << 22, PROC_MOV_DR = 1 << 23, PROC_UNCOND_IO = 1 << 24, PROC_IO_BITMAPS = 1 << 25,
  PROC_MTF = 1 << 27, PROC_MSR_BITMAPS = 1 << 28, PROC_MONITOR = 1 << 29, PROC_PAUSE = 1 << 30,
  PROC_SECONDARY = 1 << 31;
// ---- secondary processor-based controls
export const PROC2_APIC_ACCESS = 1 << 0, PROC2_EPT = 1 << 1, PROC2_DESC_TABLE = 1 << 2, PROC2_RDTSCP = 1 << 3,
  PROC2_X2APIC = 1 << 4, PROC2_VPID = 1 << 5, PROC2_WBINVD = 1 << 6, PROC2_UNRESTRICTED = 1 << 7;
// ---- VM-exit controls
export const EXIT_SAVE_DEBUG = 1 << 2, EXIT_HOST_64 = 1 << 9, EXIT_LOAD_PERF = 1 << 12, EXIT_ACK_INTR = 1 << 15,
  EXIT_SAVE_PAT = 1 << 18, EXIT_LOAD_PAT = 1 << 19, EXIT_SAVE_EFER = 1 << 20, EXIT_LOAD_EFER = 1 << 21,
  EXIT_SAVE_TIMER = 1 << 22;
// ---- VM-entry controls
export const ENTRY_LOAD_DEBUG = 1 << 2, ENTRY_IA32E = 1 << 9, ENTRY_SMM = 1 << 10, ENTRY_DUAL_MONITOR = 1 << 11,
  ENTRY_LOAD_PAT = 1 << 14, ENTRY_LOAD_EFER = 1 << 15;

/** A control's allowed settings: bits that must be 1 (allowed-0 = 1) and bits that may be 1. */
export interface Allowed { must1: number; may1: number }

const PIN_DEFAULT1 = 0x16, PROC_DEFAULT1 = 0x0401e172, EXIT_DEFAULT1 = 0x00036dff, ENTRY_DEFAULT1 = 0x000011ff;

export const PIN_ALLOWED: Allowed = {
  must1: PIN_DEFAULT1, may1: PIN_DEFAULT1 | PIN_EXT_INT | PIN_NMI | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER,
};
export const PROC_ALLOWED: Allowed = {
  must1: PROC_DEFAULT1,
  may1: PROC_DEFAULT1 | PROC_INTR_WINDOW | PROC_TSC_OFFSET | PROC_HLT | PROC_INVLPG | PROC_MWAIT | PROC_RDPMC |
    PROC_RDTSC | PROC_CR3_LOAD | PROC_CR3_STORE | PROC_CR8_LOAD | PROC_CR8_STORE | PROC_TPR_SHADOW |
    PROC_NMI_WINDOW | PROC_MOV_DR | PROC_UNCOND_IO | PROC_IO_BITMAPS | PROC_MSR_BITMAPS | PROC_MONITOR |
    PROC_PAUSE | PROC_SECONDARY,
};
/** The TRUE MSR lets CR3-load and CR3-store exiting be 0. */
export const PROC_TRUE_ALLOWED: Allowed = { must1: PROC_DEFAULT1 & ~(PROC_CR3_LOAD | PROC_CR3_STORE), may1: PROC_ALLOWED.may1 };
export const PROC2_ALLOWED: Allowed = {
  must1: 0,
  may1: PROC2_APIC_ACCESS | PROC2_EPT | PROC2_DESC_TABLE | PROC2_RDTSCP | PROC2_VPID | PROC2_WBINVD | PROC2_UNRESTRICTED,
};
export const EXIT_ALLOWED: Allowed = {
  must1: EXIT_DEFAULT1,
  may1: EXIT_DEFAULT1 | EXIT_HOST_64 | EXIT_ACK_INTR | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER |
    EXIT_LOAD_EFER | EXIT_SAVE_TIMER,
};
export const EXIT_TRUE_ALLOWED: Allowed = { must1: EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG, may1: EXIT_ALLOWED.may1 };
export const ENTRY_ALLOWED: Allowed = {
  must1: ENTRY_DEFAULT1, may1: ENTRY_DEFAULT1 | ENTRY_IA32E | ENTRY_LOAD_PAT | ENTRY_LOAD_EFER,
};
export const ENTRY_TRUE_ALLOWED: Allowed = { must1: ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG, may1: ENTRY_ALLOWED.may1 };

export const VMCS_REVISION = 1;
export const VMCS_SIZE = 4096;
/** Preemption timer: one tick every 2^5 TSC ticks. */
export const TIMER_RATE = 5;
export const CR3_TARGETS = 4;
/** Activity states: 0 active, 1 HLT, 2 shutdown (unsupported), 3 wait-for-SIPI. */
export const ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_SIPI = 3;
export const ACTIVITY_SUPPORTED = [true, true, false, true] as const;

export const CR0_FIXED0 = VMX_CR0_FIXED0, CR0_FIXED1 = 0xffffffff | 0;
export const CR4_FIXED0 = VMX_CR4_FIXED0;
export const CR4_FIXED1 = CR4_VALID;

// EPT/VPID capabilities (IA32_VMX_EPT_VPID_CAP)
export const EPT_CAP_LO = (1 << 0) | (1 << 6) | (1 << 8) | (1 << 14) | (1 << 16) | (1 << 17) | (1 << 20) | (1 << 21) |
  (1 << 25) | (1 << 26);
export const EPT_CAP_HI = (1 << 0) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11);
/** INVEPT types supported: 1 single-context, 2 all-context. */
export const INVEPT_TYPES = [false, true, true, false] as const;

const u = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const ctl = (a: Allowed): bigint => u(a.must1, a.may1);

/** The value of capability MSR `index`, or undefined when it does not exist (#GP). */
export function capabilityMsr(index: number): bigint | undefined {
  switch (index) {
    case 0x480: return BigInt(VMCS_REVISION) | (BigInt(VMCS_SIZE) << 32n) | (6n << 50n) | (1n << 54n) | (1n << 55n);
    case 0x481: return ctl(PIN_ALLOWED);
    case 0x482: return ctl(PROC_ALLOWED);
    case 0x483: return ctl(EXIT_ALLOWED);
    case 0x484: return ctl(ENTRY_ALLOWED);
    case 0x485: return BigInt(TIMER_RATE | (1 << 5) | (1 << 6) | (1 << 8) | (CR3_TARGETS << 16));
    case 0x486: return u(CR0_FIXED0, 0);
    case 0x487: return u(CR0_FIXED1, 0);
    case 0x488: return u(CR4_FIXED0, 0);
    case 0x489: return u(CR4_FIXED1, 0);
    case 0x48a: return BigInt(supportedMaxIndex() << 1);
    case 0x48b: return ctl(PROC2_ALLOWED);
    case 0x48c: return u(EPT_CAP_LO, EPT_CAP_HI);
    case 0x48d: return ctl(PIN_ALLOWED);
    case 0x48e: return ctl(PROC_TRUE_ALLOWED);
    case 0x48f: return ctl(EXIT_TRUE_ALLOWED);
    case 0x490: return ctl(ENTRY_TRUE_ALLOWED);
    default: return undefined;
  }
}

/** Bits of `value` that violate `a` (0 when the setting is allowed). */
export function badControlBits(value: number, a: Allowed): number {
  return ((a.must1 & ~value) | (value & ~a.may1)) >>> 0;
}

/** Read-only device for 0x480-0x491 (writes #GP). */
const device: MsrDevice = {
  readMsr(index, out) {
    const v = capabilityMsr(index);
    if (v === undefined) return false;
    out.lo = Number(v & 0xffffffffn) | 0;
    out.hi = Number(v >> 32n) | 0;
    return true;
  },
  writeMsr() { return false; },
};

export function attachCapabilities(cpu: Cpu): void {
  registerMsrDevice(cpu, 0x480, 0x491, device);
}

/** CR0 value problems in VMX operation (FIXED0/FIXED1), ignoring PE/PG when `unrestricted`. */
export function cr0FixedViolation(cr0: number, unrestricted: boolean): number {
  const must1 = unrestricted ? CR0_FIXED0 & ~0x80000001 : CR0_FIXED0;
  return ((must1 & ~cr0) | (cr0 & ~CR0_FIXED1)) >>> 0;
}
export function cr4FixedViolation(cr4: number): number {
  return ((CR4_FIXED0 & ~cr4) | (cr4 & ~CR4_FIXED1)) >>> 0;
}
