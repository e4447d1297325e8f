// The adapter's memory of trace records: a bounded ring buffer (the
// vmscope/trace request and the Debug Console `trace` command read it), the
// pending batch for the vmscope/trace event (sent at most every 100 ms and at
// each stop, never per record), and VM-exit statistics (count per reason, and
// time in the VMM measured as instructions from the exit to the next entry on
// that vCPU).
//
// Records are numbered from 0 in arrival order; `seq` survives the ring's
// overwriting so a client can page with {from, count}.

import type { TraceRecord, TraceType, VmExitRecord } from '../common/trace';

export const RING_CAPACITY = 100_000;
/** Most records one vmscope/trace event carries; more in one interval are counted as dropped. */
export const BATCH_LIMIT = 2_000;

export interface ExitStat { reason: string; reasonCode: number; count: number; vmmInstructions: number }

export class TraceBuffer {
  private readonly ring: (TraceRecord | undefined)[];
  private next = 0; // seq of the next record
  private batch: TraceRecord[] = [];
  private batchDropped = 0;
  private readonly exits = new Map<number, ExitStat>();
  /** Per vCPU: the last VM exit waiting for its VM entry. */
  private readonly openExit = new Map<number, { code: number; icount: number }>();
  /** Per vCPU: its last VM exit (the "Last VM exit" scope). */
  private readonly lastExits = new Map<number, VmExitRecord>();

  constructor(private readonly capacity = RING_CAPACITY) {
    this.ring = new Array<TraceRecord | undefined>(capacity);
  }

  get total(): number { return this.next; }
  get first(): number { return Math.max(0, this.next - this.capacity); }

  push(r: TraceRecord): void {
    this.ring[this.next % this.capacity] = r;
    this.next++;
    if (this.batch.length < BATCH_LIMIT) this.batch.push(r); else this.batchDropped++;
    if (r.type === 'vmexit') {
      let s = this.exits.get(r.reasonCode);
      if (!s) { s = { reason: r.reason, reasonCode: r.reasonCode, count: 0, vmmInstructions: 0 }; this.exits.set(r.reasonCode, s); }
      s.count++;
      this.lastExits.set(r.cpu, r);
      this.openExit.set(r.cpu, { code: r.reasonCode, icount: r.icount });
    } else if (r.type === 'vmentry' || r.type === 'vmentry-failure') {
      const open = this.openExit.get(r.cpu);
      if (open) {
        const s = this.exits.get(open.code);
        if (s) s.vmmInstructions += Math.max(0, r.icount - open.icount);
        this.openExit.delete(r.cpu);
      }
    }
  }

  /** Records with seq in [from, from+count) whose type is in `types` (all when absent), oldest first. */
  query(from: number | undefined, count: number, types?: ReadonlySet<TraceType>): { from: number; next: number; records: TraceRecord[] } {
    const start = Math.max(this.first, from ?? Math.max(this.first, this.next - count));
    const records: TraceRecord[] = [];
    let seq = start;
    for (; seq < this.next && records.length < count; seq++) {
      const r = this.ring[seq % this.capacity]!;
      if (!types || types.has(r.type)) records.push(r);
    }
    return { from: start, next: seq, records };
  }

  /** The records of the last `n` (for the Debug Console). */
  last(n: number): TraceRecord[] {
    return this.query(Math.max(this.first, this.next - n), n).records;
  }

  /** Takes the pending batch for the vmscope/trace event (undefined when empty). */
  takeBatch(): { records: TraceRecord[]; dropped: number } | undefined {
    if (this.batch.length === 0 && this.batchDropped === 0) return undefined;
    const out = { records: this.batch, dropped: this.batchDropped };
    this.batch = [];
    this.batchDropped = 0;
    return out;
  }

  exitStats(): { total: number; reasons: ExitStat[] } {
    const reasons = [...this.exits.values()].sort((a, b) => b.count - a.count);
    return { total: reasons.reduce((n, s) => n + s.count, 0), reasons };
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.batch = [];
    this.batchDropped = 0;
    this.exits.clear();
    this.openExit.clear();
    this.lastExits.clear();
  }

  /** The last VM exit of a vCPU, if it had one. */
  lastExit(cpu: number): VmExitRecord | undefined { return this.lastExits.get(cpu); }
}
