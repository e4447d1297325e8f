// The VM-entry checks as data: each check names what it tests, the VMCS
// field it is about and the SDM section it comes from, and returns words
// describing the actual values when they are wrong. controls.ts, host.ts and
// guest.ts list them in the SDM's order; runChecks() stops at the first
// failure, as the processor does.

import type { PhysicalMemory } from '../../mmu/physmem';
import type { Vmcs } from '../vmcs';
import { fieldByEncoding } from '../vmcs-fields';

export interface CheckCtx {
  /** IA32_EFER.LMA of the logical processor at VM entry (host address-space checks). */
  lma: boolean;
  /** Memory, for checks that read it (virtual-APIC page, VMCS link pointer, PDPTEs). */
  mem: PhysicalMemory;
  /** The current VMCS pointer (the link pointer must differ from it... and from the VMXON pointer). */
  vmxonPtr: number;
  /** Guest CR3 translation for PDPTE reads with EPT (identity when absent). */
  gpaToHpa?: (gpa: number) => number;
}

export interface EntryFailure {
  /** Stable id of the check (tests, and the order of the SDM). */
  id: string;
  /** What is wrong, in words, with the actual values. */
  text: string;
  /** VMCS field name. */
  field: string;
  /** SDM section title. */
  sdm: string;
  /** Guest-state failures: the exit qualification (0 default, 2 PDPTE, 4 VMCS link pointer). */
  qualification?: number;
}

export interface Check {
  id: string;
  field: string;
  sdm: string;
  qualification?: number;
  /** Words for the failure, or undefined when the VMCS passes this check. */
  run(v: Vmcs, ctx: CheckCtx): string | undefined;
}

export function runChecks(list: readonly Check[], v: Vmcs, ctx: CheckCtx): EntryFailure | undefined {
  for (const c of list) {
    const text = c.run(v, ctx);
    if (text !== undefined) {
      return { id: c.id, text, field: c.field, sdm: c.sdm, ...(c.qualification !== undefined ? { qualification: c.qualification } : {}) };
    }
  }
  return undefined;
}

/** Field name of an encoding (for check records). */
export function nameOf(enc: number): string {
  return fieldByEncoding(enc)?.field.name ?? `0x${enc.toString(16)}`;
}

export const hex = (v: number | bigint): string =>
  '0x' + (typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v >>> 0)).toString(16);

/** Builds a check (field given by encoding). */
export function check(id: string, enc: number, sdm: string, run: Check['run'], qualification?: number): Check {
  return { id, field: nameOf(enc), sdm, run, ...(qualification !== undefined ? { qualification } : {}) };
}

/** Physical-address checks shared by many fields (MAXPHYADDR 40). */
export function physProblem(lo: number, hi: number, alignMask: number): string | undefined {
  if ((lo & alignMask) !== 0) return `is not aligned (bits ${alignMask === 0xfff ? '11:0' : '3:0'} are not 0)`;
  if ((hi & ~0xff) !== 0) return 'sets bits beyond the physical-address width (40)';
  return undefined;
}

export function canonicalHi(hi: number): boolean { return (hi >> 15) === (hi >> 31); }
