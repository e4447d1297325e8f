// Looking at and changing guest state over real stdio: register scopes and
// variables, setVariable, Debug Console expressions and commands, memory
// reads and writes, disassembly around RIP, and data breakpoints.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, pc, stepInstruction, continueToStop, register, evalRepl, errorOf } from './helpers';
import { guest } from './guests';

describe('guest state', () => {
  let dc: DebugClient;
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('shows registers in scopes, with decoded flags and memory references, and sets them', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = (await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id })).body.scopes;
    expect(scopes.map((s) => s.name)).toEqual(['General', 'Segments', 'Control and debug', 'MSRs']);
    expect(scopes[0]!.presentationHint).toBe('registers');
    const general = (await dc.variablesRequest({ variablesReference: scopes[0]!.variablesReference })).body.variables;
    const byName = new Map(general.map((v) => [v.name, v]));
    expect(byName.get('rip')!.value).toBe('0x' + g.symbol('_start').toString(16).padStart(16, '0'));
    expect(byName.get('rip')!.memoryReference).toBe('0x' + g.symbol('_start').toString(16));
    expect(byName.get('rflags')!.value).toMatch(/^0x2 \[\]$/);
    expect(byName.get('rsp')!.memoryReference).toBe('0x7fff0');

    const segs = (await dc.variablesRequest({ variablesReference: scopes[1]!.variablesReference })).body.variables;
    const cs = segs.find((v) => v.name === 'cs')!;
    expect(cs.value).toMatch(/^0x0008 base=0x0 limit=0xffffffff \[code RX accessed DPL0 P L G\]$/);
    const csParts = (await dc.variablesRequest({ variablesReference: cs.variablesReference })).body.variables.map((v) => v.name);
    expect(csParts).toEqual(['cs.selector', 'cs.base', 'cs.limit', 'cs.ar']);

    const ctl = (await dc.variablesRequest({ variablesReference: scopes[2]!.variablesReference })).body.variables;
    expect(ctl.find((v) => v.name === 'cr0')!.value).toMatch(/^0x[0-9a-f]+ \[PG .*ET PE\]$/);
    expect(ctl.find((v) => v.name === 'efer')!.value).toMatch(/\[NXE LMA LME\]/);
    const msrs = (await dc.variablesRequest({ variablesReference: scopes[3]!.variablesReference })).body.variables;
    expect(msrs.map((v) => v.name)).toContain('IA32_LSTAR');

    const set = await dc.setVariableRequest({ variablesReference: scopes[0]!.variablesReference, name: 'rax', value: '0x1234 + 1' });
    expect(set.body.value).toBe('0x0000000000001235');
    expect(await register(dc, 'eax')).toBe(0x1235n);
    expect(await register(dc, 'ah')).toBe(0x12n);
    expect(await errorOf(dc.setVariableRequest({ variablesReference: scopes[1]!.variablesReference, name: 'cs', value: '0x10' }))).toMatch(/read-only/);
  });

  it('evaluates expressions over registers, memory and symbols, and the console commands', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    await stepInstruction(dc); // rsp = 0x80000
    expect(await evalRepl(dc, 'rsp + 8')).toMatch(/^0x80008 /);
    expect(await evalRepl(dc, '(rsp >> 4) & 0xff')).toBe('0x0');
    expect(await evalRepl(dc, 'counter')).toMatch(new RegExp(`^0x${g.symbol('counter').toString(16)} .*<counter>`));
    expect(await evalRepl(dc, 'byte [greeting]')).toBe('0x68 (104)'); // 'h'
    expect(await evalRepl(dc, 'dword ptr [greeting + 1]')).toMatch(/^0x6f6c6c65 /); // "ello"
    expect(await evalRepl(dc, 'qword [gs:counter]')).toBe('0x0');
    expect(await errorOf(dc.evaluateRequest({ expression: 'nosuchthing + 1', context: 'repl' }))).toMatch(/unknown name "nosuchthing"/);
    expect(await errorOf(dc.evaluateRequest({ expression: '[0x123456789000]', context: 'watch' }))).toMatch(/cannot read 8 bytes at 0x123456789000/);
    const hover = await dc.evaluateRequest({ expression: '%rsp', context: 'hover' });
    expect(hover.body.result).toMatch(/^0x80000/);
    expect(hover.body.memoryReference).toBe('0x80000');

    // counter (0), then "hello, v" as a little-endian qword.
    expect(await evalRepl(dc, 'x/2xg counter')).toBe(`0x${g.symbol('counter').toString(16)} <counter>:  0x0000000000000000  0x76202c6f6c6c6568`);
    expect(await evalRepl(dc, 'x/s greeting')).toContain('"hello, vmscope"');
    expect(await evalRepl(dc, 'x/2i rip')).toMatch(/^=> 0x[0-9a-f]+ <_start\+0x7>:  mov eax, 1|^=> 0x[0-9a-f]+ <_start\+0x7>:  mov rax, 1/);
    const walk = await evalRepl(dc, 'walk rip');
    expect(walk).toMatch(/4-level paging/);
    expect(walk).toMatch(/PML4E .*P RW S A/);
    expect(walk).toMatch(/PDE .*PS .*maps the page/);
    expect(walk).toMatch(/→ 0x100007 \(2 MiB page\)/);
    expect(await evalRepl(dc, 'map')).toMatch(/0x0-0xffffffff\s+rwxs\s+→ 0x0\s+2 MiB pages\s+WB/);
    expect(await evalRepl(dc, 'map gpa')).toMatch(/local APIC/);
    expect(await evalRepl(dc, 'exits')).toBe('no VM exits yet');
    expect(await evalRepl(dc, 'vmcs')).toBe('no current VMCS');
    expect(await evalRepl(dc, 'trace 5')).toBe('no trace records yet');
    expect(await evalRepl(dc, 'help')).toMatch(/x\/<n><fmt><size>/);
  });

  it('reads and writes memory (base64) and reports unreadable bytes', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const addr = '0x' + g.symbol('counter').toString(16);
    const w = await dc.customRequest('writeMemory', { memoryReference: addr, data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]).toString('base64') }) as DebugProtocol.WriteMemoryResponse;
    expect(w.body?.bytesWritten).toBe(8);
    const r = await dc.customRequest('readMemory', { memoryReference: addr, offset: 0, count: 14 + 8 }) as DebugProtocol.ReadMemoryResponse;
    expect(r.body!.address).toBe(addr);
    expect([...Buffer.from(r.body!.data!, 'base64')]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, ...Buffer.from('hello, vmscope')]);
    expect(await evalRepl(dc, 'qword [counter]')).toMatch(/^0x807060504030201 /);
    // Across the end of the identity map (4 GiB): readable bytes, then a count of unreadable ones.
    const edge = await dc.customRequest('readMemory', { memoryReference: '0xfffffff0', count: 32 }) as DebugProtocol.ReadMemoryResponse;
    expect(Buffer.from(edge.body!.data!, 'base64').length).toBe(0); // beyond 16 MiB of RAM: not RAM, unreadable
    expect(edge.body!.unreadableBytes).toBe(32);
    const phys = await dc.customRequest('readMemory', { memoryReference: 'gpa:' + addr, count: 2 }) as DebugProtocol.ReadMemoryResponse;
    expect([...Buffer.from(phys.body!.data!, 'base64')]).toEqual([1, 2]);
    expect(await errorOf(dc.customRequest('readMemory', { memoryReference: 'nonsense', count: 4 }))).toMatch(/malformed memory reference/);
    expect(await errorOf(dc.customRequest('writeMemory', { memoryReference: '0x123456789000', data: 'AAAA' }))).toMatch(/cannot write/);
  });

  it('disassembles around RIP in both directions, with symbols and source lines', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf }, () => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'add_them' }] }));
    await continueToStop(dc);
    const rip = await pc(dc);
    const r = await dc.disassembleRequest({ memoryReference: '0x' + rip.toString(16), instructionOffset: -4, instructionCount: 9, resolveSymbols: true });
    const ins = r.body!.instructions;
    expect(ins).toHaveLength(9);
    const addrs = ins.map((i) => BigInt(i.address));
    for (let i = 1; i < addrs.length; i++) expect(addrs[i]! > addrs[i - 1]!).toBe(true);
    expect(addrs[4]).toBe(rip);
    expect(ins[4]!.symbol).toBe('add_them');
    expect(ins[4]!.instruction).toBe('push rbp');
    expect(ins[3]!.instruction).toMatch(/^jmp 0x[0-9a-f]+ <spin>$/);
    expect(ins[4]!.line).toBe(g.line('push rbp'));
    expect(ins.some((i) => i.location?.path === g.source)).toBe(true);
    expect(ins.find((i) => /^call /.test(i.instruction))!.instruction).toMatch(/<leaf>$/);
  });

  it('stops on a data breakpoint when the watched value changes', async () => {
    const g = guest('main');
    await launchStopped(dc, { program: g.elf });
    const info = await dc.dataBreakpointInfoRequest({ name: 'counter' });
    expect(info.body.dataId).toBe(`0x${g.symbol('counter').toString(16)}:8`);
    expect(info.body.accessTypes).toEqual(['read', 'write', 'readWrite']);
    const regInfo = await dc.dataBreakpointInfoRequest({ name: 'rax', variablesReference: 1 });
    expect(regInfo.body.dataId).toBeNull();
    expect(regInfo.body.description).toMatch(/registers cannot be watched/);
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
    expect(set.body.breakpoints[0]!.verified).toBe(true);
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('data breakpoint');
    expect(ev.body.description).toMatch(/changed from 0x0000000000000000 to 0x000000000000000d/);
    expect(ev.body.hitBreakpointIds).toEqual([set.body.breakpoints[0]!.id]);
    expect(await pc(dc)).toBe(g.symbol('after_call') + 8n); // right after the store
  });

  it('stops right after the instruction that reads a read-watched value, not after stores', async () => {
    const g = guest('watch');
    await launchStopped(dc, { program: g.elf });
    const info = await dc.dataBreakpointInfoRequest({ name: 'counter' });
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'read' }] });
    expect(set.body.breakpoints[0]!.verified).toBe(true);
    const at = `0x${g.symbol('counter').toString(16)}`;
    let ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('data breakpoint');
    expect(ev.body.description).toBe(`Data breakpoint: read of ${at} (value 0x0000000000000005) [read watch]`);
    expect(ev.body.hitBreakpointIds).toEqual([set.body.breakpoints[0]!.id]);
    expect(await pc(dc)).toBe(g.symbol('after_read')); // the store before it did not stop
    // The RMW changes the value: a write (GDB rwatch on x86); the neighbour is not watched; then the last read.
    ev = await continueToStop(dc);
    expect(ev.body.description).toBe(`Data breakpoint: read of ${at} (value 0x0000000000000006) [read watch]`);
    expect(await pc(dc)).toBe(g.symbol('after_last_read'));
  });

  it('stops after every access to an access-watched value, naming read or write', async () => {
    const g = guest('watch');
    await launchStopped(dc, { program: g.elf });
    const info = await dc.dataBreakpointInfoRequest({ name: 'counter' });
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'readWrite' }] });
    expect(set.body.breakpoints[0]!.verified).toBe(true);
    const at = `0x${g.symbol('counter').toString(16)}`;
    const stops: [string, bigint][] = [];
    for (let i = 0; i < 4; i++) {
      const ev = await continueToStop(dc);
      expect(ev.body.reason).toBe('data breakpoint');
      stops.push([ev.body.description!, await pc(dc)]);
    }
    expect(stops).toEqual([
      [`Data breakpoint: write to ${at}: changed from 0x0000000000000000 to 0x0000000000000005 [access watch]`, g.symbol('after_store')],
      [`Data breakpoint: read of ${at} (value 0x0000000000000005) [access watch]`, g.symbol('after_read')],
      [`Data breakpoint: write to ${at}: changed from 0x0000000000000005 to 0x0000000000000006 [access watch]`, g.symbol('after_rmw')],
      [`Data breakpoint: read of ${at} (value 0x0000000000000006) [access watch]`, g.symbol('after_last_read')],
    ]);
  });
});
