# romboot.S -- a 64 KiB system ROM that boots a Multiboot kernel on a machine
# without a Multiboot loader (Bochs 2.7: see /work/shared/PEERS.md). Not a
# guest of its own: `node scripts/build-guests.mjs --rom KERNEL.elf OUT.rom`
# assembles it with a generated romkernel.inc that embeds the kernel's
# loadable segments, and links it with bios.ld (.text at 0xF0000, the reset
# vector at 0xFFFF0).
#
# From the reset vector (real mode, F000:FFF0) it
#   1. enables the A20 line (port 0x92, "fast A20"),
#   2. loads its GDT (in the ROM) and enters 32-bit protected mode with flat
#      4 GiB code and data segments, interrupts off,
#   3. copies each loadable segment of the kernel from the ROM to its
#      physical address (p_paddr) and zeroes the rest of the segment (p_memsz
#      beyond p_filesz: .bss),
#   4. writes a minimal Multiboot information structure at MBI_ADDR: flags =
#      bit 0 (mem_lower/mem_upper valid), mem_lower = base memory and
#      mem_upper = memory above 1 MiB, both in KiB as the CMOS reports them
#      (registers 0x15/0x16, and 0x34/0x35 in 64 KiB blocks above 16 MiB, else
#      0x17/0x18),
#   5. jumps to the kernel's entry point (e_entry) with EAX = 0x2BADB002 and
#      EBX = MBI_ADDR: the machine state of Multiboot spec section 3.2 (CS a
#      32-bit flat code segment, DS/ES/FS/GS/SS flat data, CR0.PE = 1,
#      CR0.PG = 0, EFLAGS.IF = 0, A20 on). ESP points below MBI_ADDR, but the
#      specification promises no stack: kernels set their own.
#
# romkernel.inc defines KERNEL_ENTRY and a macro KERNEL_SEGMENTS that expands
# to one `SEGMENT paddr, memsz, filesz, offset` per loadable segment, the
# bytes being `.incbin "kernel.elf", offset, filesz` (romkernel.inc and
# kernel.elf are in the directory the script passes with -I).

        .include "romkernel.inc"

        .set ROM_SEG, 0xF000            # the ROM is F000:0000 = linear 0xF0000
        .set CODE32_SEL, 0x08
        .set DATA32_SEL, 0x10
        .set MBI_ADDR, 0x9000           # Multiboot information (below 640 KiB)
        .set STACK_TOP, MBI_ADDR
        .set MB_BOOT_MAGIC, 0x2BADB002
        .set CMOS_INDEX, 0x70
        .set CMOS_DATA, 0x71

# SEGMENT: one table entry {paddr, address in the ROM, filesz, memsz} in
# subsection 2 and the segment's bytes in subsection 3.
        .macro SEGMENT paddr, memsz, filesz, offset
        .pushsection .text, 3
.Lseg_bytes_\@:
        .if \filesz
        .incbin "kernel.elf", \offset, \filesz
        .endif
        .popsection
        .pushsection .text, 2
        .long \paddr, .Lseg_bytes_\@, \filesz, \memsz
        .popsection
        .endm

        .text
rom_base:                               # 0xF0000

# ---------------------------------------------------------------- real mode
        .code16
rm_start:
        cli
        cld
        in $0x92, %al                   # A20 on: bit 1; never bit 0 (reset)
        or $0x02, %al
        and $0xFE, %al
        out %al, $0x92
        lgdtl %cs:(gdt_ptr - rom_base)  # 32-bit operand size: full base
        mov %cr0, %eax
        or $1, %eax                     # PE
        mov %eax, %cr0
        ljmpl $CODE32_SEL, $pm_start

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

        mov $segment_table, %ebx        # copy the kernel into place
1:      cmp $segment_table_end, %ebx
        jae 2f
        mov 0(%ebx), %edi               # paddr
        mov 4(%ebx), %esi               # bytes in the ROM
        mov 8(%ebx), %ecx               # filesz
        rep movsb
        mov 12(%ebx), %ecx              # memsz - filesz: zeroed
        sub 8(%ebx), %ecx
        xor %eax, %eax
        rep stosb
        add $16, %ebx
        jmp 1b

2:      mov $MBI_ADDR, %edi             # Multiboot information: 88 bytes, zeroed
        mov $22, %ecx
        xor %eax, %eax
        rep stosl
        movl $1, MBI_ADDR               # flags: bit 0, memory sizes
        mov $0x16, %al                  # mem_lower: CMOS 0x15/0x16 (KiB)
        call cmos_word
        mov %eax, MBI_ADDR + 4
        mov $0x35, %al                  # mem_upper: 64 KiB blocks above 16 MiB ...
        call cmos_word
        test %eax, %eax
        jz 3f
        shl $6, %eax
        add $(15 * 1024), %eax          # ... plus the 15 MiB between 1 and 16 MiB
        jmp 4f
3:      mov $0x18, %al                  # ... or extended memory in KiB (< 64 MiB)
        call cmos_word
4:      mov %eax, MBI_ADDR + 8

        mov $MB_BOOT_MAGIC, %eax
        mov $MBI_ADDR, %ebx
        mov $KERNEL_ENTRY, %ecx
        jmp *%ecx

# cmos_word: AL = index of the high byte H (the low byte is at H - 1);
# returns EAX = the 16-bit value. Clobbers EDX.
cmos_word:
        mov %al, %dl
        out %al, $CMOS_INDEX
        in $CMOS_DATA, %al
        mov %al, %dh
        mov %dl, %al
        dec %al
        out %al, $CMOS_INDEX
        in $CMOS_DATA, %al
        mov %al, %dl
        movzwl %dx, %eax
        ret

# ---------------------------------------------------------------- data
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

        .text 2
        .balign 4
segment_table:
        KERNEL_SEGMENTS
        .text 2
segment_table_end:

# ---------------------------------------------------------------- reset vector
        .section .reset, "ax"
        .code16
        .globl reset_vector
reset_vector:
        ljmp $ROM_SEG, $(rm_start - rom_base)   # CS base F0000 from here on
        .balign 16, 0
