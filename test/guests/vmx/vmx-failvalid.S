# build: 64 multiboot
#
# vmx-failvalid -- VM entries that fail as instructions: VMLAUNCH/VMRESUME
# fall through to the next instruction with CF = 1 (VMfailInvalid: there is no
# current VMCS) or ZF = 1 (VMfailValid: the number of the error is in the
# VMCS field VM_INSTRUCTION_ERROR, 0x4400). No VM exit happens. In order:
#   1. VMLAUNCH before any VMPTRLD: VMfailInvalid;
#   2. VMRESUME of the freshly VMCLEARed (launch state clear) VMCS:
#      VMfailValid, error 5;
#   3. CR3_TARGET_COUNT = 5 (SDM "Checks on VMX Controls": at most 4):
#      VMLAUNCH gives VMfailValid, error 7 (invalid control fields)
#      (Bochs's log: "VMFAIL: VMCS EXEC CTRL: too may CR3 targets 5");
#   4. the count back to 0, HOST_RIP = 0x8000000000000000 (SDM "Checks on
#      Host ... Fields": not canonical): VMfailValid, error 8 (invalid
#      host-state fields);
#   5. HOST_RIP back: the entry succeeds, the guest (one HLT at 0x101000)
#      exits, and the hypervisor exits with code 0.
#
# Serial transcript (Bochs 2.7, cpu corei7_skylake_x):
#   vmx-failvalid: vm entries that fail as instructions
#   hv: vmx on
#   hv: vmlaunch with no current vmcs: VMfailInvalid
#   hv: vmcs ready
#   hv: vmresume of a clear vmcs: VMfailValid, vm-instruction error 5 (VMRESUME with non-launched VMCS)
#   hv: cr3-target count 5; vmlaunch: VMfailValid, vm-instruction error 7 (VM entry with invalid control field(s))
#   hv: cr3-target count 0, host rip 0x8000000000000000; vmlaunch: VMfailValid, vm-instruction error 8 (VM entry with invalid host-state field(s))
#   hv: host rip vmx_exit_entry; vmlaunch
#   exit: HLT (12) qual=0x0 rip=0x101000
#   hv: guest halted
#   hv: 1 exits: HLT 1
# Exit code 0 (QEMU-style status 1). Anything unexpected prints a "hv: " line
# and exits with code 1.

        .include "longmode.inc"
        .include "vmx.inc"

# ---------------------------------------------------------------- the guest
        .section .text.guest, "ax"
        .globl guest_main
guest_main:
        hlt                             # exit: HLT
        ud2

# ---------------------------------------------------------------- the hypervisor
        .text
kmain:
        PRINT64 "vmx-failvalid: vm entries that fail as instructions\n"
        call vmx_enable
        PRINT64 "hv: vmx on\n"

        PRINT64 "hv: vmlaunch with no current vmcs: "
        call vmx_launch
        call vmx_print_status

        lea guest_main(%rip), %rdi
        lea vmx_guest_stack_top(%rip), %rsi
        call vmx_setup_vmcs
        PRINT64 "hv: vmcs ready\n"

        PRINT64 "hv: vmresume of a clear vmcs: "
        vmresume
        call vmx_print_vmfail           # (CALL keeps the flags VMRESUME left)

        VMCS_WRITE CR3_TARGET_COUNT, $5
        PRINT64 "hv: cr3-target count 5; vmlaunch: "
        call vmx_launch
        call vmx_print_status

        VMCS_WRITE CR3_TARGET_COUNT, $0
        mov $0x8000000000000000, %rax
        VMCS_WRITE HOST_RIP, %rax
        PRINT64 "hv: cr3-target count 0, host rip 0x8000000000000000; vmlaunch: "
        call vmx_launch
        call vmx_print_status

        lea vmx_exit_entry(%rip), %rax
        VMCS_WRITE HOST_RIP, %rax
        PRINT64 "hv: host rip vmx_exit_entry; vmlaunch\n"
        call vmx_launch                 # returns only if VMLAUNCH fails
        PRINT64 "hv: vmlaunch failed: "
        call vmx_print_status
        mov $1, %al
        call hv_exit

# vmx_exit_handler: RDI = the guest's registers (FRAME_*), ESI = exit reason.
vmx_exit_handler:
        call vmx_print_exit
        cmp $EXIT_HLT, %esi
        jne 1f
        PRINT64 "hv: guest halted\n"
        call vmx_print_summary
        mov $0, %al
        call hv_exit
1:      PRINT64 "hv: unexpected exit, stopping\n"
        mov $1, %al
        call hv_exit
