// The environment expressions evaluate in, built from the target interface:
// every register the target lists (by name, and compound parts such as
// "fs.base"), the x86 partial-register names derived from the full ones
// (eax/ax/al/ah from rax, r8d/r8w/r8b from r8, rip from eip in 32-bit code),
// the image's symbols, and guest-virtual memory.

import type { Target, RegisterValue } from '../targets/target';
import type { EvalEnv } from './expressions';

const GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const LOW8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'];

/** Partial-register name → (full 64-bit name, shift, bits). */
const PARTS = new Map<string, { full: string; shift: bigint; bits: bigint }>();
for (let i = 0; i < 16; i++) {
  const r = GPRS[i]!;
  const numbered = i >= 8;
  PARTS.set(numbered ? r + 'd' : 'e' + r.slice(1), { full: r, shift: 0n, bits: 32n });
  PARTS.set(numbered ? r + 'w' : r.slice(1), { full: r, shift: 0n, bits: 16n });
  if (numbered) { PARTS.set(r + 'b', { full: r, shift: 0n, bits: 8n }); PARTS.set(r + 'l', { full: r, shift: 0n, bits: 8n }); }
  else PARTS.set(LOW8[i]!, { full: r, shift: 0n, bits: 8n });
}
['ah', 'ch', 'dh', 'bh'].forEach((n, i) => PARTS.set(n, { full: GPRS[i]!, shift: 8n, bits: 8n }));
PARTS.set('eip', { full: 'rip', shift: 0n, bits: 32n });
PARTS.set('ip', { full: 'rip', shift: 0n, bits: 16n });
PARTS.set('eflags', { full: 'rflags', shift: 0n, bits: 32n });
PARTS.set('flags', { full: 'rflags', shift: 0n, bits: 16n });

/** Every register of a vCPU by lower-case name, with the 32-bit names also filed under their 64-bit ones. */
export function registerMap(target: Target, cpu: number): Map<string, RegisterValue> {
  const map = new Map<string, RegisterValue>();
  const add = (r: RegisterValue): void => {
    map.set(r.name.toLowerCase(), r);
    for (const c of r.children ?? []) add(c);
  };
  for (const g of target.registers(cpu)) for (const r of g.registers) add(r);
  // 32-bit code lists eax..edi/eip/eflags: make the 64-bit names resolve too (their upper halves are not visible).
  for (const [part, p] of PARTS) {
    if (p.bits === 32n && map.has(part) && !map.has(p.full)) map.set(p.full, map.get(part)!);
  }
  return map;
}

export function registerValue(regs: Map<string, RegisterValue>, name: string): bigint | undefined {
  const n = name.toLowerCase();
  const direct = regs.get(n);
  if (direct) return direct.value;
  const p = PARTS.get(n);
  if (p) {
    const full = regs.get(p.full);
    if (full) return (full.value >> p.shift) & ((1n << p.bits) - 1n);
  }
  return undefined;
}

export function makeEvalEnv(target: Target, cpu: number): EvalEnv {
  let regs: Map<string, RegisterValue> | undefined;
  const getRegs = (): Map<string, RegisterValue> => (regs ??= registerMap(target, cpu));
  const symbols = target.image?.symbols ?? [];
  return {
    register: (name) => target.readRegister?.(cpu, name) ?? registerValue(getRegs(), name),
    segmentBase: (seg) => registerValue(getRegs(), `${seg}.base`),
    symbol: (name) => symbols.find((s) => s.name === name)?.address,
    readMemory: (address, size) => {
      const r = target.readMemory(cpu, 'gva', address, size);
      if (r.data.length < size) throw new Error(`cannot read ${size} bytes at 0x${address.toString(16)}: not mapped`);
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(r.data[i]!);
      return v;
    },
    get defaultSize() { const bits = target.cpuInfo(cpu).bits; return bits === 64 ? 8 : bits === 32 ? 4 : 2; },
  };
}
