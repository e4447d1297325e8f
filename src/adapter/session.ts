// The vmscope DebugSession: translates DAP requests into calls on the target
// interface (src/targets/target.ts) and target stops into DAP events. It
// knows nothing of any one backend; each concern lives in its own file
// (breakpoints, filters, run-control, variables, stack, disassembly,
// evaluate, memory-requests, custom-requests, stops, trace-buffer).
//
// Every request goes through one dispatcher that catches errors, so a
// malformed request gets an error response and never takes the adapter down.
// Requests that need a stopped guest are refused while it runs; the rest
// (threads, readMemory, disassemble, breakpoints, trace) are answered — JS
// runs one thing at a time, so the target's state is consistent between the
// slices it runs in.
//
// Benchmark note: the DAP round-trip benchmark (bench/, to come) hooks in at
// test/adapter/helpers.ts startSession(): it drives this adapter over real
// stdio and times stepIn → stopped → stackTrace → scopes → variables.

import {
  LoggingDebugSession, InitializedEvent, StoppedEvent, TerminatedEvent, ExitedEvent, OutputEvent, Thread, Response,
  Event, InvalidatedEvent, MemoryEvent, BreakpointEvent, Source,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { basename } from 'node:path';
import { capabilities } from './capabilities';
import { parseLaunchConfig, type LaunchConfig } from '../common/launch';
import { createTarget } from '../targets';
import type { Target } from '../targets/target';
import { BreakpointManager } from './breakpoints';
import { defaultFilters, parseFilters, postCondition, stopPredicate, FILTER_IDS, type FilterState } from './filters';
import { RunController, type Reported, type StepKind } from './run-control';
import { SourceMap } from './sources';
import { VariableStore } from './variables';
import { stackTrace, frameCpu } from './stack';
import { disassemble } from './disassembly';
import { evaluate } from './evaluate';
import { evaluateExpression } from './expressions';
import { makeEvalEnv } from './eval-env';
import { readMemory, writeMemory, dataBreakpointInfo, setDataBreakpoints } from './memory-requests';
import { customRequest } from './custom-requests';
import { TraceBuffer } from './trace-buffer';
import { stoppedBody, exceptionInfo } from './stops';
import { parseMemoryRef } from './memory-refs';

type Handler = (response: DebugProtocol.Response, args: never, request: DebugProtocol.Request) => void | Promise<void>;

class RequestError extends Error {}

/** How long launch waits for configurationDone before running anyway. */
const CONFIG_DONE_TIMEOUT_MS = 10_000;
const TRACE_EVENT_INTERVAL_MS = 100;

export class VmscopeSession extends LoggingDebugSession {
  private target: Target | undefined;
  private config: LaunchConfig | undefined;
  private rawConfig: unknown;
  private sources = new SourceMap(undefined);
  private readonly breakpoints = new BreakpointManager(undefined, this.sources);
  private filters: FilterState = defaultFilters();
  private readonly trace = new TraceBuffer();
  private readonly vars = new VariableStore(() => this.need(), (cpu) => this.trace.lastExit(cpu));
  private readonly run: RunController;
  private state: 'idle' | 'stopped' | 'running' | 'ended' = 'idle';
  private cpu = 0;
  private readonly lastStops = new Map<number, Reported>();
  private haltedAt: number | undefined;
  private configDone: () => void = () => {};
  private readonly configDonePromise = new Promise<void>((r) => { this.configDone = r; });
  private unsubscribe: Array<() => void> = [];
  private traceTimer: NodeJS.Timeout | undefined;
  private clientCaps: DebugProtocol.InitializeRequestArguments | undefined;
  private runningRequest: number | undefined;
  private lastDataArgs: DebugProtocol.SetDataBreakpointsArguments | undefined;
  /** Bumped when a target goes away, so a run of the old one cannot report into the new one (restart). */
  private generation = 0;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    const self = this; // the controller always sees the session's current target and source map
    this.run = new RunController({
      get target() { return self.need(); },
      get breakpoints() { return self.breakpoints; },
      get sources() { return self.sources; },
      evaluate: (e, cpu) => evaluateExpression(e, makeEvalEnv(self.need(), cpu)).value,
      postCondition: (s) => (s.reason === 'event' ? postCondition(self.filters, s.record) : undefined),
      log: (t) => self.sendEvent(new OutputEvent(t + '\n', 'console')),
    });
  }

  /** A getter, so TypeScript does not narrow it across awaits. */
  private get ended(): boolean { return this.state === 'ended'; }

  private need(): Target {
    if (!this.target || this.state === 'ended') throw new RequestError('no guest is running (launch first)');
    return this.target;
  }

  private needStopped(): Target {
    const t = this.need();
    if (this.state === 'running' || this.run.busy) throw new RequestError('the guest is running: pause it first');
    return t;
  }

  private threadCpu(threadId: unknown): number {
    const n = this.target?.threads().length ?? 0;
    if (typeof threadId !== 'number' || !Number.isInteger(threadId) || threadId < 1 || threadId > n) {
      throw new RequestError(`threadId ${JSON.stringify(threadId)} is not a vCPU thread (1..${n})`);
    }
    return threadId - 1;
  }

  // ---- dispatch --------------------------------------------------------------

  private readonly handlers: Record<string, Handler> = {
    launch: (r, a: Record<string, unknown>) => this.launch(r, a),
    attach: () => { throw new RequestError('attach is not supported yet: use a "launch" configuration'); },
    configurationDone: (r) => { this.configDone(); this.sendResponse(r); },
    setBreakpoints: (r, a: DebugProtocol.SetBreakpointsArguments) => this.setSourceBreakpoints(r, a),
    setFunctionBreakpoints: (r, a: DebugProtocol.SetFunctionBreakpointsArguments) => {
      this.ok(r, { breakpoints: this.breakpoints.setFunctions(Array.isArray(a.breakpoints) ? a.breakpoints : []) });
      this.target?.setBreakpoints(this.breakpoints.addresses());
    },
    setInstructionBreakpoints: (r, a: DebugProtocol.SetInstructionBreakpointsArguments) => {
      this.ok(r, { breakpoints: this.breakpoints.setInstructions(Array.isArray(a.breakpoints) ? a.breakpoints : []) });
      this.target?.setBreakpoints(this.breakpoints.addresses());
    },
    setExceptionBreakpoints: (r, a: DebugProtocol.SetExceptionBreakpointsArguments) => this.setExceptionBreakpoints(r, a),
    dataBreakpointInfo: (r, a: DebugProtocol.DataBreakpointInfoArguments) => this.ok(r, dataBreakpointInfo(this.target, this.cpu, a)),
    setDataBreakpoints: (r, a: DebugProtocol.SetDataBreakpointsArguments) => {
      this.lastDataArgs = a;
      this.ok(r, { breakpoints: setDataBreakpoints(this.state === 'ended' ? undefined : this.target, this.cpu, this.breakpoints, a) });
    },
    continue: (r) => this.resume(r, () => this.run.continue()),
    next: (r, a: DebugProtocol.NextArguments) => this.step(r, 'next', a),
    stepIn: (r, a: DebugProtocol.StepInArguments) => this.step(r, 'stepIn', a),
    stepOut: (r, a: DebugProtocol.StepOutArguments) => this.step(r, 'stepOut', a),
    pause: (r) => { if (this.state === 'running') this.run.pause(); this.sendResponse(r); },
    threads: (r) => this.ok(r, { threads: (this.state === 'ended' ? [] : this.target?.threads() ?? []).map((t) => new Thread(t.id + 1, t.name)) }),
    stackTrace: (r, a: DebugProtocol.StackTraceArguments) => {
      const t = this.needStopped();
      this.ok(r, stackTrace(t, this.threadCpu(a.threadId), this.sources, a.startFrame ?? 0, a.levels ?? 0));
    },
    scopes: (r, a: DebugProtocol.ScopesArguments) => {
      this.needStopped();
      this.ok(r, { scopes: this.vars.scopes(frameCpu(a.frameId)) });
    },
    variables: (r, a: DebugProtocol.VariablesArguments) => { this.needStopped(); this.ok(r, { variables: this.vars.variables(a.variablesReference, a.format) }); },
    setVariable: (r, a: DebugProtocol.SetVariableArguments) => this.setVariable(r, a),
    evaluate: (r, a: DebugProtocol.EvaluateArguments) => this.evaluate(r, a),
    exceptionInfo: (r, a: DebugProtocol.ExceptionInfoArguments) => {
      const t = this.needStopped();
      const last = this.lastStops.get(this.threadCpu(a.threadId));
      const body = last && exceptionInfo(last, t);
      if (!body) throw new RequestError('this thread did not stop on an exception');
      this.ok(r, body);
    },
    disassemble: (r, a: DebugProtocol.DisassembleArguments) => {
      const t = this.need();
      const ref = parseMemoryRef(a.memoryReference, a.offset ?? 0);
      if (ref.space !== 'gva') throw new RequestError('disassembly reads guest virtual addresses; use a reference without "gpa:"');
      const count = Math.max(0, Math.min(10_000, Math.trunc(Number(a.instructionCount) || 0)));
      this.ok(r, { instructions: disassemble(t, this.cpu, ref.address, Math.trunc(a.instructionOffset ?? 0), count, this.sources, { resolveSymbols: a.resolveSymbols !== false }) });
    },
    readMemory: (r, a: DebugProtocol.ReadMemoryArguments) => this.ok(r, readMemory(this.need(), this.cpu, a)),
    writeMemory: (r, a: DebugProtocol.WriteMemoryArguments) => {
      const body = writeMemory(this.needStopped(), this.cpu, a);
      this.ok(r, { bytesWritten: body.bytesWritten, offset: body.offset });
      if (this.clientCaps?.supportsMemoryEvent) this.sendEvent(new MemoryEvent(body.ref, 0, body.bytesWritten ?? 0));
      this.invalidate(['variables']);
    },
    loadedSources: (r) => this.ok(r, { sources: this.sources.files().map((f) => this.sources.source(f)) }),
    modules: (r) => this.ok(r, this.modules()),
    source: () => { throw new RequestError('vmscope gives sources by path; this one is not available'); },
    cancel: (r, a: DebugProtocol.CancelArguments) => {
      if (a.requestId !== undefined && a.requestId === this.runningRequest && this.state === 'running') this.run.pause();
      this.sendResponse(r);
    },
    restart: (r, a: DebugProtocol.RestartArguments) => this.restart(r, a),
    terminate: async (r) => { await this.stopTarget(); this.sendResponse(r); this.sendEvent(new TerminatedEvent()); },
    disconnect: async (r, a: DebugProtocol.DisconnectArguments, req) => {
      await this.stopTarget();
      super.disconnectRequest(r as DebugProtocol.DisconnectResponse, a, req);
    },
  };

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (request.command === 'initialize') { super.dispatchRequest(request); return; }
    const response = new Response(request);
    const h = this.handlers[request.command];
    const args = (request.arguments ?? {}) as never;
    Promise.resolve()
      .then(() => {
        if (h) return h(response, args, request);
        if (request.command.startsWith('vmscope/')) {
          return this.ok(response, customRequest(request.command, request.arguments, { target: this.state === 'ended' ? undefined : this.target, cpu: this.cpu, trace: this.trace }));
        }
        throw new RequestError(`unsupported request "${request.command}"`);
      })
      .catch((e: unknown) => this.fail(response, e));
  }

  private ok(response: DebugProtocol.Response, body: unknown): void {
    response.body = body;
    this.sendResponse(response);
  }

  private fail(response: DebugProtocol.Response, e: unknown): void {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.replace(/[{}]/g, (c) => (c === '{' ? '(' : ')'));
    this.sendErrorResponse(response, { id: 2000, format: message, showUser: response.command === 'launch' || response.command === 'restart' });
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientCaps = args;
    response.body = capabilities();
    this.sendResponse(response);
  }

  // ---- lifecycle ---------------------------------------------------------------

  /** Validates the configuration and loads the guest; throws with a one-line message naming what is wrong. */
  private async startTarget(raw: unknown): Promise<void> {
    const config = parseLaunchConfig(raw);
    const target = createTarget(config);
    await target.launch(config);
    this.target = target;
    this.config = config;
    this.rawConfig = raw;
    this.state = 'stopped';
    this.cpu = 0;
    this.haltedAt = undefined;
    this.lastStops.clear();
    this.trace.clear();
    this.sources = new SourceMap(target.image);
    this.breakpoints.rebind(target.image, this.sources);
    this.unsubscribe = [
      target.onOutput((text) => this.sendEvent(new OutputEvent(text, 'stdout'))),
      target.onTrace((rec) => this.trace.push(rec)),
    ];
    target.setEventFilter(stopPredicate(this.filters));
    for (const w of target.image?.warnings ?? []) this.sendEvent(new OutputEvent(`vmscope: ${w}\n`, 'console'));
    this.traceTimer ??= setInterval(() => this.flushTrace(), TRACE_EVENT_INTERVAL_MS);
    this.traceTimer.unref?.();
  }

  private async launch(response: DebugProtocol.Response, args: Record<string, unknown>): Promise<void> {
    if (this.target && this.state !== 'ended') throw new RequestError('a guest is already running in this session');
    await this.startTarget(args);
    this.sendEvent(new InitializedEvent());
    await Promise.race([this.configDonePromise, new Promise((r) => setTimeout(r, CONFIG_DONE_TIMEOUT_MS).unref?.())]);
    this.target!.setBreakpoints(this.breakpoints.addresses());
    if (this.lastDataArgs) setDataBreakpoints(this.target, this.cpu, this.breakpoints, this.lastDataArgs);
    this.sendResponse(response);
    this.begin();
  }

  /** After launch or restart: stop on entry, or run. */
  private begin(): void {
    if (this.config!.stopOnEntry) { this.report({ stop: { reason: 'entry', cpu: 0 } }); return; }
    // A breakpoint on the very first instruction: a resume starts by stepping past the breakpoint
    // it stands on (that is how continuing from one works), so decide about this one here.
    const entry = this.target!.pc(0);
    if (this.breakpoints.has(entry)) {
      const d = this.breakpoints.decide(entry, (e) => evaluateExpression(e, makeEvalEnv(this.need(), 0)).value);
      for (const l of [...d.logs, ...d.errors]) this.sendEvent(new OutputEvent(l + '\n', 'console'));
      if (d.stop) {
        this.report({ stop: { reason: 'breakpoint', cpu: 0, address: entry }, hitIds: d.ids, ...(d.kind ? { bpKind: d.kind } : {}) });
        return;
      }
    }
    void this.go(() => this.run.continue());
  }

  private async stopTarget(): Promise<void> {
    this.generation++;
    if (this.run.busy) this.run.pause();
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.target?.terminate();
    this.flushTrace();
    this.state = 'ended';
  }

  private async restart(response: DebugProtocol.Response, args: DebugProtocol.RestartArguments): Promise<void> {
    const raw = (args.arguments as unknown) ?? this.rawConfig;
    if (raw === undefined) throw new RequestError('nothing to restart: launch first');
    await this.stopTarget();
    this.target = undefined;
    await this.startTarget(raw);
    for (const { breakpoints } of this.breakpoints.resolveAgain((l) => this.convertDebuggerLineToClient(l))) {
      for (const bp of breakpoints) this.sendEvent(new BreakpointEvent('changed', bp));
    }
    this.target!.setBreakpoints(this.breakpoints.addresses());
    if (this.lastDataArgs) setDataBreakpoints(this.target, this.cpu, this.breakpoints, this.lastDataArgs);
    this.sendResponse(response);
    this.begin();
  }

  private modules(): DebugProtocol.ModulesResponse['body'] {
    const img = this.target?.image;
    if (!img) return { modules: [], totalModules: 0 };
    const lo = img.segments.reduce((m, s) => Math.min(m, s.paddr), Infinity);
    const hi = img.segments.reduce((m, s) => Math.max(m, s.paddr + s.memsz), 0);
    const modules: DebugProtocol.Module[] = [{
      id: 1, name: basename(img.path), path: img.path,
      symbolStatus: img.symbols.length ? `${img.symbols.length} symbols${img.lines.length ? ', line table' : ''}` : 'no symbols',
      ...(Number.isFinite(lo) ? { addressRange: `0x${lo.toString(16)}-0x${hi.toString(16)}` } : {}),
    }];
    (this.config?.symbols ?? []).forEach((p, i) => modules.push({ id: i + 2, name: basename(p), path: p, symbolStatus: 'symbols only' }));
    return { modules, totalModules: modules.length };
  }

  // ---- breakpoints and filters ---------------------------------------------------

  private setSourceBreakpoints(response: DebugProtocol.Response, a: DebugProtocol.SetBreakpointsArguments): void {
    const path = a.source?.path;
    const requested = (a.breakpoints ?? (a.lines ?? []).map((line) => ({ line }))).map((b) => ({ ...b, line: this.convertClientLineToDebugger(b.line) }));
    if (!path) {
      this.ok(response, { breakpoints: requested.map(() => ({ verified: false, message: 'only sources with a path can have breakpoints' })) });
      return;
    }
    const bps = this.breakpoints.setSource(path, requested, (l) => this.convertDebuggerLineToClient(l));
    for (const b of bps) b.source = new Source(basename(path), path);
    this.ok(response, { breakpoints: bps });
    this.target?.setBreakpoints(this.breakpoints.addresses());
  }

  private setExceptionBreakpoints(response: DebugProtocol.Response, a: DebugProtocol.SetExceptionBreakpointsArguments): void {
    const filters = Array.isArray(a.filters) ? a.filters.filter((f): f is string => typeof f === 'string') : [];
    const options = Array.isArray(a.filterOptions) ? a.filterOptions.filter((o) => typeof o?.filterId === 'string') : [];
    const { state, errors } = parseFilters(filters, options, this.target?.exitReasons);
    this.filters = state;
    this.target?.setEventFilter(stopPredicate(state));
    const entry = (id: string): DebugProtocol.Breakpoint => {
      if (!(FILTER_IDS as readonly string[]).includes(id)) return { verified: false, message: `unknown filter "${id}"` };
      const err = errors.get(id as (typeof FILTER_IDS)[number]);
      return err ? { verified: false, message: err } : { verified: true };
    };
    this.ok(response, { breakpoints: [...filters.map(entry), ...options.map((o) => entry(o.filterId))] });
  }

  // ---- execution ---------------------------------------------------------------

  private resume(response: DebugProtocol.Response, f: () => Promise<Reported>): void {
    this.need();
    if (this.state === 'running' || this.run.busy) { this.ok(response, { allThreadsContinued: true }); return; }
    this.runningRequest = response.request_seq;
    this.ok(response, { allThreadsContinued: true });
    void this.go(f);
  }

  private step(response: DebugProtocol.Response, kind: StepKind, a: DebugProtocol.StepInArguments): void {
    this.needStopped();
    const cpu = this.threadCpu(a.threadId);
    const byLine = a.granularity !== 'instruction';
    this.runningRequest = response.request_seq;
    this.sendResponse(response);
    void this.go(() => this.run.step(kind, cpu, byLine));
  }

  private async go(f: () => Promise<Reported>): Promise<void> {
    const gen = this.generation;
    this.state = 'running';
    this.vars.reset();
    let r: Reported;
    try {
      r = await f();
    } catch (e) {
      if (this.ended || gen !== this.generation) return; // terminated or restarted while running
      r = { stop: { reason: 'fatal', cpu: this.cpu, kind: 'internal', message: `vmscope: ${(e as Error).message}` } };
    }
    if (this.ended || gen !== this.generation) return;
    this.report(r);
  }

  /** Sends the events of a stop (or of the end of the guest). */
  private report(r: Reported): void {
    this.flushTrace();
    if (r.note) this.sendEvent(new OutputEvent(r.note + '\n', 'console'));
    const s = r.stop;
    const t = this.target!;
    if (s.reason === 'exited') return this.end(s.status, s.description);
    if (s.reason === 'fatal' && s.kind === 'shutdown' && !this.filters.enabled.has('shutdown')) return this.end(6, `the guest shut down: ${s.message}`);
    if (s.reason === 'halted') {
      const icount = t.threads().reduce((n, th) => n + t.cpuInfo(th.id).icount, 0);
      if (this.haltedAt === icount) return this.end(0, 'the guest halted with interrupts disabled');
      this.haltedAt = icount;
    }
    const cpu = s.cpu;
    this.cpu = cpu;
    this.lastStops.clear();
    this.lastStops.set(cpu, r);
    this.state = 'stopped';
    const body = stoppedBody(r, t.exitReasons);
    const ev = new StoppedEvent(body.reason, cpu + 1, body.text) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (body.description) ev.body.description = body.description;
    if (body.hitBreakpointIds) ev.body.hitBreakpointIds = body.hitBreakpointIds;
    this.sendEvent(ev);
  }

  private end(status: number, description: string): void {
    this.state = 'ended';
    this.sendEvent(new OutputEvent(`vmscope: ${description}\n`, 'console'));
    this.sendEvent(new ExitedEvent(status));
    this.sendEvent(new TerminatedEvent());
  }

  private flushTrace(): void {
    const batch = this.trace.takeBatch();
    if (batch) this.sendEvent(new Event('vmscope/trace', batch));
  }

  private invalidate(areas: DebugProtocol.InvalidatedAreas[]): void {
    if (this.clientCaps?.supportsInvalidatedEvent) this.sendEvent(new InvalidatedEvent(areas));
  }

  // ---- state requests ----------------------------------------------------------

  private setVariable(response: DebugProtocol.Response, a: DebugProtocol.SetVariableArguments): void {
    const t = this.needStopped();
    const ref = a.variablesReference;
    const cpu = this.cpu;
    const v = evaluateExpression(String(a.value), makeEvalEnv(t, cpu)).value;
    const out = this.vars.set(ref, a.name, v);
    this.ok(response, { value: out.value, type: out.type, variablesReference: out.variablesReference, ...(out.memoryReference ? { memoryReference: out.memoryReference } : {}) });
    this.invalidate(/^(rip|eip|ip|cs\.|ss\.|rsp|esp|rbp|ebp)/.test(a.name) ? ['stacks', 'variables'] : ['variables']);
  }

  private evaluate(response: DebugProtocol.Response, a: DebugProtocol.EvaluateArguments): void {
    if (typeof a.expression !== 'string') throw new RequestError('expression must be a string');
    const t = this.need();
    const cpu = a.frameId !== undefined ? frameCpu(a.frameId) : this.cpu;
    this.ok(response, evaluate({ target: t, cpu, sources: this.sources, trace: this.trace, running: this.state === 'running' || this.run.busy }, a));
  }
}
