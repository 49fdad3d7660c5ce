/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_npt.c - the NPT P2M backend (sim/p2m-pt.c, Xen's
 * p2m-pt.c: p2m_type_to_flags(), p2m_pt_set_entry(), p2m_next_level(),
 * p2m_pt_get_entry()) and the oracle's per-gfn check of nested page
 * tables (oracle/decode.c, oracle/check.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pagesim/mutant.h"
#include "pagesim/oracle.h"
#include "pagesim/sim.h"

#define NFRAMES 0x90000ULL
#define MAXGFN 0x80000ULL
#define BASE (PTE_P | PTE_U | PTE_A | PTE_D)
#define LOWFLAGS(e) ((e) & (0xFFFULL | PTE_NX))

static struct host *h;
static struct domain *d;

static void setup(void)
{
    pagesim_mutants = 0;
    h = host_new(NFRAMES);
    cr_assert_not_null(h);
    d = domain_create(h, "amd", MAXGFN);
    cr_assert_not_null(d);
    cr_assert_eq(p2m_set_hap(d, true), 0);
}

static void teardown(void)
{
    pagesim_mutants = 0;
    host_destroy(h);
}

TestSuite(npt, .init = setup, .fini = teardown);

/* The NPT entry of gfn at 'level', or ~0 when no table reaches it. */
static uint64_t raw(uint64_t gfn, unsigned level)
{
    uint64_t v = 0;
    if (p2m_npt_raw_get(d, _gpa(gfn << 12), level, &v))
        return ~0ULL;
    return v;
}

/* p2m_type_to_flags() of p2m-pt.c, type by type. */
Test(npt, type_to_flags_table)
{
    static const struct {
        p2m_type_t t;
        uint64_t flags;
    } want[] = {
        { p2m_ram_rw, BASE | PTE_W },
        { p2m_ram_logdirty, BASE },
        { p2m_ram_ro, BASE },
        { p2m_ram_shared, BASE },
        { p2m_mmio_direct, BASE | PTE_W | 0x10 /* PCD */ },
        { p2m_grant_map_rw, BASE | PTE_W | PTE_NX },
        { p2m_map_foreign, BASE | PTE_W | PTE_NX },
        { p2m_ioreq_server, BASE | PTE_W | PTE_NX },
        { p2m_grant_map_ro, BASE | PTE_NX },
        { p2m_invalid, PTE_NX },
        { p2m_mmio_dm, PTE_NX },
        { p2m_populate_on_demand, PTE_NX },
        { p2m_ram_paging_out, PTE_NX },
        { p2m_ram_paged, PTE_NX },
        { p2m_ram_paging_in, PTE_NX },
        { p2m_ram_broken, PTE_NX },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t f = pt_p2m_type_to_flags(NULL, want[i].t);
        cr_assert_eq(LOWFLAGS(f), want[i].flags, "type %s",
                     p2m_type_name(want[i].t));
        cr_assert_eq((f >> 52) & 0x7F, (uint64_t)want[i].t, "type bits of %s",
                     p2m_type_name(want[i].t));
        /* The oracle's own table says the same. */
        cr_assert_eq(oracle_npt_type_flags(want[i].t, false), want[i].flags);
    }
    /* A write-claiming ioreq server: no RW. */
    d->ioreq.write = true;
    cr_assert_eq(LOWFLAGS(pt_p2m_type_to_flags(d, p2m_ioreq_server)),
                 BASE | PTE_NX);
    cr_assert_eq(oracle_npt_type_flags(p2m_ioreq_server, true), BASE | PTE_NX);
    /* The mutant leaves logdirty writable. */
    pagesim_mutants = MUT_NPT_LOGDIRTY_RW;
    cr_assert_eq(LOWFLAGS(pt_p2m_type_to_flags(NULL, p2m_ram_logdirty)),
                 BASE | PTE_W);
}

Test(npt, populate_writes_long_mode_entries)
{
    mfn_t m;
    cr_assert_eq(guest_populate_page(d, _gfn(0x123), &m), 0);
    uint64_t e = raw(0x123, 1);
    cr_assert_eq(LOWFLAGS(e), BASE | PTE_W);
    cr_assert_eq((e & PTE_ADDR_MASK) >> 12, mfn_x(m));
    for (unsigned l = 2; l <= 4; l++)
        cr_assert_eq(LOWFLAGS(raw(0x123, l)), BASE | PTE_W, "table at level %u", l);
    p2m_type_t t;
    p2m_access_t a = p2m_access_n;
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x123), &t, &a), m));
    cr_assert_eq(t, p2m_ram_rw);
    cr_assert_eq(a, p2m_access_rwx, "p2m-pt answers rwx");
    /* Unmapped gfns: mmio_dm, INVALID, still rwx. */
    cr_assert(mfn_eq(p2m_get_entry(d, _gfn(0x124), &t, &a), INVALID_MFN));
    cr_assert_eq(t, p2m_mmio_dm);
    /* The model walks it as nCR3: a read lands on the frame. */
    struct mmu_ept npt = { .root = d->ept_root, .npt = true, .npt_nxe = true };
    struct mmu_result r;
    memset(&r, 0, sizeof(r));
    npt_translate(h->mem, &npt, _gpa(0x123abc), ACC_WRITE, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_OK);
    cr_assert_eq(hpa_x(r.hpa), (mfn_x(m) << 12) | 0xabc);
    cr_assert_eq(r.refs, 4, "A/D preset: nothing written back");
}

Test(npt, logdirty_and_fault_path)
{
    mfn_t m;
    cr_assert_eq(guest_populate_page(d, _gfn(7), &m), 0);
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    /* Deferred (p2m_pt_change_entry_type_global()): the PML4E loses U,
     * the leaf keeps ram_rw's flags, get_entry answers the new type. */
    cr_assert_eq(LOWFLAGS(raw(7, 4)), (BASE | PTE_W) & ~PTE_U);
    cr_assert_eq(LOWFLAGS(raw(7, 1)), BASE | PTE_W);
    p2m_type_t t;
    p2m_get_entry(d, _gfn(7), &t, NULL);
    cr_assert_eq(t, p2m_ram_logdirty);
    struct mmu_ept npt = { .root = d->ept_root, .npt = true, .npt_nxe = true };
    struct mmu_result r;
    memset(&r, 0, sizeof(r));
    /* The write's walk faults on the marker: P|W|U, final. */
    npt_translate(h->mem, &npt, _gpa(0x7008), ACC_WRITE, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_NPF);
    cr_assert_eq(r.exit_qual, PFEC_P | PFEC_W | PFEC_U | NPF_FINAL);
    /* do_recalc(): the path unmarked, the leaf ram_logdirty's; a second
     * call finds nothing pending. */
    cr_assert_eq(p2m_pt_handle_deferred_changes(d, _gpa(0x7008)), 1);
    cr_assert_eq(p2m_pt_handle_deferred_changes(d, _gpa(0x7008)), 0);
    for (unsigned l = 2; l <= 4; l++)
        cr_assert_eq(LOWFLAGS(raw(7, l)), BASE | PTE_W, "level %u unmarked", l);
    cr_assert_eq(LOWFLAGS(raw(7, 1)), BASE);
    /* The retry: the log-dirty write fault. */
    memset(&r, 0, sizeof(r));
    npt_translate(h->mem, &npt, _gpa(0x7008), ACC_WRITE, false, _gva(0), &r);
    cr_assert_eq(r.outcome, MMU_NPF);
    cr_assert_eq(r.exit_qual, PFEC_P | PFEC_W | PFEC_U | NPF_FINAL);
    /* The handler with the npfec the engine derives: marked, writable. */
    cr_assert_eq(hvm_hap_nested_page_fault(d, _gpa(0x7008), EPTQ_READ | EPTQ_WRITE,
                                           _gva(0)),
                 NPF_RETRY);
    cr_assert(paging_gfn_is_dirty(d, _gfn(7)));
    cr_assert_eq(LOWFLAGS(raw(7, 1)), BASE | PTE_W);
}

Test(npt, split_one_level_at_a_time)
{
    mfn_t m;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x40000), PAGE_ORDER_1G, &m), 0);
    cr_assert_eq(LOWFLAGS(raw(0x40000, 3)), BASE | PTE_W | PTE_PS);
    unsigned pages = d->p2m_pages;
    cr_assert_eq(guest_remove_page(d, _gfn(0x40201)), 0);
    cr_assert_eq(d->p2m_pages, pages + 2, "one table per level on the path");
    unsigned o = 99;
    p2m_get_entry_order(d, _gfn(0x40200), NULL, NULL, &o);
    cr_assert_eq(o, 0);
    p2m_get_entry_order(d, _gfn(0x40000), NULL, NULL, &o);
    cr_assert_eq(o, 9, "other 2 MiB parts stay leaves");
    cr_assert_eq(LOWFLAGS(raw(0x40000, 2)), BASE | PTE_W | PTE_PS);
    cr_assert_eq(LOWFLAGS(raw(0x40200, 1)), BASE | PTE_W, "PS dropped at the PTE");
    cr_assert_eq((raw(0x40202, 1) & PTE_ADDR_MASK) >> 12, mfn_x(m) + 0x202);
    cr_assert_eq(raw(0x40201, 1), 0);
}

Test(npt, failed_split_leaves_superpage)
{
    mfn_t m;
    cr_assert_eq(guest_populate_extent(d, _gfn(0x200), PAGE_ORDER_2M, &m), 0);
    h->fail_at = h->alloc_attempts + 1;
    cr_assert_eq(guest_remove_page(d, _gfn(0x201)), -ENOMEM);
    unsigned o = 0;
    p2m_get_entry_order(d, _gfn(0x201), NULL, NULL, &o);
    cr_assert_eq(o, 9);
}

Test(npt, no_access_no_foreign_and_hap_locked)
{
    mfn_t m;
    cr_assert_eq(guest_populate_page(d, _gfn(3), &m), 0);
    cr_assert_eq(p2m_set_mem_access(d, _gfn(3), p2m_access_r), -EINVAL);
    struct domain *o = domain_create(h, "other", 0x100);
    cr_assert_not_null(o);
    cr_assert_eq(guest_populate_page(o, _gfn(1), NULL), 0);
    cr_assert_eq(p2m_add_foreign(d, _gfn(9), o, _gfn(1)), -EINVAL);
    cr_assert_eq(p2m_set_hap(d, false), -EBUSY, "P2M no longer empty");
    cr_assert_eq(p2m_set_hap(o, true), -EBUSY);
    uint64_t v;
    cr_assert_eq(p2m_ept_raw_get(d, _gpa(0x3000), 1, &v), -EINVAL);
    cr_assert_eq(p2m_npt_raw_get(o, _gpa(0x1000), 1, &v), -EINVAL);
}

/* ---- the oracle's per-gfn check of nested tables ----------------------------------- */

struct reps {
    unsigned n;
    char text[16][160];
};

static void collect(void *ctx, const char *field, const char *expected,
                    const char *actual)
{
    struct reps *r = ctx;
    if (r->n < 16)
        snprintf(r->text[r->n], sizeof r->text[0], "%s: expected %s, got %s",
                 field, expected, actual);
    r->n++;
}

Test(npt, oracle_checks_npt_flags)
{
    struct oracle *o = oracle_new(NFRAMES);
    cr_assert_not_null(o);
    oracle_op_domain_create(o, d->id, MAXGFN);
    oracle_op_hap_config(o, d->id, true);
    for (uint64_t g = 1; g < 4; g++) {
        mfn_t m;
        cr_assert_eq(guest_populate_page(d, _gfn(g), &m), 0);
        cr_assert_eq(oracle_op_populate(o, d->id, _gfn(g), m, false), 0);
    }
    cr_assert_eq(paging_log_dirty_enable(d), 0);
    cr_assert_eq(oracle_op_logdirty_enable(o, d->id), 0);
    struct reps r = { 0 };
    /* Deferred: stale ram_rw leaves under the marked PML4E are accepted. */
    cr_assert_eq(oracle_compare(o, h, collect, &r), 0, "%s", r.text[0]);
    /* Gfn 2's path recalculated: its leaf is ram_logdirty's, gfns 1 and
     * 3 still stale, now with the marker in their own PTEs. */
    cr_assert_eq(p2m_pt_handle_deferred_changes(d, _gpa(0x2000)), 1);
    cr_assert_eq(LOWFLAGS(raw(3, 1)), (BASE | PTE_W) & ~PTE_U);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(oracle_compare(o, h, collect, &r), 0, "%s", r.text[0]);
    /* A stale leaf that lost its marker (MUT_NPT_RECALC_SKIP_RANGE's
     * result): writable ram_rw where the model says ram_logdirty. */
    {
        uint64_t pte3 = (raw(3, 2) & PTE_ADDR_MASK) + 8 * 3;
        uint64_t e3 = raw(3, 1);
        hostmem_write64(h->mem, _hpa(pte3), e3 | PTE_U);
        memset(&r, 0, sizeof(r));
        cr_assert_geq(oracle_compare(o, h, collect, &r), 1);
        cr_assert(strstr(r.text[0], "d0.p2m[0x3].type"), "%s", r.text[0]);
        /* A marked leaf whose stored type recalculates to the wrong one
         * (ram_ro stays ram_ro) is caught as well. */
        hostmem_write64(h->mem, _hpa(pte3),
                        (e3 & ~(0x7FULL << 52) & ~PTE_W) | ((uint64_t)p2m_ram_ro << 52));
        memset(&r, 0, sizeof(r));
        cr_assert_geq(oracle_compare(o, h, collect, &r), 1);
        cr_assert(strstr(r.text[0], "type (after recalc)"), "%s", r.text[0]);
        hostmem_write64(h->mem, _hpa(pte3), e3);
    }

    /* A logdirty leaf with RW (what MUT_NPT_LOGDIRTY_RW writes). */
    uint64_t e = raw(2, 1);
    uint64_t leafpa = 0;
    {
        uint64_t t = raw(2, 2);
        leafpa = (t & PTE_ADDR_MASK) + 8 * 2;
    }
    hostmem_write64(h->mem, _hpa(leafpa), e | PTE_W);
    memset(&r, 0, sizeof(r));
    cr_assert_geq(oracle_compare(o, h, collect, &r), 1);
    cr_assert(strstr(r.text[0], "d0.p2m[0x2].perm") || strstr(r.text[0], "npt[0x2].flags"),
              "%s", r.text[0]);
    /* A and D are part of the check too (Xen presets them). */
    hostmem_write64(h->mem, _hpa(leafpa), e & ~PTE_D);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(oracle_compare(o, h, collect, &r), 1);
    cr_assert(strstr(r.text[0], "d0.npt[0x2].flags"), "%s", r.text[0]);
    hostmem_write64(h->mem, _hpa(leafpa), e);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(oracle_compare(o, h, collect, &r), 0);
    oracle_destroy(o);
}
