// x87 control instructions (FNINIT, FNSTCW, FLDCW, FNSTSW, FNCLEX, FWAIT),
// their #NM/#MF conditions, EMMS, and the FXSAVE/FXRSTOR/LDMXCSR/STMXCSR/
// XSAVE/XRSTOR state images byte by byte.
import { describe, it, expect } from 'vitest';
import { assemble, CODE_ADDR, DATA_ADDR } from '../../support/cpu-harness';
import { runWithIdt, xmmOf, setXmm, dwords, type FaultRunOptions } from '../../support/fault-harness';
import { Exit, type Cpu } from '../../../src/engine/x86/cpu';
import { BOOT_PML4 } from '../../../src/engine/boot';

const PAE = 1 << 5, OSFXSR = 1 << 9, OSXSAVE = 1 << 18, MP = 1 << 1, EM = 1 << 2, TS = 1 << 3, NE = 1 << 5;

type Opts = FaultRunOptions & { cr0?: number; cr4?: number };

function run(src: string, mode: 'long64' | 'prot32', opts: Opts = {}) {
  return runWithIdt(assemble(src + '\nhlt', mode), mode, {
    ...opts,
    setup: (c) => {
      c.cr4 = opts.cr4 ?? (c.cr4 | OSFXSR);
      c.cr0 |= opts.cr0 ?? 0;
      opts.setup?.(c);
    },
  });
}
const run64 = (src: string, opts: Opts = {}) => run(src, 'long64', opts);

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);

describe('x87 control instructions', () => {
  it('FNINIT sets FCW/FSW/FTW; FNSTCW, FNSTSW m16 and AX store them', () => {
    const r = run64(`
      fninit
      fnstcw [rax]
      fnstsw [rax + 2]
      fnstsw ax`, {
      regs: { rax: DATA_ADDR, rbx: 0 }, data: [{ addr: DATA_ADDR, bytes: new Uint8Array(8).fill(0xee) }],
      setup: (c) => { c.fpuCw = 0x1234; c.fpuSw = 0x5678; c.fpuTw = 0; },
    });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR, 6)]).toEqual([0x7f, 0x03, 0, 0, 0xee, 0xee]);
    expect(r.reg('rax')).toBe(BigInt(DATA_ADDR) & ~0xffffn); // AX = FSW = 0, the rest of RAX kept
    expect(r.cpu.fpuTw).toBe(0xffff);
  });

  it('FLDCW loads all 16 bits; FNSTCW reads them back', () => {
    const r = run64('fldcw [rax]\nfnstcw [rax + 2]', {
      regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: Uint8Array.of(0x7f, 0x0e, 0, 0) }],
    });
    expect(r.cpu.fpuCw).toBe(0x0e7f);
    expect(u16(r.mem(DATA_ADDR, 4), 2)).toBe(0x0e7f);
  });

  it('FNCLEX clears the exception flags, ES and B but keeps C0-C3 and TOP', () => {
    const r = run64('fnclex', { setup: (c) => { c.fpuSw = 0xffff; } });
    expect(r.cpu.fpuSw).toBe(0x7f00);
  });

  it('#NM: CR0.EM or CR0.TS for FN* instructions; FWAIT only with TS and MP', () => {
    expect(run64('fninit', { cr0: EM }).vector).toBe(7);
    expect(run64('fnstsw ax', { cr0: TS }).vector).toBe(7);
    expect(run64('fnstcw [rax]', { cr0: TS, regs: { rax: DATA_ADDR } }).vector).toBe(7);
    expect(run64('fldcw [rax]', { cr0: EM, regs: { rax: DATA_ADDR } }).vector).toBe(7);
    expect(run64('fnclex', { cr0: TS }).vector).toBe(7);
    const w1 = run64('fwait', { cr0: TS });
    expect(w1.vector).toBeUndefined();
    expect(w1.exit).toBe(Exit.Halted);
    expect(run64('fwait', { cr0: EM }).vector).toBeUndefined();
    const w2 = run64('nop\nfwait', { cr0: TS | MP });
    expect(w2.vector).toBe(7);
    expect(w2.faultRip).toBe(BigInt(CODE_ADDR + 1));
  });

  it('a pending unmasked exception: #MF at FWAIT and FLDCW (CR0.NE = 1), not at FNSTSW/FNCLEX', () => {
    const pending = (c: Cpu) => { c.fpuSw = 0x0081; c.fpuCw = 0x037e; };
    const w = run64('nop\nfwait', { cr0: NE, setup: pending });
    expect(w.vector).toBe(16);
    expect(w.faultRip).toBe(BigInt(CODE_ADDR + 1));
    expect(w.errorCode).toBeUndefined();
    expect(run64('fldcw [rax]', { cr0: NE, setup: pending, regs: { rax: DATA_ADDR } }).vector).toBe(16);
    const s = run64('fnstsw ax\nfnclex\nfwait', { cr0: NE, setup: pending });
    expect(s.vector).toBeUndefined();
    expect(s.reg('rax') & 0xffffn).toBe(0x81n);
    // Masked flags are not pending.
    expect(run64('fwait', { cr0: NE, setup: (c) => { c.fpuSw = 0x0001; } }).vector).toBeUndefined();
  });

  it('a pending exception with CR0.NE = 0 stops: FERR# reporting is not emulated', () => {
    const r = run64('fwait', { setup: (c) => { c.fpuSw = 0x0084; c.fpuCw = 0x037b; } });
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/FERR#\/IRQ 13/);
  });

  it('EMMS is #UD (MMX not advertised)', () => {
    expect(run64('emms').vector).toBe(6);
  });

  it('x87 arithmetic: #NM first, otherwise a clear unsupported stop', () => {
    expect(run64('fld1', { cr0: TS }).vector).toBe(7);
    const r = run64('fld qword ptr [rax]', { regs: { rax: DATA_ADDR } });
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/^unsupported instruction x87 floating-point instruction \(not implemented\) \(fld .*qword ptr \[rax\]\) at 0x100000/);
  });
});

// ---- FXSAVE / FXRSTOR -------------------------------------------------------------

const FILL = 0xaa;

/** Known state: TOP = 5; R1 = 1.0 (valid), R2 = +0 (zero), R3 = +inf (special), the rest empty. */
function knownState(c: Cpu): void {
  c.fpuCw = 0x027f;
  c.fpuSw = (5 << 11) | 0x41;
  c.fpuTw = 0xff93;
  for (let p = 0; p < 8; p++) for (let k = 0; k < 10; k++) c.fpuRegs[p * 10 + k] = p * 16 + k;
  c.fpuRegs.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f], 10);
  c.fpuRegs.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20);
  c.fpuRegs.set([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f], 30);
  c.mxcsr = 0x1fa1;
  for (let i = 0; i < 16; i++) setXmm(c, i, [0, 1, 2, 3].map((k) => (i << 24) | (k << 16) | 0xbeef));
}

/** The FXSAVE image knownState() must produce (FILL where FXSAVE writes nothing). */
function expectedImage(c: Cpu, opts: { xmm: number; sse: boolean }): number[] {
  const img = new Array<number>(512).fill(FILL);
  const put = (o: number, v: number, n: number) => { for (let i = 0; i < n; i++) img[o + i] = (v >>> (8 * i)) & 0xff; };
  put(0, 0x027f, 2); put(2, (5 << 11) | 0x41, 2); put(4, 0x0e, 1); put(5, 0, 1);
  put(6, 0, 2); for (let o = 8; o < 24; o++) img[o] = 0;
  if (opts.sse) { put(24, 0x1fa1, 4); put(28, 0xffff, 4); }
  for (let i = 0; i < 8; i++) {
    const p = (5 + i) & 7;
    for (let k = 0; k < 10; k++) img[32 + 16 * i + k] = c.fpuRegs[p * 10 + k]!;
  }
  if (opts.sse) {
    for (let i = 0; i < opts.xmm; i++) for (let k = 0; k < 4; k++) put(160 + 16 * i + 4 * k, (i << 24) | (k << 16) | 0xbeef, 4);
  }
  return img;
}

const filled = (n = 1024) => [{ addr: DATA_ADDR, bytes: new Uint8Array(n).fill(FILL) }];

describe('FXSAVE', () => {
  it('64-bit mode: the SDM layout byte by byte, XMM0-15, untouched reserved bytes', () => {
    const r = run64('fxsave [rax]', { regs: { rax: DATA_ADDR }, data: filled(), setup: knownState });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR, 512)]).toEqual(expectedImage(r.cpu, { xmm: 16, sse: true }));
  });

  it('FXSAVE64 (REX.W) writes the same image (FIP/FDP are 0 in both formats)', () => {
    const r = run64('fxsave64 [rax]', { regs: { rax: DATA_ADDR }, data: filled(), setup: knownState });
    expect([...r.mem(DATA_ADDR, 512)]).toEqual(expectedImage(r.cpu, { xmm: 16, sse: true }));
  });

  it('32-bit mode saves XMM0-7 only', () => {
    const r = run('fxsave [eax]', 'prot32', { regs: { rax: DATA_ADDR }, data: filled(), setup: knownState });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR, 512)]).toEqual(expectedImage(r.cpu, { xmm: 8, sse: true }));
  });

  it('with CR4.OSFXSR = 0, MXCSR and the XMM registers are not saved', () => {
    const r = run64('fxsave [rax]', { cr4: PAE, regs: { rax: DATA_ADDR }, data: filled(), setup: knownState });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR, 512)]).toEqual(expectedImage(r.cpu, { xmm: 0, sse: false }));
  });

  it('#GP(0) when not 16-byte aligned; #NM with CR0.TS or CR0.EM', () => {
    const g = run64('fxsave [rax]', { regs: { rax: DATA_ADDR + 8 }, data: filled() });
    expect(g.vector).toBe(13);
    expect(g.errorCode).toBe(0);
    expect([...g.mem(DATA_ADDR, 520)]).toEqual(new Array(520).fill(FILL));
    expect(run64('fxrstor [rax]', { regs: { rax: DATA_ADDR + 4 } }).vector).toBe(13);
    expect(run64('fxsave [rax]', { cr0: TS, regs: { rax: DATA_ADDR } }).vector).toBe(7);
    expect(run64('fxsave [rax]', { cr0: EM, regs: { rax: DATA_ADDR } }).vector).toBe(7);
    expect(run64('fxrstor [rax]', { cr0: TS, regs: { rax: DATA_ADDR } }).vector).toBe(7);
  });

  it('a save area crossing into a not-present page: #PF and nothing written', () => {
    const at = 0x400000 - 0x100;
    const r = run64('fxsave [rax]', {
      regs: { rax: at }, data: [{ addr: at, bytes: new Uint8Array(0x100).fill(FILL) }],
      setup: (c) => { c.mem.write32(BOOT_PML4 + 0x2000 + 2 * 8, 0); c.flushTlb(true); },
    });
    expect(r.vector).toBe(14);
    expect(r.cpu.cr2).toBe(0x400000);
    expect([...r.mem(at, 0x100)]).toEqual(new Array(0x100).fill(FILL));
  });
});

describe('FXRSTOR', () => {
  it('round trip: save, clobber, restore, save again', () => {
    const r = run64(`
      fxsave [rax]
      fninit
      pxor xmm0, xmm0
      pxor xmm15, xmm15
      ldmxcsr [rax + 0x800]
      fxrstor [rax]
      fxsave [rax + 0x400]`, {
      regs: { rax: DATA_ADDR }, data: [...filled(0x800), { addr: DATA_ADDR + 0x800, bytes: dwords(0x1f80) }],
      setup: knownState,
    });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR + 0x400, 416)]).toEqual([...r.mem(DATA_ADDR, 416)]);
    expect(r.cpu.fpuCw).toBe(0x027f);
    expect(r.cpu.fpuSw).toBe((5 << 11) | 0x41);
    expect(r.cpu.fpuTw).toBe(0xff93); // rebuilt from the abridged tags and the register contents
    expect(r.cpu.mxcsr).toBe(0x1fa1);
    expect(xmmOf(r.cpu, 0)).toEqual([0xbeef, 0x1beef, 0x2beef, 0x3beef]);
    expect(xmmOf(r.cpu, 15)).toEqual([0x0f00beef, 0x0f01beef, 0x0f02beef, 0x0f03beef]);
  });

  it('maps ST(i) to physical registers by TOP and classifies tags (valid, zero, special, empty)', () => {
    const img = new Uint8Array(512);
    img[0] = 0x7f; img[1] = 0x03;
    img[2] = 0x80; img[3] = 2 << 3; // ES = 1 (B must follow), TOP = 2
    img[4] = 0b01111100; // R2-R6 (= ST(0)-ST(4) with TOP = 2) in use: the abridged tags are physical
    const st = (i: number, bytes: number[]) => img.set(bytes, 32 + 16 * i);
    st(0, [0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]); // 1.0 → valid (R2)
    st(1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]); // -0 → zero (R3)
    st(2, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // denormal → special (R4)
    st(3, [0, 0, 0, 0, 0, 0, 0, 0x40, 0xff, 0x3f]); // unnormal (J = 0) → special (R5)
    st(4, [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]); // NaN → special (R6)
    img.set([0x80, 0x1f], 24);
    const r = run64('fxrstor [rax]', { regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: img }] });
    expect(r.vector).toBeUndefined();
    expect(r.cpu.fpuSw).toBe(0x8000 | (2 << 11) | 0x80);
    // R0 R1 empty, R2 valid, R3 zero, R4-R6 special, R7 empty.
    expect(r.cpu.fpuTw).toBe(3 | (3 << 2) | (0 << 4) | (1 << 6) | (2 << 8) | (2 << 10) | (2 << 12) | (3 << 14));
    expect([...r.cpu.fpuRegs.subarray(20, 30)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]);
  });

  it('#GP(0) for reserved MXCSR bits, with no state changed', () => {
    const img = new Uint8Array(512);
    img[0] = 0x7f; img[1] = 0x03;
    img.set([0x80, 0x1f, 0x01, 0x00], 24); // bit 16 set
    const r = run64('fxrstor [rax]', {
      regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: img }], setup: knownState,
    });
    expect(r.vector).toBe(13);
    expect(r.errorCode).toBe(0);
    expect(r.cpu.fpuCw).toBe(0x027f);
    expect(r.cpu.mxcsr).toBe(0x1fa1);
    expect(xmmOf(r.cpu, 3)).toEqual([0x0300beef, 0x0301beef, 0x0302beef, 0x0303beef]);
  });
});

describe('LDMXCSR / STMXCSR', () => {
  it('round trip, #GP for bits 31:16, #UD without OSFXSR, #NM with TS', () => {
    const r = run64('ldmxcsr [rax]\nstmxcsr [rax + 4]', {
      regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: dwords(0xffbf, 0) }],
    });
    expect(r.cpu.mxcsr).toBe(0xffbf);
    expect([...r.mem(DATA_ADDR + 4, 4)]).toEqual([0xbf, 0xff, 0, 0]);
    const g = run64('ldmxcsr [rax]', { regs: { rax: DATA_ADDR }, data: [{ addr: DATA_ADDR, bytes: dwords(0x11f80) }] });
    expect(g.vector).toBe(13);
    expect(g.cpu.mxcsr).toBe(0x1f80);
    expect(run64('stmxcsr [rax]', { cr4: PAE, regs: { rax: DATA_ADDR } }).vector).toBe(6);
    expect(run64('ldmxcsr [rax]', { cr0: TS, regs: { rax: DATA_ADDR } }).vector).toBe(7);
  });
});

describe('XSAVE / XRSTOR (x87 and SSE components)', () => {
  const xs = (c: Cpu) => { c.xcr0 = 3; knownState(c); };

  it('#UD while CR4.OSXSAVE = 0 (XSAVE is not advertised)', () => {
    expect(run64('xsave [rcx]', { regs: { rcx: DATA_ADDR, rax: 3, rdx: 0 } }).vector).toBe(6);
    expect(run64('xrstor [rcx]', { regs: { rcx: DATA_ADDR, rax: 3, rdx: 0 } }).vector).toBe(6);
  });

  it('XSAVE writes the legacy image and ORs RFBM into XSTATE_BV', () => {
    const r = run64('xsave [rcx]', {
      cr4: OSXSAVE | OSFXSR | PAE, regs: { rcx: DATA_ADDR, rax: 3, rdx: 0 }, data: filled(), setup: xs,
    });
    expect(r.vector).toBeUndefined();
    expect([...r.mem(DATA_ADDR, 512)]).toEqual(expectedImage(r.cpu, { xmm: 16, sse: true }));
    expect([...r.mem(DATA_ADDR + 512, 16)]).toEqual([0xab, FILL, FILL, FILL, FILL, FILL, FILL, FILL, ...new Array(8).fill(FILL)]);
  });

  it('XRSTOR with XSTATE_BV[1] = 0 initialises the XMM registers but loads MXCSR', () => {
    const img = new Uint8Array(576);
    img[0] = 0x7f; img[1] = 0x03; img[4] = 0;
    img.set([0x80, 0x3f], 24);
    img[512] = 1;
    const r = run64('xrstor [rcx]', {
      cr4: OSXSAVE | OSFXSR | PAE, regs: { rcx: DATA_ADDR, rax: 3, rdx: 0 }, data: [{ addr: DATA_ADDR, bytes: img }], setup: xs,
    });
    expect(r.vector).toBeUndefined();
    expect(r.cpu.mxcsr).toBe(0x3f80);
    expect(r.cpu.fpuCw).toBe(0x037f);
    expect(r.cpu.fpuTw).toBe(0xffff);
    for (let i = 0; i < 16; i++) expect(xmmOf(r.cpu, i)).toEqual([0, 0, 0, 0]);
  });

  it('XRSTOR: #GP for a non-zero XCOMP_BV or XSTATE_BV bits outside XCR0; XSAVE: #GP unless 64-byte aligned', () => {
    const img = new Uint8Array(576);
    img[512] = 3; img[527] = 0x80;
    const opts = { cr4: OSXSAVE | OSFXSR | PAE, regs: { rcx: DATA_ADDR, rax: 3, rdx: 0 }, setup: xs };
    expect(run64('xrstor [rcx]', { ...opts, data: [{ addr: DATA_ADDR, bytes: img }] }).vector).toBe(13);
    const img2 = new Uint8Array(576);
    img2[512] = 7;
    expect(run64('xrstor [rcx]', { ...opts, data: [{ addr: DATA_ADDR, bytes: img2 }] }).vector).toBe(13);
    expect(run64('xsave [rcx]', { ...opts, regs: { rcx: DATA_ADDR + 16, rax: 3, rdx: 0 } }).vector).toBe(13);
    expect(run64('xsave [rcx]', { ...opts, cr0: TS }).vector).toBe(7);
  });
});
