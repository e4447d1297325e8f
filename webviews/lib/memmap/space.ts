// Address spaces as a number line the map can draw. Guest-virtual addresses
// in 4-level paging are canonical: the lower half [0, 2^47) and the upper
// half [0xffff8000_00000000, 2^64). The map folds them into one line of
// 2^48 positions (256 TiB), the upper half right after the lower one, so
// every position is an exact double. 32-bit guests and physical spaces are
// plain lines (4 GiB, or up to 2^52 for guest-physical).

export const PAGE = 4096;
const TWO32 = 2 ** 32;
const TWO47 = 2 ** 47;
const TWO48 = 2 ** 48;
const MAX_PHYS = 2 ** 52;

export interface Line {
  /** Positions run over [0, domain). */
  domain: number;
  /** Whether the line is a folded canonical space (two halves). */
  folded: boolean;
}

/** The hex digits of "0x…" without leading zeros. */
function digits(hex: string): string {
  const d = hex.slice(2);
  return d.length > 1 && d[0] === '0' ? d.replace(/^0+(?=.)/, '') : d;
}

/** Whether a hex address lies above 4 GiB. */
export function above4G(hex: string): boolean {
  const d = digits(hex);
  return d.length > 9 || (d.length === 9 && parseInt(d, 16) > TWO32);
}

const isF = (c: number): boolean => c === 0x66 || c === 0x46;

/** Hex digits hex[from..to) as a number (at most 13 digits), NaN on a non-digit; no allocation. */
function hexDigits(hex: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = hex.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return NaN;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Position of a hex address on a folded 48-bit line, or undefined when it is
 * not canonical. `end` allows exclusive ends: 2^47 and 2^64. Called for
 * every region of a map (millions): the common shapes avoid allocating.
 */
export function foldCanonical(hex: string, end: boolean): number | undefined {
  if (hex.length <= 14) {
    const v = hexDigits(hex, 2, hex.length);
    return v < TWO47 || (end && v === TWO47) ? v : undefined;
  }
  if (hex.length === 18 && isF(hex.charCodeAt(2)) && isF(hex.charCodeAt(3)) && isF(hex.charCodeAt(4)) && isF(hex.charCodeAt(5))) {
    const low = hexDigits(hex, 6, 18);
    return low >= TWO47 ? low : undefined;
  }
  const d = digits(hex);
  if (d.length <= 12) return foldCanonical('0x' + d, end);
  if (d.length === 17) return end && /^10{16}$/.test(d) ? TWO48 : undefined;
  return undefined;
}

/** Position of a hex address on a plain line (below 2^52), or undefined. */
export function plainPosition(hex: string): number | undefined {
  if (hex.length <= 15) { const v = hexDigits(hex, 2, hex.length); return Number.isNaN(v) ? undefined : v; }
  const d = digits(hex);
  if (d.length > 13) return undefined;
  const v = parseInt(d, 16);
  return v <= MAX_PHYS ? v : undefined;
}

/** The hex address at a position (the inverse of foldCanonical / plainPosition). */
export function addressAt(line: Line, pos: number): string {
  const p = Math.max(0, Math.floor(pos));
  if (!line.folded || p < TWO47) return '0x' + p.toString(16);
  if (p >= TWO48) return '0x10000000000000000';
  return '0xffff' + p.toString(16).padStart(12, '0');
}

/** The line for a space, given the highest exclusive end seen (as a plain number, or Infinity when folded). */
export function lineFor(space: 'gva' | 'gpa', needsFold: boolean, maxEnd: number): Line {
  if (space === 'gva' && (needsFold || maxEnd > TWO32)) return { domain: TWO48, folded: true };
  let d = TWO32;
  while (d < maxEnd && d < MAX_PHYS) d *= 2;
  return { domain: d, folded: false };
}

// ---- the log-scale overview ----------------------------------------------------
//
// Each doubling of the address gets the same width, so a 1 MiB kernel image
// and a 128 TiB higher half are both visible. A folded line mirrors it: the
// lower half grows from the left edge, the upper half (by distance from the
// top of the address space) from the right edge.

const log2p = (x: number): number => Math.log2(1 + x / PAGE);

/** Fraction [0, 1] of the overview's width where a position lies. */
export function overviewX(line: Line, pos: number): number {
  if (!line.folded) return log2p(pos) / log2p(line.domain);
  const half = log2p(TWO47);
  if (pos <= TWO47) return 0.5 * (log2p(pos) / half);
  return 1 - 0.5 * (log2p(TWO48 - pos) / half);
}

/** The position at a fraction of the overview's width. */
export function overviewPos(line: Line, x: number): number {
  const f = Math.max(0, Math.min(1, x));
  if (!line.folded) return PAGE * (2 ** (f * log2p(line.domain)) - 1);
  const half = log2p(TWO47);
  if (f <= 0.5) return PAGE * (2 ** ((f / 0.5) * half) - 1);
  return TWO48 - PAGE * (2 ** (((1 - f) / 0.5) * half) - 1);
}

/**
 * The linear window an overview click leads to: [0, 2^k) with the smallest
 * 2^k above the position, mirrored ([2^48 - 2^k, 2^48)) in the upper half.
 */
export function octaveWindow(line: Line, pos: number): { start: number; span: number } {
  const fromTop = line.folded && pos >= TWO47;
  const d = fromTop ? TWO48 - pos : pos;
  const limit = line.folded ? TWO47 : line.domain;
  let span = PAGE;
  while (span <= d && span < limit) span *= 2;
  return { start: fromTop ? TWO48 - span : 0, span };
}
