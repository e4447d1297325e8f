// Scopes and variables: the target's register groups as DAP scopes (General
// with presentationHint 'registers', Segments, Control and debug, MSRs), each
// register a variable with a hex value and its decoded meaning, compound
// registers (segments, descriptor tables) expandable into their parts, and a
// memoryReference on registers that point at readable guest memory so the
// hex Memory view opens from them. setVariable writes through the target.

import { Handles } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { RegisterValue, Target } from '../targets/target';
import { formatMemoryRef } from './memory-refs';

type Ref = { cpu: number; group: string; parent?: string };

/**
 * "0x0000000000001000" for plain registers (and 16-bit selectors), "0x246 [IF ZF PF]" when a decoded
 * meaning follows a wide value (the padding would push the meaning off screen); decimal on request.
 */
export function formatRegister(r: RegisterValue, hex = true): string {
  const digits = Math.ceil(r.bits / 4);
  const pad = !r.detail || r.bits <= 16;
  const v = !hex ? r.value.toString() : '0x' + (pad ? r.value.toString(16).padStart(digits, '0') : r.value.toString(16));
  return r.detail ? `${v} ${r.detail}` : v;
}

export class VariableStore {
  private handles = new Handles<Ref>();

  constructor(private readonly target: () => Target) {}

  /** Variable references live until the next resume (DAP object lifetime). */
  reset(): void { this.handles.reset(); }

  scopes(cpu: number): DebugProtocol.Scope[] {
    return this.target().registers(cpu).map((g) => ({
      name: g.label,
      variablesReference: this.handles.create({ cpu, group: g.id }),
      expensive: false,
      namedVariables: g.registers.length,
      ...(g.id === 'general' ? { presentationHint: 'registers' } : {}),
    }));
  }

  private lookup(ref: number): { ref: Ref; regs: RegisterValue[] } {
    const r = this.handles.get(ref);
    if (!r) throw new Error(`unknown variablesReference ${ref} (variables are valid until the guest resumes)`);
    const group = this.target().registers(r.cpu).find((g) => g.id === r.group);
    if (!group) throw new Error(`no register group "${r.group}"`);
    const regs = r.parent === undefined ? group.registers : group.registers.find((x) => x.name === r.parent)?.children ?? [];
    return { ref: r, regs };
  }

  variables(ref: number, format?: DebugProtocol.ValueFormat): DebugProtocol.Variable[] {
    const { ref: r, regs } = this.lookup(ref);
    return regs.map((x) => this.toVariable(r, x, format?.hex !== false));
  }

  private toVariable(r: Ref, x: RegisterValue, hex: boolean): DebugProtocol.Variable {
    return {
      name: x.name,
      value: formatRegister(x, hex),
      type: `u${x.bits}`,
      evaluateName: x.name,
      variablesReference: x.children?.length ? this.handles.create({ cpu: r.cpu, group: r.group, parent: x.name }) : 0,
      ...(x.pointer && x.address !== undefined ? { memoryReference: formatMemoryRef(x.address) } : {}),
      ...(x.writable ? {} : { presentationHint: { attributes: ['readOnly'] } }),
    };
  }

  /** Sets a register from a value expression; returns the variable as it reads back. */
  set(ref: number, name: string, value: bigint): DebugProtocol.Variable {
    const { ref: r, regs } = this.lookup(ref);
    const reg = regs.find((x) => x.name === name);
    if (!reg) throw new Error(`no register "${name}" here`);
    if (!reg.writable) throw new Error(`${name} is read-only here`);
    this.target().setRegister(r.cpu, name, value);
    const after = this.lookup(ref).regs.find((x) => x.name === name) ?? reg;
    return this.toVariable(r, after, true);
  }
}
