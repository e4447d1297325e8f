// Data breakpoints (write watches) for the emulator, built on a hook the
// engine already has instead of a new one in the hot path.
//
// Physical memory calls onCodeWrite(page) before any write to a page flagged
// in codePages (that is how the decode cache drops self-modified code), and
// every guest write — instructions, exception frames, accessed/dirty bits —
// goes through PhysicalMemory. Flagging the watched pages as well routes
// their writes through the machine's onCodeWrite, which we wrap: a write to a
// watched page asks the machine to pause; invalidateCodePage also ends the
// current block, so the vCPU stops right after the writing instruction. The
// target then compares the watched bytes with their snapshot: changed → a
// data-breakpoint stop; unchanged (another address on the page, or the same
// value) → it runs on transparently. That is GDB's `watch` semantics: stop
// when the value changes.
//
// A watch is on the physical bytes the address mapped to when it was set
// (a later change of the page tables does not move it).

import type { Machine } from '../engine/machine';
import type { DataWatch, DataWatchResult } from './target';

interface Watch {
  spec: DataWatch;
  /** Physical address of each watched byte. */
  pas: number[];
  snapshot: Uint8Array;
}

export interface WatchHit { id: string; cpu: number; address: bigint; before: Uint8Array; after: Uint8Array }

/** Largest range one watch may cover (the comparison runs on every write to its pages). */
export const MAX_WATCH_BYTES = 4096;

export class WatchSet {
  private watches: Watch[] = [];
  private readonly pages = new Set<number>();
  private suspended = 0;
  private hit = false;
  private icountsAtHit: number[] = [];

  constructor(private readonly machine: Machine) {
    const mem = machine.mem;
    const inner = mem.onCodeWrite;
    mem.onCodeWrite = (page, pa, len) => {
      inner(page, pa, len);
      if (!this.pages.has(page)) return;
      mem.codePages[page] = 1; // invalidateCodePage cleared it: stay armed
      if (this.suspended > 0) return;
      if (!this.hit) {
        this.hit = true;
        this.icountsAtHit = machine.cpus.map((c) => c.icount);
      }
      machine.pause();
    };
  }

  get size(): number { return this.watches.length; }
  /** A watched page was written since the last check. */
  get pending(): boolean { return this.hit; }

  /** Replaces the watches. `locate` gives the physical address of a guest virtual one (undefined: unmapped). */
  set(list: DataWatch[], locate: (gva: bigint) => number | undefined): DataWatchResult[] {
    for (const p of this.pages) this.machine.mem.codePages[p] = 0;
    this.pages.clear();
    this.watches = [];
    const results: DataWatchResult[] = [];
    for (const spec of list) {
      if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > MAX_WATCH_BYTES) {
        results.push({ id: spec.id, verified: false, message: `a watch covers 1 to ${MAX_WATCH_BYTES} bytes, not ${spec.size}` });
        continue;
      }
      const pas: number[] = [];
      let bad: string | undefined;
      for (let i = 0; i < spec.size && !bad; i++) {
        const pa = locate(spec.address + BigInt(i));
        if (pa === undefined) bad = `0x${(spec.address + BigInt(i)).toString(16)} is not mapped`;
        else if (pa >= this.machine.mem.size || !this.machine.mem.isRam(pa)) bad = `0x${(spec.address + BigInt(i)).toString(16)} is not RAM`;
        else pas.push(pa);
      }
      if (bad) { results.push({ id: spec.id, verified: false, message: bad }); continue; }
      const w: Watch = { spec, pas, snapshot: Uint8Array.from(pas, (pa) => this.machine.mem.bytes[pa]!) };
      this.watches.push(w);
      for (const pa of pas) this.pages.add(Math.floor(pa / 4096));
      results.push({ id: spec.id, verified: true });
    }
    this.arm();
    return results;
  }

  /** Re-flags the watched pages (before each run: a code-cache flush may have cleared them). */
  arm(): void {
    for (const p of this.pages) if (p < this.machine.mem.codePages.length) this.machine.mem.codePages[p] = 1;
  }

  /** Runs a debugger write without reporting it, and takes it as the new baseline. */
  quietly<T>(f: () => T): T {
    this.suspended++;
    try { return f(); } finally {
      this.suspended--;
      this.resnapshot();
    }
  }

  resnapshot(): void {
    for (const w of this.watches) for (let i = 0; i < w.pas.length; i++) w.snapshot[i] = this.machine.mem.bytes[w.pas[i]!]!;
    this.hit = false;
  }

  /** After the machine returned: whether a watched value changed (and which vCPU wrote it). Re-takes the snapshots. */
  check(): WatchHit | undefined {
    if (!this.hit) return undefined;
    this.hit = false;
    let cpu = this.machine.cpus.findIndex((c, i) => c.icount !== this.icountsAtHit[i]);
    if (cpu < 0) cpu = 0;
    let found: WatchHit | undefined;
    for (const w of this.watches) {
      const now = Uint8Array.from(w.pas, (pa) => this.machine.mem.bytes[pa]!);
      if (!found && now.some((b, i) => b !== w.snapshot[i])) {
        found = { id: w.spec.id, cpu, address: w.spec.address, before: w.snapshot.slice(), after: now };
      }
      w.snapshot.set(now);
    }
    return found;
  }
}
