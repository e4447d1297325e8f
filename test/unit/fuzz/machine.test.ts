// Fuzz (a), whole machine: the same kind of random instruction streams, but
// booted as images through the loader and Machine (so port and MMIO
// accesses reach the real PC devices): a 64 KiB reset ROM for real mode, a
// raw Multiboot kernel for 32-bit protected mode, a flat binary for 64-bit
// long mode. Every run (at most 10,000 instructions) must end in a defined
// outcome -- budget, halted, exit, idle, shutdown, or a well-formed
// unsupported-instruction stop -- and never hang, throw, or stop 'internal'.
//
// Seed, scale and single-case replay: see seed.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from './cases';
import { buildWorker, runJob, summarize, type BuiltWorker } from './pool';
import { streamFailures } from './report';
import { fuzzSettings, hex } from './seed';

const CASES_PER_MODE = 500;
const BUDGET = 10_000;
/** Wall-clock budget per mode (× VMSCOPE_FUZZ_SCALE); cases left when it is used up are skipped and counted. */
const SECONDS = 6;
const settings = fuzzSettings();
let worker: BuiltWorker;

beforeAll(async () => { worker = await buildWorker(); });
afterAll(() => worker?.dispose());

describe(`fuzz: random instruction streams on the whole machine (seed ${hex(settings.seed)})`, () => {
  for (const mode of MODES) {
    it(`${mode}: every run ends in a defined outcome`, async () => {
      const count = Math.round(CASES_PER_MODE * settings.scale);
      const from = settings.only ?? 0;
      const s = await runJob(worker, { suite: 'machine', mode, seed: settings.seed, from, to: settings.only !== undefined ? from + 1 : count, budget: BUDGET }, SECONDS * settings.scale);
      console.log(summarize(`machine ${mode} (seed ${hex(settings.seed)})`, s));
      expect(streamFailures(s.failures, settings.seed, 'machine', mode, 'test/unit/fuzz/machine.test.ts')).toEqual([]);
    }, 120_000);
  }
});
