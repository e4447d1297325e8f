// The message contract between panel hosts and webviews: the validators
// accept what the hosts and panels send (including everything recorded from
// the real run) and refuse wrong shapes field by field; the panel drops a
// malformed host message instead of rendering it.

import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { isHostMessage, isPanelMessage, isTraceRecord, isWalkInfo, isMemoryRegion, normalizeAddress } from '../../src/common/messages';
import { contentSecurityPolicy, makeNonce, renderPanelHtml } from '../../src/extension/panels/html';
import { addressFromArgument } from '../../src/extension/panels/address-argument';
import { loadFixture } from './support/fixture';

const fixture = loadFixture(join(__dirname, 'fixtures/longmode.json'));

describe('message validators', () => {
  it('accept everything recorded from the real run', () => {
    expect(fixture.trace.every(isTraceRecord)).toBe(true);
    for (const stop of fixture.stops) {
      for (const r of stop.requests) {
        if (r.command === 'vmscope/translate' && r.body) expect(isWalkInfo(r.body)).toBe(true);
        if (r.command === 'vmscope/memoryMap') expect((r.body as { regions: unknown[] }).regions.every(isMemoryRegion)).toBe(true);
      }
    }
    expect(isHostMessage({ type: 'trace', records: fixture.trace, reset: true })).toBe(true);
  });

  it('refuse wrong shapes field by field', () => {
    const region = { start: '0x1000', end: '0x2000', perms: 'rw-s', pageSize: 4096 };
    expect(isHostMessage({ type: 'memoryMap', space: 'gva', regions: [region] })).toBe(true);
    expect(isHostMessage({ type: 'memoryMap', space: 'hpa', regions: [region] })).toBe(false);
    // A region may end at the top of the 64-bit space; nothing may start there.
    expect(isMemoryRegion({ ...region, start: '0xfffffffffffff000', end: '0x10000000000000000' })).toBe(true);
    expect(isMemoryRegion({ ...region, start: '0x10000000000000000' })).toBe(false);
    expect(isMemoryRegion({ ...region, end: '0x1_0000' })).toBe(false);
    expect(isHostMessage({ type: 'memoryMap', space: 'gva', regions: [{ ...region, start: 4096 }] })).toBe(false);
    expect(isHostMessage({ type: 'memoryMap', space: 'gva', regions: [{ ...region, kind: 'disk' }] })).toBe(false);
    expect(isHostMessage({ type: 'memoryMap', space: 'gva', regions: [{ ...region, pageSize: -1 }] })).toBe(false);
    expect(isHostMessage({ type: 'trace', records: [{ type: 'ring', cpu: 0, icount: 1, rip: '0x1', from: 3, to: 0, via: 'teleport' }], reset: false })).toBe(false);
    expect(isHostMessage({ type: 'trace', records: [{ type: 'exception', cpu: 0, icount: 1, rip: 4096, vector: 14, name: '#PF' }], reset: false })).toBe(false);
    expect(isHostMessage({ type: 'session', status: { state: 'stopped', name: 's', threads: [], threadId: 1 } })).toBe(false);
    expect(isHostMessage({ type: 'vmcs', stopCount: 1, vmcs: { address: '0x1', groups: [{ id: 'g', label: 'G', fields: [{ name: 'X', encoding: 16386, value: '0x1' }] }] } })).toBe(false);
    expect(isHostMessage({ type: 'walk', address: '0x1', space: 'gva', walk: { space: 'guest', input: '0x1', ok: 'yes', entries: [] } })).toBe(false);
    expect(isHostMessage({ type: 'unknown' })).toBe(false);
    expect(isHostMessage(null)).toBe(false);
    expect(isHostMessage([])).toBe(false);
  });

  it('check what panels send', () => {
    expect(isPanelMessage({ type: 'ready', panel: 'walk' })).toBe(true);
    expect(isPanelMessage({ type: 'ready', panel: 'settings' })).toBe(false);
    expect(isPanelMessage({ type: 'translate', address: '0x1000', space: 'gva' })).toBe(true);
    expect(isPanelMessage({ type: 'translate', address: 'x'.repeat(200), space: 'gva' })).toBe(false);
    expect(isPanelMessage({ type: 'openMemory', space: 'gpa', address: '0x1000', length: 4096 })).toBe(true);
    expect(isPanelMessage({ type: 'openMemory', space: 'gpa', address: '0x1000', length: 0 })).toBe(false);
    expect(isPanelMessage({ type: 'openMemory', space: 'gpa', address: '4096', length: 1 })).toBe(false);
    expect(isPanelMessage({ type: 'openMemory', space: 'gpa', address: '0x1000', length: 1.5 })).toBe(false);
  });

  it('normalise typed addresses', () => {
    expect(normalizeAddress('0xFFFF8000`00001000')).toBe('0xffff800000001000');
    expect(normalizeAddress(' 4000_0000 ')).toBe('0x40000000');
    expect(normalizeAddress('1000h')).toBe('0x1000');
    expect(normalizeAddress('0x1_0000_0000_0000_0000')).toBeUndefined();
    expect(normalizeAddress('rip')).toBeUndefined();
  });

  it('take an address from a Variables view item or a string', () => {
    expect(addressFromArgument({ variable: { name: 'rip', value: '0x0000000000101000', memoryReference: '0x101000' } })).toBe('0x101000');
    expect(addressFromArgument({ variable: { name: 'cr3', value: '0x106000 [table at 0x106000]' } })).toBe('0x106000');
    expect(addressFromArgument('0x1000')).toBe('0x1000');
    expect(addressFromArgument({ variable: { name: 'rflags', value: '[IF ZF]' } })).toBeUndefined();
    expect(addressFromArgument(undefined)).toBeUndefined();
  });
});

describe('panel HTML', () => {
  it('has a strict CSP with a fresh nonce and no inline script', () => {
    const a = makeNonce(), b = makeNonce();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', a);
    expect(csp).toBe(`default-src 'none'; script-src 'nonce-${a}'; style-src https://file+.vscode-resource.vscode-cdn.net 'nonce-${a}'; ` +
      `img-src https://file+.vscode-resource.vscode-cdn.net data:; font-src https://file+.vscode-resource.vscode-cdn.net`);
    const html = renderPanelHtml({ panel: 'walk', title: 'T', scriptUri: 'https://x/dist/webviews/walk.js', styleUris: ['https://x/media/panels.css'], cspSource: 'https://x', nonce: a });
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    expect(scripts).toEqual([`<script nonce="${a}" src="https://x/dist/webviews/walk.js">`]);
    expect(html).not.toMatch(/style="/);
    expect(html).toContain('http-equiv="Content-Security-Policy"');
  });
});
