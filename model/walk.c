/* SPDX-License-Identifier: MIT */
/*
 * model/walk.c - one guest access: the 4-level guest walk nested in EPT.
 *
 * Models SDM Vol. 3A 4.5 (4-level paging, 4 KiB pages only), 4.6 (access
 * rights: U/S, R/W with CR0.WP, NX with EFER.NXE), 4.7 (#PF error code),
 * 4.8 (accessed and dirty flags) and Vol. 3C 29.3.3.2 (guest A/D updates are
 * EPT data writes), as specified in docs/translation-rules.md.
 *
 * The shape is Bochs's explicit 2D walk: before each guest paging-structure
 * entry is read, its guest-physical address goes through ept_translate() as
 * a paging-structure read; the final gpa then goes through the EPT with the
 * access's own kind.  The order of the phases is the precedence of faults:
 *
 *   1. walk      EPT exit on an entry's gpa, or #PF not-present
 *   2. rights    #PF protection (user, then write, then NX)
 *   3. final     EPT exit on the final gpa
 *   4. A/D       EPT write violation on the first entry to update
 *   5. commit    A/D bits written -- the only memory write, so a fault or
 *                exit in 1-4 leaves memory untouched
 */
#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

#define MMU_LEVELS 4

/* Index of va in the guest table at 'level' (4 = PML4 ... 1 = PT). */
static unsigned mmu_index(gva_t va, int level)
{
    return (gva_x(va) >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* One guest paging-structure entry used by the walk. */
struct mmu_entry {
    gpa_t gpa;
    hpa_t hpa;
    uint64_t val;
};

static void mmu_pf(struct mmu_result *res, uint32_t ec, gva_t va)
{
    res->outcome = MMU_PF;
    res->pf_ec = ec;
    res->cr2 = va;
}

/* The A/D bits the access must set in the entry at 'level' (0: none).
 * Only the PTE maps the page in this scope, so only it gets D. */
static uint64_t mmu_ad_bits(uint64_t e, int level, enum access_kind k)
{
    uint64_t set = PTE_A;
    if (level == 1 && k == ACC_WRITE && !MUTANT(MUT_NO_DIRTY_BIT))
        set |= PTE_D;
    return set & ~e;
}

void mmu_translate(struct hostmem *hm, const struct mmu_cpu *cpu,
                   const struct mmu_ept *ept, gva_t va, enum access_kind k,
                   struct mmu_result *res)
{
    struct mmu_entry ent[MMU_LEVELS + 1]; /* by level; [0] unused */
    bool user = cpu->cpl == 3;
    bool nxe = (cpu->efer & X86_EFER_NXE) != 0;
    uint64_t table = cpu->cr3 & PTE_ADDR_MASK;
    uint64_t rights = PTE_U | PTE_W; /* ANDed over the levels */
    bool nx = false;                 /* ORed over the levels */

    *res = (struct mmu_result){ .outcome = MMU_OK };

    /* The #PF error code bits that depend only on the access. */
    uint32_t ec = (k == ACC_WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0)
                  | (k == ACC_FETCH && nxe ? PFEC_ID : 0);

    /* 1. The walk.  PS is ignored in this scope: every level is a table. */
    for (int level = MMU_LEVELS; level >= 1; level--) {
        struct mmu_entry *p = &ent[level];

        p->gpa = _gpa(table + 8 * mmu_index(va, level));
        ept_translate(hm, ept, p->gpa, ACC_READ, true, va, res);
        if (res->outcome != MMU_OK)
            return;
        p->hpa = res->hpa;
        p->val = 0; /* outside host memory reads as not present */
        (void)hostmem_read64(hm, p->hpa, &p->val);
        res->guest_refs++;
        res->refs++;

        if (!(p->val & PTE_P)) {
            mmu_pf(res, ec, va);
            return;
        }
        rights &= p->val;
        nx |= (p->val & PTE_NX) != 0;
        table = p->val & PTE_ADDR_MASK;
    }

    /* 2. Access rights, in the rules' order of precedence.  A supervisor
     * write ignores R/W unless CR0.WP (the mutant forgets CR0.WP). */
    bool wp = (cpu->cr0 & X86_CR0_WP) && !MUTANT(MUT_IGNORE_WP);
    if ((user && !(rights & PTE_U))
        || (k == ACC_WRITE && !(rights & PTE_W) && (user || wp))
        || (k == ACC_FETCH && nxe && nx)) {
        mmu_pf(res, ec | PFEC_P, va);
        return;
    }

    /* 3. The final gpa, through the EPT with the access's own kind. */
    gpa_t gpa = _gpa(table | (gva_x(va) & ~PAGE_MASK));
    ept_translate(hm, ept, gpa, k, false, va, res);
    if (res->outcome != MMU_OK)
        return;
    hpa_t hpa = res->hpa;

    /* 4. A/D updates are EPT writes to the paging-structure pages: all must
     * be allowed before any is made.  The hardware has these EPT entries
     * from the walk, so the re-check is done on a scratch result and costs
     * no references. */
    for (int level = MMU_LEVELS; level >= 1; level--) {
        if (!mmu_ad_bits(ent[level].val, level, k))
            continue;
        struct mmu_result chk = { .outcome = MMU_OK };
        ept_translate(hm, ept, ent[level].gpa, ACC_WRITE, true, va, &chk);
        if (chk.outcome != MMU_OK) {
            res->outcome = chk.outcome;
            res->exit_qual = chk.exit_qual;
            res->exit_gpa = chk.exit_gpa;
            res->exit_gla = chk.exit_gla;
            return;
        }
    }

    /* 5. Commit.  The hardware sets A/D with a locked OR, so OR into what
     * memory holds now: one entry can serve at two levels (a self-map). */
    for (int level = MMU_LEVELS; level >= 1; level--) {
        uint64_t set = mmu_ad_bits(ent[level].val, level, k);
        if (!set)
            continue;
        uint64_t cur = 0;
        (void)hostmem_read64(hm, ent[level].hpa, &cur);
        (void)hostmem_write64(hm, ent[level].hpa, cur | set);
        res->ad_writes++;
        res->refs++;
    }

    res->outcome = MMU_OK;
    res->gpa = gpa;
    res->hpa = hpa;
}
