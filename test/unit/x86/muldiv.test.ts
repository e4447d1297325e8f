// Multiply and divide (exec/muldiv.ts): MUL, IMUL in its three forms, DIV,
// IDIV at every size, #DE for zero divisors and quotient overflow (with the
// faulting RIP pushed and nothing changed), and randomized exactness checks
// of the 64-bit (limb) and 32-bit paths against BigInt arithmetic. Table
// expectations were recorded under QEMU 7.2 TCG; the cases QEMU 7.2 cannot
// run (it dies of a host SIGFPE on 16-bit IDIV INT32_MIN/-1 and on 64-bit
// quotient overflow) are checked by hand below, per the SDM.
import { describe, it, expect } from 'vitest';
import { observe, expectedOf, runInt, DATA_ADDR, type IntCase } from '../../support/int-harness';

const cases: IntCase[] = [
  { name: "mul cl: AL*CL fits in AL: CF OF clear", code: "mul cl", regs: { rax: 0xaaaaaaaa00001207n, rcx: 0x10n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaa00000070n, rdx: 0x0n, rbx: 0x0n, rcx: 0x10n }, flags: 0x0 } },
  { name: "mul cl: product into AH sets CF OF", code: "mul cl", regs: { rax: 0x80n, rcx: 0x2n }, expect: { regs: { rax: 0x100n, rdx: 0x0n, rbx: 0x0n, rcx: 0x2n }, flags: 0x845 } },
  { name: "mul cl: 0xff*0xff", code: "mul cl", regs: { rax: 0xffn, rcx: 0xffn }, expect: { regs: { rax: 0xfe01n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffn }, flags: 0x801 } },
  { name: "mul ah", code: "mul ah", regs: { rax: 0x1280n }, expect: { regs: { rax: 0x900n, rdx: 0x0n, rbx: 0x0n, rcx: 0x0n }, flags: 0x845 } },
  { name: "mul cx: DX:AX, upper halves kept", code: "mul cx", regs: { rax: 0xaaaaaaaa0000ffffn, rdx: 0xaaaaaaaa00001234n, rcx: 0xffffn }, expect: { regs: { rax: 0xaaaaaaaa00000001n, rdx: 0xaaaaaaaa0000fffen, rbx: 0x0n, rcx: 0xffffn }, flags: 0x801 } },
  { name: "mul cx: no overflow", code: "mul cx", regs: { rax: 0x100n, rdx: 0x5555n, rcx: 0x10n }, flags: 0x8d5, expect: { regs: { rax: 0x1000n, rdx: 0x0n, rbx: 0x0n, rcx: 0x10n }, flags: 0x4 } },
  { name: "mul ecx: EDX:EAX zero-extended", code: "mul ecx", regs: { rax: 0xaaaaaaaaffffffffn, rdx: 0xaaaaaaaa00000000n, rcx: 0xffffffffn }, expect: { regs: { rax: 0x1n, rdx: 0xfffffffen, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x801 } },
  { name: "mul ecx: zero result", code: "mul ecx", regs: { rax: 0x80000000n, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x0n, rcx: 0x0n }, flags: 0x44 } },
  { name: "mul ecx: 0x80000000*2 = 2^32", code: "mul ecx", regs: { rax: 0x80000000n, rcx: 0x2n }, expect: { regs: { rax: 0x0n, rdx: 0x1n, rbx: 0x0n, rcx: 0x2n }, flags: 0x845 } },
  { name: "mul rcx: 128-bit product", code: "mul rcx", regs: { rax: 0xffffffffffffffffn, rcx: 0xffffffffffffffffn }, expect: { regs: { rax: 0x1n, rdx: 0xfffffffffffffffen, rbx: 0x0n, rcx: 0xffffffffffffffffn }, flags: 0x801 } },
  { name: "mul rcx: crosses 2^32", code: "mul rcx", regs: { rax: 0x100000001n, rcx: 0xffffffffn }, expect: { regs: { rax: 0xffffffffffffffffn, rdx: 0x0n, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x84 } },
  { name: "mul rcx: fits in RAX", code: "mul rcx", regs: { rax: 0x12345678n, rcx: 0x10n }, expect: { regs: { rax: 0x123456780n, rdx: 0x0n, rbx: 0x0n, rcx: 0x10n }, flags: 0x0 } },
  { name: "mul rcx: large mixed", code: "mul rcx", regs: { rax: 0x123456789abcdef0n, rcx: 0xfedcba9876543210n }, expect: { regs: { rax: 0x236d88fe5618cf00n, rdx: 0x121fa00ad77d7422n, rbx: 0x0n, rcx: 0xfedcba9876543210n }, flags: 0x805 } },
  { name: "imul cl: -128*2 = -256", code: "imul cl", regs: { rax: 0x80n, rcx: 0x2n }, expect: { regs: { rax: 0xff00n, rdx: 0x0n, rbx: 0x0n, rcx: 0x2n }, flags: 0x845 } },
  { name: "imul cl: -1*-1 = 1", code: "imul cl", regs: { rax: 0xffn, rcx: 0xffn }, flags: 0x8d5, expect: { regs: { rax: 0x1n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffn }, flags: 0x0 } },
  { name: "imul cl: 127*-1 fits", code: "imul cl", regs: { rax: 0x7fn, rcx: 0xffn }, expect: { regs: { rax: 0xff81n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffn }, flags: 0x84 } },
  { name: "imul cx: -32768*-1 overflows", code: "imul cx", regs: { rax: 0x8000n, rcx: 0xffffn }, expect: { regs: { rax: 0x8000n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffffn }, flags: 0x885 } },
  { name: "imul cx: sign extension into DX", code: "imul cx", regs: { rax: 0xfffen, rdx: 0x1234n, rcx: 0x3n }, expect: { regs: { rax: 0xfffan, rdx: 0xffffn, rbx: 0x0n, rcx: 0x3n }, flags: 0x84 } },
  { name: "imul ecx: INT_MIN*-1", code: "imul ecx", regs: { rax: 0x80000000n, rcx: 0xffffffffn }, expect: { regs: { rax: 0x80000000n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x885 } },
  { name: "imul ecx: -2*3 fits: EDX = -1", code: "imul ecx", regs: { rax: 0xfffffffen, rcx: 0x3n }, flags: 0x8d5, expect: { regs: { rax: 0xfffffffan, rdx: 0xffffffffn, rbx: 0x0n, rcx: 0x3n }, flags: 0x84 } },
  { name: "imul rcx: INT64_MIN*-1", code: "imul rcx", regs: { rax: 0x8000000000000000n, rcx: 0xffffffffffffffffn }, expect: { regs: { rax: 0x8000000000000000n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffffffffffffffffn }, flags: 0x885 } },
  { name: "imul rcx: -1*-1", code: "imul rcx", regs: { rax: 0xffffffffffffffffn, rcx: 0xffffffffffffffffn }, expect: { regs: { rax: 0x1n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffffffffffffffffn }, flags: 0x0 } },
  { name: "imul rcx: mixed signs, 128-bit", code: "imul rcx", regs: { rax: 0x123456789abcdef0n, rcx: 0xfedcba9876543210n }, expect: { regs: { rax: 0x236d88fe5618cf00n, rdx: 0xffeb49923cc09532n, rbx: 0x0n, rcx: 0xfedcba9876543210n }, flags: 0x805 } },
  { name: "imul rcx: small negative fits", code: "imul rcx", regs: { rax: 0xfffffffffffffff0n, rcx: 0x1000n }, expect: { regs: { rax: 0xffffffffffff0000n, rdx: 0xffffffffffffffffn, rbx: 0x0n, rcx: 0x1000n }, flags: 0x84 } },
  { name: "imul bx,cx: overflow", code: "imul bx, cx", regs: { rbx: 0xaaaaaaaa00004000n, rcx: 0x2n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0xaaaaaaaa00008000n, rcx: 0x2n }, flags: 0x885 } },
  { name: "imul bx,cx: fits, upper bits kept", code: "imul bx, cx", regs: { rbx: 0xaaaaaaaa0000fffen, rcx: 0x7fffn }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0xaaaaaaaa00000002n, rcx: 0x7fffn }, flags: 0x801 } },
  { name: "imul ebx,ecx: overflow, upper half cleared", code: "imul ebx, ecx", regs: { rbx: 0xaaaaaaaa00010000n, rcx: 0x10000n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x0n, rcx: 0x10000n }, flags: 0x845 } },
  { name: "imul ebx,ecx: -1*-1", code: "imul ebx, ecx", regs: { rbx: 0xffffffffn, rcx: 0xffffffffn }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x1n, rcx: 0xffffffffn }, flags: 0x0 } },
  { name: "imul ebx,ecx: product beyond 2^53", code: "imul ebx, ecx", regs: { rbx: 0x7fffffffn, rcx: 0x7fffffffn }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x1n, rcx: 0x7fffffffn }, flags: 0x801 } },
  { name: "imul rbx,rcx: crosses 2^32, fits", code: "imul rbx, rcx", regs: { rbx: 0x100000000n, rcx: 0x7fffffffn }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x7fffffff00000000n, rcx: 0x7fffffffn }, flags: 0x4 } },
  { name: "imul rbx,rcx: overflow", code: "imul rbx, rcx", regs: { rbx: 0x100000000n, rcx: 0x80000000n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x8000000000000000n, rcx: 0x80000000n }, flags: 0x885 } },
  { name: "imul rbx,rcx: INT64_MIN*1", code: "imul rbx, rcx", regs: { rbx: 0x8000000000000000n, rcx: 0x1n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x8000000000000000n, rcx: 0x1n }, flags: 0x84 } },
  { name: "imul rbx,rcx,-7", code: "imul rbx, rcx, -7", regs: { rcx: 0x123456789abcn }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0xffff8091a2b3c4dcn, rcx: 0x123456789abcn }, flags: 0x80 } },
  { name: "imul ebx,ecx,1000", code: "imul ebx, ecx, 1000", regs: { rbx: 0xaaaaaaaa00000000n, rcx: 0x4000000n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0xa0000000n, rcx: 0x4000000n }, flags: 0x885 } },
  { name: "imul bx,cx,-3", code: "imul bx, cx, -3", regs: { rbx: 0xaaaaaaaa00001111n, rcx: 0x2aaan }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0xaaaaaaaa00008002n, rcx: 0x2aaan }, flags: 0x80 } },
  { name: "imul rbx,rcx,0x7fffffff", code: "imul rbx, rcx, 0x7fffffff", regs: { rcx: 0x100000001n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x7fffffff7fffffffn, rcx: 0x100000001n }, flags: 0x4 } },
  { name: "div cl", code: "div cl", regs: { rax: 0xaaaaaaaa00000107n, rcx: 0x10n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaa00000710n, rdx: 0x0n, rbx: 0x0n, rcx: 0x10n }, flags: 0x8d5 } },
  { name: "div cl: quotient 0xff", code: "div cl", regs: { rax: 0xfeffn, rcx: 0xffn }, expect: { regs: { rax: 0xfeffn, rdx: 0x0n, rbx: 0x0n, rcx: 0xffn }, flags: 0x0 } },
  { name: "div cl: quotient overflow -> #DE", code: "div cl", regs: { rax: 0x100n, rcx: 0x1n }, expect: { regs: { rax: 0x100n, rdx: 0x0n, rbx: 0x0n, rcx: 0x1n }, flags: 0x0, vector: 0 } },
  { name: "div cl: by zero -> #DE", code: "div cl", regs: { rax: 0x5n, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x5n, rdx: 0x0n, rbx: 0x0n, rcx: 0x0n }, flags: 0x8d5, vector: 0 } },
  { name: "div cx", code: "div cx", regs: { rax: 0xaaaaaaaa00005678n, rdx: 0xaaaaaaaa00001234n, rcx: 0x9abcn }, expect: { regs: { rax: 0xaaaaaaaa00001e1en, rdx: 0xaaaaaaaa00002c70n, rbx: 0x0n, rcx: 0x9abcn }, flags: 0x0 } },
  { name: "div ecx: 64-bit dividend", code: "div ecx", regs: { rax: 0xaaaaaaaa00000000n, rdx: 0xaaaaaaaafffffffen, rcx: 0xffffffffn }, expect: { regs: { rax: 0xfffffffen, rdx: 0xfffffffen, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x0 } },
  { name: "div ecx: EDX >= divisor -> #DE", code: "div ecx", regs: { rax: 0x0n, rdx: 0x10n, rcx: 0x10n }, expect: { regs: { rax: 0x0n, rdx: 0x10n, rbx: 0x0n, rcx: 0x10n }, flags: 0x0, vector: 0 } },
  { name: "div rcx: 128-bit dividend", code: "div rcx", regs: { rax: 0x123456789abcdef0n, rdx: 0xfedcba9n, rcx: 0xfedcba987654321n }, expect: { regs: { rax: 0xfffffff8n, rdx: 0xa3d70a3d5e6f7f8n, rbx: 0x0n, rcx: 0xfedcba987654321n }, flags: 0x0 } },
  { name: "div rcx: by zero -> #DE", code: "div rcx", regs: { rax: 0x1n, rdx: 0x0n, rcx: 0x0n }, expect: { regs: { rax: 0x1n, rdx: 0x0n, rbx: 0x0n, rcx: 0x0n }, flags: 0x0, vector: 0 } },
  { name: "idiv cl: -100/7", code: "idiv cl", regs: { rax: 0xff9cn, rcx: 0x7n }, expect: { regs: { rax: 0xfef2n, rdx: 0x0n, rbx: 0x0n, rcx: 0x7n }, flags: 0x0 } },
  { name: "idiv cl: 100/-7", code: "idiv cl", regs: { rax: 0x64n, rcx: 0xf9n }, expect: { regs: { rax: 0x2f2n, rdx: 0x0n, rbx: 0x0n, rcx: 0xf9n }, flags: 0x0 } },
  { name: "idiv cl: -128/-1 -> #DE", code: "idiv cl", regs: { rax: 0xff80n, rcx: 0xffn }, expect: { regs: { rax: 0xff80n, rdx: 0x0n, rbx: 0x0n, rcx: 0xffn }, flags: 0x0, vector: 0 } },
  { name: "idiv cl: -256/2 = -128 fits", code: "idiv cl", regs: { rax: 0xff00n, rcx: 0x2n }, expect: { regs: { rax: 0x80n, rdx: 0x0n, rbx: 0x0n, rcx: 0x2n }, flags: 0x0 } },
  { name: "idiv cl: 128/1 -> #DE", code: "idiv cl", regs: { rax: 0x80n, rcx: 0x1n }, expect: { regs: { rax: 0x80n, rdx: 0x0n, rbx: 0x0n, rcx: 0x1n }, flags: 0x0, vector: 0 } },
  { name: "idiv cx: -7/2", code: "idiv cx", regs: { rax: 0xfff9n, rdx: 0xffffn, rcx: 0x2n }, expect: { regs: { rax: 0xfffdn, rdx: 0xffffn, rbx: 0x0n, rcx: 0x2n }, flags: 0x0 } },
  { name: "idiv ecx: -2^31/-1 as EDX:EAX = -2^31 -> #DE", code: "idiv ecx", regs: { rax: 0x80000000n, rdx: 0xffffffffn, rcx: 0xffffffffn }, expect: { regs: { rax: 0x80000000n, rdx: 0xffffffffn, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x0, vector: 0 } },
  { name: "idiv ecx: -100/7", code: "idiv ecx", regs: { rax: 0xffffff9cn, rdx: 0xffffffffn, rcx: 0x7n }, expect: { regs: { rax: 0xfffffff2n, rdx: 0xfffffffen, rbx: 0x0n, rcx: 0x7n }, flags: 0x0 } },
  { name: "idiv ecx: large dividend", code: "idiv ecx", regs: { rax: 0x12345678n, rdx: 0x123n, rcx: 0x76543210n }, expect: { regs: { rax: 0x275n, rdx: 0x55555528n, rbx: 0x0n, rcx: 0x76543210n }, flags: 0x0 } },
  { name: "idiv ecx: quotient beyond int32 -> #DE", code: "idiv ecx", regs: { rax: 0x0n, rdx: 0x1n, rcx: 0x1n }, expect: { regs: { rax: 0x0n, rdx: 0x1n, rbx: 0x0n, rcx: 0x1n }, flags: 0x0, vector: 0 } },
  { name: "idiv rcx: -100/7", code: "idiv rcx", regs: { rax: 0xffffffffffffff9cn, rdx: 0xffffffffffffffffn, rcx: 0x7n }, expect: { regs: { rax: 0xfffffffffffffff2n, rdx: 0xfffffffffffffffen, rbx: 0x0n, rcx: 0x7n }, flags: 0x0 } },
  { name: "idiv rcx: -7/-3", code: "idiv rcx", regs: { rax: 0xfffffffffffffff9n, rdx: 0xffffffffffffffffn, rcx: 0xfffffffffffffffdn }, expect: { regs: { rax: 0x2n, rdx: 0xffffffffffffffffn, rbx: 0x0n, rcx: 0xfffffffffffffffdn }, flags: 0x0 } },
  { name: "mul dword ptr [rbx]", code: "mul dword ptr [rbx]", regs: { rbx: 'scratch', rax: 0x1234567n, rdx: 0x10n, rcx: 0x0n }, mem: '81422418ff00807f', expect: { regs: { rax: 0x152686e7n, rdx: 0x1b77c3n, rbx: 'scratch+0', rcx: 0x0n }, flags: 0x805, mem: '81422418ff00807f' } },
  { name: "imul qword ptr [rbx]", code: "imul qword ptr [rbx]", regs: { rbx: 'scratch', rax: 0x1234567n, rdx: 0x10n, rcx: 0x0n }, mem: '81422418ff00807f', expect: { regs: { rax: 0xeebd995c152686e7n, rdx: 0x911111n, rbx: 'scratch+0', rcx: 0x0n }, flags: 0x885, mem: '81422418ff00807f' } },
  { name: "div word ptr [rbx+1]", code: "div word ptr [rbx+1]", regs: { rbx: 'scratch', rax: 0x1234567n, rdx: 0x10n, rcx: 0x0n }, mem: '81422418ff00807f', expect: { regs: { rax: 0x1230072n, rdx: 0x2003n, rbx: 'scratch+0', rcx: 0x0n }, flags: 0x0, mem: '81422418ff00807f' } },
  { name: "idiv byte ptr [rbx+3]", code: "idiv byte ptr [rbx+3]", regs: { rbx: 'scratch', rax: 0x1234567n, rdx: 0x10n, rcx: 0x0n }, mem: '81422418ff00807f', expect: { regs: { rax: 0x1234567n, rdx: 0x10n, rbx: 'scratch+0', rcx: 0x0n }, flags: 0x0, vector: 0, mem: '81422418ff00807f' } },
  { name: "imul ecx, dword ptr [rbx+4], 5", code: "imul ecx, dword ptr [rbx+4], 5", regs: { rbx: 'scratch', rax: 0x1234567n, rdx: 0x10n, rcx: 0x0n }, mem: '81422418ff00807f', expect: { regs: { rax: 0x1234567n, rdx: 0x10n, rbx: 'scratch+0', rcx: 0x7d8004fbn }, flags: 0x801, mem: '81422418ff00807f' } },
  { name: "32-bit mode: mul ecx", mode: 'prot32', code: "mul ecx", regs: { rax: 0xffffffffn, rcx: 0xffffffffn }, expect: { regs: { rax: 0x1n, rdx: 0xfffffffen, rbx: 0x0n, rcx: 0xffffffffn }, flags: 0x801 } },
  { name: "32-bit mode: idiv ecx", mode: 'prot32', code: "idiv ecx", regs: { rax: 0xffffff9cn, rdx: 0xffffffffn, rcx: 0xf9n }, expect: { regs: { rax: 0x0n, rdx: 0xffffff9cn, rbx: 0x0n, rcx: 0xf9n }, flags: 0x0 } },
  { name: "32-bit mode: imul ebx, ecx, -2", mode: 'prot32', code: "imul ebx, ecx, -2", regs: { rcx: 0x40000000n }, expect: { regs: { rax: 0x0n, rdx: 0x0n, rbx: 0x80000000n, rcx: 0x40000000n }, flags: 0x84 } },
  { name: "32-bit mode: div ecx", mode: 'prot32', code: "div ecx", regs: { rax: 0x1n, rcx: 0x0n }, expect: { regs: { rax: 0x1n, rdx: 0x0n, rbx: 0x0n, rcx: 0x0n }, flags: 0x0, vector: 0 } },
];

/** Deterministic 64-bit pseudo-random values (xorshift64*), biased towards edge patterns. */
function randoms(n: number, seed: bigint): bigint[] {
  const out: bigint[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x >> 12n; x ^= (x << 25n) & 0xffffffffffffffffn; x ^= x >> 27n;
    let v = (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
    if (i % 5 === 1) v &= 0xffffffffn;
    if (i % 7 === 3) v |= 0xffffffff00000000n;
    if (i % 11 === 5) v >>= 40n;
    out.push(v);
  }
  return out;
}

function le64(values: bigint[]): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true));
  return b;
}

const M64 = (1n << 64n) - 1n;
const s64 = (v: bigint) => BigInt.asIntN(64, v);

describe('multiply and divide', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('delivers #DE with the divide as the return address, in every mode', () => {
    for (const mode of ['real', 'prot32', 'long64'] as const) {
      const reg = mode === 'real' ? 'cx' : 'ecx';
      const r = runInt(`mov ${reg}, 0\nnop\ndiv ${reg}\nhlt`, mode, { regs: { rax: 0x1234n, rdx: 0n } });
      expect(r.vector, mode).toBe(0);
      const divAt = BigInt(r.codeStart + (mode === 'real' ? 3 : 5) + 1);
      expect(r.faultRip, mode).toBe(divAt);
      expect(r.reg('rax') & 0xffffn, mode).toBe(0x1234n);
    }
  });

  it('#DE for 16-bit IDIV of INT32_MIN by -1 and for 64-bit quotient overflow', () => {
    const cases16 = runInt('idiv cx\nhlt', 'long64', { regs: { rax: 0n, rdx: 0x8000n, rcx: 0xffffn } });
    expect(cases16.vector).toBe(0);
    expect(cases16.reg('rdx')).toBe(0x8000n);
    const min64 = runInt('idiv rcx\nhlt', 'long64', { regs: { rax: 1n << 63n, rdx: M64, rcx: M64 } });
    expect(min64.vector).toBe(0);
    expect(min64.reg('rax')).toBe(1n << 63n);
    const big = runInt('div rcx\nhlt', 'long64', { regs: { rax: 0n, rdx: 3n, rcx: 3n } });
    expect(big.vector).toBe(0);
    const fits = runInt('div rcx\nhlt', 'long64', { regs: { rax: 0n, rdx: 2n, rcx: 3n } });
    expect(fits.vector).toBe(-1);
    expect(fits.reg('rax')).toBe(((2n << 64n) / 3n) & M64);
    expect(fits.reg('rdx')).toBe((2n << 64n) % 3n);
  });

  it('computes 64-bit MUL, IMUL (1 and 2 operands), DIV and IDIV exactly', () => {
    const a = randoms(64, 0x9e3779b97f4a7c15n), b = randoms(64, 0x1234567n);
    const n = a.length;
    const pairs: bigint[] = [];
    for (let i = 0; i < n; i++) { pairs.push(a[i]!, b[i]! | 1n); }
    const OUT = DATA_ADDR + 0x10000;
    const r = runInt(`
      mov rsi, ${DATA_ADDR}
      mov rdi, ${OUT}
      mov r8, ${n}
    1:
      mov rax, [rsi]
      mov rcx, [rsi + 8]
      mul rcx
      mov [rdi], rax
      mov [rdi + 8], rdx
      setc byte ptr [rdi + 64]
      mov rax, [rsi]
      imul rcx
      mov [rdi + 16], rax
      mov [rdi + 24], rdx
      seto byte ptr [rdi + 65]
      mov rbx, [rsi]
      imul rbx, rcx
      mov [rdi + 32], rbx
      setc byte ptr [rdi + 66]
      mov rax, [rsi]
      xor edx, edx
      div rcx
      mov [rdi + 40], rax
      mov [rdi + 48], rdx
      mov rax, [rsi]
      cqo
      idiv rcx
      mov [rdi + 56], rax
      mov [rdi + 72], rdx
      add rsi, 16
      add rdi, 80
      dec r8
      jnz 1b
      hlt`, 'long64', { data: [{ addr: DATA_ADDR, bytes: le64(pairs) }] });
    expect(r.vector).toBe(-1);
    const out = r.mem(OUT, n * 80);
    const dv = new DataView(out.buffer, out.byteOffset);
    for (let i = 0; i < n; i++) {
      const x = a[i]!, y = b[i]! | 1n, o = i * 80;
      const q = (k: number) => dv.getBigUint64(o + k, true);
      const u = x * y, s = s64(x) * s64(y);
      const got = [q(0), q(8), out[o + 64], q(16), q(24), out[o + 65], q(32), out[o + 66], q(40), q(48), q(56), q(72)];
      const sOver = s !== s64(s & M64) ? 1 : 0;
      const want = [u & M64, u >> 64n, u >> 64n ? 1 : 0, s & M64, (s >> 64n) & M64, sOver, s & M64, sOver,
        x / y, x % y, BigInt.asUintN(64, s64(x) / s64(y)), BigInt.asUintN(64, s64(x) % s64(y))];
      expect(got, `a=${x.toString(16)} b=${y.toString(16)}`).toEqual(want);
    }
  });

  it('computes 32-bit MUL, IMUL and 64/32 DIV, IDIV exactly', () => {
    const a = randoms(64, 0xabcdefn).map((v) => v & 0xffffffffn), b = randoms(64, 0x5151n).map((v) => (v >> 7n) & 0xffffffffn | 1n);
    const n = a.length;
    const OUT = DATA_ADDR + 0x10000;
    const words: bigint[] = [];
    for (let i = 0; i < n; i++) words.push(a[i]! | (b[i]! << 32n));
    const r = runInt(`
      mov esi, ${DATA_ADDR}
      mov edi, ${OUT}
      mov ebp, ${n}
    1:
      mov eax, [esi]
      mov ecx, [esi + 4]
      mul ecx
      mov [edi], eax
      mov [edi + 4], edx
      mov eax, [esi]
      imul ecx
      mov [edi + 8], eax
      mov [edi + 12], edx
      mov ebx, [esi]
      imul ebx, ecx
      mov [edi + 16], ebx
      seto byte ptr [edi + 40]
      mov eax, [esi]
      mov edx, [esi + 4]
      shr edx, 1
      mov ecx, edx
      or ecx, 0x80000000
      div ecx
      mov [edi + 20], eax
      mov [edi + 24], edx
      mov eax, [esi]
      cdq
      mov ecx, [esi + 4]
      idiv ecx
      mov [edi + 28], eax
      mov [edi + 32], edx
      add esi, 8
      add edi, 48
      dec ebp
      jnz 1b
      hlt`, 'prot32', { data: [{ addr: DATA_ADDR, bytes: le64(words) }] });
    expect(r.vector).toBe(-1);
    const out = r.mem(OUT, n * 48);
    const dv = new DataView(out.buffer, out.byteOffset);
    const s32 = (v: bigint) => BigInt.asIntN(32, v);
    const M32 = 0xffffffffn;
    for (let i = 0; i < n; i++) {
      const x = a[i]!, y = b[i]!, o = i * 48;
      const w = (k: number) => BigInt(dv.getUint32(o + k, true));
      const u = x * y, s = s32(x) * s32(y);
      const hi = y >> 1n, d = hi | 0x80000000n, num = (hi << 32n) | x;
      const got = [w(0), w(4), w(8), w(12), w(16), out[o + 40], w(20), w(24), w(28), w(32)];
      const want = [u & M32, u >> 32n, BigInt.asUintN(32, s), BigInt.asUintN(32, s >> 32n), BigInt.asUintN(32, s),
        s !== s32(s) ? 1 : 0, num / d, num % d, BigInt.asUintN(32, s32(x) / s32(y)), BigInt.asUintN(32, s32(x) % s32(y))];
      expect(got, `a=${x.toString(16)} b=${y.toString(16)}`).toEqual(want);
    }
  });
});
