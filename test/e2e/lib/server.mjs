// code-server, a real VS Code, for one run: its own HOME, XDG folders,
// user-data, extensions and config under the run folder, bound to 127.0.0.1
// on a port the OS picks (read from its log), no auth, no telemetry, no
// update check, no workspace trust prompt.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { spawnGroup, stopGroup } from './procs.mjs';

/** User settings that keep the workbench quiet and predictable for a robot. */
const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'github.copilot.enable': { '*': false },
  'git.enabled': false,
  'editor.minimap.enabled': false,
  'debug.openDebug': 'openOnDebugBreak',
  'debug.internalConsoleOptions': 'neverOpen',
  'debug.console.closeOnEnd': false,
  'debug.showBreakpointsInOverviewRuler': false,
  'debug.toolBarLocation': 'floating',
  'window.commandCenter': false,
  'workbench.editor.enablePreview': false,
  'files.exclude': { '**/.vscode': false },
  'files.hotExit': 'off',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.panel.defaultLocation': 'bottom',
};

export function prepareServerDirs(runDir) {
  const d = {
    home: join(runDir, 'home'),
    userData: join(runDir, 'user-data'),
    extensions: join(runDir, 'extensions'),
    config: join(runDir, 'code-server.yaml'),
    log: join(runDir, 'code-server.log'),
  };
  for (const p of [d.home, d.userData, d.extensions, join(d.userData, 'User'), join(d.home, '.config'), join(d.home, '.cache'), join(d.home, '.local', 'share')]) {
    mkdirSync(p, { recursive: true });
  }
  writeFileSync(d.config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  writeFileSync(join(d.userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2) + '\n');
  return d;
}

function serverEnv(dirs, nodeBin) {
  const env = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: join(dirs.home, '.config'),
    XDG_CACHE_HOME: join(dirs.home, '.cache'),
    XDG_DATA_HOME: join(dirs.home, '.local', 'share'),
    XDG_RUNTIME_DIR: join(dirs.home, '.runtime'),
    PATH: `${join(nodeBin, '..')}:${process.env.PATH ?? ''}`,
  };
  mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  // What the parent npm or an outer VS Code put here must not steer this one.
  for (const k of Object.keys(env)) {
    if (k.startsWith('npm_') || k.startsWith('VSCODE_') || k === 'PASSWORD' || k === 'HASHED_PASSWORD' || k === 'PORT' || k === 'NODE_OPTIONS' || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  }
  return env;
}

function commonArgs(dirs) {
  return ['--config', dirs.config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
}

/** `code-server --install-extension X.vsix` (a short-lived process of its own). */
export function installExtension({ nodeBin, entry, dirs, vsix, timeoutMs = 120_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [entry, ...commonArgs(dirs), '--force', '--install-extension', vsix], {
      env: serverEnv(dirs, nodeBin), stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && /successfully installed/i.test(out)) resolve(out.trim());
      else reject(new Error(`installing ${vsix} failed (exit ${code}):\n${out.trim()}`));
    });
  });
}

/** Starts code-server; resolves with { url, child } once /healthz answers. */
export async function startServer({ nodeBin, entry, dirs, timeoutMs = 90_000 }) {
  let text = '';
  let resolvePort;
  const portSeen = new Promise((r) => { resolvePort = r; });
  const child = spawnGroup('code-server', nodeBin, [
    entry, ...commonArgs(dirs),
    '--bind-addr', '127.0.0.1:0', '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--ignore-last-opened',
    // A page that navigates to another folder leaves its extension host (and a
    // guest it may be running) behind; drop it soon instead of after 3 hours.
    '--reconnection-grace-time', '20',
  ], {
    env: serverEnv(dirs, nodeBin), cwd: dirs.home, logPath: dirs.log,
    onData: (s) => {
      text += s;
      const m = /HTTP server listening on https?:\/\/[^\s:]+:(\d+)/.exec(text);
      if (m) resolvePort(Number(m[1]));
    },
  });
  const exited = new Promise((_, reject) => child.on('exit', (code, sig) => reject(new Error(`code-server exited (${sig ?? 'exit ' + code}) before it was ready; log: ${dirs.log}\n${text.slice(-3000)}`))));
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`code-server did not print its port within ${timeoutMs / 1000} s; log: ${dirs.log}`)), timeoutMs));
  try {
    const port = await Promise.race([portSeen, exited, timeout]);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
        if (r.ok) break;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`code-server's ${url}/healthz did not answer; log: ${dirs.log}`);
      await Promise.race([new Promise((r) => setTimeout(r, 250)), exited]);
    }
    exited.catch(() => {}); // it exits when we stop it later
    return { url, child };
  } catch (e) {
    exited.catch(() => {});
    await stopGroup(child);
    throw e;
  }
}
