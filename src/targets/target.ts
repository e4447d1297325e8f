// The one interface every backend (emulator, KVM, GDB remote) implements and
// the debug adapter talks to. It speaks in guest terms — vCPUs, register
// groups, address spaces, walks, trace records — never in DAP or VS Code
// terms. Values wider than 32 bits are bigints or hex strings.

import type { TraceRecord } from '../common/trace';
import type { LaunchConfig } from '../common/launch';
import type { LoadedImage } from '../loader/types';

export type AddressSpace = 'gva' | 'gpa' | 'hpa';

export interface TargetCapabilities {
  stepBack: boolean;
  /** VMX state (VMCS, EPT) can be inspected. */
  vmx: boolean;
  dataBreakpoints: boolean;
  writeRegisters: boolean;
  /** Which trace record types this backend can produce (and so stop on). */
  events: ReadonlyArray<TraceRecord['type']>;
}

/** Why execution stopped. */
export type StopEvent =
  | { reason: 'entry'; cpu: number }
  | { reason: 'step'; cpu: number }
  | { reason: 'breakpoint'; cpu: number; address: bigint }
  | { reason: 'data breakpoint'; cpu: number; address: bigint; access: 'read' | 'write' }
  | { reason: 'pause'; cpu: number }
  | { reason: 'event'; cpu: number; record: TraceRecord }
  | { reason: 'exited'; status: number; description: string }
  | { reason: 'fatal'; cpu: number; kind: 'unsupported' | 'shutdown' | 'internal' | 'idle'; message: string };

export interface RegisterValue {
  name: string;
  /** Raw value. */
  value: bigint;
  /** Width in bits (for formatting). */
  bits: number;
  /** Decoded meaning, e.g. "[IF ZF PF]" or "P PE PG WP". */
  detail?: string;
  /** Whether the value is a guest address worth a memory reference. */
  pointer?: boolean;
  writable?: boolean;
}

export interface RegisterGroup {
  /** 'general', 'segments', 'control', 'msrs', ... */
  id: string;
  label: string;
  registers: RegisterValue[];
}

export interface WalkEntryInfo {
  level: string;
  /** Physical address of the entry (guest-physical for guest walks, host-physical for EPT). */
  entryAddress: string;
  value: string;
  /** Decoded flag names, e.g. ["P", "RW", "US", "A"]. */
  flags: string[];
  leaf: boolean;
}

export interface WalkInfo {
  space: 'guest' | 'ept';
  input: string;
  ok: boolean;
  output?: string;
  pageSize?: number;
  entries: WalkEntryInfo[];
  fault?: string;
  /** For a two-stage walk: the EPT walk of each guest paging-structure access and of the final GPA. */
  nested?: WalkInfo[];
}

export interface MemoryRegion {
  start: string;
  end: string;
  /** Target of the first byte (GPA for gva maps, HPA for EPT maps). */
  target?: string;
  perms: string;
  pageSize: number;
  memoryType?: string;
  kind?: 'ram' | 'mmio' | 'rom';
}

export interface ThreadInfo { id: number; name: string }

export interface Target {
  readonly capabilities: TargetCapabilities;
  readonly image: LoadedImage | undefined;

  launch(config: LaunchConfig): Promise<void>;
  terminate(): Promise<void>;

  /** Runs until something stops it. Must return promptly after pause(). */
  resume(): Promise<StopEvent>;
  stepInstruction(cpu: number): Promise<StopEvent>;
  stepBack?(cpu: number): Promise<StopEvent>;
  reverseContinue?(): Promise<StopEvent>;
  pause(): void;

  threads(): ThreadInfo[];
  pc(cpu: number): bigint;
  registers(cpu: number): RegisterGroup[];
  setRegister(cpu: number, name: string, value: bigint): void;

  readMemory(cpu: number, space: AddressSpace, address: bigint, length: number): { data: Uint8Array; unreadable: number };
  writeMemory(cpu: number, space: AddressSpace, address: bigint, data: Uint8Array): number;

  translate(cpu: number, space: AddressSpace, address: bigint): WalkInfo;
  memoryMap(cpu: number, space: AddressSpace): MemoryRegion[];

  setBreakpoints(addresses: bigint[]): void;
  setEventFilter(filter: ((r: TraceRecord) => boolean) | undefined): void;
  onTrace(listener: (r: TraceRecord) => void): () => void;
  onOutput(listener: (text: string) => void): () => void;
}
