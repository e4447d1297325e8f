// The fuzz cases, each a pure function of (seed, index): the worker builds a
// case to run it, the test builds the same case again to print it when it
// failed (a hung worker cannot say what it was running).
//
// - streamCase: a random instruction stream and random register values. Half
//   the streams are uniform bytes; the other half are strung together from
//   prefixes, opcodes that reach rarely-run paths (system instructions, far
//   transfers, I/O, string ops, segment loads) and random ModRM/SIB/immediate
//   bytes, because uniform bytes mostly decode as plain ALU instructions.
// - machineImage: a stream wrapped as an image each boot protocol enters in
//   the wanted mode (64 KiB reset ROM: real mode; raw Multiboot kernel:
//   32-bit protected mode; flat binary: 64-bit long mode).
// - imageCase: a real guest image with a few mutations, aimed at the fields
//   the loader and Machine.load trust: ELF and program headers, the
//   Multiboot header (checksum fixed up so it is still taken), the entry.

import type { Mode } from '../../support/cpu-harness';
import { Rng, mixSeed, nameSeed } from './seed';

export const MODES: readonly Mode[] = ['real', 'prot32', 'long64'];

/** Where streams are placed (cpu-harness's CODE_ADDR; flat and Multiboot images load there too). */
export const LOAD_ADDR = 0x100000;

export interface StreamCase {
  code: Uint8Array;
  /** GPR name → value, set before the run (the rest keep their boot values). */
  regs: Record<string, bigint>;
}

const GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

const PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];

/** Opcodes worth reaching on purpose: each is followed by random operand bytes. */
const OPCODES: readonly (readonly number[])[] = [
  // system: descriptor tables, control/debug registers, MSRs, CPUID, SYSCALL family, TSC, INVD, UD2
  [0x0f, 0x00], [0x0f, 0x01], [0x0f, 0x02], [0x0f, 0x03], [0x0f, 0x06], [0x0f, 0x08], [0x0f, 0x09], [0x0f, 0x0b],
  [0x0f, 0x20], [0x0f, 0x21], [0x0f, 0x22], [0x0f, 0x23], [0x0f, 0x30], [0x0f, 0x31], [0x0f, 0x32], [0x0f, 0x33],
  [0x0f, 0x34], [0x0f, 0x35], [0x0f, 0x05], [0x0f, 0x07], [0x0f, 0xa2], [0x0f, 0xae], [0x0f, 0xc7], [0x0f, 0x78],
  [0x0f, 0x79], [0x0f, 0x01, 0xc1], [0x0f, 0x01, 0xf8], [0x0f, 0x01, 0xd0], [0x0f, 0x01, 0xd1],
  // segment registers, far transfers, interrupts
  [0x8e], [0x8c], [0x0f, 0xa0], [0x0f, 0xa1], [0x0f, 0xa8], [0x0f, 0xa9], [0x07], [0x17], [0x1f], [0xc4], [0xc5],
  [0x0f, 0xb2], [0x0f, 0xb4], [0x0f, 0xb5], [0x9a], [0xea], [0xff], [0xca], [0xcb], [0xcc], [0xcd], [0xce], [0xcf],
  [0xc2], [0xc3], [0xc8], [0xc9], [0x62], [0x63], [0xf1],
  // flags, interrupts on/off, halt
  [0x9c], [0x9d], [0xfa], [0xfb], [0xf4], [0xf5], [0xfc], [0xfd],
  // I/O and string instructions (with and without REP from the prefixes)
  [0xe4], [0xe5], [0xe6], [0xe7], [0xec], [0xed], [0xee], [0xef], [0x6c], [0x6d], [0x6e], [0x6f],
  [0xa4], [0xa5], [0xa6], [0xa7], [0xaa], [0xab], [0xac], [0xad], [0xae], [0xaf],
  // loops, BCD, XLAT, multiply/divide, shifts and rotates
  [0xe0], [0xe1], [0xe2], [0xe3], [0x27], [0x2f], [0x37], [0x3f], [0xd4], [0xd5], [0xd7], [0xf6], [0xf7],
  [0xc0], [0xc1], [0xd0], [0xd1], [0xd2], [0xd3], [0x0f, 0xa4], [0x0f, 0xa5], [0x0f, 0xac], [0x0f, 0xad],
  // bit ops, CMPXCHG, XADD, BSWAP, MOVSX/ZX, CMOV, SETcc
  [0x0f, 0xa3], [0x0f, 0xab], [0x0f, 0xb3], [0x0f, 0xbb], [0x0f, 0xba], [0x0f, 0xbc], [0x0f, 0xbd], [0x0f, 0xb0],
  [0x0f, 0xb1], [0x0f, 0xc0], [0x0f, 0xc1], [0x0f, 0xc8], [0x0f, 0xb6], [0x0f, 0xbf], [0x0f, 0x44], [0x0f, 0x94],
  // x87 and SSE
  [0xd8], [0xd9], [0xdb], [0xdd], [0xdf], [0x0f, 0x10], [0x0f, 0x28], [0x0f, 0x6f], [0x0f, 0xef], [0x66, 0x0f, 0xd6],
  // stack
  [0x8f], [0x60], [0x61], [0x68], [0x6a], [0x50], [0x58],
];

/** Register values that reach boundaries: page and segment edges, MMIO, non-canonical, sign bits. */
function regValue(r: Rng, mode: Mode): bigint {
  const wide = mode === 'long64';
  switch (r.int(12)) {
    case 0: return 0n;
    case 1: return BigInt(r.int(16));
    case 2: return BigInt(0x200000 + r.int(0x2000)); // cpu-harness DATA_ADDR: plain RAM
    case 3: return BigInt(0x200ffc + r.int(8)); // an access that splits a page
    case 4: return BigInt(0xfff0 + r.int(0x20)); // 16-bit offset wrap
    case 5: return 0xfee00000n + BigInt(r.int(0x400)); // local APIC MMIO
    case 6: return 0xfec00000n + BigInt(r.int(0x40)); // IOAPIC MMIO
    case 7: return r.pick([0x20n, 0x21n, 0x40n, 0x43n, 0x60n, 0x64n, 0x70n, 0x71n, 0x92n, 0xf4n, 0x3f8n, 0x3fdn, 0x510n, 0x511n, 0x514n, 0x4d0n, 0xa0n, 0xcf8n]); // I/O ports
    case 8: return 0xffffffffn - BigInt(r.int(8));
    case 9: return wide ? r.pick([0x0000800000000000n, 0xffff800000000000n, 0x00007ffffffffff8n, 1n << 63n]) : 0x80000000n;
    case 10: return wide ? r.u64() : BigInt(r.u32());
    default: return BigInt(r.u32() & 0xffff);
  }
}

function structured(r: Rng, mode: Mode, len: number): Uint8Array {
  const out: number[] = [];
  while (out.length < len) {
    for (let p = r.int(4) === 0 ? r.int(3) + 1 : 0; p > 0; p--) out.push(r.pick(PREFIXES));
    if (mode === 'long64' && r.chance(0.3)) out.push(0x40 | r.int(16)); // REX right before the opcode
    if (r.chance(0.7)) out.push(...r.pick(OPCODES));
    else out.push(r.int(256));
    for (let t = r.int(9); t > 0; t--) out.push(r.int(256));
  }
  return Uint8Array.from(out.slice(0, len));
}

export function streamCase(seed: number, suite: string, mode: Mode, index: number): StreamCase {
  const r = new Rng(mixSeed(seed, nameSeed(suite), nameSeed(mode), index));
  const len = r.chance(0.1) ? 512 + r.int(3584) : 4 + r.int(252);
  const code = r.chance(0.5) ? r.bytes(len) : structured(r, mode, len);
  const regs: Record<string, bigint> = {};
  if (r.chance(0.6)) {
    for (const name of GPRS) {
      // Keep the boot stack usually: most code needs a working stack to get anywhere.
      if (r.chance(name === 'rsp' ? 0.1 : 0.4)) regs[name] = regValue(r, mode);
    }
  }
  return { code, regs };
}

/** Image bytes (and load options) that boot `code` in `mode` on the whole machine. */
export function machineImage(c: StreamCase, mode: Mode, index: number): { bytes: Uint8Array; loadAddress?: number } {
  if (mode === 'long64') return { bytes: c.code, loadAddress: LOAD_ADDR };
  if (mode === 'prot32') {
    // A raw Multiboot kernel (a.out kludge, flag bit 16): header at LOAD_ADDR, code right after it.
    const header = new Uint32Array([0x1badb002, 0x00010000, 0, LOAD_ADDR, LOAD_ADDR, 0, 0, LOAD_ADDR + 32]);
    header[2] = (-(0x1badb002 + 0x00010000)) >>> 0;
    const bytes = new Uint8Array(32 + c.code.length);
    bytes.set(new Uint8Array(header.buffer), 0);
    bytes.set(c.code, 32);
    return { bytes };
  }
  // A 64 KiB ROM ending at the reset vector F000:FFF0. Most cases jump from
  // there to the stream at F000:0000; some run random bytes at the vector itself.
  const rom = new Uint8Array(0x10000);
  rom.set(c.code.subarray(0, 0xfff0), 0);
  if (index % 4 === 0) rom.set(c.code.subarray(0, 16), 0xfff0);
  else rom.set([0xe9, 0x0d, 0x00], 0xfff0); // jmp near to IP 0 (0xfff3 + 0x000d wraps to 0)
  return { bytes: rom };
}

// ---- image mutations ------------------------------------------------------

export interface SourceImage {
  name: string;
  bytes: Uint8Array;
}

export interface ImageCase {
  source: string;
  bytes: Uint8Array;
  /** What was changed, one entry per mutation (for the failure message). */
  mutations: string[];
}

const INTERESTING32 = [
  0, 1, 0x1000, 0x100000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0xfffff000,
  0x1fff000, 0x2000000, 0x7fff000, 0xfee00000, 0xfec00000, 0xffff0000, 0xf0000, 0xa0000,
];

const u32 = (b: Uint8Array, o: number): number => (o + 4 <= b.length ? new DataView(b.buffer, b.byteOffset).getUint32(o, true) : 0);
const setU32 = (b: Uint8Array, o: number, v: number): void => { if (o >= 0 && o + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(o, v >>> 0, true); };
const setU16 = (b: Uint8Array, o: number, v: number): void => { if (o >= 0 && o + 2 <= b.length) new DataView(b.buffer, b.byteOffset).setUint16(o, v & 0xffff, true); };
const h = (n: number): string => '0x' + n.toString(16);

function value32(r: Rng): number {
  return r.chance(0.7) ? r.pick(INTERESTING32) + (r.chance(0.3) ? r.int(16) - 8 : 0) : r.u32();
}

/** Offsets of the ELF header fields and program-header fields worth corrupting. */
function elfFields(b: Uint8Array): { off: number; size: 2 | 4 | 8; name: string }[] {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45) return [];
  const is64 = b[4] === 2;
  const f: { off: number; size: 2 | 4 | 8; name: string }[] = is64
    ? [{ off: 24, size: 8, name: 'e_entry' }, { off: 32, size: 8, name: 'e_phoff' }, { off: 40, size: 8, name: 'e_shoff' },
      { off: 54, size: 2, name: 'e_phentsize' }, { off: 56, size: 2, name: 'e_phnum' }, { off: 58, size: 2, name: 'e_shentsize' },
      { off: 60, size: 2, name: 'e_shnum' }, { off: 62, size: 2, name: 'e_shstrndx' }]
    : [{ off: 24, size: 4, name: 'e_entry' }, { off: 28, size: 4, name: 'e_phoff' }, { off: 32, size: 4, name: 'e_shoff' },
      { off: 42, size: 2, name: 'e_phentsize' }, { off: 44, size: 2, name: 'e_phnum' }, { off: 46, size: 2, name: 'e_shentsize' },
      { off: 48, size: 2, name: 'e_shnum' }, { off: 50, size: 2, name: 'e_shstrndx' }];
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const phoff = is64 ? Number(view.getBigUint64(32, true)) : view.getUint32(28, true);
  const phnum = view.getUint16(is64 ? 56 : 44, true);
  const names = is64
    ? [['p_type', 0, 4], ['p_flags', 4, 4], ['p_offset', 8, 8], ['p_vaddr', 16, 8], ['p_paddr', 24, 8], ['p_filesz', 32, 8], ['p_memsz', 40, 8]] as const
    : [['p_type', 0, 4], ['p_offset', 4, 4], ['p_vaddr', 8, 4], ['p_paddr', 12, 4], ['p_filesz', 16, 4], ['p_memsz', 20, 4], ['p_flags', 24, 4]] as const;
  for (let i = 0; i < Math.min(phnum, 8); i++) {
    const base = phoff + i * (is64 ? 56 : 32);
    if (base + (is64 ? 56 : 32) > b.length) break;
    for (const [name, o, size] of names) f.push({ off: base + o, size, name: `phdr[${i}].${name}` });
  }
  return f;
}

/** File offset of the first Multiboot header magic in the first 8 KiB, or -1. */
function multibootOffset(b: Uint8Array): number {
  for (let o = 0; o + 12 <= Math.min(b.length, 8192); o += 4) if (u32(b, o) === 0x1badb002) return o;
  return -1;
}

function mutate(r: Rng, b: Uint8Array, log: string[]): Uint8Array {
  switch (r.int(7)) {
    case 0: { // bytes anywhere, biased to the headers
      for (let k = r.int(8) + 1; k > 0; k--) {
        const o = r.chance(0.5) ? r.int(Math.min(b.length, 512)) : r.int(b.length);
        const v = r.int(256);
        log.push(`byte ${h(o)}: ${h(b[o] ?? 0)} -> ${h(v)}`);
        b[o] = v;
      }
      return b;
    }
    case 1: case 2: { // an ELF header or program header field
      const fields = elfFields(b);
      if (fields.length === 0) return mutate(r, b, log);
      const f = r.pick(fields);
      const v = f.size === 2 ? r.pick([0, 1, 2, 0xffff, r.int(0x10000), 32, 56, 64]) : value32(r);
      log.push(`${f.name} @${h(f.off)} = ${h(v)}${f.size === 8 ? ' (low dword)' : ''}`);
      if (f.size === 2) setU16(b, f.off, v);
      else setU32(b, f.off, v);
      if (f.size === 8 && r.chance(0.3)) { const hi = r.u32(); setU32(b, f.off + 4, hi); log.push(`  high dword = ${h(hi)}`); }
      return b;
    }
    case 3: { // a Multiboot header field, usually with the checksum fixed up so the header still counts
      const mb = multibootOffset(b);
      if (mb < 0) return mutate(r, b, log);
      const field = r.int(8);
      const v = field === 1 ? (r.chance(0.5) ? 0x10000 | r.int(8) : r.u32()) : value32(r);
      setU32(b, mb + 4 * field, v);
      const fix = field !== 2 && r.chance(0.85);
      if (fix) setU32(b, mb + 8, -(u32(b, mb) + u32(b, mb + 4)));
      log.push(`multiboot[${field}] @${h(mb + 4 * field)} = ${h(v)}${fix ? ' (checksum fixed)' : ''}`);
      return b;
    }
    case 4: { // truncation
      const n = r.chance(0.5) ? r.int(Math.min(b.length, 1024)) : r.int(b.length);
      log.push(`truncated to ${n} bytes`);
      return b.slice(0, n);
    }
    case 5: { // a run of random bytes (code, tables, debug info)
      const o = r.int(b.length);
      const n = Math.min(r.int(64) + 1, b.length - o);
      b.set(r.bytes(n), o);
      log.push(`random bytes at ${h(o)}..${h(o + n)}`);
      return b;
    }
    default: { // entry point anywhere (ELF e_entry, or the Multiboot entry_addr)
      const mb = multibootOffset(b);
      const v = r.chance(0.5) ? LOAD_ADDR + r.int(0x8000) : value32(r);
      if (mb >= 0 && (u32(b, mb + 4) & 0x10000) && r.chance(0.5)) {
        setU32(b, mb + 28, v);
        log.push(`multiboot entry_addr = ${h(v)}`);
      } else {
        setU32(b, 24, v);
        log.push(`e_entry = ${h(v)}`);
      }
      return b;
    }
  }
}

export function imageCase(seed: number, index: number, sources: readonly SourceImage[]): ImageCase {
  const r = new Rng(mixSeed(seed, nameSeed('image'), index));
  const src = sources[index % sources.length];
  if (src === undefined) throw new Error('no source images');
  let bytes: Uint8Array = src.bytes.slice();
  const mutations: string[] = [];
  // The first case of each source runs it unchanged: the control.
  if (index >= sources.length) {
    for (let k = r.chance(0.6) ? 1 : r.int(4) + 1; k > 0 && bytes.length > 0; k--) bytes = mutate(r, bytes, mutations);
  }
  return { source: src.name, bytes, mutations };
}
