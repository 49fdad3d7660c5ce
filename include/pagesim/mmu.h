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
 * Scope (issue 4): no paging, 32-bit, PAE, 4-level and 5-level paging with
 * 4 KiB / 2 MiB / 4 MiB / 1 GiB pages, canonical checks (#GP), reserved bits
 * with MAXPHYADDR, U/S, R/W with CR0.WP, NX, SMEP, SMAP (EFLAGS.AC, implicit
 * accesses), PKRU/PKRS; 4- and 5-level EPT with 2 MiB / 1 GiB leaves, memory
 * type, EPT A/D.  TLBs live in front of this (pagesim/tlb.h).
 */
#ifndef PAGESIM_MMU_H
#define PAGESIM_MMU_H

#include "pagesim/hostmem.h"

/* Control-register bits used by the walk. */
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR4_PSE (1ULL << 4)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_LA57 (1ULL << 12)
#define X86_CR4_PCIDE (1ULL << 17)
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
#define PTE_G (1ULL << 8)
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
#define EPT_PS (1ULL << 7) /* a 2 MiB (level 2) or 1 GiB (level 3) leaf */
#define EPT_IPAT (1ULL << 6)
#define EPT_A (1ULL << 8)
#define EPT_D (1ULL << 9)
#define EPT_XU (1ULL << 10) /* user-mode execute, with MBEC */
#define EPT_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* EPT-violation exit qualification (SDM Vol. 3C Table 28-7). */
#define EPTQ_READ (1ULL << 0)
#define EPTQ_WRITE (1ULL << 1)
#define EPTQ_FETCH (1ULL << 2)
#define EPTQ_READABLE (1ULL << 3)
#define EPTQ_WRITABLE (1ULL << 4)
#define EPTQ_EXECUTABLE (1ULL << 5)
#define EPTQ_UEXECUTABLE (1ULL << 6) /* with MBEC: AND of bit 10 */
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
    /* PAE paging: the four PDPTE registers (SDM 4.4.1), as the last MOV
     * CR3 (or paging-changing MOV CR0/CR4) loaded them; the walk uses them
     * instead of reading the PDPT.  NULL: the PDPT is read on every walk
     * (as if loaded just before it; vCPUs without TLBs).  model/tlb.c
     * keeps them for a vCPU with TLBs (tlb_pae_load()). */
    const uint64_t *pdpte;
};

/* The paging mode the control registers select (SDM Vol. 3A 4.1). */
enum mmu_mode { MMU_MODE_NONE, MMU_MODE_32, MMU_MODE_PAE, MMU_MODE_4L,
                MMU_MODE_5L };
enum mmu_mode mmu_mode_of(const struct mmu_cpu *cpu);

/* Optional log of the host addresses of every memory reference a walk makes
 * (guest entries, EPT entries, A/D writes), for the cost model. */
#define MMU_REFLOG_MAX 64
struct mmu_reflog {
    unsigned n;
    uint64_t hpa[MMU_REFLOG_MAX];
};

static inline void mmu_log_ref(struct mmu_reflog *l, uint64_t hpa)
{
    if (l && l->n < MMU_REFLOG_MAX)
        l->hpa[l->n++] = hpa;
}

/* Page-modification logging (SDM 29.3.6): a 4 KiB log of 512 entries at
 * 'log', filled downwards from index 511. */
struct mmu_pml {
    hpa_t log;
    uint16_t index;
};

/* The EPTP as far as the walk cares. */
struct mmu_ept {
    mfn_t root; /* frame of the EPT PML4 (PML5 with levels = 5) */
    /* Zero-initialised fields keep the skeleton's EPT: 4 levels, no A/D,
     * MAXPHYADDR 52. */
    unsigned levels;     /* EPTP bits 5:3 + 1: 4 or 5 (0 means 4) */
    bool ad;             /* EPTP bit 6: EPT accessed/dirty flags */
    unsigned maxphyaddr; /* bits 51:MAXPHYADDR of entries are reserved */
    bool mbec;           /* mode-based execute control: bit 2 executes
                          * supervisor-mode addresses, bit 10 user-mode */
    struct mmu_pml *pml; /* PML on (needs ad); NULL: off */
    /* AMD nested paging instead of EPT: root is nCR3's frame; the nested
     * tables use the 4-level long-mode format (model/npt.c). */
    bool npt;
    bool npt_nxe;        /* host EFER.NXE for the nested tables */
    /* Shadow paging (no nested paging, domain hap = "none"): the walk is
     * one-dimensional.  root is the P2M (the hypervisor's EPT-format
     * tables), which the shadow tables compose with the guest's: it is
     * consulted for every gpa at no cost, and a refusal is MMU_SHADOW_PF
     * (model/ept.c shadow_translate()).  Guest A/D updates need no P2M
     * write check: the hypervisor sets them through its own mapping. */
    bool shadow;
    struct mmu_reflog *reflog; /* NULL: no logging */
    /* The hypervisor's own software walk, as Xen's instruction emulator
     * makes it (guest_walk_tables() from hvmemul_linear_to_phys()) after
     * an exit on the final gpa: the final gpa is not translated through
     * the EPT (the emulator resolves it in the P2M itself), and A/D bits
     * are written through the hypervisor's mapping, so no EPT write check
     * applies to them.  res->ad_gpa[] lists the entries it changed. */
    bool emulator;
    /* EPT paging-structure caches (SDM 28.4.1 "guest-physical mappings"),
     * model/tlb.c; NULL: none (every EPT walk starts at the root).  With
     * npt: the NPT paging-structure cache (AMD nested paging: cached
     * nPML4E/nPDPTE/nPDE entries, tagged by nCR3 (root) and ASID). */
    struct mmu_epsc *epsc;
    uint16_t asid;       /* npt with epsc: the ASID tagging its entries */
    /* The AMD page walk cache (model/tlb.c), NULL: none.  Each non-leaf
     * guest entry is first looked up by its guest-physical address
     * (mmu_pwc_lookup()); a hit gives its value with no memory reference
     * and no EPT walk for it. */
    struct mmu_pwc *pwc;
};

/* ---- paging-structure caches (SDM 4.10.3, 28.4.1) ---------------------------- */

/* Where a guest walk starts when a paging-structure-cache entry was used:
 * the entry at 'level' (a PML4E/PDPTE/PDE cached as a *combined* mapping,
 * SDM 28.4.1) is not read; the walk reads the entry at level - 1 from
 * the cached table's host-physical address (no EPT walk for that table),
 * with the rights the cached upper levels gave. */
struct mmu_psc_start {
    int level;           /* the cached entry's level: 2 PDE .. 5 PML5E */
    uint64_t table_gpa;  /* the table it points to (for A/D EPT checks) */
    uint64_t table_hpa;  /* ... and its host-physical address */
    uint64_t rights;     /* PTE_U, PTE_W ANDed and PTE_NX ORed over the
                          * levels down to 'level' */
};

/* What a successful IA-32e guest walk used, for filling the caches: for
 * each level l walked, the table holding its entry (tbl_*[l]) and the
 * rights accumulated down to l (rights[l], as in mmu_psc_start). */
struct mmu_walklog {
    int top, leaf;                 /* levels walked: top .. leaf */
    uint64_t tbl_gpa[6], tbl_hpa[6], rights[6];
    /* with a page walk cache (mmu_ept.pwc): each level's entry, its gpa
     * and value (read, or from the PWC) */
    uint64_t ent_gpa[6], val[6];
};

/* The AMD page walk cache (model/tlb.c): the entry at 'level' whose gpa
 * is gpa, under the tags the cache was set up with for this access. */
struct mmu_pwc;
bool mmu_pwc_lookup(struct mmu_pwc *c, int level, uint64_t gpa, uint64_t *val);

/* The EPT paging-structure caches: lookup of the deepest cached non-leaf
 * EPT entry for gpa under the EPTP root (level 2 PDE .. 5 PML5E), giving
 * the next table's address and the R/W/X(/XU) AND down to it; fill after
 * a successful EPT walk.  model/tlb.c. */
struct mmu_epsc;
bool mmu_epsc_lookup(struct mmu_epsc *c, uint64_t root, uint64_t gpa,
                     int levels, int *level, uint64_t *table, uint64_t *perm);
void mmu_epsc_fill(struct mmu_epsc *c, uint64_t root, uint64_t gpa, int level,
                   uint64_t table, uint64_t perm);
/* mmu_epsc_lookup() without using the entry (no LRU update, not counted):
 * for the walker's fast path, which uses it only once it knows the walk
 * completes. */
bool mmu_epsc_peek(struct mmu_epsc *c, uint64_t root, uint64_t gpa,
                   int levels, int *level, uint64_t *table, uint64_t *perm);
/* The NPT paging-structure cache (model/npt.c's walk, AMD nested paging):
 * the same arrays, entries also tagged by the ASID; perm holds PTE_U and
 * PTE_W ANDed and PTE_NX ORed down to the cached entry. */
bool mmu_npsc_lookup(struct mmu_epsc *c, uint64_t root, uint16_t asid,
                     uint64_t gpa, int *level, uint64_t *table, uint64_t *perm);
void mmu_npsc_fill(struct mmu_epsc *c, uint64_t root, uint16_t asid,
                   uint64_t gpa, int level, uint64_t table, uint64_t perm);

enum mmu_outcome {
    MMU_OK = 0,
    MMU_PF,            /* #PF delivered to the guest */
    MMU_EPT_VIOLATION, /* VM exit to the hypervisor */
    MMU_EPT_MISCONFIG, /* VM exit to the hypervisor */
    MMU_PML_FULL,      /* VM exit: PML log full (index not in 0..511) */
    MMU_NPF,           /* #VMEXIT(NPF): exit_qual = EXITINFO1, exit_gpa =
                        * EXITINFO2 (AMD nested paging) */
    MMU_GP,            /* #GP(0): non-canonical address, or a PAE PDPTE
                        * with reserved bits (loaded as if by MOV CR3) */
    MMU_SHADOW_PF,     /* shadow paging: a #PF the hypervisor intercepts
                        * because of the P2M, not the guest's tables
                        * (sh_page_fault()); exit_gpa, exit_gla and an
                        * EPT-style exit_qual without bits 6:3 */
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
    unsigned epsc_saved; /* EPT entry reads an EPT paging-structure-cache
                          * hit made unnecessary: counted in refs (and
                          * ept_refs) as if made, so refs stays what the
                          * oracle predicts; the cost model charges
                          * refs - epsc_saved */
    unsigned page_shift; /* MMU_OK: 12, 21, 22 or 30 (guest page size) */
    /* MMU_OK: the EPT leaf of the final gpa (SDM 29.3.7). */
    unsigned ept_memtype; /* bits 5:3 */
    bool ept_ipat;        /* bit 6, ignore PAT */
    unsigned ept_shift;   /* 12, 21 or 30 (EPT page size) */
    /* MMU_OK: what a TLB entry caches (SDM 4.10.2.2). */
    unsigned rights;      /* MMU_R_* */
    unsigned pkey;        /* leaf bits 62:59 (IA-32e) */
    unsigned ept_perm;    /* AND of the final EPT walk's R/W/X, and
                           * MMU_EPT_XU for the AND of bit 10 (MBEC) */
    /* ept->emulator or ept->shadow, MMU_OK: the gpas of the guest entries
     * whose A/D bits the walk changed (Xen marks their frames dirty). */
    unsigned nad_gpa;
    uint64_t ad_gpa[5];
};
/* *r = (struct mmu_result){ 0 } in 16-byte stores: GCC makes a struct
 * clear of this size a rep stos, whose start-up costs more than the rest
 * of a TLB miss (hot in mmu_translate_psc() and tlb.c's miss path). */
static inline void mmu_result_clear(struct mmu_result *r)
{
    typedef uint64_t zero16 __attribute__((vector_size(16), aligned(8), may_alias));
    zero16 *p = (zero16 *)(void *)r;
    const zero16 z = { 0, 0 };
#pragma GCC unroll 16
    for (size_t i = 0; i < sizeof(*r) / 16; i++)
        p[i] = z;
    if (sizeof(*r) % 16)
        __builtin_memset((char *)r + sizeof(*r) / 16 * 16, 0, sizeof(*r) % 16);
}

#define MMU_R_U 1u  /* U/S=1 at every level */
#define MMU_R_W 2u  /* R/W=1 at every level */
#define MMU_R_NX 4u /* XD=1 somewhere (and it counts: NXE, not 32-bit) */
#define MMU_R_D 8u  /* the leaf is dirty (after this access) */
#define MMU_R_G 16u /* global: leaf G=1 and CR4.PGE=1 */
#define MMU_EPT_XU 8u /* in ept_perm: user-execute (EPT bit 10) */

/* One guest access of kind k at gva through guest paging (cpu) and EPT
 * (ept).  On MMU_OK, guest A (and D for writes) bits have been set in memory.
 * On a fault or exit no memory has been modified. */
void mmu_translate(struct hostmem *hm, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, gva_t va, enum access_kind k,
                   struct mmu_result *res);
/* The same, starting below a paging-structure-cache entry (start may be
 * NULL: a full walk; IA-32e: level 2..5, 32-bit and PAE: level 2), and
 * recording what a
 * successful walk used in *wlog (may be NULL).  res->refs counts the
 * references made: the cached levels cost none, the first entry read
 * costs one (its table's address is host-physical). */
void mmu_translate_psc(struct hostmem *hm, const struct mmu_cpu *cpu,
                       const struct mmu_ept *ept, gva_t va, enum access_kind k,
                       const struct mmu_psc_start *start,
                       struct mmu_walklog *wlog, struct mmu_result *res);

/* #NPF EXITINFO1 bits (AMD APM vol. 2, 15.25.6): the #PF error-code bits
 * of the nested fault, and where it happened. */
#define NPF_FINAL (1ULL << 32) /* translating the final gpa */
#define NPF_GPT (1ULL << 33)   /* translating a guest page-table access */

/* One nested (NPT) translation, the AMD counterpart of ept_translate():
 * 'walk' says a guest page-table access (those are user-mode reads, or
 * writes for A/D updates). */
void npt_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res);

/* The access-rights check of a cached translation (rights MMU_R_*, the
 * leaf's protection key) under the current CPU state: the #PF error code
 * of a protection fault, or 0 (docs/translation-rules.md "Access rights").
 * Used on TLB hits. */
uint32_t mmu_rights_check(const struct mmu_cpu *cpu, enum access_kind k,
                          unsigned rights, unsigned pkey);

/* EPT-only walk of one guest-physical address (used for the 2D walk and by
 * tools).  'walk' says the gpa is a guest paging-structure reference (exit
 * qualification bit 8 = 0).  On success res->hpa, ept_memtype, ept_ipat
 * and ept_shift are filled and, with ept->ad, the EPT A flags of every
 * entry used (and D of the leaf for writes) are set in memory.  With
 * ept->ad a paging-structure reference ('walk') counts as a write (SDM
 * 29.3.5): it needs W, reports bits 0 and 1, and sets D. */
void ept_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res);
/* The same, saying whether the linear address is a user-mode address (U/S=1
 * at every guest level): with ept->mbec a fetch needs bit 10 for a
 * user-mode address and bit 2 for a supervisor-mode one. */
void ept_translate_la(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                      enum access_kind k, bool walk, bool user_la, gva_t gla,
                      struct mmu_result *res);

/* SDM 4.4.1: a present PAE PDPTE with a reserved bit set (model/walk.c):
 * loading it into the PDPTE registers is a #GP(0). */
bool mmu_pae_pdpte_reserved(const struct mmu_cpu *cpu, uint64_t pdpte);

#endif /* PAGESIM_MMU_H */
