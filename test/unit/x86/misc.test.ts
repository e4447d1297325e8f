// Miscellaneous and atomic integer instructions (exec/misc.ts, atomic.ts):
// SETcc and CMOVcc for every condition, BSWAP (including the undefined 16-bit
// form), the flag instructions, LAHF/SAHF, XLAT, CMPXCHG at every size
// (register and memory, success and failure, which registers get written),
// CMPXCHG8B/16B, XADD, MOVBE and CRC32 (CPUID-gated). Table expectations were
// recorded under QEMU 7.2 TCG (-cpu max for the gated extensions); the
// CMPXCHG register effects also match the AMD host CPU.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { observe, expectedOf, runInt, DATA_ADDR, type IntCase } from '../../support/int-harness';
import { intFeatures } from '../../../src/engine/x86/exec/intutil';

const cases: IntCase[] = [
  { name: "setcc, all 16 conditions, flags 0", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x0, mem: '00010001000100010001000100010001' } },
  { name: "setcc, all 16 conditions, flags 1", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x1, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x1, mem: '00010100000101000001000100010001' } },
  { name: "setcc, all 16 conditions, flags 4", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x4, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x4, mem: '00010001000100010001010000010001' } },
  { name: "setcc, all 16 conditions, flags 40", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x40, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x40, mem: '00010001010001000001000100010100' } },
  { name: "setcc, all 16 conditions, flags 80", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x80, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x80, mem: '00010001000100010100000101000100' } },
  { name: "setcc, all 16 conditions, flags 800", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x800, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x800, mem: '01000001000100010001000101000100' } },
  { name: "setcc, all 16 conditions, flags 880", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x880, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x880, mem: '01000001000100010100000100010001' } },
  { name: "setcc, all 16 conditions, flags 8d5", code: "seto byte ptr [rbx+0]\nsetno byte ptr [rbx+1]\nsetb byte ptr [rbx+2]\nsetae byte ptr [rbx+3]\nsete byte ptr [rbx+4]\nsetne byte ptr [rbx+5]\nsetbe byte ptr [rbx+6]\nseta byte ptr [rbx+7]\nsets byte ptr [rbx+8]\nsetns byte ptr [rbx+9]\nsetp byte ptr [rbx+10]\nsetnp byte ptr [rbx+11]\nsetl byte ptr [rbx+12]\nsetge byte ptr [rbx+13]\nsetle byte ptr [rbx+14]\nsetg byte ptr [rbx+15]", regs: { rbx: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d5, mem: '01000100010001000100010000010100' } },
  { name: "setcc into AH and SIL", code: "setc ah\nsetnc sil", regs: { rax: 0xffffn, rsi: 0xffffn }, flags: 0x1, expect: { regs: { rax: 0x1ffn, rsi: 0xff00n }, flags: 0x1 } },
  { name: "cmove, ZF=1: 16/32/64-bit", code: "cmove ax, cx\ncmove ebx, ecx\ncmove rdx, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rbx: 0xaaaaaaaabbbbbbbbn, rdx: 0xaaaaaaaabbbbbbbbn, rcx: 0x1111111122222222n }, flags: 0x40, expect: { regs: { rax: 0xaaaaaaaabbbb2222n, rbx: 0x22222222n, rcx: 0x1111111122222222n, rdx: 0x1111111122222222n }, flags: 0x40 } },
  { name: "cmove, ZF=0: 16/32/64-bit", code: "cmove ax, cx\ncmove ebx, ecx\ncmove rdx, rcx", regs: { rax: 0xaaaaaaaabbbbbbbbn, rbx: 0xaaaaaaaabbbbbbbbn, rdx: 0xaaaaaaaabbbbbbbbn, rcx: 0x1111111122222222n }, expect: { regs: { rax: 0xaaaaaaaabbbbbbbbn, rbx: 0xbbbbbbbbn, rcx: 0x1111111122222222n, rdx: 0xaaaaaaaabbbbbbbbn }, flags: 0x0 } },
  { name: "cmovl from memory", code: "cmovl eax, dword ptr [rbx+4]\ncmovge ecx, dword ptr [rbx+8]", regs: { rax: 0xaaaaaaaabbbbbbbbn, rcx: 0xaaaaaaaabbbbbbbbn, rbx: 'scratch' }, flags: 0x800, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xee9c49fn, rcx: 0xbbbbbbbbn }, flags: 0x800, mem: '' } },
  { name: "bswap eax", code: "bswap eax", regs: { rax: 0x1122334455667788n, r9: 0x102030405060708n }, expect: { regs: { rax: 0x88776655n, r9: 0x102030405060708n }, flags: 0x0 } },
  { name: "bswap rax", code: "bswap rax", regs: { rax: 0x1122334455667788n, r9: 0x102030405060708n }, expect: { regs: { rax: 0x8877665544332211n, r9: 0x102030405060708n }, flags: 0x0 } },
  { name: "bswap r9d", code: "bswap r9d", regs: { rax: 0x1122334455667788n, r9: 0x102030405060708n }, expect: { regs: { rax: 0x1122334455667788n, r9: 0x8070605n }, flags: 0x0 } },
  { name: "bswap r9", code: "bswap r9", regs: { rax: 0x1122334455667788n, r9: 0x102030405060708n }, expect: { regs: { rax: 0x1122334455667788n, r9: 0x807060504030201n }, flags: 0x0 } },
  { name: "bswap ax (16-bit, undefined: as QEMU)", code: ".byte 0x66, 0x0f, 0xc8", regs: { rax: 0x1122334455667788n }, expect: { regs: { rax: 0x88776655n }, flags: 0x0 } },
  { name: "clc flags 0", code: "clc", expect: { regs: {  }, flags: 0x0 } },
  { name: "clc flags cd5", code: "clc", flags: 0xcd5, expect: { regs: {  }, flags: 0xcd4 } },
  { name: "stc flags 0", code: "stc", expect: { regs: {  }, flags: 0x1 } },
  { name: "stc flags cd5", code: "stc", flags: 0xcd5, expect: { regs: {  }, flags: 0xcd5 } },
  { name: "cmc flags 0", code: "cmc", expect: { regs: {  }, flags: 0x1 } },
  { name: "cmc flags cd5", code: "cmc", flags: 0xcd5, expect: { regs: {  }, flags: 0xcd4 } },
  { name: "cld flags 0", code: "cld", expect: { regs: {  }, flags: 0x0 } },
  { name: "cld flags cd5", code: "cld", flags: 0xcd5, expect: { regs: {  }, flags: 0x8d5 } },
  { name: "std flags 0", code: "std", expect: { regs: {  }, flags: 0x400 } },
  { name: "std flags cd5", code: "std", flags: 0xcd5, expect: { regs: {  }, flags: 0xcd5 } },
  { name: "lahf", code: "lahf", regs: { rax: 0xffffffffffff0000n }, flags: 0x8d5, expect: { regs: { rax: 0xffffffffffffd700n }, flags: 0x8d5 } },
  { name: "lahf all clear", code: "lahf", regs: { rax: 0xffffn }, flags: 0x800, expect: { regs: { rax: 0x2ffn }, flags: 0x800 } },
  { name: "sahf sets the five flags, keeps OF", code: "sahf", regs: { rax: 0xff00n }, flags: 0x800, expect: { regs: { rax: 0xff00n }, flags: 0x8d5 } },
  { name: "sahf clears them", code: "sahf", regs: { rax: 0x2a00n }, flags: 0x8d5, expect: { regs: { rax: 0x2a00n }, flags: 0x800 } },
  { name: "xlat", code: "xlatb", regs: { rbx: 'scratch', rax: 0x12345678ffffff05n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x12345678ffffffc4n, rbx: 'scratch+0' }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "xlat: AL is unsigned", code: "xlatb", regs: { rbx: 'scratch', rax: 0x2an }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1dn }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "xlat with 32-bit addressing", code: ".byte 0x67, 0xd7", regs: { rbx: 'scratch', rax: 0x7n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xen }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "xlat in 32-bit mode", mode: 'prot32', code: "xlatb", regs: { rbx: 'scratch', rax: 0x12345603n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1234567an }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126' } },
  { name: "cmpxchg bl,cl equal", code: "cmpxchg bl, cl", regs: { rax: 0xcccccccc00000080n, rbx: 0xdddddddd00000080n, rcx: 0xeeeeeeee00000007n }, flags: 0x8d5, expect: { regs: { rax: 0xcccccccc00000080n, rbx: 0xdddddddd00000007n, rcx: 0xeeeeeeee00000007n }, flags: 0x44 } },
  { name: "cmpxchg bl,cl not equal", code: "cmpxchg bl, cl", regs: { rax: 0xcccccccc00000080n, rbx: 0xdddddddd00000040n, rcx: 0xeeeeeeee00000007n }, expect: { regs: { rax: 0xcccccccc00000040n, rbx: 0xdddddddd00000040n, rcx: 0xeeeeeeee00000007n }, flags: 0x800 } },
  { name: "xadd bl,cl", code: "xadd bl, cl", regs: { rbx: 0xcccccccc00000080n, rcx: 0xeeeeeeee00000081n }, expect: { regs: { rbx: 0xcccccccc00000001n, rcx: 0xeeeeeeee00000080n }, flags: 0x801 } },
  { name: "cmpxchg [mem],cl not equal: written back, accumulator loaded", code: "cmpxchg [rbx+8], cl", regs: { rax: 0xcccccccc00000080n, rbx: 'scratch', rcx: 0xeeeeeeee00000007n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xcccccccc00000033n, rcx: 0xeeeeeeee00000007n }, flags: 0x814, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "xadd [mem],cl", code: "xadd [rbx+8], cl", regs: { rbx: 'scratch', rcx: 0x12b4n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rcx: 0x1233n }, flags: 0x84, mem: '0b30557a9fc4e90ee7587da2c7ec1136' } },
  { name: "cmpxchg bx,cx equal", code: "cmpxchg bx, cx", regs: { rax: 0xcccccccc00008000n, rbx: 0xdddddddd00008000n, rcx: 0xeeeeeeee00000007n }, flags: 0x8d5, expect: { regs: { rax: 0xcccccccc00008000n, rbx: 0xdddddddd00000007n, rcx: 0xeeeeeeee00000007n }, flags: 0x44 } },
  { name: "cmpxchg bx,cx not equal", code: "cmpxchg bx, cx", regs: { rax: 0xcccccccc00008000n, rbx: 0xdddddddd00004000n, rcx: 0xeeeeeeee00000007n }, expect: { regs: { rax: 0xcccccccc00004000n, rbx: 0xdddddddd00004000n, rcx: 0xeeeeeeee00000007n }, flags: 0x804 } },
  { name: "xadd bx,cx", code: "xadd bx, cx", regs: { rbx: 0xcccccccc00008000n, rcx: 0xeeeeeeee00008001n }, expect: { regs: { rbx: 0xcccccccc00000001n, rcx: 0xeeeeeeee00008000n }, flags: 0x801 } },
  { name: "cmpxchg [mem],cx not equal: written back, accumulator loaded", code: "cmpxchg [rbx+8], cx", regs: { rax: 0xcccccccc00008000n, rbx: 'scratch', rcx: 0xeeeeeeee00000007n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xcccccccc00005833n, rcx: 0xeeeeeeee00000007n }, flags: 0x810, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "xadd [mem],cx", code: "xadd [rbx+8], cx", regs: { rbx: 'scratch', rcx: 0x9234n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rcx: 0x5833n }, flags: 0x80, mem: '0b30557a9fc4e90e67ea7da2c7ec1136' } },
  { name: "cmpxchg ebx,ecx equal", code: "cmpxchg ebx, ecx", regs: { rax: 0xcccccccc80000000n, rbx: 0xdddddddd80000000n, rcx: 0xeeeeeeee00000007n }, flags: 0x8d5, expect: { regs: { rax: 0xcccccccc80000000n, rbx: 0x7n, rcx: 0xeeeeeeee00000007n }, flags: 0x44 } },
  { name: "cmpxchg ebx,ecx not equal", code: "cmpxchg ebx, ecx", regs: { rax: 0xcccccccc80000000n, rbx: 0xdddddddd40000000n, rcx: 0xeeeeeeee00000007n }, expect: { regs: { rax: 0x40000000n, rbx: 0xdddddddd40000000n, rcx: 0xeeeeeeee00000007n }, flags: 0x804 } },
  { name: "xadd ebx,ecx", code: "xadd ebx, ecx", regs: { rbx: 0xcccccccc80000000n, rcx: 0xeeeeeeee80000001n }, expect: { regs: { rbx: 0x1n, rcx: 0x80000000n }, flags: 0x801 } },
  { name: "cmpxchg [mem],ecx not equal: written back, accumulator loaded", code: "cmpxchg [rbx+8], ecx", regs: { rax: 0xcccccccc80000000n, rbx: 'scratch', rcx: 0xeeeeeeee00000007n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xa27d5833n, rcx: 0xeeeeeeee00000007n }, flags: 0x91, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "xadd [mem],ecx", code: "xadd [rbx+8], ecx", regs: { rbx: 'scratch', rcx: 0x80001234n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rcx: 0xa27d5833n }, flags: 0x801, mem: '0b30557a9fc4e90e676a7d22c7ec1136' } },
  { name: "cmpxchg rbx,rcx equal", code: "cmpxchg rbx, rcx", regs: { rax: 0x8000000000000000n, rbx: 0x8000000000000000n, rcx: 0xeeeeeeee00000007n }, flags: 0x8d5, expect: { regs: { rax: 0x8000000000000000n, rbx: 0xeeeeeeee00000007n, rcx: 0xeeeeeeee00000007n }, flags: 0x44 } },
  { name: "cmpxchg rbx,rcx not equal", code: "cmpxchg rbx, rcx", regs: { rax: 0x8000000000000000n, rbx: 0x4000000000000000n, rcx: 0xeeeeeeee00000007n }, expect: { regs: { rax: 0x4000000000000000n, rbx: 0x4000000000000000n, rcx: 0xeeeeeeee00000007n }, flags: 0x804 } },
  { name: "xadd rbx,rcx", code: "xadd rbx, rcx", regs: { rbx: 0x8000000000000000n, rcx: 0xeeeeeeee00000001n }, expect: { regs: { rbx: 0x6eeeeeee00000001n, rcx: 0x8000000000000000n }, flags: 0x801 } },
  { name: "cmpxchg [mem],rcx not equal: written back, accumulator loaded", code: "cmpxchg [rbx+8], rcx", regs: { rax: 0x8000000000000000n, rbx: 'scratch', rcx: 0xeeeeeeee00000007n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x3611ecc7a27d5833n, rcx: 0xeeeeeeee00000007n }, flags: 0x810, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "xadd [mem],rcx", code: "xadd [rbx+8], rcx", regs: { rbx: 'scratch', rcx: 0x8000000000001234n }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rcx: 0x3611ecc7a27d5833n }, flags: 0x80, mem: '0b30557a9fc4e90e676a7da2c7ec11b6' } },
  { name: "cmpxchg [mem],ecx equal: accumulator upper half kept", code: "cmpxchg [rbx+8], ecx", regs: { rax: 0xcccccccca27d5833n, rbx: 'scratch', rcx: 0x7n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xcccccccca27d5833n, rcx: 0x7n }, flags: 0x44, mem: '0b30557a9fc4e90e07000000c7ec1136' } },
  { name: "xadd eax,eax", code: "xadd eax, eax", regs: { rax: 0xcccccccc80000001n }, expect: { regs: { rax: 0x2n }, flags: 0x801 } },
  { name: "cmpxchg ch,ah", code: "cmpxchg ch, ah", regs: { rax: 0x1234n, rcx: 0x5600n }, expect: { regs: { rax: 0x1256n, rcx: 0x5600n }, flags: 0x95 } },
  { name: "cmpxchg8b equal", code: "cmpxchg8b [rsi+8]", regs: { rax: 0xffffffffa27d5833n, rdx: 0xffffffff3611ecc7n, rbx: 0x11n, rcx: 0x22n, rsi: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xffffffffa27d5833n, rdx: 0xffffffff3611ecc7n }, flags: 0x8d5, mem: '0b30557a9fc4e90e1100000022000000' } },
  { name: "cmpxchg8b not equal", code: "cmpxchg8b [rsi+8]", regs: { rax: 0xffffffff00000001n, rdx: 0xffffffff00000002n, rbx: 0x11n, rcx: 0x22n, rsi: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xa27d5833n, rdx: 0x3611ecc7n }, flags: 0x895, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "cmpxchg8b in 32-bit mode", mode: 'prot32', code: "cmpxchg8b [esi+8]", regs: { rax: 0xa27d5833n, rdx: 0x3611ecc7n, rbx: 0x11n, rcx: 0x22n, rsi: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xa27d5833n, rdx: 0x3611ecc7n }, flags: 0x40, mem: '0b30557a9fc4e90e1100000022000000' } },
];

/** Needs MOVBE, SSE4.2 (CRC32) and CMPXCHG16B advertised. */
const extCases: IntCase[] = [
  { name: "movbe ax, m", code: "movbe ax, [rbx+3]", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1122334455667a9fn }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "movbe m, ax", code: "movbe [rbx+3], ax", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1122334455667788n }, flags: 0x0, mem: '0b30557788c4e90e33587da2c7ec1136' } },
  { name: "movbe eax, m", code: "movbe eax, [rbx+3]", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x7a9fc4e9n }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "movbe m, eax", code: "movbe [rbx+3], eax", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1122334455667788n }, flags: 0x0, mem: '0b3055556677880e33587da2c7ec1136' } },
  { name: "movbe rax, m", code: "movbe rax, [rbx+3]", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x7a9fc4e90e33587dn }, flags: 0x0, mem: '0b30557a9fc4e90e33587da2c7ec1136' } },
  { name: "movbe m, rax", code: "movbe [rbx+3], rax", regs: { rbx: 'scratch', rax: 0x1122334455667788n }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1122334455667788n }, flags: 0x0, mem: '0b30551122334455667788a2c7ec1136' } },
  { name: "crc32 eax,cl", code: "crc32 eax, cl", regs: { rax: 0xaaaaaaaa12345678n, rcx: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0x83d57e1n }, flags: 0x8d5 } },
  { name: "crc32 eax,cx", code: "crc32 eax, cx", regs: { rax: 0xaaaaaaaa12345678n, rcx: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0x6ef848c2n }, flags: 0x8d5 } },
  { name: "crc32 eax,ecx", code: "crc32 eax, ecx", regs: { rax: 0xaaaaaaaa12345678n, rcx: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0x796ab9a9n }, flags: 0x8d5 } },
  { name: "crc32 rax,rcx", code: "crc32 rax, rcx", regs: { rax: 0xaaaaaaaa12345678n, rcx: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0xe0c64629n }, flags: 0x8d5 } },
  { name: "crc32 rax,cl", code: "crc32 rax, cl", regs: { rax: 0xaaaaaaaa12345678n, rcx: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0x83d57e1n }, flags: 0x8d5 } },
  { name: "crc32 over memory", code: "crc32 eax, dword ptr [rbx]\ncrc32 eax, byte ptr [rbx+5]\ncrc32 rax, qword ptr [rbx+8]", regs: { rax: 0xffffffffn, rbx: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0xdf090bb9n }, flags: 0x0, mem: '' } },
  { name: "cmpxchg16b equal", code: "cmpxchg16b [rsi+16]", regs: { rax: 0x5e3914efcaa5805bn, rdx: 0x86613c17f2cda883n, rbx: 0x11n, rcx: 0x22n, rsi: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x5e3914efcaa5805bn, rdx: 0x86613c17f2cda883n }, flags: 0x40, mem: '0b30557a9fc4e90e33587da2c7ec113611000000000000002200000000000000abd0f51a3f6489aed3f81d42678cb1d6' } },
  { name: "cmpxchg16b not equal", code: "cmpxchg16b [rsi+16]", regs: { rax: 0x1n, rdx: 0x2n, rbx: 0x11n, rcx: 0x22n, rsi: 'scratch' }, flags: 0x8d5, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x5e3914efcaa5805bn, rdx: 0x86613c17f2cda883n }, flags: 0x895, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6' } },
  { name: "cmpxchg16b misaligned: #GP", code: "cmpxchg16b [rsi+8]", regs: { rax: 0x1n, rdx: 0x2n, rsi: 'scratch' }, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6fb20456a8fb4d9fe23486d92b7dc0126', expect: { regs: { rax: 0x1n, rdx: 0x2n }, flags: 0x0, vector: 13, mem: '0b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678cb1d6' } },
];

describe('miscellaneous and atomic instructions', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('CMOVcc reads a memory source even when the condition is false', () => {
    // A non-canonical source address faults whatever the condition.
    const r = runInt('mov rbx, 0x8000000000000000\ncmovz eax, dword ptr [rbx]\nhlt', 'long64', { flags: 0 });
    expect(r.vector).toBe(13);
  });

  it('works in real mode with 16-bit registers', () => {
    const r = runInt('cmp ax, bx\nsetb cl\ncmovb dx, bx\nxadd ax, bx\nhlt', 'real', {
      regs: { rax: 0xffff_0001n, rbx: 0xeeee_0002n, rcx: 0xffn, rdx: 0x1234_5678n },
    });
    expect(r.reg('rcx')).toBe(1n);
    expect(r.reg('rdx')).toBe(0x1234_0002n);
    expect(r.reg('rax')).toBe(0xffff_0003n);
    expect(r.reg('rbx')).toBe(0xeeee_0001n);
  });

  it('CMPXCHG to a read-only page faults without touching the accumulator or flags', () => {
    // Identity map, 2 MiB pages: clear R/W of the PDE covering DATA_ADDR (the second 2 MiB page);
    // CR0.WP makes that bind ring 0 too.
    const r = runInt('cmpxchg dword ptr [rbx], ecx\nhlt', 'long64', {
      regs: { rax: 5n, rbx: BigInt(DATA_ADDR), rcx: 7n }, flags: 0x8d5,
      setup: (cpu) => { const pde = 0x7000 + 0x2000 + 8; cpu.mem.write32(pde, cpu.mem.read32(pde) & ~2); cpu.cr0 |= 0x10000; cpu.flushTlb(true); },
    });
    expect(r.vector).toBe(14);
    expect(r.reg('rax')).toBe(5n);
    expect(r.flags & 0x8d5).toBe(0x8d5);
  });
});

describe('CPUID-gated extensions, advertised', () => {
  const saved = { ...intFeatures };
  beforeAll(() => { intFeatures.movbe = true; intFeatures.sse42 = true; intFeatures.cx16 = true; });
  afterAll(() => { Object.assign(intFeatures, saved); });
  it.each(extCases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });
});

describe('CPUID-gated extensions, not advertised', () => {
  const saved = { ...intFeatures };
  beforeAll(() => { intFeatures.movbe = false; intFeatures.sse42 = false; intFeatures.cx16 = false; intFeatures.lahf64 = false; });
  afterAll(() => { Object.assign(intFeatures, saved); });
  it.each([
    ['movbe eax, [rbx]'], ['crc32 eax, cl'], ['cmpxchg16b [rbx]'], ['lahf'], ['sahf'],
  ])('%s is #UD', (code) => {
    const r = runInt(`${code}\nhlt`, 'long64', { regs: { rbx: BigInt(DATA_ADDR) } });
    expect(r.vector).toBe(6);
  });
  it('LAHF and SAHF still work outside 64-bit mode', () => {
    const r = runInt('lahf\nhlt', 'prot32', { flags: 0x41 });
    expect(r.vector).toBe(-1);
    expect(r.reg('rax')).toBe(0x4300n);
  });
});
