// The vCPU's spine end to end: decode, compile, block cache, lazy flags, a
// loop with a conditional branch, memory through the TLB, in every mode.
import { describe, it, expect } from 'vitest';
import { assemble, runCode, DATA_ADDR } from '../../support/cpu-harness';
import { Exit } from '../../../src/engine/x86/cpu';

describe('vCPU spine', () => {
  it('runs a counted loop in 64-bit mode with exact 64-bit arithmetic', () => {
    const code = assemble(`
      mov rcx, 1000
      mov rax, 0xffffffff
      xor rbx, rbx
    1:
      add rbx, rax
      dec rcx
      jnz 1b
      mov [rip + slot], rbx
      lea rdx, [rip + slot]
      hlt
    slot: .quad 0`, 'long64');
    const r = runCode(code, 'long64');
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rbx')).toBe(1000n * 0xffffffffn);
    expect(r.reg('rcx')).toBe(0n);
    const slot = Number(r.reg('rdx'));
    expect(new DataView(r.mem(slot, 8).buffer).getBigUint64(0, true)).toBe(1000n * 0xffffffffn);
  });

  it('stores and loads through memory and keeps flags exact (CF/OF on 32-bit add)', () => {
    const code = assemble(`
      mov dword ptr [${DATA_ADDR}], 0x7fffffff
      mov eax, [${DATA_ADDR}]
      add eax, 1
      seto bl
      hlt`, 'prot32');
    const r = runCode(code, 'prot32');
    expect(r.reg('rax')).toBe(0x80000000n);
    expect(r.cpu.rflags & 0x800).toBe(0x800); // OF
    expect(r.cpu.rflags & 0x1).toBe(0); // CF
  });

  it('runs 16-bit real-mode code', () => {
    const code = assemble(`
      mov ax, 0x1234
      mov bx, ax
      sub bx, 0x1235
      hlt`, 'real');
    const r = runCode(code, 'real');
    expect(r.reg('rbx') & 0xffffn).toBe(0xffffn);
    expect(r.cpu.rflags & 1).toBe(1); // borrow
  });

  it('stops with a clear message on an instruction it does not implement', () => {
    const code = assemble('fld1\nhlt', 'long64');
    const r = runCode(code, 'long64');
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/^unsupported instruction .*fld1.* at 0x100000 \(d9 e8\)$/);
  });
});

describe('near CALL/RET widths', () => {
  it('returns to the caller in 32-bit and 16-bit code', () => {
    for (const mode of ['prot32', 'real'] as const) {
      const code = assemble(`
        mov ${mode === 'real' ? 'sp, 0x8000' : 'esp, 0x180000'}
        call 1f
        mov ebx, 0x55
        hlt
      1:
        mov eax, 7
        ret`, mode);
      const r = runCode(code, mode);
      expect(r.exit, mode).toBe(Exit.Halted);
      expect(r.reg('rax') & 0xffn, mode).toBe(7n);
      expect(r.reg('rbx') & 0xffn, mode).toBe(0x55n);
    }
  });
});
