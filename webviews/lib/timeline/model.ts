// The exit timeline's data: every trace record received, the filters (by
// record type, and by reason text), one lane per vCPU of the records that
// pass, and per-reason statistics — count, share, and for VM exits the
// instructions spent in the handler (icount from the exit to the next VM
// entry on the same vCPU).

import type { TraceRecord, TraceType } from '../../../src/common/trace';

export const TYPES: readonly TraceType[] = ['vmexit', 'vmentry', 'vmentry-failure', 'ring', 'mode', 'exception', 'output'];

/** What a record is about, in a few words: the exit reason, the exception name, "3→0 syscall". */
export function labelOf(r: TraceRecord): string {
  switch (r.type) {
    case 'vmexit': return r.reason;
    case 'vmentry': return r.launch ? 'VMLAUNCH' : 'VMRESUME';
    case 'vmentry-failure': return r.field || r.check;
    case 'ring': return `${r.from}→${r.to} ${r.via}`;
    case 'mode': return `${r.from}→${r.to}`;
    case 'exception': return r.name;
    case 'output': return 'serial output';
  }
}

export interface Lane {
  cpu: number;
  /** icount of each record in the lane, ascending. */
  icounts: number[];
  /** Index into the model's records. */
  records: number[];
}

export interface ReasonStats {
  type: TraceType;
  label: string;
  count: number;
  /** Instructions from each VM exit to the next VM entry on its vCPU, summed (exits only). */
  handler?: number;
  /** How many of the exits had a following entry (the mean divides by this). */
  paired?: number;
}

export interface Filter { types: Set<TraceType>; reasons: string[] }

export class TimelineModel {
  readonly records: TraceRecord[] = [];
  /** For each vmexit record: icount to the next vmentry on its vCPU (-1 when none yet). */
  private handler: number[] = [];
  private openExit = new Map<number, number>();
  filter: Filter = { types: new Set(TYPES.filter((t) => t !== 'output')), reasons: [] };
  lanes: Lane[] = [];
  /** Indices of the records that pass the filter, in arrival order. */
  visible: number[] = [];
  minIcount = 0;
  maxIcount = 1;

  reset(): void {
    this.records.length = 0;
    this.handler = [];
    this.openExit.clear();
    this.lanes = [];
    this.visible = [];
  }

  /** Appends records; lanes and the visible list grow in place (a full rebuild only when a vCPU's icounts go back). */
  add(records: readonly TraceRecord[]): void {
    let rebuild = this.records.length === 0;
    for (const r of records) {
      const i = this.records.length;
      this.records.push(r);
      this.handler.push(-1);
      if (r.type === 'vmexit') this.openExit.set(r.cpu, i);
      else if (r.type === 'vmentry' || r.type === 'vmentry-failure') {
        const e = this.openExit.get(r.cpu);
        if (e !== undefined) { this.handler[e] = r.icount - this.records[e]!.icount; this.openExit.delete(r.cpu); }
      }
      if (rebuild) continue;
      const lane = this.lanes.find((l) => l.cpu === r.cpu);
      if (!lane) { rebuild = true; continue; }
      if (r.icount < this.minIcount) this.minIcount = r.icount;
      if (r.icount > this.maxIcount) this.maxIcount = r.icount;
      if (!this.passes(r)) continue;
      if (lane.icounts.length && r.icount < lane.icounts[lane.icounts.length - 1]!) { rebuild = true; continue; }
      lane.icounts.push(r.icount);
      lane.records.push(i);
      this.visible.push(i);
    }
    if (rebuild) this.apply();
  }

  handlerOf(i: number): number | undefined {
    const h = this.handler[i];
    return h !== undefined && h >= 0 ? h : undefined;
  }

  passes(r: TraceRecord): boolean {
    if (!this.filter.types.has(r.type)) return false;
    if (this.filter.reasons.length === 0) return true;
    const l = labelOf(r).toLowerCase();
    return this.filter.reasons.some((x) => l.includes(x));
  }

  setFilter(types: Set<TraceType>, reasonText: string): void {
    this.filter = { types, reasons: reasonText.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) };
    this.apply();
  }

  /** Rebuilds lanes and the visible list from the records and the filter. */
  apply(): void {
    const byCpu = new Map<number, Lane>();
    this.visible = [];
    let min = Infinity, max = -Infinity;
    this.records.forEach((r, i) => {
      if (r.icount < min) min = r.icount;
      if (r.icount > max) max = r.icount;
      let lane = byCpu.get(r.cpu);
      if (!lane) byCpu.set(r.cpu, (lane = { cpu: r.cpu, icounts: [], records: [] }));
      if (!this.passes(r)) return;
      this.visible.push(i);
      lane.icounts.push(r.icount);
      lane.records.push(i);
    });
    for (const lane of byCpu.values()) {
      // Records of one vCPU arrive in icount order; sort only if they did not.
      if (lane.icounts.some((v, k) => k > 0 && v < lane.icounts[k - 1]!)) {
        const order = lane.records.map((_, k) => k).sort((a, b) => lane.icounts[a]! - lane.icounts[b]!);
        lane.icounts = order.map((k) => lane.icounts[k]!);
        lane.records = order.map((k) => lane.records[k]!);
      }
    }
    this.lanes = [...byCpu.values()].sort((a, b) => a.cpu - b.cpu);
    this.minIcount = Number.isFinite(min) ? min : 0;
    this.maxIcount = Number.isFinite(max) ? Math.max(max, this.minIcount + 1) : 1;
  }

  /** Statistics of the visible records, most frequent first. */
  stats(): ReasonStats[] {
    const by = new Map<string, ReasonStats>();
    for (const i of this.visible) {
      const r = this.records[i]!;
      const label = labelOf(r);
      const key = `${r.type}\u0000${label}`;
      let s = by.get(key);
      if (!s) by.set(key, (s = { type: r.type, label, count: 0, ...(r.type === 'vmexit' ? { handler: 0, paired: 0 } : {}) }));
      s.count++;
      const h = this.handlerOf(i);
      if (h !== undefined && s.handler !== undefined) { s.handler += h; s.paired = (s.paired ?? 0) + 1; }
    }
    return [...by.values()].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  }

  /** Counts by record type over all records (before filtering). */
  typeCounts(): Map<TraceType, number> {
    const m = new Map<TraceType, number>();
    for (const r of this.records) m.set(r.type, (m.get(r.type) ?? 0) + 1);
    return m;
  }
}
