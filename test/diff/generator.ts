// Generates one differential-test sequence from a 32-bit seed: random
// initial registers, RFLAGS and scratch memory, and a few instructions
// (GNU as Intel syntax) drawn from templates.ts, every one of them with a
// result the SDM defines given the state the generator arranged:
//
// - Memory operands address the 384-byte scratch area only: one register
//   (B, from RBX RBP R8-R15) holds SCRATCH + 64..128 and another (X) a small
//   index 0..7; neither is ever written. Displacements are computed from a
//   chosen target offset, so accesses are in bounds, aligned or not.
// - RSP starts at SCRATCH + 320 and pushes/pops keep it inside the area.
// - Flags: the generator tracks which status flags are undefined
//   (flags.ts); before an instruction that reads one of them it inserts a
//   CMP, which defines all six. The test masks the flags still undefined
//   where the sequence ended (maskBefore[]).
// - Results the SDM leaves undefined are avoided: BSF/BSR get a non-zero
//   source, 16-bit SHLD/SHRD counts stay <= 16, BT* on memory with a
//   register offset get a small offset set just before.
// Exceptions are part of what is compared (the image's handler records the
// vector, error code and CR2): DIV/IDIV may raise #DE (often after a
// CQO-style sign extension or a zeroed high half, so that most divide); a
// few memory operands run past the end of the scratch area into the
// unmapped page after it (#PF, including accesses that straddle the
// boundary and string instructions that cross it part-way); some templates
// use non-canonical addresses (#GP/#SS) or invalid encodings (#UD).

import { Rng } from './prng';
import {
  ARITH, CONDITIONS, DF, NONE, STATUS, afterFlags, shiftDoubleFlags, shiftFlags, type FlagEffect, type ShiftOp,
} from './flags';
import { TEMPLATES, type Size, type Template } from './templates';

/** Guest-physical address of the scratch area (harness.inc SCRATCH). */
export const SCRATCH = 0x11ffe80;
export const SCRATCH_BYTES = 384;
export const STACK_OFF = 320;
/** Register order in a record and in the transcript (harness.inc REC_ORDER): hardware numbers. */
export const REC_ORDER: readonly number[] = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 4];

export const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const HIGH8 = ['ah', 'ch', 'dh', 'bh'];
const PTR: Record<number, string> = { 8: 'BYTE PTR', 16: 'WORD PTR', 32: 'DWORD PTR', 64: 'QWORD PTR', 128: 'XMMWORD PTR' };
const RSP = 4;
const BASE_CANDIDATES = [3, 5, 8, 9, 10, 11, 12, 13, 14, 15];

export function regName(r: number, size: number): string {
  const t = size === 64 ? R64 : size === 32 ? R32 : size === 16 ? R16 : R8;
  return t[r]!;
}

/** One emitted instruction. */
export interface Insn {
  text: string;
  flags: FlagEffect;
  /** Runs or not depending on a branch: its flag effects may or may not apply. */
  maybe?: boolean;
  /** Reads and writes a memory operand (its #PF error code's W bit is not compared: see README). */
  rmw?: boolean;
  /** Its memory operand is in the SS segment (RBP/RSP base): a non-canonical address is #SS(0). */
  ssSegment?: boolean;
  /** QEMU 7.2 may leave wrong flags when this instruction faults (flags.ts). */
  qemuFaultFlags?: boolean;
  /** The template it came from ('sanitize' for the inserted CMPs). */
  template: string;
}

export interface Sequence {
  seed: number;
  insns: Insn[];
  /** Initial registers in REC_ORDER. */
  regs: bigint[];
  /** Initial RFLAGS. */
  rflags: bigint;
  /** Initial scratch area. */
  mem: Uint8Array;
  /** Status flags undefined before instruction j; [insns.length] = at the end. */
  maskBefore: number[];
  /** Hardware numbers of the base and index registers. */
  base: number;
  index: number;
}

export interface GenOptions {
  /** Instructions per sequence (not counting inserted ones), inclusive range. */
  minLength?: number;
  maxLength?: number;
  /** Template names to use (default: all) and to leave out. */
  only?: readonly string[];
  exclude?: readonly string[];
}

/** The templates a run draws from. */
export function templatesFor(opts: GenOptions): Template[] {
  const known = new Set(TEMPLATES.map((t) => t.name));
  for (const n of [...(opts.only ?? []), ...(opts.exclude ?? [])]) {
    if (!known.has(n)) throw new Error(`unknown template "${n}" (have: ${[...known].join(' ')})`);
  }
  const list = TEMPLATES.filter((t) => (!opts.only || opts.only.includes(t.name)) && !(opts.exclude ?? []).includes(t.name));
  if (list.length === 0) throw new Error('no instruction templates left to draw from');
  return list;
}

/** The state the generator knows while building a sequence. */
class State {
  rspOff = STACK_OFF;
  df: boolean;
  undef = 0;
  readonly free: number[];
  constructor(readonly rng: Rng, readonly base: number, readonly index: number, readonly baseOff: number,
    readonly indexVal: number, rflags: bigint) {
    this.df = (rflags & BigInt(DF)) !== 0n;
    this.free = [...Array(16).keys()].filter((r) => r !== RSP && r !== base && r !== index);
  }
}

/** Builds one instruction's operands; noRex: AH..BH allowed, nothing that needs a REX prefix. */
class Ops {
  usedMem = false;
  constructor(readonly st: State, readonly noRex: boolean) {}

  private pool(write: boolean, size: number): number[] {
    let p = write ? this.st.free : [...Array(16).keys()].filter((r) => r !== RSP || this.st.rng.chance(0.15));
    if (this.noRex) p = p.filter((r) => r < (size === 8 ? 4 : 8));
    return p;
  }

  reg(size: number, write: boolean): string | undefined {
    const p = this.pool(write, size);
    if (p.length === 0) return undefined;
    const r = this.st.rng.pick(p);
    if (size === 8 && this.noRex && this.st.rng.chance(0.5)) return HIGH8[r]!;
    return regName(r, size);
  }

  /** A scratch memory operand of `size` bits at a chosen offset (default: anywhere it fits). */
  mem(size: number, lo = 0, hi = SCRATCH_BYTES - size / 8, align = 1): string | undefined {
    if (this.noRex || this.usedMem) return undefined;
    this.usedMem = true;
    const { rng, base, index, baseOff, indexVal } = this.st;
    // now and then past the end, into the unmapped page (#PF), straddling it or not
    const over = lo === 0 && hi === SCRATCH_BYTES - size / 8 && align === 1 && rng.chance(0.02);
    const ea = over ? rng.int(SCRATCH_BYTES - size / 8 + 1, SCRATCH_BYTES + 8)
      : rng.int(Math.ceil(lo / align), Math.floor(hi / align)) * align;
    const scale = rng.pick([1, 2, 4, 8]);
    const form = rng.int(0, 9);
    let text: string;
    const addr32 = rng.chance(0.15);
    const b = regName(base, addr32 ? 32 : 64);
    const x = regName(index, addr32 ? 32 : 64);
    if (form < 4) text = `${b}${disp(ea - baseOff)}`;
    else if (form < 8) text = `${b}+${x}*${scale}${disp(ea - baseOff - indexVal * scale)}`;
    else if (form === 8 && baseOff % align === 0 && baseOff >= lo && baseOff <= hi) text = b;
    else if (form === 8) text = `${b}${disp(ea - baseOff)}`;
    else text = `${x}*${scale}+${b}${disp(ea - baseOff - indexVal * scale)}`;
    // segment overrides: FS and GS have base 0 here, the others are ignored in 64-bit mode
    const seg = rng.chance(0.08) ? rng.pick(['fs:', 'gs:', 'ds:', 'es:', 'ss:', 'cs:']) : '';
    return `${PTR[size]} ${seg}[${text}]`;
  }

  /** Destination: a free register or memory (d), register (dr), memory (dm). */
  dest(kind: 'd' | 'dr' | 'dm', size: number): string | undefined {
    if (kind === 'dm' || (kind === 'd' && !this.noRex && this.st.rng.chance(0.4))) return this.mem(size);
    return this.reg(size, true);
  }

  src(kind: 's' | 'sr', size: number): string | undefined {
    if (kind === 's' && !this.noRex && !this.usedMem && this.st.rng.chance(0.4)) return this.mem(size);
    return this.reg(size, false);
  }

  imm(size: number): string {
    return immText(this.st.rng, size);
  }
}

function disp(d: number): string {
  return d === 0 ? '' : d > 0 ? `+${hex(d)}` : `-${hex(-d)}`;
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** An immediate for a `size`-bit operation (64-bit: a signed 32-bit value). */
export function immText(rng: Rng, size: number): string {
  if (size === 64) {
    const v = BigInt.asIntN(32, rng.interesting(32));
    return v < 0n ? `-${hex(-v)}` : hex(v);
  }
  return hex(rng.interesting(size as 8 | 16 | 32));
}

/** A register value: an interesting value of some width, the rest random, zero or ones. */
function regValue(rng: Rng): bigint {
  const bits = rng.pick([8, 16, 32, 64] as const);
  let v = rng.interesting(bits);
  if (bits < 64) {
    const upper = rng.pick([0n, -1n, rng.u64()]);
    v |= BigInt.asUintN(64, upper << BigInt(bits));
  }
  return BigInt.asUintN(64, v);
}

function insn(text: string, flags: FlagEffect, template: string): Insn {
  return { text, flags, template };
}

const RMW = new Set(['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'inc', 'dec', 'neg', 'not', 'xadd', 'xchg', 'cmpxchg',
  'cmpxchg8b', 'cmpxchg16b', 'shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd', 'bts', 'btr', 'btc']);
/** Templates whose translation in QEMU 7.2 computes RFLAGS before a memory access that may fault. */
const QEMU_FAULT_FLAGS = new Set(['shift', 'rotate', 'rcl', 'shiftd', 'bt', 'bts', 'btmem', 'setcc', 'cmov', 'adc', 'jcc']);

/** Fills in the facts the comparison needs about an instruction's memory operand. */
function annotate(i: Insn): Insn {
  const m = /^(?:lock )?(\S+) ([^,]*)(,.*)?$/.exec(i.text);
  if (m && RMW.has(m[1]!) && (m[2]!.includes('[') || (m[1] === 'xchg' && (m[3] ?? '').includes('[')))) i.rmw = true;
  if (i.flags.reads !== 0 || QEMU_FAULT_FLAGS.has(i.template)) i.qemuFaultFlags = true;
  return i;
}

const conds = (m: string): string[] => (m.includes('{cc}') ? CONDITIONS.map((c) => m.replace('{cc}', c.cc)) : [m]);

function ccReads(mnemonic: string, prefix: string): number {
  const cc = mnemonic.slice(prefix.length);
  return CONDITIONS.find((c) => c.cc === cc)?.reads ?? 0;
}

/** A shift/rotate count: edges of every width, or anything up to 255. */
function shiftCount(rng: Rng, size: number): number {
  return rng.chance(0.6) ? rng.pick([0, 1, 2, size - 1, size, size + 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65]) & 0xff : rng.int(0, 255);
}

type Gen = (t: Template, st: State, size: Size) => Insn[] | undefined;

function genPlain(t: Template, st: State, size: Size): Insn[] | undefined {
  const { rng } = st;
  const mnemonic = rng.pick(t.mnemonics.flatMap(conds));
  const form = rng.pick(t.forms);
  let flags = t.flags;
  if (mnemonic.startsWith('cmov')) flags = { ...NONE, reads: ccReads(mnemonic, 'cmov') };
  if (mnemonic.startsWith('set')) flags = { ...NONE, reads: ccReads(mnemonic, 'set') };
  if (form === '') return [insn(mnemonic, flags, t.name)];
  const tokens = form.split(',');
  const sizes = tokens.map((k) => (k === 's8' ? 8 : k === 's16' ? 16 : k === 's32' ? 32 : size));
  const noRex = sizes.every((s) => s <= 32) && sizes.includes(8) && rng.chance(0.3);
  const ops = new Ops(st, noRex);
  const texts: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const k = tokens[i]!;
    const s = sizes[i]!;
    let o: string | undefined;
    if (k === 'd' || k === 'dr' || k === 'dm') o = ops.dest(k, s);
    else if (k === 's' || k === 'sr') o = ops.src(k, s);
    else if (k === 's8' || k === 's16' || k === 's32') o = ops.src('s', s);
    else if (k === 'sm') o = ops.mem(s);
    else if (k === 'x') o = ops.reg(s, true);
    else if (k === 'i') o = ops.imm(s);
    else if (k === 'c') o = String(shiftCount(rng, s));
    else throw new Error(`template ${t.name}: unknown operand form "${k}"`);
    if (o === undefined) return undefined;
    texts.push(o);
  }
  const lock = t.lock && ops.usedMem && tokens[0] === 'd' && texts[0]!.includes('[') && rng.chance(0.3) ? 'lock ' : '';
  if (mnemonic === 'cld' || mnemonic === 'std') st.df = mnemonic === 'std';
  return [insn(`${lock}${mnemonic} ${texts.join(', ')}`, flags, t.name)];
}

const GENERATORS: Record<Template['kind'], Gen> = {
  plain: genPlain,

  movabs(t, st) {
    const r = st.rng.pick(st.free);
    return [insn(`movabs ${R64[r]}, ${hex(st.rng.u64())}`, NONE, t.name)];
  },

  shift(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics) as ShiftOp;
    const ops = new Ops(st, size === 8 && rng.chance(0.3));
    const d = ops.dest('d', size);
    if (d === undefined) return undefined;
    const how = rng.int(0, 9);
    if (how < 2) return [insn(`${op} ${d}, 1`, shiftFlags(op, size, 1), t.name)];
    if (how < 6) {
      const c = shiftCount(rng, size);
      return [insn(`${op} ${d}, ${c}`, shiftFlags(op, size, c), t.name)];
    }
    if (how < 9) {
      // CL set just before: a known count (the destination may be RCX itself)
      const c = shiftCount(rng, size);
      return [insn(`mov ecx, ${c}`, NONE, t.name), insn(`${op} ${d}, cl`, shiftFlags(op, size, c), t.name)];
    }
    return [insn(`${op} ${d}, cl`, shiftFlags(op, size, undefined), t.name)];
  },

  shiftd(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics);
    const ops = new Ops(st, false);
    const d = ops.dest('d', size);
    const s = ops.reg(size, false);
    if (d === undefined || s === undefined) return undefined;
    // 16-bit: counts whose masked value exceeds 16 leave DEST undefined
    const count = (): number => {
      const c = shiftCount(rng, size);
      return size === 16 && (c & 31) > 16 ? c & 15 : c;
    };
    const how = rng.int(0, 9);
    if (how < 5) {
      const c = count();
      return [insn(`${op} ${d}, ${s}, ${c}`, shiftDoubleFlags(size, c), t.name)];
    }
    if (how < 9 || size === 16) {
      const c = count();
      return [insn(`mov ecx, ${c}`, NONE, t.name), insn(`${op} ${d}, ${s}, cl`, shiftDoubleFlags(size, c), t.name)];
    }
    return [insn(`${op} ${d}, ${s}, cl`, { reads: 0, defines: 0, undef: STATUS }, t.name)];
  },

  div(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics);
    const out: Insn[] = [];
    if (rng.chance(0.7)) {
      // make most divisions succeed: a small or sign-extended high half
      if (op === 'idiv') out.push(insn(({ 8: 'cbw', 16: 'cwd', 32: 'cdq', 64: 'cqo' } as const)[size], NONE, t.name));
      else out.push(insn(size === 8 ? 'mov ah, 0' : rng.chance(0.8) ? 'mov edx, 0' : 'mov edx, 1', NONE, t.name));
    }
    const ops = new Ops(st, false);
    const s = ops.src('s', size);
    if (s === undefined) return undefined;
    out.push(insn(`${op} ${s}`, t.flags, t.name));
    return out;
  },

  bsf(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics);
    const ops = new Ops(st, false);
    const d = ops.reg(size, true);
    if (d === undefined) return undefined;
    let src: string | undefined;
    if (rng.chance(0.4)) src = ops.mem(size);
    else src = ops.reg(size, true);
    if (src === undefined) return undefined;
    let bit = rng.interesting(size === 64 ? 32 : size);
    if (bit === 0n) bit = 1n << BigInt(rng.int(0, Math.min(size, 32) - 1));
    const imm = size === 64 ? BigInt.asIntN(32, bit) : bit;
    // OR makes the source non-zero (a zero source leaves DEST undefined)
    return [
      insn(`or ${src}, ${imm < 0n ? `-${hex(-imm)}` : hex(imm)}`, { reads: 0, defines: STATUS & ~0x10, undef: 0x10 }, t.name),
      insn(`${op} ${d}, ${src}`, t.flags, t.name),
    ];
  },

  btmem(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics);
    const off = rng.int(-64, 127);
    const ops = new Ops(st, false);
    const m = ops.mem(size, 16, SCRATCH_BYTES - 32);
    if (m === undefined) return undefined;
    const lock = op !== 'bt' && rng.chance(0.3) ? 'lock ' : '';
    // the offset is CX/ECX/RCX sign-extended: random bits above it must not matter
    const set = size === 64 ? `mov rcx, ${off}`
      : size === 32 ? `movabs rcx, ${hex((BigInt(rng.u32()) << 32n) | BigInt(off >>> 0))}`
        : `mov ecx, ${hex(((rng.int(0, 0xffff) << 16) | (off & 0xffff)) >>> 0)}`;
    return [insn(set, NONE, t.name), insn(`${lock}${op} ${m}, ${regName(1, size)}`, t.flags, t.name)];
  },

  cmpxchg8b(t, st) {
    const ops = new Ops(st, false);
    const m = ops.mem(64);
    if (m === undefined) return undefined;
    // ends QEMU's translation block: its CMPXCHG8B helper needs the lazy flags stored (flags.ts)
    const out: Insn[] = [insn('jmp 1f; 1:', NONE, t.name)];
    if (st.rng.chance(0.5)) {
      // EDX:EAX equal to the destination: the exchange happens
      const inner = m.slice(m.indexOf('['));
      out.push(insn(`mov eax, DWORD PTR ${inner}`, NONE, t.name), insn(`mov edx, DWORD PTR ${inner.replace(/]$/, '+4]')}`, NONE, t.name));
    }
    out.push(insn(`${st.rng.chance(0.3) ? 'lock ' : ''}cmpxchg8b ${m}`, t.flags, t.name));
    return out;
  },

  cmpxchg16b(t, st) {
    const ops = new Ops(st, false);
    const m = ops.mem(128, 0, SCRATCH_BYTES - 16, 16);
    if (m === undefined) return undefined;
    const out: Insn[] = [insn('jmp 1f; 1:', NONE, t.name)];
    if (st.rng.chance(0.5)) {
      const inner = m.slice(m.indexOf('['));
      out.push(insn(`mov rax, QWORD PTR ${inner}`, NONE, t.name), insn(`mov rdx, QWORD PTR ${inner.replace(/]$/, '+8]')}`, NONE, t.name));
    }
    out.push(insn(`${st.rng.chance(0.3) ? 'lock ' : ''}cmpxchg16b ${m}`, t.flags, t.name));
    return out;
  },

  string(t, st, size) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics);
    const cmp = op === 'scas' || op === 'cmps';
    const rep = rng.chance(0.6) ? (cmp ? rng.pick(['repe ', 'repne ']) : 'rep ') : '';
    const n = rep ? rng.int(0, 8) : 1;
    const e = size / 8;
    const span = Math.max(n, 1) * e;
    const out: Insn[] = [];
    // now and then (DF clear) the last elements lie past the end: #PF part-way
    const over = !st.df && n > 1 && rng.chance(0.05);
    const at = (reg: string) => {
      const p = over ? rng.int(SCRATCH_BYTES - span + 1, SCRATCH_BYTES - 1) : rng.int(span, SCRATCH_BYTES - span);
      out.push(insn(`lea ${reg}, [${R64[st.base]}${disp(p - st.baseOff)}]`, NONE, t.name));
    };
    if (op === 'movs' || op === 'lods' || op === 'cmps') at('rsi');
    if (op !== 'lods') at('rdi');
    if (rep) out.push(insn(`mov ecx, ${n}`, NONE, t.name));
    const suffix = ({ 8: 'b', 16: 'w', 32: 'd', 64: 'q' } as const)[size];
    const flags = cmp && n > 0 ? ARITH : NONE;
    out.push(insn(`${rep}${op}${suffix}`, flags, t.name));
    return out;
  },

  push(t, st, size) {
    const { rng } = st;
    if (t.mnemonics[0] === 'pushfq') {
      if (st.rspOff < 8) return undefined;
      st.rspOff -= 8;
      return [insn('pushfq', t.flags, t.name)];
    }
    const n = size / 8;
    if (st.rspOff - n < 0) return undefined;
    const ops = new Ops(st, false);
    let o: string | undefined;
    const how = rng.int(0, 9);
    if (how < 5) o = rng.chance(0.1) ? regName(RSP, size) : ops.reg(size, false);
    else if (how < 7 && size === 64) o = ops.imm(64);
    else o = ops.mem(size);
    if (o === undefined) return undefined;
    st.rspOff -= n;
    return [insn(`push ${o}`, NONE, t.name)];
  },

  pop(t, st, size) {
    const n = size / 8;
    if (st.rspOff + n > SCRATCH_BYTES) return undefined;
    const ops = new Ops(st, false);
    const o = st.rng.chance(0.6) ? ops.reg(size, true) : ops.mem(size);
    if (o === undefined) return undefined;
    st.rspOff += n;
    return [insn(`pop ${o}`, NONE, t.name)];
  },

  lea(t, st, size) {
    const { rng } = st;
    const d = rng.pick(st.free);
    const a = rng.chance(0.25) ? 32 : 64;
    const baseReg = regName(rng.int(0, 15), a);
    let idx = rng.int(0, 15);
    if (idx === RSP) idx = 0;
    if (rng.chance(0.1)) {
      // the same image runs on both: code addresses are the same
      return [insn(`lea ${regName(d, size)}, [rip${disp(rng.int(-4096, 4096))}]`, NONE, t.name)];
    }
    const parts: string[] = [];
    const form = rng.int(0, 5);
    if (form !== 0) parts.push(baseReg);
    if (form !== 1) parts.push(`${regName(idx, a)}*${rng.pick([1, 2, 4, 8])}`);
    const dv = rng.chance(0.3) ? 0 : Number(BigInt.asIntN(32, rng.interesting(rng.chance(0.5) ? 8 : 32)));
    const dd = rng.chance(0.5) ? ((dv << 24) >> 24) : dv;
    return [insn(`lea ${regName(d, size)}, [${parts.join('+')}${disp(dd)}]`, NONE, t.name)];
  },

  jcc(t, st) {
    const { rng } = st;
    const op = rng.pick(t.mnemonics.flatMap(conds));
    const plain = TEMPLATES.filter((x) => x.kind === 'plain' && !x.feature && x.forms[0] !== '');
    const tpl = rng.pick(plain);
    const inner = genPlain(tpl, st, rng.pick(tpl.sizes));
    // the inner instruction may not need a CMP first: that would have to go before the branch
    if (!inner || inner.length !== 1 || (inner[0]!.flags.reads & st.undef) !== 0) return undefined;
    const reads = op.startsWith('j') && op !== 'jrcxz' && op !== 'jecxz' ? ccReads(op, 'j') : op === 'loop' ? 0 : op.startsWith('loop') ? 0x40 : 0;
    if (op.startsWith('loop') || op.endsWith('cxz')) {
      // LOOP decrements RCX; JRCXZ reads it: RCX is never B or X
      if (st.base === 1 || st.index === 1) return undefined;
    }
    return [insn(`${op} 2f`, { ...NONE, reads }, t.name), { ...inner[0]!, maybe: true }, insn('2:', NONE, t.name)];
  },

  callret(t, st) {
    const ret = st.rng.pick(t.mnemonics);
    const pop = ret === 'ret' ? 0 : Number(ret.slice(4));
    // CALL pushes 8 bytes (the address of the JMP: the same image runs on both); RET imm16 drops more
    if (st.rspOff < 8 || st.rspOff + pop > SCRATCH_BYTES) return undefined;
    st.rspOff += pop;
    return [insn('call 3f', NONE, t.name), insn('jmp 4f', NONE, t.name), insn(`3: ${ret}`, NONE, t.name), insn('4:', NONE, t.name)];
  },

  popf(t, st) {
    const { rng } = st;
    if (st.rspOff < 8) return undefined;
    // status flags, DF, and bits POPFQ keeps, ignores or clears (IOPL, NT, AC, ID, RF, VM, reserved);
    // never TF or IF
    let v = 0;
    for (const bit of [0x1, 0x4, 0x10, 0x40, 0x80, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x40000, 0x200000]) if (rng.chance(0.5)) v |= bit;
    for (const bit of [0x2, 0x8, 0x20, 0x8000, 0x10000, 0x20000, 0x400000, 0x80000000]) if (rng.chance(0.1)) v |= bit;
    st.df = (v & DF) !== 0;
    return [insn(`push ${v | 0}`, NONE, t.name), insn('popfq', t.flags, t.name)];
  },

  noncanon(t, st, size) {
    const { rng } = st;
    const r = rng.pick(st.free);
    const hi = rng.pick([0x8000n, 0x7fffn, 0xffff7fffn, 0x00010000n, 0x12345678n]) << 32n;
    const v = BigInt.asUintN(64, hi | BigInt(rng.u32()));
    const op = rng.pick(t.mnemonics);
    const m = `${PTR[size]} [${R64[r]}${disp(rng.int(-64, 64))}]`;
    const set = insn(`movabs ${R64[r]}, ${hex(v)}`, NONE, t.name);
    const ss = (i: Insn): Insn => ({ ...i, ssSegment: r === 5 });
    if (op === 'lods') return [insn(`movabs rsi, ${hex(v)}`, NONE, t.name), insn(`lods${({ 8: 'b', 16: 'w', 32: 'd', 64: 'q' } as const)[size]}`, NONE, t.name)];
    if (op === 'push') return size === 64 || size === 16 ? [set, ss(insn(`push ${m}`, NONE, t.name))] : undefined;
    if (op === 'add') return [set, ss(insn(`add ${m}, ${regName(rng.int(0, 3), size)}`, ARITH, t.name))];
    return [set, ss(insn(rng.chance(0.5) ? `mov ${regName(0, size)}, ${m}` : `mov ${m}, ${regName(0, size)}`, NONE, t.name))];
  },

  raw(t, st) {
    return [insn(`.byte ${st.rng.pick(t.mnemonics)}`, NONE, t.name)];
  },

  xlat(t, st) {
    return st.base === 3 ? [insn('xlatb', NONE, t.name)] : undefined;
  },
};

/** Generates the sequence for `seed`. */
export function generateSequence(seed: number, templates: readonly Template[], opts: GenOptions = {}): Sequence {
  const rng = new Rng(seed);
  const base = rng.pick(BASE_CANDIDATES);
  const index = rng.pick(BASE_CANDIDATES.filter((r) => r !== base));
  const baseOff = rng.int(64, 128);
  const indexVal = rng.int(0, 7);
  const regsByHw: bigint[] = [];
  for (let r = 0; r < 16; r++) regsByHw.push(regValue(rng));
  regsByHw[base] = BigInt(SCRATCH + baseOff);
  regsByHw[index] = BigInt(indexVal);
  regsByHw[RSP] = BigInt(SCRATCH + STACK_OFF);
  let rflags = 0x2n;
  for (const bit of [0x1, 0x4, 0x10, 0x40, 0x80, 0x800]) if (rng.chance(0.5)) rflags |= BigInt(bit);
  if (rng.chance(0.3)) rflags |= BigInt(DF);
  const mem = new Uint8Array(SCRATCH_BYTES);
  const view = new DataView(mem.buffer);
  for (let q = 0; q < SCRATCH_BYTES / 8; q++) view.setBigUint64(q * 8, regValue(rng), true);

  const st = new State(rng, base, index, baseOff, indexVal, rflags);
  const insns: Insn[] = [];
  const maskBefore: number[] = [];
  const emit = (i: Insn) => {
    maskBefore.push(st.undef);
    insns.push(annotate(i));
    const after = afterFlags(st.undef, i.flags);
    st.undef = i.maybe ? st.undef | after : after;
  };
  const length = rng.int(opts.minLength ?? 3, opts.maxLength ?? 10);
  for (let k = 0; k < length; k++) {
    let got: Insn[] | undefined;
    for (let tries = 0; tries < 50 && !got; tries++) {
      const t = rng.weighted(templates, (x) => x.weight);
      got = GENERATORS[t.kind](t, st, rng.pick(t.sizes));
    }
    if (!got) continue;
    for (const i of got) {
      if ((i.flags.reads & st.undef) !== 0) {
        // define every status flag before an instruction that reads an undefined one
        const s = rng.pick([16, 32, 64]);
        emit(insn(`cmp ${regName(rng.pick(st.free), s)}, ${regName(rng.int(0, 15), s)}`, ARITH, 'sanitize'));
      }
      emit(i);
    }
  }
  maskBefore.push(st.undef);
  return { seed, insns, regs: REC_ORDER.map((r) => regsByHw[r]!), rflags, mem, maskBefore, base, index };
}
