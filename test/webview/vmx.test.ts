// The panels on the recorded vmx-basic hypervisor (fixtures/vmx-basic.json,
// written by record-vmx.ts), stopped by the `vmexit` filter at its
// EPT_VIOLATION exit: the guest stored to GPA 0x20000000, which the EPT
// (guest-physical 0–128 MiB) does not map. The vCPU is in VMX root at the
// stop, so gva is the hypervisor's own paging and gpa walks the VMCS's EPT.

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
const fixture = loadFixture(join(__dirname, 'fixtures/vmx-basic.json'));
const FAULT = 0x2000_0000n;
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

const stop = fixture.stops[0]!;
const recorded = <T>(command: string, args: Record<string, unknown> = {}): T =>
  stop.requests.find((r) => r.command === command && Object.entries(args).every(([k, v]) => r.args[k] === v))!.body as T;
const trace = fixture.trace.slice(0, stop.traceLength);
const exits = trace.filter((r): r is Extract<TraceRecord, { type: 'vmexit' }> => r.type === 'vmexit');

describe('the recording', () => {
  it('stopped at the EPT violation for GPA 0x20000000 after CPUID, IO, VMCALL, IO exits', () => {
    expect(exits.map((r) => r.reason)).toEqual(['CPUID', 'IO_INSTRUCTION', 'VMCALL', 'IO_INSTRUCTION', 'EPT_VIOLATION']);
    const last = exits.at(-1)!;
    // The exit is the last record but the vmx-non-root → vmx-root mode change it caused.
    expect(last).toBe(trace.filter((r) => r.type !== 'mode').at(-1));
    expect(last.qualification).toBe('0x182');
    expect(last.guestPhysical).toBe('0x20000000');
    expect(stop.label).toContain('EPT_VIOLATION (48)');
  });
});

describe('VMX panels at the EPT violation', () => {
  it('memory map: the EPT view (GPA → HPA) has a hole where the guest touched', async () => {
    const regions = recorded<{ regions: { start: string; end: string; target?: string; name?: string }[] }>('vmscope/memoryMap', { space: 'gpa' }).regions;
    const covers = (a: bigint) => regions.some((r) => BigInt(r.start) <= a && a < BigInt(r.end));
    expect(covers(FAULT)).toBe(false);
    expect(covers(0n)).toBe(true); // the EPT maps guest RAM below the hole
    expect(regions.every((r) => r.target !== undefined)).toBe(true); // every range has its host-physical target

    const s = await openPanel(browser, server.origin, 'memory-map', fixture);
    const { page } = s;
    await page.click('button[data-space="gpa"]');
    await s.settle();
    expect(s.link.log.some((r) => r.command === 'vmscope/memoryMap' && r.args.space === 'gpa')).toBe(true);
    expect(await page.getAttribute('body', 'data-ranges')).toBe(String(regions.length));
    const rows = await page.locator('.vlist-row').allTextContents();
    expect(rows.length).toBe(regions.length);
    // The range list goes straight from the end of RAM to the next range: nothing at 0x2000_0000.
    expect(rows.join('\n')).not.toContain('0x2000_0000');
    expect(rows[0]).toContain('0x0');
    expect(await page.locator('.legend').textContent()).toContain('EPT view: guest-physical → host-physical');
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'vmx-memory-map-gpa')).toBeGreaterThan(50);
    await s.close();
  });


  it('walk panel: the EPT walk of the faulting GPA stops at the non-present level, with its cause', async () => {
    const walk = recorded<{ space: string; ok: boolean; entries: { level: string }[]; fault: string }>('vmscope/translate', { space: 'gpa', address: '0x20000000' });
    expect(walk.space).toBe('ept');
    expect(walk.ok).toBe(false);
    const failing = walk.entries.at(-1)!.level;

    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    await page.fill('#address', '0x2000_0000');
    await page.selectOption('#space', 'gpa');
    await page.press('#address', 'Enter');
    await s.settle();
    expect(s.panelMessages).toContainEqual({ type: 'translate', address: '0x20000000', space: 'gpa' });
    expect(await page.getAttribute('body', 'data-walk')).toBe('fault');
    expect(await page.locator('body').textContent()).toContain('vmx-basic (recorded)');
    const levels = await page.locator('tr.level th').allTextContents();
    expect(levels).toEqual(walk.entries.map((e) => e.level));
    expect(levels[0]).toBe('EPT PML4E');
    expect(await page.locator('tr.level.fault').count()).toBe(1);
    expect(await page.locator('tr.level.fault').getAttribute('data-level')).toBe(failing);
    const cause = await page.locator('tr.fault-cause').textContent();
    expect(cause).toContain('EPT violation');
    expect(cause).toContain(`${failing} not present`);
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'vmx-walk-ept-fault')).toBeGreaterThan(50);
    await s.close();
  });

  it('walk panel: a GPA inside the EPT walks to a leaf', async () => {
    const s = await openPanel(browser, server.origin, 'walk', fixture);
    const { page } = s;
    await page.fill('#address', '0x101000');
    await page.selectOption('#space', 'gpa');
    await page.press('#address', 'Enter');
    await s.settle();
    expect(await page.getAttribute('body', 'data-walk')).toBe('ok');
    expect(await page.locator('tr.level.fault').count()).toBe(0);
    expect(await page.locator('tr.level').last().getAttribute('data-level')).toBe('EPT PTE');
    await s.close();
  });

  it('timeline: the five exits so far, counted by reason', async () => {
    const stats = recorded<{ total: number; reasons: { reason: string; count: number }[] }>('vmscope/exitStats');
    expect(stats.total).toBe(5);
    expect(Object.fromEntries(stats.reasons.map((r) => [r.reason, r.count]))).toEqual({ CPUID: 1, IO_INSTRUCTION: 2, VMCALL: 1, EPT_VIOLATION: 1 });

    const s = await openPanel(browser, server.origin, 'timeline', fixture);
    const { page } = s;
    expect(await page.getAttribute('body', 'data-records')).toBe(String(trace.length));
    expect(await page.locator('label.type-vmexit .count').textContent()).toBe(' 5');
    const countOf = async (reason: string) =>
      page.locator(`table.stats tr[data-type="vmexit"][data-reason="${reason}"] td`).nth(2).textContent();
    expect(await countOf('CPUID')).toBe('1');
    expect(await countOf('IO_INSTRUCTION')).toBe('2');
    expect(await countOf('VMCALL')).toBe('1');
    expect(await countOf('EPT_VIOLATION')).toBe('1');
    expect(await page.locator('table.stats tr[data-type="vmexit"]').count()).toBe(4);
    // No VM entry after the EPT violation yet: no handler length for it.
    expect(await page.locator('table.stats tr[data-reason="EPT_VIOLATION"] td').nth(4).textContent()).toBe('—');
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'vmx-timeline')).toBeGreaterThan(50);
    await s.close();
  });

  it('timeline: the same counts when the host fetches the trace with vmscope/trace', async () => {
    const s = await openPanel(browser, server.origin, 'timeline', fixture, { traceEvents: false });
    const { page } = s;
    expect(s.link.log.some((r) => r.command === 'vmscope/trace')).toBe(true);
    expect(await page.getAttribute('body', 'data-records')).toBe(String(trace.length));
    await page.fill('#reason', 'io_instruction');
    await s.settle();
    expect(await page.getAttribute('body', 'data-visible')).toBe('2');
    await s.close();
  });

  it('VMCS panel: the current VMCS by group, with the guest RIP and the exit reason', async () => {
    const vmcs = recorded<{ groups: { id: string; label: string; fields: { name: string; value: string }[] }[] }>('vmscope/vmcs');
    const s = await openPanel(browser, server.origin, 'vmcs', fixture);
    const { page } = s;
    expect(s.link.log.some((r) => r.command === 'vmscope/vmcs')).toBe(true);
    const headings = await page.locator('section.group h2').allTextContents();
    expect(headings).toEqual(vmcs.groups.map((g) => `${g.label} ${g.fields.length} fields`));
    expect(headings.map((h) => h.replace(/ \d+ fields$/, ''))).toEqual(expect.arrayContaining(['Guest state', 'Host state', 'Controls', 'Exit information']));
    const rip = vmcs.groups.find((g) => g.id === 'guest')!.fields.find((f) => f.name === 'GUEST_RIP')!.value;
    expect(rip).toBe(exits.at(-1)!.guestRip);
    // Values are shown with digit grouping (0x10_101c).
    expect((await page.locator('tr[data-name="GUEST_RIP"]').textContent())!.replaceAll('_', '')).toContain(rip);
    expect(await page.locator('tr[data-name="VM_EXIT_REASON"] td').last().textContent()).toContain('EPT_VIOLATION (48)');
    expect(await page.locator('tr[data-name="EXIT_QUALIFICATION"]').textContent()).toContain('0x182');
    expect(await page.locator('tr[data-name="SECONDARY_VM_EXEC_CONTROL"] summary').textContent()).toContain('Enable EPT');
    expect(await s.cspViolations()).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(await screenshotVariance(page, 'vmx-vmcs')).toBeGreaterThan(50);
    await s.close();
  });
});
