# build: 64 multiboot
#
# longmode -- the key guest: a Multiboot kernel that switches to 64-bit long
# mode (lib/longmode.inc), then exercises the CPU's protection machinery and
# prints a line for each step, so that the serial output is a transcript:
#
#   ring 0: #UD on the current stack (no privilege change);
#   IRETQ to ring 3, where user code
#     - writes a string with SYSCALL 1 (write) and calls 2 (getpid),
#     - stores to 0x40000000, not mapped: #PF, the kernel maps the page and
#       returns, the store is retried,
#     - reads kernel memory (#PF, protection), calls into the no-execute page
#       it just got (#PF, instruction fetch), divides by zero (#DE), loads a
#       ring-0 selector into DS (#GP on the IST1 stack): the kernel resumes
#       each at a fixup address,
#     - executes INT 0x80 (a DPL-3 gate) once,
#     - exits with SYSCALL 3 (exit), code 0x2A: QEMU status 85.
#
# Serial transcript on QEMU:
#   vmscope longmode guest
#   boot: multiboot eax=0x2badb002, cpu has long mode, nx, syscall
#   long mode: cr0=0x80010033 cr4=0x20 efer=0xd01
#   kernel: gdt, tss (rsp0, ist1), idt, syscall msrs loaded
#   kernel: executing ud2 in ring 0
#   kernel: #UD (vector 0x6) from ring 0 on kernel stack: fixed up
#   kernel: entering ring 3
#   user: hello from ring 3 via syscall write
#   user: getpid() = 0x7
#   user: writing 0xc3 (ret) to unmapped 0x40000000
#   kernel: #PF (vector 0xe) error 0x6 cr2 0x40000000 from ring 3 on rsp0 stack: mapped the page, retrying
#   user: read back 0xc3
#   user: reading kernel memory at 0x100000
#   kernel: #PF (vector 0xe) error 0x5 cr2 0x100000 from ring 3 on rsp0 stack: fixed up
#   user: calling 0x40000000 (a no-execute page)
#   kernel: #PF (vector 0xe) error 0x15 cr2 0x40000000 from ring 3 on rsp0 stack: fixed up
#   user: dividing by zero
#   kernel: #DE (vector 0x0) from ring 3 on rsp0 stack: fixed up
#   user: loading kernel data selector 0x10 into ds
#   kernel: #GP (vector 0xd) error 0x10 from ring 3 on ist1 stack: fixed up
#   user: int 0x80 with rax=2 (getpid)
#   kernel: int 0x80 from ring 3 on rsp0 stack, rax=0x2
#   user: int 0x80 returned 0x7
#   user: exit(0x2a)
#   kernel: exit(0x2a)

        .include "longmode.inc"

        .set SYS_WRITE, 1               # write(fd, buf, len) -> len
        .set SYS_GETPID, 2              # getpid() -> 7
        .set SYS_EXIT, 3                # exit(code): does not return
        .set GUEST_PID, 7

# ---------------------------------------------------------------- kernel
        .code64
        .text
kmain:
        PRINT64 "vmscope longmode guest\n"
        PRINT64 "boot: multiboot eax="
        mov mb_magic(%rip), %eax
        call puthex64
        PRINT64 ", cpu has long mode, nx, syscall\n"
        PRINT64 "long mode: cr0="
        mov %cr0, %rax
        call puthex64
        PRINT64 " cr4="
        mov %cr4, %rax
        call puthex64
        PRINT64 " efer="
        mov $MSR_EFER, %ecx
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
        call puthex64
        PRINT64 "\n"
        PRINT64 "kernel: gdt, tss (rsp0, ist1), idt, syscall msrs loaded\n"

        lea handle_exception(%rip), %rax
        mov %rax, exception_hook(%rip)
        lea handle_syscall(%rip), %rax
        mov %rax, syscall_hook(%rip)

        PRINT64 "kernel: executing ud2 in ring 0\n"
kernel_ud2:
        ud2
kernel_ud2_fixup:
        PRINT64 "kernel: entering ring 3\n"
        lea user_main(%rip), %rdi
        lea user_stack_top(%rip), %rsi
        call enter_user

# handle_exception: RDI = exception frame (see longmode.inc).
handle_exception:
        push %rbx
        push %r12
        push %r13
        mov %rdi, %rbx
        mov %cr2, %r12
        mov FRAME_VECTOR(%rbx), %r13
        cmp $0x80, %r13
        je .Lint80

        PRINT64 "kernel: "
        mov %r13, %rdi
        call print_exception_name
        PRINT64 " (vector "
        mov %r13, %rax
        call puthex64
        PRINT64 ")"
        mov $EXC_ERRCODE_MASK, %eax
        bt %r13d, %eax
        jnc 1f
        PRINT64 " error "
        mov FRAME_ERROR(%rbx), %rax
        call puthex64
1:      cmp $14, %r13
        jne 2f
        PRINT64 " cr2 "
        mov %r12, %rax
        call puthex64
2:      call print_origin

        cmp $14, %r13                   # a not-present fault in the window page: map it
        jne 3f
        testq $PF_P, FRAME_ERROR(%rbx)
        jnz 3f
        mov %r12, %rax
        and $~0xFFF, %rax
        cmp $WINDOW_BASE, %rax
        jne 3f
        lea demand_frame(%rip), %rax    # user, writable, no-execute
        or $(PTE_P | PTE_W | PTE_U), %rax
        bts $63, %rax
        mov %rax, pt_window(%rip)
        invlpg (%r12)
        PRINT64 ": mapped the page, retrying\n"
        jmp .Lreturn

3:      mov FRAME_RIP(%rbx), %rax       # resume at the fixup for this RIP
        lea fixups(%rip), %rsi
        lea fixups_end(%rip), %rdi
4:      cmp %rdi, %rsi
        jae 5f
        cmp (%rsi), %rax
        je 6f
        add $16, %rsi
        jmp 4b
5:      PRINT64 ": no fixup, stopping\n"
        mov $1, %al
        call exit64
6:      mov 8(%rsi), %rax
        mov %rax, FRAME_RIP(%rbx)
        PRINT64 ": fixed up\n"
        jmp .Lreturn

.Lint80:                                # INT 0x80: the same services as SYSCALL
        PRINT64 "kernel: int 0x80"
        call print_origin
        PRINT64 ", rax="
        mov FRAME_RAX(%rbx), %rax
        call puthex64
        PRINT64 "\n"
        mov FRAME_RDI(%rbx), %rdi
        mov FRAME_RSI(%rbx), %rsi
        mov FRAME_RDX(%rbx), %rdx
        call handle_syscall
        mov %rax, FRAME_RAX(%rbx)
.Lreturn:
        pop %r13
        pop %r12
        pop %rbx
        ret

# print_origin: RBX = exception frame; prints " from ring N on X stack",
# X being the stack the CPU pushed the frame on.
print_origin:
        push %rax
        PRINT64 " from ring "
        mov FRAME_CS(%rbx), %rax
        and $3, %al
        add $'0', %al
        call putc64
        lea rsp0_stack(%rip), %rax
        cmp %rax, %rbx
        jb 1f
        lea rsp0_stack_top(%rip), %rax
        cmp %rax, %rbx
        jae 1f
        PRINT64 " on rsp0 stack"
        jmp 3f
1:      lea ist1_stack(%rip), %rax
        cmp %rax, %rbx
        jb 2f
        lea ist1_stack_top(%rip), %rax
        cmp %rax, %rbx
        jae 2f
        PRINT64 " on ist1 stack"
        jmp 3f
2:      PRINT64 " on kernel stack"
3:      pop %rax
        ret

# handle_syscall: RAX = number, RDI, RSI, RDX = arguments; returns RAX.
handle_syscall:
        cmp $SYS_WRITE, %rax
        je .Lsys_write
        cmp $SYS_GETPID, %rax
        je .Lsys_getpid
        cmp $SYS_EXIT, %rax
        je .Lsys_exit
        PRINT64 "kernel: unknown syscall "
        call puthex64
        PRINT64 "\n"
        mov $-1, %rax
        ret
.Lsys_write:
        call putn64
        mov %rdx, %rax
        ret
.Lsys_getpid:
        mov $GUEST_PID, %eax
        ret
.Lsys_exit:
        PRINT64 "kernel: exit("
        mov %rdi, %rax
        call puthex64
        PRINT64 ")\n"
        mov %edi, %eax
        call exit64

        .section .rodata
        .balign 8
fixups:                                 # faulting RIP, where to resume
        .quad kernel_ud2, kernel_ud2_fixup
        .quad user_read_kernel, user_read_kernel_fixup
        .quad WINDOW_BASE, user_nx_fixup
        .quad user_div, user_div_fixup
        .quad user_load_ds, user_load_ds_fixup
fixups_end:

        .bss
        .balign 4096
demand_frame: .skip 4096                # backs the window page once mapped

# ---------------------------------------------------------------- user (ring 3)
# UPRINT "text": write a string literal with SYSCALL write. Clobbers RAX,
# RCX and R11 (as SYSCALL does).
        .macro UPRINT text
        .pushsection .user_rodata, "a"
.Luprint_\@:
        .ascii "\text"
.Luprint_end_\@:
        .popsection
        push %rdi
        push %rsi
        push %rdx
        mov $SYS_WRITE, %eax
        mov $1, %edi
        lea .Luprint_\@(%rip), %rsi
        mov $(.Luprint_end_\@ - .Luprint_\@), %edx
        syscall
        pop %rdx
        pop %rsi
        pop %rdi
        .endm

        .section .user_text, "ax"
user_main:
        UPRINT "user: hello from ring 3 via syscall write\n"
        mov $SYS_GETPID, %eax
        syscall
        mov %rax, %rbx
        UPRINT "user: getpid() = "
        mov %rbx, %rax
        call user_puthex
        UPRINT "\n"

        UPRINT "user: writing 0xc3 (ret) to unmapped 0x40000000\n"
        mov $WINDOW_BASE, %edi
        movq $0xc3, (%rdi)              # #PF: not present; retried once mapped
        UPRINT "user: read back "
        mov (%rdi), %rax
        call user_puthex
        UPRINT "\n"

        UPRINT "user: reading kernel memory at 0x100000\n"
        mov $0x100000, %esi
user_read_kernel:
        mov (%rsi), %rax                # #PF: supervisor page
user_read_kernel_fixup:

        UPRINT "user: calling 0x40000000 (a no-execute page)\n"
        mov $WINDOW_BASE, %eax
        call *%rax                      # #PF: fetch from a no-execute page
        jmp 1f                          # (reached only if the fetch succeeded)
user_nx_fixup:
        add $8, %rsp                    # drop the return address of the call
1:
        UPRINT "user: dividing by zero\n"
        mov $1, %eax
        xor %edx, %edx
        xor %ecx, %ecx
user_div:
        div %ecx                        # #DE
user_div_fixup:

        UPRINT "user: loading kernel data selector 0x10 into ds\n"
        mov $KDATA, %eax
user_load_ds:
        mov %ax, %ds                    # #GP(0x10): DPL 0 < CPL 3
user_load_ds_fixup:

        UPRINT "user: int 0x80 with rax=2 (getpid)\n"
        mov $SYS_GETPID, %eax
        int $0x80
        mov %rax, %rbx
        UPRINT "user: int 0x80 returned "
        mov %rbx, %rax
        call user_puthex
        UPRINT "\n"

        UPRINT "user: exit(0x2a)\n"
        mov $SYS_EXIT, %eax
        mov $0x2a, %edi
        syscall
        ud2                             # not reached

# user_puthex: write RAX as "0x" and hex digits, no leading zeros (ring 3:
# formats into user_buf, then SYSCALL write). Clobbers RAX, RCX, R11.
user_puthex:
        push %rdi
        push %rsi
        push %rdx
        lea user_buf + 18(%rip), %rsi   # fill from the end backwards
        mov %rax, %rdx
1:      dec %rsi
        mov %dl, %al
        and $0x0F, %al
        add $'0', %al
        cmp $'9', %al
        jbe 2f
        add $('a' - '0' - 10), %al
2:      mov %al, (%rsi)
        shr $4, %rdx
        jnz 1b
        dec %rsi
        movb $'x', (%rsi)
        dec %rsi
        movb $'0', (%rsi)
        lea user_buf + 18(%rip), %rdx
        sub %rsi, %rdx
        mov $SYS_WRITE, %eax
        mov $1, %edi
        syscall
        pop %rdx
        pop %rsi
        pop %rdi
        ret

        .section .user_data, "aw", @progbits
user_buf: .skip 18
