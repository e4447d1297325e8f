// The VMCS inspector. The recorded run has no VMX yet, so the adapter's
// answer is "no current VMCS", shown as the empty state; a VMCS in the
// adapter's shape (synthetic until the VMX engine can record one) checks
// grouping, control-bit decoding, changed-field marking and search.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { VmcsInfo } from '../../src/targets/target';
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

function vmcs(rip: string, reason: string): VmcsInfo {
  return {
    address: '0x12000',
    groups: [
      { id: 'guest', label: 'Guest state', fields: [
        { name: 'GUEST_CR0', encoding: '0x6800', value: '0x80010033' },
        { name: 'GUEST_RIP', encoding: '0x681e', value: rip },
      ] },
      { id: 'host', label: 'Host state', fields: [{ name: 'HOST_RIP', encoding: '0x6c16', value: '0xffffffff81000000' }] },
      { id: 'control', label: 'Controls', fields: [
        { name: 'CPU_BASED_VM_EXEC_CONTROL', encoding: '0x4002', value: '0x80000080' },
        { name: 'SECONDARY_VM_EXEC_CONTROL', encoding: '0x401e', value: '0x82' },
      ] },
      { id: 'exit-info', label: 'Exit information', fields: [{ name: 'VM_EXIT_REASON', encoding: '0x4402', value: reason }] },
    ],
  };
}

describe('VMCS inspector panel', () => {
  it('shows "no current VMCS" as the empty state', async () => {
    const s = await openPanel(browser, server.origin, 'vmcs', fixture);
    expect(s.link.log.some((r) => r.command === 'vmscope/vmcs')).toBe(true);
    expect(await s.page.locator('.empty-state h2').textContent()).toBe('No current VMCS');
    expect(await s.page.locator('.empty-state p').textContent()).toContain('no current VMCS');
    expect(await s.cspViolations()).toEqual([]);
    expect(await screenshotVariance(s.page, 'vmcs-empty')).toBeGreaterThan(5);
    await s.close();
  });

  it('decodes controls, marks changes since the last stop, and searches', async () => {
    const s = await openPanel(browser, server.origin, 'vmcs', fixture, { stop: -1 });
    const { page } = s;
    s.deliver({ type: 'vmcs', stopCount: 1, vmcs: vmcs('0x401000', '0xa') });
    await s.settle();
    expect(await page.getAttribute('body', 'data-changed')).toBe('0');
    s.deliver({ type: 'vmcs', stopCount: 2, vmcs: vmcs('0x401002', '0x30') });
    await s.settle();
    expect(await page.getAttribute('body', 'data-changed')).toBe('2');
    expect(await page.locator('tr.changed').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name))).toEqual(['GUEST_RIP', 'VM_EXIT_REASON']);
    const primary = await page.locator('tr[data-name="CPU_BASED_VM_EXEC_CONTROL"] summary').textContent();
    expect(primary).toContain('HLT exiting');
    expect(primary).toContain('Activate secondary controls');
    expect(await page.locator('tr[data-name="SECONDARY_VM_EXEC_CONTROL"] summary').textContent()).toContain('Enable EPT');
    expect(await page.locator('tr[data-name="VM_EXIT_REASON"] td').last().textContent()).toContain('EPT_VIOLATION (48)');
    expect(await page.locator('tr[data-name="GUEST_CR0"] td').last().textContent()).toContain('PG');
    expect(await page.locator('section.group h2').allTextContents()).toEqual(
      ['Guest state 2 fields', 'Host state 1 fields', 'Controls 2 fields', 'Exit information 1 fields']);
    await screenshotVariance(page, 'vmcs');
    await page.fill('#search', '0x681e');
    await s.settle();
    expect(await page.locator('tr.field:not([hidden])').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name))).toEqual(['GUEST_RIP']);
    await page.fill('#search', 'rip');
    await s.settle();
    expect(await page.locator('tr.field:not([hidden])').count()).toBe(2);
    await page.fill('#search', '');
    await page.check('#only-changed');
    await s.settle();
    expect(await page.locator('tr.field:not([hidden])').count()).toBe(2);
    // A refresh at the same stop compares with the same previous stop.
    s.deliver({ type: 'vmcs', stopCount: 2, vmcs: vmcs('0x401002', '0x30') });
    await s.settle();
    expect(await page.getAttribute('body', 'data-changed')).toBe('2');
    await s.close();
  });
});
