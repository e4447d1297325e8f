// The custom requests of DESIGN.md, malformed requests (error responses,
// never a crash), requests while the guest runs (answered or refused
// cleanly), an unsupported instruction the session survives, halting,
// restart, modules and loaded sources.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, pc, continueToStop, evalRepl, errorOf, buildGuest, stepInstruction } from './helpers';
import { guest } from './guests';

describe('custom and other requests', () => {
  let dc: DebugClient;
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('answers vmscope/translate, memoryMap, trace, exitStats, and vmcs (no current VMCS)', async () => {
    const g = guest('ring');
    await launchStopped(dc, { program: g.elf }, () => dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'ring', condition: 'any' }] }));
    await continueToStop(dc); // 0->3

    const walk = (await dc.customRequest('vmscope/translate', { address: '0x' + g.symbol('user').toString(16), space: 'gva', threadId: 1 })).body;
    expect(walk).toMatchObject({ space: 'guest', ok: true, mode: '4-level', output: '0x' + g.symbol('user').toString(16), pageSize: 0x200000 });
    expect(walk.entries.map((e: { level: string }) => e.level)).toEqual(['PML4E', 'PDPTE', 'PDE']);
    expect(walk.entries[2].flags).toEqual(expect.arrayContaining(['P', 'RW', 'US', 'PS']));
    const bad = (await dc.customRequest('vmscope/translate', { address: 0x400000000 })).body;
    expect(bad.ok).toBe(false);
    expect(bad.fault).toMatch(/not present/);

    const map = (await dc.customRequest('vmscope/memoryMap', { space: 'gva' })).body;
    expect(map.space).toBe('gva');
    // The first 2 MiB became user-accessible; the rest of the 4 GiB identity map is supervisor-only.
    expect(map.regions[0]).toMatchObject({ start: '0x0', end: '0x200000', target: '0x0', perms: 'rwxu', pageSize: 0x200000 });
    expect(map.regions[1]).toMatchObject({ start: '0x200000', end: '0x100000000', perms: 'rwxs' });
    const gpa = (await dc.customRequest('vmscope/memoryMap', { space: 'gpa' })).body;
    expect(gpa.regions.map((r: { kind: string }) => r.kind)).toEqual(['ram', 'mmio', 'mmio']);

    await continueToStop(dc); // 3->0
    const trace = (await dc.customRequest('vmscope/trace', { from: 0, count: 10, types: ['ring'] })).body;
    expect(trace.records.map((r: { from: number; to: number; via: string }) => `${r.from}->${r.to} ${r.via}`)).toEqual(['0->3 iret', '3->0 syscall']);
    expect(trace.records[0].rip).toMatch(/^0x[0-9a-f]+$/);
    expect(trace.total).toBeGreaterThanOrEqual(2);
    const paged = (await dc.customRequest('vmscope/trace', { from: trace.next, count: 10 })).body;
    expect(paged.records).toEqual([]);

    expect((await dc.customRequest('vmscope/exitStats', {})).body).toEqual({ total: 0, reasons: [] });
    expect(await errorOf(dc.customRequest('vmscope/vmcs', { threadId: 1 }))).toBe('no current VMCS');
  });

  it('answers malformed requests with errors and keeps serving', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    expect(await errorOf(dc.customRequest('vmscope/translate', { address: 'zzz' }))).toMatch(/address must be/);
    expect(await errorOf(dc.customRequest('vmscope/translate', { address: 0, threadId: 9 }))).toMatch(/threadId 9 is not a vCPU thread/);
    expect(await errorOf(dc.customRequest('vmscope/memoryMap', { space: 'ept' }))).toMatch(/space must be/);
    expect(await errorOf(dc.customRequest('vmscope/trace', { count: -1 }))).toMatch(/count must be/);
    expect(await errorOf(dc.customRequest('vmscope/trace', { types: ['bogus'] }))).toMatch(/types must be/);
    expect(await errorOf(dc.customRequest('vmscope/nope', {}))).toMatch(/unknown request/);
    expect(await errorOf(dc.customRequest('frobnicate', {}))).toMatch(/unsupported request/);
    expect(await errorOf(dc.stackTraceRequest({ threadId: 'one' as unknown as number }))).toMatch(/threadId/);
    expect(await errorOf(dc.variablesRequest({ variablesReference: 424242 }))).toMatch(/unknown variablesReference/);
    expect(await errorOf(dc.disassembleRequest({ memoryReference: 'gpa:0x100000', instructionCount: 3 }))).toMatch(/guest virtual/);
    expect(await errorOf(dc.evaluateRequest({ expression: '1 +', context: 'repl' }))).toMatch(/ends too early/);
    expect(await errorOf(dc.evaluateRequest({ expression: 'x/4q rsp', context: 'repl' }))).toMatch(/unknown format or size letter "q"/);
    const sb = await dc.setBreakpointsRequest({ source: { name: 'no-path' }, breakpoints: [{ line: 1 }] });
    expect(sb.body.breakpoints[0]!.verified).toBe(false);
    const fb = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'no_such_function' }] });
    expect(fb.body.breakpoints[0]!.message).toMatch(/no symbol "no_such_function"/);
    // Still fine.
    expect(await pc(dc)).toBe(g.symbol('_start'));
  });

  it('answers or refuses requests cleanly while the guest runs', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    await dc.continueRequest({ threadId: 1 });
    expect((await dc.threadsRequest()).body.threads).toHaveLength(1);
    expect(await errorOf(dc.stackTraceRequest({ threadId: 1 }))).toMatch(/running/);
    expect(await errorOf(dc.stepInRequest({ threadId: 1 }))).toMatch(/running/);
    expect(await errorOf(dc.evaluateRequest({ expression: 'rax', context: 'repl' }))).toMatch(/running/);
    expect(await evalRepl(dc, 'trace 1')).toBeTypeOf('string');
    const mem = await dc.customRequest('readMemory', { memoryReference: '0x' + g.symbol('spin').toString(16), count: 4 }) as DebugProtocol.ReadMemoryResponse;
    expect(Buffer.from(mem.body!.data!, 'base64')).toHaveLength(4);
    const dis = await dc.disassembleRequest({ memoryReference: '0x' + g.symbol('spin').toString(16), instructionCount: 2 });
    expect(dis.body!.instructions[0]!.instruction).toBe('add rcx, 1');
    // A breakpoint set while running takes effect.
    const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
    await dc.setBreakpointsRequest({ source: { path: g.source }, breakpoints: [{ line: g.line('jmp spin') }] });
    expect((await stopped).body.reason).toBe('breakpoint');
  });

  it('stops on an unsupported instruction, survives it, then halts and ends with status 0', async () => {
    const g = buildGuest('unsupported', `
_start:
        mov rsp, 0x80000
bad:
        fld1
        hlt
`);
    await launchStopped(dc, { program: g.elf });
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('exception');
    expect(ev.body.description).toMatch(/^Unsupported instruction: unsupported instruction .*fld1.* at 0x[0-9a-f]+ \(d9 e8\)/);
    expect((await dc.exceptionInfoRequest({ threadId: 1 })).body.exceptionId).toBe('unsupported');
    // Step past it by moving RIP, as a user would.
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id });
    await dc.setVariableRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference, name: 'rip', value: 'rip + 2' });
    const halted = await continueToStop(dc);
    expect(halted.body.reason).toBe('pause');
    expect(halted.body.description).toMatch(/^Halted: every vCPU is halted with interrupts disabled/);
    const exited = dc.waitForEvent('exited') as Promise<DebugProtocol.ExitedEvent>;
    await dc.continueRequest({ threadId: 1 });
    expect((await exited).body.exitCode).toBe(0);
  });

  it('restarts, lists modules and loaded sources, and terminates', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    await stepInstruction(dc);
    await stepInstruction(dc);
    const mods = await dc.modulesRequest({});
    expect(mods.body.modules[0]).toMatchObject({ id: 1, name: 'main.elf', path: g.elf });
    const srcs = await dc.customRequest('loadedSources', {}) as DebugProtocol.LoadedSourcesResponse;
    expect(srcs.body.sources.map((s) => s.path)).toEqual([g.source]);
    const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
    await dc.customRequest('restart', {});
    expect((await stopped).body.reason).toBe('entry');
    expect(await pc(dc)).toBe(g.symbol('_start'));
    const terminated = dc.waitForEvent('terminated');
    await dc.terminateRequest({});
    await terminated;
    expect((await dc.threadsRequest()).body.threads).toEqual([]);
  });
});
