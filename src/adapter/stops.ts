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

const rwx = (b: number): string => (b & 1 ? 'R' : '-') + (b & 2 ? 'W' : '-') + (b & 4 ? 'X' : '-');

/**
 * Words for a VM-exit qualification where the SDM's layout is simple
 * ("Exit Qualification for EPT Violations", "... for I/O Instructions",
 * "... for Control-Register Accesses"); undefined for other reasons.
 */
export function decodeQualification(reasonCode: number, qualification: bigint): string | undefined {
  const q = Number(qualification & 0xffffffffn);
  switch (reasonCode) {
    case 48: { // EPT_VIOLATION
      const access = [q & 1 && 'read', q & 2 && 'write', q & 4 && 'instruction fetch'].filter(Boolean).join('+') || 'none';
      const parts = [`access ${access}`, `allowed ${rwx((q >>> 3) & 7)}`];
      if (q & 0x80) parts.push(q & 0x100 ? 'guest-linear address valid, access to the final translation' : 'guest-linear address valid, access to a guest paging structure');
      else parts.push('no guest-linear address');
      return parts.join(', ');
    }
    case 30: { // IO_INSTRUCTION
      const size = (q & 7) + 1;
      const dir = q & 8 ? 'IN' : 'OUT';
      const port = (q >>> 16) & 0xffff;
      const extra = [q & 0x10 && 'string', q & 0x20 && 'REP', q & 0x40 ? 'port as immediate' : 'port in DX'].filter(Boolean).join(', ');
      return `${dir} port 0x${port.toString(16)}, ${size} byte${size > 1 ? 's' : ''}, ${extra}`;
    }
    case 28: { // CR_ACCESS
      const cr = q & 15;
      const type = ['MOV to CR', 'MOV from CR', 'CLTS', 'LMSW'][(q >>> 4) & 3]!;
      const GPR = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
      if (type === 'MOV to CR' || type === 'MOV from CR') return `${type}${cr}, register ${GPR[(q >>> 8) & 15]}`;
      return type;
    }
  }
  return undefined;
}

/** exceptionInfo for the last stop of a vCPU; undefined when that stop was not an exception-like one. */
export function exceptionInfo(r: Reported, target: Target): DebugProtocol.ExceptionInfoResponse['body'] | undefined {
  const s = r.stop;
  if (s.reason === 'event') {
    const d = describeRecord(s.record, target.exitReasons);
    const id = filterOf(s.record) ?? s.record.type;
    let message = d.details;
    let typeName = s.record.type === 'exception' ? s.record.name : id;
    if (s.record.type === 'vmexit') {
      const r = s.record;
      typeName = r.reason || target.exitReasons?.name(r.reasonCode) || `reason ${r.reasonCode}`;
      const lines = [`reason: ${typeName} (${r.reasonCode})`, `qualification: ${r.qualification}`];
      const words = decodeQualification(r.reasonCode, BigInt(r.qualification));
      if (words) lines.push(`  ${words}`);
      lines.push(`guest RIP: ${r.guestRip}`);
      if (r.guestPhysical) lines.push(`guest-physical address: ${r.guestPhysical}`);
      if (r.guestLinear) lines.push(`guest-linear address: ${r.guestLinear}`);
      message = lines.join('\n');
    } else if (s.record.type === 'vmentry-failure') {
      const r = s.record;
      message = [`check: ${r.check}`, `field: ${r.field}`, `SDM: ${r.sdm}`, ...(r.exitReason ? [`exit reason: ${r.exitReason}`] : [])].join('\n');
    }
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
      details: { message, typeName },
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
