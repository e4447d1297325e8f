// The custom requests of DESIGN.md, for webviews and scripts:
//   vmscope/translate  {address, space, threadId} → the walk (WalkInfo)
//   vmscope/memoryMap  {space, threadId}          → { space, regions }
//   vmscope/vmcs       {threadId}                 → fields by group (error "no current VMCS" without one)
//   vmscope/trace      {from, count, types}       → { from, next, total, records }
//   vmscope/exitStats  {}                         → { total, reasons: [{ reason, reasonCode, count, vmmInstructions }] }
// Arguments are validated here; a malformed request gets an Error with a
// message, which the session turns into an error response.

import type { AddressSpace, Target } from '../targets/target';
import { isTraceType, type TraceType } from '../common/trace';
import type { TraceBuffer } from './trace-buffer';
import { parseAddressArg } from './memory-refs';

export const CUSTOM_REQUESTS = ['vmscope/translate', 'vmscope/memoryMap', 'vmscope/vmcs', 'vmscope/trace', 'vmscope/exitStats'] as const;

export interface CustomHost {
  target: Target | undefined;
  /** vCPU of the last stop (default for a missing threadId). */
  cpu: number;
  trace: TraceBuffer;
}

type Args = Record<string, unknown>;

const MAX_TRACE_COUNT = 10_000;

function cpuOf(host: CustomHost, args: Args): number {
  const t = args.threadId;
  if (t === undefined) return host.cpu;
  const threads = host.target?.threads().length ?? 0;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > threads) throw new Error(`threadId ${JSON.stringify(t)} is not a vCPU thread (1..${threads})`);
  return t - 1;
}

function spaceOf(args: Args): AddressSpace {
  const s = args.space ?? 'gva';
  if (s !== 'gva' && s !== 'gpa' && s !== 'hpa') throw new Error(`space must be "gva", "gpa" or "hpa", got ${JSON.stringify(s)}`);
  return s;
}

function needTarget(host: CustomHost): Target {
  if (!host.target) throw new Error('no guest is running (launch first)');
  return host.target;
}

/** Answers a vmscope/* request; throws an Error whose message becomes the error response. */
export function customRequest(command: string, rawArgs: unknown, host: CustomHost): unknown {
  const args: Args = typeof rawArgs === 'object' && rawArgs !== null && !Array.isArray(rawArgs) ? rawArgs as Args : {};
  if (rawArgs !== undefined && rawArgs !== null && args !== rawArgs) throw new Error(`${command}: arguments must be an object`);
  switch (command) {
    case 'vmscope/translate': {
      const t = needTarget(host);
      if (t.running) throw new Error('the guest is running: pause it first');
      return t.translate(cpuOf(host, args), spaceOf(args), parseAddressArg(args.address));
    }
    case 'vmscope/memoryMap': {
      const t = needTarget(host);
      if (t.running) throw new Error('the guest is running: pause it first');
      const space = spaceOf(args);
      return { space, regions: t.memoryMap(cpuOf(host, args), space) };
    }
    case 'vmscope/vmcs': {
      const t = needTarget(host);
      const cpu = cpuOf(host, args);
      const info = t.capabilities.vmx ? t.vmcs?.(cpu) : undefined;
      if (!info) throw new Error('no current VMCS');
      return info;
    }
    case 'vmscope/trace': {
      const from = args.from;
      if (from !== undefined && (typeof from !== 'number' || !Number.isInteger(from) || from < 0)) throw new Error('from must be a non-negative integer (a record number)');
      const count = args.count ?? 1000;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
      let types: Set<TraceType> | undefined;
      if (args.types !== undefined) {
        const list = typeof args.types === 'string' ? args.types.split(',').map((s) => s.trim()).filter(Boolean) : args.types;
        if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && isTraceType(x))) {
          throw new Error('types must be a list of trace record types (vmexit, vmentry, vmentry-failure, ring, mode, exception, output)');
        }
        types = new Set(list as TraceType[]);
      }
      const q = host.trace.query(from as number | undefined, Math.min(count, MAX_TRACE_COUNT), types);
      return { ...q, total: host.trace.total };
    }
    case 'vmscope/exitStats':
      return host.trace.exitStats();
  }
  throw new Error(`unknown request "${command}"`);
}
