/* SPDX-License-Identifier: MIT */
/*
 * hw-replay/layout.h - memory layout of the replay guest stub, shared by
 * stub.S (through cpp) and the VMMs (kvm.c).  Only plain #defines.
 *
 * The stub lives in its own region of guest-physical memory (STUB_GPA, far
 * above any domain's gfns) and is mapped at STUB_VA (the top 2 GiB, so every
 * stub address fits a sign-extended 32-bit displacement) through PML4 slot
 * 511 of the scenario's own page tables: the VMM copies the domain's memory,
 * points entry 511 of the recorded CR3's root at STUB_PDPT, and the stub
 * then runs with the scenario's CR3 -- the recorded access walks exactly the
 * scenario's tables.  A scenario that uses PML4 slot 511 itself is skipped.
 */
#ifndef HWR_LAYOUT_H
#define HWR_LAYOUT_H

#define STUB_GPA      0x1000000000     /* 64 GiB: above every domain's gfns */
#define STUB_VA       0xffffffff80000000
#define STUB_PAGES    64               /* region size: 256 KiB */
#define STUB_PML4_IDX 511

/* page offsets inside the region */
#define OFF_PDPT   0x0000   /* PDPT: entry 510 -> PD */
#define OFF_PD     0x1000   /* PD: entry 0 -> PT */
#define OFF_PT     0x2000   /* PT: maps the region (U=1) except MAGIC */
#define OFF_GDT    0x3000   /* GDT at +0, TSS at +0x100 */
#define OFF_TSS    0x3100
#define OFF_IDT    0x4000
#define OFF_PARAMS 0x5000   /* params (host -> stub) and results (stub -> host) */
#define OFF_KSTACK 0x6000   /* 2 pages, IST1 and RSP0 at the top */
#define OFF_USTACK 0x8000
#define OFF_CODE   0x9000   /* stub.bin, linked here */
#define OFF_MAGIC  0x3f000  /* never mapped: a #PF here means "access done" */
/* QEMU mode: identity map of the first 1 GiB (2 MiB pages) + slot 511 */
#define OFF_ID_PML4 0x30000
#define OFF_ID_PDPT 0x31000
#define OFF_ID_PD   0x32000
/* QEMU, CR4.LA57: a 5-level identity root; entries 0 and 511 both point
 * at OFF_ID_PML4 (identity at 0, the stub's PDPT at 511), and the
 * scenario's PML5 gets entry 511 -> OFF_ID_PML4 as well */
#define OFF_ID_PML5 0x33000
/* QEMU: guest-physical layout (RAM is 0..QEMU_MEM) */
#define STUB_GPA_QEMU 0x5000000   /* 80 MiB */
#define QBOOT_ADDR    0x6000000   /* 96 MiB: the multiboot image */
#define QEMU_MAX_RAM  0x5000000   /* domain RAM copies above this: SKIP */
#define DEBUGCON_PORT 0xe9
#define DEBUGEXIT_PORT 0xf4

#define STUB_PDPT_IDX 510   /* (STUB_VA >> 30) & 511 */

/* params page fields (absolute stub addresses) */
#define P_KIND   (STUB_VA + OFF_PARAMS + 0x00)  /* 0 read, 1 write, 2 fetch,
                                                   5 implicit supervisor read */
#define P_GVA    (STUB_VA + OFF_PARAMS + 0x08)
#define P_WIDTH  (STUB_VA + OFF_PARAMS + 0x10)
#define P_WVAL   (STUB_VA + OFF_PARAMS + 0x18)
#define P_CPL    (STUB_VA + OFF_PARAMS + 0x20)
/* QEMU mode (P_QEMU = 1): the stub loads the recorded state itself (the
 * multiboot loader qboot.S arrives in long mode on the identity tables) and
 * reports through isa-debugcon instead of halting */
#define P_QEMU   (STUB_VA + OFF_PARAMS + 0x28)
#define P_CR0    (STUB_VA + OFF_PARAMS + 0x30)
#define P_CR3    (STUB_VA + OFF_PARAMS + 0x38)
#define P_CR4    (STUB_VA + OFF_PARAMS + 0x40)
#define P_EFER   (STUB_VA + OFF_PARAMS + 0x48)
#define P_IDCR3  (STUB_VA + OFF_PARAMS + 0x50)  /* identity tables, for the dump */
#define P_DUMPN  (STUB_VA + OFF_PARAMS + 0x58)  /* pages to dump (<= 8) */
#define P_GDTR   (STUB_VA + OFF_PARAMS + 0x60)  /* 10-byte pseudo-descriptors */
#define P_IDTR   (STUB_VA + OFF_PARAMS + 0x70)
#define P_DUMPLIST (STUB_VA + OFF_PARAMS + 0x80) /* their gpas */
#define DUMP_MAX 8
/* benchmark/calibration loops (kind 3 read, 4 write): P_WIDTH accesses over
 * P_WVAL pages (a power of two) from P_GVA, sequential or, with P_LCG = 1,
 * in the order idx = 5 * idx + 1 mod pages (a full-period permutation);
 * one warm-up pass first, then the TSC cycles of the timed loop go to the
 * results' value */
#define P_LCG    (STUB_VA + OFF_PARAMS + 0xc8)
#define P_RFLAGS (STUB_VA + OFF_PARAMS + 0xd0)  /* CPL0 accesses: 2 | AC */
#define P_PKRU   (STUB_VA + OFF_PARAMS + 0xd8)  /* QEMU, CR4.PKE: wrpkru */
#define P_PKRS   (STUB_VA + OFF_PARAMS + 0xf0)  /* QEMU, CR4.PKS: IA32_PKRS */
#define OFF_UCODE (OFF_CODE + 0x1000)           /* the user copy: U=1 */
/* results, written by the exception handler */
#define R_STATUS (STUB_VA + OFF_PARAMS + 0x100) /* 1 once the handler ran */
#define R_VEC    (STUB_VA + OFF_PARAMS + 0x108)
#define R_EC     (STUB_VA + OFF_PARAMS + 0x110)
#define R_RIP    (STUB_VA + OFF_PARAMS + 0x118)
#define R_CS     (STUB_VA + OFF_PARAMS + 0x120)
#define R_CR2    (STUB_VA + OFF_PARAMS + 0x128)
#define R_RBX    (STUB_VA + OFF_PARAMS + 0x130) /* value read */

#define MAGIC_VA  (STUB_VA + OFF_MAGIC)
#define KSTACK_TOP (STUB_VA + OFF_KSTACK + 0x2000)
#define USTACK_TOP (STUB_VA + OFF_USTACK + 0x1000)
#define STUB_ENTRY (STUB_VA + OFF_CODE)
/* vector table: handler n at STUB_ENTRY + VEC_OFF + 16 * n */
#define VEC_OFF   0x800

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS   0x28
/* kind 5 (implicit supervisor read): a 16-byte LDT descriptor at 0x38
 * whose base is P_GVA; GDT limit 0x47 */
#define SEL_LDT   0x38
#define GDT_LIMIT 0x47

/* a non-canonical value: every register holds it during a fetch replay, so
 * whatever instruction the fetched bytes decode to faults (#GP) instead of
 * touching memory */
#define POISON    0x8000000000000000

/* ---- 32-bit and PAE paging (QEMU TCG; stub32.S) --------------------------
 * kvm-pvm here supports paging only in long mode (CR0.PG with EFER.LME=0
 * shuts the vCPU down), so these modes replay on QEMU only.  The stub32
 * region is the same STUB_PAGES region at STUB_GPA_QEMU, mapped at
 * STUB32_VA (the top 4 MiB of the 32-bit linear space) through the
 * scenario's own tables: 32-bit paging: PDE 1023 of its directory -> the
 * stub's PT (4-byte entries); PAE: PDPTE 3 -> the stub's PD at OFF_PDPT,
 * whose entry 510 -> the stub's PT (8-byte entries).  A scenario using that
 * PDE/PDPTE is skipped.  The identity root (OFF_ID_PML4: a 32-bit directory
 * or a PAE PDPT whose four entries use the PD at OFF_ID_PDPT) maps the
 * region both at its gpa and at STUB32_VA, so the stub can turn paging on
 * and off from its physical copy. */
#define STUB32_VA      0xffc00000
#define STUB32_PDE_IDX 1023
#define STUB32_PDPTE   3
#define STUB32_PD_IDX  510
#define P32_MODE   (OFF_PARAMS + 0xe0)   /* offsets: 1 = run stub32 (qboot.S) */
#define P32_GDTR0  (OFF_PARAMS + 0xe8)   /* GDT pseudo-descriptor, physical base */
#define P32(off)   (STUB32_VA + OFF_PARAMS + (off))
#define PHYS32(va) ((va) - STUB32_VA + STUB_GPA_QEMU)
#define MAGIC32_VA  (STUB32_VA + OFF_MAGIC)
#define KSTACK32_TOP (STUB32_VA + OFF_KSTACK + 0x2000)
#define USTACK32_TOP (STUB32_VA + OFF_USTACK + 0x1000)
#define STUB32_ENTRY (STUB32_VA + OFF_CODE)

#endif
