// The address walk panel on the recorded longmode guest: at the first #PF
// (a user store to unmapped 0x40000000) the walk stops at the PTE with
// "not present"; after the kernel mapped the page the same address walks to
// a page with NX set; the instruction pointer is walked on its own.

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

describe('address walk panel', () => {
  it('walks the instruction pointer when it opens', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const rip = fixture.stops[0]!.scopes.flatMap((sc) => sc.variables).find((r) => r.name === 'rip')!.value;
    expect(s.panelMessages).toContainEqual({ type: 'translate', address: '0x' + BigInt(rip).toString(16), space: 'gva' });
    expect(await s.page.locator('tr.level').count()).toBe(4);
    expect(await s.page.getAttribute('body', 'data-walk')).toBe('ok');
    expect(await s.page.locator('#registers option').count()).toBeGreaterThan(5);
    await s.close();
  });

  it('marks the level where the walk faulted, with its cause', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    await page.fill('#address', '0x4000_0000');
    await page.press('#address', 'Enter');
    await s.settle();
    const levels = await page.locator('tr.level th').allTextContents();
    expect(levels.map((l) => l.replace(/leaf.*$/, ''))).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(await page.locator('tr.level.fault').getAttribute('data-level')).toBe('PTE');
    const cause = await page.locator('tr.fault-cause').textContent();
    expect(cause).toContain('PTE');
    expect(cause).toContain('not present');
    // Index column: 0x40000000 is PML4 0, PDPT 1, PD 0, PT 0.
    const indexes = await page.locator('tr.level td:nth-child(2)').allTextContents();
    expect(indexes).toEqual(['0', '1', '0', '0']);
    expect(await page.locator('table.fields').textContent()).toContain('PDPTE index');
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'walk-fault')).toBeGreaterThan(50);
    await s.close();
  });

  it('re-walks at the next stop: the page is mapped now, no-execute', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    await page.fill('#address', '0x40000000');
    await page.press('#address', 'Enter');
    await s.settle();
    expect(await page.getAttribute('body', 'data-walk')).toBe('fault');
    await s.stopAt(2);
    expect(await page.getAttribute('body', 'data-walk')).toBe('ok');
    expect(await page.locator('tr.level.fault').count()).toBe(0);
    const pte = await page.locator('tr.level[data-level="PTE"] .flags').textContent();
    expect(pte).toContain('NX');
    expect(pte).toContain('US');
    expect(await screenshotVariance(page, 'walk-ok')).toBeGreaterThan(50);
    await s.close();
  });

  it('refuses text that is not an address without asking the host', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    const before = s.panelMessages.length;
    await page.fill('#address', 'rip+4');
    await page.press('#address', 'Enter');
    await s.settle();
    expect(await page.locator('.input-error').textContent()).toContain('not an address');
    expect(s.panelMessages.length).toBe(before);
    await s.close();
  });

  it('shows the adapter error for a gpa walk without EPT', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    await page.fill('#address', '0x40000000');
    await page.selectOption('#space', 'gpa');
    await page.press('#address', 'Enter');
    await s.settle();
    expect(await page.locator('.content .fault-text').textContent()).toContain('needs EPT');
    await s.close();
  });

  it('drops a malformed host message and keeps what it shows', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    const before = await page.locator('.content').innerHTML();
    s.deliver({ type: 'walk', address: '0x1', space: 'gva', walk: { space: 'guest', input: '0x1', ok: true, entries: [{ level: 'PTE' }] } });
    s.deliver({ type: 'registers', registers: [{ name: 'rip', value: 4096 }] });
    await s.settle();
    expect(await page.locator('.content').innerHTML()).toBe(before);
    expect((await s.warnings()).filter((w) => w.includes('malformed')).length).toBe(2);
    await s.close();
  });

  it('draws a two-stage walk as a grid of EPT walks (synthetic: no EPT recording yet)', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const entry = (level: string, at: number, value: string, leaf = false) =>
      ({ level, entryAddress: '0x' + at.toString(16), value, flags: leaf ? ['R', 'W', 'X', 'MT=WB'] : ['R', 'W', 'X'], leaf });
    const ept = (gpa: string, ok: boolean) => ({
      space: 'ept', input: gpa, ok, mode: '4-level', pageSize: 4096, ...(ok ? { output: gpa } : { fault: 'EPT violation: PTE not present' }),
      entries: [entry('EPT PML4E', 0x5000, '0x6007'), entry('EPT PDPTE', 0x6000, '0x7007'), entry('EPT PDE', 0x7000, '0x8007'),
        ok ? entry('EPT PTE', 0x8000 + 8, '0x1037', true) : { ...entry('EPT PTE', 0x8010, '0x0'), flags: ['not present'] }],
    });
    const guest = {
      space: 'guest', input: '0x401000', ok: false, mode: '4-level', fault: 'EPT violation while reading the PDE',
      entries: [entry('PML4E', 0x1000, '0x2027'), entry('PDPTE', 0x2000, '0x3027'), entry('PDE', 0x3010, '0x4027')],
      nested: [ept('0x1000', true), ept('0x2000', true), ept('0x3000', false)],
    };
    s.deliver({ type: 'walk', address: '0x401000', space: 'gva', walk: guest });
    await s.settle();
    const grid = s.page.locator('table.nested');
    expect(await grid.locator('thead th').allTextContents()).toEqual(['Guest access', 'EPT PML4E', 'EPT PDPTE', 'EPT PDE', 'EPT PTE', 'Result']);
    expect(await grid.locator('tbody tr').count()).toBe(3);
    expect(await grid.locator('td.cell.fault').count()).toBe(1);
    expect(await grid.locator('td.cell.fault').textContent()).toContain('EPT violation');
    expect(await s.page.locator('tr.level.fault').getAttribute('data-level')).toBe('PDE');
    await screenshotVariance(s.page, 'walk-nested-synthetic');
    await s.close();
  });
});
