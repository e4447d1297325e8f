// Suite "vmexit": the VMX bench guests (bench/guests/*.S whose shared guest
// table entry needs VMX: vmexit-storm) -- VM exits per second and MIPS on
// vmscope's emulator, and VM exits per second on Bochs 2.7 when installed
// (QEMU's TCG has no VMX, so Bochs is the comparison here).
//
// Startup is subtracted as in suite guests: every workload is also built as
// NAME-1.elf (one iteration), and
//   rate = (count of NAME.elf − of NAME-1.elf) / (time of NAME.elf − of NAME-1.elf).
// Emulator: each run is a fresh `node bench/out/harness.cjs exits IMAGE`
// process, measureExitRate (src/engine/vmx/bench.ts) with the exits counted
// by the VMX engine and the clock on Machine.run() only; a run cut by the
// time budget still counts the exits and instructions it got to.
// Bochs: runOnBochs (test/support/bochs.ts) on a ROM made once per image
// with scripts/build-guests.mjs --rom; the time is its wall time (Bochs's
// start included, which the subtraction removes), the exits
// bench_iterations × bench_exits_per_iteration from the image's symbols
// (Bochs does not count them for us). Median of --runs runs each, the two
// images alternated.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { benchSymbols, buildGuests, median } from './guests.mjs';

function workloads(root, harness, only) {
  return readdirSync(join(root, 'bench/guests'))
    .filter((f) => /\.[sS]$/.test(f))
    .map((f) => basename(f).replace(/\.[sS]$/, ''))
    .filter((n) => harness.guestExpectation(n)?.needs === 'vmx')
    .filter((n) => only.length === 0 || only.includes(n))
    .sort();
}

/** One emulator run in a fresh process: measureExitRate's report, or { error }. */
function emulatorRun(ctx, image) {
  const { seconds, maxInstructions } = ctx.options;
  const args = [ctx.harnessPath, 'exits', image, '--seconds', String(seconds)];
  if (maxInstructions) args.push('--max-instructions', String(maxInstructions));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (seconds + 60) * 1000, maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) return { error: `harness process failed: ${r.error?.message ?? `status ${r.status}`} ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  return JSON.parse(r.stdout);
}

/** Why an emulator run is not a measurement ("budget" = cut by a cap is fine for the full image only). */
function problem(rep, want, { mayCut }) {
  if (rep.error) return rep.error;
  if (rep.outcome === 'budget') return mayCut ? undefined : 'did not finish within the time budget';
  if (rep.outcome !== 'exit') return `${rep.outcome}, serial ${JSON.stringify(rep.serial)}`;
  if (rep.status !== want.status || rep.serial !== want.serial) {
    return `wrong result: exit status ${rep.status}, serial ${JSON.stringify(rep.serial)} (want ${want.status}, ${JSON.stringify(want.serial)})`;
  }
  return undefined;
}

function measureEmulator(ctx, name, elf, elf1, want, want1) {
  const runs = ctx.options.runs;
  const ones = [];
  for (let i = 0; i < runs; i++) {
    const rep = emulatorRun(ctx, elf1);
    const p = problem(rep, want1, { mayCut: false });
    if (p) return { status: 'wrong', message: `${p} (running ${basename(elf1)})`, oneRuns: [rep] };
    ones.push(rep);
  }
  const [i1, x1] = [ones[0].instructions, ones[0].exits];
  if (ones.some((r) => r.instructions !== i1 || r.exits !== x1)) {
    return { status: 'wrong', message: `nondeterministic: ${basename(elf1)} ran ${ones.map((r) => `${r.instructions} instr/${r.exits} exits`).join(', ')}`, oneRuns: ones };
  }
  const t1 = median(ones.map((r) => r.seconds));
  const full = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`  ${name}: emulator run ${i + 1}/${runs}`);
    const rep = emulatorRun(ctx, elf);
    const p = problem(rep, want, { mayCut: true });
    if (p) return { status: 'wrong', message: p, oneRuns: ones, runs: [rep] };
    full.push(rep);
  }
  const exitsPerSecond = full.map((r) => (r.exits - x1) / (r.seconds - t1));
  const mips = full.map((r) => (r.instructions - i1) / (r.seconds - t1) / 1e6);
  return {
    status: 'ok',
    exitsPerSecond: median(exitsPerSecond),
    exitsPerSecondPerRun: exitsPerSecond,
    mips: median(mips),
    mipsPerRun: mips,
    exits: median(full.map((r) => r.exits)) - x1,
    instructions: median(full.map((r) => r.instructions)) - i1,
    cut: full.some((r) => r.outcome === 'budget'),
    peakRssMiB: Math.max(...full.map((r) => r.maxRssKiB)) / 1024,
    oneRuns: ones,
    runs: full,
  };
}

/** The 64 KiB ROM runOnBochs boots (made here: the bundled runOnBochs cannot find the build script). */
function makeRom(ctx, elf) {
  const dir = join(ctx.outDir, 'bochs');
  mkdirSync(dir, { recursive: true });
  const rom = join(dir, `${basename(elf, '.elf')}.bin`);
  const r = spawnSync(process.execPath, [join(ctx.root, 'scripts/build-guests.mjs'), '--rom', elf, rom], { cwd: ctx.root, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(rom)) throw new Error(`could not make a ROM of ${elf}:\n${(r.stdout + r.stderr).trim()}`);
  return rom;
}

async function measureBochs(ctx, name, elf, elf1, sym, sym1, want, want1) {
  const { harness, options } = ctx;
  const runs = options.runs;
  const rom = makeRom(ctx, elf);
  const rom1 = makeRom(ctx, elf1);
  const tN = [];
  const t1 = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`  ${name}: Bochs run ${i + 1}/${runs}`);
    // Alternate the two images so drift in the host's speed hits both alike.
    for (const [img, list, w] of [[rom, tN, want], [rom1, t1, want1]]) {
      let r;
      try {
        r = await harness.runOnBochs(img, { timeoutMs: 300_000 });
      } catch (e) {
        return { status: 'failed', message: `Bochs on ${basename(img)}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
      }
      if (r.status !== w.status || r.serial !== w.serial) {
        return { status: 'failed', message: `Bochs on ${basename(img)}: ended ${r.ended}, status ${r.status}, serial ${JSON.stringify(r.serial)}${r.errors.length ? `, ${r.errors[0]}` : ''}` };
      }
      list.push(r.elapsedMs / 1000);
    }
  }
  const exits = (sym.iterations - sym1.iterations) * sym.exitsPerIteration;
  const dt = median(tN) - median(t1);
  return { status: 'ok', exitsPerSecond: exits / dt, exits, secondsN: tN, seconds1: t1 };
}

const fmtRate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(x >= 1e5 ? 0 : 1)} k`);
const fmtMips = (m) => (m >= 100 ? m.toFixed(0) : m.toFixed(1));
const fmtRatio = (r) => (r < 1 ? `${r.toPrecision(2)} (1/${Math.round(1 / r)})` : `${r.toPrecision(2)} (${r.toFixed(1)}×)`);

export default {
  name: 'vmexit',
  description: 'VM-exit storm (VMX bench guests): emulator exits/s and MIPS against Bochs 2.7',
  async run(ctx) {
    const { root, options, harness } = ctx;
    const names = workloads(root, harness, options.only);
    const bochs = harness.bochsAvailable();
    const columns = ['workload', 'emulator exits/s', 'emulator MIPS', 'Bochs exits/s', 'ratio', 'emu peak RSS', 'notes'];
    if (names.length === 0) return { method: ['(no VMX workload asked for)'], columns, rows: [], results: [], failed: false };
    buildGuests(root, names);
    const rows = [];
    const results = [];
    let failed = false;
    for (const name of names) {
      const elf = join(root, 'build/guests', `${name}.elf`);
      const elf1 = join(root, 'build/guests', `${name}-1.elf`);
      const sym = benchSymbols(elf);
      const sym1 = benchSymbols(elf1);
      if (sym.exitsPerIteration === undefined) throw new Error(`${name}.elf: no absolute symbol bench_exits_per_iteration`);
      const want = harness.guestExpectation(name);
      const want1 = harness.guestExpectation(`${name}-1`);
      if (!want || !want1) throw new Error(`${name}: not in test/support/guests.ts`);
      ctx.log(`  ${name}: ${sym.iterations} iterations × ${sym.exitsPerIteration} VM exits`);
      const emu = measureEmulator(ctx, name, elf, elf1, want, want1);
      const b = bochs ? await measureBochs(ctx, name, elf, elf1, sym, sym1, want, want1)
        : { status: 'skipped', message: harness.bochsMissingReason() };
      const ok = emu.status === 'ok';
      if (!ok || b.status === 'failed') failed = true;
      const ratio = ok && b.status === 'ok' ? emu.exitsPerSecond / b.exitsPerSecond : undefined;
      const notes = [];
      if (!ok) notes.push(emu.message);
      else {
        const expected = (sym.iterations - sym1.iterations) * sym.exitsPerIteration;
        notes.push(emu.cut ? `cut at ${options.seconds} s: ${(emu.exits / 1e3).toFixed(0)} k exits measured` : `full run: ${(emu.exits / 1e3).toFixed(0)} k exits, ${(emu.instructions / 1e6).toFixed(1)} M instr`);
        if (!emu.cut && emu.exits !== expected) notes.push(`exits ${emu.exits}, image says ${expected}`);
      }
      if (b.status !== 'ok') notes.push(`Bochs: ${b.message}`);
      rows.push([
        name,
        ok ? fmtRate(emu.exitsPerSecond) : '-',
        ok ? fmtMips(emu.mips) : '-',
        b.status === 'ok' ? fmtRate(b.exitsPerSecond) : b.status === 'failed' ? 'failed' : 'n/a',
        ratio === undefined ? '-' : fmtRatio(ratio),
        ok ? `${emu.peakRssMiB.toFixed(0)} MiB` : '-',
        notes.join('; '),
      ]);
      results.push({ workload: name, symbols: { [name]: sym, [`${name}-1`]: sym1 }, emulator: emu, bochs: b, ratio: ratio ?? null });
    }
    const r = options.runs;
    const method = [
      '',
      'emulator exits/s, MIPS: (VM exits, instructions of NAME.elf − of NAME-1.elf) / (run-loop seconds of NAME.elf − of NAME-1.elf);',
      `  measureExitRate (exits counted by the VMX engine), each run a fresh Node process, median of ${r} runs; a run stops after ${options.seconds} s (--seconds).`,
      bochs
        ? 'Bochs exits/s: (bench_iterations of NAME.elf − of NAME-1.elf) × bench_exits_per_iteration / (wall seconds of NAME.elf − of NAME-1.elf),'
          + `\n  median of ${r} runs each of ${bochs} (test/support/bochs.ts: ROM from scripts/build-guests.mjs --rom, cpu corei7_skylake_x).`
        : `Bochs: ${harness.bochsMissingReason()}`,
      'ratio: emulator exits/s / Bochs exits/s. QEMU: none (TCG has no VMX).',
    ];
    return { method, columns, rows, results, failed };
  },
};
