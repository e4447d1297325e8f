// The handler for an instruction (or a form of one) the engine does not
// implement: a clear "unsupported instruction" stop naming it, its address
// and its bytes — never a silent wrong result.

import { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction } from 'iced-x86';
import type { Cpu } from './cpu';
import type { Ctx, Handler } from './registry';
import { MachineStop } from './fault';

let formatter: Formatter | undefined;

/** Intel-syntax text of an instruction, for messages. */
export function formatInstruction(ins: Instruction): string {
  formatter ??= new Formatter(FormatterSyntax.Intel);
  return formatter.format(ins);
}

export function hexBytes(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

export function ripHex(rip: number): string {
  // Negative RIPs are upper-half canonical addresses: only they need 64-bit wrap-around.
  return rip >= 0 ? '0x' + rip.toString(16) : '0x' + BigInt.asUintN(64, BigInt(rip)).toString(16);
}

export function unsupportedHandler(ins: Instruction, ctx: Ctx, what?: string): Handler {
  const text = formatInstruction(ins);
  const bytes = hexBytes(ctx.bytes);
  const name = what ? `${what} (${text})` : text;
  return (cpu) => {
    throw new MachineStop('unsupported', `unsupported instruction ${name} at ${ripHex(cpu.rip)} (${bytes})`);
  };
}

const CONTRACT = /^unsupported instruction .+ at 0x[0-9a-f]+ \([0-9a-f ]+\)$/;

/**
 * Brings an "unsupported" stop raised deep inside a handler (a feature the
 * instruction would use, not the instruction itself) into the one form users
 * and tools rely on: `unsupported instruction <text> (<detail>) at <rip> (<bytes>)`.
 * Decodes the instruction at RIP afresh; runs only when the machine stops.
 */
export function normalizeUnsupported(cpu: Cpu, message: string): string {
  if (CONTRACT.test(message)) return message;
  const detail = message.replace(/^unsupported:?\s*/, '');
  const bytes = new Uint8Array(15);
  let n = 0;
  for (; n < 15; n++) {
    const w = cpu.walkForDebugger(cpu.ripLinear() + n);
    if (!w.ok) break;
    bytes[n] = cpu.mem.readRange(w.pa, 1)[0]!;
  }
  const ins = new Instruction();
  const d = new Decoder(cpu.bits, bytes.subarray(0, n), DecoderOptions.None);
  try {
    d.ip = 0n;
    d.decodeOut(ins);
    const len = ins.length || Math.max(n, 1);
    const text = n > 0 ? formatInstruction(ins) : '(code not readable)';
    return `unsupported instruction ${text} (${detail}) at ${ripHex(cpu.rip)} (${hexBytes(bytes.subarray(0, Math.min(len, n)) ) || '??'})`;
  } finally {
    d.free();
    ins.free();
  }
}
