// The built-in VMM (Machine option vmm: "builtin"): ordinary guests run in
// VMX non-root operation and print exactly what they print without a VMM
// (the QEMU transcripts of test/support/guests.ts), while every exit is a
// trace record; and the VM-exit rate hook for the benchmark.
import { describe, it, expect, beforeAll } from 'vitest';
import { Machine } from '../../../src/engine/machine';
import { loadImage } from '../../../src/loader';
import type { TraceRecord } from '../../../src/common/trace';
import { GUESTS, buildGuests, binutilsAvailable } from '../../support/guests';
import { measureExitRate, exitCounts } from '../../../src/engine/vmx/bench';
import { VMM_RESERVE } from '../../../src/engine/vmx/builtin-vmm';

const binutils = binutilsAvailable();

function run(name: string, vmm: 'none' | 'builtin', cpus = 1) {
  const g = GUESTS[name]!;
  const m = new Machine({ memoryMiB: 128, cpus: g.cpus ?? cpus, vmm });
  let serial = '';
  m.onSerial = (b) => { serial += String.fromCharCode(b); };
  const records: TraceRecord[] = [];
  m.onTrace((r) => { if (r.type !== 'output') records.push(r); });
  m.load(loadImage(g.image));
  let out = m.run(50_000_000);
  while (out.kind === 'budget') out = m.run(50_000_000);
  return { m, serial, records, out };
}

describe.skipIf(!binutils)('built-in VMM', () => {
  beforeAll(() => { expect(buildGuests().status).toBe(0); }, 120_000);

  it.each(['hello32', 'longmode', 'realmode', 'timer', 'smp', 'samples/hello'])('%s prints the same transcript as without a VMM', (name) => {
    const g = GUESTS[name]!;
    const r = run(name, 'builtin');
    expect(r.serial).toBe(g.serial);
    expect(r.out).toEqual({ kind: 'exit', status: g.status });
    expect(r.records.some((x) => x.type === 'vmexit')).toBe(true);
  }, 60_000);

  it('records every exit, with entries and VMX mode changes around each', () => {
    const r = run('longmode', 'builtin');
    const exits = r.records.filter((x): x is Extract<TraceRecord, { type: 'vmexit' }> => x.type === 'vmexit');
    const entries = r.records.filter((x) => x.type === 'vmentry');
    expect(entries.length).toBe(exits.length + 1); // the launch, then one re-entry per exit
    expect(exitCounts(r.m).total).toBe(exits.length);
    const byReason = new Map<string, number>();
    for (const x of exits) byReason.set(x.reason, (byReason.get(x.reason) ?? 0) + 1);
    expect(Object.fromEntries(byReason)).toMatchObject({ CPUID: 3, RDMSR: 2, WRMSR: 6, CR_ACCESS: 1 });
    const io = exits.find((x) => x.reason === 'IO_INSTRUCTION')!;
    expect(io).toMatchObject({ reasonCode: 30, qualification: expect.stringMatching(/^0x3f[89a-f][0-9a-f]{4}$/), guestRip: expect.stringMatching(/^0x1/) });
    const modes = r.records.filter((x) => x.type === 'mode').map((x) => x.type === 'mode' && `${x.from}->${x.to}`);
    // Boot (real → protected), then the VMM's launch, then the guest's own switch to long mode.
    expect(modes.indexOf('vmx-root->vmx-non-root')).toBeGreaterThan(modes.indexOf('real->protected'));
    expect(modes.indexOf('compat->long')).toBeGreaterThan(modes.indexOf('vmx-root->vmx-non-root'));
    // The guest sees its own CR0/CR4 (it printed them) while the real ones keep NE and VMXE.
    expect(r.m.cpus[0]!.cr4 & 0x2000).toBe(0x2000);
    expect(r.m.cpus[0]!.vmx.nonRoot).toBe(true);
  }, 60_000);

  it('MMIO accesses are EPT violations the VMM completes on the device model', () => {
    const r = run('timer', 'builtin');
    const ept = r.records.filter((x): x is Extract<TraceRecord, { type: 'vmexit' }> => x.type === 'vmexit' && x.reason === 'EPT_VIOLATION');
    expect(ept.length).toBeGreaterThan(0);
    expect(ept.every((x) => x.guestPhysical && /^0xfe[ce]/.test(x.guestPhysical))).toBe(true);
  }, 60_000);

  it('hides VMX from the guest: a hypervisor guest finds no VMX', () => {
    const r = run('vmx-basic', 'builtin');
    expect(r.serial).toMatch(/hv: the cpu has no vmx/);
  }, 60_000);

  it('keeps its EPT out of the guest\'s reach', () => {
    const m = new Machine({ memoryMiB: 4, cpus: 1, vmm: 'builtin' });
    const top = m.mem.size - VMM_RESERVE;
    // A flat 64-bit image that reads the reserve.
    const code = Uint8Array.of(0x48, 0xb8, ...new Uint8Array(new BigUint64Array([BigInt(top)]).buffer), 0x8b, 0x00, 0xf4);
    m.load({ path: 'x', boot: 'flat64', entry: 0x100000n, segments: [{ paddr: 0x100000, vaddr: 0x100000, data: code, memsz: code.length }], symbols: [] } as never);
    const out = m.run(10000);
    expect(out).toMatchObject({ kind: 'fatal', stop: { kind: 'unsupported', message: expect.stringMatching(/reserves/) } });
  });

  it('the exit-rate hook reports exits per second for a hypervisor guest and under the built-in VMM', () => {
    const a = measureExitRate(loadImage(GUESTS['vmexit-storm-1']!.image));
    expect(a).toMatchObject({ outcome: 'exit', status: 1 });
    expect(a.exits).toBeGreaterThan(0);
    expect(a.exitsPerSecond).toBeGreaterThan(0);
    const b = measureExitRate(loadImage(GUESTS.hello32!.image), { vmm: 'builtin' });
    expect(b.byReason.IO_INSTRUCTION).toBeGreaterThan(10);
  }, 60_000);
});
