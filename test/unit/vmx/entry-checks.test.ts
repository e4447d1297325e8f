// Every VM-entry check of checks/controls.ts, host.ts and guest.ts, broken on
// purpose: starting from a VMCS that passes, each breaker changes what its
// check tests, and the first failure must be that check (SDM order), with
// its field and section. A meta-test makes sure no check lacks a breaker.
import { describe, it, expect } from 'vitest';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';
import { Vmcs } from '../../../src/engine/vmx/vmcs';
import { checkVmcs } from '../../../src/engine/vmx/entry';
import { CONTROL_CHECKS } from '../../../src/engine/vmx/checks/controls';
import { HOST_CHECKS } from '../../../src/engine/vmx/checks/host';
import { GUEST_CHECKS } from '../../../src/engine/vmx/checks/guest';
import type { CheckCtx } from '../../../src/engine/vmx/checks/common';
import { VMCS_REVISION } from '../../../src/engine/vmx/capabilities';
import { defaultFields, field } from '../../support/vmx-harness';

type Variant = 'long' | 'prot32' | 'v86' | 'real' | 'pae32';

class B {
  readonly mem = new PhysicalMemory(8 * 1024 * 1024);
  vmcs = new Vmcs(0x1000);
  lma = true;
  constructor() { this.variant('long'); }
  set(name: string, v: bigint | number): this { this.vmcs.set64(field(name), BigInt(v)); return this; }
  get(name: string): bigint { return this.vmcs.get64(field(name)); }
  or(name: string, bits: bigint | number): this { return this.set(name, this.get(name) | BigInt(bits)); }
  clear(name: string, bits: bigint | number): this { return this.set(name, this.get(name) & ~BigInt(bits)); }
  ctx(): CheckCtx { return { lma: this.lma, mem: this.mem, vmxonPtr: 0x2000 }; }
  variant(kind: Variant): this {
    this.vmcs = new Vmcs(0x1000);
    for (const [k, val] of Object.entries(defaultFields({ host_entry: 0x100000, guest: 0x100100 }))) this.set(k, val);
    if (kind === 'prot32' || kind === 'pae32' || kind === 'v86' || kind === 'real') {
      this.set('VM_ENTRY_CONTROLS', 0x11fb).set('GUEST_CS_AR_BYTES', 0xc09b).set('GUEST_CR4', kind === 'pae32' ? 0x2020 : 0x2000);
    }
    if (kind === 'pae32') this.set('GUEST_CR3', 0x4000);
    if (kind === 'v86') {
      this.set('GUEST_RFLAGS', 0x20002);
      ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].forEach((s, i) => {
        this.set(`GUEST_${s}_SELECTOR`, 0x100 + i).set(`GUEST_${s}_BASE`, (0x100 + i) * 16)
          .set(`GUEST_${s}_LIMIT`, 0xffff).set(`GUEST_${s}_AR_BYTES`, 0xf3);
      });
    }
    if (kind === 'real') {
      this.set('CPU_BASED_VM_EXEC_CONTROL', 0x04006172 | (1 << 31)).set('SECONDARY_VM_EXEC_CONTROL', 0x82)
        .set('EPT_POINTER', 0x3000 | 0x1e).set('GUEST_CR0', 0x30);
      ['ES', 'SS', 'DS', 'FS', 'GS'].forEach((s) => this.set(`GUEST_${s}_AR_BYTES`, 0x93).set(`GUEST_${s}_LIMIT`, 0xffff));
      this.set('GUEST_CS_AR_BYTES', 0x9b).set('GUEST_CS_LIMIT', 0xffff);
    }
    return this;
  }
  /** An injected event: type, vector, deliver-error-code. */
  inject(type: number, vector: number, err = false): this {
    return this.set('VM_ENTRY_INTR_INFO_FIELD', (1 << 31 | type << 8 | vector | (err ? 1 << 11 : 0)) >>> 0);
  }
}

const NONCANON = 0x0000800000000000n;
const SEG6 = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
const DATA4 = ['DS', 'ES', 'FS', 'GS'];
const proc = (b: B, bits: number) => b.or('CPU_BASED_VM_EXEC_CONTROL', bits);
const sec = (b: B, bits: number) => proc(b, 1 << 31).set('SECONDARY_VM_EXEC_CONTROL', bits);

const BREAK: Record<string, (b: B) => void> = {
  // ---- controls
  'ctl.pin.reserved': (b) => b.set('PIN_BASED_VM_EXEC_CONTROL', 0),
  'ctl.proc.reserved': (b) => b.set('CPU_BASED_VM_EXEC_CONTROL', 0),
  'ctl.proc2.reserved': (b) => sec(b, 1 << 4),
  'ctl.cr3-target-count': (b) => b.set('CR3_TARGET_COUNT', 5),
  'ctl.io-bitmap-a': (b) => proc(b, 1 << 25).set('IO_BITMAP_A', 0x1001).set('IO_BITMAP_B', 0x2000),
  'ctl.io-bitmap-b': (b) => proc(b, 1 << 25).set('IO_BITMAP_A', 0x1000).set('IO_BITMAP_B', 1n << 40n),
  'ctl.msr-bitmap': (b) => proc(b, 1 << 28).set('MSR_BITMAP', 0x10),
  'ctl.virtual-apic': (b) => proc(b, 1 << 21).set('VIRTUAL_APIC_PAGE_ADDR', 0x123),
  'ctl.tpr-threshold.reserved': (b) => proc(b, 1 << 21).set('VIRTUAL_APIC_PAGE_ADDR', 0x5000).set('TPR_THRESHOLD', 0x10),
  'ctl.tpr-threshold.vtpr': (b) => { proc(b, 1 << 21).set('VIRTUAL_APIC_PAGE_ADDR', 0x5000).set('TPR_THRESHOLD', 5); b.mem.write8(0x5080, 0x20); },
  'ctl.virtual-nmis': (b) => b.or('PIN_BASED_VM_EXEC_CONTROL', 1 << 5),
  'ctl.nmi-window': (b) => proc(b, 1 << 22),
  'ctl.apic-access': (b) => sec(b, 1).set('APIC_ACCESS_ADDR', 0x800),
  'ctl.vpid': (b) => sec(b, 1 << 5).set('VIRTUAL_PROCESSOR_ID', 0),
  'ctl.eptp': (b) => sec(b, 2).set('EPT_POINTER', 0x3000 | (2 << 3) | 6),
  'ctl.unrestricted': (b) => sec(b, 0x80),
  'ctl.exit.reserved': (b) => b.set('VM_EXIT_CONTROLS', 0),
  'ctl.exit.save-timer': (b) => b.or('VM_EXIT_CONTROLS', 1 << 22),
  'ctl.exit.msr-store-addr': (b) => b.set('VM_EXIT_MSR_STORE_COUNT', 1).set('VM_EXIT_MSR_STORE_ADDR', 0x1008),
  'ctl.exit.msr-store-end': (b) => b.set('VM_EXIT_MSR_STORE_COUNT', 2).set('VM_EXIT_MSR_STORE_ADDR', (1n << 40n) - 16n),
  'ctl.exit.msr-load-addr': (b) => b.set('VM_EXIT_MSR_LOAD_COUNT', 1).set('VM_EXIT_MSR_LOAD_ADDR', 1n << 41n),
  'ctl.exit.msr-load-end': (b) => b.set('VM_EXIT_MSR_LOAD_COUNT', 2).set('VM_EXIT_MSR_LOAD_ADDR', (1n << 40n) - 16n),
  'ctl.entry.reserved': (b) => b.set('VM_ENTRY_CONTROLS', 0),
  'ctl.entry.intr.type': (b) => b.inject(1, 0),
  'ctl.entry.intr.vector': (b) => b.inject(2, 3),
  'ctl.entry.intr.error-code-required': (b) => b.inject(3, 13),
  'ctl.entry.intr.error-code-forbidden': (b) => b.inject(3, 6, true),
  'ctl.entry.intr.reserved': (b) => b.set('VM_ENTRY_INTR_INFO_FIELD', 0x80001020),
  'ctl.entry.error-code': (b) => b.inject(3, 13, true).set('VM_ENTRY_EXCEPTION_ERROR_CODE', 0x10000),
  'ctl.entry.instruction-length': (b) => b.inject(4, 0x80).set('VM_ENTRY_INSTRUCTION_LEN', 0),
  'ctl.entry.msr-load-addr': (b) => b.set('VM_ENTRY_MSR_LOAD_COUNT', 1).set('VM_ENTRY_MSR_LOAD_ADDR', 0x1004),
  'ctl.entry.msr-load-end': (b) => b.set('VM_ENTRY_MSR_LOAD_COUNT', 3).set('VM_ENTRY_MSR_LOAD_ADDR', (1n << 40n) - 32n),
  // ---- host
  'host.cr0.fixed': (b) => b.clear('HOST_CR0', 0x20),
  'host.cr4.fixed': (b) => b.clear('HOST_CR4', 0x2000),
  'host.cr3.width': (b) => b.set('HOST_CR3', 1n << 41n),
  'host.sysenter-esp': (b) => b.set('HOST_IA32_SYSENTER_ESP', NONCANON),
  'host.sysenter-eip': (b) => b.set('HOST_IA32_SYSENTER_EIP', NONCANON),
  'host.pat': (b) => b.or('VM_EXIT_CONTROLS', 1 << 19).set('HOST_IA32_PAT', 0x0007040600070402n),
  'host.efer.reserved': (b) => b.or('VM_EXIT_CONTROLS', 1 << 21).set('HOST_IA32_EFER', 0xd02),
  'host.efer.lma': (b) => b.or('VM_EXIT_CONTROLS', 1 << 21).set('HOST_IA32_EFER', 0x100),
  'host.efer.lme': (b) => b.or('VM_EXIT_CONTROLS', 1 << 21).set('HOST_IA32_EFER', 0x400),
  ...Object.fromEntries(['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'TR'].map((s) => [`host.sel.${s}`, (b: B) => b.or(`HOST_${s}_SELECTOR`, 4)])),
  'host.cs.null': (b) => b.set('HOST_CS_SELECTOR', 0),
  'host.tr.null': (b) => b.set('HOST_TR_SELECTOR', 0),
  'host.ss.null': (b) => b.clear('VM_EXIT_CONTROLS', 1 << 9).set('HOST_SS_SELECTOR', 0),
  ...Object.fromEntries(['FS', 'GS', 'GDTR', 'IDTR', 'TR'].map((s) => [`host.base.${s}`, (b: B) => b.set(`HOST_${s}_BASE`, NONCANON)])),
  'host.as.guest-outside-ia32e': (b) => { b.lma = false; },
  'host.as.host64-outside-ia32e': (b) => { b.lma = false; b.clear('VM_ENTRY_CONTROLS', 1 << 9); },
  'host.as.host32-inside-ia32e': (b) => b.clear('VM_EXIT_CONTROLS', 1 << 9),
  'host.as.pcide': (b) => { b.lma = false; b.clear('VM_ENTRY_CONTROLS', 1 << 9).clear('VM_EXIT_CONTROLS', 1 << 9).or('HOST_CR4', 1 << 17); },
  'host.as.rip-high': (b) => { b.lma = false; b.clear('VM_ENTRY_CONTROLS', 1 << 9).clear('VM_EXIT_CONTROLS', 1 << 9).set('HOST_RIP', 1n << 32n); },
  'host.as.pae': (b) => b.clear('HOST_CR4', 0x20),
  'host.as.rip-canonical': (b) => b.set('HOST_RIP', NONCANON),
  // ---- guest: control registers, debug registers, MSRs
  'guest.cr0.fixed': (b) => b.clear('GUEST_CR0', 0x20),
  'guest.cr0.pg-pe': (b) => b.variant('real').or('GUEST_CR0', 0x80000000),
  'guest.cr4.fixed': (b) => b.clear('GUEST_CR4', 0x2000),
  'guest.debugctl.reserved': (b) => b.or('VM_ENTRY_CONTROLS', 4).set('GUEST_IA32_DEBUGCTL', 1),
  'guest.ia32e.pg': (b) => sec(b, 0x82).set('EPT_POINTER', 0x301e).clear('GUEST_CR0', 0x80000000),
  'guest.ia32e.pae': (b) => b.clear('GUEST_CR4', 0x20),
  'guest.cr4.pcide': (b) => b.variant('prot32').or('GUEST_CR4', 1 << 17),
  'guest.cr3.width': (b) => b.set('GUEST_CR3', 1n << 40n),
  'guest.dr7.high': (b) => b.or('VM_ENTRY_CONTROLS', 4).set('GUEST_DR7', 0x100000400n),
  'guest.sysenter-esp': (b) => b.set('GUEST_SYSENTER_ESP', NONCANON),
  'guest.sysenter-eip': (b) => b.set('GUEST_SYSENTER_EIP', NONCANON),
  'guest.pat': (b) => b.or('VM_ENTRY_CONTROLS', 1 << 14).set('GUEST_IA32_PAT', 3),
  'guest.efer.reserved': (b) => b.or('VM_ENTRY_CONTROLS', 1 << 15).set('GUEST_IA32_EFER', 0xd03),
  'guest.efer.lma': (b) => b.or('VM_ENTRY_CONTROLS', 1 << 15).set('GUEST_IA32_EFER', 0x100),
  'guest.efer.lme': (b) => b.or('VM_ENTRY_CONTROLS', 1 << 15).set('GUEST_IA32_EFER', 0x400),
  // ---- segment registers
  'guest.sel.TR.ti': (b) => b.set('GUEST_TR_SELECTOR', 0x1c),
  'guest.sel.LDTR.ti': (b) => b.set('GUEST_LDTR_AR_BYTES', 0x82).set('GUEST_LDTR_LIMIT', 0xffff).set('GUEST_LDTR_SELECTOR', 0x24),
  'guest.sel.SS.rpl': (b) => b.set('GUEST_SS_SELECTOR', 0x13),
  ...Object.fromEntries(SEG6.map((s) => [`guest.base.${s}.v86`, (b: B) => b.variant('v86').or(`GUEST_${s}_BASE`, 8)])),
  'guest.base.TR.canonical': (b) => b.set('GUEST_TR_BASE', NONCANON),
  'guest.base.FS.canonical': (b) => b.set('GUEST_FS_BASE', NONCANON),
  'guest.base.GS.canonical': (b) => b.set('GUEST_GS_BASE', NONCANON),
  'guest.base.LDTR.canonical': (b) => b.set('GUEST_LDTR_AR_BYTES', 0x82).set('GUEST_LDTR_LIMIT', 0xffff).set('GUEST_LDTR_SELECTOR', 0x20).set('GUEST_LDTR_BASE', NONCANON),
  ...Object.fromEntries(['CS', 'SS', 'DS', 'ES'].map((s) => [`guest.base.${s}.high`, (b: B) => b.set(`GUEST_${s}_BASE`, 1n << 32n)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.limit.${s}.v86`, (b: B) => b.variant('v86').set(`GUEST_${s}_LIMIT`, 0xfffff)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.v86`, (b: B) => b.variant('v86').set(`GUEST_${s}_AR_BYTES`, 0xf2)])),
  'guest.ar.CS.type': (b) => b.set('GUEST_CS_AR_BYTES', 0xa091),
  'guest.ar.SS.type': (b) => b.set('GUEST_SS_AR_BYTES', 0xc091),
  ...Object.fromEntries(DATA4.map((s) => [`guest.ar.${s}.accessed`, (b: B) => b.set(`GUEST_${s}_AR_BYTES`, 0xc092)])),
  ...Object.fromEntries(DATA4.map((s) => [`guest.ar.${s}.readable`, (b: B) => b.set(`GUEST_${s}_AR_BYTES`, 0xc099)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.s`, (b: B) => b.clear(`GUEST_${s}_AR_BYTES`, 0x10)])),
  'guest.ar.CS.dpl': (b) => b.set('GUEST_CS_AR_BYTES', 0xa0fb),
  // CS conforming (DPL 0 <= SS.DPL) so that the CS check, which comes first, passes.
  'guest.ar.SS.dpl-rpl': (b) => b.set('GUEST_CS_AR_BYTES', 0xa09f).set('GUEST_SS_AR_BYTES', 0xc0f3),
  'guest.ar.SS.dpl-real': (b) => b.variant('real').set('GUEST_CS_AR_BYTES', 0x9f).set('GUEST_SS_AR_BYTES', 0xf3),
  ...Object.fromEntries(DATA4.map((s) => [`guest.ar.${s}.dpl`, (b: B) => b.set(`GUEST_${s}_SELECTOR`, 0x13)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.p`, (b: B) => b.clear(`GUEST_${s}_AR_BYTES`, 0x80)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.reserved-11-8`, (b: B) => b.or(`GUEST_${s}_AR_BYTES`, 0x100)])),
  'guest.ar.CS.db': (b) => b.or('GUEST_CS_AR_BYTES', 0x4000),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.g-clear`, (b: B) => b.set(`GUEST_${s}_LIMIT`, 0xff000)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.g-set`, (b: B) => b.clear(`GUEST_${s}_AR_BYTES`, 0x8000)])),
  ...Object.fromEntries(SEG6.map((s) => [`guest.ar.${s}.reserved-31-17`, (b: B) => b.or(`GUEST_${s}_AR_BYTES`, 0x20000)])),
  'guest.ar.TR.type': (b) => b.set('GUEST_TR_AR_BYTES', 0x89),
  'guest.ar.TR.s': (b) => b.or('GUEST_TR_AR_BYTES', 0x10),
  'guest.ar.TR.p': (b) => b.clear('GUEST_TR_AR_BYTES', 0x80),
  'guest.ar.TR.reserved-11-8': (b) => b.or('GUEST_TR_AR_BYTES', 0x200),
  'guest.ar.TR.g-clear': (b) => b.or('GUEST_TR_AR_BYTES', 0x8000),
  'guest.ar.TR.g-set': (b) => b.set('GUEST_TR_LIMIT', 0x100fff),
  'guest.ar.TR.unusable': (b) => b.or('GUEST_TR_AR_BYTES', 0x10000),
  'guest.ar.TR.reserved-31-17': (b) => b.or('GUEST_TR_AR_BYTES', 0x40000),
  ...Object.fromEntries(([
    ['type', 0x83], ['s', 0x92], ['p', 0x02], ['reserved-11-8', 0x482], ['reserved-31-17', 0x80082],
  ] as const).map(([k, ar]) => [`guest.ar.LDTR.${k}`, (b: B) => b.set('GUEST_LDTR_SELECTOR', 0x20).set('GUEST_LDTR_LIMIT', 0xffff).set('GUEST_LDTR_AR_BYTES', ar)])),
  'guest.ar.LDTR.g-clear': (b) => b.set('GUEST_LDTR_SELECTOR', 0x20).set('GUEST_LDTR_LIMIT', 0xff000).set('GUEST_LDTR_AR_BYTES', 0x8082),
  'guest.ar.LDTR.g-set': (b) => b.set('GUEST_LDTR_SELECTOR', 0x20).set('GUEST_LDTR_LIMIT', 0x100fff).set('GUEST_LDTR_AR_BYTES', 0x82),
  // ---- descriptor tables
  'guest.gdtr.base': (b) => b.set('GUEST_GDTR_BASE', NONCANON),
  'guest.idtr.base': (b) => b.set('GUEST_IDTR_BASE', NONCANON),
  'guest.gdtr.limit': (b) => b.set('GUEST_GDTR_LIMIT', 0x10000),
  'guest.idtr.limit': (b) => b.set('GUEST_IDTR_LIMIT', 0x10000),
  // ---- RIP, RFLAGS
  'guest.rip.high': (b) => b.variant('prot32').set('GUEST_RIP', 1n << 32n),
  'guest.rip.canonical': (b) => b.set('GUEST_RIP', NONCANON),
  'guest.rflags.reserved': (b) => b.set('GUEST_RFLAGS', 0x8002),
  'guest.rflags.bit1': (b) => b.set('GUEST_RFLAGS', 0),
  'guest.rflags.vm': (b) => b.variant('v86').or('VM_ENTRY_CONTROLS', 1 << 9).set('GUEST_CR4', 0x2020),
  'guest.rflags.if': (b) => b.inject(0, 0x20),
  // ---- non-register state
  'guest.activity.supported': (b) => b.set('GUEST_ACTIVITY_STATE', 2),
  'guest.activity.hlt-dpl': (b) => b.variant('v86').set('GUEST_ACTIVITY_STATE', 1),
  'guest.activity.blocking': (b) => b.set('GUEST_ACTIVITY_STATE', 1).set('GUEST_INTERRUPTIBILITY_INFO', 2),
  'guest.activity.injection': (b) => b.set('GUEST_ACTIVITY_STATE', 1).inject(3, 6),
  'guest.intr.reserved': (b) => b.set('GUEST_INTERRUPTIBILITY_INFO', 0x10),
  'guest.intr.sti-movss': (b) => b.set('GUEST_RFLAGS', 0x202).set('GUEST_INTERRUPTIBILITY_INFO', 3),
  'guest.intr.sti-if': (b) => b.set('GUEST_INTERRUPTIBILITY_INFO', 1),
  'guest.intr.ext-injection': (b) => b.set('GUEST_RFLAGS', 0x202).inject(0, 0x20).set('GUEST_INTERRUPTIBILITY_INFO', 2),
  'guest.intr.nmi-injection': (b) => b.inject(2, 2).set('GUEST_INTERRUPTIBILITY_INFO', 2),
  'guest.intr.smi': (b) => b.set('GUEST_INTERRUPTIBILITY_INFO', 4),
  'guest.intr.nmi-blocking': (b) => b.or('PIN_BASED_VM_EXEC_CONTROL', 0x28).inject(2, 2).set('GUEST_INTERRUPTIBILITY_INFO', 8),
  'guest.pending-dbg.reserved': (b) => b.set('GUEST_PENDING_DBG_EXCEPTIONS', 0x10),
  'guest.pending-dbg.bs-set': (b) => b.set('GUEST_RFLAGS', 0x302).set('GUEST_INTERRUPTIBILITY_INFO', 1),
  'guest.pending-dbg.bs-clear': (b) => b.set('GUEST_RFLAGS', 0x202).set('GUEST_INTERRUPTIBILITY_INFO', 1).set('GUEST_PENDING_DBG_EXCEPTIONS', 0x4000),
  'guest.link.aligned': (b) => b.set('VMCS_LINK_POINTER', 0x6010),
  'guest.link.width': (b) => b.set('VMCS_LINK_POINTER', 1n << 41n),
  'guest.link.revision': (b) => b.set('VMCS_LINK_POINTER', 0x6000),
  // ---- PDPTEs
  ...Object.fromEntries([0, 1, 2, 3].map((i) => [`guest.pdpte${i}`, (b: B) => { b.variant('pae32'); b.mem.write32(0x4000 + 8 * i, 3); }])),
};

const ALL = [...CONTROL_CHECKS, ...HOST_CHECKS, ...GUEST_CHECKS];

describe('VM-entry checks over a VMCS object', () => {
  it.each(['long', 'prot32', 'v86', 'real', 'pae32'] as const)('the %s baseline passes every check', (kind) => {
    const b = new B().variant(kind);
    b.mem.write32(0x6000, VMCS_REVISION);
    expect(checkVmcs(b.vmcs, b.ctx())).toBeUndefined();
  });

  it('every check has a test that breaks it, ids are unique', () => {
    const ids = ALL.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !BREAK[id])).toEqual([]);
    expect(Object.keys(BREAK).filter((id) => !ids.includes(id))).toEqual([]);
  });

  it.each(ALL.map((c) => [c.id, c] as const))('%s', (id, c) => {
    const b = new B();
    BREAK[id]!(b);
    const r = checkVmcs(b.vmcs, b.ctx());
    expect(r?.failure.id).toBe(id);
    expect(r!.failure.field).toBe(c.field);
    expect(r!.failure.sdm).toBe(c.sdm);
    expect(r!.failure.text.length).toBeGreaterThan(10);
    expect(r!.kind).toBe(id.startsWith('ctl.') ? 'control' : id.startsWith('host.') ? 'host' : 'guest');
    if (id.startsWith('guest.link')) expect(r!.failure.qualification).toBe(4);
    if (id.startsWith('guest.pdpte')) expect(r!.failure.qualification).toBe(2);
  });
});
