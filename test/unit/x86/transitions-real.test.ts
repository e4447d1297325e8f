// Far transfers and interrupts in real-address mode (IVT, IRET, far CALL /
// RETF / JMP with selector × 16) and an IRET executed inside virtual-8086 mode.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { CS } from '../../../src/engine/x86/regs';
import { runSystem } from '../../support/ring-harness';
import { prot32, setupProt32, RSP0, OUT } from '../../support/sys-layout';

const ip = (addr: number): number => addr - 0x100000;

describe('real-address mode', () => {
  it('INT n through the IVT, IRET, far CALL/RETF and far JMP', () => {
    const src = `
start:
  xor ax, ax
  mov ds, ax
  mov ss, ax
  mov sp, 0x8000
  mov word ptr [0x21 * 4], handler - start
  mov word ptr [0x21 * 4 + 2], 0x1000
  int 0x21
after_int:
  call 0x1000:(farproc - start)
after_call:
  jmp 0x1000:(fj - start)
  hlt
fj:
  mov cx, 0x7777
  .byte 0x66, 0x68
  .long 0xfffffeff
  .byte 0x66, 0x68
  .long 0x1000
  .byte 0x66, 0x68
  .long fin - start
  iretd
fin:
  hlt
handler:
  mov bp, sp
  mov ax, [bp]
  mov [0x600], ax
  mov ax, [bp + 2]
  mov [0x602], ax
  mov ax, [bp + 4]
  mov [0x604], ax
  mov [0x606], sp
  iret
farproc:
  mov bp, sp
  mov ax, [bp]
  mov [0x610], ax
  mov ax, [bp + 2]
  mov [0x612], ax
  mov dx, 0x4242
  retf`;
    const r = runSystem(src, 'real');
    expect(r.exit).toBe(Exit.Halted);
    expect([r.u16(0x600), r.u16(0x602), r.u16(0x604), r.u16(0x606)])
      .toEqual([ip(r.sym('after_int')), 0x1000, 0x46, 0x8000 - 6]);
    expect([r.u16(0x610), r.u16(0x612)]).toEqual([ip(r.sym('after_call')), 0x1000]);
    expect(r.reg('rdx') & 0xffffn).toBe(0x4242n);
    expect(r.reg('rcx') & 0xffffn).toBe(0x7777n);
    expect(r.reg('rsp') & 0xffffn).toBe(0x8000n);
    // IRETD in real mode: EFLAGS = (image & 0x257FD5) | (EFLAGS & 0x1A0000), bit 1 set.
    expect(r.cpu.rflags).toBe(0x257ed7);
    expect(r.cpu.segSel[CS]).toBe(0x1000);
    expect(r.rings).toEqual([]);
  });
});

describe('IRET inside virtual-8086 mode', () => {
  it('stays in VM86 with IOPL 3 (IOPL preserved from EFLAGS, not the image)', () => {
    const src = prot32(`
  mov esp, ${RSP0}
  push 0
  push 0
  push 0
  push 0
  push 0x2000
  push 0x1000
  push 0x23202
  push 0xffff
  push vm86code - start + 0x10
  iretd
.code16
vm86code:
  push 0x0002
  push 0xffff
  push target - start + 0x10
  iret
  hlt
target:
  mov bx, 0x5a5a
  int 0x80
.code32
handler:
  mov eax, [esp + 8]
  hlt`, { 0x80: ['handler', 3] });
    const r = runSystem(src, 'prot32', { setup: (c, s) => setupProt32(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rbx') & 0xffffn).toBe(0x5a5an);
    // EFLAGS in the INT frame: VM, IOPL 3 kept; IF cleared by the 16-bit image.
    expect(r.reg('rax')).toBe(0x23002n);
    expect(r.u32(OUT)).toBe(0);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'int' }]);
  });
});
