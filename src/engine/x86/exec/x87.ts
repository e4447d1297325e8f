// x87 control instructions: FNINIT/FINIT, FNSTCW/FSTCW, FLDCW, FNSTSW/FSTSW
// (m16 and AX), FNCLEX/FCLEX, FWAIT/WAIT, FNOP and the 287 leftovers
// FNENI/FNDISI/FNSETPM (no-ops since the 387), EMMS; plus the x87
// availability and pending-exception checks FXSAVE/FXRSTOR share. Every
// other x87 instruction is a stop after those checks: there is no x87
// arithmetic, load or store yet.
//
// State (cpu.ts): fpuCw, fpuSw (TOP in bits 13:11), fpuTw (the full 16-bit
// tag word, two bits per *physical* register R0-R7), fpuRegs (80-bit
// registers in physical order R0-R7, 10 little-endian bytes each, as in
// memory; ST(i) is R[(TOP + i) & 7]).
//
// Documented choices:
// - #NM when CR0.EM or CR0.TS (SDM table "Action Taken By x87 FPU
//   Instructions for Different Combinations of EM, MP, and TS"); WAIT/FWAIT
//   only when CR0.TS and CR0.MP are both set.
// - Waiting instructions (everything but the FN* forms, FNSTENV and FNSAVE)
//   first take a pending unmasked x87 exception: one whose flag (FSW bits
//   5:0) is set while its mask (FCW bits 5:0) is clear, as the SDM words it
//   for FLDCW and FLDENV. With CR0.NE = 1 that is #MF; with CR0.NE = 0 the
//   legacy FERR#/IRQ 13 path is not emulated and the machine stops, saying so.
// - FIP, FDP, FCS, FDS and FOP are not tracked: no instruction that would
//   set them (x87 arithmetic) executes, so they keep their FNINIT value 0.
//   FXSAVE stores them as 0, as QEMU TCG does.
// - FLDCW stores all 16 bits as given (QEMU TCG does the same).
// - iced decodes 9B (FWAIT) separately from the FN* instruction after it, so
//   FSTSW/FSTCW/FINIT/FCLEX arrive as two instructions; the merged
//   mnemonics are still registered (WAIT checks, then the FN* operation).
// - EMMS: MMX is not advertised by CPUID, so #UD.

import { Code, Mnemonic, OpKind, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Ctx, type Handler } from '../registry';
import { CpuFault, MachineStop, MF, NM, UD } from '../fault';
import { effAddr, setReg16 } from '../operands';
import { RAX } from '../regs';
import { unsupportedHandler, ripHex } from '../unsupported';
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS } from './sse-move';

export const FCW_INIT = 0x037f;
export const FTW_EMPTY = 0xffff;
/** FSW bits FNCLEX clears: IE DE ZE OE UE PE, SF, ES and B. */
const FSW_CLEAR = 0x80ff;

/** x87 availability: #NM when CR0.EM or CR0.TS. */
export function x87Check(c: Cpu): void {
  if ((c.cr0 & (CR0_EM | CR0_TS)) !== 0) throw new CpuFault(NM);
}

/** Takes a pending unmasked x87 exception, as waiting instructions do first. */
export function x87Pending(c: Cpu): void {
  if ((c.fpuSw & ~c.fpuCw & 0x3f) !== 0) x87Error(c);
}

function x87Error(c: Cpu): never {
  if ((c.cr0 & CR0_NE) !== 0) throw new CpuFault(MF);
  throw new MachineStop('unsupported',
    `pending x87 exception with CR0.NE = 0 at ${ripHex(c.rip)}: FERR#/IRQ 13 error reporting is not emulated`);
}

/** WAIT/FWAIT: #NM only when TS and MP are both set, then pending exceptions. */
function waitCheck(c: Cpu): void {
  if ((c.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) throw new CpuFault(NM);
  x87Pending(c);
}

/** FNINIT's effect (the data registers are left alone). */
export function fpuInit(c: Cpu): void {
  c.fpuCw = FCW_INIT;
  c.fpuSw = 0;
  c.fpuTw = FTW_EMPTY;
}

/** Wraps a no-wait operation into its waiting form (FSTSW, FSTCW, FINIT, FCLEX). */
function waiting(h: Handler): Handler {
  return (c) => { waitCheck(c); h(c); };
}

// ---- FNINIT / FNCLEX ---------------------------------------------------------

const fninit: Handler = (c) => { x87Check(c); fpuInit(c); };
const fnclex: Handler = (c) => { x87Check(c); c.fpuSw &= ~FSW_CLEAR; };
define(Mnemonic.Fninit, () => fninit);
define(Mnemonic.Finit, () => waiting(fninit));
define(Mnemonic.Fnclex, () => fnclex);
define(Mnemonic.Fclex, () => waiting(fnclex));

// ---- control word --------------------------------------------------------------

function compileFnstcw(ins: Instruction, ctx: Ctx): Handler {
  const addr = effAddr(ins, ctx.bits, 2);
  return (c) => { x87Check(c); c.write16(addr(c), c.fpuCw); };
}
define(Mnemonic.Fnstcw, compileFnstcw);
define(Mnemonic.Fstcw, (ins, ctx) => waiting(compileFnstcw(ins, ctx)));

// FLDCW is a waiting instruction: a pending exception is taken with the old masks.
define(Mnemonic.Fldcw, (ins, ctx) => {
  const addr = effAddr(ins, ctx.bits, 2);
  return (c) => {
    x87Check(c);
    x87Pending(c);
    c.fpuCw = c.read16(addr(c));
  };
});

// ---- status word ------------------------------------------------------------------

function compileFnstsw(ins: Instruction, ctx: Ctx): Handler {
  if (ins.code === Code.Fnstsw_AX || ins.code === Code.Fstsw_AX) {
    return (c) => { x87Check(c); setReg16(c, RAX, c.fpuSw); };
  }
  if (ins.op0Kind !== OpKind.Memory) return unsupportedHandler(ins, ctx, 'FSTSW form');
  const addr = effAddr(ins, ctx.bits, 2);
  return (c) => { x87Check(c); c.write16(addr(c), c.fpuSw); };
}
define(Mnemonic.Fnstsw, compileFnstsw);
define(Mnemonic.Fstsw, (ins, ctx) => waiting(compileFnstsw(ins, ctx)));

// ---- WAIT, FNOP, 287 no-ops, EMMS ---------------------------------------------------

define(Mnemonic.Wait, () => waitCheck);
define(Mnemonic.Fnop, () => (c) => { x87Check(c); x87Pending(c); });
// 387 and later ignore the 287's FNENI, FNDISI and FNSETPM (no-wait forms).
define([Mnemonic.Fneni, Mnemonic.Fndisi, Mnemonic.Fnsetpm], () => x87Check);
define(Mnemonic.Emms, () => () => { throw new CpuFault(UD); });

// ---- everything else: checked stop ----------------------------------------------------

function x87Stop(wait: boolean): (ins: Instruction, ctx: Ctx) => Handler {
  return (ins, ctx) => {
    const stop = unsupportedHandler(ins, ctx, 'x87 floating-point instruction (not implemented)');
    if (!wait) return (c) => { x87Check(c); stop(c); };
    return (c) => { x87Check(c); x87Pending(c); stop(c); };
  };
}

define([Mnemonic.Fnsave, Mnemonic.Fnstenv], x87Stop(false));
define([
  Mnemonic.F2xm1, Mnemonic.Fabs, Mnemonic.Fadd, Mnemonic.Faddp, Mnemonic.Fbld, Mnemonic.Fbstp, Mnemonic.Fchs,
  Mnemonic.Fcmovb, Mnemonic.Fcmovbe, Mnemonic.Fcmove, Mnemonic.Fcmovnb, Mnemonic.Fcmovnbe, Mnemonic.Fcmovne,
  Mnemonic.Fcmovnu, Mnemonic.Fcmovu, Mnemonic.Fcom, Mnemonic.Fcomi, Mnemonic.Fcomip, Mnemonic.Fcomp,
  Mnemonic.Fcompp, Mnemonic.Fcos, Mnemonic.Fdecstp, Mnemonic.Fdiv, Mnemonic.Fdivp, Mnemonic.Fdivr, Mnemonic.Fdivrp,
  Mnemonic.Ffree, Mnemonic.Ffreep, Mnemonic.Fiadd, Mnemonic.Ficom, Mnemonic.Ficomp, Mnemonic.Fidiv,
  Mnemonic.Fidivr, Mnemonic.Fild, Mnemonic.Fimul, Mnemonic.Fincstp, Mnemonic.Fist, Mnemonic.Fistp,
  Mnemonic.Fisub, Mnemonic.Fisubr, Mnemonic.Fld, Mnemonic.Fld1, Mnemonic.Fldenv, Mnemonic.Fldl2e, Mnemonic.Fldl2t,
  Mnemonic.Fldlg2, Mnemonic.Fldln2, Mnemonic.Fldpi, Mnemonic.Fldz, Mnemonic.Fmul, Mnemonic.Fmulp, Mnemonic.Fpatan,
  Mnemonic.Fprem, Mnemonic.Fprem1, Mnemonic.Fptan, Mnemonic.Frndint, Mnemonic.Frstor, Mnemonic.Fsave,
  Mnemonic.Fscale, Mnemonic.Fsin, Mnemonic.Fsincos, Mnemonic.Fsqrt, Mnemonic.Fst, Mnemonic.Fstenv, Mnemonic.Fstp,
  Mnemonic.Fstpnce, Mnemonic.Fsub, Mnemonic.Fsubp, Mnemonic.Fsubr, Mnemonic.Fsubrp, Mnemonic.Ftst, Mnemonic.Fucom,
  Mnemonic.Fucomi, Mnemonic.Fucomip, Mnemonic.Fucomp, Mnemonic.Fucompp, Mnemonic.Fxam, Mnemonic.Fxch,
  Mnemonic.Fxtract, Mnemonic.Fyl2x, Mnemonic.Fyl2xp1,
], x87Stop(true));
