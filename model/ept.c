/* SPDX-License-Identifier: MIT */
/*
 * model/ept.c - the EPT walk of one guest-physical address.
 *
 * Models SDM Vol. 3C 29.3.2 (EPT translation, 4-level, 4 KiB pages only),
 * 29.3.3.1 (EPT misconfiguration) and 29.3.3.2 (EPT violation), with the
 * exit qualification of Table 28-7, as specified in
 * docs/translation-rules.md ("EPT walk").
 *
 * The walk reads one entry per level from host memory, starting at the EPTP
 * root frame.  Each present entry is checked for misconfiguration as it is
 * read; a non-present entry stops the walk with a violation.  Permissions
 * are only judged after all four levels, against the AND of R/W/X over the
 * walk, because that AND is also what the exit qualification reports.
 *
 * ept_translate() only *adds* to res->refs / res->ept_refs, so that
 * mmu_translate() can accumulate the cost of every nested walk in one
 * result; a standalone caller zeroes *res first.
 */
#include "pagesim/mmu.h"

/* Bits of one EPT entry that are reserved at each non-leaf level (SDM
 * 29.3.3.1): PML4E bits 7:3, PDPTE/PDE (as tables) bits 6:3. */
#define EPT_PML4E_RSVD (0x1FULL << 3)
#define EPT_TABLE_RSVD (0x0FULL << 3)
/* Leaf memory type, bits 5:3; 2, 3 and 7 are reserved encodings. */
#define EPT_EMT(e) (((e) >> 3) & 7)
#define EPT_PERM(e) ((e) & (EPT_R | EPT_W | EPT_X))

/* Index of gpa in the EPT table at 'level' (4 = PML4 ... 1 = PT). */
static unsigned ept_index(gpa_t gpa, int level)
{
    return (gpa_x(gpa) >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}

/* True if a present entry at 'level' is an EPT misconfiguration. */
static bool ept_misconfigured(uint64_t e, int level)
{
    if ((e & EPT_W) && !(e & EPT_R))
        return true;
    switch (level) {
    case 4:
        return (e & EPT_PML4E_RSVD) != 0;
    case 3:
    case 2:
        return (e & EPT_TABLE_RSVD) != 0;
    default: {
        unsigned emt = EPT_EMT(e);
        return emt == 2 || emt == 3 || emt == 7;
    }
    }
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

void ept_translate(struct hostmem *hm, const struct mmu_ept *ept, gpa_t gpa,
                   enum access_kind k, bool walk, gva_t gla,
                   struct mmu_result *res)
{
    uint64_t table = mfn_x(ept->root) << PAGE_SHIFT;
    uint64_t perm = EPT_R | EPT_W | EPT_X; /* AND over the entries walked */
    uint64_t e = 0;

    /* Bits 0-2: which kind of access this EPT walk is for (exactly one);
     * bit 7: the gla is always valid here; bit 8: final vs. paging access. */
    uint64_t qual = (k == ACC_WRITE ? EPTQ_WRITE
                     : k == ACC_FETCH ? EPTQ_FETCH : EPTQ_READ)
                    | EPTQ_GLA_VALID | (walk ? 0 : EPTQ_GLA_XLATE);

    for (int level = 4; level >= 1; level--) {
        /* A frame outside host memory reads as zero (not present): only a
         * broken EPT writer can point there, and the oracle will notice. */
        e = 0;
        (void)hostmem_read64(hm, _hpa(table + 8 * ept_index(gpa, level)), &e);
        res->ept_refs++;
        res->refs++;

        if (!EPT_PERM(e)) {
            /* Not present: the walk stops; bits 3-5 stay 0. */
            ept_exit(res, MMU_EPT_VIOLATION, qual, gpa, gla);
            return;
        }
        if (ept_misconfigured(e, level)) {
            ept_exit(res, MMU_EPT_MISCONFIG, 0, gpa, gla);
            return;
        }
        perm &= EPT_PERM(e);
        table = e & EPT_ADDR_MASK;
    }

    if (!(perm & ept_needed(k))) {
        /* EPT_R/W/X are bits 0-2, the qualification reports them at 3-5. */
        ept_exit(res, MMU_EPT_VIOLATION, qual | perm << 3, gpa, gla);
        return;
    }
    res->outcome = MMU_OK;
    res->hpa = _hpa((e & EPT_ADDR_MASK) | (gpa_x(gpa) & ~PAGE_MASK));
}
