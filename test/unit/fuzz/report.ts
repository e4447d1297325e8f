// Failure messages that let anyone replay a case: the seed, the case index,
// the exact bytes (or the mutations of which image), the registers, and the
// environment line that runs that one case again.

import type { Mode } from '../../support/cpu-harness';
import { imageCase, streamCase, type SourceImage } from './cases';
import type { Failure } from './pool';
import { hex } from './seed';

const MAX_REPORTED = 10;
/** Slow cases tend to share one cause: a few examples suffice, the rest are counted. */
const MAX_SLOW_REPORTED = 3;

/** Crashes, hangs and wrong stops first, then a few slow cases; at most MAX_REPORTED. */
function pick(failures: Failure[]): { shown: Failure[]; more: number } {
  const slow = failures.filter((f) => f.failure.startsWith('slow:'));
  const other = failures.filter((f) => !f.failure.startsWith('slow:'));
  const shown = [...other, ...slow.slice(0, MAX_SLOW_REPORTED)].slice(0, MAX_REPORTED);
  return { shown, more: failures.length - shown.length };
}

function moreLine(failures: Failure[], more: number): string[] {
  if (more === 0) return [];
  const slow = failures.filter((f) => f.failure.startsWith('slow:')).length;
  return [`... and ${more} more failing cases (${slow} slow in all)`];
}

const bytesHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

function replay(seed: number, index: number, testFile: string): string {
  return `replay: VMSCOPE_FUZZ_SEED=${hex(seed)} VMSCOPE_FUZZ_CASE=${index} npx vitest run ${testFile}`;
}

export function streamFailures(failures: Failure[], seed: number, suite: string, mode: Mode, testFile: string): string[] {
  const { shown, more } = pick(failures);
  return shown.map((f) => {
    const c = streamCase(seed, suite, mode, f.index);
    const regs = Object.entries(c.regs).map(([k, v]) => `${k}=0x${v.toString(16)}`).join(' ');
    return [
      `${suite} ${mode} case ${f.index} (seed ${hex(seed)}): ${f.failure}`,
      `  code (${c.code.length} bytes): ${bytesHex(c.code)}`,
      `  registers: ${regs || '(boot values)'}`,
      `  ${replay(seed, f.index, testFile)}`,
    ].join('\n');
  }).concat(moreLine(failures, more));
}

export function imageFailures(failures: Failure[], seed: number, sources: readonly SourceImage[], testFile: string): string[] {
  const { shown, more } = pick(failures);
  return shown.map((f) => {
    const c = imageCase(seed, f.index, sources);
    return [
      `image case ${f.index} (seed ${hex(seed)}): ${f.failure}`,
      `  ${c.source}${c.mutations.length ? ` with: ${c.mutations.join('; ')}` : ' unchanged'} (${c.bytes.length} bytes)`,
      `  ${replay(seed, f.index, testFile)}`,
    ].join('\n');
  }).concat(moreLine(failures, more));
}
