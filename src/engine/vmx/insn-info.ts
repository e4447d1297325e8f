// The VM-exit instruction-information field and the exit qualification of
// instructions with a memory operand (SDM vol. 3, "VM-Exit Instruction
// Information", tables for INS/OUTS, INVEPT/INVVPID, LIDT/LGDT/SIDT/SGDT,
// LLDT/LTR/SLDT/STR, VMCLEAR/VMPTRLD/VMPTRST/VMXON and VMREAD/VMWRITE),
// computed once per instruction at compile time from the decoded operands.
//
// For a memory operand the exit qualification is its displacement,
// sign-extended to 64 bits (RIP-relative: the displacement relative to the
// next instruction, with the base register reported invalid).

import { Register, OpKind, type Instruction } from 'iced-x86';
import { regInfo } from '../x86/regs';
import { addressSize } from '../x86/operands';

export interface MemInfo { info: number; dispLo: number; dispHi: number }

/** Bits 1:0, 9:7, 17:15, 21:18, 22, 26:23, 27 for the instruction's memory operand; displacement. */
export function memoryInfo(ins: Instruction, bits: 16 | 32 | 64): MemInfo {
  const asz = addressSize(ins, bits);
  let info = (asz === 16 ? 0 : asz === 32 ? 1 : 2) << 7;
  const scale = ins.memoryIndexScale;
  info |= (scale === 8 ? 3 : scale === 4 ? 2 : scale === 2 ? 1 : 0);
  const seg = regInfo(ins.memorySegment);
  info |= (seg.kind === 'seg' ? seg.index : 3) << 15;
  const idx = ins.memoryIndex !== Register.None ? regInfo(ins.memoryIndex) : undefined;
  info |= idx && idx.kind === 'gpr' ? idx.index << 18 : 1 << 22;
  const base = ins.memoryBase !== Register.None ? regInfo(ins.memoryBase) : undefined;
  info |= base && base.kind === 'gpr' ? base.index << 23 : 1 << 27;
  let disp: bigint;
  if (ins.isIpRelMemoryOperand) disp = BigInt.asIntN(64, ins.memoryDisplacementU64 - ins.nextIP);
  else if (asz === 64) disp = BigInt.asIntN(64, ins.memoryDisplacementU64);
  else disp = BigInt.asIntN(asz, ins.memoryDisplacementU64); // sign-extended from the address size
  const u = BigInt.asUintN(64, disp);
  return { info, dispLo: Number(u & 0xffffffffn) | 0, dispHi: Number(u >> 32n) | 0 };
}

/** A general register operand's number (0-15). */
export function gprIndex(ins: Instruction, n: number): number {
  return regInfo(ins.opRegister(n)).index;
}

export function isMemory(ins: Instruction, n: number): boolean {
  return ins.opKind(n) === OpKind.Memory;
}
