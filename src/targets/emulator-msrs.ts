// The MSRs the register view lists for an emulated vCPU, by their SDM names
// from the engine's MSR table (engine/x86/msr-table.ts). Values are read and
// written with RDMSR/WRMSR semantics (engine/x86/exec/system-msr.ts), so the
// debugger sees what the guest would (devices such as the local APIC
// included) and cannot store a value the CPU would refuse with #GP.

import type { Cpu } from '../engine/x86/cpu';
import { CpuFault } from '../engine/x86/fault';
import { MSR_TABLE, msrName, MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE,
  MSR_KERNEL_GS_BASE, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_APIC_BASE, MSR_PAT } from '../engine/x86/msr-table';
import { readMsr as rdmsr, writeMsr as wrmsr } from '../engine/x86/exec/system-msr';

/** Listed first: what a kernel developer looks at (system calls, segment bases); the rest follow by index. */
const FIRST = [MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK, MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
  MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_APIC_BASE, MSR_PAT];

const ORDER: readonly number[] = [
  ...FIRST.filter((i) => MSR_TABLE.some((d) => d.index === i)),
  ...MSR_TABLE.map((d) => d.index).filter((i) => !FIRST.includes(i)).sort((a, b) => a - b),
];

export { msrName };

/** Index of an MSR given by name ("IA32_LSTAR", "lstar") or number ("msr:0xc0000082", "0xc0000082", "MSR 0x1b"). */
export function msrIndex(name: string): number | undefined {
  const t = name.trim().replace(/^msr[:\s]*/i, '');
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const n = Number(t);
    return n >= 0 && n <= 0xffffffff ? n : undefined;
  }
  const want = t.toUpperCase();
  return MSR_TABLE.find((d) => d.name === want || d.name === `IA32_${want}`)?.index;
}

/** RDMSR of one MSR; undefined when the CPU would raise #GP (e.g. a device MSR without its device). */
export function readMsr(cpu: Cpu, index: number): bigint | undefined {
  const out = { lo: 0, hi: 0 };
  const saveHi = cpu.hi; // readMsr may use the vCPU's scratch register for 64-bit results
  try {
    rdmsr(cpu, index, out);
  } catch (e) {
    if (e instanceof CpuFault) return undefined;
    throw e;
  } finally {
    cpu.hi = saveHi;
  }
  return (BigInt(out.hi >>> 0) << 32n) | BigInt(out.lo >>> 0);
}

/** WRMSR of one MSR; throws an Error when the CPU would refuse the value. */
export function writeMsr(cpu: Cpu, index: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  try {
    wrmsr(cpu, index, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
  } catch (e) {
    if (e instanceof CpuFault) throw new Error(`${msrName(index)}: the CPU refuses 0x${v.toString(16)} (WRMSR would raise #GP)`);
    throw e;
  }
}

/** The MSRs to show, with their current values (those that read as #GP are left out). */
export function listedMsrs(cpu: Cpu): Array<{ index: number; name: string; value: bigint }> {
  const out: Array<{ index: number; name: string; value: bigint }> = [];
  for (const index of ORDER) {
    const value = readMsr(cpu, index);
    if (value !== undefined) out.push({ index, name: msrName(index), value });
  }
  return out;
}
