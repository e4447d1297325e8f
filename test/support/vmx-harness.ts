// Harness for VMX tests: a 64-bit long-mode vCPU (boot.ts identity map)
// that runs an assembled hypervisor snippet. The snippet's host side is a
// small fixed prologue — CR0.NE, CR4.VMXE, IA32_FEATURE_CONTROL, VMXON,
// VMCLEAR, VMPTRLD, then VMWRITE of every field from a table the test fills,
// then VMLAUNCH — and three stubs: `host_entry: hlt` (HOST_RIP: a VM exit
// stops the run there), `resume: vmresume` and `launch: vmlaunch`. Tests play
// the VMM's exit handler in TypeScript between runs (read/write VMCS fields,
// then continue at `resume`), so each test sees every exit and its fields.
// The guest's code is the test's assembly from the label `guest`.
//
// Physical layout (all identity-mapped below 4 GiB):
//   0x100000 code, 0x300000 VMXON region, 0x301000 VMCS region,
//   0x302000 second VMCS region, 0x303000 MSR bitmaps, 0x304000/0x305000 I/O
//   bitmaps A/B, 0x306000 virtual-APIC page, 0x307000 MSR lists,
//   0x310000 host stack top, 0x320000 guest stack top, 0x330000 EPT tables,
//   0x350000 the VMWRITE table, 0x360000 scratch data.

import type { TraceRecord } from '../../src/common/trace';
import { Cpu, Exit, type CpuEvents } from '../../src/engine/x86/cpu';
import { exitReasonName } from '../../src/engine/vmx/exit-reasons';
import { fieldByName } from '../../src/engine/vmx/vmcs-fields';
import type { Vmcs } from '../../src/engine/vmx/vmcs';
import { VECTOR_NAMES } from '../../src/engine/x86/vectors';
import { assembleWithLabels, makeVm, type Vm } from './sys-harness';
import { getReg } from './cpu-harness';

export const VMXON_REGION = 0x300000, VMCS_REGION = 0x301000, VMCS2_REGION = 0x302000, MSR_BITMAP = 0x303000,
  IO_BITMAP_A = 0x304000, IO_BITMAP_B = 0x305000, VAPIC = 0x306000, MSR_LISTS = 0x307000, HOST_STACK = 0x310000,
  GUEST_STACK = 0x320000, EPT_BASE = 0x330000, TABLE = 0x350000, SCRATCH = 0x360000;

const hex = (v: bigint | number): string => '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);

/** Trace records as the machine would emit them, captured from a bare vCPU. */
export function recordEvents(cpu: Cpu): TraceRecord[] {
  const out: TraceRecord[] = [];
  const base = (c: Cpu) => ({ cpu: c.id, icount: c.icount, rip: hex(c.rip) });
  const ev: CpuEvents = {
    ring: (c, from, to, via) => { out.push({ type: 'ring', ...base(c), from, to, via }); },
    mode: (c, from, to) => { out.push({ type: 'mode', ...base(c), from, to }); },
    exception: (c, vector, errorCode, cr2) => {
      out.push({ type: 'exception', ...base(c), vector, name: VECTOR_NAMES[vector] ?? '?', ...(errorCode >= 0 ? { errorCode } : {}), ...(cr2 !== undefined ? { cr2: hex(cr2) } : {}) });
    },
    vmexit: (c, e) => {
      out.push({
        type: 'vmexit', ...base(c), reason: exitReasonName(e.reason), reasonCode: e.reason, qualification: hex(e.qualification),
        guestRip: hex(e.guestRip), ...(e.guestPhysical !== undefined ? { guestPhysical: hex(e.guestPhysical) } : {}),
        ...(e.guestLinear !== undefined ? { guestLinear: hex(e.guestLinear) } : {}),
      });
    },
    vmentry: (c, launch) => { out.push({ type: 'vmentry', ...base(c), launch }); },
    vmentryFailure: (c, f) => { out.push({ type: 'vmentry-failure', ...base(c), ...f }); },
  };
  cpu.events = ev;
  return out;
}

/** Assembly run before anything else: VMX on, the VMCS current. Leaves with CF/ZF of a failure at `setup_failed`. */
export const VMX_ON_ASM = `
    mov rax, cr0
    or eax, 0x20
    mov cr0, rax
    mov rax, cr4
    or eax, 0x2000
    mov cr4, rax
    mov ecx, 0x3a
    rdmsr
    test eax, 1
    jnz 9f
    or eax, 5
    wrmsr
9:  mov ecx, 0x480
    rdmsr
    mov dword ptr [${VMXON_REGION}], eax
    mov dword ptr [${VMCS_REGION}], eax
    mov dword ptr [${VMCS2_REGION}], eax
    vmxon qword ptr [ptr_vmxon]
    jbe setup_failed
`;

const PROLOGUE = `
start:
${VMX_ON_ASM}
    vmclear qword ptr [ptr_vmcs]
    jbe setup_failed
    vmptrld qword ptr [ptr_vmcs]
    jbe setup_failed
    mov rsi, ${TABLE}
    mov rcx, [rsi]
    add rsi, 8
1:  test rcx, rcx
    jz 2f
    mov rax, [rsi]
    mov rdx, [rsi + 8]
    vmwrite rax, rdx
    jbe setup_failed
    add rsi, 16
    dec rcx
    jmp 1b
2:  call before_launch
launch:
    vmlaunch
launch_failed:
    hlt
setup_failed:
    hlt
host_entry:
    hlt
resume:
    vmresume
resume_failed:
    hlt
    .balign 8
ptr_vmxon: .quad ${VMXON_REGION}
ptr_vmcs: .quad ${VMCS_REGION}
ptr_vmcs2: .quad ${VMCS2_REGION}
`;

// Controls (TRUE MSR defaults: CR3-load/store exiting and save/load debug controls off).
export const PIN_DEFAULT = 0x16, PROC_DEFAULT = 0x04006172, EXIT_DEFAULT = 0x36dfb | (1 << 9), ENTRY_DEFAULT = 0x11fb | (1 << 9);

/** A VMCS for a 64-bit guest sharing the host's page tables, host state as the prologue leaves it. */
export function defaultFields(at: Record<string, number>): Record<string, bigint | number> {
  const cr0 = (0x80000031 | 0x60000000) >>> 0; // PG CD NW NE ET PE as the prologue leaves CR0
  return {
    PIN_BASED_VM_EXEC_CONTROL: PIN_DEFAULT, CPU_BASED_VM_EXEC_CONTROL: PROC_DEFAULT,
    VM_EXIT_CONTROLS: EXIT_DEFAULT, VM_ENTRY_CONTROLS: ENTRY_DEFAULT,
    EXCEPTION_BITMAP: 0, CR3_TARGET_COUNT: 0, VMCS_LINK_POINTER: -1n,
    HOST_CR0: cr0, HOST_CR3: 0x7000, HOST_CR4: 0x2020,
    HOST_CS_SELECTOR: 0x08, HOST_SS_SELECTOR: 0x10, HOST_DS_SELECTOR: 0x10, HOST_ES_SELECTOR: 0x10,
    HOST_FS_SELECTOR: 0x10, HOST_GS_SELECTOR: 0x10, HOST_TR_SELECTOR: 0x18,
    HOST_FS_BASE: 0, HOST_GS_BASE: 0, HOST_TR_BASE: 0, HOST_GDTR_BASE: 0x6000, HOST_IDTR_BASE: 0,
    HOST_IA32_SYSENTER_CS: 0, HOST_IA32_SYSENTER_ESP: 0, HOST_IA32_SYSENTER_EIP: 0,
    HOST_RSP: HOST_STACK, HOST_RIP: at.host_entry!,
    GUEST_CR0: cr0, GUEST_CR3: 0x7000, GUEST_CR4: 0x2020, GUEST_DR7: 0x400,
    GUEST_ES_SELECTOR: 0x10, GUEST_CS_SELECTOR: 0x08, GUEST_SS_SELECTOR: 0x10, GUEST_DS_SELECTOR: 0x10,
    GUEST_FS_SELECTOR: 0x10, GUEST_GS_SELECTOR: 0x10, GUEST_LDTR_SELECTOR: 0, GUEST_TR_SELECTOR: 0x18,
    GUEST_ES_LIMIT: 0xffffffff, GUEST_CS_LIMIT: 0xffffffff, GUEST_SS_LIMIT: 0xffffffff, GUEST_DS_LIMIT: 0xffffffff,
    GUEST_FS_LIMIT: 0xffffffff, GUEST_GS_LIMIT: 0xffffffff, GUEST_LDTR_LIMIT: 0, GUEST_TR_LIMIT: 0x67,
    GUEST_ES_AR_BYTES: 0xc093, GUEST_CS_AR_BYTES: 0xa09b, GUEST_SS_AR_BYTES: 0xc093, GUEST_DS_AR_BYTES: 0xc093,
    GUEST_FS_AR_BYTES: 0xc093, GUEST_GS_AR_BYTES: 0xc093, GUEST_LDTR_AR_BYTES: 0x10000, GUEST_TR_AR_BYTES: 0x8b,
    GUEST_ES_BASE: 0, GUEST_CS_BASE: 0, GUEST_SS_BASE: 0, GUEST_DS_BASE: 0, GUEST_FS_BASE: 0, GUEST_GS_BASE: 0,
    GUEST_LDTR_BASE: 0, GUEST_TR_BASE: 0, GUEST_GDTR_BASE: 0x6000, GUEST_GDTR_LIMIT: 0x1f,
    GUEST_IDTR_BASE: 0, GUEST_IDTR_LIMIT: 0xfff,
    GUEST_RSP: GUEST_STACK, GUEST_RIP: at.guest!, GUEST_RFLAGS: 2,
    GUEST_INTERRUPTIBILITY_INFO: 0, GUEST_ACTIVITY_STATE: 0, GUEST_PENDING_DBG_EXCEPTIONS: 0,
    GUEST_SYSENTER_CS: 0, GUEST_SYSENTER_ESP: 0, GUEST_SYSENTER_EIP: 0,
  };
}

/** Builds an EPT identity map of 0..4 GiB with 2 MiB pages (RWX, WB) at EPT_BASE; returns the EPTP. */
export function identityEpt(vm: Vm, opts: { ad?: boolean } = {}): bigint {
  const m = vm.mem;
  const pml4 = EPT_BASE, pdpt = EPT_BASE + 0x1000, pd = EPT_BASE + 0x2000;
  m.write32(pml4, pdpt | 7); m.write32(pml4 + 4, 0);
  for (let i = 0; i < 4; i++) { m.write32(pdpt + 8 * i, (pd + 0x1000 * i) | 7); m.write32(pdpt + 8 * i + 4, 0); }
  for (let i = 0; i < 2048; i++) {
    m.write32(pd + 8 * i, ((i * 0x200000) | 0x80 | (6 << 3) | 7) | 0);
    m.write32(pd + 8 * i + 4, Math.floor(i / 2048));
  }
  return BigInt(pml4 | (3 << 3) | 6 | (opts.ad ? 0x40 : 0));
}

/** Maps GPA page `gpa` with 4 KiB granularity inside its 2 MiB region (splits the PDE into a page table at `pt`). */
export function splitEpt(vm: Vm, gpa: number, pt: number): void {
  const m = vm.mem;
  const region = Math.floor(gpa / 0x200000);
  const pde = EPT_BASE + 0x2000 + 8 * region;
  for (let i = 0; i < 512; i++) {
    m.write32(pt + 8 * i, (region * 0x200000 + i * 0x1000) | (6 << 3) | 7);
    m.write32(pt + 8 * i + 4, 0);
  }
  m.write32(pde, pt | 7);
}
export function setEptPte(vm: Vm, gpa: number, pt: number, value: number): void {
  vm.mem.write32(pt + 8 * ((gpa >>> 12) & 511), value);
}

export interface Rig {
  vm: Vm;
  cpu: Cpu;
  at: Record<string, number>;
  records: TraceRecord[];
  vmcs(): Vmcs;
  read(name: string): bigint;
  write(name: string, v: bigint | number): void;
  reg(name: string): bigint;
  /** Runs from where the vCPU is until it halts; returns where (label name, if any). */
  run(limit?: number): string;
  /** From host_entry: VMRESUME (after the test's handling). */
  resume(limit?: number): string;
  /** GUEST_RIP += VM_EXIT_INSTRUCTION_LEN. */
  skip(): void;
  exit(): { reason: number; qual: bigint; rip: bigint; len: number };
}

export interface RigOptions {
  /** Guest code (label `guest` is prepended), host extra code (may define `before_launch`). */
  guest: string;
  host?: string;
  fields?: Record<string, bigint | number>;
  /** Build an identity EPT and enable it (secondary controls). */
  ept?: boolean | { ad?: boolean; unrestricted?: boolean };
  data?: { addr: number; bytes: Uint8Array }[];
  /** Mutate memory after assembly/EPT, before running. */
  prepare?: (vm: Vm, at: Record<string, number>) => void;
}

export function field(name: string): number {
  const f = fieldByName(name);
  if (!f) throw new Error(`no VMCS field ${name}`);
  return f.encoding;
}

export function makeRig(o: RigOptions): Rig {
  const host = o.host ?? '';
  const needsBefore = !/before_launch:/.test(host);
  const src = `${PROLOGUE}\n${needsBefore ? 'before_launch:\n    ret\n' : ''}${host}\nguest:\n${o.guest}\n`;
  const { code, at } = assembleWithLabels(src, 'long64');
  const vm = makeVm(code, 'long64', { data: o.data });
  const cpu = vm.cpu;
  const records = recordEvents(cpu);
  const fields: Record<string, bigint | number> = { ...defaultFields(at) };
  if (o.ept) {
    const eptp = identityEpt(vm, typeof o.ept === 'object' ? o.ept : {});
    fields.EPT_POINTER = eptp;
    fields.CPU_BASED_VM_EXEC_CONTROL = PROC_DEFAULT | (1 << 31);
    fields.SECONDARY_VM_EXEC_CONTROL = 2 | (typeof o.ept === 'object' && o.ept.unrestricted ? 0x80 : 0);
  }
  Object.assign(fields, o.fields ?? {});
  const entries = Object.entries(fields);
  vm.mem.write32(TABLE, entries.length); vm.mem.write32(TABLE + 4, 0);
  entries.forEach(([name, v], i) => {
    const u = BigInt.asUintN(64, BigInt(v));
    const a = TABLE + 8 + 16 * i;
    vm.mem.write32(a, field(name)); vm.mem.write32(a + 4, 0);
    vm.mem.write32(a + 8, Number(u & 0xffffffffn) | 0); vm.mem.write32(a + 12, Number(u >> 32n) | 0);
  });
  o.prepare?.(vm, at);
  const where = (): string => {
    const rip = cpu.rip - 1; // after HLT
    for (const [name, a] of Object.entries(at)) if (a === rip && /failed|host_entry/.test(name)) return name;
    return `0x${cpu.rip.toString(16)}`;
  };
  const rig: Rig = {
    vm, cpu, at, records,
    vmcs: () => cpu.vmx.current!,
    read: (name) => cpu.vmx.current!.get64(field(name)),
    write: (name, v) => cpu.vmx.current!.set64(field(name), BigInt(v)),
    reg: (name) => getReg(cpu, name),
    run: (limit = 100000) => { const e = vm.run(limit); return e === Exit.Halted ? where() : `exit ${e}`; },
    resume: (limit = 100000) => { cpu.rip = at.resume!; cpu.halted = false; return rig.run(limit); },
    skip: () => {
      const v = cpu.vmx.current!;
      v.set64(field('GUEST_RIP'), v.get64(field('GUEST_RIP')) + v.get64(field('VM_EXIT_INSTRUCTION_LEN')));
    },
    exit: () => ({
      reason: Number(rig.read('VM_EXIT_REASON')), qual: rig.read('EXIT_QUALIFICATION'),
      rip: rig.read('GUEST_RIP'), len: Number(rig.read('VM_EXIT_INSTRUCTION_LEN')),
    }),
  };
  return rig;
}

// ---------------------------------------------------------------------------
// Raw snippets: VMX instructions outside the rig's fixed prologue
// ---------------------------------------------------------------------------

/** `SAVEF n`: stores RFLAGS into scratch slot n; `SAVE n, reg` stores a register. Prepend to snippets. */
export const SAVE_MACROS = `
    .macro SAVEF slot
    pushfq
    pop r15
    mov qword ptr [${SCRATCH} + \\slot * 8], r15
    .endm
    .macro SAVE slot, reg
    mov qword ptr [${SCRATCH} + \\slot * 8], \\reg
    .endm
`;

export interface Raw {
  vm: Vm;
  cpu: Cpu;
  at: Record<string, number>;
  records: TraceRecord[];
  exit: Exit;
  slot(n: number): bigint;
  /** Vector of the first exception raised, if any. */
  firstException(): number | undefined;
}

/** Runs a 64-bit snippet (SAVE macros available) to HLT; optional setup of the vCPU first. */
export function runRaw(src: string, opts: { setup?: (vm: Vm, at: Record<string, number>) => void; limit?: number } = {}): Raw {
  const { code, at } = assembleWithLabels(`${SAVE_MACROS}\n${src}\n    .balign 8\nptr_vmxon: .quad ${VMXON_REGION}\nptr_vmcs: .quad ${VMCS_REGION}\nptr_vmcs2: .quad ${VMCS2_REGION}\nsetup_failed:\n    hlt\n`, 'long64');
  const vm = makeVm(code, 'long64');
  const records = recordEvents(vm.cpu);
  opts.setup?.(vm, at);
  const exit = vm.run(opts.limit ?? 100000);
  const mem = vm.mem;
  return {
    vm, cpu: vm.cpu, at, records, exit,
    slot: (n) => (BigInt(mem.read32(SCRATCH + 8 * n + 4) >>> 0) << 32n) | BigInt(mem.read32(SCRATCH + 8 * n) >>> 0),
    firstException: () => { const r = records.find((x) => x.type === 'exception'); return r && r.type === 'exception' ? r.vector : undefined; },
  };
}

/** Marks every page of boot.ts's identity map user-accessible (for CPL 3 tests). */
export function userPages(vm: Vm): void {
  const m = vm.mem;
  m.write32(0x7000, m.read32(0x7000) | 4);
  for (let i = 0; i < 4; i++) m.write32(0x8000 + 8 * i, m.read32(0x8000 + 8 * i) | 4);
  for (let i = 0; i < 2048; i++) m.write32(0x9000 + 8 * i, m.read32(0x9000 + 8 * i) | 4);
}

/** Switches the vCPU to 64-bit ring 3 (flat, selectors with RPL 3) at `rip`. */
export function toRing3(cpu: Cpu, rip: number): void {
  cpu.setSegment(1, 0x2b, 0, 0xffffffff, 0xa0fb);
  for (const s of [0, 2, 3, 4, 5]) cpu.setSegment(s, 0x33, 0, 0xffffffff, 0xc0f3);
  cpu.rip = rip;
  cpu.setCpl(3);
  cpu.updateMode();
}

export const CF = 1n, ZF = 0x40n;
/** The six arithmetic flags of a saved RFLAGS. */
export const arith = (f: bigint): bigint => f & 0x8d5n;

/** Interrupt lines a test drives by hand (what the local APIC gives a vCPU). */
export class FakeLines {
  pending: number[] = [];
  nmi = false;
  acked: number[] = [];
  hasInterrupt(): boolean { return this.pending.length > 0; }
  acknowledgeInterrupt(): number { const v = this.pending.shift()!; this.acked.push(v); return v; }
  takeNmi(): boolean { const n = this.nmi; this.nmi = false; return n; }
  hasNmi(): boolean { return this.nmi; }
}
