// Connects the VMX engine to the vCPU core: the hooks of state.ts, the
// system-instruction interception point and the compile-time handler wrap.
// Called once when exec/vmx-insns.ts is loaded (compile.ts loads every
// instruction family before any vCPU runs).

import { vmxHooks } from './state';
import { attachCapabilities } from './capabilities';
import { faultHook, eventHook, signalHook, tripleFaultHook, installIntercepts } from './intercepts';
import { checkEvents } from './events';
import { nonRootWalk } from './mmu';

let installed = false;

export function installVmx(): void {
  if (installed) return;
  installed = true;
  vmxHooks.attach = attachCapabilities;
  vmxHooks.fault = faultHook;
  vmxHooks.event = eventHook;
  vmxHooks.signal = signalHook;
  vmxHooks.tripleFault = tripleFaultHook;
  vmxHooks.events = checkEvents;
  vmxHooks.walk = nonRootWalk;
  installIntercepts();
}
