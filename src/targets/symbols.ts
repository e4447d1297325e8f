// Merges the symbols and source lines of extra ELF files (launch attribute
// "symbols") into the image's own, so every lookup sees one sorted table.
// Backend-neutral: the KVM and GDB targets load symbols the same way.

import type { GuestSymbol, LineEntry, LoadedImage } from '../loader/types';

const byAddress = <T extends { address: bigint }>(a: T, b: T): number => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

export function mergeSymbols(image: LoadedImage, extra: Array<{ symbols: GuestSymbol[]; lines: LineEntry[]; warnings: string[] }>): LoadedImage {
  // A stable sort keeps each file's equal-address order (the loader puts the most specific symbol first)
  // and keeps every DWARF sequence's rows together as long as sequences of different files do not overlap.
  const symbols = [...image.symbols, ...extra.flatMap((e) => e.symbols)].sort(byAddress);
  const lines = [...image.lines, ...extra.flatMap((e) => e.lines)].sort(byAddress);
  const warnings = [...(image.warnings ?? []), ...extra.flatMap((e) => e.warnings)];
  return { ...image, symbols, lines, ...(warnings.length ? { warnings } : {}) };
}
