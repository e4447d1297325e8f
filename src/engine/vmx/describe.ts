// The current VMCS of a vCPU as the debugger and the VMCS inspector show it:
// every field this CPU has, by group (control, exit information, guest
// state, host state), with name, encoding and value as hex strings. In
// non-root operation the guest-state fields are taken from the live vCPU
// (the processor only writes them back at the next VM exit), so what is
// shown is what the guest has now.

import type { Cpu } from '../x86/cpu';
import { SUPPORTED_FIELDS, Vmcs } from './vmcs';
import { saveGuest } from './exit';
import type { VmcsGroup } from './vmcs-fields';

export interface VmcsFieldValue { name: string; encoding: string; value: string }
export interface VmcsDescription {
  /** Region address of the current VMCS. */
  address: string;
  launched: boolean;
  nonRoot: boolean;
  groups: { id: VmcsGroup; label: string; fields: VmcsFieldValue[] }[];
}

const LABELS: Record<VmcsGroup, string> = {
  control: 'Controls', 'exit-info': 'Exit information', guest: 'Guest state', host: 'Host state',
};
const ORDER: readonly VmcsGroup[] = ['guest', 'host', 'control', 'exit-info'];

const hex = (v: bigint | number): string => '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);

/** The vCPU's current VMCS, or undefined when it has none. */
export function describeVmcs(cpu: Cpu): VmcsDescription | undefined {
  const v = cpu.vmx;
  const cur = v.current;
  if (!cur) return undefined;
  let view = cur;
  if (v.nonRoot) {
    view = new Vmcs(cur.addr);
    view.lo.set(cur.lo); view.hi.set(cur.hi);
    saveGuest(cpu, view, cpu.rip);
  }
  return {
    address: hex(cur.addr),
    launched: cur.launch === 1,
    nonRoot: v.nonRoot,
    groups: ORDER.map((id) => ({
      id, label: LABELS[id],
      fields: SUPPORTED_FIELDS.filter((f) => f.group === id).map((f) => ({
        name: f.name, encoding: '0x' + f.encoding.toString(16).padStart(4, '0'), value: hex(view.get64(f.encoding)),
      })),
    })),
  };
}
