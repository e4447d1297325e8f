// CPUID values, RDMSR/WRMSR semantics (unknown MSRs, EFER, PAT, FEATURE_CONTROL,
// MTRRs, canonical checks), MSR devices, and the virtual TSC.
import { describe, it, expect } from 'vitest';
import { Exit } from '../../../src/engine/x86/cpu';
import { assembleWithLabels, makeVm, gate64Asm } from '../../support/sys-harness';
import { registerMsrDevice, attachLocalApic } from '../../../src/engine/x86/exec/system-msr';
import { LocalApic } from '../../../src/engine/devices/lapic';
import { ApicBus } from '../../../src/engine/devices/apicbus';
import { setCpuidTopology, cpuidQuery } from '../../../src/engine/x86/exec/cpuid';
import { msrName, MSR_TABLE } from '../../../src/engine/x86/msr-table';

const IDT = 0x2f0000;

function long64(body: string) {
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
  return { vm: makeVm(code, 'long64'), at };
}

const ascii = (...dwords: bigint[]) =>
  dwords.map((d) => String.fromCharCode(...[0, 8, 16, 24].map((s) => Number((d >> BigInt(s)) & 0xffn)))).join('');

describe('CPUID', () => {
  it('identifies as GenuineIntel, family 6 model 6 stepping 3, with the implemented features', () => {
    const { vm } = long64(`
      xor eax, eax
      cpuid
      mov r8, rax
      mov r9, rbx
      mov r10, rdx
      mov r11, rcx
      mov eax, 1
      cpuid
      mov r12, rax
      mov r13, rbx
      mov r14, rcx
      mov r15, rdx`);
    expect(vm.run()).toBe(Exit.Halted);
    expect(vm.reg('r8')).toBe(0xdn);
    expect(ascii(vm.reg('r9'), vm.reg('r10'), vm.reg('r11'))).toBe('GenuineIntel');
    expect(vm.reg('r12')).toBe(0x663n);
    expect(vm.reg('r13')).toBe(0x00010800n); // APIC ID 0, 1 logical processor, CLFLUSH 64 bytes
    // ECX: VMX, CMPXCHG16B, PCID, x2APIC, XSAVE; no HYPERVISOR, no OSXSAVE while CR4.OSXSAVE = 0.
    expect(vm.reg('r14')).toBe(BigInt((1 << 5) | (1 << 13) | (1 << 17) | (1 << 21) | (1 << 26)));
    expect(vm.reg('r15')).toBe(0x070bbb7dn);
  });

  it('leaf 7 has SMEP and SMAP; extended leaves have LM, NX, SYSCALL, RDTSCP, 1G pages, LAHF, 40/48 address bits', () => {
    const { vm } = long64(`
      mov eax, 7
      xor ecx, ecx
      cpuid
      mov r8, rbx
      mov eax, 0x80000001
      cpuid
      mov r9, rcx
      mov r10, rdx
      mov eax, 0x80000008
      cpuid
      mov r11, rax
      mov eax, 0x80000000
      cpuid
      mov r12, rax`);
    vm.run();
    expect(vm.reg('r8')).toBe(BigInt((1 << 7) | (1 << 20)));
    expect(vm.reg('r9')).toBe(1n);
    expect(vm.reg('r10')).toBe(BigInt(((1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29)) >>> 0));
    expect(vm.reg('r11')).toBe(0x3028n);
    expect(vm.reg('r12')).toBe(0x80000008n);
  });

  it('answers leaves above the maximum with the highest basic leaf, and the brand string', () => {
    const { vm } = makeQuery();
    const r = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    const top = { ...cpuidQuery(vm.cpu, 0xd, 0, r) };
    expect({ ...cpuidQuery(vm.cpu, 0x20, 0, r) }).toEqual(top);
    expect({ ...cpuidQuery(vm.cpu, 0x40000000, 0, r) }).toEqual(top);
    expect({ ...cpuidQuery(vm.cpu, 0x80000009, 0, r) }).toEqual(top);
    let brand = '';
    for (let l = 0x80000002; l <= 0x80000004; l++) {
      cpuidQuery(vm.cpu, l, 0, r);
      brand += ascii(BigInt(r.eax), BigInt(r.ebx), BigInt(r.ecx), BigInt(r.edx));
    }
    expect(brand.replace(/\0+$/, '')).toBe('vmscope Virtual CPU');
  });

  it('x2APIC topology (leaf 0xB) and initial APIC ID follow the vCPU and the vCPU count', () => {
    const { vm } = makeQuery(5);
    setCpuidTopology(vm.cpu, 6);
    const r = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    expect(cpuidQuery(vm.cpu, 1, 0, r).ebx >>> 16).toBe(0x0506);
    expect(r.edx & (1 << 28)).toBe(1 << 28); // HTT with more than one logical processor
    expect({ ...cpuidQuery(vm.cpu, 0xb, 0, r) }).toEqual({ eax: 0, ebx: 1, ecx: 0x100, edx: 5 });
    expect({ ...cpuidQuery(vm.cpu, 0xb, 1, r) }).toEqual({ eax: 3, ebx: 6, ecx: 0x201, edx: 5 });
    expect({ ...cpuidQuery(vm.cpu, 0xb, 2, r) }).toEqual({ eax: 0, ebx: 0, ecx: 2, edx: 5 });
  });

  it('XSAVE leaf 0xD: x87 and SSE components, 576-byte area; OSXSAVE mirrors CR4', () => {
    const { vm } = makeQuery();
    const r = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    expect({ ...cpuidQuery(vm.cpu, 0xd, 0, r) }).toEqual({ eax: 3, ebx: 576, ecx: 576, edx: 0 });
    expect({ ...cpuidQuery(vm.cpu, 0xd, 1, r) }).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(cpuidQuery(vm.cpu, 1, 0, r).ecx & (1 << 27)).toBe(0);
    vm.cpu.cr4 |= 1 << 18;
    expect(cpuidQuery(vm.cpu, 1, 0, r).ecx & (1 << 27)).toBe(1 << 27);
  });

  it('SYSCALL is reported only while IA-32e mode is active', () => {
    const { vm } = makeQuery();
    const r = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    expect(cpuidQuery(vm.cpu, 0x80000001, 0, r).edx & (1 << 11)).toBe(1 << 11);
    vm.cpu.efer &= ~0x400;
    expect(cpuidQuery(vm.cpu, 0x80000001, 0, r).edx & (1 << 11)).toBe(0);
  });
});

function makeQuery(id = 0) {
  const { code } = assembleWithLabels('hlt', 'long64');
  const vm = makeVm(code, 'long64');
  (vm.cpu as { id: number }).id = id;
  return { vm };
}

describe('RDMSR / WRMSR', () => {
  it('an unknown MSR raises #GP(0) at the RDMSR, registers unchanged', () => {
    const { vm, at } = long64(`
      mov ecx, 0x48          # IA32_SPEC_CTRL: not present
      mov eax, 0x1111
      mov edx, 0x2222
    fault:
      rdmsr`);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(vm.reg('rsi')).toBe(0n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
    expect(vm.reg('rax')).toBe(0x1111n);
    expect(vm.reg('rdx')).toBe(0x2222n);
  });

  it.each([
    ['IA32_ARCH_CAPABILITIES read', 'mov ecx, 0x10a\n rdmsr'],
    ['EFER reserved bit', 'mov ecx, 0xC0000080\n rdmsr\n or eax, 2\n wrmsr'],
    ['EFER.LME cleared while paging', 'mov ecx, 0xC0000080\n rdmsr\n and eax, 0xfffffeff\n wrmsr'],
    ['non-canonical LSTAR', 'mov ecx, 0xC0000082\n xor eax, eax\n mov edx, 0x8000\n wrmsr'],
    ['non-canonical FS_BASE', 'mov ecx, 0xC0000100\n xor eax, eax\n mov edx, 0x12345678\n wrmsr'],
    ['PAT with type 2', 'mov ecx, 0x277\n mov eax, 0x00070402\n mov edx, 0x00070406\n wrmsr'],
    ['MTRRcap is read-only', 'mov ecx, 0xfe\n rdmsr\n wrmsr'],
    ['MTRR physBase reserved bits', 'mov ecx, 0x200\n mov eax, 0x106\n xor edx, edx\n wrmsr'],
    ['TSC_AUX bits 63:32', 'mov ecx, 0xC0000103\n xor eax, eax\n mov edx, 1\n wrmsr'],
    ['FEATURE_CONTROL VMX-inside-SMX bit (no SMX)', 'mov ecx, 0x3a\n mov eax, 2\n xor edx, edx\n wrmsr'],
    ['APIC_BASE without a local APIC', 'mov ecx, 0x1b\n rdmsr'],
  ])('%s → #GP(0)', (_name, body) => {
    const { vm } = long64(body);
    vm.run();
    expect(vm.reg('rdi')).toBe(13n);
    expect(vm.reg('rsi')).toBe(0n);
  });

  it('reads reset values as QEMU gives them and stores valid writes', () => {
    const { vm } = long64(`
      mov ecx, 0x277
      rdmsr
      mov r8, rax
      mov r9, rdx
      mov eax, 0x01050406
      mov edx, 0x00070106
      wrmsr
      rdmsr
      mov r10, rax
      mov r11, rdx
      mov ecx, 0xfe
      rdmsr
      mov r12, rax
      mov ecx, 0xC0000080
      rdmsr
      mov r13, rax
      mov ecx, 0xC0000082
      mov eax, 0x12345678
      mov edx, 0xffff8000
      wrmsr
      rdmsr
      mov r14, rdx
      shl r14, 32
      or r14, rax
      mov ecx, 0x1a0
      rdmsr
      mov r15, rax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('r8')).toBe(0x00070406n);
    expect(vm.reg('r9')).toBe(0x00070406n);
    expect(vm.reg('r10')).toBe(0x01050406n);
    expect(vm.reg('r11')).toBe(0x00070106n);
    expect(vm.reg('r12')).toBe(0x508n);
    expect(vm.reg('r13')).toBe(0xd00n); // LME | LMA | NXE (boot state)
    expect(vm.reg('r14')).toBe(0xffff800012345678n);
    expect(vm.reg('r15')).toBe(1n);
  });

  it('EFER.LMA is read-only: writing it 0 leaves it set; NXE can be cleared', () => {
    const { vm } = long64(`
      mov ecx, 0xC0000080
      mov eax, 0x100
      xor edx, edx
      wrmsr
      rdmsr
      mov r8, rax`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('r8')).toBe(0x500n);
    expect(vm.cpu.longMode).toBe(true);
  });

  it('IA32_FEATURE_CONTROL: once the lock bit is written, every write faults', () => {
    const { vm, at } = long64(`
      mov ecx, 0x3a
      mov eax, 1
      xor edx, edx
      wrmsr
      rdmsr
      mov r8, rax
      xor eax, eax
    fault:
      wrmsr`);
    vm.run();
    expect(vm.reg('r8')).toBe(1n);
    expect(vm.reg('rdi')).toBe(13n);
    expect(Number(vm.reg('rbp'))).toBe(at.fault);
  });

  it('a registered device (the local APIC) implements its MSR range', () => {
    const { vm } = long64(`
      mov ecx, 0x808
      mov eax, 0x20
      xor edx, edx
      wrmsr
      mov ecx, 0x80f
      rdmsr
      mov r8, rax`);
    const writes: string[] = [];
    registerMsrDevice(vm.cpu, 0x800, 0x8ff, {
      readMsr: (i, out) => { out.lo = i === 0x80f ? 0x1ff : 0; out.hi = 0; return true; },
      writeMsr: (i, lo, hi) => { writes.push(`${i.toString(16)}=${hi}:${lo}`); return true; },
    });
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(writes).toEqual(['808=0:32']);
    expect(vm.reg('r8')).toBe(0x1ffn);
  });

  it('with the local APIC attached: APIC_BASE, x2APIC MSRs and CR8 reach it; CPUID.APIC follows APIC_BASE.EN', () => {
    const { vm } = long64(`
      mov ecx, 0x1b
      rdmsr
      mov r8, rax
      or eax, 0x400          # EXTD: x2APIC mode
      wrmsr
      mov eax, 5
      mov cr8, rax
      mov ecx, 0x808
      rdmsr
      mov r9, rax
      mov eax, 0x30
      xor edx, edx
      wrmsr
      mov r10, cr8
      mov eax, 1
      cpuid
      mov r11, rdx
      mov ecx, 0x1b
      rdmsr
      and eax, 0xfffff3ff    # EN = EXTD = 0: globally disabled
      wrmsr
      mov eax, 1
      cpuid
      mov r12, rdx`);
    const control = { sendInit() {}, sendSipi() {}, kick() {} };
    const apic = new LocalApic({ cpu: 0, clock: { now: () => 0 }, control, bus: new ApicBus() });
    attachLocalApic(vm.cpu, apic);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('r8')).toBe(0xfee00900n); // base, BSP, enabled
    expect(vm.reg('r9')).toBe(0x50n); // CR8 → TPR[7:4]
    expect(vm.reg('r10')).toBe(3n); // x2APIC TPR write → CR8
    expect(Number(vm.reg('r11')) & (1 << 9)).toBe(1 << 9);
    expect(Number(vm.reg('r12')) & (1 << 9)).toBe(0);
  });

  it('names MSRs for the debugger', () => {
    expect(msrName(0xc0000080)).toBe('IA32_EFER');
    expect(msrName(0x277)).toBe('IA32_PAT');
    expect(msrName(0x808)).toBe('IA32_X2APIC_TPR');
    expect(msrName(0x1234)).toBe('MSR 0x1234');
    expect(new Set(MSR_TABLE.map((d) => d.index)).size).toBe(MSR_TABLE.length);
  });
});

describe('time-stamp counter', () => {
  it('RDTSC counts retired instructions exactly, whatever the block boundaries', () => {
    const { vm } = long64(`
      rdtsc
      mov r8d, eax
      nop
      nop
      nop
      rdtsc
      mov r9d, eax`);
    vm.run();
    expect(Number(vm.reg('r9')) - Number(vm.reg('r8'))).toBe(5); // mov, 3 nops, then the second rdtsc
  });

  it('WRMSR to the TSC sets it; RDTSCP also returns IA32_TSC_AUX', () => {
    const { vm } = long64(`
      mov ecx, 0xC0000103
      mov eax, 7
      xor edx, edx
      wrmsr
      mov ecx, 0x10
      mov eax, 0xfffffff0
      mov edx, 0x1234
      wrmsr
      rdtscp
      mov r8, rdx
      mov r9, rax
      mov r10, rcx`);
    vm.run();
    expect(vm.reg('rdi')).toBe(0n);
    expect(vm.reg('r8')).toBe(0x1234n);
    expect(vm.reg('r9')).toBe(0xfffffff1n); // WRMSR retired one tick before RDTSCP
    expect(vm.reg('r10')).toBe(7n);
  });

  it('the TSC wraps through 2^32 into EDX', () => {
    const { vm } = long64(`
      mov ecx, 0x10
      mov eax, 0xfffffffe
      xor edx, edx
      wrmsr
      nop
      rdtsc
      mov r8, rdx
      mov r9, rax`);
    vm.run();
    expect(vm.reg('r8')).toBe(1n);
    expect(vm.reg('r9')).toBe(0n);
  });
});
