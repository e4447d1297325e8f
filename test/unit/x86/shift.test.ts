// Shifts and rotates (exec/shift.ts): every size, CL/immediate/implicit-1
// counts, count 0 and masking, counts beyond 8/16-bit widths, partial and
// zero-extending register writes, 64-bit values across 2^32, memory forms,
// and the undefined flags chosen in shift.ts. Expected values were recorded
// by running each snippet under QEMU 7.2 TCG (qemu-system-x86_64 -accel tcg)
// and agree with the SDM wherever it defines the result.
import { describe, it, expect } from 'vitest';
import { observe, expectedOf, runInt, type IntCase } from '../../support/int-harness';

const cases: IntCase[] = [
  { name: "shl al,1: CF and OF set", code: "shl al, 1", regs: { rax: 0x81n }, expect: { regs: { rax: 0x2n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shl al,1: OF clear when CF = new MSB", code: "shl al, 1", regs: { rax: 0xc0n }, expect: { regs: { rax: 0x80n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x81 } },
  { name: "shl ah,1 writes bits 15:8 only", code: "shl ah, 1", regs: { rax: 0x12348142n }, expect: { regs: { rax: 0x12340242n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shl eax,cl count 0: flags untouched, upper half cleared", code: "shl eax, cl", regs: { rax: 0xffffffff80000001n, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x80000001n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "shl ax,cl count 0 keeps everything", code: "shl ax, cl", regs: { rax: 0xffffffff80000001n, rcx: 0x20n }, flags: 0x8d5, expect: { regs: { rax: 0xffffffff80000001n, rbx: 0x0n, rcx: 0x20n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "shl eax,cl count masked to 5 bits (33 -> 1)", code: "shl eax, cl", regs: { rax: 0xc0000001n, rcx: 0x21n }, expect: { regs: { rax: 0x80000002n, rbx: 0x0n, rcx: 0x21n, rdx: 0x0n }, flags: 0x81 } },
  { name: "shl rax,cl count masked to 6 bits (65 -> 1)", code: "shl rax, cl", regs: { rax: 0xc000000000000001n, rcx: 0x41n }, expect: { regs: { rax: 0x8000000000000002n, rbx: 0x0n, rcx: 0x41n, rdx: 0x0n }, flags: 0x81 } },
  { name: "shl rax,cl count 64 -> 0", code: "shl rax, cl", regs: { rax: 0x8000000000000001n, rcx: 0x40n }, flags: 0x8d5, expect: { regs: { rax: 0x8000000000000001n, rbx: 0x0n, rcx: 0x40n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "shl ax,4 preserves bits 63:16", code: "shl ax, 4", regs: { rax: 0x1122334455667788n }, expect: { regs: { rax: 0x1122334455667880n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shl ax,cl count 16: last bit out into CF", code: "shl ax, cl", regs: { rax: 0x1n, rcx: 0x10n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x10n, rdx: 0x0n }, flags: 0x845 } },
  { name: "shl ax,cl count 17 (beyond width): 0, CF 0", code: "shl ax, cl", regs: { rax: 0xffffn, rcx: 0x11n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x11n, rdx: 0x0n }, flags: 0x44 } },
  { name: "shl al,cl count 8", code: "shl al, cl", regs: { rax: 0x81n, rcx: 0x8n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x8n, rdx: 0x0n }, flags: 0x845 } },
  { name: "shl al,cl count 9", code: "shl al, cl", regs: { rax: 0x81n, rcx: 0x9n }, flags: 0x8d5, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x9n, rdx: 0x0n }, flags: 0x44 } },
  { name: "shl rax,4 crosses 2^32", code: "shl rax, 4", regs: { rax: 0xf000000f0000000n }, expect: { regs: { rax: 0xf000000f00000000n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x884 } },
  { name: "shl rax,cl count 32", code: "shl rax, cl", regs: { rax: 0x123456789abcdef1n, rcx: 0x20n }, expect: { regs: { rax: 0x9abcdef100000000n, rbx: 0x0n, rcx: 0x20n, rdx: 0x0n }, flags: 0x884 } },
  { name: "shl rax,63", code: "shl rax, 63", regs: { rax: 0x3n }, expect: { regs: { rax: 0x8000000000000000n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x85 } },
  { name: "shl eax,31 count>1: OF = CF xor MSB", code: "shl eax, 31", regs: { rax: 0x2n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x845 } },
  { name: "sal is shl", code: "sal ecx, 3", regs: { rcx: 0x30000001n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x80000008n, rdx: 0x0n }, flags: 0x81 } },
  { name: "shr al,1: OF = old MSB", code: "shr al, 1", regs: { rax: 0x81n }, expect: { regs: { rax: 0x40n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shr eax,cl count 2: OF 0", code: "shr eax, cl", regs: { rax: 0x80000003n, rcx: 0x2n }, expect: { regs: { rax: 0x20000000n, rbx: 0x0n, rcx: 0x2n, rdx: 0x0n }, flags: 0x5 } },
  { name: "shr rax,33 crosses 2^32", code: "shr rax, 33", regs: { rax: 0x8000000100000000n }, expect: { regs: { rax: 0x40000000n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x5 } },
  { name: "shr rax,1 brings bit 32 down", code: "shr rax, 1", regs: { rax: 0x100000000n }, expect: { regs: { rax: 0x80000000n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x4 } },
  { name: "shr ax,cl count 17: 0, CF 0", code: "shr ax, cl", regs: { rax: 0xffffn, rcx: 0x11n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x11n, rdx: 0x0n }, flags: 0x44 } },
  { name: "shr dl,cl result zero sets ZF PF", code: "shr dl, cl", regs: { rdx: 0x1n, rcx: 0x1n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x1n, rdx: 0x0n }, flags: 0x45 } },
  { name: "sar al,1 negative: OF 0", code: "sar al, 1", regs: { rax: 0x81n }, expect: { regs: { rax: 0xc0n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x85 } },
  { name: "sar al,cl count 9: all sign bits, CF = sign", code: "sar al, cl", regs: { rax: 0x81n, rcx: 0x9n }, expect: { regs: { rax: 0xffn, rbx: 0x0n, rcx: 0x9n, rdx: 0x0n }, flags: 0x85 } },
  { name: "sar eax,31", code: "sar eax, 31", regs: { rax: 0x80000000n }, expect: { regs: { rax: 0xffffffffn, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x84 } },
  { name: "sar rax,cl count 63", code: "sar rax, cl", regs: { rax: 0x8000000000000000n, rcx: 0x3fn }, expect: { regs: { rax: 0xffffffffffffffffn, rbx: 0x0n, rcx: 0x3fn, rdx: 0x0n }, flags: 0x84 } },
  { name: "sar rax,33 sign across halves", code: "sar rax, 33", regs: { rax: 0xf000000000000001n }, expect: { regs: { rax: 0xfffffffff8000000n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x84 } },
  { name: "rol al,1", code: "rol al, 1", regs: { rax: 0x81n }, expect: { regs: { rax: 0x3n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rol al,cl count 8: value unchanged, CF/OF updated", code: "rol al, cl", regs: { rax: 0x81n, rcx: 0x8n }, expect: { regs: { rax: 0x81n, rbx: 0x0n, rcx: 0x8n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rol al,cl count 0: flags untouched", code: "rol al, cl", regs: { rax: 0x81n, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x81n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "rol eax,cl count 33 -> 1", code: "rol eax, cl", regs: { rax: 0x80000001n, rcx: 0x21n }, expect: { regs: { rax: 0x3n, rbx: 0x0n, rcx: 0x21n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rol rax,32 swaps halves", code: "rol rax, 32", regs: { rax: 0x123456789abcdef0n }, flags: 0x8d5, expect: { regs: { rax: 0x9abcdef012345678n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x8d4 } },
  { name: "rol rax,1 with MSB set", code: "rol rax, 1", regs: { rax: 0x8000000000000000n }, expect: { regs: { rax: 0x1n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rol ax,4 keeps upper bits; SF ZF untouched", code: "rol ax, 4", regs: { rax: 0x112233445566abcdn }, flags: 0x8d5, expect: { regs: { rax: 0x112233445566bcdan, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x8d4 } },
  { name: "ror al,1", code: "ror al, 1", regs: { rax: 0x1n }, expect: { regs: { rax: 0x80n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "ror eax,cl count 4", code: "ror eax, cl", regs: { rax: 0xfn, rcx: 0x4n }, expect: { regs: { rax: 0xf0000000n, rbx: 0x0n, rcx: 0x4n, rdx: 0x0n }, flags: 0x1 } },
  { name: "ror rax,cl count 36", code: "ror rax, cl", regs: { rax: 0xfn, rcx: 0x24n }, expect: { regs: { rax: 0xf0000000n, rbx: 0x0n, rcx: 0x24n, rdx: 0x0n }, flags: 0x0 } },
  { name: "ror ax,cl count 16", code: "ror ax, cl", regs: { rax: 0x8001n, rcx: 0x10n }, expect: { regs: { rax: 0x8001n, rbx: 0x0n, rcx: 0x10n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rcl al,1 with CF=1", code: "rcl al, 1", regs: { rax: 0x80n }, flags: 0x1, expect: { regs: { rax: 0x1n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rcl al,cl count 9 (mod 9 = 0): no change", code: "rcl al, cl", regs: { rax: 0x80n, rcx: 0x9n }, flags: 0x8d5, expect: { regs: { rax: 0x80n, rbx: 0x0n, rcx: 0x9n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "rcl al,cl count 8", code: "rcl al, cl", regs: { rax: 0x81n, rcx: 0x8n }, flags: 0x1, expect: { regs: { rax: 0xc0n, rbx: 0x0n, rcx: 0x8n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcl ax,cl count 17 (mod 17 = 0)", code: "rcl ax, cl", regs: { rax: 0x8001n, rcx: 0x11n }, flags: 0x1, expect: { regs: { rax: 0x8001n, rbx: 0x0n, rcx: 0x11n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcl ax,cl count 16", code: "rcl ax, cl", regs: { rax: 0x8001n, rcx: 0x10n }, flags: 0x1, expect: { regs: { rax: 0xc000n, rbx: 0x0n, rcx: 0x10n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcl eax,cl count 31", code: "rcl eax, cl", regs: { rax: 0x3n, rcx: 0x1fn }, flags: 0x1, expect: { regs: { rax: 0xc0000000n, rbx: 0x0n, rcx: 0x1fn, rdx: 0x0n }, flags: 0x801 } },
  { name: "rcl rax,1 carries across halves", code: "rcl rax, 1", regs: { rax: 0x8000000080000000n }, flags: 0x1, expect: { regs: { rax: 0x100000001n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rcl rax,cl count 40", code: "rcl rax, cl", regs: { rax: 0x123456789abcdef0n, rcx: 0x28n }, flags: 0x1, expect: { regs: { rax: 0xbcdef0891a2b3c4dn, rbx: 0x0n, rcx: 0x28n, rdx: 0x0n }, flags: 0x800 } },
  { name: "rcr al,1 with CF=1", code: "rcr al, 1", regs: { rax: 0x1n }, flags: 0x1, expect: { regs: { rax: 0x80n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x801 } },
  { name: "rcr al,cl count 5", code: "rcr al, cl", regs: { rax: 0x35n, rcx: 0x5n }, expect: { regs: { rax: 0x51n, rbx: 0x0n, rcx: 0x5n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcr eax,1", code: "rcr eax, 1", regs: { rax: 0xffffffff00000001n }, expect: { regs: { rax: 0x0n, rbx: 0x0n, rcx: 0x0n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcr rax,cl count 33", code: "rcr rax, cl", regs: { rax: 0x100000001n, rcx: 0x21n }, flags: 0x1, expect: { regs: { rax: 0x180000000n, rbx: 0x0n, rcx: 0x21n, rdx: 0x0n }, flags: 0x1 } },
  { name: "rcr rax,cl count 63", code: "rcr rax, cl", regs: { rax: 0x8000000000000001n, rcx: 0x3fn }, flags: 0x1, expect: { regs: { rax: 0x7n, rbx: 0x0n, rcx: 0x3fn, rdx: 0x0n }, flags: 0x800 } },
  { name: "shld eax,ebx,1", code: "shld eax, ebx, 1", regs: { rax: 0x40000000n, rbx: 0x80000000n }, expect: { regs: { rax: 0x80000001n, rbx: 0x80000000n, rcx: 0x0n, rdx: 0x0n }, flags: 0x880 } },
  { name: "shld eax,ebx,cl count 0: nothing but zero-extension", code: "shld eax, ebx, cl", regs: { rax: 0xffffffff12345678n, rbx: 0xffffffffn, rcx: 0x0n }, flags: 0x8d5, expect: { regs: { rax: 0x12345678n, rbx: 0xffffffffn, rcx: 0x0n, rdx: 0x0n }, flags: 0x8d5 } },
  { name: "shld eax,ebx,31", code: "shld eax, ebx, 31", regs: { rax: 0x3n, rbx: 0xfffffffen }, expect: { regs: { rax: 0xffffffffn, rbx: 0xfffffffen, rcx: 0x0n, rdx: 0x0n }, flags: 0x85 } },
  { name: "shld ax,bx,cl count 4", code: "shld ax, bx, cl", regs: { rax: 0x1234n, rbx: 0xabcdn, rcx: 0x4n }, expect: { regs: { rax: 0x234an, rbx: 0xabcdn, rcx: 0x4n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shld ax,bx,cl count 20 (dest:src:dest)", code: "shld ax, bx, cl", regs: { rax: 0x1234n, rbx: 0xabcdn, rcx: 0x14n }, expect: { regs: { rax: 0xbcd1n, rbx: 0xabcdn, rcx: 0x14n, rdx: 0x0n }, flags: 0x884 } },
  { name: "shld ax,bx,cl count 31", code: "shld ax, bx, cl", regs: { rax: 0x8001n, rbx: 0x7ffen, rcx: 0x1fn }, expect: { regs: { rax: 0x4000n, rbx: 0x7ffen, rcx: 0x1fn, rdx: 0x0n }, flags: 0x805 } },
  { name: "shld rax,rbx,cl count 63", code: "shld rax, rbx, cl", regs: { rax: 0x1n, rbx: 0x8000000000000000n, rcx: 0x3fn }, expect: { regs: { rax: 0xc000000000000000n, rbx: 0x8000000000000000n, rcx: 0x3fn, rdx: 0x0n }, flags: 0x884 } },
  { name: "shld rax,rbx,36 crosses halves", code: "shld rax, rbx, 36", regs: { rax: 0xfn, rbx: 0xf000000000000000n }, expect: { regs: { rax: 0xff00000000n, rbx: 0xf000000000000000n, rcx: 0x0n, rdx: 0x0n }, flags: 0x4 } },
  { name: "shrd eax,ebx,1", code: "shrd eax, ebx, 1", regs: { rax: 0x1n, rbx: 0x1n }, expect: { regs: { rax: 0x80000000n, rbx: 0x1n, rcx: 0x0n, rdx: 0x0n }, flags: 0x885 } },
  { name: "shrd eax,ebx,cl count 33 -> 1", code: "shrd eax, ebx, cl", regs: { rax: 0x80000000n, rbx: 0x0n, rcx: 0x21n }, expect: { regs: { rax: 0x40000000n, rbx: 0x0n, rcx: 0x21n, rdx: 0x0n }, flags: 0x804 } },
  { name: "shrd ax,bx,cl count 17", code: "shrd ax, bx, cl", regs: { rax: 0x1234n, rbx: 0xabcdn, rcx: 0x11n }, expect: { regs: { rax: 0x55e6n, rbx: 0xabcdn, rcx: 0x11n, rdx: 0x0n }, flags: 0x801 } },
  { name: "shrd ax,bx,cl count 24", code: "shrd ax, bx, cl", regs: { rax: 0xffn, rbx: 0xff00n, rcx: 0x18n }, expect: { regs: { rax: 0xffffn, rbx: 0xff00n, rcx: 0x18n, rdx: 0x0n }, flags: 0x84 } },
  { name: "shrd rax,rbx,cl count 4", code: "shrd rax, rbx, cl", regs: { rax: 0x123456789abcdef0n, rbx: 0x5n, rcx: 0x4n }, expect: { regs: { rax: 0x5123456789abcdefn, rbx: 0x5n, rcx: 0x4n, rdx: 0x0n }, flags: 0x0 } },
  { name: "shrd rax,rbx,40", code: "shrd rax, rbx, 40", regs: { rax: 0xffffffffffffffffn, rbx: 0x123n }, expect: { regs: { rax: 0x123ffffffn, rbx: 0x123n, rcx: 0x0n, rdx: 0x0n }, flags: 0x5 } },
  { name: "shl dword ptr [rbx], 5", code: "shl dword ptr [rbx], 5", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x801, mem: '20508804ff00807f' } },
  { name: "sar word ptr [rbx+1], 1", code: "sar word ptr [rbx+1], 1", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x4, mem: '81211218ff00807f' } },
  { name: "rol qword ptr [rbx], 12", code: "rol qword ptr [rbx], 12", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x0, mem: 'f817284482f10f00' } },
  { name: "rcr byte ptr [rbx+6], 1", code: "rcr byte ptr [rbx+6], 1", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, flags: 0x1, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x0, mem: '81422418ff00c07f' } },
  { name: "shl dword ptr [rbx], cl", code: "shl dword ptr [rbx], cl", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, flags: 0x8d5, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x8d5, mem: '81422418ff00807f' } },
  { name: "shrd qword ptr [rbx], rdx, 20", code: "shrd qword ptr [rbx], rdx, 20", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x884, mem: '82f10f00f807fff0' } },
  { name: "shld word ptr [rbx+2], dx, 20", code: "shld word ptr [rbx+2], dx, 20", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x880, mem: '814201ffff00807f' } },
  { name: "ror byte ptr [rbx]", code: "ror byte ptr [rbx]", regs: { rbx: 'scratch', rcx: 0x0n, rdx: 0x84211248f00f0ff0n }, mem: '81422418ff00807f', expect: { regs: { rbx: 'scratch+0' }, flags: 0x1, mem: 'c0422418ff00807f' } },
  { name: "32-bit mode: shl eax, cl", mode: 'prot32', code: "shl eax, cl", regs: { rax: 0x80000001n, rcx: 0x3n }, flags: 0x1, expect: { regs: { rax: 0x8n, rcx: 0x3n, rdx: 0x0n }, flags: 0x0 } },
  { name: "32-bit mode: sar ax, 3", mode: 'prot32', code: "sar ax, 3", regs: { rax: 0x12348000n }, flags: 0x1, expect: { regs: { rax: 0x1234f000n, rcx: 0x0n, rdx: 0x0n }, flags: 0x84 } },
  { name: "32-bit mode: rcr eax, cl", mode: 'prot32', code: "rcr eax, cl", regs: { rax: 0x80000001n, rcx: 0x3n }, flags: 0x1, expect: { regs: { rax: 0x70000000n, rcx: 0x3n, rdx: 0x0n }, flags: 0x800 } },
  { name: "32-bit mode: shrd eax, edx, 8", mode: 'prot32', code: "shrd eax, edx, 8", regs: { rax: 0x11223344n, rdx: 0xaabbccddn }, flags: 0x1, expect: { regs: { rax: 0xdd112233n, rcx: 0x0n, rdx: 0xaabbccddn }, flags: 0x84 } },
];

describe('shifts and rotates', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(observe(c)).toEqual(expectedOf(c));
  });

  it('works on 16-bit registers in real mode, keeping the upper half', () => {
    const r = runInt('shl ax, 1\nrcr bx, cl\nhlt', 'real', {
      regs: { rax: 0xdead_8001n, rbx: 0x0000_0003n, rcx: 2n }, flags: 0,
    });
    expect(r.reg('rax')).toBe(0xdead_0002n);
    // RCR BX, 2 with CF = 1 (left by the SHL): CF:0x0003 -> 0x8001 (CF 1) -> 0xc000 (CF 1).
    expect(r.reg('rbx')).toBe(0x0000_c000n);
    // CF = the last bit rotated out; OF = MSB(old) xor MSB(new) = 1.
    expect(r.flags & 0x801).toBe(0x801);
  });
});
