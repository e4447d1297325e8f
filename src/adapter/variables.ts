// Scopes and variables: the target's register groups as DAP scopes (General
// with presentationHint 'registers', Segments, Control and debug, MSRs), each
// register a variable with a hex value and its decoded meaning, compound
// registers (segments, descriptor tables) expandable into their parts, and a
// memoryReference on registers that point at readable guest memory so the
// hex Memory view opens from them. setVariable writes through the target.
//
// With VMX: a "VMCS" scope while the vCPU has a current VMCS (groups guest
// state, host state, controls, exit information; each field a variable named
// as the SDM spells it, hex value, encoding as its type), and a "Last VM
// exit" scope from the vCPU's last vmexit trace record.

import { Handles } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { RegisterValue, Target } from '../targets/target';
import type { VmExitRecord } from '../common/trace';
import { formatMemoryRef } from './memory-refs';
import { decodeQualification } from './stops';

type Ref =
  | { kind?: undefined; cpu: number; group: string; parent?: string }
  | { kind: 'vmcs'; cpu: number; group?: string }
  | { kind: 'exit'; cpu: number };

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

  constructor(private readonly target: () => Target, private readonly lastExit: (cpu: number) => VmExitRecord | undefined = () => undefined) {}

  /** Variable references live until the next resume (DAP object lifetime). */
  reset(): void { this.handles.reset(); }

  scopes(cpu: number): DebugProtocol.Scope[] {
    const t = this.target();
    const scopes: DebugProtocol.Scope[] = t.registers(cpu).map((g) => ({
      name: g.label,
      variablesReference: this.handles.create({ cpu, group: g.id }),
      expensive: false,
      namedVariables: g.registers.length,
      ...(g.id === 'general' ? { presentationHint: 'registers' } : {}),
    }));
    const vmcs = t.capabilities.vmx ? t.vmcs?.(cpu) : undefined;
    if (vmcs) scopes.push({ name: 'VMCS', variablesReference: this.handles.create({ kind: 'vmcs', cpu }), expensive: false, namedVariables: vmcs.groups.length + 1 });
    const exit = this.lastExit(cpu);
    if (exit) scopes.push({ name: 'Last VM exit', variablesReference: this.handles.create({ kind: 'exit', cpu }), expensive: false });
    return scopes;
  }

  private handle(ref: number): Ref {
    const r = this.handles.get(ref);
    if (!r) throw new Error(`unknown variablesReference ${ref} (variables are valid until the guest resumes)`);
    return r;
  }

  private lookup(ref: number): { ref: Ref & { kind?: undefined }; regs: RegisterValue[] } {
    const r = this.handle(ref);
    if (r.kind !== undefined) throw new Error(`${r.kind === 'vmcs' ? 'VMCS fields' : 'VM-exit fields'} are read-only here`);
    const group = this.target().registers(r.cpu).find((g) => g.id === r.group);
    if (!group) throw new Error(`no register group "${r.group}"`);
    const regs = r.parent === undefined ? group.registers : group.registers.find((x) => x.name === r.parent)?.children ?? [];
    return { ref: r, regs };
  }

  variables(ref: number, format?: DebugProtocol.ValueFormat): DebugProtocol.Variable[] {
    const h = this.handle(ref);
    if (h.kind === 'vmcs') return this.vmcsVariables(h.cpu, h.group);
    if (h.kind === 'exit') return this.exitVariables(h.cpu);
    const { ref: r, regs } = this.lookup(ref);
    return regs.map((x) => this.toVariable(r, x, format?.hex !== false));
  }

  private vmcsVariables(cpu: number, group: string | undefined): DebugProtocol.Variable[] {
    const t = this.target();
    const info = t.capabilities.vmx ? t.vmcs?.(cpu) : undefined;
    if (!info) return [];
    const ro = { presentationHint: { attributes: ['readOnly'] } };
    if (group === undefined) {
      const head: DebugProtocol.Variable[] = [{ name: 'address', value: info.address, variablesReference: 0, ...ro }];
      if (info.launched !== undefined) head.push({ name: 'launched', value: String(info.launched), variablesReference: 0, ...ro });
      if (info.nonRoot !== undefined) head.push({ name: 'operation', value: info.nonRoot ? 'VMX non-root (guest state is live)' : 'VMX root', variablesReference: 0, ...ro });
      return [...head, ...info.groups.map((g) => ({
        name: g.label, value: `${g.fields.length} fields`, variablesReference: this.handles.create({ kind: 'vmcs', cpu, group: g.id }),
        namedVariables: g.fields.length, ...ro,
      }))];
    }
    const g = info.groups.find((x) => x.id === group);
    return (g?.fields ?? []).map((f) => ({ name: f.name, value: f.value, type: `VMCS field ${f.encoding}`, variablesReference: 0, ...ro }));
  }

  private exitVariables(cpu: number): DebugProtocol.Variable[] {
    const r = this.lastExit(cpu);
    if (!r) return [];
    const ro = { variablesReference: 0, presentationHint: { attributes: ['readOnly'] } };
    const out: DebugProtocol.Variable[] = [
      { name: 'reason', value: `${r.reason} (${r.reasonCode})`, ...ro },
      { name: 'qualification', value: r.qualification, ...ro },
    ];
    const words = decodeQualification(r.reasonCode, BigInt(r.qualification));
    if (words) out.push({ name: 'meaning', value: words, ...ro });
    out.push({ name: 'guest RIP', value: r.guestRip, ...ro });
    if (r.guestPhysical) out.push({ name: 'guest-physical address', value: r.guestPhysical, ...ro });
    if (r.guestLinear) out.push({ name: 'guest-linear address', value: r.guestLinear, ...ro });
    out.push({ name: 'instructions retired', value: String(r.icount), ...ro });
    return out;
  }

  private toVariable(r: Ref & { kind?: undefined }, x: RegisterValue, hex: boolean): DebugProtocol.Variable {
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
