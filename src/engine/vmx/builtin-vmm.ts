// The built-in VMM (`vmm: "builtin"`): vmscope itself plays the hypervisor,
// KVM-like, for an ordinary guest. Each vCPU runs the program in VMX non-root
// operation under a VMCS the VMM builds from the boot protocol's entry state
// (boot.ts), with an identity EPT over guest RAM; VM exits are handled here
// in TypeScript instead of by host code, and each one is a trace record.
//
// What exits and how it is handled:
// - CPUID: answered from the CPU's table with CPUID.1:ECX.VMX cleared
//   (nested VMX is not offered); every VMX instruction is injected #UD.
// - I/O (unconditional I/O exiting), RDMSR/WRMSR (no MSR bitmaps), HLT, and
//   EPT violations on guest-physical addresses outside RAM (the local APIC,
//   the IOAPIC, unbacked space): the instruction is run once more, natively,
//   against the emulated devices and MSRs (the VMM "emulates" it with the
//   emulator itself), so the guest sees exactly what it would without a VMM.
// - CR0/CR4 accesses to the bits VMX fixes (CR0.NE, CR4.VMXE, owned by the
//   VMM with read shadows): the shadow takes the guest's value, the real
//   register keeps the fixed bit; setting CR4.VMXE is #GP (no nested VMX).
// - INIT / SIPI (application processors): reset to wait-for-SIPI / start in
//   real mode at the SIPI vector, as without a VMM.
// - Triple fault: the machine stops with a shutdown, as without a VMM.
//
// Memory: the EPT tables sit in the top 128 KiB of guest RAM, which the
// Multiboot memory map already leaves out (machine.ts); EPT does not map
// that range, so the guest cannot reach them (an access stops the machine).
// The VMCSs and VMXON regions are kept by the VMM (nominal addresses outside
// RAM; nothing is written to guest memory for them).
//
// Every exit leaves VMX non-root operation and re-enters (trace: vmexit,
// mode, vmentry, mode), with the TLB flushed as on every VM transition.

import type { Cpu } from '../x86/cpu';
import { MachineStop, CpuFault, GP, UD } from '../x86/fault';
import { RAX, RBX, RCX, RDX } from '../x86/regs';
import { setReg32 } from '../x86/operands';
import { cpuidQuery, type CpuidResult } from '../x86/exec/cpuid';
import { writeCr0, writeCr4 } from '../x86/exec/control-regs';
import { bootReal } from '../boot';
import { EPT_R, EPT_W, EPT_X, EPT_PS } from '../mmu/ept';
import { Vmcs, LAUNCH_LAUNCHED } from './vmcs';
import * as F from './enc';
import {
  PIN_ALLOWED, PROC_TRUE_ALLOWED, EXIT_TRUE_ALLOWED, ENTRY_TRUE_ALLOWED, PROC_HLT, PROC_UNCOND_IO, PROC_SECONDARY,
  PROC2_EPT, PROC2_UNRESTRICTED, PROC2_RDTSCP, EXIT_HOST_64, ENTRY_IA32E, VMCS_REVISION,
} from './capabilities';
import { saveGuest } from './exit';
import { enterNonRoot, updateWatch } from './entry';
import { runChecks, type CheckCtx } from './checks/common';
import { CONTROL_CHECKS } from './checks/controls';
import { GUEST_CHECKS } from './checks/guest';
import type { VmxMonitor } from './state';

/** Top of RAM the VMM keeps for itself (as the firmware reserve under QEMU). */
export const VMM_RESERVE = 128 * 1024;
const CR0_NE = 1 << 5, CR4_VMXE = 1 << 13;
const NOMINAL_VMCS = 0xfd000000; // outside RAM: the VMM keeps its VMCSs

const R = {
  EXCEPTION_NMI: 0, TRIPLE_FAULT: 2, INIT: 3, SIPI: 4, CPUID: 10, HLT: 12, CR_ACCESS: 28, IO: 30, RDMSR: 31,
  WRMSR: 32, EPT_VIOLATION: 48, EPT_MISCONFIG: 49,
};
const VMX_INSTRUCTIONS = new Set([18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 50, 53]);

export interface BuiltinVmmHost {
  /** The local APIC reset an INIT performs (machine.ts). */
  initReset(cpu: number): void;
}

export class BuiltinVmm implements VmxMonitor {
  readonly eptp: number;
  private readonly ramTop: number;
  private readonly cpuid: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  /** Exits handled, by basic reason (for the bench and the report). */
  readonly counts = new Map<number, number>();

  constructor(private readonly cpus: readonly Cpu[], private readonly host: BuiltinVmmHost) {
    const mem = cpus[0]!.mem;
    if (mem.size < 2 * 1024 * 1024) throw new RangeError('the built-in VMM needs at least 2 MiB of guest RAM');
    this.ramTop = mem.size - VMM_RESERVE;
    this.eptp = this.buildEpt();
  }

  /**
   * The identity EPT in the reserve: RAM below the reserve read/write/execute
   * (2 MiB pages, 4 KiB pages in the 2 MiB region holding the reserve), the
   * top 2 MiB below 4 GiB (the reset-vector ROM) read/execute; nothing else.
   */
  private buildEpt(): number {
    const mem = this.cpus[0]!.mem;
    const base = this.ramTop;
    for (let a = base; a < mem.size; a += 4) mem.write32(a, 0);
    const pml4 = base, pdpt = base + 0x1000, pd = base + 0x2000, pt = base + 0x6000;
    const put = (at: number, lo: number, hi = 0) => { mem.write32(at, lo | 0); mem.write32(at + 4, hi); };
    put(pml4, pdpt | 7);
    for (let i = 0; i < 4; i++) put(pdpt + 8 * i, (pd + 0x1000 * i) | 7);
    const WB = 6 << 3;
    const split = Math.floor(this.ramTop / 0x200000);
    for (let r = 0; r < 2048; r++) {
      const at = pd + 8 * r;
      if ((r + 1) * 0x200000 <= this.ramTop) put(at, (r * 0x200000) | EPT_PS | WB | EPT_R | EPT_W | EPT_X);
      else if (r === split) {
        put(at, pt | 7);
        for (let i = 0; i < 512; i++) {
          const page = r * 0x200000 + i * 0x1000;
          if (page + 0x1000 <= this.ramTop) put(pt + 8 * i, page | WB | EPT_R | EPT_W | EPT_X);
        }
      } else if (r === 2047) put(at, (r * 0x200000) | EPT_PS | WB | EPT_R | EPT_X);
    }
    return pml4 | (3 << 3) | 6;
  }

  /** Puts every vCPU in VMX non-root operation: the BSP at its boot state, the others waiting for SIPI. */
  start(): void {
    for (const cpu of this.cpus) this.launch(cpu);
  }

  private launch(cpu: Cpu): void {
    const v = cpu.vmx;
    v.on = true;
    v.vmxonPtr = NOMINAL_VMCS - 0x1000 * (cpu.id + 1);
    const vmcs = new Vmcs(NOMINAL_VMCS + 0x1000 * cpu.id);
    v.current = vmcs;
    v.monitor = this;
    this.writeControls(cpu, vmcs);
    this.fixCrs(cpu, vmcs);
    saveGuest(cpu, vmcs, cpu.rip);
    const ctx: CheckCtx = { lma: false, mem: cpu.mem, vmxonPtr: v.vmxonPtr };
    const f = runChecks(CONTROL_CHECKS, vmcs, ctx) ?? runChecks(GUEST_CHECKS, vmcs, ctx);
    if (f) throw new MachineStop('internal', `built-in VMM: the guest's entry state fails a VM-entry check: ${f.text} (${f.field}, SDM '${f.sdm}')`);
    vmcs.launch = LAUNCH_LAUNCHED;
    cpu.events.vmentry?.(cpu, true);
    enterNonRoot(cpu, vmcs);
    cpu.events.mode(cpu, 'vmx-root', 'vmx-non-root');
  }

  private writeControls(cpu: Cpu, vmcs: Vmcs): void {
    vmcs.set(F.PIN, PIN_ALLOWED.must1);
    vmcs.set(F.PROC, PROC_TRUE_ALLOWED.must1 | PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY);
    vmcs.set(F.PROC2, PROC2_EPT | PROC2_UNRESTRICTED | PROC2_RDTSCP);
    vmcs.set(F.EPT_POINTER, this.eptp);
    vmcs.set(F.EXIT_CONTROLS, EXIT_TRUE_ALLOWED.must1 | EXIT_HOST_64);
    vmcs.set(F.ENTRY_CONTROLS, ENTRY_TRUE_ALLOWED.must1 | (cpu.longMode ? ENTRY_IA32E : 0));
    vmcs.set(F.CR0_MASK, CR0_NE);
    vmcs.set(F.CR4_MASK, CR4_VMXE);
    vmcs.set64(F.VMCS_LINK_POINTER, -1n);
    vmcs.set(F.EXCEPTION_BITMAP, 0);
    // Nominal host state (exits are handled here, it is never loaded) that passes the host checks.
    vmcs.set(F.HOST_CR0, 0x80000031 | 0); vmcs.set(F.HOST_CR4, 0x2020); vmcs.set(F.HOST_SEL[1]!, 8);
    vmcs.set(F.HOST_SEL[2]!, 0x10); vmcs.set(F.HOST_TR_SELECTOR, 0x18);
    void VMCS_REVISION;
  }

  /** CR0.NE and CR4.VMXE are fixed to 1 in VMX operation: the guest sees its own values in the read shadows. */
  private fixCrs(cpu: Cpu, vmcs: Vmcs): void {
    vmcs.set(F.CR0_SHADOW, cpu.cr0 & CR0_NE);
    vmcs.set(F.CR4_SHADOW, cpu.cr4 & CR4_VMXE);
    cpu.cr0 |= CR0_NE;
    cpu.cr4 |= CR4_VMXE;
  }

  /** Back to the guest: the VMCS's guest state is the vCPU's, which stayed loaded. */
  private resume(cpu: Cpu): void {
    const vmcs = cpu.vmx.current!;
    cpu.events.vmentry?.(cpu, false);
    enterNonRoot(cpu, vmcs);
    cpu.events.mode(cpu, 'vmx-root', 'vmx-non-root');
  }

  /** Lets the guest instruction at cpu.rip run once more without interception. */
  private runNatively(cpu: Cpu): void {
    const v = cpu.vmx;
    v.bypassRip = cpu.rip;
    v.bypassArmed = 1;
    cpu.nextRip = cpu.rip;
    cpu.exitBlock = true;
    updateWatch(cpu);
  }

  handleExit(cpu: Cpu): void {
    const vmcs = cpu.vmx.current!;
    const reason = vmcs.get32(F.EXIT_REASON) & 0xffff;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    cpu.events.mode(cpu, 'vmx-non-root', 'vmx-root');
    switch (reason) {
      case R.TRIPLE_FAULT:
        cpu.stop = new MachineStop('shutdown', 'triple fault in the guest (VM exit 2 to the built-in VMM)');
        return;
      case R.INIT:
        cpu.reset();
        this.host.initReset(cpu.id);
        cpu.waitForSipi = true;
        this.fixCrs(cpu, vmcs);
        this.resume(cpu);
        return;
      case R.SIPI:
        cpu.waitForSipi = false;
        bootReal(cpu, (vmcs.get32(F.EXIT_QUALIFICATION) & 0xff) << 8, 0);
        this.fixCrs(cpu, vmcs);
        this.resume(cpu);
        return;
      case R.CPUID: {
        this.resume(cpu);
        const out = cpuidQuery(cpu, cpu.rl[RAX]!, cpu.rl[RCX]!, this.cpuid);
        if ((cpu.rl[RAX]! >>> 0) === 1) out.ecx &= ~(1 << 5); // no nested VMX
        setReg32(cpu, RAX, out.eax | 0); setReg32(cpu, RBX, out.ebx | 0);
        setReg32(cpu, RCX, out.ecx | 0); setReg32(cpu, RDX, out.edx | 0);
        return; // the instruction completes: RIP moves past it
      }
      case R.HLT: case R.IO: case R.RDMSR: case R.WRMSR:
        this.resume(cpu);
        this.runNatively(cpu);
        return;
      case R.EPT_VIOLATION: case R.EPT_MISCONFIG: {
        const gpa = vmcs.getNum(F.GUEST_PHYSICAL_ADDRESS);
        if (gpa < cpu.mem.size) {
          cpu.stop = new MachineStop('unsupported', `the guest accessed RAM the built-in VMM reserves (guest-physical 0x${gpa.toString(16)}, top ${VMM_RESERVE / 1024} KiB)`);
          return;
        }
        this.resume(cpu);
        this.runNatively(cpu); // device memory: the access goes to the device model
        cpu.nextRip = cpu.rip;
        return;
      }
      case R.CR_ACCESS:
        this.resume(cpu);
        this.crAccess(cpu, vmcs);
        return;
      default:
        this.resume(cpu);
        if (VMX_INSTRUCTIONS.has(reason)) throw new CpuFault(UD);
        cpu.stop = new MachineStop('internal', `built-in VMM: unexpected VM exit ${reason}`);
    }
  }

  /** MOV to CR0/CR4 changing NE/VMXE (the only host-owned bits); CLTS/LMSW never exit (TS, PE/MP/EM not owned). */
  private crAccess(cpu: Cpu, vmcs: Vmcs): void {
    const q = vmcs.get32(F.EXIT_QUALIFICATION);
    const n = q & 0xf, gpr = (q >> 8) & 0xf;
    const lo = cpu.rl[gpr]!, hi = cpu.bits === 64 ? cpu.rh[gpr]! : 0;
    if (n === 0) {
      writeCr0(cpu, lo | CR0_NE, hi);
      vmcs.set(F.CR0_SHADOW, lo & CR0_NE);
    } else if (n === 4) {
      if (lo & CR4_VMXE) throw new CpuFault(GP, 0); // VMX is not offered to the guest
      writeCr4(cpu, lo | CR4_VMXE, hi);
      vmcs.set(F.CR4_SHADOW, 0);
    } else {
      cpu.stop = new MachineStop('internal', `built-in VMM: unexpected CR access exit (qualification 0x${q.toString(16)})`);
    }
  }
}
