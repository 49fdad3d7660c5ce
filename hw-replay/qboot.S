/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/qboot.S - multiboot v1 loader for the QEMU TCG backend.
 *
 * QEMU's -kernel loads this flat image at QBOOT_ADDR (a.out kludge header)
 * with two modules: module 0 is the domain's RAM copy (-> gpa 0), module 1
 * the stub region built by the VMM (-> STUB_GPA_QEMU).  This copies both,
 * enters long mode on the identity tables the VMM put in the stub region
 * (OFF_ID_PML4; slot 511 maps the stub) and jumps to the stub, which loads
 * the recorded state itself (P_QEMU = 1).  For 32-bit and PAE paging it
 * jumps instead, still in protected mode with paging off, to stub32.S.
 */
#include "layout.h"

    .text
    .code32
    .globl _start
_start:
    jmp entry
    .balign 4
mb_header:
    .long 0x1badb002
    .long 0x00010000
    .long -(0x1badb002 + 0x00010000)
    .long mb_header          /* header_addr */
    .long _start             /* load_addr */
    .long 0                  /* load_end_addr: whole file */
    .long 0                  /* bss_end_addr: none */
    .long entry              /* entry_addr */

entry:
    cli
    cld
    movl 24(%ebx), %ebp      /* mods_addr */
    /* module 1: the stub region */
    movl 16(%ebp), %esi
    movl 20(%ebp), %ecx
    subl %esi, %ecx
    movl $STUB_GPA_QEMU, %edi
    rep movsb
    /* module 0: the domain's RAM, to gpa 0 (overwrites the multiboot info,
     * already read) */
    movl 0(%ebp), %esi
    movl 4(%ebp), %ecx
    subl %esi, %ecx
    xorl %edi, %edi
    rep movsb
    /* 32-bit or PAE paging (P32_MODE): the stub32 region, entered at its
     * physical copy with paging off; it sets up its own mode */
    cmpl $0, (STUB_GPA_QEMU + P32_MODE)
    je 2f
    movl $(STUB_GPA_QEMU + OFF_CODE), %eax
    jmp *%eax
2:  lgdt gdtr
    /* CR4.LA57 can only change with paging off: a recorded 5-level mode
     * (P_CR4 bit 12) enters long mode on the 5-level identity root */
    movl $(STUB_GPA_QEMU + OFF_ID_PML4), %edx
    movl %cr4, %eax
    orl $0x20, %eax          /* PAE */
    testl $0x1000, (STUB_GPA_QEMU + OFF_PARAMS + 0x40)
    jz 1f
    orl $0x1000, %eax        /* LA57 */
    movl $(STUB_GPA_QEMU + OFF_ID_PML5), %edx
1:  movl %eax, %cr4
    movl %edx, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x900, %eax         /* LME, NXE */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax    /* PG, PE */
    movl %eax, %cr0
    ljmp $0x08, $long64

    .code64
long64:
    movabsq $STUB_ENTRY, %rax
    jmp *%rax

    .balign 8
gdt:
    .quad 0
    .quad 0x00209a0000000000 /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff /* 0x10: data */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .long gdt
