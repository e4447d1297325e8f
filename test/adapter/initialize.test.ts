// The stand-alone adapter over a real stdio connection answers `initialize`
// with the capabilities and the exception filters of DESIGN.md.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { join } from 'node:path';

const adapter = join(__dirname, '../../dist/adapter.js');

describe('adapter over stdio', () => {
  let dc: DebugClient;
  beforeEach(async () => {
    dc = new DebugClient('node', adapter, 'vmscope');
    await dc.start();
  });
  afterEach(async () => { await dc.stop(); });

  it('answers initialize with its capabilities and the five fixed filters', async () => {
    const r = await dc.initializeRequest({ adapterID: 'vmscope', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const caps = r.body!;
    expect(caps.supportsConfigurationDoneRequest).toBe(true);
    expect(caps.supportsDisassembleRequest).toBe(true);
    expect(caps.supportsReadMemoryRequest).toBe(true);
    expect(caps.supportsInstructionBreakpoints).toBe(true);
    expect(caps.supportsSteppingGranularity).toBe(true);
    expect(caps.exceptionBreakpointFilters!.map((f) => f.filter)).toEqual(['vmexit', 'vmentry-failure', 'ring', 'exception', 'shutdown']);
    const defaults = caps.exceptionBreakpointFilters!.filter((f) => f.default).map((f) => f.filter);
    expect(defaults).toEqual(['vmentry-failure', 'shutdown']);
  });
});
