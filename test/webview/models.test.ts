// The panels' data models, in Node (they touch no DOM): the memory map's
// canonical folding, coalescing and lookups, the overview's log scale, and
// the timeline's lanes, filters and per-reason statistics.

import { describe, expect, it } from 'vitest';
import { MapModel } from '../../webviews/lib/memmap/model';
import { addressAt, foldCanonical, octaveWindow, overviewPos, overviewX } from '../../webviews/lib/memmap/space';
import { clampView, zoomView } from '../../webviews/lib/memmap/viewport';
import { TimelineModel } from '../../webviews/lib/timeline/model';
import type { MemoryRegion } from '../../src/targets/target';
import type { TraceRecord } from '../../src/common/trace';

const r = (start: string, end: string, perms = 'rw-s', pageSize = 4096, target?: string): MemoryRegion =>
  ({ start, end, perms, pageSize, ...(target ? { target } : {}) });

describe('memory map model', () => {
  it('folds the canonical halves onto one 256 TiB line', () => {
    expect(foldCanonical('0x1000', false)).toBe(0x1000);
    expect(foldCanonical('0xffff800000000000', false)).toBe(2 ** 47);
    expect(foldCanonical('0xFFFFFFFF80000000', false)).toBe(2 ** 48 - 2 ** 31);
    expect(foldCanonical('0x0000ffff80000000', false)).toBeUndefined(); // non-canonical
    expect(foldCanonical('0x800000000000', false)).toBeUndefined();
    expect(foldCanonical('0x800000000000', true)).toBe(2 ** 47);
    expect(foldCanonical('0x10000000000000000', true)).toBe(2 ** 48);
    const line = { domain: 2 ** 48, folded: true };
    expect(addressAt(line, 2 ** 48 - 2 ** 31)).toBe('0xffffffff80000000');
  });

  it('coalesces neighbours with the same attributes and finds ranges by position', () => {
    const m = new MapModel('gva', [
      r('0xffffffff80000000', '0xffffffff80200000', 'r-xs', 2 ** 21, '0x0'),
      r('0x1000', '0x2000', 'rw-u', 4096, '0x5000'),
      r('0x2000', '0x3000', 'rw-u', 4096, '0x9000'), // not physically contiguous: still one range in the picture
      r('0x3000', '0x4000', 'r--u'),
      r('0x123456789abcdef0', '0x123456789abcf000'), // non-canonical: skipped
    ]);
    expect(m.line).toEqual({ domain: 2 ** 48, folded: true });
    expect(m.skipped).toBe(1);
    expect(m.count).toBe(3);
    expect(m.merged[0]).toBe(2);
    expect(m.regions[m.first[0]!]!.target).toBe('0x5000');
    expect(m.rangeIn(0x2800, 0x2801)).toBe(0);
    expect(m.rangeIn(0x4000, 0x5000)).toBe(-1);
    expect(m.attrsOf(2).large).toBe(true);
    expect(m.attrsOf(2).cls).toBe('rx');
    expect(m.attrsOf(0).user).toBe(true);
    expect(m.rangesIn(0, 2 ** 47)).toEqual([0, 2]);
    expect(m.extent()).toEqual({ start: 0, span: 2 ** 48 });
  });

  it('keeps a 32-bit space plain unless the paging mode is 4-level', () => {
    expect(new MapModel('gva', [r('0x0', '0x100000000', 'rwxu')]).line).toEqual({ domain: 2 ** 32, folded: false });
    expect(new MapModel('gva', [r('0x0', '0x1000')], '4-level').line.folded).toBe(true);
    const gpa = new MapModel('gpa', [{ start: '0x0', end: '0x8000000', perms: 'rwx-', pageSize: 4096, kind: 'ram' },
      { start: '0xfee00000', end: '0xfee01000', perms: 'rw--', pageSize: 4096, kind: 'mmio' }]);
    expect(gpa.attrsOf(0).cls).toBe('ram');
    expect(gpa.attrsOf(1).cls).toBe('mmio');
    expect(gpa.extent()).toEqual({ start: 0, span: 2 ** 32 });
  });

  it('maps the overview both ways and zooms by powers of two down to a page', () => {
    const line = { domain: 2 ** 48, folded: true };
    for (const p of [0, 4096, 2 ** 20, 2 ** 40, 2 ** 47, 2 ** 48 - 2 ** 31, 2 ** 48 - 4096]) {
      expect(Math.abs(overviewPos(line, overviewX(line, p)) - p)).toBeLessThan(Math.max(1, p * 1e-9, (2 ** 48 - p) * 1e-9) + 1);
    }
    expect(overviewX(line, 2 ** 47)).toBeCloseTo(0.5);
    expect(octaveWindow(line, 0x100000)).toEqual({ start: 0, span: 0x200000 });
    expect(octaveWindow(line, 2 ** 48 - 2 ** 31)).toEqual({ start: 2 ** 48 - 2 ** 32, span: 2 ** 32 });
    let v = clampView(line, { start: 0, span: 2 ** 48 });
    for (let i = 0; i < 60; i++) v = zoomView(line, v, 0.5, 0x12345678);
    expect(v.span).toBe(4096);
    expect(v.start).toBeLessThanOrEqual(0x12345678);
    expect(v.start + v.span).toBeGreaterThan(0x12345678);
  });
});

describe('timeline model', () => {
  const base = { cpu: 0, rip: '0x1000' };
  const exit = (icount: number, reason: string, cpu = 0): TraceRecord =>
    ({ ...base, cpu, type: 'vmexit', icount, reason, reasonCode: reason === 'CPUID' ? 10 : 30, qualification: '0x0', guestRip: '0x2000' });
  const entry = (icount: number, cpu = 0): TraceRecord => ({ ...base, cpu, type: 'vmentry', icount, launch: false });

  it('pairs exits with the next entry on the same vCPU and counts per reason', () => {
    const m = new TimelineModel();
    m.add([exit(100, 'CPUID'), exit(105, 'IO_INSTRUCTION', 1), entry(130), entry(200, 1)]);
    m.add([exit(300, 'CPUID'), entry(310)]);
    expect(m.lanes.map((l) => l.cpu)).toEqual([0, 1]);
    const cpuid = m.stats().find((s) => s.label === 'CPUID')!;
    expect(cpuid).toEqual({ type: 'vmexit', label: 'CPUID', count: 2, handler: 40, paired: 2 });
    expect(m.stats().find((s) => s.label === 'IO_INSTRUCTION')!.handler).toBe(95);
    m.setFilter(new Set(['vmexit']), 'cpu');
    expect(m.visible.length).toBe(2);
    expect(m.minIcount).toBe(100);
    expect(m.maxIcount).toBe(310);
  });

  it('rebuilds when a vCPU\'s records arrive out of order', () => {
    const m = new TimelineModel();
    m.add([exit(500, 'CPUID')]);
    m.add([exit(100, 'CPUID')]);
    expect(m.lanes[0]!.icounts).toEqual([100, 500]);
  });
});
