// Segment descriptor cache layout. Access rights are held in the VMX
// "access rights" format (SDM vol. 3, "Guest Register State"): type 3:0,
// S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16, so the VMCS
// guest-state fields and the vCPU share one representation.

export const AR_TYPE = 0xf, AR_S = 1 << 4, AR_P = 1 << 7, AR_AVL = 1 << 12, AR_L = 1 << 13, AR_DB = 1 << 14,
  AR_G = 1 << 15, AR_UNUSABLE = 1 << 16;
export const arDpl = (ar: number): number => (ar >> 5) & 3;

/** Type bits for code/data segments (S = 1). */
export const TYPE_ACCESSED = 1, TYPE_WRITABLE = 2, TYPE_EXPAND_DOWN = 4, TYPE_CODE = 8,
  TYPE_READABLE = 2, TYPE_CONFORMING = 4;

/** System descriptor types (S = 0). */
export const SYS_LDT = 2, SYS_TSS16_AVAIL = 1, SYS_TSS16_BUSY = 3, SYS_CALLGATE16 = 4, SYS_TASKGATE = 5,
  SYS_INTGATE16 = 6, SYS_TRAPGATE16 = 7, SYS_TSS_AVAIL = 9, SYS_TSS_BUSY = 11, SYS_CALLGATE = 12,
  SYS_INTGATE = 14, SYS_TRAPGATE = 15;

/** Descriptor (lo, hi dwords of the 8-byte GDT/LDT entry) → access rights. */
export function arFromDescriptor(hi: number): number {
  return ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 12);
}
export function baseFromDescriptor(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function limitFromDescriptor(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & (1 << 23) ? ((raw << 12) | 0xfff) >>> 0 : raw;
}
/** Real-mode / VM86 data segment rights: present, writable data, accessed. */
export const AR_REAL_DATA = AR_P | AR_S | TYPE_WRITABLE | TYPE_ACCESSED;
export const AR_REAL_CODE = AR_P | AR_S | TYPE_CODE | TYPE_READABLE | TYPE_ACCESSED;
