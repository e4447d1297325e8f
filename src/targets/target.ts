// The one interface every backend (emulator, KVM, GDB remote) implements and
// the debug adapter talks to. It speaks in guest terms — vCPUs, register
// groups, address spaces, walks, trace records — never in DAP or VS Code
// terms. Values wider than 32 bits are bigints or hex strings.
//
// Address conventions (every backend follows them, the adapter relies on it):
// - a "guest virtual address" (gva) is the *linear* address as a canonical
//   unsigned 64-bit bigint: 0xffffffff80000000 for a higher-half kernel, the
//   CS base plus IP in real mode. pc(), breakpoints, stack walks and
//   readMemory('gva') all use it;
// - gpa/hpa are physical addresses as bigints.

import type { TraceRecord, CpuMode } from '../common/trace';
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
  | { reason: 'data breakpoint'; cpu: number; address: bigint; access: 'read' | 'write'; watchId: string; description: string }
  | { reason: 'pause'; cpu: number }
  | { reason: 'event'; cpu: number; record: TraceRecord }
  /** Every vCPU is halted with interrupts off: nothing more can happen (the CLI's exit status 0). */
  | { reason: 'halted'; cpu: number; description: string }
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
  /** The guest virtual (linear) address it points to, when pointer (e.g. SS base + SP in real mode). */
  address?: bigint;
  writable?: boolean;
  /** Parts of a compound register (a segment's selector, base, limit, rights). */
  children?: RegisterValue[];
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
  /** Paging mode the walk used: 'none', '32-bit', 'pae', '4-level'. */
  mode?: string;
  entries: WalkEntryInfo[];
  fault?: string;
  /** For a two-stage walk: the EPT walk of each guest paging-structure access and of the final GPA. */
  nested?: WalkInfo[];
}

export interface MemoryRegion {
  start: string;
  /** First address after the region (exclusive). */
  end: string;
  /** Target of the first byte (GPA for gva maps, HPA for EPT maps). */
  target?: string;
  /** "rwxu" style: r, w or -, x or -, u (user) or s (supervisor only). */
  perms: string;
  pageSize: number;
  memoryType?: string;
  kind?: 'ram' | 'mmio' | 'rom';
  /** Device or purpose, for gpa maps ("IOAPIC", "local APIC"). */
  name?: string;
}

export interface ThreadInfo { id: number; name: string }

/** What the adapter needs to know about a vCPU to name it, walk its stack and decode its code. */
export interface CpuInfo {
  id: number;
  ring: number;
  mode: CpuMode;
  /** Default operand/address size of the code at pc: 16, 32 or 64. */
  bits: 16 | 32 | 64;
  halted: boolean;
  /** An application processor that has not been started (waiting for INIT-SIPI-SIPI). */
  waiting: boolean;
  /** Linear address of the stack top (SS base + RSP outside 64-bit mode). */
  stackPointer: bigint;
  /** Linear address the frame pointer (RBP/EBP/BP) points to. */
  framePointer: bigint;
  /** Instructions retired on this vCPU. */
  icount: number;
}

/** A memory range watched for writes (DAP data breakpoint). */
export interface DataWatch {
  id: string;
  /** Guest virtual address of the first byte. */
  address: bigint;
  size: number;
  access: 'read' | 'write' | 'readWrite';
}

export interface DataWatchResult { id: string; verified: boolean; message?: string }

/** Names of VM-exit reasons, from the backend's VMX table (absent until VMX exists). */
export interface ExitReasonNames {
  byName(name: string): number | undefined;
  name(code: number): string | undefined;
}

/** One VMCS field as the inspector shows it. */
export interface VmcsField { name: string; encoding: string; value: string }
export interface VmcsInfo {
  address: string;
  /** VMLAUNCH has run on it (the next entry is VMRESUME). */
  launched?: boolean;
  /** The vCPU is in VMX non-root operation (guest-state fields are the live vCPU). */
  nonRoot?: boolean;
  groups: { id: string; label: string; fields: VmcsField[] }[];
}

export interface Target {
  readonly capabilities: TargetCapabilities;
  readonly image: LoadedImage | undefined;
  /** The VMX exit-reason names, when the backend has VMX. */
  readonly exitReasons?: ExitReasonNames;

  /** Throws an Error with a one-line message (LaunchConfigError, ImageError, ...) when the guest cannot start. */
  launch(config: LaunchConfig): Promise<void>;
  terminate(): Promise<void>;

  /** Runs until something stops it. Must return promptly (well under 50 ms) after pause(). */
  resume(): Promise<StopEvent>;
  /** Executes one instruction on one vCPU (ignoring a breakpoint at its address). */
  stepInstruction(cpu: number): Promise<StopEvent>;
  stepBack?(cpu: number): Promise<StopEvent>;
  reverseContinue?(): Promise<StopEvent>;
  pause(): void;
  readonly running: boolean;

  threads(): ThreadInfo[];
  cpuInfo(cpu: number): CpuInfo;
  /** Linear address of the next instruction of a vCPU (see the address conventions above). */
  pc(cpu: number): bigint;
  registers(cpu: number): RegisterGroup[];
  /** Optional fast path for one register by name (conditions evaluate on every hit); undefined → use registers(). */
  readRegister?(cpu: number, name: string): bigint | undefined;
  /** Sets a register by name ("rax", "eax", "rip", "cr0", "msr:0xc0000082", ...); throws with a message when it cannot. */
  setRegister(cpu: number, name: string, value: bigint): void;

  /**
   * Reads `length` bytes. `data` is the readable prefix (possibly empty);
   * `unreadable` counts the unreadable bytes right after it (before the next
   * readable byte or the end of the range).
   */
  readMemory(cpu: number, space: AddressSpace, address: bigint, length: number): { data: Uint8Array; unreadable: number };
  /** Writes bytes (ignoring page protection, as a debugger does); returns how many were written before an unmapped byte. */
  writeMemory(cpu: number, space: AddressSpace, address: bigint, data: Uint8Array): number;

  translate(cpu: number, space: AddressSpace, address: bigint): WalkInfo;
  memoryMap(cpu: number, space: AddressSpace): MemoryRegion[];

  /** Linear addresses where every vCPU stops before executing. Replaces the previous set. */
  setBreakpoints(addresses: bigint[]): void;
  setDataWatches?(cpu: number, watches: DataWatch[]): DataWatchResult[];
  /** Decides which trace records stop execution (a stop is reported as reason 'event'). */
  setEventFilter(filter: ((r: TraceRecord) => boolean) | undefined): void;
  /** The current VMCS of a vCPU, or undefined when it has none. */
  vmcs?(cpu: number): VmcsInfo | undefined;
  onTrace(listener: (r: TraceRecord) => void): () => void;
  /** Guest console output (serial port) as text, in order, batched by the backend. */
  onOutput(listener: (text: string) => void): () => void;
}
