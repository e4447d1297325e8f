// CPUID: serves cpuid-table.ts and fills in what differs per vCPU or per
// state: the initial APIC ID (= vCPU index) and logical-processor count in
// leaf 1, the x2APIC topology of leaf 0xB (every vCPU a core of one package,
// one thread per core), CPUID.1:ECX.OSXSAVE (mirrors CR4.OSXSAVE),
// CPUID.1:EDX.APIC (clear while IA32_APIC_BASE.EN = 0) and
// CPUID.80000001:EDX.SYSCALL (only while IA-32e mode is active, as QEMU TCG
// answers for Intel vendors).

import { Mnemonic } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define } from '../registry';
import { setReg32 } from '../operands';
import { RAX, RBX, RCX, RDX } from '../regs';
import {
  cpuidEntry, MAX_BASIC_LEAF, MAX_EXT_LEAF, F1C_OSXSAVE, F1D_APIC, F1D_HTT, FXD_SYSCALL, XSAVE_SUPPORTED,
  XSAVE_AREA_SIZE,
} from '../cpuid-table';
import { CR4_OSXSAVE } from './control-regs';
import { readMsrDevice } from './system-msr';
import { intercepted, SysEvent } from './sys-common';

export interface CpuidResult { eax: number; ebx: number; ecx: number; edx: number }

const vcpuCounts = new WeakMap<Cpu, number>();

/** The machine tells each vCPU how many vCPUs share its package (leaf 1 and 0xB topology). Default 1. */
export function setCpuidTopology(cpu: Cpu, vcpus: number): void {
  vcpuCounts.set(cpu, Math.max(1, vcpus | 0));
}

const apicBase = { lo: 0, hi: 0 };

/** CPUID for (leaf, subleaf) as this vCPU would answer now; writes into `out` and returns it. */
export function cpuidQuery(c: Cpu, leaf: number, subleaf: number, out: CpuidResult): CpuidResult {
  leaf >>>= 0;
  subleaf >>>= 0;
  if ((leaf > MAX_BASIC_LEAF && leaf < 0x80000000) || leaf > MAX_EXT_LEAF) leaf = MAX_BASIC_LEAF;
  const e = cpuidEntry(leaf, subleaf);
  out.eax = e ? e.eax : 0; out.ebx = e ? e.ebx : 0; out.ecx = e ? e.ecx : 0; out.edx = e ? e.edx : 0;
  const n = vcpuCounts.get(c) ?? 1;
  switch (leaf) {
    case 1:
      out.ebx = (out.ebx & 0xffff) | ((n & 0xff) << 16) | ((c.id & 0xff) << 24);
      if (n > 1) out.edx |= F1D_HTT;
      if (c.cr4 & CR4_OSXSAVE) out.ecx |= F1C_OSXSAVE;
      if (readMsrDevice(c, 0x1b, apicBase) && !(apicBase.lo & (1 << 11))) out.edx &= ~F1D_APIC;
      break;
    case 0xb: {
      // Level 0: SMT (1 thread per core); level 1: core (n cores); then invalid levels.
      const coreShift = n <= 1 ? 0 : 32 - Math.clz32(n - 1);
      out.edx = c.id >>> 0;
      if (subleaf === 0) { out.eax = 0; out.ebx = 1; out.ecx = (1 << 8) | 0; }
      else if (subleaf === 1) { out.eax = coreShift; out.ebx = n; out.ecx = (2 << 8) | 1; }
      else { out.eax = 0; out.ebx = 0; out.ecx = subleaf & 0xff; }
      break;
    }
    case 0xd:
      // EBX: the XSAVE area size for the components enabled in XCR0 (x87 and SSE share the legacy area).
      if (XSAVE_SUPPORTED && subleaf === 0) out.ebx = XSAVE_AREA_SIZE;
      break;
    case 0x80000001:
      if (!c.longMode) out.edx &= ~FXD_SYSCALL;
      break;
  }
  out.eax >>>= 0; out.ebx >>>= 0; out.ecx >>>= 0; out.edx >>>= 0;
  return out;
}

const result: CpuidResult = { eax: 0, ebx: 0, ecx: 0, edx: 0 };

define(Mnemonic.Cpuid, () => (c) => {
  if (intercepted(c, SysEvent.Cpuid)) return;
  cpuidQuery(c, c.rl[RAX]!, c.rl[RCX]!, result);
  setReg32(c, RAX, result.eax | 0);
  setReg32(c, RBX, result.ebx | 0);
  setReg32(c, RCX, result.ecx | 0);
  setReg32(c, RDX, result.edx | 0);
});
