# build: 32 multiboot
#
# smp -- bring up the other vCPUs the way a PC kernel does: copy a real-mode
# trampoline below 1 MiB, send INIT then two Start-up IPIs (vector 0x08, so
# the APs start in real mode at 0800:0000) through the local APIC's ICR,
# and count the APs as they arrive in 32-bit protected mode. Each AP prints
# its local APIC ID under a spinlock and halts.
#
# Run with 2 vCPUs (QEMU -smp 2, vmscope --cpus 2). Serial transcript:
#   smp: bsp apic id 0x0, starting application processors
#   smp: ap up, apic id 0x1
#   smp: 1 application processor(s) up
# Exits with code 0 (QEMU status 1); code 1 when no AP arrives in time.

        .include "multiboot.inc"
        .include "io32.inc"

        MULTIBOOT_HEADER

        .set TRAMPOLINE, 0x8000         # SIPI vector 0x08 -> CS=0x0800, IP=0
        .set LAPIC, 0xFEE00000
        .set LAPIC_ID, LAPIC + 0x20
        .set LAPIC_ICR_LO, LAPIC + 0x300
        .set LAPIC_ICR_HI, LAPIC + 0x310
        .set ICR_INIT_ALL_BUT_SELF, 0x000C4500   # INIT, level assert, shorthand "all excluding self"
        .set ICR_SIPI_ALL_BUT_SELF, 0x000C4600 | (TRAMPOLINE >> 12)

        .code32
        .text
        .globl _start
_start:
        cli
        cld
        mov $bsp_stack_top, %esp
        call serial_init32
        PRINT32 "smp: bsp apic id "
        mov LAPIC_ID, %eax
        shr $24, %eax
        call puthex32
        PRINT32 ", starting application processors\n"

        # The trampoline runs at 0x8000: copy it there.
        mov $trampoline_start, %esi
        mov $TRAMPOLINE, %edi
        mov $(trampoline_end - trampoline_start), %ecx
        rep movsb

        movl $0, LAPIC_ICR_HI
        movl $ICR_INIT_ALL_BUT_SELF, LAPIC_ICR_LO
        call wait_icr
        mov $100000, %ecx               # the SDM's 10 ms pause, as a delay loop
1:      dec %ecx
        jnz 1b
        movl $ICR_SIPI_ALL_BUT_SELF, LAPIC_ICR_LO
        call wait_icr
        mov $10000, %ecx                # 200 us
1:      dec %ecx
        jnz 1b
        movl $ICR_SIPI_ALL_BUT_SELF, LAPIC_ICR_LO
        call wait_icr

        # Wait for the AP (bounded: a lost AP must not hang the test).
        mov $50000000, %ecx
1:      cmpl $1, ap_count
        je 2f
        pause
        dec %ecx
        jnz 1b
        PRINT32 "smp: timeout waiting for the application processor\n"
        mov $1, %al
        call exit32
2:      call lock_print                 # the AP may still be printing its line
        PRINT32 "smp: "
        mov ap_count, %eax
        call putdec32
        PRINT32 " application processor(s) up\n"
        call unlock_print
        mov $0, %al
        call exit32

# wait_icr: until the delivery-status bit (12) of the ICR clears.
wait_icr:
        testl $0x1000, LAPIC_ICR_LO
        jnz wait_icr
        ret

lock_print:
        mov $1, %eax
1:      xchg %eax, print_lock
        test %eax, %eax
        jz 2f
        pause
        jmp 1b
2:      ret

unlock_print:
        movl $0, print_lock
        ret

# ap_main: each AP arrives here in 32-bit protected mode with flat segments.
ap_main:
        mov $4096, %eax                 # carve a private stack
        lock xadd %eax, ap_stack_next
        lea ap_stacks + 4096(%eax), %esp
        call lock_print
        PRINT32 "smp: ap up, apic id "
        mov LAPIC_ID, %eax
        shr $24, %eax
        call puthex32
        PRINT32 "\n"
        call unlock_print
        lock incl ap_count
1:      cli
        hlt
        jmp 1b

# The real-mode trampoline, position-independent within its 4 KiB page
# (copied to TRAMPOLINE; CS = TRAMPOLINE >> 4 when it starts).
        .code16
trampoline_start:
        cli
        mov %cs, %ax
        mov %ax, %ds
        lgdtl (tramp_gdtr - trampoline_start)
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        ljmpl $0x08, $(TRAMPOLINE + tramp_pm - trampoline_start)
        .code32
tramp_pm:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %ax, %fs
        mov %ax, %gs
        mov $ap_main, %eax
        jmp *%eax
        .balign 8
tramp_gdt:
        .quad 0
        .quad 0x00cf9a000000ffff        # 0x08: flat 32-bit code
        .quad 0x00cf92000000ffff        # 0x10: flat data
tramp_gdtr:
        .word tramp_gdtr - tramp_gdt - 1
        .long TRAMPOLINE + tramp_gdt - trampoline_start
trampoline_end:

        .data
        .balign 4
ap_count:       .long 0
print_lock:     .long 0
ap_stack_next:  .long 0

        .bss
        .balign 16
        .skip 4096
bsp_stack_top:
ap_stacks:
        .skip 4096 * 4
