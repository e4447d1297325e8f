// Decimal adjustments (exec/bcd.ts): DAA, DAS, AAA, AAS, AAM, AAD with AF/CF
// inputs and the undefined flags chosen in bcd.ts; AAM 0 raises #DE; in
// 64-bit mode all six are #UD. Table expectations were recorded under QEMU
// 7.2 TCG (compatibility mode) and agree with the SDM's pseudocode.
import { describe, it, expect } from 'vitest';
import { observe, expectedOf, runInt, type IntCase } from '../../support/int-harness';

const cases: IntCase[] = [
  { name: "daa: both adjustments, result 0 (OF cleared)", mode: 'prot32', code: "daa", regs: { rax: 0x1234569an }, flags: 0x800, expect: { regs: { rax: 0x12345600n }, flags: 0x55 } },
  { name: "daa: low nibble only", mode: 'prot32', code: "daa", regs: { rax: 0xbn }, expect: { regs: { rax: 0x11n }, flags: 0x14 } },
  { name: "daa: AF in", mode: 'prot32', code: "daa", regs: { rax: 0x12n }, flags: 0x10, expect: { regs: { rax: 0x18n }, flags: 0x14 } },
  { name: "daa: CF in", mode: 'prot32', code: "daa", regs: { rax: 0x12n }, flags: 0x1, expect: { regs: { rax: 0x72n }, flags: 0x5 } },
  { name: "daa: no adjustment keeps AF CF clear", mode: 'prot32', code: "daa", regs: { rax: 0x45n }, flags: 0x8c4, expect: { regs: { rax: 0x45n }, flags: 0x0 } },
  { name: "daa: 0x9f", mode: 'prot32', code: "daa", regs: { rax: 0x9fn }, expect: { regs: { rax: 0x5n }, flags: 0x15 } },
  { name: "das: 0x9a", mode: 'prot32', code: "das", regs: { rax: 0x9an }, expect: { regs: { rax: 0x34n }, flags: 0x11 } },
  { name: "das: borrow from low nibble with al < 6", mode: 'prot32', code: "das", regs: { rax: 0x3n }, flags: 0x10, expect: { regs: { rax: 0xfdn }, flags: 0x91 } },
  { name: "das: CF in", mode: 'prot32', code: "das", regs: { rax: 0x45n }, flags: 0x1, expect: { regs: { rax: 0xe5n }, flags: 0x81 } },
  { name: "das: no adjustment", mode: 'prot32', code: "das", regs: { rax: 0x45n }, flags: 0x8c4, expect: { regs: { rax: 0x45n }, flags: 0x0 } },
  { name: "aaa: adjust, carries into AH", mode: 'prot32', code: "aaa", regs: { rax: 0x1fan }, flags: 0x8c4, expect: { regs: { rax: 0x300n }, flags: 0x8d5 } },
  { name: "aaa: AF in", mode: 'prot32', code: "aaa", regs: { rax: 0x203n }, flags: 0x10, expect: { regs: { rax: 0x309n }, flags: 0x11 } },
  { name: "aaa: no adjustment clears AF CF, keeps SF ZF PF OF", mode: 'prot32', code: "aaa", regs: { rax: 0x235n }, flags: 0x8d5, expect: { regs: { rax: 0x30bn }, flags: 0x8d5 } },
  { name: "aaa: al=0xff", mode: 'prot32', code: "aaa", regs: { rax: 0xffffn }, expect: { regs: { rax: 0x105n }, flags: 0x11 } },
  { name: "aas: adjust, borrows from AH", mode: 'prot32', code: "aas", regs: { rax: 0x203n }, flags: 0x10, expect: { regs: { rax: 0xdn }, flags: 0x11 } },
  { name: "aas: low nibble > 9", mode: 'prot32', code: "aas", regs: { rax: 0xan }, expect: { regs: { rax: 0xff04n }, flags: 0x11 } },
  { name: "aas: no adjustment", mode: 'prot32', code: "aas", regs: { rax: 0x505n }, flags: 0x8d5, expect: { regs: { rax: 0x30fn }, flags: 0x8d5 } },
  { name: "aam", mode: 'prot32', code: "aam", regs: { rax: 0x55550063n }, flags: 0x8d5, expect: { regs: { rax: 0x55550909n }, flags: 0x4 } },
  { name: "aam 16", mode: 'prot32', code: "aam 16", regs: { rax: 0x555500fen }, expect: { regs: { rax: 0x55550f0en }, flags: 0x0 } },
  { name: "aam: result 0", mode: 'prot32', code: "aam", regs: { rax: 0x0n }, flags: 0x801, expect: { regs: { rax: 0x0n }, flags: 0x44 } },
  { name: "aad", mode: 'prot32', code: "aad", regs: { rax: 0x55550907n }, flags: 0x8d5, expect: { regs: { rax: 0x55550061n }, flags: 0x0 } },
  { name: "aad 16", mode: 'prot32', code: "aad 16", regs: { rax: 0x55550f0fn }, expect: { regs: { rax: 0x555500ffn }, flags: 0x84 } },
  { name: "aad: wraps to 0", mode: 'prot32', code: "aad", regs: { rax: 0x1908n }, expect: { regs: { rax: 0x2n }, flags: 0x0 } },
  { name: "aam 0: #DE", mode: 'prot32', code: "aam 0", regs: { rax: 0x1234n }, flags: 0x8d5, expect: { regs: { rax: 0x1234n }, flags: 0x8d5, vector: 0 } },
];

describe('decimal adjustments', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('adds packed BCD in real mode: 0x38 + 0x45 = 0x83', () => {
    const r = runInt('mov al, 0x38\nadd al, 0x45\ndaa\nhlt', 'real', { regs: { rax: 0xff00n } });
    expect(r.reg('rax')).toBe(0xff83n);
    expect(r.flags & 0x11).toBe(0x10); // AF from the low-digit adjustment, no decimal carry
  });

  it('is invalid in 64-bit mode', () => {
    for (const b of ['0x27', '0x2f', '0x37', '0x3f', '0xd4, 0x0a', '0xd5, 0x0a']) {
      const r = runInt(`.byte ${b}\nhlt`, 'long64');
      expect(r.vector, b).toBe(6);
    }
  });
});
