// Events at instruction boundaries in VMX non-root operation (SDM vol. 3,
// "Other Causes of VM Exits", "Event Blocking", "Priorities of VMX-specific
// events"), checked by the vCPU's run loop between blocks when cpu.vmx.watch
// is set, in priority order: VMX-preemption timer (52), NMI window (8), NMI
// with "NMI exiting" (0), interrupt window (7), external interrupt with
// "external-interrupt exiting" (1; with "acknowledge interrupt on exit" the
// vector is acknowledged and reported, else it stays pending). NMIs and
// interrupts that do not exit are delivered to the guest by the vCPU as usual.
// INIT and SIPI (the machine's signals) are here too: blocked in VMX root
// operation, exits 3 and 4 in non-root operation.
//
// Choices (documented):
// - With "external-interrupt exiting", RFLAGS.IF does not block interrupts
//   (SDM) but blocking by STI/MOV SS does (implementation-specific).
// - The preemption timer counts virtual TSC ticks (retired instructions) at
//   the IA32_VMX_MISC rate; in the HLT and wait-for-SIPI activity states time
//   still passes, so a halted guest with the timer armed exits at once (the
//   machine does not model the wait) — deterministic and never hangs.

import type { Cpu } from '../x86/cpu';
import { IF } from '../x86/flags';
import {
  PIN_EXT_INT, PIN_NMI, PIN_PREEMPTION_TIMER, PROC_INTR_WINDOW, PROC_NMI_WINDOW, EXIT_ACK_INTR,
} from './capabilities';
import { vmExit } from './exit';
import { updateWatch } from './entry';

export const EXIT_EXTERNAL_INTERRUPT = 1, EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_INTERRUPT_WINDOW = 7,
  EXIT_NMI_WINDOW = 8, EXIT_PREEMPTION_TIMER = 52;

/** Installed as vmxHooks.events: true when a VM exit happened. */
export function checkEvents(c: Cpu): boolean {
  const v = c.vmx;
  if (!v.nonRoot) { v.watch = false; return false; }
  // Built-in VMM: the instruction allowed to run natively has had its one execution.
  if (v.bypassArmed === 1) v.bypassArmed = 2;
  else if (v.bypassArmed === 2) { v.bypassArmed = 0; v.bypassRip = Number.NaN; updateWatch(c); }
  if ((v.pin & PIN_PREEMPTION_TIMER) && c.icount >= v.deadline || ((v.pin & PIN_PREEMPTION_TIMER) && (c.halted || c.waitForSipi))) {
    vmExit(c, EXIT_PREEMPTION_TIMER);
    return true;
  }
  const lines = c.lines;
  const shadow = c.intShadow;
  if ((v.proc & PROC_NMI_WINDOW) && !v.virtualNmiBlocked && !(shadow && !(c.flags & IF)) && !c.waitForSipi) {
    vmExit(c, EXIT_NMI_WINDOW);
    return true;
  }
  if (lines && (v.pin & PIN_NMI) && lines.hasNmi() && !c.waitForSipi) {
    lines.takeNmi();
    vmExit(c, 0, { intrInfo: 2 | (2 << 8) | (1 << 31) });
    return true;
  }
  if ((v.proc & PROC_INTR_WINDOW) && (c.flags & IF) && !shadow && !c.waitForSipi) {
    vmExit(c, EXIT_INTERRUPT_WINDOW);
    return true;
  }
  if (lines && (v.pin & PIN_EXT_INT) && !shadow && !c.waitForSipi && lines.hasInterrupt()) {
    let info = 0;
    if (v.exitCtl & EXIT_ACK_INTR) info = (lines.acknowledgeInterrupt() & 0xff) | (1 << 31);
    vmExit(c, EXIT_EXTERNAL_INTERRUPT, { intrInfo: info });
    return true;
  }
  return false;
}

/**
 * An INIT signal for this vCPU (from the machine). Returns true when VMX
 * took it: blocked (kept pending) in root operation, a VM exit in non-root.
 */
export function vmxInit(c: Cpu, later?: () => void): boolean {
  const v = c.vmx;
  if (!v.on) return false;
  if (v.nonRoot) { vmExit(c, EXIT_INIT); c.exitBlock = true; return true; }
  v.initPending = true;
  v.initLater = later;
  return true;
}

/** A SIPI for this vCPU: a VM exit when the guest is in the wait-for-SIPI state; ignored otherwise in VMX. */
export function vmxSipi(c: Cpu, vector: number): boolean {
  const v = c.vmx;
  if (!v.on) return false;
  if (v.nonRoot && c.waitForSipi) vmExit(c, EXIT_SIPI, { qualLo: vector & 0xff });
  return true;
}
