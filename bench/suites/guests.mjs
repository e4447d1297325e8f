// Suite "guests": the bench guests (bench/guests/*.S) on vmscope's emulator
// and, when installed, on QEMU TCG -- million instructions per second for
// each, their ratio, and the emulator's peak memory.
//
// Startup is subtracted as PEERS.md measures QEMU: every workload is also
// built as NAME-1.elf (one iteration), and
//   MIPS = (instructions of NAME.elf − of NAME-1.elf) / (time of NAME.elf − of NAME-1.elf).
// Instruction counts: the emulator's are its own exact counts of retired
// instructions; QEMU's are bench_iterations × bench_insns_per_iteration read
// from each image's symbols (QEMU cannot count without slowing down).
//
// The guests are sized for QEMU (intloop: 200 M instructions, seconds at the
// emulator's tens of MIPS), so an emulator run has a time budget: when it is
// used up the run is cut and the instructions actually retired by then count
// (the subtraction still removes startup: the cut run did the same startup
// before its loop). Rows say "cut at S s" when that happened.
//
// Each run's serial output and exit status are checked against the shared
// guest table (test/support/guests.ts): a wrong result is reported instead
// of a speed. Guests that need VMX (vmexit-storm) are left to suite vmexit
// (bench/suites/vmexit.mjs): QEMU's TCG has no VMX, so this table has no
// column for them; that suite compares their VM-exit rate with Bochs's.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** What a bench guest prints and exits with when the shared guest table does not say: "done", exit(0) = status 1. */
const DONE = { status: 1, serial: 'done\n' };

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function workloads(root, only) {
  const names = readdirSync(join(root, 'bench/guests'))
    .filter((f) => /\.[sS]$/.test(f))
    .map((f) => basename(f).replace(/\.[sS]$/, ''))
    .sort();
  return only.length ? names.filter((n) => only.includes(n)) : names;
}

export function buildGuests(root, names) {
  const want = names.flatMap((n) => [n, `${n}-1`]);
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-guests.mjs'), ...want], { cwd: root, encoding: 'utf8' });
  const missing = want.filter((n) => !existsSync(join(root, 'build/guests', `${n}.elf`)));
  if (r.status !== 0 || missing.length) {
    throw new Error(`could not build the bench guests${missing.length ? ` (${missing.join(', ')} missing)` : ''}:\n${(r.stdout + r.stderr).trim()}`);
  }
}

/** One emulator run in a fresh process (see harness.ts). */
function emulatorRun(ctx, image) {
  const { seconds, maxInstructions } = ctx.options;
  const args = [ctx.harnessPath, 'run', image, '--seconds', String(seconds)];
  if (maxInstructions) args.push('--max-instructions', String(maxInstructions));
  // Generous kill timeout: the budget is checked between slices, and Node, iced-x86 and the image load come first.
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (seconds + 60) * 1000, maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    return { end: { kind: 'other', message: `harness process failed: ${r.error?.message ?? `status ${r.status}`} ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` } };
  }
  return JSON.parse(r.stdout);
}

/** Wall-clock seconds of one QEMU run, and whether the guest finished as it should. */
function qemuRun(ctx, qemu, image, want) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(qemu, ctx.harness.qemuArgs(image, { kind: 'multiboot' }), { encoding: 'latin1', timeout: 120_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const ok = !r.error && r.status === want.status && r.stdout === want.serial;
  return { seconds, ok, detail: ok ? '' : `status ${r.status}${r.error ? ` (${r.error.message})` : ''}, serial ${JSON.stringify(r.stdout)}, ${r.stderr.trim()}` };
}

/** Why an emulator run is not a measurement, or undefined when it is one. */
function problem(rep, want, { mayCut }) {
  const e = rep.end;
  if (e.kind === 'exit') {
    if (e.status !== want.status || rep.serial !== want.serial) {
      return { kind: 'wrong', message: `wrong result: exit status ${e.status}, serial ${JSON.stringify(rep.serial)} (want ${want.status}, ${JSON.stringify(want.serial)})` };
    }
    return undefined;
  }
  if (e.kind === 'cut') return mayCut ? undefined : { kind: 'cut', message: `did not finish within the ${e.by === 'time' ? 'time budget' : 'instruction cap'}` };
  if (e.kind === 'unsupported') return { kind: 'unsupported', message: `unsupported: ${e.message}` };
  if (e.kind === 'halted') return { kind: 'wrong', message: 'wrong result: halted before exiting' };
  return { kind: e.kind, message: `${e.kind}: ${e.message}` };
}

function measureEmulator(ctx, name, elf, elf1, want, want1) {
  const runs = ctx.options.runs;
  const ones = [];
  for (let i = 0; i < runs; i++) {
    const rep = emulatorRun(ctx, elf1);
    const p = problem(rep, want1, { mayCut: false });
    if (p) return { status: p.kind, message: `${p.message} (running ${basename(elf1)})`, oneRuns: [rep] };
    ones.push(rep);
  }
  const i1 = ones[0].instructions;
  if (ones.some((r) => r.instructions !== i1)) {
    return { status: 'wrong', message: `nondeterministic: ${basename(elf1)} retired ${ones.map((r) => r.instructions).join(' / ')} instructions`, oneRuns: ones };
  }
  const t1 = median(ones.map((r) => r.seconds));
  const full = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`  ${name}: emulator run ${i + 1}/${runs}`);
    const rep = emulatorRun(ctx, elf);
    const p = problem(rep, want, { mayCut: true });
    if (p) return { status: p.kind, message: p.message, oneRuns: ones, runs: [rep] };
    full.push(rep);
  }
  const mips = full.map((r) => (r.instructions - i1) / (r.seconds - t1) / 1e6);
  const cut = full.some((r) => r.end.kind === 'cut');
  return {
    status: 'ok',
    mips: median(mips),
    mipsPerRun: mips,
    instructions: median(full.map((r) => r.instructions)) - i1,
    cut,
    peakRssMiB: Math.max(...full.map((r) => r.maxRssKiB)) / 1024,
    oneRuns: ones,
    runs: full,
  };
}

function measureQemu(ctx, qemu, name, elf, elf1, sym, sym1, want, want1) {
  const runs = ctx.options.runs;
  const tN = [];
  const t1 = [];
  for (let i = 0; i < runs; i++) {
    // Alternate the two images so drift in the host's speed hits both alike.
    for (const [img, list, w] of [[elf, tN, want], [elf1, t1, want1]]) {
      const r = qemuRun(ctx, qemu, img, w);
      if (!r.ok) return { status: 'failed', message: `QEMU on ${basename(img)}: ${r.detail}` };
      list.push(r.seconds);
    }
  }
  const instructions = (sym.iterations - sym1.iterations) * sym.insnsPerIteration;
  const dt = median(tN) - median(t1);
  return { status: 'ok', mips: instructions / dt / 1e6, instructions, secondsN: tN, seconds1: t1 };
}

/**
 * A bench guest's counts, with `nm`: bench_iterations and
 * bench_insns_per_iteration (or, for VM-exit benchmarks,
 * bench_exits_per_iteration). They are absolute symbols, which the
 * project's loader leaves out (they name no address).
 */
export function benchSymbols(image) {
  const r = spawnSync('nm', [image], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`nm ${image}: ${r.error?.message ?? r.stderr.trim()}`);
  const value = (name) => {
    const m = new RegExp(`^([0-9a-fA-F]+) [aA] ${name}$`, 'm').exec(r.stdout);
    return m ? parseInt(m[1], 16) : undefined;
  };
  const iterations = value('bench_iterations');
  if (iterations === undefined) throw new Error(`${basename(image)}: no absolute symbol bench_iterations`);
  return { iterations, insnsPerIteration: value('bench_insns_per_iteration'), exitsPerIteration: value('bench_exits_per_iteration') };
}

const fmtMips = (m) => (m >= 100 ? m.toFixed(0) : m.toFixed(1));

export default {
  name: 'guests',
  description: 'bench guests (build/guests/NAME.elf) on the emulator and QEMU TCG',
  async run(ctx) {
    const { root, options, harness } = ctx;
    const all = workloads(root, options.only);
    if (all.length === 0) throw new Error(`no workload named ${options.only.join(', ')}`);
    // The VMX guests are suite vmexit's (no QEMU column here: TCG has no VMX).
    const names = all.filter((n) => harness.guestExpectation(n)?.needs !== 'vmx');
    const skipped = all.filter((n) => !names.includes(n));
    if (names.length === 0) return { method: [`(only VMX workloads asked for: ${skipped.join(', ')}; see suite vmexit)`], columns: ['workload', 'notes'], rows: [], results: [], failed: false };
    buildGuests(root, names);
    const qemu = options.qemu ? harness.qemuAvailable() : undefined;
    const rows = [];
    const results = [];
    let failed = false;
    for (const name of names) {
      const elf = join(root, 'build/guests', `${name}.elf`);
      const elf1 = join(root, 'build/guests', `${name}-1.elf`);
      const sym = benchSymbols(elf);
      const sym1 = benchSymbols(elf1);
      const want = harness.guestExpectation(name) ?? DONE;
      const want1 = harness.guestExpectation(`${name}-1`) ?? DONE;
      const per = sym.insnsPerIteration !== undefined ? `${sym.insnsPerIteration} instructions` : `${sym.exitsPerIteration ?? '?'} VM exits`;
      ctx.log(`  ${name}: ${sym.iterations} iterations × ${per}`);
      const emu = measureEmulator(ctx, name, elf, elf1, want, want1);
      const q = !qemu ? { status: 'skipped', message: options.qemu ? 'qemu-system-x86_64 not installed' : '--no-qemu' }
        : want.needs === 'vmx' ? { status: 'n/a', message: 'QEMU: TCG has no VMX' }
        : sym.insnsPerIteration === undefined ? { status: 'n/a', message: 'QEMU: no bench_insns_per_iteration to count by' }
        : measureQemu(ctx, qemu, name, elf, elf1, sym, sym1, want, want1);
      if (emu.status === 'ok' && !emu.cut && sym.exitsPerIteration !== undefined) {
        const t1 = median(emu.oneRuns.map((r) => r.seconds));
        const tN = median(emu.runs.map((r) => r.seconds));
        emu.exitsPerSecond = (sym.iterations - sym1.iterations) * sym.exitsPerIteration / (tN - t1);
      }
      if (emu.status === 'wrong' || emu.status === 'internal' || emu.status === 'other' || q.status === 'failed') failed = true;
      const ok = emu.status === 'ok';
      const ratio = ok && q.status === 'ok' ? emu.mips / q.mips : undefined;
      const notes = [];
      if (!ok) notes.push(emu.message);
      else notes.push(emu.cut ? `cut at ${options.maxInstructions ? 'the time or instruction cap' : `${options.seconds} s`}: ${(emu.instructions / 1e6).toFixed(0)} M instr measured` : `full run: ${(emu.instructions / 1e6).toFixed(0)} M instr`);
      if (emu.exitsPerSecond !== undefined) notes.push(`${Math.round(emu.exitsPerSecond / 1000)} k VM exits/s`);
      if (q.status === 'failed' || q.status === 'n/a') notes.push(q.message);
      rows.push([
        name,
        ok ? fmtMips(emu.mips) : '-',
        q.status === 'ok' ? fmtMips(q.mips) : q.status === 'failed' ? 'failed' : 'n/a',
        ratio === undefined ? '-' : ratio < 1 ? `${ratio.toPrecision(2)} (1/${Math.round(1 / ratio)})` : `${ratio.toPrecision(2)} (${ratio.toFixed(1)}×)`,
        ok ? `${emu.peakRssMiB.toFixed(0)} MiB` : '-',
        notes.join('; '),
      ]);
      results.push({ workload: name, symbols: { [name]: sym, [`${name}-1`]: sym1 }, emulator: emu, qemu: q, ratio: ratio ?? null });
    }
    const r = options.runs;
    const method = [
      '',
      ...(skipped.length ? [`${skipped.join(', ')}: VMX guests, measured by suite vmexit (QEMU's TCG has no VMX).`] : []),
      `emulator MIPS: (instructions retired on NAME.elf − on NAME-1.elf) / (run-loop seconds of NAME.elf − of NAME-1.elf);`,
      `  exact retired counts from the engine; each run in a fresh Node process, Machine.run() timed with hrtime; median of ${r} runs.`,
      `  Time budget: a NAME.elf run stops after ${options.seconds} s${options.maxInstructions ? ` or ${options.maxInstructions} instructions` : ''} (--seconds, --max-instructions);`,
      `  then the instructions actually retired by then are measured ("cut" rows), else the whole run ("full run").`,
      qemu
        ? `QEMU MIPS: (bench_iterations of NAME.elf − of NAME-1.elf) × bench_insns_per_iteration / (wall seconds of NAME.elf − of NAME-1.elf),`
          + `\n  median of ${r} runs each of ${basename(qemu)} ${harness.qemuArgs('IMAGE', { kind: 'multiboot' }).join(' ')}`
        : `QEMU: ${options.qemu ? 'qemu-system-x86_64 not installed (sudo apt-get install -y qemu-system-x86)' : 'skipped (--no-qemu)'}`,
      'ratio: emulator MIPS / QEMU MIPS. peak RSS: the emulator process\'s maxRSS (Node + engine + the touched part of 128 MiB guest RAM).',
    ];
    return { method, columns: ['workload', 'emulator MIPS', 'QEMU MIPS', 'ratio', 'emu peak RSS', 'notes'], rows, results, failed };
  },
};
