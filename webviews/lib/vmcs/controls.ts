// Names of the VMX control bits and exception vectors the VMCS inspector
// decodes (SDM vol. 3, "VM-Execution Controls", "VM-Exit Controls",
// "VM-Entry Controls"), keyed by the field's encoding. Display names only:
// when the VMX engine (src/engine/vmx) gets named control-bit tables, this
// file should read them from there instead.

type Bits = Readonly<Record<number, string>>;

const PIN_BASED: Bits = {
  0: 'External-interrupt exiting', 3: 'NMI exiting', 5: 'Virtual NMIs', 6: 'Activate VMX-preemption timer', 7: 'Process posted interrupts',
};

const PRIMARY: Bits = {
  2: 'Interrupt-window exiting', 3: 'Use TSC offsetting', 7: 'HLT exiting', 9: 'INVLPG exiting', 10: 'MWAIT exiting',
  11: 'RDPMC exiting', 12: 'RDTSC exiting', 15: 'CR3-load exiting', 16: 'CR3-store exiting', 17: 'Activate tertiary controls',
  19: 'CR8-load exiting', 20: 'CR8-store exiting', 21: 'Use TPR shadow', 22: 'NMI-window exiting', 23: 'MOV-DR exiting',
  24: 'Unconditional I/O exiting', 25: 'Use I/O bitmaps', 27: 'Monitor trap flag', 28: 'Use MSR bitmaps',
  29: 'MONITOR exiting', 30: 'PAUSE exiting', 31: 'Activate secondary controls',
};

const SECONDARY: Bits = {
  0: 'Virtualize APIC accesses', 1: 'Enable EPT', 2: 'Descriptor-table exiting', 3: 'Enable RDTSCP',
  4: 'Virtualize x2APIC mode', 5: 'Enable VPID', 6: 'WBINVD exiting', 7: 'Unrestricted guest',
  8: 'APIC-register virtualization', 9: 'Virtual-interrupt delivery', 10: 'PAUSE-loop exiting', 11: 'RDRAND exiting',
  12: 'Enable INVPCID', 13: 'Enable VM functions', 14: 'VMCS shadowing', 15: 'Enable ENCLS exiting', 16: 'RDSEED exiting',
  17: 'Enable PML', 18: 'EPT-violation #VE', 19: 'Conceal VMX from PT', 20: 'Enable XSAVES/XRSTORS',
  22: 'Mode-based execute control for EPT', 23: 'Sub-page write permissions for EPT',
  24: 'Intel PT uses guest physical addresses', 25: 'Use TSC scaling', 26: 'Enable user wait and pause',
  27: 'Enable PCONFIG', 28: 'Enable ENCLV exiting',
};

const EXIT_CONTROLS: Bits = {
  2: 'Save debug controls', 9: 'Host address-space size', 12: 'Load IA32_PERF_GLOBAL_CTRL', 15: 'Acknowledge interrupt on exit',
  18: 'Save IA32_PAT', 19: 'Load IA32_PAT', 20: 'Save IA32_EFER', 21: 'Load IA32_EFER',
  22: 'Save VMX-preemption timer value', 23: 'Clear IA32_BNDCFGS', 24: 'Conceal VMX from PT', 25: 'Clear IA32_RTIT_CTL',
  26: 'Clear IA32_LBR_CTL', 28: 'Load CET state', 29: 'Load PKRS',
};

const ENTRY_CONTROLS: Bits = {
  2: 'Load debug controls', 9: 'IA-32e mode guest', 10: 'Entry to SMM', 11: 'Deactivate dual-monitor treatment',
  13: 'Load IA32_PERF_GLOBAL_CTRL', 14: 'Load IA32_PAT', 15: 'Load IA32_EFER', 16: 'Load IA32_BNDCFGS',
  17: 'Conceal VMX from PT', 18: 'Load IA32_RTIT_CTL', 20: 'Load CET state', 21: 'Load guest IA32_LBR_CTL', 22: 'Load PKRS',
};

export const VECTORS: readonly string[] = [
  '#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'vector 9', '#TS', '#NP', '#SS', '#GP', '#PF', 'vector 15',
  '#MF', '#AC', '#MC', '#XM', '#VE', '#CP',
];

const EXCEPTION_BITMAP: Bits = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [i, VECTORS[i] ?? `vector ${i}`]));

/** Control fields decoded bit by bit, by encoding. */
export const CONTROL_BITS: ReadonlyMap<number, { title: string; bits: Bits }> = new Map([
  [0x4000, { title: 'Pin-based VM-execution controls', bits: PIN_BASED }],
  [0x4002, { title: 'Primary processor-based VM-execution controls', bits: PRIMARY }],
  [0x401e, { title: 'Secondary processor-based VM-execution controls', bits: SECONDARY }],
  [0x400c, { title: 'VM-exit controls', bits: EXIT_CONTROLS }],
  [0x4012, { title: 'VM-entry controls', bits: ENTRY_CONTROLS }],
  [0x4004, { title: 'Exception bitmap: exceptions that cause VM exits', bits: EXCEPTION_BITMAP }],
]);
