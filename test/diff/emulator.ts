// Runs a batch image on vmscope's engine in-process (Machine + loadImage, as
// `vmscope run` does) and collects the serial transcript. When the engine
// stops inside a sequence (an unsupported instruction, a triple fault, an
// internal error, a sequence that never ends), the stop is recorded against
// that sequence and the image is booted again with `diff_start` patched to
// the next one, so one missing instruction costs one sequence, not a batch.
// A stop outside the sequence bodies (boot, dump code) ends the batch.
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

function symbol(image: LoadedImage, name: string): number {
  const s = image.symbols.find((x) => x.name === name);
  if (!s) throw new Error(`${image.path}: no symbol ${name}`);
  return Number(s.address);
}

/** Runs `imagePath` (a batch of `count` sequences) on the engine. */
export async function runOnEmulator(imagePath: string, count: number, budgetPerSequence = 200_000): Promise<EmulatorRun> {
  const image = loadImage(imagePath);
  const startAddr = symbol(image, 'diff_start');
  const bodiesStart = symbol(image, 'bodies_start');
  const bodiesEnd = symbol(image, 'bodies_end');
  const lines: string[] = [];
  const stops: EmulatorStop[] = [];
  let instructions = 0;
  let cpuLine: string | undefined;
  let start = 0;
  while (start < count) {
    const machine = new Machine({ memoryMiB: 128, cpus: 1 });
    machine.load(image);
    machine.mem.write32(startAddr, start);
    machine.mem.write32(startAddr + 4, 0);
    let pending = '';
    const got: string[] = [];
    machine.onSerial = (b) => {
      if (b === 10) { got.push(pending); pending = ''; } else pending += String.fromCharCode(b);
    };
    const budget = 1_000_000 + (count - start) * budgetPerSequence;
    let stop: { kind: StopKind; message: string } | undefined;
    let finished = false;
    for (;;) {
      const left = budget - machine.totalInstructions;
      if (left <= 0) { stop = { kind: 'limit', message: `no end after ${budget} instructions` }; break; }
      const out = machine.run(Math.min(SLICE, left));
      if (out.kind === 'budget' || out.kind === 'paused') {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      if (out.kind === 'exit') {
        if (out.status === 1) finished = true;
        else stop = { kind: 'harness', message: `guest exit status ${out.status}: ${pending || got[got.length - 1] || ''}` };
      } else if (out.kind === 'fatal') {
        const k = out.stop.kind;
        stop = { kind: k === 'unsupported' || k === 'shutdown' ? k : 'internal', message: out.stop.message };
      } else {
        stop = { kind: 'harness', message: `unexpected stop: ${out.kind}${out.kind === 'idle' ? ` (${out.message})` : ''}` };
      }
      break;
    }
    instructions += machine.totalInstructions;
    const seqLines = got.filter((l) => l.startsWith('s'));
    cpuLine ??= got.find((l) => l.startsWith('cpu '));
    lines.push(...seqLines);
    if (finished) {
      const end = got.find((l) => l.startsWith('end '));
      if (!end) stops.push({ seqIndex: -1, kind: 'harness', message: `no "end" line; last output: ${JSON.stringify(got.slice(-2))}` });
      break;
    }
    // Which sequence was running? The one after the last line printed.
    const running = start + seqLines.length;
    const rip = Number(BigInt.asUintN(64, BigInt(machine.cpus[0]!.rip)));
    const inBody = rip >= bodiesStart && rip < bodiesEnd;
    const s = stop ?? { kind: 'harness' as const, message: 'stopped without a reason' };
    if (!inBody || running >= count) {
      stops.push({ seqIndex: inBody ? running : -1, kind: s.kind,
        message: `${s.message} (rip 0x${rip.toString(16)}, outside the sequences: batch abandoned after ${lines.length} of ${count})` });
      break;
    }
    stops.push({ seqIndex: running, kind: s.kind, message: s.message });
    start = running + 1;
  }
  return { lines, cpuLine, stops, instructions };
}
