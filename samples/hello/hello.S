# build: 64 multiboot
#
# hello.S -- a tiny kernel to step through with vmscope.
#
# A Multiboot loader (vmscope, or QEMU's -kernel) starts it in 32-bit
# protected mode. It then
#   1. builds page tables (the first 1 GiB identity-mapped with 2 MiB pages;
#      the page at 2 MiB, holding the user program, is user-accessible),
#   2. turns on long mode (CR4.PAE, EFER.LME, CR0.PG) and jumps to 64-bit code,
#   3. sets up SYSCALL (EFER.SCE and the STAR/LSTAR/FMASK MSRs),
#   4. drops to ring 3 with IRETQ,
# and the user program makes three system calls: write, getpid and exit.
# Output goes to the serial port (COM1); exit writes to port 0xF4, which ends
# the run (QEMU's isa-debug-exit; vmscope's CLI exits with the same status).
#
# Serial output:
#   kernel: hello from 32-bit protected mode
#   kernel: long mode on
#   kernel: going to ring 3
#   user: hello from ring 3
#   user: getpid() = 7
#   kernel: exit(0)
#
# Build: as --64 -g -o hello.o hello.S && ld -m elf_x86_64 -T link.ld -o hello64.elf hello.o
#        && objcopy -O elf32-i386 hello64.elf hello.elf    (Multiboot wants ELF32)

        .set COM1, 0x3F8
        .set COM1_LSR, COM1 + 5
        .set EXIT_PORT, 0xF4
        .set KERNEL_CS, 0x08            # GDT selectors
        .set KERNEL_DS, 0x10
        .set USER_DS, 0x18 | 3          # | 3: requested privilege level 3
        .set USER_CS, 0x20 | 3
        .set BOOT_CS32, 0x28
        .set SYS_WRITE, 1
        .set SYS_GETPID, 2
        .set SYS_EXIT, 3

# ---- the Multiboot header: magic, flags, checksum (magic + flags + checksum = 0)
        .section .multiboot, "a"
        .balign 4
        .long 0x1BADB002, 0, -0x1BADB002

# ---- 32-bit protected mode, paging off
        .text
        .code32
        .globl _start
_start:
        mov $kernel_stack_top, %esp
        mov $msg_hello32, %esi
        call print32

        lgdt gdt_ptr                    # our own segments
        ljmp $BOOT_CS32, $1f
1:      mov $KERNEL_DS, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss

        # Page tables: PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] -> 2 MiB page i.
        # Flags: 1 present, 2 writable, 4 user, 0x80 large (2 MiB) page.
        movl $pdpt + 7, pml4
        movl $pd + 7, pdpt
        xor %ecx, %ecx
2:      mov %ecx, %eax
        shl $21, %eax                   # physical address i * 2 MiB
        or $0x83, %eax                  # present, writable, 2 MiB, kernel only
        cmp $1, %ecx
        jne 3f
        or $4, %eax                     # ... except page 1 (2-4 MiB): user
3:      mov %eax, pd(, %ecx, 8)
        inc %ecx
        cmp $512, %ecx
        jb 2b

        mov %cr4, %eax
        or $0x20, %eax                  # CR4.PAE
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $0xC0000080, %ecx           # EFER
        rdmsr
        or $0x101, %eax                 # LME (long mode enable), SCE (syscall enable)
        wrmsr
        mov %cr0, %eax
        or $0x80000000, %eax            # CR0.PG: paging on, long mode active
        mov %eax, %cr0
        ljmp $KERNEL_CS, $long_mode     # a 64-bit code segment

print32:                                # ESI: NUL-terminated string
        lodsb
        test %al, %al
        jz 2f
        mov %al, %ah
        mov $COM1_LSR, %dx
1:      in %dx, %al                     # wait until the UART can take a byte
        test $0x20, %al
        jz 1b
        mov %ah, %al
        mov $COM1, %dx
        out %al, %dx
        jmp print32
2:      ret

# ---- 64-bit long mode, ring 0
        .code64
long_mode:
        lea msg_long(%rip), %rsi
        call print

        lea tss(%rip), %rax             # the TSS: its RSP0 is the stack for ring 3 -> 0
        mov %ax, gdt_tss + 2(%rip)      # (this kernel sets it, nothing here uses it)
        shr $16, %rax
        mov %al, gdt_tss + 4(%rip)
        mov %ah, gdt_tss + 7(%rip)
        mov $0x30, %ax
        ltr %ax

        mov $0xC0000081, %ecx           # STAR: SYSCALL CS = 0x08, SYSRET CS = 0x10 + 16 = 0x20
        xor %eax, %eax
        mov $((0x10 | 3) << 16 | KERNEL_CS), %edx
        wrmsr
        mov $0xC0000082, %ecx           # LSTAR: where SYSCALL goes
        lea syscall_entry(%rip), %rax
        xor %edx, %edx
        wrmsr
        mov $0xC0000084, %ecx           # FMASK: RFLAGS bits cleared by SYSCALL (IF, TF, DF)
        mov $0x700, %eax
        wrmsr

        lea msg_ring3(%rip), %rsi
        call print
        pushq $USER_DS                  # IRETQ frame: SS, RSP, RFLAGS, CS, RIP
        pushq $user_stack_top
        pushq $0x2
        pushq $USER_CS
        pushq $user_main
        iretq

syscall_entry:                          # RAX = number, RDI/RSI = arguments
        mov %rsp, user_rsp(%rip)        # SYSCALL does not switch stacks
        lea kernel_stack_top(%rip), %rsp
        push %rcx                       # user RIP
        push %r11                       # user RFLAGS
        cmp $SYS_WRITE, %rax
        je sys_write
        cmp $SYS_GETPID, %rax
        je sys_getpid
        cmp $SYS_EXIT, %rax
        je sys_exit
        mov $-1, %rax
sysret:
        pop %r11
        pop %rcx
        mov user_rsp(%rip), %rsp
        sysretq                         # back to ring 3 at RCX

sys_write:                              # write(RDI = string)
        mov %rdi, %rsi
        call print
        xor %eax, %eax
        jmp sysret
sys_getpid:
        mov $7, %eax
        jmp sysret
sys_exit:                               # exit(RDI = code, 0-9)
        lea msg_exit(%rip), %rsi
        call print
        mov %edi, %eax
        add $'0', %al
        call putc
        lea msg_exit_end(%rip), %rsi
        call print
        mov %edi, %eax
        out %al, $EXIT_PORT             # the end
1:      hlt
        jmp 1b

print:                                  # RSI: NUL-terminated string
        lodsb
        test %al, %al
        jz 1f
        call putc
        jmp print
1:      ret

putc:                                   # AL
        push %rdx
        push %rax
        mov $COM1_LSR, %dx
1:      in %dx, %al
        test $0x20, %al
        jz 1b
        pop %rax
        mov $COM1, %dx
        out %al, %dx
        pop %rdx
        ret

        .section .rodata
msg_hello32: .asciz "kernel: hello from 32-bit protected mode\n"
msg_long:    .asciz "kernel: long mode on\n"
msg_ring3:   .asciz "kernel: going to ring 3\n"
msg_exit:    .asciz "kernel: exit("
msg_exit_end: .asciz ")\n"

        .data
        .balign 8
gdt:    .quad 0                         # 0x00 null
        .quad 0x00AF9A000000FFFF        # 0x08 kernel code, 64-bit
        .quad 0x00CF92000000FFFF        # 0x10 kernel data
        .quad 0x00CFF2000000FFFF        # 0x18 user data (DPL 3)
        .quad 0x00AFFA000000FFFF        # 0x20 user code, 64-bit (DPL 3)
        .quad 0x00CF9A000000FFFF        # 0x28 kernel code, 32-bit (for the switch)
gdt_tss: .quad 0x0000890000000067       # 0x30 TSS, 104 bytes (base filled in)
        .quad 0
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .quad gdt
tss:    .long 0
        .quad kernel_stack_top          # RSP0
        .skip 104 - 12
user_rsp: .quad 0

        .bss
        .balign 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096
        .skip 8192
kernel_stack_top:

# ---- the user program, ring 3 (linked at 2 MiB, in the user page)
        .section .user_text, "ax"
user_main:
        mov $SYS_WRITE, %eax
        lea msg_user(%rip), %rdi
        syscall
        mov $SYS_GETPID, %eax
        syscall
        add $'0', %al                   # one digit is enough here
        mov %al, pid_digit(%rip)
        mov $SYS_WRITE, %eax
        lea msg_pid(%rip), %rdi
        syscall
        mov $SYS_EXIT, %eax
        mov $0, %edi
        syscall

msg_user: .asciz "user: hello from ring 3\n"

        .section .user_data, "aw"
msg_pid:  .ascii "user: getpid() = "
pid_digit: .asciz "?\n"
        .balign 16
        .skip 4096
user_stack_top:
