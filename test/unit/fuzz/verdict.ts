// What counts as a defined end of a fuzz run, for a bare vCPU (Cpu.run) and
// for the whole machine (Machine.run). Defined: the budget ran out, the guest
// halted, exited through the debug-exit port, went idle, shut down (triple
// fault), or hit an instruction the engine does not implement with a
// well-formed message. Anything else -- a JS exception escaping the engine,
// an 'internal' stop, an unexpected stop kind, or more instructions than the
// budget allowed -- is an engine bug.

import { Exit, type Cpu } from '../../../src/engine/x86/cpu';
import type { MachineStop } from '../../../src/engine/x86/fault';
import type { Machine, RunOutcome } from '../../../src/engine/machine';

/** The one-line shape every unsupported-instruction stop must have (unsupported.ts). */
export const UNSUPPORTED_MESSAGE = /^unsupported instruction .+ at 0x[0-9a-f]+ \([0-9a-f ]+\)$/;

export interface Verdict {
  /** budget, halted, exit, idle, shutdown, unsupported, bad-image, too-big (the image does not fit in RAM). */
  outcome: string;
  /** Set when the run is a failure: what went wrong, with the stack when there is one. */
  failure?: string;
  /** For unsupported stops: the instruction's text (for the summary of what fuzzing reaches). */
  unsupported?: string;
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  // The engine throws CpuFault and MachineStop objects, which are not Errors.
  const name = typeof e === 'object' && e !== null ? e.constructor.name : typeof e;
  return `${name} thrown: ${String(e)} ${JSON.stringify(e)}`;
}

export function judgeStop(stop: MachineStop | undefined): Verdict {
  if (stop === undefined) return { outcome: 'fatal', failure: 'fatal exit without cpu.stop set' };
  if (stop.kind === 'shutdown') return { outcome: 'shutdown' };
  if (stop.kind === 'unsupported') {
    if (!UNSUPPORTED_MESSAGE.test(stop.message)) {
      return { outcome: 'unsupported', failure: `malformed unsupported-instruction message: ${JSON.stringify(stop.message)}` };
    }
    const what = /^unsupported instruction (.+?) at 0x/.exec(stop.message)?.[1] ?? '?';
    return { outcome: 'unsupported', unsupported: what };
  }
  return { outcome: 'internal', failure: `internal stop: ${stop.message}` };
}

function judgeCount(v: Verdict, ran: number, budget: number): Verdict {
  if (ran > budget && v.failure === undefined) return { ...v, failure: `retired ${ran} instructions on a budget of ${budget}` };
  return v;
}

/** A bare vCPU after cpu.run(budget) from icount 0. */
export function judgeCpu(exit: Exit, cpu: Cpu, budget: number): Verdict {
  let v: Verdict;
  switch (exit) {
    case Exit.Budget: v = { outcome: 'budget' }; break;
    case Exit.Halted: v = { outcome: 'halted' }; break;
    case Exit.Fatal: v = judgeStop(cpu.stop); break;
    // Nothing asked to stop, set a breakpoint or filter events in these runs.
    default: v = { outcome: `exit-${exit}`, failure: `unexpected Exit ${exit}${cpu.stop ? ` (stop: ${cpu.stop.kind}: ${cpu.stop.message})` : ''}` };
  }
  if (!Number.isSafeInteger(cpu.rip) && v.failure === undefined) v = { ...v, failure: `rip is not an integer: ${cpu.rip}` };
  return judgeCount(v, cpu.icount, budget);
}

/** The whole machine after machine.run(budget) from a fresh boot. */
export function judgeMachine(out: RunOutcome, machine: Machine, budget: number): Verdict {
  let v: Verdict;
  switch (out.kind) {
    case 'budget': case 'halted': case 'idle': v = { outcome: out.kind }; break;
    case 'exit':
      v = (out.status & 1) === 1 ? { outcome: 'exit' } : { outcome: 'exit', failure: `debug-exit status ${out.status} is even` };
      break;
    case 'fatal': v = judgeStop(out.stop); break;
    default: v = { outcome: out.kind, failure: `unexpected run outcome ${JSON.stringify(out)}` };
  }
  return judgeCount(v, machine.totalInstructions, budget);
}
