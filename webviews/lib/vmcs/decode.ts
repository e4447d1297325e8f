// Decoding VMCS field values for the inspector: control fields into named
// bits, the exit reason (name from the engine's one table), interruption
// information, the VM-instruction error, and guest/host CR0, CR4, EFER with
// the same words the register view uses.

import { exitReasonName } from '../../../src/engine/vmx/exit-reasons';
import { VM_INSTRUCTION_ERRORS } from '../../../src/engine/vmx/instruction-errors';
import { describeCr0, describeCr4, describeEfer } from '../../../src/targets/emulator-decode';
import { CONTROL_BITS, VECTORS } from './controls';

export interface DecodedBit { bit: number; name: string; set: boolean }
export interface Decoded { bits?: DecodedBit[]; text?: string }

const INTR_TYPES = ['external interrupt', 'reserved', 'NMI', 'hardware exception', 'software interrupt',
  'privileged software exception', 'software exception', 'other event'];

function interruptionInfo(v: number): string {
  if (!(v & 0x8000_0000)) return 'not valid';
  const vector = v & 0xff;
  const type = (v >>> 8) & 7;
  const name = type === 3 || type === 6 ? VECTORS[vector] ?? `vector ${vector}` : `vector ${vector}`;
  return `${INTR_TYPES[type]} ${name}${v & 0x800 ? ', error code valid' : ''}${v & 0x1000 ? ', NMI unblocking due to IRET' : ''}`;
}

function exitReason(v: number): string {
  const parts = [`${exitReasonName(v & 0xffff)} (${v & 0xffff})`];
  if (v & 0x8000_0000) parts.push('VM-entry failure');
  if (v & (1 << 29)) parts.push('from VMX root operation');
  if (v & (1 << 28)) parts.push('pending MTF');
  if (v & (1 << 27)) parts.push('enclave mode');
  return parts.join(', ');
}

/** Words for a field's value, or undefined when it has nothing to decode. */
export function decodeField(encoding: number, value: bigint): Decoded | undefined {
  const lo = Number(value & 0xffff_ffffn);
  const ctl = CONTROL_BITS.get(encoding);
  if (ctl) {
    const bits: DecodedBit[] = [];
    for (let b = 0; b < 32; b++) {
      const set = ((lo >>> b) & 1) === 1;
      const name = ctl.bits[b];
      if (name || set) bits.push({ bit: b, name: name ?? `bit ${b}`, set });
    }
    return { bits };
  }
  switch (encoding) {
    case 0x4402: return { text: exitReason(lo) };
    case 0x4400: return lo ? { text: VM_INSTRUCTION_ERRORS[lo] ?? `error ${lo}` } : { text: 'no error' };
    case 0x4404: case 0x4408: case 0x4016: return { text: interruptionInfo(lo) };
    case 0x6800: case 0x6c00: case 0x6004: return { text: describeCr0(lo) };
    case 0x6804: case 0x6c04: case 0x6006: return { text: describeCr4(lo) };
    case 0x2806: case 0x2c02: return { text: describeEfer(lo) };
    default: return undefined;
  }
}

/** Title of a decoded control field (for the bit list's heading). */
export function controlTitle(encoding: number): string | undefined {
  return CONTROL_BITS.get(encoding)?.title;
}
