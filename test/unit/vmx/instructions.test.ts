// The VMX instructions in VMX root operation and outside it: every #UD/#GP
// condition, VMsucceed / VMfailInvalid / VMfailValid(n) with the error
// numbers (SDM vol. 3 "VMX Instruction Reference"), the VMCS region in guest
// memory, and the capability MSRs the snippets read.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import {
  runRaw, userPages, toRing3, VMX_ON_ASM, VMXON_REGION, VMCS_REGION, VMCS2_REGION, SCRATCH, CF, ZF, arith, field,
} from '../../support/vmx-harness';
import { VMCS_REVISION } from '../../../src/engine/vmx/capabilities';

const ERR = field('VM_INSTRUCTION_ERROR');
const on = VMX_ON_ASM;

describe('VMXON', () => {
  it('VMsucceed enters VMX root operation (mode record), VMXON again is VMfailInvalid without a VMCS', () => {
    const r = runRaw(`${on}
      SAVEF 0
      vmxon qword ptr [ptr_vmxon]
      SAVEF 1
      hlt`);
    expect(arith(r.slot(0))).toBe(0n);
    expect(arith(r.slot(1))).toBe(CF);
    expect(r.cpu.vmx.on).toBe(true);
    expect(r.cpu.vmx.vmxonPtr).toBe(VMXON_REGION);
    expect(r.records.filter((x) => x.type === 'mode').map((x) => x.type === 'mode' && `${x.from}->${x.to}`)).toEqual(['long->vmx-root']);
  });

  it('VMXON in root operation with a current VMCS is VMfailValid(15)', () => {
    const r = runRaw(`${on}
      vmptrld qword ptr [ptr_vmcs]
      vmxon qword ptr [ptr_vmxon]
      SAVEF 0
      hlt`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(15);
  });

  it('#UD with CR4.VMXE = 0', () => {
    const r = runRaw(`vmxon qword ptr [ptr_vmxon]\n hlt`);
    expect(r.firstException()).toBe(6);
  });

  it('#UD in compatibility mode', () => {
    const r = runRaw(`
      push 0x18
      lea rax, [rip + compat]
      push rax
      retfq
      .code32
compat:
      vmxon qword ptr [ptr_vmxon]
      hlt
      .code64`, { setup: (vm) => { vm.cpu.cr4 |= 0x2000; } });
    expect(r.firstException()).toBe(6);
  });

  it.each([
    ['IA32_FEATURE_CONTROL unlocked', 0],
    ['IA32_FEATURE_CONTROL locked without VMX outside SMX', 1],
  ])('#GP(0) with %s', (_n, fc) => {
    const r = runRaw(`
      mov rax, cr0
      or eax, 0x20
      mov cr0, rax
      mov rax, cr4
      or eax, 0x2000
      mov cr4, rax
      mov ecx, 0x3a
      mov eax, ${fc}
      xor edx, edx
      ${fc ? 'wrmsr' : ''}
      mov dword ptr [${VMXON_REGION}], ${VMCS_REVISION}
      vmxon qword ptr [ptr_vmxon]
      hlt`);
    expect(r.firstException()).toBe(13);
    expect(r.cpu.vmx.on).toBe(false);
  });

  it('#GP(0) when CR0 is not allowed in VMX operation (CR0.NE = 0)', () => {
    const r = runRaw(`${on.replace('or eax, 0x20', 'and eax, ~0x20').replace('vmxon', 'mov dword ptr [0], 0\n vmxon')}\n hlt`);
    expect(r.firstException()).toBe(13);
  });

  it('#GP(0) at CPL 3', () => {
    const r = runRaw(`
      mov ecx, 0x3a
      mov eax, 5
      xor edx, edx
      wrmsr
      mov rax, cr0
      or eax, 0x20
      mov cr0, rax
      mov rax, cr4
      or eax, 0x2000
      mov cr4, rax
      hlt
user:
      vmxon qword ptr [ptr_vmxon]
      hlt`, { setup: (vm) => userPages(vm) });
    r.cpu.halted = false;
    toRing3(r.cpu, r.at.user!);
    r.vm.run(1000);
    expect(r.records.find((x) => x.type === 'exception')).toMatchObject({ vector: 13, errorCode: 0 });
  });

  it.each([
    ['an unaligned pointer', 'mov qword ptr [ptr_vmxon], 0x300010'],
    ['a pointer beyond the physical-address width', 'mov rax, 0x10000000000\n mov qword ptr [ptr_vmxon], rax'],
    ['a region with the wrong revision identifier', 'mov dword ptr [0x300000], 0x12345'],
    ['a region with bit 31 of the revision set', 'or dword ptr [0x300000], 0x80000000'],
  ])('VMfailInvalid for %s', (_n, change) => {
    const r = runRaw(on.replace('vmxon', `${change}\n vmxon`).replace('jbe setup_failed', 'SAVEF 0') + '\n hlt');
    expect(arith(r.slot(0))).toBe(CF);
    expect(r.cpu.vmx.on).toBe(false);
  });
});

describe('VMXOFF', () => {
  it('#UD outside VMX operation', () => {
    expect(runRaw('vmxoff\n hlt').firstException()).toBe(6);
  });

  it('leaves VMX operation; CR4.VMXE cannot be cleared before', () => {
    const r = runRaw(`${on}
      mov rax, cr4
      and eax, ~0x2000
      lea rbx, [rip + after]
      mov qword ptr [${SCRATCH} + 8], 1
      vmxoff
      SAVEF 0
      mov cr4, rax
      mov qword ptr [${SCRATCH} + 8], 2
      hlt
after:
      hlt`);
    expect(arith(r.slot(0))).toBe(0n);
    expect(r.cpu.vmx.on).toBe(false);
    expect(r.slot(1)).toBe(2n);
    expect(r.cpu.cr4 & 0x2000).toBe(0);
    expect(r.records.filter((x) => x.type === 'mode').map((x) => x.type === 'mode' && x.to)).toEqual(['vmx-root', 'long']);
  });

  it('MOV to CR4 clearing VMXE in VMX operation is #GP(0); clearing CR0.NE too', () => {
    const a = runRaw(`${on}\n mov rax, cr4\n and eax, ~0x2000\n mov cr4, rax\n hlt`);
    expect(a.firstException()).toBe(13);
    expect(a.cpu.cr4 & 0x2000).toBe(0x2000);
    const b = runRaw(`${on}\n mov rax, cr0\n and eax, ~0x20\n mov cr0, rax\n hlt`);
    expect(b.firstException()).toBe(13);
  });
});

describe('VMCLEAR, VMPTRLD, VMPTRST', () => {
  it('VMPTRLD makes a VMCS current, VMPTRST stores its address, VMCLEAR writes it back and clears current', () => {
    const r = runRaw(`${on}
      vmptrst qword ptr [${SCRATCH} + 0]
      vmptrld qword ptr [ptr_vmcs]
      SAVEF 1
      vmptrst qword ptr [${SCRATCH} + 16]
      mov eax, 0x681e
      mov rbx, 0x123456789a
      vmwrite rax, rbx
      vmclear qword ptr [ptr_vmcs]
      SAVEF 3
      vmptrst qword ptr [${SCRATCH} + 32]
      vmptrld qword ptr [ptr_vmcs]
      mov eax, 0x681e
      vmread rcx, rax
      SAVE 5, rcx
      hlt`);
    expect(r.slot(0)).toBe(0xffffffffffffffffn);
    expect(arith(r.slot(1))).toBe(0n);
    expect(r.slot(2)).toBe(BigInt(VMCS_REGION));
    expect(arith(r.slot(3))).toBe(0n);
    expect(r.slot(4)).toBe(0xffffffffffffffffn);
    expect(r.slot(5)).toBe(0x123456789an); // read back from the region in memory
    expect(r.vm.mem.read32(VMCS_REGION + 8)).toBe(0); // launch state clear
  });

  it.each([
    ['VMCLEAR', 'an unaligned address', 'vmclear', 'mov qword ptr [ptr_vmcs2], 0x302008', 2],
    ['VMCLEAR', 'an address beyond the physical-address width', 'vmclear', 'mov rax, 0x20000000000\n mov qword ptr [ptr_vmcs2], rax', 2],
    ['VMCLEAR', 'the VMXON pointer', 'vmclear', 'mov qword ptr [ptr_vmcs2], 0x300000', 3],
    ['VMPTRLD', 'an unaligned address', 'vmptrld', 'mov qword ptr [ptr_vmcs2], 0x302100', 9],
    ['VMPTRLD', 'the VMXON pointer', 'vmptrld', 'mov qword ptr [ptr_vmcs2], 0x300000', 10],
    ['VMPTRLD', 'a wrong revision identifier', 'vmptrld', 'mov dword ptr [0x302000], 7', 11],
    ['VMPTRLD', 'a shadow-VMCS indicator', 'vmptrld', 'or dword ptr [0x302000], 0x80000000', 11],
  ])('%s with %s is VMfailValid(%s) with a current VMCS, VMfailInvalid without', (_i, _n, insn, change, err) => {
    const r = runRaw(`${on}
      ${change}
      ${insn} qword ptr [ptr_vmcs2]
      SAVEF 0
      vmptrld qword ptr [ptr_vmcs]
      ${insn} qword ptr [ptr_vmcs2]
      SAVEF 1
      hlt`);
    expect(arith(r.slot(0))).toBe(CF);
    expect(arith(r.slot(1))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(err);
  });

  it('#UD outside VMX operation and #GP(0) at CPL 3', () => {
    for (const insn of ['vmclear', 'vmptrld', 'vmptrst']) {
      expect(runRaw(`${insn} qword ptr [ptr_vmcs]\n hlt`).firstException()).toBe(6);
      const r = runRaw(`${on}\n hlt\nuser:\n ${insn} qword ptr [ptr_vmcs]\n hlt`, { setup: (vm) => userPages(vm) });
      r.cpu.halted = false;
      toRing3(r.cpu, r.at.user!);
      r.vm.run(1000);
      expect(r.records.find((x) => x.type === 'exception')).toMatchObject({ vector: 13 });
    }
  });

  it('a page fault on the operand leaves everything unchanged', () => {
    const r = runRaw(`${on}\n mov rax, 0x200000000\n vmptrld qword ptr [rax]\n hlt`);
    expect(r.firstException()).toBe(14);
    expect(r.cpu.vmx.current).toBeUndefined();
  });
});

describe('VMREAD, VMWRITE', () => {
  const body = (s: string) => runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n ${s}\n hlt`);

  it('VMfailInvalid without a current VMCS', () => {
    const r = runRaw(`${on}\n mov eax, 0x681e\n vmread rbx, rax\n SAVEF 0\n vmwrite rax, rbx\n SAVEF 1\n hlt`);
    expect(arith(r.slot(0))).toBe(CF);
    expect(arith(r.slot(1))).toBe(CF);
  });

  it.each([
    ['an unknown encoding', 'mov eax, 0x1234'],
    ['an encoding with bit 12 set', 'mov eax, 0x781e'],
    ['an encoding with bits 63:32 set', 'mov rax, 0x100006820'],
    ['a field this CPU does not have (PML address)', 'mov eax, 0x200e'],
    ['high access to a 32-bit field', 'mov eax, 0x4003'],
  ])('VMfailValid(12) for %s', (_n, enc) => {
    const r = body(`${enc}\n vmread rbx, rax\n SAVEF 0\n vmwrite rax, rbx\n SAVEF 1`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(arith(r.slot(1))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(12);
  });

  it('VMWRITE to a read-only (exit-information) field is VMfailValid(13)', () => {
    const r = body('mov eax, 0x4402\n mov ebx, 1\n vmwrite rax, rbx\n SAVEF 0');
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(13);
  });

  it('truncates to the field width, reads high halves, and takes memory operands', () => {
    const r = body(`
      mov rbx, 0xffffffffffff1234
      mov eax, 0x0800          # 16-bit guest ES selector
      vmwrite rax, rbx
      vmread rcx, rax
      SAVE 0, rcx
      mov eax, 0x4002          # 32-bit
      vmwrite rax, rbx
      vmread rcx, rax
      SAVE 1, rcx
      mov eax, 0x2010          # 64-bit TSC offset
      vmwrite rax, rbx
      mov eax, 0x2011          # its high half
      vmread rcx, rax
      SAVE 2, rcx
      mov ebx, 0xabcd
      vmwrite rax, rbx         # write the high half only
      mov eax, 0x2010
      vmread qword ptr [${SCRATCH} + 24], rax
      mov qword ptr [${SCRATCH} + 32], 0x5555
      mov eax, 0x681c
      vmwrite rax, qword ptr [${SCRATCH} + 32]
      vmread rcx, rax
      SAVE 5, rcx
      SAVEF 6`);
    expect(r.slot(0)).toBe(0x1234n);
    expect(r.slot(1)).toBe(0xffff1234n);
    expect(r.slot(2)).toBe(0xffffffffn);
    expect(r.slot(3)).toBe(0x0000abcdffff1234n);
    expect(r.slot(5)).toBe(0x5555n);
    expect(arith(r.slot(6))).toBe(0n);
  });

  it('#UD outside VMX operation, #GP(0) at CPL 3', () => {
    expect(runRaw('mov eax, 0x681e\n vmread rbx, rax\n hlt').firstException()).toBe(6);
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n hlt\nuser:\n mov eax, 0x681e\n vmwrite rax, rbx\n hlt`, { setup: (vm) => userPages(vm) });
    r.cpu.halted = false;
    toRing3(r.cpu, r.at.user!);
    r.vm.run(1000);
    expect(r.records.find((x) => x.type === 'exception')).toMatchObject({ vector: 13 });
  });
});

describe('VMLAUNCH, VMRESUME, VMCALL (instruction-level failures)', () => {
  it('VMfailInvalid without a current VMCS, with a vmentry-failure record', () => {
    const r = runRaw(`${on}\n vmlaunch\n SAVEF 0\n vmresume\n SAVEF 1\n hlt`);
    expect(arith(r.slot(0))).toBe(CF);
    expect(arith(r.slot(1))).toBe(CF);
    expect(r.records.filter((x) => x.type === 'vmentry-failure')).toHaveLength(2);
  });

  it('VMRESUME of a clear VMCS is VMfailValid(5); VMLAUNCH of a launched one is VMfailValid(4)', () => {
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n vmresume\n SAVEF 0\n hlt`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(5);
    const l = runRaw(`${on}\n mov dword ptr [${VMCS_REGION} + 8], 1\n vmptrld qword ptr [ptr_vmcs]\n vmlaunch\n SAVEF 0\n hlt`);
    expect(arith(l.slot(0))).toBe(ZF);
    expect(l.cpu.vmx.current!.get32(ERR)).toBe(4);
    expect(l.records.find((x) => x.type === 'vmentry-failure')).toMatchObject({ check: expect.stringMatching(/launch state is not clear/) });
  });

  it('VM entry right after MOV SS is VMfailValid(26)', () => {
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n mov ax, ss\n mov ss, ax\n vmlaunch\n SAVEF 0\n hlt`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(26);
  });

  it('an all-zero VMCS fails the control checks: VMfailValid(7) naming the pin-based controls', () => {
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n vmlaunch\n SAVEF 0\n hlt`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(7);
    expect(r.records.find((x) => x.type === 'vmentry-failure')).toMatchObject({
      field: 'PIN_BASED_VM_EXEC_CONTROL', sdm: 'Checks on VMX Controls: VM-Execution Control Fields',
      check: 'pin-based controls 0x0: bits 0x16 must be 1',
    });
  });

  it('VMCALL in root operation is VMfailValid(1); #UD outside VMX operation', () => {
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n vmcall\n SAVEF 0\n hlt`);
    expect(arith(r.slot(0))).toBe(ZF);
    expect(r.cpu.vmx.current!.get32(ERR)).toBe(1);
    expect(runRaw('vmcall\n hlt').firstException()).toBe(6);
  });

  it('#GP(0) at CPL 3', () => {
    const r = runRaw(`${on}\n vmptrld qword ptr [ptr_vmcs]\n hlt\nuser:\n vmlaunch\n hlt`, { setup: (vm) => userPages(vm) });
    r.cpu.halted = false;
    toRing3(r.cpu, r.at.user!);
    r.vm.run(1000);
    expect(r.records.find((x) => x.type === 'exception')).toMatchObject({ vector: 13 });
  });
});

describe('INVEPT, INVVPID', () => {
  const desc = (a: bigint, b: bigint) => `mov rax, ${a}\n mov qword ptr [${SCRATCH} + 64], rax\n mov rax, ${b}\n mov qword ptr [${SCRATCH} + 72], rax`;
  const inv = (insn: string, type: number, d: string) => runRaw(`${on}
      vmptrld qword ptr [ptr_vmcs]
      ${d}
      mov ecx, ${type}
      ${insn} rcx, xmmword ptr [${SCRATCH} + 64]
      SAVEF 0
      hlt`);

  it.each([
    ['INVEPT single-context', 'invept', 1, 0x330000n | 0x1en, 0n, 0n],
    ['INVEPT all-context', 'invept', 2, 0n, 0n, 0n],
    ['INVEPT type 0 (not supported)', 'invept', 0, 0n, 0n, ZF],
    ['INVEPT type 3', 'invept', 3, 0n, 0n, ZF],
    ['INVEPT single-context with an invalid EPTP', 'invept', 1, 0x330000n | 0x10n, 0n, ZF],
    ['INVVPID individual address', 'invvpid', 0, 1n, 0x1000n, 0n],
    ['INVVPID individual address, VPID 0', 'invvpid', 0, 0n, 0x1000n, ZF],
    ['INVVPID individual address, non-canonical', 'invvpid', 0, 1n, 0x0000800000000000n, ZF],
    ['INVVPID single-context', 'invvpid', 1, 5n, 0n, 0n],
    ['INVVPID single-context, VPID 0', 'invvpid', 1, 0n, 0n, ZF],
    ['INVVPID all-context', 'invvpid', 2, 0n, 0n, 0n],
    ['INVVPID single-context retaining globals', 'invvpid', 3, 5n, 0n, 0n],
    ['INVVPID with reserved descriptor bits', 'invvpid', 2, 0x10000n, 0n, ZF],
    ['INVVPID type 4', 'invvpid', 4, 1n, 0n, ZF],
  ])('%s', (_n, insn, type, d0, d1, flags) => {
    const r = inv(insn, type, desc(d0, d1));
    expect(arith(r.slot(0))).toBe(flags);
    if (flags) expect(r.cpu.vmx.current!.get32(ERR)).toBe(28);
  });

  it('#UD outside VMX operation', () => {
    expect(runRaw(`mov ecx, 2\n invept rcx, xmmword ptr [${SCRATCH}]\n hlt`).firstException()).toBe(6);
    expect(runRaw(`mov ecx, 2\n invvpid rcx, xmmword ptr [${SCRATCH}]\n hlt`).firstException()).toBe(6);
  });
});

describe('unsupported VMX-adjacent instructions', () => {
  it('VMFUNC, GETSEC and RSM are #UD', () => {
    for (const i of ['vmfunc', 'getsec', 'rsm']) expect(runRaw(`${on}\n ${i}\n hlt`).firstException()).toBe(6);
  });
});

describe('capability MSRs', () => {
  it('IA32_VMX_BASIC reports revision, size 4096, WB, INS/OUTS info and TRUE controls; 0x491 does not exist', () => {
    const r = runRaw(`
      mov ecx, 0x480
      rdmsr
      SAVE 0, rax
      SAVE 1, rdx
      mov ecx, 0x48d
      rdmsr
      SAVE 2, rax
      SAVE 3, rdx
      mov ecx, 0x491
      rdmsr
      hlt`);
    expect(r.slot(0)).toBe(BigInt(VMCS_REVISION));
    expect(r.slot(1)).toBe(0x1000n | (6n << 18n) | (1n << 22n) | (1n << 23n));
    expect(r.slot(2)).toBe(0x16n);
    expect(r.slot(3)).toBe(0x7fn);
    expect(r.firstException()).toBe(13);
  });

  it('the MSRs are read-only', () => {
    expect(runRaw('mov ecx, 0x480\n xor eax, eax\n xor edx, edx\n wrmsr\n hlt').firstException()).toBe(13);
  });
});

describe('exit status of the snippets', () => {
  it('runs to HLT', () => {
    expect(runRaw('hlt').exit).toBe(Exit.Halted);
    expect(VMCS2_REGION).toBe(0x302000);
  });
});
