# build: 64 multiboot variant=-1:ITER=1
#
# loadstore -- benchmark: a 5-instruction loop with one load and one store
# (through the page tables, 4 KiB page) in ring 0, long mode. ITER iterations
# (default 40,000,000: 200 M instructions in the loop), then prints "done" and
# exits with code 0 (QEMU status 1). loadstore-1.elf: ITER=1. Symbols as in
# intloop.S.
#
# Serial transcript: "done\n".

        .include "longmode.inc"

        .ifndef ITER
        .set ITER, 40000000
        .endif
        .globl bench_iterations, bench_insns_per_iteration
        .set bench_iterations, ITER
        .set bench_insns_per_iteration, 5

        .code64
        .text
kmain:
        mov $ITER, %ecx
        lea bench_buf(%rip), %rdi
        .globl bench_loop
bench_loop:
        mov (%rdi), %rax
        add %rcx, %rax
        mov %rax, 64(%rdi)
        dec %rcx
        jnz bench_loop
        PRINT64 "done\n"
        mov $0, %al
        call exit64

        .bss
        .balign 4096
bench_buf: .skip 4096
