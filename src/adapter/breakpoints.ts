// Breakpoints as the client sets them — source lines, functions (symbols),
// instruction addresses, data (memory watches) — resolved to guest virtual
// addresses, with their conditions, hit counts and log messages. The run
// controller asks `decide()` whether a stop at an address is one the user
// wants; the target only ever sees the union of addresses.

import type { DebugProtocol } from '@vscode/debugprotocol';
import { lineToAddresses } from '../loader/lookup';
import type { LoadedImage } from '../loader/types';
import type { SourceMap } from './sources';
import { formatMemoryRef, parseMemoryRef } from './memory-refs';

export type BpKind = 'source' | 'function' | 'instruction' | 'data';

export interface Bp {
  id: number;
  kind: BpKind;
  addresses: bigint[];
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  hits: number;
}

export interface DataBp extends Bp { dataId: string; address: bigint; size: number; access: 'read' | 'write' | 'readWrite' }

/** What a stop at a breakpoint amounts to after conditions, hit counts and log points. */
export interface Decision { stop: boolean; ids: number[]; kind?: BpKind; logs: string[]; errors: string[] }

/** How far below a line without code a breakpoint may move to the next line that has code. */
const LINE_SEARCH = 20;

/** Parses "5", "== 5", ">= 5", "> 5", "< 5", "<= 5", "% 5"; undefined when malformed. */
export function hitConditionMet(cond: string, hits: number): boolean | undefined {
  const m = /^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$/.exec(cond);
  if (!m) return undefined;
  const n = Number(m[2]);
  switch (m[1]) {
    case '>=': return hits >= n;
    case '>': return hits > n;
    case '<=': return hits <= n;
    case '<': return hits < n;
    case '%': return n > 0 && hits % n === 0;
    default: return hits === n;
  }
}

export class BreakpointManager {
  private nextId = 1;
  /** Source breakpoints by client path, with the request to re-resolve after a restart. */
  private readonly bySource = new Map<string, { args: DebugProtocol.SourceBreakpoint[]; bps: Bp[] }>();
  private functionBps: Bp[] = [];
  private instructionBps: Bp[] = [];
  dataBps: DataBp[] = [];

  constructor(private image: LoadedImage | undefined, private sources: SourceMap) {}

  /** A new image (restart): source and function breakpoints resolve again. */
  rebind(image: LoadedImage | undefined, sources: SourceMap): void {
    this.image = image;
    this.sources = sources;
  }

  private make(kind: BpKind, addresses: bigint[], src: { condition?: string; hitCondition?: string; logMessage?: string }, id?: number): Bp {
    return {
      id: id ?? this.nextId++, kind, addresses, hits: 0,
      ...(src.condition?.trim() ? { condition: src.condition.trim() } : {}),
      ...(src.hitCondition?.trim() ? { hitCondition: src.hitCondition.trim() } : {}),
      ...(src.logMessage ? { logMessage: src.logMessage } : {}),
    };
  }

  /** The DWARF file name that resolves to a client path (else the path itself, matched by suffix). */
  private dwarfFile(path: string): string {
    for (const f of this.sources.files()) if (this.sources.resolvePath(f) === path) return f;
    return path;
  }

  setSource(path: string, requested: DebugProtocol.SourceBreakpoint[], clientLine: (l: number) => number, ids?: number[]): DebugProtocol.Breakpoint[] {
    const lines = this.image?.lines ?? [];
    const file = this.dwarfFile(path);
    const bps: Bp[] = [];
    const out: DebugProtocol.Breakpoint[] = [];
    for (const [k, sb] of requested.entries()) {
      let line = sb.line;
      let addrs: bigint[] = [];
      for (let l = sb.line; l <= sb.line + LINE_SEARCH && addrs.length === 0; l++) {
        addrs = lineToAddresses(lines, file, l);
        line = l;
      }
      const bp = this.make('source', addrs, sb, ids?.[k]);
      bps.push(bp);
      out.push(addrs.length
        ? { id: bp.id, verified: true, line: clientLine(line), source: { path }, instructionReference: formatMemoryRef(addrs[0]!) }
        : { id: bp.id, verified: false, line: clientLine(sb.line), source: { path },
            message: lines.length ? `no code at or after line ${sb.line} of this file in ${this.image?.path}` : 'the guest image has no line table (assemble/compile with -g)' });
    }
    this.bySource.set(path, { args: requested, bps });
    return out;
  }

  /** Re-resolves every source breakpoint (after a restart); returns the updated ones per path. */
  resolveAgain(clientLine: (l: number) => number): Array<{ path: string; breakpoints: DebugProtocol.Breakpoint[] }> {
    const out: Array<{ path: string; breakpoints: DebugProtocol.Breakpoint[] }> = [];
    for (const [path, { args, bps }] of [...this.bySource]) {
      out.push({ path, breakpoints: this.setSource(path, args, clientLine, bps.map((b) => b.id)) });
    }
    return out;
  }

  /** "kmain", "kmain+0x10", or an address. */
  private resolveFunction(name: string): bigint | undefined {
    const t = name.trim();
    if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) return BigInt(t);
    const m = /^(.+?)\s*\+\s*(0x[0-9a-f]+|\d+)$/i.exec(t);
    const sym = m ? m[1]! : t;
    const off = m ? BigInt(m[2]!) : 0n;
    const s = this.image?.symbols.find((x) => x.name === sym);
    return s ? s.address + off : undefined;
  }

  setFunctions(requested: DebugProtocol.FunctionBreakpoint[]): DebugProtocol.Breakpoint[] {
    this.functionBps = [];
    return requested.map((fb) => {
      const a = this.resolveFunction(fb.name);
      const bp = this.make('function', a === undefined ? [] : [a], fb);
      this.functionBps.push(bp);
      return a === undefined
        ? { id: bp.id, verified: false, message: `no symbol "${fb.name}" in the guest image` }
        : { id: bp.id, verified: true, instructionReference: formatMemoryRef(a) };
    });
  }

  setInstructions(requested: DebugProtocol.InstructionBreakpoint[]): DebugProtocol.Breakpoint[] {
    this.instructionBps = [];
    return requested.map((ib) => {
      let a: bigint | undefined;
      let message: string | undefined;
      try { a = parseMemoryRef(ib.instructionReference, ib.offset ?? 0).address; } catch (e) { message = (e as Error).message; }
      const bp = this.make('instruction', a === undefined ? [] : [a], ib);
      this.instructionBps.push(bp);
      return a === undefined ? { id: bp.id, verified: false, message } : { id: bp.id, verified: true, instructionReference: formatMemoryRef(a) };
    });
  }

  newDataBp(dataId: string, address: bigint, size: number, src: DebugProtocol.DataBreakpoint): DataBp {
    return { ...this.make('data', [], src), dataId, address, size, access: src.accessType ?? 'write' };
  }

  private all(): Bp[] {
    return [...[...this.bySource.values()].flatMap((s) => s.bps), ...this.functionBps, ...this.instructionBps];
  }

  /** Every address the target must stop at. */
  addresses(): bigint[] {
    return [...new Set(this.all().flatMap((b) => b.addresses))];
  }

  has(address: bigint): boolean {
    return this.all().some((b) => b.addresses.includes(address));
  }

  /**
   * Applies conditions, hit counts and log points of every breakpoint at an
   * address. `evaluate` computes an expression (throws on error); `format`
   * turns a value into log text.
   */
  decide(address: bigint, evaluate: (expr: string) => bigint): Decision {
    return this.decideFor(this.all().filter((b) => b.addresses.includes(address)), evaluate);
  }

  decideFor(bps: Bp[], evaluate: (expr: string) => bigint): Decision {
    const d: Decision = { stop: false, ids: [], logs: [], errors: [] };
    for (const bp of bps) {
      if (bp.condition) {
        try {
          if (evaluate(bp.condition) === 0n) continue;
        } catch (e) {
          d.errors.push(`breakpoint condition "${bp.condition}": ${(e as Error).message}`); // stop, so the user sees it
        }
      }
      bp.hits++;
      if (bp.hitCondition) {
        const met = hitConditionMet(bp.hitCondition, bp.hits);
        if (met === undefined) d.errors.push(`hit condition "${bp.hitCondition}": expected a number, optionally after ==, >=, >, <, <= or %`);
        else if (!met) continue;
      }
      if (bp.logMessage !== undefined) {
        d.logs.push(interpolate(bp.logMessage, evaluate));
        continue;
      }
      d.stop = true;
      d.ids.push(bp.id);
      d.kind ??= bp.kind;
    }
    if (d.errors.length) d.stop = true;
    return d;
  }
}

/** Log-point text: "{expr}" parts are evaluated and shown in hex. */
export function interpolate(message: string, evaluate: (expr: string) => bigint): string {
  return message.replace(/\{([^{}]+)\}/g, (_, expr: string) => {
    try { return '0x' + evaluate(expr).toString(16); } catch (e) { return `<${(e as Error).message}>`; }
  });
}
