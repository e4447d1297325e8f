// Bit instructions (exec/bitops.ts): BT/BTS/BTR/BTC with register and
// immediate offsets (masking, the signed bit-string addressing of memory
// forms, partial and zero-extending writes), BSF/BSR (source 0 keeps the
// destination), TZCNT/LZCNT/POPCNT and their CPUID gating. Table expectations
// were recorded under QEMU 7.2 TCG (-cpu max for TZCNT/LZCNT/POPCNT).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { observe, expectedOf, runInt, type IntCase } from '../../support/int-harness';
import { intFeatures } from '../../../src/engine/x86/exec/intutil';

const cases: IntCase[] = [
  { name: "bt eax,ecx: CF = bit, other flags kept", code: "bt eax, ecx", regs: { rax: 0x842100001248ffffn, rcx: 0x3n }, flags: 0x8d4, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0x3n }, flags: 0x8d5 } },
  { name: "bt eax,ecx: offset taken mod 32", code: "bt eax, ecx", regs: { rax: 0x842100001248ffffn, rcx: 0x23n }, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0x23n }, flags: 0x1 } },
  { name: "bt rax,rcx: bit 63", code: "bt rax, rcx", regs: { rax: 0x842100001248ffffn, rcx: 0x3fn }, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0x3fn }, flags: 0x1 } },
  { name: "bt rax,rcx: offset mod 64", code: "bt rax, rcx", regs: { rax: 0x842100001248ffffn, rcx: 0xffffffffffffffffn }, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0xffffffffffffffffn }, flags: 0x1 } },
  { name: "bt ax,cx: offset mod 16", code: "bt ax, cx", regs: { rax: 0x842100001248ffffn, rcx: 0x1fn }, flags: 0x8d5, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0x1fn }, flags: 0x8d5 } },
  { name: "bt eax,imm does not touch the upper half", code: "bt eax, 31", regs: { rax: 0x842100001248ffffn }, expect: { regs: { rax: 0x842100001248ffffn, rbx: 0x0n, rcx: 0x0n }, flags: 0x0 } },
  { name: "bts eax,ecx: 32-bit write zero-extends", code: "bts eax, ecx", regs: { rax: 0x842100001248ffffn, rcx: 0x14n }, expect: { regs: { rax: 0x1258ffffn, rbx: 0x0n, rcx: 0x14n }, flags: 0x0 } },
  { name: "bts rax,40", code: "bts rax, 40", regs: { rax: 0x842100001248ffffn }, expect: { regs: { rax: 0x842101001248ffffn, rbx: 0x0n, rcx: 0x0n }, flags: 0x0 } },
  { name: "btr rax,rcx bit 63", code: "btr rax, rcx", regs: { rax: 0x842100001248ffffn, rcx: 0x3fn }, expect: { regs: { rax: 0x42100001248ffffn, rbx: 0x0n, rcx: 0x3fn }, flags: 0x1 } },
  { name: "btr ax,3 keeps bits 63:16", code: "btr ax, 3", regs: { rax: 0x842100001248ffffn }, expect: { regs: { rax: 0x842100001248fff7n, rbx: 0x0n, rcx: 0x0n }, flags: 0x1 } },
  { name: "btc rax,32", code: "btc rax, 32", regs: { rax: 0x842100001248ffffn }, flags: 0x8d5, expect: { regs: { rax: 0x842100011248ffffn, rbx: 0x0n, rcx: 0x0n }, flags: 0x8d4 } },
  { name: "btc bx,cx", code: "btc bx, cx", regs: { rbx: 0xaaaa5555n, rcx: 0x10n }, expect: { regs: { rax: 0x0n, rbx: 0xaaaa5554n, rcx: 0x10n }, flags: 0x1 } },
  { name: "bsf eax,ecx v=80000000", code: "bsf eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x80000000n }, flags: 0x8d5, expect: { regs: { rax: 0x1fn, rbx: 0x0n, rcx: 0x80000000n }, flags: 0x84 } },
  { name: "bsf rax,rcx v=10000000000", code: "bsf rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x10000000000n }, flags: 0x8d5, expect: { regs: { rax: 0x28n, rbx: 0x0n, rcx: 0x10000000000n }, flags: 0x4 } },
  { name: "bsf ax,cx v=100", code: "bsf ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x100n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbb0008n, rbx: 0x0n, rcx: 0x100n }, flags: 0x4 } },
  { name: "bsr eax,ecx v=10001", code: "bsr eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x10001n }, flags: 0x8d5, expect: { regs: { rax: 0x10n, rbx: 0x0n, rcx: 0x10001n }, flags: 0x0 } },
  { name: "bsr rax,rcx v=8000000000000001", code: "bsr rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x8000000000000001n }, flags: 0x8d5, expect: { regs: { rax: 0x3fn, rbx: 0x0n, rcx: 0x8000000000000001n }, flags: 0x80 } },
  { name: "bsr ax,cx v=ff", code: "bsr ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffn }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbb0007n, rbx: 0x0n, rcx: 0xffn }, flags: 0x4 } },
  { name: "bsf rax,rcx v=80", code: "bsf rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x80n }, flags: 0x8d5, expect: { regs: { rax: 0x7n, rbx: 0x0n, rcx: 0x80n }, flags: 0x0 } },
  { name: "bsf eax,ecx source 0: ZF, value kept, upper half cleared", code: "bsf eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, expect: { regs: { rax: 0xbbbbbbbbn, rbx: 0x0n, rcx: 0x0n }, flags: 0x44 } },
  { name: "bsr ax,cx source 0: ZF, register untouched", code: "bsr ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffff0000n }, flags: 0x801, expect: { regs: { rax: 0xaaaaaaaabbbbbbbbn, rbx: 0x0n, rcx: 0xffff0000n }, flags: 0x44 } },
  { name: "bsf rax,rcx source 0", code: "bsf rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbbbbbbn, rbx: 0x0n, rcx: 0x0n }, flags: 0x44 } },
  { name: "bt dword [rbx+32],ecx offset 7", code: "bt dword ptr [rbx+32], ecx", regs: { rbx: 'scratch', rcx: 0x7n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0x7n }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bt dword [rbx+32],ecx offset 100", code: "bt dword ptr [rbx+32], ecx", regs: { rbx: 'scratch', rcx: 0x64n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0x64n }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bt dword [rbx+32],ecx offset -1", code: "bt dword ptr [rbx+32], ecx", regs: { rbx: 'scratch', rcx: 0xffffffffffffffffn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffffffffffffffffn }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bts dword [rbx+32],ecx offset -100", code: "bts dword ptr [rbx+32], ecx", regs: { rbx: 'scratch', rcx: 0xffffffffffffff9cn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffffffffffffff9cn }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5daef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "btr word [rbx+32],cx offset -9", code: "btr word ptr [rbx+32], cx", regs: { rbx: 'scratch', rcx: 0xfffffffffffffff7n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xfffffffffffffff7n }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "btc word [rbx+32],cx offset 200", code: "btc word ptr [rbx+32], cx", regs: { rbx: 'scratch', rcx: 0xc8n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xc8n }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23496d92b7dc0126' } },
  { name: "bts qword [rbx+32],rcx offset 255", code: "bts qword ptr [rbx+32], rcx", regs: { rbx: 'scratch', rcx: 0xffn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffn }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc01a6' } },
  { name: "btr qword [rbx+32],rcx offset -200", code: "btr qword ptr [rbx+32], rcx", regs: { rbx: 'scratch', rcx: 0xffffffffffffff38n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffffffffffffff38n }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "btc qword [rbx+32],rcx offset 63", code: "btc qword ptr [rbx+32], rcx", regs: { rbx: 'scratch', rcx: 0x3fn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0x3fn }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f64892ed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bt word [rbx+32],cx offset 65535", code: "bt word ptr [rbx+32], cx", regs: { rbx: 'scratch', rcx: 0xffffn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffffn }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bt dword [rbx+8],40: immediate offset stays in the operand", code: "bt dword ptr [rbx+8], 40", regs: { rbx: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d4, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bts word [rbx+8],17: immediate offset stays in the operand", code: "bts word ptr [rbx+8], 17", regs: { rbx: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "btr qword [rbx+8],100: immediate offset stays in the operand", code: "btr qword ptr [rbx+8], 100", regs: { rbx: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d4, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "btc dword [rbx+8],31: immediate offset stays in the operand", code: "btc dword ptr [rbx+8], 31", regs: { rbx: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587d22c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bt ecx,[mem] 32-bit mode negative offset", mode: 'prot32', code: "bts dword ptr [ebx+16], ecx", regs: { rbx: 'scratch', rcx: 0xffffffdfn }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0', rcx: 0xffffffdfn }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "bsf eax,[mem]", code: "bsf eax, dword ptr [rbx+4]", regs: { rbx: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x0n }, flags: 0x4, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
];

/** Needs BMI1 (TZCNT), LZCNT and POPCNT advertised. */
const extCases: IntCase[] = [
  { name: "tzcnt eax,ecx v=0", code: "tzcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x20n, rcx: 0x0n }, flags: 0x1 } },
  { name: "tzcnt eax,ecx v=80", code: "tzcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x80n }, flags: 0x8d5, expect: { regs: { rax: 0x7n, rcx: 0x80n }, flags: 0x0 } },
  { name: "tzcnt ax,cx v=0", code: "tzcnt ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbb0010n, rcx: 0x0n }, flags: 0x1 } },
  { name: "tzcnt rax,rcx v=100000000", code: "tzcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x100000000n }, flags: 0x8d5, expect: { regs: { rax: 0x20n, rcx: 0x100000000n }, flags: 0x0 } },
  { name: "tzcnt rax,rcx v=1", code: "tzcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x1n }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rcx: 0x1n }, flags: 0x40 } },
  { name: "lzcnt eax,ecx v=0", code: "lzcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x20n, rcx: 0x0n }, flags: 0x1 } },
  { name: "lzcnt eax,ecx v=1", code: "lzcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x1n }, flags: 0x8d5, expect: { regs: { rax: 0x1fn, rcx: 0x1n }, flags: 0x0 } },
  { name: "lzcnt ax,cx v=100", code: "lzcnt ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x100n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbb0007n, rcx: 0x100n }, flags: 0x0 } },
  { name: "lzcnt rax,rcx v=ffffffff", code: "lzcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffffffffn }, flags: 0x8d5, expect: { regs: { rax: 0x20n, rcx: 0xffffffffn }, flags: 0x0 } },
  { name: "lzcnt rax,rcx v=8000000000000000", code: "lzcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x8000000000000000n }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rcx: 0x8000000000000000n }, flags: 0x40 } },
  { name: "popcnt eax,ecx v=0", code: "popcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rcx: 0x0n }, flags: 0x40 } },
  { name: "popcnt eax,ecx v=ffffffff", code: "popcnt eax, ecx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffffffffn }, flags: 0x8d5, expect: { regs: { rax: 0x20n, rcx: 0xffffffffn }, flags: 0x0 } },
  { name: "popcnt ax,cx v=ffff8001", code: "popcnt ax, cx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffff8001n }, flags: 0x8d5, expect: { regs: { rax: 0xaaaaaaaabbbb0002n, rcx: 0xffff8001n }, flags: 0x0 } },
  { name: "popcnt rax,rcx v=ffffffffffffffff", code: "popcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xffffffffffffffffn }, flags: 0x8d5, expect: { regs: { rax: 0x40n, rcx: 0xffffffffffffffffn }, flags: 0x0 } },
  { name: "popcnt rax,rcx v=8000000100000003", code: "popcnt rax, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0x8000000100000003n }, flags: 0x8d5, expect: { regs: { rax: 0x4n, rcx: 0x8000000100000003n }, flags: 0x0 } },
];

describe('bit instructions', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('BT with a register offset reaches bytes outside the operand, in 16-bit code too', () => {
    // Offset -1 from [bx+4]: the word at bx+2, bit 15.
    const r = runInt('bts word ptr [bx+4], cx\nhlt', 'real', {
      regs: { rbx: 0x8000n, rcx: 0xffffn, rdx: 0n }, flags: 0,
    });
    expect(r.vector).toBe(-1);
    expect(r.flags & 1).toBe(0);
    // Real mode DS = 0: the word at 0x8002 now has bit 15 set.
    expect(r.mem(0x8002, 2)).toEqual(Uint8Array.of(0x00, 0x80));
  });
});

describe('TZCNT, LZCNT, POPCNT with the extensions advertised', () => {
  const saved = { ...intFeatures };
  beforeAll(() => { intFeatures.bmi1 = true; intFeatures.lzcnt = true; intFeatures.popcnt = true; });
  afterAll(() => { Object.assign(intFeatures, saved); });
  it.each(extCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });
});

describe('without the extensions', () => {
  const saved = { ...intFeatures };
  beforeAll(() => { intFeatures.bmi1 = false; intFeatures.lzcnt = false; intFeatures.popcnt = false; });
  afterAll(() => { Object.assign(intFeatures, saved); });

  it('runs TZCNT as BSF and LZCNT as BSR (the F3 prefix is ignored)', () => {
    const r = runInt('tzcnt eax, ecx\nlzcnt ebx, edx\nhlt', 'long64', { regs: { rcx: 0x80n, rdx: 0x80n, rax: 7n, rbx: 7n } });
    expect(r.reg('rax')).toBe(7n); // BSF: index 7 (TZCNT would give 7 too)
    expect(r.reg('rbx')).toBe(7n); // BSR: index 7 (LZCNT would give 24)
    const z = runInt('tzcnt eax, ecx\nhlt', 'long64', { regs: { rcx: 0n, rax: 0x1234n } });
    expect(z.reg('rax')).toBe(0x1234n); // BSF of 0 keeps the destination (TZCNT would give 32)
    expect(z.flags & 0x41).toBe(0x40);
  });

  it('raises #UD for POPCNT', () => {
    const r = runInt('popcnt eax, ecx\nhlt', 'long64', { regs: { rcx: 3n } });
    expect(r.vector).toBe(6);
    expect(r.faultRip).toBe(BigInt(r.codeStart));
  });
});
