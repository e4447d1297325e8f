// Child processes the runner owns, each the leader of its own process group
// (spawned detached), so stopping one stops everything it started (code-server's
// extension host, Chromium's renderers). Every exit path ends them: a normal
// finish, an exception, SIGINT/SIGTERM/SIGHUP, and process exit (synchronous
// SIGKILL as the last resort). Group ids are also written to a pid file in the
// run folder, so a run killed with SIGKILL has its leftovers ended by the next.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';

const groups = new Map(); // pgid -> name
let pidFile;
let marker;

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

function save() {
  if (pidFile) writeFileSync(pidFile, JSON.stringify([...groups.keys()]) + '\n');
}

/**
 * Ends process groups a previous run recorded and left behind. Only groups
 * whose leader's command line still mentions `mark` (the run folder) are
 * touched, so a recycled pid is never killed.
 */
export function reapLeftovers(file, mark) {
  pidFile = file;
  marker = mark;
  if (!existsSync(file)) return;
  let old = [];
  try { old = JSON.parse(readFileSync(file, 'utf8')); } catch { /* unreadable: nothing to do */ }
  for (const pgid of old) {
    let cmd = '';
    try { cmd = readFileSync(`/proc/${pgid}/cmdline`, 'utf8'); } catch { continue; }
    if (!cmd.includes(marker)) continue;
    try { process.kill(-pgid, 'SIGKILL'); process.stdout.write(`e2e: ended process group ${pgid} left by an earlier run\n`); } catch { /* gone */ }
  }
  save();
}

/** Spawns a process group leader; its output goes to `logPath` (and to `onData`). */
export function spawnGroup(name, cmd, args, { env, cwd, logPath, onData } = {}) {
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = logPath ? createWriteStream(logPath, { flags: 'a' }) : undefined;
  const feed = (d) => { log?.write(d); onData?.(d.toString()); };
  child.stdout.on('data', feed);
  child.stderr.on('data', feed);
  child.on('close', () => log?.end());
  if (child.pid) { groups.set(child.pid, name); save(); }
  child.on('exit', () => { /* keep the group: its children may outlive the leader; stopGroup ends them */ });
  return child;
}

/** SIGTERM to the group, then SIGKILL after `graceMs` if anything in it is still alive. */
export async function stopGroup(child, graceMs = 3000) {
  const pgid = child?.pid;
  if (!pgid || !groups.has(pgid)) return;
  try { process.kill(-pgid, 'SIGTERM'); } catch { /* already gone */ }
  const until = Date.now() + graceMs;
  while (Date.now() < until && groupAlive(pgid)) await new Promise((r) => setTimeout(r, 100));
  try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
  groups.delete(pgid);
  save();
}

function groupAlive(pgid) {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

/** Synchronous last resort for every exit path. */
export function killAllNow() {
  for (const pgid of groups.keys()) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
  groups.clear();
  save();
}

let installed = false;
/** Installs the exit-path handlers once; `onSignal` runs the async cleanup first when it can. */
export function installExitHandlers(onSignal) {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\ne2e: ${sig}: stopping code-server and Chromium\n`);
      Promise.race([Promise.resolve(onSignal?.()).catch(() => {}), new Promise((r) => setTimeout(r, 5000))])
        .finally(() => { killAllNow(); process.exit(130); });
    });
  }
}

export { alive };
