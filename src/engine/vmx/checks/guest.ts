// VM-entry checks on the guest-state area (SDM vol. 3, "Checking and Loading
// Guest State": control registers/debug registers/MSRs, segment registers,
// descriptor-table registers, RIP and RFLAGS, non-register state, PDPTEs), in
// the SDM's order. A failure is a VM exit with reason 33 "VM-entry failure
// due to invalid guest state" (bit 31 set) and the exit qualification the SDM
// gives: 0, 2 (PDPTE), 4 (VMCS link pointer).
//
// The segment checks are generated per register in the SDM's order: for each
// kind of field (selector, base, limit, access rights sub-field) the
// registers in the order the SDM lists them.

import * as F from '../enc';
import {
  cr0FixedViolation, cr4FixedViolation, ENTRY_IA32E, ENTRY_LOAD_DEBUG, ENTRY_LOAD_PAT, ENTRY_LOAD_EFER,
  PROC2_UNRESTRICTED, PIN_VIRTUAL_NMIS, ACTIVITY_SUPPORTED, ACTIVITY_HLT, ACTIVITY_WAIT_SIPI, VMCS_REVISION,
} from '../capabilities';
import type { Vmcs } from '../vmcs';
import { check, hex, canonicalHi, type Check, type CheckCtx } from './common';
import { secondary } from './controls';
import { patProblem, EFER_VALID } from './host';

const CRS = 'Checks on Guest Control Registers, Debug Registers, and MSRs';
const SEGS = 'Checks on Guest Segment Registers';
const DTS = 'Checks on Guest Descriptor-Table Registers';
const RIPF = 'Checks on Guest RIP, RFLAGS, and SSP';
const NONREG = 'Checks on Guest Non-Register State';
const PDPTES = 'Checks on Guest Page-Directory-Pointer-Table Entries';

export const QUAL_DEFAULT = 0, QUAL_PDPTE = 2, QUAL_LINK = 4;

const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
const NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'];
const DATA = [DS, ES, FS, GS];
const SIX = [CS, SS, DS, ES, FS, GS];

const entry = (v: Vmcs): number => v.get32(F.ENTRY_CONTROLS);
const ia32e = (v: Vmcs): boolean => (entry(v) & ENTRY_IA32E) !== 0;
const unrestricted = (v: Vmcs): boolean => (secondary(v) & PROC2_UNRESTRICTED) !== 0;
const rflags = (v: Vmcs): number => v.get32(F.GUEST_RFLAGS);
const v86 = (v: Vmcs): boolean => (rflags(v) & (1 << 17)) !== 0;
const ar = (v: Vmcs, s: number): number => v.get32(F.GUEST_AR[s]!);
const sel = (v: Vmcs, s: number): number => v.get32(F.GUEST_SEL[s]!) & 0xffff;
const limit = (v: Vmcs, s: number): number => v.get32(F.GUEST_LIMIT[s]!) >>> 0;
const usable = (v: Vmcs, s: number): boolean => (ar(v, s) & 0x10000) === 0;
const type = (v: Vmcs, s: number): number => ar(v, s) & 0xf;
const dpl = (v: Vmcs, s: number): number => (ar(v, s) >> 5) & 3;
/** CS, or a usable register: most access-rights checks apply. */
const checked = (v: Vmcs, s: number): boolean => s === CS || usable(v, s);
const intrInfo = (v: Vmcs): number => v.get32(F.ENTRY_INTR_INFO);
const injecting = (v: Vmcs, t: number): boolean => intrInfo(v) < 0 && ((intrInfo(v) >> 8) & 7) === t;
const interruptibility = (v: Vmcs): number => v.get32(F.GUEST_INTERRUPTIBILITY);
const activity = (v: Vmcs): number => v.get32(F.GUEST_ACTIVITY_STATE) >>> 0;

function canon(id: string, enc: number, sdm: string, what: string, when: (v: Vmcs) => boolean = () => true): Check {
  return check(id, enc, sdm, (v) => when(v) && !canonicalHi(v.getHi(enc)) ? `${what} ${hex(v.get64(enc))} is not canonical` : undefined);
}

/** G-bit consistency with the limit (two checks). */
function granularity(s: number, when: (v: Vmcs) => boolean): Check[] {
  const name = NAMES[s]!;
  return [
    check(`guest.ar.${name}.g-clear`, F.GUEST_AR[s]!, SEGS, (v) =>
      when(v) && (limit(v, s) & 0xfff) !== 0xfff && (ar(v, s) & 0x8000)
        ? `${name} limit ${hex(limit(v, s))} has bits 11:0 not all 1 but G is 1` : undefined),
    check(`guest.ar.${name}.g-set`, F.GUEST_AR[s]!, SEGS, (v) =>
      when(v) && (limit(v, s) & 0xfff00000) !== 0 && !(ar(v, s) & 0x8000)
        ? `${name} limit ${hex(limit(v, s))} has bits 31:20 set but G is 0` : undefined),
  ];
}

function segmentChecks(): Check[] {
  const out: Check[] = [];
  const notV86 = (v: Vmcs): boolean => !v86(v);
  // ---- selectors
  out.push(
    check('guest.sel.TR.ti', F.GUEST_SEL[TR]!, SEGS, (v) => sel(v, TR) & 4 ? `TR selector ${hex(sel(v, TR))} has TI set` : undefined),
    check('guest.sel.LDTR.ti', F.GUEST_SEL[LDTR]!, SEGS, (v) =>
      usable(v, LDTR) && sel(v, LDTR) & 4 ? `LDTR selector ${hex(sel(v, LDTR))} has TI set (LDTR is usable)` : undefined),
    check('guest.sel.SS.rpl', F.GUEST_SEL[SS]!, SEGS, (v) =>
      !v86(v) && !unrestricted(v) && (sel(v, SS) & 3) !== (sel(v, CS) & 3)
        ? `SS selector RPL ${sel(v, SS) & 3} differs from CS selector RPL ${sel(v, CS) & 3}` : undefined),
  );
  // ---- bases
  for (const s of SIX) {
    out.push(check(`guest.base.${NAMES[s]}.v86`, F.GUEST_BASE[s]!, SEGS, (v) =>
      v86(v) && v.get64(F.GUEST_BASE[s]!) !== BigInt(sel(v, s) * 16)
        ? `virtual-8086 guest: ${NAMES[s]} base ${hex(v.get64(F.GUEST_BASE[s]!))} is not selector ${hex(sel(v, s))} × 16` : undefined));
  }
  out.push(
    canon('guest.base.TR.canonical', F.GUEST_BASE[TR]!, SEGS, 'TR base'),
    canon('guest.base.FS.canonical', F.GUEST_BASE[FS]!, SEGS, 'FS base'),
    canon('guest.base.GS.canonical', F.GUEST_BASE[GS]!, SEGS, 'GS base'),
    canon('guest.base.LDTR.canonical', F.GUEST_BASE[LDTR]!, SEGS, 'LDTR base (usable)', (v) => usable(v, LDTR)),
  );
  for (const s of [CS, SS, DS, ES]) {
    out.push(check(`guest.base.${NAMES[s]}.high`, F.GUEST_BASE[s]!, SEGS, (v) =>
      (s === CS || usable(v, s)) && v.getHi(F.GUEST_BASE[s]!) !== 0
        ? `${NAMES[s]} base ${hex(v.get64(F.GUEST_BASE[s]!))} sets bits 63:32` : undefined));
  }
  // ---- limits
  for (const s of SIX) {
    out.push(check(`guest.limit.${NAMES[s]}.v86`, F.GUEST_LIMIT[s]!, SEGS, (v) =>
      v86(v) && limit(v, s) !== 0xffff ? `virtual-8086 guest: ${NAMES[s]} limit ${hex(limit(v, s))} is not 0000FFFFH` : undefined));
  }
  // ---- access rights: virtual-8086
  for (const s of SIX) {
    out.push(check(`guest.ar.${NAMES[s]}.v86`, F.GUEST_AR[s]!, SEGS, (v) =>
      v86(v) && ar(v, s) !== 0xf3 ? `virtual-8086 guest: ${NAMES[s]} access rights ${hex(ar(v, s))} are not 000000F3H` : undefined));
  }
  // ---- access rights, not virtual-8086: type
  out.push(
    check('guest.ar.CS.type', F.GUEST_AR[CS]!, SEGS, (v) => {
      if (v86(v)) return undefined;
      const t = type(v, CS);
      const ok = t === 9 || t === 11 || t === 13 || t === 15 || (t === 3 && unrestricted(v));
      return ok ? undefined : `CS type ${t} is not an accessed code segment (9, 11, 13, 15${unrestricted(v) ? ', or 3 for an unrestricted guest' : ''})`;
    }),
    check('guest.ar.SS.type', F.GUEST_AR[SS]!, SEGS, (v) =>
      notV86(v) && usable(v, SS) && type(v, SS) !== 3 && type(v, SS) !== 7
        ? `SS type ${type(v, SS)} is not a read/write accessed data segment (3 or 7)` : undefined),
  );
  for (const s of DATA) {
    out.push(
      check(`guest.ar.${NAMES[s]}.accessed`, F.GUEST_AR[s]!, SEGS, (v) =>
        notV86(v) && usable(v, s) && !(type(v, s) & 1) ? `${NAMES[s]} type ${type(v, s)} does not have the accessed bit set` : undefined),
      check(`guest.ar.${NAMES[s]}.readable`, F.GUEST_AR[s]!, SEGS, (v) =>
        notV86(v) && usable(v, s) && (type(v, s) & 8) && !(type(v, s) & 2) ? `${NAMES[s]} is an execute-only code segment (type ${type(v, s)})` : undefined),
    );
  }
  // ---- S
  for (const s of SIX) {
    out.push(check(`guest.ar.${NAMES[s]}.s`, F.GUEST_AR[s]!, SEGS, (v) =>
      notV86(v) && checked(v, s) && !(ar(v, s) & 0x10) ? `${NAMES[s]} access rights ${hex(ar(v, s))} have S = 0 (a system segment)` : undefined));
  }
  // ---- DPL
  out.push(
    check('guest.ar.CS.dpl', F.GUEST_AR[CS]!, SEGS, (v) => {
      if (v86(v)) return undefined;
      const t = type(v, CS), d = dpl(v, CS), ss = dpl(v, SS);
      if (t === 3 && d !== 0) return `CS is a data segment (unrestricted guest) with DPL ${d} (must be 0)`;
      if ((t === 9 || t === 11) && d !== ss) return `CS is non-conforming code with DPL ${d}, but SS.DPL is ${ss} (must be equal)`;
      if ((t === 13 || t === 15) && d > ss) return `CS is conforming code with DPL ${d}, greater than SS.DPL ${ss}`;
      return undefined;
    }),
    check('guest.ar.SS.dpl-rpl', F.GUEST_AR[SS]!, SEGS, (v) =>
      notV86(v) && !unrestricted(v) && dpl(v, SS) !== (sel(v, SS) & 3) ? `SS.DPL ${dpl(v, SS)} differs from SS selector RPL ${sel(v, SS) & 3}` : undefined),
    check('guest.ar.SS.dpl-real', F.GUEST_AR[SS]!, SEGS, (v) =>
      notV86(v) && (type(v, CS) === 3 || !(v.get32(F.GUEST_CR0) & 1)) && dpl(v, SS) !== 0
        ? `SS.DPL is ${dpl(v, SS)} while ${type(v, CS) === 3 ? 'CS is a data segment' : 'CR0.PE is 0'} (must be 0)` : undefined),
  );
  for (const s of DATA) {
    out.push(check(`guest.ar.${NAMES[s]}.dpl`, F.GUEST_AR[s]!, SEGS, (v) =>
      notV86(v) && !unrestricted(v) && usable(v, s) && type(v, s) <= 11 && dpl(v, s) < (sel(v, s) & 3)
        ? `${NAMES[s]}.DPL ${dpl(v, s)} is less than its selector RPL ${sel(v, s) & 3}` : undefined));
  }
  // ---- P, reserved 11:8, D/B, G, reserved 31:17
  for (const s of SIX) {
    out.push(check(`guest.ar.${NAMES[s]}.p`, F.GUEST_AR[s]!, SEGS, (v) =>
      notV86(v) && checked(v, s) && !(ar(v, s) & 0x80) ? `${NAMES[s]} is not present (P = 0) but ${s === CS ? 'is CS' : 'is usable'}` : undefined));
  }
  for (const s of SIX) {
    out.push(check(`guest.ar.${NAMES[s]}.reserved-11-8`, F.GUEST_AR[s]!, SEGS, (v) =>
      notV86(v) && checked(v, s) && (ar(v, s) & 0xf00) ? `${NAMES[s]} access rights ${hex(ar(v, s))} set reserved bits 11:8` : undefined));
  }
  out.push(check('guest.ar.CS.db', F.GUEST_AR[CS]!, SEGS, (v) =>
    notV86(v) && ia32e(v) && (ar(v, CS) & 0x2000) && (ar(v, CS) & 0x4000) ? 'CS has both L and D/B set in an IA-32e mode guest' : undefined));
  for (const s of SIX) out.push(...granularity(s, (v) => notV86(v) && checked(v, s)));
  for (const s of SIX) {
    out.push(check(`guest.ar.${NAMES[s]}.reserved-31-17`, F.GUEST_AR[s]!, SEGS, (v) =>
      notV86(v) && checked(v, s) && (ar(v, s) & 0xfffe0000) ? `${NAMES[s]} access rights ${hex(ar(v, s))} set reserved bits 31:17` : undefined));
  }
  // ---- TR
  out.push(
    check('guest.ar.TR.type', F.GUEST_AR[TR]!, SEGS, (v) => {
      const t = type(v, TR);
      if (ia32e(v)) return t === 11 ? undefined : `TR type ${t} is not a busy 64-bit TSS (11) in an IA-32e mode guest`;
      return t === 3 || t === 11 ? undefined : `TR type ${t} is not a busy TSS (3 or 11)`;
    }),
    check('guest.ar.TR.s', F.GUEST_AR[TR]!, SEGS, (v) => ar(v, TR) & 0x10 ? 'TR access rights have S = 1' : undefined),
    check('guest.ar.TR.p', F.GUEST_AR[TR]!, SEGS, (v) => ar(v, TR) & 0x80 ? undefined : 'TR is not present (P = 0)'),
    check('guest.ar.TR.reserved-11-8', F.GUEST_AR[TR]!, SEGS, (v) => ar(v, TR) & 0xf00 ? `TR access rights ${hex(ar(v, TR))} set reserved bits 11:8` : undefined),
    ...granularity(TR, () => true),
    check('guest.ar.TR.unusable', F.GUEST_AR[TR]!, SEGS, (v) => usable(v, TR) ? undefined : 'TR is marked unusable'),
    check('guest.ar.TR.reserved-31-17', F.GUEST_AR[TR]!, SEGS, (v) => ar(v, TR) & 0xfffe0000 ? `TR access rights ${hex(ar(v, TR))} set reserved bits 31:17` : undefined),
  );
  // ---- LDTR (when usable)
  const ldtr = (v: Vmcs): boolean => usable(v, LDTR);
  out.push(
    check('guest.ar.LDTR.type', F.GUEST_AR[LDTR]!, SEGS, (v) => ldtr(v) && type(v, LDTR) !== 2 ? `LDTR type ${type(v, LDTR)} is not an LDT (2)` : undefined),
    check('guest.ar.LDTR.s', F.GUEST_AR[LDTR]!, SEGS, (v) => ldtr(v) && ar(v, LDTR) & 0x10 ? 'LDTR access rights have S = 1' : undefined),
    check('guest.ar.LDTR.p', F.GUEST_AR[LDTR]!, SEGS, (v) => ldtr(v) && !(ar(v, LDTR) & 0x80) ? 'LDTR is usable but not present (P = 0)' : undefined),
    check('guest.ar.LDTR.reserved-11-8', F.GUEST_AR[LDTR]!, SEGS, (v) =>
      ldtr(v) && ar(v, LDTR) & 0xf00 ? `LDTR access rights ${hex(ar(v, LDTR))} set reserved bits 11:8` : undefined),
    ...granularity(LDTR, ldtr),
    check('guest.ar.LDTR.reserved-31-17', F.GUEST_AR[LDTR]!, SEGS, (v) =>
      ldtr(v) && ar(v, LDTR) & 0xfffe0000 ? `LDTR access rights ${hex(ar(v, LDTR))} set reserved bits 31:17` : undefined),
  );
  return out;
}

/** The guest's PDPTE i: from the VMCS with EPT, else from guest memory at CR3. */
function pdpte(v: Vmcs, ctx: CheckCtx, i: number): { lo: number; hi: number } {
  if (secondary(v) & 2) return { lo: v.get32(F.GUEST_PDPTR0 + 2 * i), hi: v.getHi(F.GUEST_PDPTR0 + 2 * i) };
  const at = ((v.get32(F.GUEST_CR3) & 0xffffffe0) >>> 0) + 8 * i;
  const pa = ctx.gpaToHpa ? ctx.gpaToHpa(at) : at;
  return { lo: ctx.mem.read32(pa), hi: ctx.mem.read32(pa + 4) };
}

const bts = (v: Vmcs): boolean => (interruptibility(v) & 3) !== 0 || activity(v) === ACTIVITY_HLT;

export const GUEST_CHECKS: readonly Check[] = [
  // ---- control registers, debug registers, MSRs
  check('guest.cr0.fixed', F.GUEST_CR0, CRS, (v) => {
    if (v.getHi(F.GUEST_CR0) !== 0) return `guest CR0 ${hex(v.get64(F.GUEST_CR0))} sets bits 63:32`;
    const bad = cr0FixedViolation(v.get32(F.GUEST_CR0), unrestricted(v));
    return bad ? `guest CR0 ${hex(v.get32(F.GUEST_CR0))} has bits ${hex(bad)} not allowed in VMX operation (IA32_VMX_CR0_FIXED0: ${unrestricted(v) ? 'NE' : 'PE, NE and PG'} must be 1)` : undefined;
  }),
  check('guest.cr0.pg-pe', F.GUEST_CR0, CRS, (v) => {
    const c = v.get32(F.GUEST_CR0);
    return c < 0 && !(c & 1) ? 'guest CR0.PG is 1 while CR0.PE is 0' : undefined;
  }),
  check('guest.cr4.fixed', F.GUEST_CR4, CRS, (v) => {
    if (v.getHi(F.GUEST_CR4) !== 0) return `guest CR4 ${hex(v.get64(F.GUEST_CR4))} sets bits 63:32`;
    const bad = cr4FixedViolation(v.get32(F.GUEST_CR4));
    return bad ? `guest CR4 ${hex(v.get32(F.GUEST_CR4))} has bits ${hex(bad)} not allowed in VMX operation (IA32_VMX_CR4_FIXED0/1: VMXE must be 1)` : undefined;
  }),
  check('guest.debugctl.reserved', F.GUEST_DEBUGCTL, CRS, (v) =>
    entry(v) & ENTRY_LOAD_DEBUG && v.get64(F.GUEST_DEBUGCTL) !== 0n
      ? `guest IA32_DEBUGCTL ${hex(v.get64(F.GUEST_DEBUGCTL))} sets bits this CPU does not support (it has no IA32_DEBUGCTL features)` : undefined),
  check('guest.ia32e.pg', F.GUEST_CR0, CRS, (v) =>
    ia32e(v) && v.get32(F.GUEST_CR0) >= 0 ? 'guest CR0.PG is 0 with "IA-32e mode guest" 1' : undefined),
  check('guest.ia32e.pae', F.GUEST_CR4, CRS, (v) =>
    ia32e(v) && !(v.get32(F.GUEST_CR4) & 0x20) ? 'guest CR4.PAE is 0 with "IA-32e mode guest" 1' : undefined),
  check('guest.cr4.pcide', F.GUEST_CR4, CRS, (v) =>
    !ia32e(v) && v.get32(F.GUEST_CR4) & (1 << 17) ? 'guest CR4.PCIDE is 1 with "IA-32e mode guest" 0' : undefined),
  check('guest.cr3.width', F.GUEST_CR3, CRS, (v) =>
    v.getHi(F.GUEST_CR3) & ~0xff ? `guest CR3 ${hex(v.get64(F.GUEST_CR3))} sets bits beyond the physical-address width (40)` : undefined),
  check('guest.dr7.high', F.GUEST_DR7, CRS, (v) =>
    entry(v) & ENTRY_LOAD_DEBUG && v.getHi(F.GUEST_DR7) !== 0 ? `guest DR7 ${hex(v.get64(F.GUEST_DR7))} sets bits 63:32` : undefined),
  canon('guest.sysenter-esp', F.GUEST_SYSENTER_ESP, CRS, 'guest IA32_SYSENTER_ESP'),
  canon('guest.sysenter-eip', F.GUEST_SYSENTER_EIP, CRS, 'guest IA32_SYSENTER_EIP'),
  check('guest.pat', F.GUEST_PAT, CRS, (v) => {
    if (!(entry(v) & ENTRY_LOAD_PAT)) return undefined;
    const p = patProblem(v.get32(F.GUEST_PAT), v.getHi(F.GUEST_PAT));
    return p && `guest IA32_PAT ${hex(v.get64(F.GUEST_PAT))}: ${p}`;
  }),
  check('guest.efer.reserved', F.GUEST_EFER, CRS, (v) =>
    entry(v) & ENTRY_LOAD_EFER && (v.getHi(F.GUEST_EFER) !== 0 || v.get32(F.GUEST_EFER) & ~EFER_VALID)
      ? `guest IA32_EFER ${hex(v.get64(F.GUEST_EFER))} sets reserved bits` : undefined),
  check('guest.efer.lma', F.GUEST_EFER, CRS, (v) => {
    if (!(entry(v) & ENTRY_LOAD_EFER)) return undefined;
    const lma = (v.get32(F.GUEST_EFER) & 0x400) !== 0;
    return lma !== ia32e(v) ? `guest IA32_EFER.LMA is ${lma ? 1 : 0} but "IA-32e mode guest" is ${ia32e(v) ? 1 : 0}` : undefined;
  }),
  check('guest.efer.lme', F.GUEST_EFER, CRS, (v) => {
    if (!(entry(v) & ENTRY_LOAD_EFER) || v.get32(F.GUEST_CR0) >= 0) return undefined;
    const e = v.get32(F.GUEST_EFER);
    return ((e >> 8) & 1) !== ((e >> 10) & 1) ? `guest IA32_EFER.LME (${(e >> 8) & 1}) differs from LMA (${(e >> 10) & 1}) with CR0.PG 1` : undefined;
  }),

  // ---- segment registers
  ...segmentChecks(),

  // ---- descriptor-table registers
  canon('guest.gdtr.base', F.GUEST_GDTR_BASE, DTS, 'GDTR base'),
  canon('guest.idtr.base', F.GUEST_IDTR_BASE, DTS, 'IDTR base'),
  check('guest.gdtr.limit', F.GUEST_GDTR_LIMIT, DTS, (v) =>
    v.get32(F.GUEST_GDTR_LIMIT) & 0xffff0000 ? `GDTR limit ${hex(v.get32(F.GUEST_GDTR_LIMIT))} sets bits 31:16` : undefined),
  check('guest.idtr.limit', F.GUEST_IDTR_LIMIT, DTS, (v) =>
    v.get32(F.GUEST_IDTR_LIMIT) & 0xffff0000 ? `IDTR limit ${hex(v.get32(F.GUEST_IDTR_LIMIT))} sets bits 31:16` : undefined),

  // ---- RIP and RFLAGS
  check('guest.rip.high', F.GUEST_RIP, RIPF, (v) =>
    (!ia32e(v) || !(ar(v, CS) & 0x2000)) && v.getHi(F.GUEST_RIP) !== 0
      ? `guest RIP ${hex(v.get64(F.GUEST_RIP))} sets bits 63:32 outside 64-bit mode` : undefined),
  check('guest.rip.canonical', F.GUEST_RIP, RIPF, (v) =>
    ia32e(v) && (ar(v, CS) & 0x2000) && !canonicalHi(v.getHi(F.GUEST_RIP)) ? `guest RIP ${hex(v.get64(F.GUEST_RIP))} is not canonical` : undefined),
  check('guest.rflags.reserved', F.GUEST_RFLAGS, RIPF, (v) =>
    v.getHi(F.GUEST_RFLAGS) !== 0 || (rflags(v) & 0xffc08028) ? `guest RFLAGS ${hex(v.get64(F.GUEST_RFLAGS))} sets reserved bits (63:22, 15, 5, 3)` : undefined),
  check('guest.rflags.bit1', F.GUEST_RFLAGS, RIPF, (v) => rflags(v) & 2 ? undefined : `guest RFLAGS ${hex(rflags(v))} has bit 1 clear (must be 1)`),
  check('guest.rflags.vm', F.GUEST_RFLAGS, RIPF, (v) =>
    v86(v) && (ia32e(v) || !(v.get32(F.GUEST_CR0) & 1)) ? `guest RFLAGS.VM is 1 ${ia32e(v) ? 'in an IA-32e mode guest' : 'with CR0.PE 0'}` : undefined),
  check('guest.rflags.if', F.GUEST_RFLAGS, RIPF, (v) =>
    injecting(v, 0) && !(rflags(v) & 0x200) ? 'an external interrupt is injected but guest RFLAGS.IF is 0' : undefined),

  // ---- non-register state
  check('guest.activity.supported', F.GUEST_ACTIVITY_STATE, NONREG, (v) =>
    ACTIVITY_SUPPORTED[activity(v)] ? undefined : `activity state ${activity(v)} is not supported (0 active, 1 HLT, 3 wait-for-SIPI)`),
  check('guest.activity.hlt-dpl', F.GUEST_ACTIVITY_STATE, NONREG, (v) =>
    activity(v) === ACTIVITY_HLT && dpl(v, SS) !== 0 ? `activity state is HLT but SS.DPL is ${dpl(v, SS)} (must be 0)` : undefined),
  check('guest.activity.blocking', F.GUEST_ACTIVITY_STATE, NONREG, (v) =>
    interruptibility(v) & 3 && activity(v) !== 0 ? `activity state ${activity(v)} with blocking by ${interruptibility(v) & 1 ? 'STI' : 'MOV SS'} (must be active)` : undefined),
  check('guest.activity.injection', F.GUEST_ACTIVITY_STATE, NONREG, (v) => {
    const i = intrInfo(v);
    if (i >= 0 || activity(v) === 0) return undefined;
    const t = (i >> 8) & 7, vec = i & 0xff;
    if (activity(v) === ACTIVITY_WAIT_SIPI) return 'an event is injected into the wait-for-SIPI activity state';
    const ok = t === 0 || t === 2 || (t === 3 && (vec === 1 || vec === 18)) || (t === 7 && vec === 0);
    return ok ? undefined : `type ${t} vector ${vec} cannot be injected in the HLT activity state`;
  }),
  check('guest.intr.reserved', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    interruptibility(v) & ~0xf ? `interruptibility state ${hex(interruptibility(v))} sets reserved bits 31:4` : undefined),
  check('guest.intr.sti-movss', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    (interruptibility(v) & 3) === 3 ? 'interruptibility state has blocking by STI and by MOV SS both set' : undefined),
  check('guest.intr.sti-if', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    interruptibility(v) & 1 && !(rflags(v) & 0x200) ? 'blocking by STI is set while RFLAGS.IF is 0' : undefined),
  check('guest.intr.ext-injection', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    injecting(v, 0) && interruptibility(v) & 3 ? 'an external interrupt is injected with blocking by STI or MOV SS' : undefined),
  check('guest.intr.nmi-injection', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    injecting(v, 2) && interruptibility(v) & 2 ? 'an NMI is injected with blocking by MOV SS' : undefined),
  check('guest.intr.smi', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    interruptibility(v) & 4 ? 'blocking by SMI is set outside SMM' : undefined),
  check('guest.intr.nmi-blocking', F.GUEST_INTERRUPTIBILITY, NONREG, (v) =>
    v.get32(F.PIN) & PIN_VIRTUAL_NMIS && injecting(v, 2) && interruptibility(v) & 8
      ? 'a virtual NMI is injected with blocking by NMI set' : undefined),
  check('guest.pending-dbg.reserved', F.GUEST_PENDING_DBG, NONREG, (v) =>
    v.getHi(F.GUEST_PENDING_DBG) !== 0 || (v.get32(F.GUEST_PENDING_DBG) & ~0x500f)
      ? `pending debug exceptions ${hex(v.get64(F.GUEST_PENDING_DBG))} set reserved bits` : undefined),
  check('guest.pending-dbg.bs-set', F.GUEST_PENDING_DBG, NONREG, (v) =>
    bts(v) && rflags(v) & 0x100 && !(v.get32(F.GUEST_PENDING_DBG) & 0x4000)
      ? 'pending debug exceptions BS is 0 while RFLAGS.TF is 1 (with blocking or HLT)' : undefined),
  check('guest.pending-dbg.bs-clear', F.GUEST_PENDING_DBG, NONREG, (v) =>
    bts(v) && !(rflags(v) & 0x100) && v.get32(F.GUEST_PENDING_DBG) & 0x4000
      ? 'pending debug exceptions BS is 1 while RFLAGS.TF is 0 (with blocking or HLT)' : undefined),
  check('guest.link.aligned', F.VMCS_LINK_POINTER, NONREG, (v) => {
    const p = v.get64(F.VMCS_LINK_POINTER);
    return p !== 0xffffffffffffffffn && (p & 0xfffn) !== 0n ? `VMCS link pointer ${hex(p)} is not FFFFFFFF_FFFFFFFFH and not 4-KByte aligned` : undefined;
  }, QUAL_LINK),
  check('guest.link.width', F.VMCS_LINK_POINTER, NONREG, (v) => {
    const p = v.get64(F.VMCS_LINK_POINTER);
    return p !== 0xffffffffffffffffn && p >= 1n << 40n ? `VMCS link pointer ${hex(p)} sets bits beyond the physical-address width` : undefined;
  }, QUAL_LINK),
  check('guest.link.revision', F.VMCS_LINK_POINTER, NONREG, (v, ctx) => {
    const p = v.get64(F.VMCS_LINK_POINTER);
    if (p === 0xffffffffffffffffn) return undefined;
    const rev = ctx.mem.read32(Number(p)) >>> 0;
    return rev !== VMCS_REVISION ? `the VMCS at the link pointer ${hex(p)} has revision ${hex(rev)} (expected ${VMCS_REVISION}, not a shadow VMCS)` : undefined;
  }, QUAL_LINK),

  // ---- PDPTEs (PAE paging outside IA-32e mode)
  ...[0, 1, 2, 3].map((i) => check(`guest.pdpte${i}`, F.GUEST_PDPTR0 + 2 * i, PDPTES, (v, ctx) => {
    const cr0 = v.get32(F.GUEST_CR0);
    if (cr0 >= 0 || !(v.get32(F.GUEST_CR4) & 0x20) || ia32e(v)) return undefined;
    const e = pdpte(v, ctx, i);
    if (!(e.lo & 1)) return undefined;
    return (e.lo & 0x1e6) || (e.hi & ~0xff) ? `PDPTE${i} ${hex((BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0))} is present with reserved bits set` : undefined;
  }, QUAL_PDPTE)),
];

export { NAMES as SEGMENT_NAMES };
