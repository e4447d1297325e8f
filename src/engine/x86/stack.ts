// Implicit stack accesses (PUSH, POP, CALL, RET, interrupt frames) with the
// stack-pointer width of the current mode: SP (16-bit SS), ESP (32-bit SS) or
// RSP (64-bit mode, canonical check → #SS). RSP is only committed after the
// memory access succeeded, so a faulting push leaves the state unchanged.

import type { Cpu } from './cpu';
import { CpuFault, SS as SS_VEC } from './fault';
import { RSP, SS } from './regs';
import { readMem, writeMem } from './operands';

const TWO32 = 0x1_0000_0000;

/** Linear address of RSP + delta for an access of `size` bytes (does not change RSP). */
export function stackAddr(c: Cpu, delta: number, size: number): number {
  if (c.stackSize === 8) {
    let lo = (c.rl[RSP]! >>> 0) + delta;
    let hi = c.rh[RSP]!;
    if (lo < 0) { lo += TWO32; hi = (hi - 1) | 0; } else if (lo >= TWO32) { lo -= TWO32; hi = (hi + 1) | 0; }
    if ((hi >> 15) !== (hi >> 31)) throw new CpuFault(SS_VEC, 0);
    return (hi & 0xffff) * TWO32 + lo;
  }
  if (c.stackSize === 4) return c.segAddr(SS, ((c.rl[RSP]! >>> 0) + delta) >>> 0, size);
  return c.segAddr(SS, ((c.rl[RSP]! & 0xffff) + delta) & 0xffff, size);
}

/** RSP += delta at the current stack width. */
export function adjustSp(c: Cpu, delta: number): void {
  if (c.stackSize === 8) {
    let lo = (c.rl[RSP]! >>> 0) + delta;
    let hi = c.rh[RSP]!;
    if (lo < 0) { lo += TWO32; hi = (hi - 1) | 0; } else if (lo >= TWO32) { lo -= TWO32; hi = (hi + 1) | 0; }
    c.rl[RSP] = lo | 0;
    c.rh[RSP] = hi;
  } else if (c.stackSize === 4) {
    c.rl[RSP] = (c.rl[RSP]! + delta) | 0;
  } else {
    c.rl[RSP] = (c.rl[RSP]! & ~0xffff) | ((c.rl[RSP]! + delta) & 0xffff);
  }
}

export function push(c: Cpu, size: number, lo: number, hi = 0): void {
  const la = stackAddr(c, -size, size);
  writeMem(c, la, size, lo, hi);
  adjustSp(c, -size);
}

/** Pops `size` bytes; returns lo (hi in c.hi for size 8). */
export function pop(c: Cpu, size: number): number {
  const la = stackAddr(c, 0, size);
  const v = readMem(c, la, size);
  adjustSp(c, size);
  return v;
}

/** Reads the stack at RSP + offset without popping. */
export function peek(c: Cpu, offset: number, size: number): number {
  return readMem(c, stackAddr(c, offset, size), size);
}
