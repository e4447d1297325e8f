// Differential test of vmscope's x86-64 engine against QEMU TCG: generated
// integer-instruction sequences (test/diff/, design in test/diff/README.md)
// run on both, and every defined result must agree: registers, RFLAGS
// (without the flags the SDM leaves undefined), scratch memory, exceptions.
//
// Environment:
//   VMSCOPE_DIFF_SEED     seed of the first sequence (decimal or 0x hex, or
//                         "random"); sequence k uses seed + k. Default fixed,
//                         so CI runs the same sequences every time.
//   VMSCOPE_DIFF_COUNT    number of sequences (default 10000)
//   VMSCOPE_DIFF_BATCH    sequences per image (default 1000)
//   VMSCOPE_DIFF_ONLY / VMSCOPE_DIFF_EXCLUDE
//                         comma-separated template names (test/diff/templates.ts)
//   VMSCOPE_DIFF_VERBOSE  1: print every sequence (default when COUNT <= 20)
//   VMSCOPE_DIFF_KEEP     1: keep the generated sources and images
//   VMSCOPE_DIFF_REPORT   a file to write every problem to, in full
// Replay a failing sequence: VMSCOPE_DIFF_SEED=<its seed> VMSCOPE_DIFF_COUNT=1
//
// Needs binutils and qemu-system-x86_64; without them the QEMU comparison
// is skipped with a warning (the generator checks below still run when
// binutils is there).
import { describe, expect, it } from 'vitest';
import { QEMU_INSTALL_HINT, qemuAvailable } from '../../support/qemu';
import { generateSequence, templatesFor, SCRATCH_BYTES } from '../../diff/generator';
import { binutilsAvailable, buildBatch } from '../../diff/image';
import { problems, runDiff, summary, type DiffConfig } from '../../diff/runner';
import { TEMPLATES } from '../../diff/templates';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DEFAULT_SEED = 0x5eed0001;

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
}

function envSeed(): number {
  const v = process.env.VMSCOPE_DIFF_SEED;
  if (v === undefined || v === '') return DEFAULT_SEED;
  if (v === 'random') return Math.floor(Math.random() * 0x1_0000_0000);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`VMSCOPE_DIFF_SEED=${v}: expected a 32-bit unsigned integer or "random"`);
  return n;
}

const list = (name: string) => process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean);

const qemu = qemuAvailable();
const binutils = binutilsAvailable();
if (!binutils) console.warn('SKIPPING the differential test (test/unit/diff): binutils (as, ld, objcopy) not found; sudo apt-get install -y binutils');
if (!qemu) console.warn(`SKIPPING the differential test against QEMU (test/unit/diff): qemu-system-x86_64 not found; ${QEMU_INSTALL_HINT}`);

describe('differential test generator', () => {
  it('is a pure function of the seed', () => {
    const t = templatesFor({});
    for (let s = 0; s < 50; s++) {
      const a = generateSequence(s, t);
      const b = generateSequence(s, t);
      expect(b.insns.map((i) => i.text)).toEqual(a.insns.map((i) => i.text));
      expect(b.regs).toEqual(a.regs);
      expect(b.mem).toEqual(a.mem);
    }
  });

  it('draws from every template and keeps memory operands inside the scratch area', () => {
    const t = templatesFor({});
    const seen = new Set<string>();
    for (let s = 0; s < 3000; s++) {
      const seq = generateSequence(s, t);
      for (const i of seq.insns) {
        seen.add(i.template);
        // a displacement never reaches past the 384-byte area from SCRATCH+64..128
        for (const m of i.text.matchAll(/[+-]0x([0-9a-f]+)\]/g)) {
          if (!i.text.startsWith('lea')) expect(parseInt(m[1]!, 16)).toBeLessThan(SCRATCH_BYTES);
        }
      }
    }
    for (const tp of TEMPLATES) expect(seen, `template ${tp.name} never drawn`).toContain(tp.name);
  });

  it.skipIf(!binutils)('produces sequences GNU as accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmscope-diffgen-'));
    try {
      const t = templatesFor({});
      const seqs = Array.from({ length: 400 }, (_, i) => generateSequence(0x1000 + i, t));
      expect(() => buildBatch(seqs, dir, 'gen')).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!qemu || !binutils)('differential test: engine vs QEMU TCG', () => {
  const count = envInt('VMSCOPE_DIFF_COUNT', 10_000);
  const cfg: DiffConfig = {
    seed: envSeed(),
    count,
    batchSize: Math.max(1, envInt('VMSCOPE_DIFF_BATCH', 1000)),
    gen: { only: list('VMSCOPE_DIFF_ONLY'), exclude: list('VMSCOPE_DIFF_EXCLUDE') },
    verbose: process.env.VMSCOPE_DIFF_VERBOSE ? process.env.VMSCOPE_DIFF_VERBOSE === '1' : count <= 20,
    keep: process.env.VMSCOPE_DIFF_KEEP === '1',
    maxReports: 20,
    log: (l) => console.log(l),
  };

  it(`agrees on ${count} generated sequences (first seed ${cfg.seed})`, async () => {
    const report = await runDiff(cfg);
    console.log(summary(cfg, report));
    const found = problems(report);
    const file = process.env.VMSCOPE_DIFF_REPORT;
    if (file) writeFileSync(file, `${summary(cfg, report)}\n\n${found.join('\n\n')}\n`);
    if (found.length > 0) {
      const shown = found.slice(0, cfg.maxReports + 10);
      console.error(shown.join('\n\n'));
    }
    expect(report.compared + report.unsupported.reduce((x, u) => x + u.count, 0), 'sequences accounted for').toBeGreaterThan(0);
    expect(found.length, `${found.length} problem(s); first:\n${found.slice(0, 3).join('\n\n')}`).toBe(0);
  }, 20 * 60_000);
});
