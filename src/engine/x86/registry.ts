// The table from mnemonic to the compiler that builds its handler. Each
// instruction family (src/engine/x86/exec/*.ts) registers its mnemonics here
// when imported; compile.ts looks them up. A mnemonic nobody registered is an
// "unsupported instruction" stop, never a silent no-op.

import type { Code, Instruction, Mnemonic } from 'iced-x86';
import type { Cpu } from './cpu';

export type Handler = (cpu: Cpu) => void;

export interface Ctx {
  /** Default code size the block was compiled for. */
  bits: 16 | 32 | 64;
  /** The instruction's bytes (for messages). */
  bytes: Uint8Array;
}

/** Builds the handler of one decoded instruction. `ins` is only valid during the call. */
export type InsnCompiler = (ins: Instruction, ctx: Ctx) => Handler;

const table = new Map<number, InsnCompiler>();

export function define(mnemonics: Mnemonic | readonly Mnemonic[], compiler: InsnCompiler): void {
  const list = typeof mnemonics === 'number' ? [mnemonics] : mnemonics;
  for (const m of list) {
    if (table.has(m)) throw new Error(`mnemonic ${m} registered twice`);
    table.set(m, compiler);
  }
}

export function lookup(m: Mnemonic): InsnCompiler | undefined {
  return table.get(m);
}

// Some forms share a mnemonic with another family (MOV CRn/DRn is Mnemonic.Mov,
// owned by datamov.ts); a family claims such forms by their iced Code, which
// compile.ts looks up before the mnemonic.
const forms = new Map<number, InsnCompiler>();

export function defineForms(codes: readonly Code[], compiler: InsnCompiler): void {
  for (const c of codes) {
    if (forms.has(c)) throw new Error(`instruction form ${c} registered twice`);
    forms.set(c, compiler);
  }
}

export function lookupForm(c: Code): InsnCompiler | undefined {
  return forms.get(c);
}

/**
 * Wraps the compiled handlers of the mnemonics in `mnemonics`: the VMX
 * engine (vmx/intercepts.ts) wraps the instructions that may exit in VMX
 * non-root operation with one runtime check (it may still return the
 * handler unchanged, e.g. for MOV forms other than MOV DR).
 */
export const handlerWrap: {
  fn: ((ins: Instruction, ctx: Ctx, h: Handler) => Handler) | undefined;
  mnemonics: Set<number>;
} = { fn: undefined, mnemonics: new Set() };

export function registeredMnemonics(): number[] {
  return [...table.keys()];
}
