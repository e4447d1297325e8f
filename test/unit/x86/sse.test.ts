// SSE/SSE2 moves and packed integer instructions: availability (#UD/#NM by
// CR0.EM/TS and CR4.OSFXSR), 16-byte alignment #GP, data paths through XMM
// registers, the loops gcc emits for strlen/memset/memcpy, every lane op
// against a BigInt reference, and fault atomicity of page-crossing stores.
import { describe, it, expect } from 'vitest';
import { assemble, CODE_ADDR, DATA_ADDR } from '../../support/cpu-harness';
import { runWithIdt, xmmOf, setXmm, dwords, type FaultRunOptions } from '../../support/fault-harness';
import { Exit, type Cpu } from '../../../src/engine/x86/cpu';
import { BOOT_PML4 } from '../../../src/engine/boot';

const OSFXSR = 1 << 9, EM = 1 << 2, TS = 1 << 3;

function run64(src: string, opts: FaultRunOptions & { cr0?: number; cr4?: number } = {}) {
  return runWithIdt(assemble(src + '\nhlt', 'long64'), 'long64', {
    ...opts,
    setup: (c) => {
      c.cr4 = opts.cr4 ?? (c.cr4 | OSFXSR);
      c.cr0 |= opts.cr0 ?? 0;
      opts.setup?.(c);
    },
  });
}

const bytesUpTo = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i));

describe('SSE availability', () => {
  it('#UD when CR4.OSFXSR = 0', () => {
    const r = run64('movaps xmm0, xmm1', { cr4: 0x20 });
    expect(r.vector).toBe(6);
    expect(r.faultRip).toBe(BigInt(CODE_ADDR));
  });
  it('#UD when CR0.EM = 1, even with TS set (#UD has priority)', () => {
    expect(run64('pxor xmm0, xmm0', { cr0: EM }).vector).toBe(6);
    expect(run64('pxor xmm0, xmm0', { cr0: EM | TS }).vector).toBe(6);
    expect(run64('movd xmm0, eax', { cr0: TS, cr4: 0x20 }).vector).toBe(6);
  });
  it('#NM when CR0.TS = 1', () => {
    const r = run64('nop\nmovdqu xmm0, [rax]', { cr0: TS, regs: { rax: DATA_ADDR } });
    expect(r.vector).toBe(7);
    expect(r.faultRip).toBe(BigInt(CODE_ADDR + 1));
  });
  it('enabled by the guest itself: MOV CR4 sets OSFXSR, CLTS clears TS', () => {
    const r = run64(`
      mov rax, cr4
      or eax, 0x200
      mov cr4, rax
      clts
      movaps xmm0, xmm1`, {
      cr4: 0x20, cr0: TS, setup: (c) => setXmm(c, 1, [5, 6, 7, 8]),
    });
    expect(r.vector).toBeUndefined();
    expect(r.exit).toBe(Exit.Halted);
    expect(xmmOf(r.cpu, 0)).toEqual([5, 6, 7, 8]);
  });

  it('MOVNTI has no CR0/CR4 conditions', () => {
    const r = run64('movnti [rax], rcx', { cr0: TS | EM, cr4: 0x20, regs: { rax: DATA_ADDR, rcx: 0x1122334455667788n } });
    expect(r.vector).toBeUndefined();
    expect(r.exit).toBe(Exit.Halted);
    expect([...r.mem(DATA_ADDR, 8)]).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  });
  it('MMX forms are #UD (MMX is not advertised)', () => {
    expect(run64('pxor mm0, mm1').vector).toBe(6);
    expect(run64('movq mm0, [rax]', { regs: { rax: DATA_ADDR } }).vector).toBe(6);
    expect(run64('pmovmskb eax, mm1').vector).toBe(6);
  });
  it('SSE arithmetic: #NM first, then a clear unsupported stop', () => {
    expect(run64('addps xmm0, xmm1', { cr0: TS }).vector).toBe(7);
    const r = run64('mulsd xmm0, xmm1');
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/^unsupported instruction SSE floating-point arithmetic \(not implemented\) \(mulsd xmm0,xmm1\) at 0x100000/);
  });
});

describe('16-byte alignment', () => {
  it('MOVAPS/MOVDQA/PXOR/PSHUFD m128 misaligned → #GP(0); MOVUPS/MOVQ are fine', () => {
    for (const src of ['movaps xmm0, [rax]', 'movdqa xmm0, [rax]', 'pxor xmm0, [rax]', 'pshufd xmm0, [rax], 0',
      'movntdq [rax], xmm0', 'movapd [rax], xmm1']) {
      const r = run64(src, { regs: { rax: DATA_ADDR + 8 } });
      expect(r.vector, src).toBe(13);
      expect(r.errorCode, src).toBe(0);
      expect(r.faultRip, src).toBe(BigInt(CODE_ADDR));
    }
    for (const src of ['movups xmm0, [rax]', 'movdqu [rax], xmm0', 'movq xmm0, [rax]', 'movss xmm0, [rax]']) {
      const r = run64(src, { regs: { rax: DATA_ADDR + 1 } });
      expect(r.vector, src).toBeUndefined();
      expect(r.exit, src).toBe(Exit.Halted);
    }
  });
  it('a misaligned MOVDQA store leaves memory unchanged', () => {
    const r = run64('movdqa [rax], xmm0', {
      regs: { rax: DATA_ADDR + 4 }, data: [{ addr: DATA_ADDR, bytes: bytesUpTo(32, () => 0x5a) }],
      setup: (c) => setXmm(c, 0, [1, 2, 3, 4]),
    });
    expect(r.vector).toBe(13);
    expect([...r.mem(DATA_ADDR, 32)]).toEqual(new Array(32).fill(0x5a));
  });
});

describe('moves through XMM registers', () => {
  const data = [{ addr: DATA_ADDR, bytes: bytesUpTo(128, (i) => i) }];

  it('MOVDQU/MOVDQA/MOVAPS/MOVUPD load and store 16 bytes exactly', () => {
    const r = run64(`
      movdqu xmm0, [rax + 1]
      movdqa [rax + 0x40], xmm0
      movaps xmm9, xmm0
      movupd [rax + 0x51], xmm9
      hlt`, { regs: { rax: DATA_ADDR }, data });
    expect([...r.mem(DATA_ADDR + 0x40, 16)]).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect([...r.mem(DATA_ADDR + 0x50, 18)]).toEqual([0x50, ...Array.from({ length: 16 }, (_, i) => i + 1), 0x61]);
    expect(xmmOf(r.cpu, 9)).toEqual([0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d]);
  });

  it('MOVD/MOVQ between XMM and general registers/memory zero-extend', () => {
    const r = run64(`
      movd xmm1, ecx
      movq xmm2, rdx
      movd xmm3, [rax]
      movq xmm4, [rax + 8]
      movd esi, xmm2
      movq rdi, xmm2
      movd [rax + 0x40], xmm1
      movq [rax + 0x48], xmm2
      movq xmm5, xmm2
      movq xmm6, [rax + 3]
      movq [rax + 0x50], xmm4`, {
      regs: { rax: DATA_ADDR, rcx: 0x11223344, rdx: 0x8877665544332211n, rsi: -1, rdi: 0 }, data,
      setup: (c) => { for (const i of [1, 2, 3, 4, 5, 6]) setXmm(c, i, [-1, -1, -1, -1]); },
    });
    expect(xmmOf(r.cpu, 1)).toEqual([0x11223344, 0, 0, 0]);
    expect(xmmOf(r.cpu, 2)).toEqual([0x44332211, 0x88776655, 0, 0]);
    expect(xmmOf(r.cpu, 3)).toEqual([0x03020100, 0, 0, 0]);
    expect(xmmOf(r.cpu, 4)).toEqual([0x0b0a0908, 0x0f0e0d0c, 0, 0]);
    expect(xmmOf(r.cpu, 5)).toEqual([0x44332211, 0x88776655, 0, 0]);
    expect(xmmOf(r.cpu, 6)).toEqual([0x06050403, 0x0a090807, 0, 0]);
    expect(r.reg('rsi')).toBe(0x44332211n); // 32-bit write zero-extends
    expect(r.reg('rdi')).toBe(0x8877665544332211n);
    expect([...r.mem(DATA_ADDR + 0x40, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect([...r.mem(DATA_ADDR + 0x44, 4)]).toEqual([0x44, 0x45, 0x46, 0x47]); // untouched
    expect([...r.mem(DATA_ADDR + 0x48, 8)]).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    expect([...r.mem(DATA_ADDR + 0x50, 8)]).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('MOVQ xmm, xmm (66 0F D6 and F3 0F 7E) zeroes the upper quadword', () => {
    const r = run64('.byte 0x66, 0x0f, 0xd6, 0xc8\n.byte 0xf3, 0x0f, 0x7e, 0xd0', { // movq xmm0,xmm1 (D6) ; movq xmm2,xmm0 (7E)
      setup: (c) => { setXmm(c, 1, [1, 2, 3, 4]); setXmm(c, 0, [9, 9, 9, 9]); setXmm(c, 2, [7, 7, 7, 7]); },
    });
    expect(xmmOf(r.cpu, 1)).toEqual([1, 2, 3, 4]);
    expect(xmmOf(r.cpu, 0)).toEqual([1, 2, 0, 0]);
    expect(xmmOf(r.cpu, 2)).toEqual([1, 2, 0, 0]);
  });

  it('MOVSS/MOVSD: register merge, load zeroes, store writes the element', () => {
    const r = run64(`
      movss xmm3, xmm4
      movss xmm5, [rax]
      movss [rax + 0x40], xmm4
      movsd xmm6, xmm4
      movsd xmm7, [rax + 4]
      movsd [rax + 0x48], xmm4`, {
      regs: { rax: DATA_ADDR }, data,
      setup: (c) => {
        setXmm(c, 3, [1, 2, 3, 4]); setXmm(c, 4, [5, 6, 7, 8]);
        setXmm(c, 5, [-1, -1, -1, -1]); setXmm(c, 6, [1, 2, 3, 4]); setXmm(c, 7, [-1, -1, -1, -1]);
      },
    });
    expect(xmmOf(r.cpu, 3)).toEqual([5, 2, 3, 4]);
    expect(xmmOf(r.cpu, 5)).toEqual([0x03020100, 0, 0, 0]);
    expect([...r.mem(DATA_ADDR + 0x40, 8)]).toEqual([5, 0, 0, 0, 0x44, 0x45, 0x46, 0x47]);
    expect(xmmOf(r.cpu, 6)).toEqual([5, 6, 3, 4]);
    expect(xmmOf(r.cpu, 7)).toEqual([0x07060504, 0x0b0a0908, 0, 0]);
    expect([...r.mem(DATA_ADDR + 0x48, 8)]).toEqual([5, 0, 0, 0, 6, 0, 0, 0]);
  });

  it('MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVHLPS/MOVLHPS move the right halves', () => {
    const r = run64(`
      movlps xmm0, [rax]
      movhps xmm1, [rax + 8]
      movhps [rax + 0x40], xmm2
      movlpd [rax + 0x48], xmm2
      movhlps xmm3, xmm2
      movlhps xmm4, xmm2
      movhpd xmm5, [rax + 16]`, {
      regs: { rax: DATA_ADDR }, data,
      setup: (c) => {
        for (const i of [0, 1, 3, 4, 5]) setXmm(c, i, [0xa0 + i, 0xb0 + i, 0xc0 + i, 0xd0 + i]);
        setXmm(c, 2, [1, 2, 3, 4]);
      },
    });
    expect(xmmOf(r.cpu, 0)).toEqual([0x03020100, 0x07060504, 0xc0, 0xd0]);
    expect(xmmOf(r.cpu, 1)).toEqual([0xa1, 0xb1, 0x0b0a0908, 0x0f0e0d0c]);
    expect([...r.mem(DATA_ADDR + 0x40, 16)]).toEqual([3, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]);
    expect(xmmOf(r.cpu, 3)).toEqual([3, 4, 0xc3, 0xd3]);
    expect(xmmOf(r.cpu, 4)).toEqual([0xa4, 0xb4, 1, 2]);
    expect(xmmOf(r.cpu, 5)).toEqual([0xa5, 0xb5, 0x13121110, 0x17161514]);
  });

  it('MOVNTDQ/MOVNTPS/MOVNTI store like plain moves', () => {
    const r = run64(`
      movntdq [rax], xmm1
      movntps [rax + 16], xmm1
      movnti [rax + 32], ecx`, {
      regs: { rax: DATA_ADDR, rcx: 0xcafef00d },
      setup: (c) => setXmm(c, 1, [0x11111111, 0x22222222, 0x33333333, 0x44444444]),
    });
    const dv = new DataView(r.mem(DATA_ADDR, 40).buffer);
    expect([0, 4, 8, 12, 16, 20, 24, 28, 32].map((o) => dv.getUint32(o, true))).toEqual(
      [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0xcafef00d]);
  });

  it('works in 32-bit protected mode', () => {
    const code = assemble(`
      movdqu xmm7, [eax + 3]
      pxor xmm6, xmm6
      por xmm6, xmm7
      movd ebx, xmm6
      hlt`, 'prot32');
    const r = runWithIdt(code, 'prot32', { regs: { rax: DATA_ADDR }, data, setup: (c) => { c.cr4 |= OSFXSR; } });
    expect(r.vector).toBeUndefined();
    expect(r.reg('rbx')).toBe(0x06050403n);
    expect(xmmOf(r.cpu, 6)).toEqual([0x06050403, 0x0a090807, 0x0e0d0c0b, 0x1211100f]);
  });
});

describe('compiler-style loops', () => {
  it('strlen: PXOR / MOVDQA / PCMPEQB / PMOVMSKB', () => {
    const str = bytesUpTo(64, (i) => (i < 37 ? 0x41 + (i % 26) : 0));
    const r = run64(`
      pxor xmm0, xmm0
      mov rdx, rdi
    1:
      movdqa xmm1, [rdx]
      pcmpeqb xmm1, xmm0
      pmovmskb eax, xmm1
      add rdx, 16
      test eax, eax
      jz 1b`, { regs: { rdi: DATA_ADDR, rax: -1 }, data: [{ addr: DATA_ADDR, bytes: str }] });
    expect(r.reg('rax')).toBe(0xffe0n);
    expect(r.reg('rdx')).toBe(BigInt(DATA_ADDR + 48));
  });

  it('memset: byte broadcast (MOVD, PUNPCKLBW, PUNPCKLWD, PSHUFD) and MOVUPS stores', () => {
    const r = run64(`
      movzx eax, sil
      movd xmm0, eax
      punpcklbw xmm0, xmm0
      punpcklwd xmm0, xmm0
      pshufd xmm0, xmm0, 0
    1:
      movups [rdi], xmm0
      add rdi, 16
      sub rcx, 1
      jnz 1b`, { regs: { rsi: 0x1234ab, rdi: DATA_ADDR + 3, rcx: 4 }, data: [{ addr: DATA_ADDR, bytes: bytesUpTo(80, () => 0x11) }] });
    const m = r.mem(DATA_ADDR, 80);
    expect(m[2]).toBe(0x11);
    expect([...m.subarray(3, 67)]).toEqual(new Array(64).fill(0xab));
    expect(m[67]).toBe(0x11);
  });

  it('a hot loop (past the block-JIT threshold) with a RIP-relative constant', () => {
    const r = run64(`
      pxor xmm2, xmm2
      mov ecx, 100
    1:
      movdqa xmm1, [rip + mask]
      pand xmm1, xmm0
      paddd xmm2, xmm1
      sub ecx, 1
      jnz 1b
      jmp 2f
      .balign 16
    mask: .long 0xff, 0xff00, 0xff0000, 0xff000000
    2:`, { setup: (c) => setXmm(c, 0, [0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10]) });
    expect(r.vector).toBeUndefined();
    expect(xmmOf(r.cpu, 2)).toEqual([0x04 * 100, 0x0700 * 100, 0x0a0000 * 100, (0x0d000000 * 100) >>> 0]);
  });

  it('memcpy: MOVDQU loads, MOVDQA stores', () => {
    const src = bytesUpTo(64, (i) => (i * 7 + 3) & 0xff);
    const r = run64(`
    1:
      movdqu xmm0, [rsi]
      movdqu xmm1, [rsi + 16]
      movdqa [rdi], xmm0
      movdqa [rdi + 16], xmm1
      add rsi, 32
      add rdi, 32
      sub rcx, 1
      jnz 1b`, { regs: { rsi: DATA_ADDR + 5, rdi: DATA_ADDR + 0x1000, rcx: 2 }, data: [{ addr: DATA_ADDR + 5, bytes: src }] });
    expect([...r.mem(DATA_ADDR + 0x1000, 64)]).toEqual([...src]);
  });
});

// ---- lane ops against a BigInt reference ------------------------------------------

const M128 = (1n << 128n) - 1n;
const toBig = (d: number[]) => d.reduce((acc, v, i) => acc | (BigInt(v >>> 0) << BigInt(32 * i)), 0n);
const fromBig = (v: bigint) => [0, 1, 2, 3].map((i) => Number((v >> BigInt(32 * i)) & 0xffffffffn));
const lanes = (v: bigint, bits: number) =>
  Array.from({ length: 128 / bits }, (_, i) => (v >> BigInt(i * bits)) & ((1n << BigInt(bits)) - 1n));
const join = (l: bigint[], bits: number) =>
  l.reduce((acc, x, i) => acc | ((x & ((1n << BigInt(bits)) - 1n)) << BigInt(i * bits)), 0n);
const sx = (x: bigint, bits: number) => BigInt.asIntN(bits, x);
const zip = (a: bigint, b: bigint, bits: number, f: (x: bigint, y: bigint) => bigint) => {
  const la = lanes(a, bits), lb = lanes(b, bits);
  return join(la.map((x, i) => f(x, lb[i]!)), bits);
};
const ones = (bits: number) => (1n << BigInt(bits)) - 1n;

const A = [0x80ff7f01, 0xfffe0002, 0x7fffffff, 0xdeadbeef];
const B = [0x01017f01, 0x00028001, 0x00000001, 0xdeadbeef];

function laneRun(op: string, setup?: (c: Cpu) => void): number[] {
  const r = run64(`${op}\nhlt`, { setup: (c) => { setXmm(c, 0, A); setXmm(c, 1, B); setup?.(c); } });
  expect(r.vector, op).toBeUndefined();
  expect(r.exit, op).toBe(Exit.Halted);
  return xmmOf(r.cpu, 0);
}

describe('packed integer lane operations', () => {
  const a = toBig(A), b = toBig(B);
  const unpack = (bits: number, hi: boolean) => {
    const la = lanes(a, bits), lb = lanes(b, bits);
    const n = la.length / 2, base = hi ? n : 0;
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(la[base + i]!, lb[base + i]!);
    return join(out, bits);
  };
  const cases: [string, bigint][] = [
    ['pand xmm0, xmm1', a & b], ['andps xmm0, xmm1', a & b], ['pandn xmm0, xmm1', ~a & b & M128],
    ['andnpd xmm0, xmm1', ~a & b & M128], ['por xmm0, xmm1', a | b], ['orpd xmm0, xmm1', a | b],
    ['pxor xmm0, xmm1', a ^ b], ['xorps xmm0, xmm1', a ^ b],
    ...([8, 16, 32, 64] as const).flatMap((bits): [string, bigint][] => {
      const sfx = { 8: 'b', 16: 'w', 32: 'd', 64: 'q' }[bits];
      return [
        [`padd${sfx} xmm0, xmm1`, zip(a, b, bits, (x, y) => x + y)],
        [`psub${sfx} xmm0, xmm1`, zip(a, b, bits, (x, y) => x - y)],
      ];
    }),
    ...([8, 16, 32] as const).flatMap((bits): [string, bigint][] => {
      const sfx = { 8: 'b', 16: 'w', 32: 'd' }[bits];
      return [
        [`pcmpeq${sfx} xmm0, xmm1`, zip(a, b, bits, (x, y) => (x === y ? ones(bits) : 0n))],
        [`pcmpgt${sfx} xmm0, xmm1`, zip(a, b, bits, (x, y) => (sx(x, bits) > sx(y, bits) ? ones(bits) : 0n))],
      ];
    }),
    ['pminub xmm0, xmm1', zip(a, b, 8, (x, y) => (x < y ? x : y))],
    ['pmaxub xmm0, xmm1', zip(a, b, 8, (x, y) => (x > y ? x : y))],
    ['punpcklbw xmm0, xmm1', unpack(8, false)], ['punpckhbw xmm0, xmm1', unpack(8, true)],
    ['punpcklwd xmm0, xmm1', unpack(16, false)], ['punpckhwd xmm0, xmm1', unpack(16, true)],
    ['punpckldq xmm0, xmm1', unpack(32, false)], ['punpckhdq xmm0, xmm1', unpack(32, true)],
    ['punpcklqdq xmm0, xmm1', unpack(64, false)], ['punpckhqdq xmm0, xmm1', unpack(64, true)],
    ['unpcklps xmm0, xmm1', unpack(32, false)], ['unpckhpd xmm0, xmm1', unpack(64, true)],
    ['pshufd xmm0, xmm1, 0x1b', join([3, 2, 1, 0].map((i) => lanes(b, 32)[i]!), 32)],
    ['pshuflw xmm0, xmm1, 0xb1', join([1, 0, 3, 2, 4, 5, 6, 7].map((i) => lanes(b, 16)[i]!), 16)],
    ['pshufhw xmm0, xmm1, 0x4e', join([0, 1, 2, 3, 6, 7, 4, 5].map((i) => lanes(b, 16)[i]!), 16)],
    ['shufps xmm0, xmm1, 0x8d', join([lanes(a, 32)[1]!, lanes(a, 32)[3]!, lanes(b, 32)[0]!, lanes(b, 32)[2]!], 32)],
    ['shufpd xmm0, xmm1, 1', join([lanes(a, 64)[1]!, lanes(b, 64)[0]!], 64)],
  ];
  for (const [op, want] of cases) {
    it(op, () => expect(laneRun(op)).toEqual(fromBig(want)));
  }

  const shl = (bits: number, n: number) => zip(a, 0n, bits, (x) => (n >= bits ? 0n : x << BigInt(n)));
  const shr = (bits: number, n: number) => zip(a, 0n, bits, (x) => (n >= bits ? 0n : x >> BigInt(n)));
  const sar = (bits: number, n: number) => zip(a, 0n, bits, (x) => sx(x, bits) >> BigInt(Math.min(n, bits - 1)));
  const shifts: [string, bigint][] = [
    ['psllw xmm0, 3', shl(16, 3)], ['psllw xmm0, 16', 0n], ['psrlw xmm0, 15', shr(16, 15)],
    ['psraw xmm0, 4', sar(16, 4)], ['psraw xmm0, 200', sar(16, 200)],
    ['pslld xmm0, 31', shl(32, 31)], ['psrld xmm0, 32', 0n], ['psrld xmm0, 7', shr(32, 7)],
    ['psrad xmm0, 40', sar(32, 40)], ['psrad xmm0, 9', sar(32, 9)],
    ['psllq xmm0, 33', shl(64, 33)], ['psllq xmm0, 5', shl(64, 5)], ['psllq xmm0, 0', a],
    ['psrlq xmm0, 1', shr(64, 1)], ['psrlq xmm0, 63', shr(64, 63)], ['psrlq xmm0, 32', shr(64, 32)],
    ['pslldq xmm0, 5', (a << 40n) & M128], ['psrldq xmm0, 3', a >> 24n], ['psrldq xmm0, 17', 0n],
  ];
  for (const [op, want] of shifts) {
    it(op, () => expect(laneRun(op)).toEqual(fromBig(want)));
  }

  it('shift counts from a register use the whole low quadword', () => {
    expect(laneRun('psllq xmm0, xmm2', (c) => setXmm(c, 2, [4, 0, 0xffff, 0xffff]))).toEqual(fromBig(shl(64, 4)));
    expect(laneRun('psrlw xmm0, xmm2', (c) => setXmm(c, 2, [4, 1, 0, 0]))).toEqual([0, 0, 0, 0]);
    expect(laneRun('psrad xmm0, xmm2', (c) => setXmm(c, 2, [0x80000000, 0, 0, 0]))).toEqual(fromBig(sar(32, 31)));
    expect(laneRun('pslld xmm0, xmm2', (c) => setXmm(c, 2, [31, 0, 0, 0]))).toEqual(fromBig(shl(32, 31)));
  });

  it('shift count from aligned m128', () => {
    const r = run64('psrld xmm0, [rax]', {
      regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: dwords(3, 0, 0, 0) }],
      setup: (c) => setXmm(c, 0, A),
    });
    expect(xmmOf(r.cpu, 0)).toEqual(fromBig(shr(32, 3)));
  });

  it('PMOVMSKB, MOVMSKPS, MOVMSKPD zero-extend into the GPR', () => {
    const r = run64('pmovmskb eax, xmm0\nmovmskps rbx, xmm0\nmovmskpd ecx, xmm1', {
      regs: { rax: -1, rbx: -1, rcx: -1 }, setup: (c) => { setXmm(c, 0, A); setXmm(c, 1, B); },
    });
    const want = lanes(a, 8).reduce((m, x, i) => m | (Number(x >> 7n) << i), 0);
    expect(r.reg('rax')).toBe(BigInt(want));
    expect(r.reg('rbx')).toBe(0b1011n);
    expect(r.reg('rcx')).toBe(0b10n);
  });

  it('memory source operands for logic and compares', () => {
    const r = run64('pcmpeqd xmm0, [rax]\npand xmm3, [rax + 16]', {
      regs: { rax: DATA_ADDR },
      data: [{ addr: DATA_ADDR, bytes: dwords(0x80ff7f01, 0, 0x7fffffff, 1, 0xff00ff00, 0x0f0f0f0f, -1, 0) }],
      setup: (c) => { setXmm(c, 0, A); setXmm(c, 3, [-1, -1, 0x12345678, -1]); },
    });
    expect(xmmOf(r.cpu, 0)).toEqual([0xffffffff, 0, 0xffffffff, 0]);
    expect(xmmOf(r.cpu, 3)).toEqual([0xff00ff00, 0x0f0f0f0f, 0x12345678, 0]);
  });
});

describe('fault atomicity', () => {
  /** Makes the 2 MiB page at 0x400000 not present. */
  const unmap = (c: Cpu) => { c.mem.write32(BOOT_PML4 + 0x2000 + 2 * 8, 0); c.flushTlb(true); };

  for (const off of [8, 4, 12, 1]) {
    it(`a 16-byte store crossing into a not-present page (${off} bytes before it) writes nothing`, () => {
      const at = 0x400000 - off;
      const r = run64('movups [rax], xmm0', {
        regs: { rax: at }, data: [{ addr: at - 16, bytes: bytesUpTo(16 + off, () => 0x77) }],
        setup: (c) => { unmap(c); setXmm(c, 0, [1, 2, 3, 4]); },
      });
      expect(r.vector).toBe(14);
      expect(r.errorCode).toBe(2); // write, not present
      expect(r.cpu.cr2).toBe(0x400000);
      expect([...r.mem(at - 16, 16 + off)]).toEqual(new Array(16 + off).fill(0x77));
    });
  }

  it('a 16-byte load crossing into a not-present page leaves the register unchanged', () => {
    const r = run64('movdqu xmm0, [rax]', {
      regs: { rax: 0x400000 - 8 }, setup: (c) => { unmap(c); setXmm(c, 0, [1, 2, 3, 4]); },
    });
    expect(r.vector).toBe(14);
    expect(r.errorCode).toBe(0);
    expect(xmmOf(r.cpu, 0)).toEqual([1, 2, 3, 4]);
  });
});
