# build: 64 multiboot
#
# hypervisor.S -- a small hypervisor to step through with vmscope.
#
# A Multiboot kernel that becomes a hypervisor with Intel VT-x (VMX) and runs
# one guest under it. Read it top to bottom; each step says which part of
# the Intel SDM (vol. 3C, "VMX") it follows.
#
#   1. 32-bit boot: serial port, page tables (first 1 GiB identity-mapped),
#      long mode.
#   2. VMX on: is VMX there (CPUID), is it allowed (IA32_FEATURE_CONTROL),
#      CR0/CR4 as VMX wants them, VMXON.
#   3. The VMCS: a 4 KiB region the CPU keeps the guest's and the host's state
#      in, plus the controls saying what makes the guest exit. VMCLEAR,
#      VMPTRLD, then one VMWRITE per field.
#   4. EPT: the guest's "physical" memory is translated once more, through
#      tables the hypervisor owns. Here the guest gets 0-128 MiB, identity.
#   5. VMLAUNCH. From here the CPU runs the guest until something it must
#      not do alone happens; then it saves the guest's state in the VMCS,
#      loads the host's, and jumps to the host's RIP: a VM exit.
#   6. The exit handler looks at the exit reason, does the work, and
#      VMRESUMEs the guest.
#
# The guest (guest_entry) prints a greeting through I/O port 0xE9 (every
# OUT is an exit; the hypervisor collects the characters), asks CPUID for
# the hypervisor's signature, makes a hypercall with VMCALL, writes to
# memory that EPT does not map (the hypervisor maps a page there and lets it
# retry), and halts.
#
# Things to try in VS Code: set the "VM exit" breakpoint filter (all exits,
# or a condition such as "CPUID, EPT_VIOLATION"), watch the VMCS view change
# at VMLAUNCH and at each exit, and open the memory map of the guest's EPT.
#
# Serial output:
#   hv: hello from the hypervisor
#   hv: vmx on, vmcs ready, launching the guest
#   guest: hello from the guest
#   hv: exit CPUID (10) at rip 0x10085b: leaf 0x40000000, answering "vmscope-hv!!"
#   hv: exit VMCALL (18) at rip 0x100862: hypercall rax=0x2a, returning 0x2b
#   hv: exit EPT_VIOLATION (48) at rip 0x10086a: write to gpa 0x8000000, mapping a page there
#   hv: exit HLT (12) at rip 0x100874: the guest is done after 25 exits
# (The "guest:" line took 21 exits, one OUT per character.)
#
# Build: as --64 -g -o hypervisor.o hypervisor.S
#        && ld -m elf_x86_64 -T link.ld -o hypervisor64.elf hypervisor.o
#        && objcopy -O elf32-i386 hypervisor64.elf hypervisor.elf
# (or `node scripts/build-guests.mjs hypervisor` in the vmscope repository).
# Runs on vmscope's emulator and on Bochs 2.7 (QEMU's TCG has no VMX).

# ---------------------------------------------------------------- constants
        .set COM1, 0x3F8                # serial port (16550 UART)
        .set COM1_LSR, COM1 + 5         # line status: bit 5 = ready to send
        .set EXIT_PORT, 0xF4            # writing here ends the run (QEMU, vmscope)
        .set BOCHS_SHUTDOWN, 0x8900     # "Shutdown" written here ends Bochs
        .set GUEST_CONSOLE, 0xE9        # the guest's "console" port
        .set CODE64, 0x08               # GDT selectors
        .set DATA, 0x10
        .set TSS, 0x18
        .set EPT_UNMAPPED_GPA, 0x8000000        # 128 MiB: past what EPT maps

        # MSRs
        .set IA32_FEATURE_CONTROL, 0x3A
        .set IA32_VMX_BASIC, 0x480
        .set IA32_VMX_PINBASED_CTLS, 0x481
        .set IA32_VMX_PROCBASED_CTLS, 0x482
        .set IA32_VMX_EXIT_CTLS, 0x483
        .set IA32_VMX_ENTRY_CTLS, 0x484
        .set IA32_VMX_CR0_FIXED0, 0x486
        .set IA32_VMX_CR0_FIXED1, 0x487
        .set IA32_VMX_CR4_FIXED0, 0x488
        .set IA32_VMX_CR4_FIXED1, 0x489
        .set IA32_VMX_PROCBASED_CTLS2, 0x48B
        .set IA32_VMX_EPT_VPID_CAP, 0x48C
        .set IA32_EFER, 0xC0000080

        # VMCS fields: each has a 32-bit encoding (SDM appendix B)
        .set GUEST_ES_SELECTOR, 0x0800  # 16-bit guest state: 0x08xx
        .set GUEST_CS_SELECTOR, 0x0802
        .set GUEST_SS_SELECTOR, 0x0804
        .set GUEST_DS_SELECTOR, 0x0806
        .set GUEST_TR_SELECTOR, 0x080E
        .set HOST_ES_SELECTOR, 0x0C00   # 16-bit host state: 0x0Cxx
        .set HOST_CS_SELECTOR, 0x0C02
        .set HOST_SS_SELECTOR, 0x0C04
        .set HOST_DS_SELECTOR, 0x0C06
        .set HOST_TR_SELECTOR, 0x0C0C
        .set EPT_POINTER, 0x201A        # 64-bit control
        .set GUEST_PHYSICAL_ADDRESS, 0x2400     # 64-bit exit information
        .set VMCS_LINK_POINTER, 0x2800  # 64-bit guest state
        .set PIN_BASED_CONTROLS, 0x4000 # 32-bit controls
        .set PROC_BASED_CONTROLS, 0x4002
        .set EXCEPTION_BITMAP, 0x4004
        .set EXIT_CONTROLS, 0x400C
        .set ENTRY_CONTROLS, 0x4012
        .set PROC_BASED_CONTROLS2, 0x401E
        .set EXIT_REASON, 0x4402        # 32-bit exit information
        .set EXIT_INSTRUCTION_LEN, 0x440C
        .set GUEST_ES_LIMIT, 0x4800     # 32-bit guest state
        .set GUEST_CS_LIMIT, 0x4802
        .set GUEST_SS_LIMIT, 0x4804
        .set GUEST_DS_LIMIT, 0x4806
        .set GUEST_TR_LIMIT, 0x480E
        .set GUEST_GDTR_LIMIT, 0x4810
        .set GUEST_IDTR_LIMIT, 0x4812
        .set GUEST_ES_ACCESS, 0x4814
        .set GUEST_CS_ACCESS, 0x4816
        .set GUEST_SS_ACCESS, 0x4818
        .set GUEST_DS_ACCESS, 0x481A
        .set GUEST_FS_ACCESS, 0x481C
        .set GUEST_GS_ACCESS, 0x481E
        .set GUEST_LDTR_ACCESS, 0x4820
        .set GUEST_TR_ACCESS, 0x4822
        .set GUEST_CR0, 0x6800          # natural-width guest state
        .set GUEST_CR3, 0x6802
        .set GUEST_CR4, 0x6804
        .set GUEST_TR_BASE, 0x6814
        .set GUEST_GDTR_BASE, 0x6816
        .set GUEST_IDTR_BASE, 0x6818
        .set GUEST_DR7, 0x681A
        .set GUEST_RSP, 0x681C
        .set GUEST_RIP, 0x681E
        .set GUEST_RFLAGS, 0x6820
        .set HOST_CR0, 0x6C00           # natural-width host state
        .set HOST_CR3, 0x6C02
        .set HOST_CR4, 0x6C04
        .set HOST_TR_BASE, 0x6C0A
        .set HOST_GDTR_BASE, 0x6C0C
        .set HOST_IDTR_BASE, 0x6C0E
        .set HOST_RSP, 0x6C14
        .set HOST_RIP, 0x6C16

        # basic exit reasons (SDM appendix C)
        .set EXIT_CPUID, 10
        .set EXIT_HLT, 12
        .set EXIT_VMCALL, 18
        .set EXIT_IO, 30
        .set EXIT_EPT_VIOLATION, 48

# VMWRITE_FIELD field, value: write one VMCS field. VMWRITE takes the field's
# encoding in a register and the value in a register (or memory). A failure
# sets CF or ZF: we stop there.
        .macro VMWRITE_FIELD field, value
        mov \value, %rax
        mov $\field, %edx
        vmwrite %rax, %rdx
        jbe vmx_error
        .endm

# VMREAD_FIELD field: RAX = the VMCS field.
        .macro VMREAD_FIELD field
        mov $\field, %edx
        vmread %rdx, %rax
        .endm

# ---------------------------------------------------------------- 1. boot
# A Multiboot loader (vmscope, QEMU's -kernel, GRUB) finds this header in
# the first 8 KiB and starts _start in 32-bit protected mode, paging off.
        .section .multiboot, "a"
        .balign 4
        .long 0x1BADB002, 0, -0x1BADB002        # magic, flags, checksum

        .text
        .code32
        .globl _start
_start:
        mov $host_stack_top, %esp
        call serial_init

        # Page tables for long mode: PML4[0] -> PDPT[0] -> PD, whose 512
        # entries map 2 MiB each: virtual = physical for the first 1 GiB.
        # The guest will use these same tables (its CR3 is ours).
        movl $pdpt + 3, pml4            # + 3: present, writable
        movl $pd + 3, pdpt
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $21, %eax
        or $0x83, %eax                  # present, writable, 2 MiB page
        mov %eax, pd(, %ecx, 8)
        inc %ecx
        cmp $512, %ecx
        jb 1b

        lgdt gdt_ptr
        mov %cr4, %eax
        or $0x20, %eax                  # CR4.PAE
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $IA32_EFER, %ecx
        rdmsr
        or $0x100, %eax                 # EFER.LME: long mode
        wrmsr
        mov %cr0, %eax
        or $0x80000021, %eax            # CR0.PG (paging), NE (VMX wants it), PE
        mov %eax, %cr0
        ljmp $CODE64, $long_mode        # load a 64-bit code segment

# serial_init: COM1 at 115200 baud, 8 data bits, no parity, 1 stop bit.
serial_init:
        mov $COM1 + 3, %dx              # line control: DLAB on, divisor follows
        mov $0x80, %al
        out %al, %dx
        mov $COM1, %dx                  # divisor 1 (low, high)
        mov $1, %al
        out %al, %dx
        inc %dx
        xor %al, %al
        out %al, %dx
        mov $COM1 + 3, %dx              # 8N1, DLAB off
        mov $0x03, %al
        out %al, %dx
        ret

        .code64
long_mode:
        mov $DATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        lea tss(%rip), %rax             # a TSS: VMX wants a task register
        mov %ax, gdt_tss + 2(%rip)      # (its base goes into the descriptor)
        shr $16, %rax
        mov %al, gdt_tss + 4(%rip)
        mov %ah, gdt_tss + 7(%rip)
        mov $TSS, %ax
        ltr %ax
        lea msg_hello(%rip), %rsi
        call print

# ---------------------------------------------------------------- 2. VMX on
        mov $1, %eax                    # CPUID.1:ECX bit 5: the CPU has VMX
        cpuid
        bt $5, %ecx
        jnc no_vmx

        mov $IA32_FEATURE_CONTROL, %ecx # firmware may lock VMX off; if nobody
        rdmsr                           # locked it yet, allow it and lock
        test $1, %eax                   # bit 0: locked
        jnz 1f
        or $5, %eax                     # bit 2: VMX outside SMX, bit 0: lock
        wrmsr
1:      test $4, %eax
        jz no_vmx

        # In VMX operation some CR0/CR4 bits must be 1 (FIXED0 has them set)
        # and some must be 0 (FIXED1 has them clear). CR4.VMXE turns VMX on.
        mov %cr0, %rbx
        mov $IA32_VMX_CR0_FIXED0, %ecx
        call rdmsr64
        or %rax, %rbx
        mov $IA32_VMX_CR0_FIXED1, %ecx
        call rdmsr64
        and %rax, %rbx
        mov %rbx, %cr0
        mov %cr4, %rbx
        or $0x2000, %rbx                # CR4.VMXE
        mov $IA32_VMX_CR4_FIXED0, %ecx
        call rdmsr64
        or %rax, %rbx
        mov $IA32_VMX_CR4_FIXED1, %ecx
        call rdmsr64
        and %rax, %rbx
        mov %rbx, %cr4

        # VMXON takes the physical address of a 4 KiB region that starts
        # with the VMCS revision identifier of IA32_VMX_BASIC (bits 30:0).
        mov $IA32_VMX_BASIC, %ecx
        rdmsr
        and $0x7FFFFFFF, %eax
        mov %eax, vmxon_region(%rip)
        mov %eax, vmcs(%rip)            # the VMCS region starts with it too
        vmxon vmxon_region_address(%rip)
        jbe vmx_error                   # CF or ZF set: it failed

# ---------------------------------------------------------------- 3. the VMCS
        vmclear vmcs_address(%rip)      # initialise the region, launch state "clear"
        jbe vmx_error
        vmptrld vmcs_address(%rip)      # make it the current VMCS
        jbe vmx_error

        # Controls. Each control word has a capability MSR: its low half has
        # a 1 for each bit that must be 1, its high half a 0 for each bit that
        # must be 0. adjust_controls applies both to the bits we want.
        mov $IA32_VMX_PINBASED_CTLS, %ecx
        xor %edi, %edi                  # nothing: no interrupts here
        call adjust_controls
        VMWRITE_FIELD PIN_BASED_CONTROLS, %rdi
        mov $IA32_VMX_PROCBASED_CTLS, %ecx
        mov $(1 << 7 | 1 << 24 | 1 << 31), %edi # HLT exits, all I/O exits, secondary controls
        call adjust_controls
        VMWRITE_FIELD PROC_BASED_CONTROLS, %rdi
        mov $IA32_VMX_PROCBASED_CTLS2, %ecx
        mov $(1 << 1), %edi             # enable EPT
        call adjust_controls
        VMWRITE_FIELD PROC_BASED_CONTROLS2, %rdi
        mov $IA32_VMX_EXIT_CTLS, %ecx
        mov $(1 << 9), %edi             # the host is 64-bit
        call adjust_controls
        VMWRITE_FIELD EXIT_CONTROLS, %rdi
        mov $IA32_VMX_ENTRY_CTLS, %ecx
        mov $(1 << 9), %edi             # the guest is 64-bit ("IA-32e mode guest")
        call adjust_controls
        VMWRITE_FIELD ENTRY_CONTROLS, %rdi
        VMWRITE_FIELD EXCEPTION_BITMAP, $0xFFFFFFFF     # any guest exception exits

        # Many fields are simply 0 (no MSR lists, no CR3 targets, FS, GS and
        # LDTR unusable, no SYSENTER...). Write them anyway: the SDM does not
        # promise that a fresh VMCS reads as 0.
        lea zero_fields(%rip), %rsi
1:      movzwl (%rsi), %edx
        cmp $0xFFFF, %edx
        je 2f
        xor %eax, %eax
        vmwrite %rax, %rdx
        jbe vmx_error
        add $2, %rsi
        jmp 1b
2:

        # Host state: what the CPU loads at every VM exit. Ours, now.
        mov %cr0, %rbx
        VMWRITE_FIELD HOST_CR0, %rbx
        mov %cr3, %rbx
        VMWRITE_FIELD HOST_CR3, %rbx
        mov %cr4, %rbx
        VMWRITE_FIELD HOST_CR4, %rbx
        VMWRITE_FIELD HOST_CS_SELECTOR, $CODE64
        VMWRITE_FIELD HOST_SS_SELECTOR, $DATA
        VMWRITE_FIELD HOST_DS_SELECTOR, $DATA
        VMWRITE_FIELD HOST_ES_SELECTOR, $DATA
        VMWRITE_FIELD HOST_TR_SELECTOR, $TSS
        lea tss(%rip), %rbx
        VMWRITE_FIELD HOST_TR_BASE, %rbx
        lea gdt(%rip), %rbx
        VMWRITE_FIELD HOST_GDTR_BASE, %rbx
        sidt idt_ptr(%rip)              # (no IDT of our own: whatever the loader left)
        VMWRITE_FIELD HOST_IDTR_BASE, idt_ptr + 2(%rip)
        lea host_stack_top(%rip), %rbx  # the exit handler's stack and address
        VMWRITE_FIELD HOST_RSP, %rbx
        lea vm_exit(%rip), %rbx
        VMWRITE_FIELD HOST_RIP, %rbx

        # Guest state: what the CPU loads at VM entry. A 64-bit ring-0 guest
        # on the same page tables, segments and TSS as the host. Access
        # rights are the descriptor's attribute bits: 0xA09B = 64-bit code,
        # 0xC093 = data, 0x8B = busy 64-bit TSS, 0x10000 = "unusable".
        mov %cr0, %rbx
        VMWRITE_FIELD GUEST_CR0, %rbx
        mov %cr3, %rbx
        VMWRITE_FIELD GUEST_CR3, %rbx
        mov %cr4, %rbx
        VMWRITE_FIELD GUEST_CR4, %rbx
        VMWRITE_FIELD GUEST_DR7, $0x400
        VMWRITE_FIELD GUEST_CS_SELECTOR, $CODE64
        VMWRITE_FIELD GUEST_CS_LIMIT, $0xFFFFFFFF
        VMWRITE_FIELD GUEST_CS_ACCESS, $0xA09B
        VMWRITE_FIELD GUEST_SS_SELECTOR, $DATA
        VMWRITE_FIELD GUEST_SS_LIMIT, $0xFFFFFFFF
        VMWRITE_FIELD GUEST_SS_ACCESS, $0xC093
        VMWRITE_FIELD GUEST_DS_SELECTOR, $DATA
        VMWRITE_FIELD GUEST_DS_LIMIT, $0xFFFFFFFF
        VMWRITE_FIELD GUEST_DS_ACCESS, $0xC093
        VMWRITE_FIELD GUEST_ES_SELECTOR, $DATA
        VMWRITE_FIELD GUEST_ES_LIMIT, $0xFFFFFFFF
        VMWRITE_FIELD GUEST_ES_ACCESS, $0xC093
        VMWRITE_FIELD GUEST_FS_ACCESS, $0x10000
        VMWRITE_FIELD GUEST_GS_ACCESS, $0x10000
        VMWRITE_FIELD GUEST_LDTR_ACCESS, $0x10000
        VMWRITE_FIELD GUEST_TR_SELECTOR, $TSS
        lea tss(%rip), %rbx
        VMWRITE_FIELD GUEST_TR_BASE, %rbx
        VMWRITE_FIELD GUEST_TR_LIMIT, $(tss_end - tss - 1)
        VMWRITE_FIELD GUEST_TR_ACCESS, $0x8B
        lea gdt(%rip), %rbx
        VMWRITE_FIELD GUEST_GDTR_BASE, %rbx
        VMWRITE_FIELD GUEST_GDTR_LIMIT, $(gdt_end - gdt - 1)
        VMWRITE_FIELD GUEST_IDTR_BASE, idt_ptr + 2(%rip)
        movzwl idt_ptr(%rip), %ebx
        VMWRITE_FIELD GUEST_IDTR_LIMIT, %rbx
        VMWRITE_FIELD GUEST_RFLAGS, $0x2        # bit 1 is always 1
        lea guest_stack_top(%rip), %rbx
        VMWRITE_FIELD GUEST_RSP, %rbx
        lea guest_entry(%rip), %rbx
        VMWRITE_FIELD GUEST_RIP, %rbx
        VMWRITE_FIELD VMCS_LINK_POINTER, $-1    # no shadow VMCS

# ---------------------------------------------------------------- 4. EPT
        # Four levels like the guest's own page tables, but entry bits are
        # read (1), write (2), execute (4), memory type (6 = write-back, in
        # bits 5:3) and bit 7 for a 2 MiB page. GPA 0-128 MiB -> the same
        # host-physical addresses; everything above is unmapped.
        lea ept_pdpt + 7(%rip), %rax
        mov %rax, ept_pml4(%rip)
        lea ept_pd + 7(%rip), %rax
        mov %rax, ept_pdpt(%rip)
        xor %ecx, %ecx
        lea ept_pd(%rip), %rdx
1:      mov %rcx, %rax
        shl $21, %rax
        or $0xB7, %rax                  # 2 MiB page, write-back, read/write/execute
        mov %rax, (%rdx, %rcx, 8)
        inc %ecx
        cmp $64, %ecx                   # 64 x 2 MiB = 128 MiB
        jb 1b
        lea ept_pml4 + 0x1E(%rip), %rax # EPT pointer: 4 levels (3 << 3), write-back (6)
        mov %rax, eptp(%rip)
        VMWRITE_FIELD EPT_POINTER, %rax

# ---------------------------------------------------------------- 5. launch
        lea msg_launch(%rip), %rsi
        call print
        vmlaunch                        # on success this does not come back:
        jmp vmx_error                   # the next thing we see is a VM exit

# ---------------------------------------------------------------- 6. exits
# Every VM exit lands here (HOST_RIP) on host_stack_top (HOST_RSP). The CPU
# saved the guest's RIP, RSP and RFLAGS in the VMCS, but not its general
# registers: they still hold the guest's values, so save them first.
vm_exit:
        push %rax
        push %rbx
        push %rcx
        push %rdx
        push %rsi
        push %rdi
        incq exit_count(%rip)
        VMREAD_FIELD EXIT_REASON
        movzwl %ax, %eax                # bits 15:0: the basic exit reason
        cmp $EXIT_IO, %eax
        je exit_io
        mov %eax, %ebx
        call print_exit                 # "hv: exit NAME (n) at rip 0x..."
        cmp $EXIT_CPUID, %ebx
        je exit_cpuid
        cmp $EXIT_VMCALL, %ebx
        je exit_vmcall
        cmp $EXIT_EPT_VIOLATION, %ebx
        je exit_ept_violation
        cmp $EXIT_HLT, %ebx
        je exit_hlt
        lea msg_unexpected(%rip), %rsi
        call print
        mov $1, %al
        jmp the_end

exit_io:                                # the guest's OUT (to its console port): collect a line
        mov 40(%rsp), %rax              # the guest's RAX (pushed first: RDI is at 0)
        call console_putc
        jmp skip_instruction

exit_cpuid:                             # CPUID leaf 0x40000000: our signature
        lea msg_cpuid(%rip), %rsi
        call print
        movq $0x40000000, 40(%rsp)      # guest RAX: the highest hypervisor leaf
        mov signature(%rip), %eax
        mov %rax, 32(%rsp)              # guest RBX, RCX, RDX: "vmscope-hv!!"
        mov signature + 4(%rip), %eax
        mov %rax, 24(%rsp)
        mov signature + 8(%rip), %eax
        mov %rax, 16(%rsp)
        jmp skip_instruction

exit_vmcall:                            # hypercall: return RAX + 1
        lea msg_vmcall(%rip), %rsi
        call print
        mov 40(%rsp), %rax
        call puthex
        lea msg_returning(%rip), %rsi
        call print
        inc %rax
        mov %rax, 40(%rsp)
        call puthex
        call newline
        jmp skip_instruction

exit_ept_violation:                     # map a page at the guest-physical address
        VMREAD_FIELD GUEST_PHYSICAL_ADDRESS
        mov %rax, %rbx
        lea msg_ept(%rip), %rsi
        call print
        mov %rbx, %rax
        call puthex
        lea msg_ept_map(%rip), %rsi
        call print
        # A page table for that 2 MiB region, with one 4 KiB page in it.
        lea ept_pt + 7(%rip), %rax
        mov %rbx, %rcx
        shr $21, %rcx                   # which 2 MiB region: its ept_pd entry
        lea ept_pd(%rip), %rdx
        mov %rax, (%rdx, %rcx, 8)
        mov %rbx, %rcx
        shr $12, %rcx
        and $511, %ecx                  # which 4 KiB page in it: its ept_pt entry
        lea extra_page + 0x37(%rip), %rax       # write-back, read/write/execute
        lea ept_pt(%rip), %rdx
        mov %rax, (%rdx, %rcx, 8)
        # The CPU may cache EPT translations: drop them for this EPTP.
        mov $1, %eax                    # single-context
        invept invept_descriptor(%rip), %rax
        jbe vmx_error
        jmp resume                      # RIP unchanged: the guest retries the write

exit_hlt:
        lea msg_done(%rip), %rsi
        call print
        mov exit_count(%rip), %rax
        call putdec
        lea msg_exits(%rip), %rsi
        call print
        mov $0, %al
        jmp the_end

skip_instruction:                       # GUEST_RIP += the exiting instruction's length
        VMREAD_FIELD EXIT_INSTRUCTION_LEN
        mov %rax, %rbx
        VMREAD_FIELD GUEST_RIP
        add %rax, %rbx
        VMWRITE_FIELD GUEST_RIP, %rbx
resume:
        pop %rdi
        pop %rsi
        pop %rdx
        pop %rcx
        pop %rbx
        pop %rax
        vmresume                        # back into the guest
        jmp vmx_error

# ---------------------------------------------------------------- the guest
# Runs in VMX non-root mode: the same instructions, but CPUID, VMCALL, HLT,
# I/O and EPT misses exit to the hypervisor.
guest_entry:
        lea guest_hello(%rip), %rsi
1:      lodsb
        test %al, %al
        jz 2f
        out %al, $GUEST_CONSOLE         # exit: IO_INSTRUCTION
        jmp 1b
2:      mov $0x40000000, %eax
        cpuid                           # exit: CPUID
        mov $42, %eax
        vmcall                          # exit: VMCALL
        mov $EPT_UNMAPPED_GPA, %edi
        movq $0x1234, (%rdi)            # exit: EPT_VIOLATION (and then it works)
        mov (%rdi), %rax
        hlt                             # exit: HLT

# ---------------------------------------------------------------- helpers
# adjust_controls: ECX = capability MSR, EDI = wanted bits; returns EDI with
# the must-be-1 bits set and the must-be-0 bits cleared.
adjust_controls:
        rdmsr                           # EAX = must-be-1 bits, EDX = may-be-1 bits
        or %eax, %edi
        and %edx, %edi
        ret

rdmsr64:                                # RAX = MSR ECX
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
        ret

# print_exit: EBX = basic exit reason. "hv: exit NAME (n) at rip 0x...: "
print_exit:
        lea msg_exit(%rip), %rsi
        call print
        lea exit_names(%rip), %rsi      # records: reason byte, name, NUL
1:      cmpb $0xFF, (%rsi)
        je 3f
        cmpb %bl, (%rsi)
        je 3f
2:      lodsb                           # skip to the next record
        test %al, %al
        jnz 2b
        jmp 1b
3:      inc %rsi
        call print
        lea msg_paren(%rip), %rsi
        call print
        mov %rbx, %rax
        call putdec
        lea msg_at_rip(%rip), %rsi
        call print
        VMREAD_FIELD GUEST_RIP
        call puthex
        lea msg_colon(%rip), %rsi
        jmp print

# console_putc: AL from the guest's console; prints "guest: <line>" at '\n'.
console_putc:
        mov console_len(%rip), %rcx
        lea console_line(%rip), %rdx
        mov %al, (%rdx, %rcx)
        inc %rcx
        mov %rcx, console_len(%rip)
        cmp $'\n', %al
        je 1f
        cmp $79, %rcx
        jb 2f
1:      movb $0, (%rdx, %rcx)
        movq $0, console_len(%rip)
        lea msg_guest(%rip), %rsi
        call print
        mov %rdx, %rsi
        call print
2:      ret

print:                                  # RSI: NUL-terminated string
        push %rax
1:      lodsb
        test %al, %al
        jz 2f
        call putc
        jmp 1b
2:      pop %rax
        ret

newline:
        push %rax
        mov $'\n', %al
        call putc
        pop %rax
        ret

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

puthex:                                 # RAX as 0x..., no leading zeros
        push %rax
        push %rcx
        push %rdx
        mov %rax, %rdx
        mov $'0', %al
        call putc
        mov $'x', %al
        call putc
        mov $60, %ecx
1:      mov %rdx, %rax                  # skip leading zeros (keep the last digit)
        shr %cl, %rax
        test %rax, %rax
        jnz 2f
        sub $4, %ecx
        jnz 1b
2:      mov %rdx, %rax
        shr %cl, %rax
        and $0xF, %eax
        mov hex_digits(%rax), %al
        call putc
        sub $4, %ecx
        jns 2b
        pop %rdx
        pop %rcx
        pop %rax
        ret

putdec:                                 # RAX in decimal
        push %rax
        push %rcx
        push %rdx
        mov $10, %ecx
        xor %edx, %edx
        div %rcx
        test %rax, %rax
        jz 1f
        call putdec
1:      mov %dl, %al
        add $'0', %al
        call putc
        pop %rdx
        pop %rcx
        pop %rax
        ret

no_vmx:
        lea msg_no_vmx(%rip), %rsi
        call print
        mov $1, %al
        jmp the_end

vmx_error:                              # a VMX instruction failed
        lea msg_vmx_error(%rip), %rsi
        call print
        mov $1, %al

# the_end: exit code AL. Port 0xF4 ends the run on QEMU and vmscope; on
# Bochs, "Shutdown" to port 0x8900 does. Wait for the UART to send
# everything first (line status bit 6): Bochs drops what it still holds.
the_end:
        mov %al, %bl
        mov $COM1_LSR, %dx
1:      in %dx, %al
        test $0x40, %al
        jz 1b
        mov %bl, %al
        out %al, $EXIT_PORT
        lea shutdown(%rip), %rsi
        mov $BOCHS_SHUTDOWN, %dx
2:      lodsb
        test %al, %al
        jz 3f
        out %al, %dx
        jmp 2b
3:      cli
        hlt
        jmp 3b

# ---------------------------------------------------------------- data
        .section .rodata
msg_hello:      .asciz "hv: hello from the hypervisor\n"
msg_launch:     .asciz "hv: vmx on, vmcs ready, launching the guest\n"
msg_guest:      .asciz "guest: "
msg_exit:       .asciz "hv: exit "
msg_paren:      .asciz " ("
msg_at_rip:     .asciz ") at rip "
msg_colon:      .asciz ": "
msg_cpuid:      .asciz "leaf 0x40000000, answering \"vmscope-hv!!\"\n"
msg_vmcall:     .asciz "hypercall rax="
msg_returning:  .asciz ", returning "
msg_ept:        .asciz "write to gpa "
msg_ept_map:    .asciz ", mapping a page there\n"
msg_done:       .asciz "the guest is done after "
msg_exits:      .asciz " exits\n"
msg_unexpected: .asciz "not expected, stopping\n"
msg_no_vmx:     .asciz "hv: no vmx on this cpu (or it is locked off)\n"
msg_vmx_error:  .asciz "hv: a vmx instruction failed\n"
guest_hello:    .asciz "hello from the guest\n"
signature:      .ascii "vmscope-hv!!"
hex_digits:     .ascii "0123456789abcdef"
shutdown:       .asciz "Shutdown"
zero_fields:                            # VMCS fields written as 0, by encoding
        .word 0x0808, 0x080A, 0x080C    # guest FS, GS, LDTR selectors
        .word 0x6806, 0x6808, 0x680A, 0x680C, 0x680E, 0x6810, 0x6812    # guest ES..LDTR bases
        .word 0x4808, 0x480A, 0x480C    # guest FS, GS, LDTR limits
        .word 0x2802                    # guest IA32_DEBUGCTL
        .word 0x4824, 0x4826, 0x6822    # guest interruptibility, activity (active), pending #DB
        .word 0x482A, 0x6824, 0x6826    # guest SYSENTER CS, ESP, EIP
        .word 0x0C08, 0x0C0A, 0x6C06, 0x6C08    # host FS, GS selectors and bases
        .word 0x4C00, 0x6C10, 0x6C12    # host SYSENTER CS, ESP, EIP (ours are 0)
        .word 0x4006, 0x4008            # #PF error-code mask and match
        .word 0x400A                    # CR3-target count
        .word 0x400E, 0x4010, 0x4014    # MSR store/load counts (exit), load count (entry)
        .word 0x4016                    # entry interruption info: no event to inject
        .word 0x6000, 0x6002, 0x6004, 0x6006    # CR0/CR4 guest/host masks and read shadows
        .word 0xFFFF
exit_names:
        .byte EXIT_CPUID
        .asciz "CPUID"
        .byte EXIT_HLT
        .asciz "HLT"
        .byte EXIT_VMCALL
        .asciz "VMCALL"
        .byte EXIT_EPT_VIOLATION
        .asciz "EPT_VIOLATION"
        .byte 0xFF
        .asciz "another reason"

        .data
        .balign 16
gdt:
        .quad 0                         # null
        .quad 0x00AF9A000000FFFF        # 0x08 64-bit code
        .quad 0x00CF92000000FFFF        # 0x10 data
gdt_tss:                                # 0x18 64-bit TSS, 16 bytes (base filled in)
        .word tss_end - tss - 1, 0
        .byte 0, 0x89, 0, 0
        .long 0, 0
gdt_end:
gdt_ptr:                                # for LGDT in 32-bit mode: limit, 32-bit base
        .word gdt_end - gdt - 1
        .long gdt
        .balign 8
idt_ptr:                                # SIDT writes limit and 64-bit base here
        .word 0
        .quad 0
        .balign 8
vmxon_region_address:                   # VMXON/VMCLEAR/VMPTRLD read the address from memory
        .quad vmxon_region
vmcs_address:
        .quad vmcs
invept_descriptor:                      # INVEPT: the EPT pointer, then 8 bytes of 0
eptp:   .quad 0, 0
exit_count:
        .quad 0
console_len:
        .quad 0

        .bss
        .balign 4096
pml4:           .skip 4096              # the page tables (host and guest)
pdpt:           .skip 4096
pd:             .skip 4096
vmxon_region:   .skip 4096
vmcs:           .skip 4096
ept_pml4:       .skip 4096
ept_pdpt:       .skip 4096
ept_pd:         .skip 4096
ept_pt:         .skip 4096
extra_page:     .skip 4096              # backs the guest's write past 128 MiB
tss:            .skip 104
tss_end:
                .balign 16
console_line:   .skip 80
                .balign 16
host_stack:     .skip 8192
host_stack_top:
guest_stack:    .skip 8192
guest_stack_top:
