/* SPDX-License-Identifier: MIT */
/*
 * pagesim/mmu.h - the hardware: x86 guest paging walk nested in an EPT walk
 * (model/walk.c, model/ept.c).
 *
 * mmu_translate() does what the processor does for one guest access with EPT
 * on (SDM Vol. 3A ch. 4 and Vol. 3C ch. 29 "EPT"): every guest-physical
 * address the guest walk touches -- each paging-structure entry and the final
 * gpa -- is itself translated through the EPT (the 2D walk).  It sets guest
 * accessed/dirty bits (SDM 4.8), which are EPT *writes* to the guest
 * paging-structure page (SDM 29.3.3.2), and reports either success, a #PF for
 * the guest, or an EPT violation / misconfiguration VM exit.
 *
 * Nothing here knows about the hypervisor.  The EPT is read from host memory
 * starting at the EPTP root frame; who wrote it is not our business.
 *
 * Skeleton scope: 4-level paging (CR0.PG, CR4.PAE, EFER.LME) with 4 KiB pages,
 * 4-level EPT with 4 KiB pages, U/S, R/W, NX (EFER.NXE), CR0.WP.
 */
#ifndef PAGESIM_MMU_H
#define PAGESIM_MMU_H

#include "pagesim/hostmem.h"

/* Control-register bits used by the walk. */
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PSE (1ULL << 4)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_LA57 (1ULL << 12)
#define X86_CR4_SMEP (1ULL << 20)
#define X86_CR4_SMAP (1ULL << 21)
#define X86_CR4_PKE (1ULL << 22)
#define X86_CR4_PKS (1ULL << 24)
#define X86_RFLAGS_AC (1ULL << 18)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_EFER_NXE (1ULL << 11)

/* Guest paging-structure entry bits (SDM Vol. 3A 4.5). */
#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* #PF error code (SDM Vol. 3A 4.7). */
#define PFEC_P (1u << 0)
#define PFEC_W (1u << 1)
#define PFEC_U (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_ID (1u << 4)
#define PFEC_PK (1u << 5)

/* EPT entry permission bits (SDM Vol. 3C 29.3.2). */
#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)
#define EPT_A (1ULL << 8)
#define EPT_D (1ULL << 9)
#define EPT_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* EPT-violation exit qualification (SDM Vol. 3C Table 28-7). */
#define EPTQ_READ (1ULL << 0)
#define EPTQ_WRITE (1ULL << 1)
#define EPTQ_FETCH (1ULL << 2)
#define EPTQ_READABLE (1ULL << 3)
#define EPTQ_WRITABLE (1ULL << 4)
#define EPTQ_EXECUTABLE (1ULL << 5)
#define EPTQ_GLA_VALID (1ULL << 7)
#define EPTQ_GLA_XLATE (1ULL << 8) /* 1: final translation; 0: walk / A-D */

/* Guest-visible CPU state that translation depends on. */
struct mmu_cpu {
    uint64_t cr0, cr3, cr4, efer;
    unsigned cpl; /* 0..3; 3 is a user access */
    uint64_t rflags;     /* only AC (bit 18) matters: SMAP override */
    uint32_t pkru, pkrs; /* protection-key rights (CR4.PKE / CR4.PKS) */
    unsigned maxphyaddr; /* from the CPU profile; 0 means 52 */
    bool implicit;       /* accesses are implicit supervisor accesses
                          * (descriptor tables etc.): never user-mode, and
                          * SMAP ignores EFLAGS.AC for them */
};

/* The paging mode the control registers select (SDM Vol. 3A 4.1). */
enum mmu_mode { MMU_MODE_NONE, MMU_MODE_32, MMU_MODE_PAE, MMU_MODE_4L,
                MMU_MODE_5L };
enum mmu_mode mmu_mode_of(const struct mmu_cpu *cpu);

/* The EPTP as far as the walk cares. */
struct mmu_ept {
    mfn_t root; /* frame of the EPT PML4 */
};

enum mmu_outcome {
    MMU_OK = 0,
    MMU_PF,            /* #PF delivered to the guest */
    MMU_EPT_VIOLATION, /* VM exit to the hypervisor */
    MMU_EPT_MISCONFIG, /* VM exit to the hypervisor */
    MMU_GP,            /* #GP(0): non-canonical address, or a PAE PDPTE
                        * with reserved bits (loaded as if by MOV CR3) */
};

struct mmu_result {
    enum mmu_outcome outcome;
    /* MMU_OK: where the access lands. */
    gpa_t gpa;
    hpa_t hpa;
    /* MMU_PF */
    uint32_t pf_ec;
    gva_t cr2;
    /* MMU_EPT_VIOLATION / MMU_EPT_MISCONFIG */
    uint64_t exit_qual;
    gpa_t exit_gpa; /* guest-physical address that faulted */
    gva_t exit_gla; /* guest-linear address (valid if EPTQ_GLA_VALID) */
    /* Memory references made: guest paging-structure reads, EPT entry reads
     * (every level of every nested walk), and A/D write-backs. */
    unsigned refs;
    unsigned guest_refs; /* guest paging-structure entry reads */
    unsigned ept_refs;   /* EPT entry reads */
    unsigned ad_writes;  /* guest A/D bit write-backs */
    unsigned page_shift; /* MMU_OK: 12, 21, 22 or 30 (guest page size) */
};

/* One guest access of kind k at gva through guest paging (cpu) and EPT
 * (ept).  On MMU_OK, guest A (and D for writes) bits have been set in memory.
 * On a fault or exit no memory has been modified. */
void mmu_translate(struct hostmem *hm, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, gva_t va, enum access_kind k,
                   struct mmu_result *res);

/* EPT-only walk of one guest-physical address (used for the 2D walk and by
 * tools).  'walk' says the gpa is a guest paging-structure reference (exit
 * qualification bit 8 = 0).  On success res->hpa is filled. */
void ept_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res);

#endif /* PAGESIM_MMU_H */
