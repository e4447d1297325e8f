// Basic VM-exit reasons (SDM vol. 3, appendix C "VMX Basic Exit Reasons"),
// written once: used by the VMX engine, the `vmexit` filter conditions, the
// trace records and the webviews.

export const EXIT_REASONS: Readonly<Record<number, string>> = {
  0: 'EXCEPTION_NMI', 1: 'EXTERNAL_INTERRUPT', 2: 'TRIPLE_FAULT', 3: 'INIT_SIGNAL', 4: 'SIPI',
  5: 'IO_SMI', 6: 'OTHER_SMI', 7: 'INTERRUPT_WINDOW', 8: 'NMI_WINDOW', 9: 'TASK_SWITCH', 10: 'CPUID',
  11: 'GETSEC', 12: 'HLT', 13: 'INVD', 14: 'INVLPG', 15: 'RDPMC', 16: 'RDTSC', 17: 'RSM', 18: 'VMCALL',
  19: 'VMCLEAR', 20: 'VMLAUNCH', 21: 'VMPTRLD', 22: 'VMPTRST', 23: 'VMREAD', 24: 'VMRESUME', 25: 'VMWRITE',
  26: 'VMXOFF', 27: 'VMXON', 28: 'CR_ACCESS', 29: 'DR_ACCESS', 30: 'IO_INSTRUCTION', 31: 'RDMSR', 32: 'WRMSR',
  33: 'INVALID_GUEST_STATE', 34: 'MSR_LOAD_FAIL', 36: 'MWAIT', 37: 'MONITOR_TRAP_FLAG', 39: 'MONITOR',
  40: 'PAUSE', 41: 'MCE_DURING_VMENTRY', 43: 'TPR_BELOW_THRESHOLD', 44: 'APIC_ACCESS', 45: 'EOI_INDUCED',
  46: 'GDTR_IDTR', 47: 'LDTR_TR', 48: 'EPT_VIOLATION', 49: 'EPT_MISCONFIG', 50: 'INVEPT', 51: 'RDTSCP',
  52: 'PREEMPTION_TIMER', 53: 'INVVPID', 54: 'WBINVD', 55: 'XSETBV', 56: 'APIC_WRITE', 57: 'RDRAND',
  58: 'INVPCID', 59: 'VMFUNC', 60: 'ENCLS', 61: 'RDSEED', 62: 'PML_FULL', 63: 'XSAVES', 64: 'XRSTORS',
  66: 'SPP', 67: 'UMWAIT', 68: 'TPAUSE', 69: 'LOADIWKEY', 74: 'BUS_LOCK', 75: 'NOTIFY',
};

const BY_NAME = new Map(Object.entries(EXIT_REASONS).map(([n, name]) => [name, Number(n)]));

/** Bit 31 of the exit reason: the VM exit was a failed VM entry. */
export const EXIT_REASON_FAILED_ENTRY = 0x8000_0000;

export function exitReasonName(code: number): string {
  return EXIT_REASONS[code & 0xffff] ?? `UNKNOWN_${code & 0xffff}`;
}

/** Parses "EPT_VIOLATION", "ept violation", "48" or "0x30" into a basic exit reason. */
export function parseExitReason(s: string): number | undefined {
  const t = s.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const n = Number(t);
    return n >= 0 && n <= 0xffff ? n : undefined;
  }
  return BY_NAME.get(t.toUpperCase().replace(/[\s-]+/g, '_'));
}
