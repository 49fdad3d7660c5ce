/* SPDX-License-Identifier: MIT */
/*
 * bench/stream_layout.h - guest-physical layout of the stream guest
 * (bench/stream_guest.S, run by bench/stream_anchors.c on QEMU TCG and on
 * KVM).  Shared by the assembler (through cpp) and the host program: only
 * plain #defines.
 *
 * The image is one flat file loaded at SG_LOAD: QEMU's -kernel loads it
 * there as a multiboot v1 "a.out kludge" kernel, the KVM runner copies it
 * there.  The page at SG_LOAD is the guest code; the host fills the pages
 * after it (descriptor tables, parameters, stacks, 4-level page tables).
 * The low 2 MiB are identity-mapped by one 2 MiB page (U=1, so the CPL3
 * loop can run from the code page); the streamed data is identity-mapped
 * from SG_DATA with 4 KiB pages, one PT per 2 MiB (PD entries 128..511).
 */
#ifndef STREAM_LAYOUT_H
#define STREAM_LAYOUT_H

#define SG_LOAD        0x100000     /* image base (1 MiB) */
#define SG_ENTRY64     0x100200     /* 64-bit entry, CPL0 (both backends) */
#define SG_VECTORS     0x100400     /* 32 exception stubs, 16 bytes each */
#define SG_CODE_MAX    0x1000       /* the code must fit its page */
#define SG_GDT         0x101000     /* null, kcode, kdata, udata, ucode, TSS */
#define SG_GDT_LIMIT   0x37
#define SG_TSS         0x101100
#define SG_IDT         0x102000     /* 32 gates of 16 bytes */
#define SG_PARAMS      0x103000     /* host -> guest, and the guest's results */
#define SG_P_BASE      (SG_PARAMS + 0x00)  /* first data page (gva = gpa) */
#define SG_P_PAGES     (SG_PARAMS + 0x08)
#define SG_P_PASSES    (SG_PARAMS + 0x10)
#define SG_R_TSC       (SG_PARAMS + 0x40)  /* TSC ticks of the timed passes */
#define SG_R_SUM       (SG_PARAMS + 0x48)  /* sum of every page's byte 0 after */
#define SG_KSTACK_TOP  0x106000     /* 2 pages; TSS.RSP0 */
#define SG_USTACK_TOP  0x107000
#define SG_PML4        0x108000
#define SG_PDPT        0x109000
#define SG_PD          0x10a000
#define SG_PT0         0x10b000     /* PT i maps SG_DATA + i * 2 MiB */
#define SG_DATA        0x10000000   /* 256 MiB */
#define SG_PD_FIRST    128          /* SG_DATA >> 21 */
#define SG_PAGES_MAX   196608       /* (512 - 128) PTs of 512 pages: 768 MiB */

#define SG_KCODE       0x08
#define SG_KDATA       0x10
#define SG_UDATA       0x1b         /* 0x18 | RPL 3 */
#define SG_UCODE       0x23         /* 0x20 | RPL 3 */
#define SG_TSSSEL      0x28

/* The markers: a CPL3 read of SG_MAGIC + c (never mapped: PDPT entry 1 is
 * empty) faults; the #PF handler sends byte c to the debug port and
 * resumes at %rbp.  kvm-here.md s1: on kvm-pvm a #PF is the only working
 * way from CPL3 to CPL0 (int $n gives #UD, out at CPL3 #GP). */
#define SG_MAGIC       0x7ff00000
#define SG_DEBUGCON    0xe9         /* QEMU isa-debugcon / a KVM_EXIT_IO */
#define SG_DEBUGEXIT   0xf4         /* QEMU isa-debug-exit / a KVM_EXIT_IO */

#endif
