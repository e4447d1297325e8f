// Decimal arithmetic adjustments: DAA, DAS, AAA, AAS, AAM, AAD. None exists
// in 64-bit mode (iced decodes them as invalid there: #UD).
//
// Undefined flags, matching QEMU 7.2 TCG (its int_helper.c, checked by
// running under qemu-system-x86_64 -accel tcg):
// - DAA/DAS: OF = 0.
// - AAA/AAS: OF, SF, ZF, PF keep their previous values.
// - AAM/AAD: CF = OF = AF = 0 (SF, ZF, PF from AL are defined).
// AAM with an immediate of 0 raises #DE.

import { Mnemonic, type Instruction } from 'iced-x86';
import { define, type Handler } from '../registry';
import { CF, AF, getCF, getAF, setSome, szp } from '../flags';
import { CpuFault, DE } from '../fault';
import { RAX } from '../regs';
import { putArith } from './intutil';

define(Mnemonic.Daa, () => (c) => {
  const cf = getCF(c), af = getAF(c);
  const old = c.rl[RAX]! & 0xff;
  let al = old, f = 0;
  if ((al & 0x0f) > 9 || af) { al = (al + 6) & 0xff; f |= AF; }
  if (old > 0x99 || cf) { al = (al + 0x60) & 0xff; f |= CF; }
  c.rl[RAX] = (c.rl[RAX]! & ~0xff) | al;
  putArith(c, f | szp(1, al, 0));
});

define(Mnemonic.Das, () => (c) => {
  const cf = getCF(c), af = getAF(c);
  const old = c.rl[RAX]! & 0xff;
  let al = old, f = 0;
  if ((al & 0x0f) > 9 || af) {
    f |= AF;
    if (al < 6 || cf) f |= CF;
    al = (al - 6) & 0xff;
  }
  if (old > 0x99 || cf) { al = (al - 0x60) & 0xff; f |= CF; }
  c.rl[RAX] = (c.rl[RAX]! & ~0xff) | al;
  putArith(c, f | szp(1, al, 0));
});

function compileAsciiAdjust(ins: Instruction): Handler {
  const add = ins.mnemonic === Mnemonic.Aaa;
  return (c) => {
    const ax = c.rl[RAX]!;
    let al = ax & 0xff, ah = (ax >>> 8) & 0xff;
    let f: number;
    if ((al & 0x0f) > 9 || getAF(c)) {
      // AX ± 0x106: the carry/borrow out of AL reaches AH too.
      if (add) { ah = (ah + 1 + (al > 0xf9 ? 1 : 0)) & 0xff; al = (al + 6) & 0x0f; }
      else { ah = (ah - 1 - (al < 6 ? 1 : 0)) & 0xff; al = (al - 6) & 0x0f; }
      f = CF | AF;
    } else {
      al &= 0x0f;
      f = 0;
    }
    c.rl[RAX] = (ax & ~0xffff) | (ah << 8) | al;
    setSome(c, CF | AF, f);
  };
}
define([Mnemonic.Aaa, Mnemonic.Aas], compileAsciiAdjust);

define(Mnemonic.Aam, (ins) => {
  const base = ins.immediate8;
  if (base === 0) return () => { throw new CpuFault(DE); };
  return (c) => {
    const al = c.rl[RAX]! & 0xff;
    const q = Math.floor(al / base), r = al % base;
    c.rl[RAX] = (c.rl[RAX]! & ~0xffff) | (q << 8) | r;
    putArith(c, szp(1, r, 0));
  };
});

define(Mnemonic.Aad, (ins) => {
  const base = ins.immediate8;
  return (c) => {
    const ax = c.rl[RAX]!;
    const al = (((ax >>> 8) & 0xff) * base + (ax & 0xff)) & 0xff;
    c.rl[RAX] = (ax & ~0xffff) | al;
    putArith(c, szp(1, al, 0));
  };
});
