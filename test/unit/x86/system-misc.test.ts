// Cache/TLB maintenance, fences and prefetches, instructions this CPU does not
// advertise (#UD), PAE PDPTE checks on MOV CR3, the STI shadow, and REP INS/OUTS
// running in resumable chunks.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { assembleWithLabels, makeVm, gate64Asm, gate32Asm, pseudo32, RecordingDevice } from '../../support/sys-harness';

const IDT = 0x2f0000;

function long64(body: string) {
  const src = `
    ${gate64Asm(IDT, 6, 'ud_handler', 0x08)}
    ${gate64Asm(IDT, 13, 'gp_handler', 0x08)}
    ${gate64Asm(IDT, 14, 'pf_handler', 0x08)}
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
  pf_handler:
    mov edi, 14
    pop rsi
    pop rbp
    hlt
  idtr: .word 0xfff
    .quad ${IDT}`;
  const { code, at } = assembleWithLabels(src, 'long64');
  return { vm: makeVm(code, 'long64'), at };
}

describe('instructions that are not advertised or not enabled', () => {
  it.each([
    ['RDRAND', 'rdrand eax'], ['RDSEED', 'rdseed eax'], ['MONITOR', 'monitor'], ['MWAIT', 'mwait'],
    ['XGETBV while CR4.OSXSAVE = 0', 'xor ecx, ecx\n fault: xgetbv'], ['XSETBV while CR4.OSXSAVE = 0', 'xsetbv'],
    ['INVPCID', 'invpcid rax, [0x280000]'], ['CLFLUSHOPT', 'clflushopt [0x280000]'], ['RDPID', 'rdpid rax'],
    ['RDFSBASE', 'rdfsbase rax'], ['UD0', 'ud0 eax, [rax]'], ['UD1', 'ud1 eax, [rax]'],
  ])('%s → #UD', (_n, insn) => {
    const body = insn.includes('fault:') ? insn : `fault: ${insn}`;
    const { vm, at } = long64(body);
    vm.run();
    expect(vm.reg('rdi')).toBe(6n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });
});

describe('cache and TLB maintenance', () => {
  it('fences, prefetches (even of unmapped or non-canonical addresses), WBINVD and INVD do nothing', () => {
    const { vm } = long64(`
      lfence
      sfence
      mfence
      prefetchnta [0x280000]
      mov rax, 0x123456789000
      prefetcht0 [rax]
      mov rax, 0x8000000000000000
      prefetchw [rax]
      wbinvd
      invd
      mov ebx, 1`);
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(1n);
  });

  it('CLFLUSH checks its address like a byte load: #PF for an unmapped page, #GP for a non-canonical one', () => {
    {
      const { vm, at } = long64(`
        clflush [0x280000]
        mov rax, 0x123456789000
      fault:
        clflush [rax]`);
      vm.run();
      expect(vm.reg('rdi')).toBe(14n);
      expect(Number(vm.reg('rbp'))).toBe(at.fault);
      expect(vm.cpu.cr2).toBe(0x123456789000);
    }
    {
      const { vm, at } = long64(`
        mov rax, 0x8000000000000000
      fault:
        clflush [rax]`);
      vm.run();
      expect(vm.reg('rdi')).toBe(13n);
      expect(Number(vm.reg('rbp'))).toBe(at.fault);
    }
  });

  it('INVLPG of a non-canonical address is not a fault', () => {
    const { vm } = long64(`
      mov rax, 0x8000000000000000
      invlpg [rax]
      mov ebx, 1`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(1n);
  });

  it('PAE paging: MOV CR3 naming a PDPT with a reserved bit in a present entry → #GP(0)', () => {
    const src = `
      ${gate32Asm(IDT, 13, 'gp_handler', 0x18)}
      lidt [0x2ff000]
      xor edi, edi
      mov dword ptr [0x300000], 0x301001
      mov dword ptr [0x301000], 0x83
      mov dword ptr [0x301008], 0x200083
      mov eax, cr4
      or eax, 0x20
      mov cr4, eax
      mov eax, 0x300000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov dword ptr [0x300008], 0x302007   # present, with reserved bits 1 and 2
      mov eax, 0x300000
    fault:
      mov cr3, eax
      hlt
    gp_handler:
      mov edi, 13
      pop esi
      pop ebp
      hlt`;
    const { code, at } = assembleWithLabels(src, 'prot32');
    const vm = makeVm(code, 'prot32', { data: [{ addr: 0x2ff000, bytes: pseudo32(0x7ff, IDT) }] });
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });
});

describe('interrupt shadow and resumable string I/O', () => {
  it('STI that sets IF blocks interrupts for one instruction', () => {
    const { code } = assembleWithLabels('cli\n sti\n nop\n hlt', 'prot32');
    const vm = makeVm(code, 'prot32');
    vm.cpu.run(2);
    expect(vm.cpu.interruptsEnabled).toBe(true);
    expect(vm.cpu.intShadow).toBe(true);
  });

  it('REP OUTSB of 5000 bytes runs in chunks of 4096, resuming the same instruction', () => {
    const { code, at } = assembleWithLabels(`
      mov dx, 0x100
      mov esi, 0x280000
      mov ecx, 5000
    rep_here:
      rep outsb
      hlt`, 'prot32');
    const vm = makeVm(code, 'prot32');
    const dev = new RecordingDevice();
    vm.io.register(0x100, 1, dev);
    expect(vm.cpu.run(4)).toBe(Exit.Budget);
    expect(vm.cpu.rip).toBe(at.rep_here);
    expect(vm.reg('rcx')).toBe(5000n - 4096n);
    expect(dev.log.length).toBe(4096);
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.reg('rcx')).toBe(0n);
    expect(vm.reg('rsi')).toBe(BigInt(0x280000 + 5000));
    expect(dev.log.length).toBe(5000);
  });
});
