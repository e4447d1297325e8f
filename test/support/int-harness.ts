// Harness for the integer instruction-family tests: like cpu-harness.ts's
// runCode, plus initial RFLAGS and an exception table whose entries all lead
// to one-byte HLT stubs, so a test can see which vector was raised and where
// (the return address the CPU pushed) without any system instructions.
//
// Layout of every snippet: `jmp` over 32 HLT stubs (vector v halts at stub v),
// then the test's code. In real mode the IVT at 0 points at the stubs; in
// prot32/long64 an IDT at IDT_ADDR holds interrupt gates to them.

import { PhysicalMemory } from '../../src/engine/mmu/physmem';
import { IoBus } from '../../src/engine/devices/bus';
import { Cpu, Exit } from '../../src/engine/x86/cpu';
import { bootLong64, bootProtected32, bootReal, SEL_CODE32, SEL_CODE64 } from '../../src/engine/boot';
import { HAS_ERROR_CODE } from '../../src/engine/x86/vectors';
import { GPR_NAMES } from '../../src/engine/x86/regs';
import { assemble, getReg, setReg, CODE_ADDR, DATA_ADDR, type Mode } from './cpu-harness';

export { DATA_ADDR, CODE_ADDR } from './cpu-harness';

/** Physical address of the IDT the harness builds in prot32/long64. */
export const IDT_ADDR = 0x1000;
/** Real mode: the snippet's segment (code at 0x10000, as runCode loads it). */
const REAL_CS = 0x1000;
/** Offset of stub 0 from the start of the snippet. */
const STUB_OFF = 16;
/** Offset of the test's first instruction from the start of the snippet (after the stubs). */
export const CODE_START_OFFSET = STUB_OFF + 32;

export interface IntRunOptions {
  regs?: Record<string, bigint | number>;
  /** Initial RFLAGS (bit 1 is forced on). */
  flags?: number;
  data?: { addr: number; bytes: Uint8Array }[];
  /** Instruction limit (default 100000). */
  limit?: number;
  /** Called after boot and register setup, before running. */
  setup?: (cpu: Cpu) => void;
}

export interface IntRunResult {
  cpu: Cpu;
  exit: Exit;
  /** Vector of the exception that ended the run, or -1 when it ended at the snippet's own HLT. */
  vector: number;
  /** For an exception: the return RIP the CPU pushed (the faulting instruction's address). */
  faultRip: bigint;
  /** RFLAGS at the end. */
  flags: number;
  reg(name: string): bigint;
  mem(addr: number, len: number): Uint8Array;
  /** Address of the snippet's first instruction (after the stubs), as RIP sees it. */
  codeStart: number;
}

function stubsPrefix(): string {
  // 2-byte short jmp, padding to 16, 32 HLT stubs, then the code.
  return `jmp __code_start\n.balign 16\n.rept 32\nhlt\n.endr\n__code_start:\n`;
}

function buildIdt(cpu: Cpu, mode: Mode, stubBase: number): void {
  const m = cpu.mem;
  if (mode === 'real') {
    for (let v = 0; v < 32; v++) { m.write16(v * 4, STUB_OFF + v); m.write16(v * 4 + 2, REAL_CS); }
    cpu.idtrBase = 0; cpu.idtrLimit = 0x3ff;
    return;
  }
  const gate = mode === 'long64' ? 16 : 8;
  const sel = mode === 'long64' ? SEL_CODE64 : SEL_CODE32;
  for (let v = 0; v < 32; v++) {
    const off = stubBase + STUB_OFF + v;
    const a = IDT_ADDR + v * gate;
    m.write32(a, (off & 0xffff) | (sel << 16));
    m.write32(a + 4, (off & 0xffff0000) | 0x8e00); // present, DPL 0, interrupt gate
    if (gate === 16) { m.write32(a + 8, 0); m.write32(a + 12, 0); }
  }
  cpu.idtrBase = IDT_ADDR; cpu.idtrLimit = 32 * gate - 1;
}

/** Assembles `src` behind the exception stubs and runs it to HLT in `mode`. */
export function runInt(src: string, mode: Mode, opts: IntRunOptions = {}): IntRunResult {
  const bytes = assemble(stubsPrefix() + src, mode);
  const mem = new PhysicalMemory(16 * 1024 * 1024);
  const cpu = new Cpu(0, mem, new IoBus());
  mem.onCodeWrite = (p, a, n) => cpu.invalidateCodePage(p, a, n);
  mem.load(CODE_ADDR, bytes);
  if (mode === 'long64') bootLong64(cpu, CODE_ADDR);
  else if (mode === 'prot32') bootProtected32(cpu, CODE_ADDR);
  else { mem.load(REAL_CS * 16, bytes); bootReal(cpu, REAL_CS, 0); }
  for (const d of opts.data ?? []) mem.load(d.addr, d.bytes);
  const base = mode === 'real' ? 0 : CODE_ADDR;
  buildIdt(cpu, mode, base);
  for (const [name, v] of Object.entries(opts.regs ?? {})) setReg(cpu, name, BigInt(v));
  if (opts.flags !== undefined) cpu.rflags = opts.flags | 2;
  opts.setup?.(cpu);
  const exit = cpu.run(opts.limit ?? 100000);
  let vector = -1;
  let faultRip = 0n;
  const stubEnd = base + STUB_OFF + 1;
  if (exit === Exit.Halted && cpu.rip >= stubEnd && cpu.rip < stubEnd + 32) {
    vector = cpu.rip - stubEnd;
    // The return address is on top of the stack, above the error code when there is one.
    const skip = mode !== 'real' && HAS_ERROR_CODE.has(vector) ? 1 : 0;
    const width = mode === 'long64' ? 8 : mode === 'prot32' ? 4 : 2;
    const sp = Number(getReg(cpu, 'rsp') & (mode === 'real' ? 0xffffn : 0xffffffffn));
    const la = (mode === 'real' ? cpu.segBase[2]! : 0) + sp + skip * width;
    const dv = new DataView(mem.bytes.buffer, la, width);
    faultRip = width === 8 ? dv.getBigUint64(0, true) : width === 4 ? BigInt(dv.getUint32(0, true)) : BigInt(dv.getUint16(0, true));
  }
  return {
    cpu, exit, vector, faultRip,
    flags: cpu.rflags,
    reg: (name) => getReg(cpu, name),
    mem: (addr, len) => mem.bytes.slice(addr, addr + len),
    codeStart: base + CODE_START_OFFSET,
  };
}

// ---------------------------------------------------------------------------
// Table-driven cases: initial state in, exact registers/flags/memory out
// ---------------------------------------------------------------------------

/** Register values; 'scratch' or 'scratch+N' / 'scratch-N' stand for DATA_ADDR ± N. */
export type CaseValue = bigint | string;

export interface IntCase {
  name: string;
  mode?: Mode;
  /** Intel-syntax code; the harness appends HLT. */
  code: string;
  regs?: Record<string, CaseValue>;
  flags?: number;
  /** Hex bytes placed at DATA_ADDR. */
  mem?: string;
  expect: {
    regs?: Record<string, CaseValue>;
    /** RFLAGS & (CF PF AF ZF SF DF OF) = 0xcd5. */
    flags?: number;
    /** Exception vector that ended the run (absent: none). */
    vector?: number;
    /** Hex bytes expected at DATA_ADDR. */
    mem?: string;
  };
}

/** Flags a case compares: the six arithmetic flags and DF. */
export const CASE_FLAGS = 0xcd5;

function caseValue(v: CaseValue): bigint {
  if (typeof v === 'bigint') return v;
  const m = /^scratch(?:([+-])(\d+))?$/.exec(v);
  if (!m) throw new Error(`bad case value ${v}`);
  const off = m[2] ? Number(m[2]) * (m[1] === '-' ? -1 : 1) : 0;
  return BigInt(DATA_ADDR + off);
}

/** Runs a case; returns what it expects, as observed (for toEqual against case.expect normalized by expectedOf). */
export function observe(c: IntCase): { regs: Record<string, bigint>; flags: number; vector: number; mem: string } {
  const mode = c.mode ?? 'long64';
  // Every general register but RSP starts at 0 unless the case sets it.
  const regs: Record<string, bigint> = {};
  for (const name of GPR_NAMES) if (name !== 'rsp') regs[name] = 0n;
  for (const [k, v] of Object.entries(c.regs ?? {})) regs[k] = caseValue(v);
  const data = c.mem ? [{ addr: DATA_ADDR, bytes: Uint8Array.from(Buffer.from(c.mem, 'hex')) }] : [];
  const r = runInt(`${c.code}\nhlt`, mode, { regs, flags: c.flags ?? 0, data });
  if (r.cpu.stop) throw new Error(r.cpu.stop.message);
  const mask = mode === 'long64' ? (1n << 64n) - 1n : 0xffffffffn;
  const out: Record<string, bigint> = {};
  for (const k of Object.keys(c.expect.regs ?? {})) out[k] = r.reg(k) & mask;
  const memLen = c.expect.mem ? c.expect.mem.length / 2 : 0;
  return { regs: out, flags: r.flags & CASE_FLAGS, vector: r.vector, mem: Buffer.from(r.mem(DATA_ADDR, memLen)).toString('hex') };
}

/** The observation a case expects. */
export function expectedOf(c: IntCase): { regs: Record<string, bigint>; flags: number; vector: number; mem: string } {
  const regs: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(c.expect.regs ?? {})) regs[k] = caseValue(v);
  return { regs, flags: c.expect.flags ?? 0, vector: c.expect.vector ?? -1, mem: c.expect.mem ?? '' };
}
