// Stack instructions: PUSH and POP (registers, memory, immediates, segment
// registers), PUSHA/POPA, ENTER, LEAVE. The operand size comes from iced's
// stack-pointer increment, which already accounts for 66h and 64-bit mode.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import { define, type Ctx, type Handler } from '../registry';
import { location, readReg, writeReg, readMem, writeMem, immediate } from '../operands';
import { regInfo, RSP, RBP, SS } from '../regs';
import { push, pop, peek, adjustSp, stackAddr } from '../stack';
import { loadSegment } from '../segments';
import { unsupportedHandler } from '../unsupported';

function compilePush(ins: Instruction, ctx: Ctx): Handler {
  const size = -ins.stackPointerIncrement;
  const k = ins.op0Kind;
  if (k === OpKind.Register && regInfo(ins.op0Register).kind === 'seg') {
    const s = regInfo(ins.op0Register).index;
    // A segment push of 32/64 bits writes the selector zero-extended (we write the full slot).
    return (c) => push(c, size, c.segSel[s]!, 0);
  }
  if (k === OpKind.Register) {
    const r = { ...regInfo(ins.op0Register), high8: false };
    const reg = { index: r.index, size: r.size, high8: false };
    if (size === 8) { const i = r.index; return (c) => push(c, 8, c.rl[i]!, c.rh[i]!); }
    return (c) => push(c, size, readReg(c, reg), 0);
  }
  if (k === OpKind.Memory) {
    const loc = location(ins, 0, ctx.bits, size);
    if (loc.kind !== 'mem') throw new Error('bad PUSH operand');
    const addr = loc.addr;
    // The source address uses RSP before the push (SDM: PUSH [RSP] pushes the old value).
    return (c) => { const lo = readMem(c, addr(c), size); push(c, size, lo, c.hi); };
  }
  const { lo, hi } = immediate(ins, 0);
  return (c) => push(c, size, lo, hi);
}
define(Mnemonic.Push, compilePush);

function compilePop(ins: Instruction, ctx: Ctx): Handler {
  const size = ins.stackPointerIncrement;
  const k = ins.op0Kind;
  if (k === OpKind.Register && regInfo(ins.op0Register).kind === 'seg') {
    const s = regInfo(ins.op0Register).index;
    return (c) => {
      const sel = peek(c, 0, size) & 0xffff;
      loadSegment(c, s, sel);
      adjustSp(c, size);
      if (s === SS) { c.intShadow = true; c.exitBlock = true; }
    };
  }
  if (k === OpKind.Register) {
    const ri = regInfo(ins.op0Register);
    const reg = { index: ri.index, size: ri.size, high8: false };
    if (size === 8) { const i = ri.index; return (c) => { const lo = pop(c, 8); c.rl[i] = lo; c.rh[i] = c.hi; }; }
    return (c) => { const v = pop(c, size); writeReg(c, reg, v, 0); };
  }
  const loc = location(ins, 0, ctx.bits, size);
  if (loc.kind !== 'mem') throw new Error('bad POP operand');
  const addr = loc.addr;
  // POP [mem]: the address is computed with RSP already incremented (SDM, POP).
  return (c) => {
    const lo = peek(c, 0, size), hi = c.hi;
    adjustSp(c, size);
    try { writeMem(c, addr(c), size, lo, hi); } catch (e) { adjustSp(c, -size); throw e; }
  };
}
define(Mnemonic.Pop, compilePop);

function compilePusha(ins: Instruction): Handler {
  const size = ins.mnemonic === Mnemonic.Pushad ? 4 : 2;
  return (c) => {
    const sp = c.rl[RSP]!;
    // Check the whole frame first so a fault leaves ESP unchanged.
    stackAddr(c, -8 * size, size);
    for (let i = 0; i < 8; i++) push(c, size, i === RSP ? sp : c.rl[i]!, 0);
  };
}
define([Mnemonic.Pusha, Mnemonic.Pushad], compilePusha);

function compilePopa(ins: Instruction): Handler {
  const size = ins.mnemonic === Mnemonic.Popad ? 4 : 2;
  return (c) => {
    stackAddr(c, 7 * size, size);
    for (let i = 7; i >= 0; i--) {
      const v = pop(c, size);
      if (i === RSP) continue; // the saved SP is skipped
      if (size === 4) { c.rl[i] = v; c.rh[i] = 0; } else c.rl[i] = (c.rl[i]! & ~0xffff) | (v & 0xffff);
    }
  };
}
define([Mnemonic.Popa, Mnemonic.Popad], compilePopa);

function compileLeave(ins: Instruction, ctx: Ctx): Handler {
  const size = ins.stackPointerIncrement;
  return (c) => {
    // RSP ← RBP (at stack width), then POP RBP.
    const saveLo = c.rl[RSP]!, saveHi = c.rh[RSP]!;
    if (c.stackSize === 8) { c.rl[RSP] = c.rl[RBP]!; c.rh[RSP] = c.rh[RBP]!; }
    else if (c.stackSize === 4) c.rl[RSP] = c.rl[RBP]!;
    else c.rl[RSP] = (c.rl[RSP]! & ~0xffff) | (c.rl[RBP]! & 0xffff);
    try {
      const v = pop(c, size);
      writeReg(c, { index: RBP, size, high8: false }, v, c.hi);
    } catch (e) { c.rl[RSP] = saveLo; c.rh[RSP] = saveHi; throw e; }
  };
  void ctx;
}
define(Mnemonic.Leave, compileLeave);

function compileEnter(ins: Instruction, ctx: Ctx): Handler {
  const alloc = ins.immediate16;
  const level = ins.immediate8_2nd & 31;
  const name = Code[ins.code] ?? '';
  const opSize = name.startsWith('Enterq') ? 8 : name.startsWith('Enterd') ? 4 : 2;
  if (level !== 0) return unsupportedHandler(ins, ctx, 'ENTER with a nesting level above 0');
  return (c) => {
    push(c, opSize, c.rl[RBP]!, c.rh[RBP]!);
    const fLo = c.rl[RSP]!, fHi = c.rh[RSP]!;
    try {
      adjustSp(c, -alloc);
      if (alloc) stackAddr(c, 0, 1); // the new stack top must be addressable, as on hardware
    } catch (e) { c.rl[RSP] = fLo; c.rh[RSP] = fHi; adjustSp(c, opSize); throw e; }
    writeReg(c, { index: RBP, size: opSize, high8: false }, fLo, fHi);
  };
}
define(Mnemonic.Enter, compileEnter);
