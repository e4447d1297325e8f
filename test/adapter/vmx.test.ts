// VMX in the debugger over real stdio: a `vmexit` stop on EPT_VIOLATION in
// the vmx-basic hypervisor guest with its exception info, the VMCS scope and
// the vmscope/vmcs request, a vmentry-failure stop on vmx-badguest naming the
// check and field, and the built-in VMM (vmm "builtin"): a guest in VMX
// non-root with EPT, whose gva walks are two-stage and whose GPAs walk EPT.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, beforeEach, afterEach } from 'vitest';
import type { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startSession, launchStopped, continueToStop, evalRepl, errorOf, ROOT } from './helpers';
import { guest } from './guests';

const GUESTS = join(ROOT, 'build/guests');
const elf = (name: string): string => join(GUESTS, `${name}.elf`);

interface VmcsBody { address: string; groups: { id: string; label: string; fields: { name: string; encoding: string; value: string }[] }[] }

async function scopeVariables(dc: DebugClient, scopeName: string): Promise<DebugProtocol.Variable[] | undefined> {
  const st = await dc.stackTraceRequest({ threadId: 1 });
  const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0]!.id });
  const s = scopes.body.scopes.find((x) => x.name === scopeName);
  if (!s) return undefined;
  return (await dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables;
}

describe('VMX', () => {
  let dc: DebugClient;
  beforeAll(() => {
    if (!existsSync(elf('vmx-basic')) || !existsSync(elf('vmx-badguest'))) {
      execFileSync(process.execPath, [join(ROOT, 'scripts/build-guests.mjs'), 'vmx-basic', 'vmx-badguest'], { stdio: 'pipe' });
    }
  }, 120_000);
  beforeEach(async () => { dc = await startSession(); });
  afterEach(async () => { await dc.stop(); });

  it('stops on an EPT_VIOLATION exit, explains it, and shows the VMCS', async () => {
    await launchStopped(dc, { program: elf('vmx-basic') }, async () => {
      const r = await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'vmexit', condition: 'EPT_VIOLATION' }] });
      expect(r.body?.breakpoints?.[0]?.verified).toBe(true);
    });
    // Before VMXON/VMPTRLD there is no VMCS: no scope, and the request says so.
    expect(await scopeVariables(dc, 'VMCS')).toBeUndefined();
    expect(await errorOf(dc.customRequest('vmscope/vmcs', { threadId: 1 }))).toMatch(/no current VMCS/);

    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('exception');
    expect(ev.body.description).toBe('VM exit: EPT_VIOLATION (48)');
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body.exceptionId).toBe('vmexit');
    expect(info.body.details?.typeName).toBe('EPT_VIOLATION');
    const msg = info.body.details?.message ?? '';
    expect(msg).toMatch(/reason: EPT_VIOLATION \(48\)/);
    expect(msg).toMatch(/qualification: 0x182/);
    expect(msg).toMatch(/access write, allowed ---, guest-linear address valid, access to the final translation/);
    expect(msg).toMatch(/guest RIP: 0x10101c/);
    expect(msg).toMatch(/guest-physical address: 0x20000000/);

    // The VMCS scope: groups, then fields with encoding and value.
    const top = await scopeVariables(dc, 'VMCS');
    expect(top).toBeDefined();
    const guestGroup = top!.find((v) => v.name === 'Guest state')!;
    expect(top!.map((v) => v.name)).toEqual(expect.arrayContaining(['address', 'Guest state', 'Host state', 'Controls', 'Exit information']));
    const fields = (await dc.variablesRequest({ variablesReference: guestGroup.variablesReference })).body.variables;
    const rip = fields.find((v) => v.name === 'GUEST_RIP');
    expect(rip?.value).toBe('0x10101c');
    expect(rip?.type).toBe('VMCS field 0x681e');

    const exit = await scopeVariables(dc, 'Last VM exit');
    expect(exit?.find((v) => v.name === 'reason')?.value).toBe('EPT_VIOLATION (48)');
    expect(exit?.find((v) => v.name === 'qualification')?.value).toBe('0x182');

    const vmcs = (await dc.customRequest('vmscope/vmcs', { threadId: 1 })).body as VmcsBody;
    expect(vmcs.groups.map((g) => g.id)).toEqual(['guest', 'host', 'control', 'exit-info']);
    const exitInfo = vmcs.groups.find((g) => g.id === 'exit-info')!.fields;
    expect(exitInfo.find((f) => f.name === 'VM_EXIT_REASON')?.value).toBe('0x30');
    expect(exitInfo.find((f) => f.name === 'EXIT_QUALIFICATION')?.value).toBe('0x182');

    expect(await evalRepl(dc, 'vmcs GUEST_RIP')).toMatch(/^GUEST_RIP\s+0x681e\s+0x10101c$/);
    expect(await evalRepl(dc, 'vmcs')).toMatch(/^VMCS at 0x[0-9a-f]+ \(launched\)\nGuest state:/);
    // The guest-physical address that faulted, through the VMCS's EPT: not present.
    const ept = await dc.customRequest('vmscope/translate', { threadId: 1, space: 'gpa', address: '0x20000000' });
    expect(ept.body.space).toBe('ept');
    expect(ept.body.ok).toBe(false);
    expect(ept.body.fault).toMatch(/EPT violation: EPT \w+ not present/);
    const mapped = await dc.customRequest('vmscope/translate', { threadId: 1, space: 'gpa', address: '0x101000' });
    expect(mapped.body.ok).toBe(true);
    expect(mapped.body.entries.at(-1).leaf).toBe(true);
    expect(await evalRepl(dc, 'ept 0x101000')).toMatch(/^EPT walk of GPA 0x101000\n[\s\S]*→ HPA 0x/);
  });

  it('stops on a failed VM entry and names the check and the field', async () => {
    await launchStopped(dc, { program: elf('vmx-badguest') });
    const ev = await continueToStop(dc);
    expect(ev.body.reason).toBe('exception');
    expect(ev.body.description).toMatch(/^VM entry failed: /);
    const info = await dc.exceptionInfoRequest({ threadId: 1 });
    expect(info.body.exceptionId).toBe('vmentry-failure');
    const msg = info.body.details?.message ?? '';
    expect(msg).toMatch(/^check: .*RFLAGS/m);
    expect(msg).toMatch(/^field: GUEST_RFLAGS$/m);
    expect(msg).toMatch(/^SDM: .+/m);
  });

  it('runs a program under the built-in VMM: two-stage walks in non-root, EPT walks of GPAs', async () => {
    const g = guest('main');
    const ev = await launchStopped(dc, { program: g.elf, vmm: 'builtin' });
    expect(ev.body.reason).toBe('entry');
    const w = await dc.customRequest('vmscope/translate', { threadId: 1, space: 'gva', address: '0x100000' });
    expect(w.body.space).toBe('guest');
    expect(w.body.ok).toBe(true);
    expect(w.body.output).toBe('0x100000');
    const nested = w.body.nested as Array<{ space: string; ok: boolean; input: string; output?: string }>;
    expect(nested.length).toBe(w.body.entries.length + 1); // one EPT walk per table read, and the final GPA
    expect(nested.every((n) => n.space === 'ept' && n.ok)).toBe(true);
    expect(nested.at(-1)!.input).toBe('0x100000');
    const text = await evalRepl(dc, 'walk rip');
    expect(text).toMatch(/then EPT/);
    expect(text).toMatch(/EPT walk of GPA 0x100000/);
    const ept = await dc.customRequest('vmscope/translate', { threadId: 1, space: 'gpa', address: '0x100000' });
    expect(ept.body.space).toBe('ept');
    expect(ept.body.ok).toBe(true);
    // The VMCS is current and its guest state is the live vCPU.
    const fields = (await dc.customRequest('vmscope/vmcs', {})).body as VmcsBody;
    expect(fields.groups.find((x) => x.id === 'guest')!.fields.find((f) => f.name === 'GUEST_RIP')?.value).toBe('0x' + g.symbol('_start').toString(16));
    expect(await scopeVariables(dc, 'VMCS')).toBeDefined();
  });
});
