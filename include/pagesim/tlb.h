/* SPDX-License-Identifier: MIT */
/*
 * pagesim/tlb.h - TLBs, CPU profiles and the cycle cost model (model/tlb.c).
 *
 * A vCPU's translation caches in front of mmu_translate(): per-size L1 dTLBs,
 * an L1 iTLB and a unified STLB, set-associative with LRU replacement and
 * the geometry of a CPU profile.  Entries cache the *combined* guest+EPT
 * translation (SDM 28.4.1 "combined mappings") tagged by VPID, PCID and
 * EPTP, plus the global bit; what they cache is the page frame and the
 * rights (SDM 4.10.2.2).  A hit re-checks the rights under the current
 * CR0/CR4/EFER/RFLAGS/PKRU; a write hit on a clean entry walks (to set D);
 * a #PF from a hit invalidates the page (SDM 4.10.4.1).  Not-present
 * translations are never cached.  A miss walks; the walk starts below the
 * deepest paging-structure-cache entry for the address (IA-32e:
 * PML5E/PML4E/PDPTE/PDE caches; 32-bit and PAE: the PDE cache, the PAE
 * PDPTEs being registers; SDM 4.10.3, holding combined mappings:
 * the next table's host-physical address and the rights above it), and
 * every EPT walk below the deepest EPT paging-structure-cache entry for
 * the gpa (SDM 28.4.1 guest-physical mappings).  Both are filled only from
 * walks that succeeded.  The references a walk makes are costed by a small
 * cache of page-table lines.
 *
 * Invalidation, with the SDM's scope (the minimum it guarantees; a model
 * may drop more, never less):
 *   INVLPG          current VPID+PCID entries for the page, and global
 *                   entries for the page in any PCID; PSC: every entry of
 *                   the current VPID+PCID, whatever its address
 *   MOV CR3         non-global entries of the current VPID and the new
 *                   PCID (PCIDE=0: PCID 0), and its PSC entries; none
 *                   with bit 63 set (PCIDE=1)
 *   INVPCID 0..3    individual address / single context (non-global) /
 *                   all contexts including globals / all contexts except
 *                   globals, within the current VPID; PSC: types 0 and 1
 *                   every entry of the PCID, 2 and 3 every entry
 *   INVVPID 0..3    individual address / single context / all contexts
 *                   (every VPID but 0) / single context except globals;
 *                   PSC: every entry of the VPID (type 0: the SDM asks
 *                   only for the entries that would translate the
 *                   address; dropping more is allowed)
 *   INVEPT 1, 2     single context (one EPTP) / all contexts, TLBs, PSCs
 *                   and EPT PSCs
 *   #PF             the page's TLB entries and the PSC entries that would
 *                   translate the address (current VPID+PCID)
 */
#ifndef PAGESIM_TLB_H
#define PAGESIM_TLB_H

#include "pagesim/mmu.h"

struct tlb_geom {
    unsigned entries, ways; /* ways == entries: fully associative */
};

/* A CPU profile: data, not code (model/profiles.c). */
struct cpu_profile {
    const char *name;
    unsigned maxphyaddr;
    struct tlb_geom dtlb4k, dtlb2m, dtlb1g, itlb4k, stlb; /* stlb: 4K+2M */
    unsigned lat_l1tlb;  /* cycles of an access that hits the L1 TLB */
    unsigned lat_stlb;   /* added by an STLB hit */
    unsigned lat_walk;   /* fixed cost of starting a walk */
    unsigned lat_pt_hit; /* one page-table reference hitting the PT-line cache */
    unsigned lat_pt_miss;/* one page-table reference missing it */
    unsigned ptc_lines, ptc_ways; /* the PT-line cache (64-byte lines) */
    /* Paging-structure caches (SDM 4.10.3), indexed by the level of the
     * cached entry: [2] PDE, [3] PDPTE, [4] PML4E, [5] PML5E; guest
     * (combined mappings, tagged VPID/PCID/EPTP) and EPT (guest-physical
     * mappings, tagged EPTP).  { 0, 0 }: no cache at that level. */
    struct tlb_geom psc[6], epsc[6];
    unsigned lat_vmexit; /* VM exit + entry round trip */
    bool mbec;           /* EPT mode-based execute control (Intel only) */
    bool npt_psc;        /* nested walks (NPT) use the epsc[] arrays as an
                          * NPT paging-structure cache (AMD only) */
    bool pwc;            /* the guest psc[] geometry is a page walk cache
                          * keyed by the entry's guest-physical address
                          * (AMD), not a linear-address-indexed PSC */
};

extern const struct cpu_profile cpu_profile_intel; /* Skylake-like */
extern const struct cpu_profile cpu_profile_amd;   /* Zen 2-like */
const struct cpu_profile *cpu_profile_by_name(const char *name);

struct mmu_tlb;

struct mmu_tlb *tlb_new(const struct cpu_profile *p);
void tlb_destroy(struct mmu_tlb *t);
const struct cpu_profile *tlb_profile(const struct mmu_tlb *t);

/* Where an access was satisfied. */
enum tlb_level { TLB_L1 = 1, TLB_STLB = 2, TLB_WALK = 3 };

struct tlb_result {
    enum tlb_level level;
    uint64_t cycles;     /* this access (VM exits not included) */
};

/* One access through the TLBs (t may be NULL: always a walk, no cost).
 * vpid tags the entries (0: the host / VPID disabled).  res as for
 * mmu_translate(); on a hit only outcome, gpa, hpa, page_shift (and pf_ec,
 * cr2) are meaningful and refs = 0. */
void tlb_access(struct mmu_tlb *t, struct hostmem *hm, const struct mmu_cpu *cpu,
                const struct mmu_ept *ept, uint16_t vpid, gva_t va,
                enum access_kind k, struct mmu_result *res,
                struct tlb_result *tr);

/* Would tlb_access() be satisfied from a TLB (a hit or a #PF from cached
 * rights)?  No side effects: lets the engine run the model before the oracle
 * when the model will not touch memory. */
bool tlb_probe(struct mmu_tlb *t, const struct mmu_cpu *cpu,
               const struct mmu_ept *ept, uint16_t vpid, gva_t va,
               enum access_kind k);

/* Would a walk for this access start from a paging-structure-cache entry,
 * and which (the deepest)?  No side effects; for the engine, which hands
 * the entry to the oracle (oracle_access_psc) before the model walks.
 * Only meaningful when tlb_probe() said no TLB hit. */
bool tlb_psc_probe(struct mmu_tlb *t, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, uint16_t vpid, gva_t va,
                   struct mmu_psc_start *out);

/* The PAE PDPTE registers (SDM 4.4.1; model/tlb.c): tlb_pae_load() reads
 * the four PDPTEs at CR3 through the EPT into the vCPU's registers (MOV
 * CR3, or a MOV CR0/CR4 changing paging, in PAE mode; false: not loaded,
 * walks read the PDPT from memory); tlb_pae_clear() forgets them (paging
 * left PAE mode); tlb_pae_regs() gives them when loaded for the current
 * CR3 in PAE mode.  Walks of tlb_access() use them; invalidations do not
 * touch them. */
bool tlb_pae_load(struct mmu_tlb *t, struct hostmem *hm,
                  const struct mmu_cpu *cpu, const struct mmu_ept *ept);
/* Whether the last tlb_pae_load() was a #GP(0): a present PDPTE with a
 * reserved bit (SDM 4.4.1); the registers were left as they were. */
bool tlb_pae_gp(const struct mmu_tlb *t);
/* Whether the last tlb_pae_load() ended in an EPT exit (violation or
 * misconfiguration) reading a PDPTE: its kind, qualification (bits 7 and
 * 8 clear: no guest-linear address) and the PDPTE's gpa; the registers
 * were left as they were. */
bool tlb_pae_exit(const struct mmu_tlb *t, enum mmu_outcome *kind,
                  uint64_t *qual, uint64_t *gpa);
void tlb_pae_clear(struct mmu_tlb *t);
/* Whether a MOV to CR0/CR4 (a v:set{} of the control registers) taking
 * the vCPU from 'old' to 'cpu' loads the PDPTE registers (SDM 4.4.1). */
bool tlb_pae_cr_loads(const struct mmu_cpu *old, const struct mmu_cpu *cpu);
bool tlb_pae_regs(const struct mmu_tlb *t, const struct mmu_cpu *cpu,
                  uint64_t out[4]);

/* Invalidations (see the top of this file). */
void tlb_invlpg(struct mmu_tlb *t, uint16_t vpid, uint16_t pcid, uint64_t va);
void tlb_mov_cr3(struct mmu_tlb *t, uint16_t vpid, uint16_t new_pcid,
                 bool noflush);
void tlb_invpcid(struct mmu_tlb *t, uint16_t vpid, unsigned type,
                 uint16_t pcid, uint64_t va);
void tlb_invvpid(struct mmu_tlb *t, unsigned type, uint16_t vpid, uint64_t va);
void tlb_invept(struct mmu_tlb *t, unsigned type, uint64_t eptp_root);
/* AMD SVM (APM vol. 2, 15.16; the ASID is the VPID tag): INVLPGA of va in
 * asid, and the TLB_CONTROL (0, 1, 3, 7) of a VMRUN. */
void tlb_invlpga(struct mmu_tlb *t, uint16_t asid, uint64_t va);
void tlb_svm_flush(struct mmu_tlb *t, unsigned ctl, uint16_t asid);

/* One NPT paging-structure-cache entry (AMD nested paging, a profile with
 * npt_psc): the nested entry at 'level' (2 nPDE, 3 nPDPTE, 4 nPML4E)
 * covering gpa_prefix = gpa >> (12 + 9 * (level - 1)) under nCR3 frame
 * root and the ASID, the next nested table's address, and the rights
 * down to it (PTE_U, PTE_W ANDed, PTE_NX ORed). */
struct tlb_npsc_ent {
    int level;
    uint64_t root, gpa_prefix, table_hpa, rights;
    uint16_t asid;
};
/* The valid NPT PSC entries of (root, asid), at most max of them, deepest
 * level first; returns how many.  No side effects: the engine hands them
 * to the oracle before the model walks. */
unsigned tlb_npsc_list(const struct mmu_tlb *t, uint64_t root, uint16_t asid,
                       struct tlb_npsc_ent *out, unsigned max);

/* The AMD page walk cache (a profile with pwc; model/tlb.c "page walk
 * cache"): one cached guest paging-structure entry, the non-leaf entry at
 * 'level' (2 PDE .. 5 PML5E) whose guest-physical address is gpa, and its
 * value as the walk read it (accessed flag set).  The entries the next
 * walk of the vCPU may use are those tagged with its VPID/ASID, PCID,
 * EPTP and paging mode (tlb_pwc_list()). */
struct tlb_pwc_ent {
    int level;
    uint64_t gpa, val;
};
/* The valid PWC entries a walk of this vCPU could use now (its tags), at
 * most max; returns how many.  No side effects: the engine hands those
 * the oracle allows to its walk before the model walks. */
unsigned tlb_pwc_list(const struct mmu_tlb *t, const struct mmu_cpu *cpu,
                      const struct mmu_ept *ept, uint16_t vpid,
                      struct tlb_pwc_ent *out, unsigned max);
/* One EPT paging-structure-cache entry (Intel EPT, a guest-physical
 * mapping, SDM Vol. 3C 29.4.1): the EPT entry at 'level' (2 EPT PDE ..
 * 5 EPT PML5E) covering gpa_prefix = gpa >> (12 + 9 * (level - 1)) under
 * EPTP root frame root, the next EPT table's address, and the rights
 * ANDed down to it (EPT_R/W/X, and EPT_XU with MBEC). */
struct tlb_epsc_ent {
    int level;
    uint64_t root, gpa_prefix, table_hpa, rights;
};
/* The valid EPT PSC entries of EPTP root, at most max of them, deepest
 * level first; returns how many.  No side effects: the engine hands them
 * to the oracle before the model walks.  EPT entries carry VPID 0; NPT
 * PSC entries in the same arrays (AMD profile) carry their ASID and are
 * left out (the engine asks only for EPT domains, whose roots no NPT
 * entry has). */
unsigned tlb_epsc_list(const struct mmu_tlb *t, uint64_t root,
                       struct tlb_epsc_ent *out, unsigned max);

/* Statistics. */
struct tlb_stats {
    uint64_t l1_hits, stlb_hits, walks, cycles;
    uint64_t walk_refs;  /* memory references the walks made (EPT PSC
                          * hits and skipped guest levels not counted) */
    uint64_t psc_hits;   /* walks that started from a guest PSC entry
                          * (AMD PWC: walks that used a PWC entry) */
    uint64_t epsc_hits;  /* EPT walks that started from an EPT PSC entry,
                          * and NPT walks from an NPT PSC entry */
};
void tlb_stats(const struct mmu_tlb *t, struct tlb_stats *s);

/* Host-side bookkeeping of the fast miss path (model/tlb.c "LRU order",
 * tlb_arr.kf) and of the invalidations (tlb_arr.occ, psc_arr.any): true
 * when every set's LRU order is stale or equals the order of its stamps
 * (so that it names the victim the LRU scan would), every key is in its
 * set's filter, every set holding a key is marked occupied and no PSC
 * array marked empty holds a valid entry.  For tests. */
bool tlb_fast_state_ok(const struct mmu_tlb *t);

/* A hash of every entry, LRU stamp and statistic of the TLBs, PSCs, EPT
 * PSCs and PT-line cache: equal digests, equal state (the differential
 * tests of the fast paths compare them). */
uint64_t tlb_state_digest(const struct mmu_tlb *t);

/* The PCID an access uses: CR3[11:0] with CR4.PCIDE in IA-32e mode. */
static inline uint16_t tlb_pcid_of(const struct mmu_cpu *cpu)
{
    return (cpu->cr4 & X86_CR4_PCIDE) && (cpu->efer & X86_EFER_LMA)
               ? (uint16_t)(cpu->cr3 & 0xFFF) : 0;
}

#endif /* PAGESIM_TLB_H */
