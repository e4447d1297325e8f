// XGETBV/XSETBV: #UD until CR4.OSXSAVE, XCR0 limited to x87 and SSE, #GP rules.
import { describe, it, expect } from 'vitest';
import { assembleWithLabels, makeVm, gate64Asm } from '../../support/sys-harness';

const IDT = 0x2f0000;

function long64(body: string) {
  const src = `
    ${gate64Asm(IDT, 6, 'ud_handler', 0x08)}
    ${gate64Asm(IDT, 13, 'gp_handler', 0x08)}
    lidt [rip + idtr]
    xor edi, edi
    ${body}
    hlt
  ud_handler:
    mov edi, 6
    pop rbp
    hlt
  gp_handler:
    mov edi, 13
    pop rsi
    pop rbp
    hlt
  idtr: .word 0xfff
    .quad ${IDT}`;
  const { code, at } = assembleWithLabels(src, 'long64');
  return { vm: makeVm(code, 'long64'), at };
}

const OSXSAVE = `
      mov rax, cr4
      or eax, 0x40000
      mov cr4, rax`;

describe('XGETBV / XSETBV with CR4.OSXSAVE', () => {
  it('XGETBV is #UD until CR4.OSXSAVE is set, then reads XCR0; XSETBV accepts x87|SSE', () => {
    const { vm, at } = long64(`
      ${OSXSAVE}
      xor ecx, ecx
      xgetbv
      mov r8, rax
      mov eax, 3
      xor edx, edx
      xsetbv
      xgetbv
      mov r9, rax
      mov rax, cr4
      and eax, 0xfffbffff
      mov cr4, rax
    fault:
      xgetbv`);
    vm.run();
    expect(vm.reg('r8')).toBe(1n);
    expect(vm.reg('r9')).toBe(3n);
    expect(vm.cpu.xcr0).toBe(3);
    expect(vm.reg('rdi')).toBe(6n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });

  it.each([
    ['x87 bit clear', 'mov eax, 2\n xor edx, edx\n xor ecx, ecx'],
    ['AVX (not supported)', 'mov eax, 7\n xor edx, edx\n xor ecx, ecx'],
    ['EDX non-zero', 'mov eax, 3\n mov edx, 1\n xor ecx, ecx'],
    ['XCR other than 0', 'mov eax, 3\n xor edx, edx\n mov ecx, 1'],
  ])('XSETBV with %s → #GP(0)', (_n, load) => {
    const { vm, at } = long64(`${OSXSAVE}\n ${load}\n fault:\n xsetbv`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(vm.reg('rsi')).toBe(0n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.xcr0).toBe(1);
  });

  it('XGETBV with ECX = 1 → #GP(0)', () => {
    const { vm, at } = long64(`${OSXSAVE}\n mov ecx, 1\n fault:\n xgetbv`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });
});
