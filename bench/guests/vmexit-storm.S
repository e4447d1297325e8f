# build: 64 multiboot variant=-1:ITER=1
#
# vmexit-storm -- benchmark: VM exits and entries. A hypervisor (lib/vmx.inc)
# runs a 64-bit guest that executes CPUID ITER times in a loop (default
# 1,000,000); each CPUID exits, and the hypervisor's handler only moves the
# guest's RIP past it and resumes (VMRESUME): one exit and one entry per
# iteration. A final HLT exits; the hypervisor prints "done" and exits with
# code 0 (QEMU-style status 1). vmexit-storm-1.elf is the same image with
# ITER=1, to subtract startup time. The absolute symbols bench_iterations and
# bench_exits_per_iteration give the counts; the guest's loop is bench_loop.
# Needs VMX with EPT: Bochs 2.7 or vmscope's emulator, not QEMU's TCG.
#
# Serial transcript: "done\n".

        .include "longmode.inc"
        .include "vmx.inc"

        .ifndef ITER
        .set ITER, 100000
        .endif
        .globl bench_iterations, bench_exits_per_iteration
        .set bench_iterations, ITER
        .set bench_exits_per_iteration, 1

# ---------------------------------------------------------------- the guest
        .section .text.guest, "ax"
guest_main:
        mov $ITER, %r8d
        .globl bench_loop
bench_loop:
        xor %eax, %eax
        cpuid                           # exit: CPUID
        dec %r8
        jnz bench_loop
        hlt                             # exit: HLT

# ---------------------------------------------------------------- the hypervisor
        .text
kmain:
        call vmx_enable
        lea guest_main(%rip), %rdi
        lea vmx_guest_stack_top(%rip), %rsi
        call vmx_setup_vmcs
        call vmx_launch                 # returns only if VMLAUNCH fails
        PRINT64 "hv: vmlaunch failed: "
        call vmx_print_status
        mov $1, %al
        call hv_exit

# vmx_exit_handler: RDI = the guest's registers, ESI = exit reason.
vmx_exit_handler:
        cmp $EXIT_CPUID, %esi
        jne 1f
        jmp vmx_advance_rip             # and back into the guest
1:      cmp $EXIT_HLT, %esi
        jne 2f
        PRINT64 "done\n"
        mov $0, %al
        call hv_exit
2:      call vmx_print_exit
        PRINT64 "hv: unexpected exit, stopping\n"
        mov $1, %al
        call hv_exit
