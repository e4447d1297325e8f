// End to end with the real debug adapter (dist/adapter.js over stdio): the
// longmode guest stops at its first #PF, and the panels' host halves talk
// to the adapter exactly as the extension does (custom requests, DAP
// threads/scopes/variables, the batched vmscope/trace event) while the
// panels render in Chromium. This is what catches a change of shape on
// either side of the contract.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugLink, SessionModel } from '../../src/extension/panels/session-model';
import { traceEventRecords } from '../../src/extension/panels/adapter-data';
import { launchChromium } from './support/browser';
import { startPanelServer, type PanelServer } from './support/server';
import { openPanelWith } from './support/harness';
import { screenshotVariance } from './support/screenshot';

const root = join(__dirname, '../..');
const program = join(root, 'build/guests/longmode.elf');
let browser: Browser;
let server: PanelServer;
let dc: DebugClient;
let stopped: DebugProtocol.StoppedEvent;
const batches: unknown[] = [];

const link: DebugLink = {
  id: 'live', name: 'longmode (live)',
  request: async (command, args) => (await dc.customRequest(command, args)).body as unknown,
};

/** The model as the extension's watcher leaves it after the stop. */
function attach(model: SessionModel): void {
  model.attach(link, { stopped: false });
  for (const b of batches) model.addTrace(link.id, traceEventRecords(b));
  model.stoppedOn(link.id, stopped.body.threadId, [{ id: 1, name: 'vCPU 0' }]);
}

beforeAll(async () => {
  if (!existsSync(program)) throw new Error('build/guests/longmode.elf is missing: run npm run build:guests');
  server = await startPanelServer(root);
  browser = await launchChromium();
  dc = new DebugClient('node', join(root, 'dist/adapter.js'), 'vmscope');
  dc.defaultTimeout = 20_000;
  await dc.start();
  dc.on('vmscope/trace', (e: DebugProtocol.Event) => batches.push(e.body));
  const stop = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
  await Promise.all([
    dc.waitForEvent('initialized').then(async () => {
      await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'exception', condition: '#PF' }] });
      return dc.configurationDoneRequest();
    }),
    dc.launch({ program }),
  ]);
  stopped = await stop;
});

afterAll(async () => {
  await dc?.stop();
  await browser?.close();
  await server?.close();
});

describe('panels on a live adapter session', () => {
  it('memory map: the regions of vmscope/memoryMap', async () => {
    const regions = ((await dc.customRequest('vmscope/memoryMap', { space: 'gva', threadId: stopped.body.threadId })).body as { regions: unknown[] }).regions;
    const s = await openPanelWith(browser, server.origin, 'memory-map', link, attach);
    expect(Number(await s.page.getAttribute('body', 'data-ranges'))).toBeGreaterThan(0);
    expect(Number(await s.page.getAttribute('body', 'data-ranges'))).toBeLessThanOrEqual(regions.length);
    expect(s.rejected).toEqual([]);
    expect((await s.warnings()).filter((w) => w.includes('malformed'))).toEqual([]);
    expect(await screenshotVariance(s.page, 'live-memory-map')).toBeGreaterThan(50);
    await s.close();
  });

  it('address walk: the faulting address stops at a not-present entry, registers come from the Variables scopes', async () => {
    const s = await openPanelWith(browser, server.origin, 'walk', link, attach);
    expect(await s.page.locator('#registers option').count()).toBeGreaterThan(5);
    await s.page.fill('#address', '0x40000000');
    await s.page.press('#address', 'Enter');
    await s.settle();
    expect(await s.page.locator('tr.level.fault').getAttribute('data-level')).toBe('PTE');
    expect(await s.page.locator('tr.fault-cause').textContent()).toContain('not present');
    await s.close();
  });

  it('timeline: the records of the vmscope/trace events, and vmscope/exitStats', async () => {
    const s = await openPanelWith(browser, server.origin, 'timeline', link, attach);
    const records = batches.flatMap((b) => traceEventRecords(b));
    expect(records.length).toBeGreaterThan(5);
    expect(await s.page.getAttribute('body', 'data-records')).toBe(String(records.length));
    expect(s.hostMessages.some((m) => m.type === 'exitStats')).toBe(true);
    // Refresh fetches the same records with vmscope/trace.
    await s.page.click('text=Refresh');
    await s.settle();
    expect(await s.page.getAttribute('body', 'data-records')).toBe(String(records.length));
    await s.close();
  });

  it('VMCS: the adapter says there is none', async () => {
    const s = await openPanelWith(browser, server.origin, 'vmcs', link, attach);
    expect(await s.page.locator('.empty-state h2').textContent()).toBe('No current VMCS');
    await s.close();
  });
});
