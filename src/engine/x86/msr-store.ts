// Where MSR values live: a plain data store, no WRMSR validity checks (those
// belong to RDMSR/WRMSR in exec/system-msr.ts, which reads and writes through
// getMsr/setMsrRaw). Values are 64-bit (lo, hi) int32 pairs.
//
// - FS_BASE / GS_BASE are the segment caches' bases: cpu.segBase[FS]/[GS],
//   held as signed canonical numbers (exact for |v| < 2^53; WRMSR only admits
//   canonical values, so nothing is lost).
// - EFER is cpu.efer (a raw store: WRMSR updates the mode itself).
// - The MSRs the fast system-call instructions read on every use (STAR,
//   LSTAR, CSTAR, FMASK, SYSENTER_*, KERNEL_GS_BASE) sit in a per-vCPU
//   FastMsrs record of int32 fields, so SYSCALL/SWAPGS read them without
//   BigInt work; fastMsrs(cpu) hands it to those handlers.
// - Every other MSR is kept in cpu.msr (Map<number, bigint>), 0 when unset.
// The store is never reset by cpu.reset(): INIT leaves these MSRs unchanged
// and a power-on is a new Cpu.

import type { Cpu } from './cpu';
import { FS, GS } from './regs';

export const MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176;
export const MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
  MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101, MSR_KERNEL_GS_BASE = 0xc0000102;

const TWO32 = 0x1_0000_0000;

/** The fast-path MSRs of one vCPU, as int32 lo/hi halves. */
export class FastMsrs {
  starLo = 0; starHi = 0;
  lstarLo = 0; lstarHi = 0;
  cstarLo = 0; cstarHi = 0;
  fmaskLo = 0; fmaskHi = 0;
  sysenterCsLo = 0; sysenterCsHi = 0;
  sysenterEspLo = 0; sysenterEspHi = 0;
  sysenterEipLo = 0; sysenterEipHi = 0;
  kernelGsLo = 0; kernelGsHi = 0;
}

const stores = new WeakMap<Cpu, FastMsrs>();

/** The vCPU's fast-path MSR record (created zeroed on first use). */
export function fastMsrs(cpu: Cpu): FastMsrs {
  let m = stores.get(cpu);
  if (m === undefined) {
    m = new FastMsrs();
    stores.set(cpu, m);
  }
  return m;
}

/** Signed number of an int32 pair (exact when |v| < 2^53). */
export function pairNumber(lo: number, hi: number): number {
  return (hi | 0) * TWO32 + (lo >>> 0);
}

/** Current value of MSR `index` as an int32 (lo, hi) pair. */
export function getMsr(cpu: Cpu, index: number): { lo: number; hi: number } {
  const m = fastMsrs(cpu);
  switch (index >>> 0) {
    case MSR_STAR: return { lo: m.starLo, hi: m.starHi };
    case MSR_LSTAR: return { lo: m.lstarLo, hi: m.lstarHi };
    case MSR_CSTAR: return { lo: m.cstarLo, hi: m.cstarHi };
    case MSR_FMASK: return { lo: m.fmaskLo, hi: m.fmaskHi };
    case MSR_SYSENTER_CS: return { lo: m.sysenterCsLo, hi: m.sysenterCsHi };
    case MSR_SYSENTER_ESP: return { lo: m.sysenterEspLo, hi: m.sysenterEspHi };
    case MSR_SYSENTER_EIP: return { lo: m.sysenterEipLo, hi: m.sysenterEipHi };
    case MSR_KERNEL_GS_BASE: return { lo: m.kernelGsLo, hi: m.kernelGsHi };
    case MSR_FS_BASE: return numberPair(cpu.segBase[FS]!);
    case MSR_GS_BASE: return numberPair(cpu.segBase[GS]!);
    case MSR_EFER: return { lo: cpu.efer | 0, hi: 0 };
    default: {
      const v = BigInt.asUintN(64, cpu.msr.get(index >>> 0) ?? 0n);
      return { lo: Number(v & 0xffffffffn) | 0, hi: Number(v >> 32n) | 0 };
    }
  }
}

/** Stores MSR `index` as given (no checks: the caller validated the value). */
export function setMsrRaw(cpu: Cpu, index: number, lo: number, hi: number): void {
  lo |= 0; hi |= 0;
  const m = fastMsrs(cpu);
  switch (index >>> 0) {
    case MSR_STAR: m.starLo = lo; m.starHi = hi; return;
    case MSR_LSTAR: m.lstarLo = lo; m.lstarHi = hi; return;
    case MSR_CSTAR: m.cstarLo = lo; m.cstarHi = hi; return;
    case MSR_FMASK: m.fmaskLo = lo; m.fmaskHi = hi; return;
    case MSR_SYSENTER_CS: m.sysenterCsLo = lo; m.sysenterCsHi = hi; return;
    case MSR_SYSENTER_ESP: m.sysenterEspLo = lo; m.sysenterEspHi = hi; return;
    case MSR_SYSENTER_EIP: m.sysenterEipLo = lo; m.sysenterEipHi = hi; return;
    case MSR_KERNEL_GS_BASE: m.kernelGsLo = lo; m.kernelGsHi = hi; return;
    case MSR_FS_BASE: cpu.segBase[FS] = pairNumber(lo, hi); return;
    case MSR_GS_BASE: cpu.segBase[GS] = pairNumber(lo, hi); return;
    case MSR_EFER: cpu.efer = lo >>> 0; return;
    default:
      cpu.msr.set(index >>> 0, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }
}

function numberPair(v: number): { lo: number; hi: number } {
  const hi = Math.floor(v / TWO32);
  return { lo: (v - hi * TWO32) | 0, hi: hi | 0 };
}
