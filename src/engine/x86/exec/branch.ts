// Near control transfers: JMP, Jcc, CALL, RET (with imm16), LOOP/LOOPE/
// LOOPNE, JCXZ/JECXZ/JRCXZ. Targets are relative to the next RIP (blocks are
// cached by physical address, so nothing absolute is baked in), masked to
// the operand size, checked against the CS limit outside 64-bit mode and for
// canonical form inside it.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { cond } from '../flags';
import { CpuFault, GP } from '../fault';
import { CS, RCX } from '../regs';
import { location, readReg, readMem, memorySizeBytes } from '../operands';
import { regInfo as _ri } from '../regs';
import { compileFarJmp, compileFarCall } from './far-hooks';
import { adjustSp } from '../stack';
import { push, pop } from '../stack';

const TWO32 = 0x1_0000_0000;

/** Sets the next RIP to a target held as (lo, hi) at operand size `size`. */
export function jumpTo(c: Cpu, size: number, lo: number, hi: number): void {
  if (size === 8) {
    if ((hi >> 15) !== (hi >> 31)) throw new CpuFault(GP, 0);
    c.nextRip = (hi | 0) * TWO32 + (lo >>> 0);
    return;
  }
  const t = size === 4 ? lo >>> 0 : lo & 0xffff;
  if (c.bits !== 64 && t > c.segHi[CS]!) throw new CpuFault(GP, 0);
  c.nextRip = t;
}

/** Next RIP + rel at the operand size. */
function relTarget(c: Cpu, size: number, rel: number): number {
  const t = c.nextRip + rel;
  if (size === 8) {
    if (t < -(2 ** 47) || t >= 2 ** 47) throw new CpuFault(GP, 0);
    return t;
  }
  const m = size === 4 ? t >>> 0 : t & 0xffff;
  if (m > c.segHi[CS]!) throw new CpuFault(GP, 0);
  return m;
}

/** Operand size of a near branch: 8 in 64-bit mode (Intel ignores 66h there), else by prefix. */
function branchSize(ins: Instruction, ctx: Ctx): number {
  if (ctx.bits === 64) return 8;
  if (ins.mnemonic === Mnemonic.Ret) {
    // RET's width is in its code (Retnw/Retnd), not in an operand (it may have none).
    const name = Code[ins.code] ?? '';
    return name.startsWith('Retnw') ? 2 : 4;
  }
  const k = ins.opCount > 0 ? ins.op0Kind : -1;
  if (k === OpKind.NearBranch16) return 2;
  if (k === OpKind.NearBranch32) return 4;
  if (k === OpKind.Register) return _ri(ins.op0Register).size;
  if (k === OpKind.Memory) return memorySizeBytes(ins);
  return ctx.bits === 32 ? 4 : 2;
}

function relOf(ins: Instruction): number {
  return Number(BigInt.asIntN(64, ins.nearBranchTarget - ins.nextIP));
}

function ripLo(rip: number): number { return rip | 0; }
function ripHi(rip: number): number { return Math.floor(rip / TWO32) | 0; }

function compileJmp(ins: Instruction, ctx: Ctx): Handler {
  const size = branchSize(ins, ctx);
  const k = ins.op0Kind;
  if (k === OpKind.NearBranch16 || k === OpKind.NearBranch32 || k === OpKind.NearBranch64) {
    const rel = relOf(ins);
    if (size === 8) return (c) => { c.nextRip = relTarget(c, 8, rel); };
    return (c) => { c.nextRip = relTarget(c, size, rel); };
  }
  if (k === OpKind.FarBranch16 || k === OpKind.FarBranch32 || (k === OpKind.Memory && ins.isJmpFarIndirect)) {
    return compileFarJmp(ins, ctx);
  }
  const loc = location(ins, 0, ctx.bits, size);
  if (loc.kind === 'reg') { const r = loc.reg; return (c) => { const lo = readReg(c, r); jumpTo(c, size, lo, c.hi); }; }
  if (loc.kind !== 'mem') throw new Error('bad JMP operand');
  const addr = loc.addr;
  return (c) => { const lo = readMem(c, addr(c), size); jumpTo(c, size, lo, c.hi); };
}

define(Mnemonic.Jmp, compileJmp);

function compileJcc(ins: Instruction, ctx: Ctx): Handler {
  const size = branchSize(ins, ctx);
  const rel = relOf(ins);
  const code = ccFromIced(ins.conditionCode);
  if (code === undefined) throw new Error('Jcc without a condition code');
  return (c) => { if (cond(c, code)) c.nextRip = relTarget(c, size, rel); };
}

/** iced ConditionCode (None=0, o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g) → Jcc low nibble. */
function ccFromIced(cc: number): number | undefined {
  return cc >= 1 && cc <= 16 ? cc - 1 : undefined;
}

define([Mnemonic.Jo, Mnemonic.Jno, Mnemonic.Jb, Mnemonic.Jae, Mnemonic.Je, Mnemonic.Jne, Mnemonic.Jbe,
  Mnemonic.Ja, Mnemonic.Js, Mnemonic.Jns, Mnemonic.Jp, Mnemonic.Jnp, Mnemonic.Jl, Mnemonic.Jge,
  Mnemonic.Jle, Mnemonic.Jg], compileJcc);

function compileCall(ins: Instruction, ctx: Ctx): Handler {
  const size = branchSize(ins, ctx);
  const k = ins.op0Kind;
  if (k === OpKind.FarBranch16 || k === OpKind.FarBranch32 || (k === OpKind.Memory && ins.isCallFarIndirect)) {
    return compileFarCall(ins, ctx);
  }
  if (k === OpKind.NearBranch16 || k === OpKind.NearBranch32 || k === OpKind.NearBranch64) {
    const rel = relOf(ins);
    return (c) => {
      const target = relTarget(c, size, rel);
      const ret = c.nextRip;
      push(c, size, ripLo(ret), ripHi(ret));
      c.nextRip = target;
    };
  }
  const loc = location(ins, 0, ctx.bits, size);
  const read = loc.kind === 'reg' ? ((r) => (c: Cpu) => readReg(c, r))(loc.reg)
    : loc.kind === 'mem' ? ((a) => (c: Cpu) => readMem(c, a(c), size))(loc.addr) : undefined;
  if (!read) throw new Error('bad CALL operand');
  return (c) => {
    const lo = read(c), hi = c.hi;
    const ret = c.nextRip;
    jumpTo(c, size, lo, hi); // checks the target before anything is pushed
    const target = c.nextRip;
    c.nextRip = ret;
    push(c, size, ripLo(ret), ripHi(ret));
    c.nextRip = target;
  };
}
define(Mnemonic.Call, compileCall);

function compileRet(ins: Instruction, ctx: Ctx): Handler {
  const size = branchSize(ins, ctx);
  const imm = ins.opCount > 0 && ins.op0Kind === OpKind.Immediate16 ? ins.immediate16 : 0;
  return (c) => {
    const lo = pop(c, size);
    const hi = size === 8 ? c.hi : 0;
    try {
      jumpTo(c, size, lo, hi);
    } catch (e) {
      // RET faults before RSP changes.
      adjustBack(c, size);
      throw e;
    }
    if (imm) adjustAfter(c, imm);
  };
}
function adjustBack(c: Cpu, size: number): void { adjustSp(c, -size); }
function adjustAfter(c: Cpu, n: number): void { adjustSp(c, n); }
define(Mnemonic.Ret, compileRet);

function counterSize(ins: Instruction, ctx: Ctx): number {
  // LOOP/JrCXZ count with the address size: CX, ECX or RCX.
  const code = ins.op0Kind;
  void code;
  const reg = ins.opCount > 1 ? ins.op1Register : 0;
  if (reg) return _ri(reg).size;
  return ctx.bits === 64 ? 8 : ctx.bits === 32 ? 4 : 2;
}

function compileLoop(ins: Instruction, ctx: Ctx): Handler {
  const size = branchSize(ins, ctx);
  const rel = relOf(ins);
  const csize = loopCounterSize(ins, ctx);
  const mn = ins.mnemonic;
  // 0 = JrCXZ, 1 = LOOP, 2 = LOOPE, 3 = LOOPNE (iced enums stay out of the closure: they are getters in the bundle)
  const kind = mn === Mnemonic.Jcxz || mn === Mnemonic.Jecxz || mn === Mnemonic.Jrcxz ? 0
    : mn === Mnemonic.Loop ? 1 : mn === Mnemonic.Loope ? 2 : 3;
  return (c) => {
    let zero: boolean;
    if (kind === 0) {
      zero = counterIsZero(c, csize);
      if (zero) c.nextRip = relTarget(c, size, rel);
      return;
    }
    decCounter(c, csize);
    zero = counterIsZero(c, csize);
    let take = !zero;
    if (kind === 2) take = take && cond(c, 4);
    else if (kind === 3) take = take && !cond(c, 4);
    if (take) c.nextRip = relTarget(c, size, rel);
  };
}

function loopCounterSize(ins: Instruction, ctx: Ctx): number {
  switch (ins.mnemonic) {
    case Mnemonic.Jcxz: return 2;
    case Mnemonic.Jecxz: return 4;
    case Mnemonic.Jrcxz: return 8;
  }
  // LOOPcc: iced names the counter register as operand 1.
  if (ins.opCount > 1 && ins.op1Kind === OpKind.Register) return _ri(ins.op1Register).size;
  return counterSize(ins, ctx);
}

function counterIsZero(c: Cpu, size: number): boolean {
  if (size === 2) return (c.rl[RCX]! & 0xffff) === 0;
  if (size === 4) return c.rl[RCX] === 0;
  return c.rl[RCX] === 0 && c.rh[RCX] === 0;
}

function decCounter(c: Cpu, size: number): void {
  if (size === 2) c.rl[RCX] = (c.rl[RCX]! & ~0xffff) | ((c.rl[RCX]! - 1) & 0xffff);
  else if (size === 4) { c.rl[RCX] = (c.rl[RCX]! - 1) | 0; if (c.bits === 64) c.rh[RCX] = 0; }
  else { if (c.rl[RCX] === 0) c.rh[RCX] = (c.rh[RCX]! - 1) | 0; c.rl[RCX] = (c.rl[RCX]! - 1) | 0; }
}

define([Mnemonic.Loop, Mnemonic.Loope, Mnemonic.Loopne, Mnemonic.Jcxz, Mnemonic.Jecxz, Mnemonic.Jrcxz], compileLoop);
