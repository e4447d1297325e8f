// RDMSR, WRMSR, RDTSC, RDTSCP, RDPMC (SDM vol. 2 instruction pages; vol. 4
// for the MSRs). Which MSRs exist and where their values live is the table in
// msr-table.ts; devices (the local APIC, the VMX capability MSRs) claim index
// ranges per vCPU with registerMsrDevice and are consulted first.
//
// Choices:
// - The TSC is virtual time: cpu.icount + cpu.tscOffset (one instruction one
//   tick, so runs are reproducible). compile.ts starts a block at RDTSC,
//   RDTSCP, RDMSR and WRMSR so cpu.icount is exact when they run. A TSC
//   written by WRMSR is kept as an offset in a number: exact while the TSC
//   value (as a signed 64-bit number) stays within ±2^53.
// - IA32_EFER: reserved bits #GP; LMA is read-only (the written bit is
//   ignored, as on Intel/KVM); changing LME while CR0.PG = 1 → #GP.
// - IA32_FEATURE_CONTROL: writable bits are the lock (bit 0) and, when VMX is
//   advertised, VMX outside SMX (bit 2); any write once locked → #GP.
// - IA32_MISC_ENABLE: only fast strings (bit 0) may change; setting "limit
//   CPUID maxval" (22) or "XD disable" (34) is an unsupported stop (CPUID and
//   NX would have to change); changing any other bit → #GP.
// - RDPMC: there are no performance counters, so it always raises #GP(0).

import { Mnemonic } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define } from '../registry';
import { CpuFault, GP, MachineStop } from '../fault';
import { RCX } from '../regs';
import { setReg32 } from '../operands';
import { CR0_PG, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE } from '../../mmu/paging';
import {
  msrDef, msrName, MSR_APIC_BASE, MSR_FEATURE_CONTROL, MSR_MISC_ENABLE, MSR_TSC_AUX, MSR_TSC_DEADLINE,
} from '../msr-table';
import { getMsr, setMsrRaw } from '../msr-store';
import { VMX_SUPPORTED } from '../cpuid-table';
import { CR4_TSD, CR4_PCE, registerCr8Device, type Cr8Device } from './control-regs';
import { requireCpl0, intercepted, SysEvent, isCanonical, setEdxEax } from './sys-common';

const TWO32 = 0x1_0000_0000;

/** A device that implements some MSRs of one vCPU (readMsr/writeMsr return false for #GP(0)). */
export interface MsrDevice {
  readMsr(index: number, out: { lo: number; hi: number }): boolean;
  writeMsr(index: number, lo: number, hi: number): boolean;
}

interface Claim { first: number; last: number; dev: MsrDevice }
const claims = new WeakMap<Cpu, Claim[]>();

/** Lets `dev` implement MSRs first..last (inclusive) of `cpu`. Later registrations take precedence. */
export function registerMsrDevice(cpu: Cpu, first: number, last: number, dev: MsrDevice): void {
  let list = claims.get(cpu);
  if (!list) { list = []; claims.set(cpu, list); }
  list.unshift({ first: first >>> 0, last: last >>> 0, dev });
}

function deviceFor(c: Cpu, index: number): MsrDevice | undefined {
  const list = claims.get(c);
  if (list) for (const k of list) if (index >= k.first && index <= k.last) return k.dev;
  return undefined;
}

/**
 * Connects a vCPU's local APIC (devices/lapic.ts): IA32_APIC_BASE, IA32_TSC_DEADLINE,
 * the x2APIC MSRs and CR8. For a consistent TSC-deadline timer, give the APIC a `tsc`
 * option that reads cpu.icount + cpu.tscOffset (readTsc below).
 */
export function attachLocalApic(cpu: Cpu, apic: MsrDevice & Cr8Device): void {
  registerMsrDevice(cpu, MSR_APIC_BASE, MSR_APIC_BASE, apic);
  registerMsrDevice(cpu, MSR_TSC_DEADLINE, MSR_TSC_DEADLINE, apic);
  registerMsrDevice(cpu, 0x800, 0x8ff, apic);
  registerCr8Device(cpu, apic);
}

/** Reads an MSR from its device; false when no device claims it or the device refuses. */
export function readMsrDevice(c: Cpu, index: number, out: { lo: number; hi: number }): boolean {
  const d = deviceFor(c, index >>> 0);
  return d !== undefined && d.readMsr(index >>> 0, out);
}

// ---------------------------------------------------------------------------
// TSC
// ---------------------------------------------------------------------------

/** The TSC now: lo returned, hi in c.hi. */
export function readTsc(c: Cpu): number {
  const t = c.icount + c.tscOffset;
  if (t >= 0 && t < 2 ** 53) {
    const hi = Math.floor(t / TWO32);
    c.hi = hi | 0;
    return (t - hi * TWO32) | 0;
  }
  const u = BigInt.asUintN(64, BigInt(t));
  c.hi = Number(u >> 32n) | 0;
  return Number(u & 0xffffffffn) | 0;
}

export function writeTsc(c: Cpu, lo: number, hi: number): void {
  c.tscOffset = ((hi | 0) * TWO32 + (lo >>> 0)) - c.icount;
}

// ---------------------------------------------------------------------------
// MSR access with the architectural checks (also for VM-entry/exit MSR lists)
// ---------------------------------------------------------------------------

function localValue(c: Cpu, index: number, reset: readonly [number, number] | undefined): bigint {
  const v = c.msr.get(index);
  if (v !== undefined) return v;
  return reset ? (BigInt(reset[1] >>> 0) << 32n) | BigInt(reset[0] >>> 0) : 0n;
}

/** RDMSR semantics: fills `out` or throws #GP(0). */
export function readMsr(c: Cpu, index: number, out: { lo: number; hi: number }): void {
  index >>>= 0;
  const d = deviceFor(c, index);
  if (d) { if (!d.readMsr(index, out)) throw new CpuFault(GP, 0); return; }
  const def = msrDef(index);
  if (!def) throw new CpuFault(GP, 0);
  switch (def.kind) {
    case 'tsc': out.lo = readTsc(c); out.hi = c.hi; return;
    case 'efer': out.lo = c.efer; out.hi = 0; return;
    case 'device': throw new CpuFault(GP, 0);
    case 'store': { const v = getMsr(c, index); out.lo = v.lo | 0; out.hi = v.hi | 0; return; }
    case 'const': case 'ignore': out.lo = def.reset![0] | 0; out.hi = def.reset![1] | 0; return;
    default: {
      const v = localValue(c, index, def.reset);
      out.lo = Number(v & 0xffffffffn) | 0;
      out.hi = Number(v >> 32n) | 0;
    }
  }
}

function writeEfer(c: Cpu, lo: number, hi: number): void {
  const known = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
  if (hi !== 0 || (lo & ~known)) throw new CpuFault(GP, 0);
  const v = (lo & (EFER_SCE | EFER_LME | EFER_NXE)) | (c.efer & EFER_LMA);
  if (((v ^ c.efer) & EFER_LME) && (c.cr0 & CR0_PG)) throw new CpuFault(GP, 0);
  const changed = v ^ c.efer;
  c.efer = v;
  if (changed & EFER_NXE) c.flushTlb(true); // NX decisions are cached in TLB entries
  c.updateMode();
  c.exitBlock = true;
}

function writeSpecial(c: Cpu, index: number, lo: number, hi: number): void {
  const old = localValue(c, index, msrDef(index)!.reset);
  const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if (index === MSR_FEATURE_CONTROL) {
    const writable = 1n | (VMX_SUPPORTED ? 4n : 0n);
    if ((old & 1n) || (v & ~writable)) throw new CpuFault(GP, 0);
  } else if (index === MSR_MISC_ENABLE) {
    const diff = old ^ v;
    const unsupported = (1n << 22n) | (1n << 34n);
    if (diff & v & unsupported) {
      throw new MachineStop('unsupported', `unsupported: WRMSR IA32_MISC_ENABLE = 0x${v.toString(16)} (limit CPUID maxval / XD disable)`);
    }
    if (diff & ~1n) throw new CpuFault(GP, 0);
  }
  c.msr.set(index, v);
}

/** WRMSR semantics: stores the value or throws #GP(0). */
export function writeMsr(c: Cpu, index: number, lo: number, hi: number): void {
  index >>>= 0;
  lo |= 0; hi |= 0;
  const d = deviceFor(c, index);
  if (d) {
    if (!d.writeMsr(index, lo, hi)) throw new CpuFault(GP, 0);
    c.exitBlock = true; // e.g. an APIC write may make an interrupt deliverable
    return;
  }
  const def = msrDef(index);
  if (!def) throw new CpuFault(GP, 0);
  if (def.canonical && !isCanonical(hi)) throw new CpuFault(GP, 0);
  if (def.valid && !def.valid(lo, hi)) throw new CpuFault(GP, 0);
  switch (def.kind) {
    case 'tsc': writeTsc(c, lo, hi); return;
    case 'efer': writeEfer(c, lo, hi); return;
    case 'device': case 'const': throw new CpuFault(GP, 0);
    case 'ignore': return;
    case 'store': setMsrRaw(c, index, lo, hi); return;
    default:
      if (def.special) writeSpecial(c, index, lo, hi);
      else c.msr.set(index, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }
}

export { msrName };

// ---------------------------------------------------------------------------
// Instructions
// ---------------------------------------------------------------------------

const tmp = { lo: 0, hi: 0 };

define(Mnemonic.Rdmsr, () => (c) => {
  requireCpl0(c);
  if (intercepted(c, SysEvent.Rdmsr)) return;
  readMsr(c, c.rl[RCX]!, tmp);
  setEdxEax(c, tmp.lo, tmp.hi);
});

define(Mnemonic.Wrmsr, () => (c) => {
  requireCpl0(c);
  if (intercepted(c, SysEvent.Wrmsr)) return;
  writeMsr(c, c.rl[RCX]!, c.rl[0]!, c.rl[2]!);
});

/** #GP(0) when CR4.TSD restricts the TSC to CPL 0. */
function checkTsd(c: Cpu): void {
  if ((c.cr4 & CR4_TSD) && c.cpl !== 0) throw new CpuFault(GP, 0);
}

define(Mnemonic.Rdtsc, () => (c) => {
  checkTsd(c);
  if (intercepted(c, SysEvent.Rdtsc)) return;
  const lo = readTsc(c);
  setEdxEax(c, lo, c.hi);
});

define(Mnemonic.Rdtscp, () => (c) => {
  checkTsd(c);
  if (intercepted(c, SysEvent.Rdtscp)) return;
  const lo = readTsc(c);
  const hi = c.hi;
  const aux = getMsr(c, MSR_TSC_AUX);
  setEdxEax(c, lo, hi);
  setReg32(c, RCX, aux.lo | 0);
});

define(Mnemonic.Rdpmc, () => (c) => {
  if (c.cpl !== 0 && !(c.cr4 & CR4_PCE)) throw new CpuFault(GP, 0);
  if (intercepted(c, SysEvent.Rdpmc)) return;
  throw new CpuFault(GP, 0); // no performance-monitoring counters: every ECX is invalid
});
