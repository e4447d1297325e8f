# build: 16 bios
#
# realmode -- a 64 KiB system ROM that starts where the CPU does after reset
# (F000:FFF0, last 16 bytes of the image) in real mode, and
#   - prints through the UART with 16-bit code (strings read via DS = F000),
#   - installs its own handler for INT 0x30 in the interrupt vector table at
#     0:0 and calls it,
#   - enables the A20 line through port 0x92 (fast A20) and checks that
#     addresses no longer wrap at 1 MiB,
#   - loads a GDT, sets CR0.PE, far-jumps into 32-bit protected mode, prints
#     CR0 and exits with code 0 (QEMU status 1).
# On QEMU: -bios realmode.bin (the flat image; realmode.elf has the symbols).
# Runs without RAM initialised by anyone: stack at 0:7000, data only in RAM.
#
# Serial transcript on QEMU:
#   real mode: hello from the reset vector
#   real mode: int 0x30 handler got ax=0x1234
#   real mode: int 0x30 returned ax=0x1235
#   real mode: a20 enabled via port 0x92, no wrap at 1 MiB
#   protected mode: cr0=0x60000011
# Failure paths print a line starting "realmode: " and exit with code 1.

        .set ROM_SEG, 0xF000            # the image is F000:0000 = linear 0xF0000
        .set STACK_TOP, 0x7000
        .set IVT_INT30, 0x30 * 4        # offset, segment of the INT 0x30 handler
        .set A20_PROBE, 0x500           # 0:0500 and FFFF:0510 are the same byte without A20
        .set CODE32_SEL, 0x08
        .set DATA32_SEL, 0x10

        .text
# rom_base: the first byte of the image (bios.ld puts .text at 0xF0000).
# Real-mode code addresses its code and data as "label - rom_base", the
# offset within segment F000: a difference the assembler computes, because
# label and rom_base are in the same section. (Hence the 16-bit strings and
# the GDT live in .text too, in subsection 1, after the code.)
rom_base:
        .include "io32.inc"             # the 32-bit routines, for protected mode

# PRINT16 "text": print a string literal (placed in .text) with DS = F000.
        .macro PRINT16 text
        .pushsection .text, 1
.Lprint16_\@:
        .asciz "\text"
        .popsection
        push %si
        mov $(.Lprint16_\@ - rom_base), %si
        call puts16
        pop %si
        .endm

# ---------------------------------------------------------------- real mode
        .code16
        .text
rm_start:
        cli
        cld
        xor %ax, %ax
        mov %ax, %ss
        mov $STACK_TOP, %sp
        mov $ROM_SEG, %ax
        mov %ax, %ds
        call serial_init16
        PRINT16 "real mode: hello from the reset vector\n"

        xor %ax, %ax                    # install the INT 0x30 handler
        mov %ax, %es
        movw $(int30_handler - rom_base), %es:IVT_INT30
        movw $ROM_SEG, %es:IVT_INT30 + 2
        mov $0x1234, %ax
        int $0x30
        cmp $0x1235, %ax
        jne .Lbad_int30
        PRINT16 "real mode: int 0x30 returned ax="
        call puthex16
        PRINT16 "\n"

        in $0x92, %al                   # fast A20: set bit 1, never bit 0 (reset)
        or $0x02, %al
        and $0xFE, %al
        out %al, $0x92
        xor %ax, %ax
        mov %ax, %es
        mov $0xFFFF, %ax
        mov %ax, %fs
        movw $0x1111, %es:A20_PROBE     # 0x000500
        movw $0x2222, %fs:A20_PROBE + 0x10  # 0x100500, or 0x000500 if it wraps
        cmpw $0x1111, %es:A20_PROBE
        jne .Lbad_a20
        PRINT16 "real mode: a20 enabled via port 0x92, no wrap at 1 MiB\n"

        lgdtl %cs:(gdt_ptr - rom_base) # 32-bit operand size: full 32-bit base
        mov %cr0, %eax
        or $1, %eax                     # PE
        mov %eax, %cr0
        ljmpl $CODE32_SEL, $pm_start

.Lbad_int30:
        PRINT16 "realmode: int 0x30 returned ax="
        call puthex16
        PRINT16 "\n"
        jmp .Lfail16
.Lbad_a20:
        PRINT16 "realmode: a20 still wraps at 1 MiB\n"
.Lfail16:
        mov $1, %al
        out %al, $DEBUG_EXIT_PORT
1:      hlt
        jmp 1b

# int30_handler: prints the AX it got, returns AX + 1.
int30_handler:
        PRINT16 "real mode: int 0x30 handler got ax="
        call puthex16
        PRINT16 "\n"
        inc %ax
        iret

# serial_init16: as serial_init32 (io32.inc).
serial_init16:
        push %ax
        push %dx
        mov $COM1_IER, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1_LCR, %dx
        mov $0x80, %al
        out %al, %dx
        mov $COM1_DLL, %dx
        mov $1, %al
        out %al, %dx
        mov $COM1_DLM, %dx
        xor %al, %al
        out %al, %dx
        mov $COM1_LCR, %dx
        mov $0x03, %al
        out %al, %dx
        mov $COM1_FCR, %dx
        mov $0x07, %al
        out %al, %dx
        mov $COM1_MCR, %dx
        mov $0x03, %al
        out %al, %dx
        pop %dx
        pop %ax
        ret

# putc16: send AL.
putc16:
        push %dx
        push %ax
        mov $COM1_LSR, %dx
1:      in %dx, %al
        test $LSR_THRE, %al
        jz 1b
        pop %ax
        mov $COM1_THR, %dx
        out %al, %dx
        pop %dx
        ret

# puts16: send the NUL-terminated string at DS:SI.
puts16:
        push %si
        push %ax
1:      lodsb
        test %al, %al
        jz 2f
        call putc16
        jmp 1b
2:      pop %ax
        pop %si
        ret

# puthex16: send AX as "0x" and lower-case hex digits, no leading zeros.
puthex16:
        push %ax
        push %cx
        push %dx
        mov %ax, %dx
        mov $'0', %al
        call putc16
        mov $'x', %al
        call putc16
        mov $4, %cx
1:      cmp $1, %cx
        je 2f
        test $0xF000, %dx
        jnz 2f
        shl $4, %dx
        dec %cx
        jmp 1b
2:      rol $4, %dx
        mov %dl, %al
        and $0x0F, %al
        add $'0', %al
        cmp $'9', %al
        jbe 3f
        add $('a' - '0' - 10), %al
3:      call putc16
        dec %cx
        jnz 2b
        pop %dx
        pop %cx
        pop %ax
        ret

# ---------------------------------------------------------------- protected mode
        .code32
pm_start:
        mov $DATA32_SEL, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %fs
        mov %ax, %gs
        mov %ax, %ss
        mov $STACK_TOP, %esp
        PRINT32 "protected mode: cr0="
        mov %cr0, %eax
        call puthex32
        PRINT32 "\n"
        mov $0, %al
        call exit32

        .text 1
        .balign 8
gdt:
        .quad 0                         # null
        .quad 0x00CF9A000000FFFF        # 0x08 code, 32-bit, flat
        .quad 0x00CF92000000FFFF        # 0x10 data, flat
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt

# ---------------------------------------------------------------- reset vector
        .section .reset, "ax"
        .code16
        .globl reset_vector
reset_vector:
        ljmp $ROM_SEG, $(rm_start - rom_base)   # reload CS: base F0000 instead of FFFF0000
        .balign 16, 0
