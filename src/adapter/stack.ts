// The call stack of a vCPU: the current instruction with its symbol and
// source line, then the callers found through the frame-pointer chain
// (saved RBP at [RBP], return address above it) when the guest has symbols.
// Guest kernels are often assembly without frame pointers, so a candidate
// caller is kept only if it lies in a known symbol and the bytes before it
// are a CALL; at a function's first instruction the return address is read
// from [RSP] instead.

import { StackFrame } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Target } from '../targets/target';
import type { SourceMap } from './sources';
import { formatMemoryRef } from './memory-refs';

const MAX_FRAMES = 64;

/** frameId = cpu * 1024 + index, so scopes and evaluate know the vCPU. */
export const frameId = (cpu: number, index: number): number => cpu * 1024 + index;
export const frameCpu = (id: number): number => Math.floor(id / 1024);

function readWord(target: Target, cpu: number, address: bigint, size: number): bigint | undefined {
  const r = target.readMemory(cpu, 'gva', address, size);
  if (r.data.length < size) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[i]!);
  return v;
}

/** Whether the bytes before `ret` end with a CALL (E8 rel32, or FF /2 with a 1..6-byte operand). */
function followsCall(target: Target, cpu: number, ret: bigint): boolean {
  if (ret < 7n) return false;
  const r = target.readMemory(cpu, 'gva', ret - 7n, 7);
  if (r.data.length < 7) return false;
  const b = r.data;
  if (b[2] === 0xe8) return true;
  for (let k = 2; k <= 7; k++) {
    const i = 7 - k;
    if (b[i] === 0xff && ((b[i + 1]! >> 3) & 7) === 2) return true;
  }
  return false;
}

function frame(id: number, pc: bigint, lookupPc: bigint, sources: SourceMap): DebugProtocol.StackFrame {
  const name = sources.symbolName(pc) ?? '0x' + pc.toString(16);
  const row = sources.lineAt(lookupPc);
  const f: DebugProtocol.StackFrame = row && row.file
    ? new StackFrame(id, name, sources.source(row.file), row.line, row.column || 1)
    : new StackFrame(id, name);
  f.instructionPointerReference = formatMemoryRef(pc);
  return f;
}

export function stackTrace(target: Target, cpu: number, sources: SourceMap, startFrame = 0, levels = 0): { stackFrames: DebugProtocol.StackFrame[]; totalFrames: number } {
  const pc = target.pc(cpu);
  const frames: DebugProtocol.StackFrame[] = [frame(frameId(cpu, 0), pc, pc, sources)];
  const info = target.cpuInfo(cpu);
  const haveSymbols = (target.image?.symbols.length ?? 0) > 0;
  // Real-mode stacks are segmented and rarely have frame chains worth trusting.
  if (haveSymbols && info.bits !== 16) {
    const word = info.bits === 64 ? 8 : 4;
    const valid = (ret: bigint): boolean => sources.symbolName(ret) !== undefined && followsCall(target, cpu, ret);
    const push = (ret: bigint): void => { frames.push(frame(frameId(cpu, frames.length), ret, ret - 1n, sources)); };
    if (sources.isFunctionStart(pc)) {
      const ret = readWord(target, cpu, info.stackPointer, word);
      if (ret !== undefined && valid(ret)) push(ret);
    }
    let fp = info.framePointer;
    while (frames.length < MAX_FRAMES && fp !== 0n) {
      const saved = readWord(target, cpu, fp, word);
      const ret = readWord(target, cpu, fp + BigInt(word), word);
      if (saved === undefined || ret === undefined || !valid(ret)) break;
      push(ret);
      if (saved <= fp) break; // the stack grows down: callers' frames are higher
      fp = saved;
    }
  }
  const end = levels > 0 ? startFrame + levels : frames.length;
  return { stackFrames: frames.slice(startFrame, end), totalFrames: frames.length };
}
