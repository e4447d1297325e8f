// System instructions that control the processor itself. HLT lives here
// first; the rest of the system ISA (descriptor tables, control registers,
// MSRs, CPUID, flags with privilege rules) joins it.

import { Mnemonic } from 'iced-x86';
import { define } from '../registry';
import { CpuFault, GP } from '../fault';

// HLT: privileged; the vCPU sleeps until an interrupt (run() returns Halted when none can come).
define(Mnemonic.Hlt, () => (c) => {
  if (c.cpl !== 0) throw new CpuFault(GP, 0);
  c.halted = true;
  c.exitBlock = true;
});
