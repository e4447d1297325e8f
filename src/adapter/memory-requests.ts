// Memory requests: readMemory and writeMemory (base64, in the gva or gpa
// space of a memory reference), and data breakpoints — which memory a name
// or address stands for (dataBreakpointInfo) and the watches the target
// keeps (setDataBreakpoints): write, read and access (readWrite) watches,
// (the wording of their stops comes from the target's watch).

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DataWatch, Target } from '../targets/target';
import { parseMemoryRef, formatMemoryRef } from './memory-refs';
import { evaluateExpression } from './expressions';
import { makeEvalEnv } from './eval-env';
import type { BreakpointManager, DataBp } from './breakpoints';

/** Largest single readMemory (VS Code's memory view asks for a few KiB at a time). */
const MAX_READ = 16 * 1024 * 1024;

export function readMemory(target: Target, cpu: number, args: DebugProtocol.ReadMemoryArguments): DebugProtocol.ReadMemoryResponse['body'] {
  const ref = parseMemoryRef(args.memoryReference, args.offset ?? 0);
  if (typeof args.count !== 'number' || !Number.isInteger(args.count) || args.count < 0) throw new Error('count must be a non-negative integer');
  const count = Math.min(args.count, MAX_READ);
  const r = target.readMemory(cpu, ref.space, ref.address, count);
  return {
    address: '0x' + ref.address.toString(16),
    data: Buffer.from(r.data).toString('base64'),
    ...(r.unreadable ? { unreadableBytes: r.unreadable } : {}),
  };
}

export function writeMemory(target: Target, cpu: number, args: DebugProtocol.WriteMemoryArguments): DebugProtocol.WriteMemoryResponse['body'] & { ref: string; offset: number } {
  const ref = parseMemoryRef(args.memoryReference, args.offset ?? 0);
  if (typeof args.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(args.data.replace(/\s/g, ''))) throw new Error('data must be base64');
  const bytes = new Uint8Array(Buffer.from(args.data, 'base64'));
  if (!args.allowPartial) {
    const r = target.readMemory(cpu, ref.space, ref.address, bytes.length);
    if (r.data.length < bytes.length) {
      throw new Error(`cannot write ${bytes.length} bytes at 0x${ref.address.toString(16)}: only ${r.data.length} are mapped RAM`);
    }
  }
  const written = target.writeMemory(cpu, ref.space, ref.address, bytes);
  if (written === 0 && bytes.length > 0) throw new Error(`cannot write at 0x${ref.address.toString(16)}: not mapped RAM`);
  return { bytesWritten: written, offset: 0, ref: formatMemoryRef(ref.address, ref.space) };
}

/** dataId format: "0x1000:8" (guest virtual address, size in bytes). */
function dataId(address: bigint, size: number): string {
  return `0x${address.toString(16)}:${size}`;
}

function parseDataId(id: string): { address: bigint; size: number } | undefined {
  const m = /^(0x[0-9a-f]+):(\d+)$/i.exec(id);
  return m ? { address: BigInt(m[1]!), size: Number(m[2]) } : undefined;
}

const ACCESS_TYPES: readonly string[] = ['read', 'write', 'readWrite'];


/**
 * Names the access in a data-breakpoint stop. The target words every hit as
 * "ADDR changed from A to B"; for a read or access watch an unchanged value
 * means the instruction read the bytes. Other wordings pass through.
 */
export function dataBreakpointInfo(target: Target | undefined, cpu: number, args: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
  const none = (description: string): DebugProtocol.DataBreakpointInfoResponse['body'] => ({ dataId: null, description });
  if (!target) return none('no guest is running');
  if (!target.capabilities.dataBreakpoints || !target.setDataWatches) return none('this backend cannot watch memory');
  if (args.variablesReference) return none('registers cannot be watched; watch memory instead, e.g. [rsp+8], a symbol, or an address');
  const name = (args.name ?? '').trim();
  let address: bigint;
  let size = args.bytes;
  if (args.asAddress || /^(0x[0-9a-f]+|\d+)$/i.test(name)) {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(name)) return none(`"${name}" is not an address`);
    address = BigInt(name);
  } else {
    if (target.running) return none('pause the guest to resolve an expression');
    try {
      const r = evaluateExpression(name, makeEvalEnv(target, cpu));
      if (r.memory) { address = r.memory.address; size ??= r.memory.size; }
      else if (r.symbol) {
        address = r.value;
        size ??= target.image?.symbols.find((s) => s.name === r.symbol)?.size || 8;
      } else return none(`"${name}" is a value, not a memory location; use [${name}] to watch the memory it points to`);
    } catch (e) {
      return none((e as Error).message);
    }
  }
  size ??= 8;
  return { dataId: dataId(address, size), description: `${size} bytes at 0x${address.toString(16)} (write: stops when the value changes; read, readWrite: stops after an instruction that reads or accesses it)`,
    accessTypes: ['read', 'write', 'readWrite'], canPersist: true };
}

export function setDataBreakpoints(target: Target | undefined, cpu: number, manager: BreakpointManager, args: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.Breakpoint[] {
  const list = Array.isArray(args.breakpoints) ? args.breakpoints : [];
  const out: DebugProtocol.Breakpoint[] = [];
  const kept: DataBp[] = [];
  for (const db of list) {
    const parsed = typeof db?.dataId === 'string' ? parseDataId(db.dataId) : undefined;
    if (!parsed) { out.push({ verified: false, message: `malformed dataId ${JSON.stringify(db?.dataId)}` }); continue; }
    if (db.accessType && !ACCESS_TYPES.includes(db.accessType)) { out.push({ verified: false, message: `unknown access type ${JSON.stringify(db.accessType)}` }); continue; }
    const bp = manager.newDataBp(db.dataId, parsed.address, parsed.size, db);
    kept.push(bp);
    out.push({ id: bp.id, verified: true, instructionReference: formatMemoryRef(parsed.address) });
  }
  manager.dataBps = kept;
  if (target?.setDataWatches) {
    // DataWatch (target.ts) still types access as 'write'; the emulator's WatchSet takes all three.
    const results = target.setDataWatches(cpu, kept.map((b): DataWatch => ({ id: String(b.id), address: b.address, size: b.size, access: b.access })));
    for (const r of results) {
      const o = out.find((b) => String(b.id) === r.id);
      if (o && !r.verified) { o.verified = false; o.message = r.message; }
    }
    manager.dataBps = kept.filter((b) => results.find((r) => r.id === String(b.id))?.verified);
  } else {
    for (const o of out) { o.verified = false; o.message = 'no guest is running'; }
  }
  return out;
}
