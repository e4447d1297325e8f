// The emulator backend: the Target interface over engine/machine.ts.
//
// Running: resume() runs the machine in slices sized to take about 10 ms of
// wall time, yielding to the event loop (setImmediate) between slices, so a
// pause request, a breakpoint change or any other DAP message is handled
// within a slice even when the guest spins in an endless loop.
//
// Stops: breakpoints are linear addresses (see target.ts); event filters are
// the machine's stopOn predicate; the guest's write to the debug-exit port
// ends the run as 'exited'; an unsupported instruction or a triple fault is a
// 'fatal' stop carrying the engine's message. The session survives both: an
// unsupported instruction can be stepped past by changing RIP, and after a
// triple fault the machine is dead, so the next resume reports it exited.

import { Machine, type RunOutcome } from '../engine/machine';
import type { Cpu } from '../engine/x86/cpu';
import type { MachineStop } from '../engine/x86/fault';
import { SS, RBP, RSP, CS } from '../engine/x86/regs';
import { loadImage, loadSymbols, type LoadedImage } from '../loader';
import type { LaunchConfig } from '../common/launch';
import type { TraceRecord } from '../common/trace';
import type {
  AddressSpace, CpuInfo, DataWatch, DataWatchResult, ExitReasonNames, MemoryRegion, RegisterGroup, StopEvent, Target,
  TargetCapabilities, ThreadInfo, VmcsInfo, WalkInfo,
} from './target';
import { vmcsInfo, translateGpaEpt, translateTwoStage, twoStage, memoryMapEpt } from './emulator-vmx';
import { registerGroups, setRegisterByName, gpr64, readRegisterByName } from './emulator-registers';
import {
  readGva, readGpa, writeGva, writeGpa, translateGva, memoryMapGva, memoryMapGpa, gvaToLinear, debuggerTranslate,
  type PhysView,
} from './emulator-memory';
import { WatchSet } from './emulator-watch';
import { mergeSymbols } from './symbols';
import { EXIT_REASONS, parseExitReason } from '../engine/vmx/exit-reasons';

/** Exit status reported after a triple fault, as the CLI's (ExitCode.Shutdown). */
const SHUTDOWN_STATUS = 6;
/** Wall time one slice should take: well under the 50 ms pause budget. */
const SLICE_MS = 8;
const MIN_SLICE = 5_000;
const MAX_SLICE = 2_000_000;
const MASK48 = (1n << 48n) - 1n;

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class EmulatorTarget implements Target {
  readonly capabilities: TargetCapabilities = {
    stepBack: false,
    vmx: true,
    dataBreakpoints: true,
    writeRegisters: true,
    events: ['vmexit', 'vmentry', 'vmentry-failure', 'ring', 'mode', 'exception', 'output'],
  };

  /** VM-exit reason names for the `vmexit` filter conditions (the engine's one table). */
  readonly exitReasons: ExitReasonNames = {
    byName: (name) => parseExitReason(name),
    name: (code) => EXIT_REASONS[code],
  };

  private m: Machine | undefined;
  private img: LoadedImage | undefined;
  private view: PhysView | undefined;
  private watches: WatchSet | undefined;
  private bps: bigint[] = [];
  private filter: ((r: TraceRecord) => boolean) | undefined;
  private readonly traceListeners = new Set<(r: TraceRecord) => void>();
  private readonly outputListeners = new Set<(t: string) => void>();
  private readonly decoder = new TextDecoder('utf-8');
  private serial: number[] = [];
  private pauseRequested = false;
  private isRunning = false;
  /** Instructions per slice; starts small because the first slices also pay for V8 warm-up and decoding. */
  private slice = 20_000;
  /** Fatal stops already reported (a second resume must not report them again). */
  private readonly reported = new WeakSet<MachineStop>();
  /** Set once the guest triple-faulted: the machine cannot go on. */
  private dead: string | undefined;
  private exitStatus: number | undefined;

  get image(): LoadedImage | undefined { return this.img; }
  get running(): boolean { return this.isRunning; }

  private get machine(): Machine {
    if (!this.m) throw new Error('no guest is loaded');
    return this.m;
  }

  private cpu(n: number): Cpu {
    const c = this.machine.cpus[n];
    if (!c) throw new Error(`no vCPU ${n} (the guest has ${this.machine.cpus.length})`);
    return c;
  }

  // ---- lifecycle -------------------------------------------------------------

  async launch(config: LaunchConfig): Promise<void> {
    const image = loadImage(config.program, { loadAddress: config.loadAddress, entry: config.entry });
    const extra = config.symbols.map((p) => loadSymbols(p));
    this.img = extra.length ? mergeSymbols(image, extra) : image;
    const m = new Machine({ memoryMiB: config.memory, cpus: config.cpus, cmdline: config.cmdline, vmm: config.vmm });
    m.load(image);
    this.m = m;
    const rom = image.boot === 'reset' ? image.segments[0]?.data : undefined;
    this.view = { mem: m.mem, ...(rom ? { rom: { base: 2 ** 32 - rom.length, data: rom } } : {}) };
    this.watches = new WatchSet(m);
    m.onSerial = (b) => { this.serial.push(b); };
    m.onTrace((r) => { for (const l of this.traceListeners) l(r); });
    m.stopOn = this.filter;
    this.applyBreakpoints();
  }

  async terminate(): Promise<void> {
    this.pauseRequested = true;
    this.flushSerial();
    this.m = undefined;
  }

  // ---- running ---------------------------------------------------------------

  pause(): void { this.pauseRequested = true; }

  async resume(): Promise<StopEvent> {
    const early = this.beforeRun();
    if (early) return early;
    const m = this.machine;
    this.pauseRequested = false;
    this.isRunning = true;
    try {
      let lastYield = performance.now();
      for (;;) {
        const t0 = performance.now();
        const before = m.totalInstructions;
        let out: RunOutcome;
        try {
          // Single steps cost about 0.4 µs each: 20k of them stay within the slice time.
          out = this.segmentedBreakpoints() ? this.stepSlice(Math.min(this.slice, 20_000)) : m.run(this.slice);
        } catch (e) {
          return this.internal(e);
        }
        const t1 = performance.now();
        this.adaptSlice(t1 - t0, m.totalInstructions - before);
        this.flushSerial();
        const stop = this.outcome(out);
        if (stop) return stop;
        if (this.pauseRequested) return { reason: 'pause', cpu: 0 };
        // A run cut short (a write to a watched page that changed nothing) goes on without a yield
        // unless a slice's worth of time has passed.
        if (out.kind === 'budget' || t1 - lastYield >= SLICE_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
          if (this.pauseRequested || !this.m) return { reason: 'pause', cpu: 0 };
        }
      }
    } finally {
      this.isRunning = false;
      this.flushSerial();
    }
  }

  async stepInstruction(n: number): Promise<StopEvent> {
    const early = this.beforeRun();
    if (early) return early;
    const m = this.machine;
    const cpu = this.cpu(n);
    let out: RunOutcome;
    try {
      if (cpu.halted || cpu.waitForSipi) {
        // A halted vCPU only moves when time passes: let the machine run until it executes something.
        const start = cpu.icount;
        out = { kind: 'budget' };
        for (let i = 0; i < 10_000 && cpu.icount === start; i++) {
          out = m.run(1);
          if (out.kind !== 'budget') break;
        }
      } else {
        out = m.step(n);
      }
    } catch (e) {
      return this.internal(e);
    } finally {
      this.flushSerial();
    }
    return this.outcome(out) ?? { reason: 'step', cpu: n };
  }

  /**
   * Whether breakpoints must be checked here rather than by the engine: it
   * compares them with RIP, which is not the linear address when CS has a
   * base (real mode, segmented protected mode). Single vCPU only; with more,
   * the CS-base aliases of applyBreakpoints() are the best effort.
   */
  private segmentedBreakpoints(): boolean {
    const m = this.machine;
    if (this.bps.length === 0 || m.cpus.length !== 1) return false;
    const c = m.cpus[0]!;
    return c.bits !== 64 && c.segBase[CS] !== 0;
  }

  /** A slice of single steps, each preceded by a breakpoint check on the linear RIP. */
  private stepSlice(budget: number): RunOutcome {
    const m = this.machine;
    const c = m.cpus[0]!;
    const linear = new Set(this.bps.filter((a) => a < 1n << 32n).map(Number));
    for (let i = 0; i < budget; i++) {
      const la = c.ripLinear();
      if (linear.has(la) && c.skipBreakpointAt !== c.rip) return { kind: 'breakpoint', cpu: 0 };
      c.skipBreakpointAt = Number.NaN;
      const out = c.halted ? m.run(1) : m.step(0);
      if (out.kind !== 'budget') return out;
      if (this.watches?.pending) return { kind: 'paused' };
      if (c.bits === 64 || c.segBase[CS] === 0) return { kind: 'budget' }; // the engine's own check works again
    }
    return { kind: 'budget' };
  }

  /** Checks that must precede any execution; returns a stop when the guest cannot run. */
  private beforeRun(): StopEvent | undefined {
    const m = this.machine;
    if (this.exitStatus !== undefined) return { reason: 'exited', status: this.exitStatus, description: 'the guest has exited' };
    if (this.dead !== undefined) {
      this.exitStatus = SHUTDOWN_STATUS;
      return { reason: 'exited', status: SHUTDOWN_STATUS, description: `the guest shut down: ${this.dead}` };
    }
    for (let i = 0; i < m.cpus.length; i++) {
      const c = m.cpus[i]!;
      if (!c.stop) continue;
      if (!this.reported.has(c.stop)) return this.fatal(i, c.stop); // happened behind an event stop; report it now
      c.stop = undefined; // reported: the user may have moved RIP past it
    }
    this.applyBreakpoints();
    m.cpus.forEach((c, i) => {
      c.skipBreakpointAt = c.breakpoints.has(c.rip) || this.bps.includes(this.pc(i)) ? c.rip : Number.NaN;
    });
    this.watches?.arm();
    return undefined;
  }

  private adaptSlice(ms: number, ran: number): void {
    if (ran < this.slice / 2) return; // stopped early: says nothing about speed
    const next = ms > 0 ? Math.round(this.slice * (SLICE_MS / ms)) : this.slice * 2;
    this.slice = Math.max(MIN_SLICE, Math.min(MAX_SLICE, Math.round((this.slice + next) / 2)));
  }

  /** Turns a machine outcome into a stop, or undefined to keep running. */
  private outcome(out: RunOutcome): StopEvent | undefined {
    const hit = this.watches?.check();
    if (hit) {
      return { reason: 'data breakpoint', cpu: hit.cpu, address: hit.address, access: hit.access, watchId: hit.id,
        description: hit.description };
    }
    switch (out.kind) {
      case 'budget': case 'paused': return undefined;
      case 'exit':
        this.exitStatus = out.status;
        return { reason: 'exited', status: out.status,
          description: `the guest wrote 0x${(out.status >>> 1).toString(16)} to the debug-exit port (status ${out.status})` };
      case 'halted':
        return { reason: 'halted', cpu: 0, description: 'every vCPU is halted with interrupts disabled (HLT): nothing can wake it' };
      case 'idle':
        return { reason: 'fatal', cpu: 0, kind: 'idle', message: out.message };
      case 'breakpoint': {
        const address = this.pc(out.cpu);
        if (!this.bps.includes(address)) {
          // An alias the engine matched (see applyBreakpoints): not the user's address, run on.
          this.cpu(out.cpu).skipBreakpointAt = this.cpu(out.cpu).rip;
          return undefined;
        }
        return { reason: 'breakpoint', cpu: out.cpu, address };
      }
      case 'event': return { reason: 'event', cpu: out.cpu, record: out.record };
      case 'fatal': return this.fatal(out.cpu, out.stop);
    }
  }

  private fatal(cpu: number, stop: MachineStop): StopEvent {
    this.reported.add(stop);
    if (stop.kind === 'shutdown') this.dead = stop.message;
    return { reason: 'fatal', cpu, kind: stop.kind, message: stop.message };
  }

  private internal(e: unknown): StopEvent {
    const message = `internal error in the emulator: ${e instanceof Error ? e.message : String(e)}`;
    this.dead = message;
    return { reason: 'fatal', cpu: 0, kind: 'internal', message };
  }

  private flushSerial(): void {
    if (this.serial.length === 0) return;
    const text = this.decoder.decode(Uint8Array.from(this.serial), { stream: true });
    this.serial = [];
    if (text) for (const l of this.outputListeners) l(text);
  }

  // ---- breakpoints and filters ---------------------------------------------------

  setBreakpoints(addresses: bigint[]): void {
    this.bps = [...new Set(addresses.map((a) => BigInt.asUintN(64, a)))];
    if (this.m) this.applyBreakpoints();
  }

  /**
   * The engine compares breakpoints with cpu.rip but files them by the page
   * of the linear RIP. So each address goes in as its linear form (page key,
   * and RIP in flat 32-bit code), its signed 64-bit form (RIP of a
   * higher-half address) and, for a vCPU with a CS base (real mode), as
   * address - CS base. Aliases that match elsewhere are filtered in outcome().
   */
  private applyBreakpoints(): void {
    const m = this.machine;
    const vals = new Set<number>();
    for (const a of this.bps) {
      vals.add(Number(a & MASK48));
      const s = BigInt.asIntN(64, a);
      if (s >= BigInt(Number.MIN_SAFE_INTEGER)) vals.add(Number(s));
      for (const c of m.cpus) {
        if (c.bits === 64 || c.segBase[CS] === 0) continue;
        const ip = a - BigInt(c.segBase[CS]!);
        if (ip >= 0n && ip < 1n << 32n) vals.add(Number(ip));
      }
    }
    for (const c of m.cpus) c.setBreakpoints(vals);
  }

  setDataWatches(cpu: number, watches: DataWatch[]): DataWatchResult[] {
    const c = this.cpu(cpu);
    return this.watches!.set(watches, (gva) => {
      const la = gvaToLinear(c, gva);
      return la === undefined ? undefined : debuggerTranslate(c, la);
    });
  }

  setEventFilter(filter: ((r: TraceRecord) => boolean) | undefined): void {
    this.filter = filter;
    if (this.m) this.m.stopOn = filter;
  }

  onTrace(listener: (r: TraceRecord) => void): () => void {
    this.traceListeners.add(listener);
    return () => { this.traceListeners.delete(listener); };
  }

  onOutput(listener: (text: string) => void): () => void {
    this.outputListeners.add(listener);
    return () => { this.outputListeners.delete(listener); };
  }

  // ---- state -------------------------------------------------------------------

  threads(): ThreadInfo[] {
    if (!this.m) return [];
    return this.m.cpus.map((c, i) => {
      if (c.waitForSipi) return { id: i, name: `vCPU ${i} (waiting for SIPI)` };
      return { id: i, name: `vCPU ${i} (ring ${c.cpl}, ${c.modeName}${c.halted ? ', halted' : ''})` };
    });
  }

  cpuInfo(n: number): CpuInfo {
    const c = this.cpu(n);
    return {
      id: n, ring: c.cpl, mode: c.modeName, bits: c.bits, halted: c.halted, waiting: c.waitForSipi, icount: c.icount,
      stackPointer: this.stackLinear(c, gpr64(c, RSP)), framePointer: this.stackLinear(c, gpr64(c, RBP)),
    };
  }

  private stackLinear(c: Cpu, v: bigint): bigint {
    if (c.bits === 64) return v;
    const mask = c.stackSize === 2 ? 0xffffn : 0xffffffffn;
    return (BigInt(c.segBase[SS]!) + (v & mask)) & 0xffffffffn;
  }

  pc(n: number): bigint {
    const c = this.cpu(n);
    if (c.bits === 64) return BigInt.asUintN(64, BigInt(c.rip));
    return BigInt(c.ripLinear());
  }

  registers(n: number): RegisterGroup[] {
    const c = this.cpu(n);
    return registerGroups(c, { pc: this.pc(n), readable: (a) => {
      const la = gvaToLinear(c, a);
      return la !== undefined && debuggerTranslate(c, la) !== undefined && this.readMemory(n, 'gva', a, 1).data.length === 1;
    } });
  }

  readRegister(n: number, name: string): bigint | undefined {
    return readRegisterByName(this.cpu(n), name);
  }

  setRegister(n: number, name: string, value: bigint): void {
    if (this.isRunning) throw new Error('the guest is running: pause it first');
    setRegisterByName(this.cpu(n), name, value);
  }

  readMemory(n: number, space: AddressSpace, address: bigint, length: number): { data: Uint8Array; unreadable: number } {
    const v = this.view!;
    if (space === 'gva') return readGva(this.cpu(n), v, address, length);
    if (space === 'gpa') return readGpa(v, address, length);
    return { data: new Uint8Array(0), unreadable: length }; // no host-physical space without EPT
  }

  writeMemory(n: number, space: AddressSpace, address: bigint, data: Uint8Array): number {
    const v = this.view!;
    const w = this.watches!;
    if (space === 'gva') return w.quietly(() => writeGva(this.cpu(n), v, address, data));
    if (space === 'gpa') return w.quietly(() => writeGpa(v, address, data));
    return 0;
  }

  translate(n: number, space: AddressSpace, address: bigint): WalkInfo {
    const c = this.cpu(n);
    if (space === 'gva') return twoStage(c) ? translateTwoStage(c, address) : translateGva(c, address);
    if (space === 'gpa') return translateGpaEpt(c, address);
    throw new Error('hpa is already a host-physical address: there is nothing to translate');
  }

  vmcs(n: number): VmcsInfo | undefined {
    return vmcsInfo(this.cpu(n));
  }

  memoryMap(n: number, space: AddressSpace): MemoryRegion[] {
    if (space === 'gva') return memoryMapGva(this.cpu(n), this.view!);
    // With an EPT pointer current (non-root, or a VMCS that enables EPT), guest-physical means what EPT maps.
    if (space === 'gpa') return memoryMapEpt(this.cpu(n)) ?? memoryMapGpa(this.view!);
    throw new Error('there is no host-physical map without EPT (VMX)');
  }
}
