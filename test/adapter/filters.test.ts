// The event filters of DESIGN.md over real stdio: a `ring` stop in each
// direction, an `exception` stop on #PF with its exception info, conditions
// validated (VM-exit names need the VMX table, which does not exist yet), a
// triple fault the session survives, and the batched vmscope/trace event.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, pc, continueToStop, register, evalRepl, buildGuest } from './helpers';
import { guest } from './guests';

describe('event filters', () => {
  let dc: DebugClient;
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('stops on ring changes 0->3 (IRETQ) and 3->0 (SYSCALL), then the guest exits with its status', async () => {
    const g = guest('ring');
    await launchStopped(dc, { program: g.elf }, () => dc.setExceptionBreakpointsRequest({
      filters: [], filterOptions: [{ filterId: 'ring', condition: '0->3' }],
    }));
    const up = await continueToStop(dc);
    expect(up.body.reason).toBe('exception');
    expect(up.body.description).toBe('Ring change: 0->3 via iret');
    expect(await pc(dc)).toBe(g.symbol('user'));
    expect((await dc.threadsRequest()).body.threads[0]!.name).toBe('vCPU 0 (ring 3, long)');
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body.exceptionId).toBe('ring');

    const r = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'ring', condition: '3->0' }] });
    expect(r.body?.breakpoints?.[0]?.verified).toBe(true);
    const down = await continueToStop(dc);
    expect(down.body.description).toBe('Ring change: 3->0 via syscall');
    expect(await pc(dc)).toBe(g.symbol('syscall_entry'));
    expect(await register(dc, 'rcx')).toBe(g.symbol('user') + 7n + 2n); // SYSCALL saved the return RIP

    const exited = dc.waitForEvent('exited') as Promise<DebugProtocol.ExitedEvent>;
    await dc.continueRequest({ threadId: 1 });
    expect((await exited).body.exitCode).toBe(85); // (0x2a << 1) | 1
  });

  it('stops on a #PF with the exception filter, and explains it in exceptionInfo', async () => {
    const g = guest('pagefault');
    const traceEvents: Array<{ records: Array<{ type: string }> }> = [];
    dc.on('vmscope/trace', (e: DebugProtocol.Event) => traceEvents.push(e.body));
    await launchStopped(dc, { program: g.elf }, () => dc.setExceptionBreakpointsRequest({
      filters: ['shutdown'], filterOptions: [{ filterId: 'exception', condition: '#PF, #GP' }],
    }));
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('exception');
    expect(ev.body.description).toBe('Exception: #PF (14), error code 0x0, CR2=0x100000000');
    expect(await pc(dc)).toBe(g.symbol('pf_handler')); // stopped once the exception was delivered
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body.exceptionId).toBe('exception');
    expect(info.body.details?.typeName).toBe('#PF');
    expect(info.body.details?.message).toMatch(/raised at 0x[0-9a-f]+/);
    expect(info.body.details?.message).toMatch(/CR2 0x100000000: PDPTE not present/);
    expect(await evalRepl(dc, 'cr2')).toMatch(/^0x100000000 /);
    expect(await evalRepl(dc, 'trace 5')).toMatch(/exception #PF \(14\) err=0x0 cr2=0x100000000/);
    // The record also went out in a batched vmscope/trace event, sent at the stop.
    expect(traceEvents.flatMap((b) => b.records).some((r) => r.type === 'exception')).toBe(true);
  });

  it('validates filter conditions: vector names, ring syntax, VM-exit reason names and numbers', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const r = await dc.setExceptionBreakpointsRequest({
      filters: ['shutdown'],
      filterOptions: [
        { filterId: 'exception', condition: '#XX' },
        { filterId: 'ring', condition: 'up' },
        { filterId: 'vmexit', condition: 'CPUID, BOGUS_EXIT' },
        { filterId: 'vmentry-failure' },
      ],
    });
    const bps = r.body!.breakpoints!;
    expect(bps.map((b) => b.verified)).toEqual([true, false, false, false, true]);
    expect(bps[1]!.message).toMatch(/unknown exception "#XX"/);
    expect(bps[2]!.message).toMatch(/expected "3->0", "0->3" or "any"/);
    expect(bps[3]!.message).toMatch(/unknown exit reason "BOGUS_EXIT"/);
    const ok = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmexit', condition: 'CPUID, EPT_VIOLATION, 30 && rax == 1' }] });
    expect(ok.body!.breakpoints![0]!.verified).toBe(true);
  });

  it('survives a triple fault: stops on it (shutdown filter on by default), then the guest ends', async () => {
    const g = buildGuest('triple', `
_start:
        mov rsp, 0x80000
        ud2
`);
    await launchStopped(dc, { program: g.elf });
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('exception');
    expect(ev.body.description).toMatch(/^Triple fault \(shutdown\): triple fault/);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body.exceptionId).toBe('shutdown');
    // Still answering: state of the dead machine can be inspected.
    expect(await register(dc, 'rsp')).toBeGreaterThan(0n);
    expect(await evalRepl(dc, 'x/1i rip')).toMatch(/ud2|^=>/);
    const exited = dc.waitForEvent('exited') as Promise<DebugProtocol.ExitedEvent>;
    await dc.continueRequest({ threadId: 1 });
    expect((await exited).body.exitCode).toBe(6);
  });
});
