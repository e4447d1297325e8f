// EPT in non-root operation: the guest walk's table reads and the final
// guest-physical address go through EPT; violations and misconfigurations
// exit with the qualification bits, guest-physical and guest-linear
// addresses; A/D flags; the two-stage walk as data (two-stage.ts).
import { describe, it, expect } from 'vitest';
import { makeRig, splitEpt, setEptPte, EPT_BASE, SCRATCH } from '../../support/vmx-harness';
import { twoStageForCpu } from '../../../src/engine/vmx/two-stage';
import { EPT_A, EPT_D } from '../../../src/engine/mmu/ept';

const PT = EPT_BASE + 0x8000; // a 4 KiB EPT page table for the 2 MiB region of SCRATCH (0x200000-0x3FFFFF)
const PD_PT = EPT_BASE + 0x9000; // one for the region holding the guest page directories (0x0-0x1FFFFF)

describe('EPT violations (reason 48)', () => {
  it('a read of an unmapped page: qualification read | linear valid | final, GPA and GLA', () => {
    const r = makeRig({
      ept: true, guest: `mov eax, [${SCRATCH + 0x10}]`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, 0); },
    });
    expect(r.run()).toBe('host_entry');
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x181n, rip: BigInt(r.at.guest!) });
    expect(r.read('GUEST_PHYSICAL_ADDRESS')).toBe(BigInt(SCRATCH + 0x10));
    expect(r.read('GUEST_LINEAR_ADDRESS')).toBe(BigInt(SCRATCH + 0x10));
    expect(r.records.find((x) => x.type === 'vmexit')).toMatchObject({
      reason: 'EPT_VIOLATION', reasonCode: 48, qualification: '0x181',
      guestPhysical: '0x' + (SCRATCH + 0x10).toString(16), guestLinear: '0x' + (SCRATCH + 0x10).toString(16),
    });
  });

  it('a write to a read/execute page reports what the translation allowed (bits 5:3)', () => {
    const r = makeRig({
      ept: true, guest: `mov dword ptr [${SCRATCH}], 1`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, SCRATCH | (6 << 3) | 5); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x2n | (5n << 3n) | 0x180n });
    expect(r.vm.mem.read32(SCRATCH)).toBe(0); // nothing written
  });

  it('a read that hits the TLB after a read still faults on the first write (permissions are cached per access kind)', () => {
    const r = makeRig({
      ept: true, guest: `mov eax, [${SCRATCH}]\n mov eax, [${SCRATCH + 4}]\n mov dword ptr [${SCRATCH + 8}], 1`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, SCRATCH | (6 << 3) | 1); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x2n | (1n << 3n) | 0x180n, rip: BigInt(r.at.guest! + 14) });
  });

  it('an instruction fetch from a non-executable page sets bit 2', () => {
    const r = makeRig({
      ept: true, guest: `mov eax, ${SCRATCH}\n mov byte ptr [rax], 0x90\n jmp rax`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, SCRATCH | (6 << 3) | 3); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x4n | (3n << 3n) | 0x180n, rip: BigInt(SCRATCH) });
  });

  it('a guest paging-structure access: bit 8 clear, the GPA is the entry\'s, the GLA the address being translated', () => {
    // The guest shares boot.ts's page tables: its page directories are at 0x9000-0xCFFF.
    const r = makeRig({
      ept: true, guest: 'nop',
      prepare: (vm) => { splitEpt(vm, 0x9000, PD_PT); setEptPte(vm, 0x9000, PD_PT, 0); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x81n, rip: BigInt(r.at.guest!) });
    expect(r.read('GUEST_PHYSICAL_ADDRESS')).toBe(BigInt(0x9000 + 8 * Math.floor(r.at.guest! / 0x200000)));
    expect(r.read('GUEST_LINEAR_ADDRESS')).toBe(BigInt(r.at.guest!));
  });

  it('with EPT A/D flags, a guest paging-structure access counts as a write (bit 1)', () => {
    const r = makeRig({
      ept: { ad: true }, guest: 'nop',
      prepare: (vm) => { splitEpt(vm, 0x9000, PD_PT); setEptPte(vm, 0x9000, PD_PT, 0x9000 | (6 << 3) | 5); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x2n | (5n << 3n) | 0x80n });
  });

  it('a violation while delivering an event carries IDT-vectoring information', () => {
    const r = makeRig({
      ept: true, guest: 'ud2',
      fields: { GUEST_IDTR_BASE: SCRATCH },
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, 0); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 48, qual: 0x181n });
    expect(r.read('IDT_VECTORING_INFO_FIELD')).toBe(0x80000306n);
    expect(r.read('GUEST_PHYSICAL_ADDRESS')).toBe(BigInt(SCRATCH + 6 * 16));
  });
});

describe('EPT misconfiguration (reason 49)', () => {
  it('a writable but not readable entry: GPA recorded, no qualification', () => {
    const r = makeRig({
      ept: true, guest: `mov eax, [${SCRATCH + 0x44}]`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, SCRATCH | 2); },
    });
    r.run();
    expect(r.exit()).toMatchObject({ reason: 49, qual: 0n });
    expect(r.read('GUEST_PHYSICAL_ADDRESS')).toBe(BigInt(SCRATCH + 0x44));
    expect(r.records.find((x) => x.type === 'vmexit')).toMatchObject({ reason: 'EPT_MISCONFIG' });
  });
});

describe('EPT translation', () => {
  it('remaps guest-physical pages: the guest writes where EPT says', () => {
    const r = makeRig({
      ept: true, guest: `mov dword ptr [${SCRATCH}], 0x1234\n vmcall`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); setEptPte(vm, SCRATCH, PT, (SCRATCH + 0x5000) | (6 << 3) | 7); },
    });
    r.run();
    expect(r.exit().reason).toBe(18);
    expect(r.vm.mem.read32(SCRATCH)).toBe(0);
    expect(r.vm.mem.read32(SCRATCH + 0x5000)).toBe(0x1234);
  });

  it('sets EPT accessed and dirty flags when enabled', () => {
    const r = makeRig({
      ept: { ad: true }, guest: `mov eax, [${SCRATCH}]\n mov dword ptr [${SCRATCH + 0x1000}], 1\n vmcall`,
      prepare: (vm) => { splitEpt(vm, SCRATCH, PT); },
    });
    r.run();
    const pte = (a: number) => r.vm.mem.read32(PT + 8 * ((a >>> 12) & 511));
    expect(pte(SCRATCH) & (EPT_A | EPT_D)).toBe(EPT_A);
    expect(pte(SCRATCH + 0x1000) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
    expect(pte(SCRATCH + 0x2000) & EPT_A).toBe(0);
    expect(r.vm.mem.read32(EPT_BASE) & EPT_A).toBe(EPT_A);
  });
});

describe('two-stage walk as data', () => {
  it('gives each guest level with its EPT walk, and the final EPT walk', () => {
    const r = makeRig({ ept: true, guest: 'vmcall', prepare: (vm) => { splitEpt(vm, SCRATCH, PT); } });
    r.run();
    const w = twoStageForCpu(r.cpu, SCRATCH + 0x123)!;
    expect(w.ok).toBe(true);
    expect(w.mode).toBe('4-level');
    expect(w.steps.map((s) => s.level?.name)).toEqual(['PML4E', 'PDPTE', 'PDE']);
    expect(w.steps.map((s) => s.gpa)).toEqual([0x7000, 0x8000, 0x9000 + 8]);
    expect(w.steps.every((s) => s.ept.kind === 'ok' && s.ept.hpa === s.gpa)).toBe(true);
    expect(w.gpa).toBe(SCRATCH + 0x123);
    expect(w.final!.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(w.hpa).toBe(SCRATCH + 0x123);
  });

  it('stops where EPT fails: a table access or the final address; no side effects', () => {
    const r = makeRig({ ept: true, guest: 'vmcall', prepare: (vm) => { splitEpt(vm, SCRATCH, PT); } });
    r.run();
    setEptPte(r.vm, SCRATCH, PT, 0);
    const f = twoStageForCpu(r.cpu, SCRATCH)!;
    expect(f).toMatchObject({ ok: false, gpa: SCRATCH, fault: { stage: 'ept-final', gpa: SCRATCH } });
    expect(f.fault!.why).toMatch(/PTE not present/);
    // Unmap the page directory: the walk stops at the PDE read.
    splitEpt(r.vm, 0x9000, PD_PT);
    setEptPte(r.vm, 0x9000, PD_PT, 0);
    const t = twoStageForCpu(r.cpu, SCRATCH)!;
    expect(t.fault).toMatchObject({ stage: 'ept-table', gpa: 0x9008 });
    expect(t.steps).toHaveLength(3);
    expect(t.steps[2]!.level).toBeUndefined();
    const g = twoStageForCpu(r.cpu, 0x400000000)!;
    expect(g.fault).toMatchObject({ stage: 'guest' });
  });
});

describe('VMCS description for the debugger', () => {
  it('lists the fields by group; in non-root operation guest state is live', async () => {
    const { describeVmcs } = await import('../../../src/engine/vmx/describe');
    const r = makeRig({ guest: 'mov rsp, 0x1234\n cpuid' });
    r.run();
    const d = describeVmcs(r.cpu)!;
    expect(d).toMatchObject({ address: '0x301000', launched: true, nonRoot: false });
    expect(d.groups.map((g) => g.id)).toEqual(['guest', 'host', 'control', 'exit-info']);
    const f = (g: string, n: string) => d.groups.find((x) => x.id === g)!.fields.find((x) => x.name === n)!;
    expect(f('exit-info', 'VM_EXIT_REASON')).toEqual({ name: 'VM_EXIT_REASON', encoding: '0x4402', value: '0xa' });
    expect(f('guest', 'GUEST_RSP').value).toBe('0x1234');
    r.skip();
    r.cpu.rip = r.at.resume!; r.cpu.halted = false;
    r.cpu.run(1); // VMRESUME: now in the guest, stopped before its next instruction
    expect(r.cpu.vmx.nonRoot).toBe(true);
    r.cpu.rl[4] = 0x5678;
    expect(describeVmcs(r.cpu)!.groups[0]!.fields.find((x) => x.name === 'GUEST_RSP')!.value).toBe('0x5678');
    expect(r.read('GUEST_RSP')).toBe(0x1234n); // the VMCS itself is written at the next exit
  });
});
