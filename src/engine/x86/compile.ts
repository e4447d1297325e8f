// Decoding guest code with iced-x86 and compiling it into blocks: a block is
// the straight run of instructions from one physical address to the first
// control transfer or the end of the page, each instruction a closure built
// once by its family's compiler (registry.ts). The vCPU caches blocks by
// physical address and drops them when their page is written.

import { Decoder, DecoderOptions, DecoderError, EncodingKind, FlowControl, Instruction, Mnemonic, Code } from 'iced-x86';
import type { Cpu } from './cpu';
import { laAdd } from './cpu';
import { unsupportedHandler } from './unsupported';
import { lookup, lookupForm, handlerWrap, type Handler, type Ctx } from './registry';
import { CpuFault, UD } from './fault';
import './exec';
import { emitInline, emitBranch, ARITH_FLAGS } from './jit/emit';
import { buildJit, JIT_THRESHOLD, type JitPart, type JitFn } from './jit/block-jit';

/** Fuses a block that has become hot; returns its function. */
export function jitBlock(b: Block): JitFn | undefined {
  if (!b.parts || b.bits === 16) return undefined;
  b.jit = buildJit(b.handlers, b.lens, b.parts, b.bits);
  b.parts = undefined;
  return b.jit;
}
export { JIT_THRESHOLD };

export interface Block {
  handlers: Handler[];
  lens: Uint8Array;
  n: number;
  /** False for a block holding one instruction that crosses a page (its bytes come from two pages). */
  cacheable: boolean;
  /** Times run through the closures; at JIT_THRESHOLD the block is fused (block-jit.ts). */
  count: number;
  /** What the JIT needs, kept until the block is fused (32/64-bit code only). */
  parts: JitPart[] | undefined;
  jit: JitFn | undefined;
  bits: 16 | 32 | 64;
  /** Physical address and byte length of the block's code (for precise invalidation). */
  pa: number;
  size: number;
}

const MAX_BLOCK = 128;
const READS_ICOUNT = new Set<number>([Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdmsr, Mnemonic.Wrmsr]);
const shared = new Instruction();

/** Reads up to `len` bytes of code starting at physical `pa` (RAM, ROM or MMIO). */
function codeBytes(cpu: Cpu, pa: number, len: number): Uint8Array {
  if (pa + len <= cpu.mem.size) return cpu.mem.bytes.subarray(pa, pa + len);
  return cpu.mem.readRange(pa, len);
}

/**
 * Compiles the block at `pa`. `single` asks for a one-instruction block without
 * JIT data: for pages the guest keeps rewriting (self-modifying code), where a
 * long block would be recompiled after nearly every store.
 */
export function compileBlock(cpu: Cpu, la: number, pa: number, single = false): Block {
  const bits = cpu.bits;
  const inPage = 4096 - (pa & 0xfff);
  const data = codeBytes(cpu, pa, single ? Math.min(inPage, 15) : inPage);
  const decoder = new Decoder(bits, data, DecoderOptions.None);
  const handlers: Handler[] = [];
  const lens: number[] = [];
  const parts: JitPart[] | undefined = bits === 16 || single ? undefined : [];
  const maxInsns = single ? 1 : MAX_BLOCK;
  try {
    decoder.ip = 0n;
    let offset = 0;
    while (offset < inPage && handlers.length < maxInsns) {
      decoder.decodeOut(shared);
      if (decoder.lastError === DecoderError.NoMoreBytes) {
        if (handlers.length > 0) break; // let the page-crossing instruction start its own block
        return compileCrossing(cpu, la, pa, bits);
      }
      // TSC reads/writes use cpu.icount, which is exact only at a block's first instruction.
      if (handlers.length > 0 && READS_ICOUNT.has(shared.mnemonic)) break;
      const len = shared.length;
      const bytes = data.slice(offset, offset + len);
      handlers.push(compileOne(shared, { bits, bytes }));
      lens.push(len);
      if (parts) {
        const valid = shared.code !== Code.INVALID;
        parts.push({
          inline: !valid || !lookup(shared.mnemonic) || lookupForm(shared.code) ? undefined
            : endsBlock(shared) ? emitBranch(shared, bits) : emitInline(shared, bits),
          read: valid ? shared.rflagsRead & ARITH_FLAGS : ARITH_FLAGS,
          mod: valid ? shared.rflagsModified & ARITH_FLAGS : 0,
        });
      }
      offset += len;
      if (endsBlock(shared)) break;
    }
  } finally {
    decoder.free();
  }
  const size = lens.reduce((a, b) => a + b, 0);
  return { handlers, lens: Uint8Array.from(lens), n: handlers.length, cacheable: true, count: 0, parts, jit: undefined, bits, pa, size };
}

/** One instruction whose bytes continue on the next page: translated afresh every time. */
function compileCrossing(cpu: Cpu, la: number, pa: number, bits: 16 | 32 | 64): Block {
  const first = 4096 - (pa & 0xfff);
  const buf = new Uint8Array(15);
  buf.set(codeBytes(cpu, pa, first).subarray(0, Math.min(first, 15)));
  const rest = 15 - first;
  if (rest > 0) {
    const pa2 = cpu.fetchPhys(laAdd(la, first, bits));
    buf.set(codeBytes(cpu, pa2, rest), first);
  }
  const decoder = new Decoder(bits, buf, DecoderOptions.None);
  try {
    decoder.ip = 0n;
    decoder.decodeOut(shared);
    const len = shared.length || 15;
    const h = compileOne(shared, { bits, bytes: buf.slice(0, len) });
    return { handlers: [h], lens: Uint8Array.of(len), n: 1, cacheable: false, count: 0, parts: undefined, jit: undefined, bits, pa, size: len };
  } finally {
    decoder.free();
  }
}

function endsBlock(ins: Instruction): boolean {
  if (ins.flowControl !== FlowControl.Next) return true;
  // Instructions that may change how following bytes decode or whether interrupts are taken.
  switch (ins.mnemonic) {
    case Mnemonic.Mov: return ins.op0Kind === 0 && isControlOrSegReg(ins);
    case Mnemonic.Pop: case Mnemonic.Sti: case Mnemonic.Cli: case Mnemonic.Popf: case Mnemonic.Popfd:
    case Mnemonic.Popfq: case Mnemonic.Lmsw: case Mnemonic.Wrmsr: case Mnemonic.Hlt: case Mnemonic.Out:
    case Mnemonic.Outsb: case Mnemonic.Outsw: case Mnemonic.Outsd: case Mnemonic.Lss:
    case Mnemonic.Invlpg: case Mnemonic.Lgdt: case Mnemonic.Lidt: case Mnemonic.Ltr: case Mnemonic.Lldt:
    case Mnemonic.Clts: case Mnemonic.Xsetbv: case Mnemonic.Swapgs: case Mnemonic.Wbinvd:
      return true;
    default: return false;
  }
}

function isControlOrSegReg(ins: Instruction): boolean {
  const r = ins.op0Register;
  // CRn, DRn and segment registers as the destination.
  return (r >= 0 && isSpecialReg(r));
}

import { regInfo } from './regs';
function isSpecialReg(r: number): boolean {
  const k = regInfo(r).kind;
  return k === 'cr' || k === 'dr' || k === 'seg';
}

const LOCKABLE = new Set<number>([
  Mnemonic.Add, Mnemonic.Adc, Mnemonic.And, Mnemonic.Btc, Mnemonic.Btr, Mnemonic.Bts, Mnemonic.Cmpxchg,
  Mnemonic.Cmpxchg8b, Mnemonic.Cmpxchg16b, Mnemonic.Dec, Mnemonic.Inc, Mnemonic.Neg, Mnemonic.Not,
  Mnemonic.Or, Mnemonic.Sbb, Mnemonic.Sub, Mnemonic.Xor, Mnemonic.Xadd, Mnemonic.Xchg,
]);

function compileOne(ins: Instruction, ctx: Ctx): Handler {
  if (ins.code === Code.INVALID) {
    return () => { throw new CpuFault(UD); };
  }
  // LOCK is only valid on read-modify-write instructions with a memory destination.
  if (ins.hasLockPrefix && (!LOCKABLE.has(ins.mnemonic) || ins.op0Kind !== 24 /* OpKind.Memory */)) {
    return () => { throw new CpuFault(UD); };
  }
  const mnemonic = ins.mnemonic;
  const c = lookupForm(ins.code) ?? lookup(mnemonic);
  // VEX/EVEX/XOP/3DNow! encodings belong to extensions CPUID does not advertise (AVX, AVX-512, ...):
  // the processor raises #UD for them, as the SDM and QEMU do — a guest may probe for them that way.
  if (!c && ins.encoding !== EncodingKind.Legacy) return () => { throw new CpuFault(UD); };
  if (!c) return unsupportedHandler(ins, ctx);
  const h = c(ins, ctx);
  // VMX non-root interception (vmx/intercepts.ts), for the few mnemonics it names.
  return handlerWrap.mnemonics.has(mnemonic) ? handlerWrap.fn!(ins, ctx, h) : h;
}

