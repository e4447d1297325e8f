// VM exits with their exact reason, qualification and exit-information
// fields (SDM vol. 3 "VM Exits", appendix C), one assembled guest per cause,
// with the hypervisor's controls set through VMWRITE by the rig's prologue.
import { describe, it, expect } from 'vitest';
import {
  makeRig, FakeLines, MSR_BITMAP, IO_BITMAP_A, IO_BITMAP_B, VAPIC, MSR_LISTS, SCRATCH, PROC_DEFAULT, EXIT_DEFAULT,
  type RigOptions,
} from '../../support/vmx-harness';
import { vmxInit, vmxSipi } from '../../../src/engine/vmx/events';

const P = (bits: number) => (PROC_DEFAULT | bits) >>> 0;
const SEC = (bits: number) => ({ CPU_BASED_VM_EXEC_CONTROL: P(1 << 31), SECONDARY_VM_EXEC_CONTROL: bits });
const info = (r: ReturnType<typeof makeRig>) => Number(r.read('VMX_INSTRUCTION_INFO'));

function exitOf(o: RigOptions) {
  const r = makeRig(o);
  expect(r.run()).toBe('host_entry');
  return r;
}

describe('exceptions and NMIs (reason 0)', () => {
  it('#UD in the exception bitmap: interruption information, guest RIP of the faulting instruction', () => {
    const r = exitOf({ guest: 'nop\n ud2', fields: { EXCEPTION_BITMAP: 1 << 6 } });
    expect(r.exit()).toMatchObject({ reason: 0, qual: 0n, rip: BigInt(r.at.guest! + 1) });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000306n);
    expect(r.records.filter((x) => x.type === 'exception').map((x) => x.type === 'exception' && x.vector)).toEqual([6]);
  });

  it('#GP with its error code', () => {
    const r = exitOf({ guest: 'mov ax, 0x1b\n mov ds, ax', fields: { EXCEPTION_BITMAP: 1 << 13 } });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000b0dn);
    expect(r.read('VM_EXIT_INTR_ERROR_CODE')).toBe(0x18n);
  });

  it('#PF: qualification is the faulting address, CR2 is not written; mask/match select which faults exit', () => {
    const guest = 'mov rax, 0x400000000\n mov byte ptr [rax + 5], 1';
    const r = exitOf({ guest, fields: { EXCEPTION_BITMAP: 1 << 14, PAGE_FAULT_ERROR_CODE_MASK: 2, PAGE_FAULT_ERROR_CODE_MATCH: 2 } });
    expect(r.exit()).toMatchObject({ reason: 0, qual: 0x400000005n });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000b0en);
    expect(r.read('VM_EXIT_INTR_ERROR_CODE')).toBe(2n);
    expect(r.cpu.cr2).toBe(0);
    // A write fault does not match 0 under mask 2: with bit 14 set, it does not exit (the guest has no IDT: triple fault).
    const s = makeRig({ guest, fields: { EXCEPTION_BITMAP: 1 << 14, PAGE_FAULT_ERROR_CODE_MASK: 2, PAGE_FAULT_ERROR_CODE_MATCH: 0 } });
    s.run();
    expect(s.exit().reason).toBe(2);
    // Bit 14 clear and no match: exits.
    const t = exitOf({ guest, fields: { EXCEPTION_BITMAP: 0, PAGE_FAULT_ERROR_CODE_MASK: 2, PAGE_FAULT_ERROR_CODE_MATCH: 0 } });
    expect(t.exit().reason).toBe(0);
  });

  it('INT3 is a software exception (type 6, length, RIP of the INT3); INT 3 (CD 03) is a software interrupt and does not exit', () => {
    const r = exitOf({ guest: 'int3', fields: { EXCEPTION_BITMAP: 1 << 3 } });
    expect(r.exit()).toMatchObject({ reason: 0, rip: BigInt(r.at.guest!), len: 1 });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000603n);
    const s = makeRig({ guest: '.byte 0xcd, 0x03', fields: { EXCEPTION_BITMAP: (1 << 3) | (1 << 13) } });
    s.run();
    // No IDT: delivering INT 3 faults (#GP, error code IDT vector 3) and that exits, with IDT-vectoring information type 4.
    expect(s.read('VM_EXIT_INTR_INFO')).toBe(0x80000b0dn);
    expect(s.read('IDT_VECTORING_INFO_FIELD')).toBe(0x80000403n);
    expect(s.read('VM_EXIT_INSTRUCTION_LEN')).toBe(2n);
  });

  it('single-step #DB: trap-like, qualification BS, RIP of the next instruction', () => {
    const r = exitOf({ guest: 'nop\n nop', fields: { EXCEPTION_BITMAP: 1 << 1, GUEST_RFLAGS: 0x102 } });
    expect(r.exit()).toMatchObject({ reason: 0, qual: 0x4000n, rip: BigInt(r.at.guest! + 1) });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000301n);
  });

  it('#DF in the bitmap when delivery of a contributory fault faults', () => {
    const r = exitOf({ guest: 'ud2\n', fields: { EXCEPTION_BITMAP: 1 << 8, GUEST_IDTR_LIMIT: 0x6f } });
    // #UD (vector 6) delivery reads past the IDT limit: #GP; #UD is benign → #GP handled serially → its delivery faults again: #DF.
    expect(r.exit().reason).toBe(0);
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000b08n);
  });

  it('NMI exiting: the NMI becomes exit 0 with type 2', () => {
    const lines = new FakeLines();
    const r = makeRig({ guest: 'jmp guest', fields: { PIN_BASED_VM_EXEC_CONTROL: 0x16 | 8 } });
    r.cpu.lines = lines;
    r.run(3000);
    lines.nmi = true;
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 0, rip: BigInt(r.at.guest!) });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000202n);
    expect(lines.nmi).toBe(false);
  });
});

describe('external interrupts and windows', () => {
  it('external-interrupt exiting with acknowledge-on-exit reports the vector; RFLAGS.IF = 0 does not block it', () => {
    const lines = new FakeLines();
    const r = makeRig({ guest: 'jmp guest', fields: { PIN_BASED_VM_EXEC_CONTROL: 0x17, VM_EXIT_CONTROLS: EXIT_DEFAULT | (1 << 15) } });
    r.cpu.lines = lines;
    r.run(3000);
    lines.pending.push(0x31);
    expect(r.run()).toBe('host_entry');
    expect(r.exit().reason).toBe(1);
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000031n);
    expect(lines.acked).toEqual([0x31]);
  });

  it('without acknowledge-on-exit the interrupt stays pending and the information is invalid', () => {
    const lines = new FakeLines();
    lines.pending.push(0x40);
    const r = makeRig({ guest: 'nop', fields: { PIN_BASED_VM_EXEC_CONTROL: 0x17 } });
    r.cpu.lines = lines;
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 1, rip: BigInt(r.at.guest!) });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0n);
    expect(lines.pending).toEqual([0x40]);
  });

  it('interrupt window: exits once the guest sets IF (after the STI shadow)', () => {
    const r = exitOf({ guest: 'nop\n sti\n nop\n nop', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 2) } });
    expect(r.exit()).toMatchObject({ reason: 7, qual: 0n, rip: BigInt(r.at.guest! + 3) });
  });

  it('NMI window (virtual NMIs): exits at once without virtual-NMI blocking, after IRET with it', () => {
    const pin = 0x16 | 8 | 0x20;
    const a = exitOf({ guest: 'nop', fields: { PIN_BASED_VM_EXEC_CONTROL: pin, CPU_BASED_VM_EXEC_CONTROL: P(1 << 22) } });
    expect(a.exit()).toMatchObject({ reason: 8, rip: BigInt(a.at.guest!) });
    const b = exitOf({
      guest: 'nop\n lea rax, [rip + 1f]\n mov rcx, rsp\n push 0x10\n push rcx\n pushfq\n push 0x08\n push rax\n iretq\n1: nop',
      fields: { PIN_BASED_VM_EXEC_CONTROL: pin, CPU_BASED_VM_EXEC_CONTROL: P(1 << 22), GUEST_INTERRUPTIBILITY_INFO: 8 },
    });
    expect(b.exit().reason).toBe(8);
    expect(Number(b.exit().rip)).toBeGreaterThan(b.at.guest! + 10);
    expect(b.read('GUEST_INTERRUPTIBILITY_INFO')).toBe(0n);
  });

  it('VMX-preemption timer: exits after value × 32 instructions; "save timer value" stores 0', () => {
    const r = exitOf({
      guest: '1: inc rbx\n jmp 1b',
      fields: { PIN_BASED_VM_EXEC_CONTROL: 0x16 | 0x40, VMX_PREEMPTION_TIMER_VALUE: 10, VM_EXIT_CONTROLS: EXIT_DEFAULT | (1 << 22) },
    });
    expect(r.exit().reason).toBe(52);
    expect(r.reg('rbx')).toBe(160n); // 320 instructions: 160 INC + 160 JMP
    expect(r.read('VMX_PREEMPTION_TIMER_VALUE')).toBe(0n);
  });
});

describe('triple fault, INIT, SIPI', () => {
  it('a triple fault in the guest is exit 2', () => {
    const r = exitOf({ guest: 'ud2', fields: { GUEST_IDTR_LIMIT: 0 } });
    expect(r.exit()).toMatchObject({ reason: 2, rip: BigInt(r.at.guest!) });
    expect(r.cpu.stop).toBeUndefined();
  });

  it('INIT in non-root operation is exit 3; in root operation it waits for VMXOFF', () => {
    const r = makeRig({ guest: 'jmp guest' });
    r.run(3000);
    expect(vmxInit(r.cpu)).toBe(true);
    expect(r.exit().reason).toBe(3);
    expect(r.cpu.vmx.nonRoot).toBe(false);
    expect(vmxInit(r.cpu)).toBe(true);
    expect(r.cpu.vmx.initPending).toBe(true);
  });

  it('SIPI in the wait-for-SIPI activity state is exit 4 with the vector', () => {
    const r = makeRig({ guest: 'nop', fields: { GUEST_ACTIVITY_STATE: 3 } });
    r.run();
    expect(r.cpu.waitForSipi).toBe(true);
    vmxSipi(r.cpu, 0x9a);
    expect(r.exit()).toMatchObject({ reason: 4, qual: 0x9an });
    expect(r.read('GUEST_ACTIVITY_STATE')).toBe(3n);
  });
});

describe('instructions that exit', () => {
  it.each([
    ['CPUID', 'cpuid', {}, 10, 2],
    ['HLT', 'hlt', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 7) }, 12, 1],
    ['INVD', 'invd', {}, 13, 2],
    ['RDPMC', 'xor ecx, ecx\n rdpmc', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 11) }, 15, 2],
    ['RDTSC', 'rdtsc', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 12) }, 16, 2],
    ['RDTSCP', 'rdtscp', { CPU_BASED_VM_EXEC_CONTROL: P((1 << 12) | (1 << 31)), SECONDARY_VM_EXEC_CONTROL: 8 }, 51, 3],
    ['VMCALL', 'vmcall', {}, 18, 3],
    ['VMLAUNCH', 'vmlaunch', {}, 20, 3],
    ['VMRESUME', 'vmresume', {}, 24, 3],
    ['VMXOFF', 'vmxoff', {}, 26, 3],
    ['MWAIT', 'mwait', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 10) }, 36, 3],
    ['MONITOR', 'monitor', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 29) }, 39, 3],
    ['PAUSE', 'pause', { CPU_BASED_VM_EXEC_CONTROL: P(1 << 30) }, 40, 2],
    ['WBINVD', 'wbinvd', SEC(1 << 6), 54, 2],
    ['XSETBV', 'xor ecx, ecx\n xor edx, edx\n mov eax, 3\n xsetbv', { GUEST_CR4: 0x2020 | (1 << 18) }, 55, 3],
  ] as const)('%s (reason %s)', (_n, guest, fields, reason, len) => {
    const r = exitOf({ guest, fields });
    expect(r.exit()).toMatchObject({ reason, len, qual: 0n });
    expect(r.records.find((x) => x.type === 'vmexit')).toMatchObject({ reasonCode: reason, guestRip: expect.stringMatching(/^0x/) });
  });

  it('without the controls, HLT/RDTSC/PAUSE/WBINVD run in the guest; RDTSCP without "enable RDTSCP" is #UD', () => {
    const r = exitOf({ guest: 'rdtsc\n pause\n wbinvd\n rdtscp', fields: { EXCEPTION_BITMAP: 1 << 6 } });
    expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000306n);
    expect(r.exit().rip).toBe(BigInt(r.at.guest! + 6));
  });

  it('GETSEC and RSM are #UD in non-root operation (no SMX, no SMM)', () => {
    for (const g of ['getsec', 'rsm']) {
      const r = exitOf({ guest: g, fields: { EXCEPTION_BITMAP: 1 << 6 } });
      expect(r.read('VM_EXIT_INTR_INFO')).toBe(0x80000306n);
    }
  });

  it('INVLPG: qualification is the linear address (canonical)', () => {
    const r = exitOf({ guest: 'mov rax, -0x1000\n invlpg [rax + 0x10]', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 9) } });
    expect(r.exit()).toMatchObject({ reason: 14, qual: 0xfffffffffffff010n, len: 4 });
  });

  it.each([
    ['VMCLEAR', 'vmclear qword ptr [rbx + rcx * 4 + 0x10]', 19],
    ['VMPTRLD', 'vmptrld qword ptr [rbx + rcx * 4 + 0x10]', 21],
    ['VMPTRST', 'vmptrst qword ptr [rbx + rcx * 4 + 0x10]', 22],
    ['VMXON', 'vmxon qword ptr [rbx + rcx * 4 + 0x10]', 27],
  ] as const)('%s: instruction information and the displacement as qualification', (_n, guest, reason) => {
    const r = exitOf({ guest });
    expect(r.exit()).toMatchObject({ reason, qual: 0x10n });
    // scaling 4 (2), 64-bit addresses (2 << 7), DS (3 << 15), index RCX (1 << 18), base RBX (3 << 23)
    expect(info(r)).toBe(2 | (2 << 7) | (3 << 15) | (1 << 18) | (3 << 23));
  });

  it('VMREAD/VMWRITE: register and memory forms', () => {
    const a = exitOf({ guest: 'vmread r9, rdx' });
    expect(a.exit().reason).toBe(23);
    expect(info(a)).toBe((1 << 10) | (9 << 3) | (2 << 7) | (2 << 28));
    const b = exitOf({ guest: 'vmwrite rsi, qword ptr [rbp - 8]' });
    expect(b.exit()).toMatchObject({ reason: 25, qual: 0xfffffffffffffff8n });
    expect(info(b)).toBe((2 << 7) | (2 << 15) | (1 << 22) | (5 << 23) | (6 << 28));
  });

  it('INVEPT, INVVPID: reasons 50 and 53 with the type register in bits 31:28', () => {
    const a = exitOf({ guest: 'invept r8, [rax]' });
    expect(a.exit().reason).toBe(50);
    expect(info(a)).toBe(((2 << 7) | (3 << 15) | (1 << 22) | (0 << 23) | (8 << 28)) >>> 0);
    const b = exitOf({ guest: 'invvpid rdx, [rax + 0x20]' });
    expect(b.exit()).toMatchObject({ reason: 53, qual: 0x20n });
  });

  it('descriptor-table exiting: LGDT (46) and SLDT to a register (47)', () => {
    const a = exitOf({ guest: 'lgdt [rdi + 0x40]', fields: SEC(4) });
    expect(a.exit()).toMatchObject({ reason: 46, qual: 0x40n });
    expect(info(a)).toBe((2 << 7) | (3 << 15) | (1 << 22) | (7 << 23) | (2 << 28));
    const b = exitOf({ guest: 'sldt eax', fields: SEC(4) });
    expect(b.exit().reason).toBe(47);
    expect(info(b)).toBe((1 << 10) | (0 << 3) | (2 << 7) | (0 << 28));
    const c = exitOf({ guest: 'sgdt [rax]\n cpuid' });
    expect(c.exit().reason).toBe(10); // without the control, SGDT runs
  });
});

describe('control-register accesses (reason 28)', () => {
  const mask = { CR0_GUEST_HOST_MASK: 0x8, CR0_READ_SHADOW: 0x8 };
  it('MOV to CR0 changing a host-owned bit exits with the qualification; reads see the shadow', () => {
    const r = exitOf({ guest: 'mov rbx, cr0\n and ebx, ~8\n mov cr0, rbx', fields: mask });
    expect(r.exit()).toMatchObject({ reason: 28, qual: 0x300n, len: 3 }); // CR0, MOV to CR, RBX
    expect(r.reg('rbx') & 8n).toBe(0n);
    expect(r.cpu.cr0 & 8).toBe(0); // the real CR0.TS is the guest's (0)
  });

  it('MOV from CR0 returns shadow bits for host-owned bits; writes keep host-owned bits', () => {
    const r = exitOf({
      guest: 'mov rax, cr0\n mov rbx, rax\n or eax, 0x40000\n mov cr0, rax\n mov rcx, cr0\n vmcall',
      fields: { CR0_GUEST_HOST_MASK: 0x20, CR0_READ_SHADOW: 0 },
    });
    expect(r.exit().reason).toBe(18);
    expect(r.reg('rbx') & 0x20n).toBe(0n);     // NE reads as the shadow's 0
    expect(r.cpu.cr0 & 0x20).toBe(0x20);       // but stays 1
    expect(r.reg('rcx') & 0x40000n).toBe(0x40000n); // AM, guest-owned, was written
  });

  it('CR4 mask: the guest cannot see or clear VMXE', () => {
    const r = exitOf({ guest: 'mov rax, cr4\n mov rbx, rax\n mov cr4, rax\n vmcall', fields: { CR4_GUEST_HOST_MASK: 0x2000, CR4_READ_SHADOW: 0 } });
    expect(r.exit().reason).toBe(18);
    expect(r.reg('rbx') & 0x2000n).toBe(0n);
    expect(r.cpu.cr4 & 0x2000).toBe(0x2000);
  });

  it('CR3-load exiting with CR3-target values; CR3-store exiting', () => {
    const fields = { CPU_BASED_VM_EXEC_CONTROL: P(1 << 15), CR3_TARGET_COUNT: 1, CR3_TARGET_VALUE0: 0x7000 };
    const a = exitOf({ guest: 'mov rax, cr3\n mov cr3, rax\n mov eax, 0x7001\n mov cr3, rax', fields });
    expect(a.exit()).toMatchObject({ reason: 28, qual: 0x003n, rip: BigInt(a.at.guest! + 11) });
    const b = exitOf({ guest: 'mov r10, cr3', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 16) } });
    expect(b.exit()).toMatchObject({ reason: 28, qual: 0xa13n });
  });

  it('CR8 with the TPR shadow: reads/writes the virtual-APIC page; below the threshold is a trap-like exit 43', () => {
    const r = exitOf({
      guest: 'mov eax, 7\n mov cr8, rax\n mov rbx, cr8\n mov eax, 2\n mov cr8, rax\n nop',
      fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 21), VIRTUAL_APIC_PAGE_ADDR: VAPIC, TPR_THRESHOLD: 3 },
      prepare: (vm) => { vm.mem.write8(VAPIC + 0x80, 0x30); }, // VTPR 3: not below the threshold at entry
    });
    expect(r.exit()).toMatchObject({ reason: 43, qual: 0n });
    expect(Number(r.exit().rip)).toBe(r.at.guest! + 22); // after the second MOV to CR8
    expect(r.reg('rbx')).toBe(7n);
    expect(r.vm.mem.read32(VAPIC + 0x80)).toBe(0x20);
  });

  it('CR8-load and CR8-store exiting', () => {
    const a = exitOf({ guest: 'mov cr8, rcx', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 19) } });
    expect(a.exit()).toMatchObject({ reason: 28, qual: 0x108n });
    const b = exitOf({ guest: 'mov rdx, cr8', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 20) } });
    expect(b.exit()).toMatchObject({ reason: 28, qual: 0x218n });
  });

  it('CLTS exits when TS is host-owned and set in the shadow; LMSW reports its source data and memory operand', () => {
    const a = exitOf({ guest: 'clts', fields: mask });
    expect(a.exit()).toMatchObject({ reason: 28, qual: 0x20n });
    const b = exitOf({
      guest: `mov word ptr [${SCRATCH} + 0x20], 0x3\n lmsw word ptr [${SCRATCH} + 0x20]`,
      fields: { CR0_GUEST_HOST_MASK: 0x2, CR0_READ_SHADOW: 0 },
    });
    expect(b.exit()).toMatchObject({ reason: 28, qual: (3n << 16n) | 0x70n });
    expect(b.read('GUEST_LINEAR_ADDRESS')).toBe(BigInt(SCRATCH + 0x20));
  });
});

describe('MOV DR (reason 29)', () => {
  it('exits with DR number, direction and register, before the CPL and CR4.DE checks', () => {
    const a = exitOf({ guest: 'mov rbx, dr7', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 23) } });
    expect(a.exit()).toMatchObject({ reason: 29, qual: 0x317n });
    const b = exitOf({ guest: 'mov dr5, rsi', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 23), GUEST_CR4: 0x2020 | 8 } });
    expect(b.exit()).toMatchObject({ reason: 29, qual: 0x605n });
  });
});

describe('I/O instructions (reason 30)', () => {
  it('unconditional I/O exiting: OUT imm8 and IN DX qualifications', () => {
    const a = exitOf({ guest: 'mov al, 1\n out 0x80, al', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 24) } });
    expect(a.exit()).toMatchObject({ reason: 30, qual: (0x80n << 16n) | 0x40n, len: 2 });
    const b = exitOf({ guest: 'mov dx, 0x3f8\n in eax, dx', fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 24) } });
    expect(b.exit()).toMatchObject({ reason: 30, qual: (0x3f8n << 16n) | 0x8n | 3n });
  });

  it('I/O bitmaps: only ports with their bit set exit (a word access checks both bytes)', () => {
    const r = exitOf({
      guest: 'mov dx, 0x70\n out dx, al\n mov dx, 0x8000\n in ax, dx\n mov dx, 0x80ff\n out dx, ax',
      fields: { CPU_BASED_VM_EXEC_CONTROL: P((1 << 25) | (1 << 24)), IO_BITMAP_A: IO_BITMAP_A, IO_BITMAP_B: IO_BITMAP_B },
      prepare: (vm) => { vm.mem.write8(IO_BITMAP_B + 0x20, 1); }, // port 0x8100
    });
    expect(r.exit()).toMatchObject({ reason: 30, qual: (0x80ffn << 16n) | 1n });
  });

  it('REP OUTSB: string and REP bits, instruction information, guest-linear address', () => {
    const r = exitOf({
      guest: `mov rsi, ${SCRATCH}\n mov ecx, 4\n mov dx, 0xe9\n rep outsb`,
      fields: { CPU_BASED_VM_EXEC_CONTROL: P(1 << 24) },
    });
    expect(r.exit()).toMatchObject({ reason: 30, qual: (0xe9n << 16n) | 0x30n, len: 2 });
    expect(info(r)).toBe((2 << 7) | (3 << 15));
    expect(r.read('GUEST_LINEAR_ADDRESS')).toBe(BigInt(SCRATCH));
    expect(r.records.find((x) => x.type === 'vmexit')).toMatchObject({ guestLinear: '0x' + SCRATCH.toString(16) });
  });
});

describe('RDMSR/WRMSR (reasons 31, 32) and MSR bitmaps', () => {
  const bitmaps = { CPU_BASED_VM_EXEC_CONTROL: P(1 << 28), MSR_BITMAP };
  it('low and high ranges, read and write halves; MSRs outside both ranges always exit', () => {
    const prepare = (vm: { mem: { write8(a: number, v: number): void } }) => {
      vm.mem.write8(MSR_BITMAP + (0x174 >> 3), 1 << (0x174 & 7));                 // read 0x174
      vm.mem.write8(MSR_BITMAP + 3072 + (0x82 >> 3), 1 << (0x82 & 7));            // write 0xC0000082
    };
    const a = exitOf({ guest: 'mov ecx, 0x10\n rdmsr\n mov ecx, 0x174\n rdmsr', fields: bitmaps, prepare });
    expect(a.exit()).toMatchObject({ reason: 31, rip: BigInt(a.at.guest! + 12) }); // the second RDMSR
    const b = exitOf({ guest: 'mov ecx, 0xc0000082\n rdmsr\n xor eax, eax\n xor edx, edx\n wrmsr', fields: bitmaps, prepare });
    expect(b.exit().reason).toBe(32);
    const c = exitOf({ guest: 'mov ecx, 0x40000000\n rdmsr', fields: bitmaps, prepare });
    expect(c.exit().reason).toBe(31);
  });

  it('a non-existent MSR exits instead of #GP (the exit has priority)', () => {
    const r = exitOf({ guest: 'mov ecx, 0x12345\n rdmsr' });
    expect(r.exit().reason).toBe(31);
  });
});

describe('APIC access (reason 44)', () => {
  it('an access to the APIC-access page exits with offset and access type', () => {
    const r = exitOf({ guest: 'mov eax, [0x3690b0]', fields: { ...SEC(1), APIC_ACCESS_ADDR: 0x369000 } });
    expect(r.exit()).toMatchObject({ reason: 44, qual: 0xb0n });
    const w = exitOf({ guest: 'mov dword ptr [0x369300], 1', fields: { ...SEC(1), APIC_ACCESS_ADDR: 0x369000 } });
    expect(w.exit()).toMatchObject({ reason: 44, qual: 0x1300n });
  });
});

describe('VM-exit MSR areas, guest state saved, host state loaded', () => {
  it('stores guest MSRs, loads host MSRs, saves segments/CRs, loads host selectors and bases', () => {
    const r = exitOf({
      guest: 'mov ecx, 0xc0000081\n mov eax, 0x111\n xor edx, edx\n mov ax, 0x10\n mov fs, ax\n vmcall',
      fields: {
        CPU_BASED_VM_EXEC_CONTROL: P(1 << 28), MSR_BITMAP,
        VM_EXIT_MSR_STORE_COUNT: 1, VM_EXIT_MSR_STORE_ADDR: MSR_LISTS,
        VM_EXIT_MSR_LOAD_COUNT: 1, VM_EXIT_MSR_LOAD_ADDR: MSR_LISTS + 0x100,
        HOST_FS_BASE: 0x123000, HOST_GS_SELECTOR: 0,
      },
      prepare: (vm) => {
        vm.mem.write32(MSR_LISTS, 0x174); // guest SYSENTER_CS
        vm.mem.write32(MSR_LISTS + 0x100, 0xc0000081); vm.mem.write32(MSR_LISTS + 0x108, 0xabcdef);
      },
    });
    r.write('GUEST_SYSENTER_CS', 0); // (already 0: the store list reads the live MSR)
    expect(r.exit().reason).toBe(18);
    expect(r.vm.mem.read32(MSR_LISTS + 8)).toBe(0);
    expect(r.cpu.segBase[4]).toBe(0x123000);
    expect(r.cpu.segAttr[5]! & 0x10000).toBe(0x10000); // GS null → unusable
    expect(r.read('GUEST_FS_SELECTOR')).toBe(0x10n);
    expect(r.read('GUEST_CS_AR_BYTES')).toBe(0xa09bn);
    expect(r.cpu.gdtrLimit).toBe(0xffff);
    expect(r.cpu.segLimit[7]).toBe(0x67);
  });

  it('VM exits clear the valid bit of the VM-entry interruption information', () => {
    const r = exitOf({ guest: 'cpuid' });
    expect(r.read('VM_ENTRY_INTR_INFO_FIELD')).toBe(0n);
  });
});

describe('INIT blocked in VMX root operation', () => {
  it('takes effect at VMXOFF', async () => {
    const { runRaw, VMX_ON_ASM } = await import('../../support/vmx-harness');
    const r = runRaw(`${VMX_ON_ASM}\n hlt\n vmxoff\n hlt`);
    let inits = 0;
    expect(vmxInit(r.cpu, () => { inits++; })).toBe(true);
    expect(inits).toBe(0);
    r.cpu.halted = false;
    r.vm.run(100);
    expect(inits).toBe(1);
    expect(r.cpu.vmx.initPending).toBe(false);
  });
});
