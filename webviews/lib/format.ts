// Number and address formatting shared by the panels.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 4096 → "4 KiB", 3 * 2^30 → "3 GiB", 1536 → "1.5 KiB". */
export function formatSize(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '');
  return `${s} ${UNITS[u]}`;
}

/** "0xffff800000001000" → "0xffff_8000_0000_1000" (groups of four from the right). */
export function groupHex(hex: string): string {
  const digits = hex.replace(/^0x/i, '');
  const groups: string[] = [];
  for (let i = digits.length; i > 0; i -= 4) groups.unshift(digits.slice(Math.max(0, i - 4), i));
  return '0x' + groups.join('_');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '—';
}
