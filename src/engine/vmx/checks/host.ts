// VM-entry checks on the host-state area (SDM vol. 3, "Checks on Host Control
// Registers, MSRs, and SSP", "Checks on Host Segment and Descriptor-Table
// Registers", "Checks Related to Address-Space Size"), in the SDM's order. A
// failure makes VMLAUNCH/VMRESUME fail with VMfailValid(8) "VM entry with
// invalid host-state field(s)".

import * as F from '../enc';
import { cr0FixedViolation, cr4FixedViolation, EXIT_LOAD_PAT, EXIT_LOAD_EFER, EXIT_HOST_64, ENTRY_IA32E } from '../capabilities';
import type { Vmcs } from '../vmcs';
import { check, hex, canonicalHi, type Check } from './common';

const CRS = 'Checks on Host Control Registers, MSRs, and SSP';
const SEGS = 'Checks on Host Segment and Descriptor-Table Registers';
const SIZE = 'Checks Related to Address-Space Size';

export const PAT_TYPES = new Set([0, 1, 4, 5, 6, 7]);
export function patProblem(lo: number, hi: number): string | undefined {
  for (let i = 0; i < 8; i++) {
    const t = ((i < 4 ? lo : hi) >>> (8 * (i & 3))) & 0xff;
    if (!PAT_TYPES.has(t)) return `entry PA${i} has memory type ${t} (allowed: 0, 1, 4, 5, 6, 7)`;
  }
  return undefined;
}
export const EFER_VALID = 0x1 | 0x100 | 0x400 | 0x800;

const exitCtl = (v: Vmcs): number => v.get32(F.EXIT_CONTROLS);
const host64 = (v: Vmcs): boolean => (exitCtl(v) & EXIT_HOST_64) !== 0;

function canon(id: string, enc: number, sdm: string, what: string): Check {
  return check(id, enc, sdm, (v) => canonicalHi(v.getHi(enc)) ? undefined : `${what} ${hex(v.get64(enc))} is not canonical`);
}

const SELS: readonly [string, number][] = [
  ['ES', F.HOST_SEL[0]!], ['CS', F.HOST_SEL[1]!], ['SS', F.HOST_SEL[2]!], ['DS', F.HOST_SEL[3]!],
  ['FS', F.HOST_SEL[4]!], ['GS', F.HOST_SEL[5]!], ['TR', F.HOST_TR_SELECTOR],
];

export const HOST_CHECKS: readonly Check[] = [
  check('host.cr0.fixed', F.HOST_CR0, CRS, (v) => {
    const bad = cr0FixedViolation(v.get32(F.HOST_CR0), false);
    if (v.getHi(F.HOST_CR0) !== 0) return `host CR0 ${hex(v.get64(F.HOST_CR0))} sets bits 63:32`;
    return bad ? `host CR0 ${hex(v.get32(F.HOST_CR0))} has bits ${hex(bad)} not allowed in VMX operation (IA32_VMX_CR0_FIXED0/1: PE, NE and PG must be 1)` : undefined;
  }),
  check('host.cr4.fixed', F.HOST_CR4, CRS, (v) => {
    const bad = cr4FixedViolation(v.get32(F.HOST_CR4));
    if (v.getHi(F.HOST_CR4) !== 0) return `host CR4 ${hex(v.get64(F.HOST_CR4))} sets bits 63:32`;
    return bad ? `host CR4 ${hex(v.get32(F.HOST_CR4))} has bits ${hex(bad)} not allowed in VMX operation (IA32_VMX_CR4_FIXED0/1: VMXE must be 1)` : undefined;
  }),
  check('host.cr3.width', F.HOST_CR3, CRS, (v) =>
    v.getHi(F.HOST_CR3) & ~0xff ? `host CR3 ${hex(v.get64(F.HOST_CR3))} sets bits beyond the physical-address width (40)` : undefined),
  canon('host.sysenter-esp', F.HOST_SYSENTER_ESP, CRS, 'host IA32_SYSENTER_ESP'),
  canon('host.sysenter-eip', F.HOST_SYSENTER_EIP, CRS, 'host IA32_SYSENTER_EIP'),
  check('host.pat', F.HOST_PAT, CRS, (v) => {
    if (!(exitCtl(v) & EXIT_LOAD_PAT)) return undefined;
    const p = patProblem(v.get32(F.HOST_PAT), v.getHi(F.HOST_PAT));
    return p && `host IA32_PAT ${hex(v.get64(F.HOST_PAT))}: ${p}`;
  }),
  check('host.efer.reserved', F.HOST_EFER, CRS, (v) => {
    if (!(exitCtl(v) & EXIT_LOAD_EFER)) return undefined;
    const lo = v.get32(F.HOST_EFER);
    return v.getHi(F.HOST_EFER) !== 0 || (lo & ~EFER_VALID) ? `host IA32_EFER ${hex(v.get64(F.HOST_EFER))} sets reserved bits` : undefined;
  }),
  check('host.efer.lma', F.HOST_EFER, CRS, (v) => {
    if (!(exitCtl(v) & EXIT_LOAD_EFER)) return undefined;
    const lma = (v.get32(F.HOST_EFER) & 0x400) !== 0;
    return lma !== host64(v) ? `host IA32_EFER.LMA is ${lma ? 1 : 0} but "host address-space size" is ${host64(v) ? 1 : 0}` : undefined;
  }),
  check('host.efer.lme', F.HOST_EFER, CRS, (v) => {
    if (!(exitCtl(v) & EXIT_LOAD_EFER)) return undefined;
    const lme = (v.get32(F.HOST_EFER) & 0x100) !== 0;
    return lme !== host64(v) ? `host IA32_EFER.LME is ${lme ? 1 : 0} but "host address-space size" is ${host64(v) ? 1 : 0}` : undefined;
  }),
  ...SELS.map(([name, enc]) => check(`host.sel.${name}`, enc, SEGS, (v) => {
    const s = v.get32(enc) & 0xffff;
    return s & 7 ? `host ${name} selector ${hex(s)} has RPL or TI set (bits 2:0 must be 0)` : undefined;
  })),
  check('host.cs.null', F.HOST_SEL[1]!, SEGS, (v) => (v.get32(F.HOST_SEL[1]!) & 0xffff) === 0 ? 'host CS selector is 0000H' : undefined),
  check('host.tr.null', F.HOST_TR_SELECTOR, SEGS, (v) => (v.get32(F.HOST_TR_SELECTOR) & 0xffff) === 0 ? 'host TR selector is 0000H' : undefined),
  check('host.ss.null', F.HOST_SEL[2]!, SEGS, (v) =>
    !host64(v) && (v.get32(F.HOST_SEL[2]!) & 0xffff) === 0 ? 'host SS selector is 0000H with "host address-space size" 0' : undefined),
  canon('host.base.FS', F.HOST_FS_BASE, SEGS, 'host FS base'),
  canon('host.base.GS', F.HOST_GS_BASE, SEGS, 'host GS base'),
  canon('host.base.GDTR', F.HOST_GDTR_BASE, SEGS, 'host GDTR base'),
  canon('host.base.IDTR', F.HOST_IDTR_BASE, SEGS, 'host IDTR base'),
  canon('host.base.TR', F.HOST_TR_BASE, SEGS, 'host TR base'),
  check('host.as.guest-outside-ia32e', F.ENTRY_CONTROLS, SIZE, (v, ctx) =>
    !ctx.lma && v.get32(F.ENTRY_CONTROLS) & ENTRY_IA32E ? '"IA-32e mode guest" is 1 but the processor is outside IA-32e mode (IA32_EFER.LMA = 0)' : undefined),
  check('host.as.host64-outside-ia32e', F.EXIT_CONTROLS, SIZE, (v, ctx) =>
    !ctx.lma && host64(v) ? '"host address-space size" is 1 but the processor is outside IA-32e mode (IA32_EFER.LMA = 0)' : undefined),
  check('host.as.host32-inside-ia32e', F.EXIT_CONTROLS, SIZE, (v, ctx) =>
    ctx.lma && !host64(v) ? '"host address-space size" is 0 but the processor is in IA-32e mode (IA32_EFER.LMA = 1)' : undefined),
  // "IA-32e mode guest" must also be 0 when "host address-space size" is 0: implied by the two checks above
  // (outside IA-32e mode it must be 0 anyway; inside, the host size must be 1), so it can never fail first.
  check('host.as.pcide', F.HOST_CR4, SIZE, (v) =>
    !host64(v) && v.get32(F.HOST_CR4) & (1 << 17) ? 'host CR4.PCIDE is 1 with "host address-space size" 0' : undefined),
  check('host.as.rip-high', F.HOST_RIP, SIZE, (v) =>
    !host64(v) && v.getHi(F.HOST_RIP) !== 0 ? `host RIP ${hex(v.get64(F.HOST_RIP))} sets bits 63:32 with "host address-space size" 0` : undefined),
  check('host.as.pae', F.HOST_CR4, SIZE, (v) =>
    host64(v) && !(v.get32(F.HOST_CR4) & (1 << 5)) ? 'host CR4.PAE is 0 with "host address-space size" 1' : undefined),
  check('host.as.rip-canonical', F.HOST_RIP, SIZE, (v) =>
    host64(v) && !canonicalHi(v.getHi(F.HOST_RIP)) ? `host RIP ${hex(v.get64(F.HOST_RIP))} is not canonical` : undefined),
];
