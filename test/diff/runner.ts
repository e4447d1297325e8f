// Runs the differential test: sequences with seeds base, base+1, ... are
// generated, grouped into batch images, each image is run on QEMU TCG (a
// child process) and on vmscope's engine (in-process, at the same time),
// and the transcripts are compared sequence by sequence.
//
// Problems are reported by category: state mismatches (with the seed, the
// batch and index, the instructions, the initial state and every differing
// register, flag and scratch byte), instructions the engine does not
// support (grouped, with an example seed), other engine stops, QEMU
// failures, and batches that did not assemble (a generator bug).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnQemu } from '../support/qemu';
import { runOnEmulator, type EmulatorStop } from './emulator';
import { generateSequence, templatesFor, type GenOptions, type Sequence } from './generator';
import { buildBatch } from './image';
import { FEATURES, TEMPLATES, type Feature } from './templates';
import { compareResults, describeScratch, describeSequence, parseTranscript, undefinedFlagDiffs, vectorName } from './transcript';

export interface DiffConfig {
  /** Seed of the first sequence; sequence k has seed (seed + k) mod 2^32. */
  seed: number;
  count: number;
  batchSize: number;
  gen: GenOptions;
  /** Print every sequence with its comparison (for replays). */
  verbose: boolean;
  /** Keep the batch sources and images (their directory is printed). */
  keep: boolean;
  /** Stop listing mismatches in full after this many. */
  maxReports: number;
  log: (line: string) => void;
}

export interface Mismatch {
  seed: number;
  batch: number;
  index: number;
  differences: string[];
  report: string;
}

export interface Unsupported {
  what: string;
  count: number;
  exampleSeed: number;
  exampleText: string;
}

export interface FeatureGap {
  feature: Feature;
  /** Which side lacks it. */
  missingOn: 'engine' | 'qemu';
  count: number;
  exampleSeed: number;
}

export interface DiffReport {
  sequences: number;
  compared: number;
  faulted: number;
  mismatches: Mismatch[];
  unsupported: Unsupported[];
  /** CPUID features one CPU model has and the other lacks: the sequences using them were not compared. */
  featureGaps: FeatureGap[];
  /** Other engine stops (triple fault, internal error, limit, harness). */
  engineStops: string[];
  qemuFailures: string[];
  buildFailures: string[];
  timings: { generateMs: number; buildMs: number; wallMs: number; qemuMs: number; emulatorMs: number };
  emulatorInstructions: number;
  templateCounts: Map<string, number>;
  /** Informational: SDM-undefined flags set differently, by "template FLAG" (see transcript.ts). */
  undefinedFlags: Map<string, { count: number; exampleSeed: number }>;
}

export function replayHint(seed: number, count = 1): string {
  return `VMSCOPE_DIFF_SEED=${seed} VMSCOPE_DIFF_COUNT=${count} npx vitest run test/unit/diff`;
}

/** The problems of a report, one paragraph each (empty when all agreed). */
export function problems(r: DiffReport): string[] {
  const out: string[] = [];
  for (const m of r.mismatches) out.push(m.report);
  for (const u of r.unsupported) {
    out.push(`UNSUPPORTED on the engine: ${u.what} -- ${u.count} sequence(s) could not be compared; e.g. seed ${u.exampleSeed}: ${u.exampleText}\n  replay: ${replayHint(u.exampleSeed)}`);
  }
  for (const g of r.featureGaps) {
    out.push(`CPU MODEL: ${g.missingOn === 'engine' ? "the engine's CPUID does not report" : "QEMU's CPU (qemu64) does not report"} ${FEATURES[g.feature].name}, which ${g.missingOn === 'engine' ? "QEMU's qemu64 does" : 'the engine does'}: ${g.count} sequence(s) using it not compared (e.g. seed ${g.exampleSeed}). Advertise and implement it, or leave its templates out (VMSCOPE_DIFF_EXCLUDE=${TEMPLATES.filter((t) => t.feature === g.feature).map((t) => t.name).join(',')}).`);
  }
  for (const s of r.engineStops) out.push(`ENGINE STOP: ${s}`);
  for (const q of r.qemuFailures) out.push(`QEMU FAILURE: ${q}`);
  for (const b of r.buildFailures) out.push(`BUILD FAILURE (generator bug): ${b}`);
  return out;
}

/** Groups unsupported-instruction stops by mnemonic (and what the engine said about the form). */
function unsupportedWhat(message: string): string {
  const m = /unsupported instruction (.*?) at 0x[0-9a-f]+/.exec(message);
  if (!m) return message;
  const form = /^(.*?)\s*\(([^()]*)\)$/.exec(m[1]!);
  if (form) return `${form[2]!.split(' ')[0]}: ${form[1]}`;
  return m[1]!.split(' ')[0]!;
}

export async function runDiff(cfg: DiffConfig): Promise<DiffReport> {
  const started = Date.now();
  const templates = templatesFor(cfg.gen);
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-diff-'));
  const report: DiffReport = {
    sequences: 0, compared: 0, faulted: 0, mismatches: [], unsupported: [], featureGaps: [], engineStops: [], qemuFailures: [], buildFailures: [],
    timings: { generateMs: 0, buildMs: 0, wallMs: 0, qemuMs: 0, emulatorMs: 0 }, emulatorInstructions: 0, templateCounts: new Map(), undefinedFlags: new Map(),
  };
  const unsupported = new Map<string, Unsupported>();
  const gaps = new Map<string, FeatureGap>();
  const featureOf = new Map(TEMPLATES.map((t) => [t.name, t.feature]));
  try {
    const batches = Math.ceil(cfg.count / cfg.batchSize);
    for (let b = 0; b < batches; b++) {
      const n = Math.min(cfg.batchSize, cfg.count - b * cfg.batchSize);
      const firstSeed = (cfg.seed + b * cfg.batchSize) >>> 0;
      let t0 = Date.now();
      const seqs: Sequence[] = [];
      for (let i = 0; i < n; i++) seqs.push(generateSequence((firstSeed + i) >>> 0, templates, cfg.gen));
      for (const s of seqs) for (const i of s.insns) report.templateCounts.set(i.template, (report.templateCounts.get(i.template) ?? 0) + 1);
      report.sequences += n;
      report.timings.generateMs += Date.now() - t0;
      t0 = Date.now();
      let image: string;
      try {
        image = buildBatch(seqs, dir, `batch${b}`);
      } catch (e) {
        report.buildFailures.push(`batch ${b} (seeds ${firstSeed}..${firstSeed + n - 1}): ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      report.timings.buildMs += Date.now() - t0;

      const tq = Date.now();
      const qemu = runOnQemu(image, { kind: 'multiboot', timeoutMs: 60_000 + n * 50, memoryMiB: 128 }).then(
        (r) => { report.timings.qemuMs += Date.now() - tq; return r; },
        (e: unknown) => { report.timings.qemuMs += Date.now() - tq; return e instanceof Error ? e : new Error(String(e)); },
      );
      const te = Date.now();
      const emu = await runOnEmulator(image, n).catch((e: unknown) => e instanceof Error ? e : new Error(String(e)));
      report.timings.emulatorMs += Date.now() - te;
      const q = await qemu;

      if (q instanceof Error) { report.qemuFailures.push(`batch ${b}: ${q.message}`); continue; }
      const qLines = q.serial.split('\n');
      if (q.status !== 1 || !qLines.some((l) => l.startsWith('end '))) {
        report.qemuFailures.push(`batch ${b}: status ${q.status}, last output ${JSON.stringify(qLines.slice(-3).join('\n'))}${q.stderr ? `, stderr ${q.stderr.trim()}` : ''}`);
      }
      if (emu instanceof Error) { report.engineStops.push(`batch ${b}: the engine threw: ${emu.stack ?? emu.message}`); continue; }
      report.emulatorInstructions += emu.instructions;

      const qCpu = cpuFeatures(qLines.find((l) => l.startsWith('cpu ')));
      const eCpu = cpuFeatures(emu.cpuLine);
      if (!qCpu) report.qemuFailures.push(`batch ${b}: no "cpu" line`);
      if (!eCpu && emu.lines.length > 0) report.engineStops.push(`batch ${b}: no "cpu" line from the engine`);
      const qr = parseTranscript(qLines);
      const er = parseTranscript(emu.lines);
      for (const g of qr.garbage.slice(0, 3)) report.qemuFailures.push(`batch ${b}: unreadable line ${JSON.stringify(g)}`);
      for (const g of er.garbage.slice(0, 3)) report.engineStops.push(`batch ${b}: unreadable engine line ${JSON.stringify(g)}`);
      const stopAt = new Map<number, EmulatorStop>();
      for (const s of emu.stops) {
        if (s.seqIndex < 0 || s.kind !== 'unsupported') {
          report.engineStops.push(`batch ${b}${s.seqIndex >= 0 ? ` sequence ${s.seqIndex} (seed ${seqs[s.seqIndex]!.seed})` : ''}: ${s.kind}: ${s.message}${s.seqIndex >= 0 ? `\n  replay: ${replayHint(seqs[s.seqIndex]!.seed)}` : ''}`);
        }
        if (s.seqIndex >= 0) stopAt.set(s.seqIndex, s);
      }

      for (let i = 0; i < n; i++) {
        const seq = seqs[i]!;
        const stop = stopAt.get(i);
        if (stop?.kind === 'unsupported') {
          const what = unsupportedWhat(stop.message);
          const u = unsupported.get(what) ?? { what, count: 0, exampleSeed: seq.seed, exampleText: seq.insns.map((x) => x.text).join(' ; ') };
          u.count++;
          unsupported.set(what, u);
          continue;
        }
        const gap = [...new Set(seq.insns.map((x) => featureOf.get(x.template)))].find((f): f is Feature =>
          f !== undefined && qCpu !== undefined && eCpu !== undefined && qCpu.has(f) !== eCpu.has(f));
        if (gap) {
          const missingOn = qCpu!.has(gap) ? 'engine' : 'qemu';
          const g = gaps.get(gap) ?? { feature: gap, missingOn, count: 0, exampleSeed: seq.seed };
          g.count++;
          gaps.set(gap, g);
          continue;
        }
        const a = qr.results.get(i);
        const c = er.results.get(i);
        if (!a || !c) continue; // reported above as a QEMU failure or an engine stop
        report.compared++;
        if (a.exception) report.faulted++;
        const diffs = compareResults(seq, a, c);
        for (const u of undefinedFlagDiffs(seq, a, c)) {
          const x = report.undefinedFlags.get(u) ?? { count: 0, exampleSeed: seq.seed };
          x.count++;
          report.undefinedFlags.set(u, x);
        }
        if (cfg.verbose) {
          cfg.log([`seed ${seq.seed} (batch ${b} #${i}): ${diffs.length === 0 ? 'same' : 'DIFFERENT'}`, ...describeSequence(seq, a.exception?.insn),
            `  qemu:     ${a.line}`, `  emulator: ${c.line}`, ...diffs.map((d) => `  ${d}`)].join('\n'));
        }
        if (diffs.length === 0) continue;
        const full = report.mismatches.length < cfg.maxReports;
        const text = [
          `MISMATCH seed ${seq.seed} (batch ${b}, sequence ${i})${a.exception ? `, stopped by ${vectorName(a.exception.vector)} at [${a.exception.insn}]` : ''}`,
          ...(full ? describeSequence(seq, a.exception?.insn) : [`  ${seq.insns.map((x) => x.text).join(' ; ')}`]),
          ...diffs.map((d) => `  ${d}`),
          ...(full && diffs.some((d) => d.startsWith('scratch')) ? ['  initial scratch:', ...describeScratch(seq)] : []),
          `  replay: ${replayHint(seq.seed)}`,
        ].join('\n');
        report.mismatches.push({ seed: seq.seed, batch: b, index: i, differences: diffs, report: text });
      }
      cfg.log(`batch ${b}: ${n} sequences (seeds ${firstSeed}..${(firstSeed + n - 1) >>> 0}), compared ${report.compared} so far, ${report.mismatches.length} mismatches, ${[...unsupported.values()].reduce((x, u) => x + u.count, 0)} unsupported`);
    }
  } finally {
    if (cfg.keep) cfg.log(`batch sources and images kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  report.unsupported = [...unsupported.values()].sort((a, b) => b.count - a.count);
  report.featureGaps = [...gaps.values()];
  report.timings.wallMs = Date.now() - started;
  return report;
}

/** The features a "cpu <1:ECX> <80000001:ECX> <7:EBX>" line reports (undefined: no line). */
function cpuFeatures(line: string | undefined): Set<Feature> | undefined {
  const m = line ? /^cpu ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8})$/.exec(line) : null;
  if (!m) return undefined;
  const words: Record<number, number> = { 1: parseInt(m[1]!, 16), 0x80000001: parseInt(m[2]!, 16), 7: parseInt(m[3]!, 16) };
  const have = new Set<Feature>();
  for (const [f, d] of Object.entries(FEATURES) as [Feature, (typeof FEATURES)[Feature]][]) {
    if (((words[d.leaf]! >>> d.bit) & 1) === 1) have.add(f);
  }
  return have;
}

/** A short summary: counts, timings, instruction mix. */
export function summary(cfg: DiffConfig, r: DiffReport): string {
  const t = r.timings;
  const mix = [...r.templateCounts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `differential test vs QEMU TCG: seeds ${cfg.seed}..${(cfg.seed + cfg.count - 1) >>> 0}, ${r.sequences} sequences in batches of ${cfg.batchSize}`,
    `  compared ${r.compared} (${r.faulted} ended in an exception), mismatches ${r.mismatches.length}, unsupported ${r.unsupported.reduce((x, u) => x + u.count, 0)}, cpu-model gaps ${r.featureGaps.reduce((x, g) => x + g.count, 0)}, engine stops ${r.engineStops.length}, qemu failures ${r.qemuFailures.length}, build failures ${r.buildFailures.length}`,
    `  time: total ${(t.wallMs / 1000).toFixed(1)} s; generate ${(t.generateMs / 1000).toFixed(1)} s, assemble ${(t.buildMs / 1000).toFixed(1)} s, qemu ${(t.qemuMs / 1000).toFixed(1)} s, engine ${(t.emulatorMs / 1000).toFixed(1)} s (${(r.emulatorInstructions / 1e6).toFixed(1)} M instructions, in parallel with qemu)`,
    `  instruction mix: ${mix}`,
    `  SDM-undefined flags set differently from QEMU (not failures; "template flag count (example seed)"): ${
      [...r.undefinedFlags.entries()].sort((a, b) => b[1].count - a[1].count).map(([k, v]) => `${k} ${v.count} (${v.exampleSeed})`).join(', ') || 'none'}`,
  ].join('\n');
}
