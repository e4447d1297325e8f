// The same guests on vmscope's emulator, through the CLI exactly as a user
// runs them: the serial transcript and exit status must be QEMU's (the table
// in test/support/guests.ts is what QEMU prints), and the trace records must
// tell the ring and exception story of the long-mode guest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GUESTS, buildGuests, binutilsAvailable, root } from '../../support/guests';
import type { TraceRecord } from '../../../src/common/trace';
import { VMX_SUPPORTED } from '../../../src/engine/x86/cpuid-table';

const cli = join(root, 'dist/cli.js');
const binutils = binutilsAvailable();
if (!binutils) console.warn('SKIPPING emulator runs of the assembled guests: binutils not found (apt-get install binutils); the prebuilt sample still runs');

function run(image: string, ...args: string[]) {
  return spawnSync(process.execPath, [cli, 'run', image, '--timeout', '60', ...args], { encoding: 'utf8', timeout: 90_000 });
}

describe('guests on the emulator', () => {
  beforeAll(() => {
    if (!binutils) return;
    const r = buildGuests();
    if (r.status !== 0) throw new Error(`build-guests failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  // The full-size benchmark images are for `npm run bench`; their 1-iteration twins run here.
  const names = Object.keys(GUESTS).filter((n) => !/^(intloop|loadstore|pagetouch|syscall|vmexit-storm)$/.test(n));
  for (const name of names) {
    const g = GUESTS[name]!;
    if (g.needs === 'vmx' && !VMX_SUPPORTED) {
      console.warn(`SKIPPING ${name} on the emulator: it is a hypervisor and the engine does not advertise VMX yet (cpuid-table.ts VMX_SUPPORTED = false)`);
      it.skip(`${name}: needs VMX in the engine`, () => {});
      continue;
    }
    it.skipIf(g.built && !binutils)(`${name}: QEMU's transcript and status ${g.status}`, () => {
      const r = run(g.image, ...(g.cpus ? ['--cpus', String(g.cpus)] : []));
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(g.serial);
      expect(r.status).toBe(g.status);
    }, 90_000);
  }

  it.skipIf(!binutils)('longmode: ring and exception records tell what the guest did', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vmscope-trace-')), 'trace.jsonl');
    const r = run(GUESTS.longmode!.image, '--trace-file', file);
    expect(r.status).toBe(85);
    const recs = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceRecord);
    const rings = recs.filter((x): x is Extract<TraceRecord, { type: 'ring' }> => x.type === 'ring');
    const exc = recs.filter((x): x is Extract<TraceRecord, { type: 'exception' }> => x.type === 'exception');
    // Entered ring 3 once with IRETQ, and every later entry to ring 0 came back out.
    expect(rings[0]).toMatchObject({ from: 0, to: 3, via: 'iret' });
    expect(rings.filter((x) => x.to === 0).map((x) => x.via)).toEqual(expect.arrayContaining(['syscall', 'exception', 'int']));
    for (const x of rings) expect(x.from).not.toBe(x.to);
    // The exceptions of the transcript, in order, with their error codes and CR2.
    expect(exc.map((x) => [x.name, x.errorCode ?? null, x.cr2 ?? null])).toEqual([
      ['#UD', null, null],
      ['#PF', 6, '0x40000000'],
      ['#PF', 5, '0x100000'],
      ['#PF', 0x15, '0x40000000'],
      ['#DE', null, null],
      ['#GP', 0x10, null],
    ]);
    const modes = recs.filter((x) => x.type === 'mode').map((x) => x.type === 'mode' && `${x.from}->${x.to}`);
    expect(modes).toContain('compat->long');
    expect(recs.filter((x) => x.type === 'output').map((x) => x.type === 'output' && x.text).join('')).toBe(GUESTS.longmode!.serial);
  }, 90_000);
});
