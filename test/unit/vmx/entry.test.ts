// VM entry end to end: VMLAUNCH/VMRESUME in assembled snippets, failing on
// purpose in each class of checks (VMfailValid 7 and 8, exit 33 with its
// qualification, exit 34 from the MSR-load list), loading guest state in
// every mode the controls allow (IA-32e, 32-bit without paging and real mode
// as unrestricted guests), and what happens right after entry: event
// injection, activity and interruptibility state, TSC offsetting.
import { describe, it, expect } from 'vitest';
import { makeRig, MSR_LISTS, SCRATCH, GUEST_STACK, field } from '../../support/vmx-harness';
import { LAUNCH_LAUNCHED } from '../../../src/engine/vmx/vmcs';

const ERR = field('VM_INSTRUCTION_ERROR');

describe('successful VM entry', () => {
  it('enters a 64-bit guest; records vmentry then mode, the guest runs until an exit', () => {
    const r = makeRig({ guest: 'mov rax, 0x1122334455667788\n cpuid\n hlt' });
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 10, len: 2 });
    expect(r.reg('rax')).toBe(0x1122334455667788n); // VM exits leave the GPRs as the guest had them
    expect(r.vmcs().launch).toBe(LAUNCH_LAUNCHED);
    const types = r.records.map((x) => x.type === 'mode' ? `mode ${x.from}->${x.to}` : x.type);
    expect(types).toEqual(['mode long->vmx-root', 'vmentry', 'mode vmx-root->vmx-non-root', 'vmexit', 'mode vmx-non-root->vmx-root']);
    expect(r.records[1]).toMatchObject({ type: 'vmentry', launch: true, rip: '0x' + r.at.launch!.toString(16) });
    expect(r.cpu.rip).toBe(r.at.host_entry! + 1);
    expect(r.cpu.vmx.nonRoot).toBe(false);
  });

  it('VMRESUME continues where the guest left off; a second VMLAUNCH is VMfailValid(4)', () => {
    const r = makeRig({ guest: 'cpuid\n mov rbx, 7\n cpuid\n hlt' });
    r.run();
    r.skip();
    expect(r.resume()).toBe('host_entry');
    expect(r.exit().reason).toBe(10);
    expect(r.reg('rbx')).not.toBe(0n);
    expect(r.records.filter((x) => x.type === 'vmentry').map((x) => x.type === 'vmentry' && x.launch)).toEqual([true, false]);
    r.cpu.rip = r.at.launch!; r.cpu.halted = false;
    expect(r.run()).toBe('launch_failed');
    expect(r.vmcs().get32(ERR)).toBe(4);
  });
});

describe('failed VM entries', () => {
  it('invalid control field: VMfailValid(7), a vmentry-failure record naming the field and section', () => {
    const r = makeRig({ guest: 'hlt', fields: { CR3_TARGET_COUNT: 5 } });
    expect(r.run()).toBe('launch_failed');
    expect(r.vmcs().get32(ERR)).toBe(7);
    expect(r.records.at(-1)).toMatchObject({
      type: 'vmentry-failure', field: 'CR3_TARGET_COUNT', check: 'CR3-target count 5 is greater than 4',
      sdm: 'Checks on VMX Controls: VM-Execution Control Fields',
    });
    expect(r.records.at(-1)).not.toHaveProperty('exitReason');
  });

  it('invalid host-state field: VMfailValid(8)', () => {
    const r = makeRig({ guest: 'hlt', fields: { HOST_CR4: 0x20 } });
    expect(r.run()).toBe('launch_failed');
    expect(r.vmcs().get32(ERR)).toBe(8);
    expect(r.records.at(-1)).toMatchObject({ field: 'HOST_CR4', check: expect.stringMatching(/VMXE must be 1/) });
  });

  it('invalid guest state: exit reason 33 with bit 31, host state loaded, launch state stays clear', () => {
    const r = makeRig({ guest: 'cpuid', fields: { GUEST_TR_AR_BYTES: 0x89 } });
    expect(r.run()).toBe('host_entry');
    expect(r.read('VM_EXIT_REASON')).toBe(0x80000021n);
    expect(r.read('EXIT_QUALIFICATION')).toBe(0n);
    expect(r.vmcs().launch).toBe(0);
    expect(r.records.at(-1)).toMatchObject({
      type: 'vmentry-failure', exitReason: 33, field: 'GUEST_TR_AR_BYTES', sdm: 'Checks on Guest Segment Registers',
      check: 'TR type 9 is not a busy 64-bit TSS (11) in an IA-32e mode guest',
    });
    expect(r.records.some((x) => x.type === 'vmentry' || x.type === 'vmexit')).toBe(false);
    // Fix the field and VMLAUNCH again: it is still the right instruction.
    r.write('GUEST_TR_AR_BYTES', 0x8b);
    r.cpu.rip = r.at.launch!; r.cpu.halted = false;
    expect(r.run()).toBe('host_entry');
    expect(r.read('VM_EXIT_REASON')).toBe(10n);
  });

  it('a bad VMCS link pointer is exit 33 with qualification 4', () => {
    const r = makeRig({ guest: 'hlt', fields: { VMCS_LINK_POINTER: 0x360000 } });
    expect(r.run()).toBe('host_entry');
    expect(r.read('VM_EXIT_REASON')).toBe(0x80000021n);
    expect(r.read('EXIT_QUALIFICATION')).toBe(4n);
  });

  it('a VM-entry MSR-load entry that faults is exit 34 with the entry number, after the ones before it loaded', () => {
    const r = makeRig({
      guest: 'hlt',
      fields: { VM_ENTRY_MSR_LOAD_COUNT: 2, VM_ENTRY_MSR_LOAD_ADDR: MSR_LISTS },
      prepare: (vm) => {
        vm.mem.write32(MSR_LISTS, 0xc0000081); vm.mem.write32(MSR_LISTS + 8, 0x12345678); // IA32_STAR
        vm.mem.write32(MSR_LISTS + 16, 0xc0000082); vm.mem.write32(MSR_LISTS + 28, 0x8000); // non-canonical LSTAR
      },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.read('VM_EXIT_REASON')).toBe(0x80000022n);
    expect(r.read('EXIT_QUALIFICATION')).toBe(2n);
    expect(r.records.at(-1)).toMatchObject({ type: 'vmentry-failure', exitReason: 34, sdm: 'Loading MSRs' });
    expect(r.cpu.vmx.nonRoot).toBe(false);
  });
});

describe('guest state and entry controls', () => {
  it('without MSR bitmaps, RDMSR in the guest exits (reason 31)', () => {
    const r = makeRig({
      guest: 'mov ecx, 0xc0000081\n rdmsr\n mov rbx, rax\n mov ecx, 0xc0000080\n rdmsr\n vmcall',
      fields: { VM_ENTRY_MSR_LOAD_COUNT: 1, VM_ENTRY_MSR_LOAD_ADDR: MSR_LISTS, VM_ENTRY_CONTROLS: 0x11fb | (1 << 9) | (1 << 15), GUEST_IA32_EFER: 0x500 },
      prepare: (vm) => { vm.mem.write32(MSR_LISTS, 0xc0000081); vm.mem.write32(MSR_LISTS + 8, 0xcafe); },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(31);
  });

  it('RDMSR with all-zero MSR bitmaps runs in the guest: sees the loaded MSRs', () => {
    const r = makeRig({
      guest: 'mov ecx, 0xc0000081\n rdmsr\n mov rbx, rax\n mov ecx, 0xc0000080\n rdmsr\n vmcall',
      fields: {
        CPU_BASED_VM_EXEC_CONTROL: 0x04006172 | (1 << 28), MSR_BITMAP: 0x303000,
        VM_ENTRY_MSR_LOAD_COUNT: 1, VM_ENTRY_MSR_LOAD_ADDR: MSR_LISTS, VM_ENTRY_CONTROLS: 0x11fb | (1 << 9) | (1 << 15),
        GUEST_IA32_EFER: 0x500, VM_EXIT_CONTROLS: 0x36dfb | (1 << 9) | (1 << 20),
      },
      prepare: (vm) => { vm.mem.write32(MSR_LISTS, 0xc0000081); vm.mem.write32(MSR_LISTS + 8, 0xcafe); },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(18);
    expect(r.reg('rbx')).toBe(0xcafen);
    expect(r.reg('rax')).toBe(0x500n);
    expect(r.read('GUEST_IA32_EFER')).toBe(0x500n); // "save IA32_EFER"
  });

  it('unrestricted guest in real mode with EPT: 16-bit code, segment bases from the VMCS', () => {
    const r = makeRig({
      ept: { unrestricted: true },
      guest: `.code16
        mov ax, 0x1234
        mov bx, cs
        mov word ptr [0x10], ax
        vmcall
        .code64`,
      fields: {
        VM_ENTRY_CONTROLS: 0x11fb, GUEST_CR0: 0x30, GUEST_CR4: 0x2000,
        GUEST_CS_SELECTOR: 0x1000, GUEST_CS_BASE: 0x10000, GUEST_CS_LIMIT: 0xffff, GUEST_CS_AR_BYTES: 0x9b,
        GUEST_DS_SELECTOR: 0x3600, GUEST_DS_BASE: 0x36000, GUEST_DS_LIMIT: 0xffff, GUEST_DS_AR_BYTES: 0x93,
        GUEST_SS_SELECTOR: 0, GUEST_SS_LIMIT: 0xffff, GUEST_SS_AR_BYTES: 0x93,
        GUEST_ES_LIMIT: 0xffff, GUEST_ES_AR_BYTES: 0x93, GUEST_FS_LIMIT: 0xffff, GUEST_FS_AR_BYTES: 0x93,
        GUEST_GS_LIMIT: 0xffff, GUEST_GS_AR_BYTES: 0x93, GUEST_RSP: 0x8000, GUEST_TR_AR_BYTES: 0x8b, GUEST_RIP: 0x100,
      },
      prepare: (vm, at) => { vm.mem.load(0x10000 + 0x100, vm.mem.bytes.slice(at.guest!, at.guest! + 32)); },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 18, rip: 0x108n, len: 3 });
    expect(r.reg('rbx') & 0xffffn).toBe(0x1000n);
    expect(r.vm.mem.read16(0x36010)).toBe(0x1234);
    expect(r.records.filter((x) => x.type === 'mode').map((x) => x.type === 'mode' && `${x.from}->${x.to}`))
      .toEqual(['long->vmx-root', 'long->real', 'vmx-root->vmx-non-root', 'real->long', 'vmx-non-root->vmx-root']);
    expect(r.read('GUEST_CR0')).toBe(0x30n | 0x60000000n);
    expect(r.read('VM_ENTRY_CONTROLS') & 0x200n).toBe(0n);
  });

  it('unrestricted 32-bit guest without paging', () => {
    const r = makeRig({
      ept: { unrestricted: true },
      guest: '.code32\n mov eax, 0xdeadbeef\n mov [0x360100], eax\n vmcall\n .code64',
      fields: { VM_ENTRY_CONTROLS: 0x11fb, GUEST_CR0: 0x31, GUEST_CR4: 0x2000, GUEST_CS_AR_BYTES: 0xc09b },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(18);
    expect(r.vm.mem.read32(0x360100) >>> 0).toBe(0xdeadbeef);
  });

  it('TSC offsetting: RDTSC in the guest sees TSC + offset', () => {
    const r = makeRig({
      guest: 'rdtsc\n shl rdx, 32\n or rax, rdx\n mov rbx, rax\n vmcall',
      fields: { CPU_BASED_VM_EXEC_CONTROL: 0x04006172 | (1 << 3), TSC_OFFSET: 0x100000000000n },
    });
    r.run();
    expect(r.exit().reason).toBe(18);
    const tsc = r.reg('rbx');
    expect(tsc > 0x100000000000n && tsc < 0x100000001000n).toBe(true);
    expect(r.cpu.tscOffset).toBe(0); // the offset applies only in non-root operation
  });
});

describe('after VM entry: injection, activity, interruptibility', () => {
  const idt = (vector: number, label: string) => `
    lea rax, [rip + ${label}]
    mov word ptr [${0x361000 + vector * 16}], ax
    shr rax, 16
    mov word ptr [${0x361000 + vector * 16 + 6}], ax
    mov word ptr [${0x361000 + vector * 16 + 2}], 0x08
    mov word ptr [${0x361000 + vector * 16 + 4}], 0x8e00`;
  const host = (vector: number) => `before_launch:\n${idt(vector, 'handler')}\n ret\nhandler:\n mov rbx, [rsp]\n mov rcx, [rsp + 8]\n vmcall\n`;

  it('injects a hardware exception with an error code through the guest IDT', () => {
    const r = makeRig({
      host: host(13), guest: 'nop\n hlt',
      fields: { GUEST_IDTR_BASE: 0x361000, VM_ENTRY_INTR_INFO_FIELD: (0x80000b0d) >>> 0, VM_ENTRY_EXCEPTION_ERROR_CODE: 0x18 },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(18);
    expect(r.reg('rbx')).toBe(0x18n);          // error code on the stack
    expect(r.reg('rcx')).toBe(BigInt(r.at.guest!)); // return RIP: the guest RIP
    expect(r.read('VM_ENTRY_INTR_INFO_FIELD') >> 31n).toBe(0n); // cleared by the VM exit
  });

  it('a software interrupt is pushed with RIP + the VM-entry instruction length', () => {
    const r = makeRig({
      host: host(0x80), guest: 'int 0x80\n hlt',
      fields: { GUEST_IDTR_BASE: 0x361000, VM_ENTRY_INTR_INFO_FIELD: 0x80000480, VM_ENTRY_INSTRUCTION_LEN: 2 },
    });
    r.run();
    expect(r.reg('rbx')).toBe(BigInt(r.at.guest! + 2));
  });

  it('an event injected into a guest without a handler (#GP on delivery) exits with IDT-vectoring information', () => {
    const r = makeRig({
      guest: 'hlt', fields: { EXCEPTION_BITMAP: 1 << 13, GUEST_IDTR_LIMIT: 0, VM_ENTRY_INTR_INFO_FIELD: 0x80000020 | (0 << 8), GUEST_RFLAGS: 0x202 },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(0);
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(BigInt((0x80000b0d) >>> 0));
    expect(r.read('VM_EXIT_INTR_ERROR_CODE')).toBe(BigInt(0x20 * 8 + 2 + 1));
    expect(r.read('IDT_VECTORING_INFO_FIELD')).toBe(0x80000020n);
  });

  it('HLT activity state: the guest starts halted; the preemption timer exits at once', () => {
    const r = makeRig({
      guest: 'hlt',
      fields: { GUEST_ACTIVITY_STATE: 1, PIN_BASED_VM_EXEC_CONTROL: 0x16 | (1 << 6), VMX_PREEMPTION_TIMER_VALUE: 1000 },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 52, rip: BigInt(r.at.guest!) });
    expect(r.read('GUEST_ACTIVITY_STATE')).toBe(1n);
  });

  it('blocking by STI delays the interrupt window by one instruction', () => {
    const r = makeRig({
      guest: 'mov eax, 1\n mov ebx, 2\n hlt',
      fields: { GUEST_RFLAGS: 0x202, GUEST_INTERRUPTIBILITY_INFO: 1, CPU_BASED_VM_EXEC_CONTROL: 0x04006172 | (1 << 2) },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 7, rip: BigInt(r.at.guest! + 5) });
    expect(r.read('GUEST_INTERRUPTIBILITY_INFO')).toBe(0n);
  });

  it('the guest stack and RIP come from the VMCS; host RSP/RIP are restored at exit', () => {
    const r = makeRig({ guest: 'push 0x55\n vmcall' });
    r.run();
    expect(r.read('GUEST_RSP')).toBe(BigInt(GUEST_STACK - 8));
    expect(r.vm.mem.read32(GUEST_STACK - 8)).toBe(0x55);
    expect(r.reg('rsp')).toBe(0x310000n);
    expect(SCRATCH).toBe(0x360000);
  });
});
