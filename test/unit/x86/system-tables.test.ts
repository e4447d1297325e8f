// Descriptor-table instructions: LGDT/SGDT/LIDT/SIDT operand sizes and bases,
// LTR (busy bit, type checks, 16-byte descriptors), LLDT/SLDT, LAR, LSL, VERR,
// VERW, ARPL, and #UD for the protected-mode-only ones in real mode.
import { describe, it, expect } from 'vitest';
import { assemble, runCode } from '../../support/cpu-harness';
import { assembleWithLabels, makeVm, gate32Asm, gate64Asm, pseudo32, descriptor, concat } from '../../support/sys-harness';

const GDT = 0x2e0000, IDT = 0x2f0000, GDTR = 0x2ff000, IDTR = 0x2ff010;

// 0x08 code32 DPL0, 0x10 data DPL0, 0x18 code32 (the boot CS selector), 0x20 TSS (avail), 0x28 LDT,
// 0x30 data not present, 0x38 interrupt gate (system type 14), 0x40 data DPL3.
function gdt32(): Uint8Array {
  return concat(
    new Uint8Array(8),
    descriptor(0, 0xfffff, 0x9a, 0xc), descriptor(0, 0xfffff, 0x92, 0xc), descriptor(0, 0xfffff, 0x9a, 0xc),
    descriptor(0x2e1000, 0x67, 0x89, 0), descriptor(0x2e2000, 0x0f, 0x82, 0),
    descriptor(0, 0xfffff, 0x12, 0xc), descriptor(0, 0, 0x8e, 0), descriptor(0, 0xffff, 0xf2, 0x4),
  );
}

function prot32(body: string, extra: { addr: number; bytes: Uint8Array }[] = []) {
  const src = `
    lgdt [${GDTR}]
    ${gate32Asm(IDT, 6, 'ud_handler', 0x08)}
    ${gate32Asm(IDT, 11, 'np_handler', 0x08)}
    ${gate32Asm(IDT, 13, 'gp_handler', 0x08)}
    lidt [${IDTR}]
    xor edi, edi
    ${body}
    hlt
  ud_handler:
    mov edi, 6
    pop ebp
    hlt
  np_handler:
    mov edi, 11
    pop esi
    pop ebp
    hlt
  gp_handler:
    mov edi, 13
    pop esi
    pop ebp
    hlt`;
  const { code, at } = assembleWithLabels(src, 'prot32');
  const g = gdt32();
  // The LDT (at 0x2e2000) holds one flat data segment, selector 0x04 | TI.
  const ldt = concat(descriptor(0, 0xfffff, 0x92, 0xc), descriptor(0, 0xfffff, 0x92, 0xc));
  const vm = makeVm(code, 'prot32', {
    data: [{ addr: GDT, bytes: g }, { addr: GDTR, bytes: pseudo32(g.length - 1, GDT) },
      { addr: IDTR, bytes: pseudo32(0x7ff, IDT) }, { addr: 0x2e2000, bytes: ldt }, ...extra],
  });
  vm.run();
  return { vm, at };
}

describe('LGDT, SGDT, LIDT, SIDT', () => {
  it('round-trips limit and 32-bit base; a 16-bit operand size loads a 24-bit base', () => {
    const { vm } = prot32(`
      sgdt [0x280000]
      lgdt [0x281000]
      sgdt [0x280010]
      data16 lgdt [0x281000]
      sgdt [0x280020]
      lgdt [${GDTR}]
      sidt [0x280030]`, [{ addr: 0x281000, bytes: pseudo32(0x1ff, 0x12345678) }]);
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.u16(0x280000)).toBe(0x47);
    expect(vm.u32(0x280002)).toBe(GDT);
    expect(vm.u16(0x280010)).toBe(0x1ff);
    expect(vm.u32(0x280012)).toBe(0x12345678);
    expect(vm.u32(0x280022)).toBe(0x345678);
    expect(vm.u16(0x280030)).toBe(0x7ff);
    expect(vm.u32(0x280032)).toBe(IDT);
  });

  it('64-bit mode: 8-byte bases, stored back sign-extended; a non-canonical base is #GP(0)', () => {
    const src = `
      ${gate64Asm(IDT, 13, 'gp_handler', 0x08)}
      lidt [rip + idtr]
      xor edi, edi
      sgdt [rip + saved]
      lgdt [rip + high]
      sgdt [0x280000]
      lgdt [rip + saved]
    fault:
      lgdt [rip + bad]
      hlt
    gp_handler:
      mov edi, 13
      pop rsi
      pop rbp
      hlt
    idtr: .word 0xfff
      .quad ${IDT}
    high: .word 0x77
      .quad 0xffff800000123000
    bad: .word 0x77
      .quad 0x0000800000123000
    saved: .space 10`;
    const { code, at } = assembleWithLabels(src, 'long64');
    const vm = makeVm(code, 'long64');
    vm.run();
    expect(vm.u16(0x280000)).toBe(0x77);
    expect(vm.u32(0x280002)).toBe(0x00123000);
    expect(vm.u32(0x280006)).toBe(0xffff8000);
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.gdtrBase).toBe(0x6000); // unchanged by the faulting LGDT
  });
});

describe('LTR, STR, LLDT, SLDT', () => {
  it('LTR loads TR and marks the TSS busy; STR reads the selector', () => {
    const { vm } = prot32(`
      mov ax, 0x20
      ltr ax
      str ebx`);
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x20n);
    expect(vm.mem.bytes[GDT + 0x20 + 5]).toBe(0x8b); // type 9 → 11 (busy)
    expect(vm.cpu.segBase[7]).toBe(0x2e1000);
    expect(vm.cpu.segLimit[7]).toBe(0x67);
  });

  it.each([
    ['a busy TSS', 'mov ax, 0x20\n ltr ax\n', 'ltr ax', 13, 0x20],
    ['a data segment', 'mov ax, 0x10\n', 'ltr ax', 13, 0x10],
    ['an LDT selector (TI = 1)', 'mov ax, 0x24\n', 'ltr ax', 13, 0x24],
    ['a null selector', 'xor eax, eax\n', 'ltr ax', 13, 0],
    ['a selector beyond the GDT limit', 'mov ax, 0x100\n', 'ltr ax', 13, 0x100],
    ['LLDT of a TSS', 'mov ax, 0x20\n', 'lldt ax', 13, 0x20],
    ['LLDT of a not-present LDT', 'mov byte ptr [0x2e002d], 0x02\n mov ax, 0x28\n', 'lldt ax', 11, 0x28],
  ])('LTR/LLDT of %s faults', (_n, pre, insn, vector, error) => {
    const { vm, at } = prot32(`${pre}\n fault:\n ${insn}`);
    expect(vm.reg('rdi')).toBe(BigInt(vector));
    expect(vm.reg('rsi')).toBe(BigInt(error));
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });

  it('LLDT makes LDT selectors usable; SLDT reads it back; a null selector leaves LDTR unusable', () => {
    const { vm } = prot32(`
      mov ax, 0x28
      lldt ax
      sldt ebx
      mov ax, 0x0c
      mov fs, ax
      mov dword ptr fs:[0x280000], 0xcafe
      xor eax, eax
      lldt ax
      sldt ecx`);
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x28n);
    expect(vm.u32(0x280000)).toBe(0xcafe);
    expect(vm.reg('rcx')).toBe(0n);
  });

  it('64-bit mode: LTR reads a 16-byte descriptor with a 64-bit base', () => {
    const tss = concat(descriptor(0x5000, 0x67, 0x89, 0), Uint8Array.of(0x00, 0x80, 0xff, 0xff, 0, 0, 0, 0));
    const src = `
      lgdt [rip + gdtr]
      mov ax, 0x20
      ltr ax
      hlt
    gdtr: .word 0x2f
      .quad ${GDT}`;
    const { code } = assembleWithLabels(src, 'long64');
    const gdt = concat(new Uint8Array(8), descriptor(0, 0xfffff, 0x9a, 0xa), descriptor(0, 0xfffff, 0x92, 0xc),
      new Uint8Array(8), tss);
    const vm = makeVm(code, 'long64', { data: [{ addr: GDT, bytes: gdt }] });
    vm.run();
    expect(vm.cpu.stop).toBeUndefined();
    expect(vm.cpu.segSel[7]).toBe(0x20);
    expect(vm.cpu.segBase[7]).toBe(0x8000_0000_5000); // 0xffff800000005000 in 48-bit linear form
  });
});

describe('LAR, LSL, VERR, VERW, ARPL', () => {
  it('LAR/LSL report rights and byte-granular limits with ZF = 1', () => {
    const { vm } = prot32(`
      mov ax, 0x08
      lar ebx, ax
      lsl ecx, ax
      mov ax, 0x20
      lar edx, ax
      lsl esi, ax
      setz al
      movzx ebp, al`);
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x00c09a00n);
    expect(vm.reg('rcx')).toBe(0xffffffffn);
    expect(vm.reg('rdx')).toBe(0x00008900n);
    expect(vm.reg('rsi')).toBe(0x67n);
    expect(vm.reg('rbp')).toBe(1n);
  });

  it('LAR/LSL give ZF = 0 and leave the destination alone for null, gate, out-of-limit and RPL-hidden selectors', () => {
    const { vm } = prot32(`
      mov ebx, 0x1111
      xor eax, eax
      lar ebx, ax
      setnz cl
      mov ax, 0x38
      lsl ebx, ax
      setnz ch
      mov ax, 0x400
      lar ebx, ax
      setnz dl
      mov ax, 0x13
      lar ebx, ax
      setnz dh`);
    expect(vm.reg('rbx')).toBe(0x1111n);
    expect(vm.reg('rcx') & 0xffffn).toBe(0x0101n);
    expect(vm.reg('rdx') & 0xffffn).toBe(0x0101n);
  });

  it('VERR/VERW: code is readable not writable, data both, system neither', () => {
    const { vm } = prot32(`
      mov ax, 0x08
      verr ax
      setz bl
      verw ax
      setz bh
      mov ax, 0x10
      verr ax
      setz cl
      verw ax
      setz ch
      mov ax, 0x20
      verr ax
      setz dl
      mov ax, 0x43
      verw ax
      setz dh`);
    expect(vm.reg('rbx') & 0xffffn).toBe(0x0001n);
    expect(vm.reg('rcx') & 0xffffn).toBe(0x0101n);
    expect(vm.reg('rdx') & 0xffffn).toBe(0x0100n);
  });

  it('ARPL raises the destination RPL to the source RPL and sets ZF only when it did', () => {
    const { vm } = prot32(`
      mov ax, 0x10
      mov bx, 0x23
      arpl ax, bx
      setz cl
      arpl ax, bx
      setz ch
      mov word ptr [0x280000], 0x08
      arpl [0x280000], bx`);
    expect(vm.reg('rax') & 0xffffn).toBe(0x13n);
    expect(vm.reg('rcx') & 0xffffn).toBe(0x0001n);
    expect(vm.u16(0x280000)).toBe(0x0b);
  });

  it('LLDT, LTR, SLDT, STR, LAR, VERR and ARPL are #UD in real mode', () => {
    for (const insn of ['lldt ax', 'ltr ax', 'sldt ax', 'str ax', 'lar ax, bx', 'verr ax', 'arpl ax, bx']) {
      const code = assemble(`
        xor di, di
        ${insn}
        hlt
        .org 0x100
        mov di, 6
        hlt`, 'real');
      // IVT entry 6 → 1000:0100.
      const r = runCode(code, 'real', { data: [{ addr: 0x18, bytes: Uint8Array.of(0x00, 0x01, 0x00, 0x10) }] });
      expect(r.reg('rdi') & 0xffffn, insn).toBe(6n);
    }
  });
});
