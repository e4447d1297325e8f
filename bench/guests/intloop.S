# build: 64 multiboot variant=-1:ITER=1
#
# intloop -- benchmark: a 5-instruction integer loop in ring 0, long mode.
# ITER iterations (default 40,000,000: 200 M instructions in the loop), then
# prints "done" and exits with code 0 (QEMU status 1). intloop-1.elf is the
# same image with ITER=1, to subtract startup time. The loop is bench_loop;
# the absolute symbols bench_iterations and bench_insns_per_iteration give
# the counts.
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
        xor %eax, %eax
        xor %ebx, %ebx
        mov $1, %esi
        .globl bench_loop
bench_loop:
        add %rsi, %rax
        xor %rax, %rbx
        inc %rsi
        dec %rcx
        jnz bench_loop
        PRINT64 "done\n"
        mov $0, %al
        call exit64
