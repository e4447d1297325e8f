// The memory map panel on the recorded longmode guest: the regions the
// emulator reported become the ranges the panel lists and draws, the
// picture is not blank, the keyboard zooms and pans, and Enter or a click
// asks the host to open the Memory view at the range.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser';
import { startPanelServer, type PanelServer } from './support/server';
import { loadFixture } from './support/fixture';
import { openPanel } from './support/harness';
import { screenshotVariance } from './support/screenshot';

const root = join(__dirname, '../..');
const fixture = loadFixture(join(__dirname, 'fixtures/longmode.json'));
let browser: Browser;
let server: PanelServer;

beforeAll(async () => {
  server = await startPanelServer(root);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const gvaRegions = (stop: number) =>
  (fixture.stops[stop]!.requests.find((r) => r.command === 'vmscope/memoryMap' && r.args.space === 'gva')!.body as { regions: { start: string; perms: string }[] }).regions;

describe('memory map panel', () => {
  it('shows the guest-virtual ranges of the stopped vCPU', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    expect(s.link.log.some((r) => r.command === 'vmscope/memoryMap' && r.args.space === 'gva')).toBe(true);
    const regions = gvaRegions(0);
    // The adapter's regions are already coalesced by permission: one range each.
    expect(await page.getAttribute('body', 'data-ranges')).toBe(String(regions.length));
    const rows = await page.locator('.vlist-row').allTextContents();
    expect(rows.length).toBe(regions.length);
    expect(rows[0]).toContain('0x1000');
    expect(rows.some((r) => r.includes('r-xu'))).toBe(true);
    const legend = await page.locator('.legend').textContent();
    expect(legend).toContain('read/write');
    expect(legend).toContain('user');
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    const v = await screenshotVariance(page, 'memory-map-gva');
    expect(v).toBeGreaterThan(50);
    await s.close();
  });

  it('zooms with the keyboard and opens the Memory view on Enter', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    const readout = async () => page.locator('.readout').textContent();
    const before = await readout();
    await page.focus('#map');
    await page.keyboard.press('+');
    await s.settle();
    expect(await readout()).not.toBe(before);
    await page.keyboard.press('Home');
    await s.settle();
    expect(await readout()).toMatch(/^256 TiB view|^4 GiB view/);
    await page.keyboard.press('0');
    await s.settle();
    // Tab reaches the range list; Enter opens the active range.
    await page.keyboard.press('Tab');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await s.settle();
    const open = s.panelMessages.find((m) => m.type === 'openMemory');
    expect(open).toEqual({ type: 'openMemory', space: 'gva', address: '0x1000', length: 0xff000 });
    expect(s.opened).toEqual([{ space: 'gva', address: '0x1000', length: 0xff000 }]);
    await s.close();
  });

  it('clicking a range opens it', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    const box = (await page.locator('#map').boundingBox())!;
    // The first row of the fitted view starts at 0: the first range (0x1000…) covers most of it.
    await page.mouse.click(box.x + box.width * 0.6, box.y + 8);
    await s.settle();
    expect(s.opened.length).toBe(1);
    expect(s.opened[0]!.space).toBe('gva');
    await s.close();
  });

  it('switches to the guest-physical layout', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    await page.click('button[data-space="gpa"]');
    await s.settle();
    const rows = await page.locator('.vlist-row').allTextContents();
    expect(rows.join('\n')).toContain('RAM');
    // Fitted to its own extent (RAM up to the APIC pages below 4 GiB), not the virtual view.
    expect(await page.locator('.readout').textContent()).toMatch(/^4 GiB view/);
    expect(await page.locator('.legend').textContent()).toContain('physical layout');
    await screenshotVariance(page, 'memory-map-gpa');
    await s.close();
  });

  it('shows the empty state without a session', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture, { stop: -1 });
    expect(await s.page.locator('.empty-state h2').textContent()).toBe('No vmscope session');
    expect(await s.page.locator('.empty-state p').textContent()).toContain('vmscope');
    await screenshotVariance(s.page, 'memory-map-empty');
    await s.close();
  });

  it('comes back as it was after VS Code reloads the hidden panel', async () => {
    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    await page.focus('#map');
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await page.keyboard.press('ArrowDown');
    await s.settle();
    const readout = await page.locator('.readout').textContent();
    const label = await page.getAttribute('#map', 'aria-label');
    s.controller.suspend();
    const maps = s.link.log.filter((r) => r.command === 'vmscope/memoryMap').length;
    await page.reload();
    await s.settle();
    expect(s.link.log.filter((r) => r.command === 'vmscope/memoryMap').length).toBe(maps + 1);
    expect(await page.locator('.readout').textContent()).toBe(readout);
    expect(await page.getAttribute('#map', 'aria-label')).toBe(label);
    await s.close();
  });
});
