// Reads the per-sequence lines a batch image prints (format in
// guest/harness.inc), rebuilds each sequence's full final state from its
// initial state plus the changes the line lists, and compares QEMU's with
// the engine's: registers, RFLAGS without the flags the SDM leaves undefined
// where the sequence ended, the scratch bytes, and the exception (if any).

import { flagNames, STATUS } from './flags';
import { SCRATCH_BYTES, type Sequence } from './generator';

export const REC_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rsp'];
const VECTORS = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '9', '#TS', '#NP', '#SS', '#GP', '#PF', '15', '#MF', '#AC', '#MC', '#XM'];

export interface SeqResult {
  index: number;
  rflags: bigint;
  exception: { vector: number; insn: number; error: number; cr2: bigint | undefined } | undefined;
  /** Changed registers: REC_ORDER index -> value. */
  regs: Map<number, bigint>;
  /** Changed scratch qwords: qword index -> value. */
  mem: Map<number, bigint>;
  line: string;
}

const LINE = /^s([0-9a-f]{4}) f=([0-9a-f]{16})(?: x=([0-9a-f]{2})@([0-9a-f]{2}) e=([0-9a-f]{8})(?: c=([0-9a-f]{16}))?)?((?: r[0-9a-f]=[0-9a-f]{16})*)((?: m[0-9a-f]{2}=[0-9a-f]{16})*)$/;

export function parseLine(line: string): SeqResult | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const regs = new Map<number, bigint>();
  for (const t of m[7]!.trim().split(' ').filter(Boolean)) regs.set(parseInt(t.slice(1, 2), 16), BigInt(`0x${t.slice(3)}`));
  const mem = new Map<number, bigint>();
  for (const t of m[8]!.trim().split(' ').filter(Boolean)) mem.set(parseInt(t.slice(1, 3), 16), BigInt(`0x${t.slice(4)}`));
  return {
    index: parseInt(m[1]!, 16),
    rflags: BigInt(`0x${m[2]}`),
    exception: m[3] !== undefined
      ? { vector: parseInt(m[3], 16), insn: parseInt(m[4]!, 16), error: parseInt(m[5]!, 16), cr2: m[6] !== undefined ? BigInt(`0x${m[6]}`) : undefined }
      : undefined,
    regs, mem, line,
  };
}

/** Parsed lines by sequence index, and the lines that did not parse. */
export function parseTranscript(lines: readonly string[]): { results: Map<number, SeqResult>; garbage: string[] } {
  const results = new Map<number, SeqResult>();
  const garbage: string[] = [];
  for (const l of lines) {
    if (!l.startsWith('s')) continue;
    const r = parseLine(l);
    if (r) results.set(r.index, r);
    else garbage.push(l);
  }
  return { results, garbage };
}

const hex64 = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;

export function vectorName(v: number): string {
  return VECTORS[v] ?? `vector ${v}`;
}

function excText(x: SeqResult['exception'], seq: Sequence): string {
  if (!x) return 'none';
  const code = ERROR_CODE_VECTORS.has(x.vector) ? ` error 0x${x.error.toString(16)}` : '';
  const cr2 = x.cr2 !== undefined ? ` cr2 ${hex64(x.cr2)}` : '';
  return `${vectorName(x.vector)}${code}${cr2} at [${x.insn}] ${seq.insns[x.insn]?.text ?? '?'}`;
}

const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);

/** Undefined status flags where this result's sequence stopped. */
export function undefinedAt(seq: Sequence, r: SeqResult): number {
  return r.exception ? seq.maskBefore[r.exception.insn] ?? STATUS : seq.maskBefore[seq.insns.length]!;
}

/**
 * The differences between QEMU's and the engine's result, one readable line
 * each (empty: equal). Where QEMU 7.2 is known to differ from the SDM
 * (README.md), QEMU's result is first corrected (a non-canonical access in
 * the SS segment raises #SS(0), not #GP(0)) or the part is left out (the
 * W bit of a #PF error code on a read-modify-write instruction; the status
 * flags after a fault in an instruction QEMU computes RFLAGS for first).
 */
export function compareResults(seq: Sequence, q: SeqResult, e: SeqResult): string[] {
  const out: string[] = [];
  let qx = q.exception;
  const ex = e.exception;
  const at = qx ? seq.insns[qx.insn] : undefined;
  if (qx && at?.ssSegment && qx.vector === 13 && qx.error === 0) qx = { ...qx, vector: 12 };
  const errMask = qx?.vector === 14 && at?.rmw ? ~2 : ~0;
  if (qx?.vector !== ex?.vector || qx?.insn !== ex?.insn || ((qx?.error ?? 0) & errMask) !== ((ex?.error ?? 0) & errMask) || qx?.cr2 !== ex?.cr2) {
    out.push(`exception: qemu ${excText(qx, seq)}; emulator ${excText(ex, seq)}`);
  }
  const undef = undefinedAt(seq, q) | (qx && at?.qemuFaultFlags ? STATUS : 0);
  const keep = ~BigInt(undef);
  if ((q.rflags & keep) !== (e.rflags & keep)) {
    const d = Number((q.rflags ^ e.rflags) & keep & 0xffffn);
    out.push(`rflags: qemu ${hex64(q.rflags)} emulator ${hex64(e.rflags)}, differ in ${flagNames(d)}${d & ~(STATUS | 0x400) ? ` and bits ${hex64(BigInt(d & ~(STATUS | 0x400)))}` : ''}${((q.rflags ^ e.rflags) & keep) > 0xffffn ? ' (and high bits)' : ''} (undefined, not compared: ${flagNames(undef)})`);
  }
  for (let k = 0; k < 16; k++) {
    const qv = q.regs.get(k) ?? seq.regs[k]!;
    const ev = e.regs.get(k) ?? seq.regs[k]!;
    if (qv !== ev) out.push(`${REC_NAMES[k]}: qemu ${hex64(qv)} emulator ${hex64(ev)} (initial ${hex64(seq.regs[k]!)})`);
  }
  const view = new DataView(seq.mem.buffer, seq.mem.byteOffset, seq.mem.byteLength);
  for (let w = 0; w < SCRATCH_BYTES / 8; w++) {
    const init = view.getBigUint64(w * 8, true);
    const qv = q.mem.get(w) ?? init;
    const ev = e.mem.get(w) ?? init;
    if (qv === ev) continue;
    const bytes: number[] = [];
    for (let b = 0; b < 8; b++) if (((qv >> BigInt(8 * b)) & 0xffn) !== ((ev >> BigInt(8 * b)) & 0xffn)) bytes.push(w * 8 + b);
    out.push(`scratch bytes ${bytes.map((b) => `+0x${b.toString(16)}`).join(' ')} (qword ${w}, little-endian): qemu ${hex64(qv)} emulator ${hex64(ev)} (initial ${hex64(init)})`);
  }
  return out;
}

/**
 * Flags the SDM leaves undefined where the sequence ended but QEMU and the
 * engine set differently: "template FLAG" for each, naming the template of
 * the instruction that made the flag undefined. Not a failure: the engine
 * aims to match QEMU even there, and this tells its authors where it does not.
 */
export function undefinedFlagDiffs(seq: Sequence, q: SeqResult, e: SeqResult): string[] {
  if (q.exception?.vector !== e.exception?.vector || q.exception?.insn !== e.exception?.insn) return [];
  const stop = q.exception ? q.exception.insn : seq.insns.length;
  if (q.exception && seq.insns[stop]?.qemuFaultFlags) return [];
  const diff = Number((q.rflags ^ e.rflags) & 0xfffn) & undefinedAt(seq, q);
  if (diff === 0) return [];
  const by = new Map<number, string>();
  for (let j = 0; j < stop; j++) {
    const f = seq.insns[j]!.flags;
    for (let bit = 1; bit <= 0x800; bit <<= 1) {
      if (f.undef & bit) by.set(bit, seq.insns[j]!.template);
      else if (f.defines & bit && !seq.insns[j]!.maybe) by.delete(bit);
    }
  }
  const out: string[] = [];
  for (let bit = 1; bit <= 0x800; bit <<= 1) if (diff & bit) out.push(`${by.get(bit) ?? '?'} ${flagNames(bit)}`);
  return out;
}

/** The initial state and instructions of a sequence, for a report. */
export function describeSequence(seq: Sequence, stoppedAt?: number): string[] {
  const out: string[] = [];
  const regs = REC_NAMES.map((n, k) => `${n}=${hex64(seq.regs[k]!)}`);
  for (let i = 0; i < regs.length; i += 4) out.push(`  ${regs.slice(i, i + 4).join(' ')}`);
  out.push(`  rflags=${hex64(seq.rflags)} (${flagNames(Number(seq.rflags & 0xfffn))} set); scratch at 0x11ffe80, base ${REC_NAMES[REC_INDEX[seq.base]!]} index ${REC_NAMES[REC_INDEX[seq.index]!]}`);
  seq.insns.forEach((ins, j) => out.push(`  ${j === stoppedAt ? '>' : ' '}[${j}] ${ins.text}`));
  return out;
}

/** Hardware register number -> REC_ORDER index. */
const REC_INDEX: Record<number, number> = { 0: 0, 1: 1, 2: 2, 3: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9, 11: 10, 12: 11, 13: 12, 14: 13, 15: 14, 4: 15 };

/** The initial scratch bytes as hex rows of 32 (for a report). */
export function describeScratch(seq: Sequence): string[] {
  const out: string[] = [];
  for (let o = 0; o < seq.mem.length; o += 32) {
    out.push(`  +0x${o.toString(16).padStart(3, '0')}: ${[...seq.mem.subarray(o, o + 32)].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
  }
  return out;
}
