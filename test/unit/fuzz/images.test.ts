// Fuzz (b): malformed images. The real guests (build/guests/, the committed
// sample) and ELF64 conversions of one, mutated where the loader and
// Machine.load must not trust them -- ELF and program headers, the
// Multiboot header (checksum kept valid), entry points, truncation, random
// runs -- then loaded with loadImageBytes, placed with Machine.load and run
// for at most 50,000 instructions. Each case must end in an ImageError (one
// line), Machine.load's "does not fit in N MiB of guest RAM" refusal, or a
// defined run outcome (verdict.ts); never another exception, a hang or an
// 'internal' stop. The first case of each image runs it unchanged.
//
// Needs binutils to build the guests (skipped with a warning without).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceImage } from './cases';
import { buildWorker, runJob, summarize, type BuiltWorker } from './pool';
import { imageFailures } from './report';
import { fuzzSettings, hex } from './seed';

const CASES = 600;
const BUDGET = 50_000;
/** Wall-clock budget (× VMSCOPE_FUZZ_SCALE); cases left when it is used up are skipped and counted. */
const SECONDS = 10;
const root = resolve(__dirname, '../../..');
const guests = join(root, 'build/guests');
const GUESTS = ['hello32.elf', 'longmode.elf', 'realmode.elf', 'realmode.bin', 'intloop-1.elf', 'pagetouch-1.elf', 'syscall-1.elf'];

const settings = fuzzSettings();
const built = spawnSync(process.execPath, [join(root, 'scripts/build-guests.mjs'), ...GUESTS.map((g) => g.replace(/\.(elf|bin)$/, ''))], { cwd: root, encoding: 'utf8' });
if (built.status !== 0) console.warn(`SKIPPING image fuzzing: the guests did not build (binutils missing?):\n${built.stdout}${built.stderr}`);

let worker: BuiltWorker;
const sources: SourceImage[] = [];

/** The ELF32 longmode guest as ELF64: with its Multiboot header, and without (then it boots as 'long64'). */
function elf64Variants(): SourceImage[] {
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-fuzz-elf64-'));
  try {
    const out = join(dir, 'longmode64.elf');
    execFileSync('objcopy', ['-O', 'elf64-x86-64', join(guests, 'longmode.elf'), out]);
    const mb = new Uint8Array(readFileSync(out));
    const plain = mb.slice();
    const view = new DataView(plain.buffer);
    for (let o = 0; o + 4 <= Math.min(plain.length, 8192); o += 4) if (view.getUint32(o, true) === 0x1badb002) view.setUint32(o, 0, true);
    return [{ name: 'longmode.elf as ELF64', bytes: mb }, { name: 'longmode.elf as ELF64 without Multiboot', bytes: plain }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  worker = await buildWorker();
  if (built.status !== 0) return;
  for (const g of GUESTS) sources.push({ name: g, bytes: new Uint8Array(readFileSync(join(guests, g))) });
  sources.push({ name: 'samples/hello/hello.elf', bytes: new Uint8Array(readFileSync(join(root, 'samples/hello/hello.elf'))) });
  sources.push(...elf64Variants());
});
afterAll(() => worker?.dispose());

describe(`fuzz: malformed guest images (seed ${hex(settings.seed)})`, () => {
  it.skipIf(built.status !== 0)('each load ends in ImageError or a defined run outcome', async () => {
    const count = Math.round(CASES * settings.scale);
    const from = settings.only ?? 0;
    const s = await runJob(worker, { suite: 'image', seed: settings.seed, from, to: settings.only !== undefined ? from + 1 : count, budget: BUDGET, sources }, SECONDS * settings.scale);
    console.log(summarize(`images (seed ${hex(settings.seed)}, ${sources.length} source images)`, s));
    expect(imageFailures(s.failures, settings.seed, sources, 'test/unit/fuzz/images.test.ts')).toEqual([]);
  }, 120_000);
});
