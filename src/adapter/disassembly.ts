// Guest code as text: the DAP disassemble request (both directions from a
// memory reference, symbols as labels, branch targets named, source
// locations), and the instruction classification stepping needs (is the
// next instruction a CALL, a RET, ...). Decoding is iced-x86 with the vCPU's
// current code size.
//
// Disassembling backwards on x86 has no exact answer (instructions have no
// fixed length). We start decoding at known instruction boundaries in a
// window before the address (symbol starts, line-table rows) or, failing
// those, at each byte of the window, and keep the first start whose decoding
// lands exactly on the address; x86 decoding re-synchronizes within a few
// instructions, so the result is right except perhaps its first entries.

import { Decoder, DecoderError, DecoderOptions, FlowControl, Formatter, FormatterSyntax, Instruction, Mnemonic, Code } from 'iced-x86';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Target } from '../targets/target';
import type { SourceMap } from './sources';

export type InsnKind = 'call' | 'syscall' | 'int' | 'ret' | 'iret' | 'other';

export interface DecodedInsn {
  address: bigint;
  length: number;
  bytes: Uint8Array;
  text: string;
  kind: InsnKind;
  /** Direct branch/call target. */
  target?: bigint;
  invalid: boolean;
}

let formatter: Formatter | undefined;
function fmt(): Formatter {
  if (!formatter) {
    formatter = new Formatter(FormatterSyntax.Intel);
    formatter.hexPrefix = '0x';
    formatter.hexSuffix = '';
    formatter.uppercaseHex = false;
    formatter.spaceAfterOperandSeparator = true;
    formatter.branchLeadingZeros = false;
    formatter.showBranchSize = false;
  }
  return formatter;
}

function classify(ins: Instruction): InsnKind {
  switch (ins.mnemonic) {
    case Mnemonic.Call: return 'call';
    case Mnemonic.Syscall: return 'syscall';
    case Mnemonic.Int: case Mnemonic.Int3: case Mnemonic.Into: case Mnemonic.Int1: return 'int';
    case Mnemonic.Ret: case Mnemonic.Retf: return 'ret';
    case Mnemonic.Iret: case Mnemonic.Iretd: case Mnemonic.Iretq: case Mnemonic.Sysret: case Mnemonic.Sysretq:
    case Mnemonic.Sysexit: case Mnemonic.Sysexitq: return 'iret';
    default: return 'other';
  }
}

/** Decodes up to `max` instructions from bytes at `address`; stops where the bytes run out mid-instruction. */
export function decodeBytes(bytes: Uint8Array, address: bigint, bits: 16 | 32 | 64, max: number): DecodedInsn[] {
  const out: DecodedInsn[] = [];
  if (bytes.length === 0) return out;
  const d = new Decoder(bits, bytes, DecoderOptions.None);
  const ins = new Instruction();
  try {
    d.ip = address;
    let off = 0;
    while (off < bytes.length && out.length < max) {
      d.decodeOut(ins);
      const len = ins.length;
      if (d.lastError === DecoderError.NoMoreBytes) break; // the bytes end mid-instruction
      const invalid = ins.code === Code.INVALID;
      const flow = ins.flowControl;
      const direct = flow === FlowControl.Call || flow === FlowControl.UnconditionalBranch || flow === FlowControl.ConditionalBranch;
      out.push({
        address: (address + BigInt(off)) & 0xffff_ffff_ffff_ffffn,
        length: len,
        bytes: bytes.slice(off, off + len),
        text: invalid ? '(bad)' : fmt().format(ins),
        kind: invalid ? 'other' : classify(ins),
        ...(direct && !invalid && ins.nearBranchTarget !== 0n ? { target: ins.nearBranchTarget } : {}),
        invalid,
      });
      off += len;
    }
  } finally {
    ins.free();
    d.free();
  }
  return out;
}

/** Readable bytes at address, skipping an unreadable head: { start, data } (data empty when none). */
function readSome(target: Target, cpu: number, address: bigint, length: number): { start: bigint; data: Uint8Array } {
  let a = address;
  let left = length;
  while (left > 0) {
    const r = target.readMemory(cpu, 'gva', a, left);
    if (r.data.length > 0) return { start: a, data: r.data };
    if (r.unreadable <= 0 || r.unreadable >= left) break;
    a += BigInt(r.unreadable);
    left -= r.unreadable;
  }
  return { start: address + BigInt(length), data: new Uint8Array(0) };
}

/** The instruction at an address (undefined when its bytes are unreadable). */
export function decodeAt(target: Target, cpu: number, address: bigint): DecodedInsn | undefined {
  const r = target.readMemory(cpu, 'gva', address, 15);
  const bits = target.cpuInfo(cpu).bits;
  const [ins] = decodeBytes(r.data, address, bits, 1);
  return ins && !ins.invalid ? ins : undefined;
}

/** `count` instructions from `address` forward; unreadable bytes become one invalid entry each. */
function forward(target: Target, cpu: number, address: bigint, count: number, bits: 16 | 32 | 64): DecodedInsn[] {
  const out: DecodedInsn[] = [];
  let a = address;
  while (out.length < count) {
    const want = Math.min(65536, (count - out.length) * 15);
    const r = target.readMemory(cpu, 'gva', a, want);
    const got = decodeBytes(r.data, a, bits, count - out.length);
    out.push(...got);
    const used = got.reduce((n, i) => n + i.length, 0);
    a += BigInt(used);
    if (out.length >= count) break;
    if (used === 0 || r.data.length < want) {
      // Unreadable (or a cut instruction at the end of readable memory): one invalid entry per byte.
      const bad = Math.max(1, Math.min(count - out.length, r.unreadable || (r.data.length - used) || 1));
      for (let i = 0; i < bad; i++) out.push({ address: a + BigInt(i), length: 1, bytes: new Uint8Array(0), text: '??', kind: 'other', invalid: true });
      a += BigInt(bad);
    }
  }
  return out.slice(0, count);
}

/** Up to `need` instructions ending exactly at `address` (ascending). */
function backward(target: Target, cpu: number, address: bigint, need: number, bits: 16 | 32 | 64, boundaries: bigint[]): DecodedInsn[] {
  const span = BigInt(need * 15 + 32);
  const ws = address > span ? address - span : 0n;
  const { start, data } = readSome(target, cpu, ws, Number(address - ws));
  if (data.length === 0 || start + BigInt(data.length) < address) return [];
  const known = boundaries.filter((b) => b >= start && b < address).sort((a, b) => (a < b ? -1 : 1));
  const candidates = [...known, ...Array.from({ length: Math.min(64, data.length) }, (_, i) => start + BigInt(i))];
  for (const c of candidates) {
    const list = decodeBytes(data.subarray(Number(c - start)), c, bits, need * 16);
    const idx = list.findIndex((i) => i.address + BigInt(i.length) === address);
    if (idx >= 0 && !list.slice(0, idx + 1).some((i) => i.invalid)) return list.slice(0, idx + 1).slice(-need);
  }
  return [];
}

function hexBytes(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

export interface DisassembleOptions { resolveSymbols: boolean }

/** The disassemble request: exactly instructionCount entries, strictly increasing addresses. */
export function disassemble(
  target: Target, cpu: number, base: bigint, instructionOffset: number, count: number, sources: SourceMap, opts: DisassembleOptions,
): DebugProtocol.DisassembledInstruction[] {
  const bits = target.cpuInfo(cpu).bits;
  let list: DecodedInsn[];
  if (instructionOffset >= 0) {
    list = forward(target, cpu, base, instructionOffset + count, bits).slice(instructionOffset);
  } else {
    const need = -instructionOffset;
    const boundaries = (target.image?.symbols ?? []).map((s) => s.address).concat((target.image?.lines ?? []).map((l) => l.address));
    const before = backward(target, cpu, base, need, bits, boundaries);
    const pad: DecodedInsn[] = [];
    const first = before[0]?.address ?? base;
    for (let i = need - before.length; i > 0; i--) {
      const a = first - BigInt(i);
      pad.push({ address: a < 0n ? 0n : a, length: 1, bytes: new Uint8Array(0), text: '??', kind: 'other', invalid: true });
    }
    const after = count > need ? forward(target, cpu, base, count - need, bits) : [];
    list = [...pad, ...before, ...after].slice(0, count);
  }
  let lastFile: string | undefined;
  return list.map((i): DebugProtocol.DisassembledInstruction => {
    const out: DebugProtocol.DisassembledInstruction = {
      address: '0x' + i.address.toString(16),
      instruction: i.text,
      ...(i.bytes.length ? { instructionBytes: hexBytes(i.bytes) } : {}),
      ...(i.invalid ? { presentationHint: 'invalid' as const } : {}),
    };
    if (opts.resolveSymbols && !i.invalid) {
      const label = sources.labelAt(i.address);
      if (label) out.symbol = label;
      if (i.target !== undefined) {
        const name = sources.symbolName(i.target);
        if (name) out.instruction = `${i.text} <${name}>`;
      }
    }
    const row = i.invalid ? undefined : sources.lineAt(i.address);
    if (row && row.file) {
      if (row.file !== lastFile) { out.location = sources.source(row.file); lastFile = row.file; }
      out.line = row.line;
      if (row.column) out.column = row.column;
    }
    return out;
  });
}
