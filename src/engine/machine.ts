// The whole machine: vCPUs, guest-physical memory and the PC platform
// devices, run deterministically. vCPUs take turns in fixed instruction
// quanta; virtual time advances with retired instructions (1 instruction =
// 1 ns), and jumps to the next timer deadline when every vCPU is halted.
//
// Everything observable leaves through one event stream of trace records
// (src/common/trace.ts): ring, mode, exception, output, and the VMX records.
// A stop predicate on that stream lets the debugger stop on an event.

import { PhysicalMemory } from './mmu/physmem';
import { Cpu, Exit, type CpuEvents } from './x86/cpu';
import { ripHex } from './x86/unsupported';
import { MachineStop } from './x86/fault';
import { VECTOR_NAMES } from './x86/vectors';
import { createPcPlatform, type PcPlatform } from './devices/platform';
import type { VirtualClock } from './devices/types';
import type { TraceRecord, CpuMode, RingVia } from '../common/trace';
import type { LoadedImage } from '../loader/types';
import { bootMultiboot, bootLong64, bootReal, MULTIBOOT_INFO } from './boot';
import { buildMultibootInfo } from '../loader/multiboot-info';
import { hexNum } from '../common/hex';
import { buildAcpiTables } from './devices/acpi';
import { attachLocalApic } from './x86/exec/system-msr';
import { setCpuidTopology } from './x86/exec/cpuid';
import { exitReasonName } from './vmx/exit-reasons';
import { vmxInit, vmxSipi } from './vmx/events';
import { BuiltinVmm } from './vmx/builtin-vmm';

const hex64 = (v: bigint): string => '0x' + BigInt.asUintN(64, v).toString(16);

/**
 * Under QEMU, SeaBIOS keeps the top 128 KiB of RAM for itself and the Multiboot
 * map handed to the kernel ends below it. We leave it out too, so a kernel
 * sees the same mem_upper and memory map under vmscope as under QEMU.
 */
const FIRMWARE_HIGH_RESERVE = 128 * 1024;

/**
 * A machine whose vCPUs all sleep with interrupts enabled while timers keep
 * firing without waking any of them (their interrupts masked) is reported
 * idle after this much virtual time, instead of being simulated forever.
 */
const IDLE_LIMIT_NS = 60e9;

export interface MachineOptions {
  memoryMiB: number;
  cpus: number;
  cmdline?: string;
  /** Instructions each vCPU runs before the next one gets a turn. */
  quantum?: number;
  /** "builtin": the program runs as a guest in VMX non-root operation under vmscope's VMM (vmx/builtin-vmm.ts). */
  vmm?: 'none' | 'builtin';
}

/** Why Machine.run() returned. */
export type RunOutcome =
  | { kind: 'budget' }
  | { kind: 'exit'; status: number }
  | { kind: 'halted' }
  | { kind: 'idle'; message: string }
  | { kind: 'breakpoint'; cpu: number }
  | { kind: 'event'; cpu: number; record: TraceRecord }
  | { kind: 'paused' }
  | { kind: 'fatal'; cpu: number; stop: MachineStop };

export type TraceListener = (r: TraceRecord) => void;

export class Machine implements VirtualClock {
  readonly mem: PhysicalMemory;
  readonly cpus: Cpu[] = [];
  readonly platform: PcPlatform;
  private readonly listeners: TraceListener[] = [];
  /** Decides whether a record stops execution (debugger event filters). */
  stopOn: ((r: TraceRecord) => boolean) | undefined;
  private pendingStop: { cpu: number; record: TraceRecord } | undefined;
  private exitStatus: number | undefined;
  private timeBase = 0;
  private current = 0;
  private readonly quantum: number;
  private pauseRequested = false;
  /** Virtual time at which every vCPU last fell asleep (Infinity while any runs). */
  private idleSince = Infinity;

  constructor(readonly opts: MachineOptions) {
    if (!Number.isInteger(opts.memoryMiB) || opts.memoryMiB < 1 || opts.memoryMiB > 3072) {
      throw new RangeError(`memory must be 1..3072 MiB, got ${opts.memoryMiB}`);
    }
    if (!Number.isInteger(opts.cpus) || opts.cpus < 1 || opts.cpus > 64) {
      throw new RangeError(`cpus must be 1..64, got ${opts.cpus}`);
    }
    this.quantum = opts.quantum ?? 20_000;
    this.mem = new PhysicalMemory(opts.memoryMiB * 1024 * 1024);
    const clock: VirtualClock = this;
    this.platform = createPcPlatform({
      memory: this.mem,
      cpus: opts.cpus,
      clock,
      control: {
        sendInit: (n) => this.initCpu(n),
        sendSipi: (n, vector) => this.sipiCpu(n, vector),
        kick: (n) => { const c = this.cpus[n]; if (c) c.halted = false; },
      },
      currentCpu: () => this.current,
      onSerial: (byte) => this.serialOut(byte),
      onExit: (status) => { this.exitStatus = status; for (const c of this.cpus) c.stopRequested = true; },
      // The TSC-deadline timer must agree with what RDTSC returns on that vCPU.
      tsc: (n) => { const c = this.cpus[n]; return c ? c.icount + c.tscOffset : 0; },
    });
    const events = this.cpuEvents();
    for (let i = 0; i < opts.cpus; i++) {
      const cpu = new Cpu(i, this.mem, this.platform.io);
      cpu.events = events;
      cpu.lines = this.platform.interruptLines[i];
      attachLocalApic(cpu, this.platform.apics[i]!); // APIC_BASE, TSC_DEADLINE, x2APIC MSRs and CR8
      setCpuidTopology(cpu, opts.cpus);
      if (i > 0) cpu.waitForSipi = true; // APs wait for INIT-SIPI-SIPI, as on a PC
      this.cpus.push(cpu);
    }
    this.mem.onCodeWrite = (page, pa, len) => { for (const c of this.cpus) c.invalidateCodePage(page, pa, len); };
    if (opts.vmm === 'builtin') this.vmm = new BuiltinVmm(this.cpus, { initReset: (n) => this.platform.apics[n]?.initReset() });
  }

  /** The built-in VMM when the machine runs its program as a VMX guest (opts.vmm = "builtin"). */
  readonly vmm: BuiltinVmm | undefined;

  // ---- virtual time ------------------------------------------------------

  now(): number {
    const c = this.cpus[this.current];
    return this.timeBase + (c ? c.icount - this.quantumStartIcount : 0);
  }
  private quantumStartIcount = 0;

  private nextDeadline(): number {
    let d = Infinity;
    for (const t of this.platform.timedDevices) { const x = t.nextDeadline(); if (x < d) d = x; }
    return d;
  }

  private fireDeadlines(): void {
    const now = this.now();
    for (const t of this.platform.timedDevices) if (t.nextDeadline() <= now) t.onDeadline(now);
  }

  // ---- boot --------------------------------------------------------------

  /** Places an image in memory and sets the BSP's entry state per its boot protocol. */
  load(image: LoadedImage): void {
    for (const s of image.segments) {
      if (s.paddr + s.memsz > this.mem.size) {
        throw new RangeError(`image segment at ${hexNum(s.paddr)} (+${hexNum(s.memsz)} bytes) does not fit in ${this.opts.memoryMiB} MiB of guest RAM`);
      }
      this.mem.load(s.paddr, s.data);
      if (s.memsz > s.data.length) this.mem.bytes.fill(0, s.paddr + s.data.length, s.paddr + s.memsz);
    }
    // ACPI tables (RSDP → RSDT → MADT) where firmware leaves them, so guests can find the vCPUs and APICs.
    const acpi = buildAcpiTables({ cpus: this.cpus.length });
    this.mem.load(acpi.base, acpi.blob);
    const bsp = this.cpus[0]!;
    switch (image.boot) {
      case 'multiboot': {
        const info = buildMultibootInfo({
          memoryBytes: this.mem.size - FIRMWARE_HIGH_RESERVE, cmdline: `${image.path} ${this.opts.cmdline ?? ""}`, bootloaderName: 'vmscope', infoAddr: MULTIBOOT_INFO,
        });
        this.mem.load(MULTIBOOT_INFO, info);
        bootMultiboot(bsp, Number(image.entry), MULTIBOOT_INFO);
        break;
      }
      case 'long64': case 'flat64':
        bootLong64(bsp, Number(BigInt.asIntN(64, image.entry)));
        break;
      case 'reset': {
        const rom = image.segments[0]?.data ?? new Uint8Array(0);
        this.mem.mapRomAtTop(rom);
        bootReal(bsp, 0xf000, 0xfff0);
        bsp.segBase[1] = 0xffff0000; // CS base at reset, as hardware has it
        break;
      }
    }
    this.vmm?.start(); // built-in VMM: from here on the program runs in VMX non-root operation
  }

  private initCpu(n: number): void {
    const c = this.cpus[n];
    if (!c || n === 0) return;
    if (vmxInit(c, () => this.initCpu(n))) return; // VMX: blocked in root operation (until VMXOFF), a VM exit in non-root
    c.reset();
    this.platform.apics[n]?.initReset();
    c.waitForSipi = true;
  }

  private sipiCpu(n: number, vector: number): void {
    const c = this.cpus[n];
    if (!c || !c.waitForSipi) return;
    if (vmxSipi(c, vector)) return; // VMX: a VM exit for a guest waiting for SIPI, else ignored
    c.waitForSipi = false;
    bootReal(c, (vector & 0xff) << 8, 0);
  }

  // ---- events --------------------------------------------------------------

  onTrace(l: TraceListener): () => void {
    this.listeners.push(l);
    return () => { const i = this.listeners.indexOf(l); if (i >= 0) this.listeners.splice(i, 1); };
  }

  /** Publishes a record: listeners first, then the stop predicate. */
  emit(r: TraceRecord): void {
    for (const l of this.listeners) l(r);
    if (this.stopOn && r.type !== 'output' && this.stopOn(r)) {
      this.pendingStop ??= { cpu: r.cpu, record: r };
      const c = this.cpus[r.cpu];
      if (c) c.stopRequested = true;
    }
  }

  private base(cpu: Cpu): { cpu: number; icount: number; rip: string } {
    return { cpu: cpu.id, icount: cpu.icount, rip: ripHex(cpu.rip) };
  }

  /** Whether anyone would see a record (listeners or a stop predicate): records are only built then. */
  private get observed(): boolean {
    return this.listeners.length !== 0 || this.stopOn !== undefined;
  }

  private cpuEvents(): CpuEvents {
    return {
      ring: (cpu, from, to, via: RingVia, rip) => this.observed && this.emit({ type: 'ring', ...this.base(cpu), ...(rip !== undefined ? { rip: ripHex(rip) } : {}), from, to, via }),
      mode: (cpu, from: CpuMode, to: CpuMode) => this.observed && this.emit({ type: 'mode', ...this.base(cpu), from, to }),
      exception: (cpu, vector, errorCode, cr2) => this.observed && this.emit({
        type: 'exception', ...this.base(cpu), vector, name: VECTOR_NAMES[vector] ?? `vector ${vector}`,
        ...(errorCode >= 0 ? { errorCode } : {}),
        ...(cr2 !== undefined ? { cr2: hexNum(cr2) } : {}),
      }),
      // VMX (src/engine/vmx): VM exits, entries and failed entries as trace records.
      vmexit: (cpu, e) => this.observed && this.emit({
        type: 'vmexit', ...this.base(cpu), reason: exitReasonName(e.reason), reasonCode: e.reason,
        qualification: hex64(e.qualification), guestRip: hex64(e.guestRip),
        ...(e.guestPhysical !== undefined ? { guestPhysical: hex64(e.guestPhysical) } : {}),
        ...(e.guestLinear !== undefined ? { guestLinear: hex64(e.guestLinear) } : {}),
      }),
      vmentry: (cpu, launch) => this.observed && this.emit({ type: 'vmentry', ...this.base(cpu), launch }),
      vmentryFailure: (cpu, f) => this.observed && this.emit({ type: 'vmentry-failure', ...this.base(cpu), ...f }),
    };
  }

  private lineBuf = '';
  private serialOut(byte: number): void {
    const ch = String.fromCharCode(byte);
    this.onSerial?.(byte);
    // Output records carry whole lines (or what is pending when the run stops).
    this.lineBuf += ch;
    if (ch === '\n') this.flushOutput();
  }
  /** Raw serial bytes as they are written (CLI stdout, Debug Console). */
  onSerial: ((byte: number) => void) | undefined;

  flushOutput(): void {
    if (!this.lineBuf) return;
    const c = this.cpus[this.current]!;
    const text = this.lineBuf;
    this.lineBuf = '';
    this.emit({ type: 'output', ...this.base(c), text });
  }

  // ---- running -------------------------------------------------------------

  /** Asks a running run() to return at the next block boundary (debugger pause). */
  pause(): void {
    this.pauseRequested = true;
    for (const c of this.cpus) c.stopRequested = true;
  }

  get totalInstructions(): number {
    let n = 0;
    for (const c of this.cpus) n += c.icount;
    return n;
  }

  /**
   * Runs until `budget` more instructions have retired across all vCPUs, or
   * something stops the machine. Deterministic for a given image and inputs.
   */
  run(budget: number): RunOutcome {
    const target = this.totalInstructions + budget;
    let idleBudget = budget;
    this.pauseRequested = false;
    for (;;) {
      if (this.exitStatus !== undefined) return { kind: 'exit', status: this.exitStatus };
      const left = target - this.totalInstructions;
      if (left <= 0) return { kind: 'budget' };
      let allAsleep = true;
      for (let n = 0; n < this.cpus.length; n++) {
        const cpu = this.cpus[n]!;
        this.current = n;
        const deadline = this.nextDeadline();
        const untilDeadline = Number.isFinite(deadline) ? Math.max(1, Math.ceil(deadline - this.now())) : Infinity;
        const slice = Math.min(this.quantum, target - this.totalInstructions, untilDeadline);
        if (slice <= 0) break;
        this.quantumStartIcount = cpu.icount;
        const start = cpu.icount;
        const exit = cpu.run(slice);
        const ran = cpu.icount - start;
        if (ran > 0) { allAsleep = false; this.idleSince = Infinity; }
        this.timeBase += ran;
        this.quantumStartIcount = cpu.icount;
        this.fireDeadlines();
        if (this.exitStatus !== undefined) { this.flushOutput(); return { kind: 'exit', status: this.exitStatus }; }
        if (this.pendingStop) {
          const s = this.pendingStop;
          this.pendingStop = undefined;
          return { kind: 'event', cpu: s.cpu, record: s.record };
        }
        if (this.pauseRequested) { this.pauseRequested = false; return { kind: 'paused' }; }
        switch (exit) {
          case Exit.Breakpoint: return { kind: 'breakpoint', cpu: n };
          case Exit.Fatal: this.flushOutput(); return { kind: 'fatal', cpu: n, stop: cpu.stop! };
          default: break;
        }
      }
      if (allAsleep) {
        if (this.idleSince === Infinity) this.idleSince = this.now();
        // Every vCPU is asleep. With interrupts off everywhere nothing can wake them, timers or not.
        const wakeable = this.cpus.some((c) => !c.waitForSipi && c.interruptsEnabled);
        if (!wakeable) { this.flushOutput(); return { kind: 'halted' }; }
        // Otherwise jump virtual time to the next timer. Idle time counts against the budget
        // (1 ns = 1 instruction), so a timer that never wakes anyone (masked IRQ) cannot spin forever.
        const deadline = this.nextDeadline();
        if (Number.isFinite(deadline) && this.now() - this.idleSince > IDLE_LIMIT_NS) {
          this.flushOutput();
          return { kind: 'idle', message: `every vCPU has been halted for ${IDLE_LIMIT_NS / 1e9} s of virtual time; timers fire but no interrupt reaches a vCPU (masked?)` };
        }
        if (Number.isFinite(deadline)) {
          const skip = Math.max(0, deadline - this.now());
          this.timeBase = Math.max(this.timeBase, deadline);
          idleBudget -= Math.max(1, skip);
          this.fireDeadlines();
          if (idleBudget <= 0) return { kind: 'budget' };
          continue;
        }
        this.flushOutput();
        return { kind: 'idle', message: 'every vCPU is halted waiting for an interrupt and no timer is armed' };
      }
    }
  }

  /** Runs one instruction on one vCPU (debugger step). */
  step(cpuIndex: number): RunOutcome {
    const cpu = this.cpus[cpuIndex]!;
    this.current = cpuIndex;
    this.quantumStartIcount = cpu.icount;
    const before = cpu.icount;
    const exit = cpu.step();
    this.timeBase += cpu.icount - before;
    this.quantumStartIcount = cpu.icount;
    this.fireDeadlines();
    if (this.exitStatus !== undefined) return { kind: 'exit', status: this.exitStatus };
    if (this.pendingStop) { const s = this.pendingStop; this.pendingStop = undefined; return { kind: 'event', cpu: s.cpu, record: s.record }; }
    if (exit === Exit.Fatal) return { kind: 'fatal', cpu: cpuIndex, stop: cpu.stop! };
    if (exit === Exit.Halted && cpu.icount === before) return { kind: 'halted' };
    return { kind: 'budget' };
  }
}
