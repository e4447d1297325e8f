// Debian's Chromium, headless, started by us (so it is a process group we can
// end on every exit path) with a fresh profile, and driven by playwright-core
// over the DevTools protocol.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGroup, stopGroup } from './procs.mjs';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export async function startBrowser({ executable, runDir, timeoutMs = 60_000 }) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is not installed: it is a devDependency of vmscope (npm install), or for a quick try: npm install --no-save playwright-core');
  }
  const profile = join(runDir, 'chromium-profile');
  mkdirSync(profile, { recursive: true });
  let text = '';
  let resolveWs;
  const wsSeen = new Promise((r) => { resolveWs = r; });
  const child = spawnGroup('chromium', executable, [
    ...CHROMIUM_FLAGS,
    `--user-data-dir=${profile}`,
    '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    '--window-size=1600,1000', '--force-device-scale-factor=1',
    '--disable-features=Translate,MediaRouter,OptimizationHints',
    '--password-store=basic', '--use-mock-keychain',
    'about:blank',
  ], {
    env: { ...process.env, HOME: join(runDir, 'home') },
    logPath: join(runDir, 'chromium.log'),
    onData: (s) => {
      text += s;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) resolveWs(m[1]);
    },
  });
  const exited = new Promise((_, reject) => child.on('exit', (code, sig) => reject(new Error(`Chromium exited (${sig ?? 'exit ' + code}) at start:\n${text.slice(-2000)}`))));
  exited.catch(() => {});
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`Chromium did not open its DevTools port within ${timeoutMs / 1000} s`)), timeoutMs));
  try {
    const ws = await Promise.race([wsSeen, exited, timeout]);
    const browser = await chromium.connectOverCDP(ws, { timeout: timeoutMs });
    const context = browser.contexts()[0] ?? await browser.newContext();
    return { browser, context, child };
  } catch (e) {
    await stopGroup(child);
    throw e;
  }
}

export async function stopBrowser(b) {
  if (!b) return;
  try { await Promise.race([b.browser.close(), new Promise((r) => setTimeout(r, 3000))]); } catch { /* ending anyway */ }
  await stopGroup(b.child);
}
