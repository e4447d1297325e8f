// What the emulated CPU says about itself through CPUID, as data: vendor
// GenuineIntel (VMX is Intel's), family 6 model 6 stepping 3 as QEMU's qemu64,
// and only the features the engine implements. exec/cpuid.ts serves the table
// and fills in the per-vCPU fields (APIC IDs, topology, OSXSAVE, APIC enable).
//
// Choices:
// - Leaves above the maximum (basic or extended) return the highest basic
//   leaf, as Intel processors do (no hypervisor leaves: HYPERVISOR bit off).
// - Cache leaves (2, 4, 0x80000005/6) describe no caches; CLFLUSH line size
//   is 64 bytes. Leaf 0x1F is not exposed (QEMU only does so with dies > 1).
// - CPUID.80000001:EDX.SYSCALL reads 1 only while IA-32e mode is active (QEMU
//   TCG's rule for Intel vendors); its EAX is 0 as on Intel (QEMU: signature).
// - Unlisted (leaf, subleaf) pairs within range read as zeros.

/** CPUID.1:ECX.VMX, CR4.VMXE and IA32_FEATURE_CONTROL's VMX bit. The VMX engine turns this on. */
export const VMX_SUPPORTED = true;

/**
 * XSAVE (CPUID.1:ECX.XSAVE, CR4.OSXSAVE, XGETBV/XSETBV, leaf 0xD) with the x87
 * and SSE state components only; XSAVE/XRSTOR (standard form) are in
 * exec/fxsave.ts. XSAVEOPT/XSAVEC/XSAVES and XGETBV with ECX = 1 are not
 * advertised (leaf 0xD subleaf 1 is zero).
 */
export const XSAVE_SUPPORTED = true;

export const CPUID_VENDOR = 'GenuineIntel';
export const MAX_BASIC_LEAF = 0xd;
export const MAX_EXT_LEAF = 0x80000008;
export const BRAND_STRING = 'vmscope Virtual CPU';
/** Family 6, model 6, stepping 3 (QEMU's qemu64); also EDX after reset. */
export const CPU_SIGNATURE = 0x663;

// CPUID.1:EDX
export const F1D_FPU = 1 << 0, F1D_DE = 1 << 2, F1D_PSE = 1 << 3, F1D_TSC = 1 << 4, F1D_MSR = 1 << 5,
  F1D_PAE = 1 << 6, F1D_CX8 = 1 << 8, F1D_APIC = 1 << 9, F1D_SEP = 1 << 11, F1D_MTRR = 1 << 12,
  F1D_PGE = 1 << 13, F1D_CMOV = 1 << 15, F1D_PAT = 1 << 16, F1D_PSE36 = 1 << 17, F1D_CLFSH = 1 << 19,
  F1D_FXSR = 1 << 24, F1D_SSE = 1 << 25, F1D_SSE2 = 1 << 26, F1D_HTT = 1 << 28;
// CPUID.1:ECX
export const F1C_CX16 = 1 << 13; // CMPXCHG16B (exec/atomic.ts), as QEMU's qemu64 reports it
export const F1C_VMX = 1 << 5, F1C_PCID = 1 << 17, F1C_X2APIC = 1 << 21, F1C_XSAVE = 1 << 26,
  F1C_OSXSAVE = 1 << 27, F1C_HYPERVISOR = 1 << 31;
// CPUID.(7,0):EBX
export const F7B_SMEP = 1 << 7, F7B_SMAP = 1 << 20;
// CPUID.80000001:EDX / ECX
export const FXD_SYSCALL = 1 << 11, FXD_NX = 1 << 20, FXD_PDPE1GB = 1 << 26, FXD_RDTSCP = 1 << 27, FXD_LM = 1 << 29;
export const FXC_LAHF = 1 << 0;

export const LEAF1_EDX =
  F1D_FPU | F1D_DE | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE | F1D_CX8 | F1D_APIC | F1D_SEP | F1D_MTRR |
  F1D_PGE | F1D_CMOV | F1D_PAT | F1D_PSE36 | F1D_CLFSH |
  // FXSR, SSE and SSE2 assume the SSE family (exec/sse.ts) implements FXSAVE/FXRSTOR and SSE/SSE2.
  F1D_FXSR | F1D_SSE | F1D_SSE2;

export const LEAF1_ECX = F1C_CX16 | F1C_PCID | F1C_X2APIC | (VMX_SUPPORTED ? F1C_VMX : 0) | (XSAVE_SUPPORTED ? F1C_XSAVE : 0);

/** XCR0 bits XSETBV accepts: x87 (bit 0) and SSE (bit 1). */
export const XCR0_SUPPORTED = 3;
/** XSAVE area size for x87 + SSE: 512-byte legacy area + 64-byte header. */
export const XSAVE_AREA_SIZE = 576;

export interface CpuidEntry {
  leaf: number;
  /** Subleaf (ECX) for leaves that have them; undefined matches any. */
  subleaf?: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Four ASCII characters as a little-endian dword. */
function dword(s: string, at: number): number {
  let v = 0;
  for (let i = 3; i >= 0; i--) v = v * 256 + (s.charCodeAt(at + i) || 0);
  return v >>> 0;
}

function brandLeaves(): CpuidEntry[] {
  const s = BRAND_STRING.padEnd(48, '\0');
  const out: CpuidEntry[] = [];
  for (let i = 0; i < 3; i++) {
    const o = i * 16;
    out.push({ leaf: 0x80000002 + i, eax: dword(s, o), ebx: dword(s, o + 4), ecx: dword(s, o + 8), edx: dword(s, o + 12) });
  }
  return out;
}

export const CPUID_TABLE: readonly CpuidEntry[] = [
  { leaf: 0, eax: MAX_BASIC_LEAF, ebx: dword(CPUID_VENDOR, 0), edx: dword(CPUID_VENDOR, 4), ecx: dword(CPUID_VENDOR, 8) },
  // EBX: CLFLUSH line 8 × 8 bytes; APIC ID and logical count are per vCPU (cpuid.ts).
  { leaf: 1, eax: CPU_SIGNATURE, ebx: 8 << 8, ecx: LEAF1_ECX, edx: LEAF1_EDX },
  // One iteration, no cache/TLB descriptors.
  { leaf: 2, eax: 1, ebx: 0, ecx: 0, edx: 0 },
  // Leaf 6: ARAT (the local APIC timer keeps running in every state).
  { leaf: 6, eax: 1 << 2, ebx: 0, ecx: 0, edx: 0 },
  { leaf: 7, subleaf: 0, eax: 0, ebx: F7B_SMEP | F7B_SMAP, ecx: 0, edx: 0 },
  // Leaf 0xB is computed per vCPU (x2APIC topology).
  ...(XSAVE_SUPPORTED ? [
    { leaf: 0xd, subleaf: 0, eax: XCR0_SUPPORTED, ebx: XSAVE_AREA_SIZE, ecx: XSAVE_AREA_SIZE, edx: 0 },
  ] : []),
  { leaf: 0x80000000, eax: MAX_EXT_LEAF, ebx: 0, ecx: 0, edx: 0 },
  { leaf: 0x80000001, eax: 0, ebx: 0, ecx: FXC_LAHF, edx: FXD_SYSCALL | FXD_NX | FXD_PDPE1GB | FXD_RDTSCP | FXD_LM },
  ...brandLeaves(),
  // Physical address bits 40 (mmu/paging.ts MAXPHYADDR), linear 48.
  { leaf: 0x80000008, eax: 0x3028, ebx: 0, ecx: 0, edx: 0 },
];

/** The table entry for (leaf, subleaf), or undefined (reads as zeros). */
export function cpuidEntry(leaf: number, subleaf: number): CpuidEntry | undefined {
  for (const e of CPUID_TABLE) {
    if (e.leaf === leaf && (e.subleaf === undefined || e.subleaf === subleaf)) return e;
  }
  return undefined;
}
