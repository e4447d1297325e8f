#!/usr/bin/env node
// `npm run test:e2e`: vmscope in a real VS Code (code-server) driven in
// headless Chromium by playwright-core.
//
//   1. setup (cached): Node 24 and code-server in test/e2e/node24, test/e2e/server
//   2. `npm run package` → vmscope.vsix
//   3. code-server on 127.0.0.1 (port from its log), the .vsix installed into a
//      fresh extensions folder; Chromium with a fresh profile
//   4. the scenarios of scenarios.mjs, each in a fresh copy of a sample folder,
//      screenshots in test-output/e2e/
//   5. everything stopped by process group, whatever happened; the last line
//      is "e2e: N passed, N failed, N skipped"
//
// Options: --only ID[,ID...]   run only these scenarios (e.g. --only 1,4)
//          --retries N         extra attempts for a failed scenario (default 1)
//          --no-package        use the vmscope.vsix already built
//          --timeout S         time limit of one scenario attempt (default 180)

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureSetup, ROOT, E2E_DIR, NODE_BIN, CODE_SERVER_ENTRY, CHROMIUM } from './setup.mjs';
import { installExitHandlers, reapLeftovers, stopGroup, killAllNow } from './lib/procs.mjs';
import { prepareServerDirs, installExtension, startServer } from './lib/server.mjs';
import { startBrowser, stopBrowser } from './lib/browser.mjs';
import { probeVmExitFilter } from './lib/dap-probe.mjs';
import { Workbench, newAttempt } from './lib/workbench.mjs';
import { SCENARIOS } from './scenarios.mjs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const only = opt('--only')?.split(',').map((s) => s.trim()).filter(Boolean);
const retries = Number(opt('--retries') ?? 1);
const scenarioTimeoutMs = Number(opt('--timeout') ?? 180) * 1000;
const doPackage = !args.includes('--no-package');

const RUN_ROOT = join(E2E_DIR, 'run');
const RUN_DIR = join(RUN_ROOT, 'current');
const SHOTS = join(ROOT, 'test-output', 'e2e');
const t0 = Date.now();
const since = (t) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const log = (m) => process.stdout.write(`e2e: ${m}\n`);
const rel = (p) => relative(process.cwd(), p) || p;

let server;
let browser;
async function cleanup() {
  await stopBrowser(browser).catch(() => {});
  browser = undefined;
  if (server) await stopGroup(server.child).catch(() => {});
  server = undefined;
  killAllNow();
}

function runLogged(cmd, cmdArgs, logFile, what) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const keep = (d) => { out += d; };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => { writeFileSync(logFile, out); resolve({ ok: code === 0, out, code, what }); });
    child.on('error', (e) => resolve({ ok: false, out: e.message, code: -1, what }));
  });
}

/** `npm run package`; if that fails, the same vsce packaging with base URLs (so the scenarios can still run) and a failed check. */
async function packageExtension(checks) {
  const vsix = join(ROOT, 'vmscope.vsix');
  if (!doPackage) {
    if (!existsSync(vsix)) throw new Error('--no-package: vmscope.vsix does not exist (run npm run package)');
    log(`using the existing ${rel(vsix)} (--no-package)`);
    return vsix;
  }
  const t = Date.now();
  log('packaging: npm run package ...');
  rmSync(vsix, { force: true });
  const r = await runLogged('npm', ['run', 'package'], join(RUN_DIR, 'package.log'), 'npm run package');
  if (r.ok && existsSync(vsix)) {
    log(`packaging: ${rel(vsix)} (${since(t)})`);
    checks.push({ id: 'package', title: 'npm run package makes vmscope.vsix', status: 'passed', ms: Date.now() - t, notes: [] });
    return vsix;
  }
  const tail = r.out.trim().split('\n').filter((l) => !/Unknown (user|env) config/.test(l)).slice(-6).join('\n          ');
  checks.push({ id: 'package', title: 'npm run package makes vmscope.vsix', status: 'failed', ms: Date.now() - t, notes: [], error: `npm run package failed (exit ${r.code}): ${tail}` });
  log(`packaging: npm run package FAILED (exit ${r.code}); log: ${rel(join(RUN_DIR, 'package.log'))}`);
  log('packaging: falling back to vsce with --baseContentUrl/--baseImagesUrl so the scenarios can run');
  const out = join(RUN_DIR, 'vmscope.vsix');
  const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
  const f = await runLogged(vsce, ['package', '--no-dependencies', '--out', out, '--baseContentUrl', 'https://example.invalid/vmscope', '--baseImagesUrl', 'https://example.invalid/vmscope'],
    join(RUN_DIR, 'package-fallback.log'), 'vsce package');
  if (!f.ok || !existsSync(out)) throw new Error(`packaging failed twice; see ${rel(join(RUN_DIR, 'package.log'))} and package-fallback.log:\n${f.out.slice(-2000)}`);
  log(`packaging: ${rel(out)} (fallback, ${since(t)})`);
  return out;
}

function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms); }),
  ]);
}

async function runScenarios(wb, ctxBase, results) {
  const list = SCENARIOS.filter((s) => !only || only.includes(s.id));
  if (only && list.length === 0) throw new Error(`--only ${only.join(',')}: no such scenario (ids: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  for (const s of list) {
    const ctx = { ...ctxBase, wb, notes: [], note(m) { this.notes.push(m); } };
    const reason = s.skip?.(ctx);
    if (reason) {
      log(`SKIP ${s.id}: ${s.title}\n          reason: ${reason}`);
      results.push({ id: s.id, title: s.title, status: 'skipped', reason, notes: [] });
      continue;
    }
    const started = Date.now();
    const failures = [];
    let passed = false;
    for (let attempt = 1; attempt <= 1 + retries && !passed; attempt++) {
      ctx.notes = [];
      newAttempt();
      wb.setScenario(attempt === 1 ? s.id : `${s.id}-retry${attempt - 1}`);
      log(`RUN  ${s.id}: ${s.title}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
      try {
        await withTimeout(s.run(ctx), scenarioTimeoutMs, `scenario ${s.id}`);
        passed = true;
      } catch (e) {
        newAttempt(); // ends the waits of the abandoned attempt
        const shot = await wb.shot('FAILED');
        const msg = (e?.message ?? String(e)).split('\n').slice(0, 6).join('\n          ');
        failures.push({ attempt, message: msg, screenshot: shot && rel(shot) });
        log(`  attempt ${attempt} failed: ${msg}\n          screenshot: ${shot ? rel(shot) : '(none)'}`);
        await wb.closeQuickInput().catch(() => {});
        await wb.stopDebugging().catch(() => {});
      }
    }
    const r = { id: s.id, title: s.title, status: passed ? 'passed' : 'failed', ms: Date.now() - started, notes: ctx.notes, failures };
    results.push(r);
    log(`${passed ? 'PASS' : 'FAIL'} ${s.id} (${since(started)})${passed && failures.length ? ` — passed on attempt ${failures.length + 1}; first failure: ${failures[0].message.split('\n')[0]}` : ''}`);
    for (const n of ctx.notes) log(`          ${n}`);
  }
}

function summary(results) {
  const n = (st) => results.filter((r) => r.status === st).length;
  process.stdout.write('\ne2e results:\n');
  for (const r of results) {
    const tag = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' }[r.status];
    process.stdout.write(`  ${tag}  ${r.id.padEnd(14)} ${r.title}${r.ms !== undefined ? ` (${(r.ms / 1000).toFixed(1)} s)` : ''}\n`);
    if (r.status === 'skipped') process.stdout.write(`        skipped because ${r.reason}\n`);
    if (r.status === 'failed') {
      if (r.error) process.stdout.write(`        ${r.error}\n`);
      const last = r.failures?.at(-1);
      if (last) process.stdout.write(`        ${last.message}\n        screenshot: ${last.screenshot ?? '(none)'}\n`);
    }
    if (r.status === 'passed' && r.failures?.length) process.stdout.write(`        FLAKY: passed on attempt ${r.failures.length + 1}; earlier: ${r.failures.map((f) => f.message.split('\n')[0]).join(' | ')}\n`);
  }
  writeFileSync(join(SHOTS, 'results.json'), JSON.stringify({ results, seconds: (Date.now() - t0) / 1000 }, null, 2) + '\n');
  process.stdout.write(`  screenshots and results.json: ${rel(SHOTS)}/ (total ${since(t0)})\n\n`);
  process.stdout.write(`e2e: ${n('passed')} passed, ${n('failed')} failed, ${n('skipped')} skipped\n`);
  return n('failed');
}

async function main() {
  installExitHandlers(cleanup);
  mkdirSync(RUN_ROOT, { recursive: true });
  reapLeftovers(join(RUN_ROOT, 'pids.json'), RUN_ROOT);
  rmSync(RUN_DIR, { recursive: true, force: true });
  mkdirSync(RUN_DIR, { recursive: true });
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const results = [];
  try {
    let t = Date.now();
    await ensureSetup();
    log(`setup: ${since(t)}`);

    const vsix = await packageExtension(results);
    const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

    t = Date.now();
    const hv = join(ROOT, 'samples', 'hypervisor', 'hypervisor.elf');
    const vmx = existsSync(hv)
      ? await probeVmExitFilter({ adapter: join(ROOT, 'dist', 'adapter.js'), program: hv, condition: 'EPT_VIOLATION' })
      : { ok: false, reason: 'samples/hypervisor/hypervisor.elf does not exist' };
    log(`adapter probe (VM exit filter "EPT_VIOLATION" on the sample hypervisor): ${vmx.ok ? 'accepted' : `not available: ${vmx.reason}`} (${since(t)})`);

    t = Date.now();
    const dirs = prepareServerDirs(RUN_DIR);
    await installExtension({ nodeBin: NODE_BIN, entry: CODE_SERVER_ENTRY, dirs, vsix });
    log(`installed ${rel(vsix)} into ${rel(dirs.extensions)} (${since(t)})`);
    t = Date.now();
    server = await startServer({ nodeBin: NODE_BIN, entry: CODE_SERVER_ENTRY, dirs });
    log(`code-server ${server.url} (log ${rel(dirs.log)}) (${since(t)})`);
    t = Date.now();
    browser = await startBrowser({ executable: CHROMIUM, runDir: RUN_DIR });
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    await page.setViewportSize({ width: 1600, height: 1000 });
    log(`chromium (${since(t)})`);

    const wb = new Workbench(page, { url: server.url, shotsDir: SHOTS, log });
    const wsRoot = join(RUN_DIR, 'workspaces');
    const ctxBase = {
      root: ROOT, packageJson, vmx,
      /** A fresh copy of samples/<sample> at workspaces/<name>/<sample>: its own workspace storage, nothing left from other scenarios. */
      workspace(sample, name) {
        const dest = join(wsRoot, name, sample);
        rmSync(dest, { recursive: true, force: true });
        cpSync(join(ROOT, 'samples', sample), dest, { recursive: true });
        return dest;
      },
    };
    t = Date.now();
    await runScenarios(wb, ctxBase, results);
    log(`scenarios: ${since(t)}`);
  } catch (e) {
    log(`run aborted: ${e?.stack ?? e}`);
    results.push({ id: 'run', title: 'the e2e run itself (setup, packaging, code-server, Chromium)', status: 'failed', notes: [], error: (e?.message ?? String(e)).split('\n').slice(0, 8).join('\n        ') });
  } finally {
    await cleanup();
  }
  const failed = summary(results);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
