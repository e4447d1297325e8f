// Records the webview test fixtures from a real run: the longmode guest
// (build/guests/longmode.elf, from scripts/build-guests.mjs) runs on the
// emulator target (src/targets/emulator.ts) and stops at each of its first
// three page faults. At every stop the panels' requests are answered by the
// debug adapter's own code — customRequest() of src/adapter/custom-requests.ts
// over its TraceBuffer, register scopes from src/adapter/variables.ts, DAP
// thread ids (vCPU + 1) — so the recording has exactly the adapter's shapes;
// the trace of the whole run is kept too.
//
//   npx vite-node test/webview/record.ts   → test/webview/fixtures/longmode.json
//
// No VMX yet: vmscope/vmcs is recorded as the adapter's "no current VMCS"
// error, gpa walks as "needs EPT", and there are no vmexit/vmentry records:
// longmode runs no VMX. The VMX fixture (vmx-basic at its EPT violation) is
// recorded by record-vmx.ts.

import { writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { EmulatorTarget } from '../../src/targets/emulator';
import { parseLaunchConfig } from '../../src/common/launch';
import { customRequest, type CustomHost } from '../../src/adapter/custom-requests';
import { TraceBuffer } from '../../src/adapter/trace-buffer';
import { VariableStore } from '../../src/adapter/variables';
import type { Fixture, RecordedRequest, RecordedStop } from './support/fixture';

const root = join(__dirname, '../..');
const program = join(root, 'build/guests/longmode.elf');
const out = join(root, 'test/webview/fixtures/longmode.json');
const CPU = 0;
const THREAD = CPU + 1; // DAP thread ids are vCPU + 1 (src/adapter/session.ts)

function ask(host: CustomHost, command: string, args: Record<string, unknown>): RecordedRequest {
  try {
    return { command, args, body: JSON.parse(JSON.stringify(customRequest(command, args, host))) as unknown };
  } catch (e) {
    return { command, args, error: e instanceof Error ? e.message : String(e) };
  }
}

async function main(): Promise<void> {
  if (!existsSync(program)) throw new Error(`${relative(root, program)} is missing: run npm run build:guests`);
  const target = new EmulatorTarget();
  const trace = new TraceBuffer();
  const all: Fixture['trace'] = [];
  target.onTrace((r) => { trace.push(r); all.push(r); });
  await target.launch(parseLaunchConfig({ program }));
  target.setEventFilter((r) => r.type === 'exception' && r.vector === 14);
  const host: CustomHost = { target, cpu: CPU, trace };
  const variables = new VariableStore(() => target);

  const stops: RecordedStop[] = [];
  for (let n = 0; n < 3; n++) {
    const stop = await target.resume();
    if (stop.reason !== 'event' || stop.record.type !== 'exception') throw new Error(`expected a #PF stop, got ${JSON.stringify(stop)}`);
    const cr2 = stop.record.cr2 ?? '0x0';
    const pc = '0x' + target.pc(CPU).toString(16);
    const requests: RecordedRequest[] = [];
    for (const space of ['gva', 'gpa'] as const) requests.push(ask(host, 'vmscope/memoryMap', { space, threadId: THREAD }));
    for (const address of new Set([cr2, pc, '0x0', '0x100000', '0xb8000', '0xffff800000000000'])) {
      requests.push(ask(host, 'vmscope/translate', { address, space: 'gva', threadId: THREAD }));
    }
    requests.push(ask(host, 'vmscope/translate', { address: cr2, space: 'gpa', threadId: THREAD }));
    requests.push(ask(host, 'vmscope/vmcs', { threadId: THREAD }));
    variables.reset();
    const scopes = variables.scopes(CPU).map((s) => ({ ...s, variables: variables.variables(s.variablesReference) }));
    stops.push({
      label: `#PF ${n + 1}: error 0x${(stop.record.errorCode ?? 0).toString(16)} cr2 ${cr2} at rip ${stop.record.rip}`,
      threadId: THREAD,
      threads: target.threads().map((t) => ({ id: t.id + 1, name: t.name })),
      traceLength: all.length,
      scopes: scopes.map((s) => ({ name: s.name, variables: s.variables.map((v) => ({ name: v.name, value: v.value, ...(v.memoryReference ? { memoryReference: v.memoryReference } : {}) })) })),
      requests,
    });
  }
  target.setEventFilter(undefined);
  const end = await target.resume();
  const fixture: Fixture = {
    recorded: {
      program: relative(root, program),
      engine: 'emulator',
      adapter: 'answers from src/adapter/custom-requests.ts, variables.ts and trace-buffer.ts',
      stops: 'stopped at each of the first three #PF exceptions, then run to the end',
      end: end.reason === 'exited' ? `exited with status ${end.status}` : end.reason,
      vmx: 'none: no VMX yet, so no vmexit/vmentry records and no VMCS',
    },
    stops,
    trace: all,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`wrote ${relative(root, out)}: ${stops.length} stops, ${all.length} trace records, end: ${fixture.recorded.end}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
