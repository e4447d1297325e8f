// The hypervisor guests (test/support/guests.ts entries with needs: 'vmx') on
// Bochs 2.7, their reference: QEMU's TCG has no VMX. Each run must print the
// exact serial transcript of the table, end with exit code 0 through the
// Shutdown port, and Bochs's log must name exactly the failed VM-entry checks
// each guest provokes on purpose (e.g. "VMENTER FAIL: RFLAGS[1] cleared").
// The QEMU guests run too, to show the Bochs runner (test/support/bochs.ts:
// the image wrapped into a boot ROM, see test/guests/lib/romboot.S) boots a
// Multiboot kernel as QEMU's loader does.
//
// Needs binutils (the guests and the boot ROM are assembled) and Bochs with
// its term display (Debian/Ubuntu: bochs bochsbios vgabios bochs-term) and
// `script`; each missing tool skips the tests that need it, loudly.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bochsAvailable, bochsMissingReason, bochsrc, parseBochsLog, runOnBochs } from '../../support/bochs';
import { GUESTS, binutilsAvailable, buildGuests, guests, root } from '../../support/guests';

const bochs = bochsAvailable();
const binutils = binutilsAvailable();
if (!binutils) console.warn('SKIPPING guest runs on Bochs: binutils (as, ld, objcopy) not found; sudo apt-get install -y binutils');
if (!bochs) console.warn(`SKIPPING guest runs on Bochs: ${bochsMissingReason()}`);
const canRun = Boolean(bochs && binutils);

/** The failed VM entries each guest provokes, as Bochs's log words them, in order. */
const VM_ENTRY_FAILURES: Record<string, string[]> = {
  'vmx-badguest': ['VMENTER FAIL: RFLAGS[1] cleared', 'VMENTER FAIL: VMCS guest invalid CR0'],
  'vmx-failvalid': [
    'VMFAIL: VMLAUNCH with invalid VMCS ptr !',
    'VMFAIL: VMRESUME with non-launched VMCS!',
    'VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5',
    'VMFAIL: VMCS host RIP non-canonical',
  ],
};

/** What a QEMU guest prints on Bochs where it differs from QEMU (Bochs's CMOS sizes, not QEMU's). */
const ON_BOCHS: Record<string, string> = {
  hello32: GUESTS.hello32!.serial.replace('memory: lower 639 KiB, upper 129920 KiB', 'memory: lower 640 KiB, upper 130048 KiB'),
};

describe('guests on Bochs', () => {
  beforeAll(() => {
    if (!binutils) return;
    const r = buildGuests();
    if (r.status !== 0) throw new Error(`build-guests failed:\n${r.stdout}${r.stderr}`);
  }, 120_000);

  // The full-size benchmark is for `npm run bench`; its 1-iteration twin runs here.
  const vmx = Object.keys(GUESTS).filter((n) => GUESTS[n]!.needs === 'vmx' && n !== 'vmexit-storm');
  for (const name of vmx) {
    const g = GUESTS[name]!;
    it.skipIf(!canRun)(`${name}: exact transcript, exit code 0 via the Shutdown port`, async () => {
      const r = await runOnBochs(g.image, { timeoutMs: 60_000 });
      for (const line of r.vmEntryFailures) console.info(`${name} on Bochs: ${line}`);
      expect(r.serial).toBe(g.serial);
      expect(r.status).toBe(g.status);
      expect(r.ended).toBe('shutdown');
      expect(r.vmEntryFailures).toEqual(VM_ENTRY_FAILURES[name] ?? []);
      // Bochs's other error lines are its notes on exits ("VMEXIT: EPT violation for guest paddr ...").
      expect(r.errors.filter((e) => !/^(VMEXIT: |VMENTER FAIL: |VMFAIL: )/.test(e))).toEqual([]);
    }, 90_000);
  }

  it.skipIf(!canRun)("vmx-basic: Bochs's log has the EPT violation the transcript reports", async () => {
    const r = await runOnBochs(GUESTS['vmx-basic']!.image, { timeoutMs: 60_000 });
    expect(r.errors).toContain('VMEXIT: EPT violation for guest paddr 0x000020000000 laddr 0x0000000020000000');
  }, 90_000);

  // A few QEMU guests that need nothing a BIOS sets up (samples/hello does not program the
  // UART's word length: Bochs masks its characters to 5 bits).
  for (const name of ['hello32', 'longmode', 'realmode', 'syscall-1']) {
    const g = GUESTS[name];
    if (!g) continue;
    it.skipIf(!canRun)(`${name} (a QEMU guest): its transcript and status on Bochs`, async () => {
      const r = await runOnBochs(g.image, { timeoutMs: 60_000 });
      expect(r.serial).toBe(ON_BOCHS[name] ?? g.serial);
      expect(r.status).toBe(g.status);
      expect(r.ended).toBe('halted'); // port 0xF4, then HLT with interrupts off: the runner stops Bochs
    }, 90_000);
  }
});

describe('the Bochs boot ROM and runner', () => {
  it.skipIf(!binutils)('build-guests --rom wraps a Multiboot ELF into a 64 KiB ROM ending at the reset vector', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vmscope-rom-')), 'vmx-basic.rom');
    const r = spawnSync(process.execPath, [join(root, 'scripts/build-guests.mjs'), '--rom', join(guests, 'vmx-basic.elf'), out], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(out).size).toBe(0x10000);
  });

  it.skipIf(!binutils)('build-guests --rom refuses what it cannot boot, saying why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmscope-rom-'));
    const rom = (elf: string) => spawnSync(process.execPath, [join(root, 'scripts/build-guests.mjs'), '--rom', elf, join(dir, 'x.rom')], { encoding: 'utf8' });
    const noHeader = join(dir, 'no-header.elf');
    const image = readFileSync(join(guests, 'vmx-basic.elf'));
    const at = image.indexOf(Buffer.from([0x02, 0xb0, 0xad, 0x1b])); // 0x1BADB002
    expect(at).toBeGreaterThan(0);
    image.writeUInt32LE(0, at);
    writeFileSync(noHeader, image);
    expect(rom(noHeader)).toMatchObject({ status: 1, stderr: expect.stringMatching(/no-header\.elf: no Multiboot header in the first 8 KiB/) });
    expect(rom(join(guests, 'realmode.elf'))).toMatchObject({ status: 1, stderr: expect.stringMatching(/realmode\.elf: segment 0 at 0xf0000 .*not between 1 MiB and 4 GiB/) });
    const bogus = join(dir, 'bogus.elf');
    writeFileSync(bogus, 'not an ELF file at all, and long enough for the header check to read.');
    expect(rom(bogus)).toMatchObject({ status: 1, stderr: expect.stringMatching(/bogus\.elf: not an ELF file/) });
  });

  it('the bochsrc: VMX cpu, 128 MiB, the ROM, COM1 to a file, term display, unmapped-port debug lines', () => {
    const rc = bochsrc('/tmp/x/rom.bin');
    expect(rc).toContain('cpu: model=corei7_skylake_x');
    expect(rc).toContain('memory: guest=128, host=128');
    expect(rc).toContain('romimage: file="/tmp/x/rom.bin"');
    expect(rc).toContain('com1: enabled=1, mode=file, dev=serial.txt');
    expect(rc).toContain('display_library: term');
    expect(rc).toContain('debug: action=ignore, unmapped=report');
  });

  it("reads the exit code, the shutdown, failed checks and a halt from Bochs's log", () => {
    const log = [
      '00000000000i[      ] reading configuration from bochsrc',
      '00000527007e[CPU0  ] VMENTER FAIL: RFLAGS[1] cleared',
      '00000527008e[CPU0  ] VMEXIT: Guest State Checks Failed',
      '00000527009e[CPU0  ] VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5',
      '00000527594d[UNMAP ] unmapped: 8-bit write to 00f4 = 2a',
      '00000527599p[UNMAP ] >>PANIC<< Shutdown port: shutdown requested',
    ].join('\n');
    expect(parseBochsLog(log)).toEqual({
      exitCode: 0x2a,
      errors: ['VMENTER FAIL: RFLAGS[1] cleared', 'VMEXIT: Guest State Checks Failed', 'VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5'],
      vmEntryFailures: ['VMENTER FAIL: RFLAGS[1] cleared', 'VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5'],
      halted: false,
      shutdown: true,
    });
    const halted = parseBochsLog('00000040990d[UNMAP ] unmapped: 8-bit write to 00f4 = 00\n00000040992i[CPU0  ] WARNING: HLT instruction with IF=0!\n');
    expect(halted).toMatchObject({ exitCode: 0, halted: true, shutdown: false });
    // A halt before any exit write is not the end of a run.
    expect(parseBochsLog('00000040992i[CPU0  ] WARNING: HLT instruction with IF=0!\n').halted).toBe(false);
  });
});
