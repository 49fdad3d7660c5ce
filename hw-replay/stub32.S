/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/stub32.S - the replay guest for 32-bit and PAE paging (SDM Vol.
 * 3A 4.3 and 4.4): performs ONE recorded access in legacy protected mode and
 * reports it, like stub.S does in 64-bit mode.  QEMU TCG only: kvm-pvm on
 * these hosts runs paging only in long mode (kvm-here.md; dmesg says CR0.PG
 * with EFER.LME clear shuts the vCPU down).
 *
 * Entered by qboot.S in 32-bit protected mode with paging OFF, at the
 * physical copy of this code (STUB_GPA_QEMU + OFF_CODE; linked at
 * STUB32_ENTRY).  It loads its GDT, the recorded CR4 (PSE/PAE/SMEP/SMAP/PGE,
 * plus OSFXSR for the 8-byte SSE moves), EFER.NXE, CR3 = the identity root
 * (which maps this region at its gpa and at STUB32_VA) and CR0.PG, jumps to
 * STUB32_VA, loads IDT/TSS, then the recorded CR3 (the scenario's own
 * tables, whose PDE 1023 / PDPTE 3 the VMM pointed at this region), and
 * performs the access at the recorded CPL:
 *   read/write of width 1/2/4 with mov, width 8 with one SSE movq (a single
 *   8-byte access, as the model makes it); then a touch of MAGIC32_VA
 *   (never mapped): #PF with CR2 == MAGIC32_VA means "access done";
 *   fetch: gva pushed, every other register = MAGIC32_VA, ret: a fetch
 *   fault is a #PF with CR2 == gva; a completed fetch executes the bytes
 *   there, which fault elsewhere (or halt).
 * Every vector 0..31 enters `common` through a 32-bit interrupt gate; it
 * stores vector, error code, EIP, CS, CR2 and the value read, goes back to
 * the identity root and the physical copy, turns paging off and writes the
 * results and the pages the VMM listed to isa-debugcon, then isa-debug-exit.
 */
#include "layout.h"

#define PP(off) (STUB_GPA_QEMU + OFF_PARAMS + (off))   /* params, paging off */

/* In: %eax kind, %edi gva, %esi/%edx value (low/high), %ecx width. */
.macro ACCESS sfx
    xorl %ebx, %ebx
    cmpl $2, %eax
    je fetch_\sfx
    cmpl $1, %eax
    je write_\sfx
    xorl %esi, %esi
    cmpl $1, %ecx
    je 1f
    cmpl $2, %ecx
    je 2f
    cmpl $4, %ecx
    je 4f
    movq (%edi), %xmm0      /* one 8-byte load */
    movd %xmm0, %ebx
    psrlq $32, %xmm0
    movd %xmm0, %esi
    jmp done_\sfx
1:  movzbl (%edi), %ebx
    jmp done_\sfx
2:  movzwl (%edi), %ebx
    jmp done_\sfx
4:  movl (%edi), %ebx
    jmp done_\sfx
write_\sfx:
    cmpl $1, %ecx
    je 1f
    cmpl $2, %ecx
    je 2f
    cmpl $4, %ecx
    je 4f
    movd %esi, %xmm0        /* one 8-byte store */
    movd %edx, %xmm1
    punpckldq %xmm1, %xmm0
    movq %xmm0, (%edi)
    jmp done_\sfx
1:  movl %esi, %eax
    movb %al, (%edi)
    jmp done_\sfx
2:  movw %si, (%edi)
    jmp done_\sfx
4:  movl %esi, (%edi)
done_\sfx:
    movb MAGIC32_VA, %al
    ud2                     /* not reached: the #PF above ends the run */
fetch_\sfx:
    pushl %edi
    movl $MAGIC32_VA, %eax
    movl %eax, %ebx
    movl %eax, %ecx
    movl %eax, %edx
    movl %eax, %esi
    movl %eax, %edi
    movl %eax, %ebp
    ret
.endm

    .text
    .code32
    .globl _start
_start:
    /* paging off, running at the physical copy */
    cli
    lgdt PP(0xe8)
    ljmp $SEL_KCODE, $PHYS32(1f)
1:  movl $SEL_KDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movl PP(0x40), %eax
    movl %eax, %cr4
    movl $0xc0000080, %ecx
    movl PP(0x48), %eax
    xorl %edx, %edx
    wrmsr
    movl PP(0x50), %eax     /* the identity root */
    movl %eax, %cr3
    movl PP(0x30), %eax
    movl %eax, %cr0         /* paging on: this code is identity-mapped */
    movl $2f, %eax
    jmp *%eax
2:  lgdt P32(0x60)          /* now at STUB32_VA: tables at their linear bases */
    lidt P32(0x70)
    ljmp $SEL_KCODE, $3f
3:  movl $SEL_KDATA, %eax
    movl %eax, %ss
    /* DPL3 data segments (flat): an iret to CPL3 would null DPL0 ones */
    movl $SEL_UDATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    movl $SEL_TSS, %eax
    ltr %ax
    movl $KSTACK32_TOP, %esp
    movl P32(0x38), %eax    /* the scenario's tables (PAE: loads its PDPTEs) */
    movl %eax, %cr3
    movl P32(0x00), %eax
    movl P32(0x08), %edi
    movl P32(0x18), %esi
    movl P32(0x1c), %edx
    movl P32(0x10), %ecx
    cmpl $3, P32(0x20)
    jne 4f
    pushl $SEL_UDATA
    pushl $USTACK32_TOP
    pushl $0x2
    pushl $SEL_UCODE
    pushl $user_access
    iret
4:  pushl P32(0xd0)         /* CPL0: the recorded EFLAGS.AC (SMAP override) */
    popfl
    ACCESS k

/* ---- exception vectors 0..31, 16 bytes apart at VEC_OFF ------------------- */
    .org VEC_OFF
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
    pushl $\n
    .else
    pushl $0
    pushl $\n
    .endif
    jmp common
    .endr

    .balign 16
common:
    movl %ebx, P32(0x130)
    movl %esi, P32(0x134)
    movl 0(%esp), %ebx
    movl %ebx, P32(0x108)
    movl 4(%esp), %ebx
    movl %ebx, P32(0x110)
    movl 8(%esp), %ebx
    movl %ebx, P32(0x118)
    movl 12(%esp), %ebx
    movl %ebx, P32(0x120)
    movl %cr2, %ebx
    movl %ebx, P32(0x128)
    movl $1, P32(0x100)
    /* the identity root maps this page here and at its gpa: continue at
     * the physical copy and turn paging off, then read by gpa */
    movl P32(0x50), %eax
    movl %eax, %cr3
    movl $PHYS32(5f), %eax
    jmp *%eax
5:  movl %cr0, %eax
    andl $0x7fffffff, %eax
    movl %eax, %cr0
    cld
    movl $DEBUGCON_PORT, %edx
    movl $PP(0x100), %esi
    movl $64, %ecx
    rep outsb
    movl PP(0x58), %ebx
    movl $PP(0x80), %ebp
7:  testl %ebx, %ebx
    jz 8f
    movl (%ebp), %esi
    movl $4096, %ecx
    rep outsb
    addl $8, %ebp
    decl %ebx
    jmp 7b
8:  movl $DEBUGEXIT_PORT, %edx
    xorl %eax, %eax
    outl %eax, %dx
9:  hlt
    jmp 9b

/* ---- the user page (code offset 0x1000, mapped U=1) ------------------------ */
    .org 0x1000
user_access:
    ACCESS u
