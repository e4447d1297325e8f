// Engine bugs that fuzzing and probing around it found, each as the smallest
// guest that shows it, run on the whole machine in a watched worker (some of
// these used to hang Machine.run, which nothing in-process can interrupt).
// Each test states the correct behaviour; see the report in the commit that
// added them for which ones failed then.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, runCode } from '../../support/cpu-harness';
import { Exit } from '../../../src/engine/x86/cpu';
import { LOAD_ADDR, machineImage } from './cases';
import { buildWorker, runJob, type BuiltWorker } from './pool';
import type { FixedCase } from './worker';

/** A case that hangs is declared hung after this long (they all take milliseconds when right). */
const HANG_MS = 4_000;

let worker: BuiltWorker;
beforeAll(async () => { worker = await buildWorker(); });
afterAll(() => worker?.dispose());

/** Runs one case in a fresh worker: its outcome, and the failure (the verdict's, or a hang or crash). */
async function run(c: FixedCase): Promise<{ outcome: string; failure?: string }> {
  const s = await runJob(worker, { suite: 'fixed', from: 0, to: 1, budget: c.budget, cases: [c] }, 60, HANG_MS);
  const outcome = Object.keys(s.outcomes)[0] ?? 'not run';
  const f = s.failures[0];
  return f ? { outcome, failure: f.failure } : { outcome };
}

/** A 64-bit flat image (entered in long mode at LOAD_ADDR). */
const long64 = (name: string, src: string, budget = 100_000, extra: Partial<FixedCase> = {}): FixedCase =>
  ({ name, bytes: assemble(src, 'long64'), loadAddress: LOAD_ADDR, budget, ...extra });

/** Position-independent 32-bit code booted as a raw Multiboot kernel (protected mode, paging off). */
const prot32 = (name: string, src: string, budget = 100_000): FixedCase =>
  ({ name, bytes: machineImage({ code: assemble(src, 'prot32'), regs: {} }, 'prot32', 1).bytes, budget });

/** Programs PIT channel 0 as a rate generator (mode 2) with a short period. */
const PIT_PERIODIC = `
  mov al, 0x34
  out 0x43, al
  mov al, 0x00
  out 0x40, al
  mov al, 0x10
  out 0x40, al`;

describe('Machine.run with every vCPU halted and a periodic timer armed', () => {
  it('HLT with interrupts off: returns "halted" (nothing can wake the CPU), does not spin on timer deadlines', async () => {
    const r = await run(long64('cli-hlt-pit', `cli\n${PIT_PERIODIC}\n  hlt\n  jmp .`));
    expect(r.failure ?? '', `outcome ${r.outcome}`).toBe('');
    expect(r.outcome).toBe('halted');
  });

  it('STI; HLT with the timer IRQ masked at the PIC: returns (idle, or budget once virtual time is spent), does not spin', async () => {
    const r = await run(long64('masked-pit', `cli\n  mov al, 0xff\n  out 0x21, al\n  out 0xa1, al\n${PIT_PERIODIC}\n  sti\n  hlt\n  jmp .`));
    expect(r.failure ?? '', `outcome ${r.outcome}`).toBe('');
    expect(['idle', 'budget']).toContain(r.outcome);
  });
});

describe('stores into the page being executed', () => {
  // 100,000 iterations of a 3-instruction loop that stores next to its own
  // code (or, as the control, to another page). A store that touches no
  // decoded byte must not recompile the page's blocks: counted, not timed.
  const loop = (target: string) => `
    mov ecx, 100000
  1:
    mov [${target}], ecx
    dec ecx
    jnz 1b
    hlt
    .balign 64
  var: .long 0`;

  for (const [name, target] of [['to a data page (control)', 'rip + 0x100000'], ['next to its own code', 'rip + var']] as const) {
    it(`storing ${name} compiles the loop once, not per store`, () => {
      const r = runCode(assemble(loop(target), 'long64'), 'long64', { limit: 400_000 });
      expect(r.exit).toBe(Exit.Halted);
      expect(r.reg('rcx')).toBe(0n);
      expect(r.cpu.blocksCompiled).toBeLessThan(10);
    });
  }

  it('a store that rewrites the next instruction takes effect (self-modifying code)', () => {
    // Patches "mov eax, 1" into "mov eax, 2" right before executing it.
    const r = runCode(assemble(`
      mov byte ptr [rip + patch + 1], 2
    patch:
      mov eax, 1
      hlt`, 'long64'), 'long64');
    expect(r.reg('rax')).toBe(2n);
  });
});

describe('feature-level unsupported stops say which instruction, where, with its bytes', () => {
  // The contract for a fatal "unsupported" stop (unsupported.ts and the CLI's
  // message): "unsupported instruction <text> at 0x<rip> (<bytes>)". Either
  // the feature works (the guest goes on to its HLT or faults as hardware
  // would) or the stop has that form.
  it('MOV DR7 enabling a hardware breakpoint', async () => {
    const r = await run(long64('dr7', 'mov eax, 1\n  mov dr7, rax\n  hlt'));
    expect(r.failure ?? '', `outcome ${r.outcome}`).toBe('');
    expect(['unsupported', 'halted']).toContain(r.outcome);
  });

  it('an exception through a task gate in protected mode', async () => {
    // IDT at 0x200000 with a task gate (type 5) for #UD; then UD2.
    const r = await run(prot32('task-gate', `
      mov esp, 0x80000
      mov edi, 0x200000
      mov dword ptr [edi + 6*8], 0x00280000
      mov dword ptr [edi + 6*8 + 4], 0x00008500
      sub esp, 8
      mov word ptr [esp], 0xff
      mov dword ptr [esp + 2], 0x200000
      lidt [esp]
      ud2`));
    expect(r.failure ?? '', `outcome ${r.outcome}`).toBe('');
    expect(['unsupported', 'shutdown']).toContain(r.outcome);
  });

  it('WRMSR IA32_MISC_ENABLE setting "limit CPUID maxval"', async () => {
    const r = await run(long64('misc-enable', 'mov ecx, 0x1a0\n  rdmsr\n  or eax, 1 << 22\n  wrmsr\n  hlt'));
    expect(r.failure ?? '', `outcome ${r.outcome}`).toBe('');
    expect(['unsupported', 'halted', 'shutdown']).toContain(r.outcome);
  });
});
