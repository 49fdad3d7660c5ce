/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_model.c - model/walk.c and model/ept.c against
 * docs/translation-rules.md, on a world built by hand.
 *
 * The world (world.h): one guest 4-level walk for TVA through guest tables
 * at gfns 0x10-0x13 to a data page at gfn 0x20, over an EPT that maps gfn
 * g to mfn g + GOFF.  Tests then break exactly one thing and check the
 * outcome.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "world.h"

static const struct mmu_ept ept = { .root = { EPT_PML4_MFN } };

static gpa_t gpte_gpa(int level)
{
    return _gpa((GT_GFN(level) << 12) + 8 * TIDX(level));
}

static struct mmu_result go(enum access_kind k)
{
    struct mmu_result r;
    memset(&r, 0xA5, sizeof(r)); /* mmu_translate must initialise it */
    mmu_translate(hm, &cpu, &ept, _gva(TVA), k, &r);
    return r;
}

static void expect_pf(struct mmu_result r, uint32_t ec)
{
    cr_assert_eq(r.outcome, MMU_PF, "outcome %d, expected #PF", r.outcome);
    cr_assert_eq(r.pf_ec, ec, "error code %#x expected %#x", r.pf_ec, ec);
    cr_assert_eq(gva_x(r.cr2), TVA);
}

static void expect_ept(struct mmu_result r, enum mmu_outcome o,
                       uint64_t qual, gpa_t gpa)
{
    cr_assert_eq(r.outcome, o, "outcome %d expected %d", r.outcome, o);
    cr_assert_eq(r.exit_qual, qual, "qual %#llx expected %#llx",
                 (unsigned long long)r.exit_qual, (unsigned long long)qual);
    cr_assert_eq(gpa_x(r.exit_gpa), gpa_x(gpa), "gpa %#llx expected %#llx",
                 (unsigned long long)gpa_x(r.exit_gpa),
                 (unsigned long long)gpa_x(gpa));
    cr_assert_eq(gva_x(r.exit_gla), TVA);
}

/* Snapshot of every frame the world uses, to prove nothing was written. */
struct snap { uint8_t f[0x40 + GOFF][PAGE_SIZE]; };

static struct snap *snap_take(void)
{
    struct snap *s = calloc(1, sizeof(*s));
    cr_assert_not_null(s);
    for (uint64_t m = 0; m < 0x40 + GOFF; m++) {
        const uint8_t *p = hostmem_frame_peek(hm, _mfn(m));
        if (p)
            memcpy(s->f[m], p, PAGE_SIZE);
    }
    return s;
}

static void snap_check(struct snap *s)
{
    struct snap *now = snap_take();
    for (uint64_t m = 0; m < 0x40 + GOFF; m++)
        cr_assert(!memcmp(s->f[m], now->f[m], PAGE_SIZE),
                  "frame %#llx modified", (unsigned long long)m);
    free(now);
    free(s);
}

#define FINAL_GPA _gpa((DATA_GFN << 12) | 0x123)

TestSuite(model, .init = world_setup, .fini = world_teardown);

/* ---- success, refs, A/D --------------------------------------------------- */

Test(model, read_ok_24_refs)
{
    struct mmu_result r = go(ACC_READ);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(gpa_x(r.gpa), gpa_x(FINAL_GPA));
    cr_assert_eq(hpa_x(r.hpa), ((DATA_GFN + GOFF) << 12) | 0x123);
    cr_assert_eq(r.refs, 24);
    cr_assert_eq(r.guest_refs, 4);
    cr_assert_eq(r.ept_refs, 20);
    cr_assert_eq(r.ad_writes, 0);
}

Test(model, ept_translate_standalone)
{
    struct mmu_result r = { 0 };
    ept_translate(hm, &ept, _gpa(0x5678), ACC_FETCH, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), ((5 + GOFF) << 12) | 0x678);
    cr_assert_eq(r.ept_refs, 4);
    cr_assert_eq(r.refs, 4);
}

Test(model, accessed_bits_all_levels_dirty_only_on_write)
{
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL & ~PTE_A);

    struct mmu_result r = go(ACC_READ);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(r.ad_writes, 4);
    cr_assert_eq(r.refs, 28);
    for (int l = 4; l >= 1; l--) {
        cr_assert(gpte(l) & PTE_A, "level %d lacks A", l);
        cr_assert(!(gpte(l) & PTE_D), "level %d has D after a read", l);
    }

    r = go(ACC_WRITE);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(r.ad_writes, 1); /* only the PTE, for D */
    cr_assert_eq(r.refs, 25);
    cr_assert(gpte(1) & PTE_D);
    for (int l = 4; l >= 2; l--)
        cr_assert(!(gpte(l) & PTE_D), "level %d got D", l);

    r = go(ACC_WRITE); /* nothing left to update */
    cr_assert_eq(r.ad_writes, 0);
    cr_assert_eq(r.refs, 24);
}

/* ---- #PF ------------------------------------------------------------------ */

Test(model, pf_not_present_each_level)
{
    for (int l = 4; l >= 1; l--) {
        world_teardown(); /* a fresh world per level; .fini frees the last */
        world_setup();
        for (int a = 4; a >= 1; a--)
            gpte_set(a, GUEST_ALL & ~PTE_A); /* A must not be set on #PF */
        gpte_set(l, 0);
        struct snap *s = snap_take();

        struct mmu_result r = go(ACC_READ);
        expect_pf(r, 0);
        cr_assert_eq(r.refs, (unsigned)(5 - l) * 5, "level %d refs %u", l,
                     r.refs);
        snap_check(s);

        cpu.cpl = 3;
        expect_pf(go(ACC_WRITE), PFEC_W | PFEC_U);
        cpu.cpl = 0;
        expect_pf(go(ACC_FETCH), PFEC_ID);
        cpu.efer &= ~X86_EFER_NXE;
        expect_pf(go(ACC_FETCH), 0);
    }
}

Test(model, pf_user_on_supervisor_page)
{
    gpte_set(2, GUEST_ALL & ~PTE_U);
    cpu.cpl = 3;
    expect_pf(go(ACC_READ), PFEC_P | PFEC_U);
    cpu.cpl = 0;
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);
}

Test(model, pf_user_write_read_only)
{
    gpte_set(1, GUEST_ALL & ~PTE_W);
    cpu.cpl = 3;
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_U);
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);
}

Test(model, supervisor_write_read_only_cr0_wp)
{
    gpte_set(3, GUEST_ALL & ~PTE_W);
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W);
    cr_assert(!(gpte(1) & PTE_D));

    cpu.cr0 &= ~X86_CR0_WP;
    struct mmu_result r = go(ACC_WRITE);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert(gpte(1) & PTE_D);

    cpu.cpl = 3; /* WP=0 does not help a user write */
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_U);
}

Test(model, pf_fetch_nx)
{
    gpte_set(1, GUEST_ALL | PTE_NX);
    expect_pf(go(ACC_FETCH), PFEC_P | PFEC_ID);
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);

    cpu.efer &= ~X86_EFER_NXE; /* bit 63 is now reserved: RSVD, no I/D */
    expect_pf(go(ACC_FETCH), PFEC_P | PFEC_RSVD);
}

Test(model, pf_precedence_user_before_write)
{
    gpte_set(4, GUEST_ALL & ~PTE_U);
    gpte_set(1, GUEST_ALL & ~PTE_W);
    cpu.cpl = 3;
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_U);
}

Test(model, fault_leaves_memory_unchanged)
{
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL & ~PTE_A);
    gpte_set(1, (GUEST_ALL & ~PTE_A) | PTE_NX);
    struct snap *s = snap_take();
    expect_pf(go(ACC_FETCH), PFEC_P | PFEC_ID);
    snap_check(s);

    ept_set(DATA_GFN, 0); /* now an EPT exit on the final gpa */
    s = snap_take();
    cr_assert_eq(go(ACC_READ).outcome, MMU_EPT_VIOLATION);
    snap_check(s);
}

/* ---- EPT violations --------------------------------------------------------- */

Test(model, ept_violation_final_gpa_missing)
{
    ept_set(DATA_GFN, 0);
    struct mmu_result r = go(ACC_READ);
    expect_ept(r, MMU_EPT_VIOLATION,
               EPTQ_READ | EPTQ_GLA_VALID | EPTQ_GLA_XLATE, FINAL_GPA);
    cr_assert_eq(r.refs, 24); /* the final EPT walk read all four levels */
}

Test(model, ept_violation_missing_upper_level)
{
    wr(EPT_PDPT_MFN, 0, 0); /* every gpa < 1 GiB is unmapped */
    struct mmu_result r = go(ACC_READ);
    expect_ept(r, MMU_EPT_VIOLATION, EPTQ_READ | EPTQ_GLA_VALID, gpte_gpa(4));
    cr_assert_eq(r.refs, 2);
}

Test(model, ept_violation_paging_structure_gpa)
{
    ept_set(GT_GFN(2), 0);
    struct mmu_result r = go(ACC_WRITE);
    /* A paging-structure read: read, not write, and bit 8 clear. */
    expect_ept(r, MMU_EPT_VIOLATION, EPTQ_READ | EPTQ_GLA_VALID, gpte_gpa(2));
    cr_assert_eq(r.refs, 5 + 5 + 4);
}

Test(model, ept_violation_write_to_rx_page)
{
    ept_set(DATA_GFN, EPT_R | EPT_X | EPT_WB);
    expect_ept(go(ACC_WRITE), MMU_EPT_VIOLATION,
               EPTQ_WRITE | EPTQ_READABLE | EPTQ_EXECUTABLE | EPTQ_GLA_VALID
                   | EPTQ_GLA_XLATE,
               FINAL_GPA);
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);
    cr_assert_eq(go(ACC_FETCH).outcome, MMU_OK);
}

Test(model, ept_violation_perms_and_over_levels)
{
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_R | EPT_W); /* no X above */
    expect_ept(go(ACC_FETCH), MMU_EPT_VIOLATION,
               EPTQ_FETCH | EPTQ_READABLE | EPTQ_WRITABLE | EPTQ_GLA_VALID
                   | EPTQ_GLA_XLATE,
               FINAL_GPA);
}

Test(model, ept_ad_update_to_read_only_pt_page)
{
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL & ~PTE_A);
    ept_set(GT_GFN(1), EPT_R | EPT_X | EPT_WB);
    struct snap *s = snap_take();

    struct mmu_result r = go(ACC_READ);
    /* The PML4E..PDE updates were allowed, yet none may be written. */
    expect_ept(r, MMU_EPT_VIOLATION,
               EPTQ_WRITE | EPTQ_READABLE | EPTQ_EXECUTABLE | EPTQ_GLA_VALID,
               gpte_gpa(1));
    cr_assert_eq(r.refs, 24); /* the writability checks are free */
    cr_assert_eq(r.ad_writes, 0);
    snap_check(s);
}

Test(model, ept_ad_first_failure_wins)
{
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL & ~PTE_A);
    ept_set(GT_GFN(1), EPT_R | EPT_WB);
    ept_set(GT_GFN(3), EPT_R | EPT_WB);
    expect_ept(go(ACC_READ), MMU_EPT_VIOLATION,
               EPTQ_WRITE | EPTQ_READABLE | EPTQ_GLA_VALID, gpte_gpa(3));
}

Test(model, ept_read_only_pt_page_without_update_is_fine)
{
    ept_set(GT_GFN(1), EPT_R | EPT_WB);
    ept_set(GT_GFN(4), EPT_R | EPT_WB);
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK); /* all A already set */

    struct mmu_result r = go(ACC_WRITE); /* but D needs a PT write */
    expect_ept(r, MMU_EPT_VIOLATION, EPTQ_WRITE | EPTQ_READABLE | EPTQ_GLA_VALID,
               gpte_gpa(1));
    cr_assert(!(gpte(1) & PTE_D));
}

/* ---- EPT misconfigurations -------------------------------------------------- */

Test(model, ept_misconfig_write_without_read)
{
    ept_set(DATA_GFN, EPT_W | EPT_WB);
    struct mmu_result r = go(ACC_READ);
    expect_ept(r, MMU_EPT_MISCONFIG, 0, FINAL_GPA);
    cr_assert_eq(r.refs, 24);
}

Test(model, ept_misconfig_leaf_memory_type_2)
{
    ept_set(DATA_GFN, EPT_RWX | (2ULL << 3));
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, FINAL_GPA);
    ept_set(DATA_GFN, EPT_RWX | (3ULL << 3));
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, FINAL_GPA);
    ept_set(DATA_GFN, EPT_RWX | (7ULL << 3));
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, FINAL_GPA);
    ept_set(DATA_GFN, EPT_RWX); /* UC is a valid type */
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);
}

Test(model, ept_misconfig_reserved_upper_levels)
{
    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | EPT_RWX | (1ULL << 7));
    struct mmu_result r = go(ACC_READ);
    expect_ept(r, MMU_EPT_MISCONFIG, 0, gpte_gpa(4));
    cr_assert_eq(r.refs, 1);

    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | EPT_RWX);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_RWX | (1ULL << 7));
    /* PS makes it a 2 MiB leaf whose address bits 20:12 must be 0. */
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, gpte_gpa(4));
    wr(EPT_PD_MFN, 0, EPT_RWX | EPT_WB | EPT_PS); /* identity 2 MiB */
    struct mmu_result r2 = go(ACC_READ); /* reads the empty gfn 0x10 */
    expect_pf(r2, 0);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_RWX | (1ULL << 6));
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, gpte_gpa(4));
}

Test(model, ept_misconfig_beats_violation)
{
    /* A misconfigured leaf is reported even for an access it would deny. */
    ept_set(DATA_GFN, EPT_X | EPT_W | EPT_WB);
    expect_ept(go(ACC_READ), MMU_EPT_MISCONFIG, 0, FINAL_GPA);
}

/* ---- mutants ---------------------------------------------------------------- */

Test(model, mutant_no_dirty_bit)
{
    pagesim_mutants = MUT_NO_DIRTY_BIT;
    struct mmu_result r = go(ACC_WRITE);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert(!(gpte(1) & PTE_D), "mutant set D");
    cr_assert_eq(r.ad_writes, 0);

    pagesim_mutants = 0;
    cr_assert_eq(go(ACC_WRITE).outcome, MMU_OK);
    cr_assert(gpte(1) & PTE_D);
}

Test(model, mutant_ignore_wp)
{
    gpte_set(1, GUEST_ALL & ~PTE_W);
    pagesim_mutants = MUT_IGNORE_WP;
    cr_assert_eq(go(ACC_WRITE).outcome, MMU_OK);
    cpu.cpl = 3; /* user writes are unaffected */
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_U);

    pagesim_mutants = 0;
    cpu.cpl = 0;
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W);
}

/* ---- issue 4: modes, large pages, reserved bits, SMEP/SMAP/PK -------------- */

Test(model, large_2m_and_1g_pages)
{
    /* A 2 MiB leaf at the PD: frame 0 + va[20:0]; PAT bit 12 is not an
     * address bit. */
    wr(GT_GFN(2) + GOFF, TIDX(2), PTE_P | PTE_W | PTE_PS | (1ULL << 12));
    struct mmu_result r = go(ACC_WRITE);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(gpa_x(r.gpa), TVA & 0x1FFFFF);
    cr_assert_eq(r.page_shift, 21);
    cr_assert(gpte(2) & PTE_D, "D goes to the large leaf");
    cr_assert_eq(r.refs, 3 + 4 * 4 + 1, "3 entries, 4 EPT walks, D write");
    /* A 1 GiB leaf at the PDPT: bits 29:13 reserved. */
    wr(GT_GFN(3) + GOFF, TIDX(3), PTE_P | PTE_W | PTE_PS | PTE_A);
    r = go(ACC_READ); /* gfn 0x604 is beyond the EPT: a final-gpa exit */
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION);
    cr_assert_eq(gpa_x(r.exit_gpa), TVA & 0x3FFFFFFF);
    cr_assert(r.exit_qual & EPTQ_GLA_XLATE);
    wr(GT_GFN(3) + GOFF, TIDX(3), PTE_P | PTE_W | PTE_PS | (1ULL << 21));
    expect_pf(go(ACC_READ), PFEC_P | PFEC_RSVD);
}

Test(model, rsvd_maxphyaddr_and_pml4_ps)
{
    cpu.maxphyaddr = 40;
    gpte_set(1, GUEST_ALL | (1ULL << 45));
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_RSVD);
    cpu.maxphyaddr = 0; /* 52: an address bit now, so it is an EPT exit */
    cr_assert_eq(go(ACC_READ).outcome, MMU_EPT_VIOLATION);
    gpte_set(1, GUEST_ALL);
    gpte_set(4, GUEST_ALL | PTE_PS);
    expect_pf(go(ACC_READ), PFEC_P | PFEC_RSVD);
}

Test(model, canonical_gp)
{
    struct mmu_result r;
    mmu_translate(hm, &cpu, &ept, _gva(0x0000800000000000ULL), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_GP);
    cr_assert_eq(r.refs, 0, "#GP before any reference");
    cpu.cr4 |= X86_CR4_LA57; /* 57-bit: canonical now, walks */
    mmu_translate(hm, &cpu, &ept, _gva(0x0000800000000000ULL), ACC_READ, &r);
    cr_assert_neq(r.outcome, MMU_GP);
}

Test(model, smep_smap_ac_implicit)
{
    cpu.cr4 |= X86_CR4_SMEP | X86_CR4_SMAP;
    expect_pf(go(ACC_FETCH), PFEC_P | PFEC_ID);
    expect_pf(go(ACC_READ), PFEC_P);
    cpu.rflags = X86_RFLAGS_AC;
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK);
    cpu.implicit = true;
    expect_pf(go(ACC_READ), PFEC_P);
    cpu.cpl = 3; /* implicit: supervisor even at CPL 3, U/S = 0 */
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W);
}

Test(model, pkru_pkrs_pk_bit)
{
    gpte_set(1, GUEST_ALL | (7ULL << 59)); /* key 7 */
    cpu.cr4 |= X86_CR4_PKE;
    cpu.pkru = 1u << 14; /* AD7 */
    cpu.cpl = 3;
    expect_pf(go(ACC_READ), PFEC_P | PFEC_U | PFEC_PK);
    cr_assert_eq(go(ACC_FETCH).outcome, MMU_OK, "keys never block fetches");
    cpu.pkru = 2u << 14; /* WD7 */
    expect_pf(go(ACC_WRITE), PFEC_P | PFEC_W | PFEC_U | PFEC_PK);
    cpu.cpl = 0;
    cpu.cr0 &= ~X86_CR0_WP;
    cr_assert_eq(go(ACC_WRITE).outcome, MMU_OK, "WD, supervisor, WP=0");
    /* PKRS: supervisor pages. */
    gpte_set(1, (GUEST_ALL & ~PTE_U) | (7ULL << 59));
    cpu.cr4 |= X86_CR4_PKS;
    cpu.pkrs = 1u << 14;
    expect_pf(go(ACC_READ), PFEC_P | PFEC_PK);
}

Test(model, pae_and_32bit_modes)
{
    /* 32-bit: CR3 -> PD (4-byte entries) -> 4 MiB page with CR4.PSE. */
    uint32_t pde = PTE_P | PTE_W | PTE_PS; /* frame 0 */
    uint64_t va = 0x00C01234;
    cr_assert_eq(hostmem_write(hm, _hpa(((0x30 + GOFF) << 12) + 4 * 3), &pde, 4), 0);
    cpu.cr3 = 0x30 << 12;
    cpu.cr4 = X86_CR4_PSE;
    cpu.efer = 0;
    cr_assert_eq(mmu_mode_of(&cpu), MMU_MODE_32);
    struct mmu_result r;
    mmu_translate(hm, &cpu, &ept, _gva(va), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(gpa_x(r.gpa), 0x001234);
    cr_assert_eq(r.page_shift, 22);
    /* PAE: a PDPTE with reserved bit 1 is #GP. */
    cpu.cr4 = X86_CR4_PAE;
    cr_assert_eq(mmu_mode_of(&cpu), MMU_MODE_PAE);
    wr(0x30 + GOFF, 0, (0x31ULL << 12) | PTE_P | PTE_W);
    mmu_translate(hm, &cpu, &ept, _gva(0x1000), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_GP);
}

Test(model, ept_large_leaves_memtype_and_ad)
{
    /* The PD entry as a 2 MiB identity leaf, WB + ignore-PAT. */
    wr(EPT_PD_MFN, 0, EPT_RWX | EPT_WB | EPT_IPAT | EPT_PS);
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate(hm, &ept, _gpa(0x1F5678), ACC_READ, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), 0x1F5678);
    cr_assert_eq(r.ept_memtype, 6);
    cr_assert(r.ept_ipat);
    cr_assert_eq(r.ept_shift, 21);
    cr_assert_eq(r.refs, 3);
    /* A/D on: A everywhere, D on the leaf for a paging-structure read
     * (treated as a write), which then needs W. */
    struct mmu_ept ad = ept;
    ad.ad = true;
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate(hm, &ad, _gpa(0x1000), ACC_READ, true, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert(rd(EPT_PML4_MFN, 0) & EPT_A);
    cr_assert(rd(EPT_PD_MFN, 0) & EPT_D);
    cr_assert(!(rd(EPT_PML4_MFN, 0) & EPT_D), "D only in the leaf");
    wr(EPT_PD_MFN, 0, EPT_R | EPT_X | EPT_WB | EPT_PS);
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate(hm, &ad, _gpa(0x1000), ACC_READ, true, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION);
    cr_assert_eq(r.exit_qual & 7, EPTQ_READ | EPTQ_WRITE);
    /* A 1 GiB leaf with address bit 12 set: misconfiguration. */
    wr(EPT_PDPT_MFN, 0, EPT_RWX | EPT_WB | EPT_PS | (1ULL << 12));
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate(hm, &ept, _gpa(0x1000), ACC_READ, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_EPT_MISCONFIG);
}

Test(model, ept_mbec_user_execute)
{
    struct mmu_ept mb = ept;
    mb.mbec = true;
    /* Leaf: R + X(supervisor) only. */
    wr(EPT_PT_MFN, DATA_GFN, ((DATA_GFN + GOFF) << 12) | EPT_R | EPT_X | EPT_WB);
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate_la(hm, &mb, _gpa(DATA_GFN << 12), ACC_FETCH, false, false,
                     _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK, "supervisor-mode address: bit 2");
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate_la(hm, &mb, _gpa(DATA_GFN << 12), ACC_FETCH, false, true,
                     _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION, "user-mode address needs bit 10");
    cr_assert_eq(r.exit_qual & (EPTQ_EXECUTABLE | EPTQ_UEXECUTABLE), EPTQ_EXECUTABLE);
    /* Through the full walk: the guest page is a user page (GUEST_ALL). */
    mmu_translate(hm, &cpu, &mb, _gva(TVA), ACC_FETCH, &r);
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION);
    cr_assert(r.exit_qual & EPTQ_GLA_XLATE);
    wr(EPT_PT_MFN, DATA_GFN, ((DATA_GFN + GOFF) << 12) | EPT_R | EPT_XU | EPT_WB);
    mmu_translate(hm, &cpu, &mb, _gva(TVA), ACC_FETCH, &r);
    cr_assert_eq(r.outcome, MMU_EPT_VIOLATION, "bit 10 must be set at every level");
    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | EPT_RWX | EPT_XU);
    wr(EPT_PDPT_MFN, 0, (EPT_PD_MFN << 12) | EPT_RWX | EPT_XU);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_RWX | EPT_XU);
    mmu_translate(hm, &cpu, &mb, _gva(TVA), ACC_FETCH, &r);
    cr_assert_eq(r.outcome, MMU_OK, "bit 10 alone executes user pages");
}

Test(model, pml_logs_dirty_and_exits_when_full)
{
    struct mmu_pml pml = { _hpa(0x3F000), 511 };
    struct mmu_ept pe = ept;
    pe.ad = true;
    pe.pml = &pml;
    struct mmu_result r = { .outcome = MMU_OK };
    ept_translate(hm, &pe, _gpa(0x5678), ACC_WRITE, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(pml.index, 510);
    uint64_t v = 0;
    hostmem_read64(hm, _hpa(0x3F000 + 8 * 511), &v);
    cr_assert_eq(v, 0x5000, "the 4 KiB-aligned gpa is logged");
    /* D already set: nothing logged. */
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate(hm, &pe, _gpa(0x5678), ACC_WRITE, false, _gva(0), &r);
    cr_assert_eq(pml.index, 510);
    /* Index out of range and a flag to set: log-full exit, nothing set. */
    pml.index = 0xFFFF;
    r = (struct mmu_result){ .outcome = MMU_OK };
    ept_translate(hm, &pe, _gpa(0x6000), ACC_READ, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_PML_FULL);
    cr_assert(!(rd(EPT_PT_MFN, 6) & EPT_A));
}

Test(model, npt_2d_walk_and_npf)
{
    /* The same EPT frames read as a 4-level NPT: P|RW|US tables, leaves
     * P|RW|US mapping gfn g to mfn g + GOFF. */
    const uint64_t f = PTE_P | PTE_W | PTE_U;
    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | f);
    wr(EPT_PDPT_MFN, 0, (EPT_PD_MFN << 12) | f);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | f);
    for (uint64_t g = 0; g < 0x40; g++)
        wr(EPT_PT_MFN, (unsigned)g, ((g + GOFF) << 12) | f);
    struct mmu_ept npt = ept;
    npt.npt = true;
    npt.npt_nxe = true;
    struct mmu_result r;
    mmu_translate(hm, &cpu, &npt, _gva(TVA), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), ((DATA_GFN + GOFF) << 12) | 0x123);
    cr_assert(rd(EPT_PT_MFN, DATA_GFN) & PTE_A, "nested A set");
    /* The guest PT page read-only in the NPT: the A/D update of the PTE is
     * a nested write during the guest walk: #NPF with W, U, P and bit 33. */
    gpte_set(1, GUEST_ALL & ~PTE_A);
    wr(EPT_PT_MFN, GT_GFN(1), ((GT_GFN(1) + GOFF) << 12) | PTE_P | PTE_U);
    mmu_translate(hm, &cpu, &npt, _gva(TVA), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_NPF);
    cr_assert_eq(r.exit_qual, NPF_GPT | PFEC_P | PFEC_W | PFEC_U);
    cr_assert_eq(gpa_x(r.exit_gpa), gpa_x(gpte_gpa(1)));
    /* A supervisor-only nested leaf: every nested access is a user one. */
    wr(EPT_PT_MFN, DATA_GFN, ((DATA_GFN + GOFF) << 12) | PTE_P | PTE_W);
    gpte_set(1, GUEST_ALL);
    wr(EPT_PT_MFN, GT_GFN(1), ((GT_GFN(1) + GOFF) << 12) | f);
    mmu_translate(hm, &cpu, &npt, _gva(TVA), ACC_READ, &r);
    cr_assert_eq(r.outcome, MMU_NPF);
    cr_assert_eq(r.exit_qual, NPF_FINAL | PFEC_P | PFEC_U);
}
