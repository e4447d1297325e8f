// Fuzz (a), bare vCPU: seeded random instruction streams, with random
// register values, run on a fresh vCPU (cpu-harness runCode) in real mode,
// 32-bit protected mode and 64-bit long mode, at most 10,000 instructions
// each. Every run must end in a defined way (verdict.ts): no JS exception
// out of the engine, no 'internal' stop, no hang, no overrun of the budget,
// and unsupported-instruction stops with a well-formed message.
//
// Seed, scale and single-case replay: see seed.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODES } from './cases';
import { buildWorker, runJob, summarize, type BuiltWorker } from './pool';
import { streamFailures } from './report';
import { fuzzSettings, hex } from './seed';

const CASES_PER_MODE = 1000;
const BUDGET = 10_000;
/** Wall-clock budget per mode (× VMSCOPE_FUZZ_SCALE); cases left when it is used up are skipped and counted. */
const SECONDS = 6;
const settings = fuzzSettings();
let worker: BuiltWorker;

beforeAll(async () => { worker = await buildWorker(); });
afterAll(() => worker?.dispose());

describe(`fuzz: random instruction streams on a bare vCPU (seed ${hex(settings.seed)})`, () => {
  for (const mode of MODES) {
    it(`${mode}: every run ends in a defined outcome`, async () => {
      const count = Math.round(CASES_PER_MODE * settings.scale);
      const from = settings.only ?? 0;
      const s = await runJob(worker, { suite: 'cpu', mode, seed: settings.seed, from, to: settings.only !== undefined ? from + 1 : count, budget: BUDGET }, SECONDS * settings.scale);
      console.log(summarize(`cpu ${mode} (seed ${hex(settings.seed)})`, s));
      expect(streamFailures(s.failures, settings.seed, 'cpu', mode, 'test/unit/fuzz/cpu.test.ts')).toEqual([]);
    }, 120_000);
  }
});
