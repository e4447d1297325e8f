// The VS Code workbench (code-server in Chromium) as a person uses it: the
// command palette, F5 and the debug keys, the Run and Debug views (Variables,
// Call Stack, Breakpoints), the exception widget, the Debug Console, the
// Disassembly view and webview panels. Each helper waits for what a person
// would wait for, retries where the workbench is known to race (see the
// pitfalls in issue 6), and fails with a message saying what it saw.
//
// Selectors are VS Code's own DOM (1.139): class names and aria-labels.

import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class StepError extends Error {}

/** Set when the runner gives up on a scenario attempt (its time is up): every wait then ends at once. */
let abortToken = { aborted: false };
export function newAttempt() {
  abortToken.aborted = true;
  abortToken = { aborted: false };
  return abortToken;
}

/** Polls `f` until it returns a truthy value; throws `what` with the last value seen. */
export async function until(what, f, { timeoutMs = 20_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  const token = abortToken;
  for (;;) {
    if (token.aborted) throw new StepError(`abandoned while waiting for ${what} (the scenario ran out of time)`);
    try {
      last = await f();
      if (last) return last;
    } catch (e) { lastErr = e; }
    if (Date.now() > deadline) {
      const seen = lastErr ? ` (last error: ${lastErr.message.split('\n')[0]})` : last !== undefined && last !== false ? ` (last seen: ${JSON.stringify(last)})` : '';
      throw new StepError(`timed out after ${timeoutMs / 1000} s waiting for ${what}${seen}`);
    }
    await sleep(intervalMs);
  }
}

export class Workbench {
  constructor(page, { url, shotsDir, log }) {
    this.page = page;
    this.url = url;
    this.shotsDir = shotsDir;
    this.log = log ?? (() => {});
    this.shots = [];
    this.prefix = 'e2e';
    page.on('dialog', (d) => { void d.accept().catch(() => {}); });
  }

  /** Screenshots go to test-output/e2e/<scenario>-<nn>-<name>.png. */
  setScenario(prefix) { this.prefix = prefix; this.shotN = 0; }

  async shot(name) {
    const file = join(this.shotsDir, `${this.prefix}-${String(++this.shotN).padStart(2, '0')}-${name}.png`);
    try {
      await this.page.screenshot({ path: file, timeout: 10_000 });
      this.shots.push(file);
      return file;
    } catch (e) {
      this.log(`    (screenshot ${file} failed: ${e.message.split('\n')[0]})`);
      return undefined;
    }
  }

  // ---- workbench ---------------------------------------------------------------

  /** Loads the workbench on a folder and waits until it is usable. */
  async openFolder(folder) {
    const { page } = this;
    await page.goto(`${this.url}/?folder=${encodeURIComponent(folder)}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await until('the workbench to render (.monaco-workbench with its status bar and explorer)', async () =>
      (await page.locator('.monaco-workbench .part.statusbar').count()) > 0 && (await page.locator('.monaco-workbench .part.activitybar, .monaco-workbench .part.sidebar').count()) > 0,
    { timeoutMs: 60_000 });
    const name = folder.split('/').pop();
    await until(`the explorer to show the folder "${name}"`, async () =>
      (await page.locator('.part.sidebar .pane-header, .part.sidebar .monaco-list-row').filter({ hasText: new RegExp(escapeRe(name), 'i') }).count()) > 0,
    { timeoutMs: 30_000 });
  }

  /** Whether the quick input (command palette) is open. */
  async quickInputOpen() {
    return this.page.locator('.quick-input-widget').evaluate((e) => e.style.display !== 'none' && e.offsetParent !== null).catch(() => false);
  }

  async closeQuickInput() {
    for (let i = 0; i < 3 && await this.quickInputOpen(); i++) { await this.page.keyboard.press('Escape'); await sleep(150); }
  }

  /**
   * Runs a command by its palette title ("View: Show Run and Debug"). The palette
   * captures its list when it opens and extension contributions arrive seconds
   * after the workbench renders, so a missing entry is retried with a fresh
   * palette until `timeoutMs`.
   */
  async command(title, { timeoutMs = 30_000 } = {}) {
    const { page } = this;
    const deadline = Date.now() + timeoutMs;
    let seen = [];
    for (let attempt = 1; ; attempt++) {
      await this.closeQuickInput();
      await page.keyboard.press('F1');
      try {
        await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: 5000 });
      } catch {
        // The keyboard focus may be somewhere F1 does not reach (a webview): click the status bar and retry.
        await page.locator('.part.statusbar').click({ position: { x: 5, y: 5 } }).catch(() => {});
        if (Date.now() > deadline) throw new StepError(`the command palette did not open (F1) to run "${title}"`);
        continue;
      }
      await page.locator('.quick-input-widget .quick-input-box input').fill(`>${title}`);
      const row = await until(`"${title}" in the command palette`, async () => {
        const rows = await page.locator('.quick-input-list .monaco-list-row').evaluateAll((rs) => rs.map((r) => ({
          id: r.id, label: (r.querySelector('.label-name')?.textContent ?? r.getAttribute('aria-label') ?? '').trim(),
        })));
        seen = rows.map((r) => r.label);
        return rows.find((r) => r.label.toLowerCase() === title.toLowerCase());
      }, { timeoutMs: 3000 }).catch(() => undefined);
      if (row) {
        await page.locator(`[id="${row.id}"]`).click();
        await until('the command palette to close', async () => !(await this.quickInputOpen()), { timeoutMs: 5000 }).catch(() => {});
        return;
      }
      if (Date.now() > deadline) {
        await this.closeQuickInput();
        throw new StepError(`the command "${title}" is not in the command palette after ${attempt} tries (${timeoutMs / 1000} s); it listed: ${seen.slice(0, 8).join(' | ') || 'nothing'}`);
      }
      await this.closeQuickInput();
      await sleep(1500);
    }
  }

  /** Picks an entry of an open quick pick by its label. */
  async pick(label, { timeoutMs = 10_000 } = {}) {
    const { page } = this;
    const row = await until(`"${label}" in the quick pick`, async () => {
      const rows = await page.locator('.quick-input-list .monaco-list-row').evaluateAll((rs) => rs.map((r) => ({
        id: r.id, label: (r.querySelector('.label-name')?.textContent ?? r.getAttribute('aria-label') ?? '').trim(),
      })));
      return rows.find((r) => r.label === label || r.label.startsWith(label));
    }, { timeoutMs });
    await page.locator(`[id="${row.id}"]`).click();
  }

  /** Text of the notification toasts (errors from the extension land there). */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast, .notification-list-item-message').allInnerTexts().catch(() => []);
  }

  async closeNotifications() {
    await this.page.locator('.notifications-toasts .codicon-notifications-clear, .notification-toast .codicon-notifications-clear').click({ timeout: 1000 }).catch(() => {});
  }

  // ---- debugging ---------------------------------------------------------------

  async debugging() {
    return this.page.locator('.part.statusbar.debugging').count().then((n) => n > 0).catch(() => false);
  }

  async toolbarVisible() {
    return this.page.locator('.debug-toolbar').evaluate((e) => e.style.display !== 'none' && e.offsetParent !== null).catch(() => false);
  }

  /**
   * F5 with the selected launch configuration; waits until a session runs.
   * If the debug type is not known yet (contributions still arriving) VS Code
   * shows a picker or an error: dismiss it and try again.
   */
  async startDebugging({ attempts = 4, key = 'F5' } = {}) {
    const { page } = this;
    let why = '';
    for (let i = 1; i <= attempts; i++) {
      await this.closeQuickInput();
      await page.locator('.part.editor').click({ position: { x: 40, y: 300 } }).catch(() => {});
      await page.keyboard.press(key);
      try {
        await until('a debug session to start (the debug toolbar)', async () => (await this.toolbarVisible()) || (await this.debugging()), { timeoutMs: 20_000 });
        return;
      } catch (e) {
        why = `${e.message}; notifications: ${(await this.notifications()).join(' / ') || 'none'}; quick input open: ${await this.quickInputOpen()}`;
        this.log(`    F5 did not start a session (try ${i}/${attempts}): ${why}`);
        await this.closeQuickInput();
        await this.closeNotifications();
        await sleep(2000);
      }
    }
    throw new StepError(`F5 did not start a debug session after ${attempts} tries: ${why}`);
  }

  /** Stops the session (Shift+F5 through its command) and waits for the end. */
  async stopDebugging() {
    if (!(await this.toolbarVisible()) && !(await this.debugging())) return;
    await this.command('Debug: Stop').catch(() => this.page.keyboard.press('Shift+F5'));
    await until('the debug session to end', async () => !(await this.toolbarVisible()) && !(await this.debugging()), { timeoutMs: 15_000 });
  }

  async showRunAndDebug() {
    await this.command('View: Show Run and Debug');
    await until('the Run and Debug view (Variables, Call Stack, Breakpoints)', async () =>
      (await this.page.locator('.pane-body.debug-call-stack').count()) > 0 && (await this.page.locator('.pane-body.debug-breakpoints').count()) > 0, { timeoutMs: 10_000 });
  }

  /** The Call Stack header's state ("Paused on entry", "Ring change: 3->0 via syscall"). */
  async callStackState() {
    return (await this.page.locator('.call-stack-state-message').first().innerText().catch(() => '')).trim();
  }

  /** Rows of the Call Stack: { kind: 'thread'|'frame'|'session', label, aria }. */
  async callStackRows() {
    return this.page.locator('.pane-body.debug-call-stack .monaco-list-row').evaluateAll((rs) => rs.map((r) => {
      const c = r.querySelector('.monaco-tl-contents > *');
      const kind = c?.classList.contains('thread') ? 'thread' : c?.classList.contains('stack-frame') ? 'frame' : c?.classList.contains('session') ? 'session' : (c?.className ?? '');
      return { kind, text: (r.innerText ?? '').replace(/\s+/g, ' ').trim(), aria: r.getAttribute('aria-label') ?? '' };
    }));
  }

  /** Waits until the guest is stopped: a frame in the Call Stack, and a state matching `state` if given. */
  async waitForStop({ state, timeoutMs = 30_000 } = {}) {
    return until(`the debugger to stop${state ? ` with "${state}"` : ''} (Call Stack state, a stack frame)`, async () => {
      const s = await this.callStackState();
      const rows = await this.callStackRows();
      const frame = rows.find((r) => r.kind === 'frame');
      if (!frame || !s) return false;
      if (state && !(state instanceof RegExp ? state.test(s) : s.includes(state))) return false;
      return { state: s, frame, rows };
    }, { timeoutMs });
  }

  /** Rows of the Variables view: { scope: bool, aria }. */
  async variablesRows() {
    return this.page.locator('.pane-body.debug-variables .monaco-list-row').evaluateAll((rs) => rs.map((r) => ({
      scope: Boolean(r.querySelector('.monaco-tl-contents > .scope')),
      aria: r.getAttribute('aria-label') ?? '',
      text: (r.innerText ?? '').trim(),
    })));
  }

  /**
   * The line the active editor shows as the top stack frame: the line number
   * beside the stack-frame glyph, and whether the whole-line highlight is drawn.
   */
  async topFrameLine() {
    return this.page.evaluate(() => {
      const groups = [...document.querySelectorAll('.editor-group-container.active .monaco-editor, .monaco-editor')];
      for (const ed of groups) {
        const glyph = ed.querySelector('.margin-view-overlays .codicon-debug-stackframe, .margin-view-overlays .codicon-debug-stackframe-focused');
        if (!glyph) continue;
        const gy = glyph.getBoundingClientRect().top;
        const nums = [...ed.querySelectorAll('.margin-view-overlays .line-numbers')];
        const hit = nums.find((n) => Math.abs(n.getBoundingClientRect().top - gy) < 4);
        const highlighted = ed.querySelector('.view-overlays .debug-top-stack-frame-line, .view-overlays .debug-focused-stack-frame-line') !== null;
        return { line: hit ? Number(hit.textContent) : undefined, highlighted };
      }
      return undefined;
    });
  }

  /** The active editor tab's title. */
  async activeTab() {
    return (await this.page.locator('.editor-group-container.active .tab.active').first().innerText().catch(() => '')).trim();
  }

  // ---- breakpoints view: exception filters ---------------------------------------

  filterRow(label) {
    return this.page.locator('.pane-body.debug-breakpoints .monaco-list-row').filter({ has: this.page.locator('.breakpoint.exception .name', { hasText: new RegExp(`^${escapeRe(label)}$`) }) });
  }

  /** Sets an exception filter's condition (inline editor of the Breakpoints view) and its checkbox. */
  async setFilter(label, { enabled, condition }) {
    const { page } = this;
    const row = this.filterRow(label);
    await until(`the "${label}" filter in the Breakpoints view`, async () => (await row.count()) > 0, { timeoutMs: 10_000 });
    if (condition !== undefined) {
      await row.hover();
      await row.locator('a.codicon-edit, a[aria-label^="Edit Condition"]').click();
      const input = page.locator('.pane-body.debug-breakpoints input[aria-label*="condition" i]');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(condition);
      await input.press('Enter');
      await until(`the "${label}" row to show the condition "${condition}"`, async () =>
        ((await row.locator('.condition').innerText().catch(() => '')).trim() === condition), { timeoutMs: 5000 });
    }
    if (enabled !== undefined) {
      const now = async () => (await row.getAttribute('aria-checked')) === 'true';
      if ((await now()) !== enabled) await row.locator('.monaco-checkbox').click();
      await until(`the "${label}" filter to be ${enabled ? 'on' : 'off'}`, async () => (await now()) === enabled, { timeoutMs: 5000 });
    }
  }

  async exceptionWidget() {
    const w = this.page.locator('.exception-widget').first();
    if (!(await w.count())) return undefined;
    return {
      title: (await w.locator('.title .label, .title').first().innerText().catch(() => '')).trim(),
      description: (await w.locator('.description').innerText().catch(() => '')).trim(),
      text: (await w.innerText().catch(() => '')).trim(),
      aria: (await w.getAttribute('aria-label')) ?? '',
    };
  }

  // ---- Debug Console -------------------------------------------------------------

  async showDebugConsole() {
    await this.command('Debug Console: Focus on Debug Console View');
    await until('the Debug Console input', async () => (await this.page.locator('.repl .repl-input-wrapper').count()) > 0, { timeoutMs: 10_000 });
  }

  /** Every row of the Debug Console, oldest first (as rendered; the list is virtual, so keep the panel tall). */
  async consoleLines() {
    return this.page.locator('.repl .monaco-list-row').evaluateAll((rs) => rs
      .map((r) => ({ i: Number(r.getAttribute('data-index')), text: r.getAttribute('aria-label') ?? r.innerText }))
      .sort((a, b) => a.i - b.i).map((r) => r.text));
  }

  /**
   * Types a line into the Debug Console and waits for an answer matching `expect`
   * after its echo. Focus moves to the editor when the debugger stops, so the
   * input is clicked and its focus checked before typing.
   */
  async consoleEval(line, expect, { timeoutMs = 15_000 } = {}) {
    const { page } = this;
    const input = page.locator('.repl .repl-input-wrapper .monaco-editor');
    await until('the Debug Console input to have the keyboard focus', async () => {
      await input.click();
      return page.evaluate(() => document.activeElement?.closest('.repl-input-wrapper') !== null && document.activeElement?.closest('.repl-input-wrapper') !== undefined);
    }, { timeoutMs: 10_000 });
    const before = (await this.consoleLines()).length;
    await page.keyboard.type(line, { delay: 10 });
    await page.keyboard.press('Enter');
    return until(`the Debug Console to answer "${line}" with ${expect}`, async () => {
      const lines = await this.consoleLines();
      const echo = lines.lastIndexOf(line);
      if (echo < 0) return false;
      const answer = lines.slice(echo + 1).find((l) => expect.test(l));
      return answer ?? (lines.length > before ? false : false);
    }, { timeoutMs });
  }

  // ---- webviews ------------------------------------------------------------------

  /** The content frame of the active webview panel (iframe.webview.ready → iframe#active-frame). */
  async webviewFrame({ panel, timeoutMs = 20_000 } = {}) {
    const { page } = this;
    return until(`a webview panel${panel ? ` "${panel}"` : ''} to load (iframe.webview.ready → iframe#active-frame)`, async () => {
      for (const outer of await page.locator('iframe.webview.ready').elementHandles()) {
        const f1 = await outer.contentFrame();
        const innerEl = f1 && await f1.$('iframe#active-frame');
        const f2 = innerEl && await innerEl.contentFrame();
        if (!f2) continue;
        const p = await f2.evaluate(() => document.body?.dataset.panel).catch(() => undefined);
        if (!panel || p === panel) return f2;
      }
      return false;
    }, { timeoutMs });
  }
}

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
