// How a stop looks to the client: the `stopped` event's reason, description
// and text, and the exceptionInfo answer for stops on filters (VM exit, ring
// change, CPU exception) and fatal stops (unsupported instruction, triple
// fault, idle guest).

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ExitReasonNames, Target } from '../targets/target';
import { describeRecord, filterOf } from './filters';
import type { Reported } from './run-control';

export interface StoppedBody {
  reason: string;
  description?: string;
  text?: string;
  hitBreakpointIds?: number[];
}

const FATAL_TITLE: Readonly<Record<string, string>> = {
  unsupported: 'Unsupported instruction',
  shutdown: 'Triple fault (shutdown)',
  internal: 'Internal error',
  idle: 'Guest idle',
};

export function stoppedBody(r: Reported, names: ExitReasonNames | undefined): StoppedBody {
  const s = r.stop;
  switch (s.reason) {
    case 'breakpoint': {
      const reason = r.bpKind === 'function' ? 'function breakpoint' : r.bpKind === 'instruction' ? 'instruction breakpoint' : 'breakpoint';
      return { reason, ...(r.hitIds?.length ? { hitBreakpointIds: r.hitIds } : {}) };
    }
    case 'data breakpoint':
      return { reason: 'data breakpoint', description: `Data breakpoint: ${s.description}`, ...(r.hitIds?.length ? { hitBreakpointIds: r.hitIds } : {}) };
    case 'event': {
      const d = describeRecord(s.record, names);
      return { reason: 'exception', description: d.description, text: d.details };
    }
    case 'fatal':
      return { reason: 'exception', description: `${FATAL_TITLE[s.kind] ?? 'Stopped'}: ${s.message.split('\n')[0]}`, text: s.message };
    case 'halted':
      return { reason: 'pause', description: `Halted: ${s.description}`, text: s.description };
    case 'entry': return { reason: 'entry' };
    case 'pause': return { reason: 'pause' };
    case 'step': return { reason: 'step' };
    case 'exited': return { reason: 'exited', description: s.description };
  }
}

/** exceptionInfo for the last stop of a vCPU; undefined when that stop was not an exception-like one. */
export function exceptionInfo(r: Reported, target: Target): DebugProtocol.ExceptionInfoResponse['body'] | undefined {
  const s = r.stop;
  if (s.reason === 'event') {
    const d = describeRecord(s.record, target.exitReasons);
    const id = filterOf(s.record) ?? s.record.type;
    let message = d.details;
    if (s.record.type === 'exception' && s.record.cr2) {
      // A page fault: say why the walk of CR2 fails (or that it maps now, after the handler ran).
      try {
        const w = target.translate(s.cpu, 'gva', BigInt(s.record.cr2));
        message += `\nCR2 ${s.record.cr2}: ${w.ok ? `maps to ${w.output} now` : w.fault ?? 'not mapped'}`;
      } catch { /* no walk for this backend */ }
    }
    return {
      exceptionId: id,
      description: d.description,
      breakMode: 'always',
      details: { message, typeName: s.record.type === 'exception' ? s.record.name : id },
    };
  }
  if (s.reason === 'fatal') {
    return {
      exceptionId: s.kind === 'shutdown' ? 'shutdown' : s.kind,
      description: `${FATAL_TITLE[s.kind] ?? 'Stopped'}: ${s.message.split('\n')[0]}`,
      breakMode: 'always',
      details: { message: s.message, typeName: s.kind },
    };
  }
  if (s.reason === 'data breakpoint') {
    return { exceptionId: 'data breakpoint', description: s.description, breakMode: 'always' };
  }
  return undefined;
}
