// A VMCS as the engine holds it: 64-bit field values in int32 lo/hi slots
// indexed from the field encoding (width, type and index bits: 8192 slots,
// no lookups on the VM-exit/entry paths), plus its region address and launch
// state. The processor may keep an active VMCS anywhere; here the data lives
// in this object while the VMCS is active and is written back into the
// region by VMCLEAR (VMPTRLD of an inactive region reads it from there), so
// a guest that copies or clears regions behaves sanely.
//
// Region layout (documented private format; SDM: "Format of the VMCS Region"):
//   0x000  revision identifier (bits 30:0), shadow-VMCS indicator (bit 31)
//   0x004  VMX-abort indicator
//   0x008  launch state: 0 clear, 1 launched
//   0x010  8 bytes per field, in the order of VMCS_FIELDS (vmcs-fields.ts)
//
// Supported fields: every field of the table except those of features this
// CPU does not implement (capabilities.ts); VMREAD/VMWRITE of the others fail
// with error 12, like a processor without them.

import type { PhysicalMemory } from '../mmu/physmem';
import { VMCS_FIELDS, decodeEncoding, type VmcsField } from './vmcs-fields';

const SLOTS = 8192;

/** Slot of an encoding (a 64-bit field's high-access encoding shares its slot). */
export function slotOf(enc: number): number {
  return (((enc >>> 13) & 3) << 11) | (((enc >>> 10) & 3) << 9) | ((enc >>> 1) & 0x1ff);
}

const UNSUPPORTED = new Set([
  'POSTED_INTR_NV', 'EPTP_INDEX', 'GUEST_INTR_STATUS', 'GUEST_PML_INDEX', 'PML_ADDRESS', 'POSTED_INTR_DESC_ADDR',
  'VM_FUNCTION_CONTROL', 'EOI_EXIT_BITMAP0', 'EOI_EXIT_BITMAP1', 'EOI_EXIT_BITMAP2', 'EOI_EXIT_BITMAP3',
  'EPTP_LIST_ADDRESS', 'VMREAD_BITMAP', 'VMWRITE_BITMAP', 'VE_INFORMATION_ADDRESS', 'XSS_EXIT_BITMAP',
  'ENCLS_EXITING_BITMAP', 'SPP_TABLE_POINTER', 'TSC_MULTIPLIER', 'TERTIARY_VM_EXEC_CONTROL',
  'GUEST_IA32_PERF_GLOBAL_CTRL', 'GUEST_BNDCFGS', 'GUEST_IA32_RTIT_CTL', 'GUEST_IA32_PKRS',
  'HOST_IA32_PERF_GLOBAL_CTRL', 'HOST_IA32_PKRS', 'PLE_GAP', 'PLE_WINDOW', 'NOTIFY_WINDOW',
  'GUEST_S_CET', 'GUEST_SSP', 'GUEST_INTR_SSP_TABLE', 'HOST_S_CET', 'HOST_SSP', 'HOST_INTR_SSP_TABLE',
]);

/** The fields this CPU's VMCS has, in region order. */
export const SUPPORTED_FIELDS: readonly VmcsField[] = VMCS_FIELDS.filter((f) => !UNSUPPORTED.has(f.name));
const supportedSlot = new Uint8Array(SLOTS);
const fieldOfSlot: (VmcsField | undefined)[] = new Array<VmcsField | undefined>(SLOTS);
for (const f of SUPPORTED_FIELDS) { supportedSlot[slotOf(f.encoding)] = 1; fieldOfSlot[slotOf(f.encoding)] = f; }

/** Highest field index of the supported fields (IA32_VMX_VMCS_ENUM bits 9:1). */
export function supportedMaxIndex(): number {
  let m = 0;
  for (const f of SUPPORTED_FIELDS) m = Math.max(m, decodeEncoding(f.encoding).index);
  return m;
}

/**
 * The supported field an encoding names, with `high` for the high-access
 * encoding of a 64-bit field; undefined for anything else (bits 31:15 or the
 * reserved bit 12 set, an unknown or unsupported field, high access to a
 * field that is not 64 bits wide).
 */
export function lookupField(enc: number, encHi = 0): { field: VmcsField; high: boolean } | undefined {
  if (encHi !== 0 || enc < 0 || enc > 0x7fff || (enc & 0x1000)) return undefined;
  const f = fieldOfSlot[slotOf(enc)];
  if (!f) return undefined;
  if (f.encoding === enc) return { field: f, high: false };
  if (f.width === 64 && enc === (f.encoding | 1)) return { field: f, high: true };
  return undefined;
}

export const LAUNCH_CLEAR = 0, LAUNCH_LAUNCHED = 1;

export class Vmcs {
  readonly lo = new Int32Array(SLOTS);
  readonly hi = new Int32Array(SLOTS);
  launch = LAUNCH_CLEAR;

  constructor(readonly addr: number) {}

  /** Bits 31:0 of a field. */
  get32(enc: number): number { return this.lo[slotOf(enc)]!; }
  /** Bits 63:32 of a field. */
  getHi(enc: number): number { return this.hi[slotOf(enc)]!; }
  /** The field as an unsigned number (exact below 2^53: addresses, counts). */
  getNum(enc: number): number { const s = slotOf(enc); return (this.hi[s]! >>> 0) * 0x1_0000_0000 + (this.lo[s]! >>> 0); }
  get64(enc: number): bigint { const s = slotOf(enc); return (BigInt(this.hi[s]! >>> 0) << 32n) | BigInt(this.lo[s]! >>> 0); }

  set(enc: number, lo: number, hi = 0): void { const s = slotOf(enc); this.lo[s] = lo; this.hi[s] = hi; }
  /** Stores a signed or unsigned integer number (|v| < 2^53) as 64 bits. */
  setNum(enc: number, v: number): void {
    const hi = Math.floor(v / 0x1_0000_0000);
    this.set(enc, (v - hi * 0x1_0000_0000) | 0, hi | 0);
  }
  set64(enc: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.set(enc, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  }

  /** Writes the field values and launch state into the region in memory (VMCLEAR). */
  flush(mem: PhysicalMemory): void {
    mem.write32(this.addr + 8, this.launch);
    let at = this.addr + 16;
    for (const f of SUPPORTED_FIELDS) {
      const s = slotOf(f.encoding);
      mem.write32(at, this.lo[s]!);
      mem.write32(at + 4, this.hi[s]!);
      at += 8;
    }
  }

  /** Reads a VMCS from its region (VMPTRLD of a VMCS that is not active). */
  static fromRegion(mem: PhysicalMemory, addr: number): Vmcs {
    const v = new Vmcs(addr);
    v.launch = mem.read32(addr + 8) === LAUNCH_LAUNCHED ? LAUNCH_LAUNCHED : LAUNCH_CLEAR;
    let at = addr + 16;
    for (const f of SUPPORTED_FIELDS) {
      const s = slotOf(f.encoding);
      v.lo[s] = mem.read32(at);
      v.hi[s] = mem.read32(at + 4);
      at += 8;
    }
    return v;
  }
}

export { supportedSlot };
