// Test side of the fuzz runs: bundles worker.ts with esbuild (the worker has
// no vitest transform, so it gets a plain CommonJS bundle with iced-x86's
// WebAssembly next to it, as dist/ has it), runs a job's cases in a worker
// thread, and watches it. A case that sends nothing for HANG_MS is a hang:
// the worker is terminated and a new one continues after that case, so one
// run finds every failing case, not just the first.

import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import type { CaseReport, Job } from './worker';

const root = resolve(__dirname, '../../..');

/** No message for this long: the case is hung (worker.ts cuts merely slow cases after 3 s itself). */
export const HANG_MS = 15_000;
/** Give up on a job after this many hung or crashed workers. */
const MAX_RESTARTS = 8;

export interface BuiltWorker {
  file: string;
  dispose(): void;
}

export async function buildWorker(): Promise<BuiltWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'vmscope-fuzz-'));
  const file = join(dir, 'fuzz-worker.cjs');
  await esbuild.build({
    entryPoints: [join(__dirname, 'worker.ts')], outfile: file,
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: 'inline', logLevel: 'error',
  });
  copyFileSync(join(root, 'node_modules/iced-x86/iced_x86_bg.wasm'), join(dir, 'iced_x86_bg.wasm'));
  // Stack traces through the bundle name the TypeScript sources.
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Failure {
  index: number;
  failure: string;
}

export interface JobSummary {
  cases: number;
  /** Cases the job was asked to run (more than `cases` when the time budget ran out). */
  wanted: number;
  outcomes: Record<string, number>;
  /** Unsupported instruction text → how many cases stopped on it. */
  unsupported: Record<string, number>;
  failures: Failure[];
  slowestMs: number;
  seconds: number;
}

const bump = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1; };

/**
 * Runs the job's cases, at most `seconds` of wall clock: cases left when it
 * is used up are not run (the summary says so). A time budget rather than
 * only a count because a slow engine path makes whole suites slow, and the
 * fuzz tests must stay within about a minute of `npm test`.
 */
export function runJob(worker: BuiltWorker, job: Job, seconds: number, hangMs = HANG_MS): Promise<JobSummary> {
  const t0 = performance.now();
  const s: JobSummary = { cases: 0, wanted: job.to - job.from, outcomes: {}, unsupported: {}, failures: [], slowestMs: 0, seconds: 0 };
  return new Promise((resolveJob) => {
    let restarts = 0;
    const start = (from: number): void => {
      if (from >= job.to) { s.seconds = (performance.now() - t0) / 1000; resolveJob(s); return; }
      let next = from; // the case the worker is on
      let over = false;
      const w = new Worker(worker.file, { workerData: { ...job, from }, execArgv: ['--enable-source-maps'] });
      const restart = (why: string): void => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        s.failures.push({ index: next, failure: why });
        s.cases++;
        bump(s.outcomes, 'hang-or-crash');
        void w.terminate();
        if (++restarts > MAX_RESTARTS) {
          s.failures.push({ index: next + 1, failure: `gave up after ${MAX_RESTARTS} hung or crashed workers; cases ${next + 1}..${job.to - 1} not run` });
          s.seconds = (performance.now() - t0) / 1000;
          resolveJob(s);
          return;
        }
        start(next + 1);
      };
      let timer = setTimeout(() => restart(`hang: no result within ${hangMs / 1000} s`), hangMs);
      w.on('message', (r: CaseReport) => {
        if (over) return;
        clearTimeout(timer);
        s.cases++;
        bump(s.outcomes, r.outcome);
        if (r.unsupported !== undefined) bump(s.unsupported, r.unsupported);
        if (r.failure !== undefined) s.failures.push({ index: r.index, failure: r.failure });
        s.slowestMs = Math.max(s.slowestMs, r.ms);
        next = r.index + 1;
        if (performance.now() - t0 > seconds * 1000 && next < job.to) {
          over = true;
          void w.terminate();
          s.seconds = (performance.now() - t0) / 1000;
          resolveJob(s);
          return;
        }
        timer = setTimeout(() => restart(`hang: no result within ${hangMs / 1000} s`), hangMs);
      });
      w.on('error', (e) => restart(`worker crashed: ${e.stack ?? String(e)}`));
      w.on('exit', (code) => {
        if (over) return;
        if (code !== 0) { restart(`worker exited with status ${code}`); return; }
        over = true;
        clearTimeout(timer);
        if (next < job.to) { restart(`worker ended early after case ${next - 1}`); return; }
        s.seconds = (performance.now() - t0) / 1000;
        resolveJob(s);
      });
    };
    start(job.from);
  });
}

/** One line per outcome, plus the instructions fuzzing most often found unimplemented. */
export function summarize(title: string, s: JobSummary): string {
  const outcomes = Object.entries(s.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const top = Object.entries(s.unsupported).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k} ×${n}`).join(', ');
  const budget = s.cases < s.wanted ? ` -- time budget used up, ${s.wanted - s.cases} of ${s.wanted} cases not run` : '';
  return `${title}: ${s.cases} cases in ${s.seconds.toFixed(1)} s (slowest ${Math.round(s.slowestMs)} ms${budget}): ${outcomes}` +
    (top ? `\n  most common unsupported: ${top}` : '');
}
