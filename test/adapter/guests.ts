// The guest programs of the adapter tests, as GNU as (Intel syntax) source.
// Each uses only instruction families the engine implements
// (src/engine/x86/exec/): data movement, ALU, CALL/RET, PUSH/POP, LGDT/LIDT,
// MOV CRn, RDMSR/WRMSR, IRETQ, SYSCALL, OUT, HLT.

import { buildGuest, type Guest } from './helpers';

/** Calls, a leaf function, a store to a global, then an endless loop. */
export const MAIN = `
_start:
        mov rsp, 0x80000
        mov rax, 1
        mov rbx, 2
        call add_them
after_call:
        mov qword ptr [counter], rax
        xor ecx, ecx
spin:
        add rcx, 1
        jmp spin
add_them:
        push rbp
        mov rbp, rsp
        add rax, rbx
        call leaf
after_leaf:
        pop rbp
        ret
leaf:
        add rax, 10
        ret
.data
.balign 8
counter: .quad 0
greeting: .ascii "hello, vmscope"
`;

/** Installs a #PF handler, then reads beyond the 4 GiB identity map: a page fault. */
export const PAGEFAULT = `
_start:
        mov rsp, 0x80000
        lea rax, [rip + pf_handler]
        lea rdi, [rip + idt + 14 * 16]
        mov word ptr [rdi], ax
        mov word ptr [rdi + 2], 0x08
        mov byte ptr [rdi + 5], 0x8e
        shr rax, 16
        mov word ptr [rdi + 6], ax
        lidt [rip + idtr]
        mov rax, 0x100000000
faulting:
        mov rbx, qword ptr [rax]
        hlt
pf_handler:
        mov rdx, cr2
        mov dx, 0xf4
        mov al, 3
        out dx, al
.data
.balign 16
idt: .fill 256 * 16, 1, 0
idtr: .word 256 * 16 - 1
      .quad idt
`;

/** Its own GDT, user access to the first 2 MiB, IRETQ to ring 3, SYSCALL back to ring 0, exit status 85. */
export const RING = `
_start:
        mov rsp, 0x80000
        lgdt [rip + gdtr]
        or qword ptr [0x7000], 4          # U/S on the boot page tables' first PML4E, PDPTE and PDE
        or qword ptr [0x8000], 4
        or qword ptr [0x9000], 4
        mov rax, cr3
        mov cr3, rax
        mov ecx, 0xc0000080               # EFER.SCE
        rdmsr
        or eax, 1
        wrmsr
        mov ecx, 0xc0000081               # STAR: SYSCALL CS 0x08, SYSRET base 0x10 (SS 0x1b, CS 0x23)
        xor eax, eax
        mov edx, 0x00100008
        wrmsr
        mov ecx, 0xc0000082               # LSTAR
        lea rax, [rip + syscall_entry]
        mov rdx, rax
        shr rdx, 32
        wrmsr
        push 0x1b                         # SS
        push 0x70000                      # RSP
        push 2                            # RFLAGS
        push 0x23                         # CS
        lea rax, [rip + user]
        push rax
        iretq
user:
        mov rdi, 0x2a
        syscall
        hlt
syscall_entry:
        mov dx, 0xf4
        mov eax, edi
        out dx, al
.data
.balign 8
gdt:    .quad 0
        .quad 0x00af9b000000ffff          # 0x08 kernel code, 64-bit
        .quad 0x00cf93000000ffff          # 0x10 kernel data
        .quad 0x00cff3000000ffff          # 0x18 user data
        .quad 0x00affb000000ffff          # 0x20 user code, 64-bit
gdtr:   .word 5 * 8 - 1
        .quad gdt
`;

/** Stores, reads and read-modify-writes a global, then touches its neighbour only (data-breakpoint accesses). */
export const WATCH = `
_start:
        mov rsp, 0x80000
        mov qword ptr [counter], 5
after_store:
        mov rax, qword ptr [counter]
after_read:
        add qword ptr [counter], 1
after_rmw:
        mov rbx, qword ptr [neighbour]
        mov qword ptr [neighbour], 7
        mov rcx, qword ptr [counter]
after_last_read:
        xor ecx, ecx
spin:
        add rcx, 1
        jmp spin
.data
.balign 8
counter: .quad 0
neighbour: .quad 0
`;

const cache = new Map<string, Guest>();

export function guest(name: 'main' | 'pagefault' | 'ring' | 'watch'): Guest {
  let g = cache.get(name);
  if (!g) {
    g = buildGuest(name, name === 'main' ? MAIN : name === 'pagefault' ? PAGEFAULT : name === 'watch' ? WATCH : RING);
    cache.set(name, g);
  }
  return g;
}
