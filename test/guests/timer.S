# build: 32 multiboot
#
# timer -- external interrupts end to end: the 8254 PIT through the 8259 PIC
# (IRQ0 remapped to vector 0x20, reaching the CPU through the local APIC's
# LINT0 in virtual-wire mode), then the local APIC timer in periodic mode
# (vector 0x40). The CPU sleeps in HLT between ticks; a handler counts them.
#
# Serial transcript:
#   timer: pit irq0 woke the cpu 3 times
#   timer: lapic timer woke the cpu 3 times
# Exits with code 0 (QEMU status 1); an unexpected vector prints it and exits 1.

        .include "multiboot.inc"
        .include "io32.inc"

        MULTIBOOT_HEADER

        .set LAPIC, 0xFEE00000
        .set LAPIC_EOI, LAPIC + 0xB0
        .set LAPIC_SVR, LAPIC + 0xF0
        .set LAPIC_LVT_TIMER, LAPIC + 0x320
        .set LAPIC_TIMER_INIT, LAPIC + 0x380
        .set LAPIC_TIMER_DIV, LAPIC + 0x3E0

        .code32
        .text
        .globl _start
_start:
        cli
        cld
        mov $stack_top, %esp
        call serial_init32

        # IDT: every vector to `unexpected`, then the two timer vectors.
        xor %ecx, %ecx
1:      mov $unexpected, %eax
        call set_gate
        inc %ecx
        cmp $256, %ecx
        jne 1b
        mov $0x20, %ecx
        mov $pit_handler, %eax
        call set_gate
        mov $0x40, %ecx
        mov $apic_handler, %eax
        call set_gate
        lidt idtr

        # 8259 pair: ICW1-4, vectors 0x20/0x28, then only IRQ0 unmasked.
        mov $0x11, %al; out %al, $0x20; out %al, $0xA0
        mov $0x20, %al; out %al, $0x21
        mov $0x28, %al; out %al, $0xA1
        mov $0x04, %al; out %al, $0x21
        mov $0x02, %al; out %al, $0xA1
        mov $0x01, %al; out %al, $0x21; out %al, $0xA1
        mov $0xFE, %al; out %al, $0x21
        mov $0xFF, %al; out %al, $0xA1
        # PIT channel 0, mode 2 (rate generator), about 100 Hz.
        mov $0x34, %al; out %al, $0x43
        mov $(11932 & 0xff), %al; out %al, $0x40
        mov $(11932 >> 8), %al; out %al, $0x40

        sti
1:      hlt
        cmpl $3, pit_ticks
        jb 1b
        cli
        mov $0xFF, %al; out %al, $0x21  # mask IRQ0 again
        PRINT32 "timer: pit irq0 woke the cpu "
        mov pit_ticks, %eax
        call putdec32
        PRINT32 " times\n"

        # Local APIC timer: software-enable the APIC, divide by 1, periodic on vector 0x40.
        movl $0x1FF, LAPIC_SVR
        movl $0xB, LAPIC_TIMER_DIV
        movl $0x20040, LAPIC_LVT_TIMER
        movl $2000000, LAPIC_TIMER_INIT
        sti
1:      hlt
        cmpl $3, apic_ticks
        jb 1b
        cli
        movl $0x10040, LAPIC_LVT_TIMER  # masked
        PRINT32 "timer: lapic timer woke the cpu "
        mov apic_ticks, %eax
        call putdec32
        PRINT32 " times\n"
        mov $0, %al
        call exit32

# set_gate: IDT entry ECX -> handler EAX (32-bit interrupt gate, selector CS).
set_gate:
        push %edx
        lea idt(,%ecx,8), %edx
        mov %ax, (%edx)
        movw %cs, 2(%edx)
        movw $0x8E00, 4(%edx)
        shr $16, %eax
        mov %ax, 6(%edx)
        pop %edx
        ret

pit_handler:
        push %eax
        cmpl $3, pit_ticks              # count only up to 3: a late tick must not change the transcript
        jae 1f
        incl pit_ticks
1:      mov $0x20, %al
        out %al, $0x20                  # non-specific EOI to the master PIC
        pop %eax
        iret

apic_handler:
        cmpl $3, apic_ticks
        jae 1f
        incl apic_ticks
1:      movl $0, LAPIC_EOI
        iret

unexpected:
        PRINT32 "timer: unexpected interrupt\n"
        mov $1, %al
        call exit32

        .data
        .balign 8
idtr:   .word 256 * 8 - 1
        .long idt
        .balign 4
pit_ticks:  .long 0
apic_ticks: .long 0

        .bss
        .balign 8
idt:    .skip 256 * 8
        .skip 8192
stack_top:
