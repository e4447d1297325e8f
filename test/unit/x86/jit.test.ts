// The block JIT must be indistinguishable from the closures: same registers,
// flags, memory and instruction counts, and faults inside a fused block must
// leave RIP on the faulting instruction with the ones before it retired.
import { describe, it, expect } from 'vitest';
import { assemble, runCode, DATA_ADDR, CODE_ADDR, type Mode } from '../../support/cpu-harness';
import { GPR_NAMES } from '../../../src/engine/x86/regs';

function both(src: string, mode: Mode, limit = 1_000_000) {
  const code = assemble(src, mode);
  const withJit = runCode(code, mode, { limit });
  const noJitRun = (() => {
    // Same run with fusing disabled: the closures alone.
    const r = runCode(code, mode, { limit: 0 });
    r.cpu.jitEnabled = false;
    return r;
  })();
  noJitRun.cpu.run(limit);
  return { jit: withJit, closures: noJitRun };
}

function state(r: ReturnType<typeof runCode>) {
  return {
    regs: GPR_NAMES.map((n) => r.reg(n)),
    rip: r.reg('rip'),
    flags: r.cpu.rflags,
    icount: r.cpu.icount,
    data: [...r.mem(DATA_ADDR, 64)],
  };
}

describe('block JIT', () => {
  it('matches the closures on a flag-heavy 64-bit loop with memory operands', () => {
    const { jit, closures } = both(`
      mov rsi, ${DATA_ADDR}
      mov rcx, 300
      mov rax, 0x7ffffffffffffff0
      mov rbx, 0xfffffffe
    1:
      add rax, rcx
      sub rbx, rax
      xor [rsi], rax
      add [rsi + 8], ebx
      cmp rax, rbx
      and rdx, rax
      or  edx, 0x55
      test edx, 0x100
      mov [rsi + 16], rdx
      mov r8d, [rsi + 8]
      inc r9
      dec ecx
      jnz 1b
      sbb r10, r10
      hlt`, 'long64');
    expect(state(jit)).toEqual(state(closures));
    expect(jit.cpu.icount).toBe(4 + 300 * 13 + 2);
  });

  it('matches the closures in 32-bit protected mode', () => {
    const { jit, closures } = both(`
      mov esi, ${DATA_ADDR}
      mov ecx, 200
      mov eax, 0x7ffffff0
    1:
      add eax, ecx
      adc edx, 0
      xor [esi], eax
      sub dword ptr [esi + 4], 3
      dec ecx
      jnz 1b
      hlt`, 'prot32');
    expect(state(jit)).toEqual(state(closures));
  });

  it('keeps a fault inside a fused block precise', () => {
    // Page-faulting store at the 40th iteration: the loop is hot (fused) by then.
    const code = assemble(`
      mov rsi, ${DATA_ADDR}
      mov rcx, 0
    1:
      add rax, 1
      mov [rsi + rcx * 8], rax
      inc rcx
      cmp rcx, 1000
      jne 1b
      hlt`, 'long64');
    // 16 MiB of RAM: stores past it go to unbacked memory (dropped), so force a fault with a non-canonical base instead.
    const r = runCode(code, 'long64', { limit: 5 + 4 * 40, regs: {} });
    r.cpu.rl[6] = 0; r.cpu.rh[6] = 0x7fff0000; // rsi non-canonical → #GP at the store
    r.cpu.run(1000);
    // No IDT: delivery of #GP faults again → double fault → triple fault → shutdown stop.
    expect(r.cpu.stop?.kind).toBe('shutdown');
    // The store was not retired: RIP is the store, RAX already incremented, RCX not.
    const storeAddr = CODE_ADDR + 7 + 7 + 4;
    expect(Number(r.reg('rip'))).toBe(storeAddr);
  });
});
