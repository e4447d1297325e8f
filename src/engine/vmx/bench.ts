// The benchmark hook for VM exits: runs an image on a Machine and reports
// exits per second (bench/ owns the runner and the reporting; this is the
// engine side). Exits are counted by the VMX engine itself (cpu.vmx.exits),
// so no trace records are built during the measured run.

import { Machine, type RunOutcome } from '../machine';
import type { LoadedImage } from '../../loader/types';
import { exitReasonName } from './exit-reasons';

export interface ExitCounts { total: number; byReason: Record<string, number> }

/** VM exits so far on every vCPU of a machine, by SDM reason name. */
export function exitCounts(machine: Machine): ExitCounts {
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const c of machine.cpus) {
    total += c.vmx.exits;
    c.vmx.exitsByReason.forEach((n, r) => { if (n) byReason[exitReasonName(r)] = (byReason[exitReasonName(r)] ?? 0) + n; });
  }
  return { total, byReason };
}

export interface ExitRateOptions {
  /** "builtin" runs the image as a guest of vmscope's VMM; "none" (default) lets it be a hypervisor itself. */
  vmm?: 'none' | 'builtin';
  memoryMiB?: number;
  cpus?: number;
  /** Wall-clock cap (default 60 s) and instruction cap (default none). */
  seconds?: number;
  maxInstructions?: number;
}

export interface ExitRate {
  exits: number;
  byReason: Record<string, number>;
  instructions: number;
  /** Wall-clock seconds in Machine.run() only (not loading). */
  seconds: number;
  exitsPerSecond: number;
  /** How the run ended: exit (with status), halted, fatal, or budget when a cap stopped it. */
  outcome: RunOutcome['kind'];
  status?: number;
  serial: string;
}

const SLICE = 1_000_000;

/** Loads `image` on a fresh machine, runs it to its end (or a cap) and reports the VM-exit rate. */
export function measureExitRate(image: LoadedImage, opts: ExitRateOptions = {}): ExitRate {
  const machine = new Machine({ memoryMiB: opts.memoryMiB ?? 128, cpus: opts.cpus ?? 1, vmm: opts.vmm ?? 'none' });
  let serial = '';
  machine.onSerial = (b) => { if (serial.length < 4096) serial += String.fromCharCode(b); };
  machine.load(image);
  const deadline = Date.now() + (opts.seconds ?? 60) * 1000;
  const max = opts.maxInstructions ?? Infinity;
  const t0 = process.hrtime.bigint();
  let out: RunOutcome;
  for (;;) {
    out = machine.run(Math.min(SLICE, max - machine.totalInstructions));
    if (out.kind !== 'budget' && out.kind !== 'paused') break;
    if (machine.totalInstructions >= max || Date.now() > deadline) break;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = exitCounts(machine);
  return {
    exits: c.total, byReason: c.byReason, instructions: machine.totalInstructions, seconds,
    exitsPerSecond: seconds > 0 ? c.total / seconds : 0, outcome: out.kind,
    ...(out.kind === 'exit' ? { status: out.status } : {}), serial,
  };
}
