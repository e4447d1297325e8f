// Execution control over real stdio: instruction stepping, stepping over a
// call, stepping out, line stepping, source/function/instruction breakpoints
// with conditions, hit counts and log points, and pausing an endless loop.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, pc, stepInstruction, continueToStop, register, buildRom } from './helpers';
import { guest } from './guests';

describe('stepping and breakpoints', () => {
  let dc: DebugClient;
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('steps one instruction at a time', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const ev = await stepInstruction(dc);
    expect(ev.body.reason).toBe('step');
    expect(await register(dc, 'rsp')).toBe(0x80000n);
    await stepInstruction(dc);
    expect(await register(dc, 'rax')).toBe(1n);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0]!.line).toBe(g.line('mov rbx, 2'));
  });

  it('steps over a call (run to the return address) and into it', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    for (let i = 0; i < 3; i++) await stepInstruction(dc);
    expect(await pc(dc)).toBe(g.symbol('after_call') - 5n); // at "call add_them"
    await stepInstruction(dc, 'next');
    expect(await pc(dc)).toBe(g.symbol('after_call'));
    expect(await register(dc, 'rax')).toBe(13n); // 1 + 2 + 10: the callee ran
    expect(await register(dc, 'rsp')).toBe(0x80000n);
  });

  it('steps out of a function to its caller', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'leaf' }] }));
    const hit = await continueToStop(dc);
    expect(hit.body.reason).toBe('function breakpoint');
    expect(await pc(dc)).toBe(g.symbol('leaf'));
    const st = await dc.stackTraceRequest({ threadId: 1 });
    // The callers, found from [rsp] at the function's entry and then the RBP chain (named by the nearest label).
    expect(st.body.stackFrames.map((f) => f.name)).toEqual(['leaf', 'after_leaf', 'after_call']);
    expect(st.body.stackFrames[1]!.line).toBe(g.line('call leaf'));
    await stepInstruction(dc, 'stepOut');
    expect(await pc(dc)).toBe(g.symbol('after_leaf'));
    await stepInstruction(dc, 'stepOut');
    expect(await pc(dc)).toBe(g.symbol('after_call'));
  });

  it('stops at a breakpoint on the entry instruction when not stopping on entry', async () => {
    const g = guest('main');
    const ev = await launchStopped(dc, { program: g.elf, stopOnEntry: false }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: '_start' }] }));
    expect(ev.body.reason).toBe('function breakpoint');
    expect(await pc(dc)).toBe(g.symbol('_start'));
    await stepInstruction(dc);
    expect(await register(dc, 'rsp')).toBe(0x80000n);
  });

  it('steps by source line when the image has DWARF lines', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const lines: number[] = [];
    for (let i = 0; i < 4; i++) {
      const stopped = dc.waitForEvent('stopped');
      await dc.nextRequest({ threadId: 1 });
      await stopped;
      lines.push((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!.line);
    }
    expect(lines).toEqual([g.line('mov rax, 1'), g.line('mov rbx, 2'), g.line('call add_them'), g.line('mov qword ptr [counter], rax')]);
  });

  it('stops at a source breakpoint, honours conditions and hit counts, and logs log points', async () => {
    const g = guest('main');
    const logs: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.category === 'console') logs.push(e.body.output); });
    let bps!: DebugProtocol.SetBreakpointsResponse;
    await launchStopped(dc, { program: g.elf }, async () => {
      bps = await dc.setBreakpointsRequest({
        source: { path: g.source },
        breakpoints: [
          { line: g.line('add rcx, 1'), condition: 'rcx == 5' },
          { line: g.line('add rax, rbx'), logMessage: 'adding {rax} and {rbx}' },
          { line: 10_000 },
        ],
      });
    });
    expect(bps.body.breakpoints.map((b) => b.verified)).toEqual([true, true, false]);
    expect(bps.body.breakpoints[2]!.message).toMatch(/no code/);
    const hit = await continueToStop(dc);
    expect(hit.body.reason).toBe('breakpoint');
    expect(hit.body.hitBreakpointIds).toEqual([bps.body.breakpoints[0]!.id]);
    expect(await register(dc, 'rcx')).toBe(5n);
    expect(logs.join('')).toContain('adding 0x1 and 0x2');

    // A hit count: the third time the (new) breakpoint is reached.
    await dc.setBreakpointsRequest({ source: { path: g.source }, breakpoints: [{ line: g.line('add rcx, 1'), hitCondition: '3' }] });
    await continueToStop(dc);
    expect(await register(dc, 'rcx')).toBe(8n);

    // An instruction breakpoint on the JMP of the loop.
    await dc.setBreakpointsRequest({ source: { path: g.source }, breakpoints: [] });
    const jmp = g.symbol('spin') + 4n;
    const ib = await dc.customRequest('setInstructionBreakpoints', { breakpoints: [{ instructionReference: '0x' + jmp.toString(16) }] }) as DebugProtocol.SetInstructionBreakpointsResponse;
    expect(ib.body.breakpoints[0]!.verified).toBe(true);
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('instruction breakpoint');
    expect(await pc(dc)).toBe(jmp);
  });

  it('pauses a guest spinning in an endless loop within 50 ms', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await dc.continueRequest({ threadId: 1 });
      await new Promise((r) => setTimeout(r, 150));
      const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
      const t0 = performance.now();
      await dc.pauseRequest({ threadId: 1 });
      const ev = await stopped;
      times.push(performance.now() - t0);
      expect(ev.body.reason).toBe('pause');
      const p = await pc(dc);
      expect([g.symbol('spin'), g.symbol('spin') + 4n]).toContain(p);
    }
    times.sort((a, b) => a - b);
    console.log(`pause latency over stdio (ms): ${times.map((t) => t.toFixed(1)).join(', ')}`);
    // The adapter's own bound is one run slice (about 8 ms); the median includes two processes' IPC.
    expect(times[2]!).toBeLessThan(50);
    expect(times[4]!).toBeLessThan(150);
  });

  it('pauses while a breakpoint whose condition stays false keeps firing', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf }, () => dc.setBreakpointsRequest({
      source: { path: g.source }, breakpoints: [{ line: g.line('add rcx, 1'), condition: 'rcx == 0xffffffff' }],
    }));
    await dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const stopped = dc.waitForEvent('stopped') as Promise<DebugProtocol.StoppedEvent>;
    const t0 = performance.now();
    await dc.pauseRequest({ threadId: 1 });
    expect((await stopped).body.reason).toBe('pause');
    expect(performance.now() - t0).toBeLessThan(150);
    expect(await register(dc, 'rcx')).toBeGreaterThan(100n); // it ran meanwhile
  });

  it('stops at breakpoints in real mode, where RIP is an offset from the CS base', async () => {
    const g = buildRom('realmode', `
        mov ax, 0x1234
        xor cx, cx
count:
        add cx, 1
        cmp cx, 3
        jne count
done:
        hlt
.org 0xfff0
reset:
        jmp 0xf000:0
`);
    const ev = await launchStopped(dc, { program: g.rom, symbols: [g.elf] }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'count' }] }));
    expect(ev.body.reason).toBe('entry');
    expect(await pc(dc)).toBe(0xfffffff0n); // F000:FFF0 with the reset CS base 0xFFFF0000
    expect((await dc.threadsRequest()).body.threads[0]!.name).toBe('vCPU 0 (ring 0, real)');
    const hits: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      expect((await continueToStop(dc)).body.reason).toBe('function breakpoint');
      hits.push(await register(dc, 'cx'));
    }
    expect(hits).toEqual([0n, 1n, 2n]);
    expect(await pc(dc)).toBe(g.symbol('count'));
    expect(await register(dc, 'eip')).toBe(g.symbol('count') - 0xf0000n);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0]).toMatchObject({ name: 'count', line: g.line('add cx, 1'), source: { path: g.source } });
    await stepInstruction(dc);
    expect(await pc(dc)).toBe(g.symbol('count') + 3n);
  });
});
