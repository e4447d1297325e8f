// Flag instructions with privilege rules: CLI, STI, PUSHF/PUSHFD/PUSHFQ,
// POPF/POPFD/POPFQ, CLAC, STAC (SDM vol. 2 instruction pages).
//
// Choices:
// - Virtual-8086 mode extensions and protected-mode virtual interrupts
//   (CR4.VME/PVI) are not implemented (CR4 rejects them), so CLI/STI/PUSHF/
//   POPF take the IOPL-sensitive paths only: #GP(0) where the SDM would use
//   VIF.
// - STI that sets IF opens a one-instruction interrupt shadow. POPF that sets
//   IF or TF does not (as on hardware), but ends the block so the run loop
//   sees the new IF/TF at once.
// - POPF ignores the upper 32 bits of a 64-bit image (reserved, unaffected).

import { Code, Mnemonic, type Instruction } from 'iced-x86';
import type { Cpu } from '../cpu';
import { define, type Handler } from '../registry';
import { CpuFault, GP, UD } from '../fault';
import { getFlags, setSome, IF, VM, RF, AC, IOPL, TF } from '../flags';
import { push, peek, adjustSp } from '../stack';

/** Flags any POPF may write in the low 16 bits: CF PF AF ZF SF TF IF DF OF IOPL NT. */
const POPF_LOW = 0x7fd5;
/** Plus AC and ID for 32/64-bit POPF (RF, VM, VIF, VIP are never loaded). */
const POPF_WIDE = POPF_LOW | AC | (1 << 21);

function iopl(c: Cpu): number {
  return (c.flags >>> 12) & 3;
}

/** CLI/STI are allowed when IOPL ≥ CPL (protected mode) or IOPL = 3 (VM86); always in real mode. */
function checkIfChange(c: Cpu): void {
  if (!(c.cr0 & 1)) return;
  const ok = (c.flags & VM) ? iopl(c) === 3 : iopl(c) >= c.cpl;
  if (!ok) throw new CpuFault(GP, 0);
}

define(Mnemonic.Cli, () => (c) => {
  checkIfChange(c);
  setSome(c, IF, 0);
});

define(Mnemonic.Sti, () => (c) => {
  checkIfChange(c);
  if (!(c.flags & IF)) {
    setSome(c, IF, IF);
    c.intShadow = true;
  }
  c.exitBlock = true;
});

function stackSize(ins: Instruction): number {
  switch (ins.code) {
    case Code.Pushfw: case Code.Popfw: return 2;
    case Code.Pushfd: case Code.Popfd: return 4;
    default: return 8;
  }
}

function compilePushf(ins: Instruction): Handler {
  const size = stackSize(ins);
  return (c) => {
    if ((c.flags & VM) && iopl(c) < 3) throw new CpuFault(GP, 0);
    const f = getFlags(c);
    // The image has VM and RF clear (bits 16 and 17); a 16-bit push stores the low word.
    push(c, size, size === 2 ? f & 0xffff : f & ~(VM | RF), 0);
  };
}
define([Mnemonic.Pushf, Mnemonic.Pushfd, Mnemonic.Pushfq], compilePushf);

function compilePopf(ins: Instruction): Handler {
  const size = stackSize(ins);
  const base = size === 2 ? POPF_LOW : POPF_WIDE;
  return (c) => {
    const vm86 = (c.flags & VM) !== 0;
    if (vm86 && iopl(c) < 3) throw new CpuFault(GP, 0);
    const v = peek(c, 0, size);
    let mask = base;
    if (vm86) mask &= ~IOPL;
    else if (c.cpl > 0) {
      mask &= ~IOPL;
      if (c.cpl > iopl(c)) mask &= ~IF;
    }
    const old = getFlags(c);
    let nf = (old & ~mask) | (v & mask);
    if (size !== 2) nf &= ~RF;
    adjustSp(c, size);
    c.rflags = nf; // the setter flushes the TLB when AC changes (SMAP)
    if ((nf ^ old) & (IF | TF | AC)) c.exitBlock = true;
  };
}
define([Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Popfq], compilePopf);

// CLAC/STAC: SMAP's AC override, CPL 0 only (#UD otherwise, also in VM86 where CPL = 3).
function compileAc(ins: Instruction): Handler {
  const set = ins.mnemonic === Mnemonic.Stac;
  return (c) => {
    if (c.cpl !== 0) throw new CpuFault(UD);
    const f = getFlags(c);
    c.rflags = set ? f | AC : f & ~AC;
    c.exitBlock = true;
  };
}
define([Mnemonic.Clac, Mnemonic.Stac], compileAc);
