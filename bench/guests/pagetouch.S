# build: 64 multiboot variant=-1:ITER=1
#
# pagetouch -- benchmark: stores to a different 4 KiB page on every iteration,
# cycling through the 512 pages of the window at 0x40000000 (mapped here to
# physical 16 MiB .. 18 MiB), so a TLB smaller than 512 entries misses on
# every store. 5 instructions per iteration in ring 0, long mode; ITER
# iterations (default 4,000,000: 20 M instructions in the loop), then prints
# "done" and exits with code 0 (QEMU status 1). pagetouch-1.elf: ITER=1.
# Symbols as in intloop.S.
#
# Serial transcript: "done\n".

        .include "longmode.inc"

        .ifndef ITER
        .set ITER, 4000000
        .endif
        .globl bench_iterations, bench_insns_per_iteration
        .set bench_iterations, ITER
        .set bench_insns_per_iteration, 5
        .set FRAMES, 0x1000000          # physical memory behind the window

        .code64
        .text
kmain:
        lea pt_window(%rip), %rdi       # window page i -> FRAMES + i * 4 KiB
        mov $(FRAMES | PTE_P | PTE_W), %eax
        bts $63, %rax                   # no-execute
        xor %ecx, %ecx
1:      mov %rax, (%rdi, %rcx, 8)
        add $4096, %rax
        inc %ecx
        cmp $512, %ecx
        jb 1b

        mov $WINDOW_BASE, %edi
        mov $(WINDOW_BASE | 0x1FF000), %edx     # wraps the address within the window
        mov $ITER, %ecx
        .globl bench_loop
bench_loop:
        mov %rcx, (%rdi)
        add $4096, %rdi
        and %rdx, %rdi
        dec %rcx
        jnz bench_loop
        PRINT64 "done\n"
        mov $0, %al
        call exit64
