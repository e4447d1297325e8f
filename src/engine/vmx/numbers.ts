// 64-bit values on the VMX paths: the engine keeps addresses and RIP as
// plain numbers (signed canonical in 64-bit mode, 48-bit linear form for the
// TLB); VMCS fields are int32 lo/hi pairs. These convert between them
// without BigInt (exact for |v| < 2^53, which covers every canonical address).

const TWO32 = 0x1_0000_0000;
const TWO48 = 2 ** 48;

export function hiOf(v: number): number { return Math.floor(v / TWO32) | 0; }
export function loOf(v: number): number { return (v - Math.floor(v / TWO32) * TWO32) | 0; }

/** Signed number of a (lo, hi) pair. */
export function pairSigned(lo: number, hi: number): number { return (hi | 0) * TWO32 + (lo >>> 0); }
/** Unsigned number of a (lo, hi) pair (exact below 2^53). */
export function pairUnsigned(lo: number, hi: number): number { return (hi >>> 0) * TWO32 + (lo >>> 0); }

/** 48-bit linear form → signed canonical number. */
export function linearToSigned(la: number): number { return la >= 2 ** 47 && la < TWO48 ? la - TWO48 : la; }
/** Signed canonical (or unsigned 32-bit) number → 48-bit linear form. */
export function signedToLinear(v: number): number { return v < 0 ? v + TWO48 : v % TWO48; }

/** Bits 63:48 of a pair are the sign extension of bit 47. */
export function isCanonicalPair(hi: number): boolean { return (hi >> 15) === (hi >> 31); }

/** Unsigned 64-bit bigint of a signed number (for trace records). */
export function u64(v: number): bigint { return BigInt.asUintN(64, BigInt(v)); }
export function u64Pair(lo: number, hi: number): bigint { return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0); }

/** Physical address bits beyond MAXPHYADDR (40) set in a (lo, hi) pair. */
export function beyondPhys(hi: number): boolean { return (hi & ~0xff) !== 0; }
