// The benchmark's link to the engine. bench/run.mjs bundles this file with
// esbuild into bench/out/harness.cjs and uses it two ways:
//
//   require('./out/harness.cjs')       qemuArgs(), qemuAvailable(), guestExpectation() for the suites
//   node bench/out/harness.cjs run IMAGE [--seconds S] [--max-instructions N]
//                                      one timed emulator run, one JSON line on stdout
//   node bench/out/harness.cjs exits IMAGE [--seconds S] [--max-instructions N]
//                                      the same through measureExitRate (src/engine/vmx/bench.ts):
//                                      its ExitRate plus maxRssKiB, one JSON line
//
// Each emulator run gets a process of its own so that its peak RSS
// (resourceUsage().maxRSS) is its own and every run starts equally cold (the
// N-iteration and 1-iteration runs must pay the same JIT warm-up for the
// subtraction of startup to be fair). The run goes through Machine directly,
// not dist/cli.js, so the clock covers exactly the run loop.

import { loadImage, ImageError } from '../src/loader';
import { Machine, type RunOutcome } from '../src/engine/machine';
import { GUESTS } from '../test/support/guests';
import { measureExitRate } from '../src/engine/vmx/bench';
export { qemuArgs, qemuAvailable } from '../test/support/qemu';
// Bochs (suite vmexit). Its ROM builder resolves scripts/ from test/support, not
// from this bundle: pass runOnBochs a ready 64 KiB ROM (.bin), which it uses as is.
export { runOnBochs, bochsAvailable, bochsMissingReason } from '../test/support/bochs';

/**
 * What a guest must print and exit with, and whether it needs a CPU feature
 * QEMU's TCG lacks (VMX), from the shared guest table. (Its image paths are
 * not used: they are resolved from the test directory, not this bundle's.)
 */
export function guestExpectation(name: string): { status: number; serial: string; needs?: 'vmx' } | undefined {
  const g = GUESTS[name];
  return g === undefined ? undefined : { status: g.status, serial: g.serial, ...(g.needs ? { needs: g.needs } : {}) };
}

/** Instructions per Machine.run() call between looks at the clock: ~25 ms at 40 MIPS. */
const SLICE = 1_000_000;
/** Serial bytes kept for the report (the bench guests print "done\n"). */
const SERIAL_CAP = 4096;

/** How a run ended, as JSON. `cut` means the time or instruction cap stopped it. */
export type RunEnd =
  | { kind: 'exit'; status: number }
  | { kind: 'halted' }
  | { kind: 'cut'; by: 'time' | 'instructions' }
  | { kind: 'idle'; message: string }
  | { kind: 'unsupported' | 'shutdown' | 'internal'; message: string }
  | { kind: 'bad-image'; message: string }
  | { kind: 'other'; message: string };

export interface RunReport {
  image: string;
  end: RunEnd;
  /** Instructions retired (the engine's exact count). */
  instructions: number;
  /** Wall-clock seconds spent in Machine.run() (hrtime). */
  seconds: number;
  /** Seconds to read the image, create the machine and load it (not in `seconds`). */
  loadSeconds: number;
  /** Peak resident set of this process, KiB. */
  maxRssKiB: number;
  serial: string;
}

export interface RunLimits {
  seconds: number;
  maxInstructions?: number;
  memoryMiB?: number;
}

function endOf(out: RunOutcome): RunEnd | undefined {
  switch (out.kind) {
    case 'budget': case 'paused': return undefined;
    case 'exit': return { kind: 'exit', status: out.status };
    case 'halted': return { kind: 'halted' };
    case 'idle': return { kind: 'idle', message: out.message };
    case 'fatal': return { kind: out.stop.kind, message: out.stop.message.split('\n')[0] ?? '' };
    default: return { kind: 'other', message: `unexpected stop: ${out.kind}` };
  }
}

export function runImage(image: string, limits: RunLimits): RunReport {
  const report = (end: RunEnd, instructions: number, seconds: number, loadSeconds: number, serial: string): RunReport => ({
    image, end, instructions, seconds, loadSeconds, maxRssKiB: process.resourceUsage().maxRSS, serial,
  });
  const t0 = process.hrtime.bigint();
  let machine: Machine;
  try {
    machine = new Machine({ memoryMiB: limits.memoryMiB ?? 128, cpus: 1 });
    machine.load(loadImage(image));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return report({ kind: e instanceof ImageError || e instanceof RangeError ? 'bad-image' : 'other', message }, 0, 0, 0, '');
  }
  let serial = '';
  machine.onSerial = (b) => { if (serial.length < SERIAL_CAP) serial += String.fromCharCode(b); };
  const maxInstr = limits.maxInstructions ?? Infinity;
  const t1 = process.hrtime.bigint();
  const deadline = t1 + BigInt(Math.round(limits.seconds * 1e9));
  let end: RunEnd | undefined;
  let now = t1;
  while (end === undefined) {
    const left = maxInstr - machine.totalInstructions;
    if (left <= 0) { end = { kind: 'cut', by: 'instructions' }; break; }
    end = endOf(machine.run(Math.min(SLICE, left)));
    now = process.hrtime.bigint();
    if (end === undefined && now >= deadline) end = { kind: 'cut', by: 'time' };
  }
  return report(end, machine.totalInstructions, Number(now - t1) / 1e9, Number(t1 - t0) / 1e9, serial);
}

function cli(argv: string[]): number {
  const [cmd, image, ...rest] = argv;
  if ((cmd !== 'run' && cmd !== 'exits') || image === undefined) {
    process.stderr.write('usage: node bench/out/harness.cjs run|exits IMAGE [--seconds S] [--max-instructions N] [--memory MiB]\n');
    return 2;
  }
  const limits: RunLimits = { seconds: 5 };
  for (let i = 0; i < rest.length; i += 2) {
    const v = Number(rest[i + 1]);
    if (!Number.isFinite(v) || v <= 0) { process.stderr.write(`harness: ${rest[i]} needs a positive number\n`); return 2; }
    if (rest[i] === '--seconds') limits.seconds = v;
    else if (rest[i] === '--max-instructions') limits.maxInstructions = v;
    else if (rest[i] === '--memory') limits.memoryMiB = v;
    else { process.stderr.write(`harness: unknown option ${rest[i]}\n`); return 2; }
  }
  if (cmd === 'exits') {
    const rate = measureExitRate(loadImage(image), limits);
    process.stdout.write(JSON.stringify({ image, ...rate, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
    return 0;
  }
  process.stdout.write(JSON.stringify(runImage(image, limits)) + '\n');
  return 0;
}

if (require.main === module) process.exitCode = cli(process.argv.slice(2));
