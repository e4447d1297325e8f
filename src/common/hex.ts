// Hex formatting of 32- and 64-bit values held as (lo, hi) int32 halves, the
// engine's representation of 64-bit quantities. Never goes through a JS number
// wider than 53 bits.

export function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

export function hex64(lo: number, hi: number): string {
  hi >>>= 0;
  if (hi === 0) return '0x' + (lo >>> 0).toString(16);
  return '0x' + hi.toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
}

/** Zero-padded fixed-width hex without prefix, for tables. */
export function hex64Padded(lo: number, hi: number, digits = 16): string {
  const s = (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
  return s.slice(16 - digits);
}

/** A non-negative integer below 2^53 (e.g. a physical or 48-bit linear address). */
export function hexNum(v: number): string {
  return '0x' + v.toString(16);
}

export function bigToHex(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16);
}

/** Parses "0x1f", "1f" (hex only when prefixed), decimal, or a bigint-able string into a bigint. */
export function parseU64(s: string): bigint | undefined {
  const t = s.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) return undefined;
  const v = BigInt(t);
  return v >= 0n && v < 1n << 64n ? v : undefined;
}
