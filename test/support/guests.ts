// The guest programs every engine is checked against: where each image is,
// how it boots, and the exact serial transcript and exit status it gives on
// QEMU. Taken from what each guest's source prints; a change here is a change
// to a guest. Shared by the QEMU reference test and the emulator test.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const root = resolve(__dirname, '../..');
const buildScript = join(root, 'scripts/build-guests.mjs');
export const guests = join(root, 'build/guests');

export function buildGuests(...args: string[]) {
  return spawnSync(process.execPath, [buildScript, ...args], { cwd: root, encoding: 'utf8' });
}

/** Whether GNU as/ld/objcopy are installed (the build script's --check). */
export function binutilsAvailable(): boolean {
  return buildGuests('--check').status === 0;
}

export interface Guest {
  image: string;
  kind: 'multiboot' | 'bios';
  status: number;
  serial: string;
  /** vCPUs to run it with (QEMU -smp, vmscope --cpus); default 1. */
  cpus?: number;
  /** Built by the test (false: committed, runs without binutils). */
  built: boolean;
  /** A CPU feature the guest needs that QEMU's TCG lacks. 'vmx': the guest is a hypervisor
   *  (Intel VT-x with EPT); its reference transcript is Bochs 2.7's (test/unit/guests/bochs.test.ts),
   *  and the QEMU test leaves it out. */
  needs?: 'vmx';
}

const lines = (...l: string[]) => l.map((s) => `${s}\n`).join('');
const done = lines('done');

export const GUESTS: Record<string, Guest> = {
  hello32: {
    image: join(guests, 'hello32.elf'),
    kind: 'multiboot',
    built: true,
    status: 1, // exit(0)
    serial: lines(
      'hello from vmscope',
      'multiboot: eax=0x2badb002, info flags bit 0 set',
      'memory: lower 639 KiB, upper 129920 KiB', // QEMU -m 128
    ),
  },
  longmode: {
    image: join(guests, 'longmode.elf'),
    kind: 'multiboot',
    built: true,
    status: 85, // exit(0x2a)
    serial: lines(
      'vmscope longmode guest',
      'boot: multiboot eax=0x2badb002, cpu has long mode, nx, syscall',
      'long mode: cr0=0x80010033 cr4=0x20 efer=0xd01',
      'kernel: gdt, tss (rsp0, ist1), idt, syscall msrs loaded',
      'kernel: executing ud2 in ring 0',
      'kernel: #UD (vector 0x6) from ring 0 on kernel stack: fixed up',
      'kernel: entering ring 3',
      'user: hello from ring 3 via syscall write',
      'user: getpid() = 0x7',
      'user: writing 0xc3 (ret) to unmapped 0x40000000',
      'kernel: #PF (vector 0xe) error 0x6 cr2 0x40000000 from ring 3 on rsp0 stack: mapped the page, retrying',
      'user: read back 0xc3',
      'user: reading kernel memory at 0x100000',
      'kernel: #PF (vector 0xe) error 0x5 cr2 0x100000 from ring 3 on rsp0 stack: fixed up',
      'user: calling 0x40000000 (a no-execute page)',
      'kernel: #PF (vector 0xe) error 0x15 cr2 0x40000000 from ring 3 on rsp0 stack: fixed up',
      'user: dividing by zero',
      'kernel: #DE (vector 0x0) from ring 3 on rsp0 stack: fixed up',
      'user: loading kernel data selector 0x10 into ds',
      'kernel: #GP (vector 0xd) error 0x10 from ring 3 on ist1 stack: fixed up',
      'user: int 0x80 with rax=2 (getpid)',
      'kernel: int 0x80 from ring 3 on rsp0 stack, rax=0x2',
      'user: int 0x80 returned 0x7',
      'user: exit(0x2a)',
      'kernel: exit(0x2a)',
    ),
  },
  smp: {
    image: join(guests, 'smp.elf'),
    kind: 'multiboot',
    built: true,
    cpus: 2,
    status: 1, // exit(0)
    serial: lines(
      'smp: bsp apic id 0x0, starting application processors',
      'smp: ap up, apic id 0x1',
      'smp: 1 application processor(s) up',
    ),
  },
  timer: {
    image: join(guests, 'timer.elf'),
    kind: 'multiboot',
    built: true,
    status: 1, // exit(0)
    serial: lines(
      'timer: pit irq0 woke the cpu 3 times',
      'timer: lapic timer woke the cpu 3 times',
    ),
  },
  realmode: {
    image: join(guests, 'realmode.bin'),
    kind: 'bios',
    built: true,
    status: 1, // exit(0)
    serial: lines(
      'real mode: hello from the reset vector',
      'real mode: int 0x30 handler got ax=0x1234',
      'real mode: int 0x30 returned ax=0x1235',
      'real mode: a20 enabled via port 0x92, no wrap at 1 MiB',
      'protected mode: cr0=0x60000011',
    ),
  },
  'samples/hello': {
    image: join(root, 'samples/hello/hello.elf'),
    kind: 'multiboot',
    built: false,
    status: 1, // exit(0)
    serial: lines(
      'kernel: hello from 32-bit protected mode',
      'kernel: long mode on',
      'kernel: going to ring 3',
      'user: hello from ring 3',
      'user: getpid() = 7',
      'kernel: exit(0)',
    ),
  },
};

// The hypervisor guests (test/guests/vmx/, lib/vmx.inc): VMX with EPT, so no QEMU (TCG has no
// VMX): these transcripts are what they print on Bochs 2.7 (cpu corei7_skylake_x), and what
// vmscope's emulator must print. Each ends with exit code 0 (status 1).
const vmxGuest = (name: string, ...serial: string[]): Guest => ({
  image: join(guests, `${name}.elf`),
  kind: 'multiboot',
  built: true,
  needs: 'vmx',
  status: 1, // exit(0)
  serial: lines(...serial),
});
GUESTS['vmx-basic'] = vmxGuest(
  'vmx-basic',
  'vmx-basic: a hypervisor with one 64-bit guest under ept',
  'hv: vmx on',
  'hv: vmcs ready: ept maps guest-physical 0-128 MiB; cpuid, hlt, i/o, exceptions exit',
  'hv: vmlaunch',
  'exit: CPUID (10) qual=0x0 rip=0x101007',
  'hv: cpuid 0x40000000: hypervisor leaf, signature "vmscopevmxhv"',
  'exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x10100b',
  'hv: out to port 0xe9, 4 bytes: 0x63736d76',
  'exit: VMCALL (18) qual=0x0 rip=0x101012',
  'hv: vmcall rax=0x1234: returning 0x1235',
  'exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x101015',
  'hv: out to port 0xe9, 4 bytes: 0x1235',
  'exit: EPT_VIOLATION (48) qual=0x182 rip=0x10101c',
  'hv: ept violation: write at gpa 0x20000000 (linear 0x20000000): mapped the page, invept, retrying',
  'exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x101024',
  'hv: out to port 0xe9, 4 bytes: 0x5a5a5a5a',
  'exit: HLT (12) qual=0x0 rip=0x101026',
  "hv: guest halted; its store is in the hypervisor's page: 0x5a5a5a5a",
  'hv: 7 exits: CPUID 1, HLT 1, VMCALL 1, IO_INSTRUCTION 3, EPT_VIOLATION 1',
);
GUESTS['vmx-badguest'] = vmxGuest(
  'vmx-badguest',
  'vmx-badguest: vm entries that fail the guest-state checks',
  'hv: vmx on',
  'hv: vmcs ready',
  'hv: guest rflags 0x0 (bit 1 clear); vmlaunch',
  'exit: INVALID_GUEST_STATE (33) qual=0x0 rip=0x101000',
  'hv: vm entry failed: exit reason 0x80000021, qualification 0x0',
  'hv: guest rflags 0x2, cr0 0x80010032 (pg without pe); vmlaunch',
  'exit: INVALID_GUEST_STATE (33) qual=0x0 rip=0x101000',
  'hv: vm entry failed: exit reason 0x80000021, qualification 0x0',
  'hv: guest cr0 0x80010033; vmlaunch',
  'exit: HLT (12) qual=0x0 rip=0x101000',
  'hv: guest halted',
  'hv: 3 exits: HLT 1, INVALID_GUEST_STATE 2',
);
GUESTS['vmx-failvalid'] = vmxGuest(
  'vmx-failvalid',
  'vmx-failvalid: vm entries that fail as instructions',
  'hv: vmx on',
  'hv: vmlaunch with no current vmcs: VMfailInvalid',
  'hv: vmcs ready',
  'hv: vmresume of a clear vmcs: VMfailValid, vm-instruction error 5 (VMRESUME with non-launched VMCS)',
  'hv: cr3-target count 5; vmlaunch: VMfailValid, vm-instruction error 7 (VM entry with invalid control field(s))',
  'hv: cr3-target count 0, host rip 0x8000000000000000; vmlaunch: VMfailValid, vm-instruction error 8 (VM entry with invalid host-state field(s))',
  'hv: host rip vmx_exit_entry; vmlaunch',
  'exit: HLT (12) qual=0x0 rip=0x101000',
  'hv: guest halted',
  'hv: 1 exits: HLT 1',
);
for (const name of ['vmexit-storm', 'vmexit-storm-1']) GUESTS[name] = vmxGuest(name, 'done');
GUESTS['samples/hypervisor'] = {
  ...vmxGuest(
    'hypervisor',
    'hv: hello from the hypervisor',
    'hv: vmx on, vmcs ready, launching the guest',
    'guest: hello from the guest',
    'hv: exit CPUID (10) at rip 0x10085b: leaf 0x40000000, answering "vmscope-hv!!"',
    'hv: exit VMCALL (18) at rip 0x100862: hypercall rax=0x2a, returning 0x2b',
    'hv: exit EPT_VIOLATION (48) at rip 0x10086a: write to gpa 0x8000000, mapping a page there',
    'hv: exit HLT (12) at rip 0x100874: the guest is done after 25 exits',
  ),
  image: join(root, 'samples/hypervisor/hypervisor.elf'),
  built: false,
};

for (const bench of ['intloop', 'loadstore', 'pagetouch', 'syscall']) {
  for (const name of [bench, `${bench}-1`]) {
    GUESTS[name] = { image: join(guests, `${name}.elf`), kind: 'multiboot', built: true, status: 1, serial: done };
  }
}

