// The EPT walk over tables built in guest-physical memory by hand.
import { describe, it, expect } from 'vitest';
import { PhysicalMemory } from '../../../src/engine/mmu/physmem';
import { eptWalk, decodeEptp, eptpProblem, eptViolationQualification, EPT_A, EPT_D } from '../../../src/engine/mmu/ept';

const PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000;
function setup() {
  const mem = new PhysicalMemory(4 * 1024 * 1024);
  const put = (a: number, lo: number, hi = 0) => { mem.write32(a, lo); mem.write32(a + 4, hi); };
  put(PML4, PDPT | 7);
  put(PDPT, PD | 7);
  put(PD + 0 * 8, PT | 7);                   // GPA 0-2M through a page table
  put(PD + 1 * 8, 0x200000 | 0x80 | (6 << 3) | 5); // GPA 2M-4M: 2-MiB page, R-X, WB
  put(PT + 1 * 8, 0x300000 | (6 << 3) | 3);  // GPA 0x1000 → HPA 0x300000 RW-
  put(PT + 2 * 8, 0x301000 | 4);             // GPA 0x2000: execute-only
  put(PT + 3 * 8, 0x302000 | 2);             // GPA 0x3000: write-only → misconfiguration
  put(PT + 4 * 8, 0x303000 | (2 << 3) | 1);  // GPA 0x4000: memory type 2 → misconfiguration
  const eptp = decodeEptp(PML4 | (3 << 3) | 6 | 0x40, 0);
  return { mem, eptp };
}
const R = { read: true, write: false, fetch: false }, W = { read: false, write: true, fetch: false }, X = { read: false, write: false, fetch: true };

describe('EPT walk', () => {
  it('translates 4K and 2M pages and ANDs permissions', () => {
    const { mem, eptp } = setup();
    const a = eptWalk(mem, eptp, 0x1234, R, false);
    expect(a).toMatchObject({ kind: 'ok', hpa: 0x300234, pageSize: 4096, allowed: 3, memoryType: 6 });
    expect(a.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    const b = eptWalk(mem, eptp, 0x2abcde, X, false);
    expect(b).toMatchObject({ kind: 'ok', hpa: 0x2abcde, pageSize: 0x200000, allowed: 5 });
    expect(b.levels).toHaveLength(3);
  });

  it('reports violations with what the walk allowed', () => {
    const { mem, eptp } = setup();
    const w = eptWalk(mem, eptp, 0x2abcde, W, false);
    expect(w.kind).toBe('violation');
    expect(w.allowed).toBe(5);
    expect(eptViolationQualification(W, w.allowed, true, true)).toBe(2 | (5 << 3) | (1 << 7) | (1 << 8));
    const np = eptWalk(mem, eptp, 0x5000, R, false);
    expect(np).toMatchObject({ kind: 'violation', allowed: 0 });
    expect(np.why).toMatch(/PTE not present/);
    expect(eptWalk(mem, eptp, 0x2000, R, false).kind).toBe('violation'); // execute-only: no reads
    expect(eptWalk(mem, eptp, 0x2000, X, false).kind).toBe('ok');
  });

  it('detects misconfigurations', () => {
    const { mem, eptp } = setup();
    expect(eptWalk(mem, eptp, 0x3000, W, false)).toMatchObject({ kind: 'misconfig' });
    expect(eptWalk(mem, eptp, 0x3000, W, false).why).toMatch(/writable but not readable/);
    expect(eptWalk(mem, eptp, 0x4000, R, false).why).toMatch(/memory type 2 is reserved/);
  });

  it('sets accessed and dirty flags only with side effects and A/D enabled', () => {
    const { mem, eptp } = setup();
    eptWalk(mem, eptp, 0x1000, R, false);
    expect(mem.read32(PT + 8) & EPT_A).toBe(0);
    eptWalk(mem, eptp, 0x1000, W, true);
    expect(mem.read32(PML4) & EPT_A).toBe(EPT_A);
    expect(mem.read32(PT + 8) & (EPT_A | EPT_D)).toBe(EPT_A | EPT_D);
  });

  it('validates EPTPs', () => {
    expect(eptpProblem(PML4 | (3 << 3) | 6, 0)).toBeUndefined();
    expect(eptpProblem(PML4 | (3 << 3) | 5, 0)).toMatch(/memory type 5/);
    expect(eptpProblem(PML4 | (4 << 3) | 6, 0)).toMatch(/page-walk length 5/);
  });
});
