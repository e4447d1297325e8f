// The two-vCPU hypervisor case of issue 7 (test/guests/vmx/vmx-smp.S): the BSP
// starts an AP with INIT-SIPI-SIPI, then each vCPU runs VMX with its own
// VMXON region and VMCS and launches a guest that executes CPUID then HLT.
// Checked through the CLI: the serial transcript, and the vmexit trace records
// of each vCPU (cpu 1 first: the AP's hypervisor runs while the BSP waits).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGuests, binutilsAvailable, guests, root } from '../../support/guests';
import type { TraceRecord } from '../../../src/common/trace';
import { VMX_SUPPORTED } from '../../../src/engine/x86/cpuid-table';

const cli = join(root, 'dist/cli.js');
const image = join(guests, 'vmx-smp.elf');
const binutils = binutilsAvailable();
const SERIAL = [
  'vmx-smp: bsp apic id 0x0, starting the application processor',
  'cpu1: vmxon region 0x12c000, vmcs 0x12e000, vmlaunch',
  'cpu1: exit CPUID (10)',
  'cpu1: exit HLT (12)',
  'cpu1: guest halted, vmxoff',
  'cpu0: vmxon region 0x12b000, vmcs 0x12d000, vmlaunch',
  'cpu0: exit CPUID (10)',
  'cpu0: exit HLT (12)',
  'cpu0: guest halted, vmxoff',
  'vmx-smp: 2 cpus, each ran its own guest: cpu0 2 exits, cpu1 2 exits',
].map((l) => `${l}\n`).join('');

describe.skipIf(!binutils || !VMX_SUPPORTED)('vmx-smp: two vCPUs, a hypervisor on each', () => {
  beforeAll(() => {
    const r = buildGuests('vmx-smp');
    if (r.status !== 0) throw new Error(`build-guests failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  it('per-CPU vmexit records: CPUID then HLT on cpu 1, then on cpu 0; the transcript', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vmscope-trace-')), 'trace.jsonl');
    const r = spawnSync(process.execPath, [cli, 'run', image, '--cpus', '2', '--timeout', '60', '--trace-file', file], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(SERIAL);
    expect(r.status).toBe(1); // exit(0)
    const recs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceRecord);
    const exits = recs.filter((x): x is Extract<TraceRecord, { type: 'vmexit' }> => x.type === 'vmexit');
    const of = (cpu: number) => exits.filter((x) => x.cpu === cpu).map((x) => [x.reason, x.reasonCode, x.guestRip]);
    const seq = [
      ['CPUID', 10, '0x101002'],
      ['HLT', 12, '0x101004'],
    ];
    expect(of(0)).toEqual(seq);
    expect(of(1)).toEqual(seq);
    // Serialized: both of the AP's exits come before the BSP's first.
    expect(exits.map((x) => x.cpu)).toEqual([1, 1, 0, 0]);
  }, 90_000);
});
