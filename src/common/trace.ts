// The trace record: one type, used by the engine's event stream, the CLI's
// --trace/--trace-file, the adapter's vmscope/trace event and the webviews.
// See shared/DESIGN.md "Trace records". Addresses and 64-bit values are hex
// strings ("0x1000") so no consumer ever sees a lossy JS number.

export type Hex = string;

export type CpuMode = 'real' | 'protected' | 'long' | 'compat' | 'vmx-root' | 'vmx-non-root';

export type RingVia =
  | 'syscall' | 'sysret' | 'int' | 'iret' | 'interrupt' | 'exception'
  | 'far-call' | 'far-ret' | 'sysenter' | 'sysexit' | 'task-switch' | 'vmexit' | 'vmentry';

interface Common {
  cpu: number;
  /** Instructions retired on that vCPU when the record was made. */
  icount: number;
  rip: Hex;
}

export interface VmExitRecord extends Common {
  type: 'vmexit';
  reason: string;
  reasonCode: number;
  qualification: Hex;
  guestRip: Hex;
  guestPhysical?: Hex;
  guestLinear?: Hex;
}
export interface VmEntryRecord extends Common { type: 'vmentry'; launch: boolean }
export interface VmEntryFailureRecord extends Common {
  type: 'vmentry-failure';
  check: string;
  field: string;
  sdm: string;
  exitReason?: 33 | 34;
}
export interface RingRecord extends Common { type: 'ring'; from: number; to: number; via: RingVia }
export interface ModeRecord extends Common { type: 'mode'; from: CpuMode; to: CpuMode }
export interface ExceptionRecord extends Common {
  type: 'exception';
  vector: number;
  name: string;
  errorCode?: number;
  cr2?: Hex;
}
export interface OutputRecord extends Common { type: 'output'; text: string }

export type TraceRecord =
  | VmExitRecord | VmEntryRecord | VmEntryFailureRecord | RingRecord | ModeRecord | ExceptionRecord | OutputRecord;

export type TraceType = TraceRecord['type'];

export const TRACE_TYPES: readonly TraceType[] = [
  'vmexit', 'vmentry', 'vmentry-failure', 'ring', 'mode', 'exception', 'output',
];

export function isTraceType(s: string): s is TraceType {
  return (TRACE_TYPES as readonly string[]).includes(s);
}

/** One human-readable line for a record (CLI stderr, Debug Console `trace`). */
export function formatTraceRecord(r: TraceRecord): string {
  const head = `[cpu${r.cpu} #${r.icount} ${r.rip}]`;
  switch (r.type) {
    case 'vmexit': {
      const extra = [r.guestPhysical && `gpa=${r.guestPhysical}`, r.guestLinear && `gla=${r.guestLinear}`]
        .filter(Boolean).join(' ');
      return `${head} vmexit ${r.reason} (${r.reasonCode}) qual=${r.qualification} guest-rip=${r.guestRip}${extra ? ' ' + extra : ''}`;
    }
    case 'vmentry': return `${head} vmentry ${r.launch ? 'VMLAUNCH' : 'VMRESUME'}`;
    case 'vmentry-failure':
      return `${head} vmentry-failure: ${r.check} (${r.field}, SDM '${r.sdm}')${r.exitReason ? ` exit ${r.exitReason}` : ''}`;
    case 'ring': return `${head} ring ${r.from}->${r.to} via ${r.via}`;
    case 'mode': return `${head} mode ${r.from}->${r.to}`;
    case 'exception':
      return `${head} exception ${r.name} (${r.vector})` +
        (r.errorCode !== undefined ? ` err=0x${r.errorCode.toString(16)}` : '') + (r.cr2 ? ` cr2=${r.cr2}` : '');
    case 'output': return `${head} output ${JSON.stringify(r.text)}`;
  }
}
