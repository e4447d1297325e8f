// Data breakpoints for the emulator: write watches (GDB `watch`), read
// watches (`rwatch`) and access watches (`awatch`).
//
// Writes — built on a hook the engine already has instead of a new one in the
// hot path. Physical memory calls onCodeWrite(page) before any write to a page
// flagged in codePages (that is how the decode cache drops self-modified
// code), and every guest write — instructions, exception frames,
// accessed/dirty bits — goes through PhysicalMemory. Flagging the watched
// pages as well routes their writes through the machine's onCodeWrite, which
// we wrap: a write to a watched page asks the machine to pause;
// invalidateCodePage also ends the current block, so the vCPU stops right
// after the writing instruction. The target then compares the watched bytes
// with their snapshot: changed → a data-breakpoint stop; unchanged (another
// address on the page, or the same value) → it runs on transparently. That is
// GDB's `watch` semantics: stop when the value changes.
//
// Reads and accesses — the vCPUs keep pages holding a read/access watch out
// of their TLB (cpu.watchPhysPages), so every data access to them goes
// through tlbMiss, which calls cpu.onWatchedAccess(la, pa, write) before the
// access. A hit ends the block and pauses the machine, so the vCPU stops
// right after the accessing instruction. Documented approximations:
// - tlbMiss does not know the access size: an access is taken to hit when it
//   starts within [byte-7, byte] of a watched byte (accesses are at most 8
//   bytes per translation; wider ones are split). A 1-byte read just below a
//   watch can therefore report a hit.
// - A read-modify-write read and a plain store both translate for writing.
//   As GDB does on x86 (whose debug registers cannot watch reads only), a
//   read watch reports a write-intent access only when the value is
//   unchanged afterwards; a changed value counts as a write. Access watches
//   report both (a change as a write, otherwise as a read).
// - Implicit accesses that bypass the linear path (page-walk reads of paging
//   structures, device DMA reads) are not seen; DMA writes are (onCodeWrite).
//
// A watch is on the physical bytes the address mapped to when it was set
// (a later change of the page tables does not move it).

import type { Machine } from '../engine/machine';
import type { DataWatch, DataWatchResult } from './target';

/** What a watch stops on (DAP accessType). */
export type WatchAccess = 'read' | 'write' | 'readWrite';
/** A watch as the target gets it; `access` is wider than DataWatch's until target.ts carries read watches. */
export type AnyDataWatch = Omit<DataWatch, 'access'> & { access: WatchAccess | DataWatch['access'] };

interface Watch {
  spec: AnyDataWatch;
  access: WatchAccess;
  /** Physical address of each watched byte. */
  pas: number[];
  snapshot: Uint8Array;
  /** Accesses seen since the last check: a plain read, and a translation for writing (store or RMW). */
  sawRead: boolean;
  sawWrite: boolean;
}

export interface WatchHit {
  id: string; cpu: number; address: bigint; before: Uint8Array; after: Uint8Array;
  /** What the instruction did to the watched bytes. */
  access: 'read' | 'write';
  watch: WatchAccess;
  description: string;
}

/** Largest range one watch may cover (the comparison runs on every write to its pages). */
export const MAX_WATCH_BYTES = 4096;

const hex = (b: Uint8Array): string => '0x' + [...b].reverse().map((x) => x.toString(16).padStart(2, '0')).join('');

export class WatchSet {
  private watches: Watch[] = [];
  private readonly pages = new Set<number>();
  /** Pages with a read or access watch (kept out of the TLBs). */
  private readonly readPages = new Set<number>();
  /** Physical byte → the read/access watches covering it. */
  private readonly readBytes = new Map<number, Watch[]>();
  private suspended = 0;
  private hit = false;
  private icountsAtHit: number[] = [];
  private hitCpu = -1;

  constructor(private readonly machine: Machine) {
    const mem = machine.mem;
    const inner = mem.onCodeWrite;
    mem.onCodeWrite = (page, pa, len) => {
      inner(page, pa, len);
      if (!this.pages.has(page)) return;
      mem.codePages[page] = 1; // invalidateCodePage cleared it: stay armed
      if (this.suspended > 0) return;
      this.request(-1);
    };
  }

  get size(): number { return this.watches.length; }
  /** A watched page was written (or a watched byte accessed) since the last check. */
  get pending(): boolean { return this.hit; }

  private request(cpu: number): void {
    if (!this.hit) {
      this.hit = true;
      this.icountsAtHit = this.machine.cpus.map((c) => c.icount);
      this.hitCpu = cpu;
    }
    this.machine.pause();
  }

  /** From a vCPU's tlbMiss: a data access starting at physical `pa` on a page with a read/access watch. */
  private accessed(cpu: number, pa: number, write: boolean): void {
    if (this.suspended > 0) return;
    const room = 4096 - (pa % 4096);
    let any = false;
    for (let k = 0; k < 8 && k < room; k++) {
      const ws = this.readBytes.get(pa + k);
      if (!ws) continue;
      for (const w of ws) { if (write) w.sawWrite = true; else w.sawRead = true; }
      any = true;
    }
    if (!any) return;
    this.machine.cpus[cpu]!.exitBlock = true; // stop after this instruction, not at the block's end
    this.request(cpu);
  }

  /** Replaces the watches. `locate` gives the physical address of a guest virtual one (undefined: unmapped). */
  set(list: readonly AnyDataWatch[], locate: (gva: bigint) => number | undefined): DataWatchResult[] {
    for (const p of this.pages) this.machine.mem.codePages[p] = 0;
    this.pages.clear();
    this.readPages.clear();
    this.readBytes.clear();
    this.watches = [];
    const results: DataWatchResult[] = [];
    for (const spec of list) {
      const access = spec.access as WatchAccess;
      if (access !== 'read' && access !== 'write' && access !== 'readWrite') {
        results.push({ id: spec.id, verified: false, message: `unknown access type ${JSON.stringify(spec.access)}` });
        continue;
      }
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
      const w: Watch = { spec, access, pas, snapshot: Uint8Array.from(pas, (pa) => this.machine.mem.bytes[pa]!), sawRead: false, sawWrite: false };
      this.watches.push(w);
      for (const pa of pas) {
        const page = Math.floor(pa / 4096);
        this.pages.add(page);
        if (access === 'write') continue;
        this.readPages.add(page);
        const ws = this.readBytes.get(pa);
        if (ws) ws.push(w); else this.readBytes.set(pa, [w]);
      }
      results.push({ id: spec.id, verified: true });
    }
    this.arm();
    // Pages entering or leaving the watched set must not keep (or lack) TLB entries.
    for (const c of this.machine.cpus) c.flushTlb(true);
    return results;
  }

  /** Re-flags the watched pages (before each run: a code-cache flush may have cleared them) and hooks the vCPUs. */
  arm(): void {
    for (const p of this.pages) if (p < this.machine.mem.codePages.length) this.machine.mem.codePages[p] = 1;
    const reads = this.readPages.size > 0;
    this.machine.cpus.forEach((c, i) => {
      if (!reads) { c.watchPhysPages = undefined; c.onWatchedAccess = undefined; return; }
      if (c.watchPhysPages !== this.readPages) { c.watchPhysPages = this.readPages; c.flushTlb(true); }
      c.onWatchedAccess = (_la, pa, write) => this.accessed(i, pa, write);
    });
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
    for (const w of this.watches) {
      for (let i = 0; i < w.pas.length; i++) w.snapshot[i] = this.machine.mem.bytes[w.pas[i]!]!;
      w.sawRead = w.sawWrite = false;
    }
    this.hit = false;
  }

  /** After the machine returned: whether a watch fired (and which vCPU did it). Re-takes the snapshots. */
  check(): WatchHit | undefined {
    if (!this.hit) return undefined;
    this.hit = false;
    let cpu = this.hitCpu >= 0 ? this.hitCpu : this.machine.cpus.findIndex((c, i) => c.icount !== this.icountsAtHit[i]);
    if (cpu < 0) cpu = 0;
    let found: WatchHit | undefined;
    for (const w of this.watches) {
      const now = Uint8Array.from(w.pas, (pa) => this.machine.mem.bytes[pa]!);
      const changed = now.some((b, i) => b !== w.snapshot[i]);
      // See the header: a write-intent access with an unchanged value counts as a read (GDB's rule on x86).
      const read = w.sawRead || (w.sawWrite && !changed);
      const access: 'read' | 'write' | undefined =
        changed && w.access !== 'read' ? 'write' : read && w.access !== 'write' ? 'read' : undefined;
      if (!found && access) {
        const at = `0x${w.spec.address.toString(16)}`;
        // The stop's wording names the watch kind when it is not a plain write watch.
        const kind = w.access === 'write' ? '' : ` [${w.access === 'read' ? 'read' : 'access'} watch]`;
        const description = access === 'write'
          ? (kind ? `write to ${at}: changed from ${hex(w.snapshot)} to ${hex(now)}${kind}` : `${at} changed from ${hex(w.snapshot)} to ${hex(now)}`)
          : `read of ${at} (value ${hex(now)})${kind}`;
        found = { id: w.spec.id, cpu, address: w.spec.address, before: w.snapshot.slice(), after: now, access, watch: w.access, description };
      }
      w.snapshot.set(now);
      w.sawRead = w.sawWrite = false;
    }
    return found;
  }
}
