# build: 64 multiboot
#
# vmx-smp -- two hypervisors at once (vmscope issue 7, the two-vCPU case): the
# bootstrap processor (BSP) brings up one application processor (AP) the way
# smp.S does (INIT, then two Start-up IPIs with vector 0x08 through the local
# APIC's ICR; the AP starts in real mode at 0800:0000), the AP goes to long
# mode on the BSP's page tables, GDT and IDT, and then EACH vCPU turns VMX on
# with its own VMXON region, its own VMCS and its own host and guest stacks
# (the per-CPU areas below, indexed by the local APIC ID from CPUID.1:EBX),
# and launches a 64-bit guest (guest_main, at 0x101000 by link.ld) that
# executes CPUID and then HLT. Each exit is printed under a spinlock.
#
# The transcript is deterministic because the two hypervisors do not run at
# the same time: the BSP waits (bounded) until the AP's guest has halted and
# the AP has left VMX operation (VMXOFF), then runs its own. Both use lib/
# vmx.inc, pointed at the current CPU's regions (vmxon_region_pa,
# vmcs_region_pa, HOST_RSP); the EPT identity map is shared (read-only to
# both guests). The AP shares the BSP's TSS (it clears the descriptor's busy
# bit to LTR it): VMX needs a usable TR, and neither CPU changes privilege.
#
# The local APIC (0xFEE00000) is above longmode.inc's 1 GiB identity map: the
# BSP maps its page at WINDOW_BASE, uncached.
#
# Serial transcript (vmscope --cpus 2; see below for Bochs):
#   vmx-smp: bsp apic id 0x0, starting the application processor
#   cpu1: vmxon region 0x12c000, vmcs 0x12e000, vmlaunch
#   cpu1: exit CPUID (10)
#   cpu1: exit HLT (12)
#   cpu1: guest halted, vmxoff
#   cpu0: vmxon region 0x12b000, vmcs 0x12d000, vmlaunch
#   cpu0: exit CPUID (10)
#   cpu0: exit HLT (12)
#   cpu0: guest halted, vmxoff
#   vmx-smp: 2 cpus, each ran its own guest: cpu0 2 exits, cpu1 2 exits
# Exit code 0 (QEMU-style status 1); code 1 when the AP does not finish in
# time or anything is unexpected (a "vmx-smp: " or "hv: " line says what).

        .include "longmode.inc"
        .include "vmx.inc"

        .set MAX_CPUS, 2                # per-CPU areas: APIC IDs 0 and 1
        .set TRAMPOLINE, 0x8000         # SIPI vector 0x08 -> CS=0x0800, IP=0
        .set LAPIC, WINDOW_BASE         # where the BSP maps the local APIC's page
        .set LAPIC_PHYS, 0xFEE00000
        .set LAPIC_ICR_LO, LAPIC + 0x300
        .set LAPIC_ICR_HI, LAPIC + 0x310
        .set ICR_INIT_ALL_BUT_SELF, 0x000C4500
        .set ICR_SIPI_ALL_BUT_SELF, 0x000C4600 | (TRAMPOLINE >> 12)
        .set PTE_PWT, 1 << 3
        .set PTE_PCD, 1 << 4
        .set PERCPU_STACK, 16384

# ---------------------------------------------------------------- the guest
        .section .text.guest, "ax"
        .globl guest_main
guest_main:
        xor %eax, %eax
        cpuid                           # exit: CPUID
        hlt                             # exit: HLT
        ud2                             # (not reached)

# ---------------------------------------------------------------- the BSP
        .text
kmain:
        lea pt_window(%rip), %rdi       # map the local APIC at WINDOW_BASE
        movl $(LAPIC_PHYS | PTE_P | PTE_W | PTE_PWT | PTE_PCD), (%rdi)
        movl $PTE_NX_HI, 4(%rdi)
        invlpg LAPIC

        PRINT64 "vmx-smp: bsp apic id "
        call apic_id
        call puthex64
        PRINT64 ", starting the application processor\n"

        lea trampoline_start(%rip), %rsi        # the trampoline runs at 0x8000
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

        # Wait for the AP's hypervisor to finish (bounded: a lost AP must not hang the test).
        mov $100000000, %ecx
1:      cmpl $1, ap_done(%rip)
        je 2f
        pause
        dec %ecx
        jnz 1b
        call lock_print
        PRINT64 "vmx-smp: timeout waiting for the application processor\n"
        mov $1, %al
        call hv_exit
2:      call cpu_vmx_run                # the BSP's turn; its HLT exit ends the run

# wait_icr: until the delivery-status bit (12) of the ICR clears.
wait_icr:
        testl $0x1000, LAPIC_ICR_LO
        jnz wait_icr
        ret

# apic_id: RAX = this CPU's initial local APIC ID (CPUID.1:EBX[31:24]).
# Clobbers nothing else.
apic_id:
        push %rbx
        push %rcx
        push %rdx
        mov $1, %eax
        cpuid
        shr $24, %ebx
        mov %ebx, %eax
        pop %rdx
        pop %rcx
        pop %rbx
        ret

lock_print:
        push %rax
        mov $1, %eax
1:      xchg %eax, print_lock(%rip)
        test %eax, %eax
        jz 2f
        pause
        jmp 1b
2:      pop %rax
        ret

unlock_print:
        movl $0, print_lock(%rip)
        ret

# print_cpu: "cpuN: " for this CPU. Preserves all registers.
print_cpu:
        push %rax
        PRINT64 "cpu"
        call apic_id
        call putdec64
        PRINT64 ": "
        pop %rax
        ret

# ---------------------------------------------------------------- per-CPU VMX
# cpu_vmx_run: VMX on with this CPU's VMXON region, this CPU's VMCS, launch
# guest_main. Does not return (the HLT exit ends this CPU's part).
cpu_vmx_run:
        call apic_id
        cmp $MAX_CPUS, %eax
        jb 1f
        call lock_print
        PRINT64 "vmx-smp: apic id out of range\n"
        mov $1, %al
        call hv_exit
1:      mov %eax, %r12d                 # R12 = APIC ID (preserved by vmx.inc's calls)
        shl $12, %rax
        lea percpu_vmxon(%rip), %r13
        add %rax, %r13                  # R13 = this CPU's VMXON region
        lea percpu_vmcs(%rip), %r14
        add %rax, %r14                  # R14 = this CPU's VMCS region
        mov $MSR_VMX_BASIC, %ecx        # both start with the revision identifier
        rdmsr
        and $0x7FFFFFFF, %eax
        mov %eax, (%r13)
        mov %eax, (%r14)
        mov %r13, vmxon_region_pa(%rip) # vmx.inc's VMXON/VMCLEAR/VMPTRLD operands
        mov %r14, vmcs_region_pa(%rip)
        call vmx_enable

        call apic_id                    # (vmx.inc's routines may clobber R12-R14)
        mov %eax, %r12d
        lea guest_main(%rip), %rdi
        mov %r12, %rax
        inc %rax
        imul $PERCPU_STACK, %rax
        lea percpu_guest_stacks(%rip), %rsi
        add %rax, %rsi
        call vmx_setup_vmcs
        call apic_id
        mov %eax, %r12d
        mov %r12, %rax
        inc %rax
        imul $PERCPU_STACK, %rax
        lea percpu_host_stacks(%rip), %rdx
        add %rdx, %rax
        VMCS_WRITE HOST_RSP, %rax       # this CPU's exits run on its own stack
        movb $0, vmx_launched(%rip)

        call lock_print
        call print_cpu
        PRINT64 "vmxon region "
        mov vmxon_region_pa(%rip), %rax
        call puthex64
        PRINT64 ", vmcs "
        mov vmcs_region_pa(%rip), %rax
        call puthex64
        PRINT64 ", vmlaunch\n"
        call unlock_print
        call vmx_launch                 # returns only if VMLAUNCH fails
        call lock_print
        call print_cpu
        PRINT64 "vmlaunch failed: "
        call vmx_print_status
        mov $1, %al
        call hv_exit

# vmx_exit_handler: RDI = the guest's registers (FRAME_*), ESI = exit reason.
vmx_exit_handler:
        push %rbx
        push %r12
        mov %rdi, %rbx
        call apic_id
        mov %eax, %r12d
        lea percpu_exits(%rip), %rax
        incq (%rax, %r12, 8)
        call lock_print
        call print_cpu
        PRINT64 "exit "
        push %rsi
        movzwl %si, %eax
        mov %eax, %esi
        call vmx_exit_name
        call puts64
        pop %rsi
        PRINT64 " ("
        movzwl %si, %eax
        call putdec64
        PRINT64 ")\n"
        call unlock_print
        test $EXIT_REASON_FAILED_ENTRY, %esi
        jnz .Lunexpected
        cmp $EXIT_CPUID, %esi
        je .Lcpuid
        cmp $EXIT_HLT, %esi
        je .Lhlt
.Lunexpected:
        call lock_print
        call print_cpu
        PRINT64 "unexpected exit, stopping\n"
        mov $1, %al
        call hv_exit

.Lcpuid:                                # leaf 0 as the CPU answers it
        mov FRAME_RAX(%rbx), %rax
        mov FRAME_RCX(%rbx), %rcx
        push %rbx
        cpuid
        mov %rbx, %rdi
        pop %rbx
        mov %eax, %eax
        mov %rax, FRAME_RAX(%rbx)
        mov %edi, %edi
        mov %rdi, FRAME_RBX(%rbx)
        mov %ecx, %ecx
        mov %rcx, FRAME_RCX(%rbx)
        mov %edx, %edx
        mov %rdx, FRAME_RDX(%rbx)
        call vmx_advance_rip
        pop %r12
        pop %rbx
        ret

.Lhlt:                                  # this CPU is done: leave VMX operation
        vmxoff
        jbe .Lvmxoff_failed
        call lock_print
        call print_cpu
        PRINT64 "guest halted, vmxoff\n"
        test %r12d, %r12d
        jz .Lbsp_done
        call unlock_print
        movl $1, ap_done(%rip)          # the AP: hand over to the BSP and stop
1:      cli
        hlt
        jmp 1b
.Lbsp_done:                             # the BSP (still holding the lock): the summary
        PRINT64 "vmx-smp: 2 cpus, each ran its own guest: cpu0 "
        mov percpu_exits(%rip), %rax
        call putdec64
        PRINT64 " exits, cpu1 "
        mov percpu_exits + 8(%rip), %rax
        call putdec64
        PRINT64 " exits\n"
        mov $0, %al
        call hv_exit
.Lvmxoff_failed:
        pushfq
        call lock_print
        call print_cpu
        PRINT64 "vmxoff failed: "
        popfq
        call vmx_print_vmfail
        mov $1, %al
        call hv_exit

# ---------------------------------------------------------------- the AP
# ap_entry32: the AP arrives from the trampoline in 32-bit protected mode
# with flat segments and paging off; to long mode as longmode.inc's _start.
        .code32
ap_entry32:
        lgdt gdt_ptr
        ljmp $KCODE32, $1f
1:      mov $KDATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %cr4, %eax
        or $CR4_PAE, %eax
        mov %eax, %cr4
        mov $pml4, %eax
        mov %eax, %cr3
        mov $MSR_EFER, %ecx
        rdmsr
        or $(EFER_LME | EFER_NXE | EFER_SCE), %eax
        wrmsr
        mov $CR0_VALUE, %eax
        mov %eax, %cr0
        ljmp $KCODE64, $ap_long

        .code64
ap_long:
        mov $KDATA, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        xor %eax, %eax
        mov %ax, %fs
        mov %ax, %gs
        lgdt gdt_ptr(%rip)
        lidt idt_ptr(%rip)
        mov $1, %eax                    # a boot stack of this CPU's own, by APIC ID
        cpuid                           # (clamped to the last area; cpu_vmx_run
        shr $24, %ebx                   # rejects an ID out of range)
        cmp $MAX_CPUS, %ebx
        jb 1f
        mov $MAX_CPUS - 1, %ebx
1:      lea 1(%rbx), %rax
        imul $PERCPU_STACK, %rax
        lea percpu_boot_stacks(%rip), %rdx
        add %rdx, %rax
        mov %rax, %rsp
        andb $~0x02, gdt_tss + 5(%rip)  # busy 64-bit TSS -> available, to load it here too
        mov $TSS_SEL, %ax
        ltr %ax
        call cpu_vmx_run

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
        mov $ap_entry32, %eax
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
        .code64

        .data
        .balign 8
percpu_exits:   .quad 0, 0              # exits seen by each CPU's hypervisor
ap_done:        .long 0
print_lock:     .long 0

        .bss
        .balign 4096
percpu_vmxon:   .skip 4096 * MAX_CPUS   # VMXON region of APIC ID n at + n * 4096
percpu_vmcs:    .skip 4096 * MAX_CPUS   # VMCS region of APIC ID n at + n * 4096
percpu_host_stacks:  .skip PERCPU_STACK * MAX_CPUS
percpu_guest_stacks: .skip PERCPU_STACK * MAX_CPUS
percpu_boot_stacks:  .skip PERCPU_STACK * MAX_CPUS
