// A guest-visible CPU exception raised while executing an instruction. Thrown
// by instruction handlers and the MMU, caught by the vCPU's run loop, which
// delivers it through the IVT/IDT (or a VM exit). Faults are rare, so a throw
// is cheaper overall than checking a status after every memory access.

import { VECTOR_NAMES } from './vectors';

export class CpuFault {
  constructor(
    readonly vector: number,
    /** Error code pushed on the stack, or -1 when the exception has none. */
    readonly errorCode: number = -1,
    /** For #PF: the faulting linear address (becomes CR2). */
    readonly cr2: number = 0,
  ) {}
  toString(): string {
    return `${VECTOR_NAMES[this.vector] ?? 'vector ' + this.vector}` +
      (this.errorCode >= 0 ? ` (error code 0x${this.errorCode.toString(16)})` : '');
  }
}

/** The machine cannot continue for a reason that is not a guest exception. */
export class MachineStop {
  constructor(
    readonly kind: 'unsupported' | 'shutdown' | 'internal',
    readonly message: string,
  ) {}
}

export const DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
  TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19, VE = 20, CP = 21;

export function gp(code = 0): CpuFault { return new CpuFault(GP, code); }
export function ud(): CpuFault { return new CpuFault(UD); }
export function ssFault(code = 0): CpuFault { return new CpuFault(SS, code); }
export function np(code: number): CpuFault { return new CpuFault(NP, code); }
export function ts(code: number): CpuFault { return new CpuFault(TS, code); }
