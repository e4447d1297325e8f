// Register numbering used throughout the engine, and the map from iced-x86's
// Register enum to it. General registers are indices 0..15 into the vCPU's
// int32 lo/hi arrays; segment registers 0..5 in the SDM's encoding order.

import { Register } from 'iced-x86';

export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', 'ldtr', 'tr'] as const;

/** What an iced Register is to the engine. */
export interface RegInfo {
  kind: 'gpr' | 'seg' | 'cr' | 'dr' | 'xmm' | 'st' | 'mm' | 'rip' | 'other';
  /** gpr: 0..15; seg: 0..5; cr/dr/xmm/st/mm: their number. */
  index: number;
  /** Size in bytes (gpr: 1, 2, 4, 8). */
  size: number;
  /** AH, CH, DH, BH: bits 15:8 of registers 0..3. */
  high8: boolean;
}

const table: RegInfo[] = [];

function build(): void {
  const names = Object.keys(Register).filter((k) => Number.isNaN(Number(k)));
  const gpr64 = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
  const gpr32 = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI', 'R8D', 'R9D', 'R10D', 'R11D', 'R12D', 'R13D', 'R14D', 'R15D'];
  const gpr16 = ['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI', 'R8W', 'R9W', 'R10W', 'R11W', 'R12W', 'R13W', 'R14W', 'R15W'];
  const gpr8 = ['AL', 'CL', 'DL', 'BL', 'SPL', 'BPL', 'SIL', 'DIL', 'R8L', 'R9L', 'R10L', 'R11L', 'R12L', 'R13L', 'R14L', 'R15L'];
  const high = ['AH', 'CH', 'DH', 'BH'];
  const segs = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
  for (const name of names) {
    const v = (Register as unknown as Record<string, number>)[name]!;
    let info: RegInfo = { kind: 'other', index: 0, size: 0, high8: false };
    let i: number;
    if ((i = gpr64.indexOf(name)) >= 0) info = { kind: 'gpr', index: i, size: 8, high8: false };
    else if ((i = gpr32.indexOf(name)) >= 0) info = { kind: 'gpr', index: i, size: 4, high8: false };
    else if ((i = gpr16.indexOf(name)) >= 0) info = { kind: 'gpr', index: i, size: 2, high8: false };
    else if ((i = gpr8.indexOf(name)) >= 0) info = { kind: 'gpr', index: i, size: 1, high8: false };
    else if ((i = high.indexOf(name)) >= 0) info = { kind: 'gpr', index: i, size: 1, high8: true };
    else if ((i = segs.indexOf(name)) >= 0) info = { kind: 'seg', index: i, size: 2, high8: false };
    else if (/^CR\d+$/.test(name)) info = { kind: 'cr', index: Number(name.slice(2)), size: 8, high8: false };
    else if (/^DR\d+$/.test(name)) info = { kind: 'dr', index: Number(name.slice(2)), size: 8, high8: false };
    else if (/^XMM\d+$/.test(name)) info = { kind: 'xmm', index: Number(name.slice(3)), size: 16, high8: false };
    else if (/^ST\d$/.test(name)) info = { kind: 'st', index: Number(name.slice(2)), size: 10, high8: false };
    else if (/^MM\d$/.test(name)) info = { kind: 'mm', index: Number(name.slice(2)), size: 8, high8: false };
    else if (name === 'RIP' || name === 'EIP') info = { kind: 'rip', index: 0, size: name === 'RIP' ? 8 : 4, high8: false };
    table[v] = info;
  }
}
build();

export function regInfo(r: number): RegInfo {
  return table[r] ?? { kind: 'other', index: 0, size: 0, high8: false };
}
