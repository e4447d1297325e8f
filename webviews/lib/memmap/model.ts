// The memory map as the picture needs it: the adapter's regions, sorted and
// coalesced into ranges (neighbours with the same permissions, page size,
// memory type and kind become one range), held in typed arrays so millions
// of 4 KiB mappings cost a few bytes each and any position is found by
// binary search.

import type { MemoryRegion } from '../../../src/targets/target';
import type { MapSpace } from '../../../src/common/messages';
import { above4G, foldCanonical, lineFor, plainPosition, type Line } from './space';

/** Colour classes of the legend (see media/memory-map.css and palette.ts). */
export type ColourClass = 'r' | 'rw' | 'rx' | 'rwx' | 'ram' | 'mmio' | 'rom' | 'none';

export interface RangeAttrs {
  cls: ColourClass;
  perms: string;
  pageSize: number;
  memoryType?: string;
  kind?: string;
  name?: string;
  /** Reachable from ring 3 (the "u" of "rwxu"). */
  user: boolean;
  /** Mapped with pages larger than 4 KiB. */
  large: boolean;
  /** No target (a physical layout rather than a translation). */
  physical: boolean;
}

function sameAttrs(a: RangeAttrs, r: MemoryRegion): boolean {
  return a.perms === r.perms && a.pageSize === r.pageSize && a.memoryType === r.memoryType && a.kind === r.kind &&
    a.name === r.name && a.physical === (r.target === undefined);
}

/** Physical layout (no targets): by kind; otherwise by permissions. */
export function colourClass(space: MapSpace, r: MemoryRegion): ColourClass {
  if (r.kind === 'mmio') return 'mmio';
  if (r.kind === 'rom') return 'rom';
  if (space === 'gpa' && r.target === undefined) return 'ram';
  const p = r.perms;
  const read = p[0] === 'r', write = p[1] === 'w', exec = p[2] === 'x';
  if (write && exec) return 'rwx';
  if (exec) return 'rx';
  if (write) return 'rw';
  return read ? 'r' : 'none';
}

export class MapModel {
  /** Range i covers positions [starts[i], ends[i]). */
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  /** Index into attrs. */
  readonly attr: Uint32Array;
  /** First source region of the range and how many were merged into it. */
  readonly first: Uint32Array;
  readonly merged: Uint32Array;
  readonly attrs: RangeAttrs[] = [];
  readonly count: number;
  readonly line: Line;
  /** Regions that could not be placed (non-canonical or beyond 2^52). */
  readonly skipped: number;

  /** `pagingMode` '4-level' makes a gva map the whole 256 TiB canonical space even when only low addresses are mapped. */
  constructor(readonly space: MapSpace, readonly regions: readonly MemoryRegion[], pagingMode?: string) {
    const n = regions.length;
    const s = new Float64Array(n), e = new Float64Array(n), a = new Uint32Array(n);
    const keys = new Map<string, number>();
    let lastAttr = -1;
    // Fold the canonical halves when some end lies above 4 GiB (else the guest is 32-bit).
    const fold = space === 'gva' && (pagingMode === '4-level' || regions.some((r) => above4G(r.end)));
    let maxEnd = 0;
    let placed = 0;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const r = regions[i]!;
      const st = fold ? foldCanonical(r.start, false) : plainPosition(r.start);
      const en = fold ? foldCanonical(r.end, true) : plainPosition(r.end);
      if (st === undefined || en === undefined || en <= st) continue;
      let k = lastAttr >= 0 && sameAttrs(this.attrs[lastAttr]!, r) ? lastAttr
        : this.attrs.length <= 16 ? this.attrs.findIndex((x) => sameAttrs(x, r)) : -1;
      if (k < 0) {
        // Many distinct attribute sets: fall back to a keyed lookup.
        const key = `${r.perms}|${r.pageSize}|${r.memoryType ?? ''}|${r.kind ?? ''}|${r.name ?? ''}|${r.target === undefined}`;
        k = keys.get(key) ?? -1;
        if (k < 0) {
          k = this.attrs.length;
          keys.set(key, k);
          this.attrs.push({
            cls: colourClass(space, r), perms: r.perms, pageSize: r.pageSize, memoryType: r.memoryType, kind: r.kind, name: r.name,
            user: r.perms[3] === 'u', large: r.pageSize > 4096, physical: r.target === undefined,
          });
        }
      }
      lastAttr = k;
      s[placed] = st; e[placed] = en; a[placed] = k;
      order[placed] = i;
      if (en > maxEnd) maxEnd = en;
      placed++;
    }
    this.skipped = n - placed;
    this.line = lineFor(space, fold, maxEnd);

    // Sort by start when the adapter did not (it normally does: check first).
    let sorted = true;
    for (let i = 1; i < placed && sorted; i++) if (s[i]! < s[i - 1]!) sorted = false;
    const idx = sorted ? undefined : Uint32Array.from({ length: placed }, (_, i) => i).sort((x, y) => s[x]! - s[y]!);

    // Coalesce neighbours with the same attributes.
    const cs = new Float64Array(placed), ce = new Float64Array(placed), ca = new Uint32Array(placed);
    const cf = new Uint32Array(placed), cm = new Uint32Array(placed);
    let m = 0;
    for (let k = 0; k < placed; k++) {
      const i = idx ? idx[k]! : k;
      if (m > 0 && ce[m - 1] === s[i] && ca[m - 1] === a[i]) {
        ce[m - 1] = e[i]!;
        cm[m - 1]!++;
        continue;
      }
      cs[m] = s[i]!; ce[m] = e[i]!; ca[m] = a[i]!; cf[m] = order[i]!; cm[m] = 1;
      m++;
    }
    this.starts = cs.subarray(0, m);
    this.ends = ce.subarray(0, m);
    this.attr = ca.subarray(0, m);
    this.first = cf.subarray(0, m);
    this.merged = cm.subarray(0, m);
    this.count = m;
  }

  /** Index of the first range that ends after `pos` (count when none). */
  firstEndingAfter(pos: number): number {
    let lo = 0, hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > pos) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the first range that starts at or after `pos`. */
  firstStartingAt(pos: number): number {
    let lo = 0, hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! >= pos) hi = mid; else lo = mid + 1;
    }
    return lo;
  }

  /** The first range overlapping [from, to), or -1. */
  rangeIn(from: number, to: number): number {
    const i = this.firstEndingAfter(from);
    return i < this.count && this.starts[i]! < to ? i : -1;
  }

  /** Ranges overlapping [from, to) as an index interval [lo, hi). */
  rangesIn(from: number, to: number): [number, number] {
    return [this.firstEndingAfter(from), this.firstStartingAt(to)];
  }

  attrsOf(i: number): RangeAttrs {
    return this.attrs[this.attr[i]!]!;
  }

  /** The smallest power-of-two window (aligned) holding every range, for "fit". */
  extent(): { start: number; span: number } {
    if (this.count === 0) return { start: 0, span: this.line.domain };
    const lo = this.starts[0]!, hi = this.ends[this.count - 1]!;
    let span = 4096;
    while (span < this.line.domain && Math.floor(lo / span) !== Math.floor((hi - 1) / span)) span *= 2;
    return { start: Math.floor(lo / span) * span, span };
  }

  /** Classes present, for the legend. */
  classes(): Set<ColourClass> {
    return new Set(this.attrs.map((a) => a.cls));
  }
}
