# build: 64 multiboot variant=-1:ITER=1
#
# syscall -- benchmark: ring 3 makes ITER system calls (default 2,000,000)
# through SYSCALL / SYSRETQ and longmode.inc's syscall_entry (stack switch
# via SWAPGS, registers saved and restored, an indirect call of a handler
# that returns at once). Then syscall 3 prints "done" and exits with code 0
# (QEMU status 1). syscall-1.elf: ITER=1. Symbols as in intloop.S; an
# iteration is 31 instructions: 4 in ring 3, 27 in ring 0.
#
# Serial transcript: "done\n".

        .include "longmode.inc"

        .ifndef ITER
        .set ITER, 2000000
        .endif
        .globl bench_iterations, bench_insns_per_iteration
        .set bench_iterations, ITER
        .set bench_insns_per_iteration, 31
        .set SYS_NOP, 0
        .set SYS_DONE, 3

        .code64
        .text
kmain:
        lea bench_syscall(%rip), %rax
        mov %rax, syscall_hook(%rip)
        lea user_main(%rip), %rdi
        lea user_stack_top(%rip), %rsi
        call enter_user

# bench_syscall: RAX = number. 0 returns at once; 3 ends the run.
bench_syscall:
        test %eax, %eax
        jnz 1f
        ret
1:      PRINT64 "done\n"
        mov $0, %al
        call exit64

        .section .user_text, "ax"
user_main:
        mov $ITER, %ebx
        .globl bench_loop
bench_loop:
        mov $SYS_NOP, %eax
        syscall
        dec %rbx
        jnz bench_loop
        mov $SYS_DONE, %eax
        syscall
        ud2                             # not reached
