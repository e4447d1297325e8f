// VM-instruction error numbers (SDM vol. 3, "VM Instruction Error Numbers"):
// the value a VMfailValid leaves in VM_INSTRUCTION_ERROR, with its meaning.

export const VM_INSTRUCTION_ERRORS: Readonly<Record<number, string>> = {
  1: 'VMCALL executed in VMX root operation',
  2: 'VMCLEAR with invalid physical address',
  3: 'VMCLEAR with VMXON pointer',
  4: 'VMLAUNCH with non-clear VMCS',
  5: 'VMRESUME with non-launched VMCS',
  6: 'VMRESUME after VMXOFF',
  7: 'VM entry with invalid control field(s)',
  8: 'VM entry with invalid host-state field(s)',
  9: 'VMPTRLD with invalid physical address',
  10: 'VMPTRLD with VMXON pointer',
  11: 'VMPTRLD with incorrect VMCS revision identifier',
  12: 'VMREAD/VMWRITE from/to unsupported VMCS component',
  13: 'VMWRITE to read-only VMCS component',
  15: 'VMXON executed in VMX root operation',
  16: 'VM entry with invalid executive-VMCS pointer',
  17: 'VM entry with non-launched executive VMCS',
  18: 'VM entry with executive-VMCS pointer not VMXON pointer',
  19: 'VMCALL with non-clear VMCS',
  20: 'VMCALL with invalid VM-exit control fields',
  22: 'VMCALL with incorrect MSEG revision identifier',
  23: 'VMXOFF under dual-monitor treatment of SMIs and SMM',
  24: 'VMCALL with invalid SMM-monitor features',
  25: 'VM entry with invalid VM-execution control fields in executive VMCS',
  26: 'VM entry with events blocked by MOV SS',
  28: 'Invalid operand to INVEPT/INVVPID',
};

export const enum VmInstructionError {
  VmcallInRoot = 1, VmclearInvalidAddress = 2, VmclearVmxonPointer = 3, VmlaunchNonClear = 4,
  VmresumeNonLaunched = 5, VmresumeAfterVmxoff = 6, EntryInvalidControls = 7, EntryInvalidHostState = 8,
  VmptrldInvalidAddress = 9, VmptrldVmxonPointer = 10, VmptrldBadRevision = 11, UnsupportedComponent = 12,
  VmwriteReadOnly = 13, VmxonInRoot = 15, EntryBlockedByMovSs = 26, InvalidInveptInvvpidOperand = 28,
}
