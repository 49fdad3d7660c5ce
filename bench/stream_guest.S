/* SPDX-License-Identifier: MIT */
/*
 * bench/stream_guest.S - the kvm-here stream as a tiny guest (the page at
 * SG_LOAD of the image bench/stream_anchors.c builds; layout in
 * stream_layout.h).  One binary for both backends, so QEMU TCG and KVM run
 * the very same instructions over the very same page tables:
 *
 *   QEMU: multiboot v1 (a.out kludge) enters entry32 in protected mode
 *         with paging off; it turns on 4-level paging (PAE, EFER.LME,
 *         CR0.PG), loads the GDT/IDT/TR and jumps to entry64.
 *   KVM:  the VMM sets the long-mode registers itself and starts at
 *         entry64 (kvm-pvm runs CPL0 code in its emulator, so the guest's
 *         own CPL0 part is kept to a few dozen instructions).
 *
 * entry64 drops to CPL3 (iretq).  The CPL3 code writes one byte to every
 * page once (first touch, untimed: kvm-here.md s8 and s9 time the first
 * touch separately), sends marker 'S', reads the TSC, runs P_PASSES passes
 * writing one byte per 4 KiB page (the byte is the pass counter, counting
 * down to 1), reads the TSC, sends marker 'E', then sums byte 0 of every
 * page (every one must be 1) and finishes: the #PF handler sends 'R', the
 * TSC ticks and the sum (8 bytes each, little-endian) to the debug port
 * and writes the debug-exit port (QEMU exits; KVM sees the port write).
 * Any other exception sends 'X' and the vector, or 'P' with CR2 and RIP
 * for an unexpected #PF, and exits the same way.
 */
#include "stream_layout.h"

    .text
    .code32
    .globl _start
_start:
    jmp entry32
    .balign 4
mb_header:                      /* multiboot v1: a.out kludge (flag 16) */
    .long 0x1badb002
    .long 0x00010000
    .long -(0x1badb002 + 0x00010000)
    .long mb_header             /* header_addr */
    .long _start                /* load_addr */
    .long 0                     /* load_end_addr: the whole file */
    .long 0                     /* bss_end_addr: none */
    .long entry32               /* entry_addr */
gdtr:
    .word SG_GDT_LIMIT
    .quad SG_GDT
idtr:
    .word 32 * 16 - 1
    .quad SG_IDT

entry32:                        /* QEMU only: SDM 10.8.5, entering IA-32e mode */
    cli
    lgdt gdtr
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $SG_PML4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx      /* IA32_EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000021, %eax       /* PG, NE, PE */
    movl %eax, %cr0
    ljmp $SG_KCODE, $entry64q

    .code64
entry64q:
    movl $SG_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    lidt idtr
    movl $SG_TSSSEL, %eax
    ltr %ax
    movq $SG_KSTACK_TOP, %rsp
    jmp entry64

    .org SG_ENTRY64 - SG_LOAD
entry64:                        /* both backends: CPL0, long mode */
    pushq $SG_UDATA
    pushq $SG_USTACK_TOP
    pushq $2                    /* RFLAGS: IF = 0, IOPL = 0 */
    pushq $SG_UCODE
    pushq $user
    iretq

user:                           /* CPL3 */
    movq SG_P_BASE, %rdi
    movq SG_P_PAGES, %rsi
    movq SG_P_PASSES, %r13
    movq %rdi, %rbx             /* first touch: every page once */
    movq %rsi, %rcx
1:  movb $0xaa, (%rbx)
    addq $4096, %rbx
    decq %rcx
    jnz 1b
    leaq 2f(%rip), %rbp
    movb SG_MAGIC + 'S', %al
2:  rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    movq %rdx, %r14
    movq %r13, %r12             /* the timed passes */
3:  movq %rdi, %rbx
    movq %rsi, %rcx
4:  movb %r12b, (%rbx)          /* 1 byte per 4 KiB page */
    addq $4096, %rbx
    decq %rcx
    jnz 4b
    decq %r12
    jnz 3b
    rdtsc
    shlq $32, %rdx
    orq %rax, %rdx
    subq %r14, %rdx
    movq %rdx, SG_R_TSC
    leaq 5f(%rip), %rbp
    movb SG_MAGIC + 'E', %al
5:  movq %rdi, %rbx             /* untimed check: the last pass wrote 1 */
    movq %rsi, %rcx
    xorl %edx, %edx
6:  movzbl (%rbx), %eax
    addq %rax, %rdx
    addq $4096, %rbx
    decq %rcx
    jnz 6b
    movq %rdx, SG_R_SUM
    movb SG_MAGIC + 'F', %al    /* does not return */
    ud2

    .org SG_VECTORS - SG_LOAD
vectors:                        /* vector n at SG_VECTORS + 16 n */
    vec = 0
    .rept 32
    .balign 16
    pushq $vec
    jmp vec_common
    vec = vec + 1
    .endr

vec_common:                     /* stack: vector, [error code,] RIP, CS, ... */
    cmpq $14, (%rsp)
    jne bad
    pushq %rax
    pushq %rdx
    movq %cr2, %rax
    movq %rax, %rdx
    andq $-256, %rdx
    cmpq $SG_MAGIC, %rdx
    jne badpf
    cmpb $'F', %al
    je finish
    movl $SG_DEBUGCON, %edx     /* marker: the byte, then resume at %rbp */
    outb %al, %dx
    popq %rdx
    popq %rax
    addq $16, %rsp              /* vector, error code */
    movq %rbp, (%rsp)
    iretq

finish:
    movl $SG_DEBUGCON, %edx
    movb $'R', %al
    outb %al, %dx
    movq SG_R_TSC, %rax
    call emit8
    movq SG_R_SUM, %rax
    call emit8
    jmp exit

badpf:                          /* 'P', CR2, RIP */
    movl $SG_DEBUGCON, %edx
    movb $'P', %al
    outb %al, %dx
    movq %cr2, %rax
    call emit8
    movq 32(%rsp), %rax         /* above rdx, rax, vector, error code */
    call emit8
    jmp exit

bad:                            /* 'X', the vector */
    movl $SG_DEBUGCON, %edx
    movb $'X', %al
    outb %al, %dx
    movq (%rsp), %rax
    outb %al, %dx

exit:
    movl $SG_DEBUGEXIT, %edx
    xorl %eax, %eax
    outb %al, %dx
    hlt
    jmp exit

emit8:                          /* %rax, 8 bytes little-endian, to %dx */
    movl $8, %ecx
1:  outb %al, %dx
    shrq $8, %rax
    decl %ecx
    jnz 1b
    ret
