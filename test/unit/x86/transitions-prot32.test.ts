// Ring transitions in 32-bit protected mode through a real GDT/IDT/TSS:
// IRETD to ring 3, a 32-bit call gate copying parameters and RETF imm16 back
// (with data-segment nulling), INT 0x80, SYSENTER/SYSEXIT; virtual-8086 mode
// entered with IRETD and left by INT n; the exception-raising instructions.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { CS, ES, FS, SS } from '../../../src/engine/x86/regs';
import { runSystem } from '../../support/ring-harness';
import { prot32, setupProt32, RSP0, OUT } from '../../support/sys-layout';

describe('32-bit protected mode ring transitions', () => {
  it('tours ring 3: call gate with parameters, RETF 8, INT 0x80, SYSENTER/SYSEXIT', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  push 0x23
  push 0x2ff000
  push 0x2d7
  push 0x1b
  push offset user
  iretd
user:
  mov bx, ds
  mov ax, 0x23
  mov ds, ax
  mov es, ax
  mov [${OUT}], bx
  push 0x11111111
  push 0x22222222
  call 0x33:0
after_cg:
  mov es:[${OUT + 4}], esp
  mov bx, ds
  mov es:[${OUT + 8}], bx
  mov ax, 0x23
  mov ds, ax
  int 0x80
after_int:
  mov [${OUT + 12}], esp
  mov ecx, 0x2fe000
  mov edx, offset after_sysexit
  mov eax, 1
  sysenter
after_sysexit:
  mov [${OUT + 16}], esp
  mov ax, cs
  mov [${OUT + 20}], ax
  mov ax, ss
  mov [${OUT + 22}], ax
  mov eax, 2
  sysenter
cg_entry:
  mov [${OUT + 0x20}], esp
  mov ax, ss
  mov [${OUT + 0x24}], ax
  mov ecx, 0
1:
  mov eax, [esp + ecx * 4]
  mov [${OUT + 0x100} + ecx * 4], eax
  inc ecx
  cmp ecx, 6
  jne 1b
  mov ax, 0x10
  mov ds, ax
  retf 8
int80:
  mov ecx, 0
1:
  mov eax, [esp + ecx * 4]
  mov [${OUT + 0x140} + ecx * 4], eax
  inc ecx
  cmp ecx, 5
  jne 1b
  iretd
sysenter_entry:
  cmp eax, 2
  je done
  mov [${OUT + 0x30}], esp
  mov ax, cs
  mov [${OUT + 0x34}], ax
  mov ax, ss
  mov [${OUT + 0x36}], ax
  sysexit
done:
  hlt`, { 0x80: ['int80', 3] }, { callGate: 'cg_entry' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s, 'sysenter_entry') });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.u16(OUT)).toBe(0); // IRETD to ring 3 nulled DS (DPL 0)
    // Call gate (RPL 3 selector 0x33): SS:ESP switched from the TSS, two dwords copied.
    expect(r.u32(OUT + 0x20)).toBe(RSP0 - 24);
    expect(r.u16(OUT + 0x24)).toBe(0x10);
    const cg = [0, 1, 2, 3, 4, 5].map((i) => r.u32(OUT + 0x100 + i * 4));
    expect(cg).toEqual([r.sym('after_cg'), 0x1b, 0x22222222, 0x11111111, 0x2feff8, 0x23]);
    // RETF 8 to ring 3 released the parameters; DS (set to kernel data) was nulled.
    expect(r.u32(OUT + 4)).toBe(0x2ff000);
    expect(r.u16(OUT + 8)).toBe(0);
    // INT 0x80 frame: EIP, CS, EFLAGS, ESP, SS.
    const f = [0, 1, 2, 3, 4].map((i) => r.u32(OUT + 0x140 + i * 4));
    // EFLAGS as the kernel's loop left them (a far CALL/RETF does not save flags): ZF PF IF.
    expect(f).toEqual([r.sym('after_int'), 0x1b, 0x246, 0x2ff000, 0x23]);
    expect(r.u32(OUT + 12)).toBe(0x2ff000);
    // SYSENTER: flat ring-0 CS/SS from IA32_SYSENTER_CS, ESP from IA32_SYSENTER_ESP.
    expect(r.u32(OUT + 0x30)).toBe(0x1e0000);
    expect(r.u16(OUT + 0x34)).toBe(0x08);
    expect(r.u16(OUT + 0x36)).toBe(0x10);
    // SYSEXIT: CS = SYSENTER_CS + 16 | 3, SS = + 24 | 3, ESP = ECX.
    expect(r.u32(OUT + 16)).toBe(0x2fe000);
    expect(r.u16(OUT + 20)).toBe(0x1b);
    expect(r.u16(OUT + 22)).toBe(0x23);
    expect(r.cpu.rflags & 0x200).toBe(0); // SYSENTER cleared IF
    expect(r.rings).toEqual([
      { from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'far-call' }, { from: 0, to: 3, via: 'far-ret' },
      { from: 3, to: 0, via: 'int' }, { from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'sysenter' },
      { from: 0, to: 3, via: 'sysexit' }, { from: 3, to: 0, via: 'sysenter' },
    ]);
    expect(r.exceptions).toEqual([]);
  });

  it('INT 0x80 from ring 3 writes its frame to a supervisor-only stack page (at the new CPL)', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  push 0x23
  push 0x2ff000
  push 0x202
  push 0x1b
  push offset user
  iretd
user:
  int 0x80
  hlt
int80:
  mov eax, [esp]
  mov ebx, esp
  hlt`, { 0x80: ['int80', 3], 14: 'pf' }) + '\npf:\n  hlt\n';
    const r = runSystem(src, 'prot32', {
      setup: (c, s) => {
        setupProt32(c, s);
        // 32-bit paging, identity map of the first 4 MiB with 4 KiB pages: all user pages
        // except 0x1E0000-0x1EFFFF, the ring-0 stack below ESP0.
        const pd = 0x300000, pt = 0x301000;
        c.mem.write32(pd, pt | 7);
        for (let i = 0; i < 1024; i++) {
          const a = i * 4096;
          c.mem.write32(pt + i * 4, a | (a >= 0x1e0000 && a < 0x1f0000 ? 3 : 7));
        }
        c.cr3lo = pd;
        c.cr0 |= 0x80000000;
        c.flushTlb(true);
      },
    });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.exceptions).toEqual([]);
    expect(r.reg('rbx')).toBe(BigInt(RSP0 - 20));
    expect(r.reg('rax')).toBe(BigInt(r.sym('user') + 2));
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'int' }]);
  });

  it('JMP through a call gate and direct far CALL/RETF keep the privilege level', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  call 0x08:callee
after_call:
  jmp 0x40:0
jg_target:
  mov ebx, esp
  hlt
callee:
  mov eax, [esp]
  mov ecx, [esp + 4]
  retf`, {}, { jmpGate: 'jg_target' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(BigInt(r.sym('after_call')));
    expect(r.reg('rcx')).toBe(0x08n);
    expect(r.reg('rbx')).toBe(BigInt(RSP0));
    expect(r.cpu.segSel[CS]).toBe(0x08);
    expect(r.rings).toEqual([]);
  });

  it('a far JMP to a TSS is an unsupported stop (hardware task switch)', () => {
    const src = prot32(`
  jmp 0x28:0
  hlt`, {});
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/hardware task switch/);
  });

  it('IRET with NT=1 is an unsupported stop (task return)', () => {
    const src = prot32(`
  push 0x4002
  push 0x08
  push offset 1f
  iretd
1:
  hlt`, {});
    const r = runSystem(src, 'prot32', {
      setup: (c, s) => { setupProt32(c, s); c.rflags = 0x4002; },
    });
    expect(r.exit).toBe(Exit.Fatal);
    expect(r.cpu.stop?.message).toMatch(/IRET with EFLAGS.NT=1/);
  });

  it('RETF to an outer level with a DPL-0 SS is #GP(SS selector)', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  push 0x13
  push 0x2ff000
  push 0x1b
  push offset user
retf_insn:
  retf
user:
  hlt
gp_handler:
  mov eax, [esp]
  mov ebx, [esp + 4]
  hlt`, { 13: 'gp_handler' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0x10n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('retf_insn')));
    expect(r.rings).toEqual([]);
  });
});

describe('virtual-8086 mode', () => {
  const vm86 = (iopl: number) => prot32(`
  mov esp, ${RSP0}
  push 0x5000
  push 0x4000
  push 0x2000
  push 0x3000
  push 0x2000
  push 0x1000
  push ${0x20202 | (iopl << 12)}
  push 0xffff
  push vm86code - start + 0x10
  iretd
.code16
vm86code:
  mov ax, 0x1234
  mov ds:[0x10], ax
int_insn:
  int 0x80
.code32
after:
  hlt
handler:
  mov dx, ds
  mov bx, es
  mov ax, 0x10
  mov ds, ax
  mov ecx, 0
1:
  mov eax, [esp + ecx * 4]
  mov [${OUT} + ecx * 4], eax
  inc ecx
  cmp ecx, 10
  jne 1b
  hlt`, { 13: 'handler', 0x80: ['handler', 3] });

  it('enters VM86 with IRETD and leaves it with INT n (IOPL 3)', () => {
    const r = runSystem(vm86(3), 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.u16(0x20010)).toBe(0x1234); // DS = 0x2000 in VM86: base 0x20000
    const f = Array.from({ length: 9 }, (_, i) => r.u32(OUT + i * 4));
    const ip = r.sym('int_insn') + 2 - 0xffff0;
    expect(f).toEqual([ip, 0xffff, 0x23202, 0x1000, 0x2000, 0x3000, 0x2000, 0x4000, 0x5000]);
    expect(r.reg('rdx') & 0xffffn).toBe(0n); // DS, ES are null on entry to the handler
    expect(r.reg('rbx') & 0xffffn).toBe(0n);
    expect(r.cpu.segSel[ES]).toBe(0);
    expect(r.cpu.segSel[FS]).toBe(0);
    expect(r.cpu.segSel[SS]).toBe(0x10);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'int' }]);
  });

  it('INT n in VM86 with IOPL < 3 is #GP(0) to the monitor', () => {
    const r = runSystem(vm86(0), 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    const f = Array.from({ length: 10 }, (_, i) => r.u32(OUT + i * 4));
    expect(f).toEqual([0, r.sym('int_insn') - 0xffff0, 0xffff, 0x20202, 0x1000, 0x2000, 0x3000, 0x2000, 0x4000, 0x5000]);
    expect(r.exceptions).toEqual([{ vector: 13, errorCode: 0 }]);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'exception' }]);
  });
});

describe('exception-raising instructions', () => {
  it('INT3, INTO, INT1 and UD2 deliver #BP, #OF, #DB and #UD with the right return EIPs', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  mov edi, ${OUT}
  int3
after_bp:
  mov eax, 0x7fffffff
  add eax, 1
  into
after_of:
  int1
after_db:
ud_insn:
  ud2
after_ud:
  mov eax, 1
  add eax, 1
  into
  hlt
rec:
  mov eax, [esp]
  mov [edi], eax
  add edi, 4
  iretd
ud_handler:
  mov eax, [esp]
  mov [edi], eax
  add edi, 4
  add dword ptr [esp], 2
  iretd`, { 1: 'rec', 3: ['rec', 3], 4: ['rec', 3], 6: 'ud_handler' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    const got = [0, 1, 2, 3].map((i) => r.u32(OUT + i * 4));
    expect(got).toEqual([r.sym('after_bp'), r.sym('after_of'), r.sym('after_db'), r.sym('ud_insn')]);
    expect(r.u32(OUT + 16)).toBe(0); // INTO with OF = 0 does nothing
    expect(r.exceptions).toEqual([
      { vector: 3, errorCode: -1 }, { vector: 4, errorCode: -1 }, { vector: 1, errorCode: -1 }, { vector: 6, errorCode: -1 },
    ]);
  });

  it('INT 13 from ring 3 to the DPL-0 #GP gate is one #GP(13*8+2), not a double fault', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  push 0x23
  push 0x2ff000
  push 0x202
  push 0x1b
  push offset user
  iretd
user:
int_insn:
  int 13
  hlt
gp_handler:
  mov eax, [esp]
  mov ebx, [esp + 4]
  hlt
df_handler:
  hlt`, { 8: 'df_handler', 13: 'gp_handler' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(BigInt(13 * 8 + 2));
    expect(r.reg('rbx')).toBe(BigInt(r.sym('int_insn')));
    expect(r.exceptions).toEqual([{ vector: 13, errorCode: 13 * 8 + 2 }]);
  });

  it('a far JMP to a not-present segment is #NP(selector)', () => {
    const src = prot32(`
  mov esp, ${RSP0}
np_insn:
  jmp 0x38:0
  hlt
np_handler:
  mov eax, [esp]
  mov ebx, [esp + 4]
  hlt`, { 11: 'np_handler' });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0x38n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('np_insn')));
  });
});
