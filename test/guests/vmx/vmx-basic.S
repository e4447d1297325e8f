# build: 64 multiboot
#
# vmx-basic -- the key hypervisor guest (vmscope issue 7): a Multiboot kernel
# that goes to long mode (lib/longmode.inc), turns VMX on and runs a 64-bit
# guest under EPT (lib/vmx.inc), handling each VM exit and printing a line
# for it. The guest (guest_main, at 0x101000 by link.ld)
#   - executes CPUID leaf 0x40000000: the hypervisor answers with its own
#     signature "vmscopevmxhv" and moves RIP past the instruction;
#   - writes EBX (the first four bytes of the signature) with OUT to port
#     0xE9: an I/O exit (every port exits), the hypervisor prints the value;
#   - executes VMCALL with RAX = 0x1234: the hypervisor returns RAX + 1, which
#     the guest writes to port 0xE9 again;
#   - stores 0x5a5a5a5a at 0x20000000 (512 MiB): its own page tables map it,
#     EPT does not (it maps 0-128 MiB): an EPT violation. The hypervisor backs
#     that page with a page of its own in the EPT (ept_map_page), INVEPT,
#     and resumes without moving RIP: the store is retried and succeeds, and
#     the guest reads the value back and writes it to port 0xE9;
#   - executes HLT: the hypervisor checks that the store landed in its page,
#     prints how many exits of each reason it saw, and exits with code 0
#     (port 0xF4, then "Shutdown" to port 0x8900 for Bochs).
# VMX instructions do not exist on QEMU's TCG: the reference is Bochs 2.7
# (test/support/bochs.ts).
#
# Serial transcript (Bochs 2.7, cpu corei7_skylake_x):
#   vmx-basic: a hypervisor with one 64-bit guest under ept
#   hv: vmx on
#   hv: vmcs ready: ept maps guest-physical 0-128 MiB; cpuid, hlt, i/o, exceptions exit
#   hv: vmlaunch
#   exit: CPUID (10) qual=0x0 rip=0x101007
#   hv: cpuid 0x40000000: hypervisor leaf, signature "vmscopevmxhv"
#   exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x10100b
#   hv: out to port 0xe9, 4 bytes: 0x63736d76
#   exit: VMCALL (18) qual=0x0 rip=0x101012
#   hv: vmcall rax=0x1234: returning 0x1235
#   exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x101015
#   hv: out to port 0xe9, 4 bytes: 0x1235
#   exit: EPT_VIOLATION (48) qual=0x182 rip=0x10101c
#   hv: ept violation: write at gpa 0x20000000 (linear 0x20000000): mapped the page, invept, retrying
#   exit: IO_INSTRUCTION (30) qual=0xe90043 rip=0x101024
#   hv: out to port 0xe9, 4 bytes: 0x5a5a5a5a
#   exit: HLT (12) qual=0x0 rip=0x101026
#   hv: guest halted; its store is in the hypervisor's page: 0x5a5a5a5a
#   hv: 7 exits: CPUID 1, HLT 1, VMCALL 1, IO_INSTRUCTION 3, EPT_VIOLATION 1
# Exit code 0 (QEMU-style status 1). Anything unexpected prints a "hv: " line
# and exits with code 1.

        .include "longmode.inc"
        .include "vmx.inc"

        .set GUEST_PORT, 0xE9           # the guest's "console": every port exits anyway
        .set HV_LEAF, 0x40000000        # CPUID leaves for hypervisors
        .set SIG_EBX, 0x63736d76        # "vmsc"
        .set SIG_ECX, 0x7665706f        # "opev"
        .set SIG_EDX, 0x76686d78        # "mxhv"
        .set DEMAND_GPA, 0x20000000     # guest page tables map it, EPT does not
        .set HC_VALUE, 0x1234

# ---------------------------------------------------------------- the guest
        .section .text.guest, "ax"
        .globl guest_main
guest_main:
        mov $HV_LEAF, %eax
        xor %ecx, %ecx
        cpuid                           # exit: CPUID
        mov %ebx, %eax
        out %eax, $GUEST_PORT           # exit: IO_INSTRUCTION
        mov $HC_VALUE, %eax
        vmcall                          # exit: VMCALL, returns RAX + 1
        out %eax, $GUEST_PORT
        mov $DEMAND_GPA, %edi
        movl $0x5a5a5a5a, (%rdi)        # exit: EPT_VIOLATION, then retried
        mov (%rdi), %eax
        out %eax, $GUEST_PORT
        hlt                             # exit: HLT
        ud2                             # (not reached: the hypervisor ends the run)

# ---------------------------------------------------------------- the hypervisor
        .text
kmain:
        PRINT64 "vmx-basic: a hypervisor with one 64-bit guest under ept\n"
        call vmx_enable
        PRINT64 "hv: vmx on\n"
        lea guest_main(%rip), %rdi
        lea vmx_guest_stack_top(%rip), %rsi
        call vmx_setup_vmcs
        PRINT64 "hv: vmcs ready: ept maps guest-physical 0-128 MiB; cpuid, hlt, i/o, exceptions exit\n"
        PRINT64 "hv: vmlaunch\n"
        call vmx_launch                 # returns only if VMLAUNCH fails
        PRINT64 "hv: vmlaunch failed: "
        call vmx_print_status
        mov $1, %al
        call hv_exit

# vmx_exit_handler: RDI = the guest's registers (FRAME_*), ESI = exit reason.
vmx_exit_handler:
        push %rbx
        mov %rdi, %rbx
        call vmx_print_exit
        test $EXIT_REASON_FAILED_ENTRY, %esi
        jnz .Lunexpected
        cmp $EXIT_CPUID, %esi
        je .Lcpuid
        cmp $EXIT_IO_INSTRUCTION, %esi
        je .Lio
        cmp $EXIT_VMCALL, %esi
        je .Lvmcall
        cmp $EXIT_EPT_VIOLATION, %esi
        je .Lept_violation
        cmp $EXIT_HLT, %esi
        je .Lhlt
.Lunexpected:
        PRINT64 "hv: unexpected exit, stopping\n"
        mov $1, %al
        call hv_exit

.Lcpuid:                                # the hypervisor leaf, or the real CPUID
        mov FRAME_RAX(%rbx), %rax
        cmp $HV_LEAF, %eax
        jne 1f
        movq $HV_LEAF, FRAME_RAX(%rbx)
        movq $SIG_EBX, FRAME_RBX(%rbx)
        movq $SIG_ECX, FRAME_RCX(%rbx)
        movq $SIG_EDX, FRAME_RDX(%rbx)
        PRINT64 "hv: cpuid 0x40000000: hypervisor leaf, signature \"vmscopevmxhv\"\n"
        jmp .Lnext
1:      mov FRAME_RCX(%rbx), %rcx
        push %rbx
        cpuid
        mov %rbx, %rdi
        pop %rbx
        mov %eax, %eax
        mov %rax, FRAME_RAX(%rbx)
        mov %rdi, FRAME_RBX(%rbx)
        mov %ecx, %ecx
        mov %rcx, FRAME_RCX(%rbx)
        mov %edx, %edx
        mov %rdx, FRAME_RDX(%rbx)
        PRINT64 "hv: cpuid passed through\n"
        jmp .Lnext

.Lio:                                   # qualification: size - 1, direction, ..., port
        VMCS_READ EXIT_QUALIFICATION
        test $0x38, %al                 # IN, string or REP: not this guest
        jnz .Lunexpected
        mov %rax, %rcx
        PRINT64 "hv: out to port "
        mov %rcx, %rax
        shr $16, %rax
        call puthex64
        PRINT64 ", "
        mov %ecx, %eax
        and $7, %eax
        inc %eax
        call putdec64
        PRINT64 " bytes: "
        mov %ecx, %edx
        and $7, %edx                    # size - 1: 0, 1 or 3
        mov FRAME_RAX(%rbx), %rax
        cmp $3, %edx
        je 2f
        cmp $1, %edx
        je 1f
        movzbl %al, %eax
        jmp 2f
1:      movzwl %ax, %eax
2:      mov %eax, %eax
        call puthex64
        PRINT64 "\n"
        jmp .Lnext

.Lvmcall:                               # hypercall: RAX + 1
        PRINT64 "hv: vmcall rax="
        mov FRAME_RAX(%rbx), %rax
        call puthex64
        PRINT64 ": returning "
        inc %rax
        mov %rax, FRAME_RAX(%rbx)
        call puthex64
        PRINT64 "\n"
        jmp .Lnext

.Lept_violation:                        # back the page at DEMAND_GPA, once
        VMCS_READ GUEST_PHYSICAL_ADDRESS
        mov %rax, %rcx
        and $~0xFFF, %rax
        cmp $DEMAND_GPA, %rax
        jne .Lunexpected
        cmpb $0, demand_mapped(%rip)
        jne .Lunexpected
        movb $1, demand_mapped(%rip)
        PRINT64 "hv: ept violation: "
        VMCS_READ EXIT_QUALIFICATION
        call print_ept_access
        PRINT64 " at gpa "
        mov %rcx, %rax
        call puthex64
        PRINT64 " (linear "
        VMCS_READ GUEST_LINEAR_ADDRESS
        call puthex64
        PRINT64 "): mapped the page, invept, retrying\n"
        mov %rcx, %rdi
        lea demand_frame(%rip), %rsi
        call ept_map_page
        jmp .Ldone                      # RIP unchanged: the access is retried

.Lhlt:
        PRINT64 "hv: guest halted; its store is in the hypervisor's page: "
        mov demand_frame(%rip), %eax
        call puthex64
        PRINT64 "\n"
        call vmx_print_summary
        mov $0, %al
        call hv_exit

.Lnext:
        call vmx_advance_rip
.Ldone:
        pop %rbx
        ret

# print_ept_access: RAX = EPT-violation qualification; prints what the access
# was: "read", "write" or "fetch" (bits 0-2).
print_ept_access:
        test $2, %al
        jz 1f
        PRINT64 "write"
        ret
1:      test $4, %al
        jz 2f
        PRINT64 "fetch"
        ret
2:      PRINT64 "read"
        ret

        .data
demand_mapped:
        .byte 0

        .bss
        .balign 4096
demand_frame: .skip 4096                # backs guest-physical DEMAND_GPA once mapped
