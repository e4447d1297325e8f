// What the adapter tells VS Code it can do (the DAP `initialize` response),
// and the exception-breakpoint filters of DESIGN.md (ids are a contract).
// Step back stays off until a backend records execution (timeTravel).

import type { DebugProtocol } from '@vscode/debugprotocol';

export const EXCEPTION_FILTERS: DebugProtocol.ExceptionBreakpointsFilter[] = [
  { filter: 'vmexit', label: 'VM exit', default: false, supportsCondition: true,
    description: 'Stop when a VM exit happens.',
    conditionDescription: 'Exit reason names or numbers, comma-separated, e.g. "CPUID, EPT_VIOLATION, 30"; may add "&& expr" over registers and exit fields' },
  { filter: 'vmentry-failure', label: 'VM entry failure', default: true, supportsCondition: false,
    description: 'Stop when VMLAUNCH/VMRESUME fails, naming the failed check, VMCS field and SDM section.' },
  { filter: 'ring', label: 'Ring change', default: false, supportsCondition: true,
    description: 'Stop when the privilege level (CPL) changes.', conditionDescription: '"3->0", "0->3" or "any"' },
  { filter: 'exception', label: 'CPU exception', default: false, supportsCondition: true,
    description: 'Stop when the guest CPU raises an exception.', conditionDescription: 'Vector names or numbers, e.g. "#PF, #GP" or "14"' },
  { filter: 'shutdown', label: 'Triple fault / shutdown', default: true, supportsCondition: false,
    description: 'Stop when the guest triple-faults or shuts down.' },
];

export function capabilities(): DebugProtocol.Capabilities {
  return {
    supportsConfigurationDoneRequest: true,
    supportsFunctionBreakpoints: true,
    supportsConditionalBreakpoints: true,
    supportsHitConditionalBreakpoints: true,
    supportsLogPoints: true,
    supportsEvaluateForHovers: true,
    supportsSetVariable: true,
    supportsRestartRequest: true,
    supportsTerminateRequest: true,
    supportsExceptionInfoRequest: true,
    supportsExceptionFilterOptions: true,
    exceptionBreakpointFilters: EXCEPTION_FILTERS,
    supportsDisassembleRequest: true,
    supportsSteppingGranularity: true,
    supportsInstructionBreakpoints: true,
    supportsReadMemoryRequest: true,
    supportsWriteMemoryRequest: true,
    supportsDataBreakpoints: true,
    supportsDataBreakpointBytes: true,
    supportsLoadedSourcesRequest: true,
    supportsModulesRequest: true,
    supportsCancelRequest: true,
    supportsStepBack: false,
    supportsValueFormattingOptions: true,
  };
}
