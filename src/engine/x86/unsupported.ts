// The handler for an instruction (or a form of one) the engine does not
// implement: a clear "unsupported instruction" stop naming it, its address
// and its bytes — never a silent wrong result.

import { Formatter, FormatterSyntax, type Instruction } from 'iced-x86';
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
