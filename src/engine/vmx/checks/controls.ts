// VM-entry checks on the VMX controls (SDM vol. 3, "Checks on VMX Controls"),
// in the SDM's order. A failure makes VMLAUNCH/VMRESUME fail with
// VMfailValid(7) "VM entry with invalid control field(s)".

import { eptpProblem } from '../../mmu/ept';
import { HAS_ERROR_CODE } from '../../x86/vectors';
import * as F from '../enc';
import {
  PIN_ALLOWED, PROC_TRUE_ALLOWED, PROC2_ALLOWED, EXIT_TRUE_ALLOWED, ENTRY_TRUE_ALLOWED, badControlBits,
  PROC_SECONDARY, PROC_IO_BITMAPS, PROC_MSR_BITMAPS, PROC_TPR_SHADOW, PROC_NMI_WINDOW, PIN_NMI, PIN_VIRTUAL_NMIS,
  PIN_PREEMPTION_TIMER, PROC2_APIC_ACCESS, PROC2_VPID, PROC2_EPT, PROC2_UNRESTRICTED, EXIT_SAVE_TIMER, CR3_TARGETS,
  type Allowed,
} from '../capabilities';
import type { Vmcs } from '../vmcs';
import { check, hex, physProblem, type Check } from './common';

const EXEC = 'Checks on VMX Controls: VM-Execution Control Fields';
const EXIT = 'Checks on VMX Controls: VM-Exit Control Fields';
const ENTRY = 'Checks on VMX Controls: VM-Entry Control Fields';

/** The secondary controls in force: 0 unless "activate secondary controls" is 1. */
export function secondary(v: Vmcs): number {
  return v.get32(F.PROC) & PROC_SECONDARY ? v.get32(F.PROC2) : 0;
}

function reserved(what: string, value: number, a: Allowed): string | undefined {
  const missing = (a.must1 & ~value) >>> 0, extra = (value & ~a.may1) >>> 0;
  if (badControlBits(value, a) === 0) return undefined;
  const parts: string[] = [];
  if (missing) parts.push(`bits ${hex(missing)} must be 1`);
  if (extra) parts.push(`bits ${hex(extra)} are not supported (must be 0)`);
  return `${what} ${hex(value)}: ${parts.join(', ')}`;
}

/** Checks on an MSR-list address: 16-byte aligned, within the physical-address width, and its last byte too. */
function msrList(idPrefix: string, sdm: string, addr: number, count: number, what: string): Check[] {
  return [
    check(`${idPrefix}-addr`, addr, sdm, (v) => {
      const n = v.get32(count) >>> 0;
      if (n === 0) return undefined;
      const p = physProblem(v.get32(addr), v.getHi(addr), 0xf);
      return p && `${what} address ${hex(v.get64(addr))} (count ${n}) ${p}`;
    }),
    check(`${idPrefix}-end`, addr, sdm, (v) => {
      const n = v.get32(count) >>> 0;
      if (n === 0) return undefined;
      const last = v.get64(addr) + BigInt(n) * 16n - 1n;
      return last >= 1n << 40n ? `${what} area of ${n} entries at ${hex(v.get64(addr))} ends at ${hex(last)}, beyond the physical-address width` : undefined;
    }),
  ];
}

function pageAddr(id: string, enc: number, enabled: (v: Vmcs) => boolean, what: string): Check {
  return check(id, enc, EXEC, (v) => {
    if (!enabled(v)) return undefined;
    const p = physProblem(v.get32(enc), v.getHi(enc), 0xfff);
    return p && `${what} ${hex(v.get64(enc))} ${p}`;
  });
}

const proc = (v: Vmcs): number => v.get32(F.PROC);
const pin = (v: Vmcs): number => v.get32(F.PIN);

export const CONTROL_CHECKS: readonly Check[] = [
  // ---- VM-execution control fields
  check('ctl.pin.reserved', F.PIN, EXEC, (v) => reserved('pin-based controls', pin(v), PIN_ALLOWED)),
  check('ctl.proc.reserved', F.PROC, EXEC, (v) => reserved('primary processor-based controls', proc(v), PROC_TRUE_ALLOWED)),
  check('ctl.proc2.reserved', F.PROC2, EXEC, (v) =>
    proc(v) & PROC_SECONDARY ? reserved('secondary processor-based controls', v.get32(F.PROC2), PROC2_ALLOWED) : undefined),
  check('ctl.cr3-target-count', F.CR3_TARGET_COUNT, EXEC, (v) => {
    const n = v.get32(F.CR3_TARGET_COUNT) >>> 0;
    return n > CR3_TARGETS ? `CR3-target count ${n} is greater than ${CR3_TARGETS}` : undefined;
  }),
  pageAddr('ctl.io-bitmap-a', F.IO_BITMAP_A, (v) => (proc(v) & PROC_IO_BITMAPS) !== 0, 'I/O bitmap A address'),
  pageAddr('ctl.io-bitmap-b', F.IO_BITMAP_B, (v) => (proc(v) & PROC_IO_BITMAPS) !== 0, 'I/O bitmap B address'),
  pageAddr('ctl.msr-bitmap', F.MSR_BITMAP, (v) => (proc(v) & PROC_MSR_BITMAPS) !== 0, 'MSR-bitmap address'),
  pageAddr('ctl.virtual-apic', F.VIRTUAL_APIC_PAGE_ADDR, (v) => (proc(v) & PROC_TPR_SHADOW) !== 0, 'virtual-APIC address'),
  check('ctl.tpr-threshold.reserved', F.TPR_THRESHOLD, EXEC, (v) => {
    if (!(proc(v) & PROC_TPR_SHADOW)) return undefined;
    const t = v.get32(F.TPR_THRESHOLD);
    return t & ~0xf ? `TPR threshold ${hex(t)} sets bits 31:4 (use TPR shadow is 1)` : undefined;
  }),
  check('ctl.tpr-threshold.vtpr', F.TPR_THRESHOLD, EXEC, (v, ctx) => {
    if (!(proc(v) & PROC_TPR_SHADOW) || (secondary(v) & PROC2_APIC_ACCESS)) return undefined;
    const t = v.get32(F.TPR_THRESHOLD) & 0xf;
    const vtpr = ctx.mem.read8(v.getNum(F.VIRTUAL_APIC_PAGE_ADDR) + 0x80);
    return t > vtpr >> 4 ? `TPR threshold ${t} is greater than VTPR bits 7:4 (${vtpr >> 4}) on the virtual-APIC page` : undefined;
  }),
  check('ctl.virtual-nmis', F.PIN, EXEC, (v) =>
    !(pin(v) & PIN_NMI) && (pin(v) & PIN_VIRTUAL_NMIS) ? '"virtual NMIs" is 1 while "NMI exiting" is 0' : undefined),
  check('ctl.nmi-window', F.PROC, EXEC, (v) =>
    !(pin(v) & PIN_VIRTUAL_NMIS) && (proc(v) & PROC_NMI_WINDOW) ? '"NMI-window exiting" is 1 while "virtual NMIs" is 0' : undefined),
  pageAddr('ctl.apic-access', F.APIC_ACCESS_ADDR, (v) => (secondary(v) & PROC2_APIC_ACCESS) !== 0, 'APIC-access address'),
  check('ctl.vpid', F.VPID, EXEC, (v) =>
    secondary(v) & PROC2_VPID && (v.get32(F.VPID) & 0xffff) === 0 ? '"enable VPID" is 1 and the VPID is 0000H' : undefined),
  check('ctl.eptp', F.EPT_POINTER, EXEC, (v) => {
    if (!(secondary(v) & PROC2_EPT)) return undefined;
    const p = eptpProblem(v.get32(F.EPT_POINTER), v.getHi(F.EPT_POINTER));
    return p && `EPTP ${hex(v.get64(F.EPT_POINTER))}: ${p}`;
  }),
  check('ctl.unrestricted', F.PROC2, EXEC, (v) =>
    secondary(v) & PROC2_UNRESTRICTED && !(secondary(v) & PROC2_EPT) ? '"unrestricted guest" is 1 while "enable EPT" is 0' : undefined),

  // ---- VM-exit control fields
  check('ctl.exit.reserved', F.EXIT_CONTROLS, EXIT, (v) => reserved('VM-exit controls', v.get32(F.EXIT_CONTROLS), EXIT_TRUE_ALLOWED)),
  check('ctl.exit.save-timer', F.EXIT_CONTROLS, EXIT, (v) =>
    !(pin(v) & PIN_PREEMPTION_TIMER) && v.get32(F.EXIT_CONTROLS) & EXIT_SAVE_TIMER
      ? '"save VMX-preemption timer value" is 1 while "activate VMX-preemption timer" is 0' : undefined),
  ...msrList('ctl.exit.msr-store', EXIT, F.EXIT_MSR_STORE_ADDR, F.EXIT_MSR_STORE_COUNT, 'VM-exit MSR-store'),
  ...msrList('ctl.exit.msr-load', EXIT, F.EXIT_MSR_LOAD_ADDR, F.EXIT_MSR_LOAD_COUNT, 'VM-exit MSR-load'),

  // ---- VM-entry control fields
  check('ctl.entry.reserved', F.ENTRY_CONTROLS, ENTRY, (v) => reserved('VM-entry controls', v.get32(F.ENTRY_CONTROLS), ENTRY_TRUE_ALLOWED)),
  check('ctl.entry.intr.type', F.ENTRY_INTR_INFO, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    if (i >= 0) return undefined;
    const type = (i >> 8) & 7;
    return type === 1 || type === 7 ? `interruption type ${type} is reserved (${type === 7 ? 'no monitor trap flag' : 'always'})` : undefined;
  }),
  check('ctl.entry.intr.vector', F.ENTRY_INTR_INFO, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    if (i >= 0) return undefined;
    const type = (i >> 8) & 7, vec = i & 0xff;
    if (type === 2 && vec !== 2) return `NMI injection with vector ${vec} (must be 2)`;
    if (type === 3 && vec > 31) return `hardware exception injection with vector ${vec} (must be at most 31)`;
    return undefined;
  }),
  check('ctl.entry.intr.error-code-required', F.ENTRY_INTR_INFO, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    return i < 0 && deliversErrorCode(v) && !(i & (1 << 11))
      ? `deliver-error-code bit is 0 for hardware exception ${i & 0xff}, which delivers an error code` : undefined;
  }),
  check('ctl.entry.intr.error-code-forbidden', F.ENTRY_INTR_INFO, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    return i < 0 && !deliversErrorCode(v) && (i & (1 << 11))
      ? `deliver-error-code bit is 1 for type ${(i >> 8) & 7} vector ${i & 0xff}, which delivers no error code` : undefined;
  }),
  check('ctl.entry.intr.reserved', F.ENTRY_INTR_INFO, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    return i < 0 && (i & 0x7ffff000) ? `reserved bits 30:12 are set (${hex(i)})` : undefined;
  }),
  check('ctl.entry.error-code', F.ENTRY_EXCEPTION_ERROR_CODE, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    const e = v.get32(F.ENTRY_EXCEPTION_ERROR_CODE);
    return i < 0 && (i & (1 << 11)) && (e & 0xffff0000) ? `error code ${hex(e)} sets bits 31:16` : undefined;
  }),
  check('ctl.entry.instruction-length', F.ENTRY_INSTRUCTION_LEN, ENTRY, (v) => {
    const i = v.get32(F.ENTRY_INTR_INFO);
    const type = (i >> 8) & 7;
    const len = v.get32(F.ENTRY_INSTRUCTION_LEN) >>> 0;
    return i < 0 && type >= 4 && type <= 6 && (len < 1 || len > 15)
      ? `instruction length ${len} for a software event (type ${type}) is not in 1..15` : undefined;
  }),
  ...msrList('ctl.entry.msr-load', ENTRY, F.ENTRY_MSR_LOAD_ADDR, F.ENTRY_MSR_LOAD_COUNT, 'VM-entry MSR-load'),
];

/** Whether the injected event must deliver an error code (hardware exception with one, guest in protected mode). */
function deliversErrorCode(v: Vmcs): boolean {
  const i = v.get32(F.ENTRY_INTR_INFO);
  const pe = (v.get32(F.GUEST_CR0) & 1) !== 0 || !(secondary(v) & PROC2_UNRESTRICTED);
  return ((i >> 8) & 7) === 3 && HAS_ERROR_CODE.has(i & 0xff) && pe;
}
