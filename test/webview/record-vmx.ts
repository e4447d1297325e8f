// Records the VMX webview fixture from a real run: the vmx-basic hypervisor
// (build/guests/vmx-basic.elf, from scripts/build-guests.mjs vmx-basic) runs
// on the emulator target with the adapter's `vmexit` exception filter set to
// "EPT_VIOLATION" (parsed by src/adapter/filters.ts, as setExceptionBreakpoints
// does), so it stops at the exit for the guest's store to GPA 0x20000000,
// which its EPT does not map. At that stop the panels' requests are answered
// by the adapter's own code, as in record.ts: customRequest() over its
// TraceBuffer, register scopes from variables.ts, thread ids vCPU + 1.
//
//   npx vite-node test/webview/record-vmx.ts   → test/webview/fixtures/vmx-basic.json
//
// The stop is in VMX root (the exit has been taken): 'gva' is the
// hypervisor's own linear space, 'gpa' walks the current VMCS's EPT.

import { writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { EmulatorTarget } from '../../src/targets/emulator';
import { parseLaunchConfig } from '../../src/common/launch';
import { customRequest, type CustomHost } from '../../src/adapter/custom-requests';
import { TraceBuffer } from '../../src/adapter/trace-buffer';
import { VariableStore } from '../../src/adapter/variables';
import { parseFilters, stopPredicate } from '../../src/adapter/filters';
import type { Fixture, RecordedRequest, RecordedStop } from './support/fixture';

const root = join(__dirname, '../..');
const program = join(root, 'build/guests/vmx-basic.elf');
const out = join(root, 'test/webview/fixtures/vmx-basic.json');
const CPU = 0;
const THREAD = CPU + 1;

function ask(host: CustomHost, command: string, args: Record<string, unknown>): RecordedRequest {
  try {
    return { command, args, body: JSON.parse(JSON.stringify(customRequest(command, args, host))) as unknown };
  } catch (e) {
    return { command, args, error: e instanceof Error ? e.message : String(e) };
  }
}

async function main(): Promise<void> {
  if (!existsSync(program)) throw new Error(`${relative(root, program)} is missing: run node scripts/build-guests.mjs vmx-basic`);
  const target = new EmulatorTarget();
  const trace = new TraceBuffer();
  const all: Fixture['trace'] = [];
  target.onTrace((r) => { trace.push(r); all.push(r); });
  await target.launch(parseLaunchConfig({ program }));
  const { state, errors } = parseFilters([], [{ filterId: 'vmexit', condition: 'EPT_VIOLATION' }], target.exitReasons);
  if (errors.size) throw new Error([...errors.values()].join('; '));
  target.setEventFilter(stopPredicate(state));
  const host: CustomHost = { target, cpu: CPU, trace };
  const variables = new VariableStore(() => target);

  const stop = await target.resume();
  if (stop.reason !== 'event' || stop.record.type !== 'vmexit') throw new Error(`expected a vmexit stop, got ${JSON.stringify(stop)}`);
  const r = stop.record;
  const gpa = r.guestPhysical ?? '0x20000000';
  const pc = '0x' + target.pc(CPU).toString(16);
  const requests: RecordedRequest[] = [];
  for (const space of ['gva', 'gpa'] as const) requests.push(ask(host, 'vmscope/memoryMap', { space, threadId: THREAD }));
  for (const address of new Set([gpa, '0x0', '0x101000', '0x1000000', '0x7fff000'])) {
    requests.push(ask(host, 'vmscope/translate', { address, space: 'gpa', threadId: THREAD }));
  }
  for (const address of new Set([r.guestLinear ?? gpa, pc, r.guestRip])) {
    requests.push(ask(host, 'vmscope/translate', { address, space: 'gva', threadId: THREAD }));
  }
  requests.push(ask(host, 'vmscope/vmcs', { threadId: THREAD }));
  requests.push(ask(host, 'vmscope/trace', { from: 0, count: 1000 }));
  requests.push(ask(host, 'vmscope/exitStats', {}));
  variables.reset();
  const scopes = variables.scopes(CPU).map((s) => ({ ...s, variables: variables.variables(s.variablesReference) }));
  const stops: RecordedStop[] = [{
    label: `VM exit ${r.reason} (${r.reasonCode}) qual ${r.qualification} gpa ${gpa} at guest rip ${r.guestRip}`,
    threadId: THREAD,
    threads: target.threads().map((t) => ({ id: t.id + 1, name: t.name })),
    traceLength: all.length,
    scopes: scopes.map((s) => ({ name: s.name, variables: s.variables.map((v) => ({ name: v.name, value: v.value, ...(v.memoryReference ? { memoryReference: v.memoryReference } : {}) })) })),
    requests,
  }];
  const fixture: Fixture = {
    recorded: {
      program: relative(root, program),
      engine: 'emulator',
      adapter: 'answers from src/adapter/custom-requests.ts, variables.ts, trace-buffer.ts and filters.ts',
      stops: 'stopped at the first EPT_VIOLATION VM exit (vmexit filter "EPT_VIOLATION"); the trace is the run up to that stop',
      vmx: 'VMX root at the exit: gva is the hypervisor\'s paging, gpa walks the current VMCS\'s EPT',
    },
    stops,
    trace: all,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`wrote ${relative(root, out)}: ${stops[0]!.label}, ${all.length} trace records`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
