// The exit timeline on the recorded longmode run: the records the session
// sent (or that the host fetched with vmscope/trace) are counted by type and
// by reason, filters narrow them, a click on the canvas selects a record and
// shows its fields. The recording has no VMX yet, so there are no vmexit
// records: the VM-exit handler column is checked on synthetic records.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { TraceRecord } from '../../src/common/trace';
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

const upTo = (stop: number): TraceRecord[] => fixture.trace.slice(0, fixture.stops[stop]!.traceLength);
const count = (rs: TraceRecord[], f: (r: TraceRecord) => boolean): number => rs.filter(f).length;

describe('exit timeline panel', () => {
  it('counts the records by type and reason', async () => {
    const s = await openPanel(browser, server.origin, 'timeline', fixture, { stop: 2 });
    const { page } = s;
    const all = upTo(2);
    expect(await page.getAttribute('body', 'data-records')).toBe(String(all.length));
    // Output records are filtered out by default.
    const shown = all.filter((r) => r.type !== 'output');
    expect(await page.getAttribute('body', 'data-visible')).toBe(String(shown.length));
    const pf = count(all, (r) => r.type === 'exception' && r.name === '#PF');
    expect(pf).toBe(3);
    const pfRow = page.locator('table.stats tr[data-type="exception"][data-reason="#PF"]');
    expect(await pfRow.locator('td').nth(2).textContent()).toBe(String(pf));
    const syscalls = count(all, (r) => r.type === 'ring' && r.via === 'syscall');
    expect(await page.locator('table.stats tr[data-reason="3→0 syscall"] td').nth(2).textContent()).toBe(String(syscalls));
    const rings = count(all, (r) => r.type === 'ring');
    expect(await page.locator('label.type-ring .count').textContent()).toBe(` ${rings}`);
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'timeline')).toBeGreaterThan(50);
    await s.close();
  });

  it('fetches the trace with vmscope/trace when no events came, and filters by reason', async () => {
    const s = await openPanel(browser, server.origin, 'timeline', fixture, { stop: 1, traceEvents: false });
    const { page } = s;
    expect(s.link.log.some((r) => r.command === 'vmscope/trace')).toBe(true);
    expect(await page.getAttribute('body', 'data-records')).toBe(String(upTo(1).length));
    await page.fill('#reason', '#pf');
    await s.settle();
    expect(await page.getAttribute('body', 'data-visible')).toBe(String(count(upTo(1), (r) => r.type === 'exception' && r.name === '#PF')));
    await page.uncheck('label.type-exception input');
    await s.settle();
    expect(await page.getAttribute('body', 'data-visible')).toBe('0');
    await s.close();
  });

  it('appends records from later stops and selects a record by click and keyboard', async () => {
    const s = await openPanel(browser, server.origin, 'timeline', fixture, { stop: 0 });
    const { page } = s;
    await s.stopAt(2);
    expect(await page.getAttribute('body', 'data-records')).toBe(String(upTo(2).length));
    await page.focus('#timeline');
    await page.keyboard.press('n');
    await s.settle();
    const first = upTo(2).find((r) => r.type !== 'output')!;
    expect(await page.locator('.details dd').first().textContent()).toBe(first.type);
    // Click the tick of the first #PF.
    const pf = upTo(2).find((r) => r.type === 'exception' && r.name === '#PF')!;
    await page.keyboard.press('Home');
    const x = await page.evaluate(({ icount, min, max }) => {
      const c = document.getElementById('timeline')!;
      return 64 + ((icount - min) / (max - min)) * (c.clientWidth - 72);
    }, { icount: pf.icount, min: upTo(2)[0]!.icount, max: upTo(2).at(-1)!.icount });
    const box = (await page.locator('#timeline').boundingBox())!;
    await page.mouse.click(box.x + x + 1, box.y + 20 + 17);
    await s.settle();
    const text = await page.locator('.details').textContent();
    expect(text).toContain(String(pf.icount));
    await s.close();
  });

  it('shows handler instructions per VM-exit reason', async () => {
    const s = await openPanel(browser, server.origin, 'timeline', fixture, { stop: -1 });
    const base = { cpu: 0, rip: '0x1000' };
    const records: TraceRecord[] = [
      { ...base, type: 'vmentry', icount: 10, launch: true },
      { ...base, type: 'vmexit', icount: 100, reason: 'CPUID', reasonCode: 10, qualification: '0x0', guestRip: '0x2000' },
      { ...base, type: 'vmentry', icount: 160, launch: false },
      { ...base, type: 'vmexit', icount: 200, reason: 'CPUID', reasonCode: 10, qualification: '0x0', guestRip: '0x2002' },
      { ...base, type: 'vmentry', icount: 300, launch: false },
      { ...base, type: 'vmexit', icount: 400, reason: 'EPT_VIOLATION', reasonCode: 48, qualification: '0x181', guestRip: '0x2004', guestPhysical: '0xfee00000' },
    ];
    s.deliver({ type: 'trace', records, reset: true });
    await s.settle();
    const row = s.page.locator('table.stats tr[data-reason="CPUID"] td');
    expect(await row.nth(2).textContent()).toBe('2');
    expect(await row.nth(3).textContent()).toBe('33.3%');
    expect(await row.nth(4).textContent()).toBe('160');
    expect(await row.nth(5).textContent()).toBe('80');
    expect(await s.page.locator('table.stats tr[data-reason="EPT_VIOLATION"] td').nth(4).textContent()).toBe('—'); // no VM entry after it yet
    await screenshotVariance(s.page, 'timeline-vmx-synthetic');
    await s.close();
  });
});
