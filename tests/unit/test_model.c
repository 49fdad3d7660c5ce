/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_model.c - model/walk.c and model/ept.c against
 * docs/translation-rules.md, on a world built by hand.
 *
 * The world: one guest 4-level walk for TVA through guest tables at gfns
 * 0x10-0x13 to a data page at gfn 0x20.  The EPT (frames 1-4) maps every
 * gfn g < 512 to mfn g + GOFF with RWX/WB, so that a gpa and its hpa differ.
 * Tests then break exactly one thing and check the outcome.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pagesim/mmu.h"
#include "pagesim/mutant.h"

#define NFRAMES 1024
#define GOFF 0x100 /* mfn = gfn + GOFF */
#define EPT_WB (6ULL << 3)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)

/* EPT frames. */
#define EPT_PML4_MFN 1
#define EPT_PDPT_MFN 2
#define EPT_PD_MFN 3
#define EPT_PT_MFN 4

/* Guest frames: table at 'level' is gfn GT_GFN(level); the data page. */
#define GT_GFN(level) (0x14 - (level)) /* PML4 0x10, PDPT 0x11, PD 0x12, PT 0x13 */
#define DATA_GFN 0x20

/* A va with a different index at every level: 1, 2, 3, 4, offset 0x123. */
#define TVA ((1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x123)
#define TIDX(level) ((unsigned)(5 - (level))) /* index of TVA at 'level' */

#define GUEST_ALL (PTE_P | PTE_W | PTE_U | PTE_A) /* a fully permissive entry */

static struct hostmem *hm;
static const struct mmu_ept ept = { .root = { EPT_PML4_MFN } };
static struct mmu_cpu cpu;

static void wr(uint64_t mfn, unsigned idx, uint64_t v)
{
    cr_assert_eq(hostmem_write64(hm, _hpa((mfn << 12) + 8 * idx), v), 0);
}

static uint64_t rd(uint64_t mfn, unsigned idx)
{
    uint64_t v = 0;
    cr_assert_eq(hostmem_read64(hm, _hpa((mfn << 12) + 8 * idx), &v), 0);
    return v;
}

/* EPT leaf for gfn (all gfns used share the upper EPT levels at index 0). */
static void ept_set(uint64_t gfn, uint64_t bits)
{
    wr(EPT_PT_MFN, (unsigned)gfn, bits ? ((gfn + GOFF) << 12) | bits : 0);
}

/* Guest entry at 'level' on TVA's walk: 'bits' plus the next frame. */
static void gpte_set(int level, uint64_t bits)
{
    uint64_t next = level > 1 ? GT_GFN(level - 1) : DATA_GFN;
    wr(GT_GFN(level) + GOFF, TIDX(level), (next << 12) | bits);
}

static uint64_t gpte(int level) { return rd(GT_GFN(level) + GOFF, TIDX(level)); }

static gpa_t gpte_gpa(int level)
{
    return _gpa((GT_GFN(level) << 12) + 8 * TIDX(level));
}

static void setup(void)
{
    pagesim_mutants = 0;
    hm = hostmem_new(NFRAMES);
    cr_assert_not_null(hm);
    wr(EPT_PML4_MFN, 0, (EPT_PDPT_MFN << 12) | EPT_RWX);
    wr(EPT_PDPT_MFN, 0, (EPT_PD_MFN << 12) | EPT_RWX);
    wr(EPT_PD_MFN, 0, (EPT_PT_MFN << 12) | EPT_RWX);
    for (uint64_t g = 0; g < 0x40; g++)
        ept_set(g, EPT_RWX | EPT_WB);
    for (int l = 4; l >= 1; l--)
        gpte_set(l, GUEST_ALL);
    cpu = (struct mmu_cpu){
        .cr0 = X86_CR0_PG | X86_CR0_WP,
        .cr3 = GT_GFN(4) << 12,
        .cr4 = X86_CR4_PAE,
        .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
        .cpl = 0,
    };
}

static void teardown(void)
{
    hostmem_destroy(hm);
    pagesim_mutants = 0;
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

TestSuite(model, .init = setup, .fini = teardown);

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
        teardown(); /* a fresh world per level; .fini frees the last */
        setup();
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
    cr_assert_eq(go(ACC_READ).outcome, MMU_OK); /* PS ignored: bits 6:3 */
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
