// The model-specific registers the emulated CPU has, with their SDM names: one
// table used by RDMSR/WRMSR (exec/system-msr.ts) and by the debugger to show
// MSRs by name. An index not listed here (and not claimed by a device, see
// registerMsrDevice) does not exist: RDMSR/WRMSR raise #GP(0). In particular
// IA32_SPEC_CTRL (0x48) and IA32_ARCH_CAPABILITIES (0x10A) are absent.
//
// Where a value lives (`kind`):
// - tsc:     IA32_TIME_STAMP_COUNTER = cpu.icount + cpu.tscOffset
// - efer:    cpu.efer (special write rules in system-msr.ts)
// - device:  a device registered per vCPU (LAPIC: APIC_BASE, TSC_DEADLINE,
//            x2APIC; VMX: capability MSRs). Without one: #GP(0).
// - store:   msr-store.ts (SYSCALL/SYSENTER targets, segment bases, TSC_AUX),
//            shared with the fast-system-call family
// - local:   cpu.msr (bigint map), `reset` until first written
// - const:   read-only value; WRMSR → #GP(0)
// - ignore:  reads `reset`, writes are accepted and dropped
// `special` marks MSRs whose writes system-msr.ts handles by name.
//
// Values as QEMU TCG gives them: MTRRcap 0x508 (8 variable ranges, fixed
// ranges, WC), PAT 0x0007040600070406, MISC_ENABLE 1 (fast strings),
// microcode revision 0x1_0000_0000.

import { MAXPHYADDR } from '../mmu/paging';

export type MsrKind = 'tsc' | 'efer' | 'device' | 'store' | 'local' | 'const' | 'ignore';

export interface MsrDef {
  index: number;
  name: string;
  kind: MsrKind;
  /** Value before the first write (local, const, ignore), as [lo, hi]. */
  reset?: readonly [number, number];
  /** Write validator: false → #GP(0). Absent: any 64-bit value. */
  valid?: (lo: number, hi: number) => boolean;
  /** The value is a linear address: non-canonical writes → #GP(0). */
  canonical?: boolean;
  /** Writes are handled by name in system-msr.ts. */
  special?: boolean;
}

export const MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_FEATURE_CONTROL = 0x3a, MSR_BIOS_SIGN_ID = 0x8b,
  MSR_MTRRCAP = 0xfe, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176,
  MSR_MISC_ENABLE = 0x1a0, MSR_PAT = 0x277, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_TSC_DEADLINE = 0x6e0,
  MSR_EFER = 0xc0000080, MSR_STAR = 0xc0000081, MSR_LSTAR = 0xc0000082, MSR_CSTAR = 0xc0000083,
  MSR_FMASK = 0xc0000084, MSR_FS_BASE = 0xc0000100, MSR_GS_BASE = 0xc0000101, MSR_KERNEL_GS_BASE = 0xc0000102,
  MSR_TSC_AUX = 0xc0000103;

/** Bits 63:MAXPHYADDR of a physical address, in the hi dword. */
const PHYS_HI_RESERVED = ~((1 << (MAXPHYADDR - 32)) - 1);

const mtrrType = (t: number): boolean => t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
const patType = (t: number): boolean => mtrrType(t) || t === 7;

function allBytes(lo: number, hi: number, ok: (t: number) => boolean): boolean {
  for (let i = 0; i < 4; i++) if (!ok((lo >>> (8 * i)) & 0xff) || !ok((hi >>> (8 * i)) & 0xff)) return false;
  return true;
}

const fixedMtrr = (lo: number, hi: number): boolean => allBytes(lo, hi, mtrrType);
const physBase = (lo: number, hi: number): boolean => mtrrType(lo & 0xff) && (lo & 0xf00) === 0 && (hi & PHYS_HI_RESERVED) === 0;
const physMask = (lo: number, hi: number): boolean => (lo & 0x7ff) === 0 && (hi & PHYS_HI_RESERVED) === 0;
const hiZero = (_lo: number, hi: number): boolean => hi === 0;

const FIXED_MTRRS: readonly [number, string][] = [
  [0x250, 'IA32_MTRR_FIX64K_00000'], [0x258, 'IA32_MTRR_FIX16K_80000'], [0x259, 'IA32_MTRR_FIX16K_A0000'],
  [0x268, 'IA32_MTRR_FIX4K_C0000'], [0x269, 'IA32_MTRR_FIX4K_C8000'], [0x26a, 'IA32_MTRR_FIX4K_D0000'],
  [0x26b, 'IA32_MTRR_FIX4K_D8000'], [0x26c, 'IA32_MTRR_FIX4K_E0000'], [0x26d, 'IA32_MTRR_FIX4K_E8000'],
  [0x26e, 'IA32_MTRR_FIX4K_F0000'], [0x26f, 'IA32_MTRR_FIX4K_F8000'],
];

const X2APIC_NAMES: Readonly<Record<number, string>> = {
  0x802: 'IA32_X2APIC_APICID', 0x803: 'IA32_X2APIC_VERSION', 0x808: 'IA32_X2APIC_TPR', 0x80a: 'IA32_X2APIC_PPR',
  0x80b: 'IA32_X2APIC_EOI', 0x80d: 'IA32_X2APIC_LDR', 0x80f: 'IA32_X2APIC_SIVR', 0x828: 'IA32_X2APIC_ESR',
  0x82f: 'IA32_X2APIC_LVT_CMCI', 0x830: 'IA32_X2APIC_ICR', 0x832: 'IA32_X2APIC_LVT_TIMER',
  0x833: 'IA32_X2APIC_LVT_THERMAL', 0x834: 'IA32_X2APIC_LVT_PMI', 0x835: 'IA32_X2APIC_LVT_LINT0',
  0x836: 'IA32_X2APIC_LVT_LINT1', 0x837: 'IA32_X2APIC_LVT_ERROR', 0x838: 'IA32_X2APIC_INIT_COUNT',
  0x839: 'IA32_X2APIC_CUR_COUNT', 0x83e: 'IA32_X2APIC_DIV_CONF', 0x83f: 'IA32_X2APIC_SELF_IPI',
};

const VMX_NAMES: readonly string[] = [
  'IA32_VMX_BASIC', 'IA32_VMX_PINBASED_CTLS', 'IA32_VMX_PROCBASED_CTLS', 'IA32_VMX_EXIT_CTLS',
  'IA32_VMX_ENTRY_CTLS', 'IA32_VMX_MISC', 'IA32_VMX_CR0_FIXED0', 'IA32_VMX_CR0_FIXED1', 'IA32_VMX_CR4_FIXED0',
  'IA32_VMX_CR4_FIXED1', 'IA32_VMX_VMCS_ENUM', 'IA32_VMX_PROCBASED_CTLS2', 'IA32_VMX_EPT_VPID_CAP',
  'IA32_VMX_TRUE_PINBASED_CTLS', 'IA32_VMX_TRUE_PROCBASED_CTLS', 'IA32_VMX_TRUE_EXIT_CTLS',
  'IA32_VMX_TRUE_ENTRY_CTLS', 'IA32_VMX_VMFUNC',
];

function build(): MsrDef[] {
  const t: MsrDef[] = [
    { index: MSR_TSC, name: 'IA32_TIME_STAMP_COUNTER', kind: 'tsc' },
    { index: MSR_APIC_BASE, name: 'IA32_APIC_BASE', kind: 'device' },
    { index: MSR_FEATURE_CONTROL, name: 'IA32_FEATURE_CONTROL', kind: 'local', reset: [0, 0], special: true },
    { index: MSR_BIOS_SIGN_ID, name: 'IA32_BIOS_SIGN_ID', kind: 'ignore', reset: [0, 1] },
    { index: MSR_MTRRCAP, name: 'IA32_MTRRCAP', kind: 'const', reset: [0x508, 0] },
    { index: MSR_SYSENTER_CS, name: 'IA32_SYSENTER_CS', kind: 'store' },
    { index: MSR_SYSENTER_ESP, name: 'IA32_SYSENTER_ESP', kind: 'store', canonical: true },
    { index: MSR_SYSENTER_EIP, name: 'IA32_SYSENTER_EIP', kind: 'store', canonical: true },
    { index: MSR_MISC_ENABLE, name: 'IA32_MISC_ENABLE', kind: 'local', reset: [1, 0], special: true },
  ];
  for (let i = 0; i < 8; i++) {
    t.push({ index: 0x200 + 2 * i, name: `IA32_MTRR_PHYSBASE${i}`, kind: 'local', reset: [0, 0], valid: physBase });
    t.push({ index: 0x201 + 2 * i, name: `IA32_MTRR_PHYSMASK${i}`, kind: 'local', reset: [0, 0], valid: physMask });
  }
  for (const [index, name] of FIXED_MTRRS) t.push({ index, name, kind: 'local', reset: [0, 0], valid: fixedMtrr });
  t.push(
    { index: MSR_PAT, name: 'IA32_PAT', kind: 'local', reset: [0x00070406, 0x00070406], valid: (lo, hi) => allBytes(lo, hi, patType) },
    {
      index: MSR_MTRR_DEF_TYPE, name: 'IA32_MTRR_DEF_TYPE', kind: 'local', reset: [0, 0],
      valid: (lo, hi) => hi === 0 && (lo & ~0xcff) === 0 && mtrrType(lo & 0xff),
    },
  );
  VMX_NAMES.forEach((name, i) => t.push({ index: 0x480 + i, name, kind: 'device' }));
  t.push({ index: MSR_TSC_DEADLINE, name: 'IA32_TSC_DEADLINE', kind: 'device' });
  for (let i = 0x800; i <= 0x8ff; i++) {
    const name = X2APIC_NAMES[i] ?? (i >= 0x810 && i < 0x828
      ? `IA32_X2APIC_${['ISR', 'TMR', 'IRR'][(i - 0x810) >> 3]}${(i - 0x810) & 7}` : `IA32_X2APIC_${i.toString(16).toUpperCase()}`);
    t.push({ index: i, name, kind: 'device' });
  }
  t.push(
    { index: MSR_EFER, name: 'IA32_EFER', kind: 'efer' },
    { index: MSR_STAR, name: 'IA32_STAR', kind: 'store' },
    { index: MSR_LSTAR, name: 'IA32_LSTAR', kind: 'store', canonical: true },
    { index: MSR_CSTAR, name: 'IA32_CSTAR', kind: 'store', canonical: true },
    { index: MSR_FMASK, name: 'IA32_FMASK', kind: 'store', valid: hiZero },
    { index: MSR_FS_BASE, name: 'IA32_FS_BASE', kind: 'store', canonical: true },
    { index: MSR_GS_BASE, name: 'IA32_GS_BASE', kind: 'store', canonical: true },
    { index: MSR_KERNEL_GS_BASE, name: 'IA32_KERNEL_GS_BASE', kind: 'store', canonical: true },
    { index: MSR_TSC_AUX, name: 'IA32_TSC_AUX', kind: 'store', valid: hiZero },
  );
  return t;
}

export const MSR_TABLE: readonly MsrDef[] = build();

const byIndex = new Map<number, MsrDef>(MSR_TABLE.map((d) => [d.index, d]));

export function msrDef(index: number): MsrDef | undefined {
  return byIndex.get(index >>> 0);
}

/** The SDM name of an MSR, or its hex index. */
export function msrName(index: number): string {
  return byIndex.get(index >>> 0)?.name ?? `MSR 0x${(index >>> 0).toString(16)}`;
}
