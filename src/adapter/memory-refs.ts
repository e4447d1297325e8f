// DAP memory references as this adapter writes them: "0x1000" is a guest
// virtual (linear) address of the current vCPU, "gpa:0x1000" a
// guest-physical one. Opaque to the client, but readable by people and
// accepted back by readMemory, writeMemory, disassemble and the custom
// requests.

import type { AddressSpace } from '../targets/target';

export interface MemoryRef { space: AddressSpace; address: bigint }

const U64 = (1n << 64n) - 1n;

export function formatMemoryRef(address: bigint, space: AddressSpace = 'gva'): string {
  const hex = '0x' + (address & U64).toString(16);
  return space === 'gva' ? hex : `${space}:${hex}`;
}

/** Parses a memory reference (or a plain number); throws an Error with a message when malformed. */
export function parseMemoryRef(ref: unknown, offset: unknown = 0): MemoryRef {
  if (typeof ref !== 'string' && typeof ref !== 'number') throw new Error('memoryReference must be a string such as "0x1000" or "gpa:0x1000"');
  const s = String(ref).trim();
  const m = /^(?:(gva|gpa|hpa):)?(0x[0-9a-f]+|\d+)$/i.exec(s);
  if (!m) throw new Error(`malformed memory reference "${s}" (expected "0x1000" or "gpa:0x1000")`);
  if (offset !== undefined && (typeof offset !== 'number' || !Number.isSafeInteger(offset))) throw new Error('offset must be an integer');
  const address = (BigInt(m[2]!) + BigInt((offset as number | undefined) ?? 0)) & U64;
  return { space: (m[1]?.toLowerCase() ?? 'gva') as AddressSpace, address };
}

/** Parses an address argument of a custom request: a number or a hex/decimal string. */
export function parseAddressArg(v: unknown, what = 'address'): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v)) return BigInt(v.trim()) & U64;
  throw new Error(`${what} must be a number or a string such as "0x1000"`);
}
