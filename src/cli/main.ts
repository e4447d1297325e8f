// `vmscope` command line: run a guest image without VS Code.
//
//   vmscope run PROGRAM [--engine E] [--vmm none|builtin] [--memory MiB]
//       [--cpus N] [--cmdline S] [--load-address A] [--entry A]
//       [--trace vmexit,ring,...|all] [--trace-file FILE]
//       [--max-instructions N] [--timeout SECONDS]
//   vmscope trace PROGRAM [...]     same as run with --trace all
//
// Serial output goes to stdout as the guest writes it; --trace prints a
// readable trace on stderr; --trace-file writes JSON lines. Exit status (see
// exit-codes.ts): the guest's debug-exit status (always odd), 0 when the
// guest halts with interrupts off, an even status for everything else.

import { createWriteStream, type WriteStream } from 'node:fs';
import { ExitCode } from './exit-codes';
import { parseArgs, UsageError, USAGE } from './args';
import { loadImage, ImageError } from '../loader';
import { Machine } from '../engine/machine';
import { formatTraceRecord, type TraceRecord } from '../common/trace';
import { parseLaunchConfig, LaunchConfigError } from '../common/launch';

/** Instructions per slice between checks of the wall clock and output flushing. */
const SLICE = 2_000_000;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`vmscope: ${e.message}\n${e.showUsage ? USAGE : ''}`);
      return e.exitCode;
    }
    throw e;
  }
  if (args.command === 'help') { process.stdout.write(USAGE); return ExitCode.Ok; }
  if (args.command === 'version') { process.stdout.write(`vmscope ${VERSION}\n`); return ExitCode.Ok; }

  let config;
  try {
    config = parseLaunchConfig(args.config);
  } catch (e) {
    if (e instanceof LaunchConfigError) { process.stderr.write(`vmscope: ${e.message}\n`); return ExitCode.Usage; }
    throw e;
  }
  if (config.engine !== 'emulator') {
    process.stderr.write(`vmscope: engine "${config.engine}" is not available in this build yet; use --engine emulator\n`);
    return ExitCode.EngineUnavailable;
  }

  let image;
  try {
    image = loadImage(config.program, { loadAddress: config.loadAddress, entry: config.entry });
  } catch (e) {
    if (e instanceof ImageError) { process.stderr.write(`vmscope: bad image: ${e.message}\n`); return ExitCode.BadImage; }
    throw e;
  }

  let machine: Machine;
  try {
    machine = new Machine({ memoryMiB: config.memory, cpus: config.cpus, cmdline: config.cmdline, vmm: config.vmm });
    machine.load(image);
  } catch (e) {
    process.stderr.write(`vmscope: cannot start the guest: ${e instanceof Error ? e.message : String(e)}\n`);
    return ExitCode.BadImage;
  }

  const traceTypes = args.trace;
  let traceFile: WriteStream | undefined;
  if (args.traceFile) traceFile = createWriteStream(args.traceFile);
  machine.onSerial = (b) => process.stdout.write(Buffer.of(b));
  // Subscribe only when records are wanted: building them costs time on every ring change.
  if (traceTypes.size > 0 || traceFile) {
    machine.onTrace((r: TraceRecord) => {
      if (traceFile) traceFile.write(JSON.stringify(r) + '\n'); // output records included (whole lines)
      if (r.type !== 'output' && traceTypes.has(r.type)) process.stderr.write(formatTraceRecord(r) + '\n');
    });
  }

  const started = Date.now();
  const deadline = args.timeoutSeconds !== undefined ? started + args.timeoutSeconds * 1000 : Infinity;
  const maxInstr = args.maxInstructions ?? Infinity;
  let status: number;
  for (;;) {
    const left = maxInstr - machine.totalInstructions;
    if (left <= 0) {
      status = fail(ExitCode.LimitReached, `instruction limit reached (${args.maxInstructions} instructions) at rip ${ripOf(machine)}`);
      break;
    }
    if (Date.now() > deadline) {
      status = fail(ExitCode.LimitReached, `timeout after ${args.timeoutSeconds} s (${machine.totalInstructions} instructions) at rip ${ripOf(machine)}`);
      break;
    }
    const out = machine.run(Math.min(SLICE, left));
    if (out.kind === 'budget' || out.kind === 'paused') {
      // Let stdout drain and signals through between slices.
      await new Promise((r) => setImmediate(r));
      continue;
    }
    machine.flushOutput();
    if (out.kind === 'exit') { status = out.status; break; }
    if (out.kind === 'halted') { status = ExitCode.Ok; break; }
    if (out.kind === 'idle') { status = fail(ExitCode.Idle, `guest idle: ${out.message}`); break; }
    if (out.kind === 'fatal') {
      const k = out.stop.kind;
      status = fail(k === 'unsupported' ? ExitCode.Unsupported : k === 'shutdown' ? ExitCode.Shutdown : ExitCode.Internal,
        `${out.stop.message} (cpu ${out.cpu})`);
      break;
    }
    status = fail(ExitCode.Internal, `unexpected stop: ${out.kind}`);
    break;
  }
  if (traceFile) await new Promise<void>((r) => traceFile!.end(r));
  if (args.stats) {
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`vmscope: ${machine.totalInstructions} instructions in ${secs.toFixed(3)} s (${(machine.totalInstructions / secs / 1e6).toFixed(1)} MIPS)\n`);
  }
  return status;
}

function ripOf(m: Machine): string {
  const c = m.cpus[0]!;
  return '0x' + BigInt.asUintN(64, BigInt(c.rip)).toString(16);
}

function fail(code: ExitCode, message: string): number {
  process.stderr.write(`vmscope: ${message.split('\n')[0]}\n`);
  return code;
}

declare const VMSCOPE_VERSION: string | undefined;
const VERSION = typeof VMSCOPE_VERSION === 'string' ? VMSCOPE_VERSION : 'dev';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`vmscope: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = ExitCode.Internal;
  },
);
