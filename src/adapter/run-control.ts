// Execution requests in terms of the target's two primitives (resume all
// vCPUs; step one instruction on one): continue with breakpoint conditions,
// hit counts, log points and filter post-conditions applied; step over a
// CALL (run to its return address with the stack back at its level); step
// out (single-step the current function, stepping over calls, until a
// RET/IRET leaves it, within a bound); and line stepping when the image has
// DWARF lines.
//
// Everything here is backend-neutral: instruction classification comes from
// disassembly.ts, addresses and stack pointers from Target.cpuInfo().

import type { StopEvent, Target } from '../targets/target';
import type { BreakpointManager, BpKind } from './breakpoints';
import { decodeAt, type DecodedInsn } from './disassembly';
import type { SourceMap } from './sources';

export type StepKind = 'stepIn' | 'next' | 'stepOut';

/** A stop as the session reports it. */
export interface Reported { stop: StopEvent; hitIds?: number[]; bpKind?: BpKind; note?: string }

export interface RunHost {
  readonly target: Target;
  readonly breakpoints: BreakpointManager;
  readonly sources: SourceMap;
  /** Evaluates an expression on a vCPU (throws with a message). */
  evaluate(expr: string, cpu: number): bigint;
  /** The "&& expr" of the filter that stopped on this record, if any. */
  postCondition(stop: StopEvent): string | undefined;
  /** Text for the Debug Console (log points, notices). */
  log(text: string): void;
}

/** Longest a step out or a line step may single-step before it gives up (wall time and instructions). */
const STEP_LIMIT_MS = 10_000;
const STEP_LIMIT_INSNS = 5_000_000;
const CALL_LIKE = new Set(['call', 'syscall', 'int']);
/** Longest a loop of resumes or single steps runs without giving the event loop a turn. */
const YIELD_MS = 8;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export class RunController {
  private cancelled = false;
  private active = false;

  constructor(private readonly host: RunHost) {}

  get busy(): boolean { return this.active; }

  /** Pause: ends a running continue or step at the next opportunity. */
  pause(): void {
    this.cancelled = true;
    this.host.target.pause();
  }

  async continue(): Promise<Reported> {
    return this.guard(() => this.runUntil());
  }

  async step(kind: StepKind, cpu: number, byLine: boolean): Promise<Reported> {
    return this.guard(async () => {
      if (kind === 'stepOut') return this.stepOut(cpu);
      if (byLine && this.host.sources.lineAt(this.host.target.pc(cpu))) return this.lineStep(kind, cpu);
      return this.instructionStep(kind, cpu);
    });
  }

  private async guard(f: () => Promise<Reported>): Promise<Reported> {
    this.cancelled = false;
    this.active = true;
    try { return await f(); } finally {
      this.active = false;
      this.host.target.setBreakpoints(this.host.breakpoints.addresses());
    }
  }

  private evalOn(cpu: number): (e: string) => bigint {
    return (e) => this.host.evaluate(e, cpu);
  }

  /**
   * Resumes until a stop the user wants. `until` adds a temporary stop: an
   * address where `ok()` decides whether we arrived (returns undefined then).
   */
  private async runUntil(until?: { address: bigint; cpu: number; ok: () => boolean }): Promise<Reported> {
    const { target, breakpoints } = this.host;
    const addrs = breakpoints.addresses();
    target.setBreakpoints(until ? [...addrs, until.address] : addrs);
    let lastYield = performance.now();
    for (;;) {
      // Breakpoints whose condition is false resume at once: let pause and other requests in now and then.
      if (performance.now() - lastYield > YIELD_MS) {
        await tick();
        lastYield = performance.now();
        if (this.cancelled) return { stop: { reason: 'pause', cpu: 0 } };
      }
      const stop = await target.resume();
      if (stop.reason === 'breakpoint') {
        const arrived = until && stop.address === until.address && stop.cpu === until.cpu && until.ok();
        if (arrived) return { stop: { reason: 'step', cpu: stop.cpu } };
        const d = breakpoints.decide(stop.address, this.evalOn(stop.cpu));
        for (const l of d.logs) this.host.log(l);
        for (const e of d.errors) this.host.log(e);
        if (d.stop) return { stop, hitIds: d.ids, ...(d.kind ? { bpKind: d.kind } : {}) };
        if (this.cancelled) return { stop: { reason: 'pause', cpu: stop.cpu } };
        continue;
      }
      if (stop.reason === 'data breakpoint') {
        const bp = breakpoints.dataBps.find((b) => String(b.id) === stop.watchId);
        const d = bp ? breakpoints.decideFor([bp], this.evalOn(stop.cpu)) : { stop: true, ids: [], logs: [], errors: [] };
        for (const l of d.logs) this.host.log(l);
        if (!d.stop && !this.cancelled) continue;
        return { stop, hitIds: d.ids, bpKind: 'data' };
      }
      if (stop.reason === 'event') {
        const expr = this.host.postCondition(stop);
        if (expr !== undefined) {
          let hold = true;
          try { hold = this.host.evaluate(expr, stop.cpu) !== 0n; } catch (e) { this.host.log(`filter condition "${expr}": ${(e as Error).message}`); }
          if (!hold && !this.cancelled) continue;
        }
      }
      return { stop };
    }
  }

  private async stepOnce(cpu: number): Promise<Reported> {
    return { stop: await this.host.target.stepInstruction(cpu) };
  }

  /** After a single step: a user breakpoint at the new PC counts as a breakpoint stop. */
  private breakpointAt(cpu: number): Reported | undefined {
    const pc = this.host.target.pc(cpu);
    if (!this.host.breakpoints.has(pc)) return undefined;
    const d = this.host.breakpoints.decide(pc, this.evalOn(cpu));
    for (const l of d.logs) this.host.log(l);
    return d.stop ? { stop: { reason: 'breakpoint', cpu, address: pc }, hitIds: d.ids, ...(d.kind ? { bpKind: d.kind } : {}) } : undefined;
  }

  /** Runs a CALL/SYSCALL/INT to the instruction after it, at the same stack level. */
  private async stepOver(cpu: number, ins: DecodedInsn): Promise<Reported> {
    const { target } = this.host;
    const ret = ins.address + BigInt(ins.length);
    const sp0 = target.cpuInfo(cpu).stackPointer;
    return this.runUntil({ address: ret, cpu, ok: () => target.pc(cpu) === ret && target.cpuInfo(cpu).stackPointer >= sp0 });
  }

  private async instructionStep(kind: 'stepIn' | 'next', cpu: number): Promise<Reported> {
    if (kind === 'next') {
      const ins = decodeAt(this.host.target, cpu, this.host.target.pc(cpu));
      if (ins && CALL_LIKE.has(ins.kind)) return this.stepOver(cpu, ins);
    }
    const r = await this.stepOnce(cpu);
    return r.stop.reason === 'step' ? this.breakpointAt(cpu) ?? r : r;
  }

  /** Bookkeeping for the single-stepping loops: bounds and yields. */
  private budget(): { over: () => Promise<string | undefined> } {
    const start = performance.now();
    let lastYield = start;
    let n = 0;
    return {
      over: async () => {
        if (++n % 256 !== 0) return undefined;
        const now = performance.now();
        if (now - lastYield < YIELD_MS) return undefined;
        await tick(); // let pause, cancel and other requests in
        lastYield = performance.now();
        if (n >= STEP_LIMIT_INSNS || now - start > STEP_LIMIT_MS) return `${n} instructions`;
        return undefined;
      },
    };
  }

  private async stepOut(cpu: number): Promise<Reported> {
    const { target } = this.host;
    const b = this.budget();
    const cache = new Map<bigint, DecodedInsn | undefined>();
    for (;;) {
      if (this.cancelled) return { stop: { reason: 'pause', cpu } };
      const pc = target.pc(cpu);
      if (!cache.has(pc)) cache.set(pc, decodeAt(target, cpu, pc));
      const ins = cache.get(pc);
      const r = ins && CALL_LIKE.has(ins.kind) ? await this.stepOver(cpu, ins) : await this.stepOnce(cpu);
      if (r.stop.reason !== 'step') return r;
      if (ins && (ins.kind === 'ret' || ins.kind === 'iret')) return r;
      const bp = this.breakpointAt(cpu);
      if (bp) return bp;
      const limit = await b.over();
      if (limit) return { ...r, note: `step out: no return from this function after ${limit}; stopped here` };
    }
  }

  private async lineStep(kind: 'stepIn' | 'next', cpu: number): Promise<Reported> {
    const { target, sources } = this.host;
    const start = sources.lineAt(target.pc(cpu))!;
    const sp0 = target.cpuInfo(cpu).stackPointer;
    const b = this.budget();
    for (;;) {
      if (this.cancelled) return { stop: { reason: 'pause', cpu } };
      const ins = decodeAt(target, cpu, target.pc(cpu));
      const callLike = ins !== undefined && CALL_LIKE.has(ins.kind);
      // Step into a call only when its target has source lines; stepping into code without them would
      // leave the user in disassembly for a "step into" on a source line.
      const into = kind === 'stepIn' && callLike && ins.target !== undefined && sources.lineAt(ins.target) !== undefined;
      const r = callLike && !into ? await this.stepOver(cpu, ins) : await this.stepOnce(cpu);
      if (r.stop.reason !== 'step') return r;
      const bp = this.breakpointAt(cpu);
      if (bp) return bp;
      const pc = target.pc(cpu);
      const row = sources.lineAt(pc);
      const returned = target.cpuInfo(cpu).stackPointer > sp0 && ins !== undefined && (ins.kind === 'ret' || ins.kind === 'iret');
      if (!row || returned) return r;
      if (row.file !== start.file || row.line !== start.line || pc === start.address) return r;
      const limit = await b.over();
      if (limit) return { ...r, note: `step: still on line ${start.line} after ${limit}; stopped here` };
    }
  }
}
