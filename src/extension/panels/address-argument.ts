// The address a vmscope.showAddressWalk invocation names: from the Variables
// view's context menu VS Code passes { sessionId, container, variable }, and
// the variable's memoryReference (when the adapter gives one) or the hex
// number its value starts with is the address; scripts may pass a string.

/** What the Variables view passes to a debug/variables/context command. */
interface VariablesContext { variable?: { name?: unknown; value?: unknown; memoryReference?: unknown } }

/** The address a command argument names: a Variables view item (its memory reference or value), or a string. */
export function addressFromArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const v = typeof arg === 'object' && arg !== null ? (arg as VariablesContext).variable : undefined;
  if (!v) return undefined;
  if (typeof v.memoryReference === 'string' && /^0x[0-9a-f]+$/i.test(v.memoryReference)) return v.memoryReference;
  if (typeof v.value === 'string') return /^\s*(0x[0-9a-f]+)/i.exec(v.value)?.[1];
  return undefined;
}
