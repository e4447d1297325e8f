// Ring transitions in long mode, through real GDT/IDT/TSS structures the
// snippets assemble: IRETQ to ring 3, INT 0x80 through a DPL-3 gate, SYSCALL
// and SYSRET, a 64-bit call gate with RETFQ back, and the faults on the way
// (#GP for a DPL-0 gate, #UD for SYSCALL with EFER.SCE = 0, #GP for a
// non-canonical IRETQ/SYSRET target, #NP for a far jump to an absent segment).
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { CS, SS, DS, GS, FS } from '../../../src/engine/x86/regs';
import { runSystem } from '../../support/ring-harness';
import { long64, setupLong64, RSP0, OUT } from '../../support/sys-layout';
import {
  getMsr, setMsrRaw, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_STAR, MSR_SYSENTER_CS, MSR_SYSENTER_ESP,
  MSR_SYSENTER_EIP,
} from '../../../src/engine/x86/msr-store';

/** Kernel prologue: a ring-0 stack, then IRETQ to `user` at CPL 3 with RFLAGS = `flags`. */
const toUser = (flags = '0x2d7') => `
  mov rsp, ${RSP0}
  push 0x23
  push 0x2ff000
  push ${flags}
  push 0x2b
  lea rax, [rip + user]
  push rax
  iretq`;

describe('long mode ring transitions', () => {
  it('IRETQ to ring 3, INT 0x80 through a DPL-3 gate and back, then SYSCALL', () => {
    const src = long64(`${toUser()}
user:
  mov rbx, 0x1234
  int 0x80
user2:
  mov [${OUT + 0x20}], rsp
  mov ax, cs
  mov [${OUT + 0x28}], ax
  mov rax, 60
syscall_insn:
  syscall
after_syscall:
  hlt
int80:
  mov [${OUT}], rsp
  mov ax, ss
  mov [${OUT + 8}], ax
  mov ax, cs
  mov [${OUT + 10}], ax
  iretq
sysentry:
  mov ax, cs
  mov [${OUT + 0x30}], ax
  mov ax, ss
  mov [${OUT + 0x32}], ax
  hlt`, { 0x80: ['int80', 3] });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s, 'sysentry') });
    expect(r.exit).toBe(Exit.Halted);
    // The INT 0x80 frame on the RSP0 stack: RIP, CS, RFLAGS, RSP, SS.
    const frame = RSP0 - 40;
    expect(r.u64(OUT)).toBe(BigInt(frame));
    expect(r.u64(frame)).toBe(BigInt(r.sym('user2')));
    expect(r.u64(frame + 8)).toBe(0x2bn);
    expect(r.u64(frame + 16)).toBe(0x2d7n);
    expect(r.u64(frame + 24)).toBe(0x2ff000n);
    expect(r.u64(frame + 32)).toBe(0x23n);
    expect(r.u16(OUT + 8)).toBe(0); // SS is null (RPL 0) after a privilege change in IA-32e mode
    expect(r.u16(OUT + 10)).toBe(0x08);
    // Back in ring 3 after IRETQ.
    expect(r.u64(OUT + 0x20)).toBe(0x2ff000n);
    expect(r.u16(OUT + 0x28)).toBe(0x2b);
    // SYSCALL: RCX = next RIP, R11 = RFLAGS, RFLAGS masked by FMASK (IF cleared), CS/SS from STAR.
    expect(r.reg('rcx')).toBe(BigInt(r.sym('after_syscall')));
    expect(r.reg('r11')).toBe(0x2d7n);
    expect(r.cpu.rflags).toBe(0x0d7);
    expect(r.u16(OUT + 0x30)).toBe(0x08);
    expect(r.u16(OUT + 0x32)).toBe(0x10);
    expect(r.reg('rsp')).toBe(0x2ff000n); // SYSCALL does not switch stacks
    expect(r.cpu.cpl).toBe(0);
    expect(r.rings).toEqual([
      { from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'int' },
      { from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'syscall' },
    ]);
    expect(r.exceptions).toEqual([]);
  });

  it('SYSRETQ returns to 64-bit ring 3 with RFLAGS from R11 (RF, VM cleared)', () => {
    const src = long64(`
  lea rcx, [rip + user]
  mov r11, 0x30ad7
  mov rsp, 0x2ff000
  sysretq
user:
  mov ax, ss
  mov [${OUT}], ax
  syscall
sysentry:
  hlt`, {});
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s, 'sysentry') });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.u16(OUT)).toBe(0x23);
    // R11 as SYSCALL saved it: the flags SYSRET loaded, i.e. 0x30ad7 minus RF (bit 16) and VM (bit 17).
    expect(r.reg('r11')).toBe(0x0ad7n);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'sysret' }, { from: 3, to: 0, via: 'syscall' }]);
  });

  it('SYSEXITQ to 64-bit ring 3 and SYSENTER back into 64-bit ring 0', () => {
    const src = long64(`
  mov rcx, 0x2fe000
  lea rdx, [rip + user]
  sysexitq
user:
  mov [${OUT}], rsp
  mov ax, cs
  mov [${OUT + 8}], ax
  mov ax, ss
  mov [${OUT + 10}], ax
  sysenter
entry:
  hlt`, {});
    const r = runSystem(src, 'long64', {
      setup: (c, s) => {
        setupLong64(c, s);
        setMsrRaw(c, MSR_SYSENTER_CS, 0x08, 0);
        setMsrRaw(c, MSR_SYSENTER_ESP, 0x1e0000, 0);
        setMsrRaw(c, MSR_SYSENTER_EIP, s('entry'), 0);
      },
    });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.u64(OUT)).toBe(0x2fe000n);
    expect(r.u16(OUT + 8)).toBe(0x2b); // SYSENTER_CS + 32, RPL 3
    expect(r.u16(OUT + 10)).toBe(0x33); // SYSENTER_CS + 40, RPL 3
    expect(r.reg('rsp')).toBe(0x1e0000n);
    expect(r.cpu.segSel[CS]).toBe(0x08);
    expect(r.cpu.segSel[SS]).toBe(0x10);
    expect(r.cpu.modeName).toBe('long');
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'sysexit' }, { from: 3, to: 0, via: 'sysenter' }]);
  });

  it('calls a 64-bit call gate from ring 3 and returns with RETFQ, nulling DS', () => {
    const src = long64(`${toUser('0x202')}
user:
  mov ax, ds
  mov [${OUT}], ax
  call fword ptr [rip + gateptr]
back:
  mov [${OUT + 8}], rsp
  mov ax, ds
  mov [${OUT + 16}], ax
  mov ax, cs
  mov [${OUT + 18}], ax
  syscall
gateptr:
  .long 0
  .word 0x4b
cg_entry:
  mov [${OUT + 0x20}], rsp
  mov ax, ss
  mov [${OUT + 0x28}], ax
  mov ax, cs
  mov [${OUT + 0x2a}], ax
  mov ax, 0x10
  mov ds, ax
  retfq
sysentry:
  hlt`, {}, 'cg_entry');
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s, 'sysentry') });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.u16(OUT)).toBe(0); // IRETQ to ring 3 nulled DS (kernel data, DPL 0)
    // Call-gate frame on RSP0: RIP, CS, RSP, SS in 8-byte slots, no alignment.
    const frame = RSP0 - 32;
    expect(r.u64(OUT + 0x20)).toBe(BigInt(frame));
    expect(r.u64(frame)).toBe(BigInt(r.sym('back')));
    expect(r.u64(frame + 8)).toBe(0x2bn);
    expect(r.u64(frame + 16)).toBe(0x2ff000n);
    expect(r.u64(frame + 24)).toBe(0x23n);
    expect(r.u16(OUT + 0x28)).toBe(0);
    expect(r.u16(OUT + 0x2a)).toBe(0x08);
    // RETFQ to ring 3: user stack back, DS (DPL 0) nulled again.
    expect(r.u64(OUT + 8)).toBe(0x2ff000n);
    expect(r.u16(OUT + 16)).toBe(0);
    expect(r.u16(OUT + 18)).toBe(0x2b);
    expect(r.rings).toEqual([
      { from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'far-call' },
      { from: 0, to: 3, via: 'far-ret' }, { from: 3, to: 0, via: 'syscall' },
    ]);
  });

  it('goes to compatibility mode with SYSRETD; SYSCALL there is #UD (Intel)', () => {
    const src = long64(`
  mov rsp, 0x2ff000
  lea rcx, [rip + compat]
  mov r11, 0x202
  .byte 0x0f, 0x07
.code32
compat:
  mov eax, 0xabcd
syscall32:
  syscall
.code64
ud_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  mov rcx, [rsp + 24]
  mov rdx, [rsp + 32]
  hlt`, { 6: 'ud_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(BigInt(r.sym('syscall32')));
    expect(r.reg('rbx')).toBe(0x1bn);
    expect(r.reg('rcx')).toBe(0x2ff000n);
    expect(r.reg('rdx')).toBe(0x23n);
    expect(r.modes).toEqual(['long->compat', 'compat->long']);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'sysret' }, { from: 3, to: 0, via: 'exception' }]);
    expect(r.exceptions).toEqual([{ vector: 6, errorCode: -1 }]);
  });

  it('far CALL m16:32 into 32-bit code (compatibility mode) and RETF back to 64-bit mode', () => {
    const src = long64(`
  mov rsp, 0x1f0000
  call fword ptr [rip + ptr32]
back:
  mov rbx, rsp
  hlt
ptr32:
  .long compat32 - start + 0x100000
  .word 0x58
.code32
compat32:
  mov eax, [esp]
  mov ecx, [esp + 4]
  retf
.code64`, {});
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(BigInt(r.sym('back'))); // 4-byte EIP pushed
    expect(r.reg('rcx')).toBe(0x08n); // then the 4-byte CS slot
    expect(r.reg('rbx')).toBe(0x1f0000n);
    expect(r.modes).toEqual(['long->compat', 'compat->long']);
    expect(r.rings).toEqual([]);
  });

  it('REX.W far JMP m16:64 to a non-canonical 64-bit target is #GP(0)', () => {
    const src = long64(`
  mov rsp, 0x1f0000
jmp_insn:
  rex64 jmp fword ptr [rip + ptr64]
  hlt
ptr64:
  .quad 0x0000800000000000
  .word 0x08
gp_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  hlt`, { 13: 'gp_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('jmp_insn')));
    expect(r.exceptions).toEqual([{ vector: 13, errorCode: 0 }]);
  });
});

describe('long mode transition faults', () => {
  it('INT n to a DPL-0 gate from ring 3 is #GP(vector*8+2)', () => {
    const src = long64(`${toUser('0x202')}
user:
int_insn:
  int 0x81
  hlt
gp_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  mov rcx, [rsp + 16]
  hlt
never:
  hlt`, { 13: 'gp_handler', 0x81: 'never' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(BigInt(0x81 * 8 + 2));
    expect(r.reg('rbx')).toBe(BigInt(r.sym('int_insn')));
    expect(r.reg('rcx')).toBe(0x2bn);
    expect(r.exceptions).toEqual([{ vector: 13, errorCode: 0x40a }]);
    expect(r.rings).toEqual([{ from: 0, to: 3, via: 'iret' }, { from: 3, to: 0, via: 'exception' }]);
  });

  it('SYSCALL with EFER.SCE = 0 is #UD', () => {
    const src = long64(`
  mov rsp, 0x1f0000
sc:
  syscall
  hlt
ud_handler:
  mov rbx, [rsp]
  hlt`, { 6: 'ud_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => { setupLong64(c, s); c.efer &= ~1; } });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('sc')));
    expect(r.exceptions).toEqual([{ vector: 6, errorCode: -1 }]);
  });

  it('IRETQ to a non-canonical RIP is #GP(0) with nothing popped', () => {
    const src = long64(`
  mov rsp, 0x1f0000
  push 0x23
  push 0x2ff000
  push 0x202
  push 0x2b
  mov rax, 0x0000800000000000
  push rax
iret_insn:
  iretq
gp_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  mov rcx, [rsp + 16]
  mov rdx, rsp
  hlt`, { 13: 'gp_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('iret_insn')));
    expect(r.reg('rcx')).toBe(0x08n);
    // The #GP frame sits below the untouched IRETQ frame (0x1f0000 - 40, aligned down to 16).
    expect(r.reg('rdx')).toBe(BigInt(0x1effd0 - 48));
    expect(r.rings).toEqual([]);
    expect(r.cpu.cpl).toBe(0);
  });

  it('SYSRETQ with a non-canonical RCX faults in ring 0 (Intel)', () => {
    const src = long64(`
  mov rsp, 0x1f0000
  mov rcx, 0x0000800000000000
  mov r11, 0x202
sr:
  sysretq
gp_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  mov rcx, [rsp + 16]
  hlt`, { 13: 'gp_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('sr')));
    expect(r.reg('rcx')).toBe(0x08n);
    expect(r.rings).toEqual([]);
  });

  it('a far JMP to a not-present code segment is #NP(selector)', () => {
    const src = long64(`
  mov rsp, 0x1f0000
np_insn:
  jmp fword ptr [rip + farptr]
  hlt
farptr:
  .long 0
  .word 0x40
np_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 8]
  hlt`, { 11: 'np_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0x40n);
    expect(r.reg('rbx')).toBe(BigInt(r.sym('np_insn')));
    expect(r.cpu.segSel[CS]).toBe(0x08);
    expect(r.exceptions).toEqual([{ vector: 11, errorCode: 0x40 }]);
  });

  it('an interrupt gate with IST 1 switches to the IST stack, aligned', () => {
    const src = long64(`
  mov rsp, 0x1f0008
  int 0x20
  hlt
ist_handler:
  mov rbx, rsp
  hlt`, {});
    // Vector 0x20: DPL 0 gate with IST = 1 (patched into the IDT below).
    const r = runSystem(src, 'long64', {
      setup: (c, s) => {
        setupLong64(c, s);
        const a = 0x101000 + 0x20 * 16, h = s('ist_handler');
        c.mem.write32(a, (h & 0xffff) | (0x08 << 16));
        c.mem.write32(a + 4, (h & 0xffff0000) | 0xee01); // P, DPL 3, type 14, IST 1
        c.mem.write32(a + 8, 0);
      },
    });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rbx')).toBe(BigInt(0x1e8000 - 40));
    expect(r.u64(0x1e8000 - 8)).toBe(0x10n); // SS: no privilege change, the boot data selector
    expect(r.u64(0x1e8000 - 16)).toBe(0x1f0008n); // the interrupted RSP
  });
});

describe('SWAPGS and the MSR store', () => {
  it('swaps GS base with IA32_KERNEL_GS_BASE; FS/GS_BASE are the segment bases', () => {
    const src = long64(`
  mov rax, gs:[0]
  swapgs
  mov rbx, gs:[0]
  swapgs
  mov rcx, gs:[0]
  hlt`, {});
    const r = runSystem(src, 'long64', {
      setup: (c, s) => {
        setupLong64(c, s);
        setMsrRaw(c, MSR_GS_BASE, OUT + 0x100, 0);
        setMsrRaw(c, MSR_KERNEL_GS_BASE, OUT + 0x200, 0);
        c.mem.write32(OUT + 0x100, 0x1111); c.mem.write32(OUT + 0x200, 0x2222);
      },
    });
    expect(r.exit).toBe(Exit.Halted);
    expect([r.reg('rax'), r.reg('rbx'), r.reg('rcx')]).toEqual([0x1111n, 0x2222n, 0x1111n]);
    expect(r.cpu.segBase[GS]).toBe(OUT + 0x100);
    expect(getMsr(r.cpu, MSR_KERNEL_GS_BASE)).toEqual({ lo: OUT + 0x200, hi: 0 });
    // A negative canonical base round-trips through the signed-number segment base.
    setMsrRaw(r.cpu, MSR_FS_BASE, 0xfffff000 | 0, 0xffff8000 | 0);
    expect(r.cpu.segBase[FS]).toBe(-(2 ** 47) + 0xfffff000);
    expect(getMsr(r.cpu, MSR_FS_BASE)).toEqual({ lo: 0xfffff000 | 0, hi: 0xffff8000 | 0 });
    expect(getMsr(r.cpu, MSR_STAR)).toEqual({ lo: 0, hi: 0x00180008 });
    expect(getMsr(r.cpu, 0x1234)).toEqual({ lo: 0, hi: 0 });
    setMsrRaw(r.cpu, 0x1234, -1, 5);
    expect(getMsr(r.cpu, 0x1234)).toEqual({ lo: -1, hi: 5 });
  });

  it('SWAPGS at CPL 3 is #GP(0)', () => {
    const src = long64(`${toUser('0x202')}
user:
  swapgs
  hlt
gp_handler:
  mov rax, [rsp]
  mov rbx, [rsp + 16]
  hlt`, { 13: 'gp_handler' });
    const r = runSystem(src, 'long64', { setup: (c, s) => setupLong64(c, s) });
    expect(r.exit).toBe(Exit.Halted);
    expect(r.reg('rax')).toBe(0n);
    expect(r.reg('rbx')).toBe(0x2bn);
    expect(r.cpu.segSel[SS]).toBe(0);
    expect(r.cpu.segSel[DS]).toBe(0);
  });
});
