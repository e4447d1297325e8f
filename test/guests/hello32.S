# build: 32 multiboot
#
# hello32 -- the smallest guest: a Multiboot kernel in 32-bit protected mode.
# Checks what the loader hands over (EAX = 0x2BADB002, EBX = the Multiboot
# information with flags bit 0 set), prints a greeting and the memory sizes,
# and exits with code 0 (QEMU status 1).
#
# Serial transcript on QEMU (-m 128):
#   hello from vmscope
#   multiboot: eax=0x2badb002, info flags bit 0 set
#   memory: lower 639 KiB, upper 129920 KiB
# Failure paths print a line starting "hello32: " and exit with code 1.

        .include "multiboot.inc"
        .include "io32.inc"

        MULTIBOOT_HEADER

        .code32
        .text
        .globl _start
_start:
        cli
        cld
        mov $stack_top, %esp
        mov %eax, %esi                  # keep the loader's EAX and EBX
        mov %ebx, %edi
        call serial_init32
        PRINT32 "hello from vmscope\n"

        cmp $MB_BOOT_MAGIC, %esi
        jne bad_magic
        testl $MBI_FLAG_MEMORY, MBI_FLAGS(%edi)
        jz no_meminfo
        PRINT32 "multiboot: eax="
        mov %esi, %eax
        call puthex32
        PRINT32 ", info flags bit 0 set\n"

        PRINT32 "memory: lower "
        mov MBI_MEM_LOWER(%edi), %eax
        call putdec32
        PRINT32 " KiB, upper "
        mov MBI_MEM_UPPER(%edi), %eax
        call putdec32
        PRINT32 " KiB\n"

        mov $0, %al
        call exit32

bad_magic:
        PRINT32 "hello32: not started by a Multiboot loader, eax="
        mov %esi, %eax
        call puthex32
        PRINT32 "\n"
        mov $1, %al
        call exit32

no_meminfo:
        PRINT32 "hello32: multiboot info flags bit 0 clear\n"
        mov $1, %al
        call exit32

        .bss
        .balign 16
stack:  .skip 4096
stack_top:
