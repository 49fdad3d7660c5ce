/* SPDX-License-Identifier: MIT */
/*
 * model/ept.c - the EPT walk of one guest-physical address.
 *
 * Models SDM Vol. 3C 29.3.2 (EPT translation: 4- or 5-level, 4 KiB, 2 MiB
 * and 1 GiB pages), 29.3.3.1 (EPT misconfiguration), 29.3.3.2 (EPT
 * violation) with the exit qualification of Table 28-7, 29.3.5 (EPT
 * accessed and dirty flags, EPTP bit 6) and 29.3.7 (memory type and
 * ignore-PAT carried through), as specified in docs/translation-rules.md
 * ("EPT walk").
 *
 * The walk reads one entry per level from host memory, starting at the EPTP
 * root frame.  Each present entry is checked for misconfiguration as it is
 * read; a non-present entry stops the walk with a violation.  Permissions
 * are only judged at the leaf, against the AND of R/W/X over the walk,
 * because that AND is also what the exit qualification reports.
 *
 * ept_translate() only *adds* to res->refs / res->ept_refs, so that
 * mmu_translate() can accumulate the cost of every nested walk in one
 * result; a standalone caller zeroes *res first.
 */
#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

#define EPT_MAX_LEVELS 5
/* Leaf memory type, bits 5:3; 2, 3 and 7 are reserved encodings. */
#define EPT_EMT(e) (((e) >> 3) & 7)
#define EPT_PERM(e) ((e) & (EPT_R | EPT_W | EPT_X))

/* Index of gpa in the EPT table at 'level' (5 = PML5 ... 1 = PT). */
static unsigned ept_index(gpa_t gpa, int level)
{
    return (gpa_x(gpa) >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* True if a present entry at 'level' is an EPT misconfiguration; *leaf
 * says whether it maps a page. */
static bool ept_misconfigured(uint64_t e, int level, unsigned maxphy,
                              bool *leaf)
{
    *leaf = level == 1 || ((level == 2 || level == 3) && (e & EPT_PS));
    if ((e & EPT_W) && !(e & EPT_R))
        return true;
    if (maxphy && maxphy < 52
        && (e & ((1ULL << 52) - 1) & ~((1ULL << maxphy) - 1)))
        return true;
    if (level >= 4)
        return (e & (0x1FULL << 3)) != 0; /* bits 7:3 */
    if (!*leaf)
        return (e & (0x0FULL << 3)) != 0; /* bits 6:3 */
    unsigned emt = EPT_EMT(e);
    if (emt == 2 || emt == 3 || emt == 7)
        return true;
    /* A large leaf's address bits below its size are reserved. */
    if (level == 2 && (e & 0x1FF000ULL) && !MUTANT(MUT_EPT_LARGE_NO_RSVD))
        return true;
    if (level == 3 && (e & 0x3FFFF000ULL) && !MUTANT(MUT_EPT_LARGE_NO_RSVD))
        return true;
    return false;
}

/* The EPT permission an access of kind k needs in every entry. */
static uint64_t ept_needed(enum access_kind k)
{
    return k == ACC_WRITE ? EPT_W : k == ACC_FETCH ? EPT_X : EPT_R;
}

static void ept_exit(struct mmu_result *res, enum mmu_outcome o,
                     uint64_t qual, gpa_t gpa, gva_t gla)
{
    res->outcome = o;
    res->exit_qual = qual;
    res->exit_gpa = gpa;
    res->exit_gla = gla;
}

/*
 * Shadow paging (hap = "none", docs/translation-rules.md "Shadow paging"):
 * there is no nested walk.  The processor walks the shadow tables, which
 * the hypervisor built as the guest's tables with every guest-physical
 * address replaced by its P2M translation (Xen's _sh_propagate(): frame
 * from the P2M, write access removed for the read-only P2M types, no
 * entry for a gfn without usable RAM).  So the composition is read here
 * from the P2M (the tables under ept->root, which the sim writes) but
 * costs nothing: the walk's only references are the guest-level ones.
 * Where the P2M refuses the access, the shadow entry is missing or
 * read-only and the processor raises a #PF that the hypervisor intercepts
 * (sh_page_fault()): MMU_SHADOW_PF with the gpa the hypervisor resolves
 * and an EPT-style qualification holding what it learns from its own
 * walk -- the kind of the failing reference (bits 0-2), bit 7, and bit 8
 * for the final gpa -- but no permission bits (there is no EPT entry).
 */
static void shadow_translate(struct hostmem *hm, const struct mmu_ept *ept,
                             gpa_t gpa, enum access_kind k, bool walk,
                             gva_t gla, struct mmu_result *res)
{
    struct mmu_ept p2m = { .root = ept->root };
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate_la(hm, &p2m, gpa, k, walk, false, gla, &r);
    if (MUTANT(MUT_SHADOW_2D_REFS)) { /* charge the P2M as if walked */
        res->ept_refs += r.ept_refs;
        res->refs += r.refs;
    }
    if (r.outcome != MMU_OK) {
        /* A misconfigured P2M entry gives no shadow entry either: the
         * hypervisor sees it in its handler. */
        uint64_t kind = k == ACC_WRITE ? EPTQ_WRITE
                        : k == ACC_FETCH ? EPTQ_FETCH : EPTQ_READ;
        ept_exit(res, MMU_SHADOW_PF,
                 kind | EPTQ_GLA_VALID | (walk ? 0 : EPTQ_GLA_XLATE), gpa, gla);
        return;
    }
    res->hpa = r.hpa;
    res->ept_memtype = r.ept_memtype;
    res->ept_ipat = r.ept_ipat;
    res->ept_shift = r.ept_shift;
    res->ept_perm = r.ept_perm;
}

void ept_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res)
{
    ept_translate_la(hm, ept, gpa, k, walk, false, gla, res);
}

void ept_translate_la(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                      enum access_kind k, bool walk, bool user_la, gva_t gla,
                      struct mmu_result *res)
{
    if (ept->npt) {
        npt_translate(hm, ept, gpa, k, walk, gla, res);
        return;
    }
    if (ept->shadow) {
        shadow_translate(hm, ept, gpa, k, walk, gla, res);
        return;
    }
    int levels = ept->levels == 5 ? 5 : 4;
    uint64_t table = mfn_x(ept->root) << PAGE_SHIFT;
    /* AND over the entries walked (bit 10 only counts with MBEC). */
    uint64_t pmask = EPT_R | EPT_W | EPT_X | (ept->mbec ? EPT_XU : 0);
    uint64_t perm = pmask;
    uint64_t e = 0;
    hpa_t used[EPT_MAX_LEVELS];
    int nused = 0, leaf_level = 1, top = levels;
    uint64_t nonleaf[EPT_MAX_LEVELS + 1]; /* entries walked, by level */

    /* EPT paging-structure caches (SDM 28.4.1, guest-physical mappings):
     * a cached non-leaf entry for this gpa lets the walk start below it.
     * Entries are only cached from walks that succeeded, so the skipped
     * levels were present, well configured and (with A/D) accessed; the
     * skipped reads are counted in refs as if made (mmu.h, epsc_saved). */
    if (ept->epsc) {
        int cl;
        uint64_t ct, cp;
        if (mmu_epsc_lookup(ept->epsc, mfn_x(ept->root), gpa_x(gpa), levels,
                            &cl, &ct, &cp)) {
            unsigned skipped = (unsigned)(levels - cl + 1);
            res->ept_refs += skipped;
            res->refs += skipped;
            res->epsc_saved += skipped;
            top = cl - 1;
            table = ct;
            perm = cp & pmask;
        }
    }
    uint64_t perm0 = perm;

    /* With EPT A/D on, guest paging-structure accesses are writes. */
    bool as_write = k == ACC_WRITE || (walk && ept->ad);

    /* Bits 0-2: the kind of this EPT access (a paging-structure access with
     * A/D on sets both read and write); bit 7: the gla is always valid
     * here; bit 8: final vs. paging access. */
    uint64_t qual = (k == ACC_WRITE ? EPTQ_WRITE
                     : k == ACC_FETCH ? EPTQ_FETCH : EPTQ_READ)
                    | (as_write ? EPTQ_WRITE : 0)
                    | EPTQ_GLA_VALID | (walk ? 0 : EPTQ_GLA_XLATE);

    for (int level = top; level >= 1; level--) {
        /* A frame outside host memory reads as zero (not present): only a
         * broken EPT writer can point there, and the oracle will notice. */
        hpa_t ea = _hpa(table + 8 * ept_index(gpa, level));
        e = 0;
        (void)hostmem_read64(hm, ea, &e);
        mmu_log_ref(ept->reflog, hpa_x(ea));
        res->ept_refs++;
        res->refs++;

        if (!(e & pmask)) {
            /* Not present: the walk stops; bits 3-5 stay 0. */
            ept_exit(res, MMU_EPT_VIOLATION, qual, gpa, gla);
            return;
        }
        bool leaf;
        if (ept_misconfigured(e, level, ept->maxphyaddr, &leaf)) {
            ept_exit(res, MMU_EPT_MISCONFIG, 0, gpa, gla);
            return;
        }
        perm &= e & pmask;
        used[nused++] = ea;
        nonleaf[level] = e;
        if (leaf) {
            leaf_level = level;
            break;
        }
        table = e & EPT_ADDR_MASK;
    }

    uint64_t need = ept_needed(k) | (as_write ? EPT_W : 0);
    if (k == ACC_FETCH && ept->mbec && user_la && !MUTANT(MUT_EPT_MBEC_BIT2))
        need = EPT_XU;
    if ((perm & need) != need) {
        /* EPT_R/W/X are bits 0-2, the qualification reports them at 3-5;
         * with MBEC bit 6 is the AND of bit 10. */
        ept_exit(res, MMU_EPT_VIOLATION,
                 qual | (perm & 7) << 3 | ((perm & EPT_XU) ? EPTQ_UEXECUTABLE : 0),
                 gpa, gla);
        return;
    }

    /* EPT A/D (SDM 29.3.5): A in every entry used, D in the leaf for a
     * write (including a paging-structure access, with A/D on).  With PML
     * (SDM 29.3.6): if any flag must be set and the index is not in
     * 0..511, a log-full exit, nothing set; each D set 0 -> 1 logs the
     * 4 KiB-aligned gpa at log + 8 * index and decrements the index. */
    if (ept->ad && ept->pml) {
        bool any = false;
        for (int i = 0; i < nused && !any; i++) {
            uint64_t cur = 0;
            (void)hostmem_read64(hm, used[i], &cur);
            any = !(cur & EPT_A) || (i == nused - 1 && as_write && !(cur & EPT_D));
        }
        if (any && ept->pml->index > 511) {
            ept_exit(res, MMU_PML_FULL, 0, gpa, gla);
            return;
        }
    }
    if (ept->ad) {
        for (int i = 0; i < nused; i++) {
            uint64_t cur = 0, set = EPT_A;
            if (i == nused - 1 && as_write && !MUTANT(MUT_EPT_NO_DIRTY))
                set |= EPT_D;
            (void)hostmem_read64(hm, used[i], &cur);
            if ((cur & set) != set) {
                (void)hostmem_write64(hm, used[i], cur | set);
                mmu_log_ref(ept->reflog, hpa_x(used[i]));
                res->refs++;
                if (ept->pml && (set & ~cur & EPT_D) && !MUTANT(MUT_PML_NO_LOG)) {
                    struct mmu_pml *pl = ept->pml;
                    (void)hostmem_write64(hm, hpa_add(pl->log, 8ULL * pl->index),
                                          gpa_x(gpa) & PAGE_MASK);
                    pl->index--; /* 0 wraps to 0xFFFF: full next time */
                    res->refs++;
                }
            }
        }
    }

    /* Cache the non-leaf entries this successful walk used, each with the
     * permissions ANDed down to it (what a later walk starting below it
     * must still AND in). */
    if (ept->epsc) {
        uint64_t p = perm0;
        for (int level = top; level > leaf_level; level--) {
            p &= nonleaf[level] & pmask;
            mmu_epsc_fill(ept->epsc, mfn_x(ept->root), gpa_x(gpa), level,
                          nonleaf[level] & EPT_ADDR_MASK,
                          MUTANT(MUT_EPSC_OWN_RIGHTS) ? nonleaf[level] & pmask : p);
        }
    }

    unsigned shift = PAGE_SHIFT + 9 * (leaf_level - 1);
    uint64_t off = (1ULL << shift) - 1;
    res->outcome = MMU_OK;
    res->hpa = _hpa((e & EPT_ADDR_MASK & ~off) | (gpa_x(gpa) & off));
    res->ept_memtype = MUTANT(MUT_EPT_MEMTYPE_WB) ? 6 : EPT_EMT(e);
    res->ept_ipat = (e & EPT_IPAT) != 0 && !MUTANT(MUT_EPT_MEMTYPE_WB);
    res->ept_shift = shift;
    res->ept_perm = (unsigned)(perm & 7) | ((perm & EPT_XU) ? MMU_EPT_XU : 0);
}
