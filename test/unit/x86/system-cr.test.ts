// Control and debug registers through real snippets: the 32-bit → IA-32e
// switch done by the guest itself, the #GP checks of MOV CRn, TLB flushes by
// MOV CR3 / INVLPG / CR4.PGE, PCID no-flush, DR6/DR7 fixed bits, CLTS/LMSW/SMSW.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { assembleWithLabels, makeVm, gate32Asm, gate64Asm, pseudo32 } from '../../support/sys-harness';

const IDT = 0x2f0000;
const IDTR = 0x2ff000;

/** A prot32 snippet with #UD, #DB and #GP handlers that record vector (EDI), error code (ESI) and EIP (EBP), then HLT. */
function prot32WithIdt(body: string) {
  const src = `
    ${gate32Asm(IDT, 1, 'db_handler', 0x18)}
    ${gate32Asm(IDT, 6, 'ud_handler', 0x18)}
    ${gate32Asm(IDT, 13, 'gp_handler', 0x18)}
    lidt [${IDTR}]
    xor edi, edi
    ${body}
    hlt
  db_handler:
    mov edi, 1
    mov esi, -1
    pop ebp
    hlt
  ud_handler:
    mov edi, 6
    mov esi, -1
    pop ebp
    hlt
  gp_handler:
    mov edi, 13
    pop esi
    pop ebp
    hlt`;
  const { code, at } = assembleWithLabels(src, 'prot32');
  const vm = makeVm(code, 'prot32', { data: [{ addr: IDTR, bytes: pseudo32(0x7ff, IDT) }] });
  return { vm, at };
}

function long64WithIdt(body: string, data: { addr: number; bytes: Uint8Array }[] = []) {
  const src = `
    ${gate64Asm(IDT, 13, 'gp_handler', 0x08)}
    lidt [rip + idtr]
    xor edi, edi
    ${body}
    hlt
  gp_handler:
    mov edi, 13
    pop rsi
    pop rbp
    hlt
  idtr: .word 0xfff
    .quad ${IDT}`;
  const { code, at } = assembleWithLabels(src, 'long64');
  return { vm: makeVm(code, 'long64', { data }), at };
}

describe('IA-32e mode activation by the guest', () => {
  it('switches from 32-bit protected mode to compatibility mode: PAE tables, EFER.LME, CR0.PG → LMA', () => {
    const { vm } = prot32WithIdt(`
      mov edi, 0x300000
    1:
      mov dword ptr [edi], 0
      add edi, 4
      cmp edi, 0x303000
      jb 1b
      mov dword ptr [0x300000], 0x301003
      mov dword ptr [0x301000], 0x302003
      xor ecx, ecx
      mov eax, 0x83
    2:
      mov dword ptr [0x302000 + ecx * 8], eax
      add eax, 0x200000
      add ecx, 1
      cmp ecx, 8
      jb 2b
      mov eax, cr4
      or eax, 0x20
      mov cr4, eax
      mov eax, 0x300000
      mov cr3, eax
      mov ecx, 0xC0000080
      rdmsr
      or eax, 0x100
      wrmsr
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov ecx, 0xC0000080
      rdmsr
      mov esi, eax
      mov eax, 0x80000001
      cpuid
      mov ebp, edx
      mov ebx, 0x1234
      inc ebx                 # 0x43: a REX prefix in 64-bit mode, INC EBX in compatibility mode
      xor edi, edi`);
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.reg('rdi')).toBe(0n); // no fault
    expect(vm.reg('rsi')).toBe(0x500n); // LME | LMA
    expect(vm.cpu.longMode).toBe(true);
    expect(vm.cpu.modeName).toBe('compat');
    expect(vm.cpu.bits).toBe(32);
    expect(vm.reg('rbx')).toBe(0x1235n);
    expect(Number(vm.reg('rbp')) & (1 << 11)).toBe(1 << 11); // SYSCALL reported once IA-32e mode is active
  });

  it('refuses CR0.PG with EFER.LME but CR4.PAE clear, and EFER.LME changes while paging is on', () => {
    const { vm, at } = prot32WithIdt(`
      mov ecx, 0xC0000080
      rdmsr
      or eax, 0x100
      wrmsr
      mov eax, 0x300000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
    fault:
      mov cr0, eax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(vm.reg('rsi')).toBe(0n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.cr0 & 0x80000000).toBe(0);
    expect(vm.cpu.longMode).toBe(false);
  });

  it('leaves IA-32e mode from compatibility mode only: clearing CR0.PG in 64-bit mode is #GP', () => {
    const { vm, at } = long64WithIdt(`
      mov rax, cr0
      btr eax, 31
    fault:
      mov cr0, rax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.longMode).toBe(true);
  });
});

describe('MOV to CRn checks', () => {
  it.each([
    ['VME', 1 << 0], ['PVI', 1 << 1], ['MCE', 1 << 6], ['UMIP', 1 << 11], ['LA57', 1 << 12],
    ['FSGSBASE', 1 << 16], ['PCIDE outside IA-32e mode', 1 << 17], ['PKE', 1 << 22],
    ['bit 31', 1 << 31],
  ])('MOV CR4 with %s → #GP(0), CR4 unchanged', (_name, bit) => {
    const { vm, at } = prot32WithIdt(`
      mov eax, cr4
      or eax, ${bit >>> 0}
    fault:
      mov cr4, eax`);
    const before = vm.cpu.cr4;
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(vm.reg('rsi')).toBe(0n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.cr4).toBe(before);
  });

  it('accepts the implemented CR4 bits', () => {
    const { vm } = prot32WithIdt(`
      mov eax, 0x3407bc   # TSD DE PSE PAE PGE PCE OSFXSR OSXMMEXCPT OSXSAVE SMEP SMAP
      mov cr4, eax
      mov ebx, cr4`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x3407bcn);
  });

  it.each([
    ['PG without PE', 'mov eax, 0x80000010'],
    ['NW without CD', 'mov eax, cr0\n or eax, 0x20000000\n and eax, 0xbfffffff'],
  ])('MOV CR0 with %s → #GP(0)', (_n, load) => {
    const { vm, at } = prot32WithIdt(`
      ${load}
    fault:
      mov cr0, eax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });

  it('ignores reserved CR0 bits 31:0 and keeps ET set', () => {
    const { vm } = prot32WithIdt(`
      mov eax, cr0
      and eax, 0xffffffef   # clear ET
      or eax, 0x00000f00    # reserved bits 8-11
      mov cr0, eax
      mov ebx, cr0`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(Number(vm.reg('rbx')) & 0xf10).toBe(0x10);
  });

  it('64-bit mode: reserved CR3 bits, CR3 bit 63 without PCIDE, CR0 bits 63:32, CR8 bits 63:4 → #GP(0)', () => {
    for (const body of [
      'mov rax, cr3\n mov rdx, 0x10000000000\n or rax, rdx',
      'mov rax, cr3\n mov rdx, 0x8000000000000000\n or rax, rdx',
      'mov rax, cr0\n mov rdx, 0x100000000\n or rax, rdx',
      'mov eax, 0x10',
    ]) {
      const target = body.includes('cr0') ? 'cr0' : body.includes('cr3') ? 'cr3' : 'cr8';
      const { vm, at } = long64WithIdt(`${body}\n fault:\n mov ${target}, rax`);
      vm.run();
      expect(vm.reg('rdi'), body).toBe(13n);
      expect(Number(vm.reg('rbp')), body).toBe(at.fault);
    }
  });

  it('CR8 holds the task priority (bits 3:0)', () => {
    const { vm } = long64WithIdt(`
      mov eax, 0xb
      mov cr8, rax
      mov rbx, cr8`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0xbn);
    expect(vm.cpu.cr8).toBe(0xb);
  });

  it('CR2 reads back what was written, canonical or not', () => {
    const { vm } = long64WithIdt(`
      mov rax, 0xffff800000001234
      mov cr2, rax
      mov rbx, cr2
      mov rax, 0x1234567887654321
      mov cr2, rax
      mov rcx, cr2`);
    vm.run();
    expect(vm.reg('rbx')).toBe(0xffff800000001234n);
    expect(vm.reg('rcx')).toBe(0x1234567887654321n);
  });
});

// 32-bit paging: PD at 0x300000, PT0 (identity 0-4 MiB) at 0x301000, PT1 (0x400000-) at 0x302000.
const PAGING32 = `
      mov edi, 0x301000
      mov eax, 3
    1:
      mov dword ptr [edi], eax
      add eax, 0x1000
      add edi, 4
      cmp edi, 0x302000
      jb 1b
      mov dword ptr [0x300000], 0x301003
      mov dword ptr [0x300004], 0x302003
      mov eax, 0x300000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax`;

const PAGES = [
  { addr: 0x210000, bytes: Uint8Array.of(0x11, 0x11, 0x11, 0x11) },
  { addr: 0x211000, bytes: Uint8Array.of(0x22, 0x22, 0x22, 0x22) },
  { addr: 0x212000, bytes: Uint8Array.of(0x33, 0x33, 0x33, 0x33) },
];

describe('TLB maintenance', () => {
  it('a remapped page reads its new content only after MOV CR3, then only after INVLPG', () => {
    const src = `
      mov dword ptr [0x302000], 0x210003
      ${PAGING32}
      mov eax, [0x400000]
      mov dword ptr [0x302000], 0x211003
      mov ebx, [0x400000]
      mov ecx, cr3
      mov cr3, ecx
      mov ecx, [0x400000]
      mov dword ptr [0x302000], 0x212003
      mov edx, [0x400000]
      invlpg [0x400000]
      mov esi, [0x400000]
      hlt`;
    const { code } = assembleWithLabels(src, 'prot32');
    const vm = makeVm(code, 'prot32', { data: PAGES });
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.reg('rax')).toBe(0x11111111n);
    expect(vm.reg('rbx')).toBe(0x11111111n); // stale TLB entry
    expect(vm.reg('rcx')).toBe(0x22222222n); // after MOV CR3
    expect(vm.reg('rdx')).toBe(0x22222222n); // stale again
    expect(vm.reg('rsi')).toBe(0x33333333n); // after INVLPG
  });

  it('global pages survive MOV CR3 but not a CR4.PGE toggle', () => {
    const src = `
      mov dword ptr [0x302000], 0x210103   # G bit
      ${PAGING32}
      mov eax, cr4
      or eax, 0x80
      mov cr4, eax
      mov eax, [0x400000]
      mov dword ptr [0x302000], 0x211103
      mov ecx, cr3
      mov cr3, ecx
      mov ebx, [0x400000]
      mov ecx, cr4
      and ecx, 0xffffff7f
      mov cr4, ecx
      or ecx, 0x80
      mov cr4, ecx
      mov ecx, [0x400000]
      hlt`;
    const { code } = assembleWithLabels(src, 'prot32');
    const vm = makeVm(code, 'prot32', { data: PAGES });
    vm.run();
    expect(vm.reg('rax')).toBe(0x11111111n);
    expect(vm.reg('rbx')).toBe(0x11111111n);
    expect(vm.reg('rcx')).toBe(0x22222222n);
  });

  it('with CR4.PCIDE, MOV CR3 with bit 63 keeps the TLB; without it, flushes; bit 63 is not stored', () => {
    // Boot map: PD at 0x9000, 2 MiB pages. Point PDE 4 (0x800000) at a 4K table at 0x300000.
    const { vm } = long64WithIdt(`
      mov rax, cr4
      or eax, 0x20000
      mov cr4, rax
      mov dword ptr [0x300000], 0x210003
      mov dword ptr [0x9020], 0x300003
      mov dword ptr [0x9024], 0
      mov rax, cr3
      mov cr3, rax
      mov ebx, [0x800000]
      mov dword ptr [0x300000], 0x211003
      mov rdx, 0x8000000000000000
      or rax, rdx
      mov cr3, rax
      mov ecx, [0x800000]
      mov rsi, cr3
      not rdx
      and rax, rdx
      mov cr3, rax
      mov edx, [0x800000]`, PAGES);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x11111111n);
    expect(vm.reg('rcx')).toBe(0x11111111n); // no-flush hint honoured
    expect(vm.reg('rsi')).toBe(0x7000n);
    expect(vm.reg('rdx')).toBe(0x22222222n);
  });

  it('PCIDE: cannot be set while CR3[11:0] ≠ 0; CR0.PG cannot be cleared while it is set', () => {
    const { vm, at } = long64WithIdt(`
      mov rax, cr3
      or eax, 1
      mov cr3, rax
      mov rax, cr4
      or eax, 0x20000
    fault:
      mov cr4, rax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });
});

describe('debug registers, CLTS, LMSW, SMSW', () => {
  it('DR6/DR7 fixed bits, DR0 round trip, DR4/DR5 alias DR6/DR7 while CR4.DE = 0', () => {
    const { vm } = prot32WithIdt(`
      xor eax, eax
      mov dr7, eax
      mov ebx, dr7
      mov eax, 0xffffffff
      mov dr6, eax
      mov ecx, dr6
      mov eax, 0x12345678
      mov dr0, eax
      mov edx, dr0
      mov esi, dr4
      mov ebp, dr5`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('rbx')).toBe(0x400n);
    expect(vm.reg('rcx')).toBe(0xffffefffn);
    expect(vm.reg('rdx')).toBe(0x12345678n);
    expect(vm.reg('rsi')).toBe(0xffffefffn);
    expect(vm.reg('rbp')).toBe(0x400n);
  });

  it('DR4 with CR4.DE = 1 → #UD', () => {
    const { vm, at } = prot32WithIdt(`
      mov eax, cr4
      or eax, 8
      mov cr4, eax
    fault:
      mov eax, dr4`);
    vm.run();
    expect(vm.reg('rdi')).toBe(6n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });

  it('DR7.GD: the next debug-register access raises #DB with DR6.BD, and GD is cleared', () => {
    const { vm, at } = prot32WithIdt(`
      mov eax, 0x2000
      mov dr7, eax
    fault:
      mov eax, dr0`);
    vm.run();
    expect(vm.reg('rdi')).toBe(1n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.cpu.dr[6]! & 0x2000).toBe(0x2000);
    expect(vm.cpu.dr[7]! & 0x2000).toBe(0);
  });

  it('enabling a hardware breakpoint is an unsupported stop, not a silent no-op', () => {
    const { vm } = prot32WithIdt('mov eax, 1\n mov dr7, eax');
    expect(vm.run()).toBe(Exit.Fatal);
    expect(vm.cpu.stop?.message).toMatch(/hardware breakpoints/);
  });

  it('CLTS clears TS; LMSW loads MP/EM/TS but cannot clear PE; SMSW reads CR0', () => {
    const { vm } = prot32WithIdt(`
      mov eax, cr0
      or eax, 8
      mov cr0, eax
      smsw ebx
      clts
      smsw cx
      mov ax, 0x000e
      lmsw ax
      mov edx, cr0`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(Number(vm.reg('rbx')) & 0x9).toBe(0x9);
    expect(Number(vm.reg('rcx')) & 0xffff & 0x8).toBe(0);
    expect(Number(vm.reg('rdx')) & 0xf).toBe(0xf);
  });
});
