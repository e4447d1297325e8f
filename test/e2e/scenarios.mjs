// The end-to-end scenarios of issue 6, each run in a fresh copy of a sample
// folder (so no breakpoint or filter state leaks between them) in the real
// VS Code that run.mjs starts. A scenario either passes, fails with the step
// that failed, or is skipped with the reason printed (a skip never counts as
// a pass). Screenshots of each step go to test-output/e2e/.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StepError, until } from './lib/workbench.mjs';

function check(cond, message) {
  if (!cond) throw new StepError(message);
}

/** The first source line with code at or after `label:` in an assembly file (1-based). */
export function lineOfLabel(file, label) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${label}:`));
  if (at < 0) throw new Error(`no label "${label}:" in ${file}`);
  const code = (l) => l.replace(/#.*/, '').trim();
  if (code(lines[at]).slice(label.length + 1).trim()) return at + 1;
  for (let i = at + 1; i < lines.length; i++) if (code(lines[i]) && !code(lines[i]).endsWith(':')) return i + 1;
  throw new Error(`no code after "${label}:" in ${file}`);
}

/** Opens a fresh copy of a sample, shows Run and Debug, presses F5 and waits for the stop on entry. */
async function launchToEntry(ctx, sample, name) {
  const { wb } = ctx;
  const folder = ctx.workspace(sample, name);
  await wb.openFolder(folder);
  await wb.showRunAndDebug();
  await wb.shot('workbench');
  await wb.startDebugging();
  const stop = await wb.waitForStop({ state: /entry/i, timeoutMs: 45_000 });
  return { folder, stop };
}

/** Waits for the active editor to show the top stack frame on `line` of `file`. */
async function expectEditorAt(wb, file, line) {
  const seen = await until(`the editor to open ${file} and highlight line ${line} as the current statement`, async () => {
    const tab = await wb.activeTab();
    const at = await wb.topFrameLine();
    return tab.includes(file) && at?.line === line && at.highlighted ? { tab, ...at } : false;
  }, { timeoutMs: 15_000 }).catch(async (e) => {
    throw new StepError(`${e.message}; active tab "${await wb.activeTab()}", top-frame decoration ${JSON.stringify(await wb.topFrameLine())}`);
  });
  return seen;
}

async function pressContinue(wb) {
  // F5 is "Continue" while stopped; the keyboard focus may be in a view, so go through the editor.
  await wb.page.keyboard.press('F5');
}

/** Contributed commands of the extension being tested (from the package.json that was packaged). */
function contributedCommands(ctx) {
  return new Map((ctx.packageJson.contributes?.commands ?? []).map((c) => [c.command, c.title]));
}

const PANELS = [
  { id: 'memory-map', command: 'vmscope.showMemoryMap', name: 'Memory Map' },
  { id: 'walk', command: 'vmscope.showAddressWalk', name: 'Address Walk' },
  { id: 'timeline', command: 'vmscope.showExitTimeline', name: 'Exit Timeline' },
  { id: 'vmcs', command: 'vmscope.showVmcs', name: 'VMCS' },
];

export const SCENARIOS = [
  {
    id: '1',
    title: 'F5 on samples/hello stops on entry: General registers, the entry frame, the entry line highlighted',
    async run(ctx) {
      const { wb } = ctx;
      const { folder, stop } = await launchToEntry(ctx, 'hello', 's1');
      const entryLine = lineOfLabel(join(folder, 'hello.S'), '_start');
      check(/_start/.test(stop.frame.text) && stop.frame.text.includes('hello.S') && stop.frame.text.includes(`${entryLine}:`),
        `the Call Stack's top frame is "${stop.frame.text}", expected _start at hello.S ${entryLine}`);
      const vars = await until('the Variables view to show the General scope with its registers', async () => {
        const rows = await wb.variablesRows();
        const scopes = rows.filter((r) => r.scope).map((r) => r.aria.replace(/^Scope /, ''));
        const ip = rows.find((r) => /^(eip|rip), value 0x[0-9a-f]+/i.test(r.aria));
        return scopes.includes('General') && ip ? { scopes, ip: ip.aria } : false;
      });
      ctx.note(`scopes: ${vars.scopes.join(', ')}; ${vars.ip}`);
      const at = await expectEditorAt(wb, 'hello.S', entryLine);
      ctx.note(`editor: ${at.tab} line ${at.line} highlighted; Call Stack: ${stop.state} at ${stop.frame.text}`);
      await wb.shot('stopped-on-entry');
      await wb.stopDebugging();
    },
  },
  {
    id: '1b',
    title: 'The Call Stack names the vCPUs ("vCPU 0"): VS Code lists threads once there are two, so this runs hello with cpus: 2',
    async run(ctx) {
      const { wb } = ctx;
      const folder = ctx.workspace('hello', 's1b');
      const launchPath = join(folder, '.vscode', 'launch.json');
      const launch = JSON.parse(readFileSync(launchPath, 'utf8'));
      const name = 'Run hello on 2 vCPUs';
      launch.configurations.push({ ...launch.configurations[0], name, cpus: 2 });
      writeFileSync(launchPath, JSON.stringify(launch, null, 2) + '\n');
      await wb.openFolder(folder);
      await wb.showRunAndDebug();
      await wb.command('Debug: Select and Start Debugging');
      await wb.pick(name);
      await until('a debug session to start (the debug toolbar)', async () => (await wb.toolbarVisible()) || (await wb.debugging()), { timeoutMs: 30_000 });
      const threads = await until('the Call Stack to list threads "vCPU 0" and "vCPU 1"', async () => {
        const rows = await wb.callStackRows();
        const t = rows.filter((r) => r.kind === 'thread').map((r) => r.text);
        return t.some((x) => /^vCPU 0\b/.test(x)) && t.some((x) => /^vCPU 1\b/.test(x)) ? t : false;
      }, { timeoutMs: 30_000 });
      ctx.note(`threads: ${threads.join(' | ')}`);
      await wb.shot('two-vcpus');
      await wb.stopDebugging();
    },
  },
  {
    id: '2',
    title: 'Ring change filter (3->0) stops when the guest\'s SYSCALL enters ring 0; the exception widget shows it',
    async run(ctx) {
      const { wb } = ctx;
      const { folder } = await launchToEntry(ctx, 'hello', 's2');
      await wb.setFilter('Ring change', { condition: '3->0', enabled: true });
      await wb.shot('filter-on');
      await pressContinue(wb);
      const stop = await wb.waitForStop({ state: /Ring change/i, timeoutMs: 45_000 });
      check(/3\s*->\s*0/.test(stop.state), `the Call Stack state is "${stop.state}", expected a ring change 3->0`);
      const line = lineOfLabel(join(folder, 'hello.S'), 'syscall_entry');
      check(/syscall_entry/.test(stop.frame.text), `the top frame is "${stop.frame.text}", expected syscall_entry`);
      const w = await until('the exception widget in the editor', () => wb.exceptionWidget(), { timeoutMs: 15_000 });
      check(/3\s*->\s*0/.test(w.text) && /syscall/i.test(w.text), `the exception widget says "${w.text}", expected the ring change 3->0 via syscall`);
      await expectEditorAt(wb, 'hello.S', line);
      ctx.note(`stopped: ${stop.state}; widget: ${w.text.replace(/\s+/g, ' ')}`);
      await wb.shot('ring-change');
      await wb.stopDebugging();
    },
  },
  {
    id: '2-vmx',
    title: 'VM exit filter (EPT_VIOLATION) on samples/hypervisor: stops at that exit, the widget shows reason and qualification, the VMCS scope is there',
    skip(ctx) {
      if (!existsSync(join(ctx.root, 'samples', 'hypervisor', '.vscode', 'launch.json'))) return 'samples/hypervisor (with .vscode/launch.json) does not exist yet';
      if (!ctx.vmx.ok) return `the adapter cannot stop on VM exits by reason yet: ${ctx.vmx.reason}`;
      return undefined;
    },
    async run(ctx) {
      const { wb } = ctx;
      await launchToEntry(ctx, 'hypervisor', 's2vmx');
      await wb.setFilter('VM exit', { condition: 'EPT_VIOLATION', enabled: true });
      await wb.shot('filter-on');
      await pressContinue(wb);
      const stop = await wb.waitForStop({ state: /EPT_VIOLATION/, timeoutMs: 60_000 });
      const w = await until('the exception widget in the editor', () => wb.exceptionWidget(), { timeoutMs: 15_000 });
      check(/EPT_VIOLATION/.test(w.text), `the exception widget says "${w.text}", expected EPT_VIOLATION`);
      check(/qualification/i.test(w.text), `the exception widget says "${w.text}": no exit qualification (VS Code's widget shows exceptionInfo's description and details.stackTrace, not details.message)`);
      const scopes = await until('a VMCS scope in the Variables view', async () => {
        const s = (await wb.variablesRows()).filter((r) => r.scope).map((r) => r.aria.replace(/^Scope /, ''));
        return s.some((x) => /VMCS/i.test(x)) ? s : false;
      });
      await wb.shot('ept-violation');
      await wb.showDebugConsole();
      const exits = await wb.consoleEval('exits', /VM exits[\s\S]*EPT_VIOLATION/);
      ctx.note(`stopped: ${stop.state}; scopes: ${scopes.join(', ')}; exits: ${exits.split('\n')[0]}`);
      await wb.shot('exits');
      await wb.stopDebugging();
    },
  },
  {
    id: '3',
    title: 'Debug Console: "exits" and "walk rip" print answers',
    async run(ctx) {
      const { wb } = ctx;
      const { folder } = await launchToEntry(ctx, 'hello', 's3');
      // The pitfall: focus moves to the editor when the debugger stops; wait for the frame highlight before typing.
      await expectEditorAt(wb, 'hello.S', lineOfLabel(join(folder, 'hello.S'), '_start'));
      await wb.showDebugConsole();
      const walk = await wb.consoleEval('walk rip', /^walk 0x[0-9a-f]+[\s\S]*(→ 0x[0-9a-f]+|fault:)/);
      const exits = await wb.consoleEval('exits', /^(no VM exits yet|\d+ VM exits)/);
      ctx.note(`walk rip: ${walk.replace(/\s+/g, ' ')}; exits: ${exits.split('\n')[0]}`);
      await wb.shot('console');
      await wb.stopDebugging();
    },
  },
  ...PANELS.map((p) => ({
    id: `3-${p.id}`,
    title: `Panel "${p.name}" opens from its command and renders for a stopped session`,
    skip(ctx) {
      const title = contributedCommands(ctx).get(p.command);
      if (!title) return `the command ${p.command} is not contributed in package.json yet (the panels are being wired in)`;
      return undefined;
    },
    async run(ctx) {
      const { wb } = ctx;
      const title = contributedCommands(ctx).get(p.command);
      const category = ctx.packageJson.contributes.commands.find((c) => c.command === p.command)?.category;
      await launchToEntry(ctx, 'hello', `s3-${p.id}`);
      await wb.command(category ? `${category}: ${title}` : title);
      const frame = await wb.webviewFrame({ panel: p.id, timeoutMs: 30_000 });
      const state = await until(`the ${p.name} panel to render for the stopped session (body[data-session="stopped"], content in #app)`, async () => {
        const s = await frame.evaluate(() => ({
          session: document.body.dataset.session,
          text: (document.getElementById('app')?.innerText ?? '').trim(),
          busy: document.getElementById('app')?.getAttribute('aria-busy'),
          error: [...document.querySelectorAll('.notice.error')].map((e) => e.textContent).join(' '),
        }));
        if (s.error) throw new StepError(`the ${p.name} panel shows an error: ${s.error}`);
        return s.session === 'stopped' && s.text.length > 0 && s.busy !== 'true' ? s : false;
      }, { timeoutMs: 20_000 });
      ctx.note(`${p.name}: ${state.text.replace(/\s+/g, ' ').slice(0, 120)}`);
      await wb.shot(`panel-${p.id}`);
      await wb.stopDebugging();
    },
  })),
  {
    id: '4',
    title: 'Step one instruction in the Disassembly view (F11), continue to the end: serial output in the Debug Console, the exit status',
    async run(ctx) {
      const { wb } = ctx;
      const { page } = wb;
      const { stop } = await launchToEntry(ctx, 'hello', 's4');
      await wb.command('Open Disassembly View');
      const current = () => page.locator('.disassembly-view .monaco-list-row:has(.codicon-debug-stackframe)').first().getAttribute('aria-label', { timeout: 1000 }).catch(() => null);
      const before = await until('the Disassembly view to mark the current instruction', current, { timeoutMs: 20_000 });
      await page.locator('.disassembly-view .monaco-list').first().focus();
      await until('the Disassembly view to have the keyboard focus', () => page.evaluate(() => document.activeElement?.closest('.disassembly-view') != null), { timeoutMs: 5000 });
      await wb.shot('disassembly');
      await page.keyboard.press('F11');
      const after = await until('the current instruction to move after F11', async () => {
        const a = await current();
        return a && a !== before ? a : false;
      }, { timeoutMs: 20_000 });
      const frame = await until('the Call Stack to show the new position (a +offset in _start)', async () => {
        const s = await wb.waitForStop({ timeoutMs: 5000 });
        return s.frame.text !== stop.frame.text && /_start\+0x[0-9a-f]+/.test(s.frame.text) ? s.frame.text : false;
      }, { timeoutMs: 15_000 });
      const addr = (a) => /Address: (0x[0-9a-f]+)/i.exec(a)?.[1];
      ctx.note(`stepped ${addr(before)} -> ${addr(after)}; frame ${frame}`);
      await wb.shot('stepped');
      await wb.showDebugConsole();
      await pressContinue(wb);
      await until('the session to end (debug toolbar gone)', async () => !(await wb.toolbarVisible()) && !(await wb.debugging()), { timeoutMs: 60_000 });
      const lines = await until('the serial output "user: hello from ring 3" and the exit status in the Debug Console', async () => {
        const l = await wb.consoleLines();
        return l.some((x) => x.includes('user: hello from ring 3')) && l.some((x) => /\(status \d+\)/.test(x)) ? l : false;
      }, { timeoutMs: 15_000 }).catch(async (e) => { throw new StepError(`${e.message}; the Debug Console shows: ${JSON.stringify(await wb.consoleLines())}`); });
      const end = lines.find((x) => /\(status \d+\)/.test(x)).trim();
      const status = Number(/\(status (\d+)\)/.exec(end)[1]);
      // hello's exit(0) writes 0 to the debug-exit port: QEMU's status (0 << 1) | 1 = 1.
      check(status === 1, `the session ended with "${end}", expected status 1 (the guest's exit(0))`);
      ctx.note(`serial: ${lines.filter((x) => /^(user|kernel):/.test(x)).map((x) => x.trim()).join(' / ')}; end: ${end}`);
      await wb.shot('ended');
    },
  },
];
