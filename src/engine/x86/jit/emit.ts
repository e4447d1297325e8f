// Inline JavaScript for the hottest instruction forms (MOV, the two-operand
// ALU ops, INC/DEC at 32 and 64 bits, register or memory operands), used by
// the block JIT. Each emitter reproduces exactly what the instruction's
// closure in exec/ does; anything not covered here runs its closure instead,
// so the closures stay the single reference for semantics.
//
// Emitters run at decode time (the iced Instruction is only valid then) and
// return a function of the flags still live after the instruction: when no
// flag it writes is read before being overwritten, the lazy-flag stores are
// left out (dead-flag elimination).

import { Mnemonic, OpKind, type Instruction } from 'iced-x86';
import { LazyOp } from '../flags';
import { regInfo } from '../regs';
import { effAddr, type AddrFn } from '../operands';

/** iced RflagsBits for the six arithmetic flags. */
export const ARITH_FLAGS = 1 | 2 | 4 | 8 | 16 | 32;
export const ICED_CF = 16;

export interface InlineInsn {
  /** Source of the instruction given the arithmetic flags live after it (iced RflagsBits). */
  code: (liveAfter: number) => string;
  /** Memory accesses can fault: RIP must be exact and every flag counts as live before it. */
  mayFault: boolean;
  /** Effective-address closure referenced as A[slot] in the code. */
  addr?: AddrFn;
  /** A block-ending branch: the code sets c.rip itself (NEXT is the next instruction's address, AT its own). */
  setsRip?: boolean;
}

const ALU: Partial<Record<number, { op: 'add' | 'sub' | 'and' | 'or' | 'xor'; write: boolean }>> = {
  [Mnemonic.Add]: { op: 'add', write: true },
  [Mnemonic.Sub]: { op: 'sub', write: true },
  [Mnemonic.And]: { op: 'and', write: true },
  [Mnemonic.Or]: { op: 'or', write: true },
  [Mnemonic.Xor]: { op: 'xor', write: true },
  [Mnemonic.Cmp]: { op: 'sub', write: false },
  [Mnemonic.Test]: { op: 'and', write: false },
};

type Operand =
  | { kind: 'reg'; index: number }
  | { kind: 'imm'; lo: number; hi: number }
  | { kind: 'mem' };

function operand(ins: Instruction, n: number, size: number): Operand | undefined {
  const k = ins.opKind(n);
  if (k === OpKind.Register) {
    const r = regInfo(ins.opRegister(n));
    if (r.kind !== 'gpr' || r.size !== size || r.high8) return undefined;
    return { kind: 'reg', index: r.index };
  }
  if (k === OpKind.Memory) return { kind: 'mem' };
  if (k === OpKind.Immediate8 || k === OpKind.Immediate32 || k === OpKind.Immediate8to32 || k === OpKind.Immediate8to64 ||
      k === OpKind.Immediate32to64 || k === OpKind.Immediate64) {
    const v = BigInt.asUintN(64, ins.immediate(n));
    return { kind: 'imm', lo: Number(v & 0xffffffffn) | 0, hi: Number(v >> 32n) | 0 };
  }
  return undefined;
}

/** Operand size from the register operand(s); 0 when not 4 or 8 bytes. */
function sizeOf(ins: Instruction): number {
  for (let n = 0; n < ins.opCount; n++) {
    if (ins.opKind(n) === OpKind.Register) {
      const r = regInfo(ins.opRegister(n));
      if (r.kind === 'gpr') return r.size === 4 || r.size === 8 ? r.size : 0;
      return 0;
    }
  }
  return 0;
}

/** Lazy-flag stores, or nothing when dead. */
function lazy(live: boolean, op: LazyOp, size: number, dst: string, src: string, res: string, dstH = '0', srcH = '0', resH = '0'): string {
  if (!live) return '';
  if (op === LazyOp.Logic) {
    return size === 8 ? `c.lop=${op};c.lsize=8;c.lres=${res};c.lresH=${resH};` : `c.lop=${op};c.lsize=4;c.lres=${res};`;
  }
  return size === 8
    ? `c.lop=${op};c.lsize=8;c.ldst=${dst};c.ldstH=${dstH};c.lsrc=${src};c.lsrcH=${srcH};c.lres=${res};c.lresH=${resH};`
    : `c.lop=${op};c.lsize=4;c.ldst=${dst};c.lsrc=${src};c.lres=${res};`;
}

/** Code computing `b`/`bh` (source value) into locals, for 4- or 8-byte operands. */
function loadSrc(o: Operand, size: number, slot: string): string {
  if (o.kind === 'imm') return size === 8 ? `const b=${o.lo},bh=${o.hi};` : `const b=${o.lo},bh=0;`;
  if (o.kind === 'reg') return size === 8 ? `const b=rl[${o.index}],bh=rh[${o.index}];` : `const b=rl[${o.index}],bh=0;`;
  return size === 8 ? `const la=${slot}(c);const b=c.read64(la),bh=c.hi;` : `const la=${slot}(c);const b=c.read32(la),bh=0;`;
}

function aluCompute(op: 'add' | 'sub' | 'and' | 'or' | 'xor', size: number): string {
  if (size === 4) {
    switch (op) {
      case 'add': return 'const r=(a+b)|0;';
      case 'sub': return 'const r=(a-b)|0;';
      case 'and': return 'const r=a&b;';
      case 'or': return 'const r=a|b;';
      case 'xor': return 'const r=a^b;';
    }
  }
  switch (op) {
    case 'add': return 'const s=(a>>>0)+(b>>>0);const r=s|0;const rh2=(ah+bh+(s>4294967295?1:0))|0;';
    case 'sub': return 'const s=(a>>>0)-(b>>>0);const r=s|0;const rh2=(ah-bh-(s<0?1:0))|0;';
    case 'and': return 'const r=a&b,rh2=ah&bh;';
    case 'or': return 'const r=a|b,rh2=ah|bh;';
    case 'xor': return 'const r=a^b,rh2=ah^bh;';
  }
}

function aluFlags(op: 'add' | 'sub' | 'and' | 'or' | 'xor', size: number, live: boolean): string {
  const lop = op === 'add' ? LazyOp.Add : op === 'sub' ? LazyOp.Sub : LazyOp.Logic;
  return size === 4 ? lazy(live, lop, 4, 'a', 'b', 'r') : lazy(live, lop, 8, 'a', 'b', 'r', 'ah', 'bh', 'rh2');
}

/** An inline form for `ins`, or undefined when its closure must run. Its address closure is written A_SLOT. */
export function emitInline(ins: Instruction, bits: 16 | 32 | 64): InlineInsn | undefined {
  const slot = 'A_SLOT';
  if (bits === 16 || ins.hasLockPrefix) return undefined;
  const m = ins.mnemonic;
  const size = sizeOf(ins);
  if (size !== 4 && size !== 8) return undefined;
  // The address closure is built for the memory operand, with the access size for limit checks.
  const hasMem = ins.op0Kind === OpKind.Memory || (ins.opCount > 1 && ins.op1Kind === OpKind.Memory);
  const addr = hasMem ? effAddr(ins, bits, size) : undefined;

  if (m === Mnemonic.Mov) {
    const d = operand(ins, 0, size), s = operand(ins, 1, size);
    if (!d || !s || (d.kind === 'mem' && s.kind === 'mem')) return undefined;
    if (d.kind === 'reg') {
      const i = d.index;
      const src = loadSrc(s, size, slot);
      const hi = size === 8 ? 'bh' : '0';
      return { code: () => `{${src}rl[${i}]=b;rh[${i}]=${hi};}`, mayFault: s.kind === 'mem', addr };
    }
    if (d.kind === 'mem') {
      const src = loadSrc(s, size, slot);
      const store = size === 8 ? `c.write64(${slot}(c),b,bh);` : `c.write32(${slot}(c),b);`;
      return { code: () => `{${src}${store}}`, mayFault: true, addr };
    }
    return undefined;
  }

  const alu = ALU[m];
  if (alu) {
    const d = operand(ins, 0, size), s = operand(ins, 1, size);
    if (!d || !s || d.kind === 'imm' || (d.kind === 'mem' && s.kind === 'mem')) return undefined;
    return {
      mayFault: d.kind === 'mem' || s.kind === 'mem',
      addr,
      code: (liveAfter) => {
        const live = (liveAfter & ARITH_FLAGS) !== 0;
        const body = aluCompute(alu.op, size) + aluFlags(alu.op, size, live);
        if (d.kind === 'reg') {
          const i = d.index;
          const load = size === 8 ? `const a=rl[${i}],ah=rh[${i}];` : `const a=rl[${i}];`;
          const wb = !alu.write ? '' : size === 8 ? `rl[${i}]=r;rh[${i}]=rh2;` : `rl[${i}]=r;rh[${i}]=0;`;
          return `{${loadSrc(s, size, slot)}${load}${body}${wb}}`;
        }
        // Memory destination: read (for write), compute, write, then flags — a faulting write leaves flags intact.
        const rd = size === 8
          ? `const la=${slot}(c);const a=${alu.write ? 'c.read64w(la)' : 'c.read64(la)'},ah=c.hi;`
          : `const la=${slot}(c);const a=${alu.write ? 'c.read32w(la)' : 'c.read32(la)'};`;
        const wr = !alu.write ? '' : size === 8 ? 'c.write64(la,r,rh2);' : 'c.write32(la,r);';
        return `{${loadSrc(s, size, slot)}${rd}${aluCompute(alu.op, size)}${wr}${aluFlags(alu.op, size, live)}}`;
      },
    };
  }

  if ((m === Mnemonic.Inc || m === Mnemonic.Dec) && ins.op0Kind === OpKind.Register) {
    const d = operand(ins, 0, size);
    if (!d || d.kind !== 'reg') return undefined;
    const i = d.index;
    const inc = m === Mnemonic.Inc;
    return {
      mayFault: false,
      code: (liveAfter) => {
        const live = (liveAfter & (ARITH_FLAGS & ~ICED_CF)) !== 0;
        const op = inc ? LazyOp.Inc : LazyOp.Dec;
        if (size === 4) {
          // When only CF is live after it, the previous lazy record still answers CF: nothing to store.
          const f = live ? `c.lcf=getCF(c);c.lop=${op};c.lsize=4;c.ldst=a;c.lsrc=1;c.lres=r;` : '';
          return `{const a=rl[${i}];const r=(a${inc ? '+' : '-'}1)|0;rl[${i}]=r;rh[${i}]=0;${f}}`;
        }
        const f = live ? `c.lcf=getCF(c);c.lop=${op};c.lsize=8;c.ldst=a;c.ldstH=ah;c.lsrc=1;c.lsrcH=0;c.lres=r;c.lresH=rh2;` : '';
        const carry = inc ? `(s>4294967295?1:0)` : `(s<0?-1:0)`;
        return `{const a=rl[${i}],ah=rh[${i}];const s=(a>>>0)${inc ? '+' : '-'}1;const r=s|0;const rh2=(ah+${carry})|0;rl[${i}]=r;rh[${i}]=rh2;${f}}`;
      },
    };
  }
  return undefined;
}

/**
 * Inline Jcc / JMP rel8/rel32 ending a block: the same target rules as
 * branch.ts (canonical check in 64-bit mode, operand-size wrap and CS limit
 * otherwise), raising #GP(0) at the branch itself.
 */
export function emitBranch(ins: Instruction, bits: 16 | 32 | 64): InlineInsn | undefined {
  if (bits === 16) return undefined;
  const k = ins.op0Kind;
  if (k !== OpKind.NearBranch32 && k !== OpKind.NearBranch64) return undefined;
  const m = ins.mnemonic;
  let cc = -1;
  if (m !== Mnemonic.Jmp) {
    if (ins.conditionCode < 1 || ins.conditionCode > 16) return undefined;
    if (!ins.isJccShortOrNear) return undefined;
    cc = ins.conditionCode - 1;
  }
  const rel = Number(BigInt.asIntN(64, ins.nearBranchTarget - ins.nextIP));
  const check = bits === 64
    ? 'if(t<-140737488355328||t>=140737488355328){c.rip=$AT$;throw GP0();}'
    : 'if(t>c.segHi[1]){c.rip=$AT$;throw GP0();}';
  const target = bits === 64 ? `const t=$NEXT$+${rel};` : `const t=($NEXT$+${rel})>>>0;`;
  const taken = `{${target}${check}c.rip=t;}`;
  return {
    mayFault: true,
    setsRip: true,
    code: () => cc < 0 ? taken : `if(cond(c,${cc}))${taken}else c.rip=$NEXT$;`,
  };
}
