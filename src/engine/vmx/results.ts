// How VMX instructions report success and failure (SDM vol. 3, "Conventions"
// of the VMX instruction reference): VMsucceed clears CF, PF, AF, ZF, SF, OF;
// VMfailInvalid sets CF; VMfailValid(n) sets ZF and writes n into the
// VM-instruction error field of the current VMCS. VMfail(n) is VMfailValid(n)
// when there is a current VMCS, else VMfailInvalid.

import type { Cpu } from '../x86/cpu';
import { setArith, CF, ZF } from '../x86/flags';
import { VM_INSTRUCTION_ERROR } from './enc';

export function vmSucceed(c: Cpu): void { setArith(c, 0); }
export function vmFailInvalid(c: Cpu): void { setArith(c, CF); }
export function vmFailValid(c: Cpu, error: number): void {
  setArith(c, ZF);
  c.vmx.current!.set(VM_INSTRUCTION_ERROR, error);
}
export function vmFail(c: Cpu, error: number): void {
  if (c.vmx.current) vmFailValid(c, error); else vmFailInvalid(c);
}
