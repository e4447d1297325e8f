// Builds the guest programs (scripts/build-guests.mjs) and runs each on QEMU,
// asserting its exact serial transcript and exit status. These transcripts,
// taken from what each guest's source prints, are the reference that
// vmscope's engine is checked against: a change here is a change to a guest.
//
// Needs binutils (as, ld, objcopy) to build and qemu-system-x86 to run; each
// missing tool skips the tests that need it, with a warning saying why.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { QEMU_INSTALL_HINT, qemuAvailable, runOnQemu } from '../../support/qemu';
import { GUESTS, buildGuests, guests, binutilsAvailable } from '../../support/guests';

const qemu = qemuAvailable();
const binutils = binutilsAvailable();
if (!binutils) {
  console.warn('SKIPPING guest build and QEMU runs: binutils (as, ld, objcopy) not found; sudo apt-get install -y binutils');
}
if (!qemu) {
  console.warn(`SKIPPING guest runs on QEMU: qemu-system-x86_64 not found; ${QEMU_INSTALL_HINT}`);
}

describe('guest programs', () => {
  beforeAll(() => {
    if (!binutils) return;
    const r = buildGuests();
    if (r.status !== 0) throw new Error(`build-guests failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  it.skipIf(!binutils)('builds every guest, and a second build has nothing to do', () => {
    for (const [name, g] of Object.entries(GUESTS)) expect(existsSync(g.image), name).toBe(true);
    expect(existsSync(join(guests, 'realmode.elf'))).toBe(true);
    const again = buildGuests();
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/guests up to date/);
  });

  // The hypervisor guests need VMX, which QEMU's TCG lacks: bochs.test.ts runs them.
  for (const [name, g] of Object.entries(GUESTS).filter(([, x]) => x.needs !== 'vmx')) {
    it.skipIf(!qemu || (g.built && !binutils))(
      `${name} runs on QEMU: exact serial transcript, status ${g.status}`,
      async () => {
        const r = await runOnQemu(g.image, { kind: g.kind, timeoutMs: 30_000, cpus: g.cpus });
        expect(r.serial).toBe(g.serial);
        expect(r.status).toBe(g.status);
        expect(r.stderr).toBe('');
      },
      60_000,
    );
  }
});
