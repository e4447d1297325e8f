// Opens a panel in Chromium with its real host half: the page is the one the
// extension renders (server.ts), the panel's messages reach the real
// controller (src/extension/panels/controllers) through an exposed binding,
// checked with isPanelMessage as the extension does, and the controller's
// messages are dispatched into the page as VS Code delivers them. The debug
// session behind it replays a recording (fixture.ts).

import type { Browser, Page } from 'playwright-core';
import { isPanelMessage, type HostMessage, type MapSpace, type PanelId, type PanelMessage } from '../../../src/common/messages';
import { SessionModel, type DebugLink } from '../../../src/extension/panels/session-model';
import type { PanelController, PanelEnv } from '../../../src/extension/panels/controllers/base';
import { MemoryMapController } from '../../../src/extension/panels/controllers/memory-map';
import { WalkController } from '../../../src/extension/panels/controllers/walk';
import { TimelineController } from '../../../src/extension/panels/controllers/timeline';
import { VmcsController } from '../../../src/extension/panels/controllers/vmcs';
import { ReplayLink, type Fixture } from './fixture';
import { standIn } from './stand-in';
import { DARK_THEME } from './theme';

const CONTROLLERS: Record<PanelId, (env: PanelEnv) => PanelController> = {
  'memory-map': (env) => new MemoryMapController(env),
  walk: (env) => new WalkController(env),
  timeline: (env) => new TimelineController(env),
  vmcs: (env) => new VmcsController(env),
};

export interface OpenOptions {
  /** Which recorded stop the session is at (-1: no session at all). */
  stop?: number;
  /** Deliver the recorded trace as vmscope/trace events (else the host must fetch it). */
  traceEvents?: boolean;
  viewport?: { width: number; height: number };
}

export class PanelSession<L extends DebugLink = ReplayLink> {
  readonly hostMessages: HostMessage[] = [];
  readonly panelMessages: PanelMessage[] = [];
  readonly rejected: unknown[] = [];
  readonly opened: { space: MapSpace; address: string; length: number }[] = [];
  readonly model = new SessionModel();
  controller!: PanelController;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(readonly page: Page, readonly link: L) {}

  /** Queues work in order (host handling, then delivery to the page). */
  queue(f: () => Promise<unknown>): void {
    this.pending = this.pending.then(f).catch((e: unknown) => { this.rejected.push(String(e)); });
  }

  /** Sends a message into the page as the host would (the page validates it). */
  deliver(m: unknown): void {
    this.queue(() => this.page.evaluate((data) => { window.dispatchEvent(new MessageEvent('message', { data })); }, m));
  }

  /** Waits until host and page have nothing left to do. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const p = this.pending;
      await p;
      await this.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await new Promise((r) => setTimeout(r, 20));
      if (p === this.pending) return;
    }
  }

  /** Moves the recorded session to stop `n` (as a DAP 'stopped' event would). */
  async stopAt(this: PanelSession, n: number, traceEvents = true): Promise<void> {
    const before = this.link.current.traceLength;
    this.link.stop = n;
    const s = this.link.current;
    this.model.continued(this.link.id);
    if (traceEvents) this.model.addTrace(this.link.id, this.link.fixture.trace.slice(before, s.traceLength));
    this.model.stoppedOn(this.link.id, s.threadId, s.threads);
    await this.settle();
  }

  posted(): Promise<unknown[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  }

  cspViolations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
  }

  warnings(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __warnings: string[] }).__warnings);
  }

  async close(): Promise<void> {
    this.controller.dispose();
    await this.page.close();
  }
}

export async function openPanel(browser: Browser, origin: string, panel: PanelId, fixture: Fixture, opts: OpenOptions = {}): Promise<PanelSession> {
  const link = new ReplayLink(fixture);
  const stop = opts.stop ?? 0;
  return openPanelWith(browser, origin, panel, link, (model) => {
    if (stop < 0) return;
    link.stop = stop;
    const rec = link.current;
    model.attach(link, { stopped: false });
    if (opts.traceEvents ?? true) model.addTrace(link.id, fixture.trace.slice(0, rec.traceLength));
    model.stoppedOn(link.id, rec.threadId, rec.threads);
  }, opts.viewport);
}

/** Opens a panel whose host talks to any DebugLink; `prepare` sets the session model up first. */
export async function openPanelWith<L extends DebugLink>(
  browser: Browser, origin: string, panel: PanelId, link: L, prepare: (model: SessionModel) => void,
  viewport = { width: 1280, height: 900 },
): Promise<PanelSession<L>> {
  const page = await browser.newPage({ viewport });
  const s = new PanelSession(page, link);
  prepare(s.model);
  const env: PanelEnv = {
    model: s.model,
    post: (m) => { s.hostMessages.push(m); s.deliver(m); },
    openMemory: async (space, address, length) => { s.opened.push({ space, address, length }); },
    settleMs: 0,
  };
  s.controller = CONTROLLERS[panel](env);
  await page.exposeFunction('__vmscopeToHost', (m: unknown) => {
    if (!isPanelMessage(m)) { s.rejected.push(m); return; }
    s.panelMessages.push(m);
    s.queue(() => s.controller.receive(m));
  });
  await page.addInitScript(standIn, { theme: DARK_THEME });
  page.on('pageerror', (e) => { s.rejected.push(`page error: ${e.message}`); });
  await page.goto(`${origin}/panel/${panel}`);
  await s.settle();
  return s;
}
