/* SPDX-License-Identifier: MIT */
/*
 * model/npt.c - AMD nested paging: the nested walk of one guest-physical
 * address (AMD APM vol. 2, 15.25), as docs/translation-rules.md "NPT walk"
 * specifies.
 *
 * The nested tables use the 4-level long-mode format of the host.  Every
 * nested access is a user-mode access (U/S must be 1 at every level); R/W
 * is checked for writes (guest A/D updates are writes), XD for fetches with
 * the host's EFER.NXE.  Reserved bits: 51:MAXPHYADDR, XD without NXE, PS in
 * the PML4E, a large leaf's address bits 20:13 / 29:13.  A fault is a
 * #VMEXIT(NPF) whose EXITINFO1 holds the #PF-style error code plus bit 32
 * (final gpa) or bit 33 (guest page-table access), EXITINFO2 the gpa.  On
 * success the nested A flags (and the leaf's D for a write) are set.
 */
#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

void npt_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res)
{
    uint64_t table = mfn_x(ept->root) << PAGE_SHIFT;
    unsigned mp = ept->maxphyaddr && ept->maxphyaddr < 52 ? ept->maxphyaddr : 52;
    uint64_t hi = mp < 52 ? ((1ULL << 52) - 1) & ~((1ULL << mp) - 1) : 0;
    bool write = k == ACC_WRITE, fetch = k == ACC_FETCH;
    uint64_t ec = PFEC_U | (write ? PFEC_W : 0)
                  | (fetch && ept->npt_nxe ? PFEC_ID : 0)
                  | (walk ? NPF_GPT : NPF_FINAL);
    uint64_t rights = PTE_U | PTE_W;
    bool nx = false;
    hpa_t used[4];
    uint64_t e = 0, ents[5] = { 0 };
    int n = 0, leaf = 1, top = 4;

    /* The NPT paging-structure cache (AMD profile): the walk starts below
     * the deepest cached nested entry for gpa (ASID- and nCR3-tagged),
     * with the rights cached down to it.  Entries come only from walks
     * that succeeded (present, no reserved bit, A set), so the skipped
     * reads are counted in refs as if made (mmu.h, epsc_saved) and the
     * cost model charges refs - epsc_saved. */
    if (ept->epsc) {
        int cl;
        uint64_t ct, cp;
        if (mmu_npsc_lookup(ept->epsc, mfn_x(ept->root), ept->asid, gpa_x(gpa),
                            &cl, &ct, &cp)) {
            unsigned skipped = (unsigned)(4 - cl + 1);
            res->ept_refs += skipped;
            res->refs += skipped;
            res->epsc_saved += skipped;
            top = cl - 1;
            table = ct;
            rights &= cp;
            nx = (cp & PTE_NX) != 0;
        }
    }
    uint64_t rights0 = rights;
    bool nx0 = nx;

    for (int level = top; level >= 1; level--) {
        hpa_t ea = _hpa(table + 8 * ((gpa_x(gpa) >> (12 + 9 * (level - 1))) & 511));
        e = 0;
        (void)hostmem_read64(hm, ea, &e);
        mmu_log_ref(ept->reflog, hpa_x(ea));
        res->ept_refs++;
        res->refs++;
        used[n++] = ea;
        if (!(e & PTE_P)) {
            res->outcome = MMU_NPF;
            res->exit_qual = ec;
            res->exit_gpa = gpa;
            res->exit_gla = gla;
            return;
        }
        bool big = (level == 2 || level == 3) && (e & PTE_PS);
        uint64_t rsvd = hi | (ept->npt_nxe ? 0 : PTE_NX);
        if (level == 4)
            rsvd |= PTE_PS;
        if (big)
            rsvd |= level == 3 ? 0x3FFFE000ULL : 0x1FE000ULL;
        if (e & rsvd) {
            res->outcome = MMU_NPF;
            res->exit_qual = ec | PFEC_P | PFEC_RSVD;
            res->exit_gpa = gpa;
            res->exit_gla = gla;
            return;
        }
        rights &= e;
        nx |= (e & PTE_NX) != 0;
        ents[level] = e;
        if (level == 1 || big) {
            leaf = level;
            break;
        }
        table = e & PTE_ADDR_MASK;
    }

    if (!(rights & PTE_U) || (write && !(rights & PTE_W) && !MUTANT(MUT_NPT_IGNORE_RW))
        || (fetch && nx && ept->npt_nxe)) {
        res->outcome = MMU_NPF;
        res->exit_qual = ec | PFEC_P;
        res->exit_gpa = gpa;
        res->exit_gla = gla;
        return;
    }

    /* Nested A/D: A in every entry used, D in the leaf for a write. */
    for (int i = 0; i < n; i++) {
        uint64_t cur = 0, set = PTE_A | (i == n - 1 && write ? PTE_D : 0);
        (void)hostmem_read64(hm, used[i], &cur);
        if ((cur & set) != set) {
            (void)hostmem_write64(hm, used[i], cur | set);
            mmu_log_ref(ept->reflog, hpa_x(used[i]));
            res->refs++;
        }
    }

    /* Fill the NPT PSC with the non-leaf entries this walk read. */
    if (ept->epsc) {
        uint64_t r = rights0;
        bool x = nx0;
        for (int l = top; l > leaf; l--) {
            r &= ents[l];
            x = x || (ents[l] & PTE_NX);
            mmu_npsc_fill(ept->epsc, mfn_x(ept->root), ept->asid, gpa_x(gpa), l,
                          ents[l] & PTE_ADDR_MASK,
                          (r & (PTE_U | PTE_W)) | (x ? PTE_NX : 0));
        }
    }

    unsigned shift = PAGE_SHIFT + 9 * (leaf - 1);
    uint64_t off = (1ULL << shift) - 1;
    res->outcome = MMU_OK;
    res->hpa = _hpa((e & PTE_ADDR_MASK & ~off) | (gpa_x(gpa) & off));
    /* The nested leaf's memory type (APM 15.25.8): its PAT index (PWT bit
     * 3, PCD bit 4, PAT bit 7 of a 4 KiB entry or bit 12 of a large one)
     * through the host's PAT MSR, which Xen loads with XEN_MSR_PAT (WB,
     * WT, UC-, UC, WC, WP, UC, UC).  p2m_type_to_flags() gives RAM none of
     * these bits (WB) and mmio_direct PCD: entry 2, UC- (PAT encoding 7).
     * How the processor combines it with the guest's type is not modelled
     * (the result reports the host side, as ept_memtype does for EPT);
     * there is no ignore-PAT bit.  MUT_NPT_MEMTYPE_WB: always WB. */
    static const unsigned xen_pat[8] = { 6, 4, 7, 0, 1, 5, 0, 0 };
    unsigned pat_bit = leaf == 1 ? 7 : 12;
    unsigned idx = (unsigned)(((e >> 3) & 1) | ((e >> 4) & 1) << 1 | ((e >> pat_bit) & 1) << 2);
    res->ept_memtype = MUTANT(MUT_NPT_MEMTYPE_WB) ? 6 : xen_pat[idx];
    res->ept_ipat = false;
    res->ept_shift = shift;
    res->ept_perm = EPT_R | ((rights & PTE_W) ? EPT_W : 0)
                    | (nx && ept->npt_nxe ? 0 : EPT_X);
}
