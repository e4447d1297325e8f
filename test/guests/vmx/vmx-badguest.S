# build: 64 multiboot
#
# vmx-badguest -- VM entries that fail on the guest-state checks (SDM "Checks
# on the Guest State Area"): VMLAUNCH itself succeeds as an instruction, but
# the VM entry fails and the processor takes a VM exit to the host with exit
# reason 33 (INVALID_GUEST_STATE) and bit 31 set: 0x80000021. The VMCS is
# that of lib/vmx.inc (a valid 64-bit guest) with one field broken at a time:
#   1. GUEST_RFLAGS = 0x0: bit 1 is reserved and must be 1
#      (Bochs's log: "VMENTER FAIL: RFLAGS[1] cleared");
#   2. RFLAGS repaired, GUEST_CR0 with PG = 1 and PE = 0: without
#      "unrestricted guest", CR0 must meet IA32_VMX_CR0_FIXED0 (PE, PG, NE)
#      (Bochs: "VMENTER FAIL: VMCS guest invalid CR0");
#   3. CR0 repaired: the entry succeeds; the guest (one HLT at 0x101000)
#      exits, and the hypervisor exits with code 0.
# After a failed entry the VMCS is still current and its launch state still
# clear, so each retry is a VMLAUNCH (lib/vmx.inc's vmx_exit_entry does that
# until an entry has succeeded). The exit qualification of these failures is
# 0 (SDM: "not otherwise specified").
#
# Serial transcript (Bochs 2.7, cpu corei7_skylake_x):
#   vmx-badguest: vm entries that fail the guest-state checks
#   hv: vmx on
#   hv: vmcs ready
#   hv: guest rflags 0x0 (bit 1 clear); vmlaunch
#   exit: INVALID_GUEST_STATE (33) qual=0x0 rip=0x101000
#   hv: vm entry failed: exit reason 0x80000021, qualification 0x0
#   hv: guest rflags 0x2, cr0 0x80010032 (pg without pe); vmlaunch
#   exit: INVALID_GUEST_STATE (33) qual=0x0 rip=0x101000
#   hv: vm entry failed: exit reason 0x80000021, qualification 0x0
#   hv: guest cr0 0x80010033; vmlaunch
#   exit: HLT (12) qual=0x0 rip=0x101000
#   hv: guest halted
#   hv: 3 exits: HLT 1, INVALID_GUEST_STATE 2
# Exit code 0 (QEMU-style status 1). Anything unexpected prints a "hv: " line
# and exits with code 1.

        .include "longmode.inc"
        .include "vmx.inc"

        .set CR0_PE, 1 << 0

# ---------------------------------------------------------------- the guest
        .section .text.guest, "ax"
        .globl guest_main
guest_main:
        hlt                             # exit: HLT
        ud2

# ---------------------------------------------------------------- the hypervisor
        .text
kmain:
        PRINT64 "vmx-badguest: vm entries that fail the guest-state checks\n"
        call vmx_enable
        PRINT64 "hv: vmx on\n"
        lea guest_main(%rip), %rdi
        lea vmx_guest_stack_top(%rip), %rsi
        call vmx_setup_vmcs
        PRINT64 "hv: vmcs ready\n"
        VMCS_WRITE GUEST_RFLAGS, $0
        PRINT64 "hv: guest rflags 0x0 (bit 1 clear); vmlaunch\n"
        call vmx_launch                 # returns only if VMLAUNCH fails as an instruction
        PRINT64 "hv: vmlaunch failed: "
        call vmx_print_status
        mov $1, %al
        call hv_exit

# vmx_exit_handler: RDI = the guest's registers (FRAME_*), ESI = exit reason.
# Returning enters the guest again (VMLAUNCH until an entry succeeded).
vmx_exit_handler:
        call vmx_print_exit
        cmp $(EXIT_REASON_FAILED_ENTRY | EXIT_INVALID_GUEST_STATE), %esi
        je .Lfailed_entry
        cmp $EXIT_HLT, %esi
        jne .Lunexpected
        cmpl $2, failures(%rip)
        jne .Lunexpected
        PRINT64 "hv: guest halted\n"
        call vmx_print_summary
        mov $0, %al
        call hv_exit

.Lfailed_entry:
        PRINT64 "hv: vm entry failed: exit reason "
        mov %esi, %eax
        call puthex64
        PRINT64 ", qualification "
        VMCS_READ EXIT_QUALIFICATION
        call puthex64
        PRINT64 "\n"
        incl failures(%rip)
        cmpl $1, failures(%rip)
        jne 1f
        VMCS_WRITE GUEST_RFLAGS, $0x2   # repair RFLAGS, break CR0
        VMCS_READ GUEST_CR0
        and $~CR0_PE, %rax
        VMCS_WRITE GUEST_CR0, %rax
        PRINT64 "hv: guest rflags 0x2, cr0 "
        call puthex64
        PRINT64 " (pg without pe); vmlaunch\n"
        ret
1:      cmpl $2, failures(%rip)
        jne .Lunexpected
        VMCS_READ GUEST_CR0             # repair CR0
        or $CR0_PE, %rax
        VMCS_WRITE GUEST_CR0, %rax
        PRINT64 "hv: guest cr0 "
        call puthex64
        PRINT64 "; vmlaunch\n"
        ret

.Lunexpected:
        PRINT64 "hv: unexpected exit, stopping\n"
        mov $1, %al
        call hv_exit

        .data
failures:                               # failed VM entries so far
        .long 0
