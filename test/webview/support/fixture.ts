// The recorded-session fixture format (test/webview/fixtures/*.json, written
// by test/webview/record.ts) and a DebugLink that replays it: requests are
// answered from the recording of the current stop; vmscope/trace and
// vmscope/exitStats by the adapter's own TraceBuffer over the records the run
// had produced by then; DAP threads, stack frame, scopes and variables from
// the recorded register scopes.

import { readFileSync } from 'node:fs';
import type { TraceRecord } from '../../../src/common/trace';
import type { DebugLink } from '../../../src/extension/panels/session-model';
import { TraceBuffer } from '../../../src/adapter/trace-buffer';
import { isTraceType, type TraceType } from '../../../src/common/trace';

export interface RecordedRequest {
  command: string;
  args: Record<string, unknown>;
  body?: unknown;
  error?: string;
}

export interface RecordedStop {
  label: string;
  threadId: number;
  threads: { id: number; name: string }[];
  /** How many trace records the run had produced at this stop. */
  traceLength: number;
  /** DAP scopes of the top frame with their variables, as the adapter formats them. */
  scopes: { name: string; variables: { name: string; value: string; memoryReference?: string }[] }[];
  requests: RecordedRequest[];
}

export interface Fixture {
  recorded: Record<string, string>;
  stops: RecordedStop[];
  trace: TraceRecord[];
}

export function loadFixture(path: string): Fixture {
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

const sameArgs = (recorded: Record<string, unknown>, args: Record<string, unknown>): boolean =>
  Object.entries(recorded).every(([k, v]) => args[k] === v);

/** Replays a fixture; `stop` selects which stop's answers are given. */
export class ReplayLink implements DebugLink {
  readonly id = 'replay-session';
  /** The recorded program's name, e.g. "vmx-basic (recorded)". */
  readonly name: string;
  stop = 0;
  /** Every request the host made, for assertions. */
  readonly log: { command: string; args: Record<string, unknown> }[] = [];

  constructor(readonly fixture: Fixture) {
    const program = fixture.recorded.program ?? 'longmode';
    this.name = `${program.replace(/^.*\//, '').replace(/\.[^.]*$/, '')} (recorded)`;
  }

  get current(): RecordedStop { return this.fixture.stops[this.stop]!; }

  /** The adapter's trace buffer as it was at the current stop. */
  private buffer(): TraceBuffer {
    const b = new TraceBuffer();
    for (const r of this.fixture.trace.slice(0, this.current.traceLength)) b.push(r);
    return b;
  }

  async request(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    this.log.push({ command, args });
    const s = this.current;
    switch (command) {
      case 'threads': return { threads: s.threads };
      case 'stackTrace': return { stackFrames: [{ id: 1000, name: 'frame', line: 0, column: 0 }], totalFrames: 1 };
      case 'scopes': return { scopes: s.scopes.map((sc, i) => ({ name: sc.name, variablesReference: i + 1, expensive: false })) };
      case 'variables': {
        const sc = s.scopes[Number(args.variablesReference) - 1];
        if (!sc) throw new Error(`unknown variablesReference ${String(args.variablesReference)}`);
        return { variables: sc.variables.map((v) => ({ ...v, variablesReference: 0 })) };
      }
      case 'vmscope/trace': {
        const types = Array.isArray(args.types) ? new Set(args.types.filter((t): t is TraceType => typeof t === 'string' && isTraceType(t))) : undefined;
        const buf = this.buffer();
        return { ...buf.query(typeof args.from === 'number' ? args.from : undefined, Number(args.count ?? 1000), types), total: buf.total };
      }
      case 'vmscope/exitStats': return this.buffer().exitStats();
      default: break;
    }
    const hit = s.requests.find((r) => r.command === command && sameArgs(r.args, args));
    if (!hit) throw new Error(`${command}: nothing recorded for ${JSON.stringify(args)}`);
    if (hit.error !== undefined) throw new Error(hit.error);
    return hit.body;
  }
}
