// Runs a snippet like cpu-harness.ts's runCode, but with an IDT whose every
// vector leads to a stub that records the vector number and halts, and with
// a hook to set CPU state (CR0/CR4 bits, XMM/x87 registers) before running.
// Tests then assert which exception happened and where.

import { PhysicalMemory } from '../../src/engine/mmu/physmem';
import { IoBus } from '../../src/engine/devices/bus';
import { Cpu, Exit } from '../../src/engine/x86/cpu';
import { bootLong64, bootProtected32, SEL_CODE32, SEL_CODE64 } from '../../src/engine/boot';
import { CODE_ADDR, getReg, setReg, type RunResult } from './cpu-harness';

/** Where the recorded vector is stored (0xffffffff when nothing was delivered). */
export const FAULT_SLOT = 0x30f000;
const STUBS = 0x300000;
const IDT = 0x310000;

export interface FaultRunOptions {
  regs?: Record<string, bigint | number>;
  data?: { addr: number; bytes: Uint8Array }[];
  limit?: number;
  /** Runs after boot, before the first instruction. */
  setup?: (cpu: Cpu) => void;
}

export interface FaultRunResult extends RunResult {
  /** The vector delivered through the IDT, or undefined. */
  vector: number | undefined;
  /** Error code pushed with the exception (vectors that have one). */
  errorCode: number | undefined;
  /** RIP saved in the exception frame. */
  faultRip: bigint | undefined;
}

const WITH_ERROR = new Set([8, 10, 11, 12, 13, 14, 17, 21]);

export function runWithIdt(bytes: Uint8Array, mode: 'long64' | 'prot32', opts: FaultRunOptions = {}): FaultRunResult {
  const mem = new PhysicalMemory(16 * 1024 * 1024);
  const cpu = new Cpu(0, mem, new IoBus());
  mem.onCodeWrite = (p, a, n) => cpu.invalidateCodePage(p, a, n);
  mem.load(CODE_ADDR, bytes);
  for (const d of opts.data ?? []) mem.load(d.addr, d.bytes);
  if (mode === 'long64') bootLong64(cpu, CODE_ADDR);
  else bootProtected32(cpu, CODE_ADDR);
  mem.write32(FAULT_SLOT, -1);
  for (let v = 0; v < 32; v++) {
    const stub = STUBS + v * 16;
    // mov dword ptr [FAULT_SLOT], v ; hlt   (disp32 absolute: SIB form in 64-bit mode)
    const code = mode === 'long64'
      ? [0xc7, 0x04, 0x25, ...le32(FAULT_SLOT), ...le32(v), 0xf4]
      : [0xc7, 0x05, ...le32(FAULT_SLOT), ...le32(v), 0xf4];
    mem.load(stub, Uint8Array.from(code));
    if (mode === 'long64') {
      const g = IDT + v * 16;
      mem.write32(g, (stub & 0xffff) | (SEL_CODE64 << 16));
      mem.write32(g + 4, (stub & 0xffff0000) | 0x8e00);
      mem.write32(g + 8, 0);
      mem.write32(g + 12, 0);
    } else {
      const g = IDT + v * 8;
      mem.write32(g, (stub & 0xffff) | (SEL_CODE32 << 16));
      mem.write32(g + 4, (stub & 0xffff0000) | 0x8e00);
    }
  }
  cpu.idtrBase = IDT;
  cpu.idtrLimit = (mode === 'long64' ? 16 : 8) * 32 - 1;
  for (const [name, v] of Object.entries(opts.regs ?? {})) setReg(cpu, name, BigInt(v));
  opts.setup?.(cpu);
  const exit = cpu.run(opts.limit ?? 100000);
  const slot = mem.read32(FAULT_SLOT) >>> 0;
  const vector = slot === 0xffffffff ? undefined : slot;
  let errorCode: number | undefined;
  let faultRip: bigint | undefined;
  if (vector !== undefined && exit === Exit.Halted) {
    const w = mode === 'long64' ? 8 : 4;
    let sp = Number(getReg(cpu, 'rsp') & (mode === 'long64' ? 0xffffffffffffn : 0xffffffffn));
    if (WITH_ERROR.has(vector)) { errorCode = mem.read32(sp) >>> 0; sp += w; }
    faultRip = mode === 'long64'
      ? (BigInt(mem.read32(sp + 4) >>> 0) << 32n) | BigInt(mem.read32(sp) >>> 0)
      : BigInt(mem.read32(sp) >>> 0);
  }
  return {
    cpu, exit, vector, errorCode, faultRip,
    reg: (name) => getReg(cpu, name),
    mem: (addr, len) => mem.bytes.slice(addr, addr + len),
  };
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Bytes of little-endian dwords. */
export function dwords(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}

/** XMM register i as four unsigned dwords (low first). */
export function xmmOf(cpu: Cpu, i: number): number[] {
  return [0, 1, 2, 3].map((k) => cpu.xmm[i * 4 + k]! >>> 0);
}

/** Sets XMM register i from four dwords (low first). */
export function setXmm(cpu: Cpu, i: number, v: number[]): void {
  for (let k = 0; k < 4; k++) cpu.xmm[i * 4 + k] = v[k]! | 0;
}
