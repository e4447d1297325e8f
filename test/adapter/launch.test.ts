// Launching over a real stdio connection: stop on entry, thread names, bad
// launch attributes named in the error, a missing or malformed image
// refused with the loader's message while the adapter stays up, serial
// output as stdout events and the guest's exit status.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, pc, errorOf, ROOT, continueToStop as continueStop } from './helpers';
import { guest } from './guests';

describe('launch', () => {
  let dc: DebugClient;
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('stops on entry at the image entry point, with one thread per vCPU named by ring and mode', async () => {
    const g = guest('main');
    const ev = await launchStopped(dc, { program: g.elf, cpus: 2 });
    expect(ev.body.reason).toBe('entry');
    expect(ev.body.threadId).toBe(1);
    expect(await pc(dc)).toBe(g.symbol('_start'));
    const threads = await dc.threadsRequest();
    expect(threads.body.threads.map((t) => t.name)).toEqual(['vCPU 0 (ring 0, long)', 'vCPU 1 (waiting for SIPI)']);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const top = st.body.stackFrames[0]!;
    expect(top.name).toBe('_start');
    expect(top.source?.path).toBe(g.source);
    expect(top.line).toBe(g.line('mov rsp, 0x80000'));
  });

  it('rejects bad launch attributes with a message naming the attribute, and stays up', async () => {
    await dc.initializeRequest();
    const g = guest('main');
    expect(await errorOf(dc.launchRequest({ program: g.elf, memory: 'lots' } as DebugProtocol.LaunchRequestArguments))).toMatch(/'memory'/);
    expect(await errorOf(dc.launchRequest({ program: g.elf, cpus: 0 } as DebugProtocol.LaunchRequestArguments))).toMatch(/'cpus'/);
    expect(await errorOf(dc.launchRequest({ program: g.elf, loadAddress: 'here' } as DebugProtocol.LaunchRequestArguments))).toMatch(/'loadAddress'/);
    expect(await errorOf(dc.launchRequest({} as DebugProtocol.LaunchRequestArguments))).toMatch(/'program'/);
    expect(await errorOf(dc.launchRequest({ program: g.elf, engine: 'kvm' } as DebugProtocol.LaunchRequestArguments))).toMatch(/'engine'/);
    expect(await errorOf(dc.launchRequest({ program: g.elf, vmm: 'kvm' } as DebugProtocol.LaunchRequestArguments))).toMatch(/'vmm'/);
    // Still serving: a good launch in the same session works.
    const stopped = dc.waitForEvent('stopped');
    await Promise.all([
      dc.waitForEvent('initialized').then(() => dc.configurationDoneRequest()),
      dc.launchRequest({ program: g.elf, stopOnEntry: true } as DebugProtocol.LaunchRequestArguments),
    ]);
    expect((await stopped).body.reason).toBe('entry');
  });

  it('refuses a missing or malformed image with the loader\'s one-line message', async () => {
    await dc.initializeRequest();
    const missing = await errorOf(dc.launchRequest({ program: '/nonexistent/kernel.elf' } as DebugProtocol.LaunchRequestArguments));
    expect(missing).toMatch(/cannot read image \/nonexistent\/kernel\.elf: ENOENT/);
    expect(missing).not.toMatch(/\n/);
    const bad = join(mkdtempSync(join(tmpdir(), 'vmscope-bad-')), 'bad.elf');
    writeFileSync(bad, Buffer.from('\x7fELF\x02\x01\x01garbage-that-is-not-an-elf-header'));
    const malformed = await errorOf(dc.launchRequest({ program: bad } as DebugProtocol.LaunchRequestArguments));
    expect(malformed.length).toBeGreaterThan(10);
    expect(malformed).not.toMatch(/\n/);
    const threads = await dc.threadsRequest();
    expect(threads.body.threads).toEqual([]);
  });

  it('sends serial output as stdout and ends with the guest\'s exit status', async () => {
    const output: string[] = [];
    dc.on('output', (e: DebugProtocol.OutputEvent) => { if (e.body.category === 'stdout') output.push(e.body.output); });
    const exited = dc.waitForEvent('exited') as Promise<DebugProtocol.ExitedEvent>;
    const terminated = dc.waitForEvent('terminated');
    await Promise.all([dc.configurationSequence(), dc.launch({ program: join(ROOT, 'samples/hello/hello.elf') })]);
    expect((await exited).body.exitCode).toBe(1); // exit(0) through port 0xF4: (0 << 1) | 1
    await terminated;
    const text = output.join('');
    expect(text).toContain('kernel: hello from 32-bit protected mode');
    expect(text).toContain('user: hello from ring 3');
    expect(text).toContain('kernel: exit(0)');
  });

  it('debugs the hello sample by source line: 32-bit protected mode, then ring 3 in long mode', async () => {
    const program = join(ROOT, 'samples/hello/hello.elf');
    const source = join(ROOT, 'samples/hello/hello.S'); // the image records its DWARF directory as "."
    const text = readFileSync(source, 'utf8').split('\n');
    const line = (needle: RegExp): number => text.findIndex((l) => needle.test(l)) + 1;
    const print32 = line(/^print32:/) + 1;
    const user = line(/^user_main:/) + 1;
    let bps!: DebugProtocol.SetBreakpointsResponse;
    await launchStopped(dc, { program }, async () => {
      bps = await dc.setBreakpointsRequest({ source: { path: source }, breakpoints: [{ line: print32 }, { line: user }] });
    });
    expect(bps.body.breakpoints.map((b) => [b.verified, b.line])).toEqual([[true, print32], [true, user]]);
    await continueStop(dc);
    let st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0]).toMatchObject({ name: 'print32', line: print32, source: { path: source } });
    expect((await dc.threadsRequest()).body.threads[0]!.name).toBe('vCPU 0 (ring 0, protected)');
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id });
    const general = (await dc.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference })).body.variables;
    expect(general.map((v) => v.name).slice(0, 3)).toEqual(['eax', 'ecx', 'edx']);
    expect(general.find((v) => v.name === 'eflags')).toBeDefined();
    // Remove the print32 breakpoint; on to ring 3.
    await dc.setBreakpointsRequest({ source: { path: source }, breakpoints: [{ line: user }] });
    await continueStop(dc);
    st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0]).toMatchObject({ name: 'user_main', line: user });
    expect((await dc.threadsRequest()).body.threads[0]!.name).toBe('vCPU 0 (ring 3, long)');
    const stepped = dc.waitForEvent('stopped');
    await dc.nextRequest({ threadId: 1 });
    await stepped;
    expect((await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0]!.line).toBe(user + 1);
    const exited = dc.waitForEvent('exited') as Promise<DebugProtocol.ExitedEvent>;
    await dc.setBreakpointsRequest({ source: { path: source }, breakpoints: [] });
    await dc.continueRequest({ threadId: 1 });
    expect((await exited).body.exitCode).toBe(1);
  });
});
