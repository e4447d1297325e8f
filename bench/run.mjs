// `npm run bench`: runs every benchmark suite (bench/suites/*.mjs), prints
// each suite's table and writes everything to bench/out/results.json.
//
//   node bench/run.mjs [options] [WORKLOAD...]
//     --seconds S            emulator time budget per run (env VMSCOPE_BENCH_SECONDS, default 3)
//     --max-instructions N   also cap each emulator run at N instructions (env VMSCOPE_BENCH_MAX_INSTRUCTIONS)
//     --runs N               timed runs per image, the median is reported (env VMSCOPE_BENCH_RUNS, default 3)
//     --no-qemu              skip QEMU even when installed (env VMSCOPE_BENCH_QEMU=0)
//     --suite NAME           only this suite (repeatable)
//     WORKLOAD               only these workloads (e.g. intloop syscall)
//
// A suite is a module whose default export is
//   { name, description, async run(ctx) → { method: string[], columns: string[],
//     rows: string[][], results: object[], failed?: boolean } }
// ctx: { root, outDir, options, harness (bench/out/harness.cjs, required),
//        harnessPath (to spawn: `node harnessPath run IMAGE ...`), log(line) }.
// Adding a suite is adding a file; run.mjs knows none of them by name.
//
// Exit status: 0 when every suite ran (rows may still say "unsupported:
// ..." -- the engine is allowed not to run a workload yet), 1 when a suite
// failed or a workload gave a wrong result, 2 for a bad option.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const outDir = join(benchDir, 'out');

function usage(message) {
  if (message) console.error(`bench: ${message}`);
  console.error('usage: node bench/run.mjs [--seconds S] [--max-instructions N] [--runs N] [--no-qemu] [--suite NAME]... [WORKLOAD...]');
  process.exit(2);
}

function positive(name, v, { integer = false } = {}) {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) usage(`${name} expects a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

function parseOptions(argv) {
  const env = process.env;
  const o = {
    seconds: positive('VMSCOPE_BENCH_SECONDS', env.VMSCOPE_BENCH_SECONDS ?? '3'),
    maxInstructions: env.VMSCOPE_BENCH_MAX_INSTRUCTIONS ? positive('VMSCOPE_BENCH_MAX_INSTRUCTIONS', env.VMSCOPE_BENCH_MAX_INSTRUCTIONS, { integer: true }) : undefined,
    runs: positive('VMSCOPE_BENCH_RUNS', env.VMSCOPE_BENCH_RUNS ?? '3', { integer: true }),
    qemu: env.VMSCOPE_BENCH_QEMU !== '0',
    suites: [],
    only: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seconds': o.seconds = positive(a, argv[++i]); break;
      case '--max-instructions': o.maxInstructions = positive(a, argv[++i], { integer: true }); break;
      case '--runs': o.runs = positive(a, argv[++i], { integer: true }); break;
      case '--no-qemu': o.qemu = false; break;
      case '--suite': if (argv[i + 1] === undefined) usage('--suite needs a name'); o.suites.push(argv[++i]); break;
      case '--help': case '-h': usage(); break;
      default:
        if (a.startsWith('-')) usage(`unknown option ${a}`);
        o.only.push(a);
    }
  }
  return o;
}

/** Bundles bench/harness.ts (the engine, loader and QEMU helpers) into bench/out/harness.cjs. */
async function buildHarness() {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'harness.cjs');
  await esbuild.build({
    entryPoints: [join(benchDir, 'harness.ts')], outfile,
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: 'inline', logLevel: 'warning',
  });
  // iced-x86 loads its WebAssembly from the bundle's directory (as dist/ has it).
  copyFileSync(join(root, 'node_modules/iced-x86/iced_x86_bg.wasm'), join(outDir, 'iced_x86_bg.wasm'));
  return outfile;
}

async function loadSuites(names) {
  const dir = join(benchDir, 'suites');
  const files = readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const suites = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(dir, f)).href);
    const s = mod.default;
    if (!s || typeof s.name !== 'string' || typeof s.run !== 'function') throw new Error(`bench/suites/${f}: default export must be { name, run(ctx) }`);
    if (names.length === 0 || names.includes(s.name)) suites.push(s);
  }
  const unknown = names.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length > 0) usage(`no suite named ${unknown.join(', ')}`);
  return suites;
}

function printTable(columns, rows) {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Text columns (the first and the last, notes) align left, numbers right.
  const last = columns.length - 1;
  const line = (cells) => cells.map((c, i) => (i === 0 || i === last ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

function hostInfo() {
  const qemu = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    qemu: qemu.status === 0 ? qemu.stdout.split('\n')[0].trim() : null,
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const suites = await loadSuites(options.suites);
  const harnessPath = await buildHarness();
  const harness = createRequire(import.meta.url)(harnessPath);
  const ctx = { root, outDir, options, harness, harnessPath, log: (s) => console.log(s) };
  const host = hostInfo();
  console.log(`vmscope bench: ${host.cpu} (${host.cores} cores), Node ${host.node}${host.qemu ? `, ${host.qemu}` : ''}`);
  const results = { date: new Date().toISOString(), host, options, suites: [] };
  let failed = false;
  for (const s of suites) {
    console.log(`\n== ${s.name}: ${s.description ?? ''}`);
    let r;
    try {
      r = await s.run(ctx);
    } catch (e) {
      console.error(`bench: suite ${s.name} failed: ${e instanceof Error ? e.stack : String(e)}`);
      failed = true;
      results.suites.push({ name: s.name, error: String(e) });
      continue;
    }
    console.log('');
    printTable(r.columns, r.rows);
    for (const m of r.method ?? []) console.log(m);
    if (r.failed) failed = true;
    results.suites.push({ name: s.name, method: r.method, results: r.results });
  }
  const file = join(outDir, 'results.json');
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${file.slice(root.length + 1)}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
