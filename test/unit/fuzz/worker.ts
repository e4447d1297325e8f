// Worker-thread side of the fuzz tests: runs a range of cases and posts one
// message per case. It runs in a worker (pool.ts bundles it with esbuild)
// so that a case that never returns -- an engine loop that retires no
// instructions, a REP that ignores the budget -- can be detected and the
// worker terminated, which a synchronous loop inside vitest cannot do.

import { parentPort, workerData } from 'node:worker_threads';
import { runCode, setReg, type Mode } from '../../support/cpu-harness';
import { Machine, type RunOutcome } from '../../../src/engine/machine';
import { Exit } from '../../../src/engine/x86/cpu';
import { ImageError, loadImageBytes } from '../../../src/loader';
import { imageCase, machineImage, streamCase, type SourceImage } from './cases';
import { describeError, judgeCpu, judgeMachine, type Verdict } from './verdict';

/** Cases from..to-1 of a suite; `budget` is instructions per case. */
export interface StreamJob { suite: 'cpu' | 'machine'; mode: Mode; seed: number; from: number; to: number; budget: number }
export interface ImageJob { suite: 'image'; seed: number; from: number; to: number; budget: number; sources: SourceImage[] }
/** Hand-written cases (found.test.ts): images with their own budgets and speed limits. */
export interface FixedJob { suite: 'fixed'; from: number; to: number; budget: number; cases: FixedCase[] }
export type Job = StreamJob | ImageJob | FixedJob;

export interface FixedCase {
  name: string;
  bytes: Uint8Array;
  loadAddress?: number;
  budget: number;
  /** Wall-clock cap and the lowest acceptable speed (see sliced()). */
  speed?: Speed;
}

export interface Speed { capMs: number; floorPerS: number }

export interface CaseReport extends Verdict {
  index: number;
  ms: number;
}

/**
 * Guest RAM per case, small because it dominates the cost of a case: with
 * 16-32 MiB, allocating and collecting RAM took half the time of a suite.
 * 4 MiB holds everything a stream touches (code at 1 MiB, cpu-harness's
 * data at 2 MiB); images get 8 MiB (the guests load at 1 MiB; accesses
 * beyond RAM are defined behaviour too).
 */
const STREAM_MIB = 4;
const IMAGE_MIB = 8;

/**
 * Speed as a robustness property. A case of ≤ 10,000 instructions normally
 * takes a few milliseconds, cold decode included, i.e. well over a million
 * instructions per second. Each case gets CAP_MS of wall clock (the first
 * in a worker more: it pays for warm-up); a case still running then is cut
 * ("cut" in the summary), and is a failure when it managed fewer than
 * FLOOR_PER_S instructions per second -- a thousand times below normal, an
 * engine bug in itself (the first ones found recompiled a block for every
 * store into the page being executed). The cap keeps such a bug from
 * costing the suite minutes.
 */
const FUZZ_SPEED: Speed = { capMs: 100, floorPerS: 10_000 };
const FIRST_CAP_MS = 5_000;
let firstCase = true;

/**
 * Instructions per run() call between looks at the clock: from 8 (a slow
 * path can take milliseconds per instruction) doubling up to 4096 while
 * slices are quick (small slices would cost a fast run its speed).
 */
const SLICE_MIN = 8;
const SLICE_MAX = 4096;

/**
 * Runs `step(n)` in slices until it reports the end of the run or the
 * budget is used, watching the clock. Returns how the run was cut, if it was.
 */
/**
 * Runs `step` in growing slices until the budget is spent; a case whose progress stays below the speed floor
 * is cut and reported slow. Progress counts REP string iterations too (`repWork`): a REP instruction retires
 * once however many iterations it runs, and a case spending its time in long REP loops is not slow.
 */
function sliced(budget: number, speed: Speed, ran: () => number, step: (n: number) => boolean,
  repWork: () => number = () => 0): { failure?: string } | undefined {
  // The fuzz suites' first case pays for warm-up; hand-written cases state their own cap.
  const cap = firstCase && speed === FUZZ_SPEED ? FIRST_CAP_MS : speed.capMs;
  firstCase = false;
  const t0 = performance.now();
  let slice = SLICE_MIN;
  let last = t0;
  while (ran() < budget) {
    if (step(Math.min(slice, budget - ran()))) return undefined;
    const now = performance.now();
    if (now - last < 2 && slice < SLICE_MAX) slice *= 2;
    last = now;
    const ms = now - t0;
    if (ms > cap) {
      const n = ran();
      const rate = Math.round((n + repWork()) / (ms / 1000));
      // Speed is a benchmark matter, never a test verdict (it depends on the machine's load): a slow case is
      // cut and reported loudly in the summary, not failed. Hangs are caught separately by the worker watchdog.
      if (rate < speed.floorPerS) {
        console.warn(`SLOW (not a failure): ${n} instructions (+${repWork()} REP iterations) in ${Math.round(ms)} ms (${rate} per s, below ${speed.floorPerS}), cut there`);
      }
      return {};
    }
  }
  return undefined;
}

/** The verdict of a run that `sliced` may have cut. */
function withCut(v: Verdict, cut: { failure?: string } | undefined): Verdict {
  if (cut === undefined || v.failure !== undefined) return v;
  return cut.failure !== undefined ? { ...v, outcome: 'cut', failure: cut.failure } : { ...v, outcome: 'cut' };
}

function cpuCase(job: StreamJob, index: number): Verdict {
  const c = streamCase(job.seed, job.suite, job.mode, index);
  // runCode builds and boots the vCPU; limit 0 leaves the running to the sliced loop here.
  const r = runCode(c.code, job.mode, { regs: c.regs, limit: 0, memoryMiB: STREAM_MIB });
  let exit = Exit.Budget;
  const cut = sliced(job.budget, FUZZ_SPEED, () => r.cpu.icount, (n) => (exit = r.cpu.run(n)) !== Exit.Budget, () => r.cpu.repIterations);
  return withCut(judgeCpu(exit, r.cpu, job.budget), cut);
}

interface BootOptions {
  loadAddress?: number;
  regs?: Record<string, bigint>;
  cpus?: number;
  memoryMiB: number;
  budget: number;
  speed?: Speed;
}

function bootAndRun(bytes: Uint8Array, o: BootOptions): Verdict {
  const { loadAddress, budget } = o;
  let image;
  try {
    image = loadImageBytes(bytes, 'fuzz.img', loadAddress === undefined ? {} : { loadAddress });
  } catch (e) {
    if (e instanceof ImageError) {
      return e.message.includes('\n') ? { outcome: 'bad-image', failure: `ImageError message spans lines: ${JSON.stringify(e.message)}` } : { outcome: 'bad-image' };
    }
    return { outcome: 'throw', failure: `loadImageBytes threw something other than ImageError: ${describeError(e)}` };
  }
  const machine = new Machine({ memoryMiB: o.memoryMiB, cpus: o.cpus ?? 1 });
  try {
    machine.load(image);
  } catch (e) {
    // Machine.load's one deliberate refusal: a segment beyond guest RAM (the loader cannot know the RAM size).
    if (e instanceof RangeError && /does not fit in \d+ MiB of guest RAM$/.test(e.message)) return { outcome: 'too-big' };
    return { outcome: 'throw', failure: `Machine.load threw: ${describeError(e)}` };
  }
  const bsp = machine.cpus[0];
  if (bsp === undefined) throw new Error('no BSP');
  for (const [name, v] of Object.entries(o.regs ?? {})) setReg(bsp, name, v);
  let out: RunOutcome = { kind: 'budget' };
  const cut = sliced(budget, o.speed ?? FUZZ_SPEED, () => machine.totalInstructions, (n) => (out = machine.run(n)).kind !== 'budget',
    () => machine.cpus.reduce((a, c) => a + c.repIterations, 0));
  return withCut(judgeMachine(out, machine, budget), cut);
}

function machineCase(job: StreamJob, index: number): Verdict {
  const c = streamCase(job.seed, job.suite, job.mode, index);
  const img = machineImage(c, job.mode, index);
  // Every eighth case has a second vCPU, waiting for INIT-SIPI as an AP does.
  return bootAndRun(img.bytes, { ...(img.loadAddress !== undefined ? { loadAddress: img.loadAddress } : {}), regs: c.regs, cpus: index % 8 === 7 ? 2 : 1, memoryMiB: STREAM_MIB, budget: job.budget });
}

function imageRun(job: ImageJob, index: number): Verdict {
  const c = imageCase(job.seed, index, job.sources);
  return bootAndRun(c.bytes, { memoryMiB: IMAGE_MIB, budget: job.budget });
}

function runOne(job: Job, index: number): Verdict {
  try {
    if (job.suite === 'image') return imageRun(job, index);
    if (job.suite === 'fixed') {
      const c = job.cases[index];
      if (c === undefined) throw new Error(`no fixed case ${index}`);
      return bootAndRun(c.bytes, { ...c, memoryMiB: 16 });
    }
    return job.suite === 'cpu' ? cpuCase(job, index) : machineCase(job, index);
  } catch (e) {
    return { outcome: 'throw', failure: `exception escaped the engine: ${describeError(e)}` };
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('worker.ts runs as a worker thread (see pool.ts)');
  const job = workerData as Job;
  for (let i = job.from; i < job.to; i++) {
    const t0 = performance.now();
    const v = runOne(job, i);
    const report: CaseReport = { index: i, ms: performance.now() - t0, ...v };
    port.postMessage(report);
  }
}

main();
