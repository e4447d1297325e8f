// Turns a batch of generated sequences into a Multiboot image (an ELF32
// that both QEMU's -kernel and vmscope boot): the batch source includes
// guest/harness.inc, then lists each sequence's record (initial RFLAGS,
// registers, scratch memory) and body. Built with binutils into a
// temporary directory, as scripts/build-guests.mjs builds the guests:
// `as --64`, `ld -m elf_x86_64 -T test/guests/lib/multiboot.ld`,
// `objcopy -O elf32-i386`.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Sequence } from './generator';

const ROOT = resolve(__dirname, '../..');
const GUEST_DIR = join(ROOT, 'test/diff/guest');
const LIB_DIR = join(ROOT, 'test/guests/lib');
const LINKER_SCRIPT = join(LIB_DIR, 'multiboot.ld');

const q = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** The batch's assembler source. Body i is `body_i`; its markers number the instructions. */
export function batchSource(seqs: readonly Sequence[]): string {
  const out: string[] = [
    `# differential-test batch: ${seqs.length} sequences, seeds ${seqs[0]?.seed} .. ${seqs[seqs.length - 1]?.seed}`,
    '        .include "harness.inc"',
    '        .intel_syntax noprefix',
    '        .section .rodata',
    '        .balign 8',
    `seq_count: .quad ${seqs.length}`,
    'seq_table:',
  ];
  seqs.forEach((_, i) => out.push(`        .quad rec_${i}, body_${i}`));
  seqs.forEach((s, i) => {
    out.push(`rec_${i}:                               # seed ${s.seed}`);
    out.push(`        .quad ${q(s.rflags)}`);
    out.push(`        .quad ${s.regs.map(q).join(', ')}`);
    const view = new DataView(s.mem.buffer, s.mem.byteOffset, s.mem.byteLength);
    const words: string[] = [];
    for (let o = 0; o < s.mem.length; o += 8) words.push(q(view.getBigUint64(o, true)));
    for (let k = 0; k < words.length; k += 8) out.push(`        .quad ${words.slice(k, k + 8).join(', ')}`);
  });
  out.push('        .text', '        .globl bodies_start, bodies_end', 'bodies_start:');
  seqs.forEach((s, i) => {
    out.push(`body_${i}:                              # seed ${s.seed}`);
    s.insns.forEach((ins, j) => {
      out.push(`        mov BYTE PTR [rip + cur_insn], ${j}`);
      out.push(`        ${ins.text}`);
    });
    out.push('        jmp seq_done');
  });
  out.push('bodies_end:', '');
  return out.join('\n');
}

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new BuildError(`${cmd}: ${r.error.message} (install binutils: sudo apt-get install -y binutils)`);
  if (r.status !== 0) throw new BuildError(`${cmd} ${args.join(' ')}\n${(r.stdout + r.stderr).trim()}`);
}

/** Writes, assembles and links batch `name` in `dir`; returns the ELF32 image's path. */
export function buildBatch(seqs: readonly Sequence[], dir: string, name: string): string {
  const src = join(dir, `${name}.S`);
  const obj = join(dir, `${name}.o`);
  const linked = join(dir, `${name}.elf64`);
  const image = join(dir, `${name}.elf`);
  writeFileSync(src, batchSource(seqs));
  run('as', ['--64', '-I', GUEST_DIR, '-I', LIB_DIR, '-o', obj, src]);
  run('ld', ['-m', 'elf_x86_64', '-T', LINKER_SCRIPT, '-z', 'max-page-size=0x1000', '--build-id=none', '-o', linked, obj]);
  run('objcopy', ['-O', 'elf32-i386', linked, image]);
  return image;
}

/** True when as, ld and objcopy can be run. */
export function binutilsAvailable(): boolean {
  return ['as', 'ld', 'objcopy'].every((t) => spawnSync(t, ['--version']).status === 0);
}
