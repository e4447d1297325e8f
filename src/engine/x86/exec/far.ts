// Far control transfers (SDM vol. 2 JMP, CALL, RET; vol. 3 "Privilege Level
// Checking When Transferring Program Control Between Code Segments"):
// far JMP and far CALL, direct (ptr16:16/32) and indirect (m16:16/32/64), to
// conforming and non-conforming code segments and through call gates (16- and
// 32-bit gates in protected mode with parameter copying; 16-byte 64-bit gates
// in IA-32e mode, which push SS:RSP, CS:RIP with 8-byte slots and a null SS);
// and RETF (with imm16), including the return to an outer privilege level.
// Real and virtual-8086 modes load CS as selector × 16.
//
// branch.ts owns the JMP/CALL mnemonics; this file installs the far forms in
// far-hooks at load. Hardware task switching (JMP/CALL to a TSS or task gate
// outside IA-32e mode) stops the machine as unsupported after the gate's
// privilege and presence checks.
//
// Everything that can fault is checked (and the new stack written) before
// CS, SS, the stack pointer or the CPL are committed; a fault while pushing
// on the new stack of an inner-level call restores SS:RSP and the CPL.
// Pushes of CS/SS write the selector zero-extended to the slot.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { laAdd } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, GP, NP, TS, SS as SS_VEC } from '../fault';
import { CS, SS, RSP } from '../regs';
import { VM } from '../flags';
import { readDescriptor, descriptorAddr, tssStack } from '../descriptors';
import {
  arFromDescriptor, arDpl, AR_S, AR_P, AR_L, AR_DB, AR_UNUSABLE, TYPE_CODE, TYPE_CONFORMING, TYPE_WRITABLE,
} from '../segdesc';
import { effAddr } from '../operands';
import { push, peek, adjustSp } from '../stack';
import { checkStackRoom } from '../interrupts';
import { unsupportedHandler } from '../unsupported';
import { farHooks } from './far-hooks';
import {
  SegLoad, StackSnapshot, gpSel, checkLD, targetRip, checkReturnCs, checkReturnSs, invalidateDataSegs,
  setStackPointer, finishTransfer, loadCs, is64Code, ripLo, ripHi,
} from './far-common';

// Scratch state of the instruction being executed (handlers never nest).
const csL = new SegLoad();
const codeL = new SegLoad();
const ssL = new SegLoad();
const snap = new StackSnapshot();
const params = new Int32Array(32);
let gCodeSel = 0, gOffLo = 0, gOffHi = 0, gCount = 0, gSize = 4;

const inProtected = (c: Cpu): boolean => (c.cr0 & 1) !== 0 && (c.flags & VM) === 0;

/** Pushes two slots (CS then IP) of `size` bytes; RSP is unchanged if either faults. */
function pushPair(c: Cpu, size: number, aLo: number, bLo: number, bHi: number): void {
  const lo = c.rl[RSP]!, hi = c.rh[RSP]!;
  try {
    push(c, size, aLo, 0);
    push(c, size, bLo, bHi);
  } catch (e) {
    c.rl[RSP] = lo; c.rh[RSP] = hi;
    throw e;
  }
}

/** Real-address and virtual-8086 mode: CS = selector × 16, the offset checked against the CS limit. */
function realFar(c: Cpu, size: number, sel: number, lo: number, call: boolean): void {
  const ip = size === 2 ? lo & 0xffff : lo >>> 0;
  if (ip > c.segHi[CS]!) throw new CpuFault(GP, 0);
  if (call) pushPair(c, size, c.segSel[CS]!, c.nextRip, 0);
  c.setSegReal(CS, sel);
  c.nextRip = ip;
  c.exitBlock = true;
}

/** A direct transfer to a code segment: the SDM's CONFORMING- / NONCONFORMING-CODE-SEGMENT checks. */
function checkDirectCode(c: Cpu, sel: number, ar: number): void {
  if (!(ar & TYPE_CODE)) throw gpSel(sel);
  checkLD(c, ar, sel);
  const dpl = arDpl(ar);
  if (ar & TYPE_CONFORMING ? dpl > c.cpl : (sel & 3) > c.cpl || dpl !== c.cpl) throw gpSel(sel);
  if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
}

function isCallGate(c: Cpu, type: number): boolean {
  return c.longMode ? type === 12 : type === 4 || type === 12;
}

/** TSS or task gate outside IA-32e mode: privilege and presence checks, then the unsupported stop. */
function taskTransfer(c: Cpu, sel: number, ar: number, taskStop: Handler): never {
  const type = ar & 0xf;
  if (!c.longMode && (type === 1 || type === 3 || type === 5 || type === 9 || type === 11)) {
    const dpl = arDpl(ar);
    if (dpl < c.cpl || (sel & 3) > dpl || type === 3 || type === 11) throw gpSel(sel);
    if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
    taskStop(c);
  }
  throw gpSel(sel);
}

/** Reads a call gate (8 bytes, or 16 in IA-32e mode) into the g* scratch fields, with the gate checks. */
function readCallGate(c: Cpu, sel: number, lo: number, hi: number, ar: number): void {
  let upperLo = 0, upperHi = 0;
  if (c.longMode) {
    const a2 = descriptorAddr(c, ((sel & 0xfff8) + 8) | (sel & 4));
    if (a2 < 0) throw gpSel(sel);
    upperLo = c.readSys32(a2);
    upperHi = c.readSys32(a2 + 4);
    if ((upperHi >>> 8) & 0x1f) throw gpSel(sel); // the upper half's type field must be 0
  }
  const dpl = arDpl(ar);
  if (dpl < c.cpl || (sel & 3) > dpl) throw gpSel(sel);
  if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
  gCodeSel = lo >>> 16;
  gOffLo = (lo & 0xffff) | (hi & 0xffff0000);
  gOffHi = upperLo;
  gCount = hi & 0x1f;
  gSize = c.longMode ? 8 : (ar & 0xf) === 12 ? 4 : 2;
}

/** The code segment a call gate names, checked for JMP (same privilege only) or CALL; fills codeL. */
function checkGateCode(c: Cpu, call: boolean): void {
  const sel = gCodeSel;
  if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
  const d = readDescriptor(c, sel);
  const ar = arFromDescriptor(d.hi);
  if (!(ar & AR_S) || !(ar & TYPE_CODE)) throw gpSel(sel);
  const dpl = arDpl(ar);
  if (call ? dpl > c.cpl : ar & TYPE_CONFORMING ? dpl > c.cpl : dpl !== c.cpl) throw gpSel(sel);
  // IA-32e call gates lead to 64-bit code only.
  if (c.longMode && (!(ar & AR_L) || (ar & AR_DB))) throw gpSel(sel);
  if (!(ar & AR_P)) throw new CpuFault(NP, sel & 0xfffc);
  codeL.fromDescriptor(sel, d);
}

function farJmp(c: Cpu, size: number, sel: number, lo: number, hi: number, taskStop: Handler): void {
  sel &= 0xffff;
  if (!inProtected(c)) { realFar(c, size, sel, lo, false); return; }
  if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
  const d = readDescriptor(c, sel);
  const ar = arFromDescriptor(d.hi);
  let target: number;
  if (ar & AR_S) {
    checkDirectCode(c, sel, ar);
    csL.fromDescriptor(sel, d);
    target = targetRip(c, ar, csL.limit, lo, hi, size);
    loadCs(c, csL, c.cpl);
  } else {
    if (!isCallGate(c, ar & 0xf)) taskTransfer(c, sel, ar, taskStop);
    readCallGate(c, sel, d.lo, d.hi, ar);
    checkGateCode(c, false);
    target = targetRip(c, codeL.ar, codeL.limit, gOffLo, gOffHi, gSize);
    loadCs(c, codeL, c.cpl);
  }
  c.nextRip = target;
  c.updateMode();
  c.exitBlock = true;
}

function farCall(c: Cpu, size: number, sel: number, lo: number, hi: number, taskStop: Handler): void {
  sel &= 0xffff;
  if (!inProtected(c)) { realFar(c, size, sel, lo, true); return; }
  const retRip = c.nextRip;
  if ((sel & 0xfffc) === 0) throw new CpuFault(GP, 0);
  const d = readDescriptor(c, sel);
  const ar = arFromDescriptor(d.hi);
  if (ar & AR_S) {
    checkDirectCode(c, sel, ar);
    csL.fromDescriptor(sel, d);
    const target = targetRip(c, ar, csL.limit, lo, hi, size);
    csL.accessed(c);
    pushPair(c, size, c.segSel[CS]!, ripLo(retRip), ripHi(retRip));
    loadCs(c, csL, c.cpl);
    c.nextRip = target;
    c.updateMode();
    c.exitBlock = true;
    return;
  }
  if (!isCallGate(c, ar & 0xf)) taskTransfer(c, sel, ar, taskStop);
  readCallGate(c, sel, d.lo, d.hi, ar);
  checkGateCode(c, true);
  const newCpl = codeL.ar & TYPE_CONFORMING ? c.cpl : arDpl(codeL.ar);
  if (newCpl < c.cpl) callInner(c, newCpl, retRip);
  else callSame(c, retRip);
}

/** CALL through a gate without a privilege change: push CS:IP at the gate's size. */
function callSame(c: Cpu, retRip: number): void {
  const size = gSize;
  const savedStackSize = c.stackSize;
  // A 64-bit gate enters 64-bit mode: the pushes use the full RSP, base 0, no limit.
  if (size === 8) c.stackSize = 8;
  let target: number;
  try {
    checkStackRoom(c, 2 * size, 0);
    target = targetRip(c, codeL.ar, codeL.limit, gOffLo, gOffHi, size);
    codeL.accessed(c);
    pushPair(c, size, c.segSel[CS]!, ripLo(retRip), ripHi(retRip));
  } catch (e) {
    c.stackSize = savedStackSize;
    throw e;
  }
  loadCs(c, codeL, c.cpl);
  c.nextRip = target;
  c.updateMode();
  c.exitBlock = true;
}

/** The inner-level stack segment named by the TSS for a call gate (#TS/#SS checks); fills ssL. */
function checkInnerSs(c: Cpu, ss: number, newCpl: number): void {
  if ((ss & 0xfffc) === 0) throw new CpuFault(TS, 0);
  if (descriptorAddr(c, ss) < 0) throw new CpuFault(TS, ss & 0xfffc);
  const d = readDescriptor(c, ss, TS);
  const ar = arFromDescriptor(d.hi);
  if ((ss & 3) !== newCpl || arDpl(ar) !== newCpl || !(ar & AR_S) || (ar & TYPE_CODE) || !(ar & TYPE_WRITABLE)) {
    throw new CpuFault(TS, ss & 0xfffc);
  }
  if (!(ar & AR_P)) throw new CpuFault(SS_VEC, ss & 0xfffc);
  ssL.fromDescriptor(ss, d);
}

/**
 * CALL through a gate to a more privileged non-conforming segment: switch to
 * the TSS stack for the new CPL and push the caller's SS:SP, the gate's
 * parameters (16/32-bit gates only), CS and IP.
 */
function callInner(c: Cpu, newCpl: number, retRip: number): void {
  const size = gSize;
  const oldCs = c.segSel[CS]!, oldSs = c.segSel[SS]!, oldSpLo = c.rl[RSP]!, oldSpHi = c.rh[RSP]!;
  const st = tssStack(c, newCpl);
  let count = 0;
  if (c.longMode) {
    ssL.asNull(newCpl, AR_UNUSABLE | (newCpl << 5)); // IA-32e: SS becomes null with RPL = new CPL
  } else {
    checkInnerSs(c, st.ss, newCpl);
    count = gCount;
    for (let i = 0; i < count; i++) params[i] = peek(c, i * size, size); // from the caller's stack
  }
  snap.save(c);
  let target: number;
  try {
    c.setSegment(SS, ssL.sel, ssL.base, ssL.limit, ssL.ar);
    c.rl[RSP] = st.spLo;
    c.rh[RSP] = c.longMode ? st.spHi : 0;
    c.stackSize = c.longMode ? 8 : ssL.ar & AR_DB ? 4 : 2;
    c.setCpl(newCpl); // the new stack is written with the new privilege
    checkStackRoom(c, size === 8 ? 32 : (4 + count) * size, ssL.sel & 0xfffc);
    target = targetRip(c, codeL.ar, codeL.limit, gOffLo, gOffHi, size);
    codeL.accessed(c);
    ssL.accessed(c);
    push(c, size, oldSs, 0);
    push(c, size, oldSpLo, size === 8 ? oldSpHi : 0);
    for (let i = count - 1; i >= 0; i--) push(c, size, params[i]!, 0);
    push(c, size, oldCs, 0);
    push(c, size, ripLo(retRip), ripHi(retRip));
  } catch (e) {
    snap.restore(c);
    throw e;
  }
  c.setCpl(snap.cpl);
  loadCs(c, codeL, newCpl);
  c.nextRip = target;
  finishTransfer(c, newCpl, 'far-call');
}

function retf(c: Cpu, size: number, imm: number): void {
  const ipLo = peek(c, 0, size), ipHi = size === 8 ? c.hi : 0;
  const sel = peek(c, size, size) & 0xffff;
  if (!inProtected(c)) {
    const ip = size === 2 ? ipLo & 0xffff : ipLo >>> 0;
    if (ip > c.segHi[CS]!) throw new CpuFault(GP, 0);
    c.setSegReal(CS, sel);
    adjustSp(c, 2 * size + imm);
    c.nextRip = ip;
    c.exitBlock = true;
    return;
  }
  checkReturnCs(c, sel, csL);
  const rpl = sel & 3;
  if (rpl === c.cpl) {
    const target = targetRip(c, csL.ar, csL.limit, ipLo, ipHi, size);
    loadCs(c, csL, rpl);
    adjustSp(c, 2 * size + imm);
    c.nextRip = target;
    c.updateMode();
    c.exitBlock = true;
    return;
  }
  // Return to an outer level: SS:SP sit above the parameters the caller pushed.
  const spLo = peek(c, 2 * size + imm, size), spHi = size === 8 ? c.hi : 0;
  const ssSel = peek(c, 3 * size + imm, size) & 0xffff;
  checkReturnSs(c, ssSel, rpl, is64Code(c, csL.ar), ssL);
  const target = targetRip(c, csL.ar, csL.limit, ipLo, ipHi, size);
  ssL.accessed(c);
  loadCs(c, csL, rpl);
  ssL.commit(c, SS);
  c.updateMode(); // stack width of the new SS / mode
  setStackPointer(c, spLo, spHi);
  adjustSp(c, imm); // release the parameters on the caller's stack too
  invalidateDataSegs(c, rpl);
  c.nextRip = target;
  finishTransfer(c, rpl, 'far-ret');
}

// ---------------------------------------------------------------------------
// Compilers
// ---------------------------------------------------------------------------

type FarFn = (c: Cpu, size: number, sel: number, lo: number, hi: number, taskStop: Handler) => void;

function compileFar(ins: Instruction, ctx: Ctx, fn: FarFn, what: string): Handler {
  const taskStop = unsupportedHandler(ins, ctx, `${what} to a TSS or task gate (hardware task switch)`);
  const k = ins.op0Kind;
  if (k === OpKind.FarBranch16 || k === OpKind.FarBranch32) {
    const size = k === OpKind.FarBranch16 ? 2 : 4;
    const sel = ins.farBranchSelector;
    const off = (size === 2 ? ins.farBranch16 : ins.farBranch32) | 0;
    return (c) => fn(c, size, sel, off, 0, taskStop);
  }
  const code = ins.code;
  const size = code === Code.Jmp_m1616 || code === Code.Call_m1616 ? 2
    : code === Code.Jmp_m1664 || code === Code.Call_m1664 ? 8 : 4;
  const addr = effAddr(ins, ctx.bits, size + 2);
  return (c) => {
    const la = addr(c);
    let lo: number, hi = 0;
    if (size === 2) lo = c.read16(la);
    else if (size === 4) lo = c.read32(la);
    else { lo = c.read64(la); hi = c.hi; }
    const sel = c.read16(laAdd(la, size, c.bits));
    fn(c, size, sel, lo, hi, taskStop);
  };
}

farHooks.jmp = (ins, ctx) => compileFar(ins, ctx, farJmp, 'far JMP');
farHooks.call = (ins, ctx) => compileFar(ins, ctx, farCall, 'far CALL');

function compileRetf(ins: Instruction): Handler {
  const code = ins.code;
  const size = code === Code.Retfw || code === Code.Retfw_imm16 ? 2
    : code === Code.Retfq || code === Code.Retfq_imm16 ? 8 : 4;
  const imm = ins.opCount > 0 ? ins.immediate16 : 0;
  return (c) => retf(c, size, imm);
}
define(Mnemonic.Retf, compileRetf);
