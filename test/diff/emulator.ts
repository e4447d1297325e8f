// Runs a batch image on vmscope's engine in-process (Machine + loadImage, as
// `vmscope run` does) and collects the serial transcript. When the engine
// stops inside a sequence (an unsupported instruction, a triple fault, an
// internal error, a sequence that never ends), the stop is recorded against
// that sequence and the run goes on with the next one: the vCPU's stop is
// cleared and RIP set to the harness's `resume_next` (which resets the
// stack and starts the next sequence), so one missing instruction costs one
// sequence, not a batch. If that does not work (say the stop left the vCPU
// outside 64-bit mode), the image is booted again with `diff_start` patched
// to the next sequence. A stop outside the sequence bodies (boot, dump code)
// ends the batch.
//
// The run yields to the event loop between slices so that a QEMU child
// running at the same time can drain its serial pipe.

import { loadImage } from '../../src/loader';
import { Machine } from '../../src/engine/machine';
import type { LoadedImage } from '../../src/loader/types';

export type StopKind = 'unsupported' | 'shutdown' | 'internal' | 'limit' | 'harness';

export interface EmulatorStop {
  /** The sequence that was running (batch index), or -1 outside any. */
  seqIndex: number;
  kind: StopKind;
  message: string;
}

export interface EmulatorRun {
  /** Transcript lines of every sequence that completed (in order). */
  lines: string[];
  /** The "cpu ..." line of the first boot. */
  cpuLine: string | undefined;
  stops: EmulatorStop[];
  instructions: number;
}

// Small enough that QEMU's output pipe is drained often while both run.
const SLICE = 200_000;
/** Instructions a sequence and its dump may take before it counts as endless. */
const PER_SEQUENCE = 2_000_000;

function symbol(image: LoadedImage, name: string): number {
  const s = image.symbols.find((x) => x.name === name);
  if (!s) throw new Error(`${image.path}: no symbol ${name}`);
  return Number(s.address);
}

interface Boot {
  machine: Machine;
  got: string[];
  /** Sequence lines printed so far by this boot. */
  seqLines: number;
  /** Instruction count when the last line was completed. */
  lastLineAt: number;
}

function boot(image: LoadedImage, startAddr: number, start: number): Boot {
  const machine = new Machine({ memoryMiB: 128, cpus: 1 });
  machine.load(image);
  machine.mem.write32(startAddr, start);
  machine.mem.write32(startAddr + 4, 0);
  const b: Boot = { machine, got: [], seqLines: 0, lastLineAt: 0 };
  let pending = '';
  machine.onSerial = (ch) => {
    if (ch !== 10) { pending += String.fromCharCode(ch); return; }
    b.got.push(pending);
    if (pending.startsWith('s')) b.seqLines++;
    b.lastLineAt = machine.totalInstructions;
    pending = '';
  };
  return b;
}

/** Runs `imagePath` (a batch of `count` sequences) on the engine. */
export async function runOnEmulator(imagePath: string, count: number): Promise<EmulatorRun> {
  const image = loadImage(imagePath);
  const startAddr = symbol(image, 'diff_start');
  const bodiesStart = symbol(image, 'bodies_start');
  const bodiesEnd = symbol(image, 'bodies_end');
  const resumeNext = symbol(image, 'resume_next');
  const lines: string[] = [];
  const stops: EmulatorStop[] = [];
  let instructions = 0;
  let cpuLine: string | undefined;
  let start = 0; // first sequence of the current boot
  let skipped = 0; // sequences of the current boot that stopped and were skipped
  let b = boot(image, startAddr, start);
  const collect = () => {
    lines.push(...b.got.filter((l) => l.startsWith('s')));
    cpuLine ??= b.got.find((l) => l.startsWith('cpu '));
    instructions += b.machine.totalInstructions;
  };
  for (;;) {
    const m = b.machine;
    const out = m.run(SLICE);
    let stop: { kind: StopKind; message: string } | undefined;
    if (out.kind === 'budget' || out.kind === 'paused') {
      if (m.totalInstructions - b.lastLineAt > PER_SEQUENCE) {
        stop = { kind: 'limit', message: `no end after ${PER_SEQUENCE} instructions` };
      } else {
        await new Promise((r) => setImmediate(r));
        continue;
      }
    } else if (out.kind === 'exit') {
      if (out.status === 1) {
        if (!b.got.some((l) => l.startsWith('end '))) {
          stops.push({ seqIndex: -1, kind: 'harness', message: `no "end" line; last output: ${JSON.stringify(b.got.slice(-2))}` });
        }
        collect();
        break;
      }
      stop = { kind: 'harness', message: `guest exit status ${out.status}: ${b.got[b.got.length - 1] ?? ''}` };
    } else if (out.kind === 'fatal') {
      const k = out.stop.kind;
      stop = { kind: k === 'unsupported' || k === 'shutdown' ? k : 'internal', message: out.stop.message };
    } else {
      stop = { kind: 'harness', message: `unexpected stop: ${out.kind}${out.kind === 'idle' ? ` (${out.message})` : ''}` };
    }

    // Which sequence was running? The one after the last line printed (and those skipped).
    const running = start + b.seqLines + skipped;
    const cpu = m.cpus[0]!;
    const rip = Number(BigInt.asUintN(64, BigInt(cpu.rip)));
    const inBody = rip >= bodiesStart && rip < bodiesEnd;
    if (!inBody || running >= count || stop.kind === 'harness') {
      stops.push({ seqIndex: inBody ? running : -1, kind: stop.kind,
        message: `${stop.message} (rip 0x${rip.toString(16)}, outside the sequences: batch abandoned after ${lines.length + b.seqLines} of ${count})` });
      collect();
      break;
    }
    stops.push({ seqIndex: running, kind: stop.kind, message: stop.message });
    if (running + 1 >= count) { collect(); break; }
    if (cpu.bits === 64 && stop.kind !== 'shutdown') {
      // go on in place with the next sequence
      cpu.stop = undefined;
      cpu.halted = false;
      cpu.rip = resumeNext;
      skipped++;
      b.lastLineAt = m.totalInstructions;
      continue;
    }
    collect();
    start = running + 1;
    skipped = 0;
    b = boot(image, startAddr, start);
  }
  return { lines, cpuLine, stops, instructions };
}
