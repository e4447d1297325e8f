// JMP and CALL share their mnemonic between near and far forms; branch.ts
// owns the mnemonic and hands far forms to whatever far.ts installs here.
// Until far.ts installs a compiler, far forms are an unsupported stop.

import type { Instruction } from 'iced-x86';
import type { Ctx, Handler } from '../registry';
import { unsupportedHandler } from '../unsupported';

export const farHooks: {
  jmp: (ins: Instruction, ctx: Ctx) => Handler;
  call: (ins: Instruction, ctx: Ctx) => Handler;
} = {
  jmp: (ins, ctx) => unsupportedHandler(ins, ctx, 'far JMP'),
  call: (ins, ctx) => unsupportedHandler(ins, ctx, 'far CALL'),
};

export function compileFarJmp(ins: Instruction, ctx: Ctx): Handler { return farHooks.jmp(ins, ctx); }
export function compileFarCall(ins: Instruction, ctx: Ctx): Handler { return farHooks.call(ins, ctx); }
