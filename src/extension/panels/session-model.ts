// What the panels know about the vmscope debug session: which one is active,
// whether it is running or stopped (and on which vCPU, how many stops so
// far), and the trace records its adapter has sent (vmscope/trace events).
//
// Pure: watcher.ts feeds it from VS Code's debug API, the webview tests feed
// it by hand. Panel controllers read it and subscribe to its changes.

import type { TraceRecord } from '../../common/trace';
import type { SessionStatus, ThreadRef } from '../../common/messages';

/** A debug session the panels can talk to (a vscode.DebugSession, or a recording in tests). */
export interface DebugLink {
  readonly id: string;
  readonly name: string;
  /** Sends a DAP request (custom or standard); rejects with the adapter's message. */
  request(command: string, args?: Record<string, unknown>): Promise<unknown>;
}

export type ModelEvent =
  | { kind: 'status' }
  | { kind: 'trace'; records: readonly TraceRecord[]; reset: boolean };

/** Records kept per session before the oldest are dropped. */
export const MAX_TRACE_RECORDS = 500_000;

const NO_SESSION_HINT =
  'No vmscope debug session is running. Start one (Run and Debug, a "type": "vmscope" launch configuration) ' +
  'and stop the guest (a breakpoint, Pause, or stopOnEntry) to see this panel.';

export class SessionModel {
  private current: DebugLink | undefined;
  private running = true;
  private thread: number | undefined;
  private stops = 0;
  private threadList: ThreadRef[] = [];
  private readonly traces = new Map<string, TraceRecord[]>();
  private readonly listeners = new Set<(e: ModelEvent) => void>();

  get link(): DebugLink | undefined { return this.current; }
  get threadId(): number | undefined { return this.thread; }
  get stopped(): boolean { return this.current !== undefined && !this.running; }
  get trace(): readonly TraceRecord[] { return this.current ? this.traces.get(this.current.id) ?? [] : []; }

  status(): SessionStatus {
    const s = this.current;
    if (!s) return { state: 'none', hint: NO_SESSION_HINT };
    if (this.running || this.thread === undefined) return { state: 'running', name: s.name, threads: this.threadList };
    return { state: 'stopped', name: s.name, threads: this.threadList, threadId: this.thread, stopCount: this.stops };
  }

  onChange(l: (e: ModelEvent) => void): () => void {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  }

  private emit(e: ModelEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  /** Makes `link` the session the panels show (a no-op when it already is). */
  attach(link: DebugLink, state: { stopped: boolean; threadId?: number } = { stopped: false }): void {
    if (this.current?.id === link.id) return;
    this.current = link;
    this.running = !state.stopped;
    this.thread = state.threadId;
    this.threadList = [];
    this.emit({ kind: 'status' });
    this.emit({ kind: 'trace', records: this.trace, reset: true });
  }

  /** The session ended (or another kind of session became active). */
  detach(id: string): void {
    this.traces.delete(id);
    if (this.current?.id !== id) return;
    this.current = undefined;
    this.thread = undefined;
    this.threadList = [];
    this.emit({ kind: 'status' });
  }

  stoppedOn(id: string, threadId: number | undefined, threads?: ThreadRef[]): void {
    if (this.current?.id !== id) return;
    this.running = false;
    if (threadId !== undefined) this.thread = threadId;
    this.thread ??= threads?.[0]?.id;
    if (threads) this.threadList = threads;
    this.stops++;
    this.emit({ kind: 'status' });
  }

  continued(id: string): void {
    if (this.current?.id !== id || this.running) return;
    this.running = true;
    this.emit({ kind: 'status' });
  }

  /** The user picked another vCPU (Call Stack view). */
  selectThread(id: string, threadId: number): void {
    if (this.current?.id !== id || this.thread === threadId) return;
    this.thread = threadId;
    this.emit({ kind: 'status' });
  }

  setThreads(id: string, threads: ThreadRef[]): void {
    if (this.current?.id !== id) return;
    this.threadList = threads;
  }

  /** Appends records from a vmscope/trace event (kept for every vmscope session, shown for the current one). */
  addTrace(id: string, records: readonly TraceRecord[]): void {
    if (records.length === 0) return;
    let buf = this.traces.get(id);
    if (!buf) this.traces.set(id, (buf = []));
    for (const r of records) buf.push(r);
    const reset = buf.length > MAX_TRACE_RECORDS;
    if (reset) buf.splice(0, buf.length - Math.floor(MAX_TRACE_RECORDS * 0.9));
    if (this.current?.id === id) this.emit({ kind: 'trace', records: reset ? buf : records, reset });
  }

  /** Replaces a session's records (a refetch with vmscope/trace). */
  replaceTrace(id: string, records: TraceRecord[]): void {
    this.traces.set(id, records.slice(-MAX_TRACE_RECORDS));
    if (this.current?.id === id) this.emit({ kind: 'trace', records: this.trace, reset: true });
  }
}
