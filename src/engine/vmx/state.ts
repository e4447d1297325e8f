// Per-vCPU VMX state (one `vmx` field on Cpu) and the few hooks through which
// the vCPU's run loop, interrupt delivery and MMU reach the VMX engine. This
// module stays light (no instruction or device imports) because cpu.ts,
// interrupts.ts and control-regs.ts import it; the engine (intercepts.ts,
// events.ts, exit.ts) fills in `vmxHooks` when exec/vmx-insns.ts is loaded,
// which compile.ts's family imports guarantee before any Cpu runs.

import type { Cpu } from '../x86/cpu';
import type { Vmcs } from './vmcs';
import type { Eptp } from '../mmu/ept';
import type { WalkResult, Access } from '../mmu/paging';
import type { CpuFault } from '../x86/fault';

/** Thrown from deep inside an instruction or a memory access to end it with a VM exit (like a fault). */
export class VmExitSignal {
  constructor(
    readonly reason: number,
    readonly qualLo: number,
    readonly qualHi: number,
    /** Guest-physical address (EPT exits), or -1. */
    readonly gpa: number = -1,
    /** Guest-linear address (48-bit form), or -1. */
    readonly gla: number = -1,
  ) {}
}

/**
 * Cached EPT translations of guest-physical pages ("guest-physical mappings",
 * SDM "Information That May Be Cached"): kept across VM entries and exits,
 * dropped by INVEPT, VMXOFF or a different EPTP. Direct-mapped by page.
 */
export class EptCache {
  readonly tag = new Float64Array(1024).fill(-1);
  readonly hpa = new Float64Array(1024);
  readonly allowed = new Uint8Array(1024);
  readonly dirty = new Uint8Array(1024);
  clear(): void { this.tag.fill(-1); }
}

/** A built-in VMM (builtin-vmm.ts) handles exits in TypeScript instead of loading host state. */
export interface VmxMonitor {
  /** Called with the exit recorded in the VMCS; the monitor resumes the guest (or stops the machine). */
  handleExit(cpu: Cpu): void;
}

/** The event being delivered in non-root operation (for IDT-vectoring information), or none. */
export interface Vectoring { valid: boolean; vector: number; type: number; errorCode: number; length: number }

export class VmxState {
  /** In VMX operation (after VMXON). */
  on = false;
  /** In VMX non-root operation. */
  nonRoot = false;
  vmxonPtr = -1;
  /** Current VMCS, or undefined (current-VMCS pointer FFFFFFFF_FFFFFFFFH). */
  current: Vmcs | undefined;
  /** Active VMCSs (VMPTRLD'ed and not VMCLEARed) by region address: their data is here, not in memory. */
  readonly active = new Map<number, Vmcs>();

  // ---- controls in force during non-root operation (copied at VM entry) ----
  pin = 0; proc = 0; proc2 = 0; exitCtl = 0; entryCtl = 0;
  excBitmap = 0; pfMask = 0; pfMatch = 0;
  /** EPT in use: table reads and final addresses go through eptp. */
  eptOn = false;
  eptp: Eptp | undefined;
  /** The MMU must consult mmuWalk (EPT or the APIC-access page). */
  mmuHook = false;
  /** Guest-physical mappings (EPT translations) cached across VM transitions until INVEPT, for this EPTP. */
  readonly eptCache = new EptCache();
  eptCacheKey = -1n;
  /** Host-physical page of the APIC-access page, or -1. */
  apicAccessPage = -1;
  /** Something needs the run loop's attention between blocks (windows, timer, exiting interrupts). */
  watch = false;
  /** icount at which the preemption timer expires (Infinity when off). */
  deadline = Infinity;
  timerStart = 0;
  /** Virtual-NMI blocking (virtual NMIs = 1). */
  virtualNmiBlocked = false;
  /** TSC offset added to cpu.tscOffset while in non-root operation. */
  tscAdded = 0;
  /** The event being delivered (IDT-vectoring information). */
  readonly vectoring: Vectoring = { valid: false, vector: 0, type: 0, errorCode: -1, length: 0 };
  /** Set while VM entry injects an event: the exception bitmap does not apply to it. */
  injecting = false;
  /** Instruction information stashed by compile-time wrappers for the exit path (see intercepts.ts). */
  ins: InsExitInfo | undefined;
  /** A built-in VMM, when vmscope itself is the hypervisor. */
  monitor: VmxMonitor | undefined;
  /** Built-in VMM: let the instruction at this guest RIP run once without interception (see builtin-vmm.ts). */
  bypassRip = Number.NaN;
  bypassArmed = 0;
  /** VM exits so far, in total and by basic reason (bench.ts; counting costs one increment per exit). */
  exits = 0;
  readonly exitsByReason = new Float64Array(80);
  /** Pending INIT while in VMX root operation (blocked until VMXOFF), and what performs it then. */
  initPending = false;
  initLater: (() => void) | undefined;
}

/** IA32_VMX_CR0_FIXED0 (PE, NE, PG) and IA32_VMX_CR4_FIXED0 (VMXE): bits that stay 1 in VMX operation. */
export const VMX_CR0_FIXED0 = 0x80000021 | 0, VMX_CR4_FIXED0 = 1 << 13;
const PROC2_UNRESTRICTED = 1 << 7;

/** CR0 bits that must be 1 now (MOV to CR0 in VMX operation): PE and PG are free for an unrestricted guest. */
export function cr0MustBeOne(v: VmxState): number {
  if (!v.on) return 0;
  return v.nonRoot && (v.proc2 & PROC2_UNRESTRICTED) ? VMX_CR0_FIXED0 & ~0x80000001 : VMX_CR0_FIXED0;
}
export function cr4MustBeOne(v: VmxState): number {
  return v.on ? VMX_CR4_FIXED0 : 0;
}

/** What a compile-time wrapper knows about the instruction that may exit. */
export interface InsExitInfo {
  /** VMX instruction-information field value. */
  info: number;
  /** Exit qualification: the memory operand's displacement (lo, hi), 0 for register operands. */
  dispLo: number;
  dispHi: number;
  /** Linear address of the memory operand (computed on the exit path only), if any. */
  addr?: (c: Cpu) => number;
  /** I/O: operand encoding (bit 6 of the qualification: 1 = immediate port). */
  ioImm?: boolean;
  /** LMSW: memory operand. */
  mem?: boolean;
}

/** Entry points into the VMX engine used by the vCPU core (installed by the engine). */
export interface VmxHooks {
  /** Creates per-vCPU VMX devices (capability MSRs). */
  attach(cpu: Cpu): void;
  /** A fault in non-root operation: true when it caused a VM exit (exception bitmap / EPT / triple fault). */
  fault(cpu: Cpu, e: CpuFault): boolean;
  /** Any event delivery in non-root operation: true when it caused a VM exit instead. */
  event(cpu: Cpu, vector: number, kind: number, errorCode: number, cr2: number): boolean;
  /** A VmExitSignal was thrown. */
  signal(cpu: Cpu, s: VmExitSignal): void;
  /** Triple fault in non-root operation. */
  tripleFault(cpu: Cpu, message: string): void;
  /** Between blocks in non-root operation when vmx.watch: true when it changed the flow (exit or delivery). */
  events(cpu: Cpu): boolean;
  /** TLB miss in non-root operation with mmuHook: guest walk plus EPT. */
  walk(cpu: Cpu, la: number, acc: Access): WalkResult;
}

const unset = (): never => { throw new Error('VMX engine not loaded'); };
export const vmxHooks: VmxHooks = {
  attach() {}, fault: unset, event: unset, signal: unset, tripleFault: unset, events: unset, walk: unset,
};
