/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/stub.S - the replay guest: performs ONE recorded access and
 * reports what happened, for the KVM and the QEMU TCG backends.
 *
 * Entered by the VMM in 64-bit mode at CPL0 with CR3 = the recorded CR3
 * (the scenario's own tables, with PML4 slot 511 pointing at this region),
 * RSP = KSTACK_TOP, GDT/IDT/TSS set up by the VMM (layout.h).
 *
 *   entry: operands into registers; if P_CPL == 3, iretq to the user copy
 *     of the access code (its own U=1 page; every other stub page is U=0, so
 *     CR4.SMEP/SMAP do not hit the stub), else load the recorded EFLAGS.AC
 *     and run the kernel copy
 *   access: read or write P_GVA with width P_WIDTH (value into %rbx),
 *     then touch MAGIC_VA, which is never mapped: the #PF handler sees
 *     CR2 == MAGIC_VA and knows the access completed.  Any other exception
 *     (the recorded access faulting) is caught the same way.
 *   implicit (kind 5): LAR of an LDT selector whose LDT base is P_GVA: the
 *     CPU reads the descriptor there as an implicit supervisor access.
 *   fetch: gva pushed, every other register set to a non-canonical POISON,
 *     ret: a fetch fault gives #PF with I/D at P_GVA; a fetch that
 *     succeeds executes whatever is there, which (all operands poisoned)
 *     faults with #GP/#UD, or halts -- the VMM reads "fetch completed".
 *
 * Every vector 0..31 goes through an IST1 interrupt gate to `common`, which
 * stores vector, error code, RIP, CS, CR2 and %rbx in the results and halts.
 * Built with as/ld (-Ttext = STUB_ENTRY), objcopy -O binary.
 */
#include "layout.h"

/* The access, for CPL0 (kernel page, U=0: SMEP-safe) and CPL3 (user page).
 * In: %rax kind, %rdi gva, %rsi value / pages, %rcx width / count, %r10 lcg. */
.macro ACCESS sfx
    xorl %ebx, %ebx
    cmpq $2, %rax
    je fetch_\sfx
    cmpq $5, %rax
    je implicit_\sfx
    cmpq $3, %rax
    je loop_\sfx
    cmpq $4, %rax
    je loop_\sfx
    cmpq $1, %rax
    je write_\sfx
    cmpq $1, %rcx
    je 1f
    cmpq $2, %rcx
    je 2f
    cmpq $4, %rcx
    je 4f
    movq (%rdi), %rbx
    jmp done_\sfx
1:  movzbl (%rdi), %ebx
    jmp done_\sfx
2:  movzwl (%rdi), %ebx
    jmp done_\sfx
4:  movl (%rdi), %ebx
    jmp done_\sfx
write_\sfx:
    cmpq $1, %rcx
    je 1f
    cmpq $2, %rcx
    je 2f
    cmpq $4, %rcx
    je 4f
    movq %rsi, (%rdi)
    jmp done_\sfx
1:  movb %sil, (%rdi)
    jmp done_\sfx
2:  movw %si, (%rdi)
    jmp done_\sfx
4:  movl %esi, (%rdi)
    jmp done_\sfx
/* kind 5: an implicit supervisor read (SDM 4.6: descriptor-table accesses
 * are supervisor accesses whatever the CPL, and SMAP blocks them from user
 * pages regardless of EFLAGS.AC): LAR of selector 4 (LDT index 0) reads
 * the 8-byte descriptor at the LDT base, which the VMM set to the gva.
 * LAR never writes the accessed bit (a segment load would). */
implicit_\sfx:
    movl $4, %ecx
    larl %ecx, %ebx
    jmp done_\sfx
/* kinds 3/4 (benchmark, calibration): see layout.h */
loop_\sfx:
    movq %rax, %r12         /* kind */
    leaq -1(%rsi), %r11     /* index mask */
    movq %rsi, %rdx         /* warm-up: every page once, same op (sets A/D) */
    xorl %r8d, %r8d
9:  movq %r8, %r9
    shlq $12, %r9
    cmpq $4, %r12
    je 14f
    movq (%rdi,%r9), %rbx
    jmp 15f
14: movq %r8, (%rdi,%r9)
15: incq %r8
    decq %rdx
    jnz 9b
    movq %rcx, %r13         /* timed loop */
    xorl %r8d, %r8d
    rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    movq %rdx, %r14
5:  movq %r8, %r9
    shlq $12, %r9
    cmpq $4, %r12
    je 10f
    movq (%rdi,%r9), %rbx
    jmp 11f
10: movq %r8, (%rdi,%r9)
11: testq %r10, %r10
    jz 12f
    leaq 1(%r8,%r8,4), %r8
    jmp 13f
12: incq %r8
13: andq %r11, %r8
    decq %r13
    jnz 5b
    rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    subq %r14, %rdx
    movq %rdx, %rbx         /* TSC cycles of the timed loop */
    jmp done_\sfx
done_\sfx:
    movb MAGIC_VA, %al
    ud2                     /* not reached: the #PF above ends the run */
/* fetch: gva on the stack, every other register poisoned, ret */
fetch_\sfx:
    pushq %rdi
    movabsq $POISON, %rax
    movq %rax, %rbx
    movq %rax, %rcx
    movq %rax, %rdx
    movq %rax, %rsi
    movq %rax, %rdi
    movq %rax, %rbp
    movq %rax, %r8
    movq %rax, %r9
    movq %rax, %r10
    movq %rax, %r11
    movq %rax, %r12
    movq %rax, %r13
    movq %rax, %r14
    movq %rax, %r15
    ret
.endm

    .text
    .code64
    .globl _start
_start:
    cmpq $0, P_QEMU
    je 1f
    /* QEMU: arrive from qboot.S on the identity tables; load the stub's
     * descriptor tables and the recorded control registers */
    lgdt P_GDTR
    lidt P_IDTR
    movl $SEL_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl $SEL_TSS, %eax
    ltr %ax
    movabsq $KSTACK_TOP, %rsp
    movl $0xc0000080, %ecx
    movl P_EFER, %eax
    movl P_EFER + 4, %edx
    wrmsr
    movq P_CR4, %rax
    testl $(1 << 24), %eax  /* CR4.PKS: the recorded IA32_PKRS (MSR 0x6e1) */
    jz 5f
    movl $0x6e1, %ecx
    movl P_PKRS, %eax
    xorl %edx, %edx
    wrmsr
    movq P_CR4, %rax
5:  movq %rax, %cr4         /* PCIDE: CR3[11:0] is 0 here (identity tables) */
    testl $(1 << 22), %eax  /* CR4.PKE: the recorded PKRU */
    jz 4f
    xorl %ecx, %ecx
    xorl %edx, %edx
    movl P_PKRU, %eax
    wrpkru
4:  movq P_CR0, %rax
    movq %rax, %cr0
    movq P_CR3, %rax
    movq %rax, %cr3
    pushq $SEL_KCODE
    pushq $1f
    lretq
1:
    /* the access's operands in registers: the user copy of the access code
     * (a U=1 page) must not read the supervisor params page */
    movq P_KIND, %rax
    movq P_GVA, %rdi
    movq P_WVAL, %rsi
    movq P_WIDTH, %rcx
    movq P_LCG, %r10
    cmpq $5, %rax           /* implicit read: the LDT whose base is the gva */
    jne 3f
    movl $SEL_LDT, %r11d
    lldt %r11w
3:  cmpq $3, P_CPL
    jne 2f
    pushq $SEL_UDATA
    pushq $USTACK_TOP
    pushq $0x2
    pushq $SEL_UCODE
    pushq $user_access
    iretq
2:  pushq P_RFLAGS           /* CPL0: the recorded EFLAGS.AC (SMAP override) */
    popfq
    ACCESS k


/* ---- exception vectors 0..31, 16 bytes apart at VEC_OFF ------------------- */
    .org VEC_OFF
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
    pushq $\n
    .else
    pushq $0
    pushq $\n
    .endif
    jmp common
    .endr

    .balign 16
common:
    movq %rbx, R_RBX
    movq 0(%rsp), %rbx
    movq %rbx, R_VEC
    movq 8(%rsp), %rbx
    movq %rbx, R_EC
    movq 16(%rsp), %rbx
    movq %rbx, R_RIP
    movq 24(%rsp), %rbx
    movq %rbx, R_CS
    movq %cr2, %rbx
    movq %rbx, R_CR2
    movq $1, R_STATUS
    cmpq $0, P_QEMU
    je 3f
    /* QEMU: results (64 bytes), then the guest pages the VMM listed (the
     * walk's paging-structure pages and the target page) through the
     * identity tables, to isa-debugcon; then isa-debug-exit */
    movl $DEBUGCON_PORT, %edx
    movq $R_STATUS, %rsi
    movl $64, %ecx
    cld
    rep outsb
    movq P_IDCR3, %rax
    movq %rax, %cr3
    movq P_DUMPN, %r8
    movq $P_DUMPLIST, %r9
7:  testq %r8, %r8
    jz 8f
    movq (%r9), %rsi
    movl $4096, %ecx
    rep outsb
    addq $8, %r9
    decq %r8
    jmp 7b
8:
    movl $DEBUGEXIT_PORT, %edx
    xorl %eax, %eax
    outl %eax, %dx
3:  hlt
    jmp 3b

/* ---- the user page (code offset 0x1000, mapped U=1) ------------------------ */
    .org 0x1000
user_access:
    ACCESS u

